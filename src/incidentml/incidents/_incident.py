"""The :class:`Incident` record: what an on-call engineer reads, and what a triage model reads.

:data:`SEVERITIES` lists the severity levels, most severe first (``P1`` to ``P4``), and
:data:`SEVERITY_RULES` is the :class:`SeverityRules` instance the predictor grades with.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd

__all__ = ["SEVERITIES", "SEVERITY_RULES", "EventKind", "Incident", "IncidentEvent", "SeverityRules"]

#: Severity levels, most severe first.
SEVERITIES = ("P1", "P2", "P3", "P4")


@dataclass(frozen=True)
class SeverityRules:
    """How an incident's severity is graded: points for score, spread, duration and a forecast.

    Each rule gives 2 points at its "high" cut and 1 at its "medium" cut: the peak combined
    score, the number of metrics past the open threshold, the duration from onset, and a breach
    forecast (2 points when it is due within ``eta_soon`` seconds, else 1). The sum maps to
    ``P1`` (at least ``p1_points``), ``P2``, ``P3`` and ``P4``.

    Examples
    --------
    >>> SEVERITY_RULES.grade(score=0.95, n_metrics=3, duration=600, eta=None)
    'P2'
    >>> SEVERITY_RULES.grade(score=0.5, n_metrics=1, duration=60, eta=None)
    'P4'
    """

    score_high: float = 0.9
    score_medium: float = 0.7
    metrics_high: int = 3
    metrics_medium: int = 2
    duration_high: float = 7200.0
    duration_medium: float = 1800.0
    eta_soon: float = 1800.0
    p1_points: int = 5
    p2_points: int = 3
    p3_points: int = 1

    def points(self, *, score: float, n_metrics: int, duration: float, eta: float | None) -> int:
        """The points of one incident (see the class docstring).

        Parameters
        ----------
        score : float
            The incident's peak calibrated score.
        n_metrics : int
            How many metrics it involves.
        duration : float
            How long it has lasted, in seconds.
        eta : float or None
            Seconds to a forecast breach, or ``None``.

        Returns
        -------
        int

        Examples
        --------
        >>> SEVERITY_RULES.points(score=0.95, n_metrics=3, duration=600, eta=None)
        4
        """
        pts = 2 if score >= self.score_high else (1 if score >= self.score_medium else 0)
        pts += 2 if n_metrics >= self.metrics_high else (1 if n_metrics >= self.metrics_medium else 0)
        pts += 2 if duration >= self.duration_high else (1 if duration >= self.duration_medium else 0)
        if eta is not None:
            pts += 2 if eta <= self.eta_soon else 1
        return pts

    def grade(self, *, score: float, n_metrics: int, duration: float, eta: float | None) -> str:
        """The severity level (one of :data:`SEVERITIES`).

        Parameters
        ----------
        score : float
            The incident's peak calibrated score.
        n_metrics : int
            How many metrics it involves.
        duration : float
            How long it has lasted, in seconds.
        eta : float or None
            Seconds to a forecast breach, or ``None``.

        Returns
        -------
        str
            ``"P1"`` (most severe) to ``"P4"``.

        Examples
        --------
        >>> SEVERITY_RULES.grade(score=0.95, n_metrics=3, duration=600, eta=None)
        'P2'
        >>> SEVERITY_RULES.grade(score=0.95, n_metrics=3, duration=600, eta=900)
        'P1'
        """
        pts = self.points(score=score, n_metrics=n_metrics, duration=duration, eta=eta)
        if pts >= self.p1_points:
            return SEVERITIES[0]
        if pts >= self.p2_points:
            return SEVERITIES[1]
        return SEVERITIES[2] if pts >= self.p3_points else SEVERITIES[3]


#: The rules :class:`~incidentml.IncidentPredictor` grades severity with.
SEVERITY_RULES = SeverityRules()


class EventKind(StrEnum):
    """What happened to an incident at one point (compares equal to its string value).

    Examples
    --------
    >>> EventKind.RAISED == "raised", EventKind("resolved") is EventKind.RESOLVED
    (True, True)
    >>> [str(k) for k in EventKind]
    ['raised', 'updated', 'reopened', 'resolved']
    """

    RAISED = "raised"
    UPDATED = "updated"
    REOPENED = "reopened"
    RESOLVED = "resolved"


def _finite_or_none(obj: Any) -> Any:
    """``obj`` with every non-finite float (in nested dicts, lists and tuples) replaced by ``None``."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite_or_none(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_finite_or_none(v) for v in obj)
    return obj


@dataclass(frozen=True)
class IncidentEvent:
    """One event of :meth:`IncidentPredictor.update`: its kind and a snapshot of the incident.

    ``event["event"]`` and ``event["incident"]`` still work (the dict form of version 0.1).

    Examples
    --------
    >>> ev = IncidentEvent(EventKind.RAISED, Incident(id="db-1-00001", entity="db-1", raised_at=0.0, onset=0.0))
    >>> ev.kind == "raised", ev["event"] is ev.kind
    (True, True)
    """

    kind: EventKind
    incident: Incident

    _KEYS = ("event", "incident")

    def __getitem__(self, key: str) -> Any:
        if key == "event":
            return self.kind
        if key == "incident":
            return self.incident
        raise KeyError(f"An incident event has the keys 'event' and 'incident'; got {key!r}.")

    def keys(self) -> tuple[str, ...]:
        """The two keys of the dict form, ``("event", "incident")``.

        Examples
        --------
        >>> ev = IncidentEvent(EventKind.RESOLVED, Incident(id="db-1-00001", entity="db-1", raised_at=0.0, onset=0.0))
        >>> ev.keys(), dict(ev)["event"]
        (('event', 'incident'), <EventKind.RESOLVED: 'resolved'>)
        """
        return self._KEYS

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)


def _iso(seconds: float | None) -> str | None:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return None
    return pd.Timestamp(seconds, unit="s", tz="UTC").isoformat()


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@dataclass
class Incident:
    """One predicted or detected incident of one entity, kept up to date while it lasts.

    Times are float seconds since the epoch internally; :meth:`to_dict` writes ISO 8601.
    :class:`IncidentPredictor` creates them; the fields can also be given by hand.

    Attributes
    ----------
    id : str
        Stable identifier (entity, raise time and a counter).
    entity : str
        The host or service whose metrics raised it.
    raised_at : float
        When it was first raised; never moved by updates.
    onset : float
        Estimated start of the problem: the first point of the run of unusual scores that led to it.
    resolved_at : float or None
        When it was resolved (scores back below the closing level for long enough).
    status : str
        ``"open"`` or ``"resolved"``.
    kind : str
        ``"anomaly"`` (unusual metrics) or ``"forecast"`` (a metric trending to its limit).
    score : float
        Peak calibrated score (0..1).
    severity : str
        ``P1`` (most severe) to ``P4``, from how anomalous, how many metrics, how long, and how soon
        a forecast breach is.
    metrics : list of dict
        ``{"name", "contribution", "first_at", "peak"}`` ranked by contribution, largest first. The
        contribution weighs each metric's scores by how early they came, so the metric that moved
        first and most leads: the root-cause hint.
    summary : str
        One paragraph for a human.
    forecast : dict or None
        The most urgent breach forecast, if any.
    n_points : int
        Points the incident was open for.
    verdict : str or None
        Analyst feedback given through :meth:`IncidentPredictor.feedback`: ``"false_alarm"``,
        ``"confirmed"`` or ``None`` (none given).

        .. versionadded:: 0.3

    Examples
    --------
    >>> inc = Incident(id="web-1-00001", entity="web-1", raised_at=0.0, onset=-300.0, score=0.9,
    ...                severity="P2", metrics=[{"name": "latency_ms", "contribution": 1.0}])
    >>> inc.status, inc.kind, inc.to_ticket()["title"]
    ('open', 'anomaly', 'P2 web-1: latency_ms anomaly')
    """

    id: str
    entity: str
    raised_at: float
    onset: float
    status: str = "open"
    kind: str = "anomaly"
    resolved_at: float | None = None
    updated_at: float = 0.0
    score: float = 0.0
    severity: str = "P4"
    metrics: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""
    forecast: dict[str, Any] | None = None
    n_points: int = 0
    verdict: str | None = None

    @property
    def lead_time(self) -> float | None:
        """Seconds from raising to the forecast breach, for forecast incidents (else None).

        Examples
        --------
        >>> inc = Incident(id="db-1-00001", entity="db-1", raised_at=1000.0, onset=900.0, kind="forecast",
        ...                forecast={"metric": "disk_pct", "crosses_at_seconds": 4600.0})
        >>> inc.lead_time
        3600.0
        >>> Incident(id="db-1-00002", entity="db-1", raised_at=0.0, onset=0.0).lead_time is None
        True
        """
        if self.forecast and self.forecast.get("crosses_at_seconds") is not None:
            return float(self.forecast["crosses_at_seconds"]) - self.raised_at
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: timestamps in ISO 8601, metrics as ``{"name", "contribution", ...}``.

        A number that is not finite (NaN or infinity, for example a metric value of ``1e308`` whose
        arithmetic overflowed) becomes ``None`` (``null`` in JSON), so every line is strict JSON.

        Examples
        --------
        >>> inc = Incident(id="web-1-00001", entity="web-1", raised_at=3600.0, onset=3000.0, updated_at=4200.0,
        ...                metrics=[{"name": "latency_ms", "contribution": 1.0, "first_at": 3000.0, "peak": 0.9}])
        >>> d = inc.to_dict()
        >>> d["raised_at"], d["metrics"][0]["first_at"], d["duration_seconds"]
        ('1970-01-01T01:00:00+00:00', '1970-01-01T00:50:00+00:00', 1200.0)
        """
        out = asdict(self)
        for key in ("raised_at", "onset", "resolved_at", "updated_at"):
            out[key] = _iso(out[key])
        out["metrics"] = [{**m, "first_at": _iso(m.get("first_at"))} for m in self.metrics]
        if self.forecast:
            out["forecast"] = {k: v for k, v in self.forecast.items() if k != "crosses_at_seconds"}
        out["duration_seconds"] = ((self.resolved_at if self.resolved_at is not None else self.updated_at)
                                   - self.onset)
        return _finite_or_none(out)

    def to_json(self) -> str:
        """One line of JSON (for JSONL files).

        Examples
        --------
        >>> import json
        >>> line = Incident(id="web-1-00001", entity="web-1", raised_at=0.0, onset=0.0).to_json()
        >>> "\\n" in line, json.loads(line)["raised_at"]
        (False, '1970-01-01T00:00:00+00:00')
        """
        return json.dumps(self.to_dict(), sort_keys=False, default=str, allow_nan=False)

    def to_ticket(self) -> dict[str, str]:
        """The text fields a :class:`~incidentml.TriageModel` reads: ``title``, ``description`` and more.

        Examples
        --------
        >>> inc = Incident(id="web-1-0001", entity="web-1", raised_at=0.0, onset=0.0, score=0.9, severity="P2",
        ...                metrics=[{"name": "latency_ms", "contribution": 0.8, "first_at": 0.0, "peak": 0.9}],
        ...                summary="latency_ms on web-1 is unusual.")
        >>> inc.to_ticket()["title"]
        'P2 web-1: latency_ms anomaly'
        """
        names = [m["name"] for m in self.metrics]
        head = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        what = "forecast breach" if self.kind == "forecast" else "anomaly"
        title = f"{self.severity} {self.entity}: {head or 'metrics'} {what}"
        return {"title": title, "description": self.summary, "entity": self.entity, "severity": self.severity,
                "service": self.entity, "metrics": " ".join(names)}

    def describe_metrics(self, n: int = 3) -> str:
        """The ``n`` leading metrics with their share of the incident, for a sentence.

        Parameters
        ----------
        n : int, default=3
            How many metrics to name.

        Returns
        -------
        str

        Examples
        --------
        >>> inc = Incident(id="web-1-00001", entity="web-1", raised_at=0.0, onset=0.0,
        ...                metrics=[{"name": "latency_ms", "contribution": 0.64},
        ...                         {"name": "cpu", "contribution": 0.36}])
        >>> inc.describe_metrics()
        'latency_ms (64%), cpu (36%)'
        >>> inc.describe_metrics(1)
        'latency_ms (64%)'
        """
        parts = []
        for m in self.metrics[:n]:
            parts.append(f"{m['name']} ({100 * m['contribution']:.0f}%)")
        return ", ".join(parts)

    @staticmethod
    def duration_text(seconds: float) -> str:
        """A duration for people: seconds, minutes, hours or days.

        Parameters
        ----------
        seconds : float
            The duration (its sign is ignored).

        Returns
        -------
        str

        Examples
        --------
        >>> Incident.duration_text(45), Incident.duration_text(600), Incident.duration_text(5400)
        ('45 s', '10 min', '1.5 h')
        >>> Incident.duration_text(3 * 86400)
        '3.0 days'
        """
        return _duration(seconds)
