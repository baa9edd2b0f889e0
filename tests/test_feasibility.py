"""Learned feasibility: leakage-free pair features, training into one verified bundle,
deterministic retraining, and recommend(feasibility=...). The numpy evaluator and the
bundle's checks on damaged or edited files: tests/test_feasibility_engine.py."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from recommender.engine.features import make_pairs
from recommender.engine.options import DEFAULT_FEASIBILITY_POWER
from recommender.engine.reference import greedy_diversity_naive
from recommender.engine.shortlist import (
    DEFAULT_BLEND,
    FEASIBILITY_COLUMNS,
    output_columns,
    recommend,
    tiebreak_keys,
    why_feasibility,
)
from recommender.errors import FilterError, ModelError
from recommender.learn import feasibility as F
from recommender.learn import train as T

FAST = {"max_iter": 25}  # a small forest: the tests check plumbing, not accuracy


@pytest.fixture(scope="module")
def world(tie_world):
    return tie_world(600, 900, 0)


@pytest.fixture(scope="module")
def model(world):
    cities, ties = world
    fitted, _ = F.fit_model(cities, ties, model="hgb", estimator_params=FAST)
    return fitted


@pytest.fixture(scope="module")
def trained(world, tmp_path_factory):
    """A model trained into a folder, with its metrics."""
    cities, ties = world
    out = tmp_path_factory.mktemp("model")
    metrics = T.train(cities, ties, out_dir=out, model="auto", estimator_params=FAST)
    return out, metrics


def _copy(trained_dir, tmp_path):
    dst = tmp_path / "models"
    shutil.copytree(trained_dir, dst)
    return dst / T.MODEL_FILE


# --------------------------------------------------------------------------- features


def test_features_do_not_depend_on_the_order_of_the_pair(world):
    cities, ties = world
    a, b = ties["city_a_id"].to_numpy()[:200], ties["city_b_id"].to_numpy()[:200]
    X1 = F.pair_features(cities, ties, a, b, as_frame=False)
    X2 = F.pair_features(cities, ties, b, a, as_frame=False)
    assert X1.shape == (200, len(F.FEATURE_NAMES))
    assert np.allclose(X1, X2, equal_nan=True)


def test_builder_part_equals_the_feature_builder(world):
    from recommender.engine.estimators import FeatureBuilder

    cities, ties = world
    local = cities.iloc[0]
    # candidates more populous than the local city: the oriented pair is (local, cand)
    cands = cities[cities["population"] > local["population"]].head(50)
    fb = FeatureBuilder().fit_transform(make_pairs(local, cands))
    X = F.pair_features(cities, ties, np.full(len(cands), local["city_id"]), cands["city_id"])
    assert list(X.columns[: fb.shape[1]]) == list(
        FeatureBuilder().fit(make_pairs(local, cands)).get_feature_names_out()
    )
    assert np.allclose(X.to_numpy()[:, : fb.shape[1]], fb, equal_nan=True)


def test_context_counts_leave_the_pair_out(world):
    """Adding or removing a tie never changes that pair's own features."""
    cities, ties = world
    for k in range(0, 60, 6):
        a, b = ties["city_a_id"].iat[k], ties["city_b_id"].iat[k]
        with_tie = F.pair_features(cities, ties, [a], [b], as_frame=False)
        without = F.pair_features(cities, ties.drop(ties.index[k]), [a], [b], as_frame=False)
        assert np.allclose(with_tie, without, equal_nan=True)


def test_cold_features_equal_a_table_without_the_citys_ties(world):
    cities, ties = world
    rng = np.random.default_rng(1)
    cc = cities.set_index("city_id")["country_code"]
    a = ties["city_a_id"].to_numpy()[:30]
    for b in (ties["city_b_id"].to_numpy()[:30], rng.choice(cities["city_id"].to_numpy(), 30)):
        cold = F.pair_features(cities, ties, a, b, cold=True, as_frame=False)
        for k in range(30):
            if cc[a[k]] == cc[b[k]]:
                continue  # the model only ever scores pairs of two countries
            rest = ties[(ties["city_a_id"] != a[k]) & (ties["city_b_id"] != a[k])]
            warm = F.pair_features(cities, rest, a[k : k + 1], b[k : k + 1], as_frame=False)
            assert np.allclose(warm, cold[k : k + 1], equal_nan=True)


def test_ids_outside_the_table_are_refused(world):
    cities, ties = world
    with pytest.raises(ModelError, match="city_id 999 is not in the cities table"):
        F.pair_features(cities, ties, [999], [1])


def test_training_set_has_the_documented_mix(world):
    cities, ties = world
    ts = F.build_training_set(cities, ties, neg_ratio=4, hard_share=0.5, seed=3)
    n_pos = int(ts.y.sum())
    assert (ts.kind == "tie").sum() == n_pos
    assert (ts.kind == "hard").sum() == (ts.kind == "random").sum() == 2 * n_pos
    # negatives: another country, never a known tie
    cc = cities.set_index("city_id")["country_code"]
    neg = ts.y == 0
    assert (cc[ts.city_a[neg]].to_numpy() != cc[ts.city_b[neg]].to_numpy()).all()
    known = set(zip(ties["city_a_id"], ties["city_b_id"]))
    assert not any((min(p), max(p)) in known for p in zip(ts.city_a[neg], ts.city_b[neg]))


# --------------------------------------------------------------------------- the model


def test_score_of_a_held_out_pair_ignores_that_pair_in_the_context(world, model):
    """The leakage test: the score of a pair is the same whether its tie is in the table
    the context counts come from or not (both for the pair view and for recommend's
    one-city-against-the-pool view)."""
    cities, ties = world
    for k in (0, 5, 50, 300):
        a, b = int(ties["city_a_id"].iat[k]), int(ties["city_b_id"].iat[k])
        rest = ties.drop(ties.index[k])
        p_in = model.predict_pairs([a], [b], cities=cities, ties=ties)
        p_out = model.predict_pairs([a], [b], cities=cities, ties=rest)
        assert p_in == pytest.approx(p_out, abs=1e-12)
        local = cities.loc[cities["city_id"] == a].iloc[0]
        pos = np.flatnonzero(cities["city_id"].to_numpy() == b)
        s_in = model.score_candidates(local, cities, ties, pos)
        s_out = model.score_candidates(local, cities, rest, pos)
        assert s_in == pytest.approx(s_out, abs=1e-12)


def test_probabilities_are_probabilities_and_learn_something(world, model):
    cities, ties = world
    p = model.predict_pairs(
        ties["city_a_id"][:100], ties["city_b_id"][:100], cities=cities, ties=ties
    )
    rng = np.random.default_rng(0)
    ids = cities["city_id"].to_numpy()
    q = model.predict_pairs(rng.choice(ids, 300), rng.choice(ids, 300), cities=cities, ties=ties)
    assert ((p >= 0) & (p <= 1)).all() and ((q >= 0) & (q <= 1)).all()
    assert p.mean() > 2 * q.mean()


def test_reliability_table_and_metrics():
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.8, 0.7, 0.3, 0.9])
    rel = F.reliability_table(y, p, n_bins=2)
    assert rel["n"].tolist() == [3, 3]
    assert rel["observed_rate"].tolist() == [0.0, 1.0]
    m = F.classification_metrics(y, p)
    assert m["roc_auc"] == 1.0
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))


# --------------------------------------------------------------------------- files


def test_train_writes_one_verified_bundle_with_a_complete_manifest(world, trained):
    cities, ties = world
    out, metrics = trained
    data = (out / T.MODEL_FILE).read_bytes()
    import hashlib

    assert sorted(p.name for p in out.iterdir()) == sorted([T.MODEL_FILE, T.MANIFEST_COPY])
    assert hashlib.sha256(data).hexdigest() == metrics["sha256"]
    loaded = F.load_model(out / T.MODEL_FILE)
    manifest = loaded.manifest
    # the readable copy is the manifest inside the bundle, word for word
    assert json.loads((out / T.MANIFEST_COPY).read_text()) == manifest
    assert manifest["arrays_sha256"] == metrics["arrays_sha256"]
    for lib in ("python", "scikit-learn", "numpy", "pandas"):
        assert manifest["versions"][lib]
    assert set(manifest["training_data"]) == {"cities.csv.gz", "ties.csv.gz"}
    assert manifest["training_data"]["ties.csv.gz"]["source"] == "DataFrame"
    assert manifest["seed"] == 0 and manifest["params"]["neg_ratio"] == F.DEFAULT_NEG_RATIO
    assert manifest["features"] == list(F.FEATURE_NAMES)
    assert set(manifest["metrics"]["validation"]) == {"hgb", "logreg"}
    assert manifest["kind"] == manifest["metrics"]["chosen"] in ("hgb", "logreg")
    assert manifest["export_check"]["max_abs_diff"] < 1e-9
    val = manifest["metrics"]["validation"][manifest["metrics"]["chosen"]]
    assert 0 <= val["brier"] < 0.25 and len(val["reliability"]) > 1
    a, b = ties["city_a_id"][:20], ties["city_b_id"][:20]
    assert loaded.predict_pairs(a, b, cities=cities, ties=ties).shape == (20,)
    assert T.prediction_fingerprint(loaded, cities, ties) == manifest["probe_fingerprint"]


def test_retraining_is_deterministic(world, trained, tmp_path):
    """Same data and seed: the same bytes, hence the same SHA-256 and the same prediction
    fingerprint."""
    cities, ties = world
    out, metrics = trained
    again = T.train(cities, ties, out_dir=tmp_path, model="auto", estimator_params=FAST)
    assert (tmp_path / T.MODEL_FILE).read_bytes() == (out / T.MODEL_FILE).read_bytes()
    assert (tmp_path / T.MANIFEST_COPY).read_bytes() == (out / T.MANIFEST_COPY).read_bytes()
    assert again["sha256"] == metrics["sha256"]
    assert again["probe_fingerprint"] == metrics["probe_fingerprint"]
    other = T.train(
        cities, ties, out_dir=tmp_path / "s1", seed=1, model="hgb", estimator_params=FAST
    )
    assert other["sha256"] != metrics["sha256"]


def test_a_flipped_byte_in_the_trained_model_is_refused(trained, tmp_path):
    model_path = _copy(trained[0], tmp_path)
    data = bytearray(model_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    model_path.write_bytes(bytes(data))
    with pytest.raises(ModelError) as info:
        F.load_model(model_path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{model_path} does not match its SHA-256 checksum")


def test_a_failed_train_keeps_the_previous_model(world, trained, tmp_path, monkeypatch):
    """Training that fails at any point after fitting (here: the written file does not load
    back) leaves the previous bundle untouched and no temporary file behind."""
    cities, ties = world
    model_path = _copy(trained[0], tmp_path)
    before = model_path.read_bytes()

    def broken(*args, **kwargs):
        raise ModelError("simulated failure while checking the written model")

    monkeypatch.setattr(T, "model_from_bundle", broken)
    with pytest.raises(ModelError, match="simulated failure"):
        T.train(cities, ties, out_dir=model_path.parent, model="hgb", estimator_params=FAST)
    assert model_path.read_bytes() == before
    assert sorted(p.name for p in model_path.parent.iterdir()) == sorted(
        [T.MODEL_FILE, T.MANIFEST_COPY]
    )
    monkeypatch.undo()
    assert F.load_model(model_path).manifest["arrays_sha256"] == trained[1]["arrays_sha256"]


def test_a_train_into_a_file_is_refused(world, tmp_path):
    cities, ties = world
    target = tmp_path / "afile"
    target.write_text("x")
    with pytest.raises(ModelError, match="afile: it is not a folder"):
        T.train(cities, ties, out_dir=target, model="hgb", estimator_params=FAST)


def test_models_dir_is_the_checkout_folder(monkeypatch, tmp_path):
    from pathlib import Path

    monkeypatch.delenv("SISTERCITY_MODEL_DIR", raising=False)
    assert F.models_dir() == Path(F.__file__).resolve().parents[2] / "models"
    monkeypatch.setenv("SISTERCITY_MODEL_DIR", str(tmp_path))
    assert F.models_dir() == tmp_path


def test_train_refuses_bad_parameters(world, tmp_path):
    cities, ties = world
    with pytest.raises(ModelError, match="Unknown model 'forest'"):
        T.train(cities, ties, out_dir=tmp_path, model="forest")
    with pytest.raises(ModelError, match="neg_ratio must be an integer >= 1; got 0"):
        T.train(cities, ties, out_dir=tmp_path, neg_ratio=0)
    assert not (tmp_path / T.MODEL_FILE).exists()


# --------------------------------------------------------------------------- recommend


def test_recommend_with_feasibility_adds_columns_and_ranks_by_combined(world, model):
    # "complementary": in this world the local city (2.5 million people) is larger than
    # nearly every random city, so small-big's couplings gate (SB pairs only) leaves 6
    # candidates; this scenario leaves hundreds, enough for 15 rows
    cities, ties = world
    scen = "complementary"
    plain = recommend(1, scen, cities=cities, ties=ties, top=15)
    df = recommend(1, scen, cities=cities, ties=ties, top=15, feasibility=model, diversity=1.0)
    assert list(plain.columns) == output_columns()
    assert list(df.columns) == output_columns() + FEASIBILITY_COLUMNS
    b, g = df.attrs["feasibility"]["blend"], df.attrs["feasibility"]["feasibility_power"]
    assert b == DEFAULT_BLEND and g == DEFAULT_FEASIBILITY_POWER
    assert np.allclose(df["combined"], (1 - b) * df["score"] + b * df["feasibility"] ** g)
    # no diversity: ranked by combined
    assert (np.diff(df["combined"].to_numpy()) <= 1e-12).all()
    assert df["rank"].tolist() == list(range(1, 16))
    assert ((df["feasibility"] >= 0) & (df["feasibility"] <= 1)).all()
    # a soft diversity: ranked by combined x decay ** (earlier picks of the country)
    soft = recommend(1, scen, cities=cities, ties=ties, top=15, feasibility=model, diversity=0.5)
    assert soft["rank"].tolist() == list(range(1, 16))
    decay = soft.attrs["filters"]["diversity"]
    before = soft.groupby("country_code").cumcount().to_numpy()
    adjusted = soft["combined"].to_numpy() * decay**before
    assert (np.diff(adjusted) <= 1e-12).all()
    assert soft["country_code"].nunique() > df["country_code"].nunique()
    # score and contributions stay the pure strategy fit
    contrib = [c for c in df.columns if c.endswith("_contribution")]
    assert np.allclose(df[contrib].sum(axis=1), df["score"])
    both = plain.merge(df, on="city_id", suffixes=("", "_f"))
    assert len(both) > 0
    for c in ["score", *contrib]:
        assert np.allclose(both[c], both[c + "_f"])
    first = df.iloc[0]
    assert first["why_feasibility"].startswith(
        f"Combined {first['combined']:.2f} = {1 - b:.2f} × fit"
    )
    assert "from strategy fit" in first["why_feasibility"]


def test_recommend_without_feasibility_is_unchanged(world):
    cities, ties = world
    a = recommend(1, cities=cities, ties=ties, top=12)
    for off in (None, False):
        b = recommend(1, cities=cities, ties=ties, top=12, feasibility=off)
        pd.testing.assert_frame_equal(a, b)
        assert "feasibility" not in b.attrs


@pytest.mark.parametrize("power", [1.0, 0.5, 0.25])
def test_pruned_feasibility_gives_the_exact_shortlist(tie_world, model, power, monkeypatch):
    """Only candidates that can still make the list are scored; the result equals the
    shortlist over every eligible candidate scored (soft diversity and cap included), for
    the probability blended as it is and raised to a power."""
    from recommender.engine import options as O
    from recommender.engine.shortlist import build_pool

    monkeypatch.setattr(O, "DEFAULT_FEASIBILITY_POWER", power)
    # a world large enough that the pruning stops early (the module's world is scored whole)
    cities, ties = tie_world(4000, 3000, 1)
    pruned = 0
    # a small blend lets the bound (1 - blend) * score + blend fall below the shortlist's
    # last adjusted score early; without robustness draws the chunks are smaller
    for scenario, blend, top, cap, decay, draws in [
        ("complementary", 0.3, 10, None, 0.5, 100),
        ("complementary", 0.05, 10, 2, 0.5, 0),
        ("complementary", 0.1, 25, 3, 0.8, 0),
        ("complementary", 0.05, 8, 1, 1.0, 100),
        ("complementary", 0.1, 12, None, 0.0, 0),
        ("complementary", 1.0, 10, None, 0.5, 0),
        ("small-big", 0.3, 10, None, 0.5, 100),
    ]:
        df = recommend(
            1, scenario, cities=cities, ties=ties, feasibility=model, blend=blend, top=top,
            max_per_country=cap, diversity=decay, robustness=draws,
        )  # fmt: skip
        pool = build_pool(1, scenario, cities=cities, ties=ties, top=top, max_per_country=cap)
        elig = np.flatnonzero(pool.result.eligible)
        p = model.score_candidates(pool.local, cities, ties, pool.positions[elig])
        key = np.full(len(pool.score), -np.inf)
        key[elig] = (1 - blend) * pool.score[elig] + blend * p**power
        fine, pop = tiebreak_keys(cities)
        rows = pool.positions[elig]
        comb = np.round(key[elig], 12)
        order = elig[np.lexsort((pool.city_id[elig], -pop[rows], -fine[rows], -comb))]
        want = greedy_diversity_naive(order, pool.country, key, top, decay, cap)
        assert df["city_id"].tolist() == pool.city_id[want].tolist(), scenario
        assert np.allclose(df["feasibility"], p[np.searchsorted(elig, want)])
        assert df.attrs["feasibility"]["feasibility_power"] == power
        # contributions add up: fit part + feasibility part = combined, exactly
        fit_part = (1 - blend) * df["score"].to_numpy()
        feas_part = blend * df["feasibility"].to_numpy() ** power
        assert np.abs(fit_part + feas_part - df["combined"].to_numpy()).max() <= 1e-12
        n_scored = df.attrs["feasibility"]["n_scored"]
        assert n_scored <= len(elig)
        pruned += n_scored < len(elig)
    assert pruned >= 3  # the test exercises the pruning, not only the whole pool


def test_feasibility_and_blend_options_are_validated(world, model):
    cities, ties = world
    with pytest.raises(FilterError, match="feasibility must be True, False, None or a Feasib"):
        recommend(1, cities=cities, ties=ties, feasibility="yes")
    for bad in (-0.1, 1.5, "half", True):
        with pytest.raises(FilterError, match="blend must be a number in \\[0, 1\\]"):
            recommend(1, cities=cities, ties=ties, feasibility=model, blend=bad)


def test_blend_zero_keeps_the_strategy_order_on_distinct_scores(world, model):
    cities, ties = world
    df = recommend(1, cities=cities, ties=ties, feasibility=model, blend=0.0, top=10)
    assert np.allclose(df["combined"], df["score"])


def test_why_feasibility_text():
    assert why_feasibility(0.5, 0.5, 0.5) == (
        "Combined 0.50 = 0.50 × fit 0.50 + 0.50 × feasibility 0.50 "
        "(50% from strategy fit, 50% from feasibility)"
    )
    assert why_feasibility(0.0, 0.0, 0.3).endswith("(neither part contributes)")
    # a power other than 1 says what is blended: the probability raised to it
    assert why_feasibility(0.8, 0.0625, 0.7, 0.25) == (
        "Combined 0.59 = 0.30 × fit 0.80 + 0.70 × 0.50 (feasibility 0.06 to the power 0.25) "
        "(41% from strategy fit, 59% from feasibility)"
    )


def test_feasibility_term_is_monotone_and_keeps_zero_nan_and_one():
    from recommender.engine.options import combined_score, feasibility_term

    p = np.array([0.0, 1e-6, 1e-3, 0.2, 0.5, 1.0, np.nan])
    for g in (1.0, 0.5, 0.25):
        t = feasibility_term(p, g)
        assert t[0] == 0.0 and t[5] == 1.0 and np.isnan(t[6])
        assert (np.diff(t[:6]) > 0).all()
        assert np.allclose(combined_score(0.4, p[:6], 0.7, g), 0.3 * 0.4 + 0.7 * p[:6] ** g)
    # a smaller power spreads out the small probabilities of the long tail
    assert feasibility_term(1e-3, 0.25) - feasibility_term(1e-6, 0.25) > 0.1


# --------------------------------------------------------------------------- packaged model


@pytest.mark.slow
def test_packaged_model_is_verified_and_matches_the_packaged_data():
    from recommender.data.tables import data_dir

    model = F.load_model()
    manifest = model.manifest
    import hashlib

    for name in ("cities.csv.gz", "ties.csv.gz"):
        digest = hashlib.sha256((data_dir() / name).read_bytes()).hexdigest()
        assert manifest["training_data"][name]["sha256"] == digest
    assert (F.models_dir() / T.MODEL_FILE).stat().st_size < 1_000_000
    from recommender.data.tables import load_cities, load_ties

    cities, ties = load_cities(), load_ties()
    assert T.prediction_fingerprint(model, cities, ties) == manifest["probe_fingerprint"]


@pytest.mark.slow
def test_packaged_recommend_with_feasibility():
    from recommender.data.tables import load_cities, load_ties

    cities, ties = load_cities(), load_ties()
    df = recommend("Medan", cities=cities, ties=ties, feasibility=True)
    assert list(df.columns) == output_columns() + FEASIBILITY_COLUMNS
    assert df["feasibility"].notna().all()
    assert df.attrs["feasibility"]["model_sha256"] == F.load_model().manifest["arrays_sha256"]
    # latency is measured by scripts/benchmark.py (recommend_feasibility), not asserted here
