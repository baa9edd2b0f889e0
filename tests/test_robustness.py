"""The fast shortlist paths equal their straightforward references.

- Robustness: all draws at once (:func:`recommender.engine.robustness.robustness_of`) against
  one Scenario per draw, scored and diversified draw by draw
  (:func:`recommender.engine.reference.robustness_naive`): the same shares, exactly.
- Its parts: the draws' arrays against :func:`~recommender.engine.ranking.perturbed_scenarios`
  bit for bit; the diversity of all draws against :func:`~recommender.engine.ranking.diversify`.
- Context: the partner index against the pandas computation
  (:func:`recommender.engine.reference.candidate_context_naive`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from recommender.data.indicators import INDICATOR_NAMES
from recommender.engine.ranking import context_columns, diversify, perturbed_scenarios
from recommender.engine.reference import (
    candidate_context_naive,
    greedy_diversity_naive,
    robustness_naive,
)
from recommender.engine.robustness import (
    desirability_draws,
    diversify_draws,
    draw_parameters,
    robustness_of,
)
from recommender.engine.scenarios import PRESETS, Band
from recommender.engine.scoring import desirability
from recommender.engine.shortlist import build_pool, select_or_explain

SCENARIOS = [
    *PRESETS.values(),
    # a two-sided ratio band, a two-sided HDI band and a weight of zero
    dataclasses.replace(
        PRESETS["symmetric"],
        name="two-sided",
        weights={"gdp_per_capita_usd": 0.5, "hdi": 0.3, "population": 0.2, "area_km2": 0.0},
        bands={
            **PRESETS["symmetric"].bands,
            "population": Band(1.0, 1.2, 3.0, 10.0, True, 2.0),
            "hdi": Band(0.0, 0.01, 0.05, 0.2, True, 0.03),
        },
    ),
]


@pytest.mark.parametrize("scen", SCENARIOS, ids=lambda s: s.name)
def test_draw_arrays_equal_the_perturbed_scenarios_bit_for_bit(scen):
    for seed in ([0, 1], [0, 1843564], 7):
        w, bands, ideals = draw_parameters(scen, 60, seed, 0.1)
        for d, s in enumerate(perturbed_scenarios(scen, 60, seed, 0.1)):
            assert np.array_equal(w[d], s.weight_array())
            want_b, _ = s.band_matrix(INDICATOR_NAMES, 0.1)
            want_i = s.ideal_array(INDICATOR_NAMES, 0.1)
            for j, name in enumerate(INDICATOR_NAMES):
                if name in s.bands:
                    assert np.array_equal(bands[d, j], want_b[j]), (d, name)
                    assert ideals[d, j] == want_i[j], (d, name)


@pytest.mark.parametrize("decay", [1.0, 0.5, 0.3, 0.0])
@pytest.mark.parametrize("cap", [None, 1, 2])
def test_diversity_of_all_draws_equals_the_one_draw_kernel(decay, cap):
    rng = np.random.default_rng(int(decay * 10) + (cap or 0))
    n_d, w, top = 40, 60, 10
    codes = rng.integers(0, 7, w)
    # coarse keys: many exact ties, which the order must break as the kernel does
    key = np.round(rng.random((n_d, w)) * 4) / 4
    key[rng.random((n_d, w)) < 0.05] = -np.inf
    n_live = rng.integers(0, w + 1, n_d)
    order = np.argsort(-key, axis=1, kind="stable")
    got = diversify_draws(order, n_live, codes, key, top, decay, cap)
    country = np.array([f"C{c}" for c in codes], dtype=object)
    for d in range(n_d):
        want = diversify(order[d, : n_live[d]], country, key[d], top, decay, cap)
        assert got[d][got[d] >= 0].tolist() == want.tolist(), d
        assert (got[d][len(want) :] == -1).all()


def _check_pool(pool):
    chosen = select_or_explain(pool)
    assert np.array_equal(robustness_of(pool, chosen), robustness_naive(pool, chosen))
    fast = context_columns(pool.city_id[chosen], pool.local, pool.cities, pool.ties)
    slow = candidate_context_naive(pool.city_id[chosen], pool.local, pool.cities, pool.ties)
    for c, v in fast.items():
        assert v.tolist() == slow[c].tolist(), c
    return chosen


@pytest.fixture(scope="module")
def world(tie_world):
    return tie_world(700, 1200, 3)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"scenario": "complementary", "top": 15},
        {"scenario": "complementary", "method": "topsis", "diversity": 0.0},
        {"scenario": "complementary", "max_per_country": 2, "diversity": 0.8},
        {"scenario": "symmetric", "diversity": 1.0, "include_domestic": True},
    ],
)
def test_robustness_and_context_equal_the_references_on_a_synthetic_world(world, options):
    cities, ties = world
    kw = dict(options)
    scenario = kw.pop("scenario", "small-big")
    checked = 0
    for local in cities["city_id"].to_numpy()[:: len(cities) // 12]:
        pool = build_pool(int(local), scenario, cities=cities, ties=ties, **kw)
        if pool.result.eligible.any():
            _check_pool(pool)
            checked += 1
    assert checked >= 6


@pytest.mark.parametrize("power", [1.0, 0.25])
def test_robustness_with_feasibility_equals_the_reference(world, power, monkeypatch):
    from recommender.engine import options as O
    from recommender.learn import feasibility as F

    monkeypatch.setattr(O, "DEFAULT_FEASIBILITY_POWER", power)
    cities, ties = world
    model, _ = F.fit_model(cities, ties, model="hgb", estimator_params={"max_iter": 15})
    for local in cities["city_id"].to_numpy()[:: len(cities) // 6]:
        for blend in (0.3, 1.0):
            pool = build_pool(
                int(local), "complementary", cities=cities, ties=ties, feasibility=model,
                blend=blend, top=12,
            )  # fmt: skip
            assert pool.options.feasibility_power == power
            _check_pool(pool)


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [{}, {"scenario": "symmetric", "top": 15}, {"max_per_country": 2, "diversity": 0.8}],
)
def test_robustness_and_context_equal_the_references_on_the_packaged_data(options):
    from recommender.data.access import get_cities
    from recommender.engine.batch import local_cities_from

    kw = dict(options)
    scenario = kw.pop("scenario", "small-big")
    locals_ = local_cities_from("all-local", get_cities(None))
    checked = 0
    for local in locals_[::9]:
        pool = build_pool(int(local["city_id"]), scenario, feasibility=True, **kw)
        _check_pool(pool)
        checked += 1
    assert checked >= 10


def test_context_of_cities_missing_from_the_table_and_self_ties(make_cities, make_ties):
    cities = make_cities(
        [
            dict(city_id=1, name="Lokal", country_code="ID", admin1_code="12"),
            dict(city_id=2, name="Kota B", country_code="ID", admin1_code="12"),
            dict(city_id=10, name="Far", country_code="JP"),
        ]
    )
    # a partner that is not in the table, a tie to itself and a duplicate tie
    ties = make_ties([(10, 2), (10, 999), (10, 2)])
    ties = pd.concat([ties, ties.iloc[[0]].assign(city_b_id=10, city_a_id=10)])
    fast = context_columns([10, 2, 1], cities.iloc[0], cities, ties)
    slow = candidate_context_naive([10, 2, 1], cities.iloc[0], cities, ties)
    for c, v in fast.items():
        assert v.tolist() == slow[c].tolist(), c
    assert fast["n_partners"].tolist() == [2, 1, 0]


@pytest.mark.slow
def test_default_shortlist_equals_the_straightforward_computation_for_local_cities():
    """recommend() (pruned feasibility, per-city cache, draws at once, partner index)
    against the slow way: every eligible candidate scored by the model, a plain greedy soft
    diversity, one Scenario per robustness draw, the context with pandas."""
    from recommender.data.access import get_cities, get_ties
    from recommender.engine.batch import local_cities_from
    from recommender.engine.feasibility import load_model
    from recommender.engine.shortlist import recommend, tiebreak_keys

    cities, ties, model = get_cities(None), get_ties(None), load_model()
    locals_ = local_cities_from("all-local", cities)
    for local in locals_[::7]:
        cid = int(local["city_id"])
        got = recommend(cid)
        pool = build_pool(cid, feasibility=False)
        elig = np.flatnonzero(pool.result.eligible)
        feas = np.full(len(pool.positions), np.nan)
        feas[elig] = model.score_candidates(pool.local, cities, ties, pool.positions[elig])
        pool.feasibility, pool.options.feasibility = feas, model
        b = pool.options.blend
        key = np.full(len(pool.positions), -np.inf)
        key[elig] = (1 - b) * pool.score[elig] + b * feas[elig]
        fine, pop = tiebreak_keys(pool.cities)
        rows = pool.positions[elig]
        order = elig[
            np.lexsort((pool.city_id[elig], -pop[rows], -fine[rows], -np.round(key[elig], 12)))
        ]
        opts = pool.options
        chosen = greedy_diversity_naive(
            order, pool.country, key, opts.top, opts.diversity, opts.max_per_country
        )
        assert got["city_id"].tolist() == pool.city_id[chosen].tolist(), local["name"]
        assert np.array_equal(got["score"], pool.score[chosen])
        assert np.array_equal(got["feasibility"], feas[chosen])
        assert np.array_equal(got["combined"], (1 - b) * pool.score[chosen] + b * feas[chosen])
        rob = robustness_naive(pool, chosen)
        assert np.array_equal(got["robustness"], rob), local["name"]
        ctx = candidate_context_naive(pool.city_id[chosen], pool.local, pool.cities, ties)
        for c in ctx.columns:
            assert got[c].tolist() == ctx[c].tolist(), c


@pytest.mark.parametrize("seed", range(6))
def test_desirability_of_all_draws_equals_the_kernel_draw_by_draw(seed):
    """Random bands, a fifth of each side degenerate (a point) or open (infinite): every
    draw's row equals the scoring kernel's values for that band, bit for bit."""
    rng = np.random.default_rng(seed)
    n_d, w = 40, 250
    x = rng.normal(0.0, 1.5, w)
    x[rng.random(w) < 0.1] = np.nan
    x[:20] = np.round(x[:20] * 2) / 2
    v = np.sort(rng.normal(0.0, 1.0, (n_d, 5)), axis=1)
    for a, b in ((1, 2), (3, 2), (0, 1), (4, 3)):
        pick = rng.random(n_d) < 0.2
        v[pick, a] = v[pick, b]
    v[rng.random(n_d) < 0.15, 0] = -np.inf
    v[rng.random(n_d) < 0.15, 4] = np.inf
    mn, lo, m, hi, mx = (v[:, i : i + 1] for i in range(5))
    for two_sided in (False, True):
        got = desirability_draws(x, mn, lo, hi, mx, m, two_sided)
        known = ~np.isnan(x)  # where x is missing the caller sets 0
        for d in range(n_d):
            band = (mn[d, 0], lo[d, 0], hi[d, 0], mx[d, 0])
            want = desirability(x, band, two_sided, ideal=m[d, 0])
            assert np.array_equal(got[d, known], want[known]), (d, band, two_sided)
