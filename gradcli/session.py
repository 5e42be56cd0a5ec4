"""One run of a gradscript program: fresh engine state, limits in force, the result gathered for the
renderers. The CLI and the REPL both go through here; neither touches the interpreter's internals.
"""

from __future__ import annotations

import contextlib
import gc
import time
from dataclasses import dataclass, field

from . import dtypes, engine, formatting, limits
from .errors import ScriptError, ScriptSyntaxError


@dataclass
class RunResult:
    variables: dict  # the script's top-level names, in the order they were first bound
    error: ScriptError | None = None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def configure(*, default_dtype: str = "float32", run_limits: limits.Limits = limits.DEFAULT) -> None:
    """Reset the engine's global state for a new run (grad mode on, default dtype, limits)."""
    engine.GRAD.enabled = True
    engine.ANOMALY.enabled, engine.ANOMALY.check_nan = False, True
    dtypes.defaults.float = dtypes.by_name(default_dtype)
    formatting.OPTIONS.reset()
    limits.active = run_limits


def check_source_size(size: int, *, filename: str, run_limits: limits.Limits, at_least: bool = False) -> None:
    """Refuse a program of `size` bytes over --max-source-bytes (`at_least`: only its start was read)."""
    if size > run_limits.max_source_bytes:
        limit = f"{run_limits.max_source_bytes:,} bytes (--max-source-bytes)"
        if at_least:  # (only the start was read: its size is not known)
            raise limits.LimitError(f"the program is more than the limit of {limit}", filename=filename)
        raise limits.LimitError(f"the program is {size:,} bytes, over the limit of {limit}",
                                filename=filename)


def decode_source(raw: bytes, *, filename: str, run_limits: limits.Limits) -> str:
    """Bytes of a script -> text, refusing oversize or non-UTF-8 input before anything parses it.
    `raw` may be the first max_source_bytes + 1 bytes of something longer (standard input)."""
    check_source_size(len(raw), filename=filename, run_limits=run_limits,
                      at_least=len(raw) == run_limits.max_source_bytes + 1)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScriptSyntaxError(
            f"(unicode error) 'utf-8' codec can't decode byte 0x{raw[exc.start]:02x} in position "
            f"{exc.start}: {exc.reason}",
            line=line,
            column=column,
            filename=filename,
        ) from None


def new_interpreter(*, out, filename: str, run_limits: limits.Limits):
    from .interpreter import Interpreter

    return Interpreter(out=out, limits=run_limits, filename=filename)


def run(source: str, *, out, filename: str = "<script>", default_dtype: str = "float32",
        run_limits: limits.Limits = limits.DEFAULT) -> RunResult:
    """Run a whole program. Script errors are returned in the result, never raised.

    Ctrl-C is raised on (KeyboardInterrupt, with the variables so far as its `result`), and so is
    `OutputClosed` when `out` can no longer be written: neither is the script's error.
    """
    configure(default_dtype=default_dtype, run_limits=run_limits)
    interp = new_interpreter(out=out, filename=filename, run_limits=run_limits)
    start = time.perf_counter()
    error = None
    try:
        with quiet_collector():
            interp.run(source)
    except ScriptError as exc:
        error = exc
    except MemoryError as exc:  # met outside any script operation (the interpreter's own bookkeeping)
        error = limits.memory_error(exc, run_limits)
    except RecursionError:  # the same, for nesting: the interpreter refuses it before Python does
        error = limits.LimitError(f"the program nests too deeply (--max-depth {run_limits.max_depth})")
    except KeyboardInterrupt as exc:
        exc.result = RunResult(variables=user_variables(interp), seconds=time.perf_counter() - start)
        raise
    if error is not None and error.filename in (None, "<script>"):
        error.filename = filename
    return RunResult(variables=user_variables(interp), error=error, seconds=time.perf_counter() - start)


@contextlib.contextmanager
def quiet_collector():
    """Keep Python's cyclic garbage collector out of the engine's hot loop.

    The engine makes no reference cycles (nodes hold saved arrays, not their outputs), so refcounting frees
    graphs; but a full collection pass over every live tensor and node every 700 allocations cost about a
    third of a small op's time. Objects alive before the run (imports, tables) are frozen out of the
    collector's view, and collections happen 70 times less often while the script runs.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def user_variables(interp) -> dict:
    """The names the script bound itself (predefined ones like `torch` are left out unless rebound)."""
    predefined = getattr(interp, "predefined", {})
    return {k: v for k, v in interp.globals.items() if not (k in predefined and predefined[k] is v)}
