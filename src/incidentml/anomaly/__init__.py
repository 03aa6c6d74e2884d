"""Online anomaly detectors for metric streams.

Every detector follows river's streaming contract: ``learn_one(x, t=None)`` updates it with one
point (``x`` a dict of metric name to float, ``t`` an optional timestamp) and returns ``None``;
``score_one(x, t=None)`` says how anomalous a point is without learning from it; higher is more
anomalous, and calibrated detectors answer in [0, 1] so one threshold means the same everywhere.
``score_many`` scores a whole array or frame at once with exactly the answers of the one-point loop.
Create detectors by name with :func:`make_detector`.
"""

from ._default import StreamingLikelihoodDetector
from ._ensemble import Ensemble
from ._frame import DEFAULT_THRESHOLD, score_frame, score_long
from ._forecast import ForecastResidual
from ._multivariate import MultivariateDetector
from ._registry import DETECTORS, available_detectors, make_detector
from ._river import RiverDetector
from ._robust import RobustZScore
from ._seasonal import SeasonalDetector
from .base import AnomalyDetector, KernelDetector, Stage

__all__ = [
    "DEFAULT_THRESHOLD",
    "DETECTORS",
    "AnomalyDetector",
    "Ensemble",
    "ForecastResidual",
    "KernelDetector",
    "MultivariateDetector",
    "RiverDetector",
    "RobustZScore",
    "SeasonalDetector",
    "Stage",
    "StreamingLikelihoodDetector",
    "available_detectors",
    "make_detector",
    "score_frame",
    "score_long",
]
