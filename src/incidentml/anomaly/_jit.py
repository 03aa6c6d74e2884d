"""Optional just-in-time compilation of the detectors' inner loops.

Every detector's per-point logic is one plain Python function over arrays (a *kernel*). With the
``fast`` extra installed (``pip install 'incidentml[fast]'``, which brings numba), kernels are compiled
to machine code and the batch route scores millions of points per second. Without it the very same
functions run as Python: identical answers, only slower. Set ``INCIDENTML_DISABLE_JIT=1`` to force
the Python route.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["HAVE_NUMBA", "jit"]

try:  # pragma: no cover - depends on the environment
    if os.environ.get("INCIDENTML_DISABLE_JIT", "").strip() not in ("", "0"):
        raise ImportError("disabled by INCIDENTML_DISABLE_JIT")
    import numba as _numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - depends on the environment
    _numba = None
    HAVE_NUMBA = False


def jit(func: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``func`` with numba when available (cached on disk), else return it unchanged.

    The compiled function keeps the Python original as ``py_func`` either way, so tests can run
    both and compare.
    """
    if _numba is None:
        func.py_func = func  # type: ignore[attr-defined]
        return func
    return _numba.njit(cache=True, nogil=True)(func)
