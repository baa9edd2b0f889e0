"""Per-candidate rows of a pool, and which candidates can pass the scenario's gates before
anything is scored.

:func:`asymmetry_row` and :func:`uncertainty_row` are the rows of
:func:`~recommender.engine.pool.pool_asymmetry` and the pool's uncertainty, one indicator
at a time. :func:`required_superset` and :func:`coupling_superset` are cheap supersets of
the candidates that pass a scenario's ``required`` and ``couplings`` gates: the shortlist
(``pool_for(gated_only=True)``) scores only the candidates they keep, and the scoring then
applies every gate exactly, so the shortlist is the one of the whole pool.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from recommender.data.indicators import INDICATOR_NAMES
from recommender.data.modelled import Z80
from recommender.engine.arrays import TableArrays, workspace
from recommender.engine.coupling import asymmetry_tolerance, composite_weights_array
from recommender.engine.features import HDI_SCALE
from recommender.engine.options import Options, _float
from recommender.engine.scenarios import Scenario
from recommender.engine.scoring import desirability, required_ok


def plain_values(local) -> dict:
    """The local city's fields as a plain dict: the same values, read without pandas'
    per-lookup cost (a few microseconds each, and a shortlist makes dozens)."""
    if hasattr(local, "index") and hasattr(local, "tolist"):  # a Series: its index is
        return dict(zip(local.index.tolist(), local.tolist()))  # slow to iterate
    return dict(local.items())


def asymmetry_row(
    arr: TableArrays, local, positions: np.ndarray, j: int, hdi_scale: float, out: np.ndarray
) -> np.ndarray:
    """Row ``j`` of :func:`pool_asymmetry`'s ``asym_t``, written into ``out`` (``positions``
    None: every row of the table)."""
    lv = _float(local.get(arr.indicators[j]))
    if positions is None:
        np.copyto(out, arr.values[j])
    else:
        # mode="clip" (the positions are valid): with an ``out``, the default mode "raise"
        # gathers into a fresh buffer first, a memory map the kernel zeroes at 10M rows
        np.take(arr.values[j], positions, out=out, mode="clip")
    if arr.is_log[j]:
        loc = math.log(lv) if lv > 0 else math.nan
        out -= loc
    else:
        out -= lv
        out /= hdi_scale
    if math.isnan(lv) or (arr.is_log[j] and not lv > 0):
        out[:] = np.nan
    return out


def uncertainty_row(arr: TableArrays, local, positions: np.ndarray, j: int, out: np.ndarray):
    """Row ``j`` of :func:`_uncertainty`, written into ``out`` (``positions`` None: every
    row of the table)."""
    n = arr.indicators[j]
    col = f"{n}_sd"
    square = arr.derived(("sd2", col), sd_squared(col))  # None: no sd anywhere
    loc = _float(local.get(col)) if local.get(f"{n}_level") == "modelled" else 0.0
    loc = 0.0 if math.isnan(loc) else loc
    if square is None and loc == 0.0:
        out.fill(0.0)  # sqrt(0 + 0)
        return out
    if square is None:
        out[:] = loc**2
    else:
        if positions is None:
            np.copyto(out, square)
        else:
            np.take(square, positions, out=out, mode="clip")
        out += loc**2
    np.sqrt(out, out=out)
    return out


def sd_squared(col: str):
    """Builder of a table's squared standard deviations in ``col`` (NaN as 0), or None
    when the table has none (the column is absent or all zero)."""

    def build(arr: TableArrays, table) -> np.ndarray | None:
        if col not in table.columns:  # (not a column of NaN to read as zeros)
            return None
        sd = np.nan_to_num(arr.floats(col), nan=0.0)
        return sd**2 if np.any(sd != 0) else None

    return build


def required_superset(arr: TableArrays, local, opts: Options) -> np.ndarray:
    """Which rows of the table may pass every ``required`` gate of the scenario as
    candidates of ``local``: all that do, and perhaps a few more (the scoring applies the
    gates exactly).

    Per required indicator, one asymmetry row against the band's outer limits: a
    desirability above 0 needs the asymmetry (its absolute value for a two-sided band)
    within ``[min, max]``, and a modelled value's 80% interval can meet the band only
    within ``Z80 * sd`` of it, ``sd`` at most the table's largest standard deviation
    combined with the local city's (both as :func:`uncertainty_row` combines them); the
    limits are widened by a relative 1e-9 for rounding. A band whose five points are not
    in order gets the exact test (:func:`~recommender.engine.scoring.required_gate`).
    """
    n, positions = len(arr.ids), None
    ok = np.ones(n, dtype=bool)
    row = workspace(n)
    scen = opts.scenario
    bands, two_sided = scen.band_matrix(arr.indicators, opts.hdi_scale)
    ideals = scen.ideal_array(arr.indicators, opts.hdi_scale)
    for name in scen.required:
        j = list(arr.indicators).index(name)
        asymmetry_row(arr, local, positions, j, opts.hdi_scale, row)
        mn, lo, hi, mx = (float(v) for v in bands[j])
        points = [mn, lo, float(ideals[j]), hi, mx]
        if points != sorted(points) or any(math.isnan(v) for v in points):
            sd = uncertainty_row(arr, local, positions, j, workspace(n))
            missing = np.isnan(row)
            ok &= required_gate(row, missing, sd, scen, name, opts.hdi_scale, arr.indicators)
            continue
        reach = _largest_sd(arr, local, j) * Z80
        low, high = mn - reach, mx + reach
        slack = 1e-9 * (1.0 + abs(low) + abs(high)) if math.isfinite(low + high) else 0.0
        x = np.abs(row, out=row) if two_sided[j] else row
        with np.errstate(invalid="ignore"):
            ok &= x >= low - slack  # NaN (missing) fails both
            ok &= x <= high + slack
    return ok


def coupling_superset(arr: TableArrays, local, opts: Options):
    """Which rows of the table may be, as candidates of ``local``, one of the scenario's
    couplings (a superset: the exact labels are computed for them afterwards), or ``None`` when this
    cannot tell (labels on both sides of Symmetry allowed, or the local city lacks a
    figure the composite size reads).

    A label needs the composite size ``c`` against its tolerance ``t``
    (:func:`~recommender.engine.coupling.pair_coupling_codes`): SB only when ``c >= -t``,
    BS only when ``c <= t``, BB and SS only in between. Here ``c`` is the candidate's
    weighted mean of its known (log or scaled) values, kept per table, minus the local
    city's mean over the same indicators, and ``t`` the same mean of the tolerances; it
    differs from the computed size by rounding only, so the limits are widened by a
    relative 1e-9.
    """
    allowed = set(opts.scenario.couplings)
    if not allowed:
        return None
    if allowed <= {"SB", "BB", "SS"}:
        side = 1.0  # keep c >= -t
    elif allowed <= {"BS", "BB", "SS"}:
        side = -1.0  # keep c <= t, i.e. -c >= -t
    else:
        return None
    cw = _default_composite_weights(tuple(arr.indicators))
    table = arr.derived(
        ("composite", opts.hdi_scale, tuple(cw.tolist())), _composite_means(cw, opts.hdi_scale)
    )
    if table is None:
        return None
    pattern, mean, largest = table
    loc = np.empty(len(arr.indicators))
    for j, name in enumerate(arr.indicators):
        lv = _float(local.get(name))
        if arr.is_log[j]:
            loc[j] = math.log(lv) if lv > 0 else math.nan
        else:
            loc[j] = lv / opts.hdi_scale
    if not np.all(np.isfinite(loc[cw > 0])):
        return None
    tol = asymmetry_tolerance(opts.scenario.tolerance, arr.indicators, opts.hdi_scale)
    bits = np.arange(16)[:, None] >> np.arange(len(arr.indicators))[None, :] & 1
    weight = bits * cw  # (pattern, indicator)
    total = weight.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        loc_mean = (weight * np.where(cw > 0, loc, 0.0)).sum(axis=1) / total
        tol_mean = (weight * tol).sum(axis=1) / total
    # (fmax skips the NaN of the pattern without known figures)
    slack = 1e-9 * (
        1.0 + largest + float(np.fmax.reduce(np.abs(loc_mean))) + float(np.fmax.reduce(tol_mean))
    )
    # side * (mean - loc_mean) + tol_mean >= -slack, with the local terms per pattern
    floor = side * loc_mean - tol_mean - slack
    with np.errstate(invalid="ignore"):
        # NaN (no known figure: no label) fails
        return (mean if side > 0 else -mean) >= np.take(floor, pattern, out=workspace(len(mean)))


@functools.lru_cache(maxsize=8)
def _default_composite_weights(indicators: tuple) -> np.ndarray:
    """The default composite weights (those pair_coupling_codes uses), validated once."""
    cw = composite_weights_array(None, indicators)
    cw.flags.writeable = False
    return cw


def _composite_means(cw: np.ndarray, hdi_scale: float):
    """Builder of a table's ``(pattern, mean, largest)`` for :func:`coupling_superset`:
    per row, which indicators are known (bit j) and the composite-weighted mean of its
    known values (NaN when none is); ``largest`` the largest absolute mean. ``None`` when
    a value is infinite (the means would not bound the sizes)."""

    def build(arr: TableArrays, _table):
        k = len(arr.indicators)
        if k > 4:
            return None
        values = np.vstack(
            [arr.values[j] / (1.0 if arr.is_log[j] else hdi_scale) for j in range(k)]
        )
        if np.isinf(values).any():
            return None
        known = ~np.isnan(values)
        pattern = (known * (1 << np.arange(k))[:, None]).sum(axis=0).astype(np.intp)
        weight = known * cw[:, None]
        total = weight.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (weight * np.nan_to_num(values)).sum(axis=0) / total
        largest = float(np.nanmax(np.abs(mean))) if np.isfinite(mean).any() else 0.0
        return pattern, mean, largest

    return build


def _largest_sd(arr: TableArrays, local, j: int) -> float:
    """The largest standard deviation :func:`uncertainty_row` can give indicator ``j``."""
    n = arr.indicators[j]
    col = f"{n}_sd"
    square = arr.derived(("sd2", col), sd_squared(col))
    top = arr.derived(("sd2max", col), lambda a, t: 0.0 if square is None else float(square.max()))
    loc = _float(local.get(col)) if local.get(f"{n}_level") == "modelled" else 0.0
    loc = 0.0 if math.isnan(loc) else loc
    return math.sqrt(top + loc**2)


def required_gate(
    asym: np.ndarray,
    missing: np.ndarray,
    sd: np.ndarray | None,
    scenario: Scenario,
    name: str,
    hdi_scale: float = HDI_SCALE,
    indicators: Sequence[str] = INDICATOR_NAMES,
) -> np.ndarray:
    """Which candidates pass the gate of the ``required`` indicator ``name`` (one row of
    asymmetries, its missing flags and standard deviations): the test
    :func:`score_columns` applies, with the same operations, so the same answer for every
    candidate. Lets a caller drop the candidates that fail it before scoring the rest."""
    j = list(indicators).index(name)
    bands, two_sided = scenario.band_matrix(indicators, hdi_scale)
    ideal = scenario.ideal_array(indicators, hdi_scale)[j]
    d = desirability(asym, bands[j], bool(two_sided[j]), ideal, out=workspace(len(asym)))
    np.copyto(d, 0.0, where=missing)
    return required_ok(d, asym, missing, sd, bands[j], bool(two_sided[j]))
