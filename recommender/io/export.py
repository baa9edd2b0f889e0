"""Writers for every table the library produces: terminal table, CSV, JSON, XLSX, Markdown, HTML.

The writers are generic over any :class:`pandas.DataFrame`, so shortlists, scenario
comparisons, batch output and partner tables all go through the same code. Metadata (local
city, scenario, method, filters, sources) is read from ``df.attrs`` and may be extended or
overridden with ``meta=``; the formats that can carry it (JSON, XLSX, Markdown, HTML) do.

Two guarantees matter to users:

* **Round trips.** CSV and JSON written here are read back by pandas as the same table
  (JSON exactly, including dtypes, via :func:`read_json_export`).
* **Atomic files.** :func:`write` never leaves a half-written file: it writes to a temporary
  file in the target folder, syncs it to disk and renames it over the target. It refuses to
  overwrite an existing file unless ``force=True``.

Output is deterministic: the same table and metadata give the same bytes (no timestamps
unless the caller puts one in ``meta``).

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"rank": [1, 2], "name": ["İzmir", "Đà Nẵng"], "score": [0.91, 0.875]})
>>> print(render(df, "table"))
rank  name     score
----  -------  -----
   1  İzmir    0.910
   2  Đà Nẵng  0.875
>>> print(render(df, "csv"), end="")
rank,name,score
1,İzmir,0.91
2,Đà Nẵng,0.875
"""

import contextlib
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from recommender.errors import DataValidationError, OutputError
from recommender.i18n import _, ngettext
from recommender.io.atomic import (  # noqa: F401  (re-exported: the writers' public API)
    _check_target,
    _commit,
    _exists_message,
    _fsync_dir,
    _output_error,
    atomic_writer,
    check_target,
)
from recommender.io.formatting import (  # noqa: F401  (re-exported)
    EXTENSIONS,
    FORMATS,
    LOCAL_KEYS,
    MISSING_TEXT,
    _format_float,
    _is_missing,
    _is_number_column,
    _json_scalar,
    _meta,
    _one_line,
    _pad,
    _prepare,
    _scenario,
    _text_columns,
    _truncate,
    check_format,
    display_width,
    format_cell,
    format_from_path,
    format_value,
    local_from_meta,
    neutralise_formula,
    neutralise_frame,
    title_from_meta,
    to_jsonable,
)

__all__ = [
    "FORMATS",
    "EXTENSIONS",
    "atomic_writer",
    "check_format",
    "display_width",
    "format_from_path",
    "format_value",
    "local_from_meta",
    "read_json_export",
    "render",
    "title_from_meta",
    "to_csv",
    "to_json",
    "to_jsonable",
    "to_markdown",
    "to_table",
    "to_xlsx",
    "write",
]


# ---------------------------------------------------------------------------------------
# Renderers
# ---------------------------------------------------------------------------------------


def to_table(
    df: pd.DataFrame, *, width: int | None = None, max_colwidth: int = 40, min_colwidth: int = 6
) -> str:
    """A fixed-width plain-text table for the terminal (no trailing newline).

    Numbers are right-aligned and never cut. Text columns are cut to ``max_colwidth``
    cells with ``…``; if ``width`` is given, the widest text columns shrink (down to
    ``min_colwidth``) until the table fits, and columns that still do not fit are left out
    and listed in a last line.

    Parameters
    ----------
    df : DataFrame
    width : int, optional
        Total width available, e.g. ``shutil.get_terminal_size().columns``. ``None``
        means no limit (the default, so output does not depend on the terminal).
    max_colwidth, min_colwidth : int
        Bounds on the width of a text column.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"name": ["Surabaya"], "why": ["richer partner, similar size"]})
    >>> print(to_table(df, width=24))
    name      why
    --------  --------------
    Surabaya  richer partne…
    """
    df = _prepare(df)
    headers, cells, numeric = _text_columns(df)
    gap = 2
    widths = []
    for h, col, num in zip(headers, cells, numeric, strict=True):
        natural = max([display_width(h), *(display_width(c) for c in col)])
        widths.append(natural if num else min(natural, max(max_colwidth, 1)))

    shown = list(range(len(headers)))
    if width is not None:
        widths = _fit_widths(widths, numeric, width, gap, min_colwidth, shown)

    lines = []
    sep = " " * gap
    lines.append(
        sep.join(_pad(_truncate(headers[j], widths[j]), widths[j], numeric[j]) for j in shown)
    )
    lines.append(sep.join("-" * widths[j] for j in shown))
    for i in range(len(df)):
        lines.append(
            sep.join(_pad(_truncate(cells[j][i], widths[j]), widths[j], numeric[j]) for j in shown)
        )
    if len(df) == 0:
        lines.append(_("(no rows)"))
    hidden = [headers[j] for j in range(len(headers)) if j not in shown]
    if hidden:
        note = ngettext(
            "({n} more column: {names})", "({n} more columns: {names})", len(hidden)
        ).format(n=len(hidden), names=", ".join(hidden))
        lines.append(_truncate(note, width) if width else note)
    return "\n".join(line.rstrip() for line in lines)


def _fit_widths(
    natural: list[int], numeric: list[bool], width: int, gap: int, floor: int, shown: list[int]
) -> list[int]:
    """Fit columns into ``width``: shrink text, then drop trailing columns, then regrow.

    Shrinking every text column to a stub would make a wide table unreadable, so text
    columns only shrink to a comfortable width (12 cells) before trailing columns are
    left out; the space freed is then given back to the shrunk columns, left first.
    ``shown`` is updated in place.
    """
    widths = list(natural)

    def total() -> int:
        return sum(widths[j] for j in shown) + gap * (len(shown) - 1)

    def shrink(limit: int) -> None:
        while total() > width:
            candidates = [j for j in shown if not numeric[j] and widths[j] > limit]
            if not candidates:
                return
            j = max(candidates, key=lambda k: (widths[k], -k))
            widths[j] -= min(widths[j] - limit, total() - width)

    shrink(max(floor, 12))
    while total() > width and len(shown) > 1:
        shown.pop()
    shrink(floor)
    for j in shown:
        room = width - total()
        if room <= 0:
            break
        widths[j] = min(natural[j], widths[j] + room)
    return widths


def to_csv(df: pd.DataFrame) -> str:
    """CSV text: UTF-8 (encoded by :func:`write`), header row, no index, ``\\n`` line ends.

    Floats are written with their shortest exact representation, so ``pandas.read_csv``
    returns the same numbers. A missing value is an empty field, which CSV cannot tell
    apart from an empty string; use JSON when that distinction matters. Text that a
    spreadsheet could run as a formula (``=``, ``+``, ``-``, ``@``, ...), headers included,
    gets a leading ``'`` (:func:`~recommender.io.formatting.neutralise_formula`).

    Examples
    --------
    >>> import pandas as pd
    >>> print(to_csv(pd.DataFrame({"a": [0.1 + 0.2], "b": [True]})), end="")
    a,b
    0.30000000000000004,True
    """
    return neutralise_frame(_prepare(df)).to_csv(index=False, lineterminator="\n")


def to_json(df: pd.DataFrame, *, meta: Mapping[str, Any] | None = None) -> str:
    """JSON text: an array with one object per row, keys in column order (snake_case).

    ``pandas.read_json`` reads the file back as the same table (integers, floats, booleans
    and text; ``NaN`` <-> ``null``). Infinite floats, which JSON lacks, are written as the
    strings ``"inf"`` / ``"-inf"``. The metadata (local city, scenario, filters) is not part
    of the array: the XLSX Settings sheet and the Markdown heading carry it; ``meta`` is
    accepted for a uniform signature.

    Examples
    --------
    >>> import io, pandas as pd
    >>> df = pd.DataFrame({"city_id": [1, 2], "hdi": [float("nan"), 0.8]})
    >>> text = to_json(df)
    >>> print(text, end="")
    [
      {"city_id": 1, "hdi": null},
      {"city_id": 2, "hdi": 0.8}
    ]
    >>> pd.read_json(io.StringIO(text)).equals(df)
    True
    """
    del meta  # carried by the human formats; see the docstring
    df = _prepare(df)
    names = [str(c) for c in df.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise OutputError(
            f"Cannot write JSON: duplicate column name(s) {', '.join(duplicated)}; rename them"
        )
    columns = [_json_scalar_list(df.iloc[:, j].tolist()) for j in range(df.shape[1])]
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    if not rows:
        return "[]\n"
    # One line per row: diffable and readable, still plain JSON.
    body = ",\n".join("  " + json.dumps(r, ensure_ascii=False, allow_nan=False) for r in rows)
    return "[\n" + body + "\n]\n"


def _json_scalar_list(values: list[Any]) -> list[Any]:
    return [_json_scalar(v) for v in values]


def read_json_export(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a file written by :func:`to_json` back into a DataFrame.

    Reads the array of rows (what ``pandas.read_json`` reads too) and the earlier layout
    ``{"meta", "columns", "rows"}``, whose dtypes and metadata it restores exactly.

    Raises
    ------
    DataValidationError
        The file is not JSON or not a sistercity export.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> df = pd.DataFrame({"rank": [1, 2], "ok": [True, False], "x": [0.5, float("nan")]})
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.json"
    >>> _ = write(df, p)
    >>> read_json_export(p).equals(df)
    True
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataValidationError(f'Cannot read JSON export "{path}": {exc}') from None
    if isinstance(doc, list) and all(isinstance(r, dict) for r in doc):
        names = list(dict.fromkeys(k for row in doc for k in row))
        if not doc:
            return pd.DataFrame()
        return pd.read_json(io.StringIO(json.dumps(doc)), orient="records")[names]
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise DataValidationError(
            f'"{path}" is not a sistercity JSON export: expected an array of rows'
        )
    schema = doc.get("columns") or []
    names = [c["name"] for c in schema] or list(
        dict.fromkeys(k for row in doc["rows"] for k in row)
    )
    df = pd.DataFrame.from_records(doc["rows"], columns=names)
    if not doc["rows"]:
        df = pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    for col in schema:
        name, dtype = col["name"], col.get("dtype")
        if not dtype or str(df[name].dtype) == dtype:
            continue
        # A failed cast keeps pandas' own inference rather than failing the whole read.
        with contextlib.suppress(TypeError, ValueError):
            if dtype.startswith("datetime64"):
                df[name] = pd.to_datetime(df[name]).astype(dtype)
            elif dtype != "object":
                df[name] = df[name].astype(dtype)
    df.attrs = dict(doc.get("meta") or {})
    return df


def to_xlsx(
    df: pd.DataFrame, *, meta: Mapping[str, Any] | None = None, sheet_name: str | None = None
) -> bytes:
    """A memo-ready Excel workbook: the table, then Glossary, Sources and Settings sheets.

    Human headers in the language in force over the full-precision values, rounded display
    formats, a frozen and filterable header row, fitted widths; text is formula-safe; the
    bytes are deterministic. See :mod:`recommender.io.workbook`.

    Examples
    --------
    >>> import io, openpyxl, pandas as pd
    >>> from recommender.i18n import language
    >>> with language("en"):
    ...     data = to_xlsx(pd.DataFrame({"rank": [1], "name": ["Đà Nẵng"]}))
    >>> wb = openpyxl.load_workbook(io.BytesIO(data))
    >>> wb.sheetnames, wb["Shortlist"]["B2"].value
    (['Shortlist', 'Glossary', 'Sources', 'Settings'], 'Đà Nẵng')
    """
    from recommender.io.workbook import workbook

    return workbook([(sheet_name or _("Shortlist"), df, {})], meta=meta)


def _md_cell(text: str) -> str:
    # "\|" is GitHub's escape for a pipe inside a table cell; <br> keeps line breaks.
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def to_markdown(
    df: pd.DataFrame,
    *,
    meta: Mapping[str, Any] | None = None,
    human: bool = True,
    headers: Mapping[str, str] | None = None,
) -> str:
    """A GitHub-flavoured Markdown table, with a heading line from the metadata if any.

    Headers are human (:func:`recommender.i18n.column_label`, or ``headers``) and data levels
    and indicator classes read as words in the language in force unless ``human=False``.
    Numbers are right-aligned and rounded as in :func:`format_value` (years as years); pipes
    in cells are escaped (``\\|``) and line breaks become ``<br>``. Columns are padded so
    the raw text also reads as a table.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"rank": [1], "name": ["A|B"]})
    >>> print(to_markdown(df, meta={"title": "Partners"}), end="")
    ## Partners
    <BLANKLINE>
    | Rank | City |
    | ---: | :--- |
    |    1 | A\\|B |
    """
    from recommender.i18n import column_label
    from recommender.io.workbook import display_cell

    plain_meta = _meta(df, meta)
    df = _prepare(df)
    names = [str(c) for c in df.columns]
    given = dict(headers or {})
    shown = [given.get(n, column_label(n) if human else n) for n in names]
    head = [_md_cell(h) for h in shown]
    cells, numeric = [], []
    for j in range(df.shape[1]):
        series = df.iloc[:, j]
        name = names[j]
        values = [display_cell(name, v) for v in series.tolist()] if human else series.tolist()
        cells.append([_md_cell(format_cell(name, v)) for v in values])
        numeric.append(_is_number_column(series))
    widths = [
        max([3, display_width(h), *(display_width(c) for c in col)])
        for h, col in zip(head, cells, strict=True)
    ]

    def line(parts: list[str]) -> str:
        return "| " + " | ".join(parts) + " |"

    out = []
    title = title_from_meta(plain_meta)
    if title:
        out += [f"## {_one_line(title)}", ""]
    out.append(line([_pad(h, w, False) for h, w in zip(head, widths, strict=True)]))
    out.append(
        line(
            [
                "-" * (w - 1) + ":" if num else ":" + "-" * (w - 1)
                for w, num in zip(widths, numeric, strict=True)
            ]
        )
    )
    for i in range(len(df)):
        out.append(line([_pad(cells[j][i], widths[j], numeric[j]) for j in range(len(head))]))
    return "\n".join(out) + "\n"


def render(
    df: pd.DataFrame,
    fmt: str,
    *,
    meta: Mapping[str, Any] | None = None,
    width: int | None = None,
) -> str | bytes:
    """Render a table in one of :data:`FORMATS`.

    Parameters
    ----------
    df : DataFrame
        Any table; its ``attrs`` are used as metadata.
    fmt : str
        ``"table"``, ``"csv"``, ``"json"``, ``"xlsx"``, ``"md"`` or ``"html"``.
    meta : mapping, optional
        Metadata added to (and overriding) ``df.attrs``: ``title``, ``local``,
        ``scenario``, ``method``, ``filters``, ``sources``, ...
    width : int, optional
        Only for ``"table"``: the total width to fit.

    Returns
    -------
    str or bytes
        ``bytes`` for ``"xlsx"``, text otherwise.

    Examples
    --------
    >>> import pandas as pd
    >>> render(pd.DataFrame({"a": [1]}), "json").startswith("[")
    True
    """
    fmt = check_format(fmt)
    if fmt == "table":
        return to_table(df, width=width)
    if fmt == "csv":
        return to_csv(df)
    if fmt == "json":
        return to_json(df, meta=meta)
    if fmt == "xlsx":
        return to_xlsx(df, meta=meta)
    if fmt == "md":
        return to_markdown(df, meta=meta)
    from recommender.io.report import html_report  # the HTML page is rarely asked for

    return html_report(df, meta=meta)


def write(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    force: bool = False,
    meta: Mapping[str, Any] | None = None,
) -> Path:
    """Write a table to a file atomically, in the format its extension names.

    Parameters
    ----------
    df : DataFrame
        The table; must have at least one row and one column.
    path : str or path-like
        The output file; ``~`` is expanded.
    fmt : str, optional
        One of :data:`FORMATS`; inferred from the extension by default.
    force : bool
        Overwrite an existing file.
    meta : mapping, optional
        Metadata added to ``df.attrs`` (see :func:`render`).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    OutputError
        Unknown format, empty table, existing file without ``force``, missing or
        unwritable folder; nothing is created in any of these cases.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write(pd.DataFrame({"a": [1]}), folder / "a.csv").read_text()
    'a\\n1\\n'
    """
    target = Path(path).expanduser()
    fmt = format_from_path(target) if fmt is None else check_format(fmt)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise OutputError(f'nothing to write: the table is empty, so "{target}" was not created')
    _check_target(target, force)
    # Render before touching the disk, so a rendering error never creates anything.
    data = render(df, fmt, meta=meta)
    if isinstance(data, str):
        data = (data if data.endswith("\n") else data + "\n").encode("utf-8")
    with atomic_writer(target, force=force) as handle:
        handle.write(data)
    return target
