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
    "feature_code",  # GeoNames feature code (PPLC, PPLA.., PPL, PPLX ...); "" if not listed
    "admin2_code",  # GeoNames admin2 code; "" if none
    "kind",  # "city", "city_part" (a part of a bigger city) or "other"; see KINDS
    "kind_rule",  # the rule that decided kind (scripts/build_pool.py): "default", "pplx", ...
    "part_of",  # for a city_part: city_id of the city it belongs to (0 if none found)
    "prefecture_population",  # Chinese prefecture-level cities: the whole prefecture's
    # resident population (incl. rural counties), as context; NaN elsewhere
]

KINDS = ("city", "city_part", "other")
"""What a row is: a city a mayor can sign with, a part of a bigger city, or another place."""

POOL_COLUMNS = ["feature_code", "admin2_code", "kind", "kind_rule", "part_of"]
"""Columns a user's own cities table may lack: then every row counts as a city."""

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

ELIGIBILITY_COLUMNS = ["country_code", "country_name", "eligibility", "reason", "legal_source"]
"""``data/eligibility.csv``: may an Indonesian local government sign with this country's
cities? ``eligibility`` is ``yes``, ``restricted`` (flagged, kept) or ``no`` (left out of a
shortlist unless asked)."""

ELIGIBILITY_VALUES = ("yes", "restricted", "no")

STAGES = ("mou", "loi", "preliminary", "unknown")
FOCUSES = ("economy", "social-cultural", "political", "unknown")
