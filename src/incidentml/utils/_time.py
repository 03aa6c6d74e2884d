"""Timestamps: every accepted form becomes float seconds since the Unix epoch (NaN = unknown)."""

from __future__ import annotations

import datetime as _dt
import math
import numbers
import re
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError, InvalidParameterError

__all__ = ["parse_times", "seconds_to_datetime64", "to_seconds", "to_seconds_array"]


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
    if not isinstance(t, (numbers.Real, np.datetime64, _dt.datetime, _dt.date, str)):
        raise DataError(f"Timestamp t must be a datetime, a pandas Timestamp, a numpy datetime64, an ISO 8601 "
                        f"string or seconds since the epoch. Got {type(t).__name__} {t!r}.")
    return float(parse_times([t], name="t")[0])


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
    return parse_times(arr, name="t")


# Epoch-number cut points on the median magnitude of the finite values of a column.
_EPOCH_CUTS = ((1e11, 1e6), (1e14, 1e3), (1e17, 1.0))  # (bound, microseconds per unit)
_AMBIGUOUS = re.compile(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(.*)$")


def _fail(name: str, i: int, value: Any, extra: str = "") -> DataError:
    msg = (f"Column {name!r} row {i} holds {value!r}, which is not a timestamp (it cannot be parsed{extra}). "
           "Use ISO 8601 (2024-01-01T12:00:00), seconds since the epoch, or pass time_format= ('%d/%m/%Y').")
    return DataError(msg)


def _epoch_us(arr: np.ndarray) -> np.ndarray:
    x = arr.astype(np.float64)
    finite = np.isfinite(x)
    if not finite.any():
        return x
    m = float(np.median(np.abs(x[finite])))
    per = 1e-3
    for bound, us in _EPOCH_CUTS:
        if m < bound:
            per = us
            break
    return x * per


def _datetimes_us(arr: np.ndarray) -> np.ndarray:
    us = arr.astype("datetime64[us]")
    out = us.view(np.int64).astype(np.float64)
    out[np.isnat(us)] = np.nan
    return out


def _series_us(parsed: pd.Series) -> np.ndarray:
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return _datetimes_us(parsed.to_numpy())


def _one_us(v: Any, i: int, name: str, time_format: str | None, errors: str = "raise") -> float:
    try:
        if time_format is not None and isinstance(v, str):
            d = _dt.datetime.strptime(v, time_format)
            ts = pd.Timestamp(d)
        else:
            ts = pd.Timestamp(v)
    except (ValueError, TypeError, OverflowError, NotImplementedError, pd.errors.OutOfBoundsDatetime):
        if errors == "coerce":
            return float("nan")
        raise _fail(name, i, v, "" if time_format is None else f" in the format {time_format!r}") from None
    if ts is pd.NaT:
        return float("nan")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return float(ts.as_unit("us").asm8.view(np.int64))


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NaT or (isinstance(v, str) and not v.strip()):
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, np.datetime64) and bool(np.isnat(v))


def _reorder_day_first(vals: list[Any], name: str) -> list[Any]:
    matches = [(i, _AMBIGUOUS.match(v)) if isinstance(v, str) else (i, None) for i, v in enumerate(vals)]
    hits = [(i, m) for i, m in matches if m is not None]
    if not hits:
        return vals
    day_first = [i for i, m in hits if int(m.group(1)) > 12]
    month_first = [i for i, m in hits if int(m.group(3)) > 12]
    if day_first and month_first:
        msg = (f"Column {name!r} mixes day-first (row {day_first[0]}: {vals[day_first[0]]!r}) and month-first "
               f"(row {month_first[0]}: {vals[month_first[0]]!r}) dates. Pass time_format= (--time-format), "
               "for example '%d/%m/%Y', or use ISO 8601.")
        raise DataError(msg)
    if not day_first and not month_first and any(int(m.group(1)) != int(m.group(3)) for _, m in hits):
        i = next(i for i, m in hits if int(m.group(1)) != int(m.group(3)))
        msg = (f"Column {name!r} holds dates such as {vals[i]!r} (row {i}) that read both day-first and "
               "month-first. Pass time_format= (--time-format), for example '%d/%m/%Y' or '%m/%d/%Y', "
               "or use ISO 8601.")
        raise DataError(msg)
    out = list(vals)
    for i, m in hits:
        a, b = (m.group(3), m.group(1)) if day_first else (m.group(1), m.group(3))
        out[i] = f"{m.group(4)}-{int(a):02d}-{int(b):02d}{m.group(5)}"
    return out


def seconds_to_datetime64(seconds: Any) -> np.ndarray:
    """Float seconds since the epoch as ``datetime64[us]`` (UTC, NaT where NaN), correct from 1677 to 9999.

    The inverse of :func:`parse_times`, for tables and plots: unlike a cast through nanoseconds
    it never wraps past 2262.

    Parameters
    ----------
    seconds : array-like of float
        Seconds since the Unix epoch; NaN is a missing time.

    Returns
    -------
    numpy.ndarray of dtype ``datetime64[us]``

    Examples
    --------
    >>> seconds_to_datetime64([0.5, float("nan"), 10413792000.0])
    array(['1970-01-01T00:00:00.500000',                        'NaT',
           '2300-01-01T00:00:00.000000'], dtype='datetime64[us]')
    """
    x = np.asarray(seconds, dtype=np.float64).reshape(-1)
    finite = np.isfinite(x) & (np.abs(x) < 9.2e12)  # int64 microseconds hold +-290,000 years
    us = np.zeros(x.shape, dtype=np.int64)
    us[finite] = np.round(x[finite] * 1e6).astype(np.int64)
    out = us.astype("datetime64[us]")
    out[~finite] = np.datetime64("NaT")
    return out


def parse_times(values: Any, *, time_format: str | None = None, name: str = "timestamp",
                errors: str = "raise") -> np.ndarray:
    """Parse timestamps of any accepted form into float seconds since the Unix epoch (NaN = missing).

    One parser for every route (API, command line, fleet). Values are held as int64 microseconds
    internally, so every time from 1677-09-22 to 9999-12-31 is read correctly.

    Parameters
    ----------
    values : array-like of shape (n,)
        Datetimes, dates, ``numpy.datetime64`` of any unit, :class:`pandas.Timestamp`, strings
        or numbers of time since the epoch.
    time_format : str or None, default=None
        A :func:`datetime.datetime.strptime` format (for example ``"%d/%m/%Y"``); every string
        must then match it exactly.
    name : str, default="timestamp"
        The column name used in error messages.
    errors : {"raise", "coerce"}, default="raise"
        What a cell that is not a timestamp gives: a :class:`DataError` naming its row, or NaN
        (for callers that count such cells and report them). Ambiguous day-first dates and
        bools raise either way.

    Returns
    -------
    numpy.ndarray of shape (n,)
        Float seconds since the epoch, NaN where a value is missing (None, NaN, NaT, '').

    Raises
    ------
    DataError
        A value is not a timestamp (the message names its row and value), a bool is given, or
        ``dd/mm/YYYY``-like dates cannot be read one way only.

    Notes
    -----
    - Numbers: the unit is chosen once for the whole column from the median magnitude ``m`` of
      the finite values: ``m < 1e11`` seconds (up to year 5138), ``m < 1e14`` milliseconds,
      ``m < 1e17`` microseconds, otherwise nanoseconds. Small numbers (0..3600) are seconds.
    - Strings ``a/b/YYYY`` (``/``, ``.`` or ``-``): day-first if some ``a > 12``, month-first if
      some ``b > 12``; both, or neither, is refused: pass ``time_format=`` (neither is accepted when
      every such date has ``a == b``, as ``01/01/2024``: it reads the same both ways). ISO 8601 is
      never ambiguous.
    - Aware values (offsets, ``Z``, tz-aware datetimes, mixed offsets) are converted to UTC;
      naive values are taken as UTC.

    Examples
    --------
    >>> parse_times(["1970-01-01T00:01:00Z", None, "1970-01-01T01:00:00+01:00"])
    array([60., nan,  0.])
    >>> parse_times([60_000, 120_000])  # milliseconds, read from the magnitude
    array([ 60000., 120000.])
    >>> parse_times([1_700_000_000_000])
    array([1.7e+09])
    >>> float(parse_times(["2300-01-01"])[0])
    10413792000.0
    >>> parse_times(["25/12/2024", "01/02/2024"])[1]
    np.float64(1706745600.0)
    """
    if errors not in ("raise", "coerce"):
        msg = f"The 'errors' parameter of parse_times must be one of 'raise', 'coerce'. Got {errors!r} instead."
        raise InvalidParameterError(msg)
    if isinstance(values, (pd.Series, pd.Index)):
        series = pd.Series(values).reset_index(drop=True)
    else:
        arr = np.asarray(values) if not isinstance(values, (list, tuple)) else None
        if arr is not None and arr.ndim == 0:
            arr = arr.reshape(1)
        series = pd.Series(arr if arr is not None else list(values), dtype=None if arr is not None else object)
    dtype = series.dtype
    if time_format is None and len(series) and pd.api.types.infer_dtype(series, skipna=True) == "string":
        try:  # fast path: a whole column of ISO 8601 text (never ambiguous); anything else goes below
            fast = pd.to_datetime(series, utc=True, format="ISO8601")
            if not (fast.isna() & series.notna()).any():
                return _series_us(fast) / 1e6
        except (ValueError, TypeError, OverflowError, NotImplementedError, pd.errors.OutOfBoundsDatetime):
            pass
    if dtype.kind == "b":
        raise DataError(f"Column {name!r} holds booleans, not timestamps. Give datetimes, ISO 8601 strings or "
                        "seconds since the epoch.")
    if dtype.kind in "iuf":
        return _epoch_us(series.to_numpy()) / 1e6
    if dtype.kind == "M" or isinstance(dtype, pd.DatetimeTZDtype):
        return _series_us(series) / 1e6
    vals = list(series.to_numpy(dtype=object))
    n = len(vals)
    out = np.full(n, np.nan)
    present = [i for i in range(n) if not _is_missing(vals[i])]
    for i in present:
        if isinstance(vals[i], (bool, np.bool_)):
            raise DataError(f"Column {name!r} row {i} holds the bool {vals[i]!r}, not a timestamp.")
    nums = [i for i in present if isinstance(vals[i], numbers.Real) and not isinstance(vals[i], np.datetime64)]
    if nums:
        out[nums] = _epoch_us(np.array([float(vals[i]) for i in nums])) / 1e6
    numeric = set(nums)
    rest = [i for i in present if i not in numeric] if nums else present
    if not rest:
        return out
    sub = [vals[i] for i in rest]
    if time_format is None:
        sub = _reorder_day_first(sub, name)
    try:
        if time_format is None:
            parsed = pd.to_datetime(pd.Series(sub, dtype=object), utc=True, format="ISO8601")
        else:
            parsed = pd.to_datetime(pd.Series(sub, dtype=object), utc=True, format=time_format)
        us = _series_us(parsed)
    except (ValueError, TypeError, OverflowError, NotImplementedError, pd.errors.OutOfBoundsDatetime):
        us = np.array([_one_us(v, rest[k], name, time_format, errors) for k, v in enumerate(sub)])
    out[rest] = us / 1e6
    return out
