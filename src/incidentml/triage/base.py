"""The contracts of triage classifiers: one target, and several targets at once.

A triage classifier learns from past incidents and predicts a *target* (category, priority,
team...) for new ones. For every target it gives a label, a calibrated confidence in [0, 1],
and an abstention flag that is True when the ticket should go to a human.

* :class:`BaseTargetClassifier` is one target as a scikit-learn classifier
  (:class:`~incidentml.triage.TriageClassifier` implements it): ``fit(X, y)``, ``classes_``,
  ``predict`` (labels), ``predict_proba`` (calibrated, columns in ``classes_`` order),
  ``threshold_`` (the abstention cut) and ``predict_frame`` (label, confidence, abstain).
* :class:`BaseTriageClassifier` is several targets from one table
  (:class:`~incidentml.triage.TriageModel` implements it): ``predict`` returns a DataFrame with
  ``NAME``, ``NAME_confidence`` and ``NAME_abstain`` per target, and ``estimators_`` holds one
  fitted :class:`BaseTargetClassifier` per target.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from ..utils import PersistenceMixin

__all__ = ["BaseTargetClassifier", "BaseTriageClassifier"]


class BaseTargetClassifier(PersistenceMixin, ClassifierMixin, BaseEstimator, ABC):
    """Abstract base of a single-target triage classifier, a scikit-learn classifier.

    Subclasses implement :meth:`fit` (learning ``classes_``, a 1-D array of the labels, and
    ``threshold_``, the confidence below which the model abstains), :meth:`predict_proba` and
    :meth:`predict_one`. This base derives :meth:`predict` (``classes_[argmax(predict_proba)]``),
    :meth:`predict_log_proba`, :meth:`predict_frame` and ``score`` (accuracy, from
    :class:`~sklearn.base.ClassifierMixin`); a subclass with another decision rule (such as an
    ordinal cost) overrides :meth:`predict` and :meth:`predict_frame` together.
    ``ClassifierMixin`` comes first in the MRO, as scikit-learn requires.
    """

    @abstractmethod
    def fit(self, X: Any, y: Any) -> BaseTargetClassifier:
        """Learn from past incidents ``X`` and their labels ``y``; return ``self``."""

    @abstractmethod
    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""

    @abstractmethod
    def predict_one(self, ticket: Any) -> dict[str, Any]:
        """``{"label", "confidence", "abstain"}`` for one ticket given as a string or a dict of fields."""

    def predict(self, X: Any) -> np.ndarray:
        """Labels, shape (n_samples,): ``classes_[argmax(predict_proba)]``."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict_frame(self, X: Any) -> pd.DataFrame:
        """``label``, ``confidence`` and ``abstain`` per ticket, with the index of ``X`` when it has one."""
        proba = self.predict_proba(X)
        j = np.argmax(proba, axis=1)
        conf = proba[np.arange(len(j)), j]
        index = X.index if isinstance(X, (pd.Series, pd.DataFrame)) else None
        return pd.DataFrame({"label": self.classes_[j], "confidence": conf, "abstain": conf < self.threshold_},
                            index=index)


class BaseTriageClassifier(PersistenceMixin, BaseEstimator, ABC):
    """Abstract base of a multi-target triage model.

    Subclasses implement :meth:`fit`, :meth:`predict`, :meth:`predict_proba` and
    :meth:`predict_one`. ``predict`` returns a DataFrame with the index of ``X`` and, for each
    target ``NAME``, the columns ``NAME`` (the most likely label, filled even when abstaining),
    ``NAME_confidence`` (a calibrated probability) and ``NAME_abstain`` (True when the model
    hands the ticket to a human). After ``fit``, ``estimators_`` maps each target name to a
    fitted :class:`BaseTargetClassifier`, so each target is reachable as a scikit-learn
    classifier; the per-target logic lives there, and a multi-target model only orchestrates
    (shared featurisation, column handling, one head per target). :meth:`top_k` is derived from
    ``predict_proba``.
    """

    @abstractmethod
    def fit(self, X: Any, y: Any = None) -> BaseTriageClassifier:
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

    def top_k(self, X: Any, k: int = 3) -> pd.DataFrame:
        """The ``k`` most probable labels per target, in long format.

        Returns
        -------
        DataFrame
            Columns ``row`` (position in ``X``), ``target``, ``rank`` (1 = most probable),
            ``label`` and ``confidence``.
        """
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            from ..exceptions import SchemaError

            msg = f"The 'k' parameter of top_k must be an int >= 1. Got {k!r} instead."
            raise SchemaError(msg)
        parts = []
        for n, frame in self.predict_proba(X).items():
            proba = frame.to_numpy()
            labels = np.asarray(frame.columns, dtype=object)
            kk = min(k, proba.shape[1])
            top = np.argsort(-proba, axis=1, kind="stable")[:, :kk]
            rows = np.repeat(np.arange(proba.shape[0]), kk)
            parts.append(pd.DataFrame({"row": rows, "target": n, "rank": np.tile(np.arange(1, kk + 1), proba.shape[0]),
                                       "label": labels[top.ravel()], "confidence": proba[rows, top.ravel()]}))
        return pd.concat(parts, ignore_index=True)
