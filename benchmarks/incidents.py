"""Incident benchmark: predicted incidents on NAB and on generated scenarios, at the library's defaults.

Implements ``shared/docs/evaluation.md`` section 2 (incident-level metrics).

**NAB.** Each of the 58 files is one entity with one metric. Incidents are NAB's labelled anomalies:
onset = the labelled point, end = the end of its window, early margin = the window's first half, so an
incident is caught by an alert raised between the window's start and its end. Alerts are the
``raised`` and ``reopened`` events of :class:`~incidentml.IncidentPredictor` (a run of flagged points
is one alert). Reported for incidentml's default settings and for a plain rolling z-score detector
(mean and standard deviation of the previous 100 points, score ``min(|z| / 8, 1)``, so the default
opening level 0.5 means ``|z| >= 4``) fed through the *same* debouncing. Also: incident recall at a
false-alarm budget of 0.5, 1 and 2 per series-day, from a sweep of the opening level (the sweep
reads the labels, so those numbers describe the trade-off; they are not settings).

**Scenarios.** Generated streams with a known fault (disk fill, memory leak, latency creep, a
multi-metric fault led by one metric) and fault-free streams: lead time before the failure,
time-to-breach forecast error, whether the leading metric is ranked first, false alarms.

Run: ``python benchmarks/incidents.py [--json PATH] [--shared DIR] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine_info, print_table, write_json  # noqa: E402

from incidentml.anomaly import AnomalyDetector, make_detector  # noqa: E402
from incidentml.anomaly.base import as_point  # noqa: E402
from incidentml.incidents import IncidentPredictor  # noqa: E402

BUDGETS = (0.5, 1.0, 2.0)
SETTINGS: dict[str, Any] = {}  # IncidentPredictor at its defaults
SWEEP = (0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)
Z_SWEEP = (2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 50.0)


class Scores(AnomalyDetector):
    """Replays precomputed per-metric scores (the metric values *are* the scores)."""

    def learn_one(self, x: Any, t: Any = None) -> None:
        return None

    def score_one(self, x: Any, t: Any = None) -> float:
        p = [v for v in as_point(x).values() if v == v]
        return max(p) if p else 0.0

    def contributions_one(self, x: Any, t: Any = None) -> dict[str, float]:
        return {k: v for k, v in as_point(x).items() if v == v}


def rolling_z(values: np.ndarray, window: int = 100) -> np.ndarray:
    """Baseline: |z| against the mean and standard deviation of the previous ``window`` points."""
    s = pd.Series(values)
    mean = s.rolling(window, min_periods=window).mean().shift(1)
    std = s.rolling(window, min_periods=window).std().shift(1)
    return ((s - mean).abs() / std.replace(0, np.nan)).fillna(0.0).to_numpy()


def z_scores(z: np.ndarray, z_open: float = 4.0) -> np.ndarray:
    """|z| as a score for the same debouncing: opens (0.5) at ``z_open``, closes (0.2) below 0.4 ``z_open``."""
    return np.minimum(z / (2.0 * z_open), 1.0)


def nab_incidents(shared: Path) -> list[dict[str, Any]]:
    from incidentml.evaluation import load_nab_corpus

    nab = shared / "datasets" / "nab"
    corpus = load_nab_corpus(nab / "data", nab / "labels" / "combined_windows.json")
    labels = json.loads((nab / "labels" / "combined_labels.json").read_text())
    files = []
    for key in corpus:
        f = corpus[key]
        secs = f.timestamps.astype("datetime64[ns]").astype(np.int64) / 1e9
        incidents = []
        for (a, b) in f.windows:
            inside = [pd.Timestamp(x).timestamp() for x in labels.get(key, [])
                      if secs[a] <= pd.Timestamp(x).timestamp() <= secs[b]]
            onset = inside[0] if inside else (secs[a] + secs[b]) / 2
            incidents.append({"start": float(secs[a]), "onset": float(onset), "end": float(secs[b])})
        files.append({"key": key, "times": secs, "values": f.values, "incidents": incidents,
                      "days": float(secs[-1] - secs[0]) / 86400.0})
    return files


def alerts_of(times: np.ndarray, scores: np.ndarray, **settings: Any) -> list[float]:
    pred = IncidentPredictor(Scores(), **settings)
    frame = pd.DataFrame({"timestamp": times, "value": scores})
    _, events = pred.run(frame, time_col="timestamp", return_events=True)
    return [e["incident"].raised_at if e["event"] == "raised" else e["incident"].updated_at
            for e in events if e["event"] in ("raised", "reopened")]


def evaluate(files: list[dict[str, Any]], alerts: dict[str, list[float]]) -> dict[str, Any]:
    caught, total, false_alarms, good_alerts, n_alerts, leads = 0, 0, 0, 0, 0, []
    days = sum(f["days"] for f in files)
    for f in files:
        a = sorted(alerts[f["key"]])
        n_alerts += len(a)
        used = set()
        for inc in f["incidents"]:
            total += 1
            hits = [i for i, t in enumerate(a) if inc["start"] <= t <= inc["end"]]
            if hits:
                caught += 1
                used.update(hits)
                leads.append((inc["onset"] - a[hits[0]]) / 60.0)
        good_alerts += len(used)
        false_alarms += len(a) - len(used)
    q = np.percentile(leads, [25, 50, 75]).tolist() if leads else [None] * 3
    return {"incidents": total, "caught": caught, "incident_recall": caught / total if total else None,
            "alerts": n_alerts, "alert_precision": good_alerts / n_alerts if n_alerts else None,
            "false_alarms": false_alarms, "false_alarms_per_series_day": false_alarms / days,
            "lead_minutes_p25": q[0], "lead_minutes_median": q[1], "lead_minutes_p75": q[2],
            "share_caught_before_onset": (sum(1 for x in leads if x > 0) / len(leads)) if leads else None}


def _detector_scores(key_values_times: tuple[str, np.ndarray, np.ndarray]) -> tuple[str, np.ndarray]:
    key, values, times = key_values_times
    return key, make_detector("default").score_many(values, t=times)


def run_nab(shared: Path, quick: bool) -> dict[str, Any]:
    from joblib import Parallel, delayed

    files = nab_incidents(shared)
    if quick:
        files = files[::4]
    t0 = time.perf_counter()
    ours = dict(Parallel(n_jobs=-1)(delayed(_detector_scores)((f["key"], f["values"], f["times"])) for f in files))
    zs = {f["key"]: rolling_z(f["values"]) for f in files}
    detect_s = time.perf_counter() - t0
    out: dict[str, Any] = {"files": len(files), "series_days": sum(f["days"] for f in files),
                           "detector_seconds": detect_s}
    for name in ("incidentml default", "rolling z-score + same debouncing"):
        if name == "incidentml default":
            default = {f["key"]: alerts_of(f["times"], ours[f["key"]]) for f in files}
            variants = [({"open_threshold": thr}, {f["key"]: alerts_of(f["times"], ours[f["key"]], open_threshold=thr,
                                                                        close_threshold=min(0.2, thr * 0.8))
                                                   for f in files}) for thr in SWEEP]
        else:
            default = {f["key"]: alerts_of(f["times"], z_scores(zs[f["key"]])) for f in files}
            variants = [({"z_open": z}, {f["key"]: alerts_of(f["times"], z_scores(zs[f["key"]], z)) for f in files})
                        for z in Z_SWEEP]
        sweep = [{**setting, **evaluate(files, alerts)} for setting, alerts in variants]
        at_budget = {}
        for b in BUDGETS:
            ok = [s for s in sweep if s["false_alarms_per_series_day"] <= b]
            at_budget[str(b)] = max((s["incident_recall"] for s in ok), default=0.0)
        out[name] = {"default": evaluate(files, default), "sweep": sweep, "recall_at_false_alarm_budget": at_budget}
    return out


def run_scenarios(quick: bool) -> dict[str, Any]:
    from incidentml.incidents._scenarios import make_scenarios

    scenarios = make_scenarios(n_per_kind=4 if quick else 10, seed=0)
    rows: dict[str, list[dict[str, Any]]] = {}
    for sc in scenarios:
        metrics = [c for c in sc.frame.columns if c != "timestamp"]
        pred = IncidentPredictor(limits=dict(sc.limit) or None, **SETTINGS)
        incidents, events = pred.run(sc.frame, time_col="timestamp", metrics=metrics, return_events=True)
        rec: dict[str, Any] = {"seed_incidents": len(incidents)}
        if sc.failure_at is None:
            rec["false_alarms"] = len(incidents)
            days = (sc.frame["timestamp"].iloc[-1] - sc.frame["timestamp"].iloc[0]) / pd.Timedelta("1D")
            rec["days"] = days
        else:
            fail = pd.Timestamp(sc.failure_at).timestamp()
            onset = pd.Timestamp(sc.onset).timestamp()
            before = [i for i in incidents if onset - 3600 <= i.raised_at <= fail]
            rec["caught_before_failure"] = bool(before)
            rec["false_alarms"] = sum(1 for i in incidents if i.raised_at < onset - 3600)
            if before:
                first = before[0]
                rec["lead_minutes"] = (fail - first.raised_at) / 60.0
                # the first breach forecast issued before the failure, as it was issued
                fc = next((e["incident"].forecast for e in events if e["incident"].forecast
                           and e["incident"].forecast.get("status") == "trending" and e["incident"].updated_at < fail),
                          None)
                if fc and fc.get("crosses_at"):
                    rec["forecast_error_minutes"] = abs(pd.Timestamp(fc["crosses_at"]).timestamp() - fail) / 60.0
                    rec["forecast_lead_minutes"] = (fail - pd.Timestamp(fc["as_of"]).timestamp()) / 60.0
                if sc.leading_metric:
                    rec["leader_ranked_first"] = bool(first.metrics) and first.metrics[0]["name"] == sc.leading_metric
        rows.setdefault(sc.kind, []).append(rec)
    summary = {}
    for kind, recs in rows.items():
        s: dict[str, Any] = {"scenarios": len(recs)}
        faults = [r for r in recs if "caught_before_failure" in r]
        if faults:
            s["caught_before_failure"] = sum(r["caught_before_failure"] for r in faults) / len(faults)
            leads = [r["lead_minutes"] for r in faults if "lead_minutes" in r]
            s["lead_minutes_median"] = statistics.median(leads) if leads else None
            errs = [r["forecast_error_minutes"] for r in faults if "forecast_error_minutes" in r]
            s["forecast_error_minutes_median"] = statistics.median(errs) if errs else None
            fl = [r["forecast_lead_minutes"] for r in faults if "forecast_lead_minutes" in r]
            s["forecast_lead_minutes_median"] = statistics.median(fl) if fl else None
            ranked = [r["leader_ranked_first"] for r in faults if "leader_ranked_first" in r]
            if ranked:
                s["leader_ranked_first"] = sum(ranked) / len(ranked)
        s["false_alarms"] = sum(r["false_alarms"] for r in recs)
        summary[kind] = s
    return {"by_kind": summary, "runs": rows}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--quick", action="store_true", help="a quarter of NAB and fewer scenarios")
    args = ap.parse_args(argv)
    result: dict[str, Any] = {"benchmark": "incidents", "machine": machine_info()}
    if (args.shared / "datasets" / "nab" / "labels").exists():
        nab = run_nab(args.shared, args.quick)
        result["nab"] = nab
        rows = []
        for name in ("incidentml default", "rolling z-score + same debouncing"):
            d = nab[name]["default"]
            rows.append({"system": name, "recall": d["incident_recall"], "precision": d["alert_precision"],
                         "FA/series-day": d["false_alarms_per_series_day"], "lead_median_min": d["lead_minutes_median"],
                         "caught_before_onset": d["share_caught_before_onset"],
                         **{f"recall@FA{b}": nab[name]["recall_at_false_alarm_budget"][str(b)] for b in BUDGETS}})
        print(f"NAB: {nab['files']} series, {nab['series_days']:.0f} series-days; default settings, then recall at "
              "a false-alarm budget per series-day")
        print_table(rows, list(rows[0]))
        ours = nab["incidentml default"]["default"]
        base_sweep = nab["rolling z-score + same debouncing"]["sweep"]
        fair = [s for s in base_sweep if s["false_alarms_per_series_day"] <= ours["false_alarms_per_series_day"]]
        base_recall = max((s["incident_recall"] for s in fair), default=0.0)
        nab["baseline_recall_at_our_false_alarm_rate"] = base_recall
        print(f"baseline's best recall at no more false alarms than ours ({ours['false_alarms_per_series_day']:.3f}"
              f"/series-day): {base_recall:.3f}; ours {ours['incident_recall']:.3f}")
        result["goals"] = {
            "recall >= 2x baseline at no more false alarms": bool(ours["incident_recall"] >= 2 * base_recall),
            "half of caught NAB incidents caught before the labelled point": bool(
                (ours["share_caught_before_onset"] or 0) >= 0.5),
        }
    else:
        print(f"NAB data not found under {args.shared}; scenarios only", file=sys.stderr)
    try:
        sc = run_scenarios(args.quick)
    except ImportError as exc:  # pragma: no cover - the scenario generator is part of the package
        print(f"scenarios unavailable: {exc}", file=sys.stderr)
    else:
        result["scenarios"] = sc
        print("\nGenerated scenarios")
        kinds = sc["by_kind"]
        cols = ["kind", "scenarios", "caught_before_failure", "lead_minutes_median", "forecast_lead_minutes_median",
                "forecast_error_minutes_median", "leader_ranked_first", "false_alarms"]
        print_table([{"kind": k, **v} for k, v in kinds.items()], cols)
        if "multi_metric" in kinds:
            result.setdefault("goals", {})["leading metric ranked first in >= 80% of multi-metric scenarios"] = bool(
                (kinds["multi_metric"].get("leader_ranked_first") or 0) >= 0.8)
    if "goals" in result:
        print("goals:", ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in result["goals"].items()))
    write_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
