"""format_tensor must print what repr(torch_tensor) prints, byte for byte (PyTorch 2.13, default options)."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradcli.backend import host as np
from gradcli.formatting import dtype_name, format_tensor

pytestmark = pytest.mark.oracle

NAN = float("nan")
INF = float("inf")


def ours(t, **kwargs) -> str:
    grad_fn = t.grad_fn
    return format_tensor(
        t.detach().numpy(),
        grad_fn_name=type(grad_fn).__name__ if grad_fn is not None else None,
        requires_grad=t.requires_grad,
        **kwargs,
    )


def assert_same(torch, t, **kwargs) -> None:
    expected = repr(t)
    got = ours(t, **kwargs)
    assert got == expected, f"\nexpected:\n{expected}\ngot:\n{got}"


def _arange(torch, n, **kw):
    return torch.arange(n, **kw)


def _rand(torch, *shape, scale=1.0, dtype=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype) * scale


# name -> builder(torch) -> tensor
CASES = {
    # scalars
    "0d-int-valued": lambda T: T.tensor(5.0),
    "0d-frac": lambda T: T.tensor(0.5),
    "0d-neg": lambda T: T.tensor(-2.25),
    "0d-zero": lambda T: T.tensor(0.0),
    "0d-negzero": lambda T: T.tensor(-0.0),
    "0d-nan": lambda T: T.tensor(NAN),
    "0d-inf": lambda T: T.tensor(INF),
    "0d-ninf": lambda T: T.tensor(-INF),
    "0d-tiny": lambda T: T.tensor(1e-5),
    "0d-huge": lambda T: T.tensor(1e8),
    "0d-huger": lambda T: T.tensor(1.5e9),
    "0d-int-valued-over-1e8": lambda T: T.tensor(123456789.0, dtype=T.float64),
    "0d-int": lambda T: T.tensor(7),
    "0d-int-neg": lambda T: T.tensor(-7),
    "0d-bool": lambda T: T.tensor(True),
    "0d-f64": lambda T: T.tensor(3.14159, dtype=T.float64),
    "0d-i32": lambda T: T.tensor(3, dtype=T.int32),
    "0d-u8": lambda T: T.tensor(255, dtype=T.uint8),
    "0d-f16": lambda T: T.tensor(0.1, dtype=T.float16),
    # 1-d
    "1d-basic": lambda T: T.tensor([1.5, -2.25]),
    "1d-int-valued": lambda T: T.tensor([1.0, 2.0]),
    "1d-int-valued-neg": lambda T: T.tensor([-1.0, 20.0, 300.0]),
    "1d-neg-align": lambda T: T.tensor([-1.5, 2.0, -30.25, 4.125]),
    "1d-sci-small": lambda T: T.tensor([1e-5, 1.0]),
    "1d-sci-big": lambda T: T.tensor([1e8, 1e9]),
    "1d-sci-ratio": lambda T: T.tensor([1.0, 1001.0]),
    "1d-no-sci-ratio": lambda T: T.tensor([1.0, 1000.0]),
    "1d-sci-mixed": lambda T: T.tensor([1e-5, -3.0, 2e10, 0.0]),
    "1d-sci-int-valued": lambda T: T.tensor([1e10, 2.0]),
    "1d-nan-inf": lambda T: T.tensor([NAN, INF, -INF, 1.5]),
    "1d-nan-int": lambda T: T.tensor([NAN, 1.0, -INF]),
    "1d-only-nonfinite": lambda T: T.tensor([NAN, INF, -INF]),
    "1d-zeros": lambda T: T.zeros(4),
    "1d-negzero": lambda T: T.tensor([-0.0, 1.0]),
    "1d-negzero-frac": lambda T: T.tensor([-0.0, 1.5]),
    "1d-negzero-sci": lambda T: T.tensor([-0.0, 1e-7]),
    "1d-rounding": lambda T: T.tensor([9.99996, 0.5]),
    "1d-rounding-sci": lambda T: T.tensor([9.99996e-6, 0.5]),
    "1d-1e-4-boundary": lambda T: T.tensor([1e-4, 0.01]),
    "1d-f32-1e-4": lambda T: T.tensor([1e-4]),
    "1d-large-ints": lambda T: T.tensor([2**62, -5, 3]),
    "1d-int-neg": lambda T: T.tensor([-1, 10, -100]),
    "1d-int-min": lambda T: T.tensor([-(2**63), 2**63 - 1]),
    "1d-bool": lambda T: T.tensor([True, False, True]),
    "1d-i32": lambda T: T.tensor([1, -2, 3], dtype=T.int32),
    "1d-u8": lambda T: T.arange(40, dtype=T.uint8),
    "1d-f64": lambda T: T.tensor([0.1, 0.2], dtype=T.float64),
    "1d-f64-sci": lambda T: T.tensor([1e-300, 1e300], dtype=T.float64),
    "1d-f64-denormal": lambda T: T.tensor([5e-324, 1.0], dtype=T.float64),
    "1d-f32-denormal": lambda T: T.tensor([1e-45, -1.0]),
    "1d-f32-max": lambda T: T.tensor([3.4028234663852886e38, 1.0]),
    "1d-f16": lambda T: T.tensor([0.1, 65504.0, -2.0], dtype=T.float16),
    "1d-wrap": lambda T: _rand(T, 30),
    "1d-wrap-int": lambda T: _arange(T, 50),
    "1d-wrap-sci": lambda T: _rand(T, 25, scale=1e6),
    "1d-wrap-bool": lambda T: _arange(T, 40) % 3 == 0,
    "1d-exact-line": lambda T: T.arange(18) * 10,
    "1d-1000": lambda T: _rand(T, 1000),
    "1d-1001": lambda T: T.arange(1001.0),
    "1d-1001-int": lambda T: T.arange(1001),
    "1d-summarised-nan": lambda T: T.cat([T.tensor([NAN]), T.arange(2000.0) / 7, T.tensor([-INF])]),
    "1d-summarised-hidden-sci": lambda T: T.cat([T.ones(3), T.full((1000,), 1e-9), T.ones(3) * 2.5]),
    # 2-d
    "2d-int": lambda T: T.tensor([[1, 2], [3, 4]]),
    "2d-float": lambda T: T.tensor([[1.5, -2.0], [3.25, 400.0]]),
    "2d-rand": lambda T: _rand(T, 4, 5),
    "2d-wide-rows": lambda T: _rand(T, 3, 20),
    "2d-col": lambda T: _rand(T, 5, 1),
    "2d-row": lambda T: _rand(T, 1, 5),
    "2d-40x40": lambda T: _rand(T, 40, 40),
    "2d-3x400": lambda T: _rand(T, 3, 400),
    "2d-400x3": lambda T: _rand(T, 400, 3),
    "2d-int-40x40": lambda T: T.arange(1600).reshape(40, 40),
    "2d-bool-40x40": lambda T: T.arange(1600).reshape(40, 40) % 2 == 0,
    "2d-sci-40x40": lambda T: _rand(T, 40, 40, scale=1e-6),
    # 3-d, 4-d
    "3d": lambda T: _rand(T, 2, 3, 4),
    "3d-int": lambda T: T.arange(24).reshape(2, 3, 4),
    "3d-10x10x11": lambda T: _rand(T, 10, 10, 11),
    "3d-int-10x10x11": lambda T: T.arange(1100).reshape(10, 10, 11),
    "3d-wide": lambda T: _rand(T, 2, 2, 15),
    "4d": lambda T: _rand(T, 2, 2, 2, 3),
    "4d-summarised": lambda T: _rand(T, 7, 8, 3, 9),
    "4d-summarised-f64": lambda T: _rand(T, 9, 2, 8, 10, dtype=T.float64),
    "5d": lambda T: T.arange(32.0).reshape(2, 2, 2, 2, 2),
    # empty
    "empty-0": lambda T: T.zeros(0),
    "empty-0x3": lambda T: T.zeros(0, 3),
    "empty-2x0x1": lambda T: T.zeros(2, 0, 1),
    "empty-int": lambda T: T.zeros(0, dtype=T.int64),
    "empty-int-2d": lambda T: T.zeros(3, 0, dtype=T.int64),
    "empty-bool": lambda T: T.zeros(0, dtype=T.bool),
    "empty-f64": lambda T: T.zeros(0, dtype=T.float64),
    "empty-i32": lambda T: T.zeros(0, 2, dtype=T.int32),
    "empty-u8": lambda T: T.zeros(0, dtype=T.uint8),
    "empty-requires-grad": lambda T: T.zeros(0, 3, dtype=T.float64, requires_grad=True),
    # autograd suffixes
    "leaf": lambda T: T.tensor([1.0, 2.0], requires_grad=True),
    "leaf-f64": lambda T: T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True),
    "leaf-0d": lambda T: T.tensor(3.0, requires_grad=True),
    "grad-fn-exp": lambda T: T.tensor([1.0], requires_grad=True).exp(),
    "grad-fn-sum": lambda T: (T.tensor([1.0, 2.0], requires_grad=True) * 3).sum(),
    "grad-fn-f64": lambda T: T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True) + 1,
    "grad-fn-wide": lambda T: _rand(T, 4, 9).requires_grad_().tanh(),
    "grad-fn-suffix-wraps": lambda T: _rand(T, 7, dtype=T.float64).requires_grad_() * 2,
    "grad-fn-suffix-fits": lambda T: _rand(T, 5, dtype=T.float64).requires_grad_() * 2,
    "grad-fn-summarised": lambda T: _rand(T, 40, 40, dtype=T.float64).requires_grad_().sin(),
    "suffix-wraps-one-line": lambda T: T.tensor([123456.5, 1.0, 2.0, 3.0, 4.0], dtype=T.float64),
    "suffix-wraps-exact": lambda T: T.arange(10.0, dtype=T.float64) * 1000 + 0.5,
}


@pytest.mark.parametrize("name", list(CASES))
def test_case(torch, name):
    assert_same(torch, CASES[name](torch))


def test_wrap_boundaries(torch):
    # rows of every length around the wrapping points, for a few column widths and depths
    for n in range(1, 40):
        for scale in (1.0, 100.0, 1e5):
            t = torch.arange(n, dtype=torch.float64) * scale + 0.25
            assert_same(torch, t)
            assert_same(torch, t.reshape(1, 1, n))
            assert_same(torch, t.to(torch.float32).requires_grad_() * 1)
        assert_same(torch, torch.arange(n) * 1001)


def test_device_suffix(torch):
    assert format_tensor(np.array([0.1, 0.2], dtype=np.float32), device="cuda:0") == (
        "tensor([0.1000, 0.2000], device='cuda:0')"
    )
    assert format_tensor(np.array(1.0, dtype=np.float64), device="cuda:0", requires_grad=True) == (
        "tensor(1., device='cuda:0', dtype=torch.float64, requires_grad=True)"
    )
    assert format_tensor(np.zeros((0, 2), dtype=np.int64), device="cuda:0") == (
        "tensor([], device='cuda:0', size=(0, 2), dtype=torch.int64)"
    )
    # the wrapping of the suffixes follows torch's own rule (checked through its helper)
    from torch._tensor_str import _add_suffixes, _tensor_str

    for t in (torch.arange(9.0) + 0.5, torch.arange(10.0) + 0.5, torch.arange(16.0).reshape(2, 8) + 0.5):
        suffixes = ["device='cuda:0'", "grad_fn=<MulBackward0>"]
        expected = _add_suffixes("tensor(" + _tensor_str(t, 7), suffixes, 7, False)
        got = format_tensor(t.numpy(), device="cuda:0", grad_fn_name="MulBackward0")
        assert got == expected


DEFAULT_F64_CASES = {
    "f64": lambda T: T.tensor([1.0, 2.5], dtype=T.float64),
    "f32": lambda T: T.tensor([1.0, 2.5], dtype=T.float32),
    "f32-0d": lambda T: T.tensor(2.0, dtype=T.float32),
    "f16": lambda T: T.tensor([1.0, 2.5], dtype=T.float16),
    "int": lambda T: T.tensor([1, 2]),
    "bool": lambda T: T.tensor([True]),
    "i32": lambda T: T.tensor([1, 2], dtype=T.int32),
    "empty-f64": lambda T: T.zeros(0, dtype=T.float64),
    "empty-f32": lambda T: T.zeros(0, 2, dtype=T.float32),
    "empty-int": lambda T: T.zeros(0, dtype=T.int64),
    "leaf-f32": lambda T: T.tensor([1.0, 2.0], dtype=T.float32, requires_grad=True),
    "grad-fn-f64": lambda T: T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True) * 2,
    "summarised-f32": lambda T: T.arange(2000, dtype=T.float32) / 3,
}


def test_default_float64(torch):
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for name, build in DEFAULT_F64_CASES.items():
            t = build(torch)
            expected = repr(t)
            got = ours(t, default_float="float64")
            assert got == expected, f"{name}:\nexpected:\n{expected}\ngot:\n{got}"
    finally:
        torch.set_default_dtype(old)


def test_dtype_name():
    assert dtype_name(np.float32) == "torch.float32"
    assert dtype_name(np.dtype("float64")) == "torch.float64"
    assert dtype_name(np.int64) == "torch.int64"
    assert dtype_name(np.int32) == "torch.int32"
    assert dtype_name(np.bool_) == "torch.bool"
    assert dtype_name(np.uint8) == "torch.uint8"
    assert dtype_name(np.float16) == "torch.float16"
    with pytest.raises(TypeError):
        dtype_name(np.dtype("U3"))


def test_module_imports_neither_torch_nor_numpy():
    import ast
    import inspect

    import gradcli.formatting as module

    imported = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & {"torch", "numpy"}


def test_accepts_numpy_scalar():
    assert format_tensor(np.float32(2.5)) == "tensor(2.5000)"


def test_small_tensor_is_fast():
    one = np.array([1.5], dtype=np.float32)
    scalar = np.array(2.0, dtype=np.float64)
    format_tensor(one)
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        format_tensor(one, requires_grad=True)
        format_tensor(scalar, grad_fn_name="AddBackward0")
    per_call = (time.perf_counter() - start) / (2 * n)
    assert per_call < 100e-6


# ---------------------------------------------------------------- property tests

SPECIALS = [0.0, -0.0, NAN, INF, -INF, 1.0, -1.0, 1e-4, 1e8, 1000.0]


def _elements(width):
    return st.one_of(
        st.floats(width=width),
        st.floats(width=width, min_value=-1e4, max_value=1e4),
        st.integers(-(10**5), 10**5).map(float),
        st.integers(-(10**9), 10**9).map(float),
        st.sampled_from(SPECIALS),
    )


@st.composite
def small_float_arrays(draw):
    dtype = draw(st.sampled_from(["float32", "float64"]))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    width = 32 if dtype == "float32" else 64
    return draw(hnp.arrays(np.dtype(dtype), shape, elements=_elements(width)))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_float_arrays())
def test_property_small_floats(torch, arr):
    t = torch.from_numpy(arr.copy())
    assert format_tensor(arr) == repr(t)


@st.composite
def big_float_arrays(draw):
    dtype = draw(st.sampled_from(["float32", "float64", "float64", "float16"]))
    ndim = draw(st.integers(1, 4))
    sides = [draw(st.integers(1, 40 if ndim <= 2 else 12)) for _ in range(ndim)]
    if ndim == 1:
        sides = [draw(st.integers(1, 2500))]
    seed = draw(st.integers(0, 2**32 - 1))
    exponent = draw(st.integers(-12, 12) if dtype != "float16" else st.integers(-3, 4))
    style = draw(st.sampled_from(["normal", "positive", "integer", "loguniform"]))
    n_special = draw(st.integers(0, 3))
    rng = np.random.default_rng(seed)
    size = int(np.prod(sides))
    scale = 10.0**exponent
    if style == "normal":
        values = rng.standard_normal(size) * scale
    elif style == "positive":
        values = rng.uniform(0.5, 2.0, size) * scale
    elif style == "integer":
        values = rng.integers(-1000, 1000, size).astype(np.float64) * max(1.0, scale)
    else:
        values = rng.standard_normal(size) * 10.0 ** rng.uniform(-6, 6, size)
    for _ in range(n_special):
        values[rng.integers(0, size)] = rng.choice([NAN, INF, -INF, 0.0, -0.0])
    with np.errstate(over="ignore"):
        return values.astype(dtype).reshape(sides)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(big_float_arrays(), st.booleans())
def test_property_float_arrays(torch, arr, requires_grad):
    t = torch.from_numpy(arr.copy())
    if requires_grad:
        t.requires_grad_()
    assert format_tensor(arr, requires_grad=requires_grad) == repr(t)


INT_RANGES = {
    "int64": (-(2**63), 2**63 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int8": (-128, 127),
    "uint8": (0, 255),
}


@st.composite
def int_arrays(draw):
    dtype = draw(st.sampled_from([*INT_RANGES, "bool"]))
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.integers(0, 14 if ndim <= 2 else 7)) for _ in range(ndim))
    if ndim == 1 and draw(st.booleans()):
        shape = (draw(st.integers(900, 1200)),)
    size = int(np.prod(shape))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype == "bool":
        return rng.integers(0, 2, size).astype(bool).reshape(shape)
    lo, hi = INT_RANGES[dtype]
    magnitude = draw(st.integers(0, 19))
    lo, hi = max(lo, -(10**magnitude)), min(hi, 10**magnitude)
    return rng.integers(lo, hi, size, dtype=dtype, endpoint=True).reshape(shape)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(int_arrays())
def test_property_int_arrays(torch, arr):
    t = torch.from_numpy(arr.copy())
    assert format_tensor(arr) == repr(t)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(small_float_arrays(), big_float_arrays()))
def test_property_default_float64(torch, arr):
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        expected = repr(torch.from_numpy(arr.copy()))
    finally:
        torch.set_default_dtype(old)
    assert format_tensor(arr, default_float="float64") == expected


def test_print_options_are_reset_for_every_run():
    """torch.set_printoptions lasts for its run (or REPL session) only: the next program prints with
    PyTorch's defaults again."""
    import io

    from gradcli.session import run

    first, second = io.StringIO(), io.StringIO()
    run("import torch\ntorch.set_printoptions(precision=1, sci_mode=True)\nprint(torch.tensor([1.25]))\n",
        out=first)
    run("import torch\nprint(torch.tensor([1.25]))\n", out=second)
    assert first.getvalue() == "tensor([1.2e+00])\n"
    assert second.getvalue() == "tensor([1.2500])\n"
