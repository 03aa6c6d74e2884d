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

    Examples
    --------
    :class:`~incidentml.TriageClassifier` implements it:

    >>> from incidentml import TriageClassifier
    >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
    >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
    >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
    >>> isinstance(clf, BaseTargetClassifier), clf.classes_.tolist()
    (True, ['network', 'office'])
    >>> clf.predict(["vpn disconnects"]).tolist(), round(clf.score(titles, teams), 2)
    (['network'], 1.0)
    """

    @abstractmethod
    def fit(self, X: Any, y: Any) -> BaseTargetClassifier:
        """Learn from past incidents ``X`` and their labels ``y``; return ``self``.

        Parameters
        ----------
        X : sequence of str, Series or DataFrame of shape (n_samples, ...)
            Past tickets: texts, or a frame of text (and feature) columns.
        y : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        BaseTargetClassifier
            ``self``, fitted.

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> clf.classes_.tolist(), 0.0 <= clf.threshold_ <= 1.0
        (['network', 'office'], True)
        """

    @abstractmethod
    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, shape (n_samples, n_classes), columns in ``classes_`` order.

        Parameters
        ----------
        X : sequence of str, Series or DataFrame of shape (n_samples, ...)
            Tickets: texts, or a frame with the fitted text (and feature) columns.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> proba = clf.predict_proba(["vpn disconnects", "printer out of paper"])
        >>> proba.shape, proba.sum(axis=1).round(6).tolist(), proba.argmax(axis=1).tolist()
        ((2, 2), [1.0, 1.0], [0, 1])
        """

    @abstractmethod
    def predict_one(self, ticket: Any) -> dict[str, Any]:
        """``{"label", "confidence", "abstain"}`` for one ticket given as a string or a dict of fields.

        Parameters
        ----------
        ticket : str or dict
            The ticket's text, or a dict of its fields.

        Returns
        -------
        dict

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> out = clf.predict_one("vpn disconnects")
        >>> sorted(out), out["label"]
        (['abstain', 'confidence', 'label'], 'network')
        """

    def predict(self, X: Any) -> np.ndarray:
        """Labels, shape (n_samples,): ``classes_[argmax(predict_proba)]``.

        Parameters
        ----------
        X : sequence of str, Series or DataFrame of shape (n_samples, ...)
            Tickets: texts, or a frame with the fitted text (and feature) columns.

        Returns
        -------
        ndarray of shape (n_samples,)

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> clf.predict(["vpn disconnects", "printer out of paper"]).tolist()
        ['network', 'office']
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : sequence of str, Series or DataFrame of shape (n_samples, ...)
            Tickets: texts, or a frame with the fitted text (and feature) columns.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)

        Examples
        --------
        >>> import numpy as np
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> X = ["vpn disconnects"]
        >>> bool(np.allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X)))
        True
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict_frame(self, X: Any) -> pd.DataFrame:
        """``label``, ``confidence`` and ``abstain`` per ticket, with the index of ``X`` when it has one.

        Parameters
        ----------
        X : sequence of str, Series or DataFrame of shape (n_samples, ...)
            Tickets: texts, or a frame with the fitted text (and feature) columns.

        Returns
        -------
        DataFrame

        Examples
        --------
        >>> import pandas as pd
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> out = clf.predict_frame(pd.Series(["vpn disconnects", "printer out of paper"], index=[10, 11]))
        >>> out.index.tolist(), out.columns.tolist(), out["label"].tolist()
        ([10, 11], ['label', 'confidence', 'abstain'], ['network', 'office'])
        """
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

    Examples
    --------
    :class:`~incidentml.TriageModel` implements it:

    >>> import pandas as pd
    >>> from incidentml import TriageModel
    >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
    >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
    >>> tickets = pd.DataFrame({"title": titles, "team": teams})
    >>> model = TriageModel(random_state=0).fit(tickets, text=["title"], targets={"team": "team"})
    >>> isinstance(model, BaseTriageClassifier), list(model.estimators_)
    (True, ['team'])
    >>> model.predict(pd.DataFrame({"title": ["vpn disconnects"]})).columns.tolist()
    ['team', 'team_confidence', 'team_abstain']
    """

    @abstractmethod
    def fit(self, X: Any, y: Any = None) -> BaseTriageClassifier:
        """Learn from past incidents and return ``self``.

        Parameters
        ----------
        X : DataFrame
            Past tickets, one per row.
        y : object, optional
            The labels, when they are not columns of ``X`` (subclasses say which form they take).

        Returns
        -------
        BaseTriageClassifier
            ``self``, fitted.

        Examples
        --------
        >>> import pandas as pd
        >>> from incidentml import TriageModel
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> tickets = pd.DataFrame({"title": titles, "team": teams})
        >>> model = TriageModel(random_state=0).fit(tickets, text=["title"], targets={"team": "team"})
        >>> list(model.estimators_), model.estimators_["team"].classes_.tolist()
        (['team'], ['network', 'office'])
        """

    @abstractmethod
    def predict(self, X: Any) -> pd.DataFrame:
        """Label, confidence and abstention per target, one row per input row.

        Parameters
        ----------
        X : DataFrame
            Tickets with the fitted text (and feature) columns.

        Returns
        -------
        DataFrame
            ``NAME``, ``NAME_confidence`` and ``NAME_abstain`` per target, with the index of ``X``.

        Examples
        --------
        >>> import pandas as pd
        >>> from incidentml import TriageModel
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> tickets = pd.DataFrame({"title": titles, "team": teams})
        >>> model = TriageModel(random_state=0).fit(tickets, text=["title"], targets={"team": "team"})
        >>> model.predict(pd.DataFrame({"title": ["vpn disconnects", "paper jam again"]}))["team"].tolist()
        ['network', 'office']
        """

    @abstractmethod
    def predict_proba(self, X: Any) -> dict[str, pd.DataFrame]:
        """Calibrated class probabilities per target.

        Parameters
        ----------
        X : DataFrame
            Tickets with the fitted text (and feature) columns.

        Returns
        -------
        dict of str to DataFrame
            Target name to a frame of shape (n_samples, n_labels), rows summing to 1.

        Examples
        --------
        >>> import pandas as pd
        >>> from incidentml import TriageModel
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> tickets = pd.DataFrame({"title": titles, "team": teams})
        >>> model = TriageModel(random_state=0).fit(tickets, text=["title"], targets={"team": "team"})
        >>> proba = model.predict_proba(pd.DataFrame({"title": ["vpn disconnects"]}))
        >>> list(proba), proba["team"].columns.tolist(), round(float(proba["team"].sum(axis=1).iloc[0]), 6)
        (['team'], ['network', 'office'], 1.0)
        """

    @abstractmethod
    def predict_one(self, ticket: Any) -> dict[str, Any]:
        """Predict one ticket given as a string or a dict of fields.

        Parameters
        ----------
        ticket : str or dict
            The ticket's text, or a dict of its fields.

        Returns
        -------
        dict
            ``NAME``, ``NAME_confidence`` and ``NAME_abstain`` per target.

        Examples
        --------
        >>> import pandas as pd
        >>> from incidentml import TriageModel
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> tickets = pd.DataFrame({"title": titles, "team": teams})
        >>> model = TriageModel(random_state=0).fit(tickets, text=["title"], targets={"team": "team"})
        >>> model.predict_one({"title": "printer out of paper"})["team"]
        'office'
        """

    def top_k(self, X: Any, k: int = 3) -> pd.DataFrame:
        """The ``k`` most probable labels per target, in long format.

        Parameters
        ----------
        X : DataFrame
            Tickets with the fitted text (and feature) columns.
        k : int, default=3
            Labels per target and ticket (at most the target's number of labels).

        Returns
        -------
        DataFrame
            Columns ``row`` (position in ``X``), ``target``, ``rank`` (1 = most probable),
            ``label`` and ``confidence``.

        Examples
        --------
        >>> import pandas as pd
        >>> from incidentml import TriageModel
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> tickets = pd.DataFrame({"title": titles, "team": teams})
        >>> model = TriageModel(random_state=0).fit(tickets, text=["title"], targets={"team": "team"})
        >>> top = model.top_k(pd.DataFrame({"title": ["vpn disconnects"]}), k=2)
        >>> top[["row", "target", "rank", "label"]].to_numpy().tolist()
        [[0, 'team', 1, 'network'], [0, 'team', 2, 'office']]
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
