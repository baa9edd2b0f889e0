"""Numpy evaluators of the shipped feasibility model: boosted trees and a linear model.

The model is trained with scikit-learn (:mod:`recommender.learn.feasibility`) and shipped as
plain arrays (:mod:`recommender.engine.feasibility`), so that scoring needs neither
scikit-learn nor unpickling. This module turns those arrays back into predictions, equal
to scikit-learn's ``predict_proba`` up to floating-point summation order (tested to 1e-9).

Trees
-----
A tree is stored as node arrays (scikit-learn's ``HistGradientBoostingClassifier`` layout,
numerical splits only): ``feature``, ``threshold``, ``missing_left``, ``left``, ``right``,
``is_leaf``, ``value``. A sample goes left when ``x <= threshold``, and a missing value (NaN)
goes left when ``missing_left``. The raw score is ``baseline + sum of the reached leaves``.

Walking 150 trees node by node for 40,000 candidates is slow in numpy (one gather per node
level per tree). The evaluator instead uses the bit-vector scheme of QuickScorer (Lucchese
et al., SIGIR 2015): number each tree's leaves from left to right; a node whose test sends
the sample right rules out every leaf of its left subtree, and the leaf the sample reaches
is the leftmost leaf that no such node rules out. Per feature, the sample's *rank* among
the ensemble's thresholds on that feature (``searchsorted``) says which nodes send it right,
and a precomputed table gives, per rank and per tree, the AND of those nodes' masks (all ones
for a tree that does not split on the feature). So a sample costs one table row (one
mask per tree) per feature, gathered and ANDed in blocks of samples that stay in the CPU
cache; features with few distinct ranks are combined into one table first (one gather for
several features). The exit leaves are read two trees at a time: the lowest set bit of
each 16-bit mask (a 64 KB table), and one sum of two leaf values per pair of trees.

Linear
------
scikit-learn's ``SimpleImputer(median, add_indicator) -> StandardScaler -> LogisticRegression``
pipeline as arrays: medians, which columns get a missing-value indicator, means, scales,
coefficients and intercept.

Both end in the sigmoid (Platt) calibration of ``CalibratedClassifierCV``:
``p = 1 / (1 + exp(a * raw + b))``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from recommender.errors import ModelError

_BLOCK = 1024
"""Samples per block: the (block x trees) mask array (300 KB for 150 trees of 16-bit masks)
stays in the L2 cache with the tables it is gathered from."""

_GROUP_ROWS = 4096
"""At most this many rows in a table that combines several features' tables (see
:meth:`TreeEnsemble.raw`): 1.2 MB for 150 trees of 16-bit masks."""

_BUCKETED = 8
"""Features with at least this many thresholds are ranked by bucket (see ``_Buckets``)."""

_COMBINED_BYTES = 32_000_000
"""Combined tables kept per ensemble for the next call (they depend on the model alone)."""

TREE_ARRAYS = (
    "tree_offsets",
    "node_feature",
    "node_threshold",
    "node_missing_left",
    "node_left",
    "node_right",
    "node_is_leaf",
    "node_value",
    "baseline",
)
LINEAR_ARRAYS = ("median", "indicator_features", "mean", "scale", "coef", "intercept")


def sigmoid_calibration(raw: np.ndarray, a: float, b: float) -> np.ndarray:
    """Platt scaling as scikit-learn's ``_SigmoidCalibration``: ``1 / (1 + exp(a raw + b))``.

    Examples
    --------
    >>> sigmoid_calibration(np.array([0.0, 2.0]), -1.0, 0.0).round(4).tolist()
    [0.5, 0.8808]
    """
    z = a * np.asarray(raw, dtype=float) + b
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(z))


@dataclass(frozen=True)
class _FeatureTable:
    feature: int
    search: np.ndarray  # sorted distinct thresholds and +inf: searchsorted gives the rank
    masks: np.ndarray  # (len(search) + 1, n_columns): rank -> per tree, the AND of the masks
    # of its nodes on this feature that send the value right (all ones: no such node)
    buckets: _Buckets | None = None  # ranks without a binary search (many thresholds)


@dataclass(frozen=True)
class _Buckets:
    """Ranks by bucket: ``g(x) = int(min(max((x - lo) * scale, 0), n - 1))`` is a
    non-decreasing function of ``x`` (each float operation is), so a threshold ``th``
    with ``g(th) < g(x)`` is below ``x`` and one with ``g(th) > g(x)`` is not: the rank
    of ``x`` (the number of thresholds below it) is ``below[g(x)]`` plus a comparison
    with each of the few thresholds in its own bucket, ``inside[:, g(x)]`` (padded with
    +inf). The same as ``searchsorted``, without its mispredicted branches."""

    lo: float
    scale: float
    n: int
    below: np.ndarray  # (n,) intp
    inside: np.ndarray  # (width, n) float

    @classmethod
    def build(cls, thresholds: np.ndarray) -> _Buckets | None:
        finite = thresholds[np.isfinite(thresholds)]
        if len(thresholds) < _BUCKETED or len(finite) < 2 or finite[0] == finite[-1]:
            return None
        lo, span = float(finite[0]), float(finite[-1]) - float(finite[0])
        for n in (1 << k for k in range(int(np.log2(len(thresholds))) + 2, 11)):
            scale = n / span
            if not np.isfinite(scale):
                return None
            probe = cls(lo, scale, n, np.empty(0, np.intp), np.empty((0, n)))
            g = probe.bucket(thresholds)
            width = int(np.bincount(g, minlength=n).max())
            if width <= 2:
                below = np.searchsorted(g, np.arange(n), side="left").astype(np.intp)
                inside = np.full((width, n), np.inf)
                for k, b in enumerate(g):
                    inside[k - below[b], b] = thresholds[k]
                return cls(lo, scale, n, below, inside)
        return None

    def bucket(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # a huge value: +-inf, the first or last bucket
            z = np.asarray(x, dtype=float) - self.lo
            z *= self.scale
        np.fmax(z, 0.0, out=z)  # NaN becomes 0 here; ranks() puts it last
        np.fmin(z, self.n - 1, out=z)
        return z.astype(np.intp)

    def ranks(self, x: np.ndarray, missing: int) -> np.ndarray:
        b = self.bucket(x)
        r = self.below.take(b)
        for row in self.inside:
            r += row.take(b) < x
        nan = np.isnan(x)
        if nan.any():
            r[nan] = missing
        return r


class TreeEnsemble:
    """A boosted tree ensemble evaluated with numpy (see the module docstring).

    Parameters
    ----------
    arrays : mapping of str to ndarray
        The arrays of :data:`TREE_ARRAYS`; ``tree_offsets`` (n_trees + 1) delimit each
        tree's nodes in the ``node_*`` arrays, whose ``left`` / ``right`` are indices within
        the tree, root first.
    n_features : int
        Width of the feature matrix.

    Raises
    ------
    ModelError
        The arrays do not describe valid trees (wrong shapes, dtypes, children that do not
        come after their parent, features out of range).

    Examples
    --------
    >>> one = TreeEnsemble(
    ...     {
    ...         "tree_offsets": np.array([0, 3]),
    ...         "node_feature": np.array([0, 0, 0]),
    ...         "node_threshold": np.array([1.5, 0.0, 0.0]),
    ...         "node_missing_left": np.array([0, 0, 0], dtype=np.uint8),
    ...         "node_left": np.array([1, 0, 0]),
    ...         "node_right": np.array([2, 0, 0]),
    ...         "node_is_leaf": np.array([0, 1, 1], dtype=np.uint8),
    ...         "node_value": np.array([0.0, -1.0, 1.0]),
    ...         "baseline": np.array([0.5]),
    ...     },
    ...     n_features=1,
    ... )
    >>> one.raw(np.array([[1.0], [2.0], [np.nan]])).tolist()
    [-0.5, 1.5, 1.5]
    """

    def __init__(self, arrays: Mapping[str, np.ndarray], n_features: int):
        a = {k: np.asarray(arrays[k]) for k in TREE_ARRAYS if k in arrays}
        missing = [k for k in TREE_ARRAYS if k not in a]
        if missing:
            raise ModelError(f"tree arrays missing: {', '.join(missing)}")
        off = a["tree_offsets"].astype(np.int64)
        n_nodes = len(a["node_feature"])
        if off.ndim != 1 or len(off) < 2 or off[0] != 0 or off[-1] != n_nodes:
            raise ModelError("tree_offsets do not delimit the node arrays")
        if np.any(np.diff(off) < 1):
            raise ModelError("a tree has no node")
        for k in TREE_ARRAYS[1:-1]:
            if a[k].shape != (n_nodes,):
                raise ModelError(f"{k} has shape {a[k].shape}, expected ({n_nodes},)")
        if a["baseline"].shape != (1,) or not np.isfinite(a["baseline"]).all():
            raise ModelError("baseline must be one finite number")
        self.n_features = int(n_features)
        self.n_trees = len(off) - 1
        self.baseline = float(a["baseline"][0])
        feature = a["node_feature"].astype(np.int64)
        threshold = a["node_threshold"].astype(float)
        miss_left = a["node_missing_left"].astype(bool)
        left = a["node_left"].astype(np.int64)
        right = a["node_right"].astype(np.int64)
        leaf = a["node_is_leaf"].astype(bool)
        value = a["node_value"].astype(float)
        if not np.isfinite(value[leaf]).all():
            raise ModelError("a leaf value is not finite")
        self._arrays = {
            "tree_offsets": off,
            "node_feature": feature,
            "node_threshold": threshold,
            "node_missing_left": miss_left.astype(np.uint8),
            "node_left": left,
            "node_right": right,
            "node_is_leaf": leaf.astype(np.uint8),
            "node_value": value,
            "baseline": np.array([self.baseline]),
        }
        # per tree: leaves left to right, each internal node's mask of leaves it rules out
        leaf_values: list[list[float]] = []
        node_mask = np.zeros(n_nodes, dtype=np.uint64)
        for t in range(self.n_trees):
            lo, hi = int(off[t]), int(off[t + 1])
            size = hi - lo
            f, lt, rt = feature[lo:hi], left[lo:hi], right[lo:hi]
            lf = leaf[lo:hi]
            inner = ~lf
            if np.any(inner & ((lt <= np.arange(size)) | (rt <= np.arange(size)))) or np.any(
                inner & ((lt >= size) | (rt >= size))
            ):
                raise ModelError(f"tree {t}: a child does not come after its parent")
            if np.any(inner & ((f < 0) | (f >= self.n_features))):
                raise ModelError(f"tree {t}: a split feature is out of range")
            # +inf is a split on missing values only (every number goes left)
            if np.any(inner & (np.isnan(threshold[lo:hi]) | (threshold[lo:hi] == -np.inf))):
                raise ModelError(f"tree {t}: a split threshold is NaN or -inf")
            order = _leaves_in_order(lt, rt, lf)
            if len(order) > 64:
                raise ModelError(f"tree {t} has {len(order)} leaves; at most 64 are supported")
            bit = {node: k for k, node in enumerate(order)}
            under = _leaf_sets(lt, rt, lf, bit)
            full = (1 << len(order)) - 1
            for i in np.flatnonzero(inner):
                node_mask[lo + i] = full & ~under[int(lt[i])]
            leaf_values.append([float(value[lo + node]) for node in order])
        self.max_leaves = max(len(v) for v in leaf_values)
        width = next(w for w in (16, 32, 64) if self.max_leaves <= w)
        dtype = {16: np.uint16, 32: np.uint32, 64: np.uint64}[width]
        self._mask_dtype = dtype
        # masks of 16 bits: the trees' leaves are read two trees at a time (see _leaf_sums),
        # so an odd number of trees gets one all-ones column that reaches a leaf worth 0
        self._paired = width == 16
        n_cols = self.n_trees + (self.n_trees % 2 if self._paired else 0)
        self._n_cols = n_cols
        leaf_value = np.zeros((n_cols, width))
        for t, vals in enumerate(leaf_values):
            leaf_value[t, : len(vals)] = vals
        tree_of = np.repeat(np.arange(self.n_trees), np.diff(off))
        inner_idx = np.flatnonzero(~leaf)
        self._tables = []
        for f in np.unique(feature[inner_idx]):
            nodes = inner_idx[feature[inner_idx] == f]
            th = np.unique(threshold[nodes])
            masks = np.full((len(th) + 2, n_cols), full_mask(dtype), dtype=dtype)
            for k, node in zip(np.searchsorted(th, threshold[nodes]), nodes):
                t, m = tree_of[node], dtype(node_mask[node])
                # rank r = number of thresholds below x; x > th[k] exactly when r > k
                masks[k + 1 : len(th) + 1, t] &= m
                if not miss_left[node]:
                    masks[len(th) + 1, t] &= m  # rank len(th) + 1: missing value
            self._tables.append(
                _FeatureTable(int(f), np.append(th, np.inf), masks, _Buckets.build(th))
            )
        if self._paired:
            # columns k and k + h make pair k: its leaves (l0, l1) are entry l0 + 16 l1 of
            # the pair's 256 sums of two leaf values
            h = n_cols // 2
            pair = leaf_value[:h, None, :] + leaf_value[h:, :, None]
            self._pair_value = pair.reshape(-1)
            self._pair_offset = (np.arange(h) * 256).astype(np.min_scalar_type(h * 256))
            low = np.zeros(1 << 16, dtype=np.uint8)
            v = np.arange(1, 1 << 16)
            low[1:] = np.log2(v & -v).astype(np.uint8)
            self._lowest_bit = low
            self._lowest_bit16 = low << np.uint8(4)
        else:
            self._leaf_value_flat = leaf_value.reshape(-1)
            self._leaf_offset = np.arange(n_cols) * width
        self._combined: dict[tuple[int, ...], np.ndarray] = {}
        self._combined_bytes = 0

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays this ensemble was built from (normalised dtypes), for saving."""
        return {k: v.copy() for k, v in self._arrays.items()}

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Raw scores (scikit-learn's ``decision_function``) of the rows of ``X``.

        Per feature, the rows' ranks select rows of its mask table; a feature with one
        value in every row (the local city's side of one-city-against-the-pool rows) is
        looked up once. Features with few ranks are combined first: the AND of two tables
        over all pairs of ranks is a table indexed by ``rank_a * n_b + rank_b``, so one
        gather serves several features (up to :data:`_GROUP_ROWS` rows a table).
        """
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ModelError(f"feature matrix has shape {X.shape}; expected (n, {self.n_features})")
        n = len(X)
        out = np.empty(n)
        if n == 0:
            return out
        cols = np.ascontiguousarray(X.T) if n > 1 else X.T
        fixed = np.full(self._n_cols, full_mask(self._mask_dtype), dtype=self._mask_dtype)
        varying = []
        for k, tab in enumerate(self._tables):
            x = cols[tab.feature]
            first = x[:1]
            if n > 1 and (np.all(x == first) or np.all(np.isnan(x))):
                fixed &= tab.masks[self._ranks(tab, first)[0]]
            else:
                varying.append((k, self._ranks(tab, x)))
        groups = self._combine(varying, min(_GROUP_ROWS, n))
        if not groups:
            groups = [(fixed[None, :], np.zeros(n, np.intp))]
        first_table, first_code = groups[0]
        first_table = first_table & fixed
        buf = np.empty((min(n, _BLOCK), self._n_cols), dtype=self._mask_dtype)
        for s in range(0, n, _BLOCK):
            e = min(n, s + _BLOCK)
            M = first_table.take(first_code[s:e], axis=0)
            for table, code in groups[1:]:
                # ranks and codes are in range by construction: mode="clip" is not used to
                # clip, it lets numpy write into ``out`` without an extra buffer
                table.take(code[s:e], axis=0, out=buf[: e - s], mode="clip")
                M &= buf[: e - s]
            out[s:e] = self._leaf_sums(M)
        out += self.baseline
        return out

    def _combine(self, varying: list, limit: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Group the varying features ``(table index, ranks)`` into ``(table, code)`` pairs
        with at most ``limit`` table rows each (first fit, largest tables first): a combined
        table holds the AND of its members' rows for every combination of their ranks, and
        ``code`` is each sample's mixed-radix row in it. Combined tables depend on the
        model alone: they are kept (up to :data:`_COMBINED_BYTES`) for the next call."""
        sizes = [len(self._tables[k].masks) for k, _ in varying]
        order = sorted(range(len(varying)), key=lambda v: -sizes[v])
        members: list[list[int]] = []
        rows: list[int] = []
        for v in order:
            for g, size in enumerate(rows):
                if size * sizes[v] <= limit:
                    members[g].append(v)
                    rows[g] *= sizes[v]
                    break
            else:
                members.append([v])
                rows.append(sizes[v])
        groups = []
        for group in members:
            code = varying[group[0]][1]
            for v in group[1:]:
                code = code * sizes[v] + varying[v][1]
            key = tuple(varying[v][0] for v in group)
            table = self._combined.get(key)
            if table is None:
                table = self._tables[key[0]].masks
                for k in key[1:]:
                    masks = self._tables[k].masks
                    table = (table[:, None, :] & masks[None, :, :]).reshape(-1, masks.shape[1])
                if len(key) > 1:
                    if self._combined_bytes + table.nbytes > _COMBINED_BYTES:
                        self._combined.clear()
                        self._combined_bytes = 0
                    self._combined[key] = table
                    self._combined_bytes += table.nbytes
            groups.append((table, code))
        return groups

    @staticmethod
    def _ranks(tab: _FeatureTable, x: np.ndarray) -> np.ndarray:
        """Row of the mask table per value: the number of thresholds below it, or the last
        row for a missing value (numpy sorts NaN after +inf)."""
        if tab.buckets is not None and len(x) > 1:
            return tab.buckets.ranks(x, len(tab.search))
        return np.searchsorted(tab.search, x, side="left")

    def _leaf_sums(self, M: np.ndarray) -> np.ndarray:
        """Sum of the exit leaves' values (the lowest set bit of each mask) per row of ``M``.

        Each row is summed by numpy's pairwise summation along the row, whose order depends
        on the number of columns only: a row's score does not depend on the rows scored
        with it (tested), so a score read from a cache equals a fresh one.
        """
        if self._paired:
            h = self._n_cols // 2
            code = self._lowest_bit.take(M[:, :h])
            code |= self._lowest_bit16.take(M[:, h:])
            values = self._pair_value.take(code + self._pair_offset)
        else:
            low = ~M
            low += self._mask_dtype(1)
            low &= M  # the lowest set bit alone: a power of two, exact in float32
            exponent = low.astype(np.float32).view(np.int32) >> 23
            leaf = (exponent - 127).astype(np.intp)
            leaf += self._leaf_offset
            values = self._leaf_value_flat.take(leaf)
        return values.sum(axis=1)


def full_mask(dtype) -> np.integer:
    """All bits set in ``dtype``."""
    return np.iinfo(dtype).max


def _leaves_in_order(left: np.ndarray, right: np.ndarray, is_leaf: np.ndarray) -> list[int]:
    out, stack = [], [0]
    while stack:
        i = stack.pop()
        if is_leaf[i]:
            out.append(i)
        else:
            stack.append(int(right[i]))
            stack.append(int(left[i]))
    return out


def _leaf_sets(left, right, is_leaf, bit: dict[int, int]) -> dict[int, int]:
    """Bit set of the leaves under each node (children come after parents: reverse order)."""
    under: dict[int, int] = {}
    for i in range(len(left) - 1, -1, -1):
        if is_leaf[i]:
            under[i] = 1 << bit[i] if i in bit else 0
        else:
            under[i] = under.get(int(left[i]), 0) | under.get(int(right[i]), 0)
    return under


class LinearModel:
    """scikit-learn's median imputer (with missing indicators), scaler and logistic
    regression as arrays (see the module docstring).

    Examples
    --------
    >>> lin = LinearModel(
    ...     {
    ...         "median": np.array([1.0]),
    ...         "indicator_features": np.array([0]),
    ...         "mean": np.array([1.0, 0.5]),
    ...         "scale": np.array([2.0, 0.5]),
    ...         "coef": np.array([2.0, 1.0]),
    ...         "intercept": np.array([0.0]),
    ...     },
    ...     n_features=1,
    ... )
    >>> lin.raw(np.array([[3.0], [np.nan]])).tolist()
    [1.0, 1.0]
    """

    def __init__(self, arrays: Mapping[str, np.ndarray], n_features: int):
        missing = [k for k in LINEAR_ARRAYS if k not in arrays]
        if missing:
            raise ModelError(f"linear model arrays missing: {', '.join(missing)}")
        self.n_features = int(n_features)
        self.median = np.asarray(arrays["median"], dtype=float)
        self.indicator_features = np.asarray(arrays["indicator_features"], dtype=np.int64)
        self.mean = np.asarray(arrays["mean"], dtype=float)
        self.scale = np.asarray(arrays["scale"], dtype=float)
        self.coef = np.asarray(arrays["coef"], dtype=float)
        self.intercept = np.asarray(arrays["intercept"], dtype=float)
        width = self.n_features + len(self.indicator_features)
        if self.median.shape != (self.n_features,) or self.intercept.shape != (1,):
            raise ModelError("linear model arrays do not match the number of features")
        for name in ("mean", "scale", "coef"):
            if getattr(self, name).shape != (width,):
                raise ModelError(f"linear model array {name} does not have {width} entries")
        if np.any((self.indicator_features < 0) | (self.indicator_features >= self.n_features)):
            raise ModelError("linear model indicator feature out of range")

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays this model was built from, for saving."""
        return {k: np.array(getattr(self, k)) for k in LINEAR_ARRAYS}

    def raw(self, X: np.ndarray) -> np.ndarray:
        """The logistic regression's ``decision_function`` of the rows of ``X``."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ModelError(f"feature matrix has shape {X.shape}; expected (n, {self.n_features})")
        miss = np.isnan(X)
        Z = np.concatenate(
            [np.where(miss, self.median, X), miss[:, self.indicator_features].astype(float)],
            axis=1,
        )
        return ((Z - self.mean) / self.scale) @ self.coef + self.intercept[0]


__all__ = ["LINEAR_ARRAYS", "TREE_ARRAYS", "LinearModel", "TreeEnsemble", "sigmoid_calibration"]
