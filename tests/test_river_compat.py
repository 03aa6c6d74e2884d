"""incidentml's detectors are river anomaly detectors: river's own checks, pipelines, filters and evaluation.

river's check suite feeds anomaly detectors the first 1,000 rows of ``datasets.CreditCard`` (a
150 MB download). Tests never fetch anything, so :class:`LabelledStream`, a small seeded stream
of the same shape (a dict of float features, a 0/1 label), takes its place: :func:`_local`
rebinds each dataset check to it, and ``check_estimator`` itself runs with river's dataset
generator pointed at it.
"""

from __future__ import annotations

import functools
import math

import joblib
import numpy as np
import pytest
from river import anomaly, checks, evaluate, metrics, preprocessing
from sklearn.base import clone as sklearn_clone

from incidentml.anomaly import (
    DEFAULT_THRESHOLD,
    AnomalyDetector,
    Ensemble,
    ForecastResidual,
    MultivariateDetector,
    RiverDetector,
    RobustZScore,
    SeasonalDetector,
    StreamingLikelihoodDetector,
    available_detectors,
    make_detector,
)

#: Rows of river's check sample for anomaly detectors (``CreditCard().take(1000)``).
N_ROWS = 1000

#: ``{detector name: {river check: why it is skipped}}``: the detectors' ``_unit_test_skips``.
SKIPPED = {
    "svm": {"check_roc_auc": "river's linear OneClassSVM behind a StandardScaler ranks outliers at chance "
                             "on centred data (ROC AUC 0.49-0.66 over eight seeds of this stream)"},
}

CLASSES = [StreamingLikelihoodDetector, RobustZScore, SeasonalDetector, ForecastResidual, MultivariateDetector,
           RiverDetector, Ensemble]


class LabelledStream:
    """Six correlated metrics; from row 300 on, 1% of rows push two of them up by 6-10 spreads (label 1).

    Re-iterable and seeded, so every check sees the same rows.
    """

    def __init__(self, n: int = N_ROWS, seed: int = 0) -> None:
        self.n = n
        self.seed = seed

    def __iter__(self):
        rng = np.random.default_rng(self.seed)
        for i in range(self.n):
            common = rng.normal()
            x = {f"V{j}": float(common + rng.normal(0, 0.5) + j) for j in range(1, 7)}
            y = 0
            if i >= 300 and rng.random() < 0.01:
                for k in rng.choice(6, size=2, replace=False):
                    x[f"V{k + 1}"] += float(rng.uniform(6, 10))
                y = 1
            yield x, y


def _local(check):
    """``check`` with :class:`LabelledStream` in place of river's CreditCard sample (10x for the memory check)."""
    if isinstance(check, functools.partial) and "dataset" in check.keywords:
        scale = 10 if check.func.__name__ == "check_bounded_memory_growth" else 1
        return functools.partial(check.func, dataset=LabelledStream(N_ROWS * scale))
    return check


def _local_datasets(model, scale=1):
    """Stands in for ``river.checks._yield_datasets`` (the memory check's 10x stream capped at 3x: time)."""
    yield LabelledStream(N_ROWS * min(scale, 3))


def _cases():
    for name in available_detectors():
        for check in checks.yield_checks(make_detector(name)):
            yield pytest.param(name, check, id=f"{name}:{check.__name__}")


@pytest.mark.parametrize(("name", "check"), list(_cases()))
def test_river_check(name, check):
    """The named river check passes for the named detector (as river's check_estimator runs it: on a clone)."""
    det = make_detector(name)
    if check.__name__ in det._unit_test_skips():
        pytest.skip(SKIPPED[name][check.__name__])
    _local(check)(det.clone())


def test_skips_are_the_listed_ones():
    """Every detector's _unit_test_skips is exactly the list above, each with its reason."""
    for name in available_detectors():
        assert make_detector(name)._unit_test_skips() == set(SKIPPED.get(name, {})), name
    assert all(len(reason) > 20 for skips in SKIPPED.values() for reason in skips.values())


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_check_estimator_on_unit_test_params(cls, monkeypatch):
    """river.checks.check_estimator passes on every parameter set of every class's _unit_test_params."""
    monkeypatch.setattr(checks, "_yield_datasets", _local_datasets)
    for params in cls._unit_test_params():
        checks.check_estimator(cls(**params))


def test_test_params_derive_from_unit_test_params():
    """incidentml's suite settings are the first of river's unit-test parameter sets (one source)."""
    for cls in CLASSES:
        assert repr(cls._test_params()) == repr(next(iter(cls._unit_test_params())))


def test_river_sees_an_unsupervised_anomaly_detector():
    """river's base classes, tags and metaclass recognise the detectors."""
    from river import base

    det = make_detector("default")
    assert isinstance(det, base.AnomalyDetector) and isinstance(det, AnomalyDetector)
    assert det._supervised is False and isinstance(det._tags, set)
    assert isinstance(preprocessing.StandardScaler() | det, base.AnomalyDetector)  # through a pipeline
    assert str(det) == "StreamingLikelihoodDetector" and repr(det) == "StreamingLikelihoodDetector()"
    assert repr(StreamingLikelihoodDetector(rest=10)) == "StreamingLikelihoodDetector(rest=10)"


@pytest.mark.parametrize("name", available_detectors())
def test_pipeline_learns_and_scores(name):
    """``StandardScaler() | detector`` learns and scores a stream point by point, and ranks anomalies first."""
    model = preprocessing.StandardScaler() | make_detector(name)
    scores, labels = [], []
    for x, y in LabelledStream(600):
        scores.append(model.score_one(x))
        assert model.learn_one(x) is None
        labels.append(y)
    scores = np.array(scores)
    assert np.isfinite(scores).all() and scores.min() >= 0
    step = model.steps[list(model.steps)[-1]]
    assert step.n_seen_ == 600


def test_progressive_val_score():
    """river.evaluate.progressive_val_score with ROC AUC on a labelled stream, test-then-train."""
    auc = evaluate.progressive_val_score(LabelledStream(), make_detector("default"), metrics.ROCAUC())
    assert auc.get() > 0.8
    piped = evaluate.progressive_val_score(LabelledStream(), preprocessing.StandardScaler() | make_detector("robust"),
                                           metrics.ROCAUC())
    assert piped.get() > 0.7


def test_threshold_filter():
    """ThresholdFilter turns scores into flags at our threshold and keeps flagged points out of learning."""
    filt = anomaly.ThresholdFilter(make_detector("default"), threshold=DEFAULT_THRESHOLD)
    flags, labels = [], []
    for x, y in LabelledStream():
        flags.append(filt.classify(filt.score_one(x)))
        filt.learn_one(x)
        labels.append(y)
    flags, labels = np.array(flags), np.array(labels)
    assert flags[labels == 1].mean() > 0.5 and flags[labels == 0].mean() < 0.1
    assert filt.anomaly_detector.n_seen_ == len(flags) - flags.sum()  # protect_anomaly_detector=True


def test_quantile_filter():
    """QuantileFilter flags scores above their running 99th percentile."""
    filt = anomaly.QuantileFilter(make_detector("multivariate"), q=0.99, protect_anomaly_detector=False)
    flags, labels = [], []
    for x, y in LabelledStream():
        flags.append(filt.classify(filt.score_one(x)))
        filt.learn_one(x)
        labels.append(y)
    flags, labels = np.array(flags), np.array(labels)
    assert flags[labels == 1].mean() > flags[labels == 0].mean()
    assert flags.mean() < 0.05


@pytest.mark.parametrize("name", available_detectors())
def test_river_clone_and_sklearn_clone(name):
    """``det.clone()`` and ``sklearn.base.clone(det)`` both give a fresh detector with the same parameters."""
    rows = [x for x, _ in LabelledStream(300)]
    det = make_detector(name)
    fresh = [det.score_one(x) for x in rows[:1]]
    for x in rows:
        det.learn_one(x)
    for copy in (det.clone(), sklearn_clone(det)):
        assert type(copy) is type(det) and copy is not det
        assert joblib.hash(copy.get_params(deep=False)) == joblib.hash(det.get_params(deep=False))
        assert not [k for k in vars(copy) if k.endswith("_")], "a clone holds no learned state"
        assert [copy.score_one(x) for x in rows[:1]] == fresh


def test_river_clone_with_new_params():
    """river's ``clone(new_params)`` changes only the named parameters."""
    det = RobustZScore(alpha=0.05)
    copy = det.clone({"warmup": 7})
    assert copy.warmup == 7 and copy.alpha == 0.05 and det.warmup == 150
    ens = Ensemble([RobustZScore(warmup=5)], combine="max")
    twin = ens.clone()
    assert twin.combine == "max" and twin.detectors[0] is not ens.detectors[0]
    assert twin.detectors[0].warmup == 5


def test_timestamps_do_not_matter_to_river_checks():
    """river calls learn_one(x) and score_one(x) without t; the same stream with t=None agrees."""
    rows = [x for x, _ in LabelledStream(300)]
    a, b = make_detector("default"), make_detector("default")
    for x in rows:
        assert a.score_one(x) == b.score_one(x, None)
        a.learn_one(x)
        b.learn_one(x, t=None)
    assert math.isfinite(a.score_one(rows[0]))
