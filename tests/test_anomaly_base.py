"""The detector contract's plumbing: inputs, timestamps, tables, the compiled kernels and model files."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentml import make_detector
from incidentml.anomaly import RobustZScore, available_detectors
from incidentml.anomaly import score_frame, score_long
from incidentml.anomaly._robust import robust_kernel
from incidentml.utils import to_seconds, to_seconds_array
from incidentml.utils import as_columns, as_point
from incidentml.exceptions import DataError, InvalidParameterError, ModelFileError, SchemaError


def test_timestamps_all_forms_agree():
    """datetime, Timestamp, datetime64, ISO string and epoch seconds give the same seconds."""
    want = 1_700_000_000.0
    forms = [dt.datetime.fromtimestamp(want, tz=dt.timezone.utc), pd.Timestamp(want, unit="s"),
             np.datetime64(int(want), "s"), pd.Timestamp(want, unit="s").isoformat(), want, int(want)]
    for form in forms:
        assert to_seconds(form) == want, form
    assert math.isnan(to_seconds(None)) and math.isnan(to_seconds(np.datetime64("NaT")))
    arr = to_seconds_array(pd.date_range("2024-01-01", periods=3, freq="h"), 3)
    assert np.diff(arr).tolist() == [3600.0, 3600.0]


def test_bad_timestamp_is_a_clear_error():
    with pytest.raises(DataError, match="cannot be parsed"):
        to_seconds("yesterday-ish")
    with pytest.raises(DataError, match="one per row"):
        to_seconds_array([1.0, 2.0], 3)
    with pytest.raises(DataError, match="Timestamp t must be"):
        to_seconds(object())


def test_points_and_columns():
    assert as_point(2) == {"value": 2.0}
    assert math.isnan(as_point({"a": float("inf")})["a"])
    with pytest.raises(DataError, match="Metric 'a' must be a number"):
        as_point({"a": "high"})
    with pytest.raises(DataError, match="dict of metric name"):
        as_point([1, 2])
    names, values = as_columns(np.zeros((4, 2)))
    assert names == ["x0", "x1"] and values.shape == (4, 2)
    with pytest.raises(DataError, match="Metric column 'b' must be numeric"):
        as_columns(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))


def test_make_detector_errors_name_the_choices():
    with pytest.raises(InvalidParameterError, match="Unknown detector 'nope'. Choose one of"):
        make_detector("nope")
    with pytest.raises(InvalidParameterError, match="does not take"):
        make_detector("robust", not_a_param=1)
    with pytest.raises(InvalidParameterError, match="'alpha' parameter of RobustZScore"):
        RobustZScore(alpha=0).score_one({"a": 1.0})
    assert "default" in available_detectors()


@pytest.mark.parametrize("name", available_detectors())
def test_every_registered_detector_scores(name):
    """Every name builds a detector whose batch route runs on a short stream."""
    det = make_detector(name)
    scores = det.score_many(np.sin(np.arange(200) / 5.0), t=np.arange(200) * 60.0)
    assert scores.shape == (200,) and np.isfinite(scores).all()


def test_compiled_kernel_equals_python():
    """The numba-compiled kernel and its Python original give the same scores."""
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=2000))
    params = np.array([0.02, 3.0, 20.0, 1.0])
    outs = []
    for fn in (robust_kernel, robust_kernel.py_func):
        state, out = np.zeros(6), np.empty(len(x))
        fn(x, np.full(len(x), np.nan), state, params, out, True)
        outs.append(out)
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12, atol=1e-12)


@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()), min_size=1, max_size=60))
def test_any_values_give_finite_scores(values):
    """Whatever the values, scores are finite and in [0, 1]."""
    det = make_detector("default")
    for v in values:
        s = det.score_one({"m": v})
        assert 0.0 <= s <= 1.0
        det.learn_one({"m": v})


def test_constant_then_change():
    """A constant series scores low; its first change scores high."""
    det = make_detector("default")
    x = np.r_[np.full(400, 5.0), 6.0]
    scores = det.score_many(x)
    assert scores[:400].max() < 0.1 and scores[400] > 0.5


def test_save_and_resume_through_a_file(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=600)
    full = make_detector("default").score_many(x)
    det = make_detector("default")
    first = det.score_many(x[:300])
    det.save(tmp_path / "det.model")
    again = type(det).load(tmp_path / "det.model")
    np.testing.assert_array_equal(np.r_[first, again.score_many(x[300:])], full)
    (tmp_path / "bad.model").write_bytes(b"garbage")
    with pytest.raises(ModelFileError):
        RobustZScore.load(tmp_path / "bad.model")


def test_bounded_state():
    """Memory per series does not grow with the stream."""
    det = make_detector("default")
    det.score_many(np.random.default_rng(0).normal(size=1000))
    size = sum(a.nbytes for st_ in det.states_.values() for a in st_)
    det.score_many(np.random.default_rng(1).normal(size=50_000))
    assert sum(a.nbytes for st_ in det.states_.values() for a in st_) == size


def _frame(n=800):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="min"),
                       "cpu": rng.normal(50, 2, n), "mem": rng.normal(70, 1, n), "host": "web-1"})
    df.loc[700, "cpu"] = 95
    return df


def test_score_frame_orders_by_time_and_keeps_rows():
    df = _frame()
    shuffled = df.sample(frac=1.0, random_state=0)
    a = score_frame(df)
    b = score_frame(shuffled).loc[df.index]
    pd.testing.assert_frame_equal(a, b)
    assert a.loc[700, "top_metric"] == "cpu" and a.loc[700, "is_anomaly"]
    assert a["score"].between(0, 1).all()


def test_score_frame_errors():
    df = _frame(50)
    with pytest.raises(SchemaError, match="Time column 'ts'"):
        score_frame(df, time_col="ts")
    with pytest.raises(SchemaError, match="no numeric metric column"):
        score_frame(df[["timestamp", "host"]])
    bad = df.copy()
    bad["timestamp"] = bad["timestamp"].astype(str)
    bad.loc[3, "timestamp"] = "not a time"
    with pytest.raises(DataError, match="row 3 holds 'not a time'"):
        score_frame(bad)
    with pytest.raises(InvalidParameterError, match="threshold"):
        score_frame(df, threshold=2)


def test_score_long_matches_per_series_runs():
    df = _frame()
    long = pd.concat([df.assign(series_id=f"s{i}")[["series_id", "timestamp", "cpu"]] for i in range(3)],
                     ignore_index=True).rename(columns={"cpu": "value"})
    out = score_long(long)
    one = make_detector("default").score_many(df["cpu"].to_numpy(), t=df["timestamp"])
    for i in range(3):
        np.testing.assert_allclose(out.loc[out.series_id == f"s{i}", "score"].to_numpy(), one, atol=1e-12)
