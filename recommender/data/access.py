"""Small helpers shared by the engine modules: default tables and the local city.

The packaged tables live in :mod:`recommender.data.tables`; they are imported lazily so that every
engine function also works on a DataFrame the caller passes in (tests, user CSVs), without
touching the packaged files.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd

from recommender.errors import DataValidationError, FilterError, UnknownCityError


def get_cities(cities: pd.DataFrame | None) -> pd.DataFrame:
    """Return ``cities``, or the packaged cities table when it is ``None``."""
    if cities is not None:
        if not isinstance(cities, pd.DataFrame):
            raise FilterError(
                f"The 'cities' argument must be a pandas DataFrame or None; "
                f"got {type(cities).__name__} instead."
            )
        return cities
    from recommender.data.tables import load_cities

    return load_cities()


def get_ties(ties: pd.DataFrame | None) -> pd.DataFrame:
    """Return ``ties``, or the packaged ties table when it is ``None``.

    Pass an empty DataFrame to say "no known partnerships".
    """
    if ties is not None:
        if not isinstance(ties, pd.DataFrame):
            raise FilterError(
                f"The 'ties' argument must be a pandas DataFrame or None; "
                f"got {type(ties).__name__} instead."
            )
        return ties
    from recommender.data.tables import load_ties

    return load_ties()


def packaged_ties(ties: pd.DataFrame | None) -> bool:
    """Whether ``ties`` holds the packaged partnerships (the network the feasibility model
    was trained on), so that ``feasibility="auto"`` may blend the model in.

    ``None`` (the default tables), the packaged table itself (the object
    :func:`~recommender.data.tables.load_ties` returns, recognised by identity:
    :func:`recommender.data.cache.source_of`) and any copy with the same pairs in the same order (``city_a_id`` and ``city_b_id``, all the
    model reads of ties) are packaged; anything else (fewer or more pairs, edited ids, an
    empty table) is the caller's own. Cheap: no hashing, at most one comparison of two
    integer columns with the loaded table's.

    Examples
    --------
    >>> from recommender.data.tables import load_ties
    >>> packaged_ties(None), packaged_ties(load_ties()), packaged_ties(load_ties().copy())
    (True, True, True)
    >>> packaged_ties(load_ties().head(100)), packaged_ties(pd.DataFrame())
    (False, False)
    """
    if ties is None:
        return True
    if not isinstance(ties, pd.DataFrame) or len(ties) == 0:
        return False
    from recommender.data.cache import source_of
    from recommender.data.tables import load_ties

    if source_of(ties) is not None and "city_a_id" in ties.columns:
        return True  # a packaged ties table as loaded (checked against MANIFEST.json)
    try:
        ref = load_ties()
    except DataValidationError:  # unreadable packaged ties: yours cannot be shown equal
        return False
    if ties is ref:
        return True
    if len(ties) != len(ref) or not {"city_a_id", "city_b_id"} <= set(ties.columns):
        return False
    for col in ("city_a_id", "city_b_id"):
        try:
            mine = ties[col].to_numpy(dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            return False
        if not np.array_equal(mine, ref[col].to_numpy(dtype=np.int64)):
            return False
    return True


def resolve_local(
    city: str | int | pd.Series, cities: pd.DataFrame, country: str | None = None
) -> pd.Series:
    """Turn a name, a GeoNames id or a row into one row of ``cities``.

    Names go through :func:`recommender.data.tables.resolve_city` (alternate names, fuzzy matching,
    disambiguation by country).
    """
    if isinstance(city, pd.Series):
        return city
    if isinstance(city, (Integral, np.integer)) and not isinstance(city, bool):
        hit = np.flatnonzero(cities["city_id"].to_numpy() == int(city))
        if len(hit) == 0:
            raise UnknownCityError(f"No city has city_id {int(city)} in the cities table.")
        return cities.iloc[int(hit[0])]
    if not isinstance(city, str):
        raise UnknownCityError(
            f"A city must be given as a name, a GeoNames id or a table row; "
            f"got {type(city).__name__} {city!r}."
        )
    from recommender.data.tables import resolve_city

    return resolve_city(city, country=country, cities=cities)


def partner_ids(city_id: int, ties: pd.DataFrame) -> np.ndarray:
    """GeoNames ids of the existing partners of ``city_id`` (sorted, unique)."""
    if ties is None or len(ties) == 0:
        return np.empty(0, dtype=np.int64)
    a = ties["city_a_id"].to_numpy(dtype=np.int64)
    b = ties["city_b_id"].to_numpy(dtype=np.int64)
    other = np.concatenate([b[a == city_id], a[b == city_id]])
    return np.unique(other)
