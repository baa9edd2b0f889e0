"""The binary cache of the packaged tables and the checksum check against MANIFEST.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from recommender.cli import cli
from recommender.data import cache as cache_mod
from recommender.data import tables
from recommender.errors import DataValidationError

DATA = Path(__file__).resolve().parents[1] / "data"
PACKAGED_TABLES = ("cities.csv.gz", "ties.csv.gz")


@pytest.fixture()
def data_copy(tmp_path, monkeypatch):
    """A private copy of the packaged tables and a private cache folder."""
    d = tmp_path / "data"
    d.mkdir()
    # with the small files a shortlist reads too, so that a test does not depend on
    # another having loaded them first (the urban premium is cached per process)
    for name in (*PACKAGED_TABLES, "MANIFEST.json", "eligibility.csv", "urban_premium.json"):
        shutil.copy2(DATA / name, d / name)
    monkeypatch.setenv("SISTERCITY_DATA_DIR", str(d))
    monkeypatch.setenv("SISTERCITY_CACHE_DIR", str(tmp_path / "cache"))
    return d


def test_cache_gives_the_same_tables_as_the_csv(data_copy, tmp_path):
    first = tables.load_cities()  # builds the cache from the CSV
    built = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert any(n.startswith("cities.csv.gz-") and n.endswith(".bin") for n in built)
    tables._load_cities_cached.cache_clear()
    tables._load_ties_cached.cache_clear()
    again = tables.load_cities()  # now from the cache
    assert again is not first
    pd.testing.assert_frame_equal(again, tables._read_cities(data_copy / "cities.csv.gz"))
    pd.testing.assert_frame_equal(tables.load_ties(), tables._read_ties(data_copy / "ties.csv.gz"))


def test_exact_name_needs_no_folded_index(data_copy, monkeypatch):
    tables.load_cities()
    tables._load_cities_cached.cache_clear()
    cities = tables.load_cities()  # from the cache, with the codes of the folded names

    def boom(_):
        raise AssertionError("the whole table was folded for an exact name")

    monkeypatch.setattr(tables, "_name_index", boom)
    assert int(tables.resolve_city("Medan", cities=cities)["city_id"]) == 1214520
    assert int(tables.resolve_city("İzmir", cities=cities)["city_id"]) == 311046


@pytest.mark.parametrize("name", PACKAGED_TABLES)
def test_a_flipped_byte_is_refused_in_one_line_naming_the_file(data_copy, name):
    path = data_copy / name
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    res = CliRunner().invoke(cli, ["shortlist", "Medan"], standalone_mode=True)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.output
    assert name in lines[0] and "MANIFEST.json" in lines[0]
    assert "Traceback" not in res.output


def test_the_check_is_made_again_when_the_file_changes(data_copy):
    tables.load_ties()  # verified and recorded
    path = data_copy / "ties.csv.gz"
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    path.write_bytes(bytes(raw))  # same size, new mtime/ctime: the record no longer applies
    with pytest.raises(DataValidationError, match=r'"ties\.csv\.gz".*MANIFEST\.json'):
        cache_mod.verify_table(path, cache_mod.cache_dir())


def test_a_changed_table_with_its_manifest_rebuilds_the_cache(data_copy, tmp_path):
    tables.load_ties()
    ties = tables._read_ties(data_copy / "ties.csv.gz").iloc[:50]
    ties.to_csv(data_copy / "ties.csv.gz", index=False)
    man = json.loads((data_copy / "MANIFEST.json").read_text())
    man["checksums_sha256"]["ties.csv.gz"] = cache_mod.sha256_file(data_copy / "ties.csv.gz")
    (data_copy / "MANIFEST.json").write_text(json.dumps(man))
    tables._load_ties_cached.cache_clear()
    assert len(tables.load_ties()) == 50
    caches = [p for p in (tmp_path / "cache").iterdir() if p.name.startswith("ties.csv.gz-")]
    assert len(caches) == 2  # the old one (other digest) is never read again


def test_the_eligibility_table_is_cached_by_content_and_checked_again_when_edited(data_copy):
    path = data_copy / "eligibility.csv"
    first = tables.load_eligibility()  # read, validated, cached
    pd.testing.assert_frame_equal(first, tables._read_eligibility(path))
    tables._load_eligibility_cached.cache_clear()
    again = tables.load_eligibility()  # from the cache file: the same table
    assert again is not first
    pd.testing.assert_frame_equal(again, first)
    # an edit (same size: one status changed) is read and validated again, not served
    # from the cache of the old content
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("AD,Andorra,yes,", "AD,Andorra,mby,", 1), encoding="utf-8")
    tables._load_eligibility_cached.cache_clear()
    with pytest.raises(DataValidationError, match="'mby' is not one of"):
        tables.load_eligibility()


def test_cache_files_hold_no_objects(tmp_path):
    df = pd.DataFrame({"a": [1.0, np.nan], "s": ["x", "y"], "b": [True, False]})
    p = tmp_path / "t.bin"
    cache_mod.save_frame(df, p, source_sha256="f" * 64)
    meta, arrays = cache_mod.read_arrays(p)
    assert all(not a.dtype.hasobject for a in arrays.values())
    # a header that claims an object array is refused, not unpickled
    raw = p.read_bytes()
    bad = raw.replace(b'"dtype": "<f8"', b'"dtype": "|O8"', 1)
    assert bad != raw
    p.write_bytes(bad)
    with pytest.raises(ValueError, match="object arrays"):
        cache_mod.read_arrays(p)


def test_a_column_sharing_values_with_an_earlier_one_takes_its_strings(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "_BORROW_MIN", 2)
    names = [f"city {i}" for i in range(12)]
    ascii_ = names[:9] + ["other 9", None, "city 3"]  # 9 shared values, one missing, one new
    df = pd.DataFrame(
        {"n": pd.array(names, dtype="str"), "x": [1.0] * 12, "a": pd.array(ascii_, dtype="str")}
    )
    p = tmp_path / "t.bin"
    cache_mod.save_frame(df, p, source_sha256="f" * 64)
    meta, arrays = cache_mod.read_arrays(p)
    assert meta["columns"][2][3] == 0 and "b2" in arrays  # "a" borrows from "n"
    back, codes = cache_mod.load_frame(p, source_sha256="f" * 64)
    pd.testing.assert_frame_equal(back, df)
    # the shared values are the same objects, not copies
    assert back["a"].iloc[4] is back["n"].iloc[4]
    assert codes["a"][1].tolist() == [f"city {i}" for i in range(9)] + ["other 9"]
    # a borrowing index past the other column's values is refused (then rebuilt)
    raw = bytearray(p.read_bytes())
    at = len(cache_mod.MAGIC) + 8
    hlen = int.from_bytes(raw[at - 8 : at], "little")
    (spec,) = [a for a in json.loads(raw[at : at + hlen])["arrays"] if a["key"] == "b2"]
    start = -(-(at + hlen) // 64) * 64 + spec["offset"]
    raw[start : start + 4] = (999).to_bytes(4, "little")
    p.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="borrows"):
        cache_mod.load_frame(p, source_sha256="f" * 64)


@pytest.mark.parametrize("step", [1, 2, 5, 64])
def test_string_blocks_decoded_in_pieces_give_every_value(monkeypatch, step):
    monkeypatch.setattr(cache_mod, "_UNBLOB_STEP", step)
    rng = np.random.default_rng(step)
    letters = ["a", "é", "中", "𝄞", "", " ", "xyz"]  # 1 to 4 bytes a character, and empties
    for _ in range(300):
        n = int(rng.integers(1, 40))
        values = ["".join(rng.choice(letters, int(rng.integers(0, 12)))) for _ in range(n)]
        block = cache_mod._blob(values)
        assert cache_mod._unblob(block, n).tolist() == values
        for wrong in (n - 1, n + 1):  # a block with another number of values is refused
            if wrong >= 1:
                with pytest.raises(ValueError, match="number of values"):
                    cache_mod._unblob(block, wrong)


def test_a_cache_of_another_file_is_not_used(tmp_path):
    df = pd.DataFrame({"a": [1, 2]})
    p = tmp_path / "t.bin"
    cache_mod.save_frame(df, p, source_sha256="a" * 64)
    with pytest.raises(ValueError, match="another file"):
        cache_mod.load_frame(p, source_sha256="b" * 64)


def test_cache_can_be_switched_off(data_copy, monkeypatch):
    monkeypatch.setenv("SISTERCITY_CACHE_DIR", "off")
    assert cache_mod.cache_dir() is None
    assert len(tables.load_ties()) > 1000


def test_cache_arrays_are_private_copies_of_the_file(tmp_path):
    df = pd.DataFrame({"a": [1.0, 2.0], "s": ["x", "y"]})
    p = tmp_path / "t.bin"
    cache_mod.save_frame(df, p, source_sha256="f" * 64)
    before = p.read_bytes()
    _meta, arrays = cache_mod.read_arrays(p)
    arrays["v0"][0] = 99.0  # writable, and the write stays in this process
    assert p.read_bytes() == before
    again, _codes = cache_mod.load_frame(p, source_sha256="f" * 64)
    assert again["a"].tolist() == [1.0, 2.0]


def test_an_empty_cache_file_is_rebuilt(data_copy, tmp_path):
    tables.load_ties()
    (cache,) = [p for p in (tmp_path / "cache").iterdir() if p.name.startswith("ties.csv.gz-")]
    cache.write_bytes(b"")
    tables._load_ties_cached.cache_clear()
    assert len(tables.load_ties()) > 1000
    assert cache.stat().st_size > 0


def test_the_comparable_table_carries_the_string_codes(data_copy):
    from recommender.data.modelled import comparable_cities

    raw = tables.load_cities()
    cities = comparable_cities(raw)
    assert cities is not raw
    for column in ("country_code", "gdp_per_capita_usd_level", "gdp_per_capita_usd_source"):
        codes, uniques = cache_mod.codes_of(cities, column)
        assert (np.append(uniques, None)[codes] == cities[column].to_numpy(dtype=object)).all()
    assert "modelled" in set(cities["gdp_per_capita_usd_level"])
    # the raw table is unchanged (the comparable one shares its other columns)
    assert "modelled" not in set(raw["gdp_per_capita_usd_level"])
    assert cache_mod.codes_of(raw, "gdp_per_capita_usd_level")[1].tolist().count("modelled") == 0


def test_the_partner_pairs_kept_with_the_ties_equal_the_ones_computed(data_copy):
    from recommender.data.tables import PAIR_KEYS, build_partner_pairs, partner_pairs

    tables.load_ties()  # builds the cache
    tables._load_ties_cached.cache_clear()
    ties = tables.load_ties()  # from the cache, with the pairs
    kept = partner_pairs(ties)
    assert all(cache_mod.codes_of(ties, k)[1] is None for k in PAIR_KEYS)
    fresh = build_partner_pairs(tables._read_ties(data_copy / "ties.csv.gz"))
    for got, want in zip(kept, (fresh[k] for k in PAIR_KEYS)):
        assert got.dtype == np.int64 and np.array_equal(got, want)


def test_the_partners_context_is_the_same_through_the_tables_arrays(data_copy):
    from recommender.engine import arrays, ranking

    cities, ties = tables.load_cities(), tables.load_ties()
    local = tables.resolve_city("Medan", cities=cities)
    # candidates with many partners, some sharing ids with the local city's country
    ids = cities["city_id"].to_numpy()[np.argsort(-cities["n_partners"].to_numpy())[:300]]
    ranking._PARTNER_INDEX.clear()
    assert arrays.built_arrays(cities) is None
    plain = ranking.context_columns(ids, local, cities, ties)  # ids looked up by pandas
    arrays.table_arrays(cities)
    ranking._PARTNER_INDEX.clear()
    fast = ranking.context_columns(ids, local, cities, ties)  # through the arrays' order
    assert plain.keys() == fast.keys()
    for key in plain:
        assert plain[key].tolist() == fast[key].tolist(), key
    assert plain["partners_in_country"].sum() > 0 and plain["n_partners"].sum() > 1000


def test_the_comparable_table_is_the_same_with_or_without_the_codes(data_copy):
    from recommender.data.modelled import comparable_cities

    raw = tables.load_cities()
    assert cache_mod.codes_of(raw, "gdp_per_capita_usd_level") is not None
    plain = raw.copy()  # a copy has no registered codes: the values are compared as strings
    assert cache_mod.codes_of(plain, "gdp_per_capita_usd_level") is None
    pd.testing.assert_frame_equal(comparable_cities(raw), comparable_cities(plain))
