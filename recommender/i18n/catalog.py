"""The message catalogue at run time: stdlib :mod:`gettext` over the compiled ``.mo`` files.

English is the source language (the ``msgid`` of every message), so English needs no
catalogue. Other languages load ``locale/<lang>/LC_MESSAGES/sistercity.mo`` once, on first use.
Babel is needed only to *build* the catalogue (``scripts/i18n_catalog.py``); start-up stays
as light as ``import gettext``.

The language in force is held in a :class:`contextvars.ContextVar`: the CLI sets it for one
command (``--lang``), the web app for one request, and every text in the package reads it
through :func:`_`. Without an explicit choice it follows the locale (``LANGUAGE``,
``LC_ALL``, ``LC_MESSAGES``, ``LANG``): Indonesian when that names Indonesian, else English.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext as _gettext
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from recommender.errors import RecommenderError

DOMAIN = "sistercity"
"""The gettext domain (the ``.po`` / ``.mo`` file name)."""

LOCALE_DIR = Path(__file__).resolve().parent / "locale"

LANGUAGES: dict[str, str] = {"en": "English", "id": "Bahasa Indonesia"}
"""Supported languages: code -> the language's own name."""

DEFAULT_LANGUAGE = "en"

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sistercity_language", default=None
)


def normalize_language(lang: str | None) -> str:
    """A language code or locale name -> one of :data:`LANGUAGES`.

    Raises
    ------
    RecommenderError
        ``lang`` names a language that has no catalogue.

    Examples
    --------
    >>> normalize_language("id_ID.UTF-8"), normalize_language("EN"), normalize_language(None)
    ('id', 'en', 'en')
    """
    if lang is None or not str(lang).strip():
        return DEFAULT_LANGUAGE
    code = str(lang).strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    code = {"in": "id", "ind": "id", "indonesian": "id", "eng": "en", "english": "en"}.get(
        code, code
    )
    if code not in LANGUAGES:
        raise RecommenderError(
            f"Unknown language {lang!r}; allowed: {', '.join(LANGUAGES)} "
            "(en = English, id = Bahasa Indonesia)"
        )
    return code


def language_from_environment(environ: dict[str, str] | None = None) -> str:
    """The language the locale asks for: Indonesian if it names Indonesian, else English.

    The first non-empty of ``LANGUAGE`` (a colon-separated list), ``LC_ALL``,
    ``LC_MESSAGES`` and ``LANG`` decides, as in :func:`gettext.find`.

    Examples
    --------
    >>> language_from_environment({"LANG": "id_ID.UTF-8"})
    'id'
    >>> language_from_environment({"LANGUAGE": "fr:id", "LANG": "C.UTF-8"})
    'id'
    >>> language_from_environment({"LANG": "C.UTF-8"})
    'en'
    """
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if not value:
            continue
        for part in value.split(":"):
            try:
                return normalize_language(part)
            except RecommenderError:
                continue
        return DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def current_language() -> str:
    """The language in force: set by :func:`set_language` / :func:`language`, else the locale's."""
    lang = _current.get()
    return lang if lang is not None else language_from_environment()


def set_language(lang: str | None) -> contextvars.Token:
    """Set the language for the current context; ``None`` goes back to the locale's.

    Returns the token for :meth:`contextvars.ContextVar.reset`. Prefer :func:`language`,
    which restores the previous language itself.
    """
    return _current.set(None if lang is None else normalize_language(lang))


@contextlib.contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Use ``lang`` inside the ``with`` block (``None`` keeps the language in force).

    Examples
    --------
    >>> with language("id"):
    ...     _("Population")
    'Penduduk'
    >>> with language("en"):
    ...     _("Population")
    'Population'
    """
    if lang is None:
        yield current_language()
        return
    token = set_language(lang)
    try:
        yield current_language()
    finally:
        _current.reset(token)


@dataclass(frozen=True)
class Translator:
    """The catalogue of one language plus its number conventions.

    Attributes
    ----------
    lang : str
        ``"en"`` or ``"id"``.
    decimal, thousands : str
        Separators: ``.`` / ``,`` in English, ``,`` / ``.`` in Indonesian.
    """

    lang: str
    translations: _gettext.NullTranslations
    decimal: str
    thousands: str

    def gettext(self, message: str) -> str:
        """The translation of ``message`` (the message itself when there is none)."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural translation, chosen by ``n``."""
        return self.translations.ngettext(singular, plural, n)

    __call__ = gettext


def get_translator(lang: str | None = None) -> Translator:
    """The :class:`Translator` of ``lang`` (default: the language in force).

    Examples
    --------
    >>> t = get_translator("id")
    >>> t.gettext("Population"), t.thousands
    ('Penduduk', '.')
    >>> get_translator("en").gettext("Population")
    'Population'
    """
    return _load(normalize_language(lang if lang is not None else current_language()))


@functools.cache
def _load(lang: str) -> Translator:
    if lang == "en":
        return Translator("en", _gettext.NullTranslations(), ".", ",")
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with open(path, "rb") as fh:
        translations = _gettext.GNUTranslations(fh)
    return Translator(lang, translations, ",", ".")


def _(message: str) -> str:
    """Translate ``message`` into the language in force (the gettext convention)."""
    lang = _current.get()
    return _load(lang if lang is not None else language_from_environment()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a count into the language in force."""
    return get_translator(current_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (translate on use)."""
    return message
