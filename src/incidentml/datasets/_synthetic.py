"""A seeded generator of synthetic incident tickets with known labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_tickets"]

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
    for i in range(n_tickets):
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
