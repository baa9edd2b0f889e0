"""Formatting shared by every writer: format names, JSON-safe values, human-readable numbers,
frame preparation, the metadata that ``df.attrs`` carries, and the glossary texts.

Kept apart from :mod:`recommender.io.export` (the renderers) and :mod:`recommender.io.report`
(the HTML page) so that both can use it and imports run one way: formatting -> report -> export.
"""

import contextlib
import dataclasses
import datetime as dt
import math
import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from recommender.data.countries import country_display_name
from recommender.errors import OutputError
from recommender.i18n import N_, _, format_year, get_translator
from recommender.i18n.texts import COUPLING_DESCRIPTIONS as _COUPLING_DESCRIPTIONS
from recommender.i18n.texts import LEVEL_DESCRIPTIONS as _LEVEL_DESCRIPTIONS

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

MISSING_TEXT = N_("n/a")
"""How a missing value reads in the human formats (table, Markdown, HTML)."""

# The glossary texts live in the catalogue's module (English msgids, translated on use
# with ``recommender.i18n._``); re-exported here for the writers that import them from io.
LEVEL_DESCRIPTIONS = _LEVEL_DESCRIPTIONS
"""What each data level means, in the order of :data:`recommender.data.indicators.LEVELS`."""
COUPLING_DESCRIPTIONS = _COUPLING_DESCRIPTIONS
"""The pair's coupling label, read from the local city's side."""

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
        return _(MISSING_TEXT)
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


def _localise(text: str) -> str:
    t = get_translator()
    if t.decimal == ".":
        return text
    return text.translate(str.maketrans({",": t.thousands, ".": t.decimal}))


def format_cell(column: str, value: Any) -> str:
    """:func:`format_value`, except that a year column reads as a year (``2026``, never
    ``2026.0`` or ``2,026``).

    Examples
    --------
    >>> format_cell("hdi_year", 2025.0), format_cell("population", 2546452.0)
    ('2025', '2,546,452')
    """
    if str(column).endswith("year") and not _is_missing(value) and not isinstance(value, str):
        with contextlib.suppress(TypeError, ValueError):
            return format_year(value)
    return format_value(value)


def format_value(value: Any) -> str:
    """A cell as people read it in the table, Markdown and HTML formats.

    Missing values read ``n/a``, booleans ``yes`` / ``no``; integers are printed in full
    (they are ids, years and ranks), floats with three significant digits and thousands
    separators from 1,000 up. Words and separators follow the language in force
    (Indonesian: ``t/a``, ``ya`` / ``tidak``, ``2.546.452``, ``0,873``).

    Examples
    --------
    >>> [format_value(v) for v in (0.87341, 12.345, 2435252.0, 7, True, None)]
    ['0.873', '12.3', '2,435,252', '7', 'yes', 'n/a']
    """
    if _is_missing(value):
        return _(MISSING_TEXT)
    if isinstance(value, (bool, np.bool_)):
        return _("yes") if value else _("no")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _localise(_format_float(float(value)))
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
"""The flat ``df.attrs`` keys in which :func:`recommender.engine.shortlist.recommend` describes the
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
    where = ""
    if local.get("name"):
        where = str(local["name"])
        if local.get("country_name"):
            where += ", " + country_display_name(local.get("country_code"), local["country_name"])
        elif local.get("country_code"):
            where += f" ({local['country_code']})"
    if where and scenario:
        return _("Sister-city partner shortlist for {city}, scenario {scenario}").format(
            city=where, scenario=scenario
        )
    if where:
        return _("Sister-city partner shortlist for {city}").format(city=where)
    return _("Sister-city partner shortlist, scenario {scenario}").format(scenario=scenario)


def _is_number_column(series: pd.Series) -> bool:
    return is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype)


def _text_columns(df: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    headers = [_one_line(str(c)) for c in df.columns]
    cells, numeric = [], []
    for j in range(df.shape[1]):
        series = df.iloc[:, j]
        name = str(df.columns[j])
        cells.append([_one_line(format_cell(name, v)) for v in series.tolist()])
        numeric.append(_is_number_column(series))
    return headers, cells, numeric


# ---------------------------------------------------------------------------------------
# Spreadsheet formula injection
# ---------------------------------------------------------------------------------------

FORMULA_LEADERS = ("=", "+", "-", "@")
"""A spreadsheet reads text starting with one of these (after any spaces) as a formula."""


def neutralise_formula(text: str) -> str:
    """Text that a spreadsheet could run as a formula, made inert with a leading ``'``.

    The one rule both the CSV and the XLSX writer apply to every text cell and header:
    text that starts with ``= + - @`` (also after leading white space), a tab or a carriage
    return gets a ``'`` in front, which spreadsheets read as "this is text" (OWASP's CSV
    injection advice). Numbers are never passed here, so ``-0.5`` stays a number.

    Examples
    --------
    >>> neutralise_formula('=HYPERLINK("http://x")'), neutralise_formula("  +1")
    ('\\'=HYPERLINK("http://x")', "'  +1")
    >>> neutralise_formula("Medan")
    'Medan'
    """
    if not isinstance(text, str) or not text:
        return text  # numbers, None and the empty string cannot start a formula
    if text[0] in "\t\r" or text.lstrip()[:1] in FORMULA_LEADERS:
        return "'" + text
    return text


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with :func:`neutralise_formula` applied to headers and text cells."""
    out = df.copy()
    out.columns = [neutralise_formula(c) if isinstance(c, str) else c for c in out.columns.tolist()]
    for j in range(out.shape[1]):
        col = out.iloc[:, j]
        if is_numeric_dtype(col.dtype) or is_bool_dtype(col.dtype):
            continue
        out.isetitem(j, col.map(lambda v: neutralise_formula(v) if isinstance(v, str) else v))
    return out
