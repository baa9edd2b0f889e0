"""The two front ends call the same use cases (recommender.app): the CLI and the web app give
the same shortlist and the same workbook for the same question."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from recommender import app
from recommender.cli import cli
from recommender.engine.shortlist import recommend

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from recommender.web.server import create_app  # noqa: E402


def _sheets(data: bytes) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb}


def test_rank_is_recommend_with_the_request_options():
    req = app.ShortlistRequest(
        city="Medan",
        top=5,
        countries=["JP", "KR"],
        diversity=0.2,
        include_city_parts=True,
        feasibility="auto",
    )
    local, df = app.rank(req)
    assert local["name"] == "Medan"
    want = recommend(
        "Medan", "small-big", top=5, countries=["JP", "KR"], diversity=0.2,
        include_city_parts=True, feasibility="auto",
    )  # fmt: skip
    pd.testing.assert_frame_equal(df, want)


def test_cli_and_web_write_the_same_workbook(tmp_path):
    out = tmp_path / "medan.xlsx"
    res = CliRunner().invoke(
        cli, ["shortlist", "Medan", "--top", "5", "-o", str(out)]
    )  # the default ranking in both front ends (fit and feasibility blended)
    assert res.exit_code == 0, res.output
    web = TestClient(create_app()).get(
        "/download", params={"city": "Medan", "top": 5, "format": "xlsx", "lang": "en"}
    )
    assert web.status_code == 200
    from_cli, from_web = _sheets(out.read_bytes()), _sheets(web.content)
    assert list(from_cli) == list(from_web)
    for name in from_cli:
        assert from_cli[name] == from_web[name], name
    # the Sources sheet names where the candidates' figures come from (the web's workbook
    # left the candidates' sources empty before both front ends wrote through app.write_table)
    cand = [r for r in from_web["Sources"] if r[0] == "Candidates" and r[2] != "no data"]
    assert cand and all(r[3] for r in cand), cand
