"""Options of one shortlist: validation of every :func:`~recommender.engine.shortlist.recommend`
argument, the scenario's defaults merged in, and the local city's what-if values.

Split out of :mod:`recommender.engine.shortlist` (one seam of the pipeline: options, then
:mod:`~recommender.engine.pool`, then :mod:`~recommender.engine.robustness` and
:mod:`~recommender.engine.output`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.data.indicators import (
    BY_NAME,
    INDICATOR_NAMES,
    LEVELS,
)
from recommender.engine.features import HDI_SCALE
from recommender.engine.ranking import (
    DEFAULT_DECAY,
    ROBUSTNESS_DRAWS,
)
from recommender.engine.scenarios import CONTINENTS, Scenario, load_scenario
from recommender.engine.scoring import METHODS
from recommender.errors import FilterError

# --------------------------------------------------------------------------- options

AUTO_OFF_REASON = (
    'feasibility="auto" left the learned feasibility off: the ties passed are not the '
    "packaged partnerships (the model's context features are counts over that network); "
    "ranked by strategy fit. Pass feasibility=True to blend it in anyway."
)
"""``df.attrs["feasibility_off"]`` when ``"auto"`` met a ties table of the caller's own
(:func:`recommender.data.access.packaged_ties`)."""


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
    blend: float = 0.7  # DEFAULT_BLEND
    feasibility_power: float = 1.0  # DEFAULT_FEASIBILITY_POWER
    diversity: float = DEFAULT_DECAY
    robustness: int = ROBUSTNESS_DRAWS
    feasibility_off: str | None = None  # why feasibility="auto" left it off (AUTO_OFF_REASON)

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
        feasibility_power=DEFAULT_FEASIBILITY_POWER,
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


# --------------------------------------------------------------------------- feasibility

DEFAULT_BLEND = 0.7
"""Weight of the learned feasibility in ``combined``, chosen on held-out cities
(``python scripts/evaluate.py --grid``, ``models/evaluation.md``): the blend with the best
NDCG@50 whose top 10 keep at least 90% of the fit-only top 10's strategy fit. The scenario's
gates still hold for every row (a small-big list holds only Small-Big pairs); inside them,
feasibility decides most of the order."""


DEFAULT_FEASIBILITY_POWER = 1.0
"""The power the calibrated feasibility is raised to before it is blended (1: the
probability itself), chosen on held-out cities with the blend (``--grid``)."""


def feasibility_term(p, power: float = DEFAULT_FEASIBILITY_POWER):
    """``p ** power``, elementwise (NaN stays NaN): the feasibility part of ``combined``.

    A fixed monotone transform of the calibrated probability: it keeps feasibility's order
    and maps 0 to 0 and 1 to 1, so ``(1 - blend) * score + blend`` still bounds
    ``combined`` from above (the pruning in :mod:`~recommender.engine.pool` relies on it).
    No sort or rank over the pool is involved.

    Examples
    --------
    >>> float(feasibility_term(0.0625, 0.25))
    0.5
    """
    return p if power == 1.0 else np.power(p, power)


def combined_score(score, p, blend: float, power: float = DEFAULT_FEASIBILITY_POWER):
    """``combined = (1 - blend) * score + blend * p ** power``: the ranking score of the
    default shortlist, everywhere it is computed (pool, robustness draws, output, explain,
    the evaluation)."""
    return (1.0 - blend) * score + blend * feasibility_term(p, power)


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


def _float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")
