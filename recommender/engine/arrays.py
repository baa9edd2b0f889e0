"""Column-major arrays of a cities table, built once per table and kept for the process.

The engine scores one local city against every candidate many times (a shortlist, a
comparison of scenarios, an atlas of every city). What does not depend on the local city
or the scenario is computed here once per table: the transformed indicator values (the log
of population, area and GDP per capita; HDI as is) as one contiguous row per indicator,
shape ``(k, n)``, the data-level codes, the imputed flags, the tie-break keys, the country
codes and the coordinates. A signed asymmetry is then one subtraction per indicator over a
contiguous array, with no ``(n, k)`` row-major temporaries (a row-major inner loop of length
4 costs numpy about 3x).

Tables are treated as read-only once they are in use (as :func:`recommender.data.tables.load_cities`
documents): the arrays of a table are looked up by the table's identity. A changed table
must be a new DataFrame (``apply_user_cities`` returns a copy).

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"city_id": [1, 2], "country_code": ["ID", "JP"],
...                   "population": [1e6, 4e6], "area_km2": [100.0, float("nan")],
...                   "gdp_per_capita_usd": [4e3, 4e4], "hdi": [0.8, 0.9]})
>>> a = table_arrays(t)
>>> a.values.shape, a.values.flags["C_CONTIGUOUS"]
((4, 2), True)
>>> bool(a.is_missing[1, 1]), a.country_names[a.country[1]]
(True, 'JP')
"""

from __future__ import annotations

import math
import sys
import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.data.cache import codes_of
from recommender.data.indicators import BY_NAME, INDICATOR_NAMES, LEVEL_RANK, LEVELS

MISSING_CODE = LEVEL_RANK["missing"]
IMPUTED_CODE = LEVEL_RANK["imputed"]
USER_CODE = LEVEL_RANK["user"]
NO_LEVEL_CODE = len(LEVELS)
"""Code of an empty or absent level column (shown as ``""``)."""

LEVEL_NAMES = np.array([*LEVELS, ""], dtype=object)
"""Level names by code (``LEVEL_NAMES[NO_LEVEL_CODE] == ""``)."""

_FINE_LEVELS = (LEVEL_RANK["city"], LEVEL_RANK["region"], USER_CODE)


@dataclass
class TableArrays:
    """What the engine needs from a cities table, column-major and precomputed.

    Attributes
    ----------
    ids : ndarray of int64 (n,)
    values : ndarray (k, n)
        Per indicator: ``log(value)`` for log indicators (NaN where the value is missing
        or not positive), the raw value for linear ones (HDI). Row ``j`` is contiguous.
    raw : ndarray (k, n)
        The raw indicator values (NaN where missing).
    is_missing : ndarray of bool (k, n)
    level : ndarray of int8 (k, n)
        Level codes of the level columns as written (:data:`LEVEL_NAMES`).
    imputed : ndarray of bool (k, n)
    imputed_bits : ndarray of uint8 (n,)
        The same flags, bit ``j`` for indicator ``j`` (one gather instead of k).
    fine : ndarray of int64 (n,)
        Number of indicators known at city, region or user level (tie-break key).
    population : ndarray (n,)
        Population, NaN as 0 (tie-break key).
    country : ndarray of int32 (n,)
        Codes into ``country_names``.
    country_names : ndarray of object
    is_log : ndarray of bool (k,)
    """

    ids: np.ndarray
    values: np.ndarray
    level: np.ndarray
    imputed_bits: np.ndarray
    fine: np.ndarray
    population: np.ndarray
    country: np.ndarray
    country_names: np.ndarray
    is_log: np.ndarray
    indicators: tuple[str, ...]
    _table: object = field(repr=False, default=None)
    _objects: dict = field(repr=False, default_factory=dict)
    _floats: dict = field(repr=False, default_factory=dict)
    _codes: dict = field(repr=False, default_factory=dict)
    _arange: np.ndarray | None = field(repr=False, default=None)
    _by_id: tuple | None = field(repr=False, default=None)
    _derived: dict = field(repr=False, default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    # What only a few callers read is made on first use (a shortlist needs none of it at
    # start-up: 1.6 MB of fresh arrays per table).

    @property
    def raw(self) -> np.ndarray:
        """The raw indicator values, (k, n) (NaN where missing)."""
        return self.derived("raw", _raw_values)

    @property
    def is_missing(self) -> np.ndarray:
        """Whether each indicator value is missing (or not positive for a log one), (k, n)."""
        return self.derived("is_missing", lambda arr, _table: np.isnan(arr.values))

    @property
    def imputed(self) -> np.ndarray:
        """Whether each indicator's level is ``imputed``, (k, n)."""
        return self.derived("imputed", lambda arr, _table: arr.level == IMPUTED_CODE)

    def strings(self, column: str, positions=None) -> np.ndarray:
        """A column as an object array, or its rows at ``positions`` (a new array).

        ``""`` everywhere when the column is absent. A categorical column is taken through
        its codes, so a 10-million-row table never becomes 10 million Python strings; any
        other column is converted once and kept.
        """
        hit = self._objects.get(column)
        if hit is not None:  # converted before (the common case: no column lookup)
            return hit if positions is None else hit[positions]
        table = self._table()
        if column in table.columns and isinstance(table[column].dtype, pd.CategoricalDtype):
            codes, uniques = _factorized(table, column)
            take = codes if positions is None else codes[positions]
            return np.append(uniques, "")[take]  # code -1 (missing) reads as ""
        if hit is None:
            if column in table.columns:
                hit = table[column].to_numpy(dtype=object)
            else:
                hit = np.full(len(self.ids), "", dtype=object)
            self._objects[column] = hit
        return hit if positions is None else hit[positions]

    def isin(self, column: str, values) -> np.ndarray:
        """Rows whose ``column`` is one of ``values``, through the column's codes."""
        hit = self._codes.get(column)
        if hit is None:
            hit = self._codes[column] = _factorized(self._table(), column)
        codes, uniques = hit
        lut = np.append(np.isin(uniques, list(values)), False)
        return lut[codes]

    def floats(self, column: str) -> np.ndarray:
        """A numeric column as float64 (cached); NaN everywhere when it is absent."""
        hit = self._floats.get(column)
        if hit is None:
            table = self._table()
            if column in table.columns:
                hit = np.ascontiguousarray(table[column].to_numpy(dtype=float))
            else:
                hit = np.full(len(self.ids), np.nan)
            self._floats[column] = hit
        return hit

    def derived(self, key, build):
        """An array derived from the table, built by ``build(self, table)`` on first use and
        kept with the table's arrays (for what does not depend on the local city)."""
        if key not in self._derived:
            self._derived[key] = build(self, self._table())
        return self._derived[key]

    def positions_of(self, city_ids) -> np.ndarray:
        """Row positions of ``city_ids`` (those not in the table are left out)."""
        rows, found = self.rows_of(city_ids)
        return rows[found]

    def rows_of(self, city_ids) -> tuple[np.ndarray, np.ndarray]:
        """The first row of each of ``city_ids`` (0 where absent), and whether it is there."""
        if self._by_id is None:
            order = np.argsort(self.ids, kind="stable")
            self._by_id = (order, self.ids[order])
        order, sorted_ids = self._by_id
        q = np.asarray(city_ids, dtype=np.int64)
        if not len(sorted_ids):
            return np.zeros(len(q), dtype=np.int64), np.zeros(len(q), dtype=bool)
        at = np.minimum(np.searchsorted(sorted_ids, q), len(sorted_ids) - 1)
        found = sorted_ids[at] == q
        return np.where(found, order[at], 0), found

    def where(self, mask: np.ndarray) -> np.ndarray:
        """Row positions where ``mask`` is true (``flatnonzero``, into the workspace)."""
        if self._arange is None:
            self._arange = np.arange(len(self.ids), dtype=np.int64)
        out = workspace(int(np.count_nonzero(mask)), np.int64)
        return np.compress(mask, self._arange, out=out)

    def country_code_of(self, code: str) -> int:
        """The integer code of a country code string; -1 when no city has it."""
        hit = np.flatnonzero(self.country_names == code)
        return int(hit[0]) if len(hit) else -1

    def country_mask(self, codes) -> np.ndarray:
        """A boolean lookup over ``country_names``: True for the given country codes."""
        return np.isin(self.country_names, list(codes))


def _factorized(cities: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, distinct values)`` of a string column: from the cache when it has them."""
    hit = codes_of(cities, column)
    if hit is not None:
        return hit
    col = cities[column]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy(), col.cat.categories.to_numpy(dtype=object)
    codes, uniques = pd.factorize(col.to_numpy(dtype=object), use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def _level_codes(cities: pd.DataFrame, column: str) -> np.ndarray:
    if column not in cities.columns:
        return np.full(len(cities), NO_LEVEL_CODE, dtype=np.int8)
    codes, uniques = _factorized(cities, column)
    lut = np.array(
        [LEVEL_RANK.get(str(u), NO_LEVEL_CODE) for u in uniques] + [NO_LEVEL_CODE], dtype=np.int8
    )
    return lut[codes]  # the sentinel -1 picks the last entry


def _raw_values(arr: TableArrays, cities: pd.DataFrame) -> np.ndarray:
    raw = np.empty((len(arr.indicators), len(arr.ids)))
    for j, name in enumerate(arr.indicators):
        raw[j] = cities[name].to_numpy(dtype=float)
    return raw


def build_arrays(cities: pd.DataFrame, indicators=INDICATOR_NAMES) -> TableArrays:
    """Compute the :class:`TableArrays` of ``cities`` (see :func:`table_arrays` for the cache)."""
    n, k = len(cities), len(indicators)
    values = np.empty((k, n))
    level = np.empty((k, n), dtype=np.int8)
    is_log = np.array([BY_NAME[i].transform == "log" for i in indicators], dtype=bool)
    population = np.zeros(n)
    for j, name in enumerate(indicators):
        raw = cities[name].to_numpy(dtype=float)  # the column itself where it is float64
        if is_log[j]:
            with np.errstate(divide="ignore", invalid="ignore"):
                np.log(raw, out=values[j])
            values[j][~(raw > 0)] = np.nan
        else:
            values[j] = raw
        if name == "population":
            population = np.nan_to_num(raw, nan=0.0)
        level[j] = _level_codes(cities, f"{name}_level")
    fine = np.isin(level, _FINE_LEVELS).sum(axis=0).astype(np.int64)
    country, names = _factorized(cities, "country_code")
    return TableArrays(
        ids=np.ascontiguousarray(cities["city_id"].to_numpy(dtype=np.int64)),
        values=values,
        level=level,
        imputed_bits=np.bitwise_or.reduce(
            (level == IMPUTED_CODE).astype(np.uint8) << np.arange(k, dtype=np.uint8)[:, None],
            axis=0,
        )
        if k
        else np.zeros(n, dtype=np.uint8),
        fine=fine,
        population=population,
        country=country.astype(np.int32),
        country_names=np.asarray(names, dtype=object),
        is_log=is_log,
        indicators=tuple(indicators),
        _table=weakref.ref(cities),
    )


# --------------------------------------------------------------------------- workspace

WORKSPACE_MIN = 1 << 20
"""Arrays of at least this many elements come from :func:`workspace`; smaller ones are
plainly allocated (the allocator already reuses their memory)."""

_WORK: dict[str, list[np.ndarray]] = {}
_WORK_KEEP = 32


def workspace(shape, dtype=np.float64) -> np.ndarray:
    """An uninitialised array for one call's results, from memory kept for the process.

    A fresh array of a large pool (80 MB per indicator at 10 million candidates) is a
    fresh memory map whose pages the kernel zeroes on first touch: at 10M candidates that
    cost more than the arithmetic, and made time per candidate grow with the pool. Large
    arrays are therefore cut from flat buffers kept per dtype; a buffer is handed out again
    only once nothing refers to it any more (no result, view or slice of it is alive), so
    results stay valid as long as they are used. The caller must fill every element.
    """
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    size = math.prod(int(s) for s in shape)  # (np.prod costs more than a small array)
    if size < WORKSPACE_MIN:
        return np.empty(shape, dtype)
    dt = np.dtype(dtype)
    free = _WORK.setdefault(dt.str, [])
    for buf in free:
        # referenced only by the list, the loop variable and getrefcount's argument
        if len(buf) >= size and sys.getrefcount(buf) <= 3:
            return buf[:size].reshape(shape)
    buf = np.empty(size + size // 8, dtype=dt)
    if len(free) >= _WORK_KEEP:
        idle = [i for i, b in enumerate(free) if sys.getrefcount(b) <= 3]
        if idle:
            del free[min(idle, key=lambda i: len(free[i]))]
    free.append(buf)
    return buf[:size].reshape(shape)


_CACHE: dict[int, TableArrays] = {}
_CACHE_SIZE = 8


def built_arrays(cities: pd.DataFrame) -> TableArrays | None:
    """The :class:`TableArrays` of ``cities`` if they were built already, else ``None``."""
    hit = _CACHE.get(id(cities))
    return hit if hit is not None and hit._table() is cities else None


def table_arrays(cities: pd.DataFrame) -> TableArrays:
    """The :class:`TableArrays` of ``cities``, built on first use and kept per table."""
    key = id(cities)
    hit = _CACHE.get(key)
    if hit is not None and hit._table() is cities:
        return hit
    arrays = build_arrays(cities)
    if len(_CACHE) >= _CACHE_SIZE:
        for k_ in [k_ for k_, v in _CACHE.items() if v._table() is None] or list(_CACHE)[:1]:
            del _CACHE[k_]
    _CACHE[key] = arrays
    return arrays


__all__ = [
    "LEVEL_NAMES",
    "TableArrays",
    "build_arrays",
    "built_arrays",
    "table_arrays",
    "workspace",
]
