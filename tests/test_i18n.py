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
