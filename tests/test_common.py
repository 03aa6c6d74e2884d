"""Every public estimator passes the shared check suite (incidentml.checks)."""

from __future__ import annotations

import copy
import inspect

import pytest
from sklearn.base import BaseEstimator

import incidentml
from incidentml.checks import EXPECTED_FAILURES, yield_checks


def _public_estimators():
    found = []
    for module in (incidentml, incidentml.anomaly):
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isclass(obj) and issubclass(obj, BaseEstimator) and not inspect.isabstract(obj)
                    and obj.__module__.split(".")[-1] != "base" and obj not in found):
                found.append(obj)
    return found


def _cases():
    for cls in _public_estimators():
        for check in yield_checks(cls()):
            yield pytest.param(cls, check, id=f"{cls.__name__}:{check.__name__}")


def test_estimators_discovered():
    """Discovery finds the estimators the package exports."""
    assert incidentml.TriageModel in _public_estimators()
    assert incidentml.anomaly.RobustZScore in _public_estimators()


def test_expected_failures_have_reasons():
    """Every exemption from the suite states why."""
    for cls_name, checks in EXPECTED_FAILURES.items():
        for check, reason in checks.items():
            assert isinstance(reason, str) and len(reason) > 10, f"{cls_name}:{check} needs a reason"


@pytest.mark.parametrize(("cls", "check"), list(_cases()))
def test_estimator_check(cls, check):
    """The named check passes for the named estimator."""
    check(copy.deepcopy(cls()))
