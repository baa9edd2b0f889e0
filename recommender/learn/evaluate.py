"""Honest evaluation: does the engine rank real partners high, for cities it has not seen?

Protocol (:func:`evaluate`)
---------------------------
1. **Hold out whole cities.** Of the cities with at least ``min_partners`` cross-country
   partners, a random ``holdout_share`` (seeded) is held out, with *all* their ties. Nothing
   about them is left: the model is retrained on the remaining ties, the context counts
   (degrees, country-pair ties, ...) come from the remaining ties only, and the candidate
   pool is the one those ties would have built (:func:`recommender.engine.pair_features.
   candidate_pool_mask`: a city under 15,000 people is in the packaged table only because
   it has a partner, so one whose ties were all held out is dropped from the pool, and its
   partnerships count as misses).
2. **Rank the full pool.** For each held-out city every city of another country in the pool
   is scored by each method and ranked (the same candidates ``recommend`` considers with
   ``include_domestic=False``; the held-out city has no known partner left to exclude).
3. **Measure** where its true cross-country partners land: recall@10, recall@50, NDCG@50
   (binary relevance) and MRR, per city, then averaged over cities with 95% bootstrap
   confidence intervals (resampling cities). The margin of the learned model over the best
   baseline comes with a *paired* bootstrap interval (the same resampled cities for both).

Methods
-------
- ``learned``: the feasibility model (:mod:`recommender.learn.feasibility`), retrained on the
  training ties; ``learned (logreg)`` / ``learned (hgb)`` when both are compared.
- ``random``: a seeded random order.
- ``popularity``: the candidate's number of partners in the training ties.
- ``gravity``: population product over distance (for one held-out city: candidate
  population / distance).
- ``<preset>``: the pure asymmetry score of each scenario preset (``small-big``,
  ``big-small``, ``asymmetric``, ``symmetric``, ``complementary``), with the engine's
  gates (a gated-out candidate ranks last) and its order for equal scores (data quality,
  then population, then id): how a list of that scenario, as long as the pool, would rank it.
- ``small-big + feasibility``: the ``combined`` score on the table as published, with the
  small-big band gates (gated-out last).
- ``default shortlist`` / ``default shortlist (fit only)``: the engine's own default ranking
  (:mod:`recommender.learn.shortlist_eval`): its list of 50, then every other candidate of
  its pool by combined score (or fit), gated or not (:mod:`recommender.engine.standing`).

Equal scores in the other methods are broken by a seeded random order, never by id.

Indonesian cities are few: a random split holds out one or two. So besides reporting the
Indonesian local cities that the random split happens to hold out, a dedicated split holds
out **all Indonesian local cities with at least ``min_partners`` cross-country partners as
a group** (one retraining) and ranks each of them.

Run it with ``sistercity evaluate -o DIR`` or ``python scripts/evaluate.py -o DIR`` (a few
minutes on the packaged data); ``res.summary()`` and ``res.to_markdown()`` print it.

Why one file (about 1,200 lines): one evaluation protocol (splits, baselines, metrics,
bootstrap intervals, report) whose parts share the held-out split.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.data.access import get_cities, get_ties
from recommender.data.indicators import INDICATOR_NAMES, LEVEL_RANK
from recommender.engine.features import HDI_SCALE, signed_asymmetry, transforms_for
from recommender.engine.pair_features import candidate_pool_mask, features_matrix, gather
from recommender.engine.tie_context import build_context, city_arrays, cross_ties, tie_positions
from recommender.errors import OutputError, RecommenderError
from recommender.learn.feasibility import fit_model
from recommender.learn.train import _atomic_write
from recommender.learn.training import (
    DEFAULT_CONTEXT,
    DEFAULT_HARD_SHARE,
    DEFAULT_NEG_RATIO,
    DEFAULT_SEED,
)

PRESET_BASELINES = ("small-big", "big-small", "asymmetric", "symmetric", "complementary")
METRICS = ("recall@10", "recall@50", "ndcg@50", "mrr", "pct_rank")
LOWER_IS_BETTER = ("pct_rank",)
"""``pct_rank``: the median percentile rank of the held-out partners (0 = first of the
pool, 100 = last; a partner missing from the pool counts as 100), pooled over all
partners of the cities; its interval resamples cities. Lower is better."""
HIGH_INCOME_GDP = 14_005.0
"""World Bank's high-income threshold (GNI per capita, FY2025, current US$), applied to GDP
per capita as a proxy: held-out cities of countries below it form the subset that looks
most like the tool's users (Indonesia: about 4,900 US$)."""
DEVELOPING = "cities of low- and middle-income countries"
SHORTLIST = "default shortlist"
SHORTLIST_FIT = "default shortlist (fit only)"
BASELINES_TO_BEAT = ("gravity", "popularity")
DEFAULT_BLEND = 0.3
ROUND_DECIMALS = 12  # as in recommender.engine.shortlist: equal scores stay equal


# --------------------------------------------------------------------------- metric kernels


def _padded(ranks: Sequence[np.ndarray]) -> np.ndarray:
    width = max([len(r) for r in ranks] + [1])
    out = np.full((len(ranks), width), np.inf)
    for k, r in enumerate(ranks):
        out[k, : len(r)] = r
    return out


def recall_at_k(ranks: Sequence[np.ndarray], k: int) -> np.ndarray:
    """Per city: the share of its true partners ranked in the top ``k``.

    ``ranks[c]`` holds the 1-based rank of each true partner of city ``c`` (``inf`` for a
    partner that is not in the pool: a miss that still counts in the denominator).

    Examples
    --------
    >>> recall_at_k([np.array([1, 3, np.inf]), np.array([20.0])], 10).round(3).tolist()
    [0.667, 0.0]
    """
    R = _padded(ranks)
    n_true = np.array([len(r) for r in ranks], dtype=float)
    return (R <= k).sum(axis=1) / np.maximum(n_true, 1)


def ndcg_at_k(ranks: Sequence[np.ndarray], k: int) -> np.ndarray:
    """Per city: normalised discounted cumulative gain at ``k`` with binary relevance.

    ``DCG = sum over partners ranked <= k of 1 / log2(rank + 1)``, divided by the DCG of
    the ideal order (all partners first, at most ``k`` of them).

    Examples
    --------
    >>> round(float(ndcg_at_k([np.array([1.0, 3.0])], 50)[0]), 4)  # (1 + 1/2) / (1 + 1/log2 3)
    0.9197
    """
    R = _padded(ranks)
    with np.errstate(divide="ignore"):
        gain = np.where(R <= k, 1.0 / np.log2(R + 1.0), 0.0)
    n_true = np.array([len(r) for r in ranks])
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(n_true, k)]
    return np.divide(gain.sum(axis=1), ideal, out=np.zeros(len(ranks)), where=ideal > 0)


def reciprocal_rank(ranks: Sequence[np.ndarray]) -> np.ndarray:
    """Per city: 1 / rank of its best-ranked true partner (0 when none is in the pool).

    Examples
    --------
    >>> reciprocal_rank([np.array([4.0, 2.0]), np.array([np.inf])]).tolist()
    [0.5, 0.0]
    """
    best = _padded(ranks).min(axis=1)
    return np.where(np.isfinite(best), 1.0 / best, 0.0)


def percentile_ranks(ranks: Sequence[np.ndarray], sizes: Sequence[int]) -> list[np.ndarray]:
    """Per city: the percentile rank of each true partner, ``100 * rank / pool size``
    (100 for a partner that is not in the pool).

    Examples
    --------
    >>> [a.tolist() for a in percentile_ranks([np.array([1.0, np.inf])], [200])]
    [[0.5, 100.0]]
    """
    out = []
    for r, n in zip(ranks, sizes):
        r = np.asarray(r, dtype=float)
        out.append(np.where(np.isfinite(r), 100.0 * r / max(int(n), 1), 100.0))
    return out


def city_metrics(ranks: Sequence[np.ndarray], sizes: Sequence[int] | None = None) -> pd.DataFrame:
    """The metrics of :data:`METRICS`, one row per city (``pct_rank``: the median over the
    city's partners; column ``pcts`` keeps every partner's, for the pooled median). Without
    ``sizes`` the percentile ranks are left out."""
    out = pd.DataFrame(
        {
            "recall@10": recall_at_k(ranks, 10),
            "recall@50": recall_at_k(ranks, 50),
            "ndcg@50": ndcg_at_k(ranks, 50),
            "mrr": reciprocal_rank(ranks),
        }
    )
    if sizes is not None:
        pcts = percentile_ranks(ranks, sizes)
        out["pct_rank"] = [float(np.median(p)) if len(p) else np.nan for p in pcts]
        out["pcts"] = pcts
    return out


def pooled_median(pcts: Sequence[np.ndarray]) -> float:
    """Median of all partners' percentile ranks, pooled over cities."""
    allp = np.concatenate([np.asarray(p, float) for p in pcts]) if len(pcts) else np.empty(0)
    return float(np.median(allp)) if len(allp) else math.nan


def bootstrap_median_ci(
    pcts: Sequence[np.ndarray],
    other: Sequence[np.ndarray] | None = None,
    n_boot: int = 2000,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of :func:`pooled_median`, resampling cities; with
    ``other`` (the same cities under another method) the interval of the difference of
    the two pooled medians (paired: the same resampled cities for both)."""
    n = len(pcts)
    if n == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    lens = np.array([len(p) for p in pcts])
    flat = np.concatenate([np.asarray(p, float) for p in pcts])
    flat_o = None if other is None else np.concatenate([np.asarray(p, float) for p in other])
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    stats = np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(0, n, n)
        idx = np.concatenate([np.arange(starts[i], starts[i] + lens[i]) for i in pick])
        if len(idx) == 0:
            stats[b] = math.nan
            continue
        v = float(np.median(flat[idx]))
        if flat_o is not None:
            v -= float(np.median(flat_o[idx]))
        stats[b] = v
    a = (1 - level) / 2
    return float(np.nanquantile(stats, a)), float(np.nanquantile(stats, 1 - a))


def bootstrap_ci(
    values: np.ndarray, n_boot: int = 2000, seed: int = DEFAULT_SEED, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean, resampling the entries (cities).

    For a paired comparison pass the per-city differences.

    Examples
    --------
    >>> lo, hi = bootstrap_ci(np.array([0.0, 1.0] * 50), seed=1)
    >>> bool(0.38 < lo < 0.5 < hi < 0.62)
    True
    """
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), (n_boot, len(values)))
    means = values[idx].mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def rank_of(scores: np.ndarray, tiebreak: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based rank of the entries ``targets`` when sorting by score (descending), equal
    scores by ``tiebreak`` (ascending, unique).

    Examples
    --------
    >>> rank_of(np.array([0.5, 0.9, 0.5, 0.1]), np.array([3, 0, 1, 2]), np.array([0, 3]))
    array([3, 4])
    """
    s, t = scores[targets], tiebreak[targets]
    better = (scores[None, :] > s[:, None]) | (
        (scores[None, :] == s[:, None]) & (tiebreak[None, :] < t[:, None])
    )
    return better.sum(axis=1) + 1


# --------------------------------------------------------------------------- result


@dataclass
class EvaluationResult:
    """What :func:`evaluate` measured.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (split, subset, method): ``n_cities`` and, per metric, the mean and its
        95% bootstrap interval (``<metric>``, ``<metric>_lo``, ``<metric>_hi``).
    margins : pandas.DataFrame
        Per (split, subset, metric): the learned model's margin over the best baseline,
        with the paired bootstrap interval.
    per_city : pandas.DataFrame
        The per-city metrics behind the table.
    info : dict
        Protocol, sizes, seeds, the retrained models' training-set sizes: everything that
        a seed determines (saved).
    timings : dict
        Seconds spent training and ranking (printed, never saved: they vary run to run).
    """

    table: pd.DataFrame
    margins: pd.DataFrame
    per_city: pd.DataFrame
    info: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def summary(self) -> str:
        """A short human summary: recall@50, NDCG@50 and the median percentile rank per
        method of each split, the margins, and the time taken (the full tables:
        ``to_markdown``)."""
        lines = []
        shown = ("recall@50", "ndcg@50", "pct_rank")
        for (split, subset), part in self.table.groupby(["split", "subset"], sort=False):
            lines.append(f"{split}: {subset} ({int(part['n_cities'].iloc[0])} cities)")
            lines.append(
                f"  {'method':<30} {'recall@50':>19}  {'NDCG@50':>19}  {'median pct rank':>21}"
            )
            for r in part.itertuples(index=False):
                if r.method in ("random", *PRESET_BASELINES, "small-big + feasibility"):
                    continue  # in the full tables (to_markdown)
                cells = [_cell(r, m) for m in shown]
                lines.append(f"  {r.method:<30} {cells[0]:>19}  {cells[1]:>19}  {cells[2]:>21}")
            for r in self._margins_of(split, subset).itertuples(index=False):
                if r.metric in shown and r.method.startswith(SHORTLIST):
                    lines.append(f"  {r.metric}: {_margin_text(r)}")
            lines.append("")
        grid = self.info.get("grid")
        if grid:
            lines.append(_grid_choice_text(self.info))
        if self.timings:
            lines.append(f"Evaluated in {self.timings.get('seconds', 0):.0f} s.")
        return "\n".join(lines).rstrip() + "\n"

    def _margins_of(self, split: str, subset: str) -> pd.DataFrame:
        if self.margins.empty:
            return self.margins
        return self.margins[(self.margins["split"] == split) & (self.margins["subset"] == subset)]

    def to_markdown(self) -> str:
        """The tables as Markdown: statistic [95% CI] per cell."""
        lines = [
            "# Evaluation on held-out cities: the default shortlist, the feasibility model and baselines",
            "",
        ]
        info = self.info
        lines += [
            f"Seed {info.get('seed')}; held out: {info.get('holdout_share')} of the "
            f"{info.get('n_eligible')} cities with >= {info.get('min_partners')} cross-country "
            f"partners; ranked: {info.get('n_ranked')} of them (a seeded sample of "
            f"{info.get('n_sampled')} and all {info.get('n_developing')} of low- and "
            f"middle-income countries: national GDP per capita under {HIGH_INCOME_GDP:,.0f} "
            "US$, the World Bank's high-income line); pool per city: all cities of "
            f"other countries (about {info.get('pool_size', 0):,}). Recall, NDCG and MRR: mean "
            "over cities; pct_rank: median percentile rank of the held-out partners (0 = top "
            "of the pool, lower is better), pooled over partners. [95% bootstrap CI, "
            "resampling cities.]",
            "",
        ]
        for (split, subset), part in self.table.groupby(["split", "subset"], sort=False):
            lines += [f"## {split}: {subset} (n = {int(part['n_cities'].iloc[0])} cities)", ""]
            metrics = [m for m in METRICS if _col(m) in part.columns]
            header = ["method", *metrics]
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            for r in part.itertuples(index=False):
                lines.append(f"| {r.method} | " + " | ".join(_cell(r, m) for m in metrics) + " |")
            lines.append("")
            mg = self._margins_of(split, subset)
            for label, g in mg.groupby("comparison", sort=False) if len(mg) else []:
                lines.append(
                    f"{label[0].upper() + label[1:]} (paired bootstrap of the difference):"
                )
                lines.append("")
                for r in g.itertuples(index=False):
                    lines.append(f"- {r.metric}: {_margin_text(r)}")
                lines.append("")
        if info.get("diagnosis"):
            lines += _diagnosis_markdown(info["diagnosis"])
        if info.get("grid"):
            lines += _grid_markdown(info)
        for note in info.get("notes", []):
            lines.append(f"- {note}")
        return "\n".join(lines).rstrip() + "\n"

    def to_dict(self) -> dict:
        """JSON-ready: info, table and margins (records)."""
        return {
            "info": self.info,
            "table": _records(self.table),
            "margins": _records(self.margins),
        }

    def save(self, out_dir: str | Path = ".", *, force: bool = False) -> list[Path]:
        """Write ``evaluation.csv``, ``evaluation.json`` and ``evaluation.md`` (atomic) into
        ``out_dir`` (default: the current folder; never the installed package). Existing
        files are replaced only with ``force``."""
        paths = check_save_targets(out_dir, force=force)
        _atomic_write(paths[0], self.table.to_csv(index=False, float_format="%.6f").encode())
        _atomic_write(
            paths[1], (json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n").encode()
        )
        _atomic_write(paths[2], self.to_markdown().encode())
        return paths


SAVED_FILES = ("evaluation.csv", "evaluation.json", "evaluation.md")


def check_save_targets(out_dir: str | Path, *, force: bool = False) -> list[Path]:
    """The paths :meth:`EvaluationResult.save` writes, after checking that ``out_dir`` is
    a folder and that no file would be replaced without ``force``."""
    out = Path(out_dir)
    if not out.is_dir():
        raise OutputError(f'Cannot write the evaluation into "{out}": no such folder.')
    paths = [out / name for name in SAVED_FILES]
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise OutputError(f'File "{existing[0]}" already exists; use --force to overwrite')
    return paths


def national_gdp_per_capita(cities: pd.DataFrame) -> np.ndarray:
    """Per row: its country's national GDP per capita, the median of the rows whose figure
    is at country level (NaN for a country without any)."""
    lvl = cities["gdp_per_capita_usd_level"].astype(str).to_numpy()
    val = pd.to_numeric(cities["gdp_per_capita_usd"], errors="coerce")
    cc = cities["country_code"].astype(str)
    nat = val.where(lvl == "country").groupby(cc).median()
    return cc.map(nat).to_numpy(dtype=float)


def _col(metric: str) -> str:
    return metric.replace("@", "_at_")


def _cell(r, metric: str) -> str:
    c = _col(metric)
    v, lo, hi = (
        getattr(r, c, math.nan),
        getattr(r, c + "_lo", math.nan),
        getattr(r, c + "_hi", math.nan),
    )
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    fmt = "{:.1f}" if metric == "pct_rank" else "{:.3f}"
    return f"{fmt.format(v)} [{fmt.format(lo)}, {fmt.format(hi)}]"


def _margin_text(r) -> str:
    fmt = "{:+.1f}" if r.metric == "pct_rank" else "{:+.3f}"
    verdict = (
        "better, intervals apart"
        if r.intervals_apart
        else ("better (paired), intervals overlap" if r.better else "not shown better")
    )
    return (
        f"{r.method} {fmt.format(r.margin)} [{fmt.format(r.margin_lo)}, "
        f"{fmt.format(r.margin_hi)}] vs {r.baseline} ({verdict})"
    )


def pipeline_diagnosis(per_city: pd.DataFrame) -> list[dict]:
    """Where the default shortlist puts the held-out partners, per (split, subset): the
    share of partners at each stage (:data:`recommender.learn.shortlist_eval.STAGES`), the
    median percentile rank of those the gates keep and of those they leave out, under the
    default ranking and under gravity for the same partners, the pooled median of all of
    them under the default ranking, under the strict ranking (every gated-out candidate
    after the whole gated pool) and under gravity, and the mean share of the pool that
    passes the gates."""
    from recommender.learn.shortlist_eval import STAGES

    out = []
    if "stages" not in per_city:
        return out

    def median(x: np.ndarray) -> float:
        return float(np.median(x)) if len(x) else math.nan

    for (split, subset), part in per_city.groupby(["split", "subset"], sort=False):
        mine = part[part["method"] == SHORTLIST].set_index("city_id")
        grav = part[part["method"] == "gravity"].set_index("city_id")
        if mine.empty or grav.empty:
            continue
        grav = grav.loc[mine.index]
        st = np.concatenate([np.asarray(x, np.int8) for x in mine["stages"]])
        pc = np.concatenate([np.asarray(x, float) for x in mine["pcts"]])
        strict = np.concatenate([np.asarray(x, float) for x in mine["strict_pcts"]])
        gp = np.concatenate([np.asarray(x, float) for x in grav["pcts"]])
        inside = st == STAGES.index("gated in")
        gated_out = st == STAGES.index("gated out")
        row = {
            "split": split,
            "subset": subset,
            "n_partners": int(len(st)),
            "share": {
                name: float(np.mean(st == k)) if len(st) else math.nan
                for k, name in enumerate(STAGES)
            },  # fmt: skip
            "pct_rank_gated_in": median(pc[inside]),
            "gravity_pct_rank_gated_in": median(gp[inside]),
            "pct_rank_gated_out": median(pc[gated_out]),
            "gravity_pct_rank_gated_out": median(gp[gated_out]),
            "pct_rank": median(pc),
            "pct_rank_strict": median(strict),
            "gravity_pct_rank": median(gp),
            "mean_gated_pool_pct": 100.0 * float(mine["gated_share"].mean()),
        }
        out.append(row)
    return out


def _diagnosis_markdown(rows: list[dict]) -> list[str]:
    lines = [
        "## Where the default shortlist puts the held-out partners",
        "",
        "Stage of each held-out partner in the default shortlist's pipeline: kept by the "
        "scenario's gates (band, coupling; only these can be shown in a list), left out by "
        "the gates (never shown; ranked by their combined score with the rest of the pool "
        "after the list), left out by the pool's rules (city parts, ineligible countries; "
        "ranked last), or unreachable (not in the pool the training ties build; a miss for "
        "every method). Median percentile ranks (lower is better) of the gated-in and of the "
        "gated-out partners, under the default ranking and under gravity for the same "
        "partners; then of all partners under the default ranking, under the *strict* "
        "ranking (every gated-out candidate after the whole gated pool, as if a list went on "
        "through the gated pool before anything else) and under gravity.",
        "",
        "| split: subset | partners | gated in | gated out | outside the pool | unreachable "
        "| gated pool (% of pool) | pct_rank, gated in | gravity, same partners "
        "| pct_rank, gated out | gravity, same partners "
        "| pct_rank, all | strict, all | gravity, all |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sh = r["share"]
        lines.append(
            f"| {r['split']}: {r['subset']} | {r['n_partners']} | {sh['gated in']:.1%} | "
            f"{sh['gated out']:.1%} | {sh['outside the pool']:.1%} | {sh['unreachable']:.1%} | "
            f"{r['mean_gated_pool_pct']:.1f} | {r['pct_rank_gated_in']:.1f} | "
            f"{r['gravity_pct_rank_gated_in']:.1f} | {r['pct_rank_gated_out']:.1f} | "
            f"{r['gravity_pct_rank_gated_out']:.1f} | {r['pct_rank']:.1f} | "
            f"{r['pct_rank_strict']:.1f} | {r['gravity_pct_rank']:.1f} |"
        )
    lines.append("")
    return lines


def _grid_choice_text(info: dict) -> str:
    ch = info.get("grid_choice", {})
    return (
        f"Default chosen on the validation split (seed {info.get('grid_seed')}, "
        f"{info.get('grid_n_cities')} held-out cities of low- and middle-income countries, none of them in the reported split): "
        f"blend {ch.get('blend')} of feasibility^{ch.get('power', 1.0)}, decay {ch.get('decay')}."
    )


def _grid_markdown(info: dict) -> list[str]:
    lines = [
        "## Choosing the blend and the diversity",
        "",
        _grid_choice_text(info),
        "",
        f"Rule: {info.get('grid_rule')}",
        "",
        "| blend | power | diversity | recall@10 | recall@50 | ndcg@50 | pct_rank | "
        "top-10 mean fit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for g in info["grid"]:
        blend = "fit only" if g["blend"] is None else f"{g['blend']:g}"
        power = "—" if g["blend"] is None else f"{g.get('power', 1.0):g}"
        div = f"cap {g['cap']}" if g.get("cap") is not None else f"decay {g['decay']:g}"
        mark = " **(chosen)**" if g.get("chosen") else ""
        lines.append(
            f"| {blend}{mark} | {power} | {div} | {g['recall@10']:.3f} | {g['recall@50']:.3f} | "
            f"{g['ndcg@50']:.3f} | {g['pct_rank']:.1f} | {g['top10_fit']:.3f} |"
        )
    lines.append("")
    return lines


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.to_json(orient="records", double_precision=6))


# --------------------------------------------------------------------------- one split


def holdout_split(
    cities: pd.DataFrame,
    ties: pd.DataFrame,
    *,
    seed: int = DEFAULT_SEED,
    holdout_share: float = 0.2,
    min_partners: int = 3,
) -> tuple[np.ndarray, pd.DataFrame]:
    """The held-out cities and the ties left for training.

    A seeded random ``holdout_share`` of the cities with at least ``min_partners``
    cross-country partners is held out; the training ties are every tie that touches none
    of them (domestic ties included, they feed the degree counts).

    Returns
    -------
    held : ndarray of int
        GeoNames ids of the held-out cities, sorted.
    train_ties : pandas.DataFrame
        ``city_a_id``, ``city_b_id`` of the remaining ties.
    """
    A = city_arrays(cities)
    ca, cb = cross_ties(A, ties)
    n_cross = np.bincount(np.concatenate([ca, cb]), minlength=len(A.ids))
    eligible = np.flatnonzero(n_cross >= min_partners)
    if len(eligible) < 2:
        raise RecommenderError(
            f"Only {len(eligible)} cities have >= {min_partners} cross-country partners; "
            f"nothing to hold out."
        )
    rng = np.random.default_rng(seed)
    n_held = max(1, int(round(holdout_share * len(eligible))))
    held = np.sort(rng.choice(eligible, n_held, replace=False))
    return np.sort(A.ids[held]), _train_ties(A, ties, held)


def _train_ties(A, ties: pd.DataFrame, held: np.ndarray) -> pd.DataFrame:
    a_all, b_all = tie_positions(A, ties)
    held_mask = np.zeros(len(A.ids), dtype=bool)
    held_mask[held] = True
    keep = ~(held_mask[a_all] | held_mask[b_all])
    return pd.DataFrame({"city_a_id": A.ids[a_all[keep]], "city_b_id": A.ids[b_all[keep]]})


@dataclass
class _Split:
    name: str
    held: np.ndarray  # positions of the held-out cities (all of them)
    queries: np.ndarray  # positions of the ones that are ranked


def _engine_tiebreak(cities: pd.DataFrame) -> np.ndarray:
    """Position of each city in the engine's order for equal scores (data quality desc,
    population desc, id asc), as in :meth:`recommender.engine.shortlist.Pool.order`."""
    fine = np.zeros(len(cities), dtype=np.int64)
    for n in INDICATOR_NAMES:
        fine += cities[f"{n}_level"].isin(("city", "region", "user")).to_numpy(dtype=np.int64)
    pop = np.nan_to_num(cities["population"].to_numpy(dtype=float), nan=0.0)
    order = np.lexsort((cities["city_id"].to_numpy(), -pop, -fine))
    out = np.empty(len(cities), dtype=np.int64)
    out[order] = np.arange(len(cities))
    return out


def _run_split(
    split: _Split,
    cities: pd.DataFrame,
    ties: pd.DataFrame,
    *,
    seed: int,
    models: Sequence[str],
    neg_ratio: int,
    hard_share: float,
    context: str,
    blend: float,
    batch_rows: int,
    estimator_params=None,
    tick=None,
    configs: Sequence = (),
) -> tuple[pd.DataFrame, dict, dict]:
    """Retrain without the held-out cities' ties, rank the pool for each query city.

    ``tick(units, what)`` is called after the training (1 unit) and after each batch of
    ranked cities (one unit per city). Returns the per-city metrics, the info (seeded
    facts) and the timings."""
    tick = tick or (lambda units, what: None)
    from recommender.engine.scenarios import load_scenario
    from recommender.engine.scoring import score_asymmetry

    A = city_arrays(cities)
    train_ties = _train_ties(A, ties, split.held)
    t0 = time.perf_counter()
    fitted = {}
    fit_info = {}
    for kind in models:
        m, met = fit_model(
            cities,
            train_ties,
            seed=seed,
            neg_ratio=neg_ratio,
            hard_share=hard_share,
            context=context,
            model=kind,
            validate=False,
            estimator_params=estimator_params,
            # only the first model's probabilities are used as such (the blend row);
            # the others only rank, which calibration never changes
            calibrate=kind == models[0],
        )
        fitted[kind] = m
        fit_info[kind] = {k: v for k, v in met.items() if k != "validation"}
    train_seconds = time.perf_counter() - t0
    tick(1, f"{split.name}: ranking")
    ctx = build_context(A, train_ties)
    pool = candidate_pool_mask(cities, train_ties)
    popularity = ctx.degree[: len(A.ids)].astype(float)
    logpop = np.log(np.where(A.values[:, 0] > 0, A.values[:, 0], np.nan))
    engine_tb = _engine_tiebreak(cities)
    random_tb = np.random.default_rng(seed + 1).permutation(len(A.ids))
    random_score = np.zeros(len(A.ids))
    imputed_code = LEVEL_RANK["imputed"]
    transforms = transforms_for(INDICATOR_NAMES)
    scenarios = {name: load_scenario(name) for name in PRESET_BASELINES}

    # true cross-country partners of each query, from the full ties table
    ca, cb = cross_ties(A, ties)
    partners: dict[int, list[int]] = {int(q): [] for q in split.queries}
    for x, y in ((ca, cb), (cb, ca)):
        sel = np.isin(x, split.queries)
        for q, p in zip(x[sel], y[sel]):
            partners[int(q)].append(int(p))

    methods = [f"learned ({k})" if len(models) > 1 else "learned" for k in models]
    methods += ["random", "popularity", "gravity", *PRESET_BASELINES, "small-big + feasibility"]
    ranks: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    n_cands, n_unreachable = [], []
    # the engine's own ranking (fit, gates, blend, soft diversity) for each config
    ranker = None
    if configs:
        from recommender.learn.shortlist_eval import STAGES, DefaultShortlistRanker

        ranker = DefaultShortlistRanker(cities, train_ties)
    cfg_ranks: dict = {cfg: [] for cfg in configs}
    cfg_fit10: dict = {cfg: [] for cfg in configs}
    cfg_strict: dict = {cfg: [] for cfg in configs}  # gated-out candidates after the gated pool
    stages_of: list[np.ndarray] = []  # per city: each partner's stage (shortlist_eval.STAGES)
    gated_shares: list[float] = []  # per city: the share of its pool the gates keep
    t1 = time.perf_counter()

    def flush(batch: list[tuple[int, np.ndarray]]) -> None:
        if not batch:
            return
        qpos = np.concatenate([np.full(len(c), q, dtype=np.int64) for q, c in batch])
        cpos = np.concatenate([c for _, c in batch])
        X = features_matrix(ctx, gather(A, qpos), gather(A, cpos))
        scores: dict[str, np.ndarray] = {}
        for kind, name in zip(models, methods[: len(models)]):
            scores[name] = fitted[kind].predict_matrix(X)
        del X
        asym = signed_asymmetry(A.values[qpos], A.values[cpos], transforms, HDI_SCALE)
        imputed = (A.levels[qpos] == imputed_code) | (A.levels[cpos] == imputed_code)
        for name, scen in scenarios.items():
            res = score_asymmetry(asym, scen, imputed=imputed, hdi_scale=HDI_SCALE)
            s = np.round(res.score, ROUND_DECIMALS)
            scores[name] = np.where(res.eligible, s, -1.0)
            if name == "small-big":
                p = scores[methods[0]]
                comb = np.round((1 - blend) * res.score + blend * p, ROUND_DECIMALS)
                scores["small-big + feasibility"] = np.where(res.eligible, comb, -1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            dist = np.maximum(_dist(A, qpos, cpos), 1.0)
            grav = np.nan_to_num(logpop[cpos] - np.log(dist), nan=-np.inf)
        start = 0
        for q, c in batch:
            stop = start + len(c)
            where = {int(p): k for k, p in enumerate(c)}
            targets = np.array([where[p] for p in partners[q] if p in where], dtype=np.int64)
            n_miss = len(partners[q]) - len(targets)
            n_cands.append(len(c))
            n_unreachable.append(n_miss)
            seg = slice(start, stop)
            for name in methods:
                if name in scores:
                    s, tb = (
                        scores[name][seg],
                        (engine_tb[c] if name in scenarios or "+" in name else random_tb[c]),
                    )
                elif name == "random":
                    s, tb = random_score[c], random_tb[c]
                elif name == "popularity":
                    s, tb = popularity[c], random_tb[c]
                else:  # gravity
                    s, tb = grav[seg], random_tb[c]
                r = rank_of(s, tb, targets).astype(float) if len(targets) else np.empty(0)
                ranks[name].append(np.concatenate([r, np.full(n_miss, np.inf)]))
            if ranker is not None:
                got, stages, share = ranker.ranks(
                    q, c, scores[methods[0]][seg], targets, configs, random_tb
                )
                for cfg, (r, fit10, r_strict) in got.items():
                    cfg_ranks[cfg].append(np.concatenate([r, np.full(n_miss, np.inf)]))
                    cfg_fit10[cfg].append(fit10)
                    cfg_strict[cfg].append(np.concatenate([r_strict, np.full(n_miss, np.inf)]))
                unreachable = np.full(n_miss, len(STAGES) - 1, dtype=np.int8)
                stages_of.append(np.concatenate([stages, unreachable]))
                gated_shares.append(share)
            start = stop

    batch: list[tuple[int, np.ndarray]] = []
    rows = 0
    for q in split.queries:
        cand = np.flatnonzero(pool & (A.country != A.country[q]))
        cand = cand[cand != q]
        batch.append((int(q), cand))
        rows += len(cand)
        if rows >= batch_rows:
            flush(batch)
            tick(len(batch), f"{split.name}: ranking")
            batch, rows = [], 0
    flush(batch)
    tick(len(batch), f"{split.name}: ranked")
    named = [cfg for cfg in configs if getattr(cfg, "name", None)]
    for cfg in named:
        methods.append(cfg.name)
        ranks[cfg.name] = cfg_ranks[cfg]
    frames = []
    for name in methods:
        m = city_metrics(ranks[name], n_cands)
        cfg = next((c for c in named if c.name == name), None)
        if cfg is not None:
            m["stages"] = stages_of
            m["gated_share"] = gated_shares
            m["strict_pcts"] = percentile_ranks(cfg_strict[cfg], n_cands)
        m.insert(0, "method", name)
        m.insert(1, "city_id", A.ids[split.queries])
        m.insert(2, "n_partners", [len(partners[int(q)]) for q in split.queries])
        frames.append(m)
    per_city = pd.concat(frames, ignore_index=True)
    per_city.insert(0, "split", split.name)
    grid_frames = []
    for cfg in configs:
        m = city_metrics(cfg_ranks[cfg], n_cands)
        m.insert(0, "config", cfg.label)
        m.insert(1, "blend", np.nan if cfg.blend is None else cfg.blend)
        m.insert(2, "power", cfg.power)
        m.insert(3, "decay", cfg.decay)
        m.insert(4, "cap", np.nan if cfg.cap is None else cfg.cap)
        m.insert(5, "city_id", A.ids[split.queries])
        m["top10_fit"] = cfg_fit10[cfg]
        grid_frames.append(m)
    info = {
        "n_held_out": int(len(split.held)),
        "n_ranked": int(len(split.queries)),
        "n_training_ties": int(len(train_ties)),
        "n_true_partners": int(sum(len(v) for v in partners.values())),
        "unreachable_share": float(
            sum(n_unreachable) / max(1, sum(len(v) for v in partners.values()))
        ),
        "mean_pool_size": float(np.mean(n_cands)) if n_cands else 0.0,
        "models": fit_info,
    }
    if grid_frames:
        info["configs_per_city"] = pd.concat(grid_frames, ignore_index=True)
    timings = {
        "train_seconds": round(train_seconds, 1),
        "rank_seconds": round(time.perf_counter() - t1, 1),
    }
    return per_city, info, timings


def _dist(A, i, j) -> np.ndarray:
    from recommender.engine.features import haversine_km

    return haversine_km(A.lat[i], A.lon[i], A.lat[j], A.lon[j])


# --------------------------------------------------------------------------- summary


def summarise(
    per_city: pd.DataFrame, *, n_boot: int = 2000, seed: int = DEFAULT_SEED
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Statistic and bootstrap CI per (split, subset, method) — the mean over cities, or
    for ``pct_rank`` the pooled median over partners — and paired margins: the learned
    model over the best baseline, and the default shortlist over gravity and popularity,
    for each metric (a margin is "better" when its paired interval excludes 0, and
    "apart" when, besides, the two methods' own intervals do not overlap)."""
    rows, margins = [], []
    for (split, subset), part in per_city.groupby(["split", "subset"], sort=False):
        by_method = {m: g.reset_index(drop=True) for m, g in part.groupby("method", sort=False)}
        stats: dict[tuple[str, str], tuple[float, float, float]] = {}
        for method, g in by_method.items():
            row = {"split": split, "subset": subset, "method": method, "n_cities": len(g)}
            for metric in METRICS:
                if metric == "pct_rank":
                    if "pcts" not in g:
                        continue
                    est = pooled_median(list(g["pcts"]))
                    lo, hi = bootstrap_median_ci(list(g["pcts"]), n_boot=n_boot, seed=seed)
                else:
                    v = g[metric].to_numpy()
                    est = float(v.mean())
                    lo, hi = bootstrap_ci(v, n_boot, seed)
                stats[(method, metric)] = (est, lo, hi)
                row[_col(metric)] = est
                row[_col(metric) + "_lo"], row[_col(metric) + "_hi"] = lo, hi
            rows.append(row)

        def margin(
            a: str,
            b: str,
            metric: str,
            label: str,
            stats=stats,
            by_method=by_method,
            split=split,
            subset=subset,
        ) -> None:
            if (a, metric) not in stats or (b, metric) not in stats:
                return
            if metric == "pct_rank":
                pa, pb = list(by_method[a]["pcts"]), list(by_method[b]["pcts"])
                diff = pooled_median(pa) - pooled_median(pb)
                lo, hi = bootstrap_median_ci(pa, pb, n_boot=n_boot, seed=seed)
            else:
                d = by_method[a][metric].to_numpy() - by_method[b][metric].to_numpy()
                diff = float(d.mean())
                lo, hi = bootstrap_ci(d, n_boot, seed)
            lower = metric in LOWER_IS_BETTER
            better = (hi < 0) if lower else (lo > 0)
            (_, alo, ahi), (_, blo, bhi) = stats[(a, metric)], stats[(b, metric)]
            apart = better and ((ahi < blo) if lower else (alo > bhi))
            margins.append(
                {
                    "split": split,
                    "subset": subset,
                    "metric": metric,
                    "comparison": label,
                    "method": a,
                    "baseline": b,
                    "margin": float(diff),
                    "margin_lo": lo,
                    "margin_hi": hi,
                    "better": bool(better),
                    "intervals_apart": bool(apart),
                }
            )

        learned = next((m for m in by_method if m.startswith("learned")), None)
        baselines = [
            m
            for m in by_method
            if not m.startswith("learned") and "+" not in m and not m.startswith(SHORTLIST)
        ]
        for metric in METRICS:
            if learned is not None and baselines and (learned, metric) in stats:
                pick = min if metric in LOWER_IS_BETTER else max
                best = pick(baselines, key=lambda m: stats.get((m, metric), (math.nan,))[0])
                margin(learned, best, metric, "learned model over the best baseline")
            if SHORTLIST in by_method:
                for b in BASELINES_TO_BEAT:
                    if b in by_method:
                        margin(SHORTLIST, b, metric, f"default shortlist over {b}")
    return pd.DataFrame(rows), pd.DataFrame(margins)


# --------------------------------------------------------------------------- public API


def evaluate(
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    *,
    seed: int = DEFAULT_SEED,
    holdout_share: float = 0.2,
    min_partners: int = 3,
    max_cities: int | None = None,
    models: Sequence[str] = ("hgb", "logreg"),
    neg_ratio: int = DEFAULT_NEG_RATIO,
    hard_share: float = DEFAULT_HARD_SHARE,
    context: str = DEFAULT_CONTEXT,
    blend: float = DEFAULT_BLEND,
    indonesia: bool = True,
    shortlist: bool = True,
    grid: bool = False,
    grid_seed: int | None = None,
    n_boot: int = 2000,
    batch_rows: int = 1_000_000,
    estimator_params: dict | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> EvaluationResult:
    """Evaluate the feasibility model and the baselines on held-out cities.

    The result depends only on the data and the arguments: the same seed gives the same
    tables and files, byte for byte (timings are kept apart, in ``.timings``).

    Parameters
    ----------
    cities, ties : pandas.DataFrame, optional
        Default: the packaged tables.
    seed : int, default 0
        Seeds the held-out split, the sampled cities, training and the bootstrap.
    holdout_share : float, default 0.2
        Share of the eligible cities held out (with all their ties).
    min_partners : int, default 3
        Eligible cities have at least this many cross-country partners.
    max_cities : int, optional
        Rank only this many of the held-out cities (a seeded sample) to save time, and at
        most as many of those of low- and middle-income countries (all of them are ranked
        otherwise); the model is still trained without the ties of every held-out city. All 899 held-out
        cities of the packaged data take about 9 minutes on 2 cores (36 million pairs
        scored per learned model), 400 about 4.
    models : sequence of {"hgb", "logreg"}
        Learned models to retrain and compare; the first is "the learned model" of the
        margins and of the blend.
    neg_ratio, hard_share, context : see :func:`recommender.learn.feasibility.train`
    blend : float, default 0.3
        Weight of feasibility in the ``small-big + feasibility`` row (as in recommend).
    indonesia : bool, default True
        Also run the dedicated split holding out the Indonesian local cities as a group.
    shortlist : bool, default True
        Rank with the engine's default shortlist too (``default shortlist``: fit, gates,
        feasibility blend and soft diversity as ``recommend`` has them by default; and
        ``default shortlist (fit only)``), see :mod:`recommender.learn.shortlist_eval`.
    grid : bool, default False
        Also measure every blend x diversity combination on a *validation* split (seed
        ``grid_seed``, default ``seed + 1``; its ranked cities exclude every city held out
        in the reported split) and choose one by :data:`~recommender.learn.shortlist_eval.
        GRID_RULE`; the choice is reported, the engine's defaults are what the
        ``default shortlist`` row measures.
    n_boot : int, default 2000
        Bootstrap resamples.
    batch_rows : int, default 1 million
        Pairs scored at once (about 1 KB a pair at the peak, features and scores).
    progress : callable, optional
        Called as ``progress(done, total, what)`` as the work advances (the CLI draws a
        progress bar from it on a terminal).

    Returns
    -------
    EvaluationResult
        ``.table``, ``.margins``, ``.per_city``, ``.info``; ``.to_markdown()``, ``.save()``.
    """
    t0 = time.perf_counter()
    if not 0.0 < float(holdout_share) < 1.0:
        raise RecommenderError(f"holdout_share must be in (0, 1); got {holdout_share!r}.")
    if isinstance(min_partners, bool) or not isinstance(min_partners, int) or min_partners < 1:
        raise RecommenderError(f"min_partners must be an integer >= 1; got {min_partners!r}.")
    if max_cities is not None and (not isinstance(max_cities, int) or max_cities < 1):
        raise RecommenderError(f"max_cities must be an integer >= 1 or None; got {max_cities!r}.")
    if not models:
        raise RecommenderError("models must name at least one learned model (hgb, logreg).")
    cities, ties = get_cities(cities), get_ties(ties)
    A = city_arrays(cities)
    ca, cb = cross_ties(A, ties)
    n_cross = np.bincount(np.concatenate([ca, cb]), minlength=len(A.ids))
    eligible = np.flatnonzero(n_cross >= min_partners)
    held_ids, _ = holdout_split(
        cities, ties, seed=seed, holdout_share=holdout_share, min_partners=min_partners
    )
    held = np.sort(A.positions(held_ids))
    rng = np.random.default_rng(seed + 2)
    sample = held
    if max_cities is not None and max_cities < len(held):
        sample = np.sort(rng.choice(held, max_cities, replace=False))
    # every held-out city of a low- or middle-income country is ranked (the tool's users
    # are Indonesian cities; a sample of the mostly European held-out cities says little
    # about them), besides the random sample
    developing = national_gdp_per_capita(cities) < HIGH_INCOME_GDP
    held_dev = held[developing[held]]
    if max_cities is not None and max_cities < len(held_dev):
        held_dev = np.sort(rng.choice(held_dev, max_cities, replace=False))
    queries = np.union1d(sample, held_dev)
    common = dict(
        seed=seed,
        models=tuple(models),
        neg_ratio=neg_ratio,
        hard_share=hard_share,
        context=context,
        blend=blend,
        batch_rows=batch_rows,
        estimator_params=estimator_params,
    )
    is_local = (
        cities["is_local"].fillna(False).astype(bool).to_numpy()
        if "is_local" in cities
        else np.zeros(len(A.ids), bool)
    )
    id_eligible = np.flatnonzero(is_local & (n_cross >= min_partners))
    run_id = bool(indonesia and len(id_eligible))
    total = 1 + len(queries) + (1 + len(id_eligible) if run_id else 0)
    done = [0]

    def tick(units: int, what: str) -> None:
        done[0] += units
        if progress is not None:
            progress(done[0], total, what)

    common["tick"] = tick
    from recommender.engine.options import DEFAULT_FEASIBILITY_POWER as ENGINE_POWER
    from recommender.engine.ranking import DEFAULT_DECAY
    from recommender.engine.shortlist import DEFAULT_BLEND as ENGINE_BLEND
    from recommender.learn.shortlist_eval import (
        GRID_RULE,
        RankingConfig,
        grid_configs,
        summarise_grid,
    )

    grid_info: dict = {}
    if grid:
        gseed = seed + 1 if grid_seed is None else grid_seed
        g_ids, _ = holdout_split(
            cities, ties, seed=gseed, holdout_share=holdout_share, min_partners=min_partners
        )
        g_held = np.sort(A.positions(g_ids))
        # the cities the choice is made for: those of low- and middle-income countries
        # held out in the validation split, never a city of the reported split
        g_queries = np.setdiff1d(g_held[developing[g_held]], held)
        if max_cities is not None and max_cities < len(g_queries):
            g_queries = np.sort(
                np.random.default_rng(gseed + 2).choice(g_queries, max_cities, replace=False)
            )
        total += 1 + len(g_queries)
        _, g_info, timings_grid = _run_split(
            _Split("validation split", g_held, g_queries),
            cities,
            ties,
            configs=grid_configs(),
            **common,
        )
        rows, chosen = summarise_grid(g_info.pop("configs_per_city"))
        grid_info = {
            "grid": rows,
            "grid_choice": chosen,
            "grid_seed": gseed,
            "grid_n_cities": int(len(g_queries)),
            "grid_rule": GRID_RULE,
        }
    configs = (
        [
            RankingConfig(ENGINE_BLEND, DEFAULT_DECAY, name=SHORTLIST, power=ENGINE_POWER),
            RankingConfig(None, DEFAULT_DECAY, name=SHORTLIST_FIT),
        ]
        if shortlist
        else []
    )
    per_city, info_random, time_random = _run_split(
        _Split("random split", held, queries), cities, ties, configs=configs, **common
    )
    info_random.pop("configs_per_city", None)
    dev_rows = per_city[per_city["city_id"].isin(set(A.ids[held_dev].tolist()))].copy()
    dev_rows["subset"] = DEVELOPING
    per_city = per_city[per_city["city_id"].isin(set(A.ids[sample].tolist()))].copy()
    per_city.insert(1, "subset", "all held-out cities")
    local_ids = set(A.ids[is_local].tolist())
    local_rows = per_city[per_city["city_id"].isin(local_ids)].copy()
    local_rows["subset"] = "Indonesian local cities"
    dev_rows.insert(1, "subset", dev_rows.pop("subset"))
    parts = [per_city, dev_rows, local_rows]
    infos = {"random split": info_random}
    timings = {"random split": time_random}
    if run_id:
        pc, info_id, timings["Indonesian cities held out as a group"] = _run_split(
            _Split("Indonesian cities held out as a group", id_eligible, id_eligible),
            cities,
            ties,
            configs=configs,
            **common,
        )
        info_id.pop("configs_per_city", None)
        pc.insert(1, "subset", "Indonesian local cities")
        parts.append(pc)
        infos["Indonesian cities held out as a group"] = info_id
    per_city = pd.concat(parts, ignore_index=True)
    table, margins = summarise(per_city, n_boot=n_boot, seed=seed)
    diagnosis = pipeline_diagnosis(per_city)
    notes = [
        "Held-out cities keep their own attributes (size, income, location); every tie of "
        "theirs is removed before training and before counting the context features.",
        f"{info_random['unreachable_share']:.1%} of the held-out partners are not in the pool "
        "the training ties would build (small cities known only through a held-out tie); "
        "they count as misses for every method.",
        "Presets and the blend order equal scores as recommend() does (data quality, "
        "population, id); the other methods break ties at random (seeded).",
        f"small-big + feasibility: combined = {1 - blend:.2f} x small-big score (on the "
        f"table as published) + {blend:.2f} x feasibility, with the small-big band gates.",
        f"{SHORTLIST}: the engine's own default ranking (recommend's like-with-like fit of "
        f"small-big, band, interval and coupling gates, blend {ENGINE_BLEND:g} with the "
        f"retrained model's feasibility raised to the power {ENGINE_POWER:g}, "
        f"soft diversity decay {DEFAULT_DECAY:g}; "
        "recommender.learn.shortlist_eval): its top 50 exactly as recommend(top=50) lists "
        "them, then every other candidate of the engine's pool by its combined score, "
        "whether or not it passes the gates (the gates decide what a list shows; "
        "recommender.engine.standing), then parts of cities and ineligible countries; "
        f"{SHORTLIST_FIT}: the same with --fit-only.",
    ]
    n_local_held = int(is_local[held].sum())
    n_local_ranked = int(is_local[queries].sum())
    notes.append(
        f"The random split held out {n_local_held} Indonesian local cities and ranked "
        f"{n_local_ranked} of them; "
        + (
            f"the {len(id_eligible)} with >= {min_partners} cross-country partners are "
            "therefore also held out together in a dedicated split (one retraining)."
            if indonesia and len(id_eligible)
            else "no dedicated Indonesian split was run."
        )
    )
    info = {
        "seed": seed,
        "holdout_share": holdout_share,
        "min_partners": min_partners,
        "max_cities": max_cities,
        "n_eligible": int(len(eligible)),
        "n_held_out": int(len(held)),
        "n_ranked": int(len(queries)),
        "n_sampled": int(len(sample)),
        "n_developing": int(len(held_dev)),
        "pool_size": int(round(info_random["mean_pool_size"])),
        "models": list(models),
        "neg_ratio": neg_ratio,
        "hard_share": hard_share,
        "context": context,
        "blend": blend,
        "shortlist_defaults": {
            "blend": ENGINE_BLEND,
            "power": ENGINE_POWER,
            "decay": DEFAULT_DECAY,
        },
        "diagnosis": diagnosis,
        "n_boot": n_boot,
        **grid_info,
        "indonesian_eligible": [int(x) for x in A.ids[id_eligible]],
        "splits": infos,
        "notes": notes,
    }
    timings["seconds"] = round(time.perf_counter() - t0, 1)
    return EvaluationResult(
        table=table, margins=margins, per_city=per_city, info=info, timings=timings
    )


__all__ = [
    "EvaluationResult",
    "check_save_targets",
    "holdout_split",
    "bootstrap_ci",
    "city_metrics",
    "evaluate",
    "ndcg_at_k",
    "rank_of",
    "recall_at_k",
    "reciprocal_rank",
    "summarise",
]
