"""The model index: validated data as the arrays a model is built from.

The cells of every unit's active window (:class:`UnitCells`), the observed rows of
each likelihood family (:class:`FamilyObservations`), the groups, and the
coordinates of a PyMC model (:func:`model_coords`). Built once per fit
(``FitResult.index``, decision 49); every model of the package is built from it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from credibility.data.container import CredibilityData
from credibility.data.spec import FAMILIES, ModelSpec, SignalSpec
from credibility.errors import SpecError

if TYPE_CHECKING:
    import pandas as pd

#: Families whose signals carry a per-signal noise / overdispersion parameter.
_NOISE_FAMILIES = ("count", "amount", "ratio")


@dataclass(frozen=True)
class UnitCells:
    """Flat index of the active (unit, period) cells of one level.

    ``unit[c]`` is the unit's position, ``period[c]`` the position of its period in
    the global period grid and ``local[c]`` the period's position in the unit's own
    window (0 = first active period).
    """

    unit: np.ndarray
    period: np.ndarray
    local: np.ndarray
    n_units: int

    @property
    def size(self) -> int:
        """Number of active cells."""
        return int(self.unit.size)

    @property
    def max_length(self) -> int:
        """Length of the longest active window."""
        return int(self.local.max()) + 1 if self.size else 0


@dataclass(frozen=True)
class FamilyObservations:
    """Observed rows of one likelihood family, as index arrays.

    ``latent[o]`` indexes the stacked latent vector ``[x cells, alliance cells]``;
    ``signal[o]`` is the signal's position in :attr:`ModelIndex.signals`; ``row[o]``
    is the observation's row in ``data.signals`` (the order of the likelihood's
    pointwise terms, used to pick out single rows: scenarios, posterior checks).
    ``previous[o]`` is the position in these arrays of the same signal's latest
    earlier row on the same unit (-1 for a unit's first) and ``gap[o]`` the periods
    between them (for autocorrelated residuals; ``None`` in a family without them).
    """

    family: str
    row: np.ndarray
    latent: np.ndarray
    signal: np.ndarray
    value: np.ndarray
    trials: np.ndarray
    exposure: np.ndarray
    previous: np.ndarray | None = None
    gap: np.ndarray | None = None

    @property
    def size(self) -> int:
        """Number of observations."""
        return int(self.value.size)


@dataclass(frozen=True)
class ModelIndex:
    """Everything the model needs from the data, as integer index arrays."""

    commitments: tuple[str, ...]
    alliances: tuple[str, ...]
    regions: tuple[str, ...]
    types: tuple[str, ...]
    periods: np.ndarray
    commitment_alliance: np.ndarray
    commitment_region: np.ndarray
    commitment_type: np.ndarray
    cells: UnitCells
    alliance_cells: UnitCells
    cell_alliance_cell: np.ndarray
    signals: tuple[SignalSpec, ...]
    families: dict[str, FamilyObservations]
    unused_signals: tuple[str, ...]


def _cells(starts: np.ndarray, ends: np.ndarray, first_period: int) -> UnitCells:
    lengths = ends - starts + 1
    unit = np.repeat(np.arange(starts.size), lengths)
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    local = np.arange(unit.size) - offsets
    period = starts[unit] - first_period + local
    return UnitCells(unit=unit, period=period, local=local, n_units=int(starts.size))


def _lookup(cells: UnitCells, n_periods: int) -> np.ndarray:
    table = np.full((cells.n_units, n_periods), -1, dtype=np.int64)
    table[cells.unit, cells.period] = np.arange(cells.size)
    return table


def _fitted_signals(data: CredibilityData, spec: ModelSpec) -> tuple[SignalSpec, ...]:
    """The fitted spec's signals, checked against the spec the data were validated with.

    A spec may change priors, directions or drop signals, but every signal present
    in the data must exist in it with the same family, level, target and levels,
    since the data were validated against those.
    """
    fitted = {s.name: s for s in spec.signals}
    for name in data.signals["signal"].unique():
        old = data.spec.signal(name)
        new = fitted.get(name)
        if new is None:
            continue
        for attribute in ("family", "level", "target", "levels"):
            if getattr(old, attribute) != getattr(new, attribute):
                raise SpecError(
                    f"{spec.source}: signal {name!r} has {attribute} = "
                    f"{getattr(new, attribute)!r}, but the data were validated against "
                    f"{data.spec.source} where it is {getattr(old, attribute)!r}; reload the "
                    "data with this spec"
                )
    return spec.signals


def previous_rows(unit: np.ndarray, signal: np.ndarray, period: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's predecessor: the same unit's and signal's row in the latest earlier period.

    Returns ``(previous, gap)``: ``previous[o]`` is the predecessor's position (-1 for
    a unit's first row of the signal) and ``gap[o]`` the periods since it (0 there).

    Examples
    --------
    >>> previous_rows(np.array(["a", "b", "a", "a"]), np.zeros(4, int), np.array([3, 0, 0, 1]))
    (array([ 3, -1, -1,  2]), array([2, 0, 0, 1]))
    """
    order = np.lexsort((period, signal, unit))
    previous = np.full(unit.size, -1, dtype=np.int64)
    gap = np.zeros(unit.size, dtype=np.int64)
    same = (unit[order][1:] == unit[order][:-1]) & (signal[order][1:] == signal[order][:-1])
    current, before = order[1:][same], order[:-1][same]
    previous[current] = before
    gap[current] = period[current] - period[before]
    return previous, gap


def build_index(data: CredibilityData, spec: ModelSpec | None = None) -> ModelIndex:
    """Turn validated data into the index arrays of the measurement model.

    ``spec`` (default: the spec the data were validated against) decides which
    signals enter and with which direction and priors; signals it leaves out are
    dropped from the model.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> index = build_index(load_dataset("demo"))
    >>> index.cells.size == int((index.cells.local == 0).sum() + (index.cells.local > 0).sum())
    True
    >>> sorted(index.families)[:2]
    ['amount', 'binary']
    """
    com = data.commitments
    commitments = tuple(com["commitment_id"])
    alliances = tuple(data.alliances)
    regions = tuple(data.regions)
    types = tuple(data.types)
    periods = data.periods
    first = int(data.first_period)

    alliance_pos = {a: k for k, a in enumerate(alliances)}
    commitment_alliance = com["alliance"].map(alliance_pos).to_numpy(np.int64)
    commitment_region = com["region"].map({r: j for j, r in enumerate(regions)}).to_numpy(np.int64)
    commitment_type = com["type"].map({y: j for j, y in enumerate(types)}).to_numpy(np.int64)

    cells = _cells(com["start"].to_numpy(np.int64), com["end"].to_numpy(np.int64), first)
    windows = data.alliance_windows.set_index("alliance").loc[list(alliances)]
    alliance_cells = _cells(
        windows["start"].to_numpy(np.int64), windows["end"].to_numpy(np.int64), first
    )
    alliance_table = _lookup(alliance_cells, periods.size)
    cell_alliance_cell = alliance_table[commitment_alliance[cells.unit], cells.period]

    spec = spec or data.spec
    declared = _fitted_signals(data, spec)
    sig = data.signals[data.signals["signal"].isin([s.name for s in declared])]
    present = set(sig["signal"].unique())
    signals = tuple(s for s in declared if s.name in present)
    unused = tuple(s.name for s in declared if s.name not in present)

    unit, latent, period_pos = _row_positions(
        sig, commitments, alliance_pos, cells, _lookup(cells, periods.size), alliance_table,
        first)
    families = _family_observations(sig, signals, unit, latent, period_pos)
    return ModelIndex(
        commitments=commitments,
        alliances=alliances,
        regions=regions,
        types=types,
        periods=periods,
        commitment_alliance=commitment_alliance,
        commitment_region=commitment_region,
        commitment_type=commitment_type,
        cells=cells,
        alliance_cells=alliance_cells,
        cell_alliance_cell=cell_alliance_cell,
        signals=signals,
        families=families,
        unused_signals=unused,
    )


def _row_positions(
    sig: pd.DataFrame, commitments: tuple[str, ...], alliance_pos: dict[str, int],
    cells: UnitCells, cell_table: np.ndarray, alliance_table: np.ndarray, first: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each signal row's unit (commitments first, then alliances after them), its entry
    in the likelihood's latent (commitment cells, then alliance cells) and its period's
    position."""
    commitment_pos = {c: i for i, c in enumerate(commitments)}
    period_pos = sig["period"].to_numpy(np.int64) - first
    is_alliance = (sig["level"] == "alliance").to_numpy()
    com_rows = ~is_alliance
    unit = np.empty(len(sig), dtype=np.int64)
    unit[com_rows] = sig.loc[com_rows, "commitment_id"].map(commitment_pos).to_numpy(np.int64)
    unit[is_alliance] = sig.loc[is_alliance, "alliance"].map(alliance_pos).to_numpy(np.int64)
    latent = np.empty(len(sig), dtype=np.int64)
    latent[com_rows] = cell_table[unit[com_rows], period_pos[com_rows]]
    latent[is_alliance] = cells.size + alliance_table[unit[is_alliance], period_pos[is_alliance]]
    unit[is_alliance] += len(commitments)
    return unit, latent, period_pos


def _family_observations(
    sig: pd.DataFrame, signals: tuple[SignalSpec, ...], unit: np.ndarray, latent: np.ndarray,
    period_pos: np.ndarray,
) -> dict[str, FamilyObservations]:
    """The signal rows of each family present, in the order of ``FAMILIES``; a family
    with residual persistences has each row's predecessor (:func:`previous_rows`)."""
    signal_pos = {s.name: j for j, s in enumerate(signals)}
    family = sig["signal"].map({s.name: s.family for s in signals}).to_numpy()
    signal_index = sig["signal"].map(signal_pos).to_numpy(np.int64)
    families = {}
    for name in FAMILIES:
        rows = family == name
        if rows.any():
            previous = gap = None
            if any(s.residual_persistence for s in signals if s.family == name):
                previous, gap = previous_rows(unit[rows], signal_index[rows], period_pos[rows])
            families[name] = FamilyObservations(
                family=name,
                row=sig.index.to_numpy(np.int64)[rows],
                latent=latent[rows],
                signal=signal_index[rows],
                value=sig["value"].to_numpy(np.float64)[rows],
                trials=sig["trials"].to_numpy(np.float64)[rows],
                exposure=sig["exposure"].to_numpy(np.float64)[rows],
                previous=previous,
                gap=gap,
            )
    return families


def model_coords(index: ModelIndex) -> dict[str, list]:
    """The coordinates of a measurement model of ``index``: units, groups, cells and the
    signals that have each kind of per-signal parameter.

    Parameters
    ----------
    index : ModelIndex
        The model's index (:func:`build_index`).

    Returns
    -------
    dict
        Dimension name to its labels, for ``pm.Model(coords=...)``.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> coords = model_coords(build_index(load_dataset("demo")))
    >>> coords["signal_ordinal"]
    ['consultation']
    """
    signals = index.signals
    return {
        "commitment": list(index.commitments),
        "alliance": list(index.alliances),
        "region": list(index.regions),
        "type": list(index.types),
        "signal": [s.name for s in signals],
        "signal_intercept": [s.name for s in signals if s.family != "ordinal"],
        "signal_noise": [s.name for s in signals if s.family in _NOISE_FAMILIES],
        "signal_proportion": [s.name for s in signals if s.family == "proportion"],
        "signal_ordinal": [s.name for s in signals if s.family == "ordinal"],
        "signal_residual": [s.name for s in signals if s.residual_persistence],
        "cell": np.arange(index.cells.size),
        "alliance_cell": np.arange(index.alliance_cells.size),
    }


def warn_unused_signals(index: ModelIndex) -> None:
    """Warn (``UserWarning``) that signals the spec declares but the data lack are left
    out of the model.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> data = load_dataset("demo")
    >>> warn_unused_signals(build_index(data, data.spec))  # every signal has rows: silent
    """
    if index.unused_signals:
        warnings.warn(
            "signals declared in the spec but absent from the data are left out of the "
            f"model: {', '.join(index.unused_signals)}",
            stacklevel=3,
        )
