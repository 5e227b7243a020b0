"""Predictions of the outcome model: P(success) of any case at a commitment-period.

Posterior draws of the coefficients are combined with draws of the stage-1
(two-stage) or joint posterior credibility at the case's cell
(:func:`predict_probabilities`), summarised per case (:func:`summarise_probabilities`);
:func:`fitted_log_likelihood` gives the fitted cases' pointwise log-likelihood.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit

from credibility.errors import PredictionError

#: Columns of a prediction table (docs/data.md).
PREDICTION_COLUMNS = ("case_id", "p_mean", "p_sd", "p_q05", "p_q50", "p_q95")


def _dimension_last(values: xr.DataArray) -> xr.DataArray:
    """``values`` with a ``dimension`` dim (if any) moved last."""
    return values.transpose(..., "dimension") if "dimension" in values.dims else values


def _flat(values: xr.DataArray) -> np.ndarray:
    """``(chain, draw, ...)`` -> ``(sample, ...)``."""
    stacked = values.stack(sample=("chain", "draw")).transpose("sample", ...)
    return stacked.values


def linear_predictor(
    outcome: xr.Dataset, x: np.ndarray, covariates: np.ndarray, region: np.ndarray
) -> np.ndarray:
    """Per-draw log-odds of success, ``(sample, case)``.

    ``x`` is ``(sample, case)`` credibility paired draw by draw with ``outcome``
    (for the model of two dimensions, ``(sample, case, dimension)``);
    ``covariates`` are raw (``(case, covariate)``; standardised here with the
    fitted cases' centre and scale) and ``region`` the cases' region positions.

    Examples
    --------
    >>> outcome = xr.Dataset(
    ...     {"outcome_intercept": (("chain", "draw"), [[0.5]]),
    ...      "outcome_dimension": (("chain", "draw", "dimension"), [[[1.0, 2.0]]]),
    ...      "outcome_interaction": (("chain", "draw"), [[0.8]])},
    ...     attrs={"covariate_center": "[]", "covariate_scale": "[]"})
    >>> linear_predictor(outcome, np.array([[[1.0, -1.0]]]), np.zeros((1, 0)),
    ...                  np.zeros(1, dtype=int))
    array([[-1.3]])
    """
    center = np.asarray(json.loads(outcome.attrs["covariate_center"]), dtype=np.float64)
    scale = np.asarray(json.loads(outcome.attrs["covariate_scale"]), dtype=np.float64)
    eta = _flat(outcome["outcome_intercept"])[:, None]
    if "outcome_dimension" in outcome:
        slopes = _flat(outcome["outcome_dimension"].transpose("chain", "draw", "dimension"))
        eta = (eta + np.einsum("scd,sd->sc", x, slopes)
               + _flat(outcome["outcome_interaction"])[:, None] * x[..., 0] * x[..., 1])
    else:
        eta = eta + _flat(outcome["outcome_credibility"])[:, None] * x
    if center.size:
        z = (np.asarray(covariates, dtype=np.float64) - center) / scale
        eta = eta + _flat(outcome["outcome_covariate"]) @ z.T
    if "outcome_region" in outcome:
        eta = eta + _flat(outcome["outcome_region"])[:, region]
    return eta


def predict_probabilities(
    credibility: xr.DataArray, outcome: xr.Dataset, cases: pd.DataFrame, regions: pd.Series,
) -> np.ndarray:
    """Draws of P(success), ``(sample, case)``, for validated ``cases``.

    ``credibility`` is the ``(chain, draw, commitment, period)`` posterior (for the
    model of two dimensions ``dimension_credibility``, :func:`outcome_latent`);
    ``regions`` maps commitment_id to region. Its draws are paired with the
    outcome draws by position, which must match in number: the joint posterior
    (same draws) or a stage-2 run with as many draws as stage 1 (independent
    chains, so pairing by position samples the product of the two posteriors).
    """
    if ("dimension" in credibility.dims) != ("outcome_dimension" in outcome):
        raise PredictionError(
            "the credibility posterior and the outcome model differ in their dimensions; "
            "expected dimension_credibility for an outcome model of several dimensions and "
            "credibility for one of one dimension")
    x_all = _flat(_dimension_last(credibility))
    params = _flat(outcome["outcome_intercept"])
    if x_all.shape[0] != params.shape[0]:
        raise PredictionError(
            f"the credibility posterior has {x_all.shape[0]} draws and the outcome posterior "
            f"{params.shape[0]}; expected the same number (refit the outcome model)"
        )
    commitments = list(credibility["commitment"].values)
    periods = [int(p) for p in credibility["period"].values]
    unit = cases["commitment_id"].map({c: i for i, c in enumerate(commitments)}).to_numpy()
    period = cases["period"].map({p: j for j, p in enumerate(periods)}).to_numpy()
    x = x_all[:, unit.astype(np.int64), period.astype(np.int64)]
    if np.isnan(x).any():
        bad = int(np.flatnonzero(np.isnan(x.reshape(x.shape[0], x.shape[1], -1)).any(
            axis=(0, 2)))[0])
        raise PredictionError(
            f"case {cases['case_id'].iloc[bad]!r}: no credibility posterior for "
            f"{cases['commitment_id'].iloc[bad]!r} in {int(cases['period'].iloc[bad])}"
        )
    covariates, region = _case_arrays(outcome, cases, regions)
    return expit(linear_predictor(outcome, x, covariates, region))


def summarise_probabilities(case_ids: pd.Series, draws: np.ndarray) -> pd.DataFrame:
    """``case_id, p_mean, p_sd, p_q05, p_q50, p_q95`` from ``(sample, case)`` draws.

    Examples
    --------
    >>> draws = np.random.default_rng(0).uniform(size=(1000, 2))
    >>> summarise_probabilities(pd.Series(["a", "b"]), draws).columns.tolist()
    ['case_id', 'p_mean', 'p_sd', 'p_q05', 'p_q50', 'p_q95']
    """
    q05, q50, q95 = np.quantile(draws, [0.05, 0.5, 0.95], axis=0)
    return pd.DataFrame({
        "case_id": list(case_ids),
        "p_mean": draws.mean(axis=0),
        "p_sd": draws.std(axis=0, ddof=1),
        "p_q05": q05,
        "p_q50": q50,
        "p_q95": q95,
    })


def fitted_log_likelihood(
    outcome: xr.Dataset, fitted: pd.DataFrame, regions: pd.Series
) -> xr.DataArray:
    """Pointwise log-likelihood ``(chain, draw, case)`` of the fitted outcomes.

    ``fitted`` are the cases with an observed outcome, in the order they were
    fitted (``data.cases`` rows with an outcome). The fitted cases' credibility in
    the same draws (``case_credibility``) is used, so this is the model's own
    likelihood term in both modes.
    """
    x = outcome["case_dimension" if "case_dimension" in outcome else "case_credibility"]
    covariates, region = _case_arrays(outcome, fitted, regions)
    eta = linear_predictor(outcome, _flat(_dimension_last(x)), covariates, region)
    y = fitted["outcome"].to_numpy(np.float64)
    log_lik = -(y * np.logaddexp(0.0, -eta) + (1.0 - y) * np.logaddexp(0.0, eta))
    return xr.DataArray(log_lik.reshape(x.sizes["chain"], x.sizes["draw"], y.size),
                        dims=("chain", "draw", "case"),
                        coords={"chain": x["chain"], "draw": x["draw"], "case": x["case"]})


def _case_arrays(
    outcome: xr.Dataset, cases: pd.DataFrame, regions: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Raw covariates ``(case, covariate)`` and region positions of validated cases."""
    names = json.loads(outcome.attrs["covariate_names"])
    region_names = json.loads(outcome.attrs["regions"])
    region = cases["commitment_id"].map(regions).map(
        {r: j for j, r in enumerate(region_names)}).to_numpy(np.int64)
    covariates = cases[names].to_numpy(np.float64).reshape(len(cases), len(names))
    return covariates, region
