"""Where every candidate stands in the default ranking, not only the ones a list shows.

The default ranking orders a local city's whole pool (other countries, no existing
partners, no parts of cities, no ineligible countries):

1. the list :func:`~recommender.engine.shortlist.select` shows, first: gated, blended with
   feasibility, diversified;
2. then every other candidate of the pool by its ranking score: the combined score
   (:func:`~recommender.engine.options.combined_score` of fit and feasibility), or the fit
   alone when feasibility is off, *whether or not it passes the scenario's gates*.

The gates decide what a list may show: every row of a small-big list is a Small-Big pair,
however long the list. They do not decide how far down the rest lies. A pair the gates
leave out (a partner that is not richer, a pair labelled BS) still has a fit, the
contributions of its indicators, and a feasibility, so ``explain`` can say where it stands
("#1,234 of 39,016") and the evaluation (:mod:`recommender.learn.shortlist_eval`) asks
where real partners land in the same order. Ties are broken as the list breaks them
(:func:`~recommender.engine.pool.list_order`): rounded score, then data quality, then
population, then GeoNames id.
"""

from __future__ import annotations

import numpy as np

from recommender.engine.options import combined_score
from recommender.engine.pool import Pool, feasibility_scorer, list_order


def ranking_key(score: np.ndarray, p: np.ndarray | None, blend: float, power: float) -> np.ndarray:
    """The default ranking's score of each candidate: ``combined_score(score, p)``, or
    ``score`` when ``p`` is None (feasibility off). NaN (no feasibility, no score) ranks
    last."""
    key = score if p is None else combined_score(score, np.nan_to_num(p, nan=0.0), blend, power)
    return np.nan_to_num(np.asarray(key, dtype=float), nan=-np.inf)


def default_ranking(pool: Pool, chosen: np.ndarray, p: np.ndarray | None) -> np.ndarray:
    """Every pool entry once, in the default ranking: ``chosen`` (the list shown, in its
    order) first, then the others by :func:`ranking_key`, gated or not.

    ``p`` is the feasibility of every pool entry (None: feasibility off, the fit alone).
    """
    o = pool.options
    key = ranking_key(pool.score, p, o.blend, o.feasibility_power)
    rest = np.ones(len(pool.positions), dtype=bool)
    rest[chosen] = False
    return np.concatenate(
        [np.asarray(chosen, dtype=np.int64), list_order(pool, np.flatnonzero(rest), key)]
    )


def full_feasibility(pool: Pool, cities) -> np.ndarray | None:
    """The feasibility of every pool entry (the pool itself scores only the candidates
    that can reach its list; the others are NaN): the missing ones are scored by the
    pool's model, through the per-city cache when there is one. None when feasibility is
    off. ``cities`` is the table as published, which the model scores."""
    if pool.options.feasibility is None or pool.feasibility is None:
        return None
    p = np.array(pool.feasibility, dtype=float)
    need = np.flatnonzero(np.isnan(p))
    if len(need):
        score, cached = feasibility_scorer(pool.options, pool.local, cities, pool.ties)
        p[need] = score(pool.positions[need])
        if cached is not None:
            cached.save()
    return p


__all__ = ["default_ranking", "full_feasibility", "ranking_key"]
