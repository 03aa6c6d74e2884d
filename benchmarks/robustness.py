"""Robustness: bad inputs and faults thrown at the library and the command line, each outcome classified.

Every case is generated from one seeded generator and ends in exactly one outcome:

* ``result``: the answer is right (or the documented result says what was not used);
* ``error``: a clear error: exit status 2 and one line on stderr (CLI), or an ``IncidentMLError`` (API);
* ``silent_wrong``: a wrong answer without a word (the worst outcome);
* ``data_lost``: an input, a previous output or a saved model was changed or destroyed;
* ``crash``: a traceback, a status other than 0/2, a hang past the time limit, or an error from inside
  pandas/numpy/scikit-learn instead of the library's own.

Input kinds: metric cells (``detect``), timestamps (``incidents``), single huge values (every detector),
output files (``detect`` onto its input, a symlink, kill -9 while writing), model files (bit flips, a
crafted payload, an empty key) and triage labels (``evaluate``). Goals: 0 crashes, 0 silent wrong
answers, 0 data lost.

Run from the repository root (no ../shared needed)::

    python benchmarks/robustness.py --json benchmarks/results/robustness.json [--cases 20]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, print_table, write_json  # noqa: E402

from incidentml import TriageModel, make_detector  # noqa: E402
from incidentml.anomaly import DEFAULT_THRESHOLD, available_detectors  # noqa: E402
from incidentml.cli import main as cli_main  # noqa: E402
from incidentml.datasets import make_tickets  # noqa: E402
from incidentml.exceptions import IncidentMLError  # noqa: E402

OUTCOMES = ("result", "error", "silent_wrong", "data_lost", "crash")
STEP = 60.0


def run_cli(*args: Any) -> tuple[int, str, str]:
    """The command line in-process: status, stdout, stderr (warnings shown as the CLI shows them)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli_main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            rc = int(exc.code or 0)
    return rc, out.getvalue(), err.getvalue()


def cli_outcome(rc: int, err: str) -> str | None:
    """``crash`` or ``error`` from the status and stderr alone; None when the command succeeded."""
    if "Traceback" in err or "unexpected" in err or rc not in (0, 2):
        return "crash"
    if rc == 2:
        lines = [ln for ln in err.strip().splitlines() if ln.startswith("incidentml: error")]
        return "error" if len(lines) == 1 else "crash"
    return None


def metric_frame(rng: np.random.Generator, n: int = 900, k: int = 3, spike_at: int = 700) -> pd.DataFrame:
    """``k`` noisy metrics a minute apart; from ``spike_at`` m1 jumps by 25 sigma and m2 by 10 for 30 rows."""
    t = pd.date_range("2024-01-01", periods=n, freq="1min")
    x = 50 + rng.normal(0, 1, (n, k))
    x[spike_at:spike_at + 30, 0] += 25
    x[spike_at + 2:spike_at + 30, 1] += 10
    frame = pd.DataFrame(x, columns=[f"m{i + 1}" for i in range(k)])
    frame.insert(0, "timestamp", t.strftime("%Y-%m-%dT%H:%M:%S"))
    return frame


# ---------------------------------------------------------------------------------------------- kinds
def _names_m1(scored: pd.DataFrame) -> bool:
    during = scored.iloc[700:730]
    return bool(during["is_anomaly"].any()) and "m1" in set(during.loc[during["is_anomaly"], "top_metric"].astype(str))


def metric_cells(rng: np.random.Generator, n_cases: int, tmp: Path) -> list[dict[str, Any]]:
    """One bad cell in a metric column of ``detect``'s input: the answer must be the clean input's.

    The fault (rows 700-730, led by m1) counts as caught when a flagged row names m1; a case is a
    silent wrong answer when the clean input catches it and the input with the bad cell does not.
    """
    bad = ["NaN", "None", "abc", "", "inf", "-inf", "1e308", "-1e308", "nan", "NULL"]
    rows = []
    for i in range(n_cases):
        frame = metric_frame(rng)
        cell = bad[i % len(bad)]
        row = int(rng.integers(50, 600))
        clean_src, clean_out = tmp / f"cells{i}.clean.csv", tmp / f"cells{i}.clean.out.csv"
        frame.to_csv(clean_src, index=False)
        run_cli("detect", "--input", clean_src, "--output", clean_out, "--time-col", "timestamp")
        frame = frame.astype({"m1": object})
        frame.loc[row, "m1"] = cell
        src, out = tmp / f"cells{i}.csv", tmp / f"cells{i}.out.csv"
        frame.to_csv(src, index=False)
        before = src.read_bytes()
        rc, _, err = run_cli("detect", "--input", src, "--output", out, "--time-col", "timestamp")
        outcome = cli_outcome(rc, err)
        if src.read_bytes() != before:
            outcome = "data_lost"
        elif outcome is None:
            scored = pd.read_csv(out)
            # the fault is led by m1: a run that dropped m1 for one bad cell cannot name it
            caught = len(scored) == len(frame) and _names_m1(scored)
            outcome = "result" if caught or not _names_m1(pd.read_csv(clean_out)) else "silent_wrong"
        rows.append({"kind": "metric cells", "case": f"{cell!r} at row {row}", "outcome": outcome,
                     "detail": err.strip().splitlines()[-1][:160] if err.strip() else ""})
    return rows


def timestamps(rng: np.random.Generator, n_cases: int, tmp: Path) -> list[dict[str, Any]]:
    """The same fault with its times written in other ways: the incident must be raised at the same instant."""
    forms: list[tuple[str, Callable[[pd.DatetimeIndex], Any], str | None]] = [
        ("ISO 8601", lambda t: t.strftime("%Y-%m-%dT%H:%M:%S"), None),
        ("ISO with Z", lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"), None),
        ("ISO +02:00", lambda t: (t.tz_localize("UTC").tz_convert("Etc/GMT-2")).strftime("%Y-%m-%dT%H:%M:%S%z"),
         None),
        ("year 2300", lambda t: [f"{2300 + (x.year - 2024)}-{x:%m-%dT%H:%M:%S}" for x in t], "shift"),
        # as_unit("ns"): pandas 3 builds date ranges in microseconds, so asi8 alone is not nanoseconds
        ("epoch s", lambda t: (t.as_unit("ns").asi8 // 10**9), None),
        ("epoch ms", lambda t: (t.as_unit("ns").asi8 // 10**6), None),
        ("epoch us", lambda t: (t.as_unit("ns").asi8 // 10**3), None),
        ("dd/mm/YYYY HH:MM (days <= 12)", lambda t: t.strftime("%d/%m/%Y %H:%M"), "ambiguous"),
        ("missing times", lambda t: t.strftime("%Y-%m-%dT%H:%M:%S"), "holes"),
    ]
    rows = []
    for i in range(n_cases):
        name, write, special = forms[i % len(forms)]
        start = pd.Timestamp("2024-03-05") + pd.Timedelta(minutes=int(rng.integers(0, 10_000)))
        t = pd.date_range(start, periods=900, freq="1min")
        frame = metric_frame(rng)
        frame["timestamp"] = list(write(t))
        if special == "holes":
            frame = frame.astype({"timestamp": object})
            frame.loc[rng.choice(np.arange(100, 600), 5, replace=False), "timestamp"] = None
        src, out = tmp / f"times{i}.csv", tmp / f"times{i}.jsonl"
        frame.to_csv(src, index=False)
        rc, _, err = run_cli("incidents", "--input", src, "--output", out, "--time-col", "timestamp")
        outcome = cli_outcome(rc, err)
        truth = t[700].timestamp()
        if special == "shift":
            truth = pd.Timestamp(f"{2300 + (t[700].year - 2024)}-{t[700]:%m-%dT%H:%M:%S}").timestamp()
        if outcome == "error" and special == "ambiguous" and "time-format" in err:
            outcome = "error"
        elif outcome == "error" and special != "ambiguous":
            outcome = "silent_wrong" if "time" not in err.lower() else "error"
        elif outcome is None:
            lines = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
            raised = [pd.Timestamp(x["raised_at"]).timestamp() for x in lines]
            hit = any(truth - 600 <= r <= truth + 900 for r in raised)
            told = special != "holes" or any(w in err for w in ("not used", "no timestamp", "skipped"))
            outcome = "result" if hit and told and special != "ambiguous" else "silent_wrong"
        rows.append({"kind": "timestamps", "case": name, "outcome": outcome,
                     "detail": err.strip().splitlines()[-1][:160] if err.strip() else ""})
    return rows


def outliers(rng: np.random.Generator, n_cases: int, tmp: Path) -> list[dict[str, Any]]:
    """One huge value early in a stream: a clear spike much later must still score above the threshold."""
    rows = []
    names = [n for n in available_detectors()]
    for i in range(n_cases):
        name = names[i % len(names)]
        magnitude = float(10.0 ** rng.choice([1, 2, 4, 8, 16, 64, 308]))
        sign = 1.0 if rng.random() < 0.7 else -1.0
        n = 3000
        v = rng.normal(0, 1, n)
        v[2500] += 22.0
        with_outlier = v.copy()
        at = int(rng.integers(100, 400))
        with_outlier[at] = sign * magnitude
        t = np.arange(n) * STEP
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clean = np.asarray(make_detector(name).score_many(v, t=t), dtype=float)
                dirty = np.asarray(make_detector(name).score_many(with_outlier, t=t), dtype=float)
        except IncidentMLError as exc:
            rows.append({"kind": "single huge value", "case": f"{name}: {sign * magnitude:.0e}", "outcome": "error",
                         "detail": str(exc)[:160]})
            continue
        except Exception as exc:  # noqa: BLE001 - anything else is a crash
            rows.append({"kind": "single huge value", "case": f"{name}: {sign * magnitude:.0e}", "outcome": "crash",
                         "detail": f"{type(exc).__name__}: {exc}"[:160]})
            continue
        spike_clean, spike_dirty = float(np.nanmax(clean[2500:2503])), float(np.nanmax(dirty[2500:2503]))
        finite = bool(np.isfinite(dirty).all())
        ok = finite and (spike_dirty >= DEFAULT_THRESHOLD or spike_clean < DEFAULT_THRESHOLD)
        rows.append({"kind": "single huge value", "case": f"{name}: {sign * magnitude:.0e} at {at}",
                     "outcome": "result" if ok else "silent_wrong",
                     "detail": f"spike {spike_clean:.2f} -> {spike_dirty:.2f}"
                               + ("" if finite else ", non-finite scores")})
    return rows


def _files_detect_onto_input(tmp: Path) -> dict[str, Any]:
    src = tmp / "same.csv"
    metric_frame(np.random.default_rng(1)).to_csv(src, index=False)
    before = src.read_bytes()
    rc, _, err = run_cli("detect", "--input", src, "--output", src)
    outcome = "data_lost" if src.read_bytes() != before else (cli_outcome(rc, err) or "silent_wrong")
    return {"kind": "output files", "case": "detect --output = --input", "outcome": outcome,
            "detail": err.strip()[:160]}


def _files_output_symlink(tmp: Path) -> dict[str, Any]:
    src, target, link = tmp / "in.csv", tmp / "precious.txt", tmp / "link.csv"
    metric_frame(np.random.default_rng(2)).to_csv(src, index=False)
    target.write_text("do not touch\n")
    link.unlink(missing_ok=True)
    link.symlink_to(target)
    rc, _, err = run_cli("detect", "--input", src, "--output", link)
    if target.read_text() != "do not touch\n" or not link.is_symlink():
        outcome = "data_lost"
    else:
        outcome = cli_outcome(rc, err) or "result"
    return {"kind": "output files", "case": "detect --output is a symlink", "outcome": outcome,
            "detail": err.strip()[:160]}


def _files_kill_while_writing(tmp: Path, rng: np.random.Generator, i: int) -> dict[str, Any]:
    """kill -9 at a random moment of a long detect: the output is the previous one or a complete new one."""
    n = 400_000
    big = tmp / "big.csv"
    if not big.exists():
        t = pd.date_range("2024-01-01", periods=n, freq="1min")
        frame = pd.DataFrame(rng.normal(50, 1, (n, 4)), columns=["a", "b", "c", "d"])
        frame.insert(0, "timestamp", t.strftime("%Y-%m-%dT%H:%M:%S"))
        frame.to_csv(big, index=False)
    out = tmp / "big.out.csv"
    out.write_text("previous output\n")
    cmd = [sys.executable, "-m", "incidentml", "detect", "--input", str(big), "--output", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(float(rng.uniform(2.0, 9.0)))
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    text = out.read_text(errors="replace")
    if text == "previous output\n":
        outcome, detail = "result", "previous output kept"
    else:
        complete = text.count("\n") == n + 1
        outcome, detail = ("result", "finished before the kill") if complete else ("data_lost", "half a file")
    return {"kind": "output files", "case": f"kill -9 while detect writes (try {i + 1})", "outcome": outcome,
            "detail": detail}


def output_files(rng: np.random.Generator, n_cases: int, tmp: Path) -> list[dict[str, Any]]:
    rows = [_files_detect_onto_input(tmp), _files_output_symlink(tmp)]
    rows += [_files_kill_while_writing(tmp, rng, i) for i in range(max(1, n_cases // 5))]
    return rows


def model_files(rng: np.random.Generator, n_cases: int, tmp: Path) -> list[dict[str, Any]]:
    """Bit flips in a saved model, a crafted payload, an empty key, saving onto a symlink."""
    rows = []
    det = make_detector("default")
    det.score_many(rng.normal(0, 1, 500), t=np.arange(500) * STEP)
    path = tmp / "model.incidentml"
    det.save(path)
    data = path.read_bytes()
    reference = type(det).load(path)
    probe = rng.normal(0, 1, 50)
    expected = reference.score_many(probe, t=(500 + np.arange(50)) * STEP)
    header = data.index(b"\n", len(b"INCIDENTML-MODEL\n")) + 1
    manifest_end = header + int(data[len(b"INCIDENTML-MODEL\n"):header].strip())
    positions = list(rng.integers(0, manifest_end, size=n_cases * 4)) + list(
        rng.integers(manifest_end, len(data), size=n_cases))
    for pos in positions:
        bit = int(rng.integers(0, 8))
        flipped = bytearray(data)
        flipped[pos] ^= 1 << bit
        bad = tmp / "flipped.incidentml"
        bad.write_bytes(bytes(flipped))
        where = "header/manifest" if pos < manifest_end else "payload"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loaded = type(det).load(bad)
            same = np.array_equal(loaded.score_many(probe, t=(500 + np.arange(50)) * STEP), expected)
            from incidentml.utils import read_manifest

            same_manifest = read_manifest(bad) == read_manifest(path)
            outcome = "result" if same and same_manifest else "silent_wrong"
            detail = "loaded, identical" if outcome == "result" else "loaded a different model or manifest"
        except IncidentMLError as exc:
            outcome, detail = "error", str(exc)[:120]
        except Exception as exc:  # noqa: BLE001
            outcome, detail = "crash", f"{type(exc).__name__}: {exc}"[:120]
        rows.append({"kind": "model files", "case": f"bit {bit} of byte {pos} ({where})", "outcome": outcome,
                     "detail": detail})
    rows.append(_crafted_payload(tmp, path))
    rows.append(_empty_key(tmp, det))
    rows.append(_save_onto_symlink(tmp, det))
    return rows


class _Boom:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _crafted_payload(tmp: Path, path: Path) -> dict[str, Any]:
    """A payload that runs a command when unpickled, written by the library's own writer (so every digest
    matches) under the genuine manifest of a detector file: only what the loader unpickles can stop it."""
    from incidentml.utils import read_manifest, save_model_file

    marker = tmp / "PWNED"
    marker.unlink(missing_ok=True)
    manifest = {k: v for k, v in read_manifest(path).items() if "sha256" not in k and "bytes" not in k}
    crafted = tmp / "crafted.incidentml"
    save_model_file(_Boom(str(marker)), crafted, manifest)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            type(make_detector("default")).load(crafted)
        outcome = "silent_wrong"
    except IncidentMLError:
        outcome = "error"
    except Exception:  # noqa: BLE001
        outcome = "crash"
    if marker.exists():
        outcome = "silent_wrong"
    return {"kind": "model files", "case": "crafted payload (os.system) with valid digests",
            "outcome": outcome, "detail": "code ran on load" if marker.exists() else "no code ran"}


def _empty_key(tmp: Path, det: Any) -> dict[str, Any]:
    old = os.environ.get("INCIDENTML_MODEL_KEY")
    os.environ["INCIDENTML_MODEL_KEY"] = ""
    try:
        det.save(tmp / "empty-key.incidentml")
        outcome = "silent_wrong"  # signing silently switched off
    except IncidentMLError:
        outcome = "error"
    finally:
        if old is None:
            os.environ.pop("INCIDENTML_MODEL_KEY", None)
        else:
            os.environ["INCIDENTML_MODEL_KEY"] = old
    return {"kind": "model files", "case": "INCIDENTML_MODEL_KEY=''", "outcome": outcome, "detail": ""}


def _save_onto_symlink(tmp: Path, det: Any) -> dict[str, Any]:
    target, link = tmp / "keep.txt", tmp / "model-link.incidentml"
    target.write_text("keep me\n")
    link.unlink(missing_ok=True)
    link.symlink_to(target)
    try:
        det.save(link)
        outcome = "data_lost" if target.read_text() != "keep me\n" or not link.is_symlink() else "result"
    except IncidentMLError:
        outcome = "error" if target.read_text() == "keep me\n" else "data_lost"
    return {"kind": "model files", "case": "save() onto a symlink", "outcome": outcome, "detail": ""}


def triage_labels(rng: np.random.Generator, n_cases: int, tmp: Path) -> list[dict[str, Any]]:
    """evaluate() with a label column missing, or labels in another case: never a silent score."""
    tickets = make_tickets(300, seed=int(rng.integers(0, 1000)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = TriageModel(random_state=0).fit(tickets, text=["title", "description"],
                                                targets=["category", "team"])
    test = make_tickets(80, seed=int(rng.integers(1000, 2000)))
    rows = []
    for case, frame in (("label column missing", test.drop(columns=["team"])),
                        ("labels upper-cased", test.assign(category=test["category"].str.upper()))):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                report = model.evaluate(frame)
                told = any(issubclass(w.category, Warning) and ("team" in str(w.message) or "case" in
                                                                str(w.message).lower()) for w in caught)
                outcome = "result" if told else "silent_wrong"
                detail = f"targets scored: {sorted(report)}"
            except IncidentMLError as exc:
                outcome, detail = "error", str(exc)[:160]
            except Exception as exc:  # noqa: BLE001
                outcome, detail = "crash", f"{type(exc).__name__}: {exc}"[:160]
        rows.append({"kind": "triage labels", "case": case, "outcome": outcome, "detail": detail})
    return rows


KINDS: dict[str, Callable[[np.random.Generator, int, Path], list[dict[str, Any]]]] = {
    "metric cells": metric_cells, "timestamps": timestamps, "single huge value": outliers,
    "output files": output_files, "model files": model_files, "triage labels": triage_labels,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--cases", type=int, default=20, help="cases per input kind (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    cases: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for name, make in KINDS.items():
            started = time.perf_counter()
            rows = make(rng, args.cases, Path(d))
            print(f"{name}: {len(rows)} cases in {time.perf_counter() - started:.1f} s", flush=True)
            cases += rows
    table = []
    for name in KINDS:
        mine = [c for c in cases if c["kind"] == name]
        table.append({"input kind": name, "cases": len(mine), **{o: sum(c["outcome"] == o for c in mine)
                                                                  for o in OUTCOMES}})
    table.append({"input kind": "all", "cases": len(cases), **{o: sum(r[o] for r in table) for o in OUTCOMES}})
    print_table(table, ["input kind", "cases", *OUTCOMES])
    bad = [c for c in cases if c["outcome"] in ("silent_wrong", "data_lost", "crash")]
    for c in bad:
        print(f"  {c['outcome']:12s} {c['kind']}: {c['case']} ({c['detail']})")
    total = table[-1]
    goals = {"crashes == 0": total["crash"] == 0, "silent wrong answers == 0": total["silent_wrong"] == 0,
             "data lost == 0": total["data_lost"] == 0}
    print("goals: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in goals.items()))
    write_json({"benchmark": "robustness", "seed": args.seed, "cases_per_kind": args.cases, "table": table,
                "goals": goals, "cases": cases, "seconds": time.perf_counter() - t0, "machine": machine_info()},
               args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
