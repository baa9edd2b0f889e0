"""``sistercity shortlist`` and ``sistercity explain``: the ranked candidates of one local
city, and every number behind one pair.

Both call :mod:`recommender.app` (as the web app does) and print the result as a table
with the "why" of each row, in the language in force.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

import click

from recommender.cli.options import (
    command,
    echo_json,
    echo_table,
    emit,
    engine_options,
    fmt_value,
    handle_errors,
    output_options,
    say_note,
    shortlist_request,
    user_data_option,
    what_if,
)
from recommender.data.indicators import BY_NAME, INDICATOR_NAMES
from recommender.i18n import (
    _,
    class_label,
    format_number,
    format_signed,
    format_year,
    indicator_label,
    level_label,
)

if TYPE_CHECKING:
    import pandas as pd


@command()
@click.argument("city")
@click.option("--top", default=10, show_default=True, type=int, help="How many candidates.")
@engine_options
@user_data_option
@output_options
@handle_errors
def shortlist(city, top, user_data, fmt, output, force, **kw) -> None:
    """Ranked, explained partner candidates for CITY (an Indonesian city).

    Example: sistercity shortlist Medan --top 10 --scenario small-big -o medan.xlsx
    """
    from recommender import app

    tables = app.load_cities(user_data)
    row, df = app.rank(shortlist_request(city, top, kw), cities=tables)
    say_note(row)
    emit(df, fmt, output, force, lambda: print_shortlist(df), cities=tables)


def _cell(ratio: float, level: str, contribution: float, hdi: bool) -> str:
    import pandas as pd

    from recommender.i18n.texts import LEVEL_SHORT

    if level == "missing":
        return "—"
    if pd.isna(ratio):
        r = _("n/a")
    elif hdi:
        r = format_signed(ratio, 2)
    else:
        r = format_number(ratio, 2 if ratio < 10 else 0) + "×"
    short = _(LEVEL_SHORT[level]) if level in LEVEL_SHORT else level
    return f"{r} {short} {format_number(contribution, 2)}"


def shortlist_view(df: pd.DataFrame) -> pd.DataFrame:
    """The on-screen columns: one compact cell per indicator (ratio, level, contribution)."""
    import pandas as pd

    from recommender.engine.coupling import ratio_column
    from recommender.i18n.texts import INDICATOR_SHORT

    # a handful of rows: plain lists (a pandas operation per column cost more than the
    # whole table), collected first and made a frame once
    wanted = ["name", "country_code", "score", "feasibility", "combined", "distance_km"]
    wanted += ["robustness", "existing_partner", "kind", "eligibility"]
    for n in INDICATOR_NAMES:
        wanted += [ratio_column(n), f"{n}_level", f"{n}_contribution"]
    col = {c: df[c].tolist() for c in wanted if c in df.columns}
    nan = float("nan")

    def numbers(values: list, decimals: int) -> list[str]:
        return [format_number(v, decimals) for v in values]

    def missing(v) -> bool:
        return v is None or v != v  # None or NaN

    view: dict[str, object] = {
        "#": df["rank"],
        _("city"): [
            nan if missing(a) or missing(b) else f"{a}, {b}"
            for a, b in zip(col["name"], col["country_code"])
        ],
        _("score"): numbers(col["score"], 3),
        _("coupling"): df["coupling"],
    }
    if "feasibility" in col:
        view[_("feasib.")] = numbers(col["feasibility"], 2)
        view[_("combined")] = numbers(col["combined"], 3)
    for n in INDICATOR_NAMES:
        view[_(INDICATOR_SHORT[n])] = [
            _cell(r, lv, c, n == "hdi")
            for r, lv, c in zip(col[ratio_column(n)], col[f"{n}_level"], col[f"{n}_contribution"])
        ]
    view["km"] = numbers(col["distance_km"], 0)
    if "robustness" in col and not all(missing(v) for v in col["robustness"]):
        view[_("robust")] = ["" if v != v else f"{v:.0%}" for v in col["robustness"]]
    if any(col["existing_partner"]):
        yes = _("yes")
        view[_("partner")] = [
            yes if v is True else "" if v is False else nan for v in col["existing_partner"]
        ]
    # shown only when some row is not the usual value (a missing one counts)
    if "kind" in col and any(v != "city" for v in col["kind"]):
        view[_("kind")] = ["" if v == "city" else v for v in col["kind"]]
    if "eligibility" in col and any(v != "yes" for v in col["eligibility"]):
        view[_("eligible")] = ["" if v == "yes" else v for v in col["eligibility"]]
    return pd.DataFrame(view, index=df.index)


def left_out_notes(attrs: dict) -> list[str]:
    """What the pool rules left out, with the option that brings it back."""
    left = attrs.get("left_out") or {}
    notes = []
    if left.get("ineligible"):
        notes.append(
            _(
                "{n} candidates in countries without diplomatic relations or recognition "
                "left out (data/eligibility.csv); --include-ineligible"
            ).format(n=format_number(left["ineligible"]))
        )
    if left.get("city_parts"):
        notes.append(
            _(
                "{n} parts of cities (boroughs, wards, districts) or other non-city places "
                "left out; --include-city-parts"
            ).format(n=format_number(left["city_parts"]))
        )
    return notes


def _without_attrs(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` sharing its columns, without ``attrs``: pandas deep-copies a frame's attrs
    (the shortlist's settings, some hundred objects) into every column it hands out, which
    cost more than the rest of printing the table."""
    out = df.copy(deep=False)
    out.attrs = {}
    return out


def print_shortlist(df: pd.DataFrame) -> None:
    from recommender.engine.scenarios import load_scenario, preset_names

    a = df.attrs
    df = _without_attrs(df)
    local = a["local_name"]
    scen = load_scenario(a["scenario"]) if a.get("scenario") in preset_names() else None
    desc = f" ({_(scen.description).rstrip('.')})" if scen else ""
    click.echo(
        _("Partner shortlist for {city} ({country}), scenario {scenario}").format(
            city=local, country=a["local_country_code"], scenario=a["scenario"]
        )
        + desc
    )
    f = a.get("filters", {})
    notes = [
        _("{eligible} eligible of {pool} cities").format(
            eligible=format_number(a.get("n_eligible", 0)), pool=format_number(a.get("n_pool", 0))
        )
    ]
    notes.append(
        _("existing partners included")
        if f.get("include_partners")
        else _("existing partners excluded")
    )
    if f.get("max_per_country"):
        notes.append(_("at most {n} per country").format(n=f.get("max_per_country")))
    if f.get("diversity", 1.0) < 1.0:
        notes.append(_("soft diversity {d} per country").format(d=format_number(f["diversity"], 2)))
    else:
        notes.append(_("no per-country spread (--diversity 0.5 spreads the list)"))
    if a.get("overrides"):
        notes.append(
            _("what-if: {values}").format(
                values=", ".join(f"{k}={v:g}" for k, v in a["overrides"].items())
            )
        )
    click.echo("  " + "; ".join(notes))
    for note in left_out_notes(a):
        click.echo("  " + note)
    if "eligibility" in df.columns and (df["eligibility"] == "restricted").any():
        click.echo(
            "  "
            + _("eligible = restricted: no official relations (Taiwan); see data/eligibility.csv")
        )
    click.echo("")
    echo_table(shortlist_view(df))
    click.echo("")
    click.echo(
        _(
            "Cells: ratio to {city} (HDI: difference) · level of the candidate's figure "
            "(city, reg = region, ctry = country, imp = imputed, — = no data) · contribution "
            "to the score."
        ).format(city=local)
    )
    click.echo(
        _(
            "Coupling from {city}'s side: SB small-big (partner bigger), BS big-small, "
            "BB / SS both big / both small (Cohen 2020)."
        ).format(city=local)
    )
    n_top = int((df["score"].round(9) == df["score"].round(9).max()).sum())
    feas = a.get("feasibility")
    if isinstance(feas, dict) and "combined" in df.columns:
        blend = feas.get("blend", 0.7)
        click.echo(
            _(
                "Ranked by combined = {w_fit} × score (strategy fit) + {w_feas} × feasibility "
                "(learned probability that such a pair becomes partners)."
            ).format(w_fit=format_number(1 - blend, 2), w_feas=format_number(blend, 2))
        )
    elif n_top > 1:
        click.echo(
            _(
                "{n} candidates share the top score (every figure inside the scenario's bands); "
                "equal scores are ordered by data quality, then population."
            ).format(n=n_top)
        )
    click.echo(
        _(
            "GDP per capita is compared like with like: where only a national figure exists, "
            "a modelled city figure (national x an urban premium, with its interval); see "
            "`explain`."
        )
    )
    if "robustness" in df.columns and df["robustness"].notna().any():
        click.echo(
            _(
                "robust: how often the candidate stays in this top list when the scenario's "
                "weights and bands vary within plausible ranges (seeded Monte Carlo)."
            )
        )
    click.echo("")

    def column(name: str) -> list:
        return df[name].tolist() if name in df.columns else [None] * len(df)

    for rank, name, why, extra, ctx, rob in zip(
        df["rank"].tolist(),
        df["name"].tolist(),
        df["why"].tolist(),
        column("why_feasibility"),
        column("context"),
        column("robustness_text"),
    ):
        click.echo(f"{rank:>3}. {name}: {why}")
        if extra:
            click.echo(f"     {extra}")
        more = "; ".join(x for x in (ctx, rob) if x)
        if more:
            click.echo(f"     {more}")


@command()
@click.argument("city")
@click.argument("candidate")
@click.option("--scenario", default="small-big", show_default=True, help="Preset or TOML file.")
@click.option("--method", type=click.Choice(["wsm", "topsis"]), default="wsm", show_default=True)
@click.option("--country", default=None, help="Country of the local city, if its name is shared.")
@click.option(
    "--candidate-country", default=None, help="Country of the candidate, if its name is shared."
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="INDICATOR=VALUE",
    help="What-if value for the local city.",
)
@user_data_option
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@handle_errors
def explain(
    city, candidate, scenario, method, country, candidate_country, overrides, user_data, fmt
) -> None:
    """The full breakdown of one pair: every number behind CANDIDATE's score for CITY."""
    from recommender import app

    tables = app.load_cities(user_data)
    row = app.local_city(city, country, cities=tables)
    ex = app.explain_pair(
        row,
        candidate,
        scenario=scenario,
        method=method,
        country=country,
        candidate_country=candidate_country,
        overrides=what_if(overrides),
        cities=tables,
    )
    say_note(row)
    if fmt == "json":
        echo_json({"summary": ex.summary, "breakdown": ex.breakdown.to_dict(orient="records")})
        return
    print_explanation(ex)


def print_explanation(ex) -> None:
    """An :class:`~recommender.engine.explain.Explanation` on the screen."""
    import pandas as pd

    s = ex.summary
    click.echo(
        _("{candidate} as a partner for {city}").format(candidate=s["candidate"], city=s["local"])
    )
    click.echo(
        _("Scenario {scenario} ({method}): score {score}, coupling {coupling}").format(
            scenario=s["scenario"],
            method=s["method"],
            score=format_number(s["score"], 3),
            coupling=s["coupling"],
        )
    )
    if s.get("standing"):
        click.echo(_("Default shortlist: {standing}").format(standing=s["standing"]))
    if s.get("why_feasibility"):
        click.echo(s["why_feasibility"])
    if s["eligible"]:
        click.echo(
            _("Rank {rank} of {n} eligible candidates by strategy fit alone").format(
                rank=format_number(s["rank_among_eligible"]), n=format_number(s["n_eligible"])
            )
        )
    else:
        click.echo(
            _("Not eligible in this scenario: {reason}").format(reason=s["excluded_because"])
        )
    flags = [_("{km} km apart").format(km=format_number(s["distance_km"]))]
    if s["existing_partner"]:
        flags.append(_("already a partner"))
    if s["domestic"]:
        flags.append(_("same country"))
    if s.get("kind", "city") != "city":
        flags.append(
            _("{kind} (not a candidate by default)").format(kind=s["kind"].replace("_", " "))
        )
    click.echo("; ".join(flags))
    if s.get("eligibility", "yes") != "yes":
        click.echo(
            _("Eligibility: {status}: {reason}").format(
                status=s["eligibility"], reason=s.get("eligibility_reason", "")
            )
        )
    click.echo(_("Why: {why}").format(why=s["why"]))
    click.echo("")
    b = ex.breakdown
    for i, rec in enumerate(b.to_dict(orient="records")):
        r = SimpleNamespace(**rec)
        ind = BY_NAME[INDICATOR_NAMES[i]]
        click.echo(indicator_label(ind.name))
        local_word, cand_word = _("local"), _("candidate")
        click.echo(
            f"  {local_word:<9} {fmt_value(ind.name, r.local_value):>16}  "
            f"[{level_label(r.local_level)}]"
        )
        year = "" if pd.isna(r.candidate_year) else f", {format_year(r.candidate_year)}"
        click.echo(
            f"  {cand_word:<9} {fmt_value(ind.name, r.candidate_value):>16}  "
            f"[{level_label(r.candidate_level)}{year}] {r.candidate_source}"
        )
        if pd.isna(r.ratio_or_diff):
            rel = _("unknown")
        elif ind.name == "hdi":
            rel = format_signed(r.ratio_or_diff, 3)
        else:
            rel = format_number(r.ratio_or_diff, 2) + "×"
        share = (
            ""
            if pd.isna(r.weight_share)
            else ", " + _("weight share {share}").format(share=format_number(r.weight_share, 2))
        )
        click.echo(
            "  "
            + _(
                "{relation} → {cls}; band {band}; desirability {desirability} × weight "
                "{weight}{share} → contribution {contribution}"
            ).format(
                relation=rel,
                cls=class_label(rec["class"]),
                band=r.band,
                desirability=format_number(r.desirability, 2),
                weight=format_number(r.weight, 2),
                share=share,
                contribution=format_number(r.contribution, 3),
            )
        )
    click.echo("")
    click.echo(
        _("Contributions add up to the score: {total}").format(
            total=format_number(b["contribution"].sum(), 3)
        )
    )
