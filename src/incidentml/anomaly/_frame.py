"""Score whole tables: a wide frame of one entity's metrics, or a long frame of many series.

Wide: one row per timestamp, one numeric column per metric of the same entity (the layout of
``incidentml detect``). Long: the project's fixed schema ``series_id``, ``timestamp``, ``value``
(names overridable), one detector per series.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._validation import Interval
from ..exceptions import DataError, InvalidParameterError, SkippedRowsWarning
from ..utils import (
    LongSchema,
    as_columns,
    column_seconds,
    seconds_to_datetime64,
    validate_long_frame,
    validate_metric_frame,
)
from ._calibration import DEFAULT_THRESHOLD
from ._registry import make_detector
from .base import AnomalyDetector

__all__ = ["DEFAULT_THRESHOLD", "score_frame", "score_long"]


def _detector(detector: str | AnomalyDetector) -> AnomalyDetector:
    if isinstance(detector, AnomalyDetector):
        return detector
    return make_detector(detector)


def _check_threshold(threshold: float) -> None:
    if threshold not in Interval(float, 0, 1):
        raise InvalidParameterError(f"The threshold must be a float in the range [0, 1]. Got {threshold!r} instead.")


def score_frame(frame: pd.DataFrame, *, time_col: str | None = "timestamp", metrics: list[str] | None = None,
                detector: str | AnomalyDetector = "default", threshold: float = DEFAULT_THRESHOLD,
                strict: bool = False, time_format: str | None = None) -> pd.DataFrame:
    """Score one entity's metrics, row by row in time order.

    Parameters
    ----------
    frame : DataFrame
        One row per point in time; each metric a numeric column.
    time_col : str or None, default="timestamp"
        Column of timestamps (ISO 8601 or epoch seconds); ``None`` scores rows in the given order.
    metrics : list of str, optional
        Metric columns; default: every numeric column other than ``time_col``.
    detector : str or AnomalyDetector, default="default"
        A name for :func:`make_detector` or a detector instance (which keeps learning).
    threshold : float, default=0.5
        ``is_anomaly`` is ``score >= threshold``.
    strict : bool, default=False
        Raise :class:`~incidentml.exceptions.DataError` instead of warning
        (:class:`~incidentml.exceptions.SkippedRowsWarning`) when rows have no timestamp.
    time_format : str or None, default=None
        An exact ``strptime`` format for text timestamps, for :func:`~incidentml.utils.parse_times`
        (needed when ``dd/mm/YYYY`` dates read both ways).

    Returns
    -------
    DataFrame
        Same index and row order as ``frame``, with columns ``score`` (0..1), ``is_anomaly`` and
        ``top_metric`` (the metric with the highest own score; empty when no metric had a value).
        A row without a timestamp is not scored (the detector never sees it): its ``score`` is NaN.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=800, freq="min"),
    ...                    "cpu": rng.normal(50, 2, 800), "mem": rng.normal(70, 1, 800)})
    >>> df.loc[700, "cpu"] = 95
    >>> out = score_frame(df)
    >>> out.loc[700, "top_metric"], bool(out.loc[700, "is_anomaly"])
    ('cpu', True)
    """
    _check_threshold(threshold)
    metrics = validate_metric_frame(frame, time_col=time_col, metrics=metrics)
    det = _detector(detector)
    n = len(frame)
    if time_col is not None:
        secs = column_seconds(frame, time_col, time_format=time_format)
        timed = ~np.isnan(secs)
        _report_skipped(frame, ~timed, f"no {time_col!r} (time_col)", strict)
        order = np.flatnonzero(timed)[np.argsort(secs[timed], kind="stable")]
    else:
        secs = None
        order = np.arange(n)
    X = frame[metrics].iloc[order]
    t = None if secs is None else secs[order]
    scores, per = det.score_many(X, t, return_contributions=True)
    per_values = np.asarray(per, dtype=np.float64)
    with np.errstate(all="ignore"):
        has = ~np.isnan(per_values).all(axis=1)
        top_idx = np.where(has, np.nanargmax(np.where(np.isnan(per_values), -np.inf, per_values), axis=1), -1)
    top = np.array([str(metrics[j]) if j >= 0 else "" for j in top_idx], dtype=object)
    result = pd.DataFrame(index=frame.index)
    full = np.full(n, np.nan)
    full[order] = scores
    names = np.full(n, "", dtype=object)
    names[order] = top
    result["score"] = full
    result["is_anomaly"] = full >= threshold  # NaN (not scored) is never an anomaly
    result["top_metric"] = names
    return result


def _report_skipped(frame: pd.DataFrame, skipped: np.ndarray, why: str, strict: bool) -> None:
    """Warn (or with ``strict`` raise) about rows that are not scored, naming how many and the first."""
    k = int(skipped.sum())
    if not k:
        return
    first = frame.index[int(np.flatnonzero(skipped)[0])]
    msg = (f"{k} of {len(frame)} rows have {why} (first: row {first!r}); they are not scored (score NaN). "
           "Fill them in, drop them, or pass strict=True to refuse such input.")
    if strict:
        raise DataError(msg)
    warnings.warn(msg, SkippedRowsWarning, stacklevel=3)


def score_long(frame: pd.DataFrame, *, id_col: str = "series_id", time_col: str = "timestamp",
               value_col: str = "value", detector: str | AnomalyDetector = "default",
               threshold: float = DEFAULT_THRESHOLD, strict: bool = False, time_format: str | None = None,
               **params: Any) -> pd.DataFrame:
    """Score many series in the long format, one fresh detector per series.

    Returns the frame's ``id_col``, ``time_col`` and ``value_col`` with ``score`` and
    ``is_anomaly``, in the input's row order.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per value, in the long format.
    id_col, time_col, value_col : str
        The series, time and value columns (defaults ``series_id``, ``timestamp``, ``value``).
    detector : str or AnomalyDetector, default="default"
        A name for :func:`make_detector`, or a detector cloned (unfitted) for each series.
    threshold : float, default=DEFAULT_THRESHOLD
        Scores at or above it are anomalies.
    strict : bool, default=False
        Raise :class:`~incidentml.exceptions.DataError` instead of warning
        (:class:`~incidentml.exceptions.SkippedRowsWarning`) when rows have no series or no timestamp;
        such rows are not scored (``score`` NaN, ``is_anomaly`` False).
    time_format : str or None, default=None
        An exact ``strptime`` format for text timestamps (as in :func:`score_frame`).
    **params
        Hyperparameters for :func:`make_detector` when ``detector`` is a name.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> t = pd.date_range("2024-01-01", periods=600, freq="5min")
    >>> df = pd.concat([pd.DataFrame({"series_id": s, "timestamp": t, "value": rng.normal(0, 1, 600)})
    ...                 for s in ("a", "b")], ignore_index=True)
    >>> df.loc[500, "value"] = 12
    >>> out = score_long(df)
    >>> bool(out.loc[500, "is_anomaly"]), bool(out["is_anomaly"].mean() < 0.01)
    (True, True)
    """
    validate_long_frame(frame, LongSchema(series_col=id_col, time_col=time_col, value_col=value_col),
                        options={"series_col": "id_col"})
    _check_threshold(threshold)
    as_columns(frame[[value_col]])  # every value is checked, also those of rows left out
    out = frame[[id_col, time_col, value_col]].copy()
    ids = frame[id_col]
    no_id = (ids.isna() | (ids.astype(str).str.strip() == "")).to_numpy()
    _report_skipped(frame, no_id, f"no {id_col!r} (id_col)", strict)
    secs = column_seconds(frame, time_col, time_format=time_format)  # the whole column at once, as the fleet
    no_time = np.isnan(secs) & ~no_id
    _report_skipped(frame, no_time, f"no {time_col!r} (time_col)", strict)
    scores = np.full(len(frame), np.nan)
    keep = np.flatnonzero(~no_id & ~no_time)
    for _, idx in frame.iloc[keep].groupby(id_col, sort=False).indices.items():
        rows = keep[idx]
        part = frame.iloc[rows].assign(**{time_col: seconds_to_datetime64(secs[rows])})  # parsed once
        det = make_detector(detector, **params) if isinstance(detector, str) else _clone(detector)
        res = score_frame(part, time_col=time_col, metrics=[value_col], detector=det, threshold=threshold)
        scores[rows] = res["score"].to_numpy()
    out["score"] = scores
    out["is_anomaly"] = scores >= threshold
    return out


def _clone(detector: AnomalyDetector) -> AnomalyDetector:
    from sklearn.base import clone

    return clone(detector)
