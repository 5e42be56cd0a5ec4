"""Errors a gradscript program can raise, each carrying where in the script it happened.

Only the CLI turns these into text and exit codes (see `ScriptError.render`).
"""

from __future__ import annotations

import re

# Control characters other than tab: a message must never smuggle terminal escapes
# (ANSI colour, bidi overrides, cursor moves) from a hostile script onto the user's screen.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with control and bidi characters shown as escapes."""
    return _UNSAFE.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


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
            src = printable(self.source_line.rstrip("\r\n").expandtabs(4))
            col = max(1, self.column or 1)
            width = 1
            if self.end_column and self.end_column > col:
                width = min(self.end_column - col, max(1, len(src) - col + 1))
            lines.append(f"   | {src}")
            lines.append(f"   | {' ' * (col - 1)}{'^' * width}")
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
