"""What the ties table says about every city, country and region: the context of a pair.

Feasibility features (:mod:`recommender.engine.pair_features`) need, for a pair of cities,
counts such as "ties between the two countries" or "ties of this city with that country's
cities". They are computed here once per (cities, ties) table, vectorised, and looked up by
row position, so that one local city against 40,000 candidates costs a few gathers.

- :class:`CityArrays`: what pair features need from a cities table, as one float block per
  city (values, level codes, logs, coordinates, country / continent / region codes).
- :class:`TieContext`: tie counts per city, country pair, city-country and region pair.

Both are cached per table object (treat the tables as read-only, as the packaged ones are).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.data.indicators import INDICATOR_NAMES
from recommender.engine.features import MISSING_CODE, level_codes

AREAS = ("region",)
"""Area systems of the context counts: ``region`` = first-order administrative division
(country + admin1 code). A finer, border-respecting 0.5-degree grid was tried as a second
system and did not help on held-out cities (NDCG@50 -0.007, paired CI [-0.011, -0.001])."""

POP, GDP, HDI = (INDICATOR_NAMES.index(n) for n in ("population", "gdp_per_capita_usd", "hdi"))

# --------------------------------------------------------------------------- per-table arrays

# columns of the per-city block CityArrays.block: one gather gives a side of a batch of pairs
K = len(INDICATOR_NAMES)
B_VAL = 0  # raw indicator values, K columns
B_LEV = K  # level codes, K columns
B_CAP, B_LPOP, B_LGDP, B_HDI, B_LAT, B_LON = range(2 * K, 2 * K + 6)
B_COUNTRY, B_CONT, B_REG, B_ORIENT, B_ID, B_POS = range(2 * K + 6, 2 * K + 12)
B_AREA = {area: 2 * K + 12 + k for k, area in enumerate(AREAS)}  # area codes, -1 unknown
B_WIDTH = 2 * K + 12 + len(AREAS)


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
    block: np.ndarray  # (n + 1, B_WIDTH)

    @property
    def country(self) -> np.ndarray:
        return self.block[:-1, B_COUNTRY].astype(np.int64)

    @property
    def values(self) -> np.ndarray:
        return self.block[:-1, B_VAL : B_VAL + K]

    @property
    def levels(self) -> np.ndarray:
        return self.block[:-1, B_LEV : B_LEV + K]

    @property
    def lat(self) -> np.ndarray:
        return self.block[:-1, B_LAT]

    @property
    def lon(self) -> np.ndarray:
        return self.block[:-1, B_LON]

    def area(self, name: str) -> np.ndarray:
        return self.block[:-1, B_AREA[name]].astype(np.int64)

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


def log_positive(x: np.ndarray) -> np.ndarray:
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
    block = np.full((n + 1, B_WIDTH), np.nan)
    block[:n, B_VAL : B_VAL + K] = values
    block[:n, B_LEV : B_LEV + K] = levels
    block[n, B_LEV : B_LEV + K] = MISSING_CODE
    block[:n, B_CAP] = cap.fillna(False).astype(bool).to_numpy(dtype=float)
    block[n, B_CAP] = 0.0
    block[:n, B_LPOP] = log_positive(values[:, POP])
    block[:n, B_LGDP] = log_positive(values[:, GDP])
    block[:n, B_HDI] = values[:, HDI]
    block[:n, B_LAT] = lat
    block[:n, B_LON] = lon
    block[:n, B_COUNTRY] = country
    block[:n, B_CONT] = _codes(col("continent"))
    block[:n, B_REG] = _codes(col("un_region"))
    for area, codes in areas.items():
        block[:n, B_AREA[area]] = codes
        block[n, B_AREA[area]] = -1
    block[n, [B_COUNTRY, B_CONT, B_REG]] = -1
    block[:n, B_ORIENT] = np.nan_to_num(values[:, POP], nan=-1.0)
    block[n, B_ORIENT] = -1.0
    block[:n, B_ID] = ids
    block[n, B_ID] = -1
    block[:n, B_POS] = np.arange(n)
    block[n, B_POS] = -1
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
    _by_area: tuple | None = field(default=None, repr=False, compare=False)

    def country_key(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.where((r < 0) | (c < 0), -1, r * (self.n_countries + 1) + c)

    def pair_key(self, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
        lo, hi = np.minimum(r1, r2), np.maximum(r1, r2)
        return np.where(lo < 0, -1, lo * (self.n_areas + 1) + hi)

    def city_key(self, i: np.ndarray, r: np.ndarray) -> np.ndarray:
        return np.where((i < 0) | (r < 0), -1, i * (self.n_areas + 1) + r)

    def city_counts_with(self, r: int, n_slots: int) -> np.ndarray:
        """Ties of every city with the cities of area ``r``: an array of ``n_slots`` (the
        cities table's rows and the trailing "unknown" slot) holding ``city(city_key(i,
        r))`` at row ``i``, built from the keys of that area alone."""
        out = np.zeros(n_slots, dtype=np.int64)
        if r < 0 or len(self.city.keys) == 0:
            return out
        if self._by_area is None:  # the city keys grouped by area, once
            area = self.city.keys % (self.n_areas + 1)
            order = np.argsort(area, kind="stable")
            starts = np.searchsorted(area[order], np.arange(self.n_areas + 2))
            self._by_area = (order, starts)
        order, starts = self._by_area
        sel = order[starts[r] : starts[r + 1]]
        out[self.city.keys[sel] // (self.n_areas + 1)] = self.city.counts[sel]
        return out


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
    log1p_counts: np.ndarray = field(default_factory=lambda: np.zeros(1), repr=False)
    """``log1p`` of 0, 1, 2, ... up to any count of ties: the features' ``log1p`` of a count
    is a lookup (``numpy.log1p`` of the same numbers, so the same values)."""
    _partners: tuple | None = field(default=None, repr=False, compare=False)

    def pair_key(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        return np.where(lo < 0, -1, lo * (self.n_cities + 1) + hi)

    def is_partner(self, i: int) -> np.ndarray:
        """Booleans over the rows and the trailing "unknown" slot: which cities have a tie
        with the city at row ``i`` (none for ``i = -1``, a city outside the table)."""
        out = np.zeros(self.n_cities + 1, dtype=bool)
        if i < 0 or len(self.pairs.keys) == 0:
            return out
        if self._partners is None:  # each tie's two ends, grouped by city, once
            base = self.n_cities + 1
            a, b = self.pairs.keys // base, self.pairs.keys % base
            ends, other = np.concatenate([a, b]), np.concatenate([b, a])
            order = np.argsort(ends, kind="stable")
            starts = np.searchsorted(ends[order], np.arange(self.n_cities + 2))
            self._partners = (other[order], starts)
        other, starts = self._partners
        out[other[starts[i] : starts[i + 1]]] = True
        return out


def tie_context(cities: pd.DataFrame, ties: pd.DataFrame | None) -> TieContext:
    """Count ties per city, country pair, city-country and region pair (vectorised).

    Cached per (cities, ties) table objects, so a second recommend() with feasibility on
    the same tables costs nothing here.
    """
    key = (id(cities), id(ties))
    hit = _CONTEXT_CACHE.get(key)
    if hit is not None and hit[0] is cities and hit[1] is ties:
        return hit[2]
    ctx = build_context(city_arrays(cities), ties)
    if len(_CONTEXT_CACHE) > 8:
        _CONTEXT_CACHE.clear()
    _CONTEXT_CACHE[key] = (cities, ties, ctx)
    return ctx


def tie_positions(A: CityArrays, ties: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
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


def build_context(A: CityArrays, ties: pd.DataFrame | None) -> TieContext:
    n, nc = len(A.ids), len(A.countries)
    a, b = tie_positions(A, ties)
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
        # a count is at most the number of tie ends
        log1p_counts=np.log1p(np.arange(2 * len(a) + 2, dtype=float)),
    )
    ctx.pairs = _KeyCounts(ctx.pair_key(a, b))
    return ctx


def cross_ties(A: CityArrays, ties: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Row positions ``(a, b)`` of the distinct ties between cities of two countries."""
    a, b = tie_positions(A, ties)
    cross = A.country[a] != A.country[b]
    return a[cross], b[cross]


__all__ = ["AREAS", "CityArrays", "TieContext", "city_arrays", "cross_ties", "tie_context"]
