"""``incidentml detect``: score every row of one entity's metrics."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ._common import CLIError, atomic_output
from ._metrics import add_metric_options, check_detector, check_output, read_metrics

__all__ = ["register"]


def register(jobs: Any) -> None:
    """Add the ``detect`` job to ``jobs``."""
    p = jobs.add_parser("detect", help="score metric rows for anomalies (0..1) and name the top metric",
                        description="Score one entity's metrics row by row, in time order. Every numeric column "
                                    "other than the time column is a metric (true/false and text columns are not; "
                                    "the summary names both). The output keeps every input column and adds score "
                                    "(0..1), is_anomaly and top_metric; rows with no timestamp are not scored "
                                    "(empty score), and are counted. --strict makes any value left out an error.")
    add_metric_options(p, "CSV to write (input rows in input order, plus the scores)")
    p.add_argument("--threshold", type=float, default=None,
                   help="is_anomaly means score >= threshold (default 0.5; scores are calibrated per series, so one "
                        "threshold fits every series)")
    p.set_defaults(func=_detect)


def _detect(args: Any) -> int:
    import pandas as pd

    from ..anomaly import DEFAULT_THRESHOLD, score_frame

    check_detector(args.detector)
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise CLIError("--threshold must be between 0 and 1 (scores are calibrated to [0, 1]). "
                       f"Got {args.threshold:g}.")
    path = check_output(args.output, [args.input])
    table = read_metrics(args)
    frame, metrics, used = table.frame, table.metrics, table.used
    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    result = score_frame(table.data[used], time_col=args.time_col, metrics=metrics, detector=args.detector,
                         threshold=threshold)
    out = frame.copy()
    score = np.full(len(frame), np.nan)
    score[used] = result["score"].to_numpy()
    flag = pd.array([pd.NA] * len(frame), dtype="boolean")
    flag[used] = result["is_anomaly"].to_numpy()
    top = np.full(len(frame), "", dtype=object)
    top[used] = result["top_metric"].to_numpy()
    for col, values in (("score", score), ("is_anomaly", flag), ("top_metric", top)):
        out[col if col not in frame.columns else f"{col}_detected"] = values
    with atomic_output(path, "--output", encoding=args.encoding or "utf-8") as fh:
        out.to_csv(fh, index=False)
    n = int(result["is_anomaly"].sum())
    n_used = int(used.sum())
    rows = f"{n_used} rows" if n_used == len(frame) else f"{n_used} of {len(frame)} rows"
    sys.stderr.write(f"incidentml: scored {rows} of {table.describe()}; {n} at or above {threshold:g}"
                     f"{table.notes.summary()}; wrote {path}\n")
    return 0
