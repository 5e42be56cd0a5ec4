"""The gradscript parser: the AST it builds, its error messages, its limits and its start-up cost.

Python's own `ast.parse` is the oracle for structure and positions (tests only: the parser itself
never hands script text to `ast`, `eval`, `exec` or `compile`).
"""

from __future__ import annotations

import ast
import logging
import os
import re
import subprocess
import sys
import textwrap
import time
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcli import parser as P
from gradcli import syntax as S
from gradcli.errors import LimitError, ScriptSyntaxError
from gradcli.limits import Limits
from gradcli.parser import parse, parse_expression

# ------------------------------------------------------------------------------ the oracle

_POS = {"line", "column", "end_line", "end_column"}
# Nodes whose positions follow a different convention from Python's `ast` (or that it lacks).
_NO_POS = (S.Param, S.Comprehension, S.WithItem, S.Module, S.FormattedValue, S.JoinedStr)

_BINOPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
}
_UNOPS = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~", ast.Not: "not"}
_CMPOPS = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
_CONVERSIONS = {-1: None, 115: "s", 114: "r", 97: "a"}


def shape(node, positions=True, in_fstring=False):
    """A gradcli.syntax tree as nested tuples: (type, position?, field values...)."""
    if isinstance(node, list):
        return [shape(x, positions, in_fstring) for x in node]
    if not isinstance(node, S.Node):
        return node
    fstr = in_fstring or isinstance(node, S.JoinedStr)
    out = [type(node).__name__]
    if positions and not fstr and not isinstance(node, _NO_POS):
        out.append((node.line, node.column, node.end_line, node.end_column))
    for name in node._fields:
        if name not in _POS:
            inside = fstr and not (isinstance(node, S.FormattedValue) and name == "value")
            out.append(shape(getattr(node, name), positions, inside))
    return tuple(out)


def _params(a: ast.arguments, positions, fstr):
    out = []
    defaults = [None] * (len(a.args) - len(a.defaults)) + list(a.defaults)
    for arg, d in zip(a.args, defaults):
        out.append(("Param", arg.arg, py_shape(d, positions, fstr), "normal"))
    if a.vararg:
        out.append(("Param", a.vararg.arg, None, "vararg"))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append(("Param", arg.arg, py_shape(d, positions, fstr), "normal"))
    if a.kwarg:
        out.append(("Param", a.kwarg.arg, None, "kwarg"))
    return out


def py_shape(node, positions=True, in_fstring=False):  # noqa: C901 - one case per node type
    """The same tuples, built from Python's `ast` (columns made 1-based)."""
    if node is None:
        return None
    if isinstance(node, list):
        return [py_shape(x, positions, in_fstring) for x in node]
    r = lambda x: py_shape(x, positions, in_fstring)  # noqa: E731
    fstr = in_fstring or isinstance(node, ast.JoinedStr)

    def n(name, *rest, pos=True):
        head = [name]
        if positions and pos and not fstr:
            head.append((node.lineno, node.col_offset + 1, node.end_lineno, node.end_col_offset + 1))
        return (*head, *rest)

    T = type(node)
    if T is ast.Module:
        return ("Module", r(node.body))
    if T is ast.Expr:
        return n("ExprStmt", r(node.value))
    if T is ast.Assign:
        return n("Assign", r(node.targets), r(node.value))
    if T is ast.AugAssign:
        return n("AugAssign", r(node.target), _BINOPS[type(node.op)], r(node.value))
    if T is ast.If:
        return n("If", r(node.test), r(node.body), r(node.orelse))
    if T is ast.For:
        return n("For", r(node.target), r(node.iter), r(node.body), r(node.orelse))
    if T is ast.While:
        return n("While", r(node.test), r(node.body), r(node.orelse))
    if T in (ast.Break, ast.Continue, ast.Pass):
        return n(T.__name__)
    if T is ast.Return:
        return n("Return", r(node.value))
    if T is ast.FunctionDef:
        return n(
            "FunctionDef",
            node.name,
            _params(node.args, positions, fstr),
            r(node.body),
            r(node.decorator_list),
        )
    if T is ast.ClassDef:
        return n("ClassDef", node.name, r(node.bases), r(node.body), r(node.decorator_list))
    if T is ast.With:
        items = [("WithItem", r(i.context_expr), r(i.optional_vars)) for i in node.items]
        return n("With", items, r(node.body))
    if T is ast.Assert:
        return n("Assert", r(node.test), r(node.msg))
    if T is ast.Raise:
        return n("Raise", r(node.exc))
    if T is ast.alias:
        return n("Alias", node.name, node.asname)
    if T is ast.Import:
        return n("Import", r(node.names))
    if T is ast.ImportFrom:
        return n("ImportFrom", node.module, r(node.names))
    if T is ast.Delete:
        return n("Delete", r(node.targets))
    if T is ast.ExceptHandler:
        return n("ExceptHandler", r(node.type), node.name, r(node.body))
    if T is ast.Try:
        return n("Try", r(node.body), r(node.handlers), r(node.orelse), r(node.finalbody))
    if T is ast.Constant:
        return n("Constant", node.value)
    if T is ast.Name:
        return n("Name", node.id)
    if T is ast.Attribute:
        return n("Attribute", r(node.value), node.attr)
    if T is ast.Subscript:
        return n("Subscript", r(node.value), r(node.slice))
    if T is ast.Slice:
        return n("Slice", r(node.lower), r(node.upper), r(node.step))
    if T is ast.Starred:
        return n("Starred", r(node.value))
    if T in (ast.Tuple, ast.List):
        return n(T.__name__, r(node.elts))
    if T is ast.Dict:
        return n("Dict", r(node.keys), r(node.values))
    if T is ast.BinOp:
        return n("BinOp", r(node.left), _BINOPS[type(node.op)], r(node.right))
    if T is ast.UnaryOp:
        return n("UnaryOp", _UNOPS[type(node.op)], r(node.operand))
    if T is ast.BoolOp:
        return n("BoolOp", "and" if isinstance(node.op, ast.And) else "or", r(node.values))
    if T is ast.Compare:
        return n("Compare", r(node.left), [_CMPOPS[type(o)] for o in node.ops], r(node.comparators))
    if T is ast.IfExp:
        return n("IfExp", r(node.test), r(node.body), r(node.orelse))
    if T is ast.keyword:
        return n("Keyword", node.arg, r(node.value))
    if T is ast.Call:
        return n("Call", r(node.func), r(node.args), r(node.keywords))
    if T is ast.comprehension:
        return ("Comprehension", r(node.target), r(node.iter), r(node.ifs))
    if T is ast.ListComp:
        return n("ListComp", r(node.elt), r(node.generators))
    if T is ast.Lambda:
        return n("Lambda", _params(node.args, positions, fstr), r(node.body))
    if T is ast.JoinedStr:
        return ("JoinedStr", py_shape(node.values, positions, True))
    if T is ast.FormattedValue:
        spec = py_shape(node.format_spec, positions, True)
        return ("FormattedValue", py_shape(node.value, positions, False), _CONVERSIONS[node.conversion], spec)
    raise AssertionError(f"no shape for {T.__name__}")


def py_parse(source: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ast warns about unknown escapes such as '\\q'
        return ast.parse(source)


def assert_like_python(source: str, positions: bool = True):
    ours = shape(parse(source), positions)
    theirs = py_shape(py_parse(source), positions)
    assert ours == theirs


def expr(source: str) -> S.Expr:
    (stmt,) = parse(source).body
    assert isinstance(stmt, S.ExprStmt)
    return stmt.value


def syntax_error(source: str, *, limits: Limits | None = None) -> ScriptSyntaxError:
    with pytest.raises(ScriptSyntaxError) as info:
        parse(source, limits=limits) if limits else parse(source)
    return info.value


# --------------------------------------------------------------------------- valid programs

READ_ONLY = "cannot assign to __name__ in gradscript (it is always '__main__')"
DUNDER = "names starting with '__' are not allowed in gradscript"

VALID = [
    # expressions and operators
    "x\n",
    "1 + 2 * 3 - 4 / 5 // 6 % 7 @ 8\n",
    "-2 ** 2\n",
    "2 ** -1\n",
    "2 ** 3 ** 2\n",
    "-x ** -y\n",
    "~a & b | c ^ d << 1 >> 2\n",
    "not a and b or c and not d\n",
    "a < b <= c > d >= e == f != g\n",
    "a is b is not c in d not in e\n",
    "(a < b) < c\n",
    "a or (b or c)\n",
    "(a or b) or c\n",
    "a if b else c if d else e\n",
    "(a if b else c) if d else e\n",
    "lambda: 0\n",
    "lambda a, b=1, *c, d, e=2, **f: a + b\n",
    "lambda x: lambda y: x + y\n",
    "f = lambda *a, **k: (a, k)\n",
    "f(a, b, *c, d=1, **e)\n",
    "f(*a, *b, c=1, *d, **e, **g)\n",
    "f(a)(b)(c)\n",
    "f(x,)\n",
    "f()\n",
    "a.b.c\n",
    "a[1]\n",
    "a[1:2]\n",
    "a[::2]\n",
    "a[:]\n",
    "a[1:]\n",
    "a[:-1]\n",
    "a[1:2, ::3]\n",
    "a[..., 0]\n",
    "a[None, :]\n",
    "a[i, j]\n",
    "a[(i, j)]\n",
    "a[()]\n",
    "a[1,]\n",
    "a[b][c:d]\n",
    "[]\n",
    "[1]\n",
    "[1, 2,]\n",
    "[*a, *b]\n",
    "()\n",
    "(1,)\n",
    "(1, 2)\n",
    "(*a, b)\n",
    "1, 2\n",
    "{}\n",
    "{1: 2}\n",
    "{'a': 1, 'b': [2, 3],}\n",
    "[x for x in y]\n",
    "[x * y for x in a if x for y in b if y if x]\n",
    "[(i, j) for i, j in pairs]\n",
    "[[y for y in x] for x in z]\n",
    "0\n",
    "00\n",
    "123\n",
    "1_000_000\n",
    "0x1F\n",
    "0o17\n",
    "0b1010\n",
    "0XdeadBEEF\n",
    "1.5\n",
    "1.\n",
    ".5\n",
    "1e-3\n",
    "1E+10\n",
    "1.5e3\n",
    "1_0.2_5e1_0\n",
    "0x1e-3\n",
    "1 .real\n",
    "1.0.real\n",
    "True\n",
    "False\n",
    "None\n",
    "...\n",
    "'a'\n",
    '"b"\n',
    "'''c\nd'''\n",
    '"""e"""\n',
    "r'\\d+\\n'\n",
    "R'x'\n",
    "u'x'\n",
    "U'x'\n",
    "'a' 'b' \"c\"\n",
    "'tab\\tnew\\nq\\'\\\\'\n",
    "'\\x41\\101\\u00e9\\U0001F600\\N{BULLET}'\n",
    "'\\q \\d'\n",
    "'a\\\nb'\n",
    "'\\0'\n",
    "f'{x}'\n",
    "f'a{x}b{y}c'\n",
    "f'{x!r} {y!s} {z!a}'\n",
    "f'{x:>10}'\n",
    "f'{x:{w}.{p}f}'\n",
    "f'{x=}'\n",
    "f'{x = }'\n",
    "f'{x=!s}'\n",
    "f'{x=:>4}'\n",
    "f'{{literal}}'\n",
    "f'{d[\"k\"]}'\n",
    "f'{a == b} {a != b}'\n",
    "f'{ {1: 2}[1] }'\n",
    "'a' f'b{x}' 'c'\n",
    "rf'\\d{x}'\n",
    "F'{x}'\n",
    "f'''{\nx\n}'''\n",
    "f'{x:}'\n",
    "f'{(lambda: 1)()}'\n",
    "f'{x!r:^{w}}'\n",
    # statements
    "x = 1\n",
    "a = b = c = 0\n",
    "a, b = b, a\n",
    "a, = t\n",
    "(a, b), c = t\n",
    "[a, b] = t\n",
    "a, *b = t\n",
    "*a, b = t\n",
    "x.y = 1\n",
    "x[0] = 1\n",
    "x[1:2] = y\n",
    "x.y[0].z = 1\n",
    "x += 1\n",
    "x -= 1\n",
    "x *= 2\n",
    "x /= 2\n",
    "x //= 2\n",
    "x %= 2\n",
    "x **= 2\n",
    "x @= m\n",
    "x &= 1\n",
    "x |= 1\n",
    "x ^= 1\n",
    "x <<= 1\n",
    "x >>= 1\n",
    "a.b += 1\n",
    "a[i] -= 1\n",
    "x = 1; y = 2\n",
    "x = 1;\n",
    "x = 1if y else 2\n",
    "x = [0x1for x in y]\n",
    "x = 1\\\n+ 2\n",
    "pass\n",
    "del x\n",
    "del x, y[0], z.a\n",
    "del (x, y)\n",
    "del [x, y]\n",
    "assert x\n",
    "assert x, 'message'\n",
    "raise\n",
    "raise ValueError('bad')\n",
    "import torch\n",
    "import torch.nn as nn, numpy\n",
    "import a.b.c\n",
    "from torch.autograd import Function\n",
    "from a import b as c, d\n",
    "from a import (b,\n c as d,\n)\n",
    "from a.b import *\n",
    "if x:\n    pass\n",
    "if x:\n    a\nelif y:\n    b\nelif z:\n    c\nelse:\n    d\n",
    "if x: a; b\n",
    "if x:\n    pass\nelse:\n    if y:\n        pass\n",
    "for x in y:\n    pass\n",
    "for i, (a, b) in enumerate(z):\n    break\nelse:\n    continue_ = 1\n",
    "for x in 1, 2:\n    continue\n",
    "for x in y:\n    if x:\n        break\n    continue\n",
    "while x:\n    x -= 1\nelse:\n    pass\n",
    "while True:\n    break\n",
    "def f():\n    pass\n",
    "def f(a, b=1, *args, c, d=2, **kwargs):\n    return a\n",
    "def f(a,):\n    return\n",
    "def f(*args):\n    return args\n",
    "def f(**kw):\n    return kw\n",
    "def f():\n    return 1, 2\n",
    "def f():\n    return *a, b\n",
    "def f():\n    def g():\n        return 1\n    return g\n",
    "def f():\n    for x in y:\n        return x\n",
    "@staticmethod\ndef f(x):\n    return x\n",
    "@a.b(1)\n@c\ndef f():\n    pass\n",
    "class A:\n    pass\n",
    "class A(B):\n    x = 1\n",
    "class A(B, C,):\n    pass\n",
    "class A():\n    pass\n",
    "@dec\nclass A:\n    @staticmethod\n    def f():\n        pass\n",
    "class A:\n    def __init__(self):\n        pass\n",
    "with a:\n    pass\n",
    "with a as b, c as (d, e), f:\n    pass\n",
    "with open(p) as f:\n    x = f\n",
    "try:\n    pass\nexcept:\n    pass\n",
    "try:\n    pass\nexcept E:\n    pass\nexcept (F, G) as e:\n    pass\n",
    "try:\n    pass\nexcept E:\n    pass\nelse:\n    pass\nfinally:\n    pass\n",
    "try:\n    pass\nfinally:\n    pass\n",
    "while x:\n    try:\n        break\n    finally:\n        continue\n",
    # layout
    "",
    "\n",
    "# only a comment",
    "# c\n\n\nx = 1  # trailing\n# end",
    "x = (1 +\n     2)\n",
    "x = [\n  1,\n  2,\n]\n",
    "x = 1 + \\\n    2\n",
    "if x:\n\n    # comment\n\n    y = 1\n\n# c\nz = 2\n",
    "if x:\n\tpass\n",
    "x = 1",
    "def f(\n    a,\n    b,\n):\n    return {\n 'a': a,\n}\n",
    "if a:\n  if b:\n    c\n  d\ne\n",
    "x = '''\n  not indentation\n'''\n",
    "if x:\n    pass\n    # trailing comment at the end of the block\n",
    # the one dunder name a script may read
    "if __name__ == '__main__':\n    main()\n",
    "print(f'{__name__}', __name__.upper())\n",
]


@pytest.mark.parametrize("source", VALID)
def test_valid_programs_match_python_ast(source):
    assert_like_python(source)


def test_tutorial_cells_85_to_87_parse():
    # The seed tutorial's In[85], In[86] and In[87] cells (its longest comments shortened to fit a line).
    cells = [
        "# 标量求梯度\n"
        "w = torch.tensor([1.], requires_grad=True)\n"
        "x = torch.tensor([2.], requires_grad=True)\n"
        "a = torch.add(w, x)\n"
        "b = torch.add(w, 1)\n"
        "y = torch.mul(a, b)\n"
        "\n"
        " # x是直接创建的，所以它没有grad_fn\n"
        "print(x.grad_fn)\n"
        "print(a.grad_fn)\n"
        "\n"
        "y.backward()\n"
        "print(w.grad)\n",
        "# 注意grad是累加的\ny2 = w.sum()\ny2.backward()      # 梯度未清零，累加梯度\nprint(w.grad)\n\n"
        "y3 = w.sum()\nw.grad.data.zero_()\ny3.backward()      # 梯度清零后，x的梯度为1\nprint(w.grad)\n",
        textwrap.dedent(
            """\
            from torch.autograd import Function

            class Exp(Function):                    # 此层计算e^x
                @staticmethod
                def forward(ctx, i):                # 模型前向
                    result = i.exp()
                    ctx.save_for_backward(result)   # 保存所需内容，以备backward时使用
                                                    # 此处仅能保存tensor类型变量
                    return result
                @staticmethod
                def backward(ctx, grad_output):     # 模型梯度反传
                    result, = ctx.saved_tensors     # 取出forward中保存的result
                    return grad_output * result     # 计算梯度并返回


            # 尝试使用
            x = torch.tensor([1.], requires_grad=True)  # 需要设置tensor的requires_grad属性为True
            ret = Exp.apply(x)                          # 使用apply方法调用自定义autograd function
            print(ret)                                  # tensor([2.7183], grad_fn=<ExpBackward>)
            ret.backward()                              # 反传梯度
            print(x.grad)                               # tensor([2.7183])
            """
        ),
    ]
    for cell in cells:
        assert shape(parse(cell), positions=False) == py_shape(py_parse(cell), positions=False)
    module = parse(cells[2])
    cls = module.body[1]
    assert isinstance(cls, S.ClassDef) and cls.name == "Exp" and [b.id for b in cls.bases] == ["Function"]
    backward = cls.body[1]
    assert isinstance(backward, S.FunctionDef)
    assert [d.id for d in backward.decorators] == ["staticmethod"]
    unpack = backward.body[0]
    assert isinstance(unpack, S.Assign) and isinstance(unpack.targets[0], S.Tuple)
    assert [e.id for e in unpack.targets[0].elts] == ["result"]


def test_the_seed_tutorial_file_cells_parse_when_present():
    path = "/work/shared/seed/autograd-tutorial.txt"
    if not os.path.exists(path):
        pytest.skip("the seed tutorial is not here")
    text = open(path, encoding="utf-8").read()
    for number in (85, 86, 87):
        cell = text.split(f"In [{number}]:\n", 1)[1]
        code = []
        for line in cell.split("\n"):  # the cell's code ends at its first output line
            if line.startswith(("None", "<", "tensor(")) or line.startswith("In ["):
                break
            code.append(line)
        parse("\n".join(code))


# ------------------------------------------------------------------------ nodes and positions


def test_positions_are_one_based_and_end_exclusive():
    m = parse("x = foo(1, bar)\n")
    (assign,) = m.body
    assert (assign.line, assign.column, assign.end_line, assign.end_column) == (1, 1, 1, 16)
    call = assign.value
    assert isinstance(call, S.Call)
    assert (call.line, call.column, call.end_column) == (1, 5, 16)
    assert (call.args[1].column, call.args[1].end_column) == (12, 15)


def test_every_node_has_a_position():
    source = "\n".join(s for s in VALID if s.strip()) + "\n"
    stack = [parse(source)]
    while stack:
        node = stack.pop()
        assert node.line >= 1 and node.column >= 1, node
        assert (node.end_line, node.end_column) >= (node.line, node.column), node
        for name in node._fields:
            value = getattr(node, name)
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, S.Node):
                    stack.append(v)


def test_node_types_and_fields():
    e = expr("a.b[1:2, ::3](x, *y, k=1, **z)\n")
    assert isinstance(e, S.Call)
    assert [type(a).__name__ for a in e.args] == ["Name", "Starred"]
    assert [(k.arg, type(k.value).__name__) for k in e.keywords] == [("k", "Constant"), (None, "Name")]
    sub = e.func
    assert isinstance(sub, S.Subscript) and isinstance(sub.index, S.Tuple)
    first, second = sub.index.elts
    assert (
        isinstance(first, S.Slice)
        and first.lower.value == 1
        and first.upper.value == 2
        and first.step is None
    )
    assert second.lower is None and second.upper is None and second.step.value == 3
    assert isinstance(sub.value, S.Attribute) and sub.value.attr == "b"

    f = parse("def f(a, b=1, *args, c, d=2, **kw):\n    pass\n").body[0]
    assert [(p.name, p.kind, p.default.value if p.default else None) for p in f.params] == [
        ("a", "normal", None),
        ("b", "normal", 1),
        ("args", "vararg", None),
        ("c", "normal", None),
        ("d", "normal", 2),
        ("kw", "kwarg", None),
    ]

    assert expr("...\n").value is Ellipsis
    assert expr("x[..., 0]\n").index.elts[0].value is Ellipsis
    assert expr("0x_ff\n").value == 255 and expr("1_0.5\n").value == 10.5
    assert type(expr("1.\n").value) is float and type(expr("1\n").value) is int
    assert expr("True\n").value is True and expr("None\n").value is None


def test_elif_is_a_nested_if_in_orelse():
    m = parse("if a:\n    x\nelif b:\n    y\nelse:\n    z\n")
    outer = m.body[0]
    (inner,) = outer.orelse
    assert isinstance(inner, S.If) and (inner.line, inner.column) == (3, 1)
    assert inner.test.id == "b" and inner.orelse[0].value.id == "z"
    assert (outer.end_line, outer.end_column) == (6, 6)


def test_strings_are_decoded_by_hand():
    assert expr("'\\n\\t\\\\\\'\\\"\\a\\b\\f\\v\\r'\n").value == "\n\t\\'\"\a\b\f\v\r"
    assert expr("'\\101\\x42\\u0043\\U00000044\\N{LATIN SMALL LETTER E}'\n").value == "ABCDe"
    assert expr("'\\q'\n").value == "\\q"  # unknown escapes stay, as in Python
    assert expr("r'\\n'\n").value == "\\n"
    assert expr("'a\\\nb'\n").value == "ab"
    assert expr("'''a\nb'''\n").value == "a\nb"
    assert expr("'a' \"b\" '''c'''\n").value == "abc"
    assert expr("'héllo €'\n").value == "héllo €"


def test_fstrings():
    e = expr("f'a{x!r:>{w}}b'\n")
    assert isinstance(e, S.JoinedStr)
    a, fv, b = e.values
    assert a.value == "a" and b.value == "b"
    assert isinstance(fv, S.FormattedValue) and fv.conversion == "r" and fv.value.id == "x"
    assert [type(v).__name__ for v in fv.format_spec.values] == ["Constant", "FormattedValue"]
    # `=` shows the text and the repr, as in Python
    e = expr("f'{x = }'\n")
    assert e.values[0].value == "x = " and e.values[1].conversion == "r"
    # expressions inside keep their real position, on every line of a triple-quoted f-string
    e = expr("f'''\n  {a +\n b}'''\n")
    binop = e.values[1].value
    assert (binop.line, binop.column, binop.end_line, binop.end_column) == (2, 4, 3, 3)
    assert expr("f'{{}}'\n").values[0].value == "{}"


def test_parse_expression():
    e = parse_expression("a +\n b * c")
    assert isinstance(e, S.BinOp) and e.op == "+" and e.right.op == "*"
    with pytest.raises(ScriptSyntaxError):
        parse_expression("x = 1")


def test_source_normalisation():
    assert shape(parse("\ufeffx = 1\r\ny = 2\rz = 3")) == shape(parse("x = 1\ny = 2\nz = 3\n"))
    assert shape(parse(b"x = 1\n")) == shape(parse("x = 1\n"))
    assert expr("'''a\r\nb'''").value == "a\nb"


# ------------------------------------------------------------------------ operator precedence

PRECEDENCE = [
    ("-2 ** 2", "(-(2 ** 2))"),
    ("2 ** -1", "(2 ** (-1))"),
    ("2 ** 3 ** 2", "(2 ** (3 ** 2))"),
    ("-a ** -b", "(-(a ** (-b)))"),
    ("a - b - c", "((a - b) - c)"),
    ("a / b * c // d % e @ f", "(((((a / b) * c) // d) % e) @ f)"),
    ("a + b * c", "(a + (b * c))"),
    ("a << b + c", "(a << (b + c))"),
    ("a & b << c", "(a & (b << c))"),
    ("a ^ b & c", "(a ^ (b & c))"),
    ("a | b ^ c", "(a | (b ^ c))"),
    ("a < b | c", "(a < (b | c))"),
    ("not a < b", "(not (a < b))"),
    ("not a and b", "((not a) and b)"),
    ("a and b or c and d", "((a and b) or (c and d))"),
    ("a or b if c else d", "((a or b) if c else d)"),
    ("a if b else c if d else e", "(a if b else (c if d else e))"),
    ("lambda: a if b else c", "(lambda: (a if b else c))"),
    ("-a.b[c](d)", "(-(((a.b)[c])(d)))"),
    ("~a + b", "((~a) + b)"),
    ("- - a", "(-(-a))"),
    ("a ** b.c", "(a ** (b.c))"),
    ("not not a", "(not (not a))"),
    ("a in b not in c is d is not e", "(a in b not in c is d is not e)"),
]


def render(e) -> str:
    """Fully parenthesised text of an expression, to show how it grouped."""
    if isinstance(e, S.Name):
        return e.id
    if isinstance(e, S.Constant):
        return repr(e.value)
    if isinstance(e, S.BinOp):
        return f"({render(e.left)} {e.op} {render(e.right)})"
    if isinstance(e, S.UnaryOp):
        return f"({e.op}{' ' if e.op == 'not' else ''}{render(e.operand)})"
    if isinstance(e, S.BoolOp):
        return "(" + f" {e.op} ".join(render(v) for v in e.values) + ")"
    if isinstance(e, S.Compare):
        rest = "".join(f" {op} {render(c)}" for op, c in zip(e.ops, e.comparators))
        return f"({render(e.left)}{rest})"
    if isinstance(e, S.IfExp):
        return f"({render(e.body)} if {render(e.test)} else {render(e.orelse)})"
    if isinstance(e, S.Lambda):
        return f"(lambda: {render(e.body)})"
    if isinstance(e, S.Attribute):
        return f"({render(e.value)}.{e.attr})"
    if isinstance(e, S.Subscript):
        return f"({render(e.value)}[{render(e.index)}])"
    if isinstance(e, S.Call):
        return f"({render(e.func)}({', '.join(render(a) for a in e.args)}))"
    raise AssertionError(type(e))


@pytest.mark.parametrize(("source", "grouped"), PRECEDENCE)
def test_precedence_and_associativity(source, grouped):
    assert render(parse_expression(source)) == grouped
    assert_like_python(source + "\n")


# ------------------------------------------------------------------------------ error messages

ERRORS = [
    # (source, kind, message, line, column)
    ("x = (1,\ny = 2\n", "SyntaxError", "'(' was never closed", 1, 5),
    ("foo(1\nx = 2\n", "SyntaxError", "'(' was never closed", 1, 4),
    ("x = [", "SyntaxError", "'[' was never closed", 1, 5),
    ("x = 1)\n", "SyntaxError", "unmatched ')'", 1, 6),
    ("print(1))\n", "SyntaxError", "unmatched ')'", 1, 9),
    ("x = [1, 2)\n", "SyntaxError", "closing parenthesis ')' does not match opening parenthesis '['", 1, 10),
    (
        "x = [1,\n 2)\n",
        "SyntaxError",
        "closing parenthesis ')' does not match opening parenthesis '[' on line 1",
        2,
        3,
    ),
    ("s = 'abc\n", "SyntaxError", "unterminated string literal (detected at line 1)", 1, 5),
    ("x = 1\ns = f'abc\n", "SyntaxError", "unterminated string literal (detected at line 2)", 2, 5),
    (
        's = """abc\n\nx\n',
        "SyntaxError",
        "unterminated triple-quoted string literal (detected at line 3)",
        1,
        5,
    ),
    ("x = = 1\ny = 'abc\n", "SyntaxError", "unterminated string literal (detected at line 2)", 2, 5),
    ("x = 1 +\n", "SyntaxError", "expected an expression", 1, 8),
    ("x =\n", "SyntaxError", "expected an expression", 1, 4),
    ("if x\n    pass\n", "SyntaxError", "expected ':'", 1, 5),
    ("for x in y\n    pass\n", "SyntaxError", "expected ':'", 1, 11),
    ("def f()\n    pass\n", "SyntaxError", "expected ':'", 1, 8),
    ("class A\n    pass\n", "SyntaxError", "expected ':'", 1, 8),
    ("while x  # comment\n    pass\n", "SyntaxError", "expected ':'", 1, 10),
    ("x = 1 if y\n", "SyntaxError", "expected 'else' after 'if' expression", 1, 11),
    ("try:\n    pass\nx = 1\n", "SyntaxError", "expected 'except' or 'finally' block", 3, 1),
    ("if x = 1:\n    pass\n", "SyntaxError", "invalid syntax. Maybe you meant '==' instead of '='?", 1, 6),
    ("f(a b)\n", "SyntaxError", "invalid syntax. Perhaps you forgot a comma?", 1, 5),
    ("x = 1 2\n", "SyntaxError", "invalid syntax", 1, 7),
    ("else:\n    pass\n", "SyntaxError", "invalid syntax", 1, 1),
    ("x = $\n", "SyntaxError", "invalid syntax", 1, 5),
    ("def 1(): pass\n", "SyntaxError", "expected a name", 1, 5),
    ("import\n", "SyntaxError", "expected a name", 1, 7),
    ("print 'x'\n", "SyntaxError", "Missing parentheses in call to 'print'. Did you mean print(...)?", 1, 7),
    ("x = a \\ b\n", "SyntaxError", "unexpected character after line continuation character", 1, 7),
    ("x = 1€\n", "SyntaxError", "invalid character '€' (U+20AC)", 1, 6),
    ("x = \u00a01\n", "SyntaxError", "invalid non-printable character U+00A0", 1, 5),
    ("x = 1abc\n", "SyntaxError", "invalid decimal literal", 1, 5),
    ("x = 1_\n", "SyntaxError", "invalid decimal literal", 1, 5),
    ("x = 1__0\n", "SyntaxError", "invalid decimal literal", 1, 5),
    ("x = 1.real\n", "SyntaxError", "invalid decimal literal", 1, 5),
    ("x = 0x\n", "SyntaxError", "invalid hexadecimal literal", 1, 5),
    ("x = 0b2\n", "SyntaxError", "invalid digit '2' in binary literal", 1, 5),
    ("x = 0o8\n", "SyntaxError", "invalid digit '8' in octal literal", 1, 5),
    (
        "x = 012\n",
        "SyntaxError",
        "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
        1,
        5,
    ),
    ("x = '\\x4'\n", "SyntaxError", "(unicode error) truncated \\xXX escape", 1, 5),
    ("x = '\\N{NO SUCH NAME}'\n", "SyntaxError", "(unicode error) unknown Unicode character name", 1, 5),
    (
        "f() = 1\n",
        "SyntaxError",
        "cannot assign to function call here. Maybe you meant '==' instead of '='?",
        1,
        1,
    ),
    (
        "x + 1 = 2\n",
        "SyntaxError",
        "cannot assign to expression here. Maybe you meant '==' instead of '='?",
        1,
        1,
    ),
    (
        "a, 1 = t\n",
        "SyntaxError",
        "cannot assign to literal here. Maybe you meant '==' instead of '='?",
        1,
        4,
    ),
    ("None = 1\n", "SyntaxError", "cannot assign to None here. Maybe you meant '==' instead of '='?", 1, 1),
    ("for f() in x: pass\n", "SyntaxError", "cannot assign to function call", 1, 5),
    ("with a as f(): pass\n", "SyntaxError", "cannot assign to function call", 1, 11),
    ("[x for 1 in y]\n", "SyntaxError", "cannot assign to literal", 1, 8),
    ("del f()\n", "SyntaxError", "cannot delete function call", 1, 5),
    ("a, b += 1\n", "SyntaxError", "'tuple' is an illegal expression for augmented assignment", 1, 1),
    ("f() += 1\n", "SyntaxError", "'function call' is an illegal expression for augmented assignment", 1, 1),
    ("*a = b\n", "SyntaxError", "starred assignment target must be in a list or tuple", 1, 1),
    ("a, *b, *c = d\n", "SyntaxError", "multiple starred expressions in assignment", 1, 8),
    ("*a\n", "SyntaxError", "can't use starred expression here", 1, 1),
    ("[*a for a in b]\n", "SyntaxError", "iterable unpacking cannot be used in comprehension", 1, 2),
    ("f(a=1, b)\n", "SyntaxError", "positional argument follows keyword argument", 1, 8),
    ("f(**a, b)\n", "SyntaxError", "positional argument follows keyword argument unpacking", 1, 8),
    ("f(**a, *b)\n", "SyntaxError", "iterable argument unpacking follows keyword argument unpacking", 1, 8),
    ("f(a=1, a=2)\n", "SyntaxError", "keyword argument repeated: a", 1, 8),
    ("f(a+1=2)\n", "SyntaxError", 'expression cannot contain assignment, perhaps you meant "=="?', 1, 3),
    ("def f(a=1, b): pass\n", "SyntaxError", "non-default argument follows default argument", 1, 12),
    ("def f(a, a): pass\n", "SyntaxError", "duplicate argument 'a' in function definition", 1, 10),
    ("def f(**k, a): pass\n", "SyntaxError", "arguments cannot follow var-keyword argument", 1, 12),
    ("return 1\n", "SyntaxError", "'return' outside function", 1, 1),
    ("break\n", "SyntaxError", "'break' outside loop", 1, 1),
    ("if x:\n    continue\n", "SyntaxError", "'continue' not properly in loop", 2, 5),
    ("for x in y:\n    def f():\n        break\n", "SyntaxError", "'break' outside loop", 3, 9),
    ("for x in y:\n    pass\nelse:\n    break\n", "SyntaxError", "'break' outside loop", 4, 5),
    ("class A:\n    return 1\n", "SyntaxError", "'return' outside function", 2, 5),
    # layout
    (
        "for x in y:\npass\n",
        "IndentationError",
        "expected an indented block after 'for' statement on line 1",
        2,
        1,
    ),
    (
        "for x in y:\n",
        "IndentationError",
        "expected an indented block after 'for' statement on line 1",
        1,
        12,
    ),
    (
        "if x:\n    pass\nelif y:\nz\n",
        "IndentationError",
        "expected an indented block after 'elif' statement on line 3",
        4,
        1,
    ),
    (
        "def f():\nreturn\n",
        "IndentationError",
        "expected an indented block after function definition on line 1",
        2,
        1,
    ),
    (
        "class A:\n\nx = 1\n",
        "IndentationError",
        "expected an indented block after class definition on line 1",
        3,
        1,
    ),
    ("try:\npass\n", "IndentationError", "expected an indented block after 'try' statement on line 1", 2, 1),
    (
        "with a:\npass\n",
        "IndentationError",
        "expected an indented block after 'with' statement on line 1",
        2,
        1,
    ),
    ("  x = 1\n", "IndentationError", "unexpected indent", 1, 3),
    ("x = 1\n    y = 2\n", "IndentationError", "unexpected indent", 2, 5),
    ("if x:\n    a\n  b\n", "IndentationError", "unindent does not match any outer indentation level", 3, 3),
    ("if x:\n\ta\n        b\n", "TabError", "inconsistent use of tabs and spaces in indentation", 3, 1),
    # outside the subset, named
    ("x = yield 1\n", "SyntaxError", "'yield' is not supported in gradscript", 1, 5),
    ("async def f(): pass\n", "SyntaxError", "'async' is not supported in gradscript", 1, 1),
    ("await x\n", "SyntaxError", "'await' is not supported in gradscript", 1, 1),
    ("global x\n", "SyntaxError", "'global' is not supported in gradscript", 1, 1),
    ("def f():\n    nonlocal x\n", "SyntaxError", "'nonlocal' is not supported in gradscript", 2, 5),
    (
        "if (n := 10) > 5: pass\n",
        "SyntaxError",
        "the walrus operator ':=' (assignment expressions) is not supported in gradscript",
        1,
        7,
    ),
    (
        "match x:\n    case 1:\n        pass\n",
        "SyntaxError",
        "'match' statements are not supported in gradscript",
        1,
        1,
    ),
    ("@dec\nx = 1\n", "SyntaxError", "decorators are only allowed in front of 'def' and 'class'", 2, 1),
    ("{1, 2}\n", "SyntaxError", "set displays ({a, b}) are not supported in gradscript", 1, 1),
    ("{x for x in y}\n", "SyntaxError", "set comprehensions are not supported in gradscript", 1, 1),
    (
        "(x for x in y)\n",
        "SyntaxError",
        "generator expressions are not supported in gradscript (use a list comprehension)",
        1,
        2,
    ),
    (
        "sum(x for x in y)\n",
        "SyntaxError",
        "generator expressions are not supported in gradscript (use a list comprehension)",
        1,
        5,
    ),
    (
        "x = {**a}\n",
        "SyntaxError",
        "'**' unpacking inside a dict display is not supported in gradscript",
        1,
        6,
    ),
    (
        "class A(metaclass=M): pass\n",
        "SyntaxError",
        "class keyword arguments (like metaclass=...) are not supported in gradscript",
        1,
        9,
    ),
    ("x = b'abc'\n", "SyntaxError", "bytes literals (b'...') are not supported in gradscript", 1, 5),
    ("x = Rb'abc'\n", "SyntaxError", "bytes literals (b'...') are not supported in gradscript", 1, 5),
    (
        "x = 1j\n",
        "SyntaxError",
        "complex numbers (imaginary literals like 1j) are not supported in gradscript",
        1,
        5,
    ),
    (
        "x = 1.5e3J\n",
        "SyntaxError",
        "complex numbers (imaginary literals like 1j) are not supported in gradscript",
        1,
        5,
    ),
    (
        "x: int = 1\n",
        "SyntaxError",
        "variable annotations (x: type = value) are not supported in gradscript",
        1,
        1,
    ),
    (
        "def f(x: int): pass\n",
        "SyntaxError",
        "parameter annotations (x: type) are not supported in gradscript",
        1,
        10,
    ),
    (
        "def f() -> int: pass\n",
        "SyntaxError",
        "return annotations ('->') are not supported in gradscript",
        1,
        9,
    ),
    (
        "def f(*, a): pass\n",
        "SyntaxError",
        "a bare '*' (keyword-only parameters) is not supported in gradscript",
        1,
        7,
    ),
    (
        "def f(a, /): pass\n",
        "SyntaxError",
        "positional-only parameters ('/') are not supported in gradscript",
        1,
        10,
    ),
    (
        "from . import x\n",
        "SyntaxError",
        "relative imports (from . import x) are not supported in gradscript",
        1,
        6,
    ),
    ("raise E from e\n", "SyntaxError", "'raise ... from ...' is not supported in gradscript", 1, 9),
    (
        "try:\n    pass\nexcept* E:\n    pass\n",
        "SyntaxError",
        "'except*' is not supported in gradscript",
        3,
        7,
    ),
    # the sandbox rule on names
    ("x.__class__\n", "SyntaxError", "attribute names starting with '_' are not allowed in gradscript", 1, 3),
    (
        "y = obj._secret\n",
        "SyntaxError",
        "attribute names starting with '_' are not allowed in gradscript",
        1,
        9,
    ),
    ("a.b._c = 1\n", "SyntaxError", "attribute names starting with '_' are not allowed in gradscript", 1, 5),
    (
        "f'{x.__dict__}'\n",
        "SyntaxError",
        "f-string: attribute names starting with '_' are not allowed in gradscript",
        1,
        6,
    ),
    (
        "import torch._C\n",
        "SyntaxError",
        "attribute names starting with '_' are not allowed in gradscript",
        1,
        14,
    ),
    (
        "from torch import _C\n",
        "SyntaxError",
        "attribute names starting with '_' are not allowed in gradscript",
        1,
        19,
    ),
    ("__import__('os')\n", "SyntaxError", "names starting with '__' are not allowed in gradscript", 1, 1),
    ("x = __builtins__\n", "SyntaxError", "names starting with '__' are not allowed in gradscript", 1, 5),
    ("def f(__x): pass\n", "SyntaxError", "names starting with '__' are not allowed in gradscript", 1, 7),
    # __name__ can be read, never rebound
    ("__name__ = 'x'\n", "SyntaxError", READ_ONLY, 1, 1),
    ("a, *__name__ = 1, 2\n", "SyntaxError", READ_ONLY, 1, 5),
    ("__name__ += 'x'\n", "SyntaxError", READ_ONLY, 1, 1),
    ("for __name__ in y: pass\n", "SyntaxError", READ_ONLY, 1, 5),
    ("[0 for __name__ in y]\n", "SyntaxError", READ_ONLY, 1, 8),
    ("del __name__\n", "SyntaxError", "cannot delete __name__ in gradscript (it is always '__main__')", 1, 5),
    ("def __name__(): pass\n", "SyntaxError", READ_ONLY, 1, 5),
    ("def f(__name__): pass\n", "SyntaxError", DUNDER, 1, 7),
    ("import torch as __name__\n", "SyntaxError", DUNDER, 1, 17),
    ("x = __main__\n", "SyntaxError", DUNDER, 1, 5),
    ("x.__name__\n", "SyntaxError", "attribute names starting with '_' are not allowed in gradscript", 1, 3),
    # f-strings
    ("f'{}'\n", "SyntaxError", "f-string: empty expression not allowed", 1, 3),
    ("f'{x!z}'\n", "SyntaxError", "f-string: invalid conversion character: expected 's', 'r', or 'a'", 1, 5),
    ("f'{x'\n", "SyntaxError", "f-string: expecting '}'", 1, 3),
    ("f'}'\n", "SyntaxError", "f-string: single '}' is not allowed", 1, 3),
    ("f'{a b}'\n", "SyntaxError", "f-string: invalid syntax. Perhaps you forgot a comma?", 1, 6),
    ("f'{1 +}'\n", "SyntaxError", "f-string: expected an expression", 1, 7),
    ("f'{x:{y:{z}}}'\n", "SyntaxError", "f-string: expressions nested too deeply", 1, 9),
    ("f'{a\\n}'\n", "SyntaxError", "f-string expression part cannot include a backslash", 1, 5),
    ("f'{a#}'\n", "SyntaxError", "f-string expression part cannot include '#'", 1, 5),
    ("x = 1 + \\", "SyntaxError", "unexpected EOF while parsing", 1, 9),
    ("x = 1\n\\", "SyntaxError", "unexpected EOF while parsing", 2, 1),
    (
        "try:\n    pass\nexcept:\n    pass\nexcept E:\n    pass\n",
        "SyntaxError",
        "default 'except:' must be last",
        3,
        1,
    ),
    ("x = 0or 1\n", "SyntaxError", "invalid octal literal", 1, 5),
    (
        "x = 1j.real\n",
        "SyntaxError",
        "complex numbers (imaginary literals like 1j) are not supported in gradscript",
        1,
        5,
    ),
    ("f'a\\}'\n", "SyntaxError", "f-string: single '}' is not allowed", 1, 5),
    # characters
    ("x = 1\0\n", "SyntaxError", "source code cannot contain null bytes", 1, 6),
    (
        "x = '\ud800'\n",
        "SyntaxError",
        "invalid character: lone surrogate U+D800 (the text is not valid Unicode)",
        1,
        6,
    ),
]


@pytest.mark.parametrize(("source", "kind", "message", "line", "column"), ERRORS)
def test_error_messages(source, kind, message, line, column):
    err = syntax_error(source)
    assert (err.kind, err.message, err.line, err.column) == (kind, message, line, column)
    assert err.filename == "<script>"
    expected_line = source.split("\n")[line - 1]
    assert err.source_line == expected_line.encode("utf-8", "backslashreplace").decode("utf-8")
    assert err.end_column is not None and err.end_column > err.column


_TERMINAL_NAMES = re.compile(r"\$END|_NEWLINE|_INDENT|_DEDENT|\b[A-Z]{2,}[A-Z_]*\b")


def test_messages_never_show_lark_terminal_names():
    junk = [
        "(",
        ")",
        "]",
        "x = (",
        "x = )",
        "def",
        "class",
        "if",
        "for x in",
        "import",
        "from",
        "lambda",
        "x.",
        "x[",
        "f(,)",
        "a b c",
        "1 +",
        "@",
        "try",
        "else",
        "x = [1,, 2]",
        "del",
        "with",
        "return return",
        "assert",
        "raise raise",
        "x = {1:}",
        "x[::::]",
        "not",
        "a if",
        "a if b else",
        "lambda x",
        ":",
        ";",
        "x = 1 = 2 =",
        "x ** ",
        "**x",
        "f(**)",
        "import a.",
        "from a import (",
        "class A(:",
        "def f(:",
        "try:\n    pass\nexcept",
        "while",
        "if x:\n    pass\n  else:",
        "x = '''",
        "in",
        "is",
        "x = not",
    ]
    for source in junk:
        err = syntax_error(source)
        assert not _TERMINAL_NAMES.search(err.message.replace("U+", "")), (source, err.message)
        assert err.line is not None and err.column is not None, source


def test_filename_and_render():
    with pytest.raises(ScriptSyntaxError) as info:
        parse("x = )\n", filename="demo.gs")
    err = info.value
    assert err.filename == "demo.gs"
    assert err.render().splitlines() == [
        "SyntaxError: unmatched ')'",
        "  --> demo.gs:1:5",
        "   | x = )",
        "   |     ^",
    ]


# ------------------------------------------------------------------------------------ limits


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


DEEP = {
    "parentheses": "(" * 100_000 + "1" + ")" * 100_000,
    "brackets": "[" * 100_000 + "]" * 100_000,
    "unary minus": "-" * 100_000 + "1",
    "not": "not " * 100_000 + "x",
    "power": "**".join(["2"] * 100_000),
    "sum": "+".join(["1"] * 100_000),
    "attributes": "x" + ".a" * 100_000,
    "calls": "f" + "()" * 100_000,
    "subscripts": "x" + "[0]" * 100_000,
    "lambdas": "lambda: " * 100_000 + "1",
    "conditionals": "1 if x else " * 80_000 + "2",
    "blocks": "".join(" " * i + "if x:\n" for i in range(1000)) + " " * 1000 + "pass\n",
    "elifs": "if x: pass\n" + "elif x: pass\n" * 1000,
}


@pytest.mark.parametrize("name", list(DEEP))
def test_deep_nesting_stops_cleanly_and_fast(name):
    source = DEEP[name]
    limits = Limits(max_source_bytes=10_000_000)
    start = time.perf_counter()
    with pytest.raises(LimitError) as info:
        parse(source, limits=limits)
    assert time.perf_counter() - start < 1.0
    err = info.value
    assert "(limit 200, --max-depth)" in err.message and "too" in err.message
    assert err.line is not None and err.column is not None and err.source_line is not None


def test_nesting_within_the_limit_parses():
    parse("x = " + "(" * 150 + "1" + ")" * 150 + "\n")
    parse("x = " + "-" * 150 + "1\n")
    parse("x = " + " + ".join(["1"] * 150) + "\n")
    parse("".join(" " * i + "for x in y:\n" for i in range(100)) + " " * 100 + "pass\n")
    parse("x = " + "f(a, k=" * 60 + "c" + ")" * 60 + "\n")
    parse("x = " + "(a if b else " * 150 + "c" + ")" * 150 + "\n")
    # long but flat: no limit
    parse("x = [" + ", ".join(["1"] * 20_000) + "]\n")
    parse("x = " + " or ".join(["a"] * 5_000) + "\n")


def test_depth_limit_is_configurable():
    source = "x = " + "-" * 30 + "1\n"
    parse(source)
    with pytest.raises(LimitError, match=r"limit 20, --max-depth"):
        parse(source, limits=Limits(max_depth=20))


def test_source_size_is_checked_before_lexing():
    limits = Limits(max_source_bytes=100)
    parse("x = 1\n" * 16, limits=limits)
    with pytest.raises(LimitError, match=r"over the limit of 100 bytes \(--max-source-bytes\)"):
        parse("x = 1\n" * 17, limits=limits)
    with pytest.raises(LimitError, match="over the limit"):
        parse("€" * 40, limits=limits)  # 120 bytes in UTF-8
    start = time.perf_counter()
    with pytest.raises(LimitError):
        parse("(" * 50_000_000)
    assert time.perf_counter() - start < 1.0


def test_big_integer_literals():
    assert expr("1" + "0" * 100 + "\n").value == 10**100
    with pytest.raises(ScriptSyntaxError, match="integer literal too large"):
        parse("x = " + "9" * 5000 + "\n")


# -------------------------------------------------------------------------- grammar and speed


def test_grammar_has_no_lalr_conflicts():
    from lark import Lark, logger

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        Lark(
            P.grammar_path().read_text(encoding="utf-8"),
            parser="lalr",
            lexer="basic",
            start=["file_input", "eval_input"],
            postlex=P._Layout(),
            maybe_placeholders=True,
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    conflicts = [r.getMessage() for r in records if "conflict" in r.getMessage().lower()]
    assert conflicts == []


def test_grammar_file_is_syntax_only():
    # Rules, terminals, comments and directives: nothing else (no embedded code, no imports).
    line_kinds = re.compile(
        r"(\s*//.*|[!?]*_?[a-z][a-z_]*:.*|[A-Z_][A-Z_]*(\.\d)?:.*|\s+[|\[(\"a-z_A-Z].*"
        r"|%ignore .*|%declare .*)$"
    )
    for line in P.grammar_path().read_text(encoding="utf-8").splitlines():
        assert not line.strip() or line_kinds.match(line), line


def test_parser_module_is_the_only_user_of_lark():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    package = os.path.join(root, "gradcli")
    users = []
    for dirpath, _, files in os.walk(package):
        for name in files:
            if name.endswith(".py"):
                text = open(os.path.join(dirpath, name), encoding="utf-8").read()
                if re.search(r"^\s*(import lark|from lark)", text, re.M):
                    users.append(name)
    assert users == ["parser.py"]


def test_cache_falls_back_to_a_private_user_directory(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    (package / "_cache").mkdir(parents=True)
    os.chmod(package / "_cache", 0o777)  # world-writable: never trusted with a pickle
    monkeypatch.setattr(P, "_HERE", package)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = P._cache_file()
    assert path is not None and path.startswith(str(tmp_path / "xdg" / "gradcli"))
    assert os.stat(tmp_path / "xdg" / "gradcli").st_mode & 0o777 == 0o700
    os.chmod(package / "_cache", 0o755)
    assert P._cache_file().startswith(str(package / "_cache"))


def test_warm_start_is_fast_and_uses_the_cache():
    code = (
        "import time; t = time.perf_counter(); from gradcli.parser import parse; parse('x=1'); "
        "print(time.perf_counter() - t)"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True)
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True
            ).stdout
        )
        for _ in range(3)
    ]
    assert min(runs) < 0.5  # about 0.08 s on a quiet machine; generous for busy CI
    assert P._cache_file() is not None and os.path.exists(P._cache_file())


def test_parse_speed_against_ast_parse():
    block = VALID[VALID.index("def f(a, b=1, *args, c, d=2, **kwargs):\n    return a\n")]
    program = "\n".join(s for s in VALID if s.strip() and "\t" not in s and not s.startswith(" ")) + "\n"
    program = (program + block) * 8
    parse(program)
    ours = min(_timed(lambda: parse(program)) for _ in range(3))
    theirs = min(_timed(lambda: py_parse(program)) for _ in range(3))
    assert ours < 15 * theirs  # about 4x measured; generous for noisy machines


# ----------------------------------------------------------------- round trip with hypothesis

_NAMES = st.sampled_from(["a", "b", "c", "x", "y"]).map(lambda n: ast.Name(n))
_CONSTANTS = st.one_of(
    st.integers(0, 10**20),
    st.floats(0, 1e300, allow_nan=False),
    st.text(max_size=6),
    st.sampled_from([True, False, None, Ellipsis]),
).map(lambda v: ast.Constant(v))
_BIN = [op() for op in _BINOPS]
_UN = [op() for op in _UNOPS]
_CMP = [op() for op in _CMPOPS]


def _extend(children):
    slices = st.builds(
        lambda lo, hi, step: ast.Slice(lo, hi, step),
        st.none() | children,
        st.none() | children,
        st.none() | children,
    )
    return st.one_of(
        st.builds(ast.BinOp, children, st.sampled_from(_BIN), children),
        st.builds(ast.UnaryOp, st.sampled_from(_UN), children),
        st.builds(
            ast.BoolOp, st.sampled_from([ast.And(), ast.Or()]), st.lists(children, min_size=2, max_size=3)
        ),
        st.builds(
            lambda left, rest: ast.Compare(left, [r[0] for r in rest], [r[1] for r in rest]),
            children,
            st.lists(st.tuples(st.sampled_from(_CMP), children), min_size=1, max_size=3),
        ),
        st.builds(ast.IfExp, children, children, children),
        st.builds(lambda f, args: ast.Call(f, args, []), children, st.lists(children, max_size=3)),
        st.builds(lambda v, name: ast.Attribute(v, name), children, st.sampled_from(["grad", "t", "real"])),
        st.builds(lambda v, i: ast.Subscript(v, i), children, children | slices),
        st.builds(lambda elts: ast.List(elts), st.lists(children, max_size=3)),
        st.builds(lambda elts: ast.Tuple(elts), st.lists(children, max_size=3)),
        st.builds(
            lambda k, v: ast.Dict(k, v), st.lists(children, max_size=2), st.lists(children, max_size=2)
        ).filter(lambda d: len(d.keys) == len(d.values)),
        st.builds(lambda body: ast.Lambda(ast.arguments([], [], None, [], [], None, []), body), children),
    )


_EXPRESSIONS = st.recursive(_NAMES | _CONSTANTS, _extend, max_leaves=12)


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_EXPRESSIONS)
def test_round_trip_against_python(tree):
    source = ast.unparse(ast.fix_missing_locations(ast.Expression(tree))) + "\n"
    assert shape(parse(source), positions=source.isascii()) == py_shape(
        py_parse(source), positions=source.isascii()
    )


def test_node_classes_list_their_fields_in_init_order():
    import inspect

    for cls in vars(S).values():
        if isinstance(cls, type) and issubclass(cls, S.Node) and "__init__" in vars(cls):
            params = list(inspect.signature(cls.__init__).parameters)[1:]
            assert tuple(params) == cls._fields, cls.__name__
            node = cls(*[None] * len(params))
            assert [getattr(node, name) for name in cls._fields] == [None] * len(params)
            assert (node.line, node.column, node.end_line, node.end_column) == (0, 0, 0, 0)
            assert repr(node).startswith(f"{cls.__name__}(line=0, column=0, end_line=0, end_column=0")
