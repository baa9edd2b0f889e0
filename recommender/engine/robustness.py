"""Robustness of a shortlist: how often each chosen candidate stays in the top k when the
scenario's weights and bands vary (the seeded Monte Carlo of :mod:`recommender.engine.ranking`).
"""

from __future__ import annotations

import numpy as np

from recommender.engine.pool import ROUND_DECIMALS, Pool, tiebreak_keys
from recommender.engine.ranking import (
    ROBUSTNESS_SEED,
    ROBUSTNESS_WINDOW,
    diversify,
    perturbed_scenarios,
)
from recommender.engine.scoring import score_columns


def robustness_of(pool: Pool, chosen: np.ndarray, n_draws: int | None = None) -> np.ndarray:
    """Share of seeded plausible variants of the scenario in which each chosen candidate
    stays in the top k (see :mod:`recommender.engine.ranking`).

    Each draw re-scores the best :data:`~recommender.engine.ranking.ROBUSTNESS_WINDOW`
    candidates by the ranking score (same gates, data, feasibility, blend and diversity)
    under jittered weights and bands. Seeded by the local city's id, so the same inputs
    give the same numbers.
    """
    opts = pool.options
    n_draws = opts.robustness if n_draws is None else n_draws
    if n_draws <= 0 or len(chosen) == 0:
        return np.full(len(chosen), np.nan)
    window = pool.order(ROBUSTNESS_WINDOW)[:ROBUSTNESS_WINDOW]
    window = np.union1d(window, chosen)
    asym_t = np.ascontiguousarray(pool.asym[window].T)
    missing_t = np.ascontiguousarray(pool.result.missing[window].T)
    imputed_t = np.ascontiguousarray(pool.result.imputed[window].T)
    unc_t = None if pool.uncertainty is None else np.ascontiguousarray(pool.uncertainty[window].T)
    coupling = None if pool.coupling is None else pool.coupling[window]
    feas = None if pool.feasibility is None else pool.feasibility[window]
    fine, pop = tiebreak_keys(pool.cities)
    rows = pool.positions[window]
    ids = pool.city_id[window]
    seed = [ROBUSTNESS_SEED, int(pool.local["city_id"]) % (2**32)]
    top = len(chosen)
    wanted = np.searchsorted(window, chosen)
    hits = np.zeros(len(chosen), dtype=np.int64)
    for scen in perturbed_scenarios(opts.scenario, n_draws, seed, opts.hdi_scale):
        res = score_columns(
            asym_t,
            scen,
            missing_t=missing_t,
            imputed_t=imputed_t,
            method="wsm" if opts.method == "topsis" else opts.method,
            hdi_scale=opts.hdi_scale,
            uncertainty_t=unc_t,
        )
        elig = res.eligible.copy()
        if scen.couplings and coupling is not None:
            elig &= np.isin(coupling, list(scen.couplings))
        key = res.score
        if feas is not None:
            b = opts.blend
            key = np.where(np.isnan(feas), -np.inf, (1.0 - b) * key + b * feas)
        e = np.flatnonzero(elig)
        k = np.round(key[e], ROUND_DECIMALS)
        order = e[np.lexsort((ids[e], -pop[rows[e]], -fine[rows[e]], -k))]
        picked = diversify(
            order, pool.country[window], key, top, opts.diversity, opts.max_per_country
        )
        hits += np.isin(wanted, picked)
    return hits / n_draws
