"""The one computation behind every fleet route: score one partition's rows, series by series.

pandas (all cores through joblib), Dask (one task per shuffled partition) and the chunked file
reader all call :func:`score_partition` on a frame of whole series, so they give the answers of
the one-point loop ``score_one`` then ``learn_one`` over each series in time order (ties broken by
value), whatever the partitioning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ..utils import LongSchema, column_seconds
from ._state import PartitionState

__all__ = ["SKIP_REASONS", "Prepared", "Skipped", "prepare", "prepare_rows", "score_partition", "score_sorted"]

#: Why a row was not used, as counted in :class:`Skipped`.
SKIP_REASONS = {
    "no_series": "no series id",
    "no_time": "no timestamp",
    "stale": "a time not newer than the saved state (or than earlier rows of the same series in the stream)",
}


@dataclass
class Skipped:
    """Rows a run did not use, by reason (see :data:`SKIP_REASONS`), with one example of each.

    Parameters
    ----------
    counts : dict of str to int
        Rows per reason (every reason of :data:`SKIP_REASONS`, zero by default).
    examples : dict of str to str
        One example row per reason.

    Examples
    --------
    >>> skipped = Skipped()
    >>> skipped.add("no_time", 3, "row 7")
    >>> skipped.total, skipped.counts["no_time"]
    (3, 3)
    """

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, reason: str, n: int, example: str = "") -> None:
        """Count ``n`` rows skipped for ``reason``; the first example of a reason is kept.

        Parameters
        ----------
        reason : str
            A key of :data:`SKIP_REASONS`.
        n : int
            How many rows (0 is ignored).
        example : str, default=""
            One of them, for the message.

        Examples
        --------
        >>> skipped = Skipped()
        >>> skipped.add("stale", 2, "web-1.cpu at 2024-01-01T00:00:00")
        >>> skipped.add("stale", 1, "web-2.cpu at 2024-01-01T00:05:00")
        >>> skipped.counts["stale"], skipped.examples["stale"]
        (3, 'web-1.cpu at 2024-01-01T00:00:00')
        """
        if n:
            self.counts[reason] += int(n)
            self.examples.setdefault(reason, example)

    def merge(self, other: Skipped) -> None:
        """Add the counts (and examples) of ``other``, for example another partition's.

        Parameters
        ----------
        other : Skipped
            The counts to add.

        Examples
        --------
        >>> a, b = Skipped(), Skipped()
        >>> a.add("no_series", 1, "row 0")
        >>> b.add("no_series", 2, "row 9")
        >>> a.merge(b)
        >>> a.counts["no_series"], a.examples["no_series"]
        (3, 'row 0')
        """
        for k, n in other.counts.items():
            self.add(k, n, other.examples.get(k, ""))

    @property
    def total(self) -> int:
        """All skipped rows, every reason together.

        Examples
        --------
        >>> skipped = Skipped()
        >>> skipped.add("no_time", 2)
        >>> skipped.add("stale", 5)
        >>> skipped.total
        7
        """
        return sum(self.counts.values())

    def describe(self) -> str:
        """One sentence for a warning: each reason with rows, its count and example.

        Examples
        --------
        >>> skipped = Skipped()
        >>> skipped.add("no_time", 2, "row 4")
        >>> skipped.describe()
        '2 row(s) with no timestamp (e.g. row 4)'
        >>> Skipped().describe()
        ''
        """
        parts = [f"{n} row(s) with {SKIP_REASONS[k]} (e.g. {self.examples.get(k, '')})"
                 for k, n in self.counts.items() if n]
        return "; ".join(parts)


def prepare_rows(frame: pd.DataFrame, schema: LongSchema, key_col: str) -> tuple[np.ndarray, np.ndarray,
                                                                                  np.ndarray, np.ndarray]:
    """``(keys, seconds, values, usable)`` of a long frame; ``usable`` is False where a key or time is missing."""
    keys = frame[key_col].to_numpy(dtype=object)
    missing_key = pd.isna(frame[key_col]).to_numpy() | (frame[key_col].astype(str).str.strip() == "").to_numpy()
    secs = column_seconds(frame, schema.time_col, time_format=schema.time_format)
    values = _values(frame, schema)
    usable = ~missing_key & ~np.isnan(secs)
    return keys, secs, values, usable


def _series_order(keys: np.ndarray, secs: np.ndarray, values: np.ndarray,
                  rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows grouped by key, in time order within a key (ties by value, NaN last); group starts and codes."""
    codes, uniques = pd.factorize(pd.Series(keys[rows], dtype=object), sort=True)
    tie = np.where(np.isnan(values[rows]), np.inf, values[rows])
    order = np.lexsort((tie, secs[rows], codes))
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if len(order) else np.zeros(0, int)
    return rows[order], starts, np.asarray(uniques, dtype=object)[sorted_codes[starts]]


@dataclass
class Prepared:
    """A long frame as arrays, rows grouped by key in time order (ties by value, NaN last).

    ``order`` lists the usable rows (those with a key and a time) grouped by key; group ``g`` is
    ``order[starts[g]:ends[g]]`` with key ``names[g]``.
    """

    order: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    names: np.ndarray
    secs: np.ndarray
    values: np.ndarray
    skipped: Skipped


def _codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 = missing or blank) and the key of each code, fast for categorical and arrow columns."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy(dtype=np.int64)
        names = np.asarray(col.cat.categories.astype(str), dtype=object)
    else:
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        codes = np.asarray(codes, dtype=np.int64)
        names = np.asarray([str(u) for u in uniques], dtype=object)
    blank = np.flatnonzero([not n.strip() for n in names])
    if len(blank):
        codes = np.where(np.isin(codes, blank), -1, codes)
    return codes, names


def _values(frame: pd.DataFrame, schema: LongSchema) -> np.ndarray:
    raw = frame[schema.value_col]
    if raw.dtype.kind in "biuf":
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values_s = pd.to_numeric(raw, errors="coerce")
        bad = values_s.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"Column {schema.value_col!r} row {i} holds {raw.iloc[i]!r}, which is not a number. "
                            "Fix the value, or leave the cell empty (an empty value is skipped).")
        values = values_s.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isfinite(values), values, np.nan)


def _group_in_time_order(rows: np.ndarray, codes: np.ndarray, secs: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``rows`` grouped by code, in time order within a code, ties by value (NaN last).

    A stable integer sort by code is enough when each series' times already increase (inputs
    written series by series or time step by time step); otherwise a full three-key sort.
    """
    by_code = np.argsort(codes, kind="stable")
    c, t = codes[by_code], secs[by_code]
    if len(c) < 2 or bool(np.all((c[1:] != c[:-1]) | (t[1:] > t[:-1]))):
        return rows[by_code]
    tie = np.where(np.isnan(values), np.inf, values)
    return rows[np.lexsort((tie, secs, codes))]


def prepare(frame: pd.DataFrame, schema: LongSchema, key_col: str) -> Prepared:
    """Validate and sort a long frame once; rows without a key or a time are counted, not used."""
    codes, names = _codes(frame[key_col])
    secs = column_seconds(frame, schema.time_col, time_format=schema.time_format)
    values = _values(frame, schema)
    skipped = Skipped()
    no_key = codes < 0
    if no_key.any():
        skipped.add("no_series", int(no_key.sum()), f"row {int(np.flatnonzero(no_key)[0])}")
    no_time = ~no_key & np.isnan(secs)
    if no_time.any():
        skipped.add("no_time", int(no_time.sum()), f"row {int(np.flatnonzero(no_time)[0])}")
    rows = np.flatnonzero(~no_key & ~no_time)
    order = _group_in_time_order(rows, codes[rows], secs[rows], values[rows])
    sc = codes[order]
    starts = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]]) if len(order) else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(order)] if len(starts) else starts
    return Prepared(order, starts, ends, names[sc[starts]] if len(starts) else names[:0], secs, values, skipped)


def score_sorted(names: np.ndarray, starts: np.ndarray, ends: np.ndarray, secs: np.ndarray, values: np.ndarray,
                 states: dict[int, PartitionState], parts: np.ndarray,
                 make: Callable[[], Any]) -> tuple[np.ndarray, dict[int, PartitionState], Skipped]:
    """Score series laid out one after another (group ``g`` is rows ``starts[g]:ends[g]``, in time order).

    ``parts[g]`` is the partition of series ``g``, whose detector and last time live in
    ``states[parts[g]]`` (updated in place and returned). Rows not newer than a series' last time
    are not used (NaN score) and counted.
    """
    scores = np.full(len(values), np.nan)
    skipped = Skipped()
    for name, a, b, p in zip(names, starts, ends, parts, strict=True):
        st = states.setdefault(int(p), PartitionState())
        key = str(name)
        det = st.models.get(key)
        if det is None:
            det = st.models[key] = make()
        t = secs[a:b]
        last = st.last_t.get(key, -np.inf)
        lo = a
        if t[0] <= last:
            fresh = t > last
            n_old = int((~fresh).sum())
            skipped.add("stale", n_old, f"series {key!r} at {t[~fresh][0]:.0f} s, saved state up to {last:.0f} s")
            lo = a + n_old  # rows are in time order: the old ones come first
        if lo < b:
            scores[lo:b] = det.score_many(values[lo:b], t=secs[lo:b])
            st.last_t[key] = float(secs[b - 1])
    return scores, states, skipped


def score_partition(frame: pd.DataFrame, state: PartitionState, *, schema: LongSchema,
                    make: Callable[[], Any]) -> tuple[np.ndarray, Skipped]:
    """Score every usable row of ``frame`` (whole series) with one partition's detectors, learning as it goes.

    Returns the scores in ``frame``'s row order (NaN for rows not used) and what was skipped.
    """
    prep = prepare(frame, schema, schema.series_col)
    parts = np.zeros(len(prep.names), dtype=np.int64)
    sorted_scores, _, skipped = score_sorted(prep.names, prep.starts, prep.ends, prep.secs[prep.order],
                                             prep.values[prep.order], {0: state}, parts, make)
    prep.skipped.merge(skipped)
    scores = np.full(len(frame), np.nan)
    scores[prep.order] = sorted_scores
    return scores, prep.skipped
