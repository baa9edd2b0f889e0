"""Scenario comparison and weight sensitivity on known cases."""

from __future__ import annotations

import pandas as pd
import pytest

from recommender.engine.compare import compare, sensitivity
from recommender.engine.scenarios import Band, Scenario, load_scenario
from recommender.engine.shortlist import recommend
from recommender.errors import ScenarioError


def test_compare_same_scenario_twice_agrees_perfectly(toy):
    cities, ties = toy
    res = compare(1, ["small-big", "small-big"], top=3, cities=cities, ties=ties)
    assert res.names == ["small-big", "small-big (2)"]
    assert (res.overlap.to_numpy() == 1.0).all()
    assert res.spearman.iloc[0, 1] == pytest.approx(1.0)
    assert res.kendall.iloc[0, 1] == pytest.approx(1.0)
    assert (res.movers["move"] == 0).all()


def test_compare_small_big_vs_big_small_disagree(toy):
    cities, ties = toy
    res = compare(1, ["small-big", "big-small", "symmetric"], top=3, cities=cities, ties=ties)
    # disjoint shortlists: overlap 0; big-small has one eligible candidate (Poorville)
    assert res.overlap.loc["small-big", "big-small"] == 0.0
    assert res.overlap.loc["big-small", "big-small"] == 1.0
    assert res.shortlists["big-small"]["name"].tolist() == ["Poorville"]
    assert res.spearman.loc["small-big", "big-small"] < 0
    assert res.kendall.loc["small-big", "big-small"] < 0
    # side by side
    assert res.side_by_side.loc[1, "small-big"] == "Richburg (JP)"
    assert res.side_by_side.loc[1, "symmetric"] == "Twinton (MY)"
    assert pd.isna(res.side_by_side.loc[2, "big-small"])
    # Poorville: excluded by small-big's gate (no rank there), first in big-small, and
    # GDP per capita is what moves it
    poor = res.movers.set_index("name").loc["Poorville"]
    assert pd.isna(poor["rank small-big"]) and poor["rank big-small"] == 1
    assert pd.isna(poor["move"])
    assert poor["driver"] == "gdp_per_capita_usd" and poor["driver_change"] > 0.4
    # rows with a rank in both scenarios come first, biggest move first
    both = res.movers["move"].notna().to_numpy()
    assert not (both[1:] & ~both[:-1]).any()
    assert set(res.to_dict()) >= {"overlap", "spearman", "movers", "shortlist:small-big"}


def test_compare_overlap_known_partial_case(toy):
    cities, ties = toy
    # small-big top 3: Richburg, Nohdi, Imputa (all at the ideal); asymmetric top 3:
    # Kobeish, Poorville (a BS pair, allowed there), Imputa
    res = compare(1, ["small-big", "asymmetric"], top=3, cities=cities, ties=ties)
    assert res.overlap.loc["small-big", "asymmetric"] == pytest.approx(1 / 3)
    assert res.overlap.loc["asymmetric", "small-big"] == pytest.approx(1 / 3)


def test_compare_needs_two_scenarios(toy):
    cities, ties = toy
    with pytest.raises(ScenarioError, match="compare needs at least two scenarios; got 1"):
        compare(1, ["small-big"], cities=cities, ties=ties)


def test_sensitivity_gdp_weight(toy):
    cities, ties = toy
    out = sensitivity(
        1, "small-big", "gdp_per_capita_usd", (0, 0.5, 1, 2), top=3, cities=cities, ties=ties
    )
    assert out["factor"].tolist() == [0.0, 0.5, 1.0, 2.0]
    assert out["weight"].tolist() == pytest.approx([0.0, 0.225, 0.45, 0.9])
    base = out.set_index("factor").loc[1.0]
    assert base["overlap"] == 1.0 and base["entered"] == [] and base["spearman"] == pytest.approx(1)

    # each row must agree with a direct re-run under the re-weighted scenario
    def top3(weight):
        scen = load_scenario("small-big").with_weights(gdp_per_capita_usd=weight)
        df = recommend(1, scen, top=3, cities=cities, ties=ties)
        return [f"{n} ({c})" for n, c in zip(df["name"], df["country_code"])]

    base_top = top3(0.45)
    for factor in (0.0, 0.5, 2.0):
        row = out.set_index("factor").loc[factor]
        got = top3(0.45 * factor)
        assert sorted(row["entered"]) == sorted(set(got) - set(base_top))
        assert sorted(row["left"]) == sorted(set(base_top) - set(got))
        assert row["overlap"] == pytest.approx(len(set(got) & set(base_top)) / 3)
    # without the GDP weight, Osakaish (only 1.4x richer, below the band) is no longer
    # held back; Nohdi, whose HDI is unknown, now has too little of the remaining weight
    # known (min_coverage) and leaves
    zero = out.set_index("factor").loc[0.0]
    assert sorted(zero["entered"]) == ["Osakaish (JP)"]
    assert sorted(zero["left"]) == ["Nohdi (KR)"]


def test_sensitivity_errors(toy):
    cities, ties = toy
    with pytest.raises(ScenarioError, match="Unknown indicator 'gdp'"):
        sensitivity(1, "small-big", "gdp", cities=cities, ties=ties)
    with pytest.raises(ScenarioError, match="Each factor must be a finite number >= 0; got -1"):
        sensitivity(1, "small-big", "hdi", (-1, 1), cities=cities, ties=ties)
    only_hdi = Scenario("h", "", "", {"hdi": 1.0}, {"hdi": Band(0, 0.03, 0.25, 0.4)})
    with pytest.raises(ScenarioError, match="All weights are zero"):
        sensitivity(1, only_hdi, "hdi", (0, 1), cities=cities, ties=ties)
