"""The gradscript AST: small dataclasses that carry their source position.

The parser (the only module that knows Lark) builds these; the interpreter lowers them into closures.
Every node records where it starts and ends (1-based line, 1-based column) so errors can draw a caret.
Field names follow Python's own `ast` module where one exists, so a reader who knows that module
knows this one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Node:
    line: int = field(default=0, kw_only=True)
    column: int = field(default=0, kw_only=True)
    end_line: int = field(default=0, kw_only=True)
    end_column: int = field(default=0, kw_only=True)


# ---------------------------------------------------------------- expressions
@dataclass(eq=False)
class Expr(Node):
    pass


@dataclass(eq=False)
class Constant(Expr):
    value: Any  # int, float, str, bool or None


@dataclass(eq=False)
class FormattedValue(Expr):
    value: Expr
    conversion: str | None  # None, "r", "s" or "a"
    format_spec: JoinedStr | None


@dataclass(eq=False)
class JoinedStr(Expr):
    """An f-string: literal text pieces (Constant str) and FormattedValue pieces, in order."""

    values: list[Expr]


@dataclass(eq=False)
class Name(Expr):
    id: str


@dataclass(eq=False)
class Attribute(Expr):
    value: Expr
    attr: str


@dataclass(eq=False)
class Subscript(Expr):
    value: Expr
    index: Expr  # a Slice, a Tuple (of indices / slices) or any expression


@dataclass(eq=False)
class Slice(Expr):
    lower: Expr | None
    upper: Expr | None
    step: Expr | None


@dataclass(eq=False)
class Starred(Expr):
    """`*xs` inside a call's arguments, a list/tuple display, or an assignment target."""

    value: Expr


@dataclass(eq=False)
class Tuple(Expr):
    elts: list[Expr]


@dataclass(eq=False)
class List(Expr):
    elts: list[Expr]


@dataclass(eq=False)
class Dict(Expr):
    keys: list[Expr]
    values: list[Expr]


@dataclass(eq=False)
class BinOp(Expr):
    left: Expr
    op: str  # "+", "-", "*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^"
    right: Expr


@dataclass(eq=False)
class UnaryOp(Expr):
    op: str  # "-", "+", "not", "~"
    operand: Expr


@dataclass(eq=False)
class BoolOp(Expr):
    op: str  # "and" or "or"
    values: list[Expr]  # two or more


@dataclass(eq=False)
class Compare(Expr):
    left: Expr
    ops: list[str]  # "<", "<=", ">", ">=", "==", "!=", "is", "is not", "in", "not in"
    comparators: list[Expr]


@dataclass(eq=False)
class IfExp(Expr):
    test: Expr
    body: Expr
    orelse: Expr


@dataclass(eq=False)
class Keyword(Node):
    arg: str | None  # None for `**mapping`
    value: Expr


@dataclass(eq=False)
class Call(Expr):
    func: Expr
    args: list[Expr]  # may contain Starred
    keywords: list[Keyword]


@dataclass(eq=False)
class Comprehension(Node):
    target: Expr
    iter: Expr
    ifs: list[Expr]


@dataclass(eq=False)
class ListComp(Expr):
    elt: Expr
    generators: list[Comprehension]


@dataclass(eq=False)
class Param(Node):
    name: str
    default: Expr | None = None
    kind: str = "normal"  # "normal", "vararg" (*args) or "kwarg" (**kwargs)


@dataclass(eq=False)
class Lambda(Expr):
    params: list[Param]
    body: Expr


# ----------------------------------------------------------------- statements
@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class ExprStmt(Stmt):
    value: Expr


@dataclass(eq=False)
class Assign(Stmt):
    targets: list[Expr]  # `a = b = v` has two targets; each a Name, Attribute, Subscript, Tuple or List
    value: Expr


@dataclass(eq=False)
class AugAssign(Stmt):
    target: Expr  # Name, Attribute or Subscript
    op: str  # the binary operator: "+", "-", "*", "/", "//", "%", "**", "@"
    value: Expr


@dataclass(eq=False)
class If(Stmt):
    test: Expr
    body: list[Stmt]
    orelse: list[Stmt]  # an `elif` is a nested If alone in orelse


@dataclass(eq=False)
class For(Stmt):
    target: Expr
    iter: Expr
    body: list[Stmt]
    orelse: list[Stmt]


@dataclass(eq=False)
class While(Stmt):
    test: Expr
    body: list[Stmt]
    orelse: list[Stmt]


@dataclass(eq=False)
class Break(Stmt):
    pass


@dataclass(eq=False)
class Continue(Stmt):
    pass


@dataclass(eq=False)
class Pass(Stmt):
    pass


@dataclass(eq=False)
class Return(Stmt):
    value: Expr | None


@dataclass(eq=False)
class FunctionDef(Stmt):
    name: str
    params: list[Param]
    body: list[Stmt]
    decorators: list[Expr]


@dataclass(eq=False)
class ClassDef(Stmt):
    name: str
    bases: list[Expr]
    body: list[Stmt]
    decorators: list[Expr]


@dataclass(eq=False)
class WithItem(Node):
    context_expr: Expr
    optional_vars: Expr | None


@dataclass(eq=False)
class With(Stmt):
    items: list[WithItem]
    body: list[Stmt]


@dataclass(eq=False)
class Assert(Stmt):
    test: Expr
    msg: Expr | None


@dataclass(eq=False)
class Raise(Stmt):
    exc: Expr | None


@dataclass(eq=False)
class Alias(Node):
    name: str  # dotted for `import a.b`
    asname: str | None


@dataclass(eq=False)
class Import(Stmt):
    names: list[Alias]


@dataclass(eq=False)
class ImportFrom(Stmt):
    module: str  # dotted
    names: list[Alias]  # a single Alias("*") for `from m import *`


@dataclass(eq=False)
class Delete(Stmt):
    targets: list[Expr]


@dataclass(eq=False)
class ExceptHandler(Node):
    type: Expr | None
    name: str | None
    body: list[Stmt]


@dataclass(eq=False)
class Try(Stmt):
    body: list[Stmt]
    handlers: list[ExceptHandler]
    orelse: list[Stmt]
    finalbody: list[Stmt]


@dataclass(eq=False)
class Module(Node):
    body: list[Stmt]
