"""The scikit-learn estimators of the engine: :class:`FeatureBuilder` and :class:`Scorer`.

They wrap the numpy kernels of :mod:`recommender.engine.features` and :mod:`recommender.engine.scoring`
(and are importable from there too). They live in their own module because importing
scikit-learn takes about 0.7 s, which the command line does not need to pay.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from recommender.data.indicators import INDICATOR_NAMES
from recommender.engine.coupling import asymmetry_tolerance
from recommender.engine.features import (
    HDI_SCALE,
    haversine_km,
    lead_counts,
    level_codes,
    pair_value_columns,
    signed_asymmetry,
    transforms_for,
)
from recommender.engine.scenarios import load_scenario
from recommender.engine.scoring import IMPUTED_CODE, METHODS, score_asymmetry, topsis_reference


class FeatureBuilder(TransformerMixin, BaseEstimator):
    """Turn a pair table into one complementarity vector per (local, candidate) pair.

    Output columns (see :meth:`get_feature_names_out`):

    - ``asym_<indicator>``: the signed asymmetry (positive: the candidate is bigger),
      divided by ``scale_`` when ``standardize=True``;
    - ``n_cand_leads``, ``n_local_leads``: indicators on which the candidate / the local
      city is ahead beyond the tolerance; ``complementary``: 1 when the leads go both ways;
    - ``distance_km``: great-circle distance (when the pair table has coordinates);
    - ``level_<indicator>_local``, ``level_<indicator>_cand``: data level codes, the rank in
      ``LEVELS`` (0 city, 1 region, 2 country, 3 imputed, 4 user, 5 missing), when the pair
      table has level columns.

    Parameters
    ----------
    indicators : sequence of str, optional
        Indicators to use; default all four of the registry.
    hdi_scale : float, default 0.1
        HDI difference that counts as one unit of asymmetry.
    tolerance : mapping, optional
        Symmetry band per indicator in natural units (ratio >= 1 for log indicators, HDI
        difference for HDI); default :data:`recommender.engine.coupling.DEFAULT_TOLERANCE`.
    standardize : bool, default False
        Divide the asymmetries by ``scale_``. Off by default: raw log ratios are what the
        scenario bands speak about. Useful when the features feed a learned model.

    Attributes
    ----------
    indicators_ : tuple of str
    scale_ : ndarray of shape (n_indicators,)
        Standard deviation of each asymmetry over the pairs seen in ``fit`` (the candidate
        pool); 1.0 where it is undefined or zero.
    tolerance_ : ndarray of shape (n_indicators,)
        The tolerance in asymmetry units.
    has_levels_, has_coordinates_ : bool
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Examples
    --------
    >>> pairs = pd.DataFrame({"population_local": [1e6, 1e6], "population_cand": [2e6, 5e5]})
    >>> fb = FeatureBuilder(indicators=["population"]).set_output(transform="pandas")
    >>> fb.fit_transform(pairs)["asym_population"].round(3).tolist()
    [0.693, -0.693]
    """

    def __init__(
        self,
        indicators: Sequence[str] | None = None,
        hdi_scale: float = HDI_SCALE,
        tolerance: Mapping[str, float] | None = None,
        standardize: bool = False,
    ):
        self.indicators = indicators
        self.hdi_scale = hdi_scale
        self.tolerance = tolerance
        self.standardize = standardize

    # validation lives in fit, as in scikit-learn
    def _validate_params(self) -> None:

        names = tuple(INDICATOR_NAMES if self.indicators is None else self.indicators)
        if not names:
            raise ValueError("The 'indicators' parameter of FeatureBuilder must not be empty.")
        for n in names:
            if n not in INDICATOR_NAMES:
                raise ValueError(
                    f"The 'indicators' parameter of FeatureBuilder must contain only "
                    f"{', '.join(INDICATOR_NAMES)}. Got {n!r} instead."
                )
        hs = self.hdi_scale
        if not isinstance(hs, (int, float)) or not np.isfinite(hs) or hs <= 0:
            raise ValueError(
                f"The 'hdi_scale' parameter of FeatureBuilder must be a finite number > 0. "
                f"Got {hs!r} instead."
            )
        self.indicators_ = names
        self.transforms_ = transforms_for(names)
        self.tolerance_ = asymmetry_tolerance(self.tolerance, names, float(hs))

    def _frame(self, X) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        arr = np.asarray(X, dtype=float)
        cols = pair_value_columns(self.indicators_)
        if arr.ndim != 2 or arr.shape[1] != len(cols):
            raise ValueError(
                f"FeatureBuilder expects a pair DataFrame, or an array with the columns "
                f"{cols}; got an array of shape {arr.shape}."
            )
        return pd.DataFrame(arr, columns=cols)

    def fit(self, X, y=None):
        """Validate the parameters and the pair table; learn ``scale_`` on the pool."""
        self._validate_params()
        df = self._frame(X)
        missing = [c for c in pair_value_columns(self.indicators_) if c not in df.columns]
        if missing:
            raise ValueError(f"The pair table lacks the column(s) {missing}.")
        self.feature_names_in_ = np.asarray(df.columns, dtype=object)
        self.n_features_in_ = len(df.columns)
        self.has_levels_ = all(
            f"{n}_level_{s}" in df.columns for n in self.indicators_ for s in ("local", "cand")
        )
        self.has_coordinates_ = all(
            f"{c}_{s}" in df.columns for c in ("latitude", "longitude") for s in ("local", "cand")
        )
        asym = self._asymmetry(df)
        with warnings.catch_warnings():
            # an all-NaN column (an indicator nobody has) has no spread: scale 1.0 below
            warnings.simplefilter("ignore", RuntimeWarning)
            scale = np.nanstd(asym, axis=0) if len(asym) else np.ones(asym.shape[1])
        self.scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        return self

    def _asymmetry(self, df: pd.DataFrame) -> np.ndarray:
        local = df[[f"{n}_local" for n in self.indicators_]].to_numpy(dtype=float)
        cand = df[[f"{n}_cand" for n in self.indicators_]].to_numpy(dtype=float)
        return signed_asymmetry(local, cand, self.transforms_, float(self.hdi_scale))

    def transform(self, X) -> np.ndarray:
        """Compute the complementarity vector of every pair."""
        check_is_fitted(self, "scale_")
        df = self._frame(X)
        absent = [c for c in self.feature_names_in_ if c not in df.columns]
        if absent:
            raise ValueError(f"The pair table lacks column(s) seen in fit: {absent}.")
        asym = self._asymmetry(df)
        # the complementarity summary always uses raw asymmetries: the tolerance is in those
        n_cand, n_local, comp = lead_counts(asym, self.tolerance_)
        parts = [asym / self.scale_ if self.standardize else asym]
        parts.append(np.column_stack([n_cand, n_local, comp]).astype(float))
        if self.has_coordinates_:
            d = haversine_km(
                df["latitude_local"].to_numpy(dtype=float),
                df["longitude_local"].to_numpy(dtype=float),
                df["latitude_cand"].to_numpy(dtype=float),
                df["longitude_cand"].to_numpy(dtype=float),
            )
            parts.append(d[:, None])
        if self.has_levels_:
            for n in self.indicators_:
                for side in ("local", "cand"):
                    codes = level_codes(df[f"{n}_level_{side}"], df[f"{n}_{side}"])
                    parts.append(codes[:, None])
        return np.hstack(parts)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output columns."""
        check_is_fitted(self, "scale_")
        names = [f"asym_{n}" for n in self.indicators_]
        names += ["n_cand_leads", "n_local_leads", "complementary"]
        if self.has_coordinates_:
            names.append("distance_km")
        if self.has_levels_:
            names += [f"level_{n}_{s}" for n in self.indicators_ for s in ("local", "cand")]
        return np.asarray(names, dtype=object)


class Scorer(TransformerMixin, BaseEstimator):
    """Score pair features (the output of :class:`FeatureBuilder`).

    Parameters
    ----------
    scenario : str, path or Scenario, default "small-big"
    method : {"wsm", "topsis"}, default "wsm"
    hdi_scale : float, default 0.1
        Must match the FeatureBuilder's.

    Attributes
    ----------
    scenario_ : Scenario
    weights_ : ndarray (k,)
    bands_ : ndarray (k, 4)
        In asymmetry units.
    reference_ : tuple or None
        TOPSIS norms, ideal and anti-ideal learned on the pool in ``fit``.
    n_features_in_, feature_names_in_

    Output columns: ``score``, ``contribution_<indicator>``, ``desirability_<indicator>``,
    ``n_missing`` and ``eligible``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.pipeline import make_pipeline
    >>> from recommender.engine.features import make_pairs
    >>> local = {"city_id": 1, "population": 1e6, "area_km2": 100.0,
    ...          "gdp_per_capita_usd": 5e3, "hdi": 0.75}
    >>> cands = pd.DataFrame({"city_id": [2, 3], "population": [1e6, 1e6],
    ...     "area_km2": [100.0, 100.0], "gdp_per_capita_usd": [2e4, 4e3], "hdi": [0.9, 0.7]})
    >>> pipe = make_pipeline(FeatureBuilder(), Scorer()).set_output(transform="pandas")
    >>> pipe.fit_transform(make_pairs(local, cands))["score"].round(3).tolist()
    [0.987, 0.3]
    """

    def __init__(self, scenario="small-big", method: str = "wsm", hdi_scale: float = HDI_SCALE):
        self.scenario = scenario
        self.method = method
        self.hdi_scale = hdi_scale

    def _asym(self, X) -> tuple[np.ndarray, np.ndarray]:
        import pandas as pd

        if not isinstance(X, pd.DataFrame):
            arr = np.asarray(X, dtype=float)
            if arr.ndim != 2 or arr.shape[1] < len(self.indicators_):
                raise ValueError(
                    f"Scorer expects the FeatureBuilder output (a DataFrame with columns "
                    f"asym_<indicator>), or an array whose first {len(self.indicators_)} "
                    f"columns are the asymmetries; got shape {arr.shape}."
                )
            return arr[:, : len(self.indicators_)], np.zeros(
                (len(arr), len(self.indicators_)), bool
            )
        cols = [f"asym_{n}" for n in self.indicators_]
        absent = [c for c in cols if c not in X.columns]
        if absent:
            raise ValueError(f"Scorer needs the column(s) {absent} (FeatureBuilder output).")
        asym = X[cols].to_numpy(dtype=float)
        imputed = np.zeros(asym.shape, dtype=bool)
        for j, n in enumerate(self.indicators_):
            for side in ("local", "cand"):
                c = f"level_{n}_{side}"
                if c in X.columns:
                    imputed[:, j] |= X[c].to_numpy(dtype=float) == IMPUTED_CODE
        return asym, imputed

    def fit(self, X, y=None):
        """Validate the parameters; for TOPSIS learn the pool's reference point."""
        if self.method not in METHODS:
            raise ValueError(
                f"The 'method' parameter of Scorer must be one of {', '.join(METHODS)}. "
                f"Got {self.method!r} instead."
            )
        hs = self.hdi_scale
        if not isinstance(hs, (int, float)) or not np.isfinite(hs) or hs <= 0:
            raise ValueError(
                f"The 'hdi_scale' parameter of Scorer must be a finite number > 0. Got {hs!r} instead."
            )
        self.scenario_ = load_scenario(self.scenario)
        self.indicators_ = INDICATOR_NAMES
        self.weights_ = self.scenario_.weight_array(self.indicators_)
        self.bands_, self.two_sided_ = self.scenario_.band_matrix(self.indicators_, hs)
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = np.shape(X)[1]
        asym, imputed = self._asym(X)
        self.reference_ = None
        if self.method == "topsis":
            res = score_asymmetry(asym, self.scenario_, imputed=imputed, hdi_scale=hs)
            self.reference_ = topsis_reference(res.desirability, self.weights_)
        return self

    def transform(self, X) -> np.ndarray:
        """Score, contributions, desirabilities, number of missing indicators, eligibility."""
        check_is_fitted(self, "weights_")
        asym, imputed = self._asym(X)
        res = score_asymmetry(
            asym,
            self.scenario_,
            imputed=imputed,
            method=self.method,
            hdi_scale=self.hdi_scale,
            reference=self.reference_,
        )
        return np.column_stack(
            [
                res.score,
                res.contributions,
                res.desirability,
                res.missing.sum(axis=1),
                res.eligible.astype(float),
            ]
        )

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "weights_")
        names = ["score"]
        names += [f"contribution_{n}" for n in self.indicators_]
        names += [f"desirability_{n}" for n in self.indicators_]
        names += ["n_missing", "eligible"]
        return np.asarray(names, dtype=object)


__all__ = ["FeatureBuilder", "Scorer"]
