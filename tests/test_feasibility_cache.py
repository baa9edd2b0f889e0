"""The per-city feasibility vector cached in the user's cache folder
(:func:`recommender.engine.feasibility.pool_vector`): the same numbers as scoring the pairs,
a plain ``.npy`` that cannot run code, keyed by model, tables and the local row, never for a
user's tables, and recomputed when damaged."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.data.tables import load_cities, load_ties
from recommender.engine import feasibility as F
from recommender.engine.shortlist import recommend

pytestmark = pytest.mark.slow


@pytest.fixture
def packaged(monkeypatch, tmp_path):
    monkeypatch.setenv("SISTERCITY_CACHE_DIR", str(tmp_path))
    cities, ties = load_cities(), load_ties()
    return cities, ties, F.load_model(), tmp_path


def _local(cities, name="Medan"):
    return cities[cities["name"] == name].iloc[0]


def test_the_vector_equals_scoring_the_pairs_and_is_reused(packaged, monkeypatch):
    cities, ties, model, folder = packaged
    local = _local(cities)
    vec = F.pool_vector(model, local, cities, ties)
    files = list(folder.glob("feasibility-*.npy"))
    assert len(files) == 1
    assert vec.shape == (len(cities),)
    own = cities["city_id"].to_numpy() == local["city_id"]
    assert np.isnan(vec[own]).all() and np.isfinite(vec[~own]).all()
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(np.flatnonzero(~own), 700, replace=False))
    assert np.array_equal(vec[rows], model.score_candidates(local, cities, ties, rows))
    # a plain array file, readable without pickles
    assert np.array_equal(np.load(files[0], allow_pickle=False), vec, equal_nan=True)

    # second use: read, not computed
    def refuse(*a, **k):
        raise AssertionError("scored again")

    monkeypatch.setattr(type(model), "score_candidates", refuse)
    again = F.pool_vector(model, local, cities, ties)
    assert np.array_equal(again, vec, equal_nan=True)


def test_damaged_or_foreign_files_are_computed_again(packaged):
    cities, ties, model, folder = packaged
    local = _local(cities)
    vec = F.pool_vector(model, local, cities, ties)
    (path,) = folder.glob("feasibility-*.npy")
    for damage in (b"garbage", path.read_bytes()[:200], None):
        if damage is None:  # a valid .npy of the wrong shape
            np.save(path, np.zeros(3))
        else:
            path.write_bytes(damage)
        assert np.array_equal(F.pool_vector(model, local, cities, ties), vec, equal_nan=True)
        assert np.array_equal(np.load(path, allow_pickle=False), vec, equal_nan=True)


def test_the_key_follows_the_local_row_the_tables_and_the_model(packaged):
    cities, ties, model, folder = packaged
    medan = _local(cities)
    key = F.pool_vector_key(model, medan, cities, ties)
    assert key is not None and key[1] == folder
    assert F.pool_vector_key(model, _local(cities, "Bandung"), cities, ties)[0] != key[0]
    richer = medan.copy()
    richer["gdp_per_capita_usd"] *= 2
    assert F.pool_vector_key(model, richer, cities, ties)[0] != key[0]
    # a copy of a packaged table is a user's table: never cached
    assert F.pool_vector_key(model, medan, cities.copy(), ties) is None
    assert F.pool_vector_key(model, medan, cities, ties.copy()) is None
    # a model that did not come from a verified bundle
    other = F.FeasibilityModel.__new__(F.FeasibilityModel)
    other.manifest = {}
    assert F.pool_vector_key(other, medan, cities, ties) is None


def test_no_cache_folder_means_no_file(packaged, monkeypatch):
    cities, ties, model, folder = packaged
    monkeypatch.setenv("SISTERCITY_CACHE_DIR", "off")
    assert F.pool_vector(model, _local(cities), cities, ties) is None
    assert not list(folder.glob("feasibility-*.npy"))


def test_recommend_is_the_same_cold_warm_and_without_the_cache(packaged, monkeypatch):
    cities, ties, model, folder = packaged
    cold = recommend("Medan", top=8)
    assert list(folder.glob("feasibility-*.npy"))
    warm = recommend("Medan", top=8)
    monkeypatch.setenv("SISTERCITY_CACHE_DIR", "off")
    off = recommend("Medan", top=8)
    for df in (warm, off):
        assert df.equals(cold)
        assert df.attrs["feasibility"] == cold.attrs["feasibility"]
    # what-if values are not cached
    n = len(list(folder.glob("feasibility-*.npy")))
    monkeypatch.setenv("SISTERCITY_CACHE_DIR", str(folder))
    recommend("Medan", top=8, overrides={"population": 3e6})
    assert len(list(folder.glob("feasibility-*.npy"))) == n
