"""Forecast residuals: how far a point lands from a damped Holt (level + trend) forecast.

For every metric the detector runs Holt's linear trend method in error-correction form,

    forecast = level + phi * h * trend
    e        = x - forecast
    level    = forecast + alpha * clip(e)
    trend    = phi * trend + beta * clip(e)

and scores ``|e| / spread``, where ``spread`` is an exponentially weighted mean absolute residual
(scaled to a standard deviation). ``h`` is the time since the previous point in units of the
typical step (an exponentially weighted median-like estimate of the spacing), so gaps extrapolate
the trend further and duplicate timestamps not at all; without timestamps every step counts 1.
Residuals are clipped at ``clip`` spreads before they update the model, so a spike barely moves it
while a lasting change of level or slope is absorbed within a few ``1 / alpha`` points. The state
is 7 floats per metric.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from .._validation import Interval
from ._calibration import calibration_stage
from ._jit import jit
from .base import KernelDetector, Stage

__all__ = ["ForecastResidual"]

_SQRT_PI_2 = math.sqrt(math.pi / 2.0)
_CAP = 1e6
_MAX_H = 10.0  # never extrapolate the trend more than 10 typical steps


@jit
def forecast_kernel(values, times, state, params, out, learn):  # pragma: no cover - compiled
    # state: [n, level, trend, spread, prev_t, step, _]
    alpha = params[0]
    beta = params[1]
    phi = params[2]
    salpha = params[3]
    clip = params[4]
    warm = params[5]
    for i in range(values.shape[0]):
        x = values[i]
        t = times[i]
        n = state[0]
        # horizon of this point, in typical steps
        h = 1.0
        if math.isfinite(t) and math.isfinite(state[4]) and state[5] > 0.0:
            h = (t - state[4]) / state[5]
            if h < 0.0:
                h = 0.0
            elif h > _MAX_H:
                h = _MAX_H
        f = state[1] + phi * h * state[2]
        e = x - f
        s = state[3]
        if n < 3:
            out[i] = 0.0
        else:
            floor = 1e-9 + 1e-6 * abs(f)
            z = abs(e) / (s if s > floor else floor)
            out[i] = z if z < _CAP else _CAP
        if not learn:
            continue
        if n == 0:
            state[1] = x
            state[2] = 0.0
            state[3] = 0.0
        elif n == 1:
            # the first difference seeds the trend (per typical step)
            d = x - state[1]
            state[2] = d / h if h > 0.0 else 0.0
            state[1] = x
            state[3] = abs(d) * _SQRT_PI_2
        else:
            a = salpha
            if 1.0 / n > a:
                a = 1.0 / n
            ec = e
            if n > warm and s > 0.0:
                lim = clip * s
                ec = lim if e > lim else (-lim if e < -lim else e)
            if math.isfinite(ec) and math.isfinite(f):
                state[1] = f + alpha * ec
                state[2] = phi * state[2] + beta * ec
                state[3] = (1.0 - a) * s + a * abs(ec) * _SQRT_PI_2
        # typical spacing of the timestamps (only positive steps count)
        if math.isfinite(t):
            if math.isfinite(state[4]):
                dt = t - state[4]
                if dt > 0.0:
                    if state[5] <= 0.0:
                        state[5] = dt
                    else:
                        # move by a fixed fraction toward dt: a robust, median-like estimate
                        step = state[5]
                        state[5] = step * 1.05 if dt > step else (step / 1.05 if dt < step else step)
            if not math.isfinite(state[4]) or t > state[4]:
                state[4] = t
        state[0] = n + 1.0


def _init_state(state: Any) -> None:
    state[4] = math.nan  # no previous timestamp yet


class ForecastResidual(KernelDetector):
    """Robust z-score of each metric's residual from a damped Holt linear-trend forecast.

    Parameters
    ----------
    alpha : float, default=0.2
        Level smoothing: weight of the newest residual in the level.
    beta : float, default=0.02
        Trend smoothing: weight of the newest residual in the trend (keep it below ``alpha``).
    phi : float, default=0.98
        Trend damping per step (``1.0`` is Holt's undamped trend).
    spread_alpha : float, default=0.02
        Weight of the newest residual in the residual spread.
    clip : float, default=3.0
        Residuals are clipped at this many spreads before they update the model.
    calibrate : bool, default=True
        Pass the raw z-scores through the anomaly likelihood, giving scores in [0, 1].
    warmup : int, default=150
        Points each metric needs before it scores anything but 0.
    short_window, history, min_std
        Settings of the likelihood step (see :mod:`incidentml.anomaly._calibration`).

    Examples
    --------
    >>> import numpy as np
    >>> from incidentml.anomaly import ForecastResidual, tail_probability_to_score
    >>> rng = np.random.default_rng(0)
    >>> x = 0.05 * np.arange(800) + rng.normal(0, 0.5, 800)
    >>> x[600:] += 1.0 * np.arange(200)  # the slope jumps from 0.05 to 1.05 per step
    >>> scores = ForecastResidual().score_many(x)
    >>> cut = tail_probability_to_score(1e-5)  # the score of a one-in-100,000 event: 1/3
    >>> bool(scores[600:620].max() > cut), bool(scores[200:600].max() < cut)
    (True, True)
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "alpha": [Interval(float, 0, 1, closed="right")],
        "beta": [Interval(float, 0, 1)],
        "phi": [Interval(float, 0, 1)],
        "spread_alpha": [Interval(float, 0, 1, closed="right")],
        "clip": [Interval(float, 0, None, closed="neither")],
        "calibrate": [bool],
        "warmup": [Interval(int, 0, None)],
        "short_window": [Interval(int, 1, 64)],
        "history": [Interval(int, 1, None)],
        "min_std": [Interval(float, 0, None)],
    }

    def __init__(self, alpha: float = 0.2, beta: float = 0.02, *, phi: float = 0.98,
                 spread_alpha: float = 0.02, clip: float = 3.0, calibrate: bool = True, warmup: int = 150,
                 short_window: int = 10, history: int = 2000, min_std: float = 0.05) -> None:
        self.alpha = alpha
        self.beta = beta
        self.phi = phi
        self.spread_alpha = spread_alpha
        self.clip = clip
        self.calibrate = calibrate
        self.warmup = warmup
        self.short_window = short_window
        self.history = history
        self.min_std = min_std

    @classmethod
    def _unit_test_params(cls) -> Iterator[dict[str, Any]]:
        yield {"warmup": 50}  # calibrated scores move within the checks' short streams
        yield {"phi": 1.0, "calibrate": False}

    def _stages(self) -> list[Stage]:
        params = (self.alpha, self.beta, self.phi, self.spread_alpha, self.clip, 20.0)
        stages = [Stage(forecast_kernel, params, 7, _init_state)]
        if self.calibrate:
            stages.append(calibration_stage(self.short_window, self.history, self.warmup, self.min_std))
        return stages
