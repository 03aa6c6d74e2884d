"""Generated incident scenarios with known ground truth, for benchmarking early warnings.

Each :class:`Scenario` is one entity's metrics as a wide frame (``timestamp`` plus one column per
metric) with the truth attached: when the fault starts (``onset``), when the outage or breach
happens (``failure_at``), which metric moves first (``leading_metric``) and the limits of the
metrics a breach forecaster should watch. ``"normal"`` scenarios have no fault and measure false
alarms. Everything is drawn from a seeded local generator; nothing is downloaded.

Kinds (durations are wall-clock; defaults give one day at ``freq="1min"``):

``"disk_fill"``
    ``disk_used_pct``: level 35-70 %, noise sd 0.1-0.6, a daily wobble of 0.3-1.5 points, then
    from ``onset`` a steady fill (a runaway log) that crosses 95 % after 1.5-8 h (so 3-35 % per
    hour) and saturates at 100 %. ``failure_at`` is when the noiseless line crosses 95.
    Distractor ``disk_read_mbps`` (a daily cycle, unrelated to the fault, so that the leading
    metric is unambiguous). Limit ``{"disk_used_pct": 95}``.
``"memory_leak"``
    ``mem_used_pct``: level 30-60 %, noise sd 0.2-0.8, a leak crossing 95 % after 3-12 h; after
    the failure (an OOM kill) the process restarts at its base level. Distractors ``cpu_pct``
    (daily cycle, a few benign spikes) and ``net_in_mbps``; ``gc_pause_ms`` grows only once the
    heap passes 80 %, so it follows the leak. Limit ``{"mem_used_pct": 95}``.
``"latency_creep"``
    ``p99_latency_ms``: base 80-250 ms with 4-12 % multiplicative noise, creeping from ``onset``
    (power 1-1.6 of the elapsed fraction: linear to mildly accelerating) to the SLO of 500 ms
    after 1-6 h; beyond it the service degrades further. ``error_rate`` (a fraction) stays at its
    0.05-0.5 % base and jumps to 3-30 % only at ``failure_at``. Distractor ``requests_per_s``.
    Limit ``{"p99_latency_ms": 500}``.
``"multi_metric"``
    A worker host where ``queue_length`` leads: from ``onset`` the backlog grows, and
    ``latency_ms``, ``error_rate`` and ``cpu_pct`` follow after their own delays (drawn 3-20 min,
    in a random order, at least 3 min apart). ``failure_at`` is when the last follower starts to
    move; the queue reaches its limit of 500 then. ``params["starts"]`` holds each metric's
    start. Limit ``{"queue_length": 500}``.
``"normal"``
    The metrics of the other kinds with daily cycles, noise, a few benign spikes and slow,
    harmless drifts; ``failure_at``, ``onset`` and ``leading_metric`` are ``None``. Limits of
    every forecastable metric are given, so that false breach forecasts can be counted.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError

__all__ = ["KINDS", "Scenario", "make_scenario", "make_scenarios"]

#: The scenario kinds, in the order :func:`make_scenarios` generates them.
KINDS = ("disk_fill", "memory_leak", "latency_creep", "multi_metric", "normal")

_PREFIX = {"disk_fill": "db", "memory_leak": "app", "latency_creep": "api", "multi_metric": "worker",
           "normal": "web"}

#: Start of every generated frame (naive timestamps are UTC).
START = pd.Timestamp("2024-05-06 00:00:00")
#: Default span of a scenario when ``n_points`` is not given.
DEFAULT_SPAN = pd.Timedelta(hours=24)


@dataclass(frozen=True)
class Scenario:
    """One entity's metrics with the ground truth of its fault.

    Attributes
    ----------
    frame : DataFrame
        ``timestamp`` (datetime64) and one float column per metric, one row per ``freq`` step.
    entity : str
        Name of the host or service.
    failure_at : Timestamp or None
        When the outage or breach happens (``None`` for ``"normal"``).
    onset : Timestamp or None
        When the fault starts (``None`` for ``"normal"``).
    leading_metric : str or None
        The metric that moves first.
    limit : dict of str to float
        Limit of each metric a breach forecaster should watch (all are "above" limits).
    kind : str
        One of :data:`KINDS`.
    seed : int
        Seed the scenario was generated from.
    params : dict
        The drawn parameters (rates, noise levels, delays), for inspection.

        Examples
        --------
        >>> sc = make_scenario("disk_fill", seed=0, n_points=240)
        >>> sc.entity, sc.leading_metric, sc.limit, len(sc.frame)
        ('db-000', 'disk_used_pct', {'disk_used_pct': 95.0}, 240)
        >>> bool(sc.onset < sc.failure_at), make_scenario("normal", n_points=240).failure_at is None
        (True, True)
    """

    frame: pd.DataFrame
    entity: str
    failure_at: pd.Timestamp | None
    onset: pd.Timestamp | None
    leading_metric: str | None
    limit: dict[str, float]
    kind: str
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def metrics(self) -> list[str]:
        """The metric columns of :attr:`frame`.

        Examples
        --------
        >>> make_scenario("disk_fill", seed=0, n_points=240).metrics
        ['disk_used_pct', 'disk_read_mbps']
        """
        return [c for c in self.frame.columns if c != "timestamp"]

    def __repr__(self) -> str:
        return (f"Scenario(kind={self.kind!r}, entity={self.entity!r}, n_points={len(self.frame)}, "
                f"onset={self.onset}, failure_at={self.failure_at}, leading_metric={self.leading_metric!r})")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _crossing(t: np.ndarray, s: np.ndarray, level: float, after: float) -> float:
    """First time at or after ``after`` the noiseless signal ``s`` reaches ``level`` (interpolated)."""
    idx = np.flatnonzero((s >= level) & (t >= after))
    if len(idx) == 0:
        return math.nan
    i = int(idx[0])
    if i == 0 or s[i - 1] >= level:
        return float(t[i])
    frac = (level - s[i - 1]) / (s[i] - s[i - 1])
    return float(t[i - 1] + frac * (t[i] - t[i - 1]))


def _daily(t: np.ndarray, amp: float, phase: float, period_h: float = 24.0) -> np.ndarray:
    return amp * np.sin(2 * np.pi * t / (period_h * 3600.0) + phase)


def _ar1(rng: np.random.Generator, n: int, sd: float, phi: float) -> np.ndarray:
    """Stationary AR(1) noise with marginal sd ``sd`` (gauges wander rather than jitter)."""
    z = rng.normal(0.0, sd * math.sqrt(1 - phi * phi), n)
    out = np.empty(n)
    prev = rng.normal(0.0, sd)
    for i in range(n):
        prev = phi * prev + z[i]
        out[i] = prev
    return out


def _spikes(rng: np.random.Generator, n: int, rate: float, size: float, width: int = 3) -> np.ndarray:
    """A few short benign bumps (deploys, cron jobs): ``rate`` bumps per point on average."""
    out = np.zeros(n)
    for start in np.flatnonzero(rng.random(n) < rate):
        out[start:start + width] += size * rng.uniform(0.5, 1.0)
    return out


def _timing(rng: np.random.Generator, t: np.ndarray, dur_h: tuple[float, float]) -> tuple[float, float]:
    """(onset, failure) in seconds from the start: failure at 60-85 % of the span, onset before it."""
    span = float(t[-1])
    failure = rng.uniform(0.60, 0.85) * span
    duration = rng.uniform(*dur_h) * 3600.0
    duration = min(duration, failure - 0.25 * span)
    return failure - duration, failure


# --------------------------------------------------------------------------------------------
# kinds: each returns (columns, onset_s, failure_s, leading_metric, limit, params)
# --------------------------------------------------------------------------------------------
def _disk_fill(rng: np.random.Generator, t: np.ndarray) -> tuple:
    n = len(t)
    base = rng.uniform(35, 70)
    sd = rng.uniform(0.1, 0.6)
    wobble = rng.uniform(0.3, 1.5)
    phase = rng.uniform(0, 2 * np.pi)
    onset, target = _timing(rng, t, (1.5, 8.0))
    level_at_onset = base + _daily(np.array([onset]), wobble, phase)[0]
    rate = (95.0 - level_at_onset) / (target - onset)  # pct per second, crosses 95 about at target
    truth = base + _daily(t, wobble, phase) + rate * np.clip(t - onset, 0, None)
    truth = np.minimum(truth, 100.0)
    failure = _crossing(t, truth, 95.0, onset)
    noisy = np.clip(truth + _ar1(rng, n, sd, 0.5), 0, 100)
    read = np.abs(rng.uniform(5, 40) * (1 + 0.4 * np.sin(2 * np.pi * t / 86400 + rng.uniform(0, 6)))
                  * np.exp(rng.normal(0, 0.1, n)))
    params = {"base": base, "noise_sd": sd, "wobble": wobble, "fill_rate_pct_per_h": rate * 3600}
    return ({"disk_used_pct": noisy, "disk_read_mbps": read}, onset, failure, "disk_used_pct",
            {"disk_used_pct": 95.0}, params)


def _memory_leak(rng: np.random.Generator, t: np.ndarray) -> tuple:
    n = len(t)
    base = rng.uniform(30, 60)
    sd = rng.uniform(0.2, 0.8)
    onset, target = _timing(rng, t, (3.0, 12.0))
    rate = (95.0 - base) / (target - onset)
    leak = rate * np.clip(t - onset, 0, None)
    failure = _crossing(t, base + leak, 95.0, onset)
    step = float(t[1] - t[0])
    leak[t > failure + step] = 0.0  # OOM kill just after the failure: the process restarts at its base level
    truth = base + leak
    mem = np.clip(truth + _ar1(rng, n, sd, 0.6), 0, 100)
    cpu_base = rng.uniform(15, 45)
    cpu = np.clip(cpu_base + _daily(t, rng.uniform(5, 15), rng.uniform(0, 2 * np.pi)) + _ar1(rng, n, 3.0, 0.7)
                  + _spikes(rng, n, 0.003, 30), 1, 100)
    net = np.abs(rng.uniform(20, 200) * (1 + 0.3 * np.sin(2 * np.pi * t / 86400 + rng.uniform(0, 6)))
                 + rng.normal(0, 8, n))
    pressure = np.clip((truth - 80.0) / 15.0, 0, 1)  # GC pauses grow only once the heap is nearly full
    gc = np.abs(rng.uniform(5, 15) * (1 + 3.0 * pressure) + rng.normal(0, 1.5, n))
    params = {"base": base, "noise_sd": sd, "leak_rate_pct_per_h": rate * 3600}
    return ({"mem_used_pct": mem, "cpu_pct": cpu, "net_in_mbps": net, "gc_pause_ms": gc}, onset, failure,
            "mem_used_pct", {"mem_used_pct": 95.0}, params)


def _latency_creep(rng: np.random.Generator, t: np.ndarray) -> tuple:
    n = len(t)
    slo = 500.0
    base = rng.uniform(80, 250)
    noise = rng.uniform(0.04, 0.12)
    power = rng.uniform(1.0, 1.6)
    onset, target = _timing(rng, t, (1.0, 6.0))
    frac = np.clip(t - onset, 0, None) / (target - onset)
    truth = base + (slo - base) * frac ** power
    truth = np.where(t > target, np.clip(truth, slo * 1.2, slo * 3.0), truth)  # degraded (timeouts) after it
    failure = _crossing(t, truth, slo, onset)
    p99 = truth * np.exp(_ar1(rng, n, noise, 0.4) - noise * noise / 2)
    err_base = rng.uniform(0.0005, 0.005)
    err_jump = rng.uniform(0.03, 0.30)
    jump = (t >= failure) * err_jump * rng.uniform(0.7, 1.3, n)
    err = np.clip(err_base * np.exp(rng.normal(0, 0.3, n)) + jump, 0, 1)
    rps = np.abs(rng.uniform(100, 2000) * (1 + 0.4 * np.sin(2 * np.pi * t / 86400 + rng.uniform(0, 6)))
                 * np.exp(rng.normal(0, 0.05, n)))
    params = {"base_ms": base, "noise_rel": noise, "power": power,
              "creep_ms_per_h": (slo - base) / (target - onset) * 3600, "error_jump": err_jump}
    return ({"p99_latency_ms": p99, "error_rate": err, "requests_per_s": rps}, onset, failure,
            "p99_latency_ms", {"p99_latency_ms": slo}, params)


def _multi_metric(rng: np.random.Generator, t: np.ndarray) -> tuple:
    n = len(t)
    step = float(t[1] - t[0]) if n > 1 else 60.0
    gap = max(180.0, 2 * step)
    followers = ["latency_ms", "error_rate", "cpu_pct"]
    order = [followers[i] for i in rng.permutation(3)]
    delays = np.sort(rng.uniform(180.0, 1200.0, 3))
    for i in range(3):  # at least `gap` apart, and after the leader
        delays[i] = max(delays[i], (delays[i - 1] if i else 0.0) + gap)
    span = float(t[-1])
    failure = rng.uniform(0.60, 0.85) * span
    onset = failure - float(delays[-1])
    starts = {"queue_length": onset, **{m: onset + float(d) for m, d in zip(order, delays, strict=True)}}
    q_base = rng.uniform(5, 30)
    q_limit = 500.0
    rate = (q_limit - q_base) / (failure - onset)
    # the backlog grows until producers are throttled at 1.6 x the limit
    queue_truth = np.minimum(q_base + rate * np.clip(t - onset, 0, None), 1.6 * q_limit)
    queue = np.clip(queue_truth + rng.normal(0, 0.15 * q_base + 1, n), 0, None).round()

    def excess(m: str) -> np.ndarray:  # each follower's ramp since its own start, saturating
        return np.clip(t - starts[m], 0, 1.5 * (failure - onset)) / (failure - onset)

    lat_base = rng.uniform(20, 80)
    latency = (lat_base + lat_base * 8 * excess("latency_ms")) * np.exp(rng.normal(0, 0.08, n))
    err_base = rng.uniform(0.0005, 0.003)
    err = np.clip(err_base * np.exp(rng.normal(0, 0.3, n)) + 0.4 * np.minimum(excess("error_rate") * 3, 1.0)
                  * rng.uniform(0.5, 1.0), 0, 1)
    cpu_base = rng.uniform(20, 45)
    cpu = np.clip(cpu_base + _daily(t, 5, rng.uniform(0, 6))
                  + (95 - cpu_base) * np.minimum(excess("cpu_pct") * 3, 1) + rng.normal(0, 3, n), 0, 100)
    params = {"delays_s": {m: float(d) for m, d in zip(order, delays, strict=True)},
              "starts": {m: START + pd.Timedelta(seconds=round(s, 3)) for m, s in starts.items()},
              "queue_rate_per_min": rate * 60}
    return ({"queue_length": queue, "latency_ms": latency, "error_rate": err, "cpu_pct": cpu}, onset, failure,
            "queue_length", {"queue_length": q_limit}, params)


def _normal(rng: np.random.Generator, t: np.ndarray) -> tuple:
    n = len(t)
    day = lambda amp: _daily(t, amp, rng.uniform(0, 2 * np.pi))  # noqa: E731
    disk = np.clip(rng.uniform(30, 75) + rng.uniform(-0.05, 0.15) * t / 3600 + day(rng.uniform(0.3, 1.5))
                   + _ar1(rng, n, rng.uniform(0.1, 0.6), 0.5), 0, 100)
    mem = np.clip(rng.uniform(30, 70) + day(rng.uniform(2, 8)) + _ar1(rng, n, rng.uniform(0.2, 0.8), 0.6)
                  + _spikes(rng, n, 0.002, 10, width=10), 0, 100)
    cpu = np.clip(rng.uniform(15, 45) + day(rng.uniform(5, 15)) + _ar1(rng, n, 3.0, 0.7)
                  + _spikes(rng, n, 0.003, 30), 1, 100)
    lat_base = rng.uniform(80, 250)
    lat = lat_base * (1 + 0.15 * day(1.0)) * np.exp(_ar1(rng, n, rng.uniform(0.04, 0.12), 0.4)) \
        + _spikes(rng, n, 0.002, lat_base)
    err = np.clip(rng.uniform(0.0005, 0.005) * np.exp(rng.normal(0, 0.3, n)), 0, 1)
    queue = np.clip(rng.uniform(5, 30) * (1 + 0.3 * day(1.0)) + rng.normal(0, 3, n)
                    + _spikes(rng, n, 0.003, 40), 0, None).round()
    cols = {"disk_used_pct": disk, "mem_used_pct": mem, "cpu_pct": cpu, "p99_latency_ms": lat,
            "error_rate": err, "queue_length": queue}
    limit = {"disk_used_pct": 95.0, "mem_used_pct": 95.0, "p99_latency_ms": 500.0, "queue_length": 500.0}
    return cols, None, None, None, limit, {}


_KIND_FUNCS: dict[str, Callable[[np.random.Generator, np.ndarray], tuple]] = {
    "disk_fill": _disk_fill, "memory_leak": _memory_leak, "latency_creep": _latency_creep,
    "multi_metric": _multi_metric, "normal": _normal,
}


# --------------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------------
def _plain(obj: Any) -> Any:
    """numpy scalars to Python floats, recursively (so that params print and serialise cleanly)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        msg = (f"The {name!r} parameter of make_scenario must be an int in the range [{low}, inf). "
               f"Got {value!r} instead.")
        raise InvalidParameterError(msg)


def make_scenario(kind: str, *, seed: int = 0, freq: str = "1min", n_points: int | None = None,
                  entity: str | None = None) -> Scenario:
    """Generate one scenario of the given kind with its ground truth.

    Parameters
    ----------
    kind : {"disk_fill", "memory_leak", "latency_creep", "multi_metric", "normal"}
        What goes wrong (see the module docstring for each kind's metrics and magnitudes).
    seed : int, default=0
        Seed of the local random generator: same seed, same scenario.
    freq : str, default="1min"
        Sampling interval (a pandas offset alias such as ``"30s"``, ``"1min"``, ``"5min"``).
    n_points : int or None, default=None
        Number of rows (at least 60); ``None`` covers one day at ``freq``. Fault durations are
        wall-clock and shrink to fit a short span.
    entity : str or None, default=None
        Entity name; ``None`` gives e.g. ``"db-000"`` from the kind and the seed.

    Returns
    -------
    Scenario

    Examples
    --------
    >>> sc = make_scenario("disk_fill", seed=1)
    >>> sc.frame.shape, sc.leading_metric, sc.limit
    ((1440, 3), 'disk_used_pct', {'disk_used_pct': 95.0})
    >>> sc.onset < sc.failure_at
    True
    >>> row = sc.frame.set_index("timestamp").asof(sc.failure_at + pd.Timedelta("10min"))
    >>> bool(row["disk_used_pct"] > 93)
    True
    >>> make_scenario("normal").failure_at is None
    True
    """
    if kind not in _KIND_FUNCS:
        msg = (f"The 'kind' parameter of make_scenario must be one of {', '.join(map(repr, KINDS))}. "
               f"Got {kind!r} instead.")
        raise InvalidParameterError(msg)
    _check_int("seed", seed, 0)
    if n_points is not None:
        _check_int("n_points", n_points, 60)
    try:
        step = pd.to_timedelta(freq)
    except (ValueError, TypeError):
        step = None
    if step is None or step <= pd.Timedelta(0):
        msg = ("The 'freq' parameter of make_scenario must be a positive pandas offset alias such as "
               f"'1min'. Got {freq!r} instead.")
        raise InvalidParameterError(msg)
    if n_points is None:
        n_points = max(60, int(DEFAULT_SPAN / step))
    if entity is None:
        entity = f"{_PREFIX[kind]}-{seed:03d}"
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    t = np.arange(n_points, dtype=np.float64) * step.total_seconds()
    cols, onset, failure, leading, limit, params = _KIND_FUNCS[kind](rng, t)
    timestamps = START + pd.to_timedelta(t, unit="s")
    frame = pd.DataFrame({"timestamp": timestamps,
                          **{k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}})

    def to_ts(s: float | None) -> pd.Timestamp | None:
        return None if s is None or not math.isfinite(s) else START + pd.Timedelta(seconds=round(s, 3))

    return Scenario(frame=frame, entity=entity, failure_at=to_ts(failure), onset=to_ts(onset),
                    leading_metric=leading, limit=limit, kind=kind, seed=int(seed), params=_plain(params))


def make_scenarios(n_per_kind: int = 10, seed: int = 0, *, kinds: tuple[str, ...] = KINDS, freq: str = "1min",
                   n_points: int | None = None) -> list[Scenario]:
    """A population of scenarios: ``n_per_kind`` of each kind, each with its own seed.

    Rates, noise levels, durations and delays differ from one scenario to the next because each
    is drawn from its own seed (derived from ``seed``, the kind and the index).

    Parameters
    ----------
    n_per_kind : int, default=10
        Scenarios of each kind.
    seed : int, default=0
        Seed of the population; each scenario's own seed is derived from it, its kind and index.
    kinds : tuple of str, default=KINDS
        The kinds to generate (see :data:`KINDS`).
    freq : str, default="1min"
        The sampling step (a pandas frequency).
    n_points : int or None, default=None
        Points per scenario; ``None`` means one day at ``freq``.

    Returns
    -------
    list of Scenario
        Kind after kind, ``n_per_kind`` each.

    Examples
    --------
    >>> pop = make_scenarios(2, seed=0, n_points=240)
    >>> [sc.entity for sc in pop][:4], len(pop)
    (['db-00', 'db-01', 'app-00', 'app-01'], 10)
    >>> sum(sc.failure_at is None for sc in pop)
    2
    """
    _check_int("n_per_kind", n_per_kind, 1)
    _check_int("seed", seed, 0)
    out = []
    for k, kind in enumerate(kinds):
        for i in range(n_per_kind):
            sub = int(np.random.SeedSequence([seed, k, i]).generate_state(1)[0])
            out.append(make_scenario(kind, seed=sub, freq=freq, n_points=n_points,
                                     entity=f"{_PREFIX[kind]}-{i:02d}"))
    return out
