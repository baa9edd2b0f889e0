"""Factory fixtures: small synthetic city and tie tables that follow the data contract.

``make_cities(rows, n_random=0)`` builds a cities table with exactly the columns of
:data:`recommender.data.schema.CITY_COLUMNS`; each row is a dict of the values that matter for a
test, everything else gets a sensible default. ``toy_world()`` is a tiny world where the
right Small-Big partner of the local city is obvious (the engine's "checkerboard").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import pytest

from recommender.data.indicators import INDICATOR_NAMES
from recommender.data.schema import CITY_COLUMNS, TIE_COLUMNS

CONTINENT_OF = {
    "ID": "AS", "JP": "AS", "KR": "AS", "CN": "AS", "IN": "AS", "MY": "AS", "SG": "AS",
    "TH": "AS", "VN": "AS", "PH": "AS", "DE": "EU", "FR": "EU", "NL": "EU", "CH": "EU",
    "GB": "EU", "TR": "AS", "BG": "EU", "US": "NA", "MX": "NA", "CA": "NA", "BR": "SA",
    "AR": "SA", "AU": "OC", "NZ": "OC", "NG": "AF", "KE": "AF", "EG": "AF", "ZA": "AF",
}  # fmt: skip
COUNTRY_NAMES = {
    "ID": "Indonesia", "JP": "Japan", "KR": "South Korea", "CN": "China", "IN": "India",
    "MY": "Malaysia", "SG": "Singapore", "TH": "Thailand", "VN": "Vietnam",
    "PH": "Philippines", "DE": "Germany", "FR": "France", "NL": "Netherlands",
    "CH": "Switzerland", "GB": "United Kingdom", "TR": "Turkey", "BG": "Bulgaria",
    "US": "United States", "MX": "Mexico", "CA": "Canada", "BR": "Brazil",
    "AR": "Argentina", "AU": "Australia", "NZ": "New Zealand", "NG": "Nigeria",
    "KE": "Kenya", "EG": "Egypt", "ZA": "South Africa",
}  # fmt: skip


def _default_row(i: int) -> dict:
    return {
        "city_id": 1000 + i,
        "name": f"City {i}",
        "country_code": "JP",
        "admin1_code": "01",
        "admin1_name": "Region One",
        "latitude": 0.0,
        "longitude": 100.0 + i * 0.1,
        "is_capital": False,
        "is_local": False,
        "local_role": "",
        "kemendagri_code": "",
        "n_partners": 0,
        "population": 1_000_000.0,
        "area_km2": 300.0,
        "gdp_per_capita_usd": 10_000.0,
        "hdi": 0.8,
    }


def build_cities(rows: Iterable[Mapping] = (), *, n_random: int = 0, seed: int = 0) -> pd.DataFrame:
    """A cities table with the CITY_COLUMNS, from explicit rows plus random ones.

    A row may give ``levels`` (indicator -> level, default ``"city"``); a NaN value gets
    level ``missing``. Random cities (``n_random``) spread over 28 countries with
    log-normal sizes and incomes, a few missing and imputed values: enough to exercise
    filters, caps and ties, and to time the engine on a 34k-city pool.
    """
    records = []
    for i, given in enumerate(rows):
        r = _default_row(i)
        r.update({k: v for k, v in given.items() if k != "levels"})
        levels = dict(given.get("levels", {}))
        for ind in INDICATOR_NAMES:
            value = r[ind]
            lv = levels.get(ind, "city")
            if value is None or (isinstance(value, float) and np.isnan(value)):
                r[ind], lv = np.nan, "missing"
            r[f"{ind}_level"] = lv
            r[f"{ind}_source"] = "" if lv == "missing" else "synthetic"
            r[f"{ind}_year"] = np.nan if lv == "missing" else 2024.0
        records.append(r)
    df = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    if n_random:
        df = pd.concat([df, _random_cities(n_random, seed, start=len(records))], ignore_index=True)
    for c in ("ascii_name", "alt_names", "country_name", "continent", "un_region"):
        if c not in df:
            df[c] = ""
    for c, default in {
        "feature_code": "",
        "admin2_code": "",
        "kind": "city",
        "kind_rule": "default",
        "part_of": 0,
        "prefecture_population": np.nan,
    }.items():
        if c not in df:
            df[c] = default
        df[c] = df[c].fillna(default) if c != "prefecture_population" else df[c]
    df["ascii_name"] = np.where(df["ascii_name"] == "", df["name"], df["ascii_name"])
    df["country_name"] = np.where(
        df["country_name"] == "", df["country_code"].map(COUNTRY_NAMES), df["country_name"]
    )
    df["continent"] = np.where(
        df["continent"] == "", df["country_code"].map(CONTINENT_OF), df["continent"]
    )
    df["un_region"] = np.where(df["un_region"] == "", "Synthetic region", df["un_region"])
    df["city_id"] = df["city_id"].astype("int64")
    return df[CITY_COLUMNS].reset_index(drop=True)


def _random_cities(n: int, seed: int, start: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = np.array(sorted(CONTINENT_OF))
    country = codes[rng.integers(0, len(codes), n)]
    # a country effect so that incomes cluster by country, as they do
    country_gdp = dict(zip(codes, rng.lognormal(np.log(8000), 1.0, len(codes)), strict=True))
    gdp = np.array([country_gdp[c] for c in country]) * rng.lognormal(0, 0.3, n)
    hdi = np.clip(0.35 + 0.1 * np.log(gdp / 1000) + rng.normal(0, 0.03, n), 0.3, 0.97)
    pop = np.round(rng.lognormal(np.log(60_000), 1.2, n) + 15_000)
    area = pop / rng.lognormal(np.log(2000), 0.8, n)
    df = pd.DataFrame(
        {
            "city_id": 2_000_000 + start + np.arange(n),
            "name": [f"Rand {i}" for i in range(n)],
            "country_code": country,
            "admin1_code": "01",
            "admin1_name": "Random",
            "latitude": rng.uniform(-60, 70, n),
            "longitude": rng.uniform(-180, 180, n),
            "is_capital": False,
            "is_local": False,
            "local_role": "",
            "kemendagri_code": "",
            "n_partners": 0,
            "population": pop,
            "area_km2": area,
            "gdp_per_capita_usd": gdp,
            "hdi": hdi,
        }
    )
    level_choices = np.array(["city", "region", "country", "imputed"])
    for ind in INDICATOR_NAMES:
        lv = level_choices[rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1])]
        missing = rng.random(n) < 0.02
        df.loc[missing, ind] = np.nan
        lv = np.where(missing, "missing", lv)
        df[f"{ind}_level"] = lv
        df[f"{ind}_source"] = np.where(missing, "", "synthetic")
        df[f"{ind}_year"] = np.where(missing, np.nan, 2024.0)
    return df


def build_ties(pairs: Iterable[tuple[int, int]] = (), source: str = "synthetic") -> pd.DataFrame:
    """A ties table with the TIE_COLUMNS from (city_id, city_id) pairs."""
    rows = []
    for a, b in pairs:
        a, b = sorted((int(a), int(b)))
        rows.append(
            {
                "city_a_id": a,
                "city_b_id": b,
                "source": source,
                "stage": "mou",
                "focus": "economy",
                "domestic": False,
                "raw_a": str(a),
                "raw_b": str(b),
            }
        )
    df = pd.DataFrame(rows, columns=TIE_COLUMNS)
    return df.astype({"city_a_id": "int64", "city_b_id": "int64", "domestic": bool})


# The toy world. Local city: Lokal (ID), 2.5 M people, 250 km², US$ 5,000, HDI 0.75.
LOCAL_ID = 1
TOY_ROWS = [
    dict(city_id=1, name="Lokal", country_code="ID", population=2.5e6, area_km2=250.0,
         gdp_per_capita_usd=5000.0, hdi=0.75, is_local=True, local_role="kota",
         kemendagri_code="99.71", latitude=3.6, longitude=98.7),
    # the obvious Small-Big partner: at small-big's ideal (3x richer, +0.10 HDI, same size)
    dict(city_id=10, name="Richburg", country_code="JP", population=2.5e6, area_km2=250.0,
         gdp_per_capita_usd=15000.0, hdi=0.85, latitude=35.0, longitude=135.0),
    # poorer and less developed: the Big-Small partner
    dict(city_id=11, name="Poorville", country_code="IN", population=2.2e6, area_km2=280.0,
         gdp_per_capita_usd=1500.0, hdi=0.60, latitude=20.0, longitude=78.0),
    # far too rich and far too big: "not Tokyo for every town"
    dict(city_id=12, name="Megalopolis", country_code="US", population=40e6, area_km2=14000.0,
         gdp_per_capita_usd=150000.0, hdi=0.95, latitude=40.7, longitude=-74.0),
    # rich but tiny
    dict(city_id=13, name="Tinyrich", country_code="CH", population=20000.0, area_km2=5.0,
         gdp_per_capita_usd=40000.0, hdi=0.95, latitude=46.0, longitude=7.0),
    # a near twin: symmetric
    dict(city_id=14, name="Twinton", country_code="MY", population=2.4e6, area_km2=240.0,
         gdp_per_capita_usd=5200.0, hdi=0.76, latitude=3.1, longitude=101.7),
    # rich, HDI unknown
    dict(city_id=15, name="Nohdi", country_code="KR", population=2.5e6, area_km2=250.0,
         gdp_per_capita_usd=15000.0, hdi=np.nan, latitude=37.5, longitude=127.0),
    # rich, area imputed
    dict(city_id=16, name="Imputa", country_code="DE", population=2.5e6, area_km2=250.0,
         gdp_per_capita_usd=15000.0, hdi=0.85, levels={"area_km2": "imputed"},
         latitude=52.5, longitude=13.4),
    # an existing partner, as good as Richburg
    dict(city_id=17, name="Oldfriend", country_code="AU", population=2.5e6, area_km2=250.0,
         gdp_per_capita_usd=15000.0, hdi=0.85, latitude=-33.9, longitude=151.2),
    # domestic and rich: excluded unless include_domestic
    dict(city_id=18, name="Capitalia", country_code="ID", population=10e6, area_km2=660.0,
         gdp_per_capita_usd=20000.0, hdi=0.85, latitude=-6.2, longitude=106.8),
    # a second Japanese city, good but only 1.4x richer (just below the small-big plateau):
    # the per-country cap matters with a third
    dict(city_id=19, name="Osakaish", country_code="JP", population=2.6e6, area_km2=220.0,
         gdp_per_capita_usd=7000.0, hdi=0.89, latitude=34.7, longitude=135.5),
    dict(city_id=20, name="Kobeish", country_code="JP", population=1.5e6, area_km2=550.0,
         gdp_per_capita_usd=18000.0, hdi=0.88, latitude=34.7, longitude=135.2),
]  # fmt: skip
TOY_TIES = [(1, 17)]


def toy_world() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The toy cities and ties tables."""
    return build_cities(TOY_ROWS), build_ties(TOY_TIES)


@pytest.fixture
def make_cities():
    """Factory: ``make_cities(rows, n_random=0, seed=0)`` -> cities DataFrame."""
    return build_cities


@pytest.fixture
def make_ties():
    """Factory: ``make_ties(pairs)`` -> ties DataFrame."""
    return build_ties


@pytest.fixture
def toy():
    """The toy world: ``(cities, ties)``; the local city is ``Lokal`` (id 1)."""
    return toy_world()


def build_tie_world(
    n_cities: int = 800, n_ties: int = 1200, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic world whose ties follow learnable rules, for the feasibility tests.

    Random cities (:func:`build_cities`), plus one Indonesian local city with partners;
    ties are drawn between cities of different countries with a probability that falls
    with distance and rises with the size of both cities, and a few country pairs are
    favoured ("sister countries"), so a model can beat chance and the baselines differ.
    """
    rng = np.random.default_rng(seed)
    local = dict(city_id=1, name="Lokal", country_code="ID", population=2.5e6,
                 area_km2=250.0, gdp_per_capita_usd=5000.0, hdi=0.75, is_local=True,
                 local_role="kota", kemendagri_code="99.71", latitude=3.6, longitude=98.7)  # fmt: skip
    cities = build_cities([local], n_random=n_cities - 1, seed=seed)
    lat = np.radians(cities["latitude"].to_numpy())
    lon = np.radians(cities["longitude"].to_numpy())
    pop = np.log(cities["population"].fillna(1e4).to_numpy())
    cc = cities["country_code"].to_numpy()
    favoured = {("DE", "FR"), ("JP", "US"), ("ID", "JP"), ("GB", "NL"), ("CN", "KR")}
    a = rng.integers(0, len(cities), n_ties * 40)
    b = rng.integers(0, len(cities), n_ties * 40)
    h = (
        np.sin((lat[b] - lat[a]) / 2) ** 2
        + np.cos(lat[a]) * np.cos(lat[b]) * np.sin((lon[b] - lon[a]) / 2) ** 2
    )
    dist = 2 * 6371 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    fav = np.array([tuple(sorted(p)) in favoured for p in zip(cc[a], cc[b])])
    logit = -dist / 2500 + 0.8 * (pop[a] + pop[b] - 2 * np.log(6e4)) + 2.5 * fav - 1.0
    keep = (a != b) & (cc[a] != cc[b]) & (rng.random(len(a)) < 1 / (1 + np.exp(-logit)))
    ids = cities["city_id"].to_numpy()
    pairs = {tuple(sorted((int(ids[x]), int(ids[y])))) for x, y in zip(a[keep], b[keep])}
    pairs = sorted(pairs)
    pairs = [pairs[k] for k in rng.permutation(len(pairs))[:n_ties]]
    pairs += [(1, int(i)) for i in ids[cc == "JP"][:4]]  # the local city has partners
    ties = build_ties(sorted(set(pairs)))
    return cities, ties


@pytest.fixture(scope="session")
def tie_world():
    """Factory for :func:`build_tie_world`: ``tie_world(n_cities, n_ties, seed)``."""
    return build_tie_world


@pytest.fixture(autouse=True)
def _english_locale(monkeypatch):
    """Tests read English output unless they ask for another language (``--lang``)."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


# --------------------------------------------------------------------------- known failures
# A known failure is an open defect named in a closing note: ``xfail`` (not strict: a fix
# turns it green and the entry must then go) with the reason, so that the rest of the suite
# still guards a merge. The three listed after the second wave are fixed (the pruned
# feasibility path, and a stale expectation in test_features); none is open now.

KNOWN_FAILURES: dict[str, str] = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        base = item.nodeid.split("[")[0]
        reason = KNOWN_FAILURES.get(base)
        if reason and not config.getoption("--runxfail"):
            item.add_marker(pytest.mark.xfail(reason=f"known defect: {reason}", strict=False))
