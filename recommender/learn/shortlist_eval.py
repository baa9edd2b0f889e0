"""The default shortlist's ranking of a held-out city's pool, as :func:`recommend` builds it.

:mod:`recommender.learn.evaluate` asks where a held-out city's real partners land in each
method's ranking. For the engine's *default shortlist* the ranking is not a single score:
it is the like-with-like fit of the default scenario, its gates (band, coupling), the blend
with the learned feasibility and the soft per-country diversity. Re-implementing that here
would measure a copy; so this module runs the engine's own pieces
(:func:`~recommender.engine.shortlist.pool_for`, :meth:`~recommender.engine.shortlist.Pool.order`,
:func:`~recommender.engine.shortlist.select`) on the training ties, with the retrained
model's probabilities in place of the packaged model's.

The full ranking of one held-out city's candidates (needed for percentile ranks) is:

1. the shortlist itself, ``select(pool, top=depth)``: gated, blended and diversified, as
   ``recommend(top=depth)`` shows it;
2. every other candidate of the engine's pool by the ranking score (fit, or the blend),
   whether or not it passes the scenario's gates, ties broken as the engine does: the
   default ranking of :mod:`recommender.engine.standing`, where ``explain`` reads a
   candidate's place;
3. candidates the engine's pool leaves out by default (parts of cities, countries an
   Indonesian local government may not sign with), in a seeded random order: the default
   shortlist never shows them.

The *strict* ranking, reported beside it, puts every candidate the gates leave out after
the whole gated pool instead (as if a list showed every gated-in candidate before any
other): the gates' share of the difference.

Only the top ``depth`` (50) depends on the diversity; recall@10/50 and NDCG@50 read the
shortlist exactly as a planner asking for ``--top 50`` would see it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from recommender.data.modelled import comparable_cities
from recommender.engine.pool import list_order
from recommender.engine.shortlist import pool_for, select, validate_options
from recommender.engine.standing import ranking_key

DEPTH = 50

STAGES = ("gated in", "gated out", "outside the pool", "unreachable")
"""Where a held-out partner lands in the default shortlist's pipeline: in the gated pool
(the candidates the scenario's band and coupling gates keep, the only ones the shortlist can
show), left out by the gates (ranked by its score with the rest, never shown in a list; after
the whole gated pool in the strict ranking), left out by the pool's
rules (a part of a city, an ineligible country: ranked last), or not in the evaluation's
pool at all (known only through a held-out tie: a miss for every method)."""


@dataclasses.dataclass(frozen=True)
class RankingConfig:
    """One way of ranking: ``blend`` of feasibility (None: fit only), the ``power`` the
    calibrated probability is raised to before blending (1: the probability itself),
    soft-diversity ``decay`` and an optional hard ``cap`` per country."""

    blend: float | None
    decay: float
    cap: int | None = None
    name: str | None = dataclasses.field(default=None, compare=False)
    power: float = 1.0

    @property
    def label(self) -> str:
        if self.blend is None:
            b = "fit only"
        elif self.power == 1.0:
            b = f"blend {self.blend:g}"
        else:
            b = f"blend {self.blend:g} of p^{self.power:g}"
        d = f"cap {self.cap}" if self.cap is not None else f"decay {self.decay:g}"
        return f"{b}, {d}"


class DefaultShortlistRanker:
    """Ranks held-out cities' candidates the way :func:`recommend` would, on ``ties``.

    Parameters
    ----------
    cities : pandas.DataFrame
        The cities table as published (the feasibility scores come from it; the fit uses
        its like-with-like version, as ``recommend`` does).
    ties : pandas.DataFrame
        The training ties (the held-out cities have none left): existing partners are
        excluded from the pool as in ``recommend``.
    scenario : str
        The default scenario (``small-big``).
    """

    def __init__(self, cities: pd.DataFrame, ties: pd.DataFrame, scenario: str = "small-big"):
        self.raw = cities
        self.cities = comparable_cities(cities)
        self.ties = ties
        self.opts = validate_options(scenario, self.cities, top=DEPTH, robustness=0)
        self.ids = self.cities["city_id"].to_numpy(dtype=np.int64)

    def ranks(
        self,
        q: int,
        cand: np.ndarray,
        feas: np.ndarray,
        targets: np.ndarray,
        configs: Sequence[RankingConfig],
        random_tb: np.ndarray,
    ) -> tuple[dict[RankingConfig, tuple[np.ndarray, float, np.ndarray]], np.ndarray, float]:
        """For each config: the 1-based ranks of ``targets`` (indices into ``cand``) among
        the candidates ``cand`` (row positions of the table, the evaluation's pool for the
        held-out city at row ``q``), the mean fit score of the top 10 and the targets'
        ranks in the strict ranking (gated-out candidates after the gated pool); then the stage
        of each target (:data:`STAGES`: where the pipeline puts it, the same for every
        config) and the share of ``cand`` that passes the scenario's gates.

        ``feas`` holds the retrained model's probability for each entry of ``cand``.
        """
        local = self.cities.iloc[int(q)]
        pool = pool_for(local, self.opts, self.cities, self.ties, self.raw)
        n = len(self.ids)
        # the evaluation's candidate set, in table positions, and each one's feasibility
        in_cand = np.zeros(n, dtype=bool)
        in_cand[cand] = True
        p_row = np.full(n, np.nan)
        p_row[cand] = feas
        rows = pool.positions
        usable = in_cand[rows]
        gated_in = pool.result.eligible & usable
        gated_out = ~pool.result.eligible & usable
        # positions in ``cand`` of each pool entry, to read off the targets' ranks
        where = np.full(n, -1, dtype=np.int64)
        where[cand] = np.arange(len(cand))
        # the engine's pool leaves some of the evaluation's candidates out (city parts,
        # ineligible countries): they come last, in a seeded random order
        in_pool = np.zeros(n, dtype=bool)
        in_pool[rows[usable]] = True
        outside = cand[~in_pool[cand]]
        outside = outside[np.argsort(random_tb[outside], kind="stable")]
        # where each target lands in the pipeline (the same for every config)
        stage_of = np.full(n, STAGES.index("outside the pool"), dtype=np.int8)
        stage_of[rows[gated_out]] = STAGES.index("gated out")
        stage_of[rows[gated_in]] = STAGES.index("gated in")
        stages = stage_of[cand[targets]]
        gated_share = float(gated_in.sum()) / max(len(cand), 1)
        out: dict[RankingConfig, tuple[np.ndarray, float, np.ndarray]] = {}
        eligible_saved = pool.result.eligible.copy()
        # the order after the list depends only on the ranking score (blend and power),
        # not on the diversity: sorted once per score
        sorted_by_key: dict = {}
        rest_all = np.flatnonzero(usable)
        rest_in_all = np.flatnonzero(gated_in)
        rest_out = np.flatnonzero(gated_out)

        def ranks_of(order: np.ndarray) -> np.ndarray:
            pos = where[np.concatenate([rows[order], outside])]
            rank = np.empty(len(cand), dtype=np.int64)
            rank[pos] = np.arange(1, len(pos) + 1)
            return rank[targets].astype(float)

        for cfg in configs:
            pool.options = dataclasses.replace(
                self.opts,
                blend=cfg.blend or 0.0,
                feasibility_power=cfg.power,
                diversity=cfg.decay,
                max_per_country=cfg.cap,
            )
            pool.feasibility = None if cfg.blend is None else p_row[rows]
            pool.result.eligible[:] = gated_in
            chosen = select(pool, top=DEPTH) if gated_in.any() else np.empty(0, np.int64)
            skey = (cfg.blend, cfg.power if cfg.blend is not None else None)
            if skey not in sorted_by_key:
                key = ranking_key(pool.score, pool.feasibility, cfg.blend or 0.0, cfg.power)
                sorted_by_key[skey] = (
                    list_order(pool, rest_all, key),
                    list_order(pool, rest_in_all, key),
                    list_order(pool, rest_out, key),
                )
            all_sorted, in_sorted, out_sorted = sorted_by_key[skey]
            fit10 = float(np.mean(pool.result.score[chosen[:10]])) if len(chosen) else 0.0
            default = np.concatenate([chosen, all_sorted[~np.isin(all_sorted, chosen)]])
            strict = np.concatenate([chosen, in_sorted[~np.isin(in_sorted, chosen)], out_sorted])
            out[cfg] = (ranks_of(default), fit10, ranks_of(strict))
        pool.result.eligible[:] = eligible_saved
        return out, stages, gated_share


GRID_BLENDS = (None, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
GRID_DECAYS = (1.0, 0.95, 0.9, 0.75, 0.5, 0.25, 0.0)
GRID_POWERS = (1.0, 0.5, 0.25)
"""Powers of the calibrated probability blended (``p ** power``): 1 blends the probability
itself; a smaller power spreads out the many tiny probabilities of the long tail, so that
feasibility's order survives the blend there too. Fixed before the grid was run."""
FIT_SHARE = 0.9
GRID_RULE = (
    "the highest NDCG@50 among the combinations whose top-10 mean strategy fit is at least "
    f"{FIT_SHARE:.0%} of the fit-only list's (blend none, no diversity): feasibility may "
    "reorder candidates of similar fit, not replace the strategy"
)


def grid_configs() -> list[RankingConfig]:
    """Every blend x power x diversity combination the grid measures (and a hard cap of
    2); fit only (blend None) has no power."""
    out = []
    for b in GRID_BLENDS:
        for g in (1.0,) if b is None else GRID_POWERS:
            out += [RankingConfig(b, d, power=g) for d in GRID_DECAYS]
            out.append(RankingConfig(b, 1.0, 2, power=g))
    return out


def summarise_grid(per_city: pd.DataFrame) -> tuple[list[dict], dict]:
    """Mean metrics per combination (median pooled percentile rank) and the choice by
    :data:`GRID_RULE`."""
    rows = []
    if "power" not in per_city:
        per_city = per_city.assign(power=1.0)
    for (label, blend, power, decay, cap), g in per_city.groupby(
        ["config", "blend", "power", "decay", "cap"], sort=False, dropna=False
    ):
        pcts = np.concatenate([np.asarray(p, float) for p in g["pcts"]])
        rows.append(
            {
                "config": label,
                "blend": None if pd.isna(blend) else float(blend),
                "power": float(power),
                "decay": float(decay),
                "cap": None if pd.isna(cap) else int(cap),
                "recall@10": float(g["recall@10"].mean()),
                "recall@50": float(g["recall@50"].mean()),
                "ndcg@50": float(g["ndcg@50"].mean()),
                "pct_rank": float(np.median(pcts)) if len(pcts) else float("nan"),
                "top10_fit": float(g["top10_fit"].mean()),
            }
        )
    ref = max(
        (
            r["top10_fit"]
            for r in rows
            if r["blend"] is None and r["cap"] is None and r["decay"] == 1.0
        ),
        default=0.0,
    )
    ok = [r for r in rows if r["top10_fit"] >= FIT_SHARE * ref and r["blend"] is not None]
    best = max(ok, key=lambda r: (round(r["ndcg@50"], 12), round(r["recall@50"], 12)), default=None)
    for r in rows:
        r["chosen"] = r is best
    chosen = (
        {}
        if best is None
        else {
            "blend": best["blend"],
            "power": best["power"],
            "decay": best["decay"],
            "cap": best["cap"],
        }
    )
    chosen["fit_reference"] = ref
    return rows, chosen


__all__ = [
    "DEPTH",
    "DefaultShortlistRanker",
    "GRID_POWERS",
    "GRID_RULE",
    "STAGES",
    "RankingConfig",
    "grid_configs",
    "summarise_grid",
]
