"""Every public function, class, method and property carries a numpydoc docstring with an example.

"Public" is every name in ``__all__`` of ``incidentml`` and of its public subpackages, plus the
public methods and properties those classes define (themselves or through a private incidentml
base class; what they inherit from scikit-learn, river or ``object`` is not ours to document).
Module-level constants cannot carry a docstring; the module docstring where they live names them.

Each docstring needs an ``Examples`` section with at least one ``>>>`` line (the examples run as
doctests through ``--doctest-modules``), and a function or method that takes parameters other
than ``self``/``cls`` needs a ``Parameters`` section. numpydoc's own parser is used when it is
installed; otherwise the section headers are found with a regular expression.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
from collections.abc import Iterator
from types import ModuleType

import pytest

#: The subpackages whose ``__all__`` is the public surface (``report`` joins when it exists).
SUBPACKAGES = ("anomaly", "triage", "incidents", "fleet", "history", "plot", "datasets", "evaluation", "checks",
               "utils", "exceptions", "report")

try:  # numpydoc is optional: the regex below checks the same two section headers
    from numpydoc.docscrape import NumpyDocString
except ImportError:  # pragma: no cover - depends on the environment
    NumpyDocString = None


def _modules() -> list[ModuleType]:
    """``incidentml`` and each of its public subpackages that can be imported."""
    out = [importlib.import_module("incidentml")]
    for name in SUBPACKAGES:
        try:
            out.append(importlib.import_module(f"incidentml.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"incidentml.{name}":  # a missing dependency, not a missing subpackage
                raise
    return out


def _own_members(cls: type) -> Iterator[tuple[str, object, type]]:
    """Public methods and properties of ``cls`` defined in incidentml (by it or a base class)."""
    seen: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("incidentml"):
            continue
        for name, attr in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(attr, staticmethod | classmethod):
                attr = attr.__func__
            if inspect.isfunction(attr) or isinstance(attr, property):
                yield name, attr, klass


def public_objects() -> dict[str, object]:
    """Every public function, class, method and property, by its first public qualified name."""
    found: dict[str, object] = {}
    ids: set[int] = set()

    def add(qualname: str, obj: object) -> None:
        key = id(obj.fget) if isinstance(obj, property) else id(obj)
        if key not in ids:
            ids.add(key)
            found[qualname] = obj

    for module in _modules():
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, ModuleType) or not (inspect.isclass(obj) or callable(obj)):
                continue  # subpackages, __version__ and constants document themselves elsewhere
            qualname = f"{module.__name__}.{name}"
            add(qualname, obj)
            if inspect.isclass(obj):
                for member_name, member, owner in _own_members(obj):
                    where = "" if owner is obj else f" (defined in {owner.__module__}.{owner.__qualname__})"
                    add(f"{qualname}.{member_name}{where}", member)
    return found


_HEADER = re.compile(r"^\s*(?P<title>[A-Z][A-Za-z ]+)\n\s*-{3,}\s*$", re.MULTILINE)


def _sections(doc: str) -> dict[str, str]:
    """The numpydoc sections of ``doc`` as ``{title: body}``."""
    doc = inspect.cleandoc(doc)
    if NumpyDocString is not None:
        parsed = NumpyDocString(doc)
        out = {}
        if parsed["Parameters"]:
            out["Parameters"] = "\n".join(p.name for p in parsed["Parameters"])
        if parsed["Examples"]:
            out["Examples"] = "\n".join(parsed["Examples"])
        return out
    headers = list(_HEADER.finditer(doc))
    ends = [m.start() for m in headers[1:]] + [len(doc)] if headers else []
    return {m["title"].strip(): doc[m.end(): end] for m, end in zip(headers, ends, strict=True)}


def _takes_parameters(obj: object) -> bool:
    """Whether a function or method has parameters other than ``self``/``cls``."""
    if isinstance(obj, property) or inspect.isclass(obj):
        return False
    try:
        params = inspect.signature(obj).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False
    return any(name not in {"self", "cls"} for name in params)


def problems(obj: object) -> list[str]:
    """What the docstring of ``obj`` lacks (empty when it is complete)."""
    doc = obj.__doc__  # the object's own docstring: inspect.getdoc would borrow a parent's
    if isinstance(obj, enum.EnumType) and doc == enum.Enum.__doc__:
        doc = None
    if not doc or not doc.strip():
        return ["no docstring"]
    sections = _sections(doc)
    out = []
    if ">>>" not in sections.get("Examples", ""):
        out.append("no Examples section with a >>> line")
    if _takes_parameters(obj) and "Parameters" not in sections:
        out.append("no Parameters section")
    return out


def test_public_surface_is_found():
    """The walk sees the package's main entry points and their methods (the check below is not vacuous)."""
    found = public_objects()
    for name in ("incidentml.TriageModel", "incidentml.TriageModel.fit", "incidentml.make_detector",
                 "incidentml.NotFittedError", "incidentml.anomaly.AnomalyDetector.score_one"):
        assert name in found, name
    assert len(found) > 150


def test_sections_parser():
    """The section finder sees Parameters and Examples and tells a missing example apart."""

    def documented(x):
        """Do nothing.

        Parameters
        ----------
        x : int
            Anything.

        Examples
        --------
        >>> documented(1)
        """

    def undocumented(x):
        """Do nothing.

        Examples
        --------
        Nothing runs here.
        """

    assert problems(documented) == []
    assert problems(undocumented) == ["no Examples section with a >>> line", "no Parameters section"]
    assert problems(lambda: None) == ["no docstring"]


def test_every_public_object_has_a_runnable_example():
    """Each public function, class, method and property documents itself with an example that runs."""
    offenders = {name: issues for name, obj in public_objects().items() if (issues := problems(obj))}
    if offenders:
        lines = [f"{name}: {', '.join(issues)}" for name, issues in sorted(offenders.items())]
        pytest.fail(f"{len(offenders)} public objects lack a complete docstring:\n" + "\n".join(lines))
