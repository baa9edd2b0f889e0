"""The candidate pool of one local city: filters, asymmetries, scores, coupling labels and
the learned feasibility of the candidates that can still reach the shortlist.

:func:`build_pool` validates the options (:mod:`~recommender.engine.options`) and calls
:func:`pool_for`, which the atlas calls once per local city. Everything is computed over the
whole pool at once with numpy on the table's column-major arrays
(:mod:`recommender.engine.arrays`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.data.access import (
    get_cities,
    get_ties,
    packaged_ties,
    partner_ids,
    resolve_local,
)
from recommender.data.indicators import (
    INDICATOR_NAMES,
    LEVEL_QUALITY,
    QUALITY_RANK,
)
from recommender.data.modelled import comparable_cities
from recommender.engine.arrays import (
    LEVEL_NAMES,
    TableArrays,
    table_arrays,
    workspace,
)
from recommender.engine.coupling import (
    coupling_names,
    couplings_mask,
    pair_coupling_codes,
)
from recommender.engine.features import HDI_SCALE
from recommender.engine.options import (
    AUTO_OFF_REASON,
    Options,
    _float,
    apply_overrides,
    combined_score,
    validate_options,
)
from recommender.engine.pool_rows import (
    asymmetry_row,
    coupling_superset,
    plain_values,
    required_superset,
    uncertainty_row,
)
from recommender.engine.ranking import (
    ROBUSTNESS_WINDOW,
    diversify,
    greedy_without_penalty,
)
from recommender.engine.scenarios import DEFAULT_SCENARIO
from recommender.engine.scoring import ScoreResult, score_columns
from recommender.errors import FilterError
from recommender.i18n import _

ROUND_DECIMALS = 12
"""Scores are compared at this precision when sorting, so that floating-point noise (e.g.
a sum taken in another order) never reorders candidates that tie; ties go to the smaller
``city_id``."""


# --------------------------------------------------------------------------- the pool


@dataclass
class Pool:
    """Everything computed about one local city against its candidate pool.

    ``positions`` index the rows of ``cities``; the arrays are aligned with them.
    """

    local: pd.Series
    options: Options
    cities: pd.DataFrame
    positions: np.ndarray
    city_id: np.ndarray
    country: np.ndarray
    asym: np.ndarray
    result: ScoreResult
    is_partner: np.ndarray
    n_pool: int
    steps: list[tuple[str, int]]
    feasibility: np.ndarray | None = None  # NaN where not needed (see _pool_feasibility)
    coupling_code: np.ndarray | None = None  # the pair labels as codes (coupling_codes)
    uncertainty: np.ndarray | None = None  # (n, k) sd of each asymmetry (modelled values)
    ties: pd.DataFrame | None = None
    robustness: np.ndarray | None = None  # per chosen row, set by recommend()
    left_out: dict = field(default_factory=dict)  # candidates the pool rules left out
    # with ``gated_only`` (pool_for): the candidates after the filters, of which the pool
    # keeps only those that pass the scenario's required gates
    n_filtered: int | None = None

    @property
    def n_candidates(self) -> int:
        """Candidates after the filters (all of them, also those a gated-only pool left out)."""
        return len(self.positions) if self.n_filtered is None else self.n_filtered

    @property
    def gated_only(self) -> bool:
        """Whether the pool holds only the candidates that pass the required gates (the
        others cannot be shortlisted); whole-pool questions need a pool of all of them."""
        return self.n_filtered is not None

    @property
    def coupling(self) -> np.ndarray | None:
        """The pair labels (``SB``, ``BS``, ``BB``, ``SS`` or ``""``) of the whole pool;
        :meth:`coupling_at` decodes only some rows."""
        return None if self.coupling_code is None else coupling_names(self.coupling_code)

    def coupling_at(self, rows) -> np.ndarray | None:
        """The pair labels of the pool entries ``rows`` (an index array or one index)."""
        return None if self.coupling_code is None else coupling_names(self.coupling_code[rows])

    @property
    def score(self) -> np.ndarray:
        return self.result.score

    @property
    def rank_score(self) -> np.ndarray:
        """What the shortlist is ordered by: ``score``, or ``combined`` with feasibility
        (:func:`~recommender.engine.options.combined_score`; -inf for a candidate whose
        feasibility was not needed: it cannot make the list)."""
        if self.feasibility is None:
            return self.result.score
        o = self.options
        combined = combined_score(self.result.score, self.feasibility, o.blend, o.feasibility_power)
        return np.where(np.isnan(combined), -np.inf, combined)

    def order(self, limit: int | None = None) -> np.ndarray:
        """Eligible candidates, best first.

        Score descending; equal scores (common: inside a scenario's band every value is
        equally desirable, and most foreign GDP figures are national) are ordered by data
        quality (more indicators known at city, region or user level), then by population
        (the larger city first), then by GeoNames id, so the order is stable and meaningful.

        With ``limit``, only (at least) the ``limit`` best are sorted: every candidate
        scoring at least the ``limit``-th best score is kept, so ties at the cut are not
        split arbitrarily.
        """
        eligible = self.result.eligible
        n_elig = int(np.count_nonzero(eligible))
        rank_score = self.rank_score  # computed once
        if limit is not None and limit < n_elig:
            # the limit-th best over the whole pool (ineligible ones at -inf), partitioned
            # in a workspace copy: no array of eligible positions the size of the pool
            key = workspace(len(eligible))
            np.copyto(key, rank_score)
            key[~eligible] = -np.inf
            kth = kth_largest(key, limit)
            # every candidate that rounds to at least the kth score (a superset of those
            # that do: the final order below is on the rounded keys)
            elig = np.flatnonzero(key >= kth - 10.0**-ROUND_DECIMALS)
        else:
            elig = np.flatnonzero(eligible)
        return list_order(self, elig, rank_score)


def list_order(pool: Pool, idx: np.ndarray, key: np.ndarray) -> np.ndarray:
    """The pool entries ``idx`` in the order of a list: ``key`` (indexed like the pool's
    entries, rounded to the shown decimals) descending, then data quality descending,
    population descending, GeoNames id ascending (:meth:`Pool.order`; the default ranking's
    tail, :mod:`recommender.engine.standing`, is ordered the same way)."""
    if len(idx) == 0:
        return idx
    k = np.round(key[idx], ROUND_DECIMALS)
    fine, pop = tiebreak_keys(pool.cities)
    rows = pool.positions[idx]
    return idx[np.lexsort((pool.city_id[idx], -pop[rows], -fine[rows], -k))]


def kth_largest(values: np.ndarray, k: int) -> float:
    """The ``k``-th largest of ``values`` (1 <= k <= len), without partitioning them all.

    Cut the first ``k * (n // k)`` values into ``k`` blocks: the smallest of the blocks'
    maxima is a lower bound of the k-th largest (those k maxima are k values at least as
    large), so only the values at or above it are partitioned: a few hundred of a pool of
    millions, unless many values tie. NaN (never a ranking score) falls back to the full
    partition, which sorts it last.

    Examples
    --------
    >>> kth_largest(np.array([5.0, 1.0, 4.0, 2.0, 3.0] * 100), 3)
    5.0
    >>> kth_largest(np.arange(1000.0), 10)
    990.0
    """
    n = len(values)
    if n >= 64 * k:
        bound = values[: k * (n // k)].reshape(k, -1).max(axis=1).min()
        if not np.isnan(bound):
            values = values[values >= bound]  # a new array, usually small
            n = len(values)
    else:
        values = values.copy()
    values.partition(n - k)
    return float(values[n - k])


def tiebreak_keys(cities: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``cities``: the number of indicators known at city, region or user level,
    and the population (NaN as 0). Kept with the table's arrays (:mod:`~recommender.engine.arrays`),
    since it does not depend on the scenario.
    """
    arr = table_arrays(cities)
    return arr.fine, arr.population


_QUALITY_OF_CODE = np.array(
    [QUALITY_RANK.get(str(name), len(LEVEL_QUALITY)) for name in LEVEL_NAMES], dtype=np.int64
)


def _level_ok(codes: np.ndarray, minimum: str) -> np.ndarray:
    """Candidates whose data level is at least ``minimum`` in :data:`LEVEL_QUALITY` order
    (a user value counts as city; a modelled one sits between region and country)."""
    quality = _QUALITY_OF_CODE[codes.astype(np.int64)]
    return (quality <= QUALITY_RANK[minimum]) & (quality < QUALITY_RANK["missing"])


def _kind_array(cities: pd.DataFrame) -> np.ndarray:
    """``kind`` per row; a table without the column (a user's own) is all cities."""
    if "kind" not in cities.columns:
        return np.full(len(cities), "city", dtype=object)
    return cities["kind"].to_numpy(dtype=object)


def kind_at(cities: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    """``kind`` of the rows at ``positions`` (object array), without converting the column."""
    if "kind" not in cities.columns:
        return np.full(len(positions), "city", dtype=object)
    return table_arrays(cities).strings("kind", positions)


def is_city_mask(cities: pd.DataFrame) -> np.ndarray:
    """Whether each row's ``kind`` is ``city`` (kept with the table's arrays)."""
    return table_arrays(cities).derived("is_city", lambda _arr, table: _kind_array(table) == "city")


_ELIGIBILITY_CACHE: dict[int, tuple[pd.DataFrame, np.ndarray]] = {}


def _eligibility_array(cities: pd.DataFrame) -> np.ndarray:
    """Eligibility of each row's country (``data/eligibility.csv``), cached per table."""
    hit = _ELIGIBILITY_CACHE.get(id(cities))
    if hit is not None and hit[0] is cities:
        return hit[1]
    from recommender.data.tables import eligibility_array

    arr = eligibility_array(cities)
    if len(_ELIGIBILITY_CACHE) > 4:
        _ELIGIBILITY_CACHE.clear()
    _ELIGIBILITY_CACHE[id(cities)] = (cities, arr)
    return arr


def _pool_rules(cities: pd.DataFrame, local_cc: str, opts: Options, keep, step) -> dict:
    """City parts and (for an Indonesian local city) countries an Indonesian local
    government may not sign with leave the pool unless asked; returns how many left."""
    left: dict = {}
    if not opts.include_city_parts:
        is_city = is_city_mask(cities)
        left["city_parts"] = int(np.count_nonzero(keep) - np.count_nonzero(keep & is_city))
        step(_("cities only, not parts of cities (include_city_parts=True keeps them)"), is_city)
    if local_cc == "ID" and not opts.include_ineligible:
        ok = table_arrays(cities).derived(
            "may_sign", lambda _arr, table: _eligibility_array(table) != "no"
        )
        left["ineligible"] = int(np.count_nonzero(keep) - np.count_nonzero(keep & ok))
        step(_("countries an Indonesian local government may sign with"), ok)
    return left


def build_pool(
    city,
    scenario=DEFAULT_SCENARIO,
    *,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    country: str | None = None,
    **options,
) -> Pool:
    """Resolve the local city, filter the candidates and score them all (vectorised).

    GDP per capita is compared like with like (:func:`recommender.data.modelled.
    comparable_cities`): a national figure becomes a modelled city figure first. The
    scenario's ``couplings`` gate uses :func:`recommender.engine.coupling.pair_coupling`,
    the one function that labels pairs everywhere.
    """
    raw_cities = get_cities(cities)
    cities = comparable_cities(raw_cities)
    gated_only = bool(options.pop("gated_only", False))
    auto_off = options.get("feasibility", None) == "auto" and not packaged_ties(ties)
    if options.get("feasibility", None) == "auto":  # the model means something on real ties only
        options["feasibility"] = not auto_off
    opts = validate_options(scenario, cities, **options)
    if auto_off:
        opts.feasibility_off = AUTO_OFF_REASON
    local = apply_overrides(resolve_local(city, cities, country), opts.overrides)
    return pool_for(local, opts, cities, get_ties(ties), raw_cities, gated_only=gated_only)


def pool_for(
    local: Mapping,
    opts: Options,
    cities: pd.DataFrame,
    ties: pd.DataFrame,
    raw_cities: pd.DataFrame | None = None,
    *,
    gated_only: bool = False,
) -> Pool:
    """The scored candidate pool of a resolved ``local`` city under validated ``opts``.

    What :func:`build_pool` does after validating; the atlas calls it once per local city
    with options validated once. ``cities`` is the like-with-like table
    (:func:`recommender.data.modelled.comparable_cities`); ``raw_cities`` the table as
    published, which the feasibility model scores (default: ``cities``).

    ``gated_only``: drop the candidates that cannot pass the scenario's ``required`` gates
    (:func:`~recommender.engine.pool_rows.required_superset`: one asymmetry row against
    the band's limits) or its
    ``couplings`` gate (from the asymmetries alone), and score only the rest: what the
    shortlist needs, since no other candidate is eligible (the scoring then applies every
    gate exactly). Every value is computed candidate by candidate, so a
    kept candidate's numbers are those of the whole pool, bit for bit; ``n_candidates``
    still counts all filtered candidates. Whole-pool questions (why is the list empty, how
    does candidate X score) need the full pool. TOPSIS, which normalises over the whole
    pool, always scores it whole.
    """
    raw_cities = cities if raw_cities is None else raw_cities
    values = plain_values(local)  # a Series lookup costs microseconds; dozens are made
    local_id = int(values["city_id"])
    local_cc = str(values["country_code"])

    arr = table_arrays(cities)
    ids = arr.ids
    keep = ids != local_id
    steps: list[tuple[str, int]] = [
        (_("all cities but the local one"), int(np.count_nonzero(keep)))
    ]

    def step(desc: str, mask: np.ndarray) -> None:
        nonlocal keep
        keep &= mask
        steps.append((desc, int(np.count_nonzero(keep))))

    if not opts.include_domestic:
        step(
            _("other countries than {cc} (include_domestic=True keeps them)").format(cc=local_cc),
            arr.country != arr.country_code_of(local_cc),
        )
    left_out = _pool_rules(cities, local_cc, opts, keep, step)
    if opts.countries:
        step(f"countries={list(opts.countries)}", arr.country_mask(opts.countries)[arr.country])
    if opts.exclude_countries:
        step(
            f"exclude_countries={list(opts.exclude_countries)}",
            ~arr.country_mask(opts.exclude_countries)[arr.country],
        )
    if opts.continents:
        if "continent" not in cities.columns:
            raise FilterError("The cities table has no 'continent' column to filter on.")
        step(
            f"continents={list(opts.continents)}",
            arr.isin("continent", opts.continents),
        )
    if opts.min_population is not None or opts.max_population is not None:
        pop = arr.floats("population")
        with np.errstate(invalid="ignore"):
            ok = ~np.isnan(pop)
            if opts.min_population is not None:
                ok &= pop >= opts.min_population
            if opts.max_population is not None:
                ok &= pop <= opts.max_population
        desc = _("population in [{low}, {high}]").format(
            low=f"{opts.min_population or 0:g}", high=f"{opts.max_population or math.inf:g}"
        )
        step(desc, ok)
    for name, level in opts.min_level.items():
        step(f"min_level {name}>={level}", _level_ok(arr.level[INDICATOR_NAMES.index(name)], level))
    partners = partner_ids(local_id, ties)
    is_partner_all = np.zeros(len(ids), dtype=bool)
    is_partner_all[arr.positions_of(partners)] = True
    if not opts.include_partners and len(partners):
        step(_("not an existing partner (include_partners=True keeps them)"), ~is_partner_all)

    n_filtered = None
    if not keep.any():
        # report the filters up to the one that emptied the pool
        upto = next(i for i, (_, n) in enumerate(steps) if n == 0)
        raise FilterError(
            "No candidate city is left after the filters: "
            + "; ".join(f"{d}: {n} left" for d, n in steps[: upto + 1])
            + ". Relax one of them."
        )
    gated = gated_only and opts.method == "wsm"
    if gated:
        # masks over the table's rows, after the filters' counts: no gather
        n_filtered = int(np.count_nonzero(keep))
        if opts.scenario.required:
            keep &= required_superset(arr, values, opts)
        if opts.scenario.couplings:
            pairs = coupling_superset(arr, values, opts)
            if pairs is not None:
                keep &= pairs
    positions = arr.where(keep)
    asym_t, missing_t, imputed_t = pool_asymmetry(arr, values, positions, opts.hdi_scale)
    coupling = pair_coupling_codes(
        asym_t,
        _float(values.get("population")),
        np.take(arr.floats("population"), positions, out=workspace(len(positions)), mode="clip"),
        tolerance=opts.scenario.tolerance,
        hdi_scale=opts.hdi_scale,
    )
    if gated and opts.scenario.couplings:
        # the couplings gate needs no score: the candidates outside it are dropped too
        kept = couplings_mask(coupling, opts.scenario.couplings)
        if not kept.all():
            at = np.flatnonzero(kept)  # np.take: a boolean index of columns costs 4x
            positions, coupling = positions[at], coupling[at]
            asym_t, missing_t, imputed_t = (
                np.take(a, at, axis=1) for a in (asym_t, missing_t, imputed_t)
            )
    uncertainty_t = _uncertainty(arr, values, positions)
    result = score_columns(
        asym_t,
        opts.scenario,
        missing_t=missing_t,
        imputed_t=imputed_t,
        method=opts.method,
        hdi_scale=opts.hdi_scale,
        uncertainty_t=uncertainty_t,
    )
    if opts.scenario.couplings:
        result.eligible &= couplings_mask(coupling, opts.scenario.couplings)
    country = np.take(
        arr.country_names,
        np.take(arr.country, positions, out=workspace(len(positions), np.int32), mode="clip"),
        out=workspace(len(positions), object),
        mode="clip",
    )
    feas = None
    if opts.feasibility is not None:
        # the model was trained on the table as published (national GDP where that is all
        # there is), so it scores the raw rows, not the like-with-like ones
        feas = _pool_feasibility(opts, local, raw_cities, ties, positions, result, country)
    return Pool(
        local=local,
        options=opts,
        cities=cities,
        positions=positions,
        city_id=np.take(ids, positions, out=workspace(len(positions), np.int64), mode="clip"),
        country=country,
        asym=asym_t.T,
        result=result,
        is_partner=np.take(
            is_partner_all, positions, out=workspace(len(positions), bool), mode="clip"
        ),
        n_pool=int(len(ids) - 1),
        steps=steps,
        feasibility=feas,
        coupling_code=coupling,
        uncertainty=uncertainty_t.T,
        ties=ties,
        left_out=left_out,
        n_filtered=n_filtered,
    )


def _uncertainty(arr: TableArrays, local: pd.Series, positions: np.ndarray) -> np.ndarray:
    """Standard deviation of each asymmetry, (k, n): a modelled figure's, else 0."""
    out = workspace((len(arr.indicators), len(positions)))
    for j in range(len(arr.indicators)):
        uncertainty_row(arr, local, positions, j, out[j])
    return out


def pool_asymmetry(
    arr: TableArrays, local: pd.Series, positions: np.ndarray, hdi_scale: float = HDI_SCALE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed asymmetries of the candidates at ``positions`` against ``local``, column-major.

    Returns ``(asym_t, missing_t, imputed_t)``, each of shape (k, n): one gather and one
    subtraction per indicator over the table's precomputed log values (no (n, k)
    temporaries). Missing where either side is; imputed where either side's level is.
    """
    k, n = len(arr.indicators), len(positions)
    asym_t = workspace((k, n))
    missing_t = workspace((k, n), bool)
    imputed_t = workspace((k, n), bool)
    bits = np.take(arr.imputed_bits, positions, out=workspace(n, np.uint8), mode="clip")
    scratch = workspace(n, np.uint8)
    for j, name in enumerate(arr.indicators):
        asymmetry_row(arr, local, positions, j, hdi_scale, asym_t[j])
        np.isnan(asym_t[j], out=missing_t[j])  # the table's NaN (or not positive) or the local's
        if local.get(f"{name}_level") == "imputed":
            imputed_t[j] = True
        else:
            np.bitwise_and(bits, 1 << j, out=scratch)
            np.not_equal(scratch, 0, out=imputed_t[j])
    return asym_t, missing_t, imputed_t


def _picks_among(seen: np.ndarray, comb: np.ndarray, country: np.ndarray, opts: Options):
    """The adjusted scores of :func:`~recommender.engine.ranking.diversify`'s picks among
    the pool entries ``seen`` ranked by ``comb`` (stable: ties in ``seen``'s order).

    Without a diversity penalty, only the best few are sorted (every entry tied with the
    last of them included, so they are the first entries of the full stable order) and
    the rest follow unsorted: :func:`~recommender.engine.ranking.greedy_without_penalty`
    reads the prefix and only the largest score after it; when it cannot decide, the
    whole order is sorted as before.
    """
    full = np.full(len(country), -np.inf)
    full[seen] = comb
    cut = 2 * opts.top + 8
    if opts.diversity == 1.0 and opts.max_per_country is None and len(comb) > cut:
        if not np.isnan(comb).any():
            kth = np.partition(comb, len(comb) - cut)[len(comb) - cut]
            best = np.flatnonzero(comb >= kth)
            head = best[np.argsort(-comb[best], kind="stable")][:cut]
            rest = np.ones(len(comb), dtype=bool)
            rest[head] = False
            order = np.concatenate([seen[head], seen[rest]])
            fast = greedy_without_penalty(order, country, full, opts.top)
            if fast is not None:
                return np.asarray(fast[1], dtype=float)
    order = seen[np.argsort(-comb, kind="stable")]
    return diversify(
        order, country, full, opts.top, opts.diversity, opts.max_per_country, adjusted=True
    )[1]


def feasibility_scorer(opts: Options, local, cities: pd.DataFrame, ties: pd.DataFrame):
    """``(score, cached)``: ``score(rows)`` gives the feasibility of the table rows ``rows``
    for ``local`` under ``opts.feasibility``, through the per-city cache when there is one
    (:func:`recommender.engine.feasibility.cached_scores`; ``cached`` is then that cache,
    to :meth:`save` after scoring, else None). What-if values (``overrides``) are explored,
    never cached. ``cities`` is the table as published, which the model scores."""
    model = opts.feasibility
    cached = None
    if not opts.overrides:
        from recommender.engine.feasibility import cached_scores

        cached = cached_scores(model, local, cities, ties)
    if cached is not None:
        return cached, cached  # the same values, scored once
    return (lambda rows: model.score_candidates(local, cities, ties, rows)), None


def _pool_feasibility(
    opts: Options,
    local: pd.Series,
    cities: pd.DataFrame,
    ties: pd.DataFrame,
    positions: np.ndarray,
    result: ScoreResult,
    country: np.ndarray,
) -> np.ndarray:
    """Feasibility of every eligible candidate that can still reach the shortlist (NaN for
    the others), so that the model scores a few hundred pairs rather than the whole pool.

    Exact: candidates are scored in descending order of ``score``, in chunks. After each
    chunk ``c`` is the smallest *adjusted* combined score of the diversified shortlist of
    those scored so far (:func:`~recommender.engine.ranking.diversify`: each pick's
    adjusted score is at least ``c``). A candidate with ``(1 - blend) * score + blend < c``
    (feasibility's part is at most ``blend``: ``p ** power <= 1``)
    can never win a pick (its adjusted score is at most its combined score), and neither
    can any candidate after it; so the greedy choice over the scored candidates is the
    choice over the whole pool. With robustness draws, the same bound keeps scoring until
    no candidate left can enter their window (the best
    :data:`~recommender.engine.ranking.ROBUSTNESS_WINDOW` by combined score), so the draws
    see the same window as with every candidate scored. The local city's own ties are
    hidden from the model (``cold``), as in the evaluation.

    With the packaged tables and model, scored values are kept per local city in the user's
    cache folder (:func:`recommender.engine.feasibility.cached_scores`) and read the next
    time instead of computed: the same numbers, and the same candidates left NaN.
    """
    b = opts.blend
    score, cached = feasibility_scorer(opts, local, cities, ties)
    p = np.full(len(positions), np.nan)
    s = result.score
    elig = np.flatnonzero(result.eligible)
    elig = elig[np.argsort(-s[elig], kind="stable")]
    chunk = max(256, ROBUSTNESS_WINDOW if opts.robustness else 0, 8 * opts.top)
    c, done = -np.inf, 0
    # with robustness draws, the window (the best ROBUSTNESS_WINDOW by combined) must be
    # exact too: scoring goes on until no candidate left can reach its last place
    window = ROBUSTNESS_WINDOW if opts.robustness else 0
    c_window = -np.inf if window else np.inf  # unknown until a window is scored
    seen = comb = None
    while done < len(elig):
        bound = (1.0 - b) * s[elig[done]] + b
        # go on while bound >= min(c, c_window) - 1e-9; c (a greedy run over the scored
        # candidates) is only worked out when c_window alone does not decide it
        if not bound >= c_window - 1e-9:
            if seen is not None:
                picked = _picks_among(seen, comb, country, opts)
                if len(picked) == opts.top:
                    c = float(picked.min())
            if not bound >= min(c, c_window) - 1e-9:
                break
        batch = elig[done : done + chunk]
        p[batch] = score(positions[batch])
        done += len(batch)
        seen = elig[:done]
        comb = combined_score(s[seen], p[seen], b, opts.feasibility_power)
        if window and len(comb) >= window:
            c_window = float(np.partition(comb, len(comb) - window)[len(comb) - window])
        chunk *= 2  # few rounds even when the bound is loose
    if cached is not None:
        cached.save()
    return p
