"""The evaluation's "default shortlist" ranking is recommend()'s ranking, not a copy of it."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.data.access import get_cities, get_ties
from recommender.engine.feasibility import load_model
from recommender.engine.options import DEFAULT_FEASIBILITY_POWER as POWER
from recommender.engine.pair_features import candidate_pool_mask
from recommender.engine.ranking import DEFAULT_DECAY
from recommender.engine.shortlist import DEFAULT_BLEND, recommend
from recommender.learn.shortlist_eval import (
    DEPTH,
    GRID_POWERS,
    STAGES,
    DefaultShortlistRanker,
    RankingConfig,
    grid_configs,
    summarise_grid,
)


@pytest.fixture(scope="module")
def world():
    cities, ties = get_cities(None), get_ties(None)
    return cities, ties, load_model()


def _setup(world, name):
    cities, ties, model = world
    q = int(np.flatnonzero(cities["name"].to_numpy() == name)[0])
    cc = cities["country_code"].to_numpy()
    pool = candidate_pool_mask(cities, ties)
    cand = np.flatnonzero(pool & (cc != cc[q]))
    cand = cand[cand != q]
    p = model.score_candidates(cities.iloc[q], cities, ties, cand)
    return cities, ties, q, cand, p


@pytest.mark.parametrize("name", ["Medan", "Bandung"])
def test_ranker_top_10_is_recommends_top_10(world, name):
    cities, ties, q, cand, p = _setup(world, name)
    shown = recommend(name, robustness=0, top=10)
    assert shown.attrs["feasibility"]["blend"] == DEFAULT_BLEND
    where = {int(c): k for k, c in enumerate(cities["city_id"].to_numpy()[cand])}
    targets = np.array([where[int(i)] for i in shown["city_id"]])
    ranker = DefaultShortlistRanker(cities, ties)
    tb = np.arange(len(cities))
    cfg = RankingConfig(DEFAULT_BLEND, DEFAULT_DECAY, power=POWER)
    got, stages, share = ranker.ranks(q, cand, p, targets, [cfg], tb)
    ranks, fit10, strict = next(iter(got.values()))
    assert ranks.tolist() == list(range(1, 11))
    assert strict.tolist() == list(range(1, 11))  # the list is the same in both rankings
    # every listed candidate passed the gates; the gated pool is what recommend counts
    assert (stages == STAGES.index("gated in")).all()
    assert 0 < share < 1
    assert fit10 == pytest.approx(float(shown["score"].mean()), abs=1e-12)


def test_ranker_ranks_every_candidate_once_and_fit_only_differs(world):
    cities, ties, q, cand, p = _setup(world, "Surabaya")
    ranker = DefaultShortlistRanker(cities, ties)
    tb = np.random.default_rng(0).permutation(len(cities))
    cfgs = [
        RankingConfig(DEFAULT_BLEND, DEFAULT_DECAY),
        RankingConfig(None, DEFAULT_DECAY),
        RankingConfig(DEFAULT_BLEND, DEFAULT_DECAY, power=0.25),
    ]
    got, stages, share = ranker.ranks(q, cand, p, np.arange(len(cand)), cfgs, tb)
    n = len(cand)
    for ranks, _, strict in got.values():  # permutations of 1..n: every candidate once
        assert sorted(ranks.astype(int).tolist()) == list(range(1, n + 1))
        assert sorted(strict.astype(int).tolist()) == list(range(1, n + 1))
    blended, fit_only, spread = (got[c][0] for c in cfgs)
    assert not np.array_equal(blended, fit_only)
    assert not np.array_equal(blended, spread)
    gated_in, gated_out = STAGES.index("gated in"), STAGES.index("gated out")
    outside = STAGES.index("outside the pool")
    for ranks, _, strict in got.values():
        # strict: the gated-in candidates first, then the gated-out ones, then the rest
        assert (np.diff(stages[np.argsort(strict)]) >= 0).all()
        by_rank = stages[np.argsort(ranks)]
        # default: the list (50, all gated in) first and the pool's outsiders last ...
        assert (by_rank[:DEPTH] == gated_in).all()
        k = int(np.sum(stages != outside))
        assert (by_rank[k:] == outside).all()
        # ... and in between, gated-in and gated-out candidates by one score, mixed
        tail = by_rank[DEPTH:k]
        first_out = int(np.argmax(tail == gated_out))
        assert (tail[first_out:] == gated_in).any()
    # the tail of the default ranking is ordered by the combined score, gates aside
    pool_scores = _combined_of_candidates(ranker, q, cand, p)
    order = np.argsort(blended)
    tail = order[DEPTH : int(np.sum(stages != outside))]
    assert (np.diff(np.round(pool_scores[tail], 12)) <= 0).all()
    assert share == pytest.approx(np.mean(stages == gated_in))
    # the fit-only top 10 has at least the blended one's mean fit
    assert got[cfgs[1]][1] >= got[cfgs[0]][1] - 1e-12


def _combined_of_candidates(ranker, q, cand, p) -> np.ndarray:
    """The default combined score of each entry of ``cand`` (gated or not), from the
    engine's own pool of the local city: NaN for those outside it."""
    from recommender.engine.options import combined_score
    from recommender.engine.shortlist import pool_for

    pool = pool_for(ranker.cities.iloc[q], ranker.opts, ranker.cities, ranker.ties, ranker.raw)
    at = {int(r): k for k, r in enumerate(pool.positions)}
    out = np.full(len(cand), np.nan)
    for j, c in enumerate(cand):
        k = at.get(int(c))
        if k is not None:
            out[j] = combined_score(float(pool.score[k]), float(p[j]), DEFAULT_BLEND, POWER)
    return out


def test_grid_choice_respects_the_fit_floor():
    import pandas as pd

    rows = []
    for cfg, ndcg, fit in [
        (RankingConfig(None, 1.0), 0.01, 1.00),
        (RankingConfig(0.5, 1.0), 0.05, 0.95),
        (RankingConfig(1.0, 1.0), 0.09, 0.80),  # best NDCG, but below 90% of the fit
    ]:
        rows.append(
            {
                "config": cfg.label,
                "blend": np.nan if cfg.blend is None else cfg.blend,
                "power": cfg.power,
                "decay": cfg.decay,
                "cap": np.nan,
                "city_id": 1,
                "recall@10": 0.0,
                "recall@50": ndcg,
                "ndcg@50": ndcg,
                "mrr": 0.0,
                "pct_rank": 5.0,
                "pcts": np.array([5.0]),
                "top10_fit": fit,
            }
        )
    table, chosen = summarise_grid(pd.DataFrame(rows))
    assert chosen["blend"] == 0.5 and chosen["decay"] == 1.0
    assert [r["chosen"] for r in table] == [False, True, False]
    keys = {(c.blend, c.power, c.decay, c.cap) for c in grid_configs()}
    assert len(grid_configs()) == len(keys)
    # every blend is tried with every power; fit only has none
    assert {c.power for c in grid_configs() if c.blend is not None} == set(GRID_POWERS)
    assert {c.power for c in grid_configs() if c.blend is None} == {1.0}


def test_explain_says_where_a_candidate_stands_in_the_default_shortlist():
    """explain's feasibility, combined score, place and robustness are the shortlist's own
    numbers for a listed candidate; an unlisted one gets its own share of weightings."""
    from recommender.engine.explain import explain

    shown = recommend("Medan")
    for k in (0, 4, 9):
        row = shown.iloc[k]
        s = explain("Medan", int(row["city_id"])).summary
        assert s["shortlist_rank"] == k + 1 and s["shortlist_top"] == 10
        assert s["feasibility"] == pytest.approx(row["feasibility"], abs=1e-12)
        assert s["combined"] == pytest.approx(row["combined"], abs=1e-12)
        assert s["robustness"] == pytest.approx(row["robustness"], abs=1e-12)
        assert s["robustness_text"] in s["standing"]
    # a candidate further down: not listed, a share of its own (0 to 1), and its combined
    # score below the last listed one
    fit_only = recommend("Medan", fit_only=True, top=50)
    below = fit_only[~fit_only["city_id"].isin(shown["city_id"])].iloc[0]
    s = explain("Medan", int(below["city_id"])).summary
    assert s["shortlist_rank"] is None and s["standing"].startswith("Not in the default top 10")
    assert 0.0 <= s["robustness"] <= 1.0
    assert s["combined"] <= shown["combined"].min() + 1e-12


def test_explain_places_every_candidate_in_one_default_ranking():
    """A pair the gates exclude is never listed but still has its place in the default
    ranking, by the same combined score as the unlisted candidates that pass the gates:
    a higher combined score is a better place, gated or not."""
    from recommender.engine.explain import explain

    shown = recommend("Medan")
    listed = explain("Medan", int(shown.iloc[3]["city_id"])).summary
    assert listed["default_rank"] == listed["shortlist_rank"] == 4
    got = {}
    for name in ("Chennai", "Ho Chi Minh City", "Singapore", "Karachi", "Dhaka"):
        ex = explain("Medan", name)
        s = ex.summary
        assert s["shortlist_rank"] is None and s["n_ranked"] > 30_000
        assert (
            f"#{s['default_rank']:,} of {s['n_ranked']:,} in the default ranking" in (s["standing"])
        )
        if not s["eligible"]:
            assert s["standing"].startswith("Never in a small-big list")
            assert s["robustness"] is None
        got[name] = (s["combined"], s["default_rank"], s["eligible"])
    # both kinds are there, and one order holds across them
    assert {e for _, _, e in got.values()} == {True, False}
    by_combined = sorted(got.values(), key=lambda v: -v[0])
    assert [r for _, r, _ in by_combined] == sorted(r for _, r, _ in got.values())
    assert min(r for _, r, _ in got.values()) > 10
