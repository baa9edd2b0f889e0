"""``sistercity data cache``: what the cache folder holds, and --clear, which removes the
tool's own files and nothing else (no foreign file, no link, no folder, no write in
progress), after which the tool rebuilds what it needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from recommender.data.cache_files import STALE_SECONDS, cache_report, kind_of


def _run(env, *args):
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from recommender.cli.commands import main; sys.exit(main())",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e["SISTERCITY_CACHE_DIR"] = str(tmp_path / "cache")
    e["PYTHONIOENCODING"] = "utf-8"
    return e


def test_cache_lists_and_clears_only_the_tools_files(tmp_path, env):
    folder = tmp_path / "cache"
    first = _run(env, "shortlist", "Medan")
    assert first.returncode == 0, first.stderr
    made = cache_report(folder)
    assert made["kinds"]["tables"]["files"] >= 2  # cities and ties at least
    assert made["kinds"]["feasibility"]["files"] == 1  # Medan's scores
    assert made["bytes"] > 1_000_000

    # things that are not the tool's, or not regular files, beside them
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    (folder / "notes.txt").write_text("mine")
    (folder / ("feasibility-" + "a" * 40 + ".npy")).symlink_to(outside)
    (folder / ("feasibility-" + "b" * 40 + ".npy")).mkdir()
    table = next(p.name for p in folder.iterdir() if kind_of(p.name) == "tables")
    young = folder / f"{table}.abcd1234.tmp"
    old = folder / f"{table}.zyxw9876.tmp"
    young.write_bytes(b"x" * 10)
    old.write_bytes(b"y" * 10)
    past = time.time() - STALE_SECONDS - 60
    os.utime(old, (past, past))

    shown = _run(env, "data", "cache")
    assert shown.returncode == 0, shown.stderr
    assert f"Cache folder {folder}: {made['files'] + 2} files" in shown.stdout
    assert "Clear it with: sistercity data cache --clear" in shown.stdout

    cleared = _run(env, "data", "cache", "--clear", "--format", "json")
    assert cleared.returncode == 0, cleared.stderr
    report = json.loads(cleared.stdout)
    assert report["removed"]["files"] == made["files"] + 1  # and the old unfinished write
    assert report["files"] == 1 and report["kinds"]["unfinished"]["files"] == 1  # the young one
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(
        [
            "notes.txt",
            "feasibility-" + "a" * 40 + ".npy",
            "feasibility-" + "b" * 40 + ".npy",
            young.name,
        ]
    )
    assert outside.read_text() == "keep me"
    assert (folder / ("feasibility-" + "a" * 40 + ".npy")).is_symlink()

    # the tool rebuilds what it needs, with the same answer
    again = _run(env, "shortlist", "Medan")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert cache_report(folder)["kinds"]["tables"]["files"] >= 2


def test_cache_without_a_folder(env):
    env["SISTERCITY_CACHE_DIR"] = "off"
    out = _run(env, "data", "cache", "--clear")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "No cache folder: SISTERCITY_CACHE_DIR is off, or no folder is writable."
    )
