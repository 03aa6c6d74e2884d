"""One time parser for every route: years 1677..9999, epoch units, day-first dates, time zones."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentml.exceptions import DataError
from incidentml.utils import parse_times

UTC = dt.UTC


def _secs(d):
    return (d.replace(tzinfo=UTC) - dt.datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()


@pytest.mark.parametrize("year", [1677, 1970, 2262, 2263, 2300, 9999])
def test_years_in_every_form(year):
    """Strings, datetimes, dates, datetime64 of any unit and Timestamps agree from 1677 to 9999."""
    d = dt.datetime(year, 12, 1, 6, 30)
    want = _secs(d)
    forms = [[d.isoformat()], [d], np.array([d], dtype="datetime64[us]"), np.array([d], dtype="datetime64[s]"),
             [pd.Timestamp(d)], pd.Series([d.isoformat()])]
    for f in forms:
        assert parse_times(f)[0] == want
    assert parse_times([d.date()])[0] == _secs(dt.datetime(year, 12, 1))


def test_epoch_units_same_instant():
    """Epoch seconds, milliseconds, microseconds and nanoseconds of one instant give the same seconds."""
    s = 1_700_000_000
    for scale in (1, 1_000, 1_000_000, 1_000_000_000):
        assert parse_times([s * scale, (s + 60) * scale]).tolist() == [s, s + 60]


def test_small_numbers_are_seconds():
    """0..3600 are seconds."""
    assert parse_times(np.arange(0, 3601, 600)).tolist() == list(range(0, 3601, 600))


def test_bools_refused():
    """Bools are not times."""
    with pytest.raises(DataError, match="bool"):
        parse_times([True, False])
    with pytest.raises(DataError, match="bool"):
        parse_times(["2024-01-01", True])


def test_day_first_decided_from_column():
    """A first field above 12 makes the column day-first; a second above 12 makes it month-first."""
    assert parse_times(["25/12/2024", "03/04/2024"])[1] == _secs(dt.datetime(2024, 4, 3))
    assert parse_times(["12/25/2024", "03/04/2024"])[1] == _secs(dt.datetime(2024, 3, 4))
    assert parse_times(["25.12.2024", "03.04.2024"])[1] == _secs(dt.datetime(2024, 4, 3))


def test_day_first_refused():
    """All fields up to 12, or both orders in one column, are refused with the fix."""
    with pytest.raises(DataError, match="time_format=.*--time-format"):
        parse_times(["03/04/2024", "05/06/2024"])
    with pytest.raises(DataError, match="mixes day-first"):
        parse_times(["25/12/2024", "12/25/2024"])


def test_time_format_exact():
    """time_format= is applied exactly; a cell that does not match is named."""
    assert parse_times(["03/04/2024"], time_format="%d/%m/%Y")[0] == _secs(dt.datetime(2024, 4, 3))
    assert parse_times(["03/04/2300"], time_format="%d/%m/%Y")[0] == _secs(dt.datetime(2300, 4, 3))
    with pytest.raises(DataError, match=r"row 1 holds '2024-01-01'"):
        parse_times(["03/04/2024", "2024-01-01"], time_format="%d/%m/%Y")


def test_time_zones_to_utc():
    """Offsets, 'Z', mixed offsets and aware datetimes become UTC; naive is UTC."""
    out = parse_times(["1970-01-01T01:00:00+01:00", "1970-01-01T00:00:00Z", "1969-12-31T19:00:00-05:00",
                       "1970-01-01T00:00:00"])
    assert out.tolist() == [0, 0, 0, 0]
    tz = dt.timezone(dt.timedelta(hours=2))
    assert parse_times([dt.datetime(2300, 1, 1, 2, tzinfo=tz)])[0] == _secs(dt.datetime(2300, 1, 1))
    assert parse_times(pd.Series(pd.to_datetime(["1970-01-01T02:00"]).tz_localize("Europe/Paris")))[0] == 3600


def test_missing_values_are_nan():
    """None, NaN, NaT and '' are NaN, the rest is parsed."""
    out = parse_times([None, float("nan"), pd.NaT, "", "1970-01-01T00:01:00"])
    assert np.isnan(out[:4]).all() and out[4] == 60
    assert np.isnan(parse_times([np.nan, 60.0])[0])


def test_errors_name_row_and_value():
    """An unreadable cell is reported with its row, value and fix, never a pandas traceback."""
    with pytest.raises(DataError, match=r"'ts' row 2 holds 'abc'.*time_format="):
        parse_times(["2024-01-01", "2024-01-02", "abc"], name="ts")


_DT = st.datetimes(min_value=dt.datetime(1677, 9, 22), max_value=dt.datetime(9999, 12, 31))


@given(_DT)
def test_property_forms_agree(d):
    """ISO text and epoch s/ms/us (ns where it fits in int64) of any datetime give the same seconds."""
    want = _secs(d)
    us = (d - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
    assert parse_times([d.isoformat()])[0] == pytest.approx(want, abs=1e-4)
    assert parse_times([d])[0] == pytest.approx(want, abs=1e-4)
    # Each unit is read as such where its magnitude falls in that unit's band (the documented cut points).
    ms = us // 1000
    if 1e11 <= abs(ms) < 1e14:
        assert parse_times([ms])[0] == pytest.approx(ms / 1e3, abs=1e-4)
    if 1e14 <= abs(us) < 1e17:
        assert parse_times(np.array([us], dtype=np.int64))[0] == pytest.approx(want, abs=1e-4)
    if abs(want) < 1e11:
        assert parse_times([us // 1_000_000])[0] == float(us // 1_000_000)
    if 1e17 <= abs(us) * 1000 < 2**63:
        assert parse_times(np.array([us * 1000], dtype=np.int64))[0] == pytest.approx(want, abs=1e-4)
