"""``incidentml score`` and the fleet options of ``incidentml incidents``: long-format fleets at scale."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

from ._common import CLIError, _clean, add_strict_option, atomic_output, check_output_path
from ._metrics import check_detector

__all__ = ["add_fleet_options", "open_scheduler", "register", "run_long_incidents"]


def add_fleet_options(p: Any) -> None:
    """``--state``, ``--scheduler`` and ``--workers``."""
    p.add_argument("--state", default=None, metavar="DIR",
                   help="state directory: resume every series where the last run stopped, and save it at the end "
                        "(rows not newer than the saved state are reported and not used)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS|local",
                   help="run on Dask: 'local' starts a LocalCluster of worker processes, an address "
                        "(tcp://host:8786) connects to a running scheduler; default: in-process on all cores")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes in-process or LocalCluster workers (default: all cores)")


def register(jobs: Any) -> None:
    """Add the ``score`` job to ``jobs``."""
    from ..anomaly import available_detectors

    p = jobs.add_parser("score", help="score a long-format fleet (CSV/Parquet, globs) for anomalies, at scale",
                        description="Score every point of a long-format fleet (series_id, timestamp, value) with "
                                    "one online detector per series, in bounded memory, in-process on all cores or "
                                    "on a Dask cluster. Writes the key columns plus score and is_anomaly (Parquet "
                                    "when --output ends in .parquet, else CSV).")
    p.add_argument("--input", required=True, metavar="PATH_OR_GLOB",
                   help="CSV or Parquet file, folder, or glob such as 'data/*.parquet' (quote it)")
    p.add_argument("--output", required=True, metavar="PATH", help="output file (.parquet or .csv)")
    p.add_argument("--series-col", default="series_id", help="series column (default: series_id)")
    p.add_argument("--time-col", default="timestamp", help="time column (default: timestamp)")
    p.add_argument("--time-format", default=None, metavar="FORMAT",
                   help="exact strptime format of text timestamps, e.g. '%%d/%%m/%%Y %%H:%%M' (default: ISO 8601, "
                        "epoch numbers by magnitude, day-first dates decided from the column)")
    p.add_argument("--value-col", default="value", help="value column (default: value)")
    p.add_argument("--entity-col", default=None, metavar="COL", help="optional host/service column, kept in the output")
    p.add_argument("--detector", default="default",
                   help=f"detector name (default: default; one of {', '.join(available_detectors())})")
    p.add_argument("--threshold", type=float, default=None, help="is_anomaly cut on the score (default 0.5)")
    p.add_argument("--chunk-rows", type=int, default=None, metavar="N",
                   help="rows read at a time in-process (default 2,000,000): memory grows with it")
    add_fleet_options(p)
    add_strict_option(p)
    p.set_defaults(func=_score)


def _check_workers(workers: int | None) -> None:
    if workers is not None and workers < 1:
        raise CLIError(f"--workers must be a positive number of processes. Got {workers}.")


@contextlib.contextmanager
def open_scheduler(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """``None`` in-process; a Client on a new LocalCluster for ``local``; a Client of an address otherwise."""
    if scheduler is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise CLIError("--scheduler needs Dask: pip install 'incidentml[dask]'.") from None
    if scheduler == "local":
        n = workers or max(1, os.cpu_count() or 1)
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                Client(cluster) as client:
            sys.stderr.write(f"incidentml: Dask LocalCluster of {n} worker process(es); dashboard "
                             f"{client.dashboard_link}\n")
            yield client
        return
    if "://" not in scheduler and ":" not in scheduler:
        raise CLIError(f"--scheduler: {scheduler!r} is neither 'local' nor an address such as tcp://host:8786.")
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise CLIError(f"--scheduler: cannot connect to {scheduler} ({exc}).") from None
    with client:
        if workers is not None:
            sys.stderr.write("incidentml: warning: --workers is ignored with a scheduler address (the cluster has "
                             "its own workers)\n")
        yield client


def _score(args: Any) -> int:
    from ..fleet import score_files

    check_detector(args.detector)
    _check_workers(args.workers)
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise CLIError(f"--threshold must be between 0 and 1. Got {args.threshold:g}.")
    if args.chunk_rows is not None and args.chunk_rows < 1:
        raise CLIError(f"--chunk-rows must be a positive number of rows. Got {args.chunk_rows}.")
    extra: dict[str, Any] = {}
    if args.threshold is not None:
        extra["threshold"] = args.threshold
    if args.chunk_rows is not None:
        extra["chunk_rows"] = args.chunk_rows
    from ..fleet import expand_inputs

    check_output_path(args.output, "--output", expand_inputs(args.input))
    with _reading(args), open_scheduler(args.scheduler, args.workers) as client:
        summary = score_files(args.input, args.output, args.detector, series_col=args.series_col,
                              time_col=args.time_col, value_col=args.value_col, entity_col=args.entity_col,
                              state=args.state, n_jobs=args.workers or -1, scheduler=client, strict=args.strict,
                              time_format=args.time_format, **extra)
    skipped = sum(summary["skipped"].values())
    state = summary["state"]
    rows = f"{summary['rows']}" if not skipped else f"{summary['rows'] - skipped} of {summary['rows']}"
    sys.stderr.write(f"incidentml: scored {rows} rows of {summary['series']} series; {summary['anomalies']} at "
                     f"or above the threshold; {skipped} "
                     f"row(s) not used{_reasons(summary['skipped'])}; wrote {summary['output']}"
                     + (f"; state {state['path']} (generation {state['generation']})" if state else "") + "\n")
    return 0


def _reasons(counts: dict[str, int]) -> str:
    """`` (2 with no series id, 1 with no timestamp)`` for the summary line."""
    reasons = {"no_series": "no series id or entity", "no_time": "no timestamp",
               "stale": "a time not newer than the saved state"}
    parts = [f"{n} with {reasons.get(k, k)}" for k, n in counts.items() if n]
    return f" ({', '.join(parts)})" if parts else ""


@contextlib.contextmanager
def _reading(args: Any) -> Iterator[None]:
    """Input and output failures of the fleet readers and writers as one line naming the path."""
    import errno

    try:
        yield
    except UnicodeDecodeError as exc:
        raise CLIError(f"--input: '{args.input}' is not UTF-8 text ({exc.reason} at byte {exc.start}). Convert it to "
                       "UTF-8.") from None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO):
            raise CLIError(f"--output: cannot write '{args.output}' ({exc.strerror}); the previous file, if any, is "
                           "unchanged.") from None
        raise


def run_long_incidents(args: Any, predictor_params: dict[str, Any]) -> int:
    """``incidentml incidents`` on long-format input (``--series-col``), optionally on Dask and resumable."""
    from ..fleet import expand_inputs, iter_chunks, predict_incidents, read_dask

    check_detector(args.detector)
    _check_workers(args.workers)
    files = expand_inputs(args.input)
    out = check_output_path(args.output, "--output", files)
    cols = [args.series_col, args.time_col, args.value_col] + ([args.entity_col] if args.entity_col else [])
    kw = dict(series_col=args.series_col, time_col=args.time_col, value_col=args.value_col,
              entity_col=args.entity_col, strict=getattr(args, "strict", False),
              time_format=getattr(args, "time_format", None), **predictor_params)
    with _reading(args), open_scheduler(args.scheduler, args.workers) as client:
        if client is not None:
            incidents = predict_incidents(read_dask(files, cols), args.detector, state=args.state, **kw)
        else:
            import pandas as pd

            frame = pd.concat(list(iter_chunks(files, cols)), ignore_index=True)
            incidents = predict_incidents(frame, args.detector, state=args.state, n_jobs=args.workers or -1, **kw)
    with atomic_output(out, "--output") as fh:
        for row in incidents.to_dict("records"):
            fh.write(json.dumps(_clean(row), default=str, allow_nan=False) + "\n")
    n_open = int((incidents["status"] == "open").sum()) if len(incidents) else 0
    counts = incidents.attrs.get("skipped", {})
    sys.stderr.write(f"incidentml: {len(incidents)} incident(s) ({n_open} still open) from "
                     f"{incidents['entity'].nunique() if len(incidents) else 0} entit(ies) with incidents; "
                     f"{sum(counts.values())} row(s) not used{_reasons(counts)}; wrote {out}\n")
    return 0
