"""The incidents report: what the predicted incidents say, drawn over the metrics they came from."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..exceptions import DataError, SchemaError
from ..incidents import Incident
from ..triage import TriageModel
from ..utils import column_seconds, require_columns, to_seconds
from ._render import Report, figure_uri, render

__all__ = ["incidents_report"]

_SEVERITY_RANK = {"P1": 0, "P2": 1, "P3": 2, "P4": 3, "P5": 4}
_FIELDS = {f.name for f in fields(Incident)}
_BEFORE, _AFTER = 288, 96  # rows of context shown before an incident's onset and after its end (at least)


def _seconds(value: Any, where: str) -> float | None:
    if value is None:
        return None
    try:
        out = to_seconds(value)
    except (DataError, ValueError, TypeError) as exc:
        raise DataError(f"incidents_report: {where} = {value!r} is not a timestamp ({exc}). Give ISO 8601 "
                        "times or epoch seconds, as 'incidentml incidents' writes them.") from None
    return None if math.isnan(out) else out


def as_incident(record: Incident | Mapping[str, Any], where: str = "incident") -> Incident:
    """An :class:`Incident` from itself or from one line of the incidents JSONL (``Incident.to_dict``)."""
    if isinstance(record, Incident):
        return record
    if not isinstance(record, Mapping):
        raise DataError(f"incidents_report: {where} must be an Incident or a dict (one JSON line); got "
                        f"{type(record).__name__}.")
    missing = [k for k in ("id", "entity", "raised_at", "onset") if record.get(k) is None]
    if missing:
        raise SchemaError(f"incidents_report: {where} lacks {missing!r}; every line of the incidents JSONL has "
                          "id, entity, raised_at and onset.")
    kw = {k: v for k, v in record.items() if k in _FIELDS}
    for key in ("raised_at", "onset", "resolved_at", "updated_at"):
        if key in kw:
            kw[key] = _seconds(kw[key], f"{where}.{key}")
    kw["updated_at"] = kw.get("updated_at") or kw["raised_at"]
    kw["metrics"] = [{**m, "first_at": _seconds(m.get("first_at"), f"{where}.metrics.first_at")}
                     for m in (kw.get("metrics") or []) if isinstance(m, Mapping) and "name" in m]
    forecast = kw.get("forecast")
    if isinstance(forecast, Mapping):
        kw["forecast"] = {**forecast, "crosses_at_seconds": _seconds(forecast.get("crosses_at"),
                                                                     f"{where}.forecast.crosses_at")}
    elif forecast is not None:
        kw["forecast"] = None
    kw["id"], kw["entity"] = str(kw["id"]), str(kw["entity"])
    return Incident(**kw)


def _end(inc: Incident, last: float) -> float:
    if inc.resolved_at is not None:
        return float(inc.resolved_at)
    return float(max(inc.updated_at or inc.raised_at, last if inc.status == "open" else inc.raised_at))


def _default_margin(t: np.ndarray) -> float:
    """The evaluation guide's early margin: 60 minutes for minute-scale data, 6 hours for hourly."""
    step = float(np.nanmedian(np.diff(t))) if len(t) > 1 else 60.0
    return 3600.0 if step < 1800 else 21600.0


def _windows(windows: Any) -> list[tuple[float, float]]:
    out = []
    for i, w in enumerate(windows or []):
        if not isinstance(w, (Sequence, np.ndarray)) or isinstance(w, str) or len(w) != 2:
            raise DataError(f"incidents_report: windows[{i}] = {w!r} is not an (onset, end) pair.")
        a, b = _seconds(w[0], f"windows[{i}][0]"), _seconds(w[1], f"windows[{i}][1]")
        if a is None or b is None or b < a:
            raise DataError(f"incidents_report: windows[{i}] = {w!r} needs an onset no later than its end.")
        out.append((a, b))
    return sorted(out)


def _ticket_for(model: TriageModel, inc: Incident) -> dict[str, Any]:
    ticket: dict[str, Any] = dict(inc.to_ticket())
    if not set(model.text_columns_) & set(ticket):
        ticket[model.text_columns_[0]] = f"{ticket['title']}. {ticket['description']}"
    return ticket


def _triage(model: TriageModel | None, inc: Incident) -> list[dict[str, Any]]:
    if model is None:
        return []
    answer = model.predict_one(_ticket_for(model, inc))
    return [{"target": n, "label": answer[n], "confidence": answer[f"{n}_confidence"],
             "abstain": answer[f"{n}_abstain"]} for n in model.heads_]


def _match(inc: Incident, windows: list[tuple[float, float]], margin: float) -> dict[str, Any] | None:
    """The first known window this incident catches (evaluation guide, section 2)."""
    for k, (onset, end) in enumerate(windows):
        if onset - margin <= inc.raised_at <= end:
            return {"index": k + 1, "onset": onset, "end": end, "lead": onset - inc.raised_at}
    return None


def incidents_report(incidents: Sequence[Incident | Mapping[str, Any]], metrics: pd.DataFrame, *,
                     time_col: str = "timestamp", entity_col: str | None = None,
                     model: TriageModel | None = None, windows: Sequence[Any] | None = None,
                     early_margin: float | None = None, max_incidents: int = 20, title: str | None = None,
                     sources: Mapping[str, str] | None = None) -> Report:
    """An offline HTML report of predicted incidents over the metrics they were raised from.

    The page opens with an overview: counts by severity and status, and per entity a timeline of
    its leading metrics with every incident shaded (and the known windows, when given). Then, per
    incident: its summary, the facts (raised, onset, duration, score, severity, status), the
    leading metric's timeline around it, the stacked view of its contributing metrics with their
    shares, the breach forecast with its interval, and, with ``model``, how it would be triaged.

    Parameters
    ----------
    incidents : sequence of Incident or dict
        Incidents from :class:`~incidentml.IncidentPredictor`, or the lines of the JSONL that
        ``incidentml incidents`` writes, parsed (``json.loads``).
    metrics : DataFrame
        The wide metric table the incidents were raised from: a time column, optionally an entity
        column, one numeric column per metric.
    time_col : str, default="timestamp"
        Its time column (datetimes, ISO strings or epoch seconds; naive times are UTC).
    entity_col : str, optional
        Its entity column; without one, every row belongs to every incident's entity.
    model : TriageModel, optional
        Triage each incident's text (:meth:`Incident.to_ticket`) with it.
    windows : sequence of (onset, end) pairs, optional
        Known anomaly windows (labels). Each is *caught* when an incident is raised between
        ``onset - early_margin`` and ``end``; the lead time is ``onset - raised_at``.
    early_margin : float, optional
        Seconds before a window's onset that still count as an early warning (default, as in the
        evaluation guide: 60 minutes when the data's median step is under 30 minutes, else 6 h).
    max_incidents : int, default=20
        Incidents drawn in full, the most severe first (ties: the highest score); the others are
        in the table, and the page says how many were left out.
    title : str, optional
        The page's title.
    sources : dict, optional
        What the report was made from, shown at the top (e.g. ``{"incidents": "i.jsonl"}``).

    Returns
    -------
    Report

    Raises
    ------
    SchemaError
        ``time_col`` or ``entity_col`` is not a column of ``metrics``, or an incident record lacks
        its id, entity or times.
    DataError
        ``metrics`` is empty, or a time or window cannot be read.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from incidentml import IncidentPredictor
    >>> from incidentml.datasets import make_scenario
    >>> sc = make_scenario("disk_fill", seed=1)
    >>> found = IncidentPredictor(limits=sc.limit).run(sc.frame, time_col="timestamp")
    >>> page = incidents_report(found, sc.frame)
    >>> page.sections[0], page.n_images > 0
    ('Overview', True)
    """
    if not isinstance(metrics, pd.DataFrame):
        raise SchemaError(f"incidents_report takes the metrics as a DataFrame; got {type(metrics).__name__}.")
    if not len(metrics):
        raise DataError("incidents_report: the metrics table has no rows; pass the rows the incidents came from.")
    if model is not None and not isinstance(model, TriageModel):
        raise SchemaError(f"incidents_report: model must be a fitted TriageModel; got {type(model).__name__}.")
    if not isinstance(max_incidents, (int, np.integer)) or isinstance(max_incidents, bool) or max_incidents < 0:
        raise DataError(f"incidents_report: max_incidents must be a non-negative integer; got {max_incidents!r}.")
    require_columns(metrics, [time_col] + ([entity_col] if entity_col else []), "time_col/entity_col")
    items = [as_incident(r, f"incidents[{i}]") for i, r in enumerate(incidents)]
    known = _windows(windows)
    frame = metrics.assign(_t=column_seconds(metrics, time_col))
    notes = []
    bad_t = int(frame["_t"].isna().sum())
    if bad_t:
        notes.append(f"{bad_t} metric rows have no readable time in {time_col!r} and are not drawn.")
        frame = frame[frame["_t"].notna()]
    frame = frame.sort_values("_t", kind="stable")
    value_cols = [c for c in metrics.columns if c not in (time_col, entity_col) and metrics[c].dtype.kind in "biuf"]
    if not value_cols:
        raise SchemaError(f"incidents_report: the metrics table has no numeric column besides {time_col!r}.")
    last = float(frame["_t"].iloc[-1]) if len(frame) else 0.0
    margin = float(early_margin) if early_margin is not None else _default_margin(frame["_t"].to_numpy())

    def rows_of(entity: str) -> pd.DataFrame:
        if entity_col is None:
            return frame
        return frame[frame[entity_col].astype(str) == entity]

    # ---------------------------------------------------------------- per incident
    order = sorted(range(len(items)), key=lambda i: (_SEVERITY_RANK.get(items[i].severity, 9), -items[i].score))
    drawn = set(order[:max_incidents])
    entries = []
    for i, inc in enumerate(items):
        sub = rows_of(inc.entity)
        match = _match(inc, known, margin) if known else None
        entry: dict[str, Any] = {"inc": inc, "anchor": f"incident-{i + 1}", "end": _end(inc, last), "images": [],
                                 "match": match, "triage": _triage(model, inc), "drawn": i in drawn,
                                 "metrics": [m for m in inc.metrics], "has_rows": len(sub) > 0}
        if i in drawn and len(sub):
            entry["images"] = _incident_images(inc, sub, time_col, value_cols, items, known, entry["end"])
        entries.append(entry)
    missing_rows = sorted({e["inc"].entity for e in entries if not e["has_rows"]})
    if missing_rows:
        notes.append(f"No metric rows for entity {', '.join(map(repr, missing_rows[:5]))}"
                     f"{' and others' if len(missing_rows) > 5 else ''}: those incidents are shown without plots.")
    if len(items) > max_incidents:
        notes.append(f"{len(items) - max_incidents} of {len(items)} incidents are listed in the table without plots "
                     f"(the {max_incidents} most severe are drawn); raise max_incidents (--max-incidents) to draw "
                     "more.")

    # ---------------------------------------------------------------- overview
    entities = sorted({e["inc"].entity for e in entries}) or (
        sorted(frame[entity_col].astype(str).unique()) if entity_col else ["all metrics"])
    overview = []
    for entity in entities[:12]:
        sub = rows_of(entity) if entity != "all metrics" else frame
        if not len(sub):
            continue
        overview.append({"entity": entity, "images": _overview_images(entity, sub, items, value_cols, known)})
    if len(entities) > 12:
        notes.append(f"The overview draws 12 of {len(entities)} entities (those with incidents first, by name).")
    caught = [k for k in range(len(known)) if any(e["match"] and e["match"]["index"] == k + 1 for e in entries)]
    leads = []
    for k in caught:
        first = min((e for e in entries if e["match"] and e["match"]["index"] == k + 1),
                    key=lambda e: e["inc"].raised_at)
        leads.append(first["match"]["lead"])
    stats = {
        "n": len(items), "entities": len({i.entity for i in items}),
        "open": sum(1 for i in items if i.status == "open"),
        "by_severity": sorted(pd.Series([i.severity for i in items], dtype=object).value_counts().items()),
        "forecasts": sum(1 for i in items if i.kind == "forecast"),
        "windows": len(known), "caught": len(caught), "margin": margin,
        "false_alarms": sum(1 for e in entries if known and e["match"] is None),
        "lead_median": float(np.median(leads)) if leads else None,
        "before_onset": sum(1 for v in leads if v > 0),
        "rows": len(frame), "metrics": value_cols,
    }
    story = _story(items, entries, stats, known, frame, last)
    toc = [("overview", "Overview")]
    toc += [(e["anchor"], f"{e['inc'].id} · {e['inc'].severity}") for e in entries]
    n_entities = len({i.entity for i in items})
    where = {k: f" from {v}" for k, v in (sources or {}).items()}
    sub_lines = [f"{len(items)} predicted incident(s) on {n_entities} entit{'y' if n_entities == 1 else 'ies'}"
                 f"{where.get('incidents', '')}; {len(frame):,} metric rows{where.get('metrics', '')}"]
    if len(frame):
        sub_lines.append(f"{_fmt(float(frame['_t'].iloc[0]))} to {_fmt(last)}")
    if notes:
        toc.insert(0, ("notes", "What this report did not use"))
    page_title = title or "Predicted incidents"
    html = render("incidents.html.j2", title=page_title, subtitle=sub_lines, toc=toc, notes=notes,
                  entries=entries, overview=overview, stats=stats, model=model, windows=known, story=story,
                  version=__version__, made_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    n_images = sum(len(e["images"]) for e in entries) + sum(len(o["images"]) for o in overview)
    return Report(html=html, title=page_title,
                  sections=tuple(label for anchor, label in toc if anchor != "notes"),
                  n_images=n_images, notes=tuple(notes))


def _story(items: Sequence[Incident], entries: list[dict[str, Any]], stats: dict[str, Any],
           known: list[tuple[float, float]], frame: pd.DataFrame, last: float) -> str:
    """What happened, in two or three plain sentences."""
    if not len(frame):
        return "No metric rows could be read."
    span = _duration_words(last - float(frame["_t"].iloc[0]))
    if not items:
        text = f"No incident was raised over {span} of metrics."
    else:
        worst = min(items, key=lambda i: (_SEVERITY_RANK.get(i.severity, 9), -i.score))
        text = (f"{len(items)} incident{'s were' if len(items) > 1 else ' was'} raised over {span} of metrics on "
                f"{stats['entities']} entit{'y' if stats['entities'] == 1 else 'ies'}; the most severe, {worst.id} "
                f"({worst.severity}), was raised {_fmt(worst.raised_at)}, led by "
                f"{worst.metrics[0]['name'] if worst.metrics else 'its metrics'}.")
    if known:
        parts = []
        for k in range(len(known)):
            hits = [e for e in entries if e["match"] and e["match"]["index"] == k + 1]
            if hits:
                lead = min(hits, key=lambda e: e["inc"].raised_at)["match"]["lead"]
                parts.append(f"#{k + 1} {_duration_words(abs(lead))} {'before' if lead >= 0 else 'after'} its onset")
        text += (f" Of {len(known)} known window{'s' if len(known) > 1 else ''}, {len(parts)} "
                 f"{'were' if len(parts) != 1 else 'was'} caught" + (f" ({'; '.join(parts)})" if parts else "")
                 + f", and {stats['false_alarms']} incident{'s' if stats['false_alarms'] != 1 else ''} came near no "
                 "known window.")
    return text


def _duration_words(seconds: float) -> str:
    if seconds < 5400:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.0f} days"


def _date(seconds: float) -> np.datetime64:
    return np.datetime64(int(round(seconds * 1e6)), "us")


def _fmt(seconds: float) -> str:
    return pd.Timestamp(seconds, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


def _leading(items: Sequence[Incident], entity: str, value_cols: list[str], k: int = 3) -> list[str]:
    weight: dict[str, float] = {}
    for inc in items:
        if inc.entity == entity:
            for m in inc.metrics:
                if m["name"] in value_cols:
                    weight[m["name"]] = weight.get(m["name"], 0.0) + float(m.get("contribution", 0.0))
    ranked = sorted(weight, key=lambda n: -weight[n])
    return (ranked + [c for c in value_cols if c not in ranked])[:k]


def _overview_images(entity: str, sub: pd.DataFrame, items: Sequence[Incident], value_cols: list[str],
                     known: list[tuple[float, float]]) -> list[dict[str, Any]]:
    from ..plot import metric_timeline

    mine = [i for i in items if i.entity == entity]
    images = []
    for name in _leading(items, entity, value_cols):
        values = pd.to_numeric(sub[name], errors="coerce").to_numpy(dtype=float)
        ax = metric_timeline(sub["_t"].to_numpy(), values, incidents=mine, windows=known or None,
                             alerts=[i.raised_at for i in mine] or None, title=f"{entity}: {name}")
        ax.figure.set_size_inches(10, 3.0)
        images.append({"uri": figure_uri(ax), "alt": f"{name} on {entity} over time", "caption": (
            f"{name} on {entity}, every row; predicted incidents shaded orange, a red marker where each was raised"
            + (", known windows green." if known else "."))})
    return images


def _incident_images(inc: Incident, sub: pd.DataFrame, time_col: str, value_cols: list[str],
                     items: Sequence[Incident], known: list[tuple[float, float]], end: float) -> list[dict[str, Any]]:
    from ..plot import forecast_plot, incident_view, metric_timeline

    t = sub["_t"].to_numpy()
    lo = max(int(np.searchsorted(t, inc.onset, side="left")), 0)
    hi = int(np.searchsorted(t, end, side="right"))
    n = max(hi - lo, 1)
    window = sub.iloc[max(lo - max(_BEFORE, 3 * n), 0): hi + max(_AFTER, n)]
    names = [m["name"] for m in inc.metrics if m["name"] in value_cols]
    images = []
    lead = names[0] if names else value_cols[0]
    w0, w1 = float(window["_t"].iloc[0]), float(window["_t"].iloc[-1])
    others = [i for i in items if i.entity == inc.entity and i.onset <= w1 and _end(i, w1) >= w0]
    near = [w for w in known if w[0] <= w1 and w[1] >= w0]
    ax = metric_timeline(window["_t"].to_numpy(), pd.to_numeric(window[lead], errors="coerce").to_numpy(dtype=float),
                         incidents=others, windows=near or None, alerts=[i.raised_at for i in others],
                         title=f"{inc.id}: {lead} around the incident")
    ax.set_xlim(_date(w0), _date(w1))
    ax.figure.set_size_inches(10, 3.0)
    images.append({"uri": figure_uri(ax), "alt": f"{lead} around {inc.id}", "caption": (
        f"{lead} (its own units) from {len(window):,} rows around the incident; incidents shaded orange, a red "
        "marker where each was raised"
        + (", known windows green." if known else "."))})
    if len(names) >= 2:
        fig = incident_view(window.drop(columns="_t"), inc, time_col=time_col, metrics=names[:4], top=4)
        images.append({"uri": figure_uri(fig), "alt": f"Contributing metrics of {inc.id}", "caption": (
            "Each contributing metric, z-scored over the same rows; the dashed line is the onset, the red one when "
            "it was raised; the bars are each metric's share of the evidence.")})
    fc = inc.forecast
    if fc and fc.get("metric") in value_cols and fc.get("limit") is not None:
        metric = fc["metric"]
        ax = forecast_plot(window["_t"].to_numpy(), pd.to_numeric(window[metric], errors="coerce")
                           .to_numpy(dtype=float), fc)
        ax.figure.set_size_inches(10, 3.2)
        images.append({"uri": figure_uri(ax), "alt": f"Breach forecast of {metric}", "caption": (
            f"{metric}, its fitted trend and the predicted crossing of {fc['limit']:g} with its interval: "
            f"{fc.get('text', '')}")})
    return images
