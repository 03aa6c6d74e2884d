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
    "IncidentMLWarning",
    "InvalidParameterError",
    "ModelFileError",
    "NotFittedError",
    "SchemaError",
    "DataError",
    "PerformanceWarning",
    "RareClassWarning",
    "SkippedRowsWarning",
]


class IncidentMLError(Exception):
    """Root of every error incidentml raises on purpose."""


class InvalidParameterError(IncidentMLError, ValueError, TypeError):
    """A constructor parameter has a value outside its documented range or type."""


class NotFittedError(IncidentMLError, _SklearnNotFittedError):
    """A model was used before ``fit`` (or ``learn_one``) gave it any state.

    It is scikit-learn's :class:`sklearn.exceptions.NotFittedError` too (so ``ValueError`` and
    ``AttributeError``): ``except sklearn.exceptions.NotFittedError`` catches it, and
    :func:`sklearn.utils.validation.check_is_fitted` and this class agree.
    """


class SchemaError(IncidentMLError, ValueError):
    """An input table lacks a column, or a column has the wrong type or content."""


class DataError(IncidentMLError, ValueError):
    """Input data cannot be learned from (for example a target with a single class)."""


class ModelFileError(IncidentMLError, ValueError):
    """A saved model file is missing, truncated, tampered with, or from an incompatible version."""


class IncidentMLWarning(UserWarning):
    """Root of every warning incidentml emits."""


class RareClassWarning(IncidentMLWarning):
    """Rare labels were merged into an ``other`` class before training."""


class PerformanceWarning(IncidentMLWarning):
    """A slower route is in use (for example the detectors' kernels run as Python without numba)."""


class SkippedRowsWarning(IncidentMLWarning):
    """Some input rows were not used (the message says how many, and why); ``strict=True`` raises instead."""
