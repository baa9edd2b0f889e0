"""What the tool knows: ``sistercity cities search|show``, ``sistercity data info|cache`` and
``sistercity scenarios list|show``.
"""

from __future__ import annotations

import click

from recommender.cli.options import (
    country_option,
    echo_json,
    echo_table,
    fmt_value,
    group,
    handle_errors,
    user_data_option,
)
from recommender.data.countries import country_display_name
from recommender.data.indicators import INDICATOR_NAMES
from recommender.i18n import (
    N_,
    _,
    format_number,
    format_year,
    indicator_label,
    level_label,
)
from recommender.i18n.texts import value_label

# --------------------------------------------------------------------------- cities

ROLE_WORDS = (N_("kota"), N_("provincial capital"))
"""The parts of the cities table's ``local_role`` (``kota; provincial capital``)."""


def local_role(text: object) -> str:
    """An Indonesian local city's role in the language in force."""
    return "; ".join(_(part) for part in str(text or "").split("; ") if part)


@group()
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
    import pandas as pd

    from recommender import app

    res = pd.DataFrame(app.find_cities(text, limit=limit, country=country))
    if fmt == "json":
        echo_json(res.to_dict(orient="records"))
        return
    if fmt == "csv":
        from recommender.io.export import to_csv

        click.echo(to_csv(res), nl=False)
        return
    if res.empty:
        click.echo(_('No city matches "{text}".').format(text=text))
        return
    exact = res["match"] != "similar"
    if not exact.any():
        click.echo(_('No exact match for "{text}". Did you mean:').format(text=text))
    match_words = {
        "name": _("name"),
        "alternate name": _("alternate name"),
        "similar": _("similar"),
    }
    echo_table(
        pd.DataFrame(
            {
                _("match"): res["match"].map(lambda m: match_words.get(m, m)),
                "id": res["city_id"],
                _("city"): res["name"],
                _("country"): res["country_code"],
                _("region"): res["admin1_name"],
                _("population"): res["population"].map(lambda v: fmt_value("population", v)),
                _("local"): res["local_role"]
                .map(local_role)
                .where(res["is_local"].astype(bool), ""),
            }
        )
    )


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
    import pandas as pd

    from recommender import app
    from recommender.data import tables as data_mod

    tables = app.load_cities(user_data)
    row = app.local_city(city, country, cities=tables)
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
    country = country_display_name(row["country_code"], row["country_name"])
    click.echo(f"{row['name']} ({country}{admin})  id {row['city_id']}")
    extras = []
    if row["is_local"]:
        extras.append(
            _("Indonesian {role}, Kemendagri code {code}").format(
                role=local_role(row["local_role"]), code=row["kemendagri_code"]
            )
        )
    if row["is_capital"]:
        extras.append(_("national capital"))
    extras.append(f"{row['latitude']:.4f}, {row['longitude']:.4f}")
    click.echo("  " + "; ".join(extras))
    click.echo("")
    for r in ind.itertuples():
        label = indicator_label(r.indicator)
        year = "" if r.year is None or pd.isna(r.year) else format_year(r.year)
        click.echo(
            f"  {label:<26} {fmt_value(r.indicator, r.value):>16}  [{level_label(r.level)}, {year}]"
        )
        click.echo(f"  {'':<26} {'':>16}  {r.source}")
    click.echo("")
    if partners.empty:
        click.echo(_("Existing partners: none recorded."))
    else:
        click.echo(_("Existing partners ({n}):").format(n=len(partners)))
        for p in partners.itertuples():
            src = "" if p.source == "wikipedia-2026" else f"  [{p.source}]"
            country = country_display_name(p.country_code, p.country_name)
            click.echo(f"  {p.name}, {country} (id {p.city_id}){src}")


# --------------------------------------------------------------------------- data


@group("data")
def data_group() -> None:
    """What the packaged data holds."""


@data_group.command("info")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@handle_errors
def data_info(fmt: str) -> None:
    """Counts, coverage by indicator and level, sources and data date."""
    from recommender.data import tables as data_mod

    info = data_mod.data_info()
    if fmt == "json":
        echo_json(info)
        return
    n = format_number
    lines: list[tuple[str, str]] = [
        (_("Data folder"), info["data_dir"]),
        (_("Data date"), info["data_date"]),
        (
            _("Cities"),
            _(
                "{n} in {countries} countries; {local} Indonesian local cities ({kota} kota, "
                "{capitals} provincial capitals)"
            ).format(
                n=n(info["cities"]),
                countries=n(info["countries"]),
                local=n(info["local_cities"]),
                kota=n(info["kota"]),
                capitals=n(info["provincial_capitals"]),
            ),
        ),
        (
            _("Ties"),
            _("{n} partnerships ({cross} between countries); by source: {sources}").format(
                n=n(info["ties"]),
                cross=n(info["ties_cross_country"]),
                sources=", ".join(f"{k} {n(v)}" for k, v in info["ties_by_source"].items()),
            ),
        ),
    ]
    cand = info.get("candidates", {})
    if cand:
        kinds = ", ".join(f"{value_label('kind', k)} {n(v)}" for k, v in cand["by_kind"].items())
        elig = ", ".join(
            f"{value_label('eligibility', k)} {n(v)}"
            for k, v in cand["cities_by_eligibility"].items()
        )
        lines.append((_("Kinds"), kinds))
        lines.append(
            (_("Eligibility"), _("cities by their country's status: {counts}").format(counts=elig))
        )
    rules = info.get("kinds", {}).get("by_rule", {})
    if rules:
        lines.append(
            (
                _("Kind rules"),
                "; ".join(
                    f"`{rule}` "
                    + ", ".join(f"{value_label('kind', k)} {n(v)}" for k, v in by.items())
                    for rule, by in rules.items()
                ),
            )
        )
    width = max(len(label) for label, _value in lines) + 2
    for label, value in lines:
        click.echo(f"{label + ':':<{width}}{value}")
    click.echo("")
    click.echo(_("Coverage by indicator and data level (number of cities):"))
    levels = ["city", "region", "country", "imputed", "user", "missing"]
    words = [level_label(lv) for lv in levels]
    cw = max(10, *(len(w) + 2 for w in words))
    head = _("indicator")
    click.echo(f"  {head:<26}" + "".join(f"{w:>{cw}}" for w in words))
    for ind in INDICATOR_NAMES:
        cov = info["coverage"][ind]
        click.echo(
            f"  {indicator_label(ind):<26}" + "".join(f"{n(cov.get(lv, 0)):>{cw}}" for lv in levels)
        )
    click.echo("")
    click.echo(
        _(
            "Sources and credits: data/SOURCES.md (GeoNames CC BY 4.0; World Bank CC BY 4.0; "
            "UNDP HDR 2025; Global Data Lab SHDI; BPS; Kemendagri/BIG; Wikipedia CC BY-SA 4.0)."
        )
    )


@data_group.command("cache")
@click.option(
    "--clear",
    is_flag=True,
    help=N_("Remove the tool's cache files (they are rebuilt when needed; the next shortlist "
            "is slower once)."),
)  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@handle_errors
def data_cache(clear: bool, fmt: str) -> None:
    """Where the cache folder is and how much room its files take; --clear empties it.

    The folder holds fast copies of the packaged tables and each local city's feasibility
    scores; every release adds files and none is replaced, so it only grows.
    """
    from recommender.data.cache import cache_dir
    from recommender.data.cache_files import cache_report, clear_cache_files
    from recommender.data.tables import data_dir

    folder = cache_dir(data_dir())
    removed = clear_cache_files(folder) if clear else None
    report = cache_report(folder)
    if removed is not None:
        report["removed"] = {"files": removed[0], "bytes": removed[1]}
    if fmt == "json":
        echo_json(report)
        return
    if folder is None:
        click.echo(_("No cache folder: SISTERCITY_CACHE_DIR is off, or no folder is writable."))
        return
    if removed is not None:
        click.echo(
            _("Removed {files} files ({size}) from {folder}").format(
                files=format_number(removed[0]), size=_megabytes(removed[1]), folder=folder
            )
        )
    click.echo(
        _("Cache folder {folder}: {files} files, {size}").format(
            folder=folder, files=format_number(report["files"]), size=_megabytes(report["bytes"])
        )
    )
    labels = {
        "tables": _("copies of the packaged tables"),
        "checksums": _("recorded checksums of the tables' files"),
        "feasibility": _("feasibility scores of local cities"),
        "unfinished": _("unfinished writes"),
    }
    for kind, row in report["kinds"].items():
        if row["files"]:
            click.echo(
                f"  {labels[kind]}: {format_number(row['files'])}, {_megabytes(row['bytes'])}"
            )
    if removed is None and report["files"]:
        click.echo(_("Clear it with: sistercity data cache --clear"))


def _megabytes(n: int) -> str:
    return _("{mb} MB").format(mb=format_number(n / 1e6, 1))


# --------------------------------------------------------------------------- scenarios


@group()
def scenarios() -> None:
    """The scenario presets, and how to write your own."""


@scenarios.command("list")
@handle_errors
def scenarios_list() -> None:
    """The presets with a one-line description each."""
    from recommender.engine.scenarios import DEFAULT_SCENARIO, PRESETS

    for name, sc in PRESETS.items():
        mark = " " + _("(default)") if name == DEFAULT_SCENARIO else ""
        click.echo(f"{name + mark:<24} {_(sc.description)}")
    click.echo("")
    click.echo(
        _(
            "`sistercity scenarios show NAME` prints a preset as TOML to copy and edit; "
            "use your file with `--scenario my.toml`."
        )
    )


@scenarios.command("show")
@click.argument("name")
@handle_errors
def scenarios_show(name: str) -> None:
    """A preset (or a TOML file) in full, as an editable TOML scenario file."""
    import dataclasses

    from recommender.engine.scenarios import PRESETS, load_scenario

    sc = load_scenario(name)
    if sc.name in PRESETS and sc == PRESETS[sc.name]:  # a preset's words are in the catalogue
        sc = dataclasses.replace(sc, description=_(sc.description), rationale=_(sc.rationale))
    for line in (sc.rationale or "").splitlines() or [""]:
        click.echo(f"# {line}".rstrip())
    click.echo(sc.to_toml())
