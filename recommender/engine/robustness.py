"""Robustness of a shortlist: how often each chosen candidate stays in the top k when the
scenario's weights and bands vary (the seeded Monte Carlo of :mod:`recommender.engine.ranking`).

All draws are computed at once, as matrices of (draws x window): the draws' weights and
bands as arrays (no :class:`~recommender.engine.scenarios.Scenario` per draw), the
desirability and weighted sum of every draw in a few numpy passes, one sort of every draw's
window, and the greedy soft diversity run on all draws together (``top`` steps of an argmax
over draws x countries). It is the same computation as the draw-by-draw reference
(:func:`recommender.engine.reference.robustness_naive`): the same random numbers in the same
order, the same floating-point operations in the same order (``math.exp`` / ``math.log``
where the scenario code uses them, since numpy's vectorised ``exp`` may differ in the last
bit), so the shares are identical; ``tests/test_robustness.py`` checks it.
"""

from __future__ import annotations

import math

import numpy as np

from recommender.data.indicators import BY_NAME, INDICATOR_NAMES
from recommender.data.modelled import Z80
from recommender.engine.coupling import asymmetry_tolerance, couplings_mask
from recommender.engine.options import combined_score
from recommender.engine.pool import ROUND_DECIMALS, Pool, tiebreak_keys
from recommender.engine.ranking import (
    BAND_JITTER_HDI,
    BAND_JITTER_LOG,
    ROBUSTNESS_SEED,
    ROBUSTNESS_WINDOW,
    WEIGHT_CONCENTRATION,
)
from recommender.engine.scoring import EDGE_DESIRABILITY, add_weighted, weighted_mean


def draw_parameters(scenario, n: int, seed, hdi_scale: float, indicators=INDICATOR_NAMES):
    """The ``n`` perturbed scenarios of :func:`~recommender.engine.ranking.perturbed_scenarios`
    as arrays, in the kernel's units.

    Returns ``(weights, bands, ideals)``: ``weights`` (n, k); ``bands`` (n, k, 4) as
    ``(min, lo, hi, max)`` in asymmetry units (log ratio, or HDI difference / ``hdi_scale``);
    ``ideals`` (n, k). An indicator without a band has weight 0 and NaN bounds (never used).
    The random numbers are drawn in the reference's order (per draw: the Dirichlet weights,
    then five uniforms per band).
    """
    rng = np.random.default_rng(seed)
    names = [k for k, w in scenario.weights.items() if w > 0]
    w = np.array([scenario.weights[k] for k in names], dtype=float)
    w = w / w.sum()
    banded = list(scenario.bands.items())
    nb = len(banded)
    jitter = np.empty((n, nb * 5))
    alpha = (w * WEIGHT_CONCENTRATION).tolist()
    gammas, inverse = [], []
    gamma = rng.standard_gamma
    for d in range(n):
        if len(w) > 1:
            # rng.dirichlet(alpha), as numpy computes it: a standard gamma per weight, in
            # order (one scalar call each: cheaper than numpy's checks of an array), each
            # times 1 / their sum taken left to right (tested bit for bit)
            g = list(map(gamma, alpha))
            gammas.append(g)
            inverse.append(1.0 / sum(g))
        rng.random(out=jitter[d])  # the 5 uniforms of each band, in one call
    if len(w) > 1:
        new_w = np.array(gammas) * np.array(inverse)[:, None]
    else:
        new_w = np.repeat(w[None, :], n, axis=0)
    # rng.uniform(-1, 1) is -1 + 2 * u of the same standard uniform u
    jitter *= 2.0
    jitter -= 1.0
    jitter = jitter.reshape(n, nb, 5)
    k = len(indicators)
    col = {name: j for j, name in enumerate(indicators)}
    weights = np.zeros((n, k))
    for i, name in enumerate(names):
        weights[:, col[name]] = new_w[:, i]
    bands = np.full((n, k, 4), np.nan)
    ideals = np.zeros((n, k))
    if not nb:
        return weights, bands, ideals
    # every band's five points moved at once, (draws, band, point); the operations of the
    # reference on each element
    is_log = np.array([BY_NAME[ind].transform == "log" for ind, _ in banded])
    base = np.array([[b.min, b.lo, b.ideal_value(ind), b.hi, b.max] for ind, b in banded])
    moved = np.empty((n, nb, 5))
    if is_log.any():
        # exp(BAND_JITTER_LOG * j) with math.exp (numpy's vectorised exp may differ in the
        # last bit), for all the log bands in one pass; 0 and inf do not move
        arg = (BAND_JITTER_LOG * jitter[:, is_log]).ravel().tolist()
        steps = np.array(list(map(math.exp, arg))).reshape(n, int(is_log.sum()), 5)
        fixed = ~((base[is_log] > 0) & (base[is_log] < math.inf))
        moved[:, is_log] = np.where(fixed, base[is_log], base[is_log] * steps)
    if not is_log.all():
        moved[:, ~is_log] = base[~is_log] + BAND_JITTER_HDI * jitter[:, ~is_log]
    moved.sort(axis=2)  # the reference keeps min <= lo <= ideal <= hi <= max
    two = np.array([b.two_sided for _, b in banded])
    if two.any():
        floor = np.where(is_log, 1.0, 0.0)[None, :, None]
        np.maximum(moved, floor, out=moved, where=two[None, :, None])
    for b, (ind, _band) in enumerate(banded):
        j = col[ind]
        bounds = moved[:, b][:, [0, 1, 3, 4]]  # (draws, 4), contiguous as before
        if is_log[b]:
            with np.errstate(divide="ignore"):
                bands[:, j] = np.log(bounds)
            ideals[:, j] = list(map(math.log, moved[:, b, 2].tolist()))
        else:
            bands[:, j] = bounds / hdi_scale
            ideals[:, j] = moved[:, b, 2] / hdi_scale
    return weights, bands, ideals


def desirability_draws(x, mn, lo, hi, mx, m, two_sided: bool) -> np.ndarray:
    """:func:`recommender.engine.scoring.desirability` of one indicator's asymmetries ``x``
    (window,) under every draw's band (each parameter (draws, 1)); shape (draws, window).

    The same formula and operations as the kernel, with the kernel's scalar branches
    (``lo > min``, an infinite ``min``...) as per-draw masks. Leading dimensions broadcast:
    ``x`` (indicators, 1, window) with parameters (indicators, draws, 1) computes several
    indicators at once (one pass of each operation instead of one per indicator).
    """
    if two_sided:
        x = np.abs(x)
    q = EDGE_DESIRABILITY
    # computed in place: each formula for every draw, then the rows of the draws whose band
    # is degenerate on that side overwritten (each value is the kernel's, bit for bit)
    with np.errstate(divide="ignore", invalid="ignore"):
        below = x < m
        above = None  # x > m, worked out only where needed (a pass over every element)
        diff = x - m
        t = diff / (hi - m)  # right of the ideal
        flat = ~(hi > m)[..., 0]  # draws whose right side is a point
        if flat.any():
            above = x > m
            t[flat] = np.where(above[flat], np.inf, 0.0)
        left = np.divide(diff, lo - m, out=diff)
        flat = ~(m > lo)[..., 0]
        if flat.any():
            left[flat] = np.where(below[flat], np.inf, 0.0)
        np.copyto(t, left, where=below)
        np.minimum(t, 1.0, out=t)
        t *= t
        t *= -(1.0 - q)
        t += 1.0  # the peak: 1 - (1 - q) * min(t, 1) ** 2
        edge = x > hi
        if edge.any():
            down = np.subtract(mx, x)
            down /= mx - hi
            flat = ~(mx > hi)[..., 0]
            if flat.any():
                down[flat] = np.where(np.broadcast_to(x, t.shape)[flat] <= hi[flat], 1.0, 0.0)
            down *= q
            np.copyto(t, down, where=edge)
        edge = np.less(x, lo, out=edge)
        if edge.any():
            up = np.subtract(x, mn)
            up /= lo - mn
            flat = ~(lo > mn)[..., 0]
            if flat.any():
                up[flat] = np.where(np.broadcast_to(x, t.shape)[flat] >= lo[flat], 1.0, 0.0)
            up *= q
            np.copyto(t, up, where=edge)
        open_side = np.isneginf(mn)
        if open_side.any():
            np.copyto(t, 1.0, where=open_side & below)
        open_side = np.isposinf(mx)
        if open_side.any():
            np.copyto(t, 1.0, where=open_side & (x > m if above is None else above))
    # NaN only where x is NaN (missing: set to 0 by the caller), as in the kernel
    np.clip(t, 0.0, 1.0, out=t)
    return t


def diversify_draws(
    order: np.ndarray,
    n_live: np.ndarray,
    codes: np.ndarray,
    key: np.ndarray,
    top: int,
    decay: float,
    max_per_country: int | None,
) -> np.ndarray:
    """:func:`~recommender.engine.ranking.diversify` of every draw at once.

    ``order`` (draws, W): each draw's candidates (window indices) best first, of which the
    first ``n_live[d]`` are eligible; ``codes`` (W,) country codes 0..C-1; ``key`` (draws, W)
    the ranking score by window index. Returns the picks (draws, top), -1 where a draw
    picked fewer. Each step takes, in every draw, the country whose next candidate has the
    best adjusted score (``key * decay ** chosen``), ties to the candidate earlier in the
    order, exactly as the one-draw kernel does.
    """
    n_d, w = order.shape
    n_c = int(codes.max()) + 1 if len(codes) else 0
    rows = np.arange(n_d)[:, None]
    cs = codes[order]
    cs[np.arange(w)[None, :] >= n_live[:, None]] = n_c  # not eligible: a country of its own
    s = np.take_along_axis(key, order, axis=1)  # key in order
    # per draw: each country's candidates in order, linked (first, next)
    g = np.argsort(cs, axis=1, kind="stable")
    gc = np.take_along_axis(cs, g, axis=1)
    nxt = np.full((n_d, w + 1), w, dtype=np.int64)  # position -> next of its country
    same = gc[:, 1:] == gc[:, :-1]
    dr, di = np.nonzero(same)
    nxt[dr, g[dr, di]] = g[dr, di + 1]
    head = np.full((n_d, n_c + 1), w, dtype=np.int64)
    start = np.ones_like(gc, dtype=bool)
    start[:, 1:] = ~same
    sr, si = np.nonzero(start)
    head[sr, gc[sr, si]] = g[sr, si]
    head = head[:, :n_c]
    count = np.zeros((n_d, n_c), dtype=np.int64)
    cap = np.inf if max_per_country is None else max_per_country
    s_pad = np.concatenate([s, np.full((n_d, 1), -np.inf)], axis=1)
    picks = np.full((n_d, top), -1, dtype=np.int64)
    active = np.ones(n_d, dtype=bool)
    for step in range(top):
        live = (head < w) & (count < cap)
        if decay == 0:
            live &= count == 0
        any_live = live.any(axis=1)
        active &= any_live
        if not active.any():
            break
        factor = np.power(decay, count) if decay > 0 else np.ones((n_d, n_c))
        adj = np.where(live, s_pad[rows, head] * factor, -np.inf)
        best = adj.max(axis=1, keepdims=True)
        tie = live & (adj == best)
        c = np.where(tie, head, w + 1).argmin(axis=1)
        at = head[np.arange(n_d), c]
        r = np.flatnonzero(active)
        picks[r, step] = order[r, at[r]]
        count[r, c[r]] += 1
        head[r, c[r]] = nxt[r, at[r]]
    return picks


def robustness_of(
    pool: Pool, chosen: np.ndarray, n_draws: int | None = None, top: int | None = None
) -> np.ndarray:
    """Share of seeded plausible variants of the scenario in which each chosen candidate
    stays in the top k (see :mod:`recommender.engine.ranking`).

    ``top`` (default: ``len(chosen)``, the shortlist's length) is k: :func:`recommender.
    engine.explain.explain` asks it for one candidate, shortlisted or not, with the
    shortlist's k, and gets the same share the shortlist shows for it.

    Each draw re-scores the best :data:`~recommender.engine.ranking.ROBUSTNESS_WINDOW`
    candidates by the ranking score (same gates, data, feasibility, blend and diversity)
    under jittered weights and bands. Seeded by the local city's id, so the same inputs
    give the same numbers. All draws at once (see the module docstring); the draw-by-draw
    computation is :func:`recommender.engine.reference.robustness_naive`.
    """
    opts = pool.options
    n_draws = opts.robustness if n_draws is None else n_draws
    if n_draws <= 0 or len(chosen) == 0:
        return np.full(len(chosen), np.nan)
    window = np.sort(pool.order(ROBUSTNESS_WINDOW)[:ROBUSTNESS_WINDOW])
    at = np.minimum(np.searchsorted(window, chosen), len(window) - 1)
    if len(window) == 0 or not (window[at] == chosen).all():
        window = np.union1d(window, chosen)
    k_top = len(chosen) if top is None else int(top)
    draws = _Draws(pool, window, n_draws)
    if pool.feasibility is not None and opts.diversity == 1.0 and opts.max_per_country is None:
        sub, key, eligible = _reachable(draws, pool.feasibility[window], k_top)
    else:
        sub = np.arange(len(window))
        key, eligible = draws.scores(sub)
    # the candidates left out cannot be picked in any draw (see _reachable); the rest keep
    # the window's order, so every step below sees them as it would in the whole window
    window = window[sub]
    # each draw's order: eligible first, by rounded key, then the fixed tie-break
    fine, pop = tiebreak_keys(pool.cities)
    rows = pool.positions[window]
    ids = pool.city_id[window]
    # the window in tie-break order, then one stable sort per draw by the rounded key with
    # the ineligible last (NaN sorts after everything, -inf keys included)
    perm = np.lexsort((ids, -pop[rows], -fine[rows]))
    sort_key = -np.round(key[:, perm], ROUND_DECIMALS)
    sort_key[~eligible[:, perm]] = np.nan
    if opts.diversity == 1.0 and opts.max_per_country is None:
        # no diversity penalty: a draw picks its best k_top, so a candidate with k_top
        # others strictly ahead of it (a better rounded key) in a draw cannot be picked
        # there; keep only the candidates some draw may pick (usually a few dozen)
        keep = _may_be_picked(sort_key, k_top)
        perm, sort_key = perm[keep], sort_key[:, keep]
    order = perm[np.argsort(sort_key, axis=1, kind="stable")]
    n_live = eligible[:, perm].sum(axis=1)
    picks = None
    if opts.diversity == 1.0 and opts.max_per_country is None:
        picks = _leading_picks(order, n_live, key, k_top)
    if picks is None:
        codes = np.unique(pool.country[window], return_inverse=True)[1].astype(np.int64)
        picks = diversify_draws(
            order, n_live, codes, key, k_top, opts.diversity, opts.max_per_country
        )
    at = np.searchsorted(window, chosen)
    found = window[np.minimum(at, len(window) - 1)] == chosen
    wanted = np.where(found, at, -2)  # -2: never a pick (an empty pick is -1)
    hits = (picks[:, :, None] == wanted[None, None, :]).any(axis=1).sum(axis=0)
    return hits / n_draws


def _leading_picks(order: np.ndarray, n_live: np.ndarray, key: np.ndarray, k: int):
    """:func:`diversify_draws` without a penalty when it simply takes each draw's first
    ``k`` eligible candidates in ``order``; ``None`` when that cannot be shown.

    Without a penalty a step takes the best key among each country's first remaining
    candidate, the earliest on a tie. If each of a draw's first ``k`` candidates has a key
    at least that of every eligible candidate after it, the earliest remaining candidate
    wins every step. The order is by rounded key, so this fails only where keys equal to
    1e-12 are out of order; then the caller runs the greedy.
    """
    n_d, w = order.shape
    s = np.take_along_axis(key, order, axis=1)
    live = np.arange(w)[None, :] < n_live[:, None]
    s = np.where(live, s, -np.inf)
    # the best key from each position on (-inf past the end)
    after = np.full((n_d, w + 1), -np.inf)
    after[:, :w] = np.maximum.accumulate(s[:, ::-1], axis=1)[:, ::-1]
    m = min(k, w)
    ok = (s[:, :m] >= after[:, 1 : m + 1]) | ~live[:, :m]
    if not ok.all():
        return None
    picks = np.full((n_d, k), -1, dtype=np.int64)
    picks[:, :m] = np.where(live[:, :m], order[:, :m], -1)
    return picks


class _Draws:
    """The window's data and the draws' parameters; :meth:`scores` re-scores any subset of
    the window under every draw. Each value depends on its own candidate only (every
    operation is elementwise over candidates), so a subset's values are the whole
    window's, bit for bit."""

    def __init__(self, pool: Pool, window: np.ndarray, n_draws: int):
        opts = pool.options
        self.pool, self.window, self.n_draws = pool, window, n_draws
        self.asym_t = np.ascontiguousarray(pool.asym[window].T)
        self.missing_t = np.ascontiguousarray(pool.result.missing[window].T)
        self.imputed_t = pool.result.imputed[window].T & ~self.missing_t
        self.unc_t = (
            None if pool.uncertainty is None else np.ascontiguousarray(pool.uncertainty[window].T)
        )
        seed = [ROBUSTNESS_SEED, int(pool.local["city_id"]) % (2**32)]
        self.weights, self.bands, self.ideals = draw_parameters(
            opts.scenario, n_draws, seed, opts.hdi_scale
        )

    def scores(self, sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(key, eligible)`` (draws, len(sub)) of the window's candidates ``sub``: the
        ranking score and the gates under each draw."""
        pool, opts = self.pool, self.pool.options
        scen = opts.scenario
        n_draws, n_w = self.n_draws, len(sub)
        asym_t = self.asym_t[:, sub]
        missing_t = self.missing_t[:, sub]
        imputed_t = self.imputed_t[:, sub]
        unc_t = None if self.unc_t is None else self.unc_t[:, sub]
        weights, bands, ideals = self.weights, self.bands, self.ideals
        hdi_scale = opts.hdi_scale
        k = len(INDICATOR_NAMES)
        two_sided = {n: b.two_sided for n, b in scen.bands.items()}
        base_w = scen.weight_array()
        penalty = scen.imputed_penalty
        # desirability (0 where missing) and the weighted sum, every draw at once; all the
        # banded indicators in one call (the two-sided ones as absolute values)
        D = np.zeros((k, n_draws, n_w))
        banded = [j for j, name in enumerate(INDICATOR_NAMES) if name in scen.bands]
        if banded:
            x = asym_t[banded][:, None, :]
            for i, j in enumerate(banded):
                if two_sided[INDICATOR_NAMES[j]]:
                    np.abs(x[i], out=x[i])
            p = bands[:, banded, :].transpose(1, 0, 2)[..., None]  # (banded, draws, 4, 1)
            m = ideals[:, banded].T[..., None]
            D[banded] = desirability_draws(
                x, p[:, :, 0], p[:, :, 1], p[:, :, 2], p[:, :, 3], m, False
            )
            for j in banded:
                D[j][:, missing_t[j]] = 0.0
        num = np.zeros((n_draws, n_w))
        den = np.zeros((n_draws, n_w))
        for j in range(k):
            if base_w[j] == 0:
                continue
            wj = np.repeat(weights[:, j, None], n_w, axis=1)
            add_weighted(num, den, wj, D[j], imputed_t[j], missing_t[j], penalty)
        weighted_mean(num, den)
        # the gates under each draw
        wsum = weights.sum(axis=1)
        eligible = np.ones((n_draws, n_w), dtype=bool)
        known = np.zeros((n_draws, n_w))
        for j in range(k):
            if base_w[j]:
                np.add(known, weights[:, j, None], out=known, where=~missing_t[j])
        known /= wsum[:, None]
        eligible &= known >= scen.min_coverage - 1e-12
        for name in scen.required:
            j = INDICATOR_NAMES.index(name)
            ok = D[j] > 0
            if unc_t is not None:
                sd = unc_t[j]
                unc = np.isfinite(sd) & (sd > 0) & ~missing_t[j]
                if unc.any():
                    h = np.nan_to_num(Z80 * sd, nan=0.0)
                    a = asym_t[j]
                    lo, hi = a - h, a + h
                    if two_sided[name]:
                        straddle = (lo <= 0) & (hi >= 0)
                        lo, hi = (
                            np.where(straddle, 0.0, np.minimum(np.abs(lo), np.abs(hi))),
                            np.maximum(np.abs(lo), np.abs(hi)),
                        )
                    with np.errstate(invalid="ignore"):
                        inside = (hi > bands[:, j, 0, None]) & (lo < bands[:, j, 3, None])
                    ok |= unc & inside
            eligible &= ok
        if scen.require_complementary:
            tol = asymmetry_tolerance(scen.tolerance, INDICATOR_NAMES, hdi_scale)
            with np.errstate(invalid="ignore"):
                ahead = (asym_t > tol[:, None]).any(axis=0)
                behind = (asym_t < -tol[:, None]).any(axis=0)
            eligible &= ahead & behind
        if scen.couplings and pool.coupling_code is not None:
            eligible &= couplings_mask(pool.coupling_code[self.window[sub]], scen.couplings)
        key = num
        if pool.feasibility is not None:
            feas = pool.feasibility[self.window[sub]]
            comb = combined_score(key, feas, opts.blend, opts.feasibility_power)  # as rank_score
            key = np.where(np.isnan(feas), -np.inf, comb)
        return key, eligible


def _reachable(draws: _Draws, feas: np.ndarray, k: int):
    """The window's candidates that some draw may pick, when there is no diversity penalty
    (each draw then picks its best ``k``), and their ``(key, eligible)`` under every draw.

    A draw's fit is at most 1, so a candidate's key is at most ``ub = (1 - blend) +
    blend * p ** power`` in every draw (``-inf`` without a feasibility). Candidates are
    scored in descending ``ub``; ``c`` is the smallest, over draws, of the k-th best key
    among the eligible scored ones (``-inf`` when a draw has fewer than k). A candidate
    with ``ub < c - 1e-9`` has, in every draw, k eligible candidates with a better rounded
    key (the rounding is at 1e-12), so it is never picked; neither is any candidate after
    it. Returns ``(sub, key, eligible)``: the kept window indices, ascending.
    """
    opts = draws.pool.options
    n_w = len(feas)
    ub = combined_score(np.ones(n_w), feas, opts.blend, opts.feasibility_power)
    ub = np.where(np.isnan(feas), -np.inf, ub)
    by_ub = np.argsort(-ub, kind="stable")
    ub_sorted = ub[by_ub]
    m = min(n_w, max(64, 6 * k))
    key, eligible = draws.scores(by_ub[:m])
    while m < n_w:
        if k > m:
            need = n_w
        else:
            masked = np.where(eligible, key, -np.inf)
            kth = np.partition(masked, m - k, axis=1)[:, m - k]
            c = float(kth.min())
            # candidates with ub >= c - 1e-9 may still be picked: a prefix of by_ub
            need = int(np.searchsorted(-ub_sorted, -(c - 1e-9), side="right"))
        if need <= m:
            break
        more = by_ub[m:need]
        k2, e2 = draws.scores(more)
        key = np.concatenate([key, k2], axis=1)
        eligible = np.concatenate([eligible, e2], axis=1)
        m = need
    sub = by_ub[:m]
    back = np.argsort(sub)
    return sub[back], key[:, back], eligible[:, back]


def _may_be_picked(sort_key: np.ndarray, k: int) -> np.ndarray:
    """Columns of ``sort_key`` (draws x candidates; minus the rounded key, NaN where not
    eligible) within some draw's best ``k``, ties at the cut included."""
    n_d, w = sort_key.shape
    if k >= w:
        return np.ones(w, dtype=bool)
    kth = np.partition(sort_key, k - 1, axis=1)[:, k - 1 : k]  # NaN sorts last
    with np.errstate(invalid="ignore"):
        near = (sort_key <= kth) | (np.isnan(kth) & ~np.isnan(sort_key))
    return near.any(axis=0)


__all__ = ["draw_parameters", "desirability_draws", "diversify_draws", "robustness_of"]
