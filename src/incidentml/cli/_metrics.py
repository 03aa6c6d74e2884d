"""What the metric commands (``detect``, ``incidents``) share: their options and reading their table.

A column is a metric when it holds numbers. A text column that holds mostly numbers is a metric
too: its cells that read as missing (``NaN``, ``None``, ``null``, ``NA``, as ``pandas.read_csv``
reads them by default) are missing points, counted and reported; any other text in it is refused
with its line and value, as :func:`~incidentml.anomaly.score_frame` refuses it. Text and true/false
columns are not metrics: they are named in a warning and in the summary line. Rows without a
timestamp (or, with ``--entity-col``, without an entity) are not scored, and are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import IgnoredColumnsWarning, SkippedRowsWarning
from ..utils import column_seconds
from ._common import CLIError, Notes, add_strict_option, check_output_path, data_line, read_table

__all__ = ["MetricInput", "add_metric_options", "check_detector", "check_output", "read_metrics"]

#: Cells of a numeric column read as a missing point: pandas.read_csv's default missing-value words.
MISSING_WORDS = frozenset({"nan", "-nan", "+nan", "none", "null", "na", "n/a", "<na>", "#n/a", "#na", "nat",
                           "1.#ind", "-1.#ind", "1.#qnan", "-1.#qnan"})
_BOOL_WORDS = frozenset({"true", "false"})


def add_metric_options(p: Any, output_help: str) -> None:
    """``--input``, ``--output``, ``--time-col``, ``--detector``, ``--encoding`` and ``--strict``."""
    from ..anomaly import available_detectors

    p.add_argument("--input", required=True, help="CSV with a time column and one numeric column per metric")
    p.add_argument("--output", required=True, help=output_help)
    p.add_argument("--time-col", default="timestamp", help="name of the time column (default: timestamp)")
    p.add_argument("--detector", default="default",
                   help=f"detector name (default: default; one of {', '.join(available_detectors())})")
    p.add_argument("--encoding", default=None,
                   help="text encoding of --input (default: UTF-8; a file that is not is refused, never read with "
                        "replacement characters), e.g. latin-1 or cp1252; the output is written in it too")
    p.add_argument("--time-format", default=None, metavar="FORMAT",
                   help="strptime format of the time column, e.g. %%d/%%m/%%Y %%H:%%M (default: ISO 8601, epoch "
                        "s/ms/us/ns read from their magnitude, or a/b/YYYY dates when the column says which is the "
                        "day; ambiguous ones are refused and need this option); offsets are converted to UTC")
    add_strict_option(p)


def check_detector(name: str) -> None:
    from ..anomaly import available_detectors

    if name not in available_detectors():
        raise CLIError(f"--detector: unknown detector {name!r}. Choose one of: {', '.join(available_detectors())}.")


def check_output(path: str, inputs: list[str] | None = None) -> Path:
    """``--output`` checked before any work (see :func:`check_output_path`)."""
    return check_output_path(path, "--output", inputs or [])


@dataclass
class MetricInput:
    """The ``--input`` table as read, the metric values used, and what was not used."""

    frame: pd.DataFrame
    data: pd.DataFrame
    metrics: list[str]
    used: np.ndarray
    notes: Notes
    ignored: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """``"metric(s) a, b; ignored column(s) host (text)"`` for the summary line."""
        text = f"{len(self.metrics)} metric(s) ({', '.join(map(str, self.metrics[:8]))}" + \
            (", ..." if len(self.metrics) > 8 else "") + ")"
        if self.ignored:
            text += "; ignored column(s): " + ", ".join(f"{c} ({why})" for c, why in self.ignored.items())
        return text


def _lower(col: pd.Series) -> pd.Series:
    return col.astype(str).str.strip().str.lower().where(col.notna(), "")


def _blank(col: pd.Series) -> np.ndarray:
    if col.dtype.kind == "O":
        return (col.isna() | (col.astype(str).str.strip() == "")).to_numpy()
    return col.isna().to_numpy()


def read_metrics(args: Any, entity_col: str | None = None) -> MetricInput:
    """Read ``--input``; check the time (and entity) column; sort the columns into metrics and ignored ones."""
    source = f"--input '{args.input}'"
    frame = read_table(args.input, what="--input", encoding=getattr(args, "encoding", None),
                       encoding_option="--encoding")
    for col, opt in ((args.time_col, "--time-col"), (entity_col, "--entity-col")):
        if col is not None and col not in frame.columns:
            raise CLIError(f"{opt}: column {col!r} is not in '{args.input}' (columns: "
                           f"{', '.join(map(str, list(frame.columns)[:10]))}). Name it with {opt}.")
    notes = Notes(getattr(args, "strict", False), source)
    skip = {args.time_col, entity_col}
    data = frame.copy()
    metrics: list[str] = []
    ignored: dict[str, str] = {}
    for c in frame.columns:
        if c in skip:
            continue
        col = frame[c]
        kind = col.dtype.kind
        if kind == "b":
            ignored[c] = "bool"
            continue
        if kind in "iuf":
            metrics.append(c)
            continue
        words = _lower(col)
        given = words != ""
        if given.any() and words[given].isin(_BOOL_WORDS).all():
            ignored[c] = "bool"
            continue
        numbers = pd.to_numeric(col.where(given), errors="coerce")
        is_number = numbers.notna()
        missing = given & ~is_number & words.isin(MISSING_WORDS)
        text = given & ~is_number & ~missing
        if not is_number.any() or int(text.sum()) >= int(is_number.sum()):
            ignored[c] = "text"
            continue
        if text.any():
            i = int(np.flatnonzero(text.to_numpy())[0])
            raise CLIError(f"--input: metric column {c!r} must be numeric; line {data_line(i)} holds "
                           f"{col.iloc[i]!r} ({int(text.sum())} such cell(s)). Convert it, empty the cell (a missing "
                           "point), or drop the column.")
        if missing.any():
            i = int(np.flatnonzero(missing.to_numpy())[0])
            notes.add(f"{int(missing.sum())} cell(s) of {c!r} read as missing points (e.g. {col.iloc[i]!r} on "
                      f"line {data_line(i)})", SkippedRowsWarning)
        data[c] = numbers.astype(np.float64)
        metrics.append(c)
    text_cols = [c for c, why in ignored.items() if why == "text"]
    bool_cols = [c for c, why in ignored.items() if why == "bool"]
    if text_cols:
        notes_warn(f"ignoring non-numeric column(s) {', '.join(map(repr, text_cols[:5]))}")
    if bool_cols:
        notes_warn(f"ignoring bool column(s) {', '.join(map(repr, bool_cols[:5]))} (true/false values are not "
                   "metrics)")
    if not metrics:
        raise CLIError(f"--input: '{args.input}' has no numeric metric column besides the time column. Add at least "
                       "one numeric column (one column per metric).")
    used = np.ones(len(frame), dtype=bool)
    for col, what in ((args.time_col, "timestamp"), (entity_col, "entity")):
        if col is None:
            continue
        blank = _blank(frame[col])
        if blank.any():
            i = int(np.flatnonzero(blank)[0])
            notes.add(f"{int(blank.sum())} row(s) with no {what} in {col!r}, not scored (e.g. line {data_line(i)})",
                      SkippedRowsWarning)
            used &= ~blank
    if not used.any():
        raise CLIError(f"--input: no row of '{args.input}' can be scored ({', '.join(notes.items)}).")
    if args.time_col is not None:
        # one parser for every route: the scored copy holds the parsed times as datetime64[us] (correct from
        # 1677 to 9999), the output keeps the input's own text
        secs = column_seconds(frame.loc[used], args.time_col, time_format=getattr(args, "time_format", None))
        micros = np.zeros(len(frame), dtype=np.int64)
        micros[used] = np.round(secs * 1e6).astype(np.int64)
        data[args.time_col] = pd.Series(micros.astype("datetime64[us]"), index=data.index)
    return MetricInput(frame=frame, data=data, metrics=metrics, used=used, notes=notes, ignored=ignored)


def notes_warn(text: str) -> None:
    """A column that is not a metric: a warning only (its values are kept in the output, never scored)."""
    import warnings

    warnings.warn(text, IgnoredColumnsWarning, stacklevel=3)
