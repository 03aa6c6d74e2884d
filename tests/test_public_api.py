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


SRC = Path(incidentml.__file__).parent
REPO = SRC.parents[1]

#: What each subpackage may import from the others (by their public names only). ``utils`` is the
#: bottom layer and imports no other subpackage; ``exceptions`` and ``_validation`` sit beside it.
ALLOWED = {
    "utils": set(),
    "datasets": {"utils"},
    "evaluation": {"utils", "anomaly"},
    "anomaly": {"utils"},
    "incidents": {"utils", "anomaly"},
    "triage": {"utils", "evaluation"},
    "checks": {"utils", "anomaly", "triage", "datasets"},
    "fleet": {"utils", "anomaly", "incidents"},
    "history": {"utils", "triage", "incidents", "evaluation"},
    "plot": {"utils", "anomaly", "incidents", "triage", "evaluation", "history"},
    "report": {"utils", "anomaly", "incidents", "triage", "evaluation", "history", "plot"},
    "cli": {"utils", "anomaly", "incidents", "triage", "evaluation", "datasets", "fleet", "history", "report"},
}


def _imports(path: Path) -> list[tuple[str, int]]:
    """Absolute module names imported by one source file, with their line numbers."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [f"{mod}.{a.name}" for a in node.names]
            out += [(mod, node.lineno)] + [(n, node.lineno) for n in names if n.split(".")[-1].startswith("_")
                                          and not n.endswith("__version__")]
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
    return [(m, ln) for m, ln in out if m.startswith("incidentml")]


def test_no_package_reaches_into_another_private_module():
    """Subpackages use each other through public names only, and only downwards in the layering."""
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).parts
        if len(parts) < 2:
            continue  # top-level modules (demo, exceptions, _validation) may use any public name
        own = parts[0]
        for mod, line in _imports(path):
            bits = mod.split(".")
            if len(bits) < 2 or bits[1] == own or bits[1] in {"exceptions", "_validation", "__version__"}:
                continue
            where = f"{path.relative_to(SRC)}:{line} imports {mod}"
            if any(b.startswith("_") for b in bits[2:]):
                problems.append(f"{where} (a private module of another package)")
            elif own in ALLOWED and bits[1] not in ALLOWED[own]:
                problems.append(f"{where} ({own} may use only {sorted(ALLOWED[own])})")
    assert not problems, "\n".join(problems)


def test_notebooks_and_readme_use_public_names_only():
    """Notebooks and the README import nothing private (``incidentml.x._y``)."""
    import re

    files = sorted((REPO / "notebooks").glob("*.ipynb")) + [REPO / "README.md"]
    bad = []
    for f in files:
        if f.exists():
            text = f.read_text(encoding="utf-8")
            bad += [f"{f.name}: {m}" for m in re.findall(r"incidentml(?:\.\w+)*\._[a-z]\w*", text)]
    assert not bad, bad
