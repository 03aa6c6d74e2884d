"""Fleet scoring: pandas, Dask and the one-point loop agree; incremental state resumes exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from incidentml import IncidentPredictor, make_detector, predict_incidents, score_fleet
from incidentml.exceptions import DataError, InvalidParameterError, ModelFileError, SchemaError, SkippedRowsWarning
from incidentml.fleet import FrameWriter, partition_of, score_files

T0 = pd.Timestamp("2024-03-01")


def fleet(n_series: int = 12, n_points: int = 400, seed: int = 0, per_host: int = 3) -> pd.DataFrame:
    """A small long-format fleet: hosts of ``per_host`` series, one level shift, shuffled rows."""
    rng = np.random.default_rng(seed)
    t = pd.date_range(T0, periods=n_points, freq="min")
    parts = []
    for i in range(n_series):
        v = rng.normal(50 + i, 1 + i % 3, n_points)
        if i % 4 == 1:
            v[int(n_points * 0.8):] += 15
        parts.append(pd.DataFrame({"entity": f"host-{i // per_host}", "series_id": f"host-{i // per_host}.m{i}",
                                   "timestamp": t, "value": v}))
    df = pd.concat(parts, ignore_index=True)
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def loop_scores(df: pd.DataFrame) -> pd.Series:
    """The reference: a fresh detector per series, score_one then learn_one in time order."""
    out = pd.Series(np.nan, index=df.index)
    for _, g in df.groupby("series_id"):
        det = make_detector("default")
        g = g.assign(secs=(g["timestamp"] - pd.Timestamp(0)).dt.total_seconds())
        g = g.sort_values(["secs", "value"], kind="stable")
        for idx, row in zip(g.index, g.itertuples(), strict=True):
            x = {"value": row.value}
            out[idx] = det.score_one(x, row.secs)
            det.learn_one(x, row.secs)
    return out


def test_pandas_equals_loop_and_is_independent_of_processes():
    """score_fleet on 1 or 2 processes gives the one-point loop's scores, in the input's row order and index."""
    df = fleet().set_axis(np.arange(1000, 1000 + 12 * 400))
    one = score_fleet(df, n_jobs=1)
    two = score_fleet(df, n_jobs=2, n_partitions=5)
    pd.testing.assert_frame_equal(one, two)
    assert list(one.index) == list(df.index)
    assert list(one.columns) == ["series_id", "timestamp", "value", "score", "is_anomaly"]
    np.testing.assert_allclose(one["score"].to_numpy(), loop_scores(df).to_numpy(), rtol=0, atol=1e-12)
    assert (one["is_anomaly"] == (one["score"] >= 0.5)).all()


def test_incidents_equal_the_update_loop():
    """predict_incidents gives the incidents of update(x, t, entity) once per entity and timestamp."""
    df = fleet(n_points=600)
    got = predict_incidents(df, entity_col="entity", n_jobs=2, n_partitions=3)
    pred = IncidentPredictor()
    wide = df.pivot_table(index=["entity", "timestamp"], columns="series_id", values="value", aggfunc="max")
    for (entity, ts), row in wide.iterrows():
        pred.update({k: v for k, v in row.items() if v == v}, ts.timestamp(), entity=entity)
    want = pd.DataFrame([i.to_dict() for i in pred.incidents()]).sort_values(["entity", "raised_at", "id"])
    assert len(got) > 0
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))


def test_incremental_state_equals_one_long_run(tmp_path):
    """Two batches with a state directory give the scores and incidents of one long run; old rows are reported."""
    df = fleet()
    cut = T0 + pd.Timedelta(minutes=250)
    first, second = df[df["timestamp"] < cut], df[df["timestamp"] >= cut]
    whole = score_fleet(df, n_jobs=1)
    a = score_fleet(first, state=tmp_path / "s", n_jobs=2)
    b = score_fleet(second, state=tmp_path / "s", n_jobs=1)
    resumed = pd.concat([a, b]).loc[df.index]
    np.testing.assert_array_equal(resumed["score"].to_numpy(), whole["score"].to_numpy())
    with pytest.warns(SkippedRowsWarning, match=r"4 row\(s\) were not used: 4 row\(s\) with a time not newer than"):
        again = score_fleet(second.iloc[:4], state=tmp_path / "s")
    assert again["score"].isna().all() and again.attrs["skipped"]["stale"] == 4
    with pytest.raises(DataError, match="strict=True"):
        score_fleet(second.iloc[:4], state=tmp_path / "s", strict=True)
    inc_whole = predict_incidents(df, entity_col="entity", n_jobs=1)
    predict_incidents(first, entity_col="entity", state=tmp_path / "i")
    inc_resumed = predict_incidents(second, entity_col="entity", state=tmp_path / "i")
    pd.testing.assert_frame_equal(inc_resumed, inc_whole)


def test_state_directory_refuses_other_settings(tmp_path):
    """A state made for one detector or job is refused for another, naming the directory."""
    df = fleet(n_series=2, n_points=100)
    score_fleet(df, state=tmp_path / "s", n_jobs=1)
    with pytest.raises(ModelFileError, match="other settings would mix two models"):
        score_fleet(df, detector="robust", state=tmp_path / "s", n_jobs=1)
    with pytest.raises(ModelFileError, match="not of 'incidents'"):
        predict_incidents(df, state=tmp_path / "s", n_jobs=1)


def test_bad_rows_and_parameters_are_reported():
    """Rows without a series or a time are not used and are counted; bad parameters are named."""
    df = fleet(n_series=2, n_points=60)
    df.loc[3, "series_id"] = None
    df.loc[5, "timestamp"] = None
    with pytest.warns(SkippedRowsWarning, match="no series id.*no timestamp"):
        out = score_fleet(df, n_jobs=1)
    assert out.attrs["skipped"] == {"no_series": 1, "no_time": 1, "stale": 0}
    assert np.isnan(out.loc[3, "score"]) and np.isnan(out.loc[5, "score"])
    with pytest.raises(InvalidParameterError, match="'threshold' parameter"):
        score_fleet(df, threshold=2.0)
    with pytest.raises(InvalidParameterError, match="'n_jobs' parameter"):
        score_fleet(df.dropna(), n_jobs=0)
    bad = df.dropna().astype({"value": object})
    bad.loc[bad.index[0], "value"] = "high"
    with pytest.raises(DataError, match="not a number"):
        score_fleet(bad, n_jobs=1)


def test_partitions_are_stable():
    """A key's partition depends only on its name and the number of partitions."""
    keys = [f"s{i}" for i in range(100)]
    np.testing.assert_array_equal(partition_of(keys, 7), partition_of(list(reversed(keys)), 7)[::-1])
    assert set(partition_of(keys, 7)) == set(range(7))


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_score_files_in_chunks_equals_in_memory(tmp_path, ext):
    """Files read in small chunks, with a glob, give the in-memory scores; the output appears atomically."""
    df = fleet().sort_values("timestamp", kind="stable").reset_index(drop=True)
    for k, rows in enumerate(np.array_split(np.arange(len(df)), 3)):
        part = df.iloc[rows]
        if ext == "csv":
            part.to_csv(tmp_path / f"in-{k}.csv", index=False)
        else:
            part.to_parquet(tmp_path / f"in-{k}.parquet", index=False)
    out_path = tmp_path / f"out.{ext}"
    summary = score_files(str(tmp_path / f"in-*.{ext}"), out_path, chunk_rows=700, n_jobs=2)
    got = pd.read_csv(out_path) if ext == "csv" else pd.read_parquet(out_path)
    assert summary["rows"] == len(df) and summary["series"] == 12
    want = score_fleet(df, n_jobs=1)
    np.testing.assert_allclose(got["score"].to_numpy(), want["score"].to_numpy(), atol=1e-12, rtol=0)
    assert not list(tmp_path.glob(".out*"))
    with pytest.raises(DataError, match="is also an input"):
        score_files(str(tmp_path / f"in-*.{ext}"), tmp_path / f"in-0.{ext}")


def test_frame_writer_leaves_nothing_on_failure(tmp_path):
    """A failure inside the block leaves the previous output untouched and no temporary file."""
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with FrameWriter(target) as w:
            w.write(pd.DataFrame({"a": [1, 2]}))
            raise RuntimeError("boom")
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_dask_needs_a_client_or_says_so():
    """Without an active client the error says how to start one."""
    dd = pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    from distributed import get_client

    try:
        get_client()
        pytest.skip("a client is active in this process")
    except ValueError:
        pass
    with pytest.raises(DataError, match="start one first"):
        score_fleet(dd.from_pandas(fleet(n_series=2, n_points=50), npartitions=1))


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c, \
            distributed.Client(c) as cl:
        yield cl


def test_dask_equals_pandas_on_a_local_cluster(client, tmp_path):
    """A dask DataFrame scored on a LocalCluster with worker processes gives the pandas answers."""
    dd = pytest.importorskip("dask.dataframe")
    df = fleet()
    want = score_fleet(df, n_jobs=1)
    got = score_fleet(dd.from_pandas(df, npartitions=4), n_partitions=8)
    key = ["series_id", "timestamp"]
    got = got.sort_values(key).reset_index(drop=True)
    want = want.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)
    inc = predict_incidents(dd.from_pandas(df, npartitions=3), entity_col="entity", n_partitions=4)
    inc_whole = predict_incidents(df, entity_col="entity", n_jobs=1)
    pd.testing.assert_frame_equal(inc, inc_whole)
    cut = T0 + pd.Timedelta(minutes=250)
    score_fleet(dd.from_pandas(df[df["timestamp"] < cut], npartitions=2), state=tmp_path / "s")
    rest = score_fleet(dd.from_pandas(df[df["timestamp"] >= cut], npartitions=2), state=tmp_path / "s")
    rest = rest.sort_values(key).reset_index(drop=True)
    tail = want[want["timestamp"] >= cut].reset_index(drop=True)
    np.testing.assert_array_equal(rest["score"].to_numpy(), tail["score"].to_numpy())
    by_series = df.sort_values(["series_id", "timestamp"]).reset_index(drop=True)  # whole series per partition
    from incidentml.fleet._api import _disjoint

    ddf = dd.from_pandas(by_series, npartitions=4)
    assert _disjoint(client, ddf["series_id"], "key", 64)  # scored without a shuffle
    direct = score_fleet(ddf).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(direct[want.columns], want, check_dtype=False)
    with pytest.raises(SchemaError, match="'host' \\(entity_col\\) is not in the Dask frame"):
        score_fleet(dd.from_pandas(df, npartitions=2), entity_col="host")
    early = df["timestamp"] < cut
    predict_incidents(dd.from_pandas(df[early], npartitions=2), entity_col="entity", state=tmp_path / "i")
    resumed = predict_incidents(dd.from_pandas(df[~early], npartitions=2), entity_col="entity", state=tmp_path / "i")
    pd.testing.assert_frame_equal(resumed, inc_whole)


# ------------------------------------------------------------------------------------ command line
def _cli(*args: object, **kw: object) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("incidentml")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=300, **kw)


def _write_batches(tmp_path: Path, n_series: int = 30, n_points: int = 800) -> tuple[Path, Path, pd.DataFrame]:
    df = fleet(n_series=n_series, n_points=n_points).sort_values(["timestamp", "series_id"]).reset_index(drop=True)
    cut = T0 + pd.Timedelta(minutes=int(n_points * 0.6))
    (tmp_path / "b1").mkdir()
    (tmp_path / "b2").mkdir()
    df[df["timestamp"] < cut].to_parquet(tmp_path / "b1" / "part-0.parquet", index=False)
    second = df[df["timestamp"] >= cut]
    half = len(second) // 2
    second.iloc[:half].to_parquet(tmp_path / "b2" / "part-0.parquet", index=False)
    second.iloc[half:].to_parquet(tmp_path / "b2" / "part-1.parquet", index=False)
    return tmp_path / "b1", tmp_path / "b2", df


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["series_id", "timestamp"]).reset_index(drop=True)


def test_cli_score_in_process_and_on_a_local_cluster(tmp_path):
    """`incidentml score` writes key columns + score + is_anomaly; --scheduler local gives the same answers."""
    b1, b2, df = _write_batches(tmp_path, n_series=12, n_points=300)
    r = _cli("score", "--input", f"{tmp_path}/b*/*.parquet", "--output", tmp_path / "a.parquet", "--entity-col",
             "entity", "--workers", 2)
    assert r.returncode == 0, r.stderr
    assert "scored 3600 rows of 12 series" in r.stderr
    a = pd.read_parquet(tmp_path / "a.parquet")
    assert list(a.columns) == ["series_id", "timestamp", "value", "entity", "score", "is_anomaly"]
    want = score_fleet(df, n_jobs=1)
    got = _sorted(a).merge(want, on=["series_id", "timestamp"], suffixes=("", "_want"))
    np.testing.assert_allclose(got["score"], got["score_want"], atol=1e-12, rtol=0)
    r = _cli("score", "--input", f"{tmp_path}/b*/*.parquet", "--output", tmp_path / "b.csv", "--scheduler", "local",
             "--workers", 2)
    assert r.returncode == 0, r.stderr
    assert "LocalCluster of 2 worker process(es)" in r.stderr
    b = pd.read_csv(tmp_path / "b.csv", parse_dates=["timestamp"])
    np.testing.assert_allclose(_sorted(b)["score"], _sorted(a)["score"], atol=1e-12, rtol=0)


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "--workers must be a positive"),
    (["--scheduler", "nowhere"], "neither 'local' nor an address"),
    (["--series-col", "host"], "no column 'host'"),
    (["--detector", "nope"], "unknown detector 'nope'"),
])
def test_cli_score_errors_are_one_line(tmp_path, args, message):
    """Bad options exit 2 with one line naming the option and the value."""
    b1, _, _ = _write_batches(tmp_path, n_series=2, n_points=50)
    r = _cli("score", "--input", b1, "--output", tmp_path / "o.parquet", *args)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_cli_incidents_long_format_resumes(tmp_path):
    """`incidentml incidents --series-col ... --state` over two batches gives the incidents of one run."""
    b1, b2, df = _write_batches(tmp_path, n_series=12, n_points=600)
    common = ["--series-col", "series_id", "--entity-col", "entity"]
    r = _cli("incidents", "--input", f"{tmp_path}/b*/*.parquet", "--output", tmp_path / "all.jsonl", *common)
    assert r.returncode == 0, r.stderr
    for batch in (b1, b2):
        r = _cli("incidents", "--input", batch, "--output", tmp_path / "inc.jsonl", "--state", tmp_path / "st", *common)
        assert r.returncode == 0, r.stderr
    whole = pd.read_json(tmp_path / "all.jsonl", lines=True)
    resumed = pd.read_json(tmp_path / "inc.jsonl", lines=True)
    assert len(whole) > 0
    pd.testing.assert_frame_equal(resumed, whole)


def test_kill_during_a_batch_then_resume_equals_one_long_run(tmp_path):
    """kill -9 in the middle of an incremental batch leaves the old output and state; the rerun is exact."""
    b1, b2, df = _write_batches(tmp_path, n_series=40, n_points=2000)
    state, out = tmp_path / "state", tmp_path / "out.parquet"
    r = _cli("score", "--input", b1, "--output", tmp_path / "first.parquet", "--state", state, "--workers", 1)
    assert r.returncode == 0, r.stderr
    out.write_bytes(b"previous output")
    exe = Path(sys.executable).with_name("incidentml")
    proc = subprocess.Popen([str(exe), "score", "--input", str(b2), "--output", str(out), "--state", str(state),
                             "--workers", "1", "--chunk-rows", "200"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.parquet.*")):  # the output is being written: the batch is mid-way
        assert proc.poll() is None, "the batch ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert out.read_bytes() == b"previous output"  # never a truncated file in its place
    assert (state / "CURRENT").read_text().strip() == "1"  # the batch did not commit
    r = _cli("score", "--input", b2, "--output", out, "--state", state, "--workers", 2)
    assert r.returncode == 0 and "0 row(s) not used" in r.stderr, r.stderr
    want = score_fleet(df, n_jobs=1)
    got = _sorted(pd.read_parquet(out)).merge(want, on=["series_id", "timestamp"], suffixes=("", "_want"))
    assert len(got) == len(df) - len(pd.read_parquet(tmp_path / "first.parquet"))
    np.testing.assert_array_equal(got["score"].to_numpy(), got["score_want"].to_numpy())
    r = _cli("score", "--input", b2, "--output", tmp_path / "again.parquet", "--state", state)
    assert r.returncode == 0 and f"{len(got)} row(s) not used" in r.stderr  # already learnt: reported
