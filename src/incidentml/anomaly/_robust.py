"""Robust statistical baseline: exponentially weighted level and spread with clipped updates.

For every metric the detector tracks a level (an exponentially weighted mean) and a spread (an
exponentially weighted mean absolute deviation, scaled to a standard deviation), for the values
and for their first differences. A point's raw score is its largest robust z-score,
``|x - level| / spread``. Updates are clipped at ``clip`` spreads (a Huber-style rule), so an outlier
barely moves the baseline while a lasting level shift is absorbed within a few ``1 / alpha`` points.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from .._validation import Interval
from ._calibration import calibration_stage
from ._jit import jit
from .base import KernelDetector, Stage

__all__ = ["RobustZScore"]

_SQRT_PI_2 = math.sqrt(math.pi / 2.0)  # mean absolute deviation -> standard deviation (normal data)
_CAP = 1e6


@jit
def robust_kernel(values, times, state, params, out, learn):  # pragma: no cover - compiled
    # state: [n, level, spread, prev, dlevel, dspread]
    alpha = params[0]
    clip = params[1]
    warm = params[2]
    use_diff = params[3] > 0.5
    for i in range(values.shape[0]):
        x = values[i]
        n = state[0]
        m = state[1]
        s = state[2]
        if n < 2:
            out[i] = 0.0
        else:
            floor = 1e-9 + 1e-6 * abs(m)
            z = abs(x - m) / (s if s > floor else floor)
            if use_diff:
                d = x - state[3]
                dfloor = 1e-9 + 1e-6 * abs(state[3])
                dz = abs(d - state[4]) / (state[5] if state[5] > dfloor else dfloor)
                if dz > z:
                    z = dz
            out[i] = z if z < _CAP else _CAP
        if learn:
            if n == 0:
                state[1] = x
                state[2] = 0.0
                state[4] = 0.0
                state[5] = 0.0
            else:
                a = alpha
                if 1.0 / (n + 1.0) > a:
                    a = 1.0 / (n + 1.0)
                r = x - m
                if n > warm and s > 0.0:
                    lim = clip * s
                    r = lim if r > lim else (-lim if r < -lim else r)
                if math.isfinite(r):
                    state[1] = m + a * r
                    state[2] = (1.0 - a) * s + a * abs(r) * _SQRT_PI_2
                d = x - state[3]
                if n >= 2:
                    r2 = d - state[4]
                    s2 = state[5]
                    if n > warm and s2 > 0.0:
                        lim = clip * s2
                        r2 = lim if r2 > lim else (-lim if r2 < -lim else r2)
                    if math.isfinite(r2):
                        state[4] = state[4] + a * r2
                        state[5] = (1.0 - a) * s2 + a * abs(r2) * _SQRT_PI_2
                elif math.isfinite(d):
                    state[4] = d
                    state[5] = abs(d) * _SQRT_PI_2
            state[3] = x
            state[0] = n + 1.0


class RobustZScore(KernelDetector):
    """Robust z-score of each metric against its own exponentially weighted level and spread.

    Parameters
    ----------
    alpha : float, default=0.02
        Weight of the newest point in the level and spread (about ``2 / alpha`` points of memory).
    clip : float, default=3.0
        Updates are clipped at this many spreads, so outliers barely move the baseline.
    differences : bool, default=True
        Also score the first differences (catches spikes and sudden jumps faster).
    calibrate : bool, default=True
        Pass the raw z-scores through the anomaly likelihood, giving scores in [0, 1].
    warmup : int, default=150
        Points each metric needs before it scores anything but 0.
    short_window, history, min_std
        Settings of the likelihood step (see :mod:`incidentml.anomaly._calibration`).

    Examples
    --------
    >>> import numpy as np
    >>> from incidentml.anomaly import RobustZScore, tail_probability_to_score
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(10, 1, 600)
    >>> x[500] = 25
    >>> scores = RobustZScore().score_many(x)
    >>> cut = tail_probability_to_score(1e-5)  # the score of a one-in-100,000 event: 1/3
    >>> bool(scores[500] > cut), bool(scores[:500].max() < cut)
    (True, True)
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "alpha": [Interval(float, 0, 1, closed="right")],
        "clip": [Interval(float, 0, None, closed="neither")],
        "differences": [bool],
        "calibrate": [bool],
        "warmup": [Interval(int, 0, None)],
        "short_window": [Interval(int, 1, 64)],
        "history": [Interval(int, 1, None)],
        "min_std": [Interval(float, 0, None)],
    }

    def __init__(self, alpha: float = 0.02, clip: float = 3.0, differences: bool = True, calibrate: bool = True,
                 warmup: int = 150, short_window: int = 10, history: int = 2000, min_std: float = 0.05) -> None:
        self.alpha = alpha
        self.clip = clip
        self.differences = differences
        self.calibrate = calibrate
        self.warmup = warmup
        self.short_window = short_window
        self.history = history
        self.min_std = min_std

    @classmethod
    def _unit_test_params(cls) -> Iterator[dict[str, Any]]:
        yield {"warmup": 50}  # calibrated scores move within the checks' short streams
        yield {"differences": False, "calibrate": False}

    def _stages(self) -> list[Stage]:
        stages = [Stage(robust_kernel, (self.alpha, self.clip, 20.0, float(self.differences)), 6)]
        if self.calibrate:
            # no isolated winsorising: its robust z-scores of natural spikes are large, and a calibration
            # that does not learn them keeps alerting on them (NAB standard 13.0 -> 5.6 with it)
            stages.append(calibration_stage(self.short_window, self.history, self.warmup, self.min_std,
                                            isolated_clip=math.inf))
        return stages
