"""Like-with-like economies: a *modelled* city GDP per capita where only a national one exists.

The Indonesian local cities carry their own GRDP per capita (a city figure), while most
foreign candidates carry their country's GDP per capita. Comparing Jakarta with Malaysia
rather than with Kuala Lumpur makes Kuala Lumpur look poorer than Jakarta, which it is not.
So before any pair is compared, :func:`comparable_cities` replaces every GDP per capita whose
level is ``country`` by a modelled city figure::

    modelled = national * premium
    log premium = a + b * (log national - log 10,000) + c * (log population - log 1e6)

clipped to :data:`PREMIUM_CLIP`. The coefficients come from ``data/urban_premium.json``,
fitted by ``scripts/fit_urban_premium.py`` on the units where both a city or regional figure
and the national one are known (Kummu et al. 2025 sub-national ratios of fully urban units,
Indonesian kota and kabupaten, Chinese prefectures; the file says how many and how well).
A bigger city and a poorer country mean a larger premium.

The modelled value is marked level ``modelled``, its source says how it was made, and it
carries its uncertainty: ``gdp_per_capita_usd_sd`` (the model's residual standard deviation
in log units, 0 for a measured value) and the 80% interval ``gdp_per_capita_usd_low`` /
``gdp_per_capita_usd_high``. The national figure stays in ``gdp_per_capita_usd_national``.
City, region, user and imputed figures are never replaced: the model applies only where no
city or regional figure exists, so it steps aside as better data arrives.

The scorer uses the uncertainty in one place: a scenario's *gate* (e.g. "partner richer")
drops a candidate only when its whole interval lies outside the band; a modelled figure
alone can never exclude a candidate on a city-versus-country difference.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.data.cache import register_codes, registered_codes

GDP = "gdp_per_capita_usd"
PREMIUM_CLIP = (0.5, 5.0)
"""The modelled premium is kept in this range (a city between half and five times its
country's GDP per capita): the fit is linear in logs and must not run off for extreme
populations."""

Z80 = 1.2815515655446004
"""Half-width of a central 80% normal interval, in standard deviations."""

SD_COLUMN = f"{GDP}_sd"
LOW_COLUMN = f"{GDP}_low"
HIGH_COLUMN = f"{GDP}_high"
NATIONAL_COLUMN = f"{GDP}_national"


def _premium_path() -> Path:
    from recommender.data import tables

    return Path(tables.data_dir()) / "urban_premium.json"


@lru_cache(maxsize=1)
def premium_model() -> dict:
    """The fitted coefficients (``a``, ``b``, ``c``, ``sd``) and their provenance."""
    path = _premium_path()
    try:
        with open(path, encoding="utf-8") as f:
            model = json.load(f)
    except FileNotFoundError:  # pragma: no cover - the file ships with the package
        ref = resources.files("recommender")
        raise FileNotFoundError(f"{path} is missing (package at {ref}).") from None
    for key in ("a", "b", "c", "sd"):
        if not isinstance(model.get(key), (int, float)) or not math.isfinite(model[key]):
            raise ValueError(f"{path}: {key!r} must be a finite number; got {model.get(key)!r}.")
    return model


def premium(national: np.ndarray, population: np.ndarray, model: dict | None = None) -> np.ndarray:
    """The modelled ratio city / national (vectorised; NaN population -> the 1-million city).

    Examples
    --------
    >>> m = {"a": 0.3, "b": -0.3, "c": 0.1, "sd": 0.4}
    >>> premium(np.array([10_000.0]), np.array([1e6]), m).round(3).tolist()
    [1.35]
    """
    m = premium_model() if model is None else model
    g = np.log(np.asarray(national, dtype=float) / 1e4)
    pop = np.asarray(population, dtype=float)
    lp = np.where(np.isfinite(pop) & (pop > 0), np.log(np.where(pop > 0, pop, 1.0) / 1e6), 0.0)
    log_p = m["a"] + m["b"] * g + m["c"] * lp
    return np.exp(np.clip(log_p, *np.log(PREMIUM_CLIP)))


def source_text(model: dict | None = None) -> str:
    """How a modelled figure was made, for the ``_source`` column."""
    m = premium_model() if model is None else model
    return (
        "modelled: national GDP per capita (World Bank) x urban premium "
        f"exp({m['a']:.2f} {m['b']:+.2f} log(national/10k) {m['c']:+.2f} log(pop/1M)), "
        f"80% interval x/÷ {math.exp(Z80 * m['sd']):.2f}; fitted on Kummu et al. (2025), "
        "BPS kota/kabupaten and Chinese prefectures (data/urban_premium.json)"
    )


def rule_text(model: dict | None = None) -> str:
    """The like-with-like rule in one sentence, for ``explain`` and the README."""
    m = premium_model() if model is None else model
    return (
        "GDP per capita is compared like with like: the candidate's city or regional figure "
        "where the data has one; otherwise a modelled city figure, the national GDP per "
        "capita times an urban premium that grows with the city's population and shrinks "
        f"as the country gets richer (80% interval x/÷ {math.exp(Z80 * m['sd']):.2f}); a "
        "scenario's gate excludes a candidate only when its whole interval is outside the band"
    )


_CACHE: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}

_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


def _recoded(
    cities: pd.DataFrame, column: str, target: np.ndarray, text: str, codes
) -> tuple[object, tuple | None]:
    """``column`` with ``text`` where ``target``, and its new ``(codes, distinct values)``.

    Through the codes the cache registered (:func:`recommender.data.cache.codes_of`) when
    there are some (the distinct values checked once, then taken by code), else from the
    column's values."""
    if codes is not None and isinstance(cities[column].dtype, pd.StringDtype):
        c, u = codes
        at = np.flatnonzero(u == text)
        if len(at):
            code = int(at[0])
        else:
            code, u = len(u), np.append(u, np.array([text], dtype=object))
        c = c.astype(np.int16 if len(u) < 2**15 else np.int32)  # a copy, fits a new code
        c[target] = code
        return pd.array(u, dtype="str").take(c, allow_fill=True), (c, u)
    values = cities[column].to_numpy(dtype=object).copy()
    values[target] = text
    return values, None


def comparable_cities(cities: pd.DataFrame, model: dict | None = None) -> pd.DataFrame:
    """``cities`` with every country-level GDP per capita replaced by a modelled city figure.

    Adds ``gdp_per_capita_usd_sd`` / ``_low`` / ``_high`` / ``_national`` (see the module
    docstring). Cached per table (the same object gives the same result object), so that
    every engine function compares the same numbers. A table without the GDP columns, or
    that was already made comparable, is returned as it is.

    Examples
    --------
    >>> t = pd.DataFrame({"gdp_per_capita_usd": [10_000.0, 9_000.0],
    ...                   "gdp_per_capita_usd_level": ["country", "city"],
    ...                   "gdp_per_capita_usd_source": ["World Bank", "BPS"],
    ...                   "population": [1e6, 2e6]})
    >>> out = comparable_cities(t, {"a": 0.3, "b": -0.3, "c": 0.1, "sd": 0.4})
    >>> out["gdp_per_capita_usd"].round(0).tolist(), out["gdp_per_capita_usd_level"].tolist()
    ([13499.0, 9000.0], ['modelled', 'city'])
    """
    if GDP not in cities.columns or f"{GDP}_level" not in cities.columns:
        return cities
    if SD_COLUMN in cities.columns:
        return cities
    if model is None:
        hit = _CACHE.get(id(cities))
        if hit is not None and hit[0] is cities:
            return hit[1]
    m = premium_model() if model is None else model
    # a shallow copy where pandas copies on write (pandas 3): the columns below are
    # replaced, never written into, so the 40,000-row string columns are shared, not copied
    out = cities.copy(deep=not _COPY_ON_WRITE)
    known = registered_codes(cities)
    level_col, src_col = f"{GDP}_level", f"{GDP}_source"
    value = out[GDP].to_numpy(dtype=float)
    level_codes = known.get(level_col)
    if level_codes is not None:  # an integer comparison instead of 40,000 string ones
        codes, uniques = level_codes
        at = np.flatnonzero(uniques == "country")
        is_country = codes == at[0] if len(at) else np.zeros(len(out), dtype=bool)
    else:
        is_country = out[level_col].to_numpy(dtype=object) == "country"
    target = is_country & np.isfinite(value)
    pop = (
        out["population"].to_numpy(dtype=float)
        if "population" in out.columns
        else np.full(len(out), np.nan)
    )
    modelled = value.copy()
    modelled[target] = value[target] * premium(value[target], pop[target], m)
    sd = np.where(target, float(m["sd"]), 0.0)
    sd[~np.isfinite(value)] = np.nan
    out[NATIONAL_COLUMN] = np.where(target, value, np.nan)
    out[GDP] = modelled
    out[SD_COLUMN] = sd
    for column, z in ((LOW_COLUMN, -Z80), (HIGH_COLUMN, Z80)):
        bound = np.multiply(sd, z)  # modelled * exp(z * sd), in one buffer
        np.exp(bound, out=bound)
        bound *= modelled
        out[column] = bound
    carried = dict(known)
    replaced = [(level_col, "modelled")]
    if src_col in out.columns:
        replaced.append((src_col, source_text(m)))
    for column, text in replaced:
        out[column], codes = _recoded(cities, column, target, text, known.get(column))
        if codes is not None:
            carried[column] = codes
        else:
            carried.pop(column, None)
    if known:
        # the engine then factorizes no column of the comparable table again
        register_codes(out, carried)
    if model is None:
        if len(_CACHE) > 4:
            _CACHE.clear()
        _CACHE[id(cities)] = (cities, out)
    return out


__all__ = [
    "PREMIUM_CLIP",
    "Z80",
    "comparable_cities",
    "premium",
    "premium_model",
    "rule_text",
    "source_text",
]
