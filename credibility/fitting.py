"""Fit the measurement model: ``CredibilityModel(spec).fit(data) -> FitResult``.

The class is a thin workflow layer: it builds the model with
:func:`credibility.measurement.build_measurement_model`, samples it with the chosen
backend, reshapes the per-cell deterministics into labelled ``(commitment, period)``
arrays and attaches :class:`~credibility.diagnostics.Diagnostics`, which warn when
the sampler says the posterior is not to be trusted.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from scipy.special import ndtr

from credibility.diagnostics import Diagnostics, compute_diagnostics
from credibility.errors import FitError
from credibility.measurement import ModelIndex, build_index, build_measurement_model
from credibility.schema import CredibilityData
from credibility.spec import ModelSpec, load_spec, parse_spec

Backend = Literal["nutpie", "pymc", "numpyro"]
BACKENDS: tuple[str, ...] = ("nutpie", "pymc", "numpyro")

#: Columns of the exported credibility table (DESIGN §8).
CREDIBILITY_COLUMNS = ("commitment_id", "period", "mean", "sd", "q05", "q50", "q95")


def _package_version() -> str:
    from credibility import __version__

    return __version__


def check_backend(backend: str) -> None:
    """Raise :class:`FitError` unless ``backend`` is known and installed.

    Examples
    --------
    >>> check_backend("nutpie")
    """
    if backend not in BACKENDS:
        raise FitError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend == "numpyro" and importlib.util.find_spec("numpyro") is None:
        raise FitError(
            "backend 'numpyro' needs the optional JAX extra: pip install 'credibility[jax]'"
        )


def _grid(
    cells: np.ndarray, unit: np.ndarray, period: np.ndarray, n_units: int, n_periods: int
) -> np.ndarray:
    """Scatter ``(chain, draw, cell)`` draws into ``(chain, draw, unit, period)``, NaN elsewhere."""
    chains, draws = cells.shape[:2]
    grid = np.full((chains, draws, n_units, n_periods), np.nan)
    grid[:, :, unit, period] = cells
    return grid


def label_posterior(posterior: xr.Dataset, index: ModelIndex) -> xr.Dataset:
    """Replace per-cell deterministics by labelled ``credibility`` and ``alliance_level``.

    Cells outside a unit's active window are NaN.

    Examples
    --------
    >>> from credibility.datasets import load_dataset
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
    alliance = _grid(posterior["alliance_cell_level"].values, a.unit, a.period, a.n_units,
                     periods.size)
    labelled = posterior.drop_vars(["credibility_cell", "alliance_cell_level", "cell",
                                    "alliance_cell"], errors="ignore")
    return labelled.assign(
        credibility=(("chain", "draw", "commitment", "period"), credibility),
        alliance_level=(("chain", "draw", "alliance", "period"), alliance),
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
    """A fitted measurement model: the posterior, its diagnostics and its provenance."""

    posterior: xr.DataTree
    data: CredibilityData
    spec: ModelSpec
    diagnostics: Diagnostics
    settings: dict = field(default_factory=dict)

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

    def alliance_levels(self, scale: str = "z") -> pd.DataFrame:
        """Tidy frame ``alliance, period, mean, sd, q05, q50, q95`` of the alliance level."""
        frame = summarise_draws(self.posterior["posterior"]["alliance_level"], scale)
        frame["period"] = frame["period"].astype(np.int64)
        return frame

    def parameters(self) -> pd.DataFrame:
        """Posterior summary (mean, sd, 90 % interval, R-hat, ESS) of the model parameters."""
        import arviz as az

        post = self.posterior["posterior"].to_dataset()
        names = [v for v in ("loading", "intercept", "noise", "precision", "sd_alliance_mean",
                             "sd_alliance_dynamics", "latent_sd",
                             "persistence_alliance", "persistence_commitment", "step_alliance",
                             "step_commitment", "region_effect", "type_effect") if v in post]
        return az.summary(post[names], ci_prob=0.9, round_to="none")

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``posterior.nc``, ``credibility.csv``, ``fit.json``, ``spec.toml`` and the data.

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
        paths["spec"].write_text(self.spec.text, encoding="utf-8")
        data_paths = self.data.to_csv(folder / "data")
        meta = {
            "package_version": _package_version(),
            "spec_sha256": self.spec.sha256,
            "data_sha256": self.data.sha256(),
            "settings": self.settings,
            "diagnostics": self.diagnostics.to_dict(),
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
        data = CredibilityData.from_csv(data_dir / "commitments.csv", data_dir / "signals.csv",
                                        cases if cases.exists() else None, spec=spec)
        meta = json.loads((folder / "fit.json").read_text(encoding="utf-8"))
        posterior = xr.open_datatree(folder / "posterior.nc", engine="h5netcdf").load()
        return cls(posterior=posterior, data=data, spec=spec,
                   diagnostics=Diagnostics.from_dict(meta["diagnostics"]),
                   settings=meta.get("settings", {}))


class CredibilityModel:
    """The user's handle on a measurement model specification.

    Examples
    --------
    >>> model = CredibilityModel("default")
    >>> model.spec.name
    'default'
    """

    def __init__(self, spec: ModelSpec | str | Path = "default") -> None:
        self.spec = spec if isinstance(spec, ModelSpec) else load_spec(spec)

    def build(self, data: CredibilityData) -> pm.Model:
        """The PyMC model for ``data`` (for inspection or custom sampling)."""
        return build_measurement_model(data, self.spec)

    def fit(
        self,
        data: CredibilityData,
        *,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        seed: int = 0,
        backend: Backend = "nutpie",
        target_accept: float = 0.9,
        progress: bool = True,
        on_stage: Callable[[str], None] | None = None,
    ) -> FitResult:
        """Sample the posterior and check it.

        ``on_stage`` (optional) is called with a short description as each stage
        (build, compile + sample, summarise) starts; the CLI uses it for its status
        line. A :class:`~credibility.diagnostics.ConvergenceWarning` is issued when
        R-hat, ESS or divergences fail their thresholds.

        Examples
        --------
        >>> from credibility.datasets import load_dataset
        >>> fit = CredibilityModel("default").fit(load_dataset("demo"))  # doctest: +SKIP
        >>> fit.diagnostics.ok  # doctest: +SKIP
        True
        """
        check_backend(backend)
        for name, value in (("draws", draws), ("tune", tune), ("chains", chains)):
            if not isinstance(value, int) or value < 1:
                raise FitError(f"{name} must be a positive integer, got {value!r}")
        stage = on_stage or (lambda _: None)
        started = time.perf_counter()
        stage("building model")
        index = build_index(data, self.spec)
        model = build_measurement_model(data, self.spec, index=index)
        built = time.perf_counter()
        stage(f"sampling ({backend}, {chains} chains x {draws} draws)")
        cores = min(chains, os.cpu_count() or 1)
        try:
            if backend == "nutpie":
                idata = _sample_nutpie(model, draws=draws, tune=tune, chains=chains, cores=cores,
                                       seed=seed, target_accept=target_accept, progress=progress)
            else:
                with model, warnings.catch_warnings():
                    # Our Diagnostics report convergence; PyMC's summary would repeat it.
                    warnings.filterwarnings("ignore", message=".*(rhat|R-hat|effective sample).*")
                    idata = pm.sample(
                        draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed,
                        nuts_sampler=backend, progressbar=progress,
                        compute_convergence_checks=False, nuts={"target_accept": target_accept},
                    )
        except (ValueError, RuntimeError) as exc:
            raise FitError(f"sampling with backend {backend!r} failed: {exc}") from exc
        sampled = time.perf_counter()
        stage("checking convergence")
        raw = idata["posterior"].to_dataset()
        free = [v.name for v in model.free_RVs]
        diagnostics = compute_diagnostics(
            raw[[*free, "credibility_cell"]],
            idata["sample_stats"].to_dataset(),
            sampling_seconds=sampled - built,
            build_seconds=built - started,
        )
        labelled = label_posterior(raw, index)
        tree = idata.copy()
        tree["posterior"] = xr.DataTree(labelled)
        tree["posterior"].attrs.update(raw.attrs)
        tree.attrs.update({"synthetic_data": str(_is_synthetic(data)).lower()})
        result = FitResult(
            posterior=tree,
            data=data,
            spec=self.spec,
            diagnostics=diagnostics,
            settings={"draws": draws, "tune": tune, "chains": chains, "seed": seed,
                      "backend": backend, "target_accept": target_accept,
                      "unused_signals": list(index.unused_signals)},
        )
        diagnostics.warn()
        return result


def _sample_nutpie(
    model: pm.Model, *, draws: int, tune: int, chains: int, cores: int, seed: int,
    target_accept: float, progress: bool,
) -> xr.DataTree:
    """Compile with numba and sample with nutpie directly.

    ``pm.sample(nuts_sampler="nutpie")`` reports progress through a Python callback
    on every draw; on the demo that held the GIL and serialised the chains (one core
    busy of two; about 5x slower than calling nutpie itself).
    """
    import nutpie

    compiled = nutpie.compile_pymc_model(model, backend="numba")
    return nutpie.sample(
        compiled, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
        save_warmup=False, progress_bar=progress, target_accept=target_accept,
    )


def _is_synthetic(data: CredibilityData) -> bool:
    """Simulated in this session, or every signal row's source says SYNTHETIC."""
    simulated = any("simulated" in name for name in data.sources.values())
    labelled = bool(data.signals["source"].str.contains("SYNTHETIC").all())
    return simulated or labelled
