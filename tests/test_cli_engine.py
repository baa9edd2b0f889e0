"""The engine's CLI on the packaged data: output, formats and every kind of bad input."""

from __future__ import annotations

import json
import re

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from recommender.cli.commands import cli, main
from recommender.data.tables import load_cities, partners_of

MEDAN = 1214520


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """Through main(), as the console script runs: usage errors become one line too."""
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def medan_json():
    res = CliRunner().invoke(cli, ["shortlist", "Medan", "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_every_command_has_help():
    def walk(group, path):
        for name, cmd in group.commands.items():
            res = run(*path, name, "--help")
            assert res.exit_code == 0, (path, name)
            assert cmd.help or cmd.short_help, f"{' '.join([*path, name])} has no help text"
            if hasattr(cmd, "commands"):
                walk(cmd, [*path, name])

    walk(cli, [])


def test_shortlist_medan_on_screen():
    res = run("shortlist", "Medan")
    assert res.exit_code == 0
    out = res.output
    assert "Partner shortlist for Medan (ID), scenario small-big" in out
    assert "existing partners excluded" in out
    body = [line for line in out.splitlines() if re.match(r"^\s?\d+  \S", line)]
    assert len(body) == 10
    for partner in ("Chengdu", "Gwangju", "Ichikawa", "George Town"):
        assert partner not in out
    assert out.count(": GDP per capita") == 10  # the ten why lines


def test_shortlist_medan_rows_have_label_contributions_levels(medan_json):
    rows = medan_json
    assert len(rows) == 10
    partners = set(partners_of(MEDAN)["city_id"])
    medan = load_cities().set_index("city_id").loc[MEDAN]
    for r in rows:
        assert r["city_id"] not in partners
        assert r["coupling"] in {"SB", "BS", "BB", "SS"}
        contrib = sum(
            r[f"{n}_contribution"] for n in ("population", "area_km2", "gdp_per_capita_usd", "hdi")
        )
        assert contrib == pytest.approx(r["score"], abs=1e-9)
        for n in ("population", "area_km2", "gdp_per_capita_usd", "hdi"):
            assert r[f"{n}_level"] in {
                "city",
                "region",
                "modelled",
                "country",
                "imputed",
                "user",
                "missing",
            }
        # small-big: every candidate is richer than Medan
        assert r["gdp_per_capita_usd_ratio"] > 1
        cand = load_cities().set_index("city_id").loc[r["city_id"]]
        assert cand["gdp_per_capita_usd"] > medan["gdp_per_capita_usd"]


@pytest.mark.parametrize("ext", ["csv", "json", "xlsx", "md", "html"])
def test_every_format_round_trips(tmp_path, ext):
    path = tmp_path / f"medan.{ext}"
    res = run("shortlist", "Medan", "-o", str(path))
    assert res.exit_code == 0, res.output
    ref = pd.DataFrame(json.loads(run("shortlist", "Medan", "--format", "json").output))
    if ext == "csv":
        back = pd.read_csv(path)
        assert back["city_id"].tolist() == ref["city_id"].tolist()
        assert back["score"].tolist() == pytest.approx(ref["score"].tolist(), abs=1e-12)
        assert back["why"].tolist() == ref["why"].tolist()
    elif ext == "json":
        back = pd.read_json(path)  # the export is pandas' records layout
        assert back["city_id"].tolist() == ref["city_id"].tolist()
        assert back.columns.tolist() == ref.columns.tolist()
        assert back["score"].tolist() == pytest.approx(ref["score"].tolist(), abs=1e-12)
    elif ext == "xlsx":
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == ["Shortlist", "Glossary", "Sources", "Settings"]
        ws = wb["Shortlist"]
        header = [c.value for c in ws[1]]
        assert header[:3] == ["Rank", "GeoNames id", "City"]
        assert [ws.cell(row=i + 2, column=2).value for i in range(10)] == ref["city_id"].tolist()
    elif ext == "md":
        lines = path.read_text().splitlines()
        table = [ln for ln in lines if ln.startswith("|")]
        assert set(table[1].replace("|", "").replace(" ", "")) <= set("-:")
        assert len(table) == 12  # header, separator, ten rows
    else:
        html = path.read_text()
        assert "<svg" in html and "Medan" in html


def test_refuses_overwrite_without_force(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("keep me")
    res = run("shortlist", "Medan", "-o", str(path))
    assert res.exit_code == 2
    assert "already exists" in res.output and "--force" in res.output
    assert path.read_text() == "keep me"
    assert run("shortlist", "Medan", "-o", str(path), "--force").exit_code == 0
    assert path.read_text().startswith("rank,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["shortlist", "Medn"], 'Unknown city "Medn". Closest matches: Medan (ID'),
        (["shortlist", "Gwangju"], '"Gwangju" matches 2 cities'),
        (["shortlist", "Medan", "--scenario", "smallbig"], "small-big"),
        (["shortlist", "Medan", "--top", "0"], "top must be an integer >= 1; got 0"),
        (["shortlist", "Medan", "--min-population", "-5"], "-5"),
        (["shortlist", "Medan", "--max-per-country", "0"], "max_per_country"),
        (
            ["shortlist", "Medan", "--countries", "JP", "--exclude-countries", "JP"],
            "No candidate city is left",
        ),
        (["shortlist", "Medan", "--countries", "XX"], "XX"),
        (["shortlist", "Medan", "--set", "gdp=5"], "unknown indicator 'gdp'"),
        (["shortlist", "Medan", "--set", "gdp_per_capita_usd=lots"], "'lots' is not a number"),
        (["shortlist", "Medan", "--min-level", "hdi=excellent"], "excellent"),
        (["compare", "Medan", "--scenario", "small-big"], "at least two --scenario"),
        (["scenarios", "show", "nope"], "nope"),
        (["explain", "Medan", "Medan"], "is the local city itself"),
    ],
)
def test_user_errors_are_one_line_exit_2(args, message):
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    assert lines[0].startswith("Error: ")
    assert message in lines[0]


def test_no_file_written_when_filters_leave_nothing(tmp_path):
    path = tmp_path / "empty.csv"
    res = CliRunner().invoke(
        cli, ["shortlist", "Medan", "--countries", "JP", "--min-population", "5e8", "-o", str(path)]
    )
    assert res.exit_code == 2
    assert "No candidate city is left" in res.output
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = CliRunner().invoke(cli, ["shortlist", "Medan", "-o", str(blocker / "out.csv")])
    assert res.exit_code == 2
    assert "Cannot write" in res.output
    res = CliRunner().invoke(cli, ["shortlist", "Medan", "-o", str(tmp_path / "no" / "dir.csv")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_usage_errors_through_main_are_one_line(capsys):
    code, out, err = run_main(capsys, "shortlist", "Medan", "--top", "ten")
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "'ten' is not a valid integer" in err


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('colour = "red"\n', "colour"),
        ("[weights]\nhdi = -1\n", "-1"),
        ("[weights]\npopulation = 0\narea_km2 = 0\ngdp_per_capita_usd = 0\nhdi = 0\n", "zero"),
        ("[bands.gdp_per_capita_usd]\nlo = 8\nhi = 2\n", "lo"),
        ("this is not toml ===\n", "TOML"),
    ],
)
def test_bad_scenario_files(tmp_path, toml, message):
    p = tmp_path / "s.toml"
    p.write_text(toml)
    res = CliRunner().invoke(cli, ["shortlist", "Medan", "--scenario", str(p)])
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1 and message in res.output


def test_custom_scenario_file_round_trips(tmp_path):
    shown = run("scenarios", "show", "symmetric").output
    p = tmp_path / "mine.toml"
    p.write_text(shown)
    a = json.loads(run("shortlist", "Medan", "--scenario", "symmetric", "--format", "json").output)
    b = json.loads(run("shortlist", "Medan", "--scenario", str(p), "--format", "json").output)
    assert [r["city_id"] for r in a] == [r["city_id"] for r in b]


def test_what_if_override_changes_the_local_city():
    base = json.loads(run("shortlist", "Medan", "--format", "json").output)
    rich = json.loads(
        run("shortlist", "Medan", "--set", "gdp_per_capita_usd=30000", "--format", "json").output
    )
    # richer; a modelled figure (national x urban premium) only needs its 80% interval to
    # reach "richer": the gate never drops a candidate on a level mismatch alone
    assert all(
        r["gdp_per_capita_usd_ratio"] > 1
        if r["gdp_per_capita_usd_level"] != "modelled"
        else r["gdp_per_capita_usd_ratio_high"] > 1
        for r in rich
    )
    assert [r["city_id"] for r in rich] != [r["city_id"] for r in base]
    screen = run("shortlist", "Medan", "--set", "gdp_per_capita_usd=30000").output
    assert "what-if: gdp_per_capita_usd=30000" in screen


def test_partners_medan_table2_form():
    res = run("partners", "Medan")
    assert res.exit_code == 0
    for name in ("Chengdu", "Gwangju", "Ichikawa", "George Town"):
        assert name in res.output
    assert "Big" in res.output and "Symmetry" in res.output and "Total" in res.output


def test_compare_medan_small_big_vs_symmetric():
    res = run("compare", "Medan", "--scenario", "small-big", "--scenario", "symmetric")
    assert res.exit_code == 0
    out = res.output
    assert "Overlap at 10" in out and "Rank correlation" in out and "move most" in out


def test_explain_sums_up():
    res = run("explain", "Medan", "Ichikawa")
    assert res.exit_code == 0
    assert "already a partner" in res.output
    assert "Contributions add up to the score" in res.output
    doc = json.loads(run("explain", "Medan", "Ichikawa", "--format", "json").output)
    total = sum(r["contribution"] for r in doc["breakdown"])
    assert total == pytest.approx(doc["summary"]["score"], abs=1e-9)


def test_scenarios_list_shows_all_presets():
    out = run("scenarios", "list").output
    for name in ("small-big", "big-small", "asymmetric", "symmetric", "complementary"):
        assert name in out


def test_batch_capitals(tmp_path):
    path = tmp_path / "capitals.csv"
    res = CliRunner().invoke(
        cli, ["batch", "--local-cities", "capitals", "--top", "3", "-o", str(path)]
    )
    assert res.exit_code == 0, res.output
    df = pd.read_csv(path)
    assert df["local_city_id"].nunique() == 38
    assert (df.groupby("local_city_id").size() <= 3).all()
    assert MEDAN in set(df["local_city_id"])


def test_batch_from_a_csv_and_bad_list(tmp_path):
    lst = tmp_path / "mine.csv"
    lst.write_text("name\nMedan\nBandung\n")
    out = tmp_path / "b.json"
    res = CliRunner().invoke(
        cli, ["batch", "--local-cities", str(lst), "--top", "2", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert pd.read_json(out)["local_name"].unique().tolist() == ["Medan", "Bandung"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nXqzzyville\n")
    res = CliRunner().invoke(
        cli, ["batch", "--local-cities", str(bad), "-o", str(tmp_path / "c.csv")]
    )
    assert res.exit_code == 2 and 'row 2: Unknown city "Xqzzyville"' in res.output
    assert not (tmp_path / "c.csv").exists()


def test_shortlist_with_feasibility():
    res = CliRunner().invoke(cli, ["shortlist", "Medan", "--feasibility", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert len(rows) == 10
    assert all(0.0 <= r["feasibility"] <= 1.0 for r in rows)
    from recommender.engine.shortlist import DEFAULT_BLEND as blend

    for r in rows:
        assert r["combined"] == pytest.approx((1 - blend) * r["score"] + blend * r["feasibility"])
        assert "strategy fit" in r["why_feasibility"]
    # soft diversity may put a strong city of a new country before a second city of a
    # country already listed, never reorder two cities of the same country
    by_country: dict[str, list[float]] = {}
    for r in rows:
        by_country.setdefault(r["country_code"], []).append(r["combined"])
    for values in by_country.values():
        assert values == sorted(values, reverse=True)
    screen = run("shortlist", "Medan", "--feasibility").output
    assert "Ranked by combined" in screen


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evaluate", "--holdout-share", "2"], "--holdout-share must be between 0 and 1; got 2.0"),
        (["evaluate", "--max-cities", "-1"], "--max-cities must be 0 (all) or more; got -1"),
        (["train", "--neg-ratio", "0"], "--neg-ratio must be at least 1; got 0"),
    ],
)
def test_train_and_evaluate_option_errors(args, message):
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2
    assert res.output.strip() == f"Error: {message}"


def test_evaluate_refuses_existing_files_and_missing_folders_before_the_work(tmp_path):
    """Checked before anything is trained: an existing evaluation file without --force, or
    an output folder that does not exist, is one line and exit 2."""
    (tmp_path / "evaluation.json").write_text("{}")
    res = CliRunner().invoke(cli, ["evaluate", "-o", str(tmp_path)])
    assert res.exit_code == 2
    assert res.output.strip() == (
        f'Error: File "{tmp_path / "evaluation.json"}" already exists; use --force to overwrite'
    )
    assert (tmp_path / "evaluation.json").read_text() == "{}"
    res = CliRunner().invoke(cli, ["evaluate", "-o", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "no such folder" in res.output


def test_empty_or_binary_scenario_file(tmp_path):
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    res = CliRunner().invoke(cli, ["shortlist", "Medan", "--scenario", str(empty)])
    assert res.exit_code == 2 and "is empty" in res.output
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    res = CliRunner().invoke(cli, ["shortlist", "Medan", "--scenario", str(binary)])
    assert res.exit_code == 2 and res.output.count("\n") == 1


def test_bare_command_prints_help_not_an_error(capsys):
    code, out, err = run_main(capsys)
    assert code == 0 and out.startswith("Usage: sistercity") and "Error" not in err
