"""Anomaly likelihood: turn any raw score stream into a calibrated probability-like score in [0, 1].

This is the step NAB calls the *anomaly likelihood* (Ahmad et al., 2017). The recent average of the
raw scores (over ``short_window`` points) is compared with the long-run distribution of that
average (an exponentially weighted mean and variance with half-life about ``history`` points).
The upper-tail probability ``q`` of a Gaussian with those moments says how unusual the recent
scores are; the reported score is ``log(q + 1e-10) / log(1e-10)``: 0 for ordinary points, 0.5 for a
one-in-100,000 event and 1 for one in 10 billion. The first ``warmup`` points score 0.

Because the score is a tail probability of the series' *own* history, one threshold means the same
thing on every series, whatever its units or noise.
"""

from __future__ import annotations

import math

from ._jit import jit

__all__ = ["LIKELIHOOD_STATE", "learn_moments", "likelihood_kernel", "likelihood_params"]

_RING = 64  # largest short window
LIKELIHOOD_STATE = 5 + _RING
_LOG_EPS = -23.025850929940457  # log(1e-10)


def likelihood_params(short_window: int, history: int, warmup: int, min_std: float) -> tuple[float, ...]:
    """Pack the stage's parameters (``short_window`` is capped at 64)."""
    return (float(min(max(short_window, 1), _RING)), 1.0 / max(history, 1), float(warmup), float(min_std))


@jit
def learn_moments(state, k, value, count, ha):  # pragma: no cover - compiled
    """Exponentially weighted mean and variance at ``state[k]``, ``state[k + 1]`` (plain average early on)."""
    a = ha
    if 1.0 / (count + 1.0) > a:
        a = 1.0 / (count + 1.0)
    if count == 0.0:
        state[k] = value
        state[k + 1] = 0.0
    else:
        dd = value - state[k]
        state[k] += a * dd
        state[k + 1] = (1.0 - a) * (state[k + 1] + a * dd * dd)


@jit
def likelihood_kernel(values, times, state, params, out, learn):  # pragma: no cover - compiled
    # state: [n, mean, var, pos, filled, ring...]
    k = int(params[0])
    alpha = params[1]
    warmup = params[2]
    min_std = params[3]
    ring_n = k - 1
    for i in range(values.shape[0]):
        raw = values[i]
        n = state[0]
        filled = int(state[4])
        pos = int(state[3])
        total = raw
        for j in range(filled):
            total += state[5 + j]
        avg = total / (filled + 1)
        if n < warmup:
            out[i] = 0.0
        else:
            std = math.sqrt(state[2])
            floor = min_std * (1.0 + abs(state[1]))
            if std < floor:
                std = floor
            z = (avg - state[1]) / std
            q = 0.5 * math.erfc(z / math.sqrt(2.0))
            s = math.log(q + 1e-10) / _LOG_EPS
            out[i] = 0.0 if s < 0.0 else (1.0 if s > 1.0 else s)
        if learn:
            learn_moments(state, 1, avg, n, alpha)
            if ring_n > 0:
                state[5 + pos] = raw
                pos += 1
                if pos >= ring_n:
                    pos = 0
                if filled < ring_n:
                    filled += 1
            state[3] = pos
            state[4] = filled
            state[0] = n + 1.0
