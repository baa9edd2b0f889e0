"""The committed tables in data/ meet the data contract and the issue's acceptance checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from recommender.data.indicators import INDICATOR_NAMES
from recommender.data.schema import CITY_COLUMNS, TIE_COLUMNS
from recommender.data.tables import data_dir, load_cities, load_ties, partners_of, validate_cities
from recommender.errors import DataValidationError


@pytest.fixture(scope="module")
def cities() -> pd.DataFrame:
    return load_cities()


@pytest.fixture(scope="module")
def ties() -> pd.DataFrame:
    return load_ties()


def test_cities_table_size_and_population_coverage(cities):
    assert len(cities) >= 34_000
    assert list(cities.columns) == CITY_COLUMNS
    assert (cities["population_level"] == "city").mean() >= 0.99
    assert cities["city_id"].is_unique


def test_every_indicator_value_has_level_source_and_year(cities):
    validate_cities(cities)  # raises on the first violation
    for ind in INDICATOR_NAMES:
        has = cities[ind].notna()
        assert (cities.loc[has, ind + "_source"] != "").all()
        assert cities.loc[has, ind + "_year"].notna().all()
        assert set(cities.loc[~has, ind + "_level"]) <= {"missing"}
        assert set(cities[ind + "_level"]) <= {"city", "region", "country", "imputed", "missing"}


def test_validate_cities_rejects_a_value_without_provenance(cities):
    broken = cities.head(50).copy()
    broken.loc[broken.index[3], "hdi_source"] = ""
    with pytest.raises(DataValidationError, match=r"row 5, column hdi: value without source"):
        validate_cities(broken)
    broken = cities.head(50).copy()
    broken.loc[broken.index[0], "population_level"] = "guess"
    with pytest.raises(DataValidationError, match=r"'guess' is not one of city"):
        validate_cities(broken)


def test_local_cities_all_present_with_city_level_values(cities):
    local = cities[cities["is_local"]]
    assert local["local_role"].str.contains("kota").sum() == 98
    assert local["local_role"].str.contains("provincial capital").sum() == 38
    # a provincial capital inside a kabupaten carries the regency's area, which is not
    # used as the town's (Merauke: 45,016 km2): its area is missing and says why
    inside = local["local_role"].eq("provincial capital") & local["area_km2_source"].str.startswith(
        "not used"
    )
    assert 5 <= inside.sum() <= 8
    for ind in INDICATOR_NAMES:
        rows = local[~inside] if ind == "area_km2" else local
        assert (rows[ind + "_level"] == "city").all(), ind
        assert rows[ind].notna().all(), ind
    merauke = local[local["name"] == "Merauke"].iloc[0]
    assert np.isnan(merauke["area_km2"]) and merauke["area_km2_level"] == "missing"
    assert (
        "45,016" in merauke["area_km2_source"] and "Kabupaten Merauke" in merauke["area_km2_source"]
    )
    # Kemendagri codes look like "12.71" (kota) or "31" (DKI Jakarta)
    assert local["kemendagri_code"].str.fullmatch(r"\d\d(\.\d\d)?").all()


def test_medan_figures(cities):
    medan = cities.set_index("city_id").loc[1214520]
    assert medan["kemendagri_code"] == "12.71"
    assert medan["population"] == pytest.approx(2.5e6, rel=0.05)
    assert medan["area_km2"] == pytest.approx(279.2, abs=0.1)
    assert round(medan["hdi"], 3) == 0.837
    assert medan["hdi_year"] == 2025 and "BPS" in medan["hdi_source"]
    assert "IDR/USD" in medan["gdp_per_capita_usd_source"]
    assert "15,855.4" in medan["gdp_per_capita_usd_source"]
    # GRDP 132,571 thousand rupiah / 15,855.4 IDR per USD
    assert medan["gdp_per_capita_usd"] == pytest.approx(132_571_000 / 15_855.4, rel=1e-4)


def test_china_prefecture_values_are_city_level(cities):
    chengdu = cities.set_index("city_id").loc[1815286]
    assert chengdu["gdp_per_capita_usd_level"] == "city"
    assert "CNY/USD" in chengdu["gdp_per_capita_usd_source"]
    # the prefecture's area is the wider unit's, rural counties included: level region
    assert chengdu["area_km2"] == pytest.approx(14335, rel=0.01)
    assert chengdu["area_km2_level"] == "region"
    assert "not the city's own area" in chengdu["area_km2_source"]


def test_china_population_is_urban_with_prefecture_as_context(cities):
    cn = cities[cities["country_code"] == "CN"]
    pref = cn[cn["prefecture_population"].notna()]
    assert len(pref) >= 250
    # the population compared is GeoNames' city figure, never the prefecture total
    assert pref["population_source"].str.startswith("GeoNames").all()
    zhoukou = cn[cn["name"] == "Zhoukou"].iloc[0]
    assert zhoukou["population"] < 1e6 < zhoukou["prefecture_population"]
    # no area is imputed from a density that includes rural counties
    assert not (cn["area_km2_level"] == "imputed").any()
    assert (cities["area_km2_level"] == "imputed").sum() == (
        cities["area_km2_source"].str.contains("imputed").sum()
    )
    imp = cities[cities["area_km2_level"] == "imputed"]
    assert set(imp["country_code"]) <= {"ID"}
    # a Chinese city that is not a prefecture keeps the country figure
    cn = cities[cities["country_code"] == "CN"]
    assert (cn["gdp_per_capita_usd_level"] == "country").any()


def test_imputed_area_says_so(cities):
    imp = cities[cities["area_km2_level"] == "imputed"]
    assert len(imp) > 0
    assert imp["area_km2_source"].str.startswith("imputed").all()


def test_gdl_crosswalk_written_for_audit():
    xw = pd.read_csv(data_dir() / "gdl_crosswalk.csv", keep_default_na=False)
    assert {"country_code", "admin1_code", "gdl_code", "method"} <= set(xw.columns)
    methods = ["exact", "alias", "fuzzy", "none", "ambiguous"]
    methods += ["former_name_exact", "former_name_fuzzy"]  # GDL keeps pre-reform names
    assert (xw["method"].isin(methods)).all()
    assert (xw["gdl_code"] != "").sum() > 1000


def test_ties_table(ties, cities):
    assert list(ties.columns) == TIE_COLUMNS
    assert (ties["city_a_id"] < ties["city_b_id"]).all()
    assert not ties.duplicated(["city_a_id", "city_b_id"]).any()
    assert (~ties["domestic"]).sum() >= 19_000
    known = set(cities["city_id"])
    assert set(ties["city_a_id"]) <= known and set(ties["city_b_id"]) <= known
    cc = cities.set_index("city_id")["country_code"]
    same = ties["city_a_id"].map(cc).to_numpy() == ties["city_b_id"].map(cc).to_numpy()
    assert np.array_equal(same, ties["domestic"].to_numpy())


@pytest.mark.parametrize(
    ("city_id", "must_include"),
    [
        (1214520, {1815286, 1841811, 11837657, 1735106}),  # Medan
        (1650357, {1795565, 1835848}),  # Bandung: Shenzhen, Seoul
        (1625822, {1859307, 311046, 1815286}),  # Surabaya: Kitakyushu, Izmir, Chengdu
    ],
)
def test_named_partners_by_id(ties, cities, city_id, must_include):
    got = set(partners_of(city_id, ties, cities)["city_id"])
    assert must_include <= got
    assert 1841810 not in got  # Gwangju, Gyeonggi is not Medan's partner


@pytest.mark.parametrize(
    ("city_id", "names"),
    [
        (
            1650357,
            {
                "Braunschweig",
                "Cotabato",
                "Cuenca",
                "Fort Worth",
                "Liuzhou",
                "Namur",
                "Petaling Jaya",
                "Suwon",
                "Yingkou",
            },
        ),
        (
            1625822,
            {
                "Busan",
                "Guangzhou",
                "Kaohsiung",
                "Kochi",
                "Liverpool",
                "Monterrey",
                "Seattle",
                "Shah Alam",
                "Varna",
                "Xiamen",
            },
        ),
    ],
)
def test_named_partners_by_name(ties, cities, city_id, names):
    got = set(partners_of(city_id, ties, cities)["name"])
    assert names <= got, names - got


def test_sinambela_ties_are_marked(ties):
    s = ties[ties["source"] == "sinambela-2025"]
    pairs = {tuple(sorted(p)) for p in zip(s["city_a_id"], s["city_b_id"])}
    for pair in [
        (1650357, 1795565),
        (1650357, 1835848),
        (1625822, 1859307),
        (1625822, 311046),
        (1625822, 1815286),
    ]:
        in_any = ((ties["city_a_id"] == min(pair)) & (ties["city_b_id"] == max(pair))).any()
        assert in_any, pair
    assert len(pairs) >= 1


def test_manifest_checksums_match_committed_files():
    import hashlib

    man = json.loads((data_dir() / "MANIFEST.json").read_text())
    for name, digest in man["checksums_sha256"].items():
        assert hashlib.sha256((data_dir() / name).read_bytes()).hexdigest() == digest, name
    assert man["rows"]["cities"] == len(load_cities())
    cov = man["coverage_by_level"]["population"]
    assert math.isclose(sum(cov.values()), man["rows"]["cities"])


def test_match_audit_and_sample_written():
    audit = json.loads((data_dir() / "match_audit.json").read_text())
    assert audit["ties"]["cross_country_pairs_matched"] >= 19_000
    sample = pd.read_csv(data_dir() / "match_sample.csv")
    assert len(sample) == 100
