"""Triage of incident text: category, priority and team from a ticket's title and description.

A triage classifier (contract: :class:`~incidentml.triage.base.BaseTriageClassifier`) learns
from a DataFrame of past incidents and, for every target, predicts a label, a calibrated
confidence and whether to hand the ticket to a human. :class:`TriageModel` is the model;
:func:`normalize_text` is the text preparation it applies to every text field.
"""

from ._model import KNOWN_PRIORITY_SCALES, TriageModel
from ._text import PLACEHOLDERS, normalize_text
from .base import BaseTriageClassifier

__all__ = ["BaseTriageClassifier", "KNOWN_PRIORITY_SCALES", "PLACEHOLDERS", "TriageModel", "normalize_text"]
