"""Bundled data samples and seeded generators.

Loaders read the small real samples shipped inside the package (their source and license are in
``datasets/README.md`` of the repository): :func:`load_tickets` (helpdesk tickets) and
:func:`load_machine_temperature` (a NAB stream with its labelled windows). Generators make data
with known ground truth: :func:`make_metric_stream`, :func:`make_tickets`, and
:func:`make_scenario` / :func:`make_scenarios` (a host's metrics with one injected fault of a
known kind, onset, leading metric and breach); :data:`SCENARIO_KINDS` lists the kinds
(``disk_fill``, ``memory_leak``, ``latency_creep``, ``multi_metric``, ``normal``).
"""

from ._loaders import data_home, load_machine_temperature, load_tickets
from ._scenarios import KINDS as SCENARIO_KINDS
from ._scenarios import Scenario, make_scenario, make_scenarios
from ._synthetic import make_metric_stream, make_tickets

__all__ = [
    "SCENARIO_KINDS",
    "Scenario",
    "data_home",
    "load_machine_temperature",
    "load_tickets",
    "make_metric_stream",
    "make_scenario",
    "make_scenarios",
    "make_tickets",
]
