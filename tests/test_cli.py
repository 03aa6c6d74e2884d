"""The command line: triage train/predict/evaluate, one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from incidentml import __version__
from incidentml.cli import main
from incidentml.datasets import make_tickets


@pytest.fixture(scope="module")
def csvs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    train = make_tickets(300, seed=0)
    test = make_tickets(60, seed=1)
    train.to_csv(d / "train.csv", index=False)
    test.to_csv(d / "test.csv", index=False)
    test.drop(columns=["category", "team", "priority"]).to_csv(d / "new.csv", index=False)
    return d


@pytest.fixture(scope="module")
def model_path(csvs):
    path = csvs / "model.joblib"
    rc = main(["triage", "train", "--data", str(csvs / "train.csv"), "--text", "title", "--text", "description",
               "--target", "category=category", "--target", "team=team", "--target", "priority=priority",
               "--feature", "service", "--out", str(path), "--jobs", "1"])
    assert rc == 0
    return path


def run(*args):
    return subprocess.run([sys.executable, "-m", "incidentml", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_version_and_help():
    """--version prints the version; --help lists the jobs."""
    r = run("--version")
    assert r.returncode == 0 and __version__ in r.stdout
    r = run("--help")
    assert r.returncode == 0 and "triage" in r.stdout


def test_train_prints_validation(model_path, capsys):
    """Training writes a model file."""
    assert model_path.exists() and model_path.stat().st_size > 1000


def test_train_uses_the_library_defaults(model_path):
    """'triage train' without model options trains TriageModel at the library's defaults."""
    from incidentml import TriageModel

    trained = TriageModel.load(model_path).get_params()
    default = TriageModel().get_params()
    cli_set = {"n_jobs", "random_state", "ordinal"}  # --jobs, --seed and --ordinal are given by the command
    assert {k: v for k, v in trained.items() if k not in cli_set} == {
        k: v for k, v in default.items() if k not in cli_set}
    assert trained["ordinal"] == default["ordinal"]


def test_train_options_override_defaults(csvs):
    """Model options given on the command line reach the model; the others keep the library's defaults."""
    from incidentml import TriageModel

    path = csvs / "merge.joblib"
    assert main(["triage", "train", "--data", str(csvs / "train.csv"), "--text", "title", "--target", "team=team",
                 "--out", str(path), "--jobs", "1", "--rare", "merge", "--critical-recall", "0.8",
                 "--class-weight", "none"]) == 0
    params = TriageModel.load(path).get_params()
    assert (params["rare_classes"], params["critical_recall"], params["class_weight"]) == ("merge", 0.8, None)
    assert params["target_precision"] == TriageModel().target_precision


def test_predict_keeps_rows_in_order(model_path, csvs):
    """predict keeps every input row, in order, and adds the prediction columns."""
    out = csvs / "pred.csv"
    assert main(["triage", "predict", "--model", str(model_path), "--data", str(csvs / "new.csv"),
                 "--output", str(out)]) == 0
    new = pd.read_csv(csvs / "new.csv")
    pred = pd.read_csv(out)
    assert len(pred) == len(new)
    pd.testing.assert_frame_equal(pred[new.columns], new)
    for name in ("category", "team", "priority"):
        assert {name, f"{name}_confidence", f"{name}_abstain"} <= set(pred.columns)


def test_predict_keeps_given_label_columns(model_path, csvs):
    """An input column named like a prediction column is kept under NAME_input."""
    out = csvs / "pred2.csv"
    assert main(["triage", "predict", "--model", str(model_path), "--data", str(csvs / "test.csv"),
                 "--output", str(out)]) == 0
    pred = pd.read_csv(out)
    assert "category_input" in pred.columns and "category" in pred.columns


def test_evaluate_json(model_path, csvs, capsys):
    """evaluate prints a table and writes the section-3 metrics as JSON."""
    out = csvs / "eval.json"
    assert main(["triage", "evaluate", "--model", str(model_path), "--data", str(csvs / "test.csv"),
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "macro_f1" in printed
    report = json.loads(out.read_text())["targets"]
    assert report["category"]["macro_f1"] > 0.8
    assert "critical_recall" in report["priority"] and "ece" in report["team"]


@pytest.mark.parametrize("args", [
    ["triage", "predict", "--model", "{d}/missing.joblib", "--data", "{d}/new.csv", "--output", "{d}/o.csv"],
    ["triage", "train", "--data", "{d}/empty.csv", "--text", "t", "--target", "a=b", "--out", "{d}/m.joblib"],
    ["triage", "train", "--data", "{d}/train.csv", "--text", "nope", "--target", "a=team", "--out", "{d}/m.joblib"],
    ["triage", "train", "--data", "{d}/train.csv", "--text", "title", "--target", "team", "--out", "{d}/m.joblib"],
    ["triage", "train", "--data", "{d}/const.csv", "--text", "title", "--target", "c=c", "--out", "{d}/m.joblib"],
    ["triage", "predict", "--model", "{d}/model.joblib", "--data", "{d}/nodesc.csv", "--output", "{d}/o.csv"],
    ["triage", "evaluate", "--model", "{d}/train.csv", "--data", "{d}/new.csv"],
    ["triage", "train", "--data", "{d}/train.csv"],
    ["nosuchjob"],
])
def test_errors_are_one_line(args, csvs, model_path):
    """Bad input exits with status 2 and one line on stderr, never a traceback."""
    (csvs / "empty.csv").write_text("")
    make_tickets(50).assign(c="x").to_csv(csvs / "const.csv", index=False)
    pd.DataFrame({"title": ["vpn down"]}).to_csv(csvs / "nodesc.csv", index=False)
    r = run(*[a.format(d=csvs) for a in args])
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "error" in lines[0]


def test_debug_shows_traceback(csvs):
    """--debug shows the traceback of an error."""
    r = run("--debug", "triage", "predict", "--model", csvs / "missing.joblib", "--data", csvs / "new.csv",
            "--output", csvs / "o.csv")
    assert r.returncode == 2 and "Traceback" in r.stderr


def test_non_utf8_csv(model_path, csvs, capsys):
    """A CSV with bytes that are not UTF-8 is refused naming the line, never read with replacement characters."""
    raw = "title,description,service\nimprimante cass\xe9e,\xe9cran noir,vpn-gw\n".encode("latin-1")
    (csvs / "latin1.csv").write_bytes(raw)
    assert main(["triage", "predict", "--model", str(model_path), "--data", str(csvs / "latin1.csv"),
                 "--output", str(csvs / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "is not utf-8 text (byte 0xe9 on line 2)" in err and "Convert it to UTF-8" in err
    assert not (csvs / "o.csv").exists()


def test_closed_pipe_stops_quietly(model_path, csvs, monkeypatch, capsys):
    """`incidentml ... | head`: a reader that goes away ends the command quietly with 141, no error line."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)
    closed = os.fdopen(write_end, "w", buffering=1)
    monkeypatch.setattr(sys, "stdout", closed)
    try:
        rc = main(["triage", "evaluate", "--model", str(model_path), "--data", str(csvs / "test.csv")])
    finally:
        monkeypatch.undo()
        try:
            closed.close()
        except BrokenPipeError:
            pass
    assert rc == 141
    assert "error" not in capsys.readouterr().err
