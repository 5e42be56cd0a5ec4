"""The interactive session: `gradcli repl`, and bare `gradcli` at a terminal.

Two layers, so that the loop can be tested without a terminal:

- `Repl` is the loop's logic and knows nothing of terminals: it decides when an input is complete
  (`needs_more`), runs it in one persistent scope, echoes an expression's value as Python's REPL does, runs
  the meta-commands (`:vars`, `:graph`, `:save`...), keeps the record that `:save` writes, and completes
  names the way the sandbox sees them.
- `run_repl` is a thin prompt_toolkit front end (history, highlighting, Tab completion, Ctrl-C/Ctrl-D).
  prompt_toolkit and pygments are imported only there, when the REPL starts, so that `gradcli eval` never
  pays for them.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from pathlib import Path

from . import __version__
from .errors import ScriptError, ScriptSyntaxError
from .limits import DEFAULT, Limits

FILENAME = "<stdin>"  # what errors name as the file, as in Python's REPL
PROMPT = ">>> "
CONTINUATION = "... "
INDENT = "    "

HELP = """\
Meta-commands:
  :help             this text
  :vars [NAMES]     the table of tensor variables (all, or the comma-separated NAMES)
  :graph NAME       the backward graph that ends at tensor NAME
  :reset            a fresh scope (only torch defined); :save starts recording again
  :load FILE        run the script FILE in the current scope
  :save FILE        write the input accepted so far as a script that runs under gradcli and PyTorch
  :quit             leave (Ctrl-D too)

Enter runs the input. After a line ending with ':' (for, if, while, with, def, class...) or inside an
unclosed bracket the prompt becomes '...'; a blank line ends the block. An expression shows its value.
Tab completes names, tensor attributes and methods, and torch members. Up and down recall earlier input.
Ctrl-C cancels the input, or stops a running program (the variables it set so far are kept).
"""

_META_COMMANDS = (":help", ":vars", ":graph", ":reset", ":load", ":save", ":quit")
_ALIASES = {":h": ":help", ":?": ":help", ":q": ":quit", ":exit": ":quit"}
_LEAVE_WORDS = frozenset({"exit", "quit", "exit()", "quit()"})  # what a Python user types to leave

# Statements that open a block: Python's REPL waits for a blank line after them, even `if x: y`.
_COMPOUND = ("If", "For", "While", "With", "FunctionDef", "ClassDef", "Try")

# Incomplete input, told apart from wrong input by the parser's messages. These two can only mean that
# the text stopped too early, whatever follows:
_UNFINISHED_ANYWHERE = (
    re.compile(r"'.' was never closed$"),
    re.compile(r"^unterminated triple-quoted string"),
)
# ...and these mean it too, when they are reported at the very end of the text (`if x:` then nothing
# yet), but are real errors elsewhere (`if x:` then an unindented line) or after the closing blank line.
_UNFINISHED_AT_END = (
    re.compile(r"^expected an indented block"),
    re.compile(r"^expected 'except' or 'finally' block$"),
    re.compile(r"^decorators are only allowed"),
    re.compile(r"^unexpected unindent$"),  # a decorator in a block (`class F:` then `    @staticmethod`)
)

_DOTTED_TAIL = re.compile(r"(?<![\w.)\]}'\"])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.(\w*)$")
_NAME_TAIL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)$")
_IMPORT_TAIL = re.compile(r"^\s*(?:import|from)\s+([\w.]*)$")
_FROM_IMPORT_TAIL = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+(?:[\w\s,]*,\s*)?(\w*)$")
# Keywords that gradscript refuses; never offered.
_NOT_GRADSCRIPT = frozenset({"global", "nonlocal", "async", "await", "yield"})


# ------------------------------------------------------------------ when is an input complete
def needs_more(source: str, run_limits: Limits = DEFAULT) -> bool:
    """Whether `source`, the lines typed so far, waits for another line, as Python's REPL decides: an
    unclosed bracket or triple-quoted string, a trailing backslash, or a block not yet ended by a blank
    line. Input that is simply wrong is complete: running it reports the error."""
    lines = source.split("\n")
    if not source.strip() or source.lstrip().startswith(":"):
        return False
    ended = len(lines) > 1 and not lines[-1].strip()  # a blank line after something ends a block
    if not ended and lines[-1].endswith("\\"):
        return True
    from .parser import parse

    try:
        module = parse(source, filename=FILENAME, limits=run_limits)
    except ScriptSyntaxError as err:
        if any(p.search(err.message) for p in _UNFINISHED_ANYWHERE):
            return True
        return not ended and any(p.search(err.message) for p in _UNFINISHED_AT_END) and _at_end(source, err)
    except ScriptError:  # over a limit: running it says so
        return False
    if _statement_after_block(module) is not None:
        return False  # complete, and wrong: see push
    return not ended and any(type(stmt).__name__ in _COMPOUND for stmt in module.body)


def _statement_after_block(module) -> int | None:
    """The line of a statement typed straight after a block, with no blank line to end the block first.
    Python's REPL compiles one statement at a time (its 'single' mode) and calls that invalid syntax."""
    body = module.body
    if len(body) > 1 and type(body[0]).__name__ in _COMPOUND and body[1].line > body[0].line:
        return body[1].line
    return None


def _at_end(source: str, err: ScriptError) -> bool:
    """Whether only white space follows the place `err` points at."""
    if err.line is None:
        return True
    lines = source.split("\n")
    if err.line > len(lines):
        return True
    rest = lines[err.line - 1][max(0, (err.column or 1) - 1):]
    return not rest.strip() and not "\n".join(lines[err.line:]).strip()


# ------------------------------------------------------------------ the loop's logic
class Repl:
    """One interactive session: a persistent scope, the input accepted so far, and the meta-commands.

    Feed it whole inputs with `execute`, or lines with `push` (which waits, as Python's REPL does, until
    the input is complete). Output of the program and echoed values go to `out`, errors to `err`.
    """

    def __init__(self, *, out=None, err=None, default_dtype: str = "float32", run_limits: Limits = DEFAULT,
                 color: bool | None = None, run_guard=None):
        # `run_guard()`: a context manager around each run (the CLI's --timeout watchdog), or None
        self.run_guard = run_guard if run_guard is not None else contextlib.nullcontext
        self.out = sys.stdout if out is None else out
        self.err = sys.stderr if err is None else err
        self.default_dtype = default_dtype
        self.limits = run_limits
        self.color = color
        self.done = False  # set by :quit
        self.failures = 0  # inputs that ended in an error
        self._lines: list[str] = []  # what `push` holds until the input is complete
        self.reset()

    def reset(self) -> None:
        """A fresh scope and engine state (grad mode, default dtype), and an empty :save record."""
        from .session import configure, new_interpreter

        configure(default_dtype=self.default_dtype, run_limits=self.limits)
        self.interp = new_interpreter(out=self.out, filename=FILENAME, run_limits=self.limits)
        self.record: list[str] = []  # inputs that ran without error, for :save

    @property
    def prompt(self) -> str:
        return CONTINUATION if self._lines else PROMPT

    def needs_more(self, source: str) -> bool:
        return needs_more(source, self.limits)

    # -------------------------------------------------------------- input
    def push(self, line: str) -> bool:
        """Add one line; run the input once it is complete. True while more lines are awaited."""
        self._lines.append(line)
        source = "\n".join(self._lines)
        if self.needs_more(source):
            return True
        self._lines = []
        if not source.lstrip().startswith(":"):
            line = self._line_after_block(source)
            if line is not None:
                text = source.split("\n")[line - 1]
                self._script_error(ScriptSyntaxError("invalid syntax", line=line, column=1, source_line=text,
                                                     filename=FILENAME))
                return False
        self.execute(source)
        return False

    def _line_after_block(self, source: str) -> int | None:
        from .parser import parse

        try:
            return _statement_after_block(parse(source, filename=FILENAME, limits=self.limits))
        except ScriptError:  # running it reports this error
            return None

    def flush(self) -> None:
        """Run what `push` holds (the end of the input ends a block, as a blank line does)."""
        if self._lines:
            source = "\n".join(self._lines)
            self._lines = []
            self.execute(source)

    def execute(self, text: str) -> None:
        """Run one complete input: a meta-command or gradscript. Never raises for the user's mistakes, nor
        for Ctrl-C: the session goes on with its state as the interruption left it."""
        try:
            lines = text.split("\n")
            while lines and not lines[-1].strip():  # the blank line that ended a block
                lines.pop()
            source = "\n".join(lines)
            command = source.strip()
            if not command:
                return
            if command.startswith(":"):
                self.meta(command)
            elif command in _LEAVE_WORDS:
                self.done = True
            else:
                self.run_source(source)
        except KeyboardInterrupt:
            self.failures += 1
            self._error("KeyboardInterrupt")

    def run_source(self, source: str) -> bool:
        """Run gradscript in the session's scope. As in Python's REPL, each expression statement shows its
        value (not None), wherever it is outside function and class bodies (`for i in range(3): i` shows
        three), when it runs and under the run's limits (the interpreter calls `_echo`)."""
        try:
            with self.run_guard():
                self.interp.run_interactive(source, display=self._echo)
        except ScriptError as exc:
            self._script_error(exc)
            return False
        except MemoryError:  # met outside the engine's own checks: this input is lost, the session is not
            self.failures += 1
            self._error("MemoryError: out of memory")
            return False
        except Exception as exc:  # a bug in gradcli: say so, but keep the session
            self.failures += 1
            self._error(f"gradcli internal error: {type(exc).__name__}: {exc}")
            return False
        finally:
            self.out.flush()
        self.record.append(source)
        return True

    def _echo(self, value) -> None:
        """Show a value as the Python REPL does: PyTorch's repr (our Tensor's repr is PyTorch's). Called by
        the interpreter while the input runs, so the repr is bounded as `print`'s str is (steps, time,
        integer digits, recursion), and an error in it is the statement's error."""
        self.out.write(repr(value) + "\n")
        self.out.flush()

    def _script_error(self, exc: ScriptError) -> None:
        self.failures += 1
        if exc.filename in (None, "<script>"):
            exc.filename = FILENAME
        self._error(exc.render())

    def _error(self, text: str) -> None:
        self.out.flush()  # the program's output first, then the error, as `gradcli eval` orders them
        self.err.write(text + "\n")
        self.err.flush()

    # -------------------------------------------------------------- meta-commands
    def meta(self, command: str) -> None:
        name, _, argument = command.partition(" ")
        name = _ALIASES.get(name, name)
        argument = argument.strip()
        handler = {
            ":help": self.cmd_help,
            ":vars": self.cmd_vars,
            ":graph": self.cmd_graph,
            ":reset": self.cmd_reset,
            ":load": self.cmd_load,
            ":save": self.cmd_save,
            ":quit": self.cmd_quit,
        }.get(name)
        if handler is None:
            self.failures += 1
            self._error(f"unknown command '{name}' (:help lists the commands)")
            return
        handler(argument)
        self.out.flush()

    def cmd_help(self, argument: str) -> None:
        self.out.write(HELP)

    def variables(self) -> dict:
        from .session import user_variables

        return user_variables(self.interp)

    def cmd_vars(self, argument: str) -> None:
        from .render import print_variables, tensor_variables

        names = [n for n in re.split(r"[\s,]+", argument) if n] or None
        variables = self.variables()
        rows, notes = tensor_variables(variables, names)
        if not rows and not notes:
            self.out.write("no tensor variables yet\n")
            return
        print_variables(variables, names=names, color=self.color, file=self.out)

    def cmd_graph(self, argument: str) -> None:
        from . import graph
        from .render import emit, make_console

        if not argument:
            self._usage(":graph NAME")
            return
        try:  # what render.print_graph does, but its complaint goes to the session's err, not sys.stderr
            tree = graph.build(self.variables(), argument)
        except KeyError as exc:
            self.failures += 1
            self._error(f"Error: {exc.args[0]}")
            return
        console = make_console(self.color, self.out)
        self.out.write("\n")  # set off from the output above
        emit(console, graph.rich_tree(tree))

    def cmd_reset(self, argument: str) -> None:
        self.reset()
        self.out.write("fresh scope: only torch is defined\n")

    def cmd_load(self, argument: str) -> None:
        from .session import decode_source

        if not argument:
            self._usage(":load FILE")
            return
        path = _path_argument(argument)
        try:
            with open(path, "rb") as fh:
                raw = fh.read(self.limits.max_source_bytes + 1)
        except OSError as exc:
            self.failures += 1
            self._error(f"cannot read {path}: {exc.strerror}")
            return
        try:
            source = decode_source(raw, filename=path, run_limits=self.limits)
            self.interp.filename = path  # errors point into the file, not <stdin>
            try:
                with self.run_guard():
                    self.interp.run(source)
            finally:
                self.interp.filename = FILENAME
        except ScriptError as exc:
            if exc.filename in (None, "<script>", FILENAME):
                exc.filename = path
            self._script_error(exc)
            return
        self.record.append(f"# :load {path}\n{source.rstrip()}")

    def cmd_save(self, argument: str) -> None:
        if not argument:
            self._usage(":save FILE")
            return
        path = _path_argument(argument)
        try:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(self.script())
        except OSError as exc:
            self.failures += 1
            self._error(f"cannot write {path}: {exc.strerror}")
            return
        n = len(self.record)
        self.out.write(f"saved {n} input{'s' if n != 1 else ''} to {path}\n")

    def cmd_quit(self, argument: str) -> None:
        self.done = True

    def _usage(self, usage: str) -> None:
        self.failures += 1
        self._error(f"usage: {usage}")

    def script(self) -> str:
        """The accepted input as one program. `torch` is predefined in gradcli but not in Python, so the
        script imports it first unless it begins by doing so itself."""
        parts = list(self.record)
        if not self._imports_torch_first():
            parts.insert(0, "import torch")
        return "".join(part + "\n" for part in parts)

    def _imports_torch_first(self) -> bool:
        from . import syntax as S
        from .parser import parse

        for source in self.record:
            try:
                body = parse(source, filename=FILENAME, limits=self.limits).body
            except ScriptError:
                return False
            for stmt in body:
                if not isinstance(stmt, (S.Import, S.ImportFrom)):
                    return False
                if isinstance(stmt, S.Import) and any(_binds_torch(alias) for alias in stmt.names):
                    return True
        return False

    # -------------------------------------------------------------- completion
    def completions(self, text: str) -> tuple[int, list[str]]:
        """What Tab offers after `text` (the input before the cursor): (length of the word being
        completed, candidates). Only what the sandbox lets a script see: names in scope, builtins and
        keywords, attributes the interpreter allows, members of gradscript's modules; never '_' names."""
        line = text.split("\n")[-1]
        if not self._lines and "\n" not in text and line.lstrip().startswith(":"):
            return self._complete_meta(line.lstrip())
        if _in_string_or_comment(line):
            return 0, []
        m = _IMPORT_TAIL.match(line)
        if m:
            word = m.group(1)
            return len(word), sorted(n for n in self.interp.modules if n.startswith(word))
        m = _FROM_IMPORT_TAIL.match(line)
        if m:
            module, word = m.group(1), m.group(2)
            names = set(self.interp.modules[module].members) if module in self.interp.modules else set()
            names.update(n[len(module) + 1:] for n in self.interp.modules if n.startswith(module + "."))
            return len(word), sorted(n for n in names if n.startswith(word) and not n.startswith("_"))
        m = _DOTTED_TAIL.search(line)
        if m:
            word = m.group(2)
            obj = self._resolve(m.group(1))
            if obj is _UNRESOLVED:
                return len(word), []
            return len(word), [n for n in attribute_names(obj) if n.startswith(word)]
        m = _NAME_TAIL.search(line)
        if not m:
            return 0, []
        word = m.group(1)
        import keyword

        names = set(self.interp.globals) | set(self.interp.builtins)
        names.update(k for k in keyword.kwlist if k not in _NOT_GRADSCRIPT)
        return len(word), sorted(n for n in names if n.startswith(word) and not n.startswith("_"))

    def _resolve(self, dotted: str):
        """The value of `a.b.c` as a script would read it, or _UNRESOLVED, found without running anything:
        each step must be a module member or a stored value (not a property nor a method, which would run
        code to tell), and one the sandbox lets a script read."""
        from .interpreter import script_peek

        head, *rest = dotted.split(".")
        if head in self.interp.globals:
            obj = self.interp.globals[head]
        elif head in self.interp.builtins and not head.startswith("_"):
            obj = self.interp.builtins[head]
        else:
            return _UNRESOLVED
        try:
            for name in rest:
                obj = script_peek(obj, name)
        except LookupError:
            return _UNRESOLVED
        return obj

    def _complete_meta(self, line: str) -> tuple[int, list[str]]:
        name, space, argument = line.partition(" ")
        if not space:
            return len(name), [c for c in _META_COMMANDS if c.startswith(name)]
        name = _ALIASES.get(name, name)
        if name in (":vars", ":graph"):
            word = re.split(r"[\s,]+", argument)[-1]
            from .render import tensor_variables

            rows, _ = tensor_variables(self.variables())
            return len(word), [n for n, _ in rows if n.startswith(word)]
        if name in (":load", ":save"):
            return len(argument), _complete_path(argument)
        return 0, []


_UNRESOLVED = object()


def _binds_torch(alias) -> bool:
    """Whether `import <alias>` binds the name torch to the torch module."""
    if alias.asname is None:
        return alias.name.split(".")[0] == "torch"
    return alias.asname == "torch" and alias.name == "torch"


def attribute_names(obj) -> list[str]:
    """The attributes a script may read from `obj`, sorted, without reading any: Tab must not run a
    property (a script's code, or `.T` computing a transpose). The interpreter's policy decides."""
    from .interpreter import script_attribute_names

    return script_attribute_names(obj)


def _in_string_or_comment(line: str) -> bool:
    """Whether the end of `line` is inside a string literal or a comment (a rough scan; good enough to
    keep Tab from offering names there)."""
    quote = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif line.startswith(quote, i):
                i += len(quote) - 1
                quote = None
        elif ch == "#":
            return True
        elif ch in "'\"":
            quote = ch * 3 if line.startswith(ch * 3, i) else ch
            i += len(quote) - 1
        i += 1
    return quote is not None


def _path_argument(argument: str) -> str:
    if len(argument) >= 2 and argument[0] == argument[-1] and argument[0] in "'\"":
        argument = argument[1:-1]
    return os.path.expanduser(argument)


def _complete_path(prefix: str, limit: int = 200) -> list[str]:
    """File names that continue `prefix` (directories end with '/'), for :load and :save."""
    directory, base = os.path.split(prefix)
    try:
        entries = list(os.scandir(os.path.expanduser(directory) or "."))
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.name.startswith(base) or (entry.name.startswith(".") and not base.startswith(".")):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        found.append(os.path.join(directory, entry.name) + ("/" if is_dir else ""))
    return sorted(found)[:limit]


# ------------------------------------------------------------------ the terminal front end
def history_path() -> Path | None:
    """Where history is kept across sessions: $GRADCLI_HISTORY (empty: nowhere), else the user's data
    directory ($XDG_DATA_HOME, or ~/.local/share) under gradcli/."""
    override = os.environ.get("GRADCLI_HISTORY")
    if override is not None:
        return Path(override).expanduser() if override else None
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "gradcli" / "history"


def _history(path: Path | None):
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError:  # a read-only home: keep history for this session only
        return InMemoryHistory()
    return FileHistory(str(path))


def _lexer():
    try:
        from prompt_toolkit.lexers import PygmentsLexer
        from pygments.lexers.python import PythonLexer
    except ImportError:
        return None
    return PygmentsLexer(PythonLexer)


def _completer(repl: Repl):
    from prompt_toolkit.completion import Completer, Completion

    class ReplCompleter(Completer):
        def get_completions(self, document, complete_event):
            length, names = repl.completions(document.text_before_cursor)
            for name in names:
                yield Completion(name, start_position=-length)

    return ReplCompleter()


def _key_bindings(repl: Repl, auto_indent: bool):
    from prompt_toolkit.document import Document
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("enter")
    def enter(event):
        """Run the input when it is complete, else start the next line ('...'), indented like this one,
        one level deeper after a ':'."""
        buffer = event.current_buffer
        state = buffer.complete_state
        if state is not None:
            buffer.complete_state = None  # the menu closes, keeping the text as it is
            if state.current_completion is not None:  # Enter picked the highlighted completion
                return
        document = buffer.document
        editing_inside = document.line_count > 1 and not document.on_last_line
        if not editing_inside and not repl.needs_more(document.text):
            text = document.text.rstrip()
            if text != document.text:  # history keeps the block without the blank line that ended it
                buffer.document = Document(text)
            buffer.validate_and_handle()
            return
        indent = ""
        if auto_indent:
            line = document.current_line_before_cursor
            indent = line[: len(line) - len(line.lstrip())]
            if line.rstrip().endswith(":"):
                indent += INDENT
        buffer.insert_text("\n" + indent)

    return bindings


def _color_depth(color: bool | None):
    """The input's colours (highlighting, the completion menu): --no-color turns them off, --color on even
    under NO_COLOR; without either, prompt_toolkit decides (the terminal, NO_COLOR)."""
    from prompt_toolkit.output import ColorDepth

    if color is False:
        return ColorDepth.MONOCHROME
    if color and os.environ.get("NO_COLOR"):
        return ColorDepth.DEPTH_8_BIT
    return None


def _prompt_session(repl: Repl, *, input=None, output=None, history=None, auto_indent=True):
    from prompt_toolkit import PromptSession
    from prompt_toolkit.shortcuts import CompleteStyle

    return PromptSession(
        color_depth=_color_depth(repl.color),
        message=PROMPT,
        multiline=True,
        prompt_continuation=lambda width, line_number, wrap_count: CONTINUATION,
        history=_history(history_path()) if history is None else history,
        lexer=_lexer(),
        completer=_completer(repl),
        complete_while_typing=False,  # Tab asks; a menu popping up at each letter distracts a learner
        complete_style=CompleteStyle.MULTI_COLUMN,
        key_bindings=_key_bindings(repl, auto_indent),
        include_default_pygments_style=True,
        tempfile_suffix=".py",
        input=input,
        output=output,
    )


def run_repl(*, default_dtype: str = "float32", run_limits: Limits = DEFAULT, input=None, output=None,
             out=None, err=None, history=None, auto_indent: bool = True, color: bool | None = None,
             run_guard=None) -> int:
    """Run the interactive session until :quit or Ctrl-D; return the exit code.

    `input`/`output` are prompt_toolkit's (tests pass a pipe input and a dummy output); `out`/`err` get
    the program's output and errors; `history` is a prompt_toolkit History (default: the history file,
    see `history_path`). Without a terminal on standard input (and no `input`), lines are read plainly
    and the exit code says whether any failed.
    """
    repl = Repl(out=out, err=err, default_dtype=default_dtype, run_limits=run_limits, color=color,
                run_guard=run_guard)
    if input is None and not sys.stdin.isatty():
        return _run_plain(repl, sys.stdin)

    session = _prompt_session(repl, input=input, output=output, history=history, auto_indent=auto_indent)
    repl.out.write(f"gradcli {__version__}: Python + PyTorch autograd, line by line. :help for help, "
                   "Ctrl-D to leave.\n")
    repl.out.flush()
    while not repl.done:
        try:
            repl.execute(session.prompt())
        except KeyboardInterrupt:  # Ctrl-C at the prompt (or between two inputs): drop the input, stay
            repl.err.write("KeyboardInterrupt\n")
            repl.err.flush()
        except EOFError:  # Ctrl-D on an empty input
            break
    return 0


def _run_plain(repl: Repl, stream) -> int:
    """Lines from a pipe or file: the same session, without prompts or line editing."""
    try:
        for line in stream:
            repl.push(line.rstrip("\r\n"))
            if repl.done:
                break
        else:
            repl.flush()
    except KeyboardInterrupt:
        repl.err.write("KeyboardInterrupt\n")
        return 130
    return 1 if repl.failures else 0
