"""The HTML report opens with the answer (top candidates and the map); a batch is a short
contents list with one folded section per local city."""

from __future__ import annotations

import pandas as pd
import pytest

from recommender.engine.shortlist import recommend
from recommender.io.answer import map_points
from recommender.io.report import html_report


@pytest.fixture(scope="module")
def medan() -> pd.DataFrame:
    return recommend("Medan", top=10)


def test_answer_comes_before_the_method(medan):
    page = html_report(medan)
    answer = page.index('id="answer"')
    assert answer < page.index('id="local"') < page.index('id="scenario"')
    assert answer < page.index('id="shortlist"')
    # the top list names the candidates in rank order
    first_names = [n for n in medan["name"]]
    positions = [page.index(f'<span class="n">{n}') for n in first_names]
    assert positions == sorted(positions)
    # settings are folded away, not a block of raw keys on top
    assert '<details class="method"><summary>Settings</summary>' in page


def test_report_map_marks_every_candidate_and_the_local_city(medan):
    page = html_report(medan)
    assert page.count('class="mark candidate"') == len(medan)
    assert page.count('class="mark local"') == 1
    pts = map_points(medan, medan.attrs)
    assert {p["kind"] for p in pts} == {"local", "candidate"}
    medan_pt = next(p for p in pts if p["kind"] == "local")
    assert medan_pt["lat"] == pytest.approx(3.58, abs=0.1)


def test_report_without_positions_has_no_map():
    df = pd.DataFrame({"rank": [1], "name": ["Busan"], "score": [0.8], "coupling": ["SB"]})
    page = html_report(df)
    assert (
        'id="answer"' in page and "<svg" not in page.split('id="answer"')[1].split("</section>")[0]
    )


def test_batch_report_is_contents_and_folded_cities():
    from recommender.engine.batch import batch_recommend

    df, _skipped = batch_recommend("capitals", "small-big", top=3)
    n = df["local_city_id"].nunique()
    page = html_report(df)
    assert page.count('<details class="city"') == n
    assert page.count('<details class="city" id="city-') == n
    assert page.count(" open>") == 1  # only the first city unfolded
    assert page.count('<li><a href="#city-') == n
    assert 'id="contributions"' not in page  # no 100-row chart
