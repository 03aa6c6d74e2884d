"""The public surface is explicit: every name in ``__all__`` exists and subpackages are exported."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import incidentml

PUBLIC_MODULES = sorted(
    {"incidentml"} | {f"incidentml.{m.name}" for m in pkgutil.iter_modules(incidentml.__path__)
                      if not m.name.startswith("_") and m.name not in {"demo"}}
)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_names_exist(module_name):
    """Each public module declares ``__all__`` and every listed name is importable from it."""
    module = importlib.import_module(module_name)
    assert hasattr(module, "__all__"), f"{module_name} has no __all__"
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.__all__ lists missing {name!r}"


def test_subpackages_exported():
    """Every public subpackage is reachable from the top-level namespace."""
    for m in pkgutil.iter_modules(incidentml.__path__):
        if m.ispkg and not m.name.startswith("_") and m.name != "cli":
            assert m.name in incidentml.__all__, f"subpackage {m.name} missing from incidentml.__all__"


def test_version_and_typing_marker():
    """The version comes from package metadata and the package ships py.typed."""
    from importlib.metadata import version

    assert incidentml.__version__ == version("incidentml")
    assert (Path(incidentml.__file__).parent / "py.typed").exists()
