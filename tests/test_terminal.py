"""The CLI in a real terminal: commands run under a pseudo-terminal (stdin, stdout and stderr
all TTYs), as a planner runs them, so progress bars and terminal-only paths are exercised.

CliRunner never has a TTY, which is how ``batch`` could crash in every real terminal (a click
progress bar used without ``with``) while the tests passed.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

ANSI = __import__("re").compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def run_in_pty(*args: str, cwd: Path, timeout: float = 600) -> tuple[int, str]:
    """Run ``python -m recommender ARGS`` with a pseudo-terminal as its terminal.

    Returns the exit code and everything the terminal showed (escape codes removed).
    """
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    env.update({"LANG": "C.UTF-8", "COLUMNS": "120", "LINES": "40", "TERM": "xterm"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "recommender", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env,
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
    return code, ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


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
