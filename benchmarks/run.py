"""The benchmark runner: every workload three ways in one run, gradcli against PyTorch and hand-written numpy.

    python benchmarks/run.py [--only NAME] [--repeat N] [--json out.json] [--quick]

Each workload is measured as gradcli (the CLI on a `.grad` file, or the engine in-process), as PyTorch on
the very same file (every gradscript program is a PyTorch program), and as a hand-written numpy forward and
backward of the same math (numpy_baselines.py). Every measurement runs in a child process (child.py), so
this process imports none of them; repetitions of the systems are interleaved where the method allows, so
a burst of load on this shared machine hits them alike. The table prints medians with min-max, the ratio
gradcli / baseline of the medians, the target and PASS/MISS. README.md says what each figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import child  # same folder: sys.path[0] when this file runs as a script

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKLOADS = HERE / "workloads"
SEED = ROOT / "examples" / "scalar_gradients.grad"
MIB = 1024 * 1024
FLOAT32 = 4


# ----------------------------------------------------------------- rows and targets
@dataclass
class Target:
    limit: float
    text: str
    on: str = "ratio"  # "ratio": gradcli/baseline <= limit; "value": gradcli's median <= limit

    def judge(self, value: float, ratio: float) -> bool:
        return (ratio if self.on == "ratio" else value) <= self.limit


@dataclass
class Row:
    label: str
    unit: str  # "s", "us/op", "MiB"
    gradcli: list[float]
    baseline_name: str
    baseline: list[float]
    target: Target | None = None
    note: str = ""
    error: str = ""
    ratio: float | None = field(default=None, init=False)
    result: str = field(default="", init=False)

    def __post_init__(self):
        if self.error:
            self.result = "ERROR"
            return
        g, b = statistics.median(self.gradcli), statistics.median(self.baseline)
        self.ratio = g / b if b else float("inf")
        if self.target is None:
            self.result = "info"
        else:
            self.result = "PASS" if self.target.judge(g, self.ratio) else "MISS"


class Failed(Exception):
    """A measurement that could not be made (a child crashed, gradcli refused the program)."""


# ----------------------------------------------------------------- processes
PYCACHE = Path(tempfile.gettempdir()) / "gradcli-benchmarks-pycache"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def child_env(threads: int) -> dict:
    """The environment of every child: gradcli imported from this tree, whatever is installed; bytecode
    cached (outside the tree), as for an installed package, even where PYTHONDONTWRITEBYTECODE is set, which
    would make each gradcli start compile its sources again; and `threads` BLAS/OpenMP threads (0: the
    libraries' own choice)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    for name in THREAD_VARIABLES:
        if threads:
            env[name] = str(threads)
        else:
            env.pop(name, None)
    return env


ENV = child_env(1)


def run_child(*args: str, timeout: float = 600) -> dict:
    """Run `child.py args` in a fresh process and return the JSON it prints last."""
    cmd = [sys.executable, str(HERE / "child.py"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise Failed(f"child.py {' '.join(args)}: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class Worker:
    """A `child.py program` process: it has loaded one system and one program, and times a run on request."""

    def __init__(self, system: str, file: Path, overrides: list[str]):
        args = [str(file)] + [a for o in overrides for a in ("--set", o)]
        self.label = f"child.py program {system} {file.name}"
        self.errors = tempfile.TemporaryFile("w+")  # a pipe could fill up and stall the child
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "child.py"), "program", system, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
            env=ENV,
            cwd=ROOT,
        )

    def ready(self) -> None:
        self._read()

    def run(self) -> dict:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return self._read()

    def _read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("{"):
                return json.loads(line)
        self.proc.wait()
        self.errors.seek(0)
        tail = (self.errors.read().strip().splitlines() or ["(no output)"])[-1]
        raise Failed(f"{self.label}: {tail}")

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.errors.close()


@contextlib.contextmanager
def workers(systems: tuple[str, ...], file: Path, overrides: list[str]):
    """One Worker per system, started together: the imports overlap; nothing is timed till all are ready."""
    started = {}
    try:
        for system in systems:
            started[system] = Worker(system, file, overrides)
        for w in started.values():
            w.ready()
        yield started
    finally:
        for w in started.values():
            w.close()


def cli_command() -> list[str]:
    """The `gradcli` console script of this Python (not a pyenv shim, which adds a bash start-up)."""
    script = Path(sysconfig.get_path("scripts")) / "gradcli"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from gradcli.cli import main; sys.exit(main())"]


def wall(cmd: list[str]) -> tuple[float, str]:
    """Whole-process wall-clock seconds of `cmd`, and its standard output."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=600)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise Failed(f"{' '.join(cmd)} exited {proc.returncode}: {tail}")
    return seconds, proc.stdout


def same_output(a: str, b: str) -> bool:
    """Equal once object addresses (`at 0x7f...`) are set aside, as the README's contract says."""
    strip = lambda s: re.sub(r"0x[0-9a-f]+", "0x?", s)
    return strip(a) == strip(b)


def output_note(gradcli_out: str, torch_out: str) -> str:
    return "output = PyTorch's" if same_output(gradcli_out, torch_out) else "OUTPUT DIFFERS from PyTorch's"


# ----------------------------------------------------------------- workloads
@dataclass
class Config:
    repeat: int
    quick: bool
    sizes: dict

    @property
    def processes(self) -> int:
        """Fresh processes per memory measurement (each pays the imports again): one in a quick run."""
        return 1 if self.quick else self.repeat

    def size(self, name: str) -> int:
        return self.sizes[name][1 if self.quick else 0]


# name: (full, quick). Quick runs are smaller, so their figures are for checking the runner, not the targets.
SIZES = {
    "small_ops_n": (20_000, 2_000),
    "mlp_steps": (20, 5),
    "memory_size": (4_000_000, 1_000_000),
    "long_graph_n": (100_000, 10_000),
    "chain_size": (4_000_000, 1_000_000),
    "parse_lines": (5_000, 5_000),
}

REGISTRY = {}


def workload(name: str, what: str):
    def register(fn):
        REGISTRY[name] = (fn, what)
        return fn

    return register


@workload("startup", "gradcli eval --no-table of the seed's scalar example, whole process, wall clock")
def startup(cfg: Config) -> list[Row]:
    file = str(SEED.relative_to(ROOT))
    commands = {
        "gradcli": cli_command() + ["eval", "--no-table", file],
        "torch": [sys.executable, file],
        "numpy": [sys.executable, "-c", "import numpy"],
        "python": [sys.executable, "-c", "pass"],
    }
    samples = {k: [] for k in commands}
    outputs = {}
    for cmd in commands.values():  # untimed: fills the bytecode cache and the OS's file cache
        wall(cmd)
    for _ in range(cfg.repeat):
        for name, cmd in commands.items():
            seconds, outputs[name] = wall(cmd)
            samples[name].append(seconds)
    note = output_note(outputs["gradcli"], outputs["torch"])
    g = samples["gradcli"]
    return [
        Row(
            "start-up vs PyTorch",
            "s",
            g,
            "PyTorch: python FILE",
            samples["torch"],
            Target(0.10, "<= 0.10x"),
            note,
        ),
        Row(
            "start-up vs numpy import",
            "s",
            g,
            'python -c "import numpy"',
            samples["numpy"],
            Target(1.6, "<= 1.6x"),
        ),
        Row("start-up vs bare Python", "s", g, 'python -c "pass"', samples["python"]),
    ]


def per_op(samples: list[float], ops: int) -> list[float]:
    return [s / ops * 1e6 for s in samples]


@workload(
    "small_ops", "y = tanh(y * w + 0.1) on a 1-element tensor, engine API in-process, with torch alongside"
)
def small_ops(cfg: Config) -> list[Row]:
    n = cfg.size("small_ops_n")
    data = run_child("small-ops", "--n", str(n), "--repeat", str(cfg.repeat))
    s, ops = data["samples"], data["ops"]
    both = {k: [f + b for f, b in zip(v["fwd"], v["bwd"])] for k, v in s.items()}
    grads = data["grads"]
    agree = "w.grad = PyTorch's" if grads["gradcli"] == grads["torch"] else f"w.grad differs: {grads}"
    return [
        Row(
            "small ops: forward per op (engine)",
            "us/op",
            per_op(s["gradcli"]["fwd"], ops),
            "PyTorch eager, same process",
            per_op(s["torch"]["fwd"], ops),
        ),
        Row(
            "small ops: backward per op (engine)",
            "us/op",
            per_op(s["gradcli"]["bwd"], ops),
            "PyTorch eager, same process",
            per_op(s["torch"]["bwd"], ops),
        ),
        Row(
            "small ops: fwd+bwd per op (engine)",
            "us/op",
            per_op(both["gradcli"], ops),
            "PyTorch eager, same process",
            per_op(both["torch"], ops),
            Target(0.5, "<= 0.5x"),
            agree,
        ),
        Row(
            "small ops: fwd+bwd per op, numpy floor",
            "us/op",
            per_op(both["gradcli"], ops),
            "hand-written numpy",
            per_op(both["numpy"], ops),
        ),
    ]


@workload(
    "small_ops_cli", "the same loop as small_ops.grad through `gradcli eval --no-table` (start-up taken off)"
)
def small_ops_cli(cfg: Config) -> list[Row]:
    n = cfg.size("small_ops_n")
    source = (WORKLOADS / "small_ops.grad").read_text()
    cli = cli_command() + ["eval", "--no-table"]
    full_runs, one_runs, torch_runs = [], [], []
    out = torch_out = ""
    with (
        tempfile.TemporaryDirectory() as tmp,
        workers(("torch",), WORKLOADS / "small_ops.grad", [f"N={n}"]) as ws,
    ):
        full, one = Path(tmp, "small_ops.grad"), Path(tmp, "small_ops_1.grad")
        full.write_text(child.set_constant(source, "N", n))
        one.write_text(child.set_constant(source, "N", 1))
        for _ in range(cfg.repeat):
            seconds, out = wall(cli + [str(full)])
            full_runs.append(seconds)
            one_runs.append(wall(cli + [str(one)])[0])
            result = ws["torch"].run()
            torch_runs.append(result["seconds"])
            torch_out = result["output"]
    # The median start-up is taken off each run: a difference of two single runs would carry both noises.
    start_up = statistics.median(one_runs)
    gradcli = [(s - start_up) / (3 * (n - 1)) * 1e6 for s in full_runs]
    return [
        Row(
            "small ops: fwd+bwd per op (CLI)",
            "us/op",
            gradcli,
            "PyTorch: same file, in-process",
            [s / (3 * n) * 1e6 for s in torch_runs],
            Target(0.65, "<= 0.65x"),
            output_note(out, torch_out),
        ),
    ]


def program_runs(cfg: Config, file: str, overrides: list[str], rounds: int = 1) -> dict:
    """The program timed in-process by each system (not its imports and warm-up), repetitions interleaved;
    `rounds` times the repetitions, for programs so short that a burst of load can tip a median of five."""
    runs = {system: {"seconds": [], "output": ""} for system in ("gradcli", "torch", "numpy")}
    with workers(tuple(runs), WORKLOADS / file, overrides) as ws:
        for _ in range(cfg.repeat * rounds):
            for system, w in ws.items():
                result = w.run()
                runs[system]["seconds"].append(result["seconds"])
                runs[system]["output"] = result["output"]
    return runs


@workload("mlp", "MLP step (256x512 @ 512x512, relu, @ 512x10, mean of squares, backward, SGD), 20 steps")
def mlp(cfg: Config) -> list[Row]:
    steps = cfg.size("mlp_steps")
    runs = program_runs(cfg, "mlp.grad", [f"STEPS={steps}"], rounds=3)  # a tenth of a second a run
    g = runs["gradcli"]["seconds"]
    return [
        Row(
            f"MLP: {steps} steps vs numpy",
            "s",
            g,
            "hand-written numpy",
            runs["numpy"]["seconds"],
            Target(1.10, "<= 1.10x"),
        ),
        Row(
            f"MLP: {steps} steps vs PyTorch",
            "s",
            g,
            "PyTorch: same file",
            runs["torch"]["seconds"],
            note=output_note(runs["gradcli"]["output"], runs["torch"]["output"]),
        ),
    ]


@workload(
    "memory", "25 x (exp, * 0.3) on a 4,000,000-element float32 vector, then backward; fresh process each"
)
def memory(cfg: Config) -> list[Row]:
    size = cfg.size("memory_size")
    scale = size / 4_000_000
    vector = size * FLOAT32 / MIB
    file = str(WORKLOADS / "memory.grad")
    m = {k: [] for k in ("gradcli", "torch", "numpy")}
    for _ in range(cfg.processes):
        for system in m:
            m[system].append(run_child("memory", system, file, "--set", f"SIZE={size}"))
    peak = {k: [r["peak_mib"] for r in v] for k, v in m.items()}
    live = 3 * vector + 1  # x, x.grad and y, and 1 MiB for the interpreter's own objects
    torch_after = statistics.median(r["after_mib"] for r in m["torch"])
    return [
        Row(
            "memory: peak RSS over baseline",
            "MiB",
            peak["gradcli"],
            "PyTorch: same file",
            peak["torch"],
            Target(480 * scale, f"<= {480 * scale:.0f} MiB", on="value"),
            f"traced peak {statistics.median(r['traced_peak_mib'] for r in m['gradcli']):.0f} MiB",
        ),
        Row("memory: peak RSS, numpy floor", "MiB", peak["gradcli"], "hand-written numpy", peak["numpy"]),
        Row(
            "memory: live after backward (traced)",
            "MiB",
            [r["traced_after_mib"] for r in m["gradcli"]],
            "hand-written numpy",
            [r["traced_after_mib"] for r in m["numpy"]],
            Target(live, f"<= {live:.1f} MiB", on="value"),
            f"PyTorch RSS after: +{torch_after:.0f} MiB",
        ),
    ]


@workload("long_graph", "a 100,000-node chain (y = y * 1.00001) on a 1-element tensor, built then backward")
def long_graph(cfg: Config) -> list[Row]:
    runs = program_runs(cfg, "long_graph.grad", [f"N={cfg.size('long_graph_n')}"])
    g = runs["gradcli"]["seconds"]
    return [
        Row(
            "long graph: build + backward",
            "s",
            g,
            "PyTorch: same file",
            runs["torch"]["seconds"],
            Target(1.0, "<= 1.0x"),
            output_note(runs["gradcli"]["output"], runs["torch"]["output"]),
        ),
        Row("long graph: numpy floor", "s", g, "hand-written numpy", runs["numpy"]["seconds"]),
    ]


@workload(
    "chain_memory", "peak memory of backward over a 50-op elementwise chain on a 4,000,000-element vector"
)
def chain_memory(cfg: Config) -> list[Row]:
    size = str(cfg.size("chain_size"))
    m = {k: [] for k in ("gradcli", "torch", "numpy")}
    for _ in range(cfg.processes):
        for system in m:
            m[system].append(run_child("chain-memory", system, "--size", size))
    peak = {k: [r["peak_mib"] for r in v] for k, v in m.items()}
    traced = statistics.median(r["traced_peak_mib"] for r in m["gradcli"])
    return [
        Row(
            "chain of 50: backward peak over before",
            "MiB",
            peak["gradcli"],
            "PyTorch eager",
            peak["torch"],
            note=f"gradcli traced {traced:.0f} MiB",
        ),
        Row(
            "chain of 50: backward peak, numpy floor",
            "MiB",
            peak["gradcli"],
            "hand-written numpy",
            peak["numpy"],
        ),
    ]


@workload("parse", "gradcli's parser on a 5,000-line program against ast.parse, same process")
def parse(cfg: Config) -> list[Row]:
    data = run_child("parse", "--lines", str(cfg.size("parse_lines")), "--repeat", str(cfg.repeat))
    s = data["samples"]
    return [
        Row(f"parse: {data['lines']:,} lines", "s", s["gradcli"], "ast.parse", s["ast"], Target(6.0, "<= 6x"))
    ]


# ----------------------------------------------------------------- output
def fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def spread(samples: list[float], unit: str) -> str:
    return f"{fmt(statistics.median(samples))} {unit} [{fmt(min(samples))}-{fmt(max(samples))}]"


def table(rows: list[Row]) -> str:
    header = (
        "workload",
        "gradcli median [min-max]",
        "baseline",
        "baseline median [min-max]",
        "ratio",
        "target",
        "result",
    )
    lines = []
    for r in rows:
        if r.error:
            lines.append(
                (r.label, "-", r.baseline_name, "-", "-", r.target.text if r.target else "-", "ERROR")
            )
            continue
        lines.append(
            (
                r.label,
                spread(r.gradcli, r.unit),
                r.baseline_name,
                spread(r.baseline, r.unit),
                f"{r.ratio:.2f}x",
                r.target.text if r.target else "-",
                r.result,
            )
        )
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(len(header))]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths)), "-+-".join("-" * w for w in widths)]
    out += [" | ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in lines]
    notes = [f"  {r.label}: {r.error or r.note}" for r in rows if r.error or r.note]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_state() -> str:
    if not shutil.which("git"):
        return "unknown"
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "gradcli"], capture_output=True, text=True, cwd=ROOT
    )
    return rev.stdout.strip() + (" + uncommitted changes in gradcli/" if dirty.stdout.strip() else "")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these workloads (repeatable, or comma-separated): {', '.join(REGISTRY)}",
    )
    p.add_argument("--repeat", type=int, help="repetitions per measurement (default 5; 3 with --quick)")
    p.add_argument("--json", metavar="PATH", help="also write the figures, every sample included, as JSON")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smaller workloads and 3 repetitions: checks the runner, not the targets",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="BLAS/OpenMP threads in each child (default 1, steady on a shared machine; "
        "0: the libraries' defaults)",
    )
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = p.parse_args(argv)
    if args.list:
        for name, (_, what) in REGISTRY.items():
            print(f"{name:14} {what}")
        return 0
    names = [n for item in args.only or [] for n in item.split(",") if n] or list(REGISTRY)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        p.error(f"unknown workload {', '.join(unknown)} (choose from {', '.join(REGISTRY)})")
    repeat = args.repeat or (3 if args.quick else 5)
    cfg = Config(repeat=repeat, quick=args.quick, sizes=SIZES)
    ENV.clear()  # every child of this run
    ENV.update(child_env(args.threads))

    load_before = os.getloadavg()
    started = time.perf_counter()
    rows: list[Row] = []
    for name in names:
        fn, what = REGISTRY[name]
        print(f"[{time.perf_counter() - started:5.0f} s] {name}: {what}", file=sys.stderr, flush=True)
        try:
            rows += fn(cfg)
        except (Failed, subprocess.TimeoutExpired, KeyError, ValueError) as exc:
            rows.append(Row(name, "", [], "", [], error=str(exc)))
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()

    meta = {
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "torch": version("torch"),
        "gradcli": git_state(),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_after,
        "repeat": repeat,
        "quick": args.quick,
        "seconds": elapsed,
        "sizes": {k: cfg.size(k) for k in SIZES},
        "threads": args.threads or "library defaults",
    }
    print(
        f"gradcli {meta['gradcli']}; Python {meta['python']}, numpy {meta['numpy']}, torch {meta['torch']}; "
        f"{meta['cpus']} CPUs, load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
        f"{repeat} repetitions, {meta['threads']} BLAS thread(s) per process; {elapsed:.0f} s"
    )
    if args.quick:
        print(
            "QUICK run: smaller workloads, fewer repetitions; the figures do not count against the targets."
        )
    print(table(rows))
    if args.json:
        doc = {"meta": meta, "rows": [asdict(r) for r in rows]}
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 1 if any(r.result == "ERROR" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
