"""The bit-vector tree evaluator (engine.trees.TreeEnsemble) against a plain node-by-node
walk on random ensembles: every mask width, odd and even numbers of trees, missing values,
thresholds shared between trees, splits on missing values only (+inf), columns with one
value (looked up once), and any block size or grouping of the features' tables."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.engine import trees
from recommender.engine.trees import TreeEnsemble


def _random_tree(rng, n_leaves: int, n_features: int, grid: np.ndarray) -> dict:
    """A random binary tree with ``n_leaves`` leaves, nodes numbered root first (pre-order)."""
    children: dict[int, tuple[int, int]] = {}
    leaves, n_nodes = [0], 1
    while len(leaves) < n_leaves:
        node = leaves.pop(int(rng.integers(len(leaves))))
        children[node] = (n_nodes, n_nodes + 1)
        leaves += [n_nodes, n_nodes + 1]
        n_nodes += 2
    order, stack = [], [0]
    while stack:
        node = stack.pop()
        order.append(node)
        if node in children:
            stack += [children[node][1], children[node][0]]
    new = {old: k for k, old in enumerate(order)}
    size = len(order)
    tree = {
        "feature": np.zeros(size, np.int64),
        "threshold": np.zeros(size),
        "missing_left": rng.integers(0, 2, size).astype(np.uint8),
        "left": np.zeros(size, np.int64),
        "right": np.zeros(size, np.int64),
        "is_leaf": np.ones(size, np.uint8),
        "value": rng.normal(size=size),
    }
    for old, (lt, rt) in children.items():
        k = new[old]
        tree["is_leaf"][k] = 0
        tree["left"][k], tree["right"][k] = new[lt], new[rt]
        tree["feature"][k] = rng.integers(n_features)
        # thresholds from a small grid: trees share them, and +inf splits on NaN only
        tree["threshold"][k] = grid[rng.integers(len(grid))]
    return tree


def random_ensemble(seed: int, n_trees: int, max_leaves: int, n_features: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    grid = np.append(np.round(rng.normal(size=12), 1), np.inf)
    tree_list = [
        _random_tree(rng, int(rng.integers(1, max_leaves + 1)), n_features, grid)
        for _ in range(n_trees)
    ]
    sizes = [len(t["feature"]) for t in tree_list]
    arrays = {
        "tree_offsets": np.concatenate([[0], np.cumsum(sizes)]),
        "baseline": np.array([rng.normal()]),
    }
    for key in ("feature", "threshold", "missing_left", "left", "right", "is_leaf", "value"):
        arrays[f"node_{key}"] = np.concatenate([t[key] for t in tree_list])
    return arrays


def walk(arrays: dict, X: np.ndarray) -> np.ndarray:
    """The straightforward evaluation: each row goes down each tree node by node."""
    off = arrays["tree_offsets"]
    out = np.full(len(X), float(arrays["baseline"][0]))
    for r, x in enumerate(X):
        for t in range(len(off) - 1):
            base, node = int(off[t]), 0
            while not arrays["node_is_leaf"][base + node]:
                v = x[arrays["node_feature"][base + node]]
                if np.isnan(v):
                    go_left = bool(arrays["node_missing_left"][base + node])
                else:
                    go_left = v <= arrays["node_threshold"][base + node]
                node = int(arrays["node_left" if go_left else "node_right"][base + node])
            out[r] += arrays["node_value"][base + node]
    return out


def probe(seed: int, n: int, n_features: int = 7) -> np.ndarray:
    """Random rows: values on and around the thresholds' grid, NaN, +-inf, and one
    column with the same value in every row."""
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, n_features)), 1)
    X[rng.random(X.shape) < 0.1] = np.nan
    X[rng.random(X.shape) < 0.03] = np.inf
    X[rng.random(X.shape) < 0.03] = -np.inf
    X[:, 2] = 0.3
    return X


@pytest.mark.parametrize(
    ("seed", "n_trees", "max_leaves", "dtype"),
    [
        (0, 3, 2, np.uint16),
        (1, 9, 16, np.uint16),
        (2, 40, 15, np.uint16),
        (3, 7, 32, np.uint32),
        (4, 6, 64, np.uint64),
    ],
)
def test_random_ensembles_equal_the_node_walk(seed, n_trees, max_leaves, dtype):
    arrays = random_ensemble(seed, n_trees, max_leaves)
    ens = TreeEnsemble(arrays, 7)
    assert ens._mask_dtype == dtype
    X = probe(seed, 700)
    want = walk(arrays, X)
    got = ens.raw(X)
    assert np.max(np.abs(got - want)) < 1e-12
    assert np.std(want) > 0.1  # the trees really split the rows
    # one row at a time (no column is then "fixed") gives the same numbers, bit for bit
    alone = np.array([ens.raw(X[k : k + 1])[0] for k in range(0, 700, 37)])
    assert np.array_equal(alone, got[::37])


def test_blocks_and_grouping_do_not_change_a_single_bit(monkeypatch):
    arrays = random_ensemble(5, 33, 16)
    X = probe(5, 2500)
    ens = TreeEnsemble(arrays, 7)
    want = ens.raw(X)
    assert np.max(np.abs(want - walk(arrays, X))) < 1e-12
    for block, rows in ((64, 1), (1000, 40), (4096, 10**6)):
        monkeypatch.setattr(trees, "_BLOCK", block)
        monkeypatch.setattr(trees, "_GROUP_ROWS", rows)
        assert np.array_equal(ens.raw(X), want)
        # a row's score does not depend on the rows scored with it
        assert np.array_equal(ens.raw(X[1234:1300]), want[1234:1300])


def test_all_columns_fixed_and_empty_input():
    arrays = random_ensemble(6, 10, 16)
    ens = TreeEnsemble(arrays, 7)
    X = np.repeat(probe(6, 1), 5, axis=0)
    assert np.array_equal(ens.raw(X), np.repeat(ens.raw(X[:1]), 5))
    assert np.max(np.abs(ens.raw(X) - walk(arrays, X))) < 1e-12
    assert ens.raw(np.empty((0, 7))).shape == (0,)


@pytest.mark.parametrize("seed", range(6))
def test_ranks_by_bucket_equal_searchsorted(seed):
    """Thresholds spread out, in pairs closer than a bucket, with +inf among them; values
    on them, one float away from them, far outside, infinite and missing."""
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.integers(-3, 4)
    spread = (np.cumsum(rng.uniform(1, 2, int(rng.integers(8, 60)))) - 20) * scale
    close = spread[:3] + np.abs(spread[:3]) * 1e-12  # a pair in one bucket
    th = np.unique(np.concatenate([spread, close, [np.inf] if seed % 2 else []]))
    buckets = trees._Buckets.build(th)
    assert buckets is not None and buckets.inside.shape[0] == 2
    search = np.append(th, np.inf)
    x = np.concatenate(
        [
            th,
            np.nextafter(th, -np.inf),
            np.nextafter(th, np.inf),
            rng.normal(size=2000) * 40 * scale,
            [np.nan, np.inf, -np.inf, 1e300, -1e300, 0.0, -0.0],
        ]
    )
    assert np.array_equal(buckets.ranks(x, len(search)), np.searchsorted(search, x, side="left"))


def test_thresholds_too_close_for_buckets_are_searched():
    th = np.append(np.linspace(-1.0, 1.0, 20), 0.5 + np.arange(1, 6) * 1e-13)
    assert trees._Buckets.build(np.unique(th)) is None
    assert trees._Buckets.build(np.arange(5.0)) is None  # few thresholds: a binary search
