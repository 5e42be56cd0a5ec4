"""The command line: `gradcli eval`, `gradcli graph`, `gradcli repl`, and bare `gradcli`.

The only module that knows click, and the only place that turns errors into text and exit codes:
0 success, 1 the script failed, 2 usage error, 130 interrupted.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import select
import signal
import sys
import typing

import click

from . import __version__
from .errors import LimitError, OutputClosed, ScriptError, printable
from .limits import DEFAULT, Limits, address_space_limit, format_bytes, parse_bytes

EXIT_SCRIPT_ERROR = 1
EXIT_INTERRUPTED = 130


def _not_nan(ctx, param, value):
    if value != value:
        raise click.BadParameter(f"{value} is not a number of seconds (0: no limit).")
    return value


class _Size(click.ParamType):
    """A size in bytes: 4G, 512M, 1.5G or a number of bytes (0 allowed only where it means no limit)."""

    name = "SIZE"

    def __init__(self, zero_ok: bool = False):
        self.zero_ok = zero_ok

    def convert(self, value, param, ctx):
        try:
            size = value if isinstance(value, int) else parse_bytes(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if size == 0 and not self.zero_ok:
            self.fail("must be more than 0", param, ctx)
        return size


def limit_options(fn):
    """The resource-limit flags, shared by every command that runs a script."""
    options = [
        click.option("--max-steps", type=click.IntRange(1), default=DEFAULT.max_steps, show_default=True,
                     help="Most loop iterations plus function calls a script may make."),
        # (at most about 30 years: the watchdog's timer and select() take no larger timeouts; nan is refused)
        click.option("--timeout", "max_seconds", type=click.FloatRange(0, 1e9), default=DEFAULT.max_seconds,
                     show_default=True, callback=_not_nan,
                     help="Wall-clock seconds a script may run (0: no limit)."),
        # past about 2,000 the Python frames it takes would not fit under a recursion limit that is
        # safe for the C stack (see interpreter._SAFE_RECURSION_LIMIT)
        click.option("--max-depth", type=click.IntRange(10, 2_000), default=DEFAULT.max_depth,
                     show_default=True, help="Deepest nesting of expressions and blocks."),
        click.option("--max-elements", type=click.IntRange(1), default=DEFAULT.max_elements,
                     show_default=True, help="Most elements in one tensor."),
        click.option("--max-tensor-bytes", "max_bytes", type=_Size(),
                     default=format_bytes(DEFAULT.max_bytes).replace(" ", ""), show_default=True,
                     help="Largest tensor, in bytes (e.g. 512M)."),
        click.option("--max-call-depth", type=click.IntRange(1, 10_000), default=DEFAULT.max_call_depth,
                     show_default=True, help="Deepest nesting of script function calls (recursion)."),
        click.option("--max-int-bits", type=click.IntRange(64), default=DEFAULT.max_int_bits,
                     show_default=True, help="Largest integer an operation may make, in bits."),
        click.option("--max-sequence", type=click.IntRange(1), default=DEFAULT.max_sequence,
                     show_default=True, help="Longest str, list or tuple an operation may make."),
        click.option("--max-memory", type=_Size(zero_ok=True),
                     default=format_bytes(DEFAULT.max_memory).replace(" ", ""),
                     show_default=True, help="Most memory a script may take on top of gradcli's own, e.g. "
                     "512M or 8G (0: no limit; enforced on Linux, not with --device cuda)."),
        click.option("--max-source-bytes", type=click.IntRange(1), default=DEFAULT.max_source_bytes,
                     show_default=True, help="Largest program accepted, in bytes."),
        click.option("--dtype", "default_dtype", type=click.Choice(["float32", "float64"]), default="float32",
                     show_default=True, help="Default float dtype (as torch.set_default_dtype)."),
        click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None, envvar="GRADCLI_DEVICE",
                     help="Where tensors live (cuda needs CuPy and an NVIDIA GPU). [env: GRADCLI_DEVICE]"),
        click.option("--debug", is_flag=True, help="Show gradcli's own Python traceback on errors."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _limits(kw) -> Limits:
    return DEFAULT.with_(
        max_steps=kw.pop("max_steps"),
        max_seconds=kw.pop("max_seconds"),
        max_depth=kw.pop("max_depth"),
        max_elements=kw.pop("max_elements"),
        max_source_bytes=kw.pop("max_source_bytes"),
        max_memory=kw.pop("max_memory"),
        max_bytes=kw.pop("max_bytes"),
        max_call_depth=kw.pop("max_call_depth"),
        max_int_bits=kw.pop("max_int_bits"),
        max_sequence=kw.pop("max_sequence"),
    )


def _use_device(device):
    from .backend import BackendUnavailable, use_device

    if device in (None, "cpu"):
        use_device("cpu")  # (a run in the same process as an earlier --device cuda one starts on the CPU)
        return

    try:
        use_device(device)
    except BackendUnavailable as exc:
        raise click.ClickException(str(exc)) from None


def _read_source(path: str, run_limits: Limits) -> tuple[str, str]:
    """(text, display name) of the program at `path` ('-' is standard input)."""
    from .session import check_source_size, decode_source

    if path == "-":
        raw = sys.stdin.buffer.read(run_limits.max_source_bytes + 1)
        name = "<stdin>"
    else:
        try:
            # a file over the limit is refused by its size alone: nothing of it is read
            check_source_size(os.path.getsize(path), filename=path, run_limits=run_limits)
            with open(path, "rb") as fh:
                raw = fh.read(run_limits.max_source_bytes + 1)  # +1: a file that grew is still caught
        except OSError as exc:
            raise click.ClickException(f"cannot read {printable(path)}: {exc.strerror}") from None
        name = path
    return decode_source(raw, filename=name, run_limits=run_limits), name


def _report(error: ScriptError, debug: bool) -> None:
    if debug and error.__cause__ is not None:
        import traceback

        traceback.print_exception(error.__cause__, file=sys.stderr)
    click.echo(error.render(), err=True)


def _flush_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()


def _interrupted() -> typing.NoReturn:
    """Ctrl-C: what was printed stays printed, then exit 130 (as a shell reports SIGINT)."""
    _flush_stdout()
    with contextlib.suppress(OSError, ValueError):
        click.echo("KeyboardInterrupt", err=True)
    sys.exit(EXIT_INTERRUPTED)


def _output_closed(exc: BaseException) -> typing.NoReturn:
    """Standard output went away. A reader that left (`gradcli eval x.grad | head -1`) is no error to
    report: end quietly. Anything else (a full disk) is said once on stderr."""
    cause = exc.__cause__ if isinstance(exc, OutputClosed) else exc
    if not isinstance(cause, BrokenPipeError):
        with contextlib.suppress(OSError, ValueError):
            click.echo(f"gradcli: cannot write the output: {printable(str(cause))}", err=True)
    with contextlib.suppress(OSError, ValueError):
        # Python flushes stdout once more at exit: let that write go nowhere instead of failing again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_SCRIPT_ERROR)


def _guarded(fn):
    """Whatever a script does, a command ends with a message and an exit code, never a traceback:
    Ctrl-C gives 130, a closed stdout ends quietly, and a bug in gradcli itself is reported as one
    (with its traceback under --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        debug = kwargs.get("debug", False)
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:
            _interrupted()
        except (OutputClosed, BrokenPipeError) as exc:
            _output_closed(exc)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                _output_closed(exc)
            _internal_error(exc, debug)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except MemoryError as exc:
            from .limits import memory_error

            _flush_stdout()
            click.echo(memory_error(exc).render(), err=True)
            sys.exit(EXIT_SCRIPT_ERROR)
        except Exception as exc:
            _internal_error(exc, debug)

    return wrapper


def _internal_error(exc: BaseException, debug: bool) -> typing.NoReturn:
    _flush_stdout()
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    message = printable(f"{type(exc).__name__}: {exc}")
    click.echo(f"gradcli: internal error: {message}\n(a bug in gradcli, not in the script; --debug shows "
               "where)", err=True)
    sys.exit(EXIT_SCRIPT_ERROR)


def _owns_the_process() -> bool:
    """True when gradcli runs as its own command, not inside another program (click's CliRunner, a test
    runner calling main()): only then may it cap the process's memory or end it from a watchdog."""
    try:
        sys.stdout.fileno()
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _timeout_error(seconds: float) -> LimitError:
    return LimitError(f"the program ran longer than {seconds:g} s (--timeout), and was stopped inside one "
                      "operation that did not return in time")


def _start_helper(child) -> tuple[int, int]:
    """Fork a watchdog helper that runs child(read end of a pipe) and leaves with _exit (no atexit, no
    flushing, Ctrl-C ignored: it is for the run). Returns (pid, write end); closing the write end ends it.
    Call it before --device cuda starts CUDA: the driver's threads make a fork unsafe (a lock one of them
    held stays held in the child, which could then never leave) and Python warns of it on stderr."""
    read, write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            os.close(write)
            child(read)
        finally:
            os._exit(0)
    os.close(read)
    return pid, write


def _stop_helper(helper) -> None:
    pid, write = helper
    os.close(write)  # the helper sees the end of the pipe and leaves
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)


class _Watchdog:
    """The last resort behind --timeout. The interpreter looks at the clock between steps, but one
    operation can run for minutes without returning to it: a huge matmul, or repr() of shared nested data
    (`x = (x, x)` sixty times), which runs in C holding the GIL, so no Python thread can even notice.
    So the watchdog is a forked helper process and a faulthandler timer, neither of which needs the GIL:
    `grace` seconds after the deadline the helper says why on stderr (for --format json, also a document
    on stdout), and the timer ends the process with exit 1. A run that ends in time closes the pipe the
    helper waits on, and the helper leaves without a word. What the script printed was flushed as it was
    printed (gradscript's print flushes), so it stays."""

    def __init__(self, seconds: float, *, as_json: bool = False):
        self.seconds = seconds
        self.grace = 1.0 + seconds / 10
        self.as_json = as_json
        self.helper = None

    def __enter__(self):
        if not self.seconds or not hasattr(os, "fork"):
            return self
        import faulthandler

        error = _timeout_error(self.seconds)
        stderr = (error.render() + "\n").encode("utf-8", "replace")
        stdout = b""
        if self.as_json:
            from .render import result_to_json
            from .session import RunResult

            stdout = (result_to_json(RunResult(variables={}, error=error)) + "\n").encode()
        wait = self.seconds + self.grace

        def child(read):  # nothing but a wait and two writes
            ready, _, _ = select.select([read], [], [], wait)
            if not ready:
                if stdout:
                    _write_all(1, stdout)
                _write_all(2, stderr)

        self.helper = _start_helper(child)
        self.devnull = open(os.devnull, "w")  # noqa: SIM115 - the timer writes its traceback here
        try:
            faulthandler.dump_traceback_later(wait + 0.5, exit=True, file=self.devnull)
        except (RuntimeError, MemoryError):  # no thread under a tiny --max-memory: the helper still speaks
            pass
        return self

    def __exit__(self, *exc_info):
        if self.helper is not None:
            import faulthandler

            faulthandler.cancel_dump_traceback_later()
            _stop_helper(self.helper)
            self.devnull.close()
            self.helper = None
        return False


class _SessionWatchdog:
    """The --timeout watchdog of a REPL session, armed around each input: one helper process for the whole
    session (a fork per input would cost milliseconds each) and the faulthandler timer, re-armed per input.
    As for `eval`, an input that one operation keeps past the timeout is said on stderr by the helper, and
    the timer ends the process with exit 1: the session ends rather than hangs."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.wait = seconds + 1.0 + seconds / 10
        self.helper = None

    def __enter__(self):
        if not self.seconds or not hasattr(os, "fork"):
            return self
        import time

        stderr = (_timeout_error(self.seconds).render() + "\n").encode("utf-8", "replace")
        wait = self.wait

        def child(read):  # b"a" arms it, b"d" disarms it, the pipe's end ends it
            deadline = None
            while True:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select([read], [], [], timeout)
                if not ready:
                    _write_all(2, stderr)
                    deadline = None
                    continue
                data = os.read(read, 256)
                if not data:
                    break
                deadline = time.monotonic() + wait if data[-1:] == b"a" else None

        self.helper = _start_helper(child)
        self.devnull = open(os.devnull, "w")  # noqa: SIM115 - the timer writes its traceback here
        return self

    @contextlib.contextmanager
    def armed(self):
        if self.helper is None:
            yield
            return
        import faulthandler

        _write_all(self.helper[1], b"a")
        try:
            faulthandler.dump_traceback_later(self.wait + 0.5, exit=True, file=self.devnull)
        except (RuntimeError, MemoryError):  # (no thread under a tiny --max-memory: the helper still speaks)
            pass
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
            _write_all(self.helper[1], b"d")

    def __exit__(self, *exc_info):
        if self.helper is not None:
            _stop_helper(self.helper)
            self.devnull.close()
            self.helper = None
        return False


def _write_all(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):
        while data:
            data = data[os.write(fd, data):]


@contextlib.contextmanager
def _process_limits(run_limits: Limits, device, *, as_json: bool = False):
    """The limits only a whole process can enforce: an address-space cap for --max-memory (not under
    CUDA, which maps far more than it uses) and the --timeout watchdog; then the device is chosen."""
    if not _owns_the_process():
        _use_device(device)
        yield
        return
    budget = 0 if device == "cuda" else run_limits.max_memory
    # The cap first: the watchdog's timer thread would otherwise get a malloc arena of its own, 64 MB of
    # address space reserved outside the budget's reckoning; under the cap glibc shares the main arena.
    with address_space_limit(budget), _Watchdog(run_limits.max_seconds, as_json=as_json):
        _use_device(device)  # after the fork: see _start_helper
        yield


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="gradcli")
@click.pass_context
def main(ctx):
    """Run gradscript programs (Python + PyTorch autograd, in a safe subset) and see their gradients.

    With no command: a program piped on standard input is evaluated; at a terminal, the REPL opens.
    """
    if ctx.invoked_subcommand is not None:
        return
    if sys.stdin.isatty():
        ctx.invoke(repl)
    else:
        ctx.invoke(eval_command, path="-")


@main.command("eval")
@click.argument("path", default="-", metavar="FILE")
@click.option("--no-table", is_flag=True,
              help="Print only the program's own output (exactly what PyTorch prints).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True,
              help="text: output then tables; json: one JSON document with output, variables and error.")
@click.option("--vars", "var_names", metavar="NAMES", help="Comma-separated variables to show in the table.")
@click.option("--graph", "graph_name", metavar="NAME",
              help="Also draw the backward graph ending at variable NAME.")
@click.option("--color/--no-color", default=None,
              help="Colour the tables (default: when stdout is a terminal; NO_COLOR turns it off).")
@limit_options
@_guarded
def eval_command(path, no_table, output_format, var_names, graph_name, color, **kw):
    """Run the program in FILE ('-' or nothing: standard input) and show its tensors."""
    from .session import run

    debug = kw.pop("debug")
    default_dtype = kw.pop("default_dtype")
    device = kw.pop("device")
    run_limits = _limits(kw)
    as_json = output_format == "json"
    try:
        source, name = _read_source(path, run_limits)
    except ScriptError as exc:
        if as_json:
            from .render import result_to_json
            from .session import RunResult

            click.echo(result_to_json(RunResult(variables={}, error=exc)))
        else:
            _report(exc, debug)
        sys.exit(EXIT_SCRIPT_ERROR)

    out = io.StringIO() if as_json else sys.stdout
    names = [n.strip() for n in var_names.split(",") if n.strip()] if var_names else None
    try:
        # What the script left behind is drawn under its limits too: the JSON values of ten 10**8-element
        # tensors, or the dot graph of millions of nodes, would otherwise take minutes and tens of GB
        # after the run's own limits were lifted.
        with _process_limits(run_limits, device, as_json=as_json):
            result = run(source, out=out, filename=name, default_dtype=default_dtype, run_limits=run_limits)
            if as_json:
                document = _json_document(result, out.getvalue(), names)
            else:
                code = _show_result(result, no_table, names, graph_name, color, debug)
    except KeyboardInterrupt as exc:
        if not as_json:
            raise
        # one JSON document whatever happens: the output so far, the tensors so far, the interruption
        from .render import result_to_json
        from .session import RunResult

        partial = getattr(exc, "result", None) or RunResult(variables={})
        partial.error = ScriptError("", kind="KeyboardInterrupt")
        click.echo(result_to_json(partial, output=out.getvalue(), names=names))
        sys.exit(EXIT_INTERRUPTED)

    if as_json:
        click.echo(document)
        sys.exit(EXIT_SCRIPT_ERROR if result.error is not None or document.failed else 0)
    sys.exit(code)


class _Document(str):
    failed = False


def _json_document(result, output: str, names) -> _Document:
    """The --format json document; past --max-memory, one that reports that limit in place of the tensors."""
    from .render import result_to_json
    from .session import RunResult

    try:
        return _Document(result_to_json(result, output=output, names=names))
    except MemoryError:
        from . import limits

        budget = limits.active.max_memory
        error = LimitError(f"the JSON document of the program's tensors needs more memory than the limit of "
                           f"{format_bytes(budget)} (--max-memory)" if budget else
                           "the JSON document of the program's tensors needs more memory than is available")
        document = _Document(result_to_json(RunResult(variables={}, error=error), output=output))
        document.failed = True
        return document


def _show_result(result, no_table, names, graph_name, color, debug) -> int:
    """The error, the table and the graph of a text-mode run; the exit code."""
    if result.error is not None:
        sys.stdout.flush()
        _report(result.error, debug)
    if not no_table:
        from .render import print_variables

        print_variables(result.variables, names=names, color=color)
    if graph_name:
        from .render import print_graph

        if not print_graph(result.variables, graph_name, color=color) and result.error is None:
            return EXIT_SCRIPT_ERROR
    return EXIT_SCRIPT_ERROR if result.error is not None else 0


@main.command()
@click.argument("path", metavar="FILE")
@click.argument("name")
@click.option("--format", "output_format", type=click.Choice(["text", "dot", "mermaid"]), default="text",
              show_default=True,
              help="text: a tree in the terminal; dot: Graphviz; mermaid: Markdown diagrams.")
@limit_options
@_guarded
def graph(path, name, output_format, **kw):
    """Run FILE and export the backward graph that ends at variable NAME."""
    from .render import export_graph
    from .session import run

    debug = kw.pop("debug")
    default_dtype = kw.pop("default_dtype")
    device = kw.pop("device")
    run_limits = _limits(kw)
    try:
        source, display = _read_source(path, run_limits)
    except ScriptError as exc:
        _report(exc, debug)
        sys.exit(EXIT_SCRIPT_ERROR)
    with _process_limits(run_limits, device):
        result = run(source, out=io.StringIO(), filename=display, default_dtype=default_dtype,
                     run_limits=run_limits)
        if result.error is None:
            try:  # (under the limits: the dot text of millions of nodes takes as long and as much again)
                text = export_graph(result.variables, name, output_format)
            except KeyError as exc:
                raise click.ClickException(str(exc.args[0])) from None
    if result.error is not None:
        _report(result.error, debug)
        sys.exit(EXIT_SCRIPT_ERROR)
    click.echo(text, nl=False)


@main.command()
@click.option("--color/--no-color", default=None,
              help="Colour the tables, graphs and the input (default: when stdout is a terminal; NO_COLOR "
              "turns it off).")
@limit_options
@_guarded
def repl(color, **kw):
    """Explore autograd line by line (history, completion, :help for meta-commands)."""
    from .repl import run_repl

    global _ends_at_once
    _ends_at_once = False  # (the terminal's state and the history file are left to Python's own exit)
    kw.pop("debug")
    default_dtype = kw.pop("default_dtype")
    device = kw.pop("device")
    run_limits = _limits(kw)
    # --max-memory caps the whole session, as it caps one `eval` (a piped REPL runs untrusted lines too),
    # and each input runs under the --timeout watchdog, which ends the session if one operation outlasts it
    owned = _owns_the_process()
    budget = 0 if device == "cuda" or not owned else run_limits.max_memory
    watchdog = _SessionWatchdog(run_limits.max_seconds if owned else 0)
    with address_space_limit(budget), watchdog:
        _use_device(device)  # after the watchdog's fork: see _start_helper
        code = run_repl(default_dtype=default_dtype, run_limits=run_limits, color=color,
                        run_guard=watchdog.armed)
    sys.exit(code)


_ends_at_once = True


def entry() -> typing.NoReturn:
    """The `gradcli` command. Once a command has run and its output is flushed, the process ends at once
    (os._exit), skipping Python's teardown of numpy and of every object the run made: about 20 ms, an eighth
    of a whole `gradcli eval` (benchmarks/FINDINGS.md). Nothing is left to that teardown: the commands
    close what they open, and the watchdog's helper ends with the command. The REPL exits the usual way."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if not _ends_at_once:
        sys.exit(code)
    if code is None:
        code = 0
    elif not isinstance(code, int):  # (sys.exit("message"): Python prints it and exits 1)
        with contextlib.suppress(OSError, ValueError):
            print(code, file=sys.stderr)
        code = EXIT_SCRIPT_ERROR
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # the reader left before the last write: the output-closed exit
        code = code or EXIT_SCRIPT_ERROR
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
