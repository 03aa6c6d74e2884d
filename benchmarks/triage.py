"""Triage benchmark: TriageModel against the TF-IDF + LinearSVC baseline, measured in the same run.

Implements sections 3 (triage metrics) and 4 (speed) of ``shared/docs/evaluation.md`` on two
real ticket sets that live outside this repository:

* Endava IT helpdesk tickets (``datasets/tickets/endava_it_tickets``): 8-way category
  (``Topic_group``), stratified 80/20 split. Metrics, training time, batch predictions per
  second and single-ticket ``predict_one`` latency (p50/p99).
* Apache JIRA bug reports (``datasets/tickets/apache_jira_bugs``): ordinal priority
  (Blocker..Trivial, Blocker+Critical = "critical") and component routing
  (``project/first component``), each on a stratified 80/20 split and on a time split
  (oldest 80% by ``created`` for training, newest 20% for testing).

For every task the baseline is fitted and scored in the same process, and both are measured
with :func:`incidentml.evaluation.classification_report`, so the numbers are comparable.
Baseline: word 1-2-gram TF-IDF (min_df 2, sublinear tf) + char_wb 3-5-gram TF-IDF (min_df 3,
sublinear tf, max_features 300k), stacked, ``LinearSVC(C=1)``; for priority also with
``class_weight="balanced"``. The baseline has no probabilities: its "confidence" is the softmax of
its decision scores, and its abstention cut (coverage at 90% precision) is chosen on 3-fold
out-of-fold scores of its own training split, never on the test split.

Run it from the repository root::

    make bench                                   # runs every benchmark, including this one:
    python benchmarks/triage.py --json benchmarks/results/triage.json
    python benchmarks/triage.py --quick          # small subsample, a smoke run of a few minutes

Options: ``--json PATH`` writes all results (machine, per-task metrics of model and baseline,
timings, goals and whether each was met); ``--shared DIR`` is the folder holding
``datasets/tickets/...`` (default: ``../shared`` next to the repository). If the data is missing
the script exits with status 2. The JIRA data is only read, never copied: the JSON holds metrics
only (no text, no user names).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import resource
import sys
import time
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy
import scipy.sparse as sp
import sklearn
from joblib import Parallel, delayed
from scipy.special import softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.svm import LinearSVC

from incidentml import TriageModel
from incidentml.evaluation import (
    abstention_threshold,
    classification_report,
    expected_calibration_error,
    top_k_accuracy,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info as _machine_info  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ENDAVA = Path("datasets/tickets/endava_it_tickets/all_tickets_processed_improved_v3.csv")
JIRA = Path("datasets/tickets/apache_jira_bugs/apache_jira_bugs.csv.gz")
PRIORITY_ORDER = ["Blocker", "Critical", "Major", "Minor", "Trivial"]
SEED = 0
N_JOBS = 2
TARGET_PRECISION = 0.9
BASELINE_DESC_CHARS = 2000  # baseline text = summary + "\n" + description[:2000], as in the data README
COMPONENT_MIN_ROWS = 20
_STACK_TRACE = re.compile(r"(?m)^\s*at\s+[\w$.<>]+\(|Exception in thread|^\s*Caused by:")

STAGES: dict[str, float] = {}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Stage:
    """Wall-clock seconds of one stage, recorded in STAGES."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> Stage:
        log(f"start {self.name}")
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.t0
        STAGES[self.name] = round(self.seconds, 3)
        log(f"done  {self.name}: {self.seconds:.1f} s")


# ---------------------------------------------------------------------------------------------- baseline
class BaselineFeatures:
    """The baseline's word + char TF-IDF, fitted once per split and shared by its SVC variants."""

    params = {"word": {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True},
              "char": {"analyzer": "char_wb", "ngram_range": (3, 5), "min_df": 3, "sublinear_tf": True,
                       "max_features": 300_000}}

    def fit_transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        self.word = TfidfVectorizer(**self.params["word"])
        self.char = TfidfVectorizer(**self.params["char"])
        return sp.hstack([self.word.fit_transform(docs), self.char.fit_transform(docs)], format="csr")

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        return sp.hstack([self.word.transform(docs), self.char.transform(docs)], format="csr")


def _fit_svc(X: Any, y: np.ndarray, class_weight: Any) -> LinearSVC:
    clf = LinearSVC(C=1.0, class_weight=class_weight, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    return clf


class Baseline:
    """LinearSVC on BaselineFeatures; confidence = softmax of decision scores."""

    def __init__(self, features: BaselineFeatures, class_weight: Any = None):
        self.features = features
        self.class_weight = class_weight

    def fit(self, X: Any, y: np.ndarray) -> Baseline:
        self.clf = _fit_svc(X, y, self.class_weight)
        self.classes = [str(c) for c in self.clf.classes_]
        return self

    def choose_cut(self, X: Any, y: np.ndarray, cv: int = 3) -> float:
        """Abstention cut reaching TARGET_PRECISION on out-of-fold scores of the training split."""
        _, counts = np.unique(y, return_counts=True)
        n_splits = int(max(2, min(cv, counts.min())))
        folds = list(StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=SEED).split(np.zeros(len(y)), y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = Parallel(n_jobs=N_JOBS, prefer="threads")(
                delayed(_fit_svc)(X[tr], y[tr], self.class_weight) for tr, _ in folds)
        correct = np.zeros(len(y), dtype=bool)
        conf = np.zeros(len(y))
        for (_, va), clf in zip(folds, fitted, strict=True):
            s = _scores(clf, X[va])
            p = softmax(s, axis=1)
            correct[va] = clf.classes_[p.argmax(axis=1)] == y[va]
            conf[va] = p.max(axis=1)
        self.threshold = abstention_threshold(correct, conf, target_precision=TARGET_PRECISION)
        self.validation_coverage = float((conf >= self.threshold).mean())
        return self.threshold

    def predict(self, docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Labels, softmax 'probabilities' and raw decision scores (columns = self.classes)."""
        s = _scores(self.clf, self.features.transform(docs))
        p = softmax(s, axis=1)
        return np.asarray(self.classes, dtype=object)[p.argmax(axis=1)], p, s


def _scores(clf: LinearSVC, X: Any) -> np.ndarray:
    s = clf.decision_function(X)
    if s.ndim == 1:
        s = np.column_stack([-s, s])
    return s


# ---------------------------------------------------------------------------------------------- metrics
def report(y_true: Sequence[str], y_pred: Sequence[str], proba: np.ndarray, classes: Sequence[str],
           abstain: np.ndarray | None, order: Sequence[str] | None = None, n_critical: int = 1,
           confidence: np.ndarray | None = None, ranking: np.ndarray | None = None,
           per_class: bool = True) -> dict[str, Any]:
    """classification_report plus top-5, and extras applied identically to model and baseline."""
    y_true = [str(v) for v in y_true]
    y_pred = np.asarray([str(v) for v in y_pred], dtype=object)
    r = classification_report(y_true, y_pred, proba=proba, classes=list(classes), abstain=abstain,
                              order=order, n_critical=n_critical)
    rank_by = proba if ranking is None else ranking
    r["top5_accuracy"] = top_k_accuracy(y_true, rank_by, list(classes), k=5)
    if ranking is not None:  # the baseline: top-k from decision scores (same ranking as the softmax)
        r["top3_accuracy"] = top_k_accuracy(y_true, ranking, list(classes), k=3)
    correct = y_pred == np.asarray(y_true, dtype=object)
    if confidence is not None:
        # ECE of the confidence attached to the *predicted* label; classification_report uses the
        # max probability, which differs when an ordinal cost rule predicts a non-argmax label
        r["ece_of_predicted_label_confidence"] = expected_calibration_error(correct, confidence)
    if order is not None:
        rank = {c: i for i, c in enumerate(order)}
        crit = set(order[:n_critical])
        t = np.array([rank.get(v, -1) for v in y_true])
        p = np.array([rank.get(v, -1) for v in y_pred])
        is_crit = np.isin(np.asarray(y_true, dtype=object), list(crit))
        if is_crit.any():
            r["critical_any_two_low_rate"] = float(((p[is_crit] >= t[is_crit] + 2) | (p[is_crit] < 0)).mean())
        r["most_severe_recall"] = r["per_class_recall"].get(order[0], float("nan"))
        r["predicted_critical_share"] = float(np.isin(y_pred, list(crit)).mean())
    if not per_class:
        r.pop("per_class_recall", None)
    return r


def model_eval(model: TriageModel, name: str, test: pd.DataFrame, label_col: str, order: Sequence[str] | None = None,
               n_critical: int = 1, per_class: bool = True) -> tuple[dict[str, Any], dict[str, float]]:
    t0 = time.perf_counter()
    pred = model.predict(test)
    t_pred = time.perf_counter() - t0
    t0 = time.perf_counter()
    proba = model.predict_proba(test)[name]
    t_proba = time.perf_counter() - t0
    r = report(test[label_col].astype(str).tolist(), pred[name].to_numpy(), proba.to_numpy(), list(proba.columns),
               pred[f"{name}_abstain"].to_numpy(), order=order, n_critical=n_critical,
               confidence=pred[f"{name}_confidence"].to_numpy(), per_class=per_class)
    return r, {"predict_seconds": round(t_pred, 3), "predict_proba_seconds": round(t_proba, 3),
               "predictions_per_second": round(len(test) / t_pred, 1)}


def baseline_eval(bl: Baseline, docs: Sequence[str], y_true: Sequence[str], order: Sequence[str] | None = None,
                  n_critical: int = 1, per_class: bool = True) -> tuple[dict[str, Any], dict[str, float]]:
    t0 = time.perf_counter()
    pred, proba, scores = bl.predict(docs)
    t_pred = time.perf_counter() - t0
    abstain = proba.max(axis=1) < bl.threshold if hasattr(bl, "threshold") else None
    r = report(y_true, pred, proba, bl.classes, abstain, order=order, n_critical=n_critical,
               confidence=proba.max(axis=1), ranking=scores, per_class=per_class)
    if abstain is None:
        r["coverage_note"] = "no abstention cut chosen for this baseline (not required for this task)"
    return r, {"predict_seconds": round(t_pred, 3), "predictions_per_second": round(len(docs) / t_pred, 1)}


def model_summary(model: TriageModel, name: str) -> dict[str, Any]:
    val = dict(model.validation_metrics_.get(name, {}))
    val.pop("per_class_recall", None)
    return {"fit_seconds_reported_by_model": round(float(model.fit_seconds_), 3),
            "n_features": int(model.n_features_in_),
            "n_classes": len(model.classes_[name]),
            "abstention_threshold": float(model.thresholds_[name]),
            "validation_coverage": float(model.coverage_[name]),
            "underprediction_cost": model.underprediction_cost_.get(name),
            "merged_rare_labels": len(model.heads_[name].merged) if hasattr(model, "heads_") else None,
            "validation_metrics": val}


def goal(value: float, op: str, target: float, what: str) -> dict[str, Any]:
    ok = bool(value is not None and not (isinstance(value, float) and math.isnan(value))
              and (value >= target if op == ">=" else value < target))
    return {"what": what, "value": value, "op": op, "target": target, "met": ok}


# ---------------------------------------------------------------------------------------------- data
def load_endava(shared: Path) -> pd.DataFrame:
    df = pd.read_csv(shared / ENDAVA)
    return df[["Document", "Topic_group"]].dropna().reset_index(drop=True)


def load_jira(shared: Path) -> pd.DataFrame:
    df = pd.read_csv(shared / JIRA, keep_default_na=False, na_values=[""])
    df["created_ts"] = pd.to_datetime(df["created"], utc=True, format="%Y-%m-%dT%H:%M:%S.%f%z")
    df = df.sort_values(["created_ts", "issue_key"], kind="stable").reset_index(drop=True)
    desc = df["description"].fillna("").astype(str)
    # structured fields known when the bug is filed (no resolution, status, fix_versions, dates, assignee)
    df["f_project"] = df["project"].astype(str)
    df["f_reporter"] = df["reporter"].fillna("__none__").astype(str)
    df["f_has_environment"] = df["environment"].notna().astype(np.int64)
    # capped at 3: the raw count has outliers (z-score up to ~19 once the model standardises it), which
    # makes liblinear's dual solver need ~15x more iterations (see the report); "3" means "3 or more"
    df["f_n_affects_versions"] = df["affects_versions"].fillna("").astype(str).map(
        lambda s: min(3, len([v for v in s.split("|") if v.strip()]))).astype(np.int64)
    df["f_has_labels"] = df["labels"].notna().astype(np.int64)
    df["f_log_description_chars"] = np.log1p(desc.str.len().to_numpy(dtype=float))
    df["f_has_stack_trace"] = desc.str.contains(_STACK_TRACE).astype(np.int64)
    df["baseline_text"] = df["summary"].fillna("").astype(str) + "\n" + desc.str.slice(0, BASELINE_DESC_CHARS)
    return df


PRIORITY_FEATURES = ["f_project", "f_reporter", "f_has_environment", "f_n_affects_versions", "f_has_labels",
                     "f_log_description_chars", "f_has_stack_trace"]


def splits(df: pd.DataFrame, label: str, time_split: bool) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    tr, te = train_test_split(df, test_size=0.2, random_state=SEED, stratify=df[label])
    out = {"stratified": (tr.reset_index(drop=True), te.reset_index(drop=True))}
    if time_split:  # df is sorted by created
        cut = int(round(len(df) * 0.8))
        out["time"] = (df.iloc[:cut].reset_index(drop=True), df.iloc[cut:].reset_index(drop=True))
    return out


# ---------------------------------------------------------------------------------------------- tasks
def task_endava(shared: Path, quick: bool) -> dict[str, Any]:
    with Stage("endava: load"):
        df = load_endava(shared)
        if quick:
            df = df.sample(n=min(5000, len(df)), random_state=SEED).reset_index(drop=True)
    train, test = splits(df, "Topic_group", time_split=False)["stratified"]
    y_tr = train["Topic_group"].astype(str).to_numpy(dtype=object)
    y_te = test["Topic_group"].astype(str).tolist()
    res: dict[str, Any] = {"data": {"rows": len(df), "train_rows": len(train), "test_rows": len(test),
                                    "classes": int(df["Topic_group"].nunique()), "split": "stratified 80/20, random_state=0"}}

    model = TriageModel(n_jobs=N_JOBS, random_state=SEED, progress=False)
    with Stage("endava: model fit") as st:
        model.fit(train, text=["Document"], targets={"category": "Topic_group"})
    model_fit = st.seconds
    with Stage("endava: baseline fit") as st:
        feats = BaselineFeatures()
        Xtr = feats.fit_transform(train["Document"].tolist())
        bl = Baseline(feats).fit(Xtr, y_tr)
    baseline_fit = st.seconds
    with Stage("endava: baseline abstention cut (3-fold OOF on train)") as st:
        bl.choose_cut(Xtr, y_tr)
    baseline_cut = st.seconds

    with Stage("endava: evaluate"):
        m_rep, m_t = model_eval(model, "category", test, "Topic_group")
        b_rep, b_t = baseline_eval(bl, test["Document"].tolist(), y_te)
        # consistency check: the library's own evaluate() must agree with the numbers above
        ev = model.evaluate(test)["category"]
        consistency = {k: bool(abs(ev[k] - m_rep[k]) < 1e-9) for k in ("accuracy", "macro_f1", "coverage", "ece",
                                                                         "top3_accuracy")}

    with Stage("endava: batch throughput"):
        docs = test["Document"].tolist()
        m_runs, b_runs = [m_t["predictions_per_second"]], [b_t["predictions_per_second"]]
        for _ in range(2):  # interleaved repeats: the machine is shared and noisy
            t0 = time.perf_counter()
            model.predict(test)
            m_runs.append(round(len(test) / (time.perf_counter() - t0), 1))
            t0 = time.perf_counter()
            bl.predict(docs)
            b_runs.append(round(len(test) / (time.perf_counter() - t0), 1))

    with Stage("endava: single-ticket latency"):
        n_lat = min(100 if quick else 500, len(test))
        warm = docs[:20]
        for d in warm:
            model.predict_one(d)
            bl.predict([d])
        lat_m, lat_b = [], []
        for d in docs[:n_lat]:
            t0 = time.perf_counter()
            model.predict_one(d)
            lat_m.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            bl.predict([d])
            lat_b.append((time.perf_counter() - t0) * 1000)

    def pct(v: list[float], q: float) -> float:
        return round(float(np.percentile(v, q)), 3)

    speed = {
        "training_seconds": {"model": round(model_fit, 2), "baseline": round(baseline_fit, 2),
                             "baseline_abstention_cut_extra": round(baseline_cut, 2),
                             "ratio_model_over_baseline": round(model_fit / baseline_fit, 3)},
        "batch_predictions_per_second": {
            "model_best": max(m_runs), "baseline_best": max(b_runs), "model_runs": m_runs, "baseline_runs": b_runs,
            "ratio_model_over_baseline": round(max(m_runs) / max(b_runs), 3), "test_rows": len(test),
            "note": "best of 3 interleaved runs over the whole test split; model = TriageModel.predict, "
                    "baseline = vectorise + decision_function + softmax"},
        "single_ticket_latency_ms": {
            "tickets": n_lat, "warmup_calls": len(warm),
            "model_predict_one": {"p50": pct(lat_m, 50), "p99": pct(lat_m, 99), "mean": round(float(np.mean(lat_m)), 3)},
            "baseline_one_row": {"p50": pct(lat_b, 50), "p99": pct(lat_b, 99), "mean": round(float(np.mean(lat_b)), 3)},
        },
    }
    res.update({
        "model": {"params": {k: v for k, v in model.get_params().items()}, "metrics": m_rep, "timing": m_t,
                  "fit": model_summary(model, "category"), "evaluate_agrees_with_benchmark": consistency},
        "baseline": {"metrics": b_rep, "timing": b_t, "abstention_threshold": bl.threshold,
                     "validation_coverage": bl.validation_coverage},
        "speed": speed,
        "goals": {
            "macro_f1_at_least_0.88": goal(m_rep["macro_f1"], ">=", 0.88, "model macro-F1 on the test split"),
            "macro_f1_not_below_baseline": goal(m_rep["macro_f1"], ">=", b_rep["macro_f1"],
                                                "model macro-F1 >= baseline macro-F1 (same run)"),
            "coverage_at_90_precision_at_least_0.80": goal(m_rep["coverage"], ">=", 0.80,
                                                           "share of test tickets decided (cut chosen on validation "
                                                           f"folds); decided precision on test = "
                                                           f"{m_rep['decided_precision']:.3f}"),
            "training_under_60_s": goal(model_fit, "<", 60.0, "TriageModel.fit wall-clock seconds"),
            "batch_predict_not_slower_than_baseline": goal(max(m_runs), ">=", max(b_runs),
                                                           "model predictions/s >= baseline predictions/s"),
        },
    })
    return res


def task_priority(df: pd.DataFrame, quick: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"data": {"rows": len(df), "classes": PRIORITY_ORDER, "critical": PRIORITY_ORDER[:2],
                                    "text": ["summary", "description"], "features": PRIORITY_FEATURES,
                                    "feature_notes": "f_n_affects_versions is capped at 3 (3 = three or more); "
                                                     "f_log_description_chars = log1p(len(description)); "
                                                     "f_has_stack_trace = Java frame / 'Exception in thread' / "
                                                     "'Caused by:' in the description",
                                    "baseline_text": f"summary + newline + description[:{BASELINE_DESC_CHARS}]"},
                           "splits": {}, "goals": {}}
    for split, (train, test) in splits(df, "priority", time_split=True).items():
        tag = f"priority/{split}"
        y_tr = train["priority"].astype(str).to_numpy(dtype=object)
        y_te = test["priority"].astype(str).tolist()
        timings: dict[str, float] = {}
        # C and class weights were chosen on a validation split inside the training part (never on test)
        model = TriageModel(ordinal={"priority": PRIORITY_ORDER}, n_critical=2, critical_recall=0.5,
                            C=0.1, class_weight="balanced", n_jobs=N_JOBS, random_state=SEED, progress=False)
        with Stage(f"{tag}: model fit") as st, warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            model.fit(train, text=["summary", "description"], targets={"priority": "priority"},
                      features=PRIORITY_FEATURES)
        timings["model_fit"] = st.seconds
        with Stage(f"{tag}: baseline fit (vectorise + 2 SVCs)") as st:
            t0 = time.perf_counter()
            feats = BaselineFeatures()
            Xtr = feats.fit_transform(train["baseline_text"].tolist())
            t_vec = time.perf_counter() - t0
            bls = {}
            for cw_name, cw in (("none", None), ("balanced", "balanced")):
                t0 = time.perf_counter()
                bls[cw_name] = Baseline(feats, cw).fit(Xtr, y_tr)
                timings[f"baseline_{cw_name}_fit"] = t_vec + time.perf_counter() - t0
        with Stage(f"{tag}: baseline abstention cuts") as st:
            for b in bls.values():
                b.choose_cut(Xtr, y_tr)
        timings["baseline_abstention_cuts"] = st.seconds
        with Stage(f"{tag}: evaluate"):
            m_rep, m_t = model_eval(model, "priority", test, "priority", order=PRIORITY_ORDER, n_critical=2)
            b_reps = {}
            for cw_name, b in bls.items():
                b_reps[cw_name], bt = baseline_eval(b, test["baseline_text"].tolist(), y_te, order=PRIORITY_ORDER,
                                                    n_critical=2)
                b_reps[cw_name]["timing"] = bt
        out["splits"][split] = {
            "train_rows": len(train), "test_rows": len(test),
            "test_distribution": test["priority"].value_counts().to_dict(),
            "model": {"metrics": m_rep, "timing": m_t, "fit": model_summary(model, "priority"),
                      "fit_warnings": [str(x.message)[:200] for x in w]},
            "baseline": {k: {"metrics": v, "abstention_threshold": bls[k].threshold,
                             "validation_coverage": bls[k].validation_coverage} for k, v in b_reps.items()},
            "timings_seconds": {k: round(v, 2) for k, v in timings.items()},
        }
        out["goals"][f"{split}: B+C recall >= 0.45"] = goal(m_rep["critical_recall"], ">=", 0.45,
                                                            "Blocker+Critical recall (predicted as either)")
        out["goals"][f"{split}: macro-F1 >= balanced baseline"] = goal(
            m_rep["macro_f1"], ">=", b_reps["balanced"]["macro_f1"], "model macro-F1 >= class_weight='balanced' "
            "baseline macro-F1 (same run)")
    return out


def task_component(df: pd.DataFrame, quick: bool) -> dict[str, Any]:
    d = df[df["components"].notna()].copy()
    d["route"] = d["f_project"] + "/" + d["components"].astype(str).str.split("|").str[0].str.strip()
    counts = d["route"].value_counts()
    d = d[d["route"].isin(counts.index[counts >= COMPONENT_MIN_ROWS])].reset_index(drop=True)
    out: dict[str, Any] = {"data": {"rows": len(d), "labels": int(d["route"].nunique()),
                                    "label": "project/first component, labels with >= 20 rows",
                                    "features": ["project"]}, "splits": {}, "comparisons": {}}
    for split, (train, test) in splits(d, "route", time_split=True).items():
        tag = f"component/{split}"
        y_tr = train["route"].astype(str).to_numpy(dtype=object)
        y_te = test["route"].astype(str).tolist()
        timings: dict[str, float] = {}
        model = TriageModel(ordinal=None, n_jobs=N_JOBS, random_state=SEED, progress=False)
        with Stage(f"{tag}: model fit") as st, warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            model.fit(train, text=["summary", "description"], targets={"component": "route"}, features=["f_project"])
        timings["model_fit"] = st.seconds
        with Stage(f"{tag}: baseline fit") as st:
            feats = BaselineFeatures()
            bl = Baseline(feats).fit(feats.fit_transform(train["baseline_text"].tolist()), y_tr)
        timings["baseline_fit"] = st.seconds
        with Stage(f"{tag}: evaluate"):
            m_rep, m_t = model_eval(model, "component", test, "route", per_class=False)
            b_rep, b_t = baseline_eval(bl, test["baseline_text"].tolist(), y_te, per_class=False)
        unseen = float(np.mean(~np.isin(np.asarray(y_te, dtype=object), np.unique(y_tr))))
        out["splits"][split] = {
            "train_rows": len(train), "test_rows": len(test), "test_labels_unseen_in_train_share": round(unseen, 4),
            "model": {"metrics": m_rep, "timing": m_t, "fit": model_summary(model, "component"),
                      "fit_warnings": [str(x.message)[:120] for x in w][:5]},
            "baseline": {"metrics": b_rep, "timing": b_t},
            "timings_seconds": {k: round(v, 2) for k, v in timings.items()},
        }
        for k in ("accuracy", "top5_accuracy", "macro_f1"):
            out["comparisons"][f"{split}: model {k} >= baseline"] = goal(m_rep[k], ">=", b_rep[k],
                                                                         f"{k} against the same-run baseline")
    return out


# ---------------------------------------------------------------------------------------------- output
def machine_info() -> dict[str, Any]:
    return _machine_info(**{"scikit-learn": sklearn.__version__, "scipy": scipy.__version__, "n_jobs": N_JOBS})


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    return str(o)


def _clean(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (float, np.floating)):
        f = float(o)
        return round(f, 6) if math.isfinite(f) else None
    return o


def f3(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def print_tables(res: dict[str, Any]) -> None:
    cols = ["accuracy", "macro_f1", "top3_accuracy", "top5_accuracy", "ece", "coverage", "decided_precision"]
    head = f"{'task / split':34} {'system':22} " + " ".join(f"{c[:9]:>9}" for c in
                                                           ["acc", "macroF1", "top3", "top5", "ECE", "coverage",
                                                            "dec.prec"])
    print("\n" + head)
    print("-" * len(head))

    def row(task: str, system: str, m: dict[str, Any]) -> None:
        print(f"{task:34} {system:22} " + " ".join(f"{f3(m.get(c)):>9}" for c in cols))

    t = res["tasks"]
    if "endava_category" in t:
        e = t["endava_category"]
        row("endava category / stratified", "TriageModel", e["model"]["metrics"])
        row("", "baseline LinearSVC", e["baseline"]["metrics"])
    if "jira_priority" in t:
        for split, s in t["jira_priority"]["splits"].items():
            row(f"jira priority / {split}", "TriageModel", s["model"]["metrics"])
            for k, b in s["baseline"].items():
                row("", f"baseline cw={k}", b["metrics"])
    if "jira_component" in t:
        for split, s in t["jira_component"]["splits"].items():
            row(f"jira component / {split}", "TriageModel", s["model"]["metrics"])
            row("", "baseline LinearSVC", s["baseline"]["metrics"])

    if "jira_priority" in t:
        print("\nPriority (critical = Blocker + Critical)")
        h = f"{'split':12} {'system':22} {'B+C rec':>8} {'B+C prec':>8} {'Blk rec':>8} {'Blk 2low':>8} " \
            f"{'B+C 2low':>8} {'Crit rec':>8} {'Minor r':>8} {'Triv r':>8} {'cost w':>7}"
        print(h)
        print("-" * len(h))
        for split, s in t["jira_priority"]["splits"].items():
            systems = [("TriageModel", s["model"]["metrics"], s["model"]["fit"]["underprediction_cost"])]
            systems += [(f"baseline cw={k}", b["metrics"], None) for k, b in s["baseline"].items()]
            for name, m, w in systems:
                pcr = m.get("per_class_recall", {})
                print(f"{split:12} {name:22} {f3(m.get('critical_recall')):>8} {f3(m.get('critical_precision')):>8} "
                      f"{f3(pcr.get('Blocker')):>8} {f3(m.get('critical_two_low_rate')):>8} "
                      f"{f3(m.get('critical_any_two_low_rate')):>8} {f3(pcr.get('Critical')):>8} "
                      f"{f3(pcr.get('Minor')):>8} {f3(pcr.get('Trivial')):>8} {f3(w):>7}")

    if "endava_category" in t:
        sp_ = t["endava_category"]["speed"]
        print(f"\nSpeed (Endava, {res['machine']['cores']} cores; model / baseline)")
        tr = sp_["training_seconds"]
        print(f"  training s          : {tr['model']:.1f} / {tr['baseline']:.1f}  (ratio {tr['ratio_model_over_baseline']:.2f};"
              f" baseline abstention cut +{tr['baseline_abstention_cut_extra']:.1f} s)")
        bp = sp_["batch_predictions_per_second"]
        print(f"  batch predictions/s : {bp['model_best']:.0f} / {bp['baseline_best']:.0f}  "
              f"(ratio {bp['ratio_model_over_baseline']:.2f}, best of {len(bp['model_runs'])})")
        la = sp_["single_ticket_latency_ms"]
        print(f"  predict_one ms      : p50 {la['model_predict_one']['p50']:.2f} p99 {la['model_predict_one']['p99']:.2f}"
              f"  / baseline one row p50 {la['baseline_one_row']['p50']:.2f} p99 {la['baseline_one_row']['p99']:.2f}")

    print("\nGoals")
    for task, body in t.items():
        for key in ("goals", "comparisons"):
            for name, g in body.get(key, {}).items():
                mark = "MET " if g["met"] else "MISS"
                kind = "" if key == "goals" else " (comparison)"
                print(f"  [{mark}] {task}: {name}{kind}: {f3(g['value'])} {g['op']} {f3(g['target'])}")

    print("\nStage wall-clock seconds")
    for k, v in res["stage_seconds"].items():
        print(f"  {k:55} {v:8.1f}")
    print(f"  {'TOTAL':55} {res['total_seconds']:8.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="TriageModel vs TF-IDF + LinearSVC baseline on Endava and Apache JIRA.")
    ap.add_argument("--json", type=Path, default=None, help="write all results to this JSON file")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared",
                    help="folder holding datasets/tickets/... (default: ../shared next to the repository)")
    ap.add_argument("--quick", action="store_true", help="small subsample: a smoke run")
    args = ap.parse_args(argv)

    shared = args.shared.resolve()
    for rel in (ENDAVA, JIRA):
        if not (shared / rel).is_file():
            print(f"triage benchmark: data file not found: {shared / rel} (pass --shared DIR)", file=sys.stderr)
            return 2

    t_start = time.perf_counter()
    res: dict[str, Any] = {
        "benchmark": "triage", "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": bool(args.quick), "machine": machine_info(),
        "definitions": "shared/docs/evaluation.md sections 3 and 4",
        "baseline": {
            "features": {k: {kk: (list(vv) if isinstance(vv, tuple) else vv) for kk, vv in v.items()}
                         for k, v in BaselineFeatures.params.items()},
            "word_max_features": None,
            "classifier": "LinearSVC(C=1.0, random_state=0); priority also class_weight='balanced'",
            "confidence": "softmax of LinearSVC decision scores (not calibrated probabilities); used for ECE and "
                          "coverage. Top-3/top-5 are ranked by the decision scores.",
            "abstention_cut": "lowest softmax confidence whose decided rows reach 90% precision on 3-fold "
                              "out-of-fold scores of the training split (vectoriser fitted on the whole "
                              "training split); not done for component routing",
            "text": "Endava: Document; JIRA: summary + newline + description[:2000] (raw text)",
        },
        "tasks": {},
    }
    warnings.filterwarnings("ignore", category=FutureWarning)

    res["tasks"]["endava_category"] = task_endava(shared, args.quick)
    with Stage("jira: load"):
        jira = load_jira(shared)
        if args.quick:
            jira = jira.sample(n=8000, random_state=SEED).sort_values(["created_ts", "issue_key"]).reset_index(drop=True)
    res["tasks"]["jira_priority"] = task_priority(jira, args.quick)
    res["tasks"]["jira_component"] = task_component(jira, args.quick)
    e = res["tasks"]["endava_category"]
    res["tasks"]["training_speed"] = {
        "rows": e["data"]["train_rows"], "model_fit_seconds": e["speed"]["training_seconds"]["model"],
        "baseline_fit_seconds": e["speed"]["training_seconds"]["baseline"],
        "goals": {"endava_training_under_60_s": e["goals"]["training_under_60_s"]},
    }

    res["stage_seconds"] = dict(STAGES)
    res["total_seconds"] = round(time.perf_counter() - t_start, 1)
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    res["all_goals_met"] = all(g["met"] for body in res["tasks"].values() for g in body.get("goals", {}).values())
    print_tables(res)
    print(f"\npeak RSS {res['peak_rss_mb']:.0f} MB; all goals met: {res['all_goals_met']}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text(json.dumps(_clean(res), indent=2, default=_json_default) + "\n")
        tmp.replace(args.json)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
