"""Tests for recommender.io.export: formats, round trips and atomic, refusing writes."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import re
import stat
import types
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from recommender.errors import OutputError
from recommender.i18n import column_label, language
from recommender.io import atomic, export
from recommender.io.export import display_width

INDICATORS = ("population", "area_km2", "gdp_per_capita_usd", "hdi")


@pytest.fixture
def make_shortlist():
    """Factory for a small shortlist shaped like ``recommend()`` output."""

    def make(n: int = 4) -> pd.DataFrame:
        names = ["İzmir", "Đà Nẵng", 'Pipe|Town, "quoted"', "東京", "Fès", "=HYPERLINK(1)"]
        df = pd.DataFrame(
            {
                "rank": list(range(1, n + 1)),
                "city_id": [311046, 1583992, 999, 1850147, 2548885, 7][:n],
                "name": names[:n],
                "country_code": ["TR", "VN", "XX", "JP", "MA", "ZZ"][:n],
                "admin1_name": ["İzmir", None, "Nowhere", "Tokyo", "Fès-Meknès", "Z"][:n],
                "score": [0.8734, 1 / 3, 0.1 + 0.2, 1e-300, 123456789.123456789, 0.5][:n],
                "coupling": ["SB", "SB", "BB", "SS", "BS", "SB"][:n],
            }
        )
        for k, ind in enumerate(INDICATORS):
            df[f"{ind}_ratio"] = [1.5 + k, 0.25, np.nan, 12.0, 40.0, 0.05][:n]
            df[f"{ind}_class"] = ["Big", "Small", "Symmetry", "Big", "Big", "Small"][:n]
            df[f"{ind}_contribution"] = [0.2, 0.15, 0.1, 0.05, 0.12, 0.1][:n]
            df[f"{ind}_level"] = ["city", "country", "missing", "imputed", "region", "user"][:n]
        df["distance_km"] = [8000.5, 2500.25, np.nan, 5800.0, 12000.0, 1.0][:n]
        df["existing_partner"] = [False, True, False, True, False, False][:n]
        df["why"] = ["Partner richer (×2.5, country data)", "a | b\nnext line", "x", "y", "z", "w"][
            :n
        ]
        df.attrs = {
            "local": {"name": "Medan", "country_name": "Indonesia", "hdi": 0.812},
            "scenario": "small-big",
            "filters": {"continent": ["AS", "EU"]},
        }
        return df

    return make


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("a.JSON", "json"),
        ("dir.v2/a.xlsx", "xlsx"),
        ("a.md", "md"),
        ("a.markdown", "md"),
        ("a.html", "html"),
        ("a.htm", "html"),
    ],
)
def test_format_from_path(name, fmt):
    assert export.format_from_path(name) == fmt


def test_unknown_extension_names_it_and_the_allowed_ones():
    with pytest.raises(
        OutputError,
        match=r'Unknown output extension "\.txt" in "out\.txt"; allowed: \.csv, \.json, \.xlsx, \.md',
    ):
        export.format_from_path("out.txt")


def test_missing_extension():
    with pytest.raises(OutputError, match=r'"shortlist": it has no extension; use one of \.csv'):
        export.format_from_path("shortlist")


def test_unknown_format_name():
    with pytest.raises(
        OutputError, match=r'Unknown output format "pdf"; allowed: table, csv, json'
    ):
        export.render(pd.DataFrame({"a": [1]}), "pdf")


def test_format_value_reads_well():
    assert [export.format_value(v) for v in (0.87341, 0.0043, 12.345, 2435252.0)] == [
        "0.873",
        "0.00430",
        "12.3",
        "2,435,252",
    ]
    assert [export.format_value(v) for v in (3, np.int64(2024), True, np.nan, None)] == [
        "3",
        "2024",
        "yes",
        "n/a",
        "n/a",
    ]


def test_to_jsonable_handles_numpy_sets_and_missing():
    out = export.to_jsonable(
        {"n": np.int64(3), "x": np.float64("nan"), "s": {"b", "a"}, "t": (1, pd.NA)}
    )
    assert out == {"n": 3, "x": None, "s": ["a", "b"], "t": [1, None]}
    assert isinstance(out["n"], int)


def test_to_jsonable_dataclass_with_mappingproxy():
    @dataclasses.dataclass(frozen=True)
    class Frozen:
        name: str
        weights: types.MappingProxyType

    out = export.to_jsonable(Frozen("s", types.MappingProxyType({"hdi": np.float64(0.5)})))
    assert out == {"name": "s", "weights": {"hdi": 0.5}}


def test_local_from_meta_merges_recommend_attrs():
    meta = {
        "local_name": "Medan",
        "local_country_code": "ID",
        "local_values": {"hdi": 0.8374},
        "local_levels": {"hdi": "city"},
    }
    assert export.local_from_meta(meta) == {
        "name": "Medan",
        "country_code": "ID",
        "hdi": 0.8374,
        "hdi_level": "city",
    }
    assert export.title_from_meta({**meta, "scenario": "symmetric"}) == (
        "Sister-city partner shortlist for Medan (ID), scenario symmetric"
    )


# --------------------------------------------------------------------------- CSV


def test_csv_round_trip_is_exact(tmp_path, make_shortlist):
    df = make_shortlist(5)
    path = export.write(df, tmp_path / "s.csv")
    back = pd.read_csv(path)
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert back["existing_partner"].dtype == bool
    assert back.loc[1, "name"] == "Đà Nẵng"
    assert back.loc[3, "score"] == 1e-300


def test_csv_is_utf8_without_index(tmp_path, make_shortlist):
    path = export.write(make_shortlist(2), tmp_path / "s.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"rank,city_id,name,")
    assert "İzmir".encode() in raw
    assert b"\r\n" not in raw


# --------------------------------------------------------------------------- JSON


def test_json_round_trips_through_pandas_read_json(tmp_path, make_shortlist):
    df = make_shortlist(6)
    path = export.write(df, tmp_path / "s.json")
    back = pd.read_json(path)
    pd.testing.assert_frame_equal(back, df, check_exact=False, rtol=1e-15)
    assert back["existing_partner"].dtype == bool
    assert back["rank"].dtype == np.int64
    assert export.read_json_export(path).equals(back)


def test_json_layout_is_strict_json_records(tmp_path, make_shortlist):
    df = make_shortlist(3)
    path = export.write(df, tmp_path / "s.json", meta={"method": "wsm", "count": np.int64(3)})

    def reject(token):
        raise AssertionError(f"non-standard JSON token {token}")

    doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)
    assert isinstance(doc, list) and len(doc) == 3
    first, third = doc[0], doc[2]
    assert list(first) == list(df.columns)
    assert first["rank"] == 1 and type(first["rank"]) is int
    assert first["existing_partner"] is False
    assert third["population_ratio"] is None
    assert "İzmir" in path.read_text(encoding="utf-8")  # not \u-escaped


def test_json_infinity_is_text_and_earlier_layout_still_reads(tmp_path):
    df = pd.DataFrame({"x": [np.inf, -np.inf, 0.5]})
    assert json.loads(export.render(df, "json"))[0]["x"] == "inf"
    old = tmp_path / "old.json"
    old.write_text(
        '{"meta": {"scenario": "small-big"}, "columns": [{"name": "n", "dtype": "Int64"}], '
        '"rows": [{"n": 1}, {"n": null}]}'
    )
    back = export.read_json_export(old)
    assert str(back["n"].dtype) == "Int64" and back.attrs["scenario"] == "small-big"


def test_json_refuses_duplicate_columns():
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(OutputError, match="duplicate column name"):
        export.render(df, "json")


# --------------------------------------------------------------------------- XLSX


def test_xlsx_cells_match(tmp_path, make_shortlist):
    df = make_shortlist(6)
    with language("en"):
        path = export.write(df, tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Shortlist", "Glossary", "Sources", "Settings"]
    ws = wb["Shortlist"]
    rows = list(ws.iter_rows(values_only=True))
    with language("en"):
        assert list(rows[0]) == [column_label(c) for c in df.columns]
    assert len(rows) == len(df) + 1
    for i, row in enumerate(rows[1:]):
        for col, got in zip(df.columns, row, strict=True):
            want = df[col].iloc[i]
            if isinstance(want, float) and math.isnan(want):
                assert got is None, (i, col)
            elif isinstance(want, (bool, np.bool_)):
                assert got is bool(want), (i, col)
            elif isinstance(want, float):
                # full precision under a rounded display format (openpyxl keeps 16 digits)
                assert got == pytest.approx(want, rel=1e-15, abs=0), (i, col, got, want)
            elif col.endswith("_level") or col.endswith("_class"):
                assert isinstance(got, str) and got  # a word in the chosen language
            elif col == "name" and want.startswith("="):
                assert got.endswith(want)  # kept as text, never a formula (see below)
            else:
                assert got == want, (i, col, got, want)
    assert isinstance(ws["A2"].value, int) and isinstance(ws["F2"].value, float)
    assert ws["F2"].number_format == "0.000"  # score: rounded display, full value
    assert ws["H2"].number_format == '0.00"×"'  # a ratio
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    assert ws.column_dimensions["C"].width >= len("Pipe|Town") + 2


def test_xlsx_never_turns_text_into_a_formula(make_shortlist):
    data = export.render(make_shortlist(6), "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    cell = ws["C7"]
    assert cell.value.endswith("=HYPERLINK(1)")
    assert cell.data_type == "s"


def test_xlsx_memo_sheets_and_determinism(make_shortlist):
    df = make_shortlist(3)
    with language("en"):
        one = export.render(df, "xlsx")
        two = export.render(df, "xlsx")
    assert one == two
    # equal within one second is not enough: no clock reading may be in the file at all
    with zipfile.ZipFile(io.BytesIO(one)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"dcterms:modified" not in archive.read("docProps/core.xml")
    wb = openpyxl.load_workbook(io.BytesIO(one))
    settings = dict(wb["Settings"].iter_rows(min_row=2, values_only=True))
    assert settings["Scenario"] == "small-big"
    assert settings["Local city"] == "Medan"
    assert settings["Language"] == "en"
    terms = {row[1] for row in wb["Glossary"].iter_rows(min_row=2, values_only=True)}
    assert {"SB", "BS", "BB", "SS", "imputed", "Score (strategy fit)"} <= terms
    assert "Feasibility" not in terms  # only when the table has the column
    sources = list(wb["Sources"].iter_rows(min_row=2, values_only=True))
    assert any(r[0] == "Data credits" and r[3] == "GeoNames" for r in sources)
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        for row in ws.iter_rows(values_only=True):
            assert not any(isinstance(v, str) and re.search(r"\d{4}-\d\d-\d\dT", v) for v in row)


def test_xlsx_in_indonesian(make_shortlist):
    df = make_shortlist(2)
    df["feasibility"] = [0.4, 0.2]
    with language("id"):
        wb = openpyxl.load_workbook(io.BytesIO(export.render(df, "xlsx")))
    assert wb.sheetnames == ["Daftar calon", "Glosarium", "Sumber", "Pengaturan"]
    header = [c.value for c in wb["Daftar calon"][1]]
    assert "Skor (kecocokan strategi)" in header and "Kelayakan" in header
    terms = {row[1] for row in wb["Glosarium"].iter_rows(min_row=2, values_only=True)}
    assert "Kelayakan" in terms


# --------------------------------------------------------------------------- Markdown

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def test_markdown_table_structure(make_shortlist):
    df = make_shortlist(4)[["rank", "name", "score", "why"]]
    df.attrs = {"local": {"name": "Medan"}, "scenario": "small-big"}
    text = export.render(df, "md")
    lines = text.splitlines()
    assert lines[0] == "## Sister-city partner shortlist for Medan, scenario small-big"
    assert lines[2].startswith("| Rank | City ")  # human headers
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + len(df)
    assert re.fullmatch(r"\|( :?-{3,}:? \|)+", table[1])
    assert table[1].split("|")[1].strip().endswith(":")  # numbers right-aligned
    for line in table:
        assert len(_UNESCAPED_PIPE.findall(line)) == df.shape[1] + 1, line
    assert "Pipe\\|Town" in text
    assert "a \\| b<br>next line" in text


def test_markdown_without_meta_has_no_heading():
    text = export.render(pd.DataFrame({"a": [1]}), "md")
    assert text.startswith("| a ")


# --------------------------------------------------------------------------- terminal table


def test_table_fits_width_and_truncates(make_shortlist):
    df = make_shortlist(4)[["rank", "name", "country_code", "score", "why"]]
    text = export.render(df, "table", width=50)
    lines = text.splitlines()
    assert all(display_width(line) <= 50 for line in lines), text
    assert lines[0].startswith("rank  name")
    assert set(lines[1]) <= {"-", " "}
    assert "…" in text
    assert "東京" in text  # wide characters are measured, not cut mid-glyph


def test_table_lists_columns_it_cannot_show(make_shortlist):
    text = export.render(make_shortlist(2), "table", width=60)
    assert re.search(r"\(\d+ more columns: ", text.splitlines()[-1])


def test_table_without_width_shows_everything(make_shortlist):
    df = make_shortlist(2)
    header = export.render(df, "table").splitlines()[0]
    assert header.split() == list(df.columns)


# --------------------------------------------------------------------------- writing


def test_write_returns_path_and_uses_extension(tmp_path, make_shortlist):
    path = export.write(make_shortlist(2), tmp_path / "out.md")
    assert path == tmp_path / "out.md"
    assert path.read_text(encoding="utf-8").startswith("## ")


def test_write_explicit_format_overrides_extension(tmp_path, make_shortlist):
    path = export.write(make_shortlist(2), tmp_path / "out.txt", fmt="table")
    assert path.read_text(encoding="utf-8").startswith("rank")


def test_refuses_overwrite_without_force(tmp_path, make_shortlist):
    target = tmp_path / "s.csv"
    target.write_text("keep me")
    with pytest.raises(
        OutputError, match=r'^File ".*s\.csv" already exists; use --force to overwrite$'
    ):
        export.write(make_shortlist(2), target)
    assert target.read_text() == "keep me"
    assert os.listdir(tmp_path) == ["s.csv"]


def test_existing_file_is_refused_before_rendering(tmp_path, make_shortlist, monkeypatch):
    (tmp_path / "s.html").write_text("keep me")

    def slow_render(*args, **kwargs):
        raise AssertionError("rendered a report that could not be written")

    monkeypatch.setattr(export, "render", slow_render)
    with pytest.raises(OutputError, match="already exists"):
        export.write(make_shortlist(2), tmp_path / "s.html")


def test_force_overwrites(tmp_path, make_shortlist):
    target = tmp_path / "s.csv"
    target.write_text("old")
    export.write(make_shortlist(2), target, force=True)
    assert target.read_text(encoding="utf-8").startswith("rank,")


def test_empty_frame_writes_nothing(tmp_path):
    with pytest.raises(OutputError, match=r"^nothing to write: the table is empty"):
        export.write(pd.DataFrame({"a": []}), tmp_path / "e.csv")
    assert os.listdir(tmp_path) == []


def test_missing_folder(tmp_path, make_shortlist):
    with pytest.raises(
        OutputError, match=r'Cannot write ".*nope.*s\.csv": folder ".*nope" does not exist'
    ):
        export.write(make_shortlist(1), tmp_path / "nope" / "s.csv")


def test_parent_is_a_regular_file(tmp_path, make_shortlist):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(
        OutputError, match=r'Cannot write ".*file\.txt.s\.csv": ".*file\.txt" is not a folder'
    ):
        export.write(make_shortlist(1), blocker / "s.csv")


def test_target_is_a_folder(tmp_path, make_shortlist):
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(OutputError, match=r"it is a folder"):
        export.write(make_shortlist(1), tmp_path / "out.csv", force=True)


def test_unwritable_folder(tmp_path, make_shortlist):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        probe = locked / "probe"
        try:
            probe.touch()
        except PermissionError:
            pass
        else:  # root ignores directory permissions; the regular-file test covers this path
            probe.unlink()
            pytest.skip("running with privileges that ignore chmod")
        with pytest.raises(
            OutputError, match=r'^Cannot write ".*locked.s\.csv": Permission denied$'
        ):
            export.write(make_shortlist(1), locked / "s.csv")
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o700)


def test_permission_denied_is_one_line_even_as_root(tmp_path, make_shortlist, monkeypatch):
    # The chmod test above is skipped under root; this one fakes the OS refusal instead.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "x.tmp"))

    monkeypatch.setattr(atomic.tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(OutputError) as info:
        export.write(make_shortlist(1), tmp_path / "s.csv")
    assert str(info.value) == f'Cannot write "{tmp_path / "s.csv"}": Permission denied'
    assert os.listdir(tmp_path) == []


def test_written_file_has_normal_permissions(tmp_path, make_shortlist):
    mask = os.umask(0o022)
    try:
        path = export.write(make_shortlist(1), tmp_path / "s.csv")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# --------------------------------------------------------------------------- atomicity


def test_render_failure_leaves_nothing(tmp_path, make_shortlist, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(export, "render", broken)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        export.write(make_shortlist(2), tmp_path / "s.csv")
    assert os.listdir(tmp_path) == []


def test_failure_after_temp_file_opened_leaves_nothing(tmp_path, make_shortlist, monkeypatch):
    opened = []
    real = atomic.tempfile.NamedTemporaryFile

    def spy(*args, **kwargs):
        handle = real(*args, **kwargs)
        opened.append(handle.name)
        return handle

    def fail_sync(fd):
        assert os.path.getsize(opened[0]) > 0  # the data really was half-way to disk
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.tempfile, "NamedTemporaryFile", spy)
    monkeypatch.setattr(atomic.os, "fsync", fail_sync)
    with pytest.raises(OutputError, match=r'^Cannot write ".*s\.json": No space left on device$'):
        export.write(make_shortlist(2), tmp_path / "s.json")
    assert opened, "the temporary file was never created"
    assert os.listdir(tmp_path) == []


def test_failed_forced_overwrite_keeps_the_old_file(tmp_path, make_shortlist, monkeypatch):
    target = tmp_path / "s.xlsx"
    target.write_bytes(b"previous version")

    def fail_replace(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomic.os, "replace", fail_replace)
    with pytest.raises(OutputError, match="Input/output error"):
        export.write(make_shortlist(2), target, force=True)
    assert target.read_bytes() == b"previous version"
    assert os.listdir(tmp_path) == ["s.xlsx"]


def test_atomic_writer_cleans_up_partial_data(tmp_path):
    target = tmp_path / "partial.bin"
    with pytest.raises(KeyboardInterrupt), export.atomic_writer(target) as handle:
        handle.write(b"half of the")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_atomic_writer_does_not_clobber_a_file_created_meanwhile(tmp_path):
    target = tmp_path / "race.csv"
    with pytest.raises(OutputError, match="already exists"), export.atomic_writer(target) as fh:
        fh.write(b"mine")
        target.write_text("someone else's")
    assert target.read_text() == "someone else's"
    assert os.listdir(tmp_path) == ["race.csv"]


# --------------------------------------------------------------------------- generic frames


def test_named_index_becomes_a_column(tmp_path):
    df = pd.DataFrame(
        {"score": [0.5, 0.25]}, index=pd.Index(["small-big", "symmetric"], name="scenario")
    )
    back = pd.read_csv(export.write(df, tmp_path / "c.csv"))
    assert list(back.columns) == ["scenario", "score"]
    assert back["scenario"].tolist() == ["small-big", "symmetric"]


@pytest.mark.parametrize("fmt", ["csv", "json", "md", "html", "table"])
def test_text_formats_are_deterministic(make_shortlist, fmt):
    assert export.render(make_shortlist(3), fmt) == export.render(make_shortlist(3), fmt)
