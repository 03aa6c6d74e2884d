"""Model files: a JSON manifest and a pickle payload, both covered by a SHA-256 digest (and an optional HMAC),
loaded through an unpickler that can only build what incidentml's own models are made of.

Layout of a file (format version 2)::

    b"INCIDENTML-MODEL\\n"                 magic line
    b"<manifest length>\\n"                decimal byte count of the manifest
    <manifest JSON, UTF-8, canonical>     sorted keys, no spaces, ASCII only
    <payload: zlib-compressed pickle (protocol 5)>

The manifest is read *before* anything is unpickled: it carries the format version, the
incidentml and dependency versions, what the model is (``kind``, labels, metrics, ...), the
payload's length and SHA-256, and ``digest_sha256``, a SHA-256 over the canonical manifest
(without its digest fields) and the payload. When the environment variable
``INCIDENTML_MODEL_KEY`` is set at save time, ``hmac_sha256`` (HMAC-SHA256 with that key over the
same bytes) is added. :func:`load_model_file` refuses a file whose magic, length line, manifest
(it must be exactly the canonical text incidentml writes), digest, signature or version does not
match, so a truncated, bit-flipped or hand-edited file is never unpickled.

Trust model
-----------
A digest only proves the file is intact; anyone can compute one. Loading is therefore safe by
default: the payload is read by a restricted unpickler (:data:`ALLOWED_GLOBALS`) that can build
incidentml's own classes, scikit-learn and river classes, and a fixed list of numpy, pandas,
pyarrow, scipy.sparse and standard-library types and reconstructors. Anything else (``os.system``,
``builtins.eval``, ``numpy.load``, a class of your own, ...) is refused with a
:class:`~incidentml.exceptions.ModelFileError` before it is called. ``trusted=True`` (``--trust-model``
on the command line) lifts that limit for a file from a source you trust; it is also needed for
files of format version 1 (joblib pickles, the format before this one),
whose manifest no digest covers. The HMAC proves who wrote a file: with ``INCIDENTML_MODEL_KEY``
set, unsigned files and files signed with another key are refused. A set but empty key is an error.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import pickle
import stat
import tempfile
import zlib
from pathlib import Path
from typing import Any, ClassVar

from ..exceptions import ModelFileError

__all__ = [
    "ALLOWED_GLOBALS",
    "FORMAT_VERSION",
    "KEY_ENV",
    "PersistenceMixin",
    "load_model_file",
    "read_manifest",
    "save_model_file",
]

MAGIC = b"INCIDENTML-MODEL\n"
FORMAT_VERSION = 2
KEY_ENV = "INCIDENTML_MODEL_KEY"
_LEGACY_FORMAT = 1
_ENCODING = "pickle-5+zlib"
_PROTOCOL = 5
_ZLIB_LEVEL = 3
_DIGEST_FIELDS = ("digest_sha256", "hmac_sha256")
_MAX_MANIFEST = 16 * 1024 * 1024
_TRUST_HINT = ("Load it with trusted=True (Python) or --trust-model (command line) only if the file comes from a "
               "source you trust: unpickling a file can run any code it names.")

# -- what the restricted unpickler may build ---------------------------------------------------------------
# Found by tracing Unpickler.find_class while loading a saved instance of every model type (TriageModel,
# TriageClassifier, OnlineTriage with its TriageDriftMonitor, every detector of
# incidentml.anomaly.available_detectors() fitted and unfitted, Ensemble, IncidentPredictor plain / with
# feedback / with limits, SimilarIncidents plain / LSA / over a frame of every common pandas dtype, the fleet's
# PartitionState), plus the pandas, numpy and datetime pieces a user's own columns bring into SimilarIncidents
# and OnlineTriage row histories, and the module paths numpy 1.26 and pandas 2.x write for the same objects.
# Only classes (types) and reconstructor functions that build a value from data are listed; nothing that
# reads files, imports modules or evaluates code. tests/test_persistence.py re-traces every model type.
ALLOWED_GLOBALS: dict[str, frozenset[str]] = {
    "builtins": frozenset({"bool", "bytearray", "bytes", "complex", "dict", "float", "frozenset", "int", "list",
                           "range", "set", "slice", "str", "tuple"}),
    "collections": frozenset({"Counter", "OrderedDict", "defaultdict", "deque"}),
    "datetime": frozenset({"date", "datetime", "time", "timedelta", "timezone"}),
    "functools": frozenset({"partial"}),  # river's half-space trees: partial(tuple); it can only wrap listed names
    "random": frozenset({"Random"}),
    "zoneinfo": frozenset({"ZoneInfo"}),
    "pytz": frozenset({"_UTC", "_p"}),  # pandas 2.x time zones
    "incidentml.triage._online": frozenset({"_tokens"}),  # the tokenizer of OnlineTriage's bag of words
    # numpy (numpy.core.* is what numpy 1.x writes, numpy._core.* numpy 2.x)
    "numpy": frozenset({"dtype", "ndarray", "bool_", "bytes_", "str_", "object_", "datetime64", "timedelta64",
                        "float16", "float32", "float64", "longdouble", "complex64", "complex128",
                        "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}),
    "numpy._core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy.core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy._core.numeric": frozenset({"_frombuffer"}),
    "numpy.core.numeric": frozenset({"_frombuffer"}),
    "numpy.random._pickle": frozenset({"__bit_generator_ctor", "__generator_ctor", "__randomstate_ctor"}),
    "numpy.random._mt19937": frozenset({"MT19937"}),
    "numpy.random._pcg64": frozenset({"PCG64", "PCG64DXSM"}),
    "numpy.random._philox": frozenset({"Philox"}),
    "numpy.random._sfc64": frozenset({"SFC64"}),
    "numpy.random._generator": frozenset({"Generator"}),
    "numpy.random.mtrand": frozenset({"RandomState"}),
    "numpy.random.bit_generator": frozenset({"SeedSequence", "__pyx_unpickle_SeedSequence"}),
    "scipy.sparse._csr": frozenset({"csr_array", "csr_matrix"}),
    "scipy.sparse._csc": frozenset({"csc_array", "csc_matrix"}),
    "scipy.sparse._coo": frozenset({"coo_array", "coo_matrix"}),
    # pandas 3 writes the public names ...
    "pandas": frozenset({"ArrowDtype", "BooleanDtype", "Categorical", "CategoricalDtype", "CategoricalIndex",
                         "DataFrame", "DatetimeIndex", "DatetimeTZDtype", "Float32Dtype", "Float64Dtype", "Index",
                         "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype", "Interval", "IntervalDtype",
                         "IntervalIndex", "MultiIndex", "NA", "Period", "PeriodDtype", "PeriodIndex", "RangeIndex",
                         "Series", "StringDtype", "TimedeltaIndex", "UInt8Dtype", "UInt16Dtype", "UInt32Dtype",
                         "UInt64Dtype"}),
    "pandas.arrays": frozenset({"ArrowExtensionArray", "ArrowStringArray", "BooleanArray", "DatetimeArray",
                                "FloatingArray", "IntegerArray", "IntervalArray", "PeriodArray", "StringArray",
                                "TimedeltaArray"}),
    "pandas._libs.arrays": frozenset({"__pyx_unpickle_NDArrayBacked"}),
    "pandas._libs.internals": frozenset({"_unpickle_block"}),
    "pandas._libs.tslibs.nattype": frozenset({"_nat_unpickle", "__nat_unpickle"}),
    "pandas._libs.tslibs.timedeltas": frozenset({"_timedelta_unpickle"}),
    "pandas._libs.tslibs.timestamps": frozenset({"_unpickle_timestamp"}),
    "pandas._libs.tslibs.offsets": frozenset({"BusinessDay", "Day", "Hour", "Micro", "Milli", "Minute", "MonthBegin",
                                              "MonthEnd", "Nano", "QuarterBegin", "QuarterEnd", "Second", "Week",
                                              "YearBegin", "YearEnd"}),
    "pandas.core.indexes.base": frozenset({"Index", "_new_Index"}),
    "pandas.core.indexes.datetimes": frozenset({"DatetimeIndex", "_new_DatetimeIndex"}),
    "pandas.core.indexes.interval": frozenset({"IntervalIndex", "_new_IntervalIndex"}),
    "pandas.core.indexes.timedeltas": frozenset({"TimedeltaIndex", "_new_TimedeltaIndex"}),
    "pandas.core.internals.managers": frozenset({"BlockManager", "SingleBlockManager"}),
    # ... and pandas 2.x the defining modules
    "pandas.core.frame": frozenset({"DataFrame"}),
    "pandas.core.series": frozenset({"Series"}),
    "pandas.core.indexes.range": frozenset({"RangeIndex"}),
    "pandas.core.indexes.multi": frozenset({"MultiIndex"}),
    "pandas.core.indexes.category": frozenset({"CategoricalIndex"}),
    "pandas.core.indexes.period": frozenset({"PeriodIndex"}),
    "pandas.core.arrays.categorical": frozenset({"Categorical"}),
    "pandas.core.arrays.datetimes": frozenset({"DatetimeArray"}),
    "pandas.core.arrays.timedeltas": frozenset({"TimedeltaArray"}),
    "pandas.core.arrays.period": frozenset({"PeriodArray"}),
    "pandas.core.arrays.interval": frozenset({"IntervalArray"}),
    "pandas.core.arrays.integer": frozenset({"IntegerArray", "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype",
                                             "UInt8Dtype", "UInt16Dtype", "UInt32Dtype", "UInt64Dtype"}),
    "pandas.core.arrays.floating": frozenset({"FloatingArray", "Float32Dtype", "Float64Dtype"}),
    "pandas.core.arrays.boolean": frozenset({"BooleanArray", "BooleanDtype"}),
    "pandas.core.arrays.string_": frozenset({"StringArray", "StringDtype"}),
    "pandas.core.arrays.string_arrow": frozenset({"ArrowStringArray", "ArrowStringArrayNumpySemantics"}),
    "pandas.core.arrays.arrow.array": frozenset({"ArrowExtensionArray"}),
    "pandas.core.dtypes.dtypes": frozenset({"ArrowDtype", "CategoricalDtype", "DatetimeTZDtype", "IntervalDtype",
                                            "PeriodDtype"}),
    "pandas._libs.interval": frozenset({"Interval"}),
    "pandas._libs.missing": frozenset({"NA"}),
    "pandas._libs.tslibs.period": frozenset({"Period"}),
    # pyarrow arrays behind pandas' default (pyarrow) string columns
    "pyarrow.lib": frozenset({"_restore_array", "py_buffer", "type_for_alias"}),
}
# Packages whose own classes may be built (a class defined in the package, found by a plain name: no
# functions, no re-exports such as a class another library defines, no ``__main__``).
CLASS_PACKAGES = ("incidentml", "sklearn", "river")
# incidentml classes that touch the file system when built: never from a model file.
_NEVER = frozenset({("incidentml.fleet._state", "StateStore"), ("incidentml.fleet._io", "FrameWriter")})
# ``builtins.getattr`` itself is never handed out: the name resolves to a guard that returns only these.
_GETATTR_ALLOWED = frozenset({("zoneinfo", "ZoneInfo", "_unpickle")})


class _Refused(pickle.UnpicklingError):
    """A global outside the allow-list; ``name`` is ``module.name``."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _guarded_getattr(obj: Any, attr: str, *default: Any) -> Any:
    """``getattr`` for the few reconstructors that need it (``ZoneInfo._unpickle``); refuses the rest."""
    owner = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None), attr
    if isinstance(obj, type) and owner in _GETATTR_ALLOWED:
        return getattr(obj, attr)
    raise _Refused(f"builtins.getattr({getattr(obj, '__qualname__', type(obj).__name__)}, {attr!r})")


def _package_class(module: str, name: str) -> bool:
    """Whether ``module.name`` may name a class of one of :data:`CLASS_PACKAGES` (checked before importing)."""
    parts = module.split(".")
    if parts[0] not in CLASS_PACKAGES or any(p.startswith("__") for p in parts) or module.startswith("incidentml.cli"):
        return False
    return name.isidentifier() and not name.startswith("__") and (module, name) not in _NEVER


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` resolves only :data:`ALLOWED_GLOBALS` and package classes."""

    def find_class(self, module: str, name: str) -> Any:  # noqa: D102 - pickle.Unpickler hook
        if module == "builtins" and name == "getattr":
            return _guarded_getattr
        if name in ALLOWED_GLOBALS.get(module, ()):
            return super().find_class(module, name)
        if _package_class(module, name):
            obj = super().find_class(module, name)
            defined = getattr(obj, "__module__", "") or ""
            if (isinstance(obj, type) and defined.split(".")[0] == module.split(".")[0]
                    and _package_class(defined, obj.__qualname__)):
                return obj
        raise _Refused(f"{module}.{name}")


# -- keys, canonical bytes, digests ---------------------------------------------------------------------------
def _key(path: str | os.PathLike[str], action: str) -> bytes | None:
    """The signing key from ``INCIDENTML_MODEL_KEY``: ``None`` when unset, an error when set but empty."""
    key = os.environ.get(KEY_ENV)
    if key is None:
        return None
    if not key.strip():
        msg = (f"{KEY_ENV} is set but empty, so there is no key to {action} '{path}' with. Set {KEY_ENV} to the "
               "signing key, or unset it to work with unsigned files.")
        raise ModelFileError(msg)
    return key.encode("utf-8")


def _canonical(manifest: dict[str, Any]) -> bytes:
    """The one byte form of a manifest: sorted keys, no spaces, ASCII only."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _covered(manifest: dict[str, Any], payload: bytes) -> bytes:
    """What the digest and the HMAC cover: the canonical manifest without its digest fields, then the payload."""
    unsigned = {k: v for k, v in manifest.items() if k not in _DIGEST_FIELDS}
    return _canonical(unsigned) + b"\0" + payload


def _legacy_signature(key: bytes, manifest: dict[str, Any], payload: bytes) -> str:
    """The HMAC of format version 1 files."""
    unsigned = {k: v for k, v in manifest.items() if k != "hmac_sha256"}
    body = json.dumps(unsigned, sort_keys=True).encode("utf-8")
    return hmac.new(key, body + b"\0" + payload, hashlib.sha256).hexdigest()


def _check_target(path: Path) -> os.stat_result | None:
    """Refuse a save target that is not a regular file (or a missing file in an existing folder)."""
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        msg = f"Cannot save the model to '{path}': the folder '{folder}' {what}. Create it first."
        raise ModelFileError(msg)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(st.st_mode):
        return st
    if stat.S_ISLNK(st.st_mode):
        what = (f"a symbolic link (to '{os.readlink(path)}'); saving would replace the link, not the file it points "
                "to. Save to the real path, or remove the link first")
    elif stat.S_ISDIR(st.st_mode):
        what = "a folder; give the path of a model file inside it, such as model.incidentml"
    else:
        kind = "FIFO" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "device node"
        what = f"a {kind}, not a regular file; refusing to replace it. Give the path of a model file"
    msg = f"Cannot save the model to '{path}': it is {what}."
    raise ModelFileError(msg)


def save_model_file(obj: Any, path: str | os.PathLike[str], manifest: dict[str, Any]) -> Path:
    """Write ``obj`` with ``manifest`` to ``path`` atomically and return the path.

    The file is written next to the target, fsynced and renamed over it, so an existing model at
    ``path`` is never left half-written. Only a missing path or a regular file is replaced: a
    symbolic link, folder, FIFO or device node at ``path`` is refused before anything is written.

    The payload is a pickle (protocol 5, zlib-compressed: format version 2); the digest
    ``digest_sha256`` covers the manifest and the payload.

    Parameters
    ----------
    obj : object
        Anything that pickles.
    path : str or os.PathLike
        The file to write; its folder must exist.
    manifest : dict
        JSON-serialisable facts about ``obj`` (``kind``, ``incidentml_version``, ...); values JSON
        cannot hold are written as text. The format version, payload encoding and sizes, the
        payload's SHA-256, ``digest_sha256`` (manifest and payload) and, with
        ``INCIDENTML_MODEL_KEY`` set, ``hmac_sha256`` are added.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ModelFileError
        ``path`` is a symbolic link, folder, FIFO or device node, its folder does not exist, or
        ``INCIDENTML_MODEL_KEY`` is set but empty.

    Examples
    --------
    >>> import os, tempfile
    >>> import incidentml
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_model_file({"weights": [1, 2]}, os.path.join(tmp, "m.incidentml"),
    ...                            {"kind": "demo", "incidentml_version": incidentml.__version__})
    ...     obj, manifest = load_model_file(path, expected_kind="demo")
    >>> obj, manifest["kind"], manifest["format_version"]
    ({'weights': [1, 2]}, 'demo', 2)
    """
    path = Path(path)
    key = _key(path, "sign")
    before = _check_target(path)
    raw = pickle.dumps(obj, protocol=_PROTOCOL)
    payload = zlib.compress(raw, _ZLIB_LEVEL)
    clean = json.loads(json.dumps(dict(manifest), default=str))
    for field in (*_DIGEST_FIELDS, "payload_sha256"):
        clean.pop(field, None)
    clean.update({"format_version": FORMAT_VERSION, "payload_encoding": _ENCODING, "payload_bytes": len(payload),
                  "pickle_bytes": len(raw), "payload_sha256": hashlib.sha256(payload).hexdigest()})
    covered = _covered(clean, payload)
    clean["digest_sha256"] = hashlib.sha256(covered).hexdigest()
    if key is not None:
        clean["hmac_sha256"] = hmac.new(key, covered, hashlib.sha256).hexdigest()
    head = _canonical(clean)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC)
            fh.write(f"{len(head)}\n".encode("ascii"))
            fh.write(head)
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if before is not None:
            os.chmod(tmp, stat.S_IMODE(before.st_mode))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a key appears twice")
    return out


def _read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], bytes]:
    """Split a model file into its parsed manifest and its payload (nothing is unpickled)."""
    path = Path(path)
    if not path.exists():
        msg = f"Model file '{path}' does not exist. Check the path, or train one with 'incidentml triage train'."
        raise ModelFileError(msg)
    if path.is_dir():
        msg = f"Model path '{path}' is a folder; give the path of a model file."
        raise ModelFileError(msg)
    if not path.is_file():
        msg = f"Model path '{path}' is not a regular file (a FIFO, socket or device); give the path of a model file."
        raise ModelFileError(msg)
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        msg = (f"'{path}' is not an incidentml model file (it does not start with the incidentml header). "
               "Load files written by TriageModel.save.")
        raise ModelFileError(msg)
    rest = data[len(MAGIC):]
    newline = rest.find(b"\n", 0, 32)
    line = rest[:newline] if newline > 0 else b""
    size = int(line) if line.isdigit() and not line.startswith(b"0") else -1
    if size < 0 or size > _MAX_MANIFEST or len(rest) < newline + 1 + size:
        msg = (f"Model file '{path}' is truncated or corrupt (its manifest length line or manifest is incomplete). "
               "Save the model again.")
        raise ModelFileError(msg)
    body = rest[newline + 1:newline + 1 + size]
    try:
        manifest = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        msg = f"Model file '{path}' has an unreadable manifest ({exc}). Save the model again."
        raise ModelFileError(msg) from None
    if not isinstance(manifest, dict):
        msg = f"Model file '{path}' has a manifest that is not a JSON object. Save the model again."
        raise ModelFileError(msg)
    if manifest.get("format_version") != _LEGACY_FORMAT and body != _canonical(manifest):
        msg = (f"Model file '{path}' is corrupt or was modified: its manifest is not the exact text incidentml "
               "writes (was it edited?). Refusing to load it; save the model again.")
        raise ModelFileError(msg)
    return manifest, rest[newline + 1 + size:]


def _check_digest(path: str | os.PathLike[str], manifest: dict[str, Any], payload: bytes) -> None:
    """Refuse a format-2 file whose payload size, payload SHA-256 or manifest+payload digest does not match."""
    if len(payload) != manifest.get("payload_bytes"):
        msg = (f"Model file '{path}' is truncated or corrupt: its payload has {len(payload)} bytes, the manifest "
               f"says {manifest.get('payload_bytes')}. Copy or save the file again.")
        raise ModelFileError(msg)
    if not hmac.compare_digest(hashlib.sha256(_covered(manifest, payload)).hexdigest(),
                               str(manifest.get("digest_sha256", ""))):
        msg = (f"Model file '{path}' is corrupt or was modified: its manifest and payload do not match its "
               "SHA-256 digest (digest_sha256). Refusing to load it; save the model again.")
        raise ModelFileError(msg)
    if not hmac.compare_digest(hashlib.sha256(payload).hexdigest(), str(manifest.get("payload_sha256", ""))):
        msg = (f"Model file '{path}' is corrupt or was modified: its payload does not match its SHA-256 "
               "(payload_sha256). Refusing to load it.")
        raise ModelFileError(msg)


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the JSON manifest of a model file without unpickling anything.

    For a file of the current format the manifest is returned only if it matches the file's
    digest (``digest_sha256``), so what it says about the model is what was saved. The HMAC is
    checked by :func:`load_model_file`, not here.

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
        The file is missing, not a model file, its manifest is truncated or unreadable, or it
        does not match the file's digest.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_model_file([1, 2, 3], os.path.join(tmp, "m.incidentml"), {"kind": "demo"})
    ...     manifest = read_manifest(path)
    >>> manifest["kind"], manifest["format_version"], manifest["digest_sha256"]
    ('demo', 2, '...')
    """
    manifest, payload = _read(path)
    if manifest.get("format_version") != _LEGACY_FORMAT:
        _check_digest(path, manifest, payload)
    return manifest


def _check_signature(path: str | os.PathLike[str], manifest: dict[str, Any], payload: bytes, legacy: bool) -> None:
    key = _key(path, "check")
    signed = "hmac_sha256" in manifest
    if key is not None:
        if not signed:
            msg = (f"Model file '{path}' is not signed, but {KEY_ENV} is set, so only signed files are accepted. "
                   f"Save the model again with {KEY_ENV} set.")
            raise ModelFileError(msg)
        want = (_legacy_signature(key, manifest, payload) if legacy
                else hmac.new(key, _covered(manifest, payload), hashlib.sha256).hexdigest())
        if not hmac.compare_digest(want, str(manifest["hmac_sha256"])):
            msg = (f"Model file '{path}' failed its HMAC check (hmac_sha256): it was modified, or signed with "
                   f"another key than {KEY_ENV}. Refusing to load it.")
            raise ModelFileError(msg)
    elif signed:
        msg = (f"Model file '{path}' is signed, but {KEY_ENV} is not set, so its signature cannot be checked. "
               f"Set {KEY_ENV} to the key it was saved with.")
        raise ModelFileError(msg)


def _unpickle(path: str | os.PathLike[str], manifest: dict[str, Any], payload: bytes, trusted: bool) -> Any:
    """Decompress and unpickle a format-2 payload (through the allow-list unless ``trusted``)."""
    if manifest.get("payload_encoding") != _ENCODING:
        msg = (f"Model file '{path}' has payload encoding {manifest.get('payload_encoding')!r}; this incidentml "
               f"reads {_ENCODING!r}. Save the model again.")
        raise ModelFileError(msg)
    expected = manifest.get("pickle_bytes")
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(payload, expected + 1 if isinstance(expected, int) and expected >= 0 else 0)
    except zlib.error as exc:
        msg = f"Model file '{path}' has a payload that does not decompress ({exc}). Save the model again."
        raise ModelFileError(msg) from None
    if len(raw) != expected or not inflater.eof:
        msg = (f"Model file '{path}' is corrupt: its payload does not decompress to the {expected} bytes the "
               "manifest says (pickle_bytes). Save the model again.")
        raise ModelFileError(msg)
    unpickler = pickle.Unpickler if trusted else _RestrictedUnpickler
    try:
        return unpickler(io.BytesIO(raw)).load()
    except _Refused as exc:
        msg = (f"Model file '{path}' names {exc.name}, which a model file may not build (the safe loader builds "
               "only incidentml, scikit-learn and river classes and the numpy, pandas and standard-library types "
               f"they are made of); nothing of it was run. {_TRUST_HINT}")
        raise ModelFileError(msg) from None
    except Exception as exc:  # noqa: BLE001 - any unpickling failure becomes one clear error
        msg = f"Model file '{path}' could not be unpickled ({type(exc).__name__}: {exc}). Retrain it with this version."
        raise ModelFileError(msg) from exc


def load_model_file(path: str | os.PathLike[str], *, expected_kind: str | None = None,
                    trusted: bool = False) -> tuple[Any, dict[str, Any]]:
    """Check and load a model file written by :func:`save_model_file`.

    Every check runs before anything is unpickled: the header, the manifest (exactly the
    canonical text incidentml writes), the digest over manifest and payload, the HMAC
    (``INCIDENTML_MODEL_KEY``), the format and incidentml versions and ``expected_kind``. The
    payload is then unpickled by a restricted unpickler that can only build
    :data:`ALLOWED_GLOBALS` and the classes of incidentml, scikit-learn and river.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    expected_kind : str or None, default=None
        When given, the manifest's ``kind`` must equal it.
    trusted : bool, default=False
        Unpickle without the allow-list (and accept format-1 joblib files). Only for a file from
        a source you trust: unpickling can run any code the file names. The digests and the
        HMAC are checked either way.

    Returns
    -------
    obj, manifest
        The unpickled object and its manifest.

    Raises
    ------
    ModelFileError
        The file is missing, not a model file, truncated, bit-flipped or edited (manifest or
        payload), from an incompatible format or incidentml version, its HMAC does not verify
        with ``INCIDENTML_MODEL_KEY`` (or that variable is set but empty), or, unless
        ``trusted``, it names a global outside the allow-list (the message names it) or is a
        format-1 file.

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
    incidentml.exceptions.ModelFileError: Model file '...' is truncated or corrupt: ...

    A file that names anything outside the allow-list is refused before it is called:

    >>> import operator
    >>> path = save_model_file(operator.add, os.path.join(tmp.name, "f.incidentml"),
    ...                        {"kind": "demo", "incidentml_version": incidentml.__version__})
    >>> load_model_file(path)
    Traceback (most recent call last):
    ...
    incidentml.exceptions.ModelFileError: Model file '...' names _operator.add, which a model file may not build ...
    >>> load_model_file(path, trusted=True)[0](2, 3)
    5
    >>> tmp.cleanup()
    """
    from .. import __version__

    manifest, payload = _read(path)
    fmt = manifest.get("format_version")
    legacy = fmt == _LEGACY_FORMAT
    if legacy:
        if not trusted:
            msg = (f"Model file '{path}' has format version 1 (a joblib pickle, the format incidentml wrote "
                   "before version 2): no digest covers its manifest and the safe loader cannot read it. "
                   f"{_TRUST_HINT} Save it again to write format version {FORMAT_VERSION}.")
            raise ModelFileError(msg)
        if len(payload) != manifest.get("payload_bytes"):
            msg = (f"Model file '{path}' is truncated: its payload has {len(payload)} bytes, the manifest says "
                   f"{manifest.get('payload_bytes')}. Copy or save the file again.")
            raise ModelFileError(msg)
        if not hmac.compare_digest(hashlib.sha256(payload).hexdigest(), str(manifest.get("payload_sha256", ""))):
            msg = (f"Model file '{path}' is corrupt or was modified: its payload does not match its SHA-256. "
                   "Refusing to load it.")
            raise ModelFileError(msg)
    else:
        _check_digest(path, manifest, payload)
    _check_signature(path, manifest, payload, legacy)
    if fmt not in (FORMAT_VERSION, _LEGACY_FORMAT):
        msg = (f"Model file '{path}' has format version {fmt!r}; this incidentml ({__version__}) reads version "
               f"{FORMAT_VERSION} (and {_LEGACY_FORMAT} with trusted=True). Retrain the model with this version.")
        raise ModelFileError(msg)
    saved = str(manifest.get("incidentml_version", ""))
    if saved.split(".")[:2] != __version__.split(".")[:2]:
        msg = (f"Model file '{path}' was written by incidentml {saved or 'unknown'}, which is not compatible with "
               f"the installed {__version__} (major.minor must match). Retrain or install incidentml {saved}.")
        raise ModelFileError(msg)
    if expected_kind is not None and manifest.get("kind") != expected_kind:
        msg = f"Model file '{path}' holds a {manifest.get('kind')!r}, not a {expected_kind!r}."
        raise ModelFileError(msg)
    if legacy:
        import joblib

        try:
            return joblib.load(io.BytesIO(payload)), manifest
        except Exception as exc:  # noqa: BLE001 - any unpickling failure becomes one clear error
            msg = (f"Model file '{path}' could not be unpickled ({type(exc).__name__}: {exc}). "
                   "Retrain it with this version.")
            raise ModelFileError(msg) from exc
    return _unpickle(path, manifest, payload, trusted), manifest


class PersistenceMixin:
    """``save``/``load`` for every incidentml model type, through one checked file format.

    A class sets ``_model_kind`` (the manifest's ``kind``, checked on load before anything is
    unpickled) and may extend :meth:`_manifest_extra` with what a reader should see without
    loading the model (labels, metrics, entities). Files are written atomically with a manifest
    and a digest over manifest and payload (and an HMAC when ``INCIDENTML_MODEL_KEY`` is set);
    :meth:`load` checks them and unpickles through the restricted unpickler unless
    ``trusted=True``.

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
        import pandas as pd

        from .. import __version__

        get_params = getattr(self, "get_params", None)
        params = get_params(deep=False) if callable(get_params) else {}
        manifest: dict[str, Any] = {
            "kind": self._model_kind,
            "class": type(self).__name__,
            "incidentml_version": __version__,
            "dependencies": {"python": platform.python_version(), "numpy": np.__version__,
                             "pandas": pd.__version__},
            "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "params": {k: repr(v) for k, v in params.items()},
        }
        manifest.update(self._manifest_extra())
        return manifest

    def save(self, path: str | os.PathLike[str]) -> str:
        """Save the model, state included, to ``path``; returns the path as a string.

        Written atomically (a temporary file in the same folder, fsynced, renamed over the
        target), with a manifest and a digest over manifest and payload (and an HMAC when
        ``INCIDENTML_MODEL_KEY`` is set). Only a missing path or a regular file is replaced.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write; its folder must exist.

        Returns
        -------
        str

        Raises
        ------
        ModelFileError
            ``path`` is a symbolic link, folder, FIFO or device node, its folder does not exist,
            or ``INCIDENTML_MODEL_KEY`` is set but empty.

        Examples
        --------
        >>> import os, tempfile
        >>> from incidentml import make_detector
        >>> det = make_detector("robust")
        >>> det.learn_one({"cpu": 0.4})
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = det.save(os.path.join(tmp, "robust.incidentml"))
        ...     print(os.path.basename(path), type(det).load(path).n_seen_)
        ...     try:
        ...         det.save(tmp)
        ...     except ModelFileError as exc:
        ...         print("refused:", "is a folder" in str(exc))
        robust.incidentml 1
        refused: True
        """
        return str(save_model_file(self, path, self._manifest()))

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, trusted: bool = False) -> Any:
        """Load a model written by :meth:`save`, after checking its manifest, digest and HMAC.

        Raises :class:`~incidentml.exceptions.ModelFileError` when the file is not an intact
        model of this type (nothing of it is used or run). The payload is unpickled by the
        restricted unpickler of :func:`load_model_file`, which can only build incidentml,
        scikit-learn and river classes and the numpy, pandas and standard-library types they
        are made of.

        Parameters
        ----------
        path : str or os.PathLike
            A file written by :meth:`save` of this model type.
        trusted : bool, default=False
            Unpickle without the allow-list, and accept format-1 (joblib) files. Only for a file
            from a source you trust: unpickling can run any code the file names.

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
        obj, _ = load_model_file(path, expected_kind=cls._model_kind, trusted=trusted)
        if not isinstance(obj, cls):
            found = type(obj).__name__
            msg = f"Model file '{path}' holds a {found}, not a {cls.__name__}. Load it with {found}.load."
            raise ModelFileError(msg)
        return obj
