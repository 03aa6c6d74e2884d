"""What the metric commands (``detect``, ``incidents``) share: their options and reading their table."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import IncidentMLWarning
from ._common import CLIError, read_table

__all__ = ["add_metric_options", "check_detector", "check_output", "read_metrics"]


def add_metric_options(p: Any, output_help: str) -> None:
    """``--input``, ``--output``, ``--time-col`` and ``--detector``."""
    from ..anomaly import available_detectors

    p.add_argument("--input", required=True, help="CSV with a time column and one numeric column per metric")
    p.add_argument("--output", required=True, help=output_help)
    p.add_argument("--time-col", default="timestamp", help="name of the time column (default: timestamp)")
    p.add_argument("--detector", default="default",
                   help=f"detector name (default: default; one of {', '.join(available_detectors())})")


def check_detector(name: str) -> None:
    from ..anomaly import available_detectors

    if name not in available_detectors():
        raise CLIError(f"--detector: unknown detector {name!r}. Choose one of: {', '.join(available_detectors())}.")


def check_output(path: str) -> Path:
    out = Path(path)
    if out.parent and not out.parent.exists():
        raise CLIError(f"--output: folder '{out.parent}' does not exist.")
    return out


def read_metrics(args: Any, entity_col: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Read ``--input``; check the time (and entity) column; return the frame and its numeric metrics.

    Non-numeric columns other than the time and entity columns are ignored with a warning.
    """
    frame = read_table(args.input, what="--input")
    for col, opt in ((args.time_col, "--time-col"), (entity_col, "--entity-col")):
        if col is not None and col not in frame.columns:
            raise CLIError(f"{opt}: column {col!r} is not in '{args.input}' (columns: "
                           f"{', '.join(map(str, list(frame.columns)[:10]))}). Name it with {opt}.")
    if frame.empty:
        raise CLIError(f"--input: '{args.input}' has a header but no rows.")
    skip = {args.time_col, entity_col}
    ignored = [c for c in frame.columns if c not in skip and frame[c].dtype.kind not in "biuf"]
    if ignored:
        warnings.warn(f"ignoring non-numeric column(s) {', '.join(map(repr, ignored[:5]))}", IncidentMLWarning,
                      stacklevel=1)
    metrics = [c for c in frame.columns if c not in skip and c not in ignored]
    if not metrics:
        raise CLIError(f"--input: '{args.input}' has no numeric metric column besides the time column. Add at least "
                       "one numeric column (one column per metric).")
    return frame, metrics
