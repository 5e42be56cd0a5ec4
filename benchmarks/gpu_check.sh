#!/usr/bin/env bash
# The GPU check of issue 7, in one prepared script, run from the repository root on the lent GPU machine:
#
#     bash benchmarks/gpu_check.sh            # log under "$OUT" (or ./gpu-check-out when OUT is unset)
#
# Steps, cheapest and most telling first, each under its own time limit so that the whole script ends within
# about 480 s (the session's device time is 15 minutes in all, start-up included, and a rerun must fit):
#   1. versions; whether gradcli sees the GPU                                                    (~10 s)
#   2. `gradcli eval --device cuda` on an example, against the same run on the CPU                (60 s max)
#   3. tests/test_device.py -m gpu: printing, moves, backward and custom Functions on the GPU     (90 s max)
#   4. tests/test_engine_ops.py -m gpu: the whole op table on CuPy, against PyTorch on the CPU   (150 s max)
#      (with pytest-xdist, 8 workers: CuPy compiles each new kernel once, which is most of the time)
#   5. benchmarks/gpu_corpus.py: every corpus program under --device cuda, against PyTorch CUDA and against
#      gradcli's CPU run                                                                         (90 s max)
#   6. benchmarks/gpu_mlp.py: the MLP step, gradcli + CuPy against PyTorch CUDA, at the workload's size
#      and at X 4096x4096                                                                    (2 x 60 s max)
# Everything goes to "$OUT/gpu_check.log" as it happens (plus "$OUT/gpu_*.json", "$OUT/status"), so a run
# stopped at its limit still tells how far it got.
#
# The machine's image (the device tool's KINDS.md) has python3 3.12 with PyTorch, CuPy 14 (cupy-cuda13x),
# numpy, click, rich, pytest, pytest-timeout, pytest-xdist and hypothesis, but not lark or prompt_toolkit,
# and it cannot download. Carry those as wheels in wheelhouse/ (the device tool's `carry`), built here with
#     python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 -d wheelhouse \
#         lark prompt_toolkit wcwidth
# They are installed with --target into a folder of their own (the image's environment is left alone);
# gradcli itself runs from this tree (PYTHONPATH), never pip-installed. PYTHON overrides the interpreter.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-./gpu-check-out}"
mkdir -p "$out"
log="$out/gpu_check.log"
scratch="$(mktemp -d)"  # (what comes back from $OUT is at most 8 files: the outputs compared stay here)
py="${PYTHON:-python3}"
site="${TMPDIR:-/tmp}/gradcli-site"
export PYTHONUNBUFFERED=1 GRADCLI_REQUIRE_TORCH=0
export PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}"
status=0
step() { echo; echo "== $* ($(date -u +%T))"; }
fail() { echo "!! FAILED: $*"; status=1; }
exec > >(tee "$log") 2>&1

step "gpu_check at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
if ls wheelhouse/*.whl >/dev/null 2>&1; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
    wheelhouse/*.whl || fail "installing wheelhouse/"
else
  echo "(no wheelhouse/: the image's packages only)"
fi
"$py" - <<'PY' || status=1
import importlib, importlib.metadata, sys
print("python", sys.version.split()[0], sys.executable)
missing = []
for name in ("numpy", "cupy", "torch", "click", "lark", "rich", "prompt_toolkit", "pytest", "xdist", "hypothesis"):
    try:
        m = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - report and go on
        print(f"{name} MISSING ({type(exc).__name__}: {exc})")
        missing.append(name)
        continue
    dist = {"xdist": "pytest-xdist", "cupy": "cupy-cuda13x"}.get(name, name)
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    extra = f" cuda={m.cuda.is_available()}" if name == "torch" else ""
    print(f"{name} {version}{extra} ({m.__file__})")
from gradcli import backend
print("gradcli sees the GPU:", backend.gpu_unavailable_reason() or "yes")
sys.exit(1 if {"numpy", "cupy", "click", "lark", "rich", "pytest"} & set(missing) else 0)
PY

step "gradcli eval --device cuda, against the CPU"
for example in examples/scalar_gradients.grad examples/mlp_cross_entropy.grad examples/custom_exp.grad; do
  timeout 20 "$py" -m gradcli.cli eval --no-table "$example" > "$scratch/cpu.txt" 2>&1
  if timeout 40 "$py" -m gradcli.cli eval --no-table --device cuda "$example" > "$scratch/cuda.txt" 2>&1; then
    # PyTorch prints device='cuda:0' in a CUDA tensor's repr: compare with that taken out, and with
    # object addresses (`<AddBackward0 object at 0x...>`) masked, as they differ from run to run.
    if diff <(sed -E "s/, device='cuda:0'//; s/ at 0x[0-9a-f]+>/ at 0x?>/" "$scratch/cuda.txt") \
            <(sed -E "s/ at 0x[0-9a-f]+>/ at 0x?>/" "$scratch/cpu.txt") > "$scratch/diff.txt"; then
      echo "ok   $example (same output as on the CPU, but for device='cuda:0' and addresses)"
    else
      fail "$example differs from the CPU run:"; head -40 "$scratch/diff.txt"
    fi
  else
    fail "$example on cuda:"; tail -20 "$scratch/cuda.txt"
  fi
done
timeout 20 "$py" -m gradcli.cli eval --device cuda examples/scalar_gradients.grad | tail -15
# the REPL, piped, on the GPU: the gradient's repr, and nothing on stderr
printf 'import torch\nx = torch.ones(2, requires_grad=True)\n(x * 2).sum().backward()\nx.grad\n' \
  | timeout 30 "$py" -m gradcli.cli repl --no-color --device cuda > "$scratch/repl.txt" 2>&1
if [ "$(cat "$scratch/repl.txt")" = "tensor([2., 2.], device='cuda:0')" ]; then
  echo "ok   repl --device cuda"
else
  fail "repl --device cuda printed:"; head -20 "$scratch/repl.txt"
fi

xdist=""
"$py" -c "import xdist" 2>/dev/null && xdist="-n 8"

step "pytest -m gpu tests/test_device.py"
timeout 90 "$py" -m pytest -q -p no:cacheprovider -m gpu -rs tests/test_device.py || fail "test_device.py"

step "pytest -m gpu tests/test_engine_ops.py $xdist"
timeout 150 "$py" -m pytest -q -p no:cacheprovider -m gpu -rs $xdist --maxfail=40 tests/test_engine_ops.py \
  || fail "test_engine_ops.py"

step "benchmarks/gpu_corpus.py: the corpus under --device cuda, against PyTorch CUDA and gradcli's CPU run"
timeout 90 "$py" benchmarks/gpu_corpus.py --show 40 --json "$out/gpu_corpus.json" || fail "gpu_corpus.py"

step "benchmark: benchmarks/gpu_mlp.py"
flag=""
"$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null || flag="--gradcli-only"
timeout 60 "$py" benchmarks/gpu_mlp.py --repeat 5 $flag --json "$out/gpu_mlp.json" || fail "gpu_mlp.py"
# the same step scaled up until the matrix products, not the launches, take the time
timeout 60 "$py" benchmarks/gpu_mlp.py --repeat 5 --batch 4096 --width 4096 $flag \
  --json "$out/gpu_mlp_large.json" || fail "gpu_mlp.py --batch 4096 --width 4096"

step "done: status $status"
echo "$status" > "$out/status"
exit "$status"
