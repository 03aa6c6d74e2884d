"""The plotting helpers draw on the Axes they are given, return it, and reject bad input clearly."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from incidentml import Incident  # noqa: E402
from incidentml.exceptions import DataError, InvalidParameterError, SchemaError  # noqa: E402
from incidentml.history import incident_counts  # noqa: E402
from incidentml.incidents import fit_breach  # noqa: E402
from incidentml.plot import (  # noqa: E402
    confusion_matrix,
    forecast_plot,
    incident_trends,
    incident_view,
    metric_timeline,
    precision_coverage,
    recurring_chart,
    reliability_diagram,
)

T0 = 1_700_000_000.0


def _axes():
    return Figure().add_subplot()


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _draw(obj):
    fig = obj if isinstance(obj, Figure) else obj.figure
    fig.canvas.draw()


def _stream(n=60):
    t = T0 + np.arange(n) * 60.0
    v = np.sin(np.arange(n) / 5.0)
    v[30:35] += 4
    s = np.where(np.abs(v) > 2, 0.9, 0.1)
    return t, v, s


# ------------------------------------------------------------------------------------ metric_timeline
@pytest.mark.parametrize("kind", ["epoch", "datetime", "timestamp"])
def test_metric_timeline_accepts_every_time_form(kind):
    """Epoch seconds, datetimes and pandas Timestamps give the same x data (UTC dates)."""
    t, v, s = _stream()
    times = {"epoch": t, "datetime": list(pd.to_datetime(t, unit="s").to_pydatetime()),
             "timestamp": pd.Series(pd.to_datetime(t, unit="s", utc=True))}[kind]
    ax = metric_timeline(times, v, scores=s, ax=_axes())
    _draw(ax)
    x = ax.lines[0].get_xdata()
    assert np.asarray(x).astype("datetime64[s]")[0] == np.datetime64(int(T0), "s")


def test_metric_timeline_draws_everything_and_honours_ax():
    """All layers appear: metric, alerts, spans of both kinds, a twin score axis and its threshold."""
    t, v, s = _stream()
    ax = _axes()
    inc = Incident(id="web-1-00001", entity="web-1", raised_at=T0 + 1800, onset=T0 + 1740,
                   resolved_at=T0 + 2100)
    out = metric_timeline(t, v, scores=s, threshold=0.7, alerts=s > 0.5, incidents=[inc, (T0 + 3000, T0 + 3200)],
                          windows=[(T0 + 1700, T0 + 2150)], ax=ax, title="web-1 latency")
    _draw(out)
    assert out is ax
    assert ax.get_title() == "web-1 latency"
    assert len(ax.figure.axes) == 2  # the metric axis and its twin for the scores
    twin = ax.figure.axes[1]
    assert twin.get_ylim() == (0, 1.05)
    assert [ln.get_ydata()[0] for ln in twin.lines][-1] == 0.7
    assert len([p for p in ax.patches if isinstance(p, Rectangle)]) == 3  # two incidents, one window
    assert len(ax.collections) == 1  # the alert markers
    assert _legend(ax) == ["metric", "alert", "predicted incident", "true window", "score", "threshold 0.7"]


def test_metric_timeline_alert_times_and_open_incident():
    """Alerts may be times; an open incident is shaded to the last point; no scores means no twin."""
    t, v, _ = _stream()
    inc = Incident(id="web-1-00001", entity="web-1", raised_at=T0 + 1800, onset=T0 + 1740)
    ax = metric_timeline(pd.to_datetime(t, unit="s"), v, alerts=[T0 + 1800, T0 + 1860], incidents=[inc])
    _draw(ax)
    assert len(ax.figure.axes) == 1
    assert ax.collections[0].get_offsets().shape == (2, 2)
    assert _legend(ax) == ["metric", "alert", "predicted incident"]


def test_metric_timeline_errors_name_the_argument():
    """Mismatched lengths, empty input, bad spans and a threshold without scores are clear errors."""
    t, v, s = _stream()
    with pytest.raises(DataError, match="times, values must have the same length; times has 60, values has 59"):
        metric_timeline(t, v[:-1])
    with pytest.raises(DataError, match="times is empty"):
        metric_timeline([], [])
    with pytest.raises(DataError, match="times, scores must have the same length"):
        metric_timeline(t, v, scores=s[:3])
    with pytest.raises(DataError, match=r"windows\[0\] ends before it starts"):
        metric_timeline(t, v, windows=[(T0 + 100, T0)])
    with pytest.raises(DataError, match=r"incidents\[0\] is 5; give Incident objects or \(start, end\) pairs"):
        metric_timeline(t, v, incidents=[5])
    with pytest.raises(DataError, match="needs scores"):
        metric_timeline(t, v, threshold=0.5)
    with pytest.raises(InvalidParameterError, match="The 'threshold' parameter of metric_timeline must be None or "
                                                    "a float. Got 'high' instead."):
        metric_timeline(t, v, scores=s, threshold="high")


# ------------------------------------------------------------------------------------ incident_view
def _incident_frame():
    t = pd.date_range("2024-01-01", periods=60, freq="min")
    frame = pd.DataFrame({"timestamp": t, "cpu": np.r_[np.zeros(40), np.ones(20)] * 50 + 10,
                          "latency_ms": np.r_[np.zeros(42), np.ones(18)] * 300 + 100,
                          "disk": np.linspace(1, 2, 60)})
    onset = pd.Timestamp("2024-01-01 00:40").timestamp()
    inc = Incident(id="web-1-00001", entity="web-1", raised_at=onset + 120, onset=onset, severity="P2",
                   metrics=[{"name": "latency_ms", "contribution": 0.6, "first_at": onset, "peak": 0.9},
                            {"name": "cpu", "contribution": 0.3, "first_at": onset, "peak": 0.8},
                            {"name": "gone", "contribution": 0.1, "first_at": onset, "peak": 0.6}])
    return frame, inc


def test_incident_view_panels_in_contribution_order():
    """One z-scored panel per metric of the incident in the frame, in contribution order, plus the bars."""
    frame, inc = _incident_frame()
    fig = Figure()
    out = incident_view(frame, inc, fig=fig)
    _draw(out)
    assert out is fig
    assert [ax.get_ylabel() for ax in fig.axes] == ["latency_ms (z)", "cpu (z)", ""]
    panel = fig.axes[0]
    z = panel.lines[0].get_ydata()
    assert abs(np.mean(z)) < 1e-9 and abs(np.std(z) - 1) < 1e-9
    assert len(panel.lines) == 3  # the metric, the onset and the raised lines
    assert len(panel.patches) == 1  # the incident span
    assert "web-1-00001" in panel.get_title()
    bars = fig.axes[-1]
    assert [t.get_text() for t in bars.get_yticklabels()] == ["gone", "cpu", "latency_ms"]


def test_incident_view_metrics_and_top():
    """``metrics=`` chooses the columns and ``top`` caps the panels."""
    frame, inc = _incident_frame()
    fig = incident_view(frame, inc, metrics=["disk", "cpu"], top=1)
    assert [ax.get_ylabel() for ax in fig.axes] == ["disk (z)", ""]


def test_incident_view_errors():
    """Unknown columns, an empty frame and a bad ``top`` are clear errors."""
    frame, inc = _incident_frame()
    with pytest.raises(SchemaError, match="time_col: column 'ts' is not in the data"):
        incident_view(frame, inc, time_col="ts")
    with pytest.raises(SchemaError, match="metrics: column 'mem' is not in the data"):
        incident_view(frame, inc, metrics=["mem"])
    with pytest.raises(SchemaError, match=r"none of the incident's metrics \['latency_ms', 'cpu', 'gone'\]"):
        incident_view(frame[["timestamp", "disk"]], inc)
    with pytest.raises(DataError, match="frame is empty"):
        incident_view(frame.iloc[:0], inc)
    with pytest.raises(InvalidParameterError, match=r"The 'top' parameter of incident_view must be an int in the "
                                                    r"range \[1, inf\). Got 0 instead."):
        incident_view(frame, inc, top=0)


# ------------------------------------------------------------------------------------ forecast_plot
def _forecast_data():
    t = T0 + np.arange(0, 7200, 300.0)
    v = 50 + (t - T0) / 360 + np.random.default_rng(0).normal(0, 0.5, t.size)
    return t, v, fit_breach(t, v, 95, min_points=6, metric="disk_used_pct")


def test_forecast_plot_from_breach_forecast():
    """History, limit, trend to the crossing, the interval fan and the crossing line are drawn."""
    t, v, fc = _forecast_data()
    ax = _axes()
    out = forecast_plot(t, v, fc, ax=ax)
    _draw(out)
    assert out is ax
    assert _legend(ax) == ["history", "limit 95", "trend", "80% interval", "crossing"]
    assert any(isinstance(c, PolyCollection) for c in ax.collections)
    crossing = ax.lines[-1].get_xdata()[0]
    assert np.datetime64(crossing, "s") == np.datetime64(int(round(fc.crosses_at)), "s")
    trend = ax.lines[2].get_ydata()
    assert trend[-1] == pytest.approx(95, abs=1e-6)
    assert "disk_used_pct" in ax.get_title()


def test_forecast_plot_from_incident_forecast_dict_and_datetimes():
    """The Incident.forecast dict (ISO strings plus crosses_at_seconds) and datetime times work too."""
    t, v, fc = _forecast_data()
    as_dict = {**fc.to_dict(), "text": fc.describe(), "crosses_at_seconds": fc.crosses_at}
    ax = forecast_plot(pd.to_datetime(t, unit="s"), v, as_dict, limit=90)
    _draw(ax)
    assert _legend(ax) == ["history", "limit 90", "trend", "80% interval", "crossing"]
    assert np.datetime64(ax.lines[-1].get_xdata()[0], "s") == np.datetime64(int(round(fc.crosses_at)), "s")


def test_forecast_plot_without_forecast_and_errors():
    """No forecast draws history and limit; a non-forecast or a dict without the trend fields is refused."""
    t, v, _ = _forecast_data()
    ax = forecast_plot(t, v, None, limit=95)
    assert _legend(ax) == ["history", "limit 95"]
    with pytest.raises(SchemaError, match=r"forecast lacks \['value', 'slope_per_hour', 'eta_seconds'\]"):
        forecast_plot(t, v, {"limit": 95})
    with pytest.raises(DataError, match="forecast must be a BreachForecast or an Incident.forecast dict; got str"):
        forecast_plot(t, v, "soon")
    with pytest.raises(DataError, match="times, values must have the same length"):
        forecast_plot(t[:3], v, None)


# ------------------------------------------------------------------------------------ triage
Y_TRUE = ["db", "db", "net", "app", "net", "db"]
Y_PRED = ["db", "net", "net", "app", "net", "app"]
CONF = [0.95, 0.55, 0.8, 0.9, 0.7, 0.4]


def test_confusion_matrix_cells_and_normalization():
    """Cells hold recall by default, counts with ``normalize=None``, in the order of ``labels``."""
    ax = _axes()
    out = confusion_matrix(Y_TRUE, Y_PRED, labels=["db", "net", "app"], ax=ax)
    _draw(out)
    assert out is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == ["db", "net", "app"]
    assert [t.get_text() for t in ax.texts[:3]] == ["0.33", "0.33", "0.33"]
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    counts = confusion_matrix(Y_TRUE, Y_PRED, normalize=None)
    assert [t.get_text() for t in counts.texts] == ["1", "0", "0", "1", "1", "1", "0", "0", "2"]
    assert "counts" in counts.get_title()


def test_confusion_matrix_errors():
    """A bad ``normalize``, mismatched lengths and labels naming nothing are clear errors."""
    with pytest.raises(InvalidParameterError, match="The 'normalize' parameter of confusion_matrix must be one of "
                                                    "'true', 'pred', 'all' or None. Got 'rows' instead."):
        confusion_matrix(Y_TRUE, Y_PRED, normalize="rows")
    with pytest.raises(DataError, match="y_true, y_pred must have the same length; y_true has 6, y_pred has 2"):
        confusion_matrix(Y_TRUE, Y_PRED[:2])
    with pytest.raises(DataError, match=r"labels=\['x'\] names no label"):
        confusion_matrix(Y_TRUE, Y_PRED, labels=["x"])


def test_precision_coverage_curve_and_target():
    """The curve sweeps every cut; the target line and the chosen cut are drawn."""
    ax = _axes()
    out = precision_coverage(Y_TRUE, Y_PRED, CONF, target_precision=0.9, ax=ax)
    _draw(out)
    assert out is ax
    curve = ax.lines[0]
    np.testing.assert_allclose(curve.get_xdata(), np.arange(1, 7) / 6)
    np.testing.assert_allclose(curve.get_ydata(), [1, 1, 1, 1, 0.8, 4 / 6])
    assert _legend(ax)[:2] == ["decided tickets", "target 0.9"]
    assert _legend(ax)[2].startswith("cut 0.70: 67% decided")
    assert ax.get_xlabel().startswith("coverage")


def test_precision_coverage_errors():
    """Confidence outside [0, 1], mismatched lengths and a bad target are clear errors."""
    with pytest.raises(DataError, match="confidence must lie in"):
        precision_coverage(Y_TRUE, Y_PRED, [1.5] * 6)
    with pytest.raises(DataError, match="confidence has 2"):
        precision_coverage(Y_TRUE, Y_PRED, [0.5, 0.5])
    with pytest.raises(InvalidParameterError, match="target_precision"):
        precision_coverage(Y_TRUE, Y_PRED, CONF, target_precision=1.5)


def test_reliability_diagram_bins_counts_and_ece():
    """One bar per non-empty bin, labelled with its count, and the ECE of the evaluation package in the title."""
    from incidentml.evaluation import expected_calibration_error

    ax = _axes()
    out = reliability_diagram(Y_TRUE, Y_PRED, CONF, n_bins=5, ax=ax)
    _draw(out)
    assert out is ax
    ece = expected_calibration_error(np.equal(Y_TRUE, Y_PRED), np.asarray(CONF), n_bins=5)
    assert f"ECE = {ece:.3f}" in ax.get_title()
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 3  # bins [0.4, 0.6): 0.4, 0.55; [0.6, 0.8): 0.7; [0.8, 1]: 0.8, 0.9, 0.95
    assert [t.get_text() for t in ax.texts] == ["n=2", "n=1", "n=3"]
    assert [b.get_height() for b in bars] == [0.0, 1.0, 1.0]
    assert ax.lines[0].get_xdata().tolist() == [0, 1]  # the diagonal


def test_reliability_diagram_errors():
    """A bad ``n_bins`` and empty input are clear errors."""
    with pytest.raises(InvalidParameterError, match="The 'n_bins' parameter of reliability_diagram must be an int"):
        reliability_diagram(Y_TRUE, Y_PRED, CONF, n_bins=0)
    with pytest.raises(DataError, match="y_true is empty"):
        reliability_diagram([], [], [])


# ------------------------------------------------------------------------------------ history
def _history():
    return pd.DataFrame({
        "category": ["db", "db", "net", "app", "db", "net", "hw"],
        "opened_at": ["2024-01-01", "2024-01-09", "2024-01-02", "2024-01-03", "2024-01-16", "2024-01-17",
                      "2024-01-18"],
    })


def test_incident_trends_from_history_and_from_counts():
    """A history frame and the output of incident_counts give the same bands; ``top`` folds the rest into other."""
    ax = _axes()
    out = incident_trends(_history(), ax=ax)
    _draw(out)
    assert out is ax
    assert _legend(ax) == ["db", "net", "app", "hw"]
    assert len(ax.collections) == 4
    same = incident_trends(incident_counts(_history(), "category"), top=2)
    assert _legend(same) == ["db", "net", "other"]
    assert ax.get_ylabel() == "incidents"


def test_incident_trends_errors():
    """Empty input, no time column and an unknown group are clear errors."""
    with pytest.raises(DataError, match="history_or_counts is empty"):
        incident_trends(_history().iloc[:0])
    with pytest.raises(SchemaError, match="no time column"):
        incident_trends(_history()[["category"]])
    counts = incident_counts(_history(), "category").assign(team="x")
    with pytest.raises(SchemaError, match="by='priority' is not a column"):
        incident_trends(counts, by="priority")


def test_recurring_chart_bars_largest_on_top():
    """One bar per group, largest at the top, labels with the category when there is one."""
    rec = pd.DataFrame({"count": [3, 7, 2], "representative": ["vpn drops", "disk full on db-1 " * 4, "dns"],
                        "category": ["net", "db", "net"]})
    ax = _axes()
    out = recurring_chart(rec, top=2, ax=ax)
    _draw(out)
    assert out is ax
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "vpn drops [net]" and labels[1].endswith("… [db]")
    assert [p.get_width() for p in ax.patches] == [3.0, 7.0]


def test_recurring_chart_errors():
    """Missing columns and no group are clear errors."""
    with pytest.raises(SchemaError, match=r"lacks the column\(s\) \['representative'\]"):
        recurring_chart(pd.DataFrame({"count": [1]}))
    with pytest.raises(DataError, match="has no group"):
        recurring_chart(pd.DataFrame(columns=["count", "representative"]))


# ------------------------------------------------------------------------------------ import
def _run(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False)


def test_import_incidentml_does_not_import_matplotlib():
    """``import incidentml`` (and its plot subpackage) leaves matplotlib unimported."""
    res = _run("""
        import sys, incidentml, incidentml.plot
        assert 'matplotlib' not in sys.modules, 'matplotlib was imported'
    """)
    assert res.returncode == 0, res.stderr


def test_missing_matplotlib_names_the_extra():
    """Without matplotlib a plot function raises ImportError naming the ``plot`` extra."""
    res = _run("""
        import sys
        sys.modules['matplotlib'] = None
        from incidentml.plot import metric_timeline
        try:
            metric_timeline([0, 60], [1.0, 2.0])
        except ImportError as exc:
            print(exc)
    """)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "metric_timeline needs matplotlib: pip install 'incidentml[plot]'"


def test_forecast_plot_trend_fits_the_history_the_forecast_saw():
    """Rows after the forecast's as_of are drawn apart; the trend starts inside the fitted window, not after it."""
    t, v, fc = _forecast_data()
    later = t[-1] + np.arange(1, 50) * 300.0
    ax = forecast_plot(np.r_[t, later], np.r_[v, np.full(later.size, 99.0)], fc)
    _draw(ax)
    assert _legend(ax)[:3] == ["history", "after the forecast", "limit 95"]
    history, after, _limit, trend = ax.lines[:4]
    as_of = np.datetime64(int(round(fc.as_of)), "s")
    assert np.datetime64(history.get_xdata()[-1], "s") <= as_of < np.datetime64(after.get_xdata()[0], "s")
    assert np.datetime64(trend.get_xdata()[0], "s") <= as_of
    assert trend.get_ydata()[-1] == pytest.approx(95, abs=1e-6)


def test_confusion_matrix_figure_grows_with_the_labels():
    few = confusion_matrix(list("ab") * 5, list("ab") * 5)
    labels = [f"label-{i}" for i in range(12)]
    many = confusion_matrix(labels * 3, labels * 3)
    assert many.figure.get_size_inches()[0] > few.figure.get_size_inches()[0]
    ax = _axes()
    assert confusion_matrix(labels, labels, ax=ax) is ax  # a given Axes is never resized
