"""Every triage development task, TriageModel at library defaults against the baseline, same run.

``run_triage_tasks(shared, max_train=..., n_jobs=...)`` loads the development tasks of issue 8 and
``shared/docs/evaluation.md`` section 5, fits on each task/split the TF-IDF + LinearSVC baseline
(:class:`triage.Baseline`) and ``TriageModel()`` at its library defaults (only ``random_state``,
``n_jobs`` and ``progress`` are set; the Endava urgency codes get their severity order, which is a
description of the data, not a setting), and returns one row of metrics per task/split with the
goal checks of issue 8.

Tasks (data under ``shared/datasets/tickets/``):

* ``endava_category``: main file, ``Document`` -> ``Topic_group`` (8 classes); stratified only.
* ``endava_service``: the 5,431-row sample, ``title + body`` -> ``business_service`` (every code kept,
  long tail); stratified only (the sample has no dates).
* ``endava_urgency``: the same sample, ``urgency``, ordinal. The codes are anonymised; code ``0`` is
  taken as the most severe (order ``0, 1, 2, 3``): it is the rarest level, ``3`` is the "not set"
  code of service requests, and lower numbers mean more urgent on the usual 1-2-3 urgency scales.
* ``jira_priority_title``: JIRA ``summary`` -> priority (Blocker..Trivial, critical = Blocker).
* ``jira_priority_body``: ``summary`` + ``description`` (cut at 2,000 characters) -> priority.
* ``jira_component``: rows with a component, label ``project/first component`` (every label kept).
* ``jira_assignee``: assigned rows only, label = assignee (every assignee kept). Assignee names are
  never returned: rows hold metrics only.

Splits: stratified 80/20 with ``random_state=0``. Labels with a single row cannot be stratified;
they go to the training part (so a singleton class is trained on but never tested), and the
other rows are split 80/20 stratified. JIRA also gets a time split: the oldest 80% by ``created``
train, the newest 20% test. ``max_train`` caps the training rows of every split by a seeded
random subsample that keeps the rows' order (so a time split's training part stays time-ordered);
test splits are never capped.

The baseline's abstention cut is chosen, like ``benchmarks/triage.py`` does, on 3-fold shuffled
stratified out-of-fold softmax scores of its own training part, never on the test split.

Run it from the repository root::

    python benchmarks/_triage_tasks.py --max-train 15000 --json /tmp/triage_tasks.json
    python benchmarks/_triage_tasks.py --quick     # 2,000 training rows per split: a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.special import softmax
from sklearn.model_selection import StratifiedKFold, train_test_split

from incidentml import TriageModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from triage import (  # noqa: E402
    ENDAVA,
    JIRA,
    PRIORITY_ORDER,
    Baseline,
    BaselineFeatures,
    _fit_svc,
    _scores,
    load_jira,
    report,
)

__all__ = ["run_triage_tasks", "TASKS", "LONG_TAIL_TASKS"]

SEED = 0
TARGET_PRECISION = 0.9
ENDAVA_SAMPLE = Path("datasets/tickets/endava_it_tickets/endava_all_tickets_sample.csv")
URGENCY_ORDER = ["0", "1", "2", "3"]
LONG_TAIL_TASKS = ("jira_assignee", "jira_component", "endava_service")
TASKS = ("endava_category", "endava_service", "endava_urgency", "jira_priority_title", "jira_priority_body",
         "jira_component", "jira_assignee")
DESC_CHARS = 2000


# ---------------------------------------------------------------------------------------------- data
def _stratified(df: pd.DataFrame, label: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    counts = df[label].value_counts()
    single = df[label].isin(counts.index[counts < 2])
    tr, te = train_test_split(df[~single], test_size=0.2, random_state=SEED, stratify=df.loc[~single, label])
    tr = pd.concat([tr, df[single]]).sort_index()  # keep the original row order
    return tr.reset_index(drop=True), te.sort_index().reset_index(drop=True)


def _time(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = int(round(len(df) * 0.8))  # df is sorted by created
    return df.iloc[:cut].reset_index(drop=True), df.iloc[cut:].reset_index(drop=True)


def _cap(train: pd.DataFrame, max_train: int | None) -> pd.DataFrame:
    if max_train is None or len(train) <= max_train:
        return train
    rng = np.random.default_rng(SEED)
    keep = np.sort(rng.choice(len(train), size=max_train, replace=False))
    return train.iloc[keep].reset_index(drop=True)


def _task_specs(shared: Path) -> list[dict[str, Any]]:
    """One spec per task: frame, text columns, label column, ordinal order, whether it has dates."""
    specs = []
    main = pd.read_csv(shared / ENDAVA)[["Document", "Topic_group"]].dropna().reset_index(drop=True)
    specs.append({"task": "endava_category", "frame": main, "text": ["Document"], "label": "Topic_group",
                  "order": None, "dated": False})
    sample = pd.read_csv(shared / ENDAVA_SAMPLE)
    sample["title"] = sample["title"].fillna("").astype(str)
    sample["body"] = sample["body"].fillna("").astype(str)
    sample["business_service"] = sample["business_service"].astype(str)
    sample["urgency"] = sample["urgency"].astype(str)
    specs.append({"task": "endava_service", "frame": sample, "text": ["title", "body"], "label": "business_service",
                  "order": None, "dated": False})
    specs.append({"task": "endava_urgency", "frame": sample, "text": ["title", "body"], "label": "urgency",
                  "order": URGENCY_ORDER, "dated": False})
    jira = load_jira(shared)  # sorted by created
    jira["summary"] = jira["summary"].fillna("").astype(str)
    jira["body"] = jira["description"].fillna("").astype(str).str.slice(0, DESC_CHARS)
    jira = jira[["summary", "body", "priority", "components", "f_project", "assignee"]]
    specs.append({"task": "jira_priority_title", "frame": jira, "text": ["summary"], "label": "priority",
                  "order": PRIORITY_ORDER, "dated": True})
    specs.append({"task": "jira_priority_body", "frame": jira, "text": ["summary", "body"], "label": "priority",
                  "order": PRIORITY_ORDER, "dated": True})
    comp = jira[jira["components"].notna()].copy()
    comp["route"] = comp["f_project"] + "/" + comp["components"].astype(str).str.split("|").str[0].str.strip()
    specs.append({"task": "jira_component", "frame": comp.reset_index(drop=True), "text": ["summary", "body"],
                  "label": "route", "order": None, "dated": True})
    asg = jira[jira["assignee"].notna()].reset_index(drop=True)
    specs.append({"task": "jira_assignee", "frame": asg, "text": ["summary", "body"], "label": "assignee",
                  "order": None, "dated": True})
    return specs


# ---------------------------------------------------------------------------------------------- baseline
def _baseline_cut(X: Any, y: np.ndarray, n_jobs: int, cv: int = 3) -> float:
    """Cut reaching TARGET_PRECISION on 3-fold shuffled stratified OOF softmax scores (as benchmarks/triage.py)."""
    folds = list(StratifiedKFold(n_splits=cv, shuffle=True, random_state=SEED).split(np.zeros(len(y)), y))
    fitted = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(_fit_svc)(X[tr], y[tr], None) for tr, _ in folds)
    correct = np.zeros(len(y), dtype=bool)
    conf = np.zeros(len(y))
    for (_, va), clf in zip(folds, fitted, strict=True):
        p = softmax(_scores(clf, X[va]), axis=1)
        correct[va] = clf.classes_[p.argmax(axis=1)] == y[va]
        conf[va] = p.max(axis=1)
    from incidentml.evaluation import abstention_threshold

    return abstention_threshold(correct, conf, target_precision=TARGET_PRECISION)


def _docs(frame: pd.DataFrame, text: list[str]) -> list[str]:
    return frame[text].astype(str).agg("\n".join, axis=1).tolist()


# ---------------------------------------------------------------------------------------------- goals
def _ok(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def _goals(row: dict[str, Any]) -> dict[str, bool]:
    m, b = row["model"], row["baseline"]
    g = {"macro_f1>=baseline": bool(m["macro_f1"] >= b["macro_f1"])}
    if row["task"] in LONG_TAIL_TASKS:
        g["macro_f1>=baseline+0.02"] = bool(m["macro_f1"] >= b["macro_f1"] + 0.02)
    if row["ordinal"]:
        target = max(0.5, b["critical_recall"] + 0.1) if _ok(b["critical_recall"]) else 0.5
        g["critical_recall>=max(0.5,baseline+0.1)"] = bool(_ok(m["critical_recall"]) and m["critical_recall"] >= target)
        g["macro_f1>=baseline-0.01"] = bool(m["macro_f1"] >= b["macro_f1"] - 0.01)
    if row["split"] == "time":
        dp = m["decided_precision"]
        g["decided_precision>=target-0.05"] = bool(_ok(dp) and dp >= TARGET_PRECISION - 0.05)
    return g


def _metrics(r: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("accuracy", "macro_f1", "critical_recall", "decided_precision", "coverage", "top3_accuracy", "ece")
    return {k: (float(r[k]) if _ok(r.get(k)) else None) for k in keys}


# ---------------------------------------------------------------------------------------------- run
def run_triage_tasks(shared: Path, *, max_train: int | None, n_jobs: int, log: Callable[[str], Any] = print,
                     tasks: tuple[str, ...] | None = None, model_params: Mapping[str, Any] | None = None,
                     with_baseline: bool = True) -> list[dict[str, Any]]:
    """Fit baseline and ``TriageModel()`` on every task/split; one row of metrics and goal checks each.

    Parameters
    ----------
    shared : Path
        Folder holding ``datasets/tickets/...``.
    max_train : int or None
        Cap on training rows per split (seeded subsample, order kept); ``None`` uses every row.
    n_jobs : int
        Threads for the model's folds and the baseline's cut folds.
    log : callable
        Progress messages.
    tasks : tuple of str, optional
        Subset of :data:`TASKS` (default: all).
    model_params : dict, optional
        Extra TriageModel parameters, for ablations only; the reported table uses none.
    with_baseline : bool, default=True
        Fit the baseline too (ablations may skip it and reuse an earlier run's).

    Returns
    -------
    list of dict
        Keys ``task``, ``split``, ``n_train``, ``n_test``, ``n_classes``, ``ordinal``, ``model`` and
        ``baseline`` (accuracy, macro_f1, critical_recall, decided_precision, coverage, top3_accuracy,
        ece), ``model_fit_seconds``, ``baseline_fit_seconds``, ``model_info`` and ``goals``
        (goal name -> bool). No labels or names of people are included.
    """
    shared = Path(shared)
    rows: list[dict[str, Any]] = []
    params = dict(model_params or {})
    for spec in _task_specs(shared):
        if tasks is not None and spec["task"] not in tasks:
            continue
        df, label, order = spec["frame"], spec["label"], spec["order"]
        splits = {"stratified": _stratified(df, label)}
        if spec["dated"]:
            splits["time"] = _time(df)
        for split, (train, test) in splits.items():
            train = _cap(train, max_train)
            tag = f"{spec['task']}/{split}"
            y_tr = train[label].astype(str).to_numpy(dtype=object)
            y_te = test[label].astype(str).tolist()
            kw: dict[str, Any] = {"random_state": SEED, "n_jobs": n_jobs, "progress": False, **params}
            if spec["task"] == "endava_urgency" and "ordinal" not in params:
                kw["ordinal"] = {label: URGENCY_ORDER}  # anonymised codes: the data's severity order
            t0 = time.perf_counter()
            model = TriageModel(**kw)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(train, text=spec["text"], targets={label: label})
            m_fit = time.perf_counter() - t0
            pred = model.predict(test)
            proba = model.predict_proba(test)[label]
            m_rep = report(y_te, pred[label].to_numpy(), proba.to_numpy(), list(proba.columns),
                           pred[f"{label}_abstain"].to_numpy(), order=order, per_class=False)
            row: dict[str, Any] = {"task": spec["task"], "split": split, "n_train": len(train), "n_test": len(test),
                                   "n_classes": int(train[label].nunique()), "ordinal": order is not None,
                                   "test_labels_unseen_in_train_share": round(float(np.mean(
                                       ~np.isin(np.asarray(y_te, dtype=object), np.unique(y_tr)))), 4),
                                   "model": _metrics(m_rep), "model_fit_seconds": round(m_fit, 1),
                                   "model_info": {"validation_coverage": float(model.coverage_[label]),
                                                  "underprediction_cost": model.underprediction_cost_.get(label),
                                                  "n_model_classes": len(model.classes_[label]),
                                                  "params": {k: v for k, v in params.items()}}}
            log(f"{tag}: model fit {m_fit:.0f} s, macro-F1 {m_rep['macro_f1']:.3f}")
            if with_baseline:
                t0 = time.perf_counter()
                feats = BaselineFeatures()
                Xtr = feats.fit_transform(_docs(train, spec["text"]))
                bl = Baseline(feats).fit(Xtr, y_tr)
                threshold = _baseline_cut(Xtr, y_tr, n_jobs)
                b_fit = time.perf_counter() - t0
                b_pred, b_proba, b_scores = bl.predict(_docs(test, spec["text"]))
                b_rep = report(y_te, b_pred, b_proba, bl.classes, b_proba.max(axis=1) < threshold, order=order,
                               ranking=b_scores, per_class=False)
                row["baseline"] = _metrics(b_rep)
                row["baseline_fit_seconds"] = round(b_fit, 1)
                row["goals"] = _goals(row)
                log(f"{tag}: baseline fit {b_fit:.0f} s, macro-F1 {b_rep['macro_f1']:.3f}")
            rows.append(row)
    return rows


def regoal(rows: list[dict[str, Any]], baseline_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attach the baseline metrics of an earlier run (same caps) to ablation rows and recompute goals."""
    base = {(r["task"], r["split"]): r for r in baseline_rows}
    for r in rows:
        b = base[(r["task"], r["split"])]
        r["baseline"] = b["baseline"]
        r["goals"] = _goals(r)
    return rows


def _f(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'task':20} {'split':10} {'n_tr':>6} {'n_te':>6} {'cls':>4} | {'acc':>5} {'mF1':>5} {'crit':>5} "
            f"{'dprec':>5} {'cov':>5} | {'b.acc':>5} {'b.mF1':>5} {'b.crit':>5} {'b.dpr':>5} {'b.cov':>5} | goals")
    print(head)
    print("-" * len(head))
    for r in rows:
        m, b = r["model"], r.get("baseline", {})
        goals = " ".join(("ok " if v else "MISS ") + k for k, v in r.get("goals", {}).items())
        print(f"{r['task']:20} {r['split']:10} {r['n_train']:>6} {r['n_test']:>6} {r['n_classes']:>4} | "
              f"{_f(m['accuracy']):>5} {_f(m['macro_f1']):>5} {_f(m['critical_recall']):>5} "
              f"{_f(m['decided_precision']):>5} {_f(m['coverage']):>5} | {_f(b.get('accuracy')):>5} "
              f"{_f(b.get('macro_f1')):>5} {_f(b.get('critical_recall')):>5} {_f(b.get('decided_precision')):>5} "
              f"{_f(b.get('coverage')):>5} | {goals}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="TriageModel defaults vs the TF-IDF + LinearSVC baseline on every "
                                             "triage development task and split.")
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    ap.add_argument("--json", type=Path, default=None, help="write the rows to this JSON file")
    ap.add_argument("--max-train", type=int, default=None, help="cap on training rows per split")
    ap.add_argument("--quick", action="store_true", help="smoke run: at most 2,000 training rows per split")
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--tasks", default=None, help="comma-separated subset of tasks")
    ap.add_argument("--no-baseline", action="store_true", help="ablation only: skip the baseline")
    ap.add_argument("--baseline-from", type=Path, default=None,
                    help="ablation only: take the baseline rows (same caps) from this earlier JSON")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=JSON",
                    help="ablation only: a TriageModel parameter, e.g. rare_classes='\"merge\"'")
    args = ap.parse_args(argv)
    max_train = 2000 if args.quick and args.max_train is None else args.max_train
    params = {}
    for p in args.param:
        k, v = p.split("=", 1)
        params[k] = json.loads(v)
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    rows = run_triage_tasks(args.shared, max_train=max_train, n_jobs=args.n_jobs, log=log,
                            tasks=tuple(args.tasks.split(",")) if args.tasks else None, model_params=params,
                            with_baseline=not (args.no_baseline or args.baseline_from))
    if args.baseline_from is not None:
        rows = regoal(rows, json.loads(args.baseline_from.read_text())["rows"])
    total = time.perf_counter() - t0
    print_table(rows)
    print(f"total {total:.0f} s, max_train={max_train}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"max_train": max_train, "params": params, "total_seconds": round(total, 1),
                                         "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
