"""``incidentml history``: recurring incidents, counts, time to resolve and top faults of a history."""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import SkippedRowsWarning
from ..utils import parse_times
from ._common import CLIError, Notes, add_strict_option, check_output_path, read_table, write_output_text

__all__ = ["register"]

_JSONL = (".jsonl", ".ndjson", ".json")


def register(jobs: Any) -> None:
    """Add the ``history`` job to ``jobs``."""
    p = jobs.add_parser("history", help="patterns of an incident history: recurring incidents, counts, time to "
                                        "resolve, top faults, post-incident summaries",
                        description="Read past tickets (CSV) or predicted incidents (the JSONL of 'incidentml "
                                    "incidents') and write, as CSV tables plus summary.md: recurring incidents "
                                    "(groups of near-duplicates), counts by category, team and priority over "
                                    "time, time to resolve, the entities and metrics most often at fault, and "
                                    "post-incident summaries of the incidents named by --incident. A column "
                                    "option left out is found among the usual names (listed per option).")
    p.add_argument("--data", required=True, help="CSV of past tickets, or JSONL of predicted incidents")
    p.add_argument("--out", required=True, help="folder to write the tables and summary.md into (created if "
                                                "missing; its parent must exist)")
    p.add_argument("--text", action="append", metavar="COL", default=None,
                   help="text column (repeatable; default: title + description, else Document, text, title or "
                        "summary)")
    p.add_argument("--id-col", default=None, help="identifier (default: id, ticket_id, incident_id, issue_key...)")
    p.add_argument("--time-col", default=None,
                   help="when each incident opened (default: opened_at, created_at, created, raised_at, onset...)")
    p.add_argument("--resolved-col", default=None, help="when it was resolved (default: resolved_at, closed_at...)")
    p.add_argument("--category-col", default=None, help="category (default: category, Topic_group, kind, type)")
    p.add_argument("--team-col", default=None,
                   help="resolver team (default: team, assignment_group, service, business_service, entity)")
    p.add_argument("--priority-col", default=None, help="priority (default: priority, severity, urgency)")
    p.add_argument("--resolution-col", default=None,
                   help="how it was resolved (default: resolution, resolution_notes, close_notes...)")
    p.add_argument("--freq", default="W", help="period of the counts over time: D, W, M... (default W)")
    p.add_argument("--threshold", type=float, default=0.6,
                   help="similarity at which two incidents are the same problem (default 0.6)")
    p.add_argument("--incident", action="append", metavar="ID", default=[],
                   help="also write post_incident_<ID>.md for this incident id (repeatable)")
    p.add_argument("--encoding", default=None,
                   help="text encoding of a CSV --data (default: UTF-8; a file that is not is refused), e.g. latin-1")
    add_strict_option(p)
    p.set_defaults(func=_history)


def _read(path: Path, encoding: str | None = None) -> tuple[pd.DataFrame, int]:
    if path.suffix.lower() in _JSONL:
        from ..history import read_incidents

        if not path.exists():
            raise CLIError(f"--data: file '{path}' does not exist. Check the path.")
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            frame = read_incidents(path)
        if frame.empty:
            raise CLIError(f"--data: '{path}' holds no incidents (one JSON object with an 'entity' per line).")
        return frame, int(frame.attrs.get("skipped", 0))
    return read_table(path, encoding=encoding, encoding_option="--encoding"), 0


def _unreadable(col: pd.Series) -> int:
    """Cells that hold something but are not a timestamp (read as every route reads them)."""
    if col.dtype.kind in "iufM" or isinstance(col.dtype, pd.DatetimeTZDtype):
        return 0
    given = (col.notna() & (col.astype(str).str.strip() != "")).to_numpy()
    parsed = parse_times(col, name=str(col.name), errors="coerce")
    return int((given & np.isnan(parsed)).sum())


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "incident"


def _history(args: argparse.Namespace) -> int:
    from ..history import (
        HistoryColumns,
        incident_counts,
        markdown_table,
        post_incident_summary,
        recurring_incidents,
        time_to_resolve,
        top_entities,
        top_metrics,
    )

    data = Path(args.data)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out: '{out}' is a file; give a folder to write the tables into.")
    if not out.exists() and not out.parent.exists():
        raise CLIError(f"--out: the parent folder '{out.parent}' does not exist. Create it first.")
    if not 0 < args.threshold <= 1:
        raise CLIError(f"--threshold must be in (0, 1]. Got {args.threshold:g}.")
    try:
        pd.tseries.frequencies.to_offset(args.freq)
    except ValueError:
        raise CLIError(f"--freq: {args.freq!r} is not a pandas period (use D, W, M, Q or Y).") from None
    names = ["recurring", "counts_category", "counts_team", "counts_priority", "time_to_resolve", "top_entities",
             "top_metrics"]
    planned = [out / f"{n}.csv" for n in names] + [out / "summary.md"]
    planned += [out / f"post_incident_{_safe(i)}.md" for i in args.incident]
    if out.exists():  # every file this run may write, checked before any work
        for target in planned:
            check_output_path(target, "--out", [data])
    frame, skipped_lines = _read(data, args.encoding)
    cols = HistoryColumns(id_col=args.id_col, text=args.text, time_col=args.time_col,
                          resolved_col=args.resolved_col, category_col=args.category_col, team_col=args.team_col,
                          priority_col=args.priority_col, resolution_col=args.resolution_col).resolve(frame)
    if not cols.text:
        shown = ", ".join(repr(str(c)) for c in list(frame.columns)[:12])
        raise CLIError(f"--text: no text column found in '{data}' (columns: {shown}). Name one with --text COL.")
    notes: list[str] = []
    strict = Notes(args.strict, f"--data '{data}'")
    if skipped_lines:
        notes.append(f"skipped {skipped_lines} line(s) that are not incident objects")
        if args.strict:
            strict.add(notes[-1], SkippedRowsWarning)
    has_text = frame[cols.text].astype(str).where(frame[cols.text].notna(), "").apply(
        lambda s: s.str.strip().str.len() > 0).any(axis=1)
    n_empty = int((~has_text).sum())
    if n_empty:
        notes.append(f"skipped {n_empty} row(s) with no text in {', '.join(cols.text)}")
        if args.strict:
            strict.add(notes[-1], SkippedRowsWarning)
        frame = frame[has_text.to_numpy()].reset_index(drop=True)
    if frame.empty:
        raise CLIError(f"--data: no usable rows in '{data}' ({'; '.join(notes) or 'the file has no rows'}).")
    for role, col in (("open", cols.time_col), ("resolve", cols.resolved_col)):
        if col is not None:
            bad = _unreadable(frame[col])
            if bad:
                notes.append(f"{bad} row(s) have an unreadable {role} time in {col!r} (left out of the time tables)")
                if args.strict:
                    strict.add(notes[-1], SkippedRowsWarning)
    for note in notes:
        sys.stderr.write(f"incidentml: note: {note}\n")

    try:
        out.mkdir(exist_ok=True)
    except OSError as exc:
        raise CLIError(f"--out: cannot create the folder '{out}' ({exc.strerror}).") from None
    tables: dict[str, pd.DataFrame] = {}
    tables["recurring"] = recurring_incidents(frame, threshold=args.threshold, text=cols.text, id_col=cols.id_col,
                                              time_col=cols.time_col, category_col=cols.category_col,
                                              team_col=cols.team_col, priority_col=cols.priority_col)
    for role, col in (("category", cols.category_col), ("team", cols.team_col), ("priority", cols.priority_col)):
        if col is not None:
            tables[f"counts_{role}"] = incident_counts(frame, col, freq=args.freq if cols.time_col else None,
                                                       time_col=cols.time_col)
    if cols.time_col is not None and cols.resolved_col is not None:
        by = cols.team_col or cols.category_col
        tables["time_to_resolve"] = time_to_resolve(frame, by=by, time_col=cols.time_col,
                                                    resolved_col=cols.resolved_col)
    if "entity" in frame.columns:
        tables["top_entities"] = top_entities(frame)
    if "metrics" in frame.columns:
        tables["top_metrics"] = top_metrics(frame)
    summaries = []
    for ident in args.incident:
        summaries.append((ident, post_incident_summary(
            frame, ident, id_col=cols.id_col, text=cols.text, time_col=cols.time_col, resolved_col=cols.resolved_col,
            category_col=cols.category_col, team_col=cols.team_col, priority_col=cols.priority_col,
            resolution_col=cols.resolution_col)))

    targets = [out / f"{name}.csv" for name in tables] + [out / "summary.md"]
    targets += [out / f"post_incident_{_safe(i)}.md" for i, _ in summaries]
    for target in targets:
        check_output_path(target, "--out", [data])
    written = []
    for name, table in tables.items():
        path = out / f"{name}.csv"
        write_output_text(path, table.to_csv(index=False), "--out")
        written.append(path)
    for ident, s in summaries:
        path = out / f"post_incident_{_safe(ident)}.md"
        write_output_text(path, s.to_markdown(), "--out")
        written.append(path)
    md = [f"# Incident history: {data.name}", "",
          f"{len(frame)} incidents used" + (f" ({'; '.join(notes)})" if notes else "") + ".", "",
          "Columns: " + ", ".join(f"{k} = {v}" for k, v in (
              ("text", " + ".join(cols.text)), ("id", cols.id_col), ("time", cols.time_col),
              ("resolved", cols.resolved_col), ("category", cols.category_col), ("team", cols.team_col),
              ("priority", cols.priority_col), ("resolution", cols.resolution_col)) if v) + "."]
    rec = tables["recurring"]
    md += ["", f"## Recurring incidents ({len(rec)} groups of near-duplicates, similarity >= {args.threshold:g})", "",
           markdown_table(rec.drop(columns=["members"], errors="ignore"), max_rows=10)]
    for role in ("category", "team", "priority"):
        t = tables.get(f"counts_{role}")
        if t is not None:
            col = t.columns[1] if "period" in t.columns else t.columns[0]
            totals = t.groupby(col)["count"].sum().sort_values(ascending=False).rename("count").reset_index()
            md += ["", f"## Incidents by {role} ({col})", "", markdown_table(totals, max_rows=10)]
    for name, title in (("time_to_resolve", "Time to resolve (hours)"), ("top_entities", "Entities most at fault"),
                        ("top_metrics", "Metrics most at fault")):
        if name in tables:
            md += ["", f"## {title}", "", markdown_table(tables[name], max_rows=10)]
    if summaries:
        md += ["", "## Post-incident summaries", ""] + [f"- post_incident_{_safe(i)}.md" for i, _ in summaries]
    summary_path = out / "summary.md"
    write_output_text(summary_path, "\n".join(md) + "\n", "--out")
    written.append(summary_path)
    print(f"history of {len(frame)} incidents from {data}: {len(rec)} recurring group(s); wrote "
          f"{len(written)} file(s) to {out}:")
    for path in written:
        print(f"  {path}")
    return 0
