"""What runs inside a measurement's child process. `run.py` starts `python benchmarks/child.py TASK ...`,
reads the one JSON line this prints last, and never imports gradcli, torch or numpy itself.

Tasks:
  program  SYSTEM FILE     a worker: after the imports and a warm-up, time the program once per `run` line
  memory   SYSTEM FILE     run it once and measure memory (a fresh process per measurement)
  small-ops                the 1-element chain through the engine's Python API, gradcli and torch in this
                           process, forward and backward timed apart, plus the numpy floor
  chain-memory SYSTEM      the peak memory of backward over a 50-op elementwise chain
  parse                    gradcli's parser against ast.parse on the same 5,000-line program

SYSTEM is gradcli (the interpreter, through `gradcli.session.run`), torch (the same file executed by
Python with PyTorch) or numpy (the hand-written baseline in numpy_baselines.py).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import gc
import io
import json
import re
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WARM_UP = ROOT / "examples" / "scalar_gradients.grad"
MIB = 1024 * 1024


# ----------------------------------------------------------------- program text
_CONSTANT = r"^{name}\s*=\s*[0-9_]+\s*$"


def constants(source: str) -> dict[str, int]:
    """The program's upper-case top-level integer constants (`N = 20000`), which size the workload."""
    found = re.findall(r"^([A-Z][A-Z0-9_]*)\s*=\s*([0-9_]+)\s*$", source, flags=re.M)
    return {name: int(value) for name, value in found}


def set_constant(source: str, name: str, value: int) -> str:
    """The program with `NAME = ...` replaced by `NAME = value` (the line must be there)."""
    pattern = _CONSTANT.format(name=re.escape(name))
    new, count = re.subn(pattern, f"{name} = {value}", source, count=1, flags=re.M)
    if not count:
        raise ValueError(f"the program has no line `{name} = <int>` to change")
    return new


def parse_program(lines: int) -> str:
    """A `lines`-line gradscript program: the examples, repeated whole, then short assignments to fill up."""
    examples = [p.read_text() for p in sorted((ROOT / "examples").glob("*.grad"))]
    out: list[str] = []
    i = 0
    while True:
        chunk = examples[i % len(examples)].splitlines()
        if len(out) + len(chunk) > lines:
            break
        out.extend(chunk)
        i += 1
    out.extend(f"pad_{k} = {k} * 2 + 1" for k in range(lines - len(out)))
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------- memory probes
def rss_mib() -> float:
    """The resident set size now (VmRSS)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (and so ru_maxrss) to the current RSS; False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ----------------------------------------------------------------- the three systems
class Gradcli:
    name = "gradcli"

    def __init__(self):
        from gradcli import session

        self.session = session
        self.run_source(WARM_UP.read_text(), str(WARM_UP))  # parser tables, lazy imports

    def run_source(self, source, filename):
        out = io.StringIO()
        result = self.session.run(source, out=out, filename=filename)
        if result.error is not None:
            raise RuntimeError(f"gradcli: {result.error.render()}")
        return out.getvalue(), result

    def engine(self):
        """The engine's `torch` namespace as a script sees it, for Python code that runs the same on torch."""
        from gradcli.torchlib import build_modules

        self.session.configure()
        return SimpleNamespace(**build_modules()["torch"].members)


class Torch:
    name = "torch"

    def __init__(self):
        import torch

        self.torch = torch
        self.run_source(WARM_UP.read_text(), str(WARM_UP))

    def run_source(self, source, filename):
        code = compile(source, filename, "exec")
        scope = {"__name__": "__main__", "__file__": filename}
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, scope)  # noqa: S102 - the benchmark runs its own workload files
        return out.getvalue(), scope

    def engine(self):
        return self.torch


class Numpy:
    name = "numpy"

    def __init__(self):
        import numpy_baselines

        self.programs = numpy_baselines.PROGRAMS

    def run_source(self, source, filename):
        fn = self.programs[Path(filename).stem]
        return "", fn(**constants(source))


SYSTEMS = {"gradcli": Gradcli, "torch": Torch, "numpy": Numpy}


def load_source(path, overrides):
    source = Path(path).read_text()
    for item in overrides or ():
        name, _, value = item.partition("=")
        source = set_constant(source, name, int(value))
    return source


# ----------------------------------------------------------------- tasks
def task_program(args):
    """Load the system and the program, warm up, say `ready`; then time one run per `run` line on stdin.

    The runner keeps one such worker per system alive and asks them in turn, so the repetitions of gradcli,
    PyTorch and numpy interleave although each lives in a process of its own."""
    system = SYSTEMS[args.system]()
    source = load_source(args.file, args.set)
    small = source
    for name in constants(source):  # a warm-up at size 1: first-call costs (BLAS threads, caches) go there
        small = set_constant(small, name, 1)
    system.run_source(small, args.file)
    reply({"ready": True})
    for line in sys.stdin:
        if line.strip() != "run":
            break
        gc.collect()
        start = time.perf_counter()
        output, kept = system.run_source(source, args.file)
        seconds = time.perf_counter() - start
        del kept
        reply({"seconds": seconds, "output": output})


def reply(message: dict) -> None:
    sys.stdout.write("\n" + json.dumps(message) + "\n")
    sys.stdout.flush()


def task_memory(args):
    system = SYSTEMS[args.system]()
    source = load_source(args.file, args.set)
    gc.collect()
    baseline = rss_mib()
    exact_peak = reset_peak()
    if args.system != "torch":  # torch's allocations are invisible to tracemalloc
        tracemalloc.start()
    output, kept = system.run_source(source, args.file)
    peak = peak_mib() - baseline
    gc.collect()
    after = rss_mib() - baseline
    result = {
        "baseline_mib": baseline,
        "peak_mib": peak,
        "after_mib": after,
        "peak_reset": exact_peak,
        "output": output,
    }
    if tracemalloc.is_tracing():
        current, traced_peak = tracemalloc.get_traced_memory()
        result.update(traced_after_mib=current / MIB, traced_peak_mib=traced_peak / MIB)
    del kept
    return result


def small_ops_loop(T, n):  # noqa: N803 - T is the torch namespace (gradcli's or PyTorch's)
    """The workload's loop, written once for both engines. Returns (forward s, backward s, w.grad)."""
    w = T.tensor([0.5], requires_grad=True)
    y = T.tensor([0.3])
    start = time.perf_counter()
    for _ in range(n):
        y = T.tanh(y * w + 0.1)
    mid = time.perf_counter()
    y.backward()
    end = time.perf_counter()
    return mid - start, end - mid, w.grad.tolist()


def task_small_ops(args):
    import numpy_baselines as nb

    from gradcli.session import quiet_collector

    gradcli = Gradcli().engine()
    torch = Torch().engine()
    # Each engine runs as it runs for its users: gradcli's session keeps the cyclic collector quiet around
    # every program (session.quiet_collector), PyTorch leaves Python's collector as it is.
    settings = {"gradcli": quiet_collector, "torch": contextlib.nullcontext}
    samples = {name: {"fwd": [], "bwd": []} for name in ("gradcli", "torch", "numpy")}
    grads = {}
    small_ops_loop(gradcli, 100)  # warm both up
    small_ops_loop(torch, 100)
    for _ in range(args.repeat):  # interleaved, so load on the machine hits both alike
        for name, T in (("gradcli", gradcli), ("torch", torch)):  # noqa: N806
            gc.collect()
            with settings[name]():
                fwd, bwd, grads[name] = small_ops_loop(T, args.n)
            samples[name]["fwd"].append(fwd)
            samples[name]["bwd"].append(bwd)
        gc.collect()
        start = time.perf_counter()
        w, _, saved = nb.small_ops_forward(args.n)
        mid = time.perf_counter()
        grads["numpy"] = nb.small_ops_backward(w, saved).tolist()
        samples["numpy"]["fwd"].append(mid - start)
        samples["numpy"]["bwd"].append(time.perf_counter() - mid)
    return {"samples": samples, "ops": 3 * args.n, "grads": grads}


def chain_forward(T, x, rounds=10):  # noqa: N803
    """50 elementwise ops: (sin, * 0.9, tanh, + 0.1, exp) ten times; numpy_baselines.chain_forward by hand."""
    y = x
    for _ in range(rounds):
        y = T.sin(y)
        y = y * 0.9
        y = T.tanh(y)
        y = y + 0.1
        y = T.exp(y)
    return y


def task_chain_memory(args):
    import numpy as np

    if args.system == "numpy":
        import numpy_baselines as nb

        x = np.linspace(-1.0, 1.0, args.size, dtype=np.float32)
        y, saved = nb.chain_forward(x)
        ones = None

        def backward():
            return nb.chain_backward(y, saved)
    else:
        T = SYSTEMS[args.system]().engine()  # noqa: N806
        x = T.linspace(-1.0, 1.0, args.size, requires_grad=True)
        y = chain_forward(T, x)
        ones = T.ones_like(y)

        def backward():
            y.backward(ones)
            return x.grad

    gc.collect()
    before = rss_mib()
    exact_peak = reset_peak()
    tracing = args.system != "torch"
    if tracing:
        tracemalloc.start()
    grad = backward()
    peak = peak_mib() - before
    result = {"before_mib": before, "peak_mib": peak, "peak_reset": exact_peak}
    if tracing:
        current, traced_peak = tracemalloc.get_traced_memory()
        result["traced_peak_mib"] = traced_peak / MIB
    del grad
    return result


def task_parse(args):
    from gradcli.parser import parse

    source = parse_program(args.lines)
    parse("x = 1\n")  # the parser is built once per process, on the first call: start-up, not parsing
    ast.parse(source)
    samples = {"gradcli": [], "ast": []}
    for _ in range(args.repeat):
        for name, fn in (("gradcli", parse), ("ast", ast.parse)):
            gc.collect()
            start = time.perf_counter()
            fn(source)
            samples[name].append(time.perf_counter() - start)
    return {"samples": samples, "lines": source.count("\n")}


def main(argv=None):
    p = argparse.ArgumentParser(prog="child.py")
    sub = p.add_subparsers(dest="task", required=True)
    for name in ("program", "memory"):
        s = sub.add_parser(name)
        s.add_argument("system", choices=SYSTEMS)
        s.add_argument("file")
        s.add_argument("--set", action="append", metavar="NAME=VALUE")
    s = sub.add_parser("small-ops")
    s.add_argument("--n", type=int, default=20000)
    s.add_argument("--repeat", type=int, default=5)
    s = sub.add_parser("chain-memory")
    s.add_argument("system", choices=SYSTEMS)
    s.add_argument("--size", type=int, default=4_000_000)
    s = sub.add_parser("parse")
    s.add_argument("--lines", type=int, default=5000)
    s.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    task = {
        "program": task_program,
        "memory": task_memory,
        "small-ops": task_small_ops,
        "chain-memory": task_chain_memory,
        "parse": task_parse,
    }[args.task]
    result = task(args)
    if result is not None:
        reply(result)


if __name__ == "__main__":
    main()
