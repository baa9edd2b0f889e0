"""The command-line process's start-up and shut-down helpers (recommender/cli/commands.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from recommender.cli import commands


def test_the_roomy_stack_runs_the_call_as_it_is():
    assert commands._on_roomy_stack(lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(KeyError):
        commands._on_roomy_stack({}.__getitem__, "x")

    # deep recursion inside it still works (the big frame only declares room)
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    assert commands._on_roomy_stack(depth, 500) == 500


def test_caches_are_kept_to_the_end_only_for_the_command_line_process(monkeypatch):
    calls = []
    monkeypatch.setattr(commands, "_leave_caches_to_the_system", lambda: calls.append(1))
    assert commands.main(["shortlist", "Medan", "--top", "1"]) == 0  # a caller's own argv
    assert calls == []
    monkeypatch.setattr(sys, "argv", ["sistercity", "shortlist", "Medan", "--top", "1"])
    assert commands.main() == 0  # the console script
    assert calls == [1]


def test_a_process_that_keeps_its_caches_ends_normally(tmp_path):
    out = tmp_path / "m.csv"
    code = (
        "import sys; from recommender.cli.commands import main; "
        f"sys.argv = ['sistercity', 'shortlist', 'Medan', '-o', {str(out)!r}]; sys.exit(main())"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("Wrote 10 rows")
    assert out.read_text(encoding="utf-8").count("\n") == 11
