"""The check suite every public incidentml estimator passes.

Ship-with-the-package checks, so that a user's own estimator can be checked the same way::

    from incidentml.checks import check_estimator
    check_estimator(MyTriageModel())

Each check is a function ``check_x(estimator)`` that raises ``AssertionError`` on failure.
:func:`yield_checks` lists the checks that apply to an estimator; estimators may give cheap
settings for the suite with a ``_test_params()`` classmethod. Known, justified exemptions live
in :data:`EXPECTED_FAILURES` with their reason.
"""

from __future__ import annotations

import copy
import io
import pickle
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import f1_score

from ..anomaly import AnomalyDetector
from ..exceptions import NotFittedError
from ..triage import BaseTargetClassifier, BaseTriageClassifier

__all__ = ["EXPECTED_FAILURES", "check_estimator", "yield_checks"]

#: ``{EstimatorClassName: {check_name: reason}}``: checks an estimator is known to fail, and why.
EXPECTED_FAILURES: dict[str, dict[str, str]] = {}

#: ROC AUC every detector must reach on the labelled synthetic stream of the suite.
DETECTOR_ROC_AUC_FLOOR = 0.5

#: Macro-F1 every triage classifier must reach on the synthetic tickets of ``make_tickets``.
TRIAGE_MACRO_F1_FLOOR = 0.7


def _params(estimator: Any) -> dict[str, Any]:
    maker = getattr(type(estimator), "_test_params", None)
    return dict(maker()) if maker else {}


def _fresh(estimator: Any) -> Any:
    est = clone(estimator)
    est.set_params(**_params(estimator))
    return est


def _triage_data(seed: int = 0) -> tuple[pd.DataFrame, dict[str, Any]]:
    from ..datasets import make_tickets

    data = make_tickets(240, seed=seed, noise=0.05)
    fit_kw = {"text": ["title", "description"], "targets": {"category": "category", "team": "team"},
              "features": ["service"]}
    return data, fit_kw


def _fit(est: Any, data: pd.DataFrame, fit_kw: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(data, **fit_kw)


# ------------------------------------------------------------------ generic checks
def check_default_constructible(estimator: Any) -> None:
    """The class can be built with no arguments and ``get_params`` lists only its parameters."""
    est = type(estimator)()
    params = est.get_params(deep=False)
    for k in params:
        assert hasattr(est, k), f"{type(est).__name__}: parameter {k!r} is not stored as an attribute"


def check_no_attributes_set_in_init(estimator: Any) -> None:
    """``__init__`` stores hyperparameters only: no fitted (trailing underscore) or private state."""
    est = type(estimator)(**estimator.get_params(deep=False))
    params = set(est.get_params(deep=False))
    extra = [k for k in vars(est) if k not in params]
    assert not extra, f"{type(est).__name__}.__init__ sets non-parameter attributes {extra}"


def check_params_not_mutated_by_fit(estimator: Any) -> None:
    """``fit`` never changes the hyperparameters (compared with ``joblib.hash``)."""
    est = _fresh(estimator)
    before = {k: joblib.hash(v) for k, v in est.get_params(deep=False).items()}
    data, kw = _triage_data()
    _fit(est, data, kw)
    after = {k: joblib.hash(v) for k, v in est.get_params(deep=False).items()}
    changed = [k for k in before if before[k] != after[k]]
    assert before == after, f"{type(est).__name__}.fit changed parameters {changed}"


def check_fit_returns_self(estimator: Any) -> None:
    """``fit`` returns the estimator itself."""
    est = _fresh(estimator)
    data, kw = _triage_data()
    assert _fit(est, data, kw) is est


def check_unfitted_raises(estimator: Any) -> None:
    """Predicting before fitting raises :class:`~incidentml.exceptions.NotFittedError`."""
    est = _fresh(estimator)
    data, _ = _triage_data()
    for method in ("predict", "predict_proba"):
        try:
            getattr(est, method)(data)
        except NotFittedError:
            continue
        raise AssertionError(f"{type(est).__name__}.{method} before fit did not raise NotFittedError")
    try:
        est.predict_one("x")
    except NotFittedError:
        return
    raise AssertionError(f"{type(est).__name__}.predict_one before fit did not raise NotFittedError")


def check_clone_and_params(estimator: Any) -> None:
    """``clone`` gives an equal-parameter, unfitted copy, and ``set_params`` round-trips."""
    est = _fresh(estimator)
    c = clone(est)
    assert joblib.hash(c.get_params(deep=False)) == joblib.hash(est.get_params(deep=False))
    c.set_params(**est.get_params(deep=False))
    assert joblib.hash(c.get_params(deep=False)) == joblib.hash(est.get_params(deep=False))


# ------------------------------------------------------------------ triage checks
def check_pickle_roundtrip(estimator: Any) -> None:
    """A fitted model gives identical predictions after pickle, joblib and its own save/load."""
    est = _fresh(estimator)
    data, kw = _triage_data()
    _fit(est, data, kw)
    want = est.predict(data)
    again = pickle.loads(pickle.dumps(est))
    pd.testing.assert_frame_equal(again.predict(data), want)
    buf = io.BytesIO()
    joblib.dump(est, buf)
    buf.seek(0)
    pd.testing.assert_frame_equal(joblib.load(buf).predict(data), want)


def check_inputs_not_mutated(estimator: Any) -> None:
    """``fit`` and ``predict`` leave the caller's DataFrame untouched."""
    est = _fresh(estimator)
    data, kw = _triage_data()
    snapshot = data.copy(deep=True)
    _fit(est, data, kw)
    est.predict(data)
    pd.testing.assert_frame_equal(data, snapshot)


def check_column_order_irrelevant(estimator: Any) -> None:
    """Shuffling the columns of the input frame does not change predictions."""
    est = _fresh(estimator)
    data, kw = _triage_data()
    _fit(est, data, kw)
    shuffled = data[list(reversed(data.columns))]
    pd.testing.assert_frame_equal(est.predict(shuffled), est.predict(data))


def check_extra_and_missing_columns(estimator: Any) -> None:
    """Unknown extra columns are ignored at predict time; missing label columns are not needed."""
    est = _fresh(estimator)
    data, kw = _triage_data()
    _fit(est, data, kw)
    extra = data.assign(unrelated=np.arange(len(data)))
    unlabeled = data.drop(columns=list(kw["targets"].values()))
    pd.testing.assert_frame_equal(est.predict(extra), est.predict(data))
    pd.testing.assert_frame_equal(est.predict(unlabeled), est.predict(data))


def check_seeding_is_idempotent(estimator: Any) -> None:
    """Two clones with the same seed give identical confidences."""
    a = _fresh(estimator)
    if "random_state" in a.get_params():
        a.set_params(random_state=7)
    b = clone(a)
    data, kw = _triage_data()
    _fit(a, data, kw)
    _fit(b, data, kw)
    pd.testing.assert_frame_equal(a.predict(data), b.predict(data))


def check_routes_agree(estimator: Any) -> None:
    """``predict`` equals the argmax of ``predict_proba`` and equals ``predict_one`` row by row."""
    est = _fresh(estimator)
    data, kw = _triage_data()
    _fit(est, data, kw)
    pred = est.predict(data.iloc[:25])
    proba = est.predict_proba(data.iloc[:25])
    for name, p in proba.items():
        assert np.allclose(p.to_numpy().sum(axis=1), 1.0), f"{name}: probabilities do not sum to 1"
        argmax = np.asarray(p.columns)[p.to_numpy().argmax(axis=1)]
        assert (argmax == pred[name].to_numpy()).all(), f"{name}: predict != argmax(predict_proba)"
        assert np.allclose(p.to_numpy().max(axis=1), pred[f"{name}_confidence"].to_numpy())
    for i in range(5):
        one = est.predict_one(data.iloc[i].to_dict())
        for col in pred.columns:
            got, want = one[col], pred[col].iloc[i]
            if isinstance(want, (float, np.floating)):
                assert abs(got - want) < 1e-9, f"predict_one {col}: {got} != {want}"
            else:
                assert got == want, f"predict_one {col}: {got!r} != {want!r}"


def check_macro_f1_floor(estimator: Any) -> None:
    """On held-out synthetic tickets, macro-F1 of every target reaches the floor."""
    est = _fresh(estimator)
    data, kw = _triage_data(seed=0)
    test, _ = _triage_data(seed=1)
    _fit(est, data, kw)
    pred = est.predict(test)
    for name, col in kw["targets"].items():
        f1 = f1_score(test[col], pred[name], average="macro")
        assert f1 >= TRIAGE_MACRO_F1_FLOOR, f"{name}: macro-F1 {f1:.3f} below the floor {TRIAGE_MACRO_F1_FLOOR}"


def check_confidence_and_abstention(estimator: Any) -> None:
    """Confidences are in [0, 1], abstention flags are booleans, and an empty ticket abstains."""
    est = _fresh(estimator)
    data, kw = _triage_data()
    _fit(est, data, kw)
    pred = est.predict(data)
    for name in kw["targets"]:
        c = pred[f"{name}_confidence"]
        assert ((c >= 0) & (c <= 1)).all()
        assert pred[f"{name}_abstain"].dtype == bool
        assert pred[name].notna().all(), "labels must be filled even when abstaining"
    empty = est.predict_one({"title": "", "description": None})
    assert all(empty[f"{n}_abstain"] for n in kw["targets"]), "an empty ticket must abstain"


# ------------------------------------------------------------------ single-target triage checks
def _target_data(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    data, _ = _triage_data(seed)
    X = data[["title", "description"]].set_axis([f"T-{seed}-{i}" for i in range(len(data))])
    return X, pd.Series(data["category"].to_numpy(), index=X.index, name="category")


def _fit_target(est: Any, X: pd.DataFrame, y: pd.Series) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def check_target_fit_contract(estimator: Any) -> None:
    """``fit(X, y)`` returns self, leaves parameters and inputs alone; unfitted use raises NotFittedError."""
    est = _fresh(estimator)
    X, y = _target_data()
    for method in ("predict", "predict_proba"):
        try:
            getattr(est, method)(X)
        except NotFittedError:
            continue
        raise AssertionError(f"{type(est).__name__}.{method} before fit did not raise NotFittedError")
    before = {k: joblib.hash(v) for k, v in est.get_params(deep=False).items()}
    X0, y0 = X.copy(deep=True), y.copy(deep=True)
    assert _fit_target(est, X, y) is est, "fit must return self"
    after = {k: joblib.hash(v) for k, v in est.get_params(deep=False).items()}
    assert before == after, f"{type(est).__name__}.fit changed parameters"
    est.predict(X)
    pd.testing.assert_frame_equal(X, X0)
    pd.testing.assert_series_equal(y, y0)


def check_target_routes_agree(estimator: Any) -> None:
    """predict, predict_proba, predict_frame, predict_one, pickle and a same-seed clone all agree."""
    est = _fresh(estimator)
    if "random_state" in est.get_params():
        est.set_params(random_state=7)
    twin = clone(est)
    X, y = _target_data()
    _fit_target(est, X, y)
    _fit_target(twin, X, y)
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), len(est.classes_)) and np.allclose(proba.sum(axis=1), 1.0)
    pred = est.predict(X)
    frame = est.predict_frame(X)
    assert list(frame.index) == list(X.index), "predict_frame must keep the input's index"
    assert (frame["label"].to_numpy() == pred).all()
    assert ((frame["confidence"] >= 0) & (frame["confidence"] <= 1)).all() and frame["abstain"].dtype == bool
    if getattr(est, "ordinal_", None) is None:
        assert (est.classes_[proba.argmax(axis=1)] == pred).all(), "predict != classes_[argmax(predict_proba)]"
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict(X), pred)
    np.testing.assert_array_equal(twin.predict(X), pred)
    for i in range(5):
        one = est.predict_one(X.iloc[i].to_dict())
        assert one["label"] == pred[i] and abs(one["confidence"] - frame["confidence"].iloc[i]) < 1e-9


def check_target_macro_f1_floor(estimator: Any) -> None:
    """On held-out synthetic tickets macro-F1 reaches the floor; ``score`` is their accuracy."""
    est = _fresh(estimator)
    X, y = _target_data(seed=0)
    X_test, y_test = _target_data(seed=1)
    _fit_target(est, X, y)
    pred = est.predict(X_test)
    f1 = f1_score(y_test, pred, average="macro")
    assert f1 >= TRIAGE_MACRO_F1_FLOOR, f"macro-F1 {f1:.3f} below the floor {TRIAGE_MACRO_F1_FLOOR}"
    assert abs(est.score(X_test, y_test) - float((pred == y_test.to_numpy()).mean())) < 1e-12


# ------------------------------------------------------------------ detector checks
def _stream(n: int = 700, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A labelled two-metric stream (minute data, daily cycle) with a spike, a level shift and a drop."""
    rng = np.random.default_rng(seed)
    t = np.datetime64("2024-01-01T00:00") + np.arange(n).astype("timedelta64[m]") * 15
    day = np.sin(2 * np.pi * np.arange(n) / 96)
    cpu = 50 + 10 * day + rng.normal(0, 1, n)
    mem = 70 + rng.normal(0, 0.5, n)
    label = np.zeros(n, dtype=bool)
    for lo, hi, col, delta in ((450, 451, cpu, 25), (560, 600, mem, 6), (640, 650, cpu, -30)):
        if hi <= n:
            col[lo:hi] += delta
            label[lo:min(lo + 6, hi)] = True
    return pd.DataFrame({"cpu": cpu, "mem": mem}), t, label


def _loop(det: Any, X: pd.DataFrame, t: Any) -> np.ndarray:
    out = np.empty(len(X))
    rows = X.to_dict("records")
    for i, x in enumerate(rows):
        ti = None if t is None else t[i]
        out[i] = det.score_one(x, ti)
        assert det.learn_one(x, ti) is None, "learn_one must return None"
    return out


def check_learn_one_returns_none(estimator: Any) -> None:
    """``learn_one`` returns ``None`` and ``score_one`` returns a finite float, from the first point on."""
    det = _fresh(estimator)
    s = det.score_one({"cpu": 1.0})
    assert isinstance(s, float) and np.isfinite(s)
    assert det.learn_one({"cpu": 1.0}) is None


def check_score_one_is_pure(estimator: Any) -> None:
    """Scoring does not learn: scoring a point many times leaves the next scores unchanged."""
    X, t, _ = _stream(300)
    a, b = _fresh(estimator), _fresh(estimator)
    sa = _loop(a, X, t)
    for i, x in enumerate(X.to_dict("records")):
        b.score_one(x, t[i])
        b.score_one({k: v * 3 for k, v in x.items()}, t[i])
        b.learn_one(x, t[i])
    np.testing.assert_allclose(_loop(a, X.iloc[:20], t[:20]), _loop(b, X.iloc[:20], t[:20]), rtol=0, atol=1e-12)
    assert np.isfinite(sa).all()


def check_batch_equals_stream(estimator: Any) -> None:
    """``score_many`` gives the scores (and contributions) of the loop ``score_one`` then ``learn_one``."""
    X, t, _ = _stream(500)
    X = X.copy()
    X.iloc[100:110, 0] = np.nan
    X.iloc[200, :] = np.nan
    a, b = _fresh(estimator), _fresh(estimator)
    np.testing.assert_allclose(a.score_many(X, t), _loop(b, X, t), rtol=0, atol=1e-12)
    # the contributions of the batch route are those of contributions_one (NaN: not reported)
    c, d = _fresh(estimator), _fresh(estimator)
    scores, per = c.score_many(X.iloc[:220], t[:220], return_contributions=True)
    assert list(per.columns) == list(X.columns) and len(per) == 220
    for i, x in enumerate(X.iloc[:220].to_dict("records")):
        parts = d.contributions_one(x, t[i])
        row = per.iloc[i]
        assert {k for k, v in row.items() if not np.isnan(v)} == set(parts), f"row {i}: {dict(row)} != {parts}"
        for k, v in parts.items():
            assert abs(row[k] - v) <= 1e-12, f"row {i}, {k}: {row[k]} != {v}"
        d.learn_one(x, t[i])
    # and the states agree afterwards
    np.testing.assert_allclose(a.score_many(X.iloc[:30], t[:30], learn=False),
                               b.score_many(X.iloc[:30], t[:30], learn=False), rtol=0, atol=1e-12)


def check_scores_calibrated(estimator: Any) -> None:
    """Scores are finite; a calibrated detector stays within [0, 1]."""
    X, t, _ = _stream()
    scores = _fresh(estimator).score_many(X, t)
    assert np.isfinite(scores).all()
    if _fresh(estimator).get_params().get("calibrate", True):
        assert scores.min() >= 0 and scores.max() <= 1, (scores.min(), scores.max())


def check_roc_auc(estimator: Any) -> None:
    """ROC AUC on the labelled stream (after the warm-up) reaches the floor."""
    from sklearn.metrics import roc_auc_score

    X, t, label = _stream()
    scores = _fresh(estimator).score_many(X, t)
    auc = roc_auc_score(label[300:], scores[300:])
    assert auc >= DETECTOR_ROC_AUC_FLOOR, f"ROC AUC {auc:.3f} below {DETECTOR_ROC_AUC_FLOOR}"


def check_messy_stream(estimator: Any) -> None:
    """NaN, inf, None, missing and new keys, duplicate and unordered times, huge and constant values."""
    det = _fresh(estimator)
    base = np.datetime64("2024-01-01T00:00")
    points = ([{"a": 1.0, "b": 2.0}] * 40 + [{"a": float("nan")}, {"b": float("inf")}, {"a": None}, {}, {"c": 1e300},
              {"a": -1e300, "b": 0.0}, {"a": 1.0}] + [{"a": 5.0, "b": 5.0}] * 30)
    times: list[Any] = [base + np.timedelta64(i, "m") for i in range(len(points))]
    times[10] = times[9]  # duplicate
    times[20] = base  # out of order
    times[30] = None  # unknown
    for x, ti in zip(points, times, strict=True):
        s = det.score_one(x, ti)
        assert isinstance(s, float) and np.isfinite(s), f"score {s!r} for {x!r}"
        det.learn_one(x, ti)
    assert np.isfinite(det.score_one({"a": 1.0, "b": 2.0, "c": 3.0}))


def check_state_roundtrip(estimator: Any) -> None:
    """Pickling mid-stream and going on gives exactly the scores of an uninterrupted run."""
    X, t, _ = _stream(400)
    full = _fresh(estimator).score_many(X, t)
    det = _fresh(estimator)
    first = det.score_many(X.iloc[:250], t[:250])
    det = pickle.loads(pickle.dumps(det))
    rest = det.score_many(X.iloc[250:], t[250:])
    np.testing.assert_allclose(np.concatenate([first, rest]), full, rtol=0, atol=1e-12)


def check_reset_forgets(estimator: Any) -> None:
    """``reset`` returns the detector, keeps its parameters and makes it score like a fresh one."""
    X, t, _ = _stream(300)
    det = _fresh(estimator)
    want = _fresh(estimator).score_many(X, t)
    params = joblib.hash(det.get_params(deep=False))
    det.score_many(X.iloc[::-1], t)
    assert det.reset() is det and joblib.hash(det.get_params(deep=False)) == params
    np.testing.assert_allclose(det.score_many(X, t), want, rtol=0, atol=1e-12)


def check_detector_seeding(estimator: Any) -> None:
    """Two clones with the same seed give identical scores."""
    a = _fresh(estimator)
    for key in ("seed", "random_state"):
        if key in a.get_params():
            a.set_params(**{key: 3})
    b = clone(a)
    X, t, _ = _stream(300)
    np.testing.assert_array_equal(a.score_many(X, t), b.score_many(X, t))


def check_column_order_no_impact(estimator: Any) -> None:
    """Shuffling the metric columns does not change the scores."""
    X, t, _ = _stream(300)
    a = _fresh(estimator).score_many(X, t)
    b = _fresh(estimator).score_many(X[X.columns[::-1]], t)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


_DETECTOR = [check_learn_one_returns_none, check_score_one_is_pure, check_batch_equals_stream,
             check_scores_calibrated, check_roc_auc, check_messy_stream, check_state_roundtrip,
             check_reset_forgets, check_detector_seeding, check_column_order_no_impact]


_GENERIC = [check_default_constructible, check_no_attributes_set_in_init, check_clone_and_params]
_TRIAGE = [check_params_not_mutated_by_fit, check_fit_returns_self, check_unfitted_raises, check_pickle_roundtrip,
           check_inputs_not_mutated, check_column_order_irrelevant, check_extra_and_missing_columns,
           check_seeding_is_idempotent, check_routes_agree, check_macro_f1_floor, check_confidence_and_abstention]
_TARGET = [check_target_fit_contract, check_target_routes_agree, check_target_macro_f1_floor]


def yield_checks(estimator: Any) -> Iterator[Callable[[Any], None]]:
    """Every check that applies to ``estimator``, minus its listed expected failures.

    Each check is a function of the estimator that raises ``AssertionError`` (or the library's
    own error) when the contract is broken: the generic ones for every estimator, plus those of
    triage classifiers, one-target classifiers or detectors as ``estimator`` is one.

    Parameters
    ----------
    estimator : object
        A detector or a triage classifier (an instance; it is only inspected here).

    Yields
    ------
    callable
        ``check(estimator)``; its ``__name__`` names it (``check_pickling``, ...).

    Examples
    --------
    >>> from incidentml.anomaly import RobustZScore
    >>> names = [check.__name__ for check in yield_checks(RobustZScore())]
    >>> names[:3]
    ['check_default_constructible', 'check_no_attributes_set_in_init', 'check_clone_and_params']
    >>> "check_roc_auc" in names
    True
    """
    skips = EXPECTED_FAILURES.get(type(estimator).__name__, {})
    checks = list(_GENERIC)
    if isinstance(estimator, BaseTriageClassifier):
        checks += _TRIAGE
    if isinstance(estimator, BaseTargetClassifier):
        checks += _TARGET
    if isinstance(estimator, AnomalyDetector):
        checks += _DETECTOR
    for check in checks:
        if check.__name__ not in skips:
            yield check


def check_estimator(estimator: Any) -> None:
    """Run every applicable check on a copy of ``estimator``; raise on the first failure.

    Parameters
    ----------
    estimator : object
        A detector or a triage classifier, unfitted; each check gets a deep copy.

    Raises
    ------
    AssertionError
        A check failed (its message says which rule and how).

    Examples
    --------
    >>> from incidentml import TriageModel
    >>> check_estimator(TriageModel())
    """
    for check in yield_checks(estimator):
        check(copy.deepcopy(estimator))
