"""A self-contained HTML report of a shortlist, for planners to open, share and print.

One HTML file with inline CSS and inline SVG charts drawn here (no JavaScript, no external
assets, no network requests). It shows the local city and the data behind it, the scenario
and its rationale, the ranked candidates, a stacked bar of each candidate's per-indicator
contributions to its score, each candidate's GDP per capita relative to the local city (log
scale), a legend of the coupling labels and data levels, and the sources and limits.

Every section is optional: the report uses what the frame's columns and the metadata
(``df.attrs`` overlaid with ``meta=``) provide, so it also renders comparison or partner
tables. Recognised metadata keys: ``title``; the local city as ``local`` (a mapping with
``name``, ``country_name``, ``<indicator>``, ``<indicator>_level``, ``_source``, ``_year``)
or as the flat keys ``recommend()`` writes (``local_name``, ``local_values``,
``local_levels``, ...; see :func:`recommender.io.export.local_from_meta`); ``scenario`` (a
name, a :class:`~recommender.engine.scenarios.Scenario` or its ``to_dict()``; for a bare preset
name the preset's description, rationale and weights are looked up); ``sources`` and
``limits`` (a string, list or mapping). Anything else is listed under "Settings". All text
is HTML-escaped and the output is deterministic.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"rank": [1], "name": ["Busan"], "score": [0.8],
...                    "population_contribution": [0.5], "hdi_contribution": [0.3]})
>>> page = html_report(df, meta={"local": {"name": "Medan"}, "scenario": "small-big"})
>>> page.startswith("<!DOCTYPE html>"), page.count('class="contrib-row"')
(True, 1)
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from recommender.data.indicators import BY_NAME, INDICATORS, LEVELS
from recommender.i18n import N_, _, ngettext
from recommender.i18n import texts as i18n_texts
from recommender.io.answer import ANSWER_CSS, answer_section, batch_sections, is_batch
from recommender.io.formatting import (
    COUPLING_DESCRIPTIONS,
    LEVEL_DESCRIPTIONS,
    LOCAL_KEYS,
    MISSING_TEXT,
    _is_missing,
    _is_number_column,
    _meta,
    _prepare,
    format_value,
    local_from_meta,
    title_from_meta,
    to_jsonable,
)

__all__ = ["COUPLING_DESCRIPTIONS", "LEVEL_DESCRIPTIONS", "html_report"]


CHART_TITLE = N_("Contribution of each indicator to each candidate's score")
CLASS_DESCRIPTION = N_(
    "Per indicator, the partner is Big (above the local city by more than the tolerance "
    "band), Small (below it by more) or Symmetry (within the band). Ratios read partner ÷ "
    "local city: ×2.0 means the partner has twice the local value."
)

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#555555")
LEVEL_COLOURS = {
    "city": "#1b7837",
    "region": "#2c7fb8",
    "country": "#b35806",
    "imputed": "#c51b7d",
    "user": "#542788",
    "missing": "#777777",
}
_SVG_FONT = 'font-family="system-ui, Arial, sans-serif" font-size="11"'
SUFFIXES = ("_ratio", "_diff", "_class", "_level", "_contribution")
COLUMN_LABELS = {
    "rank": "#",
    "city_id": "GeoNames id",
    "name": "City",
    "country_code": "Country code",
    "country_name": "Country",
    "admin1_name": "Region",
    "score": "Score",
    "coupling": "Coupling",
    "existing_partner": "Already a partner",
    "distance_km": "Distance (km)",
    "why": "Why",
}
TABLE_HEADINGS = {"hdi": N_("HDI"), "existing_partner": N_("Existing partner")}
"""Shorter headings where the ranked table is tight; the full label is in a tooltip."""
SETTING_LABELS = {
    "method": N_("Method"),
    "filters": N_("Filters"),
    "overrides": N_("What-if values"),
    "n_pool": N_("Candidate pool"),
    "n_candidates": N_("Candidates after filters"),
    "n_eligible": N_("Eligible candidates"),
    "filter_steps": N_("Filter steps (candidates left)"),
    "hdi_scale": N_("HDI scale"),
    "tolerance": N_("Symmetry tolerance"),
    "max_per_country": N_("At most per country"),
    "imputed_penalty": N_("Penalty on imputed values"),
    "required": N_("Required (partner must score on)"),
    "require_complementary": N_("Each side must lead somewhere"),
}
_META_HANDLED = {
    *LOCAL_KEYS,
    "title",
    "local",
    "local_city",
    "scenario",
    "scenario_rationale",
    "rationale",
    "sources",
    "limits",
}

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;
 color:#1a1a1a;margin:0 auto;max-width:1200px;padding:24px;line-height:1.4;font-size:14px}
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .5em;
 border-bottom:1px solid #ccc;padding-bottom:.2em}
.sub{color:#555;margin:0}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
th,td{border:1px solid #d0d0d0;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f0f0f0;font-size:.95em}
tbody tr:nth-child(even){background:#fafafa}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.na{color:#888}
td.long{min-width:12em}
.ind .main{font-weight:600;white-space:nowrap}.city .main{font-weight:600}
td.city{min-width:8em}
.ind .detail,.city .detail{display:block;color:#555;font-size:.88em;white-space:nowrap}
.table-wrap{overflow-x:auto}
.lvl{display:inline-block;border:1px solid currentColor;border-radius:3px;padding:0 3px;
 font-size:.85em;line-height:1.2}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:.4em 0}
dl.kv dt{font-weight:600}dl.kv dd{margin:0}
.legend-item{display:inline-block;margin-right:14px;white-space:nowrap}
svg{max-width:100%;height:auto;display:block}
svg text{font-family:inherit;font-size:11px;fill:#1a1a1a}
.note{color:#555;font-size:.9em}
footer{margin-top:2em;border-top:1px solid #ccc;color:#333}
@page{size:A4 landscape;margin:12mm}
@media print{body{max-width:none;padding:0;font-size:10px}
 .table-wrap{overflow:visible}
 thead{display:table-header-group}tr,svg,.legend,dl{break-inside:avoid}
 h2{break-after:avoid}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
""".strip()


def _e(value: Any) -> str:
    """Escape any text for HTML element content and attribute values alike."""
    return html.escape(str(value), quote=True)


def _label(name: str) -> str:
    if name in COLUMN_LABELS or name in BY_NAME:
        return i18n_texts.column_label(name)  # the catalogue's header, in the language in force
    return name  # unknown columns (e.g. scenario names in a comparison) read best as given


def _split(column: str) -> tuple[str, str] | None:
    for suffix in SUFFIXES:
        if column.endswith(suffix) and len(column) > len(suffix):
            return column[: -len(suffix)], suffix
    return None


def _groups(columns: Sequence[str]) -> dict[str, dict[str, str]]:
    """Indicator groups found in the columns: base name → {suffix or "": column}.

    Discovered from the suffixes rather than the registry, so extra factors such as
    ``distance_km`` or ``existing_partner`` are grouped the same way.
    """
    groups: dict[str, dict[str, str]] = {}
    for col in columns:
        split = _split(col)
        if split:
            groups.setdefault(split[0], {})[split[1]] = col
    for base, parts in groups.items():
        if base in columns:
            parts[""] = base
    return groups


def _cell(value: Any, numeric: bool, long: bool = False) -> str:
    text = format_value(value)
    classes = []
    if _is_missing(value):
        classes.append("na")
    elif numeric:
        classes.append("num")
    if long and not numeric:
        classes.append("long")
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attr}>{_e(text)}</td>"


def _level_badge(level: Any) -> str:
    if _is_missing(level) or str(level) == "":
        return ""
    colour = LEVEL_COLOURS.get(str(level), "#333333")
    return f'<span class="lvl" style="color:{colour}">{_e(level)}</span>'


def _ratio_text(value: Any) -> str:
    return MISSING_TEXT if _is_missing(value) else "×" + format_value(value)


def _signed(value: Any) -> str:
    text = format_value(value)
    return "+" + text if not _is_missing(value) and value > 0 else text


def _plain_table(df: pd.DataFrame) -> str:
    numeric = [_is_number_column(df.iloc[:, j]) for j in range(df.shape[1])]
    head = "".join(
        f'<th{" class=num" if num else ""} scope="col">{_e(_label(str(c)))}</th>'
        for c, num in zip(df.columns, numeric, strict=True)
    )
    columns = [df.iloc[:, j].tolist() for j in range(df.shape[1])]
    body = []
    for i in range(len(df)):
        cells = "".join(
            _cell(columns[j][i], numeric[j], long=str(df.columns[j]) == "why")
            for j in range(len(columns))
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f"<table><thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody></table>"
    )


def _indicator_cell(parts: Mapping[str, str], series: Mapping[str, list[Any]], i: int) -> str:
    value = series[parts[""]][i] if "" in parts else None
    if "_ratio" in parts:
        main = _ratio_text(series[parts["_ratio"]][i])
    elif "_diff" in parts:  # HDI is compared by difference, not ratio
        main = _signed(series[parts["_diff"]][i])
    else:
        main = format_value(value) if "" in parts else ""
    first = []  # what the value is: raw value behind the ratio, class, data level
    if ("_ratio" in parts or "_diff" in parts) and "" in parts:
        first.append(_e(format_value(value)))
    if "_class" in parts:
        first.append(_e(format_value(series[parts["_class"]][i])))
    if "_level" in parts:
        first.append(_level_badge(series[parts["_level"]][i]))
    lines = [" ".join(d for d in first if d)]
    if "_contribution" in parts:
        lines.append(_e(f"score {_signed(series[parts['_contribution']][i])}"))
    details = "".join(f'<span class="detail">{line}</span>' for line in lines if line)
    return f'<td class="ind"><span class="main">{_e(main)}</span>{details}</td>'


def _city_cell(df_series: Mapping[str, list[Any]], i: int) -> str:
    lines = []
    region = df_series["admin1_name"][i] if "admin1_name" in df_series else None
    if not _is_missing(region) and region != df_series["name"][i]:
        lines.append(format_value(region))
    if "city_id" in df_series and not _is_missing(df_series["city_id"][i]):
        lines.append(f"GeoNames {format_value(df_series['city_id'][i])}")
    details = "".join(f'<span class="detail">{_e(line)}</span>' for line in lines)
    name = df_series["name"][i]
    return f'<td class="city"><span class="main">{_e(format_value(name))}</span>{details}</td>'


def _ranked_table(df: pd.DataFrame) -> str:
    """The shortlist, with each indicator's ratio, class, contribution and level in one cell.

    Grouping (and folding region and GeoNames id into the city cell) keeps a 30-column
    shortlist narrow enough to print on one landscape page.
    """
    columns = [str(c) for c in df.columns]
    groups = _groups(columns)
    if not groups:
        return _plain_table(df)
    folded = {c for parts in groups.values() for c in parts.values()}
    if "name" in columns:
        folded |= {"admin1_name", "city_id"} & set(columns)
    if "country_name" in columns:
        folded.add("country_code")  # the name says the same; every column costs print width
    items: list[tuple[str, str]] = []  # ("col" | "city" | "group", column or base name)
    for col in columns:
        split = _split(col)
        base = split[0] if split else col
        if base in groups:
            if ("group", base) not in items:
                items.append(("group", base))
        elif col == "name":
            items.append(("city", col))
        elif col not in folded:
            items.append(("col", col))

    series = {c: df[c].tolist() for c in columns}
    numeric = {c: _is_number_column(df[c]) for c in columns}
    head = []
    for kind, name in items:
        num = kind == "col" and numeric[name]
        label = _(TABLE_HEADINGS[name]) if name in TABLE_HEADINGS else _label(name)
        full = _label(name)
        abbr = f'<abbr title="{_e(full)}">{_e(label)}</abbr>' if full != label else _e(label)
        head.append(f'<th{" class=num" if num else ""} scope="col">{abbr}</th>')
    body = []
    for i in range(len(df)):
        cells = []
        for kind, name in items:
            if kind == "col":
                cells.append(_cell(series[name][i], numeric[name], long=name == "why"))
            elif kind == "city":
                cells.append(_city_cell(series, i))
            else:
                cells.append(_indicator_cell(groups[name], series, i))
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table><thead><tr>{''.join(head)}</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody></table>"
    )


def _row_label(df: pd.DataFrame, i: int) -> str:
    parts = []
    if "rank" in df.columns and not _is_missing(df["rank"].iloc[i]):
        parts.append(f"{format_value(df['rank'].iloc[i])}.")
    name = df["name"].iloc[i] if "name" in df.columns else None
    parts.append(format_value(name) if not _is_missing(name) else f"row {i + 1}")
    for col in ("country_code", "country_name"):
        if col in df.columns and not _is_missing(df[col].iloc[i]):
            parts.append(f"({format_value(df[col].iloc[i])})")
            break
    return " ".join(parts)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _nice_step(span: float) -> float:
    raw = span / 4 if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def _f(x: float) -> str:
    return f"{x:.1f}"


def _tick_text(value: float) -> str:
    return f"{round(value, 10):g}"


def _power_text(k: int) -> str:
    """Axis label for 10**k as a ratio: ×0.01, ×0.1, ×1, ×10, ×100."""
    return f"×{10.0**k:,.0f}" if k >= 0 else f"×{10.0**k:.{-k}f}"


def _contribution_chart(df: pd.DataFrame) -> str:
    """Horizontal stacked bars: one group per row, one segment per ``*_contribution``."""
    cols = [str(c) for c in df.columns if str(c).endswith("_contribution")]
    if not cols:
        return ""
    values = df[cols].apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy(dtype=float)
    pos = [sum(v for v in row if v > 0) for row in values]
    neg = [-sum(v for v in row if v < 0) for row in values]
    pos_max, neg_max = max(pos, default=0.0), max(neg, default=0.0)
    span = (pos_max + neg_max) or 1.0
    label_w, bar_w, end_w, row_h, top = 240.0, 560.0, 60.0, 22.0, 26.0
    width = label_w + bar_w + end_w
    height = top + row_h * len(df) + 8
    x0 = label_w + bar_w * neg_max / span

    def x(v: float) -> float:
        return x0 + bar_w * v / span

    colours = {c: PALETTE[k % len(PALETTE)] for k, c in enumerate(cols)}
    names = {c: _label(c[: -len("_contribution")]) for c in cols}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart contributions" role="img" {_SVG_FONT} '
        f'viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" height="{_f(height)}">',
        f"<title>{_e(_(CHART_TITLE))}</title>",
    ]
    step = _nice_step(span)
    tick = -math.floor(neg_max / step) * step if neg_max else 0.0
    while tick <= pos_max + 1e-12:
        tx = x(tick)
        out.append(
            f'<line x1="{_f(tx)}" y1="{_f(top - 4)}" x2="{_f(tx)}" y2="{_f(height - 8)}" '
            f'stroke="{"#888" if abs(tick) < 1e-12 else "#e3e3e3"}" stroke-width="1"/>'
            f'<text x="{_f(tx)}" y="{_f(top - 8)}" text-anchor="middle">'
            f"{_e(_tick_text(tick))}</text>"
        )
        tick += step
    scores = df["score"].tolist() if "score" in df.columns else None
    for i, row in enumerate(values):
        y = top + row_h * i
        label = _row_label(df, i)
        out.append(f'<g class="contrib-row"><title>{_e(label)}</title>')
        out.append(
            f'<text x="{_f(label_w - 6)}" y="{_f(y + row_h * 0.65)}" text-anchor="end">'
            f"{_e(_clip(label, 34))}</text>"
        )
        right, left = 0.0, 0.0
        for col, v in zip(cols, row, strict=True):
            if v == 0:
                continue
            if v > 0:
                start, right = right, right + v
            else:
                start, left = left + v, left + v
            out.append(
                f'<rect x="{_f(x(start))}" y="{_f(y + 4)}" width="{_f(bar_w * abs(v) / span)}" '
                f'height="{_f(row_h - 8)}" fill="{colours[col]}">'
                f"<title>{_e(names[col])}: {_e(format_value(v))}</title></rect>"
            )
        total = scores[i] if scores is not None else float(sum(row))
        out.append(
            f'<text x="{_f(x(right) + 4)}" y="{_f(y + row_h * 0.65)}">'
            f"{_e(format_value(total))}</text></g>"
        )
    out.append("</svg>")
    legend = "".join(
        f'<span class="legend-item"><svg width="12" height="12" style="display:inline-block;'
        f'vertical-align:middle"><rect width="12" height="12" fill="{colours[c]}"/></svg> '
        f"{_e(names[c])}</span>"
        for c in cols
    )
    note = _(
        "Each bar splits the candidate's score into the part each indicator contributes; "
        "the segments add up to the score shown at the end of the bar."
    )
    if neg_max:
        note += " " + _("Segments left of the zero line lower the score.")
    return "\n".join(out) + f'\n<p class="legend">{legend}</p>\n<p class="note">{_e(note)}</p>'


def _gdp_chart(df: pd.DataFrame, local_name: str | None) -> str:
    """Bars on a log scale from ×1 (same as the local city) to each candidate's ratio."""
    col = "gdp_per_capita_usd_ratio"
    if col not in df.columns:
        return ""
    ratios = pd.to_numeric(df[col], errors="coerce").tolist()
    logs = [
        math.log10(r) if not _is_missing(r) and r > 0 and math.isfinite(r) else None for r in ratios
    ]
    finite = [v for v in logs if v is not None]
    lo = min(-1, math.floor(min(finite, default=0.0)))
    hi = max(1, math.ceil(max(finite, default=0.0)))
    label_w, bar_w, end_w, row_h, top = 240.0, 510.0, 110.0, 20.0, 26.0
    width = label_w + bar_w + end_w
    height = top + row_h * len(df) + 8

    def x(v: float) -> float:
        return label_w + bar_w * (v - lo) / (hi - lo)

    levels = df.get("gdp_per_capita_usd_level")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart gdp" role="img" {_SVG_FONT} '
        f'viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" height="{_f(height)}">',
        "<title>GDP per capita of each candidate relative to the local city, log scale</title>",
    ]
    for k in range(lo, hi + 1):
        tx = x(k)
        out.append(
            f'<line x1="{_f(tx)}" y1="{_f(top - 4)}" x2="{_f(tx)}" y2="{_f(height - 8)}" '
            f'stroke="{"#888" if k == 0 else "#e3e3e3"}" stroke-width="1"/>'
            f'<text x="{_f(tx)}" y="{_f(top - 8)}" text-anchor="middle">'
            f"{_e(_power_text(k))}</text>"
        )
    for i, v in enumerate(logs):
        y = top + row_h * i
        label = _row_label(df, i)
        out.append(f'<g class="ratio-row"><title>{_e(label)}</title>')
        out.append(
            f'<text x="{_f(label_w - 6)}" y="{_f(y + row_h * 0.65)}" text-anchor="end">'
            f"{_e(_clip(label, 34))}</text>"
        )
        text = _ratio_text(ratios[i]) if v is not None else MISSING_TEXT
        if levels is not None and not _is_missing(levels.iloc[i]):
            text += f" · {format_value(levels.iloc[i])}"
        if v is None:
            end = x(0)
        else:
            a, b = sorted((x(0), x(v)))
            colour = PALETTE[0] if v >= 0 else PALETTE[5]
            out.append(
                f'<rect x="{_f(a)}" y="{_f(y + 4)}" width="{_f(max(b - a, 1.0))}" '
                f'height="{_f(row_h - 8)}" fill="{colour}"/>'
            )
            end = max(a, b)
        out.append(f'<text x="{_f(end + 4)}" y="{_f(y + row_h * 0.65)}">{_e(text)}</text></g>')
    out.append("</svg>")
    local = local_name or _("the local city")
    note = _(
        "Bars to the right: the candidate's GDP per capita is higher than %(city)s's; to the "
        "left: lower. Each grid line is a factor of ten. The data level of the candidate's "
        "value follows the ratio."
    ) % {"city": local}
    return "\n".join(out) + f'\n<p class="note">{_e(note)}</p>'


def _compact(value: Any) -> str:
    text = format_value(value)
    return text if len(text) <= 400 else text[:399] + "…"


def _prune(value: Any) -> Any:
    """Drop empty entries (None, "", [], {}) from nested settings: unset filters are noise."""
    if isinstance(value, Mapping):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", [], {})}
    return value


def _kv(pairs: Iterable[tuple[str, Any]]) -> str:
    """A definition list of settings; keys get readable labels, empty values are left out."""
    kept = [(_(SETTING_LABELS[k]) if k in SETTING_LABELS else k, _prune(v)) for k, v in pairs]
    rows = "".join(
        f"<dt>{_e(k)}</dt><dd>{_e(_compact(v))}</dd>"
        for k, v in kept
        if v not in (None, "", [], {})
    )
    return f'<dl class="kv">{rows}</dl>' if rows else ""


def _indicator_text(value: Any) -> str:
    # Counts such as population arrive as ints; read as quantities they need separators.
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return format_value(value)


def _local_section(local: Mapping[str, Any]) -> str:
    if not local:
        return ""
    name = local.get("name") or _("Local city")
    where = ", ".join(
        str(local[k]) for k in ("admin1_name", "country_name") if local.get(k) not in (None, "")
    )
    heading = f"<h2>{_e(_('Local city: %(city)s') % {'city': name})}</h2>"
    if where:
        heading += f'<p class="sub">{_e(where)}</p>'
    rows = []
    for ind in INDICATORS:
        if not any(k in local for k in (ind.name, f"{ind.name}_level")):
            continue
        value = local.get(ind.name)
        level = local.get(f"{ind.name}_level") or ("missing" if _is_missing(value) else "")
        rows.append(
            "<tr>"
            f"<th scope=row>{_e(ind.label)}</th>"
            f'<td class="num">{_e(_indicator_text(value))}</td>'
            f"<td>{_e(ind.unit)}</td>"
            f"<td>{_level_badge(level)}</td>"
            f"<td>{_e(format_value(local.get(f'{ind.name}_source')))}</td>"
            f"<td>{_e(format_value(local.get(f'{ind.name}_year')))}</td>"
            "</tr>"
        )
    table = ""
    if rows:
        table = (
            f"<table><thead><tr><th>{_e(_('Indicator'))}</th><th class=num>{_e(_('Value'))}</th>"
            f"<th>{_e(_('Unit'))}</th><th>{_e(_('Data level'))}</th><th>{_e(_('Source'))}</th>"
            f"<th>{_e(_('Year'))}</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )
    return f'<section id="local">{heading}{table}</section>'


def _preset(name: str) -> dict[str, Any]:
    """The preset scenario called ``name`` as a mapping, or {} if there is none.

    ``recommend()`` records only the scenario's name in ``df.attrs``; a planner reading
    the report still needs its rationale, and for presets the library has it.
    """
    try:
        from recommender.engine.scenarios import load_scenario, preset_names

        if name in preset_names():
            return to_jsonable(load_scenario(name))
    except Exception:  # the report must render even if the scenario module cannot help
        return {}
    return {}


def _number_range(band: Any, a: str, b: str) -> str:
    if not isinstance(band, Mapping) or band.get(a) is None or band.get(b) is None:
        return ""
    return f"{format_value(band[a])} – {format_value(band[b])}"


def _scenario_table(info: dict[str, Any]) -> str:
    """Weights, desirability bands and tolerances as one row per indicator."""
    weights = info.pop("weights", None) or {}
    bands = info.pop("bands", None) or {}
    tolerance = info.pop("tolerance", None) or {}
    if not any(isinstance(m, Mapping) and m for m in (weights, bands, tolerance)):
        return ""
    names = [i.name for i in INDICATORS]
    names += [n for m in (weights, bands, tolerance) for n in m if n not in names]
    rows = []
    for name in dict.fromkeys(names):
        if name not in weights and name not in bands and name not in tolerance:
            continue
        band = bands.get(name)
        rows.append(
            f"<tr><th scope=row>{_e(_label(name))}</th>"
            f'<td class="num">{_e(format_value(weights.get(name, 0)))}</td>'
            f"<td>{_e(_number_range(band, 'lo', 'hi'))}</td>"
            f"<td>{_e(_number_range(band, 'min', 'max'))}</td>"
            f'<td class="num">{_e(format_value(tolerance.get(name)))}</td></tr>'
        )
    return (
        f"<table><thead><tr><th>{_e(_('Indicator'))}</th><th class=num>{_e(_('Weight'))}</th>"
        f"<th>{_e(_('Fully desirable (partner ÷ local)'))}</th>"
        f"<th>{_e(_('Desirable at all'))}</th>"
        f"<th class=num>{_e(_('Symmetry tolerance'))}</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table><p class=note>"
        + _e(_("Ranges are ratios partner ÷ local city; for HDI, differences partner − local."))
        + "</p>"
    )


def _scenario_section(meta: Mapping[str, Any]) -> str:
    scenario = meta.get("scenario")
    if isinstance(scenario, Mapping):
        info = dict(scenario)
    elif scenario not in (None, ""):
        info = {"name": str(scenario), **_preset(str(scenario))}
    else:
        info = {}
    name = info.pop("name", None)
    description = info.pop("description", None)
    rationale = (
        info.pop("rationale", None) or meta.get("scenario_rationale") or meta.get("rationale")
    )
    if name is None and not description and not rationale and not info:
        return ""
    shown = name if name is not None else _("custom")
    parts = [f"<h2>{_e(_('Scenario: %(name)s') % {'name': shown})}</h2>"]
    if description:
        parts.append(f"<p><strong>{_e(_(format_value(description)))}</strong></p>")
    if rationale:
        parts.append(f"<p>{_e(format_value(rationale))}</p>")
    parts.append(_scenario_table(info))
    parts.append(_kv(info.items()))
    return '<section id="scenario">' + "".join(parts) + "</section>"


def _sources_footer(meta: Mapping[str, Any]) -> str:
    sources, limits = meta.get("sources"), meta.get("limits")
    if not sources and not limits:
        return ""

    def items(value: Any) -> str:
        if isinstance(value, Mapping):
            lines = [
                f"<li><strong>{_e(k)}</strong>: {_e(format_value(v))}</li>"
                for k, v in value.items()
            ]
        elif isinstance(value, list):
            lines = [f"<li>{_e(format_value(v))}</li>" for v in value]
        else:
            lines = [f"<li>{_e(format_value(value))}</li>"]
        return "<ul>" + "".join(lines) + "</ul>"

    parts = [f"<h2>{_e(_('Sources and limits'))}</h2>"]
    if sources:
        parts.append(f"<h3>{_e(_('Sources'))}</h3>" + items(sources))
    if limits:
        parts.append(f"<h3>{_e(_('Limits'))}</h3>" + items(limits))
    return "".join(parts)


def _legend_section() -> str:
    coupling = _kv((k, _(v)) for k, v in i18n_texts.COUPLING_DESCRIPTIONS.items())
    levels = "".join(
        f"<dt>{_level_badge(level)}</dt><dd>{_e(_(i18n_texts.LEVEL_DESCRIPTIONS[level]))}</dd>"
        for level in LEVELS
        if level in i18n_texts.LEVEL_DESCRIPTIONS
    )
    return (
        f'<section id="legend"><h2>{_e(_("How to read this report"))}</h2>'
        f"<h3>{_e(_('Coupling labels'))}</h3>{coupling}"
        f"<h3>{_e(_('Indicator classes and ratios'))}</h3><p>{_e(_(CLASS_DESCRIPTION))}</p>"
        f'<h3>{_e(_("Data levels"))}</h3><dl class="kv">{levels}</dl></section>'
    )


def _extra(extra_tables: Any) -> list[tuple[str, pd.DataFrame]]:
    if not extra_tables:
        return []
    pairs = extra_tables.items() if isinstance(extra_tables, Mapping) else extra_tables
    return [(str(name), table) for name, table in pairs]


def html_report(
    df: pd.DataFrame,
    *,
    meta: Mapping[str, Any] | None = None,
    title: str | None = None,
    extra_tables: Mapping[str, pd.DataFrame] | Iterable[tuple[str, pd.DataFrame]] | None = None,
) -> str:
    """Render a shortlist (or any table) as one self-contained, printable HTML page.

    Parameters
    ----------
    df : DataFrame
        The ranked table, typically from :func:`recommender.engine.shortlist.recommend`. Columns
        ending in ``_contribution`` feed the stacked bar chart and
        ``gdp_per_capita_usd_ratio`` the GDP chart; ``<indicator>_ratio``, ``_class`` and
        ``_level`` are shown together in one cell per indicator. Missing columns only
        remove the part of the report that needs them.
    meta : mapping, optional
        Overlaid on ``df.attrs``; see the module docstring for the keys used.
    title : str, optional
        Page title; defaults to ``meta["title"]`` or one built from the local city.
    extra_tables : mapping or iterable of (heading, DataFrame), optional
        More tables appended after the charts (e.g. a scenario comparison).

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"rank": [1, 2], "name": ["Izmir", "Da Nang"],
    ...                    "gdp_per_capita_usd_ratio": [2.5, 0.8]})
    >>> page = html_report(df, title="Partners for Medan")
    >>> "<title>Partners for Medan</title>" in page, page.count('class="ratio-row"')
    (True, 2)
    """
    plain_meta = _meta(df, meta)
    df = _prepare(df)
    title = title or title_from_meta(plain_meta) or _("Sister-city partner shortlist")
    local = local_from_meta(plain_meta)
    local_name = local.get("name")

    from recommender import __version__

    subtitle = []
    scenario = plain_meta.get("scenario")
    scenario_name = scenario.get("name") if isinstance(scenario, Mapping) else scenario
    if scenario_name:
        subtitle.append(_("Scenario: %(name)s") % {"name": scenario_name})
    if plain_meta.get("method"):
        subtitle.append(_("Method: %(name)s") % {"name": format_value(plain_meta["method"])})
    subtitle.append(ngettext("%(n)s row", "%(n)s rows", len(df)) % {"n": len(df)})
    if plain_meta.get("generated_at"):
        subtitle.append(
            _("Generated %(when)s") % {"when": format_value(plain_meta["generated_at"])}
        )

    settings = [
        (k, v) for k, v in plain_meta.items() if k not in _META_HANDLED and k != "generated_at"
    ]

    # The answer first (top candidates and the map), the method after: a planner on a
    # laptop or a phone sees the candidates before any settings.
    body = [f"<header><h1>{_e(title)}</h1><p class=sub>{_e(' · '.join(subtitle))}</p></header>"]
    if is_batch(df):
        body.append(batch_sections(df, _ranked_table))
    else:
        body.append(answer_section(df, plain_meta))
        body.append(
            f'<section id="shortlist"><h2>{_e(_("Ranked candidates"))}</h2>'
            f'<div class="table-wrap">{_ranked_table(df)}</div></section>'
        )
        chart = _contribution_chart(df)
        if chart:
            body.append(
                f'<section id="contributions"><h2>{_e(_("What makes up each score"))}</h2>'
                + chart
                + "</section>"
            )
        chart = _gdp_chart(df, local_name)
        if chart:
            heading = _("GDP per capita relative to %(city)s (log scale)") % {
                "city": local_name or _("the local city")
            }
            body.append(f'<section id="gdp"><h2>{_e(heading)}</h2>' + chart + "</section>")
    for k, (heading, table) in enumerate(_extra(extra_tables), start=1):
        body.append(
            f'<section id="extra-{k}"><h2>{_e(heading)}</h2>'
            + f'<div class="table-wrap">{_plain_table(_prepare(table))}</div>'
            + "</section>"
        )
    body.append(_local_section(local))
    body.append(_scenario_section(plain_meta))
    if _kv(settings):
        body.append(
            f'<section id="settings"><details class="method"><summary>{_e(_("Settings"))}</summary>'
            f"{_kv(settings)}</details></section>"
        )
    body.append(_legend_section())
    body.append(
        "<footer>"
        + _sources_footer(plain_meta)
        + f'<p class="note">{_e(_("Generated by sistercity %(version)s.") % {"version": __version__})}</p></footer>'
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="sistercity {_e(__version__)}">\n'
        f"<title>{_e(title)}</title>\n<style>\n{CSS}\n{ANSWER_CSS}\n</style>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body>\n</html>\n"
    )
