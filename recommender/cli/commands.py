"""The ``sistercity`` command line: thin over the library.

Each command parses its options, calls one library function and prints. Any
:class:`~recommender.errors.RecommenderError` becomes a one-line ``Error: ...`` message and
exit code 2; nothing is half-written.

Why one file (about 1,100 lines): one click group whose commands share option decorators
and error handling; each command is a short parse-call-print block. Splitting it per
command group is planned once the application layer (``recommender.app``) takes the glue.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import functools
import io
import json
import os
import signal
import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING

import click

from recommender.data.indicators import BY_NAME, INDICATOR_NAMES
from recommender.errors import Interrupted, RecommenderError, one_line
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

if TYPE_CHECKING:  # pandas and the data layer load only when a command needs them, so
    import pandas as pd  # that `--help` and `--version` start fast (tests/test_layout.py)

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


def _tables():
    """The data layer (imported on first use: it brings pandas)."""
    from recommender.data import tables

    return tables


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
            raise UserError(one_line(exc)) from None

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
    cities = _tables().load_cities()
    if user_data:
        cities = _tables().apply_user_cities(cities, user_data)
    return cities


def local_city(city: str, country: str | None, tables: pd.DataFrame) -> pd.Series:
    """Resolve the local city once; the note for a city outside the Indonesian list is
    given by :func:`say_note` after the work (so an error stays a single line)."""
    return _tables().resolve_city(city, country, tables)


def say_note(row: pd.Series) -> None:
    note = _tables().local_city_note(row)
    if note:
        click.echo(f"Note: {one_line(note)}", err=True)


def fmt_value(ind: str, v: float) -> str:
    import pandas as pd

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
    import pandas as pd

    res = _tables().search_cities(text, limit=limit, country=country)
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
    from recommender.io import export

    match_words = {
        "name": _("name"),
        "alternate name": _("alternate name"),
        "similar": _("similar"),
    }
    shown = pd.DataFrame(
        {
            _("match"): res["match"].map(lambda m: match_words.get(m, m)),
            "id": res["city_id"],
            _("city"): res["name"],
            _("country"): res["country_code"],
            _("region"): res["admin1_name"],
            _("population"): res["population"].map(lambda v: fmt_value("population", v)),
            _("local"): res["local_role"].where(res["is_local"], ""),
        }
    )
    click.echo(export.render(shown, "table", width=_term_width()))


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

    tables = load_tables(user_data)
    row = _tables().resolve_city(city, country, tables)
    partners = _tables().partners_of(int(row["city_id"]), cities=tables)
    ind = _tables().indicator_frame(row)
    if fmt == "json":
        echo_json(
            {
                "city": {
                    k: (None if pd.isna(v) else v)
                    for k, v in row[_tables().CITY_ID_COLUMNS].items()
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
    info = _tables().data_info()
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
            help="A hard cap per country (default: none; diversity is soft, see --diversity).",
        ),
        click.option(
            "--diversity",
            type=float,
            default=None,
            help="Soft diversity: each further city of a country counts this much less "
            "(0-1; 1 = none, the default, chosen on held-out cities; 0 = one per country).",
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
            "--fit-only",
            is_flag=True,
            help="The pure strategy list: rank by the scenario's score alone, no feasibility.",
        ),
        click.option(
            "--feasibility/--no-feasibility",
            default=True,
            show_default=True,
            hidden=True,
            help="Blend the learned feasibility into the ranking (default; see --fit-only).",
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
        "feasibility": "auto" if kw["feasibility"] and not kw["fit_only"] else None,
        "diversity": kw["diversity"],
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

            meta = {"candidate_sources": candidate_sources(df, _tables().load_cities())}
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
    import pandas as pd

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
    import pandas as pd

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
    if "robustness" in df.columns and df["robustness"].notna().any():
        view[_("robust")] = df["robustness"].map(lambda v: "" if v != v else f"{v:.0%}")
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
    for r in df.itertuples():
        click.echo(f"{r.rank:>3}. {r.name}: {r.why}")
        extra = getattr(r, "why_feasibility", None)
        if extra:
            click.echo(f"     {extra}")
        ctx = getattr(r, "context", None)
        rob = getattr(r, "robustness_text", None)
        more = "; ".join(x for x in (ctx, rob) if x)
        if more:
            click.echo(f"     {more}")


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
    row = local_city(city, kw["country"], tables)
    df = recommend(row, kw["scenario"], cities=tables, top=top, **recommend_kwargs(kw))
    say_note(row)
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
    import pandas as pd

    from recommender.engine.explain import explain as explain_pair

    tables = load_tables(user_data)
    row = local_city(city, country, tables)
    ex = explain_pair(
        row,
        candidate,
        scenario,
        cities=tables,
        country=country,
        candidate_country=candidate_country,
        method=method,
        overrides=_pairs(overrides, "--set", "gdp_per_capita_usd=12000", True) or None,
    )
    say_note(row)
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


@cli.command()
@click.argument("city")
@click.option("--country", default=None, help="Country of the local city, if its name is shared.")
@user_data_option
@output_options
@handle_errors
def partners(city, country, user_data, fmt, output, force) -> None:
    """Existing partners of CITY, classified Big / Small / Symmetry (the paper's Table 2)."""
    import pandas as pd

    from recommender.engine.coupling import classify_partners
    from recommender.io import export

    tables = load_tables(user_data)
    row = local_city(city, country, tables)
    res = classify_partners(row, tables, country=country)
    say_note(row)
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
    import pandas as pd

    from recommender.engine.compare import compare as compare_scenarios
    from recommender.io import export

    if len(scenarios) < 2:
        raise UserError(
            "compare needs at least two --scenario options, e.g. --scenario small-big --scenario symmetric"
        )
    tables = load_tables(user_data)
    row = local_city(city, country, tables)
    res = compare_scenarios(
        row,
        list(scenarios),
        top=top,
        cities=tables,
        method=method,
        country=country,
    )
    say_note(row)
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
    import pandas as pd

    from recommender.i18n import format_number

    return _("excluded") if pd.isna(v) else format_number(int(v))


def _matrix(frame: pd.DataFrame, decimals: int) -> str:
    """A small scenario-by-scenario matrix with numbers in the language in force."""
    import pandas as pd

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
    "--cities",
    "which",
    default="all-kota",
    show_default=True,
    help="Which local cities: all-kota, capitals, all-local, or a CSV file with a city_id or "
    "name column (comma or semicolon separated). --cities is the same option: on every "
    "command it means which cities, never a data file (that is --user-data).",
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


@cli.command()
@click.option("--top", default=10, show_default=True, type=int, help="Partners per city.")
@engine_options
@click.option(
    "--user-data",
    "user_data",
    type=click.Path(dir_okay=False),
    default=None,
    help="CSV of your own indicator values (as --cities for the other commands).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="The file to write: .csv (always) or .parquet (needs pyarrow).",
)
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default=None)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
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
    from recommender.engine.atlas import iter_atlas
    from recommender.io.stream import stream_format, write_chunks

    fmt = stream_format(output, fmt)  # refuse a bad format before the work, not after
    from recommender.io import export

    export.check_target(output, force)
    tables = load_tables(user_data) if user_data else None
    kwargs = recommend_kwargs(kw)
    skipped: list[int] = []
    bar = None
    if sys.stderr.isatty():
        bar = click.progressbar(length=1, label="Atlas", file=sys.stderr, show_pos=True)

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
        click.echo(f"{len(skipped)} cities got no shortlist (the filters left none)", err=True)
    click.echo(f"Wrote {n} rows to {output}", err=True)


# ---------------------------------------------------------------------------------------
# the learned feasibility model


@contextlib.contextmanager
def stage_progress(label: str):
    """A progress bar on stderr while a long job runs, only when stderr is a terminal;
    yields a callback ``(done, total, what)`` for the library (None otherwise)."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=1000, label=label, file=sys.stderr, show_eta=False) as bar:

        def update(done: int, total: int, what: str) -> None:
            bar.label = f"{label}: {what}"
            bar.update(int(1000 * done / max(total, 1)) - bar.pos)

        yield update


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
    help="Where to write feasibility.npz (model and manifest in one verified file) and a "
    "readable copy of its manifest (default: the models/ folder the shortlist uses).",
)
@click.option("--json", "as_json", is_flag=True, help="Print every metric as JSON.")
@handle_errors
def train(seed, model_kind, neg_ratio, out_dir, as_json) -> None:
    """Train the feasibility model on the existing partnerships (deterministic per seed)."""
    from recommender.learn import train as training

    kwargs = {"model": model_kind}
    if seed is not None:
        kwargs["seed"] = seed
    if neg_ratio is not None:
        if neg_ratio < 1:
            raise UserError(f"--neg-ratio must be at least 1; got {neg_ratio}")
        kwargs["neg_ratio"] = neg_ratio
    if out_dir is not None:
        kwargs["out_dir"] = out_dir
    stages = ["fitting", "exporting", "writing"]
    with stage_progress("Training") as update:
        if update is not None:
            kwargs["progress"] = lambda what: update(
                next((k for k, s in enumerate(stages) if what.startswith(s)), 0), 3, what
            )
        result = training.train(**kwargs)
    if as_json:
        echo_json(result)
    else:
        click.echo(training.train_summary(result))


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
    help="Rank this many of the held-out cities (a seeded sample; a few minutes). "
    "0 ranks them all.",
)
@click.option(
    "-o",
    "--out-dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Folder for evaluation.csv, evaluation.json and evaluation.md.",
)
@click.option("--no-save", is_flag=True, help="Print only; write no file.")
@click.option("--force", is_flag=True, help="Overwrite existing evaluation files.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@handle_errors
def evaluate(
    seed, holdout_share, min_partners, max_cities, out_dir, no_save, force, as_json
) -> None:
    """Measure the model and the baselines on held-out cities (recall, NDCG, MRR)."""
    from recommender.learn import evaluate as evaluation

    if not 0 < holdout_share < 1:
        raise UserError(f"--holdout-share must be between 0 and 1; got {holdout_share}")
    if min_partners < 1:
        raise UserError(f"--min-partners must be at least 1; got {min_partners}")
    if max_cities < 0:
        raise UserError(f"--max-cities must be 0 (all) or more; got {max_cities}")
    if not no_save:
        evaluation.check_save_targets(out_dir, force=force)  # refuse before the work
    kwargs = {
        "holdout_share": holdout_share,
        "min_partners": min_partners,
        "max_cities": max_cities or None,
    }
    if seed is not None:
        kwargs["seed"] = seed
    with stage_progress("Evaluating") as update:
        res = evaluation.evaluate(**kwargs, progress=update)
    if as_json:
        echo_json(res.to_dict())
    else:
        click.echo(res.summary())
    if not no_save:
        for path in res.save(out_dir, force=force):
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


def _stdout_failure() -> OSError | None:
    """The error standard output gives on a flush, or None if it works."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        return exc
    return None


def _silence_stdout() -> None:
    # Whatever is still buffered would fail again when Python exits and print "Exception
    # ignored ..."; point the descriptor at /dev/null so the exit is quiet.
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def _error(message: str, code: int = USER_ERROR_EXIT) -> int:
    """Print ``Error: message`` as one line on stderr (control characters escaped)."""
    click.echo(f"Error: {one_line(message)}", err=True)
    return code


def _stdout_error(exc: OSError) -> int:
    _silence_stdout()
    if exc.errno == errno.EPIPE:
        return 0  # the reader stopped on purpose (`| head`): not an error, nothing to say
    reason = exc.strerror or type(exc).__name__
    return _error(f"cannot write to standard output: {reason}; use -o FILE to write a file")


_OUTPUT_ERRNOS = {
    getattr(errno, n) for n in ("ENOSPC", "EIO", "EFBIG", "EDQUOT", "EBADF") if hasattr(errno, n)
}


def _same_codec(a: str | None, b: str | None) -> bool:
    try:
        return codecs.lookup(a or "").name == codecs.lookup(b or "").name
    except LookupError:
        return False


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point.

    Exit codes: 0 success; 2 a user error, unusable input, data or output (one line
    ``Error: ...``); 1 a bug (one line, never a traceback); 130 Ctrl-C; 128 + N after
    signal N (SIGTERM, SIGHUP) arrived during a write, whose temporary file is removed.
    A closed pipe (``| head``) ends quietly with 0.
    """
    try:
        code = _main(argv)
    except BrokenPipeError as exc:
        return _stdout_error(exc)
    failure = _stdout_failure()
    if failure is not None:
        return _stdout_error(failure)
    return code


def _main(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="sistercity", standalone_mode=False)
    except click.exceptions.Abort as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, EOFError):
            # click takes any EOFError for Ctrl-D; one that escaped a reader is a bug
            return _error(f"unexpected end of data: {cause}. This is a bug in sistercity", 1)
        click.echo("Aborted.", err=True)
        return 130
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name if exc.signum in signal.Signals else exc.signum
        click.echo(f"Interrupted by {name}; no partial file was left.", err=True)
        return 128 + exc.signum
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
            # a bare `sistercity` (or command group) asks for help: give it, no "Error"
            click.echo(exc.ctx.get_help())
            return 0
        # one line, like every other user error: the message names the bad value
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        return _error(f"{exc.format_message()}{hint}")
    except click.ClickException as exc:
        return _error(exc.format_message(), exc.exit_code)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SystemExit:
        # click answers EPIPE on standard output by wrapping the streams in its
        # "PacifyFlushWrapper" and exiting with 1; a closed pipe (`| head`) is no error
        if "PacifyFlushWrapper" in type(sys.stdout).__name__:
            return _stdout_error(BrokenPipeError(errno.EPIPE, "Broken pipe"))
        raise
    except BrokenPipeError:
        raise
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end] if isinstance(exc.object, str) else ""
        if _same_codec(exc.encoding, getattr(sys.stdout, "encoding", None)):
            return _error(
                f"standard output uses the {exc.encoding} encoding, which cannot show {bad!r}; "
                "set PYTHONIOENCODING=utf-8 (or a UTF-8 locale), or write a file with -o"
            )
        return _error(f"cannot encode {bad!r} in {exc.encoding}", 1)
    except OSError as exc:
        failure = _stdout_failure()
        if failure is not None or exc.errno == errno.EPIPE:
            return _stdout_error(failure or exc)
        if exc.filename is None and exc.errno in _OUTPUT_ERRNOS:
            # Files are named by their readers and writers (OutputError, DataValidationError);
            # a nameless write error on a full disk or a dead device is standard output's.
            return _stdout_error(exc)
        reason = exc.strerror or type(exc).__name__
        if exc.filename:
            return _error(f'cannot use "{exc.filename}": {reason}')
        return _error(f"unexpected {type(exc).__name__}: {exc}. This is a bug in sistercity", 1)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback
        return _error(
            f"unexpected {type(exc).__name__}: {exc}. This is a bug in sistercity; "
            "please report it with the command you ran.",
            1,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["cli", "main"]
