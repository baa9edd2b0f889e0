"""Options that mean one thing everywhere, country names as people type them, hints that
work when followed, and memo-ready exports from the command line."""

from __future__ import annotations

import json
import re

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from recommender.cli import cli, main
from recommender.data.countries import resolve_country_code, resolve_country_codes
from recommender.errors import FilterError


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("USA", "US"),
        ("UK", "GB"),
        ("Jepang", "JP"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Korea Selatan", "KR"),
        ("South Korea", "KR"),
        ("jpn", "JP"),
        ("Belanda", "NL"),
        ("Inggris", "GB"),
        ("Tiongkok", "CN"),
        ("de", "DE"),
    ],
)
def test_country_names_and_codes(text, code):
    assert resolve_country_code(text) == code


def test_country_suggestions_are_sensible():
    with pytest.raises(FilterError, match=r"Unknown country 'Jepan'.*closest: JP \(Japan\)"):
        resolve_country_code("Jepan")
    with pytest.raises(FilterError, match=r"closest: US \(United States\)"):
        resolve_country_code("USX")
    with pytest.raises(FilterError, match=r"closest: DE \(Germany\)"):
        resolve_country_code("Germny")
    # a real country without cities in the data says so instead of "unknown"
    with pytest.raises(FilterError, match=r"Antarctica \(AQ\).*has no cities in the data"):
        resolve_country_code("AQ", {"JP": "Japan"})


def test_shortlist_countries_usa_uk_jepang():
    res = run("shortlist", "Medan", "--countries", "USA,UK,Jepang", "--format", "json")
    assert res.exit_code == 0, res.output
    assert {r["country_code"] for r in json.loads(res.output)} <= {"US", "GB", "JP"}
    res = run("shortlist", "Medan", "--countries", "Türkiye", "--format", "json")
    assert res.exit_code == 0, res.output
    assert {r["country_code"] for r in json.loads(res.output)} == {"TR"}
    assert resolve_country_codes(["USA", "us", "Amerika Serikat"]) == ("US",)


def test_a_bad_country_is_one_line_with_suggestions(capsys):
    code = main(["shortlist", "Medan", "--countries", "Jepan"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "closest: JP (Japan)" in err


def test_old_option_names_explain_the_new_ones(capsys, tmp_path):
    code = main(["shortlist", "Medan", "--cities", "mine.csv"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "--cities is now called --user-data" in err and "--user-data mine.csv" in err
    # on batch, --cities keeps its one meaning, which cities (the spelling older READMEs use)
    names = tmp_path / "which.csv"
    names.write_text("name\nMedan\nBandung\n", encoding="utf-8")
    code = main(["batch", "--cities", str(names), "-o", str(tmp_path / "x.csv")])
    capsys.readouterr()
    assert code == 0
    assert set(pd.read_csv(tmp_path / "x.csv")["local_name"]) == {"Medan", "Bandung"}


def test_user_data_option_on_every_data_command():
    for command in (["shortlist"], ["explain"], ["partners"], ["compare"], ["cities", "show"]):
        res = run(*command, "--help")
        assert "--user-data" in res.output, command
        assert "--cities" not in res.output, command
    assert "--local-cities" in run("batch", "--help").output


def test_shortlist_xlsx_in_indonesian(tmp_path):
    path = tmp_path / "medan.xlsx"
    res = run("shortlist", "Medan", "--lang", "id", "-o", str(path))
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Daftar calon", "Glosarium", "Sumber", "Pengaturan"]
    ws = wb["Daftar calon"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Peringkat", "ID GeoNames", "Kota"]
    score = header.index("Skor (kecocokan strategi)") + 1
    assert ws.cell(row=2, column=score).number_format == "0.000"
    assert ws.freeze_panes == "A2"
    sources = list(wb["Sumber"].iter_rows(min_row=2, values_only=True))
    medan = [r for r in sources if r[0] == "Medan"]
    assert len(medan) == 4 and {r[4] for r in medan} <= {2024, 2025}
    assert any(r[0] == "Calon mitra" and r[3] for r in sources)  # candidates' own sources
    settings = dict(wb["Pengaturan"].iter_rows(min_row=2, values_only=True))
    assert settings["Skenario"] == "small-big" and settings["Bahasa"] == "id"


def test_markdown_has_human_headers_and_no_float_years(tmp_path):
    from recommender.io import export

    df = pd.DataFrame({"name": ["Medan"], "population_year": [2026.0], "score": [0.87341]})
    text = export.render(df, "md")
    assert "2026.0" not in text and "| 2026 |" in re.sub(" +", " ", text)
    assert "Population: year" in text and "0.873" in text


def test_compare_exports_carry_the_comparison(tmp_path):
    args = ["compare", "Medan", "--scenario", "small-big", "--scenario", "symmetric"]
    xlsx = tmp_path / "c.xlsx"
    assert run(*args, "--top", "5", "-o", str(xlsx)).exit_code == 0
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames[:3] == ["Side by side", "Overlap and correlation", "Movers"]
    assert wb.properties.title == "Scenario comparison for Medan: small-big vs symmetric"
    pairs = list(wb["Overlap and correlation"].iter_rows(values_only=True))
    assert pairs[0] == (
        "Scenario A",
        "Scenario B",
        "Overlap of the top lists",
        "Rank correlation (Spearman)",
        "Rank correlation (Kendall)",
    )
    assert pairs[1][:2] == ("small-big", "symmetric") and -1 <= pairs[1][3] <= 1
    movers = list(wb["Movers"].iter_rows(values_only=True))
    what = movers[0].index("What moves it")
    assert any("the score by" in str(r[what]) for r in movers[1:])
    settings = dict(wb["Settings"].iter_rows(min_row=2, values_only=True))
    assert settings["Title"].startswith("Scenario comparison")
    for ext, read in (("csv", pd.read_csv), ("json", pd.read_json)):
        path = tmp_path / f"c.{ext}"
        assert run(*args, "--top", "5", "-o", str(path)).exit_code == 0
        df = read(path)
        assert list(df.columns[:5]) == [
            "scenario_a",
            "scenario_b",
            "city_id",
            "name",
            "country_code",
        ]
        assert {"overlap", "spearman", "driver_text"} <= set(df.columns)
    md = tmp_path / "c.md"
    assert run(*args, "--top", "5", "-o", str(md)).exit_code == 0
    text = md.read_text()
    assert text.startswith("## Scenario comparison for Medan")
    assert "### Movers" in text and "### Overlap and correlation" in text


def test_explain_ambiguity_hint_works_when_followed(capsys):
    code = main(["explain", "Medan", "Victoria"])
    err = capsys.readouterr().err
    assert code == 2
    hint = re.search(r'the name with its country code \(e\.g\. "([^"]+)"\)', err)
    assert hint, err
    ident = re.search(r"the id \(e\.g\. (\d+)\)", err).group(1)
    for followed in (hint.group(1), ident):
        res = run("explain", "Medan", followed)
        assert res.exit_code == 0, res.output
        assert "as a partner for Medan" in res.output


def test_semicolon_csvs_as_excel_writes_them_in_indonesia(tmp_path):
    # ";" between fields, "," as decimal mark, "." grouping thousands, Windows line ends
    data = tmp_path / "medan.csv"
    data.write_bytes(b"name;country;population;area_km2\r\nMedan;ID;2.600.000;279,5\r\n")
    res = run("cities", "show", "Medan", "--user-data", str(data), "--format", "json")
    assert res.exit_code == 0, res.output
    values = {r["indicator"]: r["value"] for r in json.loads(res.output)["indicators"]}
    assert values["population"] == 2_600_000 and values["area_km2"] == 279.5
    names = tmp_path / "kota.csv"
    names.write_bytes(b"name;country\r\nMedan;ID\r\nBandung;Indonesia\r\n")
    out = tmp_path / "b.csv"
    res = run("batch", "--local-cities", str(names), "--top", "1", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out)["local_name"].tolist() == ["Medan", "Bandung"]


def test_city_lists_name_their_columns_as_planners_do(tmp_path):
    """A city list's header may say Kota, City, Nama Kota or ID, in any case, as a planner's
    spreadsheet has it; a header naming no city column says which names are understood."""
    out = tmp_path / "b.csv"
    for body, want in [
        ("\ufeffNama Kota;Negara\r\nSurabaya;ID\r\nMedan;Indonesia\r\n", ["Surabaya", "Medan"]),
        ("City,Name,ID\nnowhere,Bandung,1214520\n", ["Medan"]),  # an id column wins
        ("City,Name\nnowhere,Bandung\n", ["Bandung"]),  # "name" over "city"
        ("KOTA\nAmbon\n", ["Ambon"]),
    ]:
        names = tmp_path / "kota.csv"
        names.write_text(body, encoding="utf-8")
        res = run("batch", "--local-cities", str(names), "--top", "1", "-o", str(out), "--force")
        assert res.exit_code == 0, res.output
        assert pd.read_csv(out)["local_name"].tolist() == want, body
    bad = tmp_path / "bad.csv"
    bad.write_text("town,x\nMedan,1\n")
    res = run("batch", "--local-cities", str(bad), "-o", str(tmp_path / "no.csv"))
    assert res.exit_code == 2 and not (tmp_path / "no.csv").exists()
    assert "needs a column naming the cities: city_id (or id, " in res.output
    assert "or name (or city, city_name, kota, nama, nama_kota); found: town, x" in res.output
