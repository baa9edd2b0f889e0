"""``sistercity compare`` and ``sistercity partners``: one local city under several
scenarios side by side, and its existing partners classified as in the paper's Table 2.

Both call :mod:`recommender.app` (as the web app's ``/scenarios`` and ``/partners`` pages
do) and print the result in the language in force.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from recommender.cli.options import (
    UserError,
    command,
    echo_table,
    emit,
    handle_errors,
    no_binary_on_screen,
    output_options,
    say_note,
    user_data_option,
)
from recommender.i18n import _, class_label, format_number, format_signed, indicator_label
from recommender.i18n.texts import INDICATOR_SHORT

if TYPE_CHECKING:
    import pandas as pd

CLASS_WORDS = ("Big", "Small", "Symmetry", "Unknown")


@command()
@click.argument("city")
@click.option("--country", default=None, help="Country of the local city, if its name is shared.")
@user_data_option
@output_options
@handle_errors
def partners(city, country, user_data, fmt, output, force) -> None:
    """Existing partners of CITY, classified Big / Small / Symmetry (the paper's Table 2)."""
    from recommender import app

    tables = app.load_cities(user_data)
    row = app.local_city(city, country, cities=tables)
    res = app.partners(row, country=country, cities=tables, positions=False)
    say_note(row)
    emit(res.partners, fmt, output, force, lambda: print_partners(res))


def print_partners(res) -> None:
    """A :class:`~recommender.engine.coupling.PartnerClassification` on the screen."""
    import pandas as pd

    df = res.partners
    name = res.counts.columns[0]
    if df.empty:
        click.echo(_("{city} has no recorded partners.").format(city=name))
        return
    click.echo(
        _("Existing partners of {city} ({n}), classified from {city}'s side:").format(
            city=name, n=len(df)
        )
    )

    def ratio(r, c) -> str:
        return _("n/a") if pd.isna(r) else f"{format_number(r, 2)}× {class_label(c)}"

    view = pd.DataFrame(
        {
            _("partner"): df["name"] + ", " + df["country_code"],
            _("coupling"): df["coupling"],
            _("size"): df["size_class"].map(class_label),
        }
    )
    for ind in ("population", "area_km2", "gdp_per_capita_usd"):
        view[_(INDICATOR_SHORT[ind])] = [
            ratio(r, c) for r, c in zip(df[f"{ind}_ratio"], df[f"{ind}_class"])
        ]
    view[_("HDI")] = [
        _("n/a") if pd.isna(r) else f"{format_signed(r, 3)} {class_label(c)}"
        for r, c in zip(df["hdi_diff"], df["hdi_class"])
    ]
    view[_("source")] = df["source"]
    echo_table(view)
    click.echo("")
    click.echo(_("Counts (the paper's Table 2: foreign partner bigger / smaller / same size):"))
    echo_table(_small_table(res.counts), wide=False)
    click.echo("")
    click.echo(_("By indicator:"))
    echo_table(_small_table(res.by_indicator), wide=False)


def _small_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A counts table with translated row and column labels (classes, indicators)."""
    view = frame.copy()
    view.columns = [
        class_label(str(c)) if str(c) in CLASS_WORDS else indicator_label(str(c))
        for c in view.columns
    ]
    labels = [
        class_label(str(i))
        if str(i) in CLASS_WORDS
        else _("Total")
        if str(i) == "Total"
        else indicator_label(str(i))
        for i in view.index
    ]
    view.insert(0, "", labels)
    return view.reset_index(drop=True)


@command()
@click.argument("city")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    required=True,
    help="Two or more presets or TOML files: --scenario small-big --scenario symmetric.",
)
@click.option("--top", default=10, show_default=True, type=int)
@click.option("--method", type=click.Choice(["wsm", "topsis"]), default="wsm", show_default=True)
@click.option("--country", default=None, help="Country of the local city, if its name is shared.")
@user_data_option
@output_options
@handle_errors
def compare(city, scenarios, top, method, country, user_data, fmt, output, force) -> None:
    """Shortlists of CITY under several scenarios side by side, with what moves and why."""
    from recommender import app

    if len(scenarios) < 2:
        raise UserError(
            "compare needs at least two --scenario options, e.g. --scenario small-big "
            "--scenario symmetric"
        )
    tables = app.load_cities(user_data)
    row = app.local_city(city, country, cities=tables)
    res = app.compare_scenarios(
        row, list(scenarios), top=top, method=method, country=country, cities=tables
    )
    say_note(row)
    if output:
        from recommender.io.comparison import write_comparison

        path = write_comparison(res, output, fmt, force=force)
        click.echo(_("Wrote the comparison to {path}").format(path=path), err=True)
    elif (fmt or "table") == "table":
        print_comparison(res, top)
    elif fmt == "xlsx":
        no_binary_on_screen()
    else:
        from recommender.io.comparison import render_comparison

        out = render_comparison(res, fmt)
        click.echo(out, nl=not out.endswith("\n"))


def print_comparison(res, top: int) -> None:
    """A :class:`~recommender.engine.compare.Comparison` on the screen."""
    import pandas as pd

    from recommender.io.comparison import comparison_title, side_by_side_table

    a, b = res.names[0], res.names[1]
    click.echo(comparison_title(res))
    click.echo("")
    table, headers = side_by_side_table(res)
    view = table.rename(columns=headers)
    for n in res.names:
        col = headers[f"score_{n}"]
        view[col] = view[col].map(lambda v: "" if pd.isna(v) else format_number(v, 3))
    echo_table(view)
    click.echo("")
    click.echo(_("Overlap at {top} (share of the shortlist in common):").format(top=top))
    echo_table(_matrix(res.overlap, 2), wide=False)
    click.echo("")
    click.echo(
        _("Rank correlation of scores over the {n} common candidates (Spearman):").format(
            n=format_number(res.attrs.get("n_common_pool", 0))
        )
    )
    echo_table(_matrix(res.spearman, 3), wide=False)
    click.echo("")
    mv = res.movers.head(10)
    if len(mv):
        click.echo(
            _("Candidates that move most from {a} to {b} (positive: climbs in {b}):").format(
                a=a, b=b
            )
        )
        view = pd.DataFrame(
            {
                _("city"): mv["name"] + ", " + mv["country_code"],
                _("rank {scenario}").format(scenario=a): mv[f"rank {a}"].map(_rank_text),
                _("rank {scenario}").format(scenario=b): mv[f"rank {b}"].map(_rank_text),
                _("move"): mv["move"].map(lambda v: "" if pd.isna(v) else format_signed(int(v), 0)),
                _("driver"): [indicator_label(d) for d in mv["driver"]],
                _("contribution change"): mv["driver_change"].map(lambda v: format_signed(v, 3)),
            }
        )
        echo_table(view)


def _rank_text(v) -> str:
    import pandas as pd

    return _("excluded") if pd.isna(v) else format_number(int(v))


def _matrix(frame: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """A small scenario-by-scenario matrix with numbers in the language in force."""
    import pandas as pd

    view = frame.map(lambda v: _("n/a") if pd.isna(v) else format_number(v, decimals))
    view.insert(0, "", list(frame.index))
    return view.reset_index(drop=True)
