"""The post-incident summary of one incident: timeline, leading metrics, similar past incidents."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError, SchemaError
from ._columns import HistoryColumns, times
from ._similar import SimilarIncidents

__all__ = ["PostIncidentSummary", "markdown_table", "post_incident_summary"]


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%M")
    text = str(v).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."


def markdown_table(frame: pd.DataFrame, *, max_rows: int = 20) -> str:
    """A DataFrame as a GitHub Markdown table (first ``max_rows`` rows; cells cut at 80 characters).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; an empty one gives ``"(none)"``.
    max_rows : int, default=20
        Rows shown; a last line says how many more there are.

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> print(markdown_table(pd.DataFrame({"team": ["db"], "count": [3]})))
    | team | count |
    |---|---|
    | db | 3 |
    """
    if frame.empty:
        return "(none)"
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.head(max_rows).itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    if len(frame) > max_rows:
        lines.append(f"\n({len(frame) - max_rows} more rows)")
    return "\n".join(lines)


@dataclass
class PostIncidentSummary:
    """What happened in one incident, and what happened the previous times.

    Attributes
    ----------
    incident : dict
        The incident's fields.
    timeline : DataFrame
        ``time``, ``event`` and ``detail`` from onset (or opening) to resolution, in time order.
    leading_metrics : DataFrame
        ``metric``, ``contribution``, ``first_at`` and ``peak``, largest contribution first
        (empty for tickets).
    similar : DataFrame
        The most similar earlier incidents, with their team, resolution and time to resolve
        where known, and ``similarity``.
    facts : dict
        Id, title, duration and the counts behind the tables.

        Examples
        --------
        :func:`post_incident_summary` builds one from a history:

        >>> import pandas as pd
        >>> h = pd.DataFrame({"id": ["T1", "T2", "T3"],
        ...                   "title": ["disk full on db-1", "vpn drops", "disk full on db-1 again"],
        ...                   "resolution": ["purged old logs", "restarted vpn", None],
        ...                   "opened_at": ["2024-01-01 10:00", "2024-01-02 09:00", "2024-02-01 08:00"],
        ...                   "resolved_at": ["2024-01-01 12:00", "2024-01-02 10:00", "2024-02-01 09:30"]})
        >>> s = post_incident_summary(h, "T3", k=1)
        >>> s.facts["id"], s.facts["duration"], s.similar["id"].tolist()
        ('T3', '1.5 h', ['T1'])
    """

    incident: dict[str, Any]
    timeline: pd.DataFrame
    leading_metrics: pd.DataFrame
    similar: pd.DataFrame
    facts: dict[str, Any] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """The summary as Markdown: a heading, the facts, then the three tables.

        Returns
        -------
        str

        Examples
        --------
        >>> import pandas as pd
        >>> h = pd.DataFrame({"id": ["T1", "T2", "T3"],
        ...                   "title": ["disk full on db-1", "vpn drops", "disk full on db-1 again"],
        ...                   "resolution": ["purged old logs", "restarted vpn", None],
        ...                   "opened_at": ["2024-01-01 10:00", "2024-01-02 09:00", "2024-02-01 08:00"],
        ...                   "resolved_at": ["2024-01-01 12:00", "2024-01-02 10:00", "2024-02-01 09:30"]})
        >>> md = post_incident_summary(h, "T3", k=1).to_markdown()
        >>> print("\\n".join(line for line in md.splitlines() if line.startswith(("#", "-", "How"))))
        # Post-incident summary: T3
        - opened: 2024-02-01 08:00
        - resolved: 2024-02-01 09:30
        - duration: 1.5 h
        ## Timeline
        ## Similar past incidents (1)
        How they were resolved: purged old logs.
        """
        f = self.facts
        out = [f"# Post-incident summary: {f.get('id') or '(no id)'}", "", f"**{f.get('title', '')}**", ""]
        for key in ("severity", "entity", "category", "team", "priority", "opened", "resolved", "duration"):
            if f.get(key) not in (None, ""):
                out.append(f"- {key}: {_cell(f[key])}")
        out += ["", "## Timeline", "", markdown_table(self.timeline)]
        if not self.leading_metrics.empty:
            out += ["", "## Leading metrics", "", markdown_table(self.leading_metrics)]
        out += ["", f"## Similar past incidents ({len(self.similar)})", "", markdown_table(self.similar)]
        if f.get("resolutions"):
            out += ["", "How they were resolved: " + "; ".join(str(r) for r in f["resolutions"]) + "."]
        if f.get("novel"):
            out += ["", "Nothing in the history is close to this incident: it looks new."]
        return "\n".join(out) + "\n"


def _metrics_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return []
    if not isinstance(value, list):
        return []
    return [m for m in value if isinstance(m, dict) and m.get("name") is not None]


def _locate(history: pd.DataFrame, incident: Any, id_col: str | None) -> tuple[int | None, dict[str, Any]]:
    """The history position (or None) and the fields of the incident asked about."""
    if hasattr(incident, "to_dict") and not isinstance(incident, (pd.Series, pd.DataFrame, dict)):
        from ._patterns import read_incidents

        row = read_incidents([json.dumps(incident.to_dict(), default=str)]).iloc[0].to_dict()
        incident = row
    if isinstance(incident, pd.Series):
        incident = incident.to_dict()
    if isinstance(incident, dict):
        pos = None
        if id_col is not None and incident.get(id_col) is not None:
            hits = np.flatnonzero(history[id_col].astype(str).to_numpy() == str(incident[id_col]))
            pos = int(hits[0]) if len(hits) else None
        return pos, dict(incident)
    if isinstance(incident, numbers.Integral) and not isinstance(incident, bool):
        row_pos = int(incident)
        if not -len(history) <= row_pos < len(history):
            msg = (f"post_incident_summary: row {row_pos} is outside the history (0..{len(history) - 1}). Give a "
                   "row position, an id or the incident itself.")
            raise DataError(msg)
        pos = row_pos % len(history)
        return pos, history.iloc[pos].to_dict()
    if isinstance(incident, str):
        if id_col is None:
            msg = ("post_incident_summary: an id was given but the history has no id column (id, ticket_id, "
                   "issue_key...). Pass id_col=..., or give a row position.")
            raise SchemaError(msg)
        hits = np.flatnonzero(history[id_col].astype(str).to_numpy() == incident)
        if not len(hits):
            some = ", ".join(repr(v) for v in history[id_col].astype(str).head(3))
            msg = f"post_incident_summary: no incident has {id_col} == {incident!r} (ids look like {some}). Check it."
            raise DataError(msg)
        return int(hits[0]), history.iloc[int(hits[0])].to_dict()
    msg = (f"post_incident_summary: 'incident' must be an id (str), a row position (int), a dict/Series of fields "
           f"or an Incident; got {type(incident).__name__}.")
    raise SchemaError(msg)


def _ts(value: Any) -> pd.Timestamp | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return None if math.isnan(float(value)) else pd.Timestamp(float(value), unit="s", tz="UTC")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if ts is pd.NaT:
        return None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def post_incident_summary(history: pd.DataFrame, incident: Any, *, k: int = 5, index: SimilarIncidents | None = None,
                          id_col: str | None = None, text: Sequence[str] | None = None, time_col: str | None = None,
                          resolved_col: str | None = None, category_col: str | None = None,
                          team_col: str | None = None, priority_col: str | None = None,
                          resolution_col: str | None = None) -> PostIncidentSummary:
    """Summarise one incident for its post-incident review.

    Parameters
    ----------
    history : DataFrame
        Past incidents or tickets (:func:`read_incidents` for predicted incidents).
    incident : str, int, dict, Series or Incident
        Its id (``id_col``), its row position in ``history``, or the incident itself.
    k : int, default=5
        Similar past incidents shown.
    index : SimilarIncidents, optional
        A fitted index over ``history``; by default one is fitted over the other rows.
    id_col, text, time_col, resolved_col, category_col, team_col, priority_col, resolution_col : optional
        Column names (see :class:`HistoryColumns`; ``None`` = the usual names). For predicted
        incidents the open time is ``raised_at`` and the timeline also shows ``onset`` and when
        each metric first moved.

    Returns
    -------
    PostIncidentSummary
        Tables and facts; :meth:`PostIncidentSummary.to_markdown` renders them.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"id": ["T1", "T2", "T3"],
    ...                   "title": ["disk full on db-1", "vpn drops", "disk full on db-1 again"],
    ...                   "resolution": ["purged old logs", "restarted vpn", None],
    ...                   "opened_at": ["2024-01-01 10:00", "2024-01-02 09:00", "2024-02-01 08:00"],
    ...                   "resolved_at": ["2024-01-01 12:00", "2024-01-02 10:00", "2024-02-01 09:30"]})
    >>> s = post_incident_summary(h, "T3", k=1)
    >>> s.similar[["id", "resolution"]].to_numpy().tolist()
    [['T1', 'purged old logs']]
    >>> s.timeline["event"].tolist(), s.facts["duration"]
    (['opened', 'resolved'], '1.5 h')
    >>> print(s.to_markdown().splitlines()[0])
    # Post-incident summary: T3
    """
    from ..incidents import Incident

    if not isinstance(history, pd.DataFrame):
        msg = f"post_incident_summary expects a DataFrame of past incidents; got {type(history).__name__}."
        raise SchemaError(msg)
    cols = HistoryColumns(id_col=id_col, text=text, time_col=time_col, resolved_col=resolved_col,
                          category_col=category_col, team_col=team_col, priority_col=priority_col,
                          resolution_col=resolution_col).resolve(history)
    pos, inc = _locate(history, incident, cols.id_col)
    predicted = "entity" in inc and ("onset" in inc or "raised_at" in inc)
    opened = _ts(inc.get(cols.time_col)) if cols.time_col else None
    resolved = _ts(inc.get(cols.resolved_col)) if cols.resolved_col else None
    # ------------------------------------------------------------------ timeline
    events: list[tuple[pd.Timestamp, str, str]] = []
    onset = _ts(inc.get("onset")) if predicted else None
    if onset is not None:
        events.append((onset, "onset", "first unusual scores"))
    raised = _ts(inc.get("raised_at")) if predicted else None
    if raised is not None:
        lead = "" if onset is None else f" ({Incident.duration_text((raised - onset).total_seconds())} after onset)"
        events.append((raised, "raised", f"severity {inc.get('severity', '')}{lead}".strip()))
    metrics = _metrics_list(inc.get("metrics"))
    for m in metrics:
        first = _ts(m.get("first_at"))
        if first is not None:
            share = float(m.get("contribution") or 0.0)
            events.append((first, "metric", f"{m['name']} unusual (contribution {share:.2f})"))
    if opened is not None and not (predicted and cols.time_col in ("raised_at", "onset")):
        events.append((opened, "opened", ""))
    if resolved is not None:
        events.append((resolved, "resolved", ""))
    order = {"onset": 0, "metric": 1, "raised": 2, "opened": 2, "resolved": 3}
    events.sort(key=lambda e: (e[0], order[e[1]]))
    timeline = pd.DataFrame(events, columns=["time", "event", "detail"])
    start = onset or opened or raised
    duration = None
    if start is not None and resolved is not None:
        duration = Incident.duration_text((resolved - start).total_seconds())
    leading = pd.DataFrame([{"metric": m["name"], "contribution": m.get("contribution"),
                             "first_at": _ts(m.get("first_at")), "peak": m.get("peak")} for m in metrics],
                           columns=["metric", "contribution", "first_at", "peak"])
    if not leading.empty:
        leading = leading.sort_values("contribution", ascending=False, kind="stable").reset_index(drop=True)
    # ------------------------------------------------------------------ similar past incidents
    keep = np.ones(len(history), dtype=bool)
    if pos is not None:
        keep[pos] = False
    if opened is not None and cols.time_col is not None:
        when = times(history, cols.time_col)
        keep &= ~(when > opened).to_numpy()  # earlier (or undated) rows only: the past of this incident
    past = history[keep]
    shown = [c for c in (cols.id_col, cols.time_col, *(cols.text or [])[:1], cols.category_col, cols.team_col,
                         cols.priority_col, cols.resolution_col, cols.resolved_col) if c is not None]
    shown = list(dict.fromkeys(shown))
    novel = False
    if len(past) == 0 or not cols.text:
        similar = pd.DataFrame(columns=[*shown, "similarity"])
    else:
        if index is not None and pos is None and index.n_rows_ == len(past):
            model = index
        else:
            model = SimilarIncidents(random_state=0).fit(past, text=cols.text)
        query = {c: inc.get(c) for c in cols.text}
        res = model.query(query, k=k)
        novel = bool(res.attrs["novel"])
        similar = res[[c for c in shown if c in res.columns] + ["similarity"]].reset_index(drop=True)
        if cols.time_col is not None and cols.resolved_col is not None:
            hours = (times(similar, cols.resolved_col) - times(similar, cols.time_col)).dt.total_seconds() / 3600
            similar.insert(len(similar.columns) - 1, "hours_to_resolve", hours.round(2))
    resolutions: list[str] = []
    if cols.resolution_col is not None and cols.resolution_col in similar.columns:
        resolutions = [str(v) for v in similar[cols.resolution_col].dropna().astype(str) if v.strip()]
        resolutions = list(dict.fromkeys(resolutions))
    title = inc.get("title") if inc.get("title") is not None else (
        inc.get(cols.text[0]) if cols.text else "")
    facts = {"id": inc.get(cols.id_col) if cols.id_col else None, "title": str(title or "")[:200],
             "severity": inc.get("severity") if predicted else None, "entity": inc.get("entity") if predicted else None,
             "category": inc.get(cols.category_col) if cols.category_col else None,
             "team": inc.get(cols.team_col) if cols.team_col else None,
             "priority": inc.get(cols.priority_col) if cols.priority_col and cols.priority_col != "severity" else None,
             "opened": start, "resolved": resolved, "duration": duration, "resolutions": resolutions,
             "novel": novel, "history_rows": int(len(past))}
    return PostIncidentSummary(incident=inc, timeline=timeline, leading_metrics=leading, similar=similar, facts=facts)
