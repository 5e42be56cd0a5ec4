"""The variables table and the JSON document: golden tables at 80 columns with colour off, tables that fit
any width, colour rules, and JSON that validates against the shipped schema and round-trips every float."""

from __future__ import annotations

import io
import json
import math
import pathlib
import re
import subprocess
import sys
import textwrap
from importlib import resources

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradcli import __version__, render
from gradcli.session import RunResult, run
from gradcli.tensor import Tensor

SEED = """
import torch
w = torch.tensor([1.], requires_grad=True)
x = torch.tensor([2.], requires_grad=True)
a = torch.add(w, x)
b = torch.add(w, 1)
y = torch.mul(a, b)
y.backward()
"""

KINDS = """
import torch
from torch.autograd import Function

class Twice(Function):
    @staticmethod
    def forward(ctx, i):
        return i * 2
    @staticmethod
    def backward(ctx, g):
        return g * 2

n = 3
names = ["a", "b"]
s = torch.tensor(2.5)
i = torch.arange(5)
i32 = torch.tensor([1, -2], dtype=torch.int32)
flags = torch.tensor([True, False])
d = torch.tensor([[1.5, -2.25], [0.1, 1e-8]], dtype=torch.float64, requires_grad=True)
e = torch.zeros(0, 3)
m = torch.ones(40, 1) * torch.arange(50.)
v = torch.linspace(0, 1, 12)
bad = torch.tensor([float("nan"), float("inf"), -float("inf"), 0.1])
loss = (d * d).sum()
loss.backward()
"""


def variables(source: str) -> dict:
    result = run(textwrap.dedent(source), out=io.StringIO())
    assert result.error is None, result.error.render()
    return result.variables


def table(source_or_vars, names=None, width=80, color=False) -> str:
    values = variables(source_or_vars) if isinstance(source_or_vars, str) else source_or_vars
    out = io.StringIO()
    render.print_variables(values, names=names, color=color, file=out, width=width)
    return out.getvalue()


def tensor(values, dtype="float32") -> Tensor:
    return Tensor._make(np.asarray(values, dtype=dtype))


SCHEMA = json.loads(resources.files("gradcli").joinpath("schema.json").read_text())


# ------------------------------------------------------------------ golden tables
def test_seed_table():
    assert table(SEED) == textwrap.dedent("""\
                                     requires  is
        name  value  shape  dtype    grad      leaf   grad_fn       grad
        ────────────────────────────────────────────────────────────────
        w     [1.]   [1]    float32  True      True   —             [5.]
        x     [2.]   [1]    float32  True      True   —             [2.]
        a     [3.]   [1]    float32  True      False  AddBackward0  None
        b     [2.]   [1]    float32  True      False  AddBackward0  None
        y     [6.]   [1]    float32  True      False  MulBackward0  None
        """)


def test_table_of_every_kind_of_tensor_at_80_columns():
    # Numbers, lists and Function classes are not rows; large values are shortened to their column.
    assert table(KINDS) == textwrap.dedent("""\
                                               requires  is
        name   value        shape     dtype    grad      leaf   grad_fn       grad
        ────────────────────────────────────────────────────────────────────────────────
        s      2.5000       []        float32  False     True   —             None
        i      [0, 1, 2,    [5]       int64    False     True   —             None
                3, 4]
        i32    [ 1, -2]     [2]       int32    False     True   —             None
        flags  [ True,      [2]       bool     False     True   —             None
                False]
        d      [[ 1.5000e…  [2, 2]    float64  True      True   —             [[ 3.0000…
                [ 1.0000e…                                                     [ 2.0000…
        e      []           [0, 3]    float32  False     True   —             None
        m      [[ 0.,  1.…  [40, 50]  float32  False     True   —             None
                [ 0.,  1.…
                [ 0.,  1.…
                …
        v      [0.0000,     [12]      float32  False     True   —             None
                0.0909,
                0.1818,
                …
        bad    [   nan,     [4]       float32  False     True   —             None
                   inf,
                  -inf,
                0.1000]
        loss   7.3225       []        float64  True      False  SumBackward0  None
        """)


def test_wide_screen_shows_whole_values():
    text = table(KINDS, names=["v", "d"], width=200)
    whole = ", ".join(f"{k / 11:.4f}" for k in range(12))
    assert f"[{whole}]" in text
    assert "[[ 1.5000e+00, -2.2500e+00]," in text
    assert "[[ 3.0000e+00, -4.5000e+00]," in text  # the grad, in full as well


@pytest.mark.parametrize("width", [40, 60, 72, 80, 100, 132, 200])
def test_table_fits_the_width(width):
    for line in table(KINDS, width=width).splitlines():
        assert len(line) <= width, line
        assert line == line.rstrip(), "no trailing padding"


def test_vars_chooses_and_orders_rows_and_says_what_it_cannot_show():
    text = table(KINDS, names=["loss", "nope", "n", "d", "loss"])
    rows = [line.split()[0] for line in text.splitlines()[3:] if line and not line.startswith(" ")]
    assert rows == ["loss", "d", "nope:"]
    assert text.rstrip().endswith("nope: not defined; n: a int, not a tensor")


def test_no_tensors_no_table():
    assert table("n = 1\nnames = [1, 2]\n") == ""


def test_failed_run_shows_what_existed():
    result = run("import torch\nx = torch.ones(2, requires_grad=True)\ny = x * 2\nz = y + nope\n",
                 out=io.StringIO())
    assert result.error is not None
    text = table(result.variables)
    assert [line.split()[0] for line in text.splitlines()[3:]] == ["x", "y"]


# ------------------------------------------------------------------ colour
def test_leaves_and_computed_tensors_look_different():
    text = table(SEED, color=True)
    # Each row starts with the name in its style: {name: escape sequence}.
    style_of = dict(m.group(2, 1) for m in re.finditer(r"^(\x1b\[[0-9;]*m)(\w+) *\x1b\[0m", text, re.M))
    assert set(style_of) == {"name", "w", "x", "a", "b", "y"}  # the header, then the rows
    assert style_of["w"] == style_of["x"]  # leaves that require grad
    assert style_of["a"] == style_of["b"] == style_of["y"]  # computed
    assert style_of["w"] != style_of["a"]


def test_colour_off_writes_no_escape_codes():
    assert "\x1b" not in table(SEED, color=False) + table(KINDS, color=False)


class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


@pytest.mark.parametrize(
    ("color", "tty", "env", "expected"),
    [
        (None, True, {}, True),
        (None, False, {}, False),
        (None, True, {"NO_COLOR": "1"}, False),
        (None, True, {"NO_COLOR": ""}, True),  # no-color.org: set *and not empty*
        (None, False, {"FORCE_COLOR": "1"}, True),
        (True, False, {"NO_COLOR": "1"}, True),  # an explicit --color wins
        (False, True, {"FORCE_COLOR": "1"}, False),
    ],
)
def test_when_to_colour(monkeypatch, color, tty, env, expected):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert render.use_color(color, _Stream(tty)) is expected


def test_terminal_gets_colour_by_default(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    out = _Stream(True)
    render.print_variables(variables(SEED), file=out, width=80)
    assert "\x1b[" in out.getvalue()


# ------------------------------------------------------------------ value text
@pytest.mark.parametrize(
    "values",
    [[1.0, 2.0], 3.25, [[1.5, -2.0], [1e-8, 4.0]], list(range(30)), [[0.001 * i for i in range(13)]] * 3,
     np.arange(2000.0).tolist(), [True, False]],
)
def test_tensor_body_is_the_repr_without_prefix_and_suffixes(values):
    t = tensor(values, "bool" if values == [True, False] else "float32")
    body = render.tensor_body(t)
    assert repr(t) == "tensor(" + body.replace("\n", "\n       ") + ")"


def test_tensor_body_drops_the_dtype_suffix():
    assert render.tensor_body(tensor([1, 2], "int32")) == "[1, 2]"
    assert render.tensor_body(tensor([1.5], "float64")) == "[1.5000]"
    assert render.tensor_body(tensor(np.zeros((0, 3)))) == "[]"


def test_shorten_rewraps_vectors_between_elements():
    body = render.tensor_body(tensor(np.linspace(0, 1, 12)))
    assert render.shorten(body, 1, 40, max_lines=10) == [
        "[0.0000, 0.0909, 0.1818, 0.2727, 0.3636,",
        " 0.4545, 0.5455, 0.6364, 0.7273, 0.8182,",
        " 0.9091, 1.0000]",
    ]
    assert render.shorten(body, 1, 20, max_lines=3) == ["[0.0000, 0.0909,", " 0.1818, 0.2727,", " …"]


def test_shorten_keeps_matrix_rows_and_cuts_them():
    body = render.tensor_body(tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    assert render.shorten(body, 2, 80) == ["[[1., 2., 3.],", " [4., 5., 6.]]"]
    assert render.shorten(body, 2, 8) == ["[[1., 2…", " [4., 5…"]


# ------------------------------------------------------------------ JSON
def document(source: str, names=None, output="") -> dict:
    result = run(textwrap.dedent(source), out=io.StringIO())
    text = render.result_to_json(result, output=output, names=names)
    doc = json.loads(text)
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_schema_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_json_of_the_seed_value_by_value():
    doc = document(SEED, output="tensor([5.])\n")
    assert doc["gradcli_version"] == __version__
    assert doc["format_version"] == 1
    assert doc["output"] == "tensor([5.])\n"
    assert doc["error"] is None
    assert list(doc["variables"]) == ["w", "x", "a", "b", "y"]
    assert doc["variables"]["w"] == {"value": [1.0], "shape": [1], "dtype": "float32", "requires_grad": True,
                                     "is_leaf": True, "grad_fn": None, "grad": [5.0]}
    assert doc["variables"]["x"]["grad"] == [2.0]
    assert doc["variables"]["y"] == {"value": [6.0], "shape": [1], "dtype": "float32", "requires_grad": True,
                                     "is_leaf": False, "grad_fn": "MulBackward0", "grad": None}


def test_json_of_every_kind_of_tensor():
    doc = document(KINDS)
    tensors = doc["variables"]
    assert list(tensors) == ["s", "i", "i32", "flags", "d", "e", "m", "v", "bad", "loss"]
    assert tensors["s"]["value"] == 2.5 and tensors["s"]["shape"] == []
    assert tensors["i"]["value"] == [0, 1, 2, 3, 4] and tensors["i"]["dtype"] == "int64"
    assert tensors["i32"] == {"value": [1, -2], "shape": [2], "dtype": "int32", "requires_grad": False,
                              "is_leaf": True, "grad_fn": None, "grad": None}
    assert tensors["flags"]["value"] == [True, False]
    assert tensors["d"]["value"] == [[1.5, -2.25], [0.1, 1e-8]]  # float64: exactly the script's literals
    assert tensors["d"]["grad"] == [[3.0, -4.5], [0.2, 2e-8]]
    assert tensors["e"]["value"] == [] and tensors["e"]["shape"] == [0, 3]
    assert len(tensors["m"]["value"]) == 40 and tensors["m"]["value"][7][49] == 49.0  # never summarised
    assert tensors["bad"]["value"] == ["nan", "inf", "-inf", 0.10000000149011612]
    assert tensors["loss"]["grad_fn"] == "SumBackward0"


def test_json_error_and_what_existed():
    doc = document("import torch\nx = torch.ones(2)\nprint('hi')\ny = x + nope\n", output="hi\n")
    assert doc["error"] == {"type": "NameError", "message": "name 'nope' is not defined", "line": 4,
                            "column": 9}
    assert list(doc["variables"]) == ["x"]


def test_json_vars_filter():
    assert list(document(KINDS, names=["loss", "d", "n", "missing"])["variables"]) == ["loss", "d"]


def test_json_layout_keeps_each_array_on_one_line():
    text = render.result_to_json(RunResult(variables={"m": tensor(np.ones((3, 4)))}))
    lines = text.splitlines()
    assert '      "value": [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]],' in lines
    assert lines[0] == "{" and lines[-1] == "}"


def test_json_never_writes_nan_or_infinity_literals():
    text = render.result_to_json(RunResult(variables={"t": tensor([math.nan, -math.inf, math.inf])}))
    json.loads(text, parse_constant=lambda name: pytest.fail(f"invalid JSON constant {name}"))
    assert json.loads(text)["variables"]["t"]["value"] == ["nan", "-inf", "inf"]


def _round_trip(array: np.ndarray) -> np.ndarray:
    text = render.result_to_json(RunResult(variables={"t": Tensor._make(array)}))
    back = json.loads(text)["variables"]["t"]["value"]
    return np.array(back, dtype=array.dtype).reshape(array.shape)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    nan = np.isnan(a)
    bits = f"u{a.itemsize}"
    return bool((np.isnan(b) == nan).all() and (a[~nan].view(bits) == b[~nan].view(bits)).all())


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
                  elements=st.floats(width=32, allow_nan=True, allow_infinity=True)))
def test_float32_round_trips_bit_for_bit(array):
    assert _same_bits(array, _round_trip(array))


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float16, hnp.array_shapes(max_dims=2), elements=st.floats(width=16)))
def test_float16_round_trips(array):
    assert _same_bits(array, _round_trip(array))


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2), elements=st.floats(width=64)))
def test_float64_round_trips(array):
    assert _same_bits(array, _round_trip(array))


def test_float32_extremes_round_trip():
    info = np.finfo(np.float32)
    array = np.array([info.max, -info.max, info.tiny, info.smallest_subnormal, -0.0, 0.1, 1 / 3, 16777217.0],
                     dtype=np.float32)
    assert _same_bits(array, _round_trip(array))
    assert json.loads(render.result_to_json(RunResult(variables={"t": Tensor._make(array)})))[
        "variables"]["t"]["value"][4] == 0.0  # -0.0, written "-0.0"
    assert '-0.0' in render.result_to_json(RunResult(variables={"t": Tensor._make(array)}))


@pytest.mark.oracle
def test_json_values_equal_pytorchs_tolist(torch):
    rng = np.random.default_rng(4)
    data = rng.standard_normal((3, 5)).astype(np.float32) * np.float32(1e3)
    ours = json.loads(render.result_to_json(RunResult(variables={"t": Tensor._make(data)})))
    assert ours["variables"]["t"]["value"] == torch.from_numpy(data).tolist()


def test_json_does_not_import_rich():
    code = textwrap.dedent("""
        import io, sys
        from gradcli.session import run
        from gradcli import render
        result = run("import torch\\nx = torch.ones(2, requires_grad=True)\\n", out=io.StringIO())
        render.result_to_json(result, output="")
        assert not any(m == "rich" or m.startswith("rich.") for m in sys.modules), "rich was imported"
    """)
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ every example
EXAMPLES = sorted((pathlib.Path(__file__).resolve().parent.parent / "examples").glob("*.grad"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_renders(path):
    """Whatever the example leaves behind (even if it fails part way): a table that fits 80 columns, a
    valid JSON document, and a graph in each format for every tensor that has one."""
    result = run(path.read_text(), out=io.StringIO(), filename=str(path))
    assert all(len(line) <= 80 for line in table(result.variables).splitlines())
    jsonschema.validate(json.loads(render.result_to_json(result)), SCHEMA)
    for name, value in result.variables.items():
        if isinstance(value, Tensor) and (value.requires_grad or value.grad_fn is not None):
            for fmt in ("text", "dot", "mermaid"):
                assert render.export_graph(result.variables, name, fmt, width=80)
