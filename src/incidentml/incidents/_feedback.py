"""Analyst feedback on raised incidents: what :meth:`IncidentPredictor.feedback` records and how it is used.

A verdict of ``"false_alarm"`` records the incident's *shape*: its entity, its **leading metrics** (the
first ``LEADING_METRICS`` metrics by contribution among those whose peak reached ``open_threshold``; the
first metric if none did) and its peak combined score. Each leading metric of that entity gets a raised
**opening level** in ``L = -log10 q`` (the tail space of the calibrated scores, ``s = L / (L + 10)``):
``MARGIN`` times the ``L`` of the marked peak, at least the predictor's ``open_threshold`` and at most the
``L`` of ``MAX_LEVEL``. A point that would open a new incident is held back when every metric carrying its
evidence, the run's leading metrics and the metrics at or above ``open_threshold`` at that point, has a
raised level at or above the point's combined ``L``. So a run led by the same metrics, no stronger than the
marked one plus the margin, does not open; stronger evidence, or any other metric joining at the opening
level, opens as before. ``"confirmed"`` drops the raised levels of the incident's leading metrics (undoing
earlier false-alarm marks of that shape) and never raises any level. Feedback only ever holds back openings
(new incidents and re-openings within the cool-down); it never resolves, opens or raises anything itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._validation import Options, validate_params
from ..exceptions import InvalidParameterError
from ._predictor import _SATURATED, _log_tail, _score

if TYPE_CHECKING:
    from ._incident import Incident
    from ._predictor import IncidentPredictor, _Run

__all__ = ["LEADING_METRICS", "MARGIN", "MAX_LEVEL", "VERDICTS", "FeedbackBook", "give_feedback"]

#: The verdicts :meth:`IncidentPredictor.feedback` takes.
VERDICTS = ("false_alarm", "confirmed")
#: How many leading metrics make an incident's shape.
LEADING_METRICS = 3
#: A marked metric opens again only on evidence beyond this many times the marked peak's ``-log10 q``.
MARGIN = 1.5
#: The cap: feedback never raises a metric's opening level beyond this score, the predictor's saturation level
#: (``L = 9990``): saturated evidence (a new extreme) always opens.
MAX_LEVEL = _SATURATED


class _FeedbackCall:
    """Carries the constraints of :meth:`IncidentPredictor.feedback` for :func:`validate_params`."""

    _parameter_constraints: dict[str, list[Any]] = {"verdict": [Options(VERDICTS)], "incident_id": [str]}


_FeedbackCall.__name__ = "IncidentPredictor.feedback"


def leading_metrics(ranked: list[tuple[str, float]], open_threshold: float) -> list[str]:
    """The first ``LEADING_METRICS`` names whose peak reached ``open_threshold`` (else the first name).

    ``ranked`` holds ``(name, peak)`` pairs, largest contribution first.
    """
    lead = [name for name, peak in ranked if peak >= open_threshold][:LEADING_METRICS]
    return lead or [name for name, _ in ranked[:1]]


@dataclass
class FeedbackBook:
    """The predictor's feedback state: raised opening levels per (entity, metric) and every verdict given.

    ``levels[entity][metric]`` is a raised opening level in ``L = -log10 q``; ``records`` lists the
    verdicts in the order they were given (incident id, entity, verdict, leading metrics, level).
    """

    levels: dict[str, dict[str, float]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)

    def mark(self, inc: Incident, verdict: str, open_threshold: float) -> dict[str, Any]:
        """Record ``verdict`` on ``inc``: raise (false alarm) or drop (confirmed) its leading metrics' levels."""
        lead = leading_metrics([(m["name"], m["peak"]) for m in inc.metrics], open_threshold)
        mine = self.levels.setdefault(inc.entity, {})
        level = None
        if verdict == "false_alarm":
            level = min(_log_tail(MAX_LEVEL), max(_log_tail(open_threshold), MARGIN * _log_tail(inc.score)))
            for name in lead:
                mine[name] = max(mine.get(name, 0.0), level)
        else:
            for name in lead:
                mine.pop(name, None)
        if not mine:
            del self.levels[inc.entity]
        record = {"incident_id": inc.id, "entity": inc.entity, "verdict": verdict, "metrics": lead,
                  "opening_level": None if level is None else round(_score(level), 6)}
        self.records.append(record)
        return record

    def suppresses(self, entity: str, run: _Run | None, scores: dict[str, float], combined: float,
                   open_threshold: float) -> bool:
        """Whether feedback holds back an opening of ``entity`` at this point (see the module docstring)."""
        mine = self.levels.get(entity)
        if not mine or run is None:
            return False
        ranked = sorted(run.metrics.items(), key=lambda kv: (-kv[1]["weighted"], kv[1]["first_at"], kv[0]))
        carrying = set(leading_metrics([(name, m["peak"]) for name, m in ranked], open_threshold))
        carrying.update(name for name, s in scores.items() if s >= open_threshold)
        lq = _log_tail(combined)
        return bool(carrying) and all(mine.get(name, -math.inf) >= lq for name in carrying)

    def summary(self) -> dict[str, Any]:
        """Counts for the model file's manifest."""
        count = {v: sum(1 for r in self.records if r["verdict"] == v) for v in VERDICTS}
        return {**count, "raised_levels": sum(len(v) for v in self.levels.values())}


def give_feedback(pred: IncidentPredictor, incident_id: Any, verdict: Any) -> Incident:
    """The body of :meth:`IncidentPredictor.feedback`."""
    validate_params(_FeedbackCall(), {"verdict": verdict, "incident_id": incident_id})
    pred._setup()
    inc = next((i for i in pred.incidents_ if i.id == incident_id), None)
    if inc is None:
        known = [i.id for i in pred.incidents_[-3:]]
        hint = f"known ids include {', '.join(map(repr, known))}" if known else "this predictor has no incidents yet"
        msg = (f"The 'incident_id' parameter of IncidentPredictor.feedback must be the id of one of the "
               f"predictor's incidents (see incidents(); forget_resolved drops old ones). Got {incident_id!r} "
               f"instead; {hint}.")
        raise InvalidParameterError(msg)
    book = pred.__dict__.get("feedback_")
    if book is None:
        book = pred.feedback_ = FeedbackBook()
    book.mark(inc, verdict, pred.open_threshold)
    inc.verdict = verdict
    inc.summary = pred._summary(inc)
    return inc
