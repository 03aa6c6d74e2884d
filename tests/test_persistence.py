"""Model files: manifest and digest, HMAC signing, the restricted unpickler, refusal of bad files and targets."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import stat
import warnings
import zlib
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

import incidentml
from incidentml import ModelFileError, TriageModel
from incidentml.utils import load_model_file, read_manifest
from incidentml.utils._persistence import (
    ALLOWED_GLOBALS,
    KEY_ENV,
    MAGIC,
    _canonical,
    _covered,
    _RestrictedUnpickler,
    save_model_file,
)


@pytest.fixture(autouse=True)
def _no_key(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture
def saved(fitted, tmp_path):
    path = tmp_path / "model.joblib"
    fitted.save(path)
    return path


def _split(raw: bytes) -> tuple[dict, bytes]:
    rest = raw[len(MAGIC):]
    nl = rest.index(b"\n")
    size = int(rest[:nl])
    return json.loads(rest[nl + 1:nl + 1 + size]), rest[nl + 1 + size:]


def _write(path: Path, manifest: dict, payload: bytes, *, fix_digest: bool = True) -> Path:
    """Write a format-2 file with ``manifest`` over ``payload``, its digest recomputed as incidentml would."""
    manifest = dict(manifest)
    if fix_digest:
        manifest.update(payload_bytes=len(payload), payload_sha256=hashlib.sha256(payload).hexdigest())
        manifest.pop("digest_sha256", None)
        manifest["digest_sha256"] = hashlib.sha256(_covered(manifest, payload)).hexdigest()
    head = _canonical(manifest)
    path.write_bytes(MAGIC + f"{len(head)}\n".encode() + head + payload)
    return path


def _crafted(path: Path, raw_pickle: bytes, kind: str = "incidentml.TriageModel") -> Path:
    """A well-formed format-2 file (valid manifest and digest) whose payload is ``raw_pickle``."""
    manifest = {"kind": kind, "incidentml_version": incidentml.__version__, "format_version": 2,
                "payload_encoding": "pickle-5+zlib", "pickle_bytes": len(raw_pickle)}
    return _write(path, manifest, zlib.compress(raw_pickle))


def _global_call(module: str, name: str, *args: str) -> bytes:
    """A pickle that calls ``module.name(*args)`` (protocol 2 opcodes, written by hand)."""
    body = b"".join(b"X" + len(a.encode()).to_bytes(4, "little") + a.encode() for a in args)
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"(" + body + b"tR."


def _save_v1(obj, path: Path, manifest: dict) -> Path:
    """A file in format version 1 (joblib payload, SHA-256 of the payload only), as incidentml wrote it before."""
    buf = io.BytesIO()
    joblib.dump(obj, buf, compress=3)
    payload = buf.getvalue()
    manifest = {**manifest, "format_version": 1, "payload_bytes": len(payload),
                "payload_sha256": hashlib.sha256(payload).hexdigest()}
    head = json.dumps(manifest, sort_keys=True, default=str).encode()
    path.write_bytes(MAGIC + f"{len(head)}\n".encode() + head + payload)
    return path


# ------------------------------------------------------------------ round trip and manifest
def test_roundtrip(fitted, saved, tickets):
    """A saved and reloaded model predicts exactly as before."""
    again = TriageModel.load(saved)
    pd.testing.assert_frame_equal(again.predict(tickets), fitted.predict(tickets))


def test_manifest_contents(saved):
    """The manifest records versions, labels, data fingerprint, metrics, creation time and digests."""
    m = read_manifest(saved)
    for key in ("incidentml_version", "dependencies", "labels", "training_fingerprint_sha256", "validation_metrics",
                "created_at", "payload_sha256", "payload_bytes", "format_version", "thresholds", "coverage",
                "digest_sha256", "payload_encoding", "pickle_bytes"):
        assert key in m, key
    assert m["format_version"] == 2 and m["payload_encoding"] == "pickle-5+zlib"
    assert m["labels"]["priority"] == ["P1", "P2", "P3", "P4"]
    assert "scikit-learn" in m["dependencies"]
    json.dumps(m)


def test_manifest_is_canonical_text(saved):
    """The manifest is stored as sorted, compact, ASCII JSON: one byte form per manifest."""
    raw = saved.read_bytes()
    manifest, _ = _split(raw)
    assert _canonical(manifest) in raw


# ------------------------------------------------------------------ corruption and tampering
def test_truncated_file_refused(saved):
    """A truncated file is refused before unpickling."""
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        TriageModel.load(saved)


def test_tampered_payload_refused(saved):
    """A payload that does not match the digest is refused."""
    data = bytearray(saved.read_bytes())
    data[-10] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"model\.joblib.*do not match its SHA-256 digest"):
        TriageModel.load(saved)


def test_hand_edited_manifest_refused(saved):
    """A manifest edited by hand (labels, dates), even re-serialised canonically, fails the digest."""
    manifest, payload = _split(saved.read_bytes())
    manifest["labels"]["priority"] = ["P4", "P3", "P2", "P1"]
    manifest["created_at"] = "1999-01-01T00:00:00+00:00"
    _write(saved, manifest, payload, fix_digest=False)
    with pytest.raises(ModelFileError, match="manifest and payload do not match its SHA-256 digest"):
        TriageModel.load(saved)
    with pytest.raises(ModelFileError, match="digest"):
        read_manifest(saved)


def test_reformatted_manifest_refused(saved):
    """The same manifest written with other spacing or key order is refused: it is not the text incidentml wrote."""
    manifest, payload = _split(saved.read_bytes())
    head = json.dumps(manifest, indent=1).encode()
    saved.write_bytes(MAGIC + f"{len(head)}\n".encode() + head + payload)
    with pytest.raises(ModelFileError, match="not the exact text incidentml writes"):
        TriageModel.load(saved)


def test_duplicate_manifest_key_refused(saved):
    """A manifest with a key given twice is refused (which one counts would be a guess)."""
    raw = saved.read_bytes()
    manifest, payload = _split(raw)
    head = _canonical(manifest)
    head = head[:-1] + b',"kind":"x"}'
    saved.write_bytes(MAGIC + f"{len(head)}\n".encode() + head + payload)
    with pytest.raises(ModelFileError, match="unreadable manifest"):
        TriageModel.load(saved)


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    """A small saved detector (a few hundred bytes of payload) and its bytes."""
    from incidentml import make_detector

    det = make_detector("robust")
    for v in np.random.default_rng(0).normal(size=40):
        det.learn_one({"cpu": float(v)}, t=None)
    path = tmp_path_factory.mktemp("flip") / "det.incidentml"
    det.save(path)
    return det, path.read_bytes()


def _flip_outcome(raw: bytes, bit: int, path: Path, det, manifest: dict, probe: np.ndarray) -> str:
    data = bytearray(raw)
    data[bit // 8] ^= 1 << (bit % 8)
    path.write_bytes(bytes(data))
    try:
        obj, got = load_model_file(path)
    except ModelFileError as exc:
        assert str(path) in str(exc)
        return "refused"
    # a flip that loads must leave the manifest and the model exactly as saved
    assert got == manifest, f"bit {bit}: a different manifest loaded silently"
    np.testing.assert_array_equal(obj.score_many(probe), det.score_many(probe))
    return "identical"


def test_every_header_and_manifest_bit_flip_is_refused(small_file, tmp_path):
    """Flipping any single bit of the magic, the length line or the manifest is refused; none loads differently."""
    det, raw = small_file
    manifest, payload = _split(raw)
    head_bits = (len(raw) - len(payload)) * 8
    probe = np.linspace(-3, 3, 7)
    outcomes = [_flip_outcome(raw, b, tmp_path / "f.incidentml", det, manifest, probe) for b in range(head_bits)]
    assert head_bits > 4000
    assert outcomes.count("refused") == head_bits  # the canonical-text check leaves no harmless flips


def test_payload_bit_flips_are_refused(small_file, tmp_path):
    """Flipping any single bit of the payload (every bit of this small one) is refused before unpickling."""
    det, raw = small_file
    manifest, payload = _split(raw)
    start = (len(raw) - len(payload)) * 8
    probe = np.linspace(-3, 3, 7)
    outcomes = [_flip_outcome(raw, b, tmp_path / "f.incidentml", det, manifest, probe)
                for b in range(start, len(raw) * 8)]
    assert len(outcomes) == len(payload) * 8 and outcomes.count("refused") == len(outcomes)


def test_bit_flips_in_a_large_model(saved, fitted, tmp_path):
    """A sample of 400 bit flips spread over a TriageModel file (manifest and payload) is refused."""
    raw = saved.read_bytes()
    rng = np.random.default_rng(0)
    for bit in rng.choice(len(raw) * 8, size=400, replace=False):
        data = bytearray(raw)
        data[bit // 8] ^= 1 << (bit % 8)
        (tmp_path / "f.joblib").write_bytes(bytes(data))
        with pytest.raises(ModelFileError, match="f.joblib"):
            TriageModel.load(tmp_path / "f.joblib")


def test_incompatible_version_refused(fitted, tmp_path):
    """A file written by another incidentml major.minor version is refused with advice."""
    path = tmp_path / "old.joblib"
    manifest = fitted.manifest()
    manifest["incidentml_version"] = "9.9.0"
    save_model_file(fitted, path, manifest)
    with pytest.raises(ModelFileError, match="9.9.0.*not compatible"):
        TriageModel.load(path)


def test_not_a_model_file(tmp_path):
    """Arbitrary files, missing paths, folders and FIFOs get clear errors (a FIFO is not read, so no hang)."""
    bad = tmp_path / "x.joblib"
    bad.write_bytes(b"\x80\x04garbage")
    with pytest.raises(ModelFileError, match="not an incidentml model file"):
        TriageModel.load(bad)
    with pytest.raises(ModelFileError, match="does not exist"):
        TriageModel.load(tmp_path / "missing.joblib")
    (tmp_path / "hdr.joblib").write_bytes(MAGIC + b"12\n{")
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        TriageModel.load(tmp_path / "hdr.joblib")
    (tmp_path / "lead.joblib").write_bytes(MAGIC + b" 2\n{}")
    with pytest.raises(ModelFileError, match="length line"):
        TriageModel.load(tmp_path / "lead.joblib")
    with pytest.raises(ModelFileError, match="is a folder"):
        TriageModel.load(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ModelFileError, match="not a regular file"):
        TriageModel.load(tmp_path / "fifo")


# ------------------------------------------------------------------ signing
def test_hmac_signing(fitted, tmp_path, monkeypatch):
    """With INCIDENTML_MODEL_KEY set, files are signed, verified, and a wrong key or no key is refused."""
    path = tmp_path / "signed.joblib"
    monkeypatch.setenv(KEY_ENV, "s3cret")
    fitted.save(path)
    assert "hmac_sha256" in read_manifest(path)
    TriageModel.load(path)
    monkeypatch.setenv(KEY_ENV, "other")
    with pytest.raises(ModelFileError, match="HMAC"):
        TriageModel.load(path)
    with pytest.raises(ModelFileError, match="HMAC"):
        TriageModel.load(path, trusted=True)
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(ModelFileError, match="is signed"):
        TriageModel.load(path)


def test_tampered_manifest_refused_with_key(fitted, tmp_path, monkeypatch):
    """Changing the manifest of a signed file, with its digest fixed up, still fails the HMAC check."""
    monkeypatch.setenv(KEY_ENV, "s3cret")
    path = tmp_path / "signed.joblib"
    fitted.save(path)
    manifest, payload = _split(path.read_bytes())
    manifest["thresholds"]["category"] = 0.0
    _write(path, manifest, payload)
    with pytest.raises(ModelFileError, match="HMAC"):
        TriageModel.load(path)


def test_unsigned_file_refused_when_key_set(saved, monkeypatch):
    """When a key is set, an unsigned file is refused."""
    monkeypatch.setenv(KEY_ENV, "s3cret")
    with pytest.raises(ModelFileError, match="not signed"):
        TriageModel.load(saved)


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_key_is_an_error(fitted, saved, tmp_path, monkeypatch, value):
    """INCIDENTML_MODEL_KEY set but empty is an error at save and at load, naming the variable."""
    monkeypatch.setenv(KEY_ENV, value)
    with pytest.raises(ModelFileError, match="INCIDENTML_MODEL_KEY is set but empty"):
        fitted.save(tmp_path / "new.joblib")
    assert not (tmp_path / "new.joblib").exists()
    with pytest.raises(ModelFileError, match="INCIDENTML_MODEL_KEY is set but empty"):
        TriageModel.load(saved)
    with pytest.raises(ModelFileError, match="INCIDENTML_MODEL_KEY is set but empty"):
        TriageModel.load(saved, trusted=True)


# ------------------------------------------------------------------ the restricted unpickler
class _RunsCommand:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_code_in_a_file_is_not_run_by_default(tmp_path):
    """A file with a valid manifest and digest whose payload calls os.system is refused; the command never runs."""
    marker = tmp_path / "MARKER"
    path = _crafted(tmp_path / "evil.incidentml", pickle.dumps(_RunsCommand(f"touch {marker}"), protocol=5))
    with pytest.raises(ModelFileError, match=r"evil\.incidentml' names (posix|os|nt)\.system.*trusted=True.*"
                                             r"--trust-model"):
        TriageModel.load(path)
    with pytest.raises(ModelFileError, match="system"):
        load_model_file(path)
    assert not marker.exists()


@pytest.mark.parametrize(("module", "name"), [
    ("os", "system"), ("posix", "system"), ("subprocess", "Popen"), ("subprocess", "check_output"),
    ("builtins", "eval"), ("builtins", "exec"), ("builtins", "__import__"), ("builtins", "open"),
    ("builtins", "compile"), ("builtins", "type"), ("pandas", "read_pickle"), ("pandas", "read_csv"),
    ("numpy", "load"), ("numpy", "memmap"), ("numpy", "fromfile"), ("numpy.lib.npyio", "load"),
    ("joblib", "load"), ("pickle", "loads"), ("importlib", "import_module"), ("shutil", "rmtree"),
    ("sklearn.datasets._base", "Path"),  # a class, but pathlib's, re-exported: not defined in sklearn
    ("sklearn.utils._testing", "CalledProcessError"),
    ("sklearn.utils", "check_array"),  # a function of an allowed package
    ("incidentml.utils._persistence", "load_model_file"),  # an incidentml function
    ("incidentml.fleet._state", "StateStore"),  # an incidentml class that creates folders when built
    ("incidentml.fleet._io", "FrameWriter"),
    ("incidentml.cli._main", "main"), ("incidentml.__main__", "main"), ("river.stream", "iter_csv"),
    ("incidentml.triage._model", "TriageModel.load"),  # dotted names reach methods: refused
])
def test_forbidden_globals_are_refused(tmp_path, module, name):
    """Functions and classes outside the allow-list are refused by name, before they are called."""
    path = _crafted(tmp_path / "x.incidentml", _global_call(module, name, "/tmp/incidentml-should-not-exist"))
    with pytest.raises(ModelFileError, match=f"names {module}.{name}, which a model file may not build"):
        load_model_file(path)


def test_getattr_is_guarded():
    """builtins.getattr resolves to a guard: ZoneInfo._unpickle only, never an arbitrary attribute."""
    import zoneinfo

    evil = b"\x80\x02cbuiltins\ngetattr\ncnumpy\nndarray\nX\x06\x00\x00\x00tofile\x86R."
    with pytest.raises(pickle.UnpicklingError, match="getattr"):
        _RestrictedUnpickler(io.BytesIO(evil)).load()
    evil = b"\x80\x02cbuiltins\ngetattr\ncos\npath\nX\x06\x00\x00\x00system\x86R."
    with pytest.raises(pickle.UnpicklingError, match="path"):
        _RestrictedUnpickler(io.BytesIO(evil)).load()
    tz = zoneinfo.ZoneInfo("Europe/Berlin")
    assert _RestrictedUnpickler(io.BytesIO(pickle.dumps(tz, protocol=5))).load() is tz


def test_trusted_skips_the_allow_list_but_not_the_digest(tmp_path):
    """trusted=True loads a file that names globals outside the list; it still refuses a corrupt file."""
    import operator

    path = save_model_file(operator.add, tmp_path / "f.incidentml", {"kind": "demo",
                                                                      "incidentml_version": incidentml.__version__})
    with pytest.raises(ModelFileError, match="_operator.add"):
        load_model_file(path)
    assert load_model_file(path, trusted=True)[0](2, 3) == 5
    data = bytearray(path.read_bytes())
    data[-3] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="digest"):
        load_model_file(path, trusted=True)


def test_allow_list_names_no_function_that_reads_files_or_runs_code():
    """The exact-name list holds no known dangerous names (a guard against careless additions)."""
    forbidden = {"eval", "exec", "compile", "open", "getattr", "setattr", "__import__", "system", "load", "loads",
                 "memmap", "fromfile", "read_pickle", "Popen", "import_module", "type", "object", "globals"}
    for module, names in ALLOWED_GLOBALS.items():
        assert not names & forbidden, module
        assert not module.startswith(("os", "posix", "subprocess", "pickle", "joblib", "importlib", "sys"))


# every model type, saved and loaded through the restricted unpickler (how ALLOWED_GLOBALS was derived)
def _detectors():
    from incidentml.anomaly import available_detectors, make_detector

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"cpu": rng.normal(50, 5, 300), "mem": rng.normal(70, 3, 300)})
    t = np.arange(300) * 60.0 + 1.7e9
    for name in available_detectors():
        yield f"{name}-unfitted", make_detector(name), None
        det = make_detector(name)
        det.score_many(X, t=t)
        yield name, det, X


def _every_model(tickets, fitted):
    from incidentml import IncidentPredictor, OnlineTriage, SimilarIncidents, TriageClassifier
    from incidentml.anomaly import Ensemble, ForecastResidual, RobustZScore

    yield "TriageModel", fitted
    yield "TriageClassifier", TriageClassifier().fit(tickets["title"], tickets["team"])
    yield "TriageClassifier-frame", TriageClassifier(text=["title", "description"], features=["service"]).fit(
        tickets[["title", "description", "service"]], tickets["priority"])
    online = OnlineTriage(fitted)
    online.learn_many(tickets.iloc[:120], targets=["category"])
    yield "OnlineTriage", online
    plain = OnlineTriage()
    for t, y in [("printer jammed", "hw"), ("vpn down", "net")] * 20:
        plain.learn_one(t, {"category": y})
    yield "OnlineTriage-plain", plain
    for name, det, _ in _detectors():
        yield f"detector-{name}", det
    ens = Ensemble([RobustZScore(), ForecastResidual()], combine="max")
    for v in np.random.default_rng(1).normal(size=200):
        ens.learn_one({"cpu": float(v)})
    yield "Ensemble", ens
    rng = np.random.default_rng(2)
    n = 2000
    frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="min"),
                          "disk_used_pct": np.linspace(50, 99, n) + rng.normal(0, 0.2, n),
                          "cpu": rng.normal(40, 2, n)})
    frame.loc[1200:1210, "cpu"] += 20
    yield "IncidentPredictor-empty", IncidentPredictor()
    limits = IncidentPredictor(limits={"disk_used_pct": 95})
    limits.run(frame, time_col="timestamp")
    yield "IncidentPredictor-limits", limits
    fed = IncidentPredictor(detector="hst")
    fed.run(frame, time_col="timestamp")
    for inc in fed.incidents()[:2]:
        fed.feedback(inc.id, "false_alarm")
    yield "IncidentPredictor-feedback", fed
    wide = tickets.head(120).copy()
    k = len(wide)
    wide = wide.assign(opened=pd.date_range("2024-01-01", periods=k, freq="h"),
                       opened_tz=pd.date_range("2024-01-01", periods=k, freq="h", tz="Europe/Berlin"),
                       took=pd.to_timedelta(np.arange(k), unit="min"),
                       sev=pd.Categorical(np.where(np.arange(k) % 2, "high", "low")),
                       count=pd.array(np.arange(k), dtype="Int64"), flag=pd.array(np.arange(k) % 2 == 0,
                                                                                   dtype="boolean"),
                       period=pd.period_range("2024-01", periods=k, freq="M"))
    yield "SimilarIncidents", SimilarIncidents().fit(wide, text=["title", "description"])
    yield "SimilarIncidents-lsa", SimilarIncidents(n_components=8, random_state=0).fit(tickets, text=["title"])


def test_every_model_type_loads_through_the_restricted_unpickler(tickets, fitted, tmp_path):
    """A saved instance of every model type loads by default (trusted=False) and pickles back to the same bytes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = list(_every_model(tickets, fitted))
    assert len(models) > 25
    for name, model in models:
        path = model.save(tmp_path / f"{name}.incidentml")
        back = type(model).load(path)
        assert type(back) is type(model), name
        assert pickle.dumps(back, protocol=5) == pickle.dumps(
            _RestrictedUnpickler(io.BytesIO(pickle.dumps(model, protocol=5))).load(), protocol=5), name


def test_detectors_resume_identically_after_a_safe_load(tmp_path):
    """Every registered detector, saved mid-stream and loaded safely, scores the rest as the original does."""
    for name, det, X in _detectors():
        if X is None:
            continue
        back = type(det).load(det.save(tmp_path / f"{name}.incidentml"))
        rest, t = X.iloc[:50] + 3.0, 1.8e9 + 60.0 * np.arange(50)
        np.testing.assert_array_equal(back.score_many(rest, t=t), det.score_many(rest, t=t), err_msg=name)


def test_fleet_state_loads_through_the_restricted_unpickler(tmp_path):
    """The fleet's partition states (detectors and incident predictors) resume with no trust needed."""
    from incidentml import predict_incidents, score_fleet

    rng = np.random.default_rng(0)
    df = pd.concat([pd.DataFrame({"entity": f"h{i // 2}", "series_id": f"h{i // 2}.m{i}",
                                  "timestamp": pd.date_range("2024-03-01", periods=200, freq="min"),
                                  "value": rng.normal(50, 1, 200)}) for i in range(4)], ignore_index=True)
    score_fleet(df.iloc[:400], state=tmp_path / "s", n_jobs=1)
    score_fleet(df.iloc[400:], state=tmp_path / "s", n_jobs=1)
    predict_incidents(df, entity_col="entity", state=tmp_path / "i", n_jobs=1)
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "manifest.json"]
    assert files
    for p in files:
        try:
            kind = read_manifest(p)["kind"]
        except ModelFileError:
            continue
        assert kind == "incidentml.fleet.PartitionState"
        load_model_file(p)


# ------------------------------------------------------------------ format version 1 (joblib)
def test_format_1_needs_trust(fitted, tmp_path, tickets):
    """A joblib file of format version 1 is refused by default and loads with trusted=True (its SHA-256 checked)."""
    path = _save_v1(fitted, tmp_path / "v1.joblib", fitted.manifest())
    with pytest.raises(ModelFileError, match=r"v1\.joblib' has format version 1.*trusted=True.*--trust-model"):
        TriageModel.load(path)
    again = TriageModel.load(path, trusted=True)
    pd.testing.assert_frame_equal(again.predict(tickets.head(20)), fitted.predict(tickets.head(20)))
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="SHA-256"):
        TriageModel.load(path, trusted=True)


def test_unknown_format_refused(fitted, tmp_path):
    """A file claiming a format this version does not know is refused with advice."""
    path = save_model_file(fitted, tmp_path / "m.joblib", {**fitted.manifest(), "format_version": 9})
    manifest, payload = _split(path.read_bytes())
    manifest["format_version"] = 9
    _write(path, manifest, payload)
    with pytest.raises(ModelFileError, match="format version 9"):
        TriageModel.load(path, trusted=True)


# ------------------------------------------------------------------ save targets
def test_save_is_atomic(fitted, saved, tmp_path, monkeypatch):
    """A save that fails half-way (at fsync) leaves the previous file intact and no temporary file behind."""
    before = saved.read_bytes()

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        fitted.save(saved)
    assert saved.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.joblib"]


def test_save_replaces_a_regular_file_keeping_its_mode(fitted, saved, tmp_path):
    """Saving over a model replaces it and keeps the old file's permissions."""
    os.chmod(saved, 0o640)
    fitted.save(saved)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o640
    TriageModel.load(saved)
    assert [p.name for p in tmp_path.iterdir()] == ["model.joblib"]


def test_save_refuses_a_symlink(fitted, saved, tmp_path):
    """save() onto a symbolic link is refused naming the path; neither the link nor its target changes."""
    before = saved.read_bytes()
    link = tmp_path / "link.joblib"
    link.symlink_to(saved)
    with pytest.raises(ModelFileError, match=r"link\.joblib'.*symbolic link"):
        fitted.save(link)
    assert link.is_symlink() and saved.read_bytes() == before
    dangling = tmp_path / "dangling.joblib"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(ModelFileError, match="symbolic link"):
        fitted.save(dangling)
    assert dangling.is_symlink() and not (tmp_path / "nowhere").exists()


def test_save_refuses_folders_fifos_and_devices(fitted, tmp_path):
    """A folder, a FIFO or a device node at the target is refused before anything is written."""
    with pytest.raises(ModelFileError, match="is a folder"):
        fitted.save(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ModelFileError, match=r"fifo'.*a FIFO, not a regular file"):
        fitted.save(tmp_path / "fifo")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)
    if os.path.exists("/dev/null"):
        with pytest.raises(ModelFileError, match="/dev/null'.*device node"):
            fitted.save("/dev/null")
        assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    with pytest.raises(ModelFileError, match="does not exist"):
        fitted.save(tmp_path / "missing" / "m.joblib")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelFileError, match="is not a folder"):
        fitted.save(tmp_path / "file" / "m.joblib")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "file"]


def test_save_unfitted_refused(tmp_path):
    """Saving an unfitted model says it is not fitted."""
    from incidentml import NotFittedError

    with pytest.raises(NotFittedError):
        TriageModel().save(tmp_path / "m.joblib")
