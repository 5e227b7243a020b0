"""Update a fit as new signal data arrive: merge, refit, compare.

Three steps, each a function:

1. :func:`merge_signals` checks the incoming rows with the same parser as the stored
   data and merges them into it, recording in a *ledger* what happened to every
   incoming row: ``added`` (a new observation), ``unchanged`` (already stored with
   the same value) or ``revised`` (a correction, only with ``revise=True``). A stored
   value is never overwritten silently.
2. :func:`update_fit` refits on the merged data. ``method="exact"`` samples the full
   posterior again, with the spec and sampler settings of the previous fit, so its
   result is a from-scratch fit of the merged data (agreeing with one within Monte
   Carlo error). ``method="approximate"`` (rows in later periods only) uses the
   previous posterior as a moment-matched prior and samples only the new periods
   (:mod:`credibility.analysis.approximate`); it is labelled approximate wherever shown.
3. :func:`credibility_diff` compares the credibility of two fits (say, two versions
   in a :class:`~credibility.results.store.PosteriorStore`) commitment by commitment.

New deterrence cases, and outcomes of open cases as they become known, are merged by
:func:`merge_cases` (its own ledger: ``added``, ``unchanged``, ``resolved``,
``revised``); :func:`update_fit` then refits the outcome model (:func:`refit_outcome`).

:func:`warm_start_values` computes initial values for the new fit from the previous
posterior (docs/updating.md, "Warm start").

The merges are modules of their own (docs/decisions.md, decision 59):
:mod:`~credibility.analysis.signal_merge` and :mod:`~credibility.analysis.case_merge`;
their public names are importable from here, as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from credibility import predictor
from credibility.analysis.case_merge import CASE_LEDGER_COLUMNS, CaseMerge, merge_cases
from credibility.analysis.signal_merge import (
    LEDGER_COLUMNS,
    MergeResult,
    Table,
    _ledger,
    merge_signals,
)
from credibility.data.container import CredibilityData
from credibility.errors import CredibilityError
from credibility.inference.sampling import SamplerConfig
from credibility.measurement import build_measurement_model
from credibility.model.index import UnitCells, build_index
from credibility.results.fitting import CredibilityModel, FitResult

__all__ = [
    "CASE_LEDGER_COLUMNS",
    "DIFF_COLUMNS",
    "FIT_SETTINGS",
    "LEDGER_COLUMNS",
    "UPDATE_METHODS",
    "CaseMerge",
    "MergeResult",
    "Table",
    "UpdateError",
    "UpdateResult",
    "credibility_diff",
    "merge_cases",
    "merge_signals",
    "refit_outcome",
    "refit_settings",
    "update_fit",
    "warm_start_values",
]

#: Update methods: a full refit, or the fast filter of :mod:`credibility.analysis.approximate`.
UPDATE_METHODS = ("exact", "approximate")
#: Columns of :func:`credibility_diff`.
DIFF_COLUMNS = ("commitment_id", "period", "mean_a", "mean_b", "change", "change_q05",
                "change_q95", "p_up")
#: Settings of a fit that a refit reuses: the sampler configuration
#: (:class:`~credibility.inference.config.SamplerConfig`) and the outcome mode.
FIT_SETTINGS = (*(f.name for f in dataclasses.fields(SamplerConfig)), "outcome")


class UpdateError(CredibilityError):
    """An update cannot be done as asked (unknown method, nothing new, nothing to compare)."""


@dataclass(frozen=True, eq=False)
class UpdateResult:
    """An updated fit, the merges it was fitted on, and how it was updated.

    ``cases`` is the merge of incoming deterrence cases (``None`` when the update had
    none); ``merge`` that of the signal rows (an empty ledger when it had none).
    """

    fit: FitResult
    merge: MergeResult
    method: str
    cases: CaseMerge | None = None

    @property
    def ledger(self) -> pd.DataFrame:
        """The merge's ledger (see :class:`MergeResult`)."""
        return self.merge.ledger


# --------------------------------------------------------------------------- refitting


def refit_settings(settings: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """Sampler settings for a refit: those of the previous fit, except where overridden.

    ``settings`` is a :attr:`FitResult.settings` dict; only the keys of
    :data:`FIT_SETTINGS` are taken (it also records e.g. ``unused_signals``).
    A setting it lacks takes :class:`~credibility.inference.config.SamplerConfig`'s default
    (:meth:`~credibility.inference.config.SamplerConfig.from_dict`: a fit recorded before
    runs could continue until reliable had a fixed length, and its refit too);
    an override of ``None`` keeps the previous value.

    Examples
    --------
    >>> previous = {"draws": 500, "tune": 500, "chains": 2, "seed": 7, "backend": "nutpie",
    ...             "target_accept": 0.9, "outcome": "two_stage", "unused_signals": [],
    ...             "until_reliable": True}
    >>> chosen = refit_settings(previous, draws=1000, seed=None)
    >>> chosen["draws"], chosen["seed"], chosen["outcome"], chosen["until_reliable"]
    (1000, 7, 'two_stage', True)
    >>> refit_settings({})["until_reliable"]
    False
    """
    unknown = sorted(set(overrides) - set(FIT_SETTINGS))
    if unknown:
        raise UpdateError(f"unknown sampler setting(s) {', '.join(unknown)}; expected "
                          f"{', '.join(FIT_SETTINGS)}")
    chosen = {**SamplerConfig.from_dict(settings).to_dict(),
              "outcome": settings.get("outcome", "auto")}
    chosen.update({name: value for name, value in overrides.items() if value is not None})
    return chosen


def update_fit(
    fit: FitResult,
    new_signals: Table | None = None,
    *,
    new_cases: Table | None = None,
    method: str = "exact",
    revise: bool = False,
    new_commitments: Table | None = None,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    seed: int | None = None,
    progress: bool = True,
    on_stage: Callable[[str], None] | None = None,
) -> UpdateResult:
    """Merge new signal rows and deterrence cases into a fit's data and refit.

    ``method="exact"`` refits the full posterior on all the merged data with the
    previous fit's spec and sampler settings (draws, tune, chains, seed, backend,
    target_accept; the first four can be overridden here): the result is a
    from-scratch fit of the merged data. ``method="approximate"`` samples only the
    periods after the last one with data (:mod:`credibility.analysis.approximate`). See
    :func:`merge_signals` for ``revise`` and ``new_commitments``; ``progress`` and
    ``on_stage`` go to :meth:`CredibilityModel.fit`.

    ``new_cases`` (the cases table layout) adds deterrence cases and outcomes of open
    cases (:func:`merge_cases`; ``revise`` applies to them too), and the outcome model
    is refitted on the merged cases (:func:`refit_outcome`). A two-stage fit's
    measurement posterior does not depend on the cases, so an update that brings
    cases and no signal rows keeps it and refits only the outcome model: what a fit
    from scratch of the merged data would do. A joint fit, or an exact update of an
    approximate fit, is refitted in full. A fit fitted without an outcome model
    (``outcome="none"``) gets one when the merged cases have outcomes.

    Raises :class:`UpdateError` for an unknown method or when nothing incoming
    changes the data.

    Examples
    --------
    >>> result = update_fit(fit, "signals_2026.csv")  # doctest: +SKIP
    >>> result.merge.counts(), result.fit.diagnostics.ok  # doctest: +SKIP
    ({'added': 180, 'unchanged': 0, 'revised': 0}, True)
    >>> update_fit(fit, "signals_2026.csv", method="approximate").fit.is_approximate
    ... # doctest: +SKIP
    True
    >>> update_fit(fit, new_cases="outcomes_2026.csv").cases.counts()  # doctest: +SKIP
    {'added': 2, 'unchanged': 0, 'resolved': 3, 'revised': 0}
    """
    if method not in UPDATE_METHODS:
        raise UpdateError(f"unknown update method {method!r}; expected one of: "
                          f"{', '.join(UPDATE_METHODS)}")
    merge, cases = _merges(fit.data, new_signals, new_cases, revise, new_commitments)
    data = merge.data if cases is None else cases.data
    mode = fit.settings.get("outcome", "auto")
    if cases is not None and mode == "none":
        mode = "auto"
    if not merge.changed and mode != "joint" and not (method == "exact" and fit.is_approximate):
        refit = refit_outcome(dataclasses.replace(fit, data=data), progress=progress,
                              on_stage=on_stage)
        return UpdateResult(fit=refit, merge=merge, cases=cases,
                            method="approximate" if refit.is_approximate else "exact")
    if method == "approximate":
        if cases is not None and mode == "joint":
            raise UpdateError("a joint fit's outcome model is part of its measurement model, "
                              "so new cases need the exact update")
        updated = _approximate(fit, merge, data, seed=seed, progress=progress,
                               on_stage=on_stage)
        if cases is not None:
            updated = refit_outcome(updated, progress=progress, on_stage=on_stage)
        return UpdateResult(fit=updated, merge=merge, cases=cases, method=method)
    settings = refit_settings(fit.settings, draws=draws, tune=tune, chains=chains, seed=seed)
    settings.pop("outcome")
    refit = CredibilityModel(fit.spec).fit(
        data, sampler=SamplerConfig.from_dict(settings), outcome=mode,
        progress=progress, on_stage=on_stage,
    )
    return UpdateResult(fit=refit, merge=merge, cases=cases, method=method)


def _merges(
    data: CredibilityData, new_signals: Table | None, new_cases: Table | None, revise: bool,
    new_commitments: Table | None,
) -> tuple[MergeResult, CaseMerge | None]:
    """The merges of an update (signal rows, then cases; a merge of no rows when only cases
    come), checked to change something."""
    if new_signals is None and new_cases is None:
        raise UpdateError("nothing to update: give new signal rows, new cases or both")
    if new_signals is None and new_commitments is not None:
        raise UpdateError("new commitments come with their signal rows: give those too")
    merge = (merge_signals(data, new_signals, revise=revise, new_commitments=new_commitments)
             if new_signals is not None else MergeResult(
                 data=data, ledger=_ledger(data.signals, data.signals.iloc[:0],
                                           np.zeros(0, dtype=np.int64))[0]))
    cases = None if new_cases is None else merge_cases(merge.data, new_cases, revise=revise)
    if not merge.changed and (cases is None or not cases.changed):
        incoming = [f"{len(merge.ledger)} incoming rows"] if new_signals is not None else []
        incoming += [f"{len(cases.ledger)} incoming cases"] if cases is not None else []
        raise UpdateError(f"nothing to update: all {' and '.join(incoming)} are already "
                          "stored with the same values")
    return merge, cases


def refit_outcome(fit: FitResult, *, progress: bool = True,
                  on_stage: Callable[[str], None] | None = None) -> FitResult:
    """``fit`` with its two-stage outcome model sampled again on the cases of ``fit.data``.

    The measurement posterior is kept; stage 2 is sampled as
    :meth:`CredibilityModel.fit` samples it (the fit's sampler settings, seed + 1, as
    many chains and draws as the measurement posterior holds), so for an exact fit the
    result is the two-stage fit of ``fit.data`` from scratch. Without a case with an
    observed outcome the result has no outcome model. A joint fit is refused (its
    outcome model is part of the measurement model: refit it).

    Examples
    --------
    >>> merged = merge_cases(fit.data, "outcomes_2026.csv")  # doctest: +SKIP
    >>> refit_outcome(dataclasses.replace(fit, data=merged.data)).predict()  # doctest: +SKIP
    """
    if fit.outcome_mode == "joint":
        raise UpdateError("a joint fit's outcome model is part of its measurement model: "
                          "refit it (the exact update) instead of refitting the outcome model")
    data = fit.data
    tree = fit.posterior.copy()
    has_outcomes = data.cases is not None and bool(data.cases["outcome"].notna().any())
    if not has_outcomes:
        if "outcome" in tree.children:
            del tree["outcome"]
        return dataclasses.replace(fit, posterior=tree, outcome_diagnostics=None,
                                   settings={**fit.settings, "outcome": "none"})
    index = fit.index
    design = predictor.outcome_design(data, index)
    credibility = predictor.outcome_latent(fit.posterior["posterior"].to_dataset())
    if on_stage is not None:
        on_stage(f"sampling the outcome model ({len(design.case_ids)} cases, two-stage)")
    group, diagnostics = predictor.fit_two_stage(
        credibility, index, design, fit.spec.outcome,
        sampler=predictor.stage_two_sampler(fit.sampler_config, credibility), progress=progress)
    tree["outcome"] = xr.DataTree(group)
    diagnostics.warn("outcome model (stage 2) posterior")
    return dataclasses.replace(fit, posterior=tree, outcome_diagnostics=diagnostics,
                               settings={**fit.settings, "outcome": "two_stage"})


def _approximate(fit: FitResult, merge: MergeResult, data: CredibilityData, *,
                 seed: int | None, progress: bool,
                 on_stage: Callable[[str], None] | None) -> FitResult:
    """The approximate update of ``fit`` to ``data``, after checking the merge only adds
    rows in the last periods with data (the smoothed ones) or later, and no commitments."""
    from credibility.analysis.approximate import (
        SMOOTHED_PERIODS,
        ApproximateUpdateError,
        approximate_update,
        observed_until,
    )

    ledger = merge.ledger
    last = observed_until(fit.data)
    earliest = max(last - SMOOTHED_PERIODS + 1, fit.data.first_period)
    revised = ledger[ledger["action"] == "revised"]
    early = ledger[(ledger["action"] == "added") & (ledger["period"] < earliest)]
    if len(revised):
        raise ApproximateUpdateError(
            f"row {int(revised['row'].iloc[0])} revises a stored value; the approximate update "
            "cannot take back what a stored row said: use the exact update for corrections")
    if len(early) or merge.added_commitments:
        what = (f"row {int(early['row'].iloc[0])} is for period {int(early['period'].iloc[0])}"
                if len(early) else "new commitments are added")
        raise ApproximateUpdateError(
            f"{what}; the approximate update only adds rows from {earliest} on (the last "
            f"{SMOOTHED_PERIODS} periods with data, to {last}, and later ones) for the fitted "
            "commitments: use the exact update")
    if on_stage is not None:
        on_stage("sampling the new periods (approximate update)")
    return approximate_update(fit, data, seed=seed, progress=progress)


def warm_start_values(fit: FitResult, data: CredibilityData) -> dict[str, np.ndarray]:
    """Initial values for the free variables of ``data``'s model, from ``fit``'s posterior.

    Each free variable the previous posterior holds starts at its posterior mean,
    aligned by label: by coordinate (signal, alliance, region, type) and, for the
    per-cell states and innovations, by (unit, period). Cells the previous fit did
    not have (new periods, new commitments) take the unit's last known value, or
    0 for a new unit; a new label of a per-label variable takes the mean of the
    known ones. Spectral state coefficients (``commitment_spectral``) are kept only
    when the commitments and the longest window are unchanged: a new period changes
    the basis they are coefficients of. Variables that cannot be aligned are left
    out (the sampler's default initialisation applies). The values are on the variables'
    own (constrained) scale, the form ``nutpie.compile_pymc_model(initial_points=...)``
    and ``pm.sample(initvals=...)`` take.

    Examples
    --------
    >>> values = warm_start_values(fit, merged.data)  # doctest: +SKIP
    >>> sorted(values)[:3]  # doctest: +SKIP
    ['alliance_effect_raw', 'alliance_innovation', 'commitment_state']
    """
    model = build_measurement_model(data, fit.spec)
    shapes = model.eval_rv_shapes()
    posterior = fit.posterior["posterior"].to_dataset()
    old_index, new_index = fit.index, build_index(data, fit.spec)
    cell_dims = {"cell": (old_index.cells, new_index.cells, old_index.commitments,
                          new_index.commitments),
                 "alliance_cell": (old_index.alliance_cells, new_index.alliance_cells,
                                   old_index.alliances, new_index.alliances)}
    values = {}
    for rv in model.free_RVs:
        name = rv.name
        if name not in posterior:
            continue
        mean = posterior[name].mean(("chain", "draw"))
        dims = model.named_vars_to_dims.get(name) or ()
        shape = tuple(int(s) for s in shapes[name])
        if name == "commitment_spectral":
            # DCT coefficients of each commitment's padded window (decision 17): they
            # mean the same only for the same commitments and the same longest window.
            same = (old_index.commitments == new_index.commitments
                    and old_index.cells.max_length == new_index.cells.max_length)
            if not same:
                continue
            value = mean.to_numpy()
        elif len(dims) == 1 and dims[0] in cell_dims:
            old_cells, new_cells, old_units, new_units = cell_dims[dims[0]]
            value = _align_cells(mean.to_numpy(), old_cells, new_cells, old_units, new_units,
                                 fit.data.first_period, data.first_period)
        elif dims and all(d in model.coords for d in dims) and set(dims) <= set(mean.dims):
            aligned = mean.transpose(*dims).reindex({d: list(model.coords[d]) for d in dims})
            value = aligned.to_numpy()
            if np.isnan(value).all():
                continue
            value = np.where(np.isnan(value), np.nanmean(value), value)
        else:
            value = mean.to_numpy()
        if value.shape != shape:
            continue
        values[name] = np.asarray(value, dtype=np.float64)
    return values


def _align_cells(
    old_values: np.ndarray, old: UnitCells, new: UnitCells, old_units: tuple[str, ...],
    new_units: tuple[str, ...], old_first: int, new_first: int,
) -> np.ndarray:
    """Per-cell values moved from the old cell order to the new one, by (unit, period)."""
    old_key = pd.MultiIndex.from_arrays([np.asarray(old_units)[old.unit], old.period + old_first])
    known = pd.Series(old_values, index=old_key)
    new_key = pd.MultiIndex.from_arrays([np.asarray(new_units)[new.unit], new.period + new_first])
    moved = pd.Series(known.reindex(new_key).to_numpy(), index=new.unit)
    # New cells continue their unit's last known value; a new unit starts at 0.
    return moved.groupby(level=0).ffill().fillna(0.0).to_numpy()


# --------------------------------------------------------------------------- comparing


def credibility_diff(
    fit_a: FitResult, fit_b: FitResult, period: int | None = None, *, seed: int = 0
) -> pd.DataFrame:
    """Per commitment, how credibility in one period changed from fit A to fit B.

    ``period`` defaults to the last period in which some commitment is active in
    both fits. For each commitment active then in both, the columns
    :data:`DIFF_COLUMNS` give the posterior means in A and B (z scale), the mean
    change B - A with its 90 % interval, and ``p_up``, the share of draws in which
    B > A. The two posteriors are treated as independent: their draws are paired
    by index after flattening chain x draw, and when their numbers differ the
    shorter set is resampled with replacement (``seed``) to the longer's size.
    ``p_up`` is therefore the probability that B's credibility exceeds A's
    *under independent posteriors*, not a paired within-model probability.

    Examples
    --------
    >>> diff = credibility_diff(store.load("v0001"), store.load("v0002"))  # doctest: +SKIP
    >>> list(diff.columns)  # doctest: +SKIP
    ['commitment_id', 'period', 'mean_a', 'mean_b', 'change', 'change_q05', 'change_q95', 'p_up']
    """
    a = fit_a.posterior["posterior"]["credibility"]
    b = fit_b.posterior["posterior"]["credibility"]
    active_a, active_b = _active(a), _active(b)
    common = np.intersect1d(a["period"].to_numpy(), b["period"].to_numpy())
    if period is None:
        shared = [p for p in common
                  if _both_active(active_a, active_b, int(p)).any()]
        if not shared:
            raise UpdateError("the two fits have no period in which a commitment is active in "
                              "both; nothing to compare")
        period = int(shared[-1])
    elif period not in common:
        raise UpdateError(
            f"period {period} is not in both fits (A: {int(a['period'].min())}.."
            f"{int(a['period'].max())}, B: {int(b['period'].min())}..{int(b['period'].max())})"
        )
    both = _both_active(active_a, active_b, int(period))
    commitments = list(both.index[both.to_numpy()])
    if not commitments:
        raise UpdateError(f"no commitment is active in period {period} in both fits")
    draws_a = _flat_draws(a.sel(period=period, commitment=commitments))
    draws_b = _flat_draws(b.sel(period=period, commitment=commitments))
    draws_a, draws_b = _match_sizes(draws_a, draws_b, seed)
    change = draws_b - draws_a
    q05, q95 = np.quantile(change, [0.05, 0.95], axis=0)
    return pd.DataFrame({
        "commitment_id": commitments,
        "period": np.int64(period),
        "mean_a": draws_a.mean(axis=0),
        "mean_b": draws_b.mean(axis=0),
        "change": change.mean(axis=0),
        "change_q05": q05,
        "change_q95": q95,
        "p_up": (change > 0).mean(axis=0),
    }, columns=list(DIFF_COLUMNS))


def _active(credibility: xr.DataArray) -> pd.DataFrame:
    """``commitment x period`` table of active cells (the same in every draw)."""
    first = credibility.isel(chain=0, draw=0).transpose("commitment", "period")
    return pd.DataFrame(first.notnull().to_numpy(), index=first["commitment"].to_numpy(),
                        columns=first["period"].to_numpy())


def _both_active(active_a: pd.DataFrame, active_b: pd.DataFrame, period: int) -> pd.Series:
    """Commitments of A (in A's order) active in ``period`` in both fits."""
    in_b = active_b[period].reindex(active_a.index, fill_value=False)
    return active_a[period] & in_b


def _flat_draws(values: xr.DataArray) -> np.ndarray:
    return values.stack(sample=("chain", "draw")).transpose("sample", "commitment").to_numpy()


def _match_sizes(a: np.ndarray, b: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Resample the shorter draw set with replacement to the longer one's size."""
    if len(a) == len(b):
        return a, b
    rng = np.random.default_rng(seed)
    if len(a) < len(b):
        return a[rng.integers(0, len(a), size=len(b))], b
    return a, b[rng.integers(0, len(b), size=len(a))]
