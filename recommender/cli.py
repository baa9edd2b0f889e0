"""The ``sistercity`` command line: thin over the library.

Each command parses its options, calls one library function and prints. Any
:class:`~recommender.errors.RecommenderError` becomes a one-line ``Error: ...`` message and
exit code 2; nothing is half-written.
"""

from __future__ import annotations

import functools
import json
import sys

import click
import pandas as pd

from recommender import data as data_mod
from recommender.errors import RecommenderError
from recommender.indicators import BY_NAME, INDICATOR_NAMES

USER_ERROR_EXIT = 2


class UserError(click.ClickException):
    """A user's mistake: printed as one line, exit code 2."""

    exit_code = USER_ERROR_EXIT


def handle_errors(fn):
    """Turn library errors into one-line messages with exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RecommenderError as exc:
            raise UserError(str(exc)) from None

    return wrapper


def user_data_option(fn):
    """``--cities FILE``: the user's own indicator values (shared by data commands)."""
    return click.option(
        "--cities",
        "--user-data",
        "user_data",
        type=click.Path(dir_okay=False),
        default=None,
        help="CSV of your own indicator values (city_id or name+country, then any of "
        "population, area_km2, gdp_per_capita_usd, hdi; optional year). They override the "
        "packaged values and are marked 'user'.",
    )(fn)


def country_option(fn):
    return click.option(
        "--country",
        default=None,
        help="Country (ISO code or name) to pick among same-named cities.",
    )(fn)


def load_tables(user_data: str | None) -> pd.DataFrame:
    cities = data_mod.load_cities()
    if user_data:
        cities = data_mod.apply_user_cities(cities, user_data)
    return cities


def fmt_value(ind: str, v: float) -> str:
    if pd.isna(v):
        return "—"
    if ind == "hdi":
        return f"{v:.3f}"
    if ind == "gdp_per_capita_usd":
        return f"US$ {v:,.0f}"
    if ind == "area_km2":
        return f"{v:,.1f} km²"
    return f"{v:,.0f}"


def _plain(value):
    """numpy / pandas scalars to plain Python for JSON; NaN to null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def echo_json(obj) -> None:
    def clean(o):
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, list):
            return [clean(v) for v in o]
        return _plain(o)

    click.echo(json.dumps(clean(obj), indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="sistercity")
def cli() -> None:
    """Find foreign sister-city partners for Indonesian cities.

    Start with `sistercity shortlist Medan`. Every figure carries its level (city, region,
    country, imputed, user) and source; `sistercity data info` tells what the data holds.
    """


# ---------------------------------------------------------------------------------------
# cities


@cli.group()
def cities() -> None:
    """Look up cities and their indicators."""


@cities.command("search")
@click.argument("text")
@country_option
@click.option("--limit", default=10, show_default=True, type=int, help="How many matches to show.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@handle_errors
def cities_search(text: str, country: str | None, limit: int, fmt: str) -> None:
    """Find cities by name, alternate name or a close spelling."""
    res = data_mod.search_cities(text, limit=limit, country=country)
    if fmt == "json":
        echo_json(res.to_dict(orient="records"))
        return
    if fmt == "csv":
        click.echo(res.to_csv(index=False), nl=False)
        return
    if res.empty:
        click.echo(f'No city matches "{text}".')
        return
    exact = res["match"] != "similar"
    if not exact.any():
        click.echo(f'No exact match for "{text}". Did you mean:')
    shown = res.assign(
        population=res["population"].map(lambda v: fmt_value("population", v)),
        local=res["local_role"].where(res["is_local"], ""),
    )[["match", "city_id", "name", "country_code", "admin1_name", "population", "local"]]
    click.echo(shown.to_string(index=False))


@cities.command("show")
@click.argument("city")
@country_option
@user_data_option
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@handle_errors
def cities_show(city: str, country: str | None, user_data: str | None, fmt: str) -> None:
    """All indicators of CITY with level, source and year, and its existing partners."""
    tables = load_tables(user_data)
    row = data_mod.resolve_city(city, country, tables)
    partners = data_mod.partners_of(int(row["city_id"]), cities=tables)
    ind = data_mod.indicator_frame(row)
    if fmt == "json":
        echo_json(
            {
                "city": {
                    k: (None if pd.isna(v) else v) for k, v in row[data_mod.CITY_ID_COLUMNS].items()
                },
                "indicators": ind.to_dict(orient="records"),
                "partners": partners.to_dict(orient="records"),
            }
        )
        return
    admin = f", {row['admin1_name']}" if row["admin1_name"] else ""
    click.echo(f"{row['name']} ({row['country_name']}{admin})  id {row['city_id']}")
    extras = []
    if row["is_local"]:
        extras.append(f"Indonesian {row['local_role']}, Kemendagri code {row['kemendagri_code']}")
    if row["is_capital"]:
        extras.append("national capital")
    extras.append(f"{row['latitude']:.4f}, {row['longitude']:.4f}")
    click.echo("  " + "; ".join(extras))
    click.echo("")
    for r in ind.itertuples():
        label = BY_NAME[r.indicator].label
        year = "" if r.year is None else str(r.year)
        click.echo(f"  {label:<24} {fmt_value(r.indicator, r.value):>16}  [{r.level}, {year}]")
        click.echo(f"  {'':<24} {'':>16}  {r.source}")
    click.echo("")
    if partners.empty:
        click.echo("Existing partners: none recorded.")
    else:
        click.echo(f"Existing partners ({len(partners)}):")
        for p in partners.itertuples():
            src = "" if p.source == "wikipedia-2026" else f"  [{p.source}]"
            click.echo(f"  {p.name}, {p.country_name} (id {p.city_id}){src}")


# ---------------------------------------------------------------------------------------
# data


@cli.group("data")
def data_group() -> None:
    """What the packaged data holds."""


@data_group.command("info")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@handle_errors
def data_info(fmt: str) -> None:
    """Counts, coverage by indicator and level, sources and data date."""
    info = data_mod.data_info()
    if fmt == "json":
        echo_json(info)
        return
    click.echo(f"Data folder: {info['data_dir']}")
    click.echo(f"Data date:   {info['data_date']}")
    click.echo(
        f"Cities:      {info['cities']:,} in {info['countries']} countries; "
        f"{info['local_cities']} Indonesian local cities ({info['kota']} kota, "
        f"{info['provincial_capitals']} provincial capitals)"
    )
    by_src = ", ".join(f"{k} {v:,}" for k, v in info["ties_by_source"].items())
    click.echo(
        f"Ties:        {info['ties']:,} partnerships ({info['ties_cross_country']:,} between "
        f"countries); by source: {by_src}"
    )
    click.echo("")
    click.echo("Coverage by indicator and data level (number of cities):")
    levels = ["city", "region", "country", "imputed", "user", "missing"]
    header = f"  {'indicator':<26}" + "".join(f"{lv:>10}" for lv in levels)
    click.echo(header)
    for ind in INDICATOR_NAMES:
        cov = info["coverage"][ind]
        click.echo(
            f"  {BY_NAME[ind].label:<26}" + "".join(f"{cov.get(lv, 0):>10,}" for lv in levels)
        )
    click.echo("")
    click.echo("Sources and credits: data/SOURCES.md (GeoNames CC BY 4.0; World Bank CC BY 4.0;")
    click.echo("UNDP HDR 2025; Global Data Lab SHDI; BPS; Kemendagri/BIG; Wikipedia CC BY-SA 4.0).")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    try:
        cli.main(args=argv, prog_name="sistercity", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["cli", "main"]
