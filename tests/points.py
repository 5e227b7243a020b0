"""The sampler's point of a PyMC model for given values of its free variables."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt


def sampler_point(model, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The sampler's point (value variables, transformed) for values of the free
    variables on their own scale, by the free variables' names."""
    point = {}
    for rv in model.free_RVs:
        value = np.asarray(values[rv.name], dtype=np.float64)
        transform = model.rvs_to_transforms.get(rv)
        if transform is not None:
            value = transform.forward(pt.as_tensor(value), *rv.owner.inputs).eval()
        point[model.rvs_to_values[rv].name] = value
    return point
