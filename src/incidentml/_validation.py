"""Declarative validation of estimator parameters with one message template.

Each estimator declares ``_parameter_constraints``: a dict from parameter name to a list of
constraints. A constraint is a type (``int``, ``float``, ``str``, ``bool``, ``dict``...), ``None``,
an :class:`Interval`, or an :class:`Options` set. A value is valid when it satisfies at least one
of its constraints. Violations raise :class:`~incidentml.exceptions.InvalidParameterError` with
the wording "The 'C' parameter of TriageModel must be a float in the range (0, inf). Got 0 instead."
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

from .exceptions import InvalidParameterError

__all__ = ["Interval", "Options", "validate_params"]


@dataclass(frozen=True)
class Interval:
    """A numeric range; ``kind`` is ``int`` or ``float``; bounds ``None`` mean unbounded."""

    kind: type
    left: float | None
    right: float | None
    closed: str = "both"  # "both", "left", "right", "neither"

    def __contains__(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if not isinstance(value, numbers.Real) or value != value:  # NaN never valid
            return False
        value = float(value)
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self) -> str:
        lo = "-inf" if self.left is None else f"{self.left:g}"
        hi = "inf" if self.right is None else f"{self.right:g}"
        lb = "[" if self.closed in ("both", "left") and self.left is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        kind = "an int" if self.kind is int else "a float"
        return f"{kind} in the range {lb}{lo}, {hi}{rb}"


@dataclass(frozen=True)
class Options:
    """A closed set of allowed values."""

    values: tuple

    def __contains__(self, value: Any) -> bool:
        try:
            return value in self.values
        except TypeError:
            return False

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, type):
        return {bool: "a bool", int: "an int", float: "a float", str: "a str", dict: "a dict"}.get(
            constraint, f"an instance of {constraint.__name__}"
        )
    if callable(constraint) and not isinstance(constraint, (Interval, Options)):
        return getattr(constraint, "description", "a callable")
    return str(constraint)


def _satisfies(value: Any, constraint: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, (Interval, Options)):
        return value in constraint
    if isinstance(constraint, type):
        if constraint is float:
            return isinstance(value, numbers.Real) and not isinstance(value, bool)
        if constraint is int:
            return isinstance(value, numbers.Integral) and not isinstance(value, bool)
        return isinstance(value, constraint)
    if callable(constraint):
        return bool(constraint(value))
    raise TypeError(f"unknown constraint {constraint!r}")


def validate_params(estimator: Any, params: dict[str, Any] | None = None) -> None:
    """Check ``params`` (default: ``estimator.get_params()``) against its constraints.

    Raises
    ------
    InvalidParameterError
        Naming the first parameter that breaks its constraints, its allowed values and the
        value received.
    """
    constraints = getattr(type(estimator), "_parameter_constraints", {})
    if params is None:
        params = estimator.get_params(deep=False)
    name = type(estimator).__name__
    for key, allowed in constraints.items():
        if key not in params:
            continue
        value = params[key]
        if any(_satisfies(value, c) for c in allowed):
            continue
        options = [_describe(c) for c in allowed]
        wanted = options[0] if len(options) == 1 else ", ".join(options[:-1]) + " or " + options[-1]
        msg = f"The {key!r} parameter of {name} must be {wanted}. Got {value!r} instead."
        raise InvalidParameterError(msg)
