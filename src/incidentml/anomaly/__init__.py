"""Online anomaly detectors for metric streams.

Every detector follows river's streaming contract: ``learn_one(x, t=None)`` updates it with one
point (``x`` a dict of metric name to float, ``t`` an optional timestamp) and returns ``None``;
``score_one(x, t=None)`` says how anomalous a point is without learning from it; higher is more
anomalous, and calibrated detectors answer in [0, 1] so one threshold means the same everywhere.
``score_many`` scores a whole array or frame at once with exactly the answers of the one-point loop.
Create detectors by name with :func:`make_detector`.
"""

from ._registry import DETECTORS, available_detectors, make_detector
from ._robust import RobustZScore
from .base import AnomalyDetector, KernelDetector, Stage

__all__ = [
    "DETECTORS",
    "AnomalyDetector",
    "KernelDetector",
    "RobustZScore",
    "Stage",
    "available_detectors",
    "make_detector",
]
