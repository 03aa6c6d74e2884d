"""The triage report: how a fitted model does on a table of tickets, and where it fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..exceptions import DataError, SchemaError
from ..triage import TriageModel
from ._render import Report, figure_uri, render, text_snippet

__all__ = ["triage_report"]

_MAX_LABELS = 12  # labels shown in a confusion matrix; every label is in the recall table
_ID_COLUMNS = ("id", "ticket_id", "incident_id", "issue_key", "key", "number")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def _ticket_rows(model: TriageModel, frame: pd.DataFrame, name: str, positions: Sequence[int] | np.ndarray,
                 pred: pd.DataFrame, truth: pd.Series | None, terms: int, id_col: str | None) -> list[dict[str, Any]]:
    """One table row per ticket position: text, prediction, confidence, truth and the words behind it."""
    columns = model.text_columns_ + model.feature_columns_
    rows = []
    for i in positions:
        record = {c: frame[c].iloc[i] for c in columns}
        explanation = model.explain(record, top=terms)[name]
        true = None if truth is None or _missing(truth.iloc[i]) else str(truth.iloc[i]).strip()
        rows.append({"id": int(i) + 1 if id_col is None else frame[id_col].iloc[i],
                     "text": text_snippet([frame[c].iloc[i] for c in model.text_columns_]) or "(empty)",
                     "label": str(pred[name].iloc[i]), "confidence": float(pred[f"{name}_confidence"].iloc[i]),
                     "abstain": bool(pred[f"{name}_abstain"].iloc[i]), "truth": true,
                     "correct": None if true is None else true == str(pred[name].iloc[i]),
                     "terms": ", ".join(t for t, _ in explanation["terms"][:terms]) or "–"})
    return rows


def _target_section(model: TriageModel, frame: pd.DataFrame, name: str, column: str | None,
                    pred: pd.DataFrame, report: Mapping[str, Any] | None, top: int, terms: int,
                    id_col: str | None) -> dict[str, Any]:
    from ..plot import confusion_matrix, precision_coverage, reliability_diagram

    conf = pred[f"{name}_confidence"].to_numpy(dtype=float)
    labels = pred[name].astype(str)
    abstain = pred[f"{name}_abstain"].to_numpy(dtype=bool)
    section: dict[str, Any] = {
        "name": name, "anchor": f"target-{name}", "column": column, "report": report, "images": [],
        "n": len(frame), "n_abstain": int(abstain.sum()), "threshold": float(model.thresholds_[name]),
        "classes": len(model.classes_[name]), "ordinal": model.ordinal_.get(name),
        "predicted": labels.value_counts().head(top).items(),
    }
    truth = frame[column] if column is not None else None
    least = np.argsort(conf, kind="stable")[:top]
    section["least_confident"] = _ticket_rows(model, frame, name, least, pred, truth, terms, id_col)
    section["most_wrong"] = []
    section["recall"] = []
    if truth is None or report is None:
        return section
    known = ~truth.map(_missing).to_numpy(dtype=bool)
    y_true = truth[known].astype(str).str.strip().to_numpy()
    y_pred = labels[known].to_numpy()
    section["n_labelled"] = int(known.sum())
    wrong = np.flatnonzero(known)[y_true != y_pred]
    wrong = wrong[np.argsort(-conf[wrong], kind="stable")][:top]
    section["most_wrong"] = _ticket_rows(model, frame, name, wrong, pred, truth, terms, id_col)
    support = pd.Series(y_true).value_counts()
    recall = report.get("per_class_recall", {})
    section["recall"] = sorted(({"label": k, "recall": v, "support": int(support.get(k, 0))}
                                for k, v in recall.items()), key=lambda r: (r["recall"], -r["support"]))
    if section["recall"]:
        worst = section["recall"][0]
        mistaken = pd.Series(y_pred[(y_true == worst["label"]) & (y_pred != worst["label"])]).value_counts()
        if len(mistaken):
            worst["confused_with"] = str(mistaken.index[0])
            worst["confused_share"] = float(mistaken.iloc[0]) / max(worst["support"], 1)
    shown = list(support.index[:_MAX_LABELS])
    if model.ordinal_.get(name):
        shown = [c for c in model.ordinal_[name] if c in set(shown) | set(y_pred)][:_MAX_LABELS] or shown
    cm = confusion_matrix(y_true, y_pred, labels=shown)
    cm.set_title(f"{name}: recall per true label")
    caption = "Rows: the true label; columns: the predicted one; each row sums to 1 (recall)."
    if len(support) > len(shown):
        caption += (f" The {len(shown)} most frequent true labels of {len(support)} are shown; every label is in "
                    "the recall table below.")
    section["images"].append({"uri": figure_uri(cm), "alt": f"Confusion matrix of {name}", "caption": caption})
    pc = precision_coverage(y_true, y_pred, conf[known], target_precision=model.target_precision)
    pc.set_title(f"{name}: precision of the decided tickets vs share decided")
    pc.figure.set_size_inches(7.5, 4.4)
    section["images"].append({"uri": figure_uri(pc), "alt": f"Precision and coverage of {name}", "caption": (
        f"Raising the confidence cut hands more tickets to a human and makes the rest more precise. The model's "
        f"cut is {model.thresholds_[name]:.2f} (chosen at training for {100 * model.target_precision:.0f}% "
        "precision).")})
    rd = reliability_diagram(y_true, y_pred, conf[known])
    rd.set_title(f"{name}: calibration")
    rd.figure.set_size_inches(7.5, 4.4)
    section["images"].append({"uri": figure_uri(rd), "alt": f"Reliability diagram of {name}", "caption": (
        "Confidence against how often the model was right, in 10 bins; on the diagonal a confidence of 0.8 is "
        "right 8 times in 10. ECE is the gap, weighted by the tickets in each bin.")})
    return section


def triage_report(model: TriageModel, data: pd.DataFrame, *, targets: Mapping[str, str] | None = None,
                  id_col: str | None = None, top: int = 10, terms: int = 4, title: str | None = None,
                  sources: Mapping[str, str] | None = None) -> Report:
    """An offline HTML report of a triage model on a table of tickets.

    For each target: the metrics of the evaluation guide (accuracy, macro-F1, top-3, calibration
    error, coverage at the model's precision, precision of the decided tickets and, for an
    ordinal target, recall of the critical level), a confusion matrix, the precision/coverage
    curve, the reliability diagram, recall per label (worst first), and two tables of tickets
    with the words behind each decision: the ``top`` least confident, and the ``top`` most
    confidently wrong. A target whose label column is missing gets its predictions only, and the
    page says so.

    Parameters
    ----------
    model : TriageModel
        A fitted model.
    data : DataFrame
        Tickets with the model's text (and feature) columns and, for the metrics, label columns.
    targets : dict, optional
        Target name to label column (default: the columns the model was trained on).
    id_col : str, optional
        The tickets' identifier, shown in the tables (default: the first of ``id``,
        ``ticket_id``, ``incident_id``, ``issue_key``, ``key``, ``number`` in ``data``, else the
        row's position, 1 for the first).
    top : int, default=10
        Tickets in each table.
    terms : int, default=4
        Words shown per ticket.
    title : str, optional
        The page's title.
    sources : dict, optional
        What the report was made from, shown at the top (e.g. ``{"model": "m.incidentml"}``).

    Returns
    -------
    Report
        The page; :meth:`Report.save` writes it.

    Raises
    ------
    SchemaError
        A text column of the model is missing from ``data``, or ``targets`` names a target the
        model does not predict.
    DataError
        ``data`` has no rows.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from incidentml import TriageModel
    >>> from incidentml.datasets import make_tickets
    >>> tickets = make_tickets(240, seed=0)
    >>> model = TriageModel(random_state=0).fit(tickets.iloc[:160], text=["title", "description"],
    ...                                         targets=["category", "team"])
    >>> page = triage_report(model, tickets.iloc[160:])
    >>> page.sections[:3]
    ('Summary', 'category', 'team')
    >>> page.n_images
    6
    """
    if not isinstance(model, TriageModel):
        raise SchemaError(f"triage_report takes a fitted TriageModel; got {type(model).__name__}.")
    manifest = model.manifest()  # raises NotFittedError for a model that was never fitted
    if not isinstance(data, pd.DataFrame):
        raise SchemaError(f"triage_report takes the tickets as a DataFrame; got {type(data).__name__}.")
    if not len(data):
        raise DataError("triage_report: the tickets table has no rows; pass at least one ticket.")
    for name, value in (("top", top), ("terms", terms)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise DataError(f"triage_report: {name} must be a positive integer; got {value!r}.")
    target_map = dict(model.targets_ if targets is None else targets)
    unknown = sorted(set(target_map) - set(model.heads_))
    if unknown:
        raise SchemaError(f"triage_report: target {unknown[0]!r} is not one this model predicts "
                          f"({sorted(model.heads_)}).")
    frame = data
    if id_col is None:
        id_col = next((c for c in _ID_COLUMNS if c in frame.columns), None)
    elif id_col not in frame.columns:
        raise SchemaError(f"triage_report: id_col {id_col!r} is not a column of the data (columns: "
                          f"{list(frame.columns)[:10]}).")
    pred = model.predict(frame)
    present = {n: c for n, c in target_map.items() if c in frame.columns}
    notes = [f"Target {n!r}: the label column {c!r} is not in the data, so only its predictions are shown."
             for n, c in target_map.items() if n not in present]
    reports = model.evaluate(frame, targets=present) if present else {}
    sections = []
    for name in model.heads_:
        if name not in target_map:
            continue
        column = present.get(name)
        section = _target_section(model, frame, name, column, pred, reports.get(name), top, terms, id_col)
        if column is not None and section.get("n_labelled", 0) < len(frame):
            notes.append(f"Target {name!r}: {len(frame) - section['n_labelled']} of {len(frame)} tickets have no "
                         f"label in {column!r}; they are triaged but not scored.")
        sections.append(section)
    toc = ([("notes", "What this report did not use")] if notes else []) + [("summary", "Summary")]
    toc += [(s["anchor"], s["name"]) for s in sections] + [("model", "The model")]
    sub = [f"{len(frame):,} tickets" + (f" from {sources['data']}" if sources and "data" in sources else "")
           + f"; model trained on {model.n_train_rows_:,} tickets"
           + (f" ({sources['model']})" if sources and "model" in sources else "")]
    html = render("triage.html.j2", title=title or "Triage report", subtitle=sub, toc=toc, notes=notes,
                  sections=sections, manifest=manifest, model=model, version=__version__,
                  made_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), n=len(frame),
                  id_label=id_col or "row")
    n_images = sum(len(s["images"]) for s in sections)
    return Report(html=html, title=title or "Triage report",
                  sections=tuple(label for anchor, label in toc if anchor != "notes"),
                  n_images=n_images, notes=tuple(notes))
