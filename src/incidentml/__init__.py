"""incidentml: IT incident management with machine learning.

Triage incident text (:class:`TriageModel`: category, priority and team with calibrated
confidence and abstention; :class:`TriageClassifier`: one target as a scikit-learn classifier;
:class:`OnlineTriage`: learning from analysts' corrections),
watch metric streams with online anomaly detectors (:func:`make_detector`, river anomaly
detectors), and turn their scores into predicted incidents (:class:`IncidentPredictor`).

Subpackages
-----------
anomaly
    Streaming anomaly detectors (``learn_one``/``score_one``/``score_many``).
fleet
    Whole fleets in batch: pandas on all cores, Dask clusters, files, incremental state.
incidents
    Predicted incidents from detector scores (:class:`IncidentPredictor`).
history
    Similar past incidents (:class:`SimilarIncidents`), recurring problems, post-incident summaries.
plot
    Matplotlib plots of streams, incidents, forecasts, triage quality and history (extra ``plot``).
report
    Offline HTML reports of a triage model and of predicted incidents (extra ``report``).
triage
    Text classifiers for incident tickets.
evaluation
    The metrics of the project's evaluation guide.
datasets
    Loaders for the small bundled samples.
checks
    The check suite every estimator passes (yours too).
utils
    The bottom layer: timestamps, points, table schemas, model files.

``incidentml.__version__`` is the installed version (from the package metadata).
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("incidentml")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

from . import anomaly, checks, datasets, evaluation, exceptions, fleet, history, incidents, plot, report, triage, utils
from .anomaly import make_detector
from .exceptions import (
    DataError,
    IncidentMLError,
    InvalidParameterError,
    ModelFileError,
    NotFittedError,
    SchemaError,
)
from .fleet import predict_incidents, score_fleet
from .history import SimilarIncidents
from .incidents import Incident, IncidentPredictor
from .triage import OnlineTriage, TriageClassifier, TriageModel, normalize_text

__all__ = [
    "DataError",
    "Incident",
    "IncidentMLError",
    "IncidentPredictor",
    "InvalidParameterError",
    "ModelFileError",
    "NotFittedError",
    "OnlineTriage",
    "SchemaError",
    "SimilarIncidents",
    "TriageClassifier",
    "TriageModel",
    "__version__",
    "anomaly",
    "checks",
    "datasets",
    "evaluation",
    "exceptions",
    "fleet",
    "history",
    "incidents",
    "make_detector",
    "normalize_text",
    "plot",
    "predict_incidents",
    "report",
    "score_fleet",
    "triage",
    "utils",
]
