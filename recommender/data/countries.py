"""Country names and codes as people type them: ``USA``, ``UK``, ``Türkiye``, ``Jepang``.

One resolver for every option that takes countries (``--countries``, ``--exclude-countries``,
``--country``). It reads ISO 3166-1 from :mod:`pycountry` (alpha-2, alpha-3, numeric, the
English short, official and common names, and pycountry's own Indonesian translations of the
names), adds the names the cities table uses (GeoNames) and a short list of everyday names
that ISO does not hold (``UK``, ``England``, ``Inggris``, ``Tiongkok``...). pycountry is
imported only when a country is actually resolved, so ``sistercity shortlist`` without
country options does not pay for it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from recommender.errors import FilterError

ALIASES: dict[str, str] = {
    # English everyday names and non-ISO codes
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "el": "GR",
    "america": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "holland": "NL",
    "turkey": "TR",
    "russia": "RU",
    "czech republic": "CZ",
    "korea": "KR",
    "south korea": "KR",
    "north korea": "KP",
    "laos": "LA",
    "syria": "SY",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "palestine": "PS",
    "ivory coast": "CI",
    "cape verde": "CV",
    "east timor": "TL",
    "burma": "MM",
    "macedonia": "MK",
    "vatican": "VA",
    "brunei": "BN",
    # Indonesian everyday names that pycountry's translations do not hold
    "inggris": "GB",
    "inggris raya": "GB",
    "amerika": "US",
    "as": "US",
    "tiongkok": "CN",
    "rrt": "CN",
    "rrc": "CN",
    "korsel": "KR",
    "korut": "KP",
    "rusia": "RU",
    "iran": "IR",
    "taiwan": "TW",
    "timor leste": "TL",
    "vietnam": "VN",
    "arab saudi": "SA",
    "uni emirat arab": "AE",
    "uea": "AE",
    "ceko": "CZ",
    "selandia baru": "NZ",
}
"""Lower-case everyday name -> ISO 3166-1 alpha-2 code."""


def _fold(text: str) -> str:
    from anyascii import anyascii

    return " ".join(anyascii(str(text)).casefold().replace(",", " ").split())


@functools.cache
def _iso_names() -> tuple[dict[str, str], dict[str, str]]:
    """(folded name or code -> alpha-2, alpha-2 -> English short name) from pycountry."""
    import gettext

    import pycountry

    indonesian = gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=["id"], fallback=True
    )
    lookup: dict[str, str] = {}
    names: dict[str, str] = {}
    for c in pycountry.countries:
        code = c.alpha_2
        names[code] = getattr(c, "common_name", None) or c.name
        keys = [c.alpha_3, c.name, indonesian.gettext(c.name)]
        keys += [getattr(c, k, None) for k in ("official_name", "common_name")]
        for key in keys:
            if key:
                lookup.setdefault(_fold(key), code)
        # "Korea, Republic of" also as "Republic of Korea"
        if ", " in c.name:
            head, _sep, tail = c.name.partition(", ")
            lookup.setdefault(_fold(f"{tail} {head}"), code)
    for alias, code in ALIASES.items():
        lookup[_fold(alias)] = code
    return lookup, names


INDONESIAN_NAMES: dict[str, str] = {"CN": "Tiongkok", "TW": "Taiwan"}
"""Names Indonesian government documents use where pycountry's translation differs
("Cina" since Keppres 12/2014 reads "Tiongkok"; "Taiwan, Provinsi China" is ISO's)."""


@functools.cache
def _indonesian_names() -> dict[str, str]:
    import gettext

    import pycountry

    indonesian = gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=["id"], fallback=True
    )
    out = {
        c.alpha_2: indonesian.gettext(getattr(c, "common_name", None) or c.name)
        for c in pycountry.countries
    }
    return {**out, **INDONESIAN_NAMES}


def country_display_name(code: object, name: object = None) -> str:
    """A country's name for the reader, in the language in force.

    English: ``name`` (the cities table's GeoNames name) when given, else ISO's short
    name; Indonesian: pycountry's Indonesian translation (``Korea Selatan``, ``Jepang``).
    A code ISO does not know gives ``name`` (or the code) unchanged.

    >>> from recommender.i18n import language
    >>> with language("id"):
    ...     country_display_name("KR", "South Korea"), country_display_name("CN", "China")
    ('Korea Selatan', 'Tiongkok')
    >>> country_display_name("KR", "South Korea")
    'South Korea'
    """
    from recommender.i18n import current_language

    code = str(code or "").upper()
    if current_language() == "id" and code in _indonesian_names():
        return _indonesian_names()[code]
    if name not in (None, ""):
        return str(name)
    return _iso_names()[1].get(code, code)


def country_by_number(number: object, name: object) -> str:
    """:func:`country_display_name` for an ISO 3166-1 numeric code (``"360"``), as map
    outlines (Natural Earth) carry them; ``name`` when the code is unknown."""
    from recommender.i18n import current_language

    if current_language() != "id":
        return str(name)
    return country_display_name(_numeric_codes().get(str(number or "").zfill(3), ""), name)


@functools.cache
def _numeric_codes() -> dict[str, str]:
    import pycountry

    return {c.numeric: c.alpha_2 for c in pycountry.countries}


def resolve_country_code(
    text: str, known: Mapping[str, str] | None = None, *, option: str = "country"
) -> str:
    """The ISO 3166-1 alpha-2 code a user means by ``text``.

    Parameters
    ----------
    text : str
        A code (``JP``, ``JPN``, ``392``), a name in English or Indonesian (``Japan``,
        ``Jepang``, ``Türkiye``, ``South Korea``) or an everyday name (``UK``, ``USA``).
    known : mapping, optional
        Code -> name of the countries that have cities in the data (their names count too);
        a country outside it is an error that says so.
    option : str
        The option's name, for the message.

    Raises
    ------
    FilterError
        Nothing matches (the message lists the closest countries with their codes), or the
        country has no cities in the data.

    Examples
    --------
    >>> [resolve_country_code(t) for t in ("USA", "UK", "Jepang", "Türkiye", "kr", "Belanda")]
    ['US', 'GB', 'JP', 'TR', 'KR', 'NL']
    """
    raw = str(text).strip()
    if not raw:
        raise FilterError(f"Empty country in {option}; use an ISO code such as JP or a name")
    lookup, names = _iso_names()
    names = {**names, **{c: n for c, n in (known or {}).items() if n}}
    key = _fold(raw)
    code = None
    if len(raw) == 2 and raw.upper() in names and key not in ALIASES:
        code = raw.upper()
    elif key in lookup:
        code = lookup[key]
    else:
        by_table = {_fold(n): c for c, n in (known or {}).items() if n}
        code = by_table.get(key)
    if code is None:
        raise FilterError(
            f"Unknown country {raw!r} in {option}; closest: {suggest_countries(raw, known)}. "
            "Use an ISO code (JP, JPN) or a name in English or Indonesian (Japan, Jepang)"
        )
    if known is not None and code not in known:
        raise FilterError(
            f"{names.get(code, code)} ({code}), given as {raw!r} in {option}, has no cities "
            "in the data"
        )
    return code


def suggest_countries(text: str, known: Mapping[str, str] | None = None, limit: int = 3) -> str:
    """The closest countries to ``text`` as ``"JP (Japan), JM (Jamaica)"``.

    A short text is read as a code: codes and names that start like it come first; a longer
    one is compared with every name (English, Indonesian, GeoNames) by similarity.

    Examples
    --------
    >>> suggest_countries("Japn").split(", ")[0]
    'JP (Japan)'
    """
    from rapidfuzz import fuzz, process

    lookup, names = _iso_names()
    allowed = set(known) if known is not None else set(names)
    key = _fold(text)
    found: list[str] = []
    if len(key) <= 3:
        for code in sorted(allowed):
            iso3 = next((k for k, c in lookup.items() if c == code and len(k) == 3), "")
            if code.lower().startswith(key[:1]) and (
                code.lower().startswith(key[:2]) or iso3.startswith(key)
            ):
                found.append(code)
        found += [
            c for c in sorted(allowed) if _fold(names.get(c, "")).startswith(key) and c not in found
        ]
    choices = {k: c for k, c in lookup.items() if c in allowed and len(k) > 3}
    for name, _score, _i in process.extract(key, list(choices), scorer=fuzz.WRatio, limit=20):
        if choices[name] not in found:
            found.append(choices[name])
    shown = found[:limit]
    return ", ".join(f"{c} ({names.get(c, c)})" for c in shown) or "none"


def resolve_country_codes(
    values: Iterable[str], known: Mapping[str, str] | None = None, *, option: str = "countries"
) -> tuple[str, ...]:
    """Several countries at once, each resolved by :func:`resolve_country_code`, deduplicated.

    Examples
    --------
    >>> resolve_country_codes(["USA", "UK", "Jepang", "us"])
    ('US', 'GB', 'JP')
    """
    return tuple(dict.fromkeys(resolve_country_code(v, known, option=option) for v in values))


__all__ = ["ALIASES", "resolve_country_code", "resolve_country_codes", "suggest_countries"]
