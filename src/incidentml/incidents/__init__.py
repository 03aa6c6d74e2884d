"""Predicted incidents: from detector scores to early warnings people can act on.

:class:`IncidentPredictor` watches the metrics of many entities with online detectors and turns
their calibrated scores, combined per entity with a correction for its number of metrics
(:func:`combine_scores`), into :class:`Incident` records: debounced (an N-of-M rule, hysteresis,
cool-down), grouped across the metrics of an entity, ranked by which metric moved first and most,
given a severity and a summary, and raised *before* a forecast breach of a metric's limit. The
streaming route (``update``) and the batch route (``run``) give the same incidents, and
``incident.to_ticket()`` hands an incident to a triage model. Severities run from ``P1`` (most
severe) to ``P4`` (:data:`SEVERITIES`), graded by :data:`SEVERITY_RULES`, a :class:`SeverityRules`.
"""

from ._forecast import BreachForecast, BreachForecaster, fit_breach, format_duration
from ._incident import SEVERITIES, SEVERITY_RULES, EventKind, Incident, IncidentEvent, SeverityRules
from ._predictor import IncidentPredictor, combine_scores

__all__ = [
    "SEVERITIES",
    "SEVERITY_RULES",
    "BreachForecast",
    "BreachForecaster",
    "EventKind",
    "Incident",
    "IncidentEvent",
    "IncidentPredictor",
    "SeverityRules",
    "combine_scores",
    "fit_breach",
    "format_duration",
]
