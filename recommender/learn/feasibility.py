"""Learned feasibility: which pairs of cities tend to become partners.

The strategy score of :mod:`recommender.engine.scoring` says how well a candidate *fits* what the
local city is looking for; it knows nothing about which pairs actually sign. This module
learns that from the existing ties and reports it as a separate probability, which
:func:`recommender.engine.shortlist.recommend` shows in its own column (``feasibility=True``) and
blends into a ``combined`` rank only when asked.

Pair features
-------------
A tie is unordered, so every pair is first put in a **canonical orientation**: the "local"
side is the less populous city (a missing population counts as smallest; equal populations
go to the smaller ``city_id``). The model therefore sees the same vector for ``(a, b)`` and
``(b, a)``, and the signed asymmetries keep a meaning ("how much bigger / richer is the
bigger city"). Columns (:data:`FEATURE_NAMES`):

- the :class:`~recommender.engine.estimators.FeatureBuilder` output for the oriented pair,
  computed with the same numpy kernels (the tests check the equality): signed
  asymmetries, lead counts, complementarity, distance, data-level codes;
- geography and size: ``log_distance``, ``same_continent``, ``same_un_region``, each side's
  log population, log GDP per capita, HDI and capital flag, and ``gravity`` (log
  population product over distance);
- **context counted from the ties table** (``log1p``): each city's number of partners
  (``degree_*``); ties between the two countries and each country's cross-country ties;
  the ties each city already has with the other's country (``city_country_*``); the same
  at the level of first-order regions (``region_*``: sister-region programmes make a
  city's neighbours' partners a strong hint); and the shares these make (where a country's,
  a region's or a city's ties go), the country shares shrunk towards the partner country's
  overall share by :data:`SHARE_PRIOR` pseudo-ties so that a country with few ties (such
  as Indonesia) does not get extreme shares.

**No leakage.** The context of a pair never contains the pair itself: counts are taken
from the ties table and, when the pair being scored is one of those ties, its own
contribution is subtracted (leave-one-out), so a pair gets the same features whether or
not its tie is in the table. The table's ``n_partners`` column is never used: it was
counted on the full ties table. With ``cold`` (:func:`pair_features`), *every* tie of the
first city is subtracted: the features are exactly those of a table in which that city has
no partner yet (tested).

Training set
------------
Positives: the cross-country ties, each seen from one end, its *anchor* (chosen at
random). Negatives, ``neg_ratio`` per positive (default 10), keep the anchor and replace
the partner with a city of the candidate pool of another country that is not a known
partner:

- ``1 - hard_share`` of them uniformly at random from the pool: the distribution the model
  meets when it ranks a whole pool;
- ``hard_share`` (default 0.3) are *hard*: of 24 random draws, the one closest to the true
  partner in log population and in log distance to the anchor; they teach the model what
  distinguishes a partner beyond size and distance.

**Context scheme** (``context``, default ``"cold"``): the anchor's own ties are hidden from
the counts of its pairs, positive and negative alike, which is exactly how the model is
used: for a held-out city in the evaluation and for the local city in ``recommend`` (the
shortlist is for partners it does not have). Plain leave-one-out counts would differ
between a positive (``count - 1``) and a negative of the same city (``count``), a shift a
tree model learns; hiding all of the anchor's ties treats both alike. Measured on 200
held-out cities (recall@50 of the learned model, same cities): cold 0.112, out-of-fold
("kfold") 0.108, half and half ("mixed") 0.117, all within noise; cold is kept because
it is the training-time twin of the use.

Model
-----
``model="auto"`` fits a scaled logistic regression and a histogram gradient-boosting
classifier on folds 1..4 of the positives (with their negatives), measures both on fold 0
(log loss, ROC AUC, average precision, Brier score, reliability table) and keeps the
better one by log loss, refitted on every fold. Gradient boosting wins clearly (see
``models/manifest.json`` and ``models/evaluation.md``). Its probability is used as it
comes, after the calibration check on fold 0 (Brier score, reliability table, expected
calibration error in the manifest): it is calibrated on the training mix, one positive per
``neg_ratio`` negatives, and reads "how likely this pair is a tie rather than a sampled
non-partner", a relative measure, not the chance that a memorandum will be signed.

Files
-----
``models/feasibility.joblib`` (the fitted estimator and its feature names) and
``models/manifest.json`` (its SHA-256, library versions, the SHA-256 of the training data,
parameters, seed, metrics and a fingerprint of predictions on a fixed probe set).
:func:`load_model` verifies the checksum *before* unpickling and refuses a model built
with another scikit-learn / numpy / pandas (major.minor).

Examples
--------
>>> from recommender.learn.feasibility import load_model
>>> model = load_model()  # doctest: +SKIP
>>> float(model.predict_pairs([1214520], [1835848])[0])  # Medan - Seoul  # doctest: +SKIP

Why one file (about 1,450 lines): pair features, training, calibration and the verified
loading of one model share its feature version and manifest; splitting features from
training is the learned-model issue's to do.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.data.access import get_cities, get_ties
from recommender.data.indicators import INDICATOR_NAMES
from recommender.engine.coupling import asymmetry_tolerance
from recommender.engine.features import (
    HDI_SCALE,
    MISSING_CODE,
    haversine_km,
    lead_counts,
    level_codes,
    signed_asymmetry,
    transforms_for,
)
from recommender.errors import ModelError

FEATURE_VERSION = 1
"""Bumped whenever :data:`FEATURE_NAMES` or their meaning change; a model built for another
version is refused by :func:`load_model`."""

MODEL_FILE = "feasibility.joblib"
MANIFEST_FILE = "manifest.json"
DEFAULT_SEED = 0
DEFAULT_NEG_RATIO = 10
DEFAULT_HARD_SHARE = 0.3
DEFAULT_FOLDS = 5
DEFAULT_CONTEXT = "cold"
HARD_DRAWS = 24
"""Random draws per hard negative, of which the one most like the true partner is kept."""

POOL_MIN_POPULATION = 15_000
"""The packaged pool: every city of at least this population plus every city in a tie (see
``data/MANIFEST.json``, ``build.min_population``)."""

MODELS = ("auto", "hgb", "logreg")
CHECKED_LIBRARIES = ("scikit-learn", "numpy", "pandas")
"""Libraries whose major.minor version must match the one the model was built with."""

_FB_NAMES = (
    [f"asym_{n}" for n in INDICATOR_NAMES]
    + ["n_cand_leads", "n_local_leads", "complementary", "distance_km"]
    + [f"level_{n}_{s}" for n in INDICATOR_NAMES for s in ("local", "cand")]
)
AREAS = ("region",)
"""Area systems of the context counts: ``region`` = first-order administrative division
(country + admin1 code). A finer, border-respecting 0.5-degree grid was tried as a second
system and did not help on held-out cities (NDCG@50 -0.007, paired CI [-0.011, -0.001])."""


def _area_count_names(area: str) -> list[str]:
    return [
        f"{area}_country_local",  # ties of local's area with cand's country
        f"{area}_country_cand",
        f"{area}_pair_ties",  # ties between the two areas
        f"city_{area}_local",  # ties of local with cand's area
        f"city_{area}_cand",
        f"{area}_ties_local",  # cross-country ties of local's area
        f"{area}_ties_cand",
    ]


_COUNT_NAMES = [
    "degree_local",
    "degree_cand",
    "country_pair_ties",
    "country_ties_local",
    "country_ties_cand",
    "city_country_local",
    "city_country_cand",
    *[name for area in AREAS for name in _area_count_names(area)],
]
# (name, numerator, denominator) over _COUNT_NAMES: where a country's, an area's or a
# city's ties go, as a share (trees split on ratios poorly)
_SHARES = [
    ("country_share_local", "country_pair_ties", "country_ties_local"),
    ("country_share_cand", "country_pair_ties", "country_ties_cand"),
    *[
        (f"{area}_share_{side}", f"{area}_country_{side}", f"{area}_ties_{side}")
        for area in AREAS
        for side in ("local", "cand")
    ],
    ("city_share_local", "city_country_local", "degree_local"),
    ("city_share_cand", "city_country_cand", "degree_cand"),
]
_SHARE_INDEX = [(_COUNT_NAMES.index(a), _COUNT_NAMES.index(b)) for _, a, b in _SHARES]
SHARE_PRIOR = 20.0
"""Pseudo-ties of the smoothed country shares (see :func:`_features`)."""
FEATURE_NAMES: tuple[str, ...] = tuple(
    _FB_NAMES
    + ["log_distance", "same_continent", "same_un_region"]
    + ["log_population_local", "log_population_cand", "log_gdp_local", "log_gdp_cand"]
    + ["hdi_local", "hdi_cand", "capital_local", "capital_cand", "gravity"]
    + _COUNT_NAMES
    + [name for name, _, _ in _SHARES]
)
"""Columns of the feature matrix, in order (see the module docstring)."""

_COUNT_SLICE = slice(
    FEATURE_NAMES.index(_COUNT_NAMES[0]), FEATURE_NAMES.index(_COUNT_NAMES[-1]) + 1
)
_SHARE_SLICE = slice(_COUNT_SLICE.stop, _COUNT_SLICE.stop + len(_SHARES))
_POP, _GDP, _HDI = (INDICATOR_NAMES.index(n) for n in ("population", "gdp_per_capita_usd", "hdi"))


# --------------------------------------------------------------------------- where models live


def models_dir() -> Path:
    """The folder of the trained model.

    ``$SISTERCITY_MODEL_DIR`` if set, else ``models/`` of a source checkout (next to the
    package), else the copy installed with the package (``recommender.model_files``).
    """
    env = os.environ.get("SISTERCITY_MODEL_DIR")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "models"
    if checkout.is_dir() or (checkout.parent / "pyproject.toml").exists():
        return checkout
    return Path(str(resources.files("recommender.model_files")))


def _show(path: Path) -> str:
    """A path as people read it: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- per-table arrays

# columns of the per-city block CityArrays.block: one gather gives a side of a batch of pairs
_K = len(INDICATOR_NAMES)
_B_VAL = 0  # raw indicator values, _K columns
_B_LEV = _K  # level codes, _K columns
_B_CAP, _B_LPOP, _B_LGDP, _B_HDI, _B_LAT, _B_LON = range(2 * _K, 2 * _K + 6)
_B_COUNTRY, _B_CONT, _B_REG, _B_ORIENT, _B_ID, _B_POS = range(2 * _K + 6, 2 * _K + 12)
_B_AREA = {area: 2 * _K + 12 + k for k, area in enumerate(AREAS)}  # area codes, -1 unknown
_B_WIDTH = 2 * _K + 12 + len(AREAS)


@dataclass(frozen=True)
class CityArrays:
    """What pair features need from a cities table, as one float block per city.

    Built once per table (see :func:`city_arrays`); positions index the table's rows.
    ``block`` has a trailing all-missing row so that position -1 (a city outside the
    table) gathers "unknown" values.
    """

    ids: np.ndarray
    id_sorter: np.ndarray
    countries: np.ndarray  # country codes; block holds the index into this
    n_areas: dict  # area system -> number of areas
    block: np.ndarray  # (n + 1, _B_WIDTH)

    @property
    def country(self) -> np.ndarray:
        return self.block[:-1, _B_COUNTRY].astype(np.int64)

    @property
    def values(self) -> np.ndarray:
        return self.block[:-1, _B_VAL : _B_VAL + _K]

    @property
    def levels(self) -> np.ndarray:
        return self.block[:-1, _B_LEV : _B_LEV + _K]

    @property
    def lat(self) -> np.ndarray:
        return self.block[:-1, _B_LAT]

    @property
    def lon(self) -> np.ndarray:
        return self.block[:-1, _B_LON]

    def area(self, name: str) -> np.ndarray:
        return self.block[:-1, _B_AREA[name]].astype(np.int64)

    def positions(self, city_ids) -> np.ndarray:
        """Row positions of ``city_ids`` (-1 where the id is not in the table)."""
        ids = np.asarray(city_ids, dtype=np.int64)
        if len(self.ids) == 0:
            return np.full(ids.shape, -1, dtype=np.int64)
        sorted_ids = self.ids[self.id_sorter]
        at = np.clip(np.searchsorted(sorted_ids, ids), 0, len(sorted_ids) - 1)
        found = sorted_ids[at] == ids
        return np.where(found, self.id_sorter[at], -1).astype(np.int64)


def _codes(values) -> np.ndarray:
    codes, _ = pd.factorize(pd.Series(values, dtype=object).replace("", None))
    return codes.astype(np.int64)


def _log_positive(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.where(x > 0, x, np.nan))


def _build_city_arrays(cities: pd.DataFrame) -> CityArrays:
    n = len(cities)
    ids = cities["city_id"].to_numpy(dtype=np.int64)

    def col(c: str) -> np.ndarray:
        if c not in cities:
            return np.full(n, "", dtype=object)
        return cities[c].fillna("").astype(str).to_numpy(dtype=object)

    cc = col("country_code")
    country, countries = pd.factorize(cc)
    admin = col("admin1_code")
    lat = cities["latitude"].to_numpy(dtype=float)
    lon = cities["longitude"].to_numpy(dtype=float)
    areas = {"region": _codes(np.where(admin == "", "", cc + "." + admin))}
    values = cities[list(INDICATOR_NAMES)].to_numpy(dtype=float)
    levels = np.column_stack(
        [
            level_codes(
                cities[f"{n_}_level"] if f"{n_}_level" in cities else [None] * n, values[:, j]
            )
            for j, n_ in enumerate(INDICATOR_NAMES)
        ]
    )
    cap = cities["is_capital"] if "is_capital" in cities else pd.Series(False, index=cities.index)
    block = np.full((n + 1, _B_WIDTH), np.nan)
    block[:n, _B_VAL : _B_VAL + _K] = values
    block[:n, _B_LEV : _B_LEV + _K] = levels
    block[n, _B_LEV : _B_LEV + _K] = MISSING_CODE
    block[:n, _B_CAP] = cap.fillna(False).astype(bool).to_numpy(dtype=float)
    block[n, _B_CAP] = 0.0
    block[:n, _B_LPOP] = _log_positive(values[:, _POP])
    block[:n, _B_LGDP] = _log_positive(values[:, _GDP])
    block[:n, _B_HDI] = values[:, _HDI]
    block[:n, _B_LAT] = lat
    block[:n, _B_LON] = lon
    block[:n, _B_COUNTRY] = country
    block[:n, _B_CONT] = _codes(col("continent"))
    block[:n, _B_REG] = _codes(col("un_region"))
    for area, codes in areas.items():
        block[:n, _B_AREA[area]] = codes
        block[n, _B_AREA[area]] = -1
    block[n, [_B_COUNTRY, _B_CONT, _B_REG]] = -1
    block[:n, _B_ORIENT] = np.nan_to_num(values[:, _POP], nan=-1.0)
    block[n, _B_ORIENT] = -1.0
    block[:n, _B_ID] = ids
    block[n, _B_ID] = -1
    block[:n, _B_POS] = np.arange(n)
    block[n, _B_POS] = -1
    return CityArrays(
        ids=ids,
        id_sorter=np.argsort(ids, kind="stable"),
        countries=np.asarray(countries, dtype=object),
        n_areas={area: int(codes.max() + 1) if n else 0 for area, codes in areas.items()},
        block=block,
    )


_ARRAYS_CACHE: dict[int, tuple[pd.DataFrame, CityArrays]] = {}
_CONTEXT_CACHE: dict[tuple[int, int], tuple[pd.DataFrame, pd.DataFrame, TieContext]] = {}


def city_arrays(cities: pd.DataFrame) -> CityArrays:
    """The :class:`CityArrays` of a cities table, cached per table object (treat it as
    read-only, as the packaged table already is)."""
    hit = _ARRAYS_CACHE.get(id(cities))
    if hit is not None and hit[0] is cities:
        return hit[1]
    arrays = _build_city_arrays(cities)
    if len(_ARRAYS_CACHE) > 8:
        _ARRAYS_CACHE.clear()
    _ARRAYS_CACHE[id(cities)] = (cities, arrays)
    return arrays


# --------------------------------------------------------------------------- context counts


class _KeyCounts:
    """Counts of int64 keys, looked up vectorised with ``searchsorted`` (negative keys: 0)."""

    def __init__(self, keys: np.ndarray):
        keys = np.asarray(keys, dtype=np.int64)
        self.keys, self.counts = np.unique(keys[keys >= 0], return_counts=True)

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        keys = np.asarray(keys, dtype=np.int64)
        if len(self.keys) == 0:
            return np.zeros(keys.shape, dtype=np.int64)
        at = np.clip(np.searchsorted(self.keys, keys), 0, len(self.keys) - 1)
        return np.where(self.keys[at] == keys, self.counts[at], 0)


@dataclass
class _AreaCounts:
    """Ties counted per area of one area system (see :data:`AREAS`); keyed lookups."""

    n_areas: int
    n_countries: int
    country: _KeyCounts  # (area, country): ties of the area's cities with the country's
    pair: _KeyCounts  # (area, area), unordered: ties between the two areas' cities
    city: _KeyCounts  # (city, area): ties of the city with the area's cities
    total: np.ndarray  # (n_areas + 1,): cross-country ties of the area's cities

    def country_key(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.where((r < 0) | (c < 0), -1, r * (self.n_countries + 1) + c)

    def pair_key(self, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
        lo, hi = np.minimum(r1, r2), np.maximum(r1, r2)
        return np.where(lo < 0, -1, lo * (self.n_areas + 1) + hi)

    def city_key(self, i: np.ndarray, r: np.ndarray) -> np.ndarray:
        return np.where((i < 0) | (r < 0), -1, i * (self.n_areas + 1) + r)


@dataclass
class TieContext:
    """What a ties table says about every city, country and area (counts).

    Built by :func:`tie_context`. Lookups are by row position of the cities table, country
    index and area code; the dense arrays have a trailing zero slot, so index -1 (a city
    outside the table, an unknown area) reads 0. Ties whose ends are not both in the
    cities table are ignored; duplicates count once.
    """

    n_cities: int
    degree: np.ndarray  # (n + 1,): all ties, domestic included
    degree_cross: np.ndarray  # (n + 1,): cross-country ties
    country_pair: np.ndarray  # (nc + 1, nc + 1): cross-country ties between two countries
    country_total: np.ndarray  # (nc + 1,): cross-country ties of a country's cities
    city_country: np.ndarray  # (n + 1, nc + 1): ties of a city with a country's cities
    areas: dict[str, _AreaCounts] = field(repr=False)
    pairs: _KeyCounts = field(repr=False)  # the ties themselves
    n_ties: int = 0

    def pair_key(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        return np.where(lo < 0, -1, lo * (self.n_cities + 1) + hi)


def tie_context(cities: pd.DataFrame, ties: pd.DataFrame | None) -> TieContext:
    """Count ties per city, country pair, city-country and region pair (vectorised).

    Cached per (cities, ties) table objects, so a second recommend() with feasibility on
    the same tables costs nothing here.
    """
    key = (id(cities), id(ties))
    hit = _CONTEXT_CACHE.get(key)
    if hit is not None and hit[0] is cities and hit[1] is ties:
        return hit[2]
    ctx = _build_context(city_arrays(cities), ties)
    if len(_CONTEXT_CACHE) > 8:
        _CONTEXT_CACHE.clear()
    _CONTEXT_CACHE[key] = (cities, ties, ctx)
    return ctx


def _tie_positions(A: CityArrays, ties: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Row positions ``(a, b)``, ``a < b``, of the distinct ties with both ends in the table."""
    if ties is None or len(ties) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a = A.positions(ties["city_a_id"].to_numpy(dtype=np.int64))
    b = A.positions(ties["city_b_id"].to_numpy(dtype=np.int64))
    ok = (a >= 0) & (b >= 0) & (a != b)
    a, b = np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])
    base = len(A.ids) + 1
    uniq = np.unique(a * base + b)
    return uniq // base, uniq % base


def _build_context(A: CityArrays, ties: pd.DataFrame | None) -> TieContext:
    n, nc = len(A.ids), len(A.countries)
    a, b = _tie_positions(A, ties)
    country = A.country
    ca, cb = country[a], country[b]
    cross = ca != cb
    ends = np.concatenate([a, b])
    degree = np.zeros(n + 1, dtype=np.int64)
    degree[:n] = np.bincount(ends, minlength=n)
    degree_cross = np.zeros(n + 1, dtype=np.int64)
    degree_cross[:n] = np.bincount(np.concatenate([a[cross], b[cross]]), minlength=n)
    cp = np.zeros((nc + 1, nc + 1), dtype=np.int64)
    np.add.at(cp, (ca[cross], cb[cross]), 1)
    np.add.at(cp, (cb[cross], ca[cross]), 1)
    # a city has at most a few dozen partners: uint16 keeps the dense table small
    city_country = np.zeros((n + 1, nc + 1), dtype=np.uint16)
    np.add.at(city_country, (ends, np.concatenate([cb, ca])), 1)
    areas = {}
    for name in AREAS:
        code = A.area(name)
        ra, rb = code[a], code[b]
        ac = _AreaCounts(
            n_areas=A.n_areas[name],
            n_countries=nc,
            country=_KeyCounts(np.empty(0)),
            pair=_KeyCounts(np.empty(0)),
            city=_KeyCounts(np.empty(0)),
            total=np.bincount(
                np.concatenate([ra[cross & (ra >= 0)], rb[cross & (rb >= 0)]]),
                minlength=A.n_areas[name] + 1,
            ),
        )
        ac.country = _KeyCounts(np.concatenate([ac.country_key(ra, cb), ac.country_key(rb, ca)]))
        ac.pair = _KeyCounts(ac.pair_key(ra, rb))
        ac.city = _KeyCounts(np.concatenate([ac.city_key(a, rb), ac.city_key(b, ra)]))
        areas[name] = ac
    ctx = TieContext(
        n_cities=n,
        degree=degree,
        degree_cross=degree_cross,
        country_pair=cp,
        country_total=cp.sum(axis=1),
        city_country=city_country,
        areas=areas,
        pairs=_KeyCounts(np.empty(0)),
        n_ties=len(a),
    )
    ctx.pairs = _KeyCounts(ctx.pair_key(a, b))
    return ctx


# --------------------------------------------------------------------------- pair features


def _row_block(A: CityArrays, row: pd.Series | Mapping) -> np.ndarray:
    """The block row (1, width) of one city given as a row, what-if values included.

    Its codes and position come from the table (by ``city_id``); a city outside the table
    has no known ties and unknown regions.
    """
    cid = int(row["city_id"])
    pos = int(A.positions([cid])[0])
    out = A.block[pos].copy()  # position -1: the trailing "unknown" row
    values = np.array([_float(row.get(c)) for c in INDICATOR_NAMES], dtype=float)
    out[_B_VAL : _B_VAL + _K] = values
    out[_B_LEV : _B_LEV + _K] = level_codes(
        [row.get(f"{c}_level") or None for c in INDICATOR_NAMES], values
    )
    out[_B_LPOP] = _log_positive(values[_POP : _POP + 1])[0]
    out[_B_LGDP] = _log_positive(values[_GDP : _GDP + 1])[0]
    out[_B_HDI] = values[_HDI]
    out[_B_LAT], out[_B_LON] = _float(row.get("latitude")), _float(row.get("longitude"))
    out[_B_ORIENT] = -1.0 if math.isnan(values[_POP]) else values[_POP]
    out[_B_ID] = cid
    out[_B_CAP] = float(bool(row.get("is_capital", False)))
    if pos < 0:
        hit = np.flatnonzero(A.countries == row.get("country_code"))
        out[_B_COUNTRY] = hit[0] if len(hit) else -1
    return out[None, :]


def _float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


_TRANSFORMS = transforms_for(INDICATOR_NAMES)
_TOLERANCE = asymmetry_tolerance(None, INDICATOR_NAMES, HDI_SCALE)

# how the columns move when a pair is turned around: (local, cand) columns swap, signed
# asymmetries change sign, the lead counts swap
_NAME_INDEX = {n: k for k, n in enumerate(FEATURE_NAMES)}
_SWAP = np.arange(len(FEATURE_NAMES))
for _name, _k in _NAME_INDEX.items():
    for _a, _b in (("_local", "_cand"), ("n_cand_leads", "n_local_leads")):
        if _name.endswith(_a) or _name == _a:
            _SWAP[_k] = _NAME_INDEX[_name[: len(_name) - len(_a)] + _b]
        elif _name.endswith(_b) or _name == _b:
            _SWAP[_k] = _NAME_INDEX[_name[: len(_name) - len(_b)] + _a]
_SIGN = np.where([n.startswith("asym_") for n in FEATURE_NAMES], -1.0, 1.0)


def _features(
    ctx: TieContext,
    U: np.ndarray,
    V: np.ndarray,
    *,
    cold: np.ndarray | bool = False,
    count_scale: float = 1.0,
) -> np.ndarray:
    """The feature matrix (m, len(FEATURE_NAMES)) of the pairs ``(U[k], V[k])``.

    ``U``, ``V`` are block rows (:func:`_gather`, :func:`_row_block`); one of them may be
    a single row
    (one local city against many candidates). ``cold`` hides all of U's own ties from the
    counts (a city with no partners yet: how the evaluation and recommend see the local
    city). Features are computed with U as "local", then the rows where V is the less
    populous side are turned around.
    """
    m = max(len(U), len(V))
    X = np.empty((m, len(FEATURE_NAMES)))
    asym = signed_asymmetry(U[:, _B_VAL : _B_VAL + _K], V[:, _B_VAL : _B_VAL + _K], _TRANSFORMS)
    X[:, :_K] = asym
    n_cand, n_local, comp = lead_counts(asym, _TOLERANCE)
    X[:, _K], X[:, _K + 1], X[:, _K + 2] = n_cand, n_local, comp
    dist = haversine_km(U[:, _B_LAT], U[:, _B_LON], V[:, _B_LAT], V[:, _B_LON])
    X[:, _K + 3] = dist
    c = _K + 4
    X[:, c : c + 2 * _K : 2] = U[:, _B_LEV : _B_LEV + _K]
    X[:, c + 1 : c + 2 * _K : 2] = V[:, _B_LEV : _B_LEV + _K]
    c += 2 * _K
    X[:, c] = np.log1p(dist)
    for off, col in ((1, _B_CONT), (2, _B_REG)):
        X[:, c + off] = (U[:, col] == V[:, col]) & (U[:, col] >= 0)
    for off, col in ((3, _B_LPOP), (5, _B_LGDP), (7, _B_HDI), (9, _B_CAP)):
        X[:, c + off] = U[:, col]
        X[:, c + off + 1] = V[:, col]
    # the gravity model's log score: trees cannot add features up by themselves
    X[:, c + 11] = U[:, _B_LPOP] + V[:, _B_LPOP] - np.log(np.maximum(dist, 1.0))
    counts = _context_counts(ctx, U, V, cold)
    total = counts[:, -1]
    counts = counts[:, :-1]
    for k, (num, den) in enumerate(_SHARE_INDEX):
        X[:, _SHARE_SLICE.start + k] = counts[:, num] / np.maximum(counts[:, den], 1.0)
    # a country with few ties has noisy shares: shrink them towards the partner country's
    # share of all ties, with the weight of SHARE_PRIOR ties
    for side, other in (("local", "cand"), ("cand", "local")):
        prior = counts[:, _COUNT_NAMES.index(f"country_ties_{other}")] / np.maximum(total, 1.0)
        X[:, _NAME_INDEX[f"country_share_{side}"]] = (
            counts[:, _COUNT_NAMES.index("country_pair_ties")] + SHARE_PRIOR * prior
        ) / (counts[:, _COUNT_NAMES.index(f"country_ties_{side}")] + SHARE_PRIOR)
    X[:, _COUNT_SLICE] = np.log1p(counts * count_scale if count_scale != 1.0 else counts)
    swap = (U[:, _B_ORIENT] > V[:, _B_ORIENT]) | (
        (U[:, _B_ORIENT] == V[:, _B_ORIENT]) & (U[:, _B_ID] > V[:, _B_ID])
    )
    swap = np.broadcast_to(swap, (m,))
    if swap.any():
        X[swap] = X[swap][:, _SWAP] * _SIGN
    return X


def _context_counts(ctx: TieContext, U: np.ndarray, V: np.ndarray, cold) -> np.ndarray:
    """The raw counts of :data:`_COUNT_NAMES` in (U, V) orientation, without the pair.

    Leave-one-out: when ``(U, V)`` is itself a tie of the context, its contribution is
    subtracted, so the pair gets the same counts whether or not its tie is in the table.
    With ``cold``, every tie of U is subtracted (U is a city with no partners yet).
    """
    m = max(len(U), len(V))

    def ints(B: np.ndarray, col: int) -> np.ndarray:
        return np.broadcast_to(B[:, col].astype(np.int64), (m,))

    i, j = ints(U, _B_POS), ints(V, _B_POS)
    ci, cj = ints(U, _B_COUNTRY), ints(V, _B_COUNTRY)
    cross = ci != cj
    t = (ctx.pairs(ctx.pair_key(i, j)) > 0).astype(np.int64)  # the pair is a tie
    tc = t * cross
    cold = np.broadcast_to(np.asarray(cold, dtype=bool), (m,))
    # U's own ties with V's country (the pair included), hidden when U is cold
    x = np.where(cold, ctx.city_country[i, cj].astype(np.int64), 0)
    xc = np.where(cross, x, 0)  # the country-pair counts hold cross-country ties only
    u_cross = np.where(cold, ctx.degree_cross[i], 0)
    out = {
        "degree_local": np.where(cold, 0, ctx.degree[i] - t),
        "degree_cand": ctx.degree[j] - t,
        "country_pair_ties": ctx.country_pair[ci, cj] - np.where(cold, xc, tc),
        "country_ties_local": ctx.country_total[ci] - np.where(cold, u_cross, tc),
        "country_ties_cand": ctx.country_total[cj]
        - np.where(cold, np.where(cross, x, u_cross), tc),
        "city_country_local": np.where(cold, 0, ctx.city_country[i, cj].astype(np.int64) - t),
        "city_country_cand": ctx.city_country[j, ci].astype(np.int64) - t,
    }
    for name, ac in ctx.areas.items():
        ri, rj = ints(U, _B_AREA[name]), ints(V, _B_AREA[name])
        has_i, has_j = ri >= 0, rj >= 0
        # U's own ties with V's area (the pair included), hidden when U is cold
        y = np.where(cold, ac.city(ac.city_key(i, rj)), 0)
        out[f"{name}_country_local"] = ac.country(ac.country_key(ri, cj)) - has_i * np.where(
            cold, x, t
        )
        out[f"{name}_country_cand"] = ac.country(ac.country_key(rj, ci)) - has_j * np.where(
            cold, y, t
        )
        out[f"{name}_pair_ties"] = ac.pair(ac.pair_key(ri, rj)) - has_i * has_j * np.where(
            cold, y, t
        )
        out[f"city_{name}_local"] = np.where(cold, 0, ac.city(ac.city_key(i, rj)) - t * has_j)
        out[f"city_{name}_cand"] = ac.city(ac.city_key(j, ri)) - t * has_i
        out[f"{name}_ties_local"] = ac.total[ri] - has_i * np.where(cold, u_cross, tc)
        # V's area loses U's cross-country ties with it (all of them, when U is cold)
        out[f"{name}_ties_cand"] = ac.total[rj] - has_j * np.where(cold, np.where(cross, y, 0), tc)
    # all cross-country tie ends, for the countries' overall shares
    total = ctx.country_total.sum() - 2 * np.where(cold, u_cross, tc)
    return np.column_stack([out[name] for name in _COUNT_NAMES] + [total]).astype(float)


def _gather(A: CityArrays, pos: np.ndarray) -> np.ndarray:
    """Block rows of the cities at ``pos`` (-1: the "unknown" row)."""
    return A.block[np.asarray(pos, dtype=np.int64)]


def pair_features(
    cities: pd.DataFrame,
    ties: pd.DataFrame | None,
    city_a,
    city_b,
    *,
    cold: bool = False,
    as_frame: bool = True,
) -> pd.DataFrame | np.ndarray:
    """Feature vectors of pairs of cities given by id (order-independent, leakage-free).

    Parameters
    ----------
    cities : pandas.DataFrame
        The cities table; both ends must be in it.
    ties : pandas.DataFrame or None
        The ties the context counts come from. A pair that is itself one of these ties
        gets leave-one-out counts, so adding or removing it does not change its features.
    city_a, city_b : array_like of int
        GeoNames ids, aligned.
    cold : bool, default False
        Hide every tie of ``city_a`` (the model's view of a city with no partners yet).
    as_frame : bool, default True
        Return a DataFrame with the columns :data:`FEATURE_NAMES` (else an ndarray).
    """
    A = city_arrays(cities)
    i, j = A.positions(city_a), A.positions(city_b)
    missing = np.concatenate([np.asarray(city_a)[i < 0], np.asarray(city_b)[j < 0]])
    if len(missing):
        raise ModelError(
            f"city_id {int(missing[0])} is not in the cities table; pair features need both "
            f"ends of a pair in it."
        )
    X = _features(tie_context(cities, ties), _gather(A, i), _gather(A, j), cold=cold)
    return pd.DataFrame(X, columns=list(FEATURE_NAMES)) if as_frame else X


# --------------------------------------------------------------------------- candidate pool


def candidate_pool_mask(cities: pd.DataFrame, ties: pd.DataFrame | None) -> np.ndarray:
    """Rows of ``cities`` that the pool would hold if it were built from ``ties``.

    The packaged pool is every city of at least :data:`POOL_MIN_POPULATION` people, the
    Indonesian local cities, and every city that appears in a tie: a smaller city is in the
    table *because* it has a partner. Training and evaluation use this mask so that a city
    whose only ties are held out is not handed to the model as a candidate (its mere
    presence would give its partnership away).
    """
    A = city_arrays(cities)
    with np.errstate(invalid="ignore"):
        mask = A.values[:, _POP] >= POOL_MIN_POPULATION
    if "is_local" in cities:
        mask |= cities["is_local"].fillna(False).astype(bool).to_numpy()
    a, b = _tie_positions(A, ties)
    mask[a] = True
    mask[b] = True
    return mask


# --------------------------------------------------------------------------- training set


@dataclass
class TrainingSet:
    """Pairs, labels and features for fitting (see the module docstring).

    ``city_a`` is the anchor (the end a positive keeps for its negatives; the cold end
    when ``cold`` is set).
    """

    X: np.ndarray
    y: np.ndarray
    fold: np.ndarray
    city_a: np.ndarray
    city_b: np.ndarray
    kind: np.ndarray  # "tie", "random", "hard"
    cold: np.ndarray


def _cross_ties(A: CityArrays, ties: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    a, b = _tie_positions(A, ties)
    cross = A.country[a] != A.country[b]
    return a[cross], b[cross]


def _sample_negatives(
    A: CityArrays,
    ctx: TieContext,
    pool: np.ndarray,
    anchor: np.ndarray,
    dropped: np.ndarray,
    hard: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """For each anchor, a pool city of another country that is not a known partner."""
    pool_pos = np.flatnonzero(pool)
    out = np.full(len(anchor), -1, dtype=np.int64)
    country = A.country
    logpop = np.nan_to_num(A.block[:-1, _B_LPOP], nan=0.0)

    def valid(anc, cand):
        return (country[cand] != country[anc]) & (ctx.pairs(ctx.pair_key(anc, cand)) == 0)

    h = np.flatnonzero(hard)
    if len(h):
        draws = pool_pos[rng.integers(0, len(pool_pos), (len(h), HARD_DRAWS))]
        anc = np.repeat(anchor[h], HARD_DRAWS).reshape(draws.shape)
        ok = valid(anc.ravel(), draws.ravel()).reshape(draws.shape)
        d_true = haversine_km(
            A.lat[anchor[h]], A.lon[anchor[h]], A.lat[dropped[h]], A.lon[dropped[h]]
        )
        d = haversine_km(A.lat[anc], A.lon[anc], A.lat[draws], A.lon[draws])
        cost = np.abs(logpop[draws] - logpop[dropped[h]][:, None]) + np.abs(
            np.log1p(d) - np.log1p(d_true)[:, None]
        )
        cost = np.where(ok & np.isfinite(cost), cost, np.inf)
        best = np.argmin(cost, axis=1)
        found = np.isfinite(cost[np.arange(len(h)), best])
        out[h[found]] = draws[np.arange(len(h)), best][found]
    for _ in range(100):  # random negatives, and hard ones that found nothing
        todo = np.flatnonzero(out < 0)
        if len(todo) == 0:
            break
        cand = pool_pos[rng.integers(0, len(pool_pos), len(todo))]
        ok = valid(anchor[todo], cand)
        out[todo[ok]] = cand[ok]
    if (out < 0).any():
        raise ModelError(
            "Could not sample negative pairs: the candidate pool has too few cities of other "
            "countries that are not already partners."
        )
    return out


CONTEXTS = ("cold", "kfold", "mixed", "loo")


def build_training_set(
    cities: pd.DataFrame,
    ties: pd.DataFrame,
    *,
    seed: int = DEFAULT_SEED,
    neg_ratio: int = DEFAULT_NEG_RATIO,
    hard_share: float = DEFAULT_HARD_SHARE,
    n_folds: int = DEFAULT_FOLDS,
    context: str = DEFAULT_CONTEXT,
) -> TrainingSet:
    """Positives (cross-country ties), sampled negatives and their features.

    Parameters
    ----------
    cities, ties : pandas.DataFrame
    seed : int
        Seeds the anchors, the negatives and the fold assignment.
    neg_ratio : int, default 10
        Negatives per positive.
    hard_share : float, default 0.3
        Share of the negatives that are hard (similar size and distance as the partner).
    n_folds : int, default 5
        Folds of the ties; fold 0 is the validation fold of :func:`fit_model`, and the
        ``"kfold"`` scheme takes each fold's counts from the other folds.
    context : {"cold", "kfold", "mixed", "loo"}
        How the context counts of a training pair are kept free of its own label (see the
        module docstring): ``"cold"`` hides every tie of the anchor; ``"kfold"`` takes
        counts out of fold; ``"mixed"`` does one or the other for half the positives each;
        ``"loo"`` subtracts the pair only.
    """
    if context not in CONTEXTS:
        raise ModelError(f"Unknown context scheme {context!r}; allowed: {', '.join(CONTEXTS)}.")
    rng = np.random.default_rng(seed)
    A = city_arrays(cities)
    full_ctx = _build_context(A, ties)
    pool = candidate_pool_mask(cities, ties)
    a, b = _cross_ties(A, ties)
    if len(a) < 2:
        raise ModelError(
            f"Training needs cross-country ties; the ties table has {len(a)} whose both ends "
            f"are in the cities table."
        )
    r = int(neg_ratio)
    n_pos = len(a)
    flip = rng.random(n_pos) < 0.5  # which end of the tie is the anchor
    anchor_pos, other_pos = np.where(flip, b, a), np.where(flip, a, b)
    n_hard = int(round(r * hard_share))
    hard = np.tile(np.arange(r) < n_hard, n_pos)
    rep_anchor, rep_other = np.repeat(anchor_pos, r), np.repeat(other_pos, r)
    neg = _sample_negatives(A, full_ctx, pool, rep_anchor, rep_other, hard, rng)
    # folds over every tie (domestic ones too: they feed the degree counts)
    all_a, all_b = _tie_positions(A, ties)
    tie_fold = rng.permutation(len(all_a)) % n_folds
    base = len(A.ids) + 1
    pos_fold = tie_fold[np.searchsorted(all_a * base + all_b, a * base + b)]
    if context == "cold":
        pos_cold = np.ones(n_pos, bool)
    elif context == "mixed":
        pos_cold = rng.random(n_pos) < 0.5
    else:
        pos_cold = np.zeros(n_pos, bool)
    i = np.concatenate([anchor_pos, rep_anchor])
    j = np.concatenate([other_pos, neg])
    y = np.concatenate([np.ones(n_pos, np.int8), np.zeros(len(neg), np.int8)])
    fold = np.concatenate([pos_fold, np.repeat(pos_fold, r)])
    cold = np.concatenate([pos_cold, np.repeat(pos_cold, r)])
    kind = np.concatenate([np.full(n_pos, "tie"), np.where(hard, "hard", "random")]).astype(object)
    X = np.empty((len(i), len(FEATURE_NAMES)))
    warm = np.flatnonzero(~cold)
    if cold.any():
        rows = np.flatnonzero(cold)
        X[rows] = _features(full_ctx, _gather(A, i[rows]), _gather(A, j[rows]), cold=True)
    if context == "loo":
        X[warm] = _features(full_ctx, _gather(A, i[warm]), _gather(A, j[warm]))
    elif len(warm):
        ids = A.ids
        for k in range(n_folds):
            rows = warm[fold[warm] == k]
            keep = tie_fold != k
            sub = pd.DataFrame({"city_a_id": ids[all_a[keep]], "city_b_id": ids[all_b[keep]]})
            X[rows] = _features(
                _build_context(A, sub),
                _gather(A, i[rows]),
                _gather(A, j[rows]),
                count_scale=n_folds / (n_folds - 1),
            )
    return TrainingSet(X=X, y=y, fold=fold, city_a=A.ids[i], city_b=A.ids[j], kind=kind, cold=cold)


# --------------------------------------------------------------------------- estimators


HGB_PARAMS = {
    "max_iter": 150,
    "learning_rate": 0.1,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
}
"""Default HistGradientBoostingClassifier parameters (see :func:`make_estimator`)."""


def make_estimator(kind: str, seed: int = DEFAULT_SEED, params: Mapping | None = None):
    """The unfitted estimator for ``kind`` ("hgb" or "logreg"); ``params`` override the
    defaults (:data:`HGB_PARAMS`; ``C`` for the logistic regression)."""
    params = dict(params or {})
    if kind == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            **{**HGB_PARAMS, **params}, early_stopping=False, random_state=seed
        )
    if kind == "logreg":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=params.get("C", 1.0), max_iter=3000),
        )
    raise ModelError(f"Unknown model {kind!r}; allowed: {', '.join(MODELS)}.")


def reliability_table(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Calibration check: mean predicted vs observed rate in equal-width probability bins.

    Examples
    --------
    >>> reliability_table(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3]), 2)
       bin_lo  bin_hi  n  mean_predicted  observed_rate
    0     0.0     0.5  2            0.20            0.0
    1     0.5     1.0  2            0.85            1.0
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    b = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    rows = []
    for k in range(n_bins):
        m = b == k
        if m.any():
            rows.append(
                (edges[k], edges[k + 1], int(m.sum()), float(p[m].mean()), float(y[m].mean()))
            )
    return pd.DataFrame(rows, columns=["bin_lo", "bin_hi", "n", "mean_predicted", "observed_rate"])


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    """Log loss, ROC AUC, average precision, Brier score, expected calibration error."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    rel = reliability_table(y, p)
    ece = float((rel["n"] * (rel["mean_predicted"] - rel["observed_rate"]).abs()).sum() / len(y))
    return {
        "n": int(len(y)),
        "positive_rate": float(np.mean(y)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "roc_auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan"),
        "average_precision": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "ece": ece,
        "reliability": rel.round(4).to_dict(orient="records"),
    }


# --------------------------------------------------------------------------- the model


class FeasibilityModel:
    """A fitted feasibility model: probability that a pair of cities is a partnership.

    Get one from :func:`load_model` (verified file) or :func:`fit_model` (in memory).

    Parameters
    ----------
    estimator : fitted scikit-learn classifier
        Takes the :data:`FEATURE_NAMES` matrix.
    manifest : dict, optional
        What :func:`train` recorded about it.
    """

    def __init__(self, estimator, manifest: Mapping | None = None, path: Path | None = None):
        self.estimator = estimator
        self.manifest = dict(manifest or {})
        self.path = path

    def __repr__(self) -> str:
        kind = self.manifest.get("params", {}).get("model", type(self.estimator).__name__)
        return f"FeasibilityModel({kind}, path={str(self.path) if self.path else None!r})"

    def predict_matrix(self, X: np.ndarray) -> np.ndarray:
        """Probabilities for a feature matrix (rows of :data:`FEATURE_NAMES`)."""
        if len(X) == 0:
            return np.empty(0)
        return self.estimator.predict_proba(X)[:, 1]

    def predict_pairs(
        self,
        city_a,
        city_b,
        *,
        cities: pd.DataFrame | None = None,
        ties: pd.DataFrame | None = None,
    ) -> np.ndarray:
        """Feasibility of pairs given by GeoNames ids (default: the packaged tables)."""
        cities, ties = get_cities(cities), get_ties(ties)
        return self.predict_matrix(pair_features(cities, ties, city_a, city_b, as_frame=False))

    def score_candidates(
        self,
        local: pd.Series | Mapping,
        cities: pd.DataFrame,
        ties: pd.DataFrame | None,
        positions: np.ndarray,
        *,
        cold: bool = True,
    ) -> np.ndarray:
        """Feasibility of ``local`` (a row, what-if values allowed) with the ``cities`` rows
        at ``positions``; vectorised, with the per-table arrays and counts cached.

        ``cold=True`` (default) hides the local city's own ties from the counts, as for the
        held-out cities of the evaluation: the probability then says how partner-like the
        pair looks for a city *like* this one, the setting that was measured.
        """
        A = city_arrays(cities)
        positions = np.asarray(positions, dtype=np.int64)
        X = _features(
            tie_context(cities, ties), _row_block(A, local), _gather(A, positions), cold=cold
        )
        return self.predict_matrix(X)


def fit_model(
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    *,
    seed: int = DEFAULT_SEED,
    neg_ratio: int = DEFAULT_NEG_RATIO,
    hard_share: float = DEFAULT_HARD_SHARE,
    model: str = "auto",
    context: str = DEFAULT_CONTEXT,
    n_folds: int = DEFAULT_FOLDS,
    validate: bool = True,
    estimator_params: Mapping | None = None,
    calibrate: bool = True,
) -> tuple[FeasibilityModel, dict]:
    """Fit a model in memory (no files); returns it and its validation metrics.

    ``model="auto"`` compares the candidates on fold 0 and keeps the best by log loss
    (see the module docstring). ``validate=False`` skips the validation fits (the
    evaluation retrains a given model and measures it on held-out cities instead).
    ``calibrate=False`` skips the sigmoid calibration (5 extra fits): it never changes
    the order of the pairs, so a model used only for ranking can do without.
    :func:`train` wraps this and writes the files.
    """
    if model not in MODELS:
        raise ModelError(f"Unknown model {model!r}; allowed: {', '.join(MODELS)}.")
    if isinstance(neg_ratio, bool) or not isinstance(neg_ratio, (int, np.integer)) or neg_ratio < 1:
        raise ModelError(f"neg_ratio must be an integer >= 1; got {neg_ratio!r}.")
    if not 0.0 <= float(hard_share) <= 1.0:
        raise ModelError(f"hard_share must be in [0, 1]; got {hard_share!r}.")
    cities, ties = get_cities(cities), get_ties(ties)
    ts = build_training_set(
        cities,
        ties,
        seed=seed,
        neg_ratio=int(neg_ratio),
        hard_share=float(hard_share),
        n_folds=n_folds,
        context=context,
    )
    kinds = ["hgb", "logreg"] if model == "auto" else [model]
    if not validate and model == "auto":
        raise ModelError("model='auto' chooses by validation; pass validate=True or a model.")
    val, fit_rows = ts.fold == 0, ts.fold != 0
    validation = {}
    for kind in kinds if validate else []:
        est = _fit(kind, ts.X[fit_rows], ts.y[fit_rows], ts.fold[fit_rows], seed, estimator_params)
        validation[kind] = classification_metrics(ts.y[val], est.predict_proba(ts.X[val])[:, 1])
        # the calibration check: the same model before the sigmoid
        raw = est.calibrated_classifiers_[0].estimator.predict_proba(ts.X[val])[:, 1]
        validation[kind]["uncalibrated"] = {
            k: v
            for k, v in classification_metrics(ts.y[val], raw).items()
            if k in ("log_loss", "brier", "ece", "reliability")
        }
    chosen = min(kinds, key=lambda k: validation[k]["log_loss"]) if validate else model
    if calibrate:
        est = _fit(chosen, ts.X, ts.y, ts.fold, seed, estimator_params)
    else:
        est = make_estimator(chosen, seed, estimator_params).fit(ts.X, ts.y)
    metrics = {
        "chosen": chosen,
        "selection": "lowest validation log loss" if model == "auto" else "given",
        "validation": validation,
        "n_train_pairs": int(len(ts.y)),
        "n_positive": int(ts.y.sum()),
        "n_negative_random": int((ts.kind == "random").sum()),
        "n_negative_hard": int((ts.kind == "hard").sum()),
    }
    params = {
        "model": chosen,
        "requested_model": model,
        "neg_ratio": int(neg_ratio),
        "hard_share": float(hard_share),
        "hard_draws": HARD_DRAWS,
        "context": context,
        "n_folds": n_folds,
        "calibration": "sigmoid, out of fold (5 folds), one refitted estimator"
        if calibrate
        else None,
        "pool_min_population": POOL_MIN_POPULATION,
        "estimator": _estimator_params(est),
    }
    manifest = {"feature_version": FEATURE_VERSION, "params": params, "seed": seed}
    return FeasibilityModel(est, manifest), metrics


def _fit(kind: str, X, y, folds, seed: int, params) -> object:
    """Fit ``kind`` with a sigmoid (Platt) calibration learned on out-of-fold predictions
    (``folds``: the training set's folds, so a positive and its negatives stay together).

    ``ensemble=False``: one estimator refitted on everything plus one sigmoid, so a
    prediction costs one forest. Sigmoid rather than isotonic because it is strictly
    increasing: it fixes the boosted trees' compressed probabilities (too low near 1, too
    high near 0) without creating ties that would blur the ranking.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import PredefinedSplit

    _, test_fold = np.unique(folds, return_inverse=True)
    return CalibratedClassifierCV(
        make_estimator(kind, seed, params),
        method="sigmoid",
        cv=PredefinedSplit(test_fold),
        ensemble=False,
    ).fit(X, y)


def _estimator_params(est) -> dict:
    out = {}
    for k, v in sorted(est.get_params(deep=True).items()):
        if isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
    return out


# --------------------------------------------------------------------------- files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _versions() -> dict:
    import joblib
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
    }


def _major_minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def _frame_sha256(df: pd.DataFrame) -> str:
    h = pd.util.hash_pandas_object(df, index=False).to_numpy()
    return _sha256(h.tobytes() + ",".join(map(str, df.columns)).encode())


def _data_fingerprint(cities: pd.DataFrame | None, ties: pd.DataFrame | None) -> dict:
    """SHA-256 of the packaged files when the defaults are used, else of the DataFrames."""
    from recommender.data.tables import data_dir

    out = {}
    for name, df in (("cities.csv.gz", cities), ("ties.csv.gz", ties)):
        if df is None:
            p = data_dir() / name
            out[name] = {"source": f"data/{name}", "sha256": _sha256(p.read_bytes())}
        else:
            out[name] = {"source": "DataFrame", "rows": len(df), "sha256": _frame_sha256(df)}
    return out


def _probe_pairs(cities: pd.DataFrame, ties: pd.DataFrame, n: int = 512) -> tuple:
    """A fixed probe set for the prediction fingerprint: ties and shifted non-ties, chosen
    by sorted ids (no randomness)."""
    A = city_arrays(cities)
    a, b = _cross_ties(A, ties)
    order = np.lexsort((A.ids[b], A.ids[a]))[: n // 2]
    a, b = a[order], b[order]
    other = np.sort(A.ids)[:: max(1, len(A.ids) // max(1, len(a)))][: len(a)]
    return (
        np.concatenate([A.ids[a], A.ids[a][: len(other)]]),
        np.concatenate([A.ids[b], other]),
    )


def prediction_fingerprint(model: FeasibilityModel, cities, ties) -> str:
    """SHA-256 of the probe-set probabilities rounded to 10 decimals."""
    ca, cb = _probe_pairs(cities, ties)
    keep = ca != cb
    p = model.predict_pairs(ca[keep], cb[keep], cities=cities, ties=ties)
    return _sha256(np.round(p, 10).astype("<f8").tobytes())


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def train(
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    *,
    seed: int = DEFAULT_SEED,
    out_dir: str | Path | None = None,
    neg_ratio: int = DEFAULT_NEG_RATIO,
    model: str = "auto",
    hard_share: float = DEFAULT_HARD_SHARE,
    context: str = DEFAULT_CONTEXT,
    estimator_params: Mapping | None = None,
) -> dict:
    """Train the feasibility model and write ``feasibility.joblib`` and ``manifest.json``.

    Parameters
    ----------
    cities, ties : pandas.DataFrame, optional
        Default: the packaged tables (their files' SHA-256 go into the manifest).
    seed : int, default 0
        Seeds negatives, folds and the estimator: the same seed and data give the same
        file, byte for byte.
    out_dir : path, optional
        Default :func:`models_dir`.
    neg_ratio : int, default 10
        Sampled negatives per positive tie.
    model : {"auto", "hgb", "logreg"}
        ``"auto"`` keeps the better of the two on the validation fold.
    hard_share : float, default 0.3
        Share of hard negatives.
    context : {"cold", "kfold", "mixed", "loo"}, default "cold"
        How training pairs keep their own label out of their context counts (see the
        module docstring).
    estimator_params : dict, optional
        Overrides of :data:`HGB_PARAMS` (or ``C`` of the logistic regression).

    Returns
    -------
    dict
        The metrics (validation of each candidate, the choice, training-set sizes),
        ``train_seconds``, ``model_path``, ``sha256`` and ``size_bytes``.

    Examples
    --------
    >>> metrics = train()  # doctest: +SKIP
    >>> metrics["chosen"], round(metrics["validation"]["hgb"]["brier"], 3)  # doctest: +SKIP
    """
    import joblib

    t0 = time.perf_counter()
    data_fp = _data_fingerprint(cities, ties)
    cities_, ties_ = get_cities(cities), get_ties(ties)
    fitted, metrics = fit_model(
        cities_,
        ties_,
        seed=seed,
        neg_ratio=neg_ratio,
        model=model,
        hard_share=hard_share,
        context=context,
        estimator_params=estimator_params,
    )
    out = Path(out_dir) if out_dir is not None else models_dir()
    buf = io.BytesIO()
    payload = {
        "estimator": fitted.estimator,
        "feature_names": list(FEATURE_NAMES),
        "feature_version": FEATURE_VERSION,
    }
    joblib.dump(payload, buf, compress=3)
    data = buf.getvalue()
    manifest = {
        "model_file": MODEL_FILE,
        "sha256": _sha256(data),
        "size_bytes": len(data),
        "feature_version": FEATURE_VERSION,
        "features": list(FEATURE_NAMES),
        "versions": _versions(),
        "training_data": data_fp,
        "params": fitted.manifest["params"],
        "seed": seed,
        "metrics": metrics,
        "probe_fingerprint": prediction_fingerprint(fitted, cities_, ties_),
        # ranking quality on held-out cities: written by recommender.learn.evaluate (its own run)
        "evaluation_file": "evaluation.json",
    }
    _atomic_write(out / MODEL_FILE, data)
    _atomic_write(
        out / MANIFEST_FILE, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    )
    _LOADED.clear()
    return {
        **metrics,
        "train_seconds": round(time.perf_counter() - t0, 2),
        "model_path": str(out / MODEL_FILE),
        "sha256": manifest["sha256"],
        "size_bytes": len(data),
        "probe_fingerprint": manifest["probe_fingerprint"],
    }


_LOADED: dict[tuple, FeasibilityModel] = {}


def load_model(path: str | Path | None = None) -> FeasibilityModel:
    """Load the feasibility model after verifying it against its manifest.

    The file's bytes are read once, hashed and compared with the SHA-256 in
    ``manifest.json`` (same folder); only those verified bytes are unpickled, so the file
    cannot change between the check and the load. The scikit-learn, numpy and pandas
    versions (major.minor) must match the ones the model was built with. Loaded models are
    cached per file (path, size, modification time).

    Parameters
    ----------
    path : path, optional
        The ``.joblib`` file; default ``models_dir() / "feasibility.joblib"``.

    Raises
    ------
    ModelError
        Missing model or manifest, checksum mismatch, other library versions, another
        feature version.
    """
    import joblib

    p = Path(path) if path is not None else models_dir() / MODEL_FILE
    if not p.is_file():
        raise ModelError(f"No feasibility model at {_show(p)}; train one with `sistercity train`.")
    mp = p.with_name(MANIFEST_FILE)
    if not mp.is_file():
        raise ModelError(
            f"{_show(mp)} is missing, so {_show(p)} cannot be verified and is not loaded; "
            f"retrain with `sistercity train`."
        )
    st = p.stat()
    mst = mp.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, mst.st_size, mst.st_mtime_ns)
    if key in _LOADED:
        return _LOADED[key]
    try:
        manifest = json.loads(mp.read_text())
        expected = str(manifest["sha256"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"{_show(mp)} is not a valid model manifest ({exc}); retrain with `sistercity train`."
        ) from None
    data = p.read_bytes()
    got = _sha256(data)
    if got != expected:
        raise ModelError(
            f"{_show(p)} does not match the SHA-256 in {_show(mp)} (expected {expected[:12]}…, "
            f"got {got[:12]}…): the file was changed after training, so it is not loaded; "
            f"retrain with `sistercity train`."
        )
    built = manifest.get("versions", {})
    now = _versions()
    for lib in CHECKED_LIBRARIES:
        if lib not in built:
            raise ModelError(
                f"{_show(mp)} does not record the {lib} version {_show(p)} was built with; "
                f"retrain with `sistercity train`."
            )
        if _major_minor(built[lib]) != _major_minor(now[lib]):
            raise ModelError(
                f"{_show(p)} was built with {lib} {_major_minor(built[lib])} but "
                f"{_major_minor(now[lib])} is installed; retrain with `sistercity train`."
            )
    if manifest.get("feature_version") != FEATURE_VERSION:
        raise ModelError(
            f"{_show(p)} was built for feature set v{manifest.get('feature_version')} but this "
            f"version of sistercity computes v{FEATURE_VERSION}; retrain with `sistercity train`."
        )
    payload = joblib.load(io.BytesIO(data))
    if not isinstance(payload, dict) or list(payload.get("feature_names", [])) != list(
        FEATURE_NAMES
    ):
        raise ModelError(
            f"{_show(p)} holds no feasibility model for these features; retrain with "
            f"`sistercity train`."
        )
    model = FeasibilityModel(payload["estimator"], manifest, p)
    _LOADED.clear()  # one model at a time is all recommend() needs
    _LOADED[key] = model
    return model


__all__ = [
    "FEATURE_NAMES",
    "FeasibilityModel",
    "TrainingSet",
    "build_training_set",
    "candidate_pool_mask",
    "classification_metrics",
    "fit_model",
    "load_model",
    "models_dir",
    "pair_features",
    "prediction_fingerprint",
    "reliability_table",
    "tie_context",
    "train",
]
