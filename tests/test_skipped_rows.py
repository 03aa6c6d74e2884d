"""Rows the API cannot use are not scored silently: NaN score, a SkippedRowsWarning naming them, or an error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from incidentml.anomaly import score_frame, score_long
from incidentml.exceptions import DataError, SkippedRowsWarning
from incidentml.fleet import score_fleet


def _wide(n: int = 50) -> pd.DataFrame:
    t = [f"2024-01-01T00:{i:02d}:00" for i in range(n)]
    return pd.DataFrame({"timestamp": pd.Series(t, dtype=object), "cpu": np.linspace(1, 2, n)})


def test_score_frame_does_not_score_rows_without_a_timestamp():
    frame = _wide()
    frame.loc[7, "timestamp"] = None
    with pytest.warns(SkippedRowsWarning, match=r"1 of 50 rows have no 'timestamp' \(time_col\) \(first: row 7\)"):
        out = score_frame(frame)
    assert np.isnan(out.loc[7, "score"]) and not out.loc[7, "is_anomaly"] and out.loc[7, "top_metric"] == ""
    assert out["score"].drop(index=7).notna().all()
    # the other rows get exactly the scores of the frame without that row
    clean = score_frame(frame.drop(index=7))
    np.testing.assert_array_equal(out["score"].drop(index=7).to_numpy(), clean["score"].to_numpy())
    with pytest.raises(DataError, match="no 'timestamp'"):
        score_frame(frame, strict=True)


def test_score_long_does_not_score_rows_without_a_series_and_agrees_with_the_fleet():
    frame = pd.DataFrame({"series_id": ["a"] * 30 + [None, " "], "timestamp": list(range(0, 1920, 60)),
                          "value": np.r_[np.ones(30), 5.0, 6.0]})
    with pytest.warns(SkippedRowsWarning, match=r"2 of 32 rows have no 'series_id' \(id_col\) \(first: row 30\)"):
        out = score_long(frame)
    assert out["score"].iloc[30:].isna().all() and not out["is_anomaly"].iloc[30:].any()
    with pytest.warns(SkippedRowsWarning):
        fleet = score_fleet(frame, n_jobs=1)
    np.testing.assert_array_equal(out["score"].to_numpy(), fleet["score"].to_numpy())
    with pytest.raises(DataError, match="no 'series_id'"):
        score_long(frame, strict=True)


def test_score_long_checks_every_value_also_of_rows_left_out():
    frame = pd.DataFrame({"series_id": ["a", "a", None], "timestamp": [0, 60, 120],
                          "value": pd.Series([1.0, 2.0, "abc"], dtype=object)})
    with pytest.raises(DataError, match="row 2 holds 'abc'"):
        score_long(frame)


def test_empty_text_cells_are_missing_points():
    frame = _wide(40)
    frame["cpu"] = pd.Series(list(np.linspace(1, 2, 40)), dtype=object)
    frame.loc[5, "cpu"] = "  "
    out = score_frame(frame, metrics=["cpu"])
    assert out["score"].notna().all()
