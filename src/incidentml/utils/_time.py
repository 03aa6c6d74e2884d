"""Timestamps: every accepted form becomes float seconds since the Unix epoch (NaN = unknown)."""

from __future__ import annotations

import datetime as _dt
import numbers
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError

__all__ = ["to_seconds", "to_seconds_array"]


def to_seconds(t: Any) -> float:
    """Seconds since the epoch for one timestamp; ``None`` gives NaN (time unknown).

    Parameters
    ----------
    t : datetime, pandas.Timestamp, numpy.datetime64, str, float or None
        A :class:`datetime.datetime` (naive means UTC), a :class:`pandas.Timestamp`, a
        :class:`numpy.datetime64`, an ISO 8601 string, or a number of seconds since the epoch.

    Returns
    -------
    float
        Seconds since the Unix epoch; NaN for ``None`` or a missing time.

    Examples
    --------
    >>> to_seconds("1970-01-01T00:01:00")
    60.0
    >>> to_seconds(None)
    nan
    """
    if t is None:
        return float("nan")
    if isinstance(t, bool):
        raise DataError(f"Timestamp t must be a datetime, a numpy datetime64, or seconds since the epoch. Got {t!r}.")
    if isinstance(t, numbers.Real):
        return float(t)
    if isinstance(t, np.datetime64):
        if np.isnat(t):
            return float("nan")
        return float(t.astype("datetime64[ns]").astype(np.int64)) / 1e9
    if isinstance(t, (_dt.datetime, _dt.date, str)):
        try:
            ts = pd.Timestamp(t)
        except (ValueError, TypeError) as exc:
            raise DataError(f"Timestamp t={t!r} cannot be parsed: {exc}. Give an ISO 8601 string, a datetime or "
                            "seconds since the epoch.") from None
        if ts is pd.NaT:
            return float("nan")
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return ts.value / 1e9
    raise DataError(f"Timestamp t must be a datetime, a pandas Timestamp, a numpy datetime64, an ISO 8601 string or "
                    f"seconds since the epoch. Got {type(t).__name__} {t!r}.")


def to_seconds_array(t: Any, n: int) -> np.ndarray:
    """Seconds since the epoch for a sequence of ``n`` timestamps (``None`` gives all NaN).

    Parameters
    ----------
    t : array-like of shape (n,) or None
        Datetimes, ISO 8601 strings or seconds since the epoch (``datetime64`` arrays, Series and
        Index included). ``None`` means the times are unknown.
    n : int
        The number of rows the timestamps belong to; ``t`` must have that length.

    Returns
    -------
    numpy.ndarray of shape (n,)
        Float seconds since the epoch, NaN where a time is missing.

    Examples
    --------
    >>> to_seconds_array(["1970-01-01T00:01:00", None], 2)
    array([60., nan])
    >>> to_seconds_array(None, 3)
    array([nan, nan, nan])
    >>> to_seconds_array([0, 60], 3)
    Traceback (most recent call last):
    ...
    incidentml.exceptions.DataError: Timestamps t must be one per row: got shape (2,) for 3 rows. ...
    """
    if t is None:
        return np.full(n, np.nan)
    if isinstance(t, (pd.Series, pd.Index)):
        t = t.to_numpy()
    arr = np.asarray(t)
    if arr.ndim != 1 or len(arr) != n:
        raise DataError(f"Timestamps t must be one per row: got shape {arr.shape} for {n} rows. "
                        "Pass a 1-D sequence as long as the data.")
    if arr.dtype.kind == "M":
        out = arr.astype("datetime64[ns]").astype(np.int64).astype(np.float64) / 1e9
        out[np.isnat(arr)] = np.nan
        return out
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    try:
        idx = pd.to_datetime(pd.Series(arr), utc=True, errors="raise")
    except (ValueError, TypeError) as exc:
        raise DataError(f"Timestamps t cannot be parsed ({exc}). Give datetimes, ISO 8601 strings or seconds "
                        "since the epoch.") from None
    out = idx.dt.tz_localize(None).to_numpy().astype("datetime64[ns]")
    res = out.astype(np.int64).astype(np.float64) / 1e9
    res[np.isnat(out)] = np.nan
    return res
