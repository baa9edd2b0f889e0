"""Training the feasibility model: which pairs of cities tend to become partners.

The strategy score of :mod:`recommender.engine.scoring` says how well a candidate *fits* what
the local city is looking for; it knows nothing about which pairs actually sign. This module
learns that from the existing ties (features: :mod:`recommender.engine.pair_features`;
training set: :mod:`recommender.learn.training`) with scikit-learn, and exports the fitted
model as plain arrays that :mod:`recommender.engine.feasibility` scores with numpy. Only
training and evaluation import scikit-learn; the shortlist never does.

Model
-----
``model="auto"`` fits a scaled logistic regression and a histogram gradient-boosting
classifier on folds 1..4 of the positives (with their negatives), measures both on fold 0
(log loss, ROC AUC, average precision, Brier score, reliability table) and keeps the
better one by log loss, refitted on every fold. Gradient boosting wins clearly (see
``models/feasibility.manifest.json`` and ``models/evaluation.md``). Both are calibrated with
a sigmoid learned out of fold (:func:`_fit`); the probability is calibrated on the training
mix, one positive per ``neg_ratio`` negatives, and reads "how likely this pair is a tie
rather than a sampled non-partner", a relative measure, not the chance that a memorandum
will be signed.

Files
-----
:func:`train` writes one file, ``models/feasibility.npz`` (:mod:`recommender.engine.
feasibility`: the trees or linear coefficients, the calibration and the manifest with the
arrays' SHA-256, library versions, the SHA-256 of the training data, parameters, seed,
metrics and a fingerprint of predictions on a fixed probe set), and a readable copy of the
manifest, ``feasibility.manifest.json``, that nothing loads. The bundle is written to a
temporary file, loaded back and checked (the probe fingerprint must match), and only then
renamed over the old one: a failed or interrupted ``train`` leaves the previous model in
place. Nothing is pickled.

Examples
--------
>>> from recommender.engine.feasibility import load_model
>>> model = load_model()
>>> p = model.predict_pairs([1214520], [1835848])  # Medan - Seoul
>>> bool(0.0 < p[0] < 1.0)
True
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
    load_model,
    model_from_bundle,
    models_dir,
    read_bundle,
    show_path,
)
from recommender.engine.pair_features import (
    FEATURE_NAMES,
    FEATURE_VERSION,
    POOL_MIN_POPULATION,
    candidate_pool_mask,
    pair_features,
)
from recommender.engine.tie_context import city_arrays, cross_ties, tie_context
from recommender.errors import ModelError
from recommender.learn.training import (
    CONTEXTS,
    DEFAULT_CONTEXT,
    DEFAULT_FOLDS,
    DEFAULT_HARD_SHARE,
    DEFAULT_NEG_RATIO,
    DEFAULT_SEED,
    HARD_DRAWS,
    TrainingSet,
    build_training_set,
)

MANIFEST_COPY = "feasibility.manifest.json"
"""A readable copy of the manifest inside the bundle, written next to it; never loaded."""
MODELS = ("auto", "hgb", "logreg")

# --------------------------------------------------------------------------- estimators


HGB_PARAMS = {
    "max_iter": 150,
    "learning_rate": 0.1,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
}
"""Default HistGradientBoostingClassifier parameters (see :func:`make_estimator`)."""


def make_estimator(kind: str, seed: int = DEFAULT_SEED, params: Mapping | None = None):
    """The unfitted estimator for ``kind`` ("hgb" or "logreg"); ``params`` override the
    defaults (:data:`HGB_PARAMS`; ``C`` for the logistic regression)."""
    params = dict(params or {})
    if kind == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            **{**HGB_PARAMS, **params}, early_stopping=False, random_state=seed
        )
    if kind == "logreg":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=params.get("C", 1.0), max_iter=3000),
        )
    raise ModelError(f"Unknown model {kind!r}; allowed: {', '.join(MODELS)}.")


def reliability_table(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Calibration check: mean predicted vs observed rate in equal-width probability bins.

    Examples
    --------
    >>> reliability_table(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3]), 2)
       bin_lo  bin_hi  n  mean_predicted  observed_rate
    0     0.0     0.5  2            0.20            0.0
    1     0.5     1.0  2            0.85            1.0
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    b = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    rows = []
    for k in range(n_bins):
        m = b == k
        if m.any():
            rows.append(
                (edges[k], edges[k + 1], int(m.sum()), float(p[m].mean()), float(y[m].mean()))
            )
    return pd.DataFrame(rows, columns=["bin_lo", "bin_hi", "n", "mean_predicted", "observed_rate"])


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    """Log loss, ROC AUC, average precision, Brier score, expected calibration error."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    rel = reliability_table(y, p)
    ece = float((rel["n"] * (rel["mean_predicted"] - rel["observed_rate"]).abs()).sum() / len(y))
    return {
        "n": int(len(y)),
        "positive_rate": float(np.mean(y)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "roc_auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan"),
        "average_precision": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "ece": ece,
        "reliability": rel.round(4).to_dict(orient="records"),
    }


# --------------------------------------------------------------------------- fitting


def fit_model(
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    *,
    seed: int = DEFAULT_SEED,
    neg_ratio: int = DEFAULT_NEG_RATIO,
    hard_share: float = DEFAULT_HARD_SHARE,
    model: str = "auto",
    context: str = DEFAULT_CONTEXT,
    n_folds: int = DEFAULT_FOLDS,
    validate: bool = True,
    estimator_params: Mapping | None = None,
    calibrate: bool = True,
) -> tuple[FeasibilityModel, dict]:
    """Fit a model in memory (no files); returns it, exported to numpy, and its metrics.

    ``model="auto"`` compares the candidates on fold 0 and keeps the best by log loss
    (see the module docstring). ``validate=False`` skips the validation fits (the
    evaluation retrains a given model and measures it on held-out cities instead).
    ``calibrate=False`` skips the sigmoid calibration (5 extra fits): it never changes
    the order of the pairs, so a model used only for ranking can do without.
    :func:`train` wraps this and writes the bundle; :func:`fit_estimator` returns the
    scikit-learn estimator instead.
    """
    est, metrics, manifest = fit_estimator(
        cities,
        ties,
        seed=seed,
        neg_ratio=neg_ratio,
        hard_share=hard_share,
        model=model,
        context=context,
        n_folds=n_folds,
        validate=validate,
        estimator_params=estimator_params,
        calibrate=calibrate,
    )
    return export_estimator(est, metrics["chosen"], manifest), metrics


def fit_estimator(
    cities: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    *,
    seed: int = DEFAULT_SEED,
    neg_ratio: int = DEFAULT_NEG_RATIO,
    hard_share: float = DEFAULT_HARD_SHARE,
    model: str = "auto",
    context: str = DEFAULT_CONTEXT,
    n_folds: int = DEFAULT_FOLDS,
    validate: bool = True,
    estimator_params: Mapping | None = None,
    calibrate: bool = True,
) -> tuple[object, dict, dict]:
    """:func:`fit_model` before the export: the fitted scikit-learn estimator, the
    metrics and the manifest's training entries.

    Fits run on one OpenMP thread (:func:`_one_thread`).
    """
    with _one_thread():
        return _fit_estimator(
            cities,
            ties,
            seed=seed,
            neg_ratio=neg_ratio,
            hard_share=hard_share,
            model=model,
            context=context,
            n_folds=n_folds,
            validate=validate,
            estimator_params=estimator_params,
            calibrate=calibrate,
        )


def _one_thread():
    """Limit scikit-learn's OpenMP threads to one while fitting.

    Measured on the 2-core CI machine while other jobs ran: a gradient-boosting fit took
    17 s with two spinning OpenMP threads and 0.4 s with one. One thread also makes the
    fitted model independent of the machine's core count (byte-identical retraining).
    """
    import sklearn.ensemble  # noqa: F401 - loads the OpenMP runtime, so that it is limited
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _fit_estimator(
    cities,
    ties,
    *,
    seed,
    neg_ratio,
    hard_share,
    model,
    context,
    n_folds,
    validate,
    estimator_params,
    calibrate,
) -> tuple[object, dict, dict]:
    if model not in MODELS:
        raise ModelError(f"Unknown model {model!r}; allowed: {', '.join(MODELS)}.")
    if isinstance(neg_ratio, bool) or not isinstance(neg_ratio, (int, np.integer)) or neg_ratio < 1:
        raise ModelError(f"neg_ratio must be an integer >= 1; got {neg_ratio!r}.")
    if not 0.0 <= float(hard_share) <= 1.0:
        raise ModelError(f"hard_share must be in [0, 1]; got {hard_share!r}.")
    if not validate and model == "auto":
        raise ModelError("model='auto' chooses by validation; pass validate=True or a model.")
    cities, ties = get_cities(cities), get_ties(ties)
    ts = build_training_set(
        cities,
        ties,
        seed=seed,
        neg_ratio=int(neg_ratio),
        hard_share=float(hard_share),
        n_folds=n_folds,
        context=context,
    )
    kinds = ["hgb", "logreg"] if model == "auto" else [model]
    val, fit_rows = ts.fold == 0, ts.fold != 0
    validation = {}
    for kind in kinds if validate else []:
        est = _fit(kind, ts.X[fit_rows], ts.y[fit_rows], ts.fold[fit_rows], seed, estimator_params)
        validation[kind] = classification_metrics(ts.y[val], est.predict_proba(ts.X[val])[:, 1])
        # the calibration check: the same model before the sigmoid
        raw = est.calibrated_classifiers_[0].estimator.predict_proba(ts.X[val])[:, 1]
        validation[kind]["uncalibrated"] = {
            k: v
            for k, v in classification_metrics(ts.y[val], raw).items()
            if k in ("log_loss", "brier", "ece", "reliability")
        }
    chosen = min(kinds, key=lambda k: validation[k]["log_loss"]) if validate else model
    if calibrate:
        est = _fit(chosen, ts.X, ts.y, ts.fold, seed, estimator_params)
    else:
        est = make_estimator(chosen, seed, estimator_params).fit(ts.X, ts.y)
    metrics = {
        "chosen": chosen,
        "selection": "lowest validation log loss" if model == "auto" else "given",
        "validation": validation,
        "n_train_pairs": int(len(ts.y)),
        "n_positive": int(ts.y.sum()),
        "n_negative_random": int((ts.kind == "random").sum()),
        "n_negative_hard": int((ts.kind == "hard").sum()),
    }
    params = {
        "model": chosen,
        "requested_model": model,
        "neg_ratio": int(neg_ratio),
        "hard_share": float(hard_share),
        "hard_draws": HARD_DRAWS,
        "context": context,
        "n_folds": n_folds,
        "calibration": "sigmoid, out of fold (5 folds), one refitted estimator"
        if calibrate
        else None,
        "pool_min_population": POOL_MIN_POPULATION,
        "estimator": _estimator_params(est),
    }
    manifest = {
        "feature_version": FEATURE_VERSION,
        "features": list(FEATURE_NAMES),
        "params": params,
        "seed": seed,
    }
    return est, metrics, manifest


def _fit(kind: str, X, y, folds, seed: int, params) -> object:
    """Fit ``kind`` with a sigmoid (Platt) calibration learned on out-of-fold predictions
    (``folds``: the training set's folds, so a positive and its negatives stay together).

    ``ensemble=False``: one estimator refitted on everything plus one sigmoid, so a
    prediction costs one forest. Sigmoid rather than isotonic because it is strictly
    increasing: it fixes the boosted trees' compressed probabilities (too low near 1, too
    high near 0) without creating ties that would blur the ranking.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import PredefinedSplit

    _, test_fold = np.unique(folds, return_inverse=True)
    return CalibratedClassifierCV(
        make_estimator(kind, seed, params),
        method="sigmoid",
        cv=PredefinedSplit(test_fold),
        ensemble=False,
    ).fit(X, y)


def _estimator_params(est) -> dict:
    out = {}
    for k, v in sorted(est.get_params(deep=True).items()):
        if isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
    return out


# --------------------------------------------------------------------------- export to arrays


def export_estimator(est, kind: str, manifest: Mapping | None = None) -> FeasibilityModel:
    """The numpy :class:`~recommender.engine.feasibility.FeasibilityModel` of a fitted
    ``CalibratedClassifierCV`` (one sigmoid-calibrated estimator, see :func:`_fit`) or of
    an uncalibrated estimator (``calibrate=False``).

    Its probabilities equal ``est.predict_proba(X)[:, 1]`` up to summation order (the
    tests check 1e-9 on many pairs).
    """
    if hasattr(est, "calibrated_classifiers_"):
        cal_clf = est.calibrated_classifiers_
        if len(cal_clf) != 1 or len(cal_clf[0].calibrators) != 1:
            raise ModelError("only a single sigmoid-calibrated estimator can be exported")
        inner, sigmoid = cal_clf[0].estimator, cal_clf[0].calibrators[0]
        calibration = [float(sigmoid.a_), float(sigmoid.b_)]
    else:  # uncalibrated: the estimator's own logistic link, 1 / (1 + exp(-raw))
        inner, calibration = est, [-1.0, 0.0]
    arrays: dict[str, np.ndarray] = {"calibration": np.array(calibration)}
    if kind == "hgb":
        if getattr(inner, "is_categorical_", None) is not None and np.any(inner.is_categorical_):
            raise ModelError("categorical splits cannot be exported")
        nodes = [predictors[0].nodes for predictors in inner._predictors]
        allnodes = np.concatenate(nodes)
        arrays.update(
            tree_offsets=np.cumsum([0] + [len(n) for n in nodes]).astype(np.int64),
            node_feature=allnodes["feature_idx"].astype(np.int32),
            node_threshold=allnodes["num_threshold"].astype(np.float64),
            node_missing_left=allnodes["missing_go_to_left"].astype(np.uint8),
            node_left=allnodes["left"].astype(np.int32),
            node_right=allnodes["right"].astype(np.int32),
            node_is_leaf=allnodes["is_leaf"].astype(np.uint8),
            node_value=allnodes["value"].astype(np.float64),
            baseline=np.asarray(inner._baseline_prediction, dtype=np.float64).ravel(),
        )
    elif kind == "logreg":
        imputer, scaler, logreg = (step for _, step in inner.steps)
        indicator = imputer.indicator_
        arrays.update(
            median=np.asarray(imputer.statistics_, dtype=np.float64),
            indicator_features=np.asarray(
                indicator.features_ if indicator is not None else [], dtype=np.int64
            ),
            mean=np.asarray(scaler.mean_, dtype=np.float64),
            scale=np.asarray(scaler.scale_, dtype=np.float64),
            coef=np.asarray(logreg.coef_, dtype=np.float64).ravel(),
            intercept=np.asarray(logreg.intercept_, dtype=np.float64).ravel(),
        )
    else:
        raise ModelError(f"Unknown model {kind!r}; allowed: hgb, logreg.")
    return FeasibilityModel(kind, arrays, {**dict(manifest or {}), "kind": kind})


# --------------------------------------------------------------------------- files


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
        against scikit-learn on the probe pairs).

    Examples
    --------
    >>> metrics = train(out_dir="/tmp/model")  # doctest: +SKIP
    >>> metrics["chosen"], round(metrics["validation"]["hgb"]["brier"], 3)  # doctest: +SKIP
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


__all__ = [
    "CONTEXTS",
    "FEATURE_NAMES",
    "MODELS",
    "FeasibilityModel",
    "TrainingSet",
    "build_training_set",
    "candidate_pool_mask",
    "classification_metrics",
    "export_estimator",
    "fit_estimator",
    "fit_model",
    "load_model",
    "make_estimator",
    "models_dir",
    "pair_features",
    "prediction_fingerprint",
    "reliability_table",
    "tie_context",
    "train",
    "train_summary",
]
