"""Patterns of an incident history: recurring incidents, counts over time, time to resolve, top faults."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError, InvalidParameterError, SchemaError, SkippedRowsWarning
from ._columns import CANDIDATES, HistoryColumns, labels, mode, times
from ._similar import SimilarIncidents

__all__ = ["incident_counts", "read_incidents", "recurring_incidents", "time_to_resolve", "top_entities",
           "top_metrics"]

_TIME_KEYS = ("raised_at", "onset", "resolved_at", "updated_at")


def _check_frame(history: Any, where: str) -> pd.DataFrame:
    if not isinstance(history, pd.DataFrame):
        msg = f"{where} expects a DataFrame of incidents (one per row); got {type(history).__name__}."
        raise SchemaError(msg)
    return history


def _title(rec: dict[str, Any]) -> str:
    names = [str(m.get("name")) for m in rec.get("metrics") or [] if isinstance(m, dict)]
    head = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    what = "forecast breach" if rec.get("kind") == "forecast" else "anomaly"
    return f"{rec.get('severity', '')} {rec.get('entity', '')}: {head or 'metrics'} {what}".strip()


def read_incidents(source: str | os.PathLike[str] | Iterable[str], *, strict: bool = False) -> pd.DataFrame:
    """Read predicted incidents (the JSONL of ``incidentml incidents``) into a history frame.

    Parameters
    ----------
    source : path or iterable of str
        A JSONL file with one :meth:`Incident.to_dict() <incidentml.Incident.to_dict>` per line,
        or the lines themselves.
    strict : bool, default=False
        Raise :class:`~incidentml.exceptions.DataError` on a line that is not an incident
        object; by default such lines are skipped with a
        :class:`~incidentml.exceptions.SkippedRowsWarning` that counts them (blank lines are
        ignored silently).

    Returns
    -------
    DataFrame
        One row per incident: every field of ``to_dict`` (``id``, ``entity``, ``severity``,
        ``metrics`` as a list of dicts, ``summary``...), ``raised_at``/``onset``/``resolved_at``/
        ``updated_at`` as UTC timestamps, plus ``title`` (as :meth:`Incident.to_ticket
        <incidentml.Incident.to_ticket>` writes it), ``metric_names`` (space separated) and
        ``top_metric``. ``attrs["skipped"]`` counts the skipped lines.

    Examples
    --------
    >>> from incidentml import Incident
    >>> inc = Incident(id="db-1-0001", entity="db-1", raised_at=600.0, onset=0.0, resolved_at=3600.0,
    ...                severity="P2", metrics=[{"name": "cpu", "contribution": 1.0, "first_at": 0.0, "peak": 0.9}])
    >>> h = read_incidents([inc.to_json()])
    >>> h.loc[0, ["id", "title", "top_metric"]].tolist()
    ['db-1-0001', 'P2 db-1: cpu anomaly', 'cpu']
    >>> str(h.loc[0, "resolved_at"])
    '1970-01-01 01:00:00+00:00'
    """
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            msg = f"read_incidents: file '{path}' does not exist. Give the JSONL written by 'incidentml incidents'."
            raise DataError(msg)
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    else:
        lines = list(source)
    records = []
    bad: list[int] = []
    for n, line in enumerate(lines, start=1):
        if not str(line).strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            rec = None
        if not isinstance(rec, dict) or "entity" not in rec:
            bad.append(n)
            continue
        records.append(rec)
    if bad:
        msg = (f"read_incidents: {len(bad)} line(s) are not incident objects with an 'entity' (first: line "
               f"{bad[0]}); they were skipped.")
        if strict:
            raise DataError(msg.replace("they were skipped.", "fix or remove them (or pass strict=False)."))
        warnings.warn(msg, SkippedRowsWarning, stacklevel=2)
    frame = pd.DataFrame.from_records(records)
    for key in ("id", "entity", "severity", "summary", "kind", "status"):
        if key not in frame.columns:
            frame[key] = pd.Series([None] * len(frame), dtype=object)
    if "metrics" not in frame.columns:
        frame["metrics"] = [[] for _ in range(len(frame))]
    frame["metrics"] = [m if isinstance(m, list) else [] for m in frame["metrics"]]
    for key in _TIME_KEYS:
        if key in frame.columns:
            frame[key] = times(frame, key)
    frame["title"] = [_title(r) for r in records]
    frame["metric_names"] = [" ".join(str(m.get("name")) for m in ms if isinstance(m, dict)) for ms in frame["metrics"]]
    frame["top_metric"] = [str(ms[0].get("name")) if ms and isinstance(ms[0], dict) else None
                           for ms in frame["metrics"]]
    frame.attrs["skipped"] = len(bad)
    return frame


# ---------------------------------------------------------------------------------------------- recurring
def recurring_incidents(history: pd.DataFrame, *, threshold: float = 0.6, min_count: int = 2, n_neighbors: int = 10,
                        index: SimilarIncidents | None = None, text: Sequence[str] | None = None,
                        id_col: str | None = None, time_col: str | None = None, category_col: str | None = None,
                        team_col: str | None = None, priority_col: str | None = None) -> pd.DataFrame:
    """Groups of near-duplicate incidents: the problems that keep coming back.

    Every incident is linked to its ``n_neighbors`` most similar others whose similarity (see
    :class:`SimilarIncidents`) is at least ``threshold``; a group is a connected set of links
    (so a chain of close pairs forms one group).

    Parameters
    ----------
    history : DataFrame
        Past incidents or tickets, one per row.
    threshold : float, default=0.6
        Similarity at which two incidents count as the same problem.
    min_count : int, default=2
        Smallest group reported.
    n_neighbors : int, default=10
        Links looked for per incident.
    index : SimilarIncidents, optional
        A fitted index over exactly these rows; by default one is fitted (``random_state=0``).
    text, id_col, time_col, category_col, team_col, priority_col : optional
        Column names (see :class:`HistoryColumns`; ``None`` = the usual names).

    Returns
    -------
    DataFrame
        One row per group, largest first: ``group``, ``count``, ``first_seen``, ``last_seen``
        (when a time column exists), ``representative`` (the text of the member with the most
        links), ``representative_id``, the most common ``category``/``team``/``priority`` where
        those columns exist, and ``members`` (up to 50 ids, ``;`` separated).
        ``attrs["group_of_row"]`` gives each history row's group (-1: in no group).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"title": ["disk full on db-1", "disk full on db-2", "vpn drops", "disk full on db-1"],
    ...                   "opened_at": ["2024-01-01", "2024-01-05", "2024-01-06", "2024-02-01"]})
    >>> rec = recurring_incidents(h)
    >>> rec[["count", "representative"]].to_numpy().tolist()
    [[3, 'disk full on db-1']]
    >>> str(rec.loc[0, "last_seen"].date())
    '2024-02-01'
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    history = _check_frame(history, "recurring_incidents")
    if not 0 < threshold <= 1:
        msg = (f"The 'threshold' parameter of recurring_incidents must be a float in the range (0, 1]. "
               f"Got {threshold!r} instead.")
        raise InvalidParameterError(msg)
    cols = HistoryColumns(id_col=id_col, text=text, time_col=time_col, category_col=category_col,
                          team_col=team_col, priority_col=priority_col).resolve(history)
    n = len(history)
    out_cols = ["group", "count", "first_seen", "last_seen", "representative", "representative_id"]
    if n < 2:
        empty = pd.DataFrame(columns=out_cols)
        empty.attrs["group_of_row"] = np.full(n, -1)
        return empty
    if index is None:
        index = SimilarIncidents(random_state=0).fit(history, text=cols.text)
    elif index.n_rows_ != n:
        msg = (f"recurring_incidents: the index holds {index.n_rows_} rows but the history has {n}. Fit the index "
               "on the same rows, or leave index=None.")
        raise DataError(msg)
    res = index.query_many(history, k=min(n, n_neighbors + 1))
    src = res["query_row"].to_numpy()
    dst = res.index.to_numpy()
    keep = (res["similarity"].to_numpy() >= threshold) & (src != dst)
    src, dst = src[keep], dst[keep]
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    degree = np.bincount(np.concatenate([src, dst]), minlength=n)
    sizes = np.bincount(comp, minlength=comp.max() + 1)
    when = times(history, cols.time_col)
    ids = history[cols.id_col].astype(str).to_numpy() if cols.id_col else np.arange(n).astype(str)
    first_text = history[cols.text[0]].astype(str).to_numpy() if cols.text else np.full(n, "")
    rows = []
    group_of_row = np.full(n, -1)
    order = sorted((c for c in range(len(sizes)) if sizes[c] >= max(2, min_count)),
                   key=lambda c: (-sizes[c], int(np.flatnonzero(comp == c)[0])))
    for g, c in enumerate(order):
        members = np.flatnonzero(comp == c)
        group_of_row[members] = g
        rep = members[int(np.argmax(degree[members]))]
        row: dict[str, Any] = {"group": g, "count": len(members),
                               "first_seen": when.iloc[members].min(), "last_seen": when.iloc[members].max(),
                               "representative": first_text[rep][:200], "representative_id": ids[rep]}
        for name, col in (("category", cols.category_col), ("team", cols.team_col),
                          ("priority", cols.priority_col)):
            if col is not None:
                row[name] = mode(history[col].iloc[members])
        row["members"] = ";".join(ids[members[:50]])
        rows.append(row)
    out = pd.DataFrame(rows, columns=out_cols if not rows else None)
    if cols.time_col is None:
        out = out.drop(columns=["first_seen", "last_seen"])
    out.attrs["group_of_row"] = group_of_row
    return out


# ---------------------------------------------------------------------------------------------- counts
def _role_col(history: pd.DataFrame, by: str) -> str:
    if by in history.columns:
        return by
    if by in CANDIDATES and by not in ("text",):
        found = HistoryColumns(**{("id_col" if by == "id" else f"{by}_col"): None}).resolve(history)
        col = getattr(found, "id_col" if by == "id" else f"{by}_col")
        if col is not None:
            return col
    shown = ", ".join(repr(str(x)) for x in list(history.columns)[:12])
    msg = (f"by: {by!r} is neither a column of the data (columns: {shown}) nor a role (category, team, priority) "
           "with a column found for it. Name a column.")
    raise SchemaError(msg)


def incident_counts(history: pd.DataFrame, by: str = "category", *, freq: str | None = "W",
                    time_col: str | None = None) -> pd.DataFrame:
    """How many incidents per group, per period.

    Parameters
    ----------
    history : DataFrame
        Incidents or tickets, one per row.
    by : str, default="category"
        A column, or a role (``"category"``, ``"team"``, ``"priority"``) whose column is found
        as :class:`HistoryColumns` does (``team`` finds ``team``, ``service``, ``entity``...).
    freq : str or None, default="W"
        A pandas period alias (``"D"``, ``"W"``, ``"M"``...); ``None``, or no time column, gives
        totals over the whole history.
    time_col : str, optional
        When each incident opened (default: the usual names, see :class:`HistoryColumns`).

    Returns
    -------
    DataFrame
        Columns ``period`` (the period's start; absent for totals), the group column, ``count``
        and ``share`` (of the period's incidents). Rows without a readable time are left out
        and counted in ``attrs["no_time"]``.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"team": ["db", "db", "net"], "opened_at": ["2024-01-01", "2024-01-09", "2024-01-02"]})
    >>> print(incident_counts(h, "team", freq="W").to_string(index=False))
        period team  count  share
    2024-01-01   db      1    0.5
    2024-01-01  net      1    0.5
    2024-01-08   db      1    1.0
    """
    history = _check_frame(history, "incident_counts")
    col = _role_col(history, by)
    group = labels(history, col)
    tcol = HistoryColumns(time_col=time_col).resolve(history).time_col if freq is not None else None
    if tcol is None:
        counts = group.value_counts(sort=False).rename_axis(col).reset_index(name="count")
        counts = counts.sort_values(["count", col], ascending=[False, True], kind="stable").reset_index(drop=True)
        counts["share"] = counts["count"] / max(1, int(counts["count"].sum()))
        counts.attrs["no_time"] = 0
        return counts
    when = times(history, tcol)
    ok = when.notna().to_numpy()
    period = when[ok].dt.tz_localize(None).dt.to_period(freq).dt.start_time
    frame = pd.DataFrame({"period": period.to_numpy(), col: group[ok].to_numpy()})
    counts = frame.groupby(["period", col], sort=True).size().rename("count").reset_index()
    total = counts.groupby("period")["count"].transform("sum")
    counts["share"] = counts["count"] / total
    counts.attrs["no_time"] = int((~ok).sum())
    return counts


# ---------------------------------------------------------------------------------------------- resolve
def time_to_resolve(history: pd.DataFrame, *, by: str | None = None, time_col: str | None = None,
                    resolved_col: str | None = None) -> pd.DataFrame:
    """Mean (and median, 90th percentile) time to resolve, overall and per group, in hours.

    Parameters
    ----------
    history : DataFrame
        Incidents or tickets with an open and a resolve time.
    by : str, optional
        A column or role (see :func:`incident_counts`) to break the times down by.
    time_col, resolved_col : str, optional
        Open and resolve times (default: the usual names, see :class:`HistoryColumns`; for
        predicted incidents, ``raised_at`` and ``resolved_at``).

    Returns
    -------
    DataFrame
        One row for ``(all)`` and then one per group (most incidents first): ``group``,
        ``resolved`` (incidents with both times), ``unresolved`` (open, or no resolve time),
        ``mean_hours``, ``median_hours`` and ``p90_hours``. Negative durations (resolved before
        opened) are not used and are counted in ``attrs["negative"]``.

    Raises
    ------
    SchemaError
        No open or no resolve time column was found.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"team": ["db", "db", "net"],
    ...                   "opened_at": ["2024-01-01 00:00", "2024-01-02 00:00", "2024-01-03 00:00"],
    ...                   "resolved_at": ["2024-01-01 02:00", "2024-01-02 04:00", None]})
    >>> time_to_resolve(h, by="team")[["group", "resolved", "unresolved", "mean_hours"]].to_numpy().tolist()
    [['(all)', 2, 1, 3.0], ['db', 2, 0, 3.0], ['net', 0, 1, nan]]
    """
    history = _check_frame(history, "time_to_resolve")
    cols = HistoryColumns(time_col=time_col, resolved_col=resolved_col).resolve(history)
    if cols.time_col is None or cols.resolved_col is None:
        which = "open" if cols.time_col is None else "resolve"
        option = "time_col" if cols.time_col is None else "resolved_col"
        known = CANDIDATES["time" if option == "time_col" else "resolved"]
        msg = (f"time_to_resolve: no {which} time column found (looked for {', '.join(known)}). Pass {option}=... "
               "naming it.")
        raise SchemaError(msg)
    start = times(history, cols.time_col)
    end = times(history, cols.resolved_col)
    hours = (end - start).dt.total_seconds() / 3600.0
    negative = hours < 0
    hours = hours.where(~negative)
    groups = [("(all)", np.ones(len(history), dtype=bool))]
    if by is not None:
        g = labels(history, _role_col(history, by))
        for name in g.value_counts(sort=True).index:
            groups.append((name, (g == name).to_numpy()))
    rows = []
    for name, mask in groups:
        h = hours[mask].dropna()
        rows.append({"group": name, "resolved": len(h), "unresolved": int(mask.sum() - len(h)),
                     "mean_hours": float(h.mean()) if len(h) else float("nan"),
                     "median_hours": float(h.median()) if len(h) else float("nan"),
                     "p90_hours": float(h.quantile(0.9)) if len(h) else float("nan")})
    out = pd.DataFrame(rows)
    out.attrs["negative"] = int(negative.sum())
    return out


# ---------------------------------------------------------------------------------------------- faults
def _severity_rank(values: pd.Series) -> pd.Series:
    return values.astype(str).str.upper().isin(["P1", "P2"])


def top_entities(history: pd.DataFrame, *, n: int = 10, entity_col: str = "entity", severity_col: str = "severity",
                 time_col: str = "onset", resolved_col: str = "resolved_at") -> pd.DataFrame:
    """The hosts or services most often at fault in predicted incidents.

    Parameters
    ----------
    history : DataFrame
        Predicted incidents (:func:`read_incidents`), or any frame with ``entity_col``.
    n : int, default=10
        Rows returned.
    entity_col, severity_col, time_col, resolved_col : str
        Column names; the last three are used when present.

    Returns
    -------
    DataFrame
        ``entity``, ``incidents``, ``share``, ``severe`` (P1 or P2), ``mean_hours`` (onset to
        resolution) and ``last_onset``, most incidents first.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"entity": ["db-1", "web-1", "db-1"], "severity": ["P1", "P3", "P2"]})
    >>> top_entities(h)[["entity", "incidents", "severe"]].to_numpy().tolist()
    [['db-1', 2, 2], ['web-1', 1, 0]]
    """
    history = _check_frame(history, "top_entities")
    if entity_col not in history.columns:
        msg = (f"entity_col: column {entity_col!r} is not in the data. Give predicted incidents (read_incidents) "
               "or name the column of the host/service.")
        raise SchemaError(msg)
    ent = labels(history, entity_col)
    frame = pd.DataFrame({"entity": ent})
    frame["severe"] = _severity_rank(history[severity_col]) if severity_col in history.columns else False
    has_time = time_col in history.columns
    if has_time:
        start = times(history, time_col)
        frame["start"] = start
        if resolved_col in history.columns:
            frame["hours"] = (times(history, resolved_col) - start).dt.total_seconds() / 3600.0
    if "hours" not in frame.columns:
        frame["hours"] = np.nan
    agg = frame.groupby("entity", sort=False).agg(incidents=("entity", "size"), severe=("severe", "sum"),
                                                  mean_hours=("hours", "mean"))
    if has_time:
        agg["last_onset"] = frame.groupby("entity", sort=False)["start"].max()
    agg["share"] = agg["incidents"] / max(1, len(frame))
    agg["severe"] = agg["severe"].astype(int)
    agg = agg.reset_index().sort_values(["incidents", "entity"], ascending=[False, True], kind="stable")
    cols = ["entity", "incidents", "share", "severe", "mean_hours"] + (["last_onset"] if has_time else [])
    return agg[cols].head(n).reset_index(drop=True)


def top_metrics(history: pd.DataFrame, *, n: int = 10, metrics_col: str = "metrics",
                entity_col: str = "entity") -> pd.DataFrame:
    """The metrics most often at fault in predicted incidents.

    Parameters
    ----------
    history : DataFrame
        Predicted incidents (:func:`read_incidents`): ``metrics_col`` holds each incident's list
        of ``{"name", "contribution", ...}`` ranked largest first (a JSON string also works).
    n : int, default=10
        Rows returned.
    metrics_col, entity_col : str
        Column names.

    Returns
    -------
    DataFrame
        ``metric``, ``incidents`` (where it took part), ``led`` (where it ranked first: the
        root-cause hint), ``mean_contribution`` and ``entities`` (distinct entities), most led
        first.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"entity": ["db-1", "db-2"], "metrics": [
    ...     [{"name": "cpu", "contribution": 0.7}, {"name": "mem", "contribution": 0.3}],
    ...     [{"name": "cpu", "contribution": 1.0}]]})
    >>> top_metrics(h)[["metric", "incidents", "led", "mean_contribution", "entities"]].to_numpy().tolist()
    [['cpu', 2, 2, 0.85, 2], ['mem', 1, 0, 0.3, 1]]
    """
    history = _check_frame(history, "top_metrics")
    if metrics_col not in history.columns:
        msg = (f"metrics_col: column {metrics_col!r} is not in the data. Give predicted incidents "
               "(read_incidents), whose 'metrics' lists each incident's metrics.")
        raise SchemaError(msg)
    ents = history[entity_col].astype(str).to_numpy() if entity_col in history.columns else np.full(len(history), "")
    rows = []
    for i, ms in enumerate(history[metrics_col].tolist()):
        if isinstance(ms, str):
            try:
                ms = json.loads(ms)
            except json.JSONDecodeError:
                ms = []
        if not isinstance(ms, list):
            continue
        for rank, m in enumerate(ms):
            if isinstance(m, dict) and m.get("name") is not None:
                contrib = m.get("contribution")
                rows.append((str(m["name"]), rank == 0, float(contrib) if contrib is not None else np.nan, ents[i]))
    if not rows:
        return pd.DataFrame(columns=["metric", "incidents", "led", "mean_contribution", "entities"])
    frame = pd.DataFrame(rows, columns=["metric", "led", "contribution", "entity"])
    agg = frame.groupby("metric").agg(incidents=("metric", "size"), led=("led", "sum"),
                                      mean_contribution=("contribution", "mean"), entities=("entity", "nunique"))
    agg["led"] = agg["led"].astype(int)
    agg["mean_contribution"] = agg["mean_contribution"].round(6)
    agg = agg.reset_index().sort_values(["led", "incidents", "metric"], ascending=[False, False, True], kind="stable")
    return agg.head(n).reset_index(drop=True)
