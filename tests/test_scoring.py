"""Scoring: desirability bands, WSM and TOPSIS, contributions, data quality, Scorer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from recommender.data.indicators import INDICATOR_NAMES
from recommender.engine.estimators import FeatureBuilder, Scorer
from recommender.engine.features import make_pairs
from recommender.engine.scenarios import PRESETS, Band, Scenario
from recommender.engine.scoring import (
    EDGE_DESIRABILITY,
    desirability,
    score_asymmetry,
    topsis,
    weighted_sum,
    wsm_contributions,
)

BAND = np.log([1.0, 1.5, 8.0, 20.0])


def test_desirability_ideal_point():
    ideal = math.log(3.0)
    a = np.log([0.5, 1.0, math.sqrt(1.5), 1.5, 3.0, 8.0, math.sqrt(160), 20.0, 30.0])
    d = desirability(a, BAND, ideal=ideal)
    # 1 only at the ideal, EDGE at the band's edges, half of EDGE half-way down a ramp
    assert d.tolist() == pytest.approx([0, 0, 0.4, 0.8, 1, 0.8, 0.4, 0, 0])
    # inside the band: quadratic in the distance to the ideal, strictly below 1 elsewhere
    x = np.linspace(np.log(1.5), np.log(8.0), 101)
    dx = desirability(x, BAND, ideal=ideal)
    assert dx.max() == pytest.approx(1.0, abs=1e-4) and (dx >= 0.8 - 1e-12).all()
    left = x < ideal
    t = (x[left] - ideal) / (np.log(1.5) - ideal)
    assert dx[left] == pytest.approx(1 - 0.2 * t**2)
    # unimodal: rises to the ideal, falls after it
    grid = np.linspace(-1, 4, 400)
    dg = desirability(grid, BAND, ideal=ideal)
    peak = int(np.argmax(dg))
    assert (np.diff(dg[: peak + 1]) >= -1e-12).all() and (np.diff(dg[peak:]) <= 1e-12).all()
    # default ideal: the middle of [lo, hi] in asymmetry units
    mid = (np.log(1.5) + np.log(8.0)) / 2
    assert desirability(np.array([mid]), BAND)[0] == pytest.approx(1.0)


def test_desirability_discriminates_inside_the_band():
    """The old plateau gave every value in [lo, hi] exactly 1: no longer."""
    x = np.log(np.linspace(1.5, 8.0, 50))
    d = desirability(x, BAND, ideal=math.log(3.0))
    assert len(np.unique(d.round(12))) >= 49


def test_desirability_nan_step_infinite_and_two_sided():
    assert np.isnan(desirability(np.array([np.nan]), BAND))[0]
    step = desirability(np.array([-0.1, 0.0, 0.1]), [0.0, 0.0, 1.0, 2.0], ideal=0.0)
    assert step.tolist() == pytest.approx([0.0, 1.0, 0.998])
    open_top = desirability(np.array([100.0]), [0.0, 1.0, 2.0, np.inf])
    assert open_top.tolist() == [1.0]
    two = desirability(np.log([1 / 3, 3.0, 1.0]), BAND, two_sided=True, ideal=math.log(3.0))
    assert two.tolist() == pytest.approx([1.0, 1.0, 0.0])


def test_weighted_sum_and_contributions():
    D = np.array([[1.0, 0.5, 0.0, 1.0]])
    w = np.array([2.0, 1.0, 1.0, 0.0])
    assert weighted_sum(D, w)[0] == pytest.approx(2.5 / 4)
    assert wsm_contributions(D, w).sum(axis=1)[0] == pytest.approx(2.5 / 4)


def random_asym(n=500, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1.5, (n, 4))
    a[rng.random((n, 4)) < 0.05] = np.nan
    return a


@pytest.mark.parametrize("method", ["wsm", "topsis"])
@pytest.mark.parametrize("name", list(PRESETS))
def test_contributions_sum_to_score_exactly(method, name):
    asym = random_asym()
    imputed = np.random.default_rng(1).random(asym.shape) < 0.1
    res = score_asymmetry(asym, PRESETS[name], imputed=imputed, method=method)
    assert np.abs(res.contributions.sum(axis=1) - res.score).max() < 1e-9
    assert res.score.min() >= 0 and res.score.max() <= 1
    assert (res.contributions >= 0).all()


def test_topsis_known_case():
    D = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    s, c = topsis(D, np.array([1.0, 1.0]))
    assert s.tolist() == pytest.approx([0.5, 0.5, 1.0, 0.0])
    # the candidate strong on criterion 0 only gets all its credit from criterion 0
    assert c[0].tolist() == pytest.approx([0.5, 0.0])
    # degenerate pool: identical candidates share 0.5 by weight
    s2, c2 = topsis(np.ones((3, 2)), np.array([3.0, 1.0]))
    assert s2.tolist() == [0.5] * 3 and c2[0].tolist() == pytest.approx([0.375, 0.125])


def test_missing_drops_its_weight_imputed_counts_at_reduced_weight():
    s = Scenario(
        "t", "", "", {"gdp_per_capita_usd": 1.0, "hdi": 1.0},
        {"gdp_per_capita_usd": Band(1.0, 1.5, 8.0, 20.0, ideal=4.0),
         "hdi": Band(0.0, 0.03, 0.25, 0.4, ideal=0.1)},
        imputed_penalty=0.4,
    )  # fmt: skip
    # row 0: GDP imputed and ideal (d=1), HDI +0.015 (half-way up the ramp, d=0.5 * 0.8)
    # row 1: GDP ideal, HDI missing
    # row 2: GDP imputed and poor (d=0), HDI ideal
    asym = np.array(
        [[0.0, 0.0, math.log(4), 0.15], [0.0, 0.0, math.log(4), np.nan], [0.0, 0.0, 0.0, 1.0]]
    )
    imputed = np.array([[False, False, True, False], [False] * 4, [False, False, True, False]])
    res = score_asymmetry(asym, s, imputed=imputed)
    # imputed GDP keeps its desirability but weighs 1 - 0.4 = 0.6
    assert res.desirability[0, 2] == pytest.approx(1.0)
    assert res.score[0] == pytest.approx((0.6 * 1.0 + 1.0 * 0.4) / 1.6)
    # a missing value neither helps nor hurts: the score is the known GDP's alone
    assert res.score[1] == pytest.approx(1.0)
    assert res.desirability[1, 3] == 0.0 and res.missing[1].tolist() == [False, False, False, True]
    assert res.contributions[1, 3] == 0.0
    # a poor imputed value hurts, at reduced weight
    assert res.score[2] == pytest.approx(1.0 / 1.6)
    assert np.allclose(res.contributions.sum(axis=1), res.score, atol=1e-12)


def test_gates_required_and_complementary():
    asym = np.array([[0.0, 0.0, math.log(0.5), 1.5], [2.0, -2.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]])
    assert score_asymmetry(asym, PRESETS["small-big"]).eligible.tolist() == [False, False, False]
    comp = score_asymmetry(asym, PRESETS["complementary"]).eligible
    assert comp.tolist() == [True, True, False]


def test_scores_are_invariant_to_population_and_area_units(toy):
    cities, _ = toy
    scaled = cities.copy()
    scaled["population"] *= 1000
    scaled["area_km2"] *= 1e6  # km² -> m²
    for method in ("wsm", "topsis"):
        a = make_pipeline(FeatureBuilder(), Scorer(method=method)).fit_transform(
            make_pairs(cities.iloc[0], cities.iloc[1:])
        )
        b = make_pipeline(FeatureBuilder(), Scorer(method=method)).fit_transform(
            make_pairs(scaled.iloc[0], scaled.iloc[1:])
        )
        assert np.allclose(a, b, atol=1e-12)


def test_scorer_in_pipeline_with_pandas_output(toy):
    cities, _ = toy
    pairs = make_pairs(cities.iloc[0], cities.iloc[1:])
    pipe = make_pipeline(FeatureBuilder(), Scorer("small-big")).set_output(transform="pandas")
    out = pipe.fit_transform(pairs)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns[:5]) == ["score"] + [f"contribution_{n}" for n in INDICATOR_NAMES]
    by_id = out.set_index(pairs["city_id_cand"].to_numpy())
    assert by_id.loc[10, "score"] == pytest.approx(1.0)
    # area imputed but inside the band: it counts at half weight and still scores 1
    assert by_id.loc[16, "score"] == pytest.approx(1.0)
    # HDI unknown: its weight is shared among the known indicators, all ideal here
    assert by_id.loc[15, "n_missing"] == 1 and by_id.loc[15, "score"] == pytest.approx(1.0)
    assert by_id.loc[11, "eligible"] == 0  # poorer: gated out of small-big
    contrib = out[[f"contribution_{n}" for n in INDICATOR_NAMES]].sum(axis=1)
    assert np.allclose(contrib, out["score"], atol=1e-9)


def test_scorer_topsis_learns_reference_on_the_pool(toy):
    cities, _ = toy
    feats = (
        FeatureBuilder()
        .set_output(transform="pandas")
        .fit_transform(make_pairs(cities.iloc[0], cities.iloc[1:]))
    )
    sc = Scorer(method="topsis").fit(feats)
    norm, ideal, anti = sc.reference_
    assert norm.shape == ideal.shape == anti.shape == (4,)
    assert (ideal >= anti).all()


def test_scorer_parameter_errors(toy):
    cities, _ = toy
    feats = (
        FeatureBuilder()
        .set_output(transform="pandas")
        .fit_transform(make_pairs(cities.iloc[0], cities.iloc[1:]))
    )
    with pytest.raises(
        ValueError, match="'method' parameter of Scorer must be one of wsm, topsis. Got 'ahp'"
    ):
        Scorer(method="ahp").fit(feats)
    with pytest.raises(NotFittedError):
        Scorer().transform(feats)
    # a Scenario object as the parameter survives clone (deep copy)
    assert clone(Scorer(scenario=PRESETS["symmetric"])).fit(feats).scenario_.name == "symmetric"
    with pytest.raises(ValueError, match=r"Scorer needs the column\(s\) \['asym_hdi'\]"):
        Scorer().fit(feats.drop(columns="asym_hdi"))


def test_min_coverage_excludes_candidates_known_on_too_little_weight():
    s = Scenario(
        "t", "", "", {"population": 0.5, "gdp_per_capita_usd": 0.3, "hdi": 0.2},
        {
            "population": Band(0.05, 0.25, 4.0, 20.0),
            "gdp_per_capita_usd": Band(1.0, 1.5, 8.0, 20.0),
            "hdi": Band(0.0, 0.03, 0.25, 0.4),
        },
        min_coverage=0.75,
    )  # fmt: skip
    asym = np.array(
        [
            [0.0, np.nan, math.log(4), 1.0],  # all weighted indicators known
            [0.0, np.nan, math.log(4), np.nan],  # 0.8 of the weight known
            [0.0, np.nan, np.nan, 1.0],  # 0.7 known: too little
        ]
    )
    res = score_asymmetry(asym, s)
    assert res.eligible.tolist() == [True, True, False]
    assert score_asymmetry(asym, s.__class__(**{**s.__dict__, "min_coverage": 0.0})).eligible.all()


def _desirability_by_where(x, band, two_sided, ideal):
    """The desirability formula written plainly with np.where (fresh temporaries)."""
    x = np.abs(x) if two_sided else np.asarray(x, dtype=float)
    mn, lo, hi, mx = band
    m = (lo + hi) / 2.0 if ideal is None else ideal
    q = EDGE_DESIRABILITY
    with np.errstate(divide="ignore", invalid="ignore"):
        below = x < m
        left = (x - m) / (lo - m) if m > lo else np.where(below, np.inf, 0.0)
        right = (x - m) / (hi - m) if hi > m else np.where(x > m, np.inf, 0.0)
        t = np.minimum(np.where(below, left, right), 1.0)
        peak = 1.0 - (1.0 - q) * (t * t)
        up = (x - mn) / (lo - mn) if lo > mn else np.where(x >= lo, 1.0, 0.0)
        down = (mx - x) / (mx - hi) if mx > hi else np.where(x <= hi, 1.0, 0.0)
        d = np.where(x < lo, q * up, np.where(x > hi, q * down, peak))
        if np.isneginf(mn):
            d[below] = 1.0
        if np.isposinf(mx):
            d[x > m] = 1.0
    d = np.clip(d, 0.0, 1.0)
    d[np.isnan(x)] = np.nan
    return d


@pytest.mark.parametrize(
    "band",
    [
        (0.0, 0.5, 1.5, 3.0),
        (-np.inf, 0.0, 1.0, 2.0),
        (0.0, 1.0, 2.0, np.inf),
        (-np.inf, -1.0, 1.0, np.inf),
        (-1.0, 0.0, 0.0, 1.0),
        (0.0, 0.0, 1.0, 1.0),
        (0.5, 0.5, 0.5, 0.5),
        (-2.0, -1.0, -1.0, -1.0),
    ],
)
@pytest.mark.parametrize("two_sided", [False, True])
def test_desirability_in_place_has_the_formulas_bits(band, two_sided, size=5_000):
    """The in-place kernel computes every element with the same operations as the formula
    written with np.where: identical bits (the robustness draws rely on it), whether its
    scratch rows are fresh (small pools) or the workspace's (pools of a million or more)."""
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 2.0, size)
    x[rng.random(size) < 0.05] = np.nan
    x[:400] = np.round(x[:400] * 2) / 2  # values exactly on band edges and ideals
    for ideal in (None, band[1], band[2]):
        if ideal is not None and not np.isfinite(ideal):
            continue
        got = desirability(x, band, two_sided, ideal)
        want = _desirability_by_where(x, band, two_sided, ideal)
        assert np.array_equal(got, want, equal_nan=True)


def test_desirability_on_workspace_rows_has_the_formulas_bits():
    """A pool of more than a million: the kernel's scratch rows come from the workspace."""
    test_desirability_in_place_has_the_formulas_bits((0.0, 0.5, 1.5, 3.0), True, 1_100_000)
    test_desirability_in_place_has_the_formulas_bits((-np.inf, 0.0, 1.0, 2.0), False, 1_100_000)
