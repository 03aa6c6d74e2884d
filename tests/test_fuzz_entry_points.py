"""Messy frames, timestamps and texts at every public entry point: a result that keeps its promises or a clear error.

Each property feeds generated input (mixed types, missing-value words, huge and non-finite numbers,
bools, every time form from 1677 to 9999, ambiguous dates, garbage) to one public entry point and
accepts exactly two outcomes: an :class:`~incidentml.exceptions.IncidentMLError` (never a traceback from
pandas or numpy), or a result of the documented shape with finite scores in [0, 1]; anything not used
is reported with an :class:`~incidentml.exceptions.IncidentMLWarning`. The command-line property also
checks that the input file is never changed and that an output is either complete or absent.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import messy_text

from incidentml import IncidentPredictor
from incidentml.anomaly import score_frame, score_long
from incidentml.cli import main
from incidentml.exceptions import IncidentMLError, IncidentMLWarning, SkippedRowsWarning
from incidentml.fleet import score_fleet
from incidentml.history import incident_counts, time_to_resolve
from incidentml.utils import parse_times

# ---------------------------------------------------------------------------------------------- strategies
_WORDS = st.sampled_from(["NaN", "nan", "None", "null", "", " ", "abc", "1e308", "-inf", "n/a", "12,5", "0x1F"])
cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e6, 1e6),
    st.integers(-(10 ** 12), 10 ** 12), st.booleans(), st.none(), _WORDS,
)
_DATES = st.datetimes(min_value=dt.datetime(1678, 1, 1), max_value=dt.datetime(9999, 12, 30))
time_cells = st.one_of(
    _DATES.map(lambda d: d.isoformat()), _DATES.map(lambda d: d.isoformat() + "Z"),
    _DATES.map(lambda d: d.strftime("%d/%m/%Y")), _DATES.map(lambda d: d.strftime("%m/%d/%Y %H:%M")),
    st.floats(0, 2.5e11), st.integers(0, 4 * 10 ** 12), st.none(), _WORDS,
)


@st.composite
def metric_frames(draw, min_rows: int = 1, max_rows: int = 40):
    """A wide metric table: a time column of one form (or mixed), one to three metric columns of mixed cells."""
    n = draw(st.integers(min_rows, max_rows))
    form = draw(st.sampled_from(["iso", "epoch", "epoch_ms", "mixed"]))
    start = draw(st.floats(-6e9, 2.5e11))
    if form == "iso":
        t: list = [pd.Timestamp(int((start + 60 * i) * 1e6), unit="us").isoformat() for i in range(n)]
    elif form == "epoch":
        t = [start + 60.0 * i for i in range(n)]
    elif form == "epoch_ms":
        t = [int((abs(start) + 60 * i) * 1000) for i in range(n)]
    else:
        t = draw(st.lists(time_cells, min_size=n, max_size=n))
    frame = pd.DataFrame({"timestamp": pd.Series(t, dtype=object)})
    for c in range(draw(st.integers(1, 3))):
        col = draw(st.lists(st.floats(-1e3, 1e3), min_size=n, max_size=n))
        if draw(st.booleans()):  # a few messy cells in an otherwise numeric column
            col = list(col)
            for i in draw(st.lists(st.integers(0, n - 1), max_size=3)) if n else []:
                col[i] = draw(cells)
            frame[f"m{c}"] = pd.Series(col, dtype=object)
        else:
            frame[f"m{c}"] = col
    return frame


def _call(fn, *args, **kwargs):
    """Run ``fn``: its result, or None after a library error; warnings of the library only."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except IncidentMLError as exc:
            assert str(exc).strip(), "an error with no message"
            return None, caught
    foreign = [w for w in caught if not issubclass(w.category, (IncidentMLWarning, DeprecationWarning))
               and "incidentml" not in str(w.filename)]
    assert not foreign, [str(w.message) for w in foreign]
    return result, caught


def _check_scores(out: pd.DataFrame, n: int, caught: list) -> np.ndarray:
    """Every row kept in order; a row not scored (NaN) only with a SkippedRowsWarning saying so."""
    assert len(out) == n
    s = out["score"].to_numpy(dtype=float)
    scored = ~np.isnan(s)
    assert ((s[scored] >= 0) & (s[scored] <= 1)).all()
    if not scored.all():
        told = [w for w in caught if issubclass(w.category, SkippedRowsWarning)]
        assert told, "rows left unscored without a word"
        assert not out["is_anomaly"].to_numpy()[~scored].any()
    return scored


# ---------------------------------------------------------------------------------------------- properties
@settings(max_examples=40)
@given(values=st.lists(time_cells, max_size=30))
def test_parse_times_is_exact_or_refuses(values):
    out, _ = _call(parse_times, values)
    if out is None:
        return
    assert out.shape == (len(values),)
    assert not np.isinf(out).any()
    for v, s in zip(values, out, strict=True):
        missing = v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and np.isnan(v))
        assert np.isnan(s) == missing or (isinstance(v, str) and v.strip().lower() in {"nan", "none", "null"})
        if isinstance(v, str) and len(v) >= 19 and v[4] == "-":  # ISO text: exact to the float's resolution
            want = (pd.Timestamp(v.rstrip("Z")).as_unit("us") - pd.Timestamp(0).as_unit("us")).total_seconds()
            assert abs(s - want) <= 1e-6 + 2 * np.spacing(abs(want))


@settings(max_examples=40)
@given(frame=metric_frames())
def test_score_frame_scores_every_row_or_refuses(frame):
    out, caught = _call(score_frame, frame)
    if out is not None:
        scored = _check_scores(out, len(frame), caught)
        assert scored.all() == (not np.isnan(parse_times(frame["timestamp"])).any())


@settings(max_examples=25)
@given(frame=metric_frames())
def test_predictor_run_gives_valid_incidents_or_refuses(frame):
    result, _ = _call(IncidentPredictor().run, frame)
    if result is None:
        return
    for inc in result:
        d = inc.to_dict()
        json.loads(json.dumps(d, allow_nan=False))  # strict JSON: no NaN or infinity anywhere
        assert 0.0 <= d["score"] <= 1.0 and d["onset"] <= d["raised_at"]


@st.composite
def long_frames(draw):
    frame = draw(metric_frames(max_rows=30))
    n = len(frame)
    ids = draw(st.lists(st.one_of(st.sampled_from(["a", "b", "c"]), st.none(), st.just(""), st.integers(0, 2)),
                        min_size=n, max_size=n))
    return pd.DataFrame({"series_id": pd.Series(ids, dtype=object), "timestamp": frame["timestamp"],
                         "value": frame["m0"]})


@settings(max_examples=30)
@given(frame=long_frames())
def test_long_routes_agree_or_refuse(frame):
    direct, caught_direct = _call(score_long, frame)
    fleet, caught_fleet = _call(score_fleet, frame, n_jobs=1)
    assert (direct is None) == (fleet is None), "one route refused what the other scored"
    if direct is not None:
        a = _check_scores(direct, len(frame), caught_direct)
        b = _check_scores(fleet, len(frame), caught_fleet)
        np.testing.assert_array_equal(a, b)  # the same rows are left out by both routes


@st.composite
def histories(draw):
    n = draw(st.integers(1, 25))
    return pd.DataFrame({
        "category": pd.Series(draw(st.lists(st.one_of(st.sampled_from(["disk", "net"]), st.none(), messy_text),
                                             min_size=n, max_size=n)), dtype=object),
        "opened": pd.Series(draw(st.lists(time_cells, min_size=n, max_size=n)), dtype=object),
        "resolved": pd.Series(draw(st.lists(time_cells, min_size=n, max_size=n)), dtype=object),
    })


@settings(max_examples=30)
@given(history=histories())
def test_history_patterns_count_every_readable_row_or_refuse(history):
    counts, _ = _call(incident_counts, history, by="category", time_col="opened", freq="W")
    if counts is not None:
        assert counts["count"].sum() <= len(history)
    hours, _ = _call(time_to_resolve, history, time_col="opened", resolved_col="resolved")
    if hours is not None:
        assert len(hours) >= 1


@pytest.fixture(scope="module")
def small_model():
    from incidentml import TriageModel

    titles = ["vpn drops", "printer jam", "vpn slow", "toner empty", "vpn auth fails", "paper jam"] * 6
    frame = pd.DataFrame({"title": titles, "team": ["network", "office"] * 18})
    return TriageModel(random_state=0).fit(frame, text=["title"], targets={"team": "team"})


@settings(max_examples=30)
@given(texts=st.lists(st.one_of(messy_text, st.none(), st.floats(allow_nan=True), st.integers()), min_size=1,
                      max_size=8))
def test_triage_predicts_every_messy_ticket(small_model, texts):
    frame = pd.DataFrame({"title": pd.Series(texts, dtype=object)})
    out, _ = _call(small_model.predict, frame)
    assert out is not None, "messy text is text: it must be triaged"
    assert len(out) == len(texts)
    proba, _ = _call(small_model.predict_proba, frame)
    for p in proba.values():
        assert np.allclose(np.asarray(p).sum(axis=1), 1.0)


@settings(max_examples=15)
@given(frame=metric_frames(min_rows=0, max_rows=25), strict=st.booleans())
def test_cli_detect_keeps_its_input_and_never_leaves_half_an_output(tmp_path_factory, frame, strict):
    d = tmp_path_factory.mktemp("cli")
    src = d / "in.csv"
    frame.to_csv(src, index=False)
    before = src.read_bytes()
    out = d / "out.csv"
    args = ["detect", "--input", str(src), "--output", str(out)] + (["--strict"] if strict else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(args)
    assert code in (0, 2)
    assert src.read_bytes() == before
    if code == 0:
        scored = pd.read_csv(out)
        assert "score" in scored.columns
        s = scored["score"].dropna().to_numpy(dtype=float)
        assert ((s >= 0) & (s <= 1)).all()
    else:
        assert not out.exists()
    assert sorted(p.name for p in d.iterdir()) in (["in.csv"], ["in.csv", "out.csv"])  # no temporary left
