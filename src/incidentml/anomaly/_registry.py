"""Detectors by name: :func:`make_detector` and the table behind it, :data:`DETECTORS`.

``DETECTORS`` maps each name :func:`make_detector` accepts (``default``, ``robust``, ``hst``, ...)
to the factory that builds a fresh detector; :func:`available_detectors` lists the names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import InvalidParameterError
from .base import AnomalyDetector

__all__ = ["DETECTORS", "available_detectors", "make_detector"]


def _robust(**params: Any) -> AnomalyDetector:
    from ._robust import RobustZScore

    return RobustZScore(**params)


def _likelihood(**params: Any) -> AnomalyDetector:
    from ._default import StreamingLikelihoodDetector

    return StreamingLikelihoodDetector(**params)


def _seasonal(**params: Any) -> AnomalyDetector:
    from ._seasonal import SeasonalDetector

    return SeasonalDetector(**params)


def _forecast(**params: Any) -> AnomalyDetector:
    from ._forecast import ForecastResidual

    return ForecastResidual(**params)


def _multivariate(**params: Any) -> AnomalyDetector:
    from ._multivariate import MultivariateDetector

    return MultivariateDetector(**params)


def _ensemble(**params: Any) -> AnomalyDetector:
    from ._ensemble import Ensemble

    return Ensemble(**params)


def _river(model: str, **fixed: Any) -> Callable[..., AnomalyDetector]:
    def factory(**params: Any) -> AnomalyDetector:
        from ._river import RiverDetector

        return RiverDetector(model, **{**fixed, **params})

    factory.__name__ = f"_river_{model}"
    return factory


#: name -> factory; ``default`` is the best detector the library has.
DETECTORS: dict[str, Callable[..., AnomalyDetector]] = {
    "default": _likelihood,
    "likelihood": _likelihood,
    "robust": _robust,
    "seasonal": _seasonal,
    "forecast": _forecast,
    "multivariate": _multivariate,
    "ensemble": _ensemble,
    "hst": _river("hst", seed=0),
    "hst_raw": _river("hst", calibrate=False, seed=0),  # plain river baseline: MinMaxScaler + HalfSpaceTrees
    "loda": _river("loda", seed=0),
    "svm": _river("svm", seed=0),
}


def available_detectors() -> list[str]:
    """Names accepted by :func:`make_detector`, sorted (the keys of :data:`DETECTORS`).

    Examples
    --------
    >>> names = available_detectors()
    >>> "default" in names, "robust" in names, names == sorted(names)
    (True, True, True)
    """
    return sorted(DETECTORS)


def make_detector(name: str = "default", **params: Any) -> AnomalyDetector:
    """Create a fresh detector by name, with optional hyperparameters.

    Parameters
    ----------
    name : str, default="default"
        One of :func:`available_detectors`.
    **params
        Hyperparameters of that detector (for example ``alpha=0.05`` for ``"robust"``).

    Returns
    -------
    AnomalyDetector
        A fresh, unfitted detector.

    Raises
    ------
    InvalidParameterError
        The name is unknown or the detector does not take one of ``params``.

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
