"""A binary cache of the packaged tables, and the check that they are the files we shipped.

Parsing ``cities.csv.gz`` costs about 170 ms of CPU at every start; the same table from a
flat binary file of numpy arrays costs a fraction of that (one read; every array a view of
one buffer). The cache is built at first use from the committed
CSV files and kept in the user's cache folder (``$SISTERCITY_CACHE_DIR``, else
``$XDG_CACHE_HOME/sistercity`` or ``~/.cache/sistercity``, else ``.cache/`` beside the
data when that is writable; without a writable folder the CSV is read every time).

What makes it safe to trust:

- **No code in the file.** A JSON header and arrays of plain dtypes (object dtypes are
  refused when reading, nothing is unpickled): numbers as they are, every string column
  as integer codes plus its distinct values (one UTF-8 block; the values it shares with an
  earlier column, such as ``ascii_name`` with ``name``, as indices into that column's),
  so a cache cannot run code whatever it holds. The codes are kept for the engine (:func:`codes_of`), which then
  needs no string work of its own.
- **Keyed by content.** A cache file is named after the SHA-256 of the CSV it was built
  from and records it inside; a changed CSV has another digest, so its cache is rebuilt.
- **The packaged tables are checked against** ``MANIFEST.json``: a table whose SHA-256
  differs from the manifest's is refused with one line naming the file. Hashing 2 MB at
  every start would cost more than the cache saves, so the digest of a file is recorded
  with its size, modification and change times and inode, and computed again only when
  one of them changes (the change time cannot be set back by a user).
- **Generic over columns.** The format stores whatever columns the table has (numbers,
  booleans, strings, categoricals), so new columns need no change here.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> df = pd.DataFrame({"id": [1, 2], "name": ["Medan", "Izmir"], "pop": [2.4e6, None]})
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.bin"
>>> save_frame(df, p, source_sha256="0" * 64)
>>> back, codes = load_frame(p, source_sha256="0" * 64)
>>> back.equals(df), codes["name"][1].tolist()
(True, ['Medan', 'Izmir'])
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import tempfile
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.errors import DataValidationError

CACHE_VERSION = 3
"""Bump when the file layout or the way a table is read changes: old caches are ignored."""

_SEP = "\x00"  # between the distinct values of a string column (a CSV cell cannot hold it)


# ---------------------------------------------------------------------------------------
# where


def cache_dir(data_dir: Path | None = None) -> Path | None:
    """The folder for cache files, created if needed; ``None`` when none is writable.

    ``$SISTERCITY_CACHE_DIR`` (``off`` disables the cache), else the user's cache folder,
    else ``.cache/`` inside ``data_dir``.
    """
    env = os.environ.get("SISTERCITY_CACHE_DIR")
    if env is not None and env.strip().lower() in ("", "0", "off", "none"):
        return None
    if env:
        options = [Path(env)]
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
        options = [Path(base) / "sistercity"]
        if data_dir is not None:
            options.append(Path(data_dir) / ".cache")
    for folder in options:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    return None


def _atomic_write(path: Path, write: Callable[[object], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------------------------------
# digests, verified once per file change


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def file_digest(path: Path, folder: Path | None = None) -> str:
    """SHA-256 of ``path``, recomputed only when its size, times or inode change.

    The record lives in ``folder`` (the cache folder); without one the file is hashed.
    """
    path = Path(path).resolve()
    st = path.stat()
    if folder is None:
        return sha256_file(path)
    tag = hashlib.sha1(str(path).encode()).hexdigest()[:16]
    record = folder / f"digest-{path.name}-{tag}.json"
    key = _stat_key(st)
    try:
        saved = json.loads(record.read_text())
        if saved.get("path") == str(path) and saved.get("stat") == key:
            return str(saved["sha256"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    digest = sha256_file(path)
    if _stat_key(path.stat()) == key:  # not changed while we read it
        body = json.dumps({"path": str(path), "stat": key, "sha256": digest}).encode()
        try:
            _atomic_write(record, lambda fh: fh.write(body))
        except OSError:
            pass
    return digest


def manifest_checksums(data_dir: Path) -> dict[str, str]:
    """``checksums_sha256`` of ``MANIFEST.json`` in ``data_dir`` ({} without a manifest)."""
    p = Path(data_dir) / "MANIFEST.json"
    if not p.exists():
        return {}
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataValidationError(f'"{p}" is not readable JSON: {exc}') from None
    sums = doc.get("checksums_sha256", {}) if isinstance(doc, dict) else {}
    return {str(k): str(v) for k, v in sums.items()} if isinstance(sums, dict) else {}


def verify_table(path: Path, folder: Path | None = None) -> str:
    """The SHA-256 of a table, checked against its folder's ``MANIFEST.json`` when listed.

    Raises
    ------
    DataValidationError
        One line naming the file when its checksum differs from the manifest's.
    """
    path = Path(path)
    digest = file_digest(path, folder)
    expected = manifest_checksums(path.parent).get(path.name)
    if expected is not None and expected != digest:
        raise DataValidationError(
            f'Packaged table "{path.name}" in {path.parent} does not match its checksum in '
            f"MANIFEST.json (sha256 {digest[:12]}..., expected {expected[:12]}...); the file "
            "is damaged or was changed: reinstall sistercity or rebuild the data with "
            "scripts/build_dataset.py"
        )
    return digest


# ---------------------------------------------------------------------------------------
# the file format: a JSON header, then the arrays, each aligned to 64 bytes

MAGIC = b"SISTERCITY-TABLE"
_ALIGN = 64


def _blob(strings: list[str]) -> np.ndarray:
    if any(_SEP in s for s in strings):
        raise ValueError("a string holds the separator NUL")
    return np.frombuffer(_SEP.join(strings).encode("utf-8"), dtype=np.uint8)


_UNBLOB_STEP = 1 << 14
"""Bytes of a string block decoded at a time: decoding the 2 MB of ``alt_names`` at once
made a temporary string of up to 8 MB (4 bytes a character once one needs them) in fresh
pages, only to cut it up; 16 KB pieces reuse the same small memory."""


def _unblob(arr: np.ndarray, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    mv = memoryview(arr)  # decoded from the buffer itself, not copied first
    size, start, k = len(mv), 0, 0
    while start <= size:
        end = min(start + _UNBLOB_STEP, size)
        while end < size:  # on to the next separator (a NUL is never inside a character)
            at = bytes(mv[end : end + 256]).find(b"\0")
            if at >= 0:
                end += at
                break
            end += 256
        end = min(end, size)
        parts = str(mv[start:end], "utf-8").split(_SEP)
        if k + len(parts) > n:
            break
        out[k : k + len(parts)] = parts
        k += len(parts)
        start = end + 1
    if k != n or start <= size:
        raise ValueError("string block does not hold the recorded number of values")
    return out


def _distinct(z: Mapping[str, np.ndarray], i: int, n: int, borrowed: list, distinct: dict):
    """The ``n`` distinct values of string column ``i``, some taken from an earlier column."""
    if not borrowed:
        return _unblob(z[f"u{i}"], n)
    j = borrowed[0]
    at = z[f"b{i}"]
    source = distinct.get(j) if isinstance(j, int) else None
    if source is None or len(at) != n or (len(at) and at.max() >= len(source)):
        raise ValueError("string column borrows from a column it cannot")
    own = at < 0
    out = np.empty(n, dtype=object)
    out[~own] = source[at[~own]]
    out[own] = _unblob(z[f"u{i}"], int(own.sum()))
    return out


def _factorize_strings(values) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    dtype = np.int16 if len(uniques) < 2**15 else np.int32
    return codes.astype(dtype), [str(u) for u in uniques]


def _encode_strings(values) -> tuple[np.ndarray, np.ndarray, int]:
    codes, uniques = _factorize_strings(values)
    return codes, _blob(uniques), len(uniques)


_BORROW_MIN = 1000
"""A string column takes the distinct values it shares with an earlier column from that
column's (the same Python objects) when they share at least this many, and a quarter of
its own: ``ascii_name`` is ``name`` for most cities, so 30,000 strings are not made twice."""


def _borrowing(uniques: list[str], earlier: list[tuple[int, dict[str, int]]]):
    """``(column, index into that column's distinct values or -1 per value)`` of the
    earlier string column sharing the most distinct values with ``uniques``; or None."""
    best = None
    for j, index in earlier:
        at = np.fromiter((index.get(u, -1) for u in uniques), dtype=np.int32, count=len(uniques))
        shared = int((at >= 0).sum())
        if shared >= max(_BORROW_MIN, len(uniques) // 4) and (best is None or shared > best[2]):
            best = (j, at, shared)
    return None if best is None else best[:2]


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray], meta: Mapping) -> None:
    """Write named 1-D arrays of plain dtypes (no objects) and a JSON ``meta``, atomically."""
    specs, offset = [], 0
    for key, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype.hasobject or arr.ndim != 1:
            raise TypeError(f"array {key!r} is not a 1-D array of plain values")
        specs.append({"key": key, "dtype": arr.dtype.str, "n": len(arr), "offset": offset})
        offset += -(-arr.nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"meta": dict(meta), "arrays": specs}).encode()
    start = -(-(len(MAGIC) + 8 + len(header)) // _ALIGN) * _ALIGN

    def write(fh) -> None:
        fh.write(MAGIC + len(header).to_bytes(8, "little") + header)
        fh.write(b"\0" * (start - len(MAGIC) - 8 - len(header)))
        for (_key, arr), spec in zip(arrays.items(), specs):
            data = np.ascontiguousarray(arr).tobytes()
            fh.write(data + b"\0" * (-len(data) % _ALIGN))
            assert spec["n"] == len(arr)

    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, write)


def read_arrays(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file of :func:`write_arrays`: arrays are views of one writable buffer.

    The buffer is a private (copy-on-write) memory map of the file: pages come from the
    page cache as they are touched, without copying 11 MB into fresh memory at every start
    (which cost more than all the rest of the reading). Cache files are only ever replaced
    whole (written aside, then renamed), never changed in place, so the mapping stays valid.
    Only plain dtypes are accepted (no object arrays: nothing is unpickled).
    """
    with open(path, "rb") as fh:
        buf = np.frombuffer(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY), dtype=np.uint8)
    if buf[: len(MAGIC)].tobytes() != MAGIC:
        raise ValueError("not a sistercity table cache")
    hlen = int.from_bytes(buf[len(MAGIC) : len(MAGIC) + 8].tobytes(), "little")
    head = json.loads(buf[len(MAGIC) + 8 : len(MAGIC) + 8 + hlen].tobytes().decode())
    start = -(-(len(MAGIC) + 8 + hlen) // _ALIGN) * _ALIGN
    arrays = {}
    for spec in head["arrays"]:
        dtype = np.dtype(spec["dtype"])
        if dtype.hasobject:
            raise ValueError("object arrays are not allowed in a cache")
        lo = start + int(spec["offset"])
        hi = lo + dtype.itemsize * int(spec["n"])
        if hi > len(buf):
            raise ValueError("cache file is truncated")
        arrays[spec["key"]] = buf[lo:hi].view(dtype)
    return head["meta"], arrays


def save_frame(
    df: pd.DataFrame,
    path: Path,
    *,
    source_sha256: str,
    extras: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Write ``df`` (and named extra arrays derived from it) to a cache file, atomically.

    Numbers and booleans are stored as they are; strings (``str``, ``object`` and
    categorical columns, and extras of strings) as integer codes plus their distinct
    values. Other dtypes raise ``TypeError``.
    """
    arrays: dict[str, np.ndarray] = {}
    columns = []
    earlier: list[tuple[int, dict[str, int]]] = []  # string columns so far: value -> index
    for i, name in enumerate(df.columns):
        s = df[name]
        dt = s.dtype
        if isinstance(dt, pd.CategoricalDtype):
            _, blob, n = _encode_strings(s.cat.categories.astype(object))
            arrays[f"c{i}"] = s.cat.codes.to_numpy().astype(np.int32)
            arrays[f"u{i}"] = blob
            columns.append([str(name), "category", n])
        elif dt.kind in "fiub":
            arrays[f"v{i}"] = s.to_numpy()
            columns.append([str(name), "number", 0])
        elif dt.kind == "O" or isinstance(dt, pd.StringDtype):
            codes, uniques = _factorize_strings(s.to_numpy(dtype=object))
            kind = "str" if isinstance(dt, pd.StringDtype) else "object"
            borrow = _borrowing(uniques, earlier)
            earlier.append((i, {u: k for k, u in enumerate(uniques)}))
            arrays[f"c{i}"] = codes
            if borrow is None:
                arrays[f"u{i}"] = _blob(uniques)
                columns.append([str(name), kind, len(uniques)])
                continue
            # the values shared with column ``j`` are its objects; only the others are kept
            j, at = borrow
            arrays[f"b{i}"] = at
            arrays[f"u{i}"] = _blob([u for u, a in zip(uniques, at) if a < 0])
            columns.append([str(name), kind, len(uniques), j])
        else:
            raise TypeError(f"column {name!r} of dtype {dt} cannot be cached")
    extra_names = []
    for j, (name, values) in enumerate((extras or {}).items()):
        values = np.asarray(values)
        if values.dtype.kind in "fiub":  # a derived array of numbers, kept as it is
            arrays[f"xv{j}"] = values
            extra_names.append([name, -1])
            continue
        codes, blob, n = _encode_strings(values)
        arrays[f"xc{j}"], arrays[f"xu{j}"] = codes, blob
        extra_names.append([name, n])
    meta = {
        "version": CACHE_VERSION,
        "source_sha256": source_sha256,
        "rows": len(df),
        "columns": columns,
        "extras": extra_names,
    }
    write_arrays(path, arrays, meta)


def load_frame(
    path: Path, *, source_sha256: str
) -> tuple[pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Read a file written by :func:`save_frame`; ``ValueError`` if it is not that table.

    Returns the frame and, for every string column and every extra, its ``(codes,
    distinct values)``: the codes (a small integer dtype, read-only by convention) index
    the values, -1 marks a missing value; an extra of numbers is ``(values, None)``. The distinct
    values of an extra stay one UTF-8 block (``bytes``; see :func:`find_code`).
    """
    meta, z = read_arrays(path)
    if meta.get("version") != CACHE_VERSION or meta.get("source_sha256") != source_sha256:
        raise ValueError("cache built from another file or by another version")
    n_rows = int(meta["rows"])
    data, codes_of = {}, {}
    distinct: dict[int, np.ndarray] = {}
    for i, (name, kind, n, *borrowed) in enumerate(meta["columns"]):
        if kind == "number":
            values = z[f"v{i}"]
        else:
            codes = z[f"c{i}"]  # int16 or int32 as stored: a view, no copy per column
            uniques = _distinct(z, i, n, borrowed, distinct)
            distinct[i] = uniques
            if len(codes) and (codes.max() >= n or codes.min() < -1):
                raise ValueError(f"column {name!r} has codes out of range")
            codes_of[name] = (codes, uniques)
            if kind == "category":
                values = pd.Categorical.from_codes(codes, pd.Index(uniques, dtype=object))
            elif kind == "str":
                # the distinct values are checked once, then taken row by row (code -1:
                # missing), rather than every row's string checked again
                values = pd.array(uniques, dtype="str").take(codes, allow_fill=True)
            else:
                values = np.append(uniques, None)[codes]  # code -1 picks None (missing)
        if len(values) != n_rows:
            raise ValueError(f"column {name!r} has {len(values)} rows, not {n_rows}")
        data[name] = values
    for j, (name, n) in enumerate(meta["extras"]):
        if n == -1:  # numbers: (values, None)
            codes_of[name] = (z[f"xv{j}"], None)
            continue
        # kept as the raw UTF-8 block: looked up with find_code, never split into strings
        codes_of[name] = (z[f"xc{j}"], z[f"xu{j}"].tobytes())
    return pd.DataFrame(data, copy=False), codes_of


# ---------------------------------------------------------------------------------------
# string codes of a loaded table, for the layers that can use them


_CODES: dict[int, tuple[weakref.ref, dict]] = {}


def register_codes(df: pd.DataFrame, codes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Remember ``(codes, distinct values)`` of string columns (or derived keys) of ``df``.

    Valid for this very table object, which is treated as read-only.
    """
    for key in [k for k, v in _CODES.items() if v[0]() is None]:
        del _CODES[key]
    _CODES[id(df)] = (weakref.ref(df), dict(codes))


def codes_of(df: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The registered ``(codes, distinct values)`` of ``column`` of ``df``, or ``None``."""
    hit = _CODES.get(id(df))
    if hit is None or hit[0]() is not df:
        return None
    return hit[1].get(column)


def registered_codes(df: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every registered ``(codes, distinct values)`` of ``df`` (see :func:`codes_of`)."""
    hit = _CODES.get(id(df))
    if hit is None or hit[0]() is not df:
        return {}
    return dict(hit[1])


_SOURCES: dict[int, tuple[weakref.ref, str, Path | None]] = {}


def register_source(df: pd.DataFrame, sha256: str, folder: Path | None) -> None:
    """Remember that ``df`` is the packaged table whose file has this SHA-256 (verified
    against MANIFEST.json), and the folder of that file."""
    for key in [k for k, v in _SOURCES.items() if v[0]() is None]:
        del _SOURCES[key]
    _SOURCES[id(df)] = (weakref.ref(df), sha256, folder)


def source_of(df: pd.DataFrame) -> tuple[str, Path | None] | None:
    """``(sha256, data folder)`` of a packaged table loaded through :func:`cached_table`;
    ``None`` for any other table (a user's, a test's, or a copy): results computed from a
    packaged table may be cached under its checksum, from any other never."""
    hit = _SOURCES.get(id(df))
    if hit is None or hit[0]() is not df:
        return None
    return hit[1], hit[2]


def atomic_write(path: Path, write: Callable[[object], None]) -> None:
    """Write ``path`` through a temporary file in its folder and a rename (all or nothing)."""
    _atomic_write(Path(path), write)


def find_code(uniques: np.ndarray | bytes, key: str) -> int:
    """The code of ``key`` among distinct values (an array, or a block of the cache); -1 if absent.

    Examples
    --------
    >>> find_code(b"medan\\x00izmir", "izmir"), find_code(np.array(["a", "b"], dtype=object), "c")
    (1, -1)
    """
    if isinstance(uniques, bytes):
        k = key.encode("utf-8")
        if b"\0" in k:
            return -1
        if uniques.startswith(k + b"\0") or uniques == k:
            return 0
        at = uniques.find(b"\0" + k + b"\0")
        if at < 0 and uniques.endswith(b"\0" + k):
            at = len(uniques) - len(k) - 1
        return -1 if at < 0 else uniques.count(b"\0", 0, at + 1)
    hit = np.flatnonzero(uniques == key)
    return int(hit[0]) if len(hit) else -1


def string_codes(values) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, distinct values)`` of a string array (the same form as the cache's)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    return codes.astype(np.intp), np.asarray(uniques, dtype=object)


# ---------------------------------------------------------------------------------------
# the one entry point


def cached_table(
    path: Path,
    read: Callable[[Path], pd.DataFrame],
    *,
    extras: Callable[[pd.DataFrame], Mapping[str, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Load a table through the cache: verify, then read the cache or build it.

    Only tables listed in their folder's ``MANIFEST.json`` (the packaged ones) are
    verified and cached; any other file is read with ``read`` every time. ``read`` parses
    and validates the source file; ``extras`` computes derived arrays worth keeping with
    it (e.g. folded names, or the sorted partner pairs of the ties). The string codes of
    the table and the extras are registered (:func:`codes_of`).
    """
    path = Path(path)
    if path.name not in manifest_checksums(path.parent):
        # not a packaged table (a user's or a test's file): read it as it is
        df = read(path)
        more = dict(extras(df)) if extras is not None else {}
        register_codes(df, _extra_codes(more))
        return df
    folder = cache_dir(path.parent)
    digest = verify_table(path, folder)
    if folder is None:
        df = read(path)
        codes = _extra_codes(dict(extras(df)) if extras is not None else {})
    else:
        df, codes = _through_cache(path, folder, digest, read, extras)
    register_codes(df, codes)
    register_source(df, digest, path.parent)
    return df


def _through_cache(
    path: Path,
    folder: Path,
    digest: str,
    read: Callable[[Path], pd.DataFrame],
    extras: Callable[[pd.DataFrame], Mapping[str, np.ndarray]] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """``(table, codes of its strings and extras)`` of ``path``, whose content has the
    SHA-256 ``digest``: from its cache file in ``folder`` when that is readable, else
    ``read`` and written there, then read back as every later start will read it. A table
    the format cannot hold, or a folder that refuses the file, gives what ``read`` made."""
    target = folder / f"{path.name}-{digest[:24]}-v{CACHE_VERSION}.bin"
    if target.exists():
        try:
            return load_frame(target, source_sha256=digest)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unreadable or stale: rebuild below
    df = read(path)
    more = dict(extras(df)) if extras is not None else {}
    try:
        save_frame(df, target, source_sha256=digest, extras=more)
        return load_frame(target, source_sha256=digest)
    except (OSError, KeyError, TypeError, ValueError):
        return df, _extra_codes(more)


def cached_by_content(path: Path, read: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
    """A packaged table that ``MANIFEST.json`` does not list, through the cache.

    For the small tables written by hand (``eligibility.csv``): nothing to check them
    against, so the cache file is keyed by the SHA-256 of the file's content (recomputed
    whenever its size, times or inode change, as for the listed tables) and holds what
    ``read`` (which parses and validates) made of that content. An edited file has
    another digest, so it is read and validated again. Without a cache folder, ``read``.
    """
    path = Path(path)
    folder = cache_dir(path.parent)
    if folder is None:
        return read(path)
    return _through_cache(path, folder, file_digest(path, folder), read)[0]


def _extra_codes(extras: Mapping[str, np.ndarray]) -> dict[str, tuple]:
    """What :func:`load_frame` gives for ``extras``: strings as codes, numbers as they are."""
    out: dict[str, tuple] = {}
    for key, values in extras.items():
        values = np.asarray(values)
        out[key] = (values, None) if values.dtype.kind in "fiub" else string_codes(values)
    return out


__all__ = [
    "CACHE_VERSION",
    "atomic_write",
    "register_source",
    "source_of",
    "cache_dir",
    "cached_by_content",
    "cached_table",
    "file_digest",
    "codes_of",
    "find_code",
    "load_frame",
    "read_arrays",
    "register_codes",
    "registered_codes",
    "string_codes",
    "write_arrays",
    "manifest_checksums",
    "save_frame",
    "sha256_file",
    "verify_table",
]
