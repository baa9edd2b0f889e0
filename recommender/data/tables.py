"""Loading, validating and querying the packaged tables, and the user's own data.

The packaged tables are compiled by ``scripts/build_dataset.py`` into ``data/``; see
``data/SOURCES.md`` for what they hold and where every figure comes from.

Examples
--------
>>> from recommender.data.tables import load_cities, resolve_city
>>> medan = resolve_city("Kota Medan")
>>> int(medan["city_id"]), medan["country_code"]
(1214520, 'ID')

Why one file (about 1,100 lines): loading, validation and name resolution of the same two
tables share their private indexes; the binary cache (``cache``) and the engine's
defaults (``access``) already live apart.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import functools
import io
import json
import math
import os
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from anyascii import anyascii

from recommender.data.cache import (
    cached_by_content,
    cached_table,
    codes_of,
    find_code,
    register_codes,
)
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
    one_line,
)
from recommender.i18n import _, format_number

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

MAX_NAME_LENGTH = 200
"""A city name longer than this is refused before any (fuzzy) search: no place name is."""


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


def parse_bool_column(values: pd.Series, column: str, source: str) -> pd.Series:
    """``True`` / ``False`` text (or bools) to booleans, strictly: anything else is an error.

    ``.map({...}).astype(bool)`` would turn an unknown value such as ``no`` into NaN and
    then into True; here it is refused, naming the file, the row and the value.
    """
    mapped = values.map({"True": True, "False": False, True: True, False: False})
    bad = mapped.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataValidationError(
            f"{source}: row {i + 2}, column {column}: {one_line(repr(values.iloc[i]), 40)} is "
            "not True or False"
        )
    return mapped.astype(bool)


@contextlib.contextmanager
def _reading(path: str | Path, what: str):
    """Turn any failure to read or parse a packaged table into one line naming the file.

    A truncated gzip raises ``EOFError``, which click would report as a bare "Aborted."
    (it takes it for Ctrl-D); corrupt bytes raise ``BadGzipFile``, ``zlib.error`` or a
    decoding error; a wrong type in a column raises ``ValueError``.
    """
    try:
        yield
    except DataValidationError:
        raise
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError, TypeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
        reason = one_line(reason.splitlines()[0] if reason else reason, 160)
        raise DataValidationError(
            f'{what} "{path}" cannot be read ({reason}); reinstall sistercity or rebuild the '
            "data with scripts/build_dataset.py"
        ) from None


def _read_cities(path: Path) -> pd.DataFrame:
    numeric = [c for c in CITY_COLUMNS if c in INDICATOR_NAMES or c.endswith("_year")]
    numeric += ["latitude", "longitude", "prefecture_population"]
    df = pd.read_csv(
        path,
        keep_default_na=False,
        na_values={c: [""] for c in numeric},
        dtype={
            **{c: str for c in CITY_COLUMNS if c not in numeric},  # flags too: parsed strictly
            **{c: "float64" for c in numeric},
            "city_id": "int64",
            "n_partners": "int64",
            "part_of": "int64",
        },
    )
    for c in _BOOL_COLUMNS:
        df[c] = parse_bool_column(df[c], c, path.name)
    return df


def _read_valid_cities(path: Path) -> pd.DataFrame:
    with _reading(str(path), "Cities table"):
        df = _read_cities(path)
    validate_cities(df, source=path.name)
    return df


def _folded_names(df: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "fold:name": np.array(fold_many(df["name"]), dtype=object),
        "fold:ascii_name": np.array(fold_many(df["ascii_name"]), dtype=object),
    }


@functools.lru_cache(maxsize=4)
def _load_cities_cached(path: str, stamp: tuple) -> pd.DataFrame:
    # Packaged tables come from the binary cache (verified against MANIFEST.json, built
    # from the CSV at first use) with the codes of their folded names, so that an exact
    # name is found without folding 80,000 names at start-up.
    df = cached_table(Path(path), _read_valid_cities, extras=_folded_names)
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
    st = p.stat()
    return _load_cities_cached(str(p.resolve()), (st.st_mtime_ns, st.st_size))


def _read_ties(path: Path) -> pd.DataFrame:
    with _reading(str(path), "Ties table"):
        df = pd.read_csv(
            path,
            keep_default_na=False,
            dtype={"city_a_id": "int64", "city_b_id": "int64", "domestic": str},
        )
    missing = [c for c in TIE_COLUMNS if c not in df.columns]
    if missing:
        raise DataValidationError(f'Ties table "{path}" lacks columns: {", ".join(missing)}')
    df["domestic"] = parse_bool_column(df["domestic"], "domestic", Path(path).name)
    return df


PAIR_KEYS = ("partners:city", "partners:other")
"""Keys of the sorted partner pairs kept with a ties table (:func:`partner_pairs`)."""


def build_partner_pairs(ties: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every city's distinct partners as two aligned arrays sorted by (city, partner), a
    tie of a city with itself left out: each tie appears once from each side."""
    a = ties["city_a_id"].to_numpy(dtype=np.int64)
    b = ties["city_b_id"].to_numpy(dtype=np.int64)
    cand = np.concatenate([a, b])
    other = np.concatenate([b, a])
    keep = cand != other
    cand, other = cand[keep], other[keep]
    order = np.lexsort((other, cand))
    cand, other = cand[order], other[order]
    first = np.ones(len(cand), dtype=bool)
    first[1:] = (cand[1:] != cand[:-1]) | (other[1:] != other[:-1])
    return dict(zip(PAIR_KEYS, (cand[first], other[first])))


def partner_pairs(ties: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(city, partner)`` ids of every tie from both sides, sorted and distinct
    (:func:`build_partner_pairs`); the packaged ties table keeps them in its cache, so a
    process does not sort them again.

    Examples
    --------
    >>> ties = pd.DataFrame({"city_a_id": [3, 1, 2], "city_b_id": [1, 3, 2]})
    >>> [a.tolist() for a in partner_pairs(ties)]
    [[1, 3], [3, 1]]
    """
    kept = [codes_of(ties, k) for k in PAIR_KEYS]
    if all(k is not None and k[1] is None for k in kept):
        return kept[0][0], kept[1][0]
    pairs = build_partner_pairs(ties)
    return pairs[PAIR_KEYS[0]], pairs[PAIR_KEYS[1]]


@functools.lru_cache(maxsize=4)
def _load_ties_cached(path: str, stamp: tuple) -> pd.DataFrame:
    # with the sorted partner pairs of every city (data.access.partner_pairs)
    return cached_table(Path(path), _read_ties, extras=build_partner_pairs)


def load_ties(path: str | Path | None = None) -> pd.DataFrame:
    """The packaged table of existing partnerships (one row per unordered pair)."""
    p = Path(path) if path is not None else data_dir() / "ties.csv.gz"
    if not p.exists():
        raise DataValidationError(f'Ties table "{p}" not found; run scripts/build_dataset.py')
    st = p.stat()
    return _load_ties_cached(str(p.resolve()), (st.st_mtime_ns, st.st_size))


def load_manifest() -> dict:
    """``data/MANIFEST.json``: row counts, coverage by level and checksums."""
    p = data_dir() / "MANIFEST.json"
    if not p.exists():
        return {}
    with _reading(p, "Manifest"):
        return json.loads(p.read_text(encoding="utf-8"))


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
    # read and validated once per content (the binary cache), not parsed at every start
    return cached_by_content(Path(path), _read_eligibility)


def _read_eligibility(path: Path) -> pd.DataFrame:
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


def eligibility_array(cities: pd.DataFrame) -> np.ndarray:
    """The eligibility of each row of ``cities`` (:func:`eligibility_of` of its
    ``country_code``), through the codes the cache keeps for that column when it has them."""
    hit = codes_of(cities, "country_code")
    if hit is None:
        return eligibility_of(cities["country_code"])
    codes, uniques = hit
    return np.append(eligibility_of(uniques), "unknown")[codes]  # code -1: no country


def eligibility_of(country_codes: Iterable[str]) -> np.ndarray:
    """The eligibility of each country code (``unknown`` for a code not in the table)."""
    table = load_eligibility()
    status = dict(zip(table["country_code"], table["eligibility"]))
    values = np.asarray(
        country_codes.to_numpy(dtype=object)
        if isinstance(country_codes, pd.Series)
        else list(country_codes),
        dtype=object,
    )
    # one look-up per distinct code (a few hundred), not per city
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    lut = np.array([status.get(str(u), "unknown") for u in uniques], dtype=object)
    return lut[codes] if len(values) else np.array([], dtype=object)


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


def _primary_rows(cities: pd.DataFrame, key: str) -> list[int]:
    """Rows whose folded name or ASCII name is ``key``.

    A table loaded through the cache carries the codes of its folded names
    (:func:`recommender.data.cache.codes_of`): one scan of the distinct values and two
    integer comparisons (about 1 ms). Otherwise the whole table's names are folded once
    into an index.
    """
    name, ascii_ = codes_of(cities, "fold:name"), codes_of(cities, "fold:ascii_name")
    if name is None or ascii_ is None:
        return _name_index(cities).primary.get(key, [])
    hit = np.zeros(len(cities), dtype=bool)
    for codes, uniques in (name, ascii_):
        at = find_code(uniques, key)
        if at >= 0:
            hit |= codes == at
    return np.flatnonzero(hit).tolist()


def _describe(row: pd.Series) -> str:
    pop = row["population"]
    pop_s = (
        _("pop {n}").format(n=format_number(pop))
        if isinstance(pop, float) and math.isfinite(pop)
        else _("pop unknown")
    )
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
    from rapidfuzz import fuzz, process

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
    for _score, _tie, i in ranked:
        r = pool_rows[i]
        if r not in out:
            out.append(r)
        if len(out) == limit:
            break
    return out


def _city_rows(text: str, cities: pd.DataFrame) -> tuple[list[int], str]:
    alt = _NameIndex(cities)  # the alternate-name search needs no index
    q = fold(text)
    q2 = re.sub(r"^(kota|city of|kabupaten|kab)\s+|\s+(city|kota)$", "", q)
    tiers = [
        (lambda: _primary_rows(cities, q), "name"),
        (lambda: alt.alternate(q), "alternate name"),
    ]
    if q2 != q:
        tiers += [
            (lambda: _primary_rows(cities, q2), "name"),
            (lambda: alt.alternate(q2), "alternate name"),
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
    if re.fullmatch(r"-?[0-9]+", raw):
        if len(raw.lstrip("-")) > 18:  # no GeoNames id has more digits; int() may refuse it
            raise UnknownCityError(
                f"No city has an id of {len(raw.lstrip('-')):,} digits; use "
                "`sistercity cities search NAME` to find one"
            )
        hit = np.flatnonzero(cities["city_id"].to_numpy() == int(raw))
        if len(hit) == 0:
            raise UnknownCityError(
                f"No city has id {raw}; use `sistercity cities search NAME` to find one"
            )
        return cities.iloc[int(hit[0])]
    if len(raw) > MAX_NAME_LENGTH:
        raise UnknownCityError(
            f'City name "{one_line(raw, 40)}" is too long; at most {MAX_NAME_LENGTH} characters'
        )
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
        hint = "; ".join(_describe(cities.iloc[r]) for r in close) or _("none")
        raise UnknownCityError(
            (
                _('Unknown city "{city}" in {country}. Closest matches: {matches}')
                if cc
                else _('Unknown city "{city}". Closest matches: {matches}')
            ).format(city=one_line(raw, 80), country=cc, matches=hint)
        )
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
            more = " " + _("and {n} more").format(n=len(ordered) - 8) if len(ordered) > 8 else ""
            first = int(cities["city_id"].iat[ordered[0]])
            several = len({cities["country_code"].iat[r] for r in ordered}) > 1
            # One hint that works wherever a city is typed (an argument, the candidate of
            # `explain`, a row of a CSV): the id, or the name with its country code.
            cc0 = cities["country_code"].iat[ordered[0]]
            how_to = (
                _('the id (e.g. {id}) or the name with its country code (e.g. "{name}, {cc}")')
                if several
                else _("the id (e.g. {id} instead of the name)")
            ).format(id=first, name=raw, cc=cc0)
            raise AmbiguousCityError(
                _(
                    '"{city}" matches {n} cities by {how}: {listing}{more}. Choose with {how_to}'
                ).format(
                    city=one_line(raw, 80),
                    n=len(ordered),
                    how=_(how),
                    listing=listing,
                    more=more,
                    how_to=how_to,
                ),
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
    if len(str(text)) > MAX_NAME_LENGTH:
        raise UnknownCityError(
            f'"{one_line(text, 40)}" is too long to be a city name; at most {MAX_NAME_LENGTH} '
            "characters"
        )
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
    from rapidfuzz import fuzz

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


MAX_USER_FILE_BYTES = 32 * 1024 * 1024
"""A user's CSV larger than this is refused before it is read (all 40k cities fit in ~5 MB)."""

USER_RANGES = {
    "population": (1.0, 1e9),
    "area_km2": (0.01, 1e6),
    "gdp_per_capita_usd": (1.0, 1e6),
    "hdi": (0.0, 1.0),
}
"""Accepted range of a user's value per indicator: wider than any real city, and finite."""

_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GROUPED_NUMBER = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_CITY_ID = re.compile(r"[0-9]{1,18}")


def read_user_csv(
    path: str | Path, what: str = "City file"
) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """Read a user's CSV strictly: ``(header, [(row number, fields), ...], decimal mark)``.

    The file must be UTF-8 (a byte-order mark is fine), at most
    :data:`MAX_USER_FILE_BYTES` (a device such as ``/dev/zero`` is refused without being
    read whole), with named, distinct columns and exactly as many fields in every row as in
    the header. Blank rows are skipped. A row number is the file's line on which the row
    starts (the header is row 1), as a spreadsheet numbers it. Fields are stripped.

    Raises
    ------
    DataValidationError
        One line naming the file, and the row and column where it applies.
    """
    p = Path(path)
    label = one_line(p.name, 80)
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_USER_FILE_BYTES + 1)
    except FileNotFoundError:
        raise DataValidationError(f'{what} "{one_line(path, 200)}" not found') from None
    except IsADirectoryError:
        raise DataValidationError(
            f'{what} "{one_line(path, 200)}" is a folder; give a CSV file'
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DataValidationError(
            f'Cannot read {what.lower()} "{one_line(path, 200)}": {reason}'
        ) from None
    if len(raw) > MAX_USER_FILE_BYTES:
        raise DataValidationError(
            f'{what} "{one_line(path, 200)}" is larger than {MAX_USER_FILE_BYTES // 2**20} MB; '
            "give one row per city you want to change"
        )
    from recommender.data.csvfile import _decode, sniff_delimiter

    # UTF-8 (BOM or not), UTF-16 with a BOM, or Excel's Windows-1252 (data.csvfile)
    text = _decode(raw, label)
    if "\x00" in text:
        raise DataValidationError(f'{what} "{label}" is not a text file (it holds NUL bytes)')
    if not text.strip():
        raise DataValidationError(f'{what} "{label}" is empty; it needs a header row and data rows')
    # comma, semicolon or tab separated: Excel in an Indonesian locale writes ";" and "279,2"
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    seen_lines = 0
    try:
        for record in reader:
            start, seen_lines = seen_lines + 1, reader.line_num
            fields = [f.strip() for f in record]
            if not any(fields):
                continue  # a blank row
            if header is None:
                header = fields
                continue
            rows.append((start, fields))
    except csv.Error as exc:
        raise DataValidationError(
            f'{what} "{label}", row {seen_lines + 1}: not valid CSV ({one_line(exc, 100)})'
        ) from None
    assert header is not None
    for j, name in enumerate(header):
        if not name:
            raise DataValidationError(f'{what} "{label}": column {j + 1} has no name in the header')
        if name in header[:j]:
            raise DataValidationError(
                f'{what} "{label}": column "{one_line(name, 60)}" appears twice in the header '
                f"(columns {header.index(name) + 1} and {j + 1})"
            )
    for line, fields in rows:
        if len(fields) != len(header):
            extra = (
                f" (extra: {one_line(', '.join(fields[len(header) :]), 60)})"
                if len(fields) > len(header)
                else ""
            )
            raise DataValidationError(
                f'{what} "{label}", row {line} has {len(fields)} fields; the header has '
                f"{len(header)}{extra}"
            )
    return header, rows, ("," if delimiter == ";" else ".")


def _user_number(cell: str, ind: str, decimal: str = ".") -> float | None:
    """A user's figure: plain decimal digits (``1,234,567`` grouping allowed except for HDI;
    with ``decimal=","``, ``2.546.452`` and ``279,2``); ``None`` if it is not a number at all.
    Never ``inf``, ``nan``, ``0x10`` or ``1_000``."""
    cell = cell.replace("\u00a0", "").replace(" ", "")
    if decimal == ",":
        if re.fullmatch(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]*)?", cell):
            cell = cell.replace(".", "")
        cell = cell.replace(",", ".", 1) if cell.count(",") == 1 else cell
        return float(cell) if _PLAIN_NUMBER.fullmatch(cell) else None
    if _PLAIN_NUMBER.fullmatch(cell):
        return float(cell)
    if ind != "hdi" and _GROUPED_NUMBER.fullmatch(cell):
        return float(cell.replace(",", ""))
    return None


def _user_city_position(
    rec: dict[str, str], line: int, label: str, cities: pd.DataFrame, pos_by_id: dict[int, int]
) -> int:
    """Row position in ``cities`` of the city a user's row names (by id, or name + country)."""
    where = f'City file "{label}", row {line}'
    cell = rec.get("city_id", "")
    name = rec.get("name", "")
    if cell:
        if not _CITY_ID.fullmatch(cell):
            if cell.isdigit() and cell.isascii():
                raise DataValidationError(
                    f"{where}, column city_id: a number of {len(cell):,} digits is not a GeoNames id"
                )
            raise DataValidationError(
                f'{where}, column city_id: "{one_line(cell, 40)}" is not a whole number (digits 0-9)'
            )
        cid = int(cell)
        if cid not in pos_by_id:
            raise DataValidationError(f"{where}: no city has id {cid}")
        pos = pos_by_id[cid]
        if name:
            rows, _how = _city_rows(name, cities)
            if pos not in rows:
                raise DataValidationError(
                    f"{where}: city_id {cid} is {cities['name'].iat[pos]} "
                    f'({cities["country_code"].iat[pos]}), but name says "{one_line(name, 60)}"; '
                    "fix one of them or leave the name empty"
                )
        return pos
    if not name:
        raise DataValidationError(f"{where}: give a city_id, or a name and a country")
    try:
        hit = resolve_city(name, rec.get("country") or None, cities, prefer_local=False)
    except (UnknownCityError, AmbiguousCityError, FilterError) as exc:
        raise DataValidationError(f"{where}: {exc}") from None
    return pos_by_id[int(hit["city_id"])]


def apply_user_cities(cities: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Override or add indicator values from a user's CSV; values are marked ``user``.

    The file needs ``city_id``, or ``name`` and ``country`` (ISO2 code or name), and any of
    the indicator columns ``population``, ``area_km2``, ``gdp_per_capita_usd``, ``hdi``
    (HDI on the 0-1 scale). An optional ``year`` column (or ``<indicator>_year``) dates the
    values; without it the current year is recorded and the source says so.

    The file is read strictly (:func:`read_user_csv`): each city at most once (two rows
    for one city are an error naming both rows, whether or not they agree), numbers in
    plain digits within :data:`USER_RANGES`, years as four digits.

    Raises
    ------
    DataValidationError
        Naming the row and column of the first problem.
    """
    label = one_line(Path(path).name, 80)
    header, rows, decimal = read_user_csv(path)
    columns = set(header)
    has_id = "city_id" in columns
    if not has_id and not {"name", "country"} <= columns:
        raise DataValidationError(
            f'City file "{label}" needs a city_id column, or name and country columns; '
            f"found: {one_line(', '.join(header), 120)}"
        )
    inds = [c for c in INDICATOR_NAMES if c in columns]
    if not inds:
        raise DataValidationError(
            f'City file "{label}" has no indicator column; expected any of: {", ".join(INDICATOR_NAMES)}'
        )
    known = (
        set(INDICATOR_NAMES)
        | {f"{i}_year" for i in INDICATOR_NAMES}
        | {"city_id", "name", "country", "year", "note"}
    )
    unknown = [c for c in header if c not in known]
    if unknown:
        hint = "; is the file separated by semicolons? use commas" if ";" in unknown[0] else ""
        raise DataValidationError(
            f'City file "{label}": unknown column "{one_line(unknown[0], 60)}"; allowed: '
            f"{', '.join(sorted(known))}{hint}"
        )
    if not rows:
        raise DataValidationError(f'City file "{label}" has no data rows')
    out = cities.copy()
    folds = {k: codes_of(cities, k) for k in ("fold:name", "fold:ascii_name")}
    if all(v is not None for v in folds.values()):  # names are not changed here
        register_codes(out, folds)
    pos_by_id = {int(v): i for i, v in enumerate(out["city_id"].to_numpy())}
    this_year = _dt.date.today().year
    first_row: dict[int, tuple[int, dict[str, str]]] = {}
    for line, fields in rows:
        rec = dict(zip(header, fields))
        pos = _user_city_position(rec, line, label, cities, pos_by_id)
        if pos in first_row:
            before, prev = first_row[pos]
            differ = [c for c in inds if prev.get(c, "") != rec.get(c, "")]
            what = (
                f" with different {differ[0]} ({prev.get(differ[0]) or 'empty'} vs "
                f"{rec.get(differ[0]) or 'empty'})"
                if differ
                else ""
            )
            raise DataValidationError(
                f'City file "{label}", rows {before} and {line} are both for '
                f"{cities['name'].iat[pos]} (id {cities['city_id'].iat[pos]}){what}; "
                "give each city once"
            )
        first_row[pos] = (line, rec)
        for ind in inds:
            cell = rec[ind]
            if not cell:
                continue
            where = f'City file "{label}", row {line}, column {ind}'
            val = _user_number(cell, ind, decimal)
            if val is None:
                raise DataValidationError(f'{where}: "{one_line(cell, 40)}" is not a number')
            lo, hi = USER_RANGES[ind]
            if not math.isfinite(val) or val <= 0:
                raise DataValidationError(
                    f"{where}: {one_line(cell, 40)} must be a positive number"
                )
            if ind == "hdi" and val > 1:
                raise DataValidationError(
                    f"{where}: {cell} is above 1; give HDI on the 0-1 scale (BPS IPM 83.7 is 0.837)"
                )
            if not lo <= val <= hi:
                raise DataValidationError(
                    f"{where}: {one_line(cell, 40)} is outside the accepted range {lo:,g} to {hi:,g}"
                )
            ycell = rec.get(f"{ind}_year") or rec.get("year") or ""
            if ycell:
                if not re.fullmatch(r"(19|20)[0-9][0-9]", ycell):
                    raise DataValidationError(
                        f'City file "{label}", row {line}, column year: "{one_line(ycell, 20)}" '
                        "is not a year (1900-2099)"
                    )
                year, note = int(ycell), ""
            else:
                year, note = this_year, f" (no year given; {this_year} recorded)"
            out.iat[pos, out.columns.get_loc(ind)] = val
            out.iat[pos, out.columns.get_loc(ind + "_level")] = "user"
            out.iat[pos, out.columns.get_loc(ind + "_source")] = f"user file {label}{note}"
            out.iat[pos, out.columns.get_loc(ind + "_year")] = float(year)
    return out


def local_city_note(row: pd.Series) -> str | None:
    """A plain note when ``row`` is not one of the Indonesian local cities, else ``None``.

    Policy: any city may be the local city (the engine works for all), but the tool is
    made for Indonesia's 98 kota and 38 provincial capitals, whose figures are city-level
    BPS data; any other city is ranked all the same on its packaged figures, and the front
    ends say so (the CLI on stderr, so standard output stays the same).
    """
    if bool(row.get("is_local", False)):
        return None
    from recommender.data.countries import country_display_name
    from recommender.i18n import level_label

    name, cc = str(row.get("name", row.get("city_id"))), str(row.get("country_code", ""))
    where = (
        _("an Indonesian city outside that list")
        if cc == "ID"
        else _("a city in {country}").format(
            country=country_display_name(cc, row.get("country_name") or cc)
        )
    )
    gdp_level = level_label(str(row.get("gdp_per_capita_usd_level", "missing")))
    return _(
        "{name} is not an Indonesian local city (kota or provincial capital) but {where}; "
        "it is ranked all the same, on its packaged figures (GDP per capita: {level} "
        "level), and candidates in its own country are left out unless --include-domestic."
    ).format(name=name, where=where, level=gdp_level)


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
    for _index, row in sub.iterrows():
        yield row


__all__ = [
    "CITY_ID_COLUMNS",
    "apply_user_cities",
    "data_dir",
    "data_info",
    "build_partner_pairs",
    "eligibility_array",
    "eligibility_of",
    "fold",
    "indicator_frame",
    "iter_local_cities",
    "partner_pairs",
    "load_cities",
    "load_eligibility",
    "load_manifest",
    "load_ties",
    "local_city_note",
    "parse_bool_column",
    "partners_of",
    "read_user_csv",
    "resolve_city",
    "resolve_country",
    "search_cities",
    "suggest",
    "validate_cities",
]
