"""Scenarios: what kind of partner a local city is looking for.

A :class:`Scenario` turns each signed asymmetry into a *desirability* in [0, 1] with a
**band** and an **ideal point** per indicator, and combines them with **weights** (see
:mod:`recommender.engine.scoring`). Bands are written in natural units:

- population, area, GDP per capita: the **ratio** foreign / local. ``Band(1.0, 1.5, 8, 20)``
  on GDP per capita with ``ideal=3.0`` means: a partner 3x richer is ideal (1), 1.5x to
  8x richer is a good partner (0.8 or more); desirability falls to 0 at 1.0x (not richer)
  and at 20x (a gap so wide the relation is aid, not cooperation), in log-ratio.
- HDI: the **difference** foreign - local, e.g. ``Band(0.0, 0.03, 0.25, 0.40)``.
- ``two_sided=True`` applies the band to the size of the gap whichever side leads (ratio
  ``max(r, 1/r)``, absolute HDI difference): "asymmetric in either direction".

Scenarios also carry the symmetry **tolerance** used for the Big / Small / Symmetry labels,
**required** indicators (a gate: a candidate with zero desirability on any of them is not
shortlisted), ``require_complementary`` (a gate: each side must lead on some indicator),
``couplings`` (a gate on the pair's label: small-big shortlists only SB pairs),
default **filters**, the per-country diversity cap ``max_per_country`` and the
``imputed_penalty``.

Presets ship in Python (:data:`PRESETS`); a TOML file can start from one (``base = ...``)
and change what it needs: :meth:`Scenario.to_toml` prints an annotated template.

Examples
--------
>>> s = load_scenario("small-big")
>>> s.weights["gdp_per_capita_usd"], s.bands["gdp_per_capita_usd"].lo
(0.45, 1.5)

Why one file (about 1,100 lines): the scenario type, its validation, its TOML round trip
and the presets are one concept; most of the length is the presets' documented values.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recommender.data.indicators import BY_NAME, INDICATOR_NAMES, LEVELS
from recommender.engine.coupling import COUPLING_NAMES, DEFAULT_TOLERANCE, asymmetry_tolerance
from recommender.engine.features import HDI_SCALE
from recommender.errors import ScenarioError
from recommender.i18n import N_, _

COUPLING_LABELS = tuple(COUPLING_NAMES)


def _toml():
    """The TOML parser, imported when a file is read (a preset needs none at start-up)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    return tomllib


def __getattr__(name: str):
    # ``from recommender.engine.scenarios import tomllib`` still works, imported on use
    if name == "tomllib":
        return _toml()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _close_matches(word: str, possibilities, n: int = 3, cutoff: float = 0.6) -> list[str]:
    import difflib  # only for the message of a typo: not imported at every start

    return difflib.get_close_matches(word, possibilities, n=n, cutoff=cutoff)


"""Cohen's four pair labels, from the local side: SB, BS, BB, SS."""

CONTINENTS = ("AF", "AN", "AS", "EU", "NA", "OC", "SA")
"""GeoNames continent codes."""

TOP_KEYS = (
    "name",
    "description",
    "rationale",
    "base",
    "weights",
    "bands",
    "tolerance",
    "filters",
    "max_per_country",
    "imputed_penalty",
    "min_coverage",
    "required",
    "require_complementary",
    "couplings",
)
BAND_KEYS = ("min", "lo", "ideal", "hi", "max", "two_sided")
FILTER_KEYS = (
    "countries",
    "exclude_countries",
    "continents",
    "min_population",
    "max_population",
    "min_level",
)

# Finite ranges for every number a scenario holds: wide enough for any sensible scenario,
# narrow enough that sums, logs and ratios of them can neither overflow nor underflow.
MAX_WEIGHT = 1e6
MIN_WEIGHT = 1e-6
"""A weight is 0 or in [MIN_WEIGHT, MAX_WEIGHT] (weights are normalised by their sum)."""
RATIO_RANGE = (1e-6, 1e6)
"""Ratio band bounds (foreign / local) lie in this range; ``min`` may also be 0 and ``max``
``inf`` (no ramp on that side)."""
HDI_DIFF_RANGE = (-1.0, 1.0)
"""HDI band bounds are differences of two values in [0, 1]."""
MAX_POPULATION_FILTER = 1e10
MAX_PER_COUNTRY_LIMIT = 100_000
MAX_SCENARIO_BYTES = 256 * 1024
"""A scenario file larger than this is refused before it is read (presets are ~3 KB)."""
TEXT_LIMITS = {"name": 80, "base": 80, "description": 1_000, "rationale": 10_000}
"""Longest accepted text per key; ``name`` and ``base`` must also be one line."""


def _show(value) -> str:
    """A short, one-line, escaped rendering of a value for an error message."""
    import reprlib

    if isinstance(value, Mapping):
        return "a table"
    r = reprlib.Repr()
    r.maxstring, r.maxother, r.maxlist, r.maxlevel = 60, 60, 4, 2
    text = r.repr(value)
    kind = {str: "a string", bool: "a boolean", list: "a list", int: "an integer"}.get(type(value))
    return f"{text} ({kind})" if kind and not isinstance(value, int | bool) else text


class FrozenDict(dict):
    """A read-only dict: scenario mappings cannot be changed through a reference to a preset.

    Unlike ``types.MappingProxyType`` it pickles and deep-copies, which scikit-learn's
    ``clone`` and joblib need.
    """

    def _read_only(self, *args, **kwargs):
        raise TypeError(
            "Scenario mappings are read-only; use Scenario.with_weights() or "
            "dataclasses.replace() to make a changed copy."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only  # type: ignore[assignment]
    __ior__ = _read_only  # type: ignore[assignment]

    def __reduce__(self):
        return (FrozenDict, (dict(self),))


def _is_log(indicator: str) -> bool:
    return BY_NAME[indicator].transform == "log"


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(f"{what} must be a number; got {_show(value)}.")
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float
        raise ScenarioError(f"{what} must be a finite number; got {_show(value)}.") from None


def _in_range(value: float, lo: float, hi: float, what: str, extra=()) -> None:
    """Raise unless ``lo <= value <= hi`` or ``value`` is one of ``extra`` (NaN never is)."""
    if value in extra or (lo <= value <= hi):
        return
    also = "".join(f" or {_num(e)}" for e in extra)
    raise ScenarioError(f"{what} must be between {lo:g} and {hi:g}{also}; got {value!r}.")


def _check_indicator(name: str, where: str) -> None:
    if name not in INDICATOR_NAMES:
        close = _close_matches(str(name), INDICATOR_NAMES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        raise ScenarioError(
            f"Unknown indicator {name!r} in {where}; allowed: {', '.join(INDICATOR_NAMES)}{hint}"
        )


@dataclass(frozen=True)
class Band:
    """A desirability band with an ideal point, in natural units (ratio, or HDI difference).

    Desirability is 1 at ``ideal``, falls smoothly to 0.8 at ``lo`` and ``hi`` (the good
    range) and linearly to 0 at ``min`` and ``max`` (in the transformed space: log ratio,
    or scaled HDI difference; see :mod:`recommender.engine.scoring`). ``ideal`` defaults to
    the middle of ``[lo, hi]`` (the geometric mean for ratios). ``min`` may be 0 and ``max``
    may be ``inf`` for log indicators (no decay on that side).

    Examples
    --------
    >>> Band(1.0, 1.5, 8.0, 20.0).to_asymmetry("gdp_per_capita_usd")[1].round(3)
    np.float64(0.405)
    """

    min: float
    lo: float
    hi: float
    max: float
    two_sided: bool = False
    ideal: float | None = None

    def __post_init__(self) -> None:
        # A string such as "false" must never pass for a flag (it is truthy).
        if not isinstance(self.two_sided, bool):
            raise ScenarioError(
                f"two_sided of a band must be true or false; got {_show(self.two_sided)}."
            )
        for k in ("min", "lo", "hi", "max"):
            _number(getattr(self, k), f"{k} of a band")

    def validate(self, indicator: str) -> None:
        where = f"the band for {indicator!r}"
        vals = {k: _number(getattr(self, k), f"{k} of {where}") for k in ("min", "lo", "hi", "max")}
        if any(math.isnan(v) for v in vals.values()):
            raise ScenarioError(f"{where.capitalize()} has a NaN bound: {self}.")
        if not (math.isfinite(vals["lo"]) and math.isfinite(vals["hi"])):
            raise ScenarioError(
                f"lo and hi of {where} must be finite; got lo={vals['lo']}, hi={vals['hi']}."
            )
        if vals["lo"] > vals["hi"]:
            raise ScenarioError(
                f"The band for {indicator!r} is inverted: lo={vals['lo']:g} > hi={vals['hi']:g}; "
                f"need min <= lo <= hi <= max."
            )
        if not (vals["min"] <= vals["lo"] and vals["hi"] <= vals["max"]):
            raise ScenarioError(
                f"The band for {indicator!r} is inverted: need min <= lo <= hi <= max; got "
                f"min={vals['min']:g}, lo={vals['lo']:g}, hi={vals['hi']:g}, max={vals['max']:g}."
            )
        if self.ideal is not None:
            ideal = _number(self.ideal, f"ideal of {where}")
            if not (vals["lo"] <= ideal <= vals["hi"]):
                raise ScenarioError(
                    f"The ideal of {where} must lie in [lo, hi] = [{vals['lo']:g}, "
                    f"{vals['hi']:g}]; got ideal={ideal:g}."
                )
        if _is_log(indicator):
            floor = 1.0 if self.two_sided else 0.0
            if vals["min"] < floor:
                kind = (
                    "a two-sided ratio band (the gap whichever side leads)"
                    if self.two_sided
                    else "a ratio band"
                )
                raise ScenarioError(
                    f"The band for {indicator!r} is {kind}; its bounds must be >= {floor:g}; "
                    f"got min={vals['min']:g}."
                )
        elif self.two_sided and vals["min"] < 0:
            raise ScenarioError(
                f"The band for {indicator!r} is two-sided (an absolute HDI difference); its "
                f"bounds must be >= 0; got min={vals['min']:g}."
            )
        lo_r, hi_r = RATIO_RANGE if _is_log(indicator) else HDI_DIFF_RANGE
        unit = "a ratio" if _is_log(indicator) else "an HDI difference"
        for k, v in vals.items():
            extra = (0.0,) if k == "min" else (math.inf,) if k == "max" else ()
            _in_range(
                v, lo_r, hi_r, f"{k} of {where} ({unit})", extra if _is_log(indicator) else ()
            )

    def to_asymmetry(self, indicator: str, hdi_scale: float = HDI_SCALE) -> np.ndarray:
        """The four bounds in asymmetry units (log ratio, or HDI difference / hdi_scale)."""
        b = np.array([self.min, self.lo, self.hi, self.max], dtype=float)
        if _is_log(indicator):
            with np.errstate(divide="ignore"):
                return np.log(b)  # 0 -> -inf, inf -> inf
        return b / hdi_scale

    def ideal_asymmetry(self, indicator: str, hdi_scale: float = HDI_SCALE) -> float:
        """The ideal in asymmetry units (default: the middle of ``[lo, hi]`` there)."""
        lo, hi = self.to_asymmetry(indicator, hdi_scale)[1:3]
        if self.ideal is None:
            return float((lo + hi) / 2.0)
        v = float(self.ideal)
        return math.log(v) if _is_log(indicator) else v / hdi_scale

    def ideal_value(self, indicator: str) -> float:
        """The ideal in natural units (ratio, or HDI difference)."""
        if self.ideal is not None:
            return float(self.ideal)
        if _is_log(indicator):
            return math.sqrt(self.lo * self.hi)
        return (self.lo + self.hi) / 2.0

    def as_list(self) -> list[float]:
        return [self.min, self.lo, self.hi, self.max]


@dataclass(frozen=True)
class Filters:
    """Default candidate filters of a scenario (``recommend`` arguments override them)."""

    countries: tuple[str, ...] = ()
    exclude_countries: tuple[str, ...] = ()
    continents: tuple[str, ...] = ()
    min_population: float | None = None
    max_population: float | None = None
    min_level: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        for key in ("countries", "exclude_countries"):
            for code in getattr(self, key):
                if not isinstance(code, str) or not code.strip():
                    raise ScenarioError(f"{key} must list country codes; got {code!r}.")
        for c in self.continents:
            if not isinstance(c, str) or c.upper() not in CONTINENTS:
                raise ScenarioError(
                    f"Unknown continent {c!r} in filters; allowed: {', '.join(CONTINENTS)}."
                )
        for key in ("min_population", "max_population"):
            v = getattr(self, key)
            if v is not None and (_number(v, key) < 0 or not math.isfinite(v)):
                raise ScenarioError(f"{key} must be a finite number >= 0; got {v!r}.")
            if v is not None:
                _in_range(float(v), 0.0, MAX_POPULATION_FILTER, key)
        if (
            self.min_population is not None
            and self.max_population is not None
            and self.min_population > self.max_population
        ):
            raise ScenarioError(
                f"min_population ({self.min_population:g}) is greater than max_population "
                f"({self.max_population:g})."
            )
        for name, level in self.min_level.items():
            _check_indicator(name, "filters.min_level")
            if level not in LEVELS or level == "missing":
                allowed = ", ".join(lv for lv in LEVELS if lv != "missing")
                raise ScenarioError(
                    f"Unknown data level {level!r} for {name!r} in min_level; allowed: {allowed}."
                )

    def to_dict(self) -> dict:
        d = {
            "countries": list(self.countries),
            "exclude_countries": list(self.exclude_countries),
            "continents": list(self.continents),
            "min_level": dict(self.min_level),
        }
        if self.min_population is not None:
            d["min_population"] = self.min_population
        if self.max_population is not None:
            d["max_population"] = self.max_population
        return d


@dataclass(frozen=True)
class Scenario:
    """A named preference over partner cities: weights, bands, gates and default filters.

    Parameters
    ----------
    name, description, rationale : str
        ``rationale`` says why the numbers are what they are, with the source.
    weights : mapping indicator -> float
        Non-negative, not all zero; indicators left out weigh 0. Normalised by their sum.
    bands : mapping indicator -> Band
        Desirability band of every weighted indicator.
    tolerance : mapping indicator -> float, optional
        Symmetry tolerance (ratio >= 1, or HDI difference); default
        :data:`recommender.engine.coupling.DEFAULT_TOLERANCE`.
    filters : Filters, optional
    max_per_country : int, default 2
        At most this many shortlisted cities per country (diversity), >= 1.
    imputed_penalty : float, default 0.5
        The weight of an imputed value is multiplied by ``1 - imputed_penalty`` (TOPSIS:
        its desirability).
    required : tuple of str
        Gate: candidates with zero desirability on any of these are not shortlisted.
    require_complementary : bool, default False
        Gate: each side must lead on at least one indicator.

    Examples
    --------
    >>> s = Scenario("gdp-only", "Richer partners", "example",
    ...              weights={"gdp_per_capita_usd": 1.0},
    ...              bands={"gdp_per_capita_usd": Band(1.0, 2.0, 10.0, 30.0)})
    >>> s.weight_array().tolist()
    [0.0, 0.0, 1.0, 0.0]
    """

    name: str
    description: str
    rationale: str
    weights: Mapping[str, float]
    bands: Mapping[str, Band]
    tolerance: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TOLERANCE))
    filters: Filters = field(default_factory=Filters)
    max_per_country: int | None = None
    imputed_penalty: float = 0.5
    min_coverage: float = 0.75
    required: tuple[str, ...] = ()
    require_complementary: bool = False
    couplings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # freeze the mappings so a preset cannot be changed by accident through a reference
        object.__setattr__(self, "weights", FrozenDict(self.weights))
        object.__setattr__(self, "bands", FrozenDict(self.bands))
        object.__setattr__(self, "tolerance", FrozenDict(self.tolerance))
        object.__setattr__(self, "required", tuple(self.required))
        if isinstance(self.couplings, str):
            object.__setattr__(self, "couplings", (self.couplings,))
        object.__setattr__(self, "couplings", tuple(self.couplings))
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise :class:`~recommender.errors.ScenarioError` naming the first problem."""
        if not isinstance(self.name, str) or not self.name.strip():
            raise ScenarioError(f"A scenario needs a non-empty name; got {self.name!r}.")
        for key, limit in TEXT_LIMITS.items():
            text = getattr(self, key, None)
            if text is None:
                continue
            if not isinstance(text, str):
                raise ScenarioError(f"{key} must be text; got {_show(text)}.")
            if len(text) > limit:
                raise ScenarioError(
                    f"{key} is {len(text)} characters long; at most {limit} are allowed."
                )
            if key == "name" and not text.isprintable():
                raise ScenarioError(f"name must be one line of printable text; got {_show(text)}.")
        for name, w in self.weights.items():
            _check_indicator(name, "weights")
            if (
                isinstance(w, bool)
                or not isinstance(w, (int, float))
                or not math.isfinite(w)
                or w < 0
            ):
                raise ScenarioError(
                    f"The weight for {name!r} must be a finite number >= 0; got {_show(w)}."
                )
            _in_range(w, MIN_WEIGHT, MAX_WEIGHT, f"The weight for {name!r}", (0,))
        if sum(self.weights.values()) <= 0:
            raise ScenarioError(
                "All weights are zero; give at least one indicator a positive weight "
                f"({', '.join(INDICATOR_NAMES)})."
            )
        for name, band in self.bands.items():
            _check_indicator(name, "bands")
            if not isinstance(band, Band):
                raise ScenarioError(f"The band for {name!r} must be a Band; got {band!r}.")
            band.validate(name)
        for name, w in self.weights.items():
            if w > 0 and name not in self.bands:
                raise ScenarioError(f"{name!r} has weight {w:g} but no band.")
        asymmetry_tolerance(self.tolerance)  # raises ScenarioError naming the bad value
        for name, v in self.tolerance.items():
            limit = RATIO_RANGE[1] if _is_log(name) else HDI_DIFF_RANGE[1]
            _in_range(float(v), 0.0, limit, f"The tolerance for {name!r}")
        mpc = self.max_per_country
        if mpc is not None:
            if isinstance(mpc, bool) or not isinstance(mpc, (int, np.integer)) or mpc < 1:
                raise ScenarioError(f"max_per_country must be an integer >= 1; got {_show(mpc)}.")
            if mpc > MAX_PER_COUNTRY_LIMIT:
                raise ScenarioError(
                    f"max_per_country must be at most {MAX_PER_COUNTRY_LIMIT:,}; got {mpc!r}."
                )
        p = self.imputed_penalty
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ScenarioError(f"imputed_penalty must be a number in [0, 1]; got {p!r}.")
        c = self.min_coverage
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 <= c <= 1:
            raise ScenarioError(f"min_coverage must be a number in [0, 1]; got {c!r}.")
        for name in self.required:
            _check_indicator(name, "required")
            if name not in self.bands:
                raise ScenarioError(f"Required indicator {name!r} has no band.")
        if not isinstance(self.require_complementary, bool):
            raise ScenarioError(
                "require_complementary must be true or false; got "
                f"{_show(self.require_complementary)}."
            )
        for label in self.couplings:
            if label not in COUPLING_LABELS:
                raise ScenarioError(
                    f"Unknown coupling {label!r} in couplings; allowed: "
                    f"{', '.join(COUPLING_LABELS)}."
                )
        if not isinstance(self.filters, Filters):
            raise ScenarioError(f"filters must be a Filters object; got {self.filters!r}.")
        self.filters.validate()

    # ------------------------------------------------------------------ arrays for the kernels
    def weight_array(self, indicators=INDICATOR_NAMES) -> np.ndarray:
        """Weights aligned with ``indicators`` (0 for those left out)."""
        return np.array([float(self.weights.get(n, 0.0)) for n in indicators])

    def band_matrix(
        self, indicators=INDICATOR_NAMES, hdi_scale: float = HDI_SCALE
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bands in asymmetry units, shape (k, 4), and the two-sided flags, shape (k,).

        An indicator without a band (weight 0) gets an all-accepting band.
        """
        rows, two = [], []
        for n in indicators:
            band = self.bands.get(n)
            if band is None:
                rows.append([-np.inf, -np.inf, np.inf, np.inf])
                two.append(False)
            else:
                rows.append(band.to_asymmetry(n, hdi_scale))
                two.append(band.two_sided)
        return np.array(rows, dtype=float), np.array(two, dtype=bool)

    def ideal_array(self, indicators=INDICATOR_NAMES, hdi_scale: float = HDI_SCALE) -> np.ndarray:
        """Ideal points in asymmetry units, shape (k,); 0 for an indicator without a band."""
        return np.array(
            [
                self.bands[n].ideal_asymmetry(n, hdi_scale) if n in self.bands else 0.0
                for n in indicators
            ],
            dtype=float,
        )

    def with_weights(self, **weights: float) -> Scenario:
        """A copy with some weights changed (validated)."""
        return dataclasses.replace(self, weights={**self.weights, **weights})

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "rationale": self.rationale,
            "max_per_country": None if self.max_per_country is None else int(self.max_per_country),
            "imputed_penalty": float(self.imputed_penalty),
            "min_coverage": float(self.min_coverage),
            "required": list(self.required),
            "require_complementary": self.require_complementary,
            "couplings": list(self.couplings),
            "weights": dict(self.weights),
            "bands": {
                n: {
                    "min": b.min,
                    "lo": b.lo,
                    "ideal": b.ideal_value(n),
                    "hi": b.hi,
                    "max": b.max,
                    "two_sided": b.two_sided,
                }
                for n, b in self.bands.items()
            },
            "tolerance": dict(self.tolerance),
            "filters": self.filters.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping, source: str = "scenario") -> Scenario:
        """Build a scenario from a parsed TOML document (see :meth:`to_toml`).

        The document starts from the preset named by ``base`` (default ``small-big``).
        ``[weights]``, when present, replaces the base weights entirely (indicators left out
        weigh 0); ``[bands]``, ``[tolerance]`` and ``[filters]`` change only the keys given.
        """
        if not isinstance(data, Mapping):
            raise ScenarioError(f"A scenario document must be a table; got {_show(data)}.")
        _check_document(data, source)
        base_name = data.get("base", "small-big")
        if base_name not in PRESETS:
            raise ScenarioError(_unknown_preset_message(str(base_name), "base", f" in {source}"))
        base = PRESETS[base_name]

        weights = dict(base.weights)
        if "weights" in data:
            w = _table(data["weights"], "weights", source)
            for n in w:
                _check_indicator(n, f"[weights] of {source}")
            weights = {n: w[n] for n in w}

        bands = dict(base.bands)
        for n, spec in _table(data.get("bands", {}), "bands", source).items():
            _check_indicator(n, f"[bands] of {source}")
            bands[n] = _band_from(spec, n, source, bands.get(n))

        tolerance = dict(base.tolerance)
        for n, v in _table(data.get("tolerance", {}), "tolerance", source).items():
            _check_indicator(n, f"[tolerance] of {source}")
            tolerance[n] = v

        fspec = _table(data.get("filters", {}), "filters", source)
        _unknown_keys(fspec, FILTER_KEYS, f"[filters] of {source}")
        fdict = base.filters.to_dict()
        fdict.update(fspec)
        filters = Filters(
            countries=tuple(str(c).upper() for c in fdict.get("countries", ())),
            exclude_countries=tuple(str(c).upper() for c in fdict.get("exclude_countries", ())),
            continents=tuple(str(c).upper() for c in fdict.get("continents", ())),
            min_population=fdict.get("min_population"),
            max_population=fdict.get("max_population"),
            min_level=dict(fdict.get("min_level", {})),
        )
        return cls(
            name=str(data.get("name", Path(source).stem if source.endswith(".toml") else "custom")),
            description=str(data.get("description", base.description)),
            rationale=str(data.get("rationale", f"Custom scenario based on {base.name!r}.")),
            weights=weights,
            bands=bands,
            tolerance=tolerance,
            filters=filters,
            max_per_country=data.get("max_per_country", base.max_per_country),
            imputed_penalty=data.get("imputed_penalty", base.imputed_penalty),
            min_coverage=data.get("min_coverage", base.min_coverage),
            required=tuple(data.get("required", base.required)),
            require_complementary=data.get("require_complementary", base.require_complementary),
            couplings=tuple(data.get("couplings", base.couplings)),
        )

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> Scenario:
        """Read and validate a scenario file.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        ...     _ = f.write('name = "rich"\\n[weights]\\ngdp_per_capita_usd = 1.0\\n')
        >>> Scenario.from_toml(f.name).weight_array().tolist()
        [0.0, 0.0, 1.0, 0.0]
        """
        path = Path(path)
        shown = repr(str(path))
        try:
            # Read at most the limit (plus one byte to notice more): a device such as
            # /dev/zero or a huge file is refused without being read into memory.
            with open(path, "rb") as fh:
                raw = fh.read(MAX_SCENARIO_BYTES + 1)
        except FileNotFoundError:
            raise ScenarioError(f"Scenario file {shown} does not exist.") from None
        except IsADirectoryError:
            raise ScenarioError(f"Scenario file {shown} is a folder; give a .toml file.") from None
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise ScenarioError(f"Cannot read scenario file {shown}: {reason}.") from None
        if len(raw) > MAX_SCENARIO_BYTES:
            raise ScenarioError(
                f"Scenario file {shown} is larger than {MAX_SCENARIO_BYTES // 1024} KB; a "
                "scenario is a few lines of TOML (see `sistercity scenarios show small-big`)."
            )
        try:
            text = raw.decode("utf-8-sig")  # a byte-order mark (Windows editors) is fine
        except UnicodeDecodeError:
            raise ScenarioError(f"Scenario file {shown} is not a text (TOML) file.") from None
        tomllib = _toml()
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ScenarioError(f"Scenario file {shown} is not valid TOML: {e}.") from None
        except RecursionError:
            raise ScenarioError(
                f"Scenario file {shown} is nested too deeply (tables or lists inside each "
                "other); a scenario needs at most three levels, like [bands.hdi]."
            ) from None
        if not data:
            # an empty file would silently mean "the small-big preset": say so instead
            raise ScenarioError(
                f"Scenario file {shown} is empty; start from "
                "`sistercity scenarios show small-big > my.toml` and edit it."
            )
        try:
            return cls.from_dict(data, source=str(path))
        except ScenarioError as e:
            if str(path) in str(e):
                raise
            raise ScenarioError(f"Scenario file {shown}: {e}") from None

    def to_toml(self) -> str:
        """An annotated TOML document that :meth:`from_toml` reads back to this scenario.

        Examples
        --------
        >>> text = load_scenario("small-big").to_toml()
        >>> Scenario.from_dict(_toml().loads(text)) == load_scenario("small-big")
        True
        """
        q = json.dumps  # a JSON string is a valid TOML basic string
        lines = [
            *_comment(
                N_(
                    "sistercity scenario. Edit and use with --scenario FILE.toml\n"
                    "Unknown keys are errors. Anything left out is taken from the preset named by\n"
                    "'base'; a [weights] table, when present, replaces the base weights entirely."
                )
            ),
            f"name = {q(self.name)}",
            f"description = {q(self.description)}",
            f"rationale = {q(self.rationale)}",
            f"base = {q(self.name if self.name in PRESETS else 'small-big')}",
            "",
            *_comment(
                N_(
                    "Diversity is soft (each further city of a country counts less); a hard cap of\n"
                    "at most this many shortlisted cities per country (>= 1) can be added."
                )
            ),
            (
                f"max_per_country = {int(self.max_per_country)}"
                if self.max_per_country is not None
                else "# max_per_country = 2"
            ),
            *_comment(N_("An imputed value's weight is multiplied by (1 - imputed_penalty).")),
            f"imputed_penalty = {_num(self.imputed_penalty)}",
            *_comment(
                N_(
                    "A candidate needs known values (any level) for at least this share of the\n"
                    "weight; with less, too little is known to rank it (0 disables the check)."
                )
            ),
            f"min_coverage = {_num(self.min_coverage)}",
            *_comment(
                N_(
                    "Gates: zero desirability on a required indicator excludes a candidate;\n"
                    "require_complementary keeps only pairs where each side leads on something."
                )
            ),
            f"required = [{', '.join(q(r) for r in self.required)}]",
            f"require_complementary = {str(self.require_complementary).lower()}",
            *_comment(
                N_(
                    "Gate on the pair's coupling label (SB, BS, BB, SS; empty: any): small-big\n"
                    "shortlists only pairs in which the partner is the Big side."
                )
            ),
            f"couplings = [{', '.join(q(c) for c in self.couplings)}]",
            "",
            *_comment(N_("Weights (>= 0, not all zero); normalised by their sum.")),
            "[weights]",
            *(f"{n} = {_num(self.weights.get(n, 0.0))}" for n in INDICATOR_NAMES),
            "",
            *_comment(
                N_(
                    "Desirability bands: 1 at the ideal, 0.8 at lo and hi, 0 at or beyond min and\n"
                    "max (a smooth peak inside [lo, hi], linear ramps outside).\n"
                    "Ratios foreign/local for population, area_km2, gdp_per_capita_usd (inf allowed\n"
                    "for max); the difference foreign - local for hdi. two_sided = true applies the\n"
                    "band to the gap whichever side leads."
                )
            ),
        ]
        for n in INDICATOR_NAMES:
            b = self.bands.get(n)
            if b is None:
                continue
            lines += [
                f"[bands.{n}]",
                f"min = {_num(b.min)}",
                f"lo = {_num(b.lo)}",
                (
                    f"ideal = {_num(b.ideal_value(n))}"
                    if b.ideal is not None
                    else f"# ideal = {_num(b.ideal_value(n))}  (default: the middle of [lo, hi])"
                ),
                f"hi = {_num(b.hi)}",
                f"max = {_num(b.max)}",
                f"two_sided = {str(b.two_sided).lower()}",
                "",
            ]
        lines += [
            *_comment(
                N_(
                    "Symmetry tolerance: a ratio within this factor either way (hdi: a difference)\n"
                    "counts as the same size."
                )
            ),
            "[tolerance]",
            *(f"{n} = {_num(v)}" for n, v in self.tolerance.items()),
            "",
            *_comment(N_("Default filters (command-line options override them).")),
            "[filters]",
        ]
        f = self.filters
        lines += [
            f"countries = [{', '.join(q(c) for c in f.countries)}]",
            f"exclude_countries = [{', '.join(q(c) for c in f.exclude_countries)}]",
            f"continents = [{', '.join(q(c) for c in f.continents)}]  # {' '.join(CONTINENTS)}",
        ]
        lines.append(
            f"min_population = {_num(f.min_population)}"
            if f.min_population is not None
            else "# min_population = 100000"
        )
        lines.append(
            f"max_population = {_num(f.max_population)}"
            if f.max_population is not None
            else "# max_population = 5000000"
        )
        lines += [
            "",
            *_comment(
                N_("Minimum data level per indicator: city, region, country, imputed, user.")
            ),
        ]
        lines.append("[filters.min_level]")
        lines += [f"{n} = {q(v)}" for n, v in f.min_level.items()] or ['# hdi = "region"']
        return "\n".join(lines) + "\n"


def _num(v: float) -> str:
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if isinstance(v, float) and v.is_integer():
        return f"{v:.1f}"
    return repr(v)


def _fail(key: str, source: str, allowed: str, value) -> ScenarioError:
    return ScenarioError(f"{key} in {source} must be {allowed}; got {_show(value)}.")


def _check_number(value, key: str, source: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(key, source, "a number", value)


def _check_text_list(value, key: str, source: str, what: str) -> None:
    if not isinstance(value, list):
        raise _fail(key, source, f'a list of {what}, like ["JP", "KR"]', value)
    if len(value) > 500:
        raise ScenarioError(f"{key} in {source} lists {len(value)} items; at most 500.")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or len(item) > 80:
            raise _fail(f"{key}[{i}]", source, what[:-1] if what.endswith("s") else what, item)


def _check_document(data: Mapping, source: str) -> None:
    """Check the shape and types of a parsed scenario document at the boundary.

    Every key must be known and hold the right type (a string is never a number or a flag:
    ``two_sided = "false"`` is an error, not true); nesting deeper than the format's own is
    refused. Ranges are checked afterwards by :meth:`Scenario.validate`, which the Python API
    shares. Messages name the key (dotted), the value and what is allowed.
    """
    _unknown_keys(data, TOP_KEYS, source)
    for key in ("name", "description", "rationale", "base"):
        if key in data and not isinstance(data[key], str):
            raise _fail(key, source, "text in quotes", data[key])
    for key in ("max_per_country",):
        if key in data and (isinstance(data[key], bool) or not isinstance(data[key], int)):
            raise _fail(key, source, "a whole number like 2", data[key])
    for key in ("imputed_penalty", "min_coverage"):
        if key in data:
            _check_number(data[key], key, source)
    if "require_complementary" in data and not isinstance(data["require_complementary"], bool):
        raise _fail("require_complementary", source, "true or false", data["require_complementary"])
    if "required" in data:
        req = data["required"]
        if not isinstance(req, list):
            raise _fail("required", source, 'a list of indicator names, like ["hdi"]', req)
        for i, name in enumerate(req):
            if not isinstance(name, str):
                raise _fail(f"required[{i}]", source, "an indicator name", name)
    for section in ("weights", "tolerance"):
        if section in data:
            table = _table(data[section], section, source)
            for name, v in table.items():
                _check_indicator(name, f"[{section}] of {source}")
                _check_number(v, f"{section}.{name}", source)
    if "bands" in data:
        for name, spec in _table(data["bands"], "bands", source).items():
            _check_indicator(name, f"[bands] of {source}")
            key = f"bands.{name}"
            if isinstance(spec, list):
                if len(spec) != 4:
                    raise _fail(
                        key, source, "a table or a list of 4 numbers [min, lo, hi, max]", spec
                    )
                for i, v in enumerate(spec):
                    _check_number(v, f"{key}[{i}]", source)
                continue
            _unknown_keys(_table(spec, key, source), BAND_KEYS, f"[{key}] of {source}")
            for k, v in spec.items():
                if k == "two_sided":
                    if not isinstance(v, bool):
                        raise _fail(f"{key}.two_sided", source, "true or false", v)
                else:
                    _check_number(v, f"{key}.{k}", source)
    if "filters" in data:
        fspec = _table(data["filters"], "filters", source)
        _unknown_keys(fspec, FILTER_KEYS, f"[filters] of {source}")
        for key in ("countries", "exclude_countries"):
            if key in fspec:
                _check_text_list(fspec[key], f"filters.{key}", source, "country codes")
        if "continents" in fspec:
            _check_text_list(fspec["continents"], "filters.continents", source, "continent codes")
        for key in ("min_population", "max_population"):
            if key in fspec:
                _check_number(fspec[key], f"filters.{key}", source)
        if "min_level" in fspec:
            levels = fspec["min_level"]
            if not isinstance(levels, Mapping):
                raise _fail("filters.min_level", source, 'a table like { hdi = "region" }', levels)
            for name, level in levels.items():
                _check_indicator(name, f"[filters.min_level] of {source}")
                if not isinstance(level, str):
                    raise _fail(f"filters.min_level.{name}", source, "a data level name", level)


def _table(value, key: str, source: str) -> dict:
    if not isinstance(value, Mapping):
        raise _fail(key, source, "a table", value)
    return dict(value)


def _unknown_keys(data: Mapping, allowed, where: str) -> None:
    unknown = [k for k in data if k not in allowed]
    if unknown:
        close = _close_matches(unknown[0], allowed, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ScenarioError(
            f"Unknown key {unknown[0]!r} in {where}; allowed: {', '.join(allowed)}.{hint}"
        )


def _band_from(spec, indicator: str, source: str, base: Band | None) -> Band:
    where = f"[bands.{indicator}] of {source}"
    if isinstance(spec, list):
        if len(spec) == 5:
            mn, lo, ideal, hi, mx = spec
            return Band(mn, lo, hi, mx, False, ideal)
        if len(spec) != 4:
            raise ScenarioError(
                f"{where} must list 4 numbers [min, lo, hi, max] or 5 [min, lo, ideal, hi, "
                f"max]; got {spec!r}."
            )
        return Band(*spec)
    if not isinstance(spec, Mapping):
        raise ScenarioError(f"{where} must be a table or a list [min, lo, hi, max]; got {spec!r}.")
    _unknown_keys(spec, BAND_KEYS, where)
    start = base.__dict__ if base is not None else {}
    missing = [k for k in ("min", "lo", "hi", "max") if k not in spec and k not in start]
    if missing:
        raise ScenarioError(f"{where} lacks {', '.join(missing)}.")
    merged = {**start, **spec}
    if "ideal" not in spec and any(k in spec for k in ("lo", "hi")):
        # a new good range without a new ideal: the ideal moves to its middle
        merged["ideal"] = None
    return Band(
        merged["min"],
        merged["lo"],
        merged["hi"],
        merged["max"],
        merged.get("two_sided", False),
        merged.get("ideal"),
    )


def _comment(text: str) -> list[str]:
    """A TOML comment block in the language in force: ``# `` before each line."""
    return [f"# {line}".rstrip() for line in _(text).splitlines()]


# --------------------------------------------------------------------------- presets

_SIZE_POP = Band(0.05, 0.25, 4.0, 20.0, ideal=1.0)
_SIZE_AREA = Band(0.05, 0.2, 5.0, 25.0, ideal=1.0)

_SMALL_BIG = Scenario(
    name="small-big",
    description=N_("Partner richer (GDP per capita) and more developed (HDI); comparable scale."),
    rationale=N_(
        "Sinambela et al. (2025) find that Indonesian cities in Small-Big couplings, where "
        "'Small' is the local city and 'Big' a foreign partner with a larger GDP per capita, "
        "show higher economic outcomes (Bandung, Surabaya, Medan; Table 2: 20 of 31 "
        "classified partners are Big). GDP per capita therefore carries the largest weight "
        "and is a gate (a partner that is not richer scores 0 and is not shortlisted); HDI "
        "('more developed') comes second, for knowledge and technology transfer. The ideal "
        "partner is about 3x richer and one development tier (+0.10 HDI) ahead: enough of a "
        "gap to 'leverage the comparative advantages of more developed partners', not so "
        "much that the relation turns into aid (Womack 2016: wide asymmetry breeds "
        "dependence); 1.5x to 8x is still a good partner, beyond 20x none, so 'bigger' "
        "does not mean 'Tokyo for every town'. Population and area ask for a comparable "
        "scale of city government (ideal 1x). Only Small-Big pairs are shortlisted."
    ),
    weights={"gdp_per_capita_usd": 0.45, "hdi": 0.25, "population": 0.20, "area_km2": 0.10},
    bands={
        "gdp_per_capita_usd": Band(1.0, 1.5, 8.0, 20.0, ideal=3.0),
        "hdi": Band(0.0, 0.03, 0.25, 0.40, ideal=0.10),
        "population": _SIZE_POP,
        "area_km2": _SIZE_AREA,
    },
    required=("gdp_per_capita_usd",),
    couplings=("SB",),
)

_BIG_SMALL = Scenario(
    name="big-small",
    description=N_("Partner poorer and less developed: the local city as the bigger partner."),
    rationale=N_(
        "Sinambela et al. (2025) conclude that the asymmetric models, Big-Small and "
        "Small-Big, are the most beneficial for economic cooperation in Indonesia. In "
        "Big-Small the local city leads: it can offer markets, know-how and investment "
        "(South-South cooperation). The mirror of small-big: ideally a third of the local "
        "city's GDP per capita and 0.10 HDI behind; 1/8 to 1/1.5 is a good partner, 0 when "
        "it is not poorer (gate) or poorer than 1/20. Only Big-Small pairs are shortlisted."
    ),
    weights={"gdp_per_capita_usd": 0.45, "hdi": 0.25, "population": 0.20, "area_km2": 0.10},
    bands={
        "gdp_per_capita_usd": Band(0.05, 0.125, 1 / 1.5, 1.0, ideal=1 / 3),
        "hdi": Band(-0.40, -0.25, -0.03, 0.0, ideal=-0.10),
        "population": _SIZE_POP,
        "area_km2": _SIZE_AREA,
    },
    required=("gdp_per_capita_usd",),
    couplings=("BS",),
)

_ASYMMETRIC = Scenario(
    name="asymmetric",
    description=N_("A clear gap on every indicator, whichever side leads."),
    rationale=N_(
        "Sinambela et al. (2025): 'the best collaboration model is asymmetric' (Big-Small or "
        "Small-Big), and symmetric pairings 'often struggle with overlapping interests and "
        "lack of reciprocity'; Womack (2016): asymmetric relations can be stable and "
        "mutually beneficial. Two-sided bands reward a gap of 1.5x to 8x (GDP per capita) "
        "or 1.5x to 10x (population, area), or 0.03 to 0.25 HDI, in either direction, "
        "ideally 3x (0.10 HDI). Only SB or BS pairs are shortlisted."
    ),
    weights={"gdp_per_capita_usd": 0.40, "hdi": 0.20, "population": 0.25, "area_km2": 0.15},
    bands={
        "gdp_per_capita_usd": Band(1.0, 1.5, 8.0, 20.0, two_sided=True, ideal=3.0),
        "hdi": Band(0.0, 0.03, 0.25, 0.40, two_sided=True, ideal=0.10),
        "population": Band(1.0, 1.5, 10.0, 50.0, two_sided=True, ideal=3.0),
        "area_km2": Band(1.0, 1.5, 10.0, 50.0, two_sided=True, ideal=3.0),
    },
    couplings=("SB", "BS"),
)

_SYMMETRIC = Scenario(
    name="symmetric",
    description=N_("A partner of about the same size and development (Cohen's BB / SS)."),
    rationale=N_(
        "Cohen (2020) found symmetric couplings, Big-Big and Small-Small, the more "
        "favourable for Israeli cities, with an emphasis on Big-Big; he sized cities by "
        "population, which therefore weighs most here. Sinambela et al. (2025) found the "
        "opposite for Indonesia (Small-Small the least successful): use this scenario as "
        "the contrast. Ideal: the same figures (1x, +0.00 HDI); 0.8 or more within the "
        "symmetry tolerance (1.25x, 0.02 HDI), 0 beyond 3x to 5x or 0.08 HDI. Only BB or "
        "SS pairs are shortlisted."
    ),
    weights={"population": 0.40, "gdp_per_capita_usd": 0.30, "hdi": 0.20, "area_km2": 0.10},
    bands={
        "gdp_per_capita_usd": Band(1 / 3, 0.8, 1.25, 3.0, ideal=1.0),
        "hdi": Band(-0.08, -0.02, 0.02, 0.08, ideal=0.0),
        "population": Band(0.25, 0.8, 1.25, 4.0, ideal=1.0),
        "area_km2": Band(0.2, 0.8, 1.25, 5.0, ideal=1.0),
    },
    couplings=("BB", "SS"),
)

_COMPLEMENTARY = Scenario(
    name="complementary",
    description=N_("Each side leads on some indicator: complementary resources."),
    rationale=N_(
        "Sinambela et al. (2025): 'coupling cities with complementary resources, rather "
        "than equal status, enables more dynamic and outcome-driven engagements', and "
        "reciprocity needs each side to bring something. A gate keeps only pairs in which "
        "the foreign city leads on at least one indicator and the local city on another "
        "(beyond the tolerance); two-sided bands then reward clear gaps, equally weighted."
    ),
    weights={"gdp_per_capita_usd": 0.25, "hdi": 0.25, "population": 0.25, "area_km2": 0.25},
    bands={
        "gdp_per_capita_usd": Band(1.0, 1.5, 10.0, 50.0, two_sided=True, ideal=3.0),
        "hdi": Band(0.0, 0.03, 0.25, 0.40, two_sided=True, ideal=0.10),
        "population": Band(1.0, 1.5, 10.0, 50.0, two_sided=True, ideal=3.0),
        "area_km2": Band(1.0, 1.5, 10.0, 50.0, two_sided=True, ideal=3.0),
    },
    require_complementary=True,
)

PRESETS: dict[str, Scenario] = {
    s.name: s for s in (_SMALL_BIG, _BIG_SMALL, _ASYMMETRIC, _SYMMETRIC, _COMPLEMENTARY)
}
"""The preset scenarios by name; ``small-big`` is the default."""

DEFAULT_SCENARIO = "small-big"


def preset_names() -> list[str]:
    """Names of the preset scenarios, the default first."""
    return list(PRESETS)


def _unknown_preset_message(name: str, what: str = "scenario", where: str = "") -> str:
    close = _close_matches(name, list(PRESETS), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    return (
        f"Unknown {what} {name!r}{where}; presets: {', '.join(PRESETS)} (or a path to a "
        f".toml file){hint}"
    )


def load_scenario(name_or_path: str | os.PathLike | Scenario = DEFAULT_SCENARIO) -> Scenario:
    """A preset by name, a scenario from a TOML file, or a :class:`Scenario` as is.

    Examples
    --------
    >>> load_scenario("symmetric").name
    'symmetric'
    >>> load_scenario("smal-big")
    Traceback (most recent call last):
    ...
    recommender.errors.ScenarioError: Unknown scenario 'smal-big'; presets: small-big, ...
    """
    if isinstance(name_or_path, Scenario):
        return name_or_path
    if isinstance(name_or_path, os.PathLike):
        return Scenario.from_toml(name_or_path)
    if not isinstance(name_or_path, str):
        raise ScenarioError(
            f"A scenario must be a preset name, a .toml path or a Scenario; "
            f"got {type(name_or_path).__name__} {name_or_path!r}."
        )
    if name_or_path in PRESETS:
        return PRESETS[name_or_path]
    if name_or_path.lower().endswith(".toml") or os.path.sep in name_or_path:
        return Scenario.from_toml(name_or_path)
    raise ScenarioError(_unknown_preset_message(name_or_path))
