"""Online anomaly detectors for metric streams.

Every detector is a river anomaly detector (:class:`river.base.AnomalyDetector`) and a
scikit-learn estimator. ``learn_one(x, t=None)`` updates it with one point (``x`` a dict of metric
name to float, ``t`` an optional timestamp) and returns ``None``; ``score_one(x, t=None)`` says how
anomalous a point is without learning from it. Higher is more anomalous, and calibrated detectors
answer in [0, 1] on one scale (``L / (L + 10)`` with ``L = -log10`` of the tail probability), so one
threshold, :data:`DEFAULT_THRESHOLD`, means the same rarity everywhere. ``score_many`` scores a
whole array or frame at once with exactly the answers of the one-point loop, and ``reset`` forgets
what was learned. Create detectors by name with :func:`make_detector`; :data:`DETECTORS` is the
table of names to factories behind it (:func:`available_detectors` lists the names).

Being river detectors, they go into river pipelines, filters and evaluation (river passes no
timestamp: ``t`` is then ``None``):

>>> from river import preprocessing
>>> from incidentml.anomaly import make_detector
>>> model = preprocessing.StandardScaler() | make_detector("default")
>>> for i in range(300):
...     x = {"cpu": 50.0 + (i % 7), "mem": 70.0 + (i % 3)}
...     _ = model.score_one(x)
...     model.learn_one(x)
>>> round(model.score_one({"cpu": 53.0, "mem": 71.0}), 3)
0.0
>>> model.score_one({"cpu": 95.0, "mem": 71.0})
1.0
"""

from ._calibration import DEFAULT_THRESHOLD, score_to_tail_probability, tail_probability_to_score
from ._default import StreamingLikelihoodDetector
from ._ensemble import Ensemble
from ._forecast import ForecastResidual
from ._frame import score_frame, score_long
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
    "score_to_tail_probability",
    "score_frame",
    "score_long",
    "tail_probability_to_score",
]
