"""The profiles behind FINDINGS.md: where gradcli's time and memory go on the workloads that miss a target.

    python benchmarks/profiles.py startup          # import times (-X importtime, medians) and start-up phases
    python benchmarks/profiles.py gc               # the small-op loop under the cyclic GC: as is, tuned, off
    python benchmarks/profiles.py small_ops        # cProfile of the small-op forward and backward, GC off
    python benchmarks/profiles.py mlp              # seconds per op row (forward, backward) in the MLP program
    python benchmarks/profiles.py memory           # what holds memory after backward (tracemalloc)
    python benchmarks/profiles.py cprofile FILE    # cProfile of any program run through gradcli.session.run

Run it as run.py runs its children (bytecode cached, one BLAS thread): `startup` sets that up for its own
subprocesses; for the others, run.py's environment is set on this process before numpy loads.
Instrumentation (timers around op rows, a patched release) lives only in this process; gradcli's files
are never touched.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import gc
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
import tracemalloc

import child
import run

WORKLOADS = run.WORKLOADS
MIB = 1024 * 1024


def use_run_environment() -> None:
    for name in run.THREAD_VARIABLES:
        os.environ[name] = "1"


# ----------------------------------------------------------------- start-up
PHASES = """
import sys, time
t = [time.perf_counter()]
import numpy
t.append(time.perf_counter())
import click
t.append(time.perf_counter())
import gradcli.cli, gradcli.session, gradcli.interpreter
t.append(time.perf_counter())
import gradcli.parser
t.append(time.perf_counter())
assert "lark" not in sys.modules
gradcli.parser.parse("x = 1\\n")
t.append(time.perf_counter())
import io
interp = gradcli.interpreter.Interpreter(out=io.StringIO())
t.append(time.perf_counter())
interp.run(open(SEED).read())
t.append(time.perf_counter())
print([b - a for a, b in zip(t, t[1:])])
"""
PHASE_NAMES = [
    "import numpy",
    "import click",
    "import gradcli.cli, .session, .interpreter (the rest)",
    "import gradcli.parser",
    "the first parse (gradcli's LALR tables unmarshalled, lexer compiled; lark is not imported)",
    "Interpreter() (build_modules: the engine modules)",
    "run the seed's scalar example",
]


def startup(args) -> None:
    env = run.child_env(1)
    py = sys.executable
    cli = run.cli_command() + ["eval", "--no-table", str(run.SEED)]
    whole = {
        "python -c pass": [py, "-c", "pass"],
        "python -S -c pass (no site, no .pth files)": [py, "-S", "-c", "pass"],
        "python -c 'import numpy'": [py, "-c", "import numpy"],
        "gradcli eval --no-table": cli,
    }
    print(f"whole-process wall clock, median [min-max] of {args.repeat} (after one untimed run each)")
    for label, cmd in whole.items():
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - start)
        spread = f"[{min(times) * 1000:.0f}-{max(times) * 1000:.0f}]"
        print(f"  {statistics.median(times) * 1000:6.0f} ms {spread:11} {label}")

    print(
        f"\nphases inside one process, in the CLI's order (after Python's own start), median of {args.repeat}"
    )
    script = PHASES.replace("SEED", repr(str(run.SEED)))
    samples = []
    for _ in range(args.repeat):
        proc = subprocess.run([py, "-c", script], env=env, capture_output=True, text=True, check=True)
        samples.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    for i, name in enumerate(PHASE_NAMES):
        print(f"  {statistics.median(s[i] for s in samples) * 1000:6.1f} ms  {name}")

    print(
        f"\n-X importtime of the whole run, median of {args.repeat}: top-level imports and gradcli's modules"
    )
    runs = []
    for _ in range(args.repeat):
        proc = subprocess.run(
            [py, "-X", "importtime", *cli], env=env, capture_output=True, text=True, check=True
        )
        found = {}
        for line in proc.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
            if m:
                found[m.group(4)] = (int(m.group(1)), int(m.group(2)), len(m.group(3)))
        runs.append(found)
    names = [n for n, (_, _, depth) in runs[0].items() if depth == 1 or n.startswith("gradcli")]
    rows = []
    for name in names:
        own = statistics.median(r[name][0] for r in runs if name in r) / 1000
        cumulative = statistics.median(r[name][1] for r in runs if name in r) / 1000
        rows.append((cumulative, own, name))
    for cumulative, own, name in sorted(rows, reverse=True)[:14]:
        print(f"  {cumulative:6.1f} ms cumulative {own:6.1f} ms own  {name}")


# ----------------------------------------------------------------- small ops and the GC
class GcClock:
    """Seconds spent in the cyclic GC, and collections per generation, while installed."""

    def __init__(self):
        self.seconds = 0.0
        self.collections = collections.Counter()
        self._start = 0.0

    def __call__(self, phase, info):
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.collections[info["generation"]] += 1

    def __enter__(self):
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self)


GC_SETTINGS = {
    "as is (700, 10, 10)": lambda: None,
    "gc.freeze() after the imports": gc.freeze,
    "gc.set_threshold(10_000, 10, 10)": lambda: gc.set_threshold(10_000, 10, 10),
    "gc.set_threshold(50_000, 20, 100)": lambda: gc.set_threshold(50_000, 20, 100),
    "gc.disable()": gc.disable,
}


def gc_profile(args) -> None:
    gradcli = child.Gradcli()
    T = gradcli.engine()  # noqa: N806
    n = args.n
    source = child.set_constant((WORKLOADS / "small_ops.grad").read_text(), "N", n)
    print(f"{len(gc.get_objects()):,} objects tracked by the GC after the imports (gradcli only, no torch)")
    print(
        f"engine loop: {n:,} iterations = {3 * n:,} ops; program: small_ops.grad through gradcli.session.run"
    )
    for label, setting in GC_SETTINGS.items():
        results = []
        for what in ("engine", "program"):
            best = None
            for _ in range(args.repeat):
                gc.collect()
                setting()
                with GcClock() as clock:
                    start = time.perf_counter()
                    if what == "engine":
                        fwd, bwd, _ = child.small_ops_loop(T, n)
                    else:
                        gradcli.run_source(source, "small_ops.grad")
                    total = time.perf_counter() - start
                gc.enable()
                gc.unfreeze()
                gc.set_threshold(700, 10, 10)
                if best is None or total < best[0]:
                    best = (total, clock.seconds, dict(clock.collections))
            total, in_gc, counts = best
            results.append(
                f"{what} {total / (3 * n) * 1e6:5.2f} us/op (GC {in_gc / (3 * n) * 1e6:4.2f}, {counts})"
            )
        print(f"  {label:34} " + "; ".join(results))
    w = T.tensor([0.5], requires_grad=True)
    y = T.tensor([0.3])
    gc.collect()
    gc.disable()
    before = collections.Counter(type(o).__name__ for o in gc.get_objects())
    for _ in range(1000):
        y = T.tanh(y * w + 0.1)
    grown = collections.Counter(type(o).__name__ for o in gc.get_objects()) - before
    gc.enable()
    per = {k: v / 1000 for k, v in grown.most_common(6)}
    print(f"GC-tracked objects left alive per iteration (3 ops): {sum(grown.values()) / 1000:.1f} {per}")


def small_ops(args) -> None:
    T = child.Gradcli().engine()  # noqa: N806
    w = T.tensor([0.5], requires_grad=True)
    y = T.tensor([0.3])
    gc.collect()
    gc.disable()  # the engine's own cost; `profiles.py gc` shows the GC's
    fwd = cProfile.Profile()
    fwd.enable()
    for _ in range(args.n):
        y = T.tanh(y * w + 0.1)
    fwd.disable()
    bwd = cProfile.Profile()
    bwd.enable()
    y.backward()
    bwd.disable()
    gc.enable()
    for label, prof in (("forward", fwd), ("backward", bwd)):
        print(f"\n=== {label}: {3 * args.n:,} ops (cProfile inflates the totals; compare functions)")
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.limit)


# ----------------------------------------------------------------- the MLP
def mlp(args) -> None:
    import numpy_baselines as nb

    from gradcli import engine, functional, ops

    gradcli = child.Gradcli()
    source = (WORKLOADS / "mlp.grad").read_text()
    steps = child.constants(source)["STEPS"]
    gradcli.run_source(source, "mlp.grad")
    nb.mlp(steps)
    spent = collections.defaultdict(float)
    calls = collections.Counter()

    def timed(key, fn):
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[key] += time.perf_counter() - start
                calls[key] += 1

        return wrapper

    # Op rows are frozen dataclasses: their functions are swapped for timed ones the way ops.py reaches them.
    for key, op in ops.ROWS.items():
        object.__setattr__(op, "forward", timed((key, "forward"), op.forward))
        if op.backward is not None:
            object.__setattr__(op, "backward", timed((key, "backward"), op.backward))
    engine._accumulate = timed(("engine._accumulate", ""), engine._accumulate)
    ops._fit = timed(("ops._fit", ""), ops._fit)
    # Whole in-place ops (`W -= ...`: the row's forward above, then the copy into W), timed apart.
    functional.inplace = timed(("in-place ops, whole (row forward included)", ""), functional.inplace)
    start = time.perf_counter()
    gradcli.run_source(source, "mlp.grad")
    total = time.perf_counter() - start
    start = time.perf_counter()
    nb.mlp(steps)
    floor = time.perf_counter() - start
    print(f"gradcli {total * 1000:.1f} ms, hand-written numpy {floor * 1000:.1f} ms for {steps} steps")
    for (key, kind), seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        n = calls[(key, kind)]
        print(f"  {seconds * 1000:7.2f} ms  {n:4} calls  {seconds / n * 1e3:7.3f} ms/call  {key} {kind}")
    rows = sum(
        seconds for (key, kind), seconds in spent.items() if kind or key.startswith(("engine.", "ops."))
    )
    print(f"  {(total - rows) * 1000:7.2f} ms  the rest: parse, interpreter, bookkeeping, in-place copies")


# ----------------------------------------------------------------- memory
def memory(args) -> None:
    gradcli = child.Gradcli()
    source = child.set_constant((WORKLOADS / "memory.grad").read_text(), "SIZE", args.size)
    source = source.replace(
        "torch.exp(y)", f"torch.{args.op}(y)"
    )  # exp saves its result; sin saves its input
    vector = args.size * 4 / MIB
    tracemalloc.start(8)
    _, result = gradcli.run_source(source, "memory.grad")
    gc.collect()
    live, peak = tracemalloc.get_traced_memory()
    print(
        f"SIZE={args.size:,} ({vector:.1f} MiB a vector): live after backward {live / MIB:.1f} MiB, "
        f"peak {peak / MIB:.1f} MiB; x, x.grad and y are {3 * vector:.1f} MiB"
    )
    numpy_domain = tracemalloc.DomainFilter(True, 389047)  # numpy's data buffers
    snapshot = tracemalloc.take_snapshot().filter_traces([numpy_domain])
    for stat in snapshot.statistics("traceback")[:3]:
        print(f"  {stat.size / MIB:6.1f} MiB in {stat.count} arrays, allocated at")
        for line in stat.traceback.format()[-4:]:
            print("      " + line)
    y = result.variables["y"]
    node = y.grad_fn.next_functions[0][0]
    entries = []
    for entry in node.checks or ():  # tuples of (tensor, counter, ...) or one flat tuple: whichever is in use
        entries.extend(entry if isinstance(entry, tuple) else (entry,))
    tensors = [e for e in entries if type(e).__name__ == "Tensor"]
    print(
        f"y.grad_fn {y.grad_fn.name()} -> {node.name()}: after backward r={node.r}, freed={node.freed}; its "
        f"version checks hold {len(tensors)} tensor(s) ({sum(t._data.nbytes for t in tensors) / MIB:.1f} MiB)"
    )
    del y, node, result
    gc.collect()
    tracemalloc.stop()


def cprofile_program(args) -> None:
    gradcli = child.Gradcli()
    source = child.load_source(args.file, args.set)
    prof = cProfile.Profile()
    prof.enable()
    gradcli.run_source(source, args.file)
    prof.disable()
    pstats.Stats(prof).sort_stats(args.sort).print_stats(args.limit)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("startup")
    s.add_argument("--repeat", type=int, default=5)
    s = sub.add_parser("gc")
    s.add_argument("--n", type=int, default=20_000)
    s.add_argument("--repeat", type=int, default=3)
    s = sub.add_parser("small_ops")
    s.add_argument("--n", type=int, default=20_000)
    s.add_argument("--limit", type=int, default=15)
    sub.add_parser("mlp")
    s = sub.add_parser("memory")
    s.add_argument("--size", type=int, default=4_000_000)
    s.add_argument(
        "--op", default="exp", help="the op in the chain in place of exp (sin: one that saves its input)"
    )
    s = sub.add_parser("cprofile")
    s.add_argument("file")
    s.add_argument("--set", action="append", metavar="NAME=VALUE")
    s.add_argument("--sort", default="tottime")
    s.add_argument("--limit", type=int, default=25)
    args = p.parse_args(argv)
    use_run_environment()
    {
        "startup": startup,
        "gc": gc_profile,
        "small_ops": small_ops,
        "mlp": mlp,
        "memory": memory,
        "cprofile": cprofile_program,
    }[args.what](args)
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:] if len(sys.argv) > 1 else ["--help"])
