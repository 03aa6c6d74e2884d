"""Detectors by name: :func:`make_detector` and the table behind it."""

from __future__ import annotations

from typing import Any, Callable

from ..exceptions import InvalidParameterError
from .base import AnomalyDetector

__all__ = ["DETECTORS", "available_detectors", "make_detector"]


def _robust(**params: Any) -> AnomalyDetector:
    from ._robust import RobustZScore

    return RobustZScore(**params)


#: name -> factory; ``default`` is the best detector the library has.
DETECTORS: dict[str, Callable[..., AnomalyDetector]] = {
    "default": _robust,
    "robust": _robust,
}


def available_detectors() -> list[str]:
    """Names accepted by :func:`make_detector`."""
    return sorted(DETECTORS)


def make_detector(name: str = "default", **params: Any) -> AnomalyDetector:
    """Create a fresh detector by name, with optional hyperparameters.

    Examples
    --------
    >>> from incidentml import make_detector
    >>> det = make_detector("default")
    >>> det.learn_one({"cpu": 0.4})
    >>> 0.0 <= det.score_one({"cpu": 0.41}) <= 1.0
    True
    """
    factory = DETECTORS.get(name) if isinstance(name, str) else None
    if factory is None:
        raise InvalidParameterError(f"Unknown detector {name!r}. Choose one of: {', '.join(available_detectors())}.")
    try:
        return factory(**params)
    except TypeError as exc:
        raise InvalidParameterError(f"Detector {name!r} does not take these parameters: {exc}.") from None
