"""The naive baseline: the measurement model written the way a user would by hand in PyMC.

Same data, same likelihood families, same priors as :mod:`credibility.measurement`,
but built the obvious way: a Python loop over alliances and commitments creating
one centred ``pm.AR`` path each (``scan`` inside), group effects as plain centred
normals, and a Python loop over signals with one likelihood term per signal. It
reports the same deterministics as our model (``credibility_cell`` standardised per
draw, ``loading`` on that scale), so ESS and R-hat are compared on the same
quantities. Used only by ``benchmarks/performance.py``.

Examples
--------
>>> from credibility.simulate import simulate
>>> model = build_naive_model(simulate("default", seed=1).data)  # doctest: +SKIP
>>> "credibility_cell" in model.named_vars  # doctest: +SKIP
True
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.transforms import ordered

from credibility.data.container import CredibilityData
from credibility.data.spec import LOG_FAMILIES
from credibility.model.index import build_index
from credibility.model.parameters import NOISE_SHAPE, signal_priors


def _ar_path(name: str, length: int, rho, innovation_sd, first_sd):
    """One centred AR(1) path of ``length`` periods (a scalar normal when length is 1)."""
    if length == 1:
        return pm.Normal(name, 0.0, first_sd, shape=1)
    return pm.AR(name, rho=[rho], sigma=innovation_sd, init_dist=pm.Normal.dist(0.0, first_sd),
                 steps=length - 1)


def build_naive_model(data: CredibilityData) -> pm.Model:
    """The hand-written baseline model of ``data`` (spec: the one it was validated against)."""
    spec = data.spec
    index = build_index(data, spec)
    priors = signal_priors(data, spec, index=index)
    p = spec.priors
    cells, acells = index.cells, index.alliance_cells
    with pm.Model() as model:
        rho_a = pm.Beta("persistence_alliance", p.persistence_alpha, p.persistence_beta)
        rho_c = pm.Beta("persistence_commitment", p.persistence_alpha, p.persistence_beta)
        sd_am = pm.HalfNormal("sd_alliance_mean", p.alliance_mean_sd)
        sd_ad = pm.HalfNormal("sd_alliance_dynamics", p.alliance_dynamics_sd)

        alliance_level = pt.zeros(acells.size)
        for k, name in enumerate(index.alliances):
            where = np.flatnonzero(acells.unit == k)
            where = where[np.argsort(acells.local[where])]
            mean = pm.Normal(f"alliance_mean_{name}", 0.0, sd_am)
            path = _ar_path(f"alliance_path_{name}", where.size, rho_a,
                            sd_ad * pt.sqrt(1.0 - rho_a**2), sd_ad)
            alliance_level = alliance_level[where].set(mean + path)

        region = [pm.Normal(f"region_{r}", 0.0, p.region_sd) for r in index.regions] \
            if spec.region_effects and len(index.regions) > 1 else None
        types = [pm.Normal(f"type_{t}", 0.0, p.type_sd) for t in index.types] \
            if spec.type_effects and len(index.types) > 1 else None

        x = pt.zeros(cells.size)
        for i, name in enumerate(index.commitments):
            where = np.flatnonzero(cells.unit == i)
            where = where[np.argsort(cells.local[where])]
            path = _ar_path(f"commitment_path_{name}", where.size, rho_c, 1.0,
                            1.0 / pt.sqrt(1.0 - rho_c**2))
            value = alliance_level[index.cell_alliance_cell[where]] + path
            if region is not None:
                value = value + region[int(index.commitment_region[i])]
            if types is not None:
                value = value + types[int(index.commitment_type[i])]
            x = x[where].set(value)

        level = x.mean()
        x = x - level
        alliance_level = alliance_level - level
        spread = x.std()
        pm.Deterministic("credibility_cell", x / spread)
        latent = pt.concatenate([x, alliance_level])

        loadings = []
        for s, signal in enumerate(index.signals):
            family = signal.family
            obs = index.families[family]
            mask = obs.signal == s
            loading = signal.direction * pm.HalfNormal(
                f"loading_{signal.name}", priors.loc[signal.name, "loading_sd"])
            loadings.append(loading)
            eta = loading * latent[obs.latent[mask]]
            value = obs.value[mask]
            if family == "ordinal":
                cut = pm.Normal(f"cutpoints_{signal.name}",
                                mu=np.linspace(-1.0, 1.0, signal.levels - 1),
                                sigma=p.cutpoint_sd, shape=signal.levels - 1,
                                transform=ordered)
                pm.OrderedLogistic(f"y_{signal.name}", eta=eta, cutpoints=cut,
                                   observed=value.astype(np.int64) - 1)
                continue
            eta = pm.Normal(f"intercept_{signal.name}",
                            priors.loc[signal.name, "intercept_mu"],
                            priors.loc[signal.name, "intercept_sigma"]) + eta
            if family in ("count", *LOG_FAMILIES):
                noise = pm.Gamma(f"noise_{signal.name}", alpha=NOISE_SHAPE,
                                 beta=NOISE_SHAPE / priors.loc[signal.name, "noise_mean"])
            if family == "count":
                pm.NegativeBinomial(f"y_{signal.name}", mu=obs.exposure[mask] * pt.exp(eta),
                                    alpha=1.0 / noise, observed=value.astype(np.int64))
            elif family in LOG_FAMILIES:
                pm.LogNormal(f"y_{signal.name}", mu=eta, sigma=noise,
                             observed=value / signal.target)
            elif family == "proportion":
                phi = pm.Gamma(f"precision_{signal.name}", p.proportion_precision_alpha,
                               p.proportion_precision_beta)
                mean = pm.math.invlogit(eta)
                pm.Beta(f"y_{signal.name}", alpha=mean * phi, beta=(1.0 - mean) * phi,
                        observed=value)
            elif family == "binary":
                pm.Bernoulli(f"y_{signal.name}", logit_p=eta, observed=value.astype(np.int64))
            elif family == "binomial":
                pm.Binomial(f"y_{signal.name}", n=obs.trials[mask].astype(np.int64),
                            logit_p=eta, observed=value.astype(np.int64))
        pm.Deterministic("loading", pt.stack(loadings) * spread)
    return model
