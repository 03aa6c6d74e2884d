"""The ``incidentml`` command-line tool.

Subcommands are grouped by job: ``incidentml triage train|predict|evaluate`` for incident text.
Errors print one line to stderr and exit with status 2 (``--debug`` shows the traceback).
"""

from ._main import build_parser, main

__all__ = ["build_parser", "main"]
