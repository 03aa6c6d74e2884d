"""Points and batches: what a detector reads, coerced to one shape.

A *point* ``x`` is a dict of metric name to float (a bare number means ``{"value": number}``); a
*batch* is anything with one row per point (an array, a Series, a DataFrame, a dict of arrays).
Every detector, the incident predictor and the command line read their inputs through these two
functions, so a value means the same everywhere.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError, SchemaError

__all__ = ["as_columns", "as_point"]


def as_point(x: Any) -> dict[str, float]:
    """Coerce one point to ``{name: float}``; a bare number becomes ``{"value": number}``.

    Non-finite values (NaN, inf, None) are kept as NaN: they are skipped by the detectors.

    Parameters
    ----------
    x : dict of str to float, or float
        One point: metric name to value, or a bare number.

    Returns
    -------
    dict of str to float

    Examples
    --------
    >>> as_point(3)
    {'value': 3.0}
    >>> as_point({"cpu": 0.5, "mem": None})
    {'cpu': 0.5, 'mem': nan}
    """
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return {"value": float(x)}
    if not isinstance(x, Mapping):
        raise DataError(f"A point x must be a dict of metric name to number (or a single number). Got "
                        f"{type(x).__name__} {x!r}.")
    out: dict[str, float] = {}
    for key, value in x.items():
        if value is None:
            out[str(key)] = math.nan
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            try:
                value = float(value)  # numpy scalars, numeric strings
            except (TypeError, ValueError):
                raise DataError(f"Metric {key!r} must be a number. Got {type(value).__name__} {value!r}: convert it or "
                                "leave the key out.") from None
        v = float(value)
        out[str(key)] = v if math.isfinite(v) else math.nan
    return out


def as_columns(X: Any) -> tuple[list[str], np.ndarray]:
    """Coerce a batch to ``(names, values)`` with ``values`` a float array of shape (n, k).

    Accepts a 1-D array or Series (one metric called ``"value"``, or the Series' name), a 2-D array
    (metrics ``x0``, ``x1``...), a DataFrame (every column a metric) or a dict of equal-length
    sequences. Non-finite values become NaN and are skipped by the detectors.

    Parameters
    ----------
    X : array-like of shape (n,) or (n, k), pandas.Series, pandas.DataFrame or dict of sequences
        The batch, one row per point.

    Returns
    -------
    names : list of str
        The metric names, one per column of ``values``.
    values : numpy.ndarray of shape (n, k)
        The values as float64, NaN where a value is missing or not finite.

    Examples
    --------
    >>> as_columns([1.0, 2.0])
    (['value'], array([[1.],
           [2.]]))
    >>> names, values = as_columns({"cpu": [0.5, float("inf")], "mem": [1, 2]})
    >>> names, values.shape, float(values[1, 0])
    (['cpu', 'mem'], (2, 2), nan)
    """
    if isinstance(X, pd.Series):
        X = pd.DataFrame({str(X.name) if X.name is not None else "value": X})
    if isinstance(X, Mapping):
        try:
            X = pd.DataFrame({str(k): np.asarray(v) for k, v in X.items()})
        except ValueError as exc:
            raise DataError(f"The metric sequences of X must all have the same length ({exc}).") from None
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        cols = []
        for name, col in zip(names, X.columns, strict=True):
            series = X[col]
            if series.dtype.kind not in "biuf":
                converted = pd.to_numeric(series, errors="coerce")
                blank = series.astype(str).str.strip() == ""  # an empty cell is a missing point
                bad = series[converted.isna() & series.notna() & ~blank]
                if len(bad):
                    raise DataError(f"Metric column {name!r} must be numeric; row {bad.index[0]!r} holds "
                                    f"{bad.iloc[0]!r}. Convert it, or drop the column.")
                series = converted
            cols.append(series.to_numpy(dtype=np.float64, na_value=np.nan))
        values = np.column_stack(cols) if cols else np.empty((len(X), 0))
    else:
        try:
            values = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"X must be numeric (an array, a DataFrame or a dict of arrays): {exc}.") from None
        if values.ndim == 1:
            values = values[:, None]
            names = ["value"]
        elif values.ndim == 2:
            names = [f"x{i}" for i in range(values.shape[1])]
        else:
            raise DataError(f"X must be 1-D or 2-D; got an array of shape {values.shape}.")
    if len(set(names)) != len(names):
        raise SchemaError(f"Metric names must be unique; got {names}.")
    values = np.where(np.isfinite(values), values, np.nan)
    return names, np.ascontiguousarray(values)
