"""Use cases: what a planner asks, as plain functions both front ends call.

The CLI (:mod:`recommender.cli`) and the local web app (:mod:`recommender.web`) parse their
input, call one function here and render the typed result; neither holds pandas logic.
Library errors (:class:`~recommender.errors.RecommenderError`) pass through unchanged, so
the CLI prints them as ``Error: ...`` and the web app as an HTTP 400 page with the same words.

Examples
--------
>>> req = ShortlistRequest(city="Medan", top=3)
>>> res = shortlist(req)
>>> len(res.frame), res.local["name"]
(3, 'Medan')
>>> all({"lon", "lat", "kind"} <= set(p) for p in res.map_points())
True
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from recommender.data import tables as data_mod
from recommender.data.indicators import BY_NAME, INDICATOR_NAMES
from recommender.errors import FilterError

__all__ = [
    "CityPair",
    "ShortlistRequest",
    "ShortlistResult",
    "compare_scenarios",
    "explain_pair",
    "export_shortlist",
    "file_meta",
    "find_cities",
    "load_cities",
    "local_city",
    "partners",
    "rank",
    "recommend_options",
    "records",
    "scenario_for",
    "shortlist",
    "side_by_side",
    "write_table",
]

MAX_TOP = 100
"""The most rows one shortlist request may ask for (the web app's bound)."""


def _cities(cities: pd.DataFrame | None) -> pd.DataFrame:
    return data_mod.load_cities() if cities is None else cities


def load_cities(user_data: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The packaged cities table, with the user's own figures applied (``--user-data``).

    Raises :class:`~recommender.errors.DataValidationError` for a bad user file, naming
    the row and the column.
    """
    cities = data_mod.load_cities()
    if user_data:
        cities = data_mod.apply_user_cities(cities, user_data)
    return cities


def local_city(
    city: str | int, country: str | None = None, *, cities: pd.DataFrame | None = None
) -> pd.Series:
    """The one city a name, an alternate name or an id means (``country`` narrows a shared
    name); an ambiguous or unknown name raises an error that names the choices."""
    return data_mod.resolve_city(city, country, _cities(cities))


def _plain(v: Any) -> Any:
    """numpy scalars / NaN -> Python values / None (for templates and JSON)."""
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as plain records: Python scalars, ``None`` for NaN (templates and JSON)."""
    return [{k: _plain(v) for k, v in r.items()} for r in df.to_dict(orient="records")]


def city_record(row: pd.Series) -> dict[str, Any]:
    """One city's identity, position and four indicators with level, source and year."""
    rec = {
        k: _plain(row.get(k))
        for k in (
            "city_id",
            "name",
            "country_code",
            "country_name",
            "admin1_name",
            "latitude",
            "longitude",
            "is_local",
            "local_role",
        )
    }
    rec["indicators"] = [
        {
            "indicator": n,
            "label": BY_NAME[n].label,
            "value": _plain(row.get(n)),
            "level": "missing" if pd.isna(row.get(n)) else _plain(row.get(f"{n}_level")),
            "source": _plain(row.get(f"{n}_source")) or "",
            "year": None if pd.isna(row.get(f"{n}_year")) else int(row.get(f"{n}_year")),
        }
        for n in INDICATOR_NAMES
    ]
    return rec


# --------------------------------------------------------------------------- search


def find_cities(
    text: str,
    *,
    limit: int = 8,
    local_only: bool = False,
    country: str | None = None,
    cities: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Cities matching ``text`` (exact, alternate name or close spelling), best first.

    ``local_only`` keeps the Indonesian local cities (the ones a shortlist is made for);
    ``country`` (a code or a name) keeps one country's. An empty text gives an empty list.
    """
    if not str(text).strip():
        return []
    cities = _cities(cities)
    res = data_mod.search_cities(
        text, cities, limit=limit * (4 if local_only else 1), country=country
    )
    if local_only:
        res = res[res["is_local"]]
    res = res.head(limit)
    return [{k: _plain(v) for k, v in r.items()} for r in res.to_dict(orient="records")]


# --------------------------------------------------------------------------- shortlist


@dataclass(frozen=True)
class ShortlistRequest:
    """Everything a shortlist depends on (the CLI's options, the web page's form)."""

    city: str | int
    scenario: str = "small-big"
    weights: Mapping[str, float] | None = None
    top: int = 10
    method: str = "wsm"
    country: str | None = None
    countries: Sequence[str] | None = None
    exclude_countries: Sequence[str] | None = None
    continents: Sequence[str] | None = None
    min_population: float | None = None
    max_population: float | None = None
    min_level: Mapping[str, str] | None = None
    max_per_country: int | None = None
    diversity: float | None = None
    include_partners: bool = False
    include_domestic: bool = False
    include_city_parts: bool = False
    include_ineligible: bool = False
    overrides: Mapping[str, float] | None = None
    feasibility: bool | str = "auto"
    """``True``: blend the learned feasibility in; ``"auto"`` (default, as in ``recommend``
    and both front ends): blend it when the packaged ties are in use; ``False``: rank by
    strategy fit alone."""


def recommend_options(req: ShortlistRequest) -> dict[str, Any]:
    """A request's filters and method as :func:`~recommender.engine.shortlist.recommend`
    keyword arguments (everything but the city, the scenario and ``top``)."""
    return {
        "method": req.method,
        "country": req.country,
        "countries": list(req.countries) if req.countries else None,
        "exclude_countries": list(req.exclude_countries) if req.exclude_countries else None,
        "continents": list(req.continents) if req.continents else None,
        "min_population": req.min_population,
        "max_population": req.max_population,
        "min_level": dict(req.min_level) if req.min_level else None,
        "max_per_country": req.max_per_country,
        "include_partners": req.include_partners,
        "include_domestic": req.include_domestic,
        "include_city_parts": req.include_city_parts,
        "include_ineligible": req.include_ineligible,
        "overrides": dict(req.overrides) if req.overrides else None,
        "feasibility": req.feasibility or None,
        "diversity": req.diversity,
    }


def scenario_for(name: str, weights: Mapping[str, float] | None = None):
    """A preset or TOML scenario, with some weights changed (named ``<name>*`` then).

    Raises :class:`~recommender.errors.ScenarioError` for an unknown scenario or bad
    weights (negative, non-finite, all zero).
    """
    from recommender.engine.scenarios import load_scenario

    scen = load_scenario(name)
    if weights:
        changed = {k: float(v) for k, v in weights.items() if float(v) != scen.weights.get(k)}
        if changed:
            for k, v in changed.items():
                if k not in INDICATOR_NAMES:
                    raise FilterError(
                        f"Unknown weight {k!r}; allowed: {', '.join(INDICATOR_NAMES)}"
                    )
                if not math.isfinite(v) or v < 0:
                    raise FilterError(f"Weight {k} must be a number >= 0; got {v:g}")
            if sum({**scen.weights, **changed}.values()) <= 0:
                raise FilterError("At least one weight must be above 0")
            scen = dataclasses.replace(scen.with_weights(**changed), name=f"{scen.name}*")
    return scen


@dataclass
class ShortlistResult:
    """A shortlist with what a page needs around it.

    Attributes
    ----------
    request : ShortlistRequest
    frame : pandas.DataFrame
        :func:`~recommender.engine.shortlist.recommend`'s output (its ``attrs`` intact),
        plus ``latitude`` / ``longitude``; extra columns other parts add (feasibility,
        robustness, eligibility, context) pass through.
    local : dict
        :func:`city_record` of the local city.
    scenario : Scenario
        The scenario used (weights as changed).
    partners : pandas.DataFrame
        The local city's existing partners with coupling, latitude and longitude.
    """

    request: ShortlistRequest
    frame: pd.DataFrame
    local: dict[str, Any]
    scenario: Any
    partners: pd.DataFrame = field(default_factory=pd.DataFrame)

    def rows(self) -> list[dict[str, Any]]:
        """The shortlist as plain records (NaN -> None)."""
        return records(self.frame)

    def map_points(self) -> list[dict[str, Any]]:
        """Markers for :func:`recommender.io.worldmap.svg_map`: local, candidates, partners."""
        pts: list[dict[str, Any]] = [
            {
                "kind": "local",
                "lon": self.local["longitude"],
                "lat": self.local["latitude"],
                "label": self.local["name"],
                "city_id": self.local["city_id"],
            }
        ]
        for r in self.frame.itertuples():
            pts.append(
                {
                    "kind": "candidate",
                    "lon": r.longitude,
                    "lat": r.latitude,
                    "rank": int(r.rank),
                    "coupling": r.coupling,
                    "label": f"{int(r.rank)}. {r.name}, {r.country_code} ({r.coupling}, "
                    f"{r.score:.3f})",
                    "city_id": int(r.city_id),
                }
            )
        for r in self.partners.itertuples():
            pts.append(
                {
                    "kind": "partner",
                    "lon": r.longitude,
                    "lat": r.latitude,
                    "coupling": r.coupling,
                    "label": f"{r.name}, {r.country_code} ({r.coupling})",
                    "city_id": int(r.city_id),
                }
            )
        return pts


_CACHE: dict[tuple, Any] = {}
"""Per cities table (held, so its id stays valid): positions and partner frames, which do
not depend on the scenario, the weights or the filters. A slider move re-ranks without
re-reading them."""


def _cached(key: tuple, cities: pd.DataFrame, make):
    full = (id(cities), *key)
    hit = _CACHE.get(full)
    if hit is None or hit[0] is not cities:
        if len(_CACHE) > 256:
            _CACHE.clear()
        hit = (cities, make())
        _CACHE[full] = hit
    return hit[1]


def _with_position(df: pd.DataFrame, cities: pd.DataFrame) -> pd.DataFrame:
    pos = _cached(
        ("positions",), cities, lambda: cities.set_index("city_id")[["latitude", "longitude"]]
    )
    out = df.join(pos, on="city_id")
    out.attrs = dict(df.attrs)
    return out


def rank(
    req: ShortlistRequest, *, cities: pd.DataFrame | None = None
) -> tuple[pd.Series, pd.DataFrame]:
    """The local city's row and :func:`~recommender.engine.shortlist.recommend`'s frame for
    a request: the shortlist alone, as ``sistercity shortlist`` prints and writes it.

    Raises
    ------
    UnknownCityError, AmbiguousCityError, ScenarioError, FilterError
        With the one-line message both front ends show.
    """
    cities = _cities(cities)
    return _rank(req, scenario_for(req.scenario, req.weights), cities)


def _rank(req: ShortlistRequest, scen, cities: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    from recommender.engine.shortlist import recommend

    local = data_mod.resolve_city(req.city, req.country, cities)
    df = recommend(local, scen, cities=cities, top=int(req.top), **recommend_options(req))
    return local, df


def shortlist(req: ShortlistRequest, *, cities: pd.DataFrame | None = None) -> ShortlistResult:
    """Rank partner candidates for ``req.city`` (see :class:`ShortlistRequest`), with what a
    page shows around them: positions for the map and the existing partners.

    Raises
    ------
    UnknownCityError, AmbiguousCityError, ScenarioError, FilterError
        With the one-line message both front ends show.
    """
    cities = _cities(cities)
    if not 1 <= int(req.top) <= MAX_TOP:
        raise FilterError(f"top must be between 1 and {MAX_TOP}; got {req.top}")
    scen = scenario_for(req.scenario, req.weights)
    local, df = _rank(req, scen, cities)
    return ShortlistResult(
        request=req,
        frame=_with_position(df, cities),
        local=city_record(local),
        scenario=scen,
        partners=_cached(
            ("partners", int(local["city_id"])), cities, lambda: _partner_frame(local, cities)
        ).copy(),
    )


def _partner_frame(local: pd.Series, cities: pd.DataFrame) -> pd.DataFrame:
    from recommender.engine.coupling import classify_partners

    df = classify_partners(local, cities).partners
    if df.empty:
        return pd.DataFrame(columns=["city_id", "name", "country_code", "coupling"])
    return _with_position(df, cities)


def partners(
    city: str | int | pd.Series,
    *,
    country: str | None = None,
    cities: pd.DataFrame | None = None,
    positions: bool = True,
):
    """The existing partners of ``city`` classified as in the paper's Table 2.

    Returns the :class:`~recommender.engine.coupling.PartnerClassification`, its
    ``partners`` frame with ``latitude`` / ``longitude`` added when ``positions`` (for the
    map; the CLI's files leave them out).
    """
    from recommender.engine.coupling import classify_partners

    cities = _cities(cities)
    res = classify_partners(city, cities, country=country)
    if positions and not res.partners.empty:
        res.partners = _with_position(res.partners, cities)
    return res


# --------------------------------------------------------------------------- one pair


def explain_pair(
    city: str | int | pd.Series,
    candidate: str | int,
    *,
    scenario: str = "small-big",
    weights: Mapping[str, float] | None = None,
    method: str = "wsm",
    overrides: Mapping[str, float] | None = None,
    country: str | None = None,
    candidate_country: str | None = None,
    cities: pd.DataFrame | None = None,
):
    """Every number behind ``candidate``'s score for ``city`` (an
    :class:`~recommender.engine.explain.Explanation`); ``country`` and
    ``candidate_country`` narrow shared names."""
    from recommender.engine.explain import explain

    return explain(
        city,
        candidate,
        scenario_for(scenario, weights),
        cities=_cities(cities),
        country=country,
        candidate_country=candidate_country,
        method=method,
        overrides=overrides or None,
    )


@dataclass
class CityPair:
    """Cities side by side on every indicator: value, level, source and year of each.

    Attributes
    ----------
    cities : list of dict
        :func:`city_record` of each city, the local city first.
    table : pandas.DataFrame
        One row per indicator; per city ``<i>_value``, ``<i>_level``, ``<i>_source``,
        ``<i>_year`` (i = 0, 1, ...), and ``ratio_<i>`` = city i / city 0 (HDI: the
        difference).
    """

    cities: list[dict[str, Any]]
    table: pd.DataFrame


def side_by_side(
    local: str | int, *others: str | int, cities: pd.DataFrame | None = None
) -> CityPair:
    """The local city and one or two other cities on every indicator, with provenance."""
    cities = _cities(cities)
    if not 1 <= len(others) <= 2:
        raise FilterError(f"compare one or two cities with the local city; got {len(others)}")
    rows = [data_mod.resolve_city(local, None, cities)]
    rows += [data_mod.resolve_city(o, None, cities, prefer_local=False) for o in others]
    recs = [city_record(r) for r in rows]
    table = []
    for j, n in enumerate(INDICATOR_NAMES):
        line: dict[str, Any] = {"indicator": n, "label": BY_NAME[n].label}
        base = recs[0]["indicators"][j]["value"]
        for i, rec in enumerate(recs):
            ind = rec["indicators"][j]
            for k in ("value", "level", "source", "year"):
                line[f"{k}_{i}"] = ind[k]
            v = ind["value"]
            if i and v is not None and base is not None:
                line[f"ratio_{i}"] = v - base if n == "hdi" else (v / base if base else None)
            elif i:
                line[f"ratio_{i}"] = None
        table.append(line)
    return CityPair(cities=recs, table=pd.DataFrame(table))


# --------------------------------------------------------------------------- scenarios


def compare_scenarios(
    city: str | int | pd.Series,
    scenarios: Sequence[str],
    *,
    top: int = 10,
    method: str = "wsm",
    country: str | None = None,
    cities: pd.DataFrame | None = None,
):
    """Shortlists of ``city`` under two or more scenarios, with overlap, rank correlation
    and movers (a :class:`~recommender.engine.compare.Comparison`)."""
    from recommender.engine.compare import compare

    names = [s for s in scenarios if s]
    if len(names) < 2:
        raise FilterError(
            f"compare needs at least two scenarios, e.g. small-big and symmetric; got {len(names)}"
        )
    if not 1 <= int(top) <= MAX_TOP:
        raise FilterError(f"top must be between 1 and {MAX_TOP}; got {top}")
    return compare(
        city, names, top=int(top), cities=_cities(cities), method=method, country=country
    )


# --------------------------------------------------------------------------- files

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def file_meta(
    df: pd.DataFrame, fmt: str, cities: pd.DataFrame | None = None
) -> dict[str, Any] | None:
    """What a file of ``df`` carries beyond its rows: for a workbook of candidates, where
    their figures come from (the Sources sheet), looked up in ``cities``."""
    if fmt != "xlsx" or "city_id" not in df.columns:
        return None
    from recommender.io.workbook import candidate_sources

    return {"candidate_sources": candidate_sources(df, _cities(cities))}


def write_table(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    force: bool = False,
    cities: pd.DataFrame | None = None,
) -> os.PathLike[str]:
    """Write a shortlist (or any table) to ``path`` atomically, in the format of its
    extension unless ``fmt`` is given; ``cities`` is the table it was made from."""
    from recommender.io import export

    meta = file_meta(df, fmt or export.format_from_path(path), cities)
    return export.write(df, path, fmt, force=force, meta=meta)


def export_shortlist(
    result: ShortlistResult, fmt: str, *, cities: pd.DataFrame | None = None
) -> tuple[bytes, str, str]:
    """The shortlist as a file: ``(content, file name, media type)``.

    Uses the same writers and sources sheet as ``sistercity shortlist -o FILE``
    (:func:`write_table`); the map columns added for the page are left out of the file.
    """
    from recommender.io import export

    fmt = export.check_format(fmt)
    if fmt not in MEDIA_TYPES:
        raise FilterError(
            f"Unknown download format {fmt!r}; allowed: {', '.join(sorted(MEDIA_TYPES))}"
        )
    df = result.frame.drop(columns=["latitude", "longitude"], errors="ignore")
    df.attrs = dict(result.frame.attrs)
    data = export.render(df, fmt, meta=file_meta(df, fmt, cities))
    if isinstance(data, str):
        data = (data if data.endswith("\n") else data + "\n").encode("utf-8")
    scen = str(result.scenario.name).rstrip("*")
    name = f"sistercity-{data_mod.fold(result.local['name']).replace(' ', '-')}-{scen}.{fmt}"
    return data, name, MEDIA_TYPES[fmt]
