"""NAB benchmark: every detector family next to river's HalfSpaceTrees, through the same harness.

For each detector, a fresh instance per file scores the 58 files of the Numenta Anomaly Benchmark
(values and timestamps only: no labels, names or categories), in parallel over files. Reported, per
profile (standard, reward_low_FP_rate, reward_low_FN_rate):

* **scoreboard**: one threshold per profile chosen over the whole corpus, as NAB does (comparable
  with NAB's published table);
* **honest**: the threshold chosen on one half of the files and applied to the other, both ways
  (``shared/docs/evaluation.md`` section 1);
* points per second inside ``score_many`` (sum over files).

The scorer is :mod:`incidentml.evaluation` (it reproduces NAB's published windowedGaussian and
bayesChangePt scores to 1e-4). ``hst_raw`` is river's ``HalfSpaceTrees`` behind a ``MinMaxScaler``
with default settings and no calibration: the plain river baseline. ``hst`` adds our likelihood step.

Run: ``python benchmarks/nab.py [--json PATH] [--shared DIR] [--detectors a,b,...] [--jobs N]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine_info, print_table, write_json  # noqa: E402

from incidentml.anomaly import available_detectors  # noqa: E402
from incidentml.evaluation import PROFILES, load_nab_corpus, nab_report, run_nab_detector  # noqa: E402

GOALS = {"standard": 72.0, "reward_low_FP_rate": 67.0, "reward_low_FN_rate": 76.0}
PUBLISHED = {  # NAB README / final_results.json, for context
    "ARTime": (74.9, 65.1, 80.4), "Numenta HTM": (70.1, 63.1, 74.3), "CAD OSE": (69.9, 67.0, 73.2),
    "KNN CAD": (58.0, 43.4, 64.8), "Relative Entropy": (54.6, 47.6, 58.8), "Windowed Gaussian": (39.6, 20.9, 47.4),
    "Random": (11.0, 1.2, 19.5),
}
SHORT = {"standard": "std", "reward_low_FP_rate": "lowFP", "reward_low_FN_rate": "lowFN"}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--detectors", default=None, help="comma-separated names (default: all, plus hst_raw)")
    ap.add_argument("--jobs", type=int, default=-1)
    ap.add_argument("--quick", action="store_true", help="only default and hst_raw")
    args = ap.parse_args(argv)
    nab = args.shared / "datasets" / "nab"
    if not (nab / "labels" / "combined_windows.json").exists():
        print(f"NAB data not found under {nab}; pass --shared DIR", file=sys.stderr)
        return 2
    corpus = load_nab_corpus(nab / "data", nab / "labels" / "combined_windows.json")
    names = (args.detectors.split(",") if args.detectors else
             (["default", "hst_raw"] if args.quick else available_detectors()))
    rows, results = [], {}
    for name in names:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # river's MinMaxScaler divides 0/0 on constant input
            scores, seconds = run_nab_detector(corpus, name, jobs=args.jobs)
        report = nab_report(scores, corpus)
        wall = time.perf_counter() - start
        results[name] = {**report, "points_per_second": corpus.n_rows / seconds, "wall_seconds": wall}
        row = {"detector": name}
        for p in PROFILES:
            row[SHORT[p]] = report["scoreboard"][p]
            row[f"honest_{SHORT[p]}"] = report["honest"][p]
        row["points_per_s"] = corpus.n_rows / seconds
        rows.append(row)
        print(f"  {name}: standard {row['std']:.2f} (honest {row['honest_std']:.2f}) in {wall:.0f} s", file=sys.stderr)
    print(f"NAB v1.1, {len(corpus)} files, {corpus.n_rows:,} points, {corpus.n_windows} windows; normalized scores")
    cols = ["detector", "std", "lowFP", "lowFN", "honest_std", "honest_lowFP", "honest_lowFN", "points_per_s"]
    print_table(rows, cols)
    print("\npublished (NAB scoreboard, for context): " + "; ".join(f"{k} {v[0]}/{v[1]}/{v[2]}"
                                                                      for k, v in PUBLISHED.items()))
    goals = {}
    if "default" in results:
        d = results["default"]
        for p, g in GOALS.items():
            goals[f"scoreboard {p} >= {g}"] = d["scoreboard"][p] >= g
            goals[f"honest {p} within 5 of scoreboard"] = d["scoreboard"][p] - d["honest"][p] <= 5
        print("goals:", ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in goals.items()))
    write_json({"benchmark": "nab", "files": len(corpus), "points": corpus.n_rows, "windows": corpus.n_windows,
                "detectors": results, "table": rows, "published": PUBLISHED, "goals": goals,
                "machine": machine_info()}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
