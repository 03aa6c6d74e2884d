"""Score whole fleets: pandas on all cores, Dask on a cluster, files in bounded memory, resumable."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..anomaly import DEFAULT_THRESHOLD, AnomalyDetector, make_detector
from ..exceptions import DataError, InvalidParameterError, SchemaError, SkippedRowsWarning
from ..utils import LongSchema, validate_long_frame
from ._core import Skipped, prepare, score_sorted
from ._incidents_core import PREDICTOR_KEY, incident_partition
from ._io import DEFAULT_CHUNK_ROWS, FrameWriter, expand_inputs, iter_chunks
from ._state import DEFAULT_PARTITIONS, PartitionState, StateStore, partition_of

__all__ = ["predict_incidents", "read_dask", "score_files", "score_fleet"]


# ------------------------------------------------------------------------------------ helpers
def _is_dask(frame: Any) -> bool:
    return type(frame).__module__.split(".")[0] in ("dask", "dask_expr")


def _n_jobs(n_jobs: int | None) -> int:
    if n_jobs is None or n_jobs == -1:
        return max(1, os.cpu_count() or 1)
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs < 1:
        raise InvalidParameterError(f"The 'n_jobs' parameter must be a positive int or -1 (all cores). Got {n_jobs!r} "
                                    "instead.")
    return n_jobs


def _detector_maker(detector: str | AnomalyDetector, params: dict[str, Any] | None) -> tuple[Callable[[], Any], dict]:
    """A factory of fresh detectors, and the config a state directory must match."""
    params = dict(params or {})
    if isinstance(detector, AnomalyDetector):
        if params:
            raise InvalidParameterError("detector_params apply to a detector name; set them on the instance instead.")
        from sklearn.base import clone

        proto = clone(detector)
        return (lambda: clone(proto)), {"detector": type(detector).__name__,
                                        "params": {k: repr(v) for k, v in proto.get_params(deep=False).items()}}
    if not isinstance(detector, str):
        raise InvalidParameterError(f"The 'detector' parameter must be a detector name or an AnomalyDetector. Got "
                                    f"{type(detector).__name__} instead.")
    make_detector(detector, **params)  # fail early on a bad name or parameter
    return (lambda: make_detector(detector, **params)), {"detector": detector,
                                                          "params": {k: repr(v) for k, v in sorted(params.items())}}


def _report(skipped: Skipped, strict: bool) -> None:
    if skipped.total:
        msg = f"{skipped.total} row(s) were not used: {skipped.describe()}."
        if strict:
            raise DataError(msg + " (strict=True)")
        warnings.warn(msg, SkippedRowsWarning, stacklevel=3)


def _schema(series_col: str, time_col: str, value_col: str, entity_col: str | None,
            time_format: str | None = None) -> LongSchema:
    return LongSchema(series_col=series_col, time_col=time_col, value_col=value_col, entity_col=entity_col,
                      time_format=time_format)


def _check_threshold(threshold: float) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise InvalidParameterError(f"The 'threshold' parameter must be a float in the range [0, 1]. Got "
                                    f"{threshold!r} instead.")


# ------------------------------------------------------------------------------------ tasks
def _bundles(parts_of_groups: np.ndarray, n_bundles: int) -> np.ndarray:
    """Bundle of each group: whole partitions dealt round-robin over ``n_bundles``."""
    uniq = np.unique(parts_of_groups)
    bundle_of_part = np.zeros(int(uniq.max()) + 1 if len(uniq) else 1, dtype=np.int64)
    bundle_of_part[uniq] = np.arange(len(uniq)) % max(1, n_bundles)
    return bundle_of_part[parts_of_groups] if len(parts_of_groups) else parts_of_groups


def _score_local(frame: pd.DataFrame, states: dict[int, PartitionState], n_partitions: int, schema: LongSchema,
                 make: Callable[[], Any], n_jobs: int) -> tuple[np.ndarray, dict[int, PartitionState], Skipped]:
    """Scores of ``frame`` (its row order): sorted once here, series spread over ``n_jobs`` processes."""
    prep = prepare(frame, schema, schema.series_col)
    parts = partition_of(prep.names, n_partitions)
    n_bundles = min(len(np.unique(parts)), n_jobs * 4) if n_jobs > 1 else 1
    bundle_of_group = _bundles(parts, n_bundles)
    lengths = prep.ends - prep.starts
    bundle_of_pos = np.repeat(bundle_of_group, lengths)
    jobs = []
    for b in range(n_bundles):
        groups = np.flatnonzero(bundle_of_group == b)
        if not len(groups):
            continue
        rows = prep.order[np.flatnonzero(bundle_of_pos == b)]
        ln = lengths[groups]
        ends = np.cumsum(ln)
        sub_states = {int(p): states.get(int(p), PartitionState()) for p in np.unique(parts[groups])}
        jobs.append((rows, (prep.names[groups], ends - ln, ends, prep.secs[rows], prep.values[rows], sub_states,
                            parts[groups], make)))
    if n_jobs > 1 and len(jobs) > 1:
        from joblib import Parallel, delayed

        # threads: the compiled kernels release the GIL, and nothing is copied or pickled
        out = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(score_sorted)(*args) for _, args in jobs)
    else:
        out = [score_sorted(*args) for _, args in jobs]
    scores = np.full(len(frame), np.nan)
    skipped = prep.skipped
    for (rows, _), (res, st, sk) in zip(jobs, out, strict=True):
        scores[rows] = res
        states.update(st)
        skipped.merge(sk)
    return scores, states, skipped


def _run_local(frame: pd.DataFrame, states: dict[int, PartitionState], n_partitions: int, schema: LongSchema,
               key_col: str, make: Callable[[], Any], n_jobs: int,
               task: Callable[..., Any]) -> tuple[list[Any], dict[int, PartitionState], Skipped]:
    """Run ``task`` over the partitions of ``frame`` on ``n_jobs`` processes; returns per-group results."""
    parts = partition_of(frame[key_col].to_numpy(dtype=object), n_partitions)
    groups = [np.flatnonzero(parts == p) for p in np.unique(parts)]
    n_groups = min(len(groups), n_jobs * 4) if n_jobs > 1 else 1
    bundles: list[np.ndarray] = [np.concatenate(groups[i::n_groups]) for i in range(n_groups)] if groups else []
    jobs = []
    for rows in bundles:
        sub = frame.iloc[rows]
        sub_parts = parts[rows]
        jobs.append((rows, sub, {int(p): states.get(int(p), PartitionState()) for p in np.unique(sub_parts)},
                     sub_parts))
    if n_jobs > 1 and len(jobs) > 1:
        from joblib import Parallel, delayed

        out = Parallel(n_jobs=n_jobs, backend="loky")(delayed(task)(sub, st, sp, schema, make)
                                                      for _, sub, st, sp in jobs)
    else:
        out = [task(sub, st, sp, schema, make) for _, sub, st, sp in jobs]
    skipped = Skipped()
    results = []
    for (rows, *_), (res, st, sk) in zip(jobs, out, strict=True):
        states.update(st)
        skipped.merge(sk)
        results.append((rows, res))
    return results, states, skipped


def _incident_task(frame: pd.DataFrame, states: dict[int, PartitionState], parts: np.ndarray, schema: LongSchema,
                   make: Callable[[], Any]) -> tuple[None, dict[int, PartitionState], Skipped]:
    skipped = Skipped()
    for p in np.unique(parts):
        rows = np.flatnonzero(parts == p)
        st = states.setdefault(int(p), PartitionState())
        skipped.merge(incident_partition(frame.iloc[rows], st, schema=schema, make=make))
    return None, states, skipped


def _load_states(store: StateStore | None, n_partitions: int) -> dict[int, PartitionState]:
    if store is None:
        return {}
    return {p: store.load(p) for p in range(n_partitions)}


def _save_states(store: StateStore | None, states: dict[int, PartitionState]) -> None:
    if store is None:
        return
    for p, st in states.items():
        if st.models:
            store.save(p, st)


# ------------------------------------------------------------------------------------ Dask
def _dask_client() -> Any:
    try:
        from distributed import get_client
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("Dask input needs dask.distributed: pip install 'incidentml[dask]'.") from None
    try:
        return get_client()
    except ValueError:
        raise DataError("A Dask DataFrame is scored on the active dask.distributed Client: start one first "
                        "(from distributed import Client; client = Client()), or pass a pandas DataFrame.") from None


def _dask_score_part(pdf: pd.DataFrame, schema: LongSchema, make: Callable[[], Any], store_args: Any,
                     n_partitions: int, mode: str) -> tuple[pd.DataFrame | None, Skipped, list[int]]:
    """One Dask partition (whole series or entities): load, run, save its partitions' state."""
    store = _reopen(store_args)
    parts = pdf["__part"].to_numpy(dtype=np.int64)
    frame = pdf.drop(columns="__part")
    states = {int(p): store.load(int(p)) if store is not None else PartitionState() for p in np.unique(parts)}
    if mode == "score":
        scores, states, skipped = _score_local(frame, states, n_partitions, schema, make, 1)
        out = frame.assign(score=scores)
        out["is_anomaly"] = False
        for col in {schema.series_col, schema.entity_col} - {None}:
            if out[col].dtype.kind not in "biufcM":  # names travel back dictionary-encoded: a third of the bytes
                out[col] = out[col].astype("category")
        result: pd.DataFrame | None = out
    else:
        _, states, skipped = _incident_task(frame, states, parts, schema, make)
        result = _incident_frame(st for st in states.values())
    _save_states(store, states)
    return result, skipped, sorted(states)


def _reopen(store_args: Any) -> StateStore | None:
    if store_args is None:
        return None
    path, generation = store_args
    store = StateStore.__new__(StateStore)
    store.path = Path(path)
    store.generation = generation
    store.pending = generation + 1
    return store


def _partition_keys(keys: pd.Series, by: str, n_partitions: int) -> np.ndarray:
    uniq = pd.unique(keys.dropna().astype(str).to_numpy(dtype=object))
    return np.unique(partition_of(uniq, n_partitions)) if by == "part" else np.asarray(uniq, dtype=object)


def _disjoint(client: Any, keys: Any, by: str, n_partitions: int) -> bool:
    """True when no key (``by="key"``) or state partition (``"part"``) appears in two partitions of ``keys``."""
    import dask

    sets = client.compute([dask.delayed(_partition_keys)(d, by, n_partitions) for d in keys.to_delayed()],
                          sync=True)
    total = sum(len(s) for s in sets)
    return total == len(pd.unique(np.concatenate(sets))) if sets and total else True


def _run_dask(ddf: Any, schema: LongSchema, key_col: str, make: Callable[[], Any], store: StateStore | None,
              n_partitions: int, mode: str) -> Iterator[tuple[pd.DataFrame | None, Skipped, list[int]]]:
    """Shuffle ``ddf`` so each key's rows meet in one partition, run each on the cluster, yield as done."""
    import dask
    from distributed import as_completed

    client = _dask_client()
    for col, opt in schema.options().items():
        if col not in ddf.columns:
            raise SchemaError(f"Column {col!r} ({opt}) is not in the Dask frame (columns: "
                              f"{', '.join(map(repr, list(ddf.columns)[:12]))}). Name it with {opt}=.")
    cols = schema.columns

    def tag(pdf: pd.DataFrame) -> pd.DataFrame:
        return pdf.assign(__part=partition_of(pdf[key_col].to_numpy(dtype=object), n_partitions))

    meta = ddf[cols]._meta.assign(__part=np.zeros(0, dtype=np.int64))
    tagged = ddf[cols].map_partitions(tag, meta=meta)
    # Without saved state, inputs laid out with whole series per partition (files per host group, say) need
    # no shuffle: each partition is scored where it is. With state, a state partition must have one writer.
    by = "key" if store is None else "part"
    if ddf.npartitions > 1 and _disjoint(client, ddf[key_col], by, n_partitions):
        parts = tagged
    else:
        parts = tagged.shuffle(on="__part", npartitions=max(1, min(n_partitions, ddf.npartitions * 2)),
                               shuffle_method="tasks")
    store_args = None if store is None else (str(store.path), store.generation)
    tasks = [dask.delayed(_dask_score_part)(d, schema, make, store_args, n_partitions, mode)
             for d in parts.to_delayed()]
    futures = client.compute(tasks)
    from tqdm import tqdm

    with tqdm(total=len(futures), desc="partitions", unit="part", leave=False,
              disable=None if sys.stderr.isatty() else True) as bar:
        for fut in as_completed(futures):
            yield fut.result()
            fut.release()
            bar.update(1)


# ------------------------------------------------------------------------------------ public API
def score_fleet(frame: Any, detector: str | AnomalyDetector = "default", *, series_col: str = "series_id",
                time_col: str = "timestamp", value_col: str = "value", entity_col: str | None = None,
                threshold: float = DEFAULT_THRESHOLD, detector_params: dict[str, Any] | None = None,
                state: str | os.PathLike[str] | None = None, n_jobs: int | None = -1,
                n_partitions: int = DEFAULT_PARTITIONS, strict: bool = False,
                time_format: str | None = None) -> pd.DataFrame:
    """Score every point of a long-format fleet frame, one detector per series.

    Each series is scored test-then-train in time order (ties by value), exactly as the loop
    ``score_one`` then ``learn_one`` over its points would; series are independent, so they are
    spread over processes (a pandas frame, through joblib) or over a Dask cluster (a
    ``dask.dataframe.DataFrame``, on the active ``dask.distributed`` client) with the same result.

    Parameters
    ----------
    frame : pandas.DataFrame or dask.dataframe.DataFrame
        Long format: ``series_col``, ``time_col``, ``value_col`` and optionally ``entity_col``.
    detector : str or AnomalyDetector, default="default"
        A name for :func:`~incidentml.make_detector` (with ``detector_params``) or an instance
        (cloned for each series).
    threshold : float, default=0.5
        ``is_anomaly`` is ``score >= threshold``.
    state : path-like, optional
        A state directory: detectors are loaded from it for series it knows, and saved to it at
        the end (atomically), so the next call resumes on new points with the answers of one long
        run. Rows not newer than a series' saved state are not used (see ``strict``).
    n_jobs : int, default=-1
        Processes for a pandas frame (-1: all cores).
    n_partitions : int, default=64
        Hash partitions of the series (fixed by a state directory when it exists).
    strict : bool, default=False
        Raise instead of warning (:class:`~incidentml.exceptions.SkippedRowsWarning`) when rows
        are not used (no series id, no timestamp, or not newer than the saved state).
    time_format : str or None, default=None
        An exact ``strptime`` format for text timestamps, for :func:`~incidentml.utils.parse_times`
        (needed when ``dd/mm/YYYY`` dates read both ways).

    Returns
    -------
    DataFrame
        The key columns, ``score`` (NaN for rows not used) and ``is_anomaly``; for a pandas
        frame in its row order and with its index, for a Dask frame in partition order.
        ``result.attrs["skipped"]`` counts the rows not used, by reason.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> t = pd.date_range("2024-01-01", periods=600, freq="min")
    >>> fleet = pd.concat([pd.DataFrame({"series_id": f"host{i}.cpu", "timestamp": t,
    ...                                  "value": rng.normal(50, 2, 600)}) for i in range(3)], ignore_index=True)
    >>> fleet.loc[550, "value"] = 95.0
    >>> out = score_fleet(fleet, n_jobs=1)
    >>> bool(out.loc[550, "is_anomaly"]), int(out["is_anomaly"].sum())
    (True, 1)
    """
    _check_threshold(threshold)
    schema = _schema(series_col, time_col, value_col, entity_col, time_format)
    make, config = _detector_maker(detector, detector_params)
    store = StateStore(state, job="score", config=config, n_partitions=n_partitions) if state is not None else None
    n_parts = store.n_partitions if store is not None else n_partitions
    if _is_dask(frame):
        try:
            parts, skipped, _ = _drain(_run_dask(frame, schema, series_col, make, store, n_parts, "score"), strict)
        except BaseException:
            if store is not None:
                store.discard()
            raise
        out = pd.concat([p for p in parts if p is not None], ignore_index=True) if parts else \
            frame[[c for c in schema.columns if c in frame.columns]]._meta.assign(score=np.zeros(0))
        out["is_anomaly"] = out["score"].to_numpy() >= threshold
    else:
        validate_long_frame(frame, schema)
        states = _load_states(store, n_parts)
        scores, states, skipped = _score_local(frame, states, n_parts, schema, make, _n_jobs(n_jobs))
        out = frame[schema.columns].copy()
        out["score"] = scores
        out["is_anomaly"] = scores >= threshold
        _report(skipped, strict)
        _save_states(store, states)
    if store is not None:
        store.commit()
    out.attrs["skipped"] = dict(skipped.counts)
    return out


def _drain(stream: Iterator[tuple[Any, Skipped, list[int]]], strict: bool) -> tuple[list[Any], Skipped, set[int]]:
    """Results of a stream of ``(result, skipped, partitions)``; the skipped rows (reported once); the partitions."""
    total = Skipped()
    items = []
    touched: set[int] = set()
    for res, sk, parts in stream:
        total.merge(sk)
        items.append(res)
        touched.update(parts)
    _report(total, strict)
    return items, total, touched


def _incident_frame(states: Any) -> pd.DataFrame:
    rows = []
    for st in states:
        pred = st.models.get(PREDICTOR_KEY)
        if pred is not None and getattr(pred, "incidents_", None) is not None:
            rows += [inc.to_dict() for inc in pred.incidents()]
    return pd.DataFrame(rows)


def predict_incidents(frame: Any, detector: str | AnomalyDetector = "default", *, series_col: str = "series_id",
                      time_col: str = "timestamp", value_col: str = "value", entity_col: str | None = None,
                      state: str | os.PathLike[str] | None = None, n_jobs: int | None = -1,
                      n_partitions: int = DEFAULT_PARTITIONS, strict: bool = False,
                      time_format: str | None = None, **predictor_params: Any) -> pd.DataFrame:
    """Predicted incidents of every entity of a long-format fleet frame.

    The series of an entity (``entity_col``; without it each series is its own entity) are the
    metrics of one :class:`~incidentml.IncidentPredictor` entity, fed once per timestamp in time
    order. pandas frames run on ``n_jobs`` processes, Dask frames on the active client, with the
    incidents of the one-point loop ``update(x, t, entity)``. ``state`` makes runs incremental as
    in :func:`score_fleet`; the result then holds every incident known to the state, in its
    latest form (as one long run would give).

    Parameters
    ----------
    time_format : str or None, default=None
        An exact ``strptime`` format for text timestamps (as in :func:`score_fleet`).
    predictor_params
        Passed to :class:`~incidentml.IncidentPredictor` (``limits``, ``combine``, ...).

    Returns
    -------
    DataFrame
        One row per incident (the fields of :meth:`Incident.to_dict`), ordered by entity and
        raise time.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> t = pd.date_range("2024-01-01", periods=900, freq="min")
    >>> rows = [pd.DataFrame({"entity": h, "series_id": f"{h}.{m}", "timestamp": t,
    ...                       "value": rng.normal(50, 1, 900)}) for h in ("db-1", "web-1") for m in ("cpu", "mem")]
    >>> fleet = pd.concat(rows, ignore_index=True)
    >>> fleet.loc[(fleet["entity"] == "db-1") & (fleet["timestamp"] >= t[800]), "value"] += 30
    >>> out = predict_incidents(fleet, entity_col="entity", n_jobs=1)
    >>> out["entity"].tolist()
    ['db-1']
    """
    from ..incidents import IncidentPredictor

    schema = _schema(series_col, time_col, value_col, entity_col, time_format)
    if isinstance(detector, AnomalyDetector) and predictor_params.get("detector") is not None:
        raise InvalidParameterError("Give the detector once.")
    IncidentPredictor(detector, **predictor_params)._setup()  # fail early on bad parameters
    config = {"detector": detector if isinstance(detector, str) else type(detector).__name__,
              "predictor": {k: repr(v) for k, v in sorted(predictor_params.items())}}

    def make() -> IncidentPredictor:
        return IncidentPredictor(detector, **predictor_params)

    key_col = entity_col or series_col
    store = StateStore(state, job="incidents", config=config, n_partitions=n_partitions) if state is not None else None
    n_parts = store.n_partitions if store is not None else n_partitions
    if _is_dask(frame):
        try:
            items, skipped, touched = _drain(_run_dask(frame, schema, key_col, make, store, n_parts, "incidents"),
                                             strict)
        except BaseException:
            if store is not None:
                store.discard()
            raise
        parts = [res for res in items if res is not None and len(res)]
        if store is not None:  # the incidents of partitions this batch did not touch are in the saved state
            untouched = [store.load(p) for p in range(n_parts) if p not in touched]
            parts += [f for f in [_incident_frame(untouched)] if len(f)]
            store.commit()
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    else:
        validate_long_frame(frame, schema)
        states = _load_states(store, n_parts)
        _, states, skipped = _run_local(frame, states, n_parts, schema, key_col, make, _n_jobs(n_jobs), _incident_task)
        _report(skipped, strict)
        _save_states(store, states)
        out = _incident_frame(states.values())
        if store is not None:
            store.commit()
    if len(out):
        out = out.sort_values(["entity", "raised_at", "id"], kind="stable").reset_index(drop=True)
    out.attrs["skipped"] = dict(skipped.counts)
    return out


def score_files(inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], output: str | os.PathLike[str],
                detector: str | AnomalyDetector = "default", *, series_col: str = "series_id",
                time_col: str = "timestamp", value_col: str = "value", entity_col: str | None = None,
                threshold: float = DEFAULT_THRESHOLD, detector_params: dict[str, Any] | None = None,
                state: str | os.PathLike[str] | None = None, n_jobs: int | None = -1,
                scheduler: Any = None, n_partitions: int = DEFAULT_PARTITIONS,
                chunk_rows: int = DEFAULT_CHUNK_ROWS, strict: bool = False,
                time_format: str | None = None) -> dict[str, Any]:
    """Score CSV or Parquet files (a path, a glob or a list) into one output file, in bounded memory.

    In-process (``scheduler=None``) the inputs are read ``chunk_rows`` at a time and each chunk
    is scored on ``n_jobs`` processes, the series' detectors carried from chunk to chunk (so each
    series' rows must come in time order across chunks; earlier rows are reported, not used). With
    ``scheduler`` (a ``dask.distributed.Client``), the files are read by Dask, shuffled so each
    series is in one partition, scored on the cluster, and written as partitions finish. The
    output (``.csv`` or ``.parquet``) appears atomically at the end, with the key columns,
    ``score`` and ``is_anomaly``.

    Parameters
    ----------
    inputs : path-like, glob or sequence of them
        The input files (see :func:`expand_inputs`), long format.
    output : path-like
        The output file, ``.csv`` or ``.parquet``.
    detector : str or AnomalyDetector, default="default"
        A name for :func:`~incidentml.make_detector` (with ``detector_params``) or an instance.
    series_col, time_col, value_col : str
        The key columns (defaults ``series_id``, ``timestamp``, ``value``).
    entity_col : str or None, default=None
        An optional column grouping series into entities, copied to the output.
    threshold : float, default=0.5
        ``is_anomaly`` is ``score >= threshold``.
    detector_params : dict or None, default=None
        Hyperparameters of a named detector.
    state : path-like or None, default=None
        A state directory to resume from and save to (see :func:`score_fleet`).
    n_jobs : int or None, default=-1
        Processes per chunk in-process (-1: all cores).
    scheduler : dask.distributed.Client or None, default=None
        Score on this Dask cluster instead.
    n_partitions : int, default=64
        Hash partitions of the series (fixed by a state directory when it exists).
    chunk_rows : int, default=2_000_000
        Rows read at a time in-process.
    strict : bool, default=False
        Raise instead of warning when rows are not used.
    time_format : str or None, default=None
        An exact ``strptime`` format for text timestamps (as in :func:`score_fleet`).

    Returns
    -------
    dict
        ``rows``, ``series``, ``anomalies``, ``skipped`` (by reason), ``output`` and ``state``.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> t = pd.date_range("2024-01-01", periods=600, freq="min")
        >>> fleet = pd.concat([pd.DataFrame({"series_id": f"host{i}.cpu", "timestamp": t,
        ...                                  "value": rng.normal(50, 2, 600)}) for i in range(2)], ignore_index=True)
        >>> fleet.loc[550, "value"] = 95.0
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     fleet.to_csv(os.path.join(tmp, "fleet.csv"), index=False)
        ...     res = score_files(os.path.join(tmp, "fleet.csv"), os.path.join(tmp, "scores.csv"), n_jobs=1)
        ...     scores = pd.read_csv(res["output"])
        >>> res["rows"], res["series"], res["anomalies"], list(scores.columns)
        (1200, 2, 1, ['series_id', 'timestamp', 'value', 'score', 'is_anomaly'])
    """
    _check_threshold(threshold)
    files = expand_inputs(inputs)
    schema = _schema(series_col, time_col, value_col, entity_col, time_format)
    make, config = _detector_maker(detector, detector_params)
    writer = FrameWriter(output, inputs=files)
    store = StateStore(state, job="score", config=config, n_partitions=n_partitions) if state is not None else None
    n_parts = store.n_partitions if store is not None else n_partitions
    cols = schema.columns
    skipped = Skipped()
    n_anom = 0
    seen: set[str] = set()
    try:
        with writer:
            if scheduler is not None:
                ddf = read_dask(files, cols)
                for res, sk, _ in _run_dask(ddf, schema, series_col, make, store, n_parts, "score"):
                    skipped.merge(sk)
                    if res is None:
                        continue
                    res["is_anomaly"] = res["score"].to_numpy() >= threshold
                    n_anom += int(res["is_anomaly"].sum())
                    seen.update(map(str, pd.unique(res[series_col])))
                    writer.write(res[cols + ["score", "is_anomaly"]])
            else:
                states = _load_states(store, n_parts)
                jobs = _n_jobs(n_jobs)
                keys = [series_col] + ([entity_col] if entity_col else [])
                for chunk in iter_chunks(files, cols, chunk_rows=chunk_rows, categorical=keys):
                    scores, states, sk = _score_local(chunk, states, n_parts, schema, make, jobs)
                    skipped.merge(sk)
                    out = chunk.reset_index(drop=True)
                    out["score"] = scores
                    out["is_anomaly"] = scores >= threshold
                    n_anom += int(out["is_anomaly"].sum())
                    seen.update(map(str, pd.unique(chunk[series_col].dropna())))
                    writer.write(out)
                _save_states(store, states)
            if writer.rows == 0:
                raise DataError(f"--input: {', '.join(map(str, files[:3]))} holds no rows to score.")
            _report(skipped, strict)
        if store is not None:
            store.commit()
    except BaseException:
        if store is not None:
            store.discard()
        raise
    return {"rows": writer.rows, "series": len(seen), "anomalies": n_anom, "skipped": dict(skipped.counts),
            "output": str(writer.path), "state": None if store is None else store.info()}


def read_dask(files: Sequence[Path], cols: list[str]) -> Any:
    """A Dask DataFrame of the ``cols`` of CSV or Parquet ``files`` (one format).

    Parameters
    ----------
    files : sequence of pathlib.Path
        The inputs, all CSV or all Parquet (see :func:`expand_inputs`).
    cols : list of str
        The columns to read; the first (the series or entity column) is read as text.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy: nothing is read until it is computed (or scored with :func:`score_fleet`).

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "fleet.csv")
    ...     pd.DataFrame({"series_id": ["a", "b"], "timestamp": [0, 0], "value": [1.0, 2.0]}).to_csv(path, index=False)
    ...     ddf = read_dask(expand_inputs(path), ["series_id", "value"])
    ...     print(list(ddf.columns), len(ddf.compute()))
    ['series_id', 'value'] 2
    """
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("The Dask route needs dask: pip install 'incidentml[dask]'.") from None
    names = [str(f) for f in files]
    if names[0].lower().endswith((".parquet", ".pq")):
        return dd.read_parquet(names, columns=cols)
    return dd.read_csv(names, usecols=cols, keep_default_na=False, na_values=[""], blocksize="64MB",
                       dtype={cols[0]: "object"})
