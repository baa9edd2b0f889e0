"""Writing a table that arrives in chunks (the atlas) to CSV or Parquet, atomically.

Each chunk is written as it arrives and then dropped, so memory is bounded by one chunk.
The file appears at its path only when the last chunk is written (a temporary file in the
same folder, renamed at the end; deleted on any error or interruption), like every other
export (:mod:`recommender.io.atomic`).

CSV always works and is byte-identical for identical inputs (the same writer as
:func:`recommender.io.export.to_csv`). Parquet needs the optional ``pyarrow`` package
(``pip install "sistercity[parquet]"``): it is not a dependency because importing it
slows every start of the command line.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> parts = [pd.DataFrame({"a": [1, 2]}), pd.DataFrame({"a": [3]})]
>>> write_chunks(iter(parts), target)
3
>>> target.read_text()
'a\\n1\\n2\\n3\\n'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from recommender.errors import OutputError
from recommender.io.atomic import atomic_writer, check_target
from recommender.io.export import to_csv

STREAM_FORMATS = ("csv", "parquet")


def stream_format(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """``csv`` or ``parquet``, from ``fmt`` or the file's extension; else an error."""
    if fmt is None:
        suffix = Path(path).suffix.lower().lstrip(".")
        fmt = {"pq": "parquet"}.get(suffix, suffix)
    if fmt not in STREAM_FORMATS:
        raise OutputError(
            f'cannot write "{path}" as {fmt or "(no extension)"}; the atlas writes '
            f"{' or '.join(STREAM_FORMATS)} (.csv, .parquet)"
        )
    if fmt == "parquet":
        _pyarrow()
    return fmt


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise OutputError(
            'Parquet output needs pyarrow: pip install "sistercity[parquet]", or write .csv'
        ) from None
    return pyarrow, pyarrow.parquet


def write_chunks(
    chunks: Iterable[pd.DataFrame],
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    force: bool = False,
) -> int:
    """Write the chunks (same columns each) to one file; return the number of rows.

    Raises
    ------
    OutputError
        Unknown format, Parquet without pyarrow, an existing file without ``force``, a
        missing or unwritable folder, or no rows at all; nothing is left at ``path``.
    """
    target = Path(path).expanduser()
    fmt = stream_format(target, fmt)
    check_target(target, force)
    rows = 0
    with atomic_writer(target, force=force) as fh:
        if fmt == "csv":
            header = True
            for chunk in chunks:
                if not len(chunk):
                    continue
                text = to_csv(chunk)
                if not header:
                    text = text.split("\n", 1)[1]
                fh.write(text.encode("utf-8"))
                header = False
                rows += len(chunk)
        else:
            pa, pq = _pyarrow()
            writer = None
            try:
                for chunk in chunks:
                    if not len(chunk):
                        continue
                    table = pa.Table.from_pandas(chunk, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(fh, table.schema)
                    writer.write_table(table.cast(writer.schema))
                    rows += len(chunk)
            finally:
                if writer is not None:
                    writer.close()
        if rows == 0:
            raise OutputError(f'nothing to write: no rows, so "{target}" was not created')
    return rows


__all__ = ["STREAM_FORMATS", "stream_format", "write_chunks"]
