"""incidentml: IT incident management with machine learning.

Triage incident text (:class:`TriageModel`: category, priority and team with calibrated
confidence and abstention) and, in later releases, predict incidents from metric streams.

Subpackages
-----------
triage
    Text classifiers for incident tickets.
evaluation
    The metrics of the project's evaluation guide.
datasets
    Loaders for the small bundled samples.
utils
    Model files and the shared estimator check suite.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("incidentml")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

from . import datasets, evaluation, exceptions, triage, utils
from .exceptions import (
    DataError,
    IncidentMLError,
    InvalidParameterError,
    ModelFileError,
    NotFittedError,
    SchemaError,
)
from .triage import TriageModel, normalize_text

__all__ = [
    "DataError",
    "IncidentMLError",
    "InvalidParameterError",
    "ModelFileError",
    "NotFittedError",
    "SchemaError",
    "TriageModel",
    "__version__",
    "datasets",
    "evaluation",
    "exceptions",
    "normalize_text",
    "triage",
    "utils",
]
