"""The table layouts incidentml reads, validated once at every entry point.

*Wide* frames hold one entity's metrics: one row per timestamp, one numeric column per metric.
*Long* frames hold many series in the project's fixed schema, ``series_id``, ``timestamp``,
``value`` (each name overridable), with an optional ``entity`` column grouping series into hosts.
The detectors' frame helpers, the incident predictor and the command line all check their tables
here, so a missing column or an unreadable timestamp gets the same error everywhere.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError, IgnoredColumnsWarning, SchemaError
from ._time import parse_times

__all__ = ["LongSchema", "column_seconds", "metric_columns", "require_columns", "validate_long_frame",
           "validate_metric_frame"]


@dataclass(frozen=True)
class LongSchema:
    """Column names of a long-format metric frame.

    Parameters
    ----------
    series_col : str, default="series_id"
        Identifies a series (one metric of one entity).
    time_col : str, default="timestamp"
        Timestamps: ISO 8601 strings, datetimes or seconds since the epoch.
    value_col : str, default="value"
        The numeric value.
    entity_col : str or None, default=None
        Optional column grouping series into entities (hosts, services).
    time_format : str or None, default=None
        An exact :func:`datetime.datetime.strptime` format for text timestamps (``"%d/%m/%Y %H:%M"``),
        passed to :func:`parse_times`; ``None`` reads every accepted form.

    Examples
    --------
    >>> LongSchema().columns
    ['series_id', 'timestamp', 'value']
    >>> LongSchema(series_col="metric", entity_col="host").columns
    ['metric', 'timestamp', 'value', 'host']
    """

    series_col: str = "series_id"
    time_col: str = "timestamp"
    value_col: str = "value"
    entity_col: str | None = None
    time_format: str | None = None

    @property
    def columns(self) -> list[str]:
        """The key columns, in order (the entity column last, when set).

        Examples
        --------
        >>> LongSchema(entity_col="host").columns
        ['series_id', 'timestamp', 'value', 'host']
        """
        cols = [self.series_col, self.time_col, self.value_col]
        return cols + ([self.entity_col] if self.entity_col is not None else [])

    def options(self) -> dict[str, str]:
        """Column name to the option that names it (for error messages).

        Examples
        --------
        >>> LongSchema(time_col="ts").options()
        {'series_id': 'series_col', 'ts': 'time_col', 'value': 'value_col'}
        """
        out = {self.series_col: "series_col", self.time_col: "time_col", self.value_col: "value_col"}
        if self.entity_col is not None:
            out[self.entity_col] = "entity_col"
        return out


def _have(frame: pd.DataFrame) -> str:
    return ", ".join(map(repr, list(frame.columns)[:15]))


def require_columns(frame: pd.DataFrame, columns: Sequence[str], option: str) -> None:
    """Raise :class:`SchemaError` naming ``option`` when one of ``columns`` is not in ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to check.
    columns : sequence of str
        The columns it must have.
    option : str
        The option (or command-line flag) that names the columns, quoted in the error.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"a": [1]}), ["b"], "--time-col")
    Traceback (most recent call last):
    ...
    incidentml.exceptions.SchemaError: --time-col: column 'b' is not in the data (columns: 'a').
    """
    for c in columns:
        if c not in frame.columns:
            raise SchemaError(f"{option}: column {c!r} is not in the data (columns: {_have(frame)}).")


def column_seconds(frame: pd.DataFrame, time_col: str, *, time_format: str | None = None) -> np.ndarray:
    """A time column as float seconds since the epoch (NaN where the cell is empty).

    Parsed by :func:`parse_times` (epoch unit from magnitude, day-first dates decided or refused,
    UTC); a cell that is not a timestamp raises :class:`DataError` naming its row and value.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table holding the column.
    time_col : str
        The time column.
    time_format : str or None, default=None
        An exact format for the strings, passed to :func:`parse_times`.

    Returns
    -------
    numpy.ndarray of shape (len(frame),)

    Examples
    --------
    >>> column_seconds(pd.DataFrame({"t": ["1970-01-01T00:01:00", None]}), "t")
    array([60., nan])
    """
    require_columns(frame, [time_col], "time_col")
    return parse_times(frame[time_col], time_format=time_format, name=time_col)


def metric_columns(frame: pd.DataFrame, *, exclude: Sequence[Any] = ()) -> list[Any]:
    """The columns of ``frame`` that are metrics: numeric ones, but not true/false ones.

    The one rule every route uses when the metrics are not named. Columns other than
    ``exclude`` that are left out (true/false, text, datetimes) are named in an
    :class:`~incidentml.exceptions.IgnoredColumnsWarning`; pass them explicitly (as numbers) to
    score them.

    Parameters
    ----------
    frame : pandas.DataFrame
        A wide frame (one column per metric).
    exclude : sequence, default=()
        Columns that are not metrics by role (the time and entity columns); never warned about.

    Returns
    -------
    list
        The metric columns, in the frame's order.

    Examples
    --------
    >>> import warnings
    >>> frame = pd.DataFrame({"t": [0, 60], "cpu": [1.0, 2.0], "up": [True, False]})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     print(metric_columns(frame, exclude=["t"]))
    ['cpu']
    >>> print(caught[0].message)
    not metrics, not used: 'up' (true/false); pass metrics= to name the metric columns
    """
    skip = {c for c in exclude if c is not None}
    metrics, ignored = [], []
    for c in frame.columns:
        if c in skip:
            continue
        kind = frame[c].dtype.kind
        if kind in "iuf":
            metrics.append(c)
        else:
            why = {"b": "true/false", "M": "datetimes", "m": "durations"}.get(kind, "text")
            ignored.append(f"{c!r} ({why})")
    if ignored and metrics:
        shown = ", ".join(ignored[:6]) + (f" and {len(ignored) - 6} more" if len(ignored) > 6 else "")
        warnings.warn(f"not metrics, not used: {shown}; pass metrics= to name the metric columns",
                      IgnoredColumnsWarning, stacklevel=3)
    return metrics


def validate_metric_frame(frame: pd.DataFrame, *, time_col: str | None = "timestamp",
                          metrics: Sequence[str] | None = None) -> list[str]:
    """Check a wide metric frame and return its metric columns.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per timestamp, one numeric column per metric.
    time_col : str or None, default="timestamp"
        The time column, which must exist; ``None`` when the frame has none.
    metrics : sequence of str or None, default=None
        The metric columns; ``None`` means every numeric column other than ``time_col``.

    Returns
    -------
    list of str
        The metric columns.

    Examples
    --------
    >>> validate_metric_frame(pd.DataFrame({"timestamp": [0, 60], "cpu": [1.0, 2.0], "mem": [3.0, 4.0]}))
    ['cpu', 'mem']

    Columns that are not numbers (or are true/false) are not metrics, and are named:

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     print(validate_metric_frame(pd.DataFrame({"timestamp": [0, 60], "cpu": [1.0, 2.0], "host": ["a", "a"]})))
    ['cpu']
    >>> type(caught[0].message).__name__
    'IgnoredColumnsWarning'
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"frame must be a pandas DataFrame, got {type(frame).__name__}.")
    if time_col is not None and time_col not in frame.columns:
        raise SchemaError(f"Time column {time_col!r} is not in the data (columns: {list(frame.columns)[:10]}). "
                          "Name it with time_col / --time-col.")
    if metrics is None:
        metrics = metric_columns(frame, exclude=[time_col])
    else:
        missing = [m for m in metrics if m not in frame.columns]
        if missing:
            raise SchemaError(f"Metric column {missing[0]!r} is not in the data (columns: {list(frame.columns)[:10]}).")
    if not metrics:
        raise SchemaError("The data has no numeric metric column besides the time column. Add at least one numeric "
                          "column (one column per metric).")
    return list(metrics)


def validate_long_frame(frame: pd.DataFrame, schema: LongSchema | None = None, *,
                        options: dict[str, str] | None = None) -> LongSchema:
    """Check that a long-format frame has the schema's columns; returns the schema.

    Parameters
    ----------
    frame : pandas.DataFrame
        The long-format frame.
    schema : LongSchema or None, default=None
        Its column names; ``None`` means ``LongSchema()``.
    options : dict of str to str or None, default=None
        Renames the option an error message tells the user to set (by default the schema's
        field names, ``series_col``...; a function whose parameter is ``id_col`` passes
        ``{"series_col": "id_col"}``).

    Returns
    -------
    LongSchema
        The schema that was checked.

    Examples
    --------
    >>> validate_long_frame(pd.DataFrame({"series_id": ["a"], "timestamp": [0], "value": [1.0]}))
    LongSchema(series_col='series_id', time_col='timestamp', value_col='value', entity_col=None, time_format=None)
    >>> validate_long_frame(pd.DataFrame({"id": ["a"]}))
    Traceback (most recent call last):
    ...
    incidentml.exceptions.SchemaError: Column 'series_id' (series_col) is not in the data (columns: 'id'). ...
    """
    schema = schema or LongSchema()
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"frame must be a pandas DataFrame, got {type(frame).__name__}.")
    rename = options or {}
    for col, opt in schema.options().items():
        opt = rename.get(opt, opt)
        if col not in frame.columns:
            raise SchemaError(f"Column {col!r} ({opt}) is not in the data (columns: {_have(frame)}). "
                              f"Name it with {opt}=.")
    return schema
