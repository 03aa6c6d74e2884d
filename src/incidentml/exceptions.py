"""Exceptions and warnings raised by incidentml.

Every error the library raises on purpose derives from :class:`IncidentMLError` and from the
built-in exception a caller would expect (``ValueError`` for bad values, ``KeyError``-free
lookups, ...), so ``except ValueError`` keeps working while ``except IncidentMLError`` catches
everything incidentml raises deliberately.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "IncidentMLError",
    "IgnoredColumnsWarning",
    "IncidentMLWarning",
    "LabelMismatchWarning",
    "InvalidParameterError",
    "ModelFileError",
    "NotFittedError",
    "SchemaError",
    "DataError",
    "PerformanceWarning",
    "RareClassWarning",
    "SkippedRowsWarning",
    "SkippedTargetWarning",
]


class IncidentMLError(Exception):
    """Root of every error incidentml raises on purpose.

    Examples
    --------
    >>> from incidentml import make_detector
    >>> try:
    ...     make_detector("no-such-detector")
    ... except IncidentMLError as exc:
    ...     print(type(exc).__name__)
    InvalidParameterError
    """


class InvalidParameterError(IncidentMLError, ValueError, TypeError):
    """A constructor parameter has a value outside its documented range or type.

    It is a ``ValueError`` and a ``TypeError`` too, as scikit-learn's parameter checks raise.

    Examples
    --------
    >>> from incidentml.anomaly import RobustZScore
    >>> RobustZScore(alpha=0).learn_one({"value": 1.0})
    Traceback (most recent call last):
    ...
    incidentml.exceptions.InvalidParameterError: The 'alpha' parameter of RobustZScore must be a float in the
    range (0, 1]. Got 0 instead.
    >>> issubclass(InvalidParameterError, ValueError)
    True
    """


class NotFittedError(IncidentMLError, _SklearnNotFittedError):
    """A model was used before ``fit`` (or ``learn_one``) gave it any state.

    It is scikit-learn's :class:`sklearn.exceptions.NotFittedError` too (so ``ValueError`` and
    ``AttributeError``): ``except sklearn.exceptions.NotFittedError`` catches it, and
    :func:`sklearn.utils.validation.check_is_fitted` and this class agree.

    Examples
    --------
    >>> import sklearn.exceptions
    >>> from incidentml import TriageClassifier
    >>> try:
    ...     TriageClassifier().predict(["disk full on db-1"])
    ... except sklearn.exceptions.NotFittedError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ValueError))
    NotFittedError True
    """


class SchemaError(IncidentMLError, ValueError):
    """An input table lacks a column, or a column has the wrong type or content.

    Examples
    --------
    >>> import pandas as pd
    >>> from incidentml.utils import validate_metric_frame
    >>> validate_metric_frame(pd.DataFrame({"time": [0, 60], "cpu": [1.0, 2.0]}))
    Traceback (most recent call last):
    ...
    incidentml.exceptions.SchemaError: Time column 'timestamp' is not in the data ...
    """


class DataError(IncidentMLError, ValueError):
    """Input data cannot be learned from (for example a target with a single class).

    Examples
    --------
    >>> from incidentml.utils import as_point
    >>> as_point({"cpu": "high"})
    Traceback (most recent call last):
    ...
    incidentml.exceptions.DataError: Metric 'cpu' must be a number. Got str 'high': ...
    """


class ModelFileError(IncidentMLError, ValueError):
    """A saved model file is missing, truncated, tampered with, or from an incompatible version.

    Examples
    --------
    >>> from incidentml.utils import load_model_file
    >>> load_model_file("no-such-model.incidentml")
    Traceback (most recent call last):
    ...
    incidentml.exceptions.ModelFileError: Model file 'no-such-model.incidentml' does not exist. ...
    """


class IncidentMLWarning(UserWarning):
    """Root of every warning incidentml emits.

    Filter it to silence (or, as the test suite does, to raise) every incidentml warning at once.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", IncidentMLWarning)
    ...     warnings.warn("2 rows skipped", SkippedRowsWarning)
    >>> [type(w.message).__name__ for w in caught]
    ['SkippedRowsWarning']
    >>> issubclass(SkippedRowsWarning, IncidentMLWarning)
    True
    """


class RareClassWarning(IncidentMLWarning):
    """Rare labels were merged into an ``other`` class before training.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", RareClassWarning)  # expected on a small training set
    ...     warnings.warn("label 'printer' has 2 tickets: merged into 'other'", RareClassWarning)
    >>> issubclass(RareClassWarning, UserWarning)
    True
    """


class PerformanceWarning(IncidentMLWarning):
    """A slower route is in use (for example the detectors' kernels run as Python without numba).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("numba is not installed: the kernels run as Python", PerformanceWarning)
    >>> caught[0].category.__name__, issubclass(caught[0].category, IncidentMLWarning)
    ('PerformanceWarning', True)
    """


class SkippedRowsWarning(IncidentMLWarning):
    """Some input rows were not used (the message says how many, and why); ``strict=True`` raises instead.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", SkippedRowsWarning)  # turn skipped rows into an error
    ...     warnings.warn("3 rows have no timestamp", SkippedRowsWarning)
    Traceback (most recent call last):
    ...
    incidentml.exceptions.SkippedRowsWarning: 3 rows have no timestamp
    """


class IgnoredColumnsWarning(IncidentMLWarning):
    """Some input columns were not used (the message names them, and why: text, or true/false values).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("ignoring bool column(s) 'label' (true/false values are not metrics)",
    ...                   IgnoredColumnsWarning)
    >>> caught[0].category.__name__, issubclass(IgnoredColumnsWarning, IncidentMLWarning)
    ('IgnoredColumnsWarning', True)
    """


class SkippedTargetWarning(IncidentMLWarning):
    """A target was left out of an evaluation because its label column is not in the data.

    :meth:`TriageModel.evaluate <incidentml.TriageModel.evaluate>` raises instead with ``strict=True``.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", SkippedTargetWarning)
    ...     warnings.warn("target 'team' not evaluated: column 'team' is not in the data", SkippedTargetWarning)
    Traceback (most recent call last):
    ...
    incidentml.exceptions.SkippedTargetWarning: target 'team' not evaluated: column 'team' is not in the data
    """


class LabelMismatchWarning(IncidentMLWarning):
    """Some true labels are not the model's labels but match one when case and spaces are ignored.

    They are scored as wrong (never remapped silently); when most labels are like that,
    :meth:`TriageModel.evaluate <incidentml.TriageModel.evaluate>` raises :class:`DataError` instead.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("2 of 40 labels differ from the model's only by case: 'Network' (model: 'network')",
    ...                   LabelMismatchWarning)
    >>> caught[0].category.__name__
    'LabelMismatchWarning'
    """
