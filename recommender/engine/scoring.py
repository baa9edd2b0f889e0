"""Scoring: from signed asymmetries to a score in [0, 1] that decomposes into contributions.

**Desirability.** Each asymmetry ``a_i`` becomes a desirability ``d_i`` in [0, 1] through the
scenario's trapezoid band ``(min, lo, hi, max)``, in asymmetry units (log ratio, or HDI
difference / ``hdi_scale``)::

    d = 0                       if a <= min or a >= max
    d = (a - min) / (lo - min)  if min < a < lo     (ramp up)
    d = 1                       if lo <= a <= hi    (plateau)
    d = (max - a) / (max - hi)  if hi < a < max     (ramp down)

An infinite ``min`` / ``max`` means no ramp on that side (d stays 1); ``min == lo`` is a
step. A two-sided band applies to ``|a|``. Linear in the log ratio means "2x" is as far
from "4x" as "4x" from "8x".

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
from recommender.engine.coupling import asymmetry_tolerance
from recommender.engine.features import HDI_SCALE, lead_counts
from recommender.engine.scenarios import Scenario
from recommender.errors import ScenarioError

METHODS = ("wsm", "topsis")
IMPUTED_CODE = LEVEL_RANK["imputed"]


# --------------------------------------------------------------------------- kernels


def desirability(a, band: Sequence[float], two_sided: bool = False) -> np.ndarray:
    """Trapezoid desirability of asymmetries ``a`` for one band (numpy kernel).

    Parameters
    ----------
    a : array_like
        Signed asymmetries (log ratio, or scaled HDI difference).
    band : sequence of 4 floats
        ``(min, lo, hi, max)`` in the same units; ``-inf`` / ``inf`` allowed for min / max.
    two_sided : bool
        Apply the band to ``|a|``.

    Returns
    -------
    ndarray
        Values in [0, 1]; NaN where ``a`` is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> band = np.log([1.0, 1.5, 8.0, 20.0])
    >>> desirability(np.log([0.9, 1.2, 3.0, 12.0, 25.0]), band).round(2)
    array([0.  , 0.45, 1.  , 0.56, 0.  ])
    """
    x = np.asarray(a, dtype=float)
    if two_sided:
        x = np.abs(x)
    mn, lo, hi, mx = (float(v) for v in band)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = 1.0 if np.isneginf(mn) else (x - mn) / (lo - mn)
        down = 1.0 if np.isposinf(mx) else (mx - x) / (mx - hi)
        d = np.where(x < lo, up, np.where(x > hi, down, 1.0))
    # a step (min == lo) divides by zero: clip handles -inf/+inf, nan_to_num the 0/0 case
    d = np.clip(np.nan_to_num(d, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    return np.where(np.isnan(x), np.nan, d)


def desirability_matrix(asym: np.ndarray, bands: np.ndarray, two_sided: np.ndarray) -> np.ndarray:
    """Apply :func:`desirability` column by column; ``bands`` has shape (k, 4)."""
    asym = np.atleast_2d(np.asarray(asym, dtype=float))
    out = np.empty_like(asym)
    for j in range(asym.shape[1]):
        out[:, j] = desirability(asym[:, j], bands[j], bool(two_sided[j]))
    return out


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


def topsis_reference(D: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What TOPSIS learns from the pool: column norms, ideal and anti-ideal (weighted)."""
    D = np.asarray(D, dtype=float)
    wn = np.asarray(w, dtype=float) / np.sum(w)
    norm = np.sqrt((D**2).sum(axis=0))
    V = _topsis_v(D, wn, norm)
    if len(V) == 0:
        return norm, np.zeros(D.shape[1]), np.zeros(D.shape[1])
    return norm, V.max(axis=0), V.min(axis=0)


def _topsis_v(D: np.ndarray, wn: np.ndarray, norm: np.ndarray) -> np.ndarray:
    safe = np.where(norm > 0, norm, 1.0)
    return np.where(norm > 0, D / safe, 0.0) * wn


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
    D = np.asarray(D, dtype=float)
    w = np.asarray(w, dtype=float)
    wn = w / w.sum()
    norm, ideal, anti = topsis_reference(D, w) if reference is None else reference
    V = _topsis_v(D, wn, norm)
    s_plus = np.sqrt(((V - ideal) ** 2).sum(axis=1))
    s_minus = np.sqrt(((V - anti) ** 2).sum(axis=1))
    denom = s_plus + s_minus
    degenerate = denom <= 0
    closeness = np.where(degenerate, 0.5, s_minus / np.where(degenerate, 1.0, denom))
    closeness = np.clip(closeness, 0.0, 1.0)
    gain = np.abs(V - anti)
    total = gain.sum(axis=1, keepdims=True)
    share = np.where(total > 0, gain / np.where(total > 0, total, 1.0), wn)
    contributions = closeness[:, None] * share
    return contributions.sum(axis=1), contributions


# --------------------------------------------------------------------------- one call


@dataclass
class ScoreResult:
    """Scores of a candidate pool against one scenario.

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

    score: np.ndarray
    contributions: np.ndarray
    desirability: np.ndarray
    missing: np.ndarray
    imputed: np.ndarray
    eligible: np.ndarray


def score_asymmetry(
    asym: np.ndarray,
    scenario: Scenario,
    *,
    imputed: np.ndarray | None = None,
    method: str = "wsm",
    hdi_scale: float = HDI_SCALE,
    indicators: Sequence[str] = INDICATOR_NAMES,
    reference: tuple | None = None,
) -> ScoreResult:
    """Score a matrix of signed asymmetries (n, k) against a scenario, vectorised.

    ``imputed`` marks values whose level is ``imputed`` on either side. For TOPSIS the
    pool is ``asym`` itself unless ``reference`` is given.
    """
    asym = np.atleast_2d(np.asarray(asym, dtype=float))
    bands, two_sided = scenario.band_matrix(indicators, hdi_scale)
    w = scenario.weight_array(indicators)
    D = desirability_matrix(asym, bands, two_sided)
    missing = np.isnan(D)
    D[missing] = 0.0
    imp = np.zeros_like(missing) if imputed is None else np.asarray(imputed, dtype=bool) & ~missing
    if method == "wsm":
        W = effective_weights(w, missing, imp, scenario.imputed_penalty)
        contributions = wsm_contributions(D, W)
        # a sum of shares of 1 can land a few ulps above 1; keep the documented range
        score = np.minimum(contributions.sum(axis=1), 1.0)
    elif method == "topsis":
        if imp.any():
            D = np.where(imp, D * (1.0 - scenario.imputed_penalty), D)
        score, contributions = topsis(D, w, reference)
    else:
        raise ScenarioError(f"Unknown scoring method {method!r}; allowed: {', '.join(METHODS)}.")
    eligible = np.ones(len(asym), dtype=bool)
    # enough known? Renormalising over the known indicators must not let a city with
    # only one known figure outrank cities that are known on all four.
    wsum = w.sum()
    coverage = (w * ~missing).sum(axis=1) / wsum if wsum > 0 else np.zeros(len(asym))
    eligible &= coverage >= scenario.min_coverage - 1e-12
    for name in scenario.required:
        eligible &= D[:, list(indicators).index(name)] > 0
    if scenario.require_complementary:
        tol = asymmetry_tolerance(scenario.tolerance, indicators, hdi_scale)
        eligible &= lead_counts(asym, tol)[2]
    return ScoreResult(score, contributions, D, missing, imp, eligible)
