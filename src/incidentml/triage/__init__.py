"""Triage of incident text: category, priority and team from a ticket's title and description.

Two contracts (:mod:`incidentml.triage.base`): a single-target classifier
(:class:`~incidentml.triage.base.BaseTargetClassifier`) is a scikit-learn classifier that, for
every ticket, predicts a label, a calibrated confidence and whether to hand the ticket to a
human; a multi-target model (:class:`~incidentml.triage.base.BaseTriageClassifier`) learns
several targets from one table and keeps one single-target classifier per target in
``estimators_``. :class:`TriageClassifier` and :class:`TriageModel` implement them;
:func:`normalize_text` is the text preparation they apply to every text field.
"""

from ._classifier import TriageClassifier
from ._model import KNOWN_PRIORITY_SCALES, TriageModel
from ._text import PLACEHOLDERS, normalize_text
from .base import BaseTargetClassifier, BaseTriageClassifier

__all__ = ["BaseTargetClassifier", "BaseTriageClassifier", "KNOWN_PRIORITY_SCALES", "PLACEHOLDERS",
           "TriageClassifier", "TriageModel", "normalize_text"]
