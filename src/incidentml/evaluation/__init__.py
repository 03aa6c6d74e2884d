"""Evaluation metrics, implemented exactly as the project's evaluation guide defines them.

Triage (classification of incident text): accuracy, macro-F1, per-class recall, top-k accuracy,
expected calibration error, coverage at a target precision, and, for ordinal targets such as
priority, critical recall and the rate of critical incidents predicted two or more levels too low.

Streaming anomaly detection: the Numenta Anomaly Benchmark scorer (windows, probation, scaled
sigmoid, the three profiles, NAB's exhaustive threshold sweep and normalization), with the
scoreboard score and the honest 2-fold score of the guide's section 1. :data:`PROFILES` holds
NAB's three cost profiles (``standard``, ``reward_low_FP_rate``, ``reward_low_FN_rate``).
"""

from ._classification import (
    abstention_threshold,
    classification_report,
    expected_calibration_error,
    top_k_accuracy,
)
from ._nab import (
    PROFILES,
    NABCorpus,
    NABFile,
    load_nab_corpus,
    nab_report,
    nab_results_paths,
    optimize_threshold,
    read_nab_results,
    scaled_sigmoid,
    score_corpus,
)
from ._nab_run import run_nab_detector

__all__ = [
    "PROFILES",
    "NABCorpus",
    "NABFile",
    "abstention_threshold",
    "classification_report",
    "expected_calibration_error",
    "load_nab_corpus",
    "nab_report",
    "nab_results_paths",
    "optimize_threshold",
    "read_nab_results",
    "run_nab_detector",
    "scaled_sigmoid",
    "score_corpus",
    "top_k_accuracy",
]
