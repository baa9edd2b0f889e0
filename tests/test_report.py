"""Tests for recommender.io.report: the self-contained HTML report."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.i18n import level_label
from recommender.io import export
from recommender.io.report import COUPLING_DESCRIPTIONS, LEVEL_DESCRIPTIONS, html_report

INDICATORS = ("population", "area_km2", "gdp_per_capita_usd", "hdi")
EVIL = '<script>alert("x")</script> & Co'


@pytest.fixture
def make_shortlist():
    """Factory for a shortlist shaped like ``recommend()`` output, metadata included."""

    def make(n: int = 4) -> pd.DataFrame:
        df = pd.DataFrame(
            {
                "rank": list(range(1, n + 1)),
                "city_id": [311046, 1583992, 1838524, 1850147, 2548885][:n],
                "name": ["İzmir", "Đà Nẵng", EVIL, "東京", "Fès"][:n],
                "country_code": ["TR", "VN", "KR", "JP", "MA"][:n],
                "country_name": ["Türkiye", "Viet Nam", "South Korea", "Japan", "Morocco"][:n],
                "score": [0.87, 0.81, 0.7, 0.5, 0.4][:n],
                "coupling": ["SB", "SB", "BB", "SS", "BS"][:n],
            }
        )
        for ind in INDICATORS:
            df[f"{ind}_ratio"] = [2.5, 0.25, np.nan, 40.0, 0.05][:n]
            df[f"{ind}_class"] = ["Big", "Small", "Symmetry", "Big", "Small"][:n]
            df[f"{ind}_contribution"] = [0.2, 0.2, 0.175, 0.125, 0.1][:n]
            df[f"{ind}_level"] = ["city", "country", "missing", "region", "imputed"][:n]
        df["existing_partner"] = [False, True, False, False, False][:n]
        df["existing_partner_contribution"] = [0.0, -0.1, 0.0, 0.0, 0.0][:n]
        df["why"] = ["Richer partner", "Already a partner", "No GDP data", "x", "y"][:n]
        df.attrs = {
            "local": {
                "name": "Medan",
                "country_name": "Indonesia",
                "population": 2435252,
                "population_level": "city",
                "population_source": "BPS 2023",
                "hdi": 0.812,
                "hdi_level": "region",
                "gdp_per_capita_usd": 6100.5,
                "gdp_per_capita_usd_level": "city",
            },
            "scenario": {
                "name": "small-big",
                "rationale": "A richer, more developed partner (Sinambela et al. 2025).",
            },
            "method": "weighted sum",
            "filters": {"continent": ["AS", "EU"]},
        }
        return df

    return make


class _Collector(HTMLParser):
    """Collects tags and attributes, and checks that elements close in order."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "rect", "line", "circle", "path"}

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()


def _parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    collector.close()
    assert collector.stack == [], f"unclosed: {collector.stack}"
    return collector


def test_text_is_escaped(make_shortlist):
    df = make_shortlist(4)
    page = html_report(df, title=f"Report {EVIL}", meta={"sources": [f"Source {EVIL}"]})
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page
    assert "<title>Report &lt;script&gt;" in page
    _parse(page)


def test_self_contained_without_network_or_javascript(make_shortlist):
    page = html_report(make_shortlist(4), meta={"sources": ["GeoNames"]})
    tags = _parse(page).tags
    assert not [t for t, _ in tags if t in {"script", "link", "img", "iframe", "object"}]
    assert not [
        a for _, a in tags if {"src", "href"} & set(a) or any(k.startswith("on") for k in a)
    ]
    assert "url(" not in page and "@import" not in page
    assert set(re.findall(r"https?://[^\s\"']+", page)) == {"http://www.w3.org/2000/svg"}


def test_contribution_chart_has_one_bar_group_per_row(make_shortlist):
    df = make_shortlist(5)
    page = html_report(df)
    svgs = re.findall(r"<svg xmlns=.*?</svg>", page, flags=re.S)
    charts = [ET.fromstring(s) for s in svgs]  # the SVG must be well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    contributions = next(c for c in charts if "contributions" in c.get("class"))
    groups = contributions.findall(f"{ns}g[@class='contrib-row']")
    assert len(groups) == len(df)
    # four positive segments each; the existing-partner penalty adds a fifth to row 2
    assert [len(g.findall(f"{ns}rect")) for g in groups] == [4, 5, 4, 4, 4]
    widths = [float(r.get("width")) for r in contributions.iter(f"{ns}rect")]
    assert min(widths) > 0
    assert "Đà Nẵng" in groups[1].findtext(f"{ns}title")


def test_gdp_ratio_chart_is_log_scaled(make_shortlist):
    df = make_shortlist(5)
    page = html_report(df)
    svg = re.search(r'<svg[^>]*class="chart gdp".*?</svg>', page, flags=re.S).group(0)
    chart = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    rows = chart.findall(f"{ns}g[@class='ratio-row']")
    assert len(rows) == len(df)
    bars = {i: row.find(f"{ns}rect") for i, row in enumerate(rows)}
    assert bars[2] is None  # missing ratio: no bar, a label instead
    assert "n/a" in "".join(rows[2].itertext())
    # ×2.5 and ×0.4 would be equally long on a log scale; ×40 vs ×0.025 likewise
    w = {i: float(b.get("width")) for i, b in bars.items() if b is not None}
    assert w[3] > w[0] and w[4] > w[1] > 0
    ticks = [t.text for t in chart.findall(f"{ns}text")]
    assert {"×0.1", "×1", "×10"} <= set(ticks)


def test_local_city_scenario_and_legend(make_shortlist):
    page = html_report(make_shortlist(3))
    assert "<h2>Local city: Medan</h2>" in page
    assert "2,435,252" in page and "BPS 2023" in page
    assert "Sinambela et al. 2025" in page
    assert "Scenario: small-big" in page
    for label in COUPLING_DESCRIPTIONS:
        assert f"<dt>{label}</dt>" in page
    for level in LEVEL_DESCRIPTIONS:
        assert f">{level_label(level)}</span></dt>" in page  # the word: "no data", not "missing"
    assert "Ranked candidates" in page


def test_indicator_cells_show_ratio_class_and_level(make_shortlist):
    page = html_report(make_shortlist(2))
    table = page[page.index('<section id="shortlist">') :]
    table = table[: table.index("</section>")]
    assert "×2.50" in table and "Big" in table
    assert 'class="lvl"' in table and ">country</span>" in table
    assert "population_ratio" not in table  # grouped, not one column per suffix


def test_sources_footer_only_when_given(make_shortlist):
    df = make_shortlist(2)
    assert "Sources and limits" not in html_report(df)
    page = html_report(df, meta={"sources": {"GeoNames": "CC BY 4.0"}, "limits": "Not advice."})
    assert "Sources and limits" in page
    assert "<strong>GeoNames</strong>: CC BY 4.0" in page and "Not advice." in page


def test_degrades_without_optional_columns():
    df = pd.DataFrame({"name": ["A & B"], "score": [0.5]})
    page = html_report(df)
    assert "<svg" not in page
    assert "<td>A &amp; B</td>" in page
    assert "Sister-city partner shortlist" in page
    _parse(page)
    only_contrib = pd.DataFrame({"name": ["X"], "population_contribution": [0.3]})
    page = html_report(only_contrib)
    assert page.count('class="contrib-row"') == 1 and 'class="ratio-row"' not in page


def test_extra_tables(make_shortlist):
    comparison = pd.DataFrame(
        {"small-big": [1, 2], "symmetric": [3, 1]}, index=pd.Index(["İzmir", "Fès"], name="city")
    )
    page = html_report(make_shortlist(2), extra_tables={"Rank by scenario": comparison})
    section = page[page.index('<section id="extra-1">') :]
    assert "<h2>Rank by scenario</h2>" in section
    assert "İzmir" in section and "symmetric" in section


def test_deterministic(make_shortlist):
    assert html_report(make_shortlist(4)) == html_report(make_shortlist(4))


def test_export_html_delegates_to_report(tmp_path, make_shortlist):
    path = export.write(make_shortlist(3), tmp_path / "r.html", meta={"title": "Medan"})
    assert path.read_text(encoding="utf-8") == html_report(
        make_shortlist(3), meta={"title": "Medan"}
    )


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_renders_and_prints_in_headless_chromium(tmp_path, make_shortlist):
    page = export.write(make_shortlist(5), tmp_path / "report.html")
    pdf = tmp_path / "report.pdf"
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-pdf-header-footer",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--print-to-pdf={pdf}",
        page.as_uri(),
    ]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError) as exc:  # pragma: no cover - environment
        pytest.skip(f"chromium could not run here: {exc}")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf.stat().st_size > 5000
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def test_reads_the_flat_attrs_of_recommend(make_shortlist):
    """``recommend()`` describes the local city in flat keys and compares HDI by difference."""
    df = make_shortlist(2).rename(columns={"hdi_ratio": "hdi_diff"})
    df["hdi_diff"] = [0.0576, -0.02]
    df.attrs = {
        "local_city_id": 1214520,
        "local_name": "Medan",
        "local_country_code": "ID",
        "local_values": {"population": 2546452.0, "hdi": 0.8374},
        "local_levels": {"population": "city", "hdi": "missing"},
        "scenario": {"name": "custom", "weights": {"hdi": 1.0}, "filters": {"countries": []}},
        "filters": {"countries": [], "min_population": None, "max_per_country": 2},
        "n_pool": 40476,
    }
    page = html_report(df)
    assert "<title>Sister-city partner shortlist for Medan (ID), scenario custom</title>" in page
    assert "<h2>Local city: Medan</h2>" in page and "2,546,452" in page
    assert ">no data</span>" in page[: page.index('<section id="scenario">')]
    assert "+0.0576" in page and "-0.0200" in page
    settings = page[page.index('<section id="settings">') :]
    settings = settings[: settings.index("</section>")]
    assert "Candidate pool" in settings and "40476" in settings
    assert "max_per_country: 2" in settings and "countries" not in settings  # unset: left out
    assert "local_values" not in page
