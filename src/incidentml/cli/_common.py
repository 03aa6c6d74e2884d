"""Shared pieces of the command-line tool: reading tables, one-line errors, JSON output."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import IncidentMLError
from ..utils import require_columns

__all__ = ["CLIError", "parse_pairs", "print_table", "read_table", "require_columns", "write_json"]


class CLIError(IncidentMLError, ValueError):
    """A command-line argument or file problem, reported as one line."""


def read_table(path: str | Path, *, what: str = "--data") -> pd.DataFrame:
    """Read a CSV file, turning every way it can fail into one clear error."""
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{what}: file '{path}' does not exist. Check the path.")
    if path.is_dir():
        raise CLIError(f"{what}: '{path}' is a folder; give a CSV file.")
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""], encoding="utf-8",
                            encoding_errors="replace", low_memory=False)
    except pd.errors.EmptyDataError:
        raise CLIError(f"{what}: file '{path}' is empty. Give a CSV file with a header row and data.") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise CLIError(f"{what}: file '{path}' is not valid CSV ({first}). Check quoting and the delimiter.") from None
    except UnicodeDecodeError as exc:  # pragma: no cover - encoding_errors="replace" prevents it
        raise CLIError(f"{what}: file '{path}' is not text ({exc.reason}).") from None
    if frame.empty and len(frame.columns) == 0:
        raise CLIError(f"{what}: file '{path}' has no columns.")
    return frame


def parse_pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """Parse repeated ``NAME=VALUE`` options."""
    out: dict[str, str] = {}
    for v in values or []:
        name, sep, value = v.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise CLIError(f"{option} expects NAME=COLUMN, got {v!r}. Example: {option} category=Topic_group")
        if name.strip() in out:
            raise CLIError(f"{option} names {name.strip()!r} twice. Give each name once.")
        out[name.strip()] = value.strip()
    return out


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        return _clean(obj.item())
    return obj


def write_json(obj: Any, path: str | Path | None) -> str:
    """Serialise ``obj`` (NaN and inf become null) and write it to ``path`` when given."""
    text = json.dumps(_clean(obj), indent=2, sort_keys=False)
    if path is not None:
        path = Path(path)
        if not path.parent.exists():
            raise CLIError(f"--json: folder '{path.parent}' does not exist. Create it first.")
        path.write_text(text + "\n", encoding="utf-8")
    return text


def print_table(rows: list[dict[str, Any]], columns: list[str], file: Any = None) -> None:
    """Print rows as an aligned plain-text table."""
    file = file or sys.stdout

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return "-" if not math.isfinite(v) else f"{v:.3f}"
        return str(v)

    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)), file=file)
