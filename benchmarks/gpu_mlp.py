"""The MLP training step of benchmarks/workloads/mlp.grad on the GPU: gradcli + CuPy against PyTorch CUDA,
in one run.

    python benchmarks/gpu_mlp.py [--repeat 7] [--steps 20] [--batch 256] [--width 512] [--json out.json]

Both engines run the very same step (X 256x512 -> relu(X @ W1) @ W2 -> mean of squares, backward, SGD
update; --batch and --width scale it up, from launch-bound to matmul-bound) on the GPU, written once
against a torch-like namespace; each repetition times `steps` steps after a warm-up, synchronising the
device before reading the clock. It prints the median and min-max of each, the ratio gradcli / PyTorch
of the medians, and checks that both reach the same loss. Without CuPy or a GPU, or without a CUDA build
of PyTorch, it fails at once with one line saying which is missing (exit 2).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def fail(message):
    print(f"gpu_mlp: {message}", file=sys.stderr)
    sys.exit(2)


class Namespace:
    def __init__(self, members):
        self.__dict__.update(members)


def mlp_steps(T, steps, sync, batch=256, width=512):  # noqa: N803 - T: torch namespace (gradcli's or PyTorch's)
    """The workload's loop, written once for both engines; returns (seconds, final loss)."""
    scale = 0.05 * (512 / width) ** 0.5  # (0.05 at the workload's width; the same output scale at others)
    X = T.sin(T.arange(batch * width, dtype=T.float32, device="cuda").reshape(batch, width))
    W1 = T.cos(T.arange(width * width, dtype=T.float32, device="cuda").reshape(width, width)) * scale
    W2 = T.sin(T.arange(width * 10, dtype=T.float32, device="cuda").reshape(width, 10)) * scale
    W1.requires_grad_()
    W2.requires_grad_()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        out = T.relu(X @ W1) @ W2
        loss = (out * out).mean()
        loss.backward()
        with T.no_grad():
            W1 -= 0.01 * W1.grad
            W2 -= 0.01 * W2.grad
        W1.grad = None
        W2.grad = None
    sync()
    return time.perf_counter() - start, loss.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=256, help="rows of X (the workload's 256)")
    parser.add_argument("--width", type=int, default=512, help="columns of X and W1 (the workload's 512)")
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--gradcli-only", action="store_true",
                        help="no PyTorch CUDA baseline: time gradcli alone")
    args = parser.parse_args()

    from gradcli import backend

    reason = backend.gpu_unavailable_reason()
    if reason is not None:
        fail(reason)
    try:
        import torch
    except ImportError:
        torch = None
    if torch is None or not torch.cuda.is_available():
        why = "not installed" if torch is None else f"{torch.__version__} without a usable CUDA device"
        if not args.gradcli_only:
            fail(f"PyTorch is {why}: the baseline needs a CUDA build of it "
                 "(--gradcli-only times gradcli alone)")
        torch = None

    cupy = backend.cuda_namespace()
    backend.use_device("cuda")
    from gradcli.torchlib import build_modules

    ours = Namespace(build_modules()["torch"].members)
    runs = {"gradcli+cupy": (ours, cupy.cuda.Device().synchronize)}
    if torch is not None:
        runs["pytorch-cuda"] = (torch, torch.cuda.synchronize)
    times = {name: [] for name in runs}
    losses = {}
    for T, sync in runs.values():  # warm-up: kernels compiled and cached, memory pools filled
        mlp_steps(T, 2, sync, args.batch, args.width)
    for _ in range(args.repeat):  # interleaved, so a burst of load hits both alike
        for name, (T, sync) in runs.items():
            seconds, loss = mlp_steps(T, args.steps, sync, args.batch, args.width)
            times[name].append(seconds / args.steps * 1e3)
            losses[name] = loss

    device = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    device = device.decode() if isinstance(device, bytes) else device
    print(f"MLP training step, X {args.batch}x{args.width}, on {device} ({args.steps} steps x {args.repeat} "
          "repetitions), ms per step")
    for name, ms in times.items():
        print(f"  {name:14} median {statistics.median(ms):8.3f}   min-max {min(ms):.3f}-{max(ms):.3f}")
    ratio, same = None, True
    if torch is None:
        print("  (no PyTorch CUDA baseline in this run)")
    else:
        ratio = statistics.median(times["gradcli+cupy"]) / statistics.median(times["pytorch-cuda"])
        print(f"  ratio gradcli / PyTorch (medians): {ratio:.2f}x")
        a, b = losses["gradcli+cupy"], losses["pytorch-cuda"]
        same = abs(a - b) <= 1e-4 * max(abs(b), 1e-12)
        print(f"  final loss: gradcli {a:.6g}, PyTorch {b:.6g} ({'same' if same else 'DIFFERENT'})")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(
            {"device": device, "batch": args.batch, "width": args.width, "ms_per_step": times, "ratio": ratio,
             "losses": losses}, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
