"""Seeded generators of synthetic data with known labels: incident tickets and metric streams."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError

__all__ = ["make_metric_stream", "make_tickets"]

_CATEGORIES = {
    # category: (team, words, typical services)
    "network": ("netops", ["vpn", "dns", "latency", "packet loss", "firewall", "router", "switch port", "wifi"],
                ["vpn-gw", "core-net"]),
    "database": ("dba", ["database", "deadlock", "replication lag", "query timeout", "ORA-00942", "connection pool",
                         "tablespace", "slow query"], ["orders-db", "billing-db"]),
    "access": ("identity", ["password reset", "locked account", "permission denied", "mfa", "sso login",
                            "access request", "group membership"], ["ldap", "sso"]),
    "hardware": ("desk", ["laptop", "monitor", "keyboard", "docking station", "printer jam", "battery",
                          "screen flicker"], ["endpoint"]),
    "application": ("appsupport", ["http 500", "NullPointerException", "deployment failed", "memory leak",
                                   "crash on startup", "api error"], ["checkout", "search", "billing-api"]),
}
_PRIORITY_WORDS = {
    "P1": ["outage", "all users", "production down", "revenue impact", "sev1"],
    "P2": ["degraded", "many users", "urgent", "customers affected"],
    "P3": ["single user", "intermittent", "when possible"],
    "P4": ["question", "cosmetic", "low priority", "request"],
}
_FILLER = ["please help", "since this morning", "hi team", "see logs", "thanks", "any update", "reported by user",
           "after the change", "on host", "again"]


def make_tickets(n_tickets: int = 300, *, seed: int | None = 0, noise: float = 0.1) -> pd.DataFrame:
    """Generate incident tickets whose text carries their category, team and priority.

    Parameters
    ----------
    n_tickets : int, default=300
        Number of rows.
    seed : int or None, default=0
        Seed of the local random generator.
    noise : float, default=0.1
        Share of tickets whose category words are drawn from a random other category.

    Returns
    -------
    DataFrame
        Columns ``title``, ``description``, ``service``, ``category``, ``team`` and
        ``priority`` (``P1`` most severe .. ``P4``).

    Examples
    --------
    >>> t = make_tickets(5, seed=1)
    >>> list(t.columns)
    ['title', 'description', 'service', 'category', 'team', 'priority']
    """
    rng = np.random.default_rng(seed)
    cats = list(_CATEGORIES)
    prios = np.array(["P1", "P2", "P3", "P4"])
    rows = []
    for _ in range(n_tickets):
        cat = cats[rng.integers(len(cats))]
        team, words, services = _CATEGORIES[cat]
        shown = cats[rng.integers(len(cats))] if rng.random() < noise else cat
        w = _CATEGORIES[shown][1]
        prio = prios[rng.choice(4, p=[0.1, 0.2, 0.45, 0.25])]
        pw = _PRIORITY_WORDS[prio]
        title = f"{w[rng.integers(len(w))]} {pw[rng.integers(len(pw))]}"
        host = f"srv{rng.integers(1, 99):02d}.corp.example.com"
        desc = " ".join([
            _FILLER[rng.integers(len(_FILLER))], w[rng.integers(len(w))], pw[rng.integers(len(pw))],
            f"on {host} at 10.{rng.integers(255)}.{rng.integers(255)}.{rng.integers(255)}",
            _FILLER[rng.integers(len(_FILLER))], f"ticket {rng.integers(10000, 99999)}",
        ])
        rows.append({"title": title, "description": desc, "service": services[rng.integers(len(services))],
                     "category": cat, "team": team, "priority": prio})
    return pd.DataFrame(rows)


def make_metric_stream(n_series: int = 3, anomaly_rate: float = 0.002, *, n_points: int = 2000, freq: str = "5min",
                       seed: int | None = 0) -> pd.DataFrame:
    """A long-format frame of metric series with labelled anomalies (spikes, level shifts, drops).

    Each series is a daily cycle plus a slow random walk plus noise, with its own level and scale.
    Anomalies start at random points (about ``anomaly_rate`` of the points, at least one per series
    after the first 30%) and last 1 (spike) to 30 (level shift or drop) points.

    Parameters
    ----------
    n_series : int, default=3
    anomaly_rate : float, default=0.002
        Expected share of points where an anomaly starts.
    n_points : int, default=2000
        Points per series.
    freq : str, default="5min"
        Sampling interval (a pandas frequency).
    seed : int or None, default=0

    Returns
    -------
    DataFrame
        Columns ``series_id``, ``timestamp``, ``value`` and ``is_anomaly`` (True on anomalous points).

    Examples
    --------
    >>> frame = make_metric_stream(2, n_points=500, seed=1)
    >>> frame.shape, sorted(frame["series_id"].unique())
    ((1000, 4), ['series-0', 'series-1'])
    >>> bool(frame.groupby("series_id")["is_anomaly"].any().all())
    True
    """
    if n_series < 1 or n_points < 10:
        msg = (f"The 'n_series' and 'n_points' parameters of make_metric_stream must be at least 1 and 10. "
               f"Got {n_series!r} and {n_points!r} instead.")
        raise InvalidParameterError(msg)
    if not 0 <= anomaly_rate <= 0.1:
        msg = (f"The 'anomaly_rate' parameter of make_metric_stream must be in the range [0, 0.1]. "
               f"Got {anomaly_rate!r} instead.")
        raise InvalidParameterError(msg)
    rng = np.random.default_rng(seed)
    times = pd.date_range("2024-01-01", periods=n_points, freq=freq)
    step = (times[1] - times[0]).total_seconds()
    per_day = max(int(86400 / step), 2)
    frames = []
    for k in range(n_series):
        level, scale = rng.uniform(10, 100), rng.uniform(0.5, 5)
        i = np.arange(n_points)
        value = (level + 3 * scale * np.sin(2 * np.pi * i / per_day + rng.uniform(0, 6.3))
                 + np.cumsum(rng.normal(0, 0.05 * scale, n_points)) + rng.normal(0, scale, n_points))
        label = np.zeros(n_points, dtype=bool)
        starts = np.flatnonzero(rng.random(n_points) < anomaly_rate)
        starts = starts[starts > 0.3 * n_points]
        if len(starts) == 0:
            starts = np.array([int(rng.integers(int(0.3 * n_points), n_points - 1))])
        for s0 in starts:
            kind = rng.integers(3)
            length = 1 if kind == 0 else int(rng.integers(10, 31))
            end = min(s0 + length, n_points)
            sign = rng.choice([-1.0, 1.0])
            value[s0:end] += sign * (rng.uniform(6, 10) if kind == 0 else rng.uniform(4, 6)) * scale * (
                1 if kind != 2 else -sign * 1.5)
            label[s0:end] = True
        frames.append(pd.DataFrame({"series_id": f"series-{k}", "timestamp": times, "value": value,
                                    "is_anomaly": label}))
    return pd.concat(frames, ignore_index=True)
