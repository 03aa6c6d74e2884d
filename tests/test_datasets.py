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
