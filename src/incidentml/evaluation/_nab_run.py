"""Run a detector over a NAB corpus, the way the benchmark's rules allow: blind and in parallel."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..exceptions import DataError, IncidentMLError, InvalidParameterError
from ._nab import NABCorpus

__all__ = ["run_nab_detector"]


class DetectorFailure(IncidentMLError):
    """A detector raised on one file of the corpus."""


def _detect_file(make: Any, index: int, values: np.ndarray, timestamps: np.ndarray) -> tuple[int, np.ndarray, float]:
    """Score one series with a fresh detector; it sees only values and timestamps."""
    from ..anomaly import make_detector

    try:
        build = (lambda: make_detector(make[0], **make[1])) if isinstance(make, tuple) else make
        build().score_many(values[:8], t=timestamps[:8])  # load compiled kernels outside the timing
        detector = build()
        start = time.perf_counter()
        scores = detector.score_many(values, t=timestamps)
        seconds = time.perf_counter() - start
        return index, np.asarray(scores, dtype=float), seconds
    except Exception as exc:  # noqa: BLE001 - reported with the file's name by the parent process
        raise _Failure(index, f"{type(exc).__name__}: {exc}") from exc


class _Failure(Exception):
    """Carries the file's position (the worker never sees its name)."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(index, message)
        self.index, self.message = index, message


def run_nab_detector(corpus: NABCorpus, detector: str | Callable[[], Any] = "default", *, jobs: int = -1,
                     progress: bool | None = None, on_file: Callable[[str, np.ndarray], None] | None = None,
                     **params: Any) -> tuple[dict[str, np.ndarray], float]:
    """Score every file of ``corpus`` with a fresh detector per file, in parallel over files.

    The detector sees copies of each file's values and timestamps only: never labels, file
    names or categories.

    Parameters
    ----------
    corpus : NABCorpus
    detector : str or callable, default="default"
        A name for :func:`incidentml.make_detector` (with ``params``), or a picklable
        zero-argument factory returning a detector.
    jobs : int, default=-1
        Processes (-1: all CPUs; 1: in this process).
    progress : bool, optional
        Show a progress bar over files (default: when stderr is a terminal).
    on_file : callable, optional
        Called as ``on_file(key, scores)`` for each finished file (for example to write results).

    Returns
    -------
    scores : dict
        File key to the array of scores, one per row.
    seconds : float
        Total time spent inside ``score_many`` over all files (excludes I/O, process start-up and
        loading the compiled kernels).

        Examples
        --------
        >>> import numpy as np
        >>> from incidentml.evaluation import NABCorpus, NABFile
        >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(400)
        >>> values = np.random.default_rng(0).normal(0, 1, 400)
        >>> values[300:310] += 10
        >>> corpus = NABCorpus({"demo/a.csv": NABFile(ts, values, [(295, 315)])})
        >>> scores, seconds = run_nab_detector(corpus, "robust", jobs=1, progress=False)
        >>> scores["demo/a.csv"].shape, bool(scores["demo/a.csv"][300:310].max() > 0.5)
        ((400,), True)
    """
    from tqdm import tqdm

    n_jobs = (os.cpu_count() or 1) if jobs in (None, -1) else int(jobs)
    if n_jobs < 1:
        msg = (f"The 'jobs' parameter of run_nab_detector must be a positive number of processes (or -1 for all "
               f"CPUs). Got {jobs!r} instead.")
        raise InvalidParameterError(msg)
    make: Any = (detector, params) if isinstance(detector, str) else detector
    if isinstance(detector, str):
        from ..anomaly import make_detector

        make_detector(detector, **params)  # an unknown name or parameter fails here, clearly
    keys = sorted(corpus, key=lambda k: -corpus[k].n_rows)  # longest first balances the processes
    tasks = [(make, i, corpus[k].values.copy(), corpus[k].timestamps.copy()) for i, k in enumerate(keys)]
    label = detector if isinstance(detector, str) else getattr(detector, "__name__", "detector")
    show = sys.stderr.isatty() if progress is None else progress
    scores: dict[str, np.ndarray] = {}
    seconds = 0.0
    bar = tqdm(total=len(keys), desc=f"nab {label}", unit="file", disable=not show)
    try:
        if n_jobs == 1:
            results: Any = (_detect_file(*task) for task in tasks)
        else:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=min(n_jobs, len(tasks)), return_as="generator_unordered")(
                delayed(_detect_file)(*task) for task in tasks)
        try:
            for index, file_scores, file_seconds in results:
                key = keys[index]
                _check_output(label, key, file_scores, corpus[key].n_rows)
                scores[key] = file_scores
                seconds += file_seconds
                if on_file is not None:
                    on_file(key, file_scores)
                bar.update(1)
        except _Failure as exc:
            first = exc.message.strip().splitlines()[0] if exc.message.strip() else "failed"
            raise DetectorFailure(f"Detector {label!r} failed on {keys[exc.index]!r}: {first}") from exc
    finally:
        bar.close()
    return scores, seconds


def _check_output(detector: str, key: str, scores: np.ndarray, n_rows: int) -> None:
    if scores.shape != (n_rows,):
        raise DataError(f"Detector {detector!r} returned {scores.shape} scores for the {n_rows} rows of {key!r}; "
                        "score_many must return one score per point.")
    bad = np.flatnonzero(~np.isfinite(scores))
    if bad.size:
        raise DataError(f"Detector {detector!r} returned a non-finite score ({scores[bad[0]]}) at row {int(bad[0])} "
                        f"of {key!r}; scores must be finite numbers.")
