"""Coupling: Big / Small / Symmetry per indicator, Cohen's labels, classify_partners."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.data.indicators import INDICATOR_NAMES
from recommender.engine.coupling import (
    DEFAULT_TOLERANCE,
    _composite_size_t,
    asymmetry_tolerance,
    class_names,
    classify_asymmetry,
    classify_partners,
    composite_size,
    composite_weights_array,
    coupling_codes,
    coupling_names,
    pair_coupling,
    pair_coupling_codes,
    partner_table,
)
from recommender.errors import ScenarioError


def test_default_tolerance_in_asymmetry_units():
    tol = asymmetry_tolerance()
    assert tol[:3] == pytest.approx([math.log(1.25)] * 3)
    assert tol[3] == pytest.approx(0.2)  # 0.02 HDI at hdi_scale 0.1


def test_tolerance_validation():
    with pytest.raises(ScenarioError, match="must be >= 1 .* got 0.9"):
        asymmetry_tolerance({"population": 0.9})
    with pytest.raises(ScenarioError, match="Unknown indicator 'gdp' in tolerance"):
        asymmetry_tolerance({"gdp": 1.5})
    with pytest.raises(ScenarioError, match="finite number; got nan"):
        asymmetry_tolerance({"hdi": float("nan")})


def test_classes_with_band_edges():
    tol = asymmetry_tolerance()
    # ratio 1.2 is symmetric, 1.3 is Big, 1/1.3 Small; HDI +0.01 symmetric, -0.05 Small
    asym = np.array([[math.log(1.2), math.log(1.3), math.log(1 / 1.3), -0.5]])
    codes = classify_asymmetry(asym, tol)
    assert class_names(codes).tolist() == [["Symmetry", "Big", "Small", "Small"]]
    assert class_names(classify_asymmetry(np.array([[np.nan]]), tol[:1])).tolist() == [["Unknown"]]


def test_composite_skips_missing_and_renormalises():
    comp, ctol = composite_size(
        np.array([[1.0, np.nan, -1.0, np.nan]]), np.array([0.5, 0.2, 0.2, 0.1]), np.full(4, 0.2)
    )
    assert comp[0] == pytest.approx((0.5 - 0.2) / 0.7)
    assert ctol[0] == pytest.approx(0.2)


def coupling_labels(*args, **kwargs):
    return coupling_names(coupling_codes(*args, **kwargs))


def test_coupling_labels_cohen():
    tol = np.full(5, 0.2)
    comp = np.array([1.0, -1.0, 0.0, 0.0, np.nan])
    big_local = coupling_labels(comp, tol, 2.5e6, cand_population=np.array([1, 1, 3e6, 5e4, 1]))
    assert big_local.tolist() == ["SB", "BS", "BB", "BS", ""]
    small_local = coupling_labels(comp, tol, 3e5, cand_population=np.array([1, 1, 2e5, 5e6, 1]))
    assert small_local.tolist() == ["SB", "BS", "SS", "SB", ""]
    # threshold configurable
    assert coupling_labels(np.array([0.0]), np.array([0.2]), 3e5, 2e5).tolist() == ["BB"]


def test_classify_partners_toy(toy, make_ties):
    cities, _ = toy
    ties = make_ties([(1, 10), (1, 11), (1, 14), (1, 13), (1, 999_999)])
    res = classify_partners(1, cities, ties)
    p = res.partners.set_index("name")
    assert set(p.index) == {"Richburg", "Poorville", "Twinton", "Tinyrich"}
    assert p.loc["Richburg", "gdp_per_capita_usd_class"] == "Big"
    assert p.loc["Richburg", "gdp_per_capita_usd_ratio"] == pytest.approx(3.0)
    # the partner's population counts, as in shortlist and explain: a town of 20,000 is BS
    assert p.loc["Tinyrich", "coupling"] == "BS"
    assert p.loc["Poorville", "size_class"] == "Small"
    assert p.loc["Poorville", "coupling"] == "BS"
    assert p.loc["Twinton", "size_class"] == "Symmetry" and p.loc["Twinton", "coupling"] == "BB"
    assert p.loc["Richburg", "coupling"] == "SB"
    assert p.loc["Richburg", "stage"] == "mou"
    assert res.counts["Lokal"].to_dict() == {"Big": 1, "Small": 1, "Symmetry": 2, "Total": 4}
    assert res.n_unclassified == 1  # 999999 is not in the cities table
    assert res.by_indicator.loc["Big", "gdp_per_capita_usd"] == 2  # Richburg and Tinyrich


def test_partner_table_has_table2_layout(make_cities, make_ties):
    cities = make_cities(
        [
            dict(city_id=1, name="A", country_code="ID", gdp_per_capita_usd=5000.0),
            dict(city_id=2, name="B", country_code="ID", gdp_per_capita_usd=5000.0),
            dict(city_id=10, name="X", gdp_per_capita_usd=20000.0),
            dict(city_id=11, name="Y", gdp_per_capita_usd=5100.0),
        ]
    )
    table = partner_table([1, 2], cities, make_ties([(1, 10), (1, 11), (2, 10)]))
    assert list(table.index) == ["Big", "Small", "Symmetry", "Total"]
    assert list(table.columns) == ["A", "B", "Total"]
    assert table.loc["Big", "Total"] == 2 and table.loc["Symmetry", "A"] == 1
    assert table.loc["Total", "Total"] == 3


# Sinambela et al. (2025), "A Case Study of Medan" (Figure 2 text). Values the paper gives
# are quoted: Chengdu 10.597 million people and 14,378 km²; Ichikawa HDI 0.951 and GDP per
# capita US$ 41,600. The others are illustrative placeholders chosen only to respect the
# orderings the paper states; the test checks that the engine reproduces those orderings.
MEDAN_CASE = [
    dict(city_id=1, name="Medan", country_code="ID", population=2.49e6, area_km2=265.0,
         gdp_per_capita_usd=7800.0, hdi=0.81),
    dict(city_id=10, name="Chengdu", country_code="CN", population=10.597e6, area_km2=14378.0,
         gdp_per_capita_usd=14000.0, hdi=0.78),
    dict(city_id=11, name="Gwangju", country_code="KR", population=1.44e6, area_km2=501.0,
         gdp_per_capita_usd=26000.0, hdi=0.92),
    dict(city_id=12, name="Ichikawa", country_code="JP", population=0.49e6, area_km2=57.0,
         gdp_per_capita_usd=41600.0, hdi=0.951),
    dict(city_id=13, name="Penang", country_code="MY", population=0.79e6, area_km2=200.0,
         gdp_per_capita_usd=15500.0, hdi=0.85),
]  # fmt: skip


def test_medan_case_reproduces_the_papers_orderings(make_cities, make_ties):
    cities = make_cities(MEDAN_CASE)
    ties = make_ties([(1, 10), (1, 11), (1, 12), (1, 13)])
    p = classify_partners(1, cities, ties).partners.set_index("name")
    # "Chengdu has the largest population and area"
    assert p.loc["Chengdu", "population_class"] == "Big"
    assert p.loc["Chengdu", "area_km2_class"] == "Big"
    # "Medan has a bigger population than Gwangju, Ichikawa and Penang"
    assert (p.loc[["Gwangju", "Ichikawa", "Penang"], "population_class"] == "Small").all()
    # "Medan has a bigger area than Ichikawa and Penang"
    assert (p.loc[["Ichikawa", "Penang"], "area_km2_class"] == "Small").all()
    # "has a bigger HDI compared to Chengdu"
    assert p.loc["Chengdu", "hdi_class"] == "Small"
    # "and has the weakest GDP per capita compared to others"
    assert (p["gdp_per_capita_usd_class"] == "Big").all()


def test_medan_table2_big_and_small_under_the_papers_gdp_definition(make_cities, make_ties):
    # The paper's Small-Big: "'Big' refers to a foreign partner city with a larger GDP per
    # capita". Under that definition Medan's four MoU partners are all Big and none is
    # Small, as in Table 2 (Medan: Big 4, Small 0).
    cities = make_cities(MEDAN_CASE)
    ties = make_ties([(1, 10), (1, 11), (1, 12), (1, 13)])
    res = classify_partners(1, cities, ties, composite_weights={"gdp_per_capita_usd": 1.0})
    assert res.counts.loc["Big", "Medan"] == 4
    assert res.counts.loc["Small", "Medan"] == 0
    assert (res.partners["coupling"] == "SB").all()


def test_classify_partners_settings_are_configurable(toy, make_ties):
    cities, _ = toy
    ties = make_ties([(1, 14)])
    loose = classify_partners(1, cities, ties, tolerance={"gdp_per_capita_usd": 1.01})
    assert loose.partners.loc[0, "gdp_per_capita_usd_class"] == "Big"  # 1.04x > 1.01
    default = classify_partners(1, cities, ties)
    assert default.partners.loc[0, "gdp_per_capita_usd_class"] == "Symmetry"
    assert default.settings["tolerance"] == DEFAULT_TOLERANCE
    ss = classify_partners(1, cities, ties, big_city_population=5e6)
    assert ss.partners.loc[0, "coupling"] == "SS"


def _labels_by_rule(comp, ctol, local_pop, cand_pop, big=1_000_000):
    """Cohen's labels written out row by row (the documented rule, for comparison)."""
    out = []
    for c, t, p in zip(comp, ctol, cand_pop, strict=True):
        if math.isnan(c):
            out.append("")
        elif c > t:
            out.append("SB")
        elif c < -t:
            out.append("BS")
        elif not math.isfinite(local_pop):
            out.append("")
        elif math.isnan(p):
            out.append("BB" if local_pop >= big else "SS")
        elif local_pop >= big:
            out.append("BB" if p >= big else "BS")
        else:
            out.append("SB" if p >= big else "SS")
    return out


@pytest.mark.parametrize("n", [2_000, 1_100_000])  # the second takes the workspace's rows
def test_column_major_codes_equal_the_rule(n):
    """The shortlist's path (codes from column-major asymmetries, summed indicator by
    indicator) gives the row-major composite's bits and the labels of the written rule."""
    rng = np.random.default_rng(3)
    asym = rng.normal(size=(n, 4)) * rng.uniform(0.05, 3.0, size=(n, 4))
    asym[rng.random(asym.shape) < 0.1] = np.nan
    asym[:50] = 0.0  # symmetric pairs: Cohen's sizing decides
    pop = rng.lognormal(12, 1.5, n)
    pop[rng.random(n) < 0.05] = np.nan
    tol = asymmetry_tolerance(None, INDICATOR_NAMES)
    w = composite_weights_array(None)
    comp, ctol = composite_size(asym, w, tol)
    got_comp, got_tol = _composite_size_t(np.ascontiguousarray(asym.T), w, tol)
    assert np.array_equal(got_comp, comp, equal_nan=True)
    assert np.array_equal(got_tol, ctol, equal_nan=True)
    codes = pair_coupling_codes(np.ascontiguousarray(asym.T), 1.5e6, pop)
    assert codes.dtype == np.int8
    m = 3_000  # the written rule is slow: a sample of rows
    want = _labels_by_rule(comp[:m], ctol[:m], 1.5e6, pop[:m])
    assert coupling_names(codes[:m]).tolist() == want
    assert pair_coupling(asym[:m], 1.5e6, pop[:m]).tolist() == want
    small = coupling_codes(comp[:m], ctol[:m], 5e5, cand_population=pop[:m])
    assert coupling_names(small).tolist() == _labels_by_rule(comp[:m], ctol[:m], 5e5, pop[:m])
