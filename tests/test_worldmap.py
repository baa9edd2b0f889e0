"""The offline world map: projection, the compiled outline table, markers that never hide
each other."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.io.worldmap import CANDIDATE_RADIUS, FRAME, load_outline, project, svg_map

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "raw" / "geo" / "countries-110m.json"


def test_projection_frame():
    assert project(-180, 0)[0] == pytest.approx(0)
    assert project(180, 0)[0] == pytest.approx(FRAME["width"])
    assert project(0, FRAME["lat_top"])[1] == pytest.approx(0)
    assert project(0, FRAME["lat_bottom"])[1] == pytest.approx(FRAME["height"], abs=0.1)
    # north is up, east is right; Medan lies east of Greenwich, north of the equator
    x, y = project(98.67, 3.59)
    assert x > FRAME["width"] / 2 and y < project(0, 0)[1]


def test_outline_table_is_complete_and_inside_the_frame():
    outline = load_outline()
    names = {c["name"] for c in outline["countries"]}
    assert {"Indonesia", "Japan", "Brazil", "Russia", "Fiji"} <= names
    assert "Antarctica" not in names
    numbers = [float(v) for c in outline["countries"] for v in re.findall(r"-?\d+\.?\d*", c["d"])]
    # antimeridian copies reach past the edges and are clipped by the viewBox; nothing else
    assert min(numbers) > -FRAME["width"] and max(numbers) < 2 * FRAME["width"]


@pytest.mark.skipif(not RAW.exists(), reason="../shared/raw is not next to this checkout")
def test_outline_rebuild_is_byte_identical(tmp_path):
    out = tmp_path / "world.json"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_world_outline.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == (ROOT / "data" / "world_outline.json").read_bytes()
    assert json.loads(out.read_text())["projection"] == "Natural Earth I"


def test_numbered_markers_never_overlap():
    # Tokyo and Yokohama, Berlin and Hamburg: close enough to hide each other unmoved
    cities = [(139.69, 35.69), (139.64, 35.44), (13.40, 52.52), (10.0, 53.55), (9.99, 53.6)]
    pts = [
        {"kind": "candidate", "lon": lon, "lat": lat, "rank": k + 1, "coupling": "SB"}
        for k, (lon, lat) in enumerate(cities)
    ]
    svg = svg_map(pts)
    centres = [
        (float(a), float(b))
        for a, b in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="11"', svg)
    ]
    assert len(centres) == len(cities)
    for i, (x1, y1) in enumerate(centres):
        for x2, y2 in centres[i + 1 :]:
            assert (x1 - x2) ** 2 + (y1 - y2) ** 2 >= (2 * CANDIDATE_RADIUS) ** 2
    assert svg.count('class="m-leader"') >= 2  # the moved ones point to their city
    assert svg == svg_map(pts)  # deterministic
