"""A fitted model: :class:`FitResult`, the posterior with its diagnostics and provenance.

The per-cell deterministics of a sampled model become labelled ``(commitment, period)``
arrays (:func:`label_posterior`); a fit summarises them as tables
(:func:`summarise_draws`), predicts deterrence cases, and saves and loads itself
(netCDF/zarr data with string attributes: no module path is stored).
:class:`~credibility.results.fitting.CredibilityModel` makes one.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import ndtr

from credibility import predictor
from credibility.data.cases import read_cases
from credibility.data.container import CredibilityData
from credibility.data.spec import ModelSpec, parse_spec
from credibility.errors import FitError, PredictionError
from credibility.inference.diagnostics import Diagnostics
from credibility.inference.sampling import (
    RunRecord,
    SamplerConfig,
)
from credibility.model.index import ModelIndex, build_index

#: Columns of the exported credibility table (docs/data.md).
CREDIBILITY_COLUMNS = ("commitment_id", "period", "mean", "sd", "q05", "q50", "q95")


#: Columns of the table of each dimension's credibility (several dimensions).
DIMENSION_COLUMNS = ("commitment_id", "period", "dimension", "mean", "sd", "q05", "q50", "q95")


def _package_version() -> str:
    from credibility import __version__

    return __version__


def _grid(
    cells: np.ndarray, unit: np.ndarray, period: np.ndarray, n_units: int, n_periods: int
) -> np.ndarray:
    """Scatter ``(chain, draw, ..., cell)`` draws into ``(chain, draw, ..., unit, period)``,
    NaN elsewhere."""
    grid = np.full((*cells.shape[:-1], n_units, n_periods), np.nan)
    grid[..., unit, period] = cells
    return grid


def label_posterior(posterior: xr.Dataset, index: ModelIndex) -> xr.Dataset:
    """Replace per-cell deterministics by labelled ``credibility`` and ``alliance_level``.

    Cells outside a unit's active window are NaN. A model of several dimensions
    (:mod:`credibility.dimensions`) also has ``dimension_cell``, labelled as
    ``dimension_credibility`` ``(chain, draw, dimension, commitment, period)``; its
    ``credibility`` is the composite and its ``alliance_level`` has the ``dimension``
    axis too. Its ``within_cell`` (the within paths of between-within dimensions) is
    labelled as ``within`` ``(chain, draw, between_dimension, commitment, period)``.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> from credibility.measurement import build_index
    >>> index = build_index(load_dataset("demo"))
    >>> cells = np.zeros((1, 2, index.cells.size))
    >>> acells = np.zeros((1, 2, index.alliance_cells.size))
    >>> post = xr.Dataset({"credibility_cell": (("chain", "draw", "cell"), cells),
    ...                    "alliance_cell_level": (("chain", "draw", "alliance_cell"), acells)})
    >>> label_posterior(post, index)["credibility"].dims
    ('chain', 'draw', 'commitment', 'period')
    """
    periods = index.periods
    c, a = index.cells, index.alliance_cells
    credibility = _grid(posterior["credibility_cell"].values, c.unit, c.period, c.n_units,
                        periods.size)
    level = posterior["alliance_cell_level"]
    alliance = _grid(level.values, a.unit, a.period, a.n_units, periods.size)
    by_dimension = ("dimension",) if "dimension" in level.dims else ()
    labelled = posterior.drop_vars(["credibility_cell", "alliance_cell_level", "dimension_cell",
                                    "within_cell", "cell", "alliance_cell"], errors="ignore")
    # Per-dimension cells of a model of several dimensions: the within paths of the
    # split dimensions, and every dimension's standardised cells.
    for cells, dim, name in (("within_cell", "between_dimension", "within"),
                             ("dimension_cell", "dimension", "dimension_credibility")):
        if cells in posterior:
            grid = _grid(posterior[cells].transpose("chain", "draw", dim, "cell").values,
                         c.unit, c.period, c.n_units, periods.size)
            labelled = labelled.assign(
                {name: (("chain", "draw", dim, "commitment", "period"), grid)})
    return labelled.assign(
        credibility=(("chain", "draw", "commitment", "period"), credibility),
        alliance_level=(("chain", "draw", *by_dimension, "alliance", "period"), alliance),
    ).assign_coords(commitment=list(index.commitments), alliance=list(index.alliances),
                    period=periods)


def summarise_draws(draws: xr.DataArray, scale: str = "z") -> pd.DataFrame:
    """Mean, sd and 5/50/95 % quantiles over ``chain`` and ``draw`` of a labelled array.

    ``scale="percentile"`` maps each draw through the standard-normal CDF first
    (``100 * Phi(x)``: the share of a N(0, 1) reference population below it).
    Rows that are NaN in every draw (inactive cells) are dropped.

    Examples
    --------
    >>> arr = xr.DataArray(np.random.default_rng(0).normal(size=(2, 50, 3)),
    ...                    dims=("chain", "draw", "commitment"),
    ...                    coords={"commitment": ["a", "b", "c"]})
    >>> list(summarise_draws(arr).columns)
    ['commitment', 'mean', 'sd', 'q05', 'q50', 'q95']
    """
    if scale not in ("z", "percentile"):
        raise FitError(f"unknown scale {scale!r}; expected 'z' or 'percentile'")
    stacked = draws.stack(sample=("chain", "draw")).transpose("sample", ...)
    values = stacked.values
    if scale == "percentile":
        values = 100.0 * ndtr(values)
    other = [d for d in stacked.dims if d != "sample"]
    flat = values.reshape(values.shape[0], -1)
    keep = ~np.all(np.isnan(flat), axis=0)
    flat = flat[:, keep]
    q05, q50, q95 = np.quantile(flat, [0.05, 0.5, 0.95], axis=0)
    labels = pd.MultiIndex.from_product([stacked[d].values for d in other], names=other)
    frame = labels[keep].to_frame(index=False)
    frame["mean"] = flat.mean(axis=0)
    frame["sd"] = flat.std(axis=0, ddof=1)
    frame["q05"], frame["q50"], frame["q95"] = q05, q50, q95
    return frame


@dataclass
class FitResult:
    """A fitted model: the posterior, its diagnostics and its provenance.

    ``posterior`` is a DataTree whose ``posterior`` group holds the labelled
    measurement posterior and, when the data had deterrence cases with outcomes,
    an ``outcome`` group with the outcome model's draws (its attribute ``mode`` is
    ``joint`` or ``two_stage``). ``outcome_diagnostics`` are the stage-2 sampler's
    diagnostics (two-stage fits only; a joint fit's are part of ``diagnostics``).
    """

    posterior: xr.DataTree
    data: CredibilityData
    spec: ModelSpec
    diagnostics: Diagnostics
    settings: dict = field(default_factory=dict)
    outcome_diagnostics: Diagnostics | None = None

    @property
    def is_approximate(self) -> bool:
        """True for an ADVI fit (``method="advi"``) or an approximate update
        (:mod:`credibility.analysis.approximate`): its posterior is an approximation."""
        return (self.settings.get("update_method") == "approximate"
                or self.settings.get("method", "nuts") != "nuts")

    @property
    def approximation(self) -> str | None:
        """``"ADVI fit"``, ``"update"`` (approximate update) or ``None`` (NUTS, exact)."""
        if self.settings.get("update_method") == "approximate":
            return "update"
        return "ADVI fit" if self.settings.get("method", "nuts") != "nuts" else None

    @property
    def exact_hint(self) -> str:
        """How to get an exact posterior instead of this approximate one (for messages)."""
        if self.approximation == "ADVI fit":
            return "this fit is a mean-field ADVI fit: refit with method='nuts' (--method nuts)"
        return "this fit is an approximate update: run an exact update first"

    @property
    def sampler_config(self) -> SamplerConfig:
        """How this fit was sampled (:class:`~credibility.inference.config.SamplerConfig`), for
        updates and refits to reuse."""
        return SamplerConfig.from_dict(self.settings)

    @property
    def sampled_spec(self) -> ModelSpec:
        """The spec in the coordinates the posterior was sampled in: :attr:`spec`, or the
        coordinates a fit adapted to its first check (decision 33; ``settings
        ["coordinates"]``). Rebuild the model from this one to read the posterior's
        free variables."""
        changes = self.settings.get("coordinates") or {}
        if "centred_states" in changes:
            changes = {**changes, "centred_states": tuple(changes["centred_states"])}
        if "intercept_centred" not in self.posterior["posterior"]:
            # Sampled without the alliance intercepts' shear (decision 40): the default,
            # a fit saved before the option existed, or alliance signals without rows.
            changes = {**changes, "centred_alliance_intercepts": False}
        return dataclasses.replace(self.spec, **changes)

    @functools.cached_property
    def index(self) -> ModelIndex:
        """The model index of :attr:`data` under :attr:`spec` (cells, rows, groups), built
        once per fit: by the fit itself, or on first use for a loaded fit. Post-fit
        steps (posterior checks, updates) read it instead of building their own.

        Examples
        --------
        >>> fit.index.cells.size == len(fit.credibility())  # doctest: +SKIP
        True
        """
        return build_index(self.data, self.spec)

    @property
    def run_record(self) -> RunRecord | None:
        """What the sampling run did (draws kept, why it stopped); ``None`` for fits
        recorded before runs kept this record."""
        raw = self.settings.get("run")
        return RunRecord.from_dict(raw) if raw else None

    @property
    def outcome_mode(self) -> str | None:
        """``"joint"``, ``"two_stage"`` or ``None`` (no outcome model was fitted)."""
        if "outcome" not in self.posterior.children:
            return None
        return str(self.posterior["outcome"].attrs["mode"])

    def credibility(self, scale: str = "z") -> pd.DataFrame:
        """Tidy frame ``commitment_id, period, mean, sd, q05, q50, q95`` of active cells.

        ``scale="z"`` (default) is the model's identified scale; ``"percentile"``
        reports ``100 * Phi(x)``.

        Examples
        --------
        >>> fit.credibility().head()  # doctest: +SKIP
        """
        frame = summarise_draws(self.posterior["posterior"]["credibility"], scale)
        frame = frame.rename(columns={"commitment": "commitment_id"})
        frame["period"] = frame["period"].astype(np.int64)
        return frame.loc[:, list(CREDIBILITY_COLUMNS)]

    def dimensions(self, scale: str = "z") -> pd.DataFrame:
        """Tidy frame ``commitment_id, period, dimension, mean, sd, q05, q50, q95``: each
        latent dimension's credibility in every active cell.

        A fit of several dimensions reports each dimension standardised on its own
        (mean 0, sd 1 over the active cells in every draw); :meth:`credibility` is then
        their composite (docs/model.md, "Several dimensions"). A one-dimension fit
        gives its credibility under the name of its one dimension.

        Parameters
        ----------
        scale : str
            ``"z"`` (default) or ``"percentile"``, as in :meth:`credibility`.

        Returns
        -------
        pandas.DataFrame
            One row per dimension and active commitment-period, dimension by dimension
            in the spec's order.

        Examples
        --------
        >>> fit.dimensions().head()  # doctest: +SKIP
        """
        posterior = self.posterior["posterior"]
        if "dimension_credibility" not in posterior:
            frame = self.credibility(scale)
            frame.insert(2, "dimension", self.spec.dimensions[0])
            return frame
        frame = summarise_draws(posterior["dimension_credibility"], scale)
        frame = frame.rename(columns={"commitment": "commitment_id"})
        frame["period"] = frame["period"].astype(np.int64)
        return frame.loc[:, list(DIMENSION_COLUMNS)]

    def alliance_levels(self, scale: str = "z") -> pd.DataFrame:
        """Tidy frame ``alliance, period, mean, sd, q05, q50, q95`` of the alliance level."""
        frame = summarise_draws(self.posterior["posterior"]["alliance_level"], scale)
        frame["period"] = frame["period"].astype(np.int64)
        return frame

    def parameters(self) -> pd.DataFrame:
        """Posterior summary (mean, sd, 90 % interval, R-hat, ESS) of the model parameters.

        Includes the outcome model's coefficients when one was fitted.
        """
        import arviz as az

        post = self.posterior["posterior"].to_dataset()
        names = [v for v in ("loading", "dimension_correlation", "intercept", "noise",
                             "precision", "residual_persistence", "sd_alliance_mean",
                             "sd_alliance_dynamics", "latent_sd",
                             "persistence_alliance", "persistence_commitment", "step_alliance",
                             "step_commitment", "region_effect", "type_effect") if v in post]
        with warnings.catch_warnings():
            # Constant entries (a correlation's diagonal, the zeros of the loading matrix
            # of several dimensions) have no R-hat: NumPy warns on the way to NaN.
            warnings.simplefilter("ignore", RuntimeWarning)
            table = az.summary(post[names], ci_prob=0.9, round_to="none")
        if self.outcome_mode is None:
            return table
        return pd.concat([table, self.outcome_parameters()])

    def outcome_parameters(self) -> pd.DataFrame:
        """Posterior summary of the outcome model's coefficients (per standardised unit)."""
        import arviz as az

        outcome = self.outcome_posterior()
        names = [v for v in predictor.OUTCOME_PARAMETERS if v in outcome]
        return az.summary(outcome[names], ci_prob=0.9, round_to="none")

    def predict(self, cases: pd.DataFrame | str | Path | None = None) -> pd.DataFrame:
        """P(deterrence success) per case: ``case_id, p_mean, p_sd, p_q05, p_q50, p_q95``.

        ``cases`` (a DataFrame or CSV path in the cases format; default: every case
        of the fitted data) may name any commitment-period of the fitted data,
        with the spec's covariates. Each draw of P(success) pairs a draw of the
        outcome coefficients with a draw of that cell's credibility, so the
        interval carries both kinds of uncertainty.

        Examples
        --------
        >>> fit.predict().head()  # doctest: +SKIP
        """
        outcome = self.outcome_posterior()
        frame = self.validated_cases(cases)
        return predictor.summarise_probabilities(frame["case_id"],
                                                 self._probabilities(outcome, frame))

    def probability_draws(self, cases: pd.DataFrame | str | Path | None = None) -> np.ndarray:
        """Posterior draws of P(success), ``(sample, case)``, for :meth:`predict`'s cases."""
        outcome = self.outcome_posterior()
        return self._probabilities(outcome, self.validated_cases(cases))

    def _probabilities(self, outcome: xr.Dataset, frame: pd.DataFrame) -> np.ndarray:
        """Draws of P(success) for cases already validated against the fitted data."""
        return predictor.predict_probabilities(
            predictor.outcome_latent(self.posterior["posterior"].to_dataset()), outcome, frame,
            self.data.commitments.set_index("commitment_id")["region"])

    def outcome_posterior(self) -> xr.Dataset:
        """The outcome model's draws (``posterior["outcome"]``); an error without one."""
        if self.outcome_mode is None:
            raise PredictionError(
                "this fit has no outcome model: fit data with a cases table that has observed "
                "outcomes (outcome='joint' or 'two_stage')"
            )
        return self.posterior["outcome"].to_dataset()

    def validated_cases(self, cases: pd.DataFrame | str | Path | None) -> pd.DataFrame:
        """``cases`` checked against the fitted data (default: the data's own cases)."""
        if cases is None:
            if self.data.cases is None:
                raise PredictionError("the fitted data have no cases; pass cases to predict")
            return self.data.cases
        if isinstance(cases, pd.DataFrame) and cases is self.data.cases:
            return cases
        return read_cases(cases, self.data)

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``posterior.nc``, ``credibility.csv``, ``fit.json``, ``spec.toml`` and the data
        (and ``dimensions.csv``, :meth:`dimensions`, for a fit of several dimensions).

        Returns the paths written. Reload with :meth:`FitResult.load`.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "posterior": folder / "posterior.nc",
            "credibility": folder / "credibility.csv",
            "fit": folder / "fit.json",
            "spec": folder / "spec.toml",
        }
        self.posterior.to_netcdf(paths["posterior"], engine="h5netcdf")
        self.credibility().to_csv(paths["credibility"], index=False)
        if len(self.spec.dimensions) > 1:
            paths["dimensions"] = folder / "dimensions.csv"
            self.dimensions().to_csv(paths["dimensions"], index=False)
        paths["spec"].write_text(self.spec.text, encoding="utf-8")
        data_paths = self.data.to_csv(folder / "data")
        meta = {
            "package_version": _package_version(),
            "spec_sha256": self.spec.sha256,
            "data_sha256": self.data.sha256(),
            # The window: it may run past the last period with data (forecast periods),
            # which the tables alone do not say.
            "periods": [self.data.first_period, self.data.last_period],
            "settings": self.settings,
            "diagnostics": self.diagnostics.to_dict(),
            "outcome_mode": self.outcome_mode,
            "outcome_diagnostics": (None if self.outcome_diagnostics is None
                                    else self.outcome_diagnostics.to_dict()),
        }
        paths["fit"].write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        return {**paths, **{f"data_{k}": v for k, v in data_paths.items()}}

    @classmethod
    def load(cls, folder: str | Path) -> FitResult:
        """Reload a fit written by :meth:`save`."""
        folder = Path(folder)
        spec = parse_spec((folder / "spec.toml").read_text(encoding="utf-8"),
                          source=str(folder / "spec.toml"))
        data_dir = folder / "data"
        cases = data_dir / "cases.csv"
        meta = json.loads((folder / "fit.json").read_text(encoding="utf-8"))
        window = meta.get("periods")  # absent in fits saved before windows were recorded
        data = CredibilityData.from_csv(data_dir / "commitments.csv", data_dir / "signals.csv",
                                        cases if cases.exists() else None, spec=spec,
                                        periods=None if window is None else tuple(window))
        posterior = xr.open_datatree(folder / "posterior.nc", engine="h5netcdf").load()
        outcome = meta.get("outcome_diagnostics")
        return cls(posterior=posterior, data=data, spec=spec,
                   diagnostics=Diagnostics.from_dict(meta["diagnostics"]),
                   settings=meta.get("settings", {}),
                   outcome_diagnostics=None if outcome is None else Diagnostics.from_dict(outcome))
