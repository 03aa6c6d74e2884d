"""``incidentml detect``: score every row of one entity's metrics."""

from __future__ import annotations

import sys
from typing import Any

from ._common import CLIError
from ._metrics import add_metric_options, check_detector, check_output, read_metrics

__all__ = ["register"]


def register(jobs: Any) -> None:
    """Add the ``detect`` job to ``jobs``."""
    p = jobs.add_parser("detect", help="score metric rows for anomalies (0..1) and name the top metric",
                        description="Score one entity's metrics row by row, in time order. Every numeric column "
                                    "other than the time column is a metric. The output keeps every input column "
                                    "and adds score (0..1), is_anomaly and top_metric.")
    add_metric_options(p, "CSV to write (input rows in input order, plus the scores)")
    p.add_argument("--threshold", type=float, default=None,
                   help="is_anomaly means score >= threshold (default 0.5; scores are calibrated per series, so one "
                        "threshold fits every series)")
    p.set_defaults(func=_detect)


def _detect(args: Any) -> int:
    from ..anomaly import DEFAULT_THRESHOLD, score_frame

    check_detector(args.detector)
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise CLIError("--threshold must be between 0 and 1 (scores are calibrated to [0, 1]). "
                       f"Got {args.threshold:g}.")
    path = check_output(args.output)
    frame, metrics = read_metrics(args)
    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    result = score_frame(frame, time_col=args.time_col, metrics=metrics, detector=args.detector, threshold=threshold)
    out = frame.copy()
    for col in ("score", "is_anomaly", "top_metric"):
        name = col if col not in frame.columns else f"{col}_detected"
        out[name] = result[col].to_numpy()
    out.to_csv(path, index=False)
    n = int(result["is_anomaly"].sum())
    sys.stderr.write(f"incidentml: scored {len(out)} rows of {len(metrics)} metric(s); "
                     f"{n} at or above {threshold:g}; wrote {path}\n")
    return 0
