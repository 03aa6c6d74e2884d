"""Evaluation metrics, implemented exactly as the project's evaluation guide defines them.

Triage (classification of incident text): accuracy, macro-F1, per-class recall, top-k accuracy,
expected calibration error, coverage at a target precision, and, for ordinal targets such as
priority, critical recall and the rate of critical incidents predicted two or more levels too low.
"""

from ._classification import (
    abstention_threshold,
    classification_report,
    expected_calibration_error,
    top_k_accuracy,
)

__all__ = [
    "abstention_threshold",
    "classification_report",
    "expected_calibration_error",
    "top_k_accuracy",
]
