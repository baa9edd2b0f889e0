"""Planner-facing words shared by every front end: indicator names, data levels, coupling
labels, human column headers and the glossary of an export.

Each text is marked with :func:`~recommender.i18n.catalog.N_` (so ``scripts/i18n_catalog.py``
extracts it) and translated when it is used, in the language in force. Columns are keyed by
their stable snake_case names, which CSV and JSON keep; columns added later by other parts
of the engine (feasibility, robustness, eligibility, context) get a header and a glossary
entry here when present and fall back to their own name otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable

from recommender.i18n.catalog import N_, _

INDICATOR_LABELS: dict[str, str] = {
    "population": N_("Population"),
    "area_km2": N_("Area"),
    "gdp_per_capita_usd": N_("GDP per capita"),
    "hdi": N_("Human Development Index"),
}
"""Full indicator names (keys: :data:`recommender.data.indicators.INDICATOR_NAMES`)."""

INDICATOR_SHORT: dict[str, str] = {
    "population": N_("population"),
    "area_km2": N_("area"),
    "gdp_per_capita_usd": N_("GDP/cap"),
    "hdi": N_("HDI"),
}
"""Short indicator names for tight table headers."""

INDICATOR_UNITS: dict[str, str] = {
    "population": N_("people"),
    "area_km2": "km²",
    "gdp_per_capita_usd": "US$",
    "hdi": N_("index 0-1"),
}

LEVEL_LABELS: dict[str, str] = {
    "city": N_("city"),
    "region": N_("region"),
    "modelled": N_("modelled"),
    "country": N_("country"),
    "imputed": N_("imputed"),
    "user": N_("user"),
    "missing": N_("no data"),
}
"""Data levels as words (the values stay English codes in CSV and JSON)."""

LEVEL_SHORT: dict[str, str] = {
    "city": N_("city"),
    "region": N_("reg"),
    "modelled": N_("mod"),
    "country": N_("ctry"),
    "imputed": N_("imp"),
    "user": N_("user"),
    "missing": "—",
}
"""Data levels in three or four letters, for terminal cells."""

LEVEL_DESCRIPTIONS: dict[str, str] = {
    "city": N_("measured for the city itself"),
    "region": N_(
        "the value of the city's province or region (e.g. subnational HDI), used because "
        "no city figure exists"
    ),
    "country": N_("the national value, used because no city or regional figure exists"),
    "imputed": N_(
        "estimated, e.g. area from population and the typical density of cities in the same country"
    ),
    "user": N_("supplied by the user (a CSV override or a what-if value)"),
    "missing": N_("no value at all; see the scenario for how the score treats the gap"),
    "modelled": N_(
        "a modelled city figure: the national value times an urban premium that grows with "
        "the city's population, with an 80% interval (GDP per capita where no city or "
        "regional figure exists)"
    ),
}

COUPLING_LABELS: dict[str, str] = {
    "SB": N_("Small-Big"),
    "BS": N_("Big-Small"),
    "BB": N_("Big-Big"),
    "SS": N_("Small-Small"),
}

COUPLING_DESCRIPTIONS: dict[str, str] = {
    "SB": N_(
        "Small-Big: the local city is the smaller side and the partner the bigger one (the "
        "default scenario, after Sinambela et al. 2025: a richer, more developed partner)"
    ),
    "BS": N_("Big-Small: the local city is the bigger side and the partner the smaller one"),
    "BB": N_("Big-Big: a symmetric pair of two big cities (Cohen 2020)"),
    "SS": N_("Small-Small: a symmetric pair of two small cities (Cohen 2020)"),
}
"""The pair's coupling label, read from the local city's side."""

CLASS_LABELS: dict[str, str] = {
    "Big": N_("Big"),
    "Small": N_("Small"),
    "Symmetry": N_("Symmetry"),
    "Unknown": N_("Unknown"),
}
"""Per-indicator class of the partner against the local city."""

COLUMN_LABELS: dict[str, str] = {
    "rank": N_("Rank"),
    "city_id": N_("GeoNames id"),
    "name": N_("City"),
    "country_code": N_("Country code"),
    "country_name": N_("Country"),
    "admin1_name": N_("Region"),
    "score": N_("Score (strategy fit)"),
    "coupling": N_("Coupling"),
    "distance_km": N_("Distance (km)"),
    "existing_partner": N_("Already a partner"),
    "why": N_("Why"),
    "feasibility": N_("Feasibility"),
    "combined": N_("Combined score"),
    "why_feasibility": N_("Why (feasibility)"),
    "robustness": N_("Robustness"),
    "rank_range": N_("Rank range"),
    "top_share": N_("Share of runs in the top list"),
    "eligibility": N_("Eligibility"),
    "eligibility_status": N_("Eligibility"),
    "eligibility_reason": N_("Eligibility: reason"),
    "eligibility_source": N_("Eligibility: legal source"),
    "context": N_("Context"),
    "kind": N_("Kind of place"),
    "robustness_text": N_("Robustness (in words)"),
    "partners_in_country": N_("Its partners in the local city's country"),
    "partners_in_country_names": N_("Its partners in the local city's country (names)"),
    "partners_in_region_names": N_("Its partners in the local city's region"),
    "continent": N_("Continent"),
    "is_capital": N_("National capital"),
    "n_partners": N_("Existing partners (count)"),
    "local_city_id": N_("Local city: GeoNames id"),
    "local_name": N_("Local city"),
    "local_kemendagri_code": N_("Local city: Kemendagri code"),
    "size_class": N_("Size"),
    "source": N_("Source"),
    "stage": N_("Stage"),
    "focus": N_("Focus"),
    "driver": N_("Main driver"),
    "driver_change": N_("Change of the driver's contribution"),
    "move": N_("Move (ranks)"),
    "scenario": N_("Scenario"),
    "scenario_a": N_("Scenario A"),
    "scenario_b": N_("Scenario B"),
    "overlap": N_("Overlap of the top lists"),
    "spearman": N_("Rank correlation (Spearman)"),
    "kendall": N_("Rank correlation (Kendall)"),
    "driver_text": N_("What moves it"),
    "rank_a": N_("Rank under scenario A (whole pool)"),
    "rank_b": N_("Rank under scenario B (whole pool)"),
    "score_a": N_("Score under scenario A"),
    "score_b": N_("Score under scenario B"),
    "in_top_a": N_("In the top list of scenario A"),
    "in_top_b": N_("In the top list of scenario B"),
}
"""Human headers for the snake_case columns of shortlists, batches and partner tables."""

_SUFFIX_LABELS: dict[str, str] = {
    "_ratio": N_("{indicator}: ratio to the local city"),
    "_diff": N_("{indicator}: difference from the local city"),
    "_ratio_low": N_("{indicator}: ratio, low end of the 80% interval"),
    "_ratio_high": N_("{indicator}: ratio, high end of the 80% interval"),
    "_class": N_("{indicator}: class"),
    "_contribution": N_("{indicator}: contribution to the score"),
    "_level": N_("{indicator}: data level"),
    "_source": N_("{indicator}: source"),
    "_year": N_("{indicator}: year"),
    "_value": N_("{indicator}: value"),
}

GLOSSARY_TERMS: dict[str, tuple[str, str]] = {
    "score": (
        N_("Score (strategy fit)"),
        N_(
            "How well the pair matches the scenario, from 0 to 1: a weighted mean of how "
            "desirable each indicator's gap is. The per-indicator contributions add up to it."
        ),
    ),
    "coupling": (
        N_("Coupling"),
        N_(
            "The kind of pair seen from the local city: SB, BS, BB or SS (see the coupling "
            "labels below)."
        ),
    ),
    "ratio": (
        N_("Ratio to the local city"),
        N_(
            "The partner's value divided by the local city's (2.00× = twice as large); for "
            "the HDI the difference instead."
        ),
    ),
    "class": (
        N_("Class"),
        N_(
            "Per indicator, the partner is Big (above the local city by more than the "
            "tolerance band), Small (below it by more) or Symmetry (within the band)."
        ),
    ),
    "contribution": (
        N_("Contribution"),
        N_(
            "The part of the score that one indicator brings; the contributions add up to the score."
        ),
    ),
    "level": (
        N_("Data level"),
        N_("Where a figure comes from: city, region, country, imputed or user (see below)."),
    ),
    "feasibility": (
        N_("Feasibility"),
        N_(
            "Learned from the existing partnerships: the calibrated probability that a pair "
            "like this one becomes partners. It is not part of the strategy fit."
        ),
    ),
    "combined": (
        N_("Combined score"),
        N_("A blend of strategy fit and feasibility; the ranking uses it when feasibility is on."),
    ),
    "robustness": (
        N_("Robustness"),
        N_(
            "How stable the candidate's place is when the scenario's weights are varied: the "
            "share of the varied weightings in which it stays in the top list."
        ),
    ),
    "eligibility": (
        N_("Eligibility"),
        N_(
            "Whether a partnership with a city of that country is allowed under Indonesian "
            "rules, with the reason and the legal source."
        ),
    ),
    "overlap": (
        N_("Overlap of the top lists"),
        N_(
            "The share of the shortlist two scenarios have in common: 1 = the same cities, "
            "0 = none in common."
        ),
    ),
    "spearman": (
        N_("Rank correlation"),
        N_(
            "How alike two scenarios order all candidates (Spearman and Kendall): 1 = the same "
            "order, 0 = unrelated, -1 = reversed."
        ),
    ),
    "move": (
        N_("Move (ranks)"),
        N_(
            "How many places a candidate climbs (+) or falls (-) from the first scenario to the "
            "second, over the whole candidate pool; the main driver is the indicator whose "
            "contribution changes most."
        ),
    ),
    "kind": (
        N_("Kind of place"),
        N_(
            "A city, a part of a city (a district or ward, e.g. of Tokyo) or another kind of "
            "place; only cities are candidates unless asked otherwise."
        ),
    ),
    "distance_km": (
        N_("Distance (km)"),
        N_("Great-circle distance between the two cities."),
    ),
}
"""Glossary entries (key -> (term, meaning)); entries for absent columns are left out of an
export only when the column they explain is optional (feasibility, robustness, eligibility)."""

OPTIONAL_GLOSSARY = {
    "kind": ("kind",),
    "overlap": ("overlap",),
    "spearman": ("spearman", "kendall"),
    "move": ("move",),
    "feasibility": ("feasibility",),
    "combined": ("combined",),
    "robustness": ("robustness", "rank_range", "top_share"),
    "eligibility": ("eligibility", "eligibility_status"),
}


VALUE_WORDS: dict[str, dict[str, str]] = {
    "eligibility": {
        "yes": N_("allowed"),
        "no": N_("not allowed"),
        "restricted": N_("restricted"),
        "unknown": N_("unknown"),
    },
    "kind": {"city": N_("city"), "city_part": N_("part of a city"), "other": N_("other place")},
    "stage": {"unknown": N_("unknown"), "mou": N_("memorandum of understanding")},
    "focus": {"unknown": N_("unknown")},
}
"""Words for the codes of some columns (the codes stay in CSV and JSON)."""


def value_label(column: str, value: str) -> str:
    """The word for a column's code in the language in force (other values unchanged).

    Examples
    --------
    >>> from recommender.i18n import language
    >>> with language("id"):
    ...     value_label("eligibility", "no"), value_label("kind", "city_part")
    ('tidak diperbolehkan', 'bagian dari kota')
    """
    words = VALUE_WORDS.get(column, {})
    return _(words[value]) if value in words else value


def indicator_label(name: str) -> str:
    """The full indicator name in the language in force.

    Examples
    --------
    >>> from recommender.i18n import language
    >>> with language("id"):
    ...     indicator_label("gdp_per_capita_usd")
    'PDB per kapita'
    """
    return _(INDICATOR_LABELS[name]) if name in INDICATOR_LABELS else name


def level_label(level: str) -> str:
    """A data level as a word in the language in force (unknown levels unchanged)."""
    return _(LEVEL_LABELS[level]) if level in LEVEL_LABELS else str(level)


def class_label(cls: str) -> str:
    """A per-indicator class (Big, Small, Symmetry, Unknown) in the language in force."""
    return _(CLASS_LABELS[cls]) if cls in CLASS_LABELS else str(cls)


def column_label(column: str) -> str:
    """A human header for a snake_case column, in the language in force.

    Indicator columns read ``"<indicator>: <what>"``; unknown columns keep their name.

    Examples
    --------
    >>> from recommender.i18n import language
    >>> with language("en"):
    ...     column_label("gdp_per_capita_usd_contribution"), column_label("rank")
    ('GDP per capita: contribution to the score', 'Rank')
    >>> with language("id"):
    ...     column_label("hdi_level")
    'Indeks Pembangunan Manusia: tingkat data'
    """
    if column in COLUMN_LABELS:
        return _(COLUMN_LABELS[column])
    if column in INDICATOR_LABELS:
        return indicator_label(column)
    for name in INDICATOR_LABELS:
        if column.startswith(name + "_"):
            suffix = column[len(name) :]
            if suffix in _SUFFIX_LABELS:
                return _(_SUFFIX_LABELS[suffix]).format(indicator=indicator_label(name))
    return column


def glossary(columns: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    """The glossary of an export as rows ``(section, term, meaning)`` in the language in force.

    Optional entries (feasibility, robustness, eligibility) appear only when one of their
    columns is in ``columns``; coupling labels and data levels always do.

    Examples
    --------
    >>> from recommender.i18n import language
    >>> with language("en"):
    ...     rows = glossary(["score", "coupling"])
    >>> rows[0][:2]
    ('Terms', 'Score (strategy fit)')
    >>> any(term == "Feasibility" for _s, term, _m in rows)
    False
    """
    present = set(columns)
    rows: list[tuple[str, str, str]] = []
    terms = _("Terms")
    for key, (term, meaning) in GLOSSARY_TERMS.items():
        optional = OPTIONAL_GLOSSARY.get(key)
        if optional is not None and not present.intersection(optional):
            continue
        rows.append((terms, _(term), _(meaning)))
    section = _("Coupling labels")
    for code, text in COUPLING_DESCRIPTIONS.items():
        rows.append((section, code, _(text)))
    section = _("Data levels")
    for level, text in LEVEL_DESCRIPTIONS.items():
        rows.append((section, level_label(level), _(text)))
    section = _("Indicators")
    for name, label in INDICATOR_LABELS.items():
        rows.append((section, _(label), _(INDICATOR_UNITS[name])))
    return rows
