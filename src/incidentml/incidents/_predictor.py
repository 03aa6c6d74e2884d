"""From anomaly scores to incidents: debounced, grouped, ranked, forecast, and kept up to date.

:class:`IncidentPredictor` runs one online detector per entity (host, service) over all of its
metrics. Each point's per-metric calibrated scores are first combined into one score of the entity
(``combine``: by default corrected for the number of metrics, see :func:`combine_scores`), which then
goes through one state machine:

1. **Open** an incident when the current point and at least ``min_points - 1`` others of the last
   ``window_points`` points score at or above ``open_threshold`` (an N-of-M rule).
2. **Group**: while it is open, every metric of the entity that scores at or above
   ``close_threshold`` joins it; metrics that were already unusual in the run-up count too, and the
   run-up's first point is the incident's estimated ``onset``.
3. **Hysteresis**: it stays open until the scores stay below ``close_threshold`` for
   ``quiet_points`` points in a row, then it is resolved.
4. **Cool-down and de-duplication**: a new opening within ``cooldown_points`` points of a resolution
   re-opens the same incident (its ``raised_at`` never moves), so one problem is one incident.
5. **Forecasts**: metrics given a limit (``limits``) are watched by a trend forecaster; when one is
   set to cross its limit within ``horizon`` seconds, an incident is raised *before* the breach (or the
   open incident gets the forecast).
6. **Feedback**: :meth:`IncidentPredictor.feedback` marks an incident ``"false_alarm"`` or ``"confirmed"``;
   a false alarm raises the opening level of its entity's leading metrics (capped), so a repeat of the
   same shape no longer opens (:mod:`._feedback`).

The batch route :meth:`IncidentPredictor.run` feeds the same state machine from the detectors'
batch scores, so it gives exactly the incidents of the streaming route :meth:`IncidentPredictor.update`.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from .._validation import Interval, Options, validate_params
from ..anomaly import AnomalyDetector, make_detector
from ..exceptions import DataError, InvalidParameterError, SchemaError
from ..utils import PersistenceMixin, as_point, column_seconds, metric_columns, to_seconds
from ._incident import SEVERITY_RULES, EventKind, Incident, IncidentEvent

if TYPE_CHECKING:
    from ._feedback import FeedbackBook

__all__ = ["IncidentPredictor", "combine_scores"]

_LONE_STEPS = 10  # candidate opening levels of a graded lone metric between open_threshold and 1
_SATURATED = 0.999  # lone scores from here on are saturated (e.g. new extremes) and learnt apart


def _log_tail(s: float) -> float:
    """``L = -log10 q`` of a calibrated score ``s = L / (L + 10)`` (the default detector's mapping)."""
    if s <= 0.0:
        return 0.0
    if s >= 1.0:
        return math.inf
    return 10.0 * s / (1.0 - s)


def _score(lq: float) -> float:
    """Inverse of :func:`_log_tail`: ``L / (L + 10)``, 0 for ``L <= 0``, 1 for ``L = inf``."""
    if lq <= 0.0:
        return 0.0
    if math.isinf(lq):
        return 1.0
    return lq / (lq + 10.0)


def combine_scores(top: float, second: float | None, k: int) -> tuple[float, float]:
    """Evidence of an entity from its two strongest metrics, corrected for how many metrics it has.

    A calibrated score ``s`` stands for a tail probability ``q`` through ``s = L / (L + 10)`` with
    ``L = -log10 q``. With ``k`` metrics, one of them reaches a given ``q`` by chance about ``k``
    times as often as a single metric does, and some pair of them reaches it together about
    ``k (k - 1) / 2`` times as often. So:

    - **lone**: the strongest metric on its own, ``L1 - log10 k`` (a Bonferroni correction);
    - **pair**: the second strongest (the weaker of the best pair), ``L2 - log10(k (k - 1) / 2)``.

    Both are mapped back to scores; with one metric (``k = 1``) the lone score is the metric's own score
    and there is no pair.

    Parameters
    ----------
    top : float
        Score of the strongest metric.
    second : float or None
        Score of the weaker metric of the strongest pair (``None`` with one metric).
    k : int
        Number of metrics scored.

    Returns
    -------
    lone, pair : float
        Corrected scores in [0, 1] (``pair`` is 0 with one metric).

    Examples
    --------
    >>> lone, pair = combine_scores(0.5, None, 1)
    >>> round(lone, 3), pair
    (0.5, 0.0)
    >>> lone, pair = combine_scores(0.6, 0.6, 38)
    >>> round(lone, 3), round(pair, 3)
    (0.58, 0.549)
    """
    if k <= 1:
        return float(top), 0.0
    lone = _score(_log_tail(top) - math.log10(k))
    pair = _score(_log_tail(second if second is not None else 0.0) - math.log10(k * (k - 1) / 2.0))
    return lone, pair


@dataclass
class _Run:
    """The current run of unusual points of one entity (the incident's run-up and life)."""

    start: float
    start_k: int
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    suppressed: bool = False  # feedback held back an opening of this run


@dataclass
class _Combiner:
    """What ``combine="corroborated"`` keeps per entity: recent per-metric scores and lone-metric counts.

    ``recent`` holds the scores of the last ``window_points`` points (a pair is a metric scoring now
    and another that peaked at most ``window_points - 1`` points before); ``levels`` are the candidate
    opening levels of a graded lone score and ``counts[i]`` how many points of the entity's history
    reached ``levels[i]`` without saturating; ``saturated`` counts the points whose lone score did.
    """

    recent: deque
    levels: list[float]
    counts: list[int]
    saturated: int = 0
    first_t: float | None = None

    def step(self, t: float, scores: dict[str, float], open_threshold: float, per_day: float) -> float:
        """The entity's combined score for this point; then learn from it."""
        self.recent.append(scores)
        if self.first_t is None:
            self.first_t = t
        k = len(scores)
        if k == 0:
            return 0.0
        if k == 1:
            return next(iter(scores.values()))
        lone, pair = combine_scores(max(scores.values()), self.partnered(scores), k)
        # after a day of history, the history may hold ``per_day`` points a day at a level, and always
        # one point: a single chance point in a short history does not silence a metric
        days = (t - self.first_t) / 86400.0
        budget = max(1.0, per_day * days) if days >= 1.0 else math.inf
        if lone >= _SATURATED:  # no grading left: lone only while saturating is rare for this entity
            allowed = self.saturated <= budget
            self.saturated += 1
            return max(pair, lone if allowed else 0.0)
        level = next((lev for lev, n in zip(self.levels, self.counts, strict=True) if n <= budget), math.inf)
        for i, lev in enumerate(self.levels):
            if lone >= lev:
                self.counts[i] += 1
        if level > open_threshold:  # discount the lone evidence so that ``level`` maps to ``open_threshold``
            lone = 0.0 if math.isinf(level) else _score(
                _log_tail(lone) - (_log_tail(level) - _log_tail(open_threshold)))
        return max(pair, lone)

    def partnered(self, scores: dict[str, float]) -> float:
        """Best ``min(now, partner)``: a metric's score now, with another metric's peak in ``recent``."""
        peak: dict[str, float] = {}
        for past in self.recent:
            for name, s in past.items():
                if s > peak.get(name, -1.0):
                    peak[name] = s
        first = max(peak, key=lambda name: (peak[name], name))
        second = max((s for name, s in peak.items() if name != first), default=0.0)
        others = max((s for name, s in scores.items() if name != first), default=0.0)
        return max(min(others, peak[first]), min(scores.get(first, 0.0), second))


@dataclass
class _Entity:
    detector: AnomalyDetector
    flags: deque
    combiner: _Combiner | None = None
    k: int = 0
    n_raised: int = 0
    run: _Run | None = None
    incident: Incident | None = None
    quiet: int = 0
    since_resolved: int = 0
    forecasters: dict[str, Any] = field(default_factory=dict)
    # evidence of the current incident from its earlier runs (a re-opened incident keeps it)
    base: dict[str, dict[str, float]] = field(default_factory=dict)
    n_suppressed: int = 0  # runs whose opening feedback held back


def _limit_spec(spec: Any, name: str) -> tuple[float, str]:
    if isinstance(spec, dict):
        if len(spec) != 1 or next(iter(spec)) not in ("above", "below"):
            msg = (f"The 'limits' parameter of IncidentPredictor must map each metric to a number or "
                   f"{{'above': x}} / {{'below': x}}. Got {spec!r} for {name!r} instead.")
            raise InvalidParameterError(msg)
        direction, value = next(iter(spec.items()))
    else:
        direction, value = "above", spec
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        msg = (f"The 'limits' parameter of IncidentPredictor must map each metric to a finite number. "
               f"Got {value!r} for {name!r} instead.")
        raise InvalidParameterError(msg)
    return float(value), direction


def _entity_job(shell: IncidentPredictor, entity: str, ent: _Entity, X: pd.DataFrame, t: np.ndarray,
                return_events: bool) -> tuple[str, _Entity, list[Incident], list[IncidentEvent]]:
    """Worker side of a parallel :meth:`IncidentPredictor.run`: one entity, returned whole."""
    shell.entities_ = {entity: ent}
    shell.incidents_ = []
    events = shell._run_entity(entity, ent, X, t, return_events)
    touched = list(shell.incidents_)
    if ent.incident is not None and all(ent.incident is not i for i in touched):
        touched.append(ent.incident)  # an incident raised before this batch, maybe updated here
    return entity, ent, touched, events


class IncidentPredictor(PersistenceMixin, BaseEstimator):
    """Watch the metrics of many entities and raise incidents people can act on.

    Parameters
    ----------
    detector : str or AnomalyDetector, default="default"
        Detector for each entity (a name for :func:`~incidentml.make_detector`, or an instance that
        is cloned per entity).
    combine : {"corroborated", "max"}, default="corroborated"
        How the per-metric scores of an entity make its score (see :func:`combine_scores`).

        - ``"corroborated"``: an entity with one metric keeps that metric's score. With ``k >= 2``
          metrics, the score is the larger of the *pair* evidence (the weaker of two metrics, one
          scoring now and the other at its peak of the last ``window_points`` points, corrected for
          the ``k (k - 1) / 2`` pairs) and the *lone* evidence (the strongest metric, corrected for
          the ``k`` metrics by Bonferroni). The lone evidence opens at a level learnt from the
          entity's own history: the lowest of ten levels from ``open_threshold`` to 1 that the
          history's graded lone evidence reached on at most ``lone_per_day`` points a day, and always
          at least one point (after a day of history; before, ``open_threshold``); it is discounted
          (in ``-log10 q``) so that this level maps to ``open_threshold``, and ignored if no level is
          rare enough. Saturated lone evidence (at least 0.999: a new extreme, or a tail beyond any
          grading) is learnt apart: it counts only while the history had it on at most ``lone_per_day`` points a day.
          A host whose single metrics keep jumping by chance then opens incidents only when two
          metrics agree; a quiet host still opens on one metric.
        - ``"max"``: the largest per-metric score (the behaviour before version 0.2).

        Why the default: with ``"max"``, a host of 38 metrics opens an incident whenever any one of
        them fires by chance. On the development data (``benchmarks/incidents.py --ablation``, every
        default chosen over all of it at once), ``"corroborated"`` took SMD-dev (14 hosts x 38
        metrics) from recall 0.73 at 2.5 false alarms per machine-day to 0.61 at 0.63 (the rolling
        z-score baseline: 0.53 at 0.74); without the learnt lone levels, the two corrections alone
        give 0.76 at 1.95. NAB is unchanged (one metric per series), and on the generated scenarios
        every fault is still caught, the leading metric still ranked first (95%), with 23 false
        alarms on the ten fault-free days instead of 28.

        .. versionadded:: 0.2
    lone_per_day : float, default=0.5
        With ``combine="corroborated"``: on how many points a day the entity's history may have
        reached a lone-metric level for lone metrics to open incidents at that level (``inf``: always
        at ``open_threshold``, no learnt level). On SMD-dev every host's lone metrics saturate (mostly
        new extremes) two to four times a day, so saturated lone metrics never open alone there,
        while graded ones still open at a level of the host's own.

        .. versionadded:: 0.2
    open_threshold : float, default=0.5
        Calibrated score at which a point counts towards opening an incident. On the generated
        scenarios of ``incidentml.datasets.make_scenarios`` (never on benchmark labels), 0.45 (the default
        detector's own alert level) catches the most but raises about twice the false alarms of 0.5 on
        fault-free days, and 0.6 a quarter of them but misses more multi-metric faults.
    close_threshold : float, default=0.2
        Scores below it are quiet (hysteresis: close at a lower level than open).
    min_points, window_points : int, default=1 and 5
        Open when at least ``min_points`` of the last ``window_points`` points reach ``open_threshold``;
        with ``combine="corroborated"``, two metrics peaking within ``window_points`` points are a pair.
    quiet_points : int, default=12
        Consecutive quiet points that resolve an open incident.
    cooldown_points : int, default=60
        An opening within this many points of a resolution re-opens the same incident.
    lead_points : float, default=10.0
        Decay (in points since the onset) of the weight of a metric's scores in its contribution:
        metrics that move first count more.
    limits : dict, optional
        ``{metric: limit}`` (an upper limit) or ``{metric: {"below": limit}}``, for breach forecasts.
    horizon : float, default=7200
        Raise a forecast incident when a limit is forecast to be crossed within this many seconds.
    forecast_window : int, default=60
        Points of history the trend forecaster fits.
    forecast_confidence : float, default=0.8
        Coverage of the forecast interval.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n = 1500
    >>> frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="min"),
    ...                       "cpu": rng.normal(40, 2, n), "latency_ms": rng.normal(120, 5, n)})
    >>> frame.loc[1200:1260, "latency_ms"] += 80
    >>> frame.loc[1205:1260, "cpu"] += 25
    >>> incidents = IncidentPredictor().run(frame, time_col="timestamp")
    >>> inc = [i for i in incidents if i.raised_at >= pd.Timestamp("2024-01-01 20:00").timestamp()][0]
    >>> inc.metrics[0]["name"], inc.severity in ("P1", "P2", "P3", "P4")
    ('latency_ms', True)
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "detector": [str, AnomalyDetector],
        "combine": [Options(("corroborated", "max"))],
        "lone_per_day": [Interval(float, 0, None)],
        "open_threshold": [Interval(float, 0, 1)],
        "close_threshold": [Interval(float, 0, 1)],
        "min_points": [Interval(int, 1, None)],
        "window_points": [Interval(int, 1, None)],
        "quiet_points": [Interval(int, 1, None)],
        "cooldown_points": [Interval(int, 0, None)],
        "lead_points": [Interval(float, 0, None, closed="neither")],
        "limits": [dict, None],
        "horizon": [Interval(float, 0, None, closed="neither")],
        "forecast_window": [Interval(int, 3, None)],
        "forecast_confidence": [Interval(float, 0, 1, closed="neither")],
    }

    def __init__(self, detector: str | AnomalyDetector = "default", *, combine: str = "corroborated",
                 lone_per_day: float = 0.5, open_threshold: float = 0.5,
                 close_threshold: float = 0.2, min_points: int = 1, window_points: int = 5, quiet_points: int = 12,
                 cooldown_points: int = 60, lead_points: float = 10.0, limits: dict[str, Any] | None = None,
                 horizon: float = 7200.0, forecast_window: int = 60, forecast_confidence: float = 0.8) -> None:
        self.detector = detector
        self.combine = combine
        self.lone_per_day = lone_per_day
        self.open_threshold = open_threshold
        self.close_threshold = close_threshold
        self.min_points = min_points
        self.window_points = window_points
        self.quiet_points = quiet_points
        self.cooldown_points = cooldown_points
        self.lead_points = lead_points
        self.limits = limits
        self.horizon = horizon
        self.forecast_window = forecast_window
        self.forecast_confidence = forecast_confidence

    # ------------------------------------------------------------------------------ set-up
    def _setup(self) -> None:
        if getattr(self, "entities_", None) is not None:
            return
        validate_params(self)
        if self.close_threshold > self.open_threshold:
            msg = (f"The 'close_threshold' parameter of IncidentPredictor must be at most open_threshold="
                   f"{self.open_threshold}. Got {self.close_threshold!r} instead: incidents close at a lower level "
                   "than they open.")
            raise InvalidParameterError(msg)
        if self.min_points > self.window_points:
            msg = (f"The 'min_points' parameter of IncidentPredictor must be at most window_points="
                   f"{self.window_points}. Got {self.min_points!r} instead.")
            raise InvalidParameterError(msg)
        self.limits_ = {name: _limit_spec(spec, name) for name, spec in (self.limits or {}).items()}
        self.entities_: dict[str, _Entity] = {}
        self.incidents_: list[Incident] = []

    def _entity(self, name: str) -> _Entity:
        ent = self.entities_.get(name)
        if ent is None:
            from sklearn.base import clone

            det = make_detector(self.detector) if isinstance(self.detector, str) else clone(self.detector)
            ent = _Entity(detector=det, flags=deque(maxlen=self.window_points))
            if self.combine == "corroborated":
                levels = [self.open_threshold + (1.0 - self.open_threshold) * i / _LONE_STEPS
                          for i in range(_LONE_STEPS)]
                ent.combiner = _Combiner(recent=deque(maxlen=self.window_points), levels=levels,
                                         counts=[0] * len(levels))
            self.entities_[name] = ent
        return ent

    def _forecaster(self, ent: _Entity, name: str) -> Any:
        fc = ent.forecasters.get(name)
        if fc is None:
            from ._forecast import BreachForecaster

            limit, direction = self.limits_[name]
            fc = BreachForecaster(limit, direction=direction, window=self.forecast_window,
                                  confidence=self.forecast_confidence, metric=name)
            ent.forecasters[name] = fc
        return fc

    # ------------------------------------------------------------------------------ the state machine
    def _step(self, entity: str, ent: _Entity, t: float, scores: dict[str, float],
              values: dict[str, float]) -> list[IncidentEvent]:
        events: list[IncidentEvent] = []
        k = ent.k
        ent.k += 1
        if ent.combiner is not None:
            combined = ent.combiner.step(t, scores, self.open_threshold, self.lone_per_day)
        else:
            combined = max(scores.values()) if scores else 0.0
        ent.flags.append(combined >= self.open_threshold)
        inc = ent.incident
        is_open = inc is not None and inc.status == "open"
        if inc is not None and not is_open:
            ent.since_resolved += 1

        # breach forecasts for metrics with a limit
        forecast = None
        for name in self.limits_:
            v = values.get(name, math.nan)
            fc = self._forecaster(ent, name)
            if not math.isnan(v):
                fc.learn_one(v, t)
            f = fc.forecast(t)
            if f is not None and f.eta_seconds is not None and f.eta_seconds <= self.horizon:
                if forecast is None or f.eta_seconds < forecast.eta_seconds:
                    forecast = f

        # the run of unusual points: onset and per-metric evidence
        if combined >= self.close_threshold or is_open or forecast is not None:
            if ent.run is None:
                ent.run = _Run(start=t, start_k=k)
            w = math.exp(-(k - ent.run.start_k) / self.lead_points)
            for name, s in scores.items():
                if s >= self.close_threshold:
                    m = ent.run.metrics.setdefault(name, {"first_at": t, "peak": 0.0, "weighted": 0.0})
                    m["peak"] = max(m["peak"], s)
                    m["weighted"] += s * w
            if forecast is not None:
                m = ent.run.metrics.setdefault(forecast.metric, {"first_at": t, "peak": 0.0, "weighted": 0.0})
                m["weighted"] += w * 0.5
        elif not is_open:
            ent.run = None

        if is_open:
            assert inc is not None
            active = combined >= self.close_threshold or forecast is not None
            ent.quiet = 0 if active else ent.quiet + 1
            before = (inc.severity, [m["name"] for m in inc.metrics], inc.forecast is not None)
            self._refresh(inc, ent, t, combined, forecast)
            if ent.quiet >= self.quiet_points:
                inc.status = "resolved"
                inc.resolved_at = t
                ent.since_resolved = 0
                self._refresh(inc, ent, t, combined, None, final=True)
                ent.base = self._evidence(ent)
                ent.run = None
                ent.flags.clear()  # the evidence that opened it is spent
                events.append(IncidentEvent(EventKind.RESOLVED, copy.deepcopy(inc)))
            elif before != (inc.severity, [m["name"] for m in inc.metrics], inc.forecast is not None):
                events.append(IncidentEvent(EventKind.UPDATED, copy.deepcopy(inc)))
            return events

        opening = combined >= self.open_threshold and sum(ent.flags) >= self.min_points
        book = self.__dict__.get("feedback_")
        if opening and book is not None and book.suppresses(entity, ent.run, scores, combined, self.open_threshold):
            opening = False
            if ent.run is not None and not ent.run.suppressed:
                ent.run.suppressed = True
                ent.n_suppressed += 1
        if opening or forecast is not None:
            if ent.run is None:
                ent.run = _Run(start=t, start_k=k)
            if inc is not None and ent.since_resolved <= self.cooldown_points:
                inc.status = "open"
                inc.resolved_at = None
                inc.verdict = None  # it changed after the verdict: review it again
                event = EventKind.REOPENED
            else:
                ent.n_raised += 1
                inc = Incident(id=f"{entity}-{ent.n_raised:05d}", entity=entity, raised_at=t,
                               onset=ent.run.start, kind="anomaly" if opening else "forecast")
                self.incidents_.append(inc)
                ent.incident = inc
                ent.base = {}
                event = EventKind.RAISED
            ent.quiet = 0
            self._refresh(inc, ent, t, combined, forecast)
            events.append(IncidentEvent(event, copy.deepcopy(inc)))
        return events

    def _refresh(self, inc: Incident, ent: _Entity, t: float, combined: float, forecast: Any,
                 final: bool = False) -> None:
        """Update the incident's score, metrics, severity, forecast and summary from the run."""
        inc.updated_at = t
        if not final:
            inc.score = max(inc.score, combined)
            inc.n_points += 1
        acc = self._evidence(ent)
        total = sum(m["weighted"] for m in acc.values()) or 1.0
        ranked = sorted(acc.items(), key=lambda kv: (-kv[1]["weighted"], kv[1]["first_at"], kv[0]))
        inc.metrics = [{"name": name, "contribution": round(m["weighted"] / total, 6), "first_at": m["first_at"],
                        "peak": round(m["peak"], 6)} for name, m in ranked]
        if forecast is not None:
            new = {**forecast.to_dict(), "text": forecast.describe(), "crosses_at_seconds": forecast.crosses_at}
            old = inc.forecast
            if (new["status"] == "breached" and old and old.get("status") == "breached"
                    and old.get("metric") == new.get("metric")):
                # a breach happens once: keep when it was first seen, so lead_time stays the real warning
                new["crosses_at"], new["crosses_at_seconds"] = old["crosses_at"], old["crosses_at_seconds"]
            inc.forecast = new
        inc.severity = self._severity(inc)
        inc.summary = self._summary(inc)

    @staticmethod
    def _evidence(ent: _Entity) -> dict[str, dict[str, float]]:
        """Per-metric evidence of the entity's incident: earlier runs plus the current one."""
        acc = {name: dict(m) for name, m in ent.base.items()}
        if ent.run is not None:
            for name, m in ent.run.metrics.items():
                old = acc.get(name)
                if old is None:
                    acc[name] = dict(m)
                else:
                    old["weighted"] += m["weighted"]
                    old["peak"] = max(old["peak"], m["peak"])
                    old["first_at"] = min(old["first_at"], m["first_at"])
        return acc

    def _severity(self, inc: Incident) -> str:
        end = inc.resolved_at if inc.resolved_at is not None else inc.updated_at
        eta = inc.forecast.get("eta_seconds") if inc.forecast else None
        n_metrics = sum(1 for m in inc.metrics if m["peak"] >= self.open_threshold)
        return SEVERITY_RULES.grade(score=inc.score, n_metrics=n_metrics, duration=end - inc.onset, eta=eta)

    @staticmethod
    def _summary(inc: Incident) -> str:
        ts = lambda s: pd.Timestamp(s, unit="s").strftime("%Y-%m-%d %H:%M")  # noqa: E731
        parts = []
        if inc.kind == "forecast" and inc.forecast:
            parts.append(f"Predicted incident on {inc.entity}: {inc.forecast['text']}.")
        n = len(inc.metrics)
        if inc.metrics:
            lead = inc.metrics[0]
            parts.append(f"{n} metric{'s' if n != 1 else ''} of {inc.entity} unusual since {ts(inc.onset)}, "
                         f"led by {lead['name']} (first unusual at {ts(lead['first_at'])}, "
                         f"{100 * lead['contribution']:.0f}% of the evidence).")
            if n > 1:
                parts.append("Also: " + ", ".join(f"{m['name']} ({100 * m['contribution']:.0f}%)"
                                                  for m in inc.metrics[1:4]) + (" and more." if n > 4 else "."))
        if inc.kind != "forecast" and inc.forecast:
            parts.append(f"Forecast: {inc.forecast['text']}.")
        parts.append(f"Peak anomaly score {inc.score:.2f}; severity {inc.severity}; raised {ts(inc.raised_at)}.")
        if inc.resolved_at is not None:
            parts.append(f"Resolved {ts(inc.resolved_at)} after {Incident.duration_text(inc.resolved_at - inc.onset)}.")
        else:
            parts.append("Still open.")
        if inc.verdict is not None:
            parts.append("Marked a false alarm." if inc.verdict == "false_alarm" else "Confirmed.")
        return " ".join(parts)

    # ------------------------------------------------------------------------------ streaming route
    def update(self, x: Any, t: Any = None, entity: str = "default") -> list[IncidentEvent]:
        """Feed one point of one entity; return the events it caused.

        Parameters
        ----------
        x : dict
            Metric name to value (NaN/None are skipped), as the detectors take it.
        t : timestamp
            A datetime, pandas Timestamp, numpy datetime64, ISO string or epoch seconds.
        entity : str, default="default"

        Returns
        -------
        list of IncidentEvent
            Each with ``kind`` (:class:`EventKind`: raised, updated, reopened or resolved) and
            ``incident`` (a snapshot of the incident at that moment).

        .. versionchanged:: 0.2
           The point comes first and the time second, as in every detector; the 0.1 order
           ``update(t, metrics)`` still works with a ``FutureWarning``.

           Examples
           --------
           >>> import numpy as np, pandas as pd
           >>> rng = np.random.default_rng(0)
           >>> t = pd.date_range("2024-01-01", periods=1500, freq="min")
           >>> latency = rng.normal(120, 5, 1500)
           >>> latency[1200:1260] += 80
           >>> pred, events = IncidentPredictor(), []
           >>> for ti, v in zip(t, latency):
           ...     events += pred.update({"latency_ms": v}, ti, entity="web-1")
           >>> [(str(e.kind), e.incident.id) for e in events if e.kind != "updated"]
           [('raised', 'web-1-00001'), ('resolved', 'web-1-00001')]
        """
        if not isinstance(x, Mapping) and isinstance(t, Mapping):
            warnings.warn("IncidentPredictor.update(t, metrics) is deprecated: pass the point first, "
                          "update(metrics, t), as the detectors take it.", FutureWarning, stacklevel=2)
            x, t = t, x
        metrics = x
        self._setup()
        ts = to_seconds(t)
        if math.isnan(ts):
            raise DataError(f"update needs a timestamp for every point; got t={t!r}.")
        ent = self._entity(str(entity))
        x = as_point(metrics)
        scores = {k: float(v) for k, v in ent.detector.contributions_one(x, ts).items()}
        ent.detector.learn_one(x, ts)
        return self._step(str(entity), ent, ts, scores, x)

    # ------------------------------------------------------------------------------ batch route
    def run(self, frame: pd.DataFrame, *, time_col: str = "timestamp", entity_col: str | None = None,
            metrics: list[str] | None = None, return_events: bool = False, n_jobs: int = 1,
            time_format: str | None = None) -> Any:
        """Feed a whole table and return every incident in its final state, ordered by ``raised_at``.

        Gives exactly the incidents of calling :meth:`update` row by row. Rows are processed in
        time order within each entity; entities are independent, so with ``n_jobs`` other than 1
        they run in parallel processes (joblib; -1 for all cores) with the same result. With
        ``return_events=True``, also returns the list of events (as :meth:`update` gives them),
        entity after entity.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per timestamp (per entity), one numeric column per metric.
        time_col : str, default="timestamp"
            The time column.
        entity_col : str or None, default=None
            The column naming each row's entity; ``None`` means one entity, ``"default"``.
        metrics : list of str or None, default=None
            The metric columns; ``None`` means every numeric column but the time and entity columns.
        return_events : bool, default=False
            Also return the events.
        n_jobs : int, default=1
            Processes for the entities (-1 for all cores).
        time_format : str or None, default=None
            An exact ``strptime`` format for text timestamps, for
            :func:`~incidentml.utils.parse_times` (needed when ``dd/mm/YYYY`` dates read both ways).

        Returns
        -------
        incidents : list of Incident
        events : list of IncidentEvent, only with ``return_events=True``

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> n = 1500
        >>> frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="min"),
        ...                       "cpu": rng.normal(40, 2, n), "latency_ms": rng.normal(120, 5, n)})
        >>> frame.loc[1200:1260, "latency_ms"] += 80
        >>> frame.loc[1205:1260, "cpu"] += 25
        >>> incidents, events = IncidentPredictor().run(frame, return_events=True)
        >>> [(i.metrics[0]["name"], i.status) for i in incidents]
        [('latency_ms', 'resolved')]
        >>> [str(e.kind) for e in events][0], [str(e.kind) for e in events][-1]
        ('raised', 'resolved')
        """
        self._setup()
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"run needs a pandas DataFrame, got {type(frame).__name__}.")
        for col, opt in ((time_col, "time_col"), (entity_col, "entity_col")):
            if col is not None and col not in frame.columns:
                raise SchemaError(f"Column {col!r} ({opt}) is not in the data (columns: {list(frame.columns)[:10]}).")
        if metrics is None:
            metrics = metric_columns(frame, exclude=[time_col, entity_col])
        if not metrics:
            raise SchemaError("The data has no numeric metric column besides the time and entity columns.")

        secs = column_seconds(frame, time_col, time_format=time_format)
        if np.isnan(secs).any():
            i = int(np.flatnonzero(np.isnan(secs))[0])
            raise DataError(f"Column {time_col!r} row {i} has no timestamp; every row needs one.")
        groups = (frame.groupby(entity_col, sort=False).indices if entity_col is not None
                  else {"default": np.arange(len(frame))})
        names = [str(m) for m in metrics]
        jobs = []
        for entity, idx in groups.items():
            idx = np.asarray(idx)[np.argsort(secs[idx], kind="stable")]
            X = frame.iloc[idx][metrics].astype(float)
            X.columns = names
            jobs.append((str(entity), X, secs[idx]))
        events: list[IncidentEvent] = []
        if n_jobs == 1 or len(jobs) < 2:
            for entity, X, t in jobs:
                events.extend(self._run_entity(entity, self._entity(entity), X, t, return_events))
        else:
            from joblib import Parallel, delayed

            work = [(entity, self._entity(entity), X, t) for entity, X, t in jobs]
            shell = copy.copy(self)
            shell.entities_, shell.incidents_ = {}, []
            done = Parallel(n_jobs=n_jobs)(delayed(_entity_job)(shell, *w, return_events) for w in work)
            by_id = {inc.id: k for k, inc in enumerate(self.incidents_)}
            for (entity, ent, new, step) in done:
                self.entities_[entity] = ent
                for inc in new:
                    if inc.id in by_id:  # an incident already open before this batch, updated in the worker
                        self.incidents_[by_id[inc.id]] = inc
                    else:
                        self.incidents_.append(inc)
                events.extend(step)
        return (self.incidents(), events) if return_events else self.incidents()

    def _run_entity(self, entity: str, ent: _Entity, X: pd.DataFrame, t: np.ndarray,
                     return_events: bool) -> list[IncidentEvent]:
        """One entity's rows (time order) through its detector's batch route and the state machine."""
        det = ent.detector
        names = list(X.columns)
        _, per = det.score_many(X, t, return_contributions=True)
        per_values = np.asarray(per, dtype=np.float64)
        vals = X.to_numpy(dtype=np.float64, na_value=np.nan)
        vals = np.where(np.isfinite(vals), vals, np.nan)
        events: list[IncidentEvent] = []
        for i in range(len(X)):
            row = per_values[i]
            scores = {names[j]: float(row[j]) for j in range(len(names)) if not math.isnan(row[j])}
            values = {names[j]: float(vals[i, j]) for j in range(len(names))}
            step = self._step(entity, ent, float(t[i]), scores, values)
            if return_events and step:
                events.extend(step)
        return events

    # ------------------------------------------------------------------------------ results & state
    def incidents(self, status: str | None = None) -> list[Incident]:
        """All incidents so far (optionally only ``"open"`` or ``"resolved"``), ordered by ``raised_at``.

        Parameters
        ----------
        status : {"open", "resolved"} or None, default=None
            Keep only the incidents with this status.

        Returns
        -------
        list of Incident

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> n = 1500
        >>> frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="min"),
        ...                       "cpu": rng.normal(40, 2, n), "latency_ms": rng.normal(120, 5, n)})
        >>> frame.loc[1200:1260, "latency_ms"] += 80
        >>> frame.loc[1205:1260, "cpu"] += 25
        >>> pred = IncidentPredictor()
        >>> _ = pred.run(frame)
        >>> len(pred.incidents()), len(pred.incidents("open")), len(pred.incidents("resolved"))
        (1, 0, 1)
        """
        self._setup()
        out = [i for i in self.incidents_ if status is None or i.status == status]
        return sorted(out, key=lambda i: (i.raised_at, i.id))

    def feedback(self, incident_id: str, verdict: str) -> Incident:
        """Tell the predictor whether one of its incidents was real; a false alarm is not raised again.

        ``"false_alarm"`` records the incident's shape: its entity, its leading metrics (the first three
        by contribution among those whose peak reached ``open_threshold``) and its peak combined score.
        Each leading metric of that entity gets a raised opening level, in ``L = -log10 q`` of the
        calibrated scores (``s = L / (L + 10)``): 1.5 times the ``L`` of the marked peak. A point that
        would open a new incident of the entity is then held back when every metric carrying its evidence
        (the run's leading metrics, and every metric at or above ``open_threshold`` at that point) has a
        raised level at or above the point's combined ``L``. So a repeat led by the same metrics and no
        stronger than the marked one plus the margin does not open, while evidence clearly beyond it,
        another metric of the entity, or the same metric of another entity opens as before (the run
        goes on, so a repeat that keeps growing opens as soon as it is strong enough).

        **Bounded**: a raised level never exceeds the predictor's saturation level, the score 0.999, so
        saturated evidence (a new extreme of the metric) always opens: feedback never blinds a metric.
        ``"confirmed"`` drops the raised levels of the incident's leading metrics (undoing earlier
        false-alarm marks of that shape) and never makes detection less sensitive. Breach forecasts are
        not held back.

        Feedback only ever holds back openings; it never resolves, opens or raises anything itself. An
        incident still open when marked stays open and resolves as usual (the mark applies to the openings
        that come after it, re-openings within the cool-down included); an incident re-opened after its
        verdict (by evidence feedback did not hold back) loses the verdict, to be reviewed again. Feedback
        is part of the model: it is saved and loaded with it (the manifest counts the verdicts, the
        raised levels and the held-back runs), and :meth:`run` and :meth:`update` give the same incidents
        after it.

        .. versionadded:: 0.3

        Parameters
        ----------
        incident_id : str
            The ``id`` of one of :meth:`incidents`.
        verdict : {"false_alarm", "confirmed"}
            What the analyst found.

        Returns
        -------
        Incident
            The incident, with ``verdict`` set.

        Raises
        ------
        InvalidParameterError
            An unknown ``incident_id`` (or one dropped by :meth:`forget_resolved`), or another verdict.

        Examples
        --------
        A latency blip marked a false alarm is not raised again; a cpu fault still is:

        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> n = 3000
        >>> frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="min"),
        ...                       "cpu": rng.normal(40, 2, n), "latency_ms": rng.normal(120, 5, n)})
        >>> frame.loc[1500:1510, "latency_ms"] += 40  # a harmless blip...
        >>> frame.loc[2200:2210, "latency_ms"] += 40  # ...that comes back
        >>> frame.loc[2700:2710, "cpu"] += 16
        >>> pred = IncidentPredictor()
        >>> blip = pred.run(frame.iloc[:1800])[-1]
        >>> blip.metrics[0]["name"], pred.feedback(blip.id, "false_alarm").verdict
        ('latency_ms', 'false_alarm')
        >>> [(i.metrics[0]["name"], str(pd.Timestamp(i.raised_at, unit="s"))) for i in pred.run(frame.iloc[1800:])]
        [('latency_ms', '2024-01-02 01:00:00'), ('cpu', '2024-01-02 21:00:00')]
        >>> [i.metrics[0]["name"] for i in IncidentPredictor().run(frame)]  # without the feedback
        ['latency_ms', 'latency_ms', 'cpu']
        """
        from ._feedback import give_feedback

        return give_feedback(self, incident_id, verdict)

    def forget_resolved(self, before: Any = None) -> int:
        """Drop resolved incidents (resolved before ``before``, if given) from the history; return how many.

        Open incidents, and the last incident of each entity (which a cool-down may re-open), are kept,
        so a long-running service can bound its memory without losing or duplicating an incident.

        Parameters
        ----------
        before : timestamp or None, default=None
            Drop only incidents resolved before this time; ``None`` means every resolved one.

        Returns
        -------
        int
            How many incidents were dropped.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> n = 3000
        >>> frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="min"),
        ...                       "latency_ms": rng.normal(120, 5, n)})
        >>> frame.loc[1200:1260, "latency_ms"] += 80
        >>> frame.loc[2400:2460, "latency_ms"] += 80
        >>> pred = IncidentPredictor()
        >>> _ = pred.run(frame)
        >>> n_before = len(pred.incidents())
        >>> dropped = pred.forget_resolved()
        >>> n_before, dropped, len(pred.incidents())  # the entity's last incident is kept
        (2, 1, 1)
        """
        self._setup()
        cut = math.inf if before is None else to_seconds(before)
        live = {id(ent.incident) for ent in self.entities_.values() if ent.incident is not None}
        keep = [i for i in self.incidents_ if i.status == "open" or id(i) in live
                or i.resolved_at is None or i.resolved_at >= cut]
        dropped = len(self.incidents_) - len(keep)
        self.incidents_ = keep
        return dropped

    # -- persistence: PersistenceMixin.save / load (a predictor saved mid-stream resumes exactly) -----
    _model_kind = "incidentml.IncidentPredictor"
    feedback_: FeedbackBook  # set by the first feedback()

    def _manifest_extra(self) -> dict[str, Any]:
        out = {"entities": sorted(getattr(self, "entities_", {}))[:1000],
               "incidents": len(getattr(self, "incidents_", []))}
        book = self.__dict__.get("feedback_")
        if book is not None:
            out["feedback"] = {**book.summary(), "suppressed_runs": sum(
                e.n_suppressed for e in self.entities_.values())}
        return out
