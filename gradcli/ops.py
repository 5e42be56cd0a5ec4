"""The op table: every differentiable op, its forward computation, its derivative, and its `grad_fn` name.

One row per op, in the style of PyTorch's derivatives.yaml. A derivative is written once and runs two ways:
`m` is either ARRAY_MATH (backend arrays: the fast path) or TENSOR_MATH (differentiable tensor ops, used
when `create_graph=True` so second derivatives work). Each backward gets

    m, g, a, b, r, p   ->   one gradient per tensor input (None where none flows)

where g is the incoming gradient, a/b the saved inputs (only those the row asks to save), r the saved result
and p the op's non-tensor parameters. Broadcasting is undone by the engine, not here.

What a row saves (`save`): letters "a", "b" (the inputs) and "r" (the result). An upper-case letter saves
that input only if the *other* input requires grad (mul needs b only to differentiate a), which is how a
chain of `exp` then `* 3.0` keeps only the exp outputs alive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

from . import dtypes, limits
from .backend import xp
from .engine import FREED_MESSAGE, GRAD, Node, _sequence, edge_to
from .tensor import Tensor

ndarray = xp.ndarray
asarray = xp.asarray
_NO_EDGE = (None, 0)


@dataclass(frozen=True)
class Op:
    grad_fn: str  # the name PyTorch 2.13 gives this op's node
    forward: Callable
    backward: Callable | None  # None: not differentiable in PyTorch either (the node says so on use)
    save: str = ""
    aten: str = ""  # for a row PyTorch cannot differentiate: the name its error message gives
    view: bool = False  # the result shares memory (and the version counter) with the input
    node: type = field(default=None, compare=False)


class OpNode(Node):
    """The node of a built-in op. One subclass per row, named after its grad_fn."""

    __slots__ = ("a", "b", "r", "p", "meta", "checks", "freed", "n_outputs")
    op: Op = None

    def apply(self, grads, create_graph):
        if self.freed:
            raise RuntimeError(FREED_MESSAGE)
        if self.checks is not None:
            for t, counter, expected, what in self.checks:
                if counter[0] != expected:
                    raise RuntimeError(_modified_message(t, counter[0], expected, what, self))
        op = self.op
        if op.backward is None:
            raise RuntimeError(f"derivative for {op.aten} is not implemented")
        a, b, r = self.a, self.b, self.r
        if create_graph:
            m = TENSOR_MATH
            if r is not None:
                r = _saved_output(r, self)
            g = grads[0]
        else:
            m = ARRAY_MATH
            if type(a) is Tensor:
                a = a._data
            if type(b) is Tensor:
                b = b._data
            g = grads[0]
        outs = op.backward(m, g, a, b, r, self.p)
        return _fit(m, outs, self.meta)

    def release(self):
        if self.op.save:
            self.a = self.b = self.r = None
            self.freed = True


def _saved_output(array, node):
    t = Tensor._make(array)
    t.grad_fn = node
    t._rg = True
    return t


def _fit(m, outs, meta):
    """Give each gradient its input's shape and dtype (sum out broadcast dims, cast like PyTorch)."""
    fitted = []
    for g, info in zip(outs, meta):
        if g is not None and info is not None:
            shape, dtype = info
            if g.shape != shape:
                from .engine import _sum_to

                g = _sum_to(m, g, shape)
            if m.np_dtype(g) != dtype:
                g = m.astype(g, dtype)
        fitted.append(g)
    return fitted


def _modified_message(t, version, expected, what, node):
    shape = ", ".join(str(n) for n in t.shape) if t is not None else ""
    legacy = t.dtype.legacy if t is not None else "Tensor"
    if what == "result":
        origin = f", which is output 0 of {_short(node.name())},"
    elif t is not None and t.grad_fn is not None:
        origin = f", which is output {t.output_nr} of {_short(t.grad_fn.name())},"
    else:
        origin = ""
    return (
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        f"[torch.{legacy} [{shape}]]{origin} is at version {version}; expected version {expected} instead. "
        "Hint: enable anomaly detection to find the operation that failed to compute its gradient, with "
        "torch.autograd.set_detect_anomaly(True, check_nan=False)."
    )


def _short(name):
    stem = name.rstrip("0123456789")
    return stem[: -len("Backward")] if stem.endswith("Backward") else stem


# --------------------------------------------------------------- applying ops
def _wrap(out):
    if type(out) is not ndarray:
        out = asarray(out)
    return Tensor._make(out)


def _record(op, result, inputs, params, inplace_old=None):
    """Attach a node for `op` to `result`, saving what the row's derivative needs."""
    node = op.node()
    node.seq = next(_sequence)
    node.retained = None
    node.freed = False
    node.n_outputs = 1
    node.p = params
    node.next_functions = tuple(edge_to(x) if type(x) is Tensor else _NO_EDGE for x in inputs)
    node.meta = tuple((x._data.shape, x._data.dtype) if type(x) is Tensor else None for x in inputs)
    node.a = node.b = node.r = None
    node.checks = None
    save = op.save
    if save:
        checks = []
        a_rg = type(inputs[0]) is Tensor and inputs[0]._rg
        b_rg = len(inputs) > 1 and type(inputs[1]) is Tensor and inputs[1]._rg
        for letter in save:
            if letter == "r":
                node.r = result._data
                checks.append((result, result._version, result._version[0], "result"))
                continue
            i = 0 if letter in "aA" else 1
            if letter == "A" and not b_rg or letter == "B" and not a_rg or i >= len(inputs):
                continue
            x = inputs[i]
            if i == 0 and inplace_old is not None:
                x = inplace_old
            if type(x) is Tensor:
                checks.append((x, x._version, x._version[0], "input"))
            if i == 0:
                node.a = x
            else:
                node.b = x
        node.checks = tuple(checks) if checks else None
    result.grad_fn = node
    result._rg = True
    return result


def unary(op, x, params=None):
    xa = x._data
    out = op.forward(xa, **params) if params else op.forward(xa)
    if type(out) is not ndarray:
        out = asarray(out)
    res = Tensor._make(out)
    if op.view:
        res._version = x._version
        res._base = x._base if x._base is not None else x
    if x._rg and GRAD.enabled:
        _record(op, res, (x,), params)
    return res


def _operand_arrays(x, y):
    """The two operands as arrays of PyTorch's result dtype (numpy promotes differently)."""
    xt = type(x) is Tensor
    yt = type(y) is Tensor
    xa = x._data if xt else x
    ya = y._data if yt else y
    if xt and yt:
        if xa.dtype != ya.dtype:
            want = dtypes.result_type((x, y)).np
            xa = xa.astype(want, copy=False)
            ya = ya.astype(want, copy=False)
        if xa.shape != ya.shape:
            check_broadcast(xa.shape, ya.shape)
        return xa, ya
    t, s = (xa, ya) if xt else (ya, xa)
    st = type(s)
    if st is float:
        if t.dtype.kind != "f":
            t = t.astype(dtypes.defaults.float.np)
    elif st is int:
        if t.dtype.kind == "b":
            t = t.astype(xp.int64)
    elif st is not bool:
        s = _as_number(s)
        return _operand_arrays(x if xt else s, s if xt else y)
    return (t, s) if xt else (s, t)


def _as_number(s):
    """Python's other number-likes (numpy scalars never reach scripts, but a float subclass might)."""
    if isinstance(s, bool):
        return bool(s)
    if isinstance(s, int):
        return int(s)
    if isinstance(s, float):
        return float(s)
    raise TypeError(f"unsupported operand type: '{type(s).__name__}'")


def binary(op, x, y, params=None):
    xa, ya = _operand_arrays(x, y)
    out = op.forward(xa, ya, **params) if params else op.forward(xa, ya)
    if type(out) is not ndarray:
        out = asarray(out)
    res = Tensor._make(out)
    if GRAD.enabled and ((type(x) is Tensor and x._rg) or (type(y) is Tensor and y._rg)):
        _record(op, res, (x, y), params)
    return res


def inplace(op, x, y=None, params=None):
    """`x.add_(y)` and friends: write into x's memory, bump its version, rebase its history."""
    needs_grad = GRAD.enabled and (x._rg or (type(y) is Tensor and y._rg))
    if GRAD.enabled and x._rg and x.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    if GRAD.enabled and x._base is not None and x._base._rg:
        base = x._base
        if base.grad_fn is None:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place operation."
            )
        raise RuntimeError("gradcli does not support in-place changes to a view of a tensor that requires grad")
    xa = x._data
    if y is None:
        out = op.forward(xa, **params) if params else op.forward(xa)
        arrays = (xa,)
    else:
        xa2, ya = _operand_arrays(x, y)
        out = op.forward(xa2, ya, **params) if params else op.forward(xa2, ya)
        arrays = (xa, ya)
    out = asarray(out)
    if out.dtype != xa.dtype and not xp.can_cast(out.dtype, xa.dtype, "same_kind"):
        raise RuntimeError(
            f"result type {_type_name(out.dtype)} can't be cast to the desired output type {_type_name(xa.dtype)}"
        )
    old = None
    if needs_grad and op.save and "a" in op.save.lower():
        old = Tensor._make(xa.copy())
        old.grad_fn, old.output_nr, old._rg = x.grad_fn, x.output_nr, x._rg
    inputs = (x,) if y is None else (x, y)
    edges_first = tuple(edge_to(i) if type(i) is Tensor else _NO_EDGE for i in inputs) if needs_grad else None
    xp.copyto(xa, out, casting="unsafe")
    x._version[0] += 1
    if needs_grad:
        _record(op, x, inputs, params, inplace_old=old)
        x.grad_fn.next_functions = edges_first
        x.output_nr = 0
    return x


def _type_name(np_dtype):
    return {"f": "Float", "i": "Long", "b": "Bool", "u": "Byte"}.get(np_dtype.kind, str(np_dtype)).replace(
        "Float", "Double" if np_dtype.itemsize == 8 and np_dtype.kind == "f" else "Float"
    )


def check_broadcast(sa, sb):
    """The broadcast shape of two shapes, with PyTorch's error when they do not broadcast."""
    out = []
    na, nb = len(sa), len(sb)
    n = max(na, nb)
    for i in range(n):
        da = sa[na - n + i] if na - n + i >= 0 else 1
        db = sb[nb - n + i] if nb - n + i >= 0 else 1
        if da != db and da != 1 and db != 1:
            raise RuntimeError(
                f"The size of tensor a ({da}) must match the size of tensor b ({db}) at non-singleton "
                f"dimension {i}"
            )
        out.append(max(da, db) if da and db else 0)
    numel = 1
    for d in out:
        numel *= d
    if numel > 1 << 16:
        limits.check_tensor_size(numel, 8)
    return tuple(out)


def many(op, xs, params):
    """An op over a list of tensors (cat, stack)."""
    arrays = [x._data for x in xs]
    if len({a.dtype for a in arrays}) > 1:
        want = dtypes.result_type(xs).np
        arrays = [a.astype(want, copy=False) for a in arrays]
    out = op.forward(arrays, **params)
    res = _wrap(out)
    if GRAD.enabled and any(x._rg for x in xs):
        node = op.node()
        node.seq = next(_sequence)
        node.retained = None
        node.freed = False
        node.n_outputs = 1
        node.p = params
        node.a = node.b = node.r = None
        node.checks = None
        node.next_functions = tuple(edge_to(x) for x in xs)
        node.meta = tuple((a.shape, a.dtype) for a in arrays)
        res.grad_fn = node
        res._rg = True
    return res


# --------------------------------------------------------------- helpers for rows
def _dims(dim, ndim):
    """Normalise `dim` (int, tuple or None) against ndim, with PyTorch's out-of-range error."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (tuple, list)):
        return tuple(_dim(d, ndim) for d in dim)
    return (_dim(dim, ndim),)


def _dim(d, ndim):
    if isinstance(d, bool) or not isinstance(d, int):
        raise TypeError(f"dim must be an int, not {type(d).__name__}")
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    if d < lo or d > hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {d})")
    return d % ndim if ndim else 0


def _expand_reduced(m, g, shape, dims, keepdim):
    if not keepdim and shape:
        for d in sorted(dims):
            g = m.expand_dims(g, d)
    return m.broadcast_to(g, shape)


def _mean_count(shape, dims):
    n = 1
    for d in dims:
        n *= shape[d] if shape else 1
    return n


def _sum_fwd(x, dim=None, keepdim=False):
    if x.dtype.kind in "biu":
        return x.sum(axis=_dims(dim, x.ndim) if dim is not None else None, keepdims=keepdim, dtype=xp.int64)
    return x.sum(axis=_dims(dim, x.ndim) if dim is not None else None, keepdims=keepdim)


def _mean_fwd(x, dim=None, keepdim=False):
    if x.dtype.kind != "f":
        names = {"i": "Long", "b": "Bool", "u": "Byte"}
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
            f"dtype. Got: {names.get(x.dtype.kind, str(x.dtype))}"
        )
    return x.mean(axis=_dims(dim, x.ndim) if dim is not None else None, keepdims=keepdim)


def _evenly(m, g, a, r):
    """max()/min() over everything: ties share the gradient equally, as in PyTorch."""
    mask = m.equal(a, r)
    return (m.where(mask, g / m.count(mask), 0 * g),)


def _select_along(m, g, shape, dim, indices, keepdim):
    """Scatter g into zeros of `shape` at `indices` along `dim` (max/min with a dim)."""
    if not keepdim:
        g = m.expand_dims(g, dim)
        indices = xp.expand_dims(indices, dim)
    onehot = xp.arange(shape[dim]).reshape([-1 if i == dim else 1 for i in range(len(shape))]) == indices
    return m.where(onehot, g, 0 * g)


def _check_mm(a, b):
    if a.ndim != 2:
        raise RuntimeError(f"self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and {b.shape[0]}x{b.shape[1]})"
        )
    return a @ b


def _check_mv(a, v):
    if a.ndim != 2 or v.ndim != 1 or a.shape[1] != v.shape[0]:
        mat = "x".join(str(n) for n in a.shape)
        vec = "x".join(str(n) for n in v.shape)
        raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({mat}), vec ({vec})")
    return a @ v


def _check_dot(u, v):
    if u.ndim != 1 or v.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {u.ndim}D and {v.ndim}D tensors")
    if u.shape[0] != v.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{u.shape[0]}] and src [{v.shape[0]}] to have the same "
            f"number of elements, but got {u.shape[0]} and {v.shape[0]} elements respectively"
        )
    return xp.dot(u, v)


def _check_bmm(a, b):
    if a.shape[-1] != b.shape[-2]:
        rows = 1
        for n in a.shape[:-1]:
            rows *= n
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{a.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})"
        )
    return xp.matmul(a, b)


def _softmax_fwd(x, dim):
    d = _dim(dim, x.ndim)
    e = xp.exp(x - x.max(axis=d, keepdims=True))
    return e / e.sum(axis=d, keepdims=True)


def _log_softmax_fwd(x, dim):
    d = _dim(dim, x.ndim)
    shifted = x - x.max(axis=d, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=d, keepdims=True))


def _reduce_loss(v, reduction):
    if reduction == "mean":
        return v.mean()
    if reduction == "sum":
        return v.sum()
    if reduction == "none":
        return v
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _mse_bwd(m, g, a, b, r, p):
    d = a - b
    if p["reduction"] == "mean":
        g = g * (2.0 / max(d.size, 1))
    elif p["reduction"] == "sum":
        g = g * 2.0
    else:
        g = g * 2
    ga = m.broadcast_to(g, d.shape) * d if p["reduction"] != "none" else g * d
    return ga, -ga


def _nll_parts(x, target, weight, ignore_index):
    """Rows, picked classes and their weights for nll_loss on (N, C) or (C,) input."""
    if x.ndim == 1:
        x2, t = x[None, :], target.reshape(1)
    else:
        x2, t = x, target
    n, c = x2.shape[0], x2.shape[1]
    if t.shape[0] != n:
        raise ValueError(f"Expected input batch_size ({n}) to match target batch_size ({t.shape[0]}).")
    keep = t != ignore_index
    bad = keep & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")
    safe_t = xp.where(keep, t, 0)
    w = (weight[safe_t] if weight is not None else xp.ones(n, dtype=x.dtype)) * keep
    return x2, safe_t, w.astype(x.dtype)


def _nll_fwd(x, target, weight=None, ignore_index=-100, reduction="mean"):
    x2, t, w = _nll_parts(x, target, weight, ignore_index)
    picked = -x2[xp.arange(x2.shape[0]), t] * w
    if reduction == "mean":
        return picked.sum() / w.sum()
    if reduction == "sum":
        return picked.sum()
    return picked if x.ndim > 1 else picked[0]


def _nll_bwd(m, g, a, b, r, p):
    shape, dtype = p["shape"], p["dtype"]
    x2 = xp.zeros(shape if len(shape) > 1 else (1, shape[0]), dtype=dtype)
    _, t, w = _nll_parts(x2, p["target"], p["weight"], p["ignore_index"])
    rows = xp.arange(x2.shape[0])
    coef = xp.zeros_like(x2)
    if p["reduction"] == "mean":
        coef[rows, t] = -w / w.sum()
    else:
        coef[rows, t] = -w
    coef = coef.reshape(shape)
    if p["reduction"] == "none":
        if len(shape) > 1:
            g = m.expand_dims(g, 1)
        return (g * coef,)
    return (g * coef,)


def _index_grad_fwd(g, shape, index):
    out = xp.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        out[index] = g
    else:
        xp.add.at(out, index, g)
    return out


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


def _setitem_fwd(x, v, index):
    out = x.copy()
    out[index] = v
    return out


def _squeeze_fwd(x, dim=None):
    if dim is None:
        return x.squeeze()
    dims = tuple(d for d in _dims(dim, x.ndim) if x.shape[d] == 1)
    return x.squeeze(axis=dims) if dims else x


def _unsqueeze_fwd(x, dim):
    return xp.expand_dims(x, _dim(dim, x.ndim + 1))


def _view_fwd(x, shape):
    shape = tuple(shape)
    known = 1
    free = None
    for i, n in enumerate(shape):
        if n == -1:
            if free is not None:
                raise RuntimeError("only one dimension can be inferred")
            free = i
        elif n < 0:
            raise RuntimeError(f"invalid shape dimension {n}")
        else:
            known *= n
    size = x.size
    if (free is None and known != size) or (free is not None and (known == 0 or size % known)):
        raise RuntimeError(f"shape '[{', '.join(str(n) for n in shape)}]' is invalid for input of size {size}")
    return x.reshape(shape)


def _transpose_fwd(x, dim0, dim1):
    if x.ndim == 0:
        return x
    return xp.swapaxes(x, _dim(dim0, x.ndim), _dim(dim1, x.ndim))


def _t_fwd(x):
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return x.T


def _permute_fwd(x, dims):
    dims = tuple(_dim(d, x.ndim) for d in dims)
    if len(dims) != x.ndim:
        raise RuntimeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the "
            f"desired ordering of dimensions i.e. input.dim() = {x.ndim} is not equal to len(dims) = {len(dims)}"
        )
    return x.transpose(dims)


def _expand_fwd(x, shape):
    shape = tuple(x.shape[i - (len(shape) - x.ndim)] if n == -1 else n for i, n in enumerate(shape))
    try:
        return xp.broadcast_to(x, shape)
    except ValueError:
        raise RuntimeError(
            f"The expanded size of the tensor ({shape[-1]}) must match the existing size ({x.shape[-1]}) at "
            f"non-singleton dimension {len(shape) - 1}.  Target sizes: [{', '.join(map(str, shape))}].  "
            f"Tensor sizes: [{', '.join(map(str, x.shape))}]"
        ) from None


def _pow_exp_grad(m, g, a, b, r, p):
    # d/db a**b = a**b * log(a); PyTorch masks the a == 0, b >= 0 corner to 0 instead of nan.
    return m.where(m.logical_and(m.equal(a, 0), b >= 0), 0 * g, g * r * m.log(a))


def _pow_scalar_bwd(m, g, a, b, r, p):
    e = p["exponent"]
    if e == 0:
        return (0 * g,)
    return (g * e * a ** (e - 1),)


def _pow_scalar_fwd(x, exponent):
    if x.dtype.kind in "iu" and isinstance(exponent, int) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if x.dtype.kind in "biu" and isinstance(exponent, float):
        x = x.astype(dtypes.defaults.float.np)
    return x**exponent


def _floor_divide(a, b):
    if getattr(a, "dtype", None) is not None and a.dtype.kind in "iub" or isinstance(a, int):
        if xp.any(xp.asarray(b) == 0) and xp.asarray(b).dtype.kind in "iub":
            raise RuntimeError("ZeroDivisionError")
    return xp.floor_divide(a, b)


def _remainder(a, b):
    if xp.asarray(a).dtype.kind in "iub" and xp.asarray(b).dtype.kind in "iub" and xp.any(xp.asarray(b) == 0):
        raise RuntimeError("ZeroDivisionError")
    return xp.remainder(a, b)


def _true_divide(a, b):
    a_int = not isinstance(a, float) and xp.asarray(a).dtype.kind in "biu"
    b_int = not isinstance(b, float) and xp.asarray(b).dtype.kind in "biu"
    if a_int and b_int:
        want = dtypes.defaults.float.np
        if isinstance(a, ndarray):
            a = a.astype(want)
        if isinstance(b, ndarray):
            b = b.astype(want)
        else:
            b = float(b)
    return a / b


def _clamp_fwd(x, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    lo = min._data if type(min) is Tensor else min
    hi = max._data if type(max) is Tensor else max
    out = x
    if lo is not None:
        out = xp.maximum(out, lo)
    if hi is not None:
        out = xp.minimum(out, hi)
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


def _clamp_bwd(m, g, a, b, r, p):
    lo = p.get("min")
    hi = p.get("max")
    lo = lo._data if type(lo) is Tensor else lo
    hi = hi._data if type(hi) is Tensor else hi
    x = a._data if type(a) is Tensor else a
    keep = xp.ones(x.shape, dtype=bool)
    if lo is not None:
        keep &= x >= lo
    if hi is not None:
        keep &= x <= hi
    return (m.where(keep, g, 0 * g),)


def _minmax_pair_bwd(pick_a, pick_b):
    def backward(m, g, a, b, r, p):
        ties = m.equal(a, b)
        half = g / 2
        ga = m.where(ties, half, m.where(pick_a(a, b), g, 0 * g))
        gb = m.where(ties, half, m.where(pick_b(a, b), g, 0 * g))
        return ga, gb

    return backward


def _where_fwd(x, y, condition):
    return xp.where(condition, x, y)


def _stack_fwd(arrays, dim=0):
    if not arrays:
        raise RuntimeError("stack expects a non-empty TensorList")
    first = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != first:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got [{', '.join(map(str, first))}] at entry 0 "
                f"and [{', '.join(map(str, a.shape))}] at entry {i}"
            )
    return xp.stack(arrays, axis=_dim(dim, arrays[0].ndim + 1))


def _cat_fwd(arrays, dim=0):
    if not arrays:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    d = _dim(dim, arrays[0].ndim)
    first = arrays[0].shape
    for i, a in enumerate(arrays[1:], 1):
        if a.ndim != len(first):
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {len(first)} and {a.ndim}"
            )
        for k, (n1, n2) in enumerate(zip(first, a.shape)):
            if k != d and n1 != n2:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {n1} but got size {n2} "
                    f"for tensor number {i} in the list."
                )
    total = sum(a.size for a in arrays)
    limits.check_tensor_size(total, arrays[0].itemsize)
    return xp.concatenate(arrays, axis=d)


def _split_bwd(m, g, p, stacked):
    """Gradients of cat/stack: the slices of g that each input became."""
    dim = p["dim"]
    outs = []
    start = 0
    for shape in p["shapes"]:
        if stacked:
            outs.append(m.take(g, start, dim))
            start += 1
        else:
            n = shape[dim]
            outs.append(m.narrow(g, dim, start, n))
            start += n
    return outs


# --------------------------------------------------------------- the table
def _nz(x):
    """True if x was saved, else None, so `_nz(x) and formula` skips a gradient nobody asked for (a row saves
    an input only when the *other* input's gradient needs it)."""
    return x is not None or None


ROWS: dict[str, Op] = {
    # arithmetic
    "add": Op("AddBackward0", lambda a, b, alpha=1: a + b * alpha if alpha != 1 else a + b,
              lambda m, g, a, b, r, p: (g, g * p["alpha"] if p else g)),
    "sub": Op("SubBackward0", lambda a, b, alpha=1: a - b * alpha if alpha != 1 else a - b,
              lambda m, g, a, b, r, p: (g, -g * p["alpha"] if p else -g)),
    "rsub": Op("RsubBackward1", lambda a, b, alpha=1: b - a * alpha,
               lambda m, g, a, b, r, p: (-g * (p["alpha"] if p else 1), None)),
    "mul": Op("MulBackward0", lambda a, b: a * b, lambda m, g, a, b, r, p: (_nz(b) and g * b, _nz(a) and g * a), save="BA"),
    "div": Op("DivBackward0", _true_divide, lambda m, g, a, b, r, p: (g / b, _nz(a) and -g * a / (b * b)), save="Ab"),
    "reciprocal": Op("ReciprocalBackward0", lambda a: _true_divide(1.0, a),
                     lambda m, g, a, b, r, p: (-g * r * r,), save="r"),
    "neg": Op("NegBackward0", lambda a: -a, lambda m, g, a, b, r, p: (-g,)),
    "pow": Op("PowBackward0", _pow_scalar_fwd, _pow_scalar_bwd, save="a"),
    "pow_tensor": Op("PowBackward1", lambda a, b: a**b,
                     lambda m, g, a, b, r, p: (g * b * a ** (b - 1), _pow_exp_grad(m, g, a, b, r, p)), save="abr"),
    "rpow": Op("PowBackward2", lambda a, b: b**a, lambda m, g, a, b, r, p: (g * r * m.log(b), None), save="r"),
    "floor_divide": Op("NotImplemented", _floor_divide, None, aten="aten::floor_divide"),
    "remainder": Op("RemainderBackward0", _remainder,
                    lambda m, g, a, b, r, p: (g, -g * m.floor(a / b) if isinstance(b, (ndarray, Tensor)) else None),
                    save="ab"),
    # elementwise functions
    "exp": Op("ExpBackward0", xp.exp, lambda m, g, a, b, r, p: (g * r,), save="r"),
    "log": Op("LogBackward0", xp.log, lambda m, g, a, b, r, p: (g / a,), save="a"),
    "sin": Op("SinBackward0", xp.sin, lambda m, g, a, b, r, p: (g * m.cos(a),), save="a"),
    "cos": Op("CosBackward0", xp.cos, lambda m, g, a, b, r, p: (-g * m.sin(a),), save="a"),
    "tanh": Op("TanhBackward0", xp.tanh, lambda m, g, a, b, r, p: (g * (1 - r * r),), save="r"),
    "sigmoid": Op("SigmoidBackward0", lambda a: 1 / (1 + xp.exp(-a)), lambda m, g, a, b, r, p: (g * r * (1 - r),),
                  save="r"),
    "relu": Op("ReluBackward0", lambda a: xp.maximum(a, 0).astype(a.dtype, copy=False),
               lambda m, g, a, b, r, p: (m.where(r > 0, g, 0 * g),), save="r"),
    "sqrt": Op("SqrtBackward0", xp.sqrt, lambda m, g, a, b, r, p: (g / (2 * r),), save="r"),
    "abs": Op("AbsBackward0", xp.abs, lambda m, g, a, b, r, p: (g * m.sign(a),), save="a"),
    "clamp": Op("ClampBackward1", _clamp_fwd, _clamp_bwd, save="a"),
    "clamp_tensor": Op("ClampBackward0", _clamp_fwd, _clamp_bwd, save="a"),
    "clamp_min": Op("ClampMinBackward0", lambda a, min: _clamp_fwd(a, min=min), _clamp_bwd, save="a"),
    "clamp_max": Op("ClampMaxBackward0", lambda a, max: _clamp_fwd(a, max=max), _clamp_bwd, save="a"),
    "maximum": Op("MaximumBackward0", xp.maximum, _minmax_pair_bwd(lambda a, b: a > b, lambda a, b: b > a),
                  save="ab"),
    "minimum": Op("MinimumBackward0", xp.minimum, _minmax_pair_bwd(lambda a, b: a < b, lambda a, b: b < a),
                  save="ab"),
    "where": Op("WhereBackward0", _where_fwd,
                lambda m, g, a, b, r, p: (m.where(p["condition"], g, 0 * g), m.where(p["condition"], 0 * g, g))),
    # reductions
    "sum": Op("SumBackward0", _sum_fwd, lambda m, g, a, b, r, p: (m.broadcast_to(g, p["shape"]),)),
    "sum_dim": Op("SumBackward1", _sum_fwd,
                  lambda m, g, a, b, r, p: (_expand_reduced(m, g, p["shape"], p["dims"], p["keepdim"]),)),
    "mean": Op("MeanBackward0", _mean_fwd,
               lambda m, g, a, b, r, p: (m.broadcast_to(g / max(_mean_count(p["shape"], p["dims"]), 1), p["shape"]),)),
    "mean_dim": Op("MeanBackward1", _mean_fwd,
                   lambda m, g, a, b, r, p: (_expand_reduced(m, g / _mean_count(p["shape"], p["dims"]), p["shape"],
                                                             p["dims"], p["keepdim"]),)),
    "max": Op("MaxBackward1", lambda a: a.max(), lambda m, g, a, b, r, p: _evenly(m, g, a, r), save="ar"),
    "min": Op("MinBackward1", lambda a: a.min(), lambda m, g, a, b, r, p: _evenly(m, g, a, r), save="ar"),
    "max_dim": Op("MaxBackward0", lambda a, dim, keepdim, indices: a.max(axis=dim, keepdims=keepdim),
                  lambda m, g, a, b, r, p: (_select_along(m, g, p["shape"], p["dim"], p["indices"], p["keepdim"]),)),
    "min_dim": Op("MinBackward0", lambda a, dim, keepdim, indices: a.min(axis=dim, keepdims=keepdim),
                  lambda m, g, a, b, r, p: (_select_along(m, g, p["shape"], p["dim"], p["indices"], p["keepdim"]),)),
    # linear algebra
    "mm": Op("MmBackward0", _check_mm, lambda m, g, a, b, r, p: (_nz(b) and g @ m.mT(b), _nz(a) and m.mT(a) @ g),
              save="BA"),
    "mv": Op("MvBackward0", _check_mv, lambda m, g, a, b, r, p: (_nz(b) and m.outer(g, b), _nz(a) and m.mT(a) @ g),
              save="BA"),
    "dot": Op("DotBackward0", _check_dot, lambda m, g, a, b, r, p: (_nz(b) and g * b, _nz(a) and g * a), save="BA"),
    "bmm": Op("UnsafeViewBackward0", _check_bmm,
              lambda m, g, a, b, r, p: (_nz(b) and g @ m.mT(b), _nz(a) and m.mT(a) @ g), save="BA"),
    "stack": Op("StackBackward0", _stack_fwd, lambda m, g, a, b, r, p: _split_bwd(m, g, p, True)),
    "cat": Op("CatBackward0", _cat_fwd, lambda m, g, a, b, r, p: _split_bwd(m, g, p, False)),
    # neural-network functions
    "softmax": Op("SoftmaxBackward0", _softmax_fwd,
                  lambda m, g, a, b, r, p: (r * (g - m.sum(g * r, (p["dim"],), True)),), save="r"),
    "log_softmax": Op("LogSoftmaxBackward0", _log_softmax_fwd,
                      lambda m, g, a, b, r, p: (g - m.exp(r) * m.sum(g, (p["dim"],), True),), save="r"),
    "mse_loss": Op("MseLossBackward0", lambda a, b, reduction="mean": _reduce_loss((a - b) ** 2, reduction),
                   _mse_bwd, save="ab"),
    "nll_loss": Op("NllLossBackward0", _nll_fwd, _nll_bwd),
    # shape and views
    "view": Op("ViewBackward0", _view_fwd, lambda m, g, a, b, r, p: (m.reshape(g, p["in_shape"]),), view=True),
    "reshape_copy": Op("UnsafeViewBackward0", lambda a, shape: _view_fwd(a, shape).copy(),
                       lambda m, g, a, b, r, p: (m.reshape(g, p["in_shape"]),)),
    "transpose": Op("TransposeBackward0", _transpose_fwd,
                    lambda m, g, a, b, r, p: (m.swapaxes(g, p["dim0"], p["dim1"]),), view=True),
    "t": Op("TBackward0", _t_fwd, lambda m, g, a, b, r, p: (m.mT(g) if len(g.shape) == 2 else g,), view=True),
    "permute": Op("PermuteBackward0", _permute_fwd,
                  lambda m, g, a, b, r, p: (m.permute(g, _inverse(p["dims"], len(g.shape))),), view=True),
    "unsqueeze": Op("UnsqueezeBackward0", _unsqueeze_fwd, lambda m, g, a, b, r, p: (m.reshape(g, p["in_shape"]),),
                    view=True),
    "squeeze": Op("SqueezeBackward0", _squeeze_fwd, lambda m, g, a, b, r, p: (m.reshape(g, p["in_shape"]),),
                  view=True),
    "squeeze_dim": Op("SqueezeBackward1", _squeeze_fwd, lambda m, g, a, b, r, p: (m.reshape(g, p["in_shape"]),),
                      view=True),
    "squeeze_dims": Op("SqueezeBackward4", _squeeze_fwd, lambda m, g, a, b, r, p: (m.reshape(g, p["in_shape"]),),
                       view=True),
    "expand": Op("ExpandBackward0", _expand_fwd, lambda m, g, a, b, r, p: (g,), view=True),
    "select": Op("SelectBackward0", lambda a, index: a[index],
                 lambda m, g, a, b, r, p: (m.index_grad(g, p["in_shape"], p["index"]),), view=True),
    "slice": Op("SliceBackward0", lambda a, index: a[index],
                lambda m, g, a, b, r, p: (m.index_grad(g, p["in_shape"], p["index"]),), view=True),
    "index": Op("IndexBackward0", lambda a, index: a[index],
                lambda m, g, a, b, r, p: (m.index_grad(g, p["in_shape"], p["index"]),)),
    "index_grad": Op("IndexPutBackward0", _index_grad_fwd, lambda m, g, a, b, r, p: (m.getitem(g, p["index"]),)),
    "setitem": Op("CopySlices", _setitem_fwd,
                  lambda m, g, a, b, r, p: (_zero_at(m, g, p["index"]), m.getitem(g, p["index"]))),
    # copies and conversions
    "clone": Op("CloneBackward0", lambda a: a.copy(), lambda m, g, a, b, r, p: (g,)),
    "to_dtype": Op("ToCopyBackward0", lambda a, dtype: a.astype(dtype), lambda m, g, a, b, r, p: (g,)),
    "zero_": Op("ZeroBackward0", lambda a: xp.zeros_like(a), lambda m, g, a, b, r, p: (0 * g,)),
    "fill_": Op("FillBackward2", lambda a, value: xp.full_like(a, value), lambda m, g, a, b, r, p: (0 * g,)),
}


def _zero_at(m, g, index):
    mask = xp.ones(g.shape, dtype=bool)
    mask[index] = False
    return m.where(mask, g, 0 * g)


def _inverse(dims, n):
    inv = [0] * n
    for i, d in enumerate(dims):
        inv[d % n] = i
    return tuple(inv)


for _key, _op in ROWS.items():
    object.__setattr__(_op, "node", type(_op.grad_fn, (OpNode,), {"__slots__": (), "op": _op}))


# --------------------------------------------------------------- the two math namespaces
def _array_index_grad(g, shape, index):
    return _index_grad_fwd(g, shape, index)


ARRAY_MATH = SimpleNamespace(
    exp=xp.exp, log=xp.log, sin=xp.sin, cos=xp.cos, sign=xp.sign, floor=xp.floor,
    where=xp.where, equal=xp.equal, logical_and=xp.logical_and,
    count=lambda mask: xp.count_nonzero(mask),
    sum=lambda x, axes, keepdims: x.sum(axis=axes, keepdims=keepdims),
    reshape=lambda x, shape: x.reshape(shape),
    broadcast_to=lambda x, shape: xp.broadcast_to(x, shape),
    expand_dims=xp.expand_dims,
    astype=lambda x, dtype: x.astype(dtype),
    mT=lambda x: xp.swapaxes(x, -1, -2),
    swapaxes=xp.swapaxes,
    permute=lambda x, dims: x.transpose(dims),
    outer=xp.outer,
    take=lambda x, i, dim: xp.take(x, i, axis=dim),
    narrow=lambda x, dim, start, n: x[(slice(None),) * dim + (slice(start, start + n),)],
    index_grad=_array_index_grad,
    getitem=lambda x, index: x[index],
)
