"""Just-in-time compilation of the detectors' inner loops.

Every detector's per-point logic is one plain Python function over arrays (a *kernel*). numba is a
core dependency: kernels are compiled to machine code and the batch route scores millions of
points per second. Where numba cannot be installed the very same functions run as Python:
identical answers, 30-100x slower, and the first kernel call emits one
:class:`~incidentml.exceptions.PerformanceWarning` saying so. Set ``INCIDENTML_DISABLE_JIT=1`` to
choose the Python route on purpose (no warning then).
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ..exceptions import PerformanceWarning

__all__ = ["HAVE_NUMBA", "NUMBA_MISSING", "jit"]

DISABLE_ENV = "INCIDENTML_DISABLE_JIT"
SLOW_MESSAGE = ("numba is not installed, so incidentml's detectors run their kernels as plain Python, "
                "30-100x slower (same scores). Install it with `pip install numba`, or set "
                f"{DISABLE_ENV}=1 to choose the Python route on purpose.")


def _find_numba() -> tuple[ModuleType | None, bool]:
    """``(numba module or None, missing)``; ``missing`` is True only when numba could not be imported."""
    if os.environ.get(DISABLE_ENV, "").strip() not in ("", "0"):
        return None, False
    try:
        import numba
    except ImportError:
        return None, True
    return numba, False


_numba, NUMBA_MISSING = _find_numba()
#: Kernels are compiled (numba importable and not disabled).
HAVE_NUMBA = _numba is not None
_warned = False


def _warn_slow() -> None:
    """Emit the one :class:`PerformanceWarning` of the Python route (later calls do nothing)."""
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(SLOW_MESSAGE, PerformanceWarning, stacklevel=3)


def jit(func: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``func`` with numba when available (cached on disk), else return it as Python.

    The result keeps the Python original as ``py_func`` either way, so tests can run both and
    compare. When numba is missing (not disabled on purpose), the Python kernel warns once, on
    the first call of any kernel.
    """
    if _numba is not None:
        return _numba.njit(cache=True, nogil=True)(func)
    if not NUMBA_MISSING:  # disabled on purpose: the plain function, no warning
        func.py_func = func  # type: ignore[attr-defined]
        return func

    @functools.wraps(func)
    def kernel(*args: Any, **kwargs: Any) -> Any:
        if not _warned:
            _warn_slow()
        return func(*args, **kwargs)

    kernel.py_func = func  # type: ignore[attr-defined]
    return kernel
