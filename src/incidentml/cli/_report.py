"""``incidentml report``: one self-contained HTML page about a triage model or predicted incidents."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from ..exceptions import SkippedRowsWarning
from ._common import CLIError, add_trust_option, check_output_path, read_table

__all__ = ["register"]


def register(jobs: Any) -> None:
    """Add the ``report`` job to ``jobs``."""
    p = jobs.add_parser(
        "report", help="an offline HTML report of a triage model on tickets, or of predicted incidents",
        description="Write one self-contained HTML page (images inline, no scripts, no network; readable on a phone "
                    "and a laptop, with a table of contents).\n"
                    "  triage:    incidentml report --model MODEL --data CSV --out report.html\n"
                    "             metrics per target, confusion matrix, precision/coverage and calibration plots, the "
                    "least confident and the most confidently wrong tickets with the words behind each decision.\n"
                    "  incidents: incidentml report --incidents JSONL --input CSV --out report.html [--model MODEL]\n"
                    "             an overview of every entity's metrics with the incidents, then per incident its "
                    "timeline, contributing metrics, breach forecast, summary and (with --model) its triage.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="HTML file to write (its folder must exist; never an input)")
    p.add_argument("--model", help="triage model file ('incidentml triage train'); required with --data, optional "
                                   "with --incidents (then each incident is triaged)")
    p.add_argument("--data", help="triage report: CSV of tickets (label columns, when present, are scored)")
    p.add_argument("--id-col", default=None,
                   help="triage report: ticket id column shown in the tables (default: id, ticket_id, ... if present)")
    p.add_argument("--top", type=int, default=10, help="triage report: tickets per table (default 10)")
    p.add_argument("--incidents", help="incidents report: the JSONL that 'incidentml incidents' writes")
    p.add_argument("--input", help="incidents report: the metric CSV the incidents were raised from (wide: a time "
                                   "column, optionally an entity column, one numeric column per metric)")
    p.add_argument("--time-col", default="timestamp", help="incidents report: time column of --input "
                                                          "(default: timestamp)")
    p.add_argument("--entity-col", default=None, help="incidents report: entity column of --input (default: none)")
    p.add_argument("--windows", default=None,
                   help="incidents report: known anomaly windows, to show which were caught: a JSON list of "
                        "[onset, end] pairs (or {\"windows\": [...]}), or a CSV with onset and end columns")
    p.add_argument("--early-margin", type=float, default=None, metavar="MINUTES",
                   help="incidents report: minutes before a window's onset that still count as catching it "
                        "(default: 60 for minute data, 360 for hourly)")
    p.add_argument("--max-incidents", type=int, default=20,
                   help="incidents report: incidents drawn in full, most severe first (default 20; the rest are "
                        "listed)")
    p.add_argument("--title", default=None, help="the page's title")
    add_trust_option(p)
    p.set_defaults(func=_report)


def _out_path(args: argparse.Namespace, inputs: list[str]) -> Path:
    """``--out`` checked before any work: a regular file or a new one, in a folder that exists, never an input."""
    return check_output_path(args.out, "--out", [i for i in inputs if i])


def _load_model(path: str, trusted: bool = False) -> Any:
    from ..triage import TriageModel

    return TriageModel.load(path, trusted=trusted)


def _read_incidents(path: str) -> tuple[list[dict[str, Any]], int]:
    file = Path(path)
    if not file.is_file():
        raise CLIError(f"--incidents: file '{file}' does not exist. Check the path (the JSONL of "
                       "'incidentml incidents').")
    records, bad, first_bad = [], 0, None
    with file.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                rec = None
            if isinstance(rec, dict) and all(rec.get(k) is not None for k in ("id", "entity", "raised_at", "onset")):
                records.append(rec)
            else:
                bad += 1
                first_bad = first_bad or n
    if bad:
        warnings.warn(f"--incidents: {bad} line(s) of '{file}' are not incidents (first: line {first_bad}) and "
                      "were not used", SkippedRowsWarning, stacklevel=1)
    return records, bad


def _read_windows(path: str) -> list[Any]:
    file = Path(path)
    if not file.is_file():
        raise CLIError(f"--windows: file '{file}' does not exist.")
    if file.suffix.lower() == ".csv":
        frame = read_table(file, what="--windows")
        start = next((c for c in ("onset", "start", "begin") if c in frame.columns), None)
        if start is None or "end" not in frame.columns:
            raise CLIError(f"--windows: '{file}' needs columns onset (or start) and end; it has "
                           f"{', '.join(map(str, frame.columns))}.")
        return frame[[start, "end"]].values.tolist()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CLIError(f"--windows: '{file}' is not JSON ({exc}). Give a list of [onset, end] pairs.") from None
    if isinstance(data, dict):
        data = data.get("windows")
    if not isinstance(data, list):
        raise CLIError(f"--windows: '{file}' must hold a list of [onset, end] pairs (or {{\"windows\": [...]}}).")
    return data


def _report(args: argparse.Namespace) -> int:
    if (args.data is None) == (args.incidents is None):
        raise CLIError("give either --data (a triage report, with --model) or --incidents (an incidents report, "
                       "with --input), not both or neither. See 'incidentml report --help'.")
    if args.data is not None:
        return _triage_report(args)
    return _incidents_report(args)


def _written(out: Path, page: Any) -> int:
    for note in page.notes:
        sys.stderr.write(f"incidentml: note: {note}\n")
    size = out.stat().st_size
    print(f"wrote {out} ({size / 1024:,.0f} KB, {page.n_images} images, {len(page.sections)} sections); open it in "
          "any browser, offline")
    return 0


def _triage_report(args: argparse.Namespace) -> int:
    from ..report import triage_report

    if args.model is None:
        raise CLIError("--data needs --model: the triage model file to report on.")
    if args.top < 1:
        raise CLIError(f"--top must be a positive number of tickets. Got {args.top}.")
    out = _out_path(args, [args.model, args.data])
    model = _load_model(args.model, args.trust_model)
    frame = read_table(args.data)
    if frame.empty:
        raise CLIError(f"--data: '{args.data}' has a header but no rows.")
    missing = [c for c in model.text_columns_ if c not in frame.columns]
    if missing:
        raise CLIError(f"--data: the model reads text column(s) {missing} that '{args.data}' lacks (columns: "
                       f"{', '.join(map(str, list(frame.columns)[:10]))}).")
    page = triage_report(model, frame, id_col=args.id_col, top=args.top, title=args.title,
                         sources={"data": str(args.data), "model": str(args.model)})
    page.save(out, inputs=[args.model, args.data])
    return _written(out, page)


def _incidents_report(args: argparse.Namespace) -> int:
    from ..report import incidents_report

    if args.input is None:
        raise CLIError("--incidents needs --input: the metric CSV the incidents were raised from.")
    if args.max_incidents < 0:
        raise CLIError(f"--max-incidents must be 0 or more. Got {args.max_incidents}.")
    inputs = [args.incidents, args.input] + [p for p in (args.model, args.windows) if p]
    out = _out_path(args, inputs)
    records, _ = _read_incidents(args.incidents)
    frame = read_table(args.input, what="--input")
    for col, opt in ((args.time_col, "--time-col"), (args.entity_col, "--entity-col")):
        if col is not None and col not in frame.columns:
            raise CLIError(f"{opt}: column {col!r} is not in '{args.input}' (columns: "
                           f"{', '.join(map(str, list(frame.columns)[:10]))}). Name it with {opt}.")
    if frame.empty:
        raise CLIError(f"--input: '{args.input}' has a header but no rows.")
    model = _load_model(args.model, args.trust_model) if args.model else None
    windows = _read_windows(args.windows) if args.windows else None
    margin = None if args.early_margin is None else args.early_margin * 60.0
    if margin is not None and margin < 0:
        raise CLIError(f"--early-margin must be 0 or more minutes. Got {args.early_margin:g}.")
    page = incidents_report(records, frame, time_col=args.time_col, entity_col=args.entity_col, model=model,
                            windows=windows, early_margin=margin, max_incidents=args.max_incidents,
                            title=args.title, sources={"incidents": str(args.incidents), "metrics": str(args.input)})
    page.save(out, inputs=inputs)
    return _written(out, page)
