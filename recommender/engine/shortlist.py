"""The shortlist: the whole pipeline for one local city, returning a DataFrame.

``recommend()`` resolves the local city, builds the candidate pool (every city of another
country, minus existing partners, minus what the filters drop), computes the signed
asymmetries and scores of the whole pool at once with numpy (no Python loop over
candidates), applies the scenario's gates, sorts deterministically (score descending, then
``city_id`` ascending), applies the per-country diversity cap, and explains the top rows.

The arrays of the candidate table are column-major and kept per table
(:mod:`recommender.engine.arrays`); scoring runs in place over them
(:func:`~recommender.engine.scoring.score_columns`), and the output frame is built from
arrays for the few shortlisted rows only. :func:`recommender.engine.reference.recommend_naive`
computes the same result with a plain Python loop over candidates: the reference for tests
and for the benchmark (``scripts/benchmark.py``).

With ``feasibility=True`` the learned probability that such a pair becomes partners
(:mod:`recommender.engine.feasibility`) is added as its own column, never folded into ``score``:
the shortlist is then ranked by

    combined = (1 - blend) * score + blend * feasibility        (blend = 0.3 by default)

The raw calibrated probability is blended, not its rank among the candidates, so that a
pair's combined score does not depend on which other cities the filters left in the pool,
just like ``score``. ``why_feasibility`` says how much of ``combined`` came from each part.

Why one file (about 1,000 lines): ``recommend`` reads top to bottom here, from options
to pool, order, cap and output frame, and every step shares :class:`Pool`; the kernels
(``scoring``, ``arrays``) and the naive reference (``reference``) already live apart. The
output text (``why_text`` and friends) is the next piece to move out, once the ranking
rework has landed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.data.access import get_cities, get_ties, partner_ids, resolve_local
from recommender.data.indicators import (
    BY_NAME,
    INDICATOR_NAMES,
    LEVEL_QUALITY,
    LEVELS,
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
    asymmetry_tolerance,
    class_names,
    classify_asymmetry,
    display_asymmetry,
    pair_coupling,
    ratio_column,
)
from recommender.engine.features import HDI_SCALE, haversine_km
from recommender.engine.ranking import (
    DEFAULT_DECAY,
    ROBUSTNESS_DRAWS,
    ROBUSTNESS_SEED,
    ROBUSTNESS_WINDOW,
    candidate_context,
    context_text,
    diversify,
    perturbed_scenarios,
    robustness_text,
)
from recommender.engine.scenarios import CONTINENTS, DEFAULT_SCENARIO, Scenario, load_scenario
from recommender.engine.scoring import METHODS, ScoreResult, score_columns
from recommender.errors import FilterError
from recommender.i18n import N_, _, format_number, format_percent, format_signed

ROUND_DECIMALS = 12
"""Scores are compared at this precision when sorting, so that floating-point noise (e.g.
a sum taken in another order) never reorders candidates that tie; ties go to the smaller
``city_id``."""

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


# --------------------------------------------------------------------------- options


@dataclass
class Options:
    """Validated options of one :func:`recommend` call (scenario defaults merged in)."""

    scenario: Scenario
    method: str = "wsm"
    top: int = 10
    include_partners: bool = False
    include_domestic: bool = False
    include_city_parts: bool = False
    include_ineligible: bool = False
    countries: tuple[str, ...] = ()
    exclude_countries: tuple[str, ...] = ()
    continents: tuple[str, ...] = ()
    min_population: float | None = None
    max_population: float | None = None
    min_level: dict[str, str] = field(default_factory=dict)
    max_per_country: int | None = None
    overrides: dict[str, float] = field(default_factory=dict)
    hdi_scale: float = HDI_SCALE
    feasibility: object = None  # a loaded FeasibilityModel, or None
    blend: float = 0.3
    diversity: float = DEFAULT_DECAY
    robustness: int = ROBUSTNESS_DRAWS

    def filters(self) -> dict:
        """The filters in force, for ``df.attrs`` and messages."""
        return {
            "countries": list(self.countries),
            "exclude_countries": list(self.exclude_countries),
            "continents": list(self.continents),
            "min_population": self.min_population,
            "max_population": self.max_population,
            "min_level": dict(self.min_level),
            "max_per_country": self.max_per_country,
            "diversity": self.diversity,
            "include_partners": self.include_partners,
            "include_domestic": self.include_domestic,
            "include_city_parts": self.include_city_parts,
            "include_ineligible": self.include_ineligible,
        }


def _codes(value, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    try:
        return tuple(str(v).strip() for v in value)
    except TypeError:
        raise FilterError(f"{what} must be a list of country codes; got {value!r}.") from None


def _number_or_none(value, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise FilterError(f"{what} must be a number; got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise FilterError(f"{what} must be a finite number >= 0; got {value!r}.")
    return value


def _resolve_country_codes(codes: tuple[str, ...], cities: pd.DataFrame, what: str) -> tuple:
    """Map codes or names as people type them (``USA``, ``UK``, ``Jepang``, ``Türkiye``) to
    the ISO codes in the table (:mod:`recommender.data.countries`); unknown ones are errors
    that list the closest countries."""
    if not codes:
        return ()
    from recommender.data.countries import resolve_country_codes

    table = cities[["country_code", "country_name"]].drop_duplicates("country_code")
    known = {str(c): str(n) for c, n in table.itertuples(index=False)}
    return resolve_country_codes(codes, known, option=what)


def validate_options(
    scenario,
    cities: pd.DataFrame,
    *,
    top=10,
    method="wsm",
    include_partners=False,
    include_domestic=False,
    include_city_parts=False,
    include_ineligible=False,
    countries=None,
    exclude_countries=None,
    continents=None,
    min_population=None,
    max_population=None,
    min_level=None,
    max_per_country=None,
    overrides=None,
    feasibility=None,
    blend=None,
    diversity=None,
    robustness=None,
    hdi_scale=HDI_SCALE,
) -> Options:
    """Check every option of :func:`recommend`, merge the scenario's defaults, or raise."""
    scen = load_scenario(scenario)
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise FilterError(f"top must be an integer >= 1; got {top!r}.")
    if method not in METHODS:
        raise FilterError(f"Unknown method {method!r}; allowed: {', '.join(METHODS)}.")
    model = _feasibility_model(feasibility)
    blend = DEFAULT_BLEND if blend is None else blend
    diversity = DEFAULT_DECAY if diversity is None else diversity
    if isinstance(diversity, bool) or not isinstance(
        diversity, (int, float, np.integer, np.floating)
    ):
        raise FilterError(f"diversity must be a number in [0, 1]; got {diversity!r}.")
    if not 0.0 <= float(diversity) <= 1.0:
        raise FilterError(
            f"diversity must be a number in [0, 1] (1: none, 0: one city per country); "
            f"got {diversity!r}."
        )
    robustness = ROBUSTNESS_DRAWS if robustness is None else robustness
    if robustness is False:
        robustness = 0
    if (
        isinstance(robustness, bool)
        or not isinstance(robustness, (int, np.integer))
        or robustness < 0
    ):
        raise FilterError(
            f"robustness must be a number of draws >= 0 (0: off); got {robustness!r}."
        )
    if isinstance(blend, bool) or not isinstance(blend, (int, float, np.integer, np.floating)):
        raise FilterError(f"blend must be a number in [0, 1]; got {blend!r}.")
    if not 0.0 <= float(blend) <= 1.0:
        raise FilterError(f"blend must be a number in [0, 1]; got {blend!r}.")
    f = scen.filters
    countries_ = _codes(countries, "countries")
    exclude_ = _codes(exclude_countries, "exclude_countries")
    countries_ = _resolve_country_codes(
        f.countries if countries_ is None else countries_, cities, "countries"
    )
    exclude_ = _resolve_country_codes(
        f.exclude_countries if exclude_ is None else exclude_, cities, "exclude_countries"
    )
    conts = _codes(continents, "continents")
    conts = tuple(c.upper() for c in (f.continents if conts is None else conts))
    for c in conts:
        if c not in CONTINENTS:
            raise FilterError(f"Unknown continent {c!r}; allowed: {', '.join(CONTINENTS)}.")
    mn = _number_or_none(min_population, "min_population")
    mx = _number_or_none(max_population, "max_population")
    mn = f.min_population if mn is None else mn
    mx = f.max_population if mx is None else mx
    if mn is not None and mx is not None and mn > mx:
        raise FilterError(f"min_population ({mn:g}) is greater than max_population ({mx:g}).")
    levels = dict(f.min_level)
    if min_level is not None:
        if not isinstance(min_level, Mapping):
            raise FilterError(
                f"min_level must map indicators to levels, e.g. {{'hdi': 'region'}}; got {min_level!r}."
            )
        levels.update(min_level)
    for name, level in levels.items():
        if name not in INDICATOR_NAMES:
            raise FilterError(
                f"Unknown indicator {name!r} in min_level; allowed: {', '.join(INDICATOR_NAMES)}."
            )
        if level not in LEVELS or level == "missing":
            allowed = ", ".join(lv for lv in LEVELS if lv != "missing")
            raise FilterError(f"Unknown data level {level!r} for {name!r}; allowed: {allowed}.")
    if max_per_country is None:
        cap = scen.max_per_country  # None: soft diversity only
    elif (
        isinstance(max_per_country, bool)
        or not isinstance(max_per_country, (int, np.integer))
        or max_per_country < 1
    ):
        raise FilterError(f"max_per_country must be an integer >= 1; got {max_per_country!r}.")
    else:
        cap = int(max_per_country)
    ov = {}
    for name, value in dict(overrides or {}).items():
        if name not in INDICATOR_NAMES:
            raise FilterError(
                f"Unknown indicator {name!r} in overrides; allowed: {', '.join(INDICATOR_NAMES)}."
            )
        v = _number_or_none(value, f"The override for {name!r}")
        if BY_NAME[name].transform == "log" and v <= 0:
            raise FilterError(f"The override for {name!r} must be > 0; got {value!r}.")
        if name == "hdi" and v > 1:
            raise FilterError(f"The override for 'hdi' must be in [0, 1]; got {value!r}.")
        ov[name] = v
    return Options(
        scenario=scen,
        method=method,
        top=int(top),
        include_partners=bool(include_partners),
        include_domestic=bool(include_domestic),
        include_city_parts=bool(include_city_parts),
        include_ineligible=bool(include_ineligible),
        countries=countries_,
        exclude_countries=exclude_,
        continents=conts,
        min_population=mn,
        max_population=mx,
        min_level=levels,
        max_per_country=cap,
        overrides=ov,
        hdi_scale=float(hdi_scale),
        feasibility=model,
        blend=float(blend),
        diversity=float(diversity),
        robustness=int(robustness),
    )


def apply_overrides(local: pd.Series, overrides: Mapping[str, float]) -> pd.Series:
    """The local city's row with what-if values, marked level ``user``."""
    if not overrides:
        return local
    local = local.copy()
    for name, value in overrides.items():
        local[name] = value
        local[f"{name}_level"] = "user"
        local[f"{name}_source"] = "user override"
    return local


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
    coupling: np.ndarray | None = None  # the pair labels (coupling.pair_coupling)
    uncertainty: np.ndarray | None = None  # (n, k) sd of each asymmetry (modelled values)
    ties: pd.DataFrame | None = None
    robustness: np.ndarray | None = None  # per chosen row, set by recommend()
    left_out: dict = field(default_factory=dict)  # candidates the pool rules left out

    @property
    def score(self) -> np.ndarray:
        return self.result.score

    @property
    def rank_score(self) -> np.ndarray:
        """What the shortlist is ordered by: ``score``, or ``combined`` with feasibility
        (-inf for a candidate whose feasibility was not needed: it cannot make the list)."""
        if self.feasibility is None:
            return self.result.score
        b = self.options.blend
        combined = (1.0 - b) * self.result.score + b * self.feasibility
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
        if limit is not None and limit < n_elig:
            # the limit-th best over the whole pool (ineligible ones at -inf), partitioned
            # in a workspace copy: no array of eligible positions the size of the pool
            key = workspace(len(eligible))
            np.copyto(key, self.rank_score)
            key[~eligible] = -np.inf
            key.partition(len(key) - limit)
            kth = key[len(key) - limit]
            np.copyto(key, self.rank_score)
            # every candidate that rounds to at least the kth score (a superset of those
            # that do: the final order below is on the rounded keys)
            elig = np.flatnonzero(eligible & (key >= kth - 10.0**-ROUND_DECIMALS))
        else:
            elig = np.flatnonzero(eligible)
        key = np.round(self.rank_score[elig], ROUND_DECIMALS)
        fine, pop = tiebreak_keys(self.cities)
        rows = self.positions[elig]
        return elig[np.lexsort((self.city_id[elig], -pop[rows], -fine[rows], -key))]


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


_ELIGIBILITY_CACHE: dict[int, tuple[pd.DataFrame, np.ndarray]] = {}


def _eligibility_array(cities: pd.DataFrame) -> np.ndarray:
    """Eligibility of each row's country (``data/eligibility.csv``), cached per table."""
    hit = _ELIGIBILITY_CACHE.get(id(cities))
    if hit is not None and hit[0] is cities:
        return hit[1]
    from recommender.data.tables import eligibility_of

    arr = eligibility_of(cities["country_code"])
    if len(_ELIGIBILITY_CACHE) > 4:
        _ELIGIBILITY_CACHE.clear()
    _ELIGIBILITY_CACHE[id(cities)] = (cities, arr)
    return arr


def _pool_rules(cities: pd.DataFrame, local_cc: str, opts: Options, keep, step) -> dict:
    """City parts and (for an Indonesian local city) countries an Indonesian local
    government may not sign with leave the pool unless asked; returns how many left."""
    left: dict = {}
    if not opts.include_city_parts:
        is_city = _kind_array(cities) == "city"
        left["city_parts"] = int((keep & ~is_city).sum())
        step("cities only, not parts of cities (include_city_parts=True keeps them)", is_city)
    if local_cc == "ID" and not opts.include_ineligible:
        ok = _eligibility_array(cities) != "no"
        left["ineligible"] = int((keep & ~ok).sum())
        step("countries an Indonesian local government may sign with", ok)
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
    if options.get("feasibility", None) == "auto":
        options["feasibility"] = ties is None  # the model means something on real ties only
    opts = validate_options(scenario, cities, **options)
    local = apply_overrides(resolve_local(city, cities, country), opts.overrides)
    return pool_for(local, opts, cities, get_ties(ties), raw_cities)


def pool_for(
    local: Mapping,
    opts: Options,
    cities: pd.DataFrame,
    ties: pd.DataFrame,
    raw_cities: pd.DataFrame | None = None,
) -> Pool:
    """The scored candidate pool of a resolved ``local`` city under validated ``opts``.

    What :func:`build_pool` does after validating; the atlas calls it once per local city
    with options validated once. ``cities`` is the like-with-like table
    (:func:`recommender.data.modelled.comparable_cities`); ``raw_cities`` the table as
    published, which the feasibility model scores (default: ``cities``).
    """
    raw_cities = cities if raw_cities is None else raw_cities
    local_id = int(local["city_id"])
    local_cc = str(local["country_code"])

    arr = table_arrays(cities)
    ids = arr.ids
    keep = ids != local_id
    steps: list[tuple[str, int]] = [("all cities but the local one", int(keep.sum()))]

    def step(desc: str, mask: np.ndarray) -> None:
        nonlocal keep
        keep &= mask
        steps.append((desc, int(keep.sum())))

    if not opts.include_domestic:
        step(
            f"other countries than {local_cc} (include_domestic=True keeps them)",
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
        desc = f"population in [{opts.min_population or 0:g}, {opts.max_population or math.inf:g}]"
        step(desc, ok)
    for name, level in opts.min_level.items():
        step(f"min_level {name}>={level}", _level_ok(arr.level[INDICATOR_NAMES.index(name)], level))
    partners = partner_ids(local_id, ties)
    is_partner_all = np.zeros(len(ids), dtype=bool)
    is_partner_all[arr.positions_of(partners)] = True
    if not opts.include_partners and len(partners):
        step("not an existing partner (include_partners=True keeps them)", ~is_partner_all)

    positions = arr.where(keep)
    if len(positions) == 0:
        # report the filters up to the one that emptied the pool
        upto = next(i for i, (_, n) in enumerate(steps) if n == 0)
        raise FilterError(
            "No candidate city is left after the filters: "
            + "; ".join(f"{d}: {n} left" for d, n in steps[: upto + 1])
            + ". Relax one of them."
        )
    asym_t, missing_t, imputed_t = pool_asymmetry(arr, local, positions, opts.hdi_scale)
    uncertainty_t = _uncertainty(arr, local, positions)
    result = score_columns(
        asym_t,
        opts.scenario,
        missing_t=missing_t,
        imputed_t=imputed_t,
        method=opts.method,
        hdi_scale=opts.hdi_scale,
        uncertainty_t=uncertainty_t,
    )
    coupling = pair_coupling(
        asym_t.T,
        _float(local.get("population")),
        arr.floats("population")[positions],
        tolerance=opts.scenario.tolerance,
        hdi_scale=opts.hdi_scale,
    )
    if opts.scenario.couplings:
        result.eligible &= np.isin(coupling, list(opts.scenario.couplings))
    country = np.take(
        arr.country_names,
        np.take(arr.country, positions, out=workspace(len(positions), np.int32)),
        out=workspace(len(positions), object),
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
        city_id=np.take(ids, positions, out=workspace(len(positions), np.int64)),
        country=country,
        asym=asym_t.T,
        result=result,
        is_partner=np.take(is_partner_all, positions, out=workspace(len(positions), bool)),
        n_pool=int(len(ids) - 1),
        steps=steps,
        feasibility=feas,
        coupling=coupling,
        uncertainty=uncertainty_t.T,
        ties=ties,
        left_out=left_out,
    )


def _uncertainty(arr: TableArrays, local: pd.Series, positions: np.ndarray) -> np.ndarray:
    """Standard deviation of each asymmetry, (k, n): a modelled figure's, else 0."""
    out = np.zeros((len(arr.indicators), len(positions)))
    for j, n in enumerate(arr.indicators):
        col = f"{n}_sd"
        cand = np.nan_to_num(arr.floats(col)[positions], nan=0.0)
        loc = _float(local.get(col)) if local.get(f"{n}_level") == "modelled" else 0.0
        loc = 0.0 if math.isnan(loc) else loc
        np.sqrt(cand**2 + loc**2, out=out[j])
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
    bits = np.take(arr.imputed_bits, positions, out=workspace(n, np.uint8))
    scratch = workspace(n, np.uint8)
    for j, name in enumerate(arr.indicators):
        lv = _float(local.get(name))
        np.take(arr.values[j], positions, out=asym_t[j])
        if arr.is_log[j]:
            loc = math.log(lv) if lv > 0 else math.nan
            asym_t[j] -= loc
        else:
            asym_t[j] -= lv
            asym_t[j] /= hdi_scale
        if math.isnan(lv) or (arr.is_log[j] and not lv > 0):
            asym_t[j] = np.nan
        np.isnan(asym_t[j], out=missing_t[j])  # the table's NaN (or not positive) or the local's
        if local.get(f"{name}_level") == "imputed":
            imputed_t[j] = True
        else:
            np.bitwise_and(bits, 1 << j, out=scratch)
            np.not_equal(scratch, 0, out=imputed_t[j])
    return asym_t, missing_t, imputed_t


# --------------------------------------------------------------------------- feasibility

DEFAULT_BLEND = 0.3
"""Weight of the learned feasibility in ``combined`` (see the module docstring): enough to
reorder candidates of similar fit, too little to lift a poor fit above a good one (a fit
gap of 0.3 needs a feasibility gap of 0.7 to be made up)."""

FEASIBILITY_COLUMNS = ["feasibility", "combined", "why_feasibility"]


def _feasibility_model(value):
    """``feasibility`` option -> a verified model or None (True loads the packaged one)."""
    if value is None or value is False:
        return None
    from recommender.engine.feasibility import FeasibilityModel, load_model

    if value is True:
        return load_model()
    if isinstance(value, FeasibilityModel):
        return value
    raise FilterError(
        f"feasibility must be True, False, None or a FeasibilityModel; got {value!r}."
    )


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
    can never win a pick (its adjusted score is at most its combined score), and neither
    can any candidate after it; so the greedy choice over the scored candidates is the
    choice over the whole pool. The window for the robustness draws
    (:data:`~recommender.engine.ranking.ROBUSTNESS_WINDOW`) is always scored. The local
    city's own ties are hidden from the model (``cold``), as in the evaluation.
    """
    model, b = opts.feasibility, opts.blend
    p = np.full(len(positions), np.nan)
    s = result.score
    elig = np.flatnonzero(result.eligible)
    elig = elig[np.argsort(-s[elig], kind="stable")]
    chunk = max(256, ROBUSTNESS_WINDOW if opts.robustness else 0, 8 * opts.top)
    c, done = -np.inf, 0
    while done < len(elig) and (1.0 - b) * s[elig[done]] + b >= c - 1e-9:
        batch = elig[done : done + chunk]
        p[batch] = model.score_candidates(local, cities, ties, positions[batch])
        done += len(batch)
        seen = elig[:done]
        comb = (1.0 - b) * s[seen] + b * p[seen]
        order = seen[np.argsort(-comb, kind="stable")]
        full = np.full(len(s), -np.inf)
        full[seen] = comb
        chosen = diversify(
            order, country, full, opts.top, opts.diversity, opts.max_per_country, adjusted=True
        )
        if len(chosen[0]) == opts.top:
            c = float(chosen[1].min())
        chunk *= 2  # few rounds even when the bound is loose
    return p


def why_feasibility(score: float, feasibility: float, blend: float) -> str:
    """How much of ``combined`` comes from the strategy fit and how much from feasibility.

    Examples
    --------
    >>> why_feasibility(0.92, 0.31, 0.3)
    'Combined 0.74 = 0.70 × fit 0.92 + 0.30 × feasibility 0.31 (87% from strategy fit, 13% from feasibility)'
    """
    fit, feas = (1.0 - blend) * score, blend * feasibility
    total = fit + feas
    head = _(
        "Combined {total} = {w_fit} × fit {score} + {w_feas} × feasibility {feasibility}"
    ).format(
        total=format_number(total, 2),
        w_fit=format_number(1 - blend, 2),
        score=format_number(score, 2),
        w_feas=format_number(blend, 2),
        feasibility=format_number(feasibility, 2),
    )
    if total <= 0:
        return head + " " + _("(neither part contributes)")
    return (
        head
        + " "
        + _("({fit_share} from strategy fit, {feasibility_share} from feasibility)").format(
            fit_share=format_percent(fit / total), feasibility_share=format_percent(feas / total)
        )
    )


def _float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def cap_per_country(order: np.ndarray, country: np.ndarray, cap: int, top: int) -> np.ndarray:
    """The first ``top`` of ``order`` keeping at most ``cap`` per country (vectorised).

    Examples
    --------
    >>> cap_per_country(np.arange(5), np.array(["A", "A", "A", "B", "A"]), 2, 3).tolist()
    [0, 1, 3]
    """
    if len(order) == 0:
        return order
    codes, _ = pd.factorize(country[order])
    # rank of each candidate within its country, in score order: a stable sort by country
    # keeps the score order inside each group
    by_country = np.argsort(codes, kind="stable")
    sorted_codes = codes[by_country]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    rank_in_country = np.empty(len(codes), dtype=np.int64)
    rank_in_country[by_country] = np.arange(len(codes)) - group_start
    return order[rank_in_country < cap][:top]


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
    phrases.append(
        {
            1: _("Small-Big on the economy"),
            -1: _("Big-Small on the economy"),
            0: _("similar economies"),
        }.get(econ, _("economy unknown"))
    )
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

    ``why=False`` leaves out the ``why`` text (the atlas computes it only on demand).
    """
    opts = pool.options
    names = INDICATOR_NAMES
    chosen = np.asarray(chosen, dtype=np.int64)
    arr = table_arrays(pool.cities)
    pos = pool.positions[chosen]
    m = len(chosen)

    asym = pool.asym[chosen]
    tol = asymmetry_tolerance(opts.scenario.tolerance, names, opts.hdi_scale)
    codes = classify_asymmetry(asym, tol)
    if pool.coupling is not None:
        labels = pool.coupling[chosen]
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
        level[np.isnan(arr.raw[j][pos])] = "missing"
        cols[f"{n}_level"] = level
    cols["distance_km"] = haversine_km(
        _float(pool.local.get("latitude")),
        _float(pool.local.get("longitude")),
        arr.floats("latitude")[pos],
        arr.floats("longitude")[pos],
    )
    cols["existing_partner"] = pool.is_partner[chosen]
    cols["kind"] = _kind_array(pool.cities)[pos]
    cols["eligibility"] = _eligibility_array(pool.cities)[pos]
    local_name = str(pool.local.get("name", pool.local["city_id"]))
    low, high = (
        arr.floats("gdp_per_capita_usd_low")[pos],
        arr.floats("gdp_per_capita_usd_high")[pos],
    )
    local_gdp = _float(pool.local.get("gdp_per_capita_usd"))
    cols["gdp_per_capita_usd_ratio_low"] = low / local_gdp
    cols["gdp_per_capita_usd_ratio_high"] = high / local_gdp
    ctx = candidate_context(pool.city_id[chosen], pool.local, pool.cities, pool.ties)
    for c in CONTEXT_COLUMNS[:-1]:
        cols[c] = ctx[c].to_numpy()
    cols["context"] = np.array([context_text(r) for r in ctx.to_dict("records")], dtype=object)
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
        b = opts.blend
        p = pool.feasibility[chosen]
        cols["feasibility"] = p
        cols["combined"] = (1.0 - b) * score + b * p
        cols["why_feasibility"] = np.array(
            [why_feasibility(s_, f_, b) for s_, f_ in zip(score, p)], dtype=object
        )
        order = order + FEASIBILITY_COLUMNS
    return {c: cols[c] for c in order}


def _attrs(pool: Pool) -> dict:
    opts = pool.options
    local = pool.local
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
        "n_candidates": int(len(pool.positions)),
        "n_eligible": int(pool.result.eligible.sum()),
        "filter_steps": [list(s) for s in pool.steps],
        "left_out": dict(pool.left_out),
        "hdi_scale": opts.hdi_scale,
        "tolerance": dict(opts.scenario.tolerance),
        **({} if pool.feasibility is None else {"feasibility": _feasibility_attrs(pool)}),
    }


def _feasibility_attrs(pool: Pool) -> dict:
    model = pool.options.feasibility
    return {
        "blend": pool.options.blend,
        "formula": "combined = (1 - blend) * score + blend * feasibility",
        "model_sha256": model.manifest.get("arrays_sha256"),
        "model": model.manifest.get("params", {}).get("model"),
        "local_ties_hidden": True,
        "n_scored": int(np.isfinite(pool.feasibility).sum()),
    }


# --------------------------------------------------------------------------- public API


def recommend(
    city: str | int | pd.Series,
    scenario: str | Scenario = DEFAULT_SCENARIO,
    *,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    top: int = 10,
    method: str = "wsm",
    include_partners: bool = False,
    include_domestic: bool = False,
    include_city_parts: bool = False,
    include_ineligible: bool = False,
    countries: Sequence[str] | None = None,
    exclude_countries: Sequence[str] | None = None,
    continents: Sequence[str] | None = None,
    min_population: float | None = None,
    max_population: float | None = None,
    min_level: Mapping[str, str] | None = None,
    max_per_country: int | None = None,
    overrides: Mapping[str, float] | None = None,
    country: str | None = None,
    feasibility="auto",
    blend: float | None = None,
    fit_only: bool = False,
    diversity: float | None = None,
    robustness: int | None = None,
) -> pd.DataFrame:
    """Shortlist foreign partner cities for a local city under a scenario.

    Parameters
    ----------
    city : str, int or pandas.Series
        The local city: a name (resolved by :func:`recommender.data.tables.resolve_city`), a
        GeoNames id, or a row of ``cities``.
    scenario : str, path or Scenario, default "small-big"
        A preset name, a TOML file, or a :class:`~recommender.engine.scenarios.Scenario`.
    cities, ties : pandas.DataFrame, optional
        Default: the packaged tables (pass an empty ``ties`` for "no known partners").
    top : int, default 10
        Number of rows, >= 1.
    method : {"wsm", "topsis"}
        Weighted sum (default) or TOPSIS over the same desirabilities. TOPSIS normalises
        over the candidate pool left after the filters, so its scores depend on them.
    include_partners : bool, default False
        Keep existing partners in the pool (marked ``existing_partner``).
    include_domestic : bool, default False
        Keep cities of the local city's own country.
    include_city_parts : bool, default False
        Keep parts of cities (``kind`` ``city_part``: boroughs, wards, districts) and other
        places (``kind`` ``other``), marked in the ``kind`` column.
    include_ineligible : bool, default False
        For an Indonesian local city, keep candidates in countries an Indonesian local
        government may not sign with (``data/eligibility.csv``: Israel, Kosovo, Western
        Sahara); the ``eligibility`` column marks them. ``df.attrs["left_out"]`` counts
        what these two rules left out.
    countries, exclude_countries : list of str, optional
        ISO2 codes or country names to keep / drop (default: the scenario's filters).
    continents : list of str, optional
        GeoNames continent codes to keep (AF AN AS EU NA OC SA).
    min_population, max_population : float, optional
        Candidate population bounds (>= 0, min <= max).
    min_level : dict, optional
        Minimum data level per indicator, e.g. ``{"hdi": "region"}``.
    max_per_country : int, optional
        A hard cap per country (>= 1); default none (the scenario's, if it sets one):
        diversity is soft (``diversity``).
    overrides : dict, optional
        What-if values for the local city (indicator -> value), marked level ``user``.
    country : str, optional
        Disambiguates the local city's name.
    feasibility : "auto", bool, FeasibilityModel or None
        The learned feasibility (the packaged model, verified on load; a
        :class:`~recommender.engine.feasibility.FeasibilityModel` to use another): columns
        ``feasibility`` (calibrated probability), ``combined`` and ``why_feasibility``,
        ranked by ``combined``; ``score`` and the contributions stay the pure strategy
        fit. ``"auto"`` (default): on with the packaged ties (``ties=None``), off with a
        ties table of your own (the model's context features need the real network).
        ``None`` / ``False``: off, ranked by ``score``.
    blend : float, optional
        Weight of feasibility in ``combined = (1 - blend) * score + blend *
        feasibility``, in [0, 1]; default :data:`DEFAULT_BLEND` (chosen on held-out
        cities, see ``models/evaluation.md``).
    fit_only : bool, default False
        The pure strategy list: no feasibility, ranked by ``score``.
    diversity : float, optional
        Per-country decay of the soft diversity in [0, 1] (1: none; 0: one per
        country); default :data:`recommender.engine.ranking.DEFAULT_DECAY`.
    robustness : int, optional
        Monte Carlo draws for the ``robustness`` column (0: off); default
        :data:`recommender.engine.ranking.ROBUSTNESS_DRAWS`, seeded.

    Returns
    -------
    pandas.DataFrame
        Columns :func:`output_columns`: ``rank, city_id, name, country_code,
        country_name, admin1_name, score, coupling``, then per indicator the ratio
        foreign / local (``hdi_diff`` for HDI), the class (Big / Small / Symmetry /
        Unknown), the contribution to the score and the candidate's data level; then
        ``distance_km, existing_partner, why``. ``df.attrs`` holds the local city, the
        scenario, the method, the local city's data levels, the filters used and the pool
        sizes (``n_pool``, ``n_candidates``, ``n_eligible``).

    Raises
    ------
    FilterError
        Invalid options, unknown country codes, or filters that leave no candidate.
    ScenarioError, UnknownCityError, AmbiguousCityError

    Examples
    --------
    >>> df = recommend("Medan", top=5)
    >>> df["rank"].tolist(), df.attrs["local_name"], list(df.columns[:3])
    ([1, 2, 3, 4, 5], 'Medan', ['rank', 'city_id', 'name'])
    """
    pool = build_pool(
        city,
        scenario,
        cities=cities,
        ties=ties,
        country=country,
        top=top,
        method=method,
        include_partners=include_partners,
        include_domestic=include_domestic,
        include_city_parts=include_city_parts,
        include_ineligible=include_ineligible,
        countries=countries,
        exclude_countries=exclude_countries,
        continents=continents,
        min_population=min_population,
        max_population=max_population,
        min_level=min_level,
        max_per_country=max_per_country,
        overrides=overrides,
        feasibility=False if fit_only else feasibility,
        blend=blend,
        diversity=diversity,
        robustness=robustness,
    )
    chosen = select_or_explain(pool)
    pool.robustness = robustness_of(pool, chosen)
    return _frame_for(pool, chosen)


def empty_reason(pool: Pool) -> str:
    """Why no candidate in ``pool`` passes the scenario's gates, in one line.

    Counts, over the candidates left after the filters, those with too little known data
    (``min_coverage``), those at zero desirability on each required indicator and those
    that are not complementary; names the local city's missing figures first, since they
    empty every pool at once.
    """
    scen = pool.options.scenario
    res = pool.result
    n = len(pool.positions)
    local = str(pool.local.get("name", pool.local["city_id"]))
    w = scen.weight_array()
    reasons = []
    lacking = [
        name
        for name, wi in zip(INDICATOR_NAMES, w)
        if (wi > 0 or name in scen.required) and math.isnan(_float(pool.local.get(name)))
    ]
    if lacking:
        reasons.append(f"{local} has no figure for {', '.join(lacking)} (give one with --set)")
    if w.sum() > 0 and scen.min_coverage > 0:
        coverage = (w * ~res.missing).sum(axis=1) / w.sum()
        low = int((coverage < scen.min_coverage - 1e-12).sum())
        if low:
            reasons.append(f"{low:,} lack known figures for {scen.min_coverage:.0%} of the weight")
    for name in scen.required:
        zero = int((res.desirability[:, INDICATOR_NAMES.index(name)] <= 0).sum())
        if zero:
            reasons.append(f"{zero:,} fall outside the band of required {name}")
    if scen.require_complementary:
        reasons.append("the rest are not complementary (each side must lead on something)")
    if scen.couplings and pool.coupling is not None:
        off = int((~np.isin(pool.coupling, list(scen.couplings))).sum())
        if off:
            reasons.append(
                f"{off:,} are not {' / '.join(scen.couplings)} pairs (the scenario's couplings)"
            )
    return (
        f"No candidate for {local} passes the gates of scenario {scen.name!r}: of {n:,} "
        f"candidates after the filters, {'; '.join(reasons) or 'none is eligible'}. "
        "Change the scenario or the filters."
    )


def select_or_explain(pool: Pool) -> np.ndarray:
    """:func:`select`, raising :class:`FilterError` with :func:`empty_reason` if it is empty:
    an empty result is an error everywhere (exit 2 in the CLI), never an empty table."""
    chosen = select(pool)
    if len(chosen) == 0:
        raise FilterError(empty_reason(pool))
    return chosen


def select(pool: Pool, top: int | None = None) -> np.ndarray:
    """Pool indices of the shortlist: gates, order, soft diversity (and optional cap), top-k.

    Sorting all 34k candidates is the costliest step, so only the best few hundred are
    sorted. The greedy diversity over that window equals the one over the whole pool when
    its last pick's adjusted score is at least the best score left outside the window (an
    adjusted score never exceeds the score); otherwise the window grows.
    """
    opts = pool.options
    top = opts.top if top is None else top
    n_eligible = int(pool.result.eligible.sum())
    limit = max(64, 8 * top)
    key = pool.rank_score
    while True:
        whole = limit >= n_eligible
        order = pool.order(None if whole else limit)
        chosen, adj = diversify(
            order, pool.country, key, top, opts.diversity, opts.max_per_country, adjusted=True
        )
        if whole:
            return chosen
        outside = np.ones(len(key), dtype=bool)
        outside[order] = False
        outside &= pool.result.eligible
        best_out = key[outside].max() if outside.any() else -np.inf
        if len(chosen) == top and adj.min() >= best_out:
            return chosen
        limit *= 4


def robustness_of(pool: Pool, chosen: np.ndarray, n_draws: int | None = None) -> np.ndarray:
    """Share of seeded plausible variants of the scenario in which each chosen candidate
    stays in the top k (see :mod:`recommender.engine.ranking`).

    Each draw re-scores the best :data:`~recommender.engine.ranking.ROBUSTNESS_WINDOW`
    candidates by the ranking score (same gates, data, feasibility, blend and diversity)
    under jittered weights and bands. Seeded by the local city's id, so the same inputs
    give the same numbers.
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
            b = opts.blend
            key = np.where(np.isnan(feas), -np.inf, (1.0 - b) * key + b * feas)
        e = np.flatnonzero(elig)
        k = np.round(key[e], ROUND_DECIMALS)
        order = e[np.lexsort((ids[e], -pop[rows[e]], -fine[rows[e]], -k))]
        picked = diversify(
            order, pool.country[window], key, top, opts.diversity, opts.max_per_country
        )
        hits += np.isin(wanted, picked)
    return hits / n_draws


__all__ = [
    "recommend",
    "build_pool",
    "frame_columns",
    "pool_for",
    "cap_per_country",
    "output_columns",
    "why_feasibility",
    "why_text",
    "Options",
    "Pool",
]
