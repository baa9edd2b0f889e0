"""The shortlist's output: the DataFrame's columns built from arrays for the chosen rows, the
plain-language ``why`` text, the feasibility breakdown and ``df.attrs``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from recommender.data.indicators import (
    BY_NAME,
    INDICATOR_NAMES,
)
from recommender.engine.arrays import (
    table_arrays,
)
from recommender.engine.coupling import (
    asymmetry_tolerance,
    class_names,
    classify_asymmetry,
    display_asymmetry,
    pair_coupling,
    ratio_column,
)
from recommender.engine.features import HDI_SCALE, haversine_km
from recommender.engine.options import _float, combined_score, feasibility_term
from recommender.engine.pool import Pool, _eligibility_array, kind_at
from recommender.engine.pool_rows import plain_values
from recommender.engine.ranking import (
    context_columns,
    context_text,
    robustness_text,
)
from recommender.i18n import (
    N_,
    _,
    current_language,
    format_number,
    format_percent,
    format_signed,
    language,
)

# indicators in the order people read them in the "why" text: the economy first
_WHY_ORDER = ("gdp_per_capita_usd", "hdi", "population", "area_km2")
_NOUNS = {
    "gdp_per_capita_usd": N_("GDP per capita"),
    "hdi": N_("HDI"),
    "population": N_("population"),
    "area_km2": N_("area"),
}


def output_columns(indicators: Sequence[str] = INDICATOR_NAMES) -> list[str]:
    """Columns of the DataFrame returned by :func:`recommend`, in order."""
    cols = [
        "rank",
        "city_id",
        "name",
        "country_code",
        "country_name",
        "admin1_name",
        "score",
        "coupling",
    ]
    for n in indicators:
        cols += [ratio_column(n), f"{n}_class", f"{n}_contribution", f"{n}_level"]
    return cols + [
        "gdp_per_capita_usd_ratio_low",
        "gdp_per_capita_usd_ratio_high",
        "distance_km",
        "existing_partner",
        "kind",
        "eligibility",
        "why",
        *CONTEXT_COLUMNS,
        "robustness",
        "robustness_text",
    ]


CONTEXT_COLUMNS = [
    "n_partners",
    "partners_in_country",
    "partners_in_country_names",
    "partners_in_region_names",
    "context",
]
"""Per-candidate context (:func:`recommender.engine.ranking.candidate_context`)."""


FEASIBILITY_COLUMNS = ["feasibility", "combined", "why_feasibility"]


def why_feasibility(score: float, feasibility: float, blend: float, power: float = 1.0) -> str:
    """How ``combined`` is computed (:func:`~recommender.engine.options.combined_score`)
    and how much of it comes from the strategy fit and how much from feasibility.

    Examples
    --------
    >>> why_feasibility(0.92, 0.31, 0.3, 1.0)
    'Combined 0.74 = 0.70 × fit 0.92 + 0.30 × feasibility 0.31 (87% from strategy fit, 13% from feasibility)'
    >>> why_feasibility(0.92, 0.0625, 0.7, 0.25)
    'Combined 0.63 = 0.30 × fit 0.92 + 0.70 × 0.50 (feasibility 0.06 to the power 0.25) (44% from strategy fit, 56% from feasibility)'
    """
    fit = (1.0 - blend) * score
    term = float(feasibility_term(feasibility, power))
    feas = blend * term
    total = fit + feas
    parts = {
        "total": format_number(total, 2),
        "w_fit": format_number(1 - blend, 2),
        "score": format_number(score, 2),
        "w_feas": format_number(blend, 2),
        "feasibility": format_number(feasibility, 2),
    }
    if power == 1.0:
        head = _(
            "Combined {total} = {w_fit} × fit {score} + {w_feas} × feasibility {feasibility}"
        ).format(**parts)
    else:
        head = _(
            "Combined {total} = {w_fit} × fit {score} + {w_feas} × {term} "
            "(feasibility {feasibility} to the power {power})"
        ).format(**parts, term=format_number(term, 2), power=format_number(power, 2))
    if total <= 0:
        return head + " " + _("(neither part contributes)")
    return (
        head
        + " "
        + _("({fit_share} from strategy fit, {feasibility_share} from feasibility)").format(
            fit_share=format_percent(fit / total), feasibility_share=format_percent(feas / total)
        )
    )


# --------------------------------------------------------------------------- output


def _fmt_ratio(r: float) -> str:
    return format_number(r, 0 if r >= 9.95 else 1) + "×"


def _direction(classes: Iterable[str]) -> int | None:
    """+1 foreign bigger, -1 smaller, 0 same, None mixed or unknown."""
    s = set(classes) - {"Unknown"}
    if not s:
        return None
    if s == {"Symmetry"}:
        return 0
    if "Big" in s and "Small" in s:
        return None
    return 1 if "Big" in s else -1


def why_text(local_name: str, row: Mapping, hdi_scale: float = HDI_SCALE) -> str:
    """One plain-English line: the main gaps, then the coupling on economy and size.

    ``row`` maps ``<ratio column>``, ``<indicator>_class`` and ``<indicator>_level``.

    Examples
    --------
    >>> row = {"gdp_per_capita_usd_ratio": 5.1, "gdp_per_capita_usd_class": "Big",
    ...        "hdi_diff": 0.09, "hdi_class": "Big", "population_ratio": 1 / 3,
    ...        "population_class": "Small", "area_km2_ratio": 1.1, "area_km2_class": "Symmetry"}
    >>> why_text("Medan", row)
    "GDP per capita 5.1× Medan's, HDI +0.09; Medan has 3.0× its population; similar area: Small-Big on the economy, complementary on size"
    """
    ahead, behind_log, behind_hdi, similar, unknown, imputed = [], [], [], [], [], []
    for n in _WHY_ORDER:
        cls = row.get(f"{n}_class", "Unknown")
        v = row.get(ratio_column(n), np.nan)
        noun = _(_NOUNS[n])
        log = BY_NAME[n].transform == "log"
        if row.get(f"{n}_level") == "imputed":
            imputed.append(noun)
        hdi = _("HDI {difference}").format(difference=format_signed(v, 2)) if not log else ""
        if cls == "Big":
            ahead.append(
                _("{indicator} {ratio} {city}'s").format(
                    indicator=noun, ratio=_fmt_ratio(v), city=local_name
                )
                if log
                else hdi
            )
        elif cls == "Small":
            if log:
                behind_log.append(
                    _("{ratio} its {indicator}").format(ratio=_fmt_ratio(1 / v), indicator=noun)
                )
            else:
                behind_hdi.append(hdi)
        elif cls == "Symmetry":
            similar.append(noun)
        else:
            unknown.append(noun)
    econ = _direction(row.get(f"{n}_class", "Unknown") for n in ("gdp_per_capita_usd",))
    if econ is None:
        econ = _direction([row.get("hdi_class", "Unknown")])
    size = _direction(row.get(f"{n}_class", "Unknown") for n in ("population", "area_km2"))
    phrases = []
    if econ == 1:  # (only the phrase used is translated)
        phrases.append(_("Small-Big on the economy"))
    elif econ == -1:
        phrases.append(_("Big-Small on the economy"))
    elif econ == 0:
        phrases.append(_("similar economies"))
    else:
        phrases.append(_("economy unknown"))
    if size == 0:
        phrases.append(_("similar in size"))
    elif size is None:
        phrases.append(_("mixed on size"))
    elif econ in (1, -1) and size == -econ:
        phrases.append(_("complementary on size"))
    elif econ in (1, -1):
        phrases.append(_("bigger in size too") if size == 1 else _("smaller in size too"))
    else:
        phrases.append(_("bigger in size") if size == 1 else _("smaller in size"))
    parts = []
    if ahead:
        parts.append(", ".join(ahead))
    if behind_log or behind_hdi:
        mine = (
            [_("{city} has {items}").format(city=local_name, items=_and(behind_log))]
            if behind_log
            else []
        )
        parts.append(", ".join(mine + behind_hdi))
    if similar:
        parts.append(_("similar {items}").format(items=_and(similar)))
    if unknown:
        parts.append(_("no data on {items}").format(items=_and(unknown)))
    text = "; ".join(parts) + ": " + ", ".join(phrases)
    text = text[:1].upper() + text[1:]
    if imputed:
        text += " " + _("({items} imputed)").format(items=_and(imputed))
    return text


def _and(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return _("{items} and {last}").format(items=", ".join(items[:-1]), last=items[-1])


def _frame_for(pool: Pool, chosen: np.ndarray) -> pd.DataFrame:
    """The output DataFrame for pool indices ``chosen`` (already ordered).

    Built column by column from the table's arrays (:func:`frame_columns`) and one
    DataFrame constructor call: no row selection or column assignment on frames.
    """
    out = pd.DataFrame(frame_columns(pool, chosen))
    out.attrs.update(_attrs(pool))
    return out


def frame_columns(pool: Pool, chosen: np.ndarray, *, why: bool = True) -> dict[str, np.ndarray]:
    """The columns of the output for pool indices ``chosen``, in order, as arrays.

    ``why=False`` leaves out the ``why`` text (the atlas computes it only on demand). The
    language in force is looked up once for all the texts (not from the environment for
    each of the few hundred words).
    """
    with language(current_language()):
        return _frame_columns(pool, chosen, why=why)


def _frame_columns(pool: Pool, chosen: np.ndarray, *, why: bool) -> dict[str, np.ndarray]:
    opts = pool.options
    names = INDICATOR_NAMES
    chosen = np.asarray(chosen, dtype=np.int64)
    arr = table_arrays(pool.cities)
    pos = pool.positions[chosen]
    m = len(chosen)

    asym = pool.asym[chosen]
    tol = asymmetry_tolerance(opts.scenario.tolerance, names, opts.hdi_scale)
    codes = classify_asymmetry(asym, tol)
    if pool.coupling_code is not None:
        labels = pool.coupling_at(chosen)
    else:  # a pool built by hand: the same function decides
        labels = pair_coupling(
            asym,
            _float(pool.local.get("population")),
            arr.floats("population")[pos],
            tolerance=opts.scenario.tolerance,
            hdi_scale=opts.hdi_scale,
        )
    contributions = pool.result.contributions_at(chosen)
    score = pool.score[chosen]
    cols: dict[str, np.ndarray] = {
        "rank": np.arange(1, m + 1),
        "city_id": pool.city_id[chosen],
        "name": arr.strings("name", pos),
        "country_code": arr.strings("country_code", pos),
        "country_name": arr.strings("country_name", pos),
        "admin1_name": arr.strings("admin1_name", pos),
        "score": score,
        "coupling": labels,
    }
    for j, n in enumerate(names):
        cols[ratio_column(n)] = display_asymmetry(asym[:, j], n, opts.hdi_scale)
        cols[f"{n}_class"] = class_names(codes[:, j])
        cols[f"{n}_contribution"] = contributions[:, j]
        level = arr.strings(f"{n}_level", pos)  # a new array
        level[np.isnan(arr.floats(n)[pos])] = "missing"  # (not the whole table's values)
        cols[f"{n}_level"] = level
    cols["distance_km"] = haversine_km(
        _float(pool.local.get("latitude")),
        _float(pool.local.get("longitude")),
        arr.floats("latitude")[pos],
        arr.floats("longitude")[pos],
    )
    cols["existing_partner"] = pool.is_partner[chosen]
    cols["kind"] = kind_at(pool.cities, pos)
    cols["eligibility"] = _eligibility_array(pool.cities)[pos]
    local_name = str(pool.local.get("name", pool.local["city_id"]))
    low, high = (
        arr.floats("gdp_per_capita_usd_low")[pos],
        arr.floats("gdp_per_capita_usd_high")[pos],
    )
    local_gdp = _float(pool.local.get("gdp_per_capita_usd"))
    cols["gdp_per_capita_usd_ratio_low"] = low / local_gdp
    cols["gdp_per_capita_usd_ratio_high"] = high / local_gdp
    ctx = context_columns(pool.city_id[chosen], pool.local, pool.cities, pool.ties)
    for c in CONTEXT_COLUMNS[:-1]:
        cols[c] = ctx[c]
    cols["context"] = np.array(
        [context_text({c: ctx[c][i] for c in CONTEXT_COLUMNS[:-1]}) for i in range(m)],
        dtype=object,
    )
    rob = pool.robustness if pool.robustness is not None else np.full(m, np.nan)
    cols["robustness"] = rob
    cols["robustness_text"] = np.array([robustness_text(r, m) for r in rob], dtype=object)
    order = output_columns(names)
    if why:
        # the only per-row Python: explanations for the few shortlisted rows
        why_keys = [k for n in names for k in (ratio_column(n), f"{n}_class", f"{n}_level")]
        cols["why"] = np.array(
            [
                why_text(local_name, {k: cols[k][i] for k in why_keys}, opts.hdi_scale)
                for i in range(m)
            ],
            dtype=object,
        )
    else:
        order.remove("why")
    if pool.feasibility is not None:
        b, g = opts.blend, opts.feasibility_power
        p = pool.feasibility[chosen]
        cols["feasibility"] = p
        cols["combined"] = combined_score(score, p, b, g)
        cols["why_feasibility"] = np.array(
            [why_feasibility(s_, f_, b, g) for s_, f_ in zip(score, p)], dtype=object
        )
        order = order + FEASIBILITY_COLUMNS
    return {c: cols[c] for c in order}


def _attrs(pool: Pool) -> dict:
    opts = pool.options
    local = plain_values(pool.local)
    return {
        "local_city_id": int(local["city_id"]),
        "local_name": str(local.get("name", "")),
        "local_country_code": str(local.get("country_code", "")),
        "local_values": {n: _float(local.get(n)) for n in INDICATOR_NAMES},
        "local_levels": {
            n: ("missing" if math.isnan(_float(local.get(n))) else str(local.get(f"{n}_level", "")))
            for n in INDICATOR_NAMES
        },
        "local_sources": {n: str(local.get(f"{n}_source", "")) for n in INDICATOR_NAMES},
        "local_years": {
            n: (
                None
                if math.isnan(_float(local.get(f"{n}_year")))
                else int(_float(local.get(f"{n}_year")))
            )
            for n in INDICATOR_NAMES
        },
        "scenario": opts.scenario.name,
        "method": opts.method,
        "filters": opts.filters(),
        "overrides": dict(opts.overrides),
        "n_pool": pool.n_pool,
        "n_candidates": int(pool.n_candidates),
        "n_eligible": int(pool.result.eligible.sum()),
        "filter_steps": [list(s) for s in pool.steps],
        "left_out": dict(pool.left_out),
        "hdi_scale": opts.hdi_scale,
        "tolerance": dict(opts.scenario.tolerance),
        **({} if pool.feasibility is None else {"feasibility": _feasibility_attrs(pool)}),
        **({"feasibility_off": opts.feasibility_off} if opts.feasibility_off else {}),
    }


def _feasibility_attrs(pool: Pool) -> dict:
    model = pool.options.feasibility
    return {
        "blend": pool.options.blend,
        "feasibility_power": pool.options.feasibility_power,
        "formula": "combined = (1 - blend) * score + blend * feasibility ** feasibility_power",
        "model_sha256": model.manifest.get("arrays_sha256"),
        "model": model.manifest.get("params", {}).get("model"),
        "local_ties_hidden": True,
        "n_scored": int(np.isfinite(pool.feasibility).sum()),
    }
