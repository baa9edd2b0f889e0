"""Property tests (hypothesis) at the two places users hand the engine a file: scenario
TOML files and city CSVs. Whatever the file holds, it either scores (a non-empty shortlist)
or is refused with a one-line :class:`~recommender.errors.RecommenderError`; no other
exception escapes, and no numpy warning (overflow, invalid value) is raised on the way.

Example counts are modest and the examples derandomised, so the suite stays fast and its
result does not change from run to run.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import build_cities
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from recommender.cli import main
from recommender.data import tables
from recommender.data.indicators import INDICATOR_NAMES
from recommender.engine.scenarios import BAND_KEYS, FILTER_KEYS, TOP_KEYS, Scenario
from recommender.engine.shortlist import recommend
from recommender.errors import RecommenderError

PROPERTY = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

WORLD = build_cities(
    [
        dict(
            city_id=1,
            name="Lokal",
            country_code="ID",
            is_local=True,
            gdp_per_capita_usd=4000.0,
            hdi=0.72,
            population=800_000.0,
        ),
        dict(city_id=2, name="Tokio", country_code="JP", gdp_per_capita_usd=33000.0, hdi=0.92),
        dict(city_id=3, name="Busan", country_code="KR", gdp_per_capita_usd=30000.0, hdi=0.9),
    ],
    n_random=60,
)


def _no_bad_exception(fn):
    """Run ``fn``; a RecommenderError must be one line; anything else fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # overflow / invalid value in numpy
        try:
            out = fn()
            event("scored")
            return out
        except RecommenderError as exc:
            event(f"refused: {type(exc).__name__}")
            text = str(exc)
            assert text and "\n" not in text and "\r" not in text, repr(text)
            assert len(text) < 2000, len(text)
            return None


# --------------------------------------------------------------------------- TOML emitter


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_value(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml_document(doc: dict) -> str:
    return "".join(f"{toml_value(k)} = {toml_value(v)}\n" for k, v in doc.items())


KEYS = st.sampled_from([*TOP_KEYS, *INDICATOR_NAMES, *BAND_KEYS, *FILTER_KEYS]) | st.text(
    max_size=4
)
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 50),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 2, 1e308, -1e308, 1e-320, 5e-324, 0.5, 1.5]),
)
SCALARS = st.one_of(
    NUMBERS,
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["false", "true", "small-big", "city", "JP", "AS", *INDICATOR_NAMES]),
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=8,
)


@st.composite
def bands(draw, indicator: str = "population"):
    span = st.floats(-0.5, 0.5) if indicator == "hdi" else st.floats(0.05, 30)
    values = sorted(draw(st.lists(span, min_size=4, max_size=4)))
    if draw(st.booleans()):
        return values
    out = dict(zip(("min", "lo", "hi", "max"), values, strict=True))
    if draw(st.booleans()):
        out["two_sided"] = draw(st.booleans() | st.sampled_from(["false", 0, 1]))
    return out


@st.composite
def mutated_scenarios(draw) -> dict:
    """A valid document (a preset base, positive weights, ordered bands), then, half of
    the time, one key replaced by anything: so scoring and refusal are both exercised."""
    inds = draw(st.lists(st.sampled_from(INDICATOR_NAMES), min_size=1, max_size=4, unique=True))
    doc = {
        "name": draw(st.text(st.characters(categories=["L", "N", "P"]), min_size=1, max_size=12)),
        "base": draw(st.sampled_from(["small-big", "symmetric", "asymmetric", "complementary"])),
        "weights": {i: draw(st.floats(0.1, 5)) for i in inds},
        "bands": {i: draw(bands(i)) for i in inds if draw(st.booleans())},
        "min_coverage": draw(st.floats(0, 0.5)),
    }
    if draw(st.booleans()):
        key = draw(st.sampled_from(sorted(doc)))
        if isinstance(doc[key], dict) and doc[key] and draw(st.booleans()):
            sub = draw(st.sampled_from(sorted(doc[key])))
            doc[key][sub] = draw(JUNK)
        else:
            doc[key] = draw(JUNK)
    return doc


RANDOM_DOCS = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=20) | JUNK,
        "base": st.sampled_from(["small-big", "symmetric", "asymmetric", "nope"]) | JUNK,
        "weights": st.one_of(
            *[st.dictionaries(st.sampled_from(INDICATOR_NAMES), st.floats(0, 5), min_size=1)] * 3,
            st.dictionaries(st.sampled_from(INDICATOR_NAMES), NUMBERS, max_size=4),
            JUNK,
        ),
        "bands": st.one_of(
            *[
                st.sampled_from(INDICATOR_NAMES).flatmap(
                    lambda ind: st.fixed_dictionaries({ind: bands(ind)})
                )
            ]
            * 3,
            st.dictionaries(st.sampled_from(INDICATOR_NAMES), bands() | JUNK, max_size=4),
            JUNK,
        ),
        "tolerance": st.dictionaries(st.sampled_from(INDICATOR_NAMES), NUMBERS, max_size=2) | JUNK,
        "filters": st.fixed_dictionaries(
            {},
            optional={
                "countries": st.lists(st.sampled_from(["JP", "KR", "XX", ""]), max_size=3) | JUNK,
                "min_population": NUMBERS | JUNK,
                "min_level": st.dictionaries(
                    st.sampled_from(INDICATOR_NAMES),
                    st.sampled_from(["city", "region", "x"]) | JUNK,
                    max_size=2,
                ),
            },
        )
        | JUNK,
        "max_per_country": st.integers(-3, 2**66) | JUNK,
        "imputed_penalty": NUMBERS | JUNK,
        "min_coverage": NUMBERS | JUNK,
        "required": st.lists(st.sampled_from(INDICATOR_NAMES), max_size=2) | JUNK,
        "require_complementary": st.booleans() | JUNK,
    },
) | st.dictionaries(KEYS, JUNK, max_size=4)
SCENARIO_DOCS = st.one_of(mutated_scenarios(), mutated_scenarios(), RANDOM_DOCS)


@PROPERTY
@given(doc=SCENARIO_DOCS)
def test_any_scenario_file_scores_or_is_refused_in_one_line(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("s") / "s.toml"
    path.write_text(toml_document(doc), encoding="utf-8")

    def run():
        scen = Scenario.from_toml(path)
        df = recommend(1, scen, cities=WORLD, ties=pd.DataFrame(), top=5)
        assert len(df) >= 1
        assert np.isfinite(df["score"].to_numpy()).all()
        assert ((df["score"] >= 0) & (df["score"] <= 1)).all()
        return df

    _no_bad_exception(run)


@PROPERTY
@given(text=st.text(max_size=300), cut=st.integers(0, 4000))
def test_any_text_as_a_scenario_file_scores_or_is_refused(tmp_path_factory, text, cut):
    """Random text, and random edits of a real scenario file."""
    base = Scenario.to_toml(Scenario.from_dict({"base": "small-big"}))
    edited = base[:cut] + text + base[cut + len(text) // 2 :]
    for content in (text, edited):
        path = tmp_path_factory.mktemp("t") / "t.toml"
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
        _no_bad_exception(
            lambda p=path: recommend(1, Scenario.from_toml(p), cities=WORLD, ties=pd.DataFrame())
        )


# --------------------------------------------------------------------------- user CSVs

COLUMNS = st.sampled_from(
    [
        "city_id",
        "name",
        "country",
        "year",
        "note",
        *INDICATOR_NAMES,
        "hdi_year",
        "is_local",
        "",
        "x",
    ]
)
CELLS = st.one_of(
    st.sampled_from(
        [
            "1",
            "2",
            "3",
            "1214520",
            "Lokal",
            "Tokio",
            "ID",
            "JP",
            "Japan",
            "0.8",
            "83.7",
            "1,234",
            "1e999",
            "nan",
            "inf",
            "-5",
            "0",
            "0x10",
            "1_000",
            "١٢٣",
            "2025",
            "1800",
            "",
            " ",
            "True",
            "no",
            '"',
            "a\nb",
            "9" * 40,
        ]
    ),
    st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
)


@st.composite
def csv_files(draw) -> bytes:
    header = draw(st.lists(COLUMNS, min_size=1, max_size=5))
    rows = draw(
        st.lists(
            st.lists(CELLS, min_size=max(0, len(header) - 1), max_size=len(header) + 1),
            max_size=5,
        )
    )

    def field(v: str) -> str:
        if any(c in v for c in ',"\n\r') and draw(st.booleans()):
            return '"' + v.replace('"', '""') + '"'
        return v

    text = "\n".join(",".join(field(v) for v in r) for r in [header, *rows]) + "\n"
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


GOOD_VALUES = {
    "population": st.floats(1000, 5e7).map(lambda v: f"{v:.0f}"),
    "area_km2": st.floats(1, 5000).map(lambda v: f"{v:.1f}"),
    "gdp_per_capita_usd": st.floats(500, 90000).map(lambda v: f"{v:,.0f}"),
    "hdi": st.floats(0.3, 0.99).map(lambda v: f"{v:.3f}"),
    "year": st.integers(1990, 2030).map(str),
}


@st.composite
def structured_csv(draw) -> bytes:
    """Mostly valid files (ids or names of the world's cities, values in range), then a
    mutation half of the time: so both outcomes, scoring and refusal, are exercised."""
    by_id = draw(st.booleans())
    cols = draw(st.lists(st.sampled_from(list(GOOD_VALUES)), min_size=1, max_size=4, unique=True))
    header = (["city_id"] if by_id else ["name", "country"]) + cols
    picks = draw(
        st.lists(st.sampled_from([1, 2, 3, 2_000_001, 2_000_005]), max_size=4, unique=True)
    )
    names = {1: ("Lokal", "ID"), 2: ("Tokio", "JP"), 3: ("Busan", "KR")}
    rows = []
    for cid in picks:
        if not by_id and cid not in names:
            continue
        key = [str(cid)] if by_id else list(names[cid])
        rows.append(key + [draw(GOOD_VALUES[c] | st.just("")) for c in cols])
    if rows and draw(st.booleans()):
        i = draw(st.integers(0, len(rows) - 1))
        mutation = draw(st.sampled_from(["cell", "extra", "short", "dup"]))
        if mutation == "cell":
            j = draw(st.integers(0, len(header) - 1))
            rows[i][j] = draw(CELLS)
        elif mutation == "extra":
            rows[i].append(draw(CELLS))
        elif mutation == "short":
            rows[i].pop()
        else:
            rows.append(list(rows[i]))
    text = "\n".join(",".join(f'"{v}"' if "," in v else v for v in r) for r in [header, *rows])
    return (text + "\n").encode("utf-8")


@PROPERTY
@given(data=st.one_of(structured_csv(), structured_csv(), csv_files()))
def test_any_user_csv_scores_or_is_refused_in_one_line(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("c") / "mine.csv"
    path.write_bytes(data)

    def run():
        cities = tables.apply_user_cities(WORLD, path)
        assert len(cities) == len(WORLD)
        user = cities.filter(like="_level").eq("user").to_numpy()
        for ind in INDICATOR_NAMES:
            v = cities[ind].to_numpy(dtype=float)
            assert np.isnan(v[~np.isnan(v)]).sum() == 0 and np.isfinite(v[~np.isnan(v)]).all()
        assert user.sum() >= 0
        return recommend(1, "symmetric", cities=cities, ties=pd.DataFrame(), top=3)

    _no_bad_exception(run)


@settings(PROPERTY, max_examples=25)
@given(data=st.one_of(structured_csv(), csv_files()), doc=SCENARIO_DOCS)
def test_cli_with_any_files_is_one_line(tmp_path_factory, data, doc):
    """Through the real command line on the packaged data: exit 0, or exit 2 and one line."""
    folder: Path = tmp_path_factory.mktemp("cli")
    (folder / "c.csv").write_bytes(data)
    (folder / "s.toml").write_text(toml_document(doc), encoding="utf-8")
    runner = CliRunner()
    for args in (
        ["shortlist", "Medan", "--top", "3", "--user-data", str(folder / "c.csv")],
        ["shortlist", "Medan", "--top", "3", "--scenario", str(folder / "s.toml")],
    ):
        with runner.isolation() as (out, err, _):
            code = main(args)
        text = err.getvalue().decode()
        assert code in (0, 2), text
        if code == 2:
            assert text.startswith("Error: ") and text.count("\n") == 1, text
        assert "Traceback" not in text
    assert sorted(p.name for p in folder.iterdir()) == ["c.csv", "s.toml"]


def test_the_issue_example_is_refused(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(toml_document({"weights": {"hdi": 1e308, "gdp_per_capita_usd": 1e308}}))
    with pytest.raises(RecommenderError, match=r"1e\+308"):
        Scenario.from_toml(path)
