"""Bahasa Indonesia and English for every planner-facing text.

A leaf of the package (standard library only, no other ``recommender`` import besides the
exceptions), so the engine's "why" lines, the writers in :mod:`recommender.io` and both front
ends can all translate their own texts.

>>> from recommender.i18n import _, language, format_number
>>> with language("id"):
...     _("Population"), format_number(2546452)
('Penduduk', '2.546.452')
"""

from recommender.i18n.catalog import (
    DEFAULT_LANGUAGE,
    DOMAIN,
    LANGUAGES,
    LOCALE_DIR,
    N_,
    Translator,
    _,
    current_language,
    get_translator,
    language,
    language_from_environment,
    ngettext,
    normalize_language,
    set_language,
)
from recommender.i18n.numbers import (
    format_money,
    format_number,
    format_percent,
    format_ratio,
    format_signed,
    format_year,
)
from recommender.i18n.texts import (
    class_label,
    column_label,
    glossary,
    indicator_label,
    level_label,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "Translator",
    "_",
    "class_label",
    "column_label",
    "current_language",
    "format_money",
    "format_number",
    "format_percent",
    "format_ratio",
    "format_signed",
    "format_year",
    "get_translator",
    "glossary",
    "indicator_label",
    "language",
    "language_from_environment",
    "level_label",
    "ngettext",
    "normalize_language",
    "set_language",
]
