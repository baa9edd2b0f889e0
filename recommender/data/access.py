"""Small helpers shared by the engine modules: default tables and the local city.

The packaged tables live in :mod:`recommender.data.tables`; they are imported lazily so that every
engine function also works on a DataFrame the caller passes in (tests, user CSVs), without
touching the packaged files.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd

from recommender.errors import FilterError, UnknownCityError


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
