"""Triage of incident text: category, priority and team from a ticket's title and description.

Two contracts (:mod:`incidentml.triage.base`): a single-target classifier
(:class:`~incidentml.triage.base.BaseTargetClassifier`) is a scikit-learn classifier that, for
every ticket, predicts a label, a calibrated confidence and whether to hand the ticket to a
human; a multi-target model (:class:`~incidentml.triage.base.BaseTriageClassifier`) learns
several targets from one table and keeps one single-target classifier per target in
``estimators_``. :class:`TriageClassifier` and :class:`TriageModel` implement them;
:func:`normalize_text` is the text preparation they apply to every text field.
:class:`OnlineTriage` learns from analysts' corrections one ticket at a time (river models,
blended with a fitted :class:`TriageModel`), and :class:`TriageDriftMonitor` watches a target
for drift (:class:`DriftEvent`).

Two tables are constants: :data:`PLACEHOLDERS` maps each placeholder token
:func:`normalize_text` puts in place of a URL, an address, a number... to what it stands for,
and :data:`KNOWN_PRIORITY_SCALES` lists the priority scales (``P1``-``P5``, ``sev0``-``sev5``,
``critical``/``high``/...) that ``ordinal="auto"`` recognises, most severe first.
"""

from ._classifier import TriageClassifier
from ._drift import DriftEvent, TriageDriftMonitor
from ._model import KNOWN_PRIORITY_SCALES, TriageModel
from ._online import OnlineTriage
from ._text import PLACEHOLDERS, normalize_text
from .base import BaseTargetClassifier, BaseTriageClassifier

__all__ = ["BaseTargetClassifier", "BaseTriageClassifier", "DriftEvent", "KNOWN_PRIORITY_SCALES", "OnlineTriage",
           "PLACEHOLDERS", "TriageClassifier", "TriageDriftMonitor", "TriageModel", "normalize_text"]
