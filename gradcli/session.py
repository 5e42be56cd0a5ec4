"""One run of a gradscript program: fresh engine state, limits in force, the result gathered for the
renderers. The CLI and the REPL both go through here; neither touches the interpreter's internals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from . import dtypes, engine, limits
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
    dtypes.defaults.float = dtypes.by_name(default_dtype)
    limits.active = run_limits


def decode_source(raw: bytes, *, filename: str, run_limits: limits.Limits) -> str:
    """Bytes of a script -> text, refusing oversize or non-UTF-8 input before anything parses it."""
    if len(raw) > run_limits.max_source_bytes:
        raise limits.LimitError(
            f"the program is {len(raw):,} bytes, over the limit of {run_limits.max_source_bytes:,} "
            "(--max-source-bytes)",
            filename=filename,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScriptSyntaxError(
            f"(unicode error) 'utf-8' codec can't decode byte 0x{raw[exc.start]:02x} in position {exc.start}: "
            f"{exc.reason}",
            line=line,
            column=column,
            filename=filename,
        ) from None


def new_interpreter(*, out, filename: str, run_limits: limits.Limits):
    from .interpreter import Interpreter

    return Interpreter(out=out, limits=run_limits, filename=filename)


def run(source: str, *, out, filename: str = "<script>", default_dtype: str = "float32",
        run_limits: limits.Limits = limits.DEFAULT) -> RunResult:
    """Run a whole program. Script errors are returned in the result, never raised."""
    configure(default_dtype=default_dtype, run_limits=run_limits)
    interp = new_interpreter(out=out, filename=filename, run_limits=run_limits)
    start = time.perf_counter()
    error = None
    try:
        interp.run(source)
    except ScriptError as exc:
        error = exc
        if exc.filename in (None, "<script>"):
            exc.filename = filename
    return RunResult(variables=user_variables(interp), error=error, seconds=time.perf_counter() - start)


def user_variables(interp) -> dict:
    """The names the script bound itself (predefined ones like `torch` are left out unless rebound)."""
    predefined = getattr(interp, "predefined", {})
    return {k: v for k, v in interp.globals.items() if not (k in predefined and predefined[k] is v)}
