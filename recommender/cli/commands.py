"""The ``sistercity`` command line: thin over the library.

Each command parses its options, calls one library function and prints. Any
:class:`~recommender.errors.RecommenderError` becomes a one-line ``Error: ...`` message and
exit code 2; nothing is half-written.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from types import SimpleNamespace

import click
import pandas as pd

from recommender.data import tables as data_mod
from recommender.data.indicators import BY_NAME, INDICATOR_NAMES
from recommender.errors import RecommenderError
from recommender.i18n import (
    LANGUAGES,
    N_,
    _,
    class_label,
    format_number,
    format_signed,
    format_year,
    indicator_label,
    language,
    level_label,
    ngettext,
    normalize_language,
)
from recommender.i18n.texts import INDICATOR_SHORT

USER_ERROR_EXIT = 2
CLASS_WORDS = ("Big", "Small", "Symmetry", "Unknown")
_LANG_KEY = "sistercity.lang"


def _lang_callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    try:
        ctx.meta[_LANG_KEY] = normalize_language(value)
    except RecommenderError as exc:
        raise click.BadParameter(str(exc)) from None


def _lang_param() -> click.Option:
    return click.Option(
        ["--lang"],
        default=None,
        expose_value=False,
        is_eager=True,
        callback=_lang_callback,
        metavar="|".join(LANGUAGES),
        help="Language of the output: en (English) or id (Bahasa Indonesia). "
        "Default: from the locale (LANG).",
    )


class LangCommand(click.Command):
    """A command with ``--lang``; the language holds while the command runs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params.append(_lang_param())

    def invoke(self, ctx: click.Context):
        with language(ctx.meta.get(_LANG_KEY)):
            return super().invoke(ctx)


class LangGroup(click.Group):
    """A group whose commands and subgroups all take ``--lang`` (before or after the name)."""

    command_class = LangCommand
    group_class = type  # subgroups are LangGroups too

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params.append(_lang_param())

    def invoke(self, ctx: click.Context):
        with language(ctx.meta.get(_LANG_KEY)):
            return super().invoke(ctx)


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


def _renamed(old: str, new: str, meaning: str):
    """A hidden option under an old name that says what it is called now (exit 2)."""

    def fail(ctx: click.Context, _param: click.Parameter, value) -> None:
        if value is None or value == ():
            return
        raise click.UsageError(
            _("{old} is now called {new} ({meaning}); run again with {new} {value}").format(
                old=old, new=new, meaning=meaning, value=value
            ),
            ctx=ctx,
        )

    return click.option(old, hidden=True, expose_value=False, callback=fail, default=None)


def user_data_only(fn):
    """``--user-data FILE``: the user's own indicator values."""
    return click.option(
        "--user-data",
        "user_data",
        type=click.Path(dir_okay=False),
        default=None,
        help="CSV of your own indicator values (city_id or name+country, then any of "
        "population, area_km2, gdp_per_capita_usd, hdi; optional year). They override the "
        "packaged values and are marked 'user'. Comma or semicolon separated.",
    )(fn)


def user_data_option(fn):
    """``--user-data FILE`` on the data commands, where ``--cities`` used to mean it."""
    fn = _renamed("--cities", "--user-data", N_("a CSV of your own indicator values"))(fn)
    return user_data_only(fn)


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
    from recommender.i18n import format_money, format_number

    if pd.isna(v):
        return "—"
    if ind == "hdi":
        return format_number(v, 3)
    if ind == "gdp_per_capita_usd":
        return format_money(v)
    if ind == "area_km2":
        return format_number(v, 1) + " km²"
    return format_number(v, 0)


def echo_json(obj) -> None:
    from recommender.io.export import to_jsonable

    click.echo(json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False))


@click.group(
    cls=LangGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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
        extras.append(
            _("Indonesian {role}, Kemendagri code {code}").format(
                role=row["local_role"], code=row["kemendagri_code"]
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
    cand = info.get("candidates", {})
    if cand:
        kinds = ", ".join(f"{k} {v:,}" for k, v in cand["by_kind"].items())
        elig = ", ".join(f"{k} {v:,}" for k, v in cand["cities_by_eligibility"].items())
        click.echo(f"Kinds:       {kinds}")
        click.echo(f"Eligibility: cities by their country's status: {elig}")
    rules = info.get("kinds", {}).get("by_rule", {})
    if rules:
        click.echo(
            "Kind rules:  "
            + "; ".join(
                f"{rule} " + ", ".join(f"{k} {v:,}" for k, v in by.items())
                for rule, by in rules.items()
            )
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


# ---------------------------------------------------------------------------------------
# shared engine options


def _split_codes(values: tuple[str, ...]) -> list[str] | None:
    """``--countries JP,KR --countries AU`` -> ["JP", "KR", "AU"]."""
    out = [v.strip() for item in values for v in item.split(",") if v.strip()]
    return out or None


def _pairs(values: tuple[str, ...], option: str, example: str, number: bool) -> dict:
    out = {}
    for item in values:
        key, sep, val = item.partition("=")
        if not sep or not key.strip() or not val.strip():
            raise UserError(f"{option} expects INDICATOR=VALUE, e.g. {example}; got {item!r}")
        key = key.strip()
        if key not in INDICATOR_NAMES:
            raise UserError(
                f"{option}: unknown indicator {key!r}; allowed: {', '.join(INDICATOR_NAMES)}"
            )
        if number:
            try:
                out[key] = float(val.replace(",", ""))
            except ValueError:
                raise UserError(f"{option} {key}: {val!r} is not a number") from None
        else:
            out[key] = val.strip()
    return out


def engine_options(fn):
    """Scenario, method and every filter of ``recommend``."""
    opts = [
        click.option(
            "--scenario",
            "scenario",
            default="small-big",
            show_default=True,
            help="A preset (see `sistercity scenarios list`) or a scenario TOML file.",
        ),
        click.option(
            "--method",
            type=click.Choice(["wsm", "topsis"]),
            default="wsm",
            show_default=True,
            help="Weighted sum (explainable) or TOPSIS.",
        ),
        click.option(
            "--country",
            default=None,
            help="Country of the local city, to pick among same-named cities.",
        ),
        click.option(
            "--countries",
            "countries",
            multiple=True,
            help="Only candidates in these countries (ISO codes or names, comma-separated).",
        ),
        click.option(
            "--exclude-countries",
            "exclude_countries",
            multiple=True,
            help="Never candidates in these countries.",
        ),
        click.option(
            "--continent",
            "continents",
            multiple=True,
            help="Only these continents: AF AS EU NA OC SA (repeatable).",
        ),
        click.option(
            "--min-population", type=float, default=None, help="Smallest candidate population."
        ),
        click.option(
            "--max-population", type=float, default=None, help="Largest candidate population."
        ),
        click.option(
            "--min-level",
            "min_level",
            multiple=True,
            metavar="INDICATOR=LEVEL",
            help="Data level at least this good, e.g. gdp_per_capita_usd=city or hdi=region.",
        ),
        click.option(
            "--max-per-country",
            type=int,
            default=None,
            help="At most this many candidates per country (default 2).",
        ),
        click.option(
            "--include-partners",
            is_flag=True,
            help="Keep existing partners (marked) instead of excluding them.",
        ),
        click.option("--include-domestic", is_flag=True, help="Allow Indonesian candidates too."),
        click.option(
            "--include-city-parts",
            is_flag=True,
            help="Keep parts of cities (boroughs, wards, districts), marked in the kind column.",
        ),
        click.option(
            "--include-ineligible",
            is_flag=True,
            help="Keep candidates in countries an Indonesian local government may not sign "
            "with (data/eligibility.csv), marked in the eligibility column.",
        ),
        click.option(
            "--set",
            "overrides",
            multiple=True,
            metavar="INDICATOR=VALUE",
            help="What-if value for the local city, e.g. gdp_per_capita_usd=12000.",
        ),
        click.option(
            "--feasibility/--no-feasibility",
            default=False,
            show_default=True,
            help="Add the learned probability that such a pair becomes partners.",
        ),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


def recommend_kwargs(kw: dict) -> dict:
    """CLI option values -> ``recommend`` keyword arguments."""
    return {
        "method": kw["method"],
        "country": kw["country"],
        "countries": _split_codes(kw["countries"]),
        "exclude_countries": _split_codes(kw["exclude_countries"]),
        "continents": _split_codes(kw["continents"]),
        "min_population": kw["min_population"],
        "max_population": kw["max_population"],
        "min_level": _pairs(kw["min_level"], "--min-level", "gdp_per_capita_usd=city", False)
        or None,
        "max_per_country": kw["max_per_country"],
        "include_partners": kw["include_partners"],
        "include_domestic": kw["include_domestic"],
        "include_city_parts": kw.get("include_city_parts", False),
        "include_ineligible": kw.get("include_ineligible", False),
        "overrides": _pairs(kw["overrides"], "--set", "gdp_per_capita_usd=12000", True) or None,
        "feasibility": True if kw["feasibility"] else None,
    }


def output_options(fn):
    fn = click.option("--force", is_flag=True, help="Overwrite an existing output file.")(fn)
    fn = click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False),
        default=None,
        help="Write to this file (format from the extension) instead of the screen.",
    )(fn)
    fn = click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "csv", "json", "xlsx", "md", "html"]),
        default=None,
        help="Output format (default: table on screen, or from -o).",
    )(fn)
    return fn


def emit(df: pd.DataFrame, fmt: str | None, output: str | None, force: bool, screen) -> None:
    """Write ``df`` to ``output`` atomically, or print it (``screen`` renders the table view)."""
    from recommender.io import export

    if output:
        meta = None
        if (fmt or export.format_from_path(output)) == "xlsx" and "city_id" in df.columns:
            from recommender.io.workbook import candidate_sources

            meta = {"candidate_sources": candidate_sources(df, data_mod.load_cities())}
        path = export.write(df, output, fmt, force=force, meta=meta)
        click.echo(
            ngettext("Wrote {n} row to {path}", "Wrote {n} rows to {path}", len(df)).format(
                n=len(df), path=path
            ),
            err=True,
        )
        return
    fmt = fmt or "table"
    if fmt == "table":
        screen()
    elif fmt == "xlsx":
        raise UserError(_("--format xlsx needs -o FILE.xlsx (it is a binary file)"))
    else:
        out = export.render(df, fmt)
        click.echo(out, nl=not out.endswith("\n"))


def _term_width() -> int:
    import shutil

    return max(80, shutil.get_terminal_size((120, 24)).columns)


def _cell(ratio: float, level: str, contribution: float, hdi: bool) -> str:
    from recommender.i18n import format_number, format_signed
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
    from recommender.engine.coupling import ratio_column
    from recommender.i18n import format_number
    from recommender.i18n.texts import INDICATOR_SHORT

    view = pd.DataFrame(
        {
            "#": df["rank"],
            _("city"): df["name"] + ", " + df["country_code"],
            _("score"): df["score"].map(lambda v: format_number(v, 3)),
            _("coupling"): df["coupling"],
        }
    )
    if "feasibility" in df.columns:
        view[_("feasib.")] = df["feasibility"].map(lambda v: format_number(v, 2))
        view[_("combined")] = df["combined"].map(lambda v: format_number(v, 3))
    for n in INDICATOR_NAMES:
        view[_(INDICATOR_SHORT[n])] = [
            _cell(r, lv, c, n == "hdi")
            for r, lv, c in zip(df[ratio_column(n)], df[f"{n}_level"], df[f"{n}_contribution"])
        ]
    view["km"] = df["distance_km"].map(lambda v: format_number(v, 0))
    if df["existing_partner"].any():
        view[_("partner")] = df["existing_partner"].map({True: _("yes"), False: ""})
    if "kind" in df.columns and (df["kind"] != "city").any():
        view[_("kind")] = df["kind"].where(df["kind"] != "city", "")
    if "eligibility" in df.columns and (df["eligibility"] != "yes").any():
        view[_("eligible")] = df["eligibility"].where(df["eligibility"] != "yes", "")
    return view


def left_out_notes(attrs: dict) -> list[str]:
    """What the pool rules left out, with the option that brings it back."""
    left = attrs.get("left_out") or {}
    notes = []
    from recommender.i18n import format_number

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


def print_shortlist(df: pd.DataFrame) -> None:
    from recommender.engine.scenarios import load_scenario
    from recommender.i18n import format_number
    from recommender.io import export

    a = df.attrs
    local = a["local_name"]
    scen = load_scenario(a["scenario"]) if a.get("scenario") in _preset_names() else None
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
    notes.append(_("at most {n} per country").format(n=f.get("max_per_country")))
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
    click.echo(export.render(shortlist_view(df), "table", width=_term_width()))
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
        blend = feas.get("blend", 0.3)
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
    click.echo("")
    for r in df.itertuples():
        click.echo(f"{r.rank:>3}. {r.name}: {r.why}")
        extra = getattr(r, "why_feasibility", None)
        if extra:
            click.echo(f"     {extra}")


def _preset_names() -> list[str]:
    from recommender.engine.scenarios import preset_names

    return preset_names()


# ---------------------------------------------------------------------------------------
# shortlist, explain, partners, compare, scenarios, batch


@cli.command()
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
    from recommender.engine.shortlist import recommend

    tables = load_tables(user_data)
    df = recommend(city, kw["scenario"], cities=tables, top=top, **recommend_kwargs(kw))
    emit(df, fmt, output, force, lambda: print_shortlist(df))


@cli.command()
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
    from recommender.engine.explain import explain as explain_pair

    ex = explain_pair(
        city,
        candidate,
        scenario,
        cities=load_tables(user_data),
        country=country,
        candidate_country=candidate_country,
        method=method,
        overrides=_pairs(overrides, "--set", "gdp_per_capita_usd=12000", True) or None,
    )
    if fmt == "json":
        echo_json({"summary": ex.summary, "breakdown": ex.breakdown.to_dict(orient="records")})
        return
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
    if s["eligible"]:
        click.echo(
            _("Rank {rank} of {n} eligible candidates (before the per-country cap)").format(
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


@cli.command()
@click.argument("city")
@click.option("--country", default=None, help="Country of the local city, if its name is shared.")
@user_data_option
@output_options
@handle_errors
def partners(city, country, user_data, fmt, output, force) -> None:
    """Existing partners of CITY, classified Big / Small / Symmetry (the paper's Table 2)."""
    from recommender.engine.coupling import classify_partners
    from recommender.io import export

    res = classify_partners(city, load_tables(user_data), country=country)
    df = res.partners

    def screen():
        from recommender.i18n import format_number, format_signed

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
        click.echo(export.render(view, "table", width=_term_width()))
        click.echo("")
        click.echo(_("Counts (the paper's Table 2: foreign partner bigger / smaller / same size):"))
        click.echo(_small_table(res.counts))
        click.echo("")
        click.echo(_("By indicator:"))
        click.echo(_small_table(res.by_indicator))

    emit(df, fmt, output, force, screen)


@cli.command()
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
    from recommender.engine.compare import compare as compare_scenarios
    from recommender.io import export

    if len(scenarios) < 2:
        raise UserError(
            "compare needs at least two --scenario options, e.g. --scenario small-big --scenario symmetric"
        )
    res = compare_scenarios(
        city,
        list(scenarios),
        top=top,
        cities=load_tables(user_data),
        method=method,
        country=country,
    )
    side = res.side_by_side.reset_index()
    side.attrs.update(res.attrs)

    def screen():
        from recommender.i18n import format_number, format_signed, indicator_label
        from recommender.io.comparison import comparison_title, side_by_side_table

        a, b = res.names[0], res.names[1]
        click.echo(comparison_title(res))
        click.echo("")
        table, headers = side_by_side_table(res)
        view = table.rename(columns=headers)
        for n in res.names:
            col = headers[f"score_{n}"]
            view[col] = view[col].map(lambda v: "" if pd.isna(v) else format_number(v, 3))
        click.echo(export.render(view, "table", width=_term_width()))
        click.echo("")
        click.echo(_("Overlap at {top} (share of the shortlist in common):").format(top=top))
        click.echo(_matrix(res.overlap, 2))
        click.echo("")
        click.echo(
            _("Rank correlation of scores over the {n} common candidates (Spearman):").format(
                n=format_number(res.attrs.get("n_common_pool", 0))
            )
        )
        click.echo(_matrix(res.spearman, 3))
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
                    _("move"): mv["move"].map(
                        lambda v: "" if pd.isna(v) else format_signed(int(v), 0)
                    ),
                    _("driver"): [indicator_label(d) for d in mv["driver"]],
                    _("contribution change"): mv["driver_change"].map(
                        lambda v: format_signed(v, 3)
                    ),
                }
            )
            click.echo(export.render(view, "table", width=_term_width()))

    if output:
        from recommender.io.comparison import write_comparison

        path = write_comparison(res, output, fmt, force=force)
        click.echo(_("Wrote the comparison to {path}").format(path=path), err=True)
        return
    if (fmt or "table") == "table":
        screen()
    else:
        _print_comparison(res, fmt)


def _print_comparison(res, fmt: str) -> None:
    from recommender.io.comparison import render_comparison

    if fmt == "xlsx":
        raise UserError(_("--format xlsx needs -o FILE.xlsx (it is a binary file)"))
    out = render_comparison(res, fmt)
    click.echo(out, nl=not out.endswith("\n"))


def _small_table(frame: pd.DataFrame) -> str:
    """A counts table with translated row and column labels (classes, indicators)."""
    from recommender.io import export

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
    return export.render(view.reset_index(drop=True), "table")


def _rank_text(v) -> str:
    from recommender.i18n import format_number

    return _("excluded") if pd.isna(v) else format_number(int(v))


def _matrix(frame: pd.DataFrame, decimals: int) -> str:
    """A small scenario-by-scenario matrix with numbers in the language in force."""
    from recommender.i18n import format_number
    from recommender.io import export

    view = frame.map(lambda v: _("n/a") if pd.isna(v) else format_number(v, decimals))
    view.insert(0, "", list(frame.index))
    return export.render(view.reset_index(drop=True), "table")


@cli.group()
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
    from recommender.engine.scenarios import load_scenario

    sc = load_scenario(name)
    for line in (sc.rationale or "").splitlines() or [""]:
        click.echo(f"# {line}".rstrip())
    click.echo(sc.to_toml())


def progress_bar(items, label: str):
    """Iterate ``items`` with a progress bar on stderr when stderr is a terminal.

    The bar is a context manager (click requires ``with``); results go to stdout or a file,
    so piping or redirecting stdout never mixes the bar into them.
    """
    if not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label=label, file=sys.stderr) as bar:
        yield from bar


@cli.command()
@click.option(
    "--local-cities",
    "which",
    default="all-kota",
    show_default=True,
    help="Which local cities: all-kota, capitals, all-local, or a CSV file with a city_id or "
    "name column (comma or semicolon separated).",
)
@_renamed(
    "--cities",
    "--local-cities",
    N_("which local cities: all-kota, capitals, all-local or a CSV of names or ids"),
)
@click.option("--top", default=10, show_default=True, type=int)
@engine_options
@user_data_only
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="The one file to write (csv, json, xlsx, md, html).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json", "xlsx", "md", "html"]), default=None
)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@handle_errors
def batch(which, top, user_data, output, fmt, force, **kw) -> None:
    """Shortlists for many local cities at once, in one file."""
    from recommender.engine.batch import batch_recommend
    from recommender.io import export

    tables = load_tables(user_data)
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
    meta = None
    if (fmt or export.format_from_path(output)) == "xlsx":
        from recommender.io.workbook import candidate_sources

        meta = {"candidate_sources": candidate_sources(df, tables)}
    path = export.write(df, output, fmt, force=force, meta=meta)
    n = df["local_city_id"].nunique() if len(df) else 0
    click.echo(
        _("Wrote {rows} rows for {n} local cities to {path}").format(rows=len(df), n=n, path=path),
        err=True,
    )


# ---------------------------------------------------------------------------------------
# the learned feasibility model


@cli.command()
@click.option("--seed", default=None, type=int, help="Random seed (default: the project's, 0).")
@click.option(
    "--model",
    "model_kind",
    type=click.Choice(["auto", "hgb", "logreg"]),
    default="auto",
    show_default=True,
    help="auto picks the better of the two by held-out measurement.",
)
@click.option("--neg-ratio", default=None, type=int, help="Negative pairs sampled per partnership.")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to write feasibility.joblib and manifest.json (default: models/).",
)
@handle_errors
def train(seed, model_kind, neg_ratio, out_dir) -> None:
    """Train the feasibility model on the existing partnerships (deterministic per seed)."""
    from recommender.learn import feasibility

    kwargs = {"model": model_kind}
    if seed is not None:
        kwargs["seed"] = seed
    if neg_ratio is not None:
        if neg_ratio < 1:
            raise UserError(f"--neg-ratio must be at least 1; got {neg_ratio}")
        kwargs["neg_ratio"] = neg_ratio
    if out_dir is not None:
        kwargs["out_dir"] = out_dir
    t0 = time.perf_counter()
    metrics = feasibility.train(**kwargs)
    click.echo(f"Trained in {time.perf_counter() - t0:.0f} s.")
    echo_json(metrics)


@cli.command()
@click.option("--seed", default=None, type=int, help="Random seed of the held-out split.")
@click.option(
    "--holdout-share",
    default=0.2,
    show_default=True,
    type=float,
    help="Share of the cities with enough partners held out, with all their ties.",
)
@click.option("--min-partners", default=3, show_default=True, type=int)
@click.option(
    "--max-cities",
    default=400,
    show_default=True,
    type=int,
    help="Rank this many of the held-out cities (a seeded sample; about 4 minutes). "
    "0 ranks them all (about 9 minutes).",
)
@click.option(
    "--save/--no-save",
    default=True,
    show_default=True,
    help="Write the table to models/evaluation.{csv,json,md}.",
)
@handle_errors
def evaluate(seed, holdout_share, min_partners, max_cities, save) -> None:
    """Measure the model and the baselines on held-out cities (recall, NDCG, MRR)."""
    from recommender.learn import evaluate as evaluation

    if not 0 < holdout_share < 1:
        raise UserError(f"--holdout-share must be between 0 and 1; got {holdout_share}")
    if min_partners < 1:
        raise UserError(f"--min-partners must be at least 1; got {min_partners}")
    if max_cities < 0:
        raise UserError(f"--max-cities must be 0 (all) or more; got {max_cities}")
    max_cities = max_cities or None
    kwargs = {
        "holdout_share": holdout_share,
        "min_partners": min_partners,
        "max_cities": max_cities,
    }
    if seed is not None:
        kwargs["seed"] = seed
    t0 = time.perf_counter()
    res = evaluation.evaluate(**kwargs)
    click.echo(res.to_markdown())
    click.echo(f"\n(evaluated in {time.perf_counter() - t0:.0f} s)")
    if save:
        for path in res.save():
            click.echo(f"Wrote {path}", err=True)


@cli.command()
@click.option("--port", default=8000, show_default=True, type=int, help="Port on 127.0.0.1.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; keep 127.0.0.1 so only this computer can open the app.",
)
@click.option("--open/--no-open", "open_browser", default=False, help="Open a browser tab.")
@handle_errors
def serve(port: int, host: str, open_browser: bool) -> None:
    """The local web app: search a city, move weights, see the map, download files.

    Opens on http://127.0.0.1:8000/ ; no internet connection is needed.
    """
    if not 1 <= port <= 65535:
        raise UserError(f"--port must be between 1 and 65535; got {port}")
    import socket

    with socket.socket() as probe:  # a taken port is one line, not a server log
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UserError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port"
            ) from None
    from recommender.web.server import serve as run

    click.echo(f"sistercity web app on http://{host}:{port}/  (Ctrl+C to stop)", err=True)
    run(host=host, port=port, open_browser=open_browser)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    try:
        cli.main(args=argv, prog_name="sistercity", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
            # a bare `sistercity` (or command group) asks for help: give it, no "Error"
            click.echo(exc.ctx.get_help())
            return 0
        # one line, like every other user error: the message names the bad value
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        click.echo(f"Error: {exc.format_message()}{hint}", err=True)
        return USER_ERROR_EXIT
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback
        click.echo(
            f"Error: unexpected {type(exc).__name__}: {exc}. This is a bug in sistercity; "
            "please report it with the command you ran.",
            err=True,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["cli", "main"]
