"""Model files: manifest, integrity checks, HMAC signing, refusal of bad files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from incidentml import ModelFileError, TriageModel
from incidentml.utils import read_manifest
from incidentml.utils._persistence import MAGIC, save_model_file


@pytest.fixture
def saved(fitted, tmp_path, monkeypatch):
    monkeypatch.delenv("INCIDENTML_MODEL_KEY", raising=False)
    path = tmp_path / "model.joblib"
    fitted.save(path)
    return path


def test_roundtrip(fitted, saved, tickets):
    """A saved and reloaded model predicts exactly as before."""
    again = TriageModel.load(saved)
    pd.testing.assert_frame_equal(again.predict(tickets), fitted.predict(tickets))


def test_manifest_contents(saved):
    """The manifest records versions, labels, data fingerprint, metrics, creation time and digest."""
    m = read_manifest(saved)
    for key in ("incidentml_version", "dependencies", "labels", "training_fingerprint_sha256", "validation_metrics",
                "created_at", "payload_sha256", "payload_bytes", "format_version", "thresholds", "coverage"):
        assert key in m, key
    assert m["labels"]["priority"] == ["P1", "P2", "P3", "P4"]
    assert "scikit-learn" in m["dependencies"]
    json.dumps(m)


def test_truncated_file_refused(saved):
    """A truncated file is refused before unpickling."""
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        TriageModel.load(saved)


def test_tampered_payload_refused(saved):
    """A payload that does not match its SHA-256 is refused."""
    data = bytearray(saved.read_bytes())
    data[-10] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="SHA-256"):
        TriageModel.load(saved)


def test_incompatible_version_refused(fitted, tmp_path):
    """A file written by another incidentml major.minor version is refused with advice."""
    path = tmp_path / "old.joblib"
    manifest = fitted.manifest()
    manifest["incidentml_version"] = "9.9.0"
    save_model_file(fitted, path, manifest)
    with pytest.raises(ModelFileError, match="9.9.0.*not compatible"):
        TriageModel.load(path)


def test_not_a_model_file(tmp_path):
    """Arbitrary files and missing paths get clear errors."""
    bad = tmp_path / "x.joblib"
    bad.write_bytes(b"\x80\x04garbage")
    with pytest.raises(ModelFileError, match="not an incidentml model file"):
        TriageModel.load(bad)
    with pytest.raises(ModelFileError, match="does not exist"):
        TriageModel.load(tmp_path / "missing.joblib")
    (tmp_path / "hdr.joblib").write_bytes(MAGIC + b"12\n{")
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        TriageModel.load(tmp_path / "hdr.joblib")


def test_hmac_signing(fitted, tmp_path, monkeypatch):
    """With INCIDENTML_MODEL_KEY set, files are signed, verified, and a wrong key or tampering is refused."""
    path = tmp_path / "signed.joblib"
    monkeypatch.setenv("INCIDENTML_MODEL_KEY", "s3cret")
    fitted.save(path)
    assert "hmac_sha256" in read_manifest(path)
    TriageModel.load(path)
    monkeypatch.setenv("INCIDENTML_MODEL_KEY", "other")
    with pytest.raises(ModelFileError, match="HMAC"):
        TriageModel.load(path)
    monkeypatch.delenv("INCIDENTML_MODEL_KEY")
    with pytest.raises(ModelFileError, match="is signed"):
        TriageModel.load(path)


def test_tampered_manifest_refused_with_key(fitted, tmp_path, monkeypatch):
    """Changing the manifest of a signed file (even with a fixed-up digest) fails the HMAC check."""
    monkeypatch.setenv("INCIDENTML_MODEL_KEY", "s3cret")
    path = tmp_path / "signed.joblib"
    fitted.save(path)
    raw = path.read_bytes()
    rest = raw[len(MAGIC):]
    nl = rest.index(b"\n")
    size = int(rest[:nl])
    manifest = json.loads(rest[nl + 1:nl + 1 + size])
    manifest["thresholds"]["category"] = 0.0
    head = json.dumps(manifest, sort_keys=True).encode()
    path.write_bytes(MAGIC + f"{len(head)}\n".encode() + head + rest[nl + 1 + size:])
    with pytest.raises(ModelFileError, match="HMAC"):
        TriageModel.load(path)


def test_unsigned_file_refused_when_key_set(saved, monkeypatch):
    """When a key is set, an unsigned file is refused."""
    monkeypatch.setenv("INCIDENTML_MODEL_KEY", "s3cret")
    with pytest.raises(ModelFileError, match="not signed"):
        TriageModel.load(saved)


def test_save_is_atomic(fitted, saved, tmp_path, monkeypatch):
    """A save that fails half-way leaves the previous file intact."""
    import joblib

    before = saved.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", boom)
    with pytest.raises(OSError):
        fitted.save(saved)
    assert saved.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.joblib"]


def test_save_unfitted_refused(tmp_path):
    """Saving an unfitted model says it is not fitted."""
    from incidentml import NotFittedError

    with pytest.raises(NotFittedError):
        TriageModel().save(tmp_path / "m.joblib")
