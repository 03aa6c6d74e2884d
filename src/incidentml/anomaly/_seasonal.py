"""Seasonal baseline: a robust level per time-of-day and day-of-week bucket.

Many operational metrics follow the clock: traffic peaks at noon and drops at night, batch jobs
run at 2 a.m., weekends are quiet. A point's timestamp ``t`` picks a *bucket* (the hour of the day,
or a finer slot, crossed with weekday/weekend or with the day of the week). The baseline is

    global level + bucket offset

an additive Holt-Winters-style decomposition keyed on the clock instead of on the point count, so
irregular sampling, gaps and duplicate timestamps do not shift the seasons. The global level
(exponentially weighted, ``alpha``) follows slow drifts of the deseasonalized series; each bucket's
offset and spread (exponentially weighted, ``seasonal_alpha``) learn only when the clock is in that
bucket. Buckets form a two-level hierarchy: a time-of-day bucket, and (unless ``weekly="none"``) a
time-of-day x day-group bucket under it. While a bucket has seen few points, its offset and spread
are blended with its parent's (weight ``count / (count + min_count)`` on the bucket; the
time-of-day bucket's parent is the global level, offset 0, and the global spread), so a first
weekend leans on the weekday pattern instead of on nothing. The raw score is the robust z-score
``|x - baseline| / spread``; updates are clipped at ``clip`` spreads so an outlier barely moves the
baseline. The state holds ``5 + 3 * n_slots * (1 + n_groups)`` floats per metric
(``n_groups`` = 1 without weekly split; 1737 floats for 15-minute slots by day of week), whatever
the length of the stream.

Points without a timestamp (``t=None`` or NaT) cannot be placed on the clock: they are scored
with, and only update, a plain non-seasonal robust level and spread kept alongside.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from .._validation import Interval, Options
from ._calibration import calibration_stage
from ._jit import jit
from .base import KernelDetector, Stage

__all__ = ["SeasonalDetector"]

_SQRT_PI_2 = math.sqrt(math.pi / 2.0)  # mean absolute deviation -> standard deviation (normal data)
_CAP = 1e6
_HEAD = 5  # [n, level, spread, plain level, plain spread]
_WEEK_GROUPS = {"none": 1, "weekend": 2, "day": 7}


@jit
def seasonal_kernel(values, times, state, params, out, learn):  # pragma: no cover - compiled
    # state: [n, level, spread, plain_level, plain_spread,
    #         (count, offset, spread) * n_slots            time-of-day buckets,
    #         (count, offset, spread) * n_slots * groups   time-of-day x day-group buckets (groups > 1)]
    alpha = params[0]
    salpha = params[1]
    clip = params[2]
    min_count = params[3]
    width = params[4]  # seconds per time-of-day slot
    n_slots = int(params[5])
    week = int(params[6])  # 1: none, 2: weekday/weekend, 7: day of week
    offset_s = params[7]  # local time = UTC + offset_s
    warm = params[8]
    for i in range(values.shape[0]):
        x = values[i]
        t = times[i]
        n = state[0]
        has_t = math.isfinite(t)
        b1 = 0
        b2 = 0
        off = 0.0
        spr = state[2]
        if has_t:
            lt = t + offset_s
            day = math.floor(lt / 86400.0)
            sod = lt - day * 86400.0
            slot = int(sod // width)
            if slot >= n_slots:
                slot = n_slots - 1
            if slot < 0:
                slot = 0
            b1 = _HEAD + 3 * slot
            # the time-of-day bucket, blended with the global level and spread while young
            c1 = state[b1]
            if c1 > 0.0:
                w1 = c1 / (c1 + min_count)
                off = state[b1 + 1]
                spr = w1 * state[b1 + 2] + (1.0 - w1) * state[2]
            if week > 1:
                dow = int((day + 3.0) % 7.0)  # 1970-01-01 was a Thursday; Monday = 0
                if dow < 0:
                    dow += 7
                g = dow if week == 7 else (1 if dow >= 5 else 0)
                b2 = _HEAD + 3 * n_slots * (1 + g) + 3 * slot
                # the day-group bucket, blended with the time-of-day one while young
                c2 = state[b2]
                if c2 > 0.0:
                    w2 = c2 / (c2 + min_count)
                    off = w2 * state[b2 + 1] + (1.0 - w2) * off
                    spr = w2 * state[b2 + 2] + (1.0 - w2) * spr
        # ---- score from the state before the point
        if n < 2:
            out[i] = 0.0
        else:
            if has_t:
                m = state[1] + off
                s = spr
            else:
                m = state[3]
                s = state[4]
            floor = 1e-9 + 1e-6 * abs(m)
            z = abs(x - m) / (s if s > floor else floor)
            out[i] = z if z < _CAP else _CAP
        if not learn:
            continue
        a = alpha
        if 1.0 / (n + 1.0) > a:
            a = 1.0 / (n + 1.0)
        # ---- plain (non-seasonal) robust level, always learned
        if n == 0:
            state[3] = x
            state[4] = 0.0
        else:
            r = x - state[3]
            s = state[4]
            if n > warm and s > 0.0:
                lim = clip * s
                r = lim if r > lim else (-lim if r < -lim else r)
            if math.isfinite(r):
                state[3] += a * r
                state[4] = (1.0 - a) * s + a * abs(r) * _SQRT_PI_2
        # ---- seasonal decomposition, learned only when the point is on the clock
        if has_t:
            if n == 0:
                state[1] = x
                state[2] = 0.0
            else:
                lv = state[1]
                lim = clip * spr if (n > warm and spr > 0.0) else math.inf
                r = x - lv - off
                r = lim if r > lim else (-lim if r < -lim else r)
                if math.isfinite(r):
                    state[1] = lv + a * r
                    state[2] = (1.0 - a) * state[2] + a * abs(r) * _SQRT_PI_2
                    nb = 2 if week > 1 else 1
                    for k in range(nb):
                        b = b1 if k == 0 else b2
                        cnt = state[b]
                        rb = x - lv - state[b + 1] if cnt > 0.0 else x - lv
                        rb = lim if rb > lim else (-lim if rb < -lim else rb)
                        if cnt == 0.0:
                            # a new bucket starts at the gap between the point and the level
                            state[b + 1] = rb
                            state[b + 2] = spr
                        else:
                            sa = salpha
                            if 1.0 / (cnt + 1.0) > sa:
                                sa = 1.0 / (cnt + 1.0)
                            state[b + 1] += sa * rb
                            state[b + 2] = (1.0 - sa) * state[b + 2] + sa * abs(rb) * _SQRT_PI_2
            state[b1] += 1.0
            if week > 1:
                state[b2] += 1.0
        state[0] = n + 1.0


class SeasonalDetector(KernelDetector):
    """Robust z-score of each metric against a time-of-day / day-of-week baseline.

    The baseline of a point is the metric's global level plus the learned offset of the point's
    clock bucket (see :mod:`incidentml.anomaly._seasonal`). Points with no timestamp are scored
    against a plain, non-seasonal robust level instead.

    Parameters
    ----------
    bucket_minutes : int, default=60
        Width of a time-of-day slot in minutes (``60`` gives 24 slots a day).
    weekly : {"weekend", "day", "none"}, default="weekend"
        Split the slots further by weekday/weekend, by day of the week, or not at all.
    alpha : float, default=0.02
        Weight of the newest point in the global level and spread.
    seasonal_alpha : float, default=0.1
        Weight of the newest point in its bucket's offset and spread (counted in visits of that
        bucket, so ``0.1`` remembers about the last 20 points of each bucket).
    min_count : int, default=10
        A bucket with this many points gets half the weight against its parent (the time-of-day
        bucket for a day-group bucket; the global level and spread for a time-of-day bucket).
    clip : float, default=3.0
        Updates are clipped at this many spreads, so outliers barely move the baseline.
    utc_offset : float, default=0.0
        Hours added to UTC timestamps to get the local clock (``-5.0`` for New York winter time).
    calibrate : bool, default=True
        Pass the raw z-scores through the anomaly likelihood, giving scores in [0, 1].
    warmup : int, default=150
        Points each metric needs before it scores anything but 0.
    short_window, history, min_std
        Settings of the likelihood step (see :mod:`incidentml.anomaly._calibration`).

    Notes
    -----
    Memory is ``5 + 3 * n_slots * (1 + n_groups)`` floats per metric (``3 * n_slots + 5`` without
    weekly split) plus the likelihood step, with ``n_slots = ceil(1440 / bucket_minutes)`` and
    ``n_groups`` 2 (``"weekend"``) or 7 (``"day"``).

    Examples
    --------
    >>> import numpy as np
    >>> from incidentml.anomaly import SeasonalDetector, tail_probability_to_score
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(0, 14 * 86400, 1800.0)  # two weeks, every 30 minutes
    >>> x = 10 + 5 * np.sin(2 * np.pi * t / 86400) + rng.normal(0, 0.3, len(t))
    >>> x[540] = 5.0  # the trough's value at the time of the daily peak
    >>> scores = SeasonalDetector().score_many(x, t)
    >>> cut = tail_probability_to_score(1e-5)  # the score of a one-in-100,000 event: 1/3
    >>> bool(scores[540] > cut), bool(scores[200:540].max() < cut)
    (True, True)
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "bucket_minutes": [Interval(int, 1, 1440)],
        "weekly": [Options(("weekend", "day", "none"))],
        "alpha": [Interval(float, 0, 1, closed="right")],
        "seasonal_alpha": [Interval(float, 0, 1, closed="right")],
        "min_count": [Interval(int, 0, None)],
        "clip": [Interval(float, 0, None, closed="neither")],
        "utc_offset": [Interval(float, -24, 24)],
        "calibrate": [bool],
        "warmup": [Interval(int, 0, None)],
        "short_window": [Interval(int, 1, 64)],
        "history": [Interval(int, 1, None)],
        "min_std": [Interval(float, 0, None)],
    }

    def __init__(self, bucket_minutes: int = 60, weekly: str = "weekend", *, alpha: float = 0.02,
                 seasonal_alpha: float = 0.1, min_count: int = 10, clip: float = 3.0, utc_offset: float = 0.0,
                 calibrate: bool = True, warmup: int = 150, short_window: int = 10, history: int = 2000,
                 min_std: float = 0.05) -> None:
        self.bucket_minutes = bucket_minutes
        self.weekly = weekly
        self.alpha = alpha
        self.seasonal_alpha = seasonal_alpha
        self.min_count = min_count
        self.clip = clip
        self.utc_offset = utc_offset
        self.calibrate = calibrate
        self.warmup = warmup
        self.short_window = short_window
        self.history = history
        self.min_std = min_std

    @classmethod
    def _unit_test_params(cls) -> Iterator[dict[str, Any]]:
        yield {"warmup": 50}  # calibrated scores move within the checks' short streams
        yield {"bucket_minutes": 240, "weekly": "day", "utc_offset": -5.0, "warmup": 50}

    def _stages(self) -> list[Stage]:
        n_slots = -(-1440 // self.bucket_minutes)
        groups = _WEEK_GROUPS[self.weekly]
        params = (self.alpha, self.seasonal_alpha, self.clip, float(max(self.min_count, 0)) + 1e-12,
                  60.0 * self.bucket_minutes, float(n_slots), float(groups), 3600.0 * self.utc_offset, 20.0)
        size = _HEAD + 3 * n_slots * (1 + groups if groups > 1 else 1)
        stages = [Stage(seasonal_kernel, params, size)]
        if self.calibrate:
            stages.append(calibration_stage(self.short_window, self.history, self.warmup, self.min_std))
        return stages
