"""Offline HTML reports: how a triage model did on tickets, and what predicted incidents say.

- :func:`triage_report`: metrics, confusion matrix, precision/coverage and calibration plots,
  recall per label, and the least confident and most confidently wrong tickets with the words
  behind each decision.
- :func:`incidents_report`: per incident a timeline of its metrics, the contributions, the
  breach forecast, the summary and (with a triage model) its triage; an overview of every
  entity's metrics with the incidents and any known windows.
- :class:`Report`: the page (``.html``), :meth:`Report.save` (atomic), shown inline in notebooks.

Every page is one self-contained HTML file: images inline, style inline, no script, no link to
another host; it reads on a phone and a laptop and has a table of contents. The pages are
rendered from jinja2 templates; jinja2 and matplotlib come with the extra
``pip install 'incidentml[report]'`` (an ImportError names it otherwise). The command line is
``incidentml report``.

.. versionadded:: 0.3
"""

from ._incidents import incidents_report
from ._render import Report
from ._triage import triage_report

__all__ = ["Report", "incidents_report", "triage_report"]
