"""Reading the CSV files users pass, as Excel writes them in any locale.

Excel in an Indonesian (or most European) locale saves "CSV" with ``;`` between fields and
``,`` as the decimal mark (``279,2``; thousands ``2.546.452``), often in the Windows code page
rather than UTF-8, sometimes with a byte-order mark. :func:`read_user_csv` detects the
separator from the header line and the encoding from the bytes, and records the decimal mark
in ``df.attrs["decimal"]`` for :func:`parse_number`.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from recommender.errors import DataValidationError

DELIMITERS = (",", ";", "\t")


def sniff_delimiter(text: str) -> str:
    """The field separator of a CSV text: the one of ``, ; TAB`` most used in its header.

    Separators inside quotes do not count; a tie (or a one-column file) means ``,``.

    Examples
    --------
    >>> sniff_delimiter("name;country;population\\nMedan;ID;2.546.452\\n")
    ';'
    >>> sniff_delimiter('name,note\\n"a; b",x\\n')
    ','
    """
    header = next((line for line in text.splitlines() if line.strip()), "")
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _decode(data: bytes, label: str) -> str:
    for encoding in (
        ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",)
    ):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    try:
        # Excel's "CSV" on Windows: the ANSI code page (cp1252 in Indonesian and Western locales)
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise DataValidationError(
            f'"{label}" is neither UTF-8 nor Windows-1252 text; save it as "CSV UTF-8" in Excel'
        ) from None


def read_user_csv(path: str | Path, what: str = "File") -> pd.DataFrame:
    """A user's CSV as a table of strings, whatever the separator and encoding.

    Parameters
    ----------
    path : str or path-like
    what : str
        How messages name the file (``"City file"``, ``"City list"``).

    Returns
    -------
    DataFrame
        All cells as stripped strings (empty string for an empty cell); ``attrs`` holds
        ``delimiter`` and ``decimal`` (``","`` when the separator is ``;``).

    Raises
    ------
    DataValidationError
        Not found, not text, or not parseable as CSV (the message names the file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "kota.csv"
    >>> _ = p.write_bytes("name;country;area_km2\\r\\nMedan;ID;279,2\\r\\n".encode("cp1252"))
    >>> df = read_user_csv(p)
    >>> df.to_dict("records"), df.attrs["decimal"]
    ([{'name': 'Medan', 'country': 'ID', 'area_km2': '279,2'}], ',')
    """
    p = Path(path)
    label = p.name
    if not p.is_file():
        raise DataValidationError(f'{what} "{path}" not found')
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DataValidationError(f'{what} "{label}" cannot be read: {exc.strerror}') from None
    text = _decode(data, label)
    if not text.strip():
        raise DataValidationError(f'{what} "{label}" is empty')
    delimiter = sniff_delimiter(text)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "empty file"
        raise DataValidationError(f'{what} "{label}" is not a readable CSV: {first}') from None
    df.columns = [str(c).strip() for c in df.columns]
    df = df.apply(lambda s: s.str.strip())
    df.attrs["delimiter"] = delimiter
    df.attrs["decimal"] = "," if delimiter == ";" else "."
    return df


def parse_number(cell: str, decimal: str = ".") -> float:
    """A number as written in a CSV cell, with ``decimal`` as the decimal mark.

    With ``","`` (semicolon CSVs), dots and spaces group thousands; with ``"."``, commas do.

    Raises
    ------
    ValueError
        The cell is not a number.

    Examples
    --------
    >>> parse_number("2.546.452", ","), parse_number("279,2", ","), parse_number("2,546,452")
    (2546452.0, 279.2, 2546452.0)
    """
    text = str(cell).strip().replace("\u00a0", "").replace(" ", "")
    if decimal == ",":
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    return float(text)


__all__ = ["parse_number", "read_user_csv", "sniff_delimiter"]
