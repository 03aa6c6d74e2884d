"""Shared fixtures and the Hypothesis profile used by the suite."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, settings

# CI machines are small and shared: no deadlines, a moderate number of examples.
settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("ci")


@pytest.fixture(scope="session")
def tickets():
    """The synthetic ticket table of ``make_tickets`` (400 rows, seed 0)."""
    from incidentml.datasets import make_tickets

    return make_tickets(400, seed=0)


@pytest.fixture(scope="session")
def fitted(tickets):
    """A TriageModel fitted on the synthetic tickets with three targets and one structured feature."""
    from incidentml import TriageModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TriageModel(random_state=0, **{"max_features": 20000, "progress": False}).fit(
            tickets, text=["title", "description"],
            targets={"category": "category", "team": "team", "priority": "priority"}, features=["service"])
