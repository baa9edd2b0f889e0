"""The global atlas: the top k partners of every city in the table, in independent chunks.

Every city of the table (any country, not only Indonesian ones) is taken in turn as the
local city and gets the shortlist that :func:`~recommender.engine.shortlist.recommend`
would give it with the same options, ranked by strategy fit: the atlas calls the same
functions (:func:`~recommender.engine.shortlist.pool_for`,
:func:`~recommender.engine.shortlist.select`,
:func:`~recommender.engine.shortlist.frame_columns`), so a change to the ranking carries
over. The options are validated once; each local city then costs a few milliseconds
(column-major arrays of the table are built once per process).

**Chunks are independent.** :func:`atlas_chunk` takes row positions and validated options
and returns a DataFrame; it loads the packaged tables itself when none are passed, so a
worker needs nothing else. :func:`iter_atlas` runs the chunks over the machine's cores
with joblib (processes) and yields them in order, so the caller can write each chunk and
forget it: memory stays bounded by the chunk size, whatever the number of cities. On a
cluster the same function runs unchanged as a Dask ``delayed`` or a Ray task per chunk.

Explanations (the ``why`` text) are left out by default and computed on demand
(``why=True``, or ``sistercity explain CITY CANDIDATE`` for one row).

Examples
--------
>>> from recommender.engine.atlas import atlas
>>> df = atlas(local_ids=[1214520, 1850147], top=3)
>>> df.groupby("local_city_id").size().to_dict()
{1214520: 3, 1850147: 1}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from recommender.data.access import get_cities, get_ties
from recommender.data.modelled import comparable_cities
from recommender.engine.scenarios import DEFAULT_SCENARIO
from recommender.engine.shortlist import (
    Options,
    apply_overrides,
    frame_columns,
    output_columns,
    pool_for,
    select,
    validate_options,
)
from recommender.errors import FilterError

LOCAL_COLUMNS = ["local_city_id", "local_name", "local_country_code"]
DEFAULT_CHUNK = 512


def atlas_columns(why: bool = False) -> list[str]:
    """Columns of the atlas: the local city, then :func:`output_columns` (``why`` on demand)."""
    cols = LOCAL_COLUMNS + output_columns()
    return cols if why else [c for c in cols if c != "why"]


def atlas_options(scenario=DEFAULT_SCENARIO, cities: pd.DataFrame | None = None, **options):
    """Validate the atlas's options once (those of ``recommend``; no feasibility, no overrides).

    The atlas ranks by strategy fit, like ``recommend(..., fit_only=True, robustness=0)``:
    no learned feasibility and no robustness draws (100 re-rankings per city would multiply
    its time; ``recommend`` gives both for any one city).
    """
    for bad in ("feasibility", "blend", "overrides", "country", "fit_only"):
        if options.get(bad) not in (None, False, {}, "auto"):
            raise FilterError(f"The atlas takes no {bad!r} option; it ranks by strategy fit.")
        options.pop(bad, None)
    if options.get("robustness") not in (None, 0, False):
        raise FilterError("The atlas takes no 'robustness' option; it computes no draws.")
    options["robustness"] = 0
    return validate_options(scenario, comparable_cities(get_cities(cities)), **options)


def atlas_chunk(
    positions: Sequence[int],
    opts: Options,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    *,
    why: bool = False,
) -> tuple[pd.DataFrame, list[int]]:
    """Top k for the local cities at row ``positions`` of the table: one unit of work.

    Returns the rows (columns :func:`atlas_columns`) and the ids of the local cities that
    got no shortlist (the filters left no candidate). Loads the packaged tables when
    ``cities`` / ``ties`` are ``None``.
    """
    cities = comparable_cities(get_cities(cities))  # like with like, as recommend() compares
    ties = get_ties(ties)
    locals_ = cities.iloc[np.asarray(positions, dtype=np.intp)].to_dict(orient="records")
    names = atlas_columns(why)
    parts: dict[str, list[np.ndarray]] = {c: [] for c in names}
    skipped: list[int] = []
    for local in locals_:
        local = apply_overrides(local, opts.overrides)
        try:
            pool = pool_for(local, opts, cities, ties)
        except FilterError:
            skipped.append(int(local["city_id"]))
            continue
        chosen = select(pool)
        cols = frame_columns(pool, chosen, why=why)
        m = len(chosen)
        parts["local_city_id"].append(np.full(m, int(local["city_id"]), dtype=np.int64))
        parts["local_name"].append(np.full(m, str(local["name"]), dtype=object))
        parts["local_country_code"].append(np.full(m, str(local["country_code"]), dtype=object))
        for c in names[len(LOCAL_COLUMNS) :]:
            parts[c].append(cols[c])
    if not parts["rank"]:
        return _empty(names), skipped
    data = {c: np.concatenate(parts[c]) for c in names}
    return pd.DataFrame(data), skipped


def _empty(names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in names})


def chunks_of(n: int, size: int) -> list[np.ndarray]:
    """Row positions ``0..n-1`` cut into consecutive chunks of at most ``size``."""
    if size < 1:
        raise FilterError(f"chunk size must be >= 1; got {size}.")
    return [np.arange(i, min(i + size, n)) for i in range(0, n, size)]


def _positions_of(local_ids, cities: pd.DataFrame) -> np.ndarray:
    ids = cities["city_id"].to_numpy(dtype=np.int64)
    if local_ids is None:
        return np.arange(len(ids))
    want = np.asarray(list(local_ids), dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    at = np.clip(np.searchsorted(ids[order], want), 0, max(len(ids) - 1, 0))
    found = ids[order][at] == want
    if not found.all():
        raise FilterError(f"No city has id {int(want[~found][0])} in the cities table.")
    return order[at]


def iter_atlas(
    scenario=DEFAULT_SCENARIO,
    *,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    local_ids: Sequence[int] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    n_jobs: int = 1,
    why: bool = False,
    on_chunk: Callable[[int, int], None] | None = None,
    **options,
) -> Iterator[tuple[pd.DataFrame, list[int]]]:
    """Yield the atlas chunk by chunk, in table order: ``(rows, skipped local ids)``.

    Parameters
    ----------
    scenario : str, path or Scenario
    cities, ties : DataFrame, optional
        Default: the packaged tables (workers then load them themselves).
    local_ids : sequence of int, optional
        Only these local cities (GeoNames ids), in this order; default every city.
    chunk_size : int
        Local cities per chunk (the unit of parallel work and of memory).
    n_jobs : int
        Worker processes (joblib; -1 = every core, 1 = in this process).
    why : bool
        Add the ``why`` explanation of every row.
    on_chunk : callable, optional
        Called as ``on_chunk(done, total)`` (local cities) after each chunk, e.g. for a
        progress bar.
    **options
        The options of :func:`~recommender.engine.shortlist.recommend` (``top``,
        ``method``, filters, ``max_per_country``).
    """
    packaged = cities is None
    table = get_cities(cities)
    opts = atlas_options(scenario, table, **options)
    positions = _positions_of(local_ids, table)
    parts = chunks_of(len(positions), chunk_size)
    c_arg = None if packaged else table
    t_arg = None if (packaged and ties is None) else get_ties(ties)
    jobs = [positions[p] for p in parts]
    if n_jobs == 1 or len(jobs) <= 1:
        results = (atlas_chunk(j, opts, table, t_arg, why=why) for j in jobs)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(atlas_chunk)(j, opts, c_arg, t_arg, why=why) for j in jobs
        )
    done = 0
    for job, result in zip(jobs, results):
        done += len(job)
        if on_chunk is not None:
            on_chunk(done, len(positions))
        yield result


def atlas(
    scenario=DEFAULT_SCENARIO,
    *,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    local_ids: Sequence[int] | None = None,
    n_jobs: int = 1,
    chunk_size: int = DEFAULT_CHUNK,
    why: bool = False,
    **options,
) -> pd.DataFrame:
    """The whole atlas in one DataFrame (for a part of it; a full run should stream with
    :func:`iter_atlas`). ``df.attrs["skipped"]`` lists local cities without a shortlist."""
    frames, skipped = [], []
    for rows, skip in iter_atlas(
        scenario,
        cities=cities,
        ties=ties,
        local_ids=local_ids,
        n_jobs=n_jobs,
        chunk_size=chunk_size,
        why=why,
        **options,
    ):
        if len(rows):
            frames.append(rows)
        skipped += skip
    out = pd.concat(frames, ignore_index=True) if frames else _empty(atlas_columns(why))
    out.attrs["skipped"] = skipped
    return out


__all__ = [
    "LOCAL_COLUMNS",
    "atlas",
    "atlas_chunk",
    "atlas_columns",
    "atlas_options",
    "chunks_of",
    "iter_atlas",
]
