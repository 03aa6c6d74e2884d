"""Incremental runs: per-partition state saved at the end of a batch and resumed on the next.

A state directory holds a ``manifest.json`` (what the state is for: the job, the number of
partitions, the detector and its parameters), a ``CURRENT`` file naming the committed generation,
and one folder per generation with one model file per partition (``part-00017.state``, written
with :func:`incidentml.utils.save_model_file`: a checked manifest, a SHA-256, atomic).

A batch writes its partitions into a new, uncommitted generation and commits it last, by
replacing ``CURRENT`` atomically once the output is written, so a job killed at any moment leaves
either the previous state or the new one, never a mix: rerunning the batch gives the same result.
A series (or entity) is always in the same partition (a CRC-32 of its name modulo the number of
partitions, fixed when the state is created).
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError, ModelFileError
from ..utils import PersistenceMixin, atomic_write_text

__all__ = ["DEFAULT_PARTITIONS", "PartitionState", "StateStore", "partition_of"]

#: Partitions of a new state directory (series are spread over them by a hash of their name).
DEFAULT_PARTITIONS = 64

_FORMAT = 1


def partition_of(keys: Any, n_partitions: int) -> np.ndarray:
    """The partition of each key: CRC-32 of its text modulo ``n_partitions`` (stable everywhere).

    Parameters
    ----------
    keys : array-like of shape (n,)
        Series or entity names (anything is taken by its text).
    n_partitions : int
        The number of partitions.

    Returns
    -------
    numpy.ndarray of shape (n,)
        Each key's partition, in ``[0, n_partitions)``.

    Examples
    --------
    >>> partition_of(["web-1", "web-2", "web-1"], 8).tolist()
    [0, 2, 0]
    """
    values = pd.Series(keys, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    table = np.array([zlib.crc32(str(u).encode("utf-8")) % n_partitions for u in uniques], dtype=np.int64)
    return table[codes] if len(table) else np.zeros(0, dtype=np.int64)


class PartitionState(PersistenceMixin):
    """What one partition remembers: a model per key and the last time each key was scored.

    ``models`` maps a series (or entity) to its detector (or incident predictor); ``last_t``
    maps it to the latest timestamp (epoch seconds) already learnt from.

    Parameters
    ----------
    models : dict of str to object or None, default=None
        A model per key.
    last_t : dict of str to float or None, default=None
        The latest timestamp learnt from, per key.

    Examples
    --------
    >>> import os, tempfile
    >>> from incidentml import make_detector
    >>> det = make_detector("robust")
    >>> det.learn_one(0.5, t=60.0)
    >>> state = PartitionState({"web-1.cpu": det}, {"web-1.cpu": 60.0})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     back = PartitionState.load(state.save(os.path.join(tmp, "part-00000.state")))
    >>> back.last_t, back.models["web-1.cpu"].n_seen_
    ({'web-1.cpu': 60.0}, 1)
    """

    _model_kind = "incidentml.fleet.PartitionState"

    def __init__(self, models: dict[str, Any] | None = None, last_t: dict[str, float] | None = None) -> None:
        self.models = {} if models is None else models
        self.last_t = {} if last_t is None else last_t

    def _manifest_extra(self) -> dict[str, Any]:
        return {"keys": len(self.models)}


class StateStore:
    """A state directory for one kind of job (``"score"`` or ``"incidents"``).

    Parameters
    ----------
    path : path-like
        The directory (created when missing).
    job : str
        What the state is for; a directory made for another job is refused.
    config : dict
        What must match between runs (detector name, parameters...); a mismatch is refused, because
        resuming with another detector would mix two models' answers.
    n_partitions : int, default=64
        Used only when the directory is new.

        Examples
        --------
        A batch saves the partitions it touched into a pending generation, then commits it:

        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> store = StateStore(tmp.name, job="score", config={"detector": "robust"}, n_partitions=4)
        >>> store.save(2, PartitionState(last_t={"web-1.cpu": 60.0}))
        >>> store.load(2).last_t  # not committed yet
        {}
        >>> store.commit()
        >>> store.load(2).last_t, store.generation
        ({'web-1.cpu': 60.0}, 1)
        >>> StateStore(tmp.name, job="score", config={"detector": "default"})
        Traceback (most recent call last):
        ...
        incidentml.exceptions.ModelFileError: State directory '...' was made with {'detector': 'robust'}, ...
        >>> tmp.cleanup()
    """

    def __init__(self, path: str | os.PathLike[str], *, job: str, config: dict[str, Any],
                 n_partitions: int = DEFAULT_PARTITIONS) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise DataError(f"--state / state: '{self.path}' is a file; give a directory (created when missing).")
        self.path.mkdir(parents=True, exist_ok=True)
        manifest_path = self.path / "manifest.json"
        config = json.loads(json.dumps(config, default=repr))
        if manifest_path.exists():
            try:
                manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ModelFileError(f"State directory '{self.path}': manifest.json is unreadable ({exc}).") from None
            if manifest.get("format") != _FORMAT or manifest.get("job") != job:
                msg = (f"State directory '{self.path}' holds state of job {manifest.get('job')!r} (format "
                       f"{manifest.get('format')!r}), not of {job!r}. Give another directory.")
                raise ModelFileError(msg)
            if manifest.get("config") != config:
                msg = (f"State directory '{self.path}' was made with {manifest.get('config')}, not {config}: "
                       "resuming with other settings would mix two models. Use the same settings or a new "
                       "directory.")
                raise ModelFileError(msg)
            self.n_partitions = int(manifest["n_partitions"])
        else:
            self.n_partitions = int(n_partitions)
            manifest = {"format": _FORMAT, "job": job, "n_partitions": self.n_partitions, "config": config}
            atomic_write_text(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        current = self.path / "CURRENT"
        self.generation = int(current.read_text().strip()) if current.exists() else 0
        self.pending = self.generation + 1
        pending_dir = self._dir(self.pending)
        if pending_dir.exists():  # left by a run that was killed before it committed
            shutil.rmtree(pending_dir)

    def _dir(self, generation: int) -> Path:
        return self.path / f"gen-{generation:06d}"

    def _file(self, generation: int, part: int) -> Path:
        return self._dir(generation) / f"part-{part:05d}.state"

    def load(self, part: int) -> PartitionState:
        """The committed state of one partition (empty when it has none yet).

        Parameters
        ----------
        part : int
            The partition, in ``[0, n_partitions)``.

        Returns
        -------
        PartitionState

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     state = StateStore(tmp, job="score", config={}).load(0)
        >>> state.models, state.last_t
        ({}, {})
        """
        path = self._file(self.generation, part)
        if self.generation == 0 or not path.exists():
            return PartitionState()
        return PartitionState.load(path)

    def save(self, part: int, state: PartitionState) -> None:
        """Write one partition's new state into the pending generation (not yet committed).

        Parameters
        ----------
        part : int
            The partition, in ``[0, n_partitions)``.
        state : PartitionState
            Its new state.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     store = StateStore(tmp, job="score", config={}, n_partitions=4)
        ...     store.save(1, PartitionState(last_t={"a": 1.0}))
        ...     print(store.load(1).last_t, store.generation)  # still the committed (empty) generation
        {} 0
        """
        self._dir(self.pending).mkdir(exist_ok=True)
        state.save(self._file(self.pending, part))

    def commit(self) -> None:
        """Make the pending generation current; partitions it did not touch are carried over.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     store = StateStore(tmp, job="score", config={}, n_partitions=4)
        ...     store.save(0, PartitionState(last_t={"a": 1.0}))
        ...     store.commit()
        ...     store.save(1, PartitionState(last_t={"b": 2.0}))
        ...     store.commit()  # partition 0 is carried over into generation 2
        ...     print(store.generation, store.load(0).last_t, store.load(1).last_t)
        2 {'a': 1.0} {'b': 2.0}
        """
        new, old = self._dir(self.pending), self._dir(self.generation)
        new.mkdir(exist_ok=True)
        if self.generation and old.exists():
            for f in old.glob("part-*.state"):
                target = new / f.name
                if not target.exists():
                    try:
                        os.link(f, target)
                    except OSError:
                        shutil.copy2(f, target)
        atomic_write_text(self.path / "CURRENT", f"{self.pending}\n")
        previous = self.generation
        self.generation, self.pending = self.pending, self.pending + 1
        if previous and old.exists():
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        """Drop the pending generation (after a failed batch).

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     store = StateStore(tmp, job="score", config={}, n_partitions=4)
        ...     store.save(0, PartitionState(last_t={"a": 1.0}))
        ...     store.discard()
        ...     store.commit()
        ...     print(store.load(0).last_t)
        {}
        """
        shutil.rmtree(self._dir(self.pending), ignore_errors=True)

    def info(self) -> dict[str, Any]:
        """Where the state is, its committed generation and its number of partitions.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     info = StateStore(tmp, job="incidents", config={}, n_partitions=8).info()
        >>> info["generation"], info["n_partitions"]
        (0, 8)
        """
        return {"path": str(self.path), "generation": self.generation, "n_partitions": self.n_partitions}
