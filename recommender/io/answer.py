"""The top of the HTML report: the answer first (top candidates and the map), and for a
batch a short contents list with one folded section per local city.

A planner opening the report on a 1366x768 laptop or a phone sees the candidates and where
they are before any method or settings; the method follows below. Kept apart from
:mod:`recommender.io.report` (the page and its method sections) so each file stays short.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"rank": [1], "name": ["Busan"], "country_name": ["South Korea"],
...                    "score": [0.9], "coupling": ["SB"], "why": ["richer"]})
>>> html = answer_section(df, {})
>>> 'class="toplist"' in html and "Busan" in html
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from recommender.data.countries import country_display_name
from recommender.i18n import N_, _, format_number, ngettext
from recommender.io.worldmap import COUPLING_COLOURS, svg_map

# Texts translated inside f-strings below, marked for the catalogue (Babel's extractor does
# not look inside f-strings on Python < 3.12).
_IN_FSTRINGS = (N_("Top %(n)s candidates"), N_("Shortlists by city"))

__all__ = ["ANSWER_CSS", "answer_section", "batch_sections", "is_batch", "map_points"]

ANSWER_CSS = """
.answer{display:grid;grid-template-columns:minmax(0,1.3fr) minmax(0,1fr);gap:16px;
 align-items:start;margin:.4em 0 1em}
.answer figure{margin:0}.answer svg{border:1px solid #d0d0d0;border-radius:4px}
.maplegend{font-size:.85em;color:#333;display:flex;flex-wrap:wrap;gap:2px 12px}
.maplegend i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:3px}
ol.toplist{list-style:none;margin:0;padding:0}
ol.toplist li{display:grid;grid-template-columns:1.8em minmax(0,1fr) auto auto;column-gap:6px;
 padding:3px 0;border-bottom:1px solid #e4e4e4;align-items:baseline}
.toplist .r{font-weight:700;color:#555;text-align:right}.toplist .n{font-weight:600}
.toplist .c{color:#555;font-weight:400}.toplist .s{font-variant-numeric:tabular-nums}
.toplist .w{grid-column:2/5;color:#444;font-size:.86em}
.badge{display:inline-block;min-width:2.1em;text-align:center;border-radius:3px;color:#fff;
 font-size:.78em;font-weight:700;padding:0 4px;background:#6b6b6b}
.toc{columns:3 14em;padding-left:1.2em}
details.city{border-top:1px solid #ccc;padding:.3em 0}
details.city>summary{cursor:pointer;font-weight:600;font-size:1.05em}
details.method>summary{cursor:pointer;font-weight:600}
@media (max-width:760px){.answer{grid-template-columns:1fr}body{padding:10px}
 .toc{columns:1}table{display:block;overflow-x:auto;max-width:100%}
 dl.kv{grid-template-columns:minmax(0,1fr)}dl.kv dd{overflow-wrap:anywhere;margin-bottom:4px}}
""".strip()


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _positions(ids: list[int]) -> dict[int, tuple[float, float]]:
    """(lat, lon) of GeoNames ids from the packaged table (empty if it cannot be read)."""
    try:
        from recommender.data.tables import load_cities

        cities = load_cities()
    except Exception:  # the report must render without the packaged data too
        return {}
    sub = cities[cities["city_id"].isin(ids)]
    return {
        int(i): (float(a), float(o))
        for i, a, o in zip(sub["city_id"], sub["latitude"], sub["longitude"])
    }


def map_points(df: pd.DataFrame, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Markers for the candidates (and the local city) of a shortlist frame.

    Positions come from ``latitude`` / ``longitude`` columns when present, else from the
    packaged cities table by ``city_id``. A frame without either gives no markers.
    """
    local_id = meta.get("local_city_id")
    have_cols = {"latitude", "longitude"} <= set(df.columns)
    if not have_cols and "city_id" not in df.columns:
        return []
    ids = [int(i) for i in df["city_id"].dropna()] if "city_id" in df.columns else []
    if local_id is not None:
        ids.append(int(local_id))
    pos = _positions(ids) if ids else {}
    pts: list[dict[str, Any]] = []
    if local_id is not None and int(local_id) in pos:
        lat, lon = pos[int(local_id)]
        pts.append({"kind": "local", "lat": lat, "lon": lon, "label": meta.get("local_name", "")})
    for i, r in enumerate(df.to_dict("records")):
        if have_cols:
            lat, lon = _num(r.get("latitude")), _num(r.get("longitude"))
        else:
            lat, lon = (
                pos.get(int(r["city_id"]), (None, None)) if r.get("city_id") else (None, None)
            )
        if lat is None or lon is None:
            continue
        rank = r.get("rank", i + 1)
        pts.append(
            {
                "kind": "candidate",
                "lat": lat,
                "lon": lon,
                "rank": int(rank) if _num(rank) is not None else i + 1,
                "coupling": r.get("coupling", ""),
                "label": f"{rank}. {r.get('name', '')} ({r.get('coupling', '')})",
            }
        )
    return pts


def _toplist(df: pd.DataFrame, limit: int = 10) -> str:
    items = []
    score_col = "combined" if "combined" in df.columns else "score"
    for i, r in enumerate(df.head(limit).to_dict("records")):
        country = country_display_name(r.get("country_code"), r.get("country_name"))
        coupling = r.get("coupling") or ""
        colour = COUPLING_COLOURS.get(str(coupling), "#6b6b6b")
        score = _num(r.get(score_col))
        why = r.get("why") or ""
        items.append(
            "<li>"
            f'<span class="r">{_e(r.get("rank", i + 1))}</span>'
            f'<span class="n">{_e(r.get("name", ""))}'
            f'<span class="c">{", " + _e(country) if country else ""}</span></span>'
            f'<span class="badge" style="background:{colour}">{_e(coupling)}</span>'
            f'<span class="s">{"" if score is None else format_number(score, 3)}</span>'
            f'<span class="w">{_e(why)}</span>'
            "</li>"
        )
    return '<ol class="toplist">' + "".join(items) + "</ol>"


def _legend(local_name: str) -> str:
    keys = "".join(
        f'<span><i style="background:{c}"></i>{k}</span>' for k, c in COUPLING_COLOURS.items()
    )
    return f'<figcaption class="maplegend">{keys}<span>◆ {_e(local_name)}</span></figcaption>'


def answer_section(df: pd.DataFrame, meta: Mapping[str, Any], *, with_map: bool = True) -> str:
    """The report's first section: the top candidates beside a world map of them."""
    if df.empty or "name" not in df.columns:
        return ""
    pts = map_points(df, meta) if with_map else []
    local_name = str(meta.get("local_name") or "")
    figure = ""
    if pts:
        title = _("%(city)s: candidates") % {"city": local_name} if local_name else _("Candidates")
        figure = f"<figure>{svg_map(pts, title=title)}{_legend(local_name)}</figure>"
    n = min(len(df), 10)
    return (
        f'<section id="answer"><h2>{_e(_("Top %(n)s candidates") % {"n": n})}</h2>'
        f'<div class="answer">{figure}{_toplist(df)}</div></section>'
    )


def is_batch(df: pd.DataFrame) -> bool:
    """A batch frame: shortlists of several local cities stacked."""
    return "local_city_id" in df.columns and df["local_city_id"].nunique() > 1


def batch_sections(df: pd.DataFrame, ranked_table) -> str:
    """Contents (each local city with its first candidate) and one folded section per city.

    ``ranked_table`` renders one city's rows (the report's full table).
    """
    name_col = "local_name" if "local_name" in df.columns else "local_city_id"
    groups = list(df.groupby("local_city_id", sort=False))
    toc = []
    parts = []
    for k, (cid, part) in enumerate(groups):
        local = str(part[name_col].iloc[0])
        anchor = f"city-{int(cid)}"
        first = part.iloc[0]
        toc.append(
            f'<li><a href="#{anchor}">{_e(local)}</a>: {_e(first.get("name", ""))}'
            f"{', ' + _e(first.get('country_code', '')) if first.get('country_code') else ''}</li>"
        )
        body = part.drop(
            columns=[
                c for c in ("local_city_id", "local_name", "local_kemendagri_code") if c in part
            ]
        )
        parts.append(
            f'<details class="city" id="{anchor}"{" open" if k == 0 else ""}>'
            f"<summary>{_e(local)} ({len(part)})</summary>"
            f"{_toplist(body, limit=len(body))}"
            f'<div class="table-wrap">{ranked_table(body)}</div></details>'
        )
    heading = ngettext(
        "%(n)s local city: its first candidate",
        "%(n)s local cities: the first candidate of each",
        len(groups),
    ) % {"n": len(groups)}
    return (
        f'<section id="answer"><h2>{_e(heading)}</h2>'
        f'<ol class="toc">{"".join(toc)}</ol></section>'
        f'<section id="shortlist"><h2>{_e(_("Shortlists by city"))}</h2>{"".join(parts)}</section>'
    )
