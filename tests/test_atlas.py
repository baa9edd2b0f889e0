"""The global atlas: the same answer as recommend() for every local city, in any chunking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from recommender.cli import cli
from recommender.data.tables import load_cities, load_ties
from recommender.engine.atlas import LOCAL_COLUMNS, atlas, atlas_columns
from recommender.engine.shortlist import recommend
from recommender.errors import FilterError

# The atlas ranks by strategy fit, without robustness draws.
FIT_ONLY = {"fit_only": True, "robustness": 0}


def _expected(ids, cities, ties, **options) -> pd.DataFrame:
    frames = []
    for cid in ids:
        try:
            df = recommend(int(cid), cities=cities, ties=ties, **FIT_ONLY, **options)
        except FilterError:
            continue
        df = df.drop(columns=["why"])
        local = cities.loc[cities["city_id"] == cid].iloc[0]
        df.insert(0, "local_country_code", local["country_code"])
        df.insert(0, "local_name", local["name"])
        df.insert(0, "local_city_id", int(cid))
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got = got.reset_index(drop=True)
    want = want.reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    for c in got.columns:
        a, b = got[c].to_numpy(), want[c].to_numpy()
        if a.dtype.kind == "f":
            assert np.array_equal(a, b.astype(float), equal_nan=True), c
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), c


@pytest.mark.slow
def test_atlas_equals_recommend_for_50_cities_of_any_country():
    cities, ties = load_cities(), load_ties()
    rng = np.random.default_rng(7)
    ids = rng.choice(cities["city_id"].to_numpy(), 50, replace=False)
    assert cities.set_index("city_id").loc[ids, "country_code"].nunique() > 10
    got = atlas(local_ids=ids, chunk_size=16)
    assert list(got.columns) == atlas_columns()
    _same(got, _expected(ids, cities, ties))


def test_atlas_equals_recommend_with_options():
    cities, ties = load_cities(), load_ties()
    ids = [1214520, 1850147, 2988507, 3448439, 1625822]
    opts = dict(top=4, method="topsis", max_per_country=1, continents=["EU", "AS"])
    _same(atlas(local_ids=ids, chunk_size=2, **opts), _expected(ids, cities, ties, **opts))


def test_workers_give_the_same_rows_in_the_same_order():
    ids = [1214520, 1850147, 2988507, 3448439, 1625822, 311046, 1642911]
    one = atlas(local_ids=ids, chunk_size=2, top=3)
    two = atlas(local_ids=ids, chunk_size=2, top=3, n_jobs=2)
    pd.testing.assert_frame_equal(one, two)
    # the order of the local cities is kept (a city with no candidate is left out)
    got = one["local_city_id"].drop_duplicates().tolist()
    assert len(got) >= 5 and got == [i for i in ids if i in set(got)]


def test_atlas_on_a_table_of_ones_own_skips_cities_without_candidates(toy):
    cities, ties = toy
    df = atlas(cities=cities, ties=ties, top=2, countries=["JP"])
    japanese = set(cities.loc[cities["country_code"] == "JP", "city_id"])
    # a Japanese local city has no candidate left (domestic ones are excluded)
    assert set(df.attrs["skipped"]) == japanese
    assert (df["country_code"] == "JP").all() and len(df) > 0
    others = [c for c in cities["city_id"] if c not in japanese]
    _same(df, _expected(others, cities, ties, top=2, countries=["JP"]))


def test_why_on_demand():
    df = atlas(local_ids=[1214520], top=2, why=True)
    assert list(df.columns) == atlas_columns(why=True)
    assert df["why"].str.len().min() > 20
    assert recommend(1214520, top=2, **FIT_ONLY)["why"].tolist() == df["why"].tolist()


def test_atlas_refuses_options_it_cannot_honour():
    with pytest.raises(FilterError, match="no 'overrides' option"):
        atlas(local_ids=[1214520], overrides={"hdi": 0.5})
    with pytest.raises(FilterError, match="No city has id 1"):
        atlas(local_ids=[1])


def test_cli_atlas_csv_is_deterministic(tmp_path):
    out = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for p in out:
        res = CliRunner().invoke(
            cli,
            ["atlas", "-o", str(p), "--local", "1214520", "--local", "1850147", "--top", "3"],
        )
        assert res.exit_code == 0, res.output
    assert out[0].read_bytes() == out[1].read_bytes()
    df = pd.read_csv(out[0], keep_default_na=False)
    assert f"Wrote {len(df)} rows" in res.output
    assert list(df.columns) == LOCAL_COLUMNS + atlas_columns()[len(LOCAL_COLUMNS) :]
    want = [
        cid
        for cid in (1214520, 1850147)
        for _ in range(len(recommend(cid, top=3, fit_only=True, robustness=0)))
    ]
    assert df["local_city_id"].tolist() == want


def test_cli_atlas_parquet_needs_pyarrow_or_writes_parquet(tmp_path):
    target = tmp_path / "a.parquet"
    res = CliRunner().invoke(cli, ["atlas", "-o", str(target), "--local", "1214520"])
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert res.exit_code == 2
        assert res.output.strip().splitlines() == [
            'Error: Parquet output needs pyarrow: pip install "sistercity[parquet]", or write .csv'
        ]
        assert not target.exists()
    else:
        assert res.exit_code == 0, res.output
        assert len(pd.read_parquet(target)) == 10


def test_cli_atlas_bad_format_is_one_line(tmp_path):
    res = CliRunner().invoke(cli, ["atlas", "-o", str(tmp_path / "a.xlsx")])
    assert res.exit_code == 2
    assert res.output.startswith("Error: ") and "csv or parquet" in res.output
    assert not (tmp_path / "a.xlsx").exists()
