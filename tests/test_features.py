"""Pair features: signed asymmetry kernels, make_pairs and the FeatureBuilder transformer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from recommender.data.indicators import INDICATOR_NAMES, LEVEL_RANK
from recommender.engine.estimators import FeatureBuilder
from recommender.engine.features import (
    haversine_km,
    lead_counts,
    level_codes,
    make_pairs,
    signed_asymmetry,
    transforms_for,
)

T = transforms_for(INDICATOR_NAMES)


def test_signed_asymmetry_values():
    local = np.array([1e6, 100.0, 5000.0, 0.75])
    cand = np.array([[2e6, 50.0, 20000.0, 0.90]])
    a = signed_asymmetry(local, cand, T)
    assert np.allclose(a, [[math.log(2), math.log(0.5), math.log(4), 1.5]])


def test_hdi_scale_makes_one_tenth_hdi_one_unit():
    a = signed_asymmetry([0.7], [[0.8]], ["linear"])
    assert a[0, 0] == pytest.approx(1.0)
    assert signed_asymmetry([0.7], [[0.8]], ["linear"], hdi_scale=0.05)[0, 0] == pytest.approx(2.0)


def test_swapping_local_and_candidate_flips_signs():
    rng = np.random.default_rng(0)
    x = np.column_stack(
        [
            rng.lognormal(12, 1, 50),
            rng.lognormal(5, 1, 50),
            rng.lognormal(9, 1, 50),
            rng.uniform(0.4, 0.95, 50),
        ]
    )
    y = np.column_stack(
        [
            rng.lognormal(12, 1, 50),
            rng.lognormal(5, 1, 50),
            rng.lognormal(9, 1, 50),
            rng.uniform(0.4, 0.95, 50),
        ]
    )
    forward = signed_asymmetry(x, y, T)
    backward = signed_asymmetry(y, x, T)
    assert np.allclose(forward, -backward)
    assert np.all(forward != 0)


def test_nan_in_nan_out_and_nonpositive_is_missing():
    a = signed_asymmetry([1e6, 100.0, 5000.0, 0.75], [[np.nan, 0.0, 5000.0, np.nan]], T)
    assert np.isnan(a[0, 0]) and np.isnan(a[0, 1]) and np.isnan(a[0, 3])
    assert a[0, 2] == 0.0


def test_units_do_not_matter_for_log_indicators():
    a1 = signed_asymmetry([2.5e6], [[1e6]], ["log"])
    a2 = signed_asymmetry([2.5e9], [[1e9]], ["log"])
    assert a1[0, 0] == pytest.approx(a2[0, 0], abs=1e-12)


def test_haversine_known_distance():
    # Jakarta - Surabaya is about 660 km as the crow flies
    d = haversine_km(-6.2, 106.85, -7.25, 112.75)
    assert 640 < float(d) < 680
    assert float(haversine_km(10.0, 20.0, 10.0, 20.0)) == 0.0


def test_lead_counts_and_complementarity():
    tol = np.full(4, 0.2)
    asym = np.array([[1.0, 1.0, 0.0, 0.0], [1.0, -1.0, 0.1, np.nan], [np.nan] * 4])
    n_c, n_l, comp = lead_counts(asym, tol)
    assert n_c.tolist() == [2, 1, 0]
    assert n_l.tolist() == [0, 1, 0]
    assert comp.tolist() == [False, True, False]


def test_level_codes_missing_value_wins():
    codes = level_codes(["city", "imputed", "city", ""], [1.0, 1.0, np.nan, 1.0])
    assert codes.tolist() == [
        0,
        LEVEL_RANK["imputed"],
        LEVEL_RANK["missing"],
        LEVEL_RANK["missing"],
    ]
    with pytest.raises(ValueError, match=r"Unknown data level\(s\) \['towne'\]"):
        level_codes(["towne"])


@pytest.fixture
def pairs(toy):
    cities, _ = toy
    local = cities.iloc[0]
    return make_pairs(local, cities.iloc[1:])


def test_make_pairs_is_vectorised_and_complete(pairs, toy):
    cities, _ = toy
    assert len(pairs) == len(cities) - 1
    for n in INDICATOR_NAMES:
        for side in ("local", "cand"):
            assert f"{n}_{side}" in pairs and f"{n}_level_{side}" in pairs
    assert (pairs["population_local"] == 2.5e6).all()
    assert pairs["city_id_cand"].tolist() == cities["city_id"].iloc[1:].tolist()


def test_feature_builder_outputs(pairs):
    fb = FeatureBuilder().fit(pairs)
    names = fb.get_feature_names_out().tolist()
    assert names[:4] == [f"asym_{n}" for n in INDICATOR_NAMES]
    assert {"n_cand_leads", "n_local_leads", "complementary", "distance_km"} <= set(names)
    assert "level_area_km2_cand" in names
    out = pd.DataFrame(fb.transform(pairs), columns=names, index=pairs.index)
    # Richburg (tests/conftest.py TOY_ROWS): GDP per capita 15,000 against Lokal's 5,000,
    # HDI 0.85 against 0.75, at hdi_scale 0.1
    richburg = out.loc[pairs["city_id_cand"] == 10].iloc[0]
    assert richburg["asym_gdp_per_capita_usd"] == pytest.approx(math.log(15_000 / 5_000))
    assert richburg["asym_hdi"] == pytest.approx((0.85 - 0.75) / 0.1)
    tiny = out.loc[pairs["city_id_cand"] == 13].iloc[0]
    assert tiny["complementary"] == 1 and tiny["n_local_leads"] == 2
    imputa = out.loc[pairs["city_id_cand"] == 16].iloc[0]
    assert imputa["level_area_km2_cand"] == LEVEL_RANK["imputed"]
    nohdi = out.loc[pairs["city_id_cand"] == 15].iloc[0]
    assert math.isnan(nohdi["asym_hdi"]) and nohdi["level_hdi_cand"] == LEVEL_RANK["missing"]


def test_feature_builder_sklearn_conventions(pairs):
    fb = FeatureBuilder(hdi_scale=0.1)
    assert fb.get_params() == {
        "indicators": None,
        "hdi_scale": 0.1,
        "tolerance": None,
        "standardize": False,
    }
    with pytest.raises(NotFittedError):
        fb.transform(pairs)
    assert fb.fit(pairs) is fb
    assert fb.n_features_in_ == pairs.shape[1]
    assert list(fb.feature_names_in_) == list(pairs.columns)
    assert fb.scale_.shape == (4,) and np.all(fb.scale_ > 0)
    clone(fb).fit(pairs)


def test_feature_builder_set_output_pandas(pairs):
    out = FeatureBuilder().set_output(transform="pandas").fit_transform(pairs)
    assert isinstance(out, pd.DataFrame)
    assert out.index.equals(pairs.index)
    assert list(out.columns) == FeatureBuilder().fit(pairs).get_feature_names_out().tolist()


def test_feature_builder_in_a_pipeline(pairs):
    pipe = make_pipeline(FeatureBuilder(), SimpleImputer(), StandardScaler())
    pipe.set_output(transform="pandas")
    out = pipe.fit_transform(pairs)
    assert out.shape[0] == len(pairs)
    assert "asym_gdp_per_capita_usd" in out.columns
    assert not out.isna().any().any()


def test_standardize_divides_by_learned_scale(pairs):
    raw = FeatureBuilder().fit(pairs)
    std = FeatureBuilder(standardize=True).fit(pairs)
    a_raw = raw.transform(pairs)[:, :4]
    a_std = std.transform(pairs)[:, :4]
    assert np.allclose(a_std, a_raw / std.scale_, equal_nan=True)


def test_feature_builder_validation_errors(pairs):
    with pytest.raises(ValueError, match="'indicators' parameter of FeatureBuilder .* Got 'gdp'"):
        FeatureBuilder(indicators=["gdp"]).fit(pairs)
    with pytest.raises(ValueError, match="'hdi_scale' parameter of FeatureBuilder .* Got -1"):
        FeatureBuilder(hdi_scale=-1).fit(pairs)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['hdi_cand'\]"):
        FeatureBuilder().fit(pairs.drop(columns="hdi_cand"))
    fb = FeatureBuilder().fit(pairs)
    with pytest.raises(ValueError, match="lacks column"):
        fb.transform(pairs.drop(columns="latitude_cand"))


def test_feature_builder_accepts_plain_arrays():
    arr = np.array([[1e6, 100.0, 5000.0, 0.7, 2e6, 100.0, 10000.0, 0.8]])
    out = FeatureBuilder().fit_transform(arr)
    assert np.allclose(out[0, :4], [math.log(2), 0.0, math.log(2), 1.0])
    assert out.shape[1] == 4 + 3  # no coordinates, no levels
