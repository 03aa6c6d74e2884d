"""Shared pieces of the plotting helpers: the lazy matplotlib import, axes, times and checks."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import validate_params
from ..exceptions import DataError
from ..utils import seconds_to_datetime64, to_seconds, to_seconds_array

__all__: list[str] = []

_MISSING = "{func} needs matplotlib: pip install 'incidentml[plot]'"


def require_matplotlib(func: str) -> Any:
    """Import matplotlib, or raise ImportError naming the ``plot`` extra."""
    try:
        return importlib.import_module("matplotlib")
    except ImportError as exc:
        raise ImportError(_MISSING.format(func=func)) from exc


def new_axes(ax: Any, func: str, figsize: tuple[float, float] = (8, 4)) -> Any:
    """``ax`` itself, or the single Axes of a new (non-pyplot) Figure of ``figsize`` inches."""
    require_matplotlib(func)
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained").add_subplot()


def new_figure(fig: Any, func: str, figsize: tuple[float, float]) -> Any:
    """``fig`` itself, or a new (non-pyplot) Figure."""
    require_matplotlib(func)
    if fig is not None:
        return fig
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def check_params(func: str, constraints: dict[str, list[Any]], params: dict[str, Any]) -> None:
    """Check keyword arguments of a plotting function with the project's parameter template."""
    holder = type(func, (), {"_parameter_constraints": constraints})()
    validate_params(holder, params)


def as_1d(values: Any, name: str, func: str) -> np.ndarray:
    """A non-empty 1-D array of ``values`` (a DataError names the argument otherwise)."""
    if values is None:
        raise DataError(f"{func}: {name} is required; pass a 1-D sequence.")
    arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if arr.ndim != 1:
        raise DataError(f"{func}: {name} must be 1-D; got shape {arr.shape}. Pass one value per point.")
    if arr.size == 0:
        raise DataError(f"{func}: {name} is empty; pass at least one point.")
    return arr


def same_length(func: str, **arrays: np.ndarray) -> None:
    """Raise DataError when the named arrays differ in length, naming each and its length."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        got = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise DataError(f"{func}: {', '.join(lengths)} must have the same length; {got}. "
                        "Pass one value per point.")


def seconds(times: Any, name: str, func: str) -> np.ndarray:
    """Epoch seconds of a 1-D sequence of datetimes, Timestamps, datetime64 or numbers."""
    arr = as_1d(times, name, func)
    try:
        return to_seconds_array(arr, len(arr))
    except DataError as exc:
        raise DataError(f"{func}: {name}: {exc}") from None


def one_second(t: Any, name: str, func: str) -> float:
    """Epoch seconds of one timestamp (a DataError names the argument when unreadable)."""
    try:
        out = to_seconds(t)
    except (DataError, ValueError, TypeError) as exc:
        raise DataError(f"{func}: {name} {t!r} is not a timestamp ({exc}).") from None
    return float(out)


def to_dates(secs: Any) -> Any:
    """Epoch seconds (scalar or array) as UTC datetime64 for the x axis (NaN becomes NaT)."""
    arr = np.asarray(secs, dtype=float)
    out = seconds_to_datetime64(arr).reshape(arr.shape)  # microseconds: correct from 1677 to 9999
    return out[()] if out.ndim == 0 else out


def spans(items: Sequence[Any] | None, name: str, func: str, last: float) -> list[tuple[float, float]]:
    """``(start, end)`` seconds of Incident objects (onset to resolution) or of pairs."""
    out: list[tuple[float, float]] = []
    for i, item in enumerate(items or []):
        if hasattr(item, "onset") and hasattr(item, "raised_at"):
            start = float(min(item.onset, item.raised_at))
            end = item.resolved_at if item.resolved_at is not None else max(item.updated_at, last)
            out.append((start, float(end)))
            continue
        try:
            a, b = item
        except (TypeError, ValueError):
            raise DataError(f"{func}: {name}[{i}] is {item!r}; give Incident objects or (start, end) "
                            "pairs of timestamps.") from None
        start, end = one_second(a, f"{name}[{i}] start", func), one_second(b, f"{name}[{i}] end", func)
        if end < start:
            raise DataError(f"{func}: {name}[{i}] ends before it starts ({a!r} > {b!r}); "
                            "give (start, end) in that order.")
        out.append((start, end))
    return out


def legend(ax: Any, *others: Any) -> Any:
    """One legend on ``ax`` with the labelled artists of ``ax`` and ``others`` (twin axes)."""
    handles, labels = ax.get_legend_handles_labels()
    for other in others:
        h, lab = other.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
    if handles:
        return ax.legend(handles, labels, loc="upper left", fontsize="small")
    return None
