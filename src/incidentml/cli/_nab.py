"""``incidentml nab``: score NAB results and run a detector over the NAB corpus."""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import IncidentMLError
from ._common import CLIError, _clean, write_json

__all__ = ["register"]

_PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expects a finite number, got {text!r}")
    return value


def register(jobs: Any) -> None:
    """Add the ``nab`` job and its subcommands to ``jobs``."""
    nab = jobs.add_parser(
        "nab",
        help="score detectors on the Numenta Anomaly Benchmark (NAB)",
        description="Numenta Anomaly Benchmark: score NAB-layout results exactly as NAB does, or "
        "run an incidentml detector over the corpus and score it.",
    )
    sub = nab.add_subparsers(dest="action", metavar="ACTION", parser_class=type(nab))

    score = sub.add_parser(
        "score", help="score one detector's NAB results at a threshold, or at the best one"
    )
    _corpus_options(score)
    score.add_argument(
        "--results",
        required=True,
        metavar="DIR",
        help="one detector's results folder: <category>/<detector>_<file>.csv with columns "
        "timestamp, anomaly_score",
    )
    score.add_argument(
        "--profile", default="standard", choices=_PROFILES, help="NAB profile (default standard)"
    )
    how = score.add_mutually_exclusive_group(required=True)
    how.add_argument(
        "--threshold",
        type=_finite_float,
        metavar="T",
        help="detection threshold: a row is detected when anomaly_score >= T",
    )
    how.add_argument(
        "--optimize",
        action="store_true",
        help="use the threshold with the best score on the whole corpus (NAB's exhaustive sweep)",
    )
    score.add_argument("--json", metavar="PATH", help="also write the JSON result to this file")
    score.set_defaults(func=_score)

    run = sub.add_parser(
        "run", help="run a detector over every NAB file, write NAB-layout results and score them"
    )
    _corpus_options(run)
    run.add_argument(
        "--detector",
        default="default",
        metavar="NAME",
        help="detector name for incidentml.anomaly.make_detector (default 'default')",
    )
    run.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="results folder to write: DIR/<category>/<detector>_<file>.csv",
    )
    run.add_argument("--json", metavar="PATH", help="also write the JSON result to this file")
    run.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="parallel processes, one file each (default: all CPUs; -1 also means all)",
    )
    run.set_defaults(func=_run)
    nab.set_defaults(func=None, _parser=nab)


def _corpus_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", required=True, metavar="DIR", help="NAB's data/ folder (<category>/<file>.csv)"
    )
    parser.add_argument(
        "--labels", required=True, metavar="FILE", help="NAB windows file, e.g. labels/combined_windows.json"
    )


def _load_corpus(args: argparse.Namespace) -> Any:
    from ..evaluation import load_nab_corpus

    if not Path(args.data).is_dir():
        raise CLIError(f"--data: folder '{args.data}' does not exist. Give NAB's data/ folder.")
    if not Path(args.labels).is_file():
        raise CLIError(
            f"--labels: file '{args.labels}' does not exist. Give NAB's labels/combined_windows.json."
        )
    return load_nab_corpus(args.data, args.labels)


def _emit(result: dict[str, Any], path: str | None) -> None:
    """Print the result as one JSON line on stdout and write it (indented) to ``path`` when given."""
    if path is not None:
        write_json(result, path)
    print(json.dumps(_clean(result)))


def _score(args: argparse.Namespace) -> int:
    from ..evaluation import nab_results_paths, optimize_threshold, read_nab_results, score_corpus

    if not Path(args.results).is_dir():
        raise CLIError(
            f"--results: folder '{args.results}' does not exist. Give one detector's NAB results folder."
        )
    if args.json is not None and not Path(args.json).parent.exists():
        raise CLIError(f"--json: folder '{Path(args.json).parent}' does not exist. Create it first.")
    corpus = _load_corpus(args)
    detector, _ = nab_results_paths(args.results, corpus)
    scores = read_nab_results(args.results, corpus, detector=detector)
    threshold = optimize_threshold(scores, corpus, args.profile)[0] if args.optimize else args.threshold
    report = score_corpus(scores, corpus, args.profile, threshold)
    result = {
        "profile": args.profile,
        "threshold": report["threshold"],
        "raw": report["raw"],
        "normalized": report["normalized"],
        "optimized": bool(args.optimize),
        "detector": detector,
        "files": len(corpus),
        "windows": report["n_windows"],
        "detected_windows": report["tp"],
        "missed_windows": report["fn"],
        "false_positive_rows": report["fp"],
    }
    _emit(result, args.json)
    return 0


def _run(args: argparse.Namespace) -> int:
    from ..evaluation import nab_report

    jobs = (os.cpu_count() or 1) if args.jobs in (None, -1) else args.jobs
    if jobs < 1:
        raise CLIError(
            f"--jobs must be a positive number of processes (or -1 for all CPUs). Got {args.jobs}."
        )
    if args.json is not None and not Path(args.json).parent.exists():
        raise CLIError(f"--json: folder '{Path(args.json).parent}' does not exist. Create it first.")
    try:
        from ..anomaly import make_detector
    except ImportError as exc:
        raise CLIError(
            f"--detector: the detectors (incidentml.anomaly.make_detector) are not available ({exc})."
        ) from None
    if not args.detector or any(c in args.detector for c in "/\\"):
        raise CLIError(f"--detector: {args.detector!r} cannot be used in a file name. Use a plain name.")
    make_detector(args.detector)  # an unknown name fails here, with the detector module's own message
    corpus = _load_corpus(args)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"--out: cannot create folder '{out}' ({exc.strerror}).") from None

    from ..evaluation import run_nab_detector

    try:
        scores, seconds = run_nab_detector(
            corpus, args.detector, jobs=jobs,
            on_file=lambda key, file_scores: _write_results(out, args.detector, key, corpus[key], file_scores))
    except IncidentMLError as exc:
        raise CLIError(f"--detector {args.detector}: {exc}") from exc
    report = nab_report(scores, corpus)
    result = {
        "detector": args.detector,
        **report,
        "points_per_second": corpus.n_rows / seconds if seconds > 0 else float("inf"),
        "files": len(corpus),
        "rows": corpus.n_rows,
        "detector_seconds": seconds,
        "jobs": jobs,
        "out": str(out),
    }
    _emit(result, args.json)
    return 0


def _write_results(out: Path, detector: str, key: str, f: Any, scores: np.ndarray) -> None:
    category, _, name = key.rpartition("/")
    folder = out / category if category else out
    folder.mkdir(parents=True, exist_ok=True)
    stamps = pd.DatetimeIndex(f.timestamps)
    fmt = (
        "%Y-%m-%d %H:%M:%S.%f"
        if (stamps.microsecond != 0).any() or (stamps.nanosecond != 0).any()
        else "%Y-%m-%d %H:%M:%S"
    )
    pd.DataFrame({"timestamp": stamps.strftime(fmt), "value": f.values, "anomaly_score": scores}).to_csv(
        folder / f"{detector}_{name}", index=False
    )
