"""The shortlist: the whole pipeline for one local city, returning a DataFrame.

``recommend()`` resolves the local city, builds the candidate pool (every city of another
country, minus existing partners, minus what the filters drop), computes the signed
asymmetries and scores of the whole pool at once with numpy (no Python loop over
candidates), applies the scenario's gates, sorts deterministically (score descending, then
``city_id`` ascending), applies the per-country diversity cap, and explains the top rows.

The arrays of the candidate table are column-major and kept per table
(:mod:`recommender.engine.arrays`); scoring runs in place over them
(:func:`~recommender.engine.scoring.score_columns`), and the output frame is built from
arrays for the few shortlisted rows only. :func:`recommender.engine.reference.recommend_naive`
computes the same result with a plain Python loop over candidates: the reference for tests
and for the benchmark (``scripts/benchmark.py``).

With ``feasibility=True`` the learned probability that such a pair becomes partners
(:mod:`recommender.engine.feasibility`) is added as its own column, never folded into ``score``:
the shortlist is then ranked by

    combined = (1 - blend) * score + blend * feasibility        (blend = 0.7 by default)

The raw calibrated probability is blended, not its rank among the candidates, so that a
pair's combined score does not depend on which other cities the filters left in the pool,
just like ``score``. ``why_feasibility`` says how much of ``combined`` came from each part.

The pipeline lives in one module per step: :mod:`~recommender.engine.options` (validation),
:mod:`~recommender.engine.pool` (filters, scores, coupling, feasibility),
:mod:`~recommender.engine.robustness` (the Monte Carlo column) and
:mod:`~recommender.engine.output` (the frame and its texts); this module holds
:func:`recommend` and the selection (order, soft diversity, cap), and re-exports the public
names of the others, so ``from recommender.engine.shortlist import ...`` keeps working.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from recommender.data.indicators import INDICATOR_NAMES
from recommender.engine.coupling import couplings_mask
from recommender.engine.options import (  # noqa: F401 (re-exported)
    DEFAULT_BLEND,
    Options,
    _feasibility_model,
    _float,
    apply_overrides,
    validate_options,
)
from recommender.engine.output import (  # noqa: F401 (re-exported)
    CONTEXT_COLUMNS,
    FEASIBILITY_COLUMNS,
    _attrs,
    _frame_for,
    frame_columns,
    output_columns,
    why_feasibility,
    why_text,
)
from recommender.engine.pool import (  # noqa: F401 (re-exported)
    ROUND_DECIMALS,
    Pool,
    _eligibility_array,
    _kind_array,
    _level_ok,
    _pool_feasibility,
    build_pool,
    is_city_mask,
    kind_at,
    pool_asymmetry,
    pool_for,
    tiebreak_keys,
)
from recommender.engine.ranking import diversify
from recommender.engine.robustness import robustness_of  # noqa: F401 (re-exported)
from recommender.engine.scenarios import DEFAULT_SCENARIO, Scenario
from recommender.errors import FilterError
from recommender.i18n.catalog import current_language, language


def cap_per_country(order: np.ndarray, country: np.ndarray, cap: int, top: int) -> np.ndarray:
    """The first ``top`` of ``order`` keeping at most ``cap`` per country (vectorised).

    Examples
    --------
    >>> cap_per_country(np.arange(5), np.array(["A", "A", "A", "B", "A"]), 2, 3).tolist()
    [0, 1, 3]
    """
    if len(order) == 0:
        return order
    codes, _ = pd.factorize(country[order])
    # rank of each candidate within its country, in score order: a stable sort by country
    # keeps the score order inside each group
    by_country = np.argsort(codes, kind="stable")
    sorted_codes = codes[by_country]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    rank_in_country = np.empty(len(codes), dtype=np.int64)
    rank_in_country[by_country] = np.arange(len(codes)) - group_start
    return order[rank_in_country < cap][:top]


# --------------------------------------------------------------------------- public API


def recommend(
    city: str | int | pd.Series,
    scenario: str | Scenario = DEFAULT_SCENARIO,
    *,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    top: int = 10,
    method: str = "wsm",
    include_partners: bool = False,
    include_domestic: bool = False,
    include_city_parts: bool = False,
    include_ineligible: bool = False,
    countries: Sequence[str] | None = None,
    exclude_countries: Sequence[str] | None = None,
    continents: Sequence[str] | None = None,
    min_population: float | None = None,
    max_population: float | None = None,
    min_level: Mapping[str, str] | None = None,
    max_per_country: int | None = None,
    overrides: Mapping[str, float] | None = None,
    country: str | None = None,
    feasibility="auto",
    blend: float | None = None,
    fit_only: bool = False,
    diversity: float | None = None,
    robustness: int | None = None,
) -> pd.DataFrame:
    """Shortlist foreign partner cities for a local city under a scenario.

    Parameters
    ----------
    city : str, int or pandas.Series
        The local city: a name (resolved by :func:`recommender.data.tables.resolve_city`), a
        GeoNames id, or a row of ``cities``.
    scenario : str, path or Scenario, default "small-big"
        A preset name, a TOML file, or a :class:`~recommender.engine.scenarios.Scenario`.
    cities, ties : pandas.DataFrame, optional
        Default: the packaged tables (pass an empty ``ties`` for "no known partners").
    top : int, default 10
        Number of rows, >= 1.
    method : {"wsm", "topsis"}
        Weighted sum (default) or TOPSIS over the same desirabilities. TOPSIS normalises
        over the candidate pool left after the filters, so its scores depend on them.
    include_partners : bool, default False
        Keep existing partners in the pool (marked ``existing_partner``).
    include_domestic : bool, default False
        Keep cities of the local city's own country.
    include_city_parts : bool, default False
        Keep parts of cities (``kind`` ``city_part``: boroughs, wards, districts) and other
        places (``kind`` ``other``), marked in the ``kind`` column.
    include_ineligible : bool, default False
        For an Indonesian local city, keep candidates in countries an Indonesian local
        government may not sign with (``data/eligibility.csv``: Israel, Kosovo, Western
        Sahara); the ``eligibility`` column marks them. ``df.attrs["left_out"]`` counts
        what these two rules left out.
    countries, exclude_countries : list of str, optional
        ISO2 codes or country names to keep / drop (default: the scenario's filters).
    continents : list of str, optional
        GeoNames continent codes to keep (AF AN AS EU NA OC SA).
    min_population, max_population : float, optional
        Candidate population bounds (>= 0, min <= max).
    min_level : dict, optional
        Minimum data level per indicator, e.g. ``{"hdi": "region"}``.
    max_per_country : int, optional
        A hard cap per country (>= 1); default none (the scenario's, if it sets one):
        diversity is soft (``diversity``).
    overrides : dict, optional
        What-if values for the local city (indicator -> value), marked level ``user``.
    country : str, optional
        Disambiguates the local city's name.
    feasibility : "auto", bool, FeasibilityModel or None
        The learned feasibility (the packaged model, verified on load; a
        :class:`~recommender.engine.feasibility.FeasibilityModel` to use another): columns
        ``feasibility`` (calibrated probability), ``combined`` and ``why_feasibility``,
        ranked by ``combined``; ``score`` and the contributions stay the pure strategy
        fit. ``"auto"`` (default): on with the packaged ties (``ties=None``, the table
        ``load_ties()`` returns, or a copy with the same pairs:
        :func:`recommender.data.access.packaged_ties`), off with a ties table of your own
        (the model's context features need the real network); ``df.attrs
        ["feasibility_off"]`` then says why.
        ``None`` / ``False``: off, ranked by ``score``.
    blend : float, optional
        Weight of feasibility in ``combined = (1 - blend) * score + blend *
        feasibility``, in [0, 1]; default :data:`DEFAULT_BLEND` (chosen on held-out
        cities, see ``models/evaluation.md``).
    fit_only : bool, default False
        The pure strategy list: no feasibility, ranked by ``score``.
    diversity : float, optional
        Per-country decay of the soft diversity in [0, 1] (1: none; 0: one per
        country); default :data:`recommender.engine.ranking.DEFAULT_DECAY`.
    robustness : int, optional
        Monte Carlo draws for the ``robustness`` column (0: off); default
        :data:`recommender.engine.ranking.ROBUSTNESS_DRAWS`, seeded.

    Returns
    -------
    pandas.DataFrame
        Columns :func:`output_columns`: ``rank, city_id, name, country_code,
        country_name, admin1_name, score, coupling``, then per indicator the ratio
        foreign / local (``hdi_diff`` for HDI), the class (Big / Small / Symmetry /
        Unknown), the contribution to the score and the candidate's data level; then
        ``distance_km, existing_partner, why``. ``df.attrs`` holds the local city, the
        scenario, the method, the local city's data levels, the filters used and the pool
        sizes (``n_pool``, ``n_candidates``, ``n_eligible``).

    Raises
    ------
    FilterError
        Invalid options, unknown country codes, or filters that leave no candidate.
    ScenarioError, UnknownCityError, AmbiguousCityError

    Examples
    --------
    >>> df = recommend("Medan", top=5)
    >>> df["rank"].tolist(), df.attrs["local_name"], list(df.columns[:3])
    ([1, 2, 3, 4, 5], 'Medan', ['rank', 'city_id', 'name'])
    """
    options = dict(
        cities=cities,
        ties=ties,
        country=country,
        top=top,
        method=method,
        include_partners=include_partners,
        include_domestic=include_domestic,
        include_city_parts=include_city_parts,
        include_ineligible=include_ineligible,
        countries=countries,
        exclude_countries=exclude_countries,
        continents=continents,
        min_population=min_population,
        max_population=max_population,
        min_level=min_level,
        max_per_country=max_per_country,
        overrides=overrides,
        feasibility=False if fit_only else feasibility,
        blend=blend,
        diversity=diversity,
        robustness=robustness,
    )
    # the language in force is settled once for the whole call: every text of the frame
    # would otherwise read the locale's environment variables again (some 150 times)
    with language(current_language()):
        # only the candidates that pass the required gates are scored (the others cannot
        # be shortlisted); an empty list is explained from the whole pool
        pool = build_pool(city, scenario, gated_only=True, **options)
        chosen = select(pool)
        if len(chosen) == 0:
            pool = build_pool(city, scenario, **options)
            chosen = select_or_explain(pool)
        pool.robustness = robustness_of(pool, chosen)
        return _frame_for(pool, chosen)


def empty_reason(pool: Pool) -> str:
    """Why no candidate in ``pool`` passes the scenario's gates, in one line.

    Counts, over the candidates left after the filters, those with too little known data
    (``min_coverage``), those at zero desirability on each required indicator and those
    that are not complementary; names the local city's missing figures first, since they
    empty every pool at once.
    """
    scen = pool.options.scenario
    res = pool.result
    n = len(pool.positions)
    local = str(pool.local.get("name", pool.local["city_id"]))
    w = scen.weight_array()
    reasons = []
    lacking = [
        name
        for name, wi in zip(INDICATOR_NAMES, w)
        if (wi > 0 or name in scen.required) and math.isnan(_float(pool.local.get(name)))
    ]
    if lacking:
        reasons.append(f"{local} has no figure for {', '.join(lacking)} (give one with --set)")
    if w.sum() > 0 and scen.min_coverage > 0:
        coverage = (w * ~res.missing).sum(axis=1) / w.sum()
        low = int((coverage < scen.min_coverage - 1e-12).sum())
        if low:
            reasons.append(f"{low:,} lack known figures for {scen.min_coverage:.0%} of the weight")
    for name in scen.required:
        j = INDICATOR_NAMES.index(name)
        unknown = res.missing[:, j]
        zero = int(((res.desirability[:, j] <= 0) & ~unknown).sum())
        if unknown.any():
            reasons.append(f"{int(unknown.sum()):,} have no figure for required {name}")
        if zero:
            reasons.append(f"{zero:,} fall outside the band of required {name}")
    if scen.require_complementary:
        reasons.append("the rest are not complementary (each side must lead on something)")
    if scen.couplings and pool.coupling_code is not None:
        off = int((~couplings_mask(pool.coupling_code, scen.couplings)).sum())
        if off:
            reasons.append(
                f"{off:,} are not {' / '.join(scen.couplings)} pairs (the scenario's couplings)"
            )
    blank = [] if lacking else _countries_without_figures(pool)
    if blank:
        where = "; ".join(
            f"no {', '.join(inds)} for any city of {name} ({cc})" for cc, name, inds in blank[:3]
        )
        if len(blank) > 3:
            where += f"; and {len(blank) - 3} more countries"
        advice = (
            f"The packaged data has {where} (no source it is built from covers them). Give "
            "your own figures for these cities with --user-data FILE (name,country then the "
            "indicators), or choose other countries."
        )
    else:
        advice = "Change the scenario or the filters."
    return (
        f"No candidate for {local} passes the gates of scenario {scen.name!r}: of {n:,} "
        f"candidates after the filters, {'; '.join(reasons) or 'none is eligible'}. {advice}"
    )


def _countries_without_figures(pool: Pool) -> list[tuple[str, str, list]]:
    """``(code, country name, indicators)`` of the countries of the candidates for which no
    city of the table has a figure that the scenario's gates need (Taiwan: no World Bank
    GDP, no UNDP or GDL HDI, no area): a required indicator, or so much of the weight that
    ``min_coverage`` cannot be met. Most candidates first; empty unless such countries hold
    every candidate (only then is the missing data the whole reason)."""
    scen = pool.options.scenario
    w = dict(zip(INDICATOR_NAMES, scen.weight_array()))
    total = sum(w.values())
    names = [n for n in INDICATOR_NAMES if w[n] > 0 or n in scen.required]
    gated = ~pool.result.eligible
    if not gated.any() or not names:
        return []
    cities = pool.cities
    codes = cities["country_code"].to_numpy(dtype=object)
    mine = codes[pool.positions[gated]]
    found, counts = np.unique(mine.astype(str), return_counts=True)
    out = []
    for cc in found[np.argsort(-counts, kind="stable")]:
        rows = codes == cc
        inds = [n for n in names if not cities.loc[rows, n].notna().any()]
        share = sum(w[n] for n in inds) / total if total > 0 else 0.0
        if any(n in scen.required for n in inds) or 1.0 - share < scen.min_coverage - 1e-12:
            country = cities.loc[rows, "country_name"].iloc[0] if rows.any() else cc
            out.append((str(cc), str(country), inds))
        else:
            return []  # candidates of a country with figures: the data gap is not the reason
    return out


def select_or_explain(pool: Pool) -> np.ndarray:
    """:func:`select`, raising :class:`FilterError` with :func:`empty_reason` if it is empty:
    an empty result is an error everywhere (exit 2 in the CLI), never an empty table."""
    chosen = select(pool)
    if len(chosen) == 0:
        raise FilterError(empty_reason(pool))
    return chosen


def select(pool: Pool, top: int | None = None) -> np.ndarray:
    """Pool indices of the shortlist: gates, order, soft diversity (and optional cap), top-k.

    Sorting all 34k candidates is the costliest step, so only the best few hundred are
    sorted. The greedy diversity over that window equals the one over the whole pool when
    its last pick's adjusted score is at least the best score left outside the window (an
    adjusted score never exceeds the score); otherwise the window grows.
    """
    opts = pool.options
    top = opts.top if top is None else top
    n_eligible = int(pool.result.eligible.sum())
    limit = max(64, 8 * top)
    key = pool.rank_score
    while True:
        whole = limit >= n_eligible
        order = pool.order(None if whole else limit)
        chosen, adj = diversify(
            order, pool.country, key, top, opts.diversity, opts.max_per_country, adjusted=True
        )
        if whole:
            return chosen
        outside = np.ones(len(key), dtype=bool)
        outside[order] = False
        outside &= pool.result.eligible
        best_out = np.max(key, where=outside, initial=-np.inf)
        if len(chosen) == top and adj.min() >= best_out:
            return chosen
        limit *= 4


__all__ = [
    "recommend",
    "select",
    "select_or_explain",
    "empty_reason",
    "robustness_of",
    "tiebreak_keys",
    "build_pool",
    "frame_columns",
    "pool_for",
    "cap_per_country",
    "output_columns",
    "why_feasibility",
    "why_text",
    "Options",
    "Pool",
]
