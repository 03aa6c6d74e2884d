"""Ensembles: several detectors watch the same stream and their calibrated scores are combined.

Each member scores the point from its own state and learns it; the ensemble combines the
members' scores point by point. Members are constructor parameters (sklearn-style nested
estimators: ``get_params(deep=True)`` lists them and their parameters as ``name__param``, and
``set_params`` accepts the same keys). The ensemble works on clones of them, so the detectors you
pass in are never modified.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from .._validation import Options, validate_params
from ..exceptions import InvalidParameterError
from .base import AnomalyDetector

__all__ = ["Ensemble"]

COMBINE = ("mean", "max", "geometric")


def _default_members() -> list[AnomalyDetector]:
    from ._forecast import ForecastResidual
    from ._robust import RobustZScore
    from ._seasonal import SeasonalDetector

    return [RobustZScore(), SeasonalDetector(), ForecastResidual()]


def _is_member_list(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, (list, tuple)) or not value:
        return False
    for item in value:
        est = item[1] if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) else item
        if not isinstance(est, AnomalyDetector):
            return False
    return True


_is_member_list.description = (  # type: ignore[attr-defined]
    "None or a non-empty list of AnomalyDetector (or of (name, detector) pairs)")


def _named(members: list[Any]) -> list[tuple[str, AnomalyDetector]]:
    """``(name, detector)`` pairs: given names, else the lowercase class name (``-1``... if repeated)."""
    plain = [type(m).__name__.lower() for m in members if not isinstance(m, tuple)]
    repeated = {name for name, count in Counter(plain).items() if count > 1}
    seen: Counter[str] = Counter()
    out = []
    for m in members:
        if isinstance(m, tuple):
            out.append((m[0], m[1]))
            continue
        name = type(m).__name__.lower()
        if name in repeated:
            seen[name] += 1
            name = f"{name}-{seen[name]}"
        out.append((name, m))
    return out


def _combine(scores: np.ndarray, rule: str, axis: int = 0) -> np.ndarray:
    if rule == "max":
        return scores.max(axis=axis)
    if rule == "geometric":
        return np.exp(np.log(np.clip(scores, 1e-12, None)).mean(axis=axis)) * (scores > 0).all(axis=axis)
    return scores.mean(axis=axis)


class Ensemble(AnomalyDetector):
    """Combine the calibrated scores of several detectors, point by point.

    Parameters
    ----------
    detectors : list of AnomalyDetector, or of (name, AnomalyDetector) pairs, default=None
        The members; ``None`` means ``[RobustZScore(), SeasonalDetector(), ForecastResidual()]``.
        They should answer on the same scale (calibrated detectors answer in [0, 1]).
    combine : {"mean", "max", "geometric"}, default="mean"
        ``"mean"``: the average score (with likelihood-calibrated members, a Fisher-style pooling
        of the members' tail probabilities); ``"max"``: the most alarmed member wins (more
        detections, more false alarms); ``"geometric"``: the geometric mean, high only when every
        member agrees (fewer false alarms).

    Notes
    -----
    ``score_many`` runs each member's own ``score_many`` (members are independent, so this equals
    the one-point loop). ``contributions_one`` combines the members' per-metric contributions with
    the same rule; a member that does not report a metric counts 0 for it.

    Examples
    --------
    >>> import numpy as np
    >>> from incidentml.anomaly import Ensemble, tail_probability_to_score
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(10, 1, 600)
    >>> x[500] = 25
    >>> scores = Ensemble().score_many(x)
    >>> cut = tail_probability_to_score(1e-5)  # the score of a one-in-100,000 event: 1/3
    >>> bool(scores[500] > cut), bool(scores[:500].max() < cut)
    (True, True)
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "detectors": [_is_member_list],
        "combine": [Options(COMBINE)],
    }

    def __init__(self, detectors: list[Any] | None = None, combine: str = "mean") -> None:
        self.detectors = detectors
        self.combine = combine

    @classmethod
    def _unit_test_params(cls) -> Iterator[dict[str, Any]]:
        from ._forecast import ForecastResidual
        from ._robust import RobustZScore

        yield {"detectors": [RobustZScore(warmup=50), ForecastResidual(warmup=50)]}
        yield {"combine": "geometric"}

    # -- nested parameters (sklearn composition) ------------------------------------------------
    def _members_named(self) -> list[tuple[str, AnomalyDetector]]:
        if self.detectors is None or not _is_member_list(self.detectors):
            return []
        return _named(list(self.detectors))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The ensemble's parameters; with ``deep=True`` also each member's, as ``<member>__<param>``.

        Members are named after their class in lower case (numbered when a class repeats), as in
        a scikit-learn pipeline, so grid searches can tune them.

        Parameters
        ----------
        deep : bool, default=True
            Include the members and their parameters.

        Returns
        -------
        dict of str to object

        Examples
        --------
        >>> from incidentml.anomaly import Ensemble, RobustZScore
        >>> Ensemble().get_params(deep=False)
        {'combine': 'mean', 'detectors': None}
        >>> params = Ensemble(detectors=[RobustZScore()]).get_params()
        >>> params["robustzscore__alpha"]
        0.02
        """
        params = super().get_params(deep=False)
        if deep:
            for name, est in self._members_named():
                params[name] = est
                for key, value in est.get_params(deep=True).items():
                    params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params: Any) -> Ensemble:
        """Set the ensemble's parameters, or a member's as ``<member>__<param>``; returns ``self``.

        Parameters
        ----------
        **params
            ``detectors``, ``combine``, a member by its name (replacing it) or a member's
            parameter by ``<member>__<param>`` (see :meth:`get_params` for the names).

        Returns
        -------
        Ensemble

        Raises
        ------
        InvalidParameterError
            A name matches no member.

        Examples
        --------
        >>> from incidentml.anomaly import Ensemble, RobustZScore
        >>> ens = Ensemble(detectors=[RobustZScore()]).set_params(robustzscore__alpha=0.05, combine="max")
        >>> ens.detectors[0].alpha, ens.combine
        (0.05, 'max')
        """
        own = {k: params.pop(k) for k in list(params) if k in ("detectors", "combine")}
        for k, v in own.items():
            setattr(self, k, v)
        if not params:
            return self
        named = self._members_named()
        index = {name: i for i, (name, _) in enumerate(named)}
        members = list(self.detectors or [])
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in index:
                msg = (f"Invalid parameter {key!r} for Ensemble: valid member names are "
                       f"{sorted(index)} (set 'detectors' first when it is None).")
                raise InvalidParameterError(msg)
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                i = index[name]
                members[i] = (name, value) if isinstance(members[i], tuple) else value
        for name, sub_params in nested.items():
            i = index[name]
            est = members[i][1] if isinstance(members[i], tuple) else members[i]
            est.set_params(**sub_params)
        self.detectors = members
        return self

    # -- internals ----------------------------------------------------------------------------
    def _members(self) -> list[AnomalyDetector]:
        members = getattr(self, "members_", None)
        if members is None:
            validate_params(self)
            if self.detectors is None:
                source = _default_members()
            else:
                source = [est for _, est in self._members_named()]
            members = [clone(est) for est in source]
            self.members_ = members
            self.n_seen_ = 0
        return members

    # -- public API -----------------------------------------------------------------------------
    def learn_one(self, x: Any, t: Any = None) -> None:
        """Every member learns ``x``; returns ``None``.

        Parameters
        ----------
        x : dict of str to float, or float
            The point: metric name to value (a bare number means ``{"value": number}``).
        t : timestamp, optional
            When the point was measured (datetime, ISO string or epoch seconds).

        Examples
        --------
        >>> from incidentml.anomaly import Ensemble, RobustZScore
        >>> ens = Ensemble(detectors=[RobustZScore(), RobustZScore(alpha=0.1)])
        >>> ens.learn_one({"cpu": 0.4})
        >>> ens.learn_one({"cpu": 0.5})
        >>> ens.n_seen_
        2
        """
        for est in self._members():
            est.learn_one(x, t)
        self.n_seen_ += 1

    def score_one(self, x: Any, t: Any = None) -> float:
        """The members' scores of ``x``, combined.

        Parameters
        ----------
        x : dict of str to float, or float
            The point: metric name to value (a bare number means ``{"value": number}``).
        t : timestamp, optional
            When the point was measured (datetime, ISO string or epoch seconds).

        Returns
        -------
        float
            The members' scores combined by ``combine`` (their mean by default).

        Examples
        --------
        >>> import numpy as np
        >>> from incidentml.anomaly import Ensemble
        >>> ens = Ensemble()
        >>> _ = ens.score_many(np.random.default_rng(0).normal(10, 1, 300))
        >>> ens.score_one(10.0) < 0.1 < ens.score_one(30.0)
        True
        """
        scores = np.array([est.score_one(x, t) for est in self._members()], dtype=np.float64)
        return float(_combine(scores, self.combine))

    def contributions_one(self, x: Any, t: Any = None) -> dict[str, float]:
        """Each metric's contribution: the members' contributions for it, combined.

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
        >>> from incidentml.anomaly import Ensemble
        >>> rng = np.random.default_rng(0)
        >>> ens = Ensemble()
        >>> _ = ens.score_many({"cpu": rng.normal(10, 1, 300), "mem": rng.normal(50, 1, 300)})
        >>> shares = ens.contributions_one({"cpu": 30.0, "mem": 50.0})
        >>> shares["cpu"] > 0.1 > shares["mem"]
        True
        """
        parts = [est.contributions_one(x, t) for est in self._members()]
        keys = [k for k in dict.fromkeys(k for p in parts for k in p)]
        out = {}
        for k in keys:
            vals = np.array([p.get(k, 0.0) for p in parts], dtype=np.float64)
            vals = np.where(np.isfinite(vals), vals, 0.0)
            out[k] = float(_combine(vals, self.combine))
        return out

    def score_many(self, X: Any, t: Any = None, *, learn: bool = True,
                   return_contributions: bool = False) -> Any:
        """Each member's ``score_many`` over the batch, combined row by row (equals the loop).

        With ``return_contributions=True`` also returns each metric's contribution, the members'
        contributions combined as in :meth:`contributions_one` (NaN where no member reports it).

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
        >>> from incidentml.anomaly import Ensemble
        >>> x = np.random.default_rng(0).normal(10, 1, 300)
        >>> batch = Ensemble().score_many(x)
        >>> loop, scores = Ensemble(), []
        >>> for v in x:
        ...     scores.append(loop.score_one(v))
        ...     loop.learn_one(v)
        >>> bool(np.allclose(batch, scores))
        True
        """
        members = self._members()
        if not return_contributions:
            cols = [np.asarray(est.score_many(X, t, learn=learn), dtype=np.float64) for est in members]
            if learn:
                self.n_seen_ += len(cols[0]) if cols else 0
            return _combine(np.vstack(cols), self.combine, axis=0)
        runs = [est.score_many(X, t, learn=learn, return_contributions=True) for est in members]
        scores = _combine(np.vstack([np.asarray(s, dtype=np.float64) for s, _ in runs]), self.combine, axis=0)
        if learn:
            self.n_seen_ += len(scores)
        names = list(runs[0][1].columns)
        per = np.stack([np.asarray(c, dtype=np.float64) for _, c in runs])  # (members, n, k)
        reported = ~np.isnan(per).all(axis=0)
        combined = _combine(np.where(np.isfinite(per), per, 0.0), self.combine, axis=0)
        return scores, pd.DataFrame(np.where(reported, combined, np.nan), columns=names)
