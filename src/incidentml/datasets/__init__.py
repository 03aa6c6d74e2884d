"""Loaders for the small data samples bundled in the repository's ``datasets/`` folder, and generators.

The samples live in the top-level ``datasets/`` folder of a source checkout (with their source
and license in ``datasets/README.md``). Set ``INCIDENTML_DATA`` to that folder when running from
an installed package.
"""

from ._loaders import data_home, load_machine_temperature, load_tickets
from ._synthetic import make_metric_stream, make_tickets

__all__ = ["data_home", "load_machine_temperature", "load_tickets", "make_metric_stream", "make_tickets"]
