"""Bahasa Indonesia: the catalogue is complete and compiled, numbers follow the language, and
the CLI's planner-facing output in Indonesian has no English left."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from recommender.errors import RecommenderError
from recommender.i18n import (
    LANGUAGES,
    _,
    column_label,
    current_language,
    format_money,
    format_number,
    get_translator,
    glossary,
    language,
    language_from_environment,
    normalize_language,
)

ROOT = Path(__file__).resolve().parents[1]


def _catalog_script():
    spec = importlib.util.spec_from_file_location(
        "i18n_catalog", ROOT / "scripts" / "i18n_catalog.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules["i18n_catalog"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def catalog_tool():
    return _catalog_script()


@pytest.fixture(scope="module")
def template(catalog_tool):
    return catalog_tool.extract()


def test_every_marked_text_is_translated_and_compiled(catalog_tool, template):
    # Walks every text marked in recommender/ (Babel's extractor) against the .po file and
    # the shipped .mo: an untranslated, fuzzy or missing message or a stale .mo fails.
    assert len(template) > 50, "the extractor found almost nothing: keywords broken?"
    assert catalog_tool.problems(template) == []


def test_placeholders_survive_translation(catalog_tool, template):
    catalog = catalog_tool.read("id")
    field = re.compile(r"\{[a-z_0-9]*(?:[:!][^}]*)?\}")
    for msg in template:
        if not msg.id or not isinstance(msg.id, str):
            continue
        have = catalog.get(msg.id)
        assert sorted(field.findall(have.string)) == sorted(field.findall(msg.id)), msg.id


def test_a_problem_is_reported(catalog_tool, template, tmp_path, monkeypatch):
    # The completeness check can fail: an untranslated message is reported by name.
    from babel.messages.catalog import Catalog

    broken = Catalog(locale="id", domain="sistercity")
    monkeypatch.setattr(catalog_tool, "read", lambda lang: broken)
    found = catalog_tool.problems(template)
    assert any("not in the .po file" in line for line in found)
    assert any("stale" in line for line in found)


def test_language_from_environment_and_normalisation():
    assert language_from_environment({"LANG": "id_ID.UTF-8"}) == "id"
    assert language_from_environment({"LC_ALL": "en_US.UTF-8", "LANG": "id_ID"}) == "en"
    assert language_from_environment({}) == "en"
    assert normalize_language("in") == "id"
    with pytest.raises(RecommenderError, match="Unknown language 'fr'; allowed: en, id"):
        normalize_language("fr")


def test_language_context_restores_previous():
    with language("id"):
        assert current_language() == "id"
        with language("en"):
            assert _("Population") == "Population"
        assert _("Population") == "Penduduk"
    assert current_language() == language_from_environment()


def test_indonesian_numbers():
    with language("id"):
        assert format_number(2546452) == "2.546.452"
        assert format_number(279.24, 1) == "279,2"
        assert format_money(132571000, "IDR") == "Rp 132.571.000"
    assert format_number(2546452, lang="en") == "2,546,452"
    assert get_translator("id").decimal == ","


def test_column_labels_and_glossary_cover_the_shortlist():
    from recommender.engine.shortlist import output_columns

    for lang in LANGUAGES:
        with language(lang):
            for col in output_columns():
                label = column_label(col)
                assert label != col and "_" not in label, (lang, col, label)
            terms = {term for _s, term, _m in glossary(["score", "feasibility"])}
            assert _("Feasibility") in terms
            assert {"SB", "BS", "BB", "SS"} <= terms


def test_every_indicator_has_words():
    from recommender.data.indicators import INDICATOR_NAMES
    from recommender.i18n.texts import INDICATOR_LABELS, INDICATOR_SHORT, INDICATOR_UNITS

    for table in (INDICATOR_LABELS, INDICATOR_SHORT, INDICATOR_UNITS):
        assert set(table) == set(INDICATOR_NAMES)


def _english_fragments(template) -> set[str]:
    """Literal pieces of every English message whose Indonesian translation differs."""
    t = get_translator("id")
    out = set()
    for msg in template:
        if not msg.id or not isinstance(msg.id, str):
            continue
        translated = t.gettext(msg.id)
        for frag in re.split(r"\{[^}]*\}", msg.id):
            frag = frag.strip(" .,;:()'·—=×+")
            if len(frag) >= 4 and re.search(r"[a-z]{3}", frag) and frag not in translated:
                out.add(frag)
    return out


ENGLISH_WORDS = {"the", "of", "and", "with", "from", "to", "on", "in", "is", "are", "by"}


def english_left(text: str, template) -> list[str]:
    # option names and file names are typed as they are
    text = re.sub(r"--[a-z][a-z-]*|\b[\w/]+\.(?:csv|md|json)\b", " ", text)
    found = [f for f in _english_fragments(template) if re.search(rf"\b{re.escape(f)}\b", text)]
    words = set(re.findall(r"[A-Za-z]+", text))
    return sorted(found + sorted(words & ENGLISH_WORDS))


def test_the_checker_finds_english(template):
    # The "no English left" check can fail: it catches English planner text.
    assert english_left("Partner shortlist for Medan: similar in size", template)


def test_shortlist_in_indonesian_has_no_english(template):
    from click.testing import CliRunner

    from recommender.cli import cli

    res = CliRunner().invoke(cli, ["shortlist", "Medan", "--lang", "id"])
    assert res.exit_code == 0, res.output
    assert "Daftar calon mitra untuk Medan" in res.output
    assert "2.546" not in res.output or "2,546" not in res.output
    assert english_left(res.output, template) == []
    # and English stays the default
    res_en = CliRunner().invoke(cli, ["shortlist", "Medan"])
    assert "Partner shortlist for Medan" in res_en.output


# --------------------------------------------------------------------------- every output in id
#
# The catalogue walk above proves every *marked* text has a translation; it cannot see a
# text nobody marked (a docstring shown by --help, a message built in an f-string, a word
# from click). These tests render what a planner sees in Indonesian - every command, the
# help, usage errors, the files and the web pages - and look for English in it.

MORE_ENGLISH = {
    "the", "of", "and", "with", "from", "to", "on", "in", "is", "are", "by", "for", "not",
    "only", "than", "this", "that", "these", "which", "when", "where", "each", "every", "all",
    "none", "other", "show", "shows", "exit", "usage", "options", "commands", "default",
    "required", "missing", "yes", "score", "partner", "partners", "shortlist", "candidate",
    "candidates", "scenario", "people", "modelled", "error", "invalid", "unknown", "matches",
    "closest", "such", "option", "write", "print", "file", "cities", "countries",
}  # fmt: skip
"""English words that never occur in the Indonesian texts (what the fragments of the
catalogue cannot catch: texts that were never marked)."""

TYPED = {
    "population", "area_km2", "gdp_per_capita_usd", "hdi", "city_id", "name", "country",
    "year", "city", "region", "imputed", "user", "all-kota", "capitals", "all-local",
    # command names, as typed
    "shortlist", "explain", "partners", "compare", "cities", "search", "show", "data",
    "info", "scenarios", "list", "batch", "atlas", "train", "evaluate", "serve",
}  # fmt: skip
"""Values a user types as they are (CSV columns, --min-level levels, batch city sets): the
help names them in English in every language."""


@pytest.fixture(scope="module")
def data_values() -> list[str]:
    """Texts that are data, not planner-facing words: sources and citations, place, region
    and country names from GeoNames, eligibility reasons, the manifest's data date. Longest
    first, so a source is removed before a region name inside it."""
    from recommender.data import tables

    cities = tables.load_cities()
    values: set[str] = set()
    for col in cities.columns:
        if col.endswith("_source") or col in ("admin1_name", "country_name"):
            values |= set(cities[col].dropna().astype(str))
    # place names of more than one word ("Quezon City"); one-word names stay in the text,
    # so that a city called like an English word cannot hide that word
    values |= {n for n in cities["name"].dropna().astype(str) if " " in n}
    elig = tables.load_eligibility()
    values |= set(elig["reason"].astype(str)) | set(elig["legal_source"].astype(str))
    values |= set(tables.load_ties()["source"].astype(str))
    values.add(str(tables.data_info()["data_date"]))
    values |= {"CC BY 4.0", "CC BY-SA 4.0"}  # licence names
    return sorted((v for v in values if len(v) >= 3), key=len, reverse=True)


def _visible_text(html_text: str) -> str:
    import html

    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", html_text, flags=re.S)
    text = re.sub(r"<[^>]+>", "\n", text)
    return html.unescape(text)


def english_in(text: str, template, data_values, *, typed: bool = False) -> list[str]:
    """English fragments and words left in ``text`` once data values, option names, file
    names, code (`...`), identifiers and ALL-CAPS placeholders are taken out."""
    for value in data_values:
        if value in text:
            text = text.replace(value, " ")
    text = text.replace("Error:", " ")  # the stable prefix scripts look for (README)
    text = re.sub(r"(?<![\w-])--?[a-z][a-z-]*", " ", text)  # option names
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r'"[^"\n]*"', " ", text)  # quoted: what the user typed, a column name
    text = re.sub(r"\b[A-Za-z0-9]+(?:[_.-][A-Za-z0-9]+)+\b", " ", text)  # ids, files, presets
    text = re.sub(r"\b[A-Z][A-Z0-9=_\[\]|]{2,}\b", " ", text)  # CITY, INDICATOR=VALUE, TOPSIS
    if typed:
        text = re.sub(r"\b(?:" + "|".join(map(re.escape, TYPED)) + r")\b", " ", text)
    left = english_left(text, template)
    words = {w.lower() for w in re.findall(r"\b[A-Za-z][a-z]*\b", text)}  # not codes: BY
    return sorted(set(left) | (words & MORE_ENGLISH))


def test_the_output_checker_finds_unmarked_english(template, data_values):
    # texts no catalogue knows: a docstring, click's words, a built message
    assert "show" in english_in("Show this message and exit.", template, data_values)
    assert "usage" in english_in(
        "Usage: sistercity shortlist [OPTIONS] CITY", template, data_values
    )
    assert english_in("Unknown city Nowhereville. Closest matches: ...", template, data_values)
    # and it leaves data alone: a source citation is not English text to translate
    cited = "Kemendagri 2025 population, Kota Medan"
    assert english_in(f"Penduduk 2.546.452 [kota] {cited}", template, data_values) == []


ID_COMMANDS = [
    ["shortlist", "Medan"],
    ["shortlist", "Medan", "--fit-only", "--countries", "USA,UK,Jepang", "--top", "5"],
    ["explain", "Medan", "Incheon"],
    ["explain", "Medan", "Hanoi"],  # not eligible: the reasons
    ["partners", "Medan"],
    ["compare", "Medan", "--scenario", "small-big", "--scenario", "symmetric", "--top", "5"],
    ["cities", "search", "Bandong"],
    ["cities", "show", "Medan"],
    ["data", "info"],
    ["scenarios", "list"],
    ["scenarios", "show", "small-big"],
    ["scenarios", "show", "complementary"],
]


@pytest.mark.parametrize("args", ID_COMMANDS, ids=[" ".join(a) for a in ID_COMMANDS])
def test_every_command_in_indonesian_has_no_english(args, template, data_values):
    from click.testing import CliRunner

    from recommender.cli import cli

    res = CliRunner().invoke(cli, [*args, "--lang", "id"])
    assert res.exit_code == 0, res.output
    text = res.output
    toml = args[:2] == ["scenarios", "show"]
    if toml:  # TOML keys are the file format, typed as they are
        text = re.sub(r"^\[[^\]]*\]$|^\s*[A-Za-z_.]+ = ", " ", text, flags=re.M)
    assert english_in(text, template, data_values, typed=toml) == [], text


def _all_commands():
    import click

    from recommender.cli import cli

    out = [[]]

    def walk(group, path):
        for name, sub in sorted(group.commands.items()):
            out.append([*path, name])
            if isinstance(sub, click.Group):
                walk(sub, [*path, name])

    walk(cli, [])
    return out


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p) or "sistercity")
def test_every_help_in_indonesian_has_no_english(path, template, data_values):
    from click.testing import CliRunner

    from recommender.cli import cli

    # --help before --lang too: the help is written while the options are parsed
    for args in ([*path, "--lang", "id", "--help"], [*path, "--help", "--lang", "id"]):
        res = CliRunner().invoke(cli, args, terminal_width=100)
        assert res.exit_code == 0, res.output
        assert res.output.startswith("Penggunaan:"), res.output[:80]
        assert english_in(res.output, template, data_values, typed=True) == [], res.output
    # English stays English in the same process (click keeps the --help option it made)
    en = CliRunner().invoke(cli, [*path, "--help"], terminal_width=100).output
    assert en.startswith("Usage:") and "Options:" in en
    assert "Show this message and exit." in en and "Tampilkan" not in en


@pytest.mark.parametrize(
    "args",
    [
        ["shortlist", "Medan", "--top", "x"],
        ["shortlist", "Medan", "--bogus"],
        ["shortlist", "Medan", "--method", "ahp"],
        ["shortlist", "Nowhereville"],
        ["explain", "Medan", "Victoria"],
        ["cities"],
        ["shortlist", "Tokyo", "--top", "1"],  # the note for a city outside the list
    ],
)
def test_errors_and_usage_in_indonesian(args, template, data_values):
    from click.testing import CliRunner

    from recommender.cli import main

    runner = CliRunner()
    with runner.isolation() as (out, err, _ignored):
        code = main([*args, "--lang", "id"])
        shown = out.getvalue().decode() + err.getvalue().decode()
    assert code in (0, 2), shown
    assert english_in(shown, template, data_values) == [], shown


def _xlsx_text(path) -> str:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    cells = [ws.title for ws in wb]
    for ws in wb:
        for row in ws.iter_rows(values_only=True):
            cells += [str(v) for v in row if isinstance(v, str)]
    return "\n".join(cells)


EXPORTS = [
    (["shortlist", "Medan"], "xlsx"),
    (["shortlist", "Medan"], "md"),
    (["shortlist", "Medan"], "html"),
    (["partners", "Medan"], "md"),
    (["partners", "Medan"], "xlsx"),
    (["compare", "Medan", "--scenario", "small-big", "--scenario", "symmetric"], "xlsx"),
    (["compare", "Medan", "--scenario", "small-big", "--scenario", "symmetric"], "md"),
]


@pytest.mark.parametrize(("args", "ext"), EXPORTS, ids=[f"{a[0]}.{e}" for a, e in EXPORTS])
def test_exports_in_indonesian_have_no_english(args, ext, tmp_path, template, data_values):
    from click.testing import CliRunner

    from recommender.cli import cli

    out = tmp_path / f"medan.{ext}"
    res = CliRunner().invoke(cli, [*args, "--lang", "id", "-o", str(out)])
    assert res.exit_code == 0, res.output
    raw = out.read_text(encoding="utf-8") if ext != "xlsx" else _xlsx_text(out)
    text = _visible_text(raw) if ext == "html" else raw
    if ext == "html":  # the folded Settings: the engine's filter-step log (see the README)
        text = text.split("\nPengaturan\n", 1)[0]
    left = english_in(text, template, data_values)
    assert left == [], (left, text[:3000])


def test_web_pages_in_indonesian_have_no_english(template, data_values):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from recommender.web.server import create_app

    client = TestClient(create_app())
    pages = [
        "/",
        "/shortlist?city=Medan",
        "/shortlist?city=Medan&feasibility=1",
        "/candidate?city=Medan&candidate=Incheon",
        "/versus?city=Medan&a=Incheon&b=Osaka",
        "/scenarios?city=Medan&scenario=small-big&scenario=symmetric",
        "/partners?city=Medan",
        "/download?city=Medan&format=html&inline=1",
    ]
    for url in pages:
        r = client.get(url + "&lang=id" if "?" in url else url + "?lang=id")
        assert r.status_code == 200, url
        text = _visible_text(r.text)
        text = text.split("\nPengaturan\n", 1)[0]  # the report's folded engine log
        left = english_in(text, template, data_values)
        assert left == [], (url, left, text[:3000])


def test_the_committed_template_holds_what_the_code_marks(catalog_tool, template):
    """The catalogue's template is what the extractor finds now: a message the code marks is
    never missing from it (then nobody is asked to translate it), nor a dead one kept."""
    from babel.messages.pofile import read_po

    with open(catalog_tool.TEMPLATE, "rb") as fh:
        committed = read_po(fh)
    assert {m.id for m in committed if m.id} == {m.id for m in template if m.id}


def test_every_command_help_is_extracted(template):
    """Every command's --help text is in the template, though the root group imports a
    command's module only when it is asked for (the extractor must ask for each)."""
    import inspect

    import click

    from recommender.cli import cli
    from recommender.cli.commands import COMMANDS

    ids = {m.id for m in template if m.id}
    ctx = click.Context(cli, info_name="sistercity")
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert inspect.cleandoc(command.help) in ids, name
        for param in command.params:
            if isinstance(param, click.Option) and param.help and not param.hidden:
                assert inspect.cleandoc(param.help) in ids, (name, param.name)
