"""The deterrence-success predictor (equations in docs/model.md).

For a deterrence case ``c`` -- a challenge to commitment ``i(c)`` in period
``t(c)`` -- the outcome model is::

    logit P(success_c) = b0 + b_x * x[i(c), t(c)] + z_c . gamma + u[region(c)]

``x`` is the commitment's credibility on the reported (standardised) scale, so
``b_x`` is the change in log-odds per posterior-sd of credibility across all
commitment-periods; ``z_c`` are the spec's covariates standardised over the
fitted cases; ``u`` are sum-to-zero region effects with a half-normal scale.

Two ways to fit it:

``joint``
    the outcome likelihood is added to the measurement model and everything is
    sampled at once; the outcomes inform credibility too.
``two_stage``
    the outcome model is fitted after the measurement model, with the credibility
    of the fitted cases' cells as latent variables whose prior is the stage-1
    posterior (a multivariate normal matched to its draws). The measurement
    uncertainty is carried into the coefficients (errors-in-variables) but the
    outcomes cannot move the measurement posterior.

A spec of two ``[model] dimensions`` (capability and willingness, say) has the
predictor of two dimensions, in both modes::

    logit P(success_c) = b0 + b_1 * x1_c + b_2 * x2_c + b_int * x1_c * x2_c
                         + z_c . gamma + u[region(c)]

with ``x1``, ``x2`` each dimension standardised per draw (``dimension_credibility``),
the slopes ``outcome_dimension`` (dim ``dimension``) and the interaction
``outcome_interaction``. In two-stage fits stage 1's uncertainty is carried as a
normal matched to the draws of the pairs ``(x1, x2)`` at the cases' cells, so each
case's two values keep their posterior correlation; joint fits take the model's own
``dimension_cell``. More than two dimensions are refused
(:func:`check_outcome_dimensions`).

Predictions for any case at a commitment-period of the data combine posterior
draws of the coefficients with draws of the stage-1 (two-stage) or joint
posterior credibility at that cell. Everything here is a pure function of
arrays, datasets and the spec; :mod:`credibility.results.fitting` runs the workflow.

One module per concept (docs/decisions.md, decision 59):
:mod:`~credibility.predictor.outcome` (the outcome model, ``joint``),
:mod:`~credibility.predictor.two_stage` and :mod:`~credibility.predictor.prediction`.
Their public names are importable from here, as when this was one module.
"""

from __future__ import annotations

from credibility.predictor.outcome import (
    CASE_LATENTS,
    OUTCOME_MODES,
    OUTCOME_PARAMETERS,
    OutcomeDesign,
    add_outcome_model,
    build_joint_model,
    case_cells,
    check_outcome_dimensions,
    outcome_design,
    outcome_latent,
    outcome_posterior,
)
from credibility.predictor.prediction import (
    PREDICTION_COLUMNS,
    fitted_log_likelihood,
    linear_predictor,
    predict_probabilities,
    summarise_probabilities,
)
from credibility.predictor.two_stage import (
    DENSE_CELLS_MAX,
    BlockCholesky,
    build_two_stage_model,
    fit_two_stage,
    stage_one_blocks,
    stage_one_draws,
    stage_one_normal,
    stage_two_sampler,
)

__all__ = [
    "CASE_LATENTS",
    "DENSE_CELLS_MAX",
    "OUTCOME_MODES",
    "OUTCOME_PARAMETERS",
    "PREDICTION_COLUMNS",
    "BlockCholesky",
    "OutcomeDesign",
    "add_outcome_model",
    "build_joint_model",
    "build_two_stage_model",
    "case_cells",
    "check_outcome_dimensions",
    "fit_two_stage",
    "fitted_log_likelihood",
    "linear_predictor",
    "outcome_design",
    "outcome_latent",
    "outcome_posterior",
    "predict_probabilities",
    "stage_one_blocks",
    "stage_one_draws",
    "stage_one_normal",
    "stage_two_sampler",
    "summarise_probabilities",
]
