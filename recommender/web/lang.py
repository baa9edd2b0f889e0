"""The page's language: chosen by ``?lang=``, remembered in a cookie, else from the browser.

Texts and numbers come from :mod:`recommender.i18n` (the message catalogue and number
formats shared with the CLI and the exports); this module only picks the language of a
request and hands the template its helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recommender import i18n

LANGUAGES = i18n.LANGUAGES
COOKIE = "sistercity_lang"


def from_accept_language(header: str | None) -> str:
    """The first supported language of an ``Accept-Language`` header, by quality.

    Examples
    --------
    >>> from_accept_language("id-ID,id;q=0.9,en-US;q=0.8") == ("id" if "id" in LANGUAGES else "en")
    True
    >>> from_accept_language("fr-FR, en;q=0.5"), from_accept_language(None)
    ('en', 'en')
    """
    if not header:
        return i18n.DEFAULT_LANGUAGE
    choices: list[tuple[float, int, str]] = []
    for k, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        code = tag.strip().split("-")[0].lower()
        if code in LANGUAGES and q > 0:
            choices.append((-q, k, code))
    return min(choices)[2] if choices else i18n.DEFAULT_LANGUAGE


def choose(query_lang: str | None, cookie: str | None, accept: str | None) -> str:
    """``?lang=`` (validated: an unknown code is an error), then the cookie, then the header."""
    if query_lang:
        return i18n.normalize_language(query_lang)
    if cookie and cookie in LANGUAGES:
        return cookie
    return from_accept_language(accept)


def helpers(lang: str) -> dict[str, Callable[..., Any]]:
    """What templates call: ``_`` and the number formats of ``lang``."""
    t = i18n.get_translator(lang)
    return {
        "_": t.gettext,
        "ngettext": t.ngettext,
        "num": lambda v, d=0: i18n.format_number(v, d, lang=lang),
        "ratio": lambda v: i18n.format_ratio(v, lang=lang),
        "signed": lambda v, d=2: i18n.format_signed(v, d, lang=lang),
        "money": lambda v: i18n.format_money(v, lang=lang),
        "indicator_label": i18n.indicator_label,
        "level_label": i18n.level_label,
        "class_label": i18n.class_label,
        "column_label": i18n.column_label,
    }
