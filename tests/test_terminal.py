"""The CLI in a real terminal: commands run under a pseudo-terminal (stdin, stdout and stderr
all TTYs), as a planner runs them, so progress bars and terminal-only paths are exercised.

CliRunner never has a TTY, which is how ``batch`` could crash in every real terminal (a click
progress bar used without ``with``) while the tests passed.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

ANSI = __import__("re").compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


DATA = Path(__file__).resolve().parents[1] / "data"


def run_in_pty(
    *args: str,
    cwd: Path,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    stdout_pipe: bool = False,
) -> tuple[int, str] | tuple[int, str, str]:
    """Run ``python -m recommender ARGS`` with a pseudo-terminal as its terminal.

    Returns the exit code and everything the terminal showed (escape codes removed). With
    ``stdout_pipe`` standard output goes to a pipe instead (stdin and stderr stay on the
    terminal, so the command still draws its progress on stderr) and is returned third:
    what a planner gets with ``sistercity ... > file``.
    """
    master, slave = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    full_env.update({"LANG": "C.UTF-8", "COLUMNS": "120", "LINES": "40", "TERM": "xterm"})
    full_env.update(env or {})
    out_file = (cwd / ".stdout").open("w+b") if stdout_pipe else None
    proc = subprocess.Popen(
        [sys.executable, "-m", "recommender", *args],
        stdin=slave,
        stdout=out_file if stdout_pipe else slave,
        stderr=slave,
        cwd=cwd,
        env=full_env,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{args} did not finish in {timeout} s")
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=60)
    finally:
        os.close(master)
    shown = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    if out_file is None:
        return code, shown
    out_file.seek(0)
    stdout = out_file.read().decode("utf-8")
    out_file.close()
    return code, shown, stdout


def test_batch_in_a_terminal_shows_progress_and_writes_the_file(tmp_path):
    out = tmp_path / "capitals.xlsx"
    code, shown = run_in_pty(
        "batch", "--local-cities", "capitals", "--top", "2", "-o", str(out), cwd=tmp_path
    )
    assert code == 0, shown
    assert "This is a bug" not in shown and "Error" not in shown
    assert "Shortlisting" in shown  # the progress bar, on the terminal
    assert "Wrote 76 rows for 38 local cities" in shown
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Shortlist"
    assert wb["Shortlist"].max_row == 77


def test_batch_piped_keeps_the_bar_off_the_output(tmp_path):
    # stderr not a terminal: no bar at all; the file is still written
    out = tmp_path / "c.csv"
    res = subprocess.run(
        [sys.executable, "-m", "recommender", "batch", "--local-cities", "capitals"]
        + ["--top", "1", "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    assert "Shortlisting" not in res.stderr and res.stdout == ""
    assert len(pd.read_csv(out)) == 38


def test_shortlist_in_a_terminal(tmp_path):
    code, shown = run_in_pty("shortlist", "Medan", cwd=tmp_path)
    assert code == 0, shown
    assert "Partner shortlist for Medan (ID)" in shown
    # the first candidate's why line, whichever city ranks first
    assert re.search(r"^\s+1\. [^:\n]+: GDP per capita", shown, flags=re.M), shown[-800:]


def test_shortlist_in_indonesian_in_a_terminal(tmp_path):
    code, shown = run_in_pty("shortlist", "Medan", "--lang", "id", cwd=tmp_path)
    assert code == 0, shown
    assert "Daftar calon mitra untuk Medan (ID)" in shown


def test_train_help_in_a_terminal(tmp_path):
    code, shown = run_in_pty("train", "--help", cwd=tmp_path)
    assert code == 0, shown
    assert "Usage: sistercity train" in shown or "Usage: python -m recommender train" in shown


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> dict[str, str]:
    """A small table in the packaged format, for the commands that retrain models.

    The packaged cities of at least 500,000 people plus every Indonesian local city (about
    1,300 of 40,600) and the partnerships among them, written as ``cities.csv.gz`` and
    ``ties.csv.gz`` with a ``MANIFEST.json`` holding their checksums, and passed the way a
    user passes other data: ``SISTERCITY_DATA_DIR`` (README, "Your own data"). ``train``
    and ``evaluate`` then run in full (every model, both splits, the files) in about 10 s
    each instead of minutes.
    """
    d = tmp_path_factory.mktemp("small") / "data"
    d.mkdir()
    cities = pd.read_csv(DATA / "cities.csv.gz", dtype=str, keep_default_na=False)
    ties = pd.read_csv(DATA / "ties.csv.gz", dtype=str, keep_default_na=False)
    population = pd.to_numeric(cities["population"], errors="coerce")
    cities = cities[(population >= 500_000) | (cities["is_local"] == "True")]
    ids = set(cities["city_id"])
    ties = ties[ties["city_a_id"].isin(ids) & ties["city_b_id"].isin(ids)]
    assert 1000 < len(cities) < 2000 and len(ties) > 1000  # a real, if small, table
    cities.to_csv(d / "cities.csv.gz", index=False)
    ties.to_csv(d / "ties.csv.gz", index=False)
    for name in ("eligibility.csv", "urban_premium.json"):
        shutil.copy2(DATA / name, d / name)
    manifest = json.loads((DATA / "MANIFEST.json").read_text(encoding="utf-8"))
    manifest["checksums_sha256"] = {
        name: hashlib.sha256((d / name).read_bytes()).hexdigest()
        for name in ("cities.csv.gz", "ties.csv.gz")
    }
    (d / "MANIFEST.json").write_text(json.dumps(manifest), encoding="utf-8")
    return {
        "SISTERCITY_DATA_DIR": str(d),
        "SISTERCITY_CACHE_DIR": str(d.parent / "cache"),
        "OMP_NUM_THREADS": "1",
    }


def test_evaluate_in_a_terminal_shows_progress_and_writes_the_files(tmp_path, small_data):
    out = tmp_path / "eval"
    out.mkdir()
    code, shown, stdout = run_in_pty(
        "evaluate", "--max-cities", "3", "-o", str(out),
        cwd=tmp_path, env=small_data, stdout_pipe=True,
    )  # fmt: skip
    assert code == 0, shown + stdout
    assert "This is a bug" not in shown and "Error" not in shown
    # the progress bar on the terminal (stderr), never in the results (stdout)
    assert "Evaluating" in shown and "Evaluating" not in stdout
    assert "random split" in stdout and "recall@50" in stdout  # the summary table
    for name in ("evaluation.csv", "evaluation.json", "evaluation.md"):
        assert f"Wrote {out / name}" in shown
        assert (out / name).stat().st_size > 0
    info = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))["info"]
    # three sampled cities ranked, and at most three of low- and middle-income countries
    assert info["n_sampled"] == 3 and info["max_cities"] == 3
    assert 3 <= info["n_ranked"] <= 3 + info["n_developing"] and info["n_developing"] <= 3
    table = pd.read_csv(out / "evaluation.csv")
    assert {"learned (hgb)", "gravity", "small-big"} <= set(table["method"])


def test_train_in_a_terminal_prints_a_short_table(tmp_path, small_data):
    code, shown, stdout = run_in_pty(
        "train", "--out-dir", str(tmp_path / "m"), cwd=tmp_path, env=small_data, stdout_pipe=True
    )
    assert code == 0, shown + stdout
    assert "Training: " in shown and "Training: " not in stdout  # the bar, on stderr only
    lines = stdout.strip().splitlines()
    assert len(lines) <= 15, stdout  # a summary, not the metrics dump
    assert lines[0].startswith("Trained the feasibility model") and "Validation fold" in stdout
    assert not stdout.lstrip().startswith("{")
    assert (tmp_path / "m" / "feasibility.npz").stat().st_size > 0
    # every metric only on request, as JSON that parses
    code, shown, stdout = run_in_pty(
        "train", "--json", "--out-dir", str(tmp_path / "m2"),
        cwd=tmp_path, env=small_data, stdout_pipe=True,
    )  # fmt: skip
    assert code == 0, shown + stdout
    doc = json.loads(stdout)
    assert doc["chosen"] in ("hgb", "logreg") and "validation" in doc
    assert len(stdout.splitlines()) > 3 * len(lines)
