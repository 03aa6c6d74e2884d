"""TriageClassifier: a real scikit-learn classifier for one triage target, and TriageModel's heads."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from incidentml import DataError, NotFittedError, SchemaError, TriageModel
from incidentml.datasets import make_tickets
from incidentml.triage import BaseTargetClassifier, TriageClassifier

#: Cheap settings: the classifier's own ``_test_params`` (small vocabularies, two folds).
CHEAP = TriageClassifier._test_params()

#: Every scikit-learn check TriageClassifier is exempted from, with the reason. Empty: all the
#: checks scikit-learn yields for it pass. (``check_array_api_input`` skips itself unless the
#: environment sets SCIPY_ARRAY_API; that is scikit-learn's own skip, not an exemption.)
_SKLEARN_XFAIL: dict[str, str] = {}

#: Macro-F1 every target must reach on fresh synthetic tickets (the suite's triage floor).
MACRO_F1_FLOOR = 0.7

TEXT = ["title", "description"]


def _expected_failed_checks(estimator: TriageClassifier) -> dict[str, str]:
    return _SKLEARN_XFAIL


@parametrize_with_checks([TriageClassifier(**CHEAP)], expected_failed_checks=_expected_failed_checks)
def test_sklearn_check(estimator, check):
    """Each of scikit-learn's own estimator checks passes (or is listed in _SKLEARN_XFAIL with a reason)."""
    check(estimator)


def test_sklearn_checks_really_run():
    """The tags let scikit-learn's general and classifier checks run: many checks, few or no exemptions."""
    tags = get_tags(TriageClassifier())
    assert tags.input_tags.two_d_array and tags.input_tags.string
    assert tags.estimator_type == "classifier"
    params = list(parametrize_with_checks([TriageClassifier(**CHEAP)],
                                          expected_failed_checks=_expected_failed_checks).args[1])
    names = [getattr(check, "func", check).__name__ for _, check in
             (p.values if hasattr(p, "values") else p for p in params)]
    assert len(names) >= 50, f"only {len(names)} checks: the tags skip most of scikit-learn's suite"
    for must in ("check_classifiers_train", "check_classifiers_classes", "check_fit_idempotent",
                 "check_estimators_pickle", "check_n_features_in_after_fitting", "check_supervised_y_2d",
                 "check_class_weight_classifiers", "check_methods_subset_invariance",
                 "check_decision_proba_consistency", "check_estimators_unfitted", "check_dtype_object"):
        assert must in names, must
    assert set(_SKLEARN_XFAIL) <= set(names)
    assert all(isinstance(r, str) and len(r) > 10 for r in _SKLEARN_XFAIL.values())
    assert len(_SKLEARN_XFAIL) <= 5


def test_sklearn_dataframe_column_names_check():
    """scikit-learn's feature-name check (not yielded by parametrize_with_checks in 1.9) passes too."""
    from sklearn.utils.estimator_checks import check_dataframe_column_names_consistency

    check_dataframe_column_names_consistency("TriageClassifier", TriageClassifier(**CHEAP))


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def train():
    return make_tickets(300, seed=0)


@pytest.fixture(scope="module")
def test_tickets():
    return make_tickets(150, seed=1)


@pytest.fixture(scope="module")
def text_clf(train):
    """Team from the title and description joined: 1-D text input."""
    return TriageClassifier(**CHEAP).fit(train["title"] + " " + train["description"], train["team"])


@pytest.fixture(scope="module")
def frame_clf(train):
    """Priority (ordinal P1..P4) from a DataFrame of two text columns and one structured column."""
    return TriageClassifier(text=TEXT, features=["service"], **CHEAP).fit(train[[*TEXT, "service"]],
                                                                         train["priority"])


# ------------------------------------------------------------------ routes to the same answer
def assert_routes_agree(clf: TriageClassifier, X, n_one: int = 5) -> None:
    """predict, predict_proba, decision_function, predict_frame, predict_one and save/load agree."""
    proba = clf.predict_proba(X)
    pred = clf.predict(X)
    assert proba.shape == (len(pred), len(clf.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    if clf.head_.cost is None:
        np.testing.assert_array_equal(pred, clf.classes_[np.argmax(proba, axis=1)])
    logits = clf.decision_function(X)
    if logits.ndim == 1:
        logits = np.column_stack([np.zeros_like(logits), logits])
    np.testing.assert_allclose(softmax(logits, axis=1), proba, rtol=1e-9, atol=1e-12)
    frame = clf.predict_frame(X)
    np.testing.assert_array_equal(frame["label"].to_numpy(), pred)
    np.testing.assert_allclose(frame["confidence"], proba[np.arange(len(pred)), np.searchsorted(clf.classes_, pred)])
    rows = X.iloc[:n_one] if isinstance(X, (pd.Series, pd.DataFrame)) else X[:n_one]
    for i in range(n_one):
        ticket = rows.iloc[i].to_dict() if isinstance(rows, pd.DataFrame) else (
            rows.iloc[i] if isinstance(rows, pd.Series) else rows[i])
        one = clf.predict_one(ticket)
        assert one["label"] == frame["label"].iloc[i]
        assert one["confidence"] == pytest.approx(frame["confidence"].iloc[i], abs=1e-12)
        assert one["abstain"] == frame["abstain"].iloc[i]
    again = pickle.loads(pickle.dumps(clf))
    pd.testing.assert_frame_equal(again.predict_frame(X), frame)


def test_routes_agree_text(text_clf, test_tickets):
    """On 1-D text every prediction route gives the same labels and confidences."""
    assert_routes_agree(text_clf, test_tickets["title"] + " " + test_tickets["description"])
    assert_routes_agree(text_clf, (test_tickets["title"] + " " + test_tickets["description"]).tolist())


def test_routes_agree_frame(frame_clf, test_tickets):
    """On a DataFrame with an ordinal target every prediction route agrees too."""
    assert_routes_agree(frame_clf, test_tickets[[*TEXT, "service"]])


def test_save_load_roundtrip(text_clf, test_tickets, tmp_path):
    """A saved and reloaded classifier gives identical outputs; the manifest names the kind."""
    X = test_tickets["title"]
    path = text_clf.save(tmp_path / "team.incidentml")
    back = TriageClassifier.load(path)
    pd.testing.assert_frame_equal(back.predict_frame(X), text_clf.predict_frame(X))
    assert text_clf.manifest()["kind"] == "incidentml.TriageClassifier"


# ------------------------------------------------------------------ scikit-learn integration
def test_is_a_sklearn_classifier():
    """is_classifier is True (so CV splits are stratified), ClassifierMixin precedes BaseEstimator."""
    clf = TriageClassifier()
    assert is_classifier(clf)
    assert isinstance(clf, BaseTargetClassifier)
    mro = TriageClassifier.__mro__
    from sklearn.base import BaseEstimator, ClassifierMixin

    assert mro.index(ClassifierMixin) < mro.index(BaseEstimator)
    assert isinstance(check_cv(3, np.array(["a", "b"] * 5), classifier=is_classifier(clf)), StratifiedKFold)


def test_clone_gives_unfitted_equal_params(text_clf):
    """clone copies the parameters and none of the fitted state."""
    c = clone(text_clf)
    assert c.get_params() == text_clf.get_params()
    assert not hasattr(c, "classes_") and not hasattr(c, "head_")


@pytest.mark.parametrize("scoring", [None, "accuracy", "f1_macro"])
def test_cross_val_score(train, scoring):
    """cross_val_score works with the default score (accuracy) and with named scorers."""
    X = train["title"] + " " + train["description"]
    scores = cross_val_score(TriageClassifier(**CHEAP), X, train["team"], cv=3, scoring=scoring)
    assert scores.shape == (3,) and (scores > 0.6).all()


def test_cross_val_score_default_is_accuracy(train):
    """The default score is accuracy, from ClassifierMixin."""
    X = (train["title"] + " " + train["description"]).tolist()
    a = cross_val_score(TriageClassifier(**CHEAP), X, train["team"], cv=3)
    b = cross_val_score(TriageClassifier(**CHEAP), X, train["team"], cv=3, scoring="accuracy")
    np.testing.assert_allclose(a, b)


def test_grid_search_over_C(train):
    """GridSearchCV tunes C and refits the best classifier."""
    grid = GridSearchCV(TriageClassifier(**CHEAP), {"C": [0.05, 0.5]}, cv=2, scoring="f1_macro")
    grid.fit(train[TEXT], train["category"])
    assert grid.best_params_["C"] in (0.05, 0.5)
    assert isinstance(grid.best_estimator_, TriageClassifier)
    assert grid.predict(train[TEXT].iloc[:3]).shape == (3,)
    assert grid.best_estimator_.n_features_in_ == 2


def test_pipeline_after_function_transformer(train, test_tickets):
    """As the last step of a Pipeline after a FunctionTransformer that joins the text fields."""
    def join(frame: pd.DataFrame) -> pd.Series:
        return frame["title"] + " " + frame["description"]

    pipe = make_pipeline(FunctionTransformer(join), TriageClassifier(**CHEAP))
    assert isinstance(pipe, Pipeline) and is_classifier(pipe)
    pipe.fit(train, train["team"])
    assert pipe.score(test_tickets, test_tickets["team"]) > 0.8
    assert pipe.predict_proba(test_tickets.iloc[:4]).shape == (4, len(pipe.classes_))
    assert cross_val_score(pipe, train, train["team"], cv=2).mean() > 0.8


# ------------------------------------------------------------------ behaviour
def test_macro_f1_floor(train, test_tickets):
    """On fresh synthetic tickets macro-F1 of each target reaches the suite's floor."""
    X_train, X_test = train[[*TEXT, "service"]], test_tickets[[*TEXT, "service"]]
    for target in ("category", "team", "priority"):
        clf = TriageClassifier(text=TEXT, features=["service"], **CHEAP).fit(X_train, train[target])
        f1 = f1_score(test_tickets[target], clf.predict(X_test), average="macro")
        assert f1 >= MACRO_F1_FLOOR, (target, f1)


def test_predict_frame_keeps_the_index(text_clf, frame_clf, test_tickets):
    """predict_frame carries the index of a Series or DataFrame input."""
    X = test_tickets.iloc[:5].set_index(pd.Index([f"T-{i}" for i in range(5)]))
    assert list(frame_clf.predict_frame(X[[*TEXT, "service"]]).index) == list(X.index)
    assert list(text_clf.predict_frame(X["title"]).index) == list(X.index)
    assert list(text_clf.predict_frame(X["title"].tolist()).index) == list(range(5))
    assert list(text_clf.predict_frame(X["title"]).columns) == ["label", "confidence", "abstain"]


def test_abstention_cut(text_clf, test_tickets):
    """threshold_ is the abstention cut: raising it never decides more tickets; empty tickets abstain."""
    X = test_tickets["title"]
    clf = pickle.loads(pickle.dumps(text_clf))
    assert 0 <= clf.threshold_ <= 1 or clf.threshold_ == np.inf
    assert clf.validation_metrics_["coverage"] == pytest.approx(clf.coverage_)
    base = clf.predict_frame(X)
    np.testing.assert_array_equal(base["abstain"], base["confidence"] < clf.threshold_)
    clf.threshold_ = 0.99
    stricter = clf.predict_frame(X)
    assert stricter["abstain"].sum() >= base["abstain"].sum()
    assert clf.predict_one("")["abstain"] and clf.predict_frame(["", None])["abstain"].all()


def test_ordinal_cost_changes_decision(train, test_tickets):
    """An under-prediction cost predicts P1 at least as often; predict then minimises expected cost."""
    X = train[TEXT]
    plain = TriageClassifier(critical_recall=None, **CHEAP).fit(X, train["priority"])
    costly = TriageClassifier(underprediction_cost=8.0, **CHEAP).fit(X, train["priority"])
    assert plain.ordinal_ == ["P1", "P2", "P3", "P4"] and plain.underprediction_cost_ == 1.0
    assert costly.underprediction_cost_ == 8.0
    T = test_tickets[TEXT]
    assert (costly.predict(T) == "P1").sum() >= (plain.predict(T) == "P1").sum()
    proba = costly.predict_proba(T)
    np.testing.assert_array_equal(costly.predict(T), costly.classes_[np.argmin(proba @ costly.head_.cost, axis=1)])
    nominal = TriageClassifier(ordinal=None, **CHEAP).fit(X, train["priority"])
    assert nominal.ordinal_ is None


def test_explicit_ordinal_scale_checked(train):
    """A scale that misses a label is refused, naming the label."""
    with pytest.raises(DataError, match=r"label 'P4'.*not in the ordinal scale"):
        TriageClassifier(ordinal=["P1", "P2", "P3"], **CHEAP).fit(train[TEXT], train["priority"])


def test_explain_names_the_words(frame_clf, text_clf):
    """explain gives the terms that pushed towards the predicted label, strongest first."""
    out = text_clf.explain("vpn tunnel drops on the router", top=5)
    assert set(out) == {"label", "confidence", "abstain", "terms", "against"}
    assert out["label"] == "netops"
    assert any(w in [t for t, _ in out["terms"]] for w in ("vpn", "router", "tunnel"))
    weights = [v for _, v in out["terms"]]
    assert weights == sorted(weights, reverse=True) and all(v > 0 for v in weights)
    one = frame_clf.explain({"title": "database down", "description": "all users", "service": "erp"})
    assert one["label"] in set(frame_clf.classes_)


def test_structured_and_numeric_columns():
    """A signal carried only by a structured column, or by a numeric 2-D array, is learned."""
    rng = np.random.default_rng(0)
    n = 300
    service = rng.choice(["mail", "erp", "vpn"], size=n)
    team = np.where(service == "mail", "messaging", np.where(service == "erp", "finance-apps", "network"))
    data = pd.DataFrame({"title": rng.choice(["it is broken", "not working", "help please"], size=n),
                         "service": service})
    clf = TriageClassifier(text="title", **CHEAP).fit(data, team)  # features=None: every other column
    assert clf.feature_columns_ == ["service"] and clf.text_columns_ == ["title"]
    probe = pd.DataFrame({"title": ["not working"] * 3, "service": ["mail", "erp", "vpn"]})
    assert clf.predict(probe).tolist() == ["messaging", "finance-apps", "network"]
    X = rng.normal(size=(n, 3))
    y = (X[:, 1] > 0).astype(int)
    num = TriageClassifier(**CHEAP).fit(X, y)
    assert num.n_features_in_ == 3 and num.numeric_columns_ == [0, 1, 2] and num.classes_.tolist() == [0, 1]
    assert num.score(X, y) > 0.9


def test_n_features_in_follows_sklearn(train):
    """n_features_in_ counts input columns of a table; 1-D text input sets neither attribute."""
    clf = TriageClassifier(features=["service"], **CHEAP).fit(train[[*TEXT, "service"]], train["team"])
    assert clf.n_features_in_ == 3
    assert clf.feature_names_in_.tolist() == [*TEXT, "service"]
    assert clf.text_columns_ == TEXT
    clf.fit(train["title"], train["team"])
    assert not hasattr(clf, "n_features_in_") and not hasattr(clf, "feature_names_in_")
    with pytest.raises(ValueError, match="fitted on 1-D text"):
        clf.predict(train[TEXT])


def test_table_columns_checked_like_sklearn(frame_clf, test_tickets):
    """Prediction needs the columns of fit, in the same order, as in scikit-learn; 1-D input is refused."""
    with pytest.raises(ValueError, match="feature names should match"):
        frame_clf.predict(test_tickets[["service", *TEXT]])
    with pytest.raises(ValueError, match="Reshape your data"):
        frame_clf.predict(test_tickets["title"])


def test_not_fitted_raises_both_not_fitted_errors():
    """Unfitted use raises incidentml's NotFittedError, which is scikit-learn's too."""
    for method in ("predict", "predict_proba", "decision_function", "predict_frame"):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(TriageClassifier(), method)(["x"])
    with pytest.raises(SklearnNotFittedError):
        TriageClassifier().predict_one("x")
    assert issubclass(NotFittedError, SklearnNotFittedError)


def test_bad_input_named():
    """Missing labels, numbers given as texts, a single string and no y are refused with the remedy."""
    with pytest.raises(DataError, match="missing label"):
        TriageClassifier(**CHEAP).fit(["a b", "c d", "e f"], ["x", None, "y"])
    with pytest.raises(ValueError, match="Reshape your data"):
        TriageClassifier(**CHEAP).fit(np.arange(10.0), np.arange(10) % 2)
    with pytest.raises(SchemaError, match="single str"):
        TriageClassifier(**CHEAP).fit("one ticket", ["x"])
    with pytest.raises(DataError, match="requires y"):
        TriageClassifier(**CHEAP).fit(["a", "b"], None)
    with pytest.raises(DataError, match=r"single class 'x'"):
        TriageClassifier(**CHEAP).fit(["a", "b", "c"], ["x", "x", "x"])


def test_labels_keep_their_type(train):
    """Integer labels stay integers in classes_ and predictions (no conversion to strings)."""
    y = (train["team"] == "netops").astype(int).to_numpy()
    clf = TriageClassifier(**CHEAP).fit(train["title"], y)
    assert clf.classes_.dtype.kind == "i"
    assert clf.predict(train["title"].iloc[:3]).dtype.kind == "i"
    assert isinstance(clf.predict_one("vpn down")["label"], int)


# ------------------------------------------------------------------ TriageModel over TriageClassifiers
@pytest.fixture(scope="module")
def model(train):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TriageModel(max_features=5000, cv=2, random_state=0, progress=False).fit(
            train, text=TEXT, targets={"category": "category", "priority": "priority"}, features=["service"])


def test_model_estimators_are_fitted_classifiers(model, test_tickets):
    """estimators_ holds one fitted TriageClassifier per target that predicts exactly as the model."""
    assert set(model.estimators_) == {"category", "priority"}
    pred = model.predict(test_tickets)
    proba = model.predict_proba(test_tickets)
    X = test_tickets[model.text_columns_ + model.feature_columns_]
    for name, est in model.estimators_.items():
        assert isinstance(est, TriageClassifier) and is_classifier(est)
        assert est.featurizer_ is model.featurizer_  # one shared featurisation, fitted once
        np.testing.assert_array_equal(est.classes_, model.classes_[name])
        frame = est.predict_frame(X)
        np.testing.assert_array_equal(frame["label"].to_numpy(), pred[name].to_numpy())
        np.testing.assert_array_equal(frame["confidence"].to_numpy(), pred[f"{name}_confidence"].to_numpy())
        np.testing.assert_array_equal(est.predict_proba(X), proba[name].to_numpy())
        assert est.threshold_ == model.thresholds_[name]
        assert model.heads_[name] is est.head_
        assert est.n_features_in_ == 3


def test_model_classes_stay_a_dict(model):
    """TriageModel.classes_ stays a dict of label arrays (one per target), as before."""
    assert isinstance(model.classes_, dict) and set(model.classes_) == {"category", "priority"}
    assert model.classes_["priority"].tolist() == ["P1", "P2", "P3", "P4"]


def test_model_predict_keeps_series_index(train):
    """TriageModel.predict and predict_proba keep the index of a Series input."""
    texts = (train["title"] + " " + train["description"]).iloc[:120]
    m = TriageModel(max_features=5000, cv=2, random_state=0, progress=False).fit(texts, train["team"].iloc[:120])
    probe = texts.iloc[:4].set_axis([7, 3, 99, 1])
    assert list(m.predict(probe).index) == [7, 3, 99, 1]
    assert list(m.predict_proba(probe)["team"].index) == [7, 3, 99, 1]


def test_model_pickled_before_estimators_still_loads(model, test_tickets):
    """A model pickled with heads_ only (before estimators_ existed) is upgraded on unpickling."""
    state = model.__getstate__()
    state = {k: v for k, v in state.items() if k != "estimators_"}
    state["heads_"] = model.heads_
    old = TriageModel.__new__(TriageModel)
    old.__setstate__(state)
    pd.testing.assert_frame_equal(old.predict(test_tickets), model.predict(test_tickets))
    assert isinstance(old.estimators_["category"], TriageClassifier)


def test_evaluate_matches_the_model(model, test_tickets):
    """TriageClassifier.evaluate on its columns gives the report TriageModel.evaluate gives for that target."""
    reports = model.evaluate(test_tickets)
    X = test_tickets[model.text_columns_ + model.feature_columns_]
    for name, est in model.estimators_.items():
        assert est.evaluate(X, test_tickets[name]) == reports[name]
    assert 0 <= reports["priority"]["critical_recall"] <= 1


def test_records_are_read_as_a_table(frame_clf, test_tickets):
    """A list of dicts (one per ticket) is a table, like the DataFrame built from it."""
    X = test_tickets[[*TEXT, "service"]].iloc[:6]
    records = X.to_dict("records")
    np.testing.assert_array_equal(frame_clf.predict(records), frame_clf.predict(X))
