"""Incident history: similar past incidents, recurring problems and post-incident summaries.

:class:`SimilarIncidents` is a fitted index of past incidents or tickets: ``query`` returns the
past rows most like a new incident (every column, so their team and resolution, plus one
``similarity`` in ``[0, 1]``, most similar first) and flags the incident as novel when nothing
in the history is close. The pattern functions take an incident history as a DataFrame (tickets,
or predicted incidents read by :func:`read_incidents`) and return DataFrames:
:func:`recurring_incidents`, :func:`incident_counts`, :func:`time_to_resolve`,
:func:`top_entities`, :func:`top_metrics`, and :func:`post_incident_summary` for one incident.
Column names are keywords; left at ``None`` they are found among the usual names
(:class:`HistoryColumns`), the candidates for each role being listed in :data:`CANDIDATES`.
"""

from ._columns import CANDIDATES, HistoryColumns
from ._patterns import (
    incident_counts,
    read_incidents,
    recurring_incidents,
    time_to_resolve,
    top_entities,
    top_metrics,
)
from ._postmortem import PostIncidentSummary, markdown_table, post_incident_summary
from ._similar import SimilarIncidents

__all__ = [
    "CANDIDATES",
    "HistoryColumns",
    "PostIncidentSummary",
    "SimilarIncidents",
    "incident_counts",
    "markdown_table",
    "post_incident_summary",
    "read_incidents",
    "recurring_incidents",
    "time_to_resolve",
    "top_entities",
    "top_metrics",
]
