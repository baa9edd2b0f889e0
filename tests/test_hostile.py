"""Hostile input and a hostile environment: every case is one clear line, a known exit code,
no traceback, and no file left behind or changed.

Exit codes (README, "Errors and exit codes"): 0 success, 2 a user error or unusable
input / output / data, 1 a bug (one line, never a traceback), 130 Ctrl-C; SIGTERM ends the
process as SIGTERM does (after removing any temporary file).

CLI cases run in process through :func:`recommender.cli.main` inside click's
``CliRunner.isolation`` (so stdout and stderr are captured separately); the cases that need a
real terminal stream, a real pipe or a signal run as subprocesses.
"""

from __future__ import annotations

import gzip
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from recommender.cli import main
from recommender.data import tables
from recommender.engine.scenarios import Band, Scenario, load_scenario
from recommender.errors import (
    DataValidationError,
    FilterError,
    OutputError,
    ScenarioError,
    UnknownCityError,
)
from recommender.io import atomic, export
from recommender.io.formatting import neutralise_formula

DATA = tables.data_dir()


# --------------------------------------------------------------------------- helpers


def cli(*args: str, env: dict | None = None) -> tuple[int, str, str]:
    """Run ``sistercity ARGS`` in process; return (exit code, stdout, stderr)."""
    runner = CliRunner()
    with runner.isolation(env=env) as (out, err, _):
        code = main([str(a) for a in args])
    return (
        code,
        out.getvalue().decode("utf-8", "replace"),
        err.getvalue().decode("utf-8", "replace"),
    )


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder`` (hidden temp files included) with size, mtime and type."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns, stat.S_IFMT(st.st_mode))
    return out


def assert_one_line_error(code: int, out: str, err: str, *needles: str, exit_code: int = 2):
    """One ``Error:`` line on stderr naming every needle; nothing else; no traceback."""
    assert code == exit_code, (code, out, err)
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: "), err
    assert "Traceback" not in err and "bug in sistercity" not in err, err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert len(lines[0]) < 600, f"an error line of {len(lines[0])} characters"


@pytest.fixture
def folder(tmp_path):
    """A folder for the test's files; :func:`refused` checks it is left unchanged."""
    return tmp_path


def refused(folder: Path, *args: str, needles=(), env=None, exit_code: int = 2):
    """Run a command that must be refused; check the line and that ``folder`` is unchanged."""
    before = snapshot(folder)
    code, out, err = cli(*args, env=env)
    assert_one_line_error(code, out, err, *needles, exit_code=exit_code)
    assert snapshot(folder) == before, "a refused command changed the folder"
    return err


def write(folder: Path, name: str, text: str | bytes) -> Path:
    p = folder / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


# --------------------------------------------------------------------------- scenario files

SCENARIO_CASES = [
    # (file content, words the one-line error must contain)
    (
        'base = "asymmetric"\n[bands.hdi]\ntwo_sided = "false"\n',
        ["two_sided", "'false'", "true or false"],
    ),
    ("[weights]\ngdp_per_capita_usd = 1e308\nhdi = 1e308\n", ["gdp_per_capita_usd", "1e+308"]),
    ("[weights]\nhdi = 1e-320\n", ["hdi"]),
    ("required = 5\n", ["required", "5", "list"]),
    ('required = "hdi"\n', ["required", "'hdi'", "list"]),
    ('required = ["nope"]\n', ["nope"]),
    ("required = [1, 2]\n", ["required"]),
    ("a = " + "{b = " * 600 + "1" + "}" * 600 + "\n", ["nested"]),
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", ["nested"]),
    ("[bands.hdi.min.x.y.z]\nq = 1\n", ["bands.hdi", "min"]),
    ("[weights]\nhdi = { x = 1 }\n", ["weights.hdi", "number"]),
    ("[weights]\nhdi = true\n", ["weights.hdi", "True"]),
    ('[weights]\nhdi = "0.5"\n', ["weights.hdi", "'0.5'"]),
    ("[weights]\nhdi = nan\npopulation = 1\n", ["hdi", "nan"]),
    ("[weights]\nhdi = inf\n", ["hdi", "inf"]),
    ("name = 5\n", ["name", "5", "text"]),
    ('name = "two\\nlines"\n', ["name", "one line"]),
    ('name = "' + "x" * 500 + '"\n', ["name", "500"]),
    ("description = [1, 2]\n", ["description", "text"]),
    ("base = 5\n", ["base", "5"]),
    ("max_per_country = 1e20\n", ["max_per_country"]),
    ('max_per_country = "2"\n', ["max_per_country", "'2'"]),
    ("max_per_country = 2.5\n", ["max_per_country", "2.5"]),
    ("max_per_country = 9223372036854775807\n", ["max_per_country", "9223372036854775807"]),
    ("max_per_country = 0\n", ["max_per_country", "0"]),
    ("min_coverage = nan\n", ["min_coverage", "nan"]),
    ("imputed_penalty = inf\n", ["imputed_penalty", "inf"]),
    ('require_complementary = "yes"\n', ["require_complementary", "'yes'", "true or false"]),
    ("require_complementary = 1\n", ["require_complementary", "1"]),
    (
        "[bands.gdp_per_capita_usd]\nmin = 1.0\nlo = 1e300\nhi = 1e301\nmax = inf\n",
        ["gdp_per_capita_usd", "1e+300"],
    ),
    ("[bands.hdi]\nmin = -1e308\nlo = 0.0\nhi = 0.1\nmax = 0.2\n", ["hdi", "-1e+308"]),
    ("[bands.hdi]\nmin = 0.0\nlo = 0.0\nhi = 0.1\nmax = inf\n", ["hdi", "inf"]),
    ('[bands.hdi]\nlo = "a"\n', ["bands.hdi.lo", "'a'"]),
    ("[bands]\nhdi = [0, 0.1, 0.2]\n", ["hdi", "4 numbers"]),
    ('[bands]\nhdi = [0, "a", 0.2, 0.3]\n', ["hdi", "'a'"]),
    ("[bands.hdi]\ntwo_sided = 1\n", ["two_sided", "1"]),
    ('[tolerance]\nhdi = "x"\n', ["tolerance.hdi", "'x'"]),
    ("[tolerance]\npopulation = 1e308\n", ["tolerance", "population"]),
    ('[filters]\ncountries = "JP"\n', ["filters.countries", "'JP'", "list"]),
    ("[filters]\ncountries = [1]\n", ["countries", "1"]),
    ('[filters]\nmin_population = "100"\n', ["min_population", "'100'"]),
    ("[filters]\nmin_population = 1e300\n", ["min_population"]),
    ('[filters]\nmin_level = "city"\n', ["min_level", "'city'", "table"]),
    ("[filters.min_level]\nhdi = 3\n", ["min_level", "hdi", "3"]),
    ("weights = 3\n", ["weights", "3", "table"]),
    ("[weights]\n[weights.x]\n", ["x"]),
    ('"\\u202e" = 1\n', ["Unknown key"]),
]


@pytest.mark.parametrize(("text", "needles"), SCENARIO_CASES, ids=range(len(SCENARIO_CASES)))
def test_scenario_file_refused_with_key_and_value(folder, text, needles):
    path = write(folder, "s.toml", text)
    refused(
        folder, "shortlist", "Medan", "--top", "2", "--scenario", path, needles=[*needles, "s.toml"]
    )


def test_scenario_dev_zero_is_refused_without_reading_it_all(folder):
    start = time.perf_counter()
    refused(
        folder, "shortlist", "Medan", "--scenario", "/dev/zero.toml", needles=["/dev/zero.toml"]
    )
    # /dev/zero itself (not a .toml path) is read through the size limit
    with pytest.raises(ScenarioError, match="larger than"):
        Scenario.from_toml("/dev/zero")
    assert time.perf_counter() - start < 30  # a guard against reading GBs, not a speed goal


def test_huge_scenario_file_is_refused_by_size(folder):
    path = write(folder, "big.toml", "# padding\n" * 200_000)
    refused(folder, "shortlist", "Medan", "--scenario", path, needles=["big.toml", "larger than"])


def test_scenario_file_that_is_a_folder(folder):
    (folder / "d.toml").mkdir()
    refused(folder, "shortlist", "Medan", "--scenario", folder / "d.toml", needles=["d.toml"])


def test_scenario_file_with_bom_is_read(folder):
    """Windows editors write a byte-order mark; it is not an error."""
    path = write(folder, "bom.toml", '\ufeffname = "bom"\n[weights]\ngdp_per_capita_usd = 1.0\n')
    assert Scenario.from_toml(path).name == "bom"


def test_two_sided_false_string_is_not_true_in_the_api():
    with pytest.raises(ScenarioError, match="two_sided"):
        Band(1.0, 1.5, 8.0, 20.0, two_sided="false")


def test_huge_weights_refused_in_the_api():
    with pytest.raises(ScenarioError, match="weight"):
        load_scenario("small-big").with_weights(hdi=1e308, gdp_per_capita_usd=1e308)


def test_scenario_gates_leaving_nothing_exit_2_with_reason(folder):
    path = write(
        folder,
        "never.toml",
        "[bands.gdp_per_capita_usd]\nmin = 1000.0\nlo = 2000.0\nhi = 3000.0\nmax = 4000.0\n",
    )
    err = refused(folder, "shortlist", "Medan", "--scenario", path, needles=["No candidate"])
    assert "gdp_per_capita_usd" in err


# --------------------------------------------------------------------------- user CSVs

CSV_CASES = [
    ("name,country,hdi\nMedan,ID,0.8,extra\n", ["row 2", "4 fields", "3"]),
    ("name,country,hdi\nMedan,ID\n", ["row 2", "2 fields"]),
    ("name,country,hdi\nMedan,ID,0.8\nMedan,ID,0.8\n", ["rows 2 and 3", "Medan"]),
    ("name,country,hdi\nMedan,ID,0.8\nKota Medan,ID,0.9\n", ["rows 2 and 3", "Medan"]),
    ("city_id,hdi\n1214520,0.8\n1214520,0.9\n", ["rows 2 and 3", "1214520"]),
    ("city_id,name,country,hdi\n1214520,,,0.8\n,Medan,ID,0.9\n", ["rows 2 and 3"]),
    ("city_id,hdi\n" + "9" * 5000 + ",0.8\n", ["row 2", "city_id", "digits"]),
    ("city_id,hdi\n١٢٣,0.8\n", ["row 2", "city_id"]),
    ("city_id,hdi\n1214520.0,0.8\n", ["row 2", "city_id", "1214520.0"]),
    ("city_id,population\n1214520,1e999\n", ["row 2", "population", "1e999"]),
    ("city_id,population\n1214520,nan\n", ["row 2", "population", "nan"]),
    ("city_id,population\n1214520,inf\n", ["row 2", "population", "inf"]),
    ("city_id,population\n1214520,-5\n", ["row 2", "population", "-5"]),
    ("city_id,population\n1214520,0x10\n", ["row 2", "population", "0x10"]),
    ("city_id,population\n1214520,١٢٣\n", ["row 2", "population"]),
    ("city_id,population\n1214520,1e12\n", ["row 2", "population", "1e12"]),
    ("city_id,gdp_per_capita_usd\n1214520,1_000\n", ["row 2", "gdp_per_capita_usd", "1_000"]),
    ("city_id,hdi\n1214520,83.7\n", ["row 2", "hdi", "0-1"]),
    ("city_id,hdi\n1214520,True\n", ["row 2", "hdi", "True"]),
    ("city_id,hdi,hdi\n1214520,0.8,0.9\n", ["hdi", "twice"]),
    ("city_id,,hdi\n1214520,,0.8\n", ["column 2", "no name"]),
    ("city_id,hdi,is_local\n1214520,0.8,no\n", ["is_local"]),
    ("city_id,hdi,year\n1214520,0.8,2025abc\n", ["row 2", "year", "2025abc"]),
    ("city_id,hdi,year\n1214520,0.8,1800\n", ["row 2", "year", "1800"]),
    ("city_id,hdi\n", ["no data rows"]),
    ("", ["empty"]),
    ('name,country,hdi\n"Nowhere\nville",ID,0.8\n', ["row 2", "Nowhere"]),
    ("name,country,hdi\nMedan,Atlantis,0.8\n", ["row 2", "Atlantis"]),
    ("city_id,hdi\n999999999999,0.8\n", ["row 2", "999999999999"]),
    (b"name,country,hdi\nM\x81dan,ID,0.8\n", ["UTF-8"]),
    (b"\x1f\x8b\x08\x00garbage", ["not a text file"]),
    ("city_id,hdi\n1214520,0.8;0.9\n", ["row 2", "hdi", "0.8;0.9"]),
]


@pytest.mark.parametrize(("text", "needles"), CSV_CASES, ids=range(len(CSV_CASES)))
def test_user_csv_refused_naming_the_rows(folder, text, needles):
    path = write(folder, "mine.csv", text)
    refused(
        folder,
        "shortlist",
        "Medan",
        "--top",
        "2",
        "--user-data",
        path,
        needles=["mine.csv", *needles],
    )


def test_user_csv_dev_zero_is_refused_by_size(folder):
    refused(folder, "shortlist", "Medan", "--user-data", "/dev/zero", needles=["/dev/zero"])


def test_user_csv_with_bom_and_blank_lines_is_read(folder):
    path = write(folder, "ok.csv", "\ufeffname,country,hdi,year\n\nMedan,ID,0.85,2025\n\n")
    code, out, err = cli("shortlist", "Medan", "--top", "2", "--user-data", path)
    assert code == 0, err
    medan = tables.resolve_city(
        "Medan", cities=tables.apply_user_cities(tables.load_cities(), path)
    )
    assert medan["hdi"] == 0.85 and medan["hdi_level"] == "user"


def test_user_csv_api_on_a_folder(tmp_path):
    cities = tables.load_cities()
    with pytest.raises(DataValidationError, match="folder"):
        tables.apply_user_cities(cities, tmp_path)


# --------------------------------------------------------------------------- command-line values


def test_5000_digit_city_id(folder):
    refused(folder, "shortlist", "1" * 5000, needles=["digits"])


def test_huge_int_city_id_in_the_api():
    with pytest.raises(UnknownCityError):
        tables.resolve_city(10**30)
    with pytest.raises(UnknownCityError):
        tables.resolve_city("9" * 5000)


def test_city_name_with_a_newline_gives_one_line(folder):
    refused(folder, "shortlist", "Nowhere\nville", needles=["Nowhere"])


def test_city_name_with_carriage_return_and_escape(folder):
    err = refused(folder, "shortlist", "Nowhere\r\x1b[31mville", needles=["Nowhere"])
    assert "\x1b" not in err and "\r" not in err


def test_100k_character_city_name(folder):
    refused(folder, "shortlist", "x" * 100_000, needles=["too long"])


def test_300_character_output_name(folder):
    refused(folder, "shortlist", "Medan", "-o", folder / ("a" * 300 + ".csv"), needles=["too long"])


def test_250_character_output_name_is_written(folder):
    target = folder / ("a" * 246 + ".csv")
    code, out, err = cli("shortlist", "Medan", "--top", "2", "-o", target)
    assert code == 0, err
    assert target.exists() and [p.name for p in folder.iterdir()] == [target.name]


def test_huge_top_is_refused_or_bounded(folder):
    code, out, err = cli(
        "shortlist", "Medan", "--top", "99999999999999999999999", "--format", "csv"
    )
    assert code in (0, 2), err
    assert "Traceback" not in err and "bug" not in err


# --------------------------------------------------------------------------- output targets


@pytest.fixture
def no_rename_outside(monkeypatch, tmp_path):
    """A safety net for a regression: the writer may rename or link only inside tmp_path
    (as root, a broken check would otherwise replace the real /dev/null); the user's cache
    folder (tables, per-city feasibility) is written through the same os.replace."""
    from recommender.data.cache import cache_dir

    real_replace, real_link = os.replace, os.link
    allowed = [str(tmp_path.resolve())]
    if cache_dir() is not None:
        allowed.append(str(cache_dir().resolve()))

    def guard(fn):
        def inner(src, dst, *a, **k):
            if not str(Path(dst).resolve()).startswith(tuple(allowed)):
                raise AssertionError(f"the writer tried to replace {dst}")
            return fn(src, dst, *a, **k)

        return inner

    monkeypatch.setattr(atomic.os, "replace", guard(real_replace))
    monkeypatch.setattr(atomic.os, "link", guard(real_link))


def test_output_to_a_device_is_refused_even_with_force(folder, no_rename_outside):
    refused(
        folder,
        "shortlist",
        "Medan",
        "--format",
        "csv",
        "-o",
        "/dev/null",
        "--force",
        needles=["/dev/null", "not a regular file"],
    )
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_output_to_a_fifo_is_refused_without_blocking(folder):
    fifo = folder / "pipe.csv"
    os.mkfifo(fifo)
    refused(
        folder,
        "shortlist",
        "Medan",
        "-o",
        fifo,
        "--force",
        needles=["pipe.csv", "not a regular file"],
    )
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_output_to_a_symlink_is_refused_even_with_force(folder):
    real = write(folder, "real.csv", "keep me\n")
    link = folder / "link.csv"
    link.symlink_to(real)
    refused(
        folder, "shortlist", "Medan", "-o", link, "--force", needles=["link.csv", "symbolic link"]
    )
    assert link.is_symlink() and real.read_text() == "keep me\n"


def test_output_to_a_dangling_symlink_is_refused(folder):
    link = folder / "dangling.csv"
    link.symlink_to(folder / "nowhere.csv")
    refused(folder, "shortlist", "Medan", "-o", link, needles=["dangling.csv"])
    assert not (folder / "nowhere.csv").exists()


def test_check_target_refuses_devices_in_the_api(no_rename_outside):
    with pytest.raises(OutputError, match="not a regular file"):
        atomic.check_target("/dev/null", force=True)
    with pytest.raises(OutputError, match="not a regular file"):
        export.write(pd.DataFrame({"a": [1]}), "/dev/null", "csv", force=True)
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_output_in_a_folder_nobody_can_write(folder):
    """/proc refuses new files even to root: the error names the file, nothing is left."""
    refused(
        folder,
        "shortlist",
        "Medan",
        "-o",
        "/proc/sistercity-test.csv",
        needles=["sistercity-test.csv"],
    )
    assert not Path("/proc/sistercity-test.csv").exists()


# --------------------------------------------------------------------------- formula injection


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("   =1+1", "'   =1+1"),
        ("\n=1", "'\n=1"),
        ("Medan", "Medan"),
        ("", ""),
        ("a=b", "a=b"),
        ("  ", "  "),
    ],
)
def test_neutralise_formula(text, expected):
    assert neutralise_formula(text) == expected


def _hostile_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": [1, 2],
            '=HYPERLINK("http://x")': ["ok", "fine"],
            "name": ["  @SUM(1+1)", "-2+3"],
            "score": [-0.5, 1.0],
        }
    )


def test_csv_export_neutralises_cells_and_headers(tmp_path):
    path = export.write(_hostile_frame(), tmp_path / "h.csv")
    text = path.read_text(encoding="utf-8")
    head, first, second = text.splitlines()[:3]
    assert head.split(",")[1].startswith("\"'=HYPERLINK") or head.split(",")[1].startswith("'=")
    assert first.split(",")[2] == "'  @SUM(1+1)"
    assert second.split(",")[2] == "'-2+3"
    assert first.split(",")[3] == "-0.5", "numbers stay numbers"


def test_xlsx_export_neutralises_cells_and_headers(tmp_path):
    path = export.write(_hostile_frame(), tmp_path / "h.xlsx")
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert cell.value == neutralise_formula(cell.value) or cell.value.startswith(
                        "'"
                    )
    ws = wb.worksheets[0]
    assert ws["B1"].value.startswith("'=")
    assert ws["D2"].value == -0.5


def test_compare_headers_from_scenario_names_are_not_formulas(folder):
    a = write(folder, "a.toml", 'name = "=HYPERLINK(\\"http://evil\\")"\n')
    b = write(folder, "b.toml", 'name = "+cmd"\nbase = "symmetric"\n')
    for ext in ("csv", "xlsx"):
        out = folder / f"cmp.{ext}"
        code, _, err = cli("compare", "Medan", "--scenario", a, "--scenario", b, "-o", out)
        assert code == 0, err
        if ext == "csv":
            header = out.read_text(encoding="utf-8").splitlines()[0]
            assert ",=" not in header and ",+" not in header and ',"=' not in header
        else:
            wb = openpyxl.load_workbook(out)
            for ws in wb.worksheets:
                for row in ws.iter_rows():
                    for cell in row:
                        assert cell.data_type != "f"
                        if isinstance(cell.value, str):
                            assert not cell.value.lstrip().startswith(("=", "+", "@"))


# --------------------------------------------------------------------------- empty results


def test_gate_leaving_nothing_exit_2(folder):
    """Taiwan has no World Bank GDP figure: small-big (a richer partner required) keeps none."""
    err = refused(folder, "shortlist", "Medan", "--countries", "TW", needles=["No candidate"])
    assert "gdp_per_capita_usd" in err


def test_gate_leaving_nothing_writes_nothing(folder):
    refused(
        folder,
        "shortlist",
        "Medan",
        "--countries",
        "TW",
        "-o",
        folder / "x.csv",
        needles=["No candidate"],
    )


def test_local_city_without_the_required_figure_exit_2(folder):
    """A local city without GDP per capita cannot be ranked by small-big: say why."""
    cities = tables.load_cities()
    no_gdp = cities[cities["gdp_per_capita_usd"].isna() & (cities["country_code"] == "TW")]
    cid = str(int(no_gdp["city_id"].iloc[0]))
    err = refused(folder, "shortlist", cid, needles=["No candidate"])
    assert "gdp_per_capita_usd" in err


def test_compare_with_an_empty_side_exit_2(folder):
    never = write(
        folder,
        "never.toml",
        "[bands.gdp_per_capita_usd]\nmin = 1000.0\nlo = 2000.0\nhi = 3000.0\nmax = 4000.0\n",
    )
    refused(
        folder,
        "compare",
        "Medan",
        "--scenario",
        "small-big",
        "--scenario",
        never,
        needles=["No candidate", "never"],
    )


def test_batch_where_every_city_is_empty_exit_2(folder):
    refused(
        folder,
        "batch",
        "--local-cities",
        "capitals",
        "--countries",
        "TW",
        "-o",
        folder / "b.csv",
        needles=["No local city"],
    )


def test_filters_leaving_nothing_exit_2(folder):
    refused(
        folder,
        "shortlist",
        "Medan",
        "--countries",
        "JP",
        "--min-population",
        "5e8",
        needles=["No candidate"],
    )


def test_recommend_api_raises_on_empty():
    from recommender.engine.shortlist import recommend

    with pytest.raises(FilterError, match="No candidate"):
        recommend("Medan", countries=["TW"])


def test_foreign_local_city_is_allowed_and_said(folder):
    code, out, err = cli("shortlist", "Tokyo", "--top", "2")
    assert code == 0, err
    assert err.count("\n") == 1 and err.startswith("Note: ") and "not an Indonesian" in err
    assert "Tokyo" in out


# --------------------------------------------------------------------------- packaged data


def _data_copy(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    for name in ("cities.csv.gz", "ties.csv.gz", "MANIFEST.json"):
        (d / name).write_bytes((DATA / name).read_bytes())
    return d


@pytest.mark.parametrize("name", ["cities.csv.gz", "ties.csv.gz"])
def test_truncated_packaged_table_names_the_file(tmp_path, name):
    d = _data_copy(tmp_path)
    raw = (d / name).read_bytes()
    (d / name).write_bytes(raw[: len(raw) // 2])
    code, out, err = cli("shortlist", "Medan", env={"SISTERCITY_DATA_DIR": str(d)})
    assert_one_line_error(code, out, err, name)
    assert "Aborted" not in err


@pytest.mark.parametrize("name", ["cities.csv.gz", "ties.csv.gz"])
def test_garbage_packaged_table_names_the_file(tmp_path, name):
    d = _data_copy(tmp_path)
    (d / name).write_bytes(b"this is not gzip at all\n" * 10)
    code, out, err = cli("partners", "Medan", env={"SISTERCITY_DATA_DIR": str(d)})
    assert_one_line_error(code, out, err, name)


def test_packaged_table_is_a_folder(tmp_path):
    d = _data_copy(tmp_path)
    (d / "cities.csv.gz").unlink()
    (d / "cities.csv.gz").mkdir()
    code, out, err = cli("shortlist", "Medan", env={"SISTERCITY_DATA_DIR": str(d)})
    assert_one_line_error(code, out, err, "cities.csv.gz")


def _rewrite_cities(path: Path, column: str, old: str, new: str, rows: int = 1) -> None:
    df = pd.read_csv(DATA / "cities.csv.gz", dtype=str, keep_default_na=False)
    idx = df.index[df[column] == old][:rows]
    df.loc[idx, column] = new
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        df.to_csv(fh, index=False, lineterminator="\n")


@pytest.mark.parametrize(
    ("column", "old", "new"),
    [
        ("is_local", "False", "no"),
        ("is_local", "False", "false"),
        ("is_local", "True", "1"),
        ("is_capital", "False", ""),
        ("population", "2546452.0", "lots"),
        ("city_id", "1214520", "12x"),
    ],
)
def test_packaged_types_are_strict(tmp_path, column, old, new):
    path = tmp_path / "cities.csv.gz"
    _rewrite_cities(path, column, old, new)
    with pytest.raises(DataValidationError, match="cities.csv.gz") as info:
        tables.load_cities(path)
    assert "\n" not in str(info.value)


def test_is_local_no_is_never_true():
    s = pd.Series(["True", "False", "no"])
    with pytest.raises(DataValidationError, match="'no'"):
        tables.parse_bool_column(s, "is_local", "cities.csv.gz")
    assert tables.parse_bool_column(pd.Series(["True", "False"]), "x", "f").tolist() == [
        True,
        False,
    ]


def test_eof_error_is_not_reported_as_ctrl_d(monkeypatch):
    """click turns EOFError into 'Aborted.' (it takes it for Ctrl-D): never only that."""

    def boom(*a, **k):
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")

    monkeypatch.setattr(tables, "load_cities", boom)
    code, out, err = cli("shortlist", "Medan")
    assert code in (1, 2)
    assert err.strip() != "Aborted." and "end-of-stream" in err
    assert err.strip().count("\n") == 0


def test_unexpected_error_is_one_line(monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("first line\nsecond line")

    monkeypatch.setattr(tables, "load_cities", boom)
    code, out, err = cli("shortlist", "Medan")
    assert code == 1 and err.strip().count("\n") == 0 and "first line" in err


# --------------------------------------------------------------------------- real processes

PY = sys.executable


def _sub(args, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **kw.pop("env", {})}
    return subprocess.run(
        [PY, "-m", "recommender", *args], capture_output=True, env=env, timeout=120, **kw
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_stdout_to_dev_full_is_one_line():
    with open("/dev/full", "w") as full:
        res = subprocess.run(
            [PY, "-m", "recommender", "shortlist", "Medan"],
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    err = res.stderr.decode()
    assert res.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("Error: ") and "standard output" in err


def test_broken_pipe_is_quiet():
    proc = subprocess.Popen(
        [PY, "-m", "recommender", "scenarios", "show", "small-big"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.read(10)
    proc.stdout.close()  # like `| head -c 10`
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "Exception ignored" not in err and "bug" not in err, err
    assert proc.returncode in (0, 141), err


def test_latin1_stdout_is_one_line():
    res = _sub(["shortlist", "Medan"], env={"PYTHONIOENCODING": "latin-1"})
    err = res.stderr.decode("latin-1")
    assert res.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("Error: ") and "latin-1" in err.lower()


def test_user_errors_in_a_real_process_are_one_line(tmp_path):
    p = write(tmp_path, "s.toml", "required = 5\n")
    res = _sub(["shortlist", "Medan", "--scenario", str(p)])
    err = res.stderr.decode()
    assert res.returncode == 2 and err.count("\n") == 1 and "required" in err


_WRITER = textwrap.dedent(
    """
    import sys, time
    from recommender.io.atomic import atomic_writer
    with atomic_writer(sys.argv[1]) as fh:
        fh.write(b"partial")
        fh.flush()
        print("ready", flush=True)
        time.sleep(60)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_during_a_write_leaves_no_temp_file(tmp_path, sig):
    target = tmp_path / "out.csv"
    proc = subprocess.Popen(
        [PY, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout.readline().strip() == b"ready"
    assert len(list(tmp_path.iterdir())) == 1  # the temp file exists now
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert list(tmp_path.iterdir()) == [], "a temp file or the target was left behind"
    assert proc.returncode != 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_cli_export(tmp_path, sig):
    """A real export interrupted at a random moment leaves either nothing or the whole file."""
    target = tmp_path / "b.xlsx"
    for delay in (1.0, 2.0, 3.0):
        proc = subprocess.Popen(
            [
                PY,
                "-m",
                "recommender",
                "batch",
                "--local-cities",
                "capitals",
                "-o",
                str(target),
                "--force",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(delay)
        proc.send_signal(sig)
        proc.wait(timeout=120)
        err = proc.stderr.read().decode()
        assert "Traceback" not in err, err
        left = [p.name for p in tmp_path.iterdir()]
        assert left in ([], ["b.xlsx"]), left
        if left:
            openpyxl.load_workbook(target)  # complete, not half-written


def test_ctrl_c_exit_code_is_130():
    code = None
    runner = CliRunner()

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    import recommender.data.tables as t

    saved = t.load_cities
    t.load_cities = interrupt
    try:
        with runner.isolation() as (out, err, _):
            code = main(["shortlist", "Medan"])
        text = err.getvalue().decode()
    finally:
        t.load_cities = saved
    assert code == 130 and "Traceback" not in text


# --------------------------------------------------------------------------- batch city lists

BATCH_LIST_CASES = [
    ("name\nMedan\nMedan\n", ["rows 2 and 3", "Medan"]),
    ("name,country\nMedan,ID,extra\n", ["row 2", "3 fields"]),
    ("city_id\n" + "7" * 5000 + "\n", ["row 2", "digits"]),
    ("town\nMedan\n", ["a column naming the cities: city_id", "found: town"]),
    ("name\n", ["no rows"]),
    (b"name\nM\x81dan\n", ["UTF-8"]),
]


@pytest.mark.parametrize(("text", "needles"), BATCH_LIST_CASES, ids=range(len(BATCH_LIST_CASES)))
def test_batch_city_list_refused_naming_the_rows(folder, text, needles):
    path = write(folder, "list.csv", text)
    out = folder / "b.csv"
    refused(folder, "batch", "--local-cities", path, "-o", out, needles=["list.csv", *needles])


def test_batch_city_list_dev_zero(folder):
    refused(
        folder,
        "batch",
        "--local-cities",
        "/dev/zero",
        "-o",
        folder / "b.csv",
        needles=["/dev/zero"],
    )


def test_cities_search_with_a_huge_query(folder):
    refused(folder, "cities", "search", "x" * 100_000, needles=["too long"])


def test_cities_search_csv_is_neutralised(monkeypatch):
    """`cities search --format csv` goes through the same CSV writer as the exports."""
    hostile = pd.DataFrame(
        {"match": ["name"], "city_id": [1], "name": ["=cmd|' /C calc'!A0"], "similarity": [1.0]}
    )
    monkeypatch.setattr(tables, "search_cities", lambda *a, **k: hostile)
    code, out, err = cli("cities", "search", "x", "--format", "csv")
    assert code == 0, err
    assert out.splitlines()[1].split(",")[2].startswith("\"'=") or ",'=" in out


def test_an_interrupted_workbook_save_leaves_no_traceback_at_exit(monkeypatch):
    """Ctrl-C while openpyxl writes the workbook: the KeyboardInterrupt goes up (the CLI
    says "Aborted." and the atomic writer removes its temporary file), and the half-written
    zip archive does not print "Exception ignored ... I/O operation on closed file" when it
    is collected (it did, at exit, in one of the signal tests' runs)."""
    import gc

    from openpyxl.writer.excel import ExcelWriter

    from recommender.io.workbook import workbook

    archives = []

    def interrupted(self):
        archives.append((self._archive, self._archive.fp))
        raise KeyboardInterrupt

    monkeypatch.setattr(ExcelWriter, "write_data", interrupted)
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    frame = pd.DataFrame({"city_id": [1], "name": ["A"], "score": [0.5]})
    with pytest.raises(KeyboardInterrupt):
        workbook([("Shortlist", frame)])
    # what an exiting interpreter may do: finalise the buffer first, then the archive
    ((archive, buffer),) = archives
    buffer.close()
    del archive, buffer
    archives.clear()
    gc.collect()
    assert unraisable == []
