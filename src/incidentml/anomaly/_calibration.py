"""The one calibration scale of incidentml's detectors, and the threshold that goes with it.

Every calibrated detector answers in [0, 1] on the same scale, so one threshold means the same
rarity whatever the detector or the series. A raw score ``r`` (a z-score, a distance, river's
outlier score) is turned into a tail probability against the series' own history, the *anomaly
likelihood* of Ahmad et al. (2017): the average of ``r`` over the last ``short_window`` points is
compared with the long-run mean and variance of that average (exponentially weighted, about
``history`` points), and ``q`` is the Gaussian upper-tail probability of its standardised value.
The score is

    L = -log10(q),    score = L / (L + 10)

so an ordinary point scores near 0, a one-in-10^5 event 1/3, a one-in-10^10 event 0.5
(:data:`DEFAULT_THRESHOLD`) and the score approaches 1 as the event gets rarer, without saturating.
This is the scale of the default detector
(:class:`~incidentml.anomaly.StreamingLikelihoodDetector`), which calls the same compiled
functions inside its own kernel; every other family appends :func:`calibration_stage` to its raw
detector.

In that stage raw scores are capped at 1e12 and a huge standardised value scores 1.0, so a value
like 1e308 never makes a score or the state NaN or infinite. :func:`learn_moments` can winsorise the
values fed to the running mean and variance (``clip`` standard deviations after ``MOMENTS_WARMUP``
values); it is off (:data:`MOMENTS_CLIP` is ``inf``) because every finite clip measured lowered
NAB scores: the moments then adapt too slowly to a lasting change (the default detector lost 0.2 to
4.4 points, the other families up to all of theirs at a clip of 3).

What bounds one point's influence instead is *isolated winsorising* (``isolated_clip``, default
:data:`ISOLATED_CLIP`): a raw score far above what the calibration holds is learnt at a limit only
while it is isolated (the first :data:`ISOLATED_RUN` points of a run), so a single huge value cannot
blind the stage for thousands of points, and a lasting change is still learnt at full speed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ._jit import jit

if TYPE_CHECKING:
    from .base import Stage

__all__ = [
    "DEFAULT_THRESHOLD",
    "ISOLATED_CLIP",
    "ISOLATED_RUN",
    "LIKELIHOOD_STATE",
    "MOMENTS_CLIP",
    "MOMENTS_WARMUP",
    "TAIL_SCALE",
    "calibrated",
    "calibration_stage",
    "isolated_value",
    "learn_moments",
    "likelihood_kernel",
    "likelihood_params",
    "score_to_tail_probability",
    "tail_probability_to_score",
    "tail_score",
]

#: ``score = L / (L + TAIL_SCALE)`` with ``L = -log10(tail probability)``: the score is 0.5 when
#: ``L == TAIL_SCALE``.
TAIL_SCALE = 10.0

#: Default cut for ``is_anomaly``: a tail probability of 1e-10 (``L = 10``). The default detector's
#: own alerts start at 0.45 (its ``alert_level``, a tail probability of about 7e-9).
DEFAULT_THRESHOLD = 0.5

_RING = 64  # largest short window
#: Floats of state the calibration stage keeps per metric: ``[n, mean, var, pos, filled, ring...]``.
LIKELIHOOD_STATE = 5 + _RING
_LN10 = math.log(10.0)
#: Values the calibration's mean and variance learn unclipped (the plain average of a fresh state).
MOMENTS_WARMUP = 10.0
#: A value fed to the calibration stage's mean and variance is winsorised at this many standard
#: deviations. ``inf`` (no clipping) for now: any finite clip measured so far lowers NAB scores of the
#: families (scoreboard standard, robust: 13.0 at inf, 11.3 at 30, 0.0 at 10 and 3).
MOMENTS_CLIP = math.inf
_RAW_CAP = 1e12  # raw scores are capped here before averaging (64 of them still sum to a finite float)
#: Default of the calibration stage's ``isolated_clip``: a raw score above
#: ``mean + isolated_clip * sd * sqrt(n)`` (the state's mean and spread of ``n``-point averages) that
#: starts a run of such scores is learnt, and kept in the short window, at that limit; the first
#: :data:`ISOLATED_RUN` scores of a run are, the rest as they are. One huge value (or the two huge
#: raw scores a value and its first difference give) then moves the calibration by a bounded amount,
#: while a lasting change is learnt at full speed from its third point. Chosen over the NAB corpus for
#: all calibrated families at once (benchmarks/README.md); ``inf`` turns it off.
ISOLATED_CLIP = 5.0
#: How many raw scores at the start of a run above the limit are winsorised.
ISOLATED_RUN = 2.0
_RUN = 5 + _RING - 1  # ring slot the ring never uses (it holds at most _RING - 1 raw scores): run length


def tail_probability_to_score(q: float) -> float:
    """The calibrated score of an event with upper-tail probability ``q`` (in (0, 1]).

    Parameters
    ----------
    q : float
        The upper-tail probability, in (0, 1].

    Returns
    -------
    float
        ``L / (L + 10)`` with ``L = -log10(q)``, in [0, 1).

    Examples
    --------
    >>> tail_probability_to_score(1e-10)
    0.5
    >>> round(tail_probability_to_score(1e-5), 4)
    0.3333
    """
    lq = max(-math.log10(q), 0.0)
    return lq / (lq + TAIL_SCALE)


def score_to_tail_probability(score: float) -> float:
    """The tail probability a calibrated score stands for (the inverse of :func:`tail_probability_to_score`).

    Parameters
    ----------
    score : float
        A calibrated score in [0, 1].

    Returns
    -------
    float
        The upper-tail probability; ``0.0`` for a score of 1.

    Examples
    --------
    >>> score_to_tail_probability(0.5)
    1e-10
    """
    if score >= 1.0:
        return 0.0
    return 10.0 ** (-TAIL_SCALE * score / (1.0 - score))


@jit
def tail_score(z):  # pragma: no cover - compiled
    """-log10 of the N(0, 1) upper tail at ``z``, mapped to [0, 1) by L / (L + 10) (1.0 for a huge ``z``)."""
    if z > 1e150:  # z * z would overflow; the score is 1.0 to double precision long before
        return 1.0
    if z < 8.0:
        lq = -math.log10(0.5 * math.erfc(z / math.sqrt(2.0)))
    else:  # asymptotic tail, erfc underflows
        lq = (0.5 * z * z + math.log(z) + 0.9189385332046727) / _LN10
    if lq < 0.0:
        lq = 0.0
    return lq / (lq + 10.0)


@jit
def calibrated(state, k, avg, min_std, scale=1.0):  # pragma: no cover - compiled
    """Tail score of ``avg`` against the running mean ``state[k]`` and variance ``state[k + 1]``.

    The spread is floored at ``min_std * (1 + |mean|)``. The standardised value is divided by
    ``scale`` first (``scale > 1``: a stricter calibration).
    """
    mean = state[k]
    sd = math.sqrt(state[k + 1])
    fl = min_std * (1.0 + abs(mean))
    if sd < fl:
        sd = fl
    return tail_score((avg - mean) / sd / scale)


@jit
def learn_moments(state, k, value, count, ha, min_std=0.0, clip=math.inf):  # pragma: no cover - compiled
    """Exponentially weighted mean and variance at ``state[k]``, ``state[k + 1]`` (plain average early on).

    With a finite ``clip`` (the calibration stage passes :data:`MOMENTS_CLIP`), from the
    ``MOMENTS_WARMUP``-th value on the value is winsorised at ``clip`` standard deviations of the
    current state (the spread floored at ``min_std * (1 + |mean|)``, as in :func:`calibrated`), so one
    huge value moves the mean by at most ``a * clip`` spreads and the variance by a bounded factor.
    A non-finite value is not learnt.
    """
    if not math.isfinite(value):
        return
    a = ha
    if 1.0 / (count + 1.0) > a:
        a = 1.0 / (count + 1.0)
    if count == 0.0:
        state[k] = value
        state[k + 1] = 0.0
    else:
        mean = state[k]
        dd = value - mean
        if count >= MOMENTS_WARMUP and clip < math.inf:
            sd = math.sqrt(state[k + 1])
            fl = min_std * (1.0 + abs(mean))
            if sd < fl:
                sd = fl
            if sd > 0.0:
                lim = clip * sd
                dd = lim if dd > lim else (-lim if dd < -lim else dd)
        state[k] = mean + a * dd
        state[k + 1] = (1.0 - a) * (state[k + 1] + a * dd * dd)


@jit
def isolated_value(state, k, run_at, raw, cnt, count, min_std, iso):  # pragma: no cover - compiled
    """What the calibration at ``state[k]`` learns of ``raw``: the limit while ``raw`` starts a run above it.

    The limit is ``mean + iso * sd * sqrt(cnt)`` (``cnt`` raw scores make the averages the state
    holds; the spread floored as in :func:`calibrated`). ``state[run_at]`` counts the current run of
    raw scores above the limit: its first :data:`ISOLATED_RUN` are learnt at the limit, the rest as
    they are. Off with ``iso = inf`` or before ``MOMENTS_WARMUP`` values (``count``).
    """
    if not iso < math.inf or count < MOMENTS_WARMUP:
        return raw
    mean = state[k]
    sd = math.sqrt(state[k + 1])
    fl = min_std * (1.0 + abs(mean))
    if sd < fl:
        sd = fl
    lim = mean + iso * sd * math.sqrt(cnt)
    if raw > lim:
        run = state[run_at]
        state[run_at] = run + 1.0
        return lim if run < ISOLATED_RUN else raw
    state[run_at] = 0.0
    return raw


def likelihood_params(short_window: int, history: int, warmup: int, min_std: float,
                      isolated_clip: float = ISOLATED_CLIP) -> tuple[float, ...]:
    """Pack the calibration stage's parameters (``short_window`` is capped at 64)."""
    return (float(min(max(short_window, 1), _RING)), 1.0 / max(history, 1), float(warmup), float(min_std),
            float(isolated_clip))


@jit
def likelihood_kernel(values, times, state, params, out, learn):  # pragma: no cover - compiled
    """The calibration stage: raw scores in, calibrated scores in [0, 1) out (0 during the warm-up)."""
    # state: [n, mean, var, pos, filled, ring...]
    k = int(params[0])
    alpha = params[1]
    warmup = params[2]
    min_std = params[3]
    iso = params[4] if params.shape[0] > 4 else math.inf  # parameters packed before isolated_clip: off
    ring_n = k - 1
    for i in range(values.shape[0]):
        raw = values[i]
        if not raw < _RAW_CAP:  # a huge, infinite or NaN raw score: capped, so the ring sum stays finite
            raw = _RAW_CAP if raw == raw else 0.0
        elif raw < -_RAW_CAP:
            raw = -_RAW_CAP
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
            out[i] = calibrated(state, 1, avg, min_std)
        if learn:
            kept = isolated_value(state, 1, _RUN, raw, filled + 1.0, n, min_std, iso)  # learnt and kept
            learn_moments(state, 1, avg + (kept - raw) / (filled + 1), n, alpha, min_std, MOMENTS_CLIP)
            if ring_n > 0:
                state[5 + pos] = kept
                pos += 1
                if pos >= ring_n:
                    pos = 0
                if filled < ring_n:
                    filled += 1
            state[3] = pos
            state[4] = filled
            state[0] = n + 1.0


def calibration_stage(short_window: int, history: int, warmup: int, min_std: float,
                      isolated_clip: float = ISOLATED_CLIP) -> Stage:
    """The calibration as a :class:`~incidentml.anomaly.Stage`, to append to a raw detector's stages."""
    from .base import Stage

    return Stage(likelihood_kernel, likelihood_params(short_window, history, warmup, min_std, isolated_clip),
                 LIKELIHOOD_STATE)
