"""Issue 6: whatever a script contains, gradcli answers with a clear error or a result, never a Python
traceback, a crash, a hang, or access to anything outside the language.

Each hostile input goes through the command line, as a user would meet it: click's CliRunner for the
messages, and a real subprocess where exit codes, signals, pipes or process limits matter. The expected
outcome is a gradcli error with line and column, exit 1, no traceback, within a second. The twelve groups
follow the issue; tests/test_fuzz.py throws generated and mutated programs at the same paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from gradcli import cli
from gradcli.cli import main

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "GRADCLI_DEVICE": None}
LOCATION = re.compile(r"^  --> (?P<file>.+):(?P<line>\d+):(?P<column>\d+)$", re.MULTILINE)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module", autouse=True)
def warm():
    """Load the parser tables and the engine once, so the timings below measure the script alone."""
    CliRunner().invoke(main, ["eval", "--no-table", "-"], input=b"x = torch.ones(1) + 1\n", env=ENV)


def gradcli(source, *flags: str):
    """(result, seconds) of `gradcli eval --no-table [flags] -` with `source` (str or bytes) on stdin."""
    data = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["eval", "--no-table", *flags, "-"], input=data, env=ENV)
    return result, time.perf_counter() - start


def refused(source, kind: str, message: str, *flags: str, line: int | None = None, seconds: float = 1.0):
    """Run `source` and check the issue's bar: `kind: ...message...`, located, exit 1, no traceback, fast."""
    result, elapsed = gradcli(source, *flags)
    err = result.stderr
    assert result.exit_code == 1, (result.exit_code, result.output, err, result.exception)
    assert "Traceback" not in err and "Traceback" not in result.stdout
    assert err.startswith(f"{kind}: "), err
    assert message in err.splitlines()[0], err
    where = LOCATION.search(err)
    assert where is not None, f"no line and column in:\n{err}"
    if line is not None:
        assert int(where["line"]) == line, err
    assert not CONTROL.search(err), f"raw control characters reach the terminal: {err!r}"
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    return result


def runs(source, *flags: str) -> str:
    result, elapsed = gradcli(source, *flags)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert elapsed < 1.0
    return result.stdout


# ------------------------------------------------------------------ 1. introspection chains
@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        ("().__class__.__bases__[0].__subclasses__()", "SyntaxError", "attribute names starting with '_'"),
        ("x = torch.ones(1)\nx.__dict__", "SyntaxError", "attribute names starting with '_'"),
        ("torch.__builtins__", "SyntaxError", "attribute names starting with '_'"),
        ("x = torch.ones(1)\nx._data", "SyntaxError", "attribute names starting with '_'"),
        ("print.__globals__", "SyntaxError", "attribute names starting with '_'"),
        ("__builtins__", "SyntaxError", "names starting with '__' are not allowed"),
        ("f'{x.__class__}'", "SyntaxError", "attribute names starting with '_'"),
        ("x = torch.ones(1, requires_grad=True) * 2\nx.grad_fn._saved_self", "SyntaxError", "with '_'"),
        ("torch.Tensor.add.__self__", "SyntaxError", "attribute names starting with '_'"),
        ("print(hasattr(1, '__class__'))\nx.y", "NameError", "name 'x' is not defined"),
    ],
)
def test_introspection_is_refused(source, kind, message):
    refused(source, kind, message)


def test_hasattr_cannot_probe_private_names():
    source = "print(hasattr((), '__class__'), hasattr(torch.ones(1), '_data'), hasattr([], 'append'))"
    assert runs(source) == "False False True\n"


# ------------------------------------------------------------------ 2. modules through attributes
@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        ("torch.os", "AttributeError", "module 'torch' has no attribute 'os'"),
        ("import numpy as np\nnp.ctypeslib", "AttributeError", "module 'numpy' has no attribute 'ctypeslib'"),
        ("import numpy as np\nnp.array([1])", "AttributeError", "module 'numpy' has no attribute 'array'"),
        ("x = torch.ones(2)\nx.numpy().ctypes", "RuntimeError", "cannot leave the tensor world"),
        ("import math\nmath.sys", "AttributeError", "module 'math' has no attribute 'sys'"),
        ("torch.autograd.sys", "AttributeError", "module 'torch.autograd' has no attribute 'sys'"),
        ("torch.nn.functional.torch", "AttributeError", "has no attribute 'torch'"),
        ("import numpy.ctypeslib", "ModuleNotFoundError", "No module named 'numpy.ctypeslib'"),
        ("from torch import os", "ImportError", "cannot import name 'os' from 'torch'"),
        ("import importlib", "ModuleNotFoundError", "No module named 'importlib'"),
        ("torch.Tensor.mro", "AttributeError", "type object 'Tensor' has no attribute 'mro'"),
        ("torch.ones(1).storage()", "AttributeError",
         "'Tensor' object attribute 'storage' is not available in gradscript"),
        ("torch.ones(1).grad_fn.next_functions", "AttributeError", "'NoneType' object has no attribute"),
        ("torch.tensor.x = 1", "AttributeError", "'function' object has no attribute 'x'"),
        ("torch.ones = print", "AttributeError", "cannot set attributes of module 'torch'"),
        # a dtype over numpy's 'O' made tensors of Python objects (PyTorch's message)
        ("d = torch.dtype('x', 'O', 2, 'x')\ntorch.zeros(2, dtype=d)", "TypeError",
         "cannot create 'torch.dtype' instances"),
        ("torch.dtype()", "TypeError", "cannot create 'torch.dtype' instances"),
    ],
)
def test_modules_and_tensors_expose_only_their_allow_lists(source, kind, message):
    refused(source, kind, message)


# ------------------------------------------------------------------ 3. format strings
@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        ("x = torch.ones(1)\n'{0.__class__}'.format(x)", "ValueError", "no attribute or item lookup"),
        ("'{x.grad_fn}'.format_map({'x': 1})", "AttributeError", "'format_map' is not available"),
        ("'%s' % print", "TypeError", "gradcli formats only numbers, strings and tensors with %"),
        ("'%(a)s' % {'a': torch}", "TypeError", "not 'ScriptModule'"),
        ("'%s %s' % (1, print)", "TypeError", "not 'function'"),
        ("f'{print:{\"{0.__class__}\"}}'", "TypeError", "unsupported format string passed to function"),
        ("f'{1:>{10**10}}'", "LimitError", "--max-sequence"),
        ("'%*d' % (10**10, 1)", "LimitError", "--max-sequence"),
        # the unbound method, read from the class, is held to the same rules (it read os.environ)
        ("f = lambda: 0\nstr.format('{0.__globals__[sys].modules[os].environ}', f)", "ValueError",
         "no attribute or item lookup in a field"),
        ("list(map(str.format, ['{0.__class__}'], [1]))", "ValueError", "no attribute or item lookup"),
        ("str.center('a', 10**9)", "LimitError", "--max-sequence"),
        ("str.join('', ['a' * 10**7] * 100)", "LimitError", "--max-sequence"),
        ("str.replace('a' * 10**7, 'a', 'bb')", "LimitError", "--max-sequence"),
        ("l = [0] * 10**7\nlist.extend(l, l)", "LimitError", "--max-sequence"),
        ("t = ()\nfor i in range(100000):\n    t = (t,)\ndict.update({}, [(t, 1)])", "RecursionError",
         "while hashing a tuple"),
        ("str.format(1)", "TypeError", "descriptor 'format' for 'str' objects doesn't apply to a 'int'"),
        ("dict.get()", "TypeError", "unbound method dict.get() needs an argument"),
    ],
)
def test_format_strings_reach_no_attributes(source, kind, message):
    refused(source, kind, message.replace("gradcli formats", "gradscript formats"))


def test_unbound_methods_still_work():
    assert runs("l = [1]\nlist.extend(l, [2])\nd = {}\ndict.update(d, a=1)\n"
                "print(str.format('{}-{x}', 1, x=2), str.upper('a'), l, d, str.join(',', ['a', 'b']), "
                "list(map(str.strip, [' a '])), str.format)") == (
        "1-2 A [1, 2] {'a': 1} a,b ['a'] <method 'format' of 'str' objects>\n")


def test_reprs_of_internals_give_nothing_away():
    # !r and %s on internals print a repr, as Python would: a name and an address, no way in
    out = runs("x = torch.ones(1, requires_grad=True) * 2\n"
               "print(f'{x!r} {x.grad_fn!r} {torch!r}', '%s' % (x,), '%r' % [1])")
    assert re.fullmatch(r"tensor\(\[2\.\], grad_fn=<MulBackward0>\) <MulBackward0 object at 0x[0-9a-f]+> "
                        r"<module 'torch'> tensor\(\[2\.\], grad_fn=<MulBackward0>\) \[1\]\n", out), out


# ------------------------------------------------------------------ 4. frames
CAUGHT = "try:\n    1/0\nexcept Exception as e:\n    "


@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        ("def g():\n    yield 1\n", "SyntaxError", "'yield' is not supported"),
        ("g = (x for x in [1])", "SyntaxError", "generator expressions are not supported"),
        ("async def f():\n    pass\n", "SyntaxError", "'async' is not supported"),
        ("f = lambda: (yield)", "SyntaxError", "'yield' is not supported"),
        (CAUGHT + "e.__traceback__.tb_frame", "SyntaxError", "starting with '_'"),
        (CAUGHT + "e.with_traceback(None)", "AttributeError", "not available"),
        (CAUGHT + "e.tb_frame", "AttributeError", "has no attribute 'tb_frame'"),
        ("f = lambda: 0\nf.f_back", "AttributeError", "'function' object has no attribute 'f_back'"),
        ("iter([1]).gi_frame", "NameError", "name 'iter' is not defined"),
        ("map(abs, [1]).gi_frame", "AttributeError", "'map' object has no attribute 'gi_frame'"),
        ("[].append.__self__", "SyntaxError", "starting with '_'"),
    ],
)
def test_no_frames_generators_or_tracebacks(source, kind, message):
    refused(source, kind, message)


def test_caught_errors_hand_over_nothing_of_numpy():
    # numpy's UFuncTypeError carries the ufunc (np.maximum) and numpy dtypes in its args: a script that
    # caught it could call the ufunc and hold numpy arrays
    source = ("import torch.nn.functional as F\ntry:\n    F.leaky_relu(torch.ones(2), 'a')\n"
              "except TypeError as e:\n    u = e.args[0]\n    print(repr(u)[:5], len(e.args))\n"
              "    u([1], [2])")
    result = refused(source, "TypeError", "'str' object is not callable", line=7)
    assert result.stdout == "\"ufun 1\n"
    # the script's own errors keep their args
    assert runs("try:\n    {}[(1, 'k')]\nexcept KeyError as e:\n    print(e.args)") == "((1, 'k'),)\n"


# ------------------------------------------------------------------ 5. escapes and exit codes
@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        ("import os", "ModuleNotFoundError", "No module named 'os'"),
        ("import subprocess", "ModuleNotFoundError", "No module named 'subprocess'"),
        ("from os import system", "ModuleNotFoundError", "No module named 'os'"),
        ("__import__('os')", "SyntaxError", "names starting with '__' are not allowed"),
        ("eval('1')", "NameError", "name 'eval' is not defined"),
        ("exec('1')", "NameError", "name 'exec' is not defined"),
        ("open('/etc/passwd')", "NameError", "name 'open' is not defined"),
        ("compile('1', '', 'eval')", "NameError", "name 'compile' is not defined"),
        ("getattr(1, 'real')", "NameError", "name 'getattr' is not defined"),
        ("globals()", "NameError", "name 'globals' is not defined"),
        ("vars()", "NameError", "name 'vars' is not defined"),
        ("type('E', (Exception,), {})", "TypeError",
         "type() with three arguments is not available in gradscript: define the class with a class "
         "statement"),
        ("exit()", "NameError", "name 'exit' is not defined"),
        ("quit(3)", "NameError", "name 'quit' is not defined"),
        ("raise SystemExit", "NameError", "name 'SystemExit' is not defined"),
        ("raise KeyboardInterrupt", "NameError", "name 'KeyboardInterrupt' is not defined"),
        ("class E(BaseException):\n    pass", "NameError", "name 'BaseException' is not defined"),
        ("class Exit(Exception):\n    code = 3\nraise Exit(3)", "Exit", "3"),
    ],
)
def test_no_escape_and_the_script_never_chooses_the_exit_code(source, kind, message):
    refused(source, kind, message)


# ------------------------------------------------------------------ 6. integer and string bombs
@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        ("9**9**9", "LimitError", "--max-int-bits"),
        ("10**10**10", "LimitError", "--max-int-bits"),
        ("1 << 10**9", "LimitError", "--max-int-bits"),
        ("(((9**64)**64)**64)**64", "LimitError", "--max-int-bits"),
        ("x = 7\nfor i in range(100):\n    x = x * x", "LimitError", "--max-int-bits"),
        ("x = " + "9" * 5000, "SyntaxError", "integer literal too large"),
        ("int('9' * 5000)", "ValueError", "Exceeds the limit (4300 digits)"),
        # power-of-two bases have no digit limit: a 40,000,000-bit int, then x // y ran for minutes
        ("x = int('f' * 10**7, 16)\nx // (x >> 20000000)", "LimitError",
         "an integer of about 40,000,000 bits is over the limit of 16,384 bits (--max-int-bits)"),
        ("'a' * 10**10", "LimitError", "--max-sequence"),
        ("[0] * 10**9", "LimitError", "--max-sequence"),
        ("s = 'ab'\nwhile True:\n    s += s", "LimitError", "--max-sequence"),
        ("'x'.zfill(10**10)", "LimitError", "--max-sequence"),
        # doubling by other means than + and *, each bounded only by --max-memory before
        ("l = [0] * 2**20\nfor i in range(4):\n    l[len(l):] = l", "LimitError", "16,777,216 elements"),
        ("l = [0] * 2**20\nfor i in range(4):\n    l = [*l, *l]", "LimitError", "16,777,216 elements"),
        ("l = (0,) * 2**20\nfor i in range(4):\n    l = (*l, *l)", "LimitError", "16,777,216 elements"),
        ("s = 'a' * 2**20\nfor i in range(4):\n    s = f'{s}{s}'", "LimitError", "16,777,216 elements"),
        ("s = 'a' * 2**20\nfor i in range(4):\n    s = '%s%s' % (s, s)", "LimitError", "16,777,220 elements"),
        ("s = 'a' * 2**20\nfor i in range(4):\n    s = '{}{}'.format(s, s)", "LimitError", "--max-sequence"),
    ],
)
def test_int_and_string_bombs_are_sized_before_computing(source, kind, message):
    refused(source, kind, message)


def test_doubling_checks_leave_ordinary_code_alone():
    source = ("l = [1, 2]\nl[1:1] = [3, 4]\nl[:] = 'ab'\n"
              "print(l, [*l, *'cd'], (*l,), f'{l}{1:>4}', '%s%d' % ('a', 2), "
              "'{}-{x}'.format(1, x='{}'.format(2)))")
    assert runs(source) == "['a', 'b'] ['a', 'b', 'c', 'd'] ('a', 'b') ['a', 'b']   1 a2 1-2\n"


def test_int_from_a_string_keeps_to_the_int_bits_flag():
    refused("int('1' * 100, 2)", "LimitError", "about 100 bits is over the limit of 64 bits",
            "--max-int-bits", "64")
    assert runs("print(int('1' * 64, 2).bit_length(), int('ff', 16), int(2.5), isinstance(True, int), int)",
                "--max-int-bits", "64") == "64 255 2 True <class 'int'>\n"


def test_int_bits_flag():
    refused("2 ** 100", "LimitError", "over the limit of 64 bits (--max-int-bits)", "--max-int-bits", "64")
    refused("'ab' * 60", "LimitError", "--max-sequence", "--max-sequence", "100")


# ------------------------------------------------------------------ 7. tensor bombs
@pytest.mark.parametrize(
    ("source", "kind", "message", "flags"),
    [
        ("torch.zeros(10**12)", "LimitError", "1,000,000,000,000 elements", ()),
        ("torch.ones(100000, 100000)", "LimitError", "10,000,000,000 elements", ()),
        ("x = torch.ones(1000)\nwhile True:\n    x = torch.cat([x, x])", "LimitError", "--max-elements",
         ("--max-elements", "1000000")),
        ("torch.ones(1000, 1000)", "LimitError", "--max-elements", ("--max-elements", "999999")),
        ("torch.ones(1000, 1000, dtype=torch.float64)", "LimitError", "(--max-tensor-bytes)",
         ("--max-tensor-bytes", "1M")),
        ("torch.zeros(-1)", "RuntimeError", "zeros: Dimension size must be non-negative.", ()),
        ("torch.zeros(2**63)", "TypeError", "Overflow when unpacking long long", ()),
        # an advanced index: 10**5 indices into rows of 10**4 made 10**9 elements past --max-elements
        ("x = torch.ones(10, 10**4)\nx[torch.zeros(10**5, dtype=torch.long)]", "LimitError",
         "a tensor of 1,000,000,000 elements is over the limit of 100,000,000 (--max-elements)", ()),
        ("x = torch.ones(10, 10**3)\nx[[0] * 10**4, None, :]", "LimitError",
         "a tensor of 10,000,000 elements", ("--max-elements", "1000000")),
    ],
)
def test_tensor_bombs_are_sized_before_allocating(source, kind, message, flags):
    refused(source, kind, message, *flags)


# A tensor with no elements costs nothing however long its other dimensions are, and an expanded view
# costs nothing however many elements it shows: what is made from them is sized before it is made.
SEQUENCE = "over the limit of 10,000,000 (--max-sequence)"
ELEMENTS = "1,000,000,000,000 elements is over the limit of 100,000,000 (--max-elements)"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = torch.zeros(10**12, 0)\nfor r in x:\n    pass", SEQUENCE),
        ("x = torch.zeros(10**12, 0)\nx.tolist()", SEQUENCE),
        ("x = torch.zeros(10**6, 10**6, 0)\nx.tolist()", SEQUENCE),
        ("x = torch.zeros(10**12, 0)\nlist(x)", SEQUENCE),
        ("x = torch.zeros(10**12, 0)\nx.unbind()", SEQUENCE),
        ("x = torch.zeros(0, 10**12)\ntorch.unbind(x, 1)", SEQUENCE),
        ("x = torch.zeros(10**12, 0)\nenumerate(x)", SEQUENCE),
        ("x = torch.zeros(10**12, 0)\ny = x.sum(1)", ELEMENTS),
        ("x = torch.zeros(10**12, 0)\ny = x.mean(1, keepdim=True)", ELEMENTS),
        ("x = torch.zeros(10**12, 0)\ny = x.prod(1)", ELEMENTS),
        ("x = torch.zeros(10**12, 0)\ny = x.std(1)", ELEMENTS),
        ("x = torch.zeros(10**12, 0)\ny = x.var(1)", ELEMENTS),
        ("x = torch.zeros(10**12, 0)\ny = x.norm(dim=1)", ELEMENTS),
        ("x = torch.zeros(10**12, 0)\ny = x.any(1)", ELEMENTS),
        ("x = torch.zeros(10**12, 0)\ny = torch.all(x, 1)", ELEMENTS),
        ("a = torch.zeros(10**6, 0)\nb = torch.zeros(0, 10**6)\nc = a @ b", ELEMENTS),
        ("a = torch.zeros(10**6, 0)\nc = a.mm(torch.zeros(0, 10**6))", ELEMENTS),
        ("a = torch.zeros(10**12, 0)\nc = a @ torch.zeros(0)", ELEMENTS),
        ("a = torch.zeros(10**12, 0)\nc = torch.mv(a, torch.zeros(0))", ELEMENTS),
        ("a = torch.zeros(100, 10**5, 0)\nc = a @ torch.zeros(100, 0, 10**5)", "(--max-elements)"),
        ("a = torch.zeros(10**6)\nc = torch.outer(a, a)", ELEMENTS),
        ("x = torch.ones(1).expand(10**6, 10**6)", ELEMENTS),
        ("x = torch.ones(1, 3).expand(10**5, 10**5, 3)\ny = x.contiguous()", "(--max-elements)"),
        ("x = torch.ones(1, 1).expand_as(torch.zeros(10**6, 10**6, 0).sum(2))", ELEMENTS),
        ("x = torch.broadcast_to(torch.ones(1), (10**6, 10**6))\ny = x.sum()", ELEMENTS),
        ("x = torch.randperm(10**12)", ELEMENTS),
        ("x = torch.arange(10**12)", ELEMENTS),
    ],
)
def test_results_of_empty_tensors_and_views_are_sized_before_allocating(source, message):
    refused(source, "LimitError", message)


def test_empty_tensors_with_long_dimensions_still_work():
    out = runs(
        "x = torch.zeros(10**12, 0, requires_grad=True)\n"
        "y = x.sum(0)\n"
        "y.sum().backward()\n"
        "print(y, x.grad.shape, x.softmax(1).shape, x.max(0).values.shape, torch.zeros(2, 0).tolist())\n"
        "print(torch.ones(1).expand(1000, 1000).sum(), len(torch.zeros(5, 0).tolist()))\n"
    )
    assert out == (
        "tensor([], grad_fn=<SumBackward1>) torch.Size([1000000000000, 0]) "
        "torch.Size([1000000000000, 0]) torch.Size([0]) [[], []]\n"
        "tensor(1000000.) 5\n"
    )


# ------------------------------------------------------------------ 8. time
@pytest.mark.parametrize(
    ("source", "flags", "message"),
    [
        ("while True:\n    pass", ("--max-steps", "100000"), "ran more than 100,000 steps (--max-steps)"),
        ("for i in range(10**12):\n    pass", ("--max-steps", "100000"), "(--max-steps)"),
        ("while True:\n    pass", ("--timeout", "0.3"), "ran longer than 0.3 s (--timeout)"),
        ("for i in range(10**12):\n    pass", ("--timeout", "0.3"), "(--timeout)"),
        # each step is slow: the clock is read often enough anyway
        ("x = torch.ones(10**6)\nfor i in range(10**6):\n    x = x * 1.0", ("--timeout", "0.3"), "--timeout"),
        # exponential recursion that never gets deep
        ("def f(n):\n    return n and f(n - 1) + f(n - 1)\nf(99)", ("--timeout", "0.3"), "--timeout"),
    ],
)
def test_step_budget_and_wall_clock(source, flags, message):
    refused(source, "LimitError", message, *flags)


# ------------------------------------------------------------------ 9. depth
@pytest.mark.parametrize(
    "source",
    [
        "(" * 100_000 + "1" + ")" * 100_000,
        "-" * 100_000 + "1",
        "+".join(["1"] * 100_000),
        "x = " + "[" * 100_000 + "]" * 100_000,
        "".join(" " * i + "if x:\n" for i in range(300)) + " " * 300 + "pass\n",
        "x = " + "lambda: " * 100_000 + "1",
    ],
    ids=["parentheses", "unary minus", "sum", "brackets", "blocks", "lambdas"],
)
def test_deep_nesting_gets_a_depth_limit(source):
    refused(source, "LimitError", "(limit 200, --max-depth)", line=1 if "if x" not in source else None)


def test_max_depth_stays_where_the_c_stack_is_safe():
    # a higher limit would let repr() of nested data recurse in C past the end of the stack (a SIGSEGV)
    result = CliRunner().invoke(main, ["eval", "--max-depth", "10000", "-"], input=b"", env=ENV)
    assert result.exit_code == 2 and "10<=x<=2000" in result.stderr
    refused("x = []\nfor i in range(100000):\n    x = [x]\nprint(x)", "RecursionError", "maximum recursion",
            "--max-depth", "2000")


def test_nesting_that_c_code_recurses_through_without_a_check():
    # hash() of nested tuples and iteration of nested map/zip/... have no recursion check in CPython
    deep = "t = ()\nfor i in range(100000):\n    t = (t,)\n"
    refused(deep + "d = {t: 1}", "RecursionError", "while hashing a tuple", line=4)
    refused("m = [1]\nfor i in range(100000):\n    m = map(abs, m)\nprint(list(m))", "RecursionError",
            "iterators (map, filter, zip, enumerate) nested more than 1,000 deep", line=3)


@pytest.mark.parametrize("make", ["map(abs, W(m))", "zip(W(m))", "filter(None, W(m))",
                                  "enumerate(iterable=W(m))"])
def test_a_chain_handed_back_by_a_script_iter_is_checked_too(make):
    # the arguments show no chain, but the real constructor calls W.__iter__, which returns one: a
    # 200,000-deep map then overflowed the C stack when iterated (SIGSEGV)
    source = ("class W:\n    def __init__(self, it):\n        self.it = it\n    def __iter__(self):\n"
              f"        return self.it\nm = iter_ = map(abs, [1])\nfor i in range(200000):\n    m = {make}\n"
              "print(list(m))")
    refused(source, "RecursionError", "nested more than 1,000 deep", line=8)
    assert runs("print(list(enumerate(iterable='ab', start=1)), list(zip([1], 'a', strict=True)))") == (
        "[(1, 'a'), (2, 'b')] [(1, 'a')]\n")


def test_recursion_is_the_scripts_recursion_error():
    source = "def f(n):\n    return f(n + 1)\nf(0)"
    refused(source, "RecursionError", "maximum recursion depth exceeded", line=2)
    refused(source, "RecursionError", "maximum recursion depth exceeded", "--max-call-depth", "10", line=2)
    # data nested deeper than Python's own recursion limit, then printed (repr recurses in C)
    source = "x = []\nfor i in range(100000):\n    x = [x]\nprint(x)"
    refused(source, "RecursionError", "maximum recursion depth exceeded")


# ------------------------------------------------------------------ 10. size
@pytest.mark.parametrize(
    "source",
    [
        b"x = '" + b"a" * 10_000_000 + b"'\n",
        b"x = 1\n" * 1_000_000,
        b"(" * 50_000_000,
    ],
    ids=["10 MB line", "a million statements", "50 MB of brackets"],
)
def test_source_size_is_checked_before_lexing(source):
    result, elapsed = gradcli(source)
    assert result.exit_code == 1 and elapsed < 1.0
    assert result.stderr.startswith("LimitError: the program is more than")
    assert "(--max-source-bytes)" in result.stderr


def test_an_oversize_file_is_refused_by_its_size_alone(tmp_path):
    path = tmp_path / "big.grad"
    with open(path, "wb") as fh:
        fh.truncate(10**12)  # a sparse terabyte: reading or copying it would take forever
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["eval", str(path)], env=ENV)
    assert time.perf_counter() - start < 1.0
    assert result.exit_code == 1
    assert result.stderr.startswith("LimitError: the program is 1,000,000,000,000 bytes, over the limit of")


# ------------------------------------------------------------------ 11. text
@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        (b"x = 1\0\n", "SyntaxError", "source code cannot contain null bytes"),
        (b"x = '\xff'\n", "SyntaxError", "'utf-8' codec can't decode byte 0xff in position 5"),
        (b"x = 1\ny = '\xed\xa0\x80'\n", "SyntaxError", "'utf-8' codec can't decode byte 0xed"),
        ("x\u202e = 1".encode(), "SyntaxError", "invalid non-printable character U+202E"),
        ("x = 1 \u2066+ 2".encode(), "SyntaxError", "invalid non-printable character U+2066"),
        (b"x\x1b[31m = 1", "SyntaxError", "invalid non-printable character U+001B"),
        (b"print('ok')\r\x1b[2J", "SyntaxError", "invalid non-printable character U+001B"),
        (b"x = '\x1b[2J' + 1", "TypeError", 'can only concatenate str (not "int") to str'),
        (b"raise ValueError('\x1b[2J\x07 \\x1b]0;title\\x07 \\u202e')", "ValueError", "\\x1b[2J\\x07"),
        (b"d = {}\nd['\\x1b[31m']", "KeyError", "'\\x1b[31m'"),
    ],
)
def test_text_problems_are_clean_errors_that_escape_control_characters(source, kind, message):
    refused(source, kind, message)


def test_text_python_accepts_runs():
    assert runs(b"\xef\xbb\xbfprint('bom')") == "bom\n"  # a UTF-8 BOM, as Python allows
    assert runs(b"x = 1\ry = 2\rprint(x + y)") == "3\n"  # lone CRs are line breaks, as in Python
    assert runs(b"x = 1\r\nprint(x)\r\n") == "1\n"
    # inside a string a control character is data (as in Python): printed as the script asked
    assert runs(b"s = '\x1b[1m'\nprint(len(s), len('\xe2\x80\xae'))") == "4 1\n"


# ------------------------------------------------------------------ 12. numerics (PyTorch's behaviour)
NUMERICS = [
    ("print(torch.tensor([1, 2]) // 0)", "RuntimeError: ZeroDivisionError"),
    ("print(torch.tensor([1, 2]) % 0)", "RuntimeError: ZeroDivisionError"),
    ("print(torch.tensor(5) // torch.tensor(0))", "RuntimeError: ZeroDivisionError"),
    ("print(torch.tensor([1., 0.]) / 0)", "tensor([inf, nan])"),
    ("print(torch.tensor([1, 2]) / 0)", "tensor([inf, inf])"),
    ("print(torch.tensor([1., 2.]) // 0)", "tensor([inf, inf])"),
    ("print(torch.log(torch.tensor(-1.)))", "tensor(nan)"),
    ("print(torch.sqrt(torch.tensor([-1., 4.])))", "tensor([nan, 2.])"),
    ("print(torch.tensor([2**62]) * 4)", "tensor([0])"),  # int64 wraps around, as in PyTorch
    ("print(torch.tensor([10]) ** 100)", "tensor([0])"),
    ("print(torch.tensor([-2**63]) // -1)", "tensor([-9223372036854775808])"),
    ("print(torch.exp(torch.tensor([1000.])))", "tensor([inf])"),
    ("print(1 / 0)", "ZeroDivisionError: division by zero"),
    ("print(1 // 0)", "ZeroDivisionError: integer division or modulo by zero"),
]


@pytest.mark.parametrize(("source", "expected"), NUMERICS)
def test_numerics_follow_pytorch(source, expected):
    result, _ = gradcli(source)
    if expected.endswith(")"):
        assert (result.exit_code, result.stdout) == (0, expected + "\n"), result.stderr
    else:
        assert result.exit_code == 1 and result.stderr.splitlines()[0] == expected


def test_numpys_warnings_stay_inside():
    result, _ = gradcli("print(torch.ones(0).mean(), torch.tensor([-1.]).log(), torch.ones(0, 2).var(0))")
    assert result.exit_code == 0
    assert result.stdout == "tensor(nan) tensor([nan]) tensor([nan, nan])\n"
    assert result.stderr == ""


@pytest.mark.oracle
@pytest.mark.parametrize(("source", "expected"), NUMERICS)
def test_numerics_expectations_are_pytorchs(torch, source, expected):
    from oracle import run_with_torch

    out, error = run_with_torch(torch, source)
    got = f"{type(error).__name__}: {error}" if error is not None else out.rstrip("\n")
    assert got == expected


# ------------------------------------------------------------------ the command line around the script
def test_an_internal_error_is_reported_as_one_without_a_traceback(monkeypatch):
    def broken(*args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr("gradcli.session.run", broken)
    result, _ = gradcli("x = 1")
    assert result.exit_code == 1
    assert result.stderr.startswith("gradcli: internal error: IndexError: list index out of range\n")
    assert "Traceback" not in result.stderr
    result, _ = gradcli("x = 1", "--debug")
    assert "Traceback" in result.stderr and "internal error" in result.stderr


def test_process_limits_are_left_alone_inside_another_program():
    # CliRunner stands for any host that calls main() in its own process: no rlimit, no watchdog thread
    before = resource.getrlimit(resource.RLIMIT_AS)
    threads = {t.name for t in __import__("threading").enumerate()}
    result, _ = gradcli("print(1)", "--max-memory", "64M", "--timeout", "5")
    assert result.exit_code == 0
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    assert "gradcli-watchdog" not in threads | {t.name for t in __import__("threading").enumerate()}
    with CliRunner().isolation():
        assert not cli._owns_the_process()


@pytest.mark.parametrize("command", [["eval"], ["graph", "-", "x"], ["repl"]])
def test_the_watchdog_forks_before_the_device_is_chosen(monkeypatch, command):
    # --device cuda starts CUDA's threads, and a fork after them is unsafe (Python 3.12 warned of it on the
    # GPU machine, in the middle of the script's output): the helper must be forked first
    calls = []
    monkeypatch.setattr(cli, "_owns_the_process", lambda: True)
    monkeypatch.setattr(cli, "address_space_limit", lambda budget: contextlib.nullcontext())
    monkeypatch.setattr(cli, "_start_helper", lambda child: calls.append("fork") or (0, 0))
    monkeypatch.setattr(cli, "_stop_helper", lambda helper: calls.append("stop"))
    monkeypatch.setattr(cli, "_use_device", lambda device: calls.append(f"device {device}"))
    monkeypatch.setattr("gradcli.repl.run_repl", lambda **kw: 0)
    result = CliRunner().invoke(main, [*command, "--device", "cuda", "--timeout", "5"], input=b"x = 1\n",
                                env=ENV)
    assert calls[:2] == ["fork", "device cuda"], (calls, result.output)


def test_size_flags_take_units():
    result = CliRunner().invoke(main, ["eval", "--max-memory", "lots", "-"], input=b"", env=ENV)
    assert result.exit_code == 2 and "'lots' is not a size" in result.stderr
    result = CliRunner().invoke(main, ["eval", "--max-tensor-bytes", "0", "-"], input=b"", env=ENV)
    assert result.exit_code == 2 and "must be more than 0" in result.stderr


@pytest.mark.parametrize("value", ["inf", "nan", "1e308"])
def test_a_timeout_past_what_the_clock_takes_is_a_usage_error(value):
    # (the watchdog's timer failed on them: "gradcli: internal error: OverflowError: timestamp out of range")
    result = CliRunner().invoke(main, ["eval", "--timeout", value, "-"], input=b"", env=ENV)
    assert result.exit_code == 2 and "Invalid value for '--timeout'" in result.stderr, result.stderr


def test_a_source_cut_short_is_reported_as_over_the_limit(tmp_path):
    path = tmp_path / "big.grad"
    path.write_bytes(b"x = 1\n" * 200_000)
    result = CliRunner().invoke(main, ["eval", str(path)], env=ENV)
    assert result.stderr.startswith("LimitError: the program is 1,200,000 bytes, over the limit of 1,000,000")
    result = CliRunner().invoke(main, ["eval", "-"], input=b"x = 1\n" * 200_000, env=ENV)
    assert result.stderr.startswith("LimitError: the program is more than the limit of 1,000,000 bytes")


# ------------------------------------------------------------------ through a real process
def spawn(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80", "PYTHONUNBUFFERED": "0"}
    env.pop("GRADCLI_DEVICE", None)
    return subprocess.Popen([sys.executable, "-m", "gradcli.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, **kwargs)


@pytest.mark.parametrize(
    "command",
    [["eval"], ["eval", "--no-table"], ["eval", "--format", "json"], ["graph", "{path}", "x"]],
    ids=["eval", "no-table", "json", "graph"],
)
def test_ctrl_c_exits_130_and_keeps_what_was_printed(tmp_path, command):
    path = tmp_path / "loop.grad"
    path.write_text("print('before', flush=True)\nx = torch.ones(2)\nwhile True:\n    y = 1\n")
    args = [a.replace("{path}", str(path)) for a in command]
    if "{path}" not in command:
        args.append(str(path))
    child = spawn(*args, "--timeout", "60")
    try:
        if command[0] == "eval" and "json" not in command:
            assert child.stdout.readline() == b"before\n"  # the loop is running now
        else:
            time.sleep(1.5)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=10)
    finally:
        child.kill()
    assert child.returncode == 130
    assert b"Traceback" not in err
    if "json" in command:
        doc = json.loads(out)
        assert doc["output"] == "before\n"
        assert doc["error"] == {"type": "KeyboardInterrupt", "message": "", "line": None, "column": None}
        assert doc["variables"]["x"]["value"] == [1.0, 1.0]
    else:
        assert err == b"KeyboardInterrupt\n"


@pytest.mark.parametrize(
    "source",
    [
        "for i in range(100000):\n    print(i)\n",  # the script's own print meets the closed pipe
        "print(0)\n" + "".join(f"t{i} = torch.ones(3)\n" for i in range(1500)),  # the table meets it
    ],
    ids=["print", "table"],
)
def test_a_closed_stdout_ends_quietly(tmp_path, source):
    path = tmp_path / "many.grad"
    path.write_text(source)
    child = spawn("eval", str(path))
    assert child.stdout.readline() == b"0\n"
    child.stdout.close()  # as `| head -1` does
    err = child.stderr.read()
    child.wait(timeout=30)
    assert err == b"", err.decode()
    assert child.returncode == 1


def test_max_memory_caps_many_allocations(tmp_path):
    path = tmp_path / "hog.grad"
    path.write_text("print('start')\nxs = []\nwhile True:\n    xs.append([0] * 10**7)\n")
    child = spawn("eval", "--max-memory", "400M", str(path))
    out, err = child.communicate(timeout=60)
    assert child.returncode == 1
    assert out.startswith(b"start\n")
    assert err.startswith(b"LimitError: the program needs more memory than the limit of 400 MiB (--max-memo")
    assert b"hog.grad:4:15" in err and b"Traceback" not in err


def test_max_memory_catches_tensors_numpy_would_allocate_lazily(tmp_path):
    path = tmp_path / "tensors.grad"
    path.write_text("xs = []\nfor i in range(100):\n    xs.append(torch.zeros(10**7))\n")
    child = spawn("eval", "--max-memory", "300M", str(path))
    out, err = child.communicate(timeout=60)
    assert child.returncode == 1, err
    assert b"(--max-memory)" in err and b"tensors.grad:3:15" in err


def test_the_engine_and_parser_run_under_a_small_memory_cap():
    # numpy, lark and the renderers are imported and used inside the cap
    child = spawn("eval", "--max-memory", "32M", "examples/scalar_gradients.grad",
                  cwd=os.path.join(os.path.dirname(__file__), ".."))
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err.decode()
    assert b"tensor([5.])" in out and b"MulBackward0" in out


def test_watchdog_stops_exponential_work_inside_one_builtin(tmp_path):
    # `x = (x, x)` shares each level twice: repr() of it does 2**60 steps inside one C call, which no
    # step count sees. Python itself would hang; the watchdog ends it at --timeout plus a grace period.
    path = tmp_path / "shared.grad"
    path.write_text("x = ()\nfor i in range(60):\n    x = (x, x)\nprint('built')\nprint(len(repr(x)))\n")
    start = time.perf_counter()
    child = spawn("eval", "--timeout", "0.5", str(path))
    out, err = child.communicate(timeout=60)
    assert time.perf_counter() - start < 10
    assert (child.returncode, out) == (1, b"built\n")
    assert err.startswith(b"LimitError: the program ran longer than 0.5 s (--timeout)"), err


def test_watchdog_stops_one_operation_that_outlasts_the_timeout(tmp_path):
    path = tmp_path / "matmul.grad"
    path.write_text("print('before')\na = torch.ones(10000, 10000)\nb = a @ a @ a @ a\n")
    start = time.perf_counter()
    child = spawn("eval", "--timeout", "0.2", str(path))
    out, err = child.communicate(timeout=60)
    assert time.perf_counter() - start < 10
    assert child.returncode == 1
    assert out == b"before\n"
    assert err.startswith(b"LimitError: the program ran longer than 0.2 s (--timeout)"), err


def test_the_json_document_is_made_under_the_memory_cap(tmp_path):
    # the run holds 200 MB of lazily allocated zeros; their JSON values took 7 GB and a minute to write,
    # after the run's limits were lifted (ten such tensors would take 35 GB)
    path = tmp_path / "big.grad"
    path.write_text("print('ran')\na = torch.zeros(10**8, dtype=torch.bool)\nb = torch.zeros(10**8)\n")
    start = time.perf_counter()
    child = spawn("eval", "--format", "json", "--max-memory", "1G", str(path))
    out, err = child.communicate(timeout=60)
    assert time.perf_counter() - start < 20
    assert child.returncode == 1 and err == b"", err
    doc = json.loads(out)
    assert doc["output"] == "ran\n" and doc["variables"] == {}
    assert doc["error"]["type"] == "LimitError"
    assert doc["error"]["message"] == (
        "the JSON document of the program's tensors needs more memory than the limit of 1 GiB (--max-memory)")


def test_the_graph_export_runs_under_the_timeout(tmp_path):
    # the dot text of a long graph takes about twice as long as the run that built it, and ran after the
    # watchdog was gone: here an export that never ends is stopped at --timeout like the run
    path = tmp_path / "graph.grad"
    path.write_text("x = torch.ones(1, requires_grad=True)\ny = x * 2\n")
    slow = ("import sys, time\nfrom gradcli import cli, render\n"
            "render.export_graph = lambda *args, **kwargs: time.sleep(600)\n"
            "sys.argv = ['gradcli', 'graph', '--timeout', '0.5', sys.argv[1], 'y']\ncli.entry()\n")
    start = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", slow, str(path)], capture_output=True, timeout=60,
                           cwd=os.path.join(os.path.dirname(__file__), ".."))
    assert time.perf_counter() - start < 10
    assert child.returncode == 1 and child.stdout == b""
    assert child.stderr.startswith(b"LimitError: the program ran longer than 0.5 s (--timeout)"), child.stderr


def test_the_repl_keeps_to_max_memory():
    # the flag was accepted and ignored: a piped session took 1.2 GB under --max-memory 512M
    child = spawn("repl", "--max-memory", "512M", stdin=subprocess.PIPE)
    lines = b"l = [torch.zeros(10**8) + 1 for i in range(3)]\nprint('after')\n"
    out, err = child.communicate(lines, timeout=60)
    assert child.returncode == 1 and out == b"after\n", (out, err)
    assert err.startswith(b"LimitError: the program needs more memory than the limit of 512 MiB (--max-mem")


@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        # (-1) ** 0.5 is a complex number: the clamp made a complex128 tensor, and the table and the JSON
        # document then failed with "gradcli: internal error"
        ("x = torch.ones(2, dtype=torch.int64).clamp((-1) ** 0.5)", "RuntimeError",
         "clamp is not supported for complex types"),
        ("x = torch.ones(2, dtype=torch.int64).clamp(min=[0.5, 3])", "TypeError",
         "clamp() received an invalid combination of arguments - got (Tensor, list)"),
        ("x = torch.clamp_max(torch.ones(2), [(-1) ** 0.5])", "TypeError",
         "clamp_max() received an invalid combination of arguments - got (Tensor, list)"),
        ("x = torch.ones(2).clamp('a')", "TypeError", "clamp() received an invalid combination of arguments"),
        ("x = torch.ones(2).clamp_(max='a')", "TypeError", "clamp_() received an invalid combination"),
    ],
)
def test_clamp_takes_numbers_and_tensors_only(source, kind, message):
    refused(source, kind, message)
    result = CliRunner().invoke(main, ["eval", "--format", "json", "-"], input=source, env=ENV)
    assert result.exit_code == 1 and json.loads(result.stdout)["error"]["type"] == kind


def test_the_repl_keeps_to_the_timeout_inside_one_operation():
    # the REPL had no watchdog: repr() of shared nested tuples (2**60 steps inside one C call) hung the
    # session past --timeout; now the session ends as `eval` would, with what it printed before
    child = spawn("repl", "--timeout", "0.5", stdin=subprocess.PIPE)
    lines = b"x = ()\nfor i in range(60):\n    x = (x, x)\n\nprint('built')\nprint(len(repr(x)))\nprint(1)\n"
    start = time.perf_counter()
    try:
        out, err = child.communicate(lines, timeout=30)
    finally:
        child.kill()
    assert time.perf_counter() - start < 10
    assert (child.returncode, out) == (1, b"built\n"), err
    assert err.startswith(b"LimitError: the program ran longer than 0.5 s (--timeout)"), err
