"""One huge value must not blind a detector, and incidents stay strict JSON."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentml.anomaly import available_detectors, make_detector

#: Families whose one-point influence the calibration stage's isolated winsorising bounds.
BOUNDED = ["forecast", "multivariate", "seasonal"]
#: Not bounded yet, each with its reason.
NOT_BOUNDED = {
    "default": "only its range is bounded (test_default_range_grows_at_most_fourfold): its z-score "
               "calibration still learns the outlier, winsorising it cost 3 NAB points",
    "likelihood": "an alias of the default detector",
    "robust": "isolated winsorising lowered its NAB score (13.0 -> 5.6): its calibration must learn the "
              "large robust z-scores of natural spikes, so it is off for this family",
    "ensemble": "its robust member is not bounded (the other two are): a later spike loses up to 0.2",
    "hst": "river's HalfSpaceTrees keeps the outlier in its window-based mass counts",
    "hst_raw": "river's HalfSpaceTrees behind a MinMaxScaler: the scaler keeps the outlier's range",
    "loda": "river's LODA histograms keep the outlier's range",
    "svm": "river's OneClassSVM weights are updated by the unbounded value",
}
#: Largest allowed change of the later spike's score (calibrated scale, [0, 1]).
TOLERANCE = 0.04
N, SPIKE = 3000, 2800

_rng = np.random.default_rng(1)
_BASE = 50 + _rng.normal(size=N)
_BASE[SPIKE] += 22.0  # a 22-sigma spike long after the outlier
_T = 1.7e9 + 60.0 * np.arange(N)


def test_every_detector_is_listed():
    """Each registered detector is either property-tested or exempted with a reason."""
    assert set(BOUNDED) | set(NOT_BOUNDED) == set(available_detectors())


@pytest.mark.parametrize("name", BOUNDED)
@settings(max_examples=8)
@given(magnitude=st.floats(1.0, 308.0), negative=st.booleans(), pos=st.integers(160, 1000))
def test_one_outlier_barely_moves_a_later_spike(name, magnitude, negative, pos):
    """An outlier of any size (1e1..1e308, either sign) changes a later spike's score by at most TOLERANCE."""
    value = (-1.0 if negative else 1.0) * min(10.0 ** magnitude, 1.7976931348623157e308)
    x = _BASE.copy()
    x[pos] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = make_detector(name).score_many(_BASE, _T)
        got = make_detector(name).score_many(x, _T)
    assert not np.isnan(got).any()
    assert got[pos] >= 0.3  # the outlier itself is still an anomaly
    assert abs(got[SPIKE] - ref[SPIKE]) <= TOLERANCE


@pytest.mark.parametrize("name", available_detectors())
@pytest.mark.parametrize("value", [1e308, -1e308, math.inf, -math.inf])
def test_huge_values_never_give_nan(name, value):
    """A 1e308 or infinite value never makes a score NaN (infinities are skipped as missing)."""
    n = 400 if name in ("hst", "hst_raw", "loda", "svm") else 1200
    x = _BASE[:n].copy()
    x[200] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = make_detector(name).score_many(x, _T[:n])
    assert not np.isnan(scores).any()


def _strict(constant):
    raise ValueError(f"not strict JSON: {constant}")


def test_incidents_jsonl_is_strict_json_with_a_huge_value():
    """A 1e308 metric value through IncidentPredictor.run still writes strict JSON lines."""
    from incidentml import IncidentPredictor

    n = 600
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="min"),
                          "cpu": 50 + rng.normal(size=n), "mem": 70 + rng.normal(size=n)})
    frame.loc[400, "cpu"] = 1e308
    frame.loc[401:420, "mem"] = 1e308
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        incidents = IncidentPredictor().run(frame)
    assert incidents
    for inc in incidents:
        json.loads(inc.to_json(), parse_constant=_strict)


def test_to_dict_turns_non_finite_numbers_into_none():
    """NaN and infinities in an incident become None in to_dict and null in to_json."""
    from incidentml.incidents._incident import Incident

    inc = Incident(id="a-1", entity="a", raised_at=0.0, onset=0.0,
                   metrics=[{"name": "cpu", "contribution": math.nan, "first_at": 0.0, "peak": math.inf}])
    d = inc.to_dict()
    assert d["metrics"][0]["contribution"] is None and d["metrics"][0]["peak"] is None
    assert json.loads(inc.to_json(), parse_constant=_strict)["metrics"][0]["peak"] is None


def _calibrate(raw: np.ndarray, isolated_clip: float) -> np.ndarray:
    from incidentml.anomaly._calibration import LIKELIHOOD_STATE, likelihood_kernel, likelihood_params

    params = np.asarray(likelihood_params(10, 2000, 150, 0.05, isolated_clip), dtype=np.float64)
    out = np.zeros(len(raw))
    likelihood_kernel(np.asarray(raw, dtype=np.float64), np.zeros(len(raw)), np.zeros(LIKELIHOOD_STATE), params,
                      out, True)
    return out


def test_isolated_winsorising_still_learns_a_lasting_change_at_full_speed():
    """A lasting jump of the raw scores is adapted to as fast as without the winsorising."""
    from incidentml.anomaly._calibration import ISOLATED_CLIP

    raw = np.abs(np.random.default_rng(3).normal(size=4000))
    raw[1000:] += 30.0  # a lasting change, not an outlier
    on, off = _calibrate(raw, ISOLATED_CLIP), _calibrate(raw, math.inf)
    assert on[1000] >= 0.5 and off[1000] >= 0.5
    np.testing.assert_allclose(on[1100:], off[1100:], atol=0.02)


def test_isolated_winsorising_bounds_one_raw_score():
    """One raw score of 1e12 (the cap) barely changes a later spike's calibrated score; without it, it blinds."""
    from incidentml.anomaly._calibration import ISOLATED_CLIP

    raw = np.abs(np.random.default_rng(4).normal(size=3000))
    raw[2500] = 25.0
    dirty = raw.copy()
    dirty[300] = 1e12
    ref = _calibrate(raw, ISOLATED_CLIP)[2500]
    assert abs(_calibrate(dirty, ISOLATED_CLIP)[2500] - ref) <= TOLERANCE
    assert _calibrate(dirty, math.inf)[2500] < 0.1 < ref


def _spike_scores(size: float, outlier: float, pos: int) -> tuple[float, float]:
    base = 50 + np.random.default_rng(1).normal(size=N)
    base[SPIKE] += size
    x = base.copy()
    x[pos] = outlier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (float(make_detector("default").score_many(base, _T)[SPIKE]),
                float(make_detector("default").score_many(x, _T)[SPIKE]))


@settings(max_examples=8)
@given(magnitude=st.floats(1.0, 308.0), negative=st.booleans(), pos=st.integers(160, 1000))
def test_default_range_grows_at_most_fourfold(magnitude, negative, pos):
    """After an outlier of any size, a later spike beyond four times the range is still a new extreme.

    The range of 3000 N(0, 1) points is about 7 wide, so an outlier stretches it to at most about 28
    above its low end; a 35-sigma spike lies beyond.
    """
    value = (-1.0 if negative else 1.0) * min(10.0 ** magnitude, 1.7976931348623157e308)
    ref, got = _spike_scores(35.0, value, pos)
    assert ref == 1.0 and got == 1.0


@pytest.mark.xfail(strict=True, reason="the default detector's z-score calibration still learns a huge value: "
                   "a later 8-sigma spike inside the stretched range is missed")
def test_default_smaller_later_spike_survives_a_huge_value():
    ref, got = _spike_scores(8.0, 1e8, 600)
    assert ref >= 0.5 and abs(got - ref) <= TOLERANCE
