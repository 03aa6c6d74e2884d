"""TriageModel behaviour: targets, abstention, ordinal priority, structured features, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from incidentml import DataError, InvalidParameterError, NotFittedError, SchemaError, TriageModel
from incidentml.datasets import load_tickets, make_tickets
from incidentml.exceptions import RareClassWarning

FAST = {"max_features": 20000, "progress": False, "random_state": 0}
TEXT = ["title", "description"]


def test_predict_columns(fitted, tickets):
    """predict gives label, confidence and abstention per target, row for row, same index."""
    frame = tickets.iloc[:30].set_index(pd.Index(range(100, 130)))
    pred = fitted.predict(frame)
    assert list(pred.index) == list(frame.index)
    for name in ("category", "team", "priority"):
        assert {name, f"{name}_confidence", f"{name}_abstain"} <= set(pred.columns)
        assert pred[name].notna().all()
        assert pred[f"{name}_confidence"].between(0, 1).all()


def test_learns_the_synthetic_targets(fitted):
    """On fresh synthetic tickets the model is clearly better than chance on every target."""
    test = make_tickets(300, seed=5)
    rep = fitted.evaluate(test)
    assert rep["category"]["macro_f1"] > 0.8
    assert rep["team"]["macro_f1"] > 0.8
    assert rep["priority"]["accuracy"] > 0.6


def test_abstention_reaches_target_precision_on_validation(fitted):
    """The cut chosen on validation folds makes decided tickets reach the target precision there."""
    for name, rep in fitted.validation_metrics_.items():
        if rep["coverage"] > 0:
            assert rep["decided_precision"] >= 0.9 - 1e-9, name
        assert fitted.coverage_[name] == pytest.approx(rep["coverage"])


def test_higher_target_precision_lowers_coverage(tickets):
    """Asking for more precision never decides more tickets."""
    kw = {"text": TEXT, "targets": {"category": "category"}}
    low = TriageModel(target_precision=0.7, **FAST).fit(tickets, **kw)
    high = TriageModel(target_precision=0.99, **FAST).fit(tickets, **kw)
    assert high.coverage_["category"] <= low.coverage_["category"]


def test_empty_ticket_abstains(fitted):
    """An empty ticket gets labels but abstains on every target."""
    one = fitted.predict_one("")
    assert all(one[f"{n}_abstain"] for n in ("category", "team", "priority"))
    batch = fitted.predict(pd.DataFrame({"title": [None, "vpn outage"], "description": ["", "all users"],
                                         "service": [None, "vpn-gw"]}))
    assert batch["category_abstain"].iloc[0]


def test_missing_targets_train_only_other_targets(tickets):
    """A row without a category still trains the team target; the model fits and predicts."""
    data = tickets.copy()
    data.loc[data.index[:150], "category"] = None
    data.loc[data.index[150:200], "team"] = ""
    model = TriageModel(**FAST).fit(data, text=TEXT, targets={"category": "category", "team": "team"})
    assert model.validation_metrics_["category"]["n"] == 250
    assert model.validation_metrics_["team"]["n"] == 350


def test_rare_classes_merged_with_warning(tickets):
    """rare_classes='merge' folds labels with fewer than min_class_size rows into 'other' with a warning."""
    data = tickets.copy()
    data.loc[data.index[:3], "team"] = "tiny-team"
    with pytest.warns(RareClassWarning, match="tiny-team"):
        model = TriageModel(rare_classes="merge", **FAST).fit(data, text=TEXT, targets={"team": "team"})
    assert "other" in model.classes_["team"] and "tiny-team" not in model.classes_["team"]


def test_rare_classes_rejected_by_option(tickets):
    """rare_classes='error' refuses rare labels, naming the label and the remedy."""
    data = tickets.copy()
    data.loc[data.index[:3], "team"] = "tiny-team"
    with pytest.raises(DataError, match=r"'tiny-team' \(3 rows\).*rare_classes='merge'"):
        TriageModel(rare_classes="error", **FAST).fit(data, text=TEXT, targets={"team": "team"})


def test_single_class_target_rejected(tickets):
    """A target with one class gets a clear error naming the target and the class."""
    data = tickets.assign(const="x")
    with pytest.raises(DataError, match=r"Target 'const'.*single class 'x'"):
        TriageModel(**FAST).fit(data, text=TEXT, targets={"const": "const"})


def test_missing_column_errors(tickets, fitted):
    """A column that does not exist is named, with the columns that do."""
    with pytest.raises(SchemaError, match=r"text column 'body' does not exist"):
        TriageModel(**FAST).fit(tickets, text=["body"], targets={"team": "team"})
    with pytest.raises(SchemaError, match=r"target column 'nope'"):
        TriageModel(**FAST).fit(tickets, text=TEXT, targets={"team": "nope"})
    with pytest.raises(SchemaError, match=r"text column 'description' does not exist"):
        fitted.predict(pd.DataFrame({"title": ["x"], "service": ["y"]}))


def test_bad_parameters_named():
    """Invalid hyperparameters raise with the parameter, the rule and the value."""
    with pytest.raises(InvalidParameterError, match=r"The 'target_precision' parameter of TriageModel must be a float "
                                                     r"in the range \(0, 1\]. Got 1.5 instead."):
        TriageModel(target_precision=1.5).fit(pd.DataFrame({"t": ["a", "b"], "y": ["a", "b"]}), text=["t"],
                                               targets=["y"])


def test_not_fitted():
    """Using an unfitted model says how to fix it."""
    with pytest.raises(NotFittedError, match="not fitted yet"):
        TriageModel().predict_one("x")


def test_failed_fit_keeps_previous_state(fitted, tickets):
    """A fit that fails on bad input leaves the previously learned model usable and unchanged."""
    import copy

    model = copy.deepcopy(fitted)
    before = model.predict(tickets.iloc[:20])
    with pytest.raises(SchemaError):
        model.fit(tickets, text=["nope"], targets={"team": "team"})
    with pytest.raises(DataError):
        model.fit(tickets.assign(c="x"), text=TEXT, targets={"c": "c"})
    pd.testing.assert_frame_equal(model.predict(tickets.iloc[:20]), before)


def test_messy_inputs(fitted):
    """Non-UTF-8 bytes, a 10 MB description, other scripts and numbers-only text never crash."""
    frame = pd.DataFrame({
        "title": [b"imprimante cass\xe9e".decode("latin-1"), "打印机坏了", "12345", "vpn"],
        "description": ["x" * 10_000_000, "не работает", None, float("nan")],
        "service": ["vpn-gw", None, "unknown-svc", 3],
    })
    pred = fitted.predict(frame)
    assert len(pred) == 4
    assert isinstance(fitted.predict_one({"title": b"\xff\xfe broken", "description": "x" * 10_000_000}), dict)


def test_unseen_label_at_evaluation(fitted, tickets):
    """A label never seen at training counts as an error in evaluation, not a crash."""
    data = tickets.iloc[:50].copy()
    data.loc[data.index[:5], "team"] = "brand-new-team"
    rep = fitted.evaluate(data)["team"]
    assert rep["n"] == 50 and rep["per_class_recall"]["brand-new-team"] == 0.0


def test_ordinal_auto_and_underprediction_cost(tickets):
    """P1..P4 is recognised as ordinal; a higher under-prediction cost never lowers critical recall."""
    kw = {"text": TEXT, "targets": {"priority": "priority"}}
    plain = TriageModel(critical_recall=None, **FAST).fit(tickets, **kw)
    assert plain.ordinal_["priority"] == ["P1", "P2", "P3", "P4"]
    assert plain.underprediction_cost_["priority"] == 1.0
    costly = TriageModel(underprediction_cost=6.0, **FAST).fit(tickets, **kw)
    test = make_tickets(400, seed=9)
    r_plain = plain.evaluate(test)["priority"]
    r_costly = costly.evaluate(test)["priority"]
    assert r_costly["critical_recall"] >= r_plain["critical_recall"]
    assert (costly.predict(test)["priority"] == "P1").sum() >= (plain.predict(test)["priority"] == "P1").sum()
    assert "critical_two_low_rate" in r_plain


def test_critical_recall_goal_chooses_cost(tickets):
    """critical_recall picks the cost on validation folds so that validation critical recall reaches it."""
    data = tickets.copy()
    model = TriageModel(critical_recall=0.95, n_critical=2, **FAST).fit(
        data, text=TEXT, targets={"priority": "priority"})
    rep = model.validation_metrics_["priority"]
    assert rep["critical_recall"] >= 0.95 or model.underprediction_cost_["priority"] == 50.0


def _rare_team_tickets(tickets: pd.DataFrame, sizes: dict[str, int]) -> pd.DataFrame:
    """The synthetic tickets plus small teams whose tickets share words no other team uses."""
    extra = []
    for team, n in sizes.items():
        for i in range(n):
            extra.append({"title": f"{team} quasar flux {i}", "description": f"the {team} zephyr console hangs",
                          "service": "lab", "category": "software", "team": team, "priority": "P3"})
    return pd.concat([tickets, pd.DataFrame(extra)], ignore_index=True)


def test_rare_classes_kept_and_predicted_by_default(tickets):
    """By default a label with fewer than min_class_size rows stays its own class and can be predicted."""
    data = _rare_team_tickets(tickets, {"lab-team": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RareClassWarning)  # keeping is the default: no merge, no warning
        model = TriageModel(**FAST).fit(data, text=TEXT, targets={"team": "team"})
    assert TriageModel().rare_classes == "keep"
    assert "lab-team" in model.classes_["team"] and "other" not in model.classes_["team"]
    assert model.predict_one({"title": "lab-team quasar flux", "description": "zephyr console hangs"})["team"] \
        == "lab-team"


def test_singleton_and_two_row_classes_fit(tickets):
    """Labels with one or two rows (fewer than the folds) neither crash fitting nor break the outputs."""
    data = _rare_team_tickets(tickets, {"solo-team": 1, "pair-team": 2})
    data.loc[data.index[-1], "priority"] = "P1"
    model = TriageModel(**FAST).fit(data, text=TEXT, targets={"team": "team", "priority": "priority"})
    assert {"solo-team", "pair-team"} <= set(model.classes_["team"])
    proba = model.predict_proba(data.iloc[:20])["team"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.validation_metrics_["team"]["n"] == len(data)
    # a binary target whose second class has a single row still fits (one fold sees one class only)
    two = data.assign(flag=np.where(np.arange(len(data)) == 0, "yes", "no"))
    assert set(TriageModel(**FAST).fit(two, text=TEXT, targets={"flag": "flag"}).classes_["flag"]) == {"no", "yes"}


def test_final_model_is_refit_on_all_rows(tickets):
    """By default the final linear model is refitted on every row; 'average' keeps the fold mean."""
    from sklearn.svm import LinearSVC

    kw = {"text": TEXT, "targets": {"team": "team"}}
    model = TriageModel(**FAST).fit(tickets, **kw)
    assert TriageModel().final_model == "refit"
    X = model.featurizer_.transform(model._documents(tickets, TEXT), None, None)
    svc = LinearSVC(C=model.C, class_weight=model.class_weight, random_state=0, max_iter=2000, tol=1e-4)
    svc.fit(X, tickets["team"].to_numpy())
    np.testing.assert_allclose(model.heads_["team"].coef, svc.coef_, atol=1e-5)
    averaged = TriageModel(final_model="average", **FAST).fit(tickets, **kw)
    assert not np.allclose(averaged.heads_["team"].coef, model.heads_["team"].coef)


def test_critical_recall_active_by_default(tickets):
    """By default the under-prediction cost is chosen on the validation folds to reach critical recall 0.5."""
    model = TriageModel(**FAST).fit(tickets, text=TEXT, targets={"priority": "priority"})
    params = TriageModel().get_params()
    assert params["critical_recall"] == 0.5 and params["underprediction_cost"] is None
    rep = model.validation_metrics_["priority"]
    assert rep["critical_recall"] >= 0.5 or model.underprediction_cost_["priority"] == 50.0
    # an explicit cost is used as given, whatever critical_recall says
    fixed = TriageModel(underprediction_cost=2.0, critical_recall=0.99, **FAST).fit(
        tickets, text=TEXT, targets={"priority": "priority"})
    assert fixed.underprediction_cost_["priority"] == 2.0


def _drifting_tickets(n_era: int = 60) -> pd.DataFrame:
    """Two teams whose words change completely in each of three eras (rows in time order)."""
    rng = np.random.default_rng(0)
    words = {("a", 0): "vpn", ("b", 0): "printer", ("a", 1): "tunnel", ("b", 1): "toner",
             ("a", 2): "gateway", ("b", 2): "scanner"}
    rows = []
    for era in range(3):
        for _ in range(n_era):
            team = rng.choice(["a", "b"])
            rows.append({"title": f"{words[(team, era)]} issue {rng.choice(['today', 'again', 'now'])}",
                         "team": team})
    return pd.DataFrame(rows)


def test_contiguous_folds_show_drift():
    """Default folds keep the row order, so time-ordered tickets validate on unseen periods (drift shows)."""
    data = _drifting_tickets()
    kw = {"text": ["title"], "targets": {"team": "team"}}
    assert TriageModel().shuffle is False
    contiguous = TriageModel(**FAST).fit(data, **kw)
    shuffled = TriageModel(shuffle=True, **FAST).fit(data, **kw)
    # shuffled folds see every era in training and look nearly perfect; contiguous folds do not
    assert shuffled.validation_metrics_["team"]["accuracy"] > 0.9
    assert contiguous.validation_metrics_["team"]["accuracy"] < shuffled.validation_metrics_["team"]["accuracy"] - 0.2
    assert contiguous.coverage_["team"] < shuffled.coverage_["team"]


def test_explicit_ordinal_scale_checked(tickets):
    """An ordinal scale that misses a label is refused with the label named."""
    with pytest.raises(DataError, match=r"label 'P4'.*not in its ordinal scale"):
        TriageModel(ordinal={"priority": ["P1", "P2", "P3"]}, **FAST).fit(
            tickets, text=TEXT, targets={"priority": "priority"})


def test_structured_features_are_used():
    """A signal carried only by a structured column is learned through features=..."""
    rng = np.random.default_rng(0)
    n = 300
    service = rng.choice(["mail", "erp", "vpn"], size=n)
    team = np.where(service == "mail", "messaging", np.where(service == "erp", "finance-apps", "network"))
    data = pd.DataFrame({"title": rng.choice(["it is broken", "not working", "help please"], size=n),
                         "service": service, "team": team})
    without = TriageModel(**FAST).fit(data, text=["title"], targets={"team": "team"})
    with_feat = TriageModel(**FAST).fit(data, text=["title"], targets={"team": "team"}, features=["service"])
    probe = pd.DataFrame({"title": ["not working"] * 3, "service": ["mail", "erp", "vpn"]})
    assert with_feat.predict(probe)["team"].tolist() == ["messaging", "finance-apps", "network"]
    assert with_feat.validation_metrics_["team"]["accuracy"] > without.validation_metrics_["team"]["accuracy"] + 0.3


def test_sklearn_style_fit_with_y():
    """fit(texts, y) works like a scikit-learn classifier with one target named after y."""
    data = make_tickets(200, seed=2)
    model = TriageModel(**FAST).fit(data["title"] + " " + data["description"], data["team"])
    pred = model.predict(["vpn latency on router"])
    assert pred["team"].iloc[0] == "netops"


def test_explain_names_the_words(fitted):
    """explain returns, per target, the words that pushed towards the predicted label."""
    out = fitted.explain({"title": "vpn dns failure", "description": "firewall blocks router", "service": "vpn-gw"})
    assert out["category"]["label"] == "network"
    words = [t for t, _ in out["category"]["terms"]]
    assert any(w in words for w in ("vpn", "dns", "firewall", "router"))
    assert all(v > 0 for _, v in out["category"]["terms"])


def test_top_k(fitted, tickets):
    """top_k lists k labels per target and row, most probable first."""
    top = fitted.top_k(tickets.iloc[:4], k=3)
    cat = top[top.target == "category"]
    assert len(cat) == 12
    for _, g in cat.groupby("row"):
        assert list(g["rank"]) == [1, 2, 3]
        assert g["confidence"].is_monotonic_decreasing


def test_predict_one_thread_safe(fitted, tickets):
    """predict_one gives the same answers when called from many threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    rows = [tickets.iloc[i].to_dict() for i in range(40)]
    want = [fitted.predict_one(r) for r in rows]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(fitted.predict_one, rows))
    assert got == want


def test_bundled_sample_trains():
    """The bundled Endava sample trains a three-target model with useful category accuracy."""
    data = load_tickets()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RareClassWarning)
        model = TriageModel(**FAST).fit(data.iloc[:2000], text=TEXT,
                                        targets={"category": "category", "team": "service"})
    rep = model.evaluate(data.iloc[2000:])
    assert rep["category"]["accuracy"] > 0.7
