"""The contract of a triage classifier.

A triage classifier learns from a table of past incidents and predicts one or more *targets*
(category, priority, team...) for new ones. For every target it gives a label, a calibrated
confidence in [0, 1], and an abstention flag that is True when the ticket should go to a human.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator

__all__ = ["BaseTriageClassifier"]


class BaseTriageClassifier(BaseEstimator, ABC):
    """Abstract base of every triage classifier.

    Subclasses implement :meth:`fit`, :meth:`predict`, :meth:`predict_proba` and
    :meth:`predict_one`. ``predict`` returns a DataFrame with, for each target ``NAME``, the
    columns ``NAME`` (the most likely label, filled even when abstaining),
    ``NAME_confidence`` (a calibrated probability) and ``NAME_abstain`` (True when the model
    hands the ticket to a human).
    """

    @abstractmethod
    def fit(self, X: Any, y: Any = None, **kwargs: Any) -> BaseTriageClassifier:
        """Learn from past incidents and return ``self``."""

    @abstractmethod
    def predict(self, X: Any) -> pd.DataFrame:
        """Label, confidence and abstention per target, one row per input row."""

    @abstractmethod
    def predict_proba(self, X: Any) -> dict[str, pd.DataFrame]:
        """Calibrated class probabilities per target."""

    @abstractmethod
    def predict_one(self, ticket: Any) -> dict[str, Any]:
        """Predict one ticket given as a string or a dict of fields."""
