"""Every op against PyTorch: forward values, dtype, shape, `grad_fn` name, and gradients.

One table, `CASES`, drives this file and the finite-difference checks in test_engine_fd.py. A case is a
function of a torch-like namespace and its input tensors, written once and run on gradcli and on PyTorch,
plus the rows of the op table (`ops.ROWS`) it exercises. `test_every_row_has_a_gradient_case` fails when a
row is added to the table without a case that differentiates through it.
"""

from __future__ import annotations

import inspect
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from fakecupy.simulate import on_device
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradcli import ops
from gradcli.backend import to_host
from gradcli.torchlib import ScriptModule, build_modules

MODULES = build_modules()


class NS:
    """Attribute access over a script module's members, so one lambda runs on gradcli and on torch."""

    def __init__(self, members):
        self._members = members

    def __getattr__(self, name):
        value = self._members[name]
        return NS(value.members) if isinstance(value, ScriptModule) else value


G = NS(MODULES["torch"].members)


# ------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class Arg:
    """One tensor input: its shape and what values it holds.

    kind: "float" (requires grad, values in [-2, -0.2] u [0.2, 2], away from the kinks at 0),
    "pos" (requires grad, in [0.5, 2]), "unit" (requires grad, in [-0.9, 0.9]),
    "const" (float, no grad), "posconst" (in [0.5, 2], no grad), "int" (int64 in [-3, 3]), "bool".
    """

    shape: tuple
    kind: str = "float"

    @property
    def grad(self):
        return self.kind in ("float", "pos", "unit")


def f(*shape):
    return Arg(shape)


def p(*shape):
    return Arg(shape, "pos")


def u(*shape):
    return Arg(shape, "unit")


def c(*shape):
    return Arg(shape, "const")


def i(*shape):
    return Arg(shape, "int")


def make_arrays(name, args):
    """Deterministic float64 (or int/bool) arrays for a case's inputs."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    arrays = []
    for a in args:
        if a.kind in ("float", "const"):
            v = rng.uniform(0.2, 2.0, a.shape) * rng.choice([-1.0, 1.0], a.shape)
        elif a.kind in ("pos", "posconst"):
            v = rng.uniform(0.5, 2.0, a.shape)
        elif a.kind == "unit":
            v = rng.uniform(-0.9, 0.9, a.shape)
        elif a.kind == "int":
            v = rng.integers(-3, 4, a.shape)
        else:
            v = rng.integers(0, 2, a.shape).astype(bool)
        arrays.append(np.asarray(v))
    return arrays


def ours_tensor(array, arg, dtype_name):
    t = G.tensor(array.tolist(), dtype=getattr(G, dtype_name) if array.dtype.kind == "f" else None)
    if arg.grad:
        t.requires_grad_()
    return t


def torch_tensor(torch, array, arg, dtype_name):
    t = torch.tensor(array, dtype=getattr(torch, dtype_name) if array.dtype.kind == "f" else None)
    if arg.grad:
        t.requires_grad_()
    return t


# ------------------------------------------------------------------ the table
@dataclass
class Case:
    fn: Callable  # fn(t, *inputs) with t a torch-like namespace
    args: tuple
    rows: tuple = ()  # rows of ops.ROWS this case differentiates through
    smooth: bool = True  # twice differentiable at the inputs: second derivatives are checked too
    backward_error: str | None = None  # PyTorch refuses to differentiate it, with this message


def case(fn, *args, rows=(), smooth=True, backward_error=None):
    return Case(fn, args, tuple(rows.split()) if isinstance(rows, str) else rows, smooth, backward_error)


def F(t):  # noqa: N802 - torch.nn.functional is F by convention
    return t.nn.functional


def _dbl_index(t, x, g):
    return t.autograd.grad(x[t.tensor([0, 2, 0])], x, g, create_graph=True)[0]


def _dbl_select(t, x, g):
    return t.autograd.grad(x[1], x, g, create_graph=True)[0]


def _dbl_slice(t, x, g):
    return t.autograd.grad(x[1:], x, g, create_graph=True)[0]


def _dbl_max_dim(t, x, g):
    return t.autograd.grad(x.max(1).values, x, g, create_graph=True)[0]


def _dbl_remade_view(t, x, g):
    """The gradient through a view whose base changed in place under no_grad (its AsStridedBackward0)."""
    b = x.clone()
    v = b[:, 1:2].expand(3, 2)
    with t.no_grad():
        b.mul_(2)
    return t.autograd.grad(v, x, g, create_graph=True)[0]


def _setitem(t, x, y):
    z = x * 1.0
    z[0] = y
    return z


def _setitem_scalar(t, x):
    z = x * 1.0
    z[1, 1:] = 0.5
    return z


def _setitem_index_tensor(t, x, v):
    y = x * 1
    y[t.tensor([2, 0])] = v * 2  # (an advanced index: PyTorch's index_put_, IndexPutBackward0)
    return y


def _setitem_mask(t, x, y):
    z = x * 1.0
    z[x > 0] = 0.0
    return z * y


def _inplace(name, *extra, **kw):
    def fn(t, x, *ys):
        z = x * 1.0
        getattr(z, name)(*ys, *extra, **kw)
        return z

    return fn


def _iadd(t, x, y):
    z = x * 1.0
    z += y
    z -= 0.5 * y
    z *= y
    z /= 2.0
    return z


def _copy(t, x, y):
    z = x * 1.0
    z.copy_(y)
    return z * x


CASES: dict[str, Case] = {
    # arithmetic, with broadcasting and Python numbers on either side
    "add": case(lambda t, x, y: x + y, f(3, 1), f(1, 4), rows="add"),
    "add_alpha": case(lambda t, x, y: t.add(x, y, alpha=2), f(3, 4), f(4), rows="add"),
    "add_scalar": case(lambda t, x: x + 1.5, f(3), rows="add"),
    "radd_scalar": case(lambda t, x: 2 + x, f(3), rows="add"),
    "add_0d": case(lambda t, x, y: x + y, f(2, 3), f(), rows="add"),
    "add_const": case(lambda t, x, y: x + y, c(3), f(2, 3), rows="add"),
    "sub": case(lambda t, x, y: x - y, f(3, 1), f(1, 4), rows="sub"),
    "sub_alpha": case(lambda t, x, y: t.sub(x, y, alpha=0.5), f(3, 4), f(4), rows="sub"),
    "rsub_scalar": case(lambda t, x: 1.5 - x, f(3), rows="rsub"),
    "mul": case(lambda t, x, y: x * y, f(3, 1), f(1, 4), rows="mul"),
    "mul_scalar": case(lambda t, x: x * 2.5, f(2, 2), rows="mul"),
    "rmul_scalar": case(lambda t, x: 3 * x, f(2, 2), rows="mul"),
    "mul_const_right": case(lambda t, x, y: x * y, f(3, 4), c(4), rows="mul"),
    "mul_const_left": case(lambda t, x, y: x * y, c(3, 1), f(3, 4), rows="mul"),
    "mul_0d": case(lambda t, x, y: t.mul(x, y), f(3), f(), rows="mul"),
    "mul_self": case(lambda t, x: x * x, f(3), rows="mul"),
    "div": case(lambda t, x, y: x / y, f(3, 1), p(1, 4), rows="div"),
    "div_scalar": case(lambda t, x: x / 4, f(3), rows="div"),
    "div_const": case(lambda t, x, y: t.div(x, y), f(2, 3), Arg((3,), "const"), rows="div"),
    "div_by_grad": case(lambda t, x, y: t.true_divide(x, y), c(2, 3), p(3), rows="div"),
    "div_floor": case(lambda t, x: t.div(x, 0.7, rounding_mode="floor"), f(3), rows="div_rounding"),
    "div_trunc": case(lambda t, x, y: x.div(y, rounding_mode="trunc"), f(3), p(3), rows="div_rounding"),
    "div_mode_none": case(lambda t, x, y: t.div(x, y, rounding_mode=None), f(3, 1), p(1, 4), rows="div_mode"),
    "divide": case(lambda t, x, y: t.divide(x, y), f(2), p(2), rows="div"),
    "rdiv_scalar": case(lambda t, x: 2 / x, p(3), rows="reciprocal mul"),
    "reciprocal": case(lambda t, x: x.reciprocal(), p(2, 2), rows="reciprocal"),
    "t.reciprocal": case(lambda t, x: t.reciprocal(x), p(3), rows="reciprocal"),
    "neg": case(lambda t, x: -x, f(3), rows="neg"),
    "t.neg": case(lambda t, x: t.neg(x), f(3), rows="neg"),
    "t.negative": case(lambda t, x: t.negative(x), f(3), rows="neg"),
    "pow": case(lambda t, x: x**2, f(3), rows="pow"),
    "pow_int3": case(lambda t, x: t.pow(x, 3), f(3), rows="pow"),
    "pow_frac": case(lambda t, x: x**1.5, p(3), rows="pow"),
    "pow_neg": case(lambda t, x: x.pow(-2), p(3), rows="pow"),
    "pow_zero": case(lambda t, x: x**0, f(3), rows="pow"),
    "square": case(lambda t, x: t.square(x), f(3), rows="pow"),
    "square_method": case(lambda t, x: x.square(), f(3), rows="pow"),
    "pow_tensor": case(lambda t, x, y: x**y, p(3, 1), f(1, 4), rows="pow_tensor"),
    "pow_tensor_0d": case(lambda t, x, y: t.pow(x, y), p(3), f(), rows="pow_tensor"),
    "pow_const_exponent": case(lambda t, x, y: x**y, p(3), c(3), rows="pow_tensor"),
    "pow_const_base": case(lambda t, x, y: x**y, Arg((3,), "posconst"), f(3), rows="pow_tensor"),
    "pow_zero_base": case(lambda t, x, y: (x * 0.0) ** y, c(3), p(3), rows="pow_tensor", smooth=False),
    "rpow": case(lambda t, x: 2**x, f(3), rows="rpow"),
    "rpow_float": case(lambda t, x: t.pow(1.5, x), f(3), rows="rpow"),
    "floor_divide": case(lambda t, x: x // 0.7, f(3), rows="floor_divide",
                         backward_error="derivative for aten::floor_divide is not implemented"),
    "t.floor_divide": case(lambda t, x, y: t.floor_divide(x, y), f(3), p(3), rows="floor_divide",
                           backward_error="derivative for aten::floor_divide is not implemented"),
    "rfloor_divide": case(lambda t, x: 2.0 // x, p(3), rows="rfloor_divide",
                          backward_error="derivative for aten::floor_divide is not implemented"),
    "rremainder": case(lambda t, x: 2.5 % x, p(3), rows="rremainder",
                       backward_error="derivative for aten::remainder is not implemented"),
    "t.rremainder": case(lambda t, x: t.remainder(2.5, x), p(3), rows="rremainder",
                         backward_error="derivative for aten::remainder is not implemented"),
    "remainder": case(lambda t, x: x % 1.5, f(3), rows="remainder", smooth=False),
    "remainder_tensor": case(lambda t, x, y: t.remainder(x, y), f(2, 3), p(3), rows="remainder_tensor",
                             smooth=False),
    # elementwise functions
    "exp": case(lambda t, x: t.exp(x), f(2, 3), rows="exp"),
    "exp_method": case(lambda t, x: x.exp(), f(3), rows="exp"),
    "log": case(lambda t, x: t.log(x), p(2, 3), rows="log"),
    "log_method": case(lambda t, x: x.log(), p(3), rows="log"),
    "sin": case(lambda t, x: t.sin(x), f(3), rows="sin"),
    "cos": case(lambda t, x: t.cos(x), f(3), rows="cos"),
    "cos_method": case(lambda t, x: x.cos(), f(3), rows="cos"),
    "tan": case(lambda t, x: t.tan(x), u(3), rows="tan"),
    "tan_method": case(lambda t, x: x.tan(), u(3), rows="tan"),
    "tanh": case(lambda t, x: t.tanh(x), f(3), rows="tanh"),
    "tanh_method": case(lambda t, x: x.tanh(), f(3), rows="tanh"),
    "F.tanh": case(lambda t, x: t.nn.functional.tanh(x), f(3), rows="tanh"),
    "sigmoid": case(lambda t, x: t.sigmoid(x), f(3), rows="sigmoid"),
    "F.sigmoid": case(lambda t, x: t.nn.functional.sigmoid(x), f(3), rows="sigmoid"),
    "sigmoid_method": case(lambda t, x: x.sigmoid(), f(3), rows="sigmoid"),
    "relu": case(lambda t, x: t.relu(x), f(2, 3), rows="relu", smooth=False),
    # tanh's and sigmoid's first-order gradients under create_graph: nodes of (grad, result), as PyTorch's
    "tanh_grad_of_grad": case(
        lambda t, x: t.autograd.grad((x.tanh() * x).sum(), x, create_graph=True)[0] * 1.5, f(2, 3),
        rows=("tanh", "tanh_backward")),
    "sigmoid_grad_of_grad": case(
        lambda t, x: t.autograd.grad((x.sigmoid() * x).sum(), x, create_graph=True)[0] * 1.5, f(2, 3),
        rows=("sigmoid", "sigmoid_backward")),
    "softmax_grad_of_grad": case(
        lambda t, x: t.autograd.grad((x.softmax(1) * x).sum(), x, create_graph=True)[0] * 1.5, f(2, 3),
        rows=("softmax", "softmax_backward")),
    "log_softmax_grad_of_grad": case(
        lambda t, x: t.autograd.grad((x.log_softmax(0) * x).sum(), x, create_graph=True)[0] * 1.5, f(2, 3),
        rows=("log_softmax", "log_softmax_backward")),
    # relu's first-order gradient under create_graph: a ThresholdBackwardBackward0 of (grad, result)
    "relu_grad_of_grad": case(
        lambda t, x: t.autograd.grad((x.relu() * x.relu()).sum(), x, create_graph=True)[0] * 1.5, f(2, 3),
        rows=("relu", "threshold_backward"), smooth=False),
    # a number operand in a backward formula is a Scalar there: `a + 1` is AddBackward1, `e - 1` SubBackward1
    "log1p_grad_of_grad": case(
        lambda t, x: t.autograd.grad(x.log1p().sum(), x, create_graph=True)[0] * 1.5, p(2, 3),
        rows=("add_scalar",)),
    "pow_tensor_grad_of_grad": case(
        lambda t, x, y: t.autograd.grad((x ** y).sum(), x, create_graph=True)[0] * 1.5, p(2, 3), f(2, 3),
        rows=("sub_scalar",)),
    # abs's formula, grad * self.sgn(): PyTorch's SgnBackward0 node (sign() is SignBackward0)
    "abs_grad_of_grad": case(
        lambda t, x: t.autograd.grad((x.abs() * x).sum(), x, create_graph=True)[0] * 1.5, f(2, 3),
        rows=("sgn",), smooth=False),
    # leaky_relu's gradient under create_graph: a LeakyReluBackwardBackward0 of (grad, input), as PyTorch's
    "leaky_relu_grad_of_grad": case(
        lambda t, x: t.autograd.grad((F(t).leaky_relu(x, 0.2) * x).sum(), x, create_graph=True)[0] * 1.5,
        f(2, 3), rows=("leaky_relu_backward",), smooth=False),
    # logsigmoid's gradient under create_graph: a LogSigmoidBackwardBackward0 of (grad, input), as PyTorch's
    "logsigmoid_grad_of_grad": case(
        lambda t, x: t.autograd.grad((F(t).logsigmoid(x * 2) * x).sum(), x, create_graph=True)[0] * 1.5,
        f(2, 3), rows=("log_sigmoid_backward",)),
    # hardtanh's gradient under create_graph: a HardtanhBackwardBackward0 of (grad, input), as PyTorch's
    "hardtanh_grad_of_grad": case(
        lambda t, x: t.autograd.grad((F(t).hardtanh(x * 2) * x).sum(), x, create_graph=True)[0] * 1.5,
        f(2, 3), rows=("hardtanh_backward",), smooth=False),
    # gelu's gradient under create_graph: a GeluBackwardBackward0 of (grad, input), PyTorch's double backward
    # embedding's gradient under create_graph: EmbeddingDenseBackwardBackward0 of the grad, as PyTorch's
    "embedding_grad_of_grad": case(
        lambda t, w: t.autograd.grad((F(t).embedding(t.tensor([0, 2, 2]), w) ** 2).sum(), w,
                                     create_graph=True)[0] * 1.5,
        f(3, 2), rows=("embedding_dense_backward",)),
    "gelu_grad_of_grad": case(
        lambda t, x: t.autograd.grad((F(t).gelu(x) * x).sum(), x, create_graph=True)[0] * 1.5, f(2, 3),
        rows=("gelu_backward",)),
    "gelu_tanh_grad_of_grad": case(
        lambda t, x: t.autograd.grad(F(t).gelu(x, approximate="tanh").sum(), x, create_graph=True)[0] ** 2,
        f(2, 3), rows=("gelu_backward",)),
    # elu's and softplus's gradients under create_graph: XBackwardBackward0 ops of (grad, input), as PyTorch's
    "elu_grad_of_grad": case(
        lambda t, x: t.autograd.grad((F(t).elu(x, 0.7) * x).sum(), x, create_graph=True)[0] * 1.5, f(2, 3),
        rows=("elu_backward",)),
    "softplus_grad_of_grad": case(
        lambda t, x: t.autograd.grad((F(t).softplus(x, 2.0, 1.5) * x).sum(), x, create_graph=True)[0] ** 2,
        f(2, 3), rows=("softplus_backward",)),
    "F.relu": case(lambda t, x: t.nn.functional.relu(x), f(2, 3), rows="relu", smooth=False),
    "relu_method": case(lambda t, x: x.relu(), f(4), rows="relu", smooth=False),
    "sqrt": case(lambda t, x: t.sqrt(x), p(3), rows="sqrt"),
    "sqrt_method": case(lambda t, x: x.sqrt(), p(3), rows="sqrt"),
    "rsqrt": case(lambda t, x: t.rsqrt(x), p(3), rows="rsqrt"),
    "rsqrt_method": case(lambda t, x: x.rsqrt(), p(3), rows="rsqrt"),
    "log1p": case(lambda t, x: t.log1p(x), p(3), rows="log1p"),
    "log1p_method": case(lambda t, x: x.log1p(), u(3), rows="log1p"),
    "expm1": case(lambda t, x: t.expm1(x), f(3), rows="expm1"),
    "expm1_method": case(lambda t, x: x.expm1(), f(3), rows="expm1"),
    "abs": case(lambda t, x: t.abs(x), f(2, 3), rows="abs", smooth=False),
    "abs_builtin": case(lambda t, x: abs(x), f(3), rows="abs", smooth=False),
    "abs_method": case(lambda t, x: x.abs(), f(3), rows="abs", smooth=False),
    "sign": case(lambda t, x: t.sign(x), f(3), rows="sign", smooth=False),
    "sign_method": case(lambda t, x: x.sign() * x, f(3), rows="sign mul", smooth=False),
    "floor": case(lambda t, x: t.floor(x), f(3), rows="floor", smooth=False),
    "floor_method": case(lambda t, x: x.floor(), f(3), rows="floor", smooth=False),
    "ceil": case(lambda t, x: t.ceil(x), f(3), rows="ceil", smooth=False),
    "ceil_method": case(lambda t, x: x.ceil(), f(3), rows="ceil", smooth=False),
    "round": case(lambda t, x: t.round(x), f(3), rows="round", smooth=False),
    "round_method": case(lambda t, x: x.round(), f(3), rows="round", smooth=False),
    "round_decimals": case(lambda t, x: x.round(decimals=1), f(3), rows="round_decimals", smooth=False),
    "t.round_decimals": case(lambda t, x: t.round(x, decimals=2), f(3), rows="round_decimals", smooth=False),
    "clamp": case(lambda t, x: t.clamp(x, -0.5, 0.5), f(2, 4), rows="clamp", smooth=False),
    "clamp_min_kw": case(lambda t, x: t.clamp(x, min=0.3), f(2, 4), rows="clamp", smooth=False),
    "clamp_max_kw": case(lambda t, x: x.clamp(max=0.3), f(2, 4), rows="clamp", smooth=False),
    "clip": case(lambda t, x: t.clip(x, -1.0, 1.0), f(2, 4), rows="clamp", smooth=False),
    "clip_method": case(lambda t, x: x.clip(-1.0, 1.0), f(2, 4), rows="clamp", smooth=False),
    "clamp_tensor": case(lambda t, x, lo, hi: t.clamp(x, lo, hi), f(3, 4), f(4), f(3, 1), rows="clamp_tensor",
                         smooth=False),
    "clamp_tensor_min": case(lambda t, x, lo: x.clamp(min=lo), f(3, 4), c(4), rows="clamp_tensor",
                             smooth=False),
    "clamp_min": case(lambda t, x: t.clamp_min(x, 0.2), f(5), rows="clamp_min", smooth=False),
    "clamp_min_method": case(lambda t, x: x.clamp_min(-0.2), f(5), rows="clamp_min", smooth=False),
    "clamp_max": case(lambda t, x: t.clamp_max(x, 0.2), f(5), rows="clamp_max", smooth=False),
    "clamp_max_method": case(lambda t, x: x.clamp_max(-0.2), f(5), rows="clamp_max", smooth=False),
    "maximum": case(lambda t, x, y: t.maximum(x, y), f(3, 1), f(1, 4), rows="maximum", smooth=False),
    "maximum_method": case(lambda t, x, y: x.maximum(y), f(3), c(3), rows="maximum", smooth=False),
    "max_binary": case(lambda t, x, y: t.max(x, y), f(3), f(3), rows="maximum", smooth=False),
    "maximum_ties": case(lambda t, x: t.maximum(x, x * 1.0), f(3), rows="maximum", smooth=False),
    "clamp_tensor_crossed": case(lambda t, x, hi: t.clamp(x, hi + 1.0, hi), f(2, 3), f(3),
                                 rows="clamp_tensor", smooth=False),
    "minimum": case(lambda t, x, y: t.minimum(x, y), f(3, 1), f(1, 4), rows="minimum", smooth=False),
    "min_binary": case(lambda t, x, y: x.min(y), f(3), f(3), rows="minimum", smooth=False),
    "where": case(lambda t, x, y: t.where(x > 0, x, y), f(3, 1), f(1, 4), rows="where"),
    "where_scalar": case(lambda t, x: t.where(x > 0, x, 0.0), f(2, 3), rows="where", smooth=False),
    "where_scalar_left": case(lambda t, x: t.where(x > 0, 1.0, x), f(2, 3), rows="where", smooth=False),
    # reductions
    "sum": case(lambda t, x: x.sum(), f(2, 3), rows="sum"),
    "t.sum": case(lambda t, x: t.sum(x), f(2, 3), rows="sum"),
    "sum_0d": case(lambda t, x: x.sum(), f(), rows="sum"),
    "sum_dim": case(lambda t, x: x.sum(1), f(2, 3), rows="sum_dim"),
    "sum_dim_keepdim": case(lambda t, x: t.sum(x, dim=-1, keepdim=True), f(2, 3), rows="sum_dim"),
    "sum_dims": case(lambda t, x: x.sum((0, 2)), f(2, 3, 2), rows="sum_dim"),
    "sum_dtype": case(lambda t, x: x.sum(dtype=t.float64), f(2, 3), rows="sum to_dtype"),
    "mean": case(lambda t, x: x.mean(), f(2, 3), rows="mean"),
    "t.mean": case(lambda t, x: t.mean(x), f(4), rows="mean"),
    "mean_dim": case(lambda t, x: x.mean(0), f(2, 3), rows="mean_dim"),
    "mean_dim_keepdim": case(lambda t, x: t.mean(x, 1, keepdim=True), f(2, 3), rows="mean_dim"),
    "mean_dims": case(lambda t, x: x.mean((0, 1)), f(2, 3, 2), rows="mean_dim"),
    "max": case(lambda t, x: x.max(), f(2, 3), rows="max", smooth=False),
    "t.max": case(lambda t, x: t.max(x), f(2, 3), rows="max", smooth=False),
    "max_ties": case(lambda t, x: (x * 0 + 1).max() * x, f(3), rows="max mul", smooth=False),
    "min": case(lambda t, x: x.min(), f(2, 3), rows="min", smooth=False),
    "max_dim": case(lambda t, x: x.max(1).values, f(2, 3), rows="max_dim", smooth=False),
    "max_dim_keepdim": case(lambda t, x: t.max(x, dim=0, keepdim=True)[0], f(2, 3), rows="max_dim",
                            smooth=False),
    "min_dim": case(lambda t, x: x.min(dim=-1)[0], f(2, 3), rows="min_dim", smooth=False),
    "min_dim_keepdim": case(lambda t, x: t.min(x, 1, True).values, f(2, 3), rows="min_dim", smooth=False),
    "argmax": case(lambda t, x: x.argmax(), f(2, 3)),
    "argmax_dim": case(lambda t, x: t.argmax(x, dim=1), f(2, 3)),
    "argmin": case(lambda t, x: t.argmin(x), f(2, 3)),
    "argmin_dim": case(lambda t, x: x.argmin(0, keepdim=True), f(2, 3)),
    "max_indices": case(lambda t, x: x.max(1).indices, f(2, 3)),
    "prod": case(lambda t, x: x.prod(), f(2, 3), rows="prod"),
    "t.prod": case(lambda t, x: t.prod(x), f(4), rows="prod"),
    "prod_dim": case(lambda t, x: x.prod(1), f(2, 3), rows="prod_dim"),
    "prod_one_zero": case(lambda t, x: (x * t.tensor([1.0, 0.0, 1.0, 1.0], dtype=x.dtype)).prod(), f(4),
                          rows="prod"),
    "prod_dim_zeros": case(lambda t, x: (x * t.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], dtype=x.dtype))
                           .prod(1), f(2, 3), rows="prod_dim"),
    "prod_dim_keepdim": case(lambda t, x: t.prod(x, 0, keepdim=True), f(2, 3), rows="prod_dim"),
    "var": case(lambda t, x: x.var(), f(2, 3), rows="var"),
    "var_dim": case(lambda t, x: t.var(x, 1), f(2, 3), rows="var"),
    "var_biased": case(lambda t, x: x.var(0, keepdim=True, unbiased=False), f(2, 3), rows="var"),
    "std": case(lambda t, x: x.std(), f(2, 3), rows="std"),
    "std_dim": case(lambda t, x: t.std(x, dim=0), f(3, 2), rows="std"),
    "norm": case(lambda t, x: x.norm(), f(2, 3), rows="norm"),
    "t.norm": case(lambda t, x: t.norm(x), f(4), rows="norm"),
    "norm_dim": case(lambda t, x: x.norm(dim=1), f(2, 3), rows="norm"),
    "norm_p1": case(lambda t, x: x.norm(p=1), f(2, 3), rows="norm", smooth=False),
    "norm_p3": case(lambda t, x: x.norm(3, 1, True), f(2, 3), rows="norm", smooth=False),
    "norm_of_zeros": case(lambda t, x: (x * 0.0).norm() + x.sum(), f(3), rows="norm", smooth=False),
    "norm_inf": case(lambda t, x: x.norm(float("inf")), f(2, 3), rows="norm", smooth=False),
    "norm_inf_ties": case(lambda t, x: (x.abs() * 0.0 + 1.0).norm(float("inf"), 1) * x.sum(), f(2, 3),
                          rows="norm", smooth=False),
    "cumsum": case(lambda t, x: x.cumsum(1), f(2, 3), rows="cumsum"),
    "t.cumsum": case(lambda t, x: t.cumsum(x, dim=0), f(3, 2), rows="cumsum"),
    "logsumexp": case(lambda t, x: t.logsumexp(x, 1), f(2, 3), rows="logsumexp"),
    "logsumexp_method": case(lambda t, x: x.logsumexp(dim=(0, 1), keepdim=True), f(2, 3), rows="logsumexp"),
    "logsumexp_0d": case(lambda t, x: t.logsumexp(x, 0), f(), rows="logsumexp"),
    "logsumexp_int": case(lambda t, x: t.logsumexp(x, 0), i(3)),
    "amax": case(lambda t, x: t.amax(x, 1), f(2, 3), rows="amax", smooth=False),
    "amax_method": case(lambda t, x: x.amax(), f(2, 3), rows="amax", smooth=False),
    "amax_ties": case(lambda t, x: t.amax(t.cat([x, x]), 0), f(2, 3), rows="amax cat", smooth=False),
    "amin": case(lambda t, x: t.amin(x, (0, 1), keepdim=True), f(2, 3), rows="amin", smooth=False),
    "amin_method": case(lambda t, x: x.amin(-1), f(2, 3), rows="amin", smooth=False),
    "amax_int": case(lambda t, x: t.amax(x, 0), i(2, 3)),
    # linear algebra
    "mm": case(lambda t, x, y: t.mm(x, y), f(3, 4), f(4, 2), rows="mm"),
    "mm_method": case(lambda t, x, y: x.mm(y), c(3, 4), f(4, 2), rows="mm"),
    "bmm": case(lambda t, x, y: t.bmm(x, y), f(2, 3, 4), f(2, 4, 2), rows="bmm"),
    "bmm_method": case(lambda t, x, y: x.bmm(y), c(2, 3, 4), f(2, 4, 2), rows="bmm"),
    "matmul_2d": case(lambda t, x, y: x @ y, f(3, 4), c(4, 2), rows="mm"),
    "mv": case(lambda t, x, y: t.mv(x, y), f(3, 4), f(4), rows="mv"),
    "matmul_mv": case(lambda t, x, y: t.matmul(x, y), f(3, 4), f(4), rows="mv"),
    "mv_method": case(lambda t, x, y: x.mv(y), c(3, 4), f(4), rows="mv"),
    "dot": case(lambda t, x, y: t.dot(x, y), f(4), f(4), rows="dot"),
    "matmul_dot": case(lambda t, x, y: x @ y, f(4), c(4), rows="dot"),
    "dot_method": case(lambda t, x, y: x.dot(y), c(4), f(4), rows="dot"),
    "matmul_vm": case(lambda t, x, y: x @ y, f(4), f(4, 3), rows="mm unsqueeze squeeze_mm"),
    "matmul_bmm": case(lambda t, x, y: t.matmul(x, y), f(2, 3, 4), f(2, 4, 2),
                       rows="bmm unsafe_view expand view"),
    "matmul_3d_2d": case(lambda t, x, y: x @ y, f(2, 3, 4), f(4, 2), rows="mm unsafe_view view"),
    "matmul_3d_2d_const": case(lambda t, x, y: x @ y, f(2, 3, 4), c(4, 2), rows="mm unsafe_view view"),
    "matmul_2d_3d": case(lambda t, x, y: x @ y, f(3, 4), f(2, 4, 5), rows="mm unsafe_view transpose clone t"),
    "matmul_2d_3d_const": case(lambda t, x, y: x @ y, c(3, 4), f(2, 4, 5),
                               rows="bmm unsafe_view expand view"),
    "matmul_3d_1d": case(lambda t, x, y: x.matmul(y), f(2, 3, 4), f(4), rows="mv unsafe_view view"),
    "matmul_1d_3d": case(lambda t, x, y: x @ y, f(4), f(2, 4, 3), rows="mv unsafe_view clone transpose"),
    "matmul_bcast": case(lambda t, x, y: x @ y, f(2, 1, 3, 4), f(3, 4, 2),
                         rows="bmm unsafe_view clone expand"),
    "outer": case(lambda t, x, y: t.outer(x, y), f(3), f(4), rows="mul view"),
    "Tensor.outer": case(lambda t, x, y: x.outer(y), f(2), f(3), rows="mul view"),
    # joining
    "stack": case(lambda t, x, y: t.stack([x, y]), f(2, 3), f(2, 3), rows="stack"),
    "stack_dim": case(lambda t, x, y: t.stack((x, y, x), dim=-1), f(2, 3), c(2, 3), rows="stack"),
    "stack_0d": case(lambda t, x, y: t.stack([x, y]), f(), f(), rows="stack"),
    "cat": case(lambda t, x, y: t.cat([x, y]), f(2, 3), f(1, 3), rows="cat"),
    "cat_dim": case(lambda t, x, y: t.cat((x, y), dim=1), f(2, 3), c(2, 1), rows="cat"),
    "concat": case(lambda t, x, y: t.concat([x, y], -1), f(2), f(3), rows="cat"),
    "concatenate": case(lambda t, x, y: t.concatenate([x, y, x]), f(2), f(3), rows="cat"),
    "unbind": case(lambda t, x: t.unbind(x)[1], f(3, 2), rows="unbind"),
    "unbind_dim": case(lambda t, x: t.stack(x.unbind(1)[::-1]) * 2, f(3, 2), rows="unbind stack"),
    "chunk": case(lambda t, x: t.chunk(x, 2)[1], f(5, 2), rows="split"),
    "chunk_method": case(lambda t, x: (lambda ps: ps[0] * ps[2])(x.chunk(3, dim=1)), f(2, 5),
                         rows="split mul"),
    "split": case(lambda t, x: t.split(x, 2)[2], f(5), rows="split"),
    "split_sizes": case(lambda t, x: t.split(x, [1, 3], dim=1)[1], f(2, 4), rows="split_with_sizes"),
    "split_method": case(lambda t, x: (lambda ps: ps[0] + ps[1])(x.split(2)), f(4, 3), rows="split add"),
    "split_sizes_method": case(lambda t, x: x.split([2, 1])[0], f(3), rows="split_with_sizes"),
    "flip": case(lambda t, x: t.flip(x, (0,)), f(2, 3), rows="flip"),
    "flip_method": case(lambda t, x: x.flip(0, 1), f(2, 3), rows="flip"),
    "flip_method_list": case(lambda t, x: x.flip([-1]) * x, f(4), rows="flip mul"),
    "iterate": case(lambda t, x: sum(row * (k + 1) for k, row in enumerate(x)), f(3, 2), rows="unbind"),
    # neural-network functions
    "softmax": case(lambda t, x: t.softmax(x, 1), f(2, 3), rows="softmax"),
    "F.softmax": case(lambda t, x: t.nn.functional.softmax(x, dim=0), f(2, 3), rows="softmax"),
    "softmax_method": case(lambda t, x: x.softmax(-1), f(4), rows="softmax"),
    "log_softmax": case(lambda t, x: t.log_softmax(x, 1), f(2, 3), rows="log_softmax"),
    "F.log_softmax": case(lambda t, x: t.nn.functional.log_softmax(x, dim=-1), f(3, 4), rows="log_softmax"),
    "log_softmax_method": case(lambda t, x: x.log_softmax(0), f(2, 3), rows="log_softmax"),
    "mse_loss": case(lambda t, x, y: t.nn.functional.mse_loss(x, y), f(2, 3), f(2, 3), rows="mse_loss"),
    "mse_loss_sum": case(lambda t, x, y: t.nn.functional.mse_loss(x, y, reduction="sum"), f(4), c(4),
                         rows="mse_loss"),
    # mse_loss's gradients under create_graph: MseLossBackwardBackward0 nodes of (grad, input, target), whose
    # own derivatives (the second-derivative test) are PyTorch's formulas
    "mse_loss_grad_of_grad": case(
        lambda t, x, y: t.autograd.grad(t.nn.functional.mse_loss(x, y), (x, y), create_graph=True)[0] * 1.5,
        f(2, 3), f(2, 3), rows=("mse_loss_backward",)),
    "mse_loss_none_grad_of_grad": case(
        lambda t, x, y: t.autograd.grad(t.nn.functional.mse_loss(x, y, reduction="none"), y, x * 0.5,
                                        create_graph=True)[0] ** 2, f(2, 3), f(2, 3),
        rows=("mse_loss_backward",)),
    "mse_loss_sum_grad_of_grad": case(
        lambda t, x, y: t.autograd.grad(t.nn.functional.mse_loss(x, y, reduction="sum") * x.sum(), x,
                                        create_graph=True)[0], f(5), f(5), rows=("mse_loss_backward",)),
    # smooth_l1_loss's and huber_loss's gradients under create_graph: their XBackwardBackward0 nodes
    "smooth_l1_grad_of_grad": case(
        lambda t, x, y: t.autograd.grad(F(t).smooth_l1_loss(x, y, beta=0.8), (x, y), create_graph=True)[0]
        * x, f(2, 3), f(2, 3), rows=("smooth_l1_loss_backward",)),
    "smooth_l1_none_grad_of_grad": case(
        lambda t, x, y: t.autograd.grad(F(t).smooth_l1_loss(x, y, reduction="none"), y, x * 0.5,
                                        create_graph=True)[0] ** 2, f(2, 3), f(2, 3),
        rows=("smooth_l1_loss_backward",)),
    "huber_grad_of_grad": case(
        lambda t, x, y: t.autograd.grad(F(t).huber_loss(x, y, delta=0.7), (x, y), create_graph=True)[1]
        * x, f(2, 3), f(2, 3), rows=("huber_loss_backward",)),
    "huber_sum_grad_of_grad": case(
        lambda t, x, y: t.autograd.grad(F(t).huber_loss(x, y, reduction="sum") * x.sum(), x,
                                        create_graph=True)[0], f(5), f(5), rows=("huber_loss_backward",)),
    "mse_loss_none": case(lambda t, x, y: t.nn.functional.mse_loss(x, y, reduction="none"), f(2, 3), f(2, 3),
                          rows="mse_loss"),
    "nll_loss": case(lambda t, x: F(t).nll_loss(x, t.tensor([0, 2, 1])), f(3, 4), rows="nll_loss"),
    # nll_loss's gradient under create_graph: a NllLossBackwardBackward0 of (grad, input), which requires
    # grad when the input does (PyTorch's cross_entropy gradients name it), its grad's derivative nll_loss
    "cross_entropy_grad_of_grad": case(
        lambda t, x: t.autograd.grad(
            F(t).cross_entropy(x, t.tensor([0, 2, 1]), t.tensor([0.5, 1, 2, 3.], dtype=x.dtype)), x,
            create_graph=True)[0] * 1.5, f(3, 4),
        rows=("nll_loss_backward", "log_softmax_backward")),
    "nll_loss_grad_of_grad": case(
        lambda t, x, g: t.autograd.grad(F(t).nll_loss(x * x, t.tensor([3, 0]), reduction="none"), x, g,
                                        create_graph=True)[0], f(2, 4), f(2), rows=("nll_loss_backward",)),
    "nll_loss2d_grad_of_grad": case(
        lambda t, x: t.autograd.grad(F(t).nll_loss(x * x, t.tensor([[[0, 2]], [[1, 1]]])), x,
                                     create_graph=True)[0], f(2, 3, 1, 2), rows=("nll_loss2d_backward",)),
    "nll_loss_sum": case(lambda t, x: F(t).nll_loss(x, t.tensor([3, 2]), reduction="sum"), f(2, 4),
                         rows="nll_loss"),
    "nll_loss_none": case(lambda t, x: F(t).nll_loss(x, t.tensor([3, 0]), reduction="none"), f(2, 4),
                          rows="nll_loss"),
    "nll_loss_weight": case(lambda t, x: F(t).nll_loss(x, t.tensor([1, 0, 1]),
                                                      weight=t.tensor([0.5, 2.0], dtype=x.dtype)),
                            f(3, 2), rows="nll_loss"),
    "nll_loss_ignore": case(lambda t, x: F(t).nll_loss(x, t.tensor([1, 0, 1]), ignore_index=0),
                            f(3, 2), rows="nll_loss"),
    "nll_loss_1d": case(lambda t, x: F(t).nll_loss(x, t.tensor(2)), f(4), rows="nll_loss"),
    "nll_loss_3d": case(lambda t, x: F(t).nll_loss(x, t.tensor([[0, 2, -100], [1, 1, 0]])), f(2, 3, 3),
                        rows=("view", "nll_loss2d")),
    "nll_loss_4d_none": case(lambda t, x: F(t).nll_loss(x, t.tensor([[[0, 1], [2, 2]], [[1, 1], [0, 2]]]),
                                                         reduction="none"), f(2, 3, 2, 2), rows="nll_loss2d"),
    "nll_loss_5d_weight": case(
        lambda t, x: F(t).nll_loss(x, t.tensor([[[[0, 1]], [[2, 2]]]]), reduction="sum",
                                   weight=t.tensor([0.5, 2.0, 1.5]).to(x.dtype)),
        f(1, 3, 2, 1, 2), rows=("view", "nll_loss2d")),
    # softmax and log_softmax return contiguous results: nll_loss2d's backward accepts them
    "cross_entropy_4d_permuted": case(
        lambda t, x: F(t).cross_entropy(x.permute(0, 3, 1, 2),
                                        t.tensor([[[0, 1], [2, 2]], [[1, 1], [0, 2]]])),
        f(2, 2, 2, 3), rows=("log_softmax", "nll_loss2d")),
    "cross_entropy_3d_probabilities": case(
        lambda t, x: F(t).cross_entropy(x, (t.arange(24.0, dtype=x.dtype).reshape(2, 3, 4) * 0.3).softmax(1)),
        f(2, 3, 4), rows="log_softmax"),
    "cross_entropy": case(lambda t, x: F(t).cross_entropy(x, t.tensor([0, 2, 1])), f(3, 4),
                          rows="nll_loss log_softmax"),
    "cross_entropy_sum": case(lambda t, x: F(t).cross_entropy(x, t.tensor([0, 2]), reduction="sum"),
                              f(2, 4), rows="nll_loss log_softmax"),
    "cross_entropy_smoothing": case(
        lambda t, x: F(t).cross_entropy(x, t.tensor([0, 2, 1]), label_smoothing=0.1), f(3, 4),
        rows="nll_loss log_softmax mul_scalar masked_fill_ neg sum_dim"),
    "cross_entropy_smoothing_ignore": case(
        lambda t, x: F(t).cross_entropy(x, t.tensor([0, 2, 1]), ignore_index=2, label_smoothing=0.2,
                                        reduction="sum"), f(3, 4), rows="nll_loss mul_scalar masked_fill_"),
    "cross_entropy_probs_smoothing": case(
        lambda t, x, y: F(t).cross_entropy(x, y.softmax(1), label_smoothing=0.1), f(3, 4), c(3, 4),
        rows="log_softmax div_scalar"),
    "cross_entropy_probs": case(lambda t, x, y: F(t).cross_entropy(x, y.softmax(1)), f(3, 4), c(3, 4),
                                rows="log_softmax div_scalar"),
    # activations and losses of nn.functional
    "F.gelu": case(lambda t, x: F(t).gelu(x), f(2, 3), rows="gelu"),
    "F.gelu_tanh": case(lambda t, x: F(t).gelu(x, approximate="tanh"), f(2, 3), rows="gelu"),
    "erf": case(lambda t, x: t.erf(x), f(2, 3), rows="erf"),
    "erf_method": case(lambda t, x: x.erf(), u(3), rows="erf"),
    "erf_int": case(lambda t, x: t.erf(x), i(3)),
    "F.leaky_relu": case(lambda t, x: F(t).leaky_relu(x), f(2, 3), rows="leaky_relu"),
    "F.leaky_relu_slope": case(lambda t, x: F(t).leaky_relu(x, negative_slope=0.2), f(4), rows="leaky_relu"),
    "F.hardtanh": case(lambda t, x: F(t).hardtanh(x * 3), f(2, 3), rows="hardtanh mul"),
    "F.hardtanh_range": case(lambda t, x: F(t).hardtanh(x, -0.5, max_val=0.25), f(4), rows="hardtanh"),
    "F.relu6": case(lambda t, x: F(t).relu6(x * 5), f(2, 3), rows="hardtanh mul"),
    "F.logsigmoid": case(lambda t, x: F(t).logsigmoid(x * 3), f(2, 3), rows="log_sigmoid mul"),
    "F.elu": case(lambda t, x: F(t).elu(x), f(2, 3), rows="elu"),
    "F.elu_alpha": case(lambda t, x: F(t).elu(x, 0.5), f(4), rows="elu"),
    "F.silu": case(lambda t, x: F(t).silu(x), f(2, 3), rows="silu"),
    "F.softplus": case(lambda t, x: F(t).softplus(x), f(2, 3), rows="softplus"),
    "F.softplus_beta": case(lambda t, x: F(t).softplus(x, beta=2.0, threshold=1.5), f(6), rows="softplus"),
    "F.binary_cross_entropy": case(lambda t, x, y: F(t).binary_cross_entropy(x.sigmoid(), y.sigmoid()),
                                   f(2, 3), f(2, 3), rows="binary_cross_entropy sigmoid"),
    "F.binary_cross_entropy_weight": case(
        lambda t, x, y: F(t).binary_cross_entropy(x * 0.5 + 0.5, y.sigmoid(), reduction="sum",
                                                  weight=t.tensor([0.5, 2.0, 1.0], dtype=x.dtype)),
        u(2, 3), c(2, 3), rows="binary_cross_entropy"),
    "F.binary_cross_entropy_none": case(
        lambda t, x: F(t).binary_cross_entropy(x * 0.5 + 0.5, t.tensor([0.0, 1.0, 0.25, 1.0], dtype=x.dtype),
                                               reduction="none"), u(4), rows="binary_cross_entropy"),
    "F.binary_cross_entropy_with_logits": case(
        lambda t, x, y: F(t).binary_cross_entropy_with_logits(x, y.sigmoid()), f(2, 3), f(2, 3),
        rows="binary_cross_entropy_with_logits sigmoid"),
    "F.binary_cross_entropy_with_logits_weights": case(
        lambda t, x, y: F(t).binary_cross_entropy_with_logits(
            x, y.sigmoid(), weight=t.tensor([0.5, 2.0, 1.0], dtype=x.dtype), reduction="sum",
            pos_weight=t.tensor([1.5, 0.5, 3.0], dtype=x.dtype)),
        f(2, 3), f(2, 3), rows="binary_cross_entropy_with_logits sigmoid"),
    "F.binary_cross_entropy_with_logits_none": case(
        lambda t, x: F(t).binary_cross_entropy_with_logits(x, t.tensor([0.0, 1.0, 1.0, 0.0], dtype=x.dtype),
                                                           reduction="none", pos_weight=t.tensor(2.0)),
        f(4), rows="binary_cross_entropy_with_logits"),
    "F.l1_loss": case(lambda t, x, y: F(t).l1_loss(x, y), f(2, 3), f(2, 3), rows="abs sub mean",
                      smooth=False),
    "F.l1_loss_sum": case(lambda t, x, y: F(t).l1_loss(x, y, reduction="sum"), f(2, 3), c(3),
                          rows="abs sub sum", smooth=False),
    "F.l1_loss_none": case(lambda t, x, y: F(t).l1_loss(x, y, reduction="none"), f(4), f(4), rows="abs sub",
                           smooth=False),
    "F.smooth_l1_loss": case(lambda t, x, y: F(t).smooth_l1_loss(x, y), f(2, 3), f(2, 3),
                             rows="smooth_l1_loss"),
    "F.smooth_l1_loss_beta": case(lambda t, x, y: F(t).smooth_l1_loss(x, y, beta=0.5, reduction="none"),
                                  f(6), c(6), rows="smooth_l1_loss"),
    "F.smooth_l1_loss_beta0": case(lambda t, x, y: F(t).smooth_l1_loss(x, y, beta=0.0), f(2, 3), f(2, 3),
                                   rows="abs sub mean", smooth=False),
    "F.huber_loss": case(lambda t, x, y: F(t).huber_loss(x, y, delta=0.7, reduction="sum"), f(2, 3), f(2, 3),
                         rows="huber_loss"),
    "F.huber_loss_bcast": case(lambda t, x, y: F(t).huber_loss(x, y), f(2, 3), f(3),
                               rows="huber_loss expand"),
    # shapes and views
    "view": case(lambda t, x: x.view(6), f(2, 3), rows="view"),
    "view_infer": case(lambda t, x: x.view(3, -1), f(2, 3), rows="view"),
    "view_tuple": case(lambda t, x: x.view((1, 6)), f(2, 3), rows="view"),
    "view_0d": case(lambda t, x: x.view(1, 1), f(), rows="view"),
    "view_as": case(lambda t, x, y: x.view_as(y), f(2, 3), c(3, 2), rows="view"),
    "reshape": case(lambda t, x: t.reshape(x, (3, 2)), f(2, 3), rows="view"),
    "reshape_method": case(lambda t, x: x.reshape(-1), f(2, 3), rows="view"),
    "reshape_copy": case(lambda t, x: x.t().reshape(6), f(2, 3), rows="unsafe_view clone t"),
    "reshape_alias": case(lambda t, x: x.t().reshape(3, 2), f(2, 3), rows="reshape_alias t"),
    "reshape_as": case(lambda t, x, y: x.reshape_as(y), f(2, 3), c(6), rows="view"),
    "flatten": case(lambda t, x: t.flatten(x), f(2, 3, 2), rows="view"),
    "flatten_method": case(lambda t, x: x.flatten(1), f(2, 3, 2), rows="view"),
    "flatten_0d": case(lambda t, x: x.flatten(), f(), rows="view"),
    "transpose": case(lambda t, x: t.transpose(x, 0, 1), f(2, 3), rows="transpose"),
    "transpose_method": case(lambda t, x: x.transpose(-1, 0), f(2, 3, 4), rows="transpose"),
    "swapaxes": case(lambda t, x: t.swapaxes(x, 0, 2), f(2, 3, 4), rows="transpose"),
    "t": case(lambda t, x: t.t(x), f(2, 3), rows="t"),
    "t_method_1d": case(lambda t, x: x.t(), f(3), rows="t"),
    "T": case(lambda t, x: x.T, f(2, 3), rows="permute"),
    "mT": case(lambda t, x: x.mT, f(4, 2, 3), rows="transpose"),
    "permute": case(lambda t, x: t.permute(x, (2, 0, 1)), f(2, 3, 4), rows="permute"),
    "permute_method": case(lambda t, x: x.permute(1, -1, 0), f(2, 3, 4), rows="permute"),
    "unsqueeze": case(lambda t, x: t.unsqueeze(x, 1), f(2, 3), rows="unsqueeze"),
    "unsqueeze_neg": case(lambda t, x: x.unsqueeze(-1), f(2, 3), rows="unsqueeze"),
    "squeeze": case(lambda t, x: t.squeeze(x), f(2, 1, 3, 1), rows="squeeze"),
    "squeeze_dim": case(lambda t, x: x.squeeze(1), f(2, 1, 3), rows="squeeze_dim"),
    "squeeze_dim_noop": case(lambda t, x: x.squeeze(0), f(2, 1, 3), rows="squeeze_dim"),
    "squeeze_dims": case(lambda t, x: t.squeeze(x, (1, 3)), f(2, 1, 3, 1), rows="squeeze_dims"),
    "expand": case(lambda t, x: x.expand(2, 3, 4), f(3, 1), rows="expand"),
    "expand_keep": case(lambda t, x: x.expand(-1, 4), f(3, 1), rows="expand"),
    "expand_as": case(lambda t, x, y: x.expand_as(y), f(3, 1), c(3, 4), rows="expand"),
    "broadcast_to": case(lambda t, x: t.broadcast_to(x, (2, 3)), f(3), rows="expand"),
    "contiguous": case(lambda t, x: x.t().contiguous(), f(2, 3), rows="clone t"),
    # indexing
    "select": case(lambda t, x: x[1], f(3, 4), rows="select"),
    "select_neg": case(lambda t, x: x[:, -1], f(3, 4), rows="select"),
    "select_2": case(lambda t, x: x[0, 1], f(3, 4), rows="select"),
    "select_ellipsis": case(lambda t, x: x[..., 2], f(2, 3, 4), rows="select"),
    "slice": case(lambda t, x: x[1:], f(3, 4), rows="slice"),
    "slice_step": case(lambda t, x: x[:, ::2], f(3, 4), rows="slice"),
    "slice_all": case(lambda t, x: x[:], f(3, 4), rows="slice"),
    "alias": case(lambda t, x: x[...], f(3, 4), rows="alias"),
    "index_none": case(lambda t, x: x[None], f(3), rows="unsqueeze"),
    "index_none_mid": case(lambda t, x: x[:, None], f(3, 2), rows="unsqueeze"),
    "index_list": case(lambda t, x: x[[0, 2, 0]], f(3, 4), rows="index"),
    "index_tensor": case(lambda t, x: x[t.tensor([2, 0])], f(3, 4), rows="index"),
    "index_mask": case(lambda t, x: x[x > 0], f(3, 4), rows="index"),
    "index_2d": case(lambda t, x: x[t.tensor([0, 1]), t.tensor([2, 2])], f(3, 4), rows="index"),
    "index_tensor_0d": case(lambda t, x: x[t.tensor(1)], f(3, 4), rows="select"),
    "index_backward": case(_dbl_index, f(3, 4), f(3, 4), rows="index_grad"),
    "select_backward": case(_dbl_select, f(3, 4), f(4), rows="select_grad"),
    "slice_backward": case(_dbl_slice, f(3, 4), f(2, 4), rows="slice_grad"),
    "max_dim_backward": case(_dbl_max_dim, f(2, 3), f(2), rows="scatter_src"),
    "as_strided_backward": case(_dbl_remade_view, f(3, 4), f(3, 2), rows="as_strided copy_slices"),
    "setitem": case(_setitem, f(3, 4), f(4), rows="setitem"),
    "setitem_scalar": case(_setitem_scalar, f(3, 4), rows="setitem"),
    "setitem_mask": case(_setitem_mask, f(3, 4), f(3, 4), rows="index_put", smooth=False),
    "setitem_index_tensor": case(_setitem_index_tensor, f(3, 4), f(2, 4), rows="index_put"),
    # masked_fill, gather, index_select, repeat, triangles, narrow, cumprod, sort, topk, diag, movedim, roll
    "masked_fill": case(lambda t, x: x.masked_fill(x > 0, 0.5), f(3, 4), rows="masked_fill_"),
    "t.masked_fill": case(lambda t, x, v: t.masked_fill(x, x < 0, v), f(3, 4), f(),
                          rows="masked_fill_tensor"),
    "masked_fill_bcast": case(lambda t, x: x.masked_fill(x.sum(0) > 0, -1.0) * x, f(3, 4),
                              rows="masked_fill_ mul"),
    "masked_fill_": case(lambda t, x: (lambda z: z.masked_fill_(x < 0, 1.5))(x * 1.0), f(3, 4),
                         rows="masked_fill_"),
    "masked_fill_tensor_": case(lambda t, x, v: (lambda z: z.masked_fill_(x < 0, v))(x * 1.0), f(3, 4), f(),
                                rows="masked_fill_tensor"),
    "t.gather": case(lambda t, x: t.gather(x, 1, t.tensor([[0, 0], [2, 1], [3, 3]])), f(3, 4), rows="gather"),
    "F.embedding": case(lambda t, w: F(t).embedding(t.tensor([[2, 0], [2, 3]]), w), f(4, 3),
                        rows="embedding"),
    # (padding_idx names a row no index picks, so that its zero gradient is also the true derivative, which
    # test_engine_fd checks; tests/corpus/embedding.grad checks a picked padding row against torch)
    "F.embedding_padding": case(lambda t, w: F(t).embedding(t.tensor([1, 0, 1, 2]), w, padding_idx=-1),
                                f(4, 2), rows="embedding"),
    "gather_method": case(lambda t, x: x.gather(0, t.tensor([[2, 0, 1, 1]])), f(3, 4), rows="gather"),
    "t.index_select": case(lambda t, x: t.index_select(x, 0, t.tensor([2, 0, 2])), f(3, 4),
                           rows="index_select"),
    "index_select_method": case(lambda t, x: x.index_select(1, t.tensor([1])), f(3, 4), rows="index_select"),
    "repeat": case(lambda t, x: x.repeat(2, 1, 3), f(2, 3), rows="repeat"),
    "repeat_list": case(lambda t, x: x.repeat([2, 2]) * 1.5, f(3), rows="repeat mul"),
    "t.tril": case(lambda t, x: t.tril(x), f(3, 4), rows="tril"),
    "tril_method": case(lambda t, x: x.tril(-1), f(2, 3, 3), rows="tril"),
    "t.triu": case(lambda t, x: t.triu(x, 1), f(3, 4), rows="triu"),
    "triu_method": case(lambda t, x: x.triu(), f(4, 3), rows="triu"),
    "t.narrow": case(lambda t, x: t.narrow(x, 1, 1, 2), f(3, 4), rows="slice"),
    "narrow_method": case(lambda t, x: x.narrow(0, -2, 1), f(3, 4), rows="slice"),
    "t.cumprod": case(lambda t, x: t.cumprod(x, 1), f(2, 3), rows="cumprod"),
    "cumprod_method": case(lambda t, x: x.cumprod(0), f(4, 2), rows="cumprod"),
    "cumprod_zero": case(lambda t, x: t.cat([x[:1], x[1:2] * 0, x[2:]]).cumprod(0), f(5), rows="cumprod"),
    "cumprod_zeros": case(lambda t, x: t.cat([x[:1], x[1:2] * 0, x[2:3], x[3:4] * 0, x[4:]]).cumprod(0), f(6),
                          rows="cumprod"),
    "cumprod_first_zero": case(lambda t, x: t.cat([x[:, :1] * 0, x[:, 1:]], 1).cumprod(1), f(2, 4),
                               rows="cumprod"),
    "t.sort": case(lambda t, x: t.sort(x, 1).values, f(3, 4), rows="sort"),
    "sort_method": case(lambda t, x: x.sort(0, descending=True)[0], f(3, 4), rows="sort"),
    "sort_indices": case(lambda t, x: t.sort(x).indices, f(3, 4)),
    "t.argsort": case(lambda t, x: t.argsort(x, 1), f(3, 4)),
    "argsort_method": case(lambda t, x: x.argsort(descending=True), f(5)),
    "t.topk": case(lambda t, x: t.topk(x, 2).values, f(2, 4), rows="topk"),
    "topk_method": case(lambda t, x: x.topk(2, dim=0, largest=False)[0], f(3, 4), rows="topk"),
    "topk_indices": case(lambda t, x: x.topk(3).indices, f(5)),
    "t.sinh": case(lambda t, x: t.sinh(x), f(3), rows="sinh"),
    "sinh_method": case(lambda t, x: x.sinh(), f(2, 2), rows="sinh"),
    "t.cosh": case(lambda t, x: t.cosh(x), f(3), rows="cosh"),
    "t.exp2": case(lambda t, x: t.exp2(x), f(3), rows="exp2"),
    "t.moveaxis": case(lambda t, x: t.moveaxis(x, 0, -1), f(2, 3, 4), rows="permute"),
    "moveaxis_method": case(lambda t, x: x.moveaxis((0, 1), (2, 0)), f(2, 3, 4), rows="permute"),
    "t.swapdims": case(lambda t, x: t.swapdims(x, 0, 1), f(2, 3), rows="transpose"),
    "swapdims_method": case(lambda t, x: x.swapdims(1, 2) * 2, f(2, 3, 2), rows="transpose mul"),
    "swapaxes_method": case(lambda t, x: x.swapaxes(0, 1), f(2, 3), rows="transpose"),
    "t.ravel": case(lambda t, x: t.ravel(x), f(2, 3), rows="view"),
    "ravel_method": case(lambda t, x: x.t().ravel(), f(2, 3), rows="t clone view"),
    "t.hstack": case(lambda t, x, y: t.hstack([x, y]), f(2, 3), f(2, 1), rows="cat"),
    "t.vstack": case(lambda t, x, y: t.vstack((x, y)), f(3), f(2, 3), rows="cat unsqueeze"),
    "t.sgn": case(lambda t, x: t.sgn(x) * x, f(2, 3), rows="sgn mul", smooth=False),
    "t.signbit": case(lambda t, x: x * t.signbit(x), f(2, 3), rows="mul"),
    "signbit_method": case(lambda t, x: x * x.signbit(), f(3), rows="mul"),
    "t.count_nonzero": case(lambda t, x: x * t.count_nonzero(x > 0, dim=0), f(2, 3), rows="mul"),
    "count_nonzero_method": case(lambda t, x: x * (x > 0).count_nonzero(), f(3), rows="mul"),
    "t.nansum": case(lambda t, x: t.nansum(x.log()), f(2, 3), rows="nansum log"),
    "nansum_method": case(lambda t, x: x.nansum(1, keepdim=True) * x, f(2, 3), rows="nansum mul"),
    "t.nanmean": case(lambda t, x: t.nanmean(x.log(), dim=0), f(2, 3), rows="nansum log div"),
    "nanmean_method": case(lambda t, x: x.nanmean() * x, f(3), rows="nansum div mul"),
    "t.masked_select": case(lambda t, x: t.masked_select(x, t.tensor([True, False, True])), f(2, 3),
                            rows="masked_select"),
    "masked_select_method": case(lambda t, x: x.masked_select(t.tensor([[True], [False]])) * 2, f(2, 3),
                                 rows="masked_select mul"),
    # masked_select's gradient under create_graph: MaskedScatterBackward0 of (zeros, grad), as PyTorch's
    "masked_select_grad_of_grad": case(
        lambda t, x: t.autograd.grad((t.masked_select(x, x > 0) ** 3).sum(), x, create_graph=True)[0] * 1.5,
        f(2, 3), rows=("masked_scatter",), smooth=False),
    "t.diff": case(lambda t, x: t.diff(x, n=2), f(2, 4), rows="sub slice"),
    "diff_method": case(lambda t, x, y: x.diff(dim=0, prepend=y), f(2, 3), f(1, 3), rows="sub slice cat"),
    # (smooth=False: its create_graph gradient is built from gradcli's ops, not PyTorch's
    # NativeLayerNormBackwardBackward0; the values agree, see tests/corpus/MISMATCHES.md)
    "F.layer_norm": case(lambda t, x: F(t).layer_norm(x, (3,)), f(2, 3), rows="layer_norm", smooth=False),
    "F.layer_norm_affine": case(lambda t, x, w, b: F(t).layer_norm(x, [2, 3], w, b), f(2, 2, 3), f(2, 3),
                                f(2, 3), rows="layer_norm", smooth=False),
    "t.addcmul": case(lambda t, x, y, z: t.addcmul(x, y, z, value=0.5), f(2, 3), f(3), f(2, 1),
                      rows="addcmul"),
    "addcmul_method": case(lambda t, x, y, z: x.addcmul(y, z), f(3), f(3), f(3), rows="addcmul"),
    "addcmul_": case(lambda t, x, y, z: (x * 1).addcmul_(y, z, value=-2), f(2, 3), f(2, 3), f(3),
                     rows="addcmul mul"),
    "t.addcdiv": case(lambda t, x, y, z: t.addcdiv(x, y, z, value=0.5), f(2, 3), f(3), p(2, 1),
                      rows="addcdiv"),
    "addcdiv_method": case(lambda t, x, y, z: x.addcdiv(y, z), f(3), f(3), p(3), rows="addcdiv"),
    "addcdiv_": case(lambda t, x, y, z: (x * 1).addcdiv_(y, z, value=3), f(2, 3), f(2, 3), p(3),
                     rows="addcdiv mul"),
    "t.lerp": case(lambda t, x, y: t.lerp(x, y, 0.3), f(2, 3), f(3), rows="lerp"),
    "lerp_method": case(lambda t, x, y: x.lerp(y, 0.8), f(3), f(2, 3), rows="lerp"),
    "lerp_": case(lambda t, x, y: (x * 1).lerp_(y, 1.5), f(2, 3), f(2, 3), rows="lerp mul"),
    "t.atan2": case(lambda t, x, y: t.atan2(x, y), f(2, 3), f(3), rows="atan2"),
    "atan2_method": case(lambda t, x, y: x.atan2(y), f(3), c(2, 3), rows="atan2"),
    "t.hypot": case(lambda t, x, y: t.hypot(x, y), f(2, 3), f(3), rows="hypot"),
    "hypot_method": case(lambda t, x, y: x.hypot(y), f(3), c(3), rows="hypot"),
    "t.logaddexp": case(lambda t, x, y: t.logaddexp(x, y), f(2, 3), f(3), rows="logaddexp"),
    "logaddexp_method": case(lambda t, x, y: x.logaddexp(y), c(3), f(2, 3), rows="logaddexp"),
    "exp2_method": case(lambda t, x: x.exp2(), f(2, 2), rows="exp2"),
    "t.trunc": case(lambda t, x: t.trunc(x * 3), f(2, 3), rows="trunc mul"),
    "trunc_method": case(lambda t, x: (x * 3).trunc(), f(2, 3), rows="trunc mul"),
    "t.frac": case(lambda t, x: t.frac(x * 3), f(2, 3), rows="frac mul"),
    "frac_method": case(lambda t, x: (x * 3).frac(), f(2, 3), rows="frac mul"),
    "cosh_method": case(lambda t, x: x.cosh(), f(2, 2), rows="cosh"),
    "t.asin": case(lambda t, x: t.asin(x), u(3), rows="asin"),
    "asin_method": case(lambda t, x: x.asin(), u(2, 2), rows="asin"),
    "t.acos": case(lambda t, x: t.acos(x), u(3), rows="acos"),
    "acos_method": case(lambda t, x: x.acos(), u(2, 2), rows="acos"),
    "t.atan": case(lambda t, x: t.atan(x), f(3), rows="atan"),
    "atan_method": case(lambda t, x: x.atan(), f(2, 2), rows="atan"),
    "t.log2": case(lambda t, x: t.log2(x), p(3), rows="log2"),
    "log2_method": case(lambda t, x: x.log2(), p(2, 2), rows="log2"),
    "t.log10": case(lambda t, x: t.log10(x), p(3), rows="log10"),
    "log10_method": case(lambda t, x: x.log10(), p(2, 2), rows="log10"),
    "int_asin_log2": case(lambda t, x: t.asin(x * 0) + t.log2(x * x + 1), i(3)),
    "t.trace": case(lambda t, x: t.trace(x), f(3, 4), rows="trace"),
    "trace_method": case(lambda t, x: x.trace() * x, f(3, 3), rows="trace mul"),
    "t.diag": case(lambda t, x: t.diag(x), f(3), rows="diag_embed"),
    "diag_offset": case(lambda t, x: t.diag(x, -1), f(3), rows="diag_embed"),
    "diag_method": case(lambda t, x: x.diag(1), f(3, 4), rows="diagonal"),
    "diag_matrix": case(lambda t, x: t.diag(x), f(4, 3), rows="diagonal"),
    "t.movedim": case(lambda t, x: t.movedim(x, 0, 2), f(2, 3, 4), rows="permute"),
    "movedim_method": case(lambda t, x: x.movedim((0, 1), (2, 0)), f(2, 3, 4), rows="permute"),
    "t.roll": case(lambda t, x: t.roll(x, 1, 0), f(3, 4), rows="roll"),
    "roll_method": case(lambda t, x: x.roll((1, -1), (0, 1)), f(3, 4), rows="roll"),
    "roll_flat": case(lambda t, x: x.roll(2) * x, f(2, 3), rows="roll mul"),
    # softmin, normalize, linear, one_hot, cosine_similarity, dropout, kl_div
    "F.softmin": case(lambda t, x: F(t).softmin(x, 1), f(2, 3), rows="softmax neg"),
    "F.softmin_dtype": case(lambda t, x: F(t).softmin(x, 0, dtype=t.float64), f(3), rows="softmax neg"),
    "F.normalize": case(lambda t, x: F(t).normalize(x), f(3, 4), rows="norm clamp_min expand div"),
    "F.normalize_p1": case(lambda t, x: F(t).normalize(x, p=1.0, dim=0), f(3, 4), rows="norm div"),
    "F.linear": case(lambda t, x, w, b: F(t).linear(x, w, b), f(3, 4), f(5, 4), f(5), rows="addmm t"),
    "F.linear_no_bias": case(lambda t, x, w: F(t).linear(x, w), f(3, 4), f(5, 4), rows="mm t"),
    "F.linear_1d": case(lambda t, x, w, b: F(t).linear(x, w, b), f(4), f(5, 4), f(5), rows="addmm view"),
    "F.linear_3d": case(lambda t, x, w, b: F(t).linear(x, w, b), f(2, 3, 4), f(5, 4), f(5),
                        rows="addmm view"),
    "F.linear_strided": case(lambda t, x, w, b: F(t).linear(x.transpose(0, 1), w, b), f(3, 2, 4), f(5, 4),
                             c(5), rows="add"),
    "F.linear_const_weight": case(lambda t, x, w, b: F(t).linear(x, w, b), f(2, 3), c(4, 3), f(4),
                                  rows="addmm"),
    "F.one_hot": case(lambda t, x: F(t).one_hot((x > 0).long() * 2), f(4)),
    "F.one_hot_classes": case(lambda t, x: F(t).one_hot((x > 0).long(), num_classes=3), f(2, 3)),
    "F.cosine_similarity": case(lambda t, x, y: F(t).cosine_similarity(x, y), f(3, 4), f(3, 4),
                                rows="norm clone div mul sum_dim"),
    "F.cosine_similarity_bcast": case(lambda t, x, y: F(t).cosine_similarity(x, y, dim=0), f(3, 4), f(3, 1),
                                      rows="norm clone div mul sum_dim expand"),
    "F.dropout_eval": case(lambda t, x: F(t).dropout(x, 0.3, training=False) * 2, f(3), rows="mul"),
    "F.dropout_all": case(lambda t, x: F(t).dropout(x, 1.0), f(3), rows="mul"),
    "F.kl_div": case(lambda t, x, y: F(t).kl_div(x.log_softmax(1), y, reduction="batchmean"), f(2, 3),
                     Arg((2, 3), "posconst"), rows="sub mul sum div log_softmax"),
    "F.kl_div_mean": case(lambda t, x, y: F(t).kl_div(x, y), f(2, 3), Arg((2, 3), "posconst"),
                          rows="sub mul mean"),
    "F.kl_div_none": case(lambda t, x, y: F(t).kl_div(x, y, reduction="none"), f(2, 3), p(2, 3),
                          rows="xlogy sub mul"),
    "F.kl_div_log_target": case(lambda t, x, y: F(t).kl_div(x, y, reduction="sum", log_target=True), f(2, 3),
                                f(2, 3), rows="exp sub mul sum"),
    # copies, conversions and in-place ops on non-leaves
    "clone": case(lambda t, x: t.clone(x), f(3), rows="clone"),
    "clone_method": case(lambda t, x: x.clone(), f(3), rows="clone"),
    "to_double": case(lambda t, x: x.to(t.float64), f(3), rows="to_dtype"),
    "double": case(lambda t, x: x.double() * 2, f(3), rows="to_dtype mul"),
    "float": case(lambda t, x: x.double().float(), f(3), rows="to_dtype"),
    "half": case(lambda t, x: x.half().float(), f(3), rows="to_dtype"),
    "long": case(lambda t, x: x.long(), f(3)),
    "int": case(lambda t, x: x.int(), f(3)),
    "bool": case(lambda t, x: x.bool(), f(3)),
    "to_int": case(lambda t, x: x.to(t.int64) + x, f(3), rows="add"),
    "type_as": case(lambda t, x, y: x.type_as(y.double()), f(3), c(3), rows="to_dtype"),
    "type": case(lambda t, x: x.type(t.float64), f(3), rows="to_dtype"),
    "zero_": case(_inplace("zero_"), f(3), rows="zero_"),
    "fill_": case(_inplace("fill_", 2.5), f(3), rows="fill_"),
    "fill_tensor": case(lambda t, x, v: _inplace("fill_")(t, x, v), f(3), f(), rows="fill_tensor"),
    # (seeded on both sides: the values drawn are PyTorch's)
    "uniform_": case(lambda t, x: (t.manual_seed(3), _inplace("uniform_", -1, 2)(t, x))[1], f(20),
                     rows="uniform_"),
    "normal_": case(lambda t, x: (t.manual_seed(3), _inplace("normal_", 1, 2)(t, x))[1], f(2, 10),
                    rows="normal_"),
    "bernoulli": case(lambda t, x: (t.manual_seed(3), t.bernoulli(x.sigmoid()))[1], f(20), rows="bernoulli"),
    "bernoulli_": case(lambda t, x: (t.manual_seed(3), _inplace("bernoulli_", 0.3)(t, x))[1], f(20),
                       rows="bernoulli_"),
    "bernoulli_tensor_": case(
        lambda t, x, q: (t.manual_seed(3), _inplace("bernoulli_")(t, x, q.sigmoid()))[1], f(2, 10), f(10),
        rows="bernoulli_tensor_"),
    "Tensor.bernoulli": case(lambda t, x: (t.manual_seed(3), x.sigmoid().bernoulli())[1], f(20),
                             rows="bernoulli"),
    "add_": case(_inplace("add_"), f(2, 3), f(3), rows="add"),
    "add_alpha_": case(_inplace("add_", alpha=2.0), f(2, 3), f(3), rows="add"),
    "sub_": case(_inplace("sub_"), f(2, 3), f(3), rows="sub"),
    "mul_": case(_inplace("mul_"), f(2, 3), f(3), rows="mul"),
    "div_": case(_inplace("div_"), f(2, 3), p(3), rows="div"),
    "neg_": case(_inplace("neg_"), f(3), rows="neg"),
    "exp_": case(_inplace("exp_"), f(3), rows="exp"),
    "abs_": case(_inplace("abs_"), f(3), rows="abs", smooth=False),
    "pow_": case(_inplace("pow_", 3), f(3), rows="pow"),
    "clamp_": case(_inplace("clamp_", -0.5, 0.5), f(4), rows="clamp", smooth=False),
    "iops": case(_iadd, f(2, 3), p(3), rows="add sub mul div"),
    "copy_": case(_copy, f(3), f(3), rows="copy_"),
    "copy_bcast": case(_copy, f(2, 3), f(3), rows="copy_"),
    # no gradient: comparisons and friends (both sides must agree there is no grad_fn)
    "eq": case(lambda t, x, y: x == y, f(3), f(3)),
    "t.eq": case(lambda t, x, y: t.eq(x, y), f(3), f(1)),
    "eq_method": case(lambda t, x: x.eq(x), f(3)),
    "ne_scalar": case(lambda t, x: x != 1.0, f(3)),
    "t.ne": case(lambda t, x, y: t.ne(x, y), f(3), f(3)),
    "ne_method": case(lambda t, x: x.ne(0.5), f(3)),
    "t.gt": case(lambda t, x, y: t.gt(x, y), f(3), f(3)),
    "gt_method": case(lambda t, x: x.gt(0.5), f(3)),
    "lt_method": case(lambda t, x: x.lt(0.5), f(3)),
    "ge_method": case(lambda t, x: x.ge(0.5), f(3)),
    "t.le": case(lambda t, x: t.le(x, 0.5), f(3)),
    "any_method": case(lambda t, x: t.any(x > 0, 1), f(2, 3)),
    "all_method": case(lambda t, x: (x > 0).all(), f(2, 3)),
    "lt": case(lambda t, x, y: t.lt(x, y), f(3, 1), f(4)),
    "le": case(lambda t, x, y: x.le(y), f(3), f(3)),
    "gt": case(lambda t, x: x > 0, f(3)),
    "ge": case(lambda t, x, y: t.ge(x, y), f(3), c(3)),
    "any": case(lambda t, x: (x > 0).any(), f(3)),
    "all_dim": case(lambda t, x: t.all(x > -5, dim=1), f(2, 3)),
    "logical_not": case(lambda t, x: t.logical_not(x > 0), f(3)),
    "logical_and": case(lambda t, x: t.logical_and(x > 0, x < 1), f(3)),
    "logical_or": case(lambda t, x: t.logical_or(x > 0, x < -1), f(3)),
    "isnan": case(lambda t, x: t.isnan(x.log()), f(4)),
    "isnan_method": case(lambda t, x: x.isnan(), f(3)),
    "isinf": case(lambda t, x: t.isinf(x / 0.0), f(3)),
    "isinf_method": case(lambda t, x: (x / 0.0).isinf(), f(3)),
    "isfinite": case(lambda t, x: t.isfinite(x.log()), f(4)),
    "isfinite_method": case(lambda t, x: x.isfinite(), i(3)),
    "isclose": case(lambda t, x, y: t.isclose(x, y), f(3), f(3)),
    "int_exp": case(lambda t, x: t.exp(x), i(3)),
    "int_sum": case(lambda t, x: x.sum(), i(2, 3)),
    "int_mul_float": case(lambda t, x: x * 2.5, i(3)),
    "int_div_int": case(lambda t, x, y: x / (y * 0 + 2), i(3), i(3)),
    "bool_add": case(lambda t, x: (x > 0) + (x < 1), f(3)),
}


# ------------------------------------------------------------------ running a case on both sides
TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-10, atol=1e-12)}


def run_ours(name, cs, dtype_name):
    arrays = make_arrays(name, cs.args)
    inputs = [ours_tensor(a, arg, dtype_name) for a, arg in zip(arrays, cs.args)]
    return inputs, cs.fn(G, *inputs)


def run_torch(torch, name, cs, dtype_name):
    arrays = make_arrays(name, cs.args)
    inputs = [torch_tensor(torch, a, arg, dtype_name) for a, arg in zip(arrays, cs.args)]
    return inputs, cs.fn(torch, *inputs)


# The table runs on every device: the CPU; the SIMULATED GPU (tests/fakecupy: gradcli's device plumbing,
# with numpy's arithmetic); and the real GPU (CuPy, marked gpu: skipped without one). On a GPU the inputs
# are made there (as under --device cuda) and the results compared with PyTorch's on the CPU.
DEVICES = ["cpu", "sim-cuda", pytest.param("cuda", marks=pytest.mark.gpu)]


def to_numpy(t):
    if hasattr(t, "_data"):
        return to_host(t._data)
    return t.detach().numpy()


def assert_same_tensor(got, want, dtype_name, what="value"):
    """Same dtype, shape and values (within the dtype's tolerance)."""
    assert str(got.dtype) == str(want.dtype), f"{what}: dtype {got.dtype} != torch's {want.dtype}"
    assert tuple(got.shape) == tuple(want.shape), f"{what}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    g, w = to_numpy(got), to_numpy(want)
    if w.dtype.kind == "f":
        tol = TOL["float32" if w.dtype.itemsize <= 4 else "float64"]
        np.testing.assert_allclose(g, w, err_msg=what, **tol)
    else:
        np.testing.assert_array_equal(g, w, err_msg=what)


def grad_fn_name(t):
    return None if t.grad_fn is None else type(t.grad_fn).__name__


def graph_node_types(t):
    """Every node class reachable from t's grad_fn."""
    seen, stack, kinds = set(), [t.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        kinds.add(type(node))
        stack.extend(n for n, _ in node.next_functions)
    return kinds


def cotangent(shape, dtype_name, seed=7):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype_name)


@pytest.mark.oracle
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_case_matches_torch(torch, name, dtype_name, device):
    with on_device(device):
        _case_matches_torch(torch, name, dtype_name, device)


def _case_matches_torch(torch, name, dtype_name, device):
    cs = CASES[name]
    ours_in, ours_out = run_ours(name, cs, dtype_name)
    if device != "cpu" and hasattr(ours_out, "_data"):
        assert ours_out.device.type == "cuda", f"the result left the GPU: {ours_out.device}"
    torch_in, torch_out = run_torch(torch, name, cs, dtype_name)
    if not isinstance(torch_out, torch.Tensor):
        assert ours_out == torch_out
        return
    assert_same_tensor(ours_out, torch_out, dtype_name, "forward")
    assert grad_fn_name(ours_out) == grad_fn_name(torch_out)
    assert ours_out.requires_grad == torch_out.requires_grad
    assert ours_out.is_leaf == torch_out.is_leaf
    if dtype_name == "float32":  # (in float64, x.double() is x itself: the rows are stated for float32)
        node_types = graph_node_types(ours_out)
        for row in cs.rows:
            assert ops.ROWS[row].node in node_types, f"case {name} does not go through row {row}"
    if not torch_out.requires_grad:
        return
    v = cotangent(tuple(torch_out.shape), str(torch_out.dtype).split(".")[1])
    if cs.backward_error is not None:
        with pytest.raises(RuntimeError) as want:
            torch_out.backward(torch.tensor(v))
        with pytest.raises(RuntimeError) as got:
            ours_out.backward(G.tensor(v.tolist(), dtype=ours_out.dtype))
        assert str(got.value) == str(want.value) == cs.backward_error
        return
    torch_out.backward(torch.tensor(v))
    ours_out.backward(G.tensor(v.tolist(), dtype=ours_out.dtype))
    for k, (a, b) in enumerate(zip(ours_in, torch_in)):
        if b.grad is None:
            assert a.grad is None, f"input {k}: torch has no gradient, gradcli has {a.grad}"
        else:
            assert a.grad is not None, f"input {k}: no gradient"
            assert a.grad.device == a.device, f"input {k}: the gradient is on {a.grad.device}, not {a.device}"
            assert_same_tensor(a.grad, b.grad, dtype_name, f"grad of input {k}")


SMOOTH = [n for n, cs in CASES.items() if cs.rows and cs.smooth and not cs.backward_error]


@pytest.mark.oracle
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", SMOOTH)
def test_second_derivative_matches_torch(torch, name, device):
    """grad of (grad . w) with create_graph, on both sides, in float64."""
    with on_device(device):
        _second_derivative_matches_torch(torch, name)


def _second_derivative_matches_torch(torch, name):
    cs = CASES[name]
    results = []
    runs = ((G, run_ours(name, cs, "float64")), (torch, run_torch(torch, name, cs, "float64")))
    for lib, (inputs, out) in runs:
        diff = [x for x in inputs if x.requires_grad]
        v = lib.tensor(cotangent(tuple(out.shape), "float64").tolist(), dtype=lib.float64)
        grads = lib.autograd.grad(out, diff, v, create_graph=True, allow_unused=True)
        total = None
        for k, g in enumerate(grads):
            if g is None or not g.requires_grad:
                continue
            w = lib.tensor(cotangent(tuple(g.shape), "float64", seed=11 + k).tolist(), dtype=lib.float64)
            term = (g * w).sum()
            total = term if total is None else total + term
        if total is None:
            results.append(None)
            continue
        second = lib.autograd.grad(total, diff, allow_unused=True)
        results.append([None if s is None else s for s in second])
    # A missing second derivative (the first derivative is constant) must be zero on the other side.
    ours, theirs = (r if r is not None else [None] * len(cs.args) for r in results)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if a is None or b is None:
            assert a is None or not to_numpy(a).any(), f"second derivative {k}: torch has none, gradcli {a}"
            assert b is None or not to_numpy(b).any(), f"second derivative {k}: gradcli has none, torch {b}"
        else:
            assert_same_tensor(a, b, "float64", f"second derivative {k}")


def test_every_row_has_a_gradient_case():
    covered = {row for cs in CASES.values() for row in cs.rows}
    missing = sorted(set(ops.ROWS) - covered)
    assert not missing, f"rows of ops.ROWS without a gradient case: {missing}"
    unknown = sorted(covered - set(ops.ROWS))
    assert not unknown, f"cases name rows that do not exist: {unknown}"


def _table_source():
    import sys

    text = inspect.getsource(sys.modules[__name__])
    start = text.index("def _dbl_index")
    return text[start: text.index("\n}\n", text.index("CASES: dict"))]


def test_every_torch_function_has_a_case():
    """Each torch.* function appears in the case table as `t.name(`."""
    sources = _table_source()
    functions = set(MODULES["torch"].members) - {
        "tensor", "as_tensor", "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "full_like",
        "arange", "linspace", "eye", "rand", "randn", "rand_like", "randn_like", "randint", "randperm",
        "normal", "manual_seed", "numel", "is_tensor", "equal", "allclose",
    }
    functions = {n for n in functions if callable(MODULES["torch"].members[n]) and n[0].islower()}
    functions -= {"no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "get_default_dtype",
                  "set_default_dtype", "device", "dtype", "set_printoptions", "is_anomaly_enabled",
                  "is_anomaly_check_nan_enabled"}
    missing = sorted(n for n in functions if f"t.{n}(" not in sources)
    assert not missing, f"torch functions without a case: {missing}"


def test_every_tensor_method_has_a_case():
    """Each math method a script may call on a Tensor appears in some case's source as `.name(`."""
    from gradcli.tensor import Tensor

    sources = _table_source()
    not_ops = set("""
        data grad grad_fn requires_grad is_leaf shape dtype device T mT ndim names backward detach detach_
        requires_grad_ retain_grad retains_grad item tolist numel size dim contiguous is_contiguous to cpu
        cuda
        numpy is_floating_point element_size nelement new_tensor new_zeros new_ones zeros_like ones_like equal
        allclose register_hook output_nr copy_ zero_ fill_ uniform_ normal_ bernoulli_ add_ sub_ mul_ div_
        clamp_ neg_ exp_ pow_ abs_
    """.split())
    methods = {n for n in Tensor.SCRIPT_ATTRS - not_ops if callable(getattr(Tensor, n, None))}
    missing = sorted(n for n in methods if f".{n}(" not in sources)
    assert not missing, f"Tensor methods without a case: {missing}"
    # the in-place methods have their own cases, built by name (see _inplace)
    inplace = {n for n in Tensor.SCRIPT_ATTRS if n.endswith("_") and n not in ("requires_grad_", "detach_")}
    missing = sorted(n for n in inplace if f'_inplace("{n}"' not in sources and f".{n}(" not in sources)
    assert not missing, f"in-place methods without a case: {missing}"


# ------------------------------------------------------------------ property tests: broadcasting
BINARY = {
    "add": lambda t, x, y: x + y,
    "sub": lambda t, x, y: x - y,
    "mul": lambda t, x, y: x * y,
    "div": lambda t, x, y: x / y,
    "pow": lambda t, x, y: x.abs() ** y,
    "maximum": lambda t, x, y: t.maximum(x, y),
    "minimum": lambda t, x, y: t.minimum(x, y),
    "where": lambda t, x, y: t.where(x > y, x, y),
    "atan_like": lambda t, x, y: (x * y).tanh() + x.exp() / (1 + y * y),
}


def _values(shape, dtype):
    """Magnitudes in [0.25, 2], every third one negative (away from the kinks of maximum/where at ties)."""
    elements = st.floats(0.25, 2.0, width=32 if dtype == np.float32 else 64)
    signs = np.where(np.arange(int(np.prod(shape))).reshape(shape) % 3, 1, -1)
    return hnp.arrays(dtype, shape, elements=elements).map(lambda a: a * signs)


@st.composite
def binary_inputs(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    dx = draw(st.sampled_from([np.float32, np.float64]))
    dy = draw(st.sampled_from([np.float32, np.float64]))
    x = draw(_values(shapes.input_shapes[0], dx))
    y = draw(_values(shapes.input_shapes[1], dy))
    return x, y


@pytest.mark.oracle
@settings(max_examples=25, deadline=None)
@given(data=binary_inputs(), op=st.sampled_from(sorted(BINARY)))
def test_broadcast_binary_ops_match_torch(torch, data, op):
    x, y = data
    fn = BINARY[op]
    tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    gx = G.tensor(x.tolist(), dtype=getattr(G, str(x.dtype)), requires_grad=True)
    gy = G.tensor(y.tolist(), dtype=getattr(G, str(y.dtype)), requires_grad=True)
    want, got = fn(torch, tx, ty), fn(G, gx, gy)
    dt = str(want.dtype).split(".")[1]
    assert_same_tensor(got, want, dt, "forward")
    assert grad_fn_name(got) == grad_fn_name(want)
    v = cotangent(tuple(want.shape), dt)
    want.backward(torch.tensor(v))
    got.backward(G.tensor(v.tolist(), dtype=got.dtype))
    assert_same_tensor(gx.grad, tx.grad, str(x.dtype), "grad x")
    assert_same_tensor(gy.grad, ty.grad, str(y.dtype), "grad y")


# ------------------------------------------------------------------ float16 as PyTorch's kernels compute it
# PyTorch computes float16 in float32 ("opmath") in some kernels and in float16 steps in others, and reads a
# number operand of mul and div in float32 but converts it to float16 for add and sub: every case here was
# measured against torch 2.13, value for value and bit for bit (16 elements: its kernels' scalar loop; 40:
# their vectorised loop over blocks of 32, then the scalar one).
HALF_VALUES = [0.0, -0.0, 6e-08, 1e-04, 0.1, 0.2, 0.333, 3.3, -2.5, -0.7, 100.0, 6e4, -6e4, 1.0, 0.5, 2.0]
HALF_OTHER = [1.5, -0.3, 0.7, 2.0, 0.1, -3.3, 0.0, 1e-3, 1e4, -0.25, 7.0, 3.0, -1.0, 0.2, 0.5, 6e4]
HALF_UNIT = [0.0, -0.0, 1e-04, 0.1, 0.2, 0.333, -0.9, 0.5, 0.75, -0.25, 0.99, 1e-3, 0.6, 0.01, -0.5, 0.3]
HALF_GRAD = [0.3, -1.7, 2.1, 0.9, 1.0, -0.1, 0.25, 3.0, -2.0, 0.7, 0.01, 1.3, 0.6, -0.45, 5.0, 0.125]
HALF_CASES = {
    "mul 1e30": (lambda T, x, y: x * 1e30, HALF_VALUES),
    "div 2e-3": (lambda T, x, y: x / 2e-3, HALF_VALUES),
    "mul 0.1 and -3.7": (lambda T, x, y: x * 0.1 - x * -3.7, HALF_VALUES),
    "add 0.1": (lambda T, x, y: x + 0.1, HALF_VALUES),
    "rdiv": (lambda T, x, y: 0.333 / x, HALF_VALUES),
    "add alpha": (lambda T, x, y: T.add(x, y, alpha=0.1), HALF_VALUES),
    "sub number alpha": (lambda T, x, y: T.sub(x, 0.3, alpha=3), HALF_VALUES),
    "mul 0-d float32": (lambda T, x, y: x * T.tensor(0.1) + x * T.tensor(1e30), HALF_UNIT),
    "div int": (lambda T, x, y: x / 100000 + x * 100000, HALF_UNIT),
    "pow 0.3": (lambda T, x, y: x.abs() ** 0.3, HALF_VALUES),
    "pow 3": (lambda T, x, y: x ** 3, HALF_UNIT),
    "sigmoid": (lambda T, x, y: T.sigmoid(x), HALF_UNIT),
    "tanh": (lambda T, x, y: T.tanh(x), HALF_UNIT),
    "silu": (lambda T, x, y: T.nn.functional.silu(x), HALF_UNIT),
    "gelu": (lambda T, x, y: T.nn.functional.gelu(x), HALF_UNIT),
    "elu": (lambda T, x, y: T.nn.functional.elu(x, 0.3), HALF_UNIT),
    "leaky_relu": (lambda T, x, y: T.nn.functional.leaky_relu(x), HALF_VALUES),
    "softplus": (lambda T, x, y: T.nn.functional.softplus(x, beta=2.0), HALF_VALUES),
    "softmax": (lambda T, x, y: T.softmax(x, 0), HALF_UNIT),
    "log_softmax": (lambda T, x, y: T.log_softmax(x, 0), HALF_UNIT),
    "softmax over dim 0": (lambda T, x, y: T.softmax(x.reshape(4, 4), 0), HALF_VALUES),
    "rsqrt": (lambda T, x, y: T.rsqrt(x.abs() + 0.01), HALF_UNIT),
    "log2": (lambda T, x, y: T.log2(x.abs() + 0.01), HALF_VALUES),
    "reciprocal": (lambda T, x, y: T.reciprocal(x), HALF_VALUES),
    "cumsum": (lambda T, x, y: x.cumsum(0), HALF_VALUES),
    "sum over dim 0": (lambda T, x, y: x.reshape(4, 4).sum(0), HALF_UNIT),
    "var": (lambda T, x, y: x.var(), HALF_VALUES),
    "std": (lambda T, x, y: x.std(), HALF_UNIT),
    "norm": (lambda T, x, y: x.norm(), HALF_UNIT),
    "logsumexp": (lambda T, x, y: x.reshape(4, 4).logsumexp(0), HALF_UNIT),
    "mse_loss": (lambda T, x, y: T.nn.functional.mse_loss(x, y, reduction="none"), HALF_VALUES),
    "smooth_l1_loss": (lambda T, x, y: T.nn.functional.smooth_l1_loss(x, y), HALF_VALUES),
    "huber_loss": (lambda T, x, y: T.nn.functional.huber_loss(x, y, reduction="none"), HALF_VALUES),
    "bce_with_logits": (lambda T, x, y: T.nn.functional.binary_cross_entropy_with_logits(x, T.sigmoid(y)),
                        HALF_UNIT),
    "linear": (lambda T, x, y: T.nn.functional.linear(x.reshape(4, 4), y.reshape(4, 4), y[:4]), HALF_UNIT),
    "prod": (lambda T, x, y: (x + 1).prod(), HALF_UNIT),
    "remainder and floor division": (
        lambda T, x, y: x % (y * 1e-3) + (x.detach() // (y.detach() * 1e-3)) * 1e-3, HALF_VALUES),
    "prod of rows with zeros": (lambda T, x, y: x.reshape(4, 4).prod(1), HALF_VALUES),
    "label smoothing": (lambda T, x, y: T.nn.functional.cross_entropy(x.reshape(4, 4), T.tensor([1, 0, 3, 3]),
                                                                       label_smoothing=0.1), HALF_UNIT),
}


def _half_outcome(lib, case, n):
    """(values, x's gradient, y's gradient) as exact Python floats: the case on n float16 elements."""
    fn, values = HALF_CASES[case]
    tile = [values[i % 16] * (1 + 0.01 * (i // 16)) for i in range(n)]
    other = [HALF_OTHER[i % 16] * (1 + 0.01 * (i // 16)) for i in range(n)]
    x = lib.tensor(tile, dtype=lib.float16, requires_grad=True)
    y = lib.tensor(other, dtype=lib.float16, requires_grad=True)
    out = fn(lib, x, y)
    grad = ([HALF_GRAD[i % 16] for i in range(n)] if tuple(out.shape) == (n,) else
            np.full(tuple(out.shape), 0.7).tolist())
    out.backward(lib.tensor(grad, dtype=lib.float16))
    return [repr(v) for v in (out.tolist(), str(out.dtype), None if x.grad is None else x.grad.tolist(),
                              None if y.grad is None else y.grad.tolist())]


_HALF_4X4_ONLY = ("sum over dim 0", "logsumexp", "linear", "prod of rows with zeros", "label smoothing",
                  "softmax over dim 0")  # (cases shaped 4x4: 16 elements only)


@pytest.mark.oracle
@pytest.mark.parametrize(("case", "n"), [(case, n) for case in HALF_CASES for n in (16, 40)
                                         if n == 16 or case not in _HALF_4X4_ONLY])
def test_float16_matches_torch_bit_for_bit(torch, case, n):
    want = _half_outcome(torch, case, n)
    got = _half_outcome(G, case, n)
    assert got == want


@pytest.mark.oracle
@pytest.mark.parametrize(("shape", "dim"), [((200,), None), ((3, 70), 1), ((70, 3), 0), ((2, 3, 80), 2),
                                            ((2, 3, 80), 1), ((2, 65), None)])
def test_float16_prod_matches_torch_bit_for_bit(torch, shape, dim):
    """float16 prod rounds every product: in order along an outer dim, in PyTorch's blocks of 64 (4 x 16
    lanes) along the innermost."""
    values = (np.random.default_rng(5).standard_normal(shape) / 6 + 1).astype(np.float16).tolist()
    got, want = ((x.prod() if dim is None else x.prod(dim)).tolist()
                 for x in (G.tensor(values, dtype=G.float16), torch.tensor(values, dtype=torch.float16)))
    assert got == want


def test_float16_mul_and_div_keep_a_number_in_float32():
    """PyTorch's mul and div read a number in float32 (h * 1e30 is 0. for a zero, not nan; h / 2e-3 rounds
    once); add converts it to float16 first (h + 0.1 adds 0.0999755859375)."""
    h = G.tensor([0.1, 0.2, 3.3, 0.0], dtype=G.float16)
    assert (h * 1e30).tolist()[3] == 0.0
    assert (h / 2e-3).tolist() == [50.0, 100.0, 1650.0, 0.0]
    assert (h * G.tensor(1e30)).tolist()[3] == 0.0
    z = h.clone()
    z.div_(2e-3)
    assert z.tolist() == [50.0, 100.0, 1650.0, 0.0]
    assert (h[3:] + 0.1).tolist() == [0.0999755859375]
    w = G.tensor([0.0, 1.0], dtype=G.float16, requires_grad=True)
    (w * 1e30).backward(G.tensor([0.5, 0.0], dtype=G.float16))
    assert w.grad.tolist() == [float("inf"), 0.0]  # (0.5 * 1e30 overflows float16; 0 * 1e30 does not)


def test_float16_reductions_accumulate_in_float32():
    """A float16 sum over an outer dim, a variance of values near 6e4, a cumsum: added up in float32 and
    rounded once (numpy's float16 variance overflowed to inf, its sum of rows added in float16)."""
    x = G.tensor([6e4, -6e4, 1.0, 2.0], dtype=G.float16)
    assert x.std().tolist() == 48992.0
    rows = G.tensor([[2048.0, 1.0], [1.0, 1.0], [1.0, 1.0]], dtype=G.float16)
    assert rows.sum(0).tolist() == [2050.0, 3.0]  # (2048 + 1 + 1 in float16 steps is 2048)
    assert G.tensor([2048.0, 1.0, 1.0], dtype=G.float16).cumsum(0).tolist() == [2048.0, 2048.0, 2050.0]
    assert G.tensor([-0.0, 1.0], dtype=G.float16).cumsum(0).tolist()[0] == 0.0


def test_float16_number_overflowing_it_is_refused():
    h = G.tensor([0.5, 2.0], dtype=G.float16)
    for fn in (lambda: h ** 7e4, lambda: G.add(h, h, alpha=1e30), lambda: h.masked_fill(h > 0, 1e5)):
        with pytest.raises(RuntimeError, match="cannot be converted to type c10::Half without overflow"):
            fn()


# ------------------------------------------------------------------ type promotion
def _operand(lib, kind):
    """An operand of the given kind: a tensor (dtype name, 'd' suffix for 0-d) or a Python number."""
    if kind == "py_int":
        return 3
    if kind == "py_float":
        return 2.5
    if kind == "py_bool":
        return True
    name, zero_d = (kind[:-3], True) if kind.endswith("_0d") else (kind, False)
    dtype = getattr(lib, name)
    if name == "bool":
        data = True if zero_d else [True, False, True]
    elif name.startswith(("int", "uint")):
        data = 2 if zero_d else [1, 2, 3]
    else:
        data = 1.5 if zero_d else [0.5, 1.5, -2.0]
    return lib.tensor(data, dtype=dtype)


KINDS = ["float32", "float64", "int64", "int32", "uint8", "bool", "float16", "float64_0d", "int64_0d",
         "float32_0d", "bool_0d", "py_int", "py_float", "py_bool"]
PROMOTING = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
}


def _outcome(fn, lib, a, b):
    try:
        out = fn(_operand(lib, a), _operand(lib, b))
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome being compared
        return type(exc).__name__, str(exc)
    return str(out.dtype), out.tolist()


@pytest.mark.oracle
@pytest.mark.parametrize("op", list(PROMOTING))
def test_type_promotion_matches_torch(torch, op):
    """Result dtype and values (or the exception) of every pair of operand kinds, as in PyTorch."""
    fn = PROMOTING[op]
    bad = []
    for a in KINDS:
        for b in KINDS:
            if a.startswith("py_") and b.startswith("py_"):
                continue
            want = _outcome(fn, torch, a, b)
            got = _outcome(fn, G, a, b)
            if not _same_outcome(got, want):
                bad.append(f"{a} {op} {b}: torch {want}, gradcli {got}")
    assert not bad, "\n".join(bad)


def _same_outcome(got, want):
    """Same dtype and (nearly) the same values, or the same exception and message."""
    if got[0] != want[0]:
        return False
    if want[0].endswith("Error"):
        return got[1] == want[1]
    return np.allclose(np.asarray(got[1], dtype=float), np.asarray(want[1], dtype=float), rtol=1e-3,
                       equal_nan=True)


@pytest.mark.oracle
@pytest.mark.parametrize("fn_name", ["maximum", "minimum", "pow", "where", "remainder", "floor_divide", "exp",
                                     "sqrt", "sum", "mean", "matmul", "cat", "stack", "clamp"])
def test_type_promotion_of_functions_matches_torch(torch, fn_name):
    calls = {
        "maximum": lambda t, a, b: t.maximum(a, b),
        "minimum": lambda t, a, b: t.minimum(a, b),
        "pow": lambda t, a, b: a**b,
        "where": lambda t, a, b: t.where(a > 1, a, b),
        "remainder": lambda t, a, b: a % b,
        "floor_divide": lambda t, a, b: a // b,
        "exp": lambda t, a, b: t.exp(a),
        "sqrt": lambda t, a, b: t.sqrt(a),
        "sum": lambda t, a, b: a.sum(),
        "mean": lambda t, a, b: a.mean(),
        "matmul": lambda t, a, b: a @ b,
        "cat": lambda t, a, b: t.cat([a, b]),
        "stack": lambda t, a, b: t.stack([a, b]),
        "clamp": lambda t, a, b: t.clamp(a, 0, 2.5),
    }
    fn = calls[fn_name]
    kinds = ["float32", "float64", "int64", "int32", "bool", "float64_0d", "int64_0d"]
    numbers = ["py_int", "py_float"] if fn_name in ("pow", "remainder", "floor_divide", "where") else []
    bad = []
    for a in kinds:
        for b in kinds + numbers:
            want = _outcome(lambda x, y, fn=fn: fn(torch, x, y), torch, a, b)
            got = _outcome(lambda x, y, fn=fn: fn(G, x, y), G, a, b)
            if not _same_outcome(got, want):
                bad.append(f"{fn_name}({a}, {b}): torch {want}, gradcli {got}")
    assert not bad, "\n".join(bad)


# ------------------------------------------------------------------ dropout in training
@pytest.mark.parametrize("device", ["cpu", "sim-cuda"])
def test_dropout_training_zeroes_or_scales(device):
    """Each value is dropped or scaled by 1 / (1 - p), the gradient is the same mask, and torch.manual_seed
    makes the mask repeat (test_random.py checks that it is PyTorch's mask)."""
    with on_device(device):
        F_ = NS(MODULES["torch.nn.functional"].members)
        outs = []
        for _ in range(2):
            G.manual_seed(3)
            x = G.ones(1000, requires_grad=True)
            y = F_.dropout(x, 0.25)
            y.sum().backward()
            outs.append(to_numpy(y))
            assert type(y.grad_fn).__name__ == "MulBackward0"
            assert y.device == x.device
            np.testing.assert_array_equal(to_numpy(x.grad), to_numpy(y.detach()))
        np.testing.assert_array_equal(outs[0], outs[1])
        values = set(np.unique(outs[0]).tolist())
        assert values == {0.0, np.float32(1) / np.float32(0.75)}
        assert 150 < int((outs[0] == 0).sum()) < 350
