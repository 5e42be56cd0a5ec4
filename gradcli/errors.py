"""Errors a gradscript program can raise, each carrying where in the script it happened.

Only the CLI turns these into text and exit codes (see `ScriptError.render`).
"""

from __future__ import annotations

import re
import unicodedata

# Control characters other than tab: a message must never smuggle terminal escapes
# (ANSI colour, bidi overrides, cursor moves) from a hostile script onto the user's screen.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with control and bidi characters shown as escapes."""
    return _UNSAFE.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


_SHOWN = 160  # the most columns of a source line an error shows (a 1 MB line is cut around the caret)
_BEFORE = 60  # columns kept before the caret when a line is cut


def _columns(text: str) -> int:
    """Terminal columns `text` takes: wide (CJK) characters take two, combining marks none."""
    n = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return n


def _display(text: str) -> str:
    return printable(text.expandtabs(4))


def source_excerpt(source_line: str, column: int, end_column: int | None = None) -> tuple[str, str]:
    """(the line as shown, the caret line under it), for 1-based columns of the raw line: tabs
    expanded, control characters escaped, wide characters counted twice, a long line cut around the spot."""
    line = source_line.rstrip("\r\n")
    col = min(max(1, column or 1), len(line) + 1)
    end = max(col + 1, min(end_column or col + 1, len(line) + 1))
    head = _display(line[: col - 1])
    mark = _display(line[: end - 1])[len(head):]  # empty at the end of the line: the caret goes after it
    tail = _display(line)[len(head) + len(mark):]
    if len(head) + len(mark) + len(tail) > _SHOWN:
        if len(head) > _BEFORE:
            head = "..." + head[len(head) - _BEFORE + 3:]
        mark = mark[: max(1, _SHOWN - len(head) - 3)]
        room = _SHOWN - len(head) - len(mark)
        if len(tail) > room:
            tail = tail[: max(0, room - 3)] + "..."
    return head + mark + tail, " " * _columns(head) + "^" * max(1, _columns(mark))


class ScriptError(Exception):
    """Base of gradcli's own errors about a script.

    `kind` is the Python/PyTorch exception name shown to the user ("RuntimeError", "SyntaxError", ...).
    """

    kind = "Error"

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        line: int | None = None,
        column: int | None = None,
        end_column: int | None = None,
        source_line: str | None = None,
        filename: str = "<script>",
    ):
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind
        self.line = line
        self.column = column
        self.end_column = end_column
        self.source_line = source_line
        self.filename = filename

    def located(self, *, line, column, end_column=None, source_line=None, filename=None):
        """Fill in the position if it is not known yet (the innermost position wins)."""
        if self.line is None:
            self.line, self.column, self.end_column = line, column, end_column
            self.source_line = source_line
        if filename is not None:
            self.filename = filename
        return self

    def render(self) -> str:
        """`Kind: message`, then `file:line:col`, the source line and a caret under the spot."""
        head = f"{self.kind}: {printable(self.message)}" if self.message else self.kind
        if self.line is None:
            return head
        lines = [head, f"  --> {printable(self.filename)}:{self.line}:{self.column}"]
        if self.source_line is not None:
            shown, caret = source_excerpt(self.source_line, self.column, self.end_column)
            lines.append(f"   | {shown}")
            lines.append(f"   | {caret}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"type": self.kind, "message": self.message, "line": self.line, "column": self.column}


class ScriptSyntaxError(ScriptError):
    """The text is not a gradscript program (or uses a construct outside the subset)."""

    kind = "SyntaxError"


class ScriptRuntimeError(ScriptError):
    """The program ran and raised: `kind` is the PyTorch/Python exception type it raised."""

    kind = "RuntimeError"


class LimitError(ScriptError):
    """The program went past one of gradcli's resource limits (size, depth, steps, time, memory)."""

    kind = "LimitError"


class OutputClosed(BaseException):
    """The program's standard output can no longer be written (`gradcli eval x.grad | head -1`: the reader
    left). A BaseException like KeyboardInterrupt, so no `except` in a script catches it: the run stops and
    the CLI ends quietly. The OSError is the cause."""


def torch_warning(message: str, where: str, registry: dict | None = None) -> None:
    """A UserWarning as PyTorch's Python or C++ code gives it (on standard error), named after the torch file
    it comes from: gradcli has no Python frame of the script to point at. With a registry, each message is
    shown once per registry, as warnings.warn from one line shows it once per process."""
    import warnings

    warnings.warn_explicit(message, UserWarning, filename=where, lineno=0, registry=registry)
