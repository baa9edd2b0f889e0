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

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
import math
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from recommender.errors import DataValidationError, OutputError

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

FORMATS: tuple[str, ...] = ("table", "csv", "json", "xlsx", "md", "html")
"""Every output format :func:`render` and :func:`write` understand."""

EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".json": "json",
    ".xlsx": "xlsx",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
}
"""File extension (lower case) → format, used by :func:`format_from_path`."""

_FORMAT_ALIASES = {"markdown": "md", "htm": "html", "txt": "table", "text": "table"}

MISSING_TEXT = "n/a"
"""How a missing value reads in the human formats (table, Markdown, HTML)."""

# ---------------------------------------------------------------------------------------
# Format names
# ---------------------------------------------------------------------------------------


def format_from_path(path: str | os.PathLike[str]) -> str:
    """Infer the output format from a file name's extension.

    Parameters
    ----------
    path : str or path-like
        The output file name; only its extension is used (case-insensitive).

    Returns
    -------
    str
        One of :data:`FORMATS` (never ``"table"``, which has no file extension).

    Raises
    ------
    OutputError
        The extension is missing or unknown; the message names it and the allowed ones.

    Examples
    --------
    >>> format_from_path("medan.XLSX")
    'xlsx'
    >>> format_from_path("report.htm")
    'html'
    """
    suffix = Path(path).suffix
    allowed = ", ".join(EXTENSIONS)
    if not suffix:
        raise OutputError(
            f'Cannot tell the output format of "{path}": it has no extension; use one of {allowed}'
        )
    try:
        return EXTENSIONS[suffix.lower()]
    except KeyError:
        raise OutputError(
            f'Unknown output extension "{suffix}" in "{path}"; allowed: {allowed}'
        ) from None


def check_format(fmt: str) -> str:
    """Validate a format name and return its canonical spelling.

    Examples
    --------
    >>> check_format("Markdown")
    'md'
    """
    if not isinstance(fmt, str):
        raise OutputError(f"Output format must be a string; allowed: {', '.join(FORMATS)}")
    name = fmt.strip().lower().lstrip(".")
    name = _FORMAT_ALIASES.get(name, name)
    if name not in FORMATS:
        raise OutputError(f'Unknown output format "{fmt}"; allowed: {", ".join(FORMATS)}')
    return name


# ---------------------------------------------------------------------------------------
# Values: JSON-safe conversion and human-readable formatting
# ---------------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    return False


def _json_scalar(value: Any) -> Any:
    """One cell as a JSON value: NaN → null; ±inf → "inf"/"-inf" (JSON has no infinity)."""
    if _is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, (np.timedelta64, pd.Timedelta, dt.timedelta)):
        return str(pd.Timedelta(value))
    if isinstance(value, np.generic):
        return (
            _json_scalar(value.item()) if not isinstance(value.item(), np.generic) else str(value)
        )
    return to_jsonable(value)


def to_jsonable(obj: Any) -> Any:
    """Convert metadata (``df.attrs``, scenario objects, numpy values) to plain JSON types.

    Mappings keep their insertion order (keys become strings), sets are sorted so the output
    is deterministic, numpy scalars become Python numbers, missing values become ``None``,
    dates become ISO 8601 strings, Series become mappings and DataFrames lists of records.
    Anything else falls back to ``str(obj)``.

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"k": np.int64(3), "w": (0.5, float("nan")), "s": {"b", "a"}})
    {'k': 3, 'w': [0.5, None], 's': ['a', 'b']}
    """
    if _is_missing(obj):
        return None
    if isinstance(obj, (str, bool, int, float, np.generic, dt.timedelta)):
        return _json_scalar(obj)
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.Series):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, (set, frozenset)):
        return sorted((to_jsonable(v) for v in obj), key=lambda v: (str(type(v)), str(v)))
    if isinstance(obj, (list, tuple, np.ndarray, pd.Index)):
        return [to_jsonable(v) for v in list(obj)]
    if isinstance(obj, (pd.Timestamp, dt.datetime, dt.date, dt.time)):
        return obj.isoformat() if not _is_missing(obj) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    # An object's own to_dict() (e.g. Scenario) knows best what describes it.
    if hasattr(obj, "to_dict") and callable(obj.to_dict) and not isinstance(obj, type):
        with contextlib.suppress(Exception):
            return to_jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # Field by field rather than asdict(), which deep-copies and fails on mappingproxy.
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    return str(obj)


def _format_float(x: float) -> str:
    if math.isnan(x):
        return MISSING_TEXT
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax == 0:
        return "0"
    # Three significant digits is what a planner can compare at a glance; below 1 keep at
    # least three decimals so scores such as 0.873 and 0.870 stay distinguishable.
    decimals = 2 - math.floor(math.log10(ax))
    if ax < 1:
        decimals = max(3, decimals)
    return f"{x:.{min(decimals, 12)}f}"


def format_value(value: Any) -> str:
    """A cell as people read it in the table, Markdown and HTML formats.

    Missing values read ``n/a``, booleans ``yes`` / ``no``; integers are printed in full
    (they are ids, years and ranks), floats with three significant digits and thousands
    separators from 1,000 up.

    Examples
    --------
    >>> [format_value(v) for v in (0.87341, 12.345, 2435252.0, 7, True, None)]
    ['0.873', '12.3', '2,435,252', '7', 'yes', 'n/a']
    """
    if _is_missing(value):
        return MISSING_TEXT
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _format_float(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()
    plain = to_jsonable(value)
    if isinstance(plain, list):
        return ", ".join(
            f"({format_value(v)})" if isinstance(v, (list, dict)) else format_value(v)
            for v in plain
        )
    if isinstance(plain, dict):
        return "; ".join(f"{k}: {format_value(v)}" for k, v in plain.items())
    return format_value(plain) if not isinstance(plain, str) else plain


def _one_line(text: str) -> str:
    # Newlines and tabs would break the grid of a fixed-width or Markdown table.
    return " ".join(text.split()) if any(c in text for c in "\r\n\t") else text


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Terminal cells ``text`` occupies: CJK characters take two, combining marks none.

    Examples
    --------
    >>> display_width("Đà Nẵng"), display_width("東京")
    (7, 4)
    """
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def _truncate(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    out, used = [], 0
    for ch in text:
        w = _char_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


# ---------------------------------------------------------------------------------------
# Frames and metadata
# ---------------------------------------------------------------------------------------


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Flatten what the flat formats cannot hold.

    A named index (e.g. ``scenario`` in a comparison) carries information and becomes
    leading column(s); an unnamed index is a row counter and is dropped. MultiIndex
    columns are joined with spaces.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    out = df
    if any(name is not None for name in out.index.names):
        out = out.reset_index()
    if isinstance(out.columns, pd.MultiIndex):
        out = out.copy()
        out.columns = [
            " ".join(str(p) for p in parts if str(p) != "").strip() for parts in out.columns
        ]
    return out


def _meta(df: pd.DataFrame, meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """``df.attrs`` overlaid with the caller's ``meta``, as plain JSON types."""
    merged: dict[str, Any] = dict(df.attrs)
    if meta:
        merged.update(meta)
    return to_jsonable(merged)


LOCAL_KEYS = ("local_name", "local_city_id", "local_country_code", "local_values", "local_levels")
"""The flat ``df.attrs`` keys in which :func:`recommender.shortlist.recommend` describes the
local city; :func:`local_from_meta` folds them into one mapping."""


def local_from_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The local city as one mapping: ``name``, ``country_code``, ``<indicator>``, ``_level``...

    Accepts ``meta["local"]`` (or ``local_city``) as a mapping or a name, and the flat keys
    of :data:`LOCAL_KEYS` that ``recommend()`` puts in ``df.attrs``.

    Examples
    --------
    >>> local_from_meta({"local_name": "Medan", "local_values": {"hdi": 0.81},
    ...                  "local_levels": {"hdi": "city"}})
    {'name': 'Medan', 'hdi': 0.81, 'hdi_level': 'city'}
    """
    local = meta.get("local", meta.get("local_city"))
    out: dict[str, Any] = {}
    if isinstance(local, Mapping):
        out.update(local)
    elif local is not None and not isinstance(local, list) and str(local):
        out["name"] = str(local)
    for key, field in (
        ("local_name", "name"),
        ("local_city_id", "city_id"),
        ("local_country_code", "country_code"),
    ):
        if meta.get(key) not in (None, ""):
            out.setdefault(field, meta[key])
    values, levels = meta.get("local_values"), meta.get("local_levels")
    for name, value in values.items() if isinstance(values, Mapping) else ():
        out.setdefault(name, value)
    for name, level in levels.items() if isinstance(levels, Mapping) else ():
        out.setdefault(f"{name}_level", level)
    for key, suffix in (("local_sources", "_source"), ("local_years", "_year")):
        extra = meta.get(key)
        for name, value in extra.items() if isinstance(extra, Mapping) else ():
            out.setdefault(f"{name}{suffix}", value)
    return out


def _scenario(meta: Mapping[str, Any]) -> dict[str, Any]:
    scenario = meta.get("scenario")
    if isinstance(scenario, Mapping):
        return dict(scenario)
    if scenario is not None:
        return {"name": str(scenario)}
    return {}


def title_from_meta(meta: Mapping[str, Any]) -> str | None:
    """A one-line title: ``meta["title"]`` or one built from the local city and scenario.

    Examples
    --------
    >>> title_from_meta({"local": {"name": "Medan", "country_name": "Indonesia"},
    ...                  "scenario": "small-big"})
    'Sister-city partner shortlist for Medan, Indonesia, scenario small-big'
    >>> title_from_meta({}) is None
    True
    """
    if meta.get("title"):
        return str(meta["title"])
    local = local_from_meta(meta)
    scenario = _scenario(meta).get("name")
    if not local.get("name") and not scenario:
        return None
    title = "Sister-city partner shortlist"
    if local.get("name"):
        where = str(local["name"])
        if local.get("country_name"):
            where += f", {local['country_name']}"
        elif local.get("country_code"):
            where += f" ({local['country_code']})"
        title += f" for {where}"
    if scenario:
        title += f", scenario {scenario}"
    return title


# ---------------------------------------------------------------------------------------
# Renderers
# ---------------------------------------------------------------------------------------


def _is_number_column(series: pd.Series) -> bool:
    return is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype)


def _text_columns(df: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    headers = [_one_line(str(c)) for c in df.columns]
    cells, numeric = [], []
    for j in range(df.shape[1]):
        series = df.iloc[:, j]
        cells.append([_one_line(format_value(v)) for v in series.tolist()])
        numeric.append(_is_number_column(series))
    return headers, cells, numeric


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
        lines.append("(no rows)")
    hidden = [headers[j] for j in range(len(headers)) if j not in shown]
    if hidden:
        note = f"({len(hidden)} more column{'s' if len(hidden) > 1 else ''}: {', '.join(hidden)})"
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
    apart from an empty string; use JSON when that distinction matters.

    Examples
    --------
    >>> import pandas as pd
    >>> print(to_csv(pd.DataFrame({"a": [0.1 + 0.2], "b": [True]})), end="")
    a,b
    0.30000000000000004,True
    """
    return _prepare(df).to_csv(index=False, lineterminator="\n")


def to_json(df: pd.DataFrame, *, meta: Mapping[str, Any] | None = None) -> str:
    """JSON text: ``{"meta": {...}, "columns": [...], "rows": [{...}, ...]}``.

    ``rows`` is the records orientation (one object per row, keys in column order).
    ``columns`` records each column's name and dtype so :func:`read_json_export` can
    restore the exact table: integers stay integers, booleans booleans, ``NaN`` ↔ ``null``
    (infinite floats, which JSON lacks, are written as the strings ``"inf"``/``"-inf"``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"city_id": [1], "hdi": [float("nan")]})
    >>> text = to_json(df, meta={"scenario": "small-big"})
    >>> import json; json.loads(text)["rows"]
    [{'city_id': 1, 'hdi': None}]
    """
    df = _prepare(df)
    names = [str(c) for c in df.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise OutputError(
            f"Cannot write JSON: duplicate column name(s) {', '.join(duplicated)}; rename them"
        )
    columns = [_json_scalar_list(df.iloc[:, j].tolist()) for j in range(df.shape[1])]
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    schema = [{"name": n, "dtype": str(t)} for n, t in zip(names, df.dtypes.tolist(), strict=True)]

    def dumps(obj: Any) -> str:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False)

    # One line per column and per row: diffable and readable, still plain JSON.
    meta_text = json.dumps(_meta(df, meta), ensure_ascii=False, allow_nan=False, indent=2)
    lines = ["{", '  "meta": ' + meta_text.replace("\n", "\n  ") + ",", '  "columns": [']
    lines.append(",\n".join("    " + dumps(c) for c in schema))
    lines += ["  ],", '  "rows": [']
    lines.append(",\n".join("    " + dumps(r) for r in rows))
    lines += ["  ]", "}"]
    return "\n".join(line for line in lines if line) + "\n"


def _json_scalar_list(values: list[Any]) -> list[Any]:
    return [_json_scalar(v) for v in values]


def read_json_export(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a file written by :func:`to_json` back into the same DataFrame.

    The metadata is restored into ``df.attrs``.

    Raises
    ------
    DataValidationError
        The file is not JSON or lacks the ``rows`` list.

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
        raise DataValidationError(f'Cannot read JSON export "{path}": {exc}') from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise DataValidationError(
            f'"{path}" is not a sistercity JSON export: expected an object with a "rows" list'
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


_ILLEGAL_XLSX_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CORE_DATES = re.compile(rb"<dcterms:(created|modified)\b[^>]*>[^<]*</dcterms:\1>")


def _xlsx_value(value: Any) -> Any:
    if _is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        # Excel has no infinity; the text keeps the information visible.
        return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.isoformat()  # Excel dates cannot carry a time zone
    if isinstance(value, (dt.datetime, dt.date)):
        return value
    text = value if isinstance(value, str) else format_value(value)
    return _ILLEGAL_XLSX_CHARS.sub("", text)


def _flatten_meta(meta: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in meta.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows.extend(_flatten_meta(value, name + "."))
        elif isinstance(value, list):
            rows.append((name, "; ".join(format_value(v) for v in value)))
        else:
            rows.append((name, format_value(value) if value is not None else ""))
    return rows


def to_xlsx(
    df: pd.DataFrame, *, meta: Mapping[str, Any] | None = None, sheet_name: str = "shortlist"
) -> bytes:
    """An Excel workbook: the table on sheet ``sheet_name``, the metadata on sheet ``about``.

    The header row is bold, frozen and filterable; numbers and booleans are stored as
    such (missing values as empty cells); column widths follow the content. Text that
    starts with ``=`` is stored as text, never as a formula. The bytes are deterministic:
    zip timestamps and document dates are fixed.

    Examples
    --------
    >>> import io, openpyxl, pandas as pd
    >>> data = to_xlsx(pd.DataFrame({"rank": [1], "name": ["Đà Nẵng"]}), meta={"scenario": "x"})
    >>> wb = openpyxl.load_workbook(io.BytesIO(data))
    >>> wb.sheetnames, wb["shortlist"]["B2"].value
    (['shortlist', 'about'], 'Đà Nẵng')
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from recommender import __version__
    from recommender.report import COUPLING_DESCRIPTIONS, LEVEL_DESCRIPTIONS

    plain_meta = _meta(df, meta)
    df = _prepare(df)
    wb = Workbook()
    wb.properties.creator = f"sistercity {__version__}"
    ws = wb.active
    ws.title = re.sub(r"[\[\]:*?/\\]", "_", sheet_name)[:31] or "shortlist"
    bold = Font(bold=True)

    headers = [str(c) for c in df.columns]
    for j, name in enumerate(headers, start=1):
        ws.cell(row=1, column=j, value=_ILLEGAL_XLSX_CHARS.sub("", name)).font = bold
    columns = [df.iloc[:, j].tolist() for j in range(df.shape[1])]
    for j, values in enumerate(columns, start=1):
        for i, value in enumerate(values, start=2):
            cell = ws.cell(row=i, column=j, value=_xlsx_value(value))
            if cell.data_type == "f":
                # A city name or note starting with "=" must never become a live formula.
                cell.data_type = "s"
    ws.freeze_panes = "A2"
    if headers:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(df) + 1}"
    wrap = Alignment(wrap_text=True, vertical="top")
    for j, (name, values) in enumerate(zip(headers, columns, strict=True), start=1):
        sample = [format_value(v) for v in values[:500]]
        natural = max([display_width(name), *(display_width(s) for s in sample)]) + 2
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(8, min(natural, 60))
        if natural > 60:
            for cell in ws[letter][1:]:
                cell.alignment = wrap

    about = wb.create_sheet("about")
    about.append(["key", "value"])
    for cell in about[1]:
        cell.font = bold
    title = title_from_meta(plain_meta)
    if title:
        about.append(["title", title])
    for key, value in _flatten_meta(plain_meta):
        if key != "title":
            about.append([_ILLEGAL_XLSX_CHARS.sub("", key), _xlsx_value(value)])
    about.append(["rows", len(df)])
    about.append(["generated by", f"sistercity {__version__}"])
    about.append([])
    about.append(["data level", "meaning"])
    about[about.max_row][0].font = about[about.max_row][1].font = bold
    for level, text in LEVEL_DESCRIPTIONS.items():
        about.append([level, text])
    about.append([])
    about.append(["coupling", "meaning"])
    about[about.max_row][0].font = about[about.max_row][1].font = bold
    for label, text in COUPLING_DESCRIPTIONS.items():
        about.append([label, text])
    for row in about.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
            cell.alignment = wrap
    about.column_dimensions["A"].width = 28
    about.column_dimensions["B"].width = 100
    about.freeze_panes = "A2"

    buffer = io.BytesIO()
    wb.save(buffer)
    return _deterministic_zip(buffer.getvalue())


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite an OOXML zip with fixed entry times and without creation/modification dates.

    openpyxl stamps the current time into both, which would make every export differ.
    """
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_DATES.sub(b"", content)
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, content)
    return out.getvalue()


def _md_cell(text: str) -> str:
    # "\|" is GitHub's escape for a pipe inside a table cell; <br> keeps line breaks.
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def to_markdown(df: pd.DataFrame, *, meta: Mapping[str, Any] | None = None) -> str:
    """A GitHub-flavoured Markdown table, with a heading line from the metadata if any.

    Numbers are right-aligned and formatted as in :func:`format_value`; pipes in cells
    are escaped (``\\|``) and line breaks become ``<br>``. Columns are padded so the raw
    text also reads as a table.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"rank": [1], "name": ["A|B"]})
    >>> print(to_markdown(df, meta={"title": "Partners"}), end="")
    ## Partners
    <BLANKLINE>
    | rank | name |
    | ---: | :--- |
    |    1 | A\\|B |
    """
    plain_meta = _meta(df, meta)
    df = _prepare(df)
    headers = [_md_cell(str(c)) for c in df.columns]
    cells, numeric = [], []
    for j in range(df.shape[1]):
        series = df.iloc[:, j]
        cells.append([_md_cell(format_value(v)) for v in series.tolist()])
        numeric.append(_is_number_column(series))
    widths = [
        max([3, display_width(h), *(display_width(c) for c in col)])
        for h, col in zip(headers, cells, strict=True)
    ]

    def line(parts: list[str]) -> str:
        return "| " + " | ".join(parts) + " |"

    out = []
    title = title_from_meta(plain_meta)
    if title:
        out += [f"## {_one_line(title)}", ""]
    out.append(line([_pad(h, w, False) for h, w in zip(headers, widths, strict=True)]))
    out.append(
        line(
            [
                "-" * (w - 1) + ":" if num else ":" + "-" * (w - 1)
                for w, num in zip(widths, numeric, strict=True)
            ]
        )
    )
    for i in range(len(df)):
        out.append(line([_pad(cells[j][i], widths[j], numeric[j]) for j in range(len(headers))]))
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
    >>> render(pd.DataFrame({"a": [1]}), "json").startswith("{")
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
    from recommender.report import html_report

    return html_report(df, meta=meta)


# ---------------------------------------------------------------------------------------
# Atomic writing
# ---------------------------------------------------------------------------------------


def _exists_message(target: Path) -> str:
    return f'File "{target}" already exists; use --force to overwrite'


def check_target(path: str | os.PathLike[str], force: bool = False) -> None:
    """Raise :class:`OutputError` now if ``path`` could not be written (exists without
    ``force``, folder missing, parent is a file): for long jobs, fail before the work."""
    _check_target(Path(path), force)


def _check_target(target: Path, force: bool) -> None:
    if target.is_dir():
        raise OutputError(f'Cannot write "{target}": it is a folder; give a file name')
    if (target.exists() or target.is_symlink()) and not force:
        raise OutputError(_exists_message(target))
    parent = target.parent
    if not parent.exists():
        raise OutputError(f'Cannot write "{target}": folder "{parent}" does not exist')
    if not parent.is_dir():
        raise OutputError(f'Cannot write "{target}": "{parent}" is not a folder')


def _output_error(target: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return OutputError(f'Cannot write "{target}": {reason}')


def _final_mode(target: Path) -> int:
    # NamedTemporaryFile creates files readable by the owner only; give the result the
    # permissions a plain open() would have (or keep those of the file being replaced).
    with contextlib.suppress(OSError):
        return target.stat().st_mode & 0o7777
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _commit(tmp: Path, target: Path, force: bool) -> None:
    if force:
        os.replace(tmp, target)
        return
    try:
        # link() fails if the target appeared since we checked, so a concurrent writer's
        # file is never clobbered without --force.
        os.link(tmp, target)
    except FileExistsError:
        raise OutputError(_exists_message(target)) from None
    except OSError:
        # Some file systems (FAT, some network shares) have no hard links.
        if target.exists():
            raise OutputError(_exists_message(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; best effort, not possible on Windows.
    flag = getattr(os, "O_DIRECTORY", None)
    if flag is None:
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | flag)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], *, force: bool = False) -> Iterator[IO[bytes]]:
    """Open a binary file that appears at ``path`` only if the block finishes without error.

    Data goes to a temporary file in the same folder (so the final rename stays on one
    file system and is atomic), which is flushed, synced and renamed over ``path`` on
    success, and deleted on any error, including KeyboardInterrupt.

    Raises
    ------
    OutputError
        ``path`` exists and ``force`` is false, its folder is missing or not writable, or
        writing fails (disk full, ...). The message is one line naming ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_writer(target) as fh:
    ...     _ = fh.write(b"hello\\n")
    >>> target.read_text()
    'hello\\n'
    """
    target = Path(path).expanduser()
    _check_target(target, force)
    try:
        handle = tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
        )
    except OSError as exc:
        raise _output_error(target, exc) from exc
    tmp = Path(handle.name)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, _final_mode(target))
        _commit(tmp, target, force)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise _output_error(target, exc) from exc
        raise
    _fsync_dir(target.parent)


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
