"""The web app in process (Starlette's TestClient): every view, its JSON twin, the errors."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from recommender import app as use  # noqa: E402
from recommender.web import create_app  # noqa: E402
from recommender.web.lang import from_accept_language  # noqa: E402


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def _error_line(html: str) -> str:
    m = re.search(r'class="error"[^>]*>([^<]*)<', html)
    assert m, html[:500]
    import html

    return html.unescape(m.group(1))


def test_index_lists_local_cities_and_its_json_twin(client):
    r = client.get("/")
    assert r.status_code == 200
    assert 'id="city"' in r.text and "data-suggest" in r.text
    twin = client.get("/index.json").json()
    assert twin["n_local"] > 100
    assert any(c["name"] == "Medan" for c in twin["local_cities"])


def test_search_suggests_local_cities(client):
    hits = client.get("/search.json", params={"q": "surabya", "local": "1"}).json()["results"]
    assert hits[0]["name"] == "Surabaya" and hits[0]["is_local"]
    page = client.get("/search", params={"q": "meda"})
    assert page.status_code == 200 and "Medan" in page.text


def test_shortlist_page_matches_the_library(client):
    expected = use.shortlist(use.ShortlistRequest(city="Medan", top=10)).frame
    r = client.get("/shortlist", params={"city": "Medan"})
    assert r.status_code == 200
    names = re.findall(r'<a class="cand" href="[^"]+">([^<]+)<', r.text)
    assert names == list(expected["name"])
    # the map: one numbered marker per candidate, the local city, the partners
    assert r.text.count('class="mark candidate"') == len(expected)
    assert r.text.count('class="mark local"') == 1
    assert r.text.count('class="mark partner"') == 4  # Chengdu, Gwangju, Ichikawa, George Town
    for fmt in ("xlsx", "csv", "html"):
        assert f'data-download="{fmt}"' in r.text


def test_shortlist_json_twin_has_rows_with_provenance(client):
    doc = client.get("/shortlist.json", params={"city": "Medan", "top": 3}).json()
    assert [r["rank"] for r in doc["rows"]] == [1, 2, 3]
    assert doc["local"]["name"] == "Medan"
    levels = {i["indicator"]: i["level"] for i in doc["local"]["indicators"]}
    assert levels["population"] == "city"
    assert {"gdp_per_capita_usd_level", "why", "latitude"} <= set(doc["rows"][0])
    assert doc["scenario"]["name"] == "small-big"


def test_weights_rerank_and_rename_the_scenario(client):
    base = client.get("/shortlist.json", params={"city": "Medan", "top": 10}).json()
    moved = client.get(
        "/shortlist.json",
        params={"city": "Medan", "top": 10, "w_gdp_per_capita_usd": 0, "w_population": 1},
    ).json()
    assert moved["scenario"]["name"] == "small-big*"
    assert moved["scenario"]["weights"]["population"] == 1.0
    assert [r["city_id"] for r in base["rows"]] != [r["city_id"] for r in moved["rows"]]


def test_fragment_is_only_the_results(client):
    r = client.get("/shortlist", params={"city": "Medan", "_fragment": "1", "w_hdi": "0.9"})
    assert r.status_code == 200
    assert "<html" not in r.text and 'class="results"' in r.text
    assert 'data-scenario="small-big*"' in r.text


def test_filters_and_extra_columns_show(client):
    r = client.get(
        "/shortlist.json", params={"city": "Surabaya", "countries": "JP,KR", "top": 5}
    ).json()
    assert {row["country_code"] for row in r["rows"]} <= {"JP", "KR"}
    assert r["attrs"]["filters"]["countries"] == ["JP", "KR"]


def test_candidate_page_explains_and_compares_side_by_side(client):
    r = client.get("/candidate", params={"city": "Medan", "candidate": "Tokyo"})
    assert r.status_code == 200
    assert "Contributions add up to the score" in r.text or "Kontribusi" in r.text
    doc = client.get("/candidate.json", params={"city": "Medan", "candidate": "Tokyo"}).json()
    total = sum(b["contribution"] for b in doc["breakdown"])
    assert total == pytest.approx(doc["summary"]["score"])
    sbs = doc["side_by_side"]
    assert [c["name"] for c in sbs["cities"]] == ["Medan", "Tokyo"]
    row = {t["indicator"]: t for t in sbs["table"]}["population"]
    assert row["level_0"] == "city" and row["source_0"]
    assert row["ratio_1"] == pytest.approx(row["value_1"] / row["value_0"])


def test_versus_two_candidates(client):
    doc = client.get("/versus.json", params={"city": "Medan", "a": "Tokyo", "b": "Busan"}).json()
    assert [c["name"] for c in doc["cities"]] == ["Medan", "Tokyo", "Busan"]
    assert all("source_2" in t and "level_2" in t for t in doc["table"])
    assert (
        client.get("/versus", params={"city": "Medan", "a": "Tokyo", "b": "Busan"}).status_code
        == 200
    )


def test_scenario_comparison(client):
    r = client.get(
        "/scenarios",
        params=[("city", "Medan"), ("scenario", "small-big"), ("scenario", "symmetric")],
    )
    assert r.status_code == 200 and "Spearman" in r.text
    doc = client.get("/scenarios.json", params={"city": "Medan"}).json()
    assert {"side_by_side", "overlap", "movers"} <= set(doc)


def test_partners_page(client):
    r = client.get("/partners", params={"city": "Medan"})
    assert r.status_code == 200 and "Ichikawa" in r.text
    doc = client.get("/partners.json", params={"city": "Medan"}).json()
    assert sorted(p["name"] for p in doc["partners"]) == [
        "Chengdu",
        "George Town",
        "Gwangju",
        "Ichikawa",
    ]


def test_downloads_use_the_writers(client):
    x = client.get("/download", params={"city": "Medan", "format": "xlsx", "top": 5})
    assert x.status_code == 200
    assert "attachment" in x.headers["content-disposition"]
    assert x.headers["content-disposition"].endswith('.xlsx"')
    sheet = pd.read_excel(io.BytesIO(x.content), sheet_name=0)
    assert len(sheet) >= 5
    c = client.get("/download", params={"city": "Medan", "format": "csv", "top": 5})
    df = pd.read_csv(io.StringIO(c.text))
    expected = use.shortlist(use.ShortlistRequest(city="Medan", top=5)).frame
    assert list(df["city_id"]) == list(expected["city_id"])
    assert "latitude" not in df.columns  # the page's map columns stay out of the file
    h = client.get("/download", params={"city": "Medan", "format": "html", "top": 5})
    assert h.text.startswith("<!DOCTYPE html>")
    j = client.get("/download", params={"city": "Medan", "format": "json", "top": 5})
    assert json.loads(j.text)


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/shortlist?city=Nowhereville", 400, 'Error: Unknown city "Nowhereville"'),
        ("/shortlist?city=Medan&top=abc", 400, "Error: top must be a whole number; got 'abc'"),
        ("/shortlist?city=Medan&top=0", 400, "Error: top must be between 1 and 100; got 0"),
        (
            "/shortlist?city=Medan&scenario=/etc/passwd",
            400,
            "Error: Unknown scenario '/etc/passwd'",
        ),
        ("/shortlist?city=Medan&w_hdi=-1", 400, "Error: Weight hdi must be a number >= 0"),
        ("/shortlist?city=Medan&countries=Atlantis", 400, "Error: Unknown country"),
        ("/shortlist", 400, "Error: city is missing"),
        ("/download?city=Medan&format=pdf", 400, "Error: "),
        ("/candidate?city=Medan", 400, "Error: city and candidate are needed"),
        ("/no/such/page", 404, 'Error: no page at "/no/such/page"'),
    ],
)
def test_errors_are_4xx_pages_with_the_cli_words(client, url, status, message):
    r = client.get(url)
    assert r.status_code == status
    assert _error_line(r.text).startswith(message)


def test_error_json_twin_and_cli_words_agree(client):
    from click.testing import CliRunner

    from recommender.cli import commands

    r = client.get("/shortlist.json", params={"city": "Nowhereville"})
    assert r.status_code == 400
    cli = CliRunner().invoke(commands.cli, ["shortlist", "Nowhereville"])
    assert cli.exit_code == 2
    assert r.json()["error"] == cli.output.strip().splitlines()[-1]


def test_static_assets_are_packaged_and_local(client):
    page = client.get("/shortlist", params={"city": "Medan"}).text
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page)
    external = [s for s in srcs if s.startswith(("http:", "https:", "//"))]
    assert not external, external
    for path in ("/static/app.css", "/static/app.js", "/static/favicon.svg"):
        assert client.get(path).status_code == 200


def test_accept_language_picks_the_default():
    from recommender.web.lang import LANGUAGES

    want = "id" if "id" in LANGUAGES else "en"
    assert from_accept_language("id-ID,id;q=0.9,en;q=0.8") == want
    assert from_accept_language("en;q=0.3, id;q=0.9") == want
    assert from_accept_language("de-DE,en;q=0.5") == "en"
    assert from_accept_language("") == "en"


def test_language_switch_sets_a_cookie(client):
    from recommender.web.lang import LANGUAGES

    for code in LANGUAGES:
        r = client.get("/", params={"lang": code})
        assert r.status_code == 200
        assert f'<html lang="{code}">' in r.text
        assert f"sistercity_lang={code}" in r.headers.get("set-cookie", "")


def test_columns_other_parts_add_are_shown(client):
    """Feasibility (and any other added column) shows when present: numbers as columns,
    texts under the row's why."""
    doc = client.get("/shortlist.json", params={"city": "Medan", "top": 3, "feasibility": 1})
    rows = doc.json()["rows"]
    assert "feasibility" in rows[0] and rows[0]["why_feasibility"]
    page = client.get("/shortlist", params={"city": "Medan", "top": 3, "feasibility": 1}).text
    import html

    assert html.escape(rows[0]["why_feasibility"]) in page
    assert page.count('class="score comb"') == 3
    # the default is the CLI's: blended; fit_only gives the pure strategy list
    default = client.get("/shortlist.json", params={"city": "Medan", "top": 3}).json()
    assert [r["city_id"] for r in default["rows"]] == [r["city_id"] for r in rows]
    fit = client.get("/shortlist.json", params={"city": "Medan", "top": 3, "fit_only": 1}).json()
    assert "feasibility" not in fit["rows"][0]


def test_serve_refuses_a_bad_or_taken_port_in_one_line():
    import socket

    from click.testing import CliRunner

    from recommender.cli import commands

    r = CliRunner().invoke(commands.cli, ["serve", "--port", "0"])
    assert r.exit_code == 2
    assert r.output.strip().endswith("Error: --port must be between 1 and 65535; got 0")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = CliRunner().invoke(commands.cli, ["serve", "--port", str(port)])
    assert r.exit_code == 2
    assert f"Error: cannot listen on 127.0.0.1:{port}" in r.output
    assert "choose another --port" in r.output


def test_every_web_asset_is_declared_package_data():
    """A template or static file that pyproject does not declare would be missing after a
    non-editable install; the outline table ships with the data files."""
    import fnmatch
    from pathlib import Path

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the tomli backport (a dependency there)
        import tomli as tomllib

    root = Path(__file__).resolve().parents[1]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = data["package-data"]["recommender.web"]
    web = root / "recommender" / "web"
    assets = [p for d in ("templates", "static") for p in (web / d).rglob("*") if p.is_file()]
    assert assets
    missing = [
        str(p.relative_to(web))
        for p in assets
        if not any(fnmatch.fnmatch(str(p.relative_to(web)), g) for g in globs)
    ]
    assert not missing, missing
    assert "recommender.web" in data["packages"]
    assert any(
        fnmatch.fnmatch("world_outline.json", g)
        for g in data["package-data"]["recommender.data_files"]
    )


def _visible(page: str) -> str:
    import html
    import re

    text = re.sub(
        r"<style.*?</style>|<script.*?</script>|<svg.*?</svg>|<[^>]+>", " ", page, flags=re.S
    )
    return re.sub(r"\s+", " ", html.unescape(text))


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/shortlist?city=Medan",
        "/candidate?city=Medan&candidate=Tokyo",
        "/versus?city=Medan&a=Tokyo&b=Busan",
        "/scenarios?city=Medan",
        "/partners?city=Medan",
        "/shortlist?city=Nowhereville",
        "/download?city=Medan&format=html",
    ],
)
def test_pages_in_indonesian_keep_no_english_template_text(client, url):
    """Every template text shown in English is gone from the Indonesian page (walks the
    catalogue's messages from the templates and the report), and numbers use id format."""
    import re

    babel = pytest.importorskip("babel.messages.extract")
    from recommender.web.lang import LANGUAGES

    if "id" not in LANGUAGES:
        pytest.fail("the Indonesian catalogue is missing")
    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "recommender"
    keywords = {"_": None, "N_": None, "ngettext": (1, 2)}
    messages = set()
    for _f, _l, msg, _c, _x in babel.extract_from_dir(
        str(root),
        [
            ("web/templates/**.html", "jinja2"),
            ("io/report.py", "python"),
            ("io/answer.py", "python"),
        ],
        keywords=keywords,
    ):
        for m in msg if isinstance(msg, tuple) else (msg,):
            messages.update(p.strip(" .:·") for p in re.split(r"%\(\w+\)s", m))
    fragments = [m for m in messages if len(m) >= 10 and " " in m]
    sep = "&" if "?" in url else "?"
    en_page = client.get(f"{url}{sep}lang=en")
    id_page = client.get(f"{url}{sep}lang=id")
    assert en_page.status_code == id_page.status_code
    assert (en_page.status_code == 400) == ("Nowhereville" in url)

    # Known gap, documented in the note: the scenario's rationale paragraph and the
    # engine's filter-step texts (report sections "scenario" and "settings") are English
    # only; every other text of the page must be translated.
    def strip(page: str) -> str:
        return re.sub(
            r'<p>[^<]*</p>(?=<table>)|<section id="settings">.*?</section>', " ", page, flags=re.S
        )

    en, idn = _visible(strip(en_page.text)), _visible(strip(id_page.text))
    shown = [f for f in fragments if f in en]
    assert shown, "no template text found on the English page"
    left = [f for f in shown if f in idn]
    assert not left, left
    if url == "/shortlist?city=Medan":  # Indonesian number format: 26.836 eligible, 0,45
        n = client.get("/shortlist.json?city=Medan").json()["attrs"]["n_eligible"]
        assert f"{n:,}".replace(",", ".") in idn and f"{n:,}" in en
