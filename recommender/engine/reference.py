"""The reference shortlist: :func:`recommend_naive`, a plain Python loop over candidates.

Deliberately simple and slow: it restates the scoring rules of
:mod:`recommender.engine.scoring` one candidate at a time, so that the vectorised engine
(:func:`recommender.engine.shortlist.recommend`) can be checked against it (identical
rankings) and benchmarked against it. A change to the scoring rules must be made in both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from recommender.data.access import get_cities, get_ties, partner_ids, resolve_local
from recommender.data.indicators import BY_NAME, INDICATOR_NAMES, QUALITY_RANK
from recommender.data.modelled import Z80, comparable_cities
from recommender.engine.coupling import pair_coupling
from recommender.engine.ranking import (
    ROBUSTNESS_SEED,
    ROBUSTNESS_WINDOW,
    diversify,
    perturbed_scenarios,
)
from recommender.engine.ranking import _names as _ranking_names
from recommender.engine.scenarios import DEFAULT_SCENARIO, Scenario
from recommender.engine.scoring import (
    EDGE_DESIRABILITY,
    ScoreResult,
    score_columns,
    topsis,
    wsm_contributions,
)
from recommender.engine.shortlist import (
    ROUND_DECIMALS,
    Pool,
    _float,
    _frame_for,
    apply_overrides,
    tiebreak_keys,
    validate_options,
)
from recommender.errors import FilterError


def _d_scalar(a: float, band: Sequence[float], two_sided: bool, ideal: float) -> float:
    """Scalar twin of :func:`recommender.engine.scoring.desirability` (band with ideal)."""
    if math.isnan(a):
        return math.nan
    x = abs(a) if two_sided else a
    mn, lo, hi, mx = band
    q = EDGE_DESIRABILITY
    if x < ideal and mn == -math.inf:
        return 1.0
    if x > ideal and mx == math.inf:
        return 1.0
    if lo <= x <= hi:
        if x == ideal:
            return 1.0
        width = (lo - ideal) if x < ideal else (hi - ideal)
        t = min((x - ideal) / width, 1.0) if width != 0 else 1.0
        return 1.0 - (1.0 - q) * t * t
    if x < lo:
        if lo == mn:
            return 0.0
        return 0.0 if x <= mn else q * (x - mn) / (lo - mn)
    if hi == mx:
        return 0.0
    return 0.0 if x >= mx else q * (mx - x) / (mx - hi)


def recommend_naive(
    city: str | int | pd.Series,
    scenario: str | Scenario = DEFAULT_SCENARIO,
    *,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    country: str | None = None,
    **options,
) -> pd.DataFrame:
    """Reference implementation of :func:`recommend`: a Python loop over candidates.

    Same arguments and result; deliberately simple and slow. Used to check the vectorised
    engine (identical rankings) and as the benchmark baseline.
    """
    cities = comparable_cities(get_cities(cities))
    options = {k: v for k, v in options.items() if k not in ("feasibility", "robustness")}
    opts = validate_options(scenario, cities, **options)
    local = apply_overrides(resolve_local(city, cities, country), opts.overrides)
    ties = get_ties(ties)
    scen = opts.scenario
    names = INDICATOR_NAMES
    local_id = int(local["city_id"])
    partners = set(partner_ids(local_id, ties).tolist())
    tol = [
        math.log(scen.tolerance[n])
        if BY_NAME[n].transform == "log"
        else scen.tolerance[n] / opts.hdi_scale
        for n in names
    ]
    bands = {}
    for n in names:
        b = scen.bands.get(n)
        if b is None:
            bands[n] = ((-math.inf, -math.inf, math.inf, math.inf), False, 0.0)
        elif BY_NAME[n].transform == "log":
            bands[n] = (
                tuple(math.log(v) if v > 0 else -math.inf for v in b.as_list()),
                b.two_sided,
                math.log(b.ideal_value(n)),
            )
        else:
            bands[n] = (
                tuple(v / opts.hdi_scale for v in b.as_list()),
                b.two_sided,
                b.ideal_value(n) / opts.hdi_scale,
            )
    weights = [float(scen.weights.get(n, 0.0)) for n in names]
    local_vals = [_float(local.get(n)) for n in names]

    from recommender.data.tables import load_eligibility

    elig_table = load_eligibility()
    naive_elig = dict(zip(elig_table["country_code"], elig_table["eligibility"]))
    rows = []  # (position, asym list, d list, eligible)
    for pos, r in enumerate(cities.to_dict(orient="records")):
        if int(r["city_id"]) == local_id:
            continue
        if not opts.include_domestic and r["country_code"] == local["country_code"]:
            continue
        if not opts.include_city_parts and r.get("kind", "city") != "city":
            continue
        if (
            local["country_code"] == "ID"
            and not opts.include_ineligible
            and naive_elig.get(r["country_code"], "unknown") == "no"
        ):
            continue
        if opts.countries and r["country_code"] not in opts.countries:
            continue
        if r["country_code"] in opts.exclude_countries:
            continue
        if opts.continents and r.get("continent") not in opts.continents:
            continue
        pop = _float(r["population"])
        if opts.min_population is not None and not (pop >= opts.min_population):
            continue
        if opts.max_population is not None and not (pop <= opts.max_population):
            continue
        if any(
            r.get(f"{n}_level") not in ("user",)
            and QUALITY_RANK.get(r.get(f"{n}_level"), 99) > QUALITY_RANK[lv]
            for n, lv in opts.min_level.items()
        ):
            continue
        if not opts.include_partners and int(r["city_id"]) in partners:
            continue
        asym, d, weff = [], [], []
        for j, n in enumerate(names):
            lv, cv = local_vals[j], _float(r[n])
            if BY_NAME[n].transform == "log":
                a = math.log(cv / lv) if (lv > 0 and cv > 0) else math.nan
            else:
                a = (cv - lv) / opts.hdi_scale
            dj = _d_scalar(a, *bands[n])
            wj = weights[j]
            if math.isnan(dj):
                dj, wj = 0.0, 0.0
            elif local.get(f"{n}_level") == "imputed" or r.get(f"{n}_level") == "imputed":
                if opts.method == "wsm":
                    wj *= 1.0 - scen.imputed_penalty
                else:
                    dj *= 1.0 - scen.imputed_penalty
            asym.append(a)
            d.append(dj)
            weff.append(wj)
        eligible = True
        for n in scen.required:
            j = names.index(n)
            if d[j] > 0:
                continue
            sd = _float(r.get(f"{n}_sd"))
            if math.isnan(asym[j]) or not sd > 0:
                eligible = False
                continue
            # a modelled value: its 80% interval must miss the band to exclude it
            lo_x, hi_x = asym[j] - Z80 * sd, asym[j] + Z80 * sd
            if bands[n][1]:
                lo_x, hi_x = (
                    0.0 if lo_x <= 0 <= hi_x else min(abs(lo_x), abs(hi_x)),
                    max(abs(lo_x), abs(hi_x)),
                )
            eligible = eligible and hi_x > bands[n][0][0] and lo_x < bands[n][0][3]
        known = sum(w for w, a in zip(weights, asym, strict=True) if not math.isnan(a))
        eligible = eligible and known / sum(weights) >= scen.min_coverage - 1e-12
        if scen.require_complementary:
            ahead = any(a > t for a, t in zip(asym, tol, strict=True) if not math.isnan(a))
            behind = any(a < -t for a, t in zip(asym, tol, strict=True) if not math.isnan(a))
            eligible = eligible and ahead and behind
        if scen.couplings:
            label = pair_coupling(
                np.array([asym]),
                _float(local.get("population")),
                np.array([pop]),
                tolerance=scen.tolerance,
                hdi_scale=opts.hdi_scale,
            )[0]
            eligible = eligible and label in scen.couplings
        rows.append((pos, asym, d, eligible, weff))
    if not rows:
        raise FilterError("No candidate city is left after the filters. Relax one of them.")

    if opts.method == "wsm":
        scores = [
            sum(w * dj for w, dj in zip(we, d, strict=True)) / sum(we) if sum(we) > 0 else 0.0
            for _, _, d, _, we in rows
        ]
    else:
        scores = _topsis_naive([row[2] for row in rows], weights)
    ids = cities["city_id"].to_numpy(dtype=np.int64)
    fine_all, pop_all = tiebreak_keys(cities)
    ranked = sorted(
        (i for i, row in enumerate(rows) if row[3]),
        key=lambda i: (
            -round(scores[i], ROUND_DECIMALS),
            -fine_all[rows[i][0]],
            -pop_all[rows[i][0]],
            ids[rows[i][0]],
        ),
    )
    # soft diversity, one pick at a time: each further city of a country counts
    # decay ** (cities of that country already chosen); an optional hard cap on top
    chosen, per_country = [], {}
    cap = math.inf if opts.max_per_country is None else opts.max_per_country
    left = list(ranked)
    while left and len(chosen) < opts.top:
        best, best_val = None, -math.inf
        for i in left:  # in ranked order: the first of equal adjusted scores wins
            code = cities["country_code"].iloc[rows[i][0]]
            n_code = per_country.get(code, 0)
            if n_code >= cap or (opts.diversity == 0 and n_code > 0):
                continue
            val = scores[i] * (opts.diversity**n_code if opts.diversity > 0 else 1.0)
            if val > best_val:
                best, best_val = i, val
        if best is None:
            break
        code = cities["country_code"].iloc[rows[best][0]]
        per_country[code] = per_country.get(code, 0) + 1
        chosen.append(best)
        left.remove(best)

    # package as a Pool so that the output is formatted by the same code as recommend()
    positions = np.array([row[0] for row in rows], dtype=np.int64)
    D = np.array([row[2] for row in rows], dtype=float)
    w = np.array(weights)
    # contributions are only displayed here; the check that matters is scores and ranking
    W = np.array([row[4] for row in rows], dtype=float)
    contributions = wsm_contributions(D, W) if opts.method == "wsm" else topsis(D, w)[1]
    asym_arr = np.array([row[1] for row in rows], dtype=float)
    result = ScoreResult(
        score=np.array(scores),
        contributions=contributions,
        desirability=D,
        missing=np.isnan(asym_arr),
        imputed=np.zeros(D.shape, dtype=bool),
        eligible=np.array([row[3] for row in rows]),
    )
    pool = Pool(
        local=local,
        options=opts,
        cities=cities,
        positions=positions,
        city_id=ids[positions],
        country=cities["country_code"].to_numpy(dtype=object)[positions],
        asym=asym_arr,
        result=result,
        is_partner=np.isin(ids[positions], list(partners)),
        n_pool=len(cities) - 1,
        steps=[],
        ties=ties,
    )
    return _frame_for(pool, np.array(chosen, dtype=np.int64))


def _topsis_naive(D: list[list[float]], w: list[float]) -> list[float]:
    k = len(w)
    wsum = sum(w)
    norms = [math.sqrt(sum(row[j] ** 2 for row in D)) for j in range(k)]
    V = [
        [(row[j] / norms[j] if norms[j] > 0 else 0.0) * w[j] / wsum for j in range(k)] for row in D
    ]
    ideal = [max(v[j] for v in V) for j in range(k)]
    anti = [min(v[j] for v in V) for j in range(k)]
    out = []
    for v in V:
        sp = math.sqrt(sum((v[j] - ideal[j]) ** 2 for j in range(k)))
        sm = math.sqrt(sum((v[j] - anti[j]) ** 2 for j in range(k)))
        out.append(0.5 if sp + sm == 0 else sm / (sp + sm))
    return out


def robustness_naive(pool: Pool, chosen: np.ndarray, n_draws: int | None = None) -> np.ndarray:
    """The reference for :func:`recommender.engine.robustness.robustness_of`, draw by draw.

    Share of seeded plausible variants of the scenario in which each chosen candidate
    stays in the top k (see :mod:`recommender.engine.ranking`).

    Each draw re-scores the best :data:`~recommender.engine.ranking.ROBUSTNESS_WINDOW`
    candidates by the ranking score (same gates, data, feasibility, blend and diversity)
    under jittered weights and bands. Seeded by the local city's id, so the same inputs
    give the same numbers. One :class:`~recommender.engine.scenarios.Scenario` per draw
    (:func:`~recommender.engine.ranking.perturbed_scenarios`), scored by
    :func:`~recommender.engine.scoring.score_columns` and diversified by
    :func:`~recommender.engine.ranking.diversify`: the straightforward computation.
    """
    opts = pool.options
    n_draws = opts.robustness if n_draws is None else n_draws
    if n_draws <= 0 or len(chosen) == 0:
        return np.full(len(chosen), np.nan)
    window = pool.order(ROBUSTNESS_WINDOW)[:ROBUSTNESS_WINDOW]
    window = np.union1d(window, chosen)
    asym_t = np.ascontiguousarray(pool.asym[window].T)
    missing_t = np.ascontiguousarray(pool.result.missing[window].T)
    imputed_t = np.ascontiguousarray(pool.result.imputed[window].T)
    unc_t = None if pool.uncertainty is None else np.ascontiguousarray(pool.uncertainty[window].T)
    coupling = None if pool.coupling is None else pool.coupling[window]
    feas = None if pool.feasibility is None else pool.feasibility[window]
    fine, pop = tiebreak_keys(pool.cities)
    rows = pool.positions[window]
    ids = pool.city_id[window]
    seed = [ROBUSTNESS_SEED, int(pool.local["city_id"]) % (2**32)]
    top = len(chosen)
    wanted = np.searchsorted(window, chosen)
    hits = np.zeros(len(chosen), dtype=np.int64)
    for scen in perturbed_scenarios(opts.scenario, n_draws, seed, opts.hdi_scale):
        res = score_columns(
            asym_t,
            scen,
            missing_t=missing_t,
            imputed_t=imputed_t,
            method="wsm" if opts.method == "topsis" else opts.method,
            hdi_scale=opts.hdi_scale,
            uncertainty_t=unc_t,
        )
        elig = res.eligible.copy()
        if scen.couplings and coupling is not None:
            elig &= np.isin(coupling, list(scen.couplings))
        key = res.score
        if feas is not None:
            b, g = opts.blend, opts.feasibility_power
            key = np.where(np.isnan(feas), -np.inf, (1.0 - b) * key + b * np.power(feas, g))
        e = np.flatnonzero(elig)
        k = np.round(key[e], ROUND_DECIMALS)
        order = e[np.lexsort((ids[e], -pop[rows[e]], -fine[rows[e]], -k))]
        picked = diversify(
            order, pool.country[window], key, top, opts.diversity, opts.max_per_country
        )
        hits += np.isin(wanted, picked)
    return hits / n_draws


def candidate_context_naive(
    cand_ids: Sequence[int],
    local: pd.Series,
    cities: pd.DataFrame,
    ties: pd.DataFrame,
    max_names: int = 4,
) -> pd.DataFrame:
    """The reference for :func:`recommender.engine.ranking.candidate_context`: the same
    table built with pandas, candidate by candidate."""
    ids = np.asarray(cand_ids, dtype=np.int64)
    out = pd.DataFrame(
        {
            "n_partners": np.zeros(len(ids), dtype=np.int64),
            "partners_in_country": np.zeros(len(ids), dtype=np.int64),
            "partners_in_country_names": [""] * len(ids),
            "partners_in_region_names": [""] * len(ids),
        }
    )
    if len(ids) == 0 or ties is None or len(ties) == 0:
        return out
    a = ties["city_a_id"].to_numpy(dtype=np.int64)
    b = ties["city_b_id"].to_numpy(dtype=np.int64)
    mine = np.isin(a, ids) | np.isin(b, ids)
    a, b = a[mine], b[mine]
    cand = np.concatenate([a, b])
    other = np.concatenate([b, a])
    keep = np.isin(cand, ids) & (cand != other)
    cand, other = cand[keep], other[keep]
    pairs = pd.DataFrame({"cand": cand, "other": other}).drop_duplicates()
    info = cities.set_index("city_id")
    info = info[~info.index.duplicated()]
    cc = info["country_code"].reindex(pairs["other"]).to_numpy(dtype=object)
    adm = (
        info["admin1_code"].reindex(pairs["other"]).to_numpy(dtype=object)
        if "admin1_code" in info.columns
        else np.full(len(pairs), None, dtype=object)
    )
    nm = info["name"].reindex(pairs["other"]).to_numpy(dtype=object)
    local_cc = str(local.get("country_code", ""))
    local_adm = local.get("admin1_code")
    local_id = int(local.get("city_id", -1))
    pairs = pairs.assign(cc=cc, adm=adm, name=nm)
    for k, cid in enumerate(ids):
        p = pairs[pairs["cand"] == cid]
        out.loc[k, "n_partners"] = len(p)
        dom = p[(p["cc"] == local_cc) & (p["other"] != local_id)]
        out.loc[k, "partners_in_country"] = len(dom)
        out.loc[k, "partners_in_country_names"] = _ranking_names(dom["name"], max_names)
        if local_adm is not None and local_adm == local_adm:
            reg = dom[dom["adm"] == local_adm]
            out.loc[k, "partners_in_region_names"] = _ranking_names(reg["name"], max_names)
    return out


def greedy_diversity_naive(order, country, key, top: int, decay: float, cap) -> np.ndarray:
    """The soft diversity of :func:`recommender.engine.ranking.diversify` written plainly:
    repeatedly take the best adjusted score (``key * decay ** chosen in its country``), ties
    to the earlier candidate in ``order``; an optional hard ``cap`` per country."""
    picks, counts, left = [], {}, list(order)
    while len(picks) < top:
        best, best_value = None, None
        for i in left:
            n = counts.get(country[i], 0)
            if (cap is not None and n >= cap) or (decay == 0 and n > 0):
                continue
            value = key[i] * (decay**n if n else 1.0)
            if best is None or value > best_value:
                best, best_value = i, value
        if best is None:
            break
        picks.append(best)
        left.remove(best)
        counts[country[best]] = counts.get(country[best], 0) + 1
    return np.array(picks, dtype=np.int64)


__all__ = [
    "candidate_context_naive",
    "greedy_diversity_naive",
    "recommend_naive",
    "robustness_naive",
]
