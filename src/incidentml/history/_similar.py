"""SimilarIncidents: the past incidents most like a new one, and whether it is new."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from .._validation import Interval, validate_params
from ..exceptions import DataError, InvalidParameterError, NotFittedError, SchemaError
from ..triage import normalize_text
from ..utils import PersistenceMixin
from ._columns import CANDIDATES

__all__ = ["DEFAULT_TEXT_COLUMNS", "SimilarIncidents"]

_WORD_TOKEN = r"(?u)\b\w[\w']*\b"
#: Text columns used when ``fit`` is given a frame and no ``text``: the first group found.
DEFAULT_TEXT_COLUMNS: tuple[tuple[str, ...], ...] = CANDIDATES["text"]
_CHUNK = 512  # queries scored per block in query_many: 512 x 100k float32 similarities = 200 MB


def _ngram_range(value: Any) -> bool:
    return (isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, numbers.Integral) for v in value)
            and 1 <= value[0] <= value[1])


_ngram_range.description = "a tuple (min_n, max_n) with 1 <= min_n <= max_n"  # type: ignore[attr-defined]


def _char_range(value: Any) -> bool:
    return value is None or _ngram_range(value)


_char_range.description = "None or a tuple (min_n, max_n) with 1 <= min_n <= max_n"  # type: ignore[attr-defined]


def _bad_k(k: Any, where: str) -> None:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        msg = (f"The 'k' parameter of SimilarIncidents.{where} must be an int in the range [1, inf). "
               f"Got {k!r} instead.")
        raise InvalidParameterError(msg)

_CONTROLLER: list[Any] = []


def _one_blas_thread() -> Any:
    """A context that runs BLAS on one thread (the threadpool scan is done once per process)."""
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with a RangeIndex and string columns as object (cheap row lookups, same values)."""
    out = frame.reset_index(drop=True).copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.StringDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


class _Store:
    """The indexed rows: TF-IDF rows, LSA rows and the past rows' frames, all growable in place.

    ``add`` appends to buffers that double their capacity, so adding one row costs about the
    same at 100 rows as at 100,000 (no copy of the whole index per call).
    """

    def __init__(self, X: sp.csr_matrix, Z: np.ndarray | None, frame: pd.DataFrame):
        self.n = X.shape[0]
        self.n_cols = X.shape[1]
        # indices and indptr share one dtype, so building the matrix view never copies them
        self.data = np.asarray(X.data, dtype=np.float32)
        self.indices = np.asarray(X.indices, dtype=np.int64)
        self.indptr = np.asarray(X.indptr, dtype=np.int64)
        self.nnz = int(X.nnz)
        self._view: sp.csr_matrix | None = None
        self.Z = None if Z is None else np.asarray(Z, dtype=np.float32)
        self.blocks = [frame]
        self.starts = [0]

    @staticmethod
    def _grow(buf: np.ndarray, need: int) -> np.ndarray:
        if need <= len(buf):
            return buf
        new = np.empty((max(need, 2 * len(buf)),) + buf.shape[1:], dtype=buf.dtype)
        new[:len(buf)] = buf
        return new

    def append(self, X: sp.csr_matrix, Z: np.ndarray | None, frame: pd.DataFrame) -> None:
        m = X.shape[0]
        self.data = self._grow(self.data, self.nnz + X.nnz)
        self.indices = self._grow(self.indices, self.nnz + X.nnz)
        self.data[self.nnz:self.nnz + X.nnz] = X.data
        self.indices[self.nnz:self.nnz + X.nnz] = X.indices
        self.indptr = self._grow(self.indptr, self.n + m + 1)
        self.indptr[self.n + 1:self.n + m + 1] = X.indptr[1:] + self.nnz
        if self.Z is not None and Z is not None:
            self.Z = self._grow(self.Z, self.n + m)
            self.Z[self.n:self.n + m] = Z
        self.blocks.append(frame)
        self.starts.append(self.n)
        self.nnz += int(X.nnz)
        self.n += m
        self._view = None
        if len(self.blocks) > 64:  # keep row lookups cheap: merge the blocks now and then
            self.blocks = [self.frame()]
            self.starts = [0]

    @property
    def X(self) -> sp.csr_matrix:
        if self._view is None:
            self._view = sp.csr_matrix((self.data[:self.nnz], self.indices[:self.nnz], self.indptr[:self.n + 1]),
                                       shape=(self.n, self.n_cols), copy=False)
        return self._view

    @property
    def Zv(self) -> np.ndarray | None:
        return None if self.Z is None else self.Z[:self.n]

    def frame(self) -> pd.DataFrame:
        if len(self.blocks) == 1:
            return self.blocks[0]
        return pd.concat(self.blocks, ignore_index=True)

    def take(self, idx: np.ndarray) -> pd.DataFrame:
        """Rows at history positions ``idx``, in that order, indexed by their positions."""
        if len(self.blocks) == 1:
            return self.blocks[0].iloc[idx]
        where = np.searchsorted(np.asarray(self.starts), idx, side="right") - 1
        parts = [self.blocks[b].iloc[[int(i - self.starts[b])]] for b, i in zip(where, idx, strict=True)]
        out = pd.concat(parts) if parts else self.blocks[0].iloc[:0]
        out.index = pd.RangeIndex(0, 0) if not parts else pd.Index(idx)
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)  # saved without the spare capacity
        state["data"] = self.data[:self.nnz].copy()
        state["indices"] = self.indices[:self.nnz].copy()
        state["indptr"] = self.indptr[:self.n + 1].copy()
        state["Z"] = None if self.Z is None else self.Z[:self.n].copy()
        state["blocks"] = [self.frame()]
        state["starts"] = [0]
        state["_view"] = None
        return state


class SimilarIncidents(PersistenceMixin, BaseEstimator):
    """Find the past incidents or tickets most similar to a new one, and say when none is close.

    Each text field is prepared with :func:`~incidentml.triage.normalize_text`, then described by
    word and character TF-IDF n-grams (sublinear tf), L2-normalised. Similarity is a cosine in
    ``[0, 1]``:

    * With at least ``10 * n_components`` fitted rows, the index is a dense LSA projection
      (``TruncatedSVD`` of the TF-IDF matrix, ``n_components`` dimensions). Every past row is
      scored by one dense matrix product; the ``n_candidates`` best are then reranked by
      ``lsa_weight * lsa_cosine + (1 - lsa_weight) * tfidf_cosine`` (the exact sparse TF-IDF
      cosine of the candidates). That score is ``similarity``.
    * With fewer rows (LSA needs many rows to learn from), every row is scored by the exact
      sparse TF-IDF cosine.

    Why (``benchmarks/_continual_similar.py``, 2 cores): on the Endava tickets (38k training rows,
    8 categories, 3,000 test queries) the share of the 5 nearest neighbours that share the query's
    category is 0.738, against 0.695 for a brute-force word + char TF-IDF cosine over every row
    (LSA alone gave 0.72 to 0.73 in development). Over a 100k-row index a single query takes
    p50 7 ms / p99 17 ms, against 16 / 53 ms for the brute-force sparse cosine. On the JIRA bug
    reports (long raw text, 160+ components) the blend is below the baseline (0.275 against 0.313
    same component): a 64-dimension projection loses detail there.

    The vocabulary and the projection are learnt by :meth:`fit` and then fixed: :meth:`add`
    appends rows without refitting, so words first seen in added rows carry no weight until the
    next ``fit``.

    A query is **novel** when its best similarity is below ``novelty_threshold_``: the
    ``novelty_quantile`` quantile of the leave-one-out best similarities of the fitted rows
    (each row against all the others, on up to 2,000 evenly spaced rows). No labels are used.

    Parameters
    ----------
    word_ngram_range : tuple (min_n, max_n), default=(1, 2)
        Word n-grams.
    char_ngram_range : tuple (min_n, max_n) or None, default=(3, 5)
        Character n-grams inside word boundaries; ``None`` turns them off.
    max_features : int, default=200000
        Vocabulary cap of each of the word and character vectorisers.
    min_df : int, default=2
        Minimum document frequency of an n-gram; 1 when there are fewer than ``20 * min_df`` rows,
        so tiny histories keep their vocabulary.
    n_components : int or None, default=64
        Dimensions of the LSA index; ``None`` always uses the exact sparse cosine.
    n_candidates : int, default=200
        LSA candidates reranked by the blended score.
    lsa_weight : float, default=0.5
        Weight of the LSA cosine in the blended score (0 = TF-IDF cosine of the candidates only).
    novelty_quantile : float, default=0.05
        Quantile of the fitted rows' leave-one-out best similarities below which a query is novel.
    max_chars : int, default=5000
        Characters of each text field read.
    random_state : int or None, default=None
        Seed of the randomized SVD (the LSA index).

    Attributes
    ----------
    text_ : list of str
        The text columns read (``["text"]`` when fitted on a list of strings).
    rows_ : DataFrame
        The past rows (every column), with a RangeIndex: their positions in the history.
    index_ : str
        ``"lsa"`` or ``"exact"``.
    novelty_threshold_ : float
        Best similarity below which a query is novel.
    n_rows_ : int
        Rows in the history (fitted plus added).

    Examples
    --------
    >>> import pandas as pd
    >>> past = pd.DataFrame({"text": ["printer jam on floor 3", "vpn does not connect",
    ...                               "printer out of toner", "password reset for mail"],
    ...                      "team": ["desk", "network", "desk", "identity"]})
    >>> s = SimilarIncidents().fit(past, text=["text"])
    >>> res = s.query("printer jam on floor 2", k=2)
    >>> res[["text", "team"]].to_numpy().tolist()
    [['printer jam on floor 3', 'desk'], ['printer out of toner', 'desk']]
    >>> bool(res["similarity"].iloc[0] > 0.5), res.attrs["novel"]
    (True, False)
    """

    _parameter_constraints = {
        "word_ngram_range": [_ngram_range],
        "char_ngram_range": [_char_range],
        "max_features": [Interval(int, 1, None)],
        "min_df": [Interval(int, 1, None)],
        "n_components": [None, Interval(int, 2, None)],
        "n_candidates": [Interval(int, 1, None)],
        "lsa_weight": [Interval(float, 0, 1)],
        "novelty_quantile": [Interval(float, 0, 1)],
        "max_chars": [Interval(int, 1, None)],
        "random_state": [None, int],
    }
    _model_kind = "incidentml.SimilarIncidents"

    def __init__(self, word_ngram_range: tuple[int, int] = (1, 2), *,
                 char_ngram_range: tuple[int, int] | None = (3, 5), max_features: int = 200_000, min_df: int = 2,
                 n_components: int | None = 64, n_candidates: int = 200, lsa_weight: float = 0.5,
                 novelty_quantile: float = 0.05, max_chars: int = 5000, random_state: int | None = None):
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.max_features = max_features
        self.min_df = min_df
        self.n_components = n_components
        self.n_candidates = n_candidates
        self.lsa_weight = lsa_weight
        self.novelty_quantile = novelty_quantile
        self.max_chars = max_chars
        self.random_state = random_state

    # ------------------------------------------------------------------------------------ input
    def _field(self, value: Any) -> str:
        return normalize_text(value, max_chars=self.max_chars)

    def _frame_docs(self, frame: pd.DataFrame, text: Sequence[str]) -> list[str]:
        cols = [frame[c].tolist() for c in text]
        return [" \n ".join(self._field(v) for v in vals) for vals in zip(*cols, strict=True)]

    def _as_frame(self, data: Any, text: Sequence[str] | None, where: str) -> tuple[pd.DataFrame, list[str]]:
        if isinstance(data, pd.DataFrame):
            frame = data
            if text is None:
                text = next((list(g) for g in DEFAULT_TEXT_COLUMNS if all(c in frame.columns for c in g)), None)
                if text is None:
                    msg = (f"SimilarIncidents.{where}: no text column given and none of the usual ones "
                           f"({', '.join(repr(g[0]) for g in DEFAULT_TEXT_COLUMNS)}) is in the data "
                           f"(columns: {', '.join(repr(str(c)) for c in frame.columns[:10])}). Pass text=[...].")
                    raise SchemaError(msg)
            text = [text] if isinstance(text, str) else list(text)
            if not text:
                msg = f"SimilarIncidents.{where}: 'text' is empty. Name at least one text column, e.g. text=['title']."
                raise SchemaError(msg)
            for c in text:
                if c not in frame.columns:
                    shown = ", ".join(repr(str(x)) for x in frame.columns[:10])
                    msg = (f"SimilarIncidents.{where}: text column {c!r} is not in the data (columns: {shown}). "
                           "Name the columns that hold the incident text.")
                    raise SchemaError(msg)
            return frame, text
        if isinstance(data, str) or not isinstance(data, Iterable):
            msg = (f"SimilarIncidents.{where} expects a DataFrame of past incidents or a list of strings; got "
                   f"{type(data).__name__}. Wrap a single text in a list.")
            raise SchemaError(msg)
        items = list(data)
        bad = next((v for v in items if not isinstance(v, str)), None)
        if bad is not None:
            msg = (f"SimilarIncidents.{where}: a list must hold strings only; got a {type(bad).__name__} "
                   f"({bad!r:.60}). Pass a DataFrame for rows with several fields.")
            raise SchemaError(msg)
        return pd.DataFrame({"text": items}), ["text"]

    def _query_doc(self, item: Any) -> str:
        """One query as a document: a string, a mapping of fields, a Series, or anything with ``to_ticket``."""
        if isinstance(item, str):
            return self._field(item)
        if hasattr(item, "to_ticket") and callable(item.to_ticket):
            item = item.to_ticket()
        if isinstance(item, pd.Series):
            item = item.to_dict()
        if isinstance(item, Mapping):
            fields = [c for c in self.text_ if c in item]
            if fields:
                return " \n ".join(self._field(item[c]) for c in fields)
            values = [v for v in item.values() if isinstance(v, str)]
            return " \n ".join(self._field(v) for v in values)
        msg = (f"SimilarIncidents.query expects a string, a dict of fields (e.g. Incident.to_ticket()), a pandas "
               f"Series or an object with to_ticket(); got {type(item).__name__}.")
        raise SchemaError(msg)

    # ------------------------------------------------------------------------------------ vectors
    def _tfidf(self, docs: Sequence[str]) -> sp.csr_matrix:
        blocks = [self.word_.transform(docs)]
        if self.char_ is not None:
            blocks.append(self.char_.transform(docs))
        X = sp.hstack(blocks, format="csr", dtype=np.float32) if len(blocks) > 1 else blocks[0].tocsr()
        return normalize(X, copy=False)

    def _embed(self, X: sp.csr_matrix) -> np.ndarray:
        Z = np.asarray(X @ self.projection_, dtype=np.float32)
        norms = np.linalg.norm(Z, axis=1, keepdims=True)
        return (Z / np.where(norms > 0, norms, np.float32(1.0))).astype(np.float32, copy=False)

    # ------------------------------------------------------------------------------------ fit
    def fit(self, frame: Any, text: Sequence[str] | str | None = None, y: Any = None) -> SimilarIncidents:
        """Index past incidents.

        Parameters
        ----------
        frame : DataFrame or list of str
            Past incidents or tickets, one per row; every column is kept and returned by
            :meth:`query`. A list of strings becomes a frame with one ``text`` column.
        text : list of str or str, optional
            Text columns of ``frame``. Default: the first of ``title`` + ``description``,
            ``Document``, ``text``, ``title``, ``summary``, ``description`` present.
        y : ignored

        Returns
        -------
        self

        Examples
        --------
        >>> import pandas as pd
        >>> from incidentml import SimilarIncidents
        >>> past = pd.DataFrame({"text": ["printer jam on floor 3", "vpn does not connect",
        ...                               "printer out of toner", "password reset for mail"],
        ...                      "team": ["desk", "network", "desk", "identity"]})
        >>> index = SimilarIncidents().fit(past, text="text")
        >>> index.n_rows_, index.text_
        (4, ['text'])
        >>> SimilarIncidents().fit(["disk full on db-1", "vpn drops"]).query("db-1 disk is full", k=1)["text"].tolist()
        ['disk full on db-1']
        """
        validate_params(self)
        data, cols = self._as_frame(frame, text, "fit")
        if len(data) == 0:
            msg = "SimilarIncidents.fit: the data has no rows. Give at least one past incident."
            raise DataError(msg)
        self.text_ = cols
        docs = self._frame_docs(data, cols)
        n = len(docs)
        min_df = self.min_df if n >= 20 * self.min_df else 1
        max_df = 0.5 if n >= 200 else 1.0
        self.word_ = TfidfVectorizer(token_pattern=_WORD_TOKEN, ngram_range=tuple(self.word_ngram_range),
                                     min_df=min_df, max_df=max_df, sublinear_tf=True, max_features=self.max_features,
                                     dtype=np.float32)
        try:
            Xw = self.word_.fit_transform(docs)
        except ValueError:  # no word survives (every document empty): a placeholder vocabulary
            self.word_ = TfidfVectorizer(token_pattern=_WORD_TOKEN, dtype=np.float32).fit(["__empty__"])
            Xw = self.word_.transform(docs)
        self.char_ = None
        blocks = [Xw]
        if self.char_ngram_range is not None:
            char = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(self.char_ngram_range), min_df=min_df,
                                   max_df=max_df, sublinear_tf=True, max_features=self.max_features,
                                   dtype=np.float32)
            try:
                blocks.append(char.fit_transform(docs))
                self.char_ = char
            except ValueError:
                pass
        X = sp.hstack(blocks, format="csr", dtype=np.float32) if len(blocks) > 1 else blocks[0].tocsr()
        X = normalize(X, copy=False)
        self.n_features_ = X.shape[1]
        use_lsa = self.n_components is not None and n >= 10 * self.n_components and X.shape[1] > self.n_components
        self.index_ = "lsa" if use_lsa else "exact"
        self.projection_ = None
        Z = None
        if use_lsa:
            from sklearn.decomposition import TruncatedSVD

            svd = TruncatedSVD(self.n_components, algorithm="randomized", n_iter=3, random_state=self.random_state)
            svd.fit(X)
            # features x dims, float32 and row-major: a sparse query gathers only its own rows
            self.projection_ = np.ascontiguousarray(svd.components_.T, dtype=np.float32)
            self.explained_variance_ratio_ = float(svd.explained_variance_ratio_.sum())
            Z = self._embed(X)
        self.store_ = _Store(X, Z, _plain(data))
        self.novelty_threshold_ = self._novelty_threshold()
        self.n_rows_ = n
        return self

    def _novelty_threshold(self) -> float:
        n = self.store_.n
        if n < 2:
            return 0.0
        sample = np.unique(np.linspace(0, n - 1, num=min(n, 2000)).round().astype(np.int64))
        best = np.empty(len(sample))
        for start in range(0, len(sample), _CHUNK):
            rows = sample[start:start + _CHUNK]
            Z = self.store_.Zv
            S = self._similarity_block(self.store_.X[rows], None if Z is None else Z[rows], k=2)
            S[np.arange(len(rows)), rows] = -np.inf  # leave the row itself out
            best[start:start + len(rows)] = S.max(axis=1)
        return float(np.quantile(best, self.novelty_quantile))

    # ------------------------------------------------------------------------------------ scoring
    def _similarity_block(self, Q: sp.csr_matrix, Zq: np.ndarray | None, k: int = 1) -> np.ndarray:
        """Similarities of a block of queries to every past row (dense, queries x rows, float32).

        LSA index: the ``max(n_candidates, k)`` best LSA cosines of each query get the blended
        score; the other rows get ``lsa_weight`` times their LSA cosine, a lower bound of their
        blend that is never above a candidate's (a candidate's LSA cosine is at least theirs).
        """
        X, Z = self.store_.X, self.store_.Zv
        if Z is None or Zq is None:
            return np.asarray((Q @ X.T).toarray(), dtype=np.float32).clip(0.0, 1.0)
        if Zq.shape[0] == 1:
            # one query: a matrix-vector product on one BLAS thread; waking BLAS threads for it costs more
            # than the product (3x slower single queries measured on a busy 2-core machine)
            with _one_blas_thread():
                S = (Z @ Zq[0])[None, :]
        else:
            S = Zq @ Z.T
        np.clip(S, 0.0, 1.0, out=S)
        n = S.shape[1]
        m = min(max(self.n_candidates, k), n)
        cand = np.argpartition(-S, m - 1, axis=1)[:, :m] if m < n else np.broadcast_to(np.arange(n), S.shape)
        w = np.float32(self.lsa_weight)
        out = S * w
        dense = np.zeros(X.shape[1], dtype=np.float32)  # one query row at a time, scattered into a dense buffer
        for i in range(S.shape[0]):
            c = np.sort(cand[i])
            cols = Q.indices[Q.indptr[i]:Q.indptr[i + 1]]
            dense[cols] = Q.data[Q.indptr[i]:Q.indptr[i + 1]]
            exact = np.asarray(X[c] @ dense, dtype=np.float32).clip(0.0, 1.0)
            dense[cols] = 0.0
            out[i, c] = w * S[i, c] + (np.float32(1.0) - w) * exact
        return out

    def _top(self, S: np.ndarray, k: int) -> np.ndarray:
        """Indices of the ``k`` best rows of each query, most similar first, ties by history position."""
        n = S.shape[1]
        k = min(k, n)
        part = np.argpartition(-S, k - 1, axis=1)[:, :k] if k < n else np.broadcast_to(np.arange(n), S.shape)
        out = np.empty((S.shape[0], k), dtype=np.int64)
        for i in range(S.shape[0]):
            p = np.sort(part[i])
            out[i] = p[np.argsort(-S[i, p], kind="stable")]
        return out

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "store_")
        except _SklearnNotFittedError:
            msg = (f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with past incidents, or "
                   "load a saved index with SimilarIncidents.load(path).")
            raise NotFittedError(msg) from None

    def _result(self, idx: np.ndarray, sims: np.ndarray) -> pd.DataFrame:
        rows = self.store_.take(idx)
        if "similarity" in rows.columns:
            rows = rows.rename(columns={"similarity": "similarity_input"})
        out = rows.copy()
        out["similarity"] = np.round(sims.astype(np.float64), 6)
        return out

    def query(self, item: Any, k: int = 5) -> pd.DataFrame:
        """The ``k`` past rows most similar to one incident, most similar first.

        Parameters
        ----------
        item : str, dict, Series or Incident
            The new incident: its text, a dict of fields (the fitted text columns are read when
            present, else every string value, so ``Incident.to_ticket()`` works), a row of a
            frame, or any object with ``to_ticket()`` (an :class:`~incidentml.Incident`).
        k : int, default=5
            Number of past rows; the result has ``min(k, n_rows_)`` rows.

        Returns
        -------
        DataFrame
            The past rows (all their columns; the index is their position in the history) plus
            ``similarity`` (0..1). ``result.attrs["novel"]`` is True when the best similarity is
            below ``novelty_threshold_`` (nothing in the history is close), and
            ``result.attrs["novelty_threshold"]`` holds the cut.

            Examples
            --------
            >>> import pandas as pd
            >>> from incidentml import SimilarIncidents
            >>> past = pd.DataFrame({"text": ["printer jam on floor 3", "vpn does not connect",
            ...                               "printer out of toner", "password reset for mail"],
            ...                      "team": ["desk", "network", "desk", "identity"]})
            >>> res = SimilarIncidents().fit(past, text=["text"]).query("cannot connect to the vpn", k=1)
            >>> res[["text", "team"]].to_numpy().tolist(), res.attrs["novel"]
            ([['vpn does not connect', 'network']], False)
        """
        self._check_fitted()
        _bad_k(k, "query")
        return self._query_docs([self._query_doc(item)], k)[0]

    def query_many(self, items: Any, k: int = 5) -> pd.DataFrame:
        """:meth:`query` for many incidents in one vectorised computation.

        Parameters
        ----------
        items : DataFrame or list
            A frame with the fitted text columns, or a list of what :meth:`query` accepts.
        k : int, default=5

        Returns
        -------
        DataFrame
            The answers of :meth:`query` for each item, one after the other, with a first column
            ``query_row`` (the position of the item) and a ``novel`` column (the query's flag,
            repeated on its rows). ``attrs["novel"]`` lists the flags per item.

            Examples
            --------
            >>> import pandas as pd
            >>> from incidentml import SimilarIncidents
            >>> past = pd.DataFrame({"text": ["printer jam on floor 3", "vpn does not connect",
            ...                               "printer out of toner", "password reset for mail"],
            ...                      "team": ["desk", "network", "desk", "identity"]})
            >>> index = SimilarIncidents().fit(past, text=["text"])
            >>> res = index.query_many(["printer jam", "vpn down"], k=1)
            >>> res[["query_row", "text", "team"]].to_numpy().tolist()
            [[0, 'printer jam on floor 3', 'desk'], [1, 'vpn does not connect', 'network']]
        """
        self._check_fitted()
        _bad_k(k, "query_many")
        if isinstance(items, pd.DataFrame):
            missing = [c for c in self.text_ if c not in items.columns]
            if missing:
                shown = ", ".join(repr(str(x)) for x in items.columns[:10])
                msg = (f"SimilarIncidents.query_many: text column {missing[0]!r} is not in the data (columns: "
                       f"{shown}). The index was fitted on {self.text_}.")
                raise SchemaError(msg)
            docs = self._frame_docs(items, self.text_)
        elif isinstance(items, str) or isinstance(items, Mapping):
            docs = [self._query_doc(items)]
        else:
            docs = [self._query_doc(v) for v in items]
        parts = self._query_docs(docs, k)
        flags = [bool(p.attrs["novel"]) for p in parts]
        frames = []
        for i, p in enumerate(parts):
            p = p.copy()
            p.insert(0, "query_row", i)
            p["novel"] = flags[i]
            frames.append(p)
        if frames:
            out = pd.concat(frames)
        else:
            out = self._result(np.zeros(0, dtype=np.int64), np.zeros(0))
            out.insert(0, "query_row", pd.Series(dtype=np.int64))
            out["novel"] = pd.Series(dtype=bool)
        out.attrs = {"novel": flags, "novelty_threshold": self.novelty_threshold_}
        return out

    def _query_docs(self, docs: list[str], k: int) -> list[pd.DataFrame]:
        out = []
        for start in range(0, len(docs), _CHUNK):
            block = docs[start:start + _CHUNK]
            Q = self._tfidf(block)
            Zq = None if self.projection_ is None else self._embed(Q)
            S = self._similarity_block(Q, Zq, k)
            top = self._top(S, k)
            for i in range(len(block)):
                sims = S[i, top[i]].clip(0.0, 1.0)
                res = self._result(top[i], sims)
                best = float(sims[0]) if len(sims) else 0.0
                res.attrs = {"novel": bool(best < self.novelty_threshold_),
                             "novelty_threshold": self.novelty_threshold_}
                out.append(res)
        return out

    # ------------------------------------------------------------------------------------ add
    def add(self, rows: Any) -> SimilarIncidents:
        """Append past incidents to the index without refitting.

        The vocabulary, the LSA projection and the novelty threshold stay those of :meth:`fit`:
        words first seen in ``rows`` are ignored until the next ``fit``.

        Parameters
        ----------
        rows : DataFrame or list of str
            New rows with the fitted text columns (other columns are kept, missing ones are
            empty); a list of strings when the index was fitted on strings.

        Returns
        -------
        self

        Examples
        --------
        >>> import pandas as pd
        >>> from incidentml import SimilarIncidents
        >>> past = pd.DataFrame({"text": ["printer jam on floor 3", "vpn does not connect",
        ...                               "printer out of toner", "password reset for mail"],
        ...                      "team": ["desk", "network", "desk", "identity"]})
        >>> index = SimilarIncidents().fit(past, text=["text"])
        >>> _ = index.add(pd.DataFrame({"text": ["vpn drops every hour"], "team": ["network"]}))
        >>> index.n_rows_, index.query("vpn drops", k=1)["text"].tolist()
        (5, ['vpn drops every hour'])
        """
        self._check_fitted()
        data, _ = self._as_frame(rows, self.text_, "add")
        if len(data) == 0:
            return self
        X = self._tfidf(self._frame_docs(data, self.text_))
        Z = None if self.projection_ is None else self._embed(X)
        self.store_.append(X, Z, _plain(data))
        self.n_rows_ = self.store_.n
        return self

    def _manifest_extra(self) -> dict[str, Any]:
        self._check_fitted()
        return {"text": list(self.text_), "n_rows": int(self.n_rows_), "index": self.index_,
                "novelty_threshold": float(self.novelty_threshold_),
                "columns": [str(c) for c in self.store_.blocks[0].columns]}

    @property
    def X_(self) -> sp.csr_matrix:
        """The L2-normalised TF-IDF rows of the history (rows x features, sparse).

        Examples
        --------
        >>> import pandas as pd
        >>> from incidentml import SimilarIncidents
        >>> past = pd.DataFrame({"text": ["printer jam on floor 3", "vpn does not connect",
        ...                               "printer out of toner", "password reset for mail"],
        ...                      "team": ["desk", "network", "desk", "identity"]})
        >>> X = SimilarIncidents().fit(past, text=["text"]).X_
        >>> X.shape[0], round(float(X[0].multiply(X[0]).sum()), 6)
        (4, 1.0)
        """
        self._check_fitted()
        return self.store_.X

    @property
    def Z_(self) -> np.ndarray | None:
        """The unit-length LSA rows of the history (rows x ``n_components``), or None (exact index).

        Examples
        --------
        A history this small is searched exactly, without the LSA projection:

        >>> import pandas as pd
        >>> from incidentml import SimilarIncidents
        >>> past = pd.DataFrame({"text": ["printer jam on floor 3", "vpn does not connect",
        ...                               "printer out of toner", "password reset for mail"],
        ...                      "team": ["desk", "network", "desk", "identity"]})
        >>> SimilarIncidents().fit(past, text=["text"]).Z_ is None
        True
        """
        self._check_fitted()
        return self.store_.Zv

    @property
    def rows_(self) -> pd.DataFrame:
        """The past rows, every column, indexed by their position in the history.

        Examples
        --------
        >>> import pandas as pd
        >>> from incidentml import SimilarIncidents
        >>> past = pd.DataFrame({"text": ["printer jam on floor 3", "vpn does not connect",
        ...                               "printer out of toner", "password reset for mail"],
        ...                      "team": ["desk", "network", "desk", "identity"]})
        >>> SimilarIncidents().fit(past, text=["text"]).rows_["team"].tolist()
        ['desk', 'network', 'desk', 'identity']
        """
        self._check_fitted()
        return self.store_.frame()
