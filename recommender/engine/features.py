"""Pair features: how a foreign candidate compares with the local city, indicator by indicator.

For a local city L and a candidate F the *signed asymmetry* on indicator i is

- ``a_i = log(F_i / L_i)`` for population, area and GDP per capita (transform ``log``):
  unit-free, symmetric (``log 2`` and ``log 1/2`` are equally far from parity) and
  invariant to the unit each indicator is measured in;
- ``a_i = (F_i - L_i) / hdi_scale`` for HDI (transform ``linear``), with ``hdi_scale = 0.1``
  by default.

Positive means the foreign city is bigger. Why 0.1 HDI counts as one unit: HDI is bounded in
[0, 1] and its income component is itself a log of income, scaled so that the whole range of
world incomes spans about 0.6 HDI. Across countries and regions, one log unit of GDP per
capita (a ratio of e ~ 2.7) goes with roughly 0.1 more HDI, and the UNDP development tiers
(low < 0.55, medium < 0.70, high < 0.80, very high) are 0.1 to 0.15 wide. Dividing HDI
differences by 0.1 therefore puts them on the same footing as the log ratios, so that
composite sizes and TOPSIS distances do not silently ignore HDI.

Missing values are explicit: a NaN on either side (or a non-positive value under a log)
gives a NaN asymmetry; nothing is imputed here.

Two layers, in the scikit-learn manner: numpy kernels (:func:`signed_asymmetry`,
:func:`haversine_km`, :func:`lead_counts`) and the :class:`FeatureBuilder` transformer that
validates its input and wraps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from recommender.data import indicators as ind_registry
from recommender.data.indicators import INDICATOR_NAMES, LEVEL_RANK, LEVELS

HDI_SCALE = 0.1
"""The HDI difference that counts as one unit of asymmetry (see the module docstring)."""

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius

MISSING_CODE = LEVEL_RANK["missing"]


# --------------------------------------------------------------------------- kernels


def transforms_for(indicators: Sequence[str]) -> list[str]:
    """The asymmetry transform (``"log"`` or ``"linear"``) of each indicator."""
    return [ind_registry.get(name).transform for name in indicators]


def signed_asymmetry(
    local: np.ndarray,
    cand: np.ndarray,
    transforms: Sequence[str],
    hdi_scale: float = HDI_SCALE,
) -> np.ndarray:
    """Signed asymmetry of candidates against a local city (numpy kernel, no validation).

    Parameters
    ----------
    local : array of shape (k,) or (n, k)
        The local city's values, one column per indicator (broadcast over rows).
    cand : array of shape (n, k)
        The candidates' values.
    transforms : sequence of str, length k
        ``"log"`` gives ``log(cand / local)``; ``"linear"`` gives
        ``(cand - local) / hdi_scale``.
    hdi_scale : float, default 0.1
        The difference that counts as one unit for linear indicators.

    Returns
    -------
    ndarray of shape (n, k)
        NaN where either value is NaN, or non-positive under a log.

    Examples
    --------
    >>> signed_asymmetry([100.0, 0.7], [[200.0, 0.8]], ["log", "linear"]).round(3)
    array([[0.693, 1.   ]])
    """
    local = np.asarray(local, dtype=float)
    cand = np.asarray(cand, dtype=float)
    local2, cand2 = np.broadcast_arrays(np.atleast_2d(local), np.atleast_2d(cand))
    out = np.empty(cand2.shape, dtype=float)
    is_log = np.array([t == "log" for t in transforms], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        if is_log.any():
            lo, ca = local2[:, is_log], cand2[:, is_log]
            # a non-positive size has no log: treat it as missing rather than +-inf
            ok = (lo > 0) & (ca > 0)
            out[:, is_log] = np.where(
                ok, np.log(np.where(ok, ca, 1.0) / np.where(ok, lo, 1.0)), np.nan
            )
        if (~is_log).any():
            out[:, ~is_log] = (cand2[:, ~is_log] - local2[:, ~is_log]) / hdi_scale
    return out


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km (vectorised; NaN in, NaN out).

    Examples
    --------
    >>> round(float(haversine_km(3.59, 98.67, 35.68, 139.69)), -1)  # Medan - Tokyo
    5510.0
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def lead_counts(asym: np.ndarray, tol: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Complementarity summary of a matrix of signed asymmetries.

    Returns the number of indicators on which the candidate leads (``a > tol``), on which
    the local city leads (``a < -tol``), and whether the leads go both ways (each side is
    ahead on something: the pair is *complementary*). NaN asymmetries count for neither.

    Examples
    --------
    >>> c, l, comp = lead_counts(np.array([[1.0, -1.0, 0.0, np.nan]]), np.full(4, 0.2))
    >>> int(c[0]), int(l[0]), bool(comp[0])
    (1, 1, True)
    """
    asym = np.atleast_2d(asym)
    with np.errstate(invalid="ignore"):
        n_cand = (asym > tol).sum(axis=1)
        n_local = (asym < -tol).sum(axis=1)
    return n_cand, n_local, (n_cand > 0) & (n_local > 0)


def level_codes(levels, values=None) -> np.ndarray:
    """Map level names to their rank in :data:`~recommender.data.indicators.LEVELS` (0 = city).

    A NaN value is ``missing`` whatever its level column says; an empty level is also
    ``missing``. Unknown level names raise ``ValueError`` naming them.
    """
    raw = pd.Series(np.asarray(levels, dtype=object))
    codes = pd.Index(LEVELS).get_indexer(raw).astype(float)  # -1 where not a level
    unknown = (codes < 0) & raw.notna().to_numpy() & (raw.astype(str) != "").to_numpy()
    if unknown.any():
        bad = sorted(set(raw[unknown].astype(str)))
        raise ValueError(f"Unknown data level(s) {bad}; allowed: {', '.join(LEVELS)}.")
    codes[codes < 0] = MISSING_CODE
    if values is not None:
        codes[np.isnan(np.asarray(values, dtype=float))] = MISSING_CODE
    return codes


# --------------------------------------------------------------------------- pair table


def pair_value_columns(indicators: Sequence[str] = INDICATOR_NAMES) -> list[str]:
    """The required numeric columns of a pair table, in canonical order."""
    return [f"{n}_local" for n in indicators] + [f"{n}_cand" for n in indicators]


def make_pairs(
    local_row: pd.Series | Mapping,
    candidates: pd.DataFrame,
    indicators: Sequence[str] = INDICATOR_NAMES,
) -> pd.DataFrame:
    """Build the pair table: one row per (local, candidate) pair, vectorised.

    Columns: ``city_id_local``, ``city_id_cand``, and for each indicator
    ``<indicator>_local`` / ``<indicator>_cand`` (plus ``<indicator>_level_local`` /
    ``<indicator>_level_cand`` when the cities table has levels), then ``latitude_local``,
    ``longitude_local``, ``latitude_cand``, ``longitude_cand`` when it has coordinates. The
    index is the candidates' index.

    Examples
    --------
    >>> cands = pd.DataFrame({"city_id": [2], "population": [2e6], "hdi": [0.9]})
    >>> p = make_pairs({"city_id": 1, "population": 1e6, "hdi": 0.8}, cands,
    ...                ["population", "hdi"])
    >>> list(p.columns)
    ['city_id_local', 'city_id_cand', 'population_local', 'population_cand', 'hdi_local', 'hdi_cand']
    """
    n = len(candidates)
    cols: dict[str, object] = {}
    if "city_id" in candidates.columns:
        cols["city_id_local"] = np.full(n, local_row.get("city_id", -1))
        cols["city_id_cand"] = candidates["city_id"].to_numpy()
    for name in indicators:
        cols[f"{name}_local"] = np.full(n, _as_float(local_row.get(name, np.nan)))
        cols[f"{name}_cand"] = candidates[name].to_numpy(dtype=float)
        level = f"{name}_level"
        if level in candidates.columns:
            cols[f"{level}_local"] = np.full(n, local_row.get(level, "missing"), dtype=object)
            cols[f"{level}_cand"] = candidates[level].to_numpy(dtype=object)
    if {"latitude", "longitude"} <= set(candidates.columns):
        for c in ("latitude", "longitude"):
            cols[f"{c}_local"] = np.full(n, _as_float(local_row.get(c, np.nan)))
        for c in ("latitude", "longitude"):
            cols[f"{c}_cand"] = candidates[c].to_numpy(dtype=float)
    return pd.DataFrame(cols, index=candidates.index)


def _as_float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")
