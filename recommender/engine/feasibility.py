"""The shipped feasibility model: a verified bundle of plain arrays, scored with numpy.

The model says how partner-like a pair of cities looks (learned from the existing ties by
:mod:`recommender.learn.feasibility`); :func:`recommender.engine.shortlist.recommend` shows it
as its own column and blends it into the ranking. Scoring needs neither scikit-learn nor
unpickling: importing this module imports numpy and pandas only (tested).

The bundle
----------
``models/feasibility.npz`` is one file: a zip archive (stored, fixed timestamps, so the
same model gives the same bytes) of ``.npy`` arrays and a ``manifest.json`` member, whose
archive comment is the SHA-256 of every byte before it. The arrays are the trees (or the
linear model) and the calibration (:mod:`recommender.engine.trees`); the manifest records
the format, the feature names and version, the training data's SHA-256, parameters,
metrics, and the SHA-256 of the arrays. :func:`load_model` checks the file's checksum
before parsing anything, reads the arrays with ``allow_pickle=False`` (a ``.npy`` file
cannot run code) and refuses the file, naming it, when anything does not match.
``numpy.load(path, allow_pickle=False)`` opens it too. Model and manifest cannot be swapped apart: they are one file, written by
``train`` to a temporary file, verified by loading it, then renamed into place.

Scoring a pool
--------------
:func:`feasibility_for_pool` scores one local city against candidate rows of the cities
table, vectorised over the whole pool (features, then trees); see ``scripts/benchmark.py``
for the measured time per city.

Examples
--------
>>> from recommender.data.access import get_cities
>>> import numpy as np
>>> cities = get_cities(None)
>>> medan = cities[cities["name"] == "Medan"].iloc[0]
>>> seoul = np.flatnonzero(cities["city_id"].to_numpy() == 1835848)
>>> p = feasibility_for_pool(medan, seoul)
>>> p.shape, bool(0.0 < p[0] < 1.0)
((1,), True)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.data.access import get_cities, get_ties
from recommender.data.indicators import INDICATOR_NAMES
from recommender.engine.pair_features import (
    FEATURE_NAMES,
    FEATURE_VERSION,
    N_FEATURES,
    features_matrix,
    gather,
    pair_features,
    row_block,
    swapped_at,
)
from recommender.engine.tie_context import city_arrays, tie_context
from recommender.errors import ModelError

MODEL_FILE = "feasibility.npz"
MANIFEST_MEMBER = "manifest.json"
FORMAT = "sistercity-feasibility/1"
KINDS = ("hgb", "logreg")
"""Model kinds a bundle may hold: boosted trees (the arrays
:data:`recommender.engine.trees.TREE_ARRAYS`) or the logistic regression (``LINEAR_ARRAYS``),
each plus ``calibration``. The evaluators (:mod:`recommender.engine.trees`) are imported
when a model is first evaluated: a shortlist whose feasibility comes from the per-city
cache never imports them."""
MAX_BUNDLE_BYTES = 64_000_000
_CHUNK = 8192
"""Candidates scored at a time by :meth:`FeasibilityModel.score_candidates`: the feature
matrix of a chunk (3 MB) is reused memory rather than 15 MB fresh for 40,000 rows."""
"""A larger file is refused before it is read (the shipped model is about 0.2 MB)."""


# --------------------------------------------------------------------------- where models live


def models_dir() -> Path:
    """The folder of the trained model.

    ``$SISTERCITY_MODEL_DIR`` if set, else ``models/`` of a source checkout (next to the
    package), else the copy installed with the package (``recommender.model_files``).
    """
    env = os.environ.get("SISTERCITY_MODEL_DIR")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "models"
    if checkout.is_dir() or (checkout.parent / "pyproject.toml").exists():
        return checkout
    return Path(str(resources.files("recommender.model_files")))


def show_path(path: Path) -> str:
    """A path as people read it: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


# --------------------------------------------------------------------------- the bundle format


def arrays_sha256(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of named arrays: names, dtypes, shapes and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


CHECKSUM_PREFIX = b"sha256="
CHECKSUM_BYTES = len(CHECKSUM_PREFIX) + 64
"""The bundle ends with the zip archive comment ``sha256=<hex>``: the SHA-256 of every byte
before it, so that a change anywhere in the file is detected before anything is parsed."""


def bundle_bytes(arrays: Mapping[str, np.ndarray], manifest: Mapping) -> bytes:
    """The bundle file's bytes: the arrays as ``.npy`` members and the manifest (with the
    arrays' SHA-256 added) in a stored zip with fixed timestamps (byte-reproducible),
    whose archive comment is the SHA-256 of all the bytes before it."""
    manifest = {**manifest, "format": FORMAT, "arrays_sha256": arrays_sha256(arrays)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        members = [(MANIFEST_MEMBER, _json_bytes(manifest))]
        for name in sorted(arrays):
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            members.append((f"{name}.npy", npy.getvalue()))
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3  # the same bytes whatever system writes them
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
        zf.comment = CHECKSUM_PREFIX + b"0" * 64
    body = buf.getvalue()[:-CHECKSUM_BYTES]
    return body + CHECKSUM_PREFIX + hashlib.sha256(body).hexdigest().encode()


def _json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def read_bundle(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """The verified arrays and manifest of a bundle file.

    The file's bytes are read once; the checksum at its end is verified before anything is
    parsed, the arrays are parsed from those bytes with ``allow_pickle=False``, and their
    SHA-256 must match the manifest's.

    Raises
    ------
    ModelError
        One line naming the file: missing, too large, changed (checksum), not a readable
        bundle (a damaged zip, a member that is not a plain ``.npy`` array), or arrays that
        do not match the manifest.
    """
    p = Path(path)
    shown = show_path(p)
    retrain = "retrain with `sistercity train` or reinstall sistercity"
    if not p.is_file():
        raise ModelError(f"No feasibility model at {shown}; train one with `sistercity train`.")
    try:
        size = p.stat().st_size
        if size > MAX_BUNDLE_BYTES:
            raise ModelError(
                f"{shown} is {size:,} bytes, more than a feasibility model can be "
                f"({MAX_BUNDLE_BYTES:,}); it is not loaded."
            )
        data = p.read_bytes()
    except OSError as exc:
        raise ModelError(f"Cannot read {shown}: {exc.strerror or exc}.") from None
    body, tail = data[:-CHECKSUM_BYTES], data[-CHECKSUM_BYTES:]
    if not tail.startswith(CHECKSUM_PREFIX):
        raise ModelError(f"{shown} is not a sistercity feasibility model (no checksum); {retrain}.")
    expected = tail[len(CHECKSUM_PREFIX) :].decode("ascii", "replace")
    got = hashlib.sha256(body).hexdigest()
    if got != expected:
        raise ModelError(
            f"{shown} does not match its SHA-256 checksum (expected {expected[:12]}…, got "
            f"{got[:12]}…): the file was changed or damaged after training, so it is not "
            f"loaded; {retrain}."
        )
    try:
        arrays: dict[str, np.ndarray] = {}
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest = json.loads(zf.read(MANIFEST_MEMBER).decode("utf-8"))
            for info in zf.infolist():
                if info.filename == MANIFEST_MEMBER:
                    continue
                if not info.filename.endswith(".npy") or "/" in info.filename:
                    raise ValueError(f"unexpected member {info.filename!r}")
                arrays[info.filename[: -len(".npy")]] = np.lib.format.read_array(
                    io.BytesIO(zf.read(info)), allow_pickle=False
                )
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, UnicodeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ModelError(
            f"{shown} is not a readable feasibility model ({reason}); it is not loaded; {retrain}."
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got_format = manifest.get("format") if isinstance(manifest, dict) else None
        raise ModelError(f"{shown} is in format {got_format!r}, not {FORMAT!r}; {retrain}.")
    if arrays_sha256(arrays) != manifest.get("arrays_sha256"):
        raise ModelError(
            f"{shown}: its arrays do not match the SHA-256 in its manifest, so it is not "
            f"loaded; {retrain}."
        )
    return arrays, manifest


# --------------------------------------------------------------------------- the model


class FeasibilityModel:
    """A feasibility model in numpy: probability that a pair of cities is a partnership.

    Get one from :func:`load_model` (a verified bundle) or from
    :func:`recommender.learn.feasibility.fit_model` (in memory).

    Parameters
    ----------
    kind : {"hgb", "logreg"}
        Boosted trees or the scaled logistic regression.
    arrays : mapping of str to ndarray
        The model's arrays (:data:`recommender.engine.trees.TREE_ARRAYS` or
        ``LINEAR_ARRAYS``) and ``calibration`` ``[a, b]`` of the sigmoid.
    manifest : dict, optional
        What training recorded about it.
    path : Path, optional
        The file it was loaded from.
    """

    def __init__(
        self,
        kind: str,
        arrays: Mapping[str, np.ndarray],
        manifest: Mapping | None = None,
        path: Path | None = None,
        *,
        lazy: bool = False,
    ):
        if kind not in KINDS:
            raise ModelError(f"Unknown model kind {kind!r}; allowed: {', '.join(KINDS)}.")
        self.kind = kind
        self.manifest = dict(manifest or {})
        self.path = path
        # ``lazy`` (a verified bundle, :func:`load_model`): the evaluator is built and
        # checked at first use; a shortlist whose feasibility all comes from the per-city
        # cache (scored by these very arrays) never needs it, and building it costs ~12 ms
        self._arrays, self._evaluator = arrays, None
        if not lazy:
            self._evaluator = self._build_evaluator()
        cal = np.asarray(arrays.get("calibration", [np.nan, np.nan]), dtype=float)
        if cal.shape != (2,) or not np.isfinite(cal).all():
            raise ModelError("calibration must be two finite numbers [a, b]")
        self.calibration = cal

    def _build_evaluator(self):
        from recommender.engine.trees import LinearModel, TreeEnsemble

        return (TreeEnsemble if self.kind == "hgb" else LinearModel)(self._arrays, N_FEATURES)

    @property
    def evaluator(self):
        """The tree ensemble or linear model that computes raw scores."""
        if self._evaluator is None:
            try:
                self._evaluator = self._build_evaluator()
            except ModelError as exc:
                shown = show_path(self.path) if self.path is not None else "the model"
                raise ModelError(f"{shown} holds invalid model arrays ({exc}).") from None
        return self._evaluator

    def __repr__(self) -> str:
        return f"FeasibilityModel({self.kind}, path={str(self.path) if self.path else None!r})"

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays to save (the evaluator's and ``calibration``)."""
        return {**self.evaluator.to_arrays(), "calibration": self.calibration.copy()}

    def predict_raw(self, X: np.ndarray) -> np.ndarray:
        """Scores before calibration (scikit-learn's ``decision_function``)."""
        return self.evaluator.raw(X)

    def predict_matrix(self, X: np.ndarray) -> np.ndarray:
        """Probabilities for a feature matrix (rows of :data:`FEATURE_NAMES`)."""
        if len(X) == 0:
            return np.empty(0)
        from recommender.engine.trees import sigmoid_calibration

        return sigmoid_calibration(self.evaluator.raw(X), *self.calibration)

    def predict_pairs(
        self,
        city_a,
        city_b,
        *,
        cities: pd.DataFrame | None = None,
        ties: pd.DataFrame | None = None,
    ) -> np.ndarray:
        """Feasibility of pairs given by GeoNames ids (default: the packaged tables)."""
        cities, ties = get_cities(cities), get_ties(ties)
        return self.predict_matrix(pair_features(cities, ties, city_a, city_b, as_frame=False))

    def score_candidates(
        self,
        local: pd.Series | Mapping,
        cities: pd.DataFrame,
        ties: pd.DataFrame | None,
        positions: np.ndarray,
        *,
        cold: bool = True,
    ) -> np.ndarray:
        """Feasibility of ``local`` (a row, what-if values allowed) with the ``cities`` rows
        at ``positions``; vectorised, with the per-table arrays and counts cached.

        ``cold=True`` (default) hides the local city's own ties from the counts, as for the
        held-out cities of the evaluation: the probability then says how partner-like the
        pair looks for a city *like* this one, the setting that was measured.
        """
        A = city_arrays(cities)
        positions = np.asarray(positions, dtype=np.int64)
        ctx = tie_context(cities, ties)
        U = row_block(A, local)
        out = np.empty(len(positions))
        # one orientation at a time: the local city's side is then the same column for
        # every row, which the tree evaluator looks up once; in chunks of rows, so that
        # the feature matrix stays small (a row's score does not depend on the others)
        swap = swapped_at(A, U, positions)
        for rows in (np.flatnonzero(swap), np.flatnonzero(~swap)):
            for s in range(0, len(rows), _CHUNK):
                part = rows[s : s + _CHUNK]
                V = gather(A, positions[part])
                out[part] = self.predict_matrix(features_matrix(ctx, U, V, cold=cold))
        return out


def model_from_bundle(
    arrays: Mapping[str, np.ndarray], manifest: Mapping, path=None, *, lazy: bool = False
):
    """A :class:`FeasibilityModel` from verified bundle contents, after checking that the
    manifest describes a model for this version's features (``lazy``: its evaluator is
    built and checked at first use)."""
    shown = show_path(path) if path is not None else "the model"
    if manifest.get("feature_version") != FEATURE_VERSION:
        raise ModelError(
            f"{shown} was built for feature set v{manifest.get('feature_version')} but this "
            f"version of sistercity computes v{FEATURE_VERSION}; retrain with `sistercity train`."
        )
    if list(manifest.get("features", [])) != list(FEATURE_NAMES):
        raise ModelError(
            f"{shown} was built for other features than this version of sistercity computes; "
            f"retrain with `sistercity train`."
        )
    kind = manifest.get("kind")
    if kind not in KINDS:
        raise ModelError(f"{shown} holds a model of unknown kind {kind!r}; allowed: hgb, logreg.")
    try:
        return FeasibilityModel(
            kind, arrays, manifest, Path(path) if path is not None else None, lazy=lazy
        )
    except ModelError as exc:
        raise ModelError(f"{shown} holds invalid model arrays ({exc}); it is not loaded.") from None


_LOADED: dict[tuple, FeasibilityModel] = {}


def load_model(path: str | Path | None = None) -> FeasibilityModel:
    """Load the feasibility model from its bundle after verifying it.

    The file's bytes are read once; the arrays are parsed from those bytes with
    ``allow_pickle=False`` and their SHA-256 compared with the manifest inside the same
    file, so nothing in the file can run code and nothing is used unverified. Loaded
    models are cached per file (path, size, modification time).

    Parameters
    ----------
    path : path, optional
        The ``.npz`` bundle; default ``models_dir() / "feasibility.npz"``.

    Raises
    ------
    ModelError
        Missing, damaged or changed file, or a model for other features (one line that
        names the file).
    """
    p = Path(path) if path is not None else models_dir() / MODEL_FILE
    try:
        st = p.stat()
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    except OSError:
        key = None
    if key is not None and key in _LOADED:
        return _LOADED[key]
    arrays, manifest = read_bundle(p)
    model = model_from_bundle(arrays, manifest, p, lazy=True)
    _LOADED.clear()  # one model at a time is all recommend() needs
    if key is not None:
        _LOADED[key] = model
    return model


def clear_cache() -> None:
    """Forget loaded models (after ``train`` replaced the file)."""
    _LOADED.clear()


def feasibility_for_pool(
    local: pd.Series | Mapping,
    positions: np.ndarray,
    *,
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    model: FeasibilityModel | None = None,
) -> np.ndarray:
    """Feasibility of one local city with candidate rows of the cities table.

    The function the shortlist calls to score the whole candidate pool at once.

    Parameters
    ----------
    local : pandas.Series or mapping
        The local city's row (``city_id``, indicators, coordinates...); what-if values are
        used as given. Its own ties are hidden from the context counts (``cold``, as in the
        held-out evaluation).
    positions : array of int
        Row positions in ``cities`` of the candidates.
    cities, ties : pandas.DataFrame, optional
        Default: the packaged tables. Per-table arrays and tie counts are cached per table
        object, so repeated calls on the same tables pay for them once.
    model : FeasibilityModel, optional
        Default: the packaged model (:func:`load_model`, verified and cached).

    Returns
    -------
    numpy.ndarray
        One calibrated probability per position, in [0, 1].
    """
    cities, ties = get_cities(cities), get_ties(ties)
    model = load_model() if model is None else model
    return model.score_candidates(local, cities, ties, positions, cold=True)


# --------------------------------------------------------------------------- per-city cache

POOL_CACHE_VERSION = 2
"""Part of every cache key: bumped when scores can change in their last bits (2: the tree
evaluator sums the leaves in another order), so old files are not mixed with new values."""


def pool_vector_key(model: FeasibilityModel, local, cities: pd.DataFrame, ties: pd.DataFrame):
    """``(file name, cache folder)`` of the cached feasibility of ``local`` against the rows
    of ``cities`` (:class:`CachedScores`), or ``None`` when it must not be cached.

    Only for the packaged tables as verified against their MANIFEST.json
    (:func:`recommender.data.cache.source_of`: a user's table or a copy is never cached)
    and a model read from a verified bundle. The key is the SHA-256 of the model's arrays,
    of both tables' files, of the feature version and of the local city's feature row as
    as the model reads it (values, levels, place; what-if values included), so any change
    makes a new file.
    """
    from recommender.data.cache import cache_dir, source_of

    sha = (model.manifest or {}).get("arrays_sha256")
    src_c, src_t = source_of(cities), source_of(ties)
    if not sha or src_c is None or src_t is None:
        return None
    folder = cache_dir(src_c[1])
    if folder is None:  # SISTERCITY_CACHE_DIR=off, or nowhere writable
        return None
    # what the model reads of the local city (pair_features.row_block), as given
    fields = ["city_id", "country_code", "latitude", "longitude", "is_capital"]
    fields += [c for n in INDICATOR_NAMES for c in (n, f"{n}_level")]
    row = {c: repr(local.get(c)) for c in fields}
    head = [f"v{POOL_CACHE_VERSION}", f"f{FEATURE_VERSION}", sha, src_c[0], src_t[0]]
    text = json.dumps([head, row], sort_keys=True)
    return f"feasibility-{hashlib.sha256(text.encode()).hexdigest()[:40]}.npy", folder


class CachedScores:
    """Feasibility of one local city with rows of the packaged ``cities``, remembered in a
    file of the user's cache folder (see :func:`cached_scores`).

    The file is a plain ``.npy`` of float64 pairs (row position, feasibility) for the rows
    scored so far; read with ``allow_pickle=False`` (it cannot run code), and ignored unless
    every position is a row of the table and every value a probability. Calling the object with row
    positions returns their feasibility, scoring only the rows the file does not have yet;
    :meth:`save` writes the file back when rows were added (through a temporary file and a
    rename; a read-only folder is no error). The numbers equal
    :meth:`FeasibilityModel.score_candidates` of the same rows exactly: each row's features
    and trees do not depend on the other rows scored with it (tested).
    """

    def __init__(self, model: FeasibilityModel, local, cities, ties, path: Path):
        self.model, self.local, self.cities, self.ties, self.path = model, local, cities, ties, path
        n = len(cities)
        self.added = 0
        stamp = _file_stamp(path)
        seen = _READ.get(str(path))
        if stamp is not None and seen is not None and seen[0] == stamp and len(seen[1]) == n:
            self.vector = seen[1].copy()  # this file, as read (or written) last time
            return
        self.vector = np.full(n, np.nan)
        self._read(path, n)
        if stamp is not None:
            _remember(path, stamp, self.vector)

    def _read(self, path: Path, n: int) -> None:
        try:
            saved = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return
        # (m, 2): row position, feasibility; anything else is not ours and is ignored
        if saved.ndim != 2 or saved.shape[1] != 2 or saved.dtype != np.float64:
            return
        pos, val = saved[:, 0], saved[:, 1]
        if not (np.all(pos == np.floor(pos)) and np.all((pos >= 0) & (pos < n))):
            return
        if not np.all((val >= 0) & (val <= 1)):
            return
        self.vector[pos.astype(np.int64)] = val

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        need = rows[np.isnan(self.vector[rows])]
        if len(need):
            self.vector[need] = self.model.score_candidates(
                self.local, self.cities, self.ties, need, cold=True
            )
            self.added += len(need)
        return self.vector[rows]

    def save(self) -> None:
        if not self.added:
            return
        from recommender.data.cache import atomic_write

        known = np.flatnonzero(~np.isnan(self.vector))
        table = np.column_stack([known.astype(np.float64), self.vector[known]])
        try:
            atomic_write(self.path, lambda fh: np.save(fh, table, allow_pickle=False))
        except OSError:
            pass  # a read-only cache folder: scored again next time
        else:
            stamp = _file_stamp(self.path)
            if stamp is not None:
                _remember(self.path, stamp, self.vector)
        self.added = 0


_READ: dict[str, tuple[tuple, np.ndarray]] = {}
"""The vectors of the cache files read or written in this process, with each file's
``(inode, size, mtime)`` then: a file replaced since (they are only ever replaced whole,
by a rename) has another stamp and is read again."""


def _file_stamp(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _remember(path: Path, stamp: tuple, vector: np.ndarray) -> None:
    if len(_READ) >= 16:
        _READ.clear()
    _READ[str(path)] = (stamp, vector.copy())


def cached_scores(model: FeasibilityModel, local, cities, ties) -> CachedScores | None:
    """The :class:`CachedScores` of ``local`` (``None`` when not cacheable, see
    :func:`pool_vector_key`: the caller then scores the rows it needs itself).

    The first shortlist of a city scores the candidates it needs (the pruned path) and
    keeps them; the next one with the same tables and model reads them.
    """
    key = pool_vector_key(model, local, cities, ties)
    if key is None:
        return None
    name, folder = key
    return CachedScores(model, local, cities, ties, Path(folder) / name)


__all__ = [
    "FORMAT",
    "POOL_CACHE_VERSION",
    "MODEL_FILE",
    "FeasibilityModel",
    "arrays_sha256",
    "bundle_bytes",
    "clear_cache",
    "feasibility_for_pool",
    "load_model",
    "model_from_bundle",
    "models_dir",
    "cached_scores",
    "CachedScores",
    "read_bundle",
]
