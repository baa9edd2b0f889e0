"""The candidate pool on the committed data: cities not parts of cities, legal eligibility,
regional economies (issue 8)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recommender.data.schema import ELIGIBILITY_VALUES, KINDS
from recommender.data.tables import data_dir, load_cities, load_eligibility, load_ties
from recommender.engine.scenarios import preset_names
from recommender.engine.shortlist import build_pool, recommend

NAMED_PARTS = {
    11072148: "Puxi",
    1798524: "Pudong",
    3046446: "Pest",
    3054667: "Buda",
    5110302: "Brooklyn",
    5133273: "Queens",
    5110266: "The Bronx",
    5125771: "Manhattan",
    5139568: "Staten Island",
    1819609: "Kowloon",
    12747063: "New Territories",
    12747064: "Hong Kong Island",
    11790342: "Setagaya",
    1808090: "Hongkou",
    1815611: "Changning",
    1800480: "Minhang",
    7802746: "Sadr City",
}


@pytest.fixture(scope="module")
def cities() -> pd.DataFrame:
    return load_cities()


def test_named_city_parts_are_parts_of_their_city(cities):
    c = cities.set_index("city_id")
    for gid, name in NAMED_PARTS.items():
        assert c.at[gid, "name"] == name
        assert c.at[gid, "kind"] == "city_part", name
        parent = c.at[gid, "part_of"]
        assert parent in c.index and c.at[parent, "kind"] == "city", name
    assert c.at[5110302, "part_of"] == 5128581  # Brooklyn -> New York City
    assert c.at[11790342, "part_of"] == 1850147  # Setagaya -> Tokyo
    assert c.at[1808090, "part_of"] == 1796236  # Hongkou -> Shanghai


@pytest.mark.parametrize(
    ("gid", "name", "rule", "city"),
    [
        (751324, "Bağcılar", "metro_district", 745044),  # ilçe of Istanbul (büyükşehir)
        (6955677, "Çankaya", "metro_district", 323786),  # Ankara's central district
        (8616124, "Hoàn Kiếm", "metro_district", 1581130),  # quận of Hanoi
        (2322733, "Surulere", "metro_district", 2332459),  # Lagos LGA
        (1861321, "Itabashi", "tokyo_ward", 1850147),  # special ward, a PPLX in GeoNames
        (2635608, "Tottenham", "city_unit", 2643743),  # Greater London
        (1262111, "Najafgarh", "city_unit", 1273294),  # Delhi NCT
        (3466489, "Ceilândia", "city_unit", 3469058),  # Brasília's Federal District
        (2187404, "Manukau City", "city_unit", 2193733),  # Auckland Council since 2010
        (1909733, "Banan", "district_name", 1814906),  # 巴南区, 20 km from Chongqing's point
    ],
)
def test_rules_find_districts_of_big_cities(cities, gid, name, rule, city):
    c = cities.set_index("city_id")
    assert c.at[gid, "name"] == name
    assert (c.at[gid, "kind"], c.at[gid, "kind_rule"]) == ("city_part", rule), name
    assert c.at[gid, "part_of"] == city, name


def test_every_part_points_at_a_city_and_kinds_are_valid(cities):
    assert set(cities["kind"]) <= set(KINDS)
    parts = cities[cities["kind"] == "city_part"]
    with_parent = parts[parts["part_of"] > 0]
    kind_of = cities.set_index("city_id")["kind"]
    parent_kind = with_parent["part_of"].map(kind_of)
    # a parent is a city, or (a handful) a section GeoNames lists without any city of its
    # admin1 within reach (outer suburbs of Melbourne under Pakenham, 40+ km out): then
    # that section has no parent of its own
    odd = with_parent[parent_kind != "city"]
    part_of = cities.set_index("city_id")["part_of"]
    assert (odd["part_of"].map(part_of) == 0).all()
    assert len(odd) <= 10, odd["name"].tolist()
    kind = cities.set_index("city_id")["kind"]
    assert kind[cities.set_index("city_id").at[2169460, "part_of"]] == "city"  # Dandenong
    assert (cities.loc[cities["kind"] != "city_part", "part_of"] == 0).all()
    # every PPLX row is a part unless it is a Japanese city's only GeoNames point
    pplx = cities[cities["feature_code"] == "PPLX"]
    kept = pplx[pplx["kind"] == "city"]
    assert set(kept["kind_rule"]) <= {"pplx_own_municipality", "cjk_city_name", "local"}
    assert set(kept["country_code"]) <= {"JP", "CN", "KR", "TW"}


def test_seat_towns_and_real_cities_stay_cities(cities):
    c = cities.set_index("city_id")
    for gid in (
        1850147,  # Tokyo
        5128581,  # New York City
        3054643,  # Budapest
        1796236,  # Shanghai
        4931972,  # Cambridge, Massachusetts (beside Boston, its own city)
        3461786,  # Guarulhos (beside São Paulo)
        1849837,  # Toyonaka (beside Osaka)
        1703417,  # Makati City
        11837657,  # Ichikawa, Chiba: GeoNames' only point of the city (a PPLX)
        1859642,  # Kawasaki, between Tokyo and Yokohama
        1848354,  # Yokohama
        1843564,  # Incheon (its own metropolitan city beside Seoul)
        2165087,  # Gold Coast (beside Brisbane's region)
        739634,  # Silivri: an ilçe of Istanbul beyond the city's reach (65 km)
        324190,  # Alanya: an ilçe of Antalya 120 km away
        1692192,  # Quezon City (Metro Manila's cities are cities)
        3979770,  # Zapopan (its own municipality beside Guadalajara)
        1790353,  # Xianyang (a prefecture city 23 km from Xi'an)
        1785623,  # Kunshan (a county-level city, 昆山市)
        1261481,  # New Delhi, the national capital, inside Delhi's NCT
        1860437,  # Kamirenjaku: Mitaka's only GeoNames point, not in Tokyo's ward area
    ):
        assert c.at[gid, "kind"] == "city", c.at[gid, "name"]


def test_manifest_counts_kinds_and_rules(cities):
    man = json.loads((data_dir() / "MANIFEST.json").read_text())
    kinds = man["kinds"]
    assert kinds["by_kind"] == {
        k: int(v) for k, v in cities["kind"].value_counts().sort_index().items()
    }
    assert sum(sum(v.values()) for v in kinds["by_rule"].values()) == len(cities)
    assert {"pplx", "reviewed", "proximity", "district_name", "default"} <= set(kinds["by_rule"])


def test_medan_ichikawa_tie_is_with_the_city_of_ichikawa(cities):
    ties = load_ties()
    pair = ties[(ties["city_a_id"] == 1214520) & (ties["city_b_id"] == 11837657)]
    assert len(pair) == 1
    assert cities.set_index("city_id").at[11837657, "kind"] == "city"


def test_padang_is_tied_to_one_suzhou_only():
    ties = load_ties()
    padang = ties[(ties["city_a_id"] == 1633419) | (ties["city_b_id"] == 1633419)]
    other = set(np.where(padang["city_a_id"] == 1633419, padang["city_b_id"], padang["city_a_id"]))
    assert 1793743 in other and 1886760 not in other


def test_no_true_duplicates_left(cities):
    from recommender.data.tables import fold

    c = cities[cities["kind"] == "city"]
    key = c["country_code"] + "|" + c["name"].map(fold)
    dup = c[key.duplicated(keep=False)]
    lat, lon = np.radians(dup["latitude"]), np.radians(dup["longitude"])
    for _, g in dup.groupby(key[dup.index]):
        la, lo = lat[g.index].to_numpy(), lon[g.index].to_numpy()
        for i in range(len(g)):
            d = 6371 * np.arccos(
                np.clip(
                    np.sin(la[i]) * np.sin(la) + np.cos(la[i]) * np.cos(la) * np.cos(lo - lo[i]),
                    -1,
                    1,
                )
            )
            d[i] = np.inf
            assert d.min() > 10, g["name"].iloc[0]
    assert 8309983 not in set(cities["city_id"])  # the second Fuzhou (Fujian) entry
    # the looser rule: "X City" / "X" within 10 km, one record entered twice (same
    # population, one name the other's alternate)
    ids = set(cities["city_id"])
    assert 1701966 in ids and 13118244 not in ids  # Mandaluyong City / Mandaluyong
    assert 11611937 in ids and 1863824 not in ids  # Hida / Furukawa
    assert 1684803 not in ids  # Tabuk (Kalinga) twice


def test_gdl_region_found_through_the_former_admin1_name(cities):
    """GDL keeps pre-reform region names: Lille (Hauts-de-France since 2016) gets GDL's
    Nord (through the former name Nord-Pas-de-Calais), Wrocław (Lower Silesia)
    Dolnoslaskie."""
    c = cities.set_index("city_id")
    assert c.at[2998324, "hdi_level"] == "region"
    assert "FRAr108 Nord" in c.at[2998324, "hdi_source"]
    assert "Dolnoslaskie" in c.at[3081368, "hdi_source"]
    xw = pd.read_csv(data_dir() / "gdl_crosswalk.csv", keep_default_na=False)
    assert xw["method"].str.startswith("former_name").sum() > 0
    man = json.loads((data_dir() / "MANIFEST.json").read_text())
    assert man["coverage_by_level"]["hdi"]["region"] >= 28_260  # before the name refresh


def test_eligibility_table_covers_every_country(cities):
    el = load_eligibility()
    assert set(el["eligibility"]) <= set(ELIGIBILITY_VALUES)
    assert set(cities["country_code"]) <= set(el["country_code"])
    status = el.set_index("country_code")["eligibility"]
    assert status["IL"] == "no" and status["XK"] == "no" and status["EH"] == "no"
    assert status["TW"] == "restricted"
    assert status["JP"] == "yes" and status["PS"] == "yes"
    legal = el.set_index("country_code")["legal_source"]
    assert "Permendagri 3/2008" in legal["IL"] and "Permenlu 3/2019" in legal["IL"]


def test_default_pool_leaves_out_ineligible_and_parts_and_says_how_many():
    df = recommend("Medan", top=50)
    left = df.attrs["left_out"]
    assert left["ineligible"] > 0 and left["city_parts"] > 0
    assert (df["eligibility"] != "no").all() and (df["kind"] == "city").all()
    assert "Jerusalem" not in set(df["name"]) and "Tel Aviv" not in set(df["name"])
    back = recommend("Medan", top=10, include_ineligible=True, countries=["IL"])
    assert (back["eligibility"] == "no").all() and len(back) > 0
    parts = recommend("Medan", top=10, include_city_parts=True, countries=["HK"])
    assert (parts["kind"] == "city_part").any()


@pytest.mark.parametrize("city", ["Medan", "Bandung", "Surabaya"])
def test_case_cities_top50_holds_no_city_part_under_any_preset(city):
    for preset in preset_names():
        df = recommend(city, preset, top=50)
        assert (df["kind"] == "city").all(), (city, preset)
        assert not set(df["city_id"]) & set(NAMED_PARTS), (city, preset)
        assert (df["eligibility"] != "no").all(), (city, preset)


def test_no_local_city_can_get_an_ineligible_candidate_under_any_preset(cities):
    """The eligibility rule is a pool filter applied before any scoring, so checking the
    pool of every local city under every preset covers every shortlist they can have."""
    from recommender.data.tables import eligibility_of

    local = cities[cities["is_local"]]
    assert len(local) >= 100
    presets = preset_names()
    for k, row in enumerate(local.itertuples()):
        # every preset for a spread of cities, the default one for all (same mask)
        for preset in presets if k % 10 == 0 else presets[:1]:
            pool = build_pool(int(row.city_id), preset)
            elig = eligibility_of(pool.country)
            assert not (elig == "no").any(), (row.name, preset)
            assert (pool.cities["kind"].to_numpy()[pool.positions] == "city").all()


def test_regional_gdp_one_known_value_per_source_country(cities):
    c = cities.set_index("city_id")
    xw = pd.read_csv(data_dir() / "kummu_crosswalk.csv", keep_default_na=False)

    def check(gid, unit, level):
        row = c.loc[gid]
        assert row["gdp_per_capita_usd_level"] == level, row["name"]
        # the input lost some letters (UTF-8 read as Mac Roman); the name shown has them back
        shown = xw.loc[xw["unit"] == unit, "unit_name"].iloc[0]
        assert f"of {shown} =" in row["gdp_per_capita_usd_source"], row["name"]
        ratio = xw.loc[xw["unit"] == unit, "ratio"].iloc[0]
        assert f"{ratio:.3f} x national" in row["gdp_per_capita_usd_source"]

    check(1856057, "Aichi", "region")  # Nagoya
    munich = xw.loc[xw["unit"].str.contains("nchen, Kreisfreie Stadt"), "unit"].iloc[0]
    check(2867714, munich, "city")  # Munich: a kreisfreie Stadt is the city itself
    assert "of München, Kreisfreie Stadt =" in c.at[2867714, "gdp_per_capita_usd_source"]
    assert not c["gdp_per_capita_usd_source"].str.contains("\u00d4\u00f8\u03a9").any()
    check(5809844, "Seattle-Tacoma-Olympia, WA", "city")  # Seattle
    check(1835848, "Seoul", "city")
    check(1275339, "Maharashtra", "region")  # Mumbai
    check(2643123, "Manchester", "region")  # ITL3 Manchester = GeoNames admin2 unit
    check(3128760, "Barcelona", "region")
    check(745044, "Istanbul", "region")
    check(2995469, "Bouches-du-Rh\u00d4\u00f8\u03a9ne", "region")  # Marseille: lost letter
    # value = national GDP per capita x ratio
    nagoya = c.loc[1856057]
    japan = c[(c["country_code"] == "JP") & (c["gdp_per_capita_usd_level"] == "country")]
    ratio = xw.loc[xw["unit"] == "Aichi", "ratio"].iloc[0]
    if len(japan):
        assert nagoya["gdp_per_capita_usd"] == pytest.approx(
            japan["gdp_per_capita_usd"].iloc[0] * ratio, rel=1e-3
        )
    # China keeps its prefecture figures
    assert c.at[1815286, "gdp_per_capita_usd_level"] == "city"
    assert "China City Macro" in c.at[1815286, "gdp_per_capita_usd_source"]


def test_regional_gdp_coverage_of_the_1000_largest_candidates(cities):
    cand = cities[(cities["kind"] == "city") & (cities["country_code"] != "ID")]
    top = cand.nlargest(1000, "population")
    fine = top["gdp_per_capita_usd_level"].isin(["city", "region"]).mean()
    assert fine >= 0.5


def test_cli_says_how_many_candidates_were_left_out():
    from click.testing import CliRunner

    from recommender.cli.commands import cli
    from recommender.i18n import format_number

    left = recommend("Medan", top=5).attrs["left_out"]
    res = CliRunner().invoke(cli, ["shortlist", "Medan", "--top", "5", "--lang", "en"])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert (
        f"{format_number(left['ineligible'])} candidates in countries without diplomatic "
        "relations or recognition left out"
    ) in out
    assert f"{format_number(left['city_parts'])} parts of cities" in out
