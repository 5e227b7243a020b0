"""What the fused kernels share: the names of their data, their fast-math flags, the
version their compiled code is cached under, and the checks of their row positions.

The kernels do not check bounds, so :func:`_check_positions` checks every position array
before a kernel is built into a graph; :func:`_rows` makes a named data constant of one.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytensor.tensor as pt

#: Names of the data constants of :func:`family_logp` start with this, then the
#: family and the argument (``"data:count:value"``): a model compiled once can take
#: other data of the same layout by name (``credibility.validation``).
DATA_PREFIX = "data:"


_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# Fast-math flags that leave infinities, NaNs and the order of the row sums alone:
# no signed zeros, reciprocals and fused multiply-adds allowed.
_FASTMATH = {"nsz", "arcp", "contract"}


# numba caches the compiled model with a kernel's Op in it under a key made of the Op's
# props and this number: the source of the kernels (every module of this folder), so
# that editing any of them recompiles.
_CACHE_VERSION = int(hashlib.sha256(b"".join(
    path.read_bytes() for path in sorted(Path(__file__).parent.glob("*.py")))).hexdigest()[:12],
    16)


def _rows(array: np.ndarray, dtype: type, name: str) -> pt.TensorConstant:
    return pt.constant(np.ascontiguousarray(array, dtype=dtype), name=f"{DATA_PREFIX}{name}")


def _check_positions(caller: str, shape: tuple[int, ...],
                     **positions: tuple[np.ndarray, int | None]) -> None:
    """The kernels do not check bounds: every position array must have ``shape`` and
    point inside ``[0, length)`` (where that length is known, not ``None``)."""
    for name, (position, length) in positions.items():
        position = np.asarray(position)
        if position.shape != shape:
            raise ValueError(f"{caller}: {name} has shape {position.shape}, expected {shape}")
        if position.size and (position.min() < 0
                              or (length is not None and position.max() >= length)):
            raise ValueError(f"{caller}: {name} must lie in [0, {length}), got "
                             f"[{position.min()}, {position.max()}]")
