"""Column names of an incident history, with defaults that fit tickets and predicted incidents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import SchemaError
from ..utils import parse_times, seconds_to_datetime64

__all__ = ["HistoryColumns", "CANDIDATES"]

#: For each role, the column names tried in order when the caller names none. The first groups
#: fit the ticket sample of :func:`incidentml.datasets.load_tickets` and the Endava files, the
#: incident ones the JSONL written by ``incidentml incidents`` (read by :func:`read_incidents`).
CANDIDATES: dict[str, tuple[Any, ...]] = {
    "id": ("id", "ticket_id", "incident_id", "issue_key", "number", "key"),
    "text": (("title", "description"), ("Document",), ("text",), ("title",), ("summary",), ("description",),
             ("short_description",)),
    "time": ("opened_at", "created_at", "created", "raised_at", "onset", "timestamp", "time", "date"),
    "resolved": ("resolved_at", "resolved", "closed_at", "closed", "resolution_date"),
    "category": ("category", "Topic_group", "kind", "type"),
    "team": ("team", "assignment_group", "assignee_group", "service", "business_service", "entity"),
    "priority": ("priority", "severity", "urgency"),
    "resolution": ("resolution", "resolution_notes", "close_notes", "fix", "resolved_by"),
}


def _present(frame: pd.DataFrame, role: str) -> Any:
    for cand in CANDIDATES[role]:
        if isinstance(cand, tuple):
            if all(c in frame.columns for c in cand):
                return list(cand)
        elif cand in frame.columns:
            return cand
    return None


@dataclass(frozen=True)
class HistoryColumns:
    """Which column of an incident history plays which role; ``None`` means "find it".

    Every pattern function takes these names as keywords (``time_col=``, ``team_col=``...). A
    name left at ``None`` is looked up among :data:`CANDIDATES` (the first present wins; see
    :meth:`resolve`), and a role with no column is skipped by the tables that need it.

    Parameters
    ----------
    id_col : str, optional
        Identifier (``id``, ``ticket_id``, ``issue_key``...).
    text : list of str, optional
        Text columns (``title`` + ``description``, else ``Document``, ``text``, ``title``,
        ``summary``...). Predicted incidents (:func:`read_incidents`) are read by their ``title``
        (severity, entity and leading metrics): their summaries share one template.
    time_col : str, optional
        When the incident opened (``opened_at``, ``created``, ``raised_at``, ``onset``...).
    resolved_col : str, optional
        When it was resolved (``resolved_at``, ``closed_at``...).
    category_col, team_col, priority_col, resolution_col : str, optional
        Category (``category``, ``Topic_group``, ``kind``), resolver team (``team``, ``service``,
        ``entity``...), priority (``priority``, ``severity``, ``urgency``) and how it was resolved
        (``resolution``, ``close_notes``...).

    Examples
    --------
    >>> import pandas as pd
    >>> cols = HistoryColumns().resolve(pd.DataFrame(columns=["ticket_id", "title", "description", "service"]))
    >>> cols.id_col, cols.text, cols.team_col, cols.time_col
    ('ticket_id', ['title', 'description'], 'service', None)
    """

    id_col: str | None = None
    text: Sequence[str] | None = None
    time_col: str | None = None
    resolved_col: str | None = None
    category_col: str | None = None
    team_col: str | None = None
    priority_col: str | None = None
    resolution_col: str | None = None

    _ROLE = {"id_col": "id", "text": "text", "time_col": "time", "resolved_col": "resolved",
             "category_col": "category", "team_col": "team", "priority_col": "priority",
             "resolution_col": "resolution"}

    def resolve(self, frame: pd.DataFrame) -> HistoryColumns:
        """Fill every unnamed role from :data:`CANDIDATES`; check that every named column exists.

        Raises
        ------
        SchemaError
            A column named by the caller is not in ``frame`` (the message names the keyword).

        Parameters
        ----------
        frame : pandas.DataFrame
            The incident history.

        Returns
        -------
        HistoryColumns
            A copy with every role found (``None`` where the frame has no such column).

            Examples
            --------
            >>> import pandas as pd
            >>> h = pd.DataFrame({"ticket_id": ["T1"], "title": ["vpn drops"], "created_at": ["2024-01-02"]})
            >>> cols = HistoryColumns().resolve(h)
            >>> cols.id_col, cols.text, cols.time_col, cols.team_col
            ('ticket_id', ['title'], 'created_at', None)
            >>> HistoryColumns(team_col="owner").resolve(h)
            Traceback (most recent call last):
            ...
            incidentml.exceptions.SchemaError: team_col: column 'owner' is not in the data (columns: ...). ...
        """
        found: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                found[f.name] = _present(frame, self._ROLE[f.name])
                continue
            names = [value] if isinstance(value, str) else list(value)
            for c in names:
                if c not in frame.columns:
                    shown = ", ".join(repr(str(x)) for x in list(frame.columns)[:12])
                    msg = f"{f.name}: column {c!r} is not in the data (columns: {shown}). Name an existing column."
                    raise SchemaError(msg)
            found[f.name] = names if f.name == "text" else value
        return replace(self, **found)


def resolve_columns(frame: pd.DataFrame, **names: Any) -> HistoryColumns:
    """:class:`HistoryColumns` from keyword names (``None`` = find it), resolved against ``frame``."""
    return HistoryColumns(**names).resolve(frame)


def times(frame: pd.DataFrame, col: str | None) -> pd.Series:
    """A column as UTC timestamps, ``datetime64[us, UTC]`` (NaT where missing or unreadable).

    Read by :func:`incidentml.utils.parse_times`, the parser of every route: epoch numbers in the
    unit their magnitude shows, day-first dates decided from the whole column (or refused),
    offsets to UTC, 1677 to 9999. Callers count the unreadable cells and report them.
    """
    if col is None:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    secs = parse_times(frame[col], name=str(col), errors="coerce")
    return pd.Series(seconds_to_datetime64(secs), index=frame.index).dt.tz_localize("UTC")


def labels(frame: pd.DataFrame, col: str) -> pd.Series:
    """A label column as strings, with empty cells as ``"(none)"``."""
    s = frame[col]
    return s.astype(object).where(s.notna(), "(none)").astype(str).replace({"": "(none)", "nan": "(none)"})


def mode(values: pd.Series) -> Any:
    """Most frequent non-missing value (the first in order among ties), or None."""
    v = values.dropna()
    if v.empty:
        return None
    counts = v.astype(str).value_counts(sort=False)
    return counts.index[int(np.argmax(counts.to_numpy()))]
