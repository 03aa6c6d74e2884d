"""TriageClassifier: one triage target as a scikit-learn classifier, with calibrated confidence."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import Parallel, delayed
from scipy.special import softmax
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    assert_all_finite,
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from .._validation import Interval, Options, validate_params
from ..evaluation import abstention_threshold, classification_report
from ..exceptions import DataError, NotFittedError, RareClassWarning, SchemaError
from ._features import TicketFeaturizer
from ._head import (
    _CALIBRATION_MAX_CLASSES,
    _COST_GRID,
    _average_folds,
    _check_true_labels,
    _documents,
    _fit_svc,
    _fit_temperature,
    _full_scores,
    _Head,
    _infer_order,
    _is_missing_label,
    _jsonable,
    _ngram_range,
    _ordinal_cost,
    _structured,
)
from .base import BaseTargetClassifier

__all__ = ["TriageClassifier"]

_NUMERIC_INFERRED = frozenset({"integer", "floating", "mixed-integer-float", "decimal"})


def _is_numeric_column(col: pd.Series) -> bool:
    """Numbers (not bools): a numeric dtype, or an object column whose values are all numbers."""
    if pd.api.types.is_bool_dtype(col):
        return False
    if pd.api.types.is_numeric_dtype(col):
        return True
    if pd.api.types.is_object_dtype(col):
        return pd.api.types.infer_dtype(col, skipna=True) in _NUMERIC_INFERRED
    return False


def _is_text_column(col: pd.Series) -> bool:
    """Text: a string column, or an object column that is neither all numbers nor all bools."""
    if pd.api.types.is_string_dtype(col) and not pd.api.types.is_object_dtype(col):
        return True
    if pd.api.types.is_object_dtype(col):
        return pd.api.types.infer_dtype(col, skipna=True) not in _NUMERIC_INFERRED | {"boolean"}
    return False


def _as_list(value: Any) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [value]
    return list(value)


class TriageClassifier(BaseTargetClassifier):
    """Triage one target (category, priority or team) of incident tickets; a scikit-learn classifier.

    Text is normalised for incident text (:func:`~incidentml.triage.normalize_text`) and turned
    into word and character TF-IDF n-grams, joined with optional structured columns (one-hot
    encoded categories, scaled numbers), and fed to a linear SVM. The model is validated on
    ``cv`` stratified folds; the out-of-fold scores calibrate :meth:`predict_proba` (so the
    confidence is a probability), choose the abstention cut :attr:`threshold_` at which decided
    tickets reach ``target_precision`` and, for an ordinal target, the under-prediction cost. The
    final linear model is then refitted on every row. It is the single-target building block of
    :class:`~incidentml.triage.TriageModel`, which fits one per target on a shared featurisation,
    and it works wherever scikit-learn expects a classifier (``cross_val_score``,
    ``GridSearchCV``, ``Pipeline``, ``clone``).

    .. versionadded:: 0.3

    Parameters
    ----------
    C : float, default=0.5
        Inverse regularisation strength of the linear SVM.
    class_weight : {"balanced"} or dict or None, default="balanced"
        Class weights of the SVM (a dict maps labels to weights).
    text : str, list of str or None, default=None
        The text columns of a DataFrame (or column positions of a 2-D array). ``None`` reads
        every column of strings (an object column whose values are all numbers, or all bools,
        is not text). Ignored for 1-D input, which is one text per row.
    features : str, list of str or None, default=None
        Structured columns: numeric ones are scaled (z-scores clipped to [-3, 3], missing
        values filled with the training mean), others one-hot encoded (values seen fewer than
        5 times share one column). ``None`` uses every column that is not text, as
        scikit-learn estimators use every input column; ``[]`` uses none. A numeric 2-D array
        is therefore read as numeric features.
    word_ngram_range : tuple (min_n, max_n), default=(1, 2)
        Word n-grams of the normalised text.
    char_ngram_range : tuple (min_n, max_n) or None, default=(2, 5)
        Character n-grams (inside word boundaries); ``None`` turns them off.
    max_features : int, default=300000
        Cap on the vocabulary of each of the word and character vectorisers.
    min_df : int, default=2
        Minimum document frequency of a word n-gram (character n-grams use ``min_df + 1``).
    max_chars : int, default=5000
        Characters of each text field read per ticket.
    target_precision : float, default=0.9
        Precision the decided (non-abstained) tickets must reach on the validation folds.
    min_class_size : int, default=5
        Labels with fewer training rows are rare (see ``rare_classes``).
    rare_classes : {"keep", "merge", "error"}, default="keep"
        ``"keep"`` trains rare labels as their own classes; ``"merge"`` folds them into
        ``other_label`` with a :class:`~incidentml.exceptions.RareClassWarning` (an ordinal
        target instead leaves single-row levels out); ``"error"`` refuses them.
    other_label : str, default="other"
        Label of merged rare classes.
    ordinal : "auto", list or None, default="auto"
        The labels from most to least severe when the target is ordinal, e.g.
        ``["P1", "P2", "P3", "P4"]``. ``"auto"`` recognises common string scales
        (:data:`~incidentml.triage.KNOWN_PRIORITY_SCALES`); ``None`` treats the target as nominal.
    underprediction_cost : float or None, default=None
        For an ordinal target, the cost of predicting a critical level as non-critical
        (any other mistake costs 1); ``None`` chooses it on the validation folds from
        ``critical_recall``.
    critical_recall : float or None, default=0.5
        Used when ``underprediction_cost`` is ``None``: the smallest cost whose validation
        critical recall reaches this value is chosen.
    n_critical : int, default=1
        How many of the most severe levels count as "critical".
    cv : int, default=3
        Stratified folds for calibration, abstention and the ordinal cost.
    shuffle : bool, default=False
        Shuffle the rows (seeded by ``random_state``) before making the folds.
    final_model : {"refit", "average"}, default="refit"
        Refit the final SVM on every row, or average the fold models.
    calibration : {"temperature", "logistic", "auto"}, default="temperature"
        How out-of-fold scores become probabilities (see :class:`~incidentml.triage.TriageModel`).
    n_jobs : int or None, default=None
        Folds fitted in parallel threads (``-1`` = all cores).
    random_state : int or None, default=None
        Seed of the fold split (with ``shuffle=True``) and the solver (``None`` means 0).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted; the columns of :meth:`predict_proba` follow this order.
    threshold_ : float
        The abstention cut: a ticket whose confidence is below it is handed to a human. It may
        be changed after fitting to trade coverage for precision.
    coverage_ : float
        Share of validation tickets decided without a human at :attr:`threshold_`.
    coef_ : ndarray of shape (n_classes, n_tf_idf_features) or (1, n_tf_idf_features)
        SVM weights over the TF-IDF and structured columns (one row for two classes).
    intercept_ : ndarray
        SVM intercepts.
    ordinal_ : list or None
        The labels from most to least severe when the target is ordinal.
    underprediction_cost_ : float
        The cost of under-predicting a critical level (``1.0`` when nominal).
    validation_metrics_ : dict
        :func:`incidentml.evaluation.classification_report` of the out-of-fold predictions.
    text_columns_, feature_columns_ : list
        The text and structured columns read at prediction (``[0]`` and ``[]`` for 1-D text input).
    n_features_in_ : int
        Number of input columns seen at fit, for a DataFrame or 2-D array. Not set for 1-D text
        input (one text per row), as for scikit-learn's text vectorisers.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fitted on a DataFrame with string column names. Prediction then
        needs the same columns in the same order, as everywhere in scikit-learn.

    See Also
    --------
    TriageModel : several targets at once on one shared featurisation.

    Notes
    -----
    :meth:`predict` is ``classes_[argmax(predict_proba)]``, except for an ordinal target with
    an under-prediction cost above 1, where it is the label of least expected cost under the
    calibrated probabilities (so it can be more severe than the most probable label).
    :meth:`decision_function` gives the calibrated logits: ``softmax`` of them is
    :meth:`predict_proba` (for two classes, one column: the logit of ``classes_[1]``).

    Examples
    --------
    >>> from incidentml.datasets import make_tickets
    >>> from incidentml.triage import TriageClassifier
    >>> train, test = make_tickets(300, seed=0), make_tickets(100, seed=1)
    >>> clf = TriageClassifier(random_state=0).fit(train["title"], train["team"])
    >>> clf.classes_.tolist()
    ['appsupport', 'dba', 'desk', 'identity', 'netops']
    >>> round(clf.score(test["title"], test["team"]), 2)
    0.93
    >>> clf.predict_proba(test["title"].iloc[:2]).sum(axis=1)
    array([1., 1.])
    >>> clf.predict_frame(test["title"].iloc[:3]).round(2)
            label  confidence  abstain
    0    identity        0.67    False
    1  appsupport        0.97    False
    2    identity        0.93    False

    A DataFrame gives text and structured columns; scikit-learn's tools take it as they are:

    >>> from sklearn.model_selection import cross_val_score
    >>> clf = TriageClassifier(text="title", features=["service"], random_state=0)
    >>> scores = cross_val_score(clf, train[["title", "service"]], train["priority"], cv=3, scoring="f1_macro")
    >>> round(float(scores.mean()), 2)
    0.99
    """

    _parameter_constraints = {
        "C": [Interval(float, 0, None, closed="neither")],
        "class_weight": [None, Options(("balanced",)), dict],
        "text": [None, str, int, list, tuple],
        "features": [None, str, int, list, tuple],
        "word_ngram_range": [_ngram_range],
        "char_ngram_range": [None, _ngram_range],
        "max_features": [Interval(int, 1, None)],
        "min_df": [Interval(int, 1, None)],
        "max_chars": [Interval(int, 1, None)],
        "target_precision": [Interval(float, 0, 1, closed="right")],
        "min_class_size": [Interval(int, 2, None)],
        "rare_classes": [Options(("keep", "merge", "error"))],
        "other_label": [str],
        "ordinal": [Options(("auto",)), None, list, tuple],
        "underprediction_cost": [None, Interval(float, 1, None)],
        "critical_recall": [None, Interval(float, 0, 1)],
        "n_critical": [Interval(int, 1, None)],
        "cv": [Interval(int, 2, 20)],
        "shuffle": [bool],
        "final_model": [Options(("refit", "average"))],
        "calibration": [Options(("auto", "temperature", "logistic"))],
        "n_jobs": [None, int],
        "random_state": [None, int],
    }

    def __init__(self, *, C: float = 0.5, class_weight: Any = "balanced", text: Any = None, features: Any = None,
                 word_ngram_range: tuple[int, int] = (1, 2), char_ngram_range: tuple[int, int] | None = (2, 5),
                 max_features: int = 300_000, min_df: int = 2, max_chars: int = 5000, target_precision: float = 0.9,
                 min_class_size: int = 5, rare_classes: str = "keep", other_label: str = "other",
                 ordinal: Any = "auto", underprediction_cost: float | None = None,
                 critical_recall: float | None = 0.5, n_critical: int = 1, cv: int = 3, shuffle: bool = False,
                 final_model: str = "refit", calibration: str = "temperature", n_jobs: int | None = None,
                 random_state: int | None = None):
        self.C = C
        self.class_weight = class_weight
        self.text = text
        self.features = features
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.max_features = max_features
        self.min_df = min_df
        self.max_chars = max_chars
        self.target_precision = target_precision
        self.min_class_size = min_class_size
        self.rare_classes = rare_classes
        self.other_label = other_label
        self.ordinal = ordinal
        self.underprediction_cost = underprediction_cost
        self.critical_recall = critical_recall
        self.n_critical = n_critical
        self.cv = cv
        self.shuffle = shuffle
        self.final_model = final_model
        self.calibration = calibration
        self.n_jobs = n_jobs
        self.random_state = random_state

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        """Cheap settings for the check suites: small vocabularies, two folds."""
        return {"max_features": 5000, "cv": 2, "char_ngram_range": (3, 4), "random_state": 0}

    # ------------------------------------------------------------------ fitted-state views
    # The head holds the fitted numbers; these read (and, for the cut, write) through to it,
    # so TriageModel and this classifier never hold two copies that could drift apart.
    @property
    def threshold_(self) -> float:
        """The abstention cut: tickets whose confidence is below it are handed to a human.

        Chosen at ``fit`` as the lowest confidence at which the decided tickets reach
        ``target_precision`` in cross-validation; it can be set by hand.

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> 0.0 <= clf.threshold_ <= 1.0
        True
        >>> clf.threshold_ = 0.0  # decide everything
        >>> clf.predict_one("vpn disconnects")["abstain"]
        False
        """
        return self._head().threshold

    @threshold_.setter
    def threshold_(self, value: float) -> None:
        self._head().threshold = float(value)

    @property
    def coverage_(self) -> float:
        """The share of the training tickets decided (not abstained on) at :attr:`threshold_`, in cross-validation.

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> 0.0 <= clf.coverage_ <= 1.0
        True
        """
        return self._head().coverage

    @property
    def coef_(self) -> np.ndarray:
        """The linear model's weights, shape (1, n_features) for two labels, else (n_classes, n_features).

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> clf.coef_.shape[0], clf.coef_.shape[1] > 10
        (1, True)
        """
        return self._head().coef

    @property
    def intercept_(self) -> np.ndarray:
        """The linear model's intercepts, shape (1,) for two labels, else (n_classes,).

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> clf.intercept_.shape
        (1,)
        """
        return self._head().intercept

    @property
    def ordinal_(self) -> list[Any] | None:
        """The labels from most to least severe when the target is ordinal, else ``None``.

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> priorities = ["P2", "P4", "P3", "P4", "P1", "P4"] * 5
        >>> TriageClassifier(random_state=0).fit(titles, priorities).ordinal_
        ['P1', 'P2', 'P3', 'P4']
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> TriageClassifier(random_state=0).fit(titles, teams).ordinal_ is None
        True
        """
        return self._head().order

    @property
    def underprediction_cost_(self) -> float:
        """For an ordinal target, the cost of predicting a critical level as non-critical (other mistakes cost 1).

        ``fit`` takes ``underprediction_cost`` when given, else chooses the smallest cost whose
        validation critical recall reaches ``critical_recall``.

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> priorities = ["P2", "P4", "P3", "P4", "P1", "P4"] * 5
        >>> TriageClassifier(random_state=0).fit(titles, priorities).underprediction_cost_ >= 1.0
        True
        """
        return self._head().underprediction_cost

    @property
    def validation_metrics_(self) -> dict[str, Any]:
        """The metrics of :meth:`evaluate` on the cross-validated predictions of the training tickets.

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> sorted(clf.validation_metrics_)
        ['accuracy', 'coverage', 'decided_precision', 'ece', 'macro_f1', 'n', 'per_class_recall', 'top3_accuracy']
        """
        return getattr(self._head(), "report", {})

    def _head(self) -> _Head:
        try:
            return self.__dict__["head_"]
        except KeyError:
            msg = f"This {type(self).__name__} instance is not fitted yet; it has no fitted attributes."
            raise AttributeError(msg) from None

    def __sklearn_is_fitted__(self) -> bool:
        return "head_" in self.__dict__

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self)
        except _SklearnNotFittedError:  # re-raised as incidentml's NotFittedError, a subclass of it
            msg = (f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with training data, or load "
                   f"a saved model with {type(self).__name__}.load(path).")
            raise NotFittedError(msg) from None

    # ------------------------------------------------------------------ input handling
    def _read_X(self, X: Any, *, reset: bool) -> tuple[pd.DataFrame, str, Any]:
        """``(frame, kind, index)``: kind ``"text"`` (1-D, one text per row) or ``"table"``."""
        name = type(self).__name__
        if not reset and self.input_kind_ == "text" and (isinstance(X, pd.DataFrame) or np.ndim(X) == 2):
            msg = (f"This {name} was fitted on 1-D text (one text per row) but got a table. Pass a list or Series "
                   "of texts, as at fit.")
            raise DataError(msg)
        if isinstance(X, pd.DataFrame):
            if X.shape[1] == 0 or X.shape[0] == 0:
                check_array(np.empty(X.shape), ensure_all_finite=False)  # sklearn's own message
            validate_data(self, X, reset=reset, skip_check_array=True)
            return X, "table", X.index
        if isinstance(X, pd.Series):
            if X.dtype.kind in "biufc":
                msg = (f"{name} reads a 1-D input as one text per row, but got a Series of numbers. Reshape your "
                       "data: pass X.to_frame() to use it as a numeric feature.")
                raise DataError(msg)
            return X.to_frame(name=0), "text", X.index
        if isinstance(X, (str, bytes)):
            msg = (f"{name} needs one ticket per row; got a single {type(X).__name__}. Pass a list of texts, or use "
                   "predict_one for one ticket.")
            raise SchemaError(msg)
        if sp.issparse(X):
            check_array(X, accept_sparse=False)  # raises sklearn's "Sparse data was passed" TypeError
        if isinstance(X, (list, tuple)) and X and all(isinstance(v, Mapping) for v in X):
            return self._read_X(pd.DataFrame(list(X)), reset=reset)  # records: one dict of fields per ticket
        arr = X if isinstance(X, np.ndarray) else np.asarray(X, dtype=object if _ragged_or_text(X) else None)
        if arr.ndim == 1:
            if arr.dtype.kind in "biufc":
                msg = (f"{name} reads a 1-D input as one text per row, but got a 1-D array of numbers. Reshape your "
                       "data either using array.reshape(-1, 1) if your data has a single feature or "
                       "array.reshape(1, -1) if it contains a single sample.")
                raise DataError(msg)
            if arr.shape[0] == 0:
                check_array(np.empty((0, 1)))
            return pd.DataFrame({0: arr}), "text", pd.RangeIndex(arr.shape[0])
        arr = check_array(X, dtype=None, ensure_all_finite=False, accept_sparse=False)
        validate_data(self, arr, reset=reset, skip_check_array=True)
        return pd.DataFrame(arr), "table", pd.RangeIndex(arr.shape[0])

    def _resolve_columns(self, frame: pd.DataFrame, kind: str) -> tuple[list[Any], list[Any], list[Any]]:
        """Text, categorical and numeric columns of a training table."""
        if kind == "text":
            return [0], [], []
        cols = list(frame.columns)
        text = _as_list(self.text)
        features = _as_list(self.features)
        for role, given in (("text", text), ("feature", features)):
            missing = [c for c in (given or []) if c not in cols]
            if missing:
                have = ", ".join(map(repr, cols[:20])) or "none"
                msg = (f"The {role} column {missing[0]!r} does not exist in the data. Columns present: {have}. "
                       "Check the spelling or pass the right column name.")
                raise SchemaError(msg)
        if text is None:
            taken = set(features or [])
            text = [c for c in cols if c not in taken and _is_text_column(frame[c])]
        if features is None:
            features = [c for c in cols if c not in set(text)]
        overlap = set(text) & set(features)
        if overlap:
            msg = f"Column {sorted(map(str, overlap))[0]!r} is given both as text and as a feature; pick one role."
            raise SchemaError(msg)
        numeric = [c for c in features if _is_numeric_column(frame[c])]
        categorical = [c for c in features if c not in numeric]
        return text, categorical, numeric

    def _encode(self, frame: pd.DataFrame) -> tuple[Any, list[str], np.ndarray]:
        """Feature matrix, normalised documents and the "empty ticket" flags of a table."""
        docs = _documents(frame, self.text_columns_, self.max_chars)
        cat, num = _structured(frame, self.categorical_columns_, self.numeric_columns_)
        Xmat = self.featurizer_.transform(docs, cat, num)
        empty = np.array([not d for d in docs], dtype=bool)
        if self.feature_columns_:
            empty &= ~frame[self.feature_columns_].notna().any(axis=1).to_numpy()
        return Xmat, docs, empty

    def _prepare(self, X: Any) -> tuple[Any, list[str], np.ndarray, Any]:
        self._check_fitted()
        frame, kind, index = self._read_X(X, reset=False)
        if kind != self.input_kind_:
            msg = (f"This {type(self).__name__} was fitted on a table of {self.n_features_in_} column(s) but got "
                   "1-D input. Reshape your data: pass the same columns as at fit.")
            raise DataError(msg)
        Xmat, docs, empty = self._encode(frame)
        return Xmat, docs, empty, index

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any) -> TriageClassifier:
        """Learn one target from past incidents.

        Parameters
        ----------
        X : DataFrame, Series, list of str or array-like of shape (n_samples,) or (n_samples, n_features)
            One row per past incident: 1-D input is one text per row; a DataFrame or 2-D
            array gives text and structured columns (see ``text`` and ``features``).
        y : array-like of shape (n_samples,)
            The labels; missing labels are refused (drop those rows first).

        Returns
        -------
        self : TriageClassifier

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> clf.classes_.tolist(), clf.validation_metrics_["n"]
        (['network', 'office'], 30)
        """
        validate_params(self)
        if y is None:
            msg = (f"{type(self).__name__} requires y to be passed, but the target y is None. Pass one label per "
                   "ticket.")
            raise DataError(msg)
        frame, kind, _ = self._read_X(X, reset=True)
        y = column_or_1d(y, warn=True)
        if y.dtype.kind in "fc":
            assert_all_finite(y, input_name="y")
        if y.dtype.kind in "OUS":
            missing = [i for i, v in enumerate(y) if _is_missing_label(v)]
            if missing:
                msg = (f"y has {len(missing)} missing label(s), e.g. at row {missing[0]}. Drop the unlabelled rows "
                       "before fitting (TriageModel skips them per target).")
                raise DataError(msg)
        check_classification_targets(y)
        check_consistent_length(frame, y)
        if len(y) < 2:
            msg = f"{type(self).__name__} needs at least two labelled tickets; got {len(y)} sample."
            raise DataError(msg)
        if kind == "text":  # no input columns: sklearn's text estimators set neither attribute
            for attr in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(attr, None)
        text_cols, categorical, numeric = self._resolve_columns(frame, kind)
        featurizer = TicketFeaturizer(word_ngram_range=self.word_ngram_range, char_ngram_range=self.char_ngram_range,
                                      max_features=self.max_features, min_df=self.min_df,
                                      categorical=[str(c) for c in categorical], numeric=[str(c) for c in numeric])
        docs = _documents(frame, text_cols, self.max_chars)
        cat, num = _structured(frame, categorical, numeric)
        Xmat = featurizer.fit_transform(docs, cat, num)
        seed = 0 if self.random_state is None else int(self.random_state)
        head = self._fit_head(Xmat, y, name=None, column=None, seed=seed)
        self._set_fitted(head, featurizer, kind, text_cols, categorical, numeric)
        return self

    def _set_fitted(self, head: _Head, featurizer: TicketFeaturizer, kind: str, text_cols: Sequence[Any],
                    categorical: Sequence[Any], numeric: Sequence[Any]) -> None:
        self.input_kind_ = kind
        self.text_columns_ = list(text_cols)
        self.categorical_columns_ = list(categorical)
        self.numeric_columns_ = list(numeric)
        self.feature_columns_ = [*categorical, *numeric]
        self.featurizer_ = featurizer
        self.head_ = head
        self.classes_ = head.classes

    def _fit_head(self, Xt: Any, y: np.ndarray, *, name: str | None, column: str | None, seed: int,
                  bar: Any = None) -> _Head:
        """Fit this target's head on the feature rows ``Xt`` and labels ``y`` (none missing).

        ``name`` and ``column`` only word the messages (``TriageModel`` passes the target's);
        the folds, SVMs, calibration, ordinal cost and abstention cut are all decided here.
        """
        who = "y" if name is None else f"Target {name!r}"
        who_col = who if name is None else f"{who} (column {column!r})"
        labels, counts = np.unique(y, return_counts=True)
        order = None
        if isinstance(self.ordinal, (list, tuple)):
            order = list(self.ordinal)
            unknown = sorted(set(labels) - set(order), key=str)
            if unknown:
                scale = "its ordinal scale" if name is not None else "the ordinal scale"
                msg = (f"{who} has label {_py(unknown[0])!r}, which is not in {scale} {[_py(o) for o in order]}. "
                       "Add it to the scale or fix the label.")
                raise DataError(msg)
            order = [o for o in order if o in set(labels)]
        elif self.ordinal == "auto":
            order = _infer_order(list(labels))
        if order is not None:  # plain Python labels (not numpy scalars) in ordinal_ and the manifest
            order = [_py(o) for o in order]
        merged: list[Any] = []
        rare = labels[counts < self.min_class_size]
        if len(rare) and self.rare_classes != "keep":
            if order is not None:
                tiny = labels[counts < 2]
                if len(tiny):
                    keep = ~np.isin(y, tiny)
                    warnings.warn(f"{who}: levels {[_py(t) for t in tiny]} have a single row and are left out of "
                                  "training.", RareClassWarning, stacklevel=3)
                    y, Xt = y[keep], Xt[np.flatnonzero(keep)]
                    order = [o for o in order if o not in set(tiny)]
            elif self.rare_classes == "error":
                msg = (f"{who_col} has {len(rare)} label(s) with fewer than "
                       f"{self.min_class_size} rows, e.g. {_py(rare[0])!r} ({int(counts[labels == rare[0]][0])} rows). "
                       "Add examples, relabel them, or use rare_classes='keep' to train them as they are or "
                       f"rare_classes='merge' to fold them into {self.other_label!r}.")
                raise DataError(msg)
            else:
                merged = [_py(r) for r in rare]
                y = np.where(np.isin(y, rare), self.other_label, y)
                warnings.warn(f"{who}: {len(rare)} label(s) with fewer than {self.min_class_size} rows "
                              f"merged into {self.other_label!r}: {merged[:10]}{' ...' if len(merged) > 10 else ''}",
                              RareClassWarning, stacklevel=3)
        classes, y_idx, counts = np.unique(y, return_inverse=True, return_counts=True)
        if len(classes) < 2:
            msg = (f"{who_col} has a single class {_py(classes[0])!r} in the training data; "
                   "a classifier needs at least two. Drop this target or add tickets of other classes.")
            raise DataError(msg)
        if order is not None and len(order) < 2:
            order = None
        n_classes = len(classes)
        if self.rare_classes == "keep":
            # a label with fewer rows than folds is validated only in some folds (a single row in one
            # fold, where the fold model has never seen it): honest, and fitting never fails on it
            if counts.max() < 2:
                msg = (f"{who}: every label has a single row, so nothing can be validated. Pass at "
                       "least two tickets of some label.")
                raise DataError(msg)
            n_splits = int(max(2, min(self.cv, counts.max())))
        else:
            n_splits = int(max(2, min(self.cv, counts.min())))
            if counts.min() < 2:
                msg = f"{who}: every label needs at least 2 rows for validation; got {counts.min()}."
                raise DataError(msg)
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=self.shuffle,
                                   random_state=seed if self.shuffle else None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "least populated class has only 1 member": handled
            folds = list(splitter.split(np.zeros(len(y)), y_idx))
        n_jobs = self.n_jobs if self.n_jobs is not None else 1
        class_weight = self.class_weight
        if isinstance(class_weight, dict):  # labels to the class indices the SVMs are fitted on
            index = {str(c): i for i, c in enumerate(classes)}
            class_weight = {index[str(k)]: float(v) for k, v in class_weight.items() if str(k) in index}
        jobs = [delayed(_fit_svc)(Xt[tr], y_idx[tr], self.C, class_weight, seed) for tr, _ in folds]
        if self.final_model == "refit":
            jobs.append(delayed(_fit_svc)(Xt, y_idx, self.C, class_weight, seed))
        results = Parallel(n_jobs=n_jobs, prefer="threads")(jobs)
        if bar is not None:
            bar.update(len(jobs))
        oof = np.zeros((len(y), n_classes))
        seen_in_fold = np.ones(len(y), dtype=bool)  # the row's label was in its fold's training part
        for (_, va), (coef, icpt, seen) in zip(folds, results, strict=False):
            oof[va] = _full_scores(Xt[va], coef, icpt, seen, n_classes)
            seen_in_fold[va] = np.isin(y_idx[va], seen)
        if self.final_model == "refit":
            coef, icpt, _ = results[-1]
        else:
            coef, icpt = _average_folds(results[:len(folds)], n_classes)
        head = _Head(name, column, classes, coef.astype(np.float32), icpt)
        head.merged = merged
        # calibration on out-of-fold scores
        calibration = self.calibration
        if calibration == "auto":
            calibration = "logistic" if n_classes <= _CALIBRATION_MAX_CLASSES else "temperature"
        if calibration == "logistic":
            cal = LogisticRegression(C=1.0, max_iter=1000)
            cal.fit(oof, y_idx)
            head.calibrator = cal
            proba = cal.predict_proba(oof)
        else:
            # rows of a label their fold never saw carry no information on the temperature
            fit_rows = seen_in_fold if seen_in_fold.any() else np.ones(len(y), dtype=bool)
            head.temperature = _fit_temperature(oof[fit_rows], y_idx[fit_rows])
            proba = softmax(oof * head.temperature, axis=1)
        # ordinal decision
        if order is not None:
            head.order = order
            class_list = list(classes)
            crit = set(order[: self.n_critical])
            weight = 1.0 if self.underprediction_cost is None else float(self.underprediction_cost)
            if self.underprediction_cost is None and self.critical_recall is not None:
                is_crit = np.isin(y, list(crit))
                weight = _COST_GRID[-1]
                for w in _COST_GRID:
                    pred = np.argmin(proba @ _ordinal_cost(class_list, order, w, self.n_critical), axis=1)
                    if is_crit.any() and np.isin(classes[pred], list(crit))[is_crit].mean() >= self.critical_recall:
                        weight = w
                        break
            head.underprediction_cost = weight
            head.cost = _ordinal_cost(class_list, order, weight, self.n_critical) if weight != 1.0 else None
        pred = head.decide(proba)
        confidence = proba[np.arange(len(pred)), pred]
        correct = pred == y_idx
        head.threshold = abstention_threshold(correct, confidence, target_precision=self.target_precision)
        abstain = confidence < head.threshold
        head.coverage = float((~abstain).mean())
        head.report = classification_report(y, classes[pred], proba=proba, classes=classes, abstain=abstain,
                                             order=order, n_critical=self.n_critical)
        if bar is not None:
            bar.update(1 + self.cv - n_splits + (self.final_model != "refit"))
        return head

    # ------------------------------------------------------------------ prediction
    def _outputs(self, Xmat: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(proba, decided class index, confidence)`` for rows of the shared feature matrix."""
        h = self.head_
        proba = h.proba_from_scores(h.scores(Xmat))
        pred = h.decide(proba)
        return proba, pred, proba[np.arange(len(pred)), pred]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated class probabilities.

        Parameters
        ----------
        X : sequence of str, Series or DataFrame of shape (n_samples, ...)
            Tickets: texts, or a frame with the fitted text (and feature) columns.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow :attr:`classes_`; every row sums to 1.

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> proba = clf.predict_proba(["vpn disconnects"])
        >>> proba.shape, round(float(proba.sum()), 6), bool(proba[0, 0] > 0.9)
        ((1, 2), 1.0, True)
        """
        Xmat, _, _, _ = self._prepare(X)
        h = self.head_
        return h.proba_from_scores(h.scores(Xmat))

    def decision_function(self, X: Any) -> np.ndarray:
        """Calibrated logits: ``softmax`` of them is :meth:`predict_proba`.

        Parameters
        ----------
        X : sequence of str, Series or DataFrame of shape (n_samples, ...)
            Tickets: texts, or a frame with the fitted text (and feature) columns.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the logit of ``classes_[1]`` against ``classes_[0]`` (positive
            when ``classes_[1]`` is the more probable), as scikit-learn expects.

        Examples
        --------
        For two labels, one logit per ticket (positive favours ``classes_[1]``), as in scikit-learn:

        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> scores = clf.decision_function(["vpn disconnects", "printer out of paper"])
        >>> scores.shape, bool(scores[0] < 0 < scores[1])
        ((2,), True)
        """
        Xmat, _, _, _ = self._prepare(X)
        h = self.head_
        z = h.logits_from_scores(h.scores(Xmat))
        return z[:, 0] if z.shape[1] == 1 else z

    def predict(self, X: Any) -> np.ndarray:
        """The label of every ticket (filled even when the model would abstain).

        Parameters
        ----------
        X : sequence of str, Series or DataFrame of shape (n_samples, ...)
            Tickets: texts, or a frame with the fitted text (and feature) columns.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``classes_[argmax(predict_proba)]``, or the least-expected-cost label of an ordinal
            target with an under-prediction cost (see Notes).

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> clf.predict(["vpn disconnects", "printer out of paper"]).tolist()
        ['network', 'office']
        """
        Xmat, _, _, _ = self._prepare(X)
        _, pred, _ = self._outputs(Xmat)
        return self.classes_[pred]

    def predict_frame(self, X: Any) -> pd.DataFrame:
        """Label, confidence and abstention per ticket.

        Parameters
        ----------
        X : sequence of str, Series or DataFrame of shape (n_samples, ...)
            Tickets: texts, or a frame with the fitted text (and feature) columns.

        Returns
        -------
        DataFrame
            The index of ``X`` (a Series or DataFrame; a RangeIndex otherwise) and the columns
            ``label``, ``confidence`` (calibrated probability of that label) and ``abstain``
            (True when the confidence is below :attr:`threshold_`, or the ticket is empty).

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> out = clf.predict_frame(["vpn disconnects"])
        >>> out.columns.tolist(), out["label"].tolist()
        (['label', 'confidence', 'abstain'], ['network'])
        >>> bool(out["abstain"][0] == (out["confidence"][0] < clf.threshold_))
        True
        """
        Xmat, _, empty, index = self._prepare(X)
        _, pred, conf = self._outputs(Xmat)
        return pd.DataFrame({"label": self.classes_[pred], "confidence": conf,
                             "abstain": (conf < self.threshold_) | empty}, index=index)

    def _record_frame(self, ticket: str | Mapping[str, Any]) -> pd.DataFrame:
        if isinstance(ticket, Mapping):
            record = dict(ticket)
        elif isinstance(ticket, (str, bytes)) or ticket is None:
            record = {self.text_columns_[0]: ticket} if self.text_columns_ else {}
        else:
            msg = f"predict_one takes a string or a dict of fields; got {type(ticket).__name__}."
            raise SchemaError(msg)
        cols = [*self.text_columns_, *self.feature_columns_]
        return pd.DataFrame({c: pd.Series([record.get(c)], dtype=object) for c in cols}, columns=cols)

    def predict_one(self, ticket: str | Mapping[str, Any]) -> dict[str, Any]:
        """Triage one ticket given as a string (the first text column) or a dict of fields.

        Parameters
        ----------
        ticket : str or dict
            The ticket's text (the first text column), or a dict of its fields.

        Returns
        -------
        dict
            ``{"label", "confidence", "abstain"}``, as a row of :meth:`predict_frame`.

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> clf.predict_one("printer out of paper")["label"]
        'office'
        """
        self._check_fitted()
        Xmat, _, empty = self._encode(self._record_frame(ticket))
        _, pred, conf = self._outputs(Xmat)
        label = self.classes_[pred[0]]
        return {"label": _py(label), "confidence": float(conf[0]),
                "abstain": bool(conf[0] < self.threshold_ or empty[0])}

    def _explain_row(self, doc: str, row: Any, j: int, top: int) -> dict[str, list[tuple[str, float]]]:
        """Terms of one encoded ticket for and against label index ``j``, strongest first."""
        cols, vals = row.indices, row.data
        contrib = vals * self.head_.label_weights(j)[cols]
        terms = self.featurizer_.explain_terms(doc, contrib, cols)
        ranked = sorted(terms.items(), key=lambda kv: -kv[1])
        return {"terms": [(t, round(v, 4)) for t, v in ranked if v >= 0.005][:top],
                "against": [(t, round(v, 4)) for t, v in ranked[::-1] if v <= -0.005][:top]}

    def explain(self, ticket: str | Mapping[str, Any], *, top: int = 8) -> dict[str, Any]:
        """The words and fields that pushed the decision for one ticket.

        Parameters
        ----------
        ticket : str or dict
            The ticket's text (the first text column), or a dict of its fields.
        top : int, default=8
            Terms to list for and against the decision.

        Returns
        -------
        dict
            ``{"label", "confidence", "abstain", "terms": [(term, weight), ...], "against": [...]}``
            where ``terms`` pushed towards the label (``feature value x weight``, character
            n-grams credited to the words containing them) and ``against`` away from it.

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> why = clf.explain("vpn disconnects")
        >>> why["label"], why["terms"][0][0]
        ('network', 'vpn')
        """
        self._check_fitted()
        Xmat, docs, empty = self._encode(self._record_frame(ticket))
        _, pred, conf = self._outputs(Xmat)
        j = int(pred[0])
        label = self.classes_[j]
        out = {"label": _py(label), "confidence": float(conf[0]),
               "abstain": bool(conf[0] < self.threshold_ or empty[0])}
        out.update(self._explain_row(docs[0], Xmat.getrow(0), j, top))
        return out

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, X: Any, y: Any, *, strict: bool = False) -> dict[str, Any]:
        """Metrics of the evaluation guide (section 3) on labelled tickets.

        Parameters
        ----------
        X : as in :meth:`fit`
            Tickets.
        y : array-like of shape (n_samples,)
            Their labels; rows with a missing label are left out (counted as ``n_missing_label``).
            A label never seen at training counts as an error (counted as ``n_unseen_label``).
        strict : bool, default False
            Raise :class:`~incidentml.exceptions.DataError` instead of warning
            (:class:`~incidentml.exceptions.LabelMismatchWarning`) when labels differ from the
            model's only in case or spaces; more than half such labels raise either way.

        Returns
        -------
        dict
            :func:`incidentml.evaluation.classification_report`: accuracy, macro-F1, coverage
            and decided precision at :attr:`threshold_`, and for an ordinal target critical recall.

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> report = clf.evaluate(["vpn is down", "paper jam in tray 2"], ["network", "office"])
        >>> report["n"], report["accuracy"], sorted(report["per_class_recall"])
        (2, 1.0, ['network', 'office'])
        """
        Xmat, _, empty, _ = self._prepare(X)
        y = column_or_1d(y)
        check_consistent_length(empty, y)
        keep = np.array([not _is_missing_label(v) for v in y], dtype=bool)
        y_true = [_py(v) for v in y[keep]]
        _check_true_labels(y_true, self._known_labels(), target="y", strict=strict)
        return self._report(Xmat, y_true, keep, empty)

    def _known_labels(self) -> list[Any]:
        """The labels seen at training, including those merged into :attr:`other_label`."""
        return [*map(_py, self.classes_), *self.head_.merged]

    def _report(self, Xmat: Any, y_true: list[Any], keep: np.ndarray, empty: np.ndarray) -> dict[str, Any]:
        """Report on the rows ``keep`` of the encoded tickets; ``y_true`` holds their labels."""
        h = self.head_
        if h.merged:
            y_true = [self.other_label if v in set(h.merged) else v for v in y_true]
        proba, pred, conf = self._outputs(Xmat)
        abstain = (conf < self.threshold_) | empty
        known = {str(k) for k in self._known_labels()}
        counts = {"n_missing_label": int((~keep).sum()), "n_unseen_label": sum(str(v) not in known for v in y_true)}
        report = classification_report(y_true, self.classes_[pred][keep], proba=proba[keep],
                                       classes=list(self.classes_), abstain=abstain[keep], order=h.order,
                                       n_critical=self.n_critical)
        return report | counts

    # ------------------------------------------------------------------ persistence (PersistenceMixin)
    _model_kind = "incidentml.TriageClassifier"

    def _manifest_extra(self) -> dict[str, Any]:
        self._check_fitted()
        return {"labels": [str(c) for c in self.classes_], "ordinal": _jsonable(self.ordinal_),
                "threshold": float(self.threshold_), "coverage": self.coverage_,
                "validation_metrics": _jsonable(self.validation_metrics_), "params": _jsonable(self.get_params())}

    def manifest(self) -> dict[str, Any]:
        """What is stored beside the model: versions, labels, cut, validation metrics and parameters.

        Returns
        -------
        dict
            JSON-safe; :meth:`save` writes it in the model file's manifest.

        Examples
        --------
        >>> from incidentml import TriageClassifier
        >>> titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 5
        >>> teams = ["network", "office", "network", "office", "network", "office"] * 5
        >>> clf = TriageClassifier(random_state=0).fit(titles, teams)
        >>> m = clf.manifest()
        >>> m["kind"], m["labels"], m["ordinal"]
        ('incidentml.TriageClassifier', ['network', 'office'], None)
        """
        return self._manifest()

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True  # texts (1-D, or string columns of a table)
        tags.input_tags.allow_nan = True  # missing text is empty; missing numbers get the training mean
        tags.input_tags.two_d_array = True  # tables: numeric columns are features, string columns text
        return tags


def _py(value: Any) -> Any:
    """A numpy scalar as the Python value (labels in messages, ``ordinal_`` and ``predict_one``)."""
    return value.item() if isinstance(value, np.generic) else value


def _ragged_or_text(X: Any) -> bool:
    """True for a list whose items are texts or missing (so numpy keeps them as objects)."""
    if isinstance(X, (list, tuple)) and len(X):
        return all(isinstance(v, (str, bytes)) or v is None or (isinstance(v, float) and v != v) for v in X)
    return False
