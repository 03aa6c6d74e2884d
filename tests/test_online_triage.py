"""OnlineTriage: learning from corrections, blending with a batch model, drift and retrain."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from river import drift as river_drift

from incidentml import DataError, Incident, InvalidParameterError, OnlineTriage, SchemaError, TriageModel
from incidentml.datasets import make_tickets
from incidentml.triage import DriftEvent, TriageDriftMonitor

TEXT = ["title", "description"]
FAST = {"max_features": 20000, "progress": False, "random_state": 0}
NEW = "database"


@pytest.fixture(scope="module")
def tickets():
    return make_tickets(1200, seed=3)


@pytest.fixture(scope="module")
def base(tickets):
    """A batch model that never saw the ``database`` category."""
    train = tickets.iloc[:400]
    train = train[train["category"] != NEW]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TriageModel(**FAST).fit(train, text=TEXT, targets=["category", "team"])


def _stream(tickets):
    return tickets.iloc[400:].reset_index(drop=True)


def test_contract_learn_one_returns_none_and_predict_one_keys():
    m = OnlineTriage()
    for t, y in [("printer jammed", "hw"), ("vpn down", "net"), ("printer toner", "hw"), ("wifi drops", "net")] * 5:
        assert m.learn_one(t, {"category": y}) is None
    p = m.predict_one("printer broken")
    assert p["category"] == "hw"
    assert set(p) == {"category", "category_confidence", "category_abstain", "category_source"}
    assert 0.0 <= p["category_confidence"] <= 1.0
    # fewer than 100 corrections and no batch model: the cut is not learnt yet, so it asks a human
    assert p["category_abstain"] is True
    assert m.targets_ == ["category"] and m.n_learned_ == 20


def test_no_corrections_means_exactly_the_batch_model(base, tickets):
    """Before any correction, and after corrections of known labels only, answers are the batch model's."""
    m = OnlineTriage(base)
    frame = _stream(tickets).iloc[:40]
    ref = base.predict(frame)
    got = m.predict_many(frame)
    for t in ("category", "team"):
        assert list(got[t]) == list(ref[t])
        np.testing.assert_allclose(got[f"{t}_confidence"], ref[f"{t}_confidence"])
        assert list(got[f"{t}_abstain"]) == list(ref[f"{t}_abstain"])
        assert set(got[f"{t}_source"]) == {"batch"}
    known = _stream(tickets)
    known = known[known["category"] != NEW].iloc[:60]
    m.learn_many(known, targets=["category"])
    again = m.predict_many(frame)
    assert list(again["category"]) == list(ref["category"])


def test_new_category_picked_up_and_old_ones_kept(base, tickets):
    stream = _stream(tickets)
    m = OnlineTriage(base)
    m.learn_many(stream.iloc[:500], targets=["category", "team"])
    later = stream.iloc[500:]
    pred = m.predict_many(later)
    is_new = later["category"] == NEW
    assert is_new.sum() > 10
    recall_new = (pred.loc[is_new, "category"] == NEW).mean()
    assert recall_new >= 0.8
    assert set(pred.loc[is_new & (pred["category"] == NEW), "category_source"]) == {"online"}
    old_blend = (pred.loc[~is_new, "category"] == later.loc[~is_new, "category"]).mean()
    old_batch = (base.predict(later[~is_new])["category"] == later.loc[~is_new, "category"]).mean()
    assert old_blend >= old_batch - 0.05
    proba = m.predict_proba_one(later.iloc[0].to_dict())["category"]
    assert NEW in proba and abs(sum(proba.values()) - 1.0) < 1e-9


def test_batch_route_is_the_loop(base, tickets):
    stream = _stream(tickets).iloc[:150]
    a, b = OnlineTriage(base), OnlineTriage(base)
    a.learn_many(stream, targets={"category": "category"})
    for rec in stream.to_dict("records"):
        label = rec.pop("category")
        b.learn_one(rec, {"category": label})
    probe = _stream(tickets).iloc[600:650]
    pd.testing.assert_frame_equal(a.predict_many(probe), b.predict_many(probe))
    one = [b.predict_one(r) for r in probe.to_dict("records")]
    assert [o["category"] for o in one] == list(a.predict_many(probe)["category"])


def test_save_load_round_trip(tmp_path, base, tickets):
    stream = _stream(tickets)
    m = OnlineTriage(base).learn_many(stream.iloc[:200], targets=["category"])
    path = m.save(tmp_path / "online.incidentml")
    back = OnlineTriage.load(path)
    probe = stream.iloc[300:340]
    pd.testing.assert_frame_equal(m.predict_many(probe), back.predict_many(probe))
    assert back.n_learned_ == 200 and len(back.history()) == 200
    back.learn_one(probe.iloc[0].to_dict(), {"category": "database"})
    assert back.n_learned_ == 201


def test_new_target_from_corrections_only(base):
    m = OnlineTriage(base)
    for text, y in [("disk full on db host", "storage-team"), ("vpn tunnel flaps", "noc")] * 4:
        m.learn_one({"title": text, "description": ""}, {"owner": y})
    assert "owner" in m.targets_
    assert m.predict_one({"title": "disk full again", "description": ""})["owner"] == "storage-team"


def test_incident_ticket_is_accepted(base):
    inc = Incident(id="db-1-0001", entity="db-1", raised_at=0.0, onset=0.0, score=0.9, severity="P2",
                   metrics=[{"name": "disk_used", "contribution": 1.0, "first_at": 0.0, "peak": 0.9}],
                   summary="disk_used on db-1 is unusual.")
    out = OnlineTriage(base).predict_one(inc)
    assert {"category", "team"} <= set(out)


def test_bad_input_gets_clear_errors(base):
    m = OnlineTriage(base)
    with pytest.raises(SchemaError, match="labels must be a dict"):
        m.learn_one("text", "network")
    with pytest.raises(SchemaError, match="must be a string, a dict"):
        m.predict_one(42)
    with pytest.raises(InvalidParameterError, match="alpha"):
        OnlineTriage(alpha=-1.0)
    with pytest.raises(InvalidParameterError, match="base"):
        OnlineTriage(base="model.incidentml")
    with pytest.raises(SchemaError, match="label column"):
        m.learn_many(pd.DataFrame({"title": ["a"], "description": ["b"]}), targets={"category": "cat"})
    with pytest.raises(SchemaError, match="duplicated"):
        m.predict_many(pd.DataFrame([["a", "b"]], columns=["title", "title"]))
    with pytest.raises(DataError, match="at least 50"):
        m.retrain()
    # missing labels are skipped, not learnt as the string 'nan'
    m.learn_one("printer jammed", {"category": None, "team": float("nan")})
    assert m.n_learned_ == 0


def test_drift_monitor_accuracy_and_new_label():
    mon = TriageDriftMonitor("category", known_labels=["hw", "net"])
    events = []
    for i in range(600):
        events += mon.update(correct=i < 300 or i % 3 == 0, confidence=0.9, label="hw" if i % 2 else "net")
    acc = [e for e in events if e.signal == "accuracy"]
    assert acc and acc[0].retrain and acc[0].before > acc[0].after and acc[0].at > 300
    ev = mon.update(correct=False, confidence=0.3, label="printing")
    assert [e.signal for e in ev] == ["new_label"] and ev[0].label == "printing"
    assert isinstance(ev[0], DriftEvent) and ev[0].to_dict()["target"] == "category"
    # other river detectors work too
    mon2 = TriageDriftMonitor("team", detector=river_drift.PageHinkley())
    for i in range(400):
        mon2.update(correct=i < 200, confidence=0.8, label="a")
    with pytest.raises(InvalidParameterError, match="river drift detector"):
        TriageDriftMonitor("x", detector="adwin")


def test_stable_stream_has_no_retrain_due(base, tickets):
    stream = _stream(tickets)
    stream = stream[stream["category"] != NEW].iloc[:300]
    m = OnlineTriage(base).learn_many(stream, targets=["category"])
    assert not m.retrain_due, [e.message for e in m.retrain_evidence_]


def test_retrain_due_after_a_new_category_and_retrain_validates(base, tickets):
    stream = _stream(tickets)
    m = OnlineTriage(base).learn_many(stream.iloc[:400], targets=["category", "team"])
    assert m.retrain_due
    assert any(e.signal == "new_label" and e.label == NEW for e in m.retrain_evidence_)
    train = tickets.iloc[:400]
    train = train[train["category"] != NEW]
    report = m.retrain(train, validation=0.25)
    assert set(report) >= {"replaced", "old_accuracy", "new_accuracy", "n_train", "n_validation", "reason"}
    assert report["replaced"] == all(report["new_accuracy"][t] >= report["old_accuracy"][t]
                                     for t in report["new_accuracy"])
    if report["replaced"]:
        assert NEW in set(m.base_.classes_["category"])
        assert not m.retrain_due
        assert len(m.history()) == 400
    else:
        assert m.base_ is base
