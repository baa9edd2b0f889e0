"""``sistercity batch`` and ``sistercity atlas``: many local cities at once, into one file.

``batch`` shortlists a list of Indonesian local cities (the same options as ``shortlist``);
``atlas`` computes the top partners of every city in the table, in chunks over every core.
Both show a progress bar on stderr when it is a terminal.
"""

from __future__ import annotations

import sys

import click

from recommender.cli.options import (
    command,
    engine_options,
    handle_errors,
    progress_bar,
    recommend_kwargs,
    user_data_only,
)
from recommender.i18n import _, ngettext


def output_file(formats: list[str], help: str):
    """``-o/--output`` (required, a file), ``--format`` (one of ``formats``) and ``--force``."""

    def wrap(f):
        f = click.option("--force", is_flag=True, help="Overwrite an existing output file.")(f)
        f = click.option("--format", "fmt", type=click.Choice(formats), default=None)(f)
        return click.option(
            "-o", "--output", type=click.Path(dir_okay=False), required=True, help=help
        )(f)

    return wrap


@command()
@click.option(
    "--local-cities",
    "--cities",
    "which",
    default="all-kota",
    show_default=True,
    help="Which local cities: all-kota, capitals, all-local, or a CSV file with a city_id or "
    "name column (also ID, City, Kota or Nama Kota; comma or semicolon separated). --cities "
    "is the same option: on every "
    "command it means which cities, never a data file (that is --user-data).",
)
@click.option("--top", default=10, show_default=True, type=int)
@engine_options
@user_data_only
@output_file(
    ["csv", "json", "xlsx", "md", "html"], "The one file to write (csv, json, xlsx, md, html)."
)
@handle_errors
def batch(which, top, user_data, output, fmt, force, **kw) -> None:
    """Shortlists for many local cities at once, in one file."""
    from recommender import app
    from recommender.engine.batch import batch_recommend
    from recommender.io import export

    tables = app.load_cities(user_data)
    export.check_target(output, force)  # refuse before the work, not after
    kwargs = recommend_kwargs(kw)
    kwargs.pop("country")

    df, skipped = batch_recommend(
        which,
        kw["scenario"],
        cities=tables,
        top=top,
        progress=lambda items: progress_bar(items, _("Shortlisting")),
        **kwargs,
    )
    for name, why in skipped:
        click.echo(_("Skipped {city}: {reason}").format(city=name, reason=why), err=True)
    path = app.write_table(df, output, fmt, force=force, cities=tables)
    n = df["local_city_id"].nunique() if len(df) else 0
    click.echo(
        ngettext(
            "Wrote {rows} rows for {n} local city to {path}",
            "Wrote {rows} rows for {n} local cities to {path}",
            n,
        ).format(rows=len(df), n=n, path=path),
        err=True,
    )


@command()
@click.option("--top", default=10, show_default=True, type=int, help="Partners per city.")
@engine_options
@user_data_only
@output_file(["csv", "parquet"], "The file to write: .csv (always) or .parquet (needs pyarrow).")
@click.option(
    "--jobs",
    "n_jobs",
    default=-1,
    show_default=True,
    type=int,
    help="Worker processes (-1: every core; 1: no workers).",
)
@click.option(
    "--chunk-size",
    default=512,
    show_default=True,
    type=click.IntRange(min=1),
    help="Local cities per chunk (the unit of work and of memory).",
)
@click.option("--why", is_flag=True, help="Add the plain-language explanation of every row.")
@click.option(
    "--local",
    "local_ids",
    multiple=True,
    type=int,
    help="Only these local cities (GeoNames ids; repeatable), for a partial run.",
)
@handle_errors
def atlas(top, user_data, output, fmt, force, n_jobs, chunk_size, why, local_ids, **kw) -> None:
    """The top partners of every city in the table (any country), in one file.

    Each city is the local city in turn and gets the shortlist `sistercity shortlist` would
    give it with the same options, ranked by strategy fit. Runs in chunks over every core;
    memory stays bounded. `sistercity explain CITY CANDIDATE` explains any row.
    """
    from recommender import app
    from recommender.engine.atlas import iter_atlas
    from recommender.io import export
    from recommender.io.stream import stream_format, write_chunks

    fmt = stream_format(output, fmt)  # refuse a bad format before the work, not after

    export.check_target(output, force)
    tables = app.load_cities(user_data) if user_data else None
    kwargs = recommend_kwargs(kw)
    skipped: list[int] = []
    bar = None
    if sys.stderr.isatty():
        bar = click.progressbar(length=1, label=_("Atlas"), file=sys.stderr, show_pos=True)

    def on_chunk(done: int, total: int) -> None:
        if bar is not None:
            bar.length = total
            bar.update(done - bar.pos)

    def rows():
        for part, skip in iter_atlas(
            kw["scenario"],
            cities=tables,
            local_ids=list(local_ids) or None,
            chunk_size=chunk_size,
            n_jobs=n_jobs,
            why=why,
            on_chunk=on_chunk,
            top=top,
            **kwargs,
        ):
            skipped.extend(skip)
            yield part

    try:
        n = write_chunks(rows(), output, fmt, force=force)
    finally:
        if bar is not None:
            bar.render_finish()
    if skipped:
        click.echo(
            _("{n} cities got no shortlist (the filters left none)").format(n=len(skipped)),
            err=True,
        )
    click.echo(
        ngettext("Wrote {n} row to {path}", "Wrote {n} rows to {path}", n).format(n=n, path=output),
        err=True,
    )
