"""Writing output files safely: a temporary file in the same folder, fsynced, then renamed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_text"]


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` so that a reader sees the old file or the whole new one, never a part.

    The text goes to a temporary file beside ``path`` (same folder, so the rename stays on one
    file system), is flushed and fsynced, then renamed over ``path``. If anything fails, or the
    process is killed, the previous file is left as it was and the temporary file is removed
    (or, after a kill, left as a hidden ``.NAME.*.tmp`` file beside it).

    Parameters
    ----------
    path : str or path-like
        The file to write; its folder must exist.
    text : str
        The whole content.
    encoding : str, default="utf-8"
        Encoding of the file.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = atomic_write_text(pathlib.Path(d) / "notes.txt", "first\\n")
    ...     _ = atomic_write_text(out, "second\\n")
    ...     out.read_text(), sorted(p.name for p in out.parent.iterdir())
    ('second\\n', ['notes.txt'])
    """
    out = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent if str(out.parent) else ".")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
