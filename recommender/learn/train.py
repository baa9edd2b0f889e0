"""Training the feasibility model into its bundle: ``train`` and what it writes.

:func:`train` fits the model (:func:`recommender.learn.feasibility.fit_estimator`), exports it
to arrays (:func:`~recommender.learn.feasibility.export_estimator`), checks that the arrays
reproduce scikit-learn's probabilities, and writes one file, ``feasibility.npz``
(:mod:`recommender.engine.feasibility`: the arrays, the calibration and the manifest with the
arrays' SHA-256, library versions, the SHA-256 of the training data, parameters, seed,
metrics and a fingerprint of predictions on a fixed probe set), plus a readable copy of the
manifest, ``feasibility.manifest.json``, that nothing loads. The bundle is written to a
temporary file, loaded back and checked (the probe fingerprint must match), and only then
renamed over the old one: a failed or interrupted ``train`` leaves the previous model in
place. Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.data.access import get_cities, get_ties
from recommender.engine.feasibility import (
    MODEL_FILE,
    FeasibilityModel,
    bundle_bytes,
    clear_cache,
    model_from_bundle,
    models_dir,
    read_bundle,
    show_path,
)
from recommender.engine.pair_features import pair_features
from recommender.engine.tie_context import city_arrays, cross_ties
from recommender.errors import ModelError
from recommender.learn.feasibility import export_estimator, fit_estimator
from recommender.learn.training import (
    DEFAULT_CONTEXT,
    DEFAULT_HARD_SHARE,
    DEFAULT_NEG_RATIO,
    DEFAULT_SEED,
)

MANIFEST_COPY = "feasibility.manifest.json"
"""A readable copy of the manifest inside the bundle, written next to it; never loaded."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _versions() -> dict:
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def _frame_sha256(df: pd.DataFrame) -> str:
    h = pd.util.hash_pandas_object(df, index=False).to_numpy()
    return _sha256(h.tobytes() + ",".join(map(str, df.columns)).encode())


def _data_fingerprint(cities: pd.DataFrame | None, ties: pd.DataFrame | None) -> dict:
    """SHA-256 of the packaged files when the defaults are used, else of the DataFrames."""
    from recommender.data.tables import data_dir

    out = {}
    for name, df in (("cities.csv.gz", cities), ("ties.csv.gz", ties)):
        if df is None:
            p = data_dir() / name
            out[name] = {"source": f"data/{name}", "sha256": _sha256(p.read_bytes())}
        else:
            out[name] = {"source": "DataFrame", "rows": len(df), "sha256": _frame_sha256(df)}
    return out


def _probe_pairs(cities: pd.DataFrame, ties: pd.DataFrame, n: int = 512) -> tuple:
    """A fixed probe set for the prediction fingerprint: ties and shifted non-ties, chosen
    by sorted ids (no randomness)."""
    A = city_arrays(cities)
    a, b = cross_ties(A, ties)
    order = np.lexsort((A.ids[b], A.ids[a]))[: n // 2]
    a, b = a[order], b[order]
    other = np.sort(A.ids)[:: max(1, len(A.ids) // max(1, len(a)))][: len(a)]
    return (
        np.concatenate([A.ids[a], A.ids[a][: len(other)]]),
        np.concatenate([A.ids[b], other]),
    )


def prediction_fingerprint(model: FeasibilityModel, cities, ties) -> str:
    """SHA-256 of the probe-set probabilities rounded to 10 decimals."""
    ca, cb = _probe_pairs(cities, ties)
    keep = ca != cb
    p = model.predict_pairs(ca[keep], cb[keep], cities=cities, ties=ties)
    return _sha256(np.round(p, 10).astype("<f8").tobytes())


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder (synced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def train(
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    *,
    seed: int = DEFAULT_SEED,
    out_dir: str | Path | None = None,
    neg_ratio: int = DEFAULT_NEG_RATIO,
    model: str = "auto",
    hard_share: float = DEFAULT_HARD_SHARE,
    context: str = DEFAULT_CONTEXT,
    estimator_params: Mapping | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Train the feasibility model and write the bundle ``feasibility.npz``.

    The bundle (arrays and manifest in one file, :mod:`recommender.engine.feasibility`) is
    written to a temporary file in ``out_dir``, loaded back and checked, then renamed over
    the previous one; a readable copy of its manifest is written next to it
    (``feasibility.manifest.json``, never loaded). On any failure the previous model stays.

    Parameters
    ----------
    cities, ties : pandas.DataFrame, optional
        Default: the packaged tables (their files' SHA-256 go into the manifest).
    seed : int, default 0
        Seeds negatives, folds and the estimator: the same seed and data give the same
        file, byte for byte.
    out_dir : path, optional
        Default :func:`~recommender.engine.feasibility.models_dir`.
    neg_ratio : int, default 10
        Sampled negatives per positive tie.
    model : {"auto", "hgb", "logreg"}
        ``"auto"`` keeps the better of the two on the validation fold.
    hard_share : float, default 0.3
        Share of hard negatives.
    context : {"cold", "kfold", "mixed", "loo"}, default "cold"
        How training pairs keep their own label out of their context counts
        (:mod:`recommender.learn.training`).
    estimator_params : dict, optional
        Overrides of :data:`HGB_PARAMS` (or ``C`` of the logistic regression).
    progress : callable, optional
        Called with a short description of each stage (the CLI shows them on a terminal).

    Returns
    -------
    dict
        The metrics (validation of each candidate, the choice, training-set sizes),
        ``train_seconds``, ``model_path``, ``sha256`` (of the file), ``arrays_sha256``,
        ``size_bytes``, ``probe_fingerprint`` and ``export_max_abs_diff`` (numpy model
        against scikit-learn on the probe pairs). :func:`train_summary` prints it.
    """
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else models_dir()
    if out.exists() and not out.is_dir():
        raise ModelError(f"Cannot write the model into {show_path(out)}: it is not a folder.")
    data_fp = _data_fingerprint(cities, ties)
    cities_, ties_ = get_cities(cities), get_ties(ties)
    say("fitting (training set, validation fits, final fit)")
    est, metrics, manifest = fit_estimator(
        cities_,
        ties_,
        seed=seed,
        neg_ratio=neg_ratio,
        model=model,
        hard_share=hard_share,
        context=context,
        estimator_params=estimator_params,
    )
    say("exporting the model to arrays and checking it against scikit-learn")
    fitted = export_estimator(est, metrics["chosen"], manifest)
    ca, cb = _probe_pairs(cities_, ties_)
    keep = ca != cb
    X = pair_features(cities_, ties_, ca[keep], cb[keep], as_frame=False)
    diff = float(np.max(np.abs(fitted.predict_matrix(X) - est.predict_proba(X)[:, 1])))
    if not diff <= 1e-9:
        raise ModelError(
            f"The exported model differs from scikit-learn's by {diff:.3g} on the probe "
            f"pairs; nothing was written."
        )
    probe = prediction_fingerprint(fitted, cities_, ties_)
    manifest = {
        **fitted.manifest,
        "versions": _versions(),
        "training_data": data_fp,
        "metrics": metrics,
        "probe_fingerprint": probe,
        "export_check": {"pairs": int(keep.sum()), "max_abs_diff": diff},
        # ranking quality on held-out cities: written by recommender.learn.evaluate
        "evaluation_file": "evaluation.json",
    }
    data = bundle_bytes(fitted.to_arrays(), manifest)
    say(f"writing {show_path(out / MODEL_FILE)}")
    target = _install_bundle(out, data, cities_, ties_, probe)
    _, written = read_bundle(target)
    _atomic_write(
        out / MANIFEST_COPY, (json.dumps(written, indent=2, sort_keys=True) + "\n").encode()
    )
    clear_cache()
    return {
        **metrics,
        "train_seconds": round(time.perf_counter() - t0, 2),
        "model_path": str(target),
        "sha256": _sha256(data),
        "arrays_sha256": written["arrays_sha256"],
        "size_bytes": len(data),
        "probe_fingerprint": probe,
        "export_max_abs_diff": diff,
    }


def train_summary(result: Mapping) -> str:
    """A short human summary of :func:`train`'s result: what was chosen, where it was
    written, the validation table and the export check.

    Examples
    --------
    >>> print(train_summary({
    ...     "chosen": "hgb", "selection": "given", "train_seconds": 61.0,
    ...     "model_path": "models/feasibility.npz", "size_bytes": 190_000,
    ...     "sha256": "ab" * 32, "n_train_pairs": 110, "n_positive": 10,
    ...     "n_negative_random": 70, "n_negative_hard": 30, "export_max_abs_diff": 0.0,
    ...     "validation": {},
    ... }))
    Trained the feasibility model in 61 s: hgb (given).
    Wrote models/feasibility.npz (0.19 MB, SHA-256 abababababab…).
    Training pairs: 110 (10 ties; 70 random and 30 hard non-partners).
    The numpy model equals scikit-learn's within 0 on the probe pairs.
    """
    lines = [
        f"Trained the feasibility model in {result['train_seconds']:.0f} s: "
        f"{result['chosen']} ({result['selection']}).",
        f"Wrote {show_path(Path(result['model_path']))} ({result['size_bytes'] / 1e6:.2f} MB, "
        f"SHA-256 {result['sha256'][:12]}…).",
        f"Training pairs: {result['n_train_pairs']:,} ({result['n_positive']:,} ties; "
        f"{result['n_negative_random']:,} random and {result['n_negative_hard']:,} hard "
        f"non-partners).",
    ]
    validation = result.get("validation") or {}
    if validation:
        lines += ["", "Validation fold   log loss  ROC AUC  avg prec.   Brier    ECE"]
        for kind, v in validation.items():
            name = f"{kind} (chosen)" if kind == result["chosen"] else kind
            lines.append(
                f"{name:<16}  {v['log_loss']:8.4f}  {v['roc_auc']:7.3f}  "
                f"{v['average_precision']:9.3f}  {v['brier']:6.4f}  {v['ece']:5.3f}"
            )
        lines.append("")
    lines.append(
        f"The numpy model equals scikit-learn's within {result['export_max_abs_diff']:.2g} "
        f"on the probe pairs."
    )
    return "\n".join(lines)


def _install_bundle(out: Path, data: bytes, cities, ties, probe: str) -> Path:
    """Write the bundle to a temporary file, load it back and check its predictions, then
    rename it into place (the previous model stays on any failure)."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / MODEL_FILE
    tmp = out / f".{MODEL_FILE}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        arrays, manifest = read_bundle(tmp)
        loaded = model_from_bundle(arrays, manifest, tmp)
        if prediction_fingerprint(loaded, cities, ties) != probe:
            raise ModelError(
                f"The model written to {show_path(tmp)} does not reproduce the trained "
                f"model's predictions; the previous model was kept."
            )
        os.replace(tmp, target)
    except OSError as exc:
        raise ModelError(
            f"Cannot write the model to {show_path(target)}: {exc.strerror or exc}; the "
            f"previous model was kept."
        ) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


__all__ = ["MANIFEST_COPY", "MODEL_FILE", "prediction_fingerprint", "train", "train_summary"]
