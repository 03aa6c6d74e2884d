"""Turn incident tables into one sparse feature matrix: text n-grams plus structured columns."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import OneHotEncoder

__all__ = ["TicketFeaturizer"]

_WORD_TOKEN = r"(?u)\b\w[\w']*\b"
_WORD_RE = re.compile(_WORD_TOKEN)


class TicketFeaturizer:
    """Word and character TF-IDF of the normalised text, one-hot structured columns, scaled numbers.

    This is an internal building block of :class:`~incidentml.TriageModel`; its matrix has the
    blocks ``word``, ``char``, ``cat`` and ``num`` side by side, each recorded in ``blocks_``.
    """

    def __init__(self, *, word_ngram_range: tuple[int, int], char_ngram_range: tuple[int, int] | None,
                 max_features: int, min_df: int, categorical: Sequence[str], numeric: Sequence[str],
                 min_category_count: int = 5):
        self.word_ngram_range = tuple(word_ngram_range)
        self.char_ngram_range = None if char_ngram_range is None else tuple(char_ngram_range)
        self.max_features = max_features
        self.min_df = min_df
        self.categorical = list(categorical)
        self.numeric = list(numeric)
        self.min_category_count = min_category_count

    def fit_transform(self, docs: Sequence[str], cat: np.ndarray | None, num: np.ndarray | None) -> sp.csr_matrix:
        n = len(docs)
        min_df = self.min_df if n >= 10 * self.min_df else 1
        self.word_ = TfidfVectorizer(token_pattern=_WORD_TOKEN, ngram_range=self.word_ngram_range, min_df=min_df,
                                     max_df=0.9 if n >= 50 else 1.0, sublinear_tf=True,
                                     max_features=self.max_features, dtype=np.float32)
        blocks = []
        try:
            blocks.append(("word", self.word_.fit_transform(docs)))
        except ValueError:  # every document empty: keep a placeholder vocabulary
            self.word_ = TfidfVectorizer(token_pattern=_WORD_TOKEN, dtype=np.float32).fit(["__empty__"])
            blocks.append(("word", self.word_.transform(docs)))
        self.char_ = None
        if self.char_ngram_range is not None:
            self.char_ = TfidfVectorizer(analyzer="char_wb", ngram_range=self.char_ngram_range, min_df=min_df + 1,
                                         max_df=0.9 if n >= 50 else 1.0, sublinear_tf=True,
                                         max_features=self.max_features, dtype=np.float32)
            try:
                blocks.append(("char", self.char_.fit_transform(docs)))
            except ValueError:
                self.char_ = None
        self.cat_ = None
        if self.categorical:
            self.cat_ = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=self.min_category_count,
                                      dtype=np.float32, sparse_output=True)
            blocks.append(("cat", self.cat_.fit_transform(cat)))
        self.num_mean_ = self.num_scale_ = None
        if self.numeric:
            num = np.asarray(num, dtype=float)
            self.num_mean_ = np.nanmean(np.where(np.isfinite(num), num, np.nan), axis=0)
            self.num_mean_ = np.where(np.isfinite(self.num_mean_), self.num_mean_, 0.0)
            filled = self._fill(num)
            scale = filled.std(axis=0)
            self.num_scale_ = np.where(scale > 0, scale, 1.0)
            blocks.append(("num", sp.csr_matrix(self._scale(filled))))
        self.blocks_ = []
        start = 0
        for name, m in blocks:
            self.blocks_.append((name, start, start + m.shape[1]))
            start += m.shape[1]
        self.n_features_ = start
        return sp.hstack([m for _, m in blocks], format="csr", dtype=np.float32)

    def _scale(self, filled: np.ndarray) -> np.ndarray:
        # z-scores clipped to [-3, 3]: a few huge values otherwise slow the linear SVM tenfold
        return np.clip((filled - self.num_mean_) / self.num_scale_, -3.0, 3.0).astype(np.float32)

    def _fill(self, num: np.ndarray) -> np.ndarray:
        num = np.asarray(num, dtype=float)
        bad = ~np.isfinite(num)
        if bad.any():
            mean = np.asarray(self.num_mean_, dtype=float)
            num = np.where(bad, mean[None, :], num)
        return num

    def transform(self, docs: Sequence[str], cat: np.ndarray | None, num: np.ndarray | None) -> sp.csr_matrix:
        blocks = [self.word_.transform(docs)]
        if self.char_ is not None:
            blocks.append(self.char_.transform(docs))
        if self.cat_ is not None:
            blocks.append(self.cat_.transform(cat))
        if self.num_mean_ is not None:
            if num is None:
                raise ValueError("numeric features were fitted, so transform needs them")  # internal misuse
            filled = self._fill(num)
            blocks.append(sp.csr_matrix(self._scale(filled)))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def feature_names(self) -> np.ndarray:
        """Readable names of every column: ``word:disk full``, ``char:isk``, ``service=mail``, ``num:age``."""
        if getattr(self, "_names", None) is None:
            names = [f"word:{t}" for t in self.word_.get_feature_names_out()]
            if self.char_ is not None:
                names += [f"char:{t}" for t in self.char_.get_feature_names_out()]
            if self.cat_ is not None:
                names += [_cat_name(t, self.categorical)
                          for t in self.cat_.get_feature_names_out(self.categorical)]
            names += [f"num:{c}" for c in (self.numeric if self.num_mean_ is not None else [])]
            self._names = np.asarray(names, dtype=object)
        return self._names

    def explain_terms(self, doc: str, contributions: np.ndarray, columns: np.ndarray) -> dict[str, float]:
        """Aggregate per-feature contributions of one document onto words, phrases and columns.

        Character n-grams are spread over the words that contain them, so the answer is in words
        a person can read.
        """
        names = self.feature_names()
        out: dict[str, float] = {}
        char_block = next(((s, e) for b, s, e in self.blocks_ if b == "char"), None)
        char_contrib: dict[str, float] = {}
        for col, value in zip(columns, contributions, strict=True):
            if value == 0:
                continue
            name = names[col]
            if char_block is not None and char_block[0] <= col < char_block[1]:
                char_contrib[name[5:]] = char_contrib.get(name[5:], 0.0) + float(value)
            elif name.startswith("word:"):
                out[name[5:]] = out.get(name[5:], 0.0) + float(value)
            else:
                out[name] = out.get(name, 0.0) + float(value)
        if char_contrib:
            lo, hi = self.char_ngram_range or (0, 0)  # char_contrib is empty without character n-grams
            words = _WORD_RE.findall(doc)
            owners: dict[str, set[str]] = {}
            for w in set(words):
                padded = f" {w} "
                for n in range(lo, hi + 1):
                    for i in range(len(padded) - n + 1):
                        g = padded[i:i + n]
                        if g in char_contrib:
                            owners.setdefault(g, set()).add(w)
            for g, value in char_contrib.items():
                ws = owners.get(g)
                if not ws:
                    continue
                share = value / len(ws)
                for w in ws:
                    out[w] = out.get(w, 0.0) + share
        return out


def _cat_name(encoded: str, columns: Sequence[str]) -> str:
    for c in sorted(columns, key=len, reverse=True):
        if encoded.startswith(c + "_"):
            return f"{c}={encoded[len(c) + 1:]}"
    return str(encoded)
