"""History plots: incident counts over time per group, and the biggest recurring problems."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._validation import Interval
from ..exceptions import DataError, SchemaError
from ..history import incident_counts
from ._common import check_params, legend, new_axes

__all__ = ["incident_trends", "recurring_chart"]

_COUNT_COLS = {"period", "count", "share"}


def _counts_frame(data: Any, by: str, freq: str, func: str) -> tuple[pd.DataFrame, str]:
    """The output of ``incident_counts`` (computed from a history frame when needed) and its group column."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{func}: history_or_counts must be a DataFrame (a history or the output of "
                        f"incidentml.history.incident_counts); got {type(data).__name__}.")
    if len(data) == 0:
        raise DataError(f"{func}: history_or_counts is empty; pass at least one incident.")
    if {"period", "count"} <= set(data.columns):
        counts = data
    else:
        counts = incident_counts(data, by, freq=freq)
        if "period" not in counts.columns:
            raise SchemaError(f"{func}: the history has no time column to count over (columns: "
                              f"{list(data.columns)!r}); add one such as 'opened_at', or pass the output of "
                              "incident_counts(history, by, time_col=...).")
    groups = [c for c in counts.columns if c not in _COUNT_COLS]
    if by in counts.columns:
        col = by
    elif len(groups) == 1:
        col = groups[0]
    else:
        raise SchemaError(f"{func}: cannot tell the group column: by={by!r} is not a column and the counts have "
                          f"{groups!r}. Pass by= one of them.")
    return counts, col


def incident_trends(history_or_counts: pd.DataFrame, *, by: str = "category", freq: str = "W", top: int = 8,
                    ax: Any = None) -> Any:
    """Incidents per period for the biggest groups, as a stacked area (the rest as ``other``).

    Parameters
    ----------
    history_or_counts : DataFrame
        Either the output of :func:`incidentml.history.incident_counts` (``period``, the group
        column, ``count``) or a history frame, which is counted with ``by`` and ``freq``.
    by : str, default="category"
        The group column or role (see :func:`~incidentml.history.incident_counts`).
    freq : str, default="W"
        Pandas period alias used when a history frame is given.
    top : int, default=8
        Groups drawn by name (the largest in total); the others are summed into ``other``.
    ax : matplotlib Axes, optional
        Where to draw; by default a new Figure (not pyplot) with one Axes.

    Returns
    -------
    matplotlib Axes
        One filled band per group, in the legend largest first.

    Raises
    ------
    DataError
        Not a DataFrame, or empty.
    SchemaError
        No time column to count over, or the group column cannot be found.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd
    >>> h = pd.DataFrame({"team": ["db", "db", "net", "db"],
    ...                   "opened_at": ["2024-01-01", "2024-01-09", "2024-01-02", "2024-01-16"]})
    >>> ax = incident_trends(h, by="team")
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['db', 'net']
    """
    func = "incident_trends"
    check_params(func, {"by": [str], "freq": [str], "top": [Interval(int, 1, None)]},
                 {"by": by, "freq": freq, "top": top})
    counts, col = _counts_frame(history_or_counts, by, freq, func)
    table = counts.pivot_table(index="period", columns=col, values="count", aggfunc="sum", fill_value=0)
    table = table.sort_index()
    totals = table.sum().sort_values(ascending=False, kind="stable")
    keep = list(totals.index[:top])
    shown = table[keep]
    if len(totals) > top:
        shown = shown.assign(other=table.drop(columns=keep).sum(axis=1))
    ax = new_axes(ax, func)
    x = pd.to_datetime(shown.index).to_numpy()
    ax.stackplot(x, *[shown[c].to_numpy(dtype=float) for c in shown.columns],
                 labels=[str(c) for c in shown.columns], alpha=0.8)
    ax.set_xlabel("period")
    ax.set_ylabel("incidents")
    ax.set_title(f"Incidents per period by {col}")
    legend(ax)
    return ax


def recurring_chart(recurring: pd.DataFrame, *, top: int = 10, ax: Any = None) -> Any:
    """Horizontal bars of the biggest recurring groups, labelled by their representative incident.

    Parameters
    ----------
    recurring : DataFrame
        The output of :func:`incidentml.history.recurring_incidents` (``count`` and
        ``representative``; ``category`` is added to the labels when present).
    top : int, default=10
        Groups shown, largest at the top.
    ax : matplotlib Axes, optional
        Where to draw; by default a new Figure (not pyplot) with one Axes.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    SchemaError
        ``recurring`` lacks the ``count`` or ``representative`` column.
    DataError
        Not a DataFrame, or no group at all.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"count": [5, 3], "representative": ["disk full on db-1", "vpn drops"]})
    >>> ax = recurring_chart(rec)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['vpn drops', 'disk full on db-1']
    """
    func = "recurring_chart"
    check_params(func, {"top": [Interval(int, 1, None)]}, {"top": top})
    if not isinstance(recurring, pd.DataFrame):
        raise DataError(f"{func}: recurring must be the DataFrame of incidentml.history.recurring_incidents; "
                        f"got {type(recurring).__name__}.")
    missing = [c for c in ("count", "representative") if c not in recurring.columns]
    if missing:
        raise SchemaError(f"{func}: recurring lacks the column(s) {missing!r} (columns: "
                          f"{list(recurring.columns)!r}); pass the output of recurring_incidents.")
    if len(recurring) == 0:
        raise DataError(f"{func}: recurring has no group (nothing recurs at this threshold); lower "
                        "recurring_incidents' threshold or min_count.")
    rows = recurring.sort_values("count", ascending=False, kind="stable").head(top)
    names = []
    for _, row in rows.iterrows():
        text = str(row["representative"])
        text = text if len(text) <= 40 else text[:39] + "…"
        if "category" in rows.columns and pd.notna(row["category"]):
            text += f" [{row['category']}]"
        names.append(text)
    ax = new_axes(ax, func)
    bars = ax.barh(names[::-1], rows["count"].to_numpy(dtype=float)[::-1], color="tab:blue")
    ax.bar_label(bars, fmt="%d", fontsize="small", padding=2)
    ax.set_xlabel("incidents in the group")
    ax.set_title("Recurring incidents")
    return ax
