"""Continual benchmark, feedback section: false alarms before and after an analyst marks the first ones.

``run(shared)`` returns ``{"rows": [...], "goals": {...}, ...}`` for ``continual.py``; run as a script, it
prints its table. Definitions are those of ``shared/docs/evaluation.md`` §2 and §5 (``_incident_tasks``).

Protocol (settings are the library's defaults, ``IncidentPredictor()``; nothing is chosen on labels):

- **SMD-dev**: each machine is one entity; its train half is fed as history (no marks, no labels), then its
  test half in chunks of ``CHUNK`` points (an hour). After each chunk a simulated analyst reviews the
  incidents raised in it, in ``raised_at`` order, and marks each false alarm (an incident that catches no
  labelled incident, §2, 60-minute early margin; the analyst is allowed to know that, it is what an analyst
  tells us) ``feedback(id, "false_alarm")``, until ``N`` false alarms of that machine are marked (N = 1 and
  3). Real incidents are left unmarked. After the N-th mark (or the last one, if fewer false alarms came) the
  rest of the machine's test half is fed at once.
- **Evaluated period**: per machine, from its last mark (the test half's start if it got none) to the end.
  False alarms per series-day and incident recall (labelled incidents whose caught window starts inside the
  period) are counted over that period for the run with feedback and for the run without feedback (the same
  predictor, never told anything) over the *same* period; "recall kept" is their ratio.
- **Generated**: ``make_scenarios(kinds=("normal",), n_points=SPAN)``: ten fault-free entities of four
  days (every incident is a false alarm); and ten four-day scenarios of each fault kind, whose fault comes on
  days 3-4: incidents raised earlier than an hour before the onset are false alarms (as in
  ``run_scenarios``), the fault is caught by an incident from an hour before the onset to the failure.
  Limits are given, as in ``run_scenarios``; feedback does not hold back breach forecasts. The analyst marks
  from the first point on (the predictor learns from the data as it comes).

Columns: ``marks`` given, ``series-days after`` the marks (the evaluated period), false alarms per series-day
and recall without and with the feedback over that period, the labelled incidents (or fault scenarios) in it,
and ``held back``: runs whose opening the feedback held back (anywhere after the first mark).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _incident_tasks import (  # noqa: E402
    DAY,
    MINUTE,
    _per_incident,
    _smd_truth,
    goal,
    load_smd,
    smd_frame,
    summarise,
)

from incidentml.datasets import make_scenarios  # noqa: E402
from incidentml.incidents import IncidentPredictor  # noqa: E402

MARKS = (1, 3)  # false alarms the analyst marks per entity
CHUNK = 60  # points per review (an hour of minute data)
SPAN = 4 * 1440  # points of a generated scenario (four days)
FAULT_KINDS = ("disk_fill", "memory_leak", "latency_creep", "multi_metric")


def _seconds(frame: pd.DataFrame) -> np.ndarray:
    return frame["timestamp"].astype("datetime64[ns]").astype(np.int64).to_numpy() / 1e9


def feed_with_marks(frame: pd.DataFrame, metrics: list[str], first: int, n_marks: int,
                    is_false: Callable[[Any], bool], settings: dict[str, Any]) -> tuple[IncidentPredictor, list[float]]:
    """Rows ``[:first]`` as history, then chunks of ``CHUNK`` rows reviewed by the analyst; returns predictor, marks.

    The analyst marks the false alarms among the incidents raised since the last review, in ``raised_at``
    order, until ``n_marks`` are marked; the mark times are the review times (the chunk's last point).
    """
    pred = IncidentPredictor(**settings)
    t = _seconds(frame)
    if first:
        pred.run(frame.iloc[:first], time_col="timestamp", metrics=metrics)
    seen = {i.id for i in pred.incidents()}
    marks: list[float] = []
    at = first
    while at < len(frame) and len(marks) < n_marks:
        end = min(at + CHUNK, len(frame))
        pred.run(frame.iloc[at:end], time_col="timestamp", metrics=metrics)
        for inc in pred.incidents():
            if inc.id in seen:
                continue
            seen.add(inc.id)
            if len(marks) < n_marks and is_false(inc):
                pred.feedback(inc.id, "false_alarm")
                marks.append(float(t[end - 1]))
        at = end
    if at < len(frame):
        pred.run(frame.iloc[at:], time_col="timestamp", metrics=metrics)
    return pred, marks


def _count(alerts: list[float], truth: list[dict[str, Any]], since: float, until: float) -> tuple[int, int]:
    """(alerts, false alarms) raised in ``[since, until]``; a false alarm catches no labelled incident."""
    a = [x for x in alerts if since <= x <= until]
    good = sum(1 for x in a if any(i["onset"] - i["margin"] <= x <= i["end"] for i in truth))
    return len(a), len(a) - good


# ------------------------------------------------------------------------------------------------ SMD-dev
def run_smd_feedback(shared: Path, log: Callable[..., Any] = print, *, marks: tuple[int, ...] = MARKS,
                     machines: list[dict[str, Any]] | None = None,
                     settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """SMD-dev with and without the analyst's marks (see the module docstring); one entry per N in ``marks``."""
    settings = dict(settings or {})
    machines = load_smd(shared) if machines is None else machines
    plain: dict[str, list[float]] = {}
    runs = []
    t0 = time.perf_counter()
    for m in machines:
        frame, names, test_start = smd_frame(m)
        truth = _smd_truth(m, test_start, m["name"])
        end = test_start + MINUTE * (len(m["test"]) - 1)
        plain[m["name"]] = [i.raised_at for i in IncidentPredictor(**settings).run(
            frame, time_col="timestamp", metrics=names) if i.raised_at >= test_start]
        runs.append((m, frame, names, test_start, end, truth))
    log(f"SMD-dev feedback: {len(machines)} machines without feedback in {time.perf_counter() - t0:.1f} s")
    out: dict[str, Any] = {}
    for n in marks:
        t1 = time.perf_counter()
        per: dict[str, dict[str, Any]] = {"without feedback": {"incidents": [], "alerts": 0, "good_alerts": 0},
                                          "with feedback": {"incidents": [], "alerts": 0, "good_alerts": 0}}
        days = 0.0
        n_marked = 0
        suppressed = 0
        for m, frame, names, test_start, end, truth in runs:
            def is_false(inc: Any, truth: list[dict[str, Any]] = truth) -> bool:
                return not any(i["onset"] - i["margin"] <= inc.raised_at <= i["end"] for i in truth)

            pred, mk = feed_with_marks(frame, names, len(m["train"]), n, is_false, settings)
            incs = pred.incidents()
            n_marked += len(mk)
            suppressed += sum(e.n_suppressed for e in pred.entities_.values())
            since = mk[-1] if mk else test_start
            days += (end - since) / DAY
            later = [i for i in truth if i["onset"] - i["margin"] >= since]
            ours = [i.raised_at for i in incs if i.raised_at >= test_start]
            for name, alerts in (("without feedback", plain[m["name"]]), ("with feedback", ours)):
                a, fa = _count(alerts, truth, since, end)
                rec = _per_incident(later, [x for x in alerts if x >= since], -np.inf)
                per[name]["incidents"] += rec["incidents"]
                per[name]["alerts"] += a
                per[name]["good_alerts"] += a - fa
        res = {name: summarise(p, days) for name, p in per.items()}
        res["marks"] = n_marked
        res["held_back_runs"] = suppressed
        res["series_days_evaluated"] = days
        res["seconds"] = time.perf_counter() - t1
        out[f"first {n}"] = res
        log(f"  marks {n}: {n_marked} marked, {days:.1f} series-days after the marks, "
            f"FA/day {res['without feedback']['false_alarms_per_series_day']:.3f} -> "
            f"{res['with feedback']['false_alarms_per_series_day']:.3f}, recall "
            f"{res['without feedback']['incident_recall']:.3f} -> {res['with feedback']['incident_recall']:.3f} "
            f"({res['seconds']:.1f} s)")
    return out


# ------------------------------------------------------------------------------------------------ generated
def run_generated_feedback(log: Callable[..., Any] = print, *, marks: tuple[int, ...] = MARKS, n_per_kind: int = 10,
                           settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Four-day generated scenarios with and without the analyst's marks (see the module docstring)."""
    settings = dict(settings or {})
    t0 = time.perf_counter()
    normal = make_scenarios(n_per_kind, seed=0, kinds=("normal",), n_points=SPAN)
    faults = make_scenarios(n_per_kind, seed=0, kinds=FAULT_KINDS, n_points=SPAN)
    out: dict[str, Any] = {}
    plain: dict[str, list[float]] = {}
    for sc in normal + faults:
        pred = IncidentPredictor(limits=dict(sc.limit) or None, **settings)
        plain[sc.entity] = [i.raised_at for i in pred.run(sc.frame, time_col="timestamp", metrics=sc.metrics)]
    for n in marks:
        rows = {"normal": {"without feedback": 0, "with feedback": 0, "days": 0.0, "marks": 0, "held_back_runs": 0},
                "faults": {"without feedback": 0, "with feedback": 0, "days": 0.0, "marks": 0, "held_back_runs": 0,
                           "caught without feedback": 0, "caught with feedback": 0, "scenarios": 0}}
        for sc in normal + faults:
            t = _seconds(sc.frame)
            if sc.failure_at is None:
                cut, fail = np.inf, np.inf
                group = rows["normal"]
            else:
                onset, fail = pd.Timestamp(sc.onset).timestamp(), pd.Timestamp(sc.failure_at).timestamp()
                cut = onset - 3600.0
                group = rows["faults"]

            def is_false(inc: Any, cut: float = cut) -> bool:
                return inc.raised_at < cut

            s = {**settings, "limits": dict(sc.limit) or None}
            pred, mk = feed_with_marks(sc.frame, sc.metrics, 0, n, is_false, s)
            incs = pred.incidents()
            since = mk[-1] if mk else float(t[0])
            until = min(cut, float(t[-1]))
            group["marks"] += len(mk)
            group["held_back_runs"] += sum(e.n_suppressed for e in pred.entities_.values())
            group["days"] += max(until - since, 0.0) / DAY
            ours = [i.raised_at for i in incs]
            for name, alerts in (("without feedback", plain[sc.entity]), ("with feedback", ours)):
                group[name] += sum(1 for x in alerts if since <= x < until)
                if sc.failure_at is not None:
                    group[f"caught {name}"] += any(cut <= x <= fail for x in alerts)
            if sc.failure_at is not None:
                group["scenarios"] += 1
        for g in rows.values():
            for name in ("without feedback", "with feedback"):
                g[f"{name} per series-day"] = g[name] / g["days"] if g["days"] else None
        out[f"first {n}"] = rows
        f, nm = rows["faults"], rows["normal"]
        log(f"  generated, marks {n}: normal FA/day {nm['without feedback per series-day']:.3f} -> "
            f"{nm['with feedback per series-day']:.3f}; faults caught {f['caught without feedback']} -> "
            f"{f['caught with feedback']} of {f['scenarios']}")
    out["seconds"] = time.perf_counter() - t0
    log(f"generated feedback: {len(normal) + len(faults)} scenarios in {out['seconds']:.1f} s")
    return out


# ------------------------------------------------------------------------------------------------ section
def run(shared: Path, log: Callable[..., Any] = print) -> dict[str, Any]:
    """The feedback section: SMD-dev and the generated scenarios, rows for the table and goals."""
    t0 = time.perf_counter()
    smd = run_smd_feedback(shared, log)
    gen = run_generated_feedback(log)
    rows: list[dict[str, Any]] = []
    for n in MARKS:
        r = smd[f"first {n}"]
        wo, wi = r["without feedback"], r["with feedback"]
        rows.append({"task": "SMD-dev", "marked per entity": n, "marks": r["marks"],
                     "series-days after": r["series_days_evaluated"],
                     "FA/series-day without": wo["false_alarms_per_series_day"],
                     "FA/series-day with": wi["false_alarms_per_series_day"],
                     "recall without": wo["incident_recall"], "recall with": wi["incident_recall"],
                     "incidents after": wo["incidents"], "held back": r["held_back_runs"]})
        g = gen[f"first {n}"]
        for task, key in (("generated normal days", "normal"), ("generated faults, before onset", "faults")):
            x = g[key]
            row = {"task": task, "marked per entity": n, "marks": x["marks"], "series-days after": x["days"],
                   "FA/series-day without": x["without feedback per series-day"],
                   "FA/series-day with": x["with feedback per series-day"], "held back": x["held_back_runs"]}
            if key == "faults":
                row.update({"recall without": x["caught without feedback"] / x["scenarios"],
                            "recall with": x["caught with feedback"] / x["scenarios"],
                            "incidents after": x["scenarios"]})
            rows.append(row)
    goals: dict[str, Any] = {}
    for n in MARKS:
        r = smd[f"first {n}"]
        wo, wi = r["without feedback"], r["with feedback"]
        kept = wi["incident_recall"] / wo["incident_recall"] if wo["incident_recall"] else None
        cut = 1 - wi["false_alarms_per_series_day"] / wo["false_alarms_per_series_day"]
        goals[f"SMD-dev, {n} marked: fewer false alarms per series-day after the marks (share cut)"] = {
            **goal(cut, cut > 0), "goal": "> 0"}
        goals[f"SMD-dev, {n} marked: recall kept >= 95%"] = {**goal(kept, (kept or 0) >= 0.95), "goal": ">= 0.95"}
        g = gen[f"first {n}"]
        nm, f = g["normal"], g["faults"]
        gcut = 1 - nm["with feedback per series-day"] / nm["without feedback per series-day"]
        goals[f"generated normal days, {n} marked: fewer false alarms per series-day (share cut)"] = {
            **goal(gcut, gcut > 0), "goal": "> 0"}
        goals[f"generated faults, {n} marked: every fault caught without feedback still caught"] = {
            **goal(f["caught with feedback"], f["caught with feedback"] >= f["caught without feedback"]),
            "goal": f">= {f['caught without feedback']}"}
    return {"rows": rows, "goals": goals, "smd": smd, "generated": gen,
            "protocol": __doc__.split("Protocol", 1)[1].strip(), "seconds": time.perf_counter() - t0}


COLUMNS = ["task", "marked per entity", "marks", "series-days after", "FA/series-day without", "FA/series-day with",
           "recall without", "recall with", "incidents after", "held back"]

if __name__ == "__main__":
    from _common import print_table

    result = run(Path(__file__).resolve().parents[2] / "shared")
    print_table(result["rows"], COLUMNS)
    for name, g in result["goals"].items():
        print(f"  {name}: {'met' if g['met'] else 'MISSED'} ({g['value']!r}, goal {g['goal']})")
    print(f"{result['seconds']:.0f} s")
