"""Find and read the bundled samples."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..exceptions import SchemaError

__all__ = ["data_home", "load_machine_temperature", "load_tickets"]

_ENV = "INCIDENTML_DATA"


def data_home() -> Path:
    """The folder holding the bundled samples.

    ``$INCIDENTML_DATA`` when set; else the copy shipped inside the installed package
    (``incidentml/datasets/data``); else the top-level ``datasets/`` folder of the source checkout
    an editable install points to.

    Examples
    --------
    >>> (data_home() / "endava_tickets_sample.csv").exists()
    True
    """
    env = os.environ.get(_ENV)
    if env:
        candidates = [Path(env)]
    else:
        here = Path(__file__).resolve().parent
        candidates = [here / "data", here.parents[2] / "datasets"]
    for c in candidates:
        if (c / "endava_tickets_sample.csv").exists():
            return c
    where = ", ".join(map(str, candidates))
    if env:
        msg = f"{_ENV}={env} does not hold the bundled samples (looked for endava_tickets_sample.csv in {where})."
    else:
        msg = (f"The bundled samples were not found (looked in {where}): the installation is incomplete. "
               f"Reinstall incidentml, or set {_ENV} to the 'datasets' folder of an incidentml checkout.")
    raise SchemaError(msg)


def load_tickets() -> pd.DataFrame:
    """Load 2,969 real, anonymised IT helpdesk tickets (Endava; MIT / CC0; see datasets/README.md).

    Returns
    -------
    DataFrame
        Columns ``ticket_id``, ``title``, ``description``, ``category`` (8 classes),
        ``ticket_type``, ``urgency``, ``impact`` and ``service``.

    Examples
    --------
    >>> tickets = load_tickets()
    >>> tickets.shape
    (2969, 8)
    >>> sorted(tickets["category"].unique())[:3]
    ['Access', 'Administrative rights', 'HR Support']
    """
    path = data_home() / "endava_tickets_sample.csv"
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=str)


def load_machine_temperature() -> tuple[pd.DataFrame, dict[str, list]]:
    """Load NAB's machine-temperature stream (22,695 points, 5-minute steps) and its known anomalies.

    A real industrial machine's temperature sensor with four labelled anomalies, the last one a
    catastrophic failure (Numenta Anomaly Benchmark, MIT; see datasets/README.md).

    Returns
    -------
    frame : DataFrame
        Columns ``timestamp`` (datetime64) and ``value`` (float).
    labels : dict
        ``{"labels": [timestamps of the labelled anomalies], "windows": [[start, end], ...]}``, the
        NAB scoring windows around them (as pandas Timestamps).

    Examples
    --------
    >>> frame, labels = load_machine_temperature()
    >>> frame.shape, len(labels["labels"]), str(labels["labels"][-1])
    ((22695, 2), 4, '2014-02-08 14:30:00')
    """
    home = data_home()
    frame = pd.read_csv(home / "nab_machine_temperature.csv", parse_dates=["timestamp"])
    raw = json.loads((home / "nab_machine_temperature_labels.json").read_text(encoding="utf-8"))
    labels = {"labels": [pd.Timestamp(t) for t in raw["labels"]],
              "windows": [[pd.Timestamp(a), pd.Timestamp(b)] for a, b in raw["windows"]]}
    return frame, labels
