#!/usr/bin/env bash
# The GPU check of issue 7, in one prepared script, run from the repository root on the lent GPU machine:
#
#     bash benchmarks/gpu_check.sh            # log under "$OUT" (or ./gpu-check-out when OUT is unset)
#
# It (1) installs what is missing, (2) runs the `gpu`-marked tests (the op table on CuPy against PyTorch on
# the CPU, and tests/test_device.py on the real GPU), (3) runs benchmarks/gpu_mlp.py (gradcli + CuPy against
# PyTorch CUDA), and writes everything to "$OUT/gpu_check.log" (plus "$OUT/gpu_mlp.json").
#
# The machine has no internet. Its image has CuPy (cupy-cuda13x) and, usually, numpy. What else it needs must
# be carried with the working tree (the device tool's `carry`, at most 64 MiB in all):
#   * wheelhouse/ -- pure-Python wheels of gradcli's dependencies and test tools, built here with
#         pip download --only-binary=:all: --python-version 3.11 -d wheelhouse \
#             click lark rich prompt_toolkit pytest pytest-timeout hypothesis
#     (a few MiB; numpy is left to the image). Without wheelhouse/ the script installs nothing and runs
#     gradcli from the source tree (PYTHONPATH), which works when the image already has those packages.
#   * PyTorch cannot be carried (its wheels are hundreds of MiB): the oracle tests and the CUDA baseline
#     need the image's torch. Without torch the oracle tests skip (they say so) and the benchmark times
#     gradcli alone (--gradcli-only); the log says which happened.
# gradcli is never pip-installed here (hatchling may be missing): PYTHONPATH points at the tree.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-./gpu-check-out}"
mkdir -p "$out"
log="$out/gpu_check.log"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export GRADCLI_REQUIRE_TORCH=0
{
  status=0
  echo "== gpu_check $(date -u +%FT%TZ) at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
  python - <<'PY'
import importlib, sys
print("python", sys.version.split()[0])
for name in ("numpy", "cupy", "torch", "click", "lark", "rich", "prompt_toolkit", "pytest", "hypothesis"):
    try:
        m = importlib.import_module(name)
        extra = ""
        if name == "torch":
            extra = f" cuda={m.cuda.is_available()}"
        print(f"{name} {getattr(m, '__version__', '?')}{extra}")
    except Exception as exc:  # noqa: BLE001
        print(f"{name} MISSING ({type(exc).__name__}: {exc})")
PY
  if [ -d wheelhouse ]; then
    echo "== installing from wheelhouse/"
    python -m pip install --no-index --find-links wheelhouse --quiet \
      click lark rich prompt_toolkit pytest pytest-timeout hypothesis 2>&1 | tail -5
  else
    echo "== no wheelhouse/: using the image's packages"
  fi
  echo "== gradcli sees the GPU?"
  python -c "from gradcli import backend; print(backend.gpu_unavailable_reason() or 'yes')"
  echo "== pytest -m gpu"
  timeout 420 python -m pytest -q -p no:cacheprovider -m gpu -rs tests/test_device.py tests/test_engine_ops.py \
    || status=1
  echo "== gradcli eval --device cuda on an example"
  python -m gradcli.cli eval --no-table --device cuda examples/scalar_gradients.grad || status=1
  echo "== benchmark"
  flag=""
  python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null || flag="--gradcli-only"
  timeout 240 python benchmarks/gpu_mlp.py --repeat 5 $flag --json "$out/gpu_mlp.json" || status=1
  echo "== done: status $status"
  echo "$status" > "$out/status"
} 2>&1 | tee "$log"
exit "$(cat "$out/status" 2>/dev/null || echo 1)"
