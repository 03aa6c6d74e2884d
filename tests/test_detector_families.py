"""The detector families beyond the robust z-score: seasonal, forecast, river, multivariate, ensemble."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from incidentml.anomaly import (
    DETECTORS,
    Ensemble,
    ForecastResidual,
    MultivariateDetector,
    RiverDetector,
    RobustZScore,
    SeasonalDetector,
    StreamingLikelihoodDetector,
    make_detector,
    tail_probability_to_score,
)
from incidentml.exceptions import InvalidParameterError

#: The score of a one-in-100,000 event on the shared calibration scale (1/3): the families below flag
#: their examples at this rarity (the default detector's alerts start at 0.45, about 7e-9).
ONE_IN_1E5 = tail_probability_to_score(1e-5)

# Cheap settings: short warm-ups so that calibrated scores move within a few hundred points.
FACTORIES = {
    "seasonal": lambda: SeasonalDetector(warmup=30),
    "seasonal_day": lambda: SeasonalDetector(bucket_minutes=30, weekly="day", warmup=30, utc_offset=-5.0),
    "forecast": lambda: ForecastResidual(warmup=30),
    "forecast_raw": lambda: ForecastResidual(calibrate=False),
    "multivariate": lambda: MultivariateDetector(warmup=30),
    "multivariate_small": lambda: MultivariateDetector(warmup=30, max_keys=2),
    "hst": lambda: RiverDetector("hst", seed=0, warmup=30, n_trees=5, window_size=50),
    "hst_raw": lambda: RiverDetector("hst", seed=0, calibrate=False,
                                     settings={"n_trees": 5, "window_size": 50}),
    "loda": lambda: RiverDetector("loda", seed=0, warmup=30, n_random_cuts=10),
    "svm": lambda: RiverDetector("svm", warmup=30),
    "ensemble": lambda: Ensemble([RobustZScore(warmup=30), SeasonalDetector(warmup=30),
                                  ForecastResidual(warmup=30)]),
    "ensemble_max": lambda: Ensemble([SeasonalDetector(warmup=30), MultivariateDetector(warmup=30)],
                                     combine="max"),
    "ensemble_geo": lambda: Ensemble([("z", RobustZScore(warmup=30)),
                                      ("hst", RiverDetector("hst", seed=0, n_trees=5, window_size=50))],
                                     combine="geometric"),
}
CALIBRATED = [k for k in FACTORIES if k not in ("forecast_raw", "hst_raw")]


def _stream(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, list[dict[str, float]], np.ndarray]:
    """A 3-metric stream with NaNs, a key that appears late and goes missing, irregular timestamps."""
    rng = np.random.default_rng(seed)
    t = 1.7e9 + np.cumsum(rng.choice([0.0, 60.0, 300.0, 300.0, 300.0, 7200.0], n))  # duplicates and gaps
    base = rng.normal(0, 1, n)
    frame = pd.DataFrame({
        "a": 10 + base + rng.normal(0, 0.3, n),
        "b": 5 + 0.5 * base + rng.normal(0, 0.3, n),
        "c": 100 + rng.normal(0, 5, n),
    })
    frame.loc[rng.random(n) < 0.1, "a"] = np.nan
    frame.loc[rng.random(n) < 0.1, "b"] = np.nan
    frame.loc[:49, "c"] = np.nan  # appears late
    frame.loc[200:230, "c"] = np.nan  # then goes missing for a while
    frame.loc[300, :] = np.nan  # an empty row
    frame.loc[150, "a"] = 40.0  # a spike
    rows = [{k: v for k, v in row.items() if not (k == "c" and math.isnan(v))}  # missing key, not NaN
            for row in frame.to_dict("records")]
    return frame, rows, t


def _loop(det, rows, t) -> np.ndarray:
    out = []
    for x, ti in zip(rows, t, strict=True):
        out.append(det.score_one(x, ti))
        det.learn_one(x, ti)
    return np.array(out)


@pytest.mark.parametrize("name", list(FACTORIES))
def test_routes_identical(name):
    """score_many equals the score_one/learn_one loop, and learn=False equals score_one on the same state."""
    frame, rows, t = _stream()
    batch_det, loop_det = FACTORIES[name](), FACTORIES[name]()
    batch = batch_det.score_many(frame, t)
    loop = _loop(loop_det, rows, t)
    np.testing.assert_allclose(batch, loop, rtol=0, atol=1e-12)
    frozen = batch_det.score_many(frame.iloc[:50], t[:50], learn=False)
    one = [loop_det.score_one(x, ti) for x, ti in zip(rows[:50], t[:50], strict=True)]
    np.testing.assert_allclose(frozen, one, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", CALIBRATED)
def test_calibrated_scores_in_unit_interval(name):
    """Calibrated detectors answer finite scores in [0, 1]."""
    frame, _, t = _stream()
    scores = FACTORIES[name]().score_many(frame, t)
    assert np.isfinite(scores).all()
    assert scores.min() >= 0.0 and scores.max() <= 1.0


def _seasonal_series(days: int = 14, step: float = 1800.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.arange(0, days * 86400, step) + 1.7e9 - (1.7e9 % 86400)  # midnight UTC
    x = 10 + 5 * np.sin(2 * np.pi * t / 86400) + rng.normal(0, 0.3, len(t))
    return x, t


def _spike_train(n=400):
    """A flat metric with a pair of spikes to 20 (at offsets 0 and 6) every 100 points."""
    x = np.zeros(n)
    x[0::100] = 20.0
    x[6::100] = 20.0
    return x


def test_default_fast_channel_alerts_at_the_sudden_change():
    """With the fast channel the spike at 200 alerts at its own point; the averaged channel alone, one later."""
    x = _spike_train()
    on = StreamingLikelihoodDetector(fast_scale=4.0).score_many(x)
    off = StreamingLikelihoodDetector().score_many(x)  # the default: fast channel off
    assert np.flatnonzero(on >= 0.45)[0] == 200
    assert np.flatnonzero(off >= 0.45)[0] == 201
    np.testing.assert_array_equal(on[:200], off[:200])  # the same scores until the fast channel alerts


def test_default_fast_channel_is_off_by_default():
    """The default detector has no fast channel: its scores are those of fast_scale=None."""
    x = _spike_train()
    assert StreamingLikelihoodDetector().fast_scale is None
    np.testing.assert_array_equal(StreamingLikelihoodDetector().score_many(x),
                                  StreamingLikelihoodDetector(fast_scale=None).score_many(x))


def test_default_fast_channel_only_adds_alerts():
    """Without rest, the fast channel changes a score only where it reaches alert_level and beats the rest."""
    rng = np.random.default_rng(3)
    x = np.concatenate([_spike_train(600), rng.normal(0, 1, 600)])
    x[900:] += 6.0
    on = StreamingLikelihoodDetector(rest=0, fast_scale=4.0).score_many(x)
    off = StreamingLikelihoodDetector(rest=0, fast_scale=None).score_many(x)
    changed = on != off
    assert changed.any()
    assert (on[changed] >= 0.45).all() and (on[changed] > off[changed]).all()


def test_seasonal_break_scores_high():
    """A value normal for the day but wrong for the time of day stands out."""
    x, t = _seasonal_series()
    k = 11 * 48 + 12  # 06:00 on day 11: the daily peak (about 15)
    x[k] = 5.0  # the trough's level, well inside the global range
    scores = SeasonalDetector().score_many(x, t)
    assert scores[k] > ONE_IN_1E5 > scores[200:k].max()
    raw = SeasonalDetector(calibrate=False).score_many(x, t)
    assert raw[k] > 3 * raw[200:k].max()


def test_seasonal_without_timestamps_falls_back_to_robust_level():
    """With t=None the seasonal detector is a plain robust z-score (no crash, spike still seen)."""
    rng = np.random.default_rng(1)
    x = rng.normal(10, 1, 600)
    x[500] = 25
    scores = SeasonalDetector().score_many(x)
    assert scores[500] > ONE_IN_1E5 > scores[:500].max()
    det = SeasonalDetector(calibrate=False)
    det.score_many(x[:400])
    assert det.score_one(30.0) > det.score_one(10.0, t=None)


def test_forecast_trend_break_scores_high():
    """A sudden change of slope is caught quickly; the steady trend before it is not an anomaly."""
    rng = np.random.default_rng(0)
    x = 0.05 * np.arange(800) + rng.normal(0, 0.5, 800)
    x[600:] += 1.0 * np.arange(200)
    scores = ForecastResidual().score_many(x)
    assert scores[600:620].max() > ONE_IN_1E5 > scores[200:600].max()


def test_forecast_uses_time_gaps():
    """A gap extrapolates the trend: the point after it matches the forecast (timestamps matter)."""
    x = np.arange(300, dtype=float)
    t = np.arange(300, dtype=float) * 60
    t[250:] += 60 * 5  # 5 missing steps: the series continued its slope meanwhile
    x[250:] += 5
    det = ForecastResidual(calibrate=False, phi=1.0)
    raw_t = det.score_many(x, t)
    raw_no_t = ForecastResidual(calibrate=False, phi=1.0).score_many(x)
    assert raw_t[250] < raw_no_t[250]


def _correlated(n: int = 800, seed: int = 0):
    rng = np.random.default_rng(seed)
    common = rng.normal(0, 1, n)
    return {"cpu": common + rng.normal(0, 0.2, n), "load": common + rng.normal(0, 0.2, n)}


def test_multivariate_broken_correlation_scores_high():
    """Moves that are plausible per metric but break the metrics' relation stand out."""
    X = _correlated()
    X["cpu"][700:705] += 3.0
    X["load"][700:705] -= 3.0
    scores = MultivariateDetector().score_many(X)
    assert scores[700:705].max() > ONE_IN_1E5 > scores[200:700].max()
    robust = RobustZScore().score_many(X)
    assert scores[700:705].max() > robust[700:705].max()


def test_multivariate_contributions_name_the_metric():
    """contributions_one gives the top metric the score and tolerates unknown keys."""
    X = _correlated()
    det = MultivariateDetector()
    det.score_many(X)
    point = {"cpu": 0.0, "load": 8.0, "new": 1.0}
    parts = det.contributions_one(point)
    assert set(parts) == {"cpu", "load", "new"}
    assert max(parts, key=parts.get) == "load"
    assert parts["load"] == pytest.approx(det.score_one(point))
    assert parts["new"] == 0.0
    assert MultivariateDetector().contributions_one({"a": 1.0}) == {"a": 0.0}


def test_multivariate_max_keys_caps_memory():
    """Only the first max_keys metrics get a slot; the rest are ignored."""
    det = MultivariateDetector(max_keys=2)
    for i in range(20):
        det.learn_one({"a": i, "b": -i, "c": 2 * i})
    assert set(det.slots_) == {"a", "b"}
    assert det.cov_.shape == (2, 2)


def test_river_level_shift_scores_high():
    """The wrapped river models see a large level shift (raw and calibrated)."""
    rng = np.random.default_rng(0)
    X = {"a": rng.normal(10, 1, 1000), "b": rng.normal(0, 1, 1000)}
    X["a"][800:830] += 15
    svm = RiverDetector("svm").score_many(X)
    assert svm[800:830].max() > ONE_IN_1E5 > svm[300:800].max()
    loda = RiverDetector("loda", seed=0).score_many(X)
    assert loda[800:830].max() > loda[300:800].max()
    hst_raw = make_detector("hst_raw", seed=0).score_many(X)
    assert hst_raw[800:830].mean() > np.median(hst_raw[300:800])
    hst = RiverDetector("hst", seed=0).score_many(X)
    assert hst[800:830].max() > hst[300:800].max()
    assert (hst[:250] == 0).all()  # half-space trees' first window is not calibrated


def test_ensemble_spike_and_combination_rules():
    """The ensemble sees a spike; max >= mean >= geometric, point by point."""
    rng = np.random.default_rng(0)
    x = rng.normal(10, 1, 600)
    x[500] = 25
    scores = {rule: Ensemble(combine=rule).score_many(x) for rule in ("mean", "max", "geometric")}
    assert scores["mean"][500] > ONE_IN_1E5 > scores["mean"][:500].max()
    assert (scores["max"] >= scores["mean"] - 1e-12).all()
    assert (scores["mean"] >= scores["geometric"] - 1e-12).all()


def test_ensemble_contributions_and_nested_params():
    """Members are nested parameters; contributions combine the members' per-metric parts."""
    ens = Ensemble([RobustZScore(alpha=0.05), MultivariateDetector()])
    params = ens.get_params(deep=True)
    assert params["robustzscore__alpha"] == 0.05
    assert "multivariatedetector__shrinkage" in params
    ens.set_params(robustzscore__alpha=0.1, combine="max")
    assert ens.detectors[0].alpha == 0.1 and ens.combine == "max"
    twin = clone(ens)
    assert twin.get_params()["robustzscore__alpha"] == 0.1
    X = _correlated(400)
    ens.score_many(X)
    parts = ens.contributions_one({"cpu": 0.0, "load": 9.0})
    assert max(parts, key=parts.get) == "load"
    # the members passed in stay unfitted
    assert ens.detectors[0].__dict__.keys() == RobustZScore().__dict__.keys()
    with pytest.raises(InvalidParameterError, match="member names"):
        ens.set_params(nope__alpha=1.0)
    dup = Ensemble([RobustZScore(), RobustZScore()])
    assert {"robustzscore-1", "robustzscore-2"} <= set(dup.get_params())


MESSY_POINTS = [
    ({"a": 1.0}, 0.0), ({"a": 1.0}, 0.0), ({"a": 1.0}, 0.0),  # constant, duplicate timestamps
    ({"a": math.nan}, 60.0), ({"a": math.inf, "b": -math.inf}, 60.0), ({}, 120.0),
    ({"a": 1e300}, 180.0), ({"a": -1e300, "b": 1e300}, 181.0), ({"a": 1.0, "b": 2.0}, None),
    ({"b": 2.0}, 1e9), ({"a": 1.0}, 1e5), ({"a": 5e-324, "c": 0.0}, None),  # time goes backwards
    (3.0, "2024-01-01T00:00:00"), ({"a": 1.0}, np.datetime64("NaT")),
]


@pytest.mark.parametrize("name", list(FACTORIES))
def test_messy_streams_do_not_crash(name):
    """NaN, inf, missing keys, duplicate/irregular/backward timestamps, constants, 1e300, t=None."""
    det = FACTORIES[name]()
    scores = []
    for _rep in range(25):
        for x, ti in MESSY_POINTS:
            scores.append(det.score_one(x, ti))
            det.learn_one(x, ti)
        det.contributions_one({"a": 1.0, "b": 2.0})
    scores = np.array(scores)
    assert np.isfinite(scores).all()
    if name in CALIBRATED:
        assert scores.min() >= 0.0 and scores.max() <= 1.0
    constant = FACTORIES[name]().score_many(np.ones(300), np.arange(300) * 60.0)
    assert np.isfinite(constant).all()
    huge = FACTORIES[name]().score_many(np.r_[np.ones(100), 1e300, -1e300, np.ones(100)])
    assert np.isfinite(huge).all()


@pytest.mark.parametrize("name", list(FACTORIES))
def test_pickle_mid_stream_continues_exactly(name):
    """A detector pickled mid-stream continues with exactly the scores of the original."""
    frame, _, t = _stream()
    det = FACTORIES[name]()
    det.score_many(frame.iloc[:200], t[:200])
    copy = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(copy.score_many(frame.iloc[200:], t[200:]),
                                  det.score_many(frame.iloc[200:], t[200:]))


@pytest.mark.parametrize("name", list(FACTORIES))
def test_clones_with_same_seed_agree(name):
    """Two clones (same seed) give identical scores; clone works before and after learning."""
    frame, _, t = _stream()
    proto = FACTORIES[name]()
    proto.score_many(frame.iloc[:20], t[:20])
    a, b = clone(proto), clone(proto)
    np.testing.assert_array_equal(a.score_many(frame, t), b.score_many(frame, t))


@pytest.mark.parametrize(("cls", "params", "message"), [
    (SeasonalDetector, {"bucket_minutes": 0},
     r"The 'bucket_minutes' parameter of SeasonalDetector must be an int in the range \[1, 1440\]. "
     "Got 0 instead."),
    (SeasonalDetector, {"weekly": "month"},
     "The 'weekly' parameter of SeasonalDetector must be one of 'weekend', 'day', 'none'. "
     "Got 'month' instead."),
    (StreamingLikelihoodDetector, {"fast_scale": 0.5}, "The 'fast_scale' parameter of StreamingLikelihoodDetector"),
    (ForecastResidual, {"alpha": 0.0},
     "The 'alpha' parameter of ForecastResidual must be a float in the range"),
    (ForecastResidual, {"phi": 1.5}, "The 'phi' parameter of ForecastResidual"),
    (MultivariateDetector, {"max_keys": 0}, "The 'max_keys' parameter of MultivariateDetector"),
    (MultivariateDetector, {"shrinkage": -0.1}, "The 'shrinkage' parameter of MultivariateDetector"),
    (RiverDetector, {"model": "rrcf"},
     "The 'model' parameter of RiverDetector must be one of 'hst', 'loda', 'svm'"),
    (RiverDetector, {"seed": -1}, "The 'seed' parameter of RiverDetector"),
    (RiverDetector, {"settings": {"n_treez": 3}}, "does not take"),
    (Ensemble, {"combine": "median"}, "The 'combine' parameter of Ensemble must be one of 'mean', 'max'"),
    (Ensemble, {"detectors": [object()]},
     "The 'detectors' parameter of Ensemble must be None or a non-empty list"),
    (Ensemble, {"detectors": []}, "The 'detectors' parameter of Ensemble"),
])
def test_invalid_parameters_raise_clearly(cls, params, message):
    """Bad constructor parameters raise InvalidParameterError on first use, naming the parameter."""
    det = cls(**params)  # the constructor only stores
    with pytest.raises(InvalidParameterError, match=message):
        det.learn_one({"a": 1.0})


def test_registry_names():
    """make_detector builds every family by name; hst_raw is uncalibrated; default is unchanged."""
    expected = {"seasonal": SeasonalDetector, "forecast": ForecastResidual,
                "multivariate": MultivariateDetector, "ensemble": Ensemble, "hst": RiverDetector,
                "hst_raw": RiverDetector, "loda": RiverDetector, "svm": RiverDetector}
    for name, cls in expected.items():
        assert name in DETECTORS
        assert type(make_detector(name)) is cls
    assert make_detector("hst_raw").calibrate is False
    assert make_detector("hst", seed=3, n_trees=4).get_params()["settings"] == {"n_trees": 4}
    assert make_detector("loda").model == "loda"
    assert type(make_detector("default")) is StreamingLikelihoodDetector
    with pytest.raises(InvalidParameterError):
        make_detector("seasonal", nope=1)


def test_no_state_in_init_and_clone_of_river_detector():
    """Constructors only store parameters (sklearn clone works); river objects are built lazily."""
    for name in FACTORIES:
        det = FACTORIES[name]()
        assert all(not k.endswith("_") for k in vars(det)), name
    det = RiverDetector("hst", seed=1, n_trees=3)
    assert det.settings == {"n_trees": 3}
    twin = clone(det)
    assert twin.settings == {"n_trees": 3} and twin.seed == 1
