"""The shipped feasibility model without scikit-learn: the numpy evaluators equal
scikit-learn, the bundle is one verified file that cannot run code, and the scoring path
does not import scikit-learn."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from recommender.engine import feasibility as E
from recommender.engine.pair_features import FEATURE_NAMES, pair_features
from recommender.engine.trees import TreeEnsemble
from recommender.errors import ModelError
from recommender.learn import feasibility as F

PARAMS = {"max_iter": 40}  # enough trees for deep, varied splits; fast enough for a test


@pytest.fixture(scope="module")
def world(tie_world):
    return tie_world(600, 900, 0)


@pytest.fixture(scope="module")
def fitted(world):
    """(scikit-learn estimator, exported numpy model) for hgb and logreg."""
    cities, ties = world
    out = {}
    for kind in ("hgb", "logreg"):
        est, metrics, manifest = F.fit_estimator(
            cities, ties, model=kind, validate=False, estimator_params=PARAMS
        )
        out[kind] = (est, F.export_estimator(est, kind, manifest))
    return out


def _probe_matrix(world, n: int = 4000) -> np.ndarray:
    """Feature rows of random pairs, ties, and rows with missing and extreme values."""
    cities, ties = world
    rng = np.random.default_rng(7)
    ids = cities["city_id"].to_numpy()
    a, b = rng.choice(ids, n), rng.choice(ids, n)
    keep = a != b
    X = pair_features(cities, ties, a[keep], b[keep], as_frame=False)
    T = pair_features(cities, ties, ties["city_a_id"], ties["city_b_id"], as_frame=False)
    odd = X[:500].copy()
    odd[rng.random(odd.shape) < 0.3] = np.nan  # missing values go where each node says
    big = X[500:700].copy()
    big[rng.random(big.shape) < 0.2] = 1e12
    big[rng.random(big.shape) < 0.2] = -1e12
    return np.vstack([X, T, odd, big])


@pytest.mark.parametrize("kind", ["hgb", "logreg"])
def test_numpy_model_equals_sklearn_predict_proba(world, fitted, kind):
    est, model = fitted[kind]
    X = _probe_matrix(world)
    assert len(X) > 4000
    want = est.predict_proba(X)[:, 1]
    got = model.predict_matrix(X)
    assert np.max(np.abs(got - want)) < 1e-9
    # the scores really vary: the comparison is not between two constants
    assert np.std(want) > 0.01
    # row order and layout do not matter
    perm = np.random.default_rng(1).permutation(len(X))
    assert np.max(np.abs(model.predict_matrix(np.asfortranarray(X[perm])) - want[perm])) < 1e-9


def test_trees_equal_sklearn_decision_function(world, fitted):
    est, model = fitted["hgb"]
    X = _probe_matrix(world)
    inner = est.calibrated_classifiers_[0].estimator
    assert np.max(np.abs(model.predict_raw(X) - inner.decision_function(X))) < 1e-9
    assert model.evaluator.n_trees == inner.n_iter_


@pytest.mark.parametrize(("leaves", "dtype"), [(15, "uint16"), (31, "uint32"), (50, "uint64")])
def test_uncalibrated_trees_of_every_width_equal_sklearn(world, leaves, dtype):
    """Trees of up to 16, 32 and 64 leaves use masks of 16, 32 and 64 bits."""
    cities, ties = world
    est, metrics, manifest = F.fit_estimator(
        cities,
        ties,
        model="hgb",
        validate=False,
        calibrate=False,
        estimator_params={"max_iter": 15, "max_leaf_nodes": leaves, "min_samples_leaf": 5},
    )
    model = F.export_estimator(est, "hgb", manifest)
    assert model.evaluator._mask_dtype == np.dtype(dtype)
    assert model.evaluator.max_leaves > leaves // 2
    X = _probe_matrix(world, 2000)
    assert np.max(np.abs(model.predict_matrix(X) - est.predict_proba(X)[:, 1])) < 1e-9


def test_invalid_tree_arrays_are_refused(fitted):
    arrays = fitted["hgb"][1].to_arrays()
    bad = dict(arrays, node_left=arrays["node_left"].copy())
    inner = np.flatnonzero(arrays["node_is_leaf"] == 0)
    bad["node_left"][inner[0]] = 0  # a child pointing back at the root: a loop
    with pytest.raises(ModelError, match="a child does not come after its parent"):
        TreeEnsemble(bad, len(FEATURE_NAMES))
    bad = dict(arrays, node_feature=arrays["node_feature"].copy())
    bad["node_feature"][inner[0]] = len(FEATURE_NAMES)
    with pytest.raises(ModelError, match="split feature is out of range"):
        TreeEnsemble(bad, len(FEATURE_NAMES))
    with pytest.raises(ModelError, match="tree arrays missing: baseline"):
        TreeEnsemble({k: v for k, v in arrays.items() if k != "baseline"}, len(FEATURE_NAMES))


# --------------------------------------------------------------------------- the bundle


@pytest.fixture(scope="module")
def bundle(fitted, tmp_path_factory):
    model = fitted["hgb"][1]
    path = tmp_path_factory.mktemp("bundle") / E.MODEL_FILE
    path.write_bytes(E.bundle_bytes(model.to_arrays(), model.manifest))
    return path


def test_bundle_round_trip_and_plain_numpy_load(world, fitted, bundle):
    model = fitted["hgb"][1]
    loaded = E.load_model(bundle)
    X = _probe_matrix(world, 500)
    assert np.array_equal(loaded.predict_matrix(X), model.predict_matrix(X))
    assert loaded.manifest["format"] == E.FORMAT
    assert loaded.manifest["features"] == list(FEATURE_NAMES)
    # a plain npz: numpy opens it without pickles
    with np.load(bundle, allow_pickle=False) as npz:
        assert np.array_equal(npz["node_value"], model.to_arrays()["node_value"])
    # the same model gives the same bytes
    assert E.bundle_bytes(model.to_arrays(), model.manifest) == bundle.read_bytes()


def test_a_flipped_byte_anywhere_is_refused_with_one_line(bundle, tmp_path):
    data = bundle.read_bytes()
    rng = np.random.default_rng(0)
    # the manifest, array headers and data, the zip directory, the checksum itself
    positions = sorted({0, 40, len(data) // 2, len(data) - 80, len(data) - 1})
    positions += rng.integers(0, len(data), 40).tolist()
    for k, pos in enumerate(positions):
        copy = tmp_path / f"copy{k}.npz"
        flipped = bytearray(data)
        flipped[pos] ^= 0x01
        copy.write_bytes(bytes(flipped))
        with pytest.raises(ModelError) as info:
            E.load_model(copy)
        msg = str(info.value)
        assert f"copy{k}.npz" in msg and "\n" not in msg, (pos, msg)
        assert "checksum" in msg or "not a sistercity feasibility model" in msg, (pos, msg)


def test_damaged_or_foreign_files_are_refused_by_name(bundle, tmp_path):
    cases = {
        "empty.npz": b"",
        "text.npz": b"hello, this is not a model\n",
        "truncated.npz": bundle.read_bytes()[:1000],
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelError, match=rf"{name} is not a sistercity feasibility model"):
            E.load_model(tmp_path / name)
    with pytest.raises(ModelError, match=r"No feasibility model at .*nothing.npz; train one"):
        E.load_model(tmp_path / "nothing.npz")


def _members(bundle) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _with_checksum(members: dict[str, bytes]) -> bytes:
    """A zip of ``members`` with a *valid* checksum: what a deliberate edit (not damage)
    looks like; the checks after the checksum must catch it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        zf.comment = E.CHECKSUM_PREFIX + b"0" * 64
    body = buf.getvalue()[: -E.CHECKSUM_BYTES]
    return body + E.CHECKSUM_PREFIX + hashlib.sha256(body).hexdigest().encode()


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, array, allow_pickle=allow_pickle)
    return out.getvalue()


def _rebundle(bundle, tmp_path, name, edit_manifest=None):
    arrays, manifest = E.read_bundle(bundle)
    if edit_manifest:
        edit_manifest(manifest)
    path = tmp_path / name
    path.write_bytes(E.bundle_bytes(arrays, manifest))
    return path


def test_a_pickle_inside_the_bundle_is_never_unpickled(bundle, tmp_path):
    """An object array (a pickle in .npy) behind a valid checksum: refused by
    allow_pickle=False, naming the file, before anything could run."""
    members = _members(bundle)
    members["evil.npy"] = _npy(np.array([{"x": 1}], dtype=object), allow_pickle=True)
    path = tmp_path / "evil.npz"
    path.write_bytes(_with_checksum(members))
    with pytest.raises(ModelError, match=r"evil.npz is not a readable feasibility model .*pickle"):
        E.load_model(path)


def test_arrays_changed_behind_the_manifest_are_refused(bundle, tmp_path):
    members = _members(bundle)
    values = np.lib.format.read_array(io.BytesIO(members["node_value.npy"]))
    members["node_value.npy"] = _npy(values + 1.0)
    path = tmp_path / "edited.npz"
    path.write_bytes(_with_checksum(members))
    with pytest.raises(ModelError, match=r"edited.npz: its arrays do not match the SHA-256"):
        E.load_model(path)


def test_another_feature_version_or_kind_is_refused(bundle, tmp_path):
    def v0(m):
        m["feature_version"] = 0

    path = _rebundle(bundle, tmp_path, "v0.npz", edit_manifest=v0)
    with pytest.raises(ModelError, match=r"v0.npz was built for feature set v0"):
        E.load_model(path)

    def other_kind(m):
        m["kind"] = "forest"

    path = _rebundle(bundle, tmp_path, "kind.npz", edit_manifest=other_kind)
    with pytest.raises(ModelError, match=r"kind.npz holds a model of unknown kind 'forest'"):
        E.load_model(path)


# --------------------------------------------------------------------------- no scikit-learn


def test_the_scoring_path_does_not_import_sklearn():
    code = (
        "import sys\n"
        "from recommender.engine.feasibility import feasibility_for_pool, load_model\n"
        "from recommender.engine import shortlist\n"
        "from recommender.data.access import get_cities\n"
        "import numpy as np\n"
        "cities = get_cities(None)\n"
        "medan = cities[cities['name'] == 'Medan'].iloc[0]\n"
        "p = feasibility_for_pool(medan, np.arange(500))\n"
        "df = shortlist.recommend('Medan', feasibility=True)\n"
        "assert len(p) == 500 and df['feasibility'].notna().all()\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy', 'joblib'))\n"
        "print('heavy:', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "heavy: []"


def test_feasibility_for_pool_equals_score_candidates(world, fitted):
    cities, ties = world
    model = fitted["hgb"][1]
    local = cities.iloc[3]
    pos = np.arange(len(cities))
    p = E.feasibility_for_pool(local, pos, cities=cities, ties=ties, model=model)
    assert p.shape == (len(cities),) and ((p >= 0) & (p <= 1)).all()
    X = pair_features(
        cities, ties, np.full(len(pos), local["city_id"]), cities["city_id"], cold=True,
        as_frame=False,
    )  # fmt: skip
    est = fitted["hgb"][0]
    assert np.max(np.abs(p - est.predict_proba(X)[:, 1])) < 1e-9


def test_scoring_in_chunks_changes_no_bit(world, fitted, monkeypatch):
    """score_candidates scores the pool in chunks of rows: any chunk size gives the same
    numbers, bit for bit, in the positions' order (repeats and the local city included)."""
    cities, ties = world
    model = fitted["hgb"][1]
    local = cities.iloc[11]
    pos = np.r_[np.arange(len(cities))[::-1], 4, 4, 11]
    want = model.score_candidates(local, cities, ties, pos)
    for chunk in (1, 7, 100):
        monkeypatch.setattr(E, "_CHUNK", chunk)
        assert np.array_equal(model.score_candidates(local, cities, ties, pos), want)
    assert np.array_equal(want[-3:-1], [want[len(cities) - 1 - 4]] * 2)


def test_one_city_against_many_gives_the_same_features_as_pairs(world):
    """The one-against-many path (per-country and per-region tables) equals the pair by
    pair computation, warm and cold, for cities in the table and a what-if city outside
    it (no position, no region)."""
    from recommender.engine.pair_features import (
        features_matrix,
        gather,
        orientation_swapped,
        row_block,
    )
    from recommender.engine.tie_context import city_arrays, tie_context

    cities, ties = world
    A, ctx = city_arrays(cities), tie_context(cities, ties)
    V = gather(A, np.arange(len(cities)))
    outsider = cities.iloc[5].copy()
    outsider["city_id"], outsider["admin1_code"] = 987_654_321, ""
    for local in [cities.iloc[k] for k in (0, 17, 333)] + [outsider]:
        U = row_block(A, local)
        for cold in (False, True):
            one = features_matrix(ctx, U, V, cold=cold)
            many = features_matrix(ctx, np.repeat(U, len(V), axis=0), V, cold=np.full(len(V), cold))
            assert np.array_equal(one, many, equal_nan=True)
            # rows of one orientation only (how score_candidates calls it): the columns are
            # written straight to their turned places, with the same values
            swap = orientation_swapped(U, V)
            assert swap.any() and not swap.all()
            for rows in (np.flatnonzero(swap), np.flatnonzero(~swap)):
                part = features_matrix(ctx, U, V[rows], cold=cold)
                assert np.array_equal(part, one[rows], equal_nan=True)


def test_log1p_of_counts_is_looked_up_with_the_same_values(world):
    """The count columns' log1p comes from the context's table of log1p(0, 1, 2...):
    bit for bit what numpy.log1p gives (a table of one entry makes it compute them)."""
    import dataclasses

    from recommender.engine.pair_features import features_matrix, gather
    from recommender.engine.tie_context import city_arrays, tie_context

    cities, ties = world
    A, ctx = city_arrays(cities), tie_context(cities, ties)
    assert len(ctx.log1p_counts) > 100
    rng = np.random.default_rng(3)
    U, V = (
        gather(A, rng.integers(0, len(cities), 3000)),
        gather(A, rng.integers(0, len(cities), 3000)),
    )
    plain = dataclasses.replace(ctx, log1p_counts=np.zeros(1))
    for cold in (False, True):
        looked_up = features_matrix(ctx, U, V, cold=cold)
        computed = features_matrix(plain, U, V, cold=cold)
        assert np.array_equal(looked_up, computed, equal_nan=True)
        assert np.nanmax(looked_up) > 1.0  # counts of several ties are there
