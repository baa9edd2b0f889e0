"""Ranking logic of the shortlist: soft diversity, robustness and per-candidate context.

**Soft diversity** (:func:`diversify`). A hard cap of two cities per country hides what
real Indonesian partnerships look like (they cluster: Malaysia, China, Japan) and halves the
learned feasibility's recall. Instead, each further city of a country already on the list
has its ranking score multiplied by ``decay`` (a decaying per-country bonus, in the spirit
of maximal marginal relevance with "same country" as the similarity)::

    adjusted = rank_score * decay ** (cities of its country already chosen)

and the list is built greedily, best adjusted score first. ``decay = 1`` is no diversity,
``decay = 0`` allows one city per country. A hard cap (``max_per_country``) can still be
set on top. The default decay was chosen by measurement on held-out cities (see
:data:`DEFAULT_DECAY` and ``models/evaluation.md``).

**Robustness** (:func:`robustness`). How often a shortlisted candidate stays in the top k
when the scenario's weights and bands vary within plausible ranges: a seeded Monte Carlo
(:data:`ROBUSTNESS_DRAWS` draws) over Dirichlet weights centred on the scenario's (each
weight's share varies by about +-30%) and bands whose ideal, edges and limits move by up
to 25% in ratio (0.025 in HDI) each. "Top 10 in 87% of weightings" means the candidate
stays in 87% of the drawn scenarios, with the same gates, feasibility blend and diversity.

**Context** (:func:`candidate_context`): how many partners the candidate already has,
which Indonesian cities it partners, and its partners in the local city's region
(province), for the planner who asks "is this city already engaged with us?".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from recommender.data.tables import partner_pairs
from recommender.engine.arrays import built_arrays
from recommender.i18n import _

DEFAULT_DECAY = 1.0
"""Per-country decay of the soft diversity: 1, none, by default. Chosen on held-out cities
(``python scripts/evaluate.py --grid``, ``models/evaluation.md``): real partnerships cluster
by country, and any decay cost recall (validation split, blend 0.7: recall@50 0.144 with
none, 0.108 at 0.95, 0.058 at 0.5, 0.071 with a hard cap of 2). Planners who want a spread of countries
set ``diversity`` (``--diversity 0.5``) or ``max_per_country``."""

ROBUSTNESS_DRAWS = 100
ROBUSTNESS_SEED = 0
ROBUSTNESS_WINDOW = 400
"""Candidates re-scored in each draw: the best ``ROBUSTNESS_WINDOW`` by the ranking score
(a candidate further down cannot plausibly reach the top 10 under a moderate change)."""

WEIGHT_CONCENTRATION = 40.0
BAND_JITTER_LOG = math.log(1.25)
BAND_JITTER_HDI = 0.025


def diversify(
    order: np.ndarray,
    country: np.ndarray,
    rank_score: np.ndarray,
    top: int,
    decay: float = DEFAULT_DECAY,
    max_per_country: int | None = None,
    adjusted: bool = False,
):
    """Greedy soft diversity over candidates already sorted best first (pool indices).

    Parameters
    ----------
    order : ndarray of int
        Candidate indices, best first by ``rank_score`` (ties already broken).
    country : ndarray
        Country of every candidate (indexed like ``rank_score``).
    rank_score : ndarray of float
        The ranking score (non-negative), indexed by candidate.
    top : int
        How many to choose.
    decay : float in [0, 1]
        Multiplier per city of the same country already chosen (0: one per country).
    max_per_country : int, optional
        A hard cap on top of the decay.
    adjusted : bool
        Also return the adjusted score of each pick.

    Returns
    -------
    ndarray of int, or (ndarray, ndarray) with ``adjusted``
        The chosen indices in display order (and their adjusted scores, non-increasing).

    Examples
    --------
    >>> s = np.array([1.0, 0.9, 0.8, 0.3])
    >>> diversify(np.arange(4), np.array(["A", "A", "B", "C"]), s, 3, decay=0.5).tolist()
    [0, 2, 1]
    >>> diversify(np.arange(4), np.array(["A", "A", "B", "C"]), s, 3, decay=0.0).tolist()
    [0, 2, 3]
    """
    order = np.asarray(order)
    score = np.asarray(rank_score, dtype=float)
    picks: list[int] = []
    values: list[float] = []
    fast = None
    if decay == 1.0 and max_per_country is None and len(order) and top > 0:
        fast = greedy_without_penalty(order, country, score, top)
    if fast is not None:
        picks, values = fast
    elif len(order) and top > 0:
        codes, _ = pd.factorize(np.asarray(country, dtype=object)[order])
        n_c = int(codes.max()) + 1
        # each country's candidates in the given order (a stable sort keeps it)
        by_country = np.argsort(codes, kind="stable")
        sorted_codes = codes[by_country]
        head = np.searchsorted(sorted_codes, np.arange(n_c))
        ends = np.searchsorted(sorted_codes, np.arange(n_c), side="right")
        chosen_n = np.zeros(n_c, dtype=np.int64)
        cap = np.inf if max_per_country is None else max_per_country
        s = score[order]
        while len(picks) < top:
            live = (head < ends) & (chosen_n < cap)
            if decay == 0:
                live &= chosen_n == 0
            if not live.any():
                break
            at = by_country[np.minimum(head, len(order) - 1)]  # position in ``order``
            factor = np.power(decay, chosen_n) if decay > 0 else np.ones(n_c)
            adj = np.where(live, s[at] * factor, -np.inf)
            # equal adjusted scores: the candidate earlier in the given order first
            c = int(np.lexsort((np.where(live, at, len(order)), -adj))[0])
            picks.append(int(order[at[c]]))
            values.append(float(adj[c]))
            chosen_n[c] += 1
            head[c] += 1
    out = np.asarray(picks, dtype=np.int64)
    if adjusted:
        return out, np.asarray(values, dtype=float)
    return out


def greedy_without_penalty(order, country, score, top: int):
    """:func:`diversify`'s picks and adjusted scores without a penalty (``decay`` 1, no
    cap), from a short prefix of ``order``; ``None`` when the prefix cannot show it.

    Without a penalty a step takes, among each country's first remaining candidate, the
    best score (the earliest in ``order`` on a tie), as :func:`diversify` does. The greedy
    runs over the first ``2 * top + 8`` candidates only: if each of its ``top`` picks
    scores strictly above every candidate after that prefix, none of those could have
    won a step (and they come after the prefix's candidates of their country), so the
    picks are those of the whole ``order``. Otherwise (a tie at the prefix's end, NaN, a
    country that is not a string) the caller runs the general greedy.
    """
    n = len(order)
    cut = min(n, 2 * top + 8)
    head = order[:cut]
    s = score[head]
    if np.isnan(s).any():
        return None
    cs = np.asarray(country, dtype=object)[head].tolist()
    if not all(isinstance(c, str) for c in cs):
        return None
    sl = s.tolist()
    taken = [False] * cut
    picks: list[int] = []
    values: list[float] = []
    for _step in range(min(top, cut)):
        seen: set = set()
        best = -1
        for i in range(cut):
            if taken[i] or cs[i] in seen:
                continue
            seen.add(cs[i])
            if best < 0 or sl[i] > sl[best]:
                best = i
        taken[best] = True
        picks.append(int(head[best]))
        values.append(sl[best])
    if cut < n:
        rest = float(score[order[cut:]].max())
        if len(picks) < top or not min(values) > rest:
            return None
    return picks, values


# --------------------------------------------------------------------------- robustness


def perturbed_scenarios(scenario, n: int, seed: int, hdi_scale: float = 0.1) -> list:
    """``n`` seeded plausible variants of ``scenario`` (weights and bands jittered)."""
    from recommender.data.indicators import BY_NAME
    from recommender.engine.scenarios import Band

    rng = np.random.default_rng(seed)
    names = [k for k, w in scenario.weights.items() if w > 0]
    w = np.array([scenario.weights[k] for k in names], dtype=float)
    w = w / w.sum()
    out = []
    for _draw in range(n):
        new_w = rng.dirichlet(w * WEIGHT_CONCENTRATION) if len(w) > 1 else w
        bands = {}
        for ind, b in scenario.bands.items():
            log = BY_NAME[ind].transform == "log"
            jitter = rng.uniform(-1.0, 1.0, 5)
            vals = [b.min, b.lo, b.ideal_value(ind), b.hi, b.max]
            if log:
                moved = [
                    v * math.exp(BAND_JITTER_LOG * j) if 0 < v < math.inf else v
                    for v, j in zip(vals, jitter, strict=True)
                ]
            else:
                moved = [v + BAND_JITTER_HDI * j for v, j in zip(vals, jitter, strict=True)]
            # keep the order min <= lo <= ideal <= hi <= max: a narrow band (symmetric's HDI
            # +-0.02) can cross under the jitter, and a crossed band is not a scenario
            mn, lo, ideal, hi, mx = sorted(moved)
            if log and b.two_sided:
                mn = max(mn, 1.0)
                lo, ideal, hi, mx = (max(v, mn) for v in (lo, ideal, hi, mx))
            if not log and b.two_sided:
                mn = max(mn, 0.0)
                lo, ideal, hi, mx = (max(v, mn) for v in (lo, ideal, hi, mx))
            bands[ind] = Band(mn, lo, hi, mx, b.two_sided, ideal)
        weights = {**{k: 0.0 for k in scenario.weights}, **dict(zip(names, new_w, strict=True))}
        out.append(dataclasses.replace(scenario, weights=weights, bands=bands))
    return out


def robustness(
    asym: np.ndarray,
    scenario,
    rank_fn,
    window: np.ndarray,
    shortlist: np.ndarray,
    *,
    top: int,
    n_draws: int = ROBUSTNESS_DRAWS,
    seed: int = ROBUSTNESS_SEED,
    hdi_scale: float = 0.1,
) -> np.ndarray:
    """Share of ``n_draws`` perturbed scenarios in which each shortlisted candidate stays in
    the top ``top``.

    ``rank_fn(scenario, idx)`` returns the chosen pool indices (the whole shortlist
    pipeline: scoring, gates, blend, diversity) when only the candidates ``idx`` are
    considered; ``window`` are those candidates (the best by the ranking score).
    """
    del asym, hdi_scale  # the pipeline in rank_fn has them
    hits = np.zeros(len(shortlist), dtype=np.int64)
    for scen in perturbed_scenarios(scenario, n_draws, seed):
        chosen = set(rank_fn(scen, window)[:top].tolist())
        hits += np.array([int(i) in chosen for i in shortlist], dtype=np.int64)
    return hits / max(n_draws, 1)


def robustness_text(share: float, top: int) -> str:
    """``"top 10 in 87% of weightings"`` (in the language in force)."""
    if share != share:  # NaN
        return ""
    return _("top {top} in {share} of weightings").format(top=top, share=f"{share:.0%}")


# --------------------------------------------------------------------------- context


def candidate_context(
    cand_ids: Sequence[int],
    local: pd.Series,
    cities: pd.DataFrame,
    ties: pd.DataFrame,
    max_names: int = 4,
) -> pd.DataFrame:
    """Per candidate: existing partners, Indonesian partners, partners in the local region.

    Columns: ``n_partners`` (cross-country and domestic ties in the ties table),
    ``partners_in_country`` (how many of its partners are in the local city's country) and
    ``partners_in_country_names`` (up to ``max_names``, "Bandung, Surabaya"),
    ``partners_in_region_names`` (those in the local city's own first-order region).
    The same as :func:`context_columns`, as a DataFrame.

    Examples
    --------
    >>> cities = pd.DataFrame({"city_id": [1, 2, 3], "name": ["L", "F", "K"],
    ...                        "country_code": ["ID", "JP", "ID"], "admin1_code": ["1", "9", "1"]})
    >>> ties = pd.DataFrame({"city_a_id": [2], "city_b_id": [3]})
    >>> candidate_context([2], cities.iloc[0], cities, ties)[["n_partners", "partners_in_country_names"]]
       n_partners partners_in_country_names
    0           1                         K
    """
    return pd.DataFrame(context_columns(cand_ids, local, cities, ties, max_names))


class _PartnerIndex:
    """Every city's distinct partners (a tie to itself left out), sorted by city id, and
    for a city's span of them the partner's country, first-order region and name (the
    first row of the partner's id): built once per pair of tables, the partners' rows
    looked up only for the cities asked about."""

    def __init__(self, cities: pd.DataFrame, ties: pd.DataFrame):
        # sorted once per ties table (kept in the packaged table's cache)
        self.cand, self.other = partner_pairs(ties)
        self._cities = cities
        self._rows = None
        self._values: dict[str, np.ndarray | None] = {}

    def span(self, city_id: int) -> slice:
        lo = int(np.searchsorted(self.cand, city_id, side="left"))
        hi = int(np.searchsorted(self.cand, city_id, side="right"))
        return slice(lo, hi)

    def _rows_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The first row of each city id and whether it is in the table."""
        if self._rows is None:
            arrays = built_arrays(self._cities)  # the pool's: rows already sorted by id
            if arrays is not None:
                self._rows = arrays.rows_of
            else:
                by_id = pd.Index(self._cities["city_id"].to_numpy(dtype=np.int64))
                first = ~by_id.duplicated()
                unique, rows = by_id[first], np.flatnonzero(first)

                def lookup(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                    at = unique.get_indexer(q)
                    found = at >= 0
                    return np.where(found, rows[np.maximum(at, 0)], 0), found

                self._rows = lookup
        return self._rows(ids)

    def columns(self, span) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Country code, first-order region code and name of the partners in ``span`` (a
        slice or an index array of the sorted pairs; NaN for a partner that is not in the
        cities table)."""
        pos, found = self._rows_of(self.other[span])
        out = []
        for name in ("country_code", "admin1_code", "name"):
            if name not in self._values:
                table = self._cities
                self._values[name] = (
                    table[name].to_numpy(dtype=object) if name in table.columns else None
                )
            col = np.full(len(pos), np.nan, dtype=object)
            vals = self._values[name]
            if vals is not None and len(pos):
                col[found] = vals[pos[found]]
            out.append(col)
        return out[0], out[1], out[2]


_PARTNER_INDEX: dict[tuple[int, int], tuple[pd.DataFrame, pd.DataFrame, _PartnerIndex]] = {}


def _partner_index(cities: pd.DataFrame, ties: pd.DataFrame) -> _PartnerIndex:
    key = (id(cities), id(ties))
    hit = _PARTNER_INDEX.get(key)
    if hit is not None and hit[0] is cities and hit[1] is ties:
        return hit[2]
    index = _PartnerIndex(cities, ties)
    if len(_PARTNER_INDEX) >= 4:
        _PARTNER_INDEX.clear()
    _PARTNER_INDEX[key] = (cities, ties, index)
    return index


def context_columns(
    cand_ids: Sequence[int],
    local,
    cities: pd.DataFrame,
    ties: pd.DataFrame,
    max_names: int = 4,
) -> dict[str, np.ndarray]:
    """The columns of :func:`candidate_context` as arrays (the shortlist's fast path).

    The partners of every city are indexed once per pair of tables; a call then looks up
    each candidate's few partners.
    """
    ids = np.asarray(cand_ids, dtype=np.int64)
    m = len(ids)
    out = {
        "n_partners": np.zeros(m, dtype=np.int64),
        "partners_in_country": np.zeros(m, dtype=np.int64),
        "partners_in_country_names": np.array([""] * m, dtype=object),
        "partners_in_region_names": np.array([""] * m, dtype=object),
    }
    if m == 0 or ties is None or len(ties) == 0:
        return out
    index = _partner_index(cities, ties)
    local_cc = str(local.get("country_code", ""))
    local_adm = local.get("admin1_code")
    local_id = int(local.get("city_id", -1))
    has_region = local_adm is not None and local_adm == local_adm
    # every candidate's span of partners at once, looked up together
    lo = np.searchsorted(index.cand, ids, side="left")
    hi = np.searchsorted(index.cand, ids, side="right")
    ends = np.cumsum(hi - lo)
    starts = ends - (hi - lo)
    at = np.arange(int(ends[-1])) - np.repeat(starts - lo, hi - lo)  # lo[k]..hi[k] in turn
    other = index.other[at]
    cc, adm, name = index.columns(at)
    dom = (cc == local_cc) & (other != local_id)
    reg = dom & (adm == local_adm) if has_region else None
    out["n_partners"][:] = hi - lo
    for k in range(m):
        seg = slice(int(starts[k]), int(ends[k]))
        out["partners_in_country"][k] = int(dom[seg].sum())
        out["partners_in_country_names"][k] = _names(name[seg][dom[seg]], max_names)
        if has_region:
            out["partners_in_region_names"][k] = _names(name[seg][reg[seg]], max_names)
    return out


def _names(names, max_names: int) -> str:
    vals = sorted(str(n) for n in names if isinstance(n, str))
    if len(vals) <= max_names:
        return ", ".join(vals)
    return ", ".join(vals[:max_names]) + _(" and {n} more").format(n=len(vals) - max_names)


def context_text(row) -> str:
    """One line of context: "12 partners; already partners Bandung, Surabaya (ID)"."""
    n = int(row.get("n_partners", 0))
    parts = [_("{n} partners").format(n=n) if n else _("no partners yet")]
    names = row.get("partners_in_country_names", "")
    if names:
        parts.append(_("already partners {names}").format(names=names))
    region = row.get("partners_in_region_names", "")
    if region:
        parts.append(_("in the same province: {names}").format(names=region))
    return "; ".join(parts)


__all__ = [
    "DEFAULT_DECAY",
    "candidate_context",
    "context_columns",
    "context_text",
    "diversify",
    "perturbed_scenarios",
    "robustness",
    "robustness_text",
]
