"""English-only stand-in for :mod:`recommender.i18n`, used only while that package is absent.

Same names as the real module for what the web app calls; no translation at all.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from recommender.errors import RecommenderError

LANGUAGES = {"en": "English"}
DEFAULT_LANGUAGE = "en"


def normalize_language(lang: str | None) -> str:
    code = str(lang or "en").strip().lower().split("-")[0].split("_")[0]
    if code not in LANGUAGES:
        raise RecommenderError(f"Unknown language {lang!r}; allowed: {', '.join(LANGUAGES)}")
    return code


class _T:
    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural


def get_translator(lang: str | None = None) -> _T:
    return _T()


@contextlib.contextmanager
def language(lang: str | None) -> Iterator[str]:
    yield "en"


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def format_number(v: Any, decimals: int = 0, *, lang: str | None = None) -> str:
    x = _num(v)
    return "—" if x is None else f"{x:,.{decimals}f}"


def format_signed(v: Any, decimals: int = 2, *, lang: str | None = None) -> str:
    x = _num(v)
    return "—" if x is None else f"{x:+,.{decimals}f}"


def format_ratio(v: Any, *, lang: str | None = None) -> str:
    x = _num(v)
    return "—" if x is None else format_number(x, 2 if x < 10 else 0) + "×"


def format_money(v: Any, currency: str = "USD", *, lang: str | None = None) -> str:
    x = _num(v)
    return "—" if x is None else f"US$ {x:,.0f}"


def indicator_label(name: str) -> str:
    from recommender.data.indicators import BY_NAME

    return BY_NAME[name].label if name in BY_NAME else name


def level_label(level: str) -> str:
    return str(level)


def class_label(cls: str) -> str:
    return str(cls)


def column_label(column: str) -> str:
    return column.replace("_", " ").capitalize()
