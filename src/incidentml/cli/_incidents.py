"""``incidentml incidents``: turn metric rows into predicted incidents (JSON lines)."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from ._common import CLIError, _clean, atomic_output, parse_pairs
from ._fleet import add_fleet_options, run_long_incidents
from ._metrics import add_metric_options, check_detector, check_output, read_metrics

__all__ = ["register"]


def register(jobs: Any) -> None:
    """Add the ``incidents`` job to ``jobs``."""
    p = jobs.add_parser("incidents", help="raise predicted incidents from metric rows (JSON lines)",
                        description="Run an online detector per entity over every numeric column (a metric), "
                                    "debounce and group the anomalies into incidents, forecast breaches of the "
                                    "given limits, and write one incident per line (final state) as JSON.")
    add_metric_options(p, "JSONL file to write: one incident per line")
    p.add_argument("--entity-col", default=None,
                   help="column naming the host/service of each row (default: one entity)")
    p.add_argument("--limit", action="append", default=[], metavar="METRIC=VALUE",
                   help="upper limit of a metric for breach forecasts, e.g. disk_used_pct=95 (repeatable); "
                        "prefix the value with '<' for a lower limit")
    p.add_argument("--horizon", type=float, default=120.0,
                   help="raise a forecast incident when a limit is crossed within this many minutes (default 120)")
    p.add_argument("--combine", choices=("corroborated", "max"), default="corroborated",
                   help="how a host's metrics make its score: 'corroborated' (default) corrects for the number of "
                        "metrics and lets a lone metric open only if the host's history shows that is rare; "
                        "'max' takes the largest per-metric score")
    p.add_argument("--jobs", type=int, default=1,
                   help="entities scored in parallel processes (default 1; -1: all cores); same result")
    p.add_argument("--series-col", default=None,
                   help="long-format input (series, time, value per row; --input may be a glob of CSV/Parquet "
                        "files): the series column; each --entity-col value is a host whose series are its metrics "
                        "(default without --entity-col: each series its own entity)")
    p.add_argument("--value-col", default="value", help="value column of long-format input (default: value)")
    add_fleet_options(p)
    p.set_defaults(func=_incidents)


def _limits(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in parse_pairs(pairs, "--limit").items():
        below = value.startswith("<")
        try:
            number = float(value.lstrip("<>").strip())
        except ValueError:
            raise CLIError(f"--limit {name}={value}: the limit must be a number, e.g. --limit {name}=95.") from None
        if not math.isfinite(number):
            raise CLIError(f"--limit {name}={value}: the limit must be finite.")
        out[name] = {"below": number} if below else number
    return out


def _incidents(args: Any) -> int:
    from ..incidents import IncidentPredictor

    check_detector(args.detector)
    if not args.horizon > 0:
        raise CLIError(f"--horizon must be a positive number of minutes. Got {args.horizon:g}.")
    limits = _limits(args.limit)
    if args.series_col is not None or args.state is not None or args.scheduler is not None:
        args.series_col = args.series_col or "series_id"
        return run_long_incidents(args, {"combine": args.combine, "limits": limits or None,
                                         "horizon": args.horizon * 60.0})
    path = check_output(args.output, [args.input])
    if args.jobs == 0 or args.jobs < -1:
        raise CLIError(f"--jobs must be a positive number of processes, or -1 for all cores. Got {args.jobs}.")
    table = read_metrics(args, entity_col=args.entity_col)
    metrics = table.metrics
    unknown = [m for m in limits if m not in metrics]
    if unknown:
        raise CLIError(f"--limit: metric {unknown[0]!r} is not a numeric column of '{args.input}'.")
    predictor = IncidentPredictor(args.detector, combine=args.combine, limits=limits or None,
                                  horizon=args.horizon * 60.0)
    incidents = predictor.run(table.data[table.used], time_col=args.time_col, entity_col=args.entity_col,
                              metrics=metrics, n_jobs=args.jobs)
    with atomic_output(path, "--output") as fh:
        for inc in incidents:
            fh.write(json.dumps(_clean(inc.to_dict()), allow_nan=False) + "\n")
    n_open = sum(1 for i in incidents if i.status == "open")
    n_used, n = int(table.used.sum()), len(table.frame)
    rows = f"{n} rows" if n_used == n else f"{n_used} of {n} rows"
    sys.stderr.write(f"incidentml: {len(incidents)} incident(s) ({n_open} still open) from {rows} of "
                     f"{table.describe()}{table.notes.summary()}; wrote {path}\n")
    return 0
