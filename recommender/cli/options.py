"""What every command shares: the language, one-line errors, option groups, output.

``--lang`` on every command and group (:class:`LangCommand`, :class:`LangGroup`); library
errors as one ``Error: ...`` line with exit code 2 (:func:`handle_errors`); the engine's
options (:func:`engine_options`, turned into an :class:`recommender.app.ShortlistRequest` by
:func:`shortlist_request`); ``-o/--format/--force`` and :func:`emit`; progress bars that
appear only when stderr is a terminal.

Nothing here imports pandas or the data layer at module level, so ``sistercity --help``
starts fast (tests/test_layout.py).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import click

from recommender.data.indicators import INDICATOR_NAMES
from recommender.errors import RecommenderError, one_line
from recommender.i18n import (
    LANGUAGES,
    N_,
    _,
    current_language,
    language,
    ngettext,
    normalize_language,
)

if TYPE_CHECKING:  # pandas and the application layer load only when a command runs
    import pandas as pd

    from recommender.app import ShortlistRequest

USER_ERROR_EXIT = 2
LANG_KEY = "sistercity.lang"


# --------------------------------------------------------------------------- --lang


def _lang_callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    try:
        ctx.meta[LANG_KEY] = normalize_language(value)
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


def _language_in(args: list[str]) -> str | None:
    """The ``--lang`` value among raw arguments, before click parses them: ``--help`` is
    answered while parsing, so ``--help --lang id`` must know the language up front."""
    for i, arg in enumerate(args):
        value = None
        if arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--lang="):
            value = arg.partition("=")[2]
        if value is not None:
            try:
                return normalize_language(value)
            except RecommenderError:
                return None  # the option's own callback reports it
    return None


@contextlib.contextmanager
def _translated_help(command: click.Command, ctx: click.Context) -> Iterator[None]:
    """The help texts of ``command``, its options and (for a group) its commands in the
    language in force, for as long as the help is being written.

    The texts are the English docstrings and ``help=`` strings, fixed when the module is
    imported; ``scripts/i18n_catalog.py`` puts every one into the catalogue.
    """
    saved: list[tuple[Any, str, Any]] = []

    def swap(obj: Any, attr: str) -> None:
        text = getattr(obj, attr, None)
        if text:
            saved.append((obj, attr, text))
            setattr(obj, attr, _(inspect.cleandoc(text)))

    swap(command, "help")
    swap(command, "short_help")
    swap(command, "options_metavar")
    for param in command.get_params(ctx):  # with the --help option click adds
        swap(param, "help")
        swap(param, "metavar")
        kind = getattr(param.type, "name", "")
        if isinstance(param, click.Option) and param.metavar is None and kind in TYPE_WORDS:
            saved.append((param, "metavar", None))  # click shows the type's name: INTEGER
            param.metavar = _(TYPE_WORDS[kind])
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                swap(sub, "help")
                swap(sub, "short_help")
    try:
        yield
    finally:
        for obj, attr, text in reversed(saved):
            setattr(obj, attr, text)


class _LangMixin:
    """``--lang`` on a command or group; output and ``--help`` in that language."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params.append(_lang_param())

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        lang = _language_in(args)
        if lang is not None:
            ctx.meta[LANG_KEY] = lang
        with language(ctx.meta.get(LANG_KEY)):  # usage errors are worded while parsing
            return super().parse_args(ctx, args)

    def get_help_option(self, ctx: click.Context):
        # click makes the --help option once and keeps it: its text must stay the English
        # msgid whatever the language of the first call (it is translated when shown)
        with language("en"):
            return super().get_help_option(ctx)

    def get_help(self, ctx: click.Context) -> str:
        with language(ctx.meta.get(LANG_KEY)), _translated_help(self, ctx):
            return super().get_help(ctx)

    def get_usage(self, ctx: click.Context) -> str:
        with language(ctx.meta.get(LANG_KEY)):
            return super().get_usage(ctx)

    def invoke(self, ctx: click.Context):
        # the language is settled once for the whole command (--lang, else the locale's),
        # not looked up in the environment again for each of its hundreds of texts
        with language(ctx.meta.get(LANG_KEY) or current_language()):
            return super().invoke(ctx)


class LangCommand(_LangMixin, click.Command):
    """A command with ``--lang``; the language holds while the command runs."""


class LangGroup(_LangMixin, click.Group):
    """A group whose commands and subgroups all take ``--lang`` (before or after the name)."""

    command_class = LangCommand
    group_class = type  # subgroups are LangGroups too


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular/plural pair for the catalogue without translating it (as ``N_``)."""
    return singular, plural


TYPE_WORDS = {"integer": N_("INTEGER"), "float": N_("NUMBER"), "text": N_("TEXT")}
"""What ``--help`` shows for an option's value by its click type (click: INTEGER, FLOAT,
TEXT; FLOAT reads NUMBER here, as a planner would say it)."""

CLICK_TEXTS = (
    N_("[OPTIONS]"),
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("default: {default}"),
    N_("required"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Invalid value: {message}"),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing command."),
    N_("No such option {name!r}."),
    N_("No such command {name!r}."),
    N_("Option {name!r} does not take a value."),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a directory."),
    N_("file"),
    N_("directory"),
    N_("path"),
    N_plural("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"),
    N_plural("{value!r} is not {choice}.", "{value!r} is not one of {choices}."),
    N_plural(
        "Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."
    ),
    N_plural("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"),
)
"""click's own words a planner meets (help headings, usage errors), exactly as click writes
them, so that the catalogue has them (:func:`_click_speaks_our_language`)."""


def _click_speaks_our_language() -> None:
    """click's own words (``Usage:``, ``Options``, ``[default: ...]``, its error messages)
    through the project's catalogue, in the language in force.

    click looks ``_`` and ``ngettext`` up in its modules' globals at each call (``from
    gettext import gettext as _``); pointing them at the catalogue changes nothing in
    English (a message without a translation is itself) and needs no global gettext domain.
    """
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.types

    for mod in (
        click.core,
        click.decorators,
        click.exceptions,
        click.formatting,
        click.parser,
        click.types,
    ):
        if callable(getattr(mod, "_", None)):
            mod._ = _
        if callable(getattr(mod, "ngettext", None)):
            mod.ngettext = ngettext


_click_speaks_our_language()


def command(*args: Any, **kwargs: Any):
    """``click.command`` with ``--lang`` (for commands the root group adds)."""
    return click.command(*args, cls=LangCommand, **kwargs)


def group(*args: Any, **kwargs: Any):
    """``click.group`` with ``--lang`` on the group and every command in it."""
    return click.group(*args, cls=LangGroup, **kwargs)


# --------------------------------------------------------------------------- errors


class UserError(click.ClickException):
    """A user's mistake: printed as one line, exit code 2."""

    exit_code = USER_ERROR_EXIT


def handle_errors(fn: Callable) -> Callable:
    """Turn library errors into one-line messages with exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RecommenderError as exc:
            raise UserError(one_line(exc)) from None

    return wrapper


def renamed(old: str, new: str, meaning: str):
    """A hidden option under an old name that says what it is called now (exit 2)."""

    def fail(ctx: click.Context, _param: click.Parameter, value) -> None:
        if value is None or value == ():
            return
        raise click.UsageError(
            _("{old} is now called {new} ({meaning}); run again with {new} {value}").format(
                old=old, new=new, meaning=_(meaning), value=value
            ),
            ctx=ctx,
        )

    return click.option(old, hidden=True, expose_value=False, callback=fail, default=None)


# --------------------------------------------------------------------------- options


def user_data_only(fn: Callable) -> Callable:
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


def user_data_option(fn: Callable) -> Callable:
    """``--user-data FILE`` on the data commands, where ``--cities`` used to mean it."""
    fn = renamed("--cities", "--user-data", N_("a CSV of your own indicator values"))(fn)
    return user_data_only(fn)


def country_option(fn: Callable) -> Callable:
    return click.option(
        "--country",
        default=None,
        help="Country (ISO code or name) to pick among same-named cities.",
    )(fn)


def split_codes(values: tuple[str, ...]) -> list[str] | None:
    """``--countries JP,KR --countries AU`` -> ["JP", "KR", "AU"]."""
    out = [v.strip() for item in values for v in item.split(",") if v.strip()]
    return out or None


def pairs(values: tuple[str, ...], option: str, example: str, number: bool) -> dict:
    """``INDICATOR=VALUE`` options as a dict (values as numbers when ``number``)."""
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


def what_if(overrides: tuple[str, ...]) -> dict[str, float] | None:
    """``--set INDICATOR=VALUE`` values."""
    return pairs(overrides, "--set", "gdp_per_capita_usd=12000", True) or None


def engine_options(fn: Callable) -> Callable:
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


def shortlist_request(city: str, top: int, kw: dict) -> ShortlistRequest:
    """The engine options of a command -> the request both front ends make."""
    from recommender.app import ShortlistRequest

    return ShortlistRequest(
        city=city,
        scenario=kw["scenario"],
        top=top,
        method=kw["method"],
        country=kw["country"],
        countries=split_codes(kw["countries"]),
        exclude_countries=split_codes(kw["exclude_countries"]),
        continents=split_codes(kw["continents"]),
        min_population=kw["min_population"],
        max_population=kw["max_population"],
        min_level=pairs(kw["min_level"], "--min-level", "gdp_per_capita_usd=city", False) or None,
        max_per_country=kw["max_per_country"],
        diversity=kw["diversity"],
        include_partners=kw["include_partners"],
        include_domestic=kw["include_domestic"],
        include_city_parts=kw.get("include_city_parts", False),
        include_ineligible=kw.get("include_ineligible", False),
        overrides=what_if(kw["overrides"]),
        feasibility="auto" if kw["feasibility"] and not kw["fit_only"] else False,
    )


def recommend_kwargs(kw: dict) -> dict:
    """The engine options as ``recommend`` keyword arguments (``batch``, ``atlas``)."""
    from recommender import app

    return app.recommend_options(shortlist_request("", 10, kw))


def output_options(fn: Callable) -> Callable:
    """``--format``, ``-o/--output`` and ``--force``."""
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


# --------------------------------------------------------------------------- output


def say_note(row: pd.Series) -> None:
    """The note for a local city outside the Indonesian list, on stderr after the work."""
    from recommender.data import tables

    note = tables.local_city_note(row)
    if note:
        click.echo(_("Note: {note}").format(note=one_line(note)), err=True)


def fmt_value(ind: str, v: float) -> str:
    """An indicator's value as a planner reads it (money, km², HDI to 3 decimals)."""
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


def echo_json(obj: Any) -> None:
    from recommender.io.export import to_jsonable

    click.echo(json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False))


def term_width() -> int:
    import shutil

    return max(80, shutil.get_terminal_size((120, 24)).columns)


def echo_table(view: pd.DataFrame, *, wide: bool = True) -> None:
    """A table on the screen, as wide as the terminal (``wide``) or as its content."""
    from recommender.io import export

    click.echo(export.render(view, "table", width=term_width() if wide else None))


def no_binary_on_screen() -> None:
    raise UserError(_("--format xlsx needs -o FILE.xlsx (it is a binary file)"))


def emit(
    df: pd.DataFrame,
    fmt: str | None,
    output: str | None,
    force: bool,
    screen: Callable[[], None],
    cities: pd.DataFrame | None = None,
) -> None:
    """Write ``df`` to ``output`` atomically, or print it (``screen`` renders the table view).

    ``cities`` is the table ``df`` was made from (the XLSX Sources sheet looks the
    candidates up in it).
    """
    from recommender import app

    if output:
        path = app.write_table(df, output, fmt, force=force, cities=cities)
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
        no_binary_on_screen()
    else:
        from recommender.io import export

        out = export.render(df, fmt)
        click.echo(out, nl=not out.endswith("\n"))


def progress_bar(items: Iterable, label: str) -> Iterator:
    """Iterate ``items`` with a progress bar on stderr when stderr is a terminal.

    The bar is a context manager (click requires ``with``); results go to stdout or a file,
    so piping or redirecting stdout never mixes the bar into them.
    """
    if not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label=label, file=sys.stderr) as bar:
        yield from bar


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
