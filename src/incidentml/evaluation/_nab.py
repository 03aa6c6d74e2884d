"""The Numenta Anomaly Benchmark (NAB) scorer (evaluation guide, section 1).

An exact re-implementation of NAB's sweep scorer, written from the rules in
``shared/docs/nab-scoring.md`` (NAB commit ``ea702d7``); no NAB code is copied.

* **Windows.** Each labelled window ``[left, right]`` (row indices, both ends included) is worth
  ``A_TP * sigma(y) / sigma(-1)`` for its *earliest* detection, with ``y = -(right - i + 1) / W``
  and ``W = right - left + 1``; a window with no detection costs ``-A_FN``.
* **False positives.** Every detected row outside all windows adds ``A_FP * sigma(y)`` (negative):
  ``y = |prev_right - i| / (prev_W - 1)`` relative to the most recent window that ended, or the full
  ``-A_FP`` before the first window (and in files without windows).
* **Probation.** The first ``min(floor(0.15 N), 750)`` rows of every file are not scored.
* **Detection** means ``anomaly_score >= threshold``. One threshold is applied to every file and the
  file scores are summed (the *raw* score).
* **Normalization.** ``100 * (S - S_null) / (S_perfect - S_null)`` with ``S_null = -A_FN * n_windows``
  and ``S_perfect = A_TP * n_windows``.
* **Threshold optimization** is NAB's exhaustive sweep: every distinct score value of the chosen
  files plus 1.1 ("detect nothing"); the highest summed score wins and ties go to the highest threshold.

The *honest* score of :func:`nab_report` chooses the threshold on one half of the files and applies
it to the other half, both ways (2-fold, a seeded shuffle within each category).
"""

from __future__ import annotations

import json
import math
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError, IncidentMLWarning, InvalidParameterError, SchemaError
from ..utils import parse_times, seconds_to_datetime64

__all__ = [
    "PROFILES",
    "NABCorpus",
    "NABFile",
    "load_nab_corpus",
    "nab_report",
    "optimize_threshold",
    "read_nab_results",
    "scaled_sigmoid",
    "score_corpus",
]

#: NAB's application profiles (``config/profiles.json``): weights of a true positive, a false
#: positive and a false negative. NAB's true-negative weight is never used, so it is left out.
PROFILES: dict[str, dict[str, float]] = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}

#: Share of each file (at most 750 rows) that is the probationary period.
PROBATION_PERCENT = 0.15
#: Threshold that detects nothing, the first entry of NAB's sweep.
NO_DETECTION_THRESHOLD = 1.1
#: Seed of the shuffle that splits the files into the two folds of the honest score.
HONEST_SEED = 0
#: Two swept raw scores closer than this are a tie (NAB's float summation order is not meaningful;
#: genuinely different thresholds differ by far more, about 1e-5 at the least).
_TIE_TOLERANCE = 1e-9


def scaled_sigmoid(y: Any) -> np.ndarray | float:
    """NAB's scaled sigmoid ``2 / (1 + exp(5 y)) - 1``, and exactly ``-1`` when ``y > 3``.

    Parameters
    ----------
    y : float or array-like of float
        Relative position: -1 is the first row of a window, 0 just past its right end, positive
        values are false positives after it (in window lengths).

    Returns
    -------
    float or ndarray
        Same shape as ``y``.

    Examples
    --------
    >>> round(scaled_sigmoid(-1.0), 12)
    0.986614298152
    >>> scaled_sigmoid([0.0, 3.5])
    array([ 0., -1.])
    """
    arr = np.asarray(y, dtype=float)
    clipped = np.minimum(arr, 3.0)  # exp(5 * 3) is finite; larger y is replaced below
    out = 2.0 * (1.0 / (1.0 + np.exp(5.0 * clipped))) - 1.0
    out = np.where(arr > 3.0, -1.0, out)
    return float(out) if out.ndim == 0 else out


_MAX_TP = float(scaled_sigmoid(-1.0))


def _probation_length(n_rows: int) -> int:
    return int(min(math.floor(PROBATION_PERCENT * n_rows), PROBATION_PERCENT * 5000))


@dataclass(frozen=True, eq=False)
class NABFile:
    """One NAB data file: timestamps, values and labelled windows.

    Parameters
    ----------
    timestamps : ndarray of datetime64 of shape (n_rows,)
    values : ndarray of float of shape (n_rows,)
    windows : sequence of (int, int)
        Anomaly windows as ``(left, right)`` row indices, both included, in time order and not
        overlapping.

    Attributes
    ----------
    probation : int
        Number of leading rows that are not scored: ``min(floor(0.15 * n_rows), 750)``.

    Examples
    --------
    >>> f = NABFile(np.datetime64("2024-01-01T00:00") + np.arange(100), np.zeros(100), [(40, 49)])
    >>> f.n_rows, f.probation, f.windows
    (100, 15, ((40, 49),))
    """

    timestamps: np.ndarray
    values: np.ndarray
    windows: tuple[tuple[int, int], ...] = ()
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        ts = np.asarray(self.timestamps)
        if not np.issubdtype(ts.dtype, np.datetime64):
            ts = seconds_to_datetime64(parse_times(ts, name="timestamps")).reshape(ts.shape)
        values = np.asarray(self.values, dtype=float)
        if ts.ndim != 1 or values.shape != ts.shape:
            raise DataError(
                f"{self._label()}timestamps and values must be 1-D arrays of the same length. Got shapes "
                f"{ts.shape} and {values.shape}."
            )
        windows = tuple((int(a), int(b)) for a, b in self.windows)
        n = len(ts)
        for k, (left, right) in enumerate(windows):
            if not 0 <= left <= right < n:
                raise DataError(
                    f"{self._label()}window {k} = ({left}, {right}) is not a row range inside the {n} rows; "
                    "windows are (left, right) row indices with left <= right."
                )
            if k and left <= windows[k - 1][1]:
                raise DataError(
                    f"{self._label()}windows {k - 1} {windows[k - 1]} and {k} {(left, right)} overlap or are "
                    "out of order; merge overlapping windows and list them in time order."
                )
        object.__setattr__(self, "timestamps", ts)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "windows", windows)

    def _label(self) -> str:
        return f"file {self.name!r}: " if self.name else ""

    @property
    def n_rows(self) -> int:
        """Number of data rows.

        Examples
        --------
        >>> NABFile(np.datetime64("2024-01-01T00:00") + np.arange(30), np.zeros(30)).n_rows
        30
        """
        return len(self.timestamps)

    @property
    def probation(self) -> int:
        """Length of the probationary period in rows (these rows are never scored).

        It is ``min(floor(0.15 * n_rows), 750)``, as in NAB.

        Examples
        --------
        >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(10_000)
        >>> NABFile(ts[:100], np.zeros(100)).probation, NABFile(ts, np.zeros(10_000)).probation
        (15, 750)
        """
        return _probation_length(self.n_rows)

    @cached_property
    def _sweep(self) -> tuple[np.ndarray, np.ndarray]:
        """``(sigma, window)`` per row: the unweighted scaled sigmoid and the window index (-1 outside)."""
        n = self.n_rows
        sigma = np.full(n, -1.0)  # before the first window (or with no windows): the full FP cost
        window = np.full(n, -1, dtype=np.int64)
        for k, (left, right) in enumerate(self.windows):
            width = right - left + 1
            rows = np.arange(left, right + 1)
            sigma[left : right + 1] = scaled_sigmoid(-(right - rows + 1) / float(width))
            window[left : right + 1] = k
            stop = self.windows[k + 1][0] if k + 1 < len(self.windows) else n
            rows = np.arange(right + 1, stop)
            if width > 1:
                sigma[right + 1 : stop] = scaled_sigmoid(np.abs(right - rows) / float(width - 1))
            else:  # NAB divides by zero here; a one-row window makes every later FP cost the full A_FP
                sigma[right + 1 : stop] = -1.0
        return sigma, window

    def _weights(self, profile: Mapping[str, float]) -> np.ndarray:
        """Per-row ``sweepScore`` of NAB for one profile."""
        sigma, window = self._sweep
        inside = window >= 0
        return np.where(inside, sigma * profile["tp"] / _MAX_TP, sigma * profile["fp"])


@dataclass(eq=False)
class NABCorpus:
    """A NAB corpus: data files keyed by their path relative to the data folder (``"category/file.csv"``).

    Parameters
    ----------
    files : dict of str to NABFile

    Examples
    --------
    >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
    >>> corpus = NABCorpus({"demo/a.csv": NABFile(ts, np.zeros(100), [(40, 49)]),
    ...                     "demo/b.csv": NABFile(ts, np.zeros(100))})
    >>> len(corpus), corpus.n_windows, corpus.n_rows
    (2, 1, 200)
    """

    files: dict[str, NABFile]

    def __post_init__(self) -> None:
        self.files = {str(k): self.files[k] for k in sorted(self.files, key=str)}
        for key, f in self.files.items():
            if not isinstance(f, NABFile):
                raise DataError(f"Corpus entry {key!r} must be a NABFile. Got {type(f).__name__}.")

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self):  # noqa: ANN204
        return iter(self.files)

    def __contains__(self, key: object) -> bool:
        return key in self.files

    def __getitem__(self, key: str) -> NABFile:
        return self.files[key]

    @property
    def n_windows(self) -> int:
        """Number of labelled windows in all files (the unit of NAB's normalization).

        Examples
        --------
        >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
        >>> corpus = NABCorpus({"demo/a.csv": NABFile(ts, np.zeros(100), [(40, 49)]),
        ...                     "other/b.csv": NABFile(ts[:60], np.ones(60))})
        >>> corpus.n_windows
        1
        """
        return sum(len(f.windows) for f in self.files.values())

    @property
    def n_rows(self) -> int:
        """Number of data rows in all files.

        Examples
        --------
        >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
        >>> corpus = NABCorpus({"demo/a.csv": NABFile(ts, np.zeros(100), [(40, 49)]),
        ...                     "other/b.csv": NABFile(ts[:60], np.ones(60))})
        >>> corpus.n_rows
        160
        """
        return sum(f.n_rows for f in self.files.values())

    @property
    def timestamps(self) -> dict[str, np.ndarray]:
        """Timestamps (datetime64) per file.

        Examples
        --------
        >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
        >>> corpus = NABCorpus({"demo/a.csv": NABFile(ts, np.zeros(100), [(40, 49)]),
        ...                     "other/b.csv": NABFile(ts[:60], np.ones(60))})
        >>> {k: str(v[0]) for k, v in corpus.timestamps.items()}
        {'demo/a.csv': '2024-01-01T00:00', 'other/b.csv': '2024-01-01T00:00'}
        """
        return {k: f.timestamps for k, f in self.files.items()}

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Values per file.

        Examples
        --------
        >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
        >>> corpus = NABCorpus({"demo/a.csv": NABFile(ts, np.zeros(100), [(40, 49)]),
        ...                     "other/b.csv": NABFile(ts[:60], np.ones(60))})
        >>> {k: float(v.sum()) for k, v in corpus.values.items()}
        {'demo/a.csv': 0.0, 'other/b.csv': 60.0}
        """
        return {k: f.values for k, f in self.files.items()}

    @property
    def windows(self) -> dict[str, tuple[tuple[int, int], ...]]:
        """Windows as inclusive ``(left, right)`` row-index pairs per file.

        Examples
        --------
        >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
        >>> corpus = NABCorpus({"demo/a.csv": NABFile(ts, np.zeros(100), [(40, 49)]),
        ...                     "other/b.csv": NABFile(ts[:60], np.ones(60))})
        >>> corpus.windows
        {'demo/a.csv': ((40, 49),), 'other/b.csv': ()}
        """
        return {k: f.windows for k, f in self.files.items()}

    @property
    def probation(self) -> dict[str, int]:
        """Probation length in rows per file.

        Examples
        --------
        >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
        >>> corpus = NABCorpus({"demo/a.csv": NABFile(ts, np.zeros(100), [(40, 49)]),
        ...                     "other/b.csv": NABFile(ts[:60], np.ones(60))})
        >>> corpus.probation
        {'demo/a.csv': 15, 'other/b.csv': 9}
        """
        return {k: f.probation for k, f in self.files.items()}

    def category(self, key: str) -> str:
        """The NAB category of a file: the first component of its relative path.

        Parameters
        ----------
        key : str
            A file's key, ``"category/file.csv"``.

        Returns
        -------
        str
            The category, ``""`` for a key without a folder.

        Examples
        --------
        >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
        >>> corpus = NABCorpus({"demo/a.csv": NABFile(ts, np.zeros(100), [(40, 49)]),
        ...                     "other/b.csv": NABFile(ts[:60], np.ones(60))})
        >>> [corpus.category(k) for k in corpus], corpus.category("lone.csv")
        (['demo', 'other'], '')
        """
        return key.split("/", 1)[0] if "/" in key else ""


# ---------------------------------------------------------------------------------------------
# Reading data, labels and results
# ---------------------------------------------------------------------------------------------


def _parse_times(column: pd.Series, where: str) -> np.ndarray:
    """NAB timestamps as ``datetime64[us]`` (UTC), read by the library's one time parser."""
    try:
        secs = parse_times(column, name="timestamp")
    except DataError as exc:
        raise DataError(f"{where}: {exc} NAB files use 'YYYY-MM-DD HH:MM:SS'.") from None
    out = seconds_to_datetime64(secs)
    if np.isnat(out).any():
        bad = int(np.flatnonzero(np.isnat(out))[0])
        raise DataError(f"{where}: data row {bad} (0-based) has no timestamp. Every row needs one.")
    return out


def _read_csv(path: Path, columns: Sequence[str], what: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""], low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{what} '{path}' is empty; it needs a header row '{','.join(columns)}' and data."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{what} '{path}' is not valid CSV ({first}).") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{what} '{path}' lacks column(s) {missing}; it has {list(frame.columns)[:10]}. "
            f"NAB files have the header '{','.join(columns)}'."
        )
    return frame


def _numeric(column: pd.Series, where: str, what: str) -> np.ndarray:
    out = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{where}: {what} {column.iloc[i]!r} in data row {i} (0-based) is not a finite number "
            f"({bad.size} such rows). Fix or drop those rows."
        )
    return out


def load_nab_corpus(data_dir: str | Path, labels_path: str | Path) -> NABCorpus:
    """Load NAB data files and their windows.

    The corpus is every file named in the labels file; each must exist as ``data_dir/<key>`` with
    the header ``timestamp,value``. Window endpoints must equal a data timestamp exactly (the first
    row with that timestamp, as NAB does).

    Parameters
    ----------
    data_dir : str or Path
        NAB's ``data/`` folder (``<category>/<file>.csv``).
    labels_path : str or Path
        A windows file such as ``labels/combined_windows.json``:
        ``{"category/file.csv": [[start, end], ...]}``.

    Returns
    -------
    NABCorpus

    Examples
    --------
    >>> import json, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> d = Path(tmp.name)
    >>> (d / "data" / "cat").mkdir(parents=True)
    >>> ts = pd.date_range("2024-01-01", periods=100, freq="5min")
    >>> pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), "value": range(100)}).to_csv(
    ...     d / "data" / "cat" / "a.csv", index=False)
    >>> _ = (d / "windows.json").write_text(json.dumps({"cat/a.csv": [[str(ts[40]), str(ts[49])]]}))
    >>> corpus = load_nab_corpus(d / "data", d / "windows.json")
    >>> corpus.windows, corpus.probation, corpus.n_windows
    ({'cat/a.csv': ((40, 49),)}, {'cat/a.csv': 15}, 1)
    >>> tmp.cleanup()
    """
    data_dir, labels_path = Path(data_dir), Path(labels_path)
    if not data_dir.is_dir():
        raise DataError(
            f"Data folder '{data_dir}' does not exist or is not a folder. Give NAB's data/ folder."
        )
    if not labels_path.is_file():
        raise DataError(
            f"Labels file '{labels_path}' does not exist. Give NAB's labels/combined_windows.json."
        )
    try:
        labels = json.loads(labels_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"Labels file '{labels_path}' is not valid JSON ({exc}).") from None
    if not isinstance(labels, dict) or not labels:
        raise SchemaError(
            f"Labels file '{labels_path}' must be a non-empty JSON object "
            '{"category/file.csv": [[start, end], ...]}.'
        )
    files: dict[str, NABFile] = {}
    for key in sorted(labels):
        raw_windows = labels[key]
        if not isinstance(raw_windows, list) or not all(
            isinstance(w, (list, tuple)) and len(w) == 2 and all(isinstance(s, str) for s in w)
            for w in raw_windows
        ):
            raise SchemaError(
                f"Labels file '{labels_path}': entry {key!r} must be a list of [start, end] timestamp "
                f"strings. Got {str(raw_windows)[:80]}."
            )
        path = data_dir / key
        if not path.is_file():
            raise DataError(
                f"Labels file '{labels_path}' names {key!r} but '{path}' does not exist. Check that the "
                "data folder and the labels belong together."
            )
        frame = _read_csv(path, ["timestamp", "value"], "Data file")
        ts = _parse_times(frame["timestamp"], f"Data file '{path}'")
        values = _numeric(frame["value"], f"Data file '{path}'", "value")
        windows = []
        for start, end in raw_windows:
            pair = []
            for stamp in (start, end):
                try:
                    secs = parse_times([stamp], name="window", errors="coerce")
                except DataError:  # a bool, or a date that reads both ways
                    secs = np.array([np.nan])
                if np.isnan(secs[0]):
                    raise DataError(
                        f"Labels file '{labels_path}': window time {stamp!r} of {key!r} is not a date-time."
                    )
                t = seconds_to_datetime64(secs)[0]
                hits = np.flatnonzero(ts == t)
                if hits.size == 0:
                    raise DataError(
                        f"Labels file '{labels_path}': window time {stamp!r} of {key!r} matches no "
                        f"timestamp of '{path}'; window ends must be data timestamps."
                    )
                pair.append(int(hits[0]))
            if pair[1] < pair[0]:
                raise DataError(
                    f"Labels file '{labels_path}': window [{start}, {end}] of {key!r} ends before it starts."
                )
            windows.append((pair[0], pair[1]))
        files[key] = NABFile(ts, values, tuple(sorted(windows)), name=key)
    return NABCorpus(files)


def nab_results_paths(
    results_dir: str | Path, corpus: NABCorpus, detector: str | None = None
) -> tuple[str, dict[str, Path]]:
    """Find ``<category>/<detector>_<file>.csv`` for every corpus file; return the detector name and paths.

    Parameters
    ----------
    results_dir : str or pathlib.Path
        One detector's results folder in NAB's layout.
    corpus : NABCorpus
        The corpus the results are for; every file needs a results file.
    detector : str or None, default=None
        The detector's name; ``None`` finds it from the file names (it must be unique).

    Returns
    -------
    name : str
        The detector's name.
    paths : dict of str to pathlib.Path
        Corpus key to its results file.

    Raises
    ------
    DataError
        The folder is missing, a file has no results, or the folder mixes several detectors.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
    >>> corpus = NABCorpus({"demo/a.csv": NABFile(ts, np.zeros(100), [(40, 49)]),
    ...                     "other/b.csv": NABFile(ts[:60], np.ones(60))})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for key in corpus:
    ...         category, name = key.split("/")
    ...         (Path(tmp) / category).mkdir()
    ...         _ = (Path(tmp) / category / f"mydet_{name}").write_text("timestamp,value,anomaly_score\\n")
    ...     name, paths = nab_results_paths(tmp, corpus)
    ...     print(name, [p.relative_to(tmp).as_posix() for p in paths.values()])
    mydet ['demo/mydet_a.csv', 'other/mydet_b.csv']
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise DataError(
            f"Results folder '{results_dir}' does not exist. Give one detector's folder in NAB's layout "
            "<category>/<detector>_<file>.csv."
        )
    listings: dict[Path, list[str]] = {}
    candidates: set[str] | None = None
    for key in corpus:
        category, _, name = key.rpartition("/")
        folder = results_dir / category if category else results_dir
        if folder not in listings:
            if not folder.is_dir():
                hint = sorted(p.parent.name for p in results_dir.glob(f"*/{category}") if p.is_dir())
                extra = (
                    f" It looks like a folder of detectors; give one of them, e.g. '{results_dir / hint[0]}'."
                    if hint
                    else ""
                )
                raise DataError(
                    f"Results folder '{results_dir}' has no '{category}' subfolder for {key!r}; NAB results "
                    f"are laid out as <category>/<detector>_<file>.csv.{extra}"
                )
            listings[folder] = sorted(p.name for p in folder.iterdir() if p.is_file())
        suffix = "_" + name
        found = {n[: -len(suffix)] for n in listings[folder] if n.endswith(suffix) and len(n) > len(suffix)}
        if detector is not None:
            found &= {detector}
        if not found:
            expected = f"{detector}_{name}" if detector is not None else f"<detector>_{name}"
            raise DataError(
                f"No results file for {key!r}: expected '{folder / expected}'. Run the detector on every "
                "file of the corpus."
            )
        if candidates is not None and not (candidates & found):
            raise DataError(
                f"The results for {key!r} come from detector(s) {sorted(found)} but other files' from "
                f"{sorted(candidates)}; keep one detector's results per folder."
            )
        candidates = found if candidates is None else candidates & found
    if not candidates:
        raise DataError("The corpus has no files, so there are no results to read.")
    if len(candidates) > 1:
        raise DataError(
            f"Results folder '{results_dir}' holds results of several detectors {sorted(candidates)}; "
            "choose one with detector=NAME."
        )
    name = next(iter(candidates))
    return name, {key: (results_dir / key).parent / f"{name}_{key.rpartition('/')[2]}" for key in corpus}


def read_nab_results(
    results_dir: str | Path, corpus: NABCorpus, *, detector: str | None = None
) -> dict[str, np.ndarray]:
    """Read one detector's anomaly scores in NAB's results layout.

    Parameters
    ----------
    results_dir : str or Path
        The detector's folder: ``<category>/<detector>_<file>.csv`` with columns ``timestamp`` and
        ``anomaly_score`` (others are ignored); rows match the data rows one to one.
    corpus : NABCorpus
        The corpus the results belong to.
    detector : str, optional
        The file-name prefix. By default it is inferred: the one prefix present for every file.

    Returns
    -------
    dict of str to ndarray of float
        Anomaly scores per corpus file.

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> d = Path(tmp.name)
    >>> (d / "cat").mkdir()
    >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(4)
    >>> corpus = NABCorpus({"cat/a.csv": NABFile(ts, np.zeros(4))})
    >>> pd.DataFrame({"timestamp": pd.DatetimeIndex(ts).strftime("%Y-%m-%d %H:%M:%S"),
    ...               "anomaly_score": [0, 0.5, 1, 0]}).to_csv(d / "cat" / "myDet_a.csv", index=False)
    >>> read_nab_results(d, corpus)
    {'cat/a.csv': array([0. , 0.5, 1. , 0. ])}
    >>> tmp.cleanup()
    """
    _, paths = nab_results_paths(results_dir, corpus, detector)
    out: dict[str, np.ndarray] = {}
    for key, path in paths.items():
        frame = _read_csv(path, ["anomaly_score"], "Results file")
        n = corpus[key].n_rows
        if len(frame) != n:
            raise DataError(
                f"Results file '{path}' has {len(frame)} rows but the data file {key!r} has {n}; "
                "results rows must match the data rows one to one (re-run the detector on this file)."
            )
        if "timestamp" in frame.columns:
            ts = _parse_times(frame["timestamp"], f"Results file '{path}'")
            diff = np.flatnonzero(ts != corpus[key].timestamps)
            if diff.size:
                i = int(diff[0])
                raise DataError(
                    f"Results file '{path}': row {i} (0-based) has timestamp {frame['timestamp'].iloc[i]!r} "
                    f"but the data file {key!r} has {pd.Timestamp(corpus[key].timestamps[i])}; results "
                    "rows must match the data rows one to one."
                )
        out[key] = _numeric(frame["anomaly_score"], f"Results file '{path}'", "anomaly_score")
    return out


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def _profile(profile: Any) -> dict[str, float]:
    if not isinstance(profile, str) or profile not in PROFILES:
        raise InvalidParameterError(
            f"The 'profile' parameter must be one of {list(PROFILES)}. Got {profile!r} instead."
        )
    return PROFILES[profile]


def _threshold(threshold: Any) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not math.isfinite(threshold):
        raise InvalidParameterError(
            f"The 'threshold' parameter must be a finite number (a row is detected when its "
            f"anomaly score >= threshold). Got {threshold!r} ({type(threshold).__name__})."
        )
    return float(threshold)


def _files(corpus: NABCorpus, files: Iterable[str] | None) -> list[str]:
    if not isinstance(corpus, NABCorpus):
        raise InvalidParameterError(
            f"The 'corpus' parameter must be a NABCorpus (see load_nab_corpus). Got {type(corpus).__name__}."
        )
    if files is None:
        return list(corpus)
    if isinstance(files, str):
        files = [files]
    chosen = list(dict.fromkeys(files))
    unknown = [f for f in chosen if f not in corpus]
    if unknown:
        raise DataError(
            f"File {unknown[0]!r} is not in the corpus ({len(unknown)} unknown); corpus files are keyed "
            "'category/file.csv'."
        )
    return chosen


def _checked_scores(scores: Mapping[str, Any], corpus: NABCorpus, files: list[str]) -> dict[str, np.ndarray]:
    if not isinstance(scores, Mapping):
        raise InvalidParameterError(
            f"The 'scores' parameter must be a dict of file -> array of anomaly scores. Got "
            f"{type(scores).__name__}."
        )
    extra = [k for k in scores if k not in corpus]
    if extra:
        raise DataError(
            f"Scores are given for {extra[0]!r}, which is not in the corpus ({len(extra)} such keys); "
            "keys are the corpus' 'category/file.csv' names."
        )
    missing = [f for f in files if f not in scores]
    if missing:
        raise DataError(
            f"No anomaly scores for {missing[0]!r} ({len(missing)} file(s) missing); score every file "
            "of the corpus."
        )
    out = {}
    for key in files:
        try:
            s = np.asarray(scores[key], dtype=float)
        except (TypeError, ValueError):
            raise DataError(f"Anomaly scores of {key!r} are not numbers.") from None
        n = corpus[key].n_rows
        if s.ndim != 1 or len(s) != n:
            raise DataError(
                f"Anomaly scores of {key!r} have shape {s.shape} but the file has {n} rows; give one "
                "score per data row."
            )
        bad = np.flatnonzero(~np.isfinite(s))
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"Anomaly score of {key!r} at row {i} (0-based, {pd.Timestamp(corpus[key].timestamps[i])}) "
                f"is {s[i]} ({bad.size} non-finite scores in this file); scores must be finite numbers."
            )
        out[key] = s
    return out


def _score_file(
    f: NABFile, s: np.ndarray, weights: np.ndarray, costs: Mapping[str, float], threshold: float
) -> dict[str, Any]:
    _, window = f._sweep
    start = f.probation
    detected = s[start:] >= threshold
    win = window[start:]
    w = weights[start:]
    fp_rows = detected & (win < 0)
    fp_sum = float(np.sum(w[fp_rows]))
    hit_rows = np.flatnonzero(detected & (win >= 0))
    # windows with at least one scorable row are scored; a window inside probation would be ignored
    scored = [k for k, (_, right) in enumerate(f.windows) if right >= start]
    parts = dict.fromkeys(scored, -costs["fn"])
    tp = 0
    if hit_rows.size:
        first_window, first_index = np.unique(win[hit_rows], return_index=True)
        for k, j in zip(first_window.tolist(), first_index.tolist(), strict=True):
            parts[k] = max(parts[k], float(w[hit_rows[j]]))  # the earliest detection earns the most
        tp = len(first_window)
    return {
        "raw": fp_sum + float(sum(parts.values())),
        "tp": tp,
        "fn": len(scored) - tp,
        "fp": int(fp_rows.sum()),
    }


def _normalize(raw: float, n_windows: int, costs: Mapping[str, float]) -> float:
    null = -costs["fn"] * n_windows
    perfect = costs["tp"] * n_windows
    if perfect == null:
        return float("nan")
    return 100.0 * (raw - null) / (perfect - null)


def _raw(
    scores: dict[str, np.ndarray],
    corpus: NABCorpus,
    files: list[str],
    costs: Mapping[str, float],
    threshold: float,
) -> tuple[float, dict[str, dict[str, Any]]]:
    per_file = {
        k: _score_file(corpus[k], scores[k], corpus[k]._weights(costs), costs, threshold) for k in files
    }
    return float(sum(r["raw"] for r in per_file.values())), per_file


def score_corpus(
    scores: Mapping[str, Any],
    corpus: NABCorpus,
    profile: str = "standard",
    threshold: float = 0.5,
    *,
    files: Iterable[str] | None = None,
) -> dict[str, Any]:
    """NAB score of anomaly scores at one threshold, applied to every file.

    Parameters
    ----------
    scores : dict of str to array of float
        Anomaly scores per file (one per data row, finite); keys as in ``corpus``.
    corpus : NABCorpus
    profile : {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}, default="standard"
    threshold : float, default=0.5
        A row is a detection when its score is ``>= threshold``.
    files : iterable of str, optional
        Score only these files (default: all). Normalization then uses their windows only.

    Returns
    -------
    dict
        ``profile``, ``threshold``, ``raw`` (summed file scores), ``normalized`` (0 = null detector,
        100 = perfect), ``n_windows``, totals ``tp`` (windows detected), ``fn`` (windows missed; windows
        entirely in probation count as neither) and ``fp`` (detected *rows* outside windows, after
        probation), and ``files``: the same ``raw``/``tp``/``fn``/``fp`` per file.

    Examples
    --------
    >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
    >>> corpus = NABCorpus({"demo/a.csv": NABFile(ts, np.zeros(100), [(40, 49)])})
    >>> s = np.zeros(100)
    >>> s[40] = 1.0                      # the first row of the window: full credit
    >>> r = score_corpus({"demo/a.csv": s}, corpus, "standard", 0.5)
    >>> r["raw"], r["normalized"], r["tp"], r["fp"]
    (1.0, 100.0, 1, 0)
    >>> s[20] = 1.0                      # a false positive before the first window costs A_FP
    >>> round(score_corpus({"demo/a.csv": s}, corpus, "standard", 0.5)["raw"], 4)
    0.89
    """
    costs = _profile(profile)
    threshold = _threshold(threshold)
    chosen = _files(corpus, files)
    checked = _checked_scores(scores, corpus, chosen)
    raw, per_file = _raw(checked, corpus, chosen, costs, threshold)
    n_windows = sum(len(corpus[k].windows) for k in chosen)
    return {
        "profile": profile,
        "threshold": threshold,
        "raw": raw,
        "normalized": _normalize(raw, n_windows, costs),
        "n_windows": n_windows,
        "tp": sum(r["tp"] for r in per_file.values()),
        "fn": sum(r["fn"] for r in per_file.values()),
        "fp": sum(r["fp"] for r in per_file.values()),
        "files": per_file,
    }


def _sweep(
    scores: dict[str, np.ndarray], corpus: NABCorpus, files: list[str], costs: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Summed raw score at every candidate threshold, in descending threshold order.

    Returns ``(thresholds, totals)``; the first candidate detects nothing.
    """
    s_parts, w_parts, win_parts = [], [], []
    n_parts = 0
    offset = 0
    for key in files:
        f = corpus[key]
        start = f.probation
        _, window = f._sweep
        win = window[start:].copy()
        n_scored = sum(1 for _, right in f.windows if right >= start)
        inside = win >= 0
        win[inside] += offset
        offset += len(f.windows)
        n_parts += n_scored
        s_parts.append(scores[key][start:])
        w_parts.append(f._weights(costs)[start:])
        win_parts.append(win)
    s = np.concatenate(s_parts) if s_parts else np.empty(0)
    w = np.concatenate(w_parts) if w_parts else np.empty(0)
    win = np.concatenate(win_parts) if win_parts else np.empty(0, dtype=np.int64)
    base = -costs["fn"] * n_parts
    top = float(s.max()) if s.size else 0.0
    nothing = NO_DETECTION_THRESHOLD if top < NO_DETECTION_THRESHOLD else float(np.nextafter(top, np.inf))
    if not s.size:
        return np.array([nothing]), np.array([base])

    order = np.argsort(-s, kind="stable")  # highest score first, as NAB's stable reverse sort
    s_sorted, w_sorted, win_sorted = s[order], w[order], win[order]
    contrib = np.where(win_sorted < 0, w_sorted, 0.0)  # every detected FP row adds its (negative) weight

    # Window parts: max(-A_FN, best weight detected so far in the window). A grouped running max of the
    # weights' ranks (integers, exact) gives it; each row adds the change of its window's part.
    pos = np.flatnonzero(win_sorted >= 0)
    if pos.size:
        g = win_sorted[pos]
        by_window = np.lexsort((pos, g))  # rows of each window in sweep order
        pos, g = pos[by_window], g[by_window]
        uniq, rank = np.unique(w_sorted[pos], return_inverse=True)
        span = np.int64(len(uniq))
        best_rank = np.maximum.accumulate(g * span + rank) - g * span
        part = np.maximum(uniq[best_rank], -costs["fn"])
        first = np.r_[True, g[1:] != g[:-1]]
        previous = np.where(first, -costs["fn"], np.r_[0.0, part[:-1]])
        contrib[pos] = part - previous

    ends = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])  # last row of each run of equal scores
    # extended precision keeps the running sum's rounding far below the tie tolerance
    totals = (base + np.cumsum(contrib, dtype=np.longdouble)[ends]).astype(float)
    return np.r_[nothing, s_sorted[ends]], np.r_[base, totals]


def optimize_threshold(
    scores: Mapping[str, Any],
    corpus: NABCorpus,
    profile: str = "standard",
    files: Iterable[str] | None = None,
) -> tuple[float, float]:
    """The threshold with the highest summed raw score: NAB's exhaustive sweep.

    Every distinct anomaly score of the chosen files is a candidate, plus 1.1 (detect nothing; just
    above the largest score if scores reach 1.1). Ties (within 1e-9) go to the highest threshold.

    Parameters
    ----------
    scores : dict of str to array of float
    corpus : NABCorpus
    profile : {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}, default="standard"
    files : iterable of str, optional
        Optimize on these files only (default: all files of the corpus).

    Returns
    -------
    threshold : float
    raw : float
        Summed raw score of those files at that threshold (as :func:`score_corpus` computes it).

    Examples
    --------
    >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
    >>> corpus = NABCorpus({"demo/a.csv": NABFile(ts, np.zeros(100), [(40, 49)])})
    >>> s = np.linspace(0, 0.5, 100)
    >>> s[42], s[80] = 0.9, 0.95       # a false positive scores higher than the true detection
    >>> optimize_threshold({"demo/a.csv": s}, corpus, "standard")
    (0.9, 0.8...)
    """
    costs = _profile(profile)
    chosen = _files(corpus, files)
    checked = _checked_scores(scores, corpus, chosen)
    thresholds, totals = _sweep(checked, corpus, chosen, costs)
    best = int(np.flatnonzero(totals >= totals.max() - _TIE_TOLERANCE)[0])
    threshold = float(thresholds[best])
    raw, _ = _raw(checked, corpus, chosen, costs, threshold)
    return threshold, raw


def _two_folds(corpus: NABCorpus, seed: int = HONEST_SEED) -> list[list[str]]:
    """Split the files in two folds: shuffle each category (in name order) with one seeded generator
    and deal its files alternately, the deal continuing across categories so the folds differ by at
    most one file and every category is split as evenly as possible."""
    rng = np.random.default_rng(seed)
    by_category: dict[str, list[str]] = {}
    for key in corpus:
        by_category.setdefault(corpus.category(key), []).append(key)
    folds: list[list[str]] = [[], []]
    dealt = 0
    for category in sorted(by_category):
        members = sorted(by_category[category])
        for j in rng.permutation(len(members)):
            folds[dealt % 2].append(members[int(j)])
            dealt += 1
    return [sorted(f) for f in folds]


def nab_report(scores: Mapping[str, Any], corpus: NABCorpus, *, seed: int = HONEST_SEED) -> dict[str, Any]:
    """Scoreboard and honest NAB scores for the three profiles (evaluation guide, section 1).

    * **scoreboard**: per profile, the threshold optimized on the whole corpus and the normalized
      score there (comparable to NAB's published table).
    * **honest**: the files are split in two folds (for each category in name order, its files in
      name order are shuffled with ``numpy.random.default_rng(seed)``, one generator for all
      categories, and dealt alternately to the folds, the deal continuing across categories). The
      threshold optimized on fold 1 is applied to fold 2 and vice versa; the two raw scores are
      summed and normalized with the windows of the whole corpus.

    Parameters
    ----------
    scores : dict of str to array of float
    corpus : NABCorpus
    seed : int, default=0

    Returns
    -------
    dict
        ``{"scoreboard": {profile: normalized, ..., "raw": {profile: raw}, "thresholds": {profile: t}},
        "honest": {profile: normalized, ..., "raw": {...}, "thresholds": {profile: [t_fold1, t_fold2]},
        "folds": [[files of fold 1], [files of fold 2]]}}``; ``t_fold1`` is chosen on fold 1 and
        applied to fold 2. With a single file there is no second fold: the honest scores and
        thresholds are NaN, with an :class:`~incidentml.exceptions.IncidentMLWarning`.

    Examples
    --------
    >>> ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
    >>> corpus = NABCorpus({f"demo/{c}.csv": NABFile(ts, np.zeros(100), [(40, 49)]) for c in "ab"})
    >>> s = np.zeros(100)
    >>> s[41] = 0.9
    >>> report = nab_report({"demo/a.csv": s, "demo/b.csv": s}, corpus)
    >>> round(report["scoreboard"]["standard"], 2), report["honest"]["thresholds"]["standard"]
    (99.56, [0.9, 0.9])
    """
    chosen = list(corpus)
    checked = _checked_scores(scores, corpus, chosen)
    folds = _two_folds(corpus, seed)
    n_windows = corpus.n_windows
    board: dict[str, Any] = {"raw": {}, "thresholds": {}}
    honest: dict[str, Any] = {"raw": {}, "thresholds": {}, "folds": folds}
    two_folds = all(folds)
    if not two_folds:
        warnings.warn(f"nab_report: the honest score needs at least two files (one per fold); this corpus has "
                      f"{len(chosen)}, so it is reported as NaN. The scoreboard score is unaffected.",
                      IncidentMLWarning, stacklevel=2)
    for name, costs in PROFILES.items():
        threshold, raw = optimize_threshold(checked, corpus, name)
        board[name] = _normalize(raw, n_windows, costs)
        board["raw"][name], board["thresholds"][name] = raw, threshold
        if not two_folds:
            honest[name], honest["raw"][name], honest["thresholds"][name] = math.nan, math.nan, [math.nan, math.nan]
            continue
        t1, _ = optimize_threshold(checked, corpus, name, files=folds[0])
        t2, _ = optimize_threshold(checked, corpus, name, files=folds[1])
        raw = _raw(checked, corpus, folds[1], costs, t1)[0] + _raw(checked, corpus, folds[0], costs, t2)[0]
        honest[name] = _normalize(raw, n_windows, costs)
        honest["raw"][name], honest["thresholds"][name] = raw, [t1, t2]
    order = [*PROFILES, "raw", "thresholds"]
    return {"scoreboard": {k: board[k] for k in order}, "honest": {k: honest[k] for k in [*order, "folds"]}}
