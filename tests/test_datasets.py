"""Bundled samples and the synthetic generator."""

from __future__ import annotations

import pandas as pd

from incidentml.datasets import load_tickets, make_tickets


def test_load_tickets_schema():
    """The bundled Endava sample has its documented columns and eight categories."""
    t = load_tickets()
    assert list(t.columns) == ["ticket_id", "title", "description", "category", "ticket_type", "urgency", "impact",
                               "service"]
    assert t["category"].nunique() == 8
    assert t["ticket_id"].is_unique


def test_make_tickets_seeded():
    """The same seed gives the same tickets; another seed gives others."""
    pd.testing.assert_frame_equal(make_tickets(50, seed=3), make_tickets(50, seed=3))
    assert not make_tickets(50, seed=3).equals(make_tickets(50, seed=4))


def test_data_home_names_a_wrong_override(monkeypatch, tmp_path):
    """INCIDENTML_DATA pointing at a folder without the samples is a clear error naming the variable."""
    import pytest

    from incidentml.datasets import data_home
    from incidentml.exceptions import SchemaError

    monkeypatch.setenv("INCIDENTML_DATA", str(tmp_path))
    with pytest.raises(SchemaError, match="INCIDENTML_DATA=.*does not hold the bundled samples"):
        data_home()


def test_scenarios_are_public_and_seeded():
    """The scenario generator is public in incidentml.datasets, seeded, and knows its kinds."""
    from incidentml.datasets import SCENARIO_KINDS, make_scenario

    a, b = make_scenario("disk_fill", seed=2, n_points=300), make_scenario("disk_fill", seed=2, n_points=300)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert "normal" in SCENARIO_KINDS
