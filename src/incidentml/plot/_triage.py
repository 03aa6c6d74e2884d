"""Triage quality plots: the confusion matrix, precision against coverage, and reliability."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import Interval, Options
from ..evaluation import abstention_threshold, expected_calibration_error
from ..exceptions import DataError
from ._common import as_1d, check_params, new_axes, same_length

__all__ = ["confusion_matrix", "precision_coverage", "reliability_diagram"]


def _labels_pair(y_true: Any, y_pred: Any, func: str) -> tuple[np.ndarray, np.ndarray]:
    yt = as_1d(y_true, "y_true", func).astype(object)
    yp = as_1d(y_pred, "y_pred", func).astype(object)
    same_length(func, y_true=yt, y_pred=yp)
    return yt, yp


def _confidence(confidence: Any, n: int, func: str) -> np.ndarray:
    conf = as_1d(confidence, "confidence", func).astype(float)
    if len(conf) != n:
        raise DataError(f"{func}: y_true, y_pred, confidence must have the same length; y_true has {n}, "
                        f"confidence has {len(conf)}. Pass one confidence per ticket.")
    bad = ~np.isfinite(conf) | (conf < 0) | (conf > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{func}: confidence must lie in [0, 1]; got {conf[i]!r} at position {i}. "
                        "Pass the top-label probabilities (e.g. predict_proba's row maximum).")
    return conf


def confusion_matrix(y_true: Any, y_pred: Any, *, labels: Sequence[Any] | None = None,
                     normalize: str | None = "true", ax: Any = None) -> Any:
    """A confusion matrix as a heat map, with the value written in each cell.

    Parameters
    ----------
    y_true, y_pred : sequence, shape (n,)
        True and predicted labels (e.g. a column of :meth:`TriageModel.predict
        <incidentml.TriageModel.predict>`).
    labels : sequence, optional
        Labels and their order (default: every label seen, sorted).
    normalize : {"true", "pred", "all"} or None, default="true"
        Divide by the rows (recall per true label), the columns (precision per predicted label),
        everything, or not at all (counts).
    ax : matplotlib Axes, optional
        Where to draw; by default a new Figure (not pyplot) with one Axes.

    Returns
    -------
    matplotlib Axes
        True labels on the y axis, predicted on the x axis.

    Raises
    ------
    DataError
        Empty input or lengths that differ, or ``labels`` naming no label of the data.
    InvalidParameterError
        ``normalize`` is not one of its options.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = confusion_matrix(["db", "db", "net", "app"], ["db", "net", "net", "app"])
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['app', 'db', 'net']
    >>> ax.texts[4].get_text()
    '0.50'
    """
    func = "confusion_matrix"
    check_params(func, {"normalize": [Options(("true", "pred", "all")), None]}, {"normalize": normalize})
    yt, yp = _labels_pair(y_true, y_pred, func)
    if labels is None:
        order = sorted(set(yt) | set(yp), key=str)
    else:
        order = list(labels)
        if not (set(order) & (set(yt) | set(yp))):
            raise DataError(f"{func}: labels={order!r} names no label of y_true or y_pred "
                            f"(seen: {sorted(set(yt) | set(yp), key=str)!r}).")
    index = {lab: i for i, lab in enumerate(order)}
    k = len(order)
    counts = np.zeros((k, k))
    for a, b in zip(yt, yp, strict=True):
        if a in index and b in index:
            counts[index[a], index[b]] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        if normalize == "true":
            mat = counts / counts.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            mat = counts / counts.sum(axis=0, keepdims=True)
        elif normalize == "all":
            mat = counts / counts.sum()
        else:
            mat = counts
    mat = np.nan_to_num(mat)
    # a new figure grows with the labels so that every cell's number stays readable
    ax = new_axes(ax, func, figsize=(min(4.0 + 0.6 * k, 16.0), min(3.0 + 0.5 * k, 14.0)))
    image = ax.imshow(mat, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.figure.colorbar(image, ax=ax)
    top = mat.max() if mat.size else 0
    for i in range(k):
        for j in range(k):
            text = f"{mat[i, j]:.2f}" if normalize else f"{int(mat[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize="small",
                    color="white" if mat[i, j] > 0.6 * top else "black")
    ax.set_xticks(range(k), [str(lab) for lab in order], rotation=45, ha="right")
    ax.set_yticks(range(k), [str(lab) for lab in order])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    what = {"true": " (share of each true label)", "pred": " (share of each prediction)",
            "all": " (share of all)", None: " (counts)"}[normalize]
    ax.set_title("Confusion matrix" + what)
    return ax


def precision_coverage(y_true: Any, y_pred: Any, confidence: Any, *, target_precision: float | None = None,
                       ax: Any = None) -> Any:
    """Precision of the decided tickets against the share decided, sweeping the confidence cut.

    Tickets whose confidence is at least the cut are decided, the rest go to a human. Each cut
    gives one point: coverage (share decided) on x, precision of the decided on y. With
    ``target_precision``, a horizontal line marks it and a dot marks the cut that
    :func:`incidentml.evaluation.abstention_threshold` picks (the largest coverage reaching it).

    Parameters
    ----------
    y_true, y_pred : sequence, shape (n,)
        True and predicted labels.
    confidence : sequence of float, shape (n,)
        Confidence of each prediction, in [0, 1].
    target_precision : float in (0, 1], optional
        The precision the abstention cut must reach.
    ax : matplotlib Axes, optional
        Where to draw; by default a new Figure (not pyplot) with one Axes.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    DataError
        Empty input, lengths that differ, or a confidence outside [0, 1].
    InvalidParameterError
        ``target_precision`` outside (0, 1].

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = precision_coverage(["a", "a", "b", "b"], ["a", "b", "b", "b"], [0.9, 0.4, 0.8, 0.7],
    ...                         target_precision=0.9)
    >>> ax.lines[0].get_ydata().tolist()
    [1.0, 1.0, 1.0, 0.75]
    """
    func = "precision_coverage"
    check_params(func, {"target_precision": [None, Interval(float, 0, 1, closed="right")]},
                 {"target_precision": target_precision})
    yt, yp = _labels_pair(y_true, y_pred, func)
    conf = _confidence(confidence, len(yt), func)
    correct = (yt == yp).astype(float)
    order = np.argsort(-conf, kind="stable")
    cs = conf[order]
    precision = np.cumsum(correct[order]) / np.arange(1, len(cs) + 1)
    last_of_run = np.r_[cs[1:] != cs[:-1], True]
    coverage = (np.arange(1, len(cs) + 1) / len(cs))[last_of_run]
    precision = precision[last_of_run]
    ax = new_axes(ax, func)
    ax.plot(coverage, precision, marker=".", drawstyle="steps-post", label="decided tickets")
    if target_precision is not None:
        ax.axhline(target_precision, color="tab:red", ls="--", lw=0.9, label=f"target {target_precision:g}")
        cut = abstention_threshold(correct, conf, target_precision=target_precision)
        if np.isfinite(cut):
            decided = conf >= cut
            ax.plot([decided.mean()], [correct[decided].mean()], "o", color="tab:red",
                    label=f"cut {cut:.2f}: {100 * decided.mean():.0f}% decided")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(min(0.0, float(precision.min())) - 0.02, 1.02)
    ax.set_xlabel("coverage (share of tickets decided)")
    ax.set_ylabel("precision of decided tickets")
    ax.set_title("Precision against coverage")
    ax.legend(loc="lower left", fontsize="small")
    return ax


def reliability_diagram(y_true: Any, y_pred: Any, confidence: Any, *, n_bins: int = 10, ax: Any = None) -> Any:
    """Accuracy per confidence bin against the diagonal, with the count of each bin and the ECE.

    Bins are the equal-width bins of :func:`incidentml.evaluation.expected_calibration_error`
    (whose value is in the title). A bar above the diagonal is under-confident, below it
    over-confident; empty bins get no bar.

    Parameters
    ----------
    y_true, y_pred : sequence, shape (n,)
        True and predicted labels.
    confidence : sequence of float, shape (n,)
        Confidence of each prediction, in [0, 1].
    n_bins : int, default=10
        Number of bins of [0, 1].
    ax : matplotlib Axes, optional
        Where to draw; by default a new Figure (not pyplot) with one Axes.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    DataError
        Empty input, lengths that differ, or a confidence outside [0, 1].
    InvalidParameterError
        ``n_bins`` below 1.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = reliability_diagram(["a", "a", "b", "b"], ["a", "b", "b", "b"], [0.9, 0.9, 0.6, 0.6], n_bins=5)
    >>> ax.get_title()
    'Reliability (ECE = 0.400, n = 4)'
    >>> len(ax.patches)
    2
    """
    func = "reliability_diagram"
    check_params(func, {"n_bins": [Interval(int, 1, None)]}, {"n_bins": n_bins})
    yt, yp = _labels_pair(y_true, y_pred, func)
    conf = _confidence(confidence, len(yt), func)
    correct = (yt == yp).astype(float)
    ece = expected_calibration_error(correct, conf, n_bins=n_bins)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    width = 1.0 / n_bins
    ax = new_axes(ax, func)
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=0.9, label="perfect calibration")
    centers, accuracy, counts = [], [], []
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            centers.append((b + 0.5) * width)
            accuracy.append(float(correct[mask].mean()))
            counts.append(int(mask.sum()))
    bars = ax.bar(centers, accuracy, width=width * 0.9, color="tab:blue", alpha=0.7, edgecolor="tab:blue",
                  label="accuracy")
    ax.bar_label(bars, labels=[f"n={c}" for c in counts], fontsize="x-small", padding=2)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability (ECE = {ece:.3f}, n = {len(conf)})")
    ax.legend(loc="upper left", fontsize="small")
    return ax
