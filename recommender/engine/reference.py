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
from recommender.data.indicators import BY_NAME, INDICATOR_NAMES, LEVEL_RANK
from recommender.engine.scenarios import DEFAULT_SCENARIO, Scenario
from recommender.engine.scoring import ScoreResult, topsis, wsm_contributions
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


def _d_scalar(a: float, band: Sequence[float], two_sided: bool) -> float:
    if math.isnan(a):
        return math.nan
    x = abs(a) if two_sided else a
    mn, lo, hi, mx = band
    if lo <= x <= hi:
        return 1.0
    if x < lo:
        if mn == -math.inf:
            return 1.0
        return 0.0 if x <= mn else (x - mn) / (lo - mn)
    if mx == math.inf:
        return 1.0
    return 0.0 if x >= mx else (mx - x) / (mx - hi)


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
    cities = get_cities(cities)
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
            bands[n] = ((-math.inf, -math.inf, math.inf, math.inf), False)
        elif BY_NAME[n].transform == "log":
            bands[n] = (
                tuple(math.log(v) if v > 0 else -math.inf for v in b.as_list()),
                b.two_sided,
            )
        else:
            bands[n] = (tuple(v / opts.hdi_scale for v in b.as_list()), b.two_sided)
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
            and LEVEL_RANK.get(r.get(f"{n}_level"), 99) > LEVEL_RANK[lv]
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
        eligible = all(d[names.index(n)] > 0 for n in scen.required)
        known = sum(w for w, a in zip(weights, asym, strict=True) if not math.isnan(a))
        eligible = eligible and known / sum(weights) >= scen.min_coverage - 1e-12
        if scen.require_complementary:
            ahead = any(a > t for a, t in zip(asym, tol, strict=True) if not math.isnan(a))
            behind = any(a < -t for a, t in zip(asym, tol, strict=True) if not math.isnan(a))
            eligible = eligible and ahead and behind
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
    chosen, per_country = [], {}
    for i in ranked:
        code = cities["country_code"].iloc[rows[i][0]]
        if per_country.get(code, 0) >= opts.max_per_country:
            continue
        per_country[code] = per_country.get(code, 0) + 1
        chosen.append(i)
        if len(chosen) == opts.top:
            break

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


__all__ = ["recommend_naive"]
