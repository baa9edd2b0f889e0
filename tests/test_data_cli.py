"""City resolution, user CSVs and the cities / data commands on the packaged data."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from recommender.cli.commands import cli
from recommender.data.tables import apply_user_cities, load_cities, resolve_city, search_cities
from recommender.errors import (
    AmbiguousCityError,
    DataValidationError,
    FilterError,
    UnknownCityError,
)


@pytest.fixture(scope="module")
def cities():
    return load_cities()


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


# --- resolve_city ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "city_id"),
    [
        ("Medan", 1214520),
        ("medan", 1214520),
        ("Kota Medan", 1214520),
        ("Penang", 1735106),
        ("Izmir", 311046),
        ("İzmir", 311046),
        ("1214520", 1214520),
        (1841811, 1841811),
        ("Gwangju, KR", None),  # still ambiguous inside Korea: checked below
    ],
)
def test_resolve_city_names_and_ids(cities, text, city_id):
    if city_id is None:
        with pytest.raises(AmbiguousCityError):
            resolve_city(text, cities=cities)
        return
    assert int(resolve_city(text, cities=cities)["city_id"]) == city_id


def test_resolve_city_typo_lists_closest_matches(cities):
    with pytest.raises(
        UnknownCityError, match=r'Unknown city "surabya"\. Closest matches: Surabaya \(ID'
    ):
        resolve_city("surabya", cities=cities)


def test_ambiguous_city_lists_both_with_country_admin1_population(cities):
    with pytest.raises(AmbiguousCityError) as err:
        resolve_city("Gwangju", cities=cities)
    msg = str(err.value)
    assert "1841811" in msg and "1841810" in msg
    assert "KR, Gwangju, pop 1,401,235" in msg and "Gyeonggi-do" in msg
    assert "id" in msg
    assert len(err.value.candidates) == 2


def test_country_narrows_same_named_cities(cities):
    assert resolve_city("George Town", country="MY", cities=cities)["city_id"] == 1735106
    assert resolve_city("George Town", country="Malaysia", cities=cities)["city_id"] == 1735106
    with pytest.raises(
        FilterError, match=r"Unknown country 'Malaysai' in --country; closest: MY \(Malaysia\)"
    ):
        resolve_city("George Town", country="Malaysai", cities=cities)


def test_unknown_id_and_empty_name(cities):
    with pytest.raises(UnknownCityError, match="No city has id 999999999"):
        resolve_city("999999999", cities=cities)
    with pytest.raises(UnknownCityError, match="empty"):
        resolve_city("  ", cities=cities)


def test_search_suggests_surabaya_for_a_typo(cities):
    res = search_cities("surabya", cities=cities)
    assert res.iloc[0]["name"] == "Surabaya"
    assert res.iloc[0]["match"] == "similar"


# --- user CSVs --------------------------------------------------------------------------


def write(tmp_path, text, name="mine.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_user_csv_overrides_and_marks_user(tmp_path, cities):
    p = write(tmp_path, "city_id,gdp_per_capita_usd,year\n1214520,9000,2025\n")
    out = apply_user_cities(cities, p)
    medan = out.set_index("city_id").loc[1214520]
    assert medan["gdp_per_capita_usd"] == 9000
    assert medan["gdp_per_capita_usd_level"] == "user"
    assert medan["gdp_per_capita_usd_source"] == "user file mine.csv"
    assert medan["gdp_per_capita_usd_year"] == 2025
    # the packaged table is untouched
    assert cities.set_index("city_id").loc[1214520, "gdp_per_capita_usd_level"] == "city"


def test_user_csv_by_name_and_country(tmp_path, cities):
    p = write(tmp_path, "name,country,hdi\nGeorge Town,MY,0.85\n")
    out = apply_user_cities(cities, p)
    assert out.set_index("city_id").loc[1735106, "hdi"] == 0.85


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo,bar\n1,2\n", r"needs a city_id column, or name and country columns"),
        ("city_id\n1214520\n", r"has no indicator column"),
        ("city_id,population\n1214520,lots\n", r'row 2, column population: "lots" is not a number'),
        (
            "city_id,population\n1214520,-5\n",
            r"row 2, column population: -5 must be a positive number",
        ),
        ("city_id,hdi\n1214520,83.7\n", r"row 2, column hdi: 83.7 is above 1"),
        ("city_id,population\n1214520,100\n42,100\n", r"row 3: no city has id 42"),
        ("name,country,population\nAtlantis,ID,100\n", r'row 2: Unknown city "Atlantis" in ID'),
        ("city_id,population,colour\n1214520,1,red\n", r'unknown column "colour"'),
        ("city_id,population\n", r"has no data rows"),
    ],
)
def test_bad_user_csvs(tmp_path, cities, text, message):
    p = write(tmp_path, text)
    with pytest.raises(DataValidationError, match=message):
        apply_user_cities(cities, p)


def test_missing_user_csv(cities, tmp_path):
    with pytest.raises(DataValidationError, match="not found"):
        apply_user_cities(cities, tmp_path / "nope.csv")


# --- CLI --------------------------------------------------------------------------------


def test_cli_cities_show_medan():
    res = run("cities", "show", "Medan")
    assert res.exit_code == 0, res.output
    out = res.output
    assert "Medan (Indonesia, North Sumatra)  id 1214520" in out
    assert "2,546,452" in out and "279.2 km²" in out and "0.837" in out
    assert "[city, 2025]" in out
    assert "IDR/USD" in out
    for partner in ["Chengdu", "Gwangju", "Ichikawa", "George Town"]:
        assert partner in out


def test_cli_cities_show_json():
    res = run("cities", "show", "Medan", "--format", "json")
    assert res.exit_code == 0
    doc = json.loads(res.output)
    assert doc["city"]["city_id"] == 1214520
    assert {r["indicator"] for r in doc["indicators"]} == {
        "population",
        "area_km2",
        "gdp_per_capita_usd",
        "hdi",
    }
    assert {p["city_id"] for p in doc["partners"]} >= {1815286, 1841811, 11837657, 1735106}


def test_cli_cities_search_typo_suggests_surabaya():
    res = run("cities", "search", "surabya")
    assert res.exit_code == 0
    assert 'No exact match for "surabya". Did you mean:' in res.output
    first = res.output.splitlines()[3]  # message, header, rule, first match
    assert "Surabaya" in first


def test_cli_ambiguous_city_is_a_one_line_error_exit_2():
    res = run("cities", "show", "Gwangju")
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith('Error: "Gwangju" matches 2 cities')
    assert "Traceback" not in res.output


def test_cli_unknown_city_exit_2_with_suggestion():
    res = run("cities", "show", "Surabya")
    assert res.exit_code == 2
    assert "Closest matches: Surabaya" in res.output


def test_cli_show_with_user_data(tmp_path):
    p = write(tmp_path, "city_id,population,year\n1214520,2600000,2026\n")
    res = run("cities", "show", "Medan", "--user-data", str(p))
    assert res.exit_code == 0, res.output
    assert "2,600,000" in res.output and "[user, 2026]" in res.output


def test_cli_bad_user_data_is_one_line(tmp_path):
    p = write(tmp_path, "city_id,population\n1214520,abc\n")
    res = run("cities", "show", "Medan", "--user-data", str(p))
    assert res.exit_code == 2
    assert (
        res.output.strip()
        == f'Error: City file "{p.name}", row 2, column population: "abc" is not a number'
    )


def test_cli_data_info():
    res = run("data", "info")
    assert res.exit_code == 0
    assert "98 kota" in res.output and "38 provincial capitals" in res.output
    assert "Coverage by indicator and data level" in res.output
    doc = json.loads(run("data", "info", "--format", "json").output)
    assert doc["cities"] >= 34_000
    assert doc["ties_cross_country"] >= 19_000
    assert doc["coverage"]["population"]["city"] / doc["cities"] >= 0.99
