"""Shared pieces of the command-line tool: reading tables, one-line errors, JSON output, safe outputs.

Every data command follows one rule: a value of the input is used, or the user is told which rows,
cells or columns were not used and why (a warning line, and counts in the command's summary line);
``--strict`` turns any of it into an error. Every output is written to a temporary file in its
folder, fsynced and renamed, so a reader (or a kill -9) never sees half a file, and an output is
never one of the inputs nor anything but a regular file.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import math
import os
import stat
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd

from ..exceptions import IncidentMLError
from ..utils import require_columns

__all__ = ["CLIError", "Notes", "add_strict_option", "add_trust_option", "atomic_output", "check_output_path",
           "parse_pairs", "print_table", "read_table", "require_columns", "write_json", "write_output_text"]

#: Folders of virtual file systems, where no output file belongs.
_VIRTUAL = ("/proc", "/sys", "/dev")
#: Delimiters recognised in a one-column header (the file is then not comma-separated).
_DELIMITERS = {";": "';'", "\t": "a tab", "|": "'|'"}


class CLIError(IncidentMLError, ValueError):
    """A command-line argument or file problem, reported as one line."""


# ------------------------------------------------------------------------------------ strict mode
def add_strict_option(p: Any) -> None:
    """``--strict``: any row, cell or column of the input that is not used is an error (exit status 2)."""
    p.add_argument("--strict", action="store_true",
                   help="fail (exit status 2) instead of warning when input rows or cells are not used")


def add_trust_option(p: Any) -> None:
    """``--trust-model``: load the model file without the safe loader's allow-list."""
    p.add_argument("--trust-model", action="store_true",
                   help="load --model without the safe loader's limits (needed for files of format 1 or holding "
                        "classes of your own); only for a file from a source you trust: unpickling a file can run "
                        "any code it names")


class Notes:
    """What a command did not use, and why: warned once each, counted in the summary, an error with strict.

    Each note is a short phrase ("2 row(s) with no timestamp (e.g. line 9)"); :meth:`add` warns
    with ``category`` (shown by the command line as ``incidentml: warning: ...``) or, when
    ``strict``, raises :class:`CLIError` naming the option ``--strict``.
    """

    def __init__(self, strict: bool, source: str) -> None:
        self.strict = bool(strict)
        self.source = source
        self.items: list[str] = []

    def add(self, text: str, category: type[Warning]) -> None:
        if self.strict:
            raise CLIError(f"{self.source}: {text} (--strict: nothing is left out; fix the input or drop --strict).")
        self.items.append(text)
        warnings.warn(f"{self.source}: {text}", category, stacklevel=2)

    def summary(self) -> str:
        """``"; not used: A, B"`` for the summary line (empty when every value was used)."""
        return f"; not used: {', '.join(self.items)}" if self.items else ""


# ------------------------------------------------------------------------------------ reading
def _header(path: Path, encoding: str) -> list[str]:
    with path.open("r", encoding=encoding, newline="") as fh:
        return next(csv.reader(fh), [])


def _check_delimiter(path: Path, encoding: str, what: str) -> list[str]:
    """The header's column names; a one-column header holding ``;``, a tab or ``|`` is the wrong delimiter."""
    header = _header(path, encoding)
    if len(header) == 1:
        for sep, name in _DELIMITERS.items():
            if sep in header[0]:
                raise CLIError(f"{what}: the file '{path}' seems to use {name} as delimiter (its header is one "
                               f"column, {header[0][:60]!r}); incidentml reads comma-separated files: convert it.")
    return header


def _decode_check(path: Path, encoding: str, what: str, hint: str) -> None:
    """Refuse a file that is not text in ``encoding``, naming the line and byte."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as exc:
                byte = raw[exc.start:exc.start + 1].hex()
                msg = (f"{what}: '{path}' is not {encoding} text (byte 0x{byte} on line {lineno}). {hint}")
                raise CLIError(msg) from None


def read_table(path: str | Path, *, what: str = "--data", encoding: str | None = None,
               encoding_option: str | None = None, allow_empty: bool = False) -> pd.DataFrame:
    """Read a CSV file, turning every way it can fail into one clear error.

    The file is read as UTF-8 (or ``encoding``), never with replacement characters: a byte that
    is not text in that encoding is an error naming its line (and ``encoding_option``, the
    command's option that names the encoding, when it has one). A header that is
    one column holding ``;``, a tab or ``|`` is reported as the wrong delimiter, a column name
    given twice is refused (pandas would rename the second one), and a file with a header but no
    rows is refused unless ``allow_empty``.
    """
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{what}: file '{path}' does not exist. Check the path.")
    if path.is_dir():
        raise CLIError(f"{what}: '{path}' is a folder; give a CSV file.")
    enc = encoding or "utf-8"
    if encoding is not None:
        hint = f"Check {encoding_option or '--encoding'}."
    elif encoding_option is not None:
        hint = (f"Name its encoding with {encoding_option} (for example {encoding_option} latin-1 or cp1252), or "
                "convert it to UTF-8.")
    else:
        hint = f"Convert it to UTF-8 (for example: iconv -f latin-1 -t utf-8 '{path}' > utf8.csv)."
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""], encoding=enc, encoding_errors="strict",
                            low_memory=False)
    except LookupError:
        raise CLIError(f"--encoding: {enc!r} is not an encoding Python knows (try latin-1 or cp1252).") from None
    except UnicodeDecodeError as exc:
        _decode_check(path, enc, what, hint)  # names the line
        raise CLIError(f"{what}: '{path}' is not {enc} text ({exc.reason}). {hint}") from None
    except pd.errors.EmptyDataError:
        raise CLIError(f"{what}: file '{path}' is empty. Give a CSV file with a header row and data.") from None
    except pd.errors.ParserError as exc:
        _check_delimiter(path, enc, what)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise CLIError(f"{what}: file '{path}' is not valid CSV ({first}). Check quoting and the delimiter.") from None
    if frame.empty and len(frame.columns) == 0:
        raise CLIError(f"{what}: file '{path}' has no columns.")
    header = _check_delimiter(path, enc, what)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise CLIError(f"{what}: column {name!r} appears twice in the header of '{path}'. Give each column "
                           "a distinct name.")
        seen.add(name)
    if frame.empty and not allow_empty:
        raise CLIError(f"{what}: '{path}' has a header but no rows.")
    return frame


def data_line(i: int) -> int:
    """The file line of data row ``i`` (0-based, header on line 1, no quoted line breaks)."""
    return int(i) + 2


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


# ------------------------------------------------------------------------------------ writing
def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output_path(path: str | os.PathLike[str], option: str = "--output",
                      inputs: Sequence[str | os.PathLike[str]] = ()) -> Path:
    """Check, before any work, that ``path`` can take a new output file; return it.

    Refused: a path equal to one of ``inputs`` (compared resolved, through symbolic links, and as
    the same file); an existing path that is not a regular file (a symbolic link, folder, device
    or fifo); a path under a file, in a folder that does not exist, is not writable, or is in
    ``/proc``, ``/sys`` or ``/dev``.
    """
    out = Path(path)
    if str(path).strip() == "":
        raise CLIError(f"{option}: give a file name.")
    for inp in inputs:
        if Path(inp).exists() and _same_file(out, Path(inp)):
            raise CLIError(f"{option}: '{out}' is also an input ('{inp}'); write the output to another file.")
    if os.path.lexists(out):
        mode = os.lstat(out).st_mode
        if stat.S_ISLNK(mode):
            raise CLIError(f"{option}: '{out}' is a symbolic link; incidentml replaces only regular files. Give "
                           "the path of the file itself, or another name.")
        if stat.S_ISDIR(mode):
            raise CLIError(f"{option}: '{out}' is a folder; give a file name.")
        if not stat.S_ISREG(mode):
            raise CLIError(f"{option}: '{out}' exists and is not a regular file (a device, fifo or socket); "
                           "incidentml replaces only regular files.")
    parent = out.parent
    resolved = parent.resolve()
    if any(str(resolved) == v or str(resolved).startswith(v + "/") for v in _VIRTUAL):
        raise CLIError(f"{option}: '{out}' is in {resolved}, a virtual file system; write to a regular folder.")
    if not parent.exists():
        for up in [parent, *parent.parents]:
            if up.exists() and not up.is_dir():
                raise CLIError(f"{option}: '{out}' is under '{up}', which is a file, not a folder.")
        raise CLIError(f"{option}: folder '{parent}' does not exist. Create it first.")
    if not parent.is_dir():
        raise CLIError(f"{option}: '{out}' is under '{parent}', which is a file, not a folder.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CLIError(f"{option}: folder '{parent}' is not writable.")
    return out


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], option: str = "--output", *,
                  encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text file handle on a temporary file beside ``path``, renamed over it when the block succeeds.

    The data is flushed and fsynced before the rename, so ``path`` holds the previous file or
    the whole new one, whatever happens (an error, a full disk, kill -9). A failure to write is
    a :class:`CLIError` naming ``path``; the temporary file is removed.
    """
    out = Path(path)
    folder = out.parent if str(out.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CLIError(f"{option}: cannot create a file in '{folder}' ({exc.strerror}).") from None
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            reason = "no space left on the device"
        raise CLIError(f"{option}: cannot write '{out}' ({reason}); the previous file, if any, is unchanged.") \
            from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(folder)


def write_output_text(path: str | os.PathLike[str], text: str, option: str = "--output", *,
                      encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_output`)."""
    with atomic_output(path, option, encoding=encoding) as fh:
        fh.write(text)
    return Path(path)


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
    """Serialise ``obj`` (NaN and inf become null) and write it to ``path`` atomically when given."""
    text = json.dumps(_clean(obj), indent=2, sort_keys=False)
    if path is not None:
        write_output_text(check_output_path(path, "--json"), text + "\n", "--json")
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
