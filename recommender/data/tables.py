"""Loading, validating and querying the packaged tables, and the user's own data.

The packaged tables are compiled by ``scripts/build_dataset.py`` into ``data/``; see
``data/SOURCES.md`` for what they hold and where every figure comes from.

Examples
--------
>>> from recommender.data.tables import load_cities, resolve_city
>>> medan = resolve_city("Kota Medan")
>>> int(medan["city_id"]), medan["country_code"]
(1214520, 'ID')
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from anyascii import anyascii
from rapidfuzz import fuzz, process

from recommender.data.indicators import INDICATOR_NAMES, LEVELS
from recommender.data.schema import (
    CITY_COLUMNS,
    CITY_ID_COLUMNS,
    ELIGIBILITY_COLUMNS,
    ELIGIBILITY_VALUES,
    KINDS,
    TIE_COLUMNS,
)
from recommender.errors import (
    AmbiguousCityError,
    DataValidationError,
    FilterError,
    UnknownCityError,
)

_NUMERIC_ID_COLUMNS = {
    "latitude": float,
    "longitude": float,
    "n_partners": "int64",
    "part_of": "int64",
    "prefecture_population": float,
}
_BOOL_COLUMNS = ("is_capital", "is_local")

# A name shared by several cities is resolved without asking when one of them is this many
# times more populous than every other (Paris, France vs Paris, Texas); closer cases, such
# as the two Gwangju of Korea (1.4 M vs 0.4 M), are an error that lists the candidates.
DOMINANCE_FACTOR = 50.0


# ---------------------------------------------------------------------------------------
# where the data lives


def data_dir() -> Path:
    """The folder of the packaged tables.

    ``$SISTERCITY_DATA_DIR`` if set, else ``data/`` of a source checkout, else the copy
    installed with the package.
    """
    env = os.environ.get("SISTERCITY_DATA_DIR")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "data"
    if (checkout / "cities.csv.gz").exists():
        return checkout
    return Path(str(resources.files("recommender.data_files").joinpath("cities.csv.gz"))).parent


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=200_000)
def fold(text: object) -> str:
    """ASCII-fold, lowercase and collapse punctuation: ``'İzmir' -> 'izmir'``."""
    s = str(text)
    if not s.isascii():
        s = anyascii(s)
    return _NON_ALNUM.sub(" ", s.lower()).strip()


def fold_many(values: pd.Series) -> list[str]:
    """:func:`fold` over a column, vectorised: Unicode work only for non-ASCII names."""
    s = values.astype(str)
    non_ascii = ~s.map(str.isascii).to_numpy(dtype=bool)
    if non_ascii.any():
        s = s.copy()
        s[non_ascii] = [anyascii(v) for v in s[non_ascii]]
    return s.str.lower().str.replace(_NON_ALNUM.pattern, " ", regex=True).str.strip().tolist()


# ---------------------------------------------------------------------------------------
# loading


def _read_cities(path: Path) -> pd.DataFrame:
    numeric = [c for c in CITY_COLUMNS if c in INDICATOR_NAMES or c.endswith("_year")]
    numeric += ["latitude", "longitude", "prefecture_population"]
    df = pd.read_csv(
        path,
        keep_default_na=False,
        na_values={c: [""] for c in numeric},
        dtype={
            **{c: str for c in CITY_COLUMNS if c not in numeric and c not in _BOOL_COLUMNS},
            **{c: "float64" for c in numeric},
            "city_id": "int64",
            "n_partners": "int64",
            "part_of": "int64",
        },
    )
    for c in _BOOL_COLUMNS:
        df[c] = df[c].map({"True": True, "False": False, True: True, False: False}).astype(bool)
    return df


@functools.lru_cache(maxsize=4)
def _load_cities_cached(path: str, mtime: float) -> pd.DataFrame:
    df = _read_cities(Path(path))
    validate_cities(df, source=Path(path).name)
    df.flags.allows_duplicate_labels = True
    return df


def load_cities(path: str | Path | None = None) -> pd.DataFrame:
    """The packaged cities table (validated; cached per file, so treat it as read-only).

    Parameters
    ----------
    path : path-like, optional
        Another file in the same format; defaults to ``data/cities.csv.gz``.

    Returns
    -------
    pandas.DataFrame
        One row per city with the columns of :data:`recommender.data.schema.CITY_COLUMNS`.
    """
    p = Path(path) if path is not None else data_dir() / "cities.csv.gz"
    if not p.exists():
        raise DataValidationError(f'Cities table "{p}" not found; run scripts/build_dataset.py')
    return _load_cities_cached(str(p.resolve()), p.stat().st_mtime)


@functools.lru_cache(maxsize=4)
def _load_ties_cached(path: str, mtime: float) -> pd.DataFrame:
    df = pd.read_csv(
        path,
        keep_default_na=False,
        dtype={"city_a_id": "int64", "city_b_id": "int64", "domestic": str},
    )
    missing = [c for c in TIE_COLUMNS if c not in df.columns]
    if missing:
        raise DataValidationError(f'Ties table "{path}" lacks columns: {", ".join(missing)}')
    df["domestic"] = df["domestic"].map({"True": True, "False": False}).astype(bool)
    return df


def load_ties(path: str | Path | None = None) -> pd.DataFrame:
    """The packaged table of existing partnerships (one row per unordered pair)."""
    p = Path(path) if path is not None else data_dir() / "ties.csv.gz"
    if not p.exists():
        raise DataValidationError(f'Ties table "{p}" not found; run scripts/build_dataset.py')
    return _load_ties_cached(str(p.resolve()), p.stat().st_mtime)


def load_manifest() -> dict:
    """``data/MANIFEST.json``: row counts, coverage by level and checksums."""
    p = data_dir() / "MANIFEST.json"
    return json.loads(p.read_text()) if p.exists() else {}


# ---------------------------------------------------------------------------------------
# validation


def validate_cities(df: pd.DataFrame, *, source: str = "cities table") -> None:
    """Check a cities table against the data contract; raise on the first problem.

    Every indicator value must be finite and in range, and carry a level, a source and a
    year; a missing value must say ``missing``.
    """
    absent = [c for c in CITY_COLUMNS if c not in df.columns]
    if absent:
        raise DataValidationError(f"{source}: missing columns: {', '.join(absent)}")
    if df["city_id"].duplicated().any():
        dup = df.loc[df["city_id"].duplicated(), "city_id"].iloc[0]
        raise DataValidationError(f"{source}: city_id {dup} appears more than once")
    if "kind" in df.columns:
        bad = ~df["kind"].isin(KINDS)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataValidationError(
                f"{source}: row {i + 2}, column kind: {df['kind'].iloc[i]!r} is not one of "
                f"{', '.join(KINDS)}"
            )
    for ind in INDICATOR_NAMES:
        v = df[ind].to_numpy(dtype=float)
        level = df[ind + "_level"]
        bad_level = ~level.isin(LEVELS)
        if bad_level.any():
            i = int(np.flatnonzero(bad_level.to_numpy())[0])
            raise DataValidationError(
                f"{source}: row {i + 2}, column {ind}_level: {level.iloc[i]!r} is not one of "
                f"{', '.join(LEVELS)}"
            )
        has = ~np.isnan(v)
        wrong = has & ((v <= 0) | ~np.isfinite(v) | ((v > 1) if ind == "hdi" else False))
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise DataValidationError(
                f"{source}: row {i + 2}, column {ind}: {v[i]} is out of range"
            )
        mismatch = has == (level.to_numpy() == "missing")
        if mismatch.any():
            i = int(np.flatnonzero(mismatch)[0])
            raise DataValidationError(
                f"{source}: row {i + 2}, column {ind}: value {v[i]} does not agree with level "
                f"{level.iloc[i]!r}"
            )
        no_prov = has & (
            (df[ind + "_source"].to_numpy() == "") | df[ind + "_year"].isna().to_numpy()
        )
        if no_prov.any():
            i = int(np.flatnonzero(no_prov)[0])
            raise DataValidationError(
                f"{source}: row {i + 2}, column {ind}: value without source or year"
            )


@functools.lru_cache(maxsize=4)
def _load_eligibility_cached(path: str, mtime: float) -> pd.DataFrame:
    df = pd.read_csv(path, keep_default_na=False, dtype=str)
    label = Path(path).name
    missing = [c for c in ELIGIBILITY_COLUMNS if c not in df.columns]
    if missing:
        raise DataValidationError(
            f'Eligibility table "{label}" lacks columns: {", ".join(missing)}'
        )
    bad = ~df["eligibility"].isin(ELIGIBILITY_VALUES)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataValidationError(
            f'Eligibility table "{label}", row {i + 2}: eligibility '
            f"{df['eligibility'].iloc[i]!r} is not one of {', '.join(ELIGIBILITY_VALUES)}"
        )
    if df["country_code"].duplicated().any():
        dup = df.loc[df["country_code"].duplicated(), "country_code"].iloc[0]
        raise DataValidationError(f'Eligibility table "{label}": country {dup} listed twice')
    no_reason = (df["eligibility"] != "yes") & ((df["reason"] == "") | (df["legal_source"] == ""))
    if no_reason.any():
        i = int(np.flatnonzero(no_reason.to_numpy())[0])
        raise DataValidationError(
            f'Eligibility table "{label}", row {i + 2}: a restriction needs a reason and a '
            "legal source"
        )
    return df[ELIGIBILITY_COLUMNS]


def load_eligibility(path: str | Path | None = None) -> pd.DataFrame:
    """``data/eligibility.csv``: per country, may an Indonesian local government sign with
    its cities (``yes`` / ``restricted`` / ``no``), the reason and the legal source."""
    p = Path(path) if path is not None else data_dir() / "eligibility.csv"
    if not p.exists():
        raise DataValidationError(f'Eligibility table "{p}" not found')
    return _load_eligibility_cached(str(p.resolve()), p.stat().st_mtime)


def eligibility_of(country_codes: Iterable[str]) -> np.ndarray:
    """The eligibility of each country code (``unknown`` for a code not in the table)."""
    table = load_eligibility()
    status = dict(zip(table["country_code"], table["eligibility"]))
    return np.array([status.get(str(c), "unknown") for c in country_codes], dtype=object)


# ---------------------------------------------------------------------------------------
# name resolution


@dataclass
class _NameIndex:
    cities: pd.DataFrame
    primary: dict[str, list[int]] = field(default_factory=dict)
    _choices: tuple[list[str], list[int]] | None = None

    def alternate(self, key: str) -> list[int]:
        """Rows whose alternate names contain ``key`` (a folded name).

        A vectorised search over the '|'-joined keys is fast enough (tens of ms) and saves
        building a dict of ~180,000 alternate names at every start-up.
        """
        if not key:
            return []
        hit = self.cities["alt_names"].str.contains(
            r"(?:^|\|)" + re.escape(key) + r"(?:\||$)", regex=True
        )
        return np.flatnonzero(hit.to_numpy()).tolist()

    def choices(self) -> tuple[list[str], list[int]]:
        """All folded names and alternate names with a row each, for fuzzy suggestions."""
        if self._choices is None:
            names = list(self.primary)
            rows = [self.primary[k][0] for k in names]
            seen = set(names)
            for pos, al in enumerate(self.cities["alt_names"].tolist()):
                if al:
                    for alt in al.split("|"):
                        if alt not in seen:
                            seen.add(alt)
                            names.append(alt)
                            rows.append(pos)
            self._choices = (names, rows)
        return self._choices


_INDEX_CACHE: dict[int, _NameIndex] = {}


def _name_index(cities: pd.DataFrame) -> _NameIndex:
    hit = _INDEX_CACHE.get(id(cities))
    if hit is not None and hit.cities is cities:
        return hit
    idx = _NameIndex(cities)
    for col in ("name", "ascii_name"):
        for pos, key in enumerate(fold_many(cities[col])):
            rows = idx.primary.setdefault(key, [])
            if not rows or rows[-1] != pos:
                rows.append(pos)
    if len(_INDEX_CACHE) > 4:
        _INDEX_CACHE.clear()
    _INDEX_CACHE[id(cities)] = idx
    return idx


def _describe(row: pd.Series) -> str:
    pop = row["population"]
    pop_s = f"pop {pop:,.0f}" if isinstance(pop, float) and math.isfinite(pop) else "pop unknown"
    admin = f", {row['admin1_name']}" if row["admin1_name"] else ""
    return f"{row['name']} ({row['country_code']}{admin}, {pop_s}, id {row['city_id']})"


def resolve_country(text: str, cities: pd.DataFrame) -> str:
    """An ISO2 code from a code or a country name in English or Indonesian (``USA``, ``UK``,
    ``Jepang``); unknown ones list the closest countries (:mod:`recommender.data.countries`)."""
    from recommender.data.countries import resolve_country_code

    known = dict(zip(cities["country_code"], cities["country_name"]))
    return resolve_country_code(text, known, option="--country")


def suggest(
    text: str, cities: pd.DataFrame, limit: int = 5, country: str | None = None
) -> list[int]:
    """Row positions of the cities whose names are closest to ``text``, best first."""
    idx = _name_index(cities)
    q = fold(text)
    if not q:
        return []
    pool_choices, pool_rows = idx.choices()
    if country is not None:
        cc = cities["country_code"].to_numpy()
        keep = [i for i, r in enumerate(pool_rows) if cc[r] == country]
        pool_choices = [pool_choices[i] for i in keep]
        pool_rows = [pool_rows[i] for i in keep]
    # Edit-distance similarity catches typos ("surabya"); a prefix catches a name typed
    # in part ("sura"). Both kinds compete on one 0-100 scale.
    hits = process.extract(q, pool_choices, scorer=fuzz.ratio, limit=limit * 6, score_cutoff=50)
    if len(q) >= 3:
        seen = {h[2] for h in hits}
        hits += [
            (c, 90.0, i) for i, c in enumerate(pool_choices) if c.startswith(q) and i not in seen
        ]
    pop = cities["population"].fillna(0).to_numpy()
    local = cities["is_local"].to_numpy()
    # Best score first, with a small bonus for Indonesian local cities, the names this
    # tool's users type most; among equal scores, the bigger city is the likelier meant.
    ranked = sorted(
        hits,
        key=lambda h: (-(round(h[1]) + 5 * local[pool_rows[h[2]]]), -pop[pool_rows[h[2]]], h[0]),
    )
    out: list[int] = []
    for _, _, i in ranked:
        r = pool_rows[i]
        if r not in out:
            out.append(r)
        if len(out) == limit:
            break
    return out


def _city_rows(text: str, cities: pd.DataFrame) -> tuple[list[int], str]:
    idx = _name_index(cities)
    q = fold(text)
    q2 = re.sub(r"^(kota|city of|kabupaten|kab)\s+|\s+(city|kota)$", "", q)
    tiers = [
        (lambda: idx.primary.get(q, []), "name"),
        (lambda: idx.alternate(q), "alternate name"),
    ]
    if q2 != q:
        tiers += [
            (lambda: idx.primary.get(q2, []), "name"),
            (lambda: idx.alternate(q2), "alternate name"),
        ]
    for get_rows, how in tiers:
        rows = get_rows()
        if rows:
            return sorted(set(rows)), how
    return [], ""


def resolve_city(
    text: object,
    country: str | None = None,
    cities: pd.DataFrame | None = None,
    *,
    prefer_local: bool = True,
) -> pd.Series:
    """Find exactly one city from a name, an alternate name or a GeoNames id.

    Order: a numeric id; the exact name; the ASCII-folded name; alternate names (Indonesian
    and English spellings such as "Kota Medan", "Penang", "Izmir"). Several matches are
    narrowed by ``country``, then by preferring an Indonesian local city (``prefer_local``),
    then by population dominance (one city 50x bigger than all others); what remains
    ambiguous is an error listing the candidates. No match is an error listing the closest
    names.

    Parameters
    ----------
    text : str or int
        A name ("Medan", "Kota Medan", "Gwangju, KR") or a GeoNames id (1214520).
    country : str, optional
        ISO2 code or country name to choose among cities of the same name.
    cities : DataFrame, optional
        The cities table; defaults to :func:`load_cities`.
    prefer_local : bool, default True
        Among same-named cities, prefer the Indonesian local city.

    Returns
    -------
    pandas.Series
        The city's row.

    Examples
    --------
    >>> resolve_city("Izmir")["city_id"]
    np.int64(311046)
    """
    cities = load_cities() if cities is None else cities
    if isinstance(text, pd.Series):
        return text
    raw = str(text).strip()
    if not raw:
        raise UnknownCityError("City name is empty; give a name like Medan or a GeoNames id")
    if re.fullmatch(r"-?\d+", raw):
        hit = np.flatnonzero(cities["city_id"].to_numpy() == int(raw))
        if len(hit) == 0:
            raise UnknownCityError(
                f"No city has id {raw}; use `sistercity cities search NAME` to find one"
            )
        return cities.iloc[int(hit[0])]
    if country is None and "," in raw:
        head, tail = raw.rsplit(",", 1)
        try:
            country = resolve_country(tail, cities)
            raw = head.strip()
        except FilterError:
            pass  # a comma inside a name ("Washington, D.C.")
    cc = resolve_country(country, cities) if country else None
    rows, how = _city_rows(raw, cities)
    if cc is not None:
        rows = [r for r in rows if cities["country_code"].iat[r] == cc]
    if not rows:
        close = suggest(raw, cities, country=cc)
        where = f" in {cc}" if cc else ""
        hint = "; ".join(_describe(cities.iloc[r]) for r in close)
        raise UnknownCityError(f'Unknown city "{raw}"{where}. Closest matches: {hint or "none"}')
    if len(rows) > 1 and prefer_local:
        local = [r for r in rows if cities["is_local"].iat[r]]
        if len(local) == 1:
            rows = local
    if len(rows) > 1:
        pop = cities["population"].fillna(0).to_numpy()
        ordered = sorted(rows, key=lambda r: (-pop[r], int(cities["city_id"].iat[r])))
        if pop[ordered[0]] >= DOMINANCE_FACTOR * max(pop[ordered[1]], 1):
            rows = ordered[:1]
        else:
            listing = "; ".join(_describe(cities.iloc[r]) for r in ordered[:8])
            more = f" and {len(ordered) - 8} more" if len(ordered) > 8 else ""
            first = int(cities["city_id"].iat[ordered[0]])
            several = len({cities["country_code"].iat[r] for r in ordered}) > 1
            # One hint that works wherever a city is typed (an argument, the candidate of
            # `explain`, a row of a CSV): the id, or the name with its country code.
            cc0 = cities["country_code"].iat[ordered[0]]
            how_to = (
                f'the id (e.g. {first}) or the name with its country code (e.g. "{raw}, {cc0}")'
                if several
                else f"the id (e.g. {first} instead of the name)"
            )
            raise AmbiguousCityError(
                f'"{raw}" matches {len(ordered)} cities by {how}: {listing}{more}. '
                f"Choose with {how_to}",
                candidates=cities.iloc[ordered].reset_index(drop=True),
            )
    return cities.iloc[rows[0]]


def search_cities(
    text: str, cities: pd.DataFrame | None = None, *, limit: int = 10, country: str | None = None
) -> pd.DataFrame:
    """Cities whose names match ``text`` exactly, by alternate name, or closely.

    Returns a DataFrame with a ``match`` column (``name``, ``alternate name``, ``similar``)
    and a ``similarity`` score (0-100), exact matches first.
    """
    cities = load_cities() if cities is None else cities
    if limit < 1:
        raise FilterError(f"--limit must be at least 1; got {limit}")
    cc = resolve_country(country, cities) if country else None
    rows, how = _city_rows(text, cities)
    if cc is not None:
        rows = [r for r in rows if cities["country_code"].iat[r] == cc]
    pop = cities["population"].fillna(0).to_numpy()
    exact = sorted(rows, key=lambda r: (-pop[r], int(cities["city_id"].iat[r])))
    fuzzy = [r for r in suggest(text, cities, limit=limit, country=cc) if r not in exact]
    picked = (exact + fuzzy)[:limit]
    out = cities.iloc[picked][
        [
            "city_id",
            "name",
            "country_code",
            "country_name",
            "admin1_name",
            "population",
            "is_local",
            "local_role",
        ]
    ].reset_index(drop=True)
    q = fold(text)
    out.insert(0, "match", [how if r in exact else "similar" for r in picked])
    out["similarity"] = [round(fuzz.ratio(q, fold(cities["name"].iat[r])), 1) for r in picked]
    return out


# ---------------------------------------------------------------------------------------
# partners


def partners_of(
    city_id: int, ties: pd.DataFrame | None = None, cities: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The existing partners of a city, with their names and the tie's source."""
    ties = load_ties() if ties is None else ties
    cities = load_cities() if cities is None else cities
    a = ties["city_a_id"].to_numpy()
    b = ties["city_b_id"].to_numpy()
    mask = (a == city_id) | (b == city_id)
    t = ties[mask]
    other = np.where(t["city_a_id"].to_numpy() == city_id, t["city_b_id"], t["city_a_id"])
    out = pd.DataFrame(
        {
            "city_id": other,
            "source": t["source"].to_numpy(),
            "stage": t["stage"].to_numpy(),
            "focus": t["focus"].to_numpy(),
        }
    )
    info = cities.set_index("city_id")[["name", "country_code", "country_name", "admin1_name"]]
    out = out.join(info, on="city_id")
    return out.sort_values(["country_code", "name", "city_id"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# the user's own data


def apply_user_cities(cities: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Override or add indicator values from a user's CSV; values are marked ``user``.

    The file needs ``city_id``, or ``name`` and ``country`` (ISO2 code or name), and any of
    the indicator columns ``population``, ``area_km2``, ``gdp_per_capita_usd``, ``hdi``
    (HDI on the 0-1 scale). An optional ``year`` column (or ``<indicator>_year``) dates the
    values; without it the current year is recorded and the source says so.

    Raises
    ------
    DataValidationError
        Naming the row and column of the first problem.
    """
    from recommender.data.csvfile import parse_number, read_user_csv

    p = Path(path)
    label = p.name
    # comma or semicolon separated (Excel in an Indonesian locale writes ";" and "279,2")
    user = read_user_csv(p, "City file")
    decimal = user.attrs["decimal"]
    if user.empty:
        raise DataValidationError(f'City file "{label}" has no data rows')
    has_id = "city_id" in user.columns
    if not has_id and not {"name", "country"} <= set(user.columns):
        raise DataValidationError(
            f'City file "{label}" needs a city_id column, or name and country columns; '
            f"found: {', '.join(user.columns)}"
        )
    inds = [c for c in INDICATOR_NAMES if c in user.columns]
    if not inds:
        raise DataValidationError(
            f'City file "{label}" has no indicator column; expected any of: {", ".join(INDICATOR_NAMES)}'
        )
    known = (
        set(INDICATOR_NAMES)
        | {f"{i}_year" for i in INDICATOR_NAMES}
        | {"city_id", "name", "country", "year", "note"}
    )
    unknown = [c for c in user.columns if c not in known]
    if unknown:
        raise DataValidationError(
            f'City file "{label}": unknown column "{unknown[0]}"; allowed: {", ".join(sorted(known))}'
        )
    out = cities.copy()
    pos_by_id = {int(v): i for i, v in enumerate(out["city_id"].to_numpy())}
    this_year = _dt.date.today().year
    for i, row in user.iterrows():
        line = int(i) + 2  # header is line 1
        if has_id and row["city_id"].strip():
            try:
                cid = int(row["city_id"])
            except ValueError:
                raise DataValidationError(
                    f'City file "{label}", row {line}, column city_id: "{row["city_id"]}" is not a whole number'
                ) from None
            if cid not in pos_by_id:
                raise DataValidationError(f'City file "{label}", row {line}: no city has id {cid}')
            pos = pos_by_id[cid]
        else:
            try:
                hit = resolve_city(
                    row.get("name", ""), row.get("country") or None, cities, prefer_local=False
                )
            except (UnknownCityError, AmbiguousCityError, FilterError) as exc:
                raise DataValidationError(f'City file "{label}", row {line}: {exc}') from None
            pos = pos_by_id[int(hit["city_id"])]
        for ind in inds:
            cell = row[ind].strip()
            if not cell:
                continue
            try:
                val = parse_number(cell, decimal)
            except ValueError:
                raise DataValidationError(
                    f'City file "{label}", row {line}, column {ind}: "{cell}" is not a number'
                ) from None
            if not math.isfinite(val) or val <= 0:
                raise DataValidationError(
                    f'City file "{label}", row {line}, column {ind}: {cell} must be a positive number'
                )
            if ind == "hdi" and val > 1:
                raise DataValidationError(
                    f'City file "{label}", row {line}, column hdi: {cell} is above 1; give HDI on the '
                    "0-1 scale (BPS IPM 83.7 is 0.837)"
                )
            ycell = (row.get(f"{ind}_year") or row.get("year") or "").strip()
            if ycell:
                if not re.fullmatch(r"(19|20)\d\d", ycell):
                    raise DataValidationError(
                        f'City file "{label}", row {line}, column year: "{ycell}" is not a year'
                    )
                year, note = int(ycell), ""
            else:
                year, note = this_year, f" (no year given; {this_year} recorded)"
            out.iat[pos, out.columns.get_loc(ind)] = val
            out.iat[pos, out.columns.get_loc(ind + "_level")] = "user"
            out.iat[pos, out.columns.get_loc(ind + "_source")] = f"user file {label}{note}"
            out.iat[pos, out.columns.get_loc(ind + "_year")] = float(year)
    return out


def indicator_frame(row: pd.Series) -> pd.DataFrame:
    """A city's four indicators as a small table: value, level, source, year."""
    recs = []
    for ind in INDICATOR_NAMES:
        y = row[ind + "_year"]
        recs.append(
            {
                "indicator": ind,
                "value": row[ind],
                "level": row[ind + "_level"],
                "year": int(y) if pd.notna(y) else None,
                "source": row[ind + "_source"],
            }
        )
    return pd.DataFrame(recs)


def data_info(cities: pd.DataFrame | None = None, ties: pd.DataFrame | None = None) -> dict:
    """Counts, coverage by indicator and level, sources and data date."""
    cities = load_cities() if cities is None else cities
    ties = load_ties() if ties is None else ties
    man = load_manifest()
    cov = {
        ind: {
            lvl: int(n)
            for lvl, n in cities[ind + "_level"].value_counts().reindex(LEVELS).dropna().items()
        }
        for ind in INDICATOR_NAMES
    }
    return {
        "cities": int(len(cities)),
        "countries": int(cities["country_code"].nunique()),
        "local_cities": int(cities["is_local"].sum()),
        "kota": int(cities["local_role"].str.contains("kota").sum()),
        "provincial_capitals": int(cities["local_role"].str.contains("capital").sum()),
        "ties": int(len(ties)),
        "ties_cross_country": int((~ties["domestic"]).sum()),
        "ties_by_source": {
            k: int(v) for k, v in ties["source"].value_counts().sort_index().items()
        },
        "coverage": cov,
        "kinds": man.get("kinds", {}),
        "candidates": _candidate_counts(cities),
        "data_date": man.get("data_date", "unknown"),
        "data_dir": str(data_dir()),
    }


def _candidate_counts(cities: pd.DataFrame) -> dict:
    """Rows by kind and by the eligibility of their country (what the shortlist keeps)."""
    kinds = cities["kind"] if "kind" in cities.columns else pd.Series("city", cities.index)
    elig = pd.Series(eligibility_of(cities["country_code"]), index=cities.index)
    return {
        "by_kind": {k: int(v) for k, v in kinds.value_counts().sort_index().items()},
        "cities_by_eligibility": {
            k: int(v) for k, v in elig[kinds == "city"].value_counts().sort_index().items()
        },
    }


def iter_local_cities(cities: pd.DataFrame, which: str) -> Iterable[pd.Series]:
    """Local cities for batch runs: ``all-kota``, ``capitals`` or ``all-local``."""
    role = cities["local_role"]
    masks = {
        "all-kota": role.str.contains("kota"),
        "capitals": role.str.contains("capital"),
        "all-local": cities["is_local"],
    }
    if which not in masks:
        raise FilterError(f'Unknown city set "{which}"; allowed: {", ".join(masks)} or a CSV file')
    sub = cities[masks[which]].sort_values("kemendagri_code", kind="stable")
    for _, row in sub.iterrows():
        yield row


__all__ = [
    "CITY_ID_COLUMNS",
    "apply_user_cities",
    "data_dir",
    "data_info",
    "eligibility_of",
    "fold",
    "indicator_frame",
    "iter_local_cities",
    "load_cities",
    "load_eligibility",
    "load_manifest",
    "load_ties",
    "partners_of",
    "resolve_city",
    "resolve_country",
    "search_cities",
    "suggest",
    "validate_cities",
]
