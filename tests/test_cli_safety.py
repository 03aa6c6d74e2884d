"""The command line's data-safety rules: every value used or reported, outputs atomic and never an input.

One rule for every metric command: a value of the input is used, or the user is told which rows,
cells or columns were not used and why (a warning line and counts in the summary line), and
``--strict`` makes any of it an error. Outputs go to a temporary file in the same folder and are
renamed over the target, so a kill -9 leaves the old file or the whole new one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from incidentml.cli import main


def _frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    t = pd.date_range("2024-01-01", periods=n, freq="1min").strftime("%Y-%m-%dT%H:%M:%S")
    x = 50 + rng.normal(size=n)
    x[min(300, n - 1)] += 25
    return pd.DataFrame({"timestamp": t, "cpu": x, "mem": 20 + rng.normal(size=n)})


def _run(args, capsys):
    code = main(args)
    cap = capsys.readouterr()
    return code, cap.err


def _detect(tmp_path, frame_or_text, capsys, *extra, name="m.csv"):
    path = tmp_path / name
    if isinstance(frame_or_text, str):
        path.write_text(frame_or_text, encoding="utf-8")
    else:
        frame_or_text.to_csv(path, index=False)
    out = tmp_path / "d.csv"
    code, err = _run(["detect", "--input", str(path), "--output", str(out), *extra], capsys)
    return code, err, out


# ------------------------------------------------------------------ values used or reported
@pytest.mark.parametrize("word", ["NaN", "None", "null", "NA"])
def test_a_missing_word_is_a_missing_point_not_a_dropped_column(tmp_path, capsys, word):
    """One literal NaN/None cell no longer drops the column: it is a missing point, counted and named."""
    df = _frame().astype({"cpu": object})
    df.loc[10, "cpu"] = word
    code, err, out = _detect(tmp_path, df, capsys)
    assert code == 0
    assert f"1 cell(s) of 'cpu' read as missing points (e.g. {word!r} on line 12)" in err
    assert "2 metric(s) (cpu, mem)" in err and "not used: 1 cell(s)" in err
    res = pd.read_csv(out)
    assert len(res) == 400 and res["score"].notna().all()
    assert bool(res.loc[300, "is_anomaly"]) and res.loc[300, "top_metric"] == "cpu"


def test_text_in_a_metric_column_is_an_error_naming_line_and_value(tmp_path, capsys):
    """'abc' in a numeric column is refused as the Python API refuses it, never a silently dropped column."""
    df = _frame().astype({"cpu": object})
    df.loc[5, "cpu"] = "abc"
    code, err, out = _detect(tmp_path, df, capsys)
    assert code == 2 and not out.exists()
    assert "metric column 'cpu' must be numeric; line 7 holds 'abc'" in err
    assert len(err.strip().splitlines()) == 1


def test_bool_and_text_columns_are_not_metrics_and_are_named(tmp_path, capsys):
    df = _frame()
    df["is_maintenance"] = np.arange(len(df)) % 2 == 0
    df["host"] = "web-1"
    code, err, out = _detect(tmp_path, df, capsys)
    assert code == 0
    assert "ignoring bool column(s) 'is_maintenance'" in err and "ignoring non-numeric column(s) 'host'" in err
    assert "ignored column(s): is_maintenance (bool), host (text)" in err
    res = pd.read_csv(out)
    assert set(res["top_metric"].dropna()) <= {"cpu", "mem"}
    assert res["is_maintenance"].tolist() == df["is_maintenance"].tolist()  # kept in the output, unscored


def test_rows_without_a_timestamp_are_not_scored_and_are_counted(tmp_path, capsys):
    df = _frame()
    df.loc[[20, 21], "timestamp"] = ""
    code, err, out = _detect(tmp_path, df, capsys)
    assert code == 0
    assert "2 row(s) with no timestamp in 'timestamp', not scored (e.g. line 22)" in err
    assert "scored 398 of 400 rows" in err
    res = pd.read_csv(out)
    assert len(res) == 400 and res.loc[[20, 21], "score"].isna().all() and res["score"].notna().sum() == 398
    # the others are scored in place, as without those rows
    code, _, out2 = _detect(tmp_path, _frame().drop(index=[20, 21]), capsys, name="m2.csv")
    ref = pd.read_csv(out2)
    np.testing.assert_allclose(res["score"].dropna().to_numpy(), ref["score"].to_numpy())


def test_rows_without_an_entity_are_counted_by_incidents(tmp_path, capsys):
    df = pd.concat([_frame().assign(host="a"), _frame(seed=1).assign(host="b")], ignore_index=True)
    df.loc[[3, 404], "host"] = ""
    path = tmp_path / "m.csv"
    df.to_csv(path, index=False)
    code, err = _run(["incidents", "--input", str(path), "--output", str(tmp_path / "i.jsonl"),
                      "--entity-col", "host"], capsys)
    assert code == 0
    assert "2 row(s) with no entity in 'host', not scored (e.g. line 5)" in err and "from 798 of 800 rows" in err


@pytest.mark.parametrize("case", ["missing-word", "no-timestamp", "no-entity"])
def test_strict_turns_anything_left_out_into_an_error(tmp_path, capsys, case):
    df = _frame().assign(host="a").astype({"cpu": object})
    extra = []
    if case == "missing-word":
        df.loc[4, "cpu"] = "NaN"
    elif case == "no-timestamp":
        df.loc[4, "timestamp"] = ""
    else:
        df.loc[4, "host"] = ""
        extra = ["--entity-col", "host"]
    path = tmp_path / "m.csv"
    df.to_csv(path, index=False)
    for cmd, out in (("detect", "d.csv"), ("incidents", "i.jsonl")):
        if cmd == "detect" and case == "no-entity":
            continue
        code, err = _run([cmd, "--input", str(path), "--output", str(tmp_path / out), "--strict", *extra], capsys)
        assert code == 2 and "--strict" in err and "line 6" in err, (cmd, err)
        assert not (tmp_path / out).exists()


def test_latin1_input_is_refused_or_read_with_its_encoding(tmp_path, capsys):
    """Never replacement characters: refused naming the byte and line, or read and written in --encoding."""
    text = "timestamp,cpu,site\n" + "".join(f"2024-01-01T00:{i:02d}:00,{50 + i % 3},Zürich\n" for i in range(60))
    path = tmp_path / "m.csv"
    path.write_bytes(text.encode("latin-1"))
    code, err = _run(["detect", "--input", str(path), "--output", str(tmp_path / "d.csv")], capsys)
    assert code == 2 and "is not utf-8 text (byte 0xfc on line 2)" in err and "--encoding" in err
    code, err = _run(["detect", "--input", str(path), "--output", str(tmp_path / "d.csv"), "--encoding", "latin-1"],
                     capsys)
    assert code == 0
    written = (tmp_path / "d.csv").read_bytes().decode("latin-1")
    assert written.splitlines()[1].startswith("2024-01-01T00:00:00,50,Zürich,")
    assert "Zürich" in (tmp_path / "d.csv").read_bytes().decode("latin-1")
    assert "\ufffd" not in (tmp_path / "d.csv").read_bytes().decode("latin-1")


# ------------------------------------------------------------------ time
def test_time_format_reads_day_first_dates(tmp_path, capsys):
    base = _frame()
    iso = tmp_path / "iso.csv"
    base.to_csv(iso, index=False)
    dmy = base.assign(timestamp=pd.to_datetime(base["timestamp"]).dt.strftime("%d/%m/%Y %H:%M"))
    code, _, out_dmy = _detect(tmp_path, dmy, capsys, "--time-format", "%d/%m/%Y %H:%M", name="dmy.csv")
    assert code == 0
    code, _ = _run(["detect", "--input", str(iso), "--output", str(tmp_path / "ref.csv")], capsys)
    np.testing.assert_allclose(pd.read_csv(out_dmy)["score"], pd.read_csv(tmp_path / "ref.csv")["score"])


def test_ambiguous_dates_are_refused_naming_time_format(tmp_path, capsys):
    text = "timestamp,cpu\n" + "".join(f"0{d}/0{m}/2024,{v}\n" for d, m, v in [(1, 2, 1), (3, 4, 2), (5, 6, 3)])
    code, err, _ = _detect(tmp_path, text, capsys)
    assert code == 2 and "--time-format" in err and len(err.strip().splitlines()) == 1


def test_year_2300_and_epoch_ms_give_the_same_scores(tmp_path, capsys):
    base = _frame()
    code, _, ref = _detect(tmp_path, base, capsys, name="ref.csv")
    want = pd.read_csv(ref)["score"].to_numpy()
    t = pd.to_datetime(base["timestamp"])
    variants = {
        "y2300.csv": base.assign(timestamp=t.dt.strftime("2300-%m-%dT%H:%M:%S")),
        "ms.csv": base.assign(timestamp=t.astype("int64") // 10**6),
    }
    for name, frame in variants.items():
        code, err, out = _detect(tmp_path, frame, capsys, name=name)
        assert code == 0, err
        np.testing.assert_allclose(pd.read_csv(out)["score"].to_numpy(), want, err_msg=name)
    path = tmp_path / "y2300.csv"
    code, err = _run(["incidents", "--input", str(path), "--output", str(tmp_path / "i.jsonl")], capsys)
    assert code == 0
    rows = [json.loads(line) for line in (tmp_path / "i.jsonl").read_text().splitlines()]
    assert rows and all(r["raised_at"].startswith("2300-") for r in rows)


# ------------------------------------------------------------------ clear errors
def test_wrong_delimiter_is_named(tmp_path, capsys):
    code, err, _ = _detect(tmp_path, "timestamp;cpu\n2024-01-01T00:00:00;1\n2024-01-01T00:01:00;2\n", capsys)
    assert code == 2 and "seems to use ';' as delimiter" in err


def test_duplicated_column_names_are_refused(tmp_path, capsys):
    code, err, _ = _detect(tmp_path, "timestamp,cpu,cpu\n2024-01-01T00:00:00,1,2\n", capsys)
    assert code == 2 and "column 'cpu' appears twice" in err


def test_header_without_rows_is_refused(tmp_path, capsys):
    code, err, _ = _detect(tmp_path, "timestamp,cpu\n", capsys)
    assert code == 2 and "has a header but no rows" in err


# ------------------------------------------------------------------ outputs
def _paths_for_output_checks(tmp_path):
    inp = tmp_path / "m.csv"
    _frame(60).to_csv(inp, index=False)
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("x")
    os.symlink(tmp_path / "target.csv", tmp_path / "link.csv")
    (tmp_path / "target.csv").write_text("keep me")
    os.mkfifo(tmp_path / "fifo")
    return inp


@pytest.mark.parametrize(("output", "message"), [
    ("m.csv", "is also an input"),
    ("./sub/../m.csv", "is also an input"),
    ("link.csv", "is a symbolic link"),
    ("folder", "is a folder"),
    ("fifo", "is not a regular file"),
    ("afile/out.csv", "which is a file, not a folder"),
    ("nowhere/out.csv", "does not exist"),
    ("/proc/out.csv", "virtual file system"),
])
@pytest.mark.parametrize("command", ["detect", "incidents"])
def test_outputs_that_would_destroy_data_are_refused_before_any_work(tmp_path, capsys, output, message, command):
    inp = _paths_for_output_checks(tmp_path)
    (tmp_path / "sub").mkdir()
    before = inp.read_bytes()
    target = output if output.startswith("/") else str(tmp_path / output)
    code, err = _run([command, "--input", str(inp), "--output", target], capsys)
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert inp.read_bytes() == before and (tmp_path / "target.csv").read_text() == "keep me"


def test_triage_train_checks_out_before_training(tmp_path, capsys, monkeypatch):
    """A folder as --out fails at once, not after the training."""
    import incidentml.triage as triage

    def boom(*a, **k):  # training must not start
        raise AssertionError("trained before checking --out")

    monkeypatch.setattr(triage.TriageModel, "fit", boom)
    data = tmp_path / "t.csv"
    pd.DataFrame({"title": ["a b", "c d"] * 10, "cat": ["x", "y"] * 10}).to_csv(data, index=False)
    (tmp_path / "m").mkdir()
    for out, message in ((tmp_path / "m", "is a folder"), (data, "is also an input")):
        code, err = _run(["triage", "train", "--data", str(data), "--text", "title", "--target", "category=cat",
                          "--out", str(out)], capsys)
        assert code == 2 and message in err, err


def test_a_failed_write_keeps_the_previous_output(tmp_path, capsys, monkeypatch):
    inp = tmp_path / "m.csv"
    _frame(60).to_csv(inp, index=False)
    out = tmp_path / "d.csv"
    out.write_text("previous\n")

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    code, err = _run(["detect", "--input", str(inp), "--output", str(out)], capsys)
    assert code == 2 and "no space left on the device" in err and str(out) in err
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".d.csv")] == []


def _child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(p) for p in sys.path if p])
    return env


@pytest.mark.parametrize("command", ["detect", "incidents"])
def test_kill_9_while_writing_leaves_the_old_file_or_the_whole_new_one(tmp_path, command):
    """Killed at many moments, the output is always the previous file or the complete new one."""
    inp = tmp_path / "m.csv"
    big = _frame(6000)
    big.to_csv(inp, index=False)
    out = tmp_path / ("d.csv" if command == "detect" else "i.jsonl")
    cmd = [sys.executable, "-m", "incidentml", command, "--input", str(inp), "--output", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, env=_child_env())
    complete = out.read_bytes()
    old = b"previous output\n"
    for delay in np.linspace(0.2, 6.0, 8):
        out.write_bytes(old)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_child_env())
        time.sleep(float(delay))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        now = out.read_bytes()
        assert now in (old, complete), f"killed after {delay:.1f} s: a partial file of {len(now)} bytes"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 8  # a killed run may leave its temporary file, never a half output
