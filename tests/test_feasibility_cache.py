"""The per-city feasibility kept in the user's cache folder
(:func:`recommender.engine.feasibility.cached_scores`): the same numbers as scoring the
pairs, a plain ``.npy`` that cannot run code, keyed by model, tables and the local row, never
for a user's tables or what-if values, and scored again when damaged."""

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


def test_cached_scores_equal_scoring_the_pairs_and_are_reused(packaged, monkeypatch):
    cities, ties, model, folder = packaged
    local = _local(cities)
    own = cities["city_id"].to_numpy() == local["city_id"]
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(np.flatnonzero(~own), 700, replace=False))
    cache = F.cached_scores(model, local, cities, ties)
    got = cache(rows[:300])
    more = cache(rows)  # 300 known, 400 new
    assert cache.added == 700
    cache.save()
    (path,) = folder.glob("feasibility-*.npy")
    want = model.score_candidates(local, cities, ties, rows)
    assert np.array_equal(more, want) and np.array_equal(got, want[:300])
    # a plain array file: (row, feasibility) of the rows scored
    saved = np.load(path, allow_pickle=False)
    assert saved.shape == (700, 2)
    assert np.array_equal(saved[:, 0], rows) and np.array_equal(saved[:, 1], want)

    # next time: read, not scored
    def refuse(*a, **k):
        raise AssertionError("scored again")

    monkeypatch.setattr(type(model), "score_candidates", refuse)
    again = F.cached_scores(model, local, cities, ties)
    assert np.array_equal(again(rows), want)


def test_damaged_or_foreign_files_are_scored_again(packaged):
    cities, ties, model, folder = packaged
    local = _local(cities)
    rows = np.arange(0, len(cities), 97)
    rows = rows[cities["city_id"].to_numpy()[rows] != local["city_id"]]
    cache = F.cached_scores(model, local, cities, ties)
    want = cache(rows)
    cache.save()
    (path,) = folder.glob("feasibility-*.npy")
    bad_arrays = [np.zeros(3), np.array([[len(cities) + 5.0, 0.5]]), np.array([[0.5, 0.5]]),
                  np.array([[0.0, 7.0]])]  # fmt: skip
    for damage in (b"garbage", path.read_bytes()[:100], *bad_arrays):
        if isinstance(damage, bytes):
            path.write_bytes(damage)
        else:  # a valid .npy that is not a table of (row, probability)
            np.save(path, damage)
        cache = F.cached_scores(model, local, cities, ties)
        assert np.array_equal(cache(rows), want)
        assert cache.added == len(rows)
        cache.save()
        assert np.array_equal(np.load(path, allow_pickle=False)[:, 1], want)


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
    assert F.cached_scores(model, _local(cities), cities, ties) is None
    assert not list(folder.glob("feasibility-*.npy"))


def test_recommend_is_the_same_cold_warm_and_without_the_cache(packaged, monkeypatch):
    cities, ties, model, folder = packaged
    cold = recommend("Medan", top=8)
    (path,) = folder.glob("feasibility-*.npy")
    assert len(np.load(path)) == cold.attrs["feasibility"]["n_scored"]
    warm = recommend("Medan", top=8)
    # another scenario needs other candidates: they are added to the same file
    before = len(np.load(path))
    sym = recommend("Medan", "symmetric", top=8)
    assert len(np.load(path)) > before
    monkeypatch.setenv("SISTERCITY_CACHE_DIR", "off")
    off = recommend("Medan", top=8)
    assert recommend("Medan", "symmetric", top=8).equals(sym)
    for df in (warm, off):
        assert df.equals(cold)
        assert df.attrs["feasibility"] == cold.attrs["feasibility"]
    # what-if values are not cached
    n = len(list(folder.glob("feasibility-*.npy")))
    monkeypatch.setenv("SISTERCITY_CACHE_DIR", str(folder))
    recommend("Medan", top=8, overrides={"population": 3e6})
    assert len(list(folder.glob("feasibility-*.npy"))) == n
