"""The pruned shortlist equals the full computation, bit for bit.

``recommend()`` scores only the candidates that can pass the scenario's gates
(``pool_for(gated_only=True)``), the robustness draws score only the window's candidates
some draw can still pick (:func:`recommender.engine.robustness._reachable`), and the
greedy without a diversity penalty reads a short prefix
(:func:`recommender.engine.ranking.greedy_without_penalty`,
:func:`recommender.engine.robustness._leading_picks`). Each shortcut is switched off here
and the frames compared: rows, scores, shares, texts and ``attrs``.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from recommender.data.indicators import INDICATOR_NAMES
from recommender.engine import pool as pool_mod
from recommender.engine import pool_rows, ranking, robustness
from recommender.engine.arrays import table_arrays
from recommender.engine.coupling import couplings_mask
from recommender.engine.output import _frame_for
from recommender.engine.pool_rows import required_gate
from recommender.engine.robustness import desirability_draws, diversify_draws, robustness_of
from recommender.engine.scenarios import PRESETS, Band
from recommender.engine.shortlist import build_pool, recommend, select_or_explain
from recommender.errors import FilterError


def _full_frame(city, scenario, **options):
    """The shortlist from the whole pool, every candidate scored and every draw's window
    scored whole (the shortcuts are switched off by the caller)."""
    options = {"feasibility": "auto", **options}
    if options.pop("fit_only", False):
        options["feasibility"] = False
    try:
        pool = build_pool(city, scenario, **options)
        chosen = select_or_explain(pool)
    except FilterError as err:
        return str(err)
    pool.robustness = robustness_of(pool, chosen)
    return _frame_for(pool, chosen)


def _fast_frame(city, scenario, **options):
    try:
        return recommend(city, scenario, **options)
    except FilterError as err:
        return str(err)


def _no_shortcuts(monkeypatch):
    def whole_window(draws, feas, k):
        sub = np.arange(len(feas))
        key, eligible = draws.scores(sub)
        return sub, key, eligible

    monkeypatch.setattr(robustness, "_reachable", whole_window)
    monkeypatch.setattr(robustness, "_leading_picks", lambda *a: None)
    monkeypatch.setattr(ranking, "greedy_without_penalty", lambda *a: None)
    monkeypatch.setattr(pool_mod, "greedy_without_penalty", lambda *a: None)


def _assert_same(fast, full, what):
    assert type(fast) is type(full), what
    if isinstance(full, str):
        assert fast == full, what
        return
    assert list(fast.columns) == list(full.columns), what
    assert fast.dtypes.tolist() == full.dtypes.tolist(), what
    for col in full.columns:
        a, b = fast[col].to_numpy(), full[col].to_numpy()
        if a.dtype.kind == "f":
            assert np.array_equal(a.view(np.int64), b.view(np.int64)), (what, col)
        else:
            assert a.tolist() == b.tolist(), (what, col)
    assert repr(fast.attrs) == repr(full.attrs), what


def _compare(monkeypatch, cases):
    fast = [_fast_frame(c, s, **o) for c, s, o in cases]
    with monkeypatch.context() as m:
        _no_shortcuts(m)
        full = [_full_frame(c, s, **o) for c, s, o in cases]
    for case, a, b in zip(cases, fast, full):
        _assert_same(a, b, case)
    return fast


OPTIONS = [
    {},
    {"blend": 0.2},  # a loose bound: the draws cannot stop early
    {"blend": 1.0},
    {"top": 25},
    {"top": 1},
    {"robustness": 0},
    {"fit_only": True},
    {"diversity": 0.5},
    {"max_per_country": 2},
    {"countries": ["JP", "KR", "SG"]},  # a pool smaller than the draws' first batch
    {"method": "topsis"},
    {"include_partners": True, "include_city_parts": True},
]


@pytest.mark.slow
def test_pruned_shortlist_equals_the_full_computation_on_the_packaged_data(monkeypatch):
    from recommender.data.access import get_cities
    from recommender.engine.batch import local_cities_from

    cities = get_cities(None)
    ids = [int(r["city_id"]) for r in local_cities_from("all-local", cities)]
    cases = [(cid, "small-big", {}) for cid in ids[::4]]
    for k, opts in enumerate(OPTIONS):
        cases += [(cid, "small-big", opts) for cid in ids[k % 5 :: 23]]
    for scen in ("big-small", "asymmetric", "symmetric", "complementary"):
        cases += [(cid, scen, {}) for cid in ids[::17]]
    # empty lists (explained from the whole pool) and foreign local cities
    cases += [(ids[0], "small-big", {"countries": ["TW"]})]
    cases += [(ids[3], "small-big", {"overrides": {"gdp_per_capita_usd": 1e6}})]
    foreign = cities.loc[cities["country_code"] != "ID", "city_id"].to_numpy()[::5000]
    cases += [(int(cid), "small-big", {}) for cid in foreign]

    sizes = []
    scores = robustness._Draws.scores

    def spy(self, sub):
        sizes.append((len(self.window), len(sub)))
        return scores(self, sub)

    monkeypatch.setattr(robustness._Draws, "scores", spy)
    fast = _compare(monkeypatch, cases)
    assert sum(isinstance(f, str) for f in fast) >= 2
    assert any(n < w for w, n in sizes)  # the draws stopped early somewhere


def test_pruned_shortlist_equals_the_full_computation_on_a_synthetic_world(tie_world, monkeypatch):
    from recommender.learn import feasibility as F

    cities, ties = tie_world(700, 1200, 3)
    model, _ = F.fit_model(cities, ties, model="hgb", estimator_params={"max_iter": 15})
    ids = cities["city_id"].to_numpy()[:: len(cities) // 10]
    cases = []
    for opts in [{}, {"blend": 0.3, "top": 12}, {"blend": 1.0}, {"diversity": 0.7}]:
        for scen in ("small-big", "complementary", "symmetric"):
            cases += [(int(c), scen, {"feasibility": model, **opts}) for c in ids]
    cases += [(int(c), "big-small", {}) for c in ids]
    cases = [(c, s, {"cities": cities, "ties": ties, **o}) for c, s, o in cases]
    fast = _compare(monkeypatch, cases)
    assert sum(not isinstance(f, str) for f in fast) >= 40


def test_gated_pool_keeps_every_candidate_that_passes_the_gates(tie_world):
    """The superset filters of a gated-only pool never drop an eligible candidate, and the
    pool still counts every filtered candidate."""
    from recommender.data.access import get_cities

    scenarios = [
        *PRESETS.values(),
        dataclasses.replace(
            PRESETS["small-big"],
            name="two-sided-required",
            bands={
                **PRESETS["small-big"].bands,
                "gdp_per_capita_usd": Band(1.0, 1.2, 3.0, 10.0, True, 2.0),
            },
            couplings=("BS", "BB"),
        ),
        dataclasses.replace(PRESETS["small-big"], name="any-pair", couplings=("SB", "BS")),
    ]
    cities = get_cities(None)
    locals_ = cities.loc[cities["is_local"].astype(bool), "city_id"].to_numpy()[::9]
    checked = 0
    for scen in scenarios:
        for cid in locals_:
            full = build_pool(int(cid), scen, feasibility=False)
            gated = build_pool(int(cid), scen, feasibility=False, gated_only=True)
            assert gated.n_candidates == full.n_candidates == len(full.positions)
            want = full.positions[full.result.eligible]
            got = gated.positions[gated.result.eligible]
            assert got.tolist() == want.tolist(), (scen.name, cid)
            # and the superset filters alone keep every candidate of the exact gates
            arr = table_arrays(full.cities)
            ok = np.ones(len(full.positions), dtype=bool)
            for name in scen.required:
                j = INDICATOR_NAMES.index(name)
                ok &= required_gate(
                    np.ascontiguousarray(full.asym[:, j]),
                    full.result.missing[:, j],
                    full.uncertainty[:, j],
                    scen,
                    name,
                    full.options.hdi_scale,
                )
            if scen.couplings:
                ok &= couplings_mask(full.coupling_code, scen.couplings)
            may = np.ones(len(full.positions), dtype=bool)
            if scen.required:
                may &= pool_rows.required_superset(arr, full.local, full.options)[full.positions]
            pairs = pool_rows.coupling_superset(arr, full.local, full.options)
            if pairs is not None:
                may &= pairs[full.positions]
            assert not (ok & ~may).any(), (scen.name, cid)
            checked += 1
    assert checked >= 50


@pytest.mark.parametrize("seed", range(8))
def test_greedy_without_penalty_equals_the_general_greedy(seed, monkeypatch):
    """Scores equal up to the rounding (the order's ties are broken by other keys), ties,
    -inf and countries of every size: the prefix greedy, when it decides, picks what the
    general greedy picks."""
    rng = np.random.default_rng(seed)
    decided = 0
    for _ in range(60):
        n = int(rng.integers(1, 120))
        base = np.round(rng.random(n), int(rng.integers(1, 4)))
        score = base + rng.choice([0.0, 1e-13, -1e-13], n) * (rng.random(n) < 0.3)
        score[rng.random(n) < 0.05] = -np.inf
        country = np.array([f"C{c}" for c in rng.integers(0, int(rng.integers(1, 12)), n)])
        order = np.lexsort((rng.permutation(n), -np.round(score, 12)))
        top = int(rng.integers(1, 15))
        fast = ranking.greedy_without_penalty(order, country, score, top)
        with monkeypatch.context() as m:
            m.setattr(ranking, "greedy_without_penalty", lambda *a: None)
            picks, values = ranking.diversify(order, country, score, top, 1.0, adjusted=True)
        if fast is not None:
            decided += 1
            assert fast[0] == picks.tolist()
            assert np.array_equal(np.asarray(fast[1]), values)
    assert decided >= 30


@pytest.mark.parametrize("seed", range(6))
def test_leading_picks_equal_the_greedy_of_all_draws(seed):
    rng = np.random.default_rng(seed)
    n_d, w = 50, 40
    key = np.round(rng.random((n_d, w)), 2) + rng.choice([0.0, 1e-13], (n_d, w))
    key[rng.random((n_d, w)) < 0.05] = -np.inf
    codes = rng.integers(0, 7, w)
    order = np.argsort(-np.round(key, 12), axis=1, kind="stable")
    n_live = rng.integers(0, w + 1, n_d)
    for top in (1, 5, 10, 45):
        got = robustness._leading_picks(order, n_live, key, top)
        want = diversify_draws(order, n_live, codes, key, top, 1.0, None)
        if got is not None:
            assert np.array_equal(got, want), top
    clean = np.argsort(-key, axis=1, kind="stable")  # keys strictly in order: always decided
    got = robustness._leading_picks(clean, n_live, key, 10)
    assert got is not None
    assert np.array_equal(got, diversify_draws(clean, n_live, codes, key, 10, 1.0, None))


def test_desirability_of_several_indicators_at_once_equals_one_at_a_time():
    rng = np.random.default_rng(3)
    n_i, n_d, w = 3, 30, 80
    x = rng.normal(0.0, 1.5, (n_i, 1, w))
    v = np.sort(rng.normal(0.0, 1.0, (n_i, n_d, 5)), axis=2)
    v[0, :5, 1] = v[0, :5, 2]  # degenerate sides in some draws of some indicators
    v[1, 3:9, 3] = v[1, 3:9, 2]
    v[2, :4, 0] = -np.inf
    v[2, 4:8, 4] = np.inf
    p = [v[..., i : i + 1] for i in range(5)]
    got = desirability_draws(x, p[0], p[1], p[3], p[4], p[2], False)
    for i in range(n_i):
        one = desirability_draws(x[i, 0], *(q[i] for q in (p[0], p[1], p[3], p[4], p[2])), False)
        assert np.array_equal(got[i], one), i


def test_cache_file_read_again_when_replaced(tmp_path, monkeypatch):
    """The per-city feasibility file is read once per process while it is unchanged, and
    again once replaced (another process may have added rows)."""
    from recommender.data.access import get_cities, get_ties
    from recommender.engine.feasibility import CachedScores, load_model

    monkeypatch.setenv("SISTERCITY_CACHE_DIR", str(tmp_path))
    cities, ties, model = get_cities(None), get_ties(None), load_model()
    local = cities[cities["name"] == "Medan"].iloc[0]
    path = tmp_path / "feasibility-test.npy"
    np.save(path, np.array([[3.0, 0.25], [7.0, 0.5]]), allow_pickle=False)
    first = CachedScores(model, local, cities, ties, path)
    assert first.vector[3] == 0.25 and np.isnan(first.vector[5])
    first.vector[5] = 0.9  # a caller's change is not the file's
    assert np.isnan(CachedScores(model, local, cities, ties, path).vector[5])
    tmp = tmp_path / "new.npy"
    np.save(tmp, np.array([[3.0, 0.125], [5.0, 0.75], [7.0, 0.5]]), allow_pickle=False)
    os.replace(tmp, path)
    again = CachedScores(model, local, cities, ties, path)
    assert again.vector[3] == 0.125 and again.vector[5] == 0.75
    path.write_bytes(b"not a numpy file at all")
    assert np.isnan(CachedScores(model, local, cities, ties, path).vector).all()
