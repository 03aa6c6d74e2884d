"""SimilarIncidents: the past rows most like a new incident, most similar first, and a novelty flag."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import incidentml
from incidentml import Incident, SimilarIncidents
from incidentml.datasets import make_tickets
from incidentml.exceptions import DataError, InvalidParameterError, NotFittedError, SchemaError

PAST = pd.DataFrame({
    "text": ["printer jam on floor 3", "vpn does not connect from home", "printer out of toner",
             "password reset for mail account"],
    "team": ["desk", "network", "desk", "identity"],
})


@pytest.fixture(scope="module")
def tickets():
    return make_tickets(900, seed=3)


@pytest.fixture(scope="module")
def lsa(tickets):
    """An LSA index (enough rows for ``10 * n_components``), kept small for speed."""
    return SimilarIncidents(n_components=16, random_state=0).fit(tickets, text=["title", "description"])


def test_contract_of_the_brief():
    """The top-level contract: exactly one similarity column, k rows, most similar first."""
    s = incidentml.SimilarIncidents().fit(PAST, text=["text"])
    res = s.query("printer jam on floor 2", k=2)
    assert list(res.columns).count("similarity") == 1 and len(res) == 2 and res["similarity"].is_monotonic_decreasing
    assert res["team"].tolist() == ["desk", "desk"]
    assert list(res.columns) == ["text", "team", "similarity"]


def test_result_has_min_k_n_rows_and_similarities_in_unit_range():
    """Asking for more neighbours than rows returns every row; similarities lie in [0, 1]."""
    s = SimilarIncidents().fit(PAST, text="text")
    res = s.query("printer", k=10)
    assert len(res) == len(PAST)
    assert ((res["similarity"] >= 0) & (res["similarity"] <= 1)).all()
    assert sorted(res.index.tolist()) == [0, 1, 2, 3]


def test_fit_on_list_of_strings():
    """A list of strings is indexed as a frame with one ``text`` column."""
    s = SimilarIncidents().fit(PAST["text"].tolist())
    assert s.text_ == ["text"]
    assert s.query("vpn connect", k=1)["text"].iloc[0] == "vpn does not connect from home"


def test_default_text_columns(tickets):
    """Without ``text``, title + description are used when present."""
    s = SimilarIncidents(n_components=None).fit(tickets.head(50))
    assert s.text_ == ["title", "description"]


def test_query_accepts_dicts_series_and_incidents():
    """A dict of fields, a row and an Incident (through to_ticket) are all valid queries."""
    frame = pd.DataFrame({"title": ["web-1 latency_ms anomaly", "db-2 disk full"],
                          "description": ["latency_ms on web-1 is unusual", "disk_used_pct on db-2 near limit"]})
    s = SimilarIncidents().fit(frame)
    inc = Incident(id="web-1-0001", entity="web-1", raised_at=0.0, onset=0.0, severity="P2",
                   metrics=[{"name": "latency_ms", "contribution": 1.0, "first_at": 0.0, "peak": 0.9}],
                   summary="latency_ms on web-1 is unusual.")
    for query in (inc, inc.to_ticket(), pd.Series(inc.to_ticket()), {"other": "latency_ms on web-1"}):
        assert s.query(query, k=1).index[0] == 0


def test_query_many_agrees_with_query_exact_and_lsa(tickets, lsa):
    """Batch answers equal the one-at-a-time answers, for both index kinds."""
    exact = SimilarIncidents(n_components=None).fit(tickets.head(200), text=["title", "description"])
    for model in (exact, lsa):
        queries = tickets.tail(7)
        many = model.query_many(queries, k=4)
        assert many["query_row"].tolist() == [i for i in range(7) for _ in range(4)]
        for i in range(7):
            one = model.query(queries.iloc[i], k=4)
            part = many[many["query_row"] == i]
            assert part.index.tolist() == one.index.tolist()
            np.testing.assert_allclose(part["similarity"].to_numpy(), one["similarity"].to_numpy(), atol=1e-5)
            assert bool(part["novel"].iloc[0]) == one.attrs["novel"]
    assert lsa.index_ == "lsa" and exact.index_ == "exact"


def test_lsa_finds_a_near_duplicate(tickets, lsa):
    """A past ticket queried again comes back first with a high similarity."""
    res = lsa.query(tickets.iloc[10], k=3)
    assert res.index[0] == 10
    assert res["similarity"].iloc[0] > 0.9
    assert not res.attrs["novel"]


def test_novelty_flag():
    """Text unlike anything in the history is novel; a near-duplicate is not."""
    s = SimilarIncidents().fit(make_tickets(300, seed=1), text=["title", "description"])
    assert s.query("zebra giraffe savannah", k=3).attrs["novel"]
    assert not s.query(make_tickets(300, seed=1).iloc[0], k=3).attrs["novel"]
    assert 0 <= s.novelty_threshold_ <= 1


def test_add_appends_without_refitting(lsa):
    """Added rows are found by later queries; the vocabulary stays the one of fit."""
    model = pickle.loads(pickle.dumps(lsa))
    vocab = len(model.word_.vocabulary_)
    n = model.n_rows_
    model.add(pd.DataFrame({"title": ["cooling fan broken in rack seven"], "description": ["fan noise rack"],
                            "extra": ["kept"]}))
    assert model.n_rows_ == n + 1 and len(model.word_.vocabulary_) == vocab
    res = model.query("cooling fan broken in rack seven", k=1)
    assert res.index[0] == n and res["extra"].iloc[0] == "kept"
    # a word first seen in added rows carries no weight
    model.add(pd.DataFrame({"title": ["qwxyzzy"], "description": [""]}))
    assert model.query("qwxyzzy", k=1)["similarity"].iloc[0] == 0.0


def test_many_single_adds_match_one_batch_add():
    """Adding rows one by one gives the same index as adding them in one call."""
    base = make_tickets(120, seed=5)
    extra = make_tickets(80, seed=6)
    a = SimilarIncidents().fit(base)
    b = pickle.loads(pickle.dumps(a))
    for i in range(len(extra)):
        a.add(extra.iloc[[i]])
    b.add(extra)
    qa, qb = a.query_many(extra.head(5), k=3), b.query_many(extra.head(5), k=3)
    pd.testing.assert_frame_equal(qa, qb)
    pd.testing.assert_frame_equal(a.rows_, b.rows_)


def test_save_load_roundtrip(tmp_path, lsa, tickets):
    """A saved and reloaded index gives the same answers."""
    path = lsa.save(tmp_path / "similar.incidentml")
    back = SimilarIncidents.load(path)
    q = tickets.sample(5, random_state=0)
    pd.testing.assert_frame_equal(lsa.query_many(q, k=3), back.query_many(q, k=3))
    assert incidentml.utils.read_manifest(path)["n_rows"] == lsa.n_rows_


def test_input_similarity_column_is_renamed_and_input_not_mutated():
    """A past column named ``similarity`` is kept as ``similarity_input``; the input frame is unchanged."""
    past = PAST.assign(similarity=[1, 2, 3, 4])
    before = past.copy()
    res = SimilarIncidents().fit(past, text=["text"]).query("printer", k=2)
    assert list(res.columns).count("similarity") == 1 and "similarity_input" in res.columns
    pd.testing.assert_frame_equal(past, before)


def test_tiny_and_empty_text_histories():
    """One row, or rows with no text at all, still fit and answer."""
    one = SimilarIncidents().fit(["disk full"])
    assert len(one.query("disk", k=5)) == 1
    empty = SimilarIncidents().fit(pd.DataFrame({"text": ["", None, "   "]}), text=["text"])
    res = empty.query("anything", k=2)
    assert len(res) == 2 and (res["similarity"] == 0).all() and res.attrs["novel"] is False


def test_errors_name_the_problem():
    """Missing columns, bad k, unfitted use, empty frames and bad parameters raise clear errors."""
    with pytest.raises(SchemaError, match="text column 'body' is not in the data"):
        SimilarIncidents().fit(PAST, text=["body"])
    with pytest.raises(SchemaError, match="Pass text="):
        SimilarIncidents().fit(pd.DataFrame({"a": [1]}))
    with pytest.raises(DataError, match="no rows"):
        SimilarIncidents().fit(PAST.iloc[:0], text=["text"])
    with pytest.raises(SchemaError, match="strings only"):
        SimilarIncidents().fit(["ok", 3])
    with pytest.raises(NotFittedError, match="not fitted yet"):
        SimilarIncidents().query("x")
    s = SimilarIncidents().fit(PAST, text=["text"])
    with pytest.raises(InvalidParameterError, match=r"The 'k' parameter of SimilarIncidents.query must be an int "
                                                    r"in the range \[1, inf\). Got 0 instead."):
        s.query("x", k=0)
    with pytest.raises(InvalidParameterError, match="Got True instead"):
        s.query_many(["x"], k=True)
    with pytest.raises(SchemaError, match="text column 'text' is not in the data"):
        s.query_many(pd.DataFrame({"title": ["x"]}))
    with pytest.raises(SchemaError, match="expects a string"):
        s.query(3.5)
    with pytest.raises(InvalidParameterError, match="The 'lsa_weight' parameter of SimilarIncidents must be a float"):
        SimilarIncidents(lsa_weight=2.0).fit(PAST, text=["text"])


def test_fit_returns_self_and_params_unchanged():
    """``fit`` returns the estimator and leaves its parameters as given."""
    s = SimilarIncidents(n_components=8)
    params = s.get_params()
    assert s.fit(PAST, text=["text"]) is s
    assert s.get_params() == params
