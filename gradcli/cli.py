"""The command line: `gradcli eval`, `gradcli graph`, `gradcli repl`, and bare `gradcli`.

The only module that knows click, and the only place that turns errors into text and exit codes:
0 success, 1 the script failed, 2 usage error, 130 interrupted.
"""

from __future__ import annotations

import functools
import io
import os
import sys

import click

from . import __version__
from .errors import ScriptError
from .limits import DEFAULT, Limits

EXIT_SCRIPT_ERROR = 1
EXIT_INTERRUPTED = 130


def limit_options(fn):
    """The resource-limit flags, shared by every command that runs a script."""
    options = [
        click.option("--max-steps", type=click.IntRange(1), default=DEFAULT.max_steps, show_default=True,
                     help="Most loop iterations plus function calls a script may make."),
        click.option("--timeout", "max_seconds", type=click.FloatRange(0), default=DEFAULT.max_seconds,
                     show_default=True, help="Wall-clock seconds a script may run (0: no limit)."),
        click.option("--max-depth", type=click.IntRange(10, 10_000), default=DEFAULT.max_depth, show_default=True,
                     help="Deepest nesting of expressions and blocks."),
        click.option("--max-elements", type=click.IntRange(1), default=DEFAULT.max_elements, show_default=True,
                     help="Most elements in one tensor."),
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
    )


def _use_device(device):
    if device in (None, "cpu"):
        return
    from .backend import BackendUnavailable, use_device

    try:
        use_device(device)
    except BackendUnavailable as exc:
        raise click.ClickException(str(exc)) from None


def _read_source(path: str, run_limits: Limits) -> tuple[str, str]:
    """(text, display name) of the program at `path` ('-' is standard input)."""
    from .session import decode_source

    if path == "-":
        raw = sys.stdin.buffer.read(run_limits.max_source_bytes + 1)
        name = "<stdin>"
    else:
        try:
            size = os.path.getsize(path)
            if size > run_limits.max_source_bytes:
                raw = b"\0" * size  # decode_source reports the size; nothing is read
            else:
                with open(path, "rb") as fh:
                    raw = fh.read(run_limits.max_source_bytes + 1)
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
        name = path
    return decode_source(raw, filename=name, run_limits=run_limits), name


def _report(error: ScriptError, debug: bool) -> None:
    if debug and error.__cause__ is not None:
        import traceback

        traceback.print_exception(error.__cause__, file=sys.stderr)
    click.echo(error.render(), err=True)


def _quiet_broken_pipe(fn):
    """`gradcli eval x.grad | head -1` must end quietly, not with a BrokenPipeError traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(EXIT_SCRIPT_ERROR)

    return wrapper


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
@click.option("--no-table", is_flag=True, help="Print only the program's own output (exactly what PyTorch prints).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: output then tables; json: one JSON document with output, variables and error.")
@click.option("--vars", "var_names", metavar="NAMES", help="Comma-separated variables to show in the table.")
@click.option("--graph", "graph_name", metavar="NAME", help="Also draw the backward graph ending at variable NAME.")
@click.option("--color/--no-color", default=None, help="Colour the tables (default: when stdout is a terminal; "
              "NO_COLOR turns it off).")
@limit_options
@_quiet_broken_pipe
def eval_command(path, no_table, output_format, var_names, graph_name, color, **kw):
    """Run the program in FILE ('-' or nothing: standard input) and show its tensors."""
    from .session import run

    debug = kw.pop("debug")
    default_dtype = kw.pop("default_dtype")
    _use_device(kw.pop("device"))
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
    try:
        result = run(source, out=out, filename=name, default_dtype=default_dtype, run_limits=run_limits)
    except KeyboardInterrupt:
        sys.stdout.flush()
        click.echo("KeyboardInterrupt", err=True)
        sys.exit(EXIT_INTERRUPTED)
    names = [n.strip() for n in var_names.split(",") if n.strip()] if var_names else None

    if as_json:
        from .render import result_to_json

        click.echo(result_to_json(result, output=out.getvalue(), names=names))
    else:
        if result.error is not None:
            sys.stdout.flush()
            _report(result.error, debug)
        if not no_table:
            from .render import print_variables

            print_variables(result.variables, names=names, color=color)
        if graph_name:
            from .render import print_graph

            if not print_graph(result.variables, graph_name, color=color) and result.error is None:
                sys.exit(EXIT_SCRIPT_ERROR)
    sys.exit(EXIT_SCRIPT_ERROR if result.error is not None else 0)


@main.command()
@click.argument("path", metavar="FILE")
@click.argument("name")
@click.option("--format", "output_format", type=click.Choice(["text", "dot", "mermaid"]), default="text",
              show_default=True, help="text: a tree in the terminal; dot: Graphviz; mermaid: Markdown diagrams.")
@limit_options
def graph(path, name, output_format, **kw):
    """Run FILE and export the backward graph that ends at variable NAME."""
    from .render import export_graph
    from .session import run

    debug = kw.pop("debug")
    default_dtype = kw.pop("default_dtype")
    _use_device(kw.pop("device"))
    run_limits = _limits(kw)
    try:
        source, display = _read_source(path, run_limits)
    except ScriptError as exc:
        _report(exc, debug)
        sys.exit(EXIT_SCRIPT_ERROR)
    result = run(source, out=io.StringIO(), filename=display, default_dtype=default_dtype, run_limits=run_limits)
    if result.error is not None:
        _report(result.error, debug)
        sys.exit(EXIT_SCRIPT_ERROR)
    try:
        click.echo(export_graph(result.variables, name, output_format), nl=False)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from None


@main.command()
@limit_options
def repl(**kw):
    """Explore autograd line by line (history, completion, :help for meta-commands)."""
    from .repl import run_repl

    kw.pop("debug")
    default_dtype = kw.pop("default_dtype")
    _use_device(kw.pop("device"))
    sys.exit(run_repl(default_dtype=default_dtype, run_limits=_limits(kw)))


if __name__ == "__main__":
    main()
