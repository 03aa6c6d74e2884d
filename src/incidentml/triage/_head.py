"""The per-target machinery shared by every triage classifier: one linear head and its helpers.

A *head* is one target's linear model (the SVM weights), its calibration of the decision
scores into probabilities, its decision rule (most probable label, or the expected-cost rule
for an ordinal target) and its abstention cut. :class:`~incidentml.triage.TriageClassifier`
fits one head; :class:`~incidentml.triage.TriageModel` fits one
:class:`~incidentml.triage.TriageClassifier` per target on a shared feature matrix.
This module also holds the input helpers both read tickets with, so neither copies the other.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from ._text import normalize_text

__all__: list[str] = []

#: Label vocabularies recognised as ordinal when ``ordinal="auto"``, most severe first
#: (compared case-insensitively; a target is ordinal when all its labels are on one scale).
KNOWN_PRIORITY_SCALES: tuple[tuple[str, ...], ...] = (
    ("p0", "p1", "p2", "p3", "p4", "p5"),
    ("sev0", "sev1", "sev2", "sev3", "sev4", "sev5"),
    ("sev-0", "sev-1", "sev-2", "sev-3", "sev-4", "sev-5"),
    ("blocker", "critical", "major", "minor", "trivial"),
    ("critical", "high", "medium", "moderate", "low", "planning"),
    ("urgent", "high", "normal", "low"),
    ("emergency", "urgent", "high", "normal", "low"),
    ("1 - critical", "2 - high", "3 - moderate", "4 - low", "5 - planning"),
)

_CALIBRATION_MAX_CLASSES = 30  # above this, temperature scaling (one parameter) is used
_COST_GRID: tuple[float, ...] = tuple(
    round(float(w), 2) for w in [*np.arange(1.0, 4.0, 0.1), *np.arange(4.0, 10.0, 0.5), 10, 15, 20, 30, 50])


class _Head:
    """One target's linear classifier, calibrator, decision rule and abstention cut."""

    def __init__(self, name: str | None, column: str | None, classes: np.ndarray, coef: np.ndarray,
                 intercept: np.ndarray):
        self.name = name
        self.column = column
        self.classes = classes
        self.coef = coef  # (n_classes or 1, n_features), float32
        self.intercept = intercept
        self.calibrator: LogisticRegression | None = None
        self.temperature = 1.0
        self.order: list[str] | None = None
        self.cost: np.ndarray | None = None
        self.underprediction_cost = 1.0
        self.threshold = 0.0
        self.coverage = float("nan")
        self.merged: list[str] = []
        self.report: dict[str, Any] = {}  # classification_report of the out-of-fold predictions

    def scores(self, X: Any) -> np.ndarray:
        """Raw SVM decision scores, one column per class (two columns for a binary target)."""
        s = np.asarray(X @ self.coef.T, dtype=np.float64) + self.intercept
        if s.shape[1] == 1:
            s = np.hstack([-s, s])
        return s

    def proba_from_scores(self, s: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (rows sum to 1) from :meth:`scores`."""
        if self.calibrator is not None:
            return self.calibrator.predict_proba(s)
        return softmax(s * self.temperature, axis=1)

    def logits_from_scores(self, s: np.ndarray) -> np.ndarray:
        """Calibrated logits: ``softmax`` of them is :meth:`proba_from_scores` (binary: one column)."""
        if self.calibrator is not None:
            z = self.calibrator.decision_function(s)
            return z[:, None] if z.ndim == 1 else z
        z = s * self.temperature
        return z[:, 1:] - z[:, :1] if z.shape[1] == 2 else z

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Class index per row: the most probable label, or the least expected cost (ordinal)."""
        if self.cost is None:
            return np.argmax(proba, axis=1)
        return np.argmin(proba @ self.cost, axis=1)

    def label_weights(self, j: int) -> np.ndarray:
        """The weight vector that scores label ``j`` (liblinear keeps one row for two classes)."""
        return self.coef[j] if self.coef.shape[0] > 1 else (self.coef[0] if j == 1 else -self.coef[0])


def _ordinal_cost(classes: Sequence[str], order: Sequence[str], weight: float, n_critical: int = 1) -> np.ndarray:
    """Cost of predicting column j when the truth is row i.

    0/1 loss, except that a critical incident (one of the ``n_critical`` most severe levels)
    predicted as a non-critical level costs ``weight``. Mistakes among non-critical levels
    keep cost 1, so raising the weight does not push Minor tickets up to Major.
    """
    rank = {c: i for i, c in enumerate(order)}
    r = np.array([rank[c] for c in classes], dtype=float)
    cost = (r[:, None] != r[None, :]).astype(float)
    crit_true = r[:, None] < n_critical
    crit_pred = r[None, :] < n_critical
    cost[np.broadcast_to(crit_true & ~crit_pred, cost.shape)] = weight
    return cost


def _fit_svc(X: Any, y: np.ndarray, C: float, class_weight: Any,
             seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One LinearSVC on class indices ``y``: (coef, intercept, seen class indices).

    A fold can miss rare classes, so ``seen`` says which classes the rows of ``coef`` are
    (liblinear keeps a single row for two classes). A fold with one class only gets a zero model.
    """
    seen = np.unique(y).astype(np.intp)
    if len(seen) < 2:
        return np.zeros((1, X.shape[1]), dtype=np.float32), np.zeros(1), seen
    if isinstance(class_weight, dict):
        class_weight = {k: v for k, v in class_weight.items() if k in set(seen.tolist())}
    clf = LinearSVC(C=C, class_weight=class_weight, random_state=seed, max_iter=2000, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # liblinear's ConvergenceWarning; the folds are checked by calibration
        clf.fit(X, y)
    return clf.coef_.astype(np.float32), clf.intercept_.astype(np.float64), seen


def _full_scores(X: Any, coef: np.ndarray, intercept: np.ndarray, seen: np.ndarray, n_classes: int) -> np.ndarray:
    """Decision scores in all ``n_classes`` columns; a class the model never saw scores below every other."""
    if len(seen) < 2:
        s = np.zeros((X.shape[0], 1))
    else:
        s = np.asarray(X @ coef.T, dtype=np.float64) + intercept
        if s.shape[1] == 1:
            s = np.hstack([-s, s])
    if len(seen) == n_classes:
        return s
    out = np.repeat(s.min(axis=1, keepdims=True) - 1.0, n_classes, axis=1)
    out[:, seen] = s
    return out


def _average_folds(results: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                   n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the fold models (``final_model="average"``), each class over the folds that saw it."""
    if n_classes == 2:
        full = [(c, i) for c, i, seen in results if len(seen) == 2]
        return np.mean([c for c, _ in full], axis=0), np.mean([i for _, i in full], axis=0)
    n_features = results[0][0].shape[1]
    total = np.zeros((n_classes, n_features))
    total_icpt = np.zeros(n_classes)
    n = np.zeros(n_classes)
    for coef, icpt, seen in results:
        if len(seen) < 2:
            continue
        if coef.shape[0] == 1:  # a fold with two classes: liblinear's one row scores seen[1] against seen[0]
            coef, icpt = np.vstack([-coef, coef]), np.r_[-icpt, icpt]
        total[seen] += coef
        total_icpt[seen] += icpt
        n[seen] += 1
    n = np.maximum(n, 1)
    return total / n[:, None], total_icpt / n


def _infer_order(labels: Sequence[Any]) -> list[Any] | None:
    """The labels from most to least severe when they all lie on one of :data:`KNOWN_PRIORITY_SCALES`."""
    if not all(isinstance(lab, str) for lab in labels):
        return None
    lower = {lab.strip().lower(): lab for lab in labels}
    for scale in KNOWN_PRIORITY_SCALES:
        if set(lower) <= set(scale) and len(lower) >= 2:
            return [lower[s] for s in scale if s in lower]
    return None


def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    def nll(log_t: float) -> float:
        return -float(log_softmax(scores * math.exp(log_t), axis=1)[np.arange(len(y)), y].mean())

    res = minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded")
    return float(math.exp(res.x))


# ------------------------------------------------------------------ input helpers
def _is_missing_label(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, str) and not v.strip()


def _check_true_labels(y_true: Sequence[Any], known: Sequence[Any], *, target: str, strict: bool) -> None:
    """Refuse or warn about true labels that are the model's labels only when case and spaces are ignored.

    Such labels are scored as wrong, never remapped: a warning (:class:`LabelMismatchWarning`) when they
    are a minority, a :class:`DataError` when they are more than half the labels or ``strict`` is set.
    """
    from ..exceptions import DataError, LabelMismatchWarning

    known_set = {str(k) for k in known}
    folded = {" ".join(str(k).split()).casefold(): str(k) for k in known}
    near: dict[str, str] = {}
    n_near = 0
    for v in y_true:
        s = str(v)
        if s in known_set:
            continue
        match = folded.get(" ".join(s.split()).casefold())
        if match is not None:
            n_near += 1
            near.setdefault(s, match)
    if not n_near:
        return
    share = n_near / max(len(y_true), 1)
    examples = ", ".join(f"{a!r} (model: {b!r})" for a, b in list(near.items())[:3])
    msg = (f"{n_near} of {len(y_true)} labels of target {target!r} ({share:.0%}) differ from the model's labels "
           f"only in case or spaces: {examples}. They are scored as wrong; write the labels as the model does.")
    if strict or share > 0.5:
        raise DataError(msg + ("" if strict else " (More than half the labels are like that, so the scores would "
                                                 "mean nothing.)"))
    warnings.warn(msg, LabelMismatchWarning, stacklevel=3)


def _documents(frame: pd.DataFrame, text_columns: Sequence[Any], max_chars: int) -> list[str]:
    """One normalised document per row: the non-empty text fields joined by a space."""
    if not len(text_columns):
        return [""] * len(frame)
    parts = [frame[c].tolist() for c in text_columns]
    docs = []
    for fields in zip(*parts, strict=True):
        docs.append(" ".join(t for t in (normalize_text(f, max_chars=max_chars) for f in fields) if t))
    return docs


def _structured(frame: pd.DataFrame, categorical: Sequence[Any],
                numeric: Sequence[Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
    cat = num = None
    if len(categorical):
        sub = frame[list(categorical)].astype(object)
        cat = sub.where(sub.notna(), "__missing__").astype(str).to_numpy()
    if len(numeric):
        num = np.column_stack([pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float) for c in numeric])
    return cat, num


def _to_float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _ngram_range(value: Any) -> bool:
    return (isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) and v >= 1 for v in value)
            and value[0] <= value[1])


_ngram_range.description = "a tuple (min_n, max_n) of ints with 1 <= min_n <= max_n"  # type: ignore[attr-defined]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    return str(obj)
