"""Streaming time-to-breach forecasting: when will a trending metric cross its limit?

:class:`BreachForecaster` watches one metric (disk %, memory, queue length, p99 latency...) and,
from a linear trend fitted over its last ``window`` points, says when the metric will cross a
limit, with an interval: "disk_used_pct crosses 95 in about 40 min (80% interval 25-70 min)".
:func:`fit_breach` gives the same answer from arrays in one call.

Method
------
Ordinary least squares of the value on time over the buffer. Metric noise is usually
autocorrelated (a disk or memory gauge wanders rather than jitters), which makes the textbook
OLS standard errors far too small; so the residuals' lag-1 autocorrelation ``rho`` (clipped to
[0, 0.95]) gives an effective sample size ``n_eff = n (1 - rho) / (1 + rho)`` (Santer et al.,
2000, *J. Geophys. Res.* 105, 7337), used for the residual variance ``s^2 = SSR / (n_eff - 2)``,
the level's variance ``s^2 / n_eff`` and the Student-t degrees of freedom ``n_eff - 2``. With
independent noise ``rho`` is about 0 and this is plain OLS.

* **Significance.** A forecast is issued only when the slope points towards the limit and its
  t-statistic ``|b| / se_b`` (``se_b = s / sqrt(Sxx)``) reaches the two-sided 5% Student-t
  critical value (2.23 for 12 independent points, 2.00 for 60): the usual test that the trend
  is real and not noise.
* **ETA.** The fitted line is extrapolated from the current fitted level to the limit:
  ``eta = (limit - level_now) / b``.
* **Interval.** Fieller's interval for the crossing time of the line (the classical
  inverse-regression, or calibration, interval) at the ``confidence`` level. It accounts for the
  slope's uncertainty and for the level's; with the level known exactly it reduces to mapping
  the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the slope to ETAs. It is
  bounded exactly when the lower slope bound is above zero; otherwise the upper ETA is ``None``
  (unbounded). On seeded linear ramps of 60 points its coverage of the true crossing time at
  ``confidence=0.8`` is 0.80 with independent noise and 0.77-0.78 with AR(1) noise up to
  ``phi = 0.8`` (plain OLS: 0.33 at ``phi = 0.8``). A trend that curves (an accelerating leak)
  is beyond the model: the forecast then runs late, and re-fitting every point is the remedy.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import stdtrit
from sklearn.base import BaseEstimator

from .._validation import Interval, Options, validate_params
from ..exceptions import InvalidParameterError
from ..utils import seconds_to_datetime64, to_seconds, to_seconds_array

__all__ = ["BreachForecast", "BreachForecaster", "fit_breach", "format_duration"]

#: Two-sided level of the test that the slope differs from zero (t >= t_{0.975, n-2}).
SIGNIFICANCE = 0.05


#: Largest lag-1 residual autocorrelation used for the effective sample size.
MAX_RHO = 0.95


def _t_quantile(p: float, df: float) -> float:
    """Quantile ``p`` of Student's t with ``df`` (possibly fractional) degrees of freedom."""
    return float(stdtrit(df, p))


def _is_finite_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


_is_finite_real.description = "a finite float"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------
def _unit(seconds: float) -> tuple[str, float]:
    """The display unit for a duration and its size in seconds."""
    if seconds < 90:
        return "s", 1.0
    if seconds < 90 * 60:
        return "min", 60.0
    if seconds < 48 * 3600:
        return "h", 3600.0
    return "days", 86400.0


def _number(x: float, unit: str) -> str:
    if unit in ("s", "min") or x >= 10:
        return f"{x:.0f}"
    return f"{x:.1f}".rstrip("0").rstrip(".")


def format_duration(seconds: float | None) -> str:
    """A duration in words: seconds below 90 s, minutes below 90 min, hours below 2 days, days.

    Parameters
    ----------
    seconds : float or None
        The duration; ``None`` (or an infinite one) reads ``"unbounded"``.

    Returns
    -------
    str

    Examples
    --------
    >>> format_duration(42), format_duration(2400), format_duration(9000), format_duration(3 * 86400)
    ('42 s', '40 min', '2.5 h', '3 days')
    >>> format_duration(None)
    'unbounded'
    """
    if seconds is None or not math.isfinite(seconds):
        return "unbounded"
    name, size = _unit(seconds)
    return f"{_number(seconds / size, name)} {name}"


def _format_range(low: float, high: float) -> str:
    """``"25-70 min"`` (both ends in the upper end's unit when that reads well)."""
    name, size = _unit(high)
    lo_name, _ = _unit(low)
    if _number(low / size, name) == _number(high / size, name):
        return f"{_number(high / size, name)} {name}"
    if lo_name == name or low / size >= 0.1 or low == 0:
        return f"{_number(low / size, name)}-{_number(high / size, name)} {name}"
    return f"{format_duration(low)} to {format_duration(high)}"


def _iso(seconds: float) -> str:
    return pd.Timestamp(seconds_to_datetime64([seconds])[0]).tz_localize("UTC").isoformat()


@dataclass(frozen=True)
class BreachForecast:
    """When one metric is expected to cross its limit.

    Attributes
    ----------
    metric : str
        Name of the metric (may be ``""``).
    limit : float
        The limit watched.
    direction : {"above", "below"}
        ``"above"``: a breach is the metric rising to the limit or beyond; ``"below"``: falling.
    value : float
        Current fitted level (the trend line at ``as_of``).
    slope_per_hour : float
        Fitted slope, in metric units per hour.
    eta_seconds : float
        Seconds from ``as_of`` until the fitted line reaches the limit (0 when breached).
    eta_low_seconds, eta_high_seconds : float or None
        Central ``confidence`` interval of the ETA; ``eta_high_seconds`` is ``None`` when the
        interval is unbounded (the slope could be zero at this confidence, or the upper end lies
        beyond ``max_horizon``).
    crosses_at : float
        Expected crossing time, epoch seconds (``as_of + eta_seconds``).
    confidence : float
        Level of the interval.
    status : {"trending", "breached"}
        ``"breached"`` when the latest value or the fitted level is already at or beyond the limit.
    as_of : float
        Time of the forecast, epoch seconds.
    n_points : int
        Number of points the trend was fitted on.

    Examples
    --------
    >>> fc = fit_breach([0, 600, 1200], [50.0, 60.0, 70.0], 95, min_points=3, metric="disk_used_pct")
    >>> fc.status, fc.eta_seconds, round(fc.slope_per_hour)
    ('trending', 1500.0, 60)
    >>> fit_breach([0, 600, 1200], [90.0, 93.0, 96.0], 95, min_points=3).status
    'breached'
    """

    metric: str
    limit: float
    direction: str
    value: float
    slope_per_hour: float
    eta_seconds: float
    eta_low_seconds: float | None
    eta_high_seconds: float | None
    crosses_at: float
    confidence: float
    status: str
    as_of: float = math.nan
    n_points: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; ``crosses_at`` and ``as_of`` become ISO 8601 strings (UTC).

        Examples
        --------
        >>> fc = fit_breach([0, 600, 1200], [50.0, 60.0, 70.0], 95, min_points=3)
        >>> d = fc.to_dict()
        >>> d["crosses_at"], d["eta_seconds"], d["status"]
        ('1970-01-01T00:45:00+00:00', 1500.0, 'trending')
        >>> import json; len(json.dumps(d)) > 0
        True
        """
        out = asdict(self)
        out["crosses_at"] = _iso(self.crosses_at)
        out["as_of"] = _iso(self.as_of) if math.isfinite(self.as_of) else None
        for key in ("limit", "value", "slope_per_hour", "eta_seconds", "eta_low_seconds", "eta_high_seconds",
                    "confidence"):
            if out[key] is not None:
                out[key] = float(out[key])
        out["n_points"] = int(self.n_points)
        return out

    def describe(self) -> str:
        """One human sentence, e.g. "disk_used_pct crosses 95 in about 40 min (80% interval 25-70 min)".

        Examples
        --------
        >>> fc = fit_breach([0, 600, 1200], [50.0, 60.0, 70.0], 95, min_points=3, metric="disk_used_pct")
        >>> fc.describe()
        'disk_used_pct crosses 95 in about 25 min (80% interval 25 min)'
        """
        name = self.metric or "the metric"
        pct = f"{100 * self.confidence:.4g}%"
        if self.status == "breached":
            side = "above" if self.direction == "above" else "below"
            return f"{name} is {side} its limit of {self.limit:g} now (level {self.value:.4g})"
        eta = format_duration(self.eta_seconds)
        low = self.eta_low_seconds if self.eta_low_seconds is not None else 0.0
        if self.eta_high_seconds is None:
            interval = f"{pct} interval: at least {format_duration(low)}"
        else:
            interval = f"{pct} interval {_format_range(low, self.eta_high_seconds)}"
        return f"{name} crosses {self.limit:g} in about {eta} ({interval})"


# --------------------------------------------------------------------------------------------
# The computation shared by the streaming and the batch routes
# --------------------------------------------------------------------------------------------
def _forecast_from(tt: np.ndarray, yy: np.ndarray, t_now: float | None, *, limit: float, direction: str,
                   confidence: float, min_points: int, max_horizon: float | None,
                   metric: str) -> BreachForecast | None:
    """The forecast from the buffer's finite points ``(tt, yy)`` in arrival order."""
    n = len(tt)
    if n < min_points or n < 3:
        return None
    t_last = float(tt.max())
    if t_now is None or not t_now >= t_last:  # no time, NaN, or a clock behind the data
        t_now = t_last
    t_mean = float(tt.mean())
    y_mean = float(yy.mean())
    x = tt - t_mean
    yc = yy - y_mean
    sxx = float(x @ x)
    if sxx > 0.0:
        b = float(x @ yc) / sxx
        r = yc - b * x
        ssr = float(r @ r)
    else:  # every point at the same time: a level, no trend
        b = 0.0
        ssr = float(yc @ yc)
    level = y_mean + b * (t_now - t_mean)
    above = direction == "above"
    last = float(yy[-1])
    if (above and (last >= limit or level >= limit)) or (not above and (last <= limit or level <= limit)):
        return BreachForecast(metric, float(limit), direction, level, b * 3600.0, 0.0, 0.0, 0.0, t_now,
                              confidence, "breached", t_now, n)
    if sxx <= 0.0 or (b <= 0.0 if above else b >= 0.0):
        return None
    # effective sample size from the residuals' lag-1 autocorrelation (Santer et al. 2000)
    rho = float(r[1:] @ r[:-1]) / ssr if ssr > 0.0 else 0.0
    rho = min(max(rho, 0.0), MAX_RHO)
    n_eff = n * (1.0 - rho) / (1.0 + rho)
    df = n_eff - 2.0
    if df < 1.0:  # too few independent points to tell a trend from a wander
        return None
    s2 = ssr / df
    se_b2 = s2 / sxx
    if b * b < _t_quantile(1.0 - SIGNIFICANCE / 2.0, df) ** 2 * se_b2:  # |t| below the 5% critical value
        return None
    # Point ETA: the line from the current fitted level to the limit.
    eta = (limit - level) / b
    if max_horizon is not None and eta > max_horizon:
        return None
    # Fieller interval for d = crossing time - t_mean:  (A - b d)^2 <= q^2 s^2 (1/n + d^2/Sxx).
    q = _t_quantile(0.5 + confidence / 2.0, df)
    q2 = q * q
    big_a = limit - y_mean
    qa = b * b - q2 * se_b2
    qb = big_a * b
    qc = big_a * big_a - q2 * s2 / n_eff
    disc = qb * qb - qa * qc
    d_star = big_a / b
    d_hi: float | None
    if qa > 0.0:
        root = math.sqrt(max(disc, 0.0))
        d_lo, d_hi = (qb - root) / qa, (qb + root) / qa
    elif qa == 0.0:  # boundary case: the set is a half-line
        d_lo, d_hi = (qc / (2.0 * qb) if qb > 0.0 else -math.inf), None
    elif disc > 0.0:  # slope not significant at this confidence: the set is outside the two roots
        root = math.sqrt(disc)
        r1, r2 = sorted(((qb - root) / qa, (qb + root) / qa))
        d_lo, d_hi = (r2 if d_star >= r2 else -math.inf), None
    else:  # the whole time axis
        d_lo, d_hi = -math.inf, None
    offset = t_mean - t_now
    eta_low = max(0.0, min(d_lo + offset, eta))
    eta_high = None if d_hi is None else max(d_hi + offset, eta)
    if eta_high is not None and max_horizon is not None and eta_high > max_horizon:
        eta_high = None
    return BreachForecast(metric, float(limit), direction, level, b * 3600.0, eta, eta_low, eta_high,
                          t_now + eta, confidence, "trending", t_now, n)


def _time(t: Any) -> float:
    return float(t) if type(t) in (float, int) else to_seconds(t)


# --------------------------------------------------------------------------------------------
# Streaming
# --------------------------------------------------------------------------------------------
class BreachForecaster(BaseEstimator):
    """Streaming time-to-breach forecast for one metric, with bounded memory.

    Keeps the last ``window`` finite ``(t, value)`` pairs in a ring buffer, fits a linear trend
    over them by least squares, and extrapolates it to ``limit`` (see the module docstring for
    the significance rule and Fieller's interval).

    Parameters
    ----------
    limit : float
        The limit to forecast a crossing of (e.g. 95 for disk %, 500 for a p99 SLO in ms).
    direction : {"above", "below"}, default="above"
        ``"above"`` watches the metric rising to the limit; ``"below"`` falling to it.
    window : int, default=60
        Number of most recent finite points the trend is fitted on (at least 3).
    min_points : int, default=12
        No forecast until the buffer holds this many points (3 <= min_points <= window).
    confidence : float, default=0.8
        Level of the central ETA interval, in (0, 1).
    max_horizon : float or None, default=None
        Seconds. An ETA beyond it gives no forecast (linear extrapolation that far is not
        trusted), and an upper ETA bound beyond it is reported as ``None`` (unbounded).
    metric : str, default=""
        Name carried into the :class:`BreachForecast` and its sentence.

    Attributes
    ----------
    times_ : ndarray of shape (window,)
        Ring buffer of times (epoch seconds); valid entries are the last ``n_`` written.
    values_ : ndarray of shape (window,)
        Ring buffer of values.
    head_ : int
        Next slot to write.
    n_ : int
        Number of valid points in the buffer.
    n_seen_ : int
        Number of updates received, skipped ones included.

    Notes
    -----
    ``learn_one`` is O(1); ``forecast`` is O(window) (about 20 µs for 60 points). NaN or infinite
    values, and updates without a time, are skipped. Duplicate and irregular timestamps are
    fine. The state is plain attributes and numpy arrays: pickling mid-stream and resuming gives
    exactly the forecasts of an uninterrupted stream.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> fc = BreachForecaster(95, metric="disk_used_pct")
    >>> for i in range(60):  # one point a minute, +0.5 %/min, noise sd 0.3
    ...     fc.learn_one(50 + 0.5 * i + rng.normal(0, 0.3), 60.0 * i)
    >>> res = fc.forecast()
    >>> round(res.eta_seconds / 60), round(res.slope_per_hour)
    (31, 30)
    >>> res.describe()
    'disk_used_pct crosses 95 in about 31 min (80% interval 30-31 min)'
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "limit": [_is_finite_real],
        "direction": [Options(("above", "below"))],
        "window": [Interval(int, 3, None)],
        "min_points": [Interval(int, 3, None)],
        "confidence": [Interval(float, 0, 1, closed="neither")],
        "max_horizon": [Interval(float, 0, None, closed="neither"), None],
        "metric": [str],
    }

    def __init__(self, limit: float, *, direction: str = "above", window: int = 60, min_points: int = 12,
                 confidence: float = 0.8, max_horizon: float | None = None, metric: str = "") -> None:
        self.limit = limit
        self.direction = direction
        self.window = window
        self.min_points = min_points
        self.confidence = confidence
        self.max_horizon = max_horizon
        self.metric = metric

    def _validate(self) -> None:
        validate_params(self)
        if self.min_points > self.window:
            msg = (f"The 'min_points' parameter of BreachForecaster must be at most window={self.window}. "
                   f"Got {self.min_points!r} instead: lower min_points or widen the window.")
            raise InvalidParameterError(msg)

    def _init_state(self) -> None:
        self._validate()
        self.times_ = np.zeros(self.window, dtype=np.float64)
        self.values_ = np.zeros(self.window, dtype=np.float64)
        self.head_ = 0
        self.n_ = 0
        self.n_seen_ = 0

    def update(self, t: Any, value: float) -> None:
        """Deprecated alias of :meth:`learn_one` with the arguments the other way round.

        .. deprecated:: 0.2
           Use ``learn_one(value, t)``: every streaming object of incidentml takes the value
           first and the time second, as the detectors do.

        Parameters
        ----------
        t : float, datetime, numpy datetime64 or ISO 8601 string
            Time of the observation.
        value : float
            The metric's value.

        Examples
        --------
        >>> import warnings
        >>> fc = BreachForecaster(95)
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     fc.update(0.0, 50.0)
        >>> caught[0].category.__name__, fc.n_seen_
        ('FutureWarning', 1)
        """
        import warnings

        warnings.warn("BreachForecaster.update(t, value) is deprecated; use learn_one(value, t) (value first, as "
                      "the detectors take it).", FutureWarning, stacklevel=2)
        self.learn_one(value, t)

    def learn_one(self, value: float, t: Any) -> None:
        """Add one observation; returns ``None``.

        Parameters
        ----------
        value : float
            The metric's value; NaN, infinite or ``None`` is skipped.
        t : float, datetime, numpy datetime64 or ISO 8601 string
            Time of the observation (floats are epoch seconds).

            Examples
            --------
            >>> fc = BreachForecaster(95)
            >>> fc.learn_one(50.0, "2024-01-01T00:00:00")
            >>> fc.learn_one(float("nan"), "2024-01-01T00:01:00")  # counted as seen, not buffered
            >>> fc.n_seen_, len(fc.buffer()[0])
            (2, 1)
        """
        if "times_" not in self.__dict__:
            self._init_state()
        self.n_seen_ += 1
        if value is None:
            return
        v = float(value)
        ts = _time(t)
        if not (math.isfinite(v) and math.isfinite(ts)):
            return
        h = self.head_
        self.times_[h] = ts
        self.values_[h] = v
        self.head_ = h + 1 if h + 1 < self.window else 0
        if self.n_ < self.window:
            self.n_ += 1

    def buffer(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the buffered ``(times, values)``, oldest first.

        Only the last ``window`` finite observations are kept.

        Examples
        --------
        >>> fc = BreachForecaster(95, window=3, min_points=3)
        >>> for i in range(5):
        ...     fc.learn_one(50.0 + i, 60.0 * i)
        >>> fc.buffer()
        (array([120., 180., 240.]), array([52., 53., 54.]))
        """
        if "times_" not in self.__dict__:
            return np.empty(0), np.empty(0)
        if self.n_ < self.window:
            return self.times_[:self.n_].copy(), self.values_[:self.n_].copy()
        h = self.head_
        return (np.concatenate((self.times_[h:], self.times_[:h])),
                np.concatenate((self.values_[h:], self.values_[:h])))

    def forecast(self, t: Any = None) -> BreachForecast | None:
        """The breach forecast as of time ``t`` (default: the latest observation's time).

        Parameters
        ----------
        t : float, datetime, numpy datetime64, ISO 8601 string or None, default=None
            The time the forecast is made at.

        Returns
        -------
        BreachForecast or None
            ``None`` with fewer than ``min_points`` points, when the trend points away from the
            limit, or when it is not significant (slope t-statistic below the two-sided 5%
            critical value). Status ``"breached"`` (ETA 0) when the latest value or the fitted
            level is already at or beyond the limit.

        Notes
        -----
        A ``t`` earlier than the latest observation (or NaN) is taken as the latest observation's
        time: the forecast never looks backwards.

        Examples
        --------
        >>> fc = BreachForecaster(95, min_points=3)
        >>> for i, v in enumerate([50.0, 60.0, 70.0]):
        ...     fc.learn_one(v, 600.0 * i)
        >>> fc.forecast().eta_seconds
        1500.0
        >>> fc.forecast(t=1800.0).eta_seconds  # 10 minutes later, the same line: 15 minutes left
        900.0
        >>> BreachForecaster(95).forecast() is None  # nothing learned yet
        True
        """
        if "times_" not in self.__dict__:
            self._validate()
            return None
        if self.n_ < self.min_points:
            return None
        tt, yy = self.buffer()
        return _forecast_from(tt, yy, None if t is None else _time(t), limit=self.limit,
                              direction=self.direction, confidence=self.confidence,
                              min_points=self.min_points, max_horizon=self.max_horizon, metric=self.metric)

    def reset(self) -> BreachForecaster:
        """Forget every observation (parameters are kept); returns ``self``.

        Examples
        --------
        >>> fc = BreachForecaster(95, window=30)
        >>> fc.learn_one(50.0, 0.0)
        >>> len(fc.reset().buffer()[0]), fc.window
        (0, 30)
        """
        for attr in ("times_", "values_", "head_", "n_", "n_seen_"):
            self.__dict__.pop(attr, None)
        return self


# --------------------------------------------------------------------------------------------
# Batch
# --------------------------------------------------------------------------------------------
def fit_breach(times: Any, values: Any, limit: float, *, direction: str = "above", confidence: float = 0.8,
               window: int | None = None, min_points: int = 12, max_horizon: float | None = None,
               metric: str = "", t: Any = None) -> BreachForecast | None:
    """Breach forecast from arrays: the same result as streaming the points through a forecaster.

    Parameters
    ----------
    times : sequence of timestamps, shape (n,)
        Epoch seconds, datetimes, datetime64 or ISO 8601 strings.
    values : sequence of float, shape (n,)
        The metric; non-finite values are skipped (as are points with no time).
    limit : float
        The limit.
    direction : {"above", "below"}, default="above"
    confidence : float, default=0.8
    window : int or None, default=None
        Fit on the last ``window`` finite points only (``None``: all of them). With a window,
        the result equals ``BreachForecaster(limit, window=window, ...)`` fed the same points.
    min_points : int, default=12
    max_horizon : float or None, default=None
    metric : str, default=""
    t : timestamp, optional
        Time of the forecast (default: the latest time).

    Returns
    -------
    BreachForecast or None
        See :meth:`BreachForecaster.forecast`.

    Examples
    --------
    >>> times = [60.0 * i for i in range(30)]
    >>> values = [80 + 0.2 * i for i in range(30)]  # +12 per hour, at 85.8 now
    >>> fc = fit_breach(times, values, 95, metric="mem_used_pct")
    >>> round(fc.eta_seconds), fc.status
    (2760, 'trending')
    >>> fc.describe()
    'mem_used_pct crosses 95 in about 46 min (80% interval 46 min)'
    """
    y = np.asarray(values, dtype=np.float64).ravel() if not isinstance(values, pd.Series) else \
        values.to_numpy(dtype=np.float64, na_value=np.nan)
    tt = to_seconds_array(times, len(y))
    keep = np.isfinite(y) & np.isfinite(tt)
    tt, y = tt[keep], y[keep]
    size = max(len(y), min_points, 3) if window is None else window
    model = BreachForecaster(limit, direction=direction, window=size, min_points=min_points,
                             confidence=confidence, max_horizon=max_horizon, metric=metric)
    model._validate()
    tt, y = np.ascontiguousarray(tt[-size:]), np.ascontiguousarray(y[-size:])
    return _forecast_from(tt, y, None if t is None else _time(t), limit=limit, direction=direction,
                          confidence=confidence, min_points=min_points, max_horizon=max_horizon,
                          metric=metric)
