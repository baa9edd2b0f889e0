"""Shortlists for many local cities at once (``sistercity batch``).

Examples
--------
>>> from recommender.engine.batch import batch_recommend
>>> df, skipped = batch_recommend("capitals", top=3)
>>> df["local_city_id"].nunique() + len(skipped)
38
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from recommender.data.access import get_cities, get_ties
from recommender.data.tables import iter_local_cities, read_user_csv, resolve_city
from recommender.engine.scenarios import DEFAULT_SCENARIO, load_scenario
from recommender.engine.shortlist import recommend
from recommender.errors import DataValidationError, FilterError, RecommenderError, one_line

CITY_LIST_COLUMNS = {
    "city_id": ("city_id", "id", "geonames_id", "geonameid"),
    "name": ("name", "city", "city_name", "kota", "nama", "nama_kota"),
    "country": ("country", "country_code", "negara"),
}
"""The columns a city list may name each thing by, in order of preference; a header matches
whatever its case, spaces or hyphens (``City Name``, ``Nama Kota``, ``KOTA``)."""


def _column(header: list[str], names: tuple[str, ...]) -> str | None:
    """The first of ``header`` (as written) that is one of ``names``, in ``names``' order."""
    keys = {re.sub(r"[\s\-]+", "_", h.strip().lower()): h for h in reversed(header)}
    return next((keys[n] for n in names if n in keys), None)


def local_cities_from(which: str | Path, cities: pd.DataFrame) -> list[pd.Series]:
    """The local cities named by ``which``: a set name or a CSV with a ``city_id`` or
    ``name`` column (or another name of :data:`CITY_LIST_COLUMNS`: ``city``, ``kota``...).

    A CSV may also have a ``country`` column to disambiguate names.
    """
    text = str(which)
    if text in ("all-kota", "capitals", "all-local"):
        return list(iter_local_cities(cities, text))
    path = Path(text)
    if not path.exists():
        raise FilterError(
            f'Unknown city set "{text}": not all-kota, capitals or all-local, and no such file'
        )
    # read strictly, as the user's data files are: size limit, encodings and separators
    # as data.csvfile detects them, field counts
    header, records, _decimal = read_user_csv(path, "City list")
    label = one_line(path.name, 80)
    found = {role: _column(header, names) for role, names in CITY_LIST_COLUMNS.items()}
    col = found["city_id"] or found["name"]
    if col is None:
        raise DataValidationError(
            f'City list "{label}" needs a column naming the cities: city_id (or '
            f"{', '.join(CITY_LIST_COLUMNS['city_id'][1:])}) or name (or "
            f"{', '.join(CITY_LIST_COLUMNS['name'][1:])}); found: "
            f"{one_line(', '.join(header), 120)}"
        )
    if not records:
        raise DataValidationError(f'City list "{label}" has no rows')
    rows, seen = [], {}
    for line, fields in records:
        rec = dict(zip(header, fields))
        country = rec.get(found["country"]) if found["country"] else None
        try:
            row = resolve_city(rec[col], country or None, cities)
        except RecommenderError as exc:
            raise DataValidationError(f'City list "{label}", row {line}: {exc}') from None
        cid = int(row["city_id"])
        if cid in seen:
            raise DataValidationError(
                f'City list "{label}", rows {seen[cid]} and {line} both name {row["name"]} '
                f"(id {cid}); list each city once"
            )
        seen[cid] = line
        rows.append(row)
    return rows


def batch_recommend(
    which: str | Path = "all-kota",
    scenario=DEFAULT_SCENARIO,
    *,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    top: int = 10,
    progress: Callable[[Iterable], Iterable] | None = None,
    **options,
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Run :func:`~recommender.engine.shortlist.recommend` for each local city; one long table.

    Returns the concatenated shortlists (with ``local_city_id``, ``local_name`` and
    ``local_kemendagri_code`` first) and the cities skipped with the reason (for example,
    filters that leave no candidate for that city). The scenario is loaded once, and the
    tables are shared by all runs.
    """
    cities = get_cities(cities)
    ties = get_ties(ties)
    scen = load_scenario(scenario)
    locals_ = local_cities_from(which, cities)
    frames, skipped = [], []
    items = progress(locals_) if progress else locals_
    for local in items:
        try:
            df = recommend(local, scen, cities=cities, ties=ties, top=top, **options)
        except FilterError as exc:
            skipped.append((str(local["name"]), str(exc)))
            continue
        df.insert(0, "local_kemendagri_code", local.get("kemendagri_code", ""))
        df.insert(0, "local_name", local["name"])
        df.insert(0, "local_city_id", int(local["city_id"]))
        frames.append(df)
    if not frames:
        first, why = skipped[0] if skipped else ("", "no local city given")
        raise FilterError(
            f"No local city got a shortlist ({len(skipped)} skipped); the first, {first}: {why}"
        )
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update(
        {
            "scenario": scen.name,
            "top": top,
            "local_cities": int(out["local_city_id"].nunique()),
            "skipped": [n for n, _ in skipped],
        }
    )
    return out, skipped


__all__ = ["batch_recommend", "local_cities_from"]
