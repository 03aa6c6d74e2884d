"""``incidentml detect``: score every row of one entity's metrics."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

from ..exceptions import IncidentMLWarning
from ._common import CLIError, read_table

__all__ = ["register"]


def register(jobs: Any) -> None:
    """Add the ``detect`` job to ``jobs``."""
    p = jobs.add_parser("detect", help="score metric rows for anomalies (0..1) and name the top metric",
                        description="Score one entity's metrics row by row, in time order. Every numeric column "
                                    "other than the time column is a metric. The output keeps every input column "
                                    "and adds score (0..1), is_anomaly and top_metric.")
    p.add_argument("--input", required=True, help="CSV with a time column and one numeric column per metric")
    p.add_argument("--output", required=True, help="CSV to write (input rows in input order, plus the scores)")
    p.add_argument("--time-col", default="timestamp", help="name of the time column (default: timestamp)")
    p.add_argument("--detector", default="default", help="detector name (see 'incidentml detect --list')")
    p.add_argument("--threshold", type=float, default=None,
                   help="is_anomaly means score >= threshold (default 0.5; scores are calibrated per series, so one "
                        "threshold fits every series)")
    p.set_defaults(func=_detect)


def _detect(args: Any) -> int:
    from ..anomaly._frame import DEFAULT_THRESHOLD, score_frame
    from ..anomaly._registry import available_detectors

    if args.detector not in available_detectors():
        raise CLIError(f"--detector: unknown detector {args.detector!r}. Choose one of: "
                       f"{', '.join(available_detectors())}.")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise CLIError(f"--threshold must be between 0 and 1 (scores are calibrated to [0, 1]). Got {args.threshold:g}.")
    frame = read_table(args.input, what="--input")
    if args.time_col not in frame.columns:
        raise CLIError(f"--time-col: column {args.time_col!r} is not in '{args.input}' (columns: "
                       f"{', '.join(map(str, list(frame.columns)[:10]))}). Name the time column with --time-col.")
    if frame.empty:
        raise CLIError(f"--input: '{args.input}' has a header but no rows.")
    ignored = [c for c in frame.columns if c != args.time_col and frame[c].dtype.kind not in "biuf"]
    if ignored:
        warnings.warn(f"ignoring non-numeric column(s) {', '.join(map(repr, ignored[:5]))}", IncidentMLWarning,
                      stacklevel=1)
    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    result = score_frame(frame, time_col=args.time_col, detector=args.detector, threshold=threshold)
    out = frame.copy()
    for col in ("score", "is_anomaly", "top_metric"):
        name = col if col not in frame.columns else f"{col}_detected"
        out[name] = result[col].to_numpy()
    path = Path(args.output)
    if path.parent and not path.parent.exists():
        raise CLIError(f"--output: folder '{path.parent}' does not exist.")
    out.to_csv(path, index=False)
    n = int(result["is_anomaly"].sum())
    sys.stderr.write(f"incidentml: scored {len(out)} rows of {len(frame.columns) - 1 - len(ignored)} metric(s); "
                     f"{n} at or above {threshold:g}; wrote {path}\n")
    return 0
