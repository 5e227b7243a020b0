"""Simulated data sets that several test modules fit (synthetic, seeded)."""

from __future__ import annotations

from seeding import seed

from credibility.simulate import Simulation, simulate, synthetic_commitments


def tiny_simulation() -> Simulation:
    """SYNTHETIC: 5 commitments in 2 alliances over 2000-2006, the default spec.

    The data of :func:`tiny_fit`. Tests that fit some small data set and do not need
    particular data fit these: a model of the same data compiles to the same numba
    code, which the second and later fits load from the compile cache (on an empty
    cache a new data set's model took 15-40 s to compile, a known one's about 7 s).
    """
    return simulate("default", synthetic_commitments(5, 2, (2000, 2006), seed=seed(3)),
                    seed=seed(3), last_period=2006)
