"""Predicted incidents for one partition of entities, from long-format rows.

Each entity's rows become one wide table (a row per timestamp, a column per series) fed to the
partition's :class:`~incidentml.IncidentPredictor`, which keeps every entity's detectors and
incidents; a series' repeated timestamp keeps its largest value. This equals feeding
``update({series: value, ...}, t, entity)`` once per entity and timestamp, in time order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..utils import LongSchema
from ._core import Skipped, _series_order, prepare_rows
from ._state import PartitionState

__all__ = ["PREDICTOR_KEY", "incident_partition", "wide_points"]

#: Key of the partition's IncidentPredictor in its PartitionState.
PREDICTOR_KEY = "__predictor__"


def wide_points(series: np.ndarray, secs: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """One entity's rows as a wide frame: ``__t`` (seconds) and a column per series, time-ordered."""
    frame = pd.DataFrame({"s": series.astype(str), "t": secs, "v": values})
    frame = frame.sort_values(["t", "s", "v"], kind="stable", na_position="first")
    wide = frame.drop_duplicates(["t", "s"], keep="last").pivot(index="t", columns="s", values="v")
    wide = wide.sort_index()
    wide.columns = [str(c) for c in wide.columns]
    wide = wide[sorted(wide.columns)]
    wide.insert(0, "__t", wide.index.to_numpy(dtype=np.float64))
    return wide.reset_index(drop=True)


def incident_partition(frame: pd.DataFrame, state: PartitionState, *, schema: LongSchema,
                       make: Callable[[], Any]) -> Skipped:
    """Feed one partition's rows (whole entities) to its predictor; ``state`` is updated in place."""
    entity_col = schema.entity_col or schema.series_col
    keys, secs, values, usable = prepare_rows(frame, schema, entity_col)
    skipped = Skipped()
    series = frame[schema.series_col].to_numpy(dtype=object)
    no_series = pd.isna(frame[schema.series_col]).to_numpy()
    no_key = ~usable & ~np.isnan(secs)
    if (no_key | no_series).any():
        skipped.add("no_series", int((no_key | no_series).sum()), f"row {int(np.flatnonzero(no_key | no_series)[0])}")
    no_time = np.isnan(secs)
    if no_time.any():
        skipped.add("no_time", int(no_time.sum()), f"row {int(np.flatnonzero(no_time)[0])}")
    pred = state.models.get(PREDICTOR_KEY)
    if pred is None:
        pred = state.models[PREDICTOR_KEY] = make()
    rows, starts, names = _series_order(keys, secs, values, np.flatnonzero(usable & ~no_series))
    ends = np.r_[starts[1:], len(rows)] if len(starts) else starts
    for name, a, b in zip(names, starts, ends, strict=True):
        idx = rows[a:b]
        entity = str(name)
        last = state.last_t.get(entity, -np.inf)
        fresh = secs[idx] > last
        if not fresh.all():
            skipped.add("stale", int((~fresh).sum()),
                        f"entity {entity!r} at {secs[idx][~fresh][0]:.0f} s, saved state up to {last:.0f} s")
            idx = idx[fresh]
        if not len(idx):
            continue
        wide = wide_points(series[idx], secs[idx], values[idx])
        wide.insert(1, "__entity", entity)
        metrics = [c for c in wide.columns if c not in ("__t", "__entity")]
        pred.run(wide, time_col="__t", entity_col="__entity", metrics=metrics)
        state.last_t[entity] = float(wide["__t"].iloc[-1])
    return skipped
