"""Detector speed: points per second of every detector next to river's HalfSpaceTrees, same process.

Two routes are timed:

* **loop**: ``score_one(x, t)`` then ``learn_one(x, t)`` per point, the way a service feeds a
  detector; river's ``HalfSpaceTrees`` behind a ``MinMaxScaler`` (default settings) is timed the
  same way, interleaved with ours, and every loop speed is also given as a ratio to it.
* **batch**: ``score_many(values, t)`` over a long array, which gives the loop's answers in one call.

The data is a seeded random walk with noise and a daily cycle at one-minute steps (speed does not
depend on the data's meaning, and this needs nothing outside the repository). Each measurement is
the median of ``--repeats`` interleaved rounds; the machine is shared, so ratios measured in the same
run are what to compare.

Run: ``python benchmarks/detector_speed.py [--json PATH] [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, print_table, write_json  # noqa: E402

from incidentml.anomaly import RiverDetector, available_detectors, make_detector  # noqa: E402
from incidentml.anomaly._jit import HAVE_NUMBA  # noqa: E402

GOAL_LOOP_RATIO = 1.5
GOAL_BATCH = 1_000_000


def stream(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    values = 100 + np.cumsum(rng.normal(0, 0.05, n)) + 5 * np.sin(2 * np.pi * i / 1440) + rng.normal(0, 1, n)
    times = 1_700_000_000.0 + 60.0 * i
    return values, times


def hst() -> Any:
    from river import anomaly, compose, preprocessing

    return compose.Pipeline(preprocessing.MinMaxScaler(), anomaly.HalfSpaceTrees(seed=0))


def time_loop(make: Any, values: np.ndarray, times: np.ndarray, warm: int = 200) -> float:
    det = make()
    for v, t in zip(values[:warm].tolist(), times[:warm].tolist()):  # first-call costs (JIT load, river setup)
        det.score_one({"value": v}, t) if not hasattr(det, "steps") else det.score_one({"value": v})
        det.learn_one({"value": v}, t) if not hasattr(det, "steps") else det.learn_one({"value": v})
    vals, ts = values[warm:].tolist(), times[warm:].tolist()
    start = time.perf_counter()
    if hasattr(det, "steps"):  # a river pipeline: no timestamps
        for v in vals:
            x = {"value": v}
            det.score_one(x)
            det.learn_one(x)
    else:
        for v, t in zip(vals, ts):
            x = {"value": v}
            det.score_one(x, t)
            det.learn_one(x, t)
    return len(vals) / (time.perf_counter() - start)


def time_batch(name: str, values: np.ndarray, times: np.ndarray) -> float:
    make_detector(name).score_many(values[:1000], times[:1000])  # compile / load the kernels
    det = make_detector(name)
    start = time.perf_counter()
    det.score_many(values, times)
    return len(values) / (time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--quick", action="store_true", help="fewer points and rounds")
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args(argv)
    n_loop = 5_000 if args.quick else 20_000
    n_batch = 200_000 if args.quick else 2_000_000
    repeats = args.repeats or (1 if args.quick else 3)
    values, times = stream(max(n_loop, n_batch))
    names = available_detectors()
    loops: dict[str, list[float]] = {"river HalfSpaceTrees": []}
    batches: dict[str, list[float]] = {}
    for _ in range(repeats):  # interleaved rounds
        loops["river HalfSpaceTrees"].append(time_loop(hst, values[:n_loop], times[:n_loop]))
        for name in names:
            loops.setdefault(name, []).append(time_loop(lambda name=name: make_detector(name), values[:n_loop],
                                                        times[:n_loop]))
            # river-based detectors score point by point in Python: a shorter batch is enough to time them
            python_only = isinstance(make_detector(name), RiverDetector)
            n = n_batch if name in ("default", "robust") else min(n_batch, n_loop if python_only else 200_000)
            batches.setdefault(name, []).append(time_batch(name, values[:n], times[:n]))
    base = statistics.median(loops["river HalfSpaceTrees"])
    rows = []
    for name, speeds in loops.items():
        loop = statistics.median(speeds)
        batch = statistics.median(batches[name]) if name in batches else None
        rows.append({"detector": name, "loop_points_per_s": loop, "loop_ratio_to_hst": loop / base,
                     "batch_points_per_s": batch})
    print(f"Detector speed ({'numba' if HAVE_NUMBA else 'pure Python'} kernels; loop {n_loop:,} points, batch up to "
          f"{n_batch:,}; median of {repeats})")
    print_table(rows, ["detector", "loop_points_per_s", "loop_ratio_to_hst", "batch_points_per_s"])
    default = next(r for r in rows if r["detector"] == "default")
    goals = {"loop_ratio_to_hst >= 1.5": default["loop_ratio_to_hst"] >= GOAL_LOOP_RATIO,
             "batch >= 1M points/s": (default["batch_points_per_s"] or 0) >= GOAL_BATCH}
    print("goals:", ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in goals.items()))
    write_json({"benchmark": "detector_speed", "numba": HAVE_NUMBA, "loop_points": n_loop, "batch_points": n_batch,
                "repeats": repeats, "results": rows, "goals": goals, "machine": machine_info()}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
