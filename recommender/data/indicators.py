"""The indicator registry: the four size indicators of Cohen (2020) and Sinambela et al. (2025).

Each indicator has a unit, a transform used to measure asymmetry (``log`` for the positive,
heavy-tailed quantities; ``linear`` for HDI, which is bounded in [0, 1]) and a label for
people. Everything else in the engine loops over :data:`INDICATORS`, so adding an indicator
means adding it here and to the data tables.
"""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("city", "region", "country", "imputed", "user", "missing", "modelled")
"""Where an indicator value comes from. ``missing`` means no value at all; ``modelled`` (a
city figure estimated from the national one, see :mod:`recommender.data.modelled`) comes
last so that the codes of the older levels, which the feasibility model was trained on,
keep their values. For "best first" use :data:`LEVEL_QUALITY`."""

LEVEL_RANK = {level: i for i, level in enumerate(LEVELS)}

LEVEL_QUALITY = ("city", "user", "region", "modelled", "country", "imputed", "missing")
"""The levels from the most to the least specific (a user value counts as a city value)."""

QUALITY_RANK = {level: i for i, level in enumerate(LEVEL_QUALITY)}


@dataclass(frozen=True)
class Indicator:
    name: str
    label: str
    short: str
    unit: str
    transform: str  # "log" or "linear"
    hdi_scale: float = 1.0  # for linear indicators: the difference that counts as "one unit"

    def describe(self) -> str:
        return f"{self.label} ({self.unit}, {self.transform} scale)"


INDICATORS: tuple[Indicator, ...] = (
    Indicator("population", "Population", "pop", "people", "log"),
    Indicator("area_km2", "Area", "area", "km²", "log"),
    Indicator("gdp_per_capita_usd", "GDP per capita", "gdp", "current US$", "log"),
    Indicator("hdi", "Human Development Index", "hdi", "index 0-1", "linear"),
)

INDICATOR_NAMES: tuple[str, ...] = tuple(i.name for i in INDICATORS)
BY_NAME = {i.name: i for i in INDICATORS}

PROVENANCE_SUFFIXES = ("_level", "_source", "_year")


def provenance_columns(name: str) -> list[str]:
    """The three provenance columns that must accompany indicator ``name``."""
    return [name + s for s in PROVENANCE_SUFFIXES]


def get(name: str) -> Indicator:
    try:
        return BY_NAME[name]
    except KeyError:
        from recommender.errors import RecommenderError

        raise RecommenderError(
            f"Unknown indicator {name!r}; allowed: {', '.join(INDICATOR_NAMES)}"
        ) from None
