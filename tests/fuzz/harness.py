"""The fuzz targets and their pass bar.

Two targets take raw bytes, as the CLI does: `parse` (decode + parse) and `eval` (decode + parse +
lower + run under tight limits). The bar: anything raised other than gradcli's own `ScriptError`
is a crash; so is a run slower than `SLOW` seconds (a hang the limits missed), an error whose
rendering fails or puts a raw control character on the terminal, and a valid generated program
the parser refuses.

Besides crashes, `classify` notes *suspects*: a script error whose Python exception was raised by
accident inside the engine or numpy (an IndexError on a line that is not a `raise`, a numpy message
instead of PyTorch's). They are not failures of the sandbox, but they are where the engine does not
say what PyTorch would; the long run lists them.
"""

from __future__ import annotations

import dataclasses
import dis
import hashlib
import io
import os
import re
import time
import traceback

from gradcli import engine, limits, session
from gradcli.errors import ScriptError
from gradcli.interpreter import Interpreter
from gradcli.parser import parse

# Small enough that one case takes milliseconds, large enough for real tensor programs and for loops
# that nest data 100,000 deep (where C code recursing through it could overflow the stack).
LIMITS = limits.Limits(
    max_source_bytes=200_000,
    max_steps=300_000,
    max_seconds=3.0,
    max_elements=200_000,
    max_bytes=8 * 200_000,
    max_sequence=200_000,
    max_int_bits=4096,
    max_memory=1024**3,
)
SLOW = 5.0  # seconds: past this a case counts as a hang even if it ended
_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_PACKAGE = os.path.dirname(os.path.abspath(engine.__file__))


@dataclasses.dataclass
class Crash(Exception):
    """An input that broke the pass bar."""

    target: str
    what: str  # one line: the exception type and message, or the broken rule
    data: bytes
    detail: str = ""  # the traceback

    def __str__(self):
        return f"{self.target}: {self.what}\ninput: {self.data[:300]!r}\n{self.detail}"

    @property
    def key(self) -> str:
        """Crashes with the same key are the same bug: the kind, and the innermost frame it came from."""
        frames = _FRAME.findall(self.detail)
        if not frames:
            return self.what
        return f"{self.what.split(':')[0]} at {os.path.basename(frames[-1][0])}:{frames[-1][1]}"

    def file_name(self) -> str:
        digest = hashlib.sha1(self.data).hexdigest()[:12]
        return f"{self.target}-{digest}.grad"


def _check_error(target: str, data: bytes, err: ScriptError) -> None:
    try:
        text = err.render()
        err.to_dict()
    except Exception as exc:  # noqa: BLE001 - the bar: rendering an error never fails
        raise Crash(target, f"error.render() raised {type(exc).__name__}: {exc}", data,
                    traceback.format_exc()) from exc
    if _CONTROL.search(text):
        raise Crash(target, "a raw control character reaches the terminal", data, repr(text))
    if err.line is None and "(--max-source-bytes)" not in err.message:
        what = f"an error without a line and column: {err.kind}: {err.message}"
        raise Crash(target, what[:300], data, text)
    if err.column is None:
        raise Crash(target, "an error with a line but no column", data, text)


def _run(target: str, data: bytes, fn) -> ScriptError | None:
    start = time.perf_counter()
    try:
        fn()
    except ScriptError as err:
        _check_error(target, data, err)
        return err
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the bar: nothing else may escape
        raise Crash(target, f"{type(exc).__name__}: {exc}"[:300], data, traceback.format_exc()) from exc
    finally:
        elapsed = time.perf_counter() - start
        if elapsed > SLOW:
            raise Crash(target, f"took {elapsed:.1f} s", data)
    return None


def check_parse(data: bytes) -> ScriptError | None:
    """Bytes -> AST, as `gradcli eval` reads a file. Returns the script error, if any."""

    def go():
        source = session.decode_source(data, filename="<fuzz>", run_limits=LIMITS)
        parse(source, filename="<fuzz>", limits=LIMITS)

    return _run("parse", data, go)


def check_eval(data: bytes, out: io.StringIO | None = None) -> ScriptError | None:
    """Bytes -> a whole run under LIMITS. (`isolated` runs it in a child process, with a memory cap.)"""

    def go():
        source = session.decode_source(data, filename="<fuzz>", run_limits=LIMITS)
        session.configure(run_limits=LIMITS)
        sink = out if out is not None else io.StringIO()
        Interpreter(out=sink, limits=LIMITS, filename="<fuzz>").run(source)

    try:
        return _run("eval", data, go)
    finally:
        session.configure()  # grad mode and default dtype back for whatever runs next


def check_valid(source: str) -> None:
    """A generated program is valid Python in the subset: the parser must accept it."""
    err = check_parse(source.encode("utf-8"))
    if err is not None and err.kind != "LimitError":
        raise Crash("parse", f"a valid program was refused: {err.kind}: {err.message}", source.encode(),
                    err.render())


def _raised_on_purpose(tb) -> bool:
    """Whether the innermost frame stopped at a `raise` statement (read from the bytecode, so that a
    source file edited since it was imported cannot mislead)."""
    code = tb.tb_frame.f_code.co_code
    return tb.tb_lasti < len(code) and dis.opname[code[tb.tb_lasti]] in ("RAISE_VARARGS", "RERAISE")


def classify(err: ScriptError | None) -> str | None:
    """A one-line description when `err` looks like an accident inside the engine, else None."""
    cause = getattr(err, "__cause__", None)
    if cause is None or err.kind in ("LimitError", "SyntaxError"):
        return None
    tb = cause.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    frames = traceback.extract_tb(cause.__traceback__)
    last = frames[-1]
    path = os.path.abspath(last.filename)
    if path.startswith(_PACKAGE):
        if path.endswith("interpreter.py"):
            return None  # a builtin or operator applied to the script's own values: Python's error
        if _raised_on_purpose(tb):
            return None
        where = f"{os.path.basename(path)}:{last.lineno}"
    elif "numpy" in path:
        inner = [f for f in frames if os.path.abspath(f.filename).startswith(_PACKAGE)]
        where = f"numpy via {os.path.basename(inner[-1].filename)}:{inner[-1].lineno}" if inner else "numpy"
    else:
        return None
    return f"{err.kind} at {where}: {err.message[:120]}"


# ----------------------------------------------------------------- isolation
# A crash of the process itself (a C stack overflow is a SIGSEGV) would take the fuzzer down with it, and
# a hang inside one C call would stop it. So batches run in forked children: a child that dies or hangs
# is run again one input at a time, and the inputs that kill a child are crashes too.


def _child(check, inputs, fd, with_notes: bool) -> None:
    import faulthandler
    import pickle

    faulthandler.disable()  # a crash is reported by the parent, without a dump of the child's stack
    found = []
    notes = []
    with limits.address_space_limit(LIMITS.max_memory):
        for data in inputs:
            try:
                err = check(data)
            except Crash as crash:
                found.append((crash.target, crash.what, crash.data, crash.detail))
                continue
            except BaseException as exc:  # noqa: BLE001 - report, never let the child's exit code lie
                found.append(("harness", f"{type(exc).__name__}: {exc}", data, traceback.format_exc()))
                continue
            note = classify(err) if with_notes else None
            if note is not None:
                notes.append(note)
    payload = pickle.dumps((found, notes))
    while payload:
        payload = payload[os.write(fd, payload):]


def _fork(check, inputs, seconds: float, with_notes: bool = False):
    """(crashes, suspect notes, how the child ended: None for a clean exit, else a description)."""
    import pickle
    import select
    import signal

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        code = 0
        try:
            _child(check, inputs, write, with_notes)
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)
    os.close(write)
    chunks = []
    deadline = time.monotonic() + seconds
    ended = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            ended = f"no answer in {seconds:.0f} s (killed)"
            break
        ready, _, _ = select.select([read], [], [], left)
        if ready:
            chunk = os.read(read, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if ended is None and os.WIFSIGNALED(status):
        ended = f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    elif ended is None and os.WEXITSTATUS(status) != 0:
        ended = f"exit status {os.WEXITSTATUS(status)}"
    if ended is not None:
        return [], [], ended
    crashes, notes = pickle.loads(b"".join(chunks))
    return [Crash(*c) for c in crashes], notes, None


def isolated(check, inputs: list[bytes], target: str, notes: list | None = None) -> list[Crash]:
    """Run `check` on every input in child processes; return every crash, deaths of the child included.
    With a `notes` list, the suspects (`classify`) of the runs are added to it."""
    if not hasattr(os, "fork"):
        found = []
        for data in inputs:
            try:
                err = check(data)
            except Crash as crash:
                found.append(crash)
                continue
            if notes is not None and classify(err) is not None:
                notes.append(classify(err))
        return found
    crashes, found_notes, ended = _fork(check, inputs, SLOW * len(inputs) + 30, notes is not None)
    if ended is None:
        if notes is not None:
            notes.extend(found_notes)
        return crashes
    found = []
    for data in inputs:  # find the input(s) that took the child down
        crashes, found_notes, ended = _fork(check, [data], SLOW + 30, notes is not None)
        found.extend(crashes)
        if notes is not None:
            notes.extend(found_notes)
        if ended is not None:
            found.append(Crash(target, f"the process running it: {ended}", data))
    return found
