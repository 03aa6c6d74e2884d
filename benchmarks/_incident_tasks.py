"""Incident tasks shared by ``incidents.py`` and ``generalisation.py``: SMD-dev, NAB incidents, scenarios.

Each ``run_*`` function returns a dict with, for incidentml at its default settings (``IncidentPredictor()``
fed through ``run``, the route the ``incidentml incidents`` command takes) and for the task's baseline in
the same run, the incident-level metrics of ``shared/docs/evaluation.md`` section 2, plus ``goals`` (name ->
``{"value": ..., "met": bool}``). Not a benchmark itself (``make bench`` skips ``_*.py``).

Definitions used here (evaluation.md §2 and §5):

- an **alert** is one incident of :class:`~incidentml.IncidentPredictor` (its ``raised_at``; a re-opened
  incident keeps its first ``raised_at``), which is what the command line writes; for the baseline, the first
  point of a merged run of flagged points;
- an incident ``[onset, end]`` is **caught** if an alert has ``onset - margin <= raised_at <= end``;
  lead = ``onset - raised_at`` of the earliest such alert (minutes, positive = early);
- a **false alarm** is a scored alert that catches no incident; false alarms per series-day.
"""

from __future__ import annotations

import gzip
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from incidentml.incidents import IncidentPredictor

MINUTE = 60.0
DAY = 86400.0
START = pd.Timestamp("2024-01-01").timestamp()  # SMD has no timestamps: one row per minute from here
SMD_MARGIN = 60 * MINUTE
BUDGETS = (0.5, 1.0, 2.0)


# ------------------------------------------------------------------------------------------------ scoring
def _per_incident(incidents: list[dict[str, Any]], alerts: list[Any], since: float) -> dict[str, Any]:
    """Which incidents the alerts catch, and the lead of each catch.

    ``incidents`` carry ``onset``, ``end``, ``margin`` (seconds) and ``series``; ``alerts`` are
    ``(series, raised_at)`` pairs (or bare times for one series); alerts before ``since`` are not scored.
    An alert catching any incident is a good alert; ``first_alert`` indexes the sorted scored alerts.
    """
    a = sorted(x for x in alerts if (x[1] if isinstance(x, tuple) else x) >= since)
    used: set[int] = set()
    rows = []
    for inc in incidents:
        lo, hi = inc["onset"] - inc["margin"], inc["end"]
        hits = [i for i, x in enumerate(a) if (x[0] == inc.get("series") if isinstance(x, tuple) else True)
                and lo <= (x[1] if isinstance(x, tuple) else x) <= hi]
        used.update(hits)
        first = a[hits[0]] if hits else None
        t = None if first is None else (first[1] if isinstance(first, tuple) else first)
        rows.append({"caught": bool(hits), "lead_minutes": None if t is None else (inc["onset"] - t) / MINUTE,
                     "first_alert": hits[0] if hits else None})
    return {"incidents": rows, "alerts": len(a), "good_alerts": len(used)}


def summarise(per: dict[str, Any], days: float) -> dict[str, Any]:
    """Recall, precision, false alarms per series-day and lead times from :func:`_per_incident`."""
    rows = per["incidents"]
    leads = [r["lead_minutes"] for r in rows if r["caught"]]
    q = np.percentile(leads, [25, 50, 75]).tolist() if leads else [None] * 3
    caught, total, n_alerts = len(leads), len(rows), per["alerts"]
    fa = n_alerts - per["good_alerts"]
    out = {"incidents": total, "caught": caught, "incident_recall": caught / total if total else None,
           "alerts": n_alerts, "alert_precision": per["good_alerts"] / n_alerts if n_alerts else None,
           "false_alarms": fa, "series_days": days, "false_alarms_per_series_day": fa / days if days else None,
           "lead_minutes_p25": q[0], "lead_minutes_median": q[1], "lead_minutes_p75": q[2],
           "share_caught_before_onset": (sum(1 for x in leads if x > 0) / len(leads)) if leads else None}
    return out


def merged_alerts(times: np.ndarray, flagged: np.ndarray, gap: float = 30 * MINUTE) -> list[float]:
    """Alerts from flagged points: points less than ``gap`` apart are one alert, at the run's first point."""
    t = np.asarray(times, dtype=float)[np.asarray(flagged, dtype=bool)]
    if not len(t):
        return []
    starts = np.concatenate([[True], np.diff(t) >= gap])
    return t[starts].tolist()


def zscore_baseline(values: np.ndarray, n_history: int, window: int, quantile: float = 0.999) -> np.ndarray:
    """evaluation.md §5 baseline score and flags: max over metrics of |z| against the previous ``window`` points.

    ``values`` is (n, k). Mean and standard deviation over ``window`` points, shifted by one point (the
    point itself is not in its own window); a metric whose window has zero spread gives no z (it is
    skipped in the maximum). Flags where the maximum exceeds its ``quantile`` over the history part (the
    first ``n_history`` rows). Returns the flags (bool, length n).
    """
    frame = pd.DataFrame(np.asarray(values, dtype=float))
    roll = frame.rolling(window, min_periods=window)
    mean, std = roll.mean().shift(1), roll.std().shift(1)
    z = ((frame - mean).abs() / std.where(std > 0)).to_numpy()
    zmax = np.nanmax(np.where(np.isnan(z), -np.inf, z), axis=1)
    zmax[~np.isfinite(zmax)] = np.nan
    hist = zmax[:n_history]
    hist = hist[~np.isnan(hist)]
    level = np.quantile(hist, quantile) if len(hist) else np.inf
    return np.nan_to_num(zmax, nan=-np.inf) > level


def predictor_incidents(frame: pd.DataFrame, metrics: list[str], **settings: Any) -> list[Any]:
    """incidentml through the command line's route: ``IncidentPredictor(**settings).run(frame, ...)``."""
    return IncidentPredictor(**settings).run(frame, time_col="timestamp", metrics=metrics)


def goal(value: Any, ok: bool) -> dict[str, Any]:
    return {"value": value, "met": bool(ok)}


# ------------------------------------------------------------------------------------------------ SMD-dev
def _read_matrix(path: Path) -> np.ndarray:
    with gzip.open(path, "rt") as fh:
        return pd.read_csv(fh, header=None, dtype=np.float64).to_numpy()


def load_smd(shared: Path) -> list[dict[str, Any]]:
    """Every machine of ``shared/datasets/smd-dev``: train and test values, incidents and fault metrics."""
    root = Path(shared) / "datasets" / "smd-dev"
    machines = []
    for path in sorted((root / "test").glob("machine-*.txt.gz")):
        name = path.name[: -len(".txt.gz")]
        train = _read_matrix(root / "train" / path.name)
        test = _read_matrix(path)
        label = np.loadtxt(root / "test_label" / f"{name}.txt").astype(int)
        faults: list[tuple[int, int, list[int]]] = []
        for line in (root / "interpretation_label" / f"{name}.txt").read_text().split():
            span, dims = line.split(":")
            a, b = (int(v) for v in span.split("-"))
            faults.append((a, b, [int(d) for d in dims.split(",") if d]))  # rows [a, b), metrics 1-based
        edges = np.diff(np.concatenate([[0], label, [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1  # inclusive ends
        incidents = []
        for s, e in zip(starts, ends):
            fm = sorted({d for (a, b, dims) in faults if a <= e and b - 1 >= s for d in dims})
            incidents.append({"start_row": int(s), "end_row": int(e), "faults": fm})
        machines.append({"name": name, "train": train, "test": test, "incidents": incidents})
    return machines


def smd_frame(m: dict[str, Any]) -> tuple[pd.DataFrame, list[str], float]:
    """Train then test as one frame, one row per minute; metric ``j`` (1-based) is column ``m{j}``."""
    values = np.vstack([m["train"], m["test"]])
    names = [f"m{j + 1}" for j in range(values.shape[1])]
    frame = pd.DataFrame(values, columns=names)
    frame.insert(0, "timestamp", pd.to_datetime(START + MINUTE * np.arange(len(values)), unit="s"))
    test_start = START + MINUTE * len(m["train"])
    return frame, names, test_start


def _smd_truth(m: dict[str, Any], test_start: float, series: str) -> list[dict[str, Any]]:
    return [{"series": series, "onset": test_start + MINUTE * inc["start_row"],
             "end": test_start + MINUTE * inc["end_row"], "margin": SMD_MARGIN, "faults": inc["faults"]}
            for inc in m["incidents"]]


def _root_cause_hits(truth: list[dict[str, Any]], per: dict[str, Any], ranked: list[list[str]]) -> list[bool]:
    hits = []
    for inc, row in zip(truth, per["incidents"]):
        if row["caught"] and inc["faults"]:
            top = ranked[row["first_alert"]][:3]
            hits.append(any(f"m{d}" in top for d in inc["faults"]))
    return hits


def run_smd(shared: Path, log: Callable[..., Any] = print, *, settings: dict[str, Any] | None = None,
            machines: list[dict[str, Any]] | None = None, sweep: bool = True) -> dict[str, Any]:
    """SMD-dev (evaluation.md §5): incidentml default vs the rolling z-score baseline, same run.

    Each machine is one entity and one series: its train half is fed first as history (no labels),
    then its test half; only alerts raised in the test half are scored, and series-days count the test
    half. Root-cause hit: one of the incident's fault metrics among the first 3 ranked metrics of the
    incident whose alert caught it (its final state, as the command line writes it). ``sweep`` adds, for
    context only, incidentml's recall at the baseline's false-alarm rate from a sweep of the opening level
    (the sweep reads the labels: it describes the trade-off and sets nothing).
    """
    t0 = time.perf_counter()
    machines = load_smd(shared) if machines is None else machines
    log(f"SMD-dev: {len(machines)} machines loaded in {time.perf_counter() - t0:.1f} s")
    settings = dict(settings or {})
    truth: list[dict[str, Any]] = []
    ours: list[tuple[str, float]] = []
    ours_ranked: list[tuple[tuple[str, float], list[str]]] = []
    base: list[tuple[str, float]] = []
    days = 0.0
    t_ours = t_base = 0.0
    runs: list[tuple[pd.DataFrame, list[str], float, str]] = []
    for m in machines:
        frame, names, test_start = smd_frame(m)
        runs.append((frame, names, test_start, m["name"]))
        truth += _smd_truth(m, test_start, m["name"])
        days += len(m["test"]) / 1440.0
        t1 = time.perf_counter()
        incs = predictor_incidents(frame, names, **settings)
        t_ours += time.perf_counter() - t1
        for inc in incs:
            if inc.raised_at >= test_start:
                key = (m["name"], inc.raised_at)
                ours.append(key)
                ours_ranked.append((key, [x["name"] for x in inc.metrics]))
        t1 = time.perf_counter()
        times = START + MINUTE * np.arange(len(frame))
        flags = zscore_baseline(frame[names].to_numpy(), len(m["train"]), 1440)
        base += [(m["name"], t) for t in merged_alerts(times, flags) if t >= test_start]
        t_base += time.perf_counter() - t1
        log(f"  {m['name']}: {sum(1 for a in ours if a[0] == m['name'])} incidentml alerts, "
            f"{sum(1 for a in base if a[0] == m['name'])} baseline alerts")
    out: dict[str, Any] = {"machines": len(machines), "series_days": days}
    for name, alerts, secs in (("incidentml default", ours, t_ours), ("baseline", base, t_base)):
        per = _per_incident(truth, alerts, -np.inf)
        res = summarise(per, days)
        if name == "incidentml default":
            order = sorted(range(len(ours_ranked)), key=lambda i: ours_ranked[i][0])
            ranked = [ours_ranked[i][1] for i in order]
            rc = _root_cause_hits(truth, per, ranked)
            res["root_cause_top3"] = sum(rc) / len(rc) if rc else None
        res["seconds"] = secs
        out[name] = res
    if sweep:
        out["incidentml sweep (context; reads labels)"] = _smd_sweep(runs, truth, days,
                                                                    out["baseline"]["false_alarms_per_series_day"])
    o, b = out["incidentml default"], out["baseline"]
    out["goals"] = {
        "recall >= 1.5x baseline": goal(o["incident_recall"] / max(b["incident_recall"], 1e-9),
                                        o["incident_recall"] >= 1.5 * b["incident_recall"]),
        "false alarms per series-day <= baseline": goal(o["false_alarms_per_series_day"],
                                                        o["false_alarms_per_series_day"]
                                                        <= b["false_alarms_per_series_day"]),
        ">= 40% of caught incidents before onset": goal(o["share_caught_before_onset"],
                                                        (o["share_caught_before_onset"] or 0) >= 0.4),
    }
    return out


def _smd_sweep(runs: list[Any], truth: list[dict[str, Any]], days: float, budget: float) -> dict[str, Any]:
    levels = (0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8)
    rows = []
    for lev in levels:
        alerts = []
        for frame, names, test_start, series in runs:
            incs = predictor_incidents(frame, names, open_threshold=lev, close_threshold=min(0.2, 0.8 * lev))
            alerts += [(series, i.raised_at) for i in incs if i.raised_at >= test_start]
        r = summarise(_per_incident(truth, alerts, -np.inf), days)
        rows.append({"open_threshold": lev, "incident_recall": r["incident_recall"],
                     "false_alarms_per_series_day": r["false_alarms_per_series_day"]})
    ok = [r["incident_recall"] for r in rows if r["false_alarms_per_series_day"] <= budget]
    return {"sweep": rows, "recall_at_baseline_false_alarm_rate": max(ok, default=0.0)}


# ------------------------------------------------------------------------------------------------ NAB
def _replay_detector() -> Any:
    from incidentml.anomaly import AnomalyDetector
    from incidentml.utils import as_point

    class Replay(AnomalyDetector):
        """Replays precomputed per-metric scores (the metric values *are* the scores)."""

        def learn_one(self, x: Any, t: Any = None) -> None:
            return None

        def score_one(self, x: Any, t: Any = None) -> float:
            p = [v for v in as_point(x).values() if v == v]
            return max(p) if p else 0.0

        def contributions_one(self, x: Any, t: Any = None) -> dict[str, float]:
            return {k: v for k, v in as_point(x).items() if v == v}

    return Replay()


def replay_alerts(times: np.ndarray, scores: np.ndarray | pd.DataFrame, **settings: Any) -> list[float]:
    """``raised_at`` of the incidents the predictor's state machine makes of precomputed scores."""
    frame = scores.copy() if isinstance(scores, pd.DataFrame) else pd.DataFrame({"value": scores})
    frame.insert(0, "timestamp", pd.to_datetime(np.asarray(times, dtype=float), unit="s"))
    metrics = [c for c in frame.columns if c != "timestamp"]
    pred = IncidentPredictor(_replay_detector(), **settings)
    return [i.raised_at for i in pred.run(frame, time_col="timestamp", metrics=metrics)]


def rolling_z(values: np.ndarray, window: int = 100) -> np.ndarray:
    """|z| against the mean and standard deviation of the previous ``window`` points (0 where undefined)."""
    s = pd.Series(values)
    mean = s.rolling(window, min_periods=window).mean().shift(1)
    std = s.rolling(window, min_periods=window).std().shift(1)
    return ((s - mean).abs() / std.replace(0, np.nan)).fillna(0.0).to_numpy()


def z_scores(z: np.ndarray, z_open: float = 4.0) -> np.ndarray:
    """|z| as a score for the predictor's debouncing: opens (0.5) at ``z_open``, closes (0.2) at 0.4 ``z_open``."""
    return np.minimum(z / (2.0 * z_open), 1.0)


def load_nab_incidents(shared: Path) -> list[dict[str, Any]]:
    """NAB files as series with incidents: onset = labelled point, caught from the window's start to its end."""
    from incidentml.evaluation import load_nab_corpus

    nab = Path(shared) / "datasets" / "nab"
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
            incidents.append({"series": key, "onset": float(onset), "end": float(secs[b]),
                              "margin": float(onset - secs[a])})
        files.append({"key": key, "times": secs, "values": np.asarray(f.values, dtype=float),
                      "incidents": incidents, "days": float(secs[-1] - secs[0]) / DAY})
    return files


def _nab_section5_alerts(f: dict[str, Any]) -> list[float]:
    """evaluation.md §5 baseline on one NAB file: a day of points, history = the allowed 15% warm-up."""
    t = f["times"]
    step = float(np.median(np.diff(t))) if len(t) > 1 else MINUTE
    window = max(int(round(DAY / step)), 2)
    n_hist = min(int(0.15 * len(t)), 750)
    flags = zscore_baseline(f["values"][:, None], n_hist, window)
    return [a for a in merged_alerts(t, flags) if a >= t[n_hist]]


def run_nab_incidents(shared: Path, log: Callable[..., Any] = print, *,
                      settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """NAB as predicted incidents (evaluation.md §2): incidentml default vs baselines, same run.

    One entity with one metric per file, fed whole through ``IncidentPredictor(**settings).run`` (the
    command line's route). Baselines: a rolling z-score over the previous 100 points fed through the
    *same* debouncing (opens at ``|z| >= 4``; ``combine="max"``, so the baseline does not move with
    incidentml's defaults), and the §5 baseline (a day of points, 99.9th percentile of
    the file's first 15% as its level, alerts within 30 minutes merged). For context only (they read the
    labels): recall at 0.5 / 1 / 2 false alarms per series-day from sweeps of each opening level, and
    the z-score's best recall at no more false alarms than incidentml's default.
    """
    t0 = time.perf_counter()
    files = load_nab_incidents(shared)
    days = sum(f["days"] for f in files)
    truth = [inc for f in files for inc in f["incidents"]]
    settings = dict(settings or {})
    ours, scores = [], {}
    from incidentml.anomaly import make_detector

    for f in files:
        frame = pd.DataFrame({"timestamp": pd.to_datetime(f["times"], unit="s"), "value": f["values"]})
        ours += [(f["key"], a) for a in (i.raised_at for i in predictor_incidents(frame, ["value"], **settings))]
        scores[f["key"]] = make_detector("default").score_many(f["values"], t=f["times"])
    t_ours = time.perf_counter() - t0

    def evaluate(alerts: list[tuple[str, float]]) -> dict[str, Any]:
        return summarise(_per_incident(truth, alerts, -np.inf), days)

    zs = {f["key"]: rolling_z(f["values"]) for f in files}
    out: dict[str, Any] = {"files": len(files), "series_days": days, "seconds": t_ours}
    out["incidentml default"] = evaluate(ours)
    out["rolling z-score + same debouncing"] = evaluate(
        [(f["key"], a) for f in files for a in replay_alerts(f["times"], z_scores(zs[f["key"]]), combine="max")])
    out["baseline (evaluation.md §5)"] = evaluate([(f["key"], a) for f in files for a in _nab_section5_alerts(f)])
    sweeps = {
        "incidentml": [({"open_threshold": thr}, [(f["key"], a) for f in files for a in replay_alerts(
            f["times"], scores[f["key"]], open_threshold=thr, close_threshold=min(0.2, thr * 0.8))])
            for thr in (0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99)],
        "rolling z-score": [({"z_open": z}, [(f["key"], a) for f in files for a in replay_alerts(
            f["times"], z_scores(zs[f["key"]], z), combine="max")]) for z in (2.0, 3.0, 4.0, 6.0, 8.0, 15.0, 30.0, 50.0)],
    }
    context: dict[str, Any] = {}
    for name, variants in sweeps.items():
        rows = [{**setting, **{k: v for k, v in evaluate(alerts).items()
                               if k in ("incident_recall", "false_alarms_per_series_day")}}
                for setting, alerts in variants]
        context[name] = {"sweep": rows, "recall_at_false_alarm_budget": {
            str(b): max((r["incident_recall"] for r in rows if r["false_alarms_per_series_day"] <= b), default=0.0)
            for b in BUDGETS}}
    o = out["incidentml default"]
    fair = max((r["incident_recall"] for r in context["rolling z-score"]["sweep"]
                if r["false_alarms_per_series_day"] <= o["false_alarms_per_series_day"]), default=0.0)
    context["rolling z-score best recall at incidentml's false-alarm rate"] = fair
    out["context (sweeps read the labels)"] = context
    out["goals"] = {
        "recall >= 2x the z-score's best at no more false alarms (sweep reads labels)": goal(
            o["incident_recall"], o["incident_recall"] >= 2 * fair),
    }
    log(f"NAB incidents: {len(files)} files in {time.perf_counter() - t0:.1f} s")
    return out


# ------------------------------------------------------------------------------------------------ scenarios
def run_scenarios(log: Callable[..., Any] = print, *, n_per_kind: int = 10,
                  settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Generated scenarios (``incidentml.datasets.make_scenarios``): incidentml default vs a z-score, same run.

    Per fault scenario: caught before the failure (an incident raised from an hour before the onset to
    the failure), lead before the failure, the first breach forecast's lead and error, and whether the
    leading metric is ranked first by the first such incident. False alarms: incidents raised earlier
    than an hour before the onset, and every incident of a fault-free (``normal``) scenario. Baseline:
    the rolling z-score over the previous 100 points of each metric, the maximum over the metrics, fed
    through the same debouncing (``combine="max"``; it has no ranking or forecasts).
    """
    from incidentml.datasets import make_scenarios

    t0 = time.perf_counter()
    settings = dict(settings or {})
    scenarios = make_scenarios(n_per_kind=n_per_kind, seed=0)
    rows: dict[str, list[dict[str, Any]]] = {}
    base_rows: dict[str, list[dict[str, Any]]] = {}
    for sc in scenarios:
        metrics = [c for c in sc.frame.columns if c != "timestamp"]
        pred = IncidentPredictor(limits=dict(sc.limit) or None, **settings)
        incidents, events = pred.run(sc.frame, time_col="timestamp", metrics=metrics, return_events=True)
        times = sc.frame["timestamp"].astype("datetime64[ns]").astype(np.int64).to_numpy() / 1e9
        zs = pd.DataFrame({m: z_scores(rolling_z(sc.frame[m].to_numpy(dtype=float))) for m in metrics})
        base = replay_alerts(times, zs, combine="max")
        days = (times[-1] - times[0]) / DAY
        rec: dict[str, Any] = {}
        brec: dict[str, Any] = {}
        if sc.failure_at is None:
            rec["false_alarms"], rec["days"] = len(incidents), days
            brec["false_alarms"], brec["days"] = len(base), days
        else:
            fail, onset = pd.Timestamp(sc.failure_at).timestamp(), pd.Timestamp(sc.onset).timestamp()
            before = [i for i in incidents if onset - 3600 <= i.raised_at <= fail]
            rec["caught_before_failure"] = bool(before)
            rec["false_alarms"] = sum(1 for i in incidents if i.raised_at < onset - 3600)
            bb = [a for a in base if onset - 3600 <= a <= fail]
            brec["caught_before_failure"] = bool(bb)
            brec["false_alarms"] = sum(1 for a in base if a < onset - 3600)
            if bb:
                brec["lead_minutes"] = (fail - bb[0]) / MINUTE
            if before:
                first = before[0]
                rec["lead_minutes"] = (fail - first.raised_at) / MINUTE
                fc = next((e["incident"].forecast for e in events if e["incident"].forecast
                           and e["incident"].forecast.get("status") == "trending" and e["incident"].updated_at < fail),
                          None)
                if fc and fc.get("crosses_at"):
                    rec["forecast_error_minutes"] = abs(pd.Timestamp(fc["crosses_at"]).timestamp() - fail) / MINUTE
                    rec["forecast_lead_minutes"] = (fail - pd.Timestamp(fc["as_of"]).timestamp()) / MINUTE
                if sc.leading_metric:
                    rec["leader_ranked_first"] = bool(first.metrics) and first.metrics[0]["name"] == sc.leading_metric
        rows.setdefault(sc.kind, []).append(rec)
        base_rows.setdefault(sc.kind, []).append(brec)

    def summary(table: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        out = {}
        for kind, recs in table.items():
            s: dict[str, Any] = {"scenarios": len(recs)}
            faults = [r for r in recs if "caught_before_failure" in r]
            if faults:
                s["caught_before_failure"] = sum(r["caught_before_failure"] for r in faults) / len(faults)
                for key in ("lead_minutes", "forecast_lead_minutes", "forecast_error_minutes"):
                    vals = [r[key] for r in faults if key in r]
                    s[f"{key}_median"] = statistics.median(vals) if vals else None
                ranked = [r["leader_ranked_first"] for r in faults if "leader_ranked_first" in r]
                if ranked:
                    s["leader_ranked_first"] = sum(ranked) / len(ranked)
            s["false_alarms"] = sum(r["false_alarms"] for r in recs)
            out[kind] = s
        return out

    ours, theirs = summary(rows), summary(base_rows)
    ranked = [r["leader_ranked_first"] for recs in rows.values() for r in recs if "leader_ranked_first" in r]
    faults = [r for k, recs in rows.items() if k != "normal" for r in recs]
    bfaults = [r for k, recs in base_rows.items() if k != "normal" for r in recs]
    total = {
        "incidentml default": {
            "caught_before_failure": sum(r["caught_before_failure"] for r in faults) / len(faults),
            "leader_ranked_first": sum(ranked) / len(ranked) if ranked else None,
            "false_alarms_on_normal_days": ours.get("normal", {}).get("false_alarms")},
        "baseline": {
            "caught_before_failure": sum(r["caught_before_failure"] for r in bfaults) / len(bfaults),
            "false_alarms_on_normal_days": theirs.get("normal", {}).get("false_alarms")},
    }
    mm = ours.get("multi_metric", {}).get("leader_ranked_first") or 0.0
    out = {"scenarios": len(scenarios), "by_kind": ours, "baseline_by_kind": theirs, "overall": total,
           "runs": rows, "seconds": time.perf_counter() - t0}
    out["goals"] = {
        "leading metric ranked first in >= 80% (all fault scenarios)": goal(
            total["incidentml default"]["leader_ranked_first"], (total["incidentml default"]["leader_ranked_first"] or 0)
            >= 0.8),
        "leading metric ranked first in >= 80% (multi-metric)": goal(mm, mm >= 0.8),
    }
    log(f"scenarios: {len(scenarios)} in {out['seconds']:.1f} s")
    return out
