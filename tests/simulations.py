"""Simulated data sets that several test modules fit (synthetic, seeded)."""

from __future__ import annotations

from seeding import seed

from credibility.simulate import Simulation, simulate, synthetic_commitments

#: The signals of the two-dimension recovery specs (tests/test_dimensions_model.py and
#: tests/test_dimensions_predictor.py): strong loadings, two pure signals on each of
#: capability and willingness (one with direction -1) and one cross-loaded signal.
TWO_DIMENSION_SIGNALS = """
[[signals]]
name = "troops"
family = "amount"
dimension = "capability"
intercept = { mu = 6.0, sigma = 1.0 }
loading = 1.0
noise = 0.3
[[signals]]
name = "spending"
family = "ratio"
target = 2.0
dimension = "capability"
intercept = { mu = 0.0, sigma = 0.5 }
loading = 1.0
noise = 0.3
[[signals]]
name = "frictions"
family = "count"
dimension = "willingness"
direction = -1
intercept = { mu = 1.5, sigma = 0.5 }
loading = 1.0
noise = 0.2
[[signals]]
name = "consultation"
family = "ordinal"
levels = 4
dimension = "willingness"
loading = 2.0
[[signals]]
name = "exercises"
family = "amount"
dimension = "willingness"
also = ["capability"]
intercept = { mu = 2.0, sigma = 1.0 }
loading = 1.0
noise = 0.3
"""


def one_dimension_signals() -> str:
    """:data:`TWO_DIMENSION_SIGNALS` with every signal on one latent: the same signals,
    priors and directions, without their ``dimension`` and ``also`` keys."""
    return "".join(line + "\n" for line in TWO_DIMENSION_SIGNALS.splitlines()
                   if not line.startswith(("dimension =", "also =")))


def tiny_simulation() -> Simulation:
    """SYNTHETIC: 5 commitments in 2 alliances over 2000-2006, the default spec.

    The data of :func:`tiny_fit`. Tests that fit some small data set and do not need
    particular data fit these: a model of the same data compiles to the same numba
    code, which the second and later fits load from the compile cache (on an empty
    cache a new data set's model took 15-40 s to compile, a known one's about 7 s).
    """
    return simulate("default", synthetic_commitments(5, 2, (2000, 2006), seed=seed(3)),
                    seed=seed(3), last_period=2006)
