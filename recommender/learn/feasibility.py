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
:func:`recommender.learn.train.train` fits, exports and writes the one-file bundle
``models/feasibility.npz`` (:mod:`recommender.engine.feasibility`); nothing is pickled.

Examples
--------
>>> from recommender.engine.feasibility import load_model
>>> model = load_model()
>>> p = model.predict_pairs([1214520], [1835848])  # Medan - Seoul
>>> bool(0.0 < p[0] < 1.0)
True
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from recommender.data.access import get_cities, get_ties
from recommender.engine.feasibility import (
    FeasibilityModel,
    load_model,
    models_dir,
)
from recommender.engine.pair_features import (
    FEATURE_NAMES,
    FEATURE_VERSION,
    POOL_MIN_POPULATION,
    candidate_pool_mask,
    pair_features,
)
from recommender.engine.tie_context import tie_context
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

MODELS = ("auto", "hgb", "logreg")

# --------------------------------------------------------------------------- estimators


HGB_PARAMS = {
    "max_iter": 150,
    "learning_rate": 0.1,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
}
"""Default HistGradientBoostingClassifier parameters (see :func:`make_estimator`).

Fewer, larger trees were tried for speed: on the validation fold (fold 0 of the ties,
uncalibrated log loss) 40 trees of 31 leaves (learning rate 0.3) scored 0.1413 against
0.1466 for these, and cost 606 instead of 1,466 (feature, tree) lookups per pair in the
numpy evaluator, about half the time to score a pool. But on held-out *cities*, the test
that matters (:mod:`recommender.learn.evaluate`, 400 cities), they ranked real partners
worse: recall@50 0.115 [0.099, 0.131] vs 0.130 [0.113, 0.148], NDCG@50 0.073 vs 0.083, and
0.10 vs 0.17 on the Indonesian cities held out as a group. The fold splits ties, not cities,
so it rewards what larger trees learn about cities whose other ties they saw. Kept: 150
trees of 15 leaves."""


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
    """Limit scikit-learn's OpenMP and BLAS threads to one while fitting.

    Measured on the 2-core CI machine while other jobs ran: a gradient-boosting fit took
    17 s with two spinning OpenMP threads and 0.4 s with one. One thread also makes the
    fitted model independent of the machine's core count (byte-identical retraining, and
    no summation order that depends on how BLAS splits the work).
    """
    import sklearn.ensemble  # noqa: F401 - loads the OpenMP runtime, so that it is limited
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


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
    "reliability_table",
    "tie_context",
]
