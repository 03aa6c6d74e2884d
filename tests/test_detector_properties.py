"""Properties every detector route must keep, on streams Hypothesis makes up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from incidentml import make_detector
from incidentml.anomaly import score_frame

_values = st.one_of(st.floats(-1e12, 1e12, allow_nan=False), st.just(np.nan), st.floats(-5, 5, allow_nan=False))
streams = arrays(np.float64, st.tuples(st.integers(1, 250), st.integers(1, 3)), elements=_values)


@pytest.mark.parametrize("name", ["default", "robust", "seasonal", "forecast", "multivariate"])
@given(X=streams, step=st.sampled_from([1.0, 60.0, 3600.0]), start=st.floats(0, 2e9))
def test_batch_equals_loop_and_stays_in_range(name, X, step, start):
    """score_many == score_one/learn_one, scores in [0, 1], on any values (NaN, huge, constant)."""
    t = start + step * np.arange(len(X))
    frame = pd.DataFrame(X, columns=[f"m{j}" for j in range(X.shape[1])])
    batch = make_detector(name).score_many(frame, t)
    det = make_detector(name)
    loop = []
    for i, row in enumerate(frame.to_dict("records")):
        loop.append(det.score_one(row, t[i]))
        det.learn_one(row, t[i])
    np.testing.assert_allclose(batch, loop, rtol=0, atol=1e-12)
    assert np.isfinite(batch).all() and batch.min() >= 0 and batch.max() <= 1


@given(X=streams, low=st.floats(0, 1), high=st.floats(0, 1))
def test_a_higher_threshold_never_flags_more(X, low, high):
    low, high = min(low, high), max(low, high)
    frame = pd.DataFrame(X, columns=[f"m{j}" for j in range(X.shape[1])])
    a = score_frame(frame, time_col=None, threshold=low)
    b = score_frame(frame, time_col=None, threshold=high)
    assert (b["is_anomaly"] <= a["is_anomaly"]).all()
    pd.testing.assert_series_equal(a["score"], b["score"])
