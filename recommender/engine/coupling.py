"""Coupling: is the foreign city Big, Small or Symmetric, and which of Cohen's four pairs is it?

**Per indicator.** From the signed asymmetry ``a_i`` (see :mod:`recommender.engine.features`), the
foreign city is *Big* when ``a_i > tol_i``, *Small* when ``a_i < -tol_i`` and *Symmetry*
otherwise; *Unknown* when either value is missing. Default tolerances
(:data:`DEFAULT_TOLERANCE`, natural units):

- population, area, GDP per capita: a ratio within **1.25x** either way (``|log ratio| <=
  log 1.25 ~ 0.223``). City figures come from different censuses, years and boundary
  definitions (city proper vs. municipality vs. urban area) and GDP per capita from
  different price years and exchange rates; differences of 10-25 % are within that noise,
  so they are not a meaningful asymmetry. 1.25 is also the smallest ratio people notice
  when two cities are described ("a quarter bigger").
- HDI: a difference within **0.02** (0.2 units at ``hdi_scale = 0.1``). The subnational HDI
  of Global Data Lab and BPS's IPM / 100 are computed with different methods and differ
  systematically by about 0.01-0.03 for the same place; 0.02 is also about two to three
  years of typical HDI progress.

**Composite size and Cohen's labels** (Cohen 2020; Sinambela et al. 2025). The composite
size of the foreign city relative to the local one is the weighted mean of the known
asymmetries, ``c = sum_i w_i a_i / sum_i w_i`` over indicators with data, with default
weights :data:`DEFAULT_COMPOSITE_WEIGHTS` that emphasise GDP per capita: Sinambela et al.
define the *Big* partner of the Small-Big model as "a foreign partner city with a larger GDP
per capita", and add HDI and population to Cohen's population-only sizing. The composite
tolerance is the same weighted mean of the indicator tolerances. From the local side:

- ``SB`` (local Small, foreign Big) when ``c > tol_c``;
- ``BS`` (local Big, foreign Small) when ``c < -tol_c``;
- otherwise the pair is symmetric in composite size, and Cohen's own sizing decides: a
  city is *big* when its population is at least ``big_city_population`` (default
  1,000,000: the usual "big city" / metropolitan threshold, above which Indonesian kota such
  as Medan, Bandung and Surabaya sit). ``BB`` when both cities are big, ``SS`` when both are
  small. When the composite is symmetric but the populations fall on opposite sides of the
  threshold (a rich town of 20,000 against a poorer city of 2.5 million), population alone
  decides, as in Cohen (2020): ``BS`` if only the local city is big, ``SB`` if only the
  foreign one is. When the foreign population is unknown, the local city's size decides
  between ``BB`` and ``SS``.
- ``""`` (unknown) when no indicator can be compared, or the pair is symmetric and the
  local population is missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.data.access import get_cities, get_ties, resolve_local
from recommender.data.indicators import BY_NAME, INDICATOR_NAMES
from recommender.data.modelled import comparable_cities
from recommender.engine import features as _features
from recommender.engine.arrays import workspace
from recommender.engine.features import HDI_SCALE, signed_asymmetry, transforms_for
from recommender.errors import ScenarioError

DEFAULT_TOLERANCE: dict[str, float] = {
    "population": 1.25,
    "area_km2": 1.25,
    "gdp_per_capita_usd": 1.25,
    "hdi": 0.02,
}
"""Symmetry band per indicator in natural units: a ratio for log indicators, a difference for HDI."""

DEFAULT_COMPOSITE_WEIGHTS: dict[str, float] = {
    "gdp_per_capita_usd": 0.5,
    "hdi": 0.2,
    "population": 0.2,
    "area_km2": 0.1,
}
"""Weights of the composite size: GDP per capita first, after Sinambela et al. (2025)."""

BIG_CITY_POPULATION = 1_000_000
"""A local city at least this populous is *Big* for Cohen's BB / SS labels."""

CLASS_NAMES = ("Small", "Symmetry", "Big")  # index = code + 1
UNKNOWN = "Unknown"
COUPLING_NAMES = {"SB": "Small-Big", "BS": "Big-Small", "BB": "Big-Big", "SS": "Small-Small"}
COUPLING_CODES = ("", "SB", "BS", "BB", "SS")
"""The pair labels by code (:func:`coupling_codes`); code 0: no label (composite unknown)."""
_CODE = {name: np.int8(i) for i, name in enumerate(COUPLING_CODES)}
_LABELS = np.array(COUPLING_CODES, dtype=object)


# --------------------------------------------------------------------------- kernels


def asymmetry_tolerance(
    tolerance: Mapping[str, float] | None = None,
    indicators: Sequence[str] = INDICATOR_NAMES,
    hdi_scale: float = HDI_SCALE,
) -> np.ndarray:
    """Convert a tolerance in natural units to asymmetry units, one entry per indicator.

    Indicators not in ``tolerance`` take :data:`DEFAULT_TOLERANCE`.

    Examples
    --------
    >>> asymmetry_tolerance({"hdi": 0.05}, ["population", "hdi"]).round(3)
    array([0.223, 0.5  ])
    """
    tolerance = dict(tolerance or {})
    unknown = sorted(set(tolerance) - set(INDICATOR_NAMES))
    if unknown:
        raise ScenarioError(
            f"Unknown indicator {unknown[0]!r} in tolerance; allowed: {', '.join(INDICATOR_NAMES)}."
        )
    out = []
    for name in indicators:
        value = tolerance.get(name, DEFAULT_TOLERANCE[name])
        log = BY_NAME[name].transform == "log"
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise ScenarioError(
                f"The tolerance for {name!r} must be a finite number; got {value!r}."
            )
        if log and value < 1:
            raise ScenarioError(
                f"The tolerance for {name!r} is a ratio and must be >= 1 (1.25 means within "
                f"25 % either way); got {value!r}."
            )
        if not log and value < 0:
            raise ScenarioError(f"The tolerance for {name!r} must be >= 0; got {value!r}.")
        out.append(math.log(value) if log else value / hdi_scale)
    return np.asarray(out, dtype=float)


def classify_asymmetry(asym: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Class codes: +1 Big (foreign bigger), -1 Small, 0 Symmetry, NaN unknown.

    Examples
    --------
    >>> classify_asymmetry(np.array([[0.5, -0.5, 0.1, np.nan]]), np.full(4, 0.2))
    array([[ 1., -1.,  0., nan]])
    """
    asym = np.asarray(asym, dtype=float)
    with np.errstate(invalid="ignore"):
        codes = np.where(asym > tol, 1.0, np.where(asym < -np.asarray(tol), -1.0, 0.0))
    codes[np.isnan(asym)] = np.nan
    return codes


def class_names(codes: np.ndarray) -> np.ndarray:
    """Map class codes to ``"Big"``, ``"Small"``, ``"Symmetry"`` or ``"Unknown"``."""
    codes = np.asarray(codes, dtype=float)
    lookup = np.array([*CLASS_NAMES, UNKNOWN], dtype=object)
    idx = np.where(np.isnan(codes), 3, np.nan_to_num(codes) + 1).astype(int)
    return lookup[idx]


def composite_size(
    asym: np.ndarray, weights: np.ndarray, tol: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of the known asymmetries and of their tolerances, row by row.

    Returns ``(composite, composite_tolerance)``; both NaN where no weighted indicator is
    known.

    Examples
    --------
    >>> c, t = composite_size(np.array([[1.0, np.nan]]), np.array([1.0, 3.0]), np.array([0.2, 0.4]))
    >>> float(c[0]), float(t[0])
    (1.0, 0.2)
    """
    asym = np.atleast_2d(np.asarray(asym, dtype=float))
    w = np.asarray(weights, dtype=float)
    known = ~np.isnan(asym)
    wk = np.where(known, w, 0.0)
    total = wk.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        comp = np.where(total > 0, (wk * np.nan_to_num(asym)).sum(axis=1) / total, np.nan)
        ctol = (
            np.where(total > 0, (wk * np.asarray(tol, dtype=float)).sum(axis=1) / total, np.nan)
            if tol is not None
            else np.full(len(asym), np.nan)
        )
    return comp, ctol


def coupling_codes(
    composite: np.ndarray,
    composite_tol: np.ndarray,
    local_population: float,
    big_city_population: float = BIG_CITY_POPULATION,
    cand_population: np.ndarray | None = None,
) -> np.ndarray:
    """Cohen's labels from the local side as small codes: ``COUPLING_CODES[code]`` is
    ``SB``, ``BS``, ``BB``, ``SS`` or ``""`` (:func:`coupling_names` decodes them).

    The form the shortlist keeps for a whole pool: one byte a candidate and integer
    comparisons for the ``couplings`` gate, instead of an array of Python strings; labels
    are decoded for the rows shown (:func:`coupling_names`).

    Examples
    --------
    >>> coupling_codes(np.array([1.0, -1.0, np.nan]), np.full(3, 0.2), 5e5).tolist()
    [1, 2, 0]
    >>> codes = coupling_codes(np.array([1.0, -1.0, 0.0, 0.0]), np.full(4, 0.2), 2.5e6,
    ...                        cand_population=np.array([5e6, 1e5, 2e6, 2e4]))
    >>> coupling_names(codes).tolist()
    ['SB', 'BS', 'BB', 'BS']
    """
    composite = np.asarray(composite, dtype=float)
    if not np.isfinite(local_population):
        out = np.zeros(composite.shape, dtype=np.int8)
    else:
        local_big = local_population >= big_city_population
        out = np.full(composite.shape, _CODE["BB" if local_big else "SS"], dtype=np.int8)
        if cand_population is not None:
            cp = np.asarray(cand_population, dtype=float)
            with np.errstate(invalid="ignore"):
                cand_big = cp >= big_city_population
            known = ~np.isnan(cp)
            # symmetric composite, sizes on opposite sides of the threshold: Cohen's sizing
            if local_big:
                out[known & ~cand_big] = _CODE["BS"]
            else:
                out[known & cand_big] = _CODE["SB"]
    with np.errstate(invalid="ignore"):
        out[composite > composite_tol] = _CODE["SB"]
        out[composite < -composite_tol] = _CODE["BS"]
    out[np.isnan(composite)] = _CODE[""]
    return out


def coupling_names(codes: np.ndarray) -> np.ndarray:
    """The labels (object array of ``SB``, ``BS``, ``BB``, ``SS`` or ``""``) of ``codes``."""
    return _LABELS[np.asarray(codes, dtype=np.intp)]


def couplings_mask(codes: np.ndarray, couplings) -> np.ndarray:
    """Which ``codes`` are one of the labels ``couplings`` (e.g. a scenario's gate)."""
    allowed = np.zeros(len(COUPLING_CODES), dtype=bool)
    for name in couplings:
        allowed[_CODE[name]] = True
    return allowed[np.asarray(codes, dtype=np.intp)]


def pair_coupling(
    asym: np.ndarray,
    local_population: float,
    cand_population: np.ndarray | None,
    **options,
) -> np.ndarray:
    """The one function that decides a pair's label (SB, BS, BB, SS or ``""``).

    ``shortlist``, ``explain``, ``partners``, ``compare`` and the scenario's ``couplings``
    gate all call it (or :func:`pair_coupling_codes`, the same decision as codes), with the
    same (like-with-like) figures, so they cannot disagree. ``asym`` is (n, k); the
    ``options`` (``tolerance``, ``composite_weights``, ``indicators``, ``hdi_scale``,
    ``big_city_population``) are those of :func:`pair_coupling_codes`.

    Examples
    --------
    >>> a = np.array([[0.0, np.nan, 1.0, 0.5], [-2.0, np.nan, 0.0, 0.0]])
    >>> pair_coupling(a, 2.5e6, np.array([2.5e6, 3e5])).tolist()
    ['SB', 'BS']
    """
    asym_t = np.asarray(asym, dtype=float).T
    return coupling_names(pair_coupling_codes(asym_t, local_population, cand_population, **options))


def pair_coupling_codes(
    asym_t: np.ndarray,
    local_population: float,
    cand_population: np.ndarray | None,
    *,
    tolerance: Mapping[str, float] | None = None,
    composite_weights: Mapping[str, float] | None = None,
    indicators: Sequence[str] = INDICATOR_NAMES,
    hdi_scale: float = HDI_SCALE,
    big_city_population: float = BIG_CITY_POPULATION,
) -> np.ndarray:
    """:func:`pair_coupling` as codes (:func:`coupling_codes`), from the asymmetries laid
    out column-major, ``asym_t`` of shape (k, n): the shortlist's layout, one pass per
    indicator and no (n, k) temporaries."""
    tol = asymmetry_tolerance(tolerance, indicators, hdi_scale)
    cw = composite_weights_array(composite_weights, indicators)
    comp, ctol = _composite_size_t(np.atleast_2d(np.asarray(asym_t, dtype=float).T).T, cw, tol)
    return coupling_codes(comp, ctol, local_population, big_city_population, cand_population)


def _composite_size_t(asym_t: np.ndarray, w: np.ndarray, tol: np.ndarray):
    """:func:`composite_size` on column-major asymmetries (k, n): the same sums, taken in
    the same order (indicator by indicator), so the same bits."""
    k, n = asym_t.shape
    # scratch rows from the workspace: no fresh temporaries for a pool of millions
    num, total, ttot = workspace(n), workspace(n), workspace(n)
    for row in (num, total, ttot):
        row.fill(0.0)
    wk, part, known = workspace(n), workspace(n), workspace(n, bool)
    nan = workspace(n, bool)
    for j in range(k):
        x = asym_t[j]
        np.isnan(x, out=nan)
        np.logical_not(nan, out=known)
        np.multiply(known, w[j], out=wk)  # where(known, w, 0): w * 1 is w, w * 0 is 0
        total += wk
        np.multiply(wk, tol[j], out=part)
        ttot += part
        np.multiply(wk, x, out=part)
        np.copyto(part, 0.0, where=nan)  # w * nan_to_num(x): 0 where unknown
        num += part
    with np.errstate(invalid="ignore", divide="ignore"):
        pos = total > 0
        comp, ctol = workspace(n), workspace(n)
        comp.fill(np.nan)
        ctol.fill(np.nan)
        np.divide(num, total, out=comp, where=pos)
        np.divide(ttot, total, out=ctol, where=pos)
    return comp, ctol


def composite_weights_array(
    weights: Mapping[str, float] | None, indicators: Sequence[str] = INDICATOR_NAMES
) -> np.ndarray:
    """Validated composite weights as an array aligned with ``indicators``."""
    weights = dict(DEFAULT_COMPOSITE_WEIGHTS if weights is None else weights)
    unknown = sorted(set(weights) - set(INDICATOR_NAMES))
    if unknown:
        raise ScenarioError(
            f"Unknown indicator {unknown[0]!r} in composite weights; "
            f"allowed: {', '.join(INDICATOR_NAMES)}."
        )
    w = np.array([float(weights.get(n, 0.0)) for n in indicators])
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise ScenarioError(f"Composite weights must be finite and >= 0; got {weights}.")
    if w.sum() <= 0:
        raise ScenarioError("All composite weights are zero; give at least one a positive weight.")
    return w


def ratio_column(indicator: str) -> str:
    """Name of the display column of an indicator's asymmetry: a ratio or an HDI difference."""
    return f"{indicator}_ratio" if BY_NAME[indicator].transform == "log" else f"{indicator}_diff"


def display_asymmetry(asym: np.ndarray, indicator: str, hdi_scale: float = HDI_SCALE) -> np.ndarray:
    """Back to natural units: the ratio foreign / local, or the HDI difference foreign - local."""
    asym = np.asarray(asym, dtype=float)
    return np.exp(asym) if BY_NAME[indicator].transform == "log" else asym * hdi_scale


# --------------------------------------------------------------------------- partners


@dataclass
class PartnerClassification:
    """The existing partners of one local city, classified as in Table 2 of Sinambela et al.

    Attributes
    ----------
    local : pandas.Series
        The local city's row.
    partners : pandas.DataFrame
        One row per partner: ids and names, per indicator the ratio (HDI: difference) and
        class, the composite size, its class (``size_class``) and Cohen's ``coupling`` label,
        the distance and the tie's source / stage / focus.
    counts : pandas.DataFrame
        Table 2 layout: rows ``Big``, ``Small``, ``Symmetry``, ``Total`` (the classified
        partners), one column named after the local city.
    by_indicator : pandas.DataFrame
        The same counts per indicator, with an ``Unknown`` row.
    n_unclassified : int
        Partners with no comparable indicator (left out of ``counts``, as the paper counts
        31 classified relationships out of 115).
    """

    local: pd.Series
    partners: pd.DataFrame
    counts: pd.DataFrame
    by_indicator: pd.DataFrame
    n_unclassified: int = 0
    settings: dict = field(default_factory=dict)


def classify_partners(
    city: str | int | pd.Series,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    *,
    country: str | None = None,
    tolerance: Mapping[str, float] | None = None,
    composite_weights: Mapping[str, float] | None = None,
    big_city_population: float = BIG_CITY_POPULATION,
    hdi_scale: float = HDI_SCALE,
) -> PartnerClassification:
    """Classify the existing partners of ``city`` as Big / Small / Symmetry and SB/BS/BB/SS.

    Parameters
    ----------
    city : str, int or pandas.Series
        The local city: a name, a GeoNames id or a row of ``cities``.
    cities, ties : pandas.DataFrame, optional
        Default: the packaged tables.
    country : str, optional
        ISO2 code to disambiguate a city name.
    tolerance, composite_weights, big_city_population, hdi_scale
        See the module docstring.

    Returns
    -------
    PartnerClassification

    Examples
    --------
    >>> result = classify_partners("Medan")
    >>> result.counts
              Medan
    Big           3
    Small         1
    Symmetry      0
    Total         4
    """
    cities = comparable_cities(get_cities(cities))
    ties = get_ties(ties)
    local = resolve_local(city, cities, country)
    indicators = INDICATOR_NAMES
    tol = asymmetry_tolerance(tolerance, indicators, hdi_scale)
    cw = composite_weights_array(composite_weights, indicators)

    local_id = int(local["city_id"])
    partner_table_, n_not_in_table = _partner_rows(local_id, cities, ties)
    local_vals = np.array([float(local.get(n, np.nan)) for n in indicators])
    cand_vals = partner_table_[list(indicators)].to_numpy(dtype=float)
    asym = signed_asymmetry(local_vals, cand_vals, transforms_for(indicators), hdi_scale)
    codes = classify_asymmetry(asym, tol)
    comp, ctol = composite_size(asym, cw, tol)
    comp_codes = classify_asymmetry(comp[:, None], ctol[:, None])[:, 0]
    labels = pair_coupling(
        asym,
        float(local.get("population", np.nan)),
        partner_table_["population"].to_numpy(dtype=float),
        tolerance=tolerance,
        composite_weights=composite_weights,
        indicators=indicators,
        hdi_scale=hdi_scale,
        big_city_population=big_city_population,
    )

    out = partner_table_[
        [c for c in ("city_id", "name", "country_code", "country_name") if c in partner_table_]
    ].copy()
    for j, n in enumerate(indicators):
        out[ratio_column(n)] = display_asymmetry(asym[:, j], n, hdi_scale)
        out[f"{n}_class"] = class_names(codes[:, j])
        out[f"{n}_level"] = partner_table_.get(
            f"{n}_level", pd.Series(index=out.index, dtype=object)
        )
    out["composite"] = comp
    out["size_class"] = class_names(comp_codes)
    out["coupling"] = labels
    if {"latitude", "longitude"} <= set(partner_table_.columns):
        out["distance_km"] = _features.haversine_km(
            float(local["latitude"]),
            float(local["longitude"]),
            partner_table_["latitude"].to_numpy(dtype=float),
            partner_table_["longitude"].to_numpy(dtype=float),
        )
    for c in ("source", "stage", "focus"):
        if c in partner_table_.columns:
            out[c] = partner_table_[c].to_numpy()
    out = out.sort_values(["size_class", "city_id"], kind="stable").reset_index(drop=True)

    local_name = str(local.get("name", local_id))
    known = out["size_class"] != UNKNOWN
    counts = pd.DataFrame(
        {local_name: [int((out["size_class"] == k).sum()) for k in ("Big", "Small", "Symmetry")]},
        index=["Big", "Small", "Symmetry"],
    )
    counts.loc["Total"] = counts.sum()
    by_ind = pd.DataFrame(
        {
            n: [int((out[f"{n}_class"] == k).sum()) for k in (*CLASS_NAMES[::-1], UNKNOWN)]
            for n in indicators
        },
        index=["Big", "Symmetry", "Small", UNKNOWN],
    ).loc[["Big", "Small", "Symmetry", UNKNOWN]]
    settings = {
        "tolerance": {**DEFAULT_TOLERANCE, **dict(tolerance or {})},
        "composite_weights": dict(zip(indicators, cw.tolist(), strict=True)),
        "big_city_population": big_city_population,
        "hdi_scale": hdi_scale,
    }
    return PartnerClassification(
        local=local,
        partners=out,
        counts=counts,
        by_indicator=by_ind,
        # partners absent from the cities table cannot be compared either
        n_unclassified=int((~known).sum()) + n_not_in_table,
        settings=settings,
    )


def partner_table(
    cities_list: Sequence[str | int],
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    **kwargs,
) -> pd.DataFrame:
    """Table 2 of Sinambela et al. (2025) for several local cities, with a ``Total`` column.

    Examples
    --------
    >>> partner_table(["Medan", "Bandung", "Surabaya"])
              Medan  Bandung  Surabaya  Total
    Big           3        6         5     14
    Small         1        2         2      5
    Symmetry      0        3         6      9
    Total         4       11        13     28

    The paper's Table 2 reads Big 20, Small 3, Symmetry 8 of 31; the packaged figures
    (and the composite size) differ from the paper's sources, see the README.
    """
    cities = get_cities(cities)
    ties = get_ties(ties)
    cols = [classify_partners(c, cities, ties, **kwargs).counts for c in cities_list]
    table = pd.concat(cols, axis=1)
    table["Total"] = table.sum(axis=1)
    return table


def _partner_rows(
    local_id: int, cities: pd.DataFrame, ties: pd.DataFrame
) -> tuple[pd.DataFrame, int]:
    """Partner cities of ``local_id`` with their tie attributes, and how many are not in
    ``cities``."""
    from recommender.data.access import partner_ids

    ids = partner_ids(local_id, ties)
    rows = cities.loc[np.isin(cities["city_id"].to_numpy(dtype=np.int64), ids)].copy()
    if len(ties) and len(rows):
        a = ties["city_a_id"].to_numpy(dtype=np.int64)
        b = ties["city_b_id"].to_numpy(dtype=np.int64)
        mine = ties.loc[(a == local_id) | (b == local_id)].copy()
        mine["city_id"] = np.where(
            mine["city_a_id"].to_numpy(dtype=np.int64) == local_id,
            mine["city_b_id"].to_numpy(dtype=np.int64),
            mine["city_a_id"].to_numpy(dtype=np.int64),
        )
        keep = [c for c in ("source", "stage", "focus") if c in mine.columns]
        mine = mine.drop_duplicates("city_id")[["city_id", *keep]]
        rows = rows.drop(columns=[c for c in keep if c in rows.columns]).merge(
            mine, on="city_id", how="left"
        )
    return rows.reset_index(drop=True), int(len(ids) - len(rows))
