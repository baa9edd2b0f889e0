"""Compile the offline world outline used by the web app's map and the HTML report.

Reads the Natural Earth 1:110m country outlines (TopoJSON, ``world-atlas`` 2.0.2) from
``../shared/raw/geo/countries-110m.json``, decodes the shared arcs, projects every ring with
the Natural Earth I projection (:mod:`recommender.io.worldmap`), drops Antarctica (no
candidate city lies there), simplifies each ring (Douglas-Peucker, tolerance in pixels) and
writes one SVG path per country to ``data/world_outline.json``. The output is deterministic:
running the script twice gives byte-identical files.

Usage::

    python scripts/build_world_outline.py [--raw PATH] [--out data/world_outline.json]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from recommender.io.worldmap import FRAME, project

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "raw" / "geo" / "countries-110m.json"
OUT = ROOT / "data" / "world_outline.json"
TOLERANCE_PX = 0.35
"""Douglas-Peucker tolerance in map pixels (the map is :data:`FRAME` ``width`` wide)."""
MIN_RING_PX = 1.2
"""Rings whose bounding box is smaller than this in both directions are dropped."""
DROP = {"010"}  # Antarctica


def decode_arcs(topo: dict) -> list[list[tuple[float, float]]]:
    """Absolute (lon, lat) points of every arc of a quantised, delta-encoded topology."""
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)
    return arcs


def ring_points(ring: list[int], arcs: list[list[tuple[float, float]]]) -> list:
    """Join a ring's arcs (a negative index ~i means arc i reversed)."""
    out: list[tuple[float, float]] = []
    for k in ring:
        pts = arcs[k] if k >= 0 else arcs[~k][::-1]
        out.extend(pts if not out else pts[1:])
    return out


def _perp(p, a, b) -> float:
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return math.hypot(x - x1, y - y1)
    return abs(dy * x - dx * y + x2 * y1 - y2 * x1) / math.hypot(dx, dy)


def simplify(points: list[tuple[float, float]], tol: float) -> list[tuple[float, float]]:
    """Douglas-Peucker, iterative (no recursion limit on long coastlines)."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        best, at = 0.0, -1
        for k in range(i + 1, j):
            d = _perp(points[k], points[i], points[j])
            if d > best:
                best, at = d, k
        if at >= 0 and best > tol:
            keep[at] = True
            stack += [(i, at), (at, j)]
    return [p for p, k in zip(points, keep) if k]


def unwrap(lonlat: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Make a ring continuous across the antimeridian (Russia, Fiji): no 360° jumps."""
    out = [lonlat[0]]
    for lon, lat in lonlat[1:]:
        prev = out[-1][0]
        while lon - prev > 180:
            lon -= 360
        while lon - prev < -180:
            lon += 360
        out.append((lon, lat))
    return out


def ring_paths(lonlat: list[tuple[float, float]]) -> str:
    """The ring's path; a ring reaching past ±180° also gets its copy shifted by 360°.

    The map's viewBox clips each copy, so Chukotka and Fiji show on both edges without a
    line across the world.
    """
    ring = unwrap(lonlat)
    lons = [lon for lon, _ in ring]
    out = ring_path(ring)
    if max(lons) > 180:
        out += ring_path([(lon - 360, lat) for lon, lat in ring])
    if min(lons) < -180:
        out += ring_path([(lon + 360, lat) for lon, lat in ring])
    return out


def ring_path(lonlat: list[tuple[float, float]]) -> str:
    pts = [project(lon, lat) for lon, lat in lonlat]
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    if max(xs) - min(xs) < MIN_RING_PX and max(ys) - min(ys) < MIN_RING_PX:
        return ""
    pts = simplify(pts, TOLERANCE_PX)
    rounded: list[tuple[float, float]] = []
    for x, y in pts:
        q = (round(x, 1), round(y, 1))
        if not rounded or q != rounded[-1]:
            rounded.append(q)
    if len(rounded) < 3:
        return ""
    return "M" + "L".join(f"{x:g},{y:g}" for x, y in rounded) + "Z"


def build(raw: Path) -> dict:
    topo = json.loads(raw.read_text(encoding="utf-8"))
    arcs = decode_arcs(topo)
    countries = []
    for geom in topo["objects"]["countries"]["geometries"]:
        gid = str(geom.get("id", ""))
        if gid in DROP or geom["type"] not in ("Polygon", "MultiPolygon"):
            continue
        polys = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        parts = []
        for poly in polys:
            for ring in poly:
                d = ring_paths(ring_points(ring, arcs))
                if d:
                    parts.append(d)
        if parts:
            countries.append({"id": gid, "name": geom["properties"]["name"], "d": "".join(parts)})
    countries.sort(key=lambda c: (c["name"], c["id"]))
    return {
        "about": "Country outlines for the offline map, compiled by scripts/build_world_outline.py",
        "source": "Natural Earth Admin 0, 1:110m (public domain), via world-atlas 2.0.2 "
        "(ISC); made with Natural Earth",
        "projection": "Natural Earth I",
        "frame": FRAME,
        "tolerance_px": TOLERANCE_PX,
        "countries": countries,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=RAW)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    doc = build(args.raw)
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(f"Wrote {len(doc['countries'])} countries, {len(text) / 1024:.0f} KiB to {args.out}")


if __name__ == "__main__":
    main()
