"""IncidentPredictor.feedback: false alarms are not raised again, real incidents still are, and it persists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from incidentml.anomaly import AnomalyDetector
from incidentml.exceptions import InvalidParameterError
from incidentml.incidents import IncidentPredictor
from incidentml.utils import as_point, read_manifest


class Passthrough(AnomalyDetector):
    """A detector whose score for each metric is the metric's value: drives the state machine exactly."""

    def learn_one(self, x, t=None):
        return None

    def score_one(self, x, t=None):
        p = [v for v in as_point(x).values() if v == v]
        return max(p) if p else 0.0

    def contributions_one(self, x, t=None):
        return {k: v for k, v in as_point(x).items() if v == v}


T0 = pd.Timestamp("2024-01-01").timestamp()
QUIET = {"a": 0.0, "b": 0.0}


def _frame(rows, start=0):
    df = pd.DataFrame(rows)
    df.insert(0, "timestamp", pd.to_datetime(T0 + 60 * (start + np.arange(len(rows))), unit="s"))
    return df


def _blip(**scores):
    """Twenty quiet points, one point with ``scores``, twenty quiet points."""
    return [QUIET] * 20 + [{**QUIET, **scores}] + [QUIET] * 20


def _marked(peak=0.7, entity="web-1"):
    """A predictor (max-combined scores, so the levels are exact) whose first incident, ``a`` at ``peak``, is false."""
    pred = IncidentPredictor(Passthrough(), combine="max", quiet_points=5, cooldown_points=5)
    (inc,) = pred.run(_frame(_blip(a=peak)).assign(host=entity), entity_col="host")
    pred.feedback(inc.id, "false_alarm")
    return pred


def _raised(pred, rows, entity="web-1", start=100):
    """The incidents ``rows`` raise on ``entity`` (fed after what the predictor has seen)."""
    before = {i.id for i in pred.incidents()}
    pred.run(_frame(rows, start).assign(host=entity), entity_col="host")
    return [i for i in pred.incidents() if i.id not in before]


def test_a_repeated_false_alarm_of_the_same_shape_is_not_raised():
    """The same metric on the same entity, up to the margin beyond the marked peak, no longer opens."""
    pred = _marked(0.7)
    assert _raised(pred, _blip(a=0.7)) == []
    assert _raised(pred, _blip(a=0.75), start=200) == []  # 0.75 is within the margin (1.5 x -log10 q: 0.778)
    assert pred._manifest_extra()["feedback"]["suppressed_runs"] == 2


def test_clearly_stronger_evidence_still_opens():
    """Evidence clearly beyond the marked peak (past the margin) opens an incident on the marked metric."""
    (inc,) = _raised(_marked(0.7), _blip(a=0.9))
    assert inc.metrics[0]["name"] == "a" and inc.verdict is None


def test_another_metric_or_another_entity_still_raises():
    """A real incident on another metric of the entity, or on the same metric of another entity, is raised."""
    pred = _marked(0.7)
    (other_metric,) = _raised(pred, _blip(b=0.7))
    assert other_metric.metrics[0]["name"] == "b"
    (other_entity,) = _raised(pred, _blip(a=0.7), entity="web-2", start=200)
    assert other_entity.entity == "web-2"
    (joined,) = _raised(pred, _blip(a=0.7, b=0.6), start=300)  # the marked metric with another one
    assert {m["name"] for m in joined.metrics} == {"a", "b"}


def test_the_default_combination_suppresses_too():
    """With combine="corroborated" on a wide host, a repeated lone false alarm is held back, another metric is not."""
    quiet = {f"m{j}": 0.0 for j in range(8)}
    rows = [quiet] * 20 + [{**quiet, "m1": 0.8}] + [quiet] * 20
    pred = IncidentPredictor(Passthrough(), quiet_points=5, cooldown_points=5)
    (inc,) = pred.run(_frame(rows))
    pred.feedback(inc.id, "false_alarm")
    pred.run(_frame(rows, 100))
    assert len(pred.incidents()) == 1
    pred.run(_frame([quiet] * 20 + [{**quiet, "m2": 0.8}] + [quiet] * 20, 200))
    assert [i.metrics[0]["name"] for i in pred.incidents()] == ["m1", "m2"]


def test_the_raise_is_capped():
    """A saturated false alarm raises the level to the saturation level at most: a new extreme still opens."""
    pred = _marked(1.0)
    assert _raised(pred, _blip(a=0.99)) == []
    assert len(_raised(pred, _blip(a=1.0), start=200)) == 1
    marked = _marked(0.98)  # graded: the margin in -log10 q is capped too (0.98 -> 0.987)
    assert _raised(marked, _blip(a=0.985)) == []
    assert len(_raised(marked, _blip(a=0.99), start=200)) == 1


def test_confirmed_undoes_the_suppression_of_that_shape():
    """Confirming an incident of the marked shape lets the repeat open again."""
    pred = _marked(0.7)
    (stronger,) = _raised(pred, _blip(a=0.9))
    pred.feedback(stronger.id, "confirmed")
    assert len(_raised(pred, _blip(a=0.7), start=200)) == 1


def test_confirmed_never_makes_detection_less_sensitive():
    """A confirmed verdict alone changes no later incident (apart from its own verdict)."""
    rows = _blip(a=0.7) + _blip(a=0.6) + _blip(b=0.55)
    plain = IncidentPredictor(Passthrough(), combine="max", quiet_points=5, cooldown_points=5)
    plain.run(_frame(rows))
    told = IncidentPredictor(Passthrough(), combine="max", quiet_points=5, cooldown_points=5)
    first = told.run(_frame(rows[:41]))[0]
    told.feedback(first.id, "confirmed")
    told.run(_frame(rows[41:], 41))
    assert [i.raised_at for i in told.incidents()] == [i.raised_at for i in plain.incidents()]
    assert [i.verdict for i in told.incidents()] == ["confirmed", None, None]


def test_an_open_incident_marked_false_stays_open_and_is_not_reopened_by_its_repeat():
    """An open incident marked false resolves as usual; its repeat does not re-open it, another metric does."""
    pred = IncidentPredictor(Passthrough(), combine="max", quiet_points=5, cooldown_points=200)
    (inc,) = pred.run(_frame([QUIET] * 10 + [{"a": 0.7, "b": 0.0}] * 3))
    marked = pred.feedback(inc.id, "false_alarm")
    assert marked is inc and inc.status == "open" and inc.verdict == "false_alarm"
    assert "Marked a false alarm." in inc.summary
    pred.run(_frame([{"a": 0.7, "b": 0.0}] * 3 + [QUIET] * 10, 13))
    assert inc.status == "resolved" and inc.resolved_at == T0 + 60 * 20
    pred.run(_frame(_blip(a=0.7), 30))  # the repeat, within the cool-down
    assert pred.incidents() == [inc] and inc.status == "resolved" and inc.verdict == "false_alarm"
    events = pred.run(_frame(_blip(b=0.7), 80), return_events=True)[1]  # another metric, within the cool-down
    assert [e.kind for e in events if e.kind != "updated"] == ["reopened", "resolved"]
    assert pred.incidents() == [inc] and inc.verdict is None  # re-opened: to be reviewed again


def test_the_record_carries_the_verdict():
    """The verdict is a new field of the record and its JSON; the other keys are unchanged."""
    pred = _marked(0.7)
    (inc,) = pred.incidents()
    d = inc.to_dict()
    assert d["verdict"] == "false_alarm"
    fresh = IncidentPredictor(Passthrough(), combine="max").run(_frame(_blip(a=0.7)))[0].to_dict()
    assert fresh["verdict"] is None and set(fresh) == set(d)
    assert '"verdict": "false_alarm"' in inc.to_json()


def _fleet(n=3600, seed=0):
    rng = np.random.default_rng(seed)
    parts = []
    for h, host in enumerate(["web-1", "web-2"]):
        df = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="min"),
                           "cpu": rng.normal(40, 2, n), "latency_ms": rng.normal(120, 5, n), "host": host})
        for at in (1500, 2200, 2900):  # the same blip, three times
            df.loc[at + 20 * h:at + 20 * h + 10, "latency_ms"] += 40
        df.loc[3300:3310, "cpu"] += 16
        parts.append(df)
    return pd.concat(parts, ignore_index=True).sort_values("timestamp", kind="stable")


def _dicts(incidents):
    return [i.to_dict() for i in incidents]


def _first_blips(pred, cut):
    """Mark every entity's first latency incident false (those raised before ``cut``)."""
    for inc in pred.incidents():
        if inc.raised_at < cut and inc.metrics[0]["name"] == "latency_ms":
            pred.feedback(inc.id, "false_alarm")


def test_batch_equals_stream_after_feedback():
    """run() and update() (and a parallel run) give the same incidents when the same feedback comes between."""
    df = _fleet()
    half = int((df["timestamp"] < pd.Timestamp("2024-01-02 06:00")).sum())
    cut = pd.Timestamp("2024-01-02 06:00").timestamp()
    batch = IncidentPredictor()
    batch.run(df.iloc[:half], entity_col="host")
    _first_blips(batch, cut)
    assert sum(i.verdict == "false_alarm" for i in batch.incidents()) == 2
    batch.run(df.iloc[half:], entity_col="host")
    stream = IncidentPredictor()
    for i, row in enumerate(df.to_dict("records")):
        if i == half:
            _first_blips(stream, cut)
        stream.update({"cpu": row["cpu"], "latency_ms": row["latency_ms"]}, row["timestamp"], entity=row["host"])
    par = IncidentPredictor()
    par.run(df.iloc[:half], entity_col="host")
    _first_blips(par, cut)
    par.run(df.iloc[half:], entity_col="host", n_jobs=2)
    assert _dicts(stream.incidents()) == _dicts(batch.incidents()) == _dicts(par.incidents())
    plain = IncidentPredictor().run(df, entity_col="host")
    assert len(batch.incidents()) < len(plain)  # the repeats were held back...
    cpu = [(i.entity, i.raised_at) for i in plain if i.metrics[0]["name"] == "cpu"]
    assert cpu and set(cpu) <= {(i.entity, i.raised_at) for i in batch.incidents()}  # ...the cpu fault was not


def test_feedback_is_saved_and_loaded(tmp_path):
    """A predictor saved after feedback resumes with it, and the manifest counts the verdicts."""
    df = _fleet()
    half = int((df["timestamp"] < pd.Timestamp("2024-01-02 06:00")).sum())
    pred = IncidentPredictor()
    pred.run(df.iloc[:half], entity_col="host")
    _first_blips(pred, pd.Timestamp("2024-01-02 06:00").timestamp())
    pred.save(tmp_path / "p.model")
    manifest = read_manifest(tmp_path / "p.model")
    assert manifest["feedback"] == {"false_alarm": 2, "confirmed": 0, "raised_levels": 2, "suppressed_runs": 0}
    resumed = IncidentPredictor.load(tmp_path / "p.model")
    resumed.run(df.iloc[half:], entity_col="host")
    pred.run(df.iloc[half:], entity_col="host")
    assert _dicts(resumed.incidents()) == _dicts(pred.incidents())
    assert resumed.feedback_.records == pred.feedback_.records


def test_unknown_incident_id_is_a_clear_error():
    pred = _marked(0.7)
    with pytest.raises(InvalidParameterError, match=r"'incident_id' parameter of IncidentPredictor.feedback .* "
                                                    r"Got 'web-1-09999' instead; known ids include 'web-1-00001'"):
        pred.feedback("web-1-09999", "false_alarm")
    with pytest.raises(InvalidParameterError, match="has no incidents yet"):
        IncidentPredictor().feedback("web-1-00001", "confirmed")
    with pytest.raises(InvalidParameterError, match="'incident_id' parameter of .* must be a str"):
        pred.feedback(1, "confirmed")


def test_invalid_verdict_is_a_clear_error():
    pred = _marked(0.7)
    msg = ("The 'verdict' parameter of IncidentPredictor.feedback must be one of 'false_alarm', 'confirmed'. "
           "Got 'maybe' instead.")
    with pytest.raises(InvalidParameterError) as err:
        pred.feedback("web-1-00001", "maybe")
    assert err.value.args == (msg,)
