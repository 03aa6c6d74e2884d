"""Entry point: argument parsing, dispatch, and one-line error reporting."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings
from collections.abc import Sequence

from .. import __version__
from ..exceptions import IncidentMLError
from . import _detect, _fleet, _history, _incidents, _nab, _report, _triage

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit with status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser of the ``incidentml`` command."""
    parser = _Parser(prog="incidentml", description=(
        "IT incident management with machine learning. Jobs:\n"
        "  triage   train, apply and evaluate incident-text triage models (category, priority, team)\n"
        "  detect   score metric rows for anomalies with an online detector\n"
        "  incidents raise predicted incidents (debounced, grouped, forecast) from metric rows\n"
        "  score    score a long-format fleet (CSV/Parquet, globs) in-process or on Dask, resumable\n"
        "  history  recurring incidents, counts, time to resolve, top faults and post-incident summaries\n"
        "  report   an offline HTML report of a triage model on tickets, or of predicted incidents\n"
        "  nab      score detectors on the Numenta Anomaly Benchmark, or run one over the corpus"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"incidentml {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    jobs = parser.add_subparsers(dest="job", metavar="JOB", parser_class=_Parser)
    _triage.register(jobs)
    _detect.register(jobs)
    _incidents.register(jobs)
    _fleet.register(jobs)
    _history.register(jobs)
    _report.register(jobs)
    _nab.register(jobs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 success, 2 error)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        sub = getattr(args, "_parser", None) or parser
        sub.print_help(sys.stderr if argv else sys.stdout)
        return 0 if not argv else 2
    debug = getattr(args, "debug", False)
    with warnings.catch_warnings():
        warnings.simplefilter("default")

        def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
            sys.stderr.write(f"incidentml: warning: {message}\n")

        warnings.showwarning = show
        try:
            return int(args.func(args) or 0)
        except BrokenPipeError:
            # the reader went away (`incidentml ... | head`): stop quietly, as a shell tool does on SIGPIPE
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 141
        except (IncidentMLError, OSError, ValueError, KeyError, MemoryError, ImportError) as exc:
            if debug:
                traceback.print_exc()
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not isinstance(exc, IncidentMLError):
                text = f"{type(exc).__name__}: {text}"
            sys.stderr.write(f"incidentml: error: {text}\n")
            return 2
        except KeyboardInterrupt:
            sys.stderr.write("incidentml: interrupted\n")
            return 130
        except Exception as exc:  # noqa: BLE001 - never show a bare traceback to a user
            if debug:
                traceback.print_exc()
            sys.stderr.write(f"incidentml: error: unexpected {type(exc).__name__}: {exc} (rerun with --debug)\n")
            return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
