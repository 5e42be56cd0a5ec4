"""Parse gradscript source text into `gradcli.syntax` nodes.

This is the only module that imports Lark, and only to compile the grammar (`grammars/gradscript.lark`,
syntax only) once: its terminals, its LALR(1) tables and the child filters that drop punctuation,
splice `_rules` and fill `[optional]` places (`_build_tables`).  The result is plain data (ints,
strings, tuples, dicts), kept with `marshal` in `gradcli/_cache/` or else a private per-user
directory, and checked against the grammar text, gradcli's version, Lark's version and the format
(`_load_tables`); a process that finds it up to date never imports Lark.  This module adds

* `_Lexer`: the grammar's terminals as one regular expression, in Lark's order (faster than Lark's
  own basic lexer, same tokens);
* `_Layout`, a post-lexer (Lark's `Indenter` interface) that makes Python's INDENT/DEDENT tokens,
  drops line breaks inside brackets, matches brackets, and checks numbers and tokens outside the
  subset;
* `_drive`, the LALR loop over the tables.  It calls the node builders (`_Builder`, one method per
  rule or `-> alias`) at each reduction, like Lark's `transformer=` option, so the AST is built
  bottom-up without recursion and without a parse tree; each node knows its nesting depth as soon as
  it exists, and deep inputs stop with a `LimitError`, never a `RecursionError`;
* string literal decoding and f-string splitting, done by hand: script text is never given to
  `eval`, `exec`, `compile` or `ast`;
* error messages in plain words, modelled on Python 3.11's, never Lark's terminal names.

The tables are loaded once per process, on the first call.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
import threading
import unicodedata
from pathlib import Path

from . import __version__
from . import syntax as S
from .errors import LimitError, ScriptSyntaxError
from .limits import DEFAULT, Limits

__all__ = ["parse", "parse_expression", "grammar_path"]

_HERE = Path(__file__).resolve().parent
_GRAMMAR_NAME = "gradscript.lark"

# ----------------------------------------------------------------------------- token classes

_OPEN = {"LPAR": ")", "LSQB": "]", "LBRACE": "}"}
_CLOSE = {"RPAR": "(", "RSQB": "[", "RBRACE": "{"}

# Python keywords that gradscript leaves out.  They are not in the grammar, so the lexer makes NAME
# tokens of them and the post-lexer stops at the first one with a message that names it.
_UNSUPPORTED_KEYWORDS = {
    "yield": "'yield' is not supported in gradscript",
    "await": "'await' is not supported in gradscript",
    "async": "'async' is not supported in gradscript",
    "global": "'global' is not supported in gradscript",
    "nonlocal": "'nonlocal' is not supported in gradscript",
}

# Tokens that can start an expression, and tokens that end one (for "Perhaps you forgot a comma?").
# fmt: off
_EXPR_START = {
    "NAME", "NUMBER", "STRING", "LPAR", "LSQB", "LBRACE", "MINUS", "PLUS", "TILDE", "NOT", "LAMBDA",
    "NONE", "TRUE", "FALSE", "ELLIPSIS",
}
_EXPR_END = {"NAME", "NUMBER", "STRING", "RPAR", "RSQB", "RBRACE", "NONE", "TRUE", "FALSE", "ELLIPSIS"}

# Tokens that can continue an expression after an operand (binary operators, trailers, ...).
_CONTINUATION = {
    "DOT", "LPAR", "LSQB", "PLUS", "MINUS", "STAR", "SLASH", "DOUBLESLASH", "PERCENT", "DOUBLESTAR", "AT",
    "VBAR", "CIRCUMFLEX", "AMPERSAND", "LEFTSHIFT", "RIGHTSHIFT", "LESS", "GREATER", "EQEQUAL", "NOTEQUAL",
    "LESSEQUAL", "GREATEREQUAL", "IN", "NOT", "IS", "AND", "OR", "IF",
}
# fmt: on

_HEADER_WORDS = {
    "DEF": "function definition",
    "CLASS": "class definition",
}


# ------------------------------------------------------------------------------ the grammar


def grammar_path() -> Path:
    """The grammar file: inside the package when installed from a wheel, else the repository's."""
    installed = _HERE / "grammars" / _GRAMMAR_NAME
    if installed.is_file():
        return installed
    return _HERE.parent / "grammars" / _GRAMMAR_NAME


def _safe_dir(path: Path) -> bool:
    """A directory we own (or may write), that nobody else can write to."""
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_mode & 0o002:  # world-writable: someone could plant a pickle there
        return False
    getuid = getattr(os, "getuid", None)
    if getuid is not None and st.st_uid not in (getuid(), 0):
        return False
    return os.access(path, os.W_OK)


def _cache_file() -> str | None:
    """Where the parser tables are kept: next to the package, else in the user's cache directory."""
    name = f"gradscript-tables-py{sys.version_info[0]}{sys.version_info[1]}.marshal"
    package_dir = _HERE / "_cache"
    try:
        package_dir.mkdir(mode=0o755, exist_ok=True)
    except OSError:
        pass
    if _safe_dir(package_dir):
        return str(package_dir / name)
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    user_dir = Path(base) / "gradcli"
    try:
        user_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    if _safe_dir(user_dir) and not (user_dir.stat().st_mode & 0o077):
        return str(user_dir / name)
    return None


_LOCK = threading.RLock()


class Token(str):
    """A token: its text (the string itself), its terminal name and its span, as Lark's `Token`."""

    __slots__ = ("type", "value", "start_pos", "line", "column", "end_line", "end_column", "end_pos")

    def __new__(cls, type, value, start_pos=None, line=None, column=None, end_line=None, end_column=None,
                end_pos=None):  # fmt: skip
        self = str.__new__(cls, value)
        self.type = type
        self.value = value
        self.start_pos = start_pos
        self.line = line
        self.column = column
        self.end_line = end_line
        self.end_column = end_column
        self.end_pos = end_pos
        return self

    def __reduce__(self):
        return (Token, (self.type, self.value, self.start_pos, self.line, self.column, self.end_line,
                        self.end_column, self.end_pos))  # fmt: skip

    def __repr__(self):
        return f"Token({self.type!r}, {self.value!r})"


class _Tree:
    """What a rule without a builder method reduces to (an inlined `_rule`): its name and children."""

    __slots__ = ("data", "children")

    def __init__(self, data, children):
        self.data = data
        self.children = children


# ----------------------------------------------------------------------------- parse state


class _LexState:
    """What the post-lexer knows at the current token: open brackets, indentation, recent tokens."""

    __slots__ = ("brackets", "indents", "prev", "prev2", "line_first", "header")

    def __init__(self):
        self.brackets: list[Token] = []
        self.indents: list[tuple[int, int]] = [(0, 0)]
        self.prev: Token | None = None  # the last token handed to the parser
        self.prev2: Token | None = None
        self.line_first: Token | None = None  # first token of the current logical line
        self.header: Token | None = None  # first token of the previous logical line


class _Ctx:
    """One call of the parser (the f-string expressions inside a script get their own)."""

    __slots__ = (
        "text",
        "filename",
        "limits",
        "max_depth",
        "source_lines",
        "expr_mode",
        "line_off",
        "col_off",
        "tokenizer_only",
        "lex",
        "in_fstring",
    )

    def __init__(self, text, filename, limits, source_lines=None, expr_mode=False, line_off=0, col_off=0):
        self.text = text
        self.filename = filename
        self.limits = limits
        self.max_depth = limits.max_depth
        self.source_lines = source_lines if source_lines is not None else text.split("\n")
        self.expr_mode = expr_mode
        self.line_off = line_off
        self.col_off = col_off
        self.tokenizer_only = False
        self.lex = _LexState()
        self.in_fstring = False


def _error(ctx: _Ctx, message, line, column, end_column=None, kind=None, cls=ScriptSyntaxError):
    lines = ctx.source_lines
    source_line = lines[line - 1] if 0 < line <= len(lines) else None
    if end_column is None or end_column <= column:
        end_column = column + 1
    return cls(
        message,
        kind=kind,
        line=line,
        column=column,
        end_column=end_column,
        source_line=source_line,
        filename=ctx.filename,
    )


def _error_at(ctx: _Ctx, message, item, kind=None, cls=ScriptSyntaxError):
    """An error located at a token or node (its end column when it ends on the same line)."""
    end = item.end_column if item.end_line == item.line else None
    return _error(ctx, message, item.line, item.column, end, kind=kind, cls=cls)


# ---------------------------------------------------------------------------- numbers


_DIGITS = r"\d(?:_?\d)*"
_EXPONENT = rf"[eE][+-]?{_DIGITS}"
_INT_RE = re.compile(
    r"(?:[1-9](?:_?\d)*|0(?:_?0)*|0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+)\Z"
)
_FLOAT_RE = re.compile(
    rf"(?:(?:{_DIGITS})?\.{_DIGITS}(?:{_EXPONENT})?|{_DIGITS}\.(?:{_EXPONENT})?|{_DIGITS}{_EXPONENT})\Z"
)
_MAX_INT_DIGITS = 4300  # Python's own limit for int(str)


def _number_problem(text: str) -> str | None:
    """None for a valid int or float literal, else the message Python would give."""
    if _INT_RE.match(text) or _FLOAT_RE.match(text):
        return None
    j = max(text.find("j"), text.find("J"))
    decimal = text[:2].lower() not in ("0x", "0o", "0b")
    if j > 0 and decimal and (_INT_RE.match(text[:j]) or _FLOAT_RE.match(text[:j]) or text[:j].isdigit()):
        return "complex numbers (imaginary literals like 1j) are not supported in gradscript"
    head = text[:2].lower()
    if head in ("0x", "0o", "0b"):
        kind, digits = {
            "0x": ("hexadecimal", "0123456789abcdefABCDEF"),
            "0o": ("octal", "01234567"),
            "0b": ("binary", "01"),
        }[head]
        body = text[2:]
        for ch in body:
            if ch != "_" and ch not in digits:
                if ch.isdigit():
                    return f"invalid digit '{ch}' in {kind} literal"
                break
        return f"invalid {kind} literal"
    if re.match(r"0+\d", text) and text.replace("_", "").isdigit():
        return (
            "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers"
        )
    return "invalid decimal literal"


_KEYWORDS_AFTER_NUMBERS = {"and": "AND", "else": "ELSE", "for": "FOR", "if": "IF", "in": "IN", "is": "IS",
                           "not": "NOT", "or": "OR"}  # fmt: skip


def _split_number_keyword(tok: Token) -> tuple[Token, Token] | None:
    """`1if` or `0x1for`: a number glued to a keyword, which Python (with a warning) reads as two tokens."""
    text = str(tok)
    shortest = 3 if text[:2].lower() in ("0x", "0o", "0b") else 1
    for i in range(len(text) - 2, shortest - 1, -1):
        keyword = _KEYWORDS_AFTER_NUMBERS.get(text[i:])
        if keyword is not None and _number_problem(text[:i]) is None:
            number = Token("NUMBER", text[:i], tok.start_pos, tok.line, tok.column, tok.line, tok.column + i,
                           tok.start_pos + i)  # fmt: skip
            word = Token(keyword, text[i:], tok.start_pos + i, tok.line, tok.column + i, tok.end_line,
                         tok.end_column, tok.end_pos)  # fmt: skip
            return number, word
    return None


def _number_value(text: str):
    if _INT_RE.match(text):
        digits = text.replace("_", "")
        if len(digits) > _MAX_INT_DIGITS and digits[:2].lower() not in ("0x", "0o", "0b"):
            return None
        return int(digits, 0)
    return float(text)


# ---------------------------------------------------------------------------- strings

_SIMPLE_ESCAPES = {
    "\n": "",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"


def _decode_escapes(s: str) -> str:
    """Decode Python's backslash escapes in `s`; unknown escapes are kept as they are (like Python).

    Raises ValueError with Python's wording for a malformed \\x, \\u, \\U or \\N escape.
    """
    if "\\" not in s:
        return s
    out = []
    i = 0
    n = len(s)
    while True:
        j = s.find("\\", i)
        if j < 0:
            out.append(s[i:])
            break
        out.append(s[i:j])
        c = s[j + 1 : j + 2]
        if c in _SIMPLE_ESCAPES and c:
            out.append(_SIMPLE_ESCAPES[c])
            i = j + 2
        elif c and c in _OCTAL:
            k = j + 1
            while k < n and k < j + 4 and s[k] in _OCTAL:
                k += 1
            out.append(chr(int(s[j + 1 : k], 8)))
            i = k
        elif c in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[c]
            digits = s[j + 2 : j + 2 + width]
            if len(digits) != width or any(d not in _HEX for d in digits):
                raise ValueError(
                    f"(unicode error) truncated \\{'xXX' if c == 'x' else c + 'X' * width} escape"
                )
            code = int(digits, 16)
            if code > 0x10FFFF:
                raise ValueError("(unicode error) illegal Unicode character")
            out.append(chr(code))
            i = j + 2 + width
        elif c == "N":
            if s[j + 2 : j + 3] != "{" or s.find("}", j + 3) < 0:
                raise ValueError("(unicode error) malformed \\N character escape")
            k = s.find("}", j + 3)
            try:
                out.append(unicodedata.lookup(s[j + 3 : k]))
            except KeyError:
                raise ValueError("(unicode error) unknown Unicode character name") from None
            i = k + 1
        else:  # an unknown escape stays as it is, backslash included
            out.append("\\" + c)
            i = j + 2
    return "".join(out)


def _split_string(tok: str) -> tuple[str, int, int]:
    """(prefix in lower case, start of the body, end of the body) of a STRING token."""
    p = 0
    while tok[p] not in "'\"":
        p += 1
    q = 3 if tok.startswith(tok[p] * 3, p) and len(tok) - p >= 6 else 1
    return tok[:p].lower(), p + q, len(tok) - q


def _offset_position(tok, index: int) -> tuple[int, int]:
    """The (line, column) of character `index` of a token's text."""
    nl = tok.rfind("\n", 0, index)
    if nl < 0:
        return tok.line, tok.column + index
    return tok.line + tok.count("\n", 0, index), index - nl


# --------------------------------------------------------------------------- the post-lexer


class _Layout:
    """Indentation, brackets and token checks between the lexer and the parser.

    Lark's `Indenter` interface (Lark reads `always_accept` when it builds the tables), but all the
    state of one run lives in the parse context, so a parse may start another one (an f-string's
    expression) while it is itself suspended.
    """

    NL_type = "_NEWLINE"
    OPEN_PAREN_types = list(_OPEN)
    CLOSE_PAREN_types = list(_CLOSE)
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8
    # Terminals that no rule uses but that the lexer must still produce.
    always_accept = ("_NEWLINE", "COLONEQUAL")

    def process(self, stream):
        return self._run(stream, _BUILDER.ctx)

    def _run(self, stream, ctx: _Ctx):  # noqa: C901 - one pass over the tokens, kept flat for speed
        st = ctx.lex
        brackets = st.brackets
        indents = st.indents
        expr_mode = ctx.expr_mode
        tokenizer_only = ctx.tokenizer_only
        line_off, col_off = ctx.line_off, ctx.col_off
        max_depth = ctx.max_depth
        last_type = "_NEWLINE"
        for tok in stream:
            if line_off or col_off:
                if tok.line == 1:
                    tok.column += col_off
                if tok.end_line == 1:
                    tok.end_column += col_off
                tok.line += line_off
                tok.end_line += line_off
            t = tok.type
            if t == "_NEWLINE":
                if brackets or expr_mode:
                    continue
                yield tok
                last_type = t
                st.header, st.line_first = st.line_first, None
                value = str(tok)
                ws = value[value.rfind("\n") + 1 :]
                if "\f" in ws:
                    ws = ws[ws.rfind("\f") + 1 :]
                col = alt = 0
                for ch in ws:
                    if ch == "\t":
                        col = (col // 8 + 1) * 8
                    else:
                        col += 1
                    alt += 1
                top, top_alt = indents[-1]
                line, column = tok.end_line, tok.end_column
                if col > top:
                    if alt <= top_alt:
                        raise _error(
                            ctx,
                            "inconsistent use of tabs and spaces in indentation",
                            line,
                            1,
                            kind="TabError",
                        )
                    if len(indents) > max_depth:
                        raise _error(
                            ctx,
                            f"too many levels of indentation (limit {max_depth}, --max-depth)",
                            line,
                            column,
                            cls=LimitError,
                        )
                    indents.append((col, alt))
                    yield Token("_INDENT", ws, tok.end_pos, line, column, line, column, tok.end_pos)
                    last_type = "_INDENT"
                elif col < top:
                    while col < indents[-1][0]:
                        indents.pop()
                        yield Token("_DEDENT", ws, tok.end_pos, line, column, line, column, tok.end_pos)
                    last_type = "_DEDENT"
                    if col != indents[-1][0]:
                        raise _error(
                            ctx,
                            "unindent does not match any outer indentation level",
                            line,
                            column,
                            kind="IndentationError",
                        )
                    if alt != indents[-1][1]:
                        raise _error(
                            ctx,
                            "inconsistent use of tabs and spaces in indentation",
                            line,
                            1,
                            kind="TabError",
                        )
                elif alt != top_alt:
                    raise _error(
                        ctx, "inconsistent use of tabs and spaces in indentation", line, 1, kind="TabError"
                    )
                continue

            if st.line_first is None:
                st.line_first = tok
                if st.prev is None and tok.column > 1 and not expr_mode and tok.line == 1 + line_off:
                    # the first line of the script is indented
                    first = ctx.source_lines[tok.line - 1][: tok.column - 1]
                    if first.strip(" \t\f") == "":
                        raise _error(ctx, "unexpected indent", tok.line, tok.column, kind="IndentationError")
            if t == "NAME":
                value = str(tok)
                if value in _UNSUPPORTED_KEYWORDS and not tokenizer_only:
                    raise _error_at(ctx, _UNSUPPORTED_KEYWORDS[value], tok)
                if not value.isascii():
                    tok.value = unicodedata.normalize("NFKC", value)
            elif t == "NUMBER":
                problem = _number_problem(str(tok))
                if problem is not None:
                    split = _split_number_keyword(tok)
                    if split is not None:  # `1if x else 2`: Python reads `1 if`, so do we
                        number, tok = split
                        st.prev2, st.prev = st.prev, number
                        yield number
                        t = tok.type
                    elif not tokenizer_only or not problem.startswith("complex"):
                        raise _error_at(ctx, problem, tok)
            elif t == "STRING":
                if not tokenizer_only and "b" in str(tok)[:2].lower() and str(tok)[0] in "bBrR":
                    prefix = _split_string(str(tok))[0]
                    if "b" in prefix:
                        raise _error_at(ctx, "bytes literals (b'...') are not supported in gradscript", tok)
            elif t in _OPEN:
                if len(brackets) >= max_depth:
                    raise _error_at(
                        ctx,
                        f"too deeply nested: more than {max_depth} open brackets "
                        f"(limit {max_depth}, --max-depth)",
                        tok,
                        cls=LimitError,
                    )
                brackets.append(tok)
            elif t in _CLOSE:
                if not brackets:
                    raise _error_at(ctx, f"unmatched '{tok}'", tok)
                opener = brackets.pop()
                if _OPEN[opener.type] != str(tok):
                    where = f" on line {opener.line}" if opener.line != tok.line else ""
                    raise _error_at(
                        ctx,
                        f"closing parenthesis '{tok}' does not match opening parenthesis '{opener}'{where}",
                        tok,
                    )
            elif t == "COLONEQUAL" and not tokenizer_only:
                raise _error_at(
                    ctx,
                    "the walrus operator ':=' (assignment expressions) is not supported in gradscript",
                    tok,
                )
            st.prev2, st.prev = st.prev, tok
            last_type = t
            yield tok

        # end of the text
        if brackets:
            opener = brackets[0] if len(brackets) == 1 else brackets[-1]
            raise _error_at(ctx, f"'{opener}' was never closed", opener)
        if expr_mode:
            return
        end_line, end_column = _text_end(ctx)
        pos = len(ctx.text)
        if last_type not in ("_NEWLINE", "_DEDENT") and st.prev is not None:
            # only a backslash continuation on the last line can eat the final line break
            raise _error(ctx, "unexpected EOF while parsing", end_line, end_column)
        while len(indents) > 1:
            indents.pop()
            yield Token("_DEDENT", "", pos, end_line, end_column, end_line, end_column, pos)


def _char_error(ctx: _Ctx, pos: int, line: int, column: int) -> ScriptSyntaxError:
    """The message for text the lexer cannot split into tokens (at `pos`, line and column in the text)."""
    text = ctx.text
    ch = text[pos]
    if line == 1:
        column += ctx.col_off
    line += ctx.line_off
    if ch in "'\"":
        triple = text.startswith(ch * 3, pos)
        # a prefix glued to the quote (r, b, f, u or two of them) is part of the literal
        start = pos
        while start > 0 and pos - start < 2 and text[start - 1] in "rRbBuUfF":
            start -= 1
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
            start = pos
        column -= pos - start
        if triple:
            last = len(ctx.source_lines) + ctx.line_off
            if ctx.source_lines and ctx.source_lines[-1] == "":
                last -= 1
            return _error(
                ctx, f"unterminated triple-quoted string literal (detected at line {last})", line, column
            )
        return _error(ctx, f"unterminated string literal (detected at line {line})", line, column)
    if ch == "\\":
        return _error(ctx, "unexpected character after line continuation character", line, column)
    if not ch.isprintable():
        return _error(ctx, f"invalid non-printable character U+{ord(ch):04X}", line, column)
    if ch.isascii():
        return _error(ctx, "invalid syntax", line, column)
    return _error(ctx, f"invalid character '{ch}' (U+{ord(ch):04X})", line, column)


# ------------------------------------------------------------------------- node builders


def _describe(node) -> str:
    """How Python names an expression in 'cannot assign to ...' messages."""
    if isinstance(node, S.Constant):
        v = node.value
        if v is None or v is True or v is False:
            return str(v)
        if v is Ellipsis:
            return "ellipsis"
        return "literal"
    return {
        S.Call: "function call",
        S.BinOp: "expression",
        S.UnaryOp: "expression",
        S.BoolOp: "expression",
        S.Compare: "comparison",
        S.IfExp: "conditional expression",
        S.Lambda: "lambda",
        S.Dict: "dict literal",
        S.ListComp: "list comprehension",
        S.DictComp: "dict comprehension",
        S.JoinedStr: "f-string expression",
        S.FormattedValue: "f-string expression",
        S.Attribute: "attribute",
        S.Subscript: "subscript",
        S.Starred: "starred",
        S.Name: "name",
        S.List: "list",
        S.Tuple: "tuple",
        S.Slice: "slice",
    }.get(type(node), "expression")


_ASSIGNABLE = (S.Name, S.Attribute, S.Subscript)
_READ_ONLY_NAME = "__name__"


def _is_read_only(node) -> bool:
    return node.__class__ is S.Name and node.id == _READ_ONLY_NAME


def _read_only_message(verb: str) -> str:
    return f"cannot {verb} {_READ_ONLY_NAME} in gradscript (it is always '__main__')"


def _starts_together(node, child) -> bool:
    """Whether `node` starts where `child` does, its parentheses included (a bare tuple)."""
    outer = child.__dict__.get("_outer")
    start = (outer[0], outer[1]) if outer else (child.line, child.column)
    return (node.line, node.column) == start


class _Builder:
    """The callbacks Lark calls at each reduction: one method per rule or `-> alias` of the grammar.

    Every method receives the children of the reduced rule (tokens and already built nodes) and
    returns a node with its position and its nesting depth (`_depth`, checked against the limit).
    """

    def __init__(self):
        self.ctx: _Ctx | None = None

    # ------------------------------------------------------------------ helpers

    def _done(self, node, first, last, depth):
        """Give `node` the span from `first` to `last` (tokens or nodes) and its nesting depth.

        A parenthesised child counts with its parentheses (`_outer`), as in Python's `ast`.
        """
        outer = None if type(first) is Token else first.__dict__.get("_outer")
        if outer is None:
            node.line = first.line
            node.column = first.column
        else:
            node.line, node.column = outer[0], outer[1]
        outer = None if type(last) is Token else last.__dict__.get("_outer")
        if outer is None:
            node.end_line = last.end_line
            node.end_column = last.end_column
        else:
            node.end_line, node.end_column = outer[2], outer[3]
        depth += 1
        if depth > self.ctx.max_depth:
            raise self._too_deep(first if type(first) is Token else last)
        node._depth = depth
        return node

    def _too_deep(self, where):
        limit = self.ctx.max_depth
        return _error_at(
            self.ctx,
            f"too deeply nested: the code nests more than {limit} levels (limit {limit}, --max-depth)",
            where,
            cls=LimitError,
        )

    def _err(self, message, item):
        return _error_at(self.ctx, message, item)

    @staticmethod
    def _maxd(items) -> int:
        d = 0
        for x in items:
            if x is not None:
                xd = x._depth
                if xd > d:
                    d = xd
        return d

    def _check_name(self, tok) -> str:
        value = str(tok)
        if value.startswith("__"):
            raise self._err("names starting with '__' are not allowed in gradscript", tok)
        return value

    def _check_attr(self, tok) -> str:
        value = str(tok)
        if value.startswith("_"):
            raise self._err("attribute names starting with '_' are not allowed in gradscript", tok)
        return value

    def _check_target(self, target, how: str):
        """Raise unless `target` can be assigned to (`how`: assign, for, with, comp, del, aug)."""
        if isinstance(target, _ASSIGNABLE) and not _is_read_only(target):
            return
        if how == "aug" and not _is_read_only(target):
            raise self._err(
                f"'{_describe(target)}' is an illegal expression for augmented assignment", target
            )
        if isinstance(target, S.Starred) and how != "del":
            raise self._err("starred assignment target must be in a list or tuple", target)
        stack = [target]
        while stack:
            node = stack.pop()
            if _is_read_only(node):
                raise self._err(_read_only_message("delete" if how == "del" else "assign to"), node)
            if isinstance(node, _ASSIGNABLE):
                continue
            if isinstance(node, (S.Tuple, S.List)):
                starred = [e for e in node.elts if isinstance(e, S.Starred)]
                if how == "del" and starred:
                    raise self._err("cannot delete starred", starred[0])
                if len(starred) > 1:
                    raise self._err("multiple starred expressions in assignment", starred[1])
                stack.extend(e.value if isinstance(e, S.Starred) else e for e in reversed(node.elts))
                continue
            what = _describe(node)
            if how == "del":
                raise self._err(f"cannot delete {what}", node)
            if how == "assign":
                raise self._err(f"cannot assign to {what} here. Maybe you meant '==' instead of '='?", node)
            raise self._err(f"cannot assign to {what}", node)

    def _block_depth(self, *blocks) -> int:
        d = 0
        for block in blocks:
            if block:
                for s in block:
                    sd = s._depth
                    if sd > d:
                        d = sd
        return d

    @staticmethod
    def _loose(*blocks) -> list:
        """The return/break/continue statements in these blocks not yet enclosed by a def or loop."""
        out = []
        for block in blocks:
            if block:
                for s in block:
                    lo = getattr(s, "_loose", None)
                    if lo:
                        out.extend(lo)
        return out

    def _outside(self, stmt):
        if isinstance(stmt, S.Return):
            return self._err("'return' outside function", stmt)
        if isinstance(stmt, S.Break):
            return self._err("'break' outside loop", stmt)
        return self._err("'continue' not properly in loop", stmt)

    # ------------------------------------------------------------------ modules and blocks

    def file_input(self, c):
        body = []
        for x in c:
            if type(x) is list:
                body.extend(x)
            elif x is not None:
                body.append(x)
        loose = self._loose(body)
        if loose:
            raise self._outside(loose[0])
        m = S.Module(body)
        if body:
            m.line, m.column = body[0].line, body[0].column
            m.end_line, m.end_column = body[-1].end_line, body[-1].end_column
        else:
            m.line = m.column = m.end_line = m.end_column = 1
        return m

    def eval_input(self, c):
        value = c[0]
        if isinstance(value, S.Starred):
            raise self._err("can't use starred expression here", value)
        return value

    def simple_stmt(self, c):
        return c

    def suite(self, c):
        if len(c) == 1 and type(c[0]) is list:
            return c[0]
        body = []
        for x in c:
            if type(x) is list:
                body.extend(x)
            else:
                body.append(x)
        return body

    # ------------------------------------------------------------------ simple statements

    def expr_stmt(self, c):
        value = c[0]
        if isinstance(value, S.Starred):
            raise self._err("can't use starred expression here", value)
        return self._done(S.ExprStmt(value), value, value, value._depth)

    def assign(self, c):
        value = c[-1]
        targets = c[:-1]
        for t in targets:
            self._check_target(t, "assign")
        if isinstance(value, S.Starred):
            raise self._err("can't use starred expression here", value)
        return self._done(S.Assign(targets, value), targets[0], value, self._maxd(c))

    def aug_assign(self, c):
        target, op, value = c
        self._check_target(target, "aug")
        return self._done(
            S.AugAssign(target, str(op)[:-1], value), target, value, max(target._depth, value._depth)
        )

    def annotated_assign(self, c):
        raise self._err("variable annotations (x: type = value) are not supported in gradscript", c[0])

    def pass_stmt(self, c):
        tok = c[0]
        return self._done(S.Pass(), tok, tok, 0)

    def break_stmt(self, c):
        tok = c[0]
        node = self._done(S.Break(), tok, tok, 0)
        node._loose = [node]
        return node

    def continue_stmt(self, c):
        tok = c[0]
        node = self._done(S.Continue(), tok, tok, 0)
        node._loose = [node]
        return node

    def return_stmt(self, c):
        tok, value = c
        if isinstance(value, S.Starred):
            raise self._err("can't use starred expression here", value)
        node = self._done(S.Return(value), tok, value or tok, value._depth if value else 0)
        node._loose = [node]
        return node

    def raise_stmt(self, c):
        tok, exc, from_tok, cause = c
        if cause is not None:
            raise self._err("'raise ... from ...' is not supported in gradscript", from_tok)
        return self._done(S.Raise(exc), tok, exc or tok, exc._depth if exc else 0)

    def del_stmt(self, c):
        tok, target = c
        if isinstance(target, S.Tuple) and target.elts and _starts_together(target, target.elts[0]):
            targets = target.elts  # `del a, b` (a bare tuple) deletes each
        else:
            targets = [target]
        for t in targets:
            self._check_target(t, "del")
        return self._done(S.Delete(targets), tok, target, self._maxd(targets))

    def assert_stmt(self, c):
        tok, test, _comma, msg = c
        return self._done(S.Assert(test, msg), tok, msg or test, self._maxd((test, msg)))

    # ------------------------------------------------------------------ imports

    def dotted_name(self, c):
        # the first part is a module (a name), the others are attributes
        self._check_name(c[0])
        for tok in c[1:]:
            self._check_attr(tok)
        return (".".join(str(t) for t in c), c[0], c[-1])

    def dotted_as_name(self, c):
        (name, first, last), asname = c
        if asname is not None:
            self._check_name(asname)
        node = S.Alias(name, str(asname) if asname is not None else None)
        return self._done(node, first, asname or last, 0)

    def import_as_name(self, c):
        name, asname = c
        self._check_attr(name)
        if asname is not None:
            self._check_name(asname)
        return self._done(
            S.Alias(str(name), str(asname) if asname is not None else None), name, asname or name, 0
        )

    def import_stmt(self, c):
        names = [x for x in c[1:] if isinstance(x, S.Alias)]
        return self._done(S.Import(names), c[0], names[-1], 1)

    def relative_module(self, c):
        raise self._err("relative imports (from . import x) are not supported in gradscript", c[0])

    def from_import_stmt(self, c):
        module, first_mod, _ = c[1]
        names = [x for x in c[3:] if isinstance(x, S.Alias)]
        last = c[-1]
        if not names:  # `from m import *`
            star = c[3]
            names = [self._done(S.Alias("*", None), star, star, 0)]
            last = star
        elif last is None:
            last = names[-1]
        return self._done(S.ImportFrom(module, names), c[0], last, 1)

    # ------------------------------------------------------------------ compound statements

    def elif_clause(self, c):
        return (c[0], c[1], c[3])

    def if_stmt(self, c):
        orelse = c[-1] or []
        for tok, test, body in reversed([x for x in c[4:-3]]):
            node = S.If(test, body, orelse)
            last = (orelse or body)[-1]
            self._done(node, tok, last, max(test._depth, self._block_depth(body, orelse)))
            lo = self._loose(body, orelse)
            if lo:
                node._loose = lo
            orelse = [node]
        test, body = c[1], c[3]
        node = S.If(test, body, orelse)
        self._done(node, c[0], (orelse or body)[-1], max(test._depth, self._block_depth(body, orelse)))
        lo = self._loose(body, orelse)
        if lo:
            node._loose = lo
        return node

    def _loop_loose(self, node, body, orelse):
        lo = [s for s in self._loose(body) if isinstance(s, S.Return)] + self._loose(orelse)
        if lo:
            node._loose = lo
        return node

    def while_stmt(self, c):
        tok, test, _colon, body, _else, _colon2, orelse = c
        orelse = orelse or []
        node = S.While(test, body, orelse)
        self._done(node, tok, (orelse or body)[-1], max(test._depth, self._block_depth(body, orelse)))
        return self._loop_loose(node, body, orelse)

    def for_stmt(self, c):
        tok, target, _in, it, _colon, body, _else, _colon2, orelse = c
        self._check_target(target, "for")
        orelse = orelse or []
        node = S.For(target, it, body, orelse)
        depth = max(target._depth, it._depth, self._block_depth(body, orelse))
        self._done(node, tok, (orelse or body)[-1], depth)
        return self._loop_loose(node, body, orelse)

    def except_clause(self, c):
        tok, typ, _as, name, _colon, body = c
        if name is not None:
            self._check_name(name)
        node = S.ExceptHandler(typ, str(name) if name is not None else None, body)
        self._done(node, tok, body[-1], max(typ._depth if typ else 0, self._block_depth(body)))
        lo = self._loose(body)
        if lo:
            node._loose = lo
        return node

    def try_except(self, c):
        body = c[2]
        handlers = [x for x in c[3:-6]]
        for h in handlers[:-1]:
            if h.type is None:
                raise self._err("default 'except:' must be last", h)
        orelse = c[-4] or []
        finalbody = c[-1] or []
        node = S.Try(body, handlers, orelse, finalbody)
        last = (finalbody or orelse or handlers)[-1]
        self._done(node, c[0], last, max(self._block_depth(body, orelse, finalbody), self._maxd(handlers)))
        lo = self._loose(body, handlers, orelse, finalbody)
        if lo:
            node._loose = lo
        return node

    def try_finally(self, c):
        body, finalbody = c[2], c[5]
        node = S.Try(body, [], [], finalbody)
        self._done(node, c[0], finalbody[-1], self._block_depth(body, finalbody))
        lo = self._loose(body, finalbody)
        if lo:
            node._loose = lo
        return node

    def with_item(self, c):
        expr, target = c
        if target is not None:
            self._check_target(target, "with")
        node = S.WithItem(expr, target)
        return self._done(node, expr, target or expr, self._maxd(c))

    def with_stmt(self, c):
        items = [x for x in c[1:-2] if isinstance(x, S.WithItem)]
        body = c[-1]
        node = S.With(items, body)
        self._done(node, c[0], body[-1], max(self._maxd(items), self._block_depth(body)))
        lo = self._loose(body)
        if lo:
            node._loose = lo
        return node

    def funcdef(self, c):
        tok, name, _lpar, params, _rpar, arrow, _ret, _colon, body = c
        value = str(name)
        if value.startswith("__") and not (value.endswith("__") and len(value) > 4):
            raise self._err("names starting with '__' are not allowed in gradscript", name)
        if value == _READ_ONLY_NAME:
            raise self._err(_read_only_message("assign to"), name)
        if arrow is not None:
            raise self._err("return annotations ('->') are not supported in gradscript", arrow)
        params = params or []
        for s in self._loose(body):
            if not isinstance(s, S.Return):
                raise self._outside(s)
        node = S.FunctionDef(value, params, body, [])
        return self._done(node, tok, body[-1], max(self._maxd(params), self._block_depth(body)))

    def classdef(self, c):
        tok, name = c[0], c[1]
        args = c[3]
        body = c[-1]
        self._check_name(name)
        bases = []
        if args is not None:
            bases, keywords = args
            if keywords:
                raise self._err(
                    "class keyword arguments (like metaclass=...) are not supported in gradscript",
                    keywords[0],
                )
            for b in bases:
                if isinstance(b, S.Starred):
                    raise self._err("starred class bases are not supported in gradscript", b)
        lo = self._loose(body)
        if lo:
            raise self._outside(lo[0])
        node = S.ClassDef(str(name), bases, body, [])
        return self._done(node, tok, body[-1], max(self._maxd(bases), self._block_depth(body)))

    def decorated(self, c):
        node = c[-1]
        decorators = c[:-1]
        node.decorators = decorators
        d = self._maxd(decorators) + 1
        if d > node._depth:
            self._done(node, node, node, d - 1)
        return node

    # ------------------------------------------------------------------ parameters

    def param(self, c):
        name, default = c
        value = self._check_name(name)
        node = S.Param(value, default, "normal")
        return self._done(node, name, default or name, default._depth if default is not None else 0)

    def annotated_param(self, c):
        raise self._err("parameter annotations (x: type) are not supported in gradscript", c[1])

    def star_param(self, c):
        star, name = c
        if name is None:
            raise self._err("a bare '*' (keyword-only parameters) is not supported in gradscript", star)
        node = S.Param(self._check_name(name), None, "vararg")
        return self._done(node, name, name, 0)

    def kwargs_param(self, c):
        name = c[1]
        node = S.Param(self._check_name(name), None, "kwarg")
        return self._done(node, name, name, 0)

    def slash_param(self, c):
        raise self._err("positional-only parameters ('/') are not supported in gradscript", c[0])

    def parameters(self, c):
        seen = set()
        default_seen = False
        star_seen = False
        kwarg_seen = False
        for p in c:
            if kwarg_seen:
                raise self._err("arguments cannot follow var-keyword argument", p)
            if p.name in seen:
                raise self._err(f"duplicate argument '{p.name}' in function definition", p)
            seen.add(p.name)
            if p.kind == "vararg":
                if star_seen:
                    raise self._err("* argument may appear only once", p)
                star_seen = True
            elif p.kind == "kwarg":
                kwarg_seen = True
            elif p.default is not None:
                default_seen = True
            elif default_seen and not star_seen:
                raise self._err("non-default argument follows default argument", p)
        return c

    # ------------------------------------------------------------------ expression lists

    def tuple(self, c):
        elts = [x for x in c if x is not None and type(x) is not Token]
        last = c[-1] if c[-1] is not None else c[-2]
        return self._done(S.Tuple(elts), c[0], last, self._maxd(elts))

    def star_expr(self, c):
        star, value = c
        return self._done(S.Starred(value), star, value, value._depth)

    # ------------------------------------------------------------------ operators

    def ifexp(self, c):
        body, test, orelse = c
        return self._done(
            S.IfExp(test, body, orelse), body, orelse, max(body._depth, test._depth, orelse._depth)
        )

    def lambdef(self, c):
        tok, params, _colon, body = c
        params = params or []
        node = S.Lambda(params, body)
        return self._done(node, tok, body, max(self._maxd(params), body._depth))

    def or_test(self, c):
        return self._done(S.BoolOp("or", c), c[0], c[-1], self._maxd(c))

    def and_test(self, c):
        return self._done(S.BoolOp("and", c), c[0], c[-1], self._maxd(c))

    def not_op(self, c):
        tok, operand = c
        return self._done(S.UnaryOp("not", operand), tok, operand, operand._depth)

    def comparison(self, c):
        left = c[0]
        ops = []
        comparators = []
        pending = None
        for x in c[1:]:
            if type(x) is Token:
                pending = str(x) if pending is None else f"{pending} {x}"
            else:
                ops.append(pending)
                comparators.append(x)
                pending = None
        return self._done(S.Compare(left, ops, comparators), left, c[-1], self._maxd((left, *comparators)))

    def binop(self, c):
        left, op, right = c
        ld, rd = left._depth, right._depth
        return self._done(S.BinOp(left, str(op), right), left, right, ld if ld > rd else rd)

    def unary(self, c):
        op, operand = c
        return self._done(S.UnaryOp(str(op), operand), op, operand, operand._depth)

    # ------------------------------------------------------------------ primaries

    def attribute(self, c):
        value, _dot, name = c
        return self._done(S.Attribute(value, self._check_attr(name)), value, name, value._depth)

    def call(self, c):
        func, _lpar, arguments, rpar = c
        args, keywords = arguments if arguments is not None else ([], [])
        node = S.Call(func, args, keywords)
        return self._done(node, func, rpar, max(func._depth, self._maxd(args), self._maxd(keywords)))

    def subscript(self, c):
        value, _lsqb, index, rsqb = c
        return self._done(S.Subscript(value, index), value, rsqb, max(value._depth, index._depth))

    def slice(self, c):
        items = [x for x in c if x is not None]
        lower, _c1, upper, _c2, step = c
        return self._done(S.Slice(lower, upper, step), items[0], items[-1], self._maxd((lower, upper, step)))

    def arguments(self, c):
        args = []
        keywords = []
        names = set()
        kw_unpack = False
        for a in c:
            if isinstance(a, S.Keyword):
                if a.arg is None:
                    kw_unpack = True
                else:
                    if a.arg in names:
                        raise self._err(f"keyword argument repeated: {a.arg}", a)
                    names.add(a.arg)
                keywords.append(a)
            else:
                if isinstance(a, S.Starred):
                    if kw_unpack:
                        raise self._err("iterable argument unpacking follows keyword argument unpacking", a)
                elif kw_unpack:
                    raise self._err("positional argument follows keyword argument unpacking", a)
                elif keywords:
                    raise self._err("positional argument follows keyword argument", a)
                args.append(a)
        return (args, keywords)

    def kwarg(self, c):
        name, value = c
        if not isinstance(name, S.Name) or "_outer" in name.__dict__:
            raise self._err('expression cannot contain assignment, perhaps you meant "=="?', name)
        return self._done(S.Keyword(name.id, value), name, value, value._depth)

    def star_arg(self, c):
        star, value = c
        return self._done(S.Starred(value), star, value, value._depth)

    def kwargs_arg(self, c):
        star, value = c
        return self._done(S.Keyword(None, value), star, value, value._depth)

    # ------------------------------------------------------------------ atoms

    def name(self, c):
        tok = c[0]
        value = str(tok)
        # `__name__` is the one dunder a script may read (for `if __name__ == "__main__":`); it is always
        # "__main__" and nothing can rebind it (`_check_target`, `funcdef`, `_check_name`).
        if value.startswith("__") and value != _READ_ONLY_NAME:
            raise self._err("names starting with '__' are not allowed in gradscript", tok)
        return self._done(S.Name(value), tok, tok, 0)

    def number(self, c):
        tok = c[0]
        value = _number_value(str(tok))
        if value is None:
            raise self._err(f"integer literal too large (more than {_MAX_INT_DIGITS} digits)", tok)
        if type(value) is int and value.bit_length() > self.ctx.limits.max_int_bits:
            raise _error_at(
                self.ctx,
                f"integer literal too large (over {self.ctx.limits.max_int_bits} bits, --max-int-bits)",
                tok,
                cls=LimitError,
            )
        return self._done(S.Constant(value), tok, tok, 0)

    def const_none(self, c):
        return self._done(S.Constant(None), c[0], c[0], 0)

    def const_true(self, c):
        return self._done(S.Constant(True), c[0], c[0], 0)

    def const_false(self, c):
        return self._done(S.Constant(False), c[0], c[0], 0)

    def ellipsis(self, c):
        return self._done(S.Constant(Ellipsis), c[0], c[0], 0)

    def string(self, c):
        first, last = c[0], c[-1]
        if len(c) == 1:
            tok = first
            prefix, start, end = _split_string(tok)
            if "f" not in prefix:
                body = tok[start:end]
                if "r" not in prefix and "\\" in body:
                    body = self._decode(body, tok)
                return self._done(S.Constant(body), tok, tok, 0)
        parts: list = []
        is_f = False
        for tok in c:
            prefix, start, end = _split_string(tok)
            raw = "r" in prefix
            if "f" in prefix:
                is_f = True
                parts.extend(self._fstring_parts(tok, start, end, raw, 0))
            else:
                body = tok[start:end]
                parts.append(body if raw else self._decode(body, tok))
        if not is_f:
            return self._done(S.Constant("".join(parts)), first, last, 0)
        values = self._join_parts(parts, first, last)
        return self._done(S.JoinedStr(values), first, last, self._maxd(values))

    def _decode(self, body, tok):
        try:
            return _decode_escapes(body)
        except ValueError as e:
            raise self._err(str(e), tok) from None

    def _join_parts(self, parts, first, last):
        values = []
        text = []
        for p in parts:
            if type(p) is str:
                text.append(p)
                continue
            if text and "".join(text):
                values.append(self._done(S.Constant("".join(text)), first, last, 0))
            text = []
            values.append(p)
        if text and "".join(text):
            values.append(self._done(S.Constant("".join(text)), first, last, 0))
        return values

    def _fstring_parts(self, tok, i, end, raw, spec_level):
        """Split the body tok[i:end] of an f-string (or of a format spec) into str and FormattedValue.

        In a format spec (spec_level > 0) the text stops at the first '}' at this level.
        Returns the parts, and when in a spec, also the index where it stopped.
        """
        parts = []
        lit = []
        while i < end:
            ch = tok[i]
            if ch == "{":
                if spec_level == 0 and tok.startswith("{{", i):
                    lit.append("{")
                    i += 2
                    continue
                if lit:
                    parts.append(self._fliteral(lit, raw, tok))
                    lit = []
                if spec_level >= 2:
                    raise self._fail_at(tok, i, "f-string: expressions nested too deeply")
                field, i = self._fstring_field(tok, i + 1, end, raw, spec_level)
                parts.extend(field)
            elif ch == "}":
                if spec_level:
                    break
                if tok.startswith("}}", i):
                    lit.append("}")
                    i += 2
                    continue
                raise self._fail_at(tok, i, "f-string: single '}' is not allowed")
            elif ch == "\\" and not raw:
                if tok.startswith("N{", i + 1):
                    k = tok.find("}", i)
                    k = end - 1 if k < 0 or k >= end else k
                    lit.append(tok[i : k + 1])
                    i = k + 1
                elif tok[i + 1 : i + 2] in ("{", "}"):  # as in Python, the brace still counts
                    lit.append("\\")
                    i += 1
                else:
                    lit.append(tok[i : i + 2])
                    i += 2
            else:
                k = i + 1
                while k < end and tok[k] not in "{}\\":
                    k += 1
                lit.append(tok[i:k])
                i = k
        if lit:
            parts.append(self._fliteral(lit, raw, tok))
        if spec_level:
            return parts, i
        return parts

    def _fliteral(self, lit, raw, tok):
        text = "".join(lit)
        return text if raw else self._decode(text, tok)

    def _fail_at(self, tok, index, message):
        line, column = _offset_position(tok, index)
        return _error(self.ctx, message, line, column)

    def _fstring_field(self, tok, start, end, raw, spec_level):
        """Parse one replacement field `{expr=!c:spec}` whose expression starts at tok[start]."""
        depth = 0
        k = start
        while k < end:
            ch = tok[k]
            if ch in "'\"":
                quote = ch * 3 if tok.startswith(ch * 3, k) else ch
                j = tok.find(quote, k + len(quote))
                if j < 0 or j >= end:
                    raise self._fail_at(tok, k, "f-string: unterminated string")
                k = j + len(quote)
                continue
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                if depth == 0:
                    if ch == "}":
                        break
                    raise self._fail_at(tok, k, f"f-string: unmatched '{ch}'")
                depth -= 1
            elif ch == "\\":
                raise self._fail_at(tok, k, "f-string expression part cannot include a backslash")
            elif ch == "#":
                raise self._fail_at(tok, k, "f-string expression part cannot include '#'")
            elif depth == 0:
                nxt = tok[k + 1 : k + 2]
                if ch in "=!<>" and nxt == "=":
                    k += 2
                    continue
                if ch in "!:=":
                    break
            k += 1
        if k >= end:
            raise self._fail_at(tok, start - 1, "f-string: expecting '}'")
        expr_text = tok[start:k]
        if not expr_text.strip():
            raise self._fail_at(tok, start - 1, "f-string: empty expression not allowed")
        parts = []
        conversion = None
        spec = None
        if tok[k] == "=":
            k += 1
            while k < end and tok[k] in " \t\n\f":
                k += 1
            parts.append(tok[start:k])
        if k < end and tok[k] == "!":
            conv = tok[k + 1 : k + 2]
            if conv not in ("r", "s", "a") or k + 2 >= end or tok[k + 2] not in ":}":
                raise self._fail_at(
                    tok, k, "f-string: invalid conversion character: expected 's', 'r', or 'a'"
                )
            conversion = conv
            k += 2
        if k < end and tok[k] == ":":
            spec_start = k + 1
            spec_parts, k = self._fstring_parts(tok, spec_start, end, raw, spec_level + 1)
            line, column = _offset_position(tok, spec_start)
            spec = S.JoinedStr(self._join_parts(spec_parts, tok, tok))
            self._done(spec, tok, tok, self._maxd(spec.values))
        if k >= end or tok[k] != "}":
            raise self._fail_at(tok, start - 1, "f-string: expecting '}'")
        if parts and conversion is None and spec is None:
            conversion = "r"  # `{x=}` shows repr(x), as in Python
        line, column = _offset_position(tok, start)
        value = _parse_fstring_expression(self.ctx, expr_text, line, column)
        node = S.FormattedValue(value, conversion, spec)
        self._done(node, value, value, max(value._depth, spec._depth if spec is not None else 0))
        parts.append(node)
        return parts, k + 1

    # --- parentheses, lists, dicts, comprehensions

    def paren(self, c):
        lpar, value, rpar = c
        if isinstance(value, S.Starred):
            raise self._err("cannot use starred expression here", value)
        # The node keeps its own span; a node built around it starts or ends at the parentheses.
        value._outer = (lpar.line, lpar.column, rpar.end_line, rpar.end_column)
        return value

    def tuple_display(self, c):
        elts = [x for x in c[1:-1] if x is not None and type(x) is not Token]
        return self._done(S.Tuple(elts), c[0], c[-1], self._maxd(elts))

    def list_display(self, c):
        elts = [x for x in c[1:-1] if x is not None and type(x) is not Token]
        return self._done(S.List(elts), c[0], c[-1], self._maxd(elts))

    def list_comp(self, c):
        elt = c[1]
        if isinstance(elt, S.Starred):
            raise self._err("iterable unpacking cannot be used in comprehension", elt)
        generators = c[2:-1]
        return self._done(S.ListComp(elt, generators), c[0], c[-1], max(elt._depth, self._maxd(generators)))

    def comp_for(self, c):
        target, it = c[1], c[3]
        self._check_target(target, "comp")
        ifs = [x for x in c[4:] if type(x) is not Token]
        node = S.Comprehension(target, it, ifs)
        return self._done(node, c[0], ifs[-1] if ifs else it, max(target._depth, it._depth, self._maxd(ifs)))

    def dict_item(self, c):
        return [c[0], c[2]]  # key, value

    def dict_display(self, c):
        keys = []
        values = []
        for x in c[1:-1]:
            if type(x) is list:
                keys.append(x[0])
                values.append(x[1])
        node = S.Dict(keys, values)
        return self._done(node, c[0], c[-1], max(self._maxd(keys), self._maxd(values)))

    def dict_unpack(self, c):
        raise self._err("'**' unpacking inside a dict display is not supported in gradscript", c[0])

    def generator(self, c):
        first = c[0] if type(c[0]) is not Token else c[1]
        raise self._err(
            "generator expressions are not supported in gradscript (use a list comprehension)", first
        )

    def dict_comp(self, c):
        key, value, *generators = [x for x in c if type(x) is not Token]
        depth = max(key._depth, value._depth, self._maxd(generators))
        return self._done(S.DictComp(key, value, generators), c[0], c[-1], depth)

    def set_display(self, c):
        raise self._err("set displays ({a, b}) are not supported in gradscript", c[0])

    def set_comp(self, c):
        raise self._err("set comprehensions are not supported in gradscript", c[0])


_BUILDER = _Builder()


# ------------------------------------------------------------------------------ syntax errors


def _token_error(ctx: _Ctx, tok: Token, accepts: set) -> ScriptSyntaxError:
    """Turn "unexpected token" into a message in words (never a terminal name).

    `accepts` holds the terminals the parser could have taken instead of `tok`.
    """
    t = tok.type
    st = ctx.lex
    accepts.discard("$END")
    before = st.prev2 if st.prev is tok else st.prev  # the token before `tok`

    def err(message, kind=None):
        return _error_at(ctx, message, tok, kind=kind)

    # Layout.
    if t == "_INDENT":
        return err("unexpected indent", "IndentationError")
    if "_INDENT" in accepts:
        header = st.header
        if header is None:  # pragma: no cover - a block always follows a header line
            return err("expected an indented block", "IndentationError")
        what = _HEADER_WORDS.get(header.type) or f"'{header}' statement"
        return err(f"expected an indented block after {what} on line {header.line}", "IndentationError")
    if t == "_DEDENT":
        return err("unexpected unindent", "IndentationError")

    # Specific messages, as Python's parser gives them.
    if accepts and accepts <= {"EXCEPT", "FINALLY"}:
        return err("expected 'except' or 'finally' block")
    if before is not None and before.type == "EXCEPT" and t == "STAR":
        return err("'except*' is not supported in gradscript")
    core = accepts - _CONTINUATION - {"COMMA"}
    if "COLON" in accepts and t != "EQUAL" and (t in ("_NEWLINE", "$END") or core <= {"COLON", "RARROW"}):
        return err("expected ':'")
    if "ELSE" in accepts and core == {"ELSE"}:
        return err("expected 'else' after 'if' expression")
    if accepts and accepts <= {"DEF", "CLASS", "AT"}:
        return err("decorators are only allowed in front of 'def' and 'class'")
    first = st.line_first
    if first is not None and first.type == "NAME" and first == "match" and not st.brackets:
        # `match x:` fails at `x`; `match (x):` and `match -x:` parse as far as the ':'
        if (first is before and t not in ("_NEWLINE", "$END")) or (
            before is not None and before.type == "COLON"
        ):
            return _error_at(ctx, "'match' statements are not supported in gradscript", first)
    if first is not None and first is before and first.type == "NAME" and t not in ("_NEWLINE", "$END"):
        if first == "print" and t in _EXPR_START:
            return err("Missing parentheses in call to 'print'. Did you mean print(...)?")

    # The generic cases: a later tokenizer error (an unclosed bracket, an unterminated string, a bad
    # indentation...) is a better explanation, as in Python.
    later = _tokenizer_error(ctx)
    if later is not None:
        return later
    if t == "EQUAL" and "EQUAL" not in accepts:
        return err("invalid syntax. Maybe you meant '==' instead of '='?")
    if (
        (st.brackets or ctx.in_fstring)
        and t in _EXPR_START
        and before is not None
        and before.type in _EXPR_END
    ):
        return err("invalid syntax. Perhaps you forgot a comma?")
    if accepts == {"NAME"}:
        return err("expected a name")
    if "NUMBER" in accepts and not (accepts - _EXPR_START - {"STAR", "DOUBLESTAR", "RPAR", "RSQB", "RBRACE"}):
        return err("expected an expression")
    return err("invalid syntax")


def _tokenizer_error(ctx: _Ctx) -> ScriptSyntaxError | None:
    """Lex the whole text again (tokens only) and return the first tokenizer error, if any."""
    if ctx.expr_mode:
        return None
    sub = _Ctx(
        ctx.text, ctx.filename, ctx.limits, ctx.source_lines, line_off=ctx.line_off, col_off=ctx.col_off
    )
    sub.tokenizer_only = True
    saved = _BUILDER.ctx
    _BUILDER.ctx = sub
    try:
        for _ in _tokens(_tables(), sub):
            pass
    except ScriptSyntaxError as err:
        return err
    finally:
        _BUILDER.ctx = saved
    return None


# ------------------------------------------------------------------------------ entry points


def _prepare(source, filename: str, limits: Limits) -> str:
    """Check the size and the characters of the text, and normalise its line breaks."""
    if isinstance(source, (bytes, bytearray)):
        size = len(source)
        if size > limits.max_source_bytes:
            raise LimitError(_size_message(size, limits))
        try:
            source = bytes(source).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ScriptSyntaxError(
                f"(unicode error) 'utf-8' codec can't decode byte 0x{source[e.start]:02x} "
                f"in position {e.start}",
                filename=filename,
            ) from None
    elif not isinstance(source, str):
        raise TypeError(f"parse() wants a str, not {type(source).__name__}")
    if len(source) > limits.max_source_bytes:
        raise LimitError(_size_message(len(source), limits, at_least=True))
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > limits.max_source_bytes:
        raise LimitError(_size_message(size, limits))
    if source.startswith("\ufeff"):
        source = source[1:]
    if "\r" in source:
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    bad = _BAD_CHARS.search(source)
    if bad is not None:
        i = bad.start()
        line = source.count("\n", 0, i) + 1
        column = i - source.rfind("\n", 0, i)
        ch = source[i]
        lines = source.split("\n")
        message = (
            "source code cannot contain null bytes"
            if ch == "\0"
            else f"invalid character: lone surrogate U+{ord(ch):04X} (the text is not valid Unicode)"
        )
        raise ScriptSyntaxError(
            message,
            line=line,
            column=column,
            end_column=column + 1,
            source_line=lines[line - 1].encode("utf-8", "backslashreplace").decode("utf-8"),
            filename=filename,
        )
    if not source.endswith("\n"):
        source += "\n"
    return source


_BAD_CHARS = re.compile("[\0\ud800-\udfff]")


def _size_message(size: int, limits: Limits, at_least: bool = False) -> str:
    many = "at least " if at_least else ""
    return (
        f"the script is {many}{size:,} bytes, over the limit of {limits.max_source_bytes:,} bytes "
        "(--max-source-bytes)"
    )


class _Lexer:
    """The grammar's terminals as one regular expression, tried in Lark's order.

    The same tokens as Lark's basic lexer (whose terminal list, priorities and order it reuses, see
    `_lexer_data`), in one `re.match` per token: keywords are looked up in a table after NAME matches.
    """

    def __init__(self, pattern, flags, keywords, ignore, multiline):
        self.match = re.compile(pattern, flags).match
        self.keywords = dict(keywords)
        self.ignore = frozenset(ignore)
        self.multiline = frozenset(multiline)

    def lex(self, ctx: _Ctx):
        text = ctx.text
        match = self.match
        keywords = self.keywords
        ignore = self.ignore
        multiline = self.multiline
        pos = 0
        end_of_text = len(text)
        line = 1
        line_start = 0  # index of the first character of the current line
        while pos < end_of_text:
            m = match(text, pos)
            if m is None:
                raise _char_error(ctx, pos, line, pos - line_start + 1)
            kind = m.lastgroup
            end = m.end()
            value = m.group()
            end_line = line
            end_line_start = line_start
            if kind in multiline and "\n" in value:
                end_line += value.count("\n")
                end_line_start = pos + value.rfind("\n") + 1
                if end == end_of_text and value[0] == "\\":  # a line continuation into nothing
                    raise _error(
                        ctx, "unexpected EOF while parsing", line + ctx.line_off, pos - line_start + 1
                    )
            if kind not in ignore:
                if kind == "NAME":
                    kind = keywords.get(value, "NAME")
                yield Token(
                    kind, value, pos, line, pos - line_start + 1, end_line, end - end_line_start + 1, end
                )
            line = end_line
            line_start = end_line_start
            pos = end


# What `_build_tables` writes; bump it whenever that changes (the cache of an older format is rebuilt).
_TABLES_FORMAT = 1


def _lexer_data(basic) -> tuple:
    """Lark's basic lexer as plain data: (pattern, flags, keywords, ignored and multi-line terminals)."""
    from lark.lexer import PatternStr

    name = re.compile(basic.terminals_by_name["NAME"].pattern.to_regexp())
    keywords = {}
    parts = []
    for term in basic.terminals:  # sorted by Lark: priority, then longest possible match
        if isinstance(term.pattern, PatternStr) and name.fullmatch(term.pattern.value):
            keywords[term.pattern.value] = term.name
        else:
            parts.append(f"(?P<{term.name}>{term.pattern.to_regexp()})")
    return ("|".join(parts), int(basic.g_regex_flags), keywords, sorted(basic.ignore_types),
            sorted(basic.newline_types))  # fmt: skip


def _build_tables(grammar: str) -> dict:
    """Compile the grammar with Lark, once, into the plain data that `_Tables` loads.

    States are numbered; each maps a symbol to the next state (an int: shift or goto) or to a
    reduction `(size, rule name, callback number)`.  A callback is `(builder name, expand1,
    children to keep, Nones to append)`, Lark's own child filter (`maybe_create_child_filter`)
    written out: `(index, splice an inlined _rule, Nones before it)` for each child kept.
    """
    from lark import Lark
    from lark.parse_tree_builder import ChildFilterLALR_NoPlaceholders, maybe_create_child_filter
    from lark.parsers.lalr_analysis import Shift

    parser = Lark(
        grammar,
        parser="lalr",
        lexer="basic",
        start=["file_input", "eval_input"],
        postlex=_Layout(),
        maybe_placeholders=True,
        propagate_positions=False,
    )
    frontend = parser.parser
    table = frontend.parser._parse_table
    callbacks = []
    reductions = {}
    states = {}
    for state, row in table.states.items():
        new = {}
        for symbol, (action, arg) in row.items():
            if action is Shift:
                new[symbol] = int(arg)
                continue
            key = id(arg)
            if key not in reductions:
                rule = arg
                options = rule.options
                only = rule.expansion[0] if len(rule.expansion) == 1 else None
                passthrough = (
                    options.expand1
                    and not rule.alias
                    and only is not None
                    and not only.is_term
                    and not only.name.startswith("_")
                )
                number = None
                if not passthrough:
                    keep = maybe_create_child_filter(
                        rule.expansion, options.keep_all_tokens, False, options.empty_indices
                    )
                    if keep is None:
                        include, append = None, 0
                    elif keep.func is ChildFilterLALR_NoPlaceholders:
                        include, append = tuple((i, bool(x), 0) for i, x in keep.args[0]), 0
                    else:
                        include = tuple((i, bool(x), n) for i, x, n in keep.args[0])
                        append = keep.args[1]
                    name = rule.alias or options.template_source or rule.origin.name
                    number = len(callbacks)
                    callbacks.append((str(name), bool(options.expand1 and not rule.alias), include, append))
                reductions[key] = (len(rule.expansion), str(rule.origin.name), number)
            new[symbol] = reductions[key]
        states[int(state)] = new
    return {
        "lexer": _lexer_data(frontend.lexer.lexer),
        "start_states": {k: int(v) for k, v in table.start_states.items()},
        "end_states": {k: int(v) for k, v in table.end_states.items()},
        "states": states,
        "callbacks": callbacks,
    }


def _lark_version() -> str:
    """The installed Lark's version, read from its `__init__.py` without importing it."""
    for entry in sys.path:
        init = os.path.join(entry or ".", "lark", "__init__.py")
        try:
            with open(init, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r"^__version__\s*(?::[^=\n]*)?=\s*[\"']([^\"']+)[\"']", text, re.M)
        return m.group(1) if m else "?"
    return "none"


def _load_tables() -> dict:
    """The tables from the cache file when it was made from this grammar by this gradcli and this
    Lark; else built with Lark (imported only then) and written to the cache for the next process."""
    grammar = grammar_path().read_text(encoding="utf-8")
    key = {"format": _TABLES_FORMAT, "gradcli": __version__, "lark": _lark_version(), "grammar": grammar}
    path = _cache_file()
    if path is not None:
        try:
            with open(path, "rb") as f:
                data = marshal.loads(f.read())
            if type(data) is dict and data.get("key") == key:
                return data
        except (OSError, ValueError, EOFError, TypeError):
            pass
    data = _build_tables(grammar)
    data["key"] = key
    if path is not None:
        _write_private(path, marshal.dumps(data))
    return data


def _write_private(path: str, blob: bytes) -> None:
    """Write `blob` to `path` (mode 0600) through a temporary file, so readers never see half a file."""
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _make_callback(name: str, expand1: bool, include, append: int):
    """The function `_drive` calls at a reduction: Lark's child filter, then the builder method."""
    build = getattr(_BUILDER, name, None)
    if build is None:  # an inlined `_rule`: its children are spliced into its parent's

        def build(children, name=name):
            return _Tree(name, children)

    if expand1:  # a `?rule` with one child left is that child
        inner = build

        def build(children):
            return children[0] if len(children) == 1 else inner(children)

    if include is None:
        return build
    if append == 0 and not any(x or n for _, x, n in include):
        indices = [i for i, _, _ in include]

        def keep(children):
            return build([children[i] for i in indices])

        return keep

    def keep(children):
        out = []
        for i, splice, nones in include:
            if nones:
                out += [None] * nones
            if splice:
                if out:
                    out += children[i].children
                else:
                    out = children[i].children
            else:
                out.append(children[i])
        if append:
            out += [None] * append
        return build(out)

    return keep


class _Tables:
    """The LALR tables, the lexer, the post-lexer and the reduction callbacks, as `_drive` uses them.

    Each state maps a symbol to the next state (an int: shift or goto) or to a reduction
    `(size, rule name, callback number)`.  A `?rule` that just passes its only child through gets no
    callback (None): the precedence ladder makes those reductions the most common ones by far.
    """

    def __init__(self, data: dict):
        self.lexer = _Lexer(*data["lexer"])
        self.layout = _Layout()
        self.start_states = data["start_states"]
        self.end_states = data["end_states"]
        self.states = data["states"]
        self.callbacks = [_make_callback(*spec) for spec in data["callbacks"]]


_TABLES: _Tables | None = None


def _tables() -> _Tables:
    global _TABLES
    if _TABLES is None:
        with _LOCK:
            if _TABLES is None:
                _TABLES = _Tables(_load_tables())
    return _TABLES


def _tokens(tables: _Tables, ctx: _Ctx):
    """The token stream of the context's text: `_Lexer`, then `_Layout`."""
    return tables.layout.process(tables.lexer.lex(ctx))


def _accepts(states, stack, symbols) -> set:
    """The terminals the parser could shift next, from the state stack (reductions simulated)."""
    out = set()
    for t in symbols:
        st = list(stack)
        while True:
            act = states[st[-1]].get(t)
            if act is None:
                break
            if act.__class__ is int:
                out.add(t)
                break
            size, origin, _ = act
            if size:
                del st[-size:]
            st.append(states[st[-1]][origin])
    return out


def _drive(tables: _Tables, ctx: _Ctx, start: str):
    """The LALR(1) loop: shift tokens, reduce with the builders; no recursion, no parse tree."""
    states = tables.states
    callbacks = tables.callbacks
    end_state = tables.end_states[start]
    stack = [tables.start_states[start]]
    values = []
    tok = None
    # Nesting that builds no node yet (`- - - x`, `not not x`, `a ** b ** c`, `lambda: lambda: x`)
    # piles up on the parser's stack first: stop that early too.  A script within the depth limit
    # keeps a few entries per nesting level on the stack, far less than this.
    max_stack = 25 * ctx.max_depth + 100
    for tok in _tokens(tables, ctx):
        ttype = tok.type
        while True:
            act = states[stack[-1]].get(ttype)
            if act is None:
                raise _syntax_error(ctx, tok, states, stack)
            if act.__class__ is int:
                stack.append(act)
                values.append(tok)
                if len(stack) > max_stack:
                    raise _BUILDER._too_deep(tok)
                break
            size, origin, callback = act
            if callback is None:
                stack[-1] = states[stack[-2]][origin]
                continue
            callback = callbacks[callback]
            if size:
                children = values[-size:]
                del values[-size:]
                del stack[-size:]
            else:
                children = []
            stack.append(states[stack[-1]][origin])
            values.append(callback(children))
    end = _end_token(ctx, tok)
    while True:
        act = states[stack[-1]].get("$END")
        if act is None or act.__class__ is int:
            raise _syntax_error(ctx, end, states, stack)
        size, origin, callback = act
        if callback is None:
            stack[-1] = states[stack[-2]][origin]
        else:
            callback = callbacks[callback]
            if size:
                children = values[-size:]
                del values[-size:]
                del stack[-size:]
            else:
                children = []
            stack.append(states[stack[-1]][origin])
            values.append(callback(children))
        if stack[-1] == end_state:
            return values[-1]


def _end_token(ctx: _Ctx, last: Token | None) -> Token:
    """The end-of-input token, placed just after the last character that is not blank."""
    if ctx.expr_mode:
        if last is None:
            line, column = 1 + ctx.line_off, 1 + ctx.col_off
        else:
            line, column = last.end_line, last.end_column
    else:
        line, column = _text_end(ctx)
    pos = len(ctx.text)
    return Token("$END", "", pos, line, column, line, column, pos)


def _text_end(ctx: _Ctx) -> tuple[int, int]:
    lines = ctx.source_lines
    n = len(lines)
    while n > 1 and not lines[n - 1].strip():
        n -= 1
    return n, len(lines[n - 1].rstrip("\\ \t\f")) + 1 if lines else 1


def _syntax_error(ctx: _Ctx, tok, states, stack) -> ScriptSyntaxError:
    symbols = [s for s in states[stack[-1]] if s.isupper() and s != "$END"]
    return _token_error(ctx, tok, _accepts(states, stack, symbols))


def _run(ctx: _Ctx, start: str):
    tables = _tables()
    with _LOCK:
        saved = _BUILDER.ctx
        _BUILDER.ctx = ctx
        try:
            return _drive(tables, ctx, start)
        except RecursionError:  # pragma: no cover - the depth limit should stop long before
            raise LimitError(f"too deeply nested (limit {ctx.max_depth}, --max-depth)") from None
        finally:
            _BUILDER.ctx = saved


def _parse_fstring_expression(outer: _Ctx, text: str, line: int, column: int) -> S.Expr:
    """Parse the expression of an f-string replacement field, placed at (line, column)."""
    ctx = _Ctx(
        text,
        outer.filename,
        outer.limits,
        outer.source_lines,
        expr_mode=True,
        line_off=line - 1,
        col_off=column - 1,
    )
    ctx.in_fstring = True
    try:
        return _run(ctx, "eval_input")
    except LimitError:
        raise
    except ScriptSyntaxError as e:
        if not e.message.startswith("f-string"):
            e.message = f"f-string: {e.message}"
            e.args = (e.message,)
        raise


def parse(source: str, *, filename: str = "<script>", limits: Limits = DEFAULT) -> S.Module:
    """Parse a gradscript program into a `syntax.Module`.

    Raises `ScriptSyntaxError` (with line, column and the source line) for text that is not a
    gradscript program, and `LimitError` for a script over the size or nesting limits.
    """
    text = _prepare(source, filename, limits)
    return _run(_Ctx(text, filename, limits), "file_input")


def parse_expression(source: str, *, filename: str = "<expression>", limits: Limits = DEFAULT) -> S.Expr:
    """Parse a single expression (line breaks are allowed anywhere, as inside brackets)."""
    text = _prepare(source, filename, limits)
    return _run(_Ctx(text, filename, limits, expr_mode=True), "eval_input")
