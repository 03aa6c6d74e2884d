"""One time parser behind every route: year 2300, epoch milliseconds and day-first dates agree everywhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from incidentml import IncidentPredictor
from incidentml.anomaly import score_frame, score_long
from incidentml.evaluation import NABFile
from incidentml.exceptions import DataError, InvalidParameterError
from incidentml.fleet import score_fleet
from incidentml.history import incident_counts, time_to_resolve
from incidentml.utils import column_seconds, parse_times, seconds_to_datetime64

T2300 = 10_413_792_000.0  # 2300-01-01T00:00:00Z
N = 400


def _values(seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(10, 1, N)
    v[300:310] += 40  # a clear incident
    return v


def _times(kind: str) -> object:
    secs = T2300 + 300.0 * np.arange(N)
    if kind == "seconds":
        return secs
    if kind == "ms":
        return (secs * 1000).astype(np.int64)
    us = seconds_to_datetime64(secs)
    if kind == "datetime64":
        return us
    if kind == "iso":
        return [str(t) + "Z" for t in us]
    if kind == "offset":  # the same instants written at +02:00
        return [pd.Timestamp(t).tz_localize("UTC").tz_convert("Etc/GMT-2").isoformat() for t in us]
    raise AssertionError(kind)


KINDS = ["seconds", "ms", "datetime64", "iso", "offset"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_form_reads_the_same_seconds(kind):
    frame = pd.DataFrame({"timestamp": _times(kind)})
    np.testing.assert_allclose(column_seconds(frame, "timestamp"), T2300 + 300.0 * np.arange(N), rtol=0, atol=1e-6)


def test_seconds_to_datetime64_round_trips_the_whole_range():
    secs = parse_times(["1677-09-22T00:00:01", "1970-01-01", "2262-04-12", "2300-01-01", "9999-12-31T23:59:59"])
    back = seconds_to_datetime64(secs)
    assert [str(t)[:10] for t in back] == ["1677-09-22", "1970-01-01", "2262-04-12", "2300-01-01", "9999-12-31"]
    np.testing.assert_array_equal(parse_times(back), secs)


def test_coerce_gives_nan_for_bad_cells_but_refuses_ambiguity():
    out = parse_times(["2300-01-01", "not a time", None], errors="coerce")
    assert out[0] == T2300 and np.isnan(out[1:]).all()
    with pytest.raises(DataError, match="row 1 holds 'not a time'"):
        parse_times(["2300-01-01", "not a time"])
    with pytest.raises(DataError, match="time_format"):
        parse_times(["01/02/2024", "03/04/2024"], errors="coerce")
    with pytest.raises(InvalidParameterError, match="'errors' parameter of parse_times"):
        parse_times([1.0], errors="ignore")


def test_score_frame_and_score_long_agree_across_forms():
    ref = None
    for kind in KINDS:
        frame = pd.DataFrame({"timestamp": _times(kind), "cpu": _values()})
        scores = score_frame(frame, metrics=["cpu"])["score"].to_numpy()
        long = score_long(pd.DataFrame({"series_id": "a", "timestamp": _times(kind), "value": _values()}))
        np.testing.assert_array_equal(scores, long["score"].to_numpy())
        if ref is None:
            ref = scores
        np.testing.assert_array_equal(scores, ref)
    assert ref is not None and ref[300:310].max() > 0.5


def test_predictor_run_and_fleet_keep_year_2300():
    iso = pd.DataFrame({"timestamp": _times("iso"), "cpu": _values()})
    ms = pd.DataFrame({"timestamp": _times("ms"), "cpu": _values()})
    a = IncidentPredictor().run(iso, metrics=["cpu"])
    b = IncidentPredictor().run(ms, metrics=["cpu"])
    assert a and [i.to_dict() for i in a] == [i.to_dict() for i in b]
    assert all(T2300 <= i.onset <= T2300 + 300 * N for i in a)
    fleet = pd.DataFrame({"series_id": "a", "timestamp": _times("iso"), "value": _values()})
    out = score_fleet(fleet, n_jobs=1)
    direct = score_long(fleet)
    np.testing.assert_array_equal(out["score"].to_numpy(), direct["score"].to_numpy())


def test_history_reads_times_with_the_same_parser():
    history = pd.DataFrame({
        "category": ["disk", "disk", "net"],
        "opened": ["2300-01-01T00:00:00Z", "2300-01-09T00:00:00+02:00", "01/02/2300"],
        "resolved": [T2300 + 3600, T2300 + 8 * 86400, None],
    })
    with pytest.raises(DataError, match="time_format"):  # a lone a/b/YYYY date reads both ways: refused
        incident_counts(history, time_col="opened", freq="W")
    history.loc[2, "opened"] = "2300-01-20"
    counts = incident_counts(history, by="category", time_col="opened", freq="W")
    assert counts["period"].astype(str).str.startswith("2300").all()
    hours = time_to_resolve(history, time_col="opened", resolved_col="resolved")
    assert hours["median_hours"].notna().any()


def test_nab_file_reads_year_2300_text_times():
    f = NABFile(["2300-01-01 00:00:00", "2300-01-01 00:05:00", "2300-01-01 00:10:00"], [1.0, 2.0, 3.0])
    assert str(f.timestamps[0]).startswith("2300-01-01")
    assert (np.diff(f.timestamps) == np.timedelta64(300, "s")).all()


def _ddmm(n: int = N) -> list[str]:
    """Day-first times whose days are all <= 12: they read both ways, so a format is needed."""
    t = pd.Timestamp("2024-03-01") + pd.to_timedelta(np.arange(n) * 60, unit="s")
    return [x.strftime("%d/%m/%Y %H:%M") for x in t]


def test_time_format_reaches_every_route():
    fmt = "%d/%m/%Y %H:%M"
    want = parse_times(_ddmm(), time_format=fmt)
    assert want[0] == pd.Timestamp("2024-03-01", tz="UTC").timestamp()
    wide = pd.DataFrame({"timestamp": _ddmm(), "cpu": _values()})
    long = pd.DataFrame({"series_id": "a", "timestamp": _ddmm(), "value": _values()})
    for call in (lambda: score_frame(wide, metrics=["cpu"]), lambda: score_long(long),
                 lambda: score_fleet(long, n_jobs=1), lambda: IncidentPredictor().run(wide, metrics=["cpu"])):
        with pytest.raises(DataError, match="time_format"):
            call()
    ref = score_frame(wide.assign(timestamp=want), metrics=["cpu"])["score"].to_numpy()
    np.testing.assert_array_equal(score_frame(wide, metrics=["cpu"], time_format=fmt)["score"].to_numpy(), ref)
    np.testing.assert_array_equal(score_long(long, time_format=fmt)["score"].to_numpy(), ref)
    np.testing.assert_array_equal(score_fleet(long, n_jobs=1, time_format=fmt)["score"].to_numpy(), ref)
    a = IncidentPredictor().run(wide, metrics=["cpu"], time_format=fmt)
    b = IncidentPredictor().run(wide.assign(timestamp=want), metrics=["cpu"])
    assert [i.to_dict() for i in a] == [i.to_dict() for i in b]


def test_cli_score_and_long_incidents_take_time_format(tmp_path, capsys):
    from incidentml.cli import main

    src = tmp_path / "fleet.csv"
    pd.DataFrame({"series_id": "a", "timestamp": _ddmm(), "value": _values()}).to_csv(src, index=False)
    out = tmp_path / "scored.csv"
    assert main(["score", "--input", str(src), "--output", str(out), "--workers", "1"]) == 2
    assert "--time-format" in capsys.readouterr().err  # ambiguous dates are refused, naming the option
    assert main(["score", "--input", str(src), "--output", str(out), "--workers", "1",
                 "--time-format", "%d/%m/%Y %H:%M"]) == 0
    scored = pd.read_csv(out)
    assert len(scored) == N and scored["score"].notna().all()
    inc = tmp_path / "inc.jsonl"
    assert main(["incidents", "--input", str(src), "--output", str(inc), "--series-col", "series_id",
                 "--workers", "1", "--time-format", "%d/%m/%Y %H:%M"]) == 0
    assert all(line.startswith('{"') for line in inc.read_text().splitlines())


def test_dates_that_read_the_same_both_ways_are_not_ambiguous():
    assert parse_times(["01/01/2024", "05/05/2024 10:00"]).tolist() == [
        pd.Timestamp("2024-01-01", tz="UTC").timestamp(), pd.Timestamp("2024-05-05 10:00", tz="UTC").timestamp()]
    with pytest.raises(DataError, match="'01/02/2024' \\(row 1\\)"):
        parse_times(["01/01/2024", "01/02/2024"])


def test_score_long_reads_the_time_column_once_as_the_fleet_does():
    """Day-first is decided from the whole column, not from each series' slice of it."""
    frame = pd.DataFrame({"series_id": ["a", "a", "b"], "timestamp": ["02/01/2000", "03/01/2000", "13/01/2000"],
                          "value": [1.0, 2.0, 3.0]})
    direct = score_long(frame)  # series 'a' alone reads both ways; the column says day-first
    fleet = score_fleet(frame, n_jobs=1)
    np.testing.assert_array_equal(direct["score"].to_numpy(), fleet["score"].to_numpy())
