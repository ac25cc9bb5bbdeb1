#!/usr/bin/env bash
# The checks that need an NVIDIA GPU with CuPy: the `gpu`-marked tests and the CuPy benchmarks.
# Run from the project root on a GPU machine:  bash tests/gpu_check.sh   (results under $OUT)
# Wheels for packages the machine lacks (array-api-compat, say) may be placed in .whl/.
set -uo pipefail
OUT=${OUT:-tests/artifacts/gpu}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" >/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi

LOG="$OUT/gpu.log"
: >"$LOG"
step() {  # step NAME SECONDS COMMAND...: run one check, log all its output, never stop the script
  local name=$1 limit=$2; shift 2
  echo "=== $name: $*" | tee -a "$LOG"
  local t0=$SECONDS
  timeout "$limit" "$@" >>"$LOG" 2>&1
  echo "--- $name rc=$? in $((SECONDS - t0)) s" | tee -a "$LOG"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$LOG"
# The figures first (each step is short), then the tests, so a run cut short still has the figures.
step info 60 $PY -m core info --backend cupy --json
step mdrnn_cost_g64 90 $PY -m core mdrnn cost --G 64 --D 3 --H 32 --B 1 --backend cupy --json
step mdrnn_cost_g64_again 90 $PY -m core mdrnn cost --G 64 --D 3 --H 32 --B 1 --backend cupy --repeat 15 --json
step mdrnn_cost_g64_cpu 90 $PY -m core mdrnn cost --G 64 --D 3 --H 32 --B 1 --backend numpy --json
step mdrnn_cost_g128 90 $PY -m core mdrnn cost --G 128 --D 3 --H 64 --backend cupy --repeat 5 --json
step lstm_bench_f32 90 $PY -m core lstm bench --backend cupy --T 100 --B 32 --D 32 --H 128 --dtype float32 --repeat 20 --json
step lstm_bench_lecture 90 $PY -m core lstm bench --backend cupy --T 50 --B 16 --D 8 --H 32 --dtype float64 --repeat 20 --json
step lstm_gradcheck 60 $PY -m core lstm gradcheck --backend cupy --json
step reversible_bench 120 $PY -m core reversible bench --backend cupy --D 100000 --steps 1000 --repeat 3 --json
step reversible_bench_cpu 120 $PY -m core reversible bench --backend numpy --D 100000 --steps 1000 --repeat 3 --json
step reversible_exact_digits 120 $PY -m core reversible run --backend cupy --objective digits --steps 10000 --mode exact --json --quiet
step reversible_hypergrad 60 $PY -m core reversible hypergrad --backend cupy --json --quiet
step reversible_jacobian 60 $PY -m core reversible jacobian --backend cupy --D 50 --json
step mdrnn_sensitivity 60 $PY -m core mdrnn sensitivity --backend cupy --no-maps --json
# Tests that import no dashboard code (the GPU image has no Streamlit).
step pytest ${PYTEST_SECONDS:-240} $PY -m pytest -q -m gpu -p no:cacheprovider -rfE --durations=10 \
  --junitxml="$OUT/junit.xml" \
  tests/test_backend.py tests/test_lstm.py tests/test_cli_lstm.py tests/test_mdrnn.py tests/test_cost.py \
  tests/test_mdrnn_bench.py tests/test_cli_mdrnn.py tests/test_mdlstm.py tests/test_convnet.py \
  tests/test_gridnets.py tests/test_exact.py tests/test_roundtrip.py tests/test_reversible.py \
  tests/test_objectives.py tests/test_jacobian.py
echo "=== done in $SECONDS s" | tee -a "$LOG"
cat "$LOG"
