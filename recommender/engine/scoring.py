"""Scoring: from signed asymmetries to a score in [0, 1] that decomposes into contributions.

**Desirability: an ideal point inside the band.** Each asymmetry ``a_i`` becomes a
desirability ``d_i`` in [0, 1] through the scenario's band ``(min, lo, ideal, hi, max)``, in
asymmetry units (log ratio, or HDI difference / ``hdi_scale``)::

    d = 1 - (1 - EDGE) * ((a - ideal) / (lo - ideal))**2   if lo <= a <= ideal   (peak)
    d = 1 - (1 - EDGE) * ((a - ideal) / (hi - ideal))**2   if ideal <= a <= hi
    d = EDGE * (a - min) / (lo - min)                      if min < a < lo       (ramp up)
    d = EDGE * (max - a) / (max - hi)                      if hi < a < max       (ramp down)
    d = 0                                                  if a <= min or a >= max

with ``EDGE = 0.8`` (:data:`EDGE_DESIRABILITY`). The band keeps its meaning ("a partner 1.5x
to 8x richer is a good Small-Big partner; beyond 20x the gap is one of aid"), but inside it
one gap is best: the scenario's ``ideal`` (default the middle of ``[lo, hi]`` in asymmetry
units; the presets set it, e.g. 3x richer and +0.10 HDI for small-big). Why a peak rather
than the old flat plateau: on a plateau every candidate inside the band scored exactly 1,
so hundreds of cities tied at the top and the order came from the tie-break; Sinambela et
al. (2025) read asymmetry as a resource ("the Small-Big configuration enables local cities
to leverage the comparative advantages of their more developed partners") and Womack
(2016) warns that a very wide gap turns partnership into dependence: the benefit grows with
the gap and then falls, which a single peak expresses. The quadratic top is flat at the
ideal (a small step away from it costs little) and still 0.8 at the band's edges, so a
candidate inside the band always beats one outside it on that indicator.

An infinite ``min`` / ``max`` means no decay on that side of the ideal (``d`` stays 1); a
band with ``lo == ideal`` (or ``ideal == hi``) has its peak at the edge; ``min == lo`` is a
step. A two-sided band applies to ``|a|``. Linear in the log ratio means "2x" is as far from
"4x" as "4x" from "8x".

**Data quality.** What is not known neither helps nor hurts, and what is only estimated
counts less. Each candidate gets its own effective weights: ``w'_i = 0`` for a missing
value (NaN asymmetry), ``w'_i = w_i (1 - imputed_penalty)`` for an imputed one (either
side's level is ``imputed``; default penalty 0.5, so an estimate counts half), ``w'_i = w_i``
otherwise. A missing value is flagged (its ``d_i`` is reported as 0); the candidate is
dropped if the indicator is one of the scenario's ``required`` ones, or if the known
indicators carry less than ``min_coverage`` (default 0.75) of the scenario's weight. Why not score a
missing value 0? Area is missing for most foreign cities in the packaged data; a zero would
hand the area weight to the few cities whose area is merely imputed.

**Weighted sum (``method="wsm"``, default).** ``score = sum_i w'_i d_i / sum_i w'_i`` and
the contribution of indicator i is ``w'_i d_i / sum_i w'_i``: the contributions add up to
the score exactly, by construction. With no missing or imputed values this is the plain
weighted mean ``sum_i w_i d_i / sum_i w_i``.

**TOPSIS (``method="topsis"``).** Over the same desirability criteria (all benefit
criteria; there a missing value keeps ``d_i = 0`` and an imputed one ``d_i (1 - penalty)``,
because TOPSIS compares whole columns and has no per-candidate weights): vector-normalise each column over the candidate pool, weight, take the ideal
(column max) and anti-ideal (column min) of the pool, and score each candidate by its
closeness ``C = S- / (S+ + S-)`` in [0, 1], where ``S+`` / ``S-`` are the Euclidean
distances to the ideal / anti-ideal. Contributions: ``C`` is shared among indicators in
proportion to ``|v_i - anti_i|``, how far the candidate stands above the worst of the pool
on each weighted criterion; so they add up to the score and an indicator on which the
candidate is no better than the worst gets nothing. In the degenerate pool where every
candidate is identical (``S+ = S- = 0``) the ranking carries no information: ``C = 0.5``,
shared by weight.

Scores are invariant to the units of population and area because the asymmetries are log
ratios.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.data.indicators import INDICATOR_NAMES, LEVEL_RANK
from recommender.data.modelled import Z80
from recommender.engine.arrays import workspace
from recommender.engine.coupling import asymmetry_tolerance
from recommender.engine.features import HDI_SCALE
from recommender.engine.scenarios import Scenario
from recommender.errors import ScenarioError

METHODS = ("wsm", "topsis")
IMPUTED_CODE = LEVEL_RANK["imputed"]


# --------------------------------------------------------------------------- kernels
#
# The kernels work column-major: one contiguous array of n candidates per indicator, shape
# (k, n), updated in place with ``out=`` so that a call allocates its outputs and one or two
# scratch rows of length n, never an (n, k) temporary per step. The (n, k) functions
# (``desirability_matrix``, ``topsis``, ``score_asymmetry``) are thin wrappers kept for
# callers that hold row-major matrices.


EDGE_DESIRABILITY = 0.8
"""Desirability at the band's edges ``lo`` and ``hi`` (1 at the ideal, 0 at ``min`` / ``max``)."""


def desirability(
    a,
    band: Sequence[float],
    two_sided: bool = False,
    ideal: float | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Ideal-point desirability of asymmetries ``a`` for one band (numpy kernel).

    Parameters
    ----------
    a : array_like
        Signed asymmetries (log ratio, or scaled HDI difference).
    band : sequence of 4 floats
        ``(min, lo, hi, max)`` in the same units; ``-inf`` / ``inf`` allowed for min / max.
    two_sided : bool
        Apply the band to ``|a|``.
    ideal : float, optional
        The most desirable asymmetry, in ``[lo, hi]``; default their midpoint.
    out : ndarray, optional
        Where to write the result (same shape as ``a``, float64).

    Returns
    -------
    ndarray
        Values in [0, 1]; NaN where ``a`` is NaN. 1 only at the ideal.

    Examples
    --------
    >>> import numpy as np
    >>> band = np.log([1.0, 1.5, 8.0, 20.0])
    >>> desirability(np.log([0.9, 1.2, 1.5, 3.0, 8.0, 12.0, 25.0]), band, ideal=np.log(3.0)).round(2)
    array([0.  , 0.36, 0.8 , 1.  , 0.8 , 0.45, 0.  ])
    """
    x = np.asarray(a, dtype=float)
    shape = x.shape
    if two_sided:
        x = np.abs(x, out=workspace(shape))
    mn, lo, hi, mx = (float(v) for v in band)
    m = (lo + hi) / 2.0 if ideal is None else float(ideal)
    q = EDGE_DESIRABILITY
    # in place, with scratch rows from the workspace: no fresh temporaries, whose pages the
    # kernel would zero on every call for a pool of millions; the same operations on every
    # element as the formula written with np.where (tests/test_scoring.py checks the bits)
    d = np.empty(shape) if out is None else out
    tmp = workspace(shape)
    below = workspace(shape, bool)
    mask = workspace(shape, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.less(x, m, out=below)
        np.subtract(x, m, out=d)
        if m > lo:
            np.divide(d, lo - m, out=tmp)
        else:
            tmp.fill(np.inf)
        if hi > m:
            np.divide(d, hi - m, out=d)
        else:
            np.greater(x, m, out=mask)
            d.fill(0.0)
            np.copyto(d, np.inf, where=mask)
        np.copyto(d, tmp, where=below)  # (x - m) / (lo - m) below the ideal, else / (hi - m)
        np.minimum(d, 1.0, out=d)
        d *= d
        d *= -(1.0 - q)
        d += 1.0  # the peak: 1 - (1 - q) * min(t, 1) ** 2
        _ramp(d, x, np.less(x, lo, out=mask), lo, mn, tmp)  # below the band
        _ramp(d, x, np.greater(x, hi, out=mask), hi, mx, tmp)  # above it
        if np.isneginf(mn):
            np.copyto(d, 1.0, where=below)
        if np.isposinf(mx):
            np.greater(x, m, out=mask)
            np.copyto(d, 1.0, where=mask)
    np.clip(d, 0.0, 1.0, out=d)
    np.isnan(x, out=mask)
    if mask.any():
        np.copyto(d, np.nan, where=mask)
    return d


def _ramp(d, x, mask, edge: float, end: float, tmp) -> None:
    """Where ``mask`` (outside the band): ``q (x - end) / (edge - end)``, from ``q`` at the
    band's edge to 0 at ``end`` (min or max); 0 where that side is a point (edge = end).
    Below the band this is ``q (x - min) / (lo - min)``; above, ``(x - max) / (hi - max)``
    equals ``(max - x) / (max - hi)`` exactly (both operands negated)."""
    if not mask.any():
        return
    if edge != end:
        np.subtract(x, end, out=tmp)
        tmp /= edge - end
        tmp *= EDGE_DESIRABILITY
        np.copyto(d, tmp, where=mask)
    else:
        np.copyto(d, 0.0, where=mask)


def desirability_columns(
    asym_t: np.ndarray,
    bands: np.ndarray,
    two_sided: np.ndarray,
    out: np.ndarray | None = None,
    ideals: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`desirability` of a column-major matrix ``(k, n)``, row by row, in place in ``out``."""
    out = np.empty_like(asym_t) if out is None else out
    for j in range(asym_t.shape[0]):
        ideal = None if ideals is None else ideals[j]
        desirability(asym_t[j], bands[j], bool(two_sided[j]), ideal, out=out[j])
    return out


def desirability_matrix(
    asym: np.ndarray,
    bands: np.ndarray,
    two_sided: np.ndarray,
    ideals: np.ndarray | None = None,
) -> np.ndarray:
    """Apply :func:`desirability` column by column; ``asym`` is (n, k), ``bands`` (k, 4)."""
    asym = np.atleast_2d(np.asarray(asym, dtype=float))
    return desirability_columns(np.ascontiguousarray(asym.T), bands, two_sided, None, ideals).T


def weighted_sum(D: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted sum model: ``D @ w / sum(w)`` (numpy kernel, no validation).

    Examples
    --------
    >>> weighted_sum(np.array([[1.0, 0.0], [0.5, 0.5]]), np.array([3.0, 1.0])).tolist()
    [0.75, 0.5]
    """
    w = np.asarray(w, dtype=float)
    return np.asarray(D, dtype=float) @ (w / w.sum())


def wsm_contributions(D: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-indicator contributions ``w_i d_i / sum(w)``; rows add up to :func:`weighted_sum`.

    ``w`` is a weight vector (k,) or a per-candidate weight matrix (n, k); a row whose
    weights are all zero contributes nothing.
    """
    w = np.asarray(w, dtype=float)
    if w.ndim == 1:
        return np.asarray(D, dtype=float) * (w / w.sum())
    total = w.sum(axis=1, keepdims=True)
    share = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    return np.asarray(D, dtype=float) * share


def effective_weights(
    w: np.ndarray, missing: np.ndarray, imputed: np.ndarray, imputed_penalty: float
) -> np.ndarray:
    """Per-candidate weights: 0 where missing, ``w (1 - penalty)`` where imputed."""
    W = np.broadcast_to(np.asarray(w, dtype=float), missing.shape).copy()
    W[imputed] *= 1.0 - imputed_penalty
    W[missing] = 0.0
    return W


def wsm_columns(
    D_t: np.ndarray,
    w: np.ndarray,
    missing_t: np.ndarray,
    imputed_t: np.ndarray,
    imputed_penalty: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sum with per-candidate weights, column-major, in place.

    ``score = sum_i w'_i d_i / sum_i w'_i`` with ``w'`` as in :func:`effective_weights`,
    accumulated indicator by indicator into two rows of length n. ``D_t`` must be 0 where
    missing. Returns ``(score, total_weight)``; the contributions of any rows follow from
    them (:func:`wsm_contributions_at`).

    Examples
    --------
    >>> D = np.array([[1.0, 0.5], [0.0, 0.5]])          # 2 indicators x 2 candidates
    >>> no = np.zeros((2, 2), dtype=bool)
    >>> wsm_columns(D, np.array([3.0, 1.0]), no, no, 0.5)[0].tolist()
    [0.75, 0.5]
    """
    k, n = D_t.shape
    num = workspace(n)
    num.fill(0.0)
    den = workspace(n)
    den.fill(0.0)
    wj = workspace(n)
    for j in range(k):
        if w[j] == 0:
            continue
        wj.fill(w[j])
        add_weighted(num, den, wj, D_t[j], imputed_t[j], missing_t[j], imputed_penalty)
    return weighted_mean(num, den), den


def add_weighted(num, den, wj, d, imputed, missing, imputed_penalty: float) -> None:
    """One indicator's term of the weighted sum, in place: its weights ``wj`` (one row of
    candidates, or one per draw: anything ``imputed`` and ``missing`` broadcast over) are
    lowered by the penalty where the figure is imputed and zeroed where it is missing, then
    added to ``den`` and, times the desirability ``d``, to ``num``. ``wj`` is overwritten."""
    if imputed_penalty:
        np.multiply(wj, 1.0 - imputed_penalty, out=wj, where=imputed)
    np.copyto(wj, 0.0, where=missing)
    den += wj
    wj *= d
    num += wj


def weighted_mean(num, den):
    """``num / den`` in place, 0 where nothing is weighted, at most 1 (a sum of shares of 1
    can land a few ulps above 1; the documented range is kept)."""
    np.divide(num, den, out=num, where=den > 0)
    num[den <= 0] = 0.0
    np.minimum(num, 1.0, out=num)
    return num


def wsm_contributions_at(rows, D_t, w, missing_t, imputed_t, imputed_penalty: float) -> np.ndarray:
    """The (m, k) contributions of candidates ``rows`` under :func:`wsm_columns`."""
    D = D_t[:, rows].T
    W = effective_weights(w, missing_t[:, rows].T, imputed_t[:, rows].T, imputed_penalty)
    return wsm_contributions(D, W)


def topsis_reference(D: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What TOPSIS learns from the pool: column norms, ideal and anti-ideal (weighted)."""
    return topsis_reference_columns(np.ascontiguousarray(np.asarray(D, dtype=float).T), w)


def topsis_reference_columns(
    D_t: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`topsis_reference` of a column-major ``(k, n)`` matrix (no temporaries)."""
    k, n = D_t.shape
    wn = np.asarray(w, dtype=float) / np.sum(w)
    # squares summed through a scratch row, not np.dot: BLAS threads cost more than they
    # save on one vector, and their start-up time varies with the machine's load
    tmp = np.empty(n)
    norm = np.sqrt(np.array([np.square(D_t[j], out=tmp).sum() for j in range(k)]))
    if n == 0:
        return norm, np.zeros(k), np.zeros(k)
    scale = _topsis_scale(wn, norm)
    ideal = np.array([D_t[j].max() for j in range(k)]) * scale
    anti = np.array([D_t[j].min() for j in range(k)]) * scale
    return norm, ideal, anti


def _topsis_scale(wn: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """``v_i = d_i * scale_i``: weight over the column norm (0 for an all-zero column)."""
    safe = np.where(norm > 0, norm, 1.0)
    return np.where(norm > 0, wn / safe, 0.0)


@dataclass
class TopsisState:
    """What the contributions of any candidate need after :func:`topsis_columns`."""

    scale: np.ndarray
    anti: np.ndarray
    wn: np.ndarray

    def contributions_at(self, rows, D_t: np.ndarray, score: np.ndarray) -> np.ndarray:
        """(m, k) contributions: ``score`` shared in proportion to ``|v_i - anti_i|``."""
        V = D_t[:, rows].T * self.scale
        gain = np.abs(V - self.anti)
        total = gain.sum(axis=1, keepdims=True)
        share = np.where(total > 0, gain / np.where(total > 0, total, 1.0), self.wn)
        return score[rows][:, None] * share


def topsis_columns(
    D_t: np.ndarray,
    w: np.ndarray,
    reference: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, TopsisState]:
    """TOPSIS closeness of a column-major ``(k, n)`` matrix of benefit criteria, in place.

    Accumulates the squared distances to the ideal and the anti-ideal indicator by
    indicator in two rows of length n (plus one scratch row). Returns the closeness and
    the :class:`TopsisState` from which the contributions of any rows follow.

    Examples
    --------
    >>> s, st = topsis_columns(np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]), np.ones(2))
    >>> s.round(3).tolist()
    [0.5, 0.5, 1.0]
    """
    k, n = D_t.shape
    w = np.asarray(w, dtype=float)
    wn = w / w.sum()
    norm, ideal, anti = topsis_reference_columns(D_t, w) if reference is None else reference
    scale = _topsis_scale(wn, norm)
    s_plus = workspace(n)
    s_plus.fill(0.0)
    s_minus = workspace(n)
    s_minus.fill(0.0)
    tmp = workspace(n)
    for j in range(k):
        np.multiply(D_t[j], scale[j], out=tmp)
        tmp -= ideal[j]
        tmp *= tmp
        s_plus += tmp
        np.multiply(D_t[j], scale[j], out=tmp)
        tmp -= anti[j]
        tmp *= tmp
        s_minus += tmp
    np.sqrt(s_plus, out=s_plus)
    np.sqrt(s_minus, out=s_minus)
    s_plus += s_minus  # the denominator
    degenerate = s_plus <= 0
    np.divide(s_minus, s_plus, out=s_minus, where=~degenerate)
    s_minus[degenerate] = 0.5
    np.clip(s_minus, 0.0, 1.0, out=s_minus)
    return s_minus, TopsisState(scale=scale, anti=np.asarray(anti, dtype=float), wn=wn)


def topsis(
    D: np.ndarray,
    w: np.ndarray,
    reference: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """TOPSIS closeness and its additive attribution (numpy kernel, no validation).

    Parameters
    ----------
    D : ndarray of shape (n, k)
        Desirabilities (benefit criteria), no NaN.
    w : ndarray of shape (k,)
        Weights.
    reference : tuple, optional
        ``(norm, ideal, anti_ideal)`` from :func:`topsis_reference`; default: learned on
        ``D`` itself.

    Returns
    -------
    score : ndarray of shape (n,)
        Closeness coefficient in [0, 1], equal to ``contributions.sum(axis=1)``.
    contributions : ndarray of shape (n, k)

    Examples
    --------
    >>> s, c = topsis(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([1.0, 1.0]))
    >>> s.round(3).tolist(), bool(np.allclose(c.sum(axis=1), s))
    ([0.5, 0.5, 1.0], True)
    """
    D_t = np.ascontiguousarray(np.asarray(D, dtype=float).T)
    score, state = topsis_columns(D_t, w, reference)
    contributions = state.contributions_at(slice(None), D_t, score)
    return contributions.sum(axis=1), contributions


# --------------------------------------------------------------------------- one call


class ScoreResult:
    """Scores of a candidate pool against one scenario.

    The arrays are kept column-major (``*_t``, shape (k, n)); the (n, k) attributes are
    transposed views of them. Contributions are computed on demand: for the few
    shortlisted rows with :meth:`contributions_at`, or for the whole pool on first access
    of :attr:`contributions`.

    Attributes
    ----------
    score : ndarray (n,)
        In [0, 1]; equals ``contributions.sum(axis=1)``.
    contributions : ndarray (n, k)
    desirability : ndarray (n, k)
        After the missing / imputed adjustments.
    missing : ndarray of bool (n, k)
    imputed : ndarray of bool (n, k)
    eligible : ndarray of bool (n,)
        Passes the scenario's gates (required indicators, complementarity).
    """

    def __init__(self, score, contributions, desirability, missing, imputed, eligible):
        self.score = score
        self._contributions = contributions  # an (n, k) array, or a function of rows
        self.desirability = desirability
        self.missing = missing
        self.imputed = imputed
        self.eligible = eligible

    @property
    def contributions(self) -> np.ndarray:
        if callable(self._contributions):
            self._contributions = self._contributions(slice(None))
        return self._contributions

    def contributions_at(self, rows) -> np.ndarray:
        """Contributions (m, k) of the candidates ``rows`` only."""
        if callable(self._contributions):
            return self._contributions(rows)
        return self._contributions[rows]


def interval_in_band(
    a: np.ndarray, half_width: np.ndarray, band: Sequence[float], two_sided: bool = False
) -> np.ndarray:
    """Whether ``[a - half_width, a + half_width]`` meets the open band ``(min, max)``.

    Used by the gates for a modelled value: its interval, not its point estimate, decides.

    Examples
    --------
    >>> band = np.log([1.0, 1.5, 8.0, 20.0])
    >>> interval_in_band(np.log([0.9, 0.5]), np.array([0.5, 0.5]), band).tolist()
    [True, False]
    """
    a = np.asarray(a, dtype=float)
    shape = a.shape
    h = workspace(shape)  # scratch rows: no fresh temporaries for a pool of millions
    np.copyto(h, half_width)
    nan = np.isnan(h, out=workspace(shape, bool))
    np.copyto(h, 0.0, where=nan)  # as np.nan_to_num(nan=0.0): NaN is 0, +-inf the largest
    big = np.finfo(float).max
    np.clip(h, -big, big, out=h)
    lo, hi = np.subtract(a, h, out=workspace(shape)), np.add(a, h, out=workspace(shape))
    if two_sided:
        straddle = (lo <= 0) & (hi >= 0)
        np.abs(lo, out=lo)
        np.abs(hi, out=hi)
        np.minimum(lo, hi, out=h)
        np.maximum(lo, hi, out=hi)
        np.copyto(h, 0.0, where=straddle)
        lo = h
    mn, mx = float(band[0]), float(band[3])
    with np.errstate(invalid="ignore"):
        return (hi > mn) & (lo < mx)


def score_columns(
    asym_t: np.ndarray,
    scenario: Scenario,
    *,
    missing_t: np.ndarray | None = None,
    imputed_t: np.ndarray | None = None,
    method: str = "wsm",
    hdi_scale: float = HDI_SCALE,
    indicators: Sequence[str] = INDICATOR_NAMES,
    reference: tuple | None = None,
    uncertainty_t: np.ndarray | None = None,
) -> ScoreResult:
    """Score column-major signed asymmetries ``(k, n)`` against a scenario (the kernel).

    ``uncertainty_t`` (k, n) is the standard deviation of each asymmetry (0 for measured
    values; modelled GDP per capita, see :mod:`recommender.data.modelled`): a ``required``
    indicator's gate then passes when the 80% interval meets the band, so a modelled
    figure alone never excludes a candidate.

    ``missing_t`` (default ``isnan(asym_t)``) and ``imputed_t`` are (k, n) boolean; an
    imputed flag on a missing value is ignored. For TOPSIS the pool is ``asym_t`` itself
    unless ``reference`` is given.
    """
    k, n = asym_t.shape
    bands, two_sided = scenario.band_matrix(indicators, hdi_scale)
    ideals = scenario.ideal_array(indicators, hdi_scale)
    w = scenario.weight_array(indicators)
    missing = np.isnan(asym_t) if missing_t is None else missing_t
    if imputed_t is None:
        imp = np.zeros((k, n), dtype=bool)
    else:
        imp = imputed_t & ~missing
    D = desirability_columns(asym_t, bands, two_sided, out=workspace((k, n)), ideals=ideals)
    np.copyto(D, 0.0, where=missing)
    penalty = scenario.imputed_penalty
    if method == "wsm":
        score, _ = wsm_columns(D, w, missing, imp, penalty)

        def contributions(rows):
            return wsm_contributions_at(rows, D, w, missing, imp, penalty)

    elif method == "topsis":
        if penalty:
            for j in range(k):
                np.multiply(D[j], 1.0 - penalty, out=D[j], where=imp[j])
        score, state = topsis_columns(D, w, reference)

        def contributions(rows):
            return state.contributions_at(rows, D, score)

    else:
        raise ScenarioError(f"Unknown scoring method {method!r}; allowed: {', '.join(METHODS)}.")
    # enough known? Renormalising over the known indicators must not let a city with
    # only one known figure outrank cities that are known on all four.
    wsum = w.sum()
    eligible = np.ones(n, dtype=bool)
    if wsum > 0:
        known = workspace(n)
        known.fill(0.0)
        for j in range(k):
            if w[j]:
                np.add(known, w[j], out=known, where=~missing[j])
        known /= wsum
        eligible &= known >= scenario.min_coverage - 1e-12
    else:
        eligible &= 0.0 >= scenario.min_coverage - 1e-12
    for name in scenario.required:
        j = list(indicators).index(name)
        sd = None if uncertainty_t is None else uncertainty_t[j]
        eligible &= required_ok(D[j], asym_t[j], missing[j], sd, bands[j], bool(two_sided[j]))
    if scenario.require_complementary:
        tol = asymmetry_tolerance(scenario.tolerance, indicators, hdi_scale)
        ahead = np.zeros(n, dtype=bool)
        behind = np.zeros(n, dtype=bool)
        with np.errstate(invalid="ignore"):
            for j in range(k):
                ahead |= asym_t[j] > tol[j]
                behind |= asym_t[j] < -tol[j]
        eligible &= ahead & behind
    return ScoreResult(score, contributions, D.T, missing.T, imp.T, eligible)


def required_ok(d, a, missing, sd, band, two_sided: bool) -> np.ndarray:
    """The gate of one ``required`` indicator: desirability ``d`` (0 where ``missing``)
    above 0, or, for a modelled value (standard deviation ``sd`` > 0), its 80% interval
    around the asymmetry ``a`` meeting the band."""
    ok = d > 0
    if sd is not None:
        sd = np.asarray(sd, dtype=float)
        unc = np.isfinite(sd) & (sd > 0) & ~missing
        if unc.any():
            h = np.multiply(sd, Z80, out=workspace(len(sd)))
            ok |= unc & interval_in_band(a, h, band, two_sided)
    return ok


def score_asymmetry(
    asym: np.ndarray,
    scenario: Scenario,
    *,
    imputed: np.ndarray | None = None,
    method: str = "wsm",
    hdi_scale: float = HDI_SCALE,
    indicators: Sequence[str] = INDICATOR_NAMES,
    reference: tuple | None = None,
    uncertainty: np.ndarray | None = None,
) -> ScoreResult:
    """Score a matrix of signed asymmetries (n, k) against a scenario, vectorised.

    ``imputed`` marks values whose level is ``imputed`` on either side. For TOPSIS the
    pool is ``asym`` itself unless ``reference`` is given. ``uncertainty`` (n, k): see
    :func:`score_columns`. A row-major wrapper of :func:`score_columns`.
    """
    asym = np.atleast_2d(np.asarray(asym, dtype=float))
    imp = None if imputed is None else np.ascontiguousarray(np.asarray(imputed, dtype=bool).T)
    return score_columns(
        np.ascontiguousarray(asym.T),
        scenario,
        imputed_t=imp,
        method=method,
        hdi_scale=hdi_scale,
        indicators=indicators,
        reference=reference,
        uncertainty_t=None
        if uncertainty is None
        else np.ascontiguousarray(np.asarray(uncertainty, dtype=float).T),
    )
