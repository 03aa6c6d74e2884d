"""Incident-history patterns, post-incident summaries and ``incidentml history``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from incidentml import Incident
from incidentml.cli import main
from incidentml.datasets import load_tickets
from incidentml.exceptions import DataError, InvalidParameterError, SchemaError, SkippedRowsWarning
from incidentml.history import (
    HistoryColumns,
    PostIncidentSummary,
    incident_counts,
    post_incident_summary,
    read_incidents,
    recurring_incidents,
    time_to_resolve,
    top_entities,
    top_metrics,
)

HOUR = 3600.0


def _incidents() -> list[Incident]:
    out = []
    specs = [("db-1", "disk_used_pct", "P2"), ("web-1", "latency_ms", "P3"), ("db-1", "disk_used_pct", "P1"),
             ("db-2", "disk_used_pct", "P2"), ("web-1", "latency_ms", "P4"), ("app-1", "gc_pause_ms", "P3")]
    for i, (entity, metric, sev) in enumerate(specs):
        onset = i * 24 * HOUR
        metrics = [{"name": metric, "contribution": 0.8, "first_at": onset, "peak": 0.9},
                   {"name": "cpu_pct", "contribution": 0.2, "first_at": onset + 600, "peak": 0.5}]
        out.append(Incident(id=f"{entity}-{i:04d}", entity=entity, raised_at=onset + 300, onset=onset,
                            resolved_at=onset + (i + 1) * HOUR, status="resolved", severity=sev, metrics=metrics,
                            summary=f"{metric} on {entity} is unusual."))
    return out


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "incidents.jsonl"
    path.write_text("".join(i.to_json() + "\n" for i in _incidents()), encoding="utf-8")
    return path


@pytest.fixture
def tickets():
    return pd.DataFrame({
        "ticket_id": ["T1", "T2", "T3", "T4", "T5"],
        "title": ["disk full on db-1", "vpn drops every hour", "disk full on db-1", "printer jam", "disk full db-1"],
        "category": ["Storage", "Network", "Storage", "Hardware", "Storage"],
        "team": ["dba", "net", "dba", "desk", "dba"],
        "resolution": ["purged logs", "replaced router", "purged logs again", "cleared paper", None],
        "opened_at": ["2024-01-01 10:00", "2024-01-02 09:00", "2024-01-08 08:00", "2024-01-09 08:00",
                      "2024-01-20 08:00"],
        "resolved_at": ["2024-01-01 12:00", "2024-01-02 10:00", "2024-01-08 12:00", None, "2024-01-20 09:00"],
    })


# ---------------------------------------------------------------------------------------------- reading
def test_read_incidents_round_trips_to_dict(jsonl):
    """Each JSONL line becomes one row with UTC times, the metrics list and a title."""
    h = read_incidents(jsonl)
    assert len(h) == 6 and h.attrs["skipped"] == 0
    assert isinstance(h["onset"].dtype, pd.DatetimeTZDtype) and str(h["onset"].dtype.tz) == "UTC"
    assert h.loc[0, "title"] == "P2 db-1: disk_used_pct, cpu_pct anomaly"
    assert h.loc[0, "top_metric"] == "disk_used_pct"
    assert h.loc[0, "metrics"][0]["name"] == "disk_used_pct"


def test_read_incidents_counts_bad_lines(jsonl):
    """Lines that are not incident objects are skipped with a warning that counts them, or refused."""
    lines = jsonl.read_text().splitlines() + ["not json", '{"no": "entity"}', ""]
    with pytest.warns(SkippedRowsWarning, match="2 line"):
        h = read_incidents(lines)
    assert len(h) == 6 and h.attrs["skipped"] == 2
    with pytest.raises(DataError, match="2 line"):
        read_incidents(lines, strict=True)
    with pytest.raises(DataError, match="does not exist"):
        read_incidents(jsonl.parent / "missing.jsonl")


def test_history_columns_find_defaults_and_check_names(tickets):
    """Unnamed roles are found among the usual names; a named column must exist."""
    cols = HistoryColumns().resolve(tickets)
    assert (cols.id_col, cols.text, cols.time_col, cols.resolved_col, cols.team_col, cols.resolution_col) == (
        "ticket_id", ["title"], "opened_at", "resolved_at", "team", "resolution")
    with pytest.raises(SchemaError, match="team_col: column 'squad' is not in the data"):
        HistoryColumns(team_col="squad").resolve(tickets)


# ---------------------------------------------------------------------------------------------- patterns
def test_recurring_incidents_groups_near_duplicates(tickets):
    """The three 'disk full' tickets form one group with its count, first and last seen."""
    rec = recurring_incidents(tickets)
    assert len(rec) == 1
    row = rec.iloc[0]
    assert row["count"] == 3 and row["category"] == "Storage" and row["team"] == "dba"
    assert row["first_seen"] == pd.Timestamp("2024-01-01 10:00", tz="UTC")
    assert row["last_seen"] == pd.Timestamp("2024-01-20 08:00", tz="UTC")
    assert set(row["members"].split(";")) == {"T1", "T3", "T5"}
    assert rec.attrs["group_of_row"].tolist() == [0, -1, 0, -1, 0]
    assert recurring_incidents(tickets, min_count=4).empty
    with pytest.raises(InvalidParameterError, match="'threshold' parameter of recurring_incidents"):
        recurring_incidents(tickets, threshold=0)


def test_recurring_incidents_of_predicted_incidents(jsonl):
    """Predicted incidents of the same entity and metrics recur; times come from raised_at."""
    rec = recurring_incidents(read_incidents(jsonl))
    groups = {frozenset(m.split(";")) for m in rec["members"]}
    assert frozenset({"db-1-0000", "db-1-0002"}) <= max(groups, key=len) or any(
        {"db-1-0000", "db-1-0002"} <= g for g in groups)
    assert any({"web-1-0001", "web-1-0004"} <= g for g in groups)


def test_incident_counts_by_role_with_and_without_time(tickets):
    """Counts per week and group sum to the rows; without a time column they are totals."""
    weekly = incident_counts(tickets, "category", freq="W")
    assert weekly["count"].sum() == len(tickets)
    assert set(weekly.columns) == {"period", "category", "count", "share"}
    assert np.allclose(weekly.groupby("period")["share"].sum(), 1.0)
    totals = incident_counts(tickets.drop(columns=["opened_at", "resolved_at"]), "team")
    assert totals.to_dict("list") == {"team": ["dba", "desk", "net"], "count": [3, 1, 1], "share": [0.6, 0.2, 0.2]}
    bad = tickets.assign(opened_at=["2024-01-01", "not a date", None, "2024-01-02", "2024-01-03"])
    assert incident_counts(bad, "team").attrs["no_time"] == 2
    with pytest.raises(SchemaError, match="by: 'squad'"):
        incident_counts(tickets, "squad")


def test_time_to_resolve_overall_and_by_group(tickets):
    """Hours from open to resolve, with unresolved rows counted apart."""
    t = time_to_resolve(tickets, by="team")
    first = t.iloc[0]
    assert first["group"] == "(all)" and first["resolved"] == 4 and first["unresolved"] == 1
    assert first["mean_hours"] == pytest.approx((2 + 1 + 4 + 1) / 4)
    assert t.set_index("group").loc["dba", "mean_hours"] == pytest.approx(7 / 3)
    with pytest.raises(SchemaError, match="no resolve time column"):
        time_to_resolve(tickets.drop(columns=["resolved_at"]))
    neg = tickets.assign(resolved_at=["2023-12-31 10:00"] + tickets["resolved_at"].tolist()[1:])
    assert time_to_resolve(neg).attrs["negative"] == 1


def test_top_entities_and_metrics(jsonl):
    """The entity and the metric most often at fault come first."""
    h = read_incidents(jsonl)
    ents = top_entities(h)
    assert ents.iloc[0]["entity"] == "db-1" and ents.iloc[0]["incidents"] == 2 and ents.iloc[0]["severe"] == 2
    mets = top_metrics(h)
    assert mets.iloc[0].to_dict() | {} == {"metric": "disk_used_pct", "incidents": 3, "led": 3,
                                           "mean_contribution": 0.8, "entities": 2}
    assert mets.set_index("metric").loc["cpu_pct", "led"] == 0
    with pytest.raises(SchemaError, match="metrics_col"):
        top_metrics(h.drop(columns=["metrics"]))


# ---------------------------------------------------------------------------------------------- summary
def test_post_incident_summary_of_a_ticket(tickets):
    """Similar earlier tickets and how they were resolved; later tickets are not 'past'."""
    s = post_incident_summary(tickets, "T3", k=3)
    assert isinstance(s, PostIncidentSummary)
    assert s.similar["ticket_id"].iloc[0] == "T1"
    assert "T5" not in s.similar["ticket_id"].tolist() and "T3" not in s.similar["ticket_id"].tolist()
    assert s.facts["resolutions"][0] == "purged logs"
    assert s.timeline["event"].tolist() == ["opened", "resolved"]
    md = s.to_markdown()
    assert md.startswith("# Post-incident summary: T3") and "## Similar past incidents" in md and "purged logs" in md
    assert post_incident_summary(tickets, 2, k=3).facts["id"] == "T3"


def test_post_incident_summary_of_a_predicted_incident(jsonl):
    """Timeline from onset to resolution, leading metrics ranked, similar earlier incidents."""
    h = read_incidents(jsonl)
    s = post_incident_summary(h, "db-1-0002")
    assert s.timeline["event"].tolist() == ["onset", "metric", "raised", "metric", "resolved"]
    assert s.timeline["time"].is_monotonic_increasing
    assert s.leading_metrics["metric"].tolist() == ["disk_used_pct", "cpu_pct"]
    assert s.similar["id"].iloc[0] == "db-1-0000"
    assert s.facts["duration"] == "3.0 h"
    assert "## Leading metrics" in s.to_markdown()
    new = _incidents()[0]
    s2 = post_incident_summary(h, new)  # an Incident object: it is in the history, so left out of 'similar'
    assert "db-1-0000" not in s2.similar["id"].tolist()


def test_post_incident_summary_errors(tickets):
    """Unknown ids, out-of-range rows and wrong types are refused with what to give instead."""
    with pytest.raises(DataError, match="no incident has ticket_id == 'T9'"):
        post_incident_summary(tickets, "T9")
    with pytest.raises(DataError, match="outside the history"):
        post_incident_summary(tickets, 10)
    with pytest.raises(SchemaError, match="must be an id"):
        post_incident_summary(tickets, 1.5)


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_on_tickets(tmp_path, capsys, tickets):
    """CSV tickets: tables and summary.md are written and their paths printed."""
    data = tmp_path / "tickets.csv"
    tickets.to_csv(data, index=False)
    out = tmp_path / "report"
    assert main(["history", "--data", str(data), "--out", str(out), "--incident", "T3"]) == 0
    printed = capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {"recurring.csv", "counts_category.csv", "counts_team.csv", "time_to_resolve.csv", "summary.md",
            "post_incident_T3.md"} <= names
    assert not any(n.startswith(".") for n in names)  # no temporary files left
    assert str(out / "summary.md") in printed
    rec = pd.read_csv(out / "recurring.csv")
    assert rec.loc[0, "count"] == 3
    assert "## Recurring incidents" in (out / "summary.md").read_text()


def test_cli_on_incidents_jsonl(tmp_path, jsonl):
    """The JSONL of 'incidentml incidents' gives the top-fault tables too."""
    out = tmp_path / "r"
    assert main(["history", "--data", str(jsonl), "--out", str(out), "--incident", "db-1-0002"]) == 0
    mets = pd.read_csv(out / "top_metrics.csv")
    assert mets.loc[0, "metric"] == "disk_used_pct"
    assert (out / "top_entities.csv").exists() and (out / "post_incident_db-1-0002.md").exists()


def test_cli_bundled_sample_defaults(tmp_path):
    """The bundled Endava sample works with the default column names."""
    data = tmp_path / "endava.csv"
    load_tickets().head(300).to_csv(data, index=False)
    assert main(["history", "--data", str(data), "--out", str(tmp_path / "o")]) == 0
    counts = pd.read_csv(tmp_path / "o" / "counts_team.csv")
    assert counts.columns.tolist() == ["service", "count", "share"] and counts["count"].sum() == 300


def test_cli_skips_unusable_rows_with_a_count(tmp_path, capsys, tickets):
    """Rows without text are skipped and counted; unreadable times are counted."""
    bad = pd.concat([tickets, pd.DataFrame({"ticket_id": ["T6"], "title": [None], "opened_at": ["soon"]})])
    bad.loc[1, "opened_at"] = "yesterday-ish"
    data = tmp_path / "bad.csv"
    bad.to_csv(data, index=False)
    assert main(["history", "--data", str(data), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "skipped 1 row(s) with no text in title" in err
    assert "1 row(s) have an unreadable open time in 'opened_at'" in err


def test_cli_errors_are_one_line_with_status_2(tmp_path, capsys, tickets):
    """Bad input exits 2 with one line naming the problem, and never overwrites the input."""
    data = tmp_path / "t.csv"
    tickets.to_csv(data, index=False)
    cases = [
        (["--data", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o")], "does not exist"),
        (["--data", str(data), "--out", str(data)], "is a file"),
        (["--data", str(data), "--out", str(tmp_path / "a" / "b")], "parent folder"),
        (["--data", str(data), "--out", str(tmp_path / "o"), "--text", "body"], "text: column 'body'"),
        (["--data", str(data), "--out", str(tmp_path / "o"), "--threshold", "2"], "--threshold"),
        (["--data", str(data), "--out", str(tmp_path / "o"), "--freq", "fortnightly"], "--freq"),
    ]
    for args, message in cases:
        assert main(["history", *args]) == 2, args
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, (args, err)
    own = tmp_path / "o2"
    own.mkdir()
    clash = own / "recurring.csv"
    tickets.to_csv(clash, index=False)
    before = clash.read_bytes()
    assert main(["history", "--data", str(clash), "--out", str(own)]) == 2
    assert "is also an input" in capsys.readouterr().err
    assert clash.read_bytes() == before


def test_cli_rejects_jsonl_without_incidents(tmp_path, capsys):
    """A JSONL with no incident object is refused."""
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"a": 1}) + "\n", encoding="utf-8")
    assert main(["history", "--data", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "holds no incidents" in capsys.readouterr().err
