"""Similar-incident retrieval: neighbour quality, single-query latency on 100k incidents, add() throughput.

``run(shared, log=print)`` returns ``{"rows": [...], "goals": {...}, ...detail}``; the lead engineer's
``benchmarks/continual.py`` assembles it with the other sections. Run alone from the repository root::

    python benchmarks/_continual_similar.py            # reads ../shared (the folder beside the repository)
    python benchmarks/_continual_similar.py --quick    # smaller: a smoke run

What is measured (``shared/docs/evaluation.md`` sections 3 and 4):

* **Neighbour quality.** Fit on the training part of a split, query every test ticket (up to
  ``max_queries``, a seeded subsample), and report the share of the 5 nearest training tickets that
  carry the test ticket's label: the same category and the same team. Tasks: the Endava main file
  (``Document``; category = ``Topic_group``), the Endava 5,431-row sample (``title`` + ``body``;
  team = ``business_service``, category = the ``category`` code), and the JIRA bug reports
  (``summary`` + ``description`` cut at 2,000 characters; "category" = ``project/first component``,
  rows with a component; team = ``assignee`` where assigned). Splits: stratified 80/20 with
  ``random_state=0`` on the category (labels with one row go to the training part); for JIRA also
  the time split (oldest 80% train) with ``--time-split`` / ``time_split=True`` (off by default to
  keep the section under 10 minutes).
* **Baseline, same run:** plain TF-IDF (word 1-2-grams + char_wb 3-5-grams, min_df 2 / 3, sublinear
  tf, the triage baseline's features) of the raw text, cosine against every row (brute force).
* **Latency.** A 100,000-incident index: the Endava main file (47,837 tickets) is tiled to 100k rows,
  every copy after the first perturbed by dropping each word with probability 0.15 (seeded), so no
  two rows are equal. Single-query p50/p99 of ``SimilarIncidents.query(text, k=5)`` over 300 queries
  (main-file tickets with 30% of their words dropped), after 20 warm-up queries, against the baseline's
  brute-force sparse cosine over the same 100k rows (its own vectorisers, query transform included,
  sparse product with a precomputed feature-major matrix). Also how often the two return the same
  neighbours (overlap of the top 5).
* **add() throughput:** rows per second added to the 100k index one at a time and in one batch.

Goals: Endava same-category share of the 5 nearest >= 0.8; p99 single-query latency < 20 ms at 100k.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import normalize

from incidentml import SimilarIncidents

SEED = 0
K = 5
ENDAVA = Path("datasets/tickets/endava_it_tickets/all_tickets_processed_improved_v3.csv")
ENDAVA_SAMPLE = Path("datasets/tickets/endava_it_tickets/endava_all_tickets_sample.csv")
JIRA = Path("datasets/tickets/apache_jira_bugs/apache_jira_bugs.csv.gz")
DESC_CHARS = 2000


# ---------------------------------------------------------------------------------------------- baseline
class BruteForce:
    """Plain TF-IDF word + char cosine against every row (the baseline)."""

    def fit(self, docs: list[str]) -> BruteForce:
        self.word = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, dtype=np.float32)
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, sublinear_tf=True,
                                    max_features=300_000, dtype=np.float32)
        X = sp.hstack([self.word.fit_transform(docs), self.char.fit_transform(docs)], format="csr")
        self.X = normalize(X)
        self.XT = self.X.T.tocsr()  # feature-major: a query touches only its features' postings
        return self

    def _q(self, docs: list[str]) -> sp.csr_matrix:
        return normalize(sp.hstack([self.word.transform(docs), self.char.transform(docs)], format="csr"))

    def top(self, docs: list[str], k: int = K, chunk: int = 256) -> np.ndarray:
        out = []
        for start in range(0, len(docs), chunk):
            S = (self._q(docs[start:start + chunk]) @ self.XT).toarray()
            out.append(_topk(S, k))
        return np.vstack(out) if out else np.zeros((0, k), dtype=np.int64)

    def query_one(self, doc: str, k: int = K) -> np.ndarray:
        s = (self._q([doc]) @ self.XT).toarray().ravel()
        part = np.argpartition(-s, k - 1)[:k]
        return part[np.argsort(-s[part], kind="stable")]


def _topk(S: np.ndarray, k: int) -> np.ndarray:
    part = np.argpartition(-S, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(S, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


# ---------------------------------------------------------------------------------------------- data
def _stratified(df: pd.DataFrame, label: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    counts = df[label].value_counts()
    single = df[label].isin(counts.index[counts < 2])
    tr, te = train_test_split(df[~single], test_size=0.2, random_state=SEED, stratify=df.loc[~single, label])
    tr = pd.concat([tr, df[single]]).sort_index()
    return tr.reset_index(drop=True), te.sort_index().reset_index(drop=True)


def _tasks(shared: Path, time_split: bool) -> list[dict[str, Any]]:
    tasks = []
    main = pd.read_csv(shared / ENDAVA)[["Document", "Topic_group"]].dropna().reset_index(drop=True)
    tr, te = _stratified(main, "Topic_group")
    tasks.append({"task": "endava", "split": "stratified", "train": tr, "test": te, "text": ["Document"],
                  "category": "Topic_group", "team": None})
    sample = pd.read_csv(shared / ENDAVA_SAMPLE)
    for c in ("title", "body"):
        sample[c] = sample[c].fillna("").astype(str)
    for c in ("category", "business_service"):
        sample[c] = sample[c].astype(str)
    tr, te = _stratified(sample, "business_service")
    tasks.append({"task": "endava_sample", "split": "stratified", "train": tr, "test": te, "text": ["title", "body"],
                  "category": "category", "team": "business_service"})
    jira = pd.read_csv(shared / JIRA, keep_default_na=False, na_values=[""])
    jira["created_ts"] = pd.to_datetime(jira["created"], utc=True, format="%Y-%m-%dT%H:%M:%S.%f%z")
    jira = jira.sort_values(["created_ts", "issue_key"], kind="stable")
    jira = jira[jira["components"].notna()].reset_index(drop=True)
    jira["summary"] = jira["summary"].fillna("").astype(str)
    jira["body"] = jira["description"].fillna("").astype(str).str.slice(0, DESC_CHARS)
    jira["component"] = jira["project"].astype(str) + "/" + jira["components"].astype(str).str.split("|").str[0]
    jira["team"] = jira["assignee"]
    jira = jira[["issue_key", "summary", "body", "component", "team"]]
    tr, te = _stratified(jira, "component")
    tasks.append({"task": "jira", "split": "stratified", "train": tr, "test": te, "text": ["summary", "body"],
                  "category": "component", "team": "team"})
    if not time_split:
        return tasks
    cut = int(round(len(jira) * 0.8))
    tasks.append({"task": "jira", "split": "time", "train": jira.iloc[:cut].reset_index(drop=True),
                  "test": jira.iloc[cut:].reset_index(drop=True), "text": ["summary", "body"],
                  "category": "component", "team": "team"})
    return tasks


def _raw(frame: pd.DataFrame, text: list[str]) -> list[str]:
    return frame[text].fillna("").astype(str).agg("\n".join, axis=1).tolist()


def _shares(train: pd.DataFrame, test: pd.DataFrame, idx: np.ndarray, col: str | None) -> float | None:
    if col is None:
        return None
    lab = train[col].to_numpy(dtype=object)
    truth = test[col].to_numpy(dtype=object)
    known = pd.notna(truth)
    if not known.any():
        return None
    same = (lab[idx[known]] == truth[known][:, None]) & pd.notna(lab[idx[known]])
    return float(same.mean())


# ---------------------------------------------------------------------------------------------- quality
def _quality(task: dict[str, Any], max_queries: int, log: Callable[[str], Any]) -> list[dict[str, Any]]:
    train, test = task["train"], task["test"]
    if len(test) > max_queries:
        keep = np.sort(np.random.default_rng(SEED).choice(len(test), size=max_queries, replace=False))
        test = test.iloc[keep].reset_index(drop=True)
    rows = []
    t0 = time.perf_counter()
    model = SimilarIncidents(random_state=SEED).fit(train, text=task["text"])
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = model.query_many(test, k=K)
    q_s = time.perf_counter() - t0
    idx = res.index.to_numpy().reshape(len(test), K)
    novel = float(np.mean(res.attrs["novel"]))
    rows.append({"task": task["task"], "split": task["split"], "method": f"SimilarIncidents ({model.index_})",
                 "train": len(train), "queries": len(test),
                 "same_category": _shares(train, test, idx, task["category"]),
                 "same_team": _shares(train, test, idx, task["team"]), "fit_s": fit_s,
                 "queries_per_s": len(test) / q_s, "novel_share": novel})
    log(f"  {task['task']}/{task['split']}: SimilarIncidents fit {fit_s:.1f} s, {len(test)} queries {q_s:.1f} s")
    t0 = time.perf_counter()
    base = BruteForce().fit(_raw(train, task["text"]))
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    bidx = base.top(_raw(test, task["text"]))
    q_s = time.perf_counter() - t0
    rows.append({"task": task["task"], "split": task["split"], "method": "baseline (brute TF-IDF cosine)",
                 "train": len(train), "queries": len(test),
                 "same_category": _shares(train, test, bidx, task["category"]),
                 "same_team": _shares(train, test, bidx, task["team"]), "fit_s": fit_s,
                 "queries_per_s": len(test) / q_s, "novel_share": None})
    log(f"  {task['task']}/{task['split']}: baseline fit {fit_s:.1f} s, {len(test)} queries {q_s:.1f} s")
    return rows


# ---------------------------------------------------------------------------------------------- latency
def _perturb(docs: list[str], rate: float, rng: np.random.Generator) -> list[str]:
    out = []
    for d in docs:
        words = d.split()
        keep = rng.random(len(words)) >= rate
        if not keep.any():
            keep[rng.integers(len(words))] = True
        out.append(" ".join(w for w, k in zip(words, keep, strict=True) if k))
    return out


def _latency(shared: Path, n_rows: int, n_queries: int, n_add: int, log: Callable[[str], Any]) -> dict[str, Any]:
    main = pd.read_csv(shared / ENDAVA)[["Document", "Topic_group"]].dropna().reset_index(drop=True)
    rng = np.random.default_rng(SEED)
    docs = main["Document"].tolist()
    labels = main["Topic_group"].tolist()
    index_docs, index_labels = list(docs), list(labels)
    while len(index_docs) < n_rows + n_add:
        index_docs += _perturb(docs, 0.15, rng)
        index_labels += labels
    extra_docs = index_docs[n_rows:n_rows + n_add]
    index_docs, index_labels = index_docs[:n_rows], index_labels[:n_rows]
    frame = pd.DataFrame({"text": index_docs, "category": index_labels})
    qpos = rng.choice(len(docs), size=n_queries + 20, replace=False)
    queries = _perturb([docs[i] for i in qpos], 0.3, rng)
    log(f"  latency: fitting SimilarIncidents on {len(frame)} rows")
    t0 = time.perf_counter()
    model = SimilarIncidents(random_state=SEED).fit(frame, text=["text"])
    fit_s = time.perf_counter() - t0
    ours_ms, ours_idx = [], []
    for i, q in enumerate(queries):
        t = time.perf_counter()
        r = model.query(q, k=K)
        dt = (time.perf_counter() - t) * 1000
        if i >= 20:
            ours_ms.append(dt)
            ours_idx.append(r.index.to_numpy())
    log(f"  latency: fitting the baseline on {len(frame)} rows")
    t0 = time.perf_counter()
    base = BruteForce().fit(index_docs)
    base_fit_s = time.perf_counter() - t0
    base_ms, base_idx = [], []
    for i, q in enumerate(queries):
        t = time.perf_counter()
        b = base.query_one(q)
        dt = (time.perf_counter() - t) * 1000
        if i >= 20:
            base_ms.append(dt)
            base_idx.append(b)
    lab = np.asarray(index_labels, dtype=object)
    qlab = np.asarray([labels[i] for i in qpos[20:]], dtype=object)
    overlap = float(np.mean([len(set(a) & set(b)) / K for a, b in zip(ours_idx, base_idx, strict=True)]))
    ours_same = float(np.mean([np.mean(lab[a] == y) for a, y in zip(ours_idx, qlab, strict=True)]))
    base_same = float(np.mean([np.mean(lab[b] == y) for b, y in zip(base_idx, qlab, strict=True)]))
    # batched throughput of query_many
    t0 = time.perf_counter()
    model.query_many(queries[20:], k=K)
    many_qps = n_queries / (time.perf_counter() - t0)
    # add(): one row at a time, then one batch
    n_single = min(1000, n_add // 2)
    t0 = time.perf_counter()
    for d in extra_docs[:n_single]:
        model.add(pd.DataFrame({"text": [d], "category": [None]}))
    single_rps = n_single / (time.perf_counter() - t0)
    batch = pd.DataFrame({"text": extra_docs[n_single:], "category": None})
    t0 = time.perf_counter()
    model.add(batch)
    batch_rps = len(batch) / (time.perf_counter() - t0)
    after_ms = []
    for q in queries[20:120]:
        t = time.perf_counter()
        model.query(q, k=K)
        after_ms.append((time.perf_counter() - t) * 1000)
    return {
        "index_rows": n_rows, "queries": n_queries, "index": model.index_, "n_components": model.n_components,
        "fit_s": fit_s, "baseline_fit_s": base_fit_s,
        "p50_ms": float(np.percentile(ours_ms, 50)), "p99_ms": float(np.percentile(ours_ms, 99)),
        "baseline_p50_ms": float(np.percentile(base_ms, 50)), "baseline_p99_ms": float(np.percentile(base_ms, 99)),
        "top5_overlap_with_baseline": overlap, "same_category": ours_same, "baseline_same_category": base_same,
        "query_many_per_s": many_qps, "add_one_rows_per_s": single_rps, "add_batch_rows_per_s": batch_rps,
        "rows_after_add": model.n_rows_, "p50_ms_after_add": float(np.percentile(after_ms, 50)),
        "p99_ms_after_add": float(np.percentile(after_ms, 99)),
        "data": (f"Endava main file tiled to {n_rows} rows (copies after the first drop each word with p=0.15); "
                 f"queries: {n_queries} main-file tickets with 30% of their words dropped"),
    }


# ---------------------------------------------------------------------------------------------- run
def run(shared: Path, log: Callable[[str], Any] = print, *, max_queries: int = 3000, index_rows: int = 100_000,
        latency_queries: int = 300, n_add: int = 11_000, time_split: bool = False) -> dict[str, Any]:
    """Every measurement of this section; see the module docstring."""
    t_start = time.perf_counter()
    shared = Path(shared)
    for rel in (ENDAVA, ENDAVA_SAMPLE, JIRA):
        if not (shared / rel).is_file():
            raise FileNotFoundError(f"similar-incident benchmark: data file not found: {shared / rel}")
    rows: list[dict[str, Any]] = []
    log("similar incidents: neighbour quality")
    for task in _tasks(shared, time_split):
        rows += _quality(task, max_queries, log)
    log("similar incidents: latency and add() on a large index")
    lat = _latency(shared, index_rows, latency_queries, n_add, log)
    rows.append({"task": f"endava x{index_rows // 1000}k", "split": "latency", "method": "SimilarIncidents",
                 "train": index_rows, "queries": latency_queries, "same_category": lat["same_category"],
                 "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"], "fit_s": lat["fit_s"]})
    rows.append({"task": f"endava x{index_rows // 1000}k", "split": "latency",
                 "method": "baseline (brute TF-IDF cosine)",
                 "train": index_rows, "queries": latency_queries, "same_category": lat["baseline_same_category"],
                 "p50_ms": lat["baseline_p50_ms"], "p99_ms": lat["baseline_p99_ms"], "fit_s": lat["baseline_fit_s"]})
    endava = next(r for r in rows if r["task"] == "endava" and r["method"].startswith("SimilarIncidents"))
    goals = {
        "endava_same_category_top5>=0.8": {"value": endava["same_category"], "goal": ">= 0.8",
                                           "met": bool(endava["same_category"] >= 0.8)},
        f"p99_query_ms_at_{index_rows // 1000}k<20": {"value": lat["p99_ms"], "goal": "< 20 ms",
                                                     "met": bool(lat["p99_ms"] < 20.0)},
    }
    return {"section": "similar_incidents", "rows": rows, "goals": goals, "latency": lat,
            "cores": os.cpu_count(), "seconds": time.perf_counter() - t_start,
            "definitions": "shared/docs/evaluation.md sections 3 (splits) and 4 (speed); module docstring"}


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    ap.add_argument("--quick", action="store_true", help="500 queries, a 20k index: a smoke run")
    ap.add_argument("--time-split", action="store_true", help="also the JIRA time split (about 4 more minutes)")
    args = ap.parse_args(argv)
    kw: dict[str, Any] = {"max_queries": 500, "index_rows": 20_000, "latency_queries": 100,
                          "n_add": 2_000} if args.quick else {}
    kw["time_split"] = args.time_split
    res = run(args.shared, log=lambda m: print(m, file=sys.stderr, flush=True), **kw)
    cols = ["task", "split", "method", "train", "queries", "same_category", "same_team", "novel_share", "fit_s",
            "queries_per_s", "p50_ms", "p99_ms"]
    cells = [[_fmt(r.get(c)) for c in cols] for r in res["rows"]]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    lat = res["latency"]
    print(f"\nadd(): {lat['add_one_rows_per_s']:.0f} rows/s one at a time, {lat['add_batch_rows_per_s']:.0f} rows/s in "
          f"one batch; after adding, {lat['rows_after_add']} rows: p50 {lat['p50_ms_after_add']:.1f} ms, "
          f"p99 {lat['p99_ms_after_add']:.1f} ms. Top-5 overlap with the baseline: "
          f"{lat['top5_overlap_with_baseline']:.2f}. query_many: {lat['query_many_per_s']:.0f} queries/s.")
    for name, g in res["goals"].items():
        print(f"goal {name}: {_fmt(g['value'])} ({g['goal']}) -> {'met' if g['met'] else 'NOT met'}")
    print(f"{res['cores']} cores, {res['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
