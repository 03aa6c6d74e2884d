"""Classification metrics for triage targets (evaluation guide, section 3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score

__all__ = [
    "abstention_threshold",
    "classification_report",
    "expected_calibration_error",
    "top_k_accuracy",
]


def expected_calibration_error(correct: np.ndarray, confidence: np.ndarray, *, n_bins: int = 10) -> float:
    """Expected calibration error of top-label confidences, with equal-width bins.

    ``ECE = sum_b |B_b| / n * |accuracy(B_b) - mean confidence(B_b)|`` over ``n_bins`` bins of
    ``[0, 1]`` (the last bin is closed).

    Parameters
    ----------
    correct : array-like of shape (n,)
        1 where the top label was right, 0 where it was wrong.
    confidence : array-like of shape (n,)
        The top label's probability (clipped to [0, 1]).
    n_bins : int, default=10
        Equal-width bins of [0, 1].

    Returns
    -------
    float
        The ECE in [0, 1]; NaN for no rows.

    Examples
    --------
    >>> round(expected_calibration_error(np.array([1, 0, 1, 1]), np.array([0.9, 0.9, 0.6, 0.6])), 3)
    0.4
    """
    correct = np.asarray(correct, dtype=float)
    confidence = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0)
    if correct.size == 0:
        return float("nan")
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def top_k_accuracy(y_true: Sequence[Any], proba: np.ndarray, classes: Sequence[Any], k: int = 3) -> float:
    """Share of rows whose true label is among the ``k`` most probable classes.

    Labels absent from ``classes`` (unseen at training) count as misses.

    Parameters
    ----------
    y_true : sequence of shape (n,)
        The true labels.
    proba : ndarray of shape (n, n_classes)
        Class probabilities, columns in the order of ``classes``.
    classes : sequence of shape (n_classes,)
        The labels of the columns of ``proba``.
    k : int, default=3
        How many of the most probable classes count (at most ``n_classes``).

    Returns
    -------
    float
        The share in [0, 1]; NaN for no rows.

    Examples
    --------
    >>> top_k_accuracy(["a", "c"], np.array([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]]), ["a", "b", "c"], k=2)
    0.5
    """
    proba = np.asarray(proba, dtype=float)
    if len(y_true) == 0:
        return float("nan")
    k = min(k, proba.shape[1])
    top = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    index = {c: i for i, c in enumerate(classes)}
    true_idx = np.array([index.get(y, -1) for y in y_true])
    return float(np.mean((top == true_idx[:, None]).any(axis=1)))


def abstention_threshold(correct: np.ndarray, confidence: np.ndarray, *, target_precision: float = 0.9) -> float:
    """Lowest confidence cut at which the decided rows reach ``target_precision``.

    Rows with ``confidence >= cut`` are decided; the rest are handed to a human. Returns the
    smallest observed confidence value whose decided set is at least ``target_precision``
    correct, or ``inf`` (abstain on everything) when no cut reaches it.

    Parameters
    ----------
    correct : array-like of shape (n,)
        1 where the prediction was right, 0 where it was wrong.
    confidence : array-like of shape (n,)
        The prediction's confidence.
    target_precision : float, default=0.9
        The share of decided rows that must be right.

    Returns
    -------
    float
        The cut, or ``inf``.

    Examples
    --------
    >>> abstention_threshold(np.array([1, 1, 0, 1, 0]), np.array([0.95, 0.9, 0.8, 0.7, 0.3]), target_precision=0.7)
    0.7
    """
    correct = np.asarray(correct, dtype=float)
    confidence = np.asarray(confidence, dtype=float)
    if correct.size == 0:
        return float("inf")
    order = np.argsort(-confidence, kind="stable")
    conf_sorted = confidence[order]
    precision = np.cumsum(correct[order]) / np.arange(1, correct.size + 1)
    # a cut can only sit at the last row of a run of equal confidences
    last_of_run = np.r_[conf_sorted[1:] != conf_sorted[:-1], True]
    ok = (precision >= target_precision) & last_of_run
    if not ok.any():
        return float("inf")
    return float(conf_sorted[np.flatnonzero(ok)[-1]])


def classification_report(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    *,
    proba: np.ndarray | None = None,
    classes: Sequence[Any] | np.ndarray | None = None,
    abstain: Sequence[bool] | None = None,
    order: Sequence[Any] | None = None,
    n_critical: int = 1,
) -> dict[str, Any]:
    """Every triage metric of the evaluation guide (section 3) for one target.

    Parameters
    ----------
    y_true, y_pred : sequence of labels
        True and predicted labels (strings). Rows whose true label is missing must be dropped
        by the caller. True labels never seen at training simply count as errors.
    proba : ndarray of shape (n_rows, n_classes), optional
        Calibrated probabilities in the column order of ``classes``; enables top-3 accuracy
        and expected calibration error.
    abstain : sequence of bool, optional
        The model's abstention flags; enables ``coverage`` and ``decided_precision``.
    order : sequence of labels, optional
        For an ordinal target, its labels from most to least severe; enables
        ``critical_recall`` (recall of the ``n_critical`` most severe classes, counted as
        caught when predicted as any of them) and ``critical_two_low_rate``.
    n_critical : int, default=1
        How many of the most severe levels count as "critical".

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``macro_f1``, ``per_class_recall``, ``top3_accuracy``, ``ece``,
        ``coverage``, ``decided_precision`` and, for ordinal targets, ``critical_recall``,
        ``critical_precision`` and ``critical_two_low_rate``.

    Examples
    --------
    >>> r = classification_report(["P1", "P2", "P3", "P1"], ["P1", "P2", "P2", "P3"],
    ...                           order=["P1", "P2", "P3"])
    >>> r["accuracy"], r["critical_recall"], r["critical_two_low_rate"]
    (0.5, 0.5, 0.5)
    """
    truth = np.asarray([str(v) for v in y_true], dtype=object)
    predicted = np.asarray([str(v) for v in y_pred], dtype=object)
    n = len(truth)
    report: dict[str, Any] = {"n": int(n)}
    if n == 0:
        return report
    labels = sorted(set(truth))
    report["accuracy"] = float(accuracy_score(truth, predicted))
    report["macro_f1"] = float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))
    recalls = recall_score(truth, predicted, labels=labels, average=None, zero_division=0)
    report["per_class_recall"] = {str(c): float(r) for c, r in zip(labels, recalls, strict=True)}
    if proba is not None and classes is not None:
        proba = np.asarray(proba, dtype=float)
        classes = [str(c) for c in classes]
        report["top3_accuracy"] = top_k_accuracy(list(truth), proba, classes, k=3)
        correct = np.asarray(predicted == truth)
        # confidence of the label actually predicted (not always the most probable one under a cost rule)
        col = {c: i for i, c in enumerate(classes)}
        idx = np.array([col.get(v, -1) for v in predicted])
        confidence = np.where(idx >= 0, proba[np.arange(n), np.maximum(idx, 0)], proba.max(axis=1))
        report["ece"] = expected_calibration_error(correct, confidence)
    if abstain is not None:
        decided = ~np.asarray(abstain, dtype=bool)
        report["coverage"] = float(decided.mean())
        report["decided_precision"] = (float((predicted[decided] == truth[decided]).mean()) if decided.any()
                                       else float("nan"))
    if order is not None:
        rank = {str(c): i for i, c in enumerate(order)}
        crit = {str(c) for c in list(order)[:n_critical]}
        true_r = np.array([rank.get(v, -1) for v in truth])
        pred_r = np.array([rank.get(v, -1) for v in predicted])
        is_crit = np.isin(truth, list(crit))
        pred_crit = np.isin(predicted, list(crit))
        report["critical_labels"] = sorted(crit, key=lambda c: rank[c])
        report["critical_support"] = int(is_crit.sum())
        report["critical_recall"] = float(pred_crit[is_crit].mean()) if is_crit.any() else float("nan")
        report["critical_precision"] = float(is_crit[pred_crit].mean()) if pred_crit.any() else float("nan")
        most = np.asarray(truth == str(order[0]))
        if most.any():
            two_low = (pred_r[most] >= true_r[most] + 2) | (pred_r[most] < 0)
            report["critical_two_low_rate"] = float(two_low.mean())
        else:
            report["critical_two_low_rate"] = float("nan")
    return report
