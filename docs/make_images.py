"""Make the images of docs/*.md with incidentml's own plots, from bundled data only.

Run from the repository root:  .venv/bin/python docs/make_images.py
Writes docs/images/{triage_confusion,triage_coverage,triage_reliability,detection_timeline,
incident_view,forecast,fleet_timeline,learning_recurring}.png (matplotlib Agg, dpi 110, seeded: the same images every run).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from incidentml import IncidentPredictor, SimilarIncidents, TriageModel, predict_incidents, score_fleet
from incidentml.anomaly import DEFAULT_THRESHOLD, score_frame
from incidentml.datasets import load_machine_temperature, load_tickets, make_scenario
from incidentml.history import recurring_incidents
from incidentml.plot import (
    confusion_matrix,
    forecast_plot,
    incident_view,
    metric_timeline,
    precision_coverage,
    recurring_chart,
    reliability_diagram,
)

OUT = Path(__file__).resolve().parent / "images"
DPI = 110


def save(fig, name: str, size: tuple[float, float] | None = None) -> None:
    if size is not None:
        fig.set_size_inches(*size)
    if fig.get_layout_engine() is None:  # the plots set their own layout; keep it
        fig.tight_layout()
    path = OUT / name
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    print(f"{path.relative_to(OUT.parent.parent)}: {path.stat().st_size // 1024} KB")


def legend_below(ax) -> None:
    """Move metric_timeline's legend under the panel, in one row."""
    old = ax.get_legend()
    handles, texts = old.legend_handles, [text.get_text() for text in old.get_texts()]
    old.remove()
    ax.legend(handles, texts, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=len(texts), frameon=False)


def triage() -> None:
    tickets = load_tickets()
    train, test = train_test_split(tickets, test_size=0.2, random_state=0, stratify=tickets["category"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = TriageModel(random_state=0, progress=False).fit(
            train, text=["title", "description"], targets={"category": "category"}
        )
    predicted = model.predict(test)
    y_true = test["category"].to_numpy()
    y_pred = predicted["category"].to_numpy()
    confidence = predicted["category_confidence"].to_numpy()
    save(confusion_matrix(y_true, y_pred).figure, "triage_confusion.png", (7.5, 6.5))
    save(precision_coverage(y_true, y_pred, confidence, target_precision=model.target_precision).figure,
         "triage_coverage.png", (6, 4.5))
    save(reliability_diagram(y_true, y_pred, confidence).figure, "triage_reliability.png", (6, 4.5))


def detection() -> None:
    frame, labels = load_machine_temperature()
    out = score_frame(frame, time_col="timestamp")
    ax = metric_timeline(frame["timestamp"], frame["value"], scores=out["score"], threshold=DEFAULT_THRESHOLD,
                         alerts=out["is_anomaly"], windows=labels["windows"], title="machine temperature (NAB)")
    legend_below(ax)  # the stream fills the whole panel: keep every alert visible
    save(ax.figure, "detection_timeline.png", (11, 4.5))


def incidents() -> None:
    multi = make_scenario("multi_metric", seed=1)
    found = IncidentPredictor().run(multi.frame, time_col="timestamp")
    main = [i for i in found if i.raised_at >= multi.onset.timestamp() - 3600][0]
    around = multi.frame["timestamp"].between(pd.Timestamp(main.onset, unit="s") - pd.Timedelta("3h"),
                                              pd.Timestamp(main.resolved_at, unit="s") + pd.Timedelta("1h"))
    save(incident_view(multi.frame[around], main), "incident_view.png", (10, 7))

    disk = make_scenario("disk_fill", seed=3)
    _, events = IncidentPredictor(limits={"disk_used_pct": 95}).run(disk.frame, time_col="timestamp",
                                                                    return_events=True)
    inc = next(e for e in events if e["incident"].forecast)["incident"]
    seen = disk.frame[disk.frame["timestamp"] <= pd.Timestamp(inc.raised_at, unit="s")]
    save(forecast_plot(seen["timestamp"], seen["disk_used_pct"], inc.forecast).figure, "forecast.png", (10, 4.5))


def fleet() -> None:
    rng = np.random.default_rng(7)
    n_points = 1440
    t = pd.date_range("2024-05-01", periods=n_points, freq="min")
    daily = np.sin(2 * np.pi * np.arange(n_points) / 1440)
    rows = []
    for h in range(20):
        for k, m in enumerate(["cpu", "mem", "latency"]):
            level, noise = 40 + 10 * k + rng.normal(0, 5), 1 + rng.random()
            v = level + 5 * daily + rng.normal(0, noise, n_points)
            if h == 3 and m in ("cpu", "latency"):
                v[1100:1160] += 12 * noise  # host-3: cpu and latency climb together for an hour
            rows.append(pd.DataFrame({"entity": f"host-{h}", "series_id": f"host-{h}.{m}",
                                      "timestamp": t, "value": v}))
    data = pd.concat(rows, ignore_index=True)
    scored = score_fleet(data, entity_col="entity")
    found = predict_incidents(data, entity_col="entity")
    host3 = found[found["entity"] == "host-3"]
    cpu = data["series_id"] == "host-3.cpu"
    ax = metric_timeline(data.loc[cpu, "timestamp"], data.loc[cpu, "value"], scores=scored.loc[cpu, "score"],
                         alerts=scored.loc[cpu, "is_anomaly"], windows=[(t[1100], t[1159])],
                         incidents=list(zip(host3["onset"], host3["resolved_at"].fillna(host3["updated_at"]))),
                         title="host-3.cpu in a 60-series fleet")
    save(ax.figure, "fleet_timeline.png", (11, 4.5))


def learning() -> None:
    tickets = load_tickets().sample(frac=1.0, random_state=0).reset_index(drop=True)
    similar = SimilarIncidents().fit(tickets, text=["title", "description"])
    recurring = recurring_incidents(tickets, index=similar)
    save(recurring_chart(recurring, top=10).figure, "learning_recurring.png", (10, 4.8))


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    learning()
    detection()
    incidents()
    fleet()
    triage()
