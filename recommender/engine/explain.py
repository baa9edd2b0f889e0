"""The full breakdown of one (local city, candidate) pair: every number behind its score.

Examples
--------
>>> from recommender.engine.explain import explain
>>> ex = explain("Medan", "Ichikawa")
>>> round(float(ex.breakdown["contribution"].sum()), 9) == round(ex.score, 9)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.data.access import get_cities
from recommender.data.indicators import BY_NAME, INDICATOR_NAMES
from recommender.data.modelled import Z80, comparable_cities, rule_text
from recommender.data.tables import eligibility_of, load_eligibility, resolve_city
from recommender.engine.options import combined_score
from recommender.engine.ranking import robustness_text
from recommender.engine.scenarios import DEFAULT_SCENARIO
from recommender.engine.scoring import effective_weights, interval_in_band
from recommender.engine.shortlist import (
    _frame_for,
    build_pool,
    is_city_mask,
    robustness_of,
    select,
    why_feasibility,
)
from recommender.engine.standing import default_ranking, full_feasibility
from recommender.errors import FilterError
from recommender.i18n import (
    _,
    format_number,
    format_percent,
    format_signed,
    get_translator,
    indicator_label,
)


@dataclass
class Explanation:
    """One pair, explained.

    Attributes
    ----------
    summary : dict
        Local city, candidate, scenario, score, coupling, rank in the pool, eligibility,
        distance, existing partner, the one-line why.
    breakdown : pandas.DataFrame
        One row per indicator: both values with their level, source and year, the ratio
        (HDI: difference), the signed asymmetry, the class, the scenario's band, the
        desirability, the weight and effective weight share, and the contribution. The
        contributions add up to the score.
    """

    summary: dict
    breakdown: pd.DataFrame
    row: pd.DataFrame = field(repr=False)

    @property
    def score(self) -> float:
        return float(self.summary["score"])


def _band_text(band, indicator: str) -> str:
    """A band as ``min … [lo, hi] … max`` in the language in force (decimal comma in id)."""
    lo, hi = band.lo, band.hi
    decimal = get_translator().decimal
    if BY_NAME[indicator].transform == "log":
        fmt = lambda v: "∞" if math.isinf(v) else f"{v:.3g}".replace(".", decimal) + "×"  # noqa: E731
    else:
        fmt = lambda v: "∞" if math.isinf(v) else format_signed(v, 2)  # noqa: E731
    two = " " + _("(either direction)") if getattr(band, "two_sided", False) else ""
    return f"{fmt(band.min)} … [{fmt(lo)}, {fmt(hi)}] … {fmt(band.max)}{two}"


def explain(
    city,
    candidate,
    scenario=DEFAULT_SCENARIO,
    *,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    country: str | None = None,
    candidate_country: str | None = None,
    method: str = "wsm",
    overrides=None,
) -> Explanation:
    """Explain the score of ``candidate`` for the local ``city`` under ``scenario``.

    The candidate is scored exactly as :func:`~recommender.engine.shortlist.recommend` would score
    it (same pool, so TOPSIS references agree), with domestic cities and existing partners
    kept in the pool so that any pair can be explained.
    """
    raw_cities = get_cities(cities)
    cities = comparable_cities(raw_cities)
    cand = resolve_city(candidate, candidate_country, cities, prefer_local=False)
    pool = build_pool(
        city,
        scenario,
        cities=cities,
        ties=ties,
        country=country,
        method=method,
        include_partners=True,
        include_domestic=True,
        include_city_parts=True,
        include_ineligible=True,
        overrides=overrides,
    )
    hit = np.flatnonzero(pool.city_id == int(cand["city_id"]))
    if len(hit) == 0:
        raise FilterError(
            f'"{cand["name"]}" is the local city itself; choose another candidate to explain'
        )
    i = int(hit[0])
    row = _frame_for(pool, np.array([i]))
    res = pool.result
    scen = pool.options.scenario
    local = pool.local

    # rank among eligible candidates of the default pool (other countries, no partners),
    # by the strategy fit alone: "how good is this pair among all"
    default_mask = res.eligible & ~pool.is_partner & (pool.country != local["country_code"])
    default_mask &= is_city_mask(cities)[pool.positions]
    if local["country_code"] == "ID":
        default_mask &= eligibility_of(pool.country) != "no"
    better = int(np.sum(np.round(pool.score[default_mask], 9) > round(float(pool.score[i]), 9)))
    w = scen.weight_array(INDICATOR_NAMES)
    W = effective_weights(w, res.missing[i : i + 1], res.imputed[i : i + 1], scen.imputed_penalty)[
        0
    ]
    share = W / W.sum() if W.sum() > 0 else np.zeros_like(W)
    recs = []
    for j, n in enumerate(INDICATOR_NAMES):
        ind = BY_NAME[n]
        recs.append(
            {
                "indicator": ind.label,
                "local_value": local.get(n),
                "local_level": local.get(f"{n}_level"),
                "candidate_value": cand[n],
                "candidate_level": "missing" if pd.isna(cand[n]) else cand[f"{n}_level"],
                "ratio_or_diff": row["hdi_diff" if n == "hdi" else f"{n}_ratio"].iloc[0],
                "asymmetry": pool.asym[i, j],
                "class": row[f"{n}_class"].iloc[0],
                "band": _band_text(scen.bands[n], n) if n in scen.bands else "",
                "desirability": res.desirability[i, j],
                "weight": w[j],
                "weight_share": share[j] if method == "wsm" else np.nan,
                "contribution": res.contributions[i, j],
                "candidate_source": cand[f"{n}_source"],
                "candidate_year": cand[f"{n}_year"],
                "candidate_low": cand.get(f"{n}_low", np.nan),
                "candidate_high": cand.get(f"{n}_high", np.nan),
                "candidate_national": cand.get(f"{n}_national", np.nan),
            }
        )
    breakdown = pd.DataFrame(recs)
    gates = []
    bands, two_sided = scen.band_matrix(INDICATOR_NAMES, pool.options.hdi_scale)
    for name in scen.required:
        j = list(INDICATOR_NAMES).index(name)
        if res.desirability[i, j] > 0:
            continue
        sd = 0.0 if pool.uncertainty is None else float(pool.uncertainty[i, j])
        if (
            sd > 0
            and interval_in_band(
                pool.asym[i : i + 1, j], np.array([Z80 * sd]), bands[j], bool(two_sided[j])
            )[0]
        ):
            continue  # a modelled figure whose interval reaches the band: not a reason
        gates.append(
            (
                _("{indicator} (its whole 80% interval) is outside the scenario's band (required)")
                if sd > 0
                else _("{indicator} is outside the scenario's band (required)")
            ).format(indicator=indicator_label(name))
        )
    label = "" if pool.coupling_code is None else str(pool.coupling_at(i))
    if scen.couplings and label not in scen.couplings:
        gates.append(
            _("the pair is {label}, the scenario shortlists only {couplings} pairs").format(
                label=label or _("unlabelled"), couplings=" / ".join(scen.couplings)
            )
        )
    known_share = float((w * ~res.missing[i]).sum() / w.sum())
    if known_share < scen.min_coverage - 1e-12:
        gates.append(
            _(
                "only {share} of the scenario's weight is on known figures "
                "(at least {needed} needed)"
            ).format(share=format_percent(known_share), needed=format_percent(scen.min_coverage))
        )
    if scen.require_complementary and not res.eligible[i] and not gates:
        gates.append(_("each side must lead on some indicator (complementary)"))
    summary = {
        "local": f"{local['name']} ({local['country_code']}), id {int(local['city_id'])}",
        "candidate": f"{cand['name']} ({cand['country_code']}), id {int(cand['city_id'])}",
        "scenario": scen.name,
        "method": method,
        "score": float(pool.score[i]),
        "coupling": row["coupling"].iloc[0],
        "eligible": bool(res.eligible[i]),
        "excluded_because": "; ".join(gates),
        "rank_among_eligible": better + 1 if res.eligible[i] else None,
        "n_eligible": int(default_mask.sum()),
        "distance_km": float(row["distance_km"].iloc[0]),
        "existing_partner": bool(pool.is_partner[i]),
        "domestic": cand["country_code"] == local["country_code"],
        "kind": row["kind"].iloc[0],
        "part_of": int(cand.get("part_of", 0) or 0),
        "eligibility": row["eligibility"].iloc[0],
        "eligibility_reason": _eligibility_reason(str(cand["country_code"])),
        "why": row["why"].iloc[0],
        "like_with_like": rule_text(),
    }
    summary.update(
        shortlist_standing(
            city,
            scenario,
            int(cand["city_id"]),
            cities=raw_cities,
            ties=ties,
            country=country,
            method=method,
            overrides=overrides,
        )
    )
    return Explanation(summary=summary, breakdown=breakdown, row=row)


def shortlist_standing(
    city,
    scenario,
    candidate_id: int,
    *,
    cities: pd.DataFrame,
    ties: pd.DataFrame | None,
    country: str | None,
    method: str,
    overrides=None,
) -> dict:
    """Where the candidate stands in the *default* shortlist of ``city`` (the list
    ``recommend`` shows: fit and feasibility blended, gates, diversity): its place in the
    list (or none), its feasibility and combined score, and its robustness, the share of
    the seeded weightings in which it is in the top k, the same number the shortlist shows
    for a listed candidate.

    Keys: ``feasibility``, ``combined``, ``why_feasibility``, ``shortlist_rank`` (1-based,
    or None when the candidate is not in the top k), ``shortlist_top`` (k),
    ``robustness``, ``robustness_text``, ``default_rank`` and ``n_ranked`` (its place in
    the default ranking of the whole pool, :mod:`recommender.engine.standing`: the list
    first, then every other candidate by combined score, gated or not) and ``standing``
    (one sentence). A candidate the default pool leaves out (a partner already, domestic,
    a part of a city, an ineligible country) has only ``standing``; one the scenario's
    gates exclude has its place in the default ranking, its feasibility and combined
    score, but no robustness (no weighting can list it).
    """
    pool = build_pool(
        city, scenario, cities=cities, ties=ties, country=country, method=method,
        overrides=overrides, feasibility="auto",
    )  # fmt: skip
    top = pool.options.top
    out: dict = {
        "feasibility": None,
        "combined": None,
        "why_feasibility": "",
        "shortlist_rank": None,
        "shortlist_top": top,
        "robustness": None,
        "robustness_text": "",
        "default_rank": None,
        "n_ranked": None,
    }
    hit = np.flatnonzero(pool.city_id == candidate_id)
    if len(hit) == 0:
        out["standing"] = _("Not a candidate of the default shortlist (see above).")
        return out
    i = int(hit[0])
    chosen = select(pool)
    p_all = full_feasibility(pool, cities)
    if p_all is not None:
        pool.feasibility = p_all  # the same values where the pool had them, the rest filled
    order = default_ranking(pool, chosen, p_all)
    out["default_rank"] = int(np.flatnonzero(order == i)[0]) + 1
    out["n_ranked"] = int(len(order))
    where = _("#{rank} of {n} in the default ranking").format(
        rank=format_number(out["default_rank"]), n=format_number(out["n_ranked"])
    )
    if p_all is not None:
        b, g = pool.options.blend, pool.options.feasibility_power
        p = float(p_all[i])
        out["feasibility"] = p
        out["combined"] = float(combined_score(float(pool.score[i]), p, b, g))
        out["why_feasibility"] = why_feasibility(float(pool.score[i]), p, b, g)
    if not pool.result.eligible[i]:
        out["standing"] = _(
            "Never in a {scenario} list (its gates exclude the pair); {where}"
        ).format(scenario=pool.options.scenario.name, where=where)
        return out
    place = np.flatnonzero(chosen == i)
    share = float(robustness_of(pool, np.array([i]), top=top)[0])
    out["robustness"] = share
    out["robustness_text"] = robustness_text(share, top)
    if len(place):
        out["shortlist_rank"] = int(place[0]) + 1
        out["standing"] = _("#{rank} of the default top {top}; {robust}").format(
            rank=out["shortlist_rank"], top=top, robust=out["robustness_text"]
        )
    else:
        out["standing"] = _("Not in the default top {top}; {robust}; {where}").format(
            top=top, robust=out["robustness_text"], where=where
        )
    return out


def _eligibility_reason(country_code: str) -> str:
    table = load_eligibility()
    hit = table[table["country_code"] == country_code]
    return "" if hit.empty else f"{hit['reason'].iloc[0]} ({hit['legal_source'].iloc[0]})"


__all__ = ["Explanation", "explain"]
