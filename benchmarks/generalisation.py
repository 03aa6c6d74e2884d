"""Generalisation benchmark: every development task at the library's default settings, next to its baseline.

``shared/docs/evaluation.md`` section 5: a default is good only if it beats the plain baseline on data
it was not designed on, so every default is judged over *all* development tasks at once, and this
script prints the whole table, default vs baseline, each pair measured in the same run:

* **Triage** (``_triage_tasks.run_triage_tasks``): Endava category, Endava service routing, Endava
  urgency (stratified), JIRA priority (title only; title + body), JIRA component and JIRA assignee
  routing (stratified and time splits). ``TriageModel()`` at its defaults (only the seed, the number of
  threads and the progress bar are set) against TF-IDF (word 1-2 + char 3-5) + ``LinearSVC``.
* **Predicted incidents** (``_incident_tasks``): SMD-dev (14 real server machines, 38 metrics, train
  half fed first as history), NAB (58 series, one metric each) and the generated scenarios, with
  ``IncidentPredictor()`` at its defaults against the debounced rolling z-score of section 5.
* **Detection**: the default detector's NAB score, scoreboard and honest (section 1).

Every row carries the goals of the generalisation issue and whether they were met. No setting here
is chosen on a test split: the library runs at its defaults, and the baselines are the fixed recipes
of the evaluation guide.

Run it from the repository root::

    python benchmarks/generalisation.py --json benchmarks/results/generalisation.json
    python benchmarks/generalisation.py --parts triage --max-train 20000     # one part, capped training
    python benchmarks/generalisation.py --combine a.json b.json --json all.json   # parts run side by side

``--parts`` is a comma-separated subset of ``triage,incidents,nab``; ``--combine`` merges the JSON of
parts run in separate processes (each pair default/baseline is still measured in one run). If the data
is missing the script exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine_info, print_table, write_json  # noqa: E402

PARTS = ("triage", "incidents", "nab")
NAB_GOAL = 72.0  # standard profile, scoreboard; honest within NAB_HONEST_GAP points
NAB_HONEST_GAP = 1.0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _timed(name: str, fn: Callable[[], Any]) -> tuple[Any, float]:
    log(f"start {name}")
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    log(f"done  {name}: {seconds:.0f} s")
    return out, seconds


def run_triage(shared: Path, max_train: int | None, n_jobs: int, quick: bool) -> dict[str, Any]:
    from _triage_tasks import run_triage_tasks

    rows, seconds = _timed("triage tasks", lambda: run_triage_tasks(
        shared, max_train=(2000 if quick else max_train), n_jobs=n_jobs, log=log))
    return {"rows": rows, "seconds": round(seconds, 1), "max_train": 2000 if quick else max_train}


def run_incidents(shared: Path, quick: bool) -> dict[str, Any]:
    import _incident_tasks as it

    out: dict[str, Any] = {}
    out["smd"], s1 = _timed("SMD-dev incidents", lambda: it.run_smd(shared, log=log))
    out["nab"], s2 = _timed("NAB incidents", lambda: it.run_nab_incidents(shared, log=log))
    out["scenarios"], s3 = _timed("generated scenarios", lambda: it.run_scenarios(log=log))
    out["seconds"] = {"smd": round(s1, 1), "nab": round(s2, 1), "scenarios": round(s3, 1)}
    return out


def run_nab_score(shared: Path, n_jobs: int) -> dict[str, Any]:
    from incidentml.evaluation import load_nab_corpus, nab_report, run_nab_detector

    nab = shared / "datasets" / "nab"
    corpus = load_nab_corpus(nab / "data", nab / "labels" / "combined_windows.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        (scores, _), seconds = _timed("NAB score, default detector", lambda: run_nab_detector(corpus, "default",
                                                                                             jobs=n_jobs))
    report = nab_report(scores, corpus)
    std, honest = report["scoreboard"]["standard"], report["honest"]["standard"]
    return {"scoreboard": report["scoreboard"], "honest": report["honest"], "seconds": round(seconds, 1),
            "goals": {f"standard >= {NAB_GOAL}": std >= NAB_GOAL,
                      f"honest within {NAB_HONEST_GAP} point": std - honest <= NAB_HONEST_GAP}}


# ---------------------------------------------------------------------------------------------- the table
def _fmt(v: Any) -> Any:
    return round(v, 3) if isinstance(v, float) else v


def table_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per task and headline metric: default, baseline, and the goals with met / MISSED."""
    rows: list[dict[str, Any]] = []
    for r in results.get("triage", {}).get("rows", []):
        goals = r.get("goals", {})
        rows.append({"task": f"{r['task']} / {r['split']}", "metric": "macro-F1",
                     "default": _fmt(r["model"]["macro_f1"]), "baseline": _fmt(r["baseline"]["macro_f1"]),
                     "goals": _goal_text(goals)})
        if r["model"].get("critical_recall") is not None:
            rows.append({"task": "", "metric": "critical recall", "default": _fmt(r["model"]["critical_recall"]),
                         "baseline": _fmt(r["baseline"].get("critical_recall")), "goals": ""})
        if r["split"] == "time":
            rows.append({"task": "", "metric": "decided precision", "default": _fmt(r["model"].get("decided_precision")),
                         "baseline": _fmt(r["baseline"].get("decided_precision")), "goals": ""})
    inc = results.get("incidents", {})
    for name in ("smd", "nab", "scenarios"):
        part = inc.get(name)
        if not part:
            continue
        label = {"smd": "SMD-dev incidents", "nab": "NAB incidents", "scenarios": "generated scenarios"}[name]
        for i, (metric, (d, b)) in enumerate(_incident_headline(part).items()):
            rows.append({"task": label if i == 0 else "", "metric": metric, "default": _fmt(d), "baseline": _fmt(b),
                         "goals": _goal_text(part.get("goals", {})) if i == 0 else ""})
    nab = results.get("nab")
    if nab:
        rows.append({"task": "NAB detection", "metric": "standard score (scoreboard / honest)",
                     "default": f"{nab['scoreboard']['standard']:.2f} / {nab['honest']['standard']:.2f}",
                     "baseline": "", "goals": _goal_text(nab["goals"])})
    return rows


_HEADLINE = ("incident_recall", "false_alarms_per_series_day", "alert_precision", "share_caught_before_onset",
             "lead_minutes_median", "root_cause_top3", "caught_before_failure", "leader_ranked_first",
             "false_alarms_on_normal_days")


def _incident_headline(part: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Headline metrics of one incident task: (incidentml default, baseline of evaluation.md)."""
    src = part.get("overall", part)  # the scenarios keep their totals under "overall"
    d = src.get("incidentml default", {})
    b = src.get("baseline", src.get("baseline (evaluation.md §5)", {}))
    return {k.replace("_", " "): (d.get(k), b.get(k)) for k in _HEADLINE if k in d}


def _goal_text(goals: dict[str, Any]) -> str:
    def met(v: Any) -> bool:
        return bool(v.get("met")) if isinstance(v, dict) else bool(v)

    return "; ".join(f"{k}: {'met' if met(v) else 'MISSED'}" for k, v in goals.items())


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of " + ",".join(PARTS))
    ap.add_argument("--max-train", type=int, default=None, help="cap on triage training rows (default: none)")
    ap.add_argument("--jobs", type=int, default=1, help="threads / processes where a part can use them")
    ap.add_argument("--quick", action="store_true", help="small triage training sets: a smoke run")
    ap.add_argument("--combine", nargs="+", type=Path, default=None,
                    help="merge the JSON files of parts run separately instead of running anything")
    args = ap.parse_args(argv)

    if args.combine:
        results: dict[str, Any] = {}
        machines = []
        for path in args.combine:
            blob = json.loads(path.read_text())
            machines.append(blob.get("machine"))
            for part in PARTS:
                if part in blob.get("results", {}):
                    results[part] = blob["results"][part]
        out = {"benchmark": "generalisation", "results": results, "table": table_rows(results),
               "machine": machines[0], "machines_of_parts": machines, "combined_from": [str(p) for p in args.combine]}
    else:
        parts = [p.strip() for p in args.parts.split(",") if p.strip()]
        bad = [p for p in parts if p not in PARTS]
        if bad:
            ap.error(f"--parts: unknown part {bad[0]!r}; choose from {', '.join(PARTS)}")
        if not (args.shared / "datasets").exists():
            print(f"shared data not found under {args.shared}; pass --shared DIR", file=sys.stderr)
            return 2
        results = {}
        if "triage" in parts:
            results["triage"] = run_triage(args.shared, args.max_train, args.jobs, args.quick)
        if "incidents" in parts:
            results["incidents"] = run_incidents(args.shared, args.quick)
        if "nab" in parts:
            results["nab"] = run_nab_score(args.shared, args.jobs)
        out = {"benchmark": "generalisation", "parts": parts, "results": results, "table": table_rows(results),
               "machine": machine_info(jobs=args.jobs, max_train=args.max_train, quick=args.quick)}
    print("Generalisation: library defaults vs the evaluation guide's baselines (each pair in the same run)")
    print_table(out["table"], ["task", "metric", "default", "baseline"])
    print("\ngoals:")
    task = ""
    for row in out["table"]:
        task = row["task"] or task
        if row["goals"]:
            print(f"  {task}: {row['goals']}")
    n_goals = sum(row["goals"].count(": met") + row["goals"].count(": MISSED") for row in out["table"])
    n_met = sum(row["goals"].count(": met") for row in out["table"])
    print(f"{n_met} of {n_goals} goals met")
    write_json(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
