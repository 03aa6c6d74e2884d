"""Time-to-breach forecasting (incidentml.incidents._forecast) and the generated scenarios."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pandas as pd
import pytest

from incidentml.datasets import SCENARIO_KINDS as KINDS
from incidentml.datasets import Scenario, make_scenario, make_scenarios
from incidentml.exceptions import InvalidParameterError
from incidentml.incidents._forecast import BreachForecast, BreachForecaster, fit_breach, format_duration

T0 = 1_714_953_600.0  # 2024-05-06T00:00:00Z


def _ramp(seed: int, n: int = 80, *, slope_per_min: float = 0.3, sd: float = 0.5, start: float = 50.0):
    rng = np.random.default_rng(seed)
    t = T0 + 60.0 * np.arange(n)
    y = start + slope_per_min * np.arange(n) + rng.normal(0, sd, n)
    return t, y


def _stream(model: BreachForecaster, t, y) -> BreachForecast | None:
    for ti, yi in zip(t, y, strict=True):
        model.learn_one(float(yi), float(ti))
    return model.forecast()


# ------------------------------------------------------------------------------------ routes agree
@pytest.mark.parametrize("window", [20, 60, 200])
def test_streaming_equals_batch(window):
    """Streaming the points gives exactly the forecast fit_breach gives on the arrays."""
    t, y = _ramp(1, n=150)
    y[[5, 40]] = np.nan
    stream = _stream(BreachForecaster(95, window=window, metric="disk"), t, y)
    batch = fit_breach(t, y, 95, window=window, metric="disk")
    assert stream is not None
    assert stream == batch


def test_streaming_equals_batch_at_every_step():
    """At each step the streaming forecast equals fit_breach on the prefix (None included)."""
    t, y = _ramp(2, n=90, slope_per_min=0.05, sd=1.0)
    model = BreachForecaster(95, window=30, direction="above")
    for i in range(len(t)):
        model.learn_one(y[i], t[i])
        assert model.forecast() == fit_breach(t[:i + 1], y[:i + 1], 95, window=30)


def test_batch_accepts_datetimes():
    """fit_breach takes pandas timestamps as well as epoch seconds."""
    t, y = _ramp(3)
    stamps = pd.to_datetime(t, unit="s")
    assert fit_breach(stamps, pd.Series(y), 95) == fit_breach(t, y, 95)


# ------------------------------------------------------------------------------------ accuracy
def test_clean_ramp_gives_exact_eta():
    """A noiseless ramp gives the exact crossing time and a degenerate interval."""
    t = T0 + 60.0 * np.arange(30)
    y = 50 + 0.5 * np.arange(30)  # 64.5 at the last point, +30 per hour
    fc = fit_breach(t, y, 95)
    assert fc.status == "trending"
    assert fc.eta_seconds == pytest.approx(61 * 60, rel=1e-9)
    assert fc.eta_low_seconds == pytest.approx(61 * 60, rel=1e-6)
    assert fc.eta_high_seconds == pytest.approx(61 * 60, rel=1e-6)
    assert fc.slope_per_hour == pytest.approx(30.0)
    assert fc.value == pytest.approx(64.5)
    assert fc.crosses_at == pytest.approx(t[-1] + 61 * 60)


def test_interval_coverage_on_noisy_ramps():
    """The 80% interval holds the true crossing time in about 80% of 200 seeded noisy ramps."""
    hits = issued = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        slope = rng.uniform(0.05, 0.5) / 60  # percent per second
        sd = rng.uniform(0.2, 1.5)
        start = rng.uniform(40, 70)
        t = 60.0 * np.arange(60)
        y = start + slope * t + rng.normal(0, sd, 60)
        fc = fit_breach(T0 + t, y, 95, confidence=0.8)
        if fc is None or fc.status != "trending":
            continue
        issued += 1
        truth = (95 - start) / slope - t[-1]
        high = math.inf if fc.eta_high_seconds is None else fc.eta_high_seconds
        hits += fc.eta_low_seconds <= truth <= high
    assert issued >= 190
    assert 0.75 <= hits / issued <= 0.88


def test_interval_coverage_with_autocorrelated_noise():
    """AR(1) noise (phi=0.6) keeps coverage near nominal thanks to the effective sample size."""
    hits = issued = 0
    for seed in range(150):
        rng = np.random.default_rng(1000 + seed)
        slope = rng.uniform(0.05, 0.5) / 60
        t = 60.0 * np.arange(60)
        e = np.zeros(60)
        for i in range(1, 60):
            e[i] = 0.6 * e[i - 1] + rng.normal(0, 0.8)
        y = 50 + slope * t + e
        fc = fit_breach(T0 + t, y, 95)
        if fc is None:
            continue
        issued += 1
        truth = (95 - 50) / slope - t[-1]
        high = math.inf if fc.eta_high_seconds is None else fc.eta_high_seconds
        hits += fc.eta_low_seconds <= truth <= high
    assert hits / issued >= 0.7


def test_interval_is_ordered_and_widens_with_confidence():
    """eta_low <= eta <= eta_high, and a higher confidence gives a wider interval."""
    t, y = _ramp(4, slope_per_min=0.1, sd=1.0)
    narrow, wide = fit_breach(t, y, 95, confidence=0.5), fit_breach(t, y, 95, confidence=0.95)
    for fc in (narrow, wide):
        assert fc.eta_low_seconds <= fc.eta_seconds <= fc.eta_high_seconds
    assert wide.eta_low_seconds < narrow.eta_low_seconds
    assert wide.eta_high_seconds > narrow.eta_high_seconds
    assert narrow.eta_seconds == wide.eta_seconds


def test_weak_slope_at_high_confidence_has_unbounded_upper_eta():
    """When the lower slope bound is not above zero the upper ETA is None."""
    for seed in range(50):
        t, y = _ramp(seed, n=40, slope_per_min=0.02, sd=0.5)
        fc = fit_breach(t, y, 95, confidence=0.999)
        if fc is not None:
            assert fc.eta_high_seconds is None
            assert 0 <= fc.eta_low_seconds <= fc.eta_seconds
            return
    pytest.fail("no significant-but-weak trend found")


# ------------------------------------------------------------------------------------ when to forecast
def test_no_forecast_on_falling_series():
    """direction='above' never forecasts on a falling metric."""
    for seed in range(50):
        assert _stream(BreachForecaster(95), *_ramp(seed, slope_per_min=-0.05, sd=0.5)) is None


def test_flat_series_rarely_forecasts():
    """A flat noisy series passes the 5% two-sided slope test in at most ~2.5% of cases (one side)."""
    issued = sum(fit_breach(*_ramp(s, slope_per_min=0.0), 95) is not None for s in range(400))
    assert issued <= 0.04 * 400


def test_too_few_points_gives_none():
    """Fewer than min_points finite points gives no forecast."""
    t, y = _ramp(0, n=11)
    model = BreachForecaster(95)
    assert model.forecast() is None
    assert _stream(model, t, y) is None
    model.learn_one(y[-1] + 0.3, t[-1] + 60)
    assert model.forecast() is not None


def test_direction_below():
    """A falling metric forecasts a crossing of a lower limit; a rising one does not."""
    t = T0 + 60.0 * np.arange(40)
    rng = np.random.default_rng(0)
    free_gb = 200 - 2.0 * np.arange(40) + rng.normal(0, 0.5, 40)  # 122 GB now, -120 GB per hour
    fc = fit_breach(t, free_gb, 20, direction="below", metric="free_gb")
    assert fc.direction == "below"
    assert fc.slope_per_hour == pytest.approx(-120, rel=0.02)
    assert fc.eta_seconds / 60 == pytest.approx(51, abs=1.5)
    assert fc.eta_low_seconds <= fc.eta_seconds <= fc.eta_high_seconds
    assert fit_breach(t, free_gb[::-1], 20, direction="below") is None
    assert fit_breach(t, free_gb, 300, direction="above") is None


def test_breached():
    """A value already beyond the limit gives status 'breached' with ETA 0."""
    t, y = _ramp(0, n=40, slope_per_min=0.0, sd=0.1)
    y[-1] = 97.0
    fc = fit_breach(t, y, 95)
    assert fc.status == "breached"
    assert fc.eta_seconds == fc.eta_low_seconds == fc.eta_high_seconds == 0
    assert fc.crosses_at == t[-1]
    assert "now" in fc.describe()
    # a fitted level beyond the limit is a breach too, trend or not
    assert fit_breach(t, np.full(40, 96.0), 95).status == "breached"
    assert fit_breach(t, np.full(40, 10.0), 20, direction="below").status == "breached"


def test_max_horizon():
    """An ETA beyond max_horizon gives no forecast; an upper bound beyond it becomes None."""
    t, y = _ramp(5, slope_per_min=0.05, sd=0.3)
    fc = fit_breach(t, y, 95)
    assert fit_breach(t, y, 95, max_horizon=fc.eta_seconds / 2) is None
    capped = fit_breach(t, y, 95, max_horizon=(fc.eta_seconds + fc.eta_high_seconds) / 2)
    assert capped.eta_seconds == fc.eta_seconds and capped.eta_high_seconds is None


def test_forecast_at_a_later_time():
    """forecast(t) measures the ETA from t along the fitted line; earlier times clamp to the data."""
    t = T0 + 60.0 * np.arange(30)
    y = 50 + 0.5 * np.arange(30)
    model = BreachForecaster(95)
    _stream(model, t, y)
    now = model.forecast()
    later = model.forecast(t[-1] + 600)
    assert later.eta_seconds == pytest.approx(now.eta_seconds - 600)
    assert later.crosses_at == pytest.approx(now.crosses_at)
    assert model.forecast(t[0]) == now
    assert model.forecast(pd.Timestamp(t[-1], unit="s")) == now


# ------------------------------------------------------------------------------------ messy input
def test_nan_and_duplicate_timestamps():
    """NaN values and missing times are skipped; duplicate and irregular times are fine."""
    rng = np.random.default_rng(7)
    t = np.sort(T0 + rng.uniform(0, 3600, 80)).round(-1)  # irregular, with repeats
    t[10:13] = t[10]
    y = 50 + 0.01 * (t - T0) + rng.normal(0, 0.3, 80)
    y[[3, 30, 31]] = np.nan
    model = BreachForecaster(95)
    for ti, yi in zip(t, y, strict=True):
        model.learn_one(yi, ti)
    model.learn_one(99.0, None)
    model.learn_one(float("inf"), t[-1])
    fc = model.forecast()
    assert model.n_ == 60 and model.n_seen_ == 82
    assert fc.slope_per_hour == pytest.approx(36, rel=0.05)
    assert fc == fit_breach(t, y, 95, window=60)


def test_all_points_at_one_time():
    """Points all at the same time give no trend and no forecast (no division by zero)."""
    model = BreachForecaster(95, min_points=3)
    for v in (50.0, 51.0, 52.0):
        model.learn_one(v, T0)
    assert model.forecast() is None


# ------------------------------------------------------------------------------------ parameters and state
@pytest.mark.parametrize(("params", "match"), [
    ({"limit": math.nan}, "'limit' parameter of BreachForecaster must be a finite float"),
    ({"limit": "95"}, "'limit'"),
    ({"limit": 95, "direction": "up"}, "'direction' parameter .* one of 'above', 'below'. Got 'up'"),
    ({"limit": 95, "window": 2}, "'window' parameter .* range \\[3, inf\\). Got 2"),
    ({"limit": 95, "min_points": 61}, "'min_points' parameter .* at most window=60. Got 61"),
    ({"limit": 95, "confidence": 1.0}, "'confidence' parameter .* \\(0, 1\\). Got 1.0"),
    ({"limit": 95, "max_horizon": 0}, "'max_horizon'"),
])
def test_bad_params(params, match):
    """Bad parameters raise InvalidParameterError naming the parameter, at first use."""
    limit = params.pop("limit")
    model = BreachForecaster(limit, **params)  # the constructor only stores
    with pytest.raises(InvalidParameterError, match=match):
        model.learn_one(50.0, T0)
    with pytest.raises(InvalidParameterError, match=match):
        model.forecast()
    with pytest.raises(InvalidParameterError):
        fit_breach([T0], [50.0], limit, **{"window": 60, **params})


def test_constructor_only_stores():
    """No state before the first update; get_params round-trips."""
    model = BreachForecaster(95, window=30)
    assert not [k for k in vars(model) if k.endswith("_")]
    assert model.get_params()["window"] == 30


def test_pickle_mid_stream_resumes_exactly():
    """A forecaster pickled mid-stream continues with exactly the forecasts of an unbroken run."""
    t, y = _ramp(9, n=200, slope_per_min=0.1, sd=1.0)
    full = BreachForecaster(95, window=40)
    first_half = BreachForecaster(95, window=40)
    for i in range(75):
        full.learn_one(y[i], t[i])
        first_half.learn_one(y[i], t[i])
    resumed = pickle.loads(pickle.dumps(first_half))
    for i in range(75, 200):
        full.learn_one(y[i], t[i])
        resumed.learn_one(y[i], t[i])
        assert full.forecast() == resumed.forecast()
    np.testing.assert_array_equal(full.buffer()[1], resumed.buffer()[1])


def test_reset():
    """reset forgets the data but keeps the parameters."""
    model = BreachForecaster(95, min_points=3)
    _stream(model, *_ramp(0, n=20))
    assert model.reset().forecast() is None
    assert model.limit == 95


# ------------------------------------------------------------------------------------ output
def test_describe_wording():
    """describe() reads as one sentence with rounded durations in sensible units."""
    fc = BreachForecast("disk_used_pct", 95.0, "above", 80.0, 20.0, 2400.0, 1500.0, 4200.0, T0 + 2400, 0.8,
                        "trending", T0, 60)
    assert fc.describe() == "disk_used_pct crosses 95 in about 40 min (80% interval 25-70 min)"
    open_ended = BreachForecast("", 500.0, "above", 400.0, 50.0, 7200.0, 3000.0, None, T0 + 7200, 0.9,
                                "trending", T0, 60)
    assert open_ended.describe() == "the metric crosses 500 in about 2 h (90% interval: at least 50 min)"
    days = BreachForecast("mem", 95.0, "above", 60.0, 0.5, 3 * 86400, 2 * 86400, 5 * 86400, T0, 0.8,
                          "trending", T0, 60)
    assert days.describe() == "mem crosses 95 in about 3 days (80% interval 2-5 days)"
    assert [format_duration(s) for s in (30, 89, 600, 5400, 9000, 86400 * 1.5, 86400 * 12)] == [
        "30 s", "89 s", "10 min", "1.5 h", "2.5 h", "36 h", "12 days"]


def test_to_dict_is_json_safe():
    """to_dict() survives json.dumps, with ISO 8601 times."""
    t, y = _ramp(0, slope_per_min=0.05, sd=2.0)
    fc = fit_breach(t, y, 95, confidence=0.99, metric="disk")
    d = json.loads(json.dumps(fc.to_dict()))
    assert pd.Timestamp(d["crosses_at"]).timestamp() == pytest.approx(fc.crosses_at, abs=1e-3)
    assert d["as_of"].startswith("2024-05-06T01:19:00")
    assert d["metric"] == "disk" and d["status"] == "trending"


def test_speed():
    """update + forecast on a 60-point window stays well under a millisecond."""
    import time

    t, y = _ramp(0, n=2000, slope_per_min=0.01, sd=0.3)
    model = BreachForecaster(95)
    start = time.perf_counter()
    for ti, yi in zip(t.tolist(), y.tolist(), strict=True):
        model.learn_one(yi, ti)
        model.forecast()
    per_call = (time.perf_counter() - start) / 2000
    assert per_call < 500e-6  # measured ~25 µs; generous for slow CI machines


# ------------------------------------------------------------------------------------ scenarios
@pytest.mark.parametrize("kind", KINDS)
def test_scenario_ground_truth(kind):
    """Each kind has consistent ground truth, finite values and reproducible draws."""
    sc = make_scenario(kind, seed=3)
    assert isinstance(sc, Scenario) and sc.kind == kind
    assert sc.frame.columns[0] == "timestamp" and len(sc.frame) == 1440
    assert np.isfinite(sc.frame[sc.metrics].to_numpy()).all()
    pd.testing.assert_frame_equal(sc.frame, make_scenario(kind, seed=3).frame)
    assert not sc.frame.equals(make_scenario(kind, seed=4).frame)
    if kind == "normal":
        assert sc.failure_at is None and sc.onset is None and sc.leading_metric is None
        return
    assert sc.frame["timestamp"].iloc[0] < sc.onset < sc.failure_at < sc.frame["timestamp"].iloc[-1]
    assert sc.leading_metric in sc.metrics
    assert set(sc.limit) <= set(sc.metrics)
    if kind != "multi_metric":  # the leading metric is at its limit when the failure happens
        (metric, limit), = sc.limit.items()
        near = sc.frame.set_index("timestamp")[metric]
        window = near[sc.failure_at - pd.Timedelta("5min"):sc.failure_at + pd.Timedelta("5min")]
        assert window.median() == pytest.approx(limit, rel=0.15)


def test_multi_metric_leader_moves_first():
    """In multi_metric the leading metric starts first and the failure is when the last follows."""
    sc = make_scenario("multi_metric", seed=5)
    starts = sc.params["starts"]
    assert min(starts, key=starts.get) == sc.leading_metric == "queue_length"
    assert max(starts.values()) == sc.failure_at
    assert starts["queue_length"] == sc.onset
    gaps = np.diff(sorted(starts.values())) / pd.Timedelta("1min")
    assert (gaps >= 3).all()


def test_scenario_population_and_params():
    """make_scenarios gives n per kind with distinct seeds; bad parameters are named."""
    pop = make_scenarios(3, seed=1, n_points=200)
    assert [sc.kind for sc in pop] == [k for k in KINDS for _ in range(3)]
    assert len({sc.seed for sc in pop}) == len(pop)
    assert len({sc.entity for sc in pop}) == len(pop)
    rates = [sc.params["fill_rate_pct_per_h"] for sc in pop if sc.kind == "disk_fill"]
    assert len(set(rates)) == 3
    for kwargs, match in [({"kind": "outage"}, "'kind'"), ({"kind": "normal", "seed": -1}, "'seed'"),
                          ({"kind": "normal", "n_points": 10}, "'n_points'"),
                          ({"kind": "normal", "freq": "soon"}, "'freq'")]:
        with pytest.raises(InvalidParameterError, match=match):
            make_scenario(**kwargs)


def test_forecaster_warns_before_disk_fills():
    """On disk_fill scenarios the forecaster warns ahead of the failure, and is quiet on normal ones."""
    for seed in range(3):
        sc = make_scenario("disk_fill", seed=seed)
        frame = sc.frame[sc.frame["timestamp"] < sc.failure_at]
        times = frame["timestamp"].to_numpy().astype("datetime64[ns]").astype(np.int64) / 1e9
        model = BreachForecaster(95, metric="disk_used_pct", max_horizon=3600)
        first = None
        for ti, yi in zip(times, frame["disk_used_pct"], strict=True):
            model.learn_one(yi, ti)
            fc = model.forecast()
            if first is None and fc is not None:
                first = fc
        assert first is not None
        assert sc.failure_at.timestamp() - first.as_of >= 20 * 60  # at least 20 min of warning
    normal = make_scenario("normal", seed=0)
    times = normal.frame["timestamp"].to_numpy().astype("datetime64[ns]").astype(np.int64) / 1e9
    for metric, limit in normal.limit.items():
        model = BreachForecaster(limit, max_horizon=3600)
        for ti, yi in zip(times, normal.frame[metric], strict=True):
            model.learn_one(yi, ti)
            assert model.forecast() is None
