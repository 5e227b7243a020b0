"""PyTensor's Python implementations as a compile mode for the tests: no compilation.

Tests that check the value of a log density (not a compiler) evaluate it this way:
compiling a measurement model with numba took 10-40 s per model on an empty compile
cache, and a test evaluates it once or a few times.
"""

from __future__ import annotations

from pytensor import scalar
from pytensor.compile.mode import get_mode
from pytensor.graph.rewriting.basic import in2out, node_rewriter
from pytensor.tensor.elemwise import Elemwise


@node_rewriter([Elemwise])
def _split_wide_sums(fgraph, node):
    """An addition or product of more operands than NumPy's ufuncs take (32, outputs
    included), as two halves."""
    if len(node.inputs) + len(node.outputs) <= 32 or not isinstance(
            node.op.scalar_op, (scalar.Add, scalar.Mul)):
        return None
    half = len(node.inputs) // 2
    return [node.op(node.op(*node.inputs[:half]), node.op(*node.inputs[half:]))]


#: PyTensor's Python implementations (mode FAST_COMPILE, no compilation), with the
#: sums of a model's many log-density terms split so that NumPy can evaluate them.
PYTHON_MODE = get_mode("FAST_COMPILE").register((in2out(_split_wide_sums), 100.0))
