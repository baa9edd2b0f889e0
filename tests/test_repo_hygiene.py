"""Repository rules: raw inputs are never committed; the code passes the linter."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUMS = ROOT.parent / "shared" / "raw" / "SHA256SUMS"


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [ROOT / p for p in out.stdout.decode().split("\0") if p]


@pytest.mark.skipif(not SUMS.exists(), reason="../shared/raw/SHA256SUMS not present")
def test_no_tracked_file_is_a_copy_of_a_raw_input():
    raw_digests = {
        line.split()[0]: line.split()[1] for line in SUMS.read_text().splitlines() if line.strip()
    }
    copies = []
    for path in tracked_files():
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in raw_digests:
                copies.append(f"{path.relative_to(ROOT)} == raw/{raw_digests[digest]}")
    assert not copies, copies


def test_ruff_lint_passes():
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff not installed (it is in the [test] extra)")
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
