"""The gradscript AST: small classes that carry their source position.

The parser (the only module that knows Lark) builds these; the interpreter lowers them into closures.
Every node records where it starts and ends (1-based line, 1-based column) so errors can draw a caret.
Field names follow Python's own `ast` module where one exists, so a reader who knows that module
knows this one.

Each class lists its fields in `_fields` (as `ast.AST` does) and assigns them in a written-out
`__init__`: plain classes, not dataclasses, because dataclasses generate their methods with `exec` at
every import (not kept in the bytecode cache), which cost a CLI start about 12 ms for these classes.
"""

from __future__ import annotations

from typing import Any


class Node:
    """Any node.  The parser sets the position after it builds the node (0 until then), and may add
    private attributes of its own (`_depth`, `_outer`, `_loose`)."""

    _fields: tuple[str, ...] = ()
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0

    def __repr__(self):
        names = ("line", "column", "end_line", "end_column", *self._fields)
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in names)})"


# ---------------------------------------------------------------- expressions
class Expr(Node):
    pass


class Constant(Expr):
    _fields = ("value",)

    def __init__(self, value: Any):
        self.value = value  # int, float, str, bool or None


class FormattedValue(Expr):
    _fields = ("value", "conversion", "format_spec")

    def __init__(self, value: Expr, conversion: str | None, format_spec: JoinedStr | None):
        self.value = value
        self.conversion = conversion  # None, "r", "s" or "a"
        self.format_spec = format_spec


class JoinedStr(Expr):
    """An f-string: literal text pieces (Constant str) and FormattedValue pieces, in order."""

    _fields = ("values",)

    def __init__(self, values: list[Expr]):
        self.values = values


class Name(Expr):
    _fields = ("id",)

    def __init__(self, id: str):
        self.id = id


class Attribute(Expr):
    _fields = ("value", "attr")

    def __init__(self, value: Expr, attr: str):
        self.value = value
        self.attr = attr


class Subscript(Expr):
    _fields = ("value", "index")

    def __init__(self, value: Expr, index: Expr):
        self.value = value
        self.index = index  # a Slice, a Tuple (of indices / slices) or any expression


class Slice(Expr):
    _fields = ("lower", "upper", "step")

    def __init__(self, lower: Expr | None, upper: Expr | None, step: Expr | None):
        self.lower = lower
        self.upper = upper
        self.step = step


class Starred(Expr):
    """`*xs` inside a call's arguments, a list/tuple display, or an assignment target."""

    _fields = ("value",)

    def __init__(self, value: Expr):
        self.value = value


class Tuple(Expr):
    _fields = ("elts",)

    def __init__(self, elts: list[Expr]):
        self.elts = elts


class List(Expr):
    _fields = ("elts",)

    def __init__(self, elts: list[Expr]):
        self.elts = elts


class Dict(Expr):
    _fields = ("keys", "values")

    def __init__(self, keys: list[Expr], values: list[Expr]):
        self.keys = keys
        self.values = values


class BinOp(Expr):
    _fields = ("left", "op", "right")

    def __init__(self, left: Expr, op: str, right: Expr):
        self.left = left
        self.op = op  # "+", "-", "*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^"
        self.right = right


class UnaryOp(Expr):
    _fields = ("op", "operand")

    def __init__(self, op: str, operand: Expr):
        self.op = op  # "-", "+", "not", "~"
        self.operand = operand


class BoolOp(Expr):
    _fields = ("op", "values")

    def __init__(self, op: str, values: list[Expr]):
        self.op = op  # "and" or "or"
        self.values = values  # two or more


class Compare(Expr):
    _fields = ("left", "ops", "comparators")

    def __init__(self, left: Expr, ops: list[str], comparators: list[Expr]):
        self.left = left
        self.ops = ops  # "<", "<=", ">", ">=", "==", "!=", "is", "is not", "in", "not in"
        self.comparators = comparators


class IfExp(Expr):
    _fields = ("test", "body", "orelse")

    def __init__(self, test: Expr, body: Expr, orelse: Expr):
        self.test = test
        self.body = body
        self.orelse = orelse


class Keyword(Node):
    _fields = ("arg", "value")

    def __init__(self, arg: str | None, value: Expr):
        self.arg = arg  # None for `**mapping`
        self.value = value


class Call(Expr):
    _fields = ("func", "args", "keywords")

    def __init__(self, func: Expr, args: list[Expr], keywords: list[Keyword]):
        self.func = func
        self.args = args  # may contain Starred
        self.keywords = keywords


class Comprehension(Node):
    _fields = ("target", "iter", "ifs")

    def __init__(self, target: Expr, iter: Expr, ifs: list[Expr]):
        self.target = target
        self.iter = iter
        self.ifs = ifs


class ListComp(Expr):
    _fields = ("elt", "generators")

    def __init__(self, elt: Expr, generators: list[Comprehension]):
        self.elt = elt
        self.generators = generators


class DictComp(Expr):
    _fields = ("key", "value", "generators")

    def __init__(self, key: Expr, value: Expr, generators: list[Comprehension]):
        self.key = key
        self.value = value
        self.generators = generators


class Param(Node):
    _fields = ("name", "default", "kind")

    def __init__(self, name: str, default: Expr | None = None, kind: str = "normal"):
        self.name = name
        self.default = default
        self.kind = kind  # "normal", "vararg" (*args) or "kwarg" (**kwargs)


class Lambda(Expr):
    _fields = ("params", "body")

    def __init__(self, params: list[Param], body: Expr):
        self.params = params
        self.body = body


# ----------------------------------------------------------------- statements
class Stmt(Node):
    pass


class ExprStmt(Stmt):
    _fields = ("value",)

    def __init__(self, value: Expr):
        self.value = value


class Assign(Stmt):
    _fields = ("targets", "value")

    def __init__(self, targets: list[Expr], value: Expr):
        self.targets = (
            targets  # `a = b = v` has two targets; each a Name, Attribute, Subscript, Tuple or List
        )
        self.value = value


class AugAssign(Stmt):
    _fields = ("target", "op", "value")

    def __init__(self, target: Expr, op: str, value: Expr):
        self.target = target  # Name, Attribute or Subscript
        self.op = op  # the binary operator: "+", "-", "*", "/", "//", "%", "**", "@"
        self.value = value


class If(Stmt):
    _fields = ("test", "body", "orelse")

    def __init__(self, test: Expr, body: list[Stmt], orelse: list[Stmt]):
        self.test = test
        self.body = body
        self.orelse = orelse  # an `elif` is a nested If alone in orelse


class For(Stmt):
    _fields = ("target", "iter", "body", "orelse")

    def __init__(self, target: Expr, iter: Expr, body: list[Stmt], orelse: list[Stmt]):
        self.target = target
        self.iter = iter
        self.body = body
        self.orelse = orelse


class While(Stmt):
    _fields = ("test", "body", "orelse")

    def __init__(self, test: Expr, body: list[Stmt], orelse: list[Stmt]):
        self.test = test
        self.body = body
        self.orelse = orelse


class Break(Stmt):
    pass


class Continue(Stmt):
    pass


class Pass(Stmt):
    pass


class Return(Stmt):
    _fields = ("value",)

    def __init__(self, value: Expr | None):
        self.value = value


class FunctionDef(Stmt):
    _fields = ("name", "params", "body", "decorators")

    def __init__(self, name: str, params: list[Param], body: list[Stmt], decorators: list[Expr]):
        self.name = name
        self.params = params
        self.body = body
        self.decorators = decorators


class ClassDef(Stmt):
    _fields = ("name", "bases", "body", "decorators")

    def __init__(self, name: str, bases: list[Expr], body: list[Stmt], decorators: list[Expr]):
        self.name = name
        self.bases = bases
        self.body = body
        self.decorators = decorators


class WithItem(Node):
    _fields = ("context_expr", "optional_vars")

    def __init__(self, context_expr: Expr, optional_vars: Expr | None):
        self.context_expr = context_expr
        self.optional_vars = optional_vars


class With(Stmt):
    _fields = ("items", "body")

    def __init__(self, items: list[WithItem], body: list[Stmt]):
        self.items = items
        self.body = body


class Assert(Stmt):
    _fields = ("test", "msg")

    def __init__(self, test: Expr, msg: Expr | None):
        self.test = test
        self.msg = msg


class Raise(Stmt):
    _fields = ("exc",)

    def __init__(self, exc: Expr | None):
        self.exc = exc


class Alias(Node):
    _fields = ("name", "asname")

    def __init__(self, name: str, asname: str | None):
        self.name = name  # dotted for `import a.b`
        self.asname = asname


class Import(Stmt):
    _fields = ("names",)

    def __init__(self, names: list[Alias]):
        self.names = names


class ImportFrom(Stmt):
    _fields = ("module", "names")

    def __init__(self, module: str, names: list[Alias]):
        self.module = module  # dotted
        self.names = names  # a single Alias("*") for `from m import *`


class Delete(Stmt):
    _fields = ("targets",)

    def __init__(self, targets: list[Expr]):
        self.targets = targets


class ExceptHandler(Node):
    _fields = ("type", "name", "body")

    def __init__(self, type: Expr | None, name: str | None, body: list[Stmt]):
        self.type = type
        self.name = name
        self.body = body


class Try(Stmt):
    _fields = ("body", "handlers", "orelse", "finalbody")

    def __init__(
        self, body: list[Stmt], handlers: list[ExceptHandler], orelse: list[Stmt], finalbody: list[Stmt]
    ):
        self.body = body
        self.handlers = handlers
        self.orelse = orelse
        self.finalbody = finalbody


class Module(Node):
    _fields = ("body",)

    def __init__(self, body: list[Stmt]):
        self.body = body
