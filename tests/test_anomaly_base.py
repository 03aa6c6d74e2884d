"""The detector contract's plumbing: inputs, timestamps, tables, the compiled kernels and model files."""

from __future__ import annotations

import datetime as dt
import math
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentml import make_detector
from incidentml.anomaly import (
    DEFAULT_THRESHOLD,
    AnomalyDetector,
    RobustZScore,
    _jit,
    available_detectors,
    score_frame,
    score_long,
    score_to_tail_probability,
    tail_probability_to_score,
)
from incidentml.anomaly._calibration import LIKELIHOOD_STATE, likelihood_kernel, likelihood_params, tail_score
from incidentml.anomaly._robust import robust_kernel
from incidentml.exceptions import (
    DataError,
    IgnoredColumnsWarning,
    InvalidParameterError,
    ModelFileError,
    PerformanceWarning,
    SchemaError,
)
from incidentml.utils import as_columns, as_point, to_seconds, to_seconds_array


def test_timestamps_all_forms_agree():
    """datetime, Timestamp, datetime64, ISO string and epoch seconds give the same seconds."""
    want = 1_700_000_000.0
    forms = [dt.datetime.fromtimestamp(want, tz=dt.UTC), pd.Timestamp(want, unit="s"),
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


def _frame(n=800, host=False):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="min"),
                       "cpu": rng.normal(50, 2, n), "mem": rng.normal(70, 1, n)})
    if host:
        df["host"] = "web-1"
    df.loc[700, "cpu"] = 95
    return df


def test_score_frame_orders_by_time_and_keeps_rows():
    df = _frame(host=True)
    shuffled = df.sample(frac=1.0, random_state=0)
    with pytest.warns(IgnoredColumnsWarning, match=r"not metrics, not used: 'host' \(text\)"):
        a = score_frame(df)
    b = score_frame(shuffled, metrics=["cpu", "mem"]).loc[df.index]
    pd.testing.assert_frame_equal(a, b)
    assert a.loc[700, "top_metric"] == "cpu" and a.loc[700, "is_anomaly"]
    assert a["score"].between(0, 1).all()


def test_bool_columns_are_not_metrics_unless_named():
    """A true/false column is never scored by default (the same rule as the command line), and is named."""
    df = _frame().assign(maintenance=lambda d: d.index % 7 == 0)
    with pytest.warns(IgnoredColumnsWarning, match=r"'maintenance' \(true/false\)"):
        a = score_frame(df)
    pd.testing.assert_frame_equal(a, score_frame(df, metrics=["cpu", "mem"]))
    assert set(a["top_metric"]) <= {"cpu", "mem"}


def test_score_frame_errors():
    df = _frame(50)
    with pytest.raises(SchemaError, match="Time column 'ts'"):
        score_frame(df, time_col="ts")
    with pytest.raises(SchemaError, match="no numeric metric column"):
        score_frame(df.assign(host="web-1")[["timestamp", "host"]])
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


# ------------------------------------------------------------------ the Python route without numba
def test_missing_numba_is_detected(monkeypatch):
    """numba that cannot be imported counts as missing; INCIDENTML_DISABLE_JIT=1 is a choice, not a miss."""
    monkeypatch.setitem(sys.modules, "numba", None)  # makes `import numba` raise ImportError
    monkeypatch.delenv(_jit.DISABLE_ENV, raising=False)
    assert _jit._find_numba() == (None, True)
    monkeypatch.setenv(_jit.DISABLE_ENV, "1")
    assert _jit._find_numba() == (None, False)


def test_missing_numba_warns_once(monkeypatch):
    """Without numba, the first kernel call emits one PerformanceWarning naming the slowdown and the fix."""
    monkeypatch.setattr(_jit, "_numba", None)
    monkeypatch.setattr(_jit, "NUMBA_MISSING", True)
    monkeypatch.setattr(_jit, "_warned", False)
    first = _jit.jit(lambda values, out: out.__setitem__(0, values.sum()))
    second = _jit.jit(robust_kernel.py_func)
    out = np.empty(1)
    with pytest.warns(PerformanceWarning, match=r"30-100x slower.*pip install numba") as record:
        first(np.arange(3.0), out)
    assert out[0] == 3.0 and len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning, from this kernel or another one
        first(np.arange(3.0), out)
        state, scores = np.zeros(6), np.empty(5)
        second(np.arange(5.0), np.full(5, np.nan), state, np.array([0.02, 3.0, 20.0, 1.0]), scores, True)
    assert second.py_func is robust_kernel.py_func


def test_jit_disabled_on_purpose_is_silent(monkeypatch):
    """With INCIDENTML_DISABLE_JIT the kernels are the plain functions and nothing warns."""
    monkeypatch.setattr(_jit, "_numba", None)
    monkeypatch.setattr(_jit, "NUMBA_MISSING", False)
    monkeypatch.setattr(_jit, "_warned", False)

    def kernel(values):
        return values * 2

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast = _jit.jit(kernel)
        assert fast is kernel and fast.py_func is kernel and fast(2.0) == 4.0


# ------------------------------------------------------------------ what the base class gives every detector
class RunningMean(AnomalyDetector):
    """Distance to each metric's running mean: a minimal detector written against the base class only."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def learn_one(self, x, t=None):
        self.means_ = getattr(self, "means_", {})
        self.counts_ = getattr(self, "counts_", {})
        for k, v in as_point(x).items():
            if not math.isnan(v):
                n = self.counts_.get(k, 0) + 1
                self.counts_[k] = n
                self.means_[k] = self.means_.get(k, 0.0) + (v - self.means_.get(k, 0.0)) / n

    def score_one(self, x, t=None):
        means = getattr(self, "means_", {})
        gaps = [abs(v - means[k]) / self.scale for k, v in as_point(x).items() if k in means and not math.isnan(v)]
        return max(gaps, default=0.0)


def test_base_gives_score_many_contributions_and_reset():
    """A detector implementing only learn_one/score_one gets score_many (== the loop), contributions and reset."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50)})
    X.loc[10, "a"] = np.nan
    det = RunningMean()
    scores, per = det.score_many(X, t=np.arange(50) * 60.0, return_contributions=True)
    loop = RunningMean()
    want = []
    for row in X.to_dict("records"):
        want.append(loop.score_one(row))
        loop.learn_one(row)
    np.testing.assert_allclose(scores, want)
    assert list(per.columns) == ["a", "b"] and math.isnan(per.loc[10, "a"]) and per.loc[10, "b"] == scores[10]
    np.testing.assert_allclose(det.score_many(X, learn=False), [det.score_one(r) for r in X.to_dict("records")])
    assert det.reset() is det and not [k for k in vars(det) if k.endswith("_")] and det.scale == 1.0
    np.testing.assert_allclose(det.score_many(X), want)


@pytest.mark.parametrize("name", available_detectors())
def test_reset_forgets_everything(name):
    """After reset a detector scores like a fresh one, parameters kept."""
    x = np.sin(np.arange(300) / 5.0)
    det = make_detector(name)
    fresh = det.score_many(x)
    det.score_many(x[::-1])
    assert det.reset() is det
    np.testing.assert_array_equal(det.score_many(x), fresh)


@pytest.mark.parametrize("name", available_detectors())
def test_every_detector_returns_contributions(name):
    """score_many(return_contributions=True) is on every detector and matches contributions_one row by row."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"cpu": rng.normal(50, 2, 300), "mem": rng.normal(70, 1, 300)})
    X.loc[250, "cpu"] = 95
    X.loc[100, "mem"] = np.nan
    t = np.arange(300) * 60.0
    scores, per = make_detector(name).score_many(X, t, return_contributions=True)
    det = make_detector(name)
    for i, row in enumerate(X.to_dict("records")):
        parts = det.contributions_one(row, t[i])
        got = {k: v for k, v in per.iloc[i].items() if not math.isnan(v)}
        assert got.keys() == parts.keys(), i
        np.testing.assert_allclose([got[k] for k in parts], list(parts.values()), atol=1e-12)
        assert abs(det.score_one(row, t[i]) - scores[i]) < 1e-12
        det.learn_one(row, t[i])


# ------------------------------------------------------------------ the calibration scale
def test_one_calibration_scale():
    """A tail probability of 1e-10 scores DEFAULT_THRESHOLD, for the default kernel and the shared stage alike."""
    assert tail_probability_to_score(1e-10) == DEFAULT_THRESHOLD == 0.5
    assert score_to_tail_probability(DEFAULT_THRESHOLD) == pytest.approx(1e-10)
    for q in (0.3, 1e-3, 1e-7, 1e-12):
        assert score_to_tail_probability(tail_probability_to_score(q)) == pytest.approx(q)
        z = -_ndtri(q)
        assert tail_score(z) == pytest.approx(tail_probability_to_score(q), abs=1e-9)
    # the calibration stage reports the tail score of the standardised window average
    state, out = np.zeros(LIKELIHOOD_STATE), np.empty(1)
    state[:3] = [500.0, 1.0, 0.25]  # n, mean, variance of the averages
    likelihood_kernel(np.array([3.5]), np.array([np.nan]), state, np.array(likelihood_params(1, 100, 0, 0.0)),
                      out, False)
    assert out[0] == pytest.approx(tail_score(5.0))


def _ndtri(q):
    from scipy.special import ndtri

    return float(ndtri(q))


@pytest.mark.parametrize("name", available_detectors())
def test_score_frame_takes_every_detector(name):
    """score_frame calls score_many(return_contributions=True) on any detector: no signature probing."""
    df = _frame()
    out = score_frame(df, detector=make_detector(name))
    assert out.index.equals(df.index) and out["score"].notna().all()
    assert set(out["top_metric"]) <= {"cpu", "mem", ""}


def test_a_state_saved_with_fewer_floats_is_extended_on_load():
    """States of a version whose kernel held fewer floats load with the new floats fresh, same answers."""
    import pickle

    from incidentml.anomaly import make_detector
    from incidentml.exceptions import ModelFileError

    x = 50 + np.random.default_rng(0).normal(size=600)
    det = make_detector("default")
    det.score_many(x[:400])
    want = det.score_many(x[400:], learn=False)
    old = pickle.loads(pickle.dumps(det))
    key = next(iter(old.states_))
    full = len(old.states_[key][0])
    state = old.__getstate__()
    state["states_"] = {k: [a[:-2] for a in v] for k, v in state["states_"].items()}  # two floats fewer
    back = type(det).__new__(type(det))
    back.__setstate__(state)
    assert len(back.states_[key][0]) == full
    np.testing.assert_array_equal(back.score_many(x[400:], learn=False), want)
    state["states_"] = {k: [np.r_[a, 0.0, 0.0, 0.0] for a in v] for k, v in state["states_"].items()}
    with pytest.raises(ModelFileError, match="newer version"):
        type(det).__new__(type(det)).__setstate__(state)
