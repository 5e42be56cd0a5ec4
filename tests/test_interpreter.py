"""The interpreter: Python 3 semantics on plain values (real Python is the oracle), the sandbox, the limits,
error locations, and the seed tutorial's tensor programs (printed exactly as PyTorch prints them)."""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
import time

import pytest

from gradcli.errors import LimitError, ScriptError, ScriptRuntimeError, ScriptSyntaxError
from gradcli.interpreter import Interpreter, script_getattr, script_hasattr
from gradcli.limits import Limits

FAST = Limits(max_steps=200_000, max_seconds=5)


def run(source: str, limits: Limits = FAST) -> tuple[str, ScriptError | None]:
    """(what the program printed, the error it ended with or None)."""
    out = io.StringIO()
    try:
        Interpreter(out=out, limits=limits).run(textwrap.dedent(source))
    except ScriptError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def output(source: str, limits: Limits = FAST) -> str:
    text, err = run(source, limits)
    if err is not None:
        raise AssertionError(f"unexpected {err.kind}: {err.message}\n{err.render()}") from err
    return text


def error(source: str, limits: Limits = FAST) -> ScriptError:
    _, err = run(source, limits)
    assert err is not None, "the program was expected to fail"
    return err


def python(source: str) -> tuple[str, BaseException | None]:
    """What real Python prints for the same plain-Python program (the oracle)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            exec(compile(textwrap.dedent(source), "<oracle>", "exec"), {"__name__": "__main__"})
        except Exception as exc:  # the oracle's own error is part of what we compare
            return out.getvalue(), exc
    return out.getvalue(), None


def same_as_python(source: str) -> None:
    expected, exc = python(source)
    got, err = run(source)
    assert got == expected
    if exc is None:
        assert err is None, err.render()
    else:
        assert err is not None, f"expected {type(exc).__name__}: {exc}"
        assert (err.kind, err.message) == (type(exc).__name__, str(exc))


# ------------------------------------------------------------------ Python semantics, with Python as oracle
PROGRAMS = {
    "arithmetic": """
        print(1 + 2 * 3, 7 // 2, -7 // 2, 7 % 3, -7 % 3, 2 ** 10, 2 ** -1, 7 / 2, 1e3, 0.1 + 0.2)
        print(divmod(17, 5), pow(3, 4), pow(3, 4, 5), abs(-3.5), round(2.675, 2), round(3.5))
        print(int("42"), float("1.5"), int(-2.7), float("inf"), bool(""), str(1.0))
        print(1 < 2 < 3, 1 < 3 < 2, 3 > 2 == 2, 1 if 0 else 2, 0 or "x", 1 and 0, not 0)
        print(~5, 6 & 3, 6 | 3, 6 ^ 3, -(3), +4, None is None, None is not print, 3 in [3], 4 not in [3])
        print(True + True, 10 ** 20, 2 ** 100 // 3, 5 >> 1, 1 << 70)
        print(max(3, 1, 2), min([4, 2, 8]), sum([1, 2, 3]), sum([0.5, 0.25], 1))
    """,
    "strings": """
        s = "Hello, World"
        print(s.upper(), s.lower(), s.split(", "), "-".join(["a", "b"]), s.replace("l", "L"), s[::-1], s[1:4])
        print(s.startswith("He"), s.find("W"), s.count("l"), "  x ".strip())
        print("ab".center(6, "*"), "7".zfill(3), "a,b".partition(","), "x".ljust(3) + "|")
        print(repr(s), str(3), len(s), "a" * 3, "a" + "b", "x" in s, "%s-%d-%.2f-%r" % ("a", 3, 2.5, "q"))
        print("%(a)s=%(b)05.1f" % {"a": "k", "b": 2.25}, "50%%" % (), "%x %o %e" % (255, 8, 12345.678))
    """,
    "f-strings": """
        x, w, name = 3.14159, 10, "gx"
        print(f"{x}", f"{x:.2f}", f"{x:>{w}.3f}|", f"{name!r}", f"{name:^7}")
        print(f"{42:08b}", f"{1e6:,.1f}", f"{{}}", f"{name!s:>4}", f"{'é'!a}")
        print(f"{[1, 2]}", f"{'nested'}", f"{x=}" if False else "", f"{12:x} {12:X} {0.5:%}", f"a{1}b{2}c")
    """,
    "lists and dicts": """
        xs = [3, 1, 2]
        xs.append(5); xs.extend([0]); xs.insert(0, 9); xs.sort()
        print(xs, xs.pop(), xs.index(2), xs.count(1))
        ys = xs; ys += [7]; print(xs is ys, xs, xs[-1], xs[1:3], xs[::2], sorted(xs, reverse=True))
        d = {"a": 1, "b": 2}
        d["c"] = 3; d.update({"a": 0}); print(d, list(d.keys()), list(d.values()), d.get("z", -1), d.pop("b"))
        print(d.setdefault("q", 4), d, len(d), "a" in d, dict(zip("xy", [1, 2])), list(enumerate("ab", 1)))
        t = (1, 2, 3); print(t, t[0], t.index(3), t + (4,), tuple([5]), list(reversed(t)), [*t, *xs[:1]])
        del xs[0]; del d["a"]; print(xs, d)
    """,
    "comprehensions": """
        print([x * y for x in range(3) for y in range(3) if x != y if y > 0])
        print([[i + j for j in range(2)] for i in range(3)], [c.upper() for c in "abc"])
        x = "outer"
        print([x for x in range(3)], x)
        n = 10
        print([n + i for i in range(3)])
        print(list(map(lambda v: v * 2, [1, 2])), list(filter(lambda v: v % 2, range(6))))
        print(any([0, 1]), all([]), [[y for y in range(x)] for x in range(3)])
    """,
    "functions": """
        def f(a, b=2, *args, c=5, **kw):
            return (a, b, args, c, sorted(kw.items()))
        print(f(1), f(1, 3, 4, 5, c=6, z=7, y=8), f(*[1, 2, 3], **{"c": 0}), f(b=1, a=0))
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        print([fib(i) for i in range(12)])
        def counter():
            count = [0]
            def bump(by=1):
                count[0] += by
                return count[0]
            return bump
        c = counter(); c(); c(5); print(c())
        def make():
            return [lambda: i for i in range(3)]
        print([g() for g in make()])
        def noreturn():
            pass
        print(noreturn(), (lambda *a, **k: (a, k))(1, x=2))
        sq = lambda v: v * v
        print(sq(4), sorted(["bb", "a", "ccc"], key=len), max(["bb", "a"], key=lambda s: -len(s)))
    """,
    "scoping": """
        g = 1
        def read():
            return g
        g = 2
        print(read())
        def shadow():
            g = 3
            return g
        print(shadow(), g)
        def outer():
            v = "enclosing"
            def middle():
                def inner():
                    return v
                return inner()
            return middle()
        print(outer())
        class K:
            attr = 5
            doubled = attr * 2
            def method(self):
                return self.attr + K.doubled
        print(K().method(), K.attr)
        def late():
            def inner():
                return w
            w = "bound later"
            return inner()
        print(late())
    """,
    "loops": """
        for i in range(5):
            if i == 1:
                continue
            if i == 3:
                break
            print("for", i)
        else:
            print("not reached")
        for i in range(2):
            pass
        else:
            print("else after", i)
        n = 0
        while n < 3:
            n += 1
        else:
            print("while else", n)
        while True:
            n -= 1
            if n == 0:
                break
        for a, (b, c) in [(1, (2, 3)), (4, (5, 6))]:
            print(a + b + c)
        for i in range(3):
            for j in range(3):
                if j == 1:
                    break
            else:
                print("never")
        print("done", i, j)
    """,
    "exceptions": """
        def risky(v):
            if v == 0:
                raise ValueError("zero")
            return 10 / v
        for v in [2, 0, "s"]:
            try:
                r = risky(v)
            except ValueError as e:
                print("value error:", e, e.args)
            except (TypeError, KeyError) as e:
                print("type error:", e)
            else:
                print("ok", r)
            finally:
                print("finally", v)
        def order():
            try:
                return "try"
            finally:
                print("finally runs before the return")
        print(order())
        try:
            try:
                {}["k"]
            except KeyError:
                print("inner")
                raise
        except LookupError as e:
            print("outer", repr(e))
        class MyError(Exception):
            pass
        try:
            raise MyError("mine")
        except Exception as e:
            print("caught", e, isinstance(e, MyError), repr(e))
        try:
            assert 1 > 2, "one is not greater"
        except AssertionError as e:
            print("assert:", e)
        for i in range(3):
            try:
                if i == 1:
                    continue
                print("body", i)
            finally:
                print("fin", i)
        try:
            int("x")
        except ValueError as e:
            print(e)
    """,
    "classes": """
        class Vec:
            def __init__(self, x, y):
                self.x = x
                self.y = y
            def __add__(self, other):
                return Vec(self.x + other.x, self.y + other.y)
            def __eq__(self, other):
                return (self.x, self.y) == (other.x, other.y)
            def __repr__(self):
                return f"Vec({self.x}, {self.y})"
            def __len__(self):
                return 2
            def norm2(self):
                return self.x ** 2 + self.y ** 2
        v = Vec(1, 2) + Vec(3, 4)
        print(v, v == Vec(4, 6), len(v), v.norm2(), [v], str(v))
        class Vec3(Vec):
            def __init__(self, x, y, z):
                self.x, self.y, self.z = x, y, z
            def norm2(self):
                return self.x ** 2 + self.y ** 2 + self.z ** 2
        u = Vec3(1, 2, 2)
        print(u.norm2(), isinstance(u, Vec), u.x)
        u.label = "new"
        print(u.label, hasattr(u, "label"), hasattr(u, "nope"))
        class Counter:
            total = 0
            @staticmethod
            def twice(v):
                return 2 * v
            @classmethod
            def make(cls):
                cls.total += 1
                return cls()
        Counter.make(); Counter.make()
        print(Counter.total, Counter.twice(4))
    """,
    "qualnames": """
        def outer():
            def inner():
                pass
            return inner
        class C:
            def m(self):
                return [lambda: 0 for _ in range(1)][0]
        f = outer()
        print(repr(f).split(" at ")[0], repr(C().m()).split(" at ")[0], repr(lambda: 0).split(" at ")[0])
        print(repr(C.m).split(" at ")[0], str(C).startswith("<class '__main__.C'>"))
    """,
    "unpacking": """
        a, b = 1, 2
        a, b = b, a
        first, *rest = [1, 2, 3]
        *init, last = "abc"
        x = y = [0]
        (p, q), r = (1, 2), 3
        print(a, b, first, rest, init, last, x is y, p, q, r)
    """,
    "main guard": """
        def main():
            print("main", __name__)
        class A:
            where = __name__
        if __name__ == "__main__":
            main()
        print(A.where, [__name__ for _ in range(1)], (lambda: __name__)())
    """,
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_python_semantics(name):
    same_as_python(PROGRAMS[name])


ERRORS = {
    "name": "print(q)",
    "unbound local": "def f():\n    x = x + 1\nf()",
    "unbound free": "def f():\n    def g():\n        return v\n    g()\n    v = 1\nf()",
    "missing argument": "def f(a, b):\n    pass\nf(1)",
    "missing arguments": "def f(a, b, c):\n    pass\nf()",
    "too many": "def f(a, b=1):\n    pass\nf(1, 2, 3)",
    "too many exact": "def f(a):\n    pass\nf(1, 2)",
    "none taken": "def f():\n    pass\nf(1)",
    "unexpected keyword": "def f(a):\n    pass\nf(1, b=2)",
    "multiple values": "def f(a):\n    pass\nf(1, a=2)",
    "missing keyword-only": "def f(*a, k):\n    pass\nf()",
    "method arguments": "class A:\n    def m(self, v):\n        pass\nA().m()",
    "list attribute": "[].foo",
    "division": "1 / 0",
    "integer division": "1 // 0",
    "float division": "1.0 / 0",
    "modulo": "5 % 0",
    "index": "[1, 2][5]",
    "key": "{}['k']",
    "not callable": "x = 1\nx()",
    "operands": "1 + 'a'",
    "unpack too many": "a, b = [1, 2, 3]",
    "unpack too few": "a, b, c = [1, 2]",
    "unpack star": "a, *b, c = [1]",
    "unpack non-iterable": "a, b = 5",
    "not iterable": "for x in 5:\n    pass",
    "int parse": "int('x')",
    "assert": "assert 1 == 2, 'values differ'",
    "assert bare": "assert []",
    "raise": "raise ValueError('custom')",
    "raise class": "raise KeyError",
    "raise non-exception": "raise 1",
    "bare raise": "raise",
    "len": "len(5)",
    "str index": "'abc'[10]",
    "pop": "[].pop()",
    "remove": "[1].remove(2)",
    "dict key type": "{[1]: 2}",
    "list index": "[1, 2].index(3)",
    "class names are not seen by comprehensions": "class A:\n    xs = [1, 2]\n    k = 3\n"
                                                  "    ys = [x for x in xs]\n    zs = [x * k for x in xs]",
    "class names are not seen by methods": "class A:\n    k = 3\n    def f(self):\n        return k\nA().f()",
    "deleted name": "x = 1\ndel x\nprint(x)",
    "handler name is unbound afterwards": "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    pass\ne",
    "init arguments": "class A:\n    def __init__(self, v):\n        self.v = v\nA(1, 2)",
    "missing attribute of instance": "class A:\n    pass\nA().nope",
    "str not callable": "s = 'abc'\ns()",
    "str plus int": "'a' + 1",
    "negative shift": "1 << -1",
    "unhashable": "{}[[1]]",
    "int from a long string": "int('9' * 5000)",
    "star argument": "def f(*a):\n    pass\nf(*5)",
    "star argument of a builtin": "print(*5)",
    "star in a display": "[*5]",
    "double star argument": "def f(**k):\n    pass\nf(**5)",
    "double star keys": "def f(**k):\n    pass\nf(**{1: 2})",
    "double star repeats": "def f(**k):\n    pass\nf(x=1, **{'x': 2})",
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_messages_match_python(name):
    same_as_python(ERRORS[name])


def test_every_ast_node_type_has_a_lowering():
    import inspect

    from gradcli import syntax
    from gradcli.interpreter import _Compiler

    for name, cls in inspect.getmembers(syntax, inspect.isclass):
        if issubclass(cls, syntax.Expr) and cls is not syntax.Expr:
            assert hasattr(_Compiler, f"expr_{name}"), name
        if issubclass(cls, syntax.Stmt) and cls is not syntax.Stmt:
            assert hasattr(_Compiler, f"stmt_{name}"), name


# ------------------------------------------------------------------ error locations
def test_error_is_located_at_innermost_node():
    err = error("x = 1\ny = [x,\n     x + undefined_name]\n")
    assert (err.kind, err.line, err.column, err.end_column) == ("NameError", 3, 10, 24)
    assert err.source_line == "     x + undefined_name]"
    assert "^" * len("undefined_name") in err.render()


def test_error_inside_function_points_into_its_body():
    err = error("def f(v):\n    return v[3]\n\nprint(f([1]))\n")
    assert (err.kind, err.message, err.line, err.column, err.end_column) == (
        "IndexError", "list index out of range", 2, 12, 16)


def test_attribute_and_call_errors_point_at_their_nodes():
    err = error("xs = [1]\nxs.bogus(2)\n")
    assert (err.kind, err.line, err.column, err.end_column) == ("AttributeError", 2, 1, 9)
    err = error("import torch\nx = torch.ones(2)\ny = torch.matmul(x, torch.ones(3))\n")
    assert (err.kind, err.line, err.column) == ("RuntimeError", 3, 5)


def test_runtime_error_keeps_the_python_exception_as_cause():
    err = error("1 / 0")
    assert isinstance(err, ScriptRuntimeError)
    assert isinstance(err.__cause__, ZeroDivisionError)
    assert err.filename == "<script>"


def test_output_before_an_error_is_kept():
    text, err = run("print('first')\nfor i in range(3):\n    print(i)\nprint(1 / 0)\nprint('never')")
    assert text == "first\n0\n1\n2\n"
    assert err.kind == "ZeroDivisionError" and err.line == 4


def test_print_reaches_the_stream_as_it_happens():
    seen = []

    class Stream(io.StringIO):
        def flush(self):
            seen.append(self.getvalue())

    Interpreter(out=Stream()).run("print('a')\nprint('b', end='')\n")
    assert seen == ["a\n", "a\nb"]


def test_print_arguments():
    source = "print(1, 2, sep='-', end='!\\n')\nprint()\nprint('x', None, sep=None)"
    assert output(source) == "1-2!\n\nx None\n"
    assert error("print(1, sep=3)").message == "sep must be None or a string, not int"


# ------------------------------------------------------------------ the sandbox
REFUSED_NAMES = """open eval exec compile getattr setattr delattr globals locals vars __import__ object
    exit quit input help breakpoint memoryview __builtins__ iter super SystemExit KeyboardInterrupt
    BaseException GeneratorExit""".split()


@pytest.mark.parametrize("name", REFUSED_NAMES)
def test_dangerous_builtins_do_not_exist(name):
    err = error(f"{name}")
    if name.startswith("__"):  # the parser refuses dunder names outright
        assert isinstance(err, ScriptSyntaxError)
    else:
        assert (err.kind, err.message) == ("NameError", f"name '{name}' is not defined")


def test_type_gives_only_classes_the_script_reaches_anyway():
    # the class itself where the script has it by name (torch.Tensor, int, its own classes); otherwise a
    # name that prints like the class and can be neither called nor looked into
    source = """
        import torch
        x = torch.ones(2, requires_grad=True)
        print(type(x) is torch.Tensor, type(1) is int, type({}) is dict, type(range(2)) is range)
        node = type(x.sum().grad_fn)
        print(node, node is type(x.mean().grad_fn), node is type(x.sum().grad_fn))
        print(isinstance(x.sum().grad_fn, node), isinstance(x.mean().grad_fn, node))
        """
    assert output(source) == ("True True True True\n<class 'SumBackward0'> False True\nTrue False\n")
    for probe, message in [
        ("type(x.sum().grad_fn)()", "'ScriptType' object is not callable"),
        ("type(torch)('os')", "'ScriptType' object is not callable"),
        ("type(print)('x')", "'ScriptType' object is not callable"),
        ("type(type(x))('T', (), {})", "'ScriptType' object is not callable"),
        ("type(x.sum().grad_fn).apply", "'ScriptType' object has no attribute 'apply'"),
        ("type(1, 2)", "type() takes 1 or 3 arguments"),
    ]:
        err = error(f"import torch\nx = torch.ones(2, requires_grad=True)\n{probe}")
        assert err.message == message, probe


@pytest.mark.parametrize("source", ["().__class__.__bases__", "print.__self__", "x = 1\nx.__class__ = 2",
                                    "import torch\ntorch.tensor.__globals__", "(lambda: 0).__code__"])
def test_private_attributes_are_refused_before_running(source):
    err = error(source)
    assert isinstance(err, ScriptSyntaxError)
    assert "_" in err.message


def test_private_attributes_are_refused_at_runtime_too():
    with pytest.raises(AttributeError, match="private"):
        script_getattr((), "__class__")
    assert script_hasattr((), "__class__") is False
    assert output("print(hasattr((), '__class__'), hasattr([], 'append'), hasattr([], 'nope'))") == (
        "False True False\n")


@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        # str.format fields name arguments only: no attribute or item lookups past the sandbox
        ("'{0.__class__}'.format(1)", "ValueError", "no attribute or item lookup in a field: {0.__class__}"),
        ("'{0.real}'.format(1)", "ValueError", "takes no attribute or item lookup in a field"),
        ("'{0[0]}'.format([1])", "ValueError", "takes no attribute or item lookup in a field"),
        ("'{:{w}}'.format(1, w=10**9)", "LimitError", "wide is over the limit"),
        ("'{x}'.format_map({})", "AttributeError", "'str' object attribute 'format_map' is not available"),
        ("import torch\ntorch.os", "AttributeError", "module 'torch' has no attribute 'os'"),
        ("import torch\ntorch.x = 1", "AttributeError", "cannot set attributes of module 'torch'"),
        ("def f():\n    pass\nf.x", "AttributeError", "'function' object has no attribute 'x'"),
        ("def f():\n    pass\nf.x = 1", "AttributeError", "'function' object has no attribute 'x'"),
        ("[].append.x", "AttributeError", "'builtin_function_or_method' object has no attribute 'x'"),
        ("try:\n    1/0\nexcept Exception as e:\n    e.with_traceback", "AttributeError", "not available"),
        ("(1).to_bytes(2, 'big')", "AttributeError", "'int' object attribute 'to_bytes' is not available"),
        ("{}.items().mapping", "AttributeError", "'dict_items' object attribute 'mapping' is not available"),
        ("int.from_bytes", "AttributeError", "type object 'int' has no attribute 'from_bytes'"),
        ("import os", "ModuleNotFoundError", "No module named 'os'"),
        ("import sys", "ModuleNotFoundError", "No module named 'sys'"),
        ("from os import path", "ModuleNotFoundError", "No module named 'os'"),
        ("import torch.os", "ModuleNotFoundError", "No module named 'torch.os'"),
        ("from torch import os", "ImportError", "cannot import name 'os' from 'torch'"),
        ("raise 1", "TypeError", "exceptions must derive from BaseException"),
        ("with 1:\n    pass", "TypeError", "gradscript supports 'with' only on torch.no_grad()"),
        ("'%s' % print", "TypeError", "gradscript formats only numbers, strings and tensors with %"),
        ("print(1, file=None)\nprint(1, file=1)", "TypeError", "writes only to standard output"),
        ("class A(int):\n    pass", "TypeError", "gradscript classes can extend script classes"),
        ("class A(dict):\n    pass", "TypeError", "not 'dict'"),
    ],
)
def test_sandbox_refusals(source, kind, message):
    err = error(source)
    assert err.kind == kind
    assert message in err.message


@pytest.mark.parametrize("dunder", ["__del__", "__getattribute__", "__getattr__", "__init_subclass__",
                                    "__class_getitem__", "__set_name__", "__new__", "__slots__", "__dict__",
                                    "_node_class", "_node_type", "_private"])
def test_classes_cannot_define_hooks_outside_the_script(dunder):
    err = error(f"class A:\n    def {dunder}(self):\n        pass\n")
    assert isinstance(err, ScriptSyntaxError)
    assert dunder in err.message


def test_a_script_cannot_choose_the_exit_path():
    # Only Exception subclasses can be raised; limits cannot be caught by the script.
    err = error("try:\n    while True:\n        pass\nexcept Exception:\n    print('caught')\n",
                Limits(max_steps=1000))
    assert isinstance(err, LimitError)
    # RecursionError is catchable, as in Python
    source = "def f():\n    return f()\ntry:\n    f()\nexcept RecursionError as e:\n    print('caught', e)\n"
    assert output(source) == "caught maximum recursion depth exceeded\n"


def test_script_functions_repr_and_are_callable_from_python():
    interp = Interpreter(out=io.StringIO())
    interp.run("def add(a, b=10):\n    return a + b\nclass P:\n    def m(self):\n        return 1\n")
    add = interp.globals["add"]
    assert add(1) == 11 and add(a=1, b=2) == 3
    assert re.fullmatch(r"<function add at 0x[0-9a-f]+>", repr(add))
    assert re.fullmatch(r"<class '__main__.P'>", repr(interp.globals["P"]))
    assert re.fullmatch(r"<bound method P.m of <__main__.P object at 0x[0-9a-f]+>>",
                        repr(interp.globals["P"]().m))


# ------------------------------------------------------------------ limits: each fails fast
LIMITS = [
    ("9**9**9", "--max-int-bits"),
    ("1 << 10**9", "--max-int-bits"),
    ("x = 10**4000\ny = x * x", "--max-int-bits"),
    ("pow(7, 10**8)", "--max-int-bits"),
    ("x = 3\nx **= 10**9", "--max-int-bits"),
    ("'a' * 10**10", "--max-sequence"),
    ("[0] * 10**9", "--max-sequence"),
    ("10**9 * (0,)", "--max-sequence"),
    ("s = 'ab'\nwhile True:\n    s = s + s", "--max-sequence"),
    ("s = [1]\nwhile True:\n    s += s", "--max-sequence"),
    ("'x'.center(10**10)", "--max-sequence"),
    ("'x'.ljust(10**10)", "--max-sequence"),
    ("('ab' * 1000).replace('', 'x' * 100000)", "--max-sequence"),
    ("'-'.join(['a' * 10**6] * 100)", "--max-sequence"),
    ("xs = [0] * 10**6\nwhile True:\n    xs.extend(xs)", "--max-sequence"),
    ("sum([[0] * 10**6] * 100, [])", "--max-sequence"),
    ("f'{1:>{10**10}}'", "--max-sequence"),
    ("'%10000000000d' % 1", "--max-sequence"),
    ("while True:\n    pass", "--max-steps"),
    ("def f():\n    while True:\n        pass\nf()", "--max-steps"),
    ("list(range(10**12))", "--max-steps"),
    ("sum(range(10**12))", "--max-steps"),
    ("sorted(range(10**15))", "--max-steps"),
    ("[i for i in range(10**12)]", "--max-steps"),
    ("max(map(abs, range(10**12)))", "--max-steps"),
]


@pytest.mark.parametrize(("source", "flag"), LIMITS)
def test_limits_fail_fast(source, flag):
    start = time.perf_counter()
    err = error(source, Limits(max_steps=100_000, max_seconds=5))
    assert time.perf_counter() - start < 1.0
    assert isinstance(err, LimitError), err.render()
    assert flag in err.message
    assert err.line is not None


def test_step_limit_is_exact():
    assert output("for i in range(5):\n    pass\nprint('ok')", Limits(max_steps=5)) == "ok\n"
    err = error("for i in range(6):\n    pass", Limits(max_steps=5))
    assert err.message == "the program ran more than 5 steps (--max-steps)"
    assert (err.line, err.column) == (1, 1)
    assert error("def f():\n    pass\nfor i in range(3):\n    f()", Limits(max_steps=5)).kind == "LimitError"


def test_timeout():
    start = time.perf_counter()
    err = error("while True:\n    pass", Limits(max_steps=10**12, max_seconds=0.2))
    assert 0.2 <= time.perf_counter() - start < 1.0
    assert err.message == "the program ran longer than 0.2 s (--timeout)"


def test_call_depth():
    deep = "def f(n):\n    return 0 if n == 0 else f(n - 1)\nprint(f({}))"
    assert output(deep.format(150)) == "0\n"
    err = error(deep.format(100_000))
    assert (err.kind, err.message, err.line) == ("RecursionError", "maximum recursion depth exceeded", 2)
    assert output(deep.format(10), Limits(max_call_depth=11)) == "0\n"
    assert error(deep.format(11), Limits(max_call_depth=11)).kind == "RecursionError"


def test_deep_recursion_through_deeply_nested_expressions_is_refused_not_crashed():
    # Each level of the expression is a closure frame: the call depth allowed shrinks accordingly, and
    # the script gets a RecursionError of its own instead of Python's (or a crash).
    for nested in ("-" * 150 + "f(n - 1)", "abs(" * 100 + "f(n - 1)" + ")" * 100):
        start = time.perf_counter()
        err = error(f"def f(n):\n    return {nested} if n else 0\nf(10**6)")
        assert (err.kind, err.message) == ("RecursionError", "maximum recursion depth exceeded")
        assert err.line == 2
        assert time.perf_counter() - start < 2.0
    assert output(f"def f(n):\n    return {'-' * 150}f(n - 1) if n else 0\nprint(f(20))") == "0\n"


def test_int_string_conversions_keep_pythons_digit_limit():
    import sys

    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        err = error("int('9' * 100000)")
        assert sys.get_int_max_str_digits() == 0
    finally:
        sys.set_int_max_str_digits(old)
    assert err.kind == "ValueError" and "Exceeds the limit (4300 digits)" in err.message


def test_int_literal_limit():
    err = error("x = " + "9" * 1000, Limits(max_int_bits=1000))
    assert isinstance(err, LimitError) and "--max-int-bits" in err.message


def test_long_ranges_still_behave_like_ranges():
    assert output("""
        r = range(10**12)
        print(r, len(r), r[5], r[-1], 10**11 in r, r[2:6], isinstance(r, range), isinstance(3, range))
        for i in range(10**12):
            if i == 2:
                break
        print(i, list(range(10**12)[:3]), r.start, r.stop, r.step, bool(range(10**12, 0)))
    """) == (
        "range(0, 1000000000000) 1000000000000 5 999999999999 True range(2, 6) True False\n"
        "2 [0, 1, 2] 0 1000000000000 1 False\n"
    )


# ------------------------------------------------------------------ interactive use
def test_ctrl_c_is_not_a_script_error_and_grad_mode_is_restored():
    class Interrupting(io.StringIO):
        def write(self, text):
            raise KeyboardInterrupt

    interp = Interpreter(out=Interrupting())
    with pytest.raises(KeyboardInterrupt):
        interp.run("try:\n    with torch.no_grad():\n        print('x')\nexcept Exception:\n    pass\n")
    assert output("print(torch.is_grad_enabled())") == "True\n"


def test_run_interactive_echoes_the_last_expression_and_keeps_state():
    interp = Interpreter(out=io.StringIO())
    assert interp.run_interactive("x = 2") == (False, None)
    assert interp.run_interactive("def sq(v):\n    return v * v") == (False, None)
    assert interp.run_interactive("sq(x) + 1") == (True, 5)
    assert interp.run_interactive("print('p')") == (True, None)
    assert list(interp.globals) == ["torch", "x", "sq"]
    with pytest.raises(ScriptRuntimeError):
        interp.run_interactive("sq(nope)")
    assert interp.run_interactive("x") == (True, 2)


def test_globals_keep_binding_order_and_predefine_torch():
    interp = Interpreter(out=io.StringIO())
    interp.run("b = 1\na = 2\nb = 3\nimport math\n")
    assert list(interp.globals) == ["torch", "b", "a", "math"]
    assert interp.predefined == {"torch": interp.modules["torch"]}


# ------------------------------------------------------------------ tensor programs (the seed tutorial)
SEED_85 = """\
w = torch.tensor([1.], requires_grad=True)
x = torch.tensor([2.], requires_grad=True)
a = torch.add(w, x)
b = torch.add(w, 1)
y = torch.mul(a, b)

 # x是直接创建的，所以它没有grad_fn
print(x.grad_fn)
print(a.grad_fn)

y.backward()
print(w.grad)
"""
SEED_86 = """\
# 注意grad是累加的
y2 = w.sum()
y2.backward()      # 梯度未清零，累加梯度
print(w.grad)

y3 = w.sum()
w.grad.data.zero_()
y3.backward()      # 梯度清零后，x的梯度为1
print(w.grad)
"""
SEED_87 = """\
from torch.autograd import Function

class Exp(Function):                    # 此层计算e^x
    @staticmethod
    def forward(ctx, i):                # 模型前向
        result = i.exp()
        ctx.save_for_backward(result)   # 保存所需内容
        return result
    @staticmethod
    def backward(ctx, grad_output):     # 模型梯度反传
        result, = ctx.saved_tensors     # 取出forward中保存的result
        return grad_output * result     # 计算梯度并返回


# 尝试使用
x = torch.tensor([1.], requires_grad=True)
ret = Exp.apply(x)                          # 使用apply方法调用自定义autograd function
print(ret)                                  # tensor([2.7183], grad_fn=<ExpBackward>)
ret.backward()                              # 反传梯度
print(x.grad)                               # tensor([2.7183])
"""
SEED_OUTPUTS = [
    "None\n<AddBackward0 object at 0x7f14f9b04c10>\ntensor([5.])\n",
    "tensor([6.])\ntensor([1.])\n",
    "tensor([2.7183], grad_fn=<ExpBackward>)\ntensor([2.7183])\n",
]


def _addresses(text: str) -> str:
    return re.sub(r"0x[0-9a-f]+", "0x…", text)


def test_seed_cells_print_what_the_tutorial_shows():
    out = io.StringIO()
    interp = Interpreter(out=out)
    printed = []
    for cell in (SEED_85, SEED_86, SEED_87):
        interp.run(cell)
        printed.append(out.getvalue())
        out.seek(0)
        out.truncate()
    assert [_addresses(p) for p in printed] == [_addresses(p) for p in SEED_OUTPUTS]


@pytest.mark.oracle
def test_seed_cells_match_pytorch(torch):
    namespace = {"torch": torch}
    printed = []
    for cell in (SEED_85, SEED_86, SEED_87):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(cell, "<seed>", "exec"), namespace)
        printed.append(buf.getvalue())
    ours = Interpreter(out=io.StringIO())
    got = []
    for cell in (SEED_85, SEED_86, SEED_87):
        ours.out.seek(0)
        ours.out.truncate()
        ours.run(cell)
        got.append(ours.out.getvalue())
    assert [_addresses(p) for p in got] == [_addresses(p) for p in printed]


def test_tensor_programs():
    assert output("""
        import torch
        import torch.nn.functional as F
        from torch import tensor
        x = tensor([1.0, -2.0, 3.0], requires_grad=True)
        y = (F.relu(x) * 2).sum()
        y.backward()
        print(x.grad, y.grad_fn.name(), x.shape, x.dtype, x.requires_grad)
        with torch.no_grad():
            z = x * 2
        print(z.requires_grad, torch.is_grad_enabled())
        w = torch.ones(2, requires_grad=True)
        w.grad = None
        w.requires_grad = True
        total = 0
        for v in tensor([1.0, 2.0]).tolist():
            total += v
        print(total, f"{x.sum().item():.3f}", "%s" % tensor([1.0]))
    """) == (
        "tensor([2., 0., 2.]) SumBackward0 torch.Size([3]) torch.float32 True\n"
        "False True\n"
        "3.0 2.000 tensor([1.])\n"
    )


def test_with_restores_grad_mode_after_an_error():
    err = error("import torch\nwith torch.no_grad():\n    1 / 0\n")
    assert err.kind == "ZeroDivisionError"
    assert output("print(torch.is_grad_enabled())") == "True\n"


def test_function_ctx_takes_script_attributes():
    assert output("""
        from torch.autograd import Function
        class Scale(Function):
            @staticmethod
            def forward(ctx, x, k):
                ctx.k = k
                return x * k
            @staticmethod
            def backward(ctx, g):
                return g * ctx.k, None
        x = torch.ones(2, requires_grad=True)
        Scale.apply(x, 3.0).sum().backward()
        print(x.grad)
    """) == "tensor([3., 3.])\n"


def test_tensor_attributes_go_through_the_allow_list():
    assert error("x = torch.ones(1)\nx.foo = 1").message == "'Tensor' object has no attribute 'foo'"
    assert error("x = torch.ones(1)\nx.is_leaf = False").kind == "AttributeError"
    assert error("x = torch.ones(1)\nx.grad_fn.nope").kind == "AttributeError"


# ------------------------------------------------------------------ nesting C code recurses through (issue 6)
DEEP_TUPLE = "t = ()\nfor i in range(20000):\n    t = (t,)\n"


@pytest.mark.parametrize("use", ["{t: 1}", "d = {}\nd[t] = 1", "t in {1: 2}", "dict([(t, 1)])", "{}.get(t)",
                                 "{1: 2}.keys() & [t]", "d = {}\nd.update([(t, 2)])"])
def test_hashing_a_deeply_nested_tuple_is_refused_not_a_crash(use):
    # CPython hashes nested tuples recursively with no depth check: 100,000 levels kill the process
    err = error(DEEP_TUPLE + use, Limits(max_steps=10**6))
    assert (err.kind, err.line) == ("RecursionError", use.count("\n") + 4)
    assert "while hashing a tuple (nested more than 10,000 deep)" in err.message
    source = "t = ((1, 2), (3, (4,)))\nd = {t: 1}\nprint(d[t], t in d, dict([(t, 2)])[t])"
    assert output(source) == "1 True 2\n"


def test_hashing_a_shared_tuple_is_bounded_by_its_paths():
    err = error("t = ()\nfor i in range(60):\n    t = (t, t)\nd = {t: 1}")
    assert (err.kind, err.line) == ("LimitError", 4)
    assert "too large to hash" in err.message


@pytest.mark.parametrize("wrap", ["map(abs, m)", "filter(None, m)", "zip(m)", "enumerate(m)", "zip(m, m)"])
def test_deep_iterator_chains_are_refused_not_a_crash(wrap):
    err = error(f"m = [1]\nfor i in range(100000):\n    m = {wrap}\nprint(list(m))", Limits(max_steps=10**6))
    assert (err.kind, err.line) == ("RecursionError", 3)
    assert "iterators (map, filter, zip, enumerate) nested more than 1,000 deep" in err.message


def test_guarded_builtins_still_look_like_the_builtins():
    same_as_python("""
        print(dict, map, zip, filter, enumerate, dict(a=1), dict([(1, 2)], b=3), dict({1: 2}))
        print(isinstance({}, dict), isinstance(zip([]), zip), isinstance(map(abs, []), map))
        print(dict.keys({1: 2}), list(map(abs, [-1, 2])), list(zip('ab', range(2))))
        print(list(enumerate('xy', 1)), list(filter(None, [0, 3])))
        m = [1]
        for i in range(50):
            m = map(abs, m)
        print(list(m))
    """)
    assert error("class A(dict):\n    pass").message.endswith("not 'dict'")


# ------------------------------------------------------------------ PyTorch's names outside gradscript
@pytest.mark.parametrize(
    "source, message",
    [
        ("import torch\ntorch.optim", "module 'torch' attribute 'optim' is not available in gradscript"),
        ("import torch\ntorch.nn.Linear(2, 3)",
         "module 'torch.nn' attribute 'Linear' is not available in gradscript"),
        ("import torch\ntorch.ones(2).cauchy_()",
         "'Tensor' object attribute 'cauchy_' is not available in gradscript"),
        ("from torch import optim",
         "cannot import name 'optim' from 'torch': it is PyTorch's, but not available in gradscript"),
        # what PyTorch lacks too keeps Python's words
        ("import torch\ntorch.optimm", "module 'torch' has no attribute 'optimm'"),
        ("import torch\ntorch.ones(2).foo()", "'Tensor' object has no attribute 'foo'"),
        ("from torch import optimm", "cannot import name 'optimm' from 'torch'"),
    ],
)
def test_pytorch_names_outside_gradscript_are_not_called_missing(source, message):
    """A tutorial's torch.optim or nn.Linear is PyTorch's: the error must not claim PyTorch lacks it."""
    err = error(source)
    assert err.message == message


def test_pytorch_names_file_is_current(torch):
    """gradcli/pytorch_names.json is what tests/make_pytorch_names.py writes for the PyTorch under test
    (regenerate it with that script after moving to another PyTorch)."""
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from make_pytorch_names import TARGET, render

    if not torch.__version__.startswith("2.13."):
        pytest.skip(f"the names are PyTorch 2.13's; this is {torch.__version__}")
    assert TARGET.read_text() == render(torch)
