"""Comparing scenarios, and how sensitive a shortlist is to one weight.

:func:`compare` runs several scenarios for one local city and reports how much their
answers agree: the shortlists side by side, the overlap of the top-k lists, rank
correlations of the scores over the whole candidate pool, and the candidates that move most
between the first two scenarios with the indicator that drives each move.

:func:`sensitivity` scales one indicator's weight and shows how the top-k changes.

Over the pool, a candidate's *effective* score is its score when it passes the scenario's
gates and 0 when it does not: that is the score the shortlist ranks by.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.data.access import get_cities, get_ties
from recommender.data.indicators import BY_NAME, INDICATOR_NAMES
from recommender.engine.scenarios import Scenario, load_scenario
from recommender.engine.shortlist import (
    ROUND_DECIMALS,
    Pool,
    _frame_for,
    build_pool,
    select,
    select_or_explain,
)
from recommender.errors import ScenarioError


@dataclass
class Comparison:
    """The result of :func:`compare`; every table is a pandas DataFrame.

    Attributes
    ----------
    names : list of str
        Scenario names, in the order given (made unique with a suffix if repeated).
    shortlists : dict of str -> DataFrame
        The :func:`~recommender.engine.shortlist.recommend` output of each scenario.
    side_by_side : DataFrame
        Index ``rank``; per scenario a column ``"<name>"`` ("City (CC)") and
        ``"<name> score"``.
    overlap : DataFrame
        Pairwise overlap at k: the cities the two top-k lists share, divided by the length
        of the longer list (k, unless a scenario's gates leave fewer candidates); NaN when
        both are empty.
    spearman, kendall : DataFrame
        Pairwise rank correlations of the effective scores over the common candidate pool.
    movers : DataFrame
        Candidates in either of the first two top-k lists, by how far they move between
        the first two scenarios (ranks as the shortlists display them: ranking score,
        soft diversity and caps applied, up to :data:`RANK_DEPTH`), with the indicator
        whose contribution changes most (``driver``, ``driver_text`` in words) and every
        indicator's change.
    scores : DataFrame
        Effective scores of the common pool, one column per scenario, indexed by city_id.
    """

    names: list[str]
    shortlists: dict[str, pd.DataFrame]
    side_by_side: pd.DataFrame
    overlap: pd.DataFrame
    spearman: pd.DataFrame
    kendall: pd.DataFrame
    movers: pd.DataFrame
    scores: pd.DataFrame
    attrs: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, pd.DataFrame]:
        """All tables by name (the shortlists as ``shortlist:<scenario>``), for export."""
        out = {
            "side_by_side": self.side_by_side,
            "overlap": self.overlap,
            "spearman": self.spearman,
            "kendall": self.kendall,
            "movers": self.movers,
        }
        out.update({f"shortlist:{n}": df for n, df in self.shortlists.items()})
        return out


def _effective(pool: Pool) -> pd.Series:
    s = np.where(pool.result.eligible, np.round(pool.result.score, ROUND_DECIMALS), 0.0)
    return pd.Series(s, index=pd.Index(pool.city_id, name="city_id"))


RANK_DEPTH = 200
"""Displayed ranks are computed this deep: a candidate further down shows as <NA>."""


def _pool_ranks(pool: Pool, depth: int = RANK_DEPTH) -> pd.Series:
    """1-based rank as the shortlist would display it (ranking score, soft diversity and
    any cap applied: the list as it reads with ``top=depth``); <NA> where the scenario
    excludes the candidate or it ranks beyond ``depth``."""
    n_eligible = int(pool.result.eligible.sum())
    order = select(pool, top=min(depth, n_eligible)) if n_eligible else np.empty(0, np.int64)
    ranks = np.full(len(pool.city_id), -1, dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    out = pd.Series(ranks, index=pd.Index(pool.city_id, name="city_id"), dtype="Int64")
    return out.mask(out < 0)


def _overlap(a: set, b: set) -> float:
    n = max(len(a), len(b))
    return len(a & b) / n if n else float("nan")


def _label(df: pd.DataFrame) -> list[str]:
    return [f"{n} ({c})" for n, c in zip(df["name"], df["country_code"], strict=True)]


def _run(city, scenario, cities, ties, top, kwargs) -> tuple[Pool, pd.DataFrame]:
    kwargs = dict(kwargs)
    if kwargs.pop("fit_only", False):
        kwargs["feasibility"] = False
    kwargs.setdefault("feasibility", "auto")  # the same ranking as recommend()
    kwargs.setdefault("robustness", 0)
    pool = build_pool(city, scenario, cities=cities, ties=ties, top=top, **kwargs)
    return pool, _frame_for(pool, select_or_explain(pool))


def compare(
    city,
    scenarios: Sequence[str | Scenario],
    *,
    top: int = 10,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    **recommend_kwargs,
) -> Comparison:
    """Run several scenarios for one local city and measure how their answers differ.

    Parameters
    ----------
    city : str, int or pandas.Series
        The local city.
    scenarios : sequence of str or Scenario
        At least two presets, TOML paths or Scenario objects.
    top : int, default 10
        k of the shortlists and of the overlap.
    cities, ties : pandas.DataFrame, optional
        Default: the packaged tables.
    **recommend_kwargs
        Any other :func:`~recommender.engine.shortlist.recommend` option (filters, method, ...).

    Returns
    -------
    Comparison

    Examples
    --------
    >>> res = compare("Medan", ["small-big", "symmetric"], top=5)
    >>> res.overlap
               small-big  symmetric
    small-big        1.0        0.0
    symmetric        0.0        1.0
    """
    scenarios = list(scenarios)
    if len(scenarios) < 2:
        raise ScenarioError(
            f"compare needs at least two scenarios; got {len(scenarios)}: {scenarios!r}."
        )
    cities = get_cities(cities)
    ties = get_ties(ties)  # "auto" feasibility: build_pool recognises the packaged ties
    names: list[str] = []
    pools: dict[str, Pool] = {}
    shortlists: dict[str, pd.DataFrame] = {}
    for scen in scenarios:
        s = load_scenario(scen)
        name = s.name
        i = 2
        while name in pools:  # the same scenario twice (e.g. with two methods)
            name, i = f"{s.name} ({i})", i + 1
        pools[name], shortlists[name] = _run(city, s, cities, ties, top, recommend_kwargs)
        names.append(name)

    # side by side
    side = pd.DataFrame(index=pd.RangeIndex(1, top + 1, name="rank"))
    for n in names:
        df = shortlists[n]
        side[n] = pd.Series(_label(df), index=df["rank"].to_numpy(), dtype=object)
        side[f"{n} score"] = pd.Series(df["score"].to_numpy(), index=df["rank"].to_numpy())

    # overlap at k
    sets = {n: set(shortlists[n]["city_id"].tolist()) for n in names}
    overlap = pd.DataFrame(
        [[_overlap(sets[a], sets[b]) for b in names] for a in names], index=names, columns=names
    )

    # correlations over the common pool
    scores = pd.concat({n: _effective(pools[n]) for n in names}, axis=1, join="inner")
    spearman = scores.corr(method="spearman")
    kendall = scores.corr(method="kendall")

    movers = _movers(names[0], names[1], pools, shortlists, scores)
    attrs = dict(shortlists[names[0]].attrs)
    attrs.update({"scenarios": names, "top": top, "n_common_pool": len(scores)})
    return Comparison(
        names=names,
        shortlists=shortlists,
        side_by_side=side,
        overlap=overlap,
        spearman=spearman,
        kendall=kendall,
        movers=movers,
        scores=scores,
        attrs=attrs,
    )


def _contrib_frame(pool: Pool) -> pd.DataFrame:
    return pd.DataFrame(
        pool.result.contributions,
        index=pd.Index(pool.city_id, name="city_id"),
        columns=list(INDICATOR_NAMES),
    )


def _movers(a: str, b: str, pools, shortlists, scores: pd.DataFrame) -> pd.DataFrame:
    ids = list(dict.fromkeys(shortlists[a]["city_id"].tolist() + shortlists[b]["city_id"].tolist()))
    ids = [i for i in ids if i in scores.index]
    rank_a = _pool_ranks(pools[a]).reindex(ids)
    rank_b = _pool_ranks(pools[b]).reindex(ids)
    ca = _contrib_frame(pools[a]).reindex(ids)
    cb = _contrib_frame(pools[b]).reindex(ids)
    change = cb - ca
    info = pd.concat([shortlists[a], shortlists[b]]).drop_duplicates("city_id").set_index("city_id")
    out = pd.DataFrame(
        {
            "city_id": ids,
            "name": info.loc[ids, "name"].to_numpy(),
            "country_code": info.loc[ids, "country_code"].to_numpy(),
            f"rank {a}": rank_a.to_numpy(),
            f"rank {b}": rank_b.to_numpy(),
            # positive: the candidate climbs in the second scenario
            "move": (rank_a - rank_b).to_numpy(),
            f"score {a}": scores.loc[ids, a].to_numpy(),
            f"score {b}": scores.loc[ids, b].to_numpy(),
        }
    )
    abs_change = change.abs().to_numpy()
    driver_idx = np.argmax(abs_change, axis=1) if len(ids) else np.empty(0, dtype=int)
    rows = np.arange(len(ids))
    out["driver"] = [INDICATOR_NAMES[j] for j in driver_idx]
    out["driver_change"] = change.to_numpy()[rows, driver_idx]
    out["driver_text"] = [
        _driver_text(INDICATOR_NAMES[j], ca.to_numpy()[r, j], cb.to_numpy()[r, j], a, b)
        for r, j in zip(rows, driver_idx, strict=True)
    ]
    # biggest moves first; candidates excluded by one scenario (no rank there) last
    out["abs_move"] = out["move"].abs().astype("Float64").fillna(-1.0)
    out = out.sort_values(["abs_move", "city_id"], ascending=[False, True], kind="stable")
    return out.drop(columns="abs_move").reset_index(drop=True)


def _driver_text(indicator: str, before: float, after: float, a: str, b: str) -> str:
    """The driver in words: "GDP per capita: contributes 0.45 under small-big, 0.00 under
    big-small"."""
    label = BY_NAME[indicator].label
    if not (np.isfinite(before) and np.isfinite(after)):
        return f"{label}: not comparable"
    if abs(after - before) < 5e-4:
        return "no indicator changes: the move comes from the other candidates"
    verb = "gains" if after > before else "loses"
    return (
        f"{label} {verb} weight in the score: contributes {before:.2f} under {a}, "
        f"{after:.2f} under {b}"
    )


def sensitivity(
    city,
    scenario: str | Scenario,
    indicator: str,
    factors: Sequence[float] = (0.5, 1, 2),
    *,
    top: int = 10,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    **recommend_kwargs,
) -> pd.DataFrame:
    """How the top-k changes when one indicator's weight is scaled.

    Parameters
    ----------
    city : str, int or pandas.Series
    scenario : str or Scenario
    indicator : str
        One of :data:`~recommender.data.indicators.INDICATOR_NAMES`.
    factors : sequence of float, default (0.5, 1, 2)
        Multipliers of the weight (finite, >= 0). The baseline is factor 1.
    top : int, default 10
    **recommend_kwargs
        Other :func:`~recommender.engine.shortlist.recommend` options.

    Returns
    -------
    pandas.DataFrame
        One row per factor: ``factor``, ``weight``, ``weight_share`` (after
        normalisation), ``top`` (the shortlist as "City (CC)" labels), ``overlap`` with the
        baseline top-k (shared / k), ``entered`` and ``left`` (vs the baseline), and
        ``spearman`` (effective scores over the pool vs the baseline).

    Examples
    --------
    >>> sensitivity("Medan", "small-big", "hdi", (0, 1, 3))[["factor", "overlap"]]
       factor  overlap
    0     0.0      0.4
    1     1.0      1.0
    2     3.0      1.0
    """
    if indicator not in INDICATOR_NAMES:
        raise ScenarioError(
            f"Unknown indicator {indicator!r}; allowed: {', '.join(INDICATOR_NAMES)}."
        )
    factors = list(factors)
    if not factors:
        raise ScenarioError("factors must list at least one multiplier, e.g. (0.5, 1, 2).")
    for f in factors:
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not math.isfinite(f) or f < 0:
            raise ScenarioError(f"Each factor must be a finite number >= 0; got {f!r}.")
    base = load_scenario(scenario)
    cities = get_cities(cities)
    ties = get_ties(ties)  # "auto" feasibility: build_pool recognises the packaged ties
    w0 = float(base.weights.get(indicator, 0.0))

    base_pool, base_list = _run(city, base, cities, ties, top, recommend_kwargs)
    base_ids = base_list["city_id"].tolist()
    base_scores = _effective(base_pool)
    label_of = dict(zip(base_list["city_id"], _label(base_list), strict=True))

    rows = []
    for f in factors:
        scen = base.with_weights(**{indicator: w0 * f})
        pool, lst = (
            (base_pool, base_list)
            if f == 1
            else _run(city, scen, cities, ties, top, recommend_kwargs)
        )
        label_of.update(zip(lst["city_id"], _label(lst), strict=True))
        ids = lst["city_id"].tolist()
        sc = pd.concat([base_scores, _effective(pool)], axis=1, join="inner")
        rows.append(
            {
                "factor": float(f),
                "weight": w0 * f,
                "weight_share": w0 * f / sum(scen.weights.values()),
                "top": [label_of[i] for i in ids],
                "overlap": _overlap(set(ids), set(base_ids)),
                "entered": [label_of[i] for i in ids if i not in base_ids],
                "left": [label_of[i] for i in base_ids if i not in ids],
                "spearman": float(sc.corr(method="spearman").iloc[0, 1]),
            }
        )
    out = pd.DataFrame(rows)
    out.attrs.update(
        {
            "local_name": base_list.attrs.get("local_name"),
            "scenario": base.name,
            "indicator": indicator,
            "top": top,
            "note": (
                f"{indicator!r} has weight 0 in {base.name!r}: scaling it changes nothing."
                if w0 == 0
                else ""
            ),
        }
    )
    return out
