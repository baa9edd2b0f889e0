"""Scenarios: presets, TOML round trip and every validation error."""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
import textwrap

import numpy as np
import pytest

from recommender.data.indicators import INDICATOR_NAMES
from recommender.engine.scenarios import (
    PRESETS,
    Band,
    Scenario,
    load_scenario,
    preset_names,
    tomllib,
)
from recommender.errors import ScenarioError


def test_presets_exist_and_small_big_is_default():
    assert preset_names() == ["small-big", "big-small", "asymmetric", "symmetric", "complementary"]
    assert load_scenario().name == "small-big"


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_documented_and_round_trips(name):
    s = PRESETS[name]
    assert len(s.rationale) > 100 and len(s.description) > 20
    assert "Sinambela" in s.rationale or "Cohen" in s.rationale
    assert Scenario.from_dict(tomllib.loads(s.to_toml())) == s


def test_small_big_gdp_band_is_zero_when_partner_not_richer():
    s = load_scenario("small-big")
    b = s.bands["gdp_per_capita_usd"]
    assert (b.min, b.lo, b.hi, b.max) == (1.0, 1.5, 8.0, 20.0)
    assert "gdp_per_capita_usd" in s.required
    assert max(s.weights, key=s.weights.get) == "gdp_per_capita_usd"


def test_symmetric_weighs_population_most_after_cohen():
    s = load_scenario("symmetric")
    assert max(s.weights, key=s.weights.get) == "population"


def test_band_to_asymmetry_units():
    lo_hi = Band(1.0, 1.5, 8.0, 20.0).to_asymmetry("gdp_per_capita_usd")
    assert lo_hi == pytest.approx(np.log([1.0, 1.5, 8.0, 20.0]))
    assert Band(0.0, 0.03, 0.25, 0.4).to_asymmetry("hdi") == pytest.approx([0, 0.3, 2.5, 4.0])
    assert Band(0.0, 1.0, 2.0, math.inf).to_asymmetry("population")[[0, 3]].tolist() == [
        -math.inf,
        math.inf,
    ]


def write(tmp_path, text: str):
    p = tmp_path / "s.toml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_from_toml_starts_from_base_and_replaces_weights(tmp_path):
    p = write(
        tmp_path,
        """
        name = "richer-only"
        base = "small-big"
        max_per_country = 3
        [weights]
        gdp_per_capita_usd = 2.0
        [bands.gdp_per_capita_usd]
        hi = 5.0
        [filters]
        continents = ["eu", "AS"]
        [filters.min_level]
        hdi = "region"
        """,
    )
    s = load_scenario(str(p))
    assert s.name == "richer-only"
    assert s.weight_array().tolist() == [0.0, 0.0, 2.0, 0.0]
    assert s.bands["gdp_per_capita_usd"] == Band(1.0, 1.5, 5.0, 20.0)
    assert s.bands["hdi"] == PRESETS["small-big"].bands["hdi"]
    assert s.max_per_country == 3
    assert s.filters.continents == ("EU", "AS") and s.filters.min_level == {"hdi": "region"}


def test_band_as_list(tmp_path):
    p = write(tmp_path, "[bands]\nhdi = [0.0, 0.05, 0.2, 0.3]\n")
    assert Scenario.from_toml(p).bands["hdi"] == Band(0.0, 0.05, 0.2, 0.3)


def test_to_toml_is_an_editable_template():
    text = load_scenario("small-big").to_toml()
    assert "[weights]" in text and "[bands.gdp_per_capita_usd]" in text
    assert "# " in text  # annotated
    parsed = tomllib.loads(text)
    assert parsed["weights"]["gdp_per_capita_usd"] == 0.45


# ------------------------------------------------------------------ validation errors


def test_unknown_top_level_key_is_named_with_allowed_keys(tmp_path):
    p = write(tmp_path, "[wieghts]\nhdi = 1.0\n")
    with pytest.raises(
        ScenarioError,
        match=r"Unknown key 'wieghts' .*allowed: name, .*weights.*Did you mean 'weights'",
    ):
        Scenario.from_toml(p)


def test_unknown_band_key(tmp_path):
    p = write(tmp_path, "[bands.hdi]\nlow = 0.1\n")
    with pytest.raises(
        ScenarioError,
        match=r"Unknown key 'low' in \[bands.hdi\].*allowed: min, lo, ideal, hi, max, two_sided",
    ):
        Scenario.from_toml(p)


def test_unknown_filter_key(tmp_path):
    p = write(tmp_path, "[filters]\ncountry = ['JP']\n")
    with pytest.raises(
        ScenarioError, match=r"Unknown key 'country' in \[filters\].*Did you mean 'countries'"
    ):
        Scenario.from_toml(p)


def test_unknown_indicator(tmp_path):
    p = write(tmp_path, "[weights]\ngdp = 1.0\n")
    with pytest.raises(
        ScenarioError,
        match=r"Unknown indicator 'gdp' in \[weights\].*allowed: population, area_km2, gdp_per_capita_usd, hdi",
    ):
        Scenario.from_toml(p)


@pytest.mark.parametrize("bad", [-1.0, "inf", "nan"])
def test_negative_or_non_finite_weight(tmp_path, bad):
    p = write(tmp_path, f"[weights]\nhdi = {bad}\npopulation = 1.0\n")
    with pytest.raises(ScenarioError, match=r"weight for 'hdi' must be a finite number >= 0; got"):
        Scenario.from_toml(p)


def test_all_zero_weights(tmp_path):
    p = write(tmp_path, "[weights]\nhdi = 0.0\npopulation = 0\n")
    with pytest.raises(ScenarioError, match="All weights are zero"):
        Scenario.from_toml(p)


def test_inverted_band(tmp_path):
    p = write(tmp_path, "[bands.gdp_per_capita_usd]\nlo = 8.0\nhi = 1.5\n")
    with pytest.raises(
        ScenarioError, match=r"band for 'gdp_per_capita_usd' is inverted: lo=8 > hi=1.5"
    ):
        Scenario.from_toml(p)
    with pytest.raises(ScenarioError, match="need min <= lo <= hi <= max"):
        Band(2.0, 1.5, 8.0, 20.0).validate("gdp_per_capita_usd")


def test_ratio_band_must_be_positive_and_two_sided_at_least_one():
    with pytest.raises(ScenarioError, match="bounds must be >= 0; got min=-1"):
        Band(-1.0, 1.5, 8.0, 20.0).validate("population")
    with pytest.raises(ScenarioError, match="two-sided .* >= 1; got min=0.5"):
        Band(0.5, 1.5, 8.0, 20.0, two_sided=True).validate("population")


def test_unknown_preset_lists_presets_and_suggests():
    with pytest.raises(
        ScenarioError,
        match=r"Unknown scenario 'smal-big'; presets: small-big, big-small, asymmetric, symmetric, complementary .*did you mean 'small-big'",
    ):
        load_scenario("smal-big")
    with pytest.raises(ScenarioError, match=r"Unknown base 'nope'"):
        Scenario.from_dict({"base": "nope"})


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ScenarioError, match=r"Scenario file '.*nope.toml' does not exist"):
        load_scenario(str(tmp_path / "nope.toml"))
    p = write(tmp_path, "weights = [\n")
    with pytest.raises(ScenarioError, match="is not valid TOML"):
        Scenario.from_toml(p)


def test_other_field_validation():
    base = PRESETS["small-big"]
    with pytest.raises(ScenarioError, match="max_per_country must be an integer >= 1; got 0"):
        dataclasses.replace(base, max_per_country=0)
    with pytest.raises(
        ScenarioError, match=r"imputed_penalty must be a number in \[0, 1\]; got 1.5"
    ):
        dataclasses.replace(base, imputed_penalty=1.5)
    with pytest.raises(ScenarioError, match="Required indicator 'area_km2' has no band"):
        Scenario("x", "", "", {"hdi": 1.0}, {"hdi": Band(0, 0.1, 0.2, 0.3)}, required=("area_km2",))
    with pytest.raises(ScenarioError, match="'population' has weight 1 but no band"):
        Scenario("x", "", "", {"population": 1.0}, {})


def test_presets_are_immutable_but_copyable():
    s = PRESETS["small-big"]
    with pytest.raises(TypeError, match="Scenario mappings are read-only"):
        s.weights["hdi"] = 9.0  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        s.bands.update({})
    assert copy.deepcopy(s) == s and pickle.loads(pickle.dumps(s)) == s
    assert s.with_weights(hdi=0.0).weights["hdi"] == 0.0
    assert s.weights["hdi"] == 0.25


def test_weight_and_band_arrays_follow_indicator_order():
    s = PRESETS["small-big"]
    assert s.weight_array().tolist() == [s.weights[n] for n in INDICATOR_NAMES]
    bands, two = s.band_matrix()
    assert bands.shape == (4, 4) and not two.any()
    assert PRESETS["asymmetric"].band_matrix()[1].all()
