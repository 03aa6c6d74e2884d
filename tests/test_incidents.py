"""IncidentPredictor: the state machine, both routes, persistence, tickets and the command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from incidentml.anomaly import AnomalyDetector
from incidentml.cli import main
from incidentml.exceptions import DataError, InvalidParameterError, SchemaError
from incidentml.incidents import Incident, IncidentPredictor
from incidentml.utils import as_point


class Passthrough(AnomalyDetector):
    """A detector whose score for each metric is the metric's value: drives the state machine exactly."""

    def learn_one(self, x, t=None):
        return None

    def score_one(self, x, t=None):
        p = {k: v for k, v in as_point(x).items() if v == v}
        return max(p.values()) if p else 0.0

    def contributions_one(self, x, t=None):
        return {k: v for k, v in as_point(x).items() if v == v}


T0 = pd.Timestamp("2024-01-01").timestamp()


def feed(pred, rows, entity="web-1"):
    events = []
    for i, x in enumerate(rows):
        events += pred.update(x, T0 + 60 * i, entity=entity)
    return events


def test_open_group_resolve_and_rank():
    """One problem on two metrics is one incident; the metric that moved first leads; it resolves."""
    rows = [{"a": 0.0, "b": 0.0}] * 10 + [{"a": 0.3, "b": 0.0}, {"a": 0.9, "b": 0.0}, {"a": 0.9, "b": 0.25},
                                           {"a": 0.8, "b": 0.9}, {"a": 0.6, "b": 0.9}] + [{"a": 0.0, "b": 0.0}] * 20
    pred = IncidentPredictor(Passthrough(), quiet_points=5)
    events = feed(pred, rows)
    assert [e["event"] for e in events if e["event"] != "updated"] == ["raised", "resolved"]
    (inc,) = pred.incidents()
    assert inc.raised_at == T0 + 60 * 11  # first point at or above 0.5
    assert inc.onset == T0 + 60 * 10  # the run-up starts at the first point above the closing level
    assert [m["name"] for m in inc.metrics] == ["a", "b"]
    assert abs(sum(m["contribution"] for m in inc.metrics) - 1) < 1e-6
    assert inc.status == "resolved" and inc.resolved_at == T0 + 60 * 19


def test_hysteresis_keeps_it_open_between_levels():
    rows = [{"a": 0.0}] * 3 + [{"a": 0.9}] + [{"a": 0.3}] * 30 + [{"a": 0.0}] * 4
    pred = IncidentPredictor(Passthrough(), quiet_points=3)
    feed(pred, rows)
    (inc,) = pred.incidents()
    assert inc.status == "resolved" and inc.resolved_at == T0 + 60 * (3 + 1 + 30 + 2)


def test_n_of_m_rule():
    spike = [{"a": 0.0}] * 5 + [{"a": 0.9}] + [{"a": 0.0}] * 20
    burst = [{"a": 0.0}] * 5 + [{"a": 0.9}, {"a": 0.0}, {"a": 0.9}, {"a": 0.9}] + [{"a": 0.0}] * 20
    strict = dict(min_points=3, window_points=5, quiet_points=3)
    assert feed(IncidentPredictor(Passthrough(), **strict), spike) == []
    assert len(IncidentPredictor(Passthrough(), **strict).run(_frame(burst))) == 1


def test_cooldown_reopens_the_same_incident():
    rows = ([{"a": 0.9}] + [{"a": 0.0}] * 5) * 3 + [{"a": 0.0}] * 50 + [{"a": 0.9}] + [{"a": 0.0}] * 5
    pred = IncidentPredictor(Passthrough(), quiet_points=3, cooldown_points=10)
    events = feed(pred, rows)
    kinds = [e["event"] for e in events if e["event"] != "updated"]
    assert kinds == ["raised", "resolved", "reopened", "resolved", "reopened", "resolved", "raised", "resolved"]
    first, second = pred.incidents()
    assert first.raised_at == T0 and first.id != second.id
    assert all(e["incident"].raised_at == T0 for e in events if e["incident"].id == first.id)


def test_severity_grows_with_breadth_and_duration():
    short = [{"a": 0.0, "b": 0.0, "c": 0.0}] * 2 + [{"a": 0.6, "b": 0.0, "c": 0.0}] + [{"a": 0, "b": 0, "c": 0}] * 20
    wide = [{"a": 0.0, "b": 0.0, "c": 0.0}] * 2 + [{"a": 0.95, "b": 0.95, "c": 0.95}] * 150 + [
        {"a": 0, "b": 0, "c": 0}] * 20
    s1 = IncidentPredictor(Passthrough(), quiet_points=3).run(_frame(short))[0].severity
    s2 = IncidentPredictor(Passthrough(), quiet_points=3).run(_frame(wide))[0].severity
    assert s1 == "P4" and s2 == "P1"


def _frame(rows, entity=None):
    df = pd.DataFrame(rows)
    df.insert(0, "timestamp", pd.to_datetime(T0 + 60 * np.arange(len(rows)), unit="s"))
    if entity is not None:
        df["host"] = entity
    return df


def _fleet(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    parts = []
    for h, host in enumerate(["web-1", "web-2", "db-1"]):
        t = pd.date_range("2024-01-01", periods=n, freq="min")
        df = pd.DataFrame({"timestamp": t, "cpu": rng.normal(40, 2, n), "latency_ms": rng.normal(120, 5, n),
                           "host": host})
        if h != 1:
            df.loc[900 + 50 * h:960 + 50 * h, "latency_ms"] += 60
            df.loc[905 + 50 * h:960 + 50 * h, "cpu"] += 20
        df.loc[300, "cpu"] = np.nan
        parts.append(df)
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=1)  # rows out of order


def _dicts(incidents):
    return [i.to_dict() for i in incidents]


def test_stream_equals_batch_on_a_fleet():
    """update() row by row (per entity, in time order) and run() give the same incidents."""
    df = _fleet()
    batch = IncidentPredictor().run(df, time_col="timestamp", entity_col="host")
    stream = IncidentPredictor()
    for _, row in df.sort_values(["timestamp"], kind="stable").iterrows():
        stream.update({"cpu": row["cpu"], "latency_ms": row["latency_ms"]}, row["timestamp"], entity=row["host"])
    assert _dicts(stream.incidents()) == _dicts(batch)
    caught = {i.entity for i in batch if i.raised_at >= pd.Timestamp("2024-01-01 15:00").timestamp()}
    assert {"web-1", "db-1"} <= caught


def test_save_and_resume_mid_stream(tmp_path):
    df = _fleet().sort_values("timestamp", kind="stable")
    whole = IncidentPredictor().run(df, time_col="timestamp", entity_col="host")
    pred = IncidentPredictor()
    half = len(df) // 2 + 7  # cut in the middle of things
    pred.run(df.iloc[:half], time_col="timestamp", entity_col="host")
    pred.save(tmp_path / "p.model")
    resumed = IncidentPredictor.load(tmp_path / "p.model")
    resumed.run(df.iloc[half:], time_col="timestamp", entity_col="host")
    assert _dicts(resumed.incidents()) == _dicts(whole)
    assert len({i.id for i in resumed.incidents()}) == len(resumed.incidents())


def test_incident_json_and_ticket():
    df = _fleet()
    inc = IncidentPredictor().run(df, time_col="timestamp", entity_col="host")[-1]
    d = json.loads(inc.to_json())
    assert {"id", "entity", "raised_at", "onset", "resolved_at", "status", "score", "severity", "metrics",
            "summary", "forecast"} <= set(d)
    assert pd.Timestamp(d["raised_at"]).tzinfo is not None
    assert all({"name", "contribution"} <= set(m) for m in d["metrics"])
    contributions = [m["contribution"] for m in d["metrics"]]
    assert contributions == sorted(contributions, reverse=True)
    ticket = inc.to_ticket()
    assert ticket["title"].startswith(inc.severity) and inc.entity in ticket["title"] and ticket["description"]


def test_ticket_goes_through_a_triage_model():
    from incidentml import TriageModel
    from incidentml.datasets import make_tickets

    tickets = make_tickets(200, seed=0)
    model = TriageModel(random_state=0).fit(tickets, text=["title", "description"], targets={"team": "team"})
    inc = IncidentPredictor().run(_fleet(), time_col="timestamp", entity_col="host")[-1]
    out = model.predict(pd.DataFrame([inc.to_ticket()]))
    assert out["team"].iloc[0] in set(tickets["team"]) and 0 <= out["team_confidence"].iloc[0] <= 1


def test_bad_input_is_clear():
    with pytest.raises(InvalidParameterError, match="'close_threshold' parameter of IncidentPredictor"):
        IncidentPredictor(open_threshold=0.3, close_threshold=0.6).update({"a": 1.0}, T0)
    with pytest.raises(InvalidParameterError, match="'min_points' parameter"):
        IncidentPredictor(min_points=6, window_points=5).update({"a": 1.0}, T0)
    with pytest.raises(DataError, match="needs a timestamp"):
        IncidentPredictor().update({"a": 1.0}, None)
    with pytest.raises(SchemaError, match="'ts'"):
        IncidentPredictor().run(_frame([{"a": 1.0}]), time_col="ts")
    with pytest.raises(InvalidParameterError, match="'limits' parameter"):
        IncidentPredictor(limits={"disk": "full"}).update({"disk": 1.0}, T0)


def test_cli_incidents(tmp_path, capsys):
    df = _fleet()
    df["timestamp"] = df["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    df.to_csv(tmp_path / "m.csv", index=False)
    code = main(["incidents", "--input", str(tmp_path / "m.csv"), "--output", str(tmp_path / "i.jsonl"),
                 "--entity-col", "host"])
    assert code == 0
    lines = [json.loads(x) for x in (tmp_path / "i.jsonl").read_text().splitlines()]
    assert lines and all(x["entity"] in {"web-1", "web-2", "db-1"} for x in lines)
    raised = [x["raised_at"] for x in lines]
    assert raised == sorted(raised)
    for args, message in ((["--entity-col", "nope"], "--entity-col: column 'nope'"),
                          (["--limit", "cpu=lots"], "--limit cpu=lots"),
                          (["--limit", "disk=95"], "metric 'disk' is not a numeric column")):
        code = main(["incidents", "--input", str(tmp_path / "m.csv"), "--output", str(tmp_path / "o.jsonl"), *args])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and message in err[-1]


def test_incident_record_roundtrip():
    inc = Incident(id="x-1", entity="x", raised_at=T0, onset=T0 - 60)
    assert inc.to_dict()["onset"] == pd.Timestamp(T0 - 60, unit="s", tz="UTC").isoformat()


def test_forecast_raises_before_the_breach():
    """A filling disk with a limit raises a forecast incident before the line crosses it."""
    from incidentml.datasets import make_scenario

    sc = make_scenario("disk_fill", seed=3)
    pred = IncidentPredictor(limits={"disk_used_pct": 95})
    incidents, events = pred.run(sc.frame, time_col="timestamp", return_events=True)
    first = next(e["incident"] for e in events if e["incident"].forecast)
    assert first.updated_at < sc.failure_at.timestamp()
    fc = first.forecast
    assert fc["metric"] == "disk_used_pct" and "crosses 95 in about" in fc["text"]
    assert abs(pd.Timestamp(fc["crosses_at"]).timestamp() - sc.failure_at.timestamp()) < 3600
    assert any(m["name"] == "disk_used_pct" for m in first.metrics)


def test_forget_resolved_keeps_open_and_latest():
    rows = ([{"a": 0.9}] + [{"a": 0.0}] * 80) * 3
    pred = IncidentPredictor(Passthrough(), quiet_points=3, cooldown_points=10)
    feed(pred, rows)
    assert len(pred.incidents()) == 3
    assert pred.forget_resolved() == 2
    (kept,) = pred.incidents()
    assert kept.id.endswith("00003")
    pred.update({"a": 0.9}, T0 + 60 * len(rows), entity="web-1")  # the predictor goes on as before
    assert [i.id for i in pred.incidents()] == ["web-1-00003", "web-1-00004"]


def test_cli_incidents_with_a_limit(tmp_path):
    from incidentml.datasets import make_scenario

    sc = make_scenario("disk_fill", seed=3)
    sc.frame.to_csv(tmp_path / "disk.csv", index=False)
    code = main(["incidents", "--input", str(tmp_path / "disk.csv"), "--output", str(tmp_path / "i.jsonl"),
                 "--limit", "disk_used_pct=95", "--horizon", "120"])
    assert code == 0
    lines = [json.loads(x) for x in (tmp_path / "i.jsonl").read_text().splitlines()]
    assert any(x["forecast"] for x in lines)
    assert any(pd.Timestamp(x["raised_at"]).tz_convert(None) < sc.failure_at for x in lines)


def test_parallel_run_equals_sequential_and_resumes():
    """Entities in parallel processes give the same incidents, also when continuing a started run."""
    df = _fleet().sort_values("timestamp", kind="stable")
    one = IncidentPredictor().run(df, time_col="timestamp", entity_col="host")
    half = len(df) // 2
    par = IncidentPredictor()
    par.run(df.iloc[:half], time_col="timestamp", entity_col="host", n_jobs=2)
    par.run(df.iloc[half:], time_col="timestamp", entity_col="host", n_jobs=2)
    assert _dicts(par.incidents()) == _dicts(one)
    assert len({i.id for i in par.incidents()}) == len(par.incidents())


# ------------------------------------------------------------------------------ combine="corroborated"
def _host(n, k, at=None, spike=None):
    """``n`` points of ``k`` quiet metrics; at the points of ``at``, the metrics of ``spike`` score as given."""
    rows = [{f"m{j}": 0.0 for j in range(k)} for _ in range(n)]
    for i in at or []:
        rows[i].update(spike)
    return rows


def test_combine_scores_corrects_for_the_number_of_metrics():
    """One metric keeps its score; among k metrics the lone score drops by log10 k, the pair's by log10 C(k,2)."""
    from incidentml.incidents import combine_scores

    assert combine_scores(0.55, None, 1) == (0.55, 0.0)
    lone, pair = combine_scores(0.55, 0.55, 38)
    L = 10 * 0.55 / 0.45
    assert lone == pytest.approx((L - np.log10(38)) / (L - np.log10(38) + 10))
    assert pair == pytest.approx((L - np.log10(703)) / (L - np.log10(703) + 10))
    assert combine_scores(1.0, 1.0, 38) == (1.0, 1.0)
    assert combine_scores(0.9, 0.0, 2)[1] == 0.0


def test_one_metric_score_opens_alone_but_not_among_38():
    """The same score opens an incident on a one-metric entity, but not as one of 38 metrics."""
    lone = {"m0": 0.52}
    one = IncidentPredictor(Passthrough()).run(_frame(_host(40, 1, at=[20], spike=lone)))
    many = IncidentPredictor(Passthrough()).run(_frame(_host(40, 38, at=[20], spike=lone)))
    old = IncidentPredictor(Passthrough(), combine="max").run(_frame(_host(40, 38, at=[20], spike=lone)))
    assert len(one) == 1 and one[0].raised_at == T0 + 60 * 20
    assert many == []
    assert len(old) == 1  # combine="max": the 38-metric host opens on it too


def _noisy_host(days=3, k=38):
    """A host whose single metrics jump to 0.9 by chance every four hours for the first two days."""
    rows = _host(days * 1440, k)
    for i in range(100, 2 * 1440, 240):
        rows[i].update({f"m{(i // 240) % k}": 0.9})
    return rows


DAY3 = 2 * 1440  # first point of the third day


def test_a_strong_multi_metric_fault_still_opens():
    """Several metrics moving together open an incident even where lone metrics no longer may; the first leads."""
    for rows in (_host(3 * 1440, 38), _noisy_host()):
        rows[DAY3 + 30].update({"m3": 0.3})  # the run-up: the leader moves first
        for i in range(DAY3 + 31, DAY3 + 40):
            rows[i].update({"m3": 0.8, "m7": 0.75, "m11": 0.7})
        incs = [i for i in IncidentPredictor(Passthrough()).run(_frame(rows)) if i.raised_at >= T0 + 60 * DAY3]
        (inc,) = incs
        assert inc.raised_at == T0 + 60 * (DAY3 + 31)
        assert inc.metrics[0]["name"] == "m3"
        assert {m["name"] for m in inc.metrics[:3]} == {"m3", "m7", "m11"}


def test_lone_metric_level_is_learnt_from_the_entity_history():
    """On a host whose single metrics keep firing, lone metrics stop opening incidents; on a quiet one they still do."""
    noisy, quiet = _noisy_host(), _host(3 * 1440, 38)
    for rows in (noisy, quiet):
        rows[DAY3 + 500].update({"m5": 0.9})  # the same lone jump on day three
    late = T0 + 60 * DAY3
    on_noisy = [i for i in IncidentPredictor(Passthrough()).run(_frame(noisy)) if i.raised_at >= late]
    on_quiet = [i for i in IncidentPredictor(Passthrough()).run(_frame(quiet)) if i.raised_at >= late]
    assert on_noisy == []
    assert [i.raised_at for i in on_quiet] == [T0 + 60 * (DAY3 + 500)]
    allowed = IncidentPredictor(Passthrough(), lone_per_day=10.0).run(_frame(noisy))
    assert any(i.raised_at >= late for i in allowed)


def test_saturated_lone_scores_are_learnt_apart():
    """Where lone metrics keep saturating (new extremes), a lone 1.0 no longer opens, but a graded 0.9 does."""
    def host(jump):
        rows = _host(3 * 1440, 38)
        for i in range(100, 2 * 1440, 240):
            rows[i].update({f"m{(i // 240) % 38}": 1.0})
        rows[DAY3 + 500].update({"m5": jump})
        return rows

    late = T0 + 60 * DAY3
    saturated = [i for i in IncidentPredictor(Passthrough()).run(_frame(host(1.0))) if i.raised_at >= late]
    graded = [i for i in IncidentPredictor(Passthrough()).run(_frame(host(0.9))) if i.raised_at >= late]
    assert saturated == []
    assert [i.raised_at for i in graded] == [T0 + 60 * (DAY3 + 500)]


def test_pair_may_peak_a_few_points_apart():
    """Where only pairs open, two metrics firing within window_points points are a pair; further apart, not."""
    def rows(gap):
        r = _noisy_host()
        r[DAY3 + 30].update({"m1": 0.75})
        r[DAY3 + 30 + gap].update({"m2": 0.75})
        return r

    late = T0 + 60 * DAY3
    near = [i for i in IncidentPredictor(Passthrough()).run(_frame(rows(3))) if i.raised_at >= late]
    far = [i for i in IncidentPredictor(Passthrough()).run(_frame(rows(8))) if i.raised_at >= late]
    assert [i.raised_at for i in near] == [T0 + 60 * (DAY3 + 33)]
    assert far == []


def test_corroborated_batch_equals_stream_on_a_wide_host():
    """run() and update() give the same incidents with the default combination on a many-metric host."""
    rng = np.random.default_rng(3)
    n, k = 600, 12
    df = pd.DataFrame(rng.normal(0, 1, (n, k)), columns=[f"m{j}" for j in range(k)])
    df.iloc[400:430, :3] += 6
    df.iloc[200, 5] += 9
    df.insert(0, "timestamp", pd.date_range("2024-01-01", periods=n, freq="min"))
    batch = IncidentPredictor().run(df, time_col="timestamp")
    stream = IncidentPredictor()
    for row in df.to_dict("records"):
        t = row.pop("timestamp")
        stream.update(row, t)
    assert _dicts(stream.incidents()) == _dicts(batch)
    assert any(pd.Timestamp("2024-01-01 06:30").timestamp() <= i.raised_at
               <= pd.Timestamp("2024-01-01 07:10").timestamp() for i in batch)


def test_cli_incidents_combine_option(tmp_path):
    """On a wide host of heavy-tailed noise, ``--combine max`` raises more incidents than the default."""
    rng = np.random.default_rng(0)
    n = 3 * 1440
    df = pd.DataFrame(rng.standard_t(3, (n, 38)), columns=[f"m{j}" for j in range(38)])
    df.insert(0, "timestamp", pd.date_range("2024-01-01", periods=n, freq="min").strftime("%Y-%m-%dT%H:%M:%S"))
    df.to_csv(tmp_path / "m.csv", index=False)
    lines = {}
    for name, extra in (("default", []), ("corroborated", ["--combine", "corroborated"]),
                        ("max", ["--combine", "max"])):
        out = tmp_path / f"{name}.jsonl"
        assert main(["incidents", "--input", str(tmp_path / "m.csv"), "--output", str(out), *extra]) == 0
        lines[name] = out.read_text().splitlines()
    assert lines["default"] == lines["corroborated"]
    assert len(lines["max"]) > len(lines["corroborated"])


def test_combine_is_validated():
    with pytest.raises(ValueError, match="combine"):
        IncidentPredictor(combine="mean").run(_frame(_host(5, 2)))


def test_corroborated_short_history_still_opens_on_a_clear_fault():
    """After only a day and a half of history, one earlier alert does not silence the host's metrics.

    Three metrics, two days at one-minute steps: an early new extreme is raised in the history, then a
    12-sigma shift of one metric followed by an 8-sigma shift of another must still open an incident
    (the lone-metric budget always tolerates one chance point).
    """
    n, k = 3000, 3
    rng = np.random.default_rng(0)
    X = 50 + rng.normal(0, 1, (n, k))
    X[2000:2060, 0] += 12
    X[2010:2060, 1] += 8
    frame = pd.DataFrame(X, columns=["m1", "m2", "m3"])
    frame.insert(0, "timestamp", pd.date_range("2024-01-01", periods=n, freq="1min"))
    incidents = IncidentPredictor().run(frame, time_col="timestamp")
    fault = pd.Timestamp("2024-01-02 09:20").timestamp()
    caught = [i for i in incidents if fault - 1800 <= i.raised_at <= fault + 3600]
    assert caught, [pd.Timestamp(i.raised_at, unit="s") for i in incidents]
    assert caught[0].metrics[0]["name"] == "m1"


def test_update_takes_the_point_first_and_warns_on_the_old_order():
    """update(x, t) is the order of the detectors; the 0.1 order update(t, x) still works with a FutureWarning."""
    new, old = IncidentPredictor(), IncidentPredictor()
    rng = np.random.default_rng(3)
    for i in range(300):
        x = {"cpu": float(rng.normal(50, 1)) + (40.0 if i > 280 else 0.0)}
        a = new.update(x, T0 + 60 * i)
        with pytest.warns(FutureWarning, match="point first"):
            b = old.update(T0 + 60 * i, x)
        assert [e.kind for e in a] == [e.kind for e in b]
    assert [i.id for i in new.incidents()] == [i.id for i in old.incidents()]


def test_events_are_typed_and_keep_the_dict_keys():
    """Events are IncidentEvent records whose kind is an EventKind; ev['event'] and ev['incident'] still work."""
    from incidentml.incidents import EventKind, IncidentEvent

    pred = IncidentPredictor()
    events = []
    for i in range(400):
        events += pred.update({"cpu": 50.0 + (0.01 * (i % 7)) + (60.0 if 300 <= i < 330 else 0.0)}, T0 + 60 * i)
    assert events and all(isinstance(e, IncidentEvent) for e in events)
    assert events[0].kind is EventKind.RAISED and events[0]["event"] == "raised"
    assert events[0]["incident"] is events[0].incident
    with pytest.raises(KeyError, match="'event' and 'incident'"):
        events[0]["kind"]


def test_severity_rules_are_named_constants():
    """The grading uses SEVERITY_RULES: each cut moves the level as documented."""
    from incidentml.incidents import SEVERITY_RULES, SeverityRules

    assert SEVERITY_RULES.grade(score=0.95, n_metrics=3, duration=7200, eta=600) == "P1"
    assert SEVERITY_RULES.grade(score=0.95, n_metrics=1, duration=60, eta=None) == "P3"
    assert SEVERITY_RULES.grade(score=0.2, n_metrics=1, duration=60, eta=None) == "P4"
    strict = SeverityRules(p3_points=3)
    assert strict.grade(score=0.95, n_metrics=1, duration=60, eta=None) == "P4"


def test_breached_forecast_keeps_the_first_breach_time():
    """After the limit is crossed, later updates keep crosses_at at the first breach: lead_time is the real warning."""
    from incidentml.datasets import make_scenario

    sc = make_scenario("disk_fill", seed=3)
    (inc,) = IncidentPredictor(limits=sc.limit).run(sc.frame, time_col="timestamp")
    assert inc.forecast["status"] == "breached"
    assert abs(inc.lead_time - (sc.failure_at.timestamp() - inc.raised_at)) < 600
    assert inc.forecast["crosses_at_seconds"] < inc.updated_at
