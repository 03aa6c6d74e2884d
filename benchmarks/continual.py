"""Continual learning: corrections, similar incidents and feedback on predicted incidents, one report.

Sections (each a module of this folder, runnable on its own):

* ``triage``: prequential replay of the Endava tickets with a category that appears half-way, and
  of the JIRA reports in time order: batch-only ``TriageModel`` vs ``TriageModel`` + ``OnlineTriage``
  (``_continual_triage.py``).
* ``similar``: ``SimilarIncidents`` retrieval quality (same category/team among the top 5) and
  latency over 100k incidents, against brute-force TF-IDF in the same run (``_continual_similar.py``).
* ``feedback``: false alarms per series-day and recall before/after marking each entity's first
  false alarms with ``IncidentPredictor.feedback`` (SMD-dev and generated days,
  ``_continual_feedback.py``).

Run from the repository root::

    python benchmarks/continual.py --json benchmarks/results/continual.json
    python benchmarks/continual.py --only similar --json benchmarks/results/continual.json  # merge one section
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, write_json  # noqa: E402

SECTIONS = ("triage", "similar", "feedback")


def _run_section(name: str, shared: Path) -> dict[str, Any]:
    module = __import__(f"_continual_{name}")
    t0 = time.perf_counter()
    res = module.run(shared, log=lambda *a, **k: print(*a, flush=True))
    res["seconds"] = time.perf_counter() - t0
    res["machine"] = machine_info()
    return res


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return "" if v is None else str(v)


def print_section(name: str, res: dict[str, Any]) -> None:
    print(f"\n== {name} ({res.get('seconds', 0):.0f} s) ==")
    rows = res.get("rows", [])
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols and not isinstance(r[k], (dict, list))]
    for r in rows:
        print("  " + "; ".join(f"{k}={_fmt(r.get(k))}" for k in cols if k in r))
    for goal, g in res.get("goals", {}).items():
        print(f"  goal {goal}: {'MET' if g.get('met') else 'MISSED'} ({g.get('goal')}; value {_fmt(g.get('value'))})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    ap.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections (repeatable)")
    ap.add_argument("--json", type=Path, default=None, help="write (merge) results here")
    args = ap.parse_args(argv)
    results: dict[str, Any] = {}
    if args.json is not None and args.json.exists() and args.only:
        results = json.loads(args.json.read_text()).get("sections", {})
    for name in args.only or SECTIONS:
        print(f"== running {name} ==", flush=True)
        results[name] = _run_section(name, args.shared)
    for name in SECTIONS:
        if name in results:
            print_section(name, results[name])
    goals = {f"{s}.{k}": v for s, r in results.items() for k, v in r.get("goals", {}).items()}
    met = sum(bool(g.get("met")) for g in goals.values())
    print(f"\ngoals met: {met} of {len(goals)}")
    write_json({"sections": results, "goals_met": met, "goals": len(goals)}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
