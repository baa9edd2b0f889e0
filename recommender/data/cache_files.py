"""The files the tool keeps in its cache folder: what they are, how much room they take, and
clearing them (``sistercity data cache``).

Everything in the folder can be rebuilt: binary copies of the packaged tables
(:mod:`recommender.data.cache`), the recorded checksums of the tables' CSV files, and each
local city's feasibility scores (:func:`recommender.engine.feasibility.cached_scores`).
Each new data release, model or tool version adds files and none ever replaces an older
one in place, so the folder only grows (hundreds of megabytes after a few versions or many
test runs); clearing it costs one slower first shortlist.

Only the tool's own files are counted and removed, recognised by their names: regular
files, never a folder, a link or anything else that happens to live there.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

KINDS = {
    "tables": re.compile(r"^[A-Za-z0-9_.]+\.(csv|csv\.gz)-[0-9a-f]{12,64}-v\d+\.(bin|npz)$"),
    "checksums": re.compile(r"^digest-[A-Za-z0-9_.]+-[0-9a-f]{8,64}\.json$"),
    "feasibility": re.compile(r"^feasibility-[0-9a-f]{16,64}\.npy$"),
}
"""The tool's file names by kind (the keys are what ``sistercity data cache`` lists)."""

_UNFINISHED = re.compile(r"^(?P<target>.+)\.[A-Za-z0-9_]{8}\.tmp$")
"""A write in progress, or one a killed process left: ``<target>.<random>.tmp`` beside
its target (``tempfile.mkstemp`` in :mod:`recommender.data.cache`)."""

STALE_SECONDS = 3600
"""An unfinished write is removed only when older than this: a younger one may still be
in progress in another process."""


@dataclass(frozen=True)
class CacheFile:
    path: Path
    kind: str
    size: int
    mtime: float


def kind_of(name: str) -> str | None:
    """The kind of a file name in the cache folder, or None if it is not one of the tool's.

    >>> kind_of("feasibility-80c76471cb33051d5293e684759c43f4cafeb47b.npy")
    'feasibility'
    >>> kind_of("cities.csv.gz-1067e2ac1d20d2a1ce582eff-v3.bin")
    'tables'
    >>> kind_of("ties.csv.gz-e40cec5581dae82d78b0c8f1-v3.bin.k2j_x9aQ.tmp")
    'unfinished'
    >>> kind_of("notes.txt") is None
    True
    """
    for kind, pattern in KINDS.items():
        if pattern.match(name):
            return kind
    m = _UNFINISHED.match(name)
    if m and any(p.match(m.group("target")) for p in KINDS.values()):
        return "unfinished"
    return None


def cache_files(folder: Path) -> list[CacheFile]:
    """The tool's regular files in ``folder`` (not its subfolders), sorted by name."""
    out = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return out
    for entry in entries:
        kind = kind_of(entry.name)
        if kind is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            out.append(CacheFile(Path(entry.path), kind, int(st.st_size), st.st_mtime))
    return out


def cache_report(folder: Path | None) -> dict:
    """``folder`` (None: no cache folder), the number of files and bytes, per kind and in
    all."""
    report: dict = {"folder": None if folder is None else str(folder), "kinds": {}}
    files = [] if folder is None else cache_files(folder)
    for kind in (*KINDS, "unfinished"):
        mine = [f for f in files if f.kind == kind]
        report["kinds"][kind] = {"files": len(mine), "bytes": sum(f.size for f in mine)}
    report["files"] = len(files)
    report["bytes"] = sum(f.size for f in files)
    return report


def clear_cache_files(folder: Path | None, *, now: float | None = None) -> tuple[int, int]:
    """Remove the tool's files from ``folder``; returns (files, bytes) removed. A file
    another process removed first, or one that cannot be removed, is skipped, and so is an
    unfinished write younger than :data:`STALE_SECONDS` (it may still be in progress)."""
    import time

    now = time.time() if now is None else now
    n = size = 0
    for f in [] if folder is None else cache_files(folder):
        if f.kind == "unfinished" and now - f.mtime < STALE_SECONDS:
            continue
        try:
            st = os.lstat(f.path)
            if not stat.S_ISREG(st.st_mode):
                continue  # replaced by something else since it was listed
            os.unlink(f.path)
        except OSError:
            continue
        n += 1
        size += f.size
    return n, size


__all__ = ["KINDS", "CacheFile", "cache_files", "cache_report", "clear_cache_files", "kind_of"]
