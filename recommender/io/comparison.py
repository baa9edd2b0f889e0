"""A scenario comparison as files: the same writers as a shortlist, with the comparison's
own tables (side by side, overlap and rank correlation, movers with their drivers in words)
and a title that says it is a comparison.

* XLSX: sheets *Side by side*, *Overlap and correlation*, *Movers*, then Glossary, Sources
  and Settings (:func:`recommender.io.workbook.workbook`).
* Markdown: the title, then the three tables.
* CSV and JSON: one machine-friendly table with stable snake_case columns: every candidate
  in either of the first two top lists, its rank and score under both scenarios, how far it
  moves, the indicator that moves it most (``driver``, ``driver_change``, ``driver_text``)
  and the overlap and rank correlations of the two scenarios (the same on every row).
  ``pandas.read_csv`` and ``pandas.read_json`` read them back as they are.
* HTML: the side-by-side table in the report page.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from recommender.i18n import _, column_label, format_number, indicator_label
from recommender.io.formatting import check_format, format_from_path

MOVER_COLUMNS = [
    "scenario_a",
    "scenario_b",
    "city_id",
    "name",
    "country_code",
    "rank_a",
    "rank_b",
    "move",
    "score_a",
    "score_b",
    "in_top_a",
    "in_top_b",
    "driver",
    "driver_change",
    "driver_text",
    "overlap",
    "spearman",
    "kendall",
]
"""Columns of the CSV / JSON export of a comparison, in order."""


def comparison_title(res: Any) -> str:
    """``Scenario comparison for Medan: small-big vs symmetric`` in the language in force."""
    city = res.attrs.get("local_name", "")
    return _("Scenario comparison for {city}: {scenarios}").format(
        city=city, scenarios=_(" vs ").join(res.names)
    )


def driver_text(driver: str, change: float, scenario: str) -> str:
    """The driver of a move in words.

    Examples
    --------
    >>> from recommender.i18n import language
    >>> with language("en"):
    ...     driver_text("population", 0.2222, "symmetric")
    'Population raises the score by 0.222 under symmetric'
    """
    if not isinstance(driver, str) or pd.isna(change):
        return ""
    if abs(change) < 5e-4:
        return _("no indicator changes the score")
    template = (
        _("{indicator} raises the score by {change} under {scenario}")
        if change > 0
        else _("{indicator} lowers the score by {change} under {scenario}")
    )
    return template.format(
        indicator=indicator_label(driver), change=format_number(abs(change), 3), scenario=scenario
    )


def movers_table(res: Any) -> pd.DataFrame:
    """The movers between the first two scenarios as a stable snake_case table."""
    a, b = res.names[0], res.names[1]
    mv = res.movers
    top = {n: set(df["city_id"].tolist()) for n, df in res.shortlists.items()}

    def ints(col: str) -> pd.Series:
        return pd.array(mv[col].to_numpy(dtype=float), dtype="Float64").round().astype("Int64")

    out = pd.DataFrame(
        {
            "scenario_a": a,
            "scenario_b": b,
            "city_id": mv["city_id"].astype("int64"),
            "name": mv["name"],
            "country_code": mv["country_code"],
            "rank_a": ints(f"rank {a}"),
            "rank_b": ints(f"rank {b}"),
            "move": ints("move"),
            "score_a": mv[f"score {a}"].astype(float),
            "score_b": mv[f"score {b}"].astype(float),
            "in_top_a": mv["city_id"].isin(top[a]),
            "in_top_b": mv["city_id"].isin(top[b]),
            "driver": mv["driver"],
            "driver_change": mv["driver_change"].astype(float),
        }
    )
    out["driver_text"] = [
        driver_text(d, c, b) for d, c in zip(out["driver"], out["driver_change"], strict=True)
    ]
    out["overlap"] = float(res.overlap.loc[a, b])
    out["spearman"] = float(res.spearman.loc[a, b])
    out["kendall"] = float(res.kendall.loc[a, b])
    out = out[MOVER_COLUMNS].reset_index(drop=True)
    out.attrs = comparison_meta(res)
    return out


def pairs_table(res: Any) -> pd.DataFrame:
    """Overlap and rank correlations for every pair of scenarios."""
    rows = []
    for i, a in enumerate(res.names):
        for b in res.names[i + 1 :]:
            rows.append(
                {
                    "scenario_a": a,
                    "scenario_b": b,
                    "overlap": float(res.overlap.loc[a, b]),
                    "spearman": float(res.spearman.loc[a, b]),
                    "kendall": float(res.kendall.loc[a, b]),
                }
            )
    return pd.DataFrame(rows)


def side_by_side_table(res: Any) -> tuple[pd.DataFrame, dict[str, str]]:
    """The top lists side by side and their human headers."""
    side = res.side_by_side.reset_index()
    headers = {"rank": column_label("rank")}
    renamed = {}
    for n in res.names:
        renamed[n] = f"candidate_{n}"
        renamed[f"{n} score"] = f"score_{n}"
        headers[f"candidate_{n}"] = _("Candidate under {scenario}").format(scenario=n)
        headers[f"score_{n}"] = _("Score under {scenario}").format(scenario=n)
    return side.rename(columns=renamed), headers


def comparison_meta(res: Any) -> dict[str, Any]:
    meta = dict(res.attrs)
    meta["title"] = comparison_title(res)
    meta["scenario"] = ", ".join(res.names)
    meta["scenarios"] = list(res.names)
    return meta


def _mover_headers(res: Any) -> dict[str, str]:
    a, b = res.names[0], res.names[1]
    return {
        "rank_a": _("Rank under {scenario} (whole pool)").format(scenario=a),
        "rank_b": _("Rank under {scenario} (whole pool)").format(scenario=b),
        "score_a": _("Score under {scenario}").format(scenario=a),
        "score_b": _("Score under {scenario}").format(scenario=b),
        "in_top_a": _("In the top list of {scenario}").format(scenario=a),
        "in_top_b": _("In the top list of {scenario}").format(scenario=b),
    }


def render_comparison(res: Any, fmt: str) -> str | bytes:
    """A :class:`~recommender.engine.compare.Comparison` in one of the export formats."""
    from recommender.io import export
    from recommender.io.workbook import workbook

    fmt = check_format(fmt)
    meta = comparison_meta(res)
    movers = movers_table(res)
    if fmt in ("csv", "json"):
        return export.render(movers, fmt)
    side, side_headers = side_by_side_table(res)
    pairs = pairs_table(res)
    movers_human = movers.drop(
        columns=["scenario_a", "scenario_b", "overlap", "spearman", "kendall"]
    )
    if fmt == "xlsx":
        return workbook(
            [
                (_("Side by side"), side, side_headers),
                (_("Overlap and correlation"), pairs, {}),
                (_("Movers"), movers_human, _mover_headers(res)),
            ],
            meta=meta,
        )
    if fmt == "md":
        parts = [f"## {meta['title']}", ""]
        for heading, table, headers in (
            (_("Side by side"), side, side_headers),
            (_("Overlap and correlation"), pairs, {}),
            (_("Movers"), movers_human, _mover_headers(res)),
        ):
            table = table.copy()
            table.attrs = {}  # the comparison's title is above, not one per table
            parts += [f"### {heading}", "", export.to_markdown(table, human=True, headers=headers)]
        return "\n".join(parts)
    side.attrs = meta
    return export.render(side, fmt)


def write_comparison(
    res: Any, path: str | os.PathLike[str], fmt: str | None = None, *, force: bool = False
) -> Path:
    """Write a comparison atomically, in the format the extension names."""
    from recommender.io.atomic import atomic_writer, check_target

    target = Path(path).expanduser()
    fmt = format_from_path(target) if fmt is None else check_format(fmt)
    check_target(target, force)
    data = render_comparison(res, fmt)
    if isinstance(data, str):
        data = (data if data.endswith("\n") else data + "\n").encode("utf-8")
    with atomic_writer(target, force=force) as handle:
        handle.write(data)
    return target


__all__ = [
    "MOVER_COLUMNS",
    "comparison_title",
    "driver_text",
    "movers_table",
    "pairs_table",
    "render_comparison",
    "write_comparison",
]
