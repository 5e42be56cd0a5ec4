"""PyTorch's function surface over the op table: `torch.exp`, `Tensor.sum(dim=..., keepdim=...)`, the
operators, indexing, and the factories (`torch.tensor`, `zeros`, `arange`, ...).

Argument handling (defaults, keyword names, errors for bad types) lives here so that the op rows in
`ops` stay one line of math each.
"""

from __future__ import annotations

import math
import operator
import re
from types import SimpleNamespace

from . import backend, dtypes, formatting, limits, ops
from .backend import as_array, xp
from .engine import GRAD, edge_to
from .engine import no_grad as engine_no_grad
from .errors import torch_warning
from .ops import ROWS, _dim, _dims, binary, inplace, unary
from .tensor import Device, Size, Tensor

_NUMBER = (int, float, bool)
_BOOL = xp.dtype(bool)


def _need_tensor(name, x, pos=1, arg="input"):
    if type(x) is not Tensor:
        raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not {type(x).__name__}")
    return x


def _as_tensor(x):
    return x if type(x) is Tensor else tensor(x)


# ------------------------------------------------------------------ arithmetic
def add(input, other, *, alpha=1):
    if type(input) is not Tensor and type(other) is not Tensor:
        input = tensor(input)  # two numbers: PyTorch takes them as 0-d tensors
    return binary(ROWS["add"], input, other, {"alpha": alpha} if alpha != 1 else None)


def _check_sub(input, other):
    """PyTorch refuses `-` on bool tensors (a Python bool counts as a bool tensor here)."""
    a = input._data.dtype == bool if type(input) is Tensor else isinstance(input, bool)
    b = other._data.dtype == bool if type(other) is Tensor else isinstance(other, bool)
    if a and b:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if a or b:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def sub(input, other, *, alpha=1):
    if type(input) is not Tensor and type(other) is not Tensor:
        input = tensor(input)  # two numbers: PyTorch takes them as 0-d tensors, as for add, mul and div
    if type(input) is not Tensor:  # torch.sub(2, y): SubBackward0, the number in its place (`2 - y` is rsub)
        if other._data.dtype == bool or isinstance(input, bool):
            _check_sub(input, other)
    elif input._data.dtype == bool or (
            other._data.dtype == bool if type(other) is Tensor else isinstance(other, bool)):
        _check_sub(input, other)
    return binary(ROWS["sub"], input, other, {"alpha": alpha} if alpha != 1 else None)


def _sub_(self, other, *, alpha=1):
    """Tensor.sub_ and `-=`: PyTorch refuses a bool operand there too."""
    _check_sub(self, other)
    return inplace(ROWS["sub"], self, other, {"alpha": alpha} if alpha != 1 else None)


def rsub(input, other, *, alpha=1):
    _check_sub(input, other)
    return binary(ROWS["rsub"], input, other, {"alpha": alpha} if alpha != 1 else None)


def mul(input, other):
    if type(input) is not Tensor and type(other) is not Tensor:
        input = tensor(input)  # two numbers: PyTorch takes them as 0-d tensors
    return binary(ROWS["mul"], input, other)  # (a number first stays first: next_functions keep its place)


_NO_MODE = object()  # (div's rounding_mode not given: div.Tensor; given, even None: div.Tensor_mode)


def _check_rounding_mode(rounding_mode):
    if rounding_mode is not None and rounding_mode not in ("floor", "trunc"):
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")


def div(input, other, *, rounding_mode=_NO_MODE):
    if rounding_mode is not _NO_MODE:  # PyTorch's div.Tensor_mode: DivBackward2, a number as a 0-d tensor
        _check_rounding_mode(rounding_mode)
        if rounding_mode is None:
            return binary(ROWS["div_mode"], _as_tensor(input), other)
        return binary(ROWS["div_rounding"], _as_tensor(input), other, {"rounding_mode": rounding_mode})
    if type(input) is not Tensor and type(other) is not Tensor:
        input = tensor(input)
    return binary(ROWS["div"], input, other)  # (torch.div(2, y): DivBackward0; `2 / y` is _rtruediv)


def _rtruediv(self, other):
    """`2 / y`, as PyTorch's Tensor.__rtruediv__ computes it: reciprocal(y) * 2."""
    if type(other) is not Tensor and not isinstance(other, _NUMBER):
        return NotImplemented
    if ops.FORMULA.scalars and type(other) is not Tensor:  # (C++'s `2 / t` in a backward formula:
        return div(other, self)  # empty_like(t).fill_(2).div_(t), DivBackward0)
    return mul(reciprocal(self), other)


true_divide = divide = div


def reciprocal(input):
    return unary(ROWS["reciprocal"], input)


def floor_divide(input, other):
    if type(input) is not Tensor:
        if type(other) is not Tensor:  # two numbers: PyTorch takes them as 0-d tensors
            return binary(ROWS["floor_divide"], tensor(input), other)
        return binary(ROWS["rfloor_divide"], other, input)
    return binary(ROWS["floor_divide"], input, other)


def remainder(input, other):
    if type(input) is not Tensor:
        return binary(ROWS["rremainder"], _need_tensor("remainder", other, 2, "other"), input)
    return binary(ROWS["remainder_tensor" if type(other) is Tensor else "remainder"], input, other)


_NEG_BOOL = ("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a "
             "mask, use the `~` or `logical_not()` operator instead.")


def neg(input):
    if _need_tensor("neg", input)._data.dtype.kind == "b":
        raise RuntimeError(_NEG_BOOL)
    return unary(ROWS["neg"], input)


negative = neg


def pow(input, exponent):  # noqa: A001 - PyTorch's name
    if type(input) is not Tensor:
        _need_tensor("pow", exponent, 2, "exponent")
        if type(input) is bool:
            _no_kernel(exponent, "pow")
        return binary(ROWS["rpow"], exponent, input)
    if type(exponent) is Tensor:
        ops._no_bool("pow", input._data, exponent._data)
        return binary(ROWS["pow_tensor"], input, exponent)
    if not isinstance(exponent, _NUMBER):
        raise TypeError(
            f"pow() received an invalid combination of arguments - got (Tensor, {type(exponent).__name__})"
        )
    if type(exponent) is int and not -0x80 <= exponent <= 0x7F:  # (fits every dtype: nothing to check)
        exponent = _int_exponent(exponent, input._data.dtype)
    return unary(ROWS["pow"], input, {"exponent": exponent})


def _int_exponent(exponent, dtype):
    """pow's Python int exponent, checked as PyTorch checks it: outside int64 against int64 (or the float
    dtype), inside against an integer tensor's dtype, where a negative one is refused by the kernel."""
    if not -(1 << 63) <= exponent < 1 << 63:
        return _scalar_for(exponent, dtype if dtype.kind == "f" else xp.dtype("int64"))
    if dtype.kind in "iu" and exponent >= 0:
        return _scalar_for(exponent, dtype)
    return exponent


def square(input):
    return pow(input, 2)


def _unary_fn(key, name):
    row = ROWS[key]

    def fn(input):
        if type(input) is not Tensor:
            _need_tensor(name, input)
        if input._data.dtype.kind != "f":
            input = to(input, dtypes.defaults.float)
        return unary(row, input)

    fn.__name__ = name
    return fn


exp = _unary_fn("exp", "exp")
expm1 = _unary_fn("expm1", "expm1")
exp2 = _unary_fn("exp2", "exp2")
log = _unary_fn("log", "log")
log1p = _unary_fn("log1p", "log1p")
sin = _unary_fn("sin", "sin")
cos = _unary_fn("cos", "cos")
tan = _unary_fn("tan", "tan")
tanh = _unary_fn("tanh", "tanh")
sigmoid = _unary_fn("sigmoid", "sigmoid")
sqrt = _unary_fn("sqrt", "sqrt")
rsqrt = _unary_fn("rsqrt", "rsqrt")


def _no_kernel(input, kernel, kinds="b"):
    """PyTorch's NotImplementedError for a dtype its kernel lacks (numpy would compute something)."""
    if input._data.dtype.kind in kinds:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{input.dtype.legacy[:-6]}\'')


def relu(input, inplace=False):
    if _need_tensor("relu", input)._data.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    return unary(ROWS["relu"], input)


def abs(input):  # noqa: A001
    _no_kernel(_need_tensor("abs", input), "abs_cpu")
    return unary(ROWS["abs"], input)


def _float_bound(input, *bounds):
    """clamp's input, made float when a bound is a float and the tensor is not (as PyTorch promotes)."""
    if input._data.dtype.kind != "f" and builtin_any(isinstance(b, float) for b in bounds):
        return to(input, dtypes.defaults.float)
    return input


def _check_bounds(name, *bounds):
    """clamp's bounds are tensors, numbers or None, as PyTorch parses them: a list or a complex number
    ((-1) ** 0.5 is one) went on to numpy, which broadcast it and made complex or object tensors."""
    if builtin_all(b is None or type(b) is Tensor or isinstance(b, _NUMBER) for b in bounds):
        return
    if builtin_any(isinstance(b, complex) for b in bounds):
        raise RuntimeError("clamp is not supported for complex types")
    got = ", ".join(["Tensor", *(type(b).__name__ for b in bounds if b is not None)])
    raise TypeError(f"{name}() received an invalid combination of arguments - got ({got})")


def _no_bool_clamp(input, lo, hi):
    """PyTorch has no bool clamp kernel: a bool tensor clamped by bools (a bool result) is an error."""
    if input._data.dtype.kind == "b" and builtin_all(b is None or type(b) is bool for b in (lo, hi)):
        kernel = "clamp_scalar_cpu" if lo is not None and hi is not None else (
            "clamp_min_scalar_cpu" if lo is not None else "clamp_max_scalar_cpu")
        _no_kernel(input, kernel)


def clamp(input, min=None, max=None):  # noqa: A002
    _need_tensor("clamp", input)
    _check_bounds("clamp", min, max)
    _no_bool_clamp(input, min, max)
    input = _float_bound(input, min, max)
    if type(min) is Tensor or type(max) is Tensor:
        return _clamp_tensor(input, min, max)
    if type(min) is int:
        min = _scalar_for(min, input._data.dtype)  # noqa: A001
    if type(max) is int:
        max = _scalar_for(max, input._data.dtype)  # noqa: A001
    return unary(ROWS["clamp"], input, {"min": min, "max": max})


def _clamp_tensor(input, lo, hi):
    """clamp with tensor bounds: a three-input op, so gradients reach the bounds too."""
    if lo is not None and type(lo) is not Tensor:
        lo = tensor(lo, dtype=input.dtype)
    if hi is not None and type(hi) is not Tensor:
        hi = tensor(hi, dtype=input.dtype)
    bounds = [b for b in (lo, hi) if b is not None]
    want = dtypes.result_type([input, *bounds]).np
    arrays = [None if b is None else b._data.astype(want, copy=False) for b in (input, lo, hi)]
    for b in arrays[1:]:
        if b is not None:
            ops.check_broadcast(arrays[0].shape, b.shape)
    x, la, ha = arrays
    out = ops._wrap(ops._clamp_fwd(x, min=la, max=ha))
    if GRAD.enabled and builtin_any(t is not None and t._rg for t in (input, lo, hi)):
        ops._record(ROWS["clamp_tensor"], out, (input, lo, hi), {"min": la, "max": ha})
    return out


clip = clamp


def clamp_min(input, min):  # noqa: A002
    _check_bounds("clamp_min", min)
    _no_bool_clamp(_need_tensor("clamp_min", input), min, None)
    input = _float_bound(input, min)
    if type(min) is Tensor:
        return _clamp_tensor(input, min, None)
    if type(min) is int:
        min = _scalar_for(min, input._data.dtype)  # noqa: A001
    return unary(ROWS["clamp_min"], input, {"min": min})


def clamp_max(input, max):  # noqa: A002
    _check_bounds("clamp_max", max)
    _no_bool_clamp(_need_tensor("clamp_max", input), None, max)
    input = _float_bound(input, max)
    if type(max) is Tensor:
        return _clamp_tensor(input, None, max)
    if type(max) is int:
        max = _scalar_for(max, input._data.dtype)  # noqa: A001
    return unary(ROWS["clamp_max"], input, {"max": max})


def _tensor_pair_fn(name):
    """torch.<name>(input, other) of two tensors (a number is refused as PyTorch's parser refuses it)."""
    row = ROWS[name]

    def fn(input, other):
        return binary(row, _need_tensor(name, input), _need_tensor(name, other, 2, "other"))

    fn.__name__ = name
    return fn


def _addc(name, input, tensor1, tensor2, value):
    """addcmul / addcdiv: the three tensors broadcast and promoted together, the kernel's values, and one
    node of (input, tensor1, tensor2)."""
    for position, (arg, t) in enumerate((("input", input), ("tensor1", tensor1), ("tensor2", tensor2)), 1):
        _need_tensor(name, t, position, arg)
    want = dtypes.result_type((input, tensor1, tensor2)).np
    if want.kind != "f":
        if name == "addcdiv":
            raise RuntimeError(
                "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will "
                "perform a true division of tensor1 and tensor2. The historic addcdiv behavior can be "
                "implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer "
                "inputs and as (input + value * tensor1 / tensor2) for float inputs. The future addcdiv "
                "behavior is just the latter implementation: (input + value * tensor1 / tensor2), for all "
                "dtypes.")
        if not isinstance(value, int):
            raise RuntimeError(f"gradcli: {name} of integer tensors with a value that is not an int is not "
                               "supported")
    shape = ops.check_broadcast(ops.check_broadcast(input._data.shape, tensor1._data.shape),
                                tensor2._data.shape)
    s, a, b = (backend.namespace_of(t._data).broadcast_to(t._data.astype(want, copy=False), shape)
               for t in (input, tensor1, tensor2))
    compute = ops._addcmul_values if name == "addcmul" else ops._addcdiv_values
    res = ops._wrap(backend.as_array(compute(s, a, b, value)).astype(want, copy=False))
    inputs = (input, tensor1, tensor2)
    if GRAD.enabled and builtin_any(t._rg for t in inputs):
        ops._record(ROWS[name], res, inputs, {"tensor1": tensor1, "tensor2": tensor2, "value": value})
    return res


def addcmul(input, tensor1, tensor2, *, value=1):
    return _addc("addcmul", input, tensor1, tensor2, ops._as_number(value))


def addcdiv(input, tensor1, tensor2, *, value=1):
    return _addc("addcdiv", input, tensor1, tensor2, ops._as_number(value))


def _addc_(name, self, tensor1, tensor2, value):
    """addcmul_ / addcdiv_ (an optimizer's step, usually under no_grad): the result written into self, whose
    node becomes the op's (AddcmulBackward0 / AddcdivBackward0 over self's old history), as in PyTorch."""
    needs_grad = GRAD.enabled and builtin_any(type(t) is Tensor and t._rg for t in (self, tensor1, tensor2))
    if needs_grad:
        if self._rg and self.grad_fn is None and self._base is None:
            raise RuntimeError(_LEAF_IN_PLACE)
        if self._base is not None:
            raise RuntimeError(f"gradcli: {name}_ of a view is not supported where gradients are recorded")
    out = _addc(name, self, tensor1, tensor2, ops._as_number(value))
    ops.check_inplace_result(out._data, self._data)
    if not needs_grad:
        with engine_no_grad():
            return _copy_(self, out)
    self._data[...] = out._data.astype(self._data.dtype, copy=False)
    counter = self._version
    counter[0] += 1
    self.grad_fn, self.output_nr, self._rg = out.grad_fn, 0, True
    if len(counter) > 1:
        ops.forget_view_nodes(counter)
    return self


def lerp(input, end, weight):
    """input + weight * (end - input) for a number weight (a tensor weight is not supported)."""
    _need_tensor("lerp", input)
    _need_tensor("lerp", end, 2, "end")
    if type(weight) is Tensor:
        raise TypeError("gradcli: lerp with a tensor weight is not supported (a number weight is)")
    _lerp_dtypes(input, end)
    return binary(ROWS["lerp"], input, end, {"weight": ops._as_number(weight)})


def _lerp_(self, end, weight):
    _need_tensor("lerp_", end, 1, "end")
    if type(weight) is Tensor:
        raise TypeError("gradcli: lerp_ with a tensor weight is not supported (a number weight is)")
    _lerp_dtypes(self, end)
    return inplace(ROWS["lerp"], self, end, {"weight": ops._as_number(weight)})


def _lerp_dtypes(input, end):
    if input.dtype is not end.dtype:
        names = ops._C_NAMES
        raise RuntimeError(f"expected dtype {names[input._data.dtype.name]} for `end` but got dtype "
                           f"{names[end._data.dtype.name]}")


maximum = _tensor_pair_fn("maximum")
minimum = _tensor_pair_fn("minimum")
atan2 = _tensor_pair_fn("atan2")
hypot = _tensor_pair_fn("hypot")
logaddexp = _tensor_pair_fn("logaddexp")



def where(condition, input=None, other=None):
    cond = _need_tensor("where", condition, 1, "condition")
    if input is None and other is None:  # (nonzero: a 0-d condition counts as one element)
        data = cond._data
        return tuple(_nograd(i) for i in backend.namespace_of(data).nonzero(data.reshape(-1) if not data.ndim
                                                                            else data))
    if cond._data.dtype.kind != "b":
        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{cond.dtype.name.capitalize()}")
    if type(input) is not Tensor and type(other) is not Tensor:
        input = tensor(input)
    # (a number beside a tensor is a weak scalar: it takes the tensor's dtype where its kind allows,
    # where(c, 1, int16_tensor) is int16)
    if type(input) is not Tensor:
        input = tensor(input, dtype=dtypes.result_type((other, input)))
    if type(other) is not Tensor:
        other = tensor(other, dtype=dtypes.result_type((input, other)))
    # PyTorch broadcasts condition with input first, then with other (its message names them in that order)
    ops.check_broadcast(ops.check_broadcast(cond._data.shape, input._data.shape), other._data.shape)
    c = cond._data
    if type(c) is not type(input._data):
        if c.ndim == 0 and type(c) is xp.ndarray:  # a 0-d CPU condition joins GPU tensors, as in PyTorch
            c = backend.to_device(c, "cuda")
        else:
            ops.check_same_device((c, input._data, other._data))
    return binary(ROWS["where"], input, other, {"condition": c})


# ------------------------------------------------------------------ reductions
def _summing(name, whole_row, dim_row, input, dim, keepdim, dtype):
    """sum, nansum and mean: cast to dtype first, then the whole-tensor row or the one over dims."""
    _need_tensor(name, input)
    if dtype is not None:
        input = to(input, dtype)
    if dim is None:
        return _reduce(ROWS[whole_row], input, None, False, whole=True)
    return _reduce(ROWS[dim_row], input, dim, keepdim)


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001
    return _summing("sum", "sum", "sum_dim", input, dim, keepdim, dtype)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """PyTorch's diff: n times, narrow(1, len - 1) - narrow(0, len - 1) along dim (logical_xor for bool),
    after prepend and append are concatenated on."""
    data = _need_tensor("diff", input)._data
    if not data.ndim:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _dim(dim, data.ndim)
    if prepend is not None or append is not None:
        input = cat([t for t in (prepend, input, append) if t is not None], d)
    if n == 0:  # (PyTorch copies into a new tensor: CopyBackwards)
        return _copy_(_nograd(backend.namespace_of(input._data).empty_like(input._data)), input)
    for _ in range(builtin_min(n, input._data.shape[d])):
        length = input._data.shape[d] - 1
        later, earlier = narrow(input, d, 1, length), narrow(input, d, 0, length)
        if input._data.dtype == xp.bool_:
            input = _logical("logical_xor", xp.logical_xor, later, earlier)
        else:
            input = sub(later, earlier)
    return input


def masked_select(input, mask):
    """input's elements where mask (a bool tensor, broadcast with input) is True, as a 1-d tensor."""
    _need_tensor("masked_select", input)
    _need_tensor("masked_select", mask, 2, "mask")
    if mask._data.dtype != xp.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    data = input._data
    mask_data = mask._data
    if type(mask_data) is not type(data):
        mask_data = backend.like(backend.to_host(mask_data), backend.device_type_of(data))
    return unary(ROWS["masked_select"], input, {"mask": mask_data, "shape": data.shape})


def _masked_scatter_into_zeros(g, mask):
    """zeros of mask's shape with g's elements where mask is True (MaskedScatterBackward0 of (zeros, g))."""
    zeros = _nograd(backend.namespace_of(g._data).zeros(mask.shape, dtype=g._data.dtype))
    return binary(ROWS["masked_scatter"], zeros, g, {"mask": mask, "source_shape": g._data.shape})


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """sum with each nan counted as 0 (NansumBackward0: no gradient where the input is nan)."""
    return _summing("nansum", "nansum", "nansum", input, dim, keepdim, dtype)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """PyTorch's nanmean: nansum divided by the count of the numbers that are not nan."""
    if not _need_tensor("nanmean", input)._data.dtype.kind == "f":
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but got "
                           f"{input.dtype.legacy[:-6]}")
    count = sum(logical_not(isnan(input)), dim, keepdim)
    return div(nansum(input, dim, keepdim, dtype=dtype), count)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    return _summing("mean", "mean", "mean_dim", input, dim, keepdim, dtype)


def _reduce(row, input, dim, keepdim, whole=False):
    shape = input._data.shape
    dims = _dims(dim, len(shape)) if not whole else tuple(range(len(shape)))
    if not input._data.size:
        ops.check_reduced(shape, dims)
    if whole:
        out = row.forward(input._data)
        params = {"shape": shape, "dims": dims, "keepdim": False}
    else:
        out = row.forward(input._data, dims if len(shape) else None, keepdim)
        params = {"shape": shape, "dims": dims, "keepdim": keepdim}
    res = ops._wrap(out)
    if input._rg and GRAD.enabled:
        ops._record(row, res, (input,), params)
    return res


class _ReturnType(tuple):
    """torch.return_types.max and friends: a (values, indices) pair that prints like PyTorch's."""

    SCRIPT_ATTRS = frozenset({"values", "indices", "count", "index"})
    _name = "max"

    def __new__(cls, name, values, indices):
        self = super().__new__(cls, (values, indices))
        self._name = name
        return self

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]

    def __repr__(self):
        return f"torch.return_types.{self._name}(\nvalues={self[0]!r},\nindices={self[1]!r})"

    __str__ = __repr__


def _max_min(which, input, dim=None, keepdim=False, *, other=None):
    _need_tensor(which, input)
    if type(dim) is Tensor:
        other, dim = dim, None
    if other is not None:
        return maximum(input, other) if which == "max" else minimum(input, other)
    if dim is None:
        if input._data.size == 0:
            raise RuntimeError(
                f"{which}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        return unary(ROWS[which], input)
    d = _dim(dim, input._data.ndim)
    data = input._data
    if not data.size:
        ops.check_nonempty_reduction(which, data.shape, d)
    pick = data.argmax if which == "max" else data.argmin
    arg = pick(axis=d, keepdims=keepdim) if data.ndim else backend.namespace_of(data).asarray(0)
    params = {"dim": d, "keepdim": keepdim, "indices": arg, "shape": data.shape}
    values = unary(ROWS[which + "_dim"], input, params)
    return _ReturnType(which, values, _nograd(_int64(arg)))


def max(input, dim=None, keepdim=False, *, other=None):  # noqa: A001
    return _max_min("max", input, dim, keepdim, other=other)


def min(input, dim=None, keepdim=False, *, other=None):  # noqa: A001
    return _max_min("min", input, dim, keepdim, other=other)


def _int64(array):
    """An index result as an int64 array on its own device (numpy's argmax gives a numpy scalar)."""
    return as_array(array).astype(xp.int64, copy=False)


def _arg_pick(name, input, dim, keepdim):
    data = _need_tensor(name, input)._data
    if data.dtype.kind == "b":
        raise RuntimeError(f"{name}(): does not support bool input")
    d = None if dim is None else _dim(dim, data.ndim)
    if not data.size:
        ops.check_nonempty_reduction(name, data.shape, d)
    pick = data.argmax if name == "argmax" else data.argmin
    if d is None:
        return _nograd(_int64(pick()))
    if not data.ndim:  # (numpy has no axis 0 in a 0-d array; PyTorch's dim 0 is the scalar itself)
        return _nograd(_int64(pick()))
    return _nograd(_int64(pick(axis=d, keepdims=keepdim)))


def argmax(input, dim=None, keepdim=False):
    return _arg_pick("argmax", input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    return _arg_pick("argmin", input, dim, keepdim)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    _need_tensor("prod", input)
    if dtype is not None:
        input = to(input, dtype)
    if dim is None:
        return _reduce(ROWS["prod"], input, None, False, whole=True)
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod(): argument 'dim' must be int, not tuple")
    return _reduce(ROWS["prod_dim"], input, dim, keepdim)


# ------------------------------------------------------------------ linear algebra
def mm(input, mat2):
    return binary(ROWS["mm"], _need_tensor("mm", input), _need_tensor("mm", mat2, 2, "mat2"))


def mv(input, vec):
    return binary(ROWS["mv"], _need_tensor("mv", input), _need_tensor("mv", vec, 2, "vec"))


def bmm(input, mat2):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors (attention's scores and mixing)."""
    _need_tensor("bmm", input)
    _need_tensor("bmm", mat2, 2, "mat2")
    for name, t in (("batch1", input), ("batch2", mat2)):
        if t._data.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    return binary(ROWS["bmm"], input, mat2)


def dot(input, other):
    return binary(ROWS["dot"], _need_tensor("dot", input), _need_tensor("dot", other, 2, "tensor"))


def matmul(input, other):
    _need_tensor("matmul", input)
    _need_tensor("matmul", other, 2, "other")
    da, db = input._data.ndim, other._data.ndim
    if da == 0 or db == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D"
        )
    if da == 1 and db == 1:
        return dot(input, other)
    if da == 2 and db == 2:
        return mm(input, other)
    if da == 2 and db == 1:
        return mv(input, other)
    if da == 1 and db == 2:
        return squeeze(mm(unsqueeze(input, 0), other), 0, _row="squeeze_mm")
    if _should_fold(input, other):
        return _matmul_folded(input, other)
    return _matmul_batched(input, other)


# Batched matmul follows PyTorch's at::matmul step by step, so that the graph it records (and prints) is the
# one PyTorch records: fold the batch into rows for mm/mv where that needs no copy, else expand and bmm.
def _should_fold(t1, t2):
    larger_first = t1._data.ndim >= t2._data.ndim
    big = t1._data if larger_first else xp.swapaxes(t2._data, -1, -2)
    small = t2 if larger_first else t1
    if not (big.ndim >= 3 and small._data.ndim <= 2):
        return False
    if small._rg:  # folding keeps the gradient of the small operand small
        return True
    if t1._data.ndim == 2:
        return False
    if big.size == 0:
        return True
    strides, shape = big.strides, big.shape
    return builtin_all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(big.ndim - 2))


def _matmul_folded(t1, t2):
    transpose = t2._data.ndim > t1._data.ndim
    if transpose:
        t1, t2 = transpose_(t2, -1, -2), (t(t1) if t1._data.ndim == 2 else t1)
    shape = t1._data.shape
    out_shape = shape[:-1]
    folded = reshape(t1, _numel(out_shape), shape[-1])
    if t2._data.ndim == 2:
        out = unsafe_view(mm(folded, t2), out_shape + (t2._data.shape[1],))
        return clone(transpose_(out, -1, -2)) if transpose else out
    return unsafe_view(mv(folded, t2), out_shape)


def _matmul_batched(t1, t2):
    s1, s2 = t1._data.shape, t2._data.shape
    n = s1[-2] if len(s1) > 1 else 1
    p = s2[-1] if len(s2) > 1 else 1
    m1, m2 = s1[-1], s2[-2] if len(s2) > 1 else s2[0]
    batch = ops.check_broadcast(s1[: builtin_max(len(s1) - 2, 0)], s2[: builtin_max(len(s2) - 2, 0)])
    count = _numel(batch)
    e1 = reshape(expand(t1, *batch, n, m1), count, n, m1)
    e2 = reshape(expand(t2, *batch, m2, p), count, m2, p)
    out_shape = batch + ((n,) if len(s1) > 1 else ()) + ((p,) if len(s2) > 1 else ())
    return unsafe_view(binary(ROWS["bmm"], e1, e2), out_shape)


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def unsafe_view(input, shape):
    """PyTorch's _unsafe_view: a reshape whose result is not a view (no shared version counter)."""
    return unary(ROWS["unsafe_view"], input, {"shape": tuple(shape), "in_shape": input._data.shape})


def outer(input, vec2):
    for name, t in (("self", _need_tensor("outer", input)), ("vec2", _need_tensor("outer", vec2, 2, "vec2"))):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    # PyTorch's: self.reshape({n, 1}) * vec2 (a ViewBackward0 on the first, the second as it is)
    return mul(reshape(input, input._data.shape[0], 1), vec2)


# ------------------------------------------------------------------ joining
def _tensor_list(name, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
            f"{type(tensors).__name__}"
        )
    for i, t in enumerate(tensors):
        if type(t) is not Tensor:
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
    return list(tensors)


def stack(tensors, dim=0):
    xs = _tensor_list("stack", tensors)
    nd = xs[0]._data.ndim + 1 if xs else 1
    d = _dim(dim, nd)
    return ops.many(ROWS["stack"], xs, {"dim": d, "shapes": [x._data.shape for x in xs]})


def cat(tensors, dim=0):
    xs = _tensor_list("cat", tensors)
    if not xs:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    # PyTorch skips 1-D empty tensors in cat's shapes (legacy behaviour), not in its dtype or its graph
    for i, x in enumerate(xs):
        if not x._data.ndim:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    used = [x for x in xs if not ops.legacy_empty(x._data.shape)]
    d = _dim(dim, used[0]._data.ndim) if used else 0  # (only 1-d empty inputs: no dim to check)
    return ops.many(ROWS["cat"], xs, {"dim": d, "shapes": [x._data.shape for x in xs]})


concat = concatenate = cat


def unbind(input, dim=0):
    return ops.unbind(_need_tensor("unbind", input), dim)


# ------------------------------------------------------------------ nn.functional
def _check_softmax_dtype(name, input, dim):
    """PyTorch's kernels take floating point only (numpy would compute in float64, or refuse a bool
    subtraction in its words); which kernel names itself depends on whether dim is the last."""
    data = input._data
    if data.dtype.kind != "f" and data.size:
        d = _dim(dim, data.ndim)
        kernel = "lastdim_kernel_impl" if data.ndim == 0 or d == data.ndim - 1 else "kernel_impl"
        raise NotImplementedError(f'"{name}_{kernel}" not implemented for \'{input.dtype.legacy[:-6]}\'')


def softmax(input, dim=None, dtype=None):
    _need_tensor("softmax", input)
    if dim is None:
        raise TypeError('softmax() missing 1 required positional arguments: "dim"')
    if dtype is not None:
        input = to(input, dtype)
    _check_softmax_dtype("softmax", input, dim)
    d = _dim(dim, input._data.ndim)
    return unary(ROWS["softmax"], input, {"dim": d})


def _implicit_softmax_dim(input, dim):
    """torch.nn.functional's softmax family takes dim=None (deprecated in PyTorch, which warns): dim 0 for
    0-, 1- and 3-d inputs, else 1 (torch.softmax and the methods require dim)."""
    if dim is not None:
        return dim
    return 0 if _need_tensor("softmax", input)._data.ndim in (0, 1, 3) else 1


def nn_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return softmax(input, _implicit_softmax_dim(input, dim), dtype=dtype)


def nn_log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return log_softmax(input, _implicit_softmax_dim(input, dim), dtype=dtype)


def log_softmax(input, dim=None, dtype=None):
    _need_tensor("log_softmax", input)
    if dim is None:
        raise TypeError('log_softmax() missing 1 required positional arguments: "dim"')
    if dtype is not None:
        input = to(input, dtype)
    _check_softmax_dtype("log_softmax", input, dim)
    d = _dim(dim, input._data.ndim)
    return unary(ROWS["log_softmax"], input, {"dim": d})


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _need_tensor("mse_loss", input)
    _need_tensor("mse_loss", target, 2, "target")
    if not dtypes.result_type((input, target)).is_floating_point:
        _no_kernel(input, "mse_cpu", "biu")
    input, target = _broadcast_pair(input, target)  # (torch.broadcast_tensors: ExpandBackward0 views)
    return binary(ROWS["mse_loss"], input, target, {"reduction": reduction})


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """PyTorch's nll_loss_nd: (C,) and (N, C) inputs are one NllLossBackward0; (N, C, H, W) is
    NllLoss2DBackward0; any other (N, C, d1, ...) is made contiguous and viewed as (N, C, 1, -1) for
    nll_loss2d (ViewBackward0, after a CloneBackward0 if it was not contiguous), its 'none' result viewed
    back to (N, d1, ...)."""
    _need_tensor("nll_loss", input)
    _need_tensor("nll_loss", target, 2, "target")
    shape, target_shape = input._data.shape, target._data.shape
    _check_nll_shapes(shape, target_shape)
    if len(shape) == 3 or len(shape) > 4:
        n, c = shape[:2]
        out_size = (n, *shape[2:])
        if target_shape[1:] != shape[2:]:
            raise RuntimeError(f"Expected target size {list(out_size)}, got {list(target_shape)}")
        # (input.contiguous().view(...): a CloneBackward0 first for a non-contiguous input)
        if input._data.size:
            input = view(input if input._data.flags["C_CONTIGUOUS"] else clone(input), n, c, 1, -1)
        else:
            input = view(input, n, c, 0, 0)
        target = Tensor._make(target._data.reshape((n, 1, -1) if target._data.size else (n, 0, 0)))
        loss = nll_loss(input, target, weight, ignore_index=ignore_index, reduction=reduction)
        return view(loss, out_size) if reduction == "none" else loss
    _check_nll_args(input, target, weight, len(shape) == 4)
    x = input._data
    w = None if weight is None else weight._data.reshape(-1)
    params = {
        "target": target._data,
        "terms": ops.nll_terms(target._data, x.shape, x.dtype, w, ignore_index),
        "reduction": reduction,
        "shape": x.shape,
        "dtype": x.dtype,
        # PyTorch's nll_loss2d backward makes its gradient like the input (empty_like keeps a permuted
        # dense layout), then refuses it unless contiguous: its error, at backward, for such an input
        "permuted": len(shape) == 4 and ops.permuted_dense(x),
        "input": input,  # (for the edge of its gradient's node under create_graph, as PyTorch saves self)
    }
    row = ROWS["nll_loss2d" if len(shape) == 4 else "nll_loss"]
    res = ops._wrap(row.forward(x, params))
    if input._rg and GRAD.enabled:
        ops._record(row, res, (input,), params)
    return res


def _check_nll_shapes(shape, target_shape):
    """PyTorch's checks of nll_loss's shapes (nll_loss_nd, then nll_loss's meta function), in its order,
    before numpy meets an empty or 0-d target ('cannot reshape array of size 0', 'tuple index out of
    range')."""
    if not shape:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    batch = target_shape[0] if target_shape else 0  # (PyTorch reads a 0-d target's batch size as 0)
    if len(shape) != 1 and shape[0] != batch:
        raise ValueError(f"Expected input batch_size ({shape[0]}) to match target batch_size ({batch}).")
    if len(shape) > 2:
        return
    if len(target_shape) > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")


def _check_nll_args(input, target, weight, spatial):
    """The checks of nll_loss (or, for a 4-d input, nll_loss2d) after nll_loss_nd's, in PyTorch's order:
    the target's dimensions and dtype, the weight's size, the shapes, the input's and weight's dtypes."""
    shape, target_shape = input._data.shape, target._data.shape
    if spatial and len(target_shape) != 3:
        raise RuntimeError("only batches of spatial targets supported (3D tensors) but got targets of "
                           f"dimension: {len(target_shape)}")
    kind = target._data.dtype
    if kind != xp.int64 and kind != xp.uint8:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {target.dtype.legacy[:-6]}")
    if len(shape) == 1 and len(target_shape) == 1 and target_shape[0] != 1:
        raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target_shape[0]}")
    if len(shape) == 2 and not target_shape:  # (an empty batch passed nll_loss_nd's check)
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if weight is not None:
        if spatial and weight._data.size != shape[1]:
            raise RuntimeError("weight tensor should be defined either for all or no classes")
        if not spatial and (weight._data.ndim != 1 or weight._data.size != shape[-1]):
            raise RuntimeError(
                f"weight tensor should be defined either for all {shape[-1]} classes or no classes but got "
                f"weight tensor of shape: {list(weight._data.shape)}"
            )
    if spatial and (shape[0], shape[2], shape[3]) != target_shape:
        raise RuntimeError(f"size mismatch (got input: {list(shape)} , target: {list(target_shape)}")
    if input._data.dtype.kind != "f":
        frame = "nll_loss2d_forward_out_frame" if spatial else "nll_loss_out_frame"
        raise NotImplementedError(f'"{frame}" not implemented for \'{input.dtype.legacy[:-6]}\'')
    if weight is not None and weight._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"expected scalar type {input.dtype.legacy[:-6]} but found {weight.dtype.legacy[:-6]}"
        )
    if spatial and kind == xp.uint8:
        raise RuntimeError("expected scalar type Long but found Byte")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    _need_tensor("cross_entropy", input)
    class_dim = 0 if input._data.ndim == 1 else 1
    # Class probabilities (a target of the input's shape, as PyTorch decides) instead of class indices
    probabilities = type(target) is Tensor and target._data.shape == input._data.shape
    if probabilities:
        if target._data.dtype.kind != "f":
            raise RuntimeError("Expected floating point type for target with class probabilities, got "
                               f"{target.dtype.legacy[:-6]}")
        if not input._data.ndim:
            raise IndexError("Dimension specified as 1 but tensor has no dimensions")
    logp = log_softmax(input, class_dim)
    classes = input._data.shape[class_dim]
    if probabilities:
        # -(logp * target) summed, then averaged over the batch by a division by a number (PyTorch's
        # DivBackward1).
        if label_smoothing:
            target = add(mul(target, 1 - label_smoothing), label_smoothing / classes)
        picked = mul(logp, target)
        if reduction == "none":
            return neg(sum(picked, class_dim))
        total = sum(picked)
        if reduction == "sum":
            return neg(total)
        if not input._data.size:  # PyTorch's -(...).sum().fill_(NAN): FillBackward2 under NegBackward0
            return neg(inplace(ROWS["fill_"], total, None, {"value": math.nan}))
        # (divided by the number of rows, input.numel() / C: N for (N, C), N * d1 * ... for (N, C, d1, ...))
        return binary(ROWS["div_scalar"], neg(total), input._data.size // classes)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return loss
    return _label_smoothing(loss, logp, target, weight, ignore_index, reduction, label_smoothing, class_dim)


def _label_smoothing(loss, logp, target, weight, ignore_index, reduction, eps, class_dim):
    """PyTorch's cross_entropy_loss_label_smoothing, step by step (its graph too):
    (1 - eps) * nll + eps / C * (the mean of -logp over classes, masked where the target is ignored)."""
    if weight is not None:
        raise RuntimeError("gradcli: cross_entropy with both weight and label_smoothing is not supported")
    ignored = target._data == ignore_index
    smooth = neg(sum(logp, class_dim))
    ops.inplace(ROWS["masked_fill_"], smooth, None, {"mask": ignored, "value": 0.0})
    if reduction == "mean":
        smooth = div(sum(smooth), _nograd((~ignored).sum()))
    elif reduction == "sum":
        smooth = sum(smooth)
    classes = logp._data.shape[class_dim]
    return add(binary(ROWS["mul_scalar"], loss, 1 - eps), binary(ROWS["mul_scalar"], smooth, eps / classes))


def _float_kernel(name, kernel, input):
    """An activation's input: a tensor of a floating dtype (PyTorch has no integer or bool kernel)."""
    _need_tensor(name, input)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{input.dtype.legacy[:-6]}\'')
    return input


def _no_inplace(name, inplace):
    if inplace:
        raise RuntimeError(f"gradcli: {name}(inplace=True) is not supported")


def gelu(input, *, approximate="none"):
    _need_tensor("gelu", input)
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _float_kernel("gelu", "GeluKernelImpl", input)
    return unary(ROWS["gelu"], input, {"approximate": approximate})


def erf(input):
    _need_tensor("erf", input)
    if input._data.dtype.kind != "f":
        input = to(input, dtypes.defaults.float)
    return unary(ROWS["erf"], input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _float_kernel("leaky_relu", "leaky_relu_cpu", input)
    _no_inplace("leaky_relu", inplace)
    return unary(ROWS["leaky_relu"], input, {"negative_slope": negative_slope})


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if _need_tensor("hardtanh", input)._data.dtype.kind == "b":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    _no_inplace("hardtanh", inplace)
    return unary(ROWS["hardtanh"], input, {"min_val": min_val, "max_val": max_val})


def logsigmoid(input):
    return unary(ROWS["log_sigmoid"], _float_kernel("logsigmoid", "log_sigmoid_cpu", input))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """F.embedding: rows of weight picked by integer indices (EmbeddingBackward0, whose gradient adds each
    picked row's gradient into its row, none into padding_idx)."""
    _need_tensor("embedding", input)
    _need_tensor("embedding", weight, 2, "weight")
    num = weight._data.shape[0] if weight._data.ndim else 0
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= num or padding_idx < 0 and padding_idx < -num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx = padding_idx + num if padding_idx < 0 else padding_idx
    unsupported = (("max_norm", max_norm), ("scale_grad_by_freq", scale_grad_by_freq), ("sparse", sparse))
    for name, value in unsupported:
        if value:
            raise RuntimeError(f"gradcli: embedding({name}=...) is not supported")
    if weight._data.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    indices = input._data
    if indices.dtype not in (xp.int64, xp.int32):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar "
                           f"types: Long, Int; but got torch.{input.dtype.legacy} instead (while checking "
                           "arguments for embedding)")
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= num):
        raise IndexError("index out of range in self")
    if type(indices) is not type(weight._data):
        indices = backend.like(backend.to_host(indices), backend.device_type_of(weight._data))
    return _embedding_rows(weight, indices.astype(xp.int64), -1 if padding_idx is None else padding_idx)


def _embedding_rows(weight, indices, padding_idx):
    return unary(ROWS["embedding"], weight, {"indices": indices, "padding_idx": padding_idx,
                                             "num_weights": weight._data.shape[0]})


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """F.layer_norm: each row over the trailing normalized_shape made mean 0 and variance 1 (biased, plus
    eps), then times weight and plus bias; one NativeLayerNormBackward0 node of (input, weight, bias)."""
    _need_tensor("layer_norm", input)
    if isinstance(normalized_shape, int):
        raise TypeError("layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not "
                        "int")
    norm_shape = tuple(normalized_shape)
    if not norm_shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
                           "least one element, but got normalized_shape = []")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(_need_tensor("layer_norm", t)._data.shape) != norm_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                               f"shape {list(t._data.shape)} and normalized_shape = {list(norm_shape)}")
    data = input._data
    if data.shape[data.ndim - len(norm_shape):] != norm_shape or data.ndim < len(norm_shape):
        raise RuntimeError(f"Given normalized_shape={list(norm_shape)}, expected input with shape "
                           f"[*, {str(list(norm_shape))[1:-1]}], but got input of size{list(data.shape)}")
    if data.dtype.kind != "f":
        raise NotImplementedError(f'"LayerNormKernelImpl" not implemented for \'{input.dtype.legacy[:-6]}\'')
    n = math.prod(norm_shape)
    x2 = data.reshape(-1, n)
    wide = x2.astype(xp.float32) if x2.dtype == xp.float16 else x2
    mean_, rstd = ops._layer_norm_stats(wide, eps)
    y = wide * rstd + (-rstd * mean_)
    if weight is not None:
        y = y * weight._data.reshape(n).astype(wide.dtype)
    if bias is not None:
        y = y + bias._data.reshape(n).astype(wide.dtype)
    res = ops._wrap(y.astype(data.dtype, copy=False).reshape(data.shape))
    inputs = (input, weight, bias)
    if GRAD.enabled and builtin_any(t is not None and t._rg for t in inputs):
        ops._record(ROWS["layer_norm"], res, inputs, {
            "input": input, "weight": weight, "bias": bias, "shape": data.shape, "eps": eps,
            "normalized_shape": norm_shape, "mean": mean_, "rstd": rstd})
    return res


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def elu(input, alpha=1.0, inplace=False):
    _float_kernel("elu", "elu_cpu", input)
    _no_inplace("elu", inplace)
    return unary(ROWS["elu"], input, {"alpha": alpha})


def silu(input, inplace=False):
    _float_kernel("silu", "silu_cpu", input)
    _no_inplace("silu", inplace)
    return unary(ROWS["silu"], input)


def softplus(input, beta=1.0, threshold=20.0):
    _float_kernel("softplus", "softplus_cpu", input)
    return unary(ROWS["softplus"], input, {"beta": beta, "threshold": threshold})


def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _legacy_reduction(size_average, reduce, reduction):
    """size_average= and reduce=, PyTorch's deprecated spelling of reduction=."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else "mean" if size_average else "sum"


def _broadcast_pair(input, target):
    """torch.broadcast_tensors for the elementwise losses: each tensor not of the common shape is expanded
    (an ExpandBackward0 view), the others are passed on as they are."""
    a, b = input._data.shape, target._data.shape
    if a == b:
        return input, target
    torch_warning(f"Using a target size ({_size(target)}) that is different to the input size "
                  f"({_size(input)}). This will likely lead to incorrect results due to broadcasting. Please "
                  "ensure they have the same size.", "torch/nn/functional.py")
    shape = ops.check_broadcast(a, b)
    return (input if a == shape else expand(input, *shape),
            target if b == shape else expand(target, *shape))


def _reduce_by(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return sum(loss)
    if reduction == "mean":
        return mean(loss)
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _size(t):
    return f"torch.Size([{', '.join(str(n) for n in t._data.shape)}])"


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    _need_tensor("binary_cross_entropy", input)
    _need_tensor("binary_cross_entropy", target, 2, "target")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target._data.shape != input._data.shape:
        raise ValueError(
            f"Using a target size ({_size(target)}) that is different to the input size ({_size(input)}) is "
            "deprecated. Please ensure they have the same size."
        )
    w = None
    if weight is not None:
        w = _need_tensor("binary_cross_entropy", weight, 3, "weight")._data
        _broadcastable_to(w.shape, target._data.shape)
        w = xp.broadcast_to(w.astype(input._data.dtype, copy=False), target._data.shape)
    if target._data.dtype != input._data.dtype:
        raise RuntimeError(f"Found dtype {target.dtype.legacy[:-6]} but expected {input.dtype.legacy[:-6]}")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"binary_cross_entropy" not implemented for \'{input.dtype.legacy[:-6]}\'')
    # (the target's gradient, -g * logit(input), is worked out only when it is asked for: it is infinite
    # where the input is 0 or 1)
    params = {"weight": w, "reduction": reduction, "target_grad": target._rg}
    return binary(ROWS["binary_cross_entropy"], input, target, params)


def _broadcastable_to(shape, to_shape):
    """PyTorch's broadcast_shapes check that a weight broadcasts to the target's shape, in its words."""
    for k in range(1, len(shape) + 1):
        n = shape[-k]
        if n != 1 and (k > len(to_shape) or n != to_shape[-k]):
            raise RuntimeError(
                f"Attempting to broadcast a dimension of length {n} at -{k}! Mismatching argument at index 1 "
                f"had torch.Size([{', '.join(map(str, shape))}]); but expected shape should be broadcastable "
                f"to [{', '.join(map(str, to_shape))}]"
            )


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    _need_tensor("binary_cross_entropy_with_logits", input)
    _need_tensor("binary_cross_entropy_with_logits", target, 2, "target")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target._data.shape != input._data.shape:
        raise ValueError(f"Target size ({_size(target)}) must be the same as input size ({_size(input)})")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"log_sigmoid_cpu" not implemented for \'{input.dtype.legacy[:-6]}\'')
    want = dtypes.result_type((input, target))
    if target._data.dtype.kind != "f":
        raise RuntimeError(f"result type {want.legacy[:-6]} can't be cast to the desired output type "
                           f"{target.dtype.legacy[:-6]}")
    shape = input._data.shape
    # (the loss is computed into `1 - target`, so it has the target's dtype: a float64 input with a float32
    # target gives a float32 loss)
    params = {"weight": None, "pos_weight": None, "reduction": reduction, "dtype": target._data.dtype}
    for key, extra in (("pos_weight", pos_weight), ("weight", weight)):
        if extra is not None:
            data = _need_tensor("binary_cross_entropy_with_logits", extra, 3, key)._data
            ops.check_broadcast(data.shape if key == "pos_weight" else shape, shape if key == "pos_weight"
                                else data.shape)
            params[key] = xp.broadcast_to(data.astype(want.np, copy=False), shape)
    return binary(ROWS["binary_cross_entropy_with_logits"], input, target, params)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """PyTorch's l1_loss is made of other ops: abs(input - target), then mean or sum (its graph too)."""
    _need_tensor("l1_loss", input)
    _need_tensor("l1_loss", target, 2, "target")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    input, target = _broadcast_pair(input, target)
    errors = abs(sub(input, target))
    if weight is None:
        _check_reduction(reduction)
        return _reduce_by(errors, reduction)
    if weight._data.shape != input._data.shape:
        raise ValueError("Weights and input must have the same size.")
    weighted = mul(errors, weight)
    if reduction == "mean":
        return div(sum(weighted), sum(weight))
    if reduction not in ("sum", "none"):
        raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")
    return _reduce_by(weighted, reduction)


def _smooth(name, kernel, input, target, reduction, width):
    _need_tensor(name, input)
    _need_tensor(name, target, 2, "target")
    input, target = _broadcast_pair(input, target)
    _check_reduction(reduction)
    key = "delta" if name == "huber_loss" else "beta"
    if name == "huber_loss" and width <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if name != "huber_loss" and width < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    kind = dtypes.result_type((input, target))
    if not kind.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{kind.legacy[:-6]}\'')
    params = {key: width, "reduction": reduction}
    if name == "huber_loss" and target.dtype is not input.dtype:
        # PyTorch's huber_loss writes into a tensor like its input (empty_like(input)): a float64 target
        # gives a float32 loss for a float32 input (smooth_l1_loss promotes, as the other losses). Its
        # backward then refuses the mixed dtypes, for the gradient of the input (or else of the target).
        wanted, other = (input, target) if input._rg else (target, input)
        found, expected = other.dtype.legacy[:-6], wanted.dtype.legacy[:-6]
        params["dtype_error"] = f"Found dtype {found} but expected {expected}"
        cast = Tensor._make(target._data.astype(input._data.dtype))
        cast._rg = target._rg
        loss = binary(ROWS[name], input, cast, params)
        if loss.grad_fn is not None:  # (the node's edge goes to the target itself, as PyTorch's)
            loss.grad_fn._next = loss.grad_fn._next[:2] + edge_to(target)
        return loss
    return binary(ROWS[name], input, target, params)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta == 0.0:  # (PyTorch's l1_loss then)
        _need_tensor("smooth_l1_loss", input)
        _need_tensor("smooth_l1_loss", target, 2, "target")
        input, target = _broadcast_pair(input, target)
        _check_reduction(reduction)
        return _reduce_by(abs(sub(input, target)), reduction)
    return _smooth("smooth_l1_loss", "smooth_l1_cpu", input, target, reduction, beta)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    if weight is None:
        return _smooth("huber_loss", "huber_cpu", input, target, reduction, delta)
    loss = _smooth("huber_loss", "huber_cpu", input, target, "none", delta)
    if weight._data.shape != input._data.shape:
        raise ValueError("Weights and input must have the same size.")
    weighted = mul(loss, weight)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")
    return _reduce_by(weighted, reduction)


# ------------------------------------------------------------------ shapes and views
def _shape_args(name, shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    out = []
    for n in shape:
        if type(n) is Tensor:
            n = n.__index__()
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"{name}(): argument 'size' must be tuple of ints, but found element of type "
                            f"{type(n).__name__} at pos {len(out)}")
        out.append(n)
    return tuple(out)


def reshape(input, *shape):
    """A view where the strides allow one (ViewBackward0, or ReshapeAliasBackward0 for a non-contiguous
    input), else a copy: clone, then _unsafe_view, as PyTorch records it."""
    _need_tensor("reshape", input)
    shape = _shape_args("reshape", shape)
    data = input._data
    params = {"shape": shape, "in_shape": data.shape}
    if data.flags["C_CONTIGUOUS"]:
        return unary(ROWS["view"], input, params)
    if ops.can_view(data, ops._view_shape(data, shape)):
        return unary(ROWS["reshape_alias"], input, params)
    return unary(ROWS["unsafe_view"], clone(input), params)


def view(input, *shape):
    _need_tensor("view", input)
    shape = _shape_args("view", shape)
    data = input._data
    if not data.flags["C_CONTIGUOUS"] and not ops.can_view(data, ops._view_shape(data, shape)):
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one dimension spans "
            "across two contiguous subspaces). Use .reshape(...) instead."
        )
    return unary(ROWS["view"], input, {"shape": shape, "in_shape": data.shape})


def flatten(input, start_dim=0, end_dim=-1):
    shape = _need_tensor("flatten", input)._data.shape
    if not shape:
        return reshape(input, 1)
    s, e = _dim(start_dim, len(shape)), _dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:  # nothing to merge: PyTorch returns the tensor itself
        return input
    n = 1
    for k in shape[s : e + 1]:
        n *= k
    return reshape(input, *(shape[:s] + (n,) + shape[e + 1 :]))


def transpose(input, dim0, dim1):
    return unary(ROWS["transpose"], _need_tensor("transpose", input), {"dim0": dim0, "dim1": dim1})


transpose_ = transpose  # for code where `t` names a tensor


swapaxes = swapdims = transpose


def t(input):
    return unary(ROWS["t"], _need_tensor("t", input))


def permute(input, *dims):
    _need_tensor("permute", input)
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    dims = _shape_args("permute", dims)
    ops.check_permute(input._data.ndim, dims)
    return unary(ROWS["permute"], input, {"dims": tuple(_dim(d, input._data.ndim) for d in dims)})


def unsqueeze(input, dim):
    _need_tensor("unsqueeze", input)
    return unary(ROWS["unsqueeze"], input, {"dim": dim, "in_shape": input._data.shape})


def squeeze(input, dim=None, _row=None):
    _need_tensor("squeeze", input)
    if dim is None:
        return unary(ROWS["squeeze"], input, {"in_shape": input._data.shape})
    row = _row or ("squeeze_dims" if isinstance(dim, (tuple, list)) else "squeeze_dim")
    return unary(ROWS[row], input, {"dim": dim, "in_shape": input._data.shape})


def expand(input, *sizes):
    _need_tensor("expand", input)
    sizes = _shape_args("expand", sizes)
    return unary(ROWS["expand"], input, {"shape": sizes})


def broadcast_to(input, size):
    return expand(input, *size)


def clone(input, *, memory_format=None):
    return unary(ROWS["clone"], _need_tensor("clone", input))


def to(input, *args, dtype=None, device=None, copy=False, non_blocking=False):
    for a in args:
        if isinstance(a, dtypes.DType):
            dtype = a
        elif isinstance(a, (str, Device)):
            device = a
        elif type(a) is Tensor:
            dtype, device = a.dtype, a.device
    src = dst = backend.device_type_of(input._data)
    if device is not None:
        dst = Device(device).type
        if dst != "cpu":
            backend.cuda_namespace()
    if dst != src:  # one ToCopyBackward0 for the move (and the cast), whose backward moves the gradient back
        np_dtype = input._data.dtype if dtype is None else dtype.np
        if np_dtype.kind != "f":
            return _nograd(backend.to_device(input._data.astype(np_dtype, copy=False), dst))
        return unary(ROWS["to_dtype"], input, {"dtype": np_dtype, "device": dst, "src": src})
    if dtype is None or dtype is input.dtype:
        return input
    if not dtype.is_floating_point:  # integers carry no gradient: the copy is cut off from the graph
        return _nograd(input._data.astype(dtype.np))
    return unary(ROWS["to_dtype"], input, {"dtype": dtype.np})


# ------------------------------------------------------------------ indexing
def _convert_index(index):
    """A PyTorch index -> (numpy index, is_advanced)."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    advanced = False
    for i in items:
        if type(i) is Tensor:
            kind = i._data.dtype.kind
            if kind == "b" or (i._data.ndim > 0 and kind in "iu"):
                advanced = True
                out.append(i._data)
                continue
            if kind not in "iu":  # (a float index tensor of any shape)
                raise IndexError(
                    "tensors used as indices must be long, int, byte or bool tensors"
                )
            out.append(int(i._data))
        elif isinstance(i, (list, tuple)):
            advanced = True
            out.append(xp.asarray([int(v) if type(v) is Tensor else v for v in i]))
        elif isinstance(i, bool):
            advanced = True
            out.append(i)
        elif i is None or i is Ellipsis or isinstance(i, (int, slice)):
            if isinstance(i, slice):
                for part in (i.start, i.stop, i.step):
                    if part is not None and not isinstance(part, int):
                        if type(part) is Tensor:
                            continue
                        raise TypeError("slice indices must be integers or None or have an __index__ method")
                i = slice(*(int(p) if type(p) is Tensor else p for p in (i.start, i.stop, i.step)))
                if i.step is not None and i.step <= 0:
                    raise ValueError("step must be greater than zero")
            out.append(i)
        else:
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                "indices "
                f"(got {type(i).__name__})"
            )
    return out, advanced


def _index_on_device(items, data):
    """Index arrays (made on the host from lists, or a CPU index tensor) moved to a GPU tensor's device, as
    PyTorch takes CPU indices for a CUDA tensor."""
    if type(data) is not backend.device_ndarray:
        return items
    return [backend.to_device(i, "cuda") if isinstance(i, xp.ndarray) else i for i in items]


def _whole_slice(s, size):
    """Whether PyTorch's applySlice skips the slice s of a dimension of `size`: its start as written is 0 (or
    none), its stop at least the size (or none), its step 1. A start such as -1 that only reaches 0 after
    wrapping does not count (x[..., -1:] of a size-1 dimension is a SliceBackward0)."""
    return (s.start is None or s.start == 0) and (s.stop is None or s.stop >= size) and s.step in (None, 1)


def _index_error(exc, data, index):
    """numpy's (or CuPy's) IndexError in PyTorch's words."""
    text = str(exc)
    if text.startswith("Index "):  # (CuPy's "Index 5 is out of bounds for axis 0 with size 2")
        text = "i" + text[1:]
    if text.startswith("too many indices for array"):
        return IndexError(f"too many indices for tensor of dimension {data.ndim}")
    integer_index = builtin_any(getattr(i, "dtype", None) is not None and i.dtype.kind in "iu" for i in index)
    if not data.size and integer_index:
        return IndexError("index is out of bounds for dimension with size 0")
    match = re.fullmatch(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", text)
    if match and not builtin_any(hasattr(i, "dtype") for i in index):
        # a basic index: PyTorch names the item's position in the index, '...' and None one item each
        position = _index_position(index, data.ndim, int(match[2]))
        return IndexError(f"index {match[1]} is out of bounds for dimension {position} with size {match[3]}")
    return IndexError(text.replace(" axis ", " dimension "))


def _index_position(index, ndim, axis):
    """The position in a basic index (ints, slices, None, one '...') of the item that addresses `axis`."""
    consumed = builtin_sum(1 for i in index if i is not None and i is not Ellipsis)
    at = 0
    for position, item in enumerate(index):
        if item is None:
            continue
        width = ndim - consumed if item is Ellipsis else 1
        if at <= axis < at + width:
            return position
        at += width
    return axis


def _check_0d_index(x, index):
    """PyTorch's words for t[i] and t[a:b] on a 0-d t (numpy's are 'too many indices')."""
    if not x._data.ndim and type(index) is not tuple:
        if isinstance(index, int) and not isinstance(index, bool):
            if index:
                raise IndexError(f"index {index} is out of bounds for dimension 0 with size 0")
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        if isinstance(index, slice):
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")


def getitem(x, index):
    _check_0d_index(x, index)
    items, advanced = _convert_index(index)
    if advanced:
        if type(x._data) is not xp.ndarray:
            items = _index_on_device(items, x._data)
        idx = tuple(items)
        data = x._data
        _check_masks(idx, data.shape)
        bound = data.size  # (the result has at most this many elements: small ones skip the count)
        for item in idx:
            bound *= getattr(item, "size", 1) or 1
        if bound > 1 << 16:
            numel = _advanced_numel(idx, data.shape)
            if numel is not None and numel > 1 << 16:
                limits.check_tensor_size(numel, data.itemsize)  # (x[idx]: 10**8 indices into rows of 10**4)
        try:
            data[idx]
        except IndexError as exc:
            raise _index_error(exc, data, idx) from None
        return unary(ROWS["index"], x, {"index": idx, "in_shape": data.shape})
    n_ell = items.count(Ellipsis)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = len([i for i in items if i is not None and i is not Ellipsis])
    ndim = x._data.ndim
    if consumed > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    expanded = []  # (the item's position in the index, counting '...' as one item, as PyTorch's messages do)
    for pos, i in enumerate(items):
        if i is Ellipsis:
            expanded.extend([(pos, slice(None))] * (ndim - consumed))
        else:
            expanded.append((pos, i))
    # A lone slice, x[a:b], is always a SliceBackward0; inside a tuple (or after ...), a slice that covers
    # its whole dimension is skipped, and an index that skips everything is an alias (PyTorch's
    # applySlicing).
    lone_slice = isinstance(index, slice)
    out = x
    d = 0
    for pos, i in expanded:
        if i is None:
            out = unsqueeze(out, d)
            d += 1
        elif isinstance(i, int):
            size = out._data.shape[d]
            if i < -size or i >= size:  # PyTorch names the index's position, counting Nones and '...'
                raise IndexError(f"index {i} is out of bounds for dimension {pos} with size {size}")
            key = (slice(None),) * d + (i,)
            out = unary(ROWS["select"], out, {"index": key, "in_shape": out._data.shape})
        else:
            if not lone_slice and _whole_slice(i, out._data.shape[d]):
                d += 1
                continue
            key = (slice(None),) * d + (i,)
            out = unary(ROWS["slice"], out, {"index": key, "in_shape": out._data.shape})
            d += 1
    if out is x:
        return unary(ROWS["alias"], x)
    return out


def _view_write_error(x, items, advanced):
    """PyTorch's refusal of x[index] = v for a view x that may not be changed in place
    (ops.view_change_error). It copies v into x[index], a view made in grad mode (a view of a view, made as x
    was) by the index's select, slice and unsqueeze steps, of which the last one that changes anything names
    it; an advanced index, or one that changes nothing, writes into x itself."""
    name = None
    if not advanced:
        shape = x._data.shape
        dim = 0
        for i in items:
            if i is Ellipsis:
                dim += len(shape) - builtin_sum(1 for j in items if j is not None and j is not Ellipsis)
            elif i is None:
                name = "UnsqueezeBackward0"
            else:
                if not isinstance(i, slice):
                    name = "SelectBackward0"
                elif dim < len(shape) and i.indices(shape[dim]) != (0, shape[dim], 1):
                    name = "SliceBackward0"
                dim += 1
    if name is None:
        return ops.view_change_error(x._creation, ops.view_node_name(x), x.output_nr)
    if x._rg:
        edge_to(x)  # (making x[index] takes x's edge: refused first for a no_grad view that has changed)
    return ops.view_change_error(x._creation, name if x._rg else None, 0)


def _indexes_everything(items, shape):
    """True for a basic index that selects the whole tensor as it is (..., and slices over whole dims)."""
    if builtin_any(i is None or (isinstance(i, int) and not isinstance(i, bool)) for i in items):
        return False
    rest = [i for i in items if i is not Ellipsis]
    return builtin_all(isinstance(i, slice) and i.indices(n) == (0, n, 1) for i, n in zip(rest, shape))


def _advanced_numel(index, shape):
    """How many elements numpy's data[index] (an advanced index) will have, found without making it, or None
    where the index is malformed (numpy then raises its own error)."""
    try:
        def used(item):
            if item is None or item is Ellipsis or isinstance(item, bool):
                return 0
            return item.ndim if getattr(item, "dtype", None) == _BOOL else 1

        free = len(shape) - builtin_sum(used(i) for i in index)
        if free < 0:
            return None
        arrays = []  # the shapes the advanced indices broadcast together
        rest = 1  # the elements the slices and the unindexed dimensions keep
        d = 0
        for item in index:
            if item is Ellipsis:
                for n in shape[d:d + free]:
                    rest *= n
                d += free
                free = 0
            elif item is None:
                continue
            elif isinstance(item, bool):
                arrays.append((int(item),))
            elif isinstance(item, slice):
                rest *= len(range(*item.indices(shape[d])))
                d += 1
            elif isinstance(item, int):
                arrays.append(())
                d += 1
            elif item.dtype == _BOOL:
                arrays.append((int(item.sum()),))
                d += item.ndim
            else:
                arrays.append(tuple(item.shape))
                d += 1
        for n in shape[d:]:
            rest *= n
        return math.prod(xp.broadcast_shapes(*arrays)) * rest
    except Exception:  # (shapes that do not broadcast, ...: numpy says what is wrong)
        return None


def _check_masks(index, shape):
    """A boolean mask must match the dimensions it indexes (PyTorch's message, not numpy's)."""
    def used(item):  # how many dimensions of the tensor an index item consumes
        if item is None or item is Ellipsis or isinstance(item, bool):  # (x[True] adds a dim, as None does)
            return 0
        return item.ndim if getattr(item, "dtype", None) == _BOOL else 1

    if builtin_sum(used(i) for i in index) > len(shape):  # (PyTorch counts before it compares shapes)
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    d = 0
    for pos, item in enumerate(index):
        if item is Ellipsis:
            d = len(shape) - builtin_sum(used(i) for i in index[pos + 1:])
            continue
        if getattr(item, "dtype", None) == _BOOL and item.ndim:
            for k, n in enumerate(item.shape):
                if d + k < len(shape) and shape[d + k] != n:
                    raise IndexError(
                        f"The shape of the mask [{', '.join(map(str, item.shape))}] at index {k} does not "
                        f"match the shape of the indexed tensor [{', '.join(map(str, shape))}] at index "
                        f"{d + k}"
                    )
            d += item.ndim
        else:
            d += used(item)


_LEAF_IN_PLACE = "a leaf Variable that requires grad is being used in an in-place operation."


def setitem(x, index, value):
    _check_0d_index(x, index)
    items, advanced = _convert_index(index)
    if type(x._data) is not xp.ndarray:
        items = _index_on_device(items, x._data)
    idx = tuple(items)
    if type(value) is not Tensor and not isinstance(value, _NUMBER):
        value = tensor(value)
    elif type(value) is int:
        if not -(1 << 63) <= value < 1 << 63:
            raise ValueError("Overflow when unpacking long long")
        value = _scalar_for(value, x._data.dtype)
    grad_value = type(value) is Tensor and value._rg
    if GRAD.enabled and (x._rg or grad_value) and x._base is not None:  # (PyTorch's check_inplace order)
        if x._creation is not None:
            raise _view_write_error(x, items, advanced)
        if x._rg and x._base.grad_fn is None:
            raise RuntimeError(f"a view of {_LEAF_IN_PLACE}")
    if GRAD.enabled and x._rg and x.grad_fn is None and x._base is None:
        # (a view without a node here is one whose node is out of date: ops.forget_view_nodes)
        # x[0] = v writes through a view of x (PyTorch's message says so); x[mask] = v and x[...] = v (an
        # index that keeps everything) write into x itself
        view = "" if advanced or _indexes_everything(items, x._data.shape) else "a view of "
        raise RuntimeError(f"{view}{_LEAF_IN_PLACE}")
    mask_fill = value_is_0d = type(value) is Tensor and value._data.ndim == 0
    if value_is_0d:
        mask_fill = len(items) == 1 and getattr(getattr(items[0], "dtype", None), "kind", "") == "b"
    if advanced and type(value) is Tensor and value._data.dtype != x._data.dtype and not mask_fill:
        # An advanced index writes with index_put_, which casts nothing (a bool mask alone with a 0-d value
        # is masked_fill_, which does); a basic index copies, casting.
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{x.dtype.legacy[:-6]} for the destination and {value.dtype.legacy[:-6]} for the source."
        )
    va = value._data if type(value) is Tensor else value
    if type(va) is not type(x._data) and type(value) is Tensor:  # PyTorch copies across devices here
        va = backend.to_device(va, backend.device_type_of(x._data))
    if not advanced:  # (the value, a number too, is copied into x[index]: refused where its memory is shared)
        try:
            ops.check_no_overlap(x._data[idx])
        except IndexError:
            pass  # (the write below raises PyTorch's error)
    needs_grad = GRAD.enabled and (x._rg or grad_value)
    through_view = needs_grad and x._base is not None
    edges = (edge_to(x), edge_to(value) if type(value) is Tensor else (None, 0)) if needs_grad else None
    try:
        x._data[idx] = va
    except IndexError as exc:
        if advanced:
            _check_masks(idx, x._data.shape)  # (PyTorch's words for a mask of the wrong shape)
        raise _index_error(exc, x._data, idx) from None
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None
    counter = x._version
    counter[0] += 1
    params = {"index": idx, "shape": x._data.shape}
    if through_view:  # y = x[1:3]; y[0] = v changes x's memory: x's history is rebased
        fn = ops.recorded_apart(ROWS["setitem"], x, (x, value), params)
        fn.next_functions = edges
        ops.rebase_view(x, fn)
    elif needs_grad:
        # PyTorch's node for each kind of write into x itself: index_put_ for an advanced index; fill_ (a
        # number or a 0-d tensor) or copy_ for an index that keeps everything (x[...], x[:]); else a copy
        # into a view of x, whose node on x is CopySlices
        if advanced:
            row = "index_put"
        elif _indexes_everything(items, x._data.shape):
            row = "fill_tensor" if type(value) is not Tensor or not value._data.ndim else "copy_"
        else:
            row = "setitem"
        ops._record(ROWS[row], x, (x, value), params)
        x.grad_fn.next_functions = edges
        x.output_nr = 0
    if len(counter) > 1:  # (after recording: PyTorch takes the inputs' edges before the change)
        ops.forget_view_nodes(counter, x if through_view else None)


# ------------------------------------------------------------------ keepdim must be a bool
# `x.sum(0, 1)` reads as "sum over dims 0 and 1" but passes keepdim=1; PyTorch's argument parser refuses any
# keepdim that is not a bool, where a plain Python signature would take it as true. The reductions below are
# wrapped (for scripts only: the table of methods and the torch module) so the check costs nothing inside.
# Where PyTorch's function has one signature left to blame it names the argument; where it has overloads it
# lists them ("received an invalid combination of arguments"), in its words as observed for an int dim.
_SIGNATURES = {  # (name, method): the overloads PyTorch lists, and per overload the note it adds (see below)
    ("mean", False): ("(Tensor input, *, torch.dtype dtype = None, Tensor out = None)",
                      "(Tensor input, tuple of ints dim, bool keepdim = False, *, torch.dtype dtype = None, "
                      "Tensor out = None)"),
    ("max", False): ("(Tensor input, *, Tensor out = None)|all",
                     "(Tensor input, Tensor other, *, Tensor out = None)",
                     "(Tensor input, int dim, bool keepdim = False, *, tuple of Tensors out = None)"),
    ("any", False): ("(Tensor input, *, Tensor out = None)|all",
                     "(Tensor input, tuple of ints dim = None, bool keepdim = False, *, Tensor out = None)",
                     "(Tensor input, int dim, bool keepdim = False, *, Tensor out = None)"),
    ("any", True): ("()", "(tuple of ints dim = None, bool keepdim = False)|all",
                    "(int dim, bool keepdim = False)|last"),
    ("var", False): ("(Tensor input, tuple of ints dim, bool unbiased = True, bool keepdim = False, *, "
                     "Tensor out = None)",
                     "(Tensor input, tuple of ints dim = None, *, Number correction = None, "
                     "bool keepdim = False, Tensor out = None)", "(Tensor input, bool unbiased = True)"),
    ("var", True): ("(tuple of ints dim, bool unbiased = True, bool keepdim = False)",
                    "(tuple of ints dim = None, *, Number correction = None, bool keepdim = False)",
                    "(bool unbiased = True)"),
}
_SIGNATURES["min", False] = _SIGNATURES["max", False]
_SIGNATURES["all", False], _SIGNATURES["all", True] = _SIGNATURES["any", False], _SIGNATURES["any", True]
_SIGNATURES["std", False], _SIGNATURES["std", True] = _SIGNATURES["var", False], _SIGNATURES["var", True]


def _bool_args(fn, name, method, index, also=None):
    """fn, refusing a keepdim that is not a bool as PyTorch's argument parser does. index: keepdim's place
    among fn's arguments, the tensor counted (x.sum(0, 1): 2); also: another bool argument's place (var's
    `unbiased`)."""
    overloaded = (name, method) in _SIGNATURES

    def checked(*args, **kwargs):
        keyword = len(args) <= index
        keepdim = kwargs.get("keepdim", False) if keyword else args[index]
        bad = keepdim is not True and keepdim is not False
        if not bad and also is not None and len(args) > also:
            bad = not isinstance(args[also], bool)
        elif not bad and also is not None and "unbiased" in kwargs:
            bad = not isinstance(kwargs["unbiased"], bool)
        if not bad:
            return fn(*args, **kwargs)
        if not overloaded:
            where = "" if keyword else f" (position {index + (not method)})"
            raise TypeError(f"{name}(): argument 'keepdim'{where} must be bool, not {type(keepdim).__name__}")
        raise TypeError(_invalid_combination(name, args[1:] if method else args, kwargs,
                                             _SIGNATURES[name, method]))

    checked.__name__ = checked.__qualname__ = name
    return checked


def _invalid_combination(name, args, kwargs, signatures):
    """PyTorch's overload error. A signature marked "|all" gets a note blaming every argument after the
    tensor (or the keywords given); "|last" the last one only. (Not every note PyTorch adds is here: it
    explains `x.any(dim=0, keepdim=None)` and `x.var(0, True, 1)` a little more.)"""
    kinds = [type(a).__name__ for a in args]
    keywords = list(reversed(kwargs))  # (PyTorch lists them last to first)
    got = ", ".join(kinds + [f"{k}={type(kwargs[k]).__name__}" for k in keywords])
    if not args:
        got += ", "
    lines = [f"{name}() received an invalid combination of arguments - got ({got}), but expected one of:\n"]
    for sig in signatures:
        sig, _, mark = sig.partition("|")
        lines.append(f" * {sig}\n")
        if mark and kwargs:
            why = f"some of the keywords were incorrect: {', '.join(keywords)}"
        elif mark:
            first = 1 if kinds and kinds[0] == "Tensor" else 0
            blamed = [k if i < first or mark == "last" and i < len(kinds) - 1 else f"!{k}!"
                      for i, k in enumerate(kinds)]
            why = f"some of the arguments have invalid types: ({', '.join(blamed)})"
        if mark:
            lines.append(f"      didn't match because {why}\n")
    return "".join(lines)


# ------------------------------------------------------------------ comparisons (no gradient)
def _nograd(array):
    if type(array) is not xp.ndarray:
        array = as_array(array)
    return Tensor._make(array)


def _compare(fn):
    """A comparison operator (`t == x`): NotImplemented for what it cannot compare, so Python falls back."""

    def compare(input, other):
        if type(other) is not Tensor and not isinstance(other, _NUMBER):
            return NotImplemented
        a, b = ops._operand_arrays(input, other)
        return _nograd(fn(a, b))

    return compare


def _compare_function(name, compare, method=False):
    """torch.eq(input, other) and Tensor.eq(other): PyTorch's argument error where the operator would give
    up (a number first, a string, None, ...)."""

    def function(input, other):
        if type(input) is Tensor and (type(other) is Tensor or isinstance(other, _NUMBER)):
            return compare(input, other)
        if method:
            bad = type(other).__name__
            why = f"      didn't match because some of the arguments have invalid types: (!{bad}!)\n"
            raise TypeError(
                f"{name}() received an invalid combination of arguments - got ({bad}), but expected one of:\n"
                f" * (Tensor other)\n{why} * (Number other)\n{why}"
            )
        got = ", ".join(type(x).__name__ for x in (input, other))
        raise TypeError(
            f"{name}() received an invalid combination of arguments - got ({got}), but expected one of:\n"
            " * (Tensor input, Tensor other, *, Tensor out = None)\n"
            " * (Tensor input, Number other, *, Tensor out = None)\n"
        )

    function.__name__ = name
    return function


_COMPARISONS = {name: _compare(fn) for name, fn in (
    ("eq", xp.equal), ("ne", xp.not_equal), ("lt", xp.less), ("le", xp.less_equal), ("gt", xp.greater),
    ("ge", xp.greater_equal))}
eq, ne, lt, le, gt, ge = (_compare_function(name, fn) for name, fn in _COMPARISONS.items())


def equal(input, other):
    _need_tensor("equal", input)
    _need_tensor("equal", other, 2, "other")
    return input._data.shape == other._data.shape and bool((input._data == other._data).all())


def _close_operands(name, input, other):
    """isclose/allclose take two tensors of one dtype that broadcast, with PyTorch's errors."""
    _need_tensor(name, input)
    _need_tensor(name, other, 2, "other")
    a, b = input._data, other._data
    if a.dtype != b.dtype:
        raise RuntimeError(f"{input.dtype.legacy[:-6]} did not match {other.dtype.legacy[:-6]}")
    if a.shape != b.shape:
        ops.check_broadcast(a.shape, b.shape)
    return a, b


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _close_operands("allclose", input, other)
    return bool(xp.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _close_operands("isclose", input, other)
    return _nograd(xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def _any_all(name, input, dim, keepdim):
    data = _need_tensor(name, input)._data
    axis = None if dim is None else _dim(dim, data.ndim)
    if not data.size and axis is not None:
        ops.check_reduced(data.shape, (axis,), 1)
    if axis is not None and not data.ndim:
        axis = None
    out = (data.any if name == "any" else data.all)(axis=axis, keepdims=keepdim)
    return _nograd(out.astype(data.dtype) if data.dtype == xp.uint8 else out)  # (uint8 in, uint8 out)


def any(input, dim=None, keepdim=False):  # noqa: A001
    return _any_all("any", input, dim, keepdim)


def all(input, dim=None, keepdim=False):  # noqa: A001
    return _any_all("all", input, dim, keepdim)


def sgn(input):
    """sgn: sign for real tensors (SgnBackward0, a zero gradient)."""
    if _need_tensor("sgn", input)._data.dtype.kind == "b":
        return _nograd(input._data.copy())
    return unary(ROWS["sgn"], input)


def signbit(input):
    """True where the sign bit is set (-0. and negative numbers; a nan's own bit): no gradient."""
    data = _need_tensor("signbit", input)._data
    return _nograd(backend.namespace_of(data).signbit(data) if data.dtype.kind == "f" else data < 0)


def count_nonzero(input, dim=None):
    data = _need_tensor("count_nonzero", input)._data
    dims = None if dim is None else _dims(dim, data.ndim)
    return _nograd(backend.as_array((data != 0).sum(axis=dims)).astype(xp.int64))


def ravel(input):
    """PyTorch's ravel: contiguous(), then view(-1) (a CloneBackward0 under the ViewBackward0 when the
    input is not contiguous)."""
    _need_tensor("ravel", input)
    return view(input if input._data.flags["C_CONTIGUOUS"] else clone(input), -1)


def hstack(tensors):
    """cat of the tensors made at least 1-d, along dim 0 for 1-d ones, else dim 1."""
    parts = [t if t._data.ndim else reshape(t, 1) for t in _tensor_sequence("hstack", tensors)]
    return cat(parts, 0 if parts[0]._data.ndim == 1 else 1)


def vstack(tensors):
    """cat of the tensors made at least 2-d (a vector as one row) along dim 0."""
    parts = [reshape(t, 1, 1) if not t._data.ndim else unsqueeze(t, 0) if t._data.ndim == 1 else t
             for t in _tensor_sequence("vstack", tensors)]
    return cat(parts, 0)


def _tensor_sequence(name, tensors):
    """hstack's and vstack's tensors: cat's argument checks, then PyTorch's refusal of an empty list."""
    tensors = _tensor_list(name, tensors)
    if not tensors:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return tensors


def sign(input):
    if _need_tensor("sign", input)._data.dtype.kind == "b":  # (no sign of a bool in numpy; PyTorch: itself)
        return _nograd(input._data.copy())
    return unary(ROWS["sign"], input)


def floor(input):
    _no_kernel(_need_tensor("floor", input), "floor_vml_cpu")
    return unary(ROWS["floor"], input)


def trunc(input):
    _no_kernel(_need_tensor("trunc", input), "trunc_vml_cpu")
    return unary(ROWS["trunc"], input)


def frac(input):
    _no_kernel(_need_tensor("frac", input), "frac_cpu", "biu")
    return unary(ROWS["frac"], input)


def ceil(input):
    _no_kernel(_need_tensor("ceil", input), "ceil_vml_cpu")
    return unary(ROWS["ceil"], input)


def round(input, *, decimals=None):  # noqa: A001
    _need_tensor("round", input)
    _no_kernel(input, "round_vml_cpu")
    if decimals is not None:  # (round(decimals=...) has no integer kernel)
        _no_kernel(input, "round_vml_cpu" if decimals == 0 else "round_cpu", "iu")
    if decimals:
        return unary(ROWS["round_decimals"], input, {"decimals": decimals})
    return unary(ROWS["round"], input)


def logical_not(input):
    return _nograd(xp.logical_not(_need_tensor("logical_not", input)._data))


def _logical(name, fn, input, other):
    """logical_and/or: two tensors of shapes that broadcast, in PyTorch's words otherwise."""
    _need_tensor(name, input)
    _need_tensor(name, other, 2, "other")
    ops.check_broadcast(input._data.shape, other._data.shape)
    return _nograd(fn(input._data, other._data))


def logical_and(input, other):
    return _logical("logical_and", xp.logical_and, input, other)


def logical_or(input, other):
    return _logical("logical_or", xp.logical_or, input, other)


def numel(input):
    return input.numel()


def is_tensor(obj):
    return type(obj) is Tensor


def is_grad_enabled():
    return GRAD.enabled


def _spread(name, row, input, dim, keepdim, unbiased, correction):
    _need_tensor(name, input)
    if input._data.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if isinstance(dim, bool):  # var(x, False): the old `unbiased` positional argument
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased else 0
    dims = None if dim is None else _dims(dim, input._data.ndim)
    if not input._data.ndim:  # (dim 0 or -1 of a 0-d tensor: all of it)
        dims = None
    if not input._data.size and dims is not None:
        ops.check_reduced(input._data.shape, dims)
    params = {"dims": dims, "keepdim": keepdim, "correction": correction}
    return unary(row, input, params)


def var(input, dim=None, unbiased=True, keepdim=False, *, correction=None):
    return _spread("var", ROWS["var"], input, dim, keepdim, unbiased, correction)


def std(input, dim=None, unbiased=True, keepdim=False, *, correction=None):
    return _spread("std", ROWS["std"], input, dim, keepdim, unbiased, correction)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    _need_tensor("norm", input)
    if keepdim is not True and keepdim is not False:  # (PyTorch hands it to linalg_vector_norm's parser)
        raise TypeError("linalg_vector_norm(): argument 'keepdim' (position 4) must be bool, not "
                        f"{type(keepdim).__name__}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {input.dtype.legacy[:-6]}")
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str) or not isinstance(p, (int, float)):
        raise RuntimeError(f"gradcli: norm(p={p!r}) is not supported")
    dims = None if dim is None or not input._data.ndim else _dims(dim, input._data.ndim)
    if dim is not None and not input._data.ndim:
        _dims(dim, 0)  # (dim 0 or -1 of a 0-d tensor: all of it; others out of range)
    if not input._data.size and (p < 0 or p == math.inf):
        # PyTorch's linalg_vector_norm: max/min of nothing has no identity (the dim is named as given)
        if dim is None:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {p:g} norm on an empty tensor because "
                               "the operation does not have an identity")
        given = dim if isinstance(dim, (list, tuple)) else (dim,)
        for d, axis in zip(given, dims or ()):
            if input._data.shape[axis] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {p:g} norm on the dimension {d}"
                                   "because this dimension is empty and the operation does not have an "
                                   "identity")
    if not input._data.size and dims is not None:
        ops.check_reduced(input._data.shape, dims)
    return unary(ROWS["norm"], input, {"ord": p, "dims": dims, "keepdim": keepdim})


def cumsum(input, dim, *, dtype=None):
    return _cumulative("cumsum", input, dim, dtype)


def _cumulative(name, input, dim, dtype):
    _need_tensor(name, input)
    if dtype is not None:
        input = to(input, dtype)
    return unary(ROWS[name], input, {"dim": _dim(dim, builtin_max(input._data.ndim, 1))})


# ------------------------------------------------------------------ logsumexp, amax/amin, split, flip, isnan
def _reduce_dims(name, data, dim):
    """A reduction's dims as PyTorch checks them: in range, none twice; a 0-d tensor takes 0 and -1."""
    dims = _dims(dim, data.ndim)
    if len(set(dims)) != len(dims):
        twice = next(d for d in dims if dims.count(d) > 1)
        raise RuntimeError(f"dim {twice} appears multiple times in the list of dims")
    return dims if data.ndim else ()


def logsumexp(input, dim=None, keepdim=False):
    _need_tensor("logsumexp", input)
    if dim is None:
        raise TypeError('logsumexp() missing 1 required positional arguments: "dim"')
    if input._data.dtype.kind != "f":  # (integers and bools are summed as the default float dtype)
        input = to(input, dtypes.defaults.float)
    dims = _reduce_dims("logsumexp", input._data, dim)
    if not input._data.size:
        ops.check_reduced(input._data.shape, dims)
    return unary(ROWS["logsumexp"], input, {"dims": dims, "keepdim": keepdim})


def _amax_amin(name, input, dim, keepdim):
    data = _need_tensor(name, input)._data
    dims = _reduce_dims(name, data, dim if dim != () and dim != [] else None)
    if not data.size:
        if dim == () or dim == [] or dim is None:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        asked = dim if isinstance(dim, (tuple, list)) else (dim,)
        for d, given in zip(dims, asked):  # (amax names the dim as given, not wrapped)
            if data.shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {given} to have non-zero size.")
    return unary(ROWS[name], input, {"dims": dims, "keepdim": keepdim})


def amax(input, dim=(), keepdim=False):
    return _amax_amin("amax", input, dim, keepdim)


def amin(input, dim=(), keepdim=False):
    return _amax_amin("amin", input, dim, keepdim)


def _split_dim(name, input, dim):
    data = input._data
    if not data.ndim:
        raise RuntimeError(f"{name} expects at least a 1-dimensional tensor")
    return _dim(dim, data.ndim)


def chunk(input, chunks, dim=0):
    _need_tensor("chunk", input)
    if isinstance(chunks, bool) or not isinstance(chunks, int):
        raise TypeError(f"chunk(): argument 'chunks' (position 2) must be int, not {type(chunks).__name__}")
    if not input._data.ndim:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = _split_dim("chunk", input, dim)
    n = input._data.shape[d]
    if n == 0:  # (PyTorch: `chunks` empty pieces)
        return ops.split(input, [0] * chunks, d, "split_with_sizes")
    size = -(-n // chunks)
    return _split_by_size(input, size, d)


def _split_by_size(input, size, d):
    n = input._data.shape[d]
    if size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
    if size == 0 and n:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
    sizes = [size] * (n // size) + ([n % size] if n % size else []) if size else [0]
    return ops.split(input, sizes or [0], d, "split")


def split(tensor, split_size_or_sections, dim=0):
    _need_tensor("split", tensor)
    d = _split_dim("split", tensor, dim)
    sizes = split_size_or_sections
    if isinstance(sizes, int) and not isinstance(sizes, bool):
        return _split_by_size(tensor, sizes, d)
    if not isinstance(sizes, (list, tuple)):
        raise TypeError(f"split(): argument 'split_size' must be int or tuple of ints, not "
                        f"{type(sizes).__name__}")
    sizes = [int(n) for n in sizes]
    n = tensor._data.shape[d]
    if builtin_any(k < 0 for k in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative entries, but got "
                           f"split_sizes={sizes}")
    if builtin_sum(sizes) != n:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                           f"at dimension {d}), but got split_sizes={sizes}")
    return ops.split(tensor, sizes, d, "split_with_sizes")


def flip(input, dims=None):
    _need_tensor("flip", input)
    if dims is None:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    if not isinstance(dims, (list, tuple)):
        raise TypeError("flip(): argument 'dims' (position 2) must be tuple of ints, not "
                        f"{type(dims).__name__}")
    normalised = _reduce_dims("flip", input._data, tuple(dims)) if dims else ()
    return unary(ROWS["flip"], input, {"dims": normalised})


def _flip_method(self, *dims):
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = tuple(dims[0])
    return flip(self, dims)


# ------------------------------------------------------------------ masked_fill, gather, sort, triangles, ...
def _int_arg(name, value, arg, pos):
    if isinstance(value, bool) or not isinstance(value, int):
        where = f" (position {pos})" if pos else ""
        raise TypeError(f"{name}(): argument '{arg}'{where} must be int, not {type(value).__name__}")
    return value


def _mask_array(mask):
    if type(mask) is not Tensor:
        raise TypeError("masked_fill(): argument 'mask' (position 1) must be Tensor, not "
                        f"{type(mask).__name__}")
    data = mask._data
    if data.dtype.kind != "b":
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{ops._C_NAMES[data.dtype.name]}")
    return data


def _masked_fill(input, mask, value, in_place):
    m = _mask_array(mask)
    data = input._data
    if type(value) is Tensor:
        if value._data.ndim:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value._data.ndim} dimension(s).")
        ops.check_broadcast(m.shape, data.shape)
        if in_place:
            return inplace(ROWS["masked_fill_tensor"], input, value, {"mask": m})
        return binary(ROWS["masked_fill_tensor"], input, value, {"mask": m})
    if not isinstance(value, _NUMBER):
        raise TypeError("masked_fill(): argument 'value' (position 2) must be Number, not "
                        f"{type(value).__name__}")
    if data.dtype.kind == "b":
        value = bool(value)
    elif data.dtype.kind in "iu":
        value = int(value)
    else:  # (a float16 tensor refuses 1e5, as fill_ does)
        value = _scalar_for(value, data.dtype)
    ops.check_broadcast(m.shape, data.shape)
    if in_place:
        return inplace(ROWS["masked_fill_"], input, None, {"mask": m, "value": value})
    return unary(ROWS["masked_fill_"], input, {"mask": m, "value": value})


def masked_fill(input, mask, value):
    return _masked_fill(_need_tensor("masked_fill", input), mask, value, False)


def _masked_fill_(self, mask, value):
    return _masked_fill(self, mask, value, True)


def _index_tensor(name, index, pos):
    if type(index) is not Tensor:
        raise TypeError(f"{name}(): argument 'index' (position {pos}) must be Tensor, not "
                        f"{type(index).__name__}")
    return index._data


def gather(input, dim, index, *, sparse_grad=False):
    data = _need_tensor("gather", input)._data
    ndim = data.ndim
    d = _dim(dim, ndim)
    idx = _index_tensor("gather", index, 3)
    if idx.dtype not in (xp.int64, xp.int32):
        raise RuntimeError("gather(): Expected dtype int32/int64 for index")
    if builtin_max(idx.ndim, 1) != builtin_max(ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    shape = data.shape or (1,)
    ishape = idx.shape or (1,)
    for k, n in enumerate(ishape):
        if k != d and n > shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index {list(ishape)} to be no "
                               f"larger than self {list(shape)} apart from dimension {d}")
    bad = (idx < 0) | (idx >= shape[d])
    if bad.any():
        first = int(idx[bad].reshape(-1)[0])
        raise RuntimeError(f"index {first} is out of bounds for dimension {d} with size {shape[d]}")
    if type(data) is not type(idx):
        idx = backend.like(backend.to_host(idx), backend.device_type_of(data))
    index_tuple = ops.along(idx.astype(xp.int64), d, ndim) if ndim else ()
    return unary(ROWS["gather"], input, {"index": index_tuple, "in_shape": data.shape})


def index_select(input, dim, index):
    data = _need_tensor("index_select", input)._data
    d = _dim(dim, data.ndim)
    idx = _index_tensor("index_select", index, 3)
    if idx.dtype not in (xp.int64, xp.int32):
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if not data.ndim and idx.size != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)")
    size = data.shape[d] if data.ndim else 1
    bad = (idx < 0) | (idx >= size)
    if bad.any():
        if data.ndim > 1 and size == 0:  # (PyTorch's CPU kernel checks an empty dim first)
            raise RuntimeError("index_select(): self indexing axis dim should be positive")
        if data.ndim > 1 and d != 0:  # (PyTorch's CPU kernel for an inner dim words it so)
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={int(idx[bad].reshape(-1)[0])} "
                               f"axis_dim={size}")
        raise IndexError("index out of range in self")
    if type(data) is not type(idx):
        idx = backend.like(backend.to_host(idx), backend.device_type_of(data))
    if not data.ndim:
        return unary(ROWS["index_select"], input, {"index": (), "in_shape": data.shape})
    key = (slice(None),) * d + (idx.reshape(-1).astype(xp.int64),)
    return unary(ROWS["index_select"], input, {"index": key, "in_shape": data.shape})


def _repeat(self, *sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple, Size)):
        sizes = tuple(sizes[0])
    for n in sizes:
        _int_arg("repeat", n, "repeats", 0)
    data = self._data
    if len(sizes) < data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions "
                           "of tensor")
    padded = (1,) * (len(sizes) - data.ndim) + data.shape
    target = [n * k for n, k in zip(sizes, padded)]
    for n in target:
        if n < 0:
            sizes = ", ".join(map(str, target))
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{sizes}]")
    limits.check_tensor_size(_numel(target), data.itemsize)
    return unary(ROWS["repeat"], self, {"sizes": tuple(sizes), "in_shape": data.shape})


def _triangle(name):
    def fn(input, diagonal=0):
        data = _need_tensor(name, input)._data
        _int_arg(name, diagonal, "diagonal", 2)
        if data.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return unary(ROWS[name], input, {"diagonal": diagonal})

    fn.__name__ = name
    return fn


tril = _triangle("tril")
triu = _triangle("triu")


def narrow(input, dim, start, length):
    data = _need_tensor("narrow", input)._data
    if type(start) is Tensor:
        start = int(start._data)
    if not data.ndim:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    d = _dim(dim, data.ndim)
    size = data.shape[d]
    if start < -size or start > size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got "
                         f"{start})")
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    key = (slice(None),) * d + (slice(start, start + length),)
    return unary(ROWS["slice"], input, {"index": key, "in_shape": data.shape})


def cumprod(input, dim, *, dtype=None):
    return _cumulative("cumprod", input, dim, dtype)


def _sorted_indices(data, d, descending):
    if not data.ndim:
        return backend.namespace_of(data).zeros((), xp.int64)
    return ops._sort_order(data, d, descending).astype(xp.int64, copy=False)


def sort(input, dim=-1, descending=False, *, stable=False):
    data = _need_tensor("sort", input)._data
    d = _dim(dim, data.ndim)
    order = _sorted_indices(data, d, descending)
    index = ops.along(order, d, data.ndim) if data.ndim else ()
    values = unary(ROWS["sort"], input, {"index": index, "in_shape": data.shape})
    return _ReturnType("sort", values, _nograd(order))


def argsort(input, dim=-1, descending=False, *, stable=False):
    data = _need_tensor("argsort", input)._data
    return _nograd(_sorted_indices(data, _dim(dim, data.ndim), descending))


def _topk(input, k, dim=-1, largest=True, sorted=True, *, pos=2):  # noqa: A002 - PyTorch's name
    data = _need_tensor("topk", input)._data
    _int_arg("topk", k, "k", pos)
    d = _dim(dim, data.ndim)
    size = data.shape[d] if data.ndim else 1
    if k < 0 or k > size:  # (checked before the dtype, as PyTorch's topk_meta does)
        raise RuntimeError("selected index k out of range")
    if data.dtype.kind == "b":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    order = _sorted_indices(data, d, largest)
    if data.ndim:
        order = order[(slice(None),) * d + (slice(0, k),)]
    index = ops.along(order, d, data.ndim) if data.ndim else ()
    values = unary(ROWS["topk"], input, {"index": index, "in_shape": data.shape})
    return _ReturnType("topk", values, _nograd(order))


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    return _topk(input, k, dim, largest, sorted)


sinh = _unary_fn("sinh", "sinh")
cosh = _unary_fn("cosh", "cosh")
asin = _unary_fn("asin", "asin")
acos = _unary_fn("acos", "acos")
atan = _unary_fn("atan", "atan")
log2 = _unary_fn("log2", "log2")
log10 = _unary_fn("log10", "log10")


def trace(input):
    data = _need_tensor("trace", input)._data
    _no_kernel(input, "trace")  # (PyTorch checks the dtype first)
    if data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {data.ndim}")
    return unary(ROWS["trace"], input, {"shape": data.shape})


def diag(input, diagonal=0):
    data = _need_tensor("diag", input)._data
    _int_arg("diag", diagonal, "diagonal", 2)
    if data.ndim not in (1, 2):
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {data.ndim}D")
    ns = backend.namespace_of(data)
    k = diagonal
    if data.ndim == 1:
        n = data.shape[0]
        size = n + builtin_abs(k)
        limits.check_tensor_size(size * size, data.itemsize)
        index = (ns.arange(n) + builtin_max(-k, 0), ns.arange(n) + builtin_max(k, 0))
        return unary(ROWS["diag_embed"], input, {"shape": (size, size), "index": index})
    rows, cols = data.shape
    count = builtin_max(builtin_min(rows, cols - k) if k >= 0 else builtin_min(rows + k, cols), 0)
    index = (ns.arange(count) + builtin_max(-k, 0), ns.arange(count) + builtin_max(k, 0))
    return unary(ROWS["diagonal"], input, {"index": index, "in_shape": data.shape})


def movedim(input, source, destination):
    ndim = _need_tensor("movedim", input)._data.ndim
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
                           f"contain the same number of dims as destination ({list(dst)} dims)")
    src_n = [_dim(s, ndim) for s in src]
    dst_n = [_dim(s, ndim) for s in dst]
    if len(set(src_n)) != len(src_n):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(src)})")
    if len(set(dst_n)) != len(dst_n):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(dst)})")
    order = [n for n in range(ndim) if n not in src_n]
    for d, s in sorted(zip(dst_n, src_n)):
        order.insert(d, s)
    return permute(input, *order) if ndim else unary(ROWS["alias"], input)  # (0-d: PyTorch's alias)


moveaxis = movedim


def roll(input, shifts, dims=None):
    data = _need_tensor("roll", input)._data
    if isinstance(shifts, int) and not isinstance(shifts, bool):
        shifts = (shifts,)
    elif not isinstance(shifts, (list, tuple)):
        raise TypeError("roll(): argument 'shifts' (position 2) must be tuple of ints, not "
                        f"{type(shifts).__name__}")
    dims = () if dims is None else (dims,) if isinstance(dims, int) else tuple(dims)
    shifts = tuple(shifts)
    if not shifts:
        raise RuntimeError("`shifts` required")
    if dims or len(shifts) != 1:
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if not data.ndim and dims:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    dims = tuple(_dim(d, data.ndim) for d in dims)
    return unary(ROWS["roll"], input, {"shifts": shifts, "dims": dims})


# ------------------------------------------------------------------ more of torch.nn.functional
def softmin(input, dim=None, _stacklevel=3, dtype=None):
    dim = _implicit_softmax_dim(_need_tensor("softmin", input), dim)
    return softmax(neg(input), dim, dtype=dtype)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    _need_tensor("normalize", input)
    denom = clamp_min(norm(input, p, dim, keepdim=True), eps)
    return div(input, expand(denom, *input._data.shape))


def _addmm(bias, mat1, mat2):
    """bias + mat1 @ mat2 as one AddmmBackward0 node (PyTorch's linear of a matrix with a bias)."""
    # addmm's own dtype checks, the bias (self) first: a float64 bias was promoted into the result
    for name, other in (("self", bias), ("mat1", mat1)):
        if other.dtype is not mat2.dtype:
            raise RuntimeError(f"{name} and mat2 must have the same dtype, but got "
                               f"{other.dtype.legacy[:-6]} and {mat2.dtype.legacy[:-6]}")
    product = ops._check_mm(mat1._data, mat2._data)
    b = ops._expand_fwd(bias._data, product.shape)
    if product.dtype == xp.float16:  # (PyTorch adds the bias to the float32 product, rounding once)
        wide = ops._check_mm(mat1._data.astype(xp.float32), mat2._data.astype(xp.float32))
        res = ops._wrap((wide + b.astype(xp.float32)).astype(product.dtype))
    else:
        res = ops._wrap((product + b).astype(product.dtype, copy=False))
    if GRAD.enabled and (bias._rg or mat1._rg or mat2._rg):
        ops._record(ROWS["addmm"], res, (bias, mat1, mat2), {"mat1": mat1, "mat2": mat2})
    return res


def linear(input, weight, bias=None):
    _need_tensor("linear", input)
    _need_tensor("linear", weight, 2, "weight")
    if bias is not None:
        _need_tensor("linear", bias, 3, "bias")
    shape, wdim = input._data.shape, weight._data.ndim
    if not shape or not wdim:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are {len(shape)}D and "
                           f"{wdim}D")
    if bias is not None and wdim == 2:
        if len(shape) == 2:
            return _addmm(bias, input, t(weight))
        if input._data.flags.c_contiguous and (len(shape) == 3 or bias._data.ndim == 1):
            flat = reshape(input, _numel(shape[:-1]), shape[-1])
            out = _addmm(bias, flat, t(weight))
            return view(out, *shape[:-1], out._data.shape[1])
    out = matmul(input, t(weight))
    return out if bias is None else add(out, bias)


def one_hot(tensor, num_classes=-1):
    data = _need_tensor("one_hot", tensor)._data
    if data.dtype != xp.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    ns = backend.namespace_of(data)
    if not data.size:
        if num_classes <= 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        return _nograd(ns.zeros(data.shape + (num_classes,), xp.int64))
    if int(data.min()) < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(data.max()) + 1
    elif num_classes <= int(data.max()):
        raise RuntimeError("Class values must be smaller than num_classes.")
    limits.check_tensor_size(data.size * num_classes, 8)
    return _nograd((data[..., None] == ns.arange(num_classes)).astype(xp.int64))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    _need_tensor("cosine_similarity", x1)
    _need_tensor("cosine_similarity", x2, 2, "x2")
    common = dtypes.result_type((x1, x2))
    if not common.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{common.legacy[:-6]}")
    if x1._data.dtype.kind != "f":
        x1 = to(x1, common)
    if x2._data.dtype.kind != "f":
        x2 = to(x2, common)
    shape = ops.check_broadcast(x1._data.shape, x2._data.shape)
    if x1._data.shape != shape:
        x1 = expand(x1, *shape)
    if x2._data.shape != shape:
        x2 = expand(x2, *shape)
    n1 = clone(norm(x1, 2, dim, keepdim=True))
    n2 = clone(norm(x2, 2, dim, keepdim=True))
    with engine_no_grad():
        _clamp_(n1, eps)
        _clamp_(n2, eps)
    return sum(mul(div(x1, n1), div(x2, n2)), dim)


def dropout(input, p=0.5, training=True, inplace=False):
    """Identity unless training; in training, the kept values scaled by 1 / (1 - p), the mask drawn as
    PyTorch's bernoulli_(1 - p) draws it (rng.CPUGenerator.bernoulli)."""
    _need_tensor("dropout", input)
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    data = input._data
    if p == 0 or not training or not data.size:
        return input
    if p == 1:
        noise = xp.zeros((), data.dtype)
    else:
        if data.dtype.kind != "f":
            raise RuntimeError(f"result type Float can't be cast to the desired output type "
                               f"{ops._type_name(data.dtype)}")
        keep = RANDOM.gen.bernoulli(data.shape, 1 - p)
        noise = keep.astype(data.dtype) / data.dtype.type(1 - p)
    noise = _finish(noise, False, backend.device_type_of(data))
    return inplace(ROWS["mul"], input, noise) if inplace else mul(input, noise)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    _need_tensor("kl_div", input)
    _need_tensor("kl_div", target, 2, "target")
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    elif reduction != "batchmean":
        _check_reduction(reduction)
    if input._data.dtype.kind != "f" or target._data.dtype.kind != "f":
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        out = mul(exp(target), sub(target, input))
    else:
        if target._rg and GRAD.enabled:
            entropy = binary(ROWS["xlogy"], target, target)
        else:
            entropy = _nograd(ops._xlogy_fwd(target._data, target._data))
        out = sub(entropy, mul(target, input))
    if reduction == "mean":
        return mean(out)
    if reduction in ("sum", "batchmean"):
        out = sum(out)
        if reduction == "batchmean" and input._data.ndim:
            out = div(out, input._data.shape[0])
    return out


def _float_test(name, fn, default):
    """isnan / isinf / isfinite: bool results that carry no gradient (an integer tensor is always finite)."""

    def test(input):
        data = _need_tensor(name, input)._data
        if data.dtype.kind != "f":
            return _nograd(backend.namespace_of(data).full(data.shape, default, dtype=bool))
        return _nograd(fn(data))

    test.__name__ = name
    return test


isnan = _float_test("isnan", xp.isnan, False)
isinf = _float_test("isinf", xp.isinf, False)
isfinite = _float_test("isfinite", xp.isfinite, True)


builtin_max = __builtins__["max"] if isinstance(__builtins__, dict) else __builtins__.max
builtin_all = __builtins__["all"] if isinstance(__builtins__, dict) else __builtins__.all
builtin_sum = __builtins__["sum"] if isinstance(__builtins__, dict) else __builtins__.sum
builtin_abs = __builtins__["abs"] if isinstance(__builtins__, dict) else __builtins__.abs
builtin_min = __builtins__["min"] if isinstance(__builtins__, dict) else __builtins__.min


def _mean_count(shape, dims):
    n = 1
    for d in dims:
        n *= shape[d]
    return n


# ------------------------------------------------------------------ factories
def _resolve_dtype(dtype):
    if dtype is None or isinstance(dtype, dtypes.DType):
        return dtype
    if dtype in (float,):
        return dtypes.float64
    if dtype in (int,):
        return dtypes.int64
    if dtype in (bool,):
        return dtypes.bool_
    raise TypeError(f"dtype must be torch.dtype, not {type(dtype).__name__}")


def _check_device(device):
    """The device type ('cpu' or 'cuda') a factory puts its tensor on: the one named, else the default
    (cuda under --device cuda). Naming cuda without CuPy or a GPU fails here, saying which is missing."""
    if device is None:
        return backend.default_device
    dev = Device(device)
    if dev.type != "cpu":
        backend.cuda_namespace()
    return dev.type


def _finish(array, requires_grad, device="cpu"):
    """A factory's tensor: `array` (made on the host) moved to `device`."""
    if device != "cpu":
        array = backend.like(array, device)
    t = _nograd(array)
    if requires_grad:
        if array.dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t._rg = True
    return t


def _infer(data, shape, depth, flat):
    """Walk nested lists, checking they are rectangular; returns the dtype PyTorch infers for them: each
    number's (bool, int64 or the default float) and each tensor's own, promoted together (an empty list
    counts as the default float)."""
    if type(data) is Tensor:
        if depth == len(shape):
            shape.extend(data._data.shape)
        elif tuple(shape[depth:]) != data._data.shape:
            raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} (got {len(data)})")
        flat.extend(data._data.reshape(-1).tolist())
        return data.dtype
    r = _range_of(data)
    if r is not None:  # torch.tensor(range(5)): int64 elements, refused before they are listed if too many
        n = len(r)
        if depth == len(shape):
            shape.append(n)
        elif shape[depth] != n:
            raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} (got {n})")
        limits.check_tensor_size(len(flat) + n, 8)
        flat.extend(r)
        return dtypes.int64 if n else dtypes.defaults.float
    if isinstance(data, (list, tuple, Size)):
        n = len(data)
        if depth == len(shape):
            shape.append(n)
        elif shape[depth] != n:
            raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} (got {n})")
        kind = None
        for item in data:
            k = _infer(item, shape, depth + 1, flat)
            kind = k if kind is None else dtypes.promote_types(kind, k)
        return dtypes.defaults.float if kind is None else kind
    if isinstance(data, (bool, int, float)):
        flat.append(data)
        return dtypes.scalar_dtype(data)
    if depth == 0 and isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


def _range_of(data):
    """A range argument as a Python range: a range, or the interpreter's long range (which counts its steps
    and keeps the range itself in `.range`); None for anything else."""
    if type(data) is range:
        return data
    if type(data).__module__ == "gradcli.interpreter" and type(getattr(data, "range", None)) is range:
        return data.range
    return None


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    dtype = _resolve_dtype(dtype)
    dev = _check_device(device)
    if type(data) is Tensor:
        array = data._data.copy()
        if dtype is not None:
            array = array.astype(dtype.np)
        if device is None:  # a tensor's copy stays where the tensor is
            return _finish(array, requires_grad)
        return _finish(backend.to_device(array, dev), requires_grad)
    r = _range_of(data)
    low, high = -(1 << 63), 1 << 63
    if r is not None and dtype is None and r and low <= r[0] < high and low <= r[-1] < high:
        limits.check_tensor_size(len(r), 8)  # (a long range straight to an int64 array, not through a list)
        return _finish(xp.arange(r.start, r.stop, r.step, dtype=xp.int64), requires_grad, dev)
    shape, flat = [], []
    inferred = _infer(data, shape, 0, flat)
    if dtype is None:
        dtype = inferred
    limits.check_tensor_size(len(flat), dtype.itemsize)
    if dtype.np.kind in "iu":
        # c10's check for a float into an integer dtype: within [lowest, max] (numpy would truncate 255.9
        # into uint8's 255, or wrap)
        info = xp.iinfo(dtype.np)
        if builtin_any(type(v) is float and not info.min <= v <= info.max for v in flat if v == v):
            raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow")
    try:
        array = xp.array(flat, dtype=dtype.np).reshape(shape)
    except OverflowError:
        if dtype.np.kind != "u":
            raise _tensor_overflow(flat, dtype) from None
        # c10's checked conversion lets a negative int down to -max wrap into an unsigned dtype (uint8: -1 is
        # 255, -255 is 1), as _scalar_for does for a number argument
        top = int(xp.iinfo(dtype.np).max)
        wrapped = [v % (top + 1) if type(v) is int and -top <= v < 0 else v for v in flat]
        try:
            array = xp.array(wrapped, dtype=dtype.np).reshape(shape)
        except OverflowError:
            raise _tensor_overflow(flat, dtype) from None
    except ValueError:  # (numpy: "cannot convert float NaN to integer")
        raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow") from None
    return _finish(array, requires_grad, dev)


def _tensor_overflow(flat, dtype):
    """PyTorch's error for torch.tensor(data) with a number its dtype cannot hold (numpy's words are about
    C longs and bounds): an int outside int64 for an integer dtype fails to unpack, an int beyond any float
    fails to become one, and anything else fails the dtype's own range check."""
    if dtype.is_floating_point:
        return OverflowError("int too large to convert to float")
    if builtin_any(type(v) is int and not -(1 << 63) <= v < 1 << 63 for v in flat):
        return ValueError("Overflow when unpacking long long")
    return RuntimeError(f"value cannot be converted to type {dtype.name} without overflow")


# The C++ type names of PyTorch's "value cannot be converted to type ... without overflow" for a number
# argument (full, fill_).
_SCALAR_TYPE_NAMES = {
    "int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t", "uint8": "uint8_t",
    "float16": "c10::Half", "float32": "float", "float64": "double", "bool": "bool",
}


def _scalar_for(value, dtype):
    """A Python number argument (full's fill_value, fill_'s value, a clamp bound, an int exponent) checked as
    PyTorch checks it before it becomes `dtype` (an np dtype); numpy would raise its own OverflowError, or
    wrap silently. An unsigned dtype takes -max..max, a negative value as the number it stands for there
    (uint8: -1 is 255, -255 is 1), as c10's overflow check and conversion do."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if type(value) is int:
        ops.python_int_scalar(value)
    kind = dtype.kind
    if kind in "iu":
        info = xp.iinfo(dtype)
        # (a negative int wraps into an unsigned dtype; a float must lie within the dtype's range)
        low = -info.max if kind == "u" and type(value) is int else info.min
        fits = low <= value <= info.max
        if fits and value < 0 and kind == "u":
            value %= info.max + 1
    else:
        fits = kind != "f" or dtype.itemsize == 8 or not math.isfinite(value) or (
            builtin_abs(value) <= xp.finfo(dtype).max)
    if not fits:
        name = _SCALAR_TYPE_NAMES[dtype.name]
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")
    return value


def as_tensor(data, dtype=None, device=None):
    if type(data) is Tensor and (dtype is None or dtype is data.dtype):
        return data
    return tensor(data, dtype=dtype, device=device)


def _sized(name, size, dtype, fill):
    shape = _shape_args(name, size)
    for n in shape:
        if n < 0:  # (zeros has its own words)
            if name == "zeros":
                raise RuntimeError("zeros: Dimension size must be non-negative.")
            sizes = ", ".join(map(str, shape))
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{sizes}]")
        if n >= 2**63:
            raise TypeError(
                f"{name}(): argument 'size' failed to unpack the object at pos 1 with error "
                '"Overflow when unpacking long long"'
            )
    count = 1
    for n in shape:
        count *= n
    dtype = _resolve_dtype(dtype) or dtypes.defaults.float
    limits.check_tensor_size(count, dtype.itemsize)
    return fill(shape, dtype.np)


def _size_keyword(name, shape, size):
    """torch.zeros(size=(2, 3)): the shape by keyword, as PyTorch's factories also take it."""
    if size is None:
        return shape
    if shape:
        raise TypeError(f"{name}() got multiple values for argument 'size'")
    return (size,)


def zeros(*shape, size=None, dtype=None, device=None, requires_grad=False, out=None):
    size = _size_keyword("zeros", shape, size)
    dev = _check_device(device)
    return _finish(_sized("zeros", size, dtype, _maker(dev, "zeros")), requires_grad)


def ones(*shape, size=None, dtype=None, device=None, requires_grad=False, out=None):
    size = _size_keyword("ones", shape, size)
    dev = _check_device(device)
    return _finish(_sized("ones", size, dtype, _maker(dev, "ones")), requires_grad)


def _maker(device, name):
    """numpy's `name` (zeros, ones), or CuPy's for a tensor made on the GPU (no host copy to move)."""
    return getattr(xp if device == "cpu" else backend.cuda_namespace(), name)


def empty(*shape, size=None, dtype=None, device=None, requires_grad=False):
    size = _size_keyword("empty", shape, size)
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    dev = _check_device(device)
    if dtype is None:
        dtype = dtypes.scalar_dtype(fill_value)
    return _finish(_sized("full", (size,) if isinstance(size, int) else size, dtype,
                          lambda s, d: xp.full(s, _scalar_for(fill_value, xp.dtype(d)), dtype=d)),
                   requires_grad, dev)


def _like(name, input, dtype, requires_grad, fill, device=None):
    """zeros_like and friends: on the input's device unless `device` names another."""
    _need_tensor(name, input)
    dtype = _resolve_dtype(dtype) or input.dtype
    dev = backend.device_type_of(input._data) if device is None else _check_device(device)
    return _finish(fill(input._data.shape, dtype.np), requires_grad, dev)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False):
    return _like("zeros_like", input, dtype, requires_grad, xp.zeros, device)


def ones_like(input, *, dtype=None, device=None, requires_grad=False):
    return _like("ones_like", input, dtype, requires_grad, xp.ones, device)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    return _like("full_like", input, dtype, requires_grad, lambda s, d: xp.full(s, fill_value, dtype=d),
                 device)


_ARANGE_TAIL = ("torch.dtype dtype = None, torch.layout layout = None, torch.device device = None, "
                "bool pin_memory = False, bool requires_grad = False)\n")
_ARANGE_FORMS = (
    f" * (Number end, *, Tensor out = None, {_ARANGE_TAIL}"
    f" * (Number start, Number end, *, {_ARANGE_TAIL}"
    f" * (Number start, Number end, Number step = 1, *, Tensor out = None, {_ARANGE_TAIL}"
)
_NO_STEP = object()  # arange's step when none was given (its argument errors list what was given)


def _check_arange_args(start, end, step):
    """PyTorch's argument errors for arange: its numbers may be Python numbers or tensors, nothing else."""
    given = (start,) if end is None else (start, end) if step is _NO_STEP else (start, end, step)
    if builtin_all(type(v) is Tensor or isinstance(v, _NUMBER) for v in given):
        return
    if len(given) == 1:
        raise TypeError(f"arange(): argument 'end' (position 1) must be Number, not {type(start).__name__}")
    got = ", ".join(type(v).__name__ for v in given)
    raise TypeError(f"arange() received an invalid combination of arguments - got ({got}), but expected one "
                    f"of:\n{_ARANGE_FORMS}")


def arange(start=0, end=None, step=_NO_STEP, *, dtype=None, device=None, requires_grad=False):
    _check_arange_args(start, end, step)
    if step is _NO_STEP:
        step = 1
    dev = _check_device(device)
    if _resolve_dtype(dtype) is dtypes.bool_:  # (no bool kernel in PyTorch: before any range check)
        raise NotImplementedError('"arange_cpu" not implemented for \'Bool\'')
    if end is None:
        start, end = 0, start
    vals = [v.item() if type(v) is Tensor else v for v in (start, end, step)]
    vals = [int(v) if type(v) is bool else v for v in vals]  # (numpy's bool arange is another thing)
    start, end, step = vals
    for v in vals:
        if type(v) is int:
            ops.python_int_scalar(v)
        elif type(v) is float and not math.isfinite(v) and v is not step:
            raise RuntimeError(f"unsupported range: {_num(start)} -> {_num(end)}")
    if step == 0 or step != step:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    dtype = _resolve_dtype(dtype) or (
        dtypes.defaults.float if builtin_any(isinstance(v, float) for v in vals) else dtypes.int64
    )
    if not dtype.is_floating_point and builtin_any(type(v) is int and v >= 1 << 63 for v in vals):
        raise RuntimeError("value cannot be converted to type int64_t without overflow")
    size = (end - start) / step
    if not math.isfinite(size) or size >= 1 << 63:
        raise RuntimeError("invalid size, possible overflow?")
    count = math.ceil(size)
    limits.check_tensor_size(count, dtype.itemsize)
    if dtype.is_floating_point:
        array = (start + xp.arange(count, dtype=xp.float64) * step).astype(dtype.np)
    else:
        array = xp.arange(start, end, step, dtype=dtype.np)
    return _finish(array, requires_grad, dev)


builtin_any = __builtins__["any"] if isinstance(__builtins__, dict) else __builtins__.any


def _num(v):
    """A number as c10's Scalar prints it in arange's range message (inf, nan, 0)."""
    return str(v).lower() if type(v) is float and not math.isfinite(v) else str(v)


def _linspace_end(v, which):
    """linspace's start or end: a number, or a 0-d tensor's value (numpy would take a tensor as an object)."""
    if type(v) is Tensor:
        if v._data.ndim:
            raise RuntimeError(
                "linspace only supports 0-dimensional start and end tensors, but got "
                f"{which} with {v._data.ndim} dimension(s)."
            )
        return v.item()
    if type(v) is int:
        ops.python_int_scalar(v)
    return v


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    dev = _check_device(device)
    start, end = _linspace_end(start, "start"), _linspace_end(end, "end")
    if steps < 0:
        raise RuntimeError("linspace(): number of steps must be non-negative")
    dtype = _resolve_dtype(dtype) or dtypes.defaults.float
    if dtype.np.kind == "b":
        raise NotImplementedError('"linspace_cpu" not implemented for \'Bool\'')
    limits.check_tensor_size(steps, dtype.itemsize)
    return _finish(_linspace_values(start, end, steps, dtype.np), requires_grad, dev)


def _linspace_values(start, end, steps, np_dtype):
    """PyTorch's CPU linspace, value for value. start and end are first converted to the dtype (an integer
    one truncates them); step = (end - start) / (steps - 1), in the dtype (in double for integers); then
    start + step * i for the first half and end - step * (steps - 1 - i) for the rest. For float32 and
    float64 the kernel's multiply-add is fused, one rounding, so the middle of linspace(-1, 1, 7) is
    -2.98e-08 as PyTorch prints it, not 0: computed wide here, exactly for float32 (in float64), to within
    a rounding for float64 (in long double). float16 rounds at every step, as c10::Half's operators do."""
    if steps <= 1:  # (empty, or filled with start: only what is used is converted and checked)
        return xp.array([_scalar_for(start, np_dtype)] if steps else []).astype(np_dtype)
    start, end = _scalar_for(start, np_dtype), _scalar_for(end, np_dtype)  # (PyTorch's overflow checks)
    i = xp.arange(steps)
    low = i < steps // 2
    k = xp.where(low, i, steps - 1 - i)
    if np_dtype.kind == "f" and np_dtype.itemsize == 2:
        half = np_dtype.type
        first, last = half(start), half(end)
        step = (last - first) / half(builtin_max(steps - 1, 1))
        kk = k.astype(np_dtype)
        return xp.where(low, first + step * kk, last - step * kk).astype(np_dtype)
    if np_dtype.kind in "iu":
        # (C++'s conversion truncates towards zero; a negative int is wrapped into an unsigned dtype)
        first, last = (float(int(v) % (xp.iinfo(np_dtype).max + 1) if np_dtype.kind == "u" else int(v))
                       for v in (start, end))
        kind = xp.dtype(xp.float64)
    else:
        kind = np_dtype
        first, last = kind.type(start), kind.type(end)
    step = (kind.type(last) - kind.type(first)) / kind.type(builtin_max(steps - 1, 1))
    wide = xp.float64 if kind.itemsize < 8 else xp.longdouble
    values = xp.where(low, wide(first), wide(last)) + xp.where(low, 1, -1).astype(wide) * wide(step) * k
    if np_dtype.kind in "iu":
        values = values.astype(xp.float64)  # (then truncated towards zero, as C++ converts)
    return values.astype(np_dtype)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    dev = _check_device(device)
    dtype = _resolve_dtype(dtype) or dtypes.defaults.float
    for name, v in (("n", n), ("m", m)):
        if type(v) is int and v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    limits.check_tensor_size(n * (n if m is None else m), dtype.itemsize)
    return _finish(xp.eye(n, m, dtype=dtype.np), requires_grad, dev)


class _Random:
    """The default generator: PyTorch's CPU random stream (gradcli.rng), so that after the same
    torch.manual_seed a program draws PyTorch's values."""

    def __init__(self):
        self._gen = None

    @property
    def gen(self):
        # Made on first use: numpy.random costs start-up time most scripts never repay.
        if self._gen is None:
            from .rng import CPUGenerator

            self._gen = CPUGenerator()
        return self._gen

    def seed(self, seed):
        from .rng import CPUGenerator

        self._gen = CPUGenerator(seed)


RANDOM = _Random()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """torch.set_printoptions: as PyTorch's, a profile first, then each option given; sci_mode is always
    set."""
    options = formatting.OPTIONS
    if profile is not None and profile in options.PROFILES:
        options.precision, options.threshold, options.edgeitems, options.linewidth = options.PROFILES[profile]
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"set_printoptions(): {name} must be a number, not {type(value).__name__}")
            setattr(options, name, value)
    options.sci_mode = sci_mode


class _VariableClass(type):
    """torch.autograd.Variable's metaclass: every tensor is an instance, and it prints as PyTorch's."""

    def __instancecheck__(cls, obj):
        return type(obj) is Tensor

    def __repr__(cls):
        return "<class 'torch.autograd.variable.Variable'>"


class Variable(metaclass=_VariableClass):
    """torch.autograd.Variable, as old tutorials use it: Variable(t, requires_grad=True) is a new leaf that
    shares t's values (t.detach().requires_grad_(requires_grad)); `volatile` only warns, as in PyTorch."""

    def __new__(cls, data=None, requires_grad=False, volatile=False, **kwargs):
        if kwargs:
            raise TypeError(f"'{next(iter(kwargs))}' is an invalid keyword argument for this function")
        if volatile:
            torch_warning("volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                          "torch/autograd/variable.py")
        if data is None:
            data = empty(0)
        elif type(data) is not Tensor:
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if requires_grad and not data.is_floating_point():
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        return data.detach().requires_grad_(bool(requires_grad))


def _seed_value(seed):
    """A seed as PyTorch takes it: any int64, kept as a uint64 (-1 is 2**64 - 1)."""
    seed = int(seed)
    if not -(1 << 63) <= seed < 1 << 64:
        raise ValueError("Overflow when unpacking long long")
    return seed % (1 << 64)


class Generator:
    """torch.Generator: a random stream of its own (a new one is seeded with PyTorch's default seed), or, as
    torch.manual_seed returns it, the default stream."""

    SCRIPT_ATTRS = frozenset({"manual_seed", "seed", "initial_seed", "device"})
    DEFAULT_SEED = 67280421310721  # (PyTorch's default_rng_seed_val)

    def __init__(self, device="cpu"):
        if Device(device).type != "cpu":
            raise RuntimeError("gradcli: only CPU generators exist (a GPU tensor takes values drawn on the "
                               "host)")
        self._rng = None  # CPUGenerator, made on first use; None with _default for the default stream
        self._default = False

    @classmethod
    def default(cls):
        gen = cls()
        gen._default = True
        return gen

    @property
    def rng(self):
        if self._default:
            return RANDOM.gen
        if self._rng is None:
            from .rng import CPUGenerator

            self._rng = CPUGenerator(self.DEFAULT_SEED)
        return self._rng

    @property
    def device(self):
        return Device("cpu")

    def manual_seed(self, seed):
        seed = _seed_value(seed)
        if self._default:
            RANDOM.seed(seed)
        else:
            from .rng import CPUGenerator

            self._rng = CPUGenerator(seed)
        return self

    def seed(self):
        from .rng import random_seed

        seed = random_seed()
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        return self.rng.seed

    def __repr__(self):
        return f"<torch._C.Generator object at {id(self):#x}>"


def manual_seed(seed):
    return Generator.default().manual_seed(seed)


def _stream(generator, name, device):
    """The random stream a draw onto `device` ('cpu' or 'cuda') takes: the generator's, or the default one.
    Every torch.Generator here is a CPU one, which PyTorch refuses for a CUDA tensor."""
    if generator is None:
        return RANDOM.gen
    if type(generator) is not Generator:
        raise TypeError(f"{name}(): argument 'generator' must be torch.Generator, not "
                        f"{type(generator).__name__}")
    if device != "cpu":
        raise RuntimeError(f"Expected a '{device}' device type for generator but found 'cpu'")
    return generator.rng


def _drawn(draw):
    """A factory's fill from the random stream: n values drawn in the tensor's memory order."""
    return lambda shape, dtype: draw(math.prod(shape), dtype).reshape(shape)


# The random stream is drawn on the host and the values moved to the device, so a seeded program draws the
# same values on the CPU and on the GPU (PyTorch's CUDA generator draws other values).
def rand(*shape, size=None, dtype=None, device=None, requires_grad=False, generator=None):
    size = _size_keyword("rand", shape, size)
    dev = _check_device(device)
    gen = _stream(generator, "rand", dev)
    return _finish(_sized("rand", size, dtype, _drawn(lambda n, d: gen.uniform(n, _float_draw(
        d, "check_uniform_bounds")))), requires_grad, dev)


def randn(*shape, size=None, dtype=None, device=None, requires_grad=False, generator=None):
    size = _size_keyword("randn", shape, size)
    dev = _check_device(device)
    gen = _stream(generator, "randn", dev)
    return _finish(_sized("randn", size, dtype, _drawn(lambda n, d: gen.normal(n, _float_draw(
        d, "normal_kernel_cpu")))), requires_grad, dev)


def _float_draw(np_dtype, kernel):
    """A draw of floats into np_dtype: PyTorch's kernels have none for an integer or bool dtype."""
    if np_dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{ops._type_name(np_dtype)}\'')
    return np_dtype


def _random_bound(method, name, value, pos):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if type(value) is Tensor and value._data.ndim == 0 and value._data.dtype.kind in "fiu":
            return float(value._data)
        raise TypeError(f"{method}(): argument '{name}' (position {pos}) must be float, not "
                        f"{type(value).__name__}")
    return float(value)


def _drawn_in_place(self, row, values, other=None):
    """self's values replaced by `values`, drawn for it in its memory order (see _memory_order), as an
    in-place op (of self and `other`, a tensor the draw depended on)."""
    data = self._data
    order = _memory_axes(data)
    values = values.reshape([data.shape[d] for d in order]).transpose(xp.argsort(order))
    return inplace(row, self, other, {"values": backend.to_device(values, backend.device_type_of(data))})


def _uniform_(self, *args, generator=None, **kw):
    if len(args) > 2:
        raise TypeError(f"uniform_() takes from 0 to 2 positional arguments but {len(args)} were given")
    # (`from` is a Python keyword: x.uniform_(**{"from": 0}) is the only way to name it)
    from_ = args[0] if args else kw.pop("from", 0)
    to = args[1] if len(args) > 1 else kw.pop("to", 1)
    if kw:
        raise TypeError(f"uniform_() got an unexpected keyword argument '{next(iter(kw))}'")
    low = _random_bound("uniform_", "from", from_, 1)
    high = _random_bound("uniform_", "to", to, 2)
    data = self._data
    if data.dtype.kind != "f":
        raise NotImplementedError(f'"check_uniform_bounds" not implemented for \'{self.dtype.legacy[:-6]}\'')
    info = xp.finfo(data.dtype)
    c_name = ops._C_NAMES[data.dtype.name]
    for name, v in (("from", low), ("to", high)):
        if not float(info.min) <= v <= float(info.max):
            raise RuntimeError(f"{name} is out of bounds for {c_name}")
    if low > high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={_g(low)} > "
                           f"to={_g(high)}")
    gen = _stream(generator, "uniform_", backend.device_type_of(data))
    return _drawn_in_place(self, ROWS["uniform_"], gen.uniform(data.size, data.dtype, low, high))


def _normal_(self, mean=0, std=1, *, generator=None):
    mean = _random_bound("normal_", "mean", mean, 1)
    std = _random_bound("normal_", "std", std, 2)
    data = self._data
    if data.dtype.kind != "f":
        raise NotImplementedError(f'"normal_kernel_cpu" not implemented for \'{self.dtype.legacy[:-6]}\'')
    if not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_g(std)}")
    contiguous = data.flags["C_CONTIGUOUS"]
    gen = _stream(generator, "normal_", backend.device_type_of(data))
    values = gen.normal(data.size, data.dtype, mean, std, contiguous)
    return _drawn_in_place(self, ROWS["normal_"], values)


def _memory_axes(data):
    """data's dims in the order PyTorch's TensorIterator walks them: the largest stride outermost (C order for
    a contiguous array)."""
    if data.flags["C_CONTIGUOUS"]:
        return list(range(data.ndim))
    return sorted(range(data.ndim), key=lambda d: -data.strides[d])


def _memory_order(data, like=None):
    """data's values in the memory order of `like` (of data itself by default)."""
    return data.transpose(_memory_axes(data if like is None else like)).reshape(-1)


def _probabilities(name, p):
    data = p._data
    if data.dtype.kind != "f":
        raise NotImplementedError(f'"{name}" not implemented for \'{p.dtype.legacy[:-6]}\'')
    host = backend.to_host(data)
    if not ((host >= 0) & (host <= 1)).all():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
                           "message be improved?  If so, please report an enhancement request to PyTorch.)")
    return _memory_order(host)


def bernoulli(input, p=None, *, generator=None):
    """torch.bernoulli: one draw per probability in input (a BernoulliBackward0 node: zero gradient); with a
    number p, each element is drawn with that probability (PyTorch's empty_like(input).bernoulli_(p), whose
    NotImplemented node gradcli does not record)."""
    _need_tensor("bernoulli", input)
    if p is not None:
        return _bernoulli_(empty(*input._data.shape, dtype=input.dtype,
                                 device=backend.device_type_of(input._data)), p, generator=generator)
    probs = _probabilities("bernoulli_tensor_cpu_p_", input)
    values = _stream(generator, "bernoulli", backend.device_type_of(input._data)).bernoulli_tensor(probs)
    data = input._data
    values = backend.to_device(values.astype(data.dtype).reshape(data.shape), backend.device_type_of(data))
    return unary(ROWS["bernoulli"], input, {"values": values})


def _bernoulli_(self, p=0.5, *, generator=None):
    data = self._data
    if type(p) is Tensor:
        _probabilities("bernoulli_tensor_cpu_p_", p)
        with engine_no_grad():  # (p expanded to self's shape, with expand's checks and words)
            probs = backend.to_host(expand(p, *data.shape)._data)
        gen = _stream(generator, "bernoulli_", backend.device_type_of(data))
        values = gen.bernoulli_tensor(_memory_order(probs, data))
        return _drawn_in_place(self, ROWS["bernoulli_tensor_"], values.astype(data.dtype), p)
    value = _random_bound("bernoulli_", "p", p, 1)
    if not 0 <= value <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_g(value)}")
    values = _stream(generator, "bernoulli_", backend.device_type_of(data)).bernoulli((data.size,), value)
    return _drawn_in_place(self, ROWS["bernoulli_"], values.astype(data.dtype))


def _g(value):
    """A double as PyTorch's messages print it (C++ ostream: 6 significant digits, no trailing zeros)."""
    return f"{value:g}"


def normal(mean=0.0, std=1.0, size=None, *, dtype=None, device=None, requires_grad=False, generator=None):
    if size is None or type(mean) is Tensor or type(std) is Tensor:
        raise RuntimeError("gradcli supports torch.normal(mean, std, size) with float mean and std only")
    out = empty(*size, dtype=dtype, device=device)
    _normal_(out, mean, std, generator=generator)
    return _finish(out._data, requires_grad, backend.device_type_of(out._data))


def rand_like(input, *, dtype=None, requires_grad=False):
    _need_tensor("rand_like", input)
    return rand(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                device=backend.device_type_of(input._data))


def randn_like(input, *, dtype=None, requires_grad=False):
    _need_tensor("randn_like", input)
    return randn(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                 device=backend.device_type_of(input._data))


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    dev = _check_device(device)
    gen = _stream(generator, "randint", dev)
    if size is None:
        low, high, size = 0, low, high
    dtype = _resolve_dtype(dtype) or dtypes.int64
    if not low < high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if dtype.np.kind in "iub":  # (what the dtype can hold, in PyTorch's words)
        info = None if dtype.np.kind == "b" else xp.iinfo(dtype.np)
        lo, hi = (0, 1) if info is None else (int(info.min), int(info.max))
        for name, value in (("from", low), ("to - 1", high - 1)):
            if not lo <= value <= hi:
                raise RuntimeError(f"{name} is out of bounds for {ops._C_NAMES[dtype.np.name]}")
    integers = _drawn(lambda n, d: gen.integers(n, low, high).astype(d))
    return _finish(_sized("randint", tuple(size), dtype, integers),
                   requires_grad, dev)


def randperm(n, *, generator=None, dtype=None, device=None):
    dev = _check_device(device)
    gen = _stream(generator, "randperm", dev)
    if type(n) is Tensor and n._data.ndim == 0 and n._data.dtype.kind in "iu":  # (an int tensor is an int)
        n = int(n._data)
    if type(n) is not int:
        raise TypeError(f"randperm(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    # (numpy's permutation of n would try these, and say so in numpy's words)
    if not -(1 << 63) <= n < 1 << 63:
        raise ValueError("Overflow when unpacking long long")
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    limits.check_tensor_size(n, 8)
    return _finish(gen.permutation(n), False, dev)


# ------------------------------------------------------------------ Tensor methods and operators
def _binop(fn, swap=False):
    def method(self, other):
        if type(other) is not Tensor and not isinstance(other, _NUMBER):
            return NotImplemented
        return fn(other, self) if swap else fn(self, other)

    return method


def _tensor_binop(fn, swap=False):
    """An operator that takes only tensors (@): for anything else Python's own TypeError."""
    def method(self, other):
        if type(other) is not Tensor:
            return NotImplemented
        return fn(other, self) if swap else fn(self, other)

    return method


def _direct(key):
    """An operator that is exactly `binary(row, self, other)` once other is a number or a tensor (`+` and
    `*`: add and mul have nothing to check or convert for a tensor on the left), one call shorter."""
    row = ROWS[key]

    def method(self, other):
        if type(other) is Tensor or type(other) is float or isinstance(other, _NUMBER):
            return binary(row, self, other)
        return NotImplemented

    return method


def _inplace_method(key, convert=None):
    row = ROWS[key]

    def method(self, other=None, *, alpha=1):
        if convert is not None:
            other = convert(other)
        params = {"alpha": alpha} if alpha != 1 else None
        return inplace(row, self, other, params)

    return method


def _iop(fn_inplace, fn):
    def method(self, other):
        if type(other) is not Tensor and not isinstance(other, _NUMBER):
            return NotImplemented
        return fn_inplace(self, other)

    return method


def _div_(self, other, *, rounding_mode=_NO_MODE):
    if rounding_mode is not _NO_MODE:
        _check_rounding_mode(rounding_mode)
    if rounding_mode in ("floor", "trunc"):
        return inplace(ROWS["div_rounding"], self, other, {"rounding_mode": rounding_mode})
    if self._data.dtype.kind != "f":
        if type(other) is int:  # (PyTorch takes the number first: OverflowError, or a bool's promotion error)
            ops._int_operand(other, self._data, ops.TRUE_DIVIDE)
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {ops._type_name(self._data.dtype)}")
    return inplace(ROWS["div" if rounding_mode is _NO_MODE else "div_mode"], self, other)


def _zero_(self):
    return inplace(ROWS["zero_"], self)


def _fill_(self, value):
    if type(value) is Tensor:
        if value._data.ndim:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value._data.ndim} dimensions."
            )
        return inplace(ROWS["fill_tensor"], self, value, any_cast=True)
    if not isinstance(value, _NUMBER):
        overloads = ("(Tensor value)|all", "(Number value)|all")
        raise TypeError(_invalid_combination("fill_", (value,), {}, overloads))
    value = _scalar_for(value, self._data.dtype)
    return inplace(ROWS["fill_"], self, None, {"value": value})


def _copy_(self, src):
    _need_tensor("copy_", src, 1, "src")
    return inplace(ROWS["copy_"], self, src, any_cast=True)


def _clamp_(self, min=None, max=None):  # noqa: A002
    _check_bounds("clamp_", min, max)
    _no_bool_clamp(self, min, max)
    numbers = [b for b in (min, max) if b is not None and type(b) is not Tensor]
    kind = dtypes.result_type((self, *numbers))
    if not ops.can_cast(kind.np, self._data.dtype):  # (clamp_ names the tensor's C++ type)
        raise RuntimeError(f"result type {kind.legacy[:-6]} can't be cast to the desired output type "
                           f"{ops._C_NAMES[self._data.dtype.name]}")
    return inplace(ROWS["clamp"], self, None, {"min": min, "max": max})


def _method_to(self, *args, **kwargs):
    return to(self, *args, **kwargs)


def _type_as(self, other):
    return to(self, _other_tensor("type_as", other).dtype)


def _other_tensor(name, other):
    """A method's tensor argument, as PyTorch's parser checks it (position 1: self is not counted)."""
    return _need_tensor(name, other, 1, "other")


def _type_method(self, dtype=None, non_blocking=False):
    """t.type(): PyTorch's legacy type name ('torch.FloatTensor'); t.type(dtype or that name): a cast, and
    for a name a move too, where it names the other device ('torch.cuda.FloatTensor' of a CPU tensor)."""
    if dtype is None:
        return ("torch.cuda." if backend.is_device_array(self._data) else "torch.") + self.dtype.legacy
    if isinstance(dtype, str):
        places = (("cpu", "torch."), ("cuda", "torch.cuda."))
        named = {prefix + d.legacy: (device, d) for device, prefix in places for d in dtypes.ALL if d.legacy}
        if dtype not in named:
            raise ValueError(f"invalid type: {dtype!r}")
        device, dtype = named[dtype]
        return to(self, dtype, device=device)
    return to(self, dtype)


def _size_method(name):
    def method(self, *shape):
        return globals()[name](self, *shape)

    return method


_KEEPDIM_REDUCTIONS = {"sum": sum, "mean": mean, "argmax": argmax, "argmin": argmin, "prod": prod,
                       "logsumexp": logsumexp, "amax": amax, "amin": amin, "any": any, "all": all}


def script_functions():
    """The reductions as the torch module gives them to scripts: with PyTorch's check of keepdim."""
    checked = {name: _bool_args(fn, name, False, 2) for name, fn in _KEEPDIM_REDUCTIONS.items()}
    checked.update(max=_bool_args(max, "max", False, 2), min=_bool_args(min, "min", False, 2),
                   var=_bool_args(var, "var", False, 3, also=2), std=_bool_args(std, "std", False, 3, also=2))
    return checked


def _max_method(which):
    def method(self, dim=None, keepdim=False):
        return _max_min(which, self, dim, keepdim)

    return method


def _bitwise(name, fn):
    """& | ^ on tensors: integer and bool dtypes only, with PyTorch's promotion and its error for floats."""

    def method(self, other):
        if type(other) is not Tensor and not isinstance(other, _NUMBER):
            return NotImplemented
        a, b = ops._operand_arrays(self, other)
        kind = dtypes.result_type((self, other))
        if kind.is_floating_point:
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{kind.legacy[:-6]}\'')
        return _nograd(fn(a, b))

    return method


def _mT(self):  # noqa: N802 - PyTorch's name
    if not self._data.ndim:  # (a 0-d tensor's mT is the tensor itself)
        return self
    if self._data.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got "
                           f"{self._data.ndim}-D tensor.")
    return transpose(self, -2, -1)


def _neg_(self):
    if self._data.dtype.kind == "b":
        raise RuntimeError(_NEG_BOOL)
    return inplace(ROWS["neg"], self)


def _invert_float(self):
    raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")


def _shift(left, reflected=False, in_place=False):
    """<< and >> on integer tensors, as PyTorch's kernels shift: a count below 0 or past the dtype's bits
    gives 0 (>> of a negative value: -1) rather than numpy's undefined result; no float or bool kernel."""
    kernel = "lshift_cpu" if left else "rshift_cpu"

    def method(self, other):
        if type(other) is not Tensor and not isinstance(other, _NUMBER):
            return NotImplemented
        x, y = (other, self) if reflected else (self, other)
        if type(x) is not Tensor:
            x = tensor(x)
        kind = dtypes.result_type((x, y))
        if kind.category != 1:
            raise NotImplementedError(f'"{kernel}" not implemented for \'{kind.legacy[:-6]}\'')
        a, b = ops._operand_arrays(x, y)
        ns = backend.namespace_of(a if hasattr(a, "dtype") else b)
        a, b = ns.asarray(a, dtype=kind.np), ns.asarray(b, dtype=kind.np)
        out_of_range = (b < 0) | (b >= kind.itemsize * 8)
        count = ns.where(out_of_range, 0, b)
        if left:
            out = ns.where(out_of_range, 0, ns.left_shift(a, count))
        else:
            out = ns.where(out_of_range, ns.where(a < 0, -1, 0), ns.right_shift(a, count))
        out = out.astype(kind.np, copy=False)
        if not in_place:
            return _nograd(out)
        ops.check_inplace_result(out, self._data)
        xp.copyto(self._data, out, casting="unsafe")
        self._version[0] += 1
        return self

    return method


def _ibitwise(name, fn):
    """&= |= ^= on tensors: & | ^, written into the tensor (integers and bools, which carry no grad)."""
    compute = _bitwise(name, fn)

    def method(self, other):
        result = compute(self, other)
        if result is NotImplemented:
            return result
        ops.check_inplace_result(result._data, self._data)
        xp.copyto(self._data, result._data, casting="unsafe")
        self._version[0] += 1
        return self

    return method


def _ifloordiv(self, other):
    if type(other) is not Tensor and not isinstance(other, _NUMBER):
        return NotImplemented
    return inplace(ROWS["floor_divide"], self, other)


def _imod(self, other):
    if type(other) is not Tensor and not isinstance(other, _NUMBER):
        return NotImplemented
    return inplace(ROWS["remainder_tensor" if type(other) is Tensor else "remainder"], self, other)


def _ipow(self, exponent):
    if type(exponent) is Tensor:
        ops._no_bool("pow", self._data, exponent._data)
        return inplace(ROWS["pow_tensor"], self, exponent)
    if not isinstance(exponent, _NUMBER):
        return NotImplemented
    if type(exponent) is int and not -0x80 <= exponent <= 0x7F:
        exponent = _int_exponent(exponent, self._data.dtype)
    return inplace(ROWS["pow"], self, None, {"exponent": exponent})


def install_tensor_methods(cls):
    conv = {
        "float": lambda self: to(self, dtypes.float32),
        "double": lambda self: to(self, dtypes.float64),
        "half": lambda self: to(self, dtypes.float16),
        "long": lambda self: to(self, dtypes.int64),
        "int": lambda self: to(self, dtypes.int32),
        "bool": lambda self: to(self, dtypes.bool_),
    }
    methods = {
        # operators
        # (`2 + x` is x.__radd__(2): PyTorch adds the number to the tensor, so the tensor is the node's first
        # input, and 2**63 is a number to wrap, not a tensor to make)
        "__add__": _direct("add"), "__radd__": _direct("add"),
        "__sub__": _binop(sub), "__rsub__": _binop(rsub),
        "__mul__": _direct("mul"), "__rmul__": _direct("mul"),  # (PyTorch's __rmul__ is mul(self, other))
        "__truediv__": _binop(div), "__rtruediv__": _rtruediv,
        "__floordiv__": _binop(floor_divide), "__rfloordiv__": _binop(floor_divide, swap=True),
        "__mod__": _binop(remainder), "__rmod__": _binop(remainder, swap=True),
        "__pow__": _binop(pow), "__rpow__": _binop(pow, swap=True),
        "__matmul__": _tensor_binop(matmul), "__rmatmul__": _tensor_binop(matmul, swap=True),
        "__neg__": neg, "__pos__": lambda self: self, "__abs__": abs,
        **{f"__{name}__": fn for name, fn in _COMPARISONS.items()},
        "__invert__": lambda self: logical_not(self) if self._data.dtype.kind == "b" else _invert_float(self)
        if self._data.dtype.kind == "f" else
        _nograd(~self._data),
        "__and__": _bitwise("bitwise_and", operator.and_),
        "__or__": _bitwise("bitwise_or", operator.or_),
        "__xor__": _bitwise("bitwise_xor", operator.xor),
        # (`3 & t`: the three are commutative, so the reflected method is the same one)
        "__rand__": _bitwise("bitwise_and", operator.and_),
        "__ror__": _bitwise("bitwise_or", operator.or_),
        "__rxor__": _bitwise("bitwise_xor", operator.xor),
        "__getitem__": getitem, "__setitem__": setitem,
        "__iadd__": _iop(lambda s, o: inplace(ROWS["add"], s, o), add),
        "__isub__": _iop(_sub_, sub),
        "__imul__": _iop(lambda s, o: inplace(ROWS["mul"], s, o), mul),
        "__itruediv__": _iop(_div_, div),
        "__ifloordiv__": _ifloordiv, "__imod__": _imod, "__ipow__": _ipow,
        "__lshift__": _shift(True), "__rshift__": _shift(False),
        "__rlshift__": _shift(True, reflected=True), "__rrshift__": _shift(False, reflected=True),
        "__ilshift__": _shift(True, in_place=True), "__irshift__": _shift(False, in_place=True),
        "__iand__": _ibitwise("bitwise_and", operator.and_), "__ior__": _ibitwise("bitwise_or", operator.or_),
        "__ixor__": _ibitwise("bitwise_xor", operator.xor),
        # methods
        "add": lambda self, other, *, alpha=1: add(self, other, alpha=alpha),
        "sub": lambda self, other, *, alpha=1: sub(self, other, alpha=alpha),
        "mul": mul, "div": div, "neg": neg, "pow": pow, "exp": exp, "log": log, "sin": sin, "cos": cos,
        "tan": tan, "tanh": tanh, "sigmoid": sigmoid, "erf": erf, "relu": relu, "sqrt": sqrt, "abs": abs,
        "clamp": clamp,
        "clip": clamp,
        "clamp_min": clamp_min, "clamp_max": clamp_max, "maximum": maximum, "minimum": minimum,
        "max": _bool_args(_max_method("max"), "max", True, 2),
        "min": _bool_args(_max_method("min"), "min", True, 2),
        **{name: _bool_args(fn, name, True, 2) for name, fn in _KEEPDIM_REDUCTIONS.items()},
        "var": _bool_args(var, "var", True, 3, also=2), "std": _bool_args(std, "std", True, 3, also=2),
        "norm": norm, "cumsum": cumsum, "flip": _flip_method,
        "chunk": chunk, "split": lambda self, split_size, dim=0: split(self, split_size, dim),
        "isnan": isnan, "isinf": isinf, "isfinite": isfinite,
        "masked_fill": masked_fill, "masked_fill_": _masked_fill_, "gather": gather,
        "index_select": index_select,
        "repeat": _repeat, "tril": tril, "triu": triu, "narrow": narrow, "cumprod": cumprod, "sort": sort,
        "argsort": argsort, "topk": lambda self, k, dim=-1, largest=True, sorted=True: _topk(  # noqa: A006
            self, k, dim, largest, sorted, pos=1),
        "sinh": sinh, "cosh": cosh, "asin": asin, "acos": acos, "atan": atan, "log2": log2, "log10": log10,
        "trace": trace, "diag": diag, "movedim": movedim, "moveaxis": movedim, "roll": roll,
        "swapdims": transpose, "swapaxes": transpose, "ravel": ravel, "sgn": sgn, "signbit": signbit,
        "count_nonzero": count_nonzero, "nansum": nansum, "nanmean": nanmean, "masked_select": masked_select,
        "diff": diff,
        "matmul": matmul, "mm": mm, "mv": mv, "bmm": bmm, "dot": dot, "outer": outer,
        "atan2": atan2, "hypot": hypot, "logaddexp": logaddexp, "lerp": lerp, "lerp_": _lerp_,
        "addcmul": addcmul, "addcdiv": addcdiv,
        "addcmul_": lambda self, tensor1, tensor2, *, value=1: _addc_("addcmul", self, tensor1, tensor2,
                                                                      value),
        "addcdiv_": lambda self, tensor1, tensor2, *, value=1: _addc_("addcdiv", self, tensor1, tensor2,
                                                                      value),
        "softmax": softmax, "log_softmax": log_softmax,
        "reshape": reshape, "view": view, "flatten": flatten, "transpose": transpose, "t": t,
        "permute": permute,
        "unsqueeze": unsqueeze, "squeeze": squeeze, "expand": expand, "clone": clone, "unbind": unbind,
        "view_as": lambda self, other: view(self, *_other_tensor("view_as", other).shape),
        "reshape_as": lambda self, other: reshape(self, *_other_tensor("reshape_as", other).shape),
        "expand_as": lambda self, other: expand(self, *_other_tensor("expand_as", other).shape),
        "contiguous": lambda self: self if self._data.flags["C_CONTIGUOUS"] else clone(self),
        "to": _method_to, "type_as": _type_as, "type": _type_method, "cpu": lambda self: to(self, "cpu"),
        "cuda": lambda self, device=None, non_blocking=False: to(self, "cuda" if device is None else device),
        "sign": sign, "floor": floor, "ceil": ceil, "round": round, "trunc": trunc, "frac": frac,
        "reciprocal": reciprocal,
        "square": square,
        "log1p": log1p, "expm1": expm1, "exp2": exp2, "rsqrt": rsqrt,
        **{name: _compare_function(name, fn, method=True) for name, fn in _COMPARISONS.items()},
        "equal": lambda self, other: equal(self, _other_tensor("equal", other)), "allclose": allclose,

        "add_": _inplace_method("add"), "sub_": _sub_, "mul_": _inplace_method("mul"),
        "div_": _div_, "zero_": _zero_, "fill_": _fill_, "copy_": _copy_, "clamp_": _clamp_,
        "uniform_": _uniform_, "normal_": _normal_, "bernoulli_": _bernoulli_,
        "bernoulli": lambda self, p=None, *, generator=None: bernoulli(self, p, generator=generator),
        "neg_": lambda self: _neg_(self),
        "exp_": lambda self: inplace(ROWS["exp"], self),
        "abs_": lambda self: _no_kernel(self, "abs_cpu") or inplace(ROWS["abs"], self),
        "pow_": _ipow,
        "new_tensor": lambda self, data, **kw: tensor(data, dtype=kw.get("dtype") or self.dtype,
                                                     device=kw.get("device") or self.device,
                                                     requires_grad=kw.get("requires_grad", False)),
        "new_zeros": lambda self, *size, **kw: zeros(*size, dtype=kw.get("dtype") or self.dtype,
                                                     device=kw.get("device") or self.device),
        "new_ones": lambda self, *size, **kw: ones(*size, dtype=kw.get("dtype") or self.dtype,
                                                   device=kw.get("device") or self.device),
        "zeros_like": zeros_like, "ones_like": ones_like,
        **conv,
    }
    for name, fn in methods.items():
        setattr(cls, name, fn)
    cls.T = property(lambda self: permute(self, tuple(reversed(range(self._data.ndim)))))  # (a view, 1-d too)
    cls.mT = property(_mT)


# ------------------------------------------------------------------ the differentiable math namespace
def _t_where(cond, x, y):
    c = cond._data if type(cond) is Tensor else cond
    if type(x) is not Tensor:
        x = _nograd(backend.namespace_of(y._data).asarray(x, dtype=y._data.dtype))
    if type(y) is not Tensor:
        y = _nograd(backend.namespace_of(x._data).asarray(y, dtype=x._data.dtype))
    return binary(ROWS["where"], x, y, {"condition": c})


def _t_sum(x, axes, keepdims):
    return sum(x) if axes is None else sum(x, tuple(axes), keepdims)


def _t_index_grad(g, shape, index, row):
    return unary(ROWS[row], g, {"shape": shape, "index": index})


def _t_getitem(x, index):
    """x[index] for an index already in backend form (the saved index of a node), as a differentiable op."""
    row = "slice" if ops._is_basic(index) else "index"
    items = index if isinstance(index, tuple) else (index,)
    if row == "slice" and builtin_any(isinstance(i, int) for i in items):
        row = "select"
    return unary(ROWS[row], x, {"index": index, "in_shape": x._data.shape})


def _t_mse_loss_backward(g, x, y, reduction):
    row = ROWS["mse_loss_backward"]
    res = ops._wrap(row.forward(g._data, x._data, y._data, reduction))
    if GRAD.enabled and (g._rg or x._rg or y._rg):
        ops._record(row, res, (g, x, y), {"grad": g, "x": x, "y": y, "reduction": reduction})
    return res


def _t_loss_backward(name, g, x, y, p):
    row = ROWS[name + "_backward"]
    res = ops._wrap(row.forward(g._data, x._data, y._data, p))
    if GRAD.enabled and (g._rg or x._rg or y._rg):
        ops._record(row, res, (g, x, y), dict(p, grad=g, x=x, y=y))
    return res


def _t_nll_loss_backward(g, p):
    row = ROWS["nll_loss2d_backward" if len(p["shape"]) == 4 else "nll_loss_backward"]
    x = p["input"]
    res = ops._wrap(row.forward(g._data, x._data, p))
    if GRAD.enabled and (g._rg or x._rg):
        ops._record(row, res, (g, x), p)
    return res


def _t_nll_loss(x, p):
    row = ROWS["nll_loss2d" if len(p["shape"]) == 4 else "nll_loss"]
    res = ops._wrap(row.forward(x._data, p))
    if GRAD.enabled and x._rg:
        p = dict(p, input=x)
        ops._record(row, res, (x,), p)
    return res


def _t_sigmoid_of(x):
    """sigmoid(x) with the values of silu's backward, 1 / (exp(-x) + 1), as one SigmoidBackward0 node."""
    res = ops._wrap(ops.ARRAY_MATH.sigmoid_of(x._data))
    if GRAD.enabled and x._rg:
        ops._record(ROWS["sigmoid"], res, (x,), None)
    return res


def _t_prod(x, axes, keepdims):
    return _reduce(ROWS["prod_dim"], x, tuple(axes), keepdims)


ops.TENSOR_MATH = SimpleNamespace(
    exp=exp, log=log, sin=sin, cos=cos, floor=floor, tanh=tanh, erf=erf, sigmoid=sigmoid,
    threshold_backward=lambda g, result: binary(ROWS["threshold_backward"], g, result),
    tanh_backward=lambda g, result: binary(ROWS["tanh_backward"], g, result),
    sigmoid_backward=lambda g, result: binary(ROWS["sigmoid_backward"], g, result),
    softmax_backward=lambda g, result, dim: binary(ROWS["softmax_backward"], g, result, {"dim": dim}),
    log_softmax_backward=lambda g, result, dim: binary(ROWS["log_softmax_backward"], g, result, {"dim": dim}),
    pow=lambda x, e: x ** e,
    where=_t_where,
    equal=lambda a, b: _nograd(xp.equal(a._data if type(a) is Tensor else a,
                                        b._data if type(b) is Tensor else b)),
    logical_and=lambda a, b: _nograd(xp.logical_and(a._data if type(a) is Tensor else a,
                                                    b._data if type(b) is Tensor else b)),
    count=lambda mask: int(xp.count_nonzero(mask._data if type(mask) is Tensor else mask)),
    sum=_t_sum,
    reshape=lambda x, shape: reshape(x, *shape),
    broadcast_to=lambda x, shape: expand(x, *shape),
    expand_dims=unsqueeze,
    astype=lambda x, dtype: unary(ROWS["to_dtype"], x, {"dtype": dtype}),
    mT=lambda x: transpose(x, -2, -1),
    mean_keep=lambda x: mean(x, -1, True),
    bmm=lambda a, b: binary(ROWS["bmm"], a, b),
    t=lambda x: t(x),
    swapaxes=transpose,
    permute=lambda x, dims: permute(x, *dims),
    outer=outer,
    take=lambda x, i, dim: getitem(x, (slice(None),) * dim + (i,)),
    narrow=lambda x, dim, start, n: getitem(x, (slice(None),) * dim + (slice(start, start + n),)),
    index_grad=_t_index_grad,
    getitem=_t_getitem,
    gather=lambda x, index: unary(ROWS["gather"], x, {"index": index, "in_shape": x._data.shape}),
    as_strided=lambda x, index: unary(ROWS["as_strided"], x, {"index": index, "n": x._data.size}),
    copy_slices=lambda storage, src, index: binary(ROWS["copy_slices"], storage, src, {"index": index}),
    copy_into_new=lambda g: binary(ROWS["copy_"], _nograd(backend.namespace_of(g._data).zeros_like(g._data)),
                                   g),
    clone=lambda x: unary(ROWS["clone"], x),
    scatter_into=lambda src, shape, index: binary(
        ROWS["scatter_src"], _nograd(backend.namespace_of(src._data).zeros(shape, src._data.dtype)), src,
        {"index": index}),
    prod=_t_prod,
    cumsum=lambda x, dim: cumsum(x, dim),
    cumprod=lambda x, dim: cumprod(x, dim),
    sinh=sinh, cosh=cosh, rsqrt=rsqrt, reciprocal=lambda x: reciprocal(x),
    square=lambda x: x ** 2,
    squeeze_dim=lambda x, dim: squeeze(x, dim),
    mse_loss_backward=_t_mse_loss_backward,
    loss_backward=_t_loss_backward,
    act_backward=lambda row, g, x, p: binary(ROWS[row + "_backward"], g, x, p),
    gelu_backward=lambda g, x, approximate: binary(ROWS["gelu_backward"], g, x, {"approximate": approximate}),
    leaky_relu_backward=lambda g, x, slope: binary(ROWS["leaky_relu_backward"], g, x,
                                                   {"negative_slope": slope}),
    log_sigmoid_backward=lambda g, x: binary(ROWS["log_sigmoid_backward"], g, x),
    masked_scatter_into_zeros=_masked_scatter_into_zeros,
    masked_select=lambda x, mask: unary(ROWS["masked_select"], x, {"mask": mask, "shape": x._data.shape}),
    embedding_dense_backward=lambda g, indices, num, padding: unary(
        ROWS["embedding_dense_backward"], g,
        {"indices": indices, "num_weights": num, "padding_idx": padding}),
    embedding=lambda w, indices, padding: _embedding_rows(w, indices, padding),
    hardtanh_backward=lambda g, x, lo, hi: binary(ROWS["hardtanh_backward"], g, x,
                                                  {"min_val": lo, "max_val": hi}),
    sigmoid_of=_t_sigmoid_of,
    nll_loss_backward=_t_nll_loss_backward,
    nll_loss=_t_nll_loss,
    masked_fill=lambda x, mask, value: unary(ROWS["masked_fill_"], x, {"mask": mask, "value": value}),
    masked_fill_tensor=lambda x, mask, value: binary(ROWS["masked_fill_tensor"], x, value, {"mask": mask}),
    mean=lambda x, dims: mean(x) if dims is None else mean(x, tuple(dims), True),
    sign=lambda x: unary(ROWS["sgn"], x),  # (PyTorch's formulas take sgn(), its SgnBackward0 node)
    roll=lambda x, shifts, dims: roll(x, shifts, dims or None),
    stack=lambda xs, dim: stack(xs, dim),
    cat=lambda xs, dim: cat(xs, dim),
    flip=lambda x, dims: flip(x, dims),
    zeros=lambda g: _nograd(xp.zeros_like(g._data)),
    data=lambda x: x._data if type(x) is Tensor else x,
    const=_nograd,
    np_dtype=lambda x: x._data.dtype,
    to_device=lambda x, device: to(x, device=device),
)
install_tensor_methods(Tensor)
