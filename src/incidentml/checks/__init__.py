"""The check suite every public incidentml estimator passes, shipped so yours can pass it too.

:func:`check_estimator` runs every check that applies to a detector or a triage classifier;
:func:`yield_checks` lists them (for ``pytest.mark.parametrize``). Known, justified exemptions
live in :data:`EXPECTED_FAILURES` with their reason. The behavioural floors are
:data:`DETECTOR_ROC_AUC_FLOOR` (every detector's ROC AUC on a small labelled stream) and
:data:`TRIAGE_MACRO_F1_FLOOR` (every triage classifier's macro-F1 on the synthetic tickets).
These checks encode incidentml's own contract (reproducibility, no mutated inputs, batch =
loop, a behavioural floor); detectors also pass river's ``river.checks.check_estimator`` and
triage classifiers scikit-learn's checks.

Examples
--------
>>> from incidentml.checks import check_estimator
>>> from incidentml.anomaly import RobustZScore
>>> check_estimator(RobustZScore())
"""

from ._suite import DETECTOR_ROC_AUC_FLOOR, EXPECTED_FAILURES, TRIAGE_MACRO_F1_FLOOR, check_estimator, yield_checks

__all__ = ["DETECTOR_ROC_AUC_FLOOR", "EXPECTED_FAILURES", "TRIAGE_MACRO_F1_FLOOR", "check_estimator", "yield_checks"]
