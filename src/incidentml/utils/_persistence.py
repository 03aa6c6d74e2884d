"""Model files: a joblib payload behind a JSON manifest, a SHA-256 and an optional HMAC.

Layout of a file::

    b"INCIDENTML-MODEL\\n"                 magic line
    b"<manifest length>\\n"                decimal byte count of the manifest
    <manifest JSON, UTF-8>
    <payload: joblib pickle bytes>

The manifest is plain JSON and is read *before* any unpickling: it carries the format version,
the incidentml and dependency versions, the payload's length and SHA-256 and, when the
environment variable ``INCIDENTML_MODEL_KEY`` is set at save time, an HMAC-SHA256 over the
manifest and the payload. :func:`load_model_file` refuses a file whose magic, length, digest,
signature or version does not match, so a truncated or tampered file is never unpickled.

Joblib files are pickles: only load files from a source you trust. The HMAC lets a service
check that a file was written by someone holding the key.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import joblib

from ..exceptions import ModelFileError

__all__ = ["FORMAT_VERSION", "KEY_ENV", "PersistenceMixin", "load_model_file", "read_manifest", "save_model_file"]

MAGIC = b"INCIDENTML-MODEL\n"
FORMAT_VERSION = 1
KEY_ENV = "INCIDENTML_MODEL_KEY"
_MAX_MANIFEST = 16 * 1024 * 1024


def _key() -> bytes | None:
    key = os.environ.get(KEY_ENV)
    return key.encode("utf-8") if key else None


def _signature(key: bytes, manifest: dict[str, Any], payload: bytes) -> str:
    unsigned = {k: v for k, v in manifest.items() if k != "hmac_sha256"}
    body = json.dumps(unsigned, sort_keys=True).encode("utf-8")
    return hmac.new(key, body + b"\0" + payload, hashlib.sha256).hexdigest()


def save_model_file(obj: Any, path: str | os.PathLike[str], manifest: dict[str, Any]) -> Path:
    """Write ``obj`` with ``manifest`` to ``path`` atomically and return the path.

    The file is first written next to the target and then renamed over it, so an existing
    model at ``path`` is never left half-written.

    Parameters
    ----------
    obj : object
        Anything joblib can pickle.
    path : str or os.PathLike
        The file to write; its folder must exist.
    manifest : dict
        JSON-serialisable facts about ``obj`` (``kind``, ``incidentml_version``, ...). The format
        version, payload length, SHA-256 and (with ``INCIDENTML_MODEL_KEY``) HMAC are added.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> import incidentml
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_model_file({"weights": [1, 2]}, os.path.join(tmp, "m.incidentml"),
    ...                            {"kind": "demo", "incidentml_version": incidentml.__version__})
    ...     obj, manifest = load_model_file(path, expected_kind="demo")
    >>> obj, manifest["kind"], manifest["format_version"]
    ({'weights': [1, 2]}, 'demo', 1)
    """
    path = Path(path)
    buf = io.BytesIO()
    joblib.dump(obj, buf, compress=3)
    payload = buf.getvalue()
    manifest = dict(manifest)
    manifest["format_version"] = FORMAT_VERSION
    manifest["payload_bytes"] = len(payload)
    manifest["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    manifest.pop("hmac_sha256", None)
    key = _key()
    if key is not None:
        manifest["hmac_sha256"] = _signature(key, manifest, payload)
    head = json.dumps(manifest, sort_keys=True, default=str).encode("utf-8")
    if path.parent and not path.parent.exists():
        msg = f"Cannot save the model to '{path}': the folder '{path.parent}' does not exist. Create it first."
        raise ModelFileError(msg)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC)
            fh.write(f"{len(head)}\n".encode("ascii"))
            fh.write(head)
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], bytes]:
    path = Path(path)
    if not path.exists():
        msg = f"Model file '{path}' does not exist. Check the path, or train one with 'incidentml triage train'."
        raise ModelFileError(msg)
    if path.is_dir():
        msg = f"Model path '{path}' is a folder; give the path of a model file."
        raise ModelFileError(msg)
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        msg = (f"'{path}' is not an incidentml model file (it does not start with the incidentml header). "
               "Load files written by TriageModel.save.")
        raise ModelFileError(msg)
    rest = data[len(MAGIC):]
    newline = rest.find(b"\n", 0, 32)
    try:
        size = int(rest[:newline]) if newline > 0 else -1
    except ValueError:
        size = -1
    if size < 0 or size > _MAX_MANIFEST or len(rest) < newline + 1 + size:
        msg = f"Model file '{path}' is truncated or corrupt (its manifest is incomplete). Save the model again."
        raise ModelFileError(msg)
    try:
        manifest = json.loads(rest[newline + 1:newline + 1 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"Model file '{path}' has an unreadable manifest ({exc}). Save the model again."
        raise ModelFileError(msg) from None
    if not isinstance(manifest, dict):
        msg = f"Model file '{path}' has a manifest that is not a JSON object. Save the model again."
        raise ModelFileError(msg)
    return manifest, rest[newline + 1 + size:]


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the JSON manifest of a model file without unpickling anything.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save_model_file`.

    Returns
    -------
    dict
        The manifest, as saved.

    Raises
    ------
    ModelFileError
        The file is missing, not a model file, or its manifest is truncated or unreadable.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_model_file([1, 2, 3], os.path.join(tmp, "m.incidentml"), {"kind": "demo"})
    ...     manifest = read_manifest(path)
    >>> manifest["kind"], manifest["payload_sha256"]
    ('demo', '...')
    """
    return _read(path)[0]


def load_model_file(path: str | os.PathLike[str], *, expected_kind: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Check and load a model file written by :func:`save_model_file`.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    expected_kind : str or None, default=None
        When given, the manifest's ``kind`` must equal it.

    Returns
    -------
    obj, manifest
        The unpickled object and its manifest.

    Raises
    ------
    ModelFileError
        The file is missing, not a model file, truncated, from an incompatible format or
        incidentml version, its payload does not match its SHA-256, or its HMAC does not
        verify with ``INCIDENTML_MODEL_KEY``. Nothing is unpickled in any of these cases.

    Examples
    --------
    >>> import os, tempfile
    >>> import incidentml
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = save_model_file({"a": 1}, os.path.join(tmp.name, "m.incidentml"),
    ...                        {"kind": "demo", "incidentml_version": incidentml.__version__})
    >>> load_model_file(path)[0]
    {'a': 1}
    >>> with open(path, "ab") as fh:
    ...     _ = fh.write(b"extra")
    >>> load_model_file(path)
    Traceback (most recent call last):
    ...
    incidentml.exceptions.ModelFileError: Model file '...' is truncated: ...
    >>> tmp.cleanup()
    """
    from .. import __version__

    manifest, payload = _read(path)
    fmt = manifest.get("format_version")
    if fmt != FORMAT_VERSION:
        msg = (f"Model file '{path}' has format version {fmt!r}; this incidentml ({__version__}) reads version "
               f"{FORMAT_VERSION}. Retrain the model with this version.")
        raise ModelFileError(msg)
    saved = str(manifest.get("incidentml_version", ""))
    if saved.split(".")[:2] != __version__.split(".")[:2]:
        msg = (f"Model file '{path}' was written by incidentml {saved or 'unknown'}, which is not compatible with "
               f"the installed {__version__} (major.minor must match). Retrain or install incidentml {saved}.")
        raise ModelFileError(msg)
    if expected_kind is not None and manifest.get("kind") != expected_kind:
        msg = f"Model file '{path}' holds a {manifest.get('kind')!r}, not a {expected_kind!r}."
        raise ModelFileError(msg)
    if len(payload) != manifest.get("payload_bytes"):
        msg = (f"Model file '{path}' is truncated: its payload has {len(payload)} bytes, the manifest says "
               f"{manifest.get('payload_bytes')}. Copy or save the file again.")
        raise ModelFileError(msg)
    if not hmac.compare_digest(hashlib.sha256(payload).hexdigest(), str(manifest.get("payload_sha256", ""))):
        msg = (f"Model file '{path}' is corrupt or was modified: its payload does not match its SHA-256. "
               "Refusing to load it.")
        raise ModelFileError(msg)
    key = _key()
    signed = "hmac_sha256" in manifest
    if key is not None:
        if not signed:
            msg = (f"Model file '{path}' is not signed, but {KEY_ENV} is set, so only signed files are accepted. "
                   f"Save the model again with {KEY_ENV} set.")
            raise ModelFileError(msg)
        if not hmac.compare_digest(_signature(key, manifest, payload), str(manifest["hmac_sha256"])):
            msg = (f"Model file '{path}' failed its HMAC check: it was modified, or signed with another key. "
                   "Refusing to load it.")
            raise ModelFileError(msg)
    elif signed:
        msg = (f"Model file '{path}' is signed, but {KEY_ENV} is not set, so its signature cannot be checked. "
               f"Set {KEY_ENV} to the key it was saved with.")
        raise ModelFileError(msg)
    try:
        obj = joblib.load(io.BytesIO(payload))
    except Exception as exc:  # noqa: BLE001 - any unpickling failure becomes one clear error
        msg = f"Model file '{path}' could not be unpickled ({type(exc).__name__}: {exc}). Retrain it with this version."
        raise ModelFileError(msg) from exc
    return obj, manifest


class PersistenceMixin:
    """``save``/``load`` for every incidentml model type, through one checked file format.

    A class sets ``_model_kind`` (the manifest's ``kind``, checked on load before anything is
    unpickled) and may extend :meth:`_manifest_extra` with what a reader should see without
    loading the model (labels, metrics, entities). Files are written atomically with a manifest,
    a SHA-256 and, when ``INCIDENTML_MODEL_KEY`` is set, an HMAC.

    Examples
    --------
    >>> import tempfile, os
    >>> from incidentml import make_detector
    >>> det = make_detector("default")
    >>> for v in [1.0, 2.0, 1.5]:
    ...     det.learn_one({"cpu": v})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = det.save(os.path.join(tmp, "det.incidentml"))
    ...     print(type(det).load(path).n_seen_)
    3
    """

    _model_kind: ClassVar[str] = ""

    def _manifest_extra(self) -> dict[str, Any]:
        """What this model type adds to the manifest (default: nothing)."""
        return {}

    def _manifest(self) -> dict[str, Any]:
        import datetime as _dt
        import platform

        import numpy as np

        from .. import __version__

        get_params = getattr(self, "get_params", None)
        params = get_params(deep=False) if callable(get_params) else {}
        manifest: dict[str, Any] = {
            "kind": self._model_kind,
            "class": type(self).__name__,
            "incidentml_version": __version__,
            "dependencies": {"python": platform.python_version(), "numpy": np.__version__,
                             "joblib": joblib.__version__},
            "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "params": {k: repr(v) for k, v in params.items()},
        }
        manifest.update(self._manifest_extra())
        return manifest

    def save(self, path: str | os.PathLike[str]) -> str:
        """Save the model, state included, to ``path``; returns the path as a string.

        Written atomically (a temporary file renamed over the target), with a manifest and a
        SHA-256 (and an HMAC when ``INCIDENTML_MODEL_KEY`` is set). Model files are pickles:
        load only files you trust.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write; its folder must exist.

        Returns
        -------
        str

        Examples
        --------
        >>> import os, tempfile
        >>> from incidentml import make_detector
        >>> det = make_detector("robust")
        >>> det.learn_one({"cpu": 0.4})
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = det.save(os.path.join(tmp, "robust.incidentml"))
        ...     print(os.path.basename(path), type(det).load(path).n_seen_)
        robust.incidentml 1
        """
        return str(save_model_file(self, path, self._manifest()))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Any:
        """Load a model written by :meth:`save`, after checking its manifest, SHA-256 and HMAC.

        Raises :class:`~incidentml.exceptions.ModelFileError` when the file is not a model of this
        type (nothing of it is used).

        Parameters
        ----------
        path : str or os.PathLike
            A file written by :meth:`save` of this model type.

        Returns
        -------
        object
            The model, with the state it was saved with.

        Examples
        --------
        >>> import os, tempfile
        >>> from incidentml import IncidentPredictor, TriageModel
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = IncidentPredictor().save(os.path.join(tmp, "pred.incidentml"))
        ...     print(type(IncidentPredictor.load(path)).__name__)
        ...     try:
        ...         TriageModel.load(path)
        ...     except ModelFileError as exc:
        ...         print("refused:", type(exc).__name__)
        IncidentPredictor
        refused: ModelFileError
        """
        obj, _ = load_model_file(path, expected_kind=cls._model_kind)
        if not isinstance(obj, cls):
            found = type(obj).__name__
            msg = f"Model file '{path}' holds a {found}, not a {cls.__name__}. Load it with {found}.load."
            raise ModelFileError(msg)
        return obj
