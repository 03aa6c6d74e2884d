"""Metric definitions of the evaluation guide, section 3, on hand-checked examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentml.evaluation import (
    abstention_threshold,
    classification_report,
    expected_calibration_error,
    top_k_accuracy,
)


def test_report_by_hand():
    """Accuracy, macro-F1, per-class recall, top-3 and ECE match hand computation."""
    y = ["a", "a", "b", "c"]
    p = ["a", "b", "b", "c"]
    proba = np.array([[0.8, 0.1, 0.1], [0.4, 0.5, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    r = classification_report(y, p, proba=proba, classes=["a", "b", "c"], abstain=[False, True, False, False])
    assert r["accuracy"] == 0.75
    assert r["per_class_recall"] == {"a": 0.5, "b": 1.0, "c": 1.0}
    assert r["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert r["top3_accuracy"] == 1.0
    assert r["coverage"] == 0.75 and r["decided_precision"] == 1.0
    assert r["ece"] == pytest.approx(expected_calibration_error(np.array([1, 0, 1, 1]), np.array([.8, .5, .8, .6])))


def test_ordinal_metrics():
    """Critical recall counts any critical level as caught; two-levels-low counts the most severe class."""
    order = ["Blocker", "Critical", "Major", "Minor", "Trivial"]
    y = ["Blocker", "Blocker", "Critical", "Major", "Blocker"]
    p = ["Critical", "Minor", "Major", "Blocker", "Major"]
    r = classification_report(y, p, order=order, n_critical=2)
    assert r["critical_recall"] == pytest.approx(1 / 4)
    assert r["critical_precision"] == pytest.approx(1 / 2)
    assert r["critical_two_low_rate"] == pytest.approx(2 / 3)


def test_top_k_unseen_label_is_a_miss():
    """A true label the model never saw counts as a miss."""
    assert top_k_accuracy(["z"], np.array([[0.5, 0.5]]), ["a", "b"], k=2) == 0.0


def test_abstention_threshold_none_reachable():
    """When no cut reaches the precision, the model abstains on everything."""
    assert abstention_threshold(np.array([0, 0, 1]), np.array([0.9, 0.8, 0.1]), target_precision=0.9) == float("inf")


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=1, max_size=60), st.floats(0.05, 1.0))
def test_abstention_cut_meets_precision(rows, target):
    """Whenever a cut is returned, the rows at or above it reach the target precision."""
    correct = np.array([r[0] for r in rows], dtype=float)
    conf = np.array([r[1] for r in rows])
    cut = abstention_threshold(correct, conf, target_precision=target)
    if np.isfinite(cut):
        decided = conf >= cut
        assert correct[decided].mean() >= target - 1e-12


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=1, max_size=60))
def test_ece_in_unit_interval(rows):
    """ECE is between 0 and 1."""
    e = expected_calibration_error(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))
    assert 0.0 <= e <= 1.0
