"""Prequential replay of tickets: batch-only TriageModel vs TriageModel + OnlineTriage (a section of continual.py).

Protocol (every ticket of a stream is first predicted, then learnt with its true label: the
analyst's correction; nothing is tuned on these streams, OnlineTriage runs at its defaults):

* **Endava, a category appears half-way.** The main file shuffled (seed 0). For each of the four
  smallest categories in turn (Storage, Purchase, Internal Project, Administrative rights; a
  fixed rule, not a choice by result), ``TriageModel()`` is fitted on 5,000 tickets without it;
  then 1,500 more tickets without it stream in ("before"), then 3,000 tickets with every
  category at its natural share ("after"). Reported: accuracy before/after for batch-only and
  for the blend, the blend's and batch's accuracy on the old categories after the change, the
  online model alone (no base model, learning the same stream) for reference, and how many
  corrections of the new category the blend needed before its recall on the next 20 tickets of
  that category reached 80%. For reference, a batch model fitted on 5,000 tickets that include
  the new category and none of the stream (the retrain the blend stands in for) is scored on the
  same stream: its accuracy on old categories tells how much of the blend's loss there any model
  that predicts the new category pays.
* **JIRA, time order.** Bug reports with a component, label ``project/first component``,
  sorted by creation time: ``TriageModel()`` fitted on the oldest 6,000, then the next 6,000
  stream in. Labels unseen by the batch model are "new". Reported: accuracy of batch-only and
  blend on the whole stream, on old labels, on new labels; for each new label with at least 20
  stream tickets, corrections needed to reach 80% recall on its next 10 tickets (median).
* **The whole loop.** A third copy of the blend calls ``retrain(train)`` once, 1,000 tickets after
  the change (Endava) or into the stream (JIRA), if a retrain is due by then; the retrain keeps the
  old model unless the new one validates at least as well on the newest 20% of the corrections.
  Accuracy of batch-only, blend and blend + retrain over the tickets after that point ("late").
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from incidentml import OnlineTriage, TriageModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from triage import ENDAVA, load_jira  # noqa: E402

SEED = 0
NEW_CATEGORIES = ("Storage", "Purchase", "Internal Project", "Administrative rights")
N_TRAIN, N_BEFORE, N_AFTER = 5000, 1500, 3000
JIRA_TRAIN, JIRA_STREAM = 6000, 6000
#: The retrain loop calls ``retrain`` this many tickets after the change (Endava) / into the stream (JIRA).
RETRAIN_AFTER = 1000


def corrections_to_recall(hits: np.ndarray, *, goal: float = 0.8, ahead: int = 20) -> int | None:
    """Fewest corrections n after which recall on the next ``ahead`` tickets of the class reaches ``goal``."""
    if hits.size < ahead:
        return None
    roll = np.convolve(hits.astype(float), np.ones(ahead), "valid") / ahead  # roll[n] = mean(hits[n:n+ahead])
    ok = np.flatnonzero(roll >= goal)
    return int(ok[0]) if ok.size else None


def _replay(base: TriageModel, stream: pd.DataFrame, text: list[str], label: str, *, train: pd.DataFrame,
            retrain_at: int) -> pd.DataFrame:
    """Prequential replay: batch-only, blend, blend + one retrain, and online-only predictions of each ticket
    before it is learnt. The retrained copy calls ``retrain(train)`` once, at ``retrain_at``, if one is due."""
    batch = base.predict(stream[text])["y"].astype(str).to_numpy()
    blend, alone, looped = OnlineTriage(base), OnlineTriage(text=text), OnlineTriage(base)
    t0 = time.perf_counter()
    rows = stream[text].to_dict("records")
    for rec, y in zip(rows, stream[label].astype(str), strict=True):
        blend.learn_one(rec, {"y": y})
        alone.learn_one(rec, {"y": y})
    elapsed = time.perf_counter() - t0
    report: dict[str, Any] = {"due": False}
    for i, (rec, y) in enumerate(zip(rows, stream[label].astype(str), strict=True)):
        if i == retrain_at and looped.retrain_due:
            t1 = time.perf_counter()
            report = {"due": True, **looped.retrain(train, targets={"y": "y"}),
                      "seconds": time.perf_counter() - t1}
        looped.learn_one(rec, {"y": y})
    hb, ha, hl = blend.history(), alone.history(), looped.history()
    out = pd.DataFrame({"y": stream[label].astype(str).to_numpy(), "batch": batch,
                        "blend": hb["predicted_y"].astype(str).to_numpy(),
                        "alone": ha["predicted_y"].astype(str).to_numpy(),
                        "retrained_loop": hl["predicted_y"].astype(str).to_numpy()})
    out.attrs["retrain"] = {k: v for k, v in report.items() if k != "reason"} | {"reason": report.get("reason")}
    out.attrs["seconds_per_correction"] = elapsed / max(len(stream), 1) / 2
    out.attrs["retrain_due"] = blend.retrain_due
    out.attrs["drift_events"] = [e.to_dict() for e in blend.drift_events_]
    return out


def _acc(frame: pd.DataFrame, col: str) -> float:
    return float((frame["y"] == frame[col]).mean()) if len(frame) else float("nan")


def run_endava(shared: Path, log: Callable[..., Any] = print) -> list[dict[str, Any]]:
    data = pd.read_csv(shared / ENDAVA)[["Document", "Topic_group"]].dropna()
    data = data.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    rows = []
    for new in NEW_CATEGORIES:
        t0 = time.perf_counter()
        old = data[data["Topic_group"] != new]
        train = old.iloc[:N_TRAIN].rename(columns={"Topic_group": "y"})
        rest = data.drop(train.index)
        before = rest[rest["Topic_group"] != new].iloc[:N_BEFORE]
        after = rest.drop(before.index).iloc[:N_AFTER]
        base = TriageModel(random_state=SEED, progress=False).fit(train, text=["Document"], targets=["y"])
        stream = pd.concat([before, after], ignore_index=True)
        r = _replay(base, stream, ["Document"], "Topic_group", train=train, retrain_at=N_BEFORE + RETRAIN_AFTER)
        # reference: a batch model retrained with the new category (the same number of training rows)
        full = data.drop(before.index).drop(after.index).iloc[-N_TRAIN:].rename(columns={"Topic_group": "y"})
        oracle = TriageModel(random_state=SEED, progress=False).fit(full, text=["Document"], targets=["y"])
        r["retrained"] = oracle.predict(stream[["Document"]])["y"].astype(str).to_numpy()
        pre, post = r.iloc[:N_BEFORE], r.iloc[N_BEFORE:]
        post_old = post[post["y"] != new]
        late = r.iloc[N_BEFORE + RETRAIN_AFTER:]
        late_old = late[late["y"] != new]
        hits = (post.loc[post["y"] == new, "blend"] == new).to_numpy()
        row = {"task": "endava", "new_label": new, "n_new": int(hits.size),
               "before_batch": _acc(pre, "batch"), "before_blend": _acc(pre, "blend"),
               "after_batch": _acc(post, "batch"), "after_blend": _acc(post, "blend"),
               "after_online_only": _acc(post, "alone"),
               "old_after_batch": _acc(post_old, "batch"), "old_after_blend": _acc(post_old, "blend"),
               "after_retrained": _acc(post, "retrained"), "old_after_retrained": _acc(post_old, "retrained"),
               "new_recall_blend": float(hits.mean()) if hits.size else None,
               "late_blend": _acc(late, "blend"), "late_retrain_loop": _acc(late, "retrained_loop"),
               "late_old_blend": _acc(late_old, "blend"), "late_old_retrain_loop": _acc(late_old, "retrained_loop"),
               "late_old_batch": _acc(late_old, "batch"), "retrain": r.attrs["retrain"],
               "corrections_to_80": corrections_to_recall(hits),
               "ms_per_correction": 1000 * r.attrs["seconds_per_correction"],
               "retrain_due": r.attrs["retrain_due"],
               "drift_signals": sorted({e["signal"] for e in r.attrs["drift_events"]}),
               "seconds": time.perf_counter() - t0}
        rows.append(row)
        log(f"  endava new={new}: after {row['after_batch']:.3f} -> {row['after_blend']:.3f}, old "
            f"{row['old_after_batch']:.3f} -> {row['old_after_blend']:.3f}, 80% after {row['corrections_to_80']}")
    return rows


def run_jira(shared: Path, log: Callable[..., Any] = print) -> dict[str, Any]:
    t0 = time.perf_counter()
    jira = load_jira(shared)
    jira = jira[jira["components"].notna()].copy()
    jira["summary"] = jira["summary"].fillna("").astype(str)
    jira["body"] = jira["description"].fillna("").astype(str).str.slice(0, 2000)
    jira["y"] = jira["f_project"] + "/" + jira["components"].astype(str).str.split("|").str[0].str.strip()
    jira = jira.reset_index(drop=True)
    train, stream = jira.iloc[:JIRA_TRAIN], jira.iloc[JIRA_TRAIN:JIRA_TRAIN + JIRA_STREAM].reset_index(drop=True)
    base = TriageModel(random_state=SEED, progress=False).fit(train[["summary", "body", "y"]],
                                                                text=["summary", "body"], targets=["y"])
    r = _replay(base, stream, ["summary", "body"], "y", train=train[["summary", "body", "y"]],
                retrain_at=RETRAIN_AFTER)
    late = r.iloc[RETRAIN_AFTER:]
    known = set(map(str, base.classes_["y"]))
    is_new = ~r["y"].isin(known)
    need = []
    for lab, grp in r[is_new].groupby("y"):
        if len(grp) >= 20:
            need.append(corrections_to_recall((grp["blend"] == lab).to_numpy(), ahead=10))
    reached = [n for n in need if n is not None]
    row = {"task": "jira_component_time", "n_stream": len(r), "n_new": int(is_new.sum()),
           "new_labels": int(r.loc[is_new, "y"].nunique()),
           "all_batch": _acc(r, "batch"), "all_blend": _acc(r, "blend"), "all_online_only": _acc(r, "alone"),
           "old_batch": _acc(r[~is_new], "batch"), "old_blend": _acc(r[~is_new], "blend"),
           "new_batch": _acc(r[is_new], "batch"), "new_blend": _acc(r[is_new], "blend"),
           "new_labels_with_20": len(need), "new_labels_reaching_80": len(reached),
           "median_corrections_to_80": float(np.median(reached)) if reached else None,
           "ms_per_correction": 1000 * r.attrs["seconds_per_correction"], "retrain_due": r.attrs["retrain_due"],
           "late_batch": _acc(late, "batch"), "late_blend": _acc(late, "blend"),
           "late_retrain_loop": _acc(late, "retrained_loop"), "retrain": r.attrs["retrain"],
           "seconds": time.perf_counter() - t0}
    log(f"  jira: all {row['all_batch']:.3f} -> {row['all_blend']:.3f}; old {row['old_batch']:.3f} -> "
        f"{row['old_blend']:.3f}; new {row['new_batch']:.3f} -> {row['new_blend']:.3f}")
    return row


def run(shared: Path, log: Callable[..., Any] = print) -> dict[str, Any]:
    endava = run_endava(shared, log)
    jira = run_jira(shared, log)
    reached = [r["corrections_to_80"] for r in endava]
    goals = {
        "endava_80pct_recall_within_50": {
            "value": reached, "goal": "80% recall on the new category within 50 corrections (each of 4 cases)",
            "met": all(n is not None and n <= 50 for n in reached)},
        "endava_old_categories_blend_ge_batch": {
            "value": [round(r["old_after_blend"] - r["old_after_batch"], 4) for r in endava],
            "goal": "blend accuracy on old categories >= batch (each case)",
            "met": all(r["old_after_blend"] >= r["old_after_batch"] for r in endava)},
        "jira_old_labels_blend_ge_batch": {
            "value": round(jira["old_blend"] - jira["old_batch"], 4), "goal": "blend >= batch on old labels",
            "met": jira["old_blend"] >= jira["old_batch"]},
    }
    return {"rows": [*endava, jira], "goals": goals,
            "protocol": __doc__.split("Protocol", 1)[1].strip() if __doc__ else ""}


if __name__ == "__main__":
    res = run(Path(__file__).resolve().parents[2] / "shared")
    for r in res["rows"]:
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()})
    for k, g in res["goals"].items():
        print(k, g)
