"""Reading and writing long-format tables in bounded memory: CSV and Parquet, one file or a glob.

Inputs are read chunk by chunk (Parquet record batches through pyarrow, CSV through pandas'
``chunksize``), so a job's memory depends on the chunk size, not on the input's size. Outputs are
written to a temporary file beside the target and renamed over it at the end: a job killed while
writing leaves the previous output (or none), never a truncated file that looks complete.
"""

from __future__ import annotations

import glob
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from ..exceptions import DataError, SchemaError

__all__ = ["FrameWriter", "expand_inputs", "iter_chunks", "require_pyarrow"]

#: Rows per chunk read from an input (about 100 MB of a three-column long frame).
DEFAULT_CHUNK_ROWS = 2_000_000


def require_pyarrow() -> Any:
    """Import pyarrow, or fail naming the extra that brings it."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("Parquet needs pyarrow: pip install 'incidentml[fleet]' (or pip install pyarrow).") from None
    return pyarrow


def _kind(path: str | Path) -> str:
    name = str(path).lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".txt")):
        return "csv"
    raise DataError(f"'{path}': give a .csv or .parquet file (the format is read from the extension).")


def expand_inputs(spec: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The input files named by a path, a glob (``data/*.parquet``), a folder, or a list of them.

    Parameters
    ----------
    spec : path-like, glob or sequence of them
        What to read; folders give their files (not hidden ones), globs may use ``**``.

    Returns
    -------
    list of pathlib.Path
        The files, all CSV or all Parquet.

    Examples
    --------
    >>> expand_inputs("no/such/*.csv")
    Traceback (most recent call last):
    ...
    incidentml.exceptions.DataError: --input: 'no/such/*.csv' matches no file. Check the path or the glob.
    """
    specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    files: list[Path] = []
    for s in specs:
        s = str(s)
        p = Path(s)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith((".", "_")))
        elif any(ch in s for ch in "*?["):
            found = sorted(Path(q) for q in glob.glob(s, recursive=True) if Path(q).is_file())
        else:
            found = [p] if p.is_file() else []
        if not found:
            raise DataError(f"--input: '{s}' matches no file. Check the path or the glob.")
        files += found
    kinds = {_kind(f) for f in files}
    if len(kinds) > 1:
        raise DataError(f"--input: mixes CSV and Parquet files ({', '.join(str(f) for f in files[:4])}...); "
                        "give one format.")
    return files


def _bar(total: int | None, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rows", unit_scale=True, leave=False,
                disable=None if sys.stderr.isatty() else True)


def iter_chunks(files: Sequence[Path], columns: Sequence[str], *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                categorical: Sequence[str] = ()) -> Iterator[pd.DataFrame]:
    """Yield the ``columns`` of every file, ``chunk_rows`` rows at a time, file after file.

    Parquet ``categorical`` columns (series and entity names) are read dictionary-encoded, as
    pandas categoricals: cheap to group by, and written back as compactly.

    Parameters
    ----------
    files : sequence of pathlib.Path
        CSV or Parquet files (see :func:`expand_inputs`).
    columns : sequence of str
        The columns to read; every file must have them.
    chunk_rows : int, default=2_000_000
        Rows per chunk.
    categorical : sequence of str, default=()
        Parquet columns to read as pandas categoricals.

    Yields
    ------
    pandas.DataFrame
        At most ``chunk_rows`` rows with ``columns``, in file order.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "fleet.csv")
    ...     pd.DataFrame({"series_id": ["a"] * 5, "timestamp": range(5), "value": 1.0}).to_csv(path, index=False)
    ...     print([len(c) for c in iter_chunks(expand_inputs(path), ["series_id", "value"], chunk_rows=2)])
    [2, 2, 1]
    """
    for f in files:
        if _kind(f) == "parquet":
            pa = require_pyarrow()
            try:
                names = pa.parquet.read_schema(f).names
                missing = [c for c in columns if c not in names]
                if missing:
                    raise SchemaError(f"--input: '{f}' has no column {missing[0]!r} (columns: "
                                      f"{', '.join(map(repr, names[:12]))}). Name it with the options.")
                pf = pa.parquet.ParquetFile(f, read_dictionary=[c for c in categorical if c in names])
            except (OSError, pa.ArrowInvalid) as exc:
                raise DataError(f"--input: '{f}' is not a readable Parquet file ({exc}).") from None
            bar = _bar(pf.metadata.num_rows, f.name)
            with bar:
                for batch in pf.iter_batches(batch_size=chunk_rows, columns=list(columns)):
                    chunk = batch.to_pandas()
                    bar.update(len(chunk))
                    yield chunk
        else:
            head = pd.read_csv(f, nrows=0)
            missing = [c for c in columns if c not in head.columns]
            if missing:
                raise SchemaError(f"--input: '{f}' has no column {missing[0]!r} (columns: "
                                  f"{', '.join(map(repr, list(head.columns)[:12]))}). Check the delimiter, or name "
                                  "it with the options.")
            bar = _bar(None, f.name)
            with bar:
                for chunk in pd.read_csv(f, usecols=list(columns), chunksize=chunk_rows, keep_default_na=False,
                                         na_values=[""], low_memory=False):
                    bar.update(len(chunk))
                    yield chunk[list(columns)]


class FrameWriter:
    """Write DataFrames chunk by chunk to one CSV or Parquet file, atomically.

    Use as a context manager: the file appears (renamed over ``path``) only when the block ends
    without an error; otherwise the temporary file is removed and ``path`` is left untouched.
    ``inputs`` are refused as the output, so a job never writes over what it reads.

    Parameters
    ----------
    path : path-like
        The output, ``.csv`` or ``.parquet``; its folder must exist.
    inputs : sequence of pathlib.Path, default=()
        The job's inputs, which ``path`` must not be.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "scores.csv")
    ...     with FrameWriter(path) as out:
    ...         out.write(pd.DataFrame({"series_id": ["a"], "score": [0.1]}))
    ...         out.write(pd.DataFrame({"series_id": ["b"], "score": [0.7]}))
    ...         print(os.path.exists(path))  # not before the block ends
    ...     print(out.rows, pd.read_csv(path)["series_id"].tolist())
    False
    2 ['a', 'b']
    """

    def __init__(self, path: str | os.PathLike[str], *, inputs: Sequence[Path] = ()) -> None:
        self.path = Path(path)
        self.kind = _kind(self.path)
        if not self.path.parent.exists():
            raise DataError(f"--output: folder '{self.path.parent}' does not exist. Create it first.")
        if self.path.is_dir():
            raise DataError(f"--output: '{self.path}' is a folder; give a file name ending in .csv or .parquet.")
        target = self.path.resolve()
        if any(target == Path(i).resolve() for i in inputs):
            raise DataError(f"--output: '{self.path}' is also an input; write the results to another file.")
        self.rows = 0
        self._tmp: str | None = None
        self._writer: Any = None
        self._schema: Any = None

    def __enter__(self) -> FrameWriter:
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        os.close(fd)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append one chunk (all chunks must have the same columns).

        Parameters
        ----------
        frame : pandas.DataFrame
            The chunk.

        Examples
        --------
        >>> import os, tempfile
        >>> import pandas as pd
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     with FrameWriter(os.path.join(tmp, "out.parquet")) as out:
        ...         for i in range(3):
        ...             out.write(pd.DataFrame({"value": [float(i)]}))
        ...     print(out.rows, pd.read_parquet(os.path.join(tmp, "out.parquet"))["value"].tolist())
        3 [0.0, 1.0, 2.0]
        """
        if self._tmp is None:
            raise RuntimeError("FrameWriter.write outside its 'with' block")
        if self.kind == "parquet":
            pa = require_pyarrow()
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                # categorical keys (read dictionary-encoded) are written back as their plain values
                self._schema = pa.schema([pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type)
                                                   else f.type) for f in table.schema])
                table = table.cast(self._schema)
                self._writer = pa.parquet.ParquetWriter(self._tmp, self._schema)
            elif table.schema != self._schema:
                table = table.cast(self._schema)
            self._writer.write_table(table)
        else:
            frame.to_csv(self._tmp, mode="a", header=self.rows == 0, index=False)
        self.rows += len(frame)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        tmp, self._tmp = self._tmp, None
        assert tmp is not None
        try:
            if self._writer is not None:
                self._writer.close()
            if exc_type is None:
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
        finally:
            Path(tmp).unlink(missing_ok=True)
