"""``incidentml triage``: train, predict and evaluate incident-text triage models."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import (
    add_strict_option,
    add_trust_option,
    atomic_output,
    check_output_path,
    parse_pairs,
    print_table,
    read_table,
    require_columns,
    write_json,
)

__all__ = ["register"]


def register(jobs: Any) -> None:
    """Add the ``triage`` job and its subcommands to ``jobs``."""
    triage = jobs.add_parser("triage", help="train, apply and evaluate incident-text triage models",
                             description="Incident-text triage: category, priority and team with calibrated "
                                         "confidence and an 'ask a human' answer.")
    sub = triage.add_subparsers(dest="action", metavar="ACTION", parser_class=type(triage))

    train = sub.add_parser("train", help="train a triage model from a CSV of past incidents")
    train.add_argument("--data", required=True, help="CSV of past incidents (one row per ticket)")
    train.add_argument("--text", required=True, action="append", metavar="COL",
                       help="text column (repeat for title, description, ...)")
    train.add_argument("--target", required=True, action="append", metavar="NAME=COL",
                       help="target to learn and its label column, e.g. category=Topic_group (repeatable)")
    train.add_argument("--feature", action="append", metavar="COL", default=[],
                       help="structured column used as an extra feature, e.g. service (repeatable)")
    train.add_argument("--out", required=True, help="where to write the model file")
    train.add_argument("--ordinal", action="append", metavar="NAME=L1,L2,...", default=[],
                       help="ordinal target and its labels from most to least severe (default: common scales "
                            "such as P1..P5 or Blocker..Trivial are recognised)")
    # every model option defaults to None, which means "the library's default" (TriageModel's docstring
    # says what each is and why), so the CLI and the Python API train the same model
    train.add_argument("--target-precision", type=float, default=None,
                       help="precision the model's own decisions must reach; below it, it abstains "
                            "(default: the library's, 0.9)")
    train.add_argument("--underprediction-cost", type=float, default=None,
                       help="fixed cost of predicting a critical ordinal ticket (priority) as non-critical "
                            "(default: chosen on validation folds to reach --critical-recall)")
    train.add_argument("--critical-recall", type=float, default=None,
                       help="critical recall the under-prediction cost is chosen to reach on validation folds "
                            "(default: the library's, 0.5)")
    train.add_argument("--n-critical", type=int, default=None,
                       help="how many of the most severe levels count as critical (default: the library's, 1)")
    train.add_argument("--class-weight", choices=["none", "balanced"], default=None,
                       help="class weights of the SVMs (default: the library's, balanced)")
    train.add_argument("--rare", choices=["keep", "merge", "error"], default=None,
                       help="labels with fewer than 5 rows: keep them as their own classes (the library's "
                            "default), merge them into 'other', or refuse")
    train.add_argument("--jobs", type=int, default=-1, help="parallel threads (default: all cores)")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(func=_train)

    predict = sub.add_parser("predict", help="triage new incidents with a trained model")
    predict.add_argument("--model", required=True, help="model file written by 'triage train'")
    predict.add_argument("--data", required=True, help="CSV of incidents to triage")
    predict.add_argument("--output", required=True, help="CSV to write: every input row, in order, plus "
                                                          "NAME, NAME_confidence, NAME_abstain per target")
    add_trust_option(predict)
    predict.set_defaults(func=_predict)

    evaluate = sub.add_parser("evaluate", help="metrics of a trained model on labelled incidents")
    evaluate.add_argument("--model", required=True, help="model file written by 'triage train'")
    evaluate.add_argument("--data", required=True, help="CSV of labelled incidents (same label columns as training)")
    evaluate.add_argument("--json", metavar="PATH", help="also write the metrics as JSON")
    add_trust_option(evaluate)
    add_strict_option(evaluate)
    evaluate.set_defaults(func=_evaluate)
    triage.set_defaults(func=None, _parser=triage)


def _load(path: str, trusted: bool = False) -> Any:
    from ..triage import TriageModel

    return TriageModel.load(path, trusted=trusted)


def _train(args: argparse.Namespace) -> int:
    from ..triage import TriageModel

    targets = parse_pairs(args.target, "--target")
    ordinal: Any = "auto"
    if args.ordinal:
        ordinal = {}
        for name, labels in parse_pairs(args.ordinal, "--ordinal").items():
            ordinal[name] = [s.strip() for s in labels.split(",") if s.strip()]
    out = check_output_path(args.out, "--out", [args.data])  # before the training, not after it
    frame = read_table(args.data)
    require_columns(frame, args.text, "--text")
    require_columns(frame, list(targets.values()), "--target")
    require_columns(frame, args.feature, "--feature")
    model = TriageModel(ordinal=ordinal, n_jobs=args.jobs, random_state=args.seed, **_model_options(args))
    model.fit(frame, text=args.text, targets=targets, features=args.feature)
    model.save(out)
    rows = []
    for name, rep in model.validation_metrics_.items():
        rows.append({"target": name, "classes": len(model.classes_[name]), "accuracy": rep.get("accuracy"),
                     "macro_f1": rep.get("macro_f1"), "coverage@precision": model.coverage_[name],
                     "ece": rep.get("ece")})
    print(f"trained on {model.n_train_rows_} tickets in {model.fit_seconds_:.1f} s; validation (out-of-fold):")
    print_table(rows, ["target", "classes", "accuracy", "macro_f1", "coverage@precision", "ece"])
    print(f"model written to {out}")
    return 0


def _model_options(args: argparse.Namespace) -> dict[str, Any]:
    """TriageModel parameters the user gave on the command line; the rest keep the library's defaults."""
    given = {"target_precision": args.target_precision, "underprediction_cost": args.underprediction_cost,
             "critical_recall": args.critical_recall, "n_critical": args.n_critical, "rare_classes": args.rare}
    options = {k: v for k, v in given.items() if v is not None}
    if args.class_weight is not None:
        options["class_weight"] = None if args.class_weight == "none" else "balanced"
    return options


def _predict(args: argparse.Namespace) -> int:
    out = check_output_path(args.output, "--output", [args.data, args.model])
    model = _load(args.model, args.trust_model)
    frame = read_table(args.data)
    pred = model.predict(frame)
    result = frame.copy()
    for col in pred.columns:
        if col in result.columns:
            result = result.rename(columns={col: f"{col}_input"})
            sys.stderr.write(f"incidentml: note: input column {col!r} kept as {col + '_input'!r}\n")
    for col in pred.columns:
        result[col] = pred[col].to_numpy()
    with atomic_output(out, "--output") as fh:
        result.to_csv(fh, index=False)
    n_abstain = {n: int(pred[f"{n}_abstain"].sum()) for n in model.heads_}
    print(f"triaged {len(frame)} tickets -> {out}; handed to a human: "
          + ", ".join(f"{n} {k}" for n, k in n_abstain.items()))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    if args.json:
        check_output_path(args.json, "--json", [args.data, args.model])
    model = _load(args.model, args.trust_model)
    frame = read_table(args.data)
    reports = model.evaluate(frame, strict=args.strict)
    rows = []
    for name, rep in reports.items():
        rows.append({"target": name, "n": rep.get("n"), "accuracy": rep.get("accuracy"),
                     "macro_f1": rep.get("macro_f1"), "top3": rep.get("top3_accuracy"), "ece": rep.get("ece"),
                     "coverage": rep.get("coverage"), "decided_prec": rep.get("decided_precision"),
                     "crit_recall": rep.get("critical_recall", float("nan")),
                     "crit_2low": rep.get("critical_two_low_rate", float("nan"))})
    print_table(rows, ["target", "n", "accuracy", "macro_f1", "top3", "ece", "coverage", "decided_prec",
                       "crit_recall", "crit_2low"])
    for name, rep in reports.items():
        recalls = ", ".join(f"{k} {v:.2f}" for k, v in rep.get("per_class_recall", {}).items())
        print(f"{name} recall per class: {recalls}")
        left = [f"{rep[k]} {what}" for k, what in (("n_missing_label", "without a label, not scored"),
                                                    ("n_unseen_label", "with a label unknown to the model, "
                                                                       "scored as wrong")) if rep.get(k)]
        if left:
            print(f"{name}: rows " + "; ".join(left))
    if args.json:
        write_json({"model": str(args.model), "data": str(args.data), "targets": reports}, args.json)
    return 0
