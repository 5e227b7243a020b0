"""Comparing fits by predictive accuracy: PSIS-LOO of the signal likelihood.

Fits of the same data with different measurement-model structures (with or without
``residual_persistence``, spectral states, other priors) are compared by the expected
log predictive density of the observed signal rows, each row left out in turn
(``elpd_loo``), estimated by Pareto-smoothed importance sampling from each fit's
posterior (PSIS-LOO, Vehtari, Gelman & Gabry 2017; ArviZ's ``loo``).

* :func:`signal_log_likelihood` -- the pointwise log-likelihood ``(chain, draw, row)``
  of the rows of ``fit.data.signals`` under the fit's posterior, every family; also
  what :mod:`credibility.analysis.scenarios` reweights with.
* :func:`signal_loo` -- PSIS-LOO of one fit's signal rows.
* :func:`compare` -- a table of several fits of the same data, best first, with each
  fit's difference from the best and the standard error of that difference.

The unit left out is one signal row (docs/decisions.md 39). A signal with
``residual_persistence = true`` has each row's term conditioned on the series'
previous observed row; see :func:`signal_log_likelihood` for what the elpd then means.
The deterrence outcomes are not part of it: their PSIS-LOO is in
:func:`credibility.analysis.checks.outcome_checks`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import xarray as xr
from pymc.model.transform.conditioning import remove_value_transforms
from pytensor.graph.replace import vectorize_graph
from pytensor.graph.traversal import ancestors

from credibility.analysis.checks import PARETO_K_MAX
from credibility.data.container import CredibilityData
from credibility.data.spec import LOG_FAMILIES
from credibility.errors import CompareError
from credibility.measurement import build_measurement_model
from credibility.model.index import build_index
from credibility.results.fitting import FitResult

#: Columns of :func:`compare`'s table.
COMPARE_COLUMNS = ("name", "elpd_loo", "se", "p_loo", "elpd_diff", "se_diff", "rows",
                   "high_k", "warning")


class CompareWarning(UserWarning):
    """A compared fit's LOO estimate is unreliable (failed diagnostics, high Pareto k)."""


#: Log densities evaluated at once per chunk of draws (draws x observed values): about
#: 16 MB of output per chunk, bounding the vectorised graph's intermediates as well.
CHUNK_VALUES = 2_000_000


def observed_log_density(
    model: pm.Model, posterior: xr.Dataset, names: Sequence[str],
) -> dict[str, np.ndarray]:
    """Elementwise log density of observed variables at every posterior draw.

    What ``pm.compute_log_likelihood`` computes, without reading the posterior's
    variables by the names of the untransformed model's value variables (PyMC 6.4
    renames the one of ``pm.LKJCorr``, so it fails on the model of several
    dimensions; docs/decisions.md 45 and 46). The observed variables' elementwise
    log density is a graph of the untransformed free variables it depends on (the
    values the posterior stores, under the random variables' names), vectorised over
    a leading draw axis and evaluated on chunks of draws. A graph with an operation
    that cannot be vectorised is evaluated draw by draw, as PyMC does.

    Parameters
    ----------
    model : pymc.Model
        The model the posterior was sampled from (its observed data are the ones
        evaluated).
    posterior : xarray.Dataset
        Draws with dims ``(chain, draw, ...)``; every free variable the observed
        variables depend on, by its name.
    names : sequence of str
        Observed variables of ``model``.

    Returns
    -------
    dict of str to numpy.ndarray
        Per name, the log densities ``(chain, draw, *observed shape)``, float64.

    Raises
    ------
    credibility.errors.CompareError
        If ``names`` holds a variable that is not observed in ``model``, or the
        posterior lacks a free variable the observed variables depend on.

    Examples
    --------
    >>> import numpy as np, pymc as pm, xarray as xr
    >>> with pm.Model() as model:
    ...     mu = pm.Normal("mu")
    ...     _ = pm.Normal("y", mu, 1.0, observed=np.array([0.0, 1.0]))
    >>> draws = xr.Dataset({"mu": (("chain", "draw"), np.zeros((1, 2)))})
    >>> observed_log_density(model, draws, ["y"])["y"].round(4).tolist()
    [[[-0.9189, -1.4189], [-0.9189, -1.4189]]]
    """
    untransformed = remove_value_transforms(model)
    observed = {rv.name for rv in untransformed.observed_RVs}
    unknown = [name for name in names if name not in observed]
    if unknown:
        raise CompareError(f"not observed variables of the model: {', '.join(unknown)}")
    outputs = untransformed.logp(vars=[untransformed[name] for name in names], sum=False)
    graph = set(ancestors(outputs))
    inputs = [value for value in untransformed.value_vars if value in graph]
    sources = [untransformed.values_to_rvs[value].name for value in inputs]
    missing = [name for name in sources if name not in posterior]
    if missing:
        raise CompareError(f"the posterior has no draws of {', '.join(missing)}, on which "
                           "the observed variables depend")
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    flat = [posterior[name].transpose("chain", "draw", ...).values
            .reshape(chains * draws, *posterior[name].shape[2:]).astype(value.dtype)
            for name, value in zip(sources, inputs, strict=True)]
    out = _evaluate(inputs, outputs, flat, chains * draws)
    return {name: values.reshape(chains, draws, *values.shape[1:])
            for name, values in zip(names, out, strict=True)}


def _evaluate(inputs: list, outputs: list, flat: list[np.ndarray], samples: int
              ) -> list[np.ndarray]:
    """``outputs`` at each of ``samples`` rows of ``flat`` (the values of ``inputs``):
    vectorised over the rows in chunks, or draw by draw for a graph with an operation
    that cannot be vectorised."""
    batched = [value.type.clone(shape=(None, *value.type.shape))(value.name)
               for value in inputs]
    try:
        vectorised = vectorize_graph(outputs, replace=dict(zip(inputs, batched, strict=True)))
    except NotImplementedError:
        vectorised = None
    # Filled in place, chunk by chunk: the peak is the result and one chunk.
    if vectorised is not None:
        function = pytensor.function(batched, vectorised, on_unused_input="ignore")
        first = function(*(values[:1] for values in flat))
        out = [np.empty((samples, *value.shape[1:])) for value in first]
        step = max(1, CHUNK_VALUES // max(1, sum(value.size for value in first)))
        for start in range(0, samples, step):
            chunk = function(*(values[start:start + step] for values in flat))
            for target, value in zip(out, chunk, strict=True):
                target[start:start + step] = value
    else:
        function = pytensor.function(inputs, outputs, on_unused_input="ignore")
        out = []
        for i in range(samples):
            point = function(*(values[i] for values in flat))
            out = out or [np.empty((samples, *np.shape(value))) for value in point]
            for target, value in zip(out, point, strict=True):
                target[i] = value
    return out


def signal_log_likelihood(
    fit: FitResult,
    *,
    data: CredibilityData | None = None,
    rows: np.ndarray | None = None,
) -> xr.DataArray:
    """Pointwise log-likelihood of the observed signal rows under ``fit``'s posterior.

    One term per row of ``data.signals`` that the fitted model observes, every family:
    the log density (log probability for counts, 0/1, binomial and ordinal values)
    of the row's recorded value given each posterior draw. Amounts and ratios are
    densities of the value in the data's units (the model's density of
    ``value / target`` less ``log(target)``).

    Rows of signals the fitted spec leaves out have no term and are not in the
    result. A missing observation is an absent row (the signals table has no missing
    values), so it has no term either. For a signal with ``residual_persistence =
    true`` a row's term is its density *given the series' previous observed row*
    (same unit and signal; ``previous_rows`` in :mod:`credibility.measurement`), and a
    series' first row has its marginal density. The terms of a fit then still sum to
    its log-likelihood (the chain rule), but leaving one out is not leaving the row's
    value out: it is still the value its successor's term is conditioned on. The
    elpd of such a signal is the log score of predicting each row from its
    predecessor, with the parameters and states estimated from every other term
    (docs/decisions.md 39).

    Parameters
    ----------
    fit
        A fit; its posterior is read in the coordinates it was sampled in
        (:attr:`~credibility.results.fitting.FitResult.sampled_spec`).
    data
        Signal rows to evaluate (default ``fit.data``). Other data must have the same
        commitments and period grid as the fitted data, so that the posterior's
        states index the same cells (scenarios).
    rows
        Labels of ``data.signals`` rows to evaluate (default: every row with a term).
        Rows without a term are left out.

    Returns
    -------
    xarray.DataArray
        ``signal_log_likelihood`` with dims ``(chain, draw, row)``, float64; ``row``
        holds the labels of ``data.signals`` (ascending) and the coordinate ``signal``
        each row's signal.

    Raises
    ------
    credibility.errors.SpecError
        When ``data`` do not fit the spec of ``fit`` (a signal of another family).

    Examples
    --------
    >>> log_lik = signal_log_likelihood(fit)  # doctest: +SKIP
    >>> log_lik.dims  # doctest: +SKIP
    ('chain', 'draw', 'row')
    >>> float(log_lik.sum("row").mean())  # the log-likelihood's posterior mean  # doctest: +SKIP
    """
    data = fit.data if data is None else data
    # Evaluated at the posterior's sampler coordinates: those of a residual signal
    # (decision 33) depend on the data, the scaled states do not.
    spec = dataclasses.replace(fit.sampled_spec, residual_signal=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        index = build_index(data, spec)
        model = build_measurement_model(data, spec, index=index)
    families = {family: obs for family, obs in index.families.items()
                if rows is None or np.isin(obs.row, rows).any()}
    term_rows = np.sort(np.concatenate([obs.row for obs in families.values()])
                        if families else np.array([], dtype=np.int64))
    if rows is not None:
        term_rows = term_rows[np.isin(term_rows, rows)]
    post = fit.posterior["posterior"].to_dataset()
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    # Filled family by family, each family's draws dropped once copied: the peak is
    # about one matrix and the largest family's copies, not two matrices (at 4,000
    # draws and 20,000 rows a matrix is 640 MB).
    out = np.empty((chains, draws, term_rows.size))
    if families:
        computed = observed_log_density(model, post, [f"obs_{family}" for family in families])
        targets = np.array([s.target for s in index.signals])
        for family, obs in families.items():
            keep = np.isin(obs.row, term_rows)
            values = computed[f"obs_{family}"][:, :, keep]
            if family in LOG_FAMILIES:
                values = values - np.log(targets[obs.signal[keep]])
            out[:, :, np.searchsorted(term_rows, obs.row[keep])] = values
            del computed[f"obs_{family}"], values
    return xr.DataArray(
        out, dims=("chain", "draw", "row"), name="signal_log_likelihood",
        coords={"chain": post["chain"].values, "draw": post["draw"].values,
                "row": term_rows,
                "signal": ("row", data.signals.loc[term_rows, "signal"].to_numpy(str))},
    )


def _k_bound(samples: int) -> float:
    """Pareto k above which PSIS is unreliable with ``samples`` draws (Vehtari et al.
    2024): :data:`~credibility.analysis.checks.PARETO_K_MAX` (0.7) from 2,000 draws, ``1 - 1 /
    log10(samples)`` below."""
    return min(PARETO_K_MAX, 1.0 - 1.0 / np.log10(samples))


def signal_loo(fit: FitResult) -> az.ELPDData:
    """PSIS-LOO of the signal rows of one fit (ArviZ's ``loo``).

    The relative efficiency of the draws passed to PSIS is the mean over rows of the
    effective sample size of each row's likelihood draws (as the ``loo`` package's
    ``relative_eff``), divided by the number of draws.

    Parameters
    ----------
    fit
        A fit (exact or approximate: :func:`compare` refuses approximate ones).

    Returns
    -------
    arviz.ELPDData
        ``elpd``, ``se``, ``p`` (p_loo) and, over ``row`` (rows of
        ``fit.data.signals``), ``elpd_i`` and ``pareto_k``.

    Examples
    --------
    >>> loo = signal_loo(fit)  # doctest: +SKIP
    >>> loo.elpd, loo.se  # doctest: +SKIP
    """
    log_lik = signal_log_likelihood(fit)
    likelihood = log_lik.values - log_lik.values.max(axis=(0, 1))
    np.exp(likelihood, out=likelihood)
    ess = az.ess(xr.Dataset({"likelihood": (log_lik.dims, likelihood)}), method="mean")
    del likelihood
    samples = log_lik.sizes["chain"] * log_lik.sizes["draw"]
    reff = float(np.nanmean(ess["likelihood"].values)) / samples
    tree = xr.DataTree.from_dict({"log_likelihood": xr.Dataset({"signals": log_lik})})
    with warnings.catch_warnings():
        # Reported per fit as the count of high Pareto k in compare's table instead.
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        return az.loo(tree, pointwise=True, var_name="signals", reff=reff)


def _check_comparable(fits: Mapping[str, FitResult]) -> None:
    """Refuse fewer than two fits, approximate fits and fits of different data."""
    if len(fits) < 2:
        raise CompareError(f"compare needs at least two fits; got {len(fits)}")
    for name, fit in fits.items():
        if fit.is_approximate:
            raise CompareError(f"fit {name!r} is approximate ({fit.approximation}): its "
                               f"elpd is not comparable; {fit.exact_hint}")
    digests = {name: fit.data.sha256() for name, fit in fits.items()}
    first = next(iter(digests))
    for name, digest in digests.items():
        if digest != digests[first]:
            raise CompareError(
                f"fits {first!r} and {name!r} were fitted to different data (data SHA-256 "
                f"{digests[first][:12]} and {digest[:12]}); LOO compares fits of the same data")


def _check_same_rows(loos: Mapping[str, az.ELPDData], fits: Mapping[str, FitResult]) -> None:
    """Refuse fits whose models observe different signal rows (a spec leaves one out)."""
    rows = {name: loo.elpd_i["row"].values for name, loo in loos.items()}
    first = next(iter(rows))
    for name, these in rows.items():
        if np.array_equal(these, rows[first]):
            continue
        signals = fits[first].data.signals["signal"]
        only = sorted(set(signals[np.setxor1d(these, rows[first])]))
        raise CompareError(
            f"fits {first!r} and {name!r} observe different signal rows ({len(rows[first])} "
            f"and {len(these)}; one spec leaves out {', '.join(only)}); LOO compares fits "
            "of the same observations")


def compare(fits: Mapping[str, FitResult]) -> pd.DataFrame:
    """Compare fits of the same data by PSIS-LOO of their signal rows.

    Each fit's ``elpd_loo`` is the sum over signal rows of the log predictive density
    of the row with the row left out (:func:`signal_loo`); higher is better. The
    difference from the best fit and its standard error are paired over rows:
    ``elpd_diff = sum_i d_i`` and ``se_diff = sqrt(n * var(d_i))`` with ``d_i`` the
    fit's pointwise elpd less the best fit's and ``var`` the sample variance (as ``se``
    itself). A difference smaller than about two ``se_diff`` is not evidence either
    way; the normal approximation behind ``se_diff`` is poor for small differences
    (``|elpd_diff| < 4``) and few rows (Sivula et al. 2025).

    A fit whose sampler diagnostics failed, or with rows whose Pareto k exceeds the
    bound for its number of draws (0.7 from 2,000 draws), is compared all the same but
    marked in ``warning`` and reported by a :class:`CompareWarning`: its elpd is not
    reliable. A high Pareto k means the posterior without the row differs much from the
    full one (an influential row); the row's elpd is then overestimated, which favours
    the fit with more such rows.

    Parameters
    ----------
    fits
        Name -> fit, two or more, of the same data (``fit.data.sha256()``) and with
        the same observed signal rows.

    Returns
    -------
    pandas.DataFrame
        One row per fit, best first, with the columns of :data:`COMPARE_COLUMNS`:
        ``name``, ``elpd_loo``, ``se``, ``p_loo`` (effective number of parameters),
        ``elpd_diff`` (this fit less the best, 0 for the best), ``se_diff``,
        ``rows`` (signal rows compared), ``high_k`` (rows with a high Pareto k) and
        ``warning`` (empty when the estimate can be trusted).

    Raises
    ------
    credibility.errors.CompareError
        Fewer than two fits; a fit that is approximate (ADVI or an approximate
        update); fits of different data, or whose specs observe different rows.

    Warns
    -----
    CompareWarning
        For each fit whose estimate is unreliable (also in the ``warning`` column).

    Examples
    --------
    >>> table = compare({"ar": fit_ar, "plain": fit_plain})  # doctest: +SKIP
    >>> table[["name", "elpd_loo", "elpd_diff", "se_diff"]]  # doctest: +SKIP
    """
    _check_comparable(fits)
    loos = {name: signal_loo(fit) for name, fit in fits.items()}
    _check_same_rows(loos, fits)
    best = max(loos, key=lambda name: loos[name].elpd)
    records = []
    for name, loo in loos.items():
        diff = np.asarray(loo.elpd_i - loos[best].elpd_i, dtype=np.float64)
        bound = _k_bound(loo.n_samples)
        high_k = int((np.asarray(loo.pareto_k) > bound).sum())
        problems = list(fits[name].diagnostics.problems())
        if high_k:
            problems.append(f"{high_k} rows with Pareto k > {bound:.2f}")
        warning = "; ".join(problems)
        if warning:
            warnings.warn(f"fit {name!r}: {warning}; its elpd is not reliable",
                          CompareWarning, stacklevel=2)
        records.append({
            "name": name,
            "elpd_loo": float(loo.elpd),
            "se": float(loo.se),
            "p_loo": float(loo.p),
            "elpd_diff": float(diff.sum()),
            "se_diff": float(np.sqrt(diff.size * diff.var(ddof=1))) if name != best else 0.0,
            "rows": int(loo.n_data_points),
            "high_k": high_k,
            "warning": warning,
        })
    table = pd.DataFrame.from_records(records, columns=list(COMPARE_COLUMNS))
    return table.sort_values("elpd_loo", ascending=False, kind="stable").reset_index(drop=True)
