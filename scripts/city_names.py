"""Names shown for cities whose GeoNames point carries the name of one of its sections.

Used by ``build_dataset.py``. GeoNames files some Japanese municipalities under the name of
their central section: Funabashi's only point (644,668 people, alternate name 船橋市) is
called "Honchō" (本町, "main town"), Mitaka's is "Kamirenjaku", Yatsushiro's "Honmachi".
The build keeps such a point as the city (``kind_rule`` ``cjk_city_name``,
``pplx_own_municipality`` or ``default``) but would show the section's name in every
shortlist. :data:`REVIEWED_NAMES` gives each its city's name, reviewed by hand; the build
checks that the name is one of the point's own GeoNames alternate names (nothing is made
up) and refuses a city still named like a generic section (:data:`SECTION_NAMES`) that the
list does not cover, so a new GeoNames release cannot bring one back unnoticed. The section
name stays a search key (``alt_names``).
"""

from __future__ import annotations

import pandas as pd

# GeoNames id -> (the city's name, why). Each name is among the point's alternate names.
REVIEWED_NAMES: dict[int, tuple[str, str]] = {
    1863905: ("Funabashi", "Honchō (PPLX): Funabashi's only point, 644,668 people, 船橋市"),
    1848445: ("Yatsushiro", "Honmachi: the point of Yatsushiro city, 八代市"),
    2129003: ("Nanae", "Honchō: the centre of Nanae town (Hokkaido), 28,514 people"),
    2127635: ("Tsubetsu", "Honchō: the centre of Tsubetsu town (Hokkaido), 津別町"),
    2127383: ("Bihoro", "Motomachi: the centre of Bihoro town (Hokkaido)"),
    2111105: ("Onjuku", "Shinmachi: the centre of Onjuku town (Chiba)"),
    1860437: ("Mitaka", "Kamirenjaku (PPLX): Mitaka's only point, 195,391 people"),
    1850878: ("Taketa", "Takedamachi (PPLX): the point of Taketa city (Ōita)"),
}

# Folded names of generic Japanese sections (本町, 元町, 新町) that no city is called by:
# a row of kind city with one of these names and no entry above stops the build.
SECTION_NAMES = frozenset({"honcho", "honmachi", "motomachi", "shinmachi", "shimmachi"})


def city_names(c: pd.DataFrame) -> tuple[pd.Series, list[dict]]:
    """The names to show for the rows of ``c`` and an audit of the renamed rows.

    ``c`` needs ``city_id``, ``name``, ``country_code``, ``kind`` and ``alternatenames``
    (lists). Raises ``ValueError`` when a reviewed name is not among the point's alternate
    names, or a Japanese city keeps a generic section name.
    """
    from recommender.data.tables import fold

    names = c["name"].copy()
    audit = []
    for pos, (cid, name, alts) in enumerate(zip(c["city_id"], c["name"], c["alternatenames"])):
        hit = REVIEWED_NAMES.get(int(cid))
        if hit is None:
            continue
        new, why = hit
        if new not in alts:
            raise ValueError(f"REVIEWED_NAMES: {new!r} is no alternate name of {cid} ({name})")
        names.iloc[pos] = new
        audit.append({"city_id": int(cid), "geonames_name": str(name), "name": new, "why": why})
    left = c[
        (c["country_code"] == "JP") & (c["kind"] == "city") & names.map(fold).isin(SECTION_NAMES)
    ]
    if len(left):
        rows = ", ".join(f"{r.city_id} ({r.name})" for r in left.itertuples())
        raise ValueError(f"Cities named like a section, add them to REVIEWED_NAMES: {rows}")
    return names, audit
