"""The candidate pool: which rows are cities, which are parts of cities, which are duplicates.

Used by ``build_dataset.py``. Inputs are GeoNames ``cities15000.txt`` (feature code, admin2)
and ``regionInfo.tsv`` (current admin1 names) from ``../shared/raw/geonames``.

Every row gets a ``kind`` (``city``, ``city_part`` or ``other``), the ``kind_rule`` that
decided it and, for a city part, ``part_of`` (the GeoNames id of the city it belongs to).
The rules, first match wins:

``local``          an Indonesian kota or provincial capital: always a city.
``reviewed``       :data:`REVIEWED_PARTS`, big parts the rules below miss (Puxi, Pest,
                   Brooklyn, Kowloon...), each with its city.
``city_unit``      every other place inside the admin1 unit that *is* one city
                   (:data:`CITY_UNITS`: Shanghai, Seoul, Mexico City, Berlin, Vienna,
                   Brasília's Federal District, Delhi's NCT (New Delhi, the capital, stays a
                   city)...) or the admin2 unit (:data:`ADMIN2_CITY_UNITS`: Greater London).
``tokyo_ward``     Tokyo's 23 special wards (:data:`TOKYO_WARDS`, by name, in Tokyo-to).
``feature_code``   GeoNames marks it abandoned, historical, destroyed, a farm, a religious
                   site or a settlement (PPLQ, PPLH, PPLW, PPLF, PPLR, STLMT): ``other``.
``cjk_city_name``  in China, Japan, Korea or Taiwan, a Chinese / Japanese / Korean
                   alternate name marks a city (X市, X시): a city, whatever the feature
                   code (GeoNames files Funabashi's only point as a section, PPLX).
``district_name``  a CJK district name (X区, X區, X구) and no city name, or a
                   district-style Latin name ("Luohu District", "Sector 6", "Distrito
                   ...", "Bundang-gu", "Kohoku-ku"), with a bigger place of the same admin1
                   within 20 km or within that place's reach (reach_km).
``pplx_own_municipality``  Japan: a PPLX that is the biggest point of its own municipality
                   (GeoNames' Japanese admin2 is the municipality: Ichikawa, Chiba) and
                   not in Tokyo's ward area (nearer to Tokyo or a ward than to any city of
                   the prefecture) is that city.
``pplx``           feature code PPLX, "section of populated place".
``metro_district`` a place within reach of a metropolitan city, 2x smaller, where the
                   city's unit is the municipality (:data:`METRO_COUNTRIES`: Turkish
                   metropolitan provinces, Vietnamese and Nigerian city-provinces, Chinese
                   prefecture cities); reach_km grows with the city's size, 20 to 40 km.
                   Province seats (PPLA, PPLC), names that say "City" and, in China,
                   prefecture seats are never caught.
``proximity``      within 15 km of a place at least 5x bigger in the same admin1, *and*
                   either in the same municipality (the finest admin code both have,
                   admin4 or admin3, is equal) or no longer listed in GeoNames'
                   cities15000 although it has 15,000+ people (Hongkou, Paris 19e).
                   Seats of an administrative unit (PPLA..PPLA5, PPLC, PPLG) and names that
                   say they are a city ("Makati City") are never caught by this rule.
``default``        everything else: a city.

The parent of a part is the most populous bigger place nearby (same admin1 where there is
one), followed up the chain when that place is itself a part.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

EARTH_KM = 6371.0088
PROXIMITY_KM = 15.0
PROXIMITY_FACTOR = 5.0
PART_PARENT_KM = 20.0
DUPLICATE_KM = 10.0
MAX_REACH_KM = 40.0


def reach_km(population: float) -> float:
    """How far a city's parts may lie from its GeoNames point: 20 km, growing with the
    city's size to 40 km for 7 million people (megacities span 30-40 km)."""
    return float(np.clip(15.0 * np.sqrt(max(population, 0.0) / 1e6), 20.0, MAX_REACH_KM))


GEONAMES_COLUMNS = [
    "geonameid",
    "name",
    "asciiname",
    "alternatenames",
    "latitude",
    "longitude",
    "feature_class",
    "feature_code",
    "country_code",
    "cc2",
    "admin1_code",
    "admin2_code",
    "admin3_code",
    "admin4_code",
    "population",
    "elevation",
    "dem",
    "timezone",
    "modification_date",
]

# Big parts of cities that the rules miss, each with the GeoNames id of its city. Reviewed
# by hand: each is a borough, side of a river or district, not a body that signs treaties.
REVIEWED_PARTS: dict[int, tuple[int, str]] = {
    11072148: (1796236, "Puxi, the west bank of Shanghai"),
    1798524: (1796236, "Pudong New Area, a district of Shanghai"),
    3046446: (3054643, "Pest, the east bank of Budapest (merged 1873)"),
    3054667: (3054643, "Buda, the west bank of Budapest (merged 1873)"),
    5110302: (5128581, "Brooklyn, a borough of New York City"),
    5133273: (5128581, "Queens, a borough of New York City"),
    5110266: (5128581, "The Bronx, a borough of New York City"),
    5125771: (5128581, "Manhattan, a borough of New York City"),
    5139568: (5128581, "Staten Island, a borough of New York City"),
    1819609: (1819729, "Kowloon, Hong Kong"),
    12747063: (1819729, "New Territories, Hong Kong"),
    12747064: (1819729, "Hong Kong Island, Hong Kong"),
    7802746: (98182, "Sadr City, a district of Baghdad"),
    11836117: (1850147, "Suginami, a special ward of Tokyo (GeoNames files it under Ibaraki)"),
}

# Admin1 units (or whole countries, admin1 None) that are one city: every other place in
# them is a part of that city. (GeoNames id of the city, its expected name.)
CITY_UNITS: list[tuple[int, str, bool]] = [
    # (city id, name, whole country)
    (1796236, "Shanghai", False),
    (1816670, "Beijing", False),
    (1792947, "Tianjin", False),
    (1835848, "Seoul", False),
    (1838524, "Busan", False),
    (1843564, "Incheon", False),
    (1835329, "Daegu", False),
    (1835235, "Daejeon", False),
    (1841811, "Gwangju", False),
    (1833747, "Ulsan", False),
    (3530597, "Mexico City", False),
    (3688689, "Bogotá", False),
    (3435910, "Buenos Aires", False),
    (2950159, "Berlin", False),
    (2911298, "Hamburg", False),
    (2761369, "Vienna", False),
    (3067696, "Prague", False),
    (3054643, "Budapest", False),
    (683506, "Bucharest", False),
    (524901, "Moscow", False),
    (498817, "Saint Petersburg", False),
    (1735161, "Kuala Lumpur", False),
    (1609350, "Bangkok", False),
    (3469058, "Brasília", False),  # the Federal District: its regiões administrativas
    (1273294, "Delhi", False),  # the National Capital Territory (New Delhi, PPLC, stays)
    (2193733, "Auckland", False),  # one council since 2010 (Manukau City, North Shore...)
    (1880252, "Singapore", True),
    (1819729, "Hong Kong", True),
    (1821274, "Macau", True),
]

# Tokyo's 23 special wards (tokubetsu-ku): GeoNames files most of them as sections (PPLX)
# that are the only point of their ward, with no X区 name, so no rule can tell them from
# the Tama cities (Mitaka, Musashino) around them. Names as GeoNames spells them.
TOKYO_WARDS = frozenset(
    "Chiyoda Chūō Minato Shinjuku Bunkyō Taitō Sumida Kōtō Shinagawa Meguro Ōta Setagaya "
    "Shibuya Nakano Suginami Toshima Kita Arakawa Itabashi Nerima Adachi Katsushika "
    "Edogawa".split()
)
TOKYO_ID = 1850147

# Countries where a province or city-province *is* the metropolitan municipality and the
# places around its city are that city's districts (rule ``metro_district``): a place
# within reach of the city (reach_km, growing with its size) and 2x smaller is a part.
#   TR  a metropolitan province (büyükşehir): its seat has 500,000+ people; the ilçe around
#       it (Bağcılar, Esenyurt, Çankaya, Bornova) are district municipalities of it;
#   VN, NG  an admin1 unit named after its city of 1,000,000+ (Hanoi, Ho Chi Minh City,
#       Lagos State): quận / local government areas of the city;
#   CN  a place with no city name (X市) around a prefecture city of 1,000,000+: a district,
#       subdistrict or town of that city (Banan, Humen, Xiaoshan).
METRO_COUNTRIES = {"TR", "VN", "NG", "CN"}
METRO_SEAT_CODES = {"PPLC", "PPLA", "PPLA2"}
METRO_FACTOR = 2.0  # central districts are big: Çankaya has 792,189 people, Ankara 3.5 M

# Admin2 units that are one city (GeoNames admin2 "GLA" = Greater London: Tottenham,
# Wimbledon, Romford... are parts of London; England, the admin1, is not one city).
ADMIN2_CITY_UNITS: list[tuple[int, str]] = [(2643743, "London")]

OTHER_FEATURE_CODES = {"PPLQ", "PPLH", "PPLW", "PPLF", "PPLR", "STLMT"}
SEAT_FEATURE_CODES = {"PPLA", "PPLA2", "PPLA3", "PPLA4", "PPLA5", "PPLC", "PPLG"}
_CJK_DISTRICT = re.compile(r"^[\u4e00-\u9fff\uac00-\ud7af]{1,8}[区區구]$")
_CJK_CITY = re.compile(r"^[\u4e00-\u9fff\uac00-\ud7af]{1,8}[市시]$")
_LATIN_DISTRICT = re.compile(
    r"(?i)\b(district|distrito|sector \d+|arrondissement|bezirk|thana|quận|localidad|"
    r"delegaci[oó]n|alcald[ií]a)\b|-(gu|ku)$|\bqu$"
)
_SAYS_CITY = re.compile(r"(?i)(\bcity$|^ciudad\b|^kota\b|-shi$|\bshi$)")


def load_cities15000(raw: Path) -> pd.DataFrame:
    """GeoNames cities15000 (release 2025-11-19): feature code and admin2 by geonameid."""
    with zipfile.ZipFile(raw / "geonames/cities15000.zip") as z:
        g = pd.read_csv(
            z.open("cities15000.txt"),
            sep="\t",
            header=None,
            names=GEONAMES_COLUMNS,
            quoting=3,
            keep_default_na=False,
            dtype=str,
        )
    g["geonameid"] = g["geonameid"].astype(np.int64)
    g["population"] = pd.to_numeric(g["population"], errors="coerce").fillna(0).astype(np.int64)
    return g


def load_region_names(raw: Path) -> pd.DataFrame:
    """``regionInfo.tsv`` -> (country_code, admin1_code, admin1_name), current names."""
    r = pd.read_csv(raw / "geonames/regionInfo.tsv", sep="\t", keep_default_na=False, dtype=str)
    code = r["#region_code"].str.split(".", n=1, expand=True)
    return pd.DataFrame(
        {"country_code": code[0], "admin1_code": code[1], "admin1_name": r["name"]}
    ).drop_duplicates(["country_code", "admin1_code"])


def _xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _chord(km: float) -> float:
    return 2.0 * np.sin(km / (2.0 * EARTH_KM))


def _letters(text: str) -> str:
    """Folded letters only: "Ho Chi Minh City (HCMC)" -> "hochiminhcityhcmc"."""
    from recommender.data.tables import fold

    return re.sub(r"[^a-z]", "", fold(str(text)))


def _cjk_flags(alternates: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: has a CJK district name (X区), has a CJK city name (X市)."""
    district = np.zeros(len(alternates), dtype=bool)
    city = np.zeros(len(alternates), dtype=bool)
    for i, alts in enumerate(alternates):
        for a in alts:
            if a and "\u4e00" <= a[0] <= "\ud7af":
                if _CJK_DISTRICT.match(a):
                    district[i] = True
                elif _CJK_CITY.match(a):
                    city[i] = True
    return district, city


def classify_kinds(c: pd.DataFrame) -> pd.DataFrame:
    """``kind``, ``kind_rule``, ``part_of`` for every row of the pool ``c``.

    ``c`` needs city_id, name, country_code, admin1_code, admin2_code, feature_code,
    in_cities15000, latitude, longitude, population, is_local, alternatenames (lists).
    Returns a frame aligned with ``c``.
    """
    n = len(c)
    ids = c["city_id"].to_numpy(np.int64)
    pos_of = {int(v): i for i, v in enumerate(ids)}
    pop = np.nan_to_num(c["population"].to_numpy(float), nan=0.0)
    cc = c["country_code"].to_numpy(object)
    a1 = c["admin1_code"].to_numpy(object)
    a2 = c["admin2_code"].to_numpy(object)
    fcode = c["feature_code"].to_numpy(object)
    names = c["name"].to_numpy(object)
    in15 = c["in_cities15000"].to_numpy(bool)
    local = c["is_local"].to_numpy(bool)
    xyz = _xyz(c["latitude"].to_numpy(float), c["longitude"].to_numpy(float))
    tree = cKDTree(xyz)

    kind = np.full(n, "", dtype=object)
    rule = np.full(n, "", dtype=object)
    parent = np.full(n, -1, dtype=np.int64)  # position of the parent row

    def set_(i: int, k: str, r: str, p: int = -1) -> None:
        kind[i], rule[i], parent[i] = k, r, p

    for i in np.flatnonzero(local):
        set_(i, "city", "local")
    for gid, (pid, _why) in REVIEWED_PARTS.items():
        i = pos_of.get(gid)
        if i is not None and not kind[i]:
            set_(i, "city_part", "reviewed", pos_of.get(pid, -1))
    for pid, expected, whole_country in CITY_UNITS:
        p = pos_of.get(pid)
        if p is None or names[p] != expected:
            raise ValueError(f"CITY_UNITS: id {pid} is not {expected} in the pool")
        same = cc == cc[p] if whole_country else (cc == cc[p]) & (a1 == a1[p])
        for i in np.flatnonzero(same):
            if i != p and not kind[i] and fcode[i] != "PPLC":
                set_(i, "city_part", "city_unit", p)
    for pid, expected in ADMIN2_CITY_UNITS:
        p = pos_of.get(pid)
        if p is None or names[p] != expected or not a2[p]:
            raise ValueError(f"ADMIN2_CITY_UNITS: id {pid} is not {expected} in the pool")
        for i in np.flatnonzero((cc == cc[p]) & (a1 == a1[p]) & (a2 == a2[p])):
            if i != p and not kind[i] and fcode[i] != "PPLC":
                set_(i, "city_part", "city_unit", p)
    tokyo = pos_of.get(TOKYO_ID)
    if tokyo is not None:
        wards = (cc == "JP") & (a1 == a1[tokyo]) & np.isin(names, list(TOKYO_WARDS))
        for i in np.flatnonzero(wards):
            if not kind[i]:
                set_(i, "city_part", "tokyo_ward", tokyo)
    for i in np.flatnonzero(np.isin(fcode, list(OTHER_FEATURE_CODES))):
        if not kind[i]:
            set_(i, "other", "feature_code")

    district_cjk, city_cjk = _cjk_flags(c["alternatenames"].tolist())
    cjk_country = np.isin(cc, ["CN", "JP", "KR", "TW"])
    district_cjk &= cjk_country & ~city_cjk
    city_cjk &= cjk_country
    a3 = c["admin3_code"].to_numpy(object)
    a4 = c["admin4_code"].to_numpy(object)
    near = tree.query_ball_point(xyz, _chord(PART_PARENT_KM))
    near_prox = _chord(PROXIMITY_KM)

    def parent_near(i: int, same_admin1: bool, factor: float = 1.0, km_chord=None) -> int:
        """The most populous place nearby at least ``factor`` times bigger, or -1."""
        best, best_pop = -1, pop[i] * factor
        for j in near[i]:
            if j == i or cc[j] != cc[i] or (same_admin1 and a1[j] != a1[i]):
                continue
            if km_chord is not None and np.linalg.norm(xyz[i] - xyz[j]) > km_chord:
                continue
            if pop[j] > best_pop or (best < 0 and factor > 1.0 and pop[j] >= best_pop):
                best, best_pop = j, pop[j]
        return best

    far = tree.query_ball_point(xyz, _chord(MAX_REACH_KM))
    reach_chord = np.array([_chord(reach_km(p)) for p in pop])
    a1_name = np.array([_letters(x) for x in c["admin1_name"]], dtype=object)

    def parent_reach(i: int, factor: float = 1.0, seats: bool = False) -> int:
        """The most populous place of the same admin1 at least ``factor`` times bigger
        whose reach (reach_km) covers row ``i``, or -1; ``seats``: PPLC/PPLA/PPLA2 only."""
        best, best_pop = -1, pop[i] * factor
        for j in far[i]:
            if j == i or cc[j] != cc[i] or a1[j] != a1[i] or pop[j] <= best_pop:
                continue
            if seats and fcode[j] not in METRO_SEAT_CODES:
                continue
            if np.linalg.norm(xyz[i] - xyz[j]) <= reach_chord[j]:
                best, best_pop = j, pop[j]
        return best

    def metro_city(i: int) -> int:
        """Rule ``metro_district``: the metropolitan city row ``i`` is a district of, or -1."""
        if cc[i] not in METRO_COUNTRIES or fcode[i] in ("PPLA", "PPLC") or local[i]:
            return -1
        if _SAYS_CITY.search(str(names[i])):
            return -1
        if cc[i] == "CN" and fcode[i] in METRO_SEAT_CODES:
            return -1  # a prefecture seat is a city
        j = parent_reach(i, METRO_FACTOR, seats=True)
        if j < 0:
            return -1
        if cc[i] == "TR":
            return j if pop[j] >= 500_000 else -1
        if cc[i] == "CN":
            return j if pop[j] >= 1_000_000 else -1
        # VN, NG: a city of 1,000,000+ the admin1 unit is named after (Hanoi, Lagos State;
        # not the town of Oyo, which only gave Oyo State its name)
        named = _letters(names[j]) and _letters(names[j]) in a1_name[i]
        return j if named and pop[j] >= 1_000_000 else -1

    # Tokyo's ward area: a section nearer to Tokyo or one of its wards than to any city
    # of the prefecture with a city name (Musashino, Mitaka's Kamirenjaku stays Mitaka)
    anchors = np.flatnonzero((rule == "tokyo_ward") | (city_cjk & (cc == "JP")))
    if tokyo is not None:
        anchors = np.append(anchors, tokyo)
        anchors = anchors[a1[anchors] == a1[tokyo]]

    def in_wards(i: int) -> bool:
        if tokyo is None or cc[i] != "JP" or a1[i] != a1[tokyo] or not len(anchors):
            return False
        k = anchors[np.argmin(np.linalg.norm(xyz[anchors] - xyz[i], axis=1))]
        return k == tokyo or rule[k] == "tokyo_ward"

    def bigger_same_admin2(i: int) -> bool:
        return any(
            j != i and a2[j] == a2[i] and cc[j] == cc[i] and pop[j] > pop[i] for j in near[i]
        )

    def same_municipality(i: int, j: int) -> bool:
        """The finest admin code both rows have (admin4, else admin3) is the same."""
        if a4[i] and a4[j]:
            return a4[i] == a4[j]
        if a3[i] and a3[j]:
            return a3[i] == a3[j]
        return False

    for i in range(n):
        if kind[i]:
            continue
        if city_cjk[i]:
            set_(i, "city", "cjk_city_name")
            continue
        if district_cjk[i] or _LATIN_DISTRICT.search(str(names[i])):
            p = parent_near(i, True)
            if p < 0:
                p = parent_reach(i)
            if p >= 0:
                set_(i, "city_part", "district_name", p)
                continue
        if fcode[i] == "PPLX":
            p = parent_near(i, True)
            if p < 0:
                p = parent_near(i, False)
            # Japan: GeoNames' admin2 is the municipality; a section that is the biggest
            # point of its own municipality (Ichikawa, Chiba) stands for that city, one
            # with a bigger point of its municipality nearby (Sugamo in Toshima) does not.
            if cc[i] == "JP" and a2[i] and not bigger_same_admin2(i) and not in_wards(i):
                set_(i, "city", "pplx_own_municipality")
                continue
            set_(i, "city_part", "pplx", p)
            continue
        p = metro_city(i)
        if p >= 0:
            set_(i, "city_part", "metro_district", p)
            continue
        if fcode[i] not in SEAT_FEATURE_CODES and not _SAYS_CITY.search(str(names[i])):
            p = parent_near(i, True, PROXIMITY_FACTOR, near_prox)
            if p >= 0 and pop[i] > 0:
                gone = not in15[i] and pop[i] >= 15_000
                if gone or same_municipality(i, p):
                    set_(i, "city_part", "proximity", p)
                    continue
        set_(i, "city", "default")

    # follow chains: the parent of a part is a city
    for i in np.flatnonzero(parent >= 0):
        seen = 0
        while kind[parent[i]] == "city_part" and parent[parent[i]] >= 0 and seen < 10:
            parent[i] = parent[parent[i]]
            seen += 1
    # a parent that is a section GeoNames lists without any bigger place nearby (suburbs
    # of Melbourne grouped under "Pakenham") is no city: take the biggest city of the same
    # admin1 within reach instead (a big city reaches further: reach_km)
    section = (fcode == "PPLX") & (kind == "city_part") & (parent < 0)
    far = tree.query_ball_point(xyz[parent >= 0], _chord(MAX_REACH_KM))
    for i, around in zip(np.flatnonzero(parent >= 0), far):
        if not section[parent[i]]:
            continue
        best, best_pop = -1, pop[i]
        for j in around:
            if j == i or cc[j] != cc[i] or a1[j] != a1[i] or kind[j] != "city":
                continue
            if pop[j] > best_pop and np.linalg.norm(xyz[i] - xyz[j]) <= _chord(reach_km(pop[j])):
                best, best_pop = j, pop[j]
        if best >= 0:
            parent[i] = best
    part_of = np.where(parent >= 0, ids[np.maximum(parent, 0)], 0)
    return pd.DataFrame({"kind": kind, "kind_rule": rule, "part_of": part_of}, index=c.index)


def find_duplicates(c: pd.DataFrame) -> dict[int, int]:
    """True duplicates: same country, same folded name, within 10 km -> {dropped: kept}.

    The kept row is the one GeoNames still lists in cities15000, then the seat, then the
    more populous, then the smaller id. Indonesian local cities are always kept.
    """
    from recommender.data.tables import fold

    key = (c["country_code"] + "|" + c["name"].map(fold)).to_numpy()
    xyz = _xyz(c["latitude"].to_numpy(float), c["longitude"].to_numpy(float))
    ranked = c.assign(
        _key=key,
        pos_=np.arange(len(c)),
        _l=~c["is_local"].astype(bool),
        _in=~c["in_cities15000"].astype(bool),
        _seat=~c["feature_code"].isin(SEAT_FEATURE_CODES),
        _pop=-c["population"].fillna(0),
    )
    dup_keys = ranked["_key"].duplicated(keep=False)
    ranked = ranked[dup_keys].sort_values(["_key", "_l", "_in", "_seat", "_pop", "city_id"])
    out: dict[int, int] = {}
    for _, grp in ranked.groupby("_key", sort=True):
        kept: list[tuple[int, int]] = []  # (position, city_id)
        for r in grp.itertuples():
            near = [
                cid
                for p, cid in kept
                if np.linalg.norm(xyz[r.pos_] - xyz[p]) <= _chord(DUPLICATE_KM)
            ]
            if near and not r.is_local:
                out[int(r.city_id)] = near[0]
            else:
                kept.append((r.pos_, int(r.city_id)))
    return out


_NAME_NOISE = re.compile(r"(?:\bcity$|-shi$|\bshi$|[^a-z0-9])")


def _norm_name(name: str) -> str:
    """A folded name without "City" / "-shi", with "Saint"/"Mount" as "st"/"mt" and no
    spaces or punctuation: "Mandaluyong City", "St. Charles", "E'zhou" -> one key each."""
    from recommender.data.tables import fold

    f = re.sub(r"\bsaint\b", "st", re.sub(r"\bmount\b", "mt", fold(str(name))))
    return _NAME_NOISE.sub("", f.strip())


def find_loose_duplicates(c: pd.DataFrame) -> dict[int, int]:
    """Duplicates the strict rule (:func:`find_duplicates`) misses -> {dropped: kept}.

    Same country and either (a) the same name once "City", "-shi", "Saint"/"St",
    "Mount"/"Mt", spaces and punctuation are set aside, within 10 km and at most 4x apart
    in population ("Mandaluyong City" / "Mandaluyong", "Xilin Hot" / "Xilinhot"), or (b) the very same population and one's name
    is the other's name or alternate name, within 25 km (one GeoNames record entered twice:
    "Dzuunmod" / "Zuunmod", "Furukawa" / "Hida"). The kept row is chosen as in
    :func:`find_duplicates`; Indonesian local cities are always kept.
    """
    from recommender.data.tables import fold

    n = len(c)
    xyz = _xyz(c["latitude"].to_numpy(float), c["longitude"].to_numpy(float))
    cc = c["country_code"].to_numpy(object)
    pop = np.nan_to_num(c["population"].to_numpy(float))
    local = c["is_local"].to_numpy(bool)
    norm = [_norm_name(x) for x in c["name"]]
    folded = [fold(str(x)) for x in c["name"]]
    alts = [{fold(a) for a in al if a} for al in c["alternatenames"]]
    order = c.assign(
        _l=~c["is_local"].astype(bool),
        _in=~c["in_cities15000"].astype(bool),
        _seat=~c["feature_code"].isin(SEAT_FEATURE_CODES),
        _pop=-c["population"].fillna(0),
        _pos=np.arange(n),
    ).sort_values(["_l", "_in", "_seat", "_pop", "city_id"])["_pos"]
    rank = np.empty(n, dtype=np.int64)
    rank[order.to_numpy()] = np.arange(n)
    pairs = sorted(cKDTree(xyz).query_pairs(_chord(25.0)))
    group = np.arange(n)

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i, j in pairs:
        if cc[i] != cc[j] or (local[i] and local[j]):
            continue
        km = np.linalg.norm(xyz[i] - xyz[j])
        small, big = sorted((pop[i], pop[j]))
        same = bool(norm[i]) and norm[i] == norm[j] and km <= _chord(DUPLICATE_KM)
        same &= small > 0 and big <= 4 * small  # not "Kowloon City" (a district) / Kowloon
        named = folded[i] in alts[j] or folded[j] in alts[i] or folded[i] == folded[j]
        twin = pop[i] > 0 and pop[i] == pop[j] and named
        if same or twin:
            a, b = root(i), root(j)
            if a != b:
                group[max(a, b, key=lambda k: rank[k])] = min(a, b, key=lambda k: rank[k])
    ids = c["city_id"].to_numpy(np.int64)
    out: dict[int, int] = {}
    for i in range(n):
        r = root(i)
        if r != i and not local[i]:
            out[int(ids[i])] = int(ids[r])
    return out


# ----------------------------------------------------------------------------------------
# ties: duplicates, fixes and parts

# Ties the scrape states twice with two different namesakes, fixed by hand:
# (local id, wrong partner id, right partner id, why).
TIE_FIXES: list[tuple[int, int, int, str]] = [
    (
        1633419,
        1886760,
        1793743,
        "Padang: the Indonesian list says 'Suzhou, China', geocoded to Suzhou (Jiangsu); "
        "the host page of Suzhou, Anhui lists Padang. The specific statement is kept, the "
        "ambiguous one is the same partnership",
    ),
]


def _normalise_pairs(ties: pd.DataFrame) -> pd.DataFrame:
    """Order each pair (a < b), drop self-pairs, merge repeated pairs deterministically."""
    a = ties["city_a_id"].to_numpy(np.int64)
    b = ties["city_b_id"].to_numpy(np.int64)
    swap = a > b
    t = ties.copy()
    t["city_a_id"] = np.where(swap, b, a)
    t["city_b_id"] = np.where(swap, a, b)
    ra, rb = t["raw_a"].to_numpy(object), t["raw_b"].to_numpy(object)
    t["raw_a"] = np.where(swap, rb, ra)
    t["raw_b"] = np.where(swap, ra, rb)
    t = t[t["city_a_id"] != t["city_b_id"]]
    # a pair kept from the source as it was wins over one that was moved onto it
    t = t.sort_values(["city_a_id", "city_b_id", "_moved", "source", "raw_a", "raw_b"])
    t = t.drop_duplicates(["city_a_id", "city_b_id"], keep="first")
    return t.reset_index(drop=True)


def remap_ties(ties: pd.DataFrame, mapping: dict[int, int], reason: str) -> pd.DataFrame:
    """Replace city ids by ``mapping`` at both ends; merged pairs keep one row."""
    t = ties.copy()
    t["_moved"] = False
    for col in ("city_a_id", "city_b_id"):
        hit = t[col].isin(list(mapping))
        t.loc[hit, col] = t.loc[hit, col].map(mapping).astype(np.int64)
        t.loc[hit, "_moved"] = True
    return _normalise_pairs(t).drop(columns="_moved")


def apply_tie_fixes(ties: pd.DataFrame) -> pd.DataFrame:
    """Apply :data:`TIE_FIXES`: the wrong pair becomes the right one (merging if present)."""
    t = ties.copy()
    t["_moved"] = False
    for local, wrong, right, _why in TIE_FIXES:
        lo, hi = min(local, wrong), max(local, wrong)
        hit = (t["city_a_id"] == lo) & (t["city_b_id"] == hi)
        if not hit.any():
            raise ValueError(f"TIE_FIXES: no tie {local}-{wrong} to fix")
        col = "city_a_id" if wrong == lo else "city_b_id"
        t.loc[hit, col] = right
        t.loc[hit, "_moved"] = True
    return _normalise_pairs(t).drop(columns="_moved")


def move_part_ties(ties: pd.DataFrame, c: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Move a tie from a city part to its city where the scraped name is the city's.

    The scrape names a city ("Ichikawa, Japan"); when the match landed on a part of a city
    whose own name or alternate names contain the scraped name, the partnership is with
    the city. A tie scraped under the part's own name (a borough's partnership) stays.
    """
    from recommender.data.tables import fold

    info = c.set_index("city_id")
    kind = info["kind"]
    parent = info["part_of"]
    keys = {
        int(i): {fold(n), *(fold(a) for a in alts)}
        for i, n, alts in zip(c["city_id"], c["name"], c["alternatenames"])
    }
    t = ties.copy()
    t["_moved"] = False
    moved = []
    for end, raw in (("city_a_id", "raw_a"), ("city_b_id", "raw_b")):
        ids = t[end].to_numpy(np.int64)
        is_part = (kind.reindex(ids).to_numpy() == "city_part") & (
            parent.reindex(ids).fillna(0).to_numpy() > 0
        )
        for k in np.flatnonzero(is_part):
            pid = int(parent.loc[ids[k]])
            scraped = fold(str(t[raw].iat[k]).rsplit(",", 1)[0])
            if (
                scraped
                and scraped in keys.get(pid, set())
                and scraped != fold(info.at[ids[k], "name"])
            ):
                moved.append({"from": int(ids[k]), "to": pid, "scraped": str(t[raw].iat[k])})
                t.iat[k, t.columns.get_loc(end)] = pid
                t.iat[k, t.columns.get_loc("_moved")] = True
    cc = info["country_code"]
    out = _normalise_pairs(t).drop(columns="_moved")
    out["domestic"] = out["city_a_id"].map(cc).to_numpy() == out["city_b_id"].map(cc).to_numpy()
    return out, sorted(moved, key=lambda m: (m["from"], m["to"], m["scraped"]))
