"""The main job on bundled data: ``make demo`` (or ``python -m incidentml.demo``).

1. Trains a triage model on the bundled Endava helpdesk tickets and triages a few new incidents,
   printing category, priority, team, confidence, and the words behind each decision.
2. Replays a real metric stream with a known failure (NAB's machine temperature) through the
   default online detector, point by point as a service would see it, and prints the alerts next
   to the labelled anomalies.
"""

from __future__ import annotations

import sys
import time
import warnings

__all__ = ["main"]

NEW_INCIDENTS = [
    {"title": "Laptop screen cracked",
     "description": "Hi, my laptop screen cracked after it fell off the desk this morning. I need a replacement "
                    "or a loaner ASAP. Asset tag 4471, thanks, John",
     "ticket_type": "incident"},
    {"title": "Cannot access shared folder",
     "description": "From: Maria\nSent: Monday 09:12\nSubject: access\n\nI get 'permission denied' on "
                    "\\\\fileserver01\\projects\\finance since the migration. Please grant me access.",
     "ticket_type": "request"},
    {"title": "Purchase order for 5 monitors",
     "description": "Please raise a PO for 5 Dell 27in monitors for the new team, cost centre 5521.",
     "ticket_type": "request"},
    {"title": "", "description": "", "ticket_type": None},
]


def _fmt_terms(terms: list[tuple[str, float]], n: int = 4) -> str:
    return ", ".join(f"{t} (+{w:.2f})" for t, w in terms[:n]) or "-"


def main() -> int:
    """Train on the bundled tickets, triage new ones, print the decisions and their reasons."""
    from . import TriageModel
    from .datasets import load_tickets
    from .exceptions import RareClassWarning

    tickets = load_tickets()
    print(f"incidentml demo: training a triage model on {len(tickets)} real helpdesk tickets (Endava sample)")
    print("  targets: category <- category, priority <- urgency, team <- service; extra feature: ticket_type")
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RareClassWarning)
        model = TriageModel(random_state=0, n_jobs=-1).fit(
            tickets, text=["title", "description"],
            targets={"category": "category", "priority": "urgency", "team": "service"}, features=["ticket_type"])
    for w in caught:
        print(f"  note: {w.message}")
    print(f"  trained in {time.perf_counter() - t0:.1f} s. Validation (out-of-fold) per target:")
    for name, rep in model.validation_metrics_.items():
        print(f"    {name:9s} classes={len(model.classes_[name]):3d}  accuracy={rep['accuracy']:.3f}  "
              f"macro-F1={rep['macro_f1']:.3f}  decides alone on {100 * model.coverage_[name]:.0f}% of tickets "
              f"at {100 * model.target_precision:.0f}% precision")
    print("\nTriaging new incidents:")
    for i, ticket in enumerate(NEW_INCIDENTS, 1):
        text = (ticket["title"] or "(empty)") + " | " + (ticket["description"].replace("\n", " ")[:70] or "(empty)")
        print(f"\n[{i}] {text}")
        explanation = model.explain(ticket, top=4)
        for name, e in explanation.items():
            decision = "ask a human" if e["abstain"] else "auto"
            print(f"    {name:9s} -> {e['label']:22s} confidence {e['confidence']:.2f} ({decision}); "
                  f"because: {_fmt_terms(e['terms'])}")
    detect_demo()
    print("\nDone. Try: incidentml triage train --help, incidentml detect --help")
    return 0


def detect_demo() -> None:
    """Replay the machine-temperature stream through the default detector; print alerts vs known anomalies."""
    import pandas as pd

    from .anomaly import DEFAULT_THRESHOLD, make_detector, score_frame
    from .datasets import load_machine_temperature

    frame, labels = load_machine_temperature()
    print(f"\nWatching a real metric stream: {len(frame):,} temperature readings of an industrial machine "
          f"({frame.timestamp.iloc[0]:%Y-%m-%d} to {frame.timestamp.iloc[-1]:%Y-%m-%d}, every 5 min; NAB, MIT)")
    t0 = time.perf_counter()
    out = score_frame(frame, time_col="timestamp", detector=make_detector("default"))
    took = time.perf_counter() - t0
    hits = frame.loc[out["is_anomaly"].to_numpy(), "timestamp"]
    print(f"  scored in {took:.2f} s; {len(hits)} points at or above {DEFAULT_THRESHOLD} "
          "(score = how unusual for this series, 0..1)")
    for ts in hits:
        near = [lab for lab in labels["labels"] if abs(lab - ts) <= pd.Timedelta("2D")]
        if near:
            lead = (near[0] - ts) / pd.Timedelta("1h")
            what = f"{abs(lead):.1f} h {'before' if lead >= 0 else 'after'} labelled anomaly {near[0]:%Y-%m-%d %H:%M}"
        else:
            what = "no labelled anomaly within 2 days"
        print(f"    alert {ts:%Y-%m-%d %H:%M}  score {out.loc[frame.timestamp == ts, 'score'].iloc[0]:.2f}  ({what})")
    caught = [lab for lab, (a, b) in zip(labels["labels"], labels["windows"]) if ((hits >= a) & (hits <= b)).any()]
    print(f"  known anomalies caught within their NAB window: {len(caught)} of {len(labels['labels'])} "
          f"(the last one is the machine's catastrophic failure)")


if __name__ == "__main__":
    sys.exit(main())
