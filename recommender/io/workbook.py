"""Memo-ready Excel workbooks: what a planner forwards to the mayor's office.

Every data sheet has human headers in the chosen language over the full-precision values,
with rounded *display* formats (Excel shows ``0.873`` and ``2,546,452`` in the reader's own
separators; the cell keeps every digit), a frozen, filterable header row and widths that fit.
Three sheets follow the data:

* **Glossary**: every header next to its column name in CSV / JSON, the terms (score,
  coupling, feasibility, robustness, ...), the coupling labels, the data levels.
* **Sources**: where each figure comes from: the local city's indicators with level, source
  and year; the candidates' data levels (and sources, when the table carries them); credits.
* **Settings**: the title, the local city, the scenario (description, weights, bands), the
  method, the filters, what-if values, the size of the candidate pool, the language.

Text cells are stored as text, never as formulas (:func:`_store`), so nothing a city name
or note holds can run as a formula. The bytes are deterministic (fixed zip times,
no document dates).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recommender.i18n import (
    N_,
    _,
    class_label,
    column_label,
    glossary,
    indicator_label,
    level_label,
)
from recommender.i18n.texts import INDICATOR_LABELS, VALUE_WORDS, value_label
from recommender.io.formatting import (
    _is_missing,
    _is_number_column,
    _meta,
    _prepare,
    display_width,
    format_value,
    local_from_meta,
    neutralise_formula,
    title_from_meta,
)

_ILLEGAL_XLSX_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CORE_DATES = re.compile(rb"<dcterms:(created|modified)\b[^>]*>[^<]*</dcterms:\1>")
_INDICATORS = tuple(INDICATOR_LABELS)

DATA_CREDITS = (
    ("GeoNames", N_("cities, populations, coordinates"), "CC BY 4.0"),
    ("World Bank WDI", N_("national GDP per capita, exchange rates"), "CC BY 4.0"),
    ("UNDP Human Development Report 2025", N_("national HDI"), ""),
    ("Global Data Lab SHDI", N_("subnational HDI"), ""),
    ("BPS", N_("Indonesian GRDP per capita and IPM (HDI)"), ""),
    ("Kemendagri / BIG", N_("Indonesian population and area"), ""),
    ("Wikipedia", N_("existing sister-city partnerships"), "CC BY-SA 4.0"),
)


def xlsx_value(value: Any) -> Any:
    """One cell value as openpyxl stores it (text is kept text by :func:`_store`)."""
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
    # the same rule as the CSV writer: text a spreadsheet could run gets a leading "'"
    return neutralise_formula(_ILLEGAL_XLSX_CHARS.sub("", text))


def _store(cell) -> None:
    """A city name or note starting with ``=`` must never become a live formula."""
    if cell.data_type == "f":
        cell.data_type = "s"


def number_format(column: str, series: pd.Series) -> str | None:
    """The Excel display format of a numeric column, by what the column holds.

    Examples
    --------
    >>> import pandas as pd
    >>> number_format("score", pd.Series([0.5])), number_format("hdi_diff", pd.Series([0.1]))
    ('0.000', '+0.00;-0.00;0.00')
    >>> number_format("population_year", pd.Series([2024.0]))
    '0'
    """
    if not _is_number_column(series):
        return None
    name = column.lower()
    if name in ("rank", "move") or name.endswith(("_id", "_year", "year", "_code")):
        return "+0;-0;0" if name == "move" else "0"
    if name.endswith("_diff") or name in ("driver_change",) or name.endswith("_change"):
        return "+0.00;-0.00;0.00" if name.endswith("_diff") else "+0.000;-0.000;0.000"
    if name.endswith("_ratio"):
        return '0.00"×"'
    if (
        name in ("score", "feasibility", "combined", "robustness", "hdi")
        or name.endswith(("_contribution", "_score", "_share"))
        or name.startswith(("score", "feasibility", "combined"))
    ):
        return "0.000"
    if name in ("gdp_per_capita_usd",):
        return '"US$ "#,##0'
    if name.endswith("_km") or name in ("population", "area_km2", "n_partners"):
        return "#,##0"
    values = pd.to_numeric(series, errors="coerce").abs()
    biggest = values.max() if len(values) else 0
    if pd.api.types.is_integer_dtype(series.dtype):
        return "#,##0" if biggest >= 10000 else "0"
    if not biggest or math.isnan(biggest):
        return "0.000"
    return "#,##0" if biggest >= 1000 else "0.00" if biggest >= 10 else "0.000"


def display_cell(column: str, value: Any) -> Any:
    """Words for the codes planners read: data levels and indicator classes, translated."""
    if isinstance(value, str):
        if column == "driver":
            return indicator_label(value)
        if column in VALUE_WORDS:
            return value_label(column, value)
        if column.endswith("_level"):
            return level_label(value)
        if column.endswith("_class"):  # size_class too: Big, Small, Symmetry
            return class_label(value)
    return value


def _sheet_title(name: str, taken: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "_", str(name)).strip("'")[:31] or "Sheet"
    base, n = title, 2
    while title.casefold() in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.casefold())
    return title


def _write_table(
    ws, df: pd.DataFrame, *, human: bool, given: Mapping[str, str] | None = None
) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    names = [str(c) for c in df.columns]
    given = dict(given or {})
    headers = [given.get(n, column_label(n) if human else n) for n in names]
    for j, text in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=j, value=xlsx_value(text))
        _store(cell)
        cell.font = bold
        cell.alignment = wrap
    for j, name in enumerate(names, start=1):
        series = df.iloc[:, j - 1]
        fmt = number_format(name, series)
        values = series.tolist()
        shown = []
        for i, value in enumerate(values, start=2):
            value = display_cell(name, value) if human else value
            cell = ws.cell(row=i, column=j, value=xlsx_value(value))
            _store(cell)
            if fmt and cell.data_type == "n" and cell.value is not None:
                cell.number_format = fmt
            if i <= 501:
                shown.append(_shown_width(value, fmt))
        header_width = min(display_width(headers[j - 1]), 24)
        natural = max([header_width, *shown]) + 2
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(8, min(natural, 60))
        if natural > 60:
            for cell in ws[letter][1:]:
                cell.alignment = wrap
    ws.freeze_panes = "A2"
    if names:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(names))}{max(len(df), 0) + 1}"


def _shown_width(value: Any, fmt: str | None) -> int:
    """Width of a value as the display format shows it (not its 17 stored digits)."""
    if _is_missing(value):
        return 0
    if isinstance(value, (float, np.floating, int, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    ):
        x = float(value)
        if not math.isfinite(x):
            return 4
        decimals = fmt.split(".")[1].count("0") if fmt and "." in fmt.split(";")[0] else 0
        return len(f"{x:+,.{decimals}f}") + (4 if fmt and "US$" in fmt else 0)
    return display_width(format_value(value))


def _plain_format(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return "#,##0" if abs(value) >= 10000 else "0"
    return "#,##0" if abs(value) >= 1000 else "0.0##"


def _rows_sheet(ws, header: Sequence[str], rows: Sequence[Sequence[Any]], widths) -> None:
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    ws.append([xlsx_value(h) for h in header])
    for cell in ws[1]:
        cell.font = bold
    for row in rows:
        ws.append([xlsx_value(v) for v in row])
    for row in ws.iter_rows():
        for cell in row:
            _store(cell)
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap
            if cell.data_type == "n" and isinstance(cell.value, (int, float)):
                cell.number_format = _plain_format(cell.value)
    for letter, width in zip("ABCDEFGH", widths):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"


def glossary_rows(columns: Sequence[str]) -> list[tuple[str, str, str]]:
    """(section, term, meaning): the columns of the export, then the shared glossary."""
    section = _("Columns")
    rows = [
        (section, column_label(c), _('column "{name}" in CSV and JSON').format(name=c))
        for c in columns
    ]
    return rows + glossary(columns)


def sources_rows(df: pd.DataFrame, meta: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """(whose, indicator, level, source, year, cities) rows for the Sources sheet."""
    local = local_from_meta(meta)
    rows: list[tuple[Any, ...]] = []
    name = local.get("name")
    if name:
        for ind in _INDICATORS:
            if ind not in local and f"{ind}_level" not in local:
                continue
            rows.append(
                (
                    str(name),
                    indicator_label(ind),
                    level_label(str(local.get(f"{ind}_level", "")))
                    if local.get(f"{ind}_level")
                    else "",
                    local.get(f"{ind}_source", ""),
                    local.get(f"{ind}_year"),
                    1,
                )
            )
    candidates = _("Candidates")
    given = meta.get("candidate_sources")
    if isinstance(given, list) and given:
        for rec in given:
            rows.append(
                (
                    candidates,
                    indicator_label(str(rec.get("indicator", ""))),
                    level_label(str(rec.get("level", ""))),
                    rec.get("source") or "",
                    rec.get("year"),
                    rec.get("cities"),
                )
            )
    for ind in () if isinstance(given, list) and given else _INDICATORS:
        level_col, source_col = f"{ind}_level", f"{ind}_source"
        if level_col not in df.columns:
            continue
        keys = [level_col] + [c for c in (source_col, f"{ind}_year") if c in df.columns]
        counts = (
            df[keys]
            .astype(object)
            .where(df[keys].notna(), "")
            .value_counts(sort=False)
            .sort_index()
        )
        for key, n in counts.items():
            key = key if isinstance(key, tuple) else (key,)
            level = key[0]
            source = key[1] if len(key) > 1 else ""
            year = key[2] if len(key) > 2 and key[2] != "" else None
            rows.append(
                (candidates, indicator_label(ind), level_label(level), source, year, int(n))
            )
    for who, what, licence in DATA_CREDITS:
        rows.append((_("Data credits"), _(what), "", who, None, licence))
    return rows


def candidate_sources(df: pd.DataFrame, cities: pd.DataFrame) -> list[dict[str, Any]]:
    """Where the shortlisted candidates' figures come from: one record per indicator,
    level, source and year, with the number of candidates (for the Sources sheet).

    Pass it as ``meta={"candidate_sources": ...}``; ``cities`` is the table the shortlist
    was made from (looked up by ``city_id``).
    """
    if "city_id" not in df.columns or "city_id" not in cities.columns or df.empty:
        return []
    picked = cities.set_index("city_id").reindex(df["city_id"].unique())
    out: list[dict[str, Any]] = []
    for ind in _INDICATORS:
        cols = [f"{ind}_level", f"{ind}_source", f"{ind}_year"]
        if not set(cols) <= set(picked.columns):
            continue
        part = picked[cols].copy()
        part.loc[picked[ind].isna() if ind in picked.columns else False, cols] = [
            "missing",
            "",
            np.nan,
        ]
        part[cols[1]] = part[cols[1]].fillna("").astype(str)
        part[cols[2]] = pd.to_numeric(part[cols[2]], errors="coerce")
        grouped = part.fillna({cols[2]: -1}).value_counts(sort=False).sort_index()
        for (level, source, year), n in grouped.items():
            out.append(
                {
                    "indicator": ind,
                    "level": str(level),
                    "source": source,
                    "year": None if year == -1 else int(year),
                    "cities": int(n),
                }
            )
    return out


def settings_rows(meta: Mapping[str, Any], n_rows: int, lang: str) -> list[tuple[str, Any]]:
    """(setting, value) rows for the Settings sheet, in the language in force."""
    from recommender import __version__

    rows: list[tuple[str, Any]] = []
    title = title_from_meta(meta)
    if title:
        rows.append((_("Title"), title))
    local = local_from_meta(meta)
    if local.get("name"):
        where = str(local["name"])
        if local.get("country_code"):
            where += f" ({local['country_code']})"
        rows.append((_("Local city"), where))
        for ind in _INDICATORS:
            if local.get(ind) is not None:
                rows.append((indicator_label(ind), local[ind]))
    scenario = meta.get("scenario")
    scen = _scenario_details(scenario)
    if scenario is not None:
        rows.append(
            (_("Scenario"), scenario if isinstance(scenario, str) else scen.get("name", ""))
        )
    if scen:
        if scen.get("description"):
            rows.append((_("Scenario: description"), _(scen["description"])))
        if scen.get("rationale"):
            rows.append((_("Scenario: why"), _(scen["rationale"])))
        for ind, w in (scen.get("weights") or {}).items():
            rows.append((_("Weight: {indicator}").format(indicator=indicator_label(ind)), w))
        for ind, band in (scen.get("bands") or {}).items():
            rows.append(
                (
                    _("Ideal band: {indicator}").format(indicator=indicator_label(ind)),
                    _band(band, ind),
                )
            )
    labels = {
        "method": _("Method"),
        "n_pool": _("Candidate pool"),
        "n_candidates": _("Candidates after filters"),
        "n_eligible": _("Eligible candidates"),
        "top": _("Shortlist length"),
        "scenarios": _("Scenarios"),
    }
    for key, label in labels.items():
        if meta.get(key) not in (None, "", [], {}):
            rows.append((label, meta[key]))
    filter_labels = {
        "countries": _("Only these countries"),
        "exclude_countries": _("Countries left out"),
        "continents": _("Only these continents"),
        "min_population": _("Smallest population"),
        "max_population": _("Largest population"),
        "min_level": _("Lowest data level accepted"),
        "max_per_country": _("At most this many per country"),
        "include_partners": _("Existing partners kept"),
        "include_domestic": _("Indonesian candidates allowed"),
    }
    for key, value in (meta.get("filters") or {}).items():
        if value in (None, [], {}, False):
            continue
        if value is True:
            value = _("yes")
        rows.append((filter_labels.get(key, key), value))
    for key, value in (meta.get("overrides") or {}).items():
        rows.append((_("What-if: {name}").format(name=column_label(key)), value))
    rows.append((_("Rows"), n_rows))
    rows.append((_("Language"), lang))
    rows.append((_("Generated by"), f"sistercity {__version__}"))
    return [(k, format_value(v) if isinstance(v, (list, dict)) else v) for k, v in rows]


def _band(band: Any, indicator: str) -> str:
    """``from 1.00×, ideal 1.50× to 8.00×, up to 20×`` (HDI: differences, signed)."""
    from recommender.i18n import format_ratio, format_signed

    if isinstance(band, Mapping):
        parts = [band.get(k) for k in ("min", "lo", "hi", "max")]
        if all(p is not None for p in parts):
            fmt = (lambda x: format_signed(x, 2)) if indicator == "hdi" else format_ratio
            low, lo, hi, high = (fmt(float(p)) for p in parts)
            return _("from {min}, ideal {lo} to {hi}, up to {max}").format(
                min=low, lo=lo, hi=hi, max=high
            )
    return format_value(band)


def _scenario_details(scenario: Any) -> dict[str, Any]:
    if isinstance(scenario, Mapping):
        return dict(scenario)
    if not isinstance(scenario, str) or not scenario:
        return {}
    try:
        from recommender.engine.scenarios import load_scenario, preset_names

        if scenario not in preset_names():
            return {}
        from recommender.io.formatting import to_jsonable

        return to_jsonable(load_scenario(scenario).to_dict())
    except Exception:  # noqa: BLE001 - the settings sheet is a courtesy, never a failure
        return {}


def workbook(
    sheets: Sequence[tuple[Any, ...]],
    *,
    meta: Mapping[str, Any] | None = None,
    human: bool = True,
) -> bytes:
    """An Excel workbook of one or more tables plus Glossary, Sources and Settings sheets.

    Parameters
    ----------
    sheets : sequence of (name, DataFrame) or (name, DataFrame, headers)
        The data sheets, in order; names are translated by the caller. ``headers`` maps
        column names to headers that replace the catalogue's (e.g. per-scenario columns).
    meta : mapping, optional
        Overrides and extends the first table's ``attrs``.
    human : bool
        Human headers and words for codes (the default); ``False`` keeps the column names.

    Examples
    --------
    >>> import io, openpyxl, pandas as pd
    >>> from recommender.i18n import language
    >>> df = pd.DataFrame({"rank": [1], "name": ["Đà Nẵng"], "score": [0.87341]})
    >>> with language("en"):
    ...     wb = openpyxl.load_workbook(io.BytesIO(workbook([("Shortlist", df)])))
    >>> wb.sheetnames
    ['Shortlist', 'Glossary', 'Sources', 'Settings']
    >>> ws = wb["Shortlist"]
    >>> ws["A1"].value, ws["C2"].value, ws["C2"].number_format, ws.freeze_panes
    ('Rank', 0.87341, '0.000', 'A2')
    """
    from openpyxl import Workbook

    from recommender import __version__
    from recommender.i18n import current_language

    first = sheets[0][1] if sheets else pd.DataFrame()
    plain_meta = _meta(first, meta)
    wb = Workbook()
    wb.properties.creator = f"sistercity {__version__}"
    title = title_from_meta(plain_meta)
    if title:
        wb.properties.title = _ILLEGAL_XLSX_CHARS.sub("", title)[:255]
    taken: set[str] = set()
    columns: list[str] = []
    first_ws = True
    for name, df, *rest in sheets:
        table = _prepare(df)
        ws = wb.active if first_ws else wb.create_sheet()
        first_ws = False
        ws.title = _sheet_title(name, taken)
        _write_table(ws, table, human=human, given=rest[0] if rest else None)
        columns += [str(c) for c in table.columns if str(c) not in columns]
    ws = wb.create_sheet(_sheet_title(_("Glossary"), taken))
    _rows_sheet(ws, [_("Section"), _("Term"), _("Meaning")], glossary_rows(columns), (22, 34, 100))
    ws = wb.create_sheet(_sheet_title(_("Sources"), taken))
    _rows_sheet(
        ws,
        [_("Whose"), _("Indicator"), _("Data level"), _("Source"), _("Year"), _("Cities")],
        sources_rows(_prepare(first), plain_meta),
        (18, 26, 14, 80, 8, 12),
    )
    for cell in ws["E"][1:]:
        cell.number_format = "0"
    ws = wb.create_sheet(_sheet_title(_("Settings"), taken))
    _rows_sheet(
        ws,
        [_("Setting"), _("Value")],
        settings_rows(plain_meta, len(first), current_language()),
        (34, 100),
    )
    return deterministic_zip(_save(wb))


def _save(wb) -> bytes:
    """``wb.save`` into memory, with the zip archive dropped if the save is interrupted.

    openpyxl leaves its archive open when an exception (a Ctrl-C, SIGTERM) stops the save;
    when the interpreter then exits, the archive tries to finish itself on a buffer that is
    already closed and Python prints a traceback after the one-line "Aborted.". Nothing
    is to be written after an interruption, so the archive is detached from its buffer.
    """
    from openpyxl.writer.excel import ExcelWriter

    buffer = io.BytesIO()
    archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    try:
        ExcelWriter(wb, archive).save()  # closes the archive when it is done
    except BaseException:
        archive.fp = None  # close() and the finaliser then do nothing
        raise
    return buffer.getvalue()


def deterministic_zip(data: bytes) -> bytes:
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


__all__ = ["DATA_CREDITS", "candidate_sources", "number_format", "workbook", "xlsx_value"]
