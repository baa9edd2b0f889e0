"""An offline world map as inline SVG: country outlines plus cities coloured by coupling.

The outlines are the project's own table ``data/world_outline.json`` (Natural Earth 1:110m,
compiled by ``scripts/build_world_outline.py``: SVG paths already projected into
:data:`FRAME`). Cities are projected here with the same Natural Earth I projection
(Šavrič, Jenny, Patterson, Petrovič and Hurni 2011, polynomial form), so the map needs no
JavaScript, no tile server and no network: the web app and the HTML report embed the same
SVG.

Examples
--------
>>> x, y = project(0.0, 0.0)
>>> round(x, 1), 0 < y < FRAME["height"]
(500.0, True)
>>> svg = svg_map([{"lon": 98.67, "lat": 3.59, "kind": "local", "label": "Medan"}])
>>> svg.startswith("<svg") and "Medan" in svg
True
"""

from __future__ import annotations

import functools
import html
import json
import math
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from recommender.data.countries import country_by_number
from recommender.i18n import current_language, language

__all__ = ["COUPLING_COLOURS", "FRAME", "load_outline", "project", "svg_map"]

WIDTH = 1000.0
LAT_TOP = 84.0
LAT_BOTTOM = -58.0


def _raw(lon: float, lat: float) -> tuple[float, float]:
    """Natural Earth I in radians-based units (x east, y north)."""
    lam = math.radians(lon)
    phi = math.radians(lat)
    p2 = phi * phi
    p4 = p2 * p2
    x = lam * (0.8707 - 0.131979 * p2 + p4 * (-0.013791 + p4 * (0.003971 * p2 - 0.001529 * p4)))
    y = phi * (1.007226 + p2 * (0.015085 + p4 * (-0.044475 + 0.028874 * p2 - 0.005916 * p4)))
    return x, y


_X_MAX = _raw(180.0, 0.0)[0]
_Y_TOP = _raw(0.0, LAT_TOP)[1]
_Y_BOTTOM = _raw(0.0, LAT_BOTTOM)[1]
_SCALE = WIDTH / (2 * _X_MAX)
FRAME: dict[str, float] = {
    "width": WIDTH,
    "height": round((_Y_TOP - _Y_BOTTOM) * _SCALE, 1),
    "lat_top": LAT_TOP,
    "lat_bottom": LAT_BOTTOM,
}
"""The map's pixel frame: longitudes -180..180 across ``width``, latitudes 84..-58 down."""

# Okabe-Ito colours, distinguishable with the common colour-vision deficiencies; the same
# letters as the coupling labels of the shortlist.
COUPLING_COLOURS = {
    "SB": "#0072B2",
    "BS": "#D55E00",
    "BB": "#009E73",
    "SS": "#CC79A7",
}
UNKNOWN_COLOUR = "#6b6b6b"


def project(lon: float, lat: float) -> tuple[float, float]:
    """Pixel position of (lon, lat) in :data:`FRAME` (latitudes outside are clamped).

    Examples
    --------
    >>> project(-180, 0)[0], project(180, 0)[0]
    (0.0, 1000.0)
    """
    lat = min(max(lat, LAT_BOTTOM), LAT_TOP)
    x, y = _raw(lon, lat)
    return (x + _X_MAX) * _SCALE, (_Y_TOP - y) * _SCALE


def _outline_path() -> Path:
    try:
        return Path(str(resources.files("recommender.data_files") / "world_outline.json"))
    except ModuleNotFoundError:  # pragma: no cover - running from a bare source tree
        return Path(__file__).resolve().parents[2] / "data" / "world_outline.json"


@functools.lru_cache(maxsize=1)
def load_outline() -> dict[str, Any]:
    """The compiled outline table (cached); see ``scripts/build_world_outline.py``."""
    return json.loads(_outline_path().read_text(encoding="utf-8"))


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _countries_svg() -> str:
    outline = load_outline()
    return "".join(
        f'<path d="{c["d"]}"><title>{_e(country_by_number(c.get("id"), c["name"]))}</title></path>'
        for c in outline["countries"]
    )


@functools.lru_cache(maxsize=4)
def _countries_cached(lang: str) -> str:
    """The land shapes with each country's name in ``lang`` (built once per language)."""
    with language(lang):
        return _countries_svg()


CANDIDATE_RADIUS = 11.0


def _spread(pts: list[dict[str, Any]]) -> list[tuple]:
    """Pixel positions, numbered candidates nudged apart so none hides another.

    Returns ``(x, y, x0, y0)`` per point (``x`` None when it has no position): the drawn
    position and the true one. Candidates are placed best rank first; one that would
    overlap an already placed candidate moves outwards on a spiral in steps of a marker's
    size until it is free (deterministic: the same points give the same picture).
    """
    out: list[tuple] = []
    taken: list[tuple[float, float]] = []
    by_rank = sorted(
        range(len(pts)),
        key=lambda i: (pts[i].get("kind") != "candidate", pts[i].get("rank") or 0),
    )
    result: dict[int, tuple] = {}
    for i in by_rank:
        p = pts[i]
        try:
            x0, y0 = project(float(p["lon"]), float(p["lat"]))
        except (TypeError, ValueError, KeyError):
            result[i] = (None, None, None, None)
            continue
        if math.isnan(x0) or math.isnan(y0):
            result[i] = (None, None, None, None)
            continue
        x, y = x0, y0
        if p.get("kind") == "candidate" and p.get("rank") is not None:
            d = 2 * CANDIDATE_RADIUS + 1
            k = 0
            while any((x - a) ** 2 + (y - b) ** 2 < d * d for a, b in taken) and k < 60:
                k += 1
                angle = k * 2.39996  # golden angle: an even spiral
                r = d * (0.6 + 0.25 * k) ** 0.5
                x, y = x0 + r * math.cos(angle), y0 + r * math.sin(angle)
            taken.append((x, y))
        result[i] = (x, y, x0, y0)
    out = [result[i] for i in range(len(pts))]
    return out


def svg_map(
    points: Iterable[Mapping[str, Any]],
    *,
    title: str = "World map",
    css_class: str = "worldmap",
) -> str:
    """An SVG world map with ``points`` drawn on the outlines.

    Parameters
    ----------
    points : iterable of mapping
        Each has ``lon``, ``lat``, ``kind`` (``"local"``, ``"candidate"`` or ``"partner"``),
        and optionally ``coupling`` (SB / BS / BB / SS: the colour), ``label`` (tooltip),
        ``rank`` (printed in a candidate's marker) and ``href`` (the marker links there).
        Candidates are drawn last-ranked first, so the best sit on top; numbered markers
        that would overlap are nudged apart with a thin line to the city's true position.
    title : str
        Accessible name of the map.
    css_class : str
        Class of the ``<svg>`` element.

    Returns
    -------
    str
        One ``<svg>`` element, deterministic for the same input.
    """
    w, h = FRAME["width"], FRAME["height"]
    pts = [dict(p) for p in points]
    order = {"partner": 0, "candidate": 1, "local": 2}
    pts.sort(key=lambda p: (order.get(p.get("kind"), 1), -(p.get("rank") or 0)))
    marks = []
    placed = _spread(pts)
    for p, (x, y, x0, y0) in zip(pts, placed):
        if x is None:
            continue
        kind = p.get("kind", "candidate")
        if (x, y) != (x0, y0):  # moved off a neighbour: a thin line to where the city is
            marks.append(
                f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x:.1f}" y2="{y:.1f}" class="m-leader"/>'
            )
        colour = COUPLING_COLOURS.get(str(p.get("coupling", "")), UNKNOWN_COLOUR)
        label = _e(p.get("label", ""))
        coupling = _e(p.get("coupling", ""))
        if kind == "local":
            s = 8.0
            shape = (
                f'<rect x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.0f}" height="{2 * s:.0f}" '
                f'transform="rotate(45 {x:.1f} {y:.1f})" class="m-local"/>'
            )
        elif kind == "partner":
            shape = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" class="m-partner" stroke="{colour}"/>'
        else:
            rank = p.get("rank")
            text = (
                f'<text x="{x:.1f}" y="{y + 4.4:.1f}" class="m-rank">{int(rank)}</text>'
                if rank is not None
                else ""
            )
            shape = (
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{11 if rank is not None else 6}" '
                f'class="m-cand" fill="{colour}"/>' + text
            )
        body = f"<title>{label}</title>{shape}"
        attrs = f'class="mark {_e(kind)}" data-coupling="{coupling}"'
        if p.get("city_id") is not None:
            attrs += f' data-city="{int(p["city_id"])}"'
        if p.get("href"):
            marks.append(f'<a href="{_e(p["href"])}" {attrs}>{body}</a>')
        else:
            marks.append(f"<g {attrs}>{body}</g>")
    style = (
        "<style>"
        ".land path{fill:#e4e7ea;stroke:#fff;stroke-width:.5}"
        ".m-cand{stroke:#fff;stroke-width:1.2}"
        ".m-partner{fill:#fff;stroke-width:3}"
        ".m-local{fill:#111;stroke:#fff;stroke-width:1.5}"
        ".m-leader{stroke:#333;stroke-width:.8}"
        ".m-rank{font:bold 12px system-ui,Arial,sans-serif;fill:#fff;text-anchor:middle;"
        "pointer-events:none}"
        "</style>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:g} {h:g}" '
        f'class="{_e(css_class)}" role="img" aria-label="{_e(title)}">'
        f"<title>{_e(title)}</title>{style}"
        f'<rect width="{w:g}" height="{h:g}" fill="#f7fbff"/>'
        f'<g class="land">{_countries_cached(current_language())}</g>'
        f'<g class="marks">{"".join(marks)}</g></svg>'
    )
