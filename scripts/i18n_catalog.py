"""Build the message catalogue: extract the marked texts, merge them into each language's
``.po`` file, compile the ``.mo`` files that ship with the package.

    python scripts/i18n_catalog.py extract   # recommender/i18n/locale/sistercity.pot
    python scripts/i18n_catalog.py update    # merge the template into locale/<lang>/.../*.po
    python scripts/i18n_catalog.py compile   # .po -> .mo (what the package loads at run time)
    python scripts/i18n_catalog.py check     # exit 1 if a message is untranslated or a .mo is stale
    python scripts/i18n_catalog.py all       # extract, update, compile, check

Texts are marked in the code with ``_("...")`` (translate now), ``N_("...")`` (mark only) or
``ngettext("...", "...", n)``, and in the web app's templates with ``{{ _("...") }}``. Babel
is needed here only (``pip install -e ".[test]"``); the package reads the compiled catalogue
with the standard library's :mod:`gettext`.

Output is deterministic (fixed dates, no line numbers), so a rebuild without changes gives the
same bytes and the test suite can compare the committed ``.mo`` with a fresh compile.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "recommender"
LOCALE_DIR = PACKAGE / "i18n" / "locale"
DOMAIN = "sistercity"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
LANGUAGES = ("id",)
KEYWORDS = {"_": None, "N_": None, "N_plural": (1, 2), "gettext": None, "ngettext": (1, 2)}
FIXED_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def extract() -> Catalog:
    """Every marked text in ``recommender/`` as a template catalogue."""
    catalog = Catalog(
        project=DOMAIN,
        domain=DOMAIN,
        creation_date=FIXED_DATE,
        revision_date=FIXED_DATE,
        fuzzy=False,
        copyright_holder="the sistercity contributors",
    )
    # the web app's Jinja2 templates call _() too (Babel's jinja2 extractor, from Jinja2)
    method_map = [("**.py", "python"), ("web/templates/**.html", "jinja2")]
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE),
        method_map,
        keywords=KEYWORDS,
        comment_tags=("i18n:",),
        strip_comment_tags=True,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for text, where in command_help_texts():
        catalog.add(text, None, [(where, 0)])
    return catalog


def command_help_texts() -> list[tuple[str, str]]:
    """The ``--help`` texts of every command: docstrings and option ``help=`` strings.

    They are fixed when the CLI's modules are imported, before ``--lang`` is known, so the
    CLI translates them when it writes the help (``recommender.cli.options``); here they
    are read from the live click commands, as click shows them (``inspect.cleandoc``).
    """
    import inspect

    import click

    from recommender.cli import cli

    out: list[tuple[str, str]] = []

    def walk(command: click.Command, path: str) -> None:
        where = f"recommender/cli: sistercity {path}".rstrip()
        for text in (command.help, command.short_help):
            if text:
                out.append((inspect.cleandoc(text), where))
        for param in command.params:
            if isinstance(param, click.Option) and param.help and not param.hidden:
                out.append((inspect.cleandoc(param.help), where))
        if isinstance(command, click.Group):
            # through the group's own listing: the root group imports a command's module
            # only when asked for it (recommender.cli.commands), so .commands may be empty
            ctx = click.Context(command, info_name=path or "sistercity")
            for name in sorted(command.list_commands(ctx)):
                walk(command.get_command(ctx, name), f"{path} {name}".strip())

    walk(cli, "")
    return out


def _write_po(catalog: Catalog, path: Path) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, no_location=True, omit_header=False, sort_output=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def read(lang: str) -> Catalog:
    with open(po_path(lang), "rb") as fh:
        return read_po(fh, locale=lang, domain=DOMAIN)


def update(template: Catalog) -> None:
    for lang in LANGUAGES:
        path = po_path(lang)
        if path.exists():
            catalog = read(lang)
        else:
            catalog = Catalog(
                locale=lang,
                domain=DOMAIN,
                project=DOMAIN,
                fuzzy=False,
                copyright_holder="the sistercity contributors",
                last_translator="the sistercity contributors",
                language_team=lang,
            )
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        catalog.creation_date = FIXED_DATE
        catalog.revision_date = FIXED_DATE
        catalog.obsolete.clear()  # removed texts leave the file instead of piling up
        _write_po(catalog, path)


def compiled(lang: str) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, read(lang), use_fuzzy=False)
    return buffer.getvalue()


def _messages(mo: bytes) -> dict:
    """The messages of a compiled catalogue, header aside (it names the Babel version)."""
    import gettext

    table = dict(gettext.GNUTranslations(io.BytesIO(mo))._catalog)
    table.pop("", None)
    return table


def compile_all() -> None:
    for lang in LANGUAGES:
        mo_path(lang).write_bytes(compiled(lang))


def problems(template: Catalog | None = None) -> list[str]:
    """Untranslated, fuzzy or missing messages and stale ``.mo`` files, one line each."""
    template = extract() if template is None else template
    out = []
    for lang in LANGUAGES:
        catalog = read(lang)
        for msg in template:
            if not msg.id:
                continue
            have = catalog.get(msg.id)
            if have is None:
                out.append(f"{lang}: not in the .po file: {msg.id!r}")
            elif not have.string or (isinstance(have.string, tuple) and not all(have.string)):
                out.append(f"{lang}: untranslated: {msg.id!r}")
            elif have.fuzzy:
                out.append(f"{lang}: fuzzy: {msg.id!r}")
        if not mo_path(lang).exists() or _messages(mo_path(lang).read_bytes()) != _messages(
            compiled(lang)
        ):
            out.append(f"{lang}: {mo_path(lang).relative_to(ROOT)} is stale; run compile")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["extract", "update", "compile", "check", "all"])
    step = parser.parse_args(argv).step
    template = None
    if step in ("extract", "update", "all"):
        template = extract()
        _write_po(template, TEMPLATE)
        print(f"{len(template)} messages -> {TEMPLATE.relative_to(ROOT)}")
    if step in ("update", "all"):
        update(template)
    if step in ("compile", "all"):
        compile_all()
    if step in ("check", "all"):
        issues = problems(template)
        for line in issues:
            print(line)
        if issues:
            return 1
        print("catalogue complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
