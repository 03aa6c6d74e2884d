"""Plots of metric streams, incidents, forecasts, triage quality and incident history.

Every function draws with matplotlib (the optional extra: ``pip install 'incidentml[plot]'``)
on the ``ax=`` (or ``fig=``) it is given, or on a new :class:`matplotlib.figure.Figure` (never
pyplot's global state), and returns the Axes (or the Figure when it needs several). Nothing here
calls ``plt.show()``: display or save the returned figure yourself (``ax.figure.savefig(...)``).
In a notebook, end the cell with the Figure (``ax.figure``) to see it: the figures are not
pyplot's, so an Axes alone shows as text.
matplotlib is imported only when a function is called, so ``import incidentml`` never needs it.

- Metrics: :func:`metric_timeline`, :func:`incident_view`, :func:`forecast_plot`.
- Triage: :func:`confusion_matrix`, :func:`precision_coverage`, :func:`reliability_diagram`.
- History: :func:`incident_trends`, :func:`recurring_chart`.

.. versionadded:: 0.3
"""

from ._history import incident_trends, recurring_chart
from ._metrics import forecast_plot, incident_view, metric_timeline
from ._triage import confusion_matrix, precision_coverage, reliability_diagram

__all__ = [
    "confusion_matrix",
    "forecast_plot",
    "incident_trends",
    "incident_view",
    "metric_timeline",
    "precision_coverage",
    "recurring_chart",
    "reliability_diagram",
]
