"""Metric plots: a stream with its scores and incidents, one incident's metrics, a breach forecast."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._validation import Interval
from ..anomaly import DEFAULT_THRESHOLD
from ..exceptions import DataError, SchemaError
from ..incidents import BreachForecast, Incident
from ..utils import column_seconds, require_columns
from ._common import (
    as_1d,
    check_params,
    legend,
    new_axes,
    new_figure,
    one_second,
    same_length,
    seconds,
    spans,
    to_dates,
)

__all__ = ["forecast_plot", "incident_view", "metric_timeline"]

_INCIDENT_COLOR = "tab:orange"
_WINDOW_COLOR = "tab:green"
_SCORE_COLOR = "tab:purple"
_ALERT_COLOR = "tab:red"


def metric_timeline(times: Any, values: Any, *, scores: Any = None, threshold: float | None = None,
                    alerts: Any = None, incidents: Sequence[Any] | None = None,
                    windows: Sequence[Any] | None = None, ax: Any = None, title: str | None = None) -> Any:
    """One metric over time with its anomaly scores, alerts, predicted incidents and true windows.

    The metric is a line on ``ax``. The scores (0..1) go on a twin axis on the right, with the
    threshold as a dashed horizontal line. Alerts are red markers on the metric line. Predicted
    incidents are shaded orange, true labelled windows green. The legend lists what was drawn.

    Parameters
    ----------
    times : sequence of timestamps, shape (n,)
        Datetimes, pandas Timestamps, datetime64 or epoch seconds. The x axis shows UTC dates.
    values : sequence of float, shape (n,)
        The metric.
    scores : sequence of float, shape (n,), optional
        Anomaly scores in [0, 1] (higher is more anomalous), e.g. from a detector's ``score_many``.
    threshold : float, optional
        The alert cut drawn over the scores. Defaults to
        :data:`incidentml.anomaly.DEFAULT_THRESHOLD` when ``scores`` are given.
    alerts : sequence of bool, shape (n,), or sequence of timestamps, optional
        Either one flag per point or the times of the alerts.
    incidents : sequence of Incident or (start, end) pairs, optional
        Predicted incidents; an :class:`~incidentml.Incident` spans its onset to its resolution
        (or its last update, or the last point, while open).
    windows : sequence of (start, end) pairs, optional
        True labelled anomaly windows.
    ax : matplotlib Axes, optional
        Where to draw; by default a new Figure (not pyplot) with one Axes.
    title : str, optional
        Title of the Axes.

    Returns
    -------
    matplotlib Axes
        The metric's Axes (the score axis is its twin, ``ax.figure.axes``).

    Raises
    ------
    DataError
        Empty input, lengths that differ, unreadable times, or a span that ends before it starts.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np
    >>> t = np.arange(0, 3600, 60.0)
    >>> v = np.sin(t / 600); v[30:35] += 4
    >>> s = np.where(np.abs(v) > 2, 0.9, 0.1)
    >>> ax = metric_timeline(t, v, scores=s, alerts=s > 0.5, windows=[(1700, 2150)], incidents=[(1800, 2100)])
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['metric', 'alert', 'predicted incident', 'true window', 'score', 'threshold 0.5']
    """
    func = "metric_timeline"
    check_params(func, {"threshold": [None, float], "title": [None, str]},
                 {"threshold": threshold, "title": title})
    t = seconds(times, "times", func)
    v = as_1d(values, "values", func).astype(float)
    same_length(func, times=t, values=v)
    ax = new_axes(ax, func)
    x = to_dates(t)
    ax.plot(x, v, color="tab:blue", lw=1.2, label="metric")
    if alerts is not None:
        a = as_1d(alerts, "alerts", func)
        if a.dtype.kind == "b":
            same_length(func, times=t, alerts=a)
            at, av = t[a], v[a]
        else:
            at = seconds(a, "alerts", func)
            order = np.argsort(t, kind="stable")
            av = np.interp(at, t[order], v[order])
        ax.scatter(to_dates(at), av, color=_ALERT_COLOR, marker="v", s=30, zorder=3, label="alert")
    last = float(np.nanmax(t))
    for i, (a0, a1) in enumerate(spans(incidents, "incidents", func, last)):
        ax.axvspan(to_dates(a0), to_dates(a1), color=_INCIDENT_COLOR, alpha=0.25,
                   label="predicted incident" if i == 0 else None)
    for i, (w0, w1) in enumerate(spans(windows, "windows", func, last)):
        ax.axvspan(to_dates(w0), to_dates(w1), color=_WINDOW_COLOR, alpha=0.2,
                   label="true window" if i == 0 else None)
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("value")
    twin = None
    if scores is not None:
        s = as_1d(scores, "scores", func).astype(float)
        same_length(func, times=t, scores=s)
        cut = DEFAULT_THRESHOLD if threshold is None else threshold
        twin = ax.twinx()
        twin.plot(x, s, color=_SCORE_COLOR, lw=0.9, alpha=0.8, label="score")
        twin.axhline(cut, color=_SCORE_COLOR, ls="--", lw=0.9, label=f"threshold {cut:g}")
        twin.set_ylim(0, 1.05)
        twin.set_ylabel("score")
        # the metric's Axes (and its legend) above the score axis, so the scores never paint over the legend
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
    elif threshold is not None:
        raise DataError(f"{func}: threshold={threshold!r} needs scores to be drawn over; pass scores=.")
    legend(ax, *([twin] if twin is not None else []))
    if title is not None:
        ax.set_title(title)
    return ax


def _zscore(v: np.ndarray) -> np.ndarray:
    mu, sd = np.nanmean(v), np.nanstd(v)
    return (v - mu) / sd if sd > 0 else v - mu


def incident_view(frame: pd.DataFrame, incident: Incident, *, time_col: str = "timestamp",
                  metrics: Sequence[str] | None = None, top: int = 5, fig: Any = None) -> Any:
    """The metrics of one incident, stacked, with its span and a bar chart of contributions.

    Each of the ``top`` metrics that contributed most (in the order of ``incident.metrics``) gets
    its own panel, z-scored over the rows of ``frame``, with the incident shaded (onset to
    resolution), a dashed line at the onset and a solid one when it was raised. A bar chart on
    the right shows each metric's share of the evidence.

    Parameters
    ----------
    frame : DataFrame
        Wide metrics of the incident's entity: a time column and one column per metric. Slice it
        to the window you want to see: every row is plotted and z-scores use them all.
    incident : Incident
        The incident, e.g. from :class:`~incidentml.IncidentPredictor`.
    time_col : str, default="timestamp"
        The time column (datetimes, strings or epoch seconds).
    metrics : sequence of str, optional
        The metric columns to plot (default: the incident's metrics found in ``frame``).
    top : int, default=5
        Most metrics plotted.
    fig : matplotlib Figure, optional
        An empty Figure to draw on; by default a new one (not pyplot).

    Returns
    -------
    matplotlib Figure
        One Axes per metric (sharing the x axis), then the contributions' Axes.

    Raises
    ------
    SchemaError
        ``time_col`` or a metric is not a column of ``frame``, or no metric of the incident is.
    DataError
        ``frame`` is empty.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, pandas as pd
    >>> from incidentml import Incident
    >>> t = np.arange(0, 3600, 60.0)
    >>> frame = pd.DataFrame({"timestamp": t, "cpu": np.r_[np.zeros(40), np.ones(20)] * 50 + 10,
    ...                       "latency_ms": np.r_[np.zeros(42), np.ones(18)] * 300 + 100})
    >>> inc = Incident(id="web-1-00001", entity="web-1", raised_at=2520.0, onset=2400.0,
    ...                metrics=[{"name": "cpu", "contribution": 0.7, "first_at": 2400.0, "peak": 0.9},
    ...                         {"name": "latency_ms", "contribution": 0.3, "first_at": 2520.0, "peak": 0.8}])
    >>> fig = incident_view(frame, inc)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['cpu (z)', 'latency_ms (z)', '']
    """
    func = "incident_view"
    check_params(func, {"time_col": [str], "top": [Interval(int, 1, None)], "metrics": [None, list, tuple]},
                 {"time_col": time_col, "top": top, "metrics": metrics})
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{func}: frame must be a pandas DataFrame; got {type(frame).__name__}.")
    if len(frame) == 0:
        raise DataError(f"{func}: frame is empty; pass the rows around the incident.")
    if not isinstance(incident, Incident):
        raise DataError(f"{func}: incident must be an Incident; got {type(incident).__name__}.")
    require_columns(frame, [time_col], "time_col")
    if metrics is None:
        names = [m["name"] for m in incident.metrics if m["name"] in frame.columns][:top]
        if not names:
            wanted = [m["name"] for m in incident.metrics]
            raise SchemaError(f"{func}: none of the incident's metrics {wanted!r} is a column of frame "
                              f"(columns: {list(frame.columns)!r}). Pass the entity's wide metric frame, "
                              "or name the columns with metrics=.")
    else:
        require_columns(frame, list(metrics), "metrics")
        names = list(metrics)[:top]
    t = column_seconds(frame, time_col)
    x = to_dates(t)
    end = incident.resolved_at if incident.resolved_at is not None else max(incident.updated_at, float(np.nanmax(t)))
    fig = new_figure(fig, func, (10, 1.8 * len(names) + 1))
    grid = fig.add_gridspec(len(names), 2, width_ratios=[3, 1])
    axes: list[Any] = []
    for i, name in enumerate(names):
        ax = fig.add_subplot(grid[i, 0], sharex=axes[0] if axes else None)
        ax.plot(x, _zscore(pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)), lw=1.1,
                label=name)
        ax.axvspan(to_dates(incident.onset), to_dates(end), color=_INCIDENT_COLOR, alpha=0.25,
                   label="incident" if i == 0 else None)
        ax.axvline(to_dates(incident.onset), color="black", ls="--", lw=0.9, label="onset" if i == 0 else None)
        ax.axvline(to_dates(incident.raised_at), color=_ALERT_COLOR, lw=0.9, label="raised" if i == 0 else None)
        ax.set_ylabel(f"{name} (z)")
        if i < len(names) - 1:
            ax.tick_params(labelbottom=False)
        axes.append(ax)
    axes[0].legend(loc="upper left", fontsize="small")
    axes[-1].set_xlabel("time (UTC)")
    axes[0].set_title(f"{incident.id} ({incident.entity}, {incident.severity}, score {incident.score:.2f})")
    bar = fig.add_subplot(grid[:, 1])
    shown = incident.metrics[:top]
    bar.barh([m["name"] for m in shown][::-1], [float(m["contribution"]) for m in shown][::-1],
             color=_INCIDENT_COLOR)
    bar.set_xlabel("contribution")
    bar.set_title("root-cause hint")
    return fig


def _forecast_fields(forecast: Any, func: str) -> dict[str, Any]:
    """The fields a plot needs from a BreachForecast or an ``Incident.forecast`` dict, in seconds."""
    if isinstance(forecast, BreachForecast):
        d: dict[str, Any] = {k: getattr(forecast, k) for k in
                             ("limit", "value", "slope_per_hour", "eta_seconds", "eta_low_seconds",
                              "eta_high_seconds", "confidence", "metric", "n_points", "as_of")}
        d["crosses_at"] = float(forecast.crosses_at)
        return d
    if not isinstance(forecast, dict):
        raise DataError(f"{func}: forecast must be a BreachForecast or an Incident.forecast dict; "
                        f"got {type(forecast).__name__}.")
    missing = [k for k in ("limit", "value", "slope_per_hour", "eta_seconds") if k not in forecast]
    if missing:
        raise SchemaError(f"{func}: forecast lacks {missing!r} (keys: {sorted(forecast)!r}); pass a "
                          "BreachForecast or the forecast dict of an Incident.")
    d = {k: forecast.get(k) for k in ("limit", "value", "slope_per_hour", "eta_seconds", "eta_low_seconds",
                                      "eta_high_seconds", "confidence", "metric", "n_points")}
    as_of = forecast.get("as_of")
    d["as_of"] = math.nan if as_of is None else one_second(as_of, "forecast['as_of']", func)
    crosses = forecast.get("crosses_at_seconds", forecast.get("crosses_at"))
    d["crosses_at"] = math.nan if crosses is None else one_second(crosses, "forecast['crosses_at']", func)
    return d


def forecast_plot(times: Any, values: Any, forecast: BreachForecast | dict[str, Any] | None, *,
                  limit: float | None = None, ax: Any = None) -> Any:
    """A metric's history, its fitted trend to the limit, and the predicted crossing with its interval.

    Draws the history up to the forecast's ``as_of`` (line; what came after it, if given, as a
    faint line), the limit (red horizontal line), the fitted trend from the fitted window to the
    crossing (dashed), a fan between the earliest and latest crossing of the
    interval (the latest is open-ended when the forecast has no upper bound), the expected
    crossing time (vertical line) and its interval (shaded).

    Parameters
    ----------
    times : sequence of timestamps, shape (n,)
        Datetimes, pandas Timestamps, datetime64 or epoch seconds.
    values : sequence of float, shape (n,)
        The metric.
    forecast : BreachForecast or dict or None
        From :func:`incidentml.incidents.fit_breach`, a
        :class:`~incidentml.incidents.BreachForecaster`, or an :class:`~incidentml.Incident`'s
        ``forecast`` dict. ``None`` (no forecast) draws the history and the limit only.
    limit : float, optional
        The limit line; defaults to the forecast's own limit.
    ax : matplotlib Axes, optional
        Where to draw; by default a new Figure (not pyplot) with one Axes.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    DataError
        Empty input, lengths that differ, or an object that is not a forecast.
    SchemaError
        A forecast dict without the trend's fields.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np
    >>> from incidentml.incidents import fit_breach
    >>> t = np.arange(0, 7200, 300.0)
    >>> v = 50 + t / 360 + np.random.default_rng(0).normal(0, 0.5, t.size)
    >>> fc = fit_breach(t, v, 95, min_points=6)
    >>> ax = forecast_plot(t, v, fc)
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['history', 'limit 95', 'trend', '80% interval', 'crossing']
    """
    func = "forecast_plot"
    check_params(func, {"limit": [None, float]}, {"limit": limit})
    t = seconds(times, "times", func)
    v = as_1d(values, "values", func).astype(float)
    same_length(func, times=t, values=v)
    ax = new_axes(ax, func)
    fc = None if forecast is None else _forecast_fields(forecast, func)
    as_of = float(np.nanmax(t)) if fc is None or not math.isfinite(fc["as_of"]) else fc["as_of"]
    before = ~(t > as_of)  # the history the forecast saw; what came after is drawn apart
    ax.plot(to_dates(t[before]), v[before], color="tab:blue", lw=1.2, label="history")
    if (~before).any():
        ax.plot(to_dates(t[~before]), v[~before], color="tab:blue", lw=0.8, alpha=0.4, label="after the forecast")
    lim = limit if limit is not None else (None if fc is None else float(fc["limit"]))
    if lim is not None:
        ax.axhline(lim, color=_ALERT_COLOR, lw=1.0, label=f"limit {lim:g}")
    if fc is not None:
        crosses = fc["crosses_at"] if math.isfinite(fc["crosses_at"]) else as_of + float(fc["eta_seconds"])
        slope = float(fc["slope_per_hour"]) / 3600.0
        n_fit = int(fc.get("n_points") or 0)
        t_sorted = np.sort(t[np.isfinite(t) & before])
        start = t_sorted[-n_fit] if 0 < n_fit <= t_sorted.size else as_of
        trend_t = np.array([start, max(crosses, as_of)])
        ax.plot(to_dates(trend_t), float(fc["value"]) + slope * (trend_t - as_of), color="black", ls="--",
                lw=1.0, label="trend")
        low, high = fc.get("eta_low_seconds"), fc.get("eta_high_seconds")
        lo_at = as_of + float(low) if low is not None else crosses
        horizon = max(crosses - as_of, 1.0)
        hi_at = as_of + float(high) if high is not None else crosses + horizon
        level, target = float(fc["value"]), float(fc["limit"])
        fan_t = np.linspace(as_of, hi_at, 50)

        def toward(at: float) -> np.ndarray:
            frac = np.clip((fan_t - as_of) / max(at - as_of, 1e-9), 0, 1)
            return level + (target - level) * frac

        conf = fc.get("confidence")
        name = f"{100 * float(conf):.0f}% interval" if conf is not None else "interval"
        ax.fill_between(to_dates(fan_t), toward(lo_at), toward(hi_at) if high is not None else level,
                        color="grey", alpha=0.25, label=name)
        ax.axvspan(to_dates(lo_at), to_dates(hi_at), color=_ALERT_COLOR, alpha=0.08)
        ax.axvline(to_dates(crosses), color=_ALERT_COLOR, ls=":", lw=1.2, label="crossing")
        if fc.get("metric"):
            ax.set_title(f"{fc['metric']}: forecast to cross {target:g}")
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel(str(fc["metric"]) if fc is not None and fc.get("metric") else "value")
    legend(ax)
    return ax
