#!/usr/bin/env bash
# The numpyro (JAX) backend of benchmarks/performance.py on a GPU machine, as run for
# docs/performance.md. The GPU machine had JAX + CUDA, numpyro, numpy, pandas, scipy and
# numba but not PyMC, PyTensor or ArviZ: those come as wheels in .whl/ (downloaded on a
# machine with network access, see docs/performance.md), installed into /tmp/site.
# Usage: OUT=DIR bash benchmarks/gpu.sh   (writes gpu_SM.json, gpu_L.json and logs to DIR)
set -uo pipefail
OUT=${OUT:?set OUT to a folder for the results}
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1
nvidia-smi -L
python3 -c "import jax, numpyro, pymc, pytensor, arviz, numba, pandas, xarray, credibility
print('jax', jax.__version__, jax.devices(), 'numpyro', numpyro.__version__, 'pymc',
      pymc.__version__, 'pytensor', pytensor.__version__, 'arviz', arviz.__version__,
      'numba', numba.__version__, 'pandas', pandas.__version__, 'xarray', xarray.__version__)
" || exit 1
python3 benchmarks/performance.py --sizes S M --configs ours/numpyro --draws 1000 --tune 600 \
    --chains 2 --timeout "${SM_TIMEOUT:-200}" --out "$OUT/gpu_SM.json" --work /tmp/perf_work \
    2>&1 | tee "$OUT/log_SM.txt"
python3 benchmarks/performance.py --sizes L --configs ours/numpyro --draws 1000 --tune 1000 \
    --chains 4 --timeout "${L_TIMEOUT:-240}" --out "$OUT/gpu_L.json" --work /tmp/perf_work \
    2>&1 | tee "$OUT/log_L.txt"
