"""Feasibility pair features: what a pair of cities looks like to the feasibility model.

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
- **context counted from the ties table** (``log1p``, :mod:`recommender.engine.tie_context`):
  each city's number of partners (``degree_*``); ties between the two countries and each
  country's cross-country ties; the ties each city already has with the other's country
  (``city_country_*``); the same at the level of first-order regions (``region_*``:
  sister-region programmes make a city's neighbours' partners a strong hint); and the
  shares these make (where a country's, a region's or a city's ties go), the country
  shares shrunk towards the partner country's overall share by :data:`SHARE_PRIOR`
  pseudo-ties so that a country with few ties (such as Indonesia) does not get extreme
  shares.

**No leakage.** The context of a pair never contains the pair itself: counts are taken
from the ties table and, when the pair being scored is one of those ties, its own
contribution is subtracted (leave-one-out), so a pair gets the same features whether or
not its tie is in the table. The table's ``n_partners`` column is never used: it was
counted on the full ties table. With ``cold`` (:func:`pair_features`), *every* tie of the
first city is subtracted: the features are exactly those of a table in which that city has
no partner yet (tested).

The matrix is built column by column (Fortran order): one local city against 40,000
candidates is a few dozen vector operations, and the tree evaluator reads columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from recommender.data.indicators import INDICATOR_NAMES
from recommender.engine.coupling import asymmetry_tolerance
from recommender.engine.features import (
    HDI_SCALE,
    haversine_km,
    level_codes,
    signed_asymmetry,
    transforms_for,
)
from recommender.engine.tie_context import (
    AREAS,
    B_AREA,
    B_CAP,
    B_CONT,
    B_COUNTRY,
    B_HDI,
    B_ID,
    B_LAT,
    B_LEV,
    B_LGDP,
    B_LON,
    B_LPOP,
    B_ORIENT,
    B_POS,
    B_REG,
    B_VAL,
    GDP,
    HDI,
    POP,
    CityArrays,
    K,
    TieContext,
    city_arrays,
    log_positive,
    tie_context,
    tie_positions,
)
from recommender.errors import ModelError

FEATURE_VERSION = 1
"""Bumped whenever :data:`FEATURE_NAMES` or their meaning change; a model built for another
version is refused by :func:`recommender.engine.feasibility.load_model`."""

POOL_MIN_POPULATION = 15_000
"""The packaged pool: every city of at least this population plus every city in a tie (see
``data/MANIFEST.json``, ``build.min_population``)."""

_FB_NAMES = (
    [f"asym_{n}" for n in INDICATOR_NAMES]
    + ["n_cand_leads", "n_local_leads", "complementary", "distance_km"]
    + [f"level_{n}_{s}" for n in INDICATOR_NAMES for s in ("local", "cand")]
)


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
"""Pseudo-ties of the smoothed country shares (see :func:`features_matrix`)."""
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

N_FEATURES = len(FEATURE_NAMES)


# --------------------------------------------------------------------------- pair features


def row_block(A: CityArrays, row: pd.Series | Mapping) -> np.ndarray:
    """The block row (1, width) of one city given as a row, what-if values included.

    Its codes and position come from the table (by ``city_id``); a city outside the table
    has no known ties and unknown regions.
    """
    cid = int(row["city_id"])
    pos = int(A.positions([cid])[0])
    out = A.block[pos].copy()  # position -1: the trailing "unknown" row
    values = np.array([_float(row.get(c)) for c in INDICATOR_NAMES], dtype=float)
    out[B_VAL : B_VAL + K] = values
    out[B_LEV : B_LEV + K] = level_codes(
        [row.get(f"{c}_level") or None for c in INDICATOR_NAMES], values
    )
    out[B_LPOP] = log_positive(values[POP : POP + 1])[0]
    out[B_LGDP] = log_positive(values[GDP : GDP + 1])[0]
    out[B_HDI] = values[HDI]
    out[B_LAT], out[B_LON] = _float(row.get("latitude")), _float(row.get("longitude"))
    out[B_ORIENT] = -1.0 if math.isnan(values[POP]) else values[POP]
    out[B_ID] = cid
    out[B_CAP] = float(bool(row.get("is_capital", False)))
    if pos < 0:
        hit = np.flatnonzero(A.countries == row.get("country_code"))
        out[B_COUNTRY] = hit[0] if len(hit) else -1
    return out[None, :]


def gather(A: CityArrays, pos: np.ndarray) -> np.ndarray:
    """Block rows of the cities at ``pos`` (-1: the "unknown" row)."""
    return A.block[np.asarray(pos, dtype=np.int64)]


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
_SWAP = np.arange(N_FEATURES)
for _name, _k in _NAME_INDEX.items():
    for _a, _b in (("_local", "_cand"), ("n_cand_leads", "n_local_leads")):
        if _name.endswith(_a) or _name == _a:
            _SWAP[_k] = _NAME_INDEX[_name[: len(_name) - len(_a)] + _b]
        elif _name.endswith(_b) or _name == _b:
            _SWAP[_k] = _NAME_INDEX[_name[: len(_name) - len(_b)] + _a]
_SIGN = np.where([n.startswith("asym_") for n in FEATURE_NAMES], -1.0, 1.0)
_MOVES = np.flatnonzero((_SWAP != np.arange(N_FEATURES)) | (_SIGN != 1.0))


_IDENTITY = np.arange(N_FEATURES)
_PLAIN_SHARES = [
    (_SHARE_SLICE.start + k, num, den)
    for k, (num, den) in enumerate(_SHARE_INDEX)
    if not _SHARES[k][0].startswith("country_share_")
]


def orientation_swapped(U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Rows where V is the less populous side (ties: the smaller id), so that the pair is
    turned around to put V on the "local" side."""
    return _swapped(U[:, B_ORIENT], U[:, B_ID], V[:, B_ORIENT], V[:, B_ID])


def swapped_at(A: CityArrays, U: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``orientation_swapped(U, gather(A, positions))`` without gathering whole rows."""
    at = np.asarray(positions, dtype=np.int64)
    return _swapped(U[:, B_ORIENT], U[:, B_ID], A.block[at, B_ORIENT], A.block[at, B_ID])


def _swapped(u_orient, u_id, v_orient, v_id) -> np.ndarray:
    return (u_orient > v_orient) | ((u_orient == v_orient) & (u_id > v_id))


def features_matrix(
    ctx: TieContext,
    U: np.ndarray,
    V: np.ndarray,
    *,
    cold: np.ndarray | bool = False,
    count_scale: float = 1.0,
) -> np.ndarray:
    """The feature matrix (m, len(FEATURE_NAMES)) of the pairs ``(U[k], V[k])``.

    ``U``, ``V`` are block rows (:func:`gather`, :func:`row_block`); one of them may be a
    single row (one local city against many candidates). ``cold`` hides all of U's own ties
    from the counts (a city with no partners yet: how the evaluation and recommend see the
    local city). Features are computed with U as "local", then the rows where V is the less
    populous side are turned around; when every row is (one local city against candidates
    of one orientation, as :meth:`~recommender.engine.feasibility.FeasibilityModel.
    score_candidates` calls it), each column is written straight to its turned place. The
    result is Fortran-ordered (columns contiguous).
    """
    m = max(len(U), len(V))
    C = np.empty((N_FEATURES, m))  # C[k] is column k of the result
    swap = np.broadcast_to(orientation_swapped(U, V), (m,))
    turned = bool(swap.all())
    dest = _SWAP if turned else _IDENTITY  # where column k goes

    def put(k, values) -> None:
        C[dest[k]] = values

    asym = signed_asymmetry(U[:, B_VAL : B_VAL + K], V[:, B_VAL : B_VAL + K], _TRANSFORMS)
    C[:K] = asym.T  # signed asymmetries keep their rows and change sign when turned
    # lead counts as engine.features.lead_counts, one indicator row at a time
    n_cand = np.zeros(m, dtype=np.int64)
    n_local = np.zeros(m, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for k in range(K):
            n_cand += C[k] > _TOLERANCE[k]
            n_local += C[k] < -_TOLERANCE[k]
    if turned:
        np.negative(C[:K], out=C[:K])
    put(K, n_cand)
    put(K + 1, n_local)
    put(K + 2, (n_cand > 0) & (n_local > 0))
    dist = haversine_km(U[:, B_LAT], U[:, B_LON], V[:, B_LAT], V[:, B_LON])
    put(K + 3, dist)
    c = K + 4
    put(slice(c, c + 2 * K, 2), U[:, B_LEV : B_LEV + K].T)
    put(slice(c + 1, c + 2 * K, 2), V[:, B_LEV : B_LEV + K].T)
    c += 2 * K
    put(c, np.log1p(dist))
    for off, col in ((1, B_CONT), (2, B_REG)):
        u, v = U[:, col], V[:, col]
        put(c + off, (u == v) & (u >= 0))
    for off, col in ((3, B_LPOP), (5, B_LGDP), (7, B_HDI), (9, B_CAP)):
        put(c + off, U[:, col])
        put(c + off + 1, V[:, col])
    # the gravity model's log score: trees cannot add features up by themselves
    put(c + 11, U[:, B_LPOP] + V[:, B_LPOP] - np.log(np.maximum(dist, 1.0)))
    counts = _context_counts(ctx, U, V, cold, m)  # int64
    total = counts[-1]
    counts = counts[:-1]
    for row, num, den in _PLAIN_SHARES:
        put(row, counts[num] / np.maximum(counts[den], 1.0))
    # a country with few ties has noisy shares: shrink them towards the partner country's
    # share of all ties, with the weight of SHARE_PRIOR ties
    for side, other in (("local", "cand"), ("cand", "local")):
        prior = counts[_COUNT_NAMES.index(f"country_ties_{other}")] / np.maximum(total, 1.0)
        put(
            _NAME_INDEX[f"country_share_{side}"],
            (counts[_COUNT_NAMES.index("country_pair_ties")] + SHARE_PRIOR * prior)
            / (counts[_COUNT_NAMES.index(f"country_ties_{side}")] + SHARE_PRIOR),
        )
    table = ctx.log1p_counts
    if count_scale != 1.0:
        put(_COUNT_SLICE, np.log1p(counts * count_scale))
    elif counts.size and counts.min() >= 0 and counts.max() < len(table):
        put(_COUNT_SLICE, table.take(counts))  # = np.log1p(counts), looked up
    else:
        put(_COUNT_SLICE, np.log1p(counts.astype(float)))
    if not turned and swap.any():
        C[_MOVES] = np.where(swap, C[_SWAP[_MOVES]] * _SIGN[_MOVES, None], C[_MOVES])
    return C.T


def _context_counts(ctx: TieContext, U: np.ndarray, V: np.ndarray, cold, m: int) -> np.ndarray:
    """The raw counts of :data:`_COUNT_NAMES` in (U, V) orientation, without the pair, and
    the total of cross-country tie ends: (len(_COUNT_NAMES) + 1, m) int64.

    Leave-one-out: when ``(U, V)`` is itself a tie of the context, its contribution is
    subtracted, so the pair gets the same counts whether or not its tie is in the table.
    With ``cold``, every tie of U is subtracted (U is a city with no partners yet).
    """

    if len(U) == 1 and len(V) == m > 1 and np.ndim(cold) == 0:
        return _context_counts_one(ctx, U[0], V, bool(cold), m)

    def ints(B: np.ndarray, col: int) -> np.ndarray:
        return np.broadcast_to(B[:, col].astype(np.int64), (m,))

    i, j = ints(U, B_POS), ints(V, B_POS)
    ci, cj = ints(U, B_COUNTRY), ints(V, B_COUNTRY)
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
        ri, rj = ints(U, B_AREA[name]), ints(V, B_AREA[name])
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
    res = np.empty((len(_COUNT_NAMES) + 1, m), dtype=np.int64)
    for k, name in enumerate(_COUNT_NAMES):
        res[k] = out[name]
    res[-1] = total
    return res


def _context_counts_one(
    ctx: TieContext, u: np.ndarray, V: np.ndarray, cold: bool, m: int
) -> np.ndarray:
    """:func:`_context_counts` for one city ``u`` against many: the same numbers (tested),
    with every lookup that depends on ``u`` and the candidate's country or region taken
    from a small per-country or per-region table (or u's partners, or the ties with u's
    region, over the rows of the table) instead of a search per candidate."""
    i, ci = int(u[B_POS]), int(u[B_COUNTRY])
    j, cj = V[:, B_POS].astype(np.int64), V[:, B_COUNTRY].astype(np.int64)
    cross = cj != ci
    t = ctx.is_partner(i)[j].astype(np.int64)  # the pair is a tie
    tc = t * cross
    row_i = ctx.city_country[i].astype(np.int64)  # ties of u with each country (last: none)
    x = row_i[cj] if cold else None
    u_cross = int(ctx.degree_cross[i]) if cold else 0
    res = np.empty((len(_COUNT_NAMES) + 1, m), dtype=np.int64)
    row = {name: res[k] for k, name in enumerate(_COUNT_NAMES)}
    if cold:
        row["degree_local"][:] = 0
        np.subtract(ctx.country_pair[ci][cj], np.where(cross, x, 0), out=row["country_pair_ties"])
        row["country_ties_local"][:] = ctx.country_total[ci] - u_cross
        np.subtract(
            ctx.country_total[cj], np.where(cross, x, u_cross), out=row["country_ties_cand"]
        )
        row["city_country_local"][:] = 0
    else:
        np.subtract(ctx.degree[i], t, out=row["degree_local"])
        np.subtract(ctx.country_pair[ci][cj], tc, out=row["country_pair_ties"])
        np.subtract(ctx.country_total[ci], tc, out=row["country_ties_local"])
        np.subtract(ctx.country_total[cj], tc, out=row["country_ties_cand"])
        np.subtract(row_i[cj], t, out=row["city_country_local"])
    np.subtract(ctx.degree[j], t, out=row["degree_cand"])
    np.subtract(ctx.city_country[j, ci], t, out=row["city_country_cand"])
    nc = ctx.country_pair.shape[0] - 1
    for name, ac in ctx.areas.items():
        ri = int(u[B_AREA[name]])
        rj = V[:, B_AREA[name]].astype(np.int64)
        has_i = int(ri >= 0)
        has_j = rj >= 0
        codes = np.arange(ac.n_areas)

        def per_area(counts, keys, n_areas=ac.n_areas, rj=rj):
            table = np.zeros(n_areas + 1, dtype=np.int64)  # last slot: unknown area
            table[:n_areas] = counts(keys)
            return table[rj]

        city_i = per_area(ac.city, ac.city_key(np.full(ac.n_areas, i), codes))
        if ri >= 0:
            pair_i = per_area(ac.pair, ac.pair_key(np.full(ac.n_areas, ri), codes))
            country_i = np.zeros(nc + 1, dtype=np.int64)
            country_i[:nc] = ac.country(ac.country_key(np.full(nc, ri), np.arange(nc)))
            country_i = country_i[cj]
        else:
            pair_i = country_i = np.zeros(m, np.int64)
        y = city_i if cold else None
        country_cand = per_area(ac.country, ac.country_key(codes, np.full(ac.n_areas, ci)))
        with_ri = ac.city_counts_with(ri, ctx.n_cities + 1)[j]  # ties of the cand with u's area
        if cold:
            row[f"{name}_country_local"][:] = country_i - has_i * x
            row[f"{name}_country_cand"][:] = country_cand - has_j * y
            row[f"{name}_pair_ties"][:] = pair_i - has_i * has_j * y
            row[f"city_{name}_local"][:] = 0
            row[f"{name}_ties_local"][:] = ac.total[ri] - has_i * u_cross
            row[f"{name}_ties_cand"][:] = ac.total[rj] - has_j * np.where(cross, y, 0)
        else:
            row[f"{name}_country_local"][:] = country_i - has_i * t
            row[f"{name}_country_cand"][:] = country_cand - has_j * t
            row[f"{name}_pair_ties"][:] = pair_i - has_i * has_j * t
            row[f"city_{name}_local"][:] = city_i - t * has_j
            row[f"{name}_ties_local"][:] = ac.total[ri] - has_i * tc
            row[f"{name}_ties_cand"][:] = ac.total[rj] - has_j * tc
        row[f"city_{name}_cand"][:] = with_ri - t * has_i
    res[-1] = ctx.country_total.sum() - 2 * (u_cross if cold else tc)
    return res


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
    X = features_matrix(tie_context(cities, ties), gather(A, i), gather(A, j), cold=cold)
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
        mask = A.values[:, POP] >= POOL_MIN_POPULATION
    if "is_local" in cities:
        mask |= cities["is_local"].fillna(False).astype(bool).to_numpy()
    a, b = tie_positions(A, ties)
    mask[a] = True
    mask[b] = True
    return mask


__all__ = [
    "FEATURE_NAMES",
    "FEATURE_VERSION",
    "N_FEATURES",
    "POOL_MIN_POPULATION",
    "candidate_pool_mask",
    "features_matrix",
    "gather",
    "pair_features",
    "row_block",
    "swapped_at",
]
