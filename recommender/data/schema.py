"""The data contract of the packaged tables (see ../shared/DESIGN.md, "Data contract").

Kept in one place so the build script, the loaders, the validators and the tests agree.
"""

from __future__ import annotations

from recommender.data.indicators import INDICATOR_NAMES, provenance_columns

CITY_ID_COLUMNS = [
    "city_id",  # GeoNames geonameid (int)
    "name",
    "ascii_name",
    "alt_names",  # '|'-separated search keys: Latin-script alternate names, folded
    # to lowercase ASCII ("kota medan|penang"), used by resolve_city
    "country_code",  # ISO 3166-1 alpha-2
    "country_name",
    "continent",  # GeoNames continent code: AF AS EU NA OC SA AN
    "un_region",  # UN M49 sub-region name, e.g. "South-eastern Asia"
    "admin1_code",
    "admin1_name",
    "latitude",
    "longitude",
    "is_capital",  # national capital (bool)
    "is_local",  # an Indonesian local city: a kota or a provincial capital (bool)
    "local_role",  # "kota", "provincial capital", "kota; provincial capital" or ""
    "kemendagri_code",  # e.g. "12.71" for Kota Medan; "" for foreign cities
    "n_partners",  # number of distinct partner cities in the ties table
]

INDICATOR_COLUMNS = [c for name in INDICATOR_NAMES for c in [name, *provenance_columns(name)]]

CITY_COLUMNS = CITY_ID_COLUMNS + INDICATOR_COLUMNS

TIE_COLUMNS = [
    "city_a_id",  # smaller geonameid
    "city_b_id",  # larger geonameid
    "source",  # "wikipedia-2026", "sinambela-2025", ...
    "stage",  # "mou", "loi", "preliminary", "unknown"
    "focus",  # "economy", "social-cultural", "political", "unknown"
    "domestic",  # both cities in the same country (bool)
    "raw_a",  # the scraped "name, country" for city_a, for audit
    "raw_b",
]

STAGES = ("mou", "loi", "preliminary", "unknown")
FOCUSES = ("economy", "social-cultural", "political", "unknown")
