"""The contract of every streaming anomaly detector, and the engine of the kernel-based ones.

A detector watches one entity's metrics, one point at a time. A point ``x`` is a dict of metric
name to float (a bare number means ``{"value": number}``) with an optional timestamp ``t``.
``score_one(x, t)`` says how anomalous the point is *without learning from it* (higher is more
anomalous; calibrated detectors answer in [0, 1]); ``learn_one(x, t)`` updates the state and
returns ``None``. ``score_many(X, t)`` scores a whole array or frame in one call and gives exactly
what the loop ``score_one`` then ``learn_one`` gives, point after point.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
from river.base import AnomalyDetector as RiverAnomalyDetector
from river.base import Base as RiverBase
from sklearn.base import BaseEstimator

from .._validation import validate_params
from ..exceptions import ModelFileError
from ..utils import PersistenceMixin, as_columns, as_point, to_seconds, to_seconds_array

__all__ = ["AnomalyDetector", "KernelDetector", "Stage", "as_columns", "as_point"]

#: Score given to a point with no finite metric value: no evidence of an anomaly.
UNSCORABLE = 0.0


class AnomalyDetector(PersistenceMixin, BaseEstimator, RiverAnomalyDetector):
    """Base class of streaming anomaly detectors: a river anomaly detector and a scikit-learn estimator.

    Higher scores mean more anomalous. The constructor only stores hyperparameters; state is
    created on the first ``learn_one`` and lives in attributes ending with an underscore.

    Subclasses implement :meth:`learn_one` and :meth:`score_one`; :meth:`score_many`,
    :meth:`contributions_one` and :meth:`reset` have default implementations (the one-point loop,
    the score for every metric, forgetting the underscore attributes) that faster detectors
    override with the same answers.

    Every detector is a :class:`river.base.AnomalyDetector`: it goes into river pipelines
    (``preprocessing.StandardScaler() | detector``), river's anomaly filters and
    ``river.evaluate.progressive_val_score``, and passes ``river.checks``. It is a
    :class:`sklearn.base.BaseEstimator` too: ``get_params``/``set_params`` and
    ``sklearn.base.clone`` work next to river's ``clone``. Where the two parents define the same
    name, the choice is pinned below.

    Examples
    --------
    A detector needs only :meth:`learn_one` and :meth:`score_one`; here, how far a point is above
    the largest value seen so far:

    >>> from incidentml.utils import as_point
    >>> class AboveMax(AnomalyDetector):
    ...     def learn_one(self, x, t=None):
    ...         self.max_ = max(getattr(self, "max_", float("-inf")), as_point(x)["value"])
    ...     def score_one(self, x, t=None):
    ...         return max(0.0, as_point(x)["value"] - getattr(self, "max_", float("inf")))
    >>> det = AboveMax()
    >>> det.score_many([1.0, 3.0, 2.0, 5.0])
    array([0., 2., 0., 2.])
    >>> det.max_, det.reset().score_one(9.0)
    (5.0, 0.0)
    """

    _parameter_constraints: dict[str, list[Any]] = {}

    # -- the two parents ---------------------------------------------------------------------------
    # scikit-learn answers: get_params / set_params, sklearn.base.clone (__sklearn_clone__), pickling
    # (__getstate__ / __setstate__) and the displays: __repr__ is sklearn's compact, valid-Python form
    # (only the parameters that differ from their defaults), _repr_html_ its HTML diagram.
    # river answers: clone(new_params) / _get_params / mutate, _is_stochastic (a ``seed`` left None),
    # _tags / _more_tags, _supervised (False: learn_one takes no target), __or__ / __ror__
    # (pipelines), __str__ (the class name, used in pipeline descriptions) and _memory_usage.
    # Both clones build a fresh, unfitted detector from the constructor parameters alone.
    __repr__ = BaseEstimator.__repr__
    _repr_html_ = BaseEstimator._repr_html_
    __str__ = RiverBase.__str__
    clone = RiverBase.clone

    @classmethod
    def _unit_test_params(cls) -> Iterator[dict[str, Any]]:
        """Cheap parameter sets for the test suites (river's convention; the first one is :meth:`_test_params`)."""
        yield {}

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        """Settings incidentml's own check suite applies: the first of :meth:`_unit_test_params`."""
        return dict(next(iter(cls._unit_test_params()), {}))

    def _unit_test_skips(self) -> set[str]:
        """Names of the ``river.checks`` this detector cannot pass (each one says why in a comment)."""
        return set()

    # -- the streaming contract ----------------------------------------------------------------
    @abc.abstractmethod
    def learn_one(self, x: Any, t: Any = None) -> None:
        """Update the detector with one point; returns ``None``.

        Parameters
        ----------
        x : dict of str to float, or float
            The point: metric name to value (a bare number means ``{"value": number}``).
        t : timestamp, optional
            When the point was measured (datetime, ISO string or epoch seconds).

        Examples
        --------
        >>> from incidentml import make_detector
        >>> det = make_detector("robust")
        >>> det.learn_one({"cpu": 0.4}, t="2024-01-01T00:00:00")
        >>> det.n_seen_
        1
        """

    @abc.abstractmethod
    def score_one(self, x: Any, t: Any = None) -> float:
        """Anomaly score of one point, without learning from it (higher is more anomalous).

        Parameters
        ----------
        x : dict of str to float, or float
            The point: metric name to value (a bare number means ``{"value": number}``).
        t : timestamp, optional
            When the point was measured (datetime, ISO string or epoch seconds).

        Returns
        -------
        float
            The score; calibrated detectors answer in [0, 1].

        Examples
        --------
        >>> import numpy as np
        >>> from incidentml import make_detector
        >>> det = make_detector("robust")
        >>> _ = det.score_many(50 + np.random.default_rng(0).normal(size=300))
        >>> det.score_one(50.0) < 0.1 < det.score_one(80.0)
        True
        """

    def contributions_one(self, x: Any, t: Any = None) -> dict[str, float]:
        """Each finite metric's share of the evidence for this point (default: the score for every one).

        Parameters
        ----------
        x : dict of str to float, or float
            The point.
        t : timestamp, optional
            When the point was measured.

        Returns
        -------
        dict of str to float
            Metric name to its contribution; metrics without a finite value are left out.

        Examples
        --------
        >>> import numpy as np
        >>> from incidentml import make_detector
        >>> det = make_detector("robust")
        >>> rng = np.random.default_rng(0)
        >>> _ = det.score_many({"cpu": 50 + rng.normal(size=300), "mem": 70 + rng.normal(size=300)})
        >>> shares = det.contributions_one({"cpu": 80.0, "mem": 70.0, "disk": float("nan")})
        >>> sorted(shares), shares["cpu"] > shares["mem"]
        (['cpu', 'mem'], True)
        """
        s = self.score_one(x, t)
        return {k: s for k, v in as_point(x).items() if not math.isnan(v)}

    def score_many(self, X: Any, t: Any = None, *, learn: bool = True,
                   return_contributions: bool = False) -> Any:
        """Score every row of ``X`` in order (test-then-train when ``learn=True``).

        The result equals the loop ``score_one(x_i, t_i)`` then ``learn_one(x_i, t_i)`` (or only
        ``score_one`` with ``learn=False``). This default runs that loop; detectors with a batch
        route override it with the same answers.

        Parameters
        ----------
        X : array-like, DataFrame or dict of arrays
            One row per point; columns are metrics (see :func:`~incidentml.utils.as_columns`).
        t : sequence of timestamps, optional
            One per row (datetimes, datetime64, ISO strings or epoch seconds).
        learn : bool, default=True
            Learn each row after scoring it.
        return_contributions : bool, default=False
            Also return a DataFrame of each metric's contribution (:meth:`contributions_one`;
            NaN where the metric had no value).

        Returns
        -------
        scores : ndarray of shape (n,)
        contributions : DataFrame of shape (n, k), only with ``return_contributions=True``

        Examples
        --------
        >>> import numpy as np
        >>> from incidentml import make_detector
        >>> values = 50 + np.random.default_rng(0).normal(size=300)
        >>> values[250] = 80.0
        >>> det = make_detector("robust")
        >>> scores = det.score_many(values)
        >>> scores.shape, bool(scores[250] > scores[:250].max()), det.n_seen_
        ((300,), True, 300)
        >>> scores, per_metric = make_detector("robust").score_many({"cpu": values}, return_contributions=True)
        >>> list(per_metric.columns)
        ['cpu']
        """
        names, values = as_columns(X)
        n = len(values)
        times = to_seconds_array(t, n)
        out = np.empty(n)
        per = np.full((n, len(names)), np.nan) if return_contributions else None
        col = {name: j for j, name in enumerate(names)}
        for i in range(n):
            x = dict(zip(names, values[i].tolist(), strict=True))
            ti = None if math.isnan(times[i]) else float(times[i])
            if per is not None:
                for key, share in self.contributions_one(x, ti).items():
                    j = col.get(key)
                    if j is not None:
                        per[i, j] = share
            out[i] = self.score_one(x, ti)
            if learn:
                self.learn_one(x, ti)
        if per is not None:
            return out, pd.DataFrame(per, columns=names)
        return out

    def reset(self) -> Self:
        """Forget everything learned (the trailing-underscore attributes; parameters are kept); returns ``self``.

        Examples
        --------
        >>> from incidentml import make_detector
        >>> det = make_detector("robust", alpha=0.05)
        >>> det.learn_one({"cpu": 0.4})
        >>> hasattr(det.reset(), "n_seen_"), det.alpha
        (False, 0.05)
        """
        params = set(self.get_params(deep=False))
        for attr in [k for k in vars(self) if k.endswith("_") and not k.startswith("__") and k not in params]:
            delattr(self, attr)
        return self

    # -- persistence: PersistenceMixin.save / load ------------------------------------------------
    _model_kind = "incidentml.AnomalyDetector"

    def _manifest_extra(self) -> dict[str, Any]:
        return {"n_seen": int(getattr(self, "n_seen_", 0)),
                "metrics": sorted(getattr(self, "states_", {}))[:1000]}


@dataclass(frozen=True)
class Stage:
    """One step of a kernel pipeline.

    ``kernel(values, times, state, params, out, learn)`` walks the points in order: for each one
    it writes the score to ``out[i]`` from the state *before* the point, then, if ``learn``,
    updates ``state`` in place. ``state_size`` floats hold everything the stage remembers.

    Parameters
    ----------
    kernel : callable
        ``kernel(values, times, state, params, out, learn)``, usually compiled with numba.
    params : tuple of float
        The stage's hyperparameters, packed into a float array for the kernel.
    state_size : int
        How many floats the stage's state holds.
    init : callable or None, default=None
        Fills a fresh zero state in place (for example a starting minimum of ``inf``).

    Examples
    --------
    A stage scoring each value by its distance to the running mean:

    >>> import numpy as np
    >>> def mean_distance(values, times, state, params, out, learn):
    ...     for i, v in enumerate(values):
    ...         out[i] = abs(v - state[1]) if state[0] else 0.0
    ...         if learn:
    ...             state[0] += 1
    ...             state[1] += (v - state[1]) / state[0]
    >>> stage = Stage(kernel=mean_distance, params=(), state_size=2)
    >>> state, out = stage.new_state(), np.empty(3)
    >>> stage.kernel(np.array([1.0, 3.0, 8.0]), np.full(3, np.nan), state, np.array(stage.params), out, True)
    >>> out, state
    (array([0., 2., 6.]), array([3., 4.]))
    """

    kernel: Callable[..., None]
    params: tuple[float, ...]
    state_size: int
    init: Callable[[np.ndarray], None] | None = None

    def new_state(self) -> np.ndarray:
        """A fresh state: ``state_size`` zeros, then ``init`` applied to them.

        Examples
        --------
        >>> import numpy as np
        >>> Stage(kernel=print, params=(), state_size=2, init=lambda s: s.fill(np.inf)).new_state()
        array([inf, inf])
        """
        state = np.zeros(self.state_size, dtype=np.float64)
        if self.init is not None:
            self.init(state)
        return state


class KernelDetector(AnomalyDetector):
    """A detector made of per-metric kernel pipelines (one fixed-size state per metric).

    Subclasses implement :meth:`_stages`, the list of :class:`Stage` each metric's values go
    through (a raw detector, then usually the likelihood calibration). The engine keeps one state
    per metric name, skips non-finite values (the metric neither scores nor learns at that
    point), and combines the metrics' scores by their maximum. A point with no finite value
    scores ``0.0``.

    Examples
    --------
    :class:`RobustZScore` is a kernel detector; each metric keeps its own state:

    >>> import numpy as np
    >>> from incidentml.anomaly import RobustZScore
    >>> det = RobustZScore()
    >>> isinstance(det, KernelDetector)
    True
    >>> rng = np.random.default_rng(0)
    >>> _ = det.score_many({"cpu": 50 + rng.normal(size=300), "mem": 70 + rng.normal(size=300)})
    >>> sorted(det.states_), det.score_one({"cpu": float("nan")})
    (['cpu', 'mem'], 0.0)
    """

    def _stages(self) -> list[Stage]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- internals ----------------------------------------------------------------------------
    def _pipeline(self) -> list[tuple[Callable[..., None], np.ndarray, Stage]]:
        """The compiled pipeline, ``(kernel, packed params, stage)`` per stage; built (and validated) once."""
        pipe: list[tuple[Callable[..., None], np.ndarray, Stage]] | None = getattr(self, "_pipeline_", None)
        if pipe is None:
            validate_params(self)
            pipe = [(s.kernel, np.asarray(s.params, dtype=np.float64), s) for s in self._stages()]
            self._pipeline_ = pipe
            self.states_: dict[str, list[np.ndarray]] = {}
            self.n_seen_ = 0
        return pipe

    def _state(self, key: str) -> list[np.ndarray]:
        st = self.states_.get(key)
        if st is None:
            st = [s.new_state() for _, _, s in self._pipeline_]
            self.states_[key] = st
        return st

    def _run(self, key: str, values: np.ndarray, times: np.ndarray, learn: bool) -> np.ndarray:
        """Run one metric's pipeline over the finite ``values``; returns the final stage's scores."""
        states = self._state(key) if learn else self.states_.get(key)
        if states is None:  # never learned this metric: score against a fresh state
            states = [s.new_state() for _, _, s in self._pipeline_]
        cur = values
        for (kernel, params, _), state in zip(self._pipeline_, states, strict=True):
            out = np.empty(len(cur))
            kernel(cur, times, state, params, out, learn)
            cur = out
        return cur

    def _one(self, x: Any, t: Any, learn: bool) -> dict[str, float]:
        self._pipeline()
        point = as_point(x)
        ts = np.array([to_seconds(t)])
        scores: dict[str, float] = {}
        for key, v in point.items():
            if math.isnan(v):
                continue
            scores[key] = float(self._run(key, np.array([v]), ts, learn)[0])
        if learn:
            self.n_seen_ += 1
        return scores

    # -- public API -----------------------------------------------------------------------------
    def learn_one(self, x: Any, t: Any = None) -> None:
        """Update every finite metric of ``x``'s state; returns ``None``.

        Parameters
        ----------
        x : dict of str to float, or float
            The point; metrics whose value is not finite are skipped.
        t : timestamp, optional
            When the point was measured.

        Examples
        --------
        >>> from incidentml.anomaly import RobustZScore
        >>> det = RobustZScore()
        >>> det.learn_one({"cpu": 0.4, "mem": float("nan")})
        >>> sorted(det.states_), det.n_seen_
        (['cpu'], 1)
        """
        self._one(x, t, learn=True)

    def score_one(self, x: Any, t: Any = None) -> float:
        """The largest calibrated score over the finite metrics of ``x`` (``0.0`` if none).

        Parameters
        ----------
        x : dict of str to float, or float
            The point.
        t : timestamp, optional
            When the point was measured.

        Returns
        -------
        float
            A score in [0, 1].

        Examples
        --------
        >>> import numpy as np
        >>> from incidentml.anomaly import RobustZScore
        >>> det = RobustZScore()
        >>> for v in 50 + np.random.default_rng(0).normal(size=300):
        ...     det.learn_one({"cpu": v})
        >>> det.score_one({"cpu": 50.0}) < 0.1 < det.score_one({"cpu": 80.0})
        True
        """
        scores = self._one(x, t, learn=False)
        return max(scores.values()) if scores else UNSCORABLE

    def contributions_one(self, x: Any, t: Any = None) -> dict[str, float]:
        """Each finite metric's own score for this point (the detector's score is their maximum).

        Parameters
        ----------
        x : dict of str to float, or float
            The point.
        t : timestamp, optional
            When the point was measured.

        Returns
        -------
        dict of str to float

        Examples
        --------
        >>> import numpy as np
        >>> from incidentml.anomaly import RobustZScore
        >>> det = RobustZScore()
        >>> rng = np.random.default_rng(0)
        >>> _ = det.score_many({"cpu": 50 + rng.normal(size=300), "mem": 70 + rng.normal(size=300)})
        >>> shares = det.contributions_one({"cpu": 80.0, "mem": 70.0})
        >>> max(shares.values()) == det.score_one({"cpu": 80.0, "mem": 70.0})
        True
        """
        return self._one(x, t, learn=False)

    def score_many(self, X: Any, t: Any = None, *, learn: bool = True,
                   return_contributions: bool = False) -> Any:
        """Score every row of ``X`` in order (test-then-train when ``learn=True``).

        Gives exactly what the loop ``score_one`` then ``learn_one`` gives, point by point, but
        runs each metric's compiled kernel over the whole column at once.

        Parameters
        ----------
        X : array-like, DataFrame or dict of arrays
            One row per point; columns are metrics (see :func:`as_columns`).
        t : sequence of timestamps, optional
            One per row (datetimes, datetime64, ISO strings or epoch seconds).
        learn : bool, default=True
            Learn each row after scoring it.
        return_contributions : bool, default=False
            Also return a DataFrame of each metric's own score (NaN where it had no value).

        Returns
        -------
        scores : ndarray of shape (n,)
        contributions : DataFrame of shape (n, k), only with ``return_contributions=True``

        Examples
        --------
        >>> import numpy as np
        >>> from incidentml.anomaly import RobustZScore
        >>> values = 50 + np.random.default_rng(0).normal(size=300)
        >>> batch = RobustZScore().score_many(values)
        >>> loop = RobustZScore()
        >>> one_by_one = []
        >>> for v in values:
        ...     one_by_one.append(loop.score_one(v))
        ...     loop.learn_one(v)
        >>> bool(np.allclose(batch, one_by_one))
        True
        """
        self._pipeline()
        names, values = as_columns(X)
        n = len(values)
        times = to_seconds_array(t, n)
        per = np.full((n, len(names)), np.nan)
        if not learn:
            # score each row against the same, frozen state
            for j, key in enumerate(names):
                mask = ~np.isnan(values[:, j])
                if mask.any():
                    per[mask, j] = [self._run(key, values[i:i + 1, j], times[i:i + 1], False)[0]
                                    for i in np.flatnonzero(mask)]
        else:
            for j, key in enumerate(names):
                mask = ~np.isnan(values[:, j])
                if mask.any():
                    col = np.ascontiguousarray(values[mask, j])
                    per[mask, j] = self._run(key, col, np.ascontiguousarray(times[mask]), True)
            self.n_seen_ += n
        with np.errstate(all="ignore"):
            scores = np.where(np.isnan(per).all(axis=1), UNSCORABLE, np.nanmax(np.where(np.isnan(per), -np.inf, per),
                                                                                 axis=1, initial=-np.inf))
        scores = np.asarray(scores, dtype=np.float64)
        if return_contributions:
            return scores, pd.DataFrame(per, columns=names)
        return scores

    def __getstate__(self) -> dict[str, Any]:
        # compiled kernels are module-level functions: store stage states, rebuild kernels on load
        state = dict(self.__dict__)
        state.pop("_pipeline_", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "states_" in state:
            validate_params(self)
            self._pipeline_ = [(s.kernel, np.asarray(s.params, dtype=np.float64), s) for s in self._stages()]
            stages = [s for _, _, s in self._pipeline_]
            for key, arrays in self.states_.items():
                # a state saved by a version whose stage held fewer floats: the new floats start fresh
                # (kernels index their state unchecked, so a short state must never reach them)
                for j, (arr, stage) in enumerate(zip(arrays, stages, strict=True)):
                    if len(arr) < stage.state_size:
                        fresh = stage.new_state()
                        fresh[:len(arr)] = arr
                        arrays[j] = fresh
                    elif len(arr) > stage.state_size:
                        raise ModelFileError(f"The saved state of metric {key!r} holds {len(arr)} floats, more "
                                             f"than this version's {stage.state_size}: it was saved by a newer "
                                             "version. Load it with that version.")
