"""Evaluation never scores silently wrong: missing label columns, labels in another case, missing labels."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from incidentml import TriageClassifier, TriageModel
from incidentml.cli import main
from incidentml.exceptions import DataError, LabelMismatchWarning, SchemaError, SkippedTargetWarning

TITLES = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 6
TEAMS = ["network", "office"] * 18
PRIO = ["high", "low", "high", "low", "high", "low"] * 6


@pytest.fixture(scope="module")
def model() -> TriageModel:
    train = pd.DataFrame({"title": TITLES, "team": TEAMS, "prio": PRIO})
    return TriageModel(random_state=0).fit(train, text=["title"], targets={"team": "team", "priority": "prio"})


def _test(n: int = 12, **cols) -> pd.DataFrame:
    frame = pd.DataFrame({"title": TITLES[:n], "team": TEAMS[:n], "prio": PRIO[:n]})
    for k, v in cols.items():
        frame[k] = v
    return frame


def test_clean_labels_give_no_warning_and_zero_counts(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reports = model.evaluate(_test())
    assert set(reports) == {"team", "priority"}
    assert reports["team"]["n"] == 12
    assert reports["team"]["n_missing_label"] == 0 and reports["team"]["n_unseen_label"] == 0


def test_missing_label_column_is_warned_not_silently_left_out(model):
    frame = _test().drop(columns=["prio"])
    with pytest.warns(SkippedTargetWarning, match=r"'priority' \(column 'prio'\)"):
        reports = model.evaluate(frame)
    assert set(reports) == {"team"}
    with pytest.raises(SchemaError, match="'prio'"):
        model.evaluate(frame, strict=True)


def test_no_label_column_at_all_is_an_error(model):
    with pytest.raises(SchemaError, match="nothing can be evaluated"):
        model.evaluate(_test().drop(columns=["prio", "team"]))


def test_labels_in_another_case_are_refused_when_most_are(model):
    frame = _test(team=[t.upper() for t in TEAMS[:12]])
    with pytest.raises(DataError, match=r"12 of 12 labels of target 'team'.*'NETWORK' \(model: 'network'\)"):
        model.evaluate(frame)


def test_a_few_labels_in_another_case_are_warned_and_scored_wrong(model):
    teams = list(TEAMS[:12])
    teams[0] = "Network "
    frame = _test(team=teams)
    with pytest.warns(LabelMismatchWarning, match=r"1 of 12 labels of target 'team'"):
        reports = model.evaluate(frame)
    # str.strip() removes the trailing space but not the case: the row counts as unseen and wrong
    assert reports["team"]["n_unseen_label"] == 1
    with pytest.raises(DataError, match="'Network'"):
        model.evaluate(frame, strict=True)


def test_missing_labels_are_counted_not_scored(model):
    teams: list = list(TEAMS[:12])
    teams[0] = None
    teams[1] = "  "
    teams[2] = float("nan")
    reports = model.evaluate(_test(team=teams))
    assert reports["team"]["n"] == 9 and reports["team"]["n_missing_label"] == 3


def test_unseen_labels_are_errors_and_counted(model):
    teams = list(TEAMS[:12])
    teams[0] = "storage"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = model.evaluate(_test(team=teams))["team"]
    assert rep["n_unseen_label"] == 1 and rep["accuracy"] < 1.0


def test_classifier_evaluate_checks_labels_too():
    clf = TriageClassifier(random_state=0).fit(TITLES, TEAMS)
    with pytest.raises(DataError, match="case or spaces"):
        clf.evaluate(TITLES[:6], [t.title() for t in TEAMS[:6]])
    rep = clf.evaluate(TITLES[:6], [None, *TEAMS[1:6]])
    assert rep["n"] == 5 and rep["n_missing_label"] == 1


def test_cli_evaluate_strict_and_counts(model, tmp_path, capsys):
    path = tmp_path / "m.incidentml"
    model.save(path)
    teams: list = list(TEAMS[:12])
    teams[0] = ""
    data = tmp_path / "t.csv"
    _test(team=teams).drop(columns=["prio"]).to_csv(data, index=False)
    out = tmp_path / "r.json"
    assert main(["triage", "evaluate", "--model", str(path), "--data", str(data), "--json", str(out)]) == 0
    captured = capsys.readouterr()
    assert "'priority' (column 'prio')" in captured.err
    assert "team: rows 1 without a label, not scored" in captured.out
    assert json.loads(out.read_text())["targets"]["team"]["n_missing_label"] == 1
    assert main(["triage", "evaluate", "--model", str(path), "--data", str(data), "--strict"]) == 2
    assert "'prio'" in capsys.readouterr().err
