"""Fleet scoring: ``incidentml score`` end to end on a generated fleet, next to river's HalfSpaceTrees loop.

A seeded fleet (default 2,000 series x 5,000 one-minute points = 10M points, 8 series per host) is
generated with vectorised numpy and written as Parquet files in the long format (``entity``,
``series_id``, ``timestamp``, ``value``) under ``--data-dir`` (``/tmp`` by default, cached between runs
and keyed by the parameters). Each series is one kind of host metric (cpu, memory, latency, requests,
errors, disk, network, queue) with its own level, daily cycle, noise and drift, and about 3% of the series
carry an injected anomaly (spike, level shift, noise burst or drop to zero).

What is timed, each run as a subprocess of the command line (read, score, write), wall clock from start
to exit, with the resident memory of the process and all its children (workers) summed every 0.1 s:

* ``incidentml score`` in-process (its default: all cores) and on a 2-worker dask LocalCluster
  (``--scheduler local --workers 2``); the two outputs must be identical (same rows after sorting by
  series and time, scores equal to 1e-12, same ``is_anomaly``);
* the same in-process run with ``--state DIR`` (every series' detector saved), then an incremental batch
  of ``--increment`` new points per series scored from (a copy of) that state, with and without state,
  in-process and on the LocalCluster; the same on a second, wider fleet (``--scale-series``, default
  20,000 series with a day of history), whose batch minus the command on one host's points without state
  (start-up, and the cluster's start and stop) gives the marginal cost of one series in a small batch;
  a batch resumed from the state must give the scores of one run over history and increment together;
* river's ``MinMaxScaler() | HalfSpaceTrees(seed=0)`` (defaults, the plain river baseline of
  ``detector_speed.py``) looping ``score_one`` + ``learn_one`` over a sample of the fleet's series in this
  process, extrapolated to the whole fleet;
* the pieces outside the command's scoring: start-up (``incidentml score --help``), reading the fleet
  with pandas/pyarrow and writing an output of the same size, in this process.

Each measurement is the median of ``--repeats`` interleaved rounds; nothing else heavy runs alongside.

Run: ``python benchmarks/fleet.py [--json PATH] [--quick] [--series N] [--points N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine_info, print_table, write_json  # noqa: E402

GOAL_RIVER_RATIO = 60.0
GOAL_PEAK_BYTES = 1.5e9
GOAL_OVERHEAD = 0.10
SCORE_ATOL = 1e-12
GENERATOR_VERSION = 2
KINDS = ("cpu", "memory", "latency", "requests", "errors", "disk", "network", "queue")
START = np.datetime64("2026-01-01T00:00:00", "ns")
MINUTE = np.timedelta64(60_000_000_000, "ns")


# --------------------------------------------------------------------------------------------- data


def _values(rng: np.random.Generator, kind: np.ndarray, n_points: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Values of ``len(kind)`` series x ``n_points`` minutes, and the anomalies injected into them."""
    n = len(kind)
    u = rng.uniform
    # per kind: level range, daily amplitude (relative), noise sd (relative), random-walk sd (relative)
    level_lo = np.array([5, 20, 20, 10, 0.2, 10, 1, 0.5])[kind]
    level_hi = np.array([60, 80, 400, 5000, 5, 70, 500, 20])[kind]
    amp_hi = np.array([0.5, 0.05, 0.3, 0.8, 0.6, 0.0, 0.7, 0.5])[kind]
    noise = np.array([0.08, 0.01, 0.15, 0.05, 0.0, 0.002, 0.1, 0.3])[kind] * u(0.5, 1.5, n)
    walk = np.array([0.002, 0.0015, 0.001, 0.001, 0.0, 0.0, 0.002, 0.002])[kind] * u(0, 1, n)
    level = np.exp(u(np.log(level_lo), np.log(level_hi)))
    amp = amp_hi * u(0.2, 1.0, n)
    phase = u(-0.5, 0.5, n) * np.pi  # peaks spread over a few hours around the same time of day
    minutes = np.arange(n_points, dtype=np.float64)
    cycle = 1.0 + amp[:, None] * np.sin(2 * np.pi * minutes[None, :] / 1440.0 + phase[:, None])
    eps = rng.standard_normal((n, n_points))
    x = level[:, None] * cycle
    is_lat = kind == KINDS.index("latency")
    x[is_lat] *= np.exp(noise[is_lat, None] * eps[is_lat])  # latency: multiplicative, right-skewed noise
    x[~is_lat] += (noise * level)[~is_lat, None] * eps[~is_lat]
    steps = rng.standard_normal((n, n_points)) * (walk * level)[:, None]
    x += np.cumsum(steps, axis=1)
    is_disk = kind == KINDS.index("disk")
    x[is_disk] += (u(0, 20, n) * level / (100.0 * n_points))[is_disk, None] * minutes[None, :]  # slow fill
    is_err = kind == KINDS.index("errors")
    x[is_err] = rng.poisson(np.maximum(x[is_err], 0.0)).astype(np.float64)  # counts
    is_req = kind == KINDS.index("requests")
    x[is_req] = np.round(x[is_req])
    anomalies: list[dict[str, Any]] = []
    for i in np.flatnonzero(rng.uniform(size=n) < 0.03):
        what = ("spike", "shift", "burst", "drop")[rng.integers(4)]
        start = int(rng.integers(int(0.3 * n_points), int(0.95 * n_points)))
        sd = float(np.std(np.diff(x[i, :start]))) or 1.0
        if what == "spike":
            length = int(rng.integers(1, 6))
            x[i, start:start + length] += rng.choice([-1, 1]) * u(8, 20) * sd + 0.5 * abs(level[i])
        elif what == "shift":
            length = n_points - start
            x[i, start:] += u(0.3, 1.0) * level[i]
        elif what == "burst":
            length = int(rng.integers(30, 121))
            x[i, start:start + length] += rng.standard_normal(len(x[i, start:start + length])) * 6 * sd
        else:
            length = int(rng.integers(10, 61))
            x[i, start:start + length] = 0.0
        anomalies.append({"row": int(i), "kind": what, "start": start, "length": int(min(length, n_points - start))})
    np.maximum(x, 0.0, out=x)
    pct = np.isin(kind, [KINDS.index("cpu"), KINDS.index("memory"), KINDS.index("disk")])
    x[pct] = np.minimum(x[pct], 100.0)
    return x, anomalies


def _table(names: np.ndarray, hosts: np.ndarray, values: np.ndarray, first_minute: int) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    n, m = values.shape
    idx = pa.array(np.repeat(np.arange(n, dtype=np.int32), m))
    ts = START + MINUTE * np.arange(first_minute, first_minute + m)
    return pa.table({"entity": pc.take(pa.array(hosts.tolist(), pa.string()), idx),
                     "series_id": pc.take(pa.array(names.tolist(), pa.string()), idx),
                     "timestamp": pa.array(np.tile(ts, n), pa.timestamp("ns")),
                     "value": pa.array(values.ravel())})


def fleet(root: Path, *, n_series: int, n_points: int, increment: int, per_host: int, n_files: int,
          seed: int) -> Path:
    """The cached fleet folder (``fleet/part-*.parquet``, ``increment/part-*.parquet``, ``meta.json``)."""
    import pyarrow.parquet as pq

    key = f"fleet-v{GENERATOR_VERSION}-s{n_series}-p{n_points}-i{increment}-h{per_host}-f{n_files}-seed{seed}"
    out = root / key
    if (out / "meta.json").exists():
        return out
    tmp = root / f".{key}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "fleet").mkdir(parents=True)
    (tmp / "increment").mkdir()
    start = time.perf_counter()
    n_hosts = -(-n_series // per_host)
    host_bounds = np.linspace(0, n_hosts, min(n_files, n_hosts) + 1).round().astype(int)
    anomalies = []
    for k, (h0, h1) in enumerate(zip(host_bounds[:-1], host_bounds[1:], strict=True)):
        rows = np.arange(h0 * per_host, min(h1 * per_host, n_series))
        kind = rows % per_host % len(KINDS)
        host = rows // per_host
        hosts = np.array([f"host-{h:05d}" for h in host])
        names = np.array([f"{hs}/{KINDS[c]}" + (f"-{j // len(KINDS)}" if j >= len(KINDS) else "")
                          for hs, c, j in zip(hosts, kind, rows % per_host, strict=True)])
        values, injected = _values(np.random.default_rng([seed, k]), kind, n_points + increment)
        pq.write_table(_table(names, hosts, values[:, :n_points], 0), tmp / "fleet" / f"part-{k:02d}.parquet")
        pq.write_table(_table(names, hosts, values[:, n_points:], n_points),
                       tmp / "increment" / f"part-{k:02d}.parquet")
        anomalies += [{**a, "series_id": str(names[a.pop("row")])} for a in injected if a["start"] < n_points]
    (tmp / "anomalies.json").write_text(json.dumps(anomalies))
    meta = {"series": n_series, "points": n_points, "increment": increment, "per_host": per_host,
            "files": len(host_bounds) - 1, "seed": seed, "generator_version": GENERATOR_VERSION,
            "generated_in_s": time.perf_counter() - start, "injected_anomalies": len(anomalies)}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    try:
        tmp.rename(out)
    except OSError:  # another run made it first
        shutil.rmtree(tmp, ignore_errors=True)
    return out


# ------------------------------------------------------------------------------------------ running


def _tree_memory(proc: Any) -> tuple[int, int, int]:
    """Summed RSS and PSS (shared pages split between the processes sharing them) of ``proc`` and its children."""
    import psutil

    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0, 0, 0
    rss = pss = 0
    for p in procs:
        try:
            mem = p.memory_full_info()
            rss += mem.rss
            pss += getattr(mem, "pss", mem.rss)
        except psutil.Error:
            pass
    return rss, pss, len(procs)


def run_cli(cmd: list[str], log: Path, *, poll: float = 0.1, timeout: float = 3600.0) -> dict[str, Any]:
    """Run ``cmd``; wall seconds, the peak of the summed RSS of its process tree, and its exit code."""
    import psutil

    peak = [0, 0, 0]
    done = threading.Event()
    with open(log, "wb") as err:
        start = time.perf_counter()
        popen = subprocess.Popen(cmd, stdout=err, stderr=subprocess.STDOUT)
        proc = psutil.Process(popen.pid)

        def sample() -> None:
            while not done.is_set():
                rss, pss, n = _tree_memory(proc)
                peak[0], peak[1], peak[2] = max(peak[0], rss), max(peak[1], pss), max(peak[2], n)
                done.wait(poll)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            code = popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            code = popen.wait()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    text = log.read_text(errors="replace")
    return {"cmd": cmd[1:], "wall_s": wall, "peak_rss_bytes": peak[0], "peak_pss_bytes": peak[1],
            "max_processes": peak[2], "returncode": code,
            "log_tail": text[-1500:]}


def river_loop(files: list[Path], n_series: int, n_points: int) -> dict[str, Any]:
    """river's MinMaxScaler | HalfSpaceTrees looping score_one + learn_one over ``n_series`` of the fleet."""
    import pyarrow.dataset as ds
    from river import anomaly, preprocessing

    table = ds.dataset([str(f) for f in files], format="parquet").to_table(columns=["series_id", "value"])
    frame = table.to_pandas()
    ids = frame["series_id"].unique()
    pick = ids[np.linspace(0, len(ids) - 1, min(n_series, len(ids))).round().astype(int)]
    series = [frame.loc[frame["series_id"] == s, "value"].to_numpy()[:n_points].tolist() for s in pick]
    points = sum(len(s) for s in series)
    start = time.perf_counter()
    for values in series:
        model = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=0)
        for v in values:
            x = {"value": v}
            model.score_one(x)
            model.learn_one(x)
    wall = time.perf_counter() - start
    return {"series": len(series), "points": points, "wall_s": wall, "points_per_s": points / wall}


def io_costs(files: list[Path], out: Path, scratch: Path) -> dict[str, float]:
    """Seconds to read the fleet into pandas and to write a frame like the command's output (this process)."""
    start = time.perf_counter()
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    read = time.perf_counter() - start
    result = pd.read_parquet(out) if out.exists() else frame.assign(score=0.0, is_anomaly=False)
    start = time.perf_counter()
    result.to_parquet(scratch / "write-test.parquet", index=False)
    write = time.perf_counter() - start
    (scratch / "write-test.parquet").unlink()
    return {"read_s": read, "write_s": write, "rows": float(len(frame))}


def compare(a: Path | pd.DataFrame, b: Path | pd.DataFrame, *, keys: list[str]) -> dict[str, Any]:
    """Whether two outputs hold the same rows (sorted by ``keys``), scores to 1e-12 and is_anomaly."""
    x = (a if isinstance(a, pd.DataFrame) else pd.read_parquet(a)).sort_values(keys, kind="stable", ignore_index=True)
    y = (b if isinstance(b, pd.DataFrame) else pd.read_parquet(b)).sort_values(keys, kind="stable", ignore_index=True)
    res: dict[str, Any] = {"rows": [len(x), len(y)], "columns": [list(x.columns), list(y.columns)]}
    if len(x) != len(y) or not all(x[k].equals(y[k]) for k in keys):
        res.update(identical=False, reason="different rows")
        return res
    sx, sy = x["score"].to_numpy(dtype=float), y["score"].to_numpy(dtype=float)
    close = np.isclose(sx, sy, rtol=0.0, atol=SCORE_ATOL, equal_nan=True)
    flags = x["is_anomaly"].to_numpy(dtype=bool) == y["is_anomaly"].to_numpy(dtype=bool)
    diff = np.abs(sx - sy)
    res.update(identical=bool(close.all() and flags.all()), score_mismatches=int((~close).sum()),
               is_anomaly_mismatches=int((~flags).sum()),
               max_abs_score_diff=float(np.nanmax(diff)) if np.isfinite(diff).any() else 0.0)
    return res


def check_output(out: Path, n_rows: int, key_cols: list[str]) -> dict[str, Any]:
    """The output contract: the input's rows and key columns plus score and is_anomaly."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(out)
    rows = pq.ParquetFile(out).metadata.num_rows if out.is_file() else None
    missing = [c for c in (*key_cols, "score", "is_anomaly") if c not in schema.names]
    return {"rows": rows, "columns": schema.names, "missing_columns": missing,
            "ok": not missing and rows == n_rows}


def sanity(out: Path, data: Path) -> dict[str, Any]:
    """How many injected anomalies have a flagged point within 10 minutes after their start, and the flag rate."""
    res = pd.read_parquet(out, columns=["series_id", "timestamp", "is_anomaly"])
    flagged = res[res["is_anomaly"]]
    minute = ((flagged["timestamp"] - pd.Timestamp(START)) // pd.Timedelta(minutes=1)).to_numpy()
    by_series: dict[str, np.ndarray] = {}
    for sid, m in zip(flagged["series_id"].to_numpy(), minute, strict=True):
        by_series.setdefault(sid, []).append(m)  # type: ignore[attr-defined]
    injected = json.loads((data / "anomalies.json").read_text())
    caught = sum(any(a["start"] <= m < a["start"] + max(a["length"], 1) + 10 for m in by_series.get(a["series_id"], []))
                 for a in injected)
    return {"flagged_share": float(res["is_anomaly"].mean()), "injected": len(injected), "caught_within_10min": caught}


# --------------------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--quick", action="store_true", help="200 series x 2,000 points, one round")
    ap.add_argument("--series", type=int, default=None, help="series in the fleet (default 2,000)")
    ap.add_argument("--points", type=int, default=None, help="points per series (default 5,000)")
    ap.add_argument("--increment", type=int, default=5, help="new points per series in the incremental batch")
    ap.add_argument("--per-host", type=int, default=8, help="series per entity (host)")
    ap.add_argument("--files", type=int, default=8, help="Parquet files the fleet is written as")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=None, help="interleaved rounds (default 3, quick 1)")
    ap.add_argument("--river-series", type=int, default=20, help="series in river's HalfSpaceTrees loop")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    ap.add_argument("--detector", default=None, help="passed as --detector (default: the command's default)")
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/incidentml-fleet"),
                    help="where the generated fleet is cached and outputs are written (never the repository)")
    ap.add_argument("--cli", default=str(REPO / ".venv" / "bin" / "incidentml"), help="the incidentml executable")
    ap.add_argument("--no-local", action="store_true", help="skip the LocalCluster runs")
    ap.add_argument("--scale-series", type=int, default=None,
                    help="series of the second fleet, whose incremental batch gives the per-series cost "
                         "(default 20,000)")
    ap.add_argument("--scale-history", type=int, default=None, help="its points of history (default 1,440: a day)")
    ap.add_argument("--no-scale", action="store_true", help="skip the second fleet")
    args = ap.parse_args(argv)
    n_scale = args.scale_series or (2_000 if args.quick else 20_000)
    scale_history = args.scale_history or (500 if args.quick else 1_440)
    n_series = args.series or (200 if args.quick else 2_000)
    n_points = args.points or (2_000 if args.quick else 5_000)
    repeats = args.repeats or (1 if args.quick else 3)
    n_total = n_series * n_points

    start = time.perf_counter()
    data = fleet(args.data_dir / "data", n_series=n_series, n_points=n_points, increment=args.increment,
                 per_host=args.per_host, n_files=args.files, seed=args.seed)
    meta = json.loads((data / "meta.json").read_text())
    print(f"fleet: {n_series:,} series x {n_points:,} points = {n_total:,} points in {meta['files']} files at {data} "
          f"(generated in {meta['generated_in_s']:.1f} s; ready after {time.perf_counter() - start:.1f} s)")
    files = sorted((data / "fleet").glob("*.parquet"))
    work = args.data_dir / "runs" / f"{data.name}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    # one host's increment: the fixed cost of a batch, to take off the whole fleet's increment
    import pyarrow.parquet as pq

    tiny_dir = work / "increment-one-host"
    tiny_dir.mkdir()
    first = pq.read_table(sorted((data / "increment").glob("*.parquet"))[0]).to_pandas()
    tiny = first[first["entity"] == first["entity"].iloc[0]]
    tiny.to_parquet(tiny_dir / "part-00.parquet", index=False)
    n_tiny = int(tiny["series_id"].nunique())

    cli = [args.cli, "score"]
    common = ["--series-col", "series_id", "--time-col", "timestamp", "--value-col", "value", "--entity-col", "entity"]
    if args.detector:
        common += ["--detector", args.detector]
    local = ["--scheduler", "local", "--workers", str(args.workers)]
    fleet_glob = str(data / "fleet" / "*.parquet")
    inc_glob = str(data / "increment" / "*.parquet")
    tiny_glob = str(tiny_dir / "*.parquet")

    have = subprocess.run([*cli, "--help"], capture_output=True, text=True)
    has_cli = have.returncode == 0
    if not has_cli:
        print(f"`{' '.join(cli)}` is not available yet ({have.stderr.strip()[:200]}): measuring river and I/O only")

    runs: dict[str, list[dict[str, Any]]] = {}
    river: list[dict[str, Any]] = []
    startup: list[float] = []

    def run(name: str, inp: str, out: Path, *extra: str, state: Path | None = None) -> dict[str, Any]:
        if out.exists():
            out.unlink()
        cmd = [*cli, "--input", inp, "--output", str(out), *common, *extra]
        if state is not None:
            cmd += ["--state", str(state)]
        r = run_cli(cmd, work / f"{name}.log")
        runs.setdefault(name, []).append(r)
        status = "ok" if r["returncode"] == 0 else f"FAILED ({r['returncode']}): {r['log_tail'][-400:]}"
        print(f"  {name}: {r['wall_s']:.2f} s, peak {r['peak_rss_bytes'] / 1e9:.2f} GB, {status}", flush=True)
        return r

    def fresh_state(template: Path, name: str) -> Path:
        """A copy of the state saved by a history run, so that every incremental batch starts from it."""
        dst = work / f"state-{name}"
        shutil.rmtree(dst, ignore_errors=True)
        if template.exists():
            shutil.copytree(template, dst)
        return dst

    # a wider fleet with one day of history: the per-series cost of a small incremental batch, measured
    # on many more series than the main fleet's (whose increment is too small to separate from start-up)
    scale, scale_state = None, work / "scale-state"
    if has_cli and not args.no_scale:
        scale = fleet(args.data_dir / "data", n_series=n_scale, n_points=scale_history, increment=args.increment,
                      per_host=args.per_host, n_files=args.files, seed=args.seed + 1)
        print(f"scaling fleet for the incremental batches: {n_scale:,} series x {scale_history:,} points at {scale}")
        run("scale_history_save_state", str(scale / "fleet" / "*.parquet"), work / "scale_history.parquet",
            state=scale_state)
        (work / "scale_history.parquet").unlink(missing_ok=True)
    scale_glob = str(scale / "increment" / "*.parquet") if scale else ""

    checks: dict[str, Any] = {}
    keys = ["series_id", "timestamp"]
    for rnd in range(repeats):
        print(f"round {rnd + 1}/{repeats}", flush=True)
        river.append(river_loop(files, args.river_series, n_points))
        print(f"  river HalfSpaceTrees loop: {river[-1]['points_per_s']:,.0f} points/s", flush=True)
        if not has_cli:
            continue
        t0 = time.perf_counter()
        subprocess.run([*cli, "--help"], capture_output=True)
        startup.append(time.perf_counter() - t0)
        run("in_process", fleet_glob, work / "in_process.parquet")
        if not args.no_local:
            run("local_cluster", fleet_glob, work / "local_cluster.parquet", *local)
        state = work / "state"
        shutil.rmtree(state, ignore_errors=True)
        run("in_process_save_state", fleet_glob, work / "with_state.parquet", state=state)
        run("inc_in_process", inc_glob, work / "inc_in_process.parquet", state=fresh_state(state, "inc"))
        run("inc_in_process_one_host", tiny_glob, work / "inc_tiny.parquet", state=fresh_state(state, "tiny"))
        run("inc_in_process_no_state", inc_glob, work / "inc_no_state.parquet")
        run("one_host_no_state", tiny_glob, work / "tiny_no_state.parquet")
        if not args.no_local:
            run("inc_local", inc_glob, work / "inc_local.parquet", *local, state=fresh_state(state, "inc_local"))
            run("inc_local_one_host", tiny_glob, work / "inc_local_tiny.parquet", *local,
                state=fresh_state(state, "tiny_local"))
            run("one_host_no_state_local", tiny_glob, work / "tiny_no_state_local.parquet", *local)
        if scale:
            run("scale_inc_in_process", scale_glob, work / "scale_inc.parquet", state=fresh_state(scale_state, "s"))
            run("scale_inc_in_process_no_state", scale_glob, work / "scale_inc_no_state.parquet")
            if not args.no_local:
                run("scale_inc_local", scale_glob, work / "scale_inc_local.parquet", *local,
                    state=fresh_state(scale_state, "s_local"))
                run("scale_inc_local_no_state", scale_glob, work / "scale_inc_local_no_state.parquet", *local)
        if rnd == 0:
            checks["in_process_output"] = check_output(work / "in_process.parquet", n_total,
                                                       ["entity", "series_id", "timestamp"])
            checks["with_state_vs_without"] = compare(work / "in_process.parquet", work / "with_state.parquet",
                                                      keys=keys)
            if not args.no_local:
                checks["local_vs_in_process"] = compare(work / "in_process.parquet", work / "local_cluster.parquet",
                                                        keys=keys)
                checks["inc_local_vs_in_process"] = compare(work / "inc_in_process.parquet",
                                                            work / "inc_local.parquet", keys=keys)
                if scale:
                    checks["scale_inc_local_vs_in_process"] = compare(work / "scale_inc.parquet",
                                                                      work / "scale_inc_local.parquet", keys=keys)
            # resuming from the state gives the scores of one run over the history and the increment together
            both = work / "one-run-input"
            both.mkdir(exist_ok=True)
            pd.concat([pd.read_parquet(files[0]), pd.read_parquet(sorted((data / "increment").glob("*.parquet"))[0])],
                      ignore_index=True).to_parquet(both / "part-00.parquet", index=False)
            run("one_run_history_and_increment", str(both / "*.parquet"), work / "one_run.parquet")
            cols = [*keys, "score", "is_anomaly"]
            whole = pd.read_parquet(work / "one_run.parquet", columns=cols)
            whole = whole[whole["timestamp"] >= pd.Timestamp(START + MINUTE * n_points)]
            resumed = pd.read_parquet(work / "inc_in_process.parquet", columns=cols)
            resumed = resumed[resumed["series_id"].isin(set(whole["series_id"]))]
            checks["incremental_vs_one_run"] = compare(whole, resumed, keys=keys)
            checks["injected_anomalies"] = sanity(work / "in_process.parquet", data)
            print("  checks:", json.dumps({k: v.get("identical", v.get("ok")) for k, v in checks.items()}), flush=True)
    io = io_costs(files, work / "in_process.parquet", work)

    def med(name: str) -> float | None:
        walls = [r["wall_s"] for r in runs.get(name, []) if r["returncode"] == 0]
        return statistics.median(walls) if walls else None

    def peak(name: str, what: str = "rss") -> float | None:
        ps = [r[f"peak_{what}_bytes"] for r in runs.get(name, []) if r["returncode"] == 0]
        return max(ps) / 1e9 if ps else None

    river_rate = statistics.median(r["points_per_s"] for r in river)
    rows: list[dict[str, Any]] = [{"route": "river HalfSpaceTrees loop (extrapolated)", "wall_s": n_total / river_rate,
                                   "points_per_s": river_rate, "ratio_to_river": 1.0}]
    for name, label in (("in_process", "incidentml score, in-process"),
                        ("local_cluster", f"incidentml score, LocalCluster {args.workers} workers"),
                        ("in_process_save_state", "in-process + --state (state saved)")):
        wall = med(name)
        if wall is not None:
            rows.append({"route": label, "wall_s": wall, "points_per_s": n_total / wall,
                         "ratio_to_river": n_total / wall / river_rate, "peak_rss_gb": peak(name),
                         "peak_pss_gb": peak(name, "pss")})
    print(f"\nFleet scoring end to end ({n_series:,} series x {n_points:,} points; median of {repeats}; "
          f"{os.cpu_count()} cores)")
    print_table(rows, ["route", "wall_s", "points_per_s", "ratio_to_river", "peak_rss_gb", "peak_pss_gb"])

    inc_rows = []
    for name, label, series in (("inc_in_process", "in-process, state", n_series),
                                ("inc_in_process_one_host", "in-process, state, one host", n_tiny),
                                ("inc_in_process_no_state", "in-process, no state", n_series),
                                ("one_host_no_state", "in-process, no state, one host", n_tiny),
                                ("inc_local", f"LocalCluster {args.workers}, state", n_series),
                                ("inc_local_one_host", f"LocalCluster {args.workers}, state, one host", n_tiny),
                                ("one_host_no_state_local", f"LocalCluster {args.workers}, no state, one host",
                                 n_tiny),
                                ("scale_inc_in_process", "in-process, state", n_scale),
                                ("scale_inc_in_process_no_state", "in-process, no state", n_scale),
                                ("scale_inc_local", f"LocalCluster {args.workers}, state", n_scale),
                                ("scale_inc_local_no_state", f"LocalCluster {args.workers}, no state", n_scale)):
        wall = med(name)
        if wall is not None:
            inc_rows.append({"run": name, "batch": label, "series": series, "points": series * args.increment,
                             "wall_s": wall, "ms_per_series": wall / series * 1e3, "peak_rss_gb": peak(name)})
    incremental: dict[str, Any] = {}
    workers_of = {"in_process": os.cpu_count() or 1, "local_cluster": args.workers}
    # marginal cost of a series: the batch minus the command on one host's points without state (start-up,
    # imports, kernels, and for the LocalCluster its start and stop), over the series
    for route, full, one, size in (("in_process", "inc_in_process", "one_host_no_state", n_series),
                                   ("local_cluster", "inc_local", "one_host_no_state_local", n_series),
                                   ("in_process", "scale_inc_in_process", "one_host_no_state", n_scale),
                                   ("local_cluster", "scale_inc_local", "one_host_no_state_local", n_scale)):
        f, o = med(full), med(one)
        if f is None or o is None:
            continue
        marginal = (f - o) / (size - n_tiny)
        no_state = med(full.replace("inc_in_process", "inc_in_process_no_state").replace("inc_local",
                                                                                          "inc_local_no_state"))
        incremental[f"{route}_{size}_series"] = {
            "series": size, "batch_wall_s": f, "wall_per_series_ms": f / size * 1e3, "fixed_s": o,
            "marginal_ms_per_series": marginal * 1e3,
            "marginal_worker_ms_per_series": marginal * workers_of[route] * 1e3,
            "state_load_save_ms_per_series": None if no_state is None else (f - no_state) / size * 1e3}
    if inc_rows:
        print(f"\nIncremental batches: {args.increment} new points per series, scored from the saved state "
              f"({n_series:,}-series fleet; {n_scale:,}-series fleet with {scale_history:,} points of history)")
        print_table(inc_rows, ["batch", "series", "points", "wall_s", "ms_per_series", "peak_rss_gb"])
        for key, v in incremental.items():
            state_part = v["state_load_save_ms_per_series"]
            print(f"  {key}: {v['wall_per_series_ms']:.3f} ms per series in all; marginal "
                  f"{v['marginal_ms_per_series']:.3f} ms ({v['marginal_worker_ms_per_series']:.3f} worker-ms)"
                  + ("" if state_part is None else f", state load + save {state_part:.3f} ms"))

    start_s = statistics.median(startup) if startup else None
    fixed = med("one_host_no_state")  # start-up, imports, kernels: the command on one host's 5 points
    costs: dict[str, Any] = {"help_s": start_s, "fixed_s": fixed, "read_s": io["read_s"], "write_s": io["write_s"]}
    if med("in_process") is not None and fixed is not None:
        costs["score_s"] = med("in_process") - fixed - io["read_s"] - io["write_s"]  # type: ignore[operator]
        if med("in_process_save_state") is not None:
            costs["state_save_s"] = med("in_process_save_state") - med("in_process")  # type: ignore[operator]
    cluster_start = None  # starting and stopping the LocalCluster: one host's batch, cluster minus in-process
    if med("one_host_no_state_local") is not None and fixed is not None:
        cluster_start = med("one_host_no_state_local") - fixed  # type: ignore[operator]
        costs["cluster_start_stop_s"] = cluster_start
    print("\nwhere the time goes (full fleet, in-process, s):",
          ", ".join(f"{k} {v:.2f}" for k, v in costs.items() if v is not None))
    inc_costs: dict[str, Any] = {}
    s_state, s_plain = med("scale_inc_in_process"), med("scale_inc_in_process_no_state")
    if s_state is not None and s_plain is not None and fixed is not None:
        inc_costs = {"series": n_scale, "fixed_s": fixed, "read_score_write_s": s_plain - fixed,
                     "state_load_save_s": s_state - s_plain, "total_s": s_state}
        print(f"where the time goes ({n_scale:,}-series incremental batch, in-process, s):",
              ", ".join(f"{k} {v:.2f}" for k, v in inc_costs.items() if k != "series"))

    goals: dict[str, Any] = {}
    inproc, loc = med("in_process"), med("local_cluster")
    if inproc is not None:
        ratio = n_total / inproc / river_rate
        goals["in-process >= 60x river loop"] = {"value": ratio, "met": ratio >= GOAL_RIVER_RATIO}
        peaks = {name: peak(name) for name in ("in_process", "local_cluster") if peak(name) is not None}
        worst = max(peaks.values())  # type: ignore[type-var]
        goals["peak memory < 1.5 GB"] = {"value_gb": worst, "by_route_gb": peaks, "met": worst < GOAL_PEAK_BYTES / 1e9}
    if "local_vs_in_process" in checks:
        goals["LocalCluster results identical"] = {"value": checks["local_vs_in_process"].get("max_abs_score_diff"),
                                                   "met": checks["local_vs_in_process"]["identical"]}
    overhead = overhead_running = None
    if inproc is not None and loc is not None:
        overhead = (loc / n_total - inproc / n_total) / (inproc / n_total)
        goals[f"scheduler overhead < 10% ({args.workers} workers)"] = {"value": overhead,
                                                                        "met": overhead < GOAL_OVERHEAD}
        if cluster_start is not None:
            overhead_running = (loc - cluster_start - inproc) / inproc
            print(f"scheduler overhead: {overhead:.1%}; without the cluster's start and stop ({cluster_start:.1f} s): "
                  f"{overhead_running:.1%}")
    if goals:
        print("goals:", "; ".join(f"{k}: {'met' if v['met'] else 'MISSED'} ({next(iter(v.values())):.3g})"
                                  for k, v in goals.items()))
    else:
        print("goals: not measured (the score command is not available)")

    estimate = None
    key = f"local_cluster_{n_scale}_series" if f"local_cluster_{n_scale}_series" in incremental \
        else f"local_cluster_{n_series}_series"
    if key in incremental and loc is not None:
        per_series = incremental[key]["marginal_worker_ms_per_series"] / 1e3  # worker-seconds per series per batch
        busy = 1_000_000 * per_series
        per_worker = n_total / (loc - (cluster_start or 0.0)) / args.workers
        in_key = key.replace("local_cluster", "in_process")
        in_busy = (1_000_000 * incremental[in_key]["marginal_worker_ms_per_series"] / 1e3
                   if in_key in incremental else None)
        estimate = {"series": 1_000_000, "points_per_batch": 1_000_000 * args.increment, "batch_every_s": 300,
                    "from": key, "worker_s_per_series": per_series, "worker_s_per_batch": busy,
                    "workers_fully_busy": busy / 300, "workers_at_50pct_load": busy / 150,
                    "per_worker_points_per_s_full_history": per_worker,
                    "workers_if_only_points_counted": 1_000_000 * args.increment / per_worker / 300,
                    "in_process_core_s_per_batch": in_busy}
        print(f"1M series every 5 min ({key}): {busy:,.0f} worker-s per batch -> {busy / 300:.1f} workers fully "
              f"busy, {busy / 150:.1f} at 50% load (points alone, at {per_worker:,.0f} points/s per worker: "
              f"{estimate['workers_if_only_points_counted']:.2f}; in-process route: "
              + ("n/a" if in_busy is None else f"{in_busy:,.0f} core-s, {in_busy / 300:.1f} cores") + ")")

    for f in [*work.glob("*.parquet"), *work.glob("state*"), *work.glob("scale-state")]:
        shutil.rmtree(f, ignore_errors=True) if f.is_dir() else f.unlink()
    write_json({"benchmark": "fleet", "series": n_series, "points": n_points, "total_points": n_total,
                "increment": args.increment, "repeats": repeats, "workers": args.workers, "detector": args.detector,
                "data": {**meta, "path": str(data)}, "scale_fleet": {"series": n_scale, "history": scale_history,
                                                                     "path": str(scale) if scale else None},
                "score_command_available": has_cli, "results": rows,
                "incremental": {"rows": inc_rows, **incremental}, "costs": costs, "incremental_costs": inc_costs,
                "river": {"model": "MinMaxScaler() | HalfSpaceTrees(seed=0)", "rounds": river},
                "checks": checks, "scheduler_overhead": overhead,
                "scheduler_overhead_without_cluster_start": overhead_running, "goals": goals,
                "estimate_1m_series": estimate, "runs": runs, "machine": machine_info()}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
