"""Evaluation on held-out cities: metric kernels (golden values), the split, the protocol."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from recommender.errors import OutputError, RecommenderError
from recommender.learn.evaluate import (
    DEVELOPING,
    METRICS,
    PRESET_BASELINES,
    SHORTLIST,
    SHORTLIST_FIT,
    bootstrap_ci,
    city_metrics,
    evaluate,
    holdout_split,
    ndcg_at_k,
    rank_of,
    recall_at_k,
    reciprocal_rank,
)

FAST = {"max_iter": 25}

# Two cities. A: 3 true partners ranked 1, 3 and 60. B: 2 partners, one ranked 12, one not
# in the pool at all (a miss that still counts).
RANKS = [np.array([1.0, 3.0, 60.0]), np.array([np.inf, 12.0])]


def test_recall_golden_values():
    assert recall_at_k(RANKS, 10) == pytest.approx([2 / 3, 0.0])
    assert recall_at_k(RANKS, 50) == pytest.approx([2 / 3, 0.5])
    assert recall_at_k(RANKS, 100) == pytest.approx([1.0, 0.5])


def test_ndcg_golden_values():
    # A: (1/log2 2 + 1/log2 4) / (1/log2 2 + 1/log2 3 + 1/log2 4)
    # B: (1/log2 13) / (1/log2 2 + 1/log2 3)
    got = ndcg_at_k(RANKS, 50)
    assert got == pytest.approx([0.703919, 0.165695], abs=1e-6)
    assert got[0] == pytest.approx(1.5 / (1 + 1 / math.log2(3) + 0.5))
    assert ndcg_at_k([np.array([1.0, 2.0])], 50)[0] == pytest.approx(1.0)
    # only the first k count, and the ideal DCG is capped at k partners
    assert ndcg_at_k([np.array([1.0, 2.0, 3.0])], 2)[0] == pytest.approx(1.0)


def test_mrr_golden_values():
    assert reciprocal_rank(RANKS) == pytest.approx([1.0, 1 / 12])
    assert reciprocal_rank([np.array([np.inf])]) == pytest.approx([0.0])


def test_city_metrics_columns():
    m = city_metrics(RANKS)
    assert list(m.columns) == [x for x in METRICS if x != "pct_rank"]
    assert m["mrr"].tolist() == pytest.approx([1.0, 1 / 12])
    m = city_metrics(RANKS, [100, 200])
    assert list(m.columns) == [*METRICS, "pcts"]
    # a partner outside the pool counts as the last percentile
    assert [p.tolist() for p in m["pcts"]] == [[1.0, 3.0, 60.0], [100.0, 6.0]]
    assert m["pct_rank"].tolist() == pytest.approx([float(np.median(p)) for p in m["pcts"]])


def test_rank_of_breaks_ties_by_the_tiebreak_key():
    scores = np.array([0.5, 0.9, 0.5, 0.1, 0.5])
    tiebreak = np.array([3, 0, 1, 2, 4])
    assert rank_of(scores, tiebreak, np.array([0, 1, 2, 3, 4])).tolist() == [3, 1, 2, 5, 4]


def test_bootstrap_interval_contains_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small = rng.random(30)
    large = rng.random(3000)
    lo, hi = bootstrap_ci(small, 1000, seed=1)
    assert lo < small.mean() < hi
    lo2, hi2 = bootstrap_ci(large, 1000, seed=1)
    assert hi2 - lo2 < (hi - lo) / 3
    assert bootstrap_ci(small, 500, seed=2) == bootstrap_ci(small, 500, seed=2)


def test_holdout_split_removes_every_tie_of_the_held_out_cities(tie_world):
    cities, ties = tie_world(600, 900, 0)
    held, train = holdout_split(cities, ties, seed=4, holdout_share=0.25, min_partners=3)
    assert len(held) > 5
    touched = np.isin(train["city_a_id"], held) | np.isin(train["city_b_id"], held)
    assert not touched.any()
    untouched = ~(np.isin(ties["city_a_id"], held) | np.isin(ties["city_b_id"], held))
    assert len(train) == int(untouched.sum())
    again, _ = holdout_split(cities, ties, seed=4, holdout_share=0.25, min_partners=3)
    assert again.tolist() == held.tolist()


@pytest.fixture(scope="module")
def result(tie_world):
    cities, ties = tie_world(600, 900, 0)
    return evaluate(
        cities, ties, seed=0, models=("hgb", "logreg"), n_boot=300, estimator_params=FAST
    )


def test_evaluate_reports_every_method_with_intervals(result):
    t = result.table
    methods = set(t["method"])
    assert {"learned (hgb)", "learned (logreg)", "random", "popularity", "gravity"} <= methods
    assert set(PRESET_BASELINES) <= methods and "small-big + feasibility" in methods
    for m in METRICS:
        col = m.replace("@", "_at_")
        assert ((t[col + "_lo"] <= t[col] + 1e-12) & (t[col] <= t[col + "_hi"] + 1e-12)).all()
    assert set(t["subset"]) == {"all held-out cities", "Indonesian local cities", DEVELOPING}
    assert "Indonesian cities held out as a group" in set(t["split"])
    # the engine's own default ranking, and its margins over the two baselines to beat
    assert {SHORTLIST, SHORTLIST_FIT} <= methods
    m = result.margins
    for b in ("gravity", "popularity"):
        got = m[m["comparison"] == f"default shortlist over {b}"]
        assert set(got["metric"]) == set(METRICS)
    # pct_rank: lower is better, and a margin "apart" is also "better"
    assert not (m["intervals_apart"] & ~m["better"]).any()


def test_the_learned_model_beats_chance_on_a_learnable_world(result):
    t = result.table.set_index(["split", "subset", "method"])
    key = ("random split", "all held-out cities")
    assert t.loc[(*key, "learned (hgb)"), "recall_at_50"] > t.loc[(*key, "random"), "recall_at_50"]
    m = result.margins
    assert set(m["metric"]) == set(METRICS)
    assert (m["margin_lo"] <= m["margin"] + 1e-12).all()


def test_evaluation_is_deterministic_for_a_seed(tie_world, tmp_path):
    """Two runs with the same seed write the same three files, byte for byte (timings are
    kept out of them)."""
    cities, ties = tie_world(600, 900, 0)
    kw = dict(models=("hgb",), max_cities=20, n_boot=200, estimator_params=FAST)
    runs = [evaluate(cities, ties, seed=3, **kw) for _ in range(2)]
    saved = []
    for k, res in enumerate(runs):
        (tmp_path / str(k)).mkdir()
        saved.append([p.read_bytes() for p in res.save(tmp_path / str(k))])
        assert res.timings["seconds"] > 0 and "seconds" not in res.info
    assert saved[0] == saved[1]
    assert len(runs[0].per_city) > 20 and runs[0].per_city["recall@50"].std() > 0


def test_evaluation_files_are_never_replaced_without_force(result, tmp_path):
    result.save(tmp_path)
    with pytest.raises(OutputError, match=r'evaluation.csv" already exists; use --force'):
        result.save(tmp_path)
    assert len(result.save(tmp_path, force=True)) == 3
    with pytest.raises(OutputError, match=r"no such folder"):
        result.save(tmp_path / "missing")


def test_evaluation_summary_is_a_short_table(result):
    text = result.summary()
    assert text.startswith("random split: all held-out cities (")
    assert "learned (hgb)" in text and "gravity" in text
    assert "recall@50: default shortlist" in text and "median pct rank" in text
    assert len(text.splitlines()) < 80  # 4 groups x 7 methods and the margins


def test_evaluation_progress_reaches_the_total(tie_world):
    cities, ties = tie_world(600, 900, 0)
    seen = []
    evaluate(
        cities, ties, models=("hgb",), max_cities=10, n_boot=50, estimator_params=FAST,
        progress=lambda done, total, what: seen.append((done, total, what)),
    )  # fmt: skip
    assert seen and seen[-1][0] == seen[-1][1]
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)


def test_evaluation_result_writes_its_tables(result, tmp_path):
    paths = result.save(tmp_path)
    assert [p.name for p in paths] == ["evaluation.csv", "evaluation.json", "evaluation.md"]
    data = json.loads(paths[1].read_text())
    assert data["info"]["seed"] == 0 and len(data["table"]) == len(result.table)
    md = paths[2].read_text()
    assert md.startswith("# Evaluation on held-out cities")
    assert "| learned (hgb) |" in md and "Learned model over the best baseline" in md


def test_evaluate_refuses_bad_parameters(tie_world):
    cities, ties = tie_world(600, 900, 0)
    with pytest.raises(RecommenderError, match="holdout_share must be in \\(0, 1\\); got 1.5"):
        evaluate(cities, ties, holdout_share=1.5)
    with pytest.raises(RecommenderError, match="min_partners must be an integer >= 1"):
        evaluate(cities, ties, min_partners=0)
    with pytest.raises(RecommenderError, match="Only 0 cities have >= 500 cross-country"):
        evaluate(cities, ties, min_partners=500)


@pytest.mark.slow
def test_committed_evaluation_shows_the_model_beating_every_baseline():
    from recommender.learn.feasibility import models_dir

    data = json.loads((models_dir() / "evaluation.json").read_text())
    rows = [
        r
        for r in data["table"]
        if r["split"] == "random split" and r["subset"] == "all held-out cities"
    ]
    learned = [r for r in rows if r["method"].startswith("learned")][0]
    baselines = [
        r
        for r in rows
        if not r["method"].startswith(("learned", SHORTLIST)) and "+" not in r["method"]
    ]
    assert len(baselines) == 3 + len(PRESET_BASELINES)
    for metric in ("recall_at_50", "ndcg_at_50"):
        assert all(learned[metric] > b[metric] for b in baselines)
    margins = [
        m
        for m in data["margins"]
        if m["split"] == "random split"
        and m["metric"] in ("recall@50", "ndcg@50")
        and m["comparison"] == "learned model over the best baseline"
        and m["subset"] in ("all held-out cities", DEVELOPING)
    ]
    assert len(margins) == 4 and all(m["margin_lo"] > 0 for m in margins)


def test_committed_evaluation_backs_the_readme_claims_on_the_default_shortlist():
    """What README's "Two numbers" says of the default shortlist is what the committed
    evaluation holds, and the committed run measured the engine's defaults."""
    from recommender.engine.options import DEFAULT_FEASIBILITY_POWER
    from recommender.engine.ranking import DEFAULT_DECAY
    from recommender.engine.shortlist import DEFAULT_BLEND
    from recommender.learn.feasibility import models_dir

    data = json.loads((models_dir() / "evaluation.json").read_text())
    info = data["info"]
    assert info["shortlist_defaults"] == {
        "blend": DEFAULT_BLEND,
        "power": DEFAULT_FEASIBILITY_POWER,
        "decay": DEFAULT_DECAY,
    }
    assert info["grid_choice"]["power"] == DEFAULT_FEASIBILITY_POWER
    assert info["grid_choice"]["blend"] == DEFAULT_BLEND
    assert info["grid_choice"]["decay"] == DEFAULT_DECAY and info["grid_choice"]["cap"] is None
    for subset in ("all held-out cities", DEVELOPING):
        got = {
            (m["baseline"], m["metric"]): m
            for m in data["margins"]
            if m["split"] == "random split" and m["subset"] == subset and m["method"] == SHORTLIST
        }
        for b in ("gravity", "popularity"):
            for metric in ("recall@50", "ndcg@50"):
                assert got[(b, metric)]["better"] and got[(b, metric)]["margin_lo"] > 0
            # lower is better: the whole paired interval below zero
            assert got[(b, "pct_rank")]["better"] and got[(b, "pct_rank")]["margin_hi"] < 0
    # and, as the README says, with the two methods' own intervals apart (low- and
    # middle-income cities)
    dev = {
        m["baseline"]: m
        for m in data["margins"]
        if m["split"] == "random split" and m["subset"] == DEVELOPING
        and m["method"] == SHORTLIST and m["metric"] == "pct_rank"
    }  # fmt: skip
    assert dev["gravity"]["intervals_apart"] and dev["popularity"]["intervals_apart"]


def test_readme_diagnosis_of_the_percentile_rank_is_the_committed_one():
    """The README's account of where the gates put the held-out partners (and what the
    strict ranking, gated-out candidates after the gated pool, would measure) and of the
    feasibility powers the grid tried quotes the committed evaluation."""
    from pathlib import Path

    from recommender.learn.feasibility import models_dir
    from recommender.learn.shortlist_eval import GRID_POWERS

    data = json.loads((models_dir() / "evaluation.json").read_text())
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    diag = {(d["split"], d["subset"]): d for d in data["info"]["diagnosis"]}
    dev = diag[("random split", DEVELOPING)]
    assert f"of the {dev['n_partners']:,} real partners" in readme
    for stage in ("gated in", "gated out", "outside the pool", "unreachable"):
        assert f"{100 * dev['share'][stage]:.1f}%" in readme, stage
    assert f"on average {dev['mean_gated_pool_pct']:.1f}% of the candidates" in readme
    assert (
        f"median percentile rank **{dev['pct_rank_gated_out']:.1f}** for the gated-out "
        f"partners (gravity {dev['gravity_pct_rank_gated_out']:.1f} for the same partners) "
        f"and {dev['pct_rank_gated_in']:.1f} for those that pass the gates (gravity "
        f"{dev['gravity_pct_rank_gated_in']:.1f})"
    ) in readme
    assert (
        f"the median over all partners would be {dev['pct_rank_strict']:.1f}, worse than "
        f"gravity's {dev['gravity_pct_rank']:.1f}"
    ) in readme
    every = diag[("random split", "all held-out cities")]
    assert f"only {100 * every['share']['gated in']:.1f}% pass" in readme
    assert f"{every['pct_rank_strict']:.1f} against {every['gravity_pct_rank']:.1f}" in readme
    # the default ranking's own median is the table's
    assert dev["pct_rank"] < dev["gravity_pct_rank"] < dev["pct_rank_strict"]
    # the grid tried every power with every blend, and its table says which it chose
    grid = data["info"]["grid"]
    assert {g["power"] for g in grid if g["blend"] is not None} == set(GRID_POWERS)
    at = {
        g["power"]: g
        for g in grid
        if g["blend"] == data["info"]["grid_choice"]["blend"]
        and g["decay"] == 1.0
        and g["cap"] is None
    }
    assert f"median percentile rank {at[1.0]['pct_rank']:.1f} with p," in readme
    assert f"NDCG@50 {at[1.0]['ndcg@50']:.3f}, {at[0.5]['ndcg@50']:.3f} and" in readme


@pytest.mark.slow
def test_evaluate_runs_on_the_packaged_data():
    res = evaluate(
        max_cities=12, models=("hgb",), indonesia=False, n_boot=200, estimator_params=FAST
    )
    t = res.table
    assert (t["n_cities"] == 12).any()
    assert res.info["splits"]["random split"]["mean_pool_size"] > 30_000
    assert 0 <= res.info["splits"]["random split"]["unreachable_share"] < 0.2
