"""Rendering shared by every report: the jinja2 environment, figures as inline images, saving."""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ..incidents import Incident
from ..utils import atomic_write_text

__all__ = ["Report", "figure_uri", "render"]

_MISSING = "{what} needs jinja2 and matplotlib: pip install 'incidentml[report]'"
_DPI = 110


def _require(what: str) -> Any:
    try:
        import jinja2
        import matplotlib  # noqa: F401 - the plots need it; fail here with the extra's name
    except ImportError as exc:
        raise ImportError(_MISSING.format(what=what)) from exc
    return jinja2


def figure_uri(fig: Any) -> str:
    """A matplotlib Figure (or an Axes of one) as a ``data:image/png;base64,...`` URI."""
    from PIL import Image  # matplotlib's own dependency

    fig = getattr(fig, "figure", fig)
    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=_DPI, metadata={"Software": None}, facecolor="white")
    raw.seek(0)
    # a plot has few colours: a 256-colour palette keeps it sharp at a third of the size
    with Image.open(raw) as im:
        small = io.BytesIO()
        im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(small, format="PNG",
                                                                                    optimize=True)
    return "data:image/png;base64," + base64.b64encode(small.getvalue()).decode("ascii")


def _num(value: Any, digits: int = 3) -> str:
    if value is None or isinstance(value, str):
        return "–" if value is None else value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "–"
    return f"{v:.{digits}f}"


def _pct(value: Any, digits: int = 0) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(v) else f"{100 * v:.{digits}f}%"


def _when(seconds: Any) -> str:
    if seconds is None:
        return "–"
    try:
        v = float(seconds)
    except (TypeError, ValueError):
        return str(seconds)
    if math.isnan(v):
        return "–"
    return pd.Timestamp(v, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


def _duration(seconds: Any) -> str:
    try:
        v = float(seconds)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(v) else Incident.duration_text(v)


def _environment() -> Any:
    jinja2 = _require("incidentml.report")
    env = jinja2.Environment(loader=jinja2.PackageLoader("incidentml.report", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=_num, pct=_pct, when=_when, duration=_duration)
    return env


def render(template: str, **context: Any) -> str:
    """Render one of the package's templates (``templates/NAME``) with ``context``."""
    return _environment().get_template(template).render(**context)


@dataclass(frozen=True)
class Report:
    """A rendered report: one self-contained HTML page.

    The page holds its images inline (``data:`` URIs) and its style in the page itself; it
    runs no script and links nothing outside itself, so it opens offline, from a file or an
    e-mail attachment, on a phone or a laptop.

    Attributes
    ----------
    html : str
        The page.
    title : str
        Its title.
    sections : tuple of str
        The entries of its table of contents, in order.
    n_images : int
        How many images it holds.
    notes : tuple of str
        What the report left out and why (also shown on the page).

    Examples
    --------
    >>> r = Report(html="<!doctype html><html><body>hi</body></html>", title="t", sections=("a",))
    >>> r.n_images, len(r.html) > 0
    (0, True)
    """

    html: str
    title: str
    sections: tuple[str, ...] = ()
    n_images: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def save(self, path: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
        """Write the page to ``path`` atomically (a temporary file, fsynced, then renamed).

        Parameters
        ----------
        path : str or path-like
            Where to write; its folder must exist. An existing regular file is replaced only
            once the new page is complete.
        inputs : iterable of path-like, optional
            Files the report was made from: ``path`` may not be one of them.

        Returns
        -------
        Path
            The path written.

        Raises
        ------
        DataError
            The folder does not exist, ``path`` is a folder or not a regular file, or it is one
            of ``inputs``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     out = Report(html="<html></html>", title="t").save(pathlib.Path(d) / "r.html")
        ...     out.read_text()
        '<html></html>'
        """
        out = Path(path)
        if not out.parent.is_dir():
            raise DataError(f"report path '{out}': folder '{out.parent}' does not exist. Create it first.")
        if out.exists() and not out.is_file():
            raise DataError(f"report path '{out}' exists and is not a regular file; choose a file path "
                            "such as report.html.")
        resolved = out.resolve()
        for given in inputs:
            if Path(given).exists() and Path(given).resolve() == resolved:
                raise DataError(f"report path '{out}' is one of the report's inputs; write the report to "
                                "another file (it would replace the input).")
        atomic_write_text(out, self.html)
        return out

    def _repr_html_(self) -> str:
        """Shown inline in a notebook: the page in a sandboxed frame (its style stays inside)."""
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" sandbox="" '
                'style="width:100%;height:640px;border:1px solid #ccc"></iframe>')


def text_snippet(parts: Sequence[Any], limit: int = 280) -> str:
    """The first ``limit`` characters of the non-empty text ``parts`` joined by ' | '."""
    texts = []
    for p in parts:
        if p is None or (isinstance(p, float) and np.isnan(p)):
            continue
        s = " ".join(str(p).split())
        if s:
            texts.append(s)
    joined = " | ".join(texts)
    return joined if len(joined) <= limit else joined[: limit - 1].rstrip() + "…"
