"""Numbers as people read them: Indonesian ``2.546.452`` and ``0,873``, English ``2,546,452``.

Hand-written rather than Babel's ``format_decimal`` so that the run time needs no locale
data: the two languages differ only in the two separators (CLDR: ``id`` uses ``,`` for
decimals and ``.`` for thousands).
"""

from __future__ import annotations

import math
from typing import Any

from recommender.i18n.catalog import get_translator

MISSING = "—"


def _swap(text: str, lang: str | None) -> str:
    t = get_translator(lang)
    if t.decimal == ".":
        return text
    return text.translate(str.maketrans({",": t.thousands, ".": t.decimal}))


def _number(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def format_number(value: Any, decimals: int = 0, *, lang: str | None = None) -> str:
    """``value`` with thousands separators and ``decimals`` decimals in ``lang``.

    Missing values read ``—``.

    Examples
    --------
    >>> format_number(2546452, lang="id"), format_number(2546452, lang="en")
    ('2.546.452', '2,546,452')
    >>> format_number(0.8734, 3, lang="id"), format_number(float("nan"))
    ('0,873', '—')
    """
    x = _number(value)
    if x is None:
        return MISSING
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return _swap(f"{x:,.{max(0, decimals)}f}", lang)


def format_signed(value: Any, decimals: int = 2, *, lang: str | None = None) -> str:
    """A difference with its sign: ``+0,11`` (Indonesian), ``+0.11`` (English).

    Examples
    --------
    >>> format_signed(0.112, lang="id"), format_signed(-0.05, lang="en")
    ('+0,11', '-0.05')
    """
    x = _number(value)
    if x is None:
        return MISSING
    return _swap(f"{x:+,.{max(0, decimals)}f}", lang)


def format_ratio(value: Any, *, lang: str | None = None) -> str:
    """A ratio as ``3.82×`` (two decimals below 10, none above).

    Examples
    --------
    >>> format_ratio(3.8234, lang="id"), format_ratio(12.4, lang="en")
    ('3,82×', '12×')
    """
    x = _number(value)
    if x is None:
        return MISSING
    return format_number(x, 2 if x < 10 else 0, lang=lang) + "×"


def format_percent(value: Any, decimals: int = 0, *, lang: str | None = None) -> str:
    """A share in [0, 1] as a percentage: ``87%`` / ``12,5%``.

    Examples
    --------
    >>> format_percent(0.125, 1, lang="id"), format_percent(0.87, lang="en")
    ('12,5%', '87%')
    """
    x = _number(value)
    if x is None:
        return MISSING
    return format_number(100 * x, decimals, lang=lang) + "%"


def format_money(value: Any, currency: str = "USD", *, lang: str | None = None) -> str:
    """An amount of money, whole units: ``US$ 8.361`` / ``Rp 132.571.000``.

    Examples
    --------
    >>> format_money(8361.2, lang="id"), format_money(8361.2, lang="en")
    ('US$ 8.361', 'US$ 8,361')
    >>> format_money(132571000, "IDR", lang="id")
    'Rp 132.571.000'
    """
    x = _number(value)
    if x is None:
        return MISSING
    symbol = {"USD": "US$", "IDR": "Rp"}.get(currency.upper(), currency.upper())
    return f"{symbol} {format_number(x, 0, lang=lang)}"


def format_year(value: Any) -> str:
    """A year as four digits, never ``2026.0``; missing reads ``—``.

    Examples
    --------
    >>> format_year(2026.0), format_year("2024"), format_year(None)
    ('2026', '2024', '—')
    """
    x = _number(value)
    return MISSING if x is None else str(int(round(x)))
