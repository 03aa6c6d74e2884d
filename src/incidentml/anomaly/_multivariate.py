"""Joint detection over all the metrics of a point: a robust Mahalanobis distance.

Each metric is first standardized against its own exponentially weighted level and spread (with
clipped updates, as in :class:`~incidentml.anomaly.RobustZScore`), giving ``z_k``. The detector
also tracks the exponentially weighted correlation ``R`` of the (clipped) ``z``'s of every pair of
metrics, shrunk toward the identity (``(1 - shrinkage) * R + shrinkage * I``) so it stays well
conditioned. A point's squared distance is ``D2 = z' R^-1 z`` over the metrics present at that
point: moves that several metrics make together, each unremarkable alone, add up; and so do moves
that break the usual relation between metrics. ``D2`` follows roughly a chi-square with ``m``
degrees of freedom (``m`` metrics present); the raw score is Fisher's normal deviate
``sqrt(2 * D2) - sqrt(2 * m - 1)``, comparable whatever ``m`` is and growing linearly with the
distance, and the anomaly likelihood turns it into a score in [0, 1].

Metric keys may appear and disappear: a missing (or non-finite) metric is left out of that point's
distance and is not updated. Memory is bounded by ``max_keys``: only the first ``max_keys`` metrics
seen get a slot (``3 * max_keys + 2 * max_keys**2`` floats; metrics first seen at the same point
take slots in name order, so the order of a point's keys never matters); later metrics are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from .._validation import Interval, validate_params
from ..utils import to_seconds_array
from ._calibration import LIKELIHOOD_STATE, likelihood_kernel, likelihood_params
from ._jit import jit
from .base import UNSCORABLE, AnomalyDetector, as_columns, as_point

__all__ = ["MultivariateDetector"]

_SQRT_PI_2 = math.sqrt(math.pi / 2.0)


@jit
def multivariate_kernel(values, keys, cov, cnt, params, raw, share, learn):  # pragma: no cover - compiled
    # values: (n, K) with NaN for missing; keys: (K, 3) [n, level, spread];
    # cov, cnt: (K, K) EW second moments of the clipped z's and pair counts
    alpha = params[0]
    clip = params[1]
    zmax = params[2]
    shrink = params[3]
    calpha = params[4]
    warm = params[5]
    n_rows = values.shape[0]
    k_all = values.shape[1]
    idx = np.empty(k_all, dtype=np.int64)
    z = np.empty(k_all)
    zc = np.empty(k_all)
    a_mat = np.empty((k_all, k_all))
    sol = np.empty(k_all)
    for i in range(n_rows):
        # ---- standardize the present, warm metrics
        m = 0
        for j in range(k_all):
            share[i, j] = np.nan
            x = values[i, j]
            if not math.isfinite(x):
                continue
            share[i, j] = 0.0
            if keys[j, 0] < 2.0:
                continue
            lv = keys[j, 1]
            s = keys[j, 2]
            floor = 1e-9 + 1e-6 * abs(lv)
            zz = (x - lv) / (s if s > floor else floor)
            if not math.isfinite(zz):
                zz = zmax if x > lv else -zmax
            if zz > zmax:
                zz = zmax
            elif zz < -zmax:
                zz = -zmax
            idx[m] = j
            z[m] = zz
            zc[m] = clip if zz > clip else (-clip if zz < -clip else zz)
            m += 1
        # ---- D2 = z' R^-1 z over the present metrics (Gaussian elimination, partial pivoting)
        if m == 0:
            raw[i] = 0.0
        else:
            for p in range(m):
                jp = idx[p]
                dp = cov[jp, jp]
                for q in range(m):
                    jq = idx[q]
                    if p == q:
                        a_mat[p, q] = 1.0
                    else:
                        dq = cov[jq, jq]
                        r = 0.0
                        if cnt[jp, jq] >= 2.0 and dp > 1e-12 and dq > 1e-12:
                            r = cov[jp, jq] / math.sqrt(dp * dq)
                            if r > 1.0:
                                r = 1.0
                            elif r < -1.0:
                                r = -1.0
                        a_mat[p, q] = (1.0 - shrink) * r
                sol[p] = z[p]
            for c in range(m):
                piv = c
                best = abs(a_mat[c, c])
                for r2 in range(c + 1, m):
                    if abs(a_mat[r2, c]) > best:
                        best = abs(a_mat[r2, c])
                        piv = r2
                if piv != c:
                    for q in range(m):
                        tmp = a_mat[c, q]
                        a_mat[c, q] = a_mat[piv, q]
                        a_mat[piv, q] = tmp
                    tmp = sol[c]
                    sol[c] = sol[piv]
                    sol[piv] = tmp
                d = a_mat[c, c]
                for r2 in range(c + 1, m):
                    f = a_mat[r2, c] / d
                    if f != 0.0:
                        for q in range(c, m):
                            a_mat[r2, q] -= f * a_mat[c, q]
                        sol[r2] -= f * sol[c]
            for c in range(m - 1, -1, -1):
                acc = sol[c]
                for q in range(c + 1, m):
                    acc -= a_mat[c, q] * sol[q]
                sol[c] = acc / a_mat[c, c]
            d2 = 0.0
            for p in range(m):
                part = z[p] * sol[p]
                share[i, idx[p]] = part if part > 0.0 else 0.0
                d2 += part
            if d2 < 0.0:
                d2 = 0.0
            # Fisher: sqrt(2 chi2_m) - sqrt(2m - 1) is about standard normal, and linear in the distance
            raw[i] = math.sqrt(2.0 * d2) - math.sqrt(2.0 * m - 1.0)
        if not learn:
            continue
        # ---- learn: pair moments of the clipped z's, then each metric's level and spread
        for p in range(m):
            jp = idx[p]
            for q in range(p, m):
                jq = idx[q]
                c0 = cnt[jp, jq]
                a = calpha
                if 1.0 / (c0 + 1.0) > a:
                    a = 1.0 / (c0 + 1.0)
                val = (1.0 - a) * cov[jp, jq] + a * zc[p] * zc[q]
                cov[jp, jq] = val
                cov[jq, jp] = val
                cnt[jp, jq] = c0 + 1.0
                cnt[jq, jp] = c0 + 1.0
        for j in range(k_all):
            x = values[i, j]
            if not math.isfinite(x):
                continue
            n = keys[j, 0]
            if n == 0.0:
                keys[j, 1] = x
                keys[j, 2] = 0.0
            else:
                a = alpha
                if 1.0 / (n + 1.0) > a:
                    a = 1.0 / (n + 1.0)
                lv = keys[j, 1]
                s = keys[j, 2]
                r = x - lv
                if n > warm and s > 0.0:
                    lim = clip * s
                    r = lim if r > lim else (-lim if r < -lim else r)
                if math.isfinite(r):
                    keys[j, 1] = lv + a * r
                    keys[j, 2] = (1.0 - a) * s + a * abs(r) * _SQRT_PI_2
            keys[j, 0] = n + 1.0


class MultivariateDetector(AnomalyDetector):
    """Joint anomaly score of all the metrics of a point (robust Mahalanobis distance).

    Parameters
    ----------
    alpha : float, default=0.02
        Weight of the newest point in each metric's level and spread.
    corr_alpha : float, default=0.01
        Weight of the newest point in the correlations between metrics.
    shrinkage : float, default=0.2
        Shrinks the correlation matrix toward the identity (``1.0`` treats metrics as independent).
    clip : float, default=3.0
        Level updates and the correlation inputs are clipped at this many spreads.
    max_z : float, default=20.0
        Per-metric z-scores are capped at this value, so one wild metric cannot dominate.
    max_keys : int, default=32
        At most this many metrics are watched (the first ones seen); later keys are ignored.
    calibrate : bool, default=True
        Pass the raw score through the anomaly likelihood, giving scores in [0, 1].
    warmup : int, default=150
        Points before the detector scores anything but 0.
    short_window, history, min_std
        Settings of the likelihood step (see :mod:`incidentml.anomaly._calibration`).

    Notes
    -----
    ``score_many`` runs one compiled kernel over the whole batch: it gives exactly the answers of
    the ``score_one``/``learn_one`` loop. ``contributions_one`` splits the score between the
    metrics in proportion to each one's (non-negative) share ``z_k (R^-1 z)_k`` of the squared
    distance, scaled so the top metric's contribution equals the score.

    Examples
    --------
    >>> import numpy as np
    >>> from incidentml.anomaly import MultivariateDetector, tail_probability_to_score
    >>> rng = np.random.default_rng(0)
    >>> common = rng.normal(0, 1, 800)
    >>> X = {"cpu": common + rng.normal(0, 0.2, 800), "load": common + rng.normal(0, 0.2, 800)}
    >>> X["cpu"][700:705] += 3.0  # cpu up, load down: each plausible alone, together they break the relation
    >>> X["load"][700:705] -= 3.0
    >>> scores = MultivariateDetector().score_many(X)
    >>> cut = tail_probability_to_score(1e-5)  # the score of a one-in-100,000 event: 1/3
    >>> bool(scores[700:705].max() > cut), bool(scores[200:700].max() < cut)
    (True, True)
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "alpha": [Interval(float, 0, 1, closed="right")],
        "corr_alpha": [Interval(float, 0, 1, closed="right")],
        "shrinkage": [Interval(float, 0, 1)],
        "clip": [Interval(float, 0, None, closed="neither")],
        "max_z": [Interval(float, 0, None, closed="neither")],
        "max_keys": [Interval(int, 1, 256)],
        "calibrate": [bool],
        "warmup": [Interval(int, 0, None)],
        "short_window": [Interval(int, 1, 64)],
        "history": [Interval(int, 1, None)],
        "min_std": [Interval(float, 0, None)],
    }

    def __init__(self, alpha: float = 0.02, *, corr_alpha: float = 0.01, shrinkage: float = 0.2,
                 clip: float = 3.0, max_z: float = 20.0, max_keys: int = 32, calibrate: bool = True,
                 warmup: int = 150, short_window: int = 10, history: int = 2000,
                 min_std: float = 0.05) -> None:
        self.alpha = alpha
        self.corr_alpha = corr_alpha
        self.shrinkage = shrinkage
        self.clip = clip
        self.max_z = max_z
        self.max_keys = max_keys
        self.calibrate = calibrate
        self.warmup = warmup
        self.short_window = short_window
        self.history = history
        self.min_std = min_std

    @classmethod
    def _unit_test_params(cls) -> Iterator[dict[str, Any]]:
        # a short warm-up; 8 slots keep the correlation state small (river's check streams have 6 metrics)
        yield {"warmup": 50, "max_keys": 8}
        yield {"shrinkage": 1.0, "max_keys": 2}

    # -- internals ----------------------------------------------------------------------------
    def _init_state(self) -> None:
        if getattr(self, "slots_", None) is not None:
            return
        validate_params(self)
        k = self.max_keys
        self.slots_: dict[str, int] = {}
        self.keys_ = np.zeros((k, 3))
        self.cov_ = np.zeros((k, k))
        self.cnt_ = np.zeros((k, k))
        self.lik_state_ = np.zeros(LIKELIHOOD_STATE)
        self.n_seen_ = 0

    def _kernel_params(self) -> np.ndarray:
        return np.array([self.alpha, self.clip, self.max_z, self.shrinkage, self.corr_alpha, 20.0])

    def _lik_params(self) -> np.ndarray:
        return np.asarray(likelihood_params(self.short_window, self.history, self.warmup, self.min_std),
                          dtype=np.float64)

    def _matrix(self, names: list[str], values: np.ndarray,
                learn: bool) -> tuple[np.ndarray, list[str | None], np.ndarray]:
        """Place the columns in slots (new finite keys get one when learning, in order of appearance,
        then of name).

        Also returns each slot's first row in this batch (-1 if it existed before): a metric only
        counts for the score of the rows after the one that created it, as in the one-point loop.
        """
        born = np.full(self.max_keys, -1)  # trimmed to the slots in use below
        if learn:
            finite = np.isfinite(values)
            new = [j for j, name in enumerate(names) if name not in self.slots_ and finite[:, j].any()]
            if new:
                first = {j: int(np.argmax(finite[:, j])) for j in new}
                for j in sorted(new, key=lambda j: (first[j], str(names[j]))):
                    if len(self.slots_) >= self.max_keys:
                        break
                    born[len(self.slots_)] = first[j]
                    self.slots_[names[j]] = len(self.slots_)
        mat = np.full((len(values), len(self.slots_)), np.nan)  # only the slots in use
        for j, name in enumerate(names):
            slot = self.slots_.get(name)
            if slot is not None:
                mat[:, slot] = values[:, j]
        slot_names: list[str | None] = [None] * len(self.slots_)
        for name, slot in self.slots_.items():
            slot_names[slot] = name
        return mat, slot_names, born[:len(self.slots_)]

    def _run(self, names: list[str], values: np.ndarray, learn: bool) -> tuple[np.ndarray, np.ndarray, list]:
        """Scores and per-slot shares of the rows of ``values``, learning them in order if ``learn``."""
        self._init_state()
        mat, slot_names, born = self._matrix(names, values, learn)
        n = len(mat)
        if learn:
            keys, cov, cnt, lik = self.keys_, self.cov_, self.cnt_, self.lik_state_
        else:
            keys, cov, cnt = self.keys_.copy(), self.cov_.copy(), self.cnt_.copy()
            lik = self.lik_state_.copy()
        k = len(slot_names)
        keys, cov, cnt = keys[:k], cov[:k, :k], cnt[:k, :k]  # views: updates land in the full arrays
        raw = np.empty(n)
        share = np.empty_like(mat)
        if learn:
            multivariate_kernel(mat, keys, cov, cnt, self._kernel_params(), raw, share, True)
        else:
            # every row against the same, frozen state
            for i in range(n):
                multivariate_kernel(mat[i:i + 1], keys, cov, cnt, self._kernel_params(), raw[i:i + 1],
                                    share[i:i + 1], False)
        finite = np.isfinite(mat)
        present = finite.any(axis=1)  # rows the likelihood step sees (and learns)
        scorable = (finite & (born[None, :] < np.arange(n)[:, None])).any(axis=1)
        scores = np.full(n, UNSCORABLE)
        if self.calibrate:
            rows = np.flatnonzero(present)
            if len(rows):
                cal = np.empty(len(rows))
                if learn:
                    likelihood_kernel(np.ascontiguousarray(raw[rows]), np.full(len(rows), np.nan), lik,
                                      self._lik_params(), cal, True)
                else:
                    for r, row in enumerate(rows):
                        likelihood_kernel(raw[row:row + 1], np.full(1, np.nan), lik, self._lik_params(),
                                          cal[r:r + 1], False)
                scores[rows] = cal
        else:
            scores[present] = raw[present]
        scores[~scorable] = UNSCORABLE
        if learn:
            self.n_seen_ += n
        return scores, share, slot_names

    @staticmethod
    def _point(x: Any) -> tuple[list[str], np.ndarray]:
        point = as_point(x)
        return list(point), np.array([list(point.values())], dtype=np.float64).reshape(1, len(point))

    # -- public API -----------------------------------------------------------------------------
    def learn_one(self, x: Any, t: Any = None) -> None:
        """Update the metrics present in ``x`` and their correlations; returns ``None``.

        Parameters
        ----------
        x : dict of str to float, or float
            The point: metric name to value (a bare number means ``{"value": number}``).
        t : timestamp, optional
            When the point was measured (datetime, ISO string or epoch seconds).

        Examples
        --------
        >>> from incidentml.anomaly import MultivariateDetector
        >>> det = MultivariateDetector()
        >>> det.learn_one({"cpu": 0.4, "load": 1.2})
        >>> det.n_seen_
        1
        """
        names, values = self._point(x)
        self._run(names, values, True)

    def score_one(self, x: Any, t: Any = None) -> float:
        """Joint score of the metrics of ``x`` (``0.0`` if none is finite and known).

        Parameters
        ----------
        x : dict of str to float, or float
            The point: metric name to value (a bare number means ``{"value": number}``).
        t : timestamp, optional
            When the point was measured (datetime, ISO string or epoch seconds).

        Returns
        -------
        float

        Examples
        --------
        >>> import numpy as np
        >>> from incidentml.anomaly import MultivariateDetector
        >>> rng = np.random.default_rng(0)
        >>> common = rng.normal(0, 1, 300)
        >>> det = MultivariateDetector()
        >>> _ = det.score_many({"cpu": common + rng.normal(0, 0.2, 300), "load": common + rng.normal(0, 0.2, 300)})
        >>> det.score_one({"cpu": 0.0, "load": 0.0}) < det.score_one({"cpu": 3.0, "load": -3.0})
        True
        >>> det.score_one({"disk": float("nan")})
        0.0
        """
        names, values = self._point(x)
        return float(self._run(names, values, False)[0][0])

    def contributions_one(self, x: Any, t: Any = None) -> dict[str, float]:
        """Each finite metric's part of the score (the top metric's part equals the score).

        Parameters
        ----------
        x : dict of str to float, or float
            The point: metric name to value (a bare number means ``{"value": number}``).
        t : timestamp, optional
            When the point was measured (datetime, ISO string or epoch seconds).

        Returns
        -------
        dict of str to float

        Examples
        --------
        >>> import numpy as np
        >>> from incidentml.anomaly import MultivariateDetector
        >>> rng = np.random.default_rng(0)
        >>> common = rng.normal(0, 1, 300)
        >>> det = MultivariateDetector()
        >>> _ = det.score_many({"cpu": common + rng.normal(0, 0.2, 300), "load": common + rng.normal(0, 0.2, 300)})
        >>> x = {"cpu": 3.0, "load": -3.0}
        >>> shares = det.contributions_one(x)
        >>> sorted(shares), max(shares.values()) == det.score_one(x)
        (['cpu', 'load'], True)
        """
        names, values = self._point(x)
        scores, share, slot_names = self._run(names, values, False)
        score = float(scores[0])
        parts = {k: 0.0 for k, v in zip(names, values[0], strict=True) if not math.isnan(v)}  # unknown metrics: 0
        parts.update({slot_names[j]: float(share[0, j]) for j in range(len(slot_names))
                      if slot_names[j] is not None and not math.isnan(share[0, j])})
        top = max(parts.values(), default=0.0)
        return {k: (score * v / top if top > 0.0 else 0.0) for k, v in parts.items()}

    def score_many(self, X: Any, t: Any = None, *, learn: bool = True,
                   return_contributions: bool = False) -> Any:
        """Score every row of ``X`` in order (test-then-train when ``learn=True``).

        Equal to the ``score_one``/``learn_one`` loop; one compiled pass over the batch.
        ``t`` is accepted for the common interface and checked, but not used.
        With ``return_contributions=True`` also returns a DataFrame of each metric's part of the
        score (NaN where the metric had no value).

        Parameters
        ----------
        X : array-like, DataFrame or dict of arrays
            One row per point; columns are metrics.
        t : sequence of timestamps, optional
            One per row.
        learn : bool, default=True
            Learn each row after scoring it.
        return_contributions : bool, default=False
            Also return a DataFrame of each metric's contribution.

        Returns
        -------
        scores : ndarray of shape (n,)
        contributions : DataFrame of shape (n, k), only with ``return_contributions=True``

        Examples
        --------
        >>> import numpy as np
        >>> from incidentml.anomaly import MultivariateDetector
        >>> rng = np.random.default_rng(0)
        >>> X = {"cpu": rng.normal(0, 1, 300), "load": rng.normal(0, 1, 300)}
        >>> scores, shares = MultivariateDetector().score_many(X, return_contributions=True)
        >>> scores.shape, list(shares.columns)
        ((300,), ['cpu', 'load'])
        """
        names, values = as_columns(X)
        to_seconds_array(t, len(values))  # validates t
        scores, share, slot_names = self._run(names, values, learn)
        if not return_contributions:
            return scores
        contrib = np.full((len(values), len(names)), np.nan)
        col = {name: j for j, name in enumerate(names)}
        for slot, name in enumerate(slot_names):
            if name is not None and name in col:
                contrib[:, col[name]] = share[:, slot]
        with np.errstate(all="ignore"):
            top = np.nanmax(np.where(np.isnan(contrib), -np.inf, contrib), axis=1, initial=0.0)
            contrib = np.where(top[:, None] > 0, scores[:, None] * contrib / top[:, None], 0.0 * contrib)
        return scores, pd.DataFrame(contrib, columns=names)
