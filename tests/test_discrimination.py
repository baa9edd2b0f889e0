"""Issue 9: like-with-like economies, scores that discriminate, soft diversity, robustness,
context, one label per pair, compare's displayed ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data.indicators import INDICATOR_NAMES
from recommender.data.modelled import comparable_cities, premium_model
from recommender.data.tables import load_cities, load_ties
from recommender.engine.compare import compare
from recommender.engine.coupling import classify_partners
from recommender.engine.explain import explain
from recommender.engine.ranking import candidate_context, diversify, perturbed_scenarios
from recommender.engine.reference import recommend_naive
from recommender.engine.scenarios import PRESETS
from recommender.engine.shortlist import build_pool, recommend

MODEL = {"a": 0.3, "b": -0.3, "c": 0.1, "sd": 0.4}


# ------------------------------------------------------------------ like with like


def test_modelled_gdp_replaces_only_national_figures(make_cities):
    cities = make_cities(
        [
            dict(city_id=1, name="L", country_code="ID", gdp_per_capita_usd=5000.0),
            dict(city_id=2, name="Nat", gdp_per_capita_usd=10_000.0, population=1e6,
                 levels={"gdp_per_capita_usd": "country"}),
            dict(city_id=3, name="Big", gdp_per_capita_usd=10_000.0, population=8e6,
                 levels={"gdp_per_capita_usd": "country"}),
            dict(city_id=4, name="Reg", gdp_per_capita_usd=10_000.0,
                 levels={"gdp_per_capita_usd": "region"}),
        ]
    )  # fmt: skip
    out = comparable_cities(cities, MODEL).set_index("name")
    assert out.loc["Nat", "gdp_per_capita_usd_level"] == "modelled"
    assert out.loc["Nat", "gdp_per_capita_usd"] == pytest.approx(10_000 * np.exp(0.3))
    # a bigger city of the same country gets a larger premium (c > 0)
    assert out.loc["Big", "gdp_per_capita_usd"] > out.loc["Nat", "gdp_per_capita_usd"]
    # measured figures are never replaced, and carry no uncertainty
    for name in ("L", "Reg"):
        assert out.loc[name, "gdp_per_capita_usd_level"] in ("city", "region")
        assert out.loc[name, "gdp_per_capita_usd_sd"] == 0.0
    assert out.loc["Reg", "gdp_per_capita_usd"] == 10_000.0
    lo, hi = out.loc["Nat", ["gdp_per_capita_usd_low", "gdp_per_capita_usd_high"]]
    assert lo < out.loc["Nat", "gdp_per_capita_usd"] < hi
    assert out.loc["Nat", "gdp_per_capita_usd_national"] == 10_000.0
    assert "modelled" in out.loc["Nat", "gdp_per_capita_usd_source"]
    # the input table is untouched
    assert cities.set_index("name").loc["Nat", "gdp_per_capita_usd_level"] == "country"


def test_premium_file_is_fitted_and_documented():
    m = premium_model()
    assert m["b"] < 0 < m["c"]  # poorer countries and bigger cities: larger premium
    assert 0 < m["sd"] < 1.5
    assert m["fit"]["a_b"]["n_units"] > 100 and m["fit"]["c"]["n_units"] > 300


@pytest.mark.parametrize("local", ["Jakarta", "Surabaya"])
def test_kuala_lumpur_is_not_gated_out_as_poorer(local):
    """Issue 9: Kuala Lumpur looked poorer than Jakarta and Surabaya only because Malaysia's
    national figure was compared with the cities' own GRDP."""
    ex = explain(local, "Kuala Lumpur")
    gdp = ex.breakdown.set_index("indicator").loc["GDP per capita"]
    assert gdp["candidate_level"] != "country"
    assert "GDP per capita" not in ex.summary["excluded_because"]
    assert "like with like" in ex.summary["like_with_like"]
    if gdp["candidate_level"] == "modelled":
        assert gdp["candidate_low"] < gdp["candidate_value"] < gdp["candidate_high"]


def test_no_national_figure_is_compared_in_a_shortlist():
    df = recommend("Medan", feasibility=False, robustness=0, top=30)
    assert not (df["gdp_per_capita_usd_level"] == "country").any()
    modelled = df["gdp_per_capita_usd_level"] == "modelled"
    assert (
        df.loc[modelled, "gdp_per_capita_usd_ratio_low"]
        < df.loc[modelled, "gdp_per_capita_usd_ratio"]
    ).all()


# ------------------------------------------------------------------ discrimination


def test_default_top10_scores_differ_and_sum_exactly():
    cities = load_cities()
    local = cities[cities["is_local"]].sort_values("city_id").head(8)
    tied = rows = 0
    for cid in local["city_id"]:
        df = recommend(int(cid), feasibility=False, robustness=0)
        contrib = df[[f"{n}_contribution" for n in INDICATOR_NAMES]].sum(axis=1)
        assert np.abs(contrib - df["score"]).max() < 1e-9
        s = df["score"].round(12)
        tied += int(s.duplicated(keep=False).sum())
        rows += len(df)
    assert tied / rows < 0.05


def test_every_default_top10_entry_satisfies_the_scenario():
    for city in ("Medan", "Bandung", "Denpasar"):
        df = recommend(city, robustness=0)
        assert (df["coupling"] == "SB").all()


# ------------------------------------------------------------------ diversity


def test_diversify_kernel_decay_cap_and_greedy_order():
    s = np.array([1.0, 0.95, 0.9, 0.6, 0.5])
    c = np.array(["A", "A", "A", "B", "C"])
    order = np.arange(5)
    assert diversify(order, c, s, 5, decay=1.0).tolist() == [0, 1, 2, 3, 4]
    # 0.95 * 0.5 = 0.475 < 0.6 and 0.5: the second A city waits
    assert diversify(order, c, s, 5, decay=0.5).tolist() == [0, 3, 4, 1, 2]
    assert diversify(order, c, s, 5, decay=0.0).tolist() == [0, 3, 4]
    assert diversify(order, c, s, 5, decay=1.0, max_per_country=2).tolist() == [0, 1, 3, 4]
    picks, adj = diversify(order, c, s, 5, decay=0.5, adjusted=True)
    assert (np.diff(adj) <= 1e-12).all()


@pytest.mark.parametrize("diversity", [0.0, 0.3, 1.0])
def test_soft_diversity_vectorised_equals_naive(make_cities, diversity):
    cities = make_cities([dict(city_id=1, name="L", country_code="ID")], n_random=1500, seed=21)
    kw = dict(cities=cities, ties=pd.DataFrame(), top=25, diversity=diversity)
    fast = recommend(1, **kw)
    slow = recommend_naive(1, **kw)
    assert fast["city_id"].tolist() == slow["city_id"].tolist()


# ------------------------------------------------------------------ robustness


def test_robustness_is_seeded_bounded_and_shown():
    a = recommend("Medan", robustness=40)
    b = recommend("Medan", robustness=40)
    assert a["robustness"].tolist() == b["robustness"].tolist()
    assert a["robustness"].between(0, 1).all()
    assert a["robustness_text"].str.match(r"top 10 in \d+% of weightings").all()
    off = recommend("Medan", robustness=0)
    assert off["robustness"].isna().all()


def test_perturbed_scenarios_are_valid_and_vary():
    scen = PRESETS["small-big"]
    draws = perturbed_scenarios(scen, 30, seed=[0, 1])
    weights = np.array([[d.weights[n] for n in INDICATOR_NAMES] for d in draws])
    assert np.allclose(weights.sum(axis=1), 1.0)
    assert weights.std(axis=0).max() > 0.01
    assert draws == perturbed_scenarios(scen, 30, seed=[0, 1])


# ------------------------------------------------------------------ context


def test_candidate_context_counts_and_names(make_cities, make_ties):
    cities = make_cities(
        [
            dict(city_id=1, name="Lokal", country_code="ID", admin1_code="12"),
            dict(city_id=2, name="Kota B", country_code="ID", admin1_code="12"),
            dict(city_id=3, name="Kota C", country_code="ID", admin1_code="31"),
            dict(city_id=10, name="Far", country_code="JP"),
            dict(city_id=11, name="Other", country_code="KR"),
        ]
    )
    ties = make_ties([(10, 2), (10, 3), (10, 11), (1, 11)])
    ctx = candidate_context([10, 11], cities.iloc[0], cities, ties)
    assert ctx["n_partners"].tolist() == [3, 2]
    assert ctx.loc[0, "partners_in_country_names"] == "Kota B, Kota C"
    assert ctx.loc[0, "partners_in_region_names"] == "Kota B"
    # the local city itself is not "another Indonesian city"
    assert ctx.loc[1, "partners_in_country"] == 0


# ------------------------------------------------------------------ one label per pair


def test_partners_and_explain_agree_on_every_tie_of_every_local_city():
    """Property: over all ties of all Indonesian local cities, the label shown by
    ``partners`` is the label the shortlist / explain pipeline gives the same pair."""
    cities = load_cities()
    ties = load_ties()
    local_ids = cities.loc[cities["is_local"], "city_id"].astype(int).tolist()
    checked = 0
    for cid in local_ids:
        res = classify_partners(cid, cities, ties)
        if res.partners.empty:
            continue
        # a tie may end on a city part (Pendik, a district of Istanbul, is a partner):
        # the pool must hold every partner for the labels to be compared
        pool = build_pool(
            cid,
            cities=cities,
            ties=ties,
            include_partners=True,
            include_domestic=True,
            include_city_parts=True,
            include_ineligible=True,
        )
        label_of = dict(zip(pool.city_id.tolist(), pool.coupling.tolist(), strict=True))
        for pid, label in zip(res.partners["city_id"], res.partners["coupling"], strict=True):
            assert label_of[int(pid)] == label, (cid, pid)
            checked += 1
    # every tie with a local end and the other end in the table was checked
    a, b = ties["city_a_id"].to_numpy(), ties["city_b_id"].to_numpy()
    known = set(cities["city_id"].astype(int))
    pairs = {
        (int(x), int(y))
        for x, y in [*zip(a, b, strict=True), *zip(b, a, strict=True)]
        if x in set(local_ids) and y in known and x != y
    }
    assert checked == len(pairs) > 50


def test_surabaya_kochi_label_is_the_same_in_partners_and_explain():
    """The issue's example: partners said BB, explain BS (partners ignored the population)."""
    p = classify_partners("Surabaya").partners.set_index("name")
    ex = explain("Surabaya", "Kochi", candidate_country="JP")
    assert p.loc["Kochi", "coupling"] == ex.summary["coupling"]


# ------------------------------------------------------------------ compare


def test_compare_movers_use_the_displayed_ranks(toy):
    cities, ties = toy
    res = compare(1, ["small-big", "asymmetric"], top=3, cities=cities, ties=ties)
    for name in res.names[:2]:
        shown = res.shortlists[name].set_index("city_id")["rank"]
        col = res.movers.set_index("city_id")[f"rank {name}"]
        for cid, rank in shown.items():
            assert col.loc[cid] == rank
    assert res.movers["driver_text"].str.len().gt(0).all()
