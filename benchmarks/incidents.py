"""Incident benchmark: predicted incidents on SMD-dev, NAB and generated scenarios, at the library's defaults.

Implements ``shared/docs/evaluation.md`` sections 2 and 5; the tasks live in ``_incident_tasks.py``
(``run_smd``, ``run_nab_incidents``, ``run_scenarios``), which ``generalisation.py`` calls too. Every
task feeds incidentml through ``IncidentPredictor().run(frame, time_col=..., metrics=...)``, the route of
``incidentml incidents``, and scores its incidents (``raised_at``) as alerts, next to the task's baseline
in the same run.

- **SMD-dev**: 14 machines x 38 metrics, the train half fed first as history; baseline of §5 (|z| against
  the previous day of points, max over metrics, 99.9th percentile of the history part, alerts within
  30 minutes merged). Also, for context, incidentml's recall at the baseline's false-alarm rate from a
  sweep of the opening level (it reads the labels; it sets nothing).
- **NAB**: one metric per file; baselines: a rolling z-score through the same debouncing, and §5's.
- **Scenarios**: generated faults with a known leading metric, and fault-free days.

``--ablation`` also runs, on all three tasks, the previous default combination (``combine="max"``) and the
corrected combination without the lone-metric levels learnt from each entity's history (``lone_per_day=inf``).

Run: ``python benchmarks/incidents.py [--json PATH] [--shared DIR] [--quick] [--ablation]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine_info, print_table, write_json  # noqa: E402
from _incident_tasks import BUDGETS, load_smd, run_nab_incidents, run_scenarios, run_smd  # noqa: E402

COLUMNS = ["system", "recall", "precision", "FA/series-day", "lead p25", "lead median", "lead p75",
           "before onset", "root cause top-3"]


def _row(name: str, d: dict[str, Any]) -> dict[str, Any]:
    return {"system": name, "recall": d["incident_recall"], "precision": d["alert_precision"],
            "FA/series-day": d["false_alarms_per_series_day"], "lead p25": d["lead_minutes_p25"],
            "lead median": d["lead_minutes_median"], "lead p75": d["lead_minutes_p75"],
            "before onset": d["share_caught_before_onset"], "root cause top-3": d.get("root_cause_top3")}


def _goals(goals: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {'met' if v['met'] else 'MISSED'} ({v['value']:.3g})" if isinstance(v["value"], float)
                     else f"{k}: {'met' if v['met'] else 'MISSED'}" for k, v in goals.items())


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--quick", action="store_true", help="no SMD sweep, fewer scenarios")
    ap.add_argument("--ablation", action="store_true",
                    help="also run combine='max' (the previous default) and lone_per_day=inf")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    result: dict[str, Any] = {"benchmark": "incidents", "machine": machine_info(), "settings": "IncidentPredictor()"}
    variants = [("default", {})] + ([("combine='max' (previous default)", {"combine": "max"}),
                                     ("no learnt lone level (lone_per_day=inf)", {"lone_per_day": float("inf")})]
                                    if args.ablation else [])
    log = lambda *a: print(*a, file=sys.stderr)  # noqa: E731

    if (args.shared / "datasets" / "smd-dev" / "test").exists():
        machines = load_smd(args.shared)
        smd: dict[str, Any] = {}
        for name, settings in variants:
            smd[name] = run_smd(args.shared, log=log, settings=settings, machines=machines,
                                sweep=not args.quick and name == "default")
        result["smd"] = smd["default"]
        if args.ablation:
            result["smd_ablation"] = {k: v["incidentml default"] for k, v in smd.items()}
        d = smd["default"]
        print(f"\nSMD-dev: {d['machines']} machines, {d['series_days']:.1f} machine-days of test half, "
              f"{d['incidentml default']['incidents']} incidents (lead in minutes, positive = before onset)")
        rows = [_row("incidentml default", d["incidentml default"]), _row("baseline (§5)", d["baseline"])]
        rows += [_row(f"incidentml {k}", v["incidentml default"]) for k, v in smd.items() if k != "default"]
        print_table(rows, COLUMNS)
        sw = d.get("incidentml sweep (context; reads labels)")
        if sw:
            print(f"context (reads labels): incidentml's best recall at no more false alarms than the baseline "
                  f"({d['baseline']['false_alarms_per_series_day']:.3f}/series-day), sweep of open_threshold: "
                  f"{sw['recall_at_baseline_false_alarm_rate']:.3f}")
        print("goals:", _goals(d["goals"]))
    else:
        log(f"SMD-dev not found under {args.shared}; skipped")

    if (args.shared / "datasets" / "nab" / "labels").exists():
        nab = {name: run_nab_incidents(args.shared, log=log, settings=settings) for name, settings in variants}
        result["nab"] = nab["default"]
        if args.ablation:
            result["nab_ablation"] = {k: v["incidentml default"] for k, v in nab.items()}
        d = nab["default"]
        print(f"\nNAB: {d['files']} series, {d['series_days']:.0f} series-days")
        names = ("incidentml default", "rolling z-score + same debouncing", "baseline (evaluation.md §5)")
        rows = [_row(n, d[n]) for n in names]
        rows += [_row(f"incidentml {k}", v["incidentml default"]) for k, v in nab.items() if k != "default"]
        print_table(rows, COLUMNS[:-1])
        ctx = d["context (sweeps read the labels)"]
        print("context (reads labels): best recall at a false-alarm budget per series-day "
              + "; ".join(f"{n}: " + " / ".join(f"{ctx[n]['recall_at_false_alarm_budget'][str(b)]:.3f}"
                                                for b in BUDGETS) for n in ("incidentml", "rolling z-score"))
              + f" (budgets {' / '.join(map(str, BUDGETS))})")
        print("goals:", _goals(d["goals"]))
    else:
        log(f"NAB not found under {args.shared}; skipped")

    sc = {name: run_scenarios(log=log, n_per_kind=4 if args.quick else 10, settings=settings)
          for name, settings in variants}
    result["scenarios"] = sc["default"]
    if args.ablation:
        result["scenarios_ablation"] = {k: {"overall": v["overall"]["incidentml default"],
                                            "false_alarms_by_kind": {kk: vv["false_alarms"]
                                                                     for kk, vv in v["by_kind"].items()}}
                                        for k, v in sc.items()}
    d = sc["default"]
    print("\nGenerated scenarios (1-minute data, one day each)")
    cols = ["kind", "scenarios", "caught_before_failure", "lead_minutes_median", "forecast_lead_minutes_median",
            "forecast_error_minutes_median", "leader_ranked_first", "false_alarms", "baseline caught",
            "baseline false alarms"]
    print_table([{"kind": k, **v, "baseline caught": d["baseline_by_kind"][k].get("caught_before_failure"),
                  "baseline false alarms": d["baseline_by_kind"][k]["false_alarms"]}
                 for k, v in d["by_kind"].items()], cols)
    for k, v in sc.items():
        if k != "default":
            print(f"{k}: {v['overall']['incidentml default']}")
    print("goals:", _goals(d["goals"]))
    result["seconds"] = time.perf_counter() - t0
    print(f"\n{result['seconds']:.0f} s")
    write_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
