#!/usr/bin/env bash
# The JAX side of the benchmarks on a GPU machine, as run for docs/performance.md. The GPU
# machine had JAX + CUDA, numpyro, numpy, pandas, scipy and numba but not PyMC, PyTensor or
# ArviZ: those come as wheels in .whl/ (downloaded on a machine with network access, see
# docs/performance.md), installed into /tmp/site.
# Usage: OUT=DIR bash benchmarks/gpu.sh
#   writes gradient.json (benchmarks/gpu_gradient.py S M L: four graphs per size; skipped
#   with GRADIENT=0), gpu_<size>.json for each of SIZES (default "M L"; numpyro, 4 chains x
#   1,000 draws after TUNE (default 1,000) tuning steps, spectral states, chains vectorised
#   on the GPU) and their logs to DIR.
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
if [ "${GRADIENT:-1}" != 0 ]; then
    timeout "${GRADIENT_TIMEOUT:-150}" python3 benchmarks/gpu_gradient.py S M L \
        --json "$OUT/gradient.json" 2>&1 | grep -v Warning | tee "$OUT/log_gradient.txt"
fi
for size in ${SIZES:-M L}; do
    python3 benchmarks/performance.py --sizes "$size" --configs spectral/numpyro --draws 1000 \
        --tune "${TUNE:-1000}" --chains 4 --timeout "${SAMPLE_TIMEOUT:-180}" --out "$OUT/gpu_$size.json" \
        --work /tmp/perf_work 2>&1 | tee "$OUT/log_$size.txt"
done
