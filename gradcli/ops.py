"""The op table: every differentiable op, its forward computation, its derivative, and its `grad_fn` name.

One row per op, in the style of PyTorch's derivatives.yaml. A derivative is written once and runs two ways:
`m` is either ARRAY_MATH (backend arrays: the fast path) or TENSOR_MATH (differentiable tensor ops, used
when `create_graph=True` so second derivatives work). Each backward gets

    m, g, a, b, r, p   ->   one gradient per tensor input (None where none flows)

where g is the incoming gradient, a/b the saved inputs (only those the row asks to save), r the saved result
and p the op's non-tensor parameters. Broadcasting is undone by the engine, not here.

What a row saves (`save`): letters "a", "b" (the inputs) and "r" (the result). An upper-case letter saves
that input only if the *other* input requires grad (mul needs b only to differentiate a), which is how a
chain of `exp` then `* 3.0` keeps only the exp outputs alive. The saved tensors' version counters are checked
before a backward runs, for PyTorch's "modified by an inplace operation" error.

Besides arithmetic, `m` offers what formulas need on both paths: `m.where`, `m.sum`, `m.reshape`, ...;
`m.data(x)` is the raw array (for masks and counts that carry no gradient), `m.zeros(g)` a zero gradient.

tests/test_engine_ops.py holds a case for every row (it fails when a row has none): values, dtype, grad_fn
name and gradients against PyTorch; tests/test_engine_fd.py checks every differentiable row with finite
differences, to second order.
"""

from __future__ import annotations

import math
import operator
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

from . import backend, dtypes, limits, torchsum, vecmath
from .backend import namespace_of, xp
from .engine import FREED_MESSAGE, GRAD, Node, ThroughBase, _sequence, edge_to

ndarray = xp.ndarray
# An op's result as an array: numpy.asarray for numpy scalars, a GPU array as it is (the ops call it only
# when the result is not a numpy.ndarray already, and in-place ops on every result).
asarray = backend.as_array
_NO_EDGE = (None, 0)


@dataclass(frozen=True)
class Op:
    grad_fn: str  # the name PyTorch 2.13 gives this op's node
    forward: Callable
    backward: Callable | None  # None: not differentiable in PyTorch either (the node says so on use)
    save: str = ""
    aten: str = ""  # for a row PyTorch cannot differentiate: the name its error message gives
    view: bool = False  # the result shares memory (and the version counter) with the input
    # a two-input op that broadcasts (mm and friends check shapes themselves); TRUE_DIVIDE for div, which
    # takes a Python int operand as a float, not wrapped into an integer tensor's dtype (_int_operand)
    elementwise: bool | str = True
    scalar_arg: bool = False  # PyTorch's overload takes the second operand as a Scalar: it gets no edge
    float_constant: bool = False  # a Python float operand may be passed on as a 0-d array (_constant)
    # the backward reads tensors kept in its params (a condition, indices, a target), which PyTorch counts
    # as saved: a second backward without retain_graph is refused, as for a row that saves (`save`)
    saves_params: bool = False
    # float16 inputs computed in float32 and rounded once to float16, as PyTorch's CPU kernel for the op
    # computes them (its "opmath" type is float): "f" the forward, "b" the backward (which is one kernel
    # there, such as silu_backward; backward formulas built of several ops round after each, as here).
    # Checked against torch 2.13 kernel by kernel: most keep float16 arithmetic in some step (sigmoid's
    # backward, smooth_l1_loss, mse_loss), so this is not the default. Wrapped in when the table is built.
    opmath: str = ""
    node: type = field(default=None, compare=False)


class OpNode(Node):
    """The node of a built-in op. One subclass per row, named after its grad_fn."""

    __slots__ = ("a", "b", "r", "p", "_meta", "_shape", "_dtype", "checks")
    op: Op = None
    plan = None  # the row's `save` letters as steps (_save_plan)
    unary_fast = False  # unary's own record path can take it: its plan saves the result, input a or nothing
    binary_fast = False  # binary's can: it broadcasts, and saves nothing or each input for the other (mul)
    bw = None  # the row's backward (a staticmethod), or one that raises PyTorch's error where it has none
    n_outputs = 1

    @property
    def meta(self):
        """(shape, dtype) of the input behind each entry of next_functions. Stored only when some input
        differs from the result (`_meta`); otherwise every input has the result's `_shape` and `_dtype`."""
        if self._meta is not None:
            return self._meta
        return ((self._shape, self._dtype),) * (len(self._next) // 2)

    @meta.setter
    def meta(self, value):
        self._meta = value

    def apply(self, grads, create_graph):
        checks = self.checks
        if checks is not None:
            if checks is _FREED:
                raise RuntimeError(FREED_MESSAGE)
            if checks[0][0] != checks[1] or len(checks) > 3 and (checks[3][0] != checks[4] or len(checks) > 6):  # noqa: E501
                for i in range(0, len(checks), 3):
                    counter, expected, t = checks[i : i + 3]
                    if counter[0] != expected:
                        raise RuntimeError(_modified_message(t, counter[0], expected, self))
        backward = self.bw
        a, b = self.a, self.b
        if create_graph:
            r = self.r
            if r is not None:
                r = _saved_output(r, self)
            if type(b) is not Tensor and b is not None and id(self.op) in _WRAPPED_NUMBER_ROWS:
                if type(b) is not HalfOperand:  # (float16's number stays a number: its product is opmath)
                    b = _wrapped_number(b, grads[0])
            if type(b) is HalfOperand or type(b) is ndarray:  # a number operand (_constant) as a number
                b = b.number if type(b) is HalfOperand else b.item()
            # (C++ formulas take a number operand as a Scalar: `grad * 2` is MulBackward1 there, AddBackward1
            # for `+ 1`, where a script's `x * 2` is MulBackward0; binary records the Scalar rows meanwhile)
            FORMULA.scalars += 1
            try:
                outs = backward(TENSOR_MATH, grads[0], a, b, r, self.p)
            finally:
                FORMULA.scalars -= 1
        else:
            if type(a) is Tensor:
                a = a._data
            if type(b) is Tensor:
                b = b._data
            outs = backward(ARRAY_MATH, grads[0], a, b, self.r, self.p)
        meta = self._meta
        return outs if meta is None else _fit(TENSOR_MATH if create_graph else ARRAY_MATH, outs, meta)

    def apply_undefined(self, grads, create_graph):
        """No gradient reached the node: PyTorch's node still unpacks what it saved (refused once freed or
        changed in place), and one PyTorch cannot differentiate raises its error; nothing is passed on."""
        checks = self.checks
        if checks is _FREED:
            raise RuntimeError(FREED_MESSAGE)
        if checks is not None:
            for i in range(0, len(checks), 3):
                counter, expected, t = checks[i : i + 3]
                if counter[0] != expected:
                    raise RuntimeError(_modified_message(t, counter[0], expected, self))
        if self.op.backward is None:
            self.bw(ARRAY_MATH, None, None, None, None, self.p)
        return [None] * (len(self._next) // 2)

    def release(self):
        """After a backward pass without retain_graph: drop the saved values (and the tensors the version
        checks hold), and refuse to run again."""
        # (PyTorch refuses a second pass only through a node that saved something)
        if self.op.saves_params or self.plan is not None and (
                self.a is not None or self.b is not None or self.r is not None):
            self.a = self.b = self.r = None
            self.checks = _FREED

    def apply_release(self, grads):
        """apply(grads, False), then release(): the backward pass's commonest step, in one call."""
        checks = self.checks
        if checks is not None and (checks is _FREED or checks[0][0] != checks[1] or len(checks) > 3 and (
                checks[3][0] != checks[4] or len(checks) > 6)):
            outs = self.apply(grads, False)  # raises (freed, or a saved tensor modified), or checks 3 or more
            self.release()
            return outs
        a = self.a
        b = self.b
        if type(a) is Tensor:
            a = a._data
        if type(b) is Tensor:
            b = b._data
        outs = self.bw(ARRAY_MATH, grads[0], a, b, self.r, self.p)
        # (PyTorch refuses a second pass only through a node that saved something)
        if self.op.saves_params or self.plan is not None and (
                self.a is not None or self.b is not None or self.r is not None):
            self.a = self.b = self.r = None
            self.checks = _FREED
        meta = self._meta
        return outs if meta is None else _fit(ARRAY_MATH, outs, meta)


_FREED = ()  # `checks` of a node whose saved values a backward pass has released


class FORMULA:  # noqa: N801 - one counter, read as a namespace
    """scalars: how many backward formulas are running under create_graph (OpNode.apply), during which a
    number operand of add, sub, mul and div records PyTorch's Scalar overload (_SCALAR_ROWS)."""

    scalars = 0


def _saved_output(array, node):
    t = Tensor._make(array)
    t.grad_fn = node
    t._rg = True
    return t


def _fit(m, outs, meta):
    """Give each gradient its input's shape and dtype (sum out broadcast dims, cast like PyTorch).
    meta is None when every input already has the result's shape and dtype."""
    if meta is None:
        return outs
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


def _modified_message(t, version, expected, node, result=None):
    """PyTorch's message for a saved tensor changed in place: t is the saved input, or None for the node's
    own result (whose values are `result`, or node.r)."""
    if t is None:
        array = node.r if result is None else result
        shape, legacy = array.shape, dtypes.of_array(array).legacy
        origin = f", which is output 0 of {_short(node.name())},"
    else:
        array = t._data
        shape, legacy = array.shape, t.dtype.legacy
        fn = t._current_grad_fn()  # (PyTorch's message reads it: AsStrided for a view whose base changed)
        origin = f", which is output {t.output_nr} of {_short(fn.name())}," if fn is not None else ""
    shape = ", ".join(str(n) for n in shape)
    return (
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        f"[{'torch.cuda.' if backend.is_device_array(array) else 'torch.'}{legacy} [{shape}]]{origin} "
        f"is at version {version}; expected version {expected} instead. "
        "Hint: enable anomaly detection to find the operation that failed to compute its gradient, with "
        "torch.autograd.set_detect_anomaly(True, check_nan=False)."
    )


def _short(name):
    stem = name.rstrip("0123456789")
    return stem[: -len("Backward")] if stem.endswith("Backward") else stem


# How a view was made, where PyTorch forbids changing it in place when grad mode records the change (its
# CreationMeta): kept in a view's `_creation` slot, which is set exactly when `_base` is (None: a plain view).
VIEW_NO_GRAD = "no_grad"  # made under no_grad (or a view of one)
VIEW_MULTI = "multi"  # an output of unbind, split or chunk, which return several views
VIEW_CUSTOM = "custom"  # an input a custom Function returned as is (or a view of it)

_VIEW_NOTES = {
    VIEW_MULTI: " This view is the output of a function that returns multiple views. Such functions do not "
    "allow the output views to be modified inplace. You should replace the inplace operation by an "
    "out-of-place one.",
    VIEW_NO_GRAD: " Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    "your code by moving both the view and the inplace either both inside the no_grad block (if you don't "
    "want the inplace to be tracked) or both outside (if you want the inplace to be tracked).",
    VIEW_CUSTOM: " This view was created inside a custom Function (or because an input was returned as-is) "
    "and the autograd logic to handle view+inplace would override the custom backward associated with the "
    "custom Function, leading to incorrect gradients. This behavior is forbidden. You can fix this by "
    "cloning the output of the custom Function.",
}


def view_change_error(creation, node_name, output_nr, indirect=False):
    """PyTorch's refusal (handle_view_on_rebase) to change in place a view made as `creation` says, whose
    node is named node_name (None: it has none); indirect: its base or another view of it was changed, not
    the view itself."""
    changed = "its base or another view of its base has been" if indirect else "is being"
    name = None if node_name is None else _short(node_name)
    if creation == VIEW_NO_GRAD or name is None:
        prefix = "A view was created in" if name is None else \
            f"Output {output_nr} of {name} is a view of a view which was created in"
        message = f"{prefix} no_grad mode and {changed} modified inplace with grad mode enabled."
    else:
        message = f"Output {output_nr} of {name} is a view and {changed} modified inplace."
    return RuntimeError(message + _VIEW_NOTES[creation])


def changed_view_edge(t):
    """edge_to for a view whose node is out of date: one that requires grad only through its base
    (ThroughBase) once it or its base changed in place, or one whose node forget_view_nodes took when that
    memory changed. PyTorch refuses a view made as its CreationMeta forbids (naming the node it had), and
    gives any other the AsStridedBackward0 node of its part of the base, into the base's gradient edge as it
    is now, as its grad_fn from then on (VariableHooks::grad_fn, on the view's next use)."""
    ref = t._acc
    if t._creation is not None:
        raise view_change_error(t._creation, ref.node_name, ref.output_nr, indirect=True)
    base = t._base
    node = AsStridedBackward0()
    node.seq = next(_sequence)
    node.retained = None
    node._next = edge_to(base)
    node.index, node.base_shape = _flat_index(t._data, base._data), base._data.shape
    node.overlaps = _overlaps(t._data)
    t.grad_fn, t.output_nr, t._acc = node, 0, None
    if ref.retain:  # (retain_grad moves to the new node, as PyTorch's update_tensor_hooks_on_new_gradfn;
        from .engine import OutputHooks  # noqa: PLC0415  - hooks registered before stay on the old one)

        OutputHooks.of(node, 0).retain = weakref.ref(t)
    follow_view(t)
    return (node, 0)


def forget_view_nodes(counter, keep=None):
    """After an in-place change to the memory of a version counter: every view with a node that shares it
    (`counter[1:]`, weak references put there by follow_view) has an out-of-date node. PyTorch remakes it when
    the view is next used (an AsStridedBackward0 into its base, or a refusal for a view of unbind/split or of
    a custom Function's output, whose node would bypass their backward): the view gives its node up for a
    ThroughBase marked changed, and changed_view_edge does the rest if it is used again. keep: the view being
    changed itself, whose history the caller rebases."""
    for ref in counter[1:]:
        view = ref()
        if view is not None and view is not keep:
            fn = view.grad_fn
            if fn is not None:
                marker = view._acc = ThroughBase(counter, -1, fn.name(), view.output_nr)
                hooks = fn.retained.get(view.output_nr) if fn.retained is not None else None
                if hooks is not None and hooks.retain is not None and hooks.retain() is view:
                    hooks.retain = None
                    marker.retain = True
                view.grad_fn = None
    del counter[1:]
    if keep is not None:
        counter.append(weakref.ref(keep))


def view_node_name(view):
    """The name of the node PyTorch's refusal to change a view names: its grad_fn, or the one it had before
    its memory changed (which PyTorch keeps for this message)."""
    if view.grad_fn is not None:
        return view.grad_fn.name()
    acc = view._acc
    return acc.node_name if type(acc) is ThroughBase else None


def follow_view(view):
    """Put a view with a node among those its version counter's changes make out of date
    (forget_view_nodes). Dead references are swept when the list reaches a power of two from 64 on, so views
    of a tensor made in a loop, which never changes or changes rarely, do not grow its counter without end,
    and many live views of one tensor cost a sweep per doubling."""
    counter = view._version
    n = len(counter)
    if n >= 64 and not n & (n - 1):
        counter[1:] = [ref for ref in counter[1:] if ref() is not None]
    counter.append(weakref.ref(view))


def no_grad_view(view, base):
    """A view made under no_grad: its CreationMeta; it requires grad when its base does (see ThroughBase)."""
    if base._rg:
        view._rg = True
        view._acc = ThroughBase(view._version, view._version[0])
        base._has_views = True  # (it stops requiring grad when its base does: Tensor._set_leaf_flag)
    return VIEW_NO_GRAD


# --------------------------------------------------------------- applying ops
def _wrap(out):
    if type(out) is not ndarray:
        out = asarray(out)
    return Tensor._make(out)


def _new_node(op, params):
    node = op.node()
    node.seq = next(_sequence)
    node.retained = None
    node.p = params
    node.a = node.b = node.r = None
    node.checks = None
    return node


_PLANS: dict = {}


def _save_plan(save):
    """A row's `save` letters as the steps `_record` takes, worked out once when the table is built: (which,
    needs) per letter, where which is 0 or 1 (an input) or -1 (the result), and needs is the input that must
    require grad for the letter to count (an upper-case letter: the *other* input; "o": the second input,
    saved only when it requires grad itself), or -1 (always).
    Rows with the same letters share one plan object, so the common ones are recognised by identity."""
    if not save:
        return None
    plan = tuple((-1, -1) if c == "r" else (1, 1) if c == "o" else
                 ("ab".index(c.lower()), -1 if c.islower() else "BA".index(c)) for c in save)
    return _PLANS.setdefault(plan, plan)


_SAVE_RESULT = _save_plan("r")  # exp, tanh, sigmoid, sqrt, ...
_SAVE_OTHER = _save_plan("BA")  # mul: each input only for the other's gradient
_SAVE_INPUT = _save_plan("a")  # log, sin, cos, ...


def _record(op, result, inputs, params, inplace_old=None):
    """Attach a node for `op` to `result`, saving what the row's derivative needs. (unary and binary record
    the commonest nodes themselves; this is every other case: broadcasting, casts, views, in-place ops,
    three inputs, the other save plans.)"""
    node = _new_node(op, params)
    edged = inputs
    if op.scalar_arg:
        edged = inputs[:1]
    elif op.backward is None:  # PyTorch's NotImplemented node has edges only for inputs that require grad
        edged = tuple(x for x in inputs if type(x) is Tensor and x._rg)
    # meta: each input's (shape, dtype), for _fit to sum and cast gradients; None (nothing to fit, and fewer
    # objects for the garbage collector to track) when all inputs already match the result.
    # (_shape and _dtype are two slots rather than one tuple: a tuple holding the shape tuple would stay
    # tracked by the garbage collector for the node's whole life.) Builtin dtypes are singletons, so `is`
    # settles nearly every dtype comparison before `==` has to.
    out = result._data
    shape = node._shape = out.shape
    dtype = node._dtype = out.dtype
    n = len(edged)
    if n == 1:
        x = edged[0]
        xa = x._data
        fn = x.grad_fn
        node._next = (fn, x.output_nr) if fn is not None else edge_to(x)
        xd = xa.dtype
        node._meta = None if (xd is dtype or xd == dtype) and xa.shape == shape else ((xa.shape, xd),)
    elif n == 2:
        x, y = edged
        if type(x) is Tensor:
            fn = x.grad_fn
            ex = (fn, x.output_nr) if fn is not None else edge_to(x)
            xa = x._data
            xd = xa.dtype
            x_same = (xd is dtype or xd == dtype) and xa.shape == shape
        else:
            ex = _NO_EDGE
            x_same = True
        if type(y) is Tensor:
            fn = y.grad_fn
            node._next = ex + ((fn, y.output_nr) if fn is not None else edge_to(y))
            ya = y._data
            yd = ya.dtype
            y_same = (yd is dtype or yd == dtype) and ya.shape == shape
        else:
            node._next = ex + _NO_EDGE
            y_same = True
        if x_same and y_same:
            node._meta = None
        else:
            node._meta = ((x._data.shape, x._data.dtype) if type(x) is Tensor else None,
                          (y._data.shape, y._data.dtype) if type(y) is Tensor else None)
    else:
        node._next = tuple([part for x in edged for part in (edge_to(x) if type(x) is Tensor else _NO_EDGE)])
        same = True
        for x in edged:
            if type(x) is Tensor and (x._data.shape != shape or x._data.dtype != dtype):
                same = False
        node._meta = None if same else tuple(
            [(x._data.shape, x._data.dtype) if type(x) is Tensor else None for x in edged])
    # checks is flat: (version counter, version at save time, saved tensor or None for the result) for each
    # saved tensor. The result itself is never held: result -> grad_fn -> node -> result would be a reference
    # cycle, and cycles make the garbage collector crawl over long graphs.
    plan = node.plan
    if plan is None:
        node.checks = None
    elif plan is _SAVE_RESULT:
        version = result._version
        node.r = out
        node.checks = (version, version[0], None)
    else:
        checks = []
        n = len(inputs)
        for which, needs in plan:
            if which < 0:
                version = result._version
                node.r = out
                checks += (version, version[0], None)
                continue
            if which >= n:
                continue
            if needs >= 0:
                other = inputs[needs] if needs < n else None
                if type(other) is not Tensor or not other._rg:
                    continue
            x = inputs[which]
            if which == 0:
                if inplace_old is not None:
                    x = inplace_old
                node.a = x
            else:
                node.b = x
            if type(x) is Tensor:
                checks += (x._version, x._version[0], x)
        node.checks = tuple(checks) if checks else None
    result.grad_fn = node
    result._rg = True
    return result


def unary(op, x, params=None):
    xa = x._data
    out = op.forward(xa, **params) if params else op.forward(xa)
    if type(out) is not ndarray:
        out = asarray(out)
    res = _make(out)
    if op.view:
        res._version = x._version
        base = x._base
        if base is None:
            res._base = x
            if not x._rg:
                x._has_views = True  # (its views will require grad if it does: Tensor._set_leaf_flag)
        else:
            res._base = base
        # (a view of a view made in grad mode is made as that one was)
        res._creation = no_grad_view(res, res._base) if not GRAD.enabled else None if base is None else \
            x._creation
        if x._rg and GRAD.enabled:  # (it gets a node below, which a change to its memory makes out of date)
            follow_view(res)
    if x._rg and GRAD.enabled:
        node = op.node
        if node.unary_fast and out.dtype is xa.dtype and (shape := out.shape) == xa.shape:
            # _record's commonest case, written out (it runs for every exp, tanh, sin, ... recorded): an
            # input of the result's shape and dtype, and the result, the input or nothing to save
            node = node()
            node.seq = next(_sequence)
            node.retained = None
            node.p = params
            node._shape = shape  # (each read of .shape makes a new tuple)
            node._dtype = out.dtype
            node._meta = None
            fn = x.grad_fn
            node._next = (fn, x.output_nr) if fn is not None else edge_to(x)
            node.b = None
            if node.plan is _SAVE_RESULT:
                node.a = None
                node.r = out
                node.checks = (res._version, 0, None)
            elif node.plan is _SAVE_INPUT:
                node.a = x
                node.r = None
                node.checks = (x._version, x._version[0], x)
            else:
                node.a = node.r = node.checks = None
            res.grad_fn = node
            res._rg = True
        else:
            _record(op, res, (x,), params)
    return res


_CONSTANTS = {_dtype: {} for _dtype in (xp.dtype("float32"), xp.dtype("float64"))}


def _constant(value, array):
    """A Python float operand of a float tensor, as a 0-d array of the tensor's dtype: the same values (numpy
    casts a Python float to the array's dtype too), but numpy works out a Python scalar's dtype on every call,
    which doubles the cost of `y * 0.5` on a small tensor. Scripts reuse a few constants in their loops, so
    the arrays are kept (at most 256 per dtype); zeros and NaN are passed on as they are (0.0 and -0.0 are
    equal keys but not equal operands), and so is any operand of a GPU array."""
    dtype = array.dtype
    cache = _CONSTANTS.get(dtype)
    if cache is None or not value or value != value or type(array) is not ndarray:
        if dtype is _F16 and type(array) is ndarray:
            return HalfOperand(value)
        return value
    array = cache.get(value)
    if array is None:
        if len(cache) >= 256:
            cache.clear()
        array = cache[value] = xp.array(value, dtype)
    return array


class HalfOperand:
    """A Python number operand of a float16 array, as PyTorch's CPU kernels take it: multiply and divide
    keep the number in float32 and compute in float32 ("opmath"), rounding once to float16, so `h * 1e30`
    is 0. for a zero and `h / 2e-3` is not `h / float16(2e-3)`; every other kernel (add, sub, comparisons,
    remainder, ...) converts the number to float16 first, as numpy does (checked against torch 2.13).
    numpy hands an ndarray's arithmetic with this object to __array_ufunc__ below."""

    __slots__ = ("number",)
    dtype = xp.dtype("float16")  # (what _true_divide and friends read of an array operand)

    def __init__(self, number):
        self.number = number

    def __float__(self):
        return float(self.number)

    def __repr__(self):
        return f"HalfOperand({self.number!r})"

    # (for the few forwards that compare a number operand: remainder's `b < 0`)
    def __lt__(self, other):
        return _F16.type(self.number) < other

    def __gt__(self, other):
        return _F16.type(self.number) > other

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        with xp.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if method == "__call__" and ufunc in _OPMATH_UFUNCS and not kwargs:
                wide = [_F32.type(self.number) if v is self else v.astype(_F32) for v in inputs]
                return ufunc(*wide).astype(_F16)
            narrow = [_F16.type(self.number) if v is self else v for v in inputs]
        return getattr(ufunc, method)(*narrow, **kwargs)


def _half_times(g, k):
    """g * k for a Python number k, as PyTorch's mul(Tensor, Scalar): for a float16 array, k in float32 (a
    backward formula's `grad * alpha`)."""
    if type(g) is ndarray and g.dtype is _F16:
        return g * HalfOperand(k)
    return g * k


def _operand_arrays(x, y, broadcasts=True, numbers=False):
    """The two operands as arrays of PyTorch's result dtype (numpy promotes differently). numbers: the op
    reads a 0-d second operand as a number (add, sub, mul, div: a HalfOperand after a float16 tensor)."""
    xt = type(x) is Tensor
    yt = type(y) is Tensor
    xa = x._data if xt else x
    ya = y._data if yt else y
    if xt and yt:
        if xa.dtype != ya.dtype and broadcasts:  # (mm and friends refuse mixed dtypes instead)
            want = dtypes.result_type((x, y)).np
            xa = xa.astype(want, copy=False)
            if numbers and want is _F16 and not ya.ndim and xa.ndim and type(ya) is ndarray:
                # a 0-d tensor of another dtype after a float16 one: PyTorch's kernels read it as a number
                # (a 0-d one first is converted, as numpy converts it)
                return xa, HalfOperand(ya.item())
            ya = ya.astype(want, copy=False)
        if broadcasts and xa.shape != ya.shape:
            check_broadcast(xa.shape, ya.shape)
        return xa, ya
    t, s = (xa, ya) if xt else (ya, xa)
    st = type(s)
    if st is float:
        if t.dtype.kind != "f":
            t = t.astype(dtypes.defaults.float.np)
    elif st is int:
        if not -0x80 <= s <= 0x7F or s < 0 and t.dtype is _UINT8:  # (fits every dtype: nothing to check)
            s = _int_operand(s, t, broadcasts)
            if t.dtype is _F16 and type(t) is ndarray:  # (x * 100000 is not x * inf)
                s = HalfOperand(s)
        if t.dtype.kind == "b":
            t = t.astype(xp.int64)
    elif st is not bool:
        s = _as_number(s)
        return _operand_arrays(x if xt else s, s if xt else y, broadcasts)
    return (t, s) if xt else (s, t)


TRUE_DIVIDE = "true_divide"  # div's Op.elementwise (passed to _operand_arrays as `broadcasts`)
_UINT8 = xp.dtype("uint8")
_INT_RANGES = {xp.dtype(_name): (int(xp.iinfo(_name).min), int(xp.iinfo(_name).max))
               for _name in ("int8", "uint8", "int16", "int32")}
_INT64_RANGE = (-(1 << 63), (1 << 63) - 1)  # int64's, and what a float or bool tensor takes without a check


def _int_operand(value, array, op_kind):
    """A Python int operand of `array` that numpy may refuse ('Python integer 300 out of bounds for int8'),
    as PyTorch takes it: true division takes it as a float; otherwise an integer tensor wraps it into its own
    dtype (int32 + 2**40 adds 0, uint8 + -1 adds 255, comparisons too), and outside int64 see
    wide_int_operand."""
    if op_kind is TRUE_DIVIDE and (value < 1 << 63 or array.dtype.kind != "b"):
        return float(python_int_scalar(value))
    low, high = _INT_RANGES.get(array.dtype, _INT64_RANGE)
    if low <= value <= high:
        return value
    return wide_int_operand(value, array)


def python_int_scalar(value):
    """PyTorch's checks on a Python int passed where it takes a number (a c10::Scalar): one that fits
    neither int64 nor uint64 is refused with CPython's words."""
    if value >= 1 << 64:
        raise OverflowError("int too big to convert")
    if value < -(1 << 63):
        raise OverflowError("can't convert negative int to unsigned")
    return value


def wide_int_operand(value, array):
    """A Python int operand outside int64 (numpy: 'Python int too large to convert to C long'), or outside
    an integer tensor's dtype, as PyTorch takes it: up to 2**64 - 1 it is a uint64 scalar, which a float
    tensor takes as a float and an integer tensor wraps into its own dtype (int64: value - 2**64); a bool
    tensor refuses to promote with one outside int64."""
    python_int_scalar(value)
    kind = array.dtype.kind
    if kind == "f":
        return float(value)
    if kind == "b":
        raise RuntimeError(
            "Promotion for uint16, uint32, uint64 types is not supported, attempted to promote Bool and "
            "UInt64"
        )
    bits = array.itemsize * 8
    value %= 1 << bits
    return value - (1 << bits) if kind == "i" and value >= 1 << (bits - 1) else value


SAME_DEVICE = ("Expected all tensors to be on the same device, but found at least two devices, cuda:0 and "
               "cpu!")
# Ops that are not elementwise check devices in their generated wrapper, which names the argument (PyTorch's
# common_device_check_failure): grad_fn name -> (the second argument's name, the CUDA wrapper's name).
_WRAPPER_ARGS = {
    "MmBackward0": ("mat2", "wrapper_CUDA_mm"), "MvBackward0": ("vec", "wrapper_CUDA_mv"),
    "DotBackward0": ("tensor", "wrapper_CUDA__dot"), "BmmBackward0": ("mat2", "wrapper_CUDA_bmm"),
}


def across_devices(op, xa, ya, inplace=False):
    """Called where an op's forward raised TypeError (CuPy refuses numpy arrays): when the two operands are
    on two devices, the operands to retry with (PyTorch lets a 0-d CPU tensor join a GPU tensor in an
    elementwise op: it is moved to the GPU) or PyTorch's error; otherwise the TypeError goes on (bare raise).
    inplace: xa is the tensor written to, which a 0-d CPU tensor may not be. Off the CPU hot path: it runs
    only after a failure."""
    gpu = backend.device_ndarray
    x_gpu, y_gpu = type(xa) is gpu, type(ya) is gpu
    x_cpu, y_cpu = isinstance(xa, ndarray), isinstance(ya, ndarray)
    if not ((x_gpu and y_cpu) or (x_cpu and y_gpu)):
        raise  # noqa: PLE0704 - the caller's TypeError was not about devices
    if not op.elementwise:
        default = ("other", "wrapper_CUDA_" + _short(op.grad_fn).lower())
        arg, method = _WRAPPER_ARGS.get(op.grad_fn, default)
        there, here = ("cpu", "cuda:0") if x_gpu else ("cuda:0", "cpu")
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but got {arg} is on {there}, different from "
            f"other tensors on {here} (when checking argument in method {method})"
        ) from None
    if y_cpu and ya.ndim == 0:
        return xa, backend.to_device(ya, "cuda")
    if x_cpu and xa.ndim == 0 and not inplace:
        return backend.to_device(xa, "cuda"), ya
    raise RuntimeError(SAME_DEVICE) from None


def check_same_device(arrays):
    """PyTorch's error when `arrays` (of tensors an op takes together: cat, stack, where's condition) are
    on two devices. Call it on a slow path, or after a failure."""
    gpu = backend.device_ndarray
    if gpu is backend._NoDeviceArray:
        return
    kinds = {type(a) is gpu for a in arrays}
    if len(kinds) > 1:
        raise RuntimeError(SAME_DEVICE)

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
    same = False  # x is a tensor, and y a tensor of its shape and dtype or a float
    if type(x) is Tensor:  # the common cases without _operand_arrays: nothing to convert or check
        xa = x._data
        if type(y) is Tensor:
            ya = y._data
            if xa.dtype is ya.dtype and xa.shape == ya.shape:
                same = True
            elif op.elementwise:
                xa, ya = _operand_arrays(x, y, True, op.float_constant)
        elif type(y) is float and xa.dtype.kind == "f":
            # (y too: a saved number is then the operand the forward used, a float16 array's HalfOperand)
            y = ya = _constant(y, xa) if op.float_constant else y
            same = True
        else:
            xa, ya = _operand_arrays(x, y, op.elementwise)
            if type(ya) is HalfOperand:  # (an int beyond int8 with float16: saved as the forward used it)
                y = ya
    else:
        xa, ya = _operand_arrays(x, y, op.elementwise)
    try:
        out = op.forward(xa, ya, **params) if params else op.forward(xa, ya)
    except TypeError:  # CuPy refuses a numpy operand: PyTorch's error for two devices, or a 0-d CPU tensor
        xa, ya = across_devices(op, xa, ya)
        same = False
        out = op.forward(xa, ya, **params) if params else op.forward(xa, ya)
    if type(out) is not ndarray:
        out = asarray(out)
    res = _make(out)
    if GRAD.enabled and ((type(x) is Tensor and x._rg) or (type(y) is Tensor and y._rg)):
        if FORMULA.scalars and type(y) is not Tensor and params is None and id(op) in _SCALAR_ROWS:
            if op is ROWS["rsub"]:  # (C++'s `1 - t` is empty_like(t).fill_(1).sub_(t): SubBackward0)
                _record(ROWS["sub"], res, (y, x), params)
            else:
                _record(_SCALAR_ROWS[id(op)], res, (x, y), params)
            return res
        node = op.node
        if same and node.binary_fast and out.dtype is xa.dtype and (shape := out.shape) == xa.shape:
            # _record's commonest two-input case, written out (it runs for every `+`, `-` and `*` recorded):
            # nothing to fit, and nothing or mul's plan to save
            node = node()
            node.seq = next(_sequence)
            node.retained = None
            node.p = params
            node._shape = shape  # (each read of .shape makes a new tuple)
            node._dtype = out.dtype
            node._meta = None
            node.r = None
            fx = x.grad_fn
            if fx is None:
                fx, nx = edge_to(x)
            else:
                nx = x.output_nr
            if type(y) is Tensor:
                fy = y.grad_fn
                if fy is None:
                    fy, ny = edge_to(y)
                else:
                    ny = y.output_nr
                node._next = (fx, nx, fy, ny)
                if node.plan is None:
                    node.a = node.b = node.checks = None
                elif x._rg:  # mul: each input is saved for the other's gradient
                    node.b = y
                    if y._rg:
                        node.a = x
                        node.checks = (y._version, y._version[0], y, x._version, x._version[0], x)
                    else:
                        node.a = None
                        node.checks = (y._version, y._version[0], y)
                else:
                    node.a = x
                    node.b = None
                    node.checks = (x._version, x._version[0], x)
            else:
                node._next = (fx, nx, None, 0)
                node.a = None
                node.b = y if node.plan is not None else None  # (a number: nothing to check)
                node.checks = None
            res.grad_fn = node
            res._rg = True
        else:
            _record(op, res, (x, y), params)
    return res


def inplace(op, x, y=None, params=None, *, any_cast=False):
    """`x.add_(y)` and friends: write into x's memory, bump its version, rebase its history.

    any_cast: the result is converted to x's dtype whatever it is (copy_, fill_), instead of PyTorch's
    same-kind rule for arithmetic (an int tensor cannot take `+= 0.5`)."""
    y_rg = type(y) is Tensor and y._rg
    needs_grad = GRAD.enabled and (x._rg or y_rg)
    base = x._base
    if needs_grad:  # (PyTorch's check_inplace, in its order)
        if base is not None:
            if x._creation is not None:
                raise view_change_error(x._creation, view_node_name(x), x.output_nr)
            if x._rg and base.grad_fn is None:
                raise RuntimeError(
                    "a view of a leaf Variable that requires grad is being used in an in-place operation."
                )
        elif x._rg and x.grad_fn is None:  # (a view without a node here is one whose node is out of date)
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    through_view = GRAD.enabled and base is not None and (base._rg or y_rg)
    xa = x._data
    if id(op) not in _FILL_ROWS:  # (fill_ and zero_ write one value everywhere: PyTorch allows them)
        check_no_overlap(xa)
    if y is None:
        out = op.forward(xa, **params) if params else op.forward(xa)
    else:
        xa2, ya = _operand_arrays(x, y, True, op.float_constant)
        if type(ya) is float and op.float_constant and xa2.dtype is _F16 and type(xa2) is ndarray:
            y = ya = HalfOperand(ya)  # (mul_ and div_ of float16 keep the number in float32, as `*` and `/`)
        try:
            if not needs_grad and not through_view and params is None and xa2 is xa and xa.dtype.kind == "f":
                # nothing to record (`W -= lr * W.grad` under no_grad): the ufunc writes into x itself,
                # without a temporary and a copy; the same values (numpy computes overlapping operands apart)
                ufunc = _UFUNC_OF.get(id(op))
                yt = type(ya)
                if ufunc is not None and (yt is float or yt is int or yt is ndarray and ya.dtype is xa.dtype
                                          and ya.shape == xa.shape):
                    ufunc(xa, ya, out=xa)
                    counter = x._version
                    counter[0] += 1
                    if len(counter) > 1:
                        forget_view_nodes(counter)
                    return x
            out = op.forward(xa2, ya, **params) if params else op.forward(xa2, ya)
        except TypeError:  # CuPy refuses a numpy operand: PyTorch's error for two devices, or a 0-d CPU y
            xa2, ya = across_devices(op, xa2, ya, inplace=True)
            out = op.forward(xa2, ya, **params) if params else op.forward(xa2, ya)
    out = asarray(out)
    if y is None and xa.dtype.kind in "iub" and out.dtype.kind == "f":  # (an integer's exp_: PyTorch's
        out = out.astype(dtypes.defaults.float.np)                       # result is the default float)
    check_inplace_result(out, xa, any_cast)
    old = None
    if needs_grad and op.save and "a" in op.save.lower():
        old = Tensor._make(xa.copy())
        old.grad_fn, old.output_nr, old._rg = x.grad_fn, x.output_nr, x._rg
    inputs = (x,) if y is None else (x, y)
    edges_first = tuple(edge_to(i) if type(i) is Tensor else _NO_EDGE for i in inputs) if needs_grad else None
    xp.copyto(xa, out, casting="unsafe")
    counter = x._version
    counter[0] += 1
    if through_view:
        fn = recorded_apart(op, x, inputs, params, old)
        if needs_grad and len(fn._next) == 2 * len(edges_first):  # (the inputs' edges before the change)
            fn.next_functions = edges_first
        rebase_view(x, fn)
    elif needs_grad:
        _record(op, x, inputs, params, inplace_old=old)
        x.grad_fn.next_functions = edges_first
        x.output_nr = 0
    if len(counter) > 1:  # (after recording: PyTorch takes the inputs' edges before the change)
        forget_view_nodes(counter, x if through_view else None)
    return x


# --------------------------------------------------------------- in-place changes through a view
def recorded_apart(op, x, inputs, params, old=None):
    """The node of an in-place op on x, recorded onto a stand-in that shares x's memory and version counter,
    so x's own history is left for rebase_view to replace."""
    stand_in = Tensor._make(x._data)
    stand_in._version = x._version
    _record(op, stand_in, inputs, params, inplace_old=old)
    return stand_in.grad_fn


def rebase_view(x, fn):
    """An in-place change `fn` to a view x: as in PyTorch, the base's history becomes a CopySlices node (which
    runs fn on the view's part of the base's gradient), and the view becomes an AsStridedBackward0 of it."""
    base = x._base
    index = _flat_index(x._data, base._data)
    copy = CopySlices()
    copy.seq = next(_sequence)
    copy.retained = None
    copy._next = edge_to(base) + fn._next[2:]  # the base's old history, then fn's other inputs
    copy.fn, copy.index, copy.base_shape = fn, index, base._data.shape
    base.grad_fn, base.output_nr, base._rg = copy, 0, True
    view = AsStridedBackward0()
    view.seq = next(_sequence)
    view.retained = None
    view._next = (copy, 0)
    view.index, view.base_shape = index, base._data.shape
    view.overlaps = _overlaps(x._data)
    x.grad_fn, x.output_nr, x._rg, x._acc = view, 0, True, None  # (_acc: a ThroughBase marking its old node
    follow_view(x)                                                # out of date, forget_view_nodes)


def _flat_index(view, base):
    """For each element of `view`, its position in the flattened `base` it is a view of (in C order)."""
    itemsize = base.itemsize
    offset = (_address(view) - _address(base)) // itemsize
    if base.flags["C_CONTIGUOUS"]:
        positions = xp.arange(base.size)
        strides = tuple(s // itemsize * positions.itemsize for s in view.strides)
        index = xp.lib.stride_tricks.as_strided(positions[offset:], view.shape, strides).copy()
    else:  # (an op's result in another memory order: where each element of base lies, turned round)
        at = _element_offsets(base.shape, base.strides, itemsize)
        low = int(at.min()) if at.size else 0
        where = xp.zeros(int(at.max()) - low + 1 if at.size else 0, dtype=xp.int64)
        where[(at - low).reshape(-1)] = xp.arange(base.size)
        index = where[_element_offsets(view.shape, view.strides, itemsize) + (offset - low)]
    return backend.like(index, backend.device_type_of(base))  # (worked out on the host, used where base is)


def _element_offsets(shape, strides, itemsize):
    """Each element's distance from the first one in memory, in elements, as an array of `shape`."""
    at = xp.zeros(shape, dtype=xp.int64)
    for d, (n, stride) in enumerate(zip(shape, strides)):
        at += (xp.arange(n) * (stride // itemsize)).reshape((n,) + (1,) * (len(shape) - d - 1))
    return at


def _address(array):
    interface = getattr(array, "__array_interface__", None)
    return interface["data"][0] if interface is not None else array.data.ptr  # (numpy, cupy)


_NO_VIEW_DOUBLE_BACKWARD = "gradcli does not support create_graph=True through an in-place change to a view"


class CopySlices(Node):
    """The base's node after an in-place change to one of its views. (Given no gradient, it passes on none
    without running fn, as PyTorch's does: Node.apply_undefined.)"""

    __slots__ = ("fn", "index", "base_shape")

    def apply(self, grads, create_graph):
        if create_graph:
            raise RuntimeError(_NO_VIEW_DOUBLE_BACKWARD)
        result = namespace_of(grads[0]).array(grads[0], order="C", copy=True).reshape(-1)
        outs = self.fn.apply([result[self.index]], False)
        result[self.index] = 0 if outs[0] is None else outs[0]
        return [result.reshape(self.base_shape), *outs[1:]]

    def release(self):
        self.fn.release()


class AsStridedBackward0(Node):
    """A view's node after an in-place change through it: its gradient lands in its part of the base."""

    __slots__ = ("index", "base_shape", "overlaps")

    def apply(self, grads, create_graph):
        g = grads[0]
        if create_graph:  # (a remade view's node is common: its gradient as differentiable ops, by value)
            n = _numel(self.base_shape)
            in_index = namespace_of(self.index).arange(n).reshape(self.base_shape)
            return [_as_strided_grad(TENSOR_MATH, g, self.index, n, in_index)]
        ns = namespace_of(g)
        out = ns.zeros(_numel(self.base_shape), dtype=g.dtype)
        if self.overlaps:  # (an expanded view: several of its elements are one of the base's, summed)
            ns.add.at(out, self.index, g)
        else:  # (a plain assignment: several times faster than add.at)
            out[self.index] = g
        return [out.reshape(self.base_shape)]


def _as_strided_grad(m, g, index, n, in_index):
    """PyTorch's as_strided_backward, as differentiable ops: the view's dims of size 1 squeezed and those of
    stride 0 (where index does not change) summed, last dim first; g copied into zeros of the storage's n
    elements through a view of it (CopySlices); that storage seen with the input's geometry
    (AsStridedBackward0). index and in_index: the view's and the input's elements' places in the storage."""
    ns = namespace_of(index)
    if m is ARRAY_MATH:
        out = ns.zeros(n, dtype=g.dtype)
        ns.add.at(out, index, g)
        return out[in_index]
    if 0 in index.shape:
        return m.const(ns.zeros(in_index.shape, dtype=m.np_dtype(g)))
    for d in reversed(range(index.ndim)):
        first = ns.take(index, 0, axis=d)
        if index.shape[d] == 1:
            g = m.squeeze_dim(g, d)
        elif (index == ns.expand_dims(first, d)).all():
            g = m.sum(g, (d,), False)
        else:
            continue
        index = first
    storage = m.copy_slices(m.const(ns.zeros(n, dtype=m.np_dtype(g))), g, index)
    return m.as_strided(storage, in_index)


def _copy_slices_src_grad(m, g, index):
    """CopySlices' gradient for the source written through a view: its part of g, as PyTorch's copy of g
    into a new tensor, seen through the view's geometry, cloned."""
    if m is ARRAY_MATH:
        return g.reshape(-1)[index]
    return m.clone(m.as_strided(m.copy_into_new(g), index))


def _overlaps(view):
    """Whether some elements of a view share memory: only a stride 0 (expand) makes them so here."""
    return any(stride == 0 and n > 1 for stride, n in zip(view.strides, view.shape))


def check_inplace_result(out, xa, any_cast=False):
    """PyTorch's errors for an in-place result that cannot be written into xa: another shape, or (unless
    any_cast) a dtype that xa's cannot take."""
    if out.shape != xa.shape:
        raise RuntimeError(
            f"output with shape [{', '.join(map(str, xa.shape))}] doesn't match the broadcast shape "
            f"[{', '.join(map(str, out.shape))}]"
        )
    if out.dtype != xa.dtype and not any_cast and not can_cast(out.dtype, xa.dtype):
        raise RuntimeError(
            f"result type {_type_name(out.dtype)} can't be cast to the desired output type "
            f"{_type_name(xa.dtype)}"
        )


def can_cast(src, dst) -> bool:
    """PyTorch's canCast, which an in-place op's result must pass to be written into its tensor: never
    a float into an integer or bool tensor, nor a non-bool into a bool one; any integer into any other
    (wrapping: `uint8_tensor += int64_tensor`), unlike numpy's same-kind rule."""
    if src.kind == "f" and dst.kind in "iub":
        return False
    return not (dst.kind == "b" and src.kind != "b")


def _type_name(np_dtype):
    """PyTorch's scalar-type name in messages: Float, Double, Long, Int, Bool, ..."""
    return dtypes.of_array(xp.empty(0, np_dtype)).legacy[: -len("Tensor")]


def check_broadcast(sa, sb):
    """The broadcast shape of two shapes, with PyTorch's error when they do not broadcast (which, like
    PyTorch's infer_size, names the first mismatch from the trailing end)."""
    na, nb = len(sa), len(sb)
    n = max(na, nb)
    out = [0] * n
    for i in range(n - 1, -1, -1):
        da = sa[na - n + i] if na - n + i >= 0 else 1
        db = sb[nb - n + i] if nb - n + i >= 0 else 1
        if da != db and da != 1 and db != 1:
            raise RuntimeError(
                f"The size of tensor a ({da}) must match the size of tensor b ({db}) at non-singleton "
                f"dimension {i}"
            )
        out[i] = da if db == 1 else db
    numel = 1
    for d in out:
        numel *= d
    if numel > 1 << 16:
        limits.check_tensor_size(numel, 8)
    return tuple(out)


class MultiOutputNode(OpNode):
    """A node with several outputs (unbind): its row's backward gets the list of their gradients, with
    zeros for outputs no gradient reached."""

    __slots__ = ("n_outputs",)
    apply_release = Node.apply_release  # its own apply, not OpNode's fused one

    def apply(self, grads, create_graph):
        m = TENSOR_MATH if create_graph else ARRAY_MATH
        dtype = self.meta[0][1]
        # (unbind's outputs share one shape; split's and chunk's last one may be shorter)
        shapes = self.p.get("out_shapes") or [self.p["out_shape"]] * len(grads)
        given = next(m.data(g) for g in grads if g is not None)  # zeros go where the given gradients are
        grads = [m.const(namespace_of(given).zeros(shape, dtype)) if g is None else g
                 for g, shape in zip(grads, shapes)]
        return _fit(m, self.op.backward(m, grads, None, None, None, self.p), self.meta)


def _not_implemented(aten):
    def backward(m, g, a, b, r, p):
        raise RuntimeError(f"derivative for {aten} is not implemented")

    return backward


def _as_multi_views(x, outs):
    """Make outs (arrays of x's memory, wrapped) the views unbind or split returns: x's version counter and
    base, and how they were made (PyTorch forbids changing such views in place)."""
    base = x._base if x._base is not None else x
    if base is x and not x._rg:
        x._has_views = True
    for o in outs:
        o._version = x._version
        o._base = base
        o._creation = VIEW_MULTI if GRAD.enabled else no_grad_view(o, base)


def unbind(x, dim):
    """The slices of x along dim, as views that share one UnbindBackward0 node (output_nr 0, 1, ...)."""
    xa = x._data
    d = _dim(dim, xa.ndim)
    if not xa.ndim:
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    limits.check_sequence(xa.shape[d])
    outs = [Tensor._make(xa[(slice(None),) * d + (i, Ellipsis)]) for i in range(xa.shape[d])]  # (views)
    _as_multi_views(x, outs)
    if GRAD.enabled and x._rg:
        node = _new_node(ROWS["unbind"], {"dim": d, "out_shape": xa.shape[:d] + xa.shape[d + 1:]})
        node.n_outputs = len(outs)
        node._next = edge_to(x)
        node._meta = ((xa.shape, xa.dtype),)
        for i, o in enumerate(outs):
            o.grad_fn, o.output_nr, o._rg = node, i, True
            follow_view(o)
    return tuple(outs)


def split(x, sizes, dim, key):
    """x cut along dim into pieces of the given sizes, as views sharing one node (SplitBackward0 for split
    and chunk by a size, SplitWithSizesBackward0 for a list of sizes), output_nr 0, 1, ..."""
    xa = x._data
    limits.check_sequence(len(sizes))
    outs = []
    start = 0
    for n in sizes:
        outs.append(Tensor._make(xa[(slice(None),) * dim + (slice(start, start + n),)]))  # (views)
        start += n
    _as_multi_views(x, outs)
    if GRAD.enabled and x._rg:
        node = _new_node(ROWS[key], {"dim": dim, "out_shapes": [o._data.shape for o in outs]})
        node.n_outputs = len(outs)
        node._next = edge_to(x)
        node._meta = ((xa.shape, xa.dtype),)
        for i, o in enumerate(outs):
            o.grad_fn, o.output_nr, o._rg = node, i, True
            follow_view(o)
    return tuple(outs)


def many(op, xs, params):
    """An op over a list of tensors (cat, stack)."""
    arrays = [x._data for x in xs]
    check_same_device(arrays)
    if len({a.dtype for a in arrays}) > 1:
        want = dtypes.result_type(xs).np
        arrays = [a.astype(want, copy=False) for a in arrays]
    out = op.forward(arrays, **params)
    res = _wrap(out)
    if GRAD.enabled and any(x._rg for x in xs):
        node = _new_node(op, params)
        node.next_functions = [edge_to(x) for x in xs]
        node._meta = tuple((a.shape, a.dtype) for a in arrays)
        res.grad_fn = node
        res._rg = True
    return res


# --------------------------------------------------------------- helpers for rows
def _dims(dim, ndim):
    """Normalise `dim` (int, tuple or None) against ndim, with PyTorch's out-of-range and repeat errors."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (tuple, list)):
        dims = tuple(_dim(d, ndim) for d in dim)
        for i, d in enumerate(dims):
            if d in dims[:i]:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        return dims
    return (_dim(dim, ndim),)


def _dim(d, ndim):
    if isinstance(d, bool) or not isinstance(d, int):
        raise TypeError(f"dim must be an int, not {type(d).__name__}")
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    if d < lo or d > hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {d})")
    return d % ndim if ndim else 0


def check_reduced(shape, dims, itemsize=8):
    """Refuse a reduction of an empty input whose result is huge (the sum over dim 1 of a (10**12, 0) tensor
    has 10**12 elements), before numpy allocates it. Call it only where the input has no elements: any
    other input's result is smaller than the input."""
    n = 1
    for i, size in enumerate(shape):
        if i not in dims:
            n *= size
    limits.check_tensor_size(n, itemsize)


def check_nonempty_reduction(name, shape, dim):
    """PyTorch's errors for max/min/argmax/argmin of an empty input (numpy's are about argmax of a sequence):
    dim is None (the whole tensor) or a normalised dim."""
    if dim is None:
        raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
    if shape and shape[dim] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")


def _expand_reduced(m, g, shape, dims, keepdim):
    if not keepdim and shape:
        for d in sorted(dims):
            g = m.expand_dims(g, d)
    return m.broadcast_to(g, shape)


def _unsqueeze_reduced(m, g, shape, dims, keepdim):
    """g with the reduced dims put back as 1s (PyTorch's unsqueeze_multiple), to broadcast: formulas under
    create_graph, where an expand would be a node PyTorch does not record."""
    if not keepdim and shape and dims is not None:
        for d in sorted(dims):
            g = m.expand_dims(g, d)
    return g


def _mean_count(shape, dims):
    n = 1
    for d in dims:
        n *= shape[d] if shape else 1
    return n


def _sum_fwd(x, dim=None, keepdim=False):
    if x.dtype.kind in "biu":
        return x.sum(axis=_dims(dim, x.ndim) if dim is not None else None, keepdims=keepdim, dtype=xp.int64)
    dims = _dims(dim, x.ndim)
    if torchsum.applies(x, dims):
        # PyTorch's CPU addition order, so a float32 sum prints its last digit (numpy's is pairwise)
        return torchsum.reduce_sum(x, dims, keepdim)
    if x.dtype is _F16:
        return _half_sum(x, dims if dim is not None else None, keepdim)
    return x.sum(axis=dims if dim is not None else None, keepdims=keepdim)


def _nansum_fwd(x, dim=None, keepdim=False):
    """nansum: the sum with each nan taken as 0 (PyTorch's order, as sum's)."""
    if x.dtype.kind == "f":
        x = namespace_of(x).where(namespace_of(x).isnan(x), x.dtype.type(0), x)
    return _sum_fwd(x, dim, keepdim)


def _nansum_bwd(m, g, a, b, r, p):
    """PyTorch's nansum_backward: the gradient expanded to the input, times where the input is not nan."""
    g = _expand_reduced(m, g, p["shape"], p["dims"], p["keepdim"])
    return (g * m.const(~namespace_of(m.data(a)).isnan(m.data(a))),)


def _half_sum(x, axes, keepdims):
    """A float16 sum as PyTorch's: added up in float32 and rounded once (numpy adds the rows of a sum over
    an outer dim in float16)."""
    return x.sum(axis=axes, keepdims=keepdims, dtype=_F32).astype(_F16)


def _array_sum(x, axes, keepdims):
    """ARRAY_MATH's sum (backward formulas, gradients summed over broadcast dims)."""
    if x.dtype is _F16:
        return _half_sum(x, axes, keepdims)
    return x.sum(axis=axes, keepdims=keepdims)


def _mean_fwd(x, dim=None, keepdim=False):
    if x.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
            f"dtype. Got: {_type_name(x.dtype)}"
        )
    dims = _dims(dim, x.ndim)
    if torchsum.applies(x, dims):
        # PyTorch's CPU mean is its sum divided by the count, in the tensor's dtype
        return torchsum.reduce_sum(x, dims, keepdim) / x.dtype.type(_mean_count(x.shape, dims))
    return x.mean(axis=dims if dim is not None else None, keepdims=keepdim)


def _sign(x):
    """sign, with PyTorch's 0 for nan (numpy's is nan)."""
    out = backend.as_array(xp.sign(x))
    if x.dtype.kind == "f":
        nan = xp.isnan(x)
        if nan.any():
            out[nan] = 0
    return out


def _evenly(m, g, a, r):
    """max()/min() over everything: ties share the gradient equally, as in PyTorch; a nan result is
    shared by the nans."""
    data = m.data(r)
    mask = xp.isnan(m.data(a)) if data.dtype.kind == "f" and xp.isnan(data) else m.equal(a, r)
    if m is ARRAY_MATH:
        return (m.where(mask, g / m.count(mask), 0),)
    # (create_graph: PyTorch's evenly_distribute_backward, zeros.masked_fill_(mask, grad / mask.sum()), so
    # the nodes are MaskedFillBackward1 over DivBackward0, the count an int64 tensor)
    ns = namespace_of(m.data(g))
    share = g / m.const(ns.asarray(m.count(mask), dtype=ns.int64))
    return (m.masked_fill_tensor(m.zeros(a), m.data(mask), share),)


def _select_along(m, g, shape, dim, indices, keepdim):
    """Scatter g into zeros of `shape` at `indices` along `dim` (max/min with a dim): under create_graph,
    PyTorch's value_selecting_reduction_backward, zeros.scatter_(dim, indices, grad), a ScatterBackward0
    node (for a 0-d input too, without the unsqueeze)."""
    if not shape:  # max(dim=0) of a 0-d tensor is the tensor itself
        return g if m is ARRAY_MATH else m.scatter_into(g, shape, ())
    if not keepdim:
        g = m.expand_dims(g, dim)
        indices = xp.expand_dims(indices, dim)
    if m is not ARRAY_MATH:
        return m.scatter_into(g, shape, along(indices, dim, len(shape)))
    positions = namespace_of(indices).arange(shape[dim])
    onehot = positions.reshape([-1 if i == dim else 1 for i in range(len(shape))]) == indices
    return m.where(onehot, g, 0)


# The C type names PyTorch's mm uses in its dtype message.
_C_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int", "int32": "int",
    "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
}


def _scalar_name(array):
    return _type_name(array.dtype)


def _check_mm(a, b):
    """PyTorch's checks, in its order: each a matrix, shapes that multiply, one dtype, not bool."""
    if a.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
            f"{b.shape[0]}x{b.shape[1]})"
        )
    if a.dtype != b.dtype:
        raise RuntimeError(
            "expected m1 and m2 to have the same dtype, but got: "
            f"{_C_NAMES[a.dtype.name]} != {_C_NAMES[b.dtype.name]}"
        )
    if a.dtype == bool and a.size and b.size:  # (an empty product computes nothing: no kernel is asked)
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    if a.shape[0] * b.shape[1] > 1 << 16:  # (10**6 x 0) @ (0 x 10**6) is 10**12 zeros from nothing
        limits.check_tensor_size(a.shape[0] * b.shape[1], a.itemsize)
    return a @ b


def _check_mv(a, v):
    """PyTorch's checks (addmv's), in its order: a matrix and a vector, sizes, one dtype, not bool."""
    if not a.ndim:  # (mv reads the matrix's first size before anything else)
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    if a.shape[1] != v.shape[0]:
        mat = "x".join(str(n) for n in a.shape)
        vec = "x".join(str(n) for n in v.shape)
        raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({mat}), vec ({vec})")
    if a.dtype != v.dtype:
        raise RuntimeError(
            "addmv input tensors must have the same dtype, but got "
            f"{_scalar_name(v)}, {_scalar_name(a)}, and "
            f"{_scalar_name(v)}"
        )
    if a.dtype == bool and a.size:  # (an empty product computes nothing: no kernel is asked)
        raise NotImplementedError("\"addmv_impl_cpu\" not implemented for 'Bool'")
    if not a.size:  # a (10**12 x 0) matrix times an empty vector: 10**12 zeros
        limits.check_tensor_size(a.shape[0], a.itemsize)
    return a @ v


def _check_dot(u, v):
    """PyTorch's checks, in its order: two vectors, one dtype, one size, not bool."""
    if u.ndim != 1 or v.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {u.ndim}D and {v.ndim}D tensors")
    if u.dtype != v.dtype:
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{_scalar_name(u)} and {_scalar_name(v)}"
        )
    if u.shape[0] != v.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{u.shape[0]}] and src [{v.shape[0]}] to have the "
            "same "
            f"number of elements, but got {u.shape[0]} and {v.shape[0]} elements respectively"
        )
    if u.dtype == bool:
        raise NotImplementedError("\"dot\" not implemented for 'Bool'")
    return xp.dot(u, v)


def _check_bmm(a, b):
    if b.shape[:2] != (a.shape[0], a.shape[2]):  # (bmm's meta function checks the shapes first)
        raise RuntimeError(
            "Expected size for first two dimensions of batch2 tensor to be: "
            f"[{a.shape[0]}, {a.shape[2]}] but "
            f"got: [{b.shape[0]}, {b.shape[1]}]."
        )
    if a.dtype == bool:
        raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {_scalar_name(a)} but found {_scalar_name(b)}")
    if a.shape[0] * a.shape[1] * b.shape[2] > 1 << 16:
        limits.check_tensor_size(a.shape[0] * a.shape[1] * b.shape[2], a.itemsize)
    return xp.matmul(a, b)


def _add_alpha(a, b, alpha):
    """a + alpha * b; two bool tensors give a bool one, alpha taken as a bool (a or (b and alpha)), as in
    PyTorch. float16: alpha and a number operand are rounded to float16, the rest computed in float32."""
    if getattr(a, "dtype", None) == _BOOL and getattr(b, "dtype", None) == _BOOL:
        return a | (b & bool(alpha))
    if getattr(a, "dtype", None) is _F16 or getattr(b, "dtype", None) is _F16:
        return _half_alpha(a, b, alpha)
    return a + b * alpha


def _half_alpha(a, b, alpha):
    """a + alpha * b for float16 as PyTorch's CPU add kernel computes it. Its vectorised loop, which takes
    the elements in blocks of 32 (two Vectorized<Half>), computes a + alpha * b in float32 and rounds once;
    the last n % 32 elements go through its scalar loop, in c10::Half arithmetic: alpha * b rounded to
    float16, then the sum. alpha (and a number operand) are float16 first; an alpha that overflows it is
    refused, in PyTorch's words."""
    with xp.errstate(over="ignore", invalid="ignore"):
        half_alpha = _F16.type(alpha)
        if math.isinf(half_alpha) and not math.isinf(alpha):
            raise RuntimeError("value cannot be converted to type c10::Half without overflow")
        a, b = (_F16.type(float(v)) if not hasattr(v, "shape") else v for v in (a, b))
        stepwise = a + b * half_alpha
        if stepwise.size < 32:
            return stepwise
        wide = (a.astype(_F32) + b.astype(_F32) * _F32.type(half_alpha)).astype(_F16)
    return _vector_blocks(wide, stepwise)


def _tanh_backward(g, result):
    """tanh's gradient from its result, as PyTorch's kernel computes it: g * (1 - r * r), float16 in
    float32."""
    if g.dtype is _F16 and type(g) is ndarray:
        return _in_float32(_tanh_backward, g, result)
    return g * (1 - result * result)


def _sigmoid_backward(g, result):
    """sigmoid's gradient from its result, as PyTorch's kernel computes it: g * (1 - r) * r."""
    return g * (1 - result) * result


def _threshold_backward(g, result):
    """relu's gradient: g where the result is positive, else 0."""
    return namespace_of(g).where(result > 0, g, 0).astype(g.dtype, copy=False)


def _softmax_axes(g, dim):
    """The axis softmax's backward sums over: none for a 0-d tensor (its dim 0 is the tensor itself)."""
    return (dim,) if len(g.shape) else ()


def _softmax_backward(m, g, r, dim):
    """softmax's gradient from its result: r * (g - sum(g * r))."""
    return r * (g - _kernel_sum(m, g * r, _softmax_axes(g, dim)))


def _log_softmax_backward(m, g, r, dim):
    """log_softmax's gradient from its result: g - exp(r) * sum(g)."""
    return g - m.exp(r) * _kernel_sum(m, g, _softmax_axes(g, dim))


def _kernel_sum(m, x, axes):
    """The sum inside PyTorch's softmax backward kernels, kept over `axes`. Along the last dim (its
    vec::reduce_all) it starts from the first element, not from +0, so a row of -0. sums to -0. (numpy's
    sum gives 0.) and the gradient of a zero upstream gradient keeps PyTorch's sign; along another dim it
    starts from 0, as numpy's does."""
    if m is ARRAY_MATH and type(x) is ndarray and x.dtype is not _F16 and axes == (x.ndim - 1,):
        return x.sum(axis=axes, keepdims=True, initial=-0.0)
    return m.sum(x, axes, True)


def _softmax_double_backward(m, grad, grad_output, output, dim):
    """The gradient of _softmax_backward_data (r * (g - sum(g * r))) for its output r."""
    axes = _softmax_axes(grad, dim)
    return (grad_output * grad - m.sum(output * grad_output, axes, True) * grad
            - grad_output * m.sum(output * grad, axes, True))


def _log_softmax_double_backward(m, grad, grad_output, output, dim):
    """The gradient of _log_softmax_backward_data (g - exp(r) * sum(g)) for its output r."""
    return -(m.sum(grad_output, _softmax_axes(grad, dim), True) * m.exp(output)) * grad


def _contiguous(x):
    """x in C order: what PyTorch's softmax and log_softmax return whatever their input's layout."""
    return x if x.flags.c_contiguous else namespace_of(x).ascontiguousarray(x)


def _vec_f32(x):
    """A float32 array on the CPU: where gradcli follows PyTorch's CPU kernels step by step (vecmath)."""
    return x.dtype is _F32 and type(x) is ndarray


def _softmax_fwd(x, dim):
    d = _dim(dim, x.ndim) if x.ndim else ()  # (a 0-d array has no axis 0 in CuPy, as in PyTorch's kernels)
    x = _contiguous(x)
    if x.size == 0:  # (numpy has no max of an empty axis; the result is as empty as the input)
        return x.copy()
    if x.dtype is _F16:
        return _half_softmax(x, d)
    if _vec_f32(x) and x.ndim and d == x.ndim - 1:  # (the last-dim kernel: Sleef's exp, its lane sum)
        return vecmath.softmax_lastdim(x.reshape(-1, x.shape[d])).reshape(x.shape)
    e = xp.exp(x - x.max(axis=d, keepdims=True))
    return e / e.sum(axis=d, keepdims=True)


def _log_softmax_fwd(x, dim):
    d = _dim(dim, x.ndim) if x.ndim else ()  # (a 0-d array has no axis 0 in CuPy, as in PyTorch's kernels)
    x = _contiguous(x)
    if x.size == 0:
        return x.copy()
    if x.dtype is _F16:
        return _half_log_softmax(x, d)
    if _vec_f32(x) and x.ndim and d == x.ndim - 1:  # (the last-dim kernel: x - max - log(lane sum))
        return vecmath.log_softmax_lastdim(x.reshape(-1, x.shape[d])).reshape(x.shape)
    shifted = x - x.max(axis=d, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=d, keepdims=True))


def _half_softmax(x, d):
    """PyTorch's float16 softmax: in float32, rounded once; along any dim but the last its kernel keeps
    each exponential rounded to float16 and divides it by the float32 sum of the unrounded ones (measured
    against torch 2.13)."""
    wide = x.astype(_F32)
    with xp.errstate(over="ignore", invalid="ignore"):
        e = xp.exp(wide - wide.max(axis=d, keepdims=True))
        total = e.sum(axis=d, keepdims=True)
        if d != x.ndim - 1:
            e = e.astype(_F16).astype(_F32)
        return (e / total).astype(_F16)


def _half_log_softmax(x, d):
    """PyTorch's float16 log_softmax: in float32, rounded once; along the last dim its kernel rounds the
    sum of the exponentials, and then its log, to float16 on the way (measured against torch 2.13)."""
    wide = x.astype(_F32)
    shifted = wide - wide.max(axis=d, keepdims=True)
    with xp.errstate(over="ignore", invalid="ignore", divide="ignore"):
        total = xp.exp(shifted).sum(axis=d, keepdims=True, dtype=_F32)
        if d == x.ndim - 1:
            log = xp.log(total.astype(_F16).astype(_F32)).astype(_F16).astype(_F32)
        else:
            log = xp.log(total)
        return (shifted - log).astype(_F16)


def _reduce_loss(v, reduction):
    # PyTorch reduces these losses with its own mean / sum (apply_loss_reduction, mse_loss_out): its order
    if reduction == "mean":
        return _mean_fwd(v)
    if reduction == "sum":
        return _sum_fwd(v)
    if reduction == "none":
        return v
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _mse_bwd(m, g, a, b, r, p):
    """PyTorch's mse_loss_backward, norm * (input - target) * grad (norm = 2, or 2 / numel for 'mean', in
    the input's dtype), for the input; for the target the same with the two swapped (so +0., not -0., where
    they are equal)."""
    if m is not ARRAY_MATH:  # (PyTorch's mse_loss_backward, one node per input, with its own derivatives)
        return m.mse_loss_backward(g, a, b, p["reduction"]), m.mse_loss_backward(g, b, a, p["reduction"])
    shape = m.data(a).shape
    norm = 2.0 / max(_numel(shape), 1) if p["reduction"] == "mean" else 2.0
    if p["reduction"] != "none":
        g = m.broadcast_to(g, shape)
    return norm * (a - b) * g, norm * (b - a) * g


def _mse_grad(g, x, y, reduction):
    """mse_loss_backward(grad, x, y) of arrays, as _mse_bwd computes x's gradient: the forward of the op a
    gradient taken with create_graph records (MseLossBackwardBackward0)."""
    return _mse_bwd(ARRAY_MATH, g, x, y, None, {"reduction": reduction})[0]


def _mse_double_bwd(m, gg, a, b, r, p):
    """PyTorch's derivatives of mse_loss_backward(grad, x, y): for grad, mse_loss_backward(gg, x, y) ('none'),
    else (mse_loss_backward(1, x, y) * gg).sum(); for x, 2 * (gg * grad) (divided by the count for
    'mean'); for y its negation."""
    go, x, y, reduction = p["grad"], p["x"], p["y"], p["reduction"]
    if m is ARRAY_MATH:
        go, x, y = go._data, x._data, y._data
    scaled = 2 * (gg * go)
    if reduction == "mean":
        scaled = scaled / max(_numel(x.shape), 1)
    if reduction == "none":
        d_go = m.mse_loss_backward(gg, x, y, reduction)
    else:
        ones = m.const(namespace_of(m.data(go)).ones_like(m.data(go)))
        d_go = m.sum(m.mse_loss_backward(ones, x, y, reduction) * gg, None, False)
    return d_go, scaled, -scaled


def _loss_grad_of(row, g, x, y, p):
    """A loss's backward for its input x, of arrays (its row's): the forward of its XBackwardBackward0 op."""
    return ROWS[row].backward(ARRAY_MATH, g, x, y, None, p)[0]


def _smooth_l1_double_bwd(m, gg, a, b, r, p):
    """PyTorch's derivatives of smooth_l1_loss_backward / huber_loss_backward(grad, x, y): for grad, the
    backward of gg (huber's summed with the incoming gradient for a reduced loss, as mse_loss's); for x,
    gg * grad where |x - y| < width (over beta for smooth_l1, 0 where beta is 0), divided by the count for
    'mean'; for y its negation."""
    go, x, y, reduction = p["grad"], p["x"], p["y"], p["reduction"]
    if m is ARRAY_MATH:
        go, x, y = go._data, x._data, y._data
    huber = "delta" in p
    row, width = ("huber_loss", p["delta"]) if huber else ("smooth_l1_loss", p["beta"])
    dtype = m.data(gg).dtype
    inside = m.const((abs(m.data(x) - m.data(y)) < width).astype(dtype))
    if huber and reduction != "none":
        ones = m.const(namespace_of(m.data(go)).ones_like(m.data(go)))
        d_go = m.sum(m.loss_backward(row, ones, x, y, p) * gg, None, False)
    else:
        d_go = m.loss_backward(row, gg, x, y, p)
    if not huber and width == 0:
        scaled = m.const(namespace_of(m.data(gg)).zeros_like(m.data(gg)))
    elif huber:
        scaled = gg * go * inside
    else:
        scaled = gg * go * inside / width
    if reduction == "mean":
        scaled = scaled / max(_numel(x.shape), 1)
    return d_go, scaled, -scaled


def _nll_rows(x, target):
    """nll_loss's input as (rows, classes) and its target as one class per row: a (C,) input is one row,
    (N, C) is N rows, and (N, C, H, W) (nll_loss2d) is N*H*W rows, its class axis moved last."""
    if x.ndim == 1:
        return x[None, :], target.reshape(1)
    if x.ndim == 2:
        return x, target
    return namespace_of(x).moveaxis(x, 1, -1).reshape(-1, x.shape[1]), target.reshape(-1)


def nll_terms(target, shape, dtype, weight, ignore_index):
    """What nll_loss reads of its target: the rows not ignored (row numbers as in _nll_rows), their
    classes, their weights (None without a weight) and the total weight a mean divides by, summed as
    PyTorch sums it. Raises PyTorch's IndexError for a class out of range."""
    ns = namespace_of(target)
    t = target.reshape(-1)
    keep = t != ignore_index
    classes = shape[0] if len(shape) == 1 else shape[1]
    bad = keep & ((t < 0) | (t >= classes))
    if bad.any():
        raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")
    rows = ns.flatnonzero(keep)
    cls = t[rows]
    if weight is None:
        return rows, cls, None, ns.array(rows.size, dtype)
    w = weight[cls]
    if len(shape) == 1:
        return rows, cls, w, w[0] if w.size else ns.array(0, dtype)
    return rows, cls, w, _cascade_sum(rows, w, t.size, subtract=False)


def _ceil_log2(n):
    return 1 if n <= 2 else (n - 1).bit_length()


def _cascade_sum(index, values, count, subtract):
    """The sum PyTorch's CPU nll_loss and nll_loss2d compute (LossNLL.cpp, LossNLL2d.cpp), in the same
    order and precision, so that a mean prints PyTorch's last digit. It keeps 8 accumulators: each value
    (that of row `index`) goes into level 0 (subtracted for the loss, added for the weights); after row
    b, level j is added into level j + 1 and cleared, for each j while b is a multiple of 16**(j + 1)
    (16 = 2**4; more only past 2**39 rows); at the end the levels are added up, level 0 first.

    Here: row 0 goes straight through to the last level; each other level is summed run by run (its
    values between two clearings), the runs as rows of a table summed by one cumsum, which adds in order."""
    power = max(4, _ceil_log2(count) // 8)
    ns = namespace_of(values)
    total = ns.zeros((), values.dtype)
    if not values.size:
        return total
    items = -values if subtract else values  # (acc - x is acc + -x, exactly)
    last = total
    if int(index[0]) == 0:
        last, index, items = total + items[0], index[1:], items[1:]
    for level in range(7):
        if not items.size:
            break
        flush = index % (1 << (power * (level + 1))) == 0
        sums = _run_sums(items, flush)
        total = total + sums[-1]
        index, items = index[flush], sums[:-1]
    if items.size:  # (what reached the last level after row 0, past 16**7 rows)
        last = _run_sums(ns.concatenate([last[None], items]), ns.zeros(items.size + 1, bool))[0]
    return total + last


def _run_sums(items, flush):
    """Sums, from 0 and in order, of the runs of `items` that end where `flush` is true, plus the run after
    the last of them (0 if empty)."""
    ns = namespace_of(items)
    ends = ns.flatnonzero(flush)
    if not ends.size:  # one run
        return ns.cumsum(ns.concatenate([ns.zeros(1, items.dtype), items]))[-1:]
    starts = ns.concatenate([ns.zeros(1, ends.dtype), ends + 1])
    run = ns.cumsum(flush) - flush  # the run of each item
    position = ns.arange(items.size) - starts[run]
    # a column of +0.0 to start from; padding of -0.0, which changes no sum (x + -0.0 is x, -0.0 too)
    table = ns.full((starts.size, int(position.max()) + 2), -0.0, items.dtype)
    table[:, 0] = 0.0
    table[run, position + 1] = items
    return table.cumsum(axis=1)[:, -1]


def _nll_fwd(x, p):
    rows, cls, w, total_weight = p["terms"]
    ns = namespace_of(x)
    picked = _nll_rows(x, p["target"])[0][rows, cls]
    if w is not None:
        picked = picked * w
    reduction = p["reduction"]
    if reduction == "none":
        if x.ndim == 1:  # (0 - x * w for a kept class, else 0; a 0-d result: PyTorch's 1-d kernel gives
            return x.dtype.type(0) - picked[0] if picked.size else ns.zeros((), x.dtype)  # +0 for a zero)
        out = ns.zeros(p["target"].size, x.dtype)
        out[rows] = -picked
        return out.reshape(p["target"].shape)
    if x.ndim == 1:  # one row: no sum (0 - x * w, as PyTorch's 1-d kernel: +0 for a zero)
        loss = x.dtype.type(0) - picked[0] if picked.size else ns.zeros((), x.dtype)
    else:
        loss = _cascade_sum(rows, picked, p["target"].size, subtract=True)
    return loss / total_weight if reduction == "mean" else loss


def permuted_dense(a) -> bool:
    """True for an array that fills its memory without gaps or overlaps but not in C order (a permuted
    contiguous array): what PyTorch's empty_like copies the strides of."""
    if a.flags.c_contiguous:
        return False
    expected = a.itemsize
    for stride, size in sorted((st, n) for st, n in zip(a.strides, a.shape) if n != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _nll_bwd(m, g, a, b, r, p):
    """PyTorch's nll_loss_backward: grad = -(g / total_weight) (mean) or -g, written as weight * grad (or
    grad) at each kept row's class; every other entry is 0, whatever the sign of g."""
    if p.get("permuted"):
        raise RuntimeError("grad_input must be contiguous")
    if m is not ARRAY_MATH:  # (PyTorch's nll_loss_backward of (grad, input): its node and derivatives)
        return (m.nll_loss_backward(g, p),)
    shape = p["shape"]
    rows, cls, w, total_weight = p["terms"]
    ns = namespace_of(p["target"])
    count = p["target"].size
    written = ns.zeros((count, shape[0] if len(shape) == 1 else shape[1]), bool)
    written[rows, cls] = True
    scale = None
    if w is not None:
        scale = ns.zeros(written.shape, p["dtype"])
        scale[rows, cls] = w
    if len(shape) == 4:  # rows back to (N, C, H, W)
        n, c, h, width = shape
        written = ns.moveaxis(written.reshape(n, h, width, c), -1, 1)
        scale = None if scale is None else ns.moveaxis(scale.reshape(n, h, width, c), -1, 1)
    written = written.reshape(shape)
    reduction = p["reduction"]
    if reduction == "mean":
        g = -(g / m.const(total_weight))
    else:
        g = -g
        if reduction == "none" and len(shape) > 1:
            g = m.expand_dims(g, 1)
    if scale is not None:
        g = m.const(scale.reshape(shape)) * g
    else:
        g = m.broadcast_to(g, shape)
    return (m.where(written, g, 0),)


def _lerp_fwd(a, b, weight):
    """PyTorch's lerp kernel with a number weight: a fused multiply-add in every path (the vectorised one
    is written so, and the compiler contracts the scalar one), w * (b - a) + a for |w| < 0.5, else
    (w - 1) * (b - a) + b; float16 in float32 (measured bit for bit against torch 2.13)."""
    if a.dtype.kind not in "f":
        raise NotImplementedError(f'"lerp_kernel_scalar" not implemented for \'{_type_name(a.dtype)}\'')
    half = a.dtype is _F16
    x, y = (a.astype(_F32), b.astype(_F32)) if half else (a, b)
    w = x.dtype.type(weight)
    diff = y - x
    if type(x) is ndarray:
        out = vecmath.fma(w, diff, x) if abs(w) < 0.5 else vecmath.fma(w - x.dtype.type(1), diff, y)
    else:  # (CuPy: a multiply and an add)
        out = x + w * diff if abs(w) < 0.5 else y - diff * (x.dtype.type(1) - w)
    return out.astype(a.dtype, copy=False)


def _lerp_bwd(m, g, a, b, r, p):
    """LerpBackward0: grad * (1 - weight) and grad * weight (Scalar products: MulBackward1 under
    create_graph)."""
    w = p["weight"]
    return g * (1 - w), g * w


def _embedding_fwd(weight, indices, padding_idx, num_weights):
    """F.embedding: the rows of weight at indices (an index array of the caller's device), in a new array."""
    return weight[indices]


def _embedding_grad(g, indices, num_weights, padding_idx):
    """PyTorch's embedding_dense_backward: each row of g added into the row of a zero (num_weights, d)
    array that its index names, none into padding_idx."""
    ns = namespace_of(g)
    d = g.shape[-1]
    flat = indices.reshape(-1)
    rows = g.reshape(-1, d)
    if padding_idx >= 0:
        keep = flat != padding_idx
        flat, rows = flat[keep], rows[keep]
    out = ns.zeros((num_weights, d), dtype=g.dtype)
    ns.add.at(out, flat, rows)
    return out


def _embedding_bwd(m, g, a, b, r, p):
    if m is ARRAY_MATH:
        return (_embedding_grad(g, p["indices"], p["num_weights"], p["padding_idx"]),)
    return (m.embedding_dense_backward(g, p["indices"], p["num_weights"], p["padding_idx"]),)


def _embedding_double_bwd(m, gg, a, b, r, p):
    """embedding_dense_double_backward: the incoming gradient's rows at the indices, padding rows zero."""
    indices, padding = p["indices"], p["padding_idx"]
    if m is ARRAY_MATH:
        rows = gg[indices]
        if padding >= 0:
            rows = namespace_of(rows).where((indices == padding)[..., None], 0, rows)
        return (rows,)
    return (m.embedding(gg, indices, padding),)


def _masked_select_fwd(a, mask):
    """a's elements where mask (broadcast with a) is True, in order, as a 1-d array."""
    ns = namespace_of(a)
    shape = check_broadcast(mask.shape, a.shape)  # (PyTorch's order: the mask's size is "tensor a")
    return ns.broadcast_to(a, shape)[ns.broadcast_to(mask, shape)]


def _masked_select_bwd(m, g, a, b, r, p):
    """PyTorch's masked_select_backward: zeros of the broadcast shape with g scattered where mask is True
    (a MaskedScatterBackward0 under create_graph), summed to the input's shape (_fit)."""
    mask = p["mask"]
    shape = check_broadcast(p["shape"], mask.shape)
    if m is ARRAY_MATH:
        out = namespace_of(g).zeros(shape, dtype=g.dtype)
        out[namespace_of(g).broadcast_to(mask, shape)] = g
        return (out,)
    return (m.masked_scatter_into_zeros(g, namespace_of(mask).broadcast_to(mask, shape)),)


def _masked_scatter_fwd(a, b, mask):
    out = a.copy()
    out[mask] = b.reshape(-1)[:int(mask.sum())]
    return out


def _masked_scatter_bwd(m, gg, a, b, r, p):
    """masked_scatter's gradients: gg where mask is False for self; gg's selected elements, viewed as the
    source's shape, for the source (PyTorch's masked_scatter_backward, with as many as the mask selects)."""
    mask = p["mask"]
    if m is ARRAY_MATH:
        return namespace_of(gg).where(mask, 0, gg).astype(gg.dtype, copy=False), gg[mask]
    return m.where(mask, 0, gg), m.reshape(m.masked_select(gg, mask), p["source_shape"])


def _layer_norm_stats(x2, eps):
    """Each row's mean and 1 / sqrt(biased variance + eps) of a (M, N) array, in the array's dtype
    (computed in float64: PyTorch's RowwiseMoments adds in another order, so a last bit may differ)."""
    wide = x2.astype(xp.float64)
    mean = wide.mean(axis=1, keepdims=True)
    var = ((wide - mean) ** 2).mean(axis=1, keepdims=True)
    return mean.astype(x2.dtype), (1 / namespace_of(wide).sqrt(var + eps)).astype(x2.dtype)


def _layer_norm_bwd(m, g, a, b, r, p):
    """PyTorch's layer norm backward (LayerNormBackwardKernelImplInternal) on (M, N) rows: with
    ds = sum(dy * gamma * x), db = sum(dy * gamma), b = (db * mean - ds) * rstd**3 / N and
    c = -b * mean - db * rstd / N, dx = rstd * dy * gamma + b * x + c; dgamma = sum over rows of
    dy * (x - mean) * rstd, dbeta = sum of dy. Under create_graph the same from differentiable ops, mean
    and rstd recomputed from the input so that higher derivatives see them depend on it."""
    x, weight, bias, shape, eps = p["input"], p["weight"], p["bias"], p["shape"], p["eps"]
    n = _numel(p["normalized_shape"])
    if m is ARRAY_MATH:
        x2 = x._data.reshape(-1, n)
        half = x2.dtype is _F16
        if half:
            x2, g = x2.astype(_F32), g.astype(_F32)
        dy = g.reshape(-1, n)
        gamma = None if weight is None else weight._data.reshape(n).astype(x2.dtype)
        mean, rstd = p["mean"], p["rstd"]
        dyg = dy if gamma is None else dy * gamma
        ds = (dyg * x2).sum(axis=1, keepdims=True)
        db = dyg.sum(axis=1, keepdims=True)
        scale = x2.dtype.type(1 / n)
        bb = (db * mean - ds) * rstd * rstd * rstd * scale
        c = -bb * mean - db * rstd * scale
        dx = (rstd * dyg + bb * x2 + c).astype(x._data.dtype).reshape(shape)
        dgamma = None if weight is None or not weight._rg else (
            (dy * (x2 - mean) * rstd).sum(axis=0).astype(weight._data.dtype).reshape(weight._data.shape))
        dbeta = None if bias is None or not bias._rg else (
            dy.sum(axis=0).astype(bias._data.dtype).reshape(bias._data.shape))
        return dx, dgamma, dbeta
    x2 = m.reshape(x, (-1, n))
    dy = m.reshape(g, (-1, n))
    mean = m.mean_keep(x2)
    centred = x2 - mean
    rstd = m.rsqrt(m.mean_keep(centred * centred) + eps)
    xhat = centred * rstd
    dyg = dy if weight is None else dy * m.reshape(weight, (n,))
    dx = rstd * (dyg - m.mean_keep(dyg) - xhat * m.mean_keep(dyg * xhat))
    dgamma = None if weight is None else m.reshape(m.sum(dy * xhat, (0,), False), weight.shape)
    dbeta = None if bias is None else m.reshape(m.sum(dy, (0,), False), bias.shape)
    return m.reshape(dx, shape), dgamma, dbeta


def _addcmul_values(s, a, b, value):
    """PyTorch's addcmul kernel: s + value * a * b as one fused multiply-add of (value * a) and b onto s,
    in every path (measured bit for bit against torch 2.13); integers in integer arithmetic."""
    if s.dtype.kind != "f":
        return s + value * a * b
    v = s.dtype.type(value)
    if type(s) is ndarray:
        return vecmath.fma(v * a, b, s).astype(s.dtype, copy=False)
    return s + v * a * b


def _addcdiv_values(s, a, b, value):
    """PyTorch's addcdiv kernel: s + value * a / b, rounded after each step."""
    v = s.dtype.type(value)
    return s + v * a / b


def _addcmul_bwd(m, g, a, b, r, p):
    """AddcmulBackward0: grad for self, grad * (tensor2 * value) and grad * (tensor1 * value)."""
    t1, t2, value = p["tensor1"], p["tensor2"], p["value"]
    if m is ARRAY_MATH:
        t1, t2 = t1._data, t2._data
    return g, g * (t2 * value), g * (t1 * value)


def _addcdiv_bwd(m, g, a, b, r, p):
    """AddcdivBackward0: grad, grad * (value / tensor2), -grad * (value * tensor1 / (tensor2 * tensor2))."""
    t1, t2, value = p["tensor1"], p["tensor2"], p["value"]
    if m is ARRAY_MATH:
        t1, t2 = t1._data, t2._data
    return g, g * (value / t2), -g * (value * t1 / (t2 * t2))


def _log_sigmoid_fwd(a):
    """PyTorch's log_sigmoid kernel: min(a, 0) - log1p(exp(-|a|))."""
    ns = namespace_of(a)
    with xp.errstate(over="ignore"):
        return (ns.minimum(a, 0) - ns.log1p(ns.exp(-ns.abs(a)))).astype(a.dtype, copy=False)


def _log_sigmoid_grad(g, a):
    """PyTorch's log_sigmoid_backward kernel: g * (max_deriv - sign * z / (1 + z)), z = exp(-|a|), where
    max_deriv is 1 and sign 1 for a negative a, else 0 and -1."""
    ns = namespace_of(a)
    z = ns.exp(-ns.abs(a))
    t = z / (1 + z)
    return (g * ns.where(a < 0, 1 - t, t)).astype(g.dtype, copy=False)  # (0 - -1 * t is t exactly)


def _log_sigmoid_double_bwd(m, gg, a, b, r, p):
    """LogSigmoidBackwardBackward0 of (grad, input): the grad's gradient is log_sigmoid_backward of the
    incoming one, the input's PyTorch's log_sigmoid_double_backward(gg * grad, input): * (z - 1) * z for
    z = sigmoid(input)."""
    z = m.sigmoid(b)
    return m.log_sigmoid_backward(gg, b), gg * a * (z - 1) * z


def _hardtanh_fwd(a, min_val, max_val):
    """hardtanh (and relu6): a clamped to [min_val, max_val], in a's dtype (integers too), nan kept."""
    return xp.minimum(xp.maximum(a, min_val), max_val).astype(a.dtype, copy=False)


def _hardtanh_grad(g, a, min_val, max_val):
    """PyTorch's hardtanh_backward: 0 where a <= min_val or a >= max_val, else g (a nan input passes g)."""
    return namespace_of(g).where((a <= min_val) | (a >= max_val), 0, g).astype(g.dtype, copy=False)


def _leaky_grad(g, a, negative_slope):
    """leaky_relu's backward of arrays (its row's), the forward of LeakyReluBackwardBackward0."""
    return ROWS["leaky_relu"].backward(ARRAY_MATH, g, a, None, None, {"negative_slope": negative_slope})[0]


def _nll_grad(g, x, p):
    """nll_loss_backward(grad, input) of arrays, as _nll_bwd computes it: the forward of the op a gradient
    taken with create_graph records (NllLossBackwardBackward0). The input gives only its shape."""
    # (contiguous, as PyTorch's: a (N, C, H, W) gradient is made in rows, then moved back)
    return namespace_of(g).ascontiguousarray(_nll_bwd(ARRAY_MATH, g, None, None, None, p)[0])


def _nll_double_bwd(m, gg, a, b, r, p):
    """PyTorch's derivatives of nll_loss_backward(grad, input): nll_loss(gg) for grad, zeros for the input."""
    return m.nll_loss(gg, p), m.zeros(gg)


def _index_grad_fwd(g, shape, index):
    ns = namespace_of(g)
    out = ns.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        out[index] = g
    else:
        ns.add.at(out, index, g)
    return out


def _scatter_fwd(a, src, index):
    out = a.copy()
    out[index] = src
    return out


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


def _setitem_fwd(x, v, index):
    out = x.copy()
    out[index] = v
    return out


def _squeeze_fwd(x, dim=None, **_):
    if dim is None:
        return x.squeeze()
    if not x.ndim:  # (a 0-d tensor takes dim 0 or -1, and stays itself)
        _dims(dim, 0)
        return x.view()
    dims = tuple(d for d in _dims(dim, x.ndim) if x.shape[d] == 1)
    return x.squeeze(axis=dims) if dims else x


def _unsqueeze_fwd(x, dim, **_):
    return xp.expand_dims(x, _dim(dim, x.ndim + 1))


def can_view(array, shape):
    """True if `array` can take `shape` without a copy (its strides allow it), as PyTorch's view requires."""
    try:
        array.reshape(shape, copy=False)
    except ValueError:
        return False
    return True


def _view_shape(x, shape):
    """The shape a view/reshape asks for, with -1 filled in (and PyTorch's errors for impossible shapes)."""
    return _view_fwd(xp.empty(x.shape, dtype=bool), shape).shape


def _view_fwd(x, shape, **_):
    shape = tuple(shape)
    known = 1
    free = None
    for i, n in enumerate(shape):
        if n == -1:
            if free is not None:
                raise RuntimeError("only one dimension can be inferred")
            free = i
        elif n < 0:
            sizes = ", ".join(map(str, shape))
            raise RuntimeError(f"invalid shape dimension {n} at index {i} of shape [{sizes}]")
        else:
            known *= n
    size = x.size
    if (free is None and known != size) or (free is not None and (known == 0 or size % known)):
        asked = ", ".join(str(n) for n in shape)
        raise RuntimeError(f"shape '[{asked}]' is invalid for input of size {size}")
    return x.reshape(shape)


def _transpose_fwd(x, dim0, dim1):
    if x.ndim == 0:
        return x
    return xp.swapaxes(x, _dim(dim0, x.ndim), _dim(dim1, x.ndim))


def _t_fwd(x):
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return x.T


def check_permute(ndim, dims):
    """permute's first check, before any dim is looked at."""
    if len(dims) != ndim:
        raise RuntimeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the "
            f"desired ordering of dimensions i.e. input.dim() = {ndim} is not equal to len(dims) = "
            f"{len(dims)}"
        )


def _permute_fwd(x, dims):
    check_permute(x.ndim, dims)
    dims = tuple(_dim(d, x.ndim) for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return x.transpose(dims)


def _type_string(x):
    """PyTorch's toString of a tensor's type: the legacy name ('torch.FloatTensor'), but for bool, which
    has none, 'CPUBoolType'."""
    cuda = backend.is_device_array(x)
    d = dtypes.of_array(x)
    if d.name == "bool":
        return ("CUDA" if cuda else "CPU") + "BoolType"
    return ("torch.cuda." if cuda else "torch.") + d.legacy


def _expand_fwd(x, shape):
    """broadcast_to with PyTorch's inferExpandGeometry checks and messages (-1 keeps an existing size)."""
    sizes = ", ".join(map(str, shape))
    have = ", ".join(map(str, x.shape))
    if len(shape) < x.ndim:
        raise RuntimeError(
            f"expand({_type_string(x)}{{[{have}]}}, "
            f"size=[{sizes}]): the number of sizes provided ({len(shape)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({x.ndim})"
        )
    target = list(shape)
    numel = 1
    for i in range(len(shape) - 1, -1, -1):
        d = x.ndim - len(shape) + i
        size = x.shape[d] if d >= 0 else 1
        if target[i] == -1:
            if d < 0:
                raise RuntimeError(
                    "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension "
                    f"{i}"
                )
            target[i] = size
        elif size != target[i] and size != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[i]}) must match the existing size ({size}) at "
                f"non-singleton dimension {i}.  Target sizes: [{sizes}].  Tensor sizes: [{have}]"
            )
        numel *= target[i]
    if numel > 1 << 16:
        # The view itself costs nothing, but everything done with it (clone, arithmetic, a reduction) works on
        # every element: a view of more elements than one tensor may have is refused here, as a tensor is.
        limits.check_tensor_size(numel, x.itemsize)
    return broadcast_view(x, tuple(target))


def broadcast_view(x, shape):
    """x broadcast to shape as a view whose repeated elements share memory, as PyTorch's expand: numpy's
    broadcast_to is read-only, PyTorch's expanded tensor can be filled (in-place arithmetic is refused
    by check_no_overlap, as PyTorch refuses it). Backward passes use it too (sum's gradient is one)."""
    if type(x) is not ndarray and not backend.is_device_array(x):
        x = asarray(x)  # (a 0-d gradient may be a numpy scalar, whose broadcast would be read-only)
    if tuple(shape) == x.shape:
        return x.view()
    out = namespace_of(x).broadcast_to(x, shape)
    if type(out) is ndarray and x.flags.writeable:
        out = xp.lib.stride_tricks.as_strided(x, out.shape, out.strides)
    return out


OVERLAP_MESSAGE = (
    "unsupported operation: more than one element of the written-to tensor refers to a single memory "
    "location. Please clone() the tensor before performing the operation."
)


def check_no_overlap(array):
    """PyTorch's refusal to compute into a tensor whose elements share memory (an expanded one)."""
    strides = array.strides
    if 0 in strides and array.size and any(st == 0 and n > 1 for st, n in zip(strides, array.shape)):
        raise RuntimeError(OVERLAP_MESSAGE)


def _pow_exp_grad(m, g, base, exponent, r):
    """d/d exponent of base**exponent: g * (result * log(base)), as PyTorch's pow_backward_exponent
    groups it, with 0, not nan, where base == 0 and exponent >= 0. `base` is a tensor (PowBackward1) or
    a Python number (PowBackward2)."""
    if isinstance(base, (int, float)):
        if base > 0:
            return g * _half_times(r, math.log(base))
        return g * m.where(m.data(exponent) >= 0, 0, r * (float("-inf") if base == 0 else float("nan")))
    zero = m.data(base) == 0
    if not zero.any() and m is ARRAY_MATH:  # (PyTorch's at::where is recorded whether or not a base is 0)
        return g * (r * m.log(base))
    return g * m.where(zero & (m.data(exponent) >= 0), 0, r * m.log(base))


def _pow_base_grad(m, g, base, exponent):
    """d/d base of base**exponent (a tensor exponent): g * (exponent * base ** (exponent - 1)), and 0
    where the exponent is 0 (PyTorch's pow_backward_self; not 0 * inf = nan at a zero base)."""
    grad = g * (exponent * m.pow(base, exponent - 1))
    zero = m.data(exponent) == 0
    # (PyTorch's at::where, recorded whether or not an exponent is 0)
    return m.where(zero, 0, grad) if zero.any() or m is not ARRAY_MATH else grad


def _pow_scalar_bwd(m, g, a, b, r, p):
    """PyTorch's pow_backward: grad * (exponent * self.pow(exponent - 1)), three ops."""
    e = p["exponent"]
    if e == 0:
        return (m.zeros(g),)
    return (g * _half_times(m.pow(a, e - 1), e),)


def _pow_scalar_fwd(x, exponent):
    if x.dtype.kind in "biu" and isinstance(exponent, int) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if x.dtype.kind == "b" and isinstance(exponent, int):  # (bool ** bool stays bool; ** int is int64)
        if type(exponent) is bool:
            return x.copy() if exponent else namespace_of(x).ones_like(x)
        x = x.astype(xp.int64)
    if x.dtype.kind in "biu" and isinstance(exponent, float):
        x = x.astype(dtypes.defaults.float.np)
    if x.dtype.kind == "f":
        return _float_pow_scalar(x, exponent)
    return x**exponent


def _float_pow_scalar(x, e):
    """A float tensor to a number, as PyTorch's CPU kernel computes it: x*x, x*x*x, 1/(x*x), 1/x,
    1/sqrt(x) and sqrt(x) for 2, 3, -2, -1, -0.5 and 0.5, else pow, which for float32 is computed in
    float64 and rounded once (PyTorch's powf agrees with that on ~98% of inputs; numpy's float32 power, a
    vectorised approximation, on ~80%). float16 is all of that in float32, then rounded once more."""
    if x.dtype is _F16:
        # PyTorch converts the exponent to float16 (refusing one it overflows), then computes in float32 and
        # rounds once: x ** 0.3 is x ** 0.300048828125
        with xp.errstate(over="ignore"):
            half = float(_F16.type(e))
        if math.isinf(half) and not math.isinf(e):
            raise RuntimeError("value cannot be converted to type c10::Half without overflow")
        return _in_float32(_float_pow_scalar, x, half)
    if e == 2:
        return x * x
    if e == 3:
        return x * x * x
    one = x.dtype.type(1)
    if e == -2:
        return one / (x * x)
    if e == -1:
        return one / x
    ns = namespace_of(x)
    if e == -0.5:
        return one / ns.sqrt(x)
    if e == 0.5:
        return ns.sqrt(x)
    if x.dtype.itemsize < 8:
        return (x.astype(xp.float64) ** float(e)).astype(x.dtype)
    return x**e


def _no_bool(kernel, a, b):
    """PyTorch has no bool kernel for pow, remainder, floor_divide: two bool operands are an error."""
    def is_bool(v):  # (a Python bool operand counts as a bool tensor)
        return type(v) is bool or getattr(v, "dtype", None) == _BOOL

    if is_bool(a) and is_bool(b):
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def _check_zero_divisor(a, b):
    """An integer division with a 0 divisor among the elements it computes: PyTorch's ZeroDivisionError
    (an empty result divides nothing)."""
    if xp.any(b == 0) and _numel(xp.broadcast_shapes(_arr(a).shape, _arr(b).shape)):
        raise RuntimeError("ZeroDivisionError")


def _floor_divide(a, b):
    _no_bool("div_floor_cpu", a, b)
    if getattr(a, "dtype", None) is not None and a.dtype.kind in "iub" or isinstance(a, int):
        if _arr(b).dtype.kind in "iub":
            _check_zero_divisor(a, b)
    if getattr(a, "dtype", None) is _F16 and getattr(b, "dtype", None) is _F16 and hasattr(b, "shape"):
        return _half_floor_divide(a, b)
    return xp.floor_divide(a, b)


def _half_floor_divide(a, b):
    """PyTorch's floor division of float16 (div_floor_floating) in float16 arithmetic, step by step: from
    fmod, (a - mod) / b, one less where mod and b differ in sign, then floored (and rounded up past .5);
    a / b for a 0 divisor. numpy's float16 floor_divide, computed in float32, differed for large
    quotients (measured against torch 2.13, for two tensors: a number divisor is another kernel there)."""
    ns = namespace_of(a)
    one = _F16.type(1)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        quotient = a / b
        mod = ns.fmod(a, b)
        div = (a - mod) / b
        div = ns.where((mod != 0) & ((b < 0) != (mod < 0)), div - one, div)
        floor = ns.floor(div)
        floor = ns.where(div - floor > _F16.type(0.5), floor + one, floor)
        floor = ns.where(div == 0, ns.copysign(ns.zeros_like(div), quotient), floor)
        return ns.where(b == 0, quotient, floor).astype(_F16, copy=False)


def _rounded_divide(a, b, mode):
    """div(rounding_mode=...): floor as floor_divide; trunc rounds toward zero (integers stay integers)."""
    if mode == "floor":
        return _floor_divide(a, b)
    _no_bool("div_trunc_cpu", a, b)
    if _arr(a).dtype.kind in "biu" and _arr(b).dtype.kind in "biu":
        q = _floor_divide(a, b)
        return q + ((xp.remainder(a, b) != 0) & ((a < 0) != (b < 0)))
    return xp.trunc(_true_divide(a, b))


def _remainder(a, b):
    _no_bool("remainder_cpu", a, b)
    a_kind, b_kind = _arr(a).dtype.kind, _arr(b).dtype.kind
    if a_kind in "iub" and b_kind in "iub":
        _check_zero_divisor(a, b)
        return xp.remainder(a, b)
    # PyTorch's float remainder: fmod, then move into the divisor's sign; an exact multiple keeps fmod's
    # signed zero (-7.5 % 1.5 is -0.), where numpy's remainder gives +0.
    mod = xp.fmod(a, b)
    wrong_side = (mod != 0) & ((b < 0) != (mod < 0))
    return xp.where(wrong_side, mod + b, mod)


def _floor_quotient(m, a, b):
    """a.div(b, rounding_mode="floor") in remainder's backward: floor division as PyTorch's kernel does it
    (from fmod, so an a / b that rounds up to a whole number is not floored to it)."""
    if m is ARRAY_MATH:
        with xp.errstate(divide="ignore", invalid="ignore"):
            return _floor_divide(a, b)
    return m.floor(a / b)


def _arr(v):
    """An operand as an array: a Python number becomes a numpy one; an array (numpy or GPU) is itself."""
    return v if hasattr(v, "dtype") else xp.asarray(v)


def _div_backward(m, g, a, b, r, p):
    """a / b's gradients: g / b, and -g * a / b / b (none for a number a, or one that is all zeros)."""
    return g / b, _nz(a) and -g * (a / b / b)


def _true_divide(a, b):
    """a / b, where integer and bool arrays divided by anything but a float array become the default float
    dtype first (numpy would make float64 of them)."""
    a_arr = not isinstance(a, _PY_NUMBERS)  # (an operand is an array, numpy or GPU, or a Python number)
    b_arr = not isinstance(b, _PY_NUMBERS)
    a_int = a_arr and a.dtype.kind in "biu"
    b_int = b_arr and b.dtype.kind in "biu"
    if a_int and (b_int or not b_arr):
        a = a.astype(dtypes.defaults.float.np)
    if b_int and (a_int or not a_arr):
        b = b.astype(dtypes.defaults.float.np)
    return a / b


def _float_pair(ufunc, kernel=None):
    """A two-tensor op on floats: atan2 makes integer and bool inputs the default float dtype first, as
    PyTorch promotes them; hypot and logaddexp (a `kernel` name) have no integer kernel."""

    def forward(a, b):
        if a.dtype.kind in "biu" and b.dtype.kind in "biu" and kernel:  # (a and b share PyTorch's dtype)
            raise NotImplementedError(f'"{kernel}" not implemented for \'{_type_name(a.dtype)}\'')
        if a.dtype.kind in "biu":
            a = a.astype(dtypes.defaults.float.np)
        if b.dtype.kind in "biu":
            b = b.astype(dtypes.defaults.float.np)
        return ufunc(a, b)

    return forward


def _atan2_bwd(m, g, a, b, r, p):
    """PyTorch's atan2_backward: recip = 1 / (a * a + b * b); (g * b * recip, g * -a * recip)."""
    recip = m.reciprocal(a * a + b * b)
    return g * b * recip, g * -a * recip


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
    keep = xp.ones_like(x, dtype=bool)
    if lo is not None:
        keep &= x >= lo
    if hi is not None:
        keep &= x <= hi
    return (m.where(keep, g, 0),)


def _minmax_pair_bwd(wins):
    """maximum/minimum: the gradient goes to each input but where it loses, and is split evenly on ties
    (as in PyTorch: a nan, which neither wins nor loses, passes it to both)."""

    def backward(m, g, a, b, r, p):
        a, b = m.data(a), m.data(b)
        ties = a == b
        half = g / 2
        zero = 0
        return (m.where(ties, half, m.where(wins(b, a), zero, g)),
                m.where(ties, half, m.where(wins(a, b), zero, g)))

    return backward


def _where_fwd(x, y, condition):
    if type(x) is HalfOperand or type(y) is HalfOperand:  # (a large int: where converts it to float16)
        x, y = (_F16.type(v.number) if type(v) is HalfOperand else v for v in (x, y))
    return xp.where(condition, x, y)


def _stack_fwd(arrays, dim=0, **_):
    if not arrays:
        raise RuntimeError("stack expects a non-empty TensorList")
    first = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != first:
            raise RuntimeError(
                "stack expects each tensor to be equal size, but got "
                f"[{', '.join(map(str, first))}] at entry 0 "
                f"and [{', '.join(map(str, a.shape))}] at entry {i}"
            )
    return xp.stack(arrays, axis=_dim(dim, arrays[0].ndim + 1))


def legacy_empty(shape) -> bool:
    """A 1-d empty tensor, which cat skips (PyTorch's legacy rule) in its shape checks and its result."""
    return len(shape) == 1 and shape[0] == 0


def _cat_fwd(arrays, dim=0, **_):
    if not arrays:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    used = [(i, a) for i, a in enumerate(arrays) if not legacy_empty(a.shape)] or [(0, arrays[0])]
    first = used[0][1].shape
    d = _dim(dim, len(first))
    for i, a in used[1:]:
        if a.ndim != len(first):
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {len(first)} and {a.ndim}"
            )
        for k, (n1, n2) in enumerate(zip(first, a.shape)):
            if k != d and n1 != n2:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {n1} but got size "
                    f"{n2} "
                    f"for tensor number {i} in the list."
                )
    total = sum(a.size for _, a in used)
    limits.check_tensor_size(total, arrays[0].itemsize)
    return xp.concatenate([a for _, a in used], axis=d)


_F16, _F32, _F64, _BOOL = xp.dtype("float16"), xp.dtype("float32"), xp.dtype("float64"), xp.dtype(bool)
_OPMATH_UFUNCS = (xp.multiply, xp.true_divide)  # (HalfOperand's: the kernels that keep a number in float32)
_PY_NUMBERS = (int, float)  # (bool is an int)
_ROUNDED_BLOCK = 1 << 16  # elements of float64 scratch per step of a large float32 transcendental


def _rounded_once(ufunc, scalar_fn):
    """A float32 transcendental function that rounds once, as PyTorch's kernels (nearly) do.

    numpy's float32 exp, log, tanh, ... are often 1 ulp off the correctly rounded value (its exp in 4 of 10
    cases), which shows in printed digits. Computing in float64 and rounding to float32 matches PyTorch far
    more often. A 1-element tensor goes through Python's math module, which is faster than the ufunc. A large
    contiguous one is computed _ROUNDED_BLOCK elements at a time through one small float64 buffer, so the
    float64 values never take twice the result's memory (the digits are the same as all at once).
    """

    def forward(a):
        dtype = a.dtype
        if dtype is not _F32 and dtype != _F32:
            return ufunc(a)
        size = a.size
        if size == 1 and type(a) is ndarray:  # (a GPU array stays on the GPU: the ufunc below)
            try:
                value = scalar_fn(a.item())
            except (ValueError, OverflowError):  # outside the domain: numpy's nan/inf instead of an error
                pass
            else:
                shape = a.shape
                if shape == (1,):
                    out = a.copy()  # (quicker than building an array from a list)
                    out[0] = value
                    return out
                return xp.array(value, _F32).reshape(shape)
        if size <= _ROUNDED_BLOCK or not a.flags.c_contiguous or type(a) is not ndarray:
            return ufunc(a, dtype=_F64).astype(_F32)
        out = xp.empty(a.shape, _F32)
        src, dst = a.reshape(-1), out.reshape(-1)  # views: both are C-contiguous
        wide = xp.empty(_ROUNDED_BLOCK, _F64)
        for start in range(0, size, _ROUNDED_BLOCK):
            stop = min(start + _ROUNDED_BLOCK, size)
            part = wide[: stop - start]
            ufunc(src[start:stop], out=part, dtype=_F64)
            dst[start:stop] = part
        return out

    return forward


_exp = _rounded_once(xp.exp, math.exp)
_expm1 = _rounded_once(xp.expm1, math.expm1)
_log = _rounded_once(xp.log, math.log)
_log1p = _rounded_once(xp.log1p, math.log1p)
_sin = _rounded_once(xp.sin, math.sin)
_cos = _rounded_once(xp.cos, math.cos)
_tan = _rounded_once(xp.tan, math.tan)
_tanh = _rounded_once(xp.tanh, math.tanh)
_sinh = _rounded_once(xp.sinh, math.sinh)
_cosh = _rounded_once(xp.cosh, math.cosh)
_asin = _rounded_once(xp.arcsin, math.asin)
_acos = _rounded_once(xp.arccos, math.acos)
_atan = _rounded_once(xp.arctan, math.atan)
_log2 = _rounded_once(xp.log2, math.log2)
_exp2 = _rounded_once(xp.exp2, lambda v: 2.0 ** v)
_log10 = _rounded_once(xp.log10, math.log10)
_LN2 = math.log(2)
_LN10 = math.log(10)


def _rsqrt(a):
    """1 / sqrt(a); float16 as PyTorch's kernel: its vectorised loop (blocks of 32 elements) computes in
    float32 and rounds once, its scalar tail rounds the square root to float16 first."""
    ns = namespace_of(a)
    stepwise = 1 / ns.sqrt(a)
    if a.dtype is not _F16 or a.size < 32:
        return stepwise
    return _vector_blocks(_in_float32(lambda x: 1 / ns.sqrt(x), a), stepwise)


def _vector_blocks(wide, stepwise):
    """A float16 result of PyTorch's CPU kernels that split the elements (in memory order) between a
    vectorised loop over blocks of 32, computing in float32 (`wide`), and a scalar loop over the n % 32
    left, in float16 arithmetic (`stepwise`)."""
    n = stepwise.size
    flat = wide.reshape(-1).copy()
    tail = n - n % 32
    flat[tail:] = stepwise.reshape(-1)[tail:]
    return flat.reshape(stepwise.shape)


def _keep_int(fn):
    """floor/ceil/round of an integer tensor is a copy of it, still integer (numpy would make floats)."""
    return lambda a: a.copy() if a.dtype.kind in "biu" else fn(a)


def _sigmoid_fwd(a):
    if a.dtype is _F16:  # (PyTorch's kernel computes float16 in float32; its backward stays in float16)
        return _in_float32(_sigmoid_fwd, a)
    if _vec_f32(a) and a.flags.c_contiguous:
        return vecmath.sigmoid(a)
    with xp.errstate(over="ignore"):  # exp(-a) overflows to inf for very negative a, and the result is 0
        return 1 / (1 + xp.exp(-a))


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _clamp_tensor_bwd(m, g, a, b, r, p):
    """clamp with tensor bounds (PyTorch's clamp_backward_min_max): where min > max the result is max, and
    the gradient goes to max."""
    x = m.data(a)
    lo, hi = p["min"], p["max"]
    zero = 0
    if lo is not None and hi is not None:
        inside = (x >= lo) & (x <= hi)
        to_lo = (x < lo) & (lo < hi)
        to_hi = (x > hi) | (hi < lo)
    elif lo is not None:
        inside, to_lo, to_hi = x >= lo, x < lo, None
    else:
        inside, to_lo, to_hi = x <= hi, None, x > hi
    return (
        m.where(inside, g, zero),
        None if to_lo is None else m.where(to_lo, g, zero),
        None if to_hi is None else m.where(to_hi, g, zero),
    )


_PROD_LANES = {_F16: 16, _F32: 8, _F64: 4}  # (Vectorized<T>::size() in PyTorch's AVX2 build)


def _prod_fwd(x, dims=None, keepdim=False, **_):
    if x.dtype.kind == "f" and type(x) is ndarray and x.size and x.ndim:
        return _vec_prod(x, dims, keepdim)
    axis = None if dims is None else dims
    return x.prod(axis=axis, keepdims=keepdim, dtype=xp.int64 if x.dtype.kind in "biu" else None)


def _vec_prod(x, dims, keepdim):
    """A float product as PyTorch's CPU kernel (binary_kernel_reduce_vec, its AVX2 build) computes it, each
    multiplication rounded to the dtype (it has no wider accumulator for prod): along an outer dim, in order;
    along the innermost (or over everything), 4 accumulators of L lanes (16 for float16, 8 for float32, 4
    for float64) over blocks of 4L elements, multiplied together, then lane by lane, then the n % 4L
    elements left in order (measured against torch 2.13)."""
    lanes_n = _PROD_LANES[x.dtype]
    block = 4 * lanes_n
    whole = dims is None or len(dims) == x.ndim
    d = x.ndim - 1 if whole else dims[0]
    rows = x.reshape(1, -1) if whole else xp.moveaxis(x, d, -1).reshape(-1, x.shape[d])
    count = rows.shape[1] // block if whole or d == x.ndim - 1 else 0
    head = rows[:, : count * block]
    if count:
        acc = xp.multiply.accumulate(head.reshape(len(rows), count, 4, lanes_n), axis=1)[:, -1]
        lanes = (acc[:, 0] * acc[:, 1]) * (acc[:, 2] * acc[:, 3])
        rows = xp.concatenate([xp.multiply.accumulate(lanes, axis=1)[:, -1:], rows[:, count * block:]],
                              axis=1)
    out = xp.multiply.accumulate(rows, axis=1)[:, -1]
    if whole:
        return out.reshape((1,) * x.ndim if keepdim else ())
    shape = tuple(1 if i == d else n for i, n in enumerate(x.shape) if keepdim or i != d)
    return out.reshape(shape)


def _prod_bwd(m, g, a, b, r, p):
    """PyTorch's prod_backward: g * (result / x) where no entry is 0; else the product of the other
    entries, as prod_safe_zeros_backward builds it (exclusive cumulative products from both ends, which
    keep the signs of zeros), or zeros for a whole-tensor product with several zeros (grad mode off)."""
    shape, dims, keepdim = p["shape"], p["dims"], p["keepdim"]
    if not shape:
        return (g,)
    zero = m.data(a) == 0
    if m is not ARRAY_MATH and not zero.any():
        if not keepdim and len(dims) < len(shape):  # (PyTorch's: unsqueezed, broadcast by the products)
            g, r = m.expand_dims(g, dims[0]), m.expand_dims(r, dims[0])
        return (g * (r / a),)
    g = _expand_reduced(m, g, shape, dims, keepdim)
    if not zero.any():
        return (g * (_expand_reduced(m, r, shape, dims, keepdim) / a),)
    whole = p.get("whole", len(dims) == len(shape))
    if (_numel(shape) if whole else shape[dims[0]]) == 1:  # (prod_safe_zeros_backward: grad itself)
        return (m.reshape(g, shape) if whole else g,)
    if m is ARRAY_MATH:
        if whole and zero.sum() > 1:
            return (namespace_of(a).zeros_like(a),)
        return (g * _exclusive_products(a, None if whole else dims[0]),)
    if whole:  # (PyTorch multiplies the flattened input's products, then views them as the input)
        return (m.reshape(m.reshape(g, (-1,)) * _others_product(m, a, None), shape),)
    return (g * _others_product(m, a, dims[0]),)


def _exclusive_products(a, dim):
    """For each entry of a (flattened when dim is None), the product of the others along dim: the
    products of those before it times those after it, each a cumulative product in order."""
    ns = namespace_of(a)
    x = a.reshape(-1) if dim is None else a
    d = 0 if dim is None else dim
    n = x.shape[d]
    ones = ns.ones(x.shape[:d] + (1,) + x.shape[d + 1:], x.dtype)
    before = _cumprod_fwd(ns.concatenate([ones, ns.take(x, ns.arange(n - 1), axis=d)], axis=d), d)
    after = ns.flip(_cumprod_fwd(ns.concatenate([ones, ns.flip(ns.take(x, ns.arange(1, n), axis=d), axis=d)],
                                                axis=d), d), axis=d)
    return (before * after).reshape(a.shape)


_OTHERS_LIMIT = 1 << 22  # elements of the (..., n, n) table below; past it the gradient is a constant


def _others_product(m, a, dim):
    """The product of the other entries along dim (of all of them, flattened, when dim is None), as a
    differentiable expression of every entry (create_graph): an (n, n) table of the entries with the
    diagonal set to 1, multiplied along its rows. Past _OTHERS_LIMIT it is computed as constants
    instead (its second derivative is then 0 where PyTorch's is not)."""
    x = m.reshape(a, (-1,)) if dim is None else m.swapaxes(a, dim, -1)
    lead, n = m.data(x).shape[:-1], m.data(x).shape[-1]
    if _numel(lead) * n * n > _OTHERS_LIMIT:
        products = _exclusive_products(m.data(a), dim)
        return m.const(products.reshape(-1) if dim is None else products)
    table = m.broadcast_to(m.expand_dims(x, -2), (*lead, n, n))
    eye = xp.eye(n, dtype=bool)
    if type(m.data(a)) is not ndarray:
        eye = backend.to_device(eye, "cuda")
    others = m.prod(m.where(eye, 1, table), (len(lead) + 1,), False)
    return others if dim is None else m.swapaxes(others, dim, -1)


def _var_fwd(x, dims=None, keepdim=False, correction=1, **_):
    if x.dtype is _F16:  # (PyTorch accumulates float16 in float32: no overflow of the squares)
        return _in_float32(_var_fwd, x, dims, keepdim, correction)
    count = _count(x.shape, dims)
    if count == 0:  # (numpy would warn on stderr)
        return namespace_of(x).full(_reduced_shape(x.shape, dims, keepdim), xp.nan, dtype=x.dtype)
    if count <= correction:  # no degree of freedom left: PyTorch divides by 0 (inf, or nan for 0 / 0)
        dev = x - x.mean(axis=dims, keepdims=True)
        return (dev * dev).sum(axis=dims, keepdims=keepdim) / x.dtype.type(0)
    if type(x) is ndarray:
        return _two_pass_var(x, dims, keepdim, correction).astype(x.dtype)
    return x.var(axis=dims, ddof=correction, keepdims=keepdim)


def _two_pass_var(x, dims, keepdim, correction):
    """PyTorch's CPU variance of float and double, in double (std takes its square root there): for a single
    result (std_var_all_cpu), the mean in the tensor's dtype and PyTorch's order, then the squared deviations
    from it added one by one in double; for several results, Welford's running mean and sum of squares in
    double along each row (WelfordOps), elements in memory order. Both divide by (count - correction)."""
    if not x.size:  # (no elements, but rows to reduce: a result with no elements either)
        return xp.zeros(_reduced_shape(x.shape, dims, keepdim))
    axes = tuple(range(x.ndim)) if dims is None else tuple(sorted(d % x.ndim for d in dims)) if x.ndim else ()
    kept = [d for d in range(x.ndim) if d not in axes]
    rows = x.transpose(kept + list(axes)).reshape([x.shape[d] for d in kept] + [-1])
    n = rows.shape[-1]
    if rows.size == n or n > 4096:  # (past 4096 a row, the two-pass result stands in for Welford's)
        # (one result: the mean of all the elements, as PyTorch's iterator drops the size-1 dims kept)
        mean = (_mean_fwd(x) if rows.size == n else _mean_fwd(x, axes, True)) if axes else x
        mean = xp.asarray(mean, xp.float64)
        if mean.ndim:
            mean = mean.transpose(kept + list(axes)).reshape(rows.shape[:-1] + (1,))
        dev = rows.astype(xp.float64) - mean
        total = xp.cumsum(dev * dev, axis=-1)[..., -1] if n else xp.zeros(rows.shape[:-1])
    else:
        values = rows.astype(xp.float64)
        mean = xp.zeros(rows.shape[:-1])
        total = xp.zeros(rows.shape[:-1])
        for j in range(n):
            v = values[..., j]
            delta = v - mean
            mean = mean + delta / (j + 1)
            total = total + delta * (v - mean)
    var = total / (_count(x.shape, dims) - correction)
    return var.reshape(_reduced_shape(x.shape, dims, keepdim))


def _count(shape, dims):
    return _numel(shape) if dims is None else _numel(shape[d] for d in dims)


def _reduced_shape(shape, dims, keepdim):
    dims = range(len(shape)) if dims is None else dims
    return tuple(1 if i in dims else n for i, n in enumerate(shape) if keepdim or i not in dims)


def _centered(m, a, dims):
    all_dims = tuple(range(len(a.shape))) if dims is None else dims
    if m is ARRAY_MATH and a.dtype is _F16:  # (a float16 mean: a float32 sum and division, one rounding)
        return a - (a.astype(_F32).sum(axis=all_dims, keepdims=True) / _count(a.shape, dims)).astype(_F16)
    if m is ARRAY_MATH:
        return a - m.sum(a, all_dims, True) / _count(a.shape, dims)
    return a - m.mean(a, dims)  # (PyTorch's self.mean(dim, true): its MeanBackward node, the same values)


def _var_bwd(m, g, a, b, r, p):
    """PyTorch's var_backward: 2 / (n - correction) * g * (a - mean), the division a C++ one of doubles
    (inf where n == correction, negative below); over all elements with no degree of freedom left,
    g * (nan where a equals the mean, else inf)."""
    dims = p["dims"]
    all_dims = tuple(range(len(a.shape))) if dims is None else dims
    if m is ARRAY_MATH:
        g = _expand_reduced(m, g, a.shape, all_dims, p["keepdim"])
    elif not p["keepdim"] and a.shape and dims is not None:  # (as PyTorch's: unsqueezed, not expanded)
        for d in sorted(dims):
            g = m.expand_dims(g, d)
    dof = _count(a.shape, dims) - p["correction"]
    if (dims is None or not a.shape) and dof <= 0:
        data = m.data(a)
        return (g * m.const(xp.where(data == data.mean(), xp.nan, xp.inf).astype(data.dtype)),)
    scale = 2.0 / dof if dof else math.inf
    return (_half_times(g, scale) * _centered(m, a, dims),)


def _std_fwd(x, **params):
    if x.dtype is _F16:  # (the square root of the float32 variance, rounded once)
        return _in_float32(_std_fwd, x, **params)
    dims, keepdim, correction = params.get("dims"), params.get("keepdim", False), params.get("correction", 1)
    if type(x) is ndarray and x.dtype.kind == "f" and _count(x.shape, dims) > correction:
        # (the square root of PyTorch's double variance, rounded once to the dtype)
        return xp.sqrt(_two_pass_var(x, dims, keepdim, correction)).astype(x.dtype)
    return xp.sqrt(_var_fwd(x, **params))


def _std_bwd(m, g, a, b, r, p):
    """PyTorch's std_backward: var's backward of g / (2 * std), made 0 where the std is 0 (all the values
    equal: a gradient of 0, not nan)."""
    g = g / (r * 2)
    zero = m.data(r) == 0
    if m is not ARRAY_MATH:  # (PyTorch's masked_fill_, whether or not a std is 0: its node)
        g = m.masked_fill(g, zero, 0)
    elif zero.any():
        g = m.where(zero, 0, g)
    return _var_bwd(m, g, a, b, r, p)


def _norm_fwd(x, ord=2, dims=None, keepdim=False):  # noqa: A002 - PyTorch's name
    if x.dtype is _F16:  # (PyTorch accumulates float16 in float32, rounding the norm once)
        return _in_float32(_plain_norm, x, ord, dims, keepdim)
    if ord == 2 and _vec_f32(x) and x.ndim and x.size and x.flags.c_contiguous \
            and (dims is None or tuple(sorted(d % x.ndim for d in dims)) == (x.ndim - 1,)):
        # (PyTorch's last-dim kernel for a float 2-norm: see vecmath.norm2_lastdim)
        ax = xp.abs(x)
        rows = ax.reshape(-1, ax.shape[-1]) if dims is not None else ax.reshape(1, -1)
        return vecmath.norm2_lastdim(rows).reshape(_reduced_shape(ax.shape, dims, keepdim))
    return _plain_norm(x, ord, dims, keepdim)


def _plain_norm(x, ord, dims, keepdim):  # noqa: A002 - PyTorch's name
    ax = x if x.dtype.kind == "f" else x.astype(dtypes.defaults.float.np)
    ax = xp.abs(ax)
    if ord == 2:
        return xp.sqrt((ax * ax).sum(axis=dims, keepdims=keepdim))
    if ord == 1:
        return ax.sum(axis=dims, keepdims=keepdim)
    if ord == math.inf:
        return ax.max(axis=dims, keepdims=keepdim)
    if ord == 0:
        return (ax != 0).sum(axis=dims, keepdims=keepdim).astype(ax.dtype)
    return (ax**ord).sum(axis=dims, keepdims=keepdim) ** (1.0 / ord)


def _norm_bwd(m, g, a, b, r, p):
    """PyTorch's linalg_vector_norm_backward: x * |x|^(p-2) / norm^(p-1), 0 where the norm is 0."""
    ord, dims, keepdim = p["ord"], p["dims"], p["keepdim"]  # noqa: A001
    all_dims = tuple(range(len(a.shape))) if dims is None else dims
    spread = _expand_reduced if m is ARRAY_MATH else lambda m, x, shape, _, keepdim: _unsqueeze_reduced(
        m, x, shape, dims, keepdim)  # (PyTorch's: unsqueezed where a dim was given, not expanded)
    g = spread(m, g, a.shape, all_dims, keepdim)
    if ord == 0:
        return (m.zeros(_expand_reduced(m, g, a.shape, all_dims, True)),)
    if ord == 1:
        return (g * m.sign(a),)
    r = spread(m, r, a.shape, all_dims, keepdim)
    if ord == math.inf:
        hit = m.data(abs(a)) == m.data(r)
        ties = m.const(hit.sum(axis=all_dims, keepdims=True))
        return (m.where(hit, g * m.sign(a) / ties, 0),)
    zero = m.data(r) == 0
    safe = m.where(zero, 1, r) if zero.any() else r
    if ord == 2:  # (PyTorch's grad * (self / norm).masked_fill_(norm == 0, 0))
        # under create_graph the division is by the norm itself, zeros too, as PyTorch's: a second derivative
        # at a zero norm is then nan there, as in PyTorch (0 / 0 in the division's backward)
        return (g * m.masked_fill(a / (safe if m is ARRAY_MATH else r), zero, 0),)
    return (m.where(zero, 0, g * a * abs(a) ** (ord - 2) / safe ** (ord - 1)),)


def _cumsum_fwd(x, dim):
    if x.dtype is _F16:  # (PyTorch adds float16 up in float32, rounding each partial sum once)
        return _in_float32(_cumsum_fwd, x, dim)
    if x.dtype.kind in "biu":
        dtype = xp.int64
    else:  # PyTorch adds from +0.0, so no partial sum is -0.0 (numpy's first is the first element as it is)
        dtype = None
        x = x + x.dtype.type(0)
    if not x.ndim:  # (numpy's cumsum of a 0-d array is 1-d; PyTorch's stays 0-d)
        return xp.cumsum(x.reshape(1), dtype=dtype).reshape(())
    if _vec_f32(x):  # PyTorch's CPU kernel adds float up in double (acc_type),
        return xp.cumsum(x, axis=dim, dtype=xp.float64).astype(_F32)  # rounding each partial sum once
    return namespace_of(x).cumsum(x, axis=dim, dtype=dtype)


def _cumsum_bwd(m, g, a, b, r, p):
    """PyTorch's reversed cumsum, g.flip(dim).cumsum(dim).flip(dim): the same sums in the same order (the
    total minus the prefix sums spread one nan or inf over every element)."""
    shape = g.shape
    if _numel(shape) <= 1 or shape[p["dim"]] == 1:
        return (g,)
    dims = (p["dim"],)
    return (m.flip(m.cumsum(m.flip(g, dims), p["dim"]), dims),)


def _split_bwd(m, g, p, stacked):
    """Gradients of cat/stack: the slices of g that each input became."""
    dim = p["dim"]
    outs = []
    start = 0
    for shape in p["shapes"]:
        if stacked:
            outs.append(m.take(g, start, dim))
            start += 1
        elif legacy_empty(shape) and len(m.data(g).shape) != 1:  # (a skipped input: an empty gradient)
            outs.append(m.reshape(m.narrow(g, dim, start, 0), (0,)))
        else:
            n = shape[dim]
            outs.append(m.narrow(g, dim, start, n))
            start += n
    return outs


# --------------------------------------------------------------- activations and losses of nn.functional
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_GELU_K = math.sqrt(2 / math.pi)  # the tanh approximation's constants, PyTorch's
_GELU_C = 0.044715
_erf_host = xp.frompyfunc(math.erf, 1, 1)


def _erf64(a):
    """erf in float64 (numpy has none; its values come from Python's math.erf, on the host)."""
    host = backend.to_host(a).astype(_F64)
    values = _erf_host(host.reshape(-1)).astype(_F64).reshape(host.shape)  # (1-d: a 0-d one gives a float)
    return backend.like(values, backend.device_type_of(a))


def _in_float64(fn):
    """A float function computed in float64 and rounded once to the input's dtype, as _rounded_once does
    for the transcendental functions."""

    def forward(a, **params):
        with xp.errstate(over="ignore", invalid="ignore"):
            out = fn(a.astype(_F64), **params)
            if a.dtype is _F16:  # (PyTorch's float16 kernels compute in float32, then round)
                out = out.astype(_F32)
            return out.astype(a.dtype, copy=False)

    return forward


_erf = _in_float64(_erf64)


# The activations are computed in the input's dtype step by step as PyTorch's kernels compute them, each
# transcendental step rounded once (the digits then agree far more often than one rounding of the whole).
def _gelu_fwd(x, approximate="none"):
    half = x.dtype.type(0.5)
    if approximate == "tanh":
        inner = (x + x * x * x.dtype.type(_GELU_C) * x) * x.dtype.type(_GELU_K)
        return half * x * (1 + _tanh(inner))
    return x * half * (1 + _erf(x * x.dtype.type(_SQRT1_2)))


def _silu_fwd(x):
    if _vec_f32(x) and x.flags.c_contiguous:
        return vecmath.silu(x)
    with xp.errstate(over="ignore"):
        return x / (1 + _exp(-x))


def _elu_fwd(x, alpha):
    with xp.errstate(over="ignore", invalid="ignore"):
        return xp.where(x > 0, x, _expm1(x) * x.dtype.type(alpha))


def _softplus_fwd(x, beta, threshold):
    bx = x * x.dtype.type(beta)
    with xp.errstate(over="ignore"):
        soft = _log1p(_exp(bx))
    return xp.where(bx > threshold, x, soft / x.dtype.type(beta) if beta != 1 else soft)


def _gelu_bwd(m, g, a, b, r, p):
    """PyTorch's gelu_backward (under create_graph its own op, GeluBackwardBackward0, as PyTorch's)."""
    if m is not ARRAY_MATH:
        return (m.gelu_backward(g, a, p["approximate"]),)
    if p["approximate"] == "tanh":
        t = m.tanh((a + a * a * a * _GELU_C) * _GELU_K)
        inner = (a * a * (3 * _GELU_C) + 1) * _GELU_K
        return (g * ((t + 1) * 0.5 + a * 0.5 * (1 - t * t) * inner),)
    cdf = (m.erf(a * _SQRT1_2) + 1) * 0.5
    pdf = m.exp(a * a * -0.5) * _INV_SQRT_2PI
    return (g * (cdf + a * pdf),)


def _gelu_grad(g, a, approximate):
    """gelu's backward of arrays (its row's), the forward of GeluBackwardBackward0."""
    return ROWS["gelu"].backward(ARRAY_MATH, g, a, None, None, {"approximate": approximate})[0]


def _gelu_double_bwd(m, gg, a, b, r, p):
    """PyTorch's derivatives of gelu_backward(grad, x): gelu_backward(gg, x) for grad, and for x
    gelu_double_backward: gg * grad * gelu''(x), in its steps."""
    go, x = a, b
    if p["approximate"] == "tanh":
        beta = math.sqrt(2) * (2 / math.sqrt(math.pi)) * 0.5
        kappa = 0.044715
        inner = beta * (x + kappa * m.pow(x, 3))
        tanh_inner = m.tanh(inner)
        sech_inner = 1 / m.cosh(inner)
        f = 0.5 * x
        gg_ = 1 - tanh_inner * tanh_inner
        h = beta * (1 + 3 * kappa * x * x)
        f_prime_gh = 0.5 * gg_ * h
        g_prime = (2 * sech_inner) * (-sech_inner * tanh_inner) * h
        g_prime_fh = f * h * g_prime
        h_prime = 6 * kappa * x * beta
        h_prime_fg = f * gg_ * h_prime
        second = 2 * f_prime_gh + g_prime_fh + h_prime_fg
    else:
        beta = (2 / math.sqrt(math.pi)) * math.sqrt(0.5) * 0.5
        x_sq = x * x
        pdf = beta * m.exp(-0.5 * x_sq)
        second = 2 * pdf - x_sq * pdf
    return m.gelu_backward(gg, x, p["approximate"]), gg * go * second


def _act_grad(row, g, a, p):
    """An activation's backward of arrays (its row's), the forward of its XBackwardBackward0 op."""
    return ROWS[row].backward(ARRAY_MATH, g, a, None, None, p)[0]


def _elu_double_bwd(m, gg, a, b, r, p):
    """PyTorch's derivatives of elu_backward(grad, x): elu_backward(gg, x) for grad; for x
    elu_double_backward, elu_backward(gg * grad * input_scale, x) where x < 0."""
    negative = m.const((m.data(b) < 0).astype(m.data(gg).dtype))
    return m.act_backward("elu", gg, b, p), m.act_backward("elu", gg * a * 1, b, p) * negative


def _softplus_double_bwd(m, gg, a, b, r, p):
    """PyTorch's derivatives of softplus_backward(grad, x): softplus_backward(gg, x) for grad; for x
    softplus_double_backward(gg * grad, x): sigmoid_backward(gg * grad, sigmoid(beta x)) where beta x is
    below the threshold, times beta."""
    beta, threshold = p["beta"], p["threshold"]
    bx = b * beta
    below = m.const((m.data(bx) < threshold).astype(m.data(gg).dtype))
    return (m.act_backward("softplus", gg, b, p),
            m.sigmoid_backward(gg * a, m.sigmoid(bx)) * below * beta)


def _softplus_bwd(m, g, a, b, r, p):
    if m is not ARRAY_MATH:
        return (m.act_backward("softplus", g, a, p),)
    beta, threshold = p["beta"], p["threshold"]
    z = m.exp(a * beta)
    return (m.where(m.data(a) * beta > threshold, g, g * z / (z + 1)),)


def _sigmoid_of(m, x):
    return 1 / (m.exp(-x) + 1)


def _silu_bwd(m, g, a, b, r, p):
    # (under create_graph PyTorch's infinitely_differentiable_silu_backward, of input.sigmoid(): its node)
    s = _sigmoid_of(m, a) if m is ARRAY_MATH else m.sigmoid_of(a)
    return (g * s * (a * (1 - s) + 1),)


def _loss_grad(m, g, shape, reduction):
    """The incoming gradient of a reduced loss spread over the elementwise losses ('none': theirs already)."""
    return g if reduction == "none" else m.broadcast_to(g, shape)


def _loss_mean(grad, shape, reduction):
    """A loss's input gradient for 'mean': divided by the count last, as PyTorch's backward kernels divide
    (grad_input.div_(numel)), not the incoming gradient first."""
    return grad / max(_numel(shape), 1) if reduction == "mean" else grad


def _weighted(m, x, weight):
    return x if weight is None else x * m.const(weight)


def _bce_fwd(x, t, weight=None, reduction="mean", **_):
    """PyTorch's binary_cross_entropy: (t - 1) * max(log1p(-x), -100) - t * max(log(x), -100), each log
    rounded once to the input's dtype."""
    ns = namespace_of(x)
    if ((x < 0) | (x > 1) | (x != x)).any():
        raise RuntimeError("all elements of input should be between 0 and 1")
    if ((t < 0) | (t > 1)).any():
        raise RuntimeError("all elements of target should be between 0 and 1")
    with xp.errstate(divide="ignore"):
        log_x = ns.maximum(_in_float64(xp.log)(x), -100)
        log_1mx = ns.maximum(_in_float64(xp.log1p)(-x), -100)
    loss = (t - 1) * log_1mx - t * log_x
    if weight is not None:
        loss = loss * weight
    return _reduce_loss(loss, reduction)


_BCE_EPSILON = 1e-12


def _bce_bwd(m, g, a, b, r, p):
    """PyTorch's binary_cross_entropy_backward (input): g * (x - t) / max((1 - x) * x, 1e-12); and its
    target_backward: -g * logit(x)."""
    weight, reduction = p["weight"], p["reduction"]
    g = _loss_grad(m, g, a.shape, reduction)
    denominator = (1 - a) * a
    small = m.data(denominator) < _BCE_EPSILON
    if small.any():
        denominator = m.where(small, _BCE_EPSILON, denominator)
    grad_input = _loss_mean(_weighted(m, g * (a - b) / denominator, weight), a.shape, reduction)
    if not p["target_grad"]:
        return grad_input, None
    return grad_input, _loss_mean(_weighted(m, -g * (m.log(a) - m.log(1 - a)), weight), a.shape, reduction)


def _log_sigmoid64(x):
    return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))


def _bce_logits_fwd(x, t, weight=None, pos_weight=None, reduction="mean", dtype=None):
    """PyTorch's binary_cross_entropy_with_logits: (1 - t) * x - (1 + (pos_weight - 1) * t) * log_sigmoid(x)
    (without pos_weight: - log_sigmoid(x)), log_sigmoid rounded once to the input's dtype."""
    log_sig = _in_float64(_log_sigmoid64)(x)
    if pos_weight is not None:
        log_sig = ((pos_weight - 1) * t + 1) * log_sig
    loss = (1 - t) * x - log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce_loss(loss.astype(dtype, copy=False), reduction)


def _bce_logits_bwd(m, g, a, b, r, p):
    """PyTorch's binary_cross_entropy_with_logits_backward and its target_backward."""
    weight, pos_weight, reduction = p["weight"], p["pos_weight"], p["reduction"]
    g = _loss_grad(m, g, a.shape, reduction)
    s = m.sigmoid(a)
    if pos_weight is None:
        grad_input = s - b
        grad_target = -a
    else:
        pw = m.const(pos_weight)
        grad_input = (pw * b + 1 - b) * s - pw * b
        # d/dt of -(1 + (pw - 1) * t) * log_sigmoid(x): log_sigmoid(x) = -log(1 + exp(-x))
        grad_target = -a + (pw - 1) * m.log(m.exp(-a) + 1)
    return (_loss_mean(_weighted(m, grad_input * g, weight), a.shape, reduction),
            _loss_mean(_weighted(m, grad_target * g, weight), a.shape, reduction))


def _smooth_l1_fwd(x, t, beta=1.0, reduction="mean"):
    d = xp.abs(x - t)
    return _reduce_loss(xp.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


def _huber_fwd(x, t, delta=1.0, reduction="mean", **_):
    if x.dtype is _F16:  # (PyTorch's huber kernel computes float16 in float32, smooth_l1's does not; their
        # backward kernels the other way round: Op.opmath "b" for smooth_l1, float16 steps for huber)
        return _reduce_loss(_in_float32(_huber_fwd, x, t, delta, "none"), reduction)
    d = xp.abs(x - t)
    return _reduce_loss(xp.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)


def _smooth_l1_bwd(m, g, a, b, r, p):
    """PyTorch's smooth_l1_loss_backward kernel, with d = input - target and norm = 1 / numel for 'mean'
    (else 1), in the input's dtype: -norm * g for d <= -beta, norm * g for d >= beta, else norm * d * g /
    beta; huber's: -norm * g * delta, norm * g * delta, else norm * d * g. The target's is the input's with
    the two swapped, as PyTorch computes it (+0., not -0., where they are equal)."""
    huber = "delta" in p
    if "dtype_error" in p:
        raise RuntimeError(p["dtype_error"])
    if m is not ARRAY_MATH:  # (PyTorch's smooth_l1_loss_backward / huber_loss_backward, one node per input)
        row = "huber_loss" if huber else "smooth_l1_loss"
        return m.loss_backward(row, g, a, b, p), m.loss_backward(row, g, b, a, p)
    width = p["delta"] if huber else p["beta"]
    reduction = p["reduction"]
    norm = 1.0 / max(_numel(a.shape), 1) if reduction == "mean" else 1.0
    g = _loss_grad(m, g, a.shape, reduction)

    def grad(x, y):
        d = x - y
        dd = m.data(d)
        outside = m.sign(d) * norm * g
        if huber:
            outside, inside = outside * width, norm * d * g
        else:
            inside = norm * d * g / width
        return m.where((dd <= -width) | (dd >= width), outside, inside)

    return grad(a, b), grad(b, a)



# --------------------------------------------------------------- reductions and reorderings of torch
def _logsumexp_fwd(x, dims, keepdim):
    """PyTorch's logsumexp: log(sum(exp(x - max))) + max, the max taken as 0 where it is infinite."""
    ns = namespace_of(x)
    if not x.size:
        with xp.errstate(divide="ignore"):
            return _log(_exp(x).sum(axis=dims, keepdims=keepdim))
    maxes = x.max(axis=dims, keepdims=True)
    maxes = ns.where(ns.isinf(maxes), 0, maxes).astype(x.dtype, copy=False)
    with xp.errstate(divide="ignore", invalid="ignore"):
        out = _log(_array_sum(_exp(x - maxes), dims, True)) + maxes
    return out if keepdim else out.reshape(_reduced_shape(x.shape, dims, False))


def _logsumexp_bwd(m, g, a, b, r, p):
    """g * exp(x - logsumexp(x)), the reduced dims put back."""
    shape, dims, keepdim = a.shape, p["dims"], p["keepdim"]
    if m is not ARRAY_MATH:  # (PyTorch's: grad and result unsqueezed, broadcast by the ops)
        return (_unsqueeze_reduced(m, g, shape, dims, keepdim) * m.exp(a - _unsqueeze_reduced(
            m, r, shape, dims, keepdim)),)
    spread = _expand_reduced(m, r, shape, dims, keepdim)
    return (_expand_reduced(m, g, shape, dims, keepdim) * m.exp(a - spread),)


def _amax_bwd(m, g, a, b, r, p):
    """amax/amin: the gradient is shared evenly by the elements equal to the result (PyTorch's
    scale_grad_by_count)."""
    shape, dims, keepdim = a.shape, p["dims"], p["keepdim"]
    data, picked = m.data(a), m.data(r)
    if not keepdim:
        for d in sorted(dims):
            picked = namespace_of(picked).expand_dims(picked, d)
    hit = data == picked
    count = hit.sum(axis=dims, keepdims=True).astype(m.np_dtype(g))
    # (a product with the mask, as PyTorch's: a nan or inf gradient reaches every element, as nan)
    mask = m.const(hit.astype(m.np_dtype(g)))
    return (_expand_reduced(m, g, shape, dims, keepdim) / m.const(count) * mask,)


def _split_back(m, grads, a, b, r, p):
    return (m.cat(grads, p["dim"]),)


# --------------------------------------------------------------- gathering, sorting, triangles, cumprod, roll
def _taken(a, index, **_):
    """a[index] (an advanced index: gather, index_select, sort, topk, diag), a copy; index () is a itself
    (a 0-d input), copied."""
    # (C order, as PyTorch's result: numpy's a[:, idx] comes out in another order, and view() then failed)
    return _contiguous(a[index]) if index != () else a.copy()


def along(index, dim, ndim):
    """The advanced index that picks index[..., i, ...] along dim and each position along the other dims:
    gather's, as numpy index arrays that broadcast to index's shape."""
    ns = namespace_of(index)
    return tuple(index if k == dim else
                 ns.arange(index.shape[k]).reshape([-1 if j == k else 1 for j in range(ndim)])
                 for k in range(ndim))


def _repeat_fwd(a, sizes, **_):
    return namespace_of(a).tile(a.reshape((1,) * (len(sizes) - a.ndim) + a.shape), sizes)


def _repeat_bwd(m, g, a, b, r, p):
    """The sum of the gradient over the copies: g as (r0, s0, r1, s1, ...), summed over the r axes."""
    sizes, shape = p["sizes"], p["in_shape"]
    padded = (1,) * (len(sizes) - len(shape)) + tuple(shape)
    split = tuple(n for pair in zip(sizes, padded) for n in pair)
    g = m.sum(m.reshape(g, split), tuple(range(0, 2 * len(sizes), 2)), False)
    return (m.reshape(g, shape),)


def _triangle(upper):
    def mask(shape, k, like):
        ns = namespace_of(like)
        below = ns.tri(shape[-2], shape[-1], k - 1 if upper else k, dtype=bool)
        return ~below if upper else below

    forward = (lambda a, diagonal: namespace_of(a).where(mask(a.shape, diagonal, a), a, a.dtype.type(0))
               if a.size else a.copy())
    backward = lambda m, g, a, b, r, p: (m.where(mask(g.shape, p["diagonal"], m.data(g)), g, 0),)  # noqa: E731
    return forward, backward


_tril_fwd, _tril_bwd = _triangle(False)
_triu_fwd, _triu_bwd = _triangle(True)


def _cumprod_fwd(x, dim):
    if x.dtype is _F16:  # (as cumsum: float32 products, each rounded once)
        return _in_float32(_cumprod_fwd, x, dim)
    dtype = xp.int64 if x.dtype.kind in "biu" else None
    if not x.ndim:
        return x.astype(dtype or x.dtype, copy=True)
    return namespace_of(x).cumprod(x, axis=dim, dtype=dtype)


def _reversed_cumsum(m, w, dim):
    return m.flip(m.cumsum(m.flip(w, (dim,)), dim), (dim,))


def _cumprod_bwd(m, g, a, b, r, p):
    """PyTorch's cumprod_backward: reversed_cumsum(result * g) / x without zeros; with zeros, its O(n) masks
    (no graph) or its O(n**2) sum of the products with each entry left out (create_graph)."""
    shape, d = a.shape, p["dim"]
    if _numel(shape) <= 1 or shape[d] == 1:
        return (g,)
    zero = m.data(a) == 0
    if not zero.any():
        return (_reversed_cumsum(m, r * g, d) / a,)
    if m is ARRAY_MATH:
        return (_cumprod_zeros_grad(g, a, r, d),)
    n = shape[d]
    ns = namespace_of(m.data(a))
    ones = m.const(ns.ones(shape[:d] + (1,) + shape[d + 1:], m.np_dtype(a)))
    parts = []
    for k in range(n):
        if k == 0:
            omitted = m.cat([ones, m.cumprod(m.narrow(a, d, 1, n - 1), d)], d)
        else:
            until = m.prod(m.narrow(a, d, 0, k), (d,), True)
            if k < n - 1:
                after = m.cumprod(m.narrow(a, d, k + 1, n - k - 1), d)
                until = m.cat([until, until * after], d)
            omitted = until
        parts.append(m.sum(m.narrow(g, d, k, n - k) * omitted, (d,), True))
    return (m.cat(parts, d),)


def _cumprod_zeros_grad(g, x, r, d):
    """cumprod's gradient where x has zeros (PyTorch's O(n) path): before the first zero z1,
    reversed_cumsum(result * g) / x; at z1, prod(x[:z1]) * sum over j in [z1, z2) of g_j * prod(x[z1+1:j+1]);
    0 after it."""
    ns = namespace_of(x)
    is_zero = x == 0
    count = ns.cumsum(is_zero, axis=d)
    before = count == 0
    one = x.dtype.type(1)
    with xp.errstate(divide="ignore", invalid="ignore"):
        w = ns.where(before, r * g, x.dtype.type(0))
        out = ns.where(before, ns.flip(ns.cumsum(ns.flip(w, d), axis=d), d) / ns.where(before, x, one), 0)
    first = (count == 1) & is_zero
    between = (count == 1) & ~is_zero
    tail = (ns.cumprod(ns.where(between, x, one), axis=d) * ns.where(count == 1, g, 0)).sum(axis=d,
                                                                                        keepdims=True)
    head = ns.take(ns.cumprod(ns.where(before, x, one), axis=d), [-1], axis=d)
    return ns.where(first, tail * head, out).astype(x.dtype, copy=False)


def _sort_order(x, dim, descending):
    """Stable sort indices along dim; descending keeps equal values in their order, and puts nan first as
    PyTorch does (ascending, last)."""
    ns = namespace_of(x)
    if not descending:
        return ns.argsort(x, axis=dim, kind="stable")
    if x.dtype.kind == "b":
        key = ~x
    elif x.dtype.kind == "f":
        key = ns.where(ns.isnan(x), -ns.inf, -x)
    else:
        key = -x.astype(xp.int64)
    return ns.argsort(key, axis=dim, kind="stable")


def _roll_fwd(a, shifts, dims):
    ns = namespace_of(a)
    if not dims:
        return ns.roll(a.reshape(-1), shifts[0]).reshape(a.shape)
    return _contiguous(ns.roll(a, shifts, axis=dims))  # (C order whatever a's, as PyTorch's)


def _diag_embed_fwd(a, shape, index):
    return _index_grad_fwd(a, shape, index)


def _addmm_bwd(m, g, a, b, r, p):
    """addmm's gradients: g for the bias (summed to its shape), g @ mat2.T and mat1.T @ g."""
    mat1, mat2 = p["mat1"], p["mat2"]
    if m is ARRAY_MATH:
        mat1, mat2 = mat1._data, mat2._data
    return g, g @ m.t(mat2), m.t(mat1) @ g  # (t(): PyTorch's formulas' TBackward0)


def _xlogy_fwd(x, y):
    """x * log(y), 0 where x is 0 (unless y is nan); log rounded once as _log."""
    ns = namespace_of(x if hasattr(x, "dtype") else y)
    with xp.errstate(divide="ignore", invalid="ignore"):
        out = x * _log(y)
    return ns.where((x == 0) & ~ns.isnan(y), 0, out).astype(out.dtype, copy=False)


def _xlogy_bwd(m, g, a, b, r, p):
    """PyTorch's: self gets g * xlogy((self != 0), other), other gets g * self / other."""
    keep = m.data(a) != 0
    return (_nz(b) and m.where(keep, g * m.log(b), 0), _nz(a) and g * a / b)



# --------------------------------------------------------------- the table
def _to_copy(a, dtype, device=None, src=None):
    if device is None:
        return a.astype(dtype)
    return backend.to_device(a.astype(dtype, copy=False), device)


def _filled_from(a, b):
    return xp.broadcast_to(b, a.shape)


def _to_input_shape(m, g, a, b, r, p):
    """The backward of every reshaping view: the gradient takes the input's shape back."""
    return (m.reshape(g, p["in_shape"]),)


def _squeeze_bwd(m, g, a, b, r, p):
    """squeeze's backward: the input's shape back. Under create_graph as PyTorch's unsqueeze_to, one
    unsqueeze per squeezed dim of size 1 (nothing at all when none was), not a view."""
    shape = p["in_shape"]
    if m is ARRAY_MATH:
        return (g.reshape(shape),)
    dim = p.get("dim")
    if dim is None:
        dims = [d for d, n in enumerate(shape) if n == 1]
    else:
        dims = sorted(d for d in _dims(dim, len(shape)) if shape and shape[d] == 1)
    for d in dims:
        g = m.expand_dims(g, d)
    return (g,)


def _scatter_along(m, g, a, b, r, p):
    """max/min with a dim: the gradient goes to the picked index of each slice."""
    return (_select_along(m, g, p["shape"], p["dim"], p["indices"], p["keepdim"]),)


def _indexed_back(row):
    """select/slice/index: the gradient written into zeros of the input's shape (as the row named, a
    differentiable op when create_graph=True)."""
    return lambda m, g, a, b, r, p: (m.index_grad(g, p["in_shape"], p["index"], row),)


def _index_into(m, g, a, b, r, p):
    return (m.getitem(g, p["index"]),)


def _reduced(fn):
    """max(dim)/min(dim) forward (a 0-d tensor is its own max)."""
    return lambda a, dim, keepdim, **_: fn(a, axis=dim, keepdims=keepdim) if a.ndim else a.copy()


def _float_pow(base, exponent):
    """base ** exponent for float operands (a number base is the tensor's float first, as PyTorch
    converts it): float32 and float16 through float64, rounded once, as in _float_pow_scalar."""
    dtype = exponent.dtype if not hasattr(base, "dtype") else xp.result_type(base, exponent)
    if not hasattr(base, "dtype"):
        base = dtype.type(base)
    if dtype.itemsize < 8:
        return (base.astype(xp.float64) ** exponent.astype(xp.float64)).astype(dtype)
    return base**exponent


def _power(base, exponent):
    """base ** exponent with a tensor exponent. numpy refuses an integer to a negative integer power;
    PyTorch's integer kernel (powi) gives 1 for a base of 1, 1 or -1 for -1 (by the exponent's parity), and 0
    for any other base."""
    if type(base) is HalfOperand or type(exponent) is HalfOperand:  # (pow converts a number to float16)
        base, exponent = (_F16.type(v.number) if type(v) is HalfOperand else v for v in (base, exponent))
    try:
        if getattr(base, "dtype", exponent.dtype).kind == "f" and exponent.dtype.kind == "f":
            return _float_pow(base, exponent)
        return base**exponent
    except ValueError:
        if getattr(exponent, "dtype", None) is None or exponent.dtype.kind not in "iu":
            raise
    ns = namespace_of(exponent)
    negative = exponent < 0
    out = base ** ns.where(negative, 0, exponent)
    sign = ns.where(exponent % 2 == 0, 1, -1)
    return ns.where(negative, ns.where(base == 1, 1, ns.where(base == -1, sign, 0)), out).astype(out.dtype)


def _nz(x):
    """True if x was saved, else None, so `_nz(x) and formula` skips a gradient nobody asked for (a row saves
    an input only when the *other* input's gradient needs it)."""
    return x is not None or None


ROWS: dict[str, Op] = {
    # arithmetic
    "add": Op("AddBackward0", lambda a, b, alpha=1: _add_alpha(a, b, alpha) if alpha != 1 else a + b,
              lambda m, g, a, b, r, p: (g, _half_times(g, p["alpha"]) if p else g), float_constant=True),
    "sub": Op("SubBackward0", lambda a, b, alpha=1: _add_alpha(a, b, -alpha) if alpha != 1 else a - b,
              lambda m, g, a, b, r, p: (g, _half_times(-g, p["alpha"]) if p else -g), float_constant=True),
    "rsub": Op("RsubBackward1", lambda a, b, alpha=1: _add_alpha(b, a, -alpha) if alpha != 1 else b - a,
               lambda m, g, a, b, r, p: (_half_times(-g, p["alpha"]) if p else -g,), scalar_arg=True),
    "mul": Op("MulBackward0", operator.mul,
              lambda m, g, a, b, r, p: (_nz(b) and g * b, _nz(a) and g * a), save="BA", float_constant=True),
    # (the divisor's gradient as PyTorch's div_tensor_other_backward, -grad * ((self / other) / other): the
    # same roundings, and the same inf, not nan, where other is 0 in higher derivatives)
    "div": Op("DivBackward0", _true_divide, _div_backward, save="Ab", float_constant=True,
              elementwise=TRUE_DIVIDE),
    # torch.div(a, b, rounding_mode=None): the same division, recorded as div.Tensor_mode
    "div_mode": Op("DivBackward2", _true_divide, _div_backward, save="Ab", float_constant=True,
                   elementwise=TRUE_DIVIDE),
    "div_rounding": Op("DivBackward2", lambda a, b, rounding_mode: _rounded_divide(a, b, rounding_mode),
                       lambda m, g, a, b, r, p: (m.zeros(g), m.zeros(g))),
    # add's and sub's Scalar overloads: only backward formulas record them (FORMULA), a script's `x + 1` is
    # add's tensor overload in PyTorch too
    "add_scalar": Op("AddBackward1", operator.add, lambda m, g, a, b, r, p: (g,), scalar_arg=True,
                     float_constant=True),
    "sub_scalar": Op("SubBackward1", operator.sub, lambda m, g, a, b, r, p: (g,), scalar_arg=True,
                     float_constant=True),
    "mul_scalar": Op("MulBackward1", lambda a, b: a * b, lambda m, g, a, b, r, p: (g * b,), save="b",
                     scalar_arg=True, float_constant=True),
    "div_scalar": Op("DivBackward1", _true_divide, lambda m, g, a, b, r, p: (g / b,), save="b",
                     scalar_arg=True, float_constant=True),
    "reciprocal": Op("ReciprocalBackward0", lambda a: _true_divide(1.0, a),
                     lambda m, g, a, b, r, p: (-g * (r * r),), save="r"),
    "neg": Op("NegBackward0", lambda a: -a, lambda m, g, a, b, r, p: (-g,)),
    "pow": Op("PowBackward0", _pow_scalar_fwd, _pow_scalar_bwd, save="a"),
    "pow_tensor": Op("PowBackward1", _power,
                     lambda m, g, a, b, r, p: (_pow_base_grad(m, g, a, b), _pow_exp_grad(m, g, a, b, r)),
                     save="abr"),
    "rpow": Op("PowBackward2", lambda a, b: _power(b, a),
               lambda m, g, a, b, r, p: (_pow_exp_grad(m, g, b, a, r),), save="abr", scalar_arg=True),
    "floor_divide": Op("NotImplemented", _floor_divide, None, aten="aten::floor_divide"),
    "rfloor_divide": Op("NotImplemented", lambda a, b: _floor_divide(b, a), None, aten="aten::floor_divide"),
    "remainder": Op("RemainderBackward0", _remainder, lambda m, g, a, b, r, p: (g,), scalar_arg=True),
    "remainder_tensor": Op("RemainderBackward1", _remainder,
                           lambda m, g, a, b, r, p: (g, _nz(a) and -g * _floor_quotient(m, a, b)), save="Ao"),
    "rremainder": Op("NotImplemented", lambda a, b: _remainder(b, a), None, aten="aten::remainder"),
    # elementwise functions
    "exp": Op("ExpBackward0", _exp, lambda m, g, a, b, r, p: (g * r,), save="r"),
    "expm1": Op("Expm1Backward0", _expm1, lambda m, g, a, b, r, p: (g * (r + 1),), save="r"),
    "exp2": Op("Exp2Backward0", _exp2, lambda m, g, a, b, r, p: (g * r * _LN2,), save="r"),
    "log": Op("LogBackward0", _log, lambda m, g, a, b, r, p: (g / a,), save="a"),
    "log1p": Op("Log1PBackward0", _log1p, lambda m, g, a, b, r, p: (g / (a + 1),), save="a"),
    "sin": Op("SinBackward0", _sin, lambda m, g, a, b, r, p: (g * m.cos(a),), save="a"),
    "cos": Op("CosBackward0", _cos, lambda m, g, a, b, r, p: (g * -m.sin(a),), save="a"),
    "sinh": Op("SinhBackward0", _sinh, lambda m, g, a, b, r, p: (g * m.cosh(a),), save="a"),
    "cosh": Op("CoshBackward0", _cosh, lambda m, g, a, b, r, p: (g * m.sinh(a),), save="a"),
    "asin": Op("AsinBackward0", _asin, lambda m, g, a, b, r, p: (g * m.rsqrt(-a * a + 1),), save="a"),
    "acos": Op("AcosBackward0", _acos, lambda m, g, a, b, r, p: (g * -m.rsqrt(-a * a + 1),), save="a"),
    "atan": Op("AtanBackward0", _atan, lambda m, g, a, b, r, p: (g / (a * a + 1),), save="a"),
    "log2": Op("Log2Backward0", _log2, lambda m, g, a, b, r, p: (g / _half_times(a, _LN2),), save="a"),
    "log10": Op("Log10Backward0", _log10, lambda m, g, a, b, r, p: (g / _half_times(a, _LN10),), save="a"),
    "xlogy": Op("XlogyBackward0", _xlogy_fwd, _xlogy_bwd, save="BA"),
    "tan": Op("TanBackward0", _tan, lambda m, g, a, b, r, p: (g * (1 + m.square(r)),), save="r"),
    "tanh": Op("TanhBackward0", _tanh, lambda m, g, a, b, r, p: (m.tanh_backward(g, r),), save="r"),
    "sigmoid": Op("SigmoidBackward0", _sigmoid_fwd, lambda m, g, a, b, r, p: (m.sigmoid_backward(g, r),),
                  save="r"),
    # tanh's and sigmoid's backward as ops of (grad, result), recorded under create_graph as PyTorch records
    # them (its derivatives.yaml formulas for tanh_backward and sigmoid_backward)
    "tanh_backward": Op("TanhBackwardBackward0", lambda g, r: _tanh_backward(g, r),
                        lambda m, gg, a, b, r, p: (m.tanh_backward(gg, b), gg * (-2 * b * a)), save="ab"),
    "sigmoid_backward": Op("SigmoidBackwardBackward0", lambda g, r: _sigmoid_backward(g, r),
                           lambda m, gg, a, b, r, p: (m.sigmoid_backward(gg, b), gg * a * (-2 * b + 1)),
                           save="ab"),
    "relu": Op("ReluBackward0", lambda a: xp.maximum(a, 0).astype(a.dtype, copy=False),
               lambda m, g, a, b, r, p: (m.threshold_backward(g, r),), save="r"),
    # relu's backward as an op of (grad, result), recorded under create_graph as PyTorch records it, so a
    # first-order gradient requires grad whenever relu's result does; its gradient for the result is 0
    "threshold_backward": Op("ThresholdBackwardBackward0", _threshold_backward,
                             lambda m, g, a, b, r, p: (m.threshold_backward(g, b), m.zeros(g)), save="b"),
    "sqrt": Op("SqrtBackward0", xp.sqrt, lambda m, g, a, b, r, p: (g / (2 * r),), save="r"),
    "rsqrt": Op("RsqrtBackward0", lambda a: _rsqrt(a), lambda m, g, a, b, r, p: (-0.5 * g * m.pow(r, 3),),
                save="r"),
    "abs": Op("AbsBackward0", xp.abs, lambda m, g, a, b, r, p: (g * m.sign(a),), save="a"),
    "sign": Op("SignBackward0", _sign, lambda m, g, a, b, r, p: (m.zeros(g),)),
    "sgn": Op("SgnBackward0", _sign, lambda m, g, a, b, r, p: (m.zeros(g),)),
    "floor": Op("FloorBackward0", _keep_int(xp.floor), lambda m, g, a, b, r, p: (m.zeros(g),)),
    "trunc": Op("TruncBackward0", _keep_int(xp.trunc), lambda m, g, a, b, r, p: (m.zeros(g),)),
    "frac": Op("FracBackward0", lambda a: a - xp.trunc(a), lambda m, g, a, b, r, p: (g,)),
    "ceil": Op("CeilBackward0", _keep_int(xp.ceil), lambda m, g, a, b, r, p: (m.zeros(g),)),
    "round": Op("RoundBackward0", _keep_int(xp.round), lambda m, g, a, b, r, p: (m.zeros(g),)),
    "round_decimals": Op("RoundBackward1", lambda a, decimals: xp.round(a, decimals),
                         lambda m, g, a, b, r, p: (m.zeros(g),)),
    "clamp": Op("ClampBackward1", _clamp_fwd, _clamp_bwd, save="a"),
    "clamp_tensor": Op("ClampBackward0", _clamp_fwd, _clamp_tensor_bwd, save="a"),
    "clamp_min": Op("ClampMinBackward0", _clamp_fwd, _clamp_bwd, save="a"),
    "clamp_max": Op("ClampMaxBackward0", _clamp_fwd, _clamp_bwd, save="a"),
    "maximum": Op("MaximumBackward0", xp.maximum, _minmax_pair_bwd(xp.greater), save="ab"),
    "atan2": Op("Atan2Backward0", _float_pair(xp.arctan2), _atan2_bwd, save="ab"),
    # (input, tensor1, tensor2) -> y: forwards in functional.addcmul / addcdiv, tensors kept in the params
    "addcmul": Op("AddcmulBackward0", None, _addcmul_bwd, elementwise=False, saves_params=True),
    "addcdiv": Op("AddcdivBackward0", None, _addcdiv_bwd, elementwise=False, saves_params=True),
    # (input, weight, bias) -> y: its forward is functional.layer_norm's, the arrays it keeps in the params
    "layer_norm": Op("NativeLayerNormBackward0", None, _layer_norm_bwd, elementwise=False, saves_params=True),
    "masked_select": Op("MaskedSelectBackward0", lambda a, mask, shape: _masked_select_fwd(a, mask),
                        _masked_select_bwd, saves_params=True),
    # masked_select's gradient under create_graph: zeros with the gradient scattered in, as PyTorch's
    "masked_scatter": Op("MaskedScatterBackward0", lambda a, b, mask, source_shape: _masked_scatter_fwd(
        a, b, mask), _masked_scatter_bwd, saves_params=True, elementwise=False),
    "embedding": Op("EmbeddingBackward0", _embedding_fwd, _embedding_bwd, saves_params=True),
    # its backward as an op of the grad under create_graph, as PyTorch records it
    "embedding_dense_backward": Op("EmbeddingDenseBackwardBackward0", _embedding_grad, _embedding_double_bwd,
                                   saves_params=True),
    "lerp": Op("LerpBackward0", _lerp_fwd, _lerp_bwd),
    "hypot": Op("HypotBackward0", _float_pair(xp.hypot, "hypot_cpu"),
                lambda m, g, a, b, r, p: (g * a / r, g * b / r), save="abr"),
    "logaddexp": Op("LogaddexpBackward0", _float_pair(xp.logaddexp, "logaddexp_cpu"),
                    lambda m, g, a, b, r, p: (g / (1 + m.exp(b - a)), g / (1 + m.exp(a - b))), save="ab"),
    "minimum": Op("MinimumBackward0", xp.minimum, _minmax_pair_bwd(xp.less), save="ab"),
    "where": Op("WhereBackward0", _where_fwd,
                lambda m, g, a, b, r, p: (m.where(p["condition"], g, 0),
                                          m.where(p["condition"], 0, g)), saves_params=True),
    # reductions
    "sum": Op("SumBackward0", _sum_fwd, lambda m, g, a, b, r, p: (m.broadcast_to(g, p["shape"]),)),
    "nansum": Op("NansumBackward0", _nansum_fwd, _nansum_bwd, save="a"),
    "sum_dim": Op("SumBackward1", _sum_fwd,
                  lambda m, g, a, b, r, p: (_expand_reduced(m, g, p["shape"], p["dims"], p["keepdim"]),)),
    # (expand, then divide, as PyTorch's grad.expand(sizes) / numel: the gradient is a tensor of its own, not
    # a broadcast view a script could not change in place)
    "mean": Op("MeanBackward0", _mean_fwd,
               lambda m, g, a, b, r, p: (m.broadcast_to(g, p["shape"]) / _numel(p["shape"]),)),
    "mean_dim": Op("MeanBackward1", _mean_fwd,
                   lambda m, g, a, b, r, p: (_expand_reduced(m, g, p["shape"], p["dims"], p["keepdim"])
                                             / _mean_count(p["shape"], p["dims"]),)),
    "prod": Op("ProdBackward0", _prod_fwd, _prod_bwd, save="ar"),
    "prod_dim": Op("ProdBackward1", _prod_fwd, _prod_bwd, save="ar"),
    "var": Op("VarBackward0", _var_fwd, _var_bwd, save="a"),
    "std": Op("StdBackward0", _std_fwd, _std_bwd, save="ar"),
    "norm": Op("LinalgVectorNormBackward0", _norm_fwd, _norm_bwd, save="ar"),
    "cumsum": Op("CumsumBackward0", _cumsum_fwd, _cumsum_bwd),
    "cumprod": Op("CumprodBackward0", _cumprod_fwd, _cumprod_bwd, save="ar"),
    "max": Op("MaxBackward1", lambda a: a.max(), lambda m, g, a, b, r, p: _evenly(m, g, a, r), save="ar"),
    "min": Op("MinBackward1", lambda a: a.min(), lambda m, g, a, b, r, p: _evenly(m, g, a, r), save="ar"),
    "amax": Op("AmaxBackward0", lambda a, dims, keepdim: a.max(axis=dims, keepdims=keepdim), _amax_bwd,
               save="ar"),
    "amin": Op("AminBackward0", lambda a, dims, keepdim: a.min(axis=dims, keepdims=keepdim), _amax_bwd,
               save="ar"),
    "logsumexp": Op("LogsumexpBackward0", _logsumexp_fwd, _logsumexp_bwd, save="ar"),
    "max_dim": Op("MaxBackward0", _reduced(xp.max), _scatter_along, saves_params=True),
    "min_dim": Op("MinBackward0", _reduced(xp.min), _scatter_along, saves_params=True),
    # linear algebra
    "mm": Op("MmBackward0", _check_mm,  # (PyTorch's formulas transpose with t(): TBackward0)
             lambda m, g, a, b, r, p: (_nz(b) and g @ m.t(b), _nz(a) and m.t(a) @ g), save="BA",
             elementwise=False),
    "mv": Op("MvBackward0", _check_mv,
             lambda m, g, a, b, r, p: (_nz(b) and m.outer(g, b), _nz(a) and m.mT(a) @ g), save="BA",
             elementwise=False),
    "dot": Op("DotBackward0", _check_dot,
              lambda m, g, a, b, r, p: (_nz(b) and g * b, _nz(a) and g * a), save="BA", elementwise=False),
    # bias + mat1 @ mat2 (linear): three inputs, the two matrices kept in the params for the gradients
    "addmm": Op("AddmmBackward0", None, _addmm_bwd, elementwise=False, saves_params=True),
    "bmm": Op("BmmBackward0", _check_bmm,
              lambda m, g, a, b, r, p: (_nz(b) and m.bmm(g, m.mT(b)), _nz(a) and m.bmm(m.mT(a), g)),
              save="BA", elementwise=False),
    "stack": Op("StackBackward0", _stack_fwd, lambda m, g, a, b, r, p: _split_bwd(m, g, p, True)),
    "cat": Op("CatBackward0", _cat_fwd, lambda m, g, a, b, r, p: _split_bwd(m, g, p, False)),
    "unbind": Op("UnbindBackward0", None, lambda m, grads, a, b, r, p: (m.stack(grads, p["dim"]),)),
    "split": Op("SplitBackward0", None, _split_back),
    "split_with_sizes": Op("SplitWithSizesBackward0", None, _split_back),
    "flip": Op("FlipBackward0", lambda a, dims: xp.flip(a, axis=dims).copy(),
               lambda m, g, a, b, r, p: (m.flip(g, p["dims"]),)),
    # neural-network functions
    "softmax": Op("SoftmaxBackward0", _softmax_fwd,
                  lambda m, g, a, b, r, p: (m.softmax_backward(g, r, p["dim"]),), save="r", opmath="b"),
    "log_softmax": Op("LogSoftmaxBackward0", _log_softmax_fwd,
                      lambda m, g, a, b, r, p: (m.log_softmax_backward(g, r, p["dim"]),), save="r",
                      opmath="b"),
    # their backwards as ops of (grad, result), recorded under create_graph as PyTorch's
    # _softmax_backward_data / _log_softmax_backward_data, with its derivative formulas
    "softmax_backward": Op("SoftmaxBackwardDataBackward0",
                           lambda g, r, dim: _softmax_backward(ARRAY_MATH, g, r, dim),
                           lambda m, gg, a, b, r, p: (m.softmax_backward(gg, b, p["dim"]),
                                                      _softmax_double_backward(m, gg, a, b, p["dim"])),
                           save="ab"),
    "log_softmax_backward": Op(
        "LogSoftmaxBackwardDataBackward0", lambda g, r, dim: _log_softmax_backward(ARRAY_MATH, g, r, dim),
        lambda m, gg, a, b, r, p: (gg - m.sum(gg * m.exp(b), _softmax_axes(gg, p["dim"]), True),
                                   _log_softmax_double_backward(m, gg, a, b, p["dim"])),
        save="ab"),
    "mse_loss": Op("MseLossBackward0", lambda a, b, reduction="mean": _reduce_loss((a - b) ** 2, reduction),
                   _mse_bwd, save="ab"),
    # mse_loss's backward as an op of (grad, input, target), recorded under create_graph as PyTorch records it
    "mse_loss_backward": Op("MseLossBackwardBackward0", _mse_grad, _mse_double_bwd, elementwise=False,
                            saves_params=True),
    "nll_loss": Op("NllLossBackward0", _nll_fwd, _nll_bwd, saves_params=True),
    "gelu": Op("GeluBackward0", _gelu_fwd, _gelu_bwd, save="a", opmath="fb"),
    # its backward as an op of (grad, input), recorded under create_graph as PyTorch records it
    "gelu_backward": Op("GeluBackwardBackward0", lambda g, a, approximate: _gelu_grad(g, a, approximate),
                        _gelu_double_bwd, save="ab"),
    "erf": Op("ErfBackward0", _erf,
              lambda m, g, a, b, r, p: (_half_times(m.exp(-m.square(a)), 2 / math.sqrt(math.pi)) * g,),
              save="a"),
    "leaky_relu": Op("LeakyReluBackward0",
                     lambda a, negative_slope: xp.where(a > 0, a, a * negative_slope).astype(a.dtype),
                     lambda m, g, a, b, r, p: (m.where(m.data(a) > 0, g, g * p["negative_slope"])
                                               if m is ARRAY_MATH else
                                               m.leaky_relu_backward(g, a, p["negative_slope"]),),
                     save="a", opmath="fb"),
    # its backward as an op of (grad, input), recorded under create_graph as PyTorch records it: the input's
    # gradient is 0, the grad's leaky_relu_backward of the incoming one
    "leaky_relu_backward": Op("LeakyReluBackwardBackward0", lambda g, a, negative_slope: _leaky_grad(
        g, a, negative_slope), lambda m, gg, a, b, r, p: (m.leaky_relu_backward(gg, b, p["negative_slope"]),
                                                          m.zeros(gg)), save="b"),
    "log_sigmoid": Op("LogSigmoidBackward0", _log_sigmoid_fwd,
                      lambda m, g, a, b, r, p: (m.log_sigmoid_backward(g, a),), save="a", opmath="fb"),
    "log_sigmoid_backward": Op("LogSigmoidBackwardBackward0", _log_sigmoid_grad, _log_sigmoid_double_bwd,
                               save="ab"),
    "hardtanh": Op("HardtanhBackward0", _hardtanh_fwd,
                   lambda m, g, a, b, r, p: (m.hardtanh_backward(g, a, p["min_val"], p["max_val"]),),
                   save="a"),
    # its backward as an op of (grad, input) under create_graph, as PyTorch records it (leaky_relu's above)
    "hardtanh_backward": Op("HardtanhBackwardBackward0", lambda g, a, min_val, max_val: _hardtanh_grad(
        g, a, min_val, max_val), lambda m, gg, a, b, r, p: (m.hardtanh_backward(gg, b, p["min_val"],
                                                                                p["max_val"]), m.zeros(gg)),
        save="b"),
    "elu": Op("EluBackward0", _elu_fwd,
              lambda m, g, a, b, r, p: (m.where(m.data(a) > 0, g, g * m.exp(a) * p["alpha"])
                                        if m is ARRAY_MATH else m.act_backward("elu", g, a, p),), save="a",
              opmath="fb"),
    "silu": Op("SiluBackward0", _silu_fwd, _silu_bwd, save="a", opmath="fb"),
    "softplus": Op("SoftplusBackward0", _softplus_fwd, _softplus_bwd, save="a", opmath="fb"),
    # their backwards as ops of (grad, input), recorded under create_graph as PyTorch records them
    "elu_backward": Op("EluBackwardBackward0", lambda g, a, **p: _act_grad("elu", g, a, p), _elu_double_bwd,
                       save="ab"),
    "softplus_backward": Op("SoftplusBackwardBackward0", lambda g, a, **p: _act_grad("softplus", g, a, p),
                            _softplus_double_bwd, save="ab"),
    "binary_cross_entropy": Op("BinaryCrossEntropyBackward0", _bce_fwd, _bce_bwd, save="ab"),
    "binary_cross_entropy_with_logits": Op("BinaryCrossEntropyWithLogitsBackward0", _bce_logits_fwd,
                                           _bce_logits_bwd, save="ab"),
    "smooth_l1_loss": Op("SmoothL1LossBackward0", _smooth_l1_fwd, _smooth_l1_bwd, save="ab", opmath="b"),
    "huber_loss": Op("HuberLossBackward0", _huber_fwd, _smooth_l1_bwd, save="ab"),
    # their backwards as ops of (grad, input, target), recorded under create_graph as PyTorch records them
    "smooth_l1_loss_backward": Op("SmoothL1LossBackwardBackward0",
                                  lambda g, x, y, p: _loss_grad_of("smooth_l1_loss", g, x, y, p),
                                  _smooth_l1_double_bwd, elementwise=False, saves_params=True),
    "huber_loss_backward": Op("HuberLossBackwardBackward0",
                              lambda g, x, y, p: _loss_grad_of("huber_loss", g, x, y, p),
                              _smooth_l1_double_bwd, elementwise=False, saves_params=True),
    "nll_loss2d": Op("NllLoss2DBackward0", _nll_fwd, _nll_bwd, saves_params=True),
    # nll_loss's backward as an op of (grad, input), recorded under create_graph as PyTorch records it (the
    # input only for its shape: its gradient is 0, but the result requires grad when the input does)
    "nll_loss_backward": Op("NllLossBackwardBackward0", _nll_grad, _nll_double_bwd, elementwise=False,
                            saves_params=True),
    "nll_loss2d_backward": Op("NllLoss2DBackwardBackward0", _nll_grad, _nll_double_bwd, elementwise=False,
                              saves_params=True),
    # shape and views
    "view": Op("ViewBackward0", _view_fwd, _to_input_shape, view=True),
    "reshape_alias": Op("ReshapeAliasBackward0", _view_fwd, _to_input_shape, view=True),
    # reshape's copy (after a clone) and matmul's folding: a reshape whose result is not a view
    "unsafe_view": Op("UnsafeViewBackward0", lambda a, shape, **_: _view_fwd(a, shape).copy(),
                      _to_input_shape),
    "alias": Op("AliasBackward0", lambda a: a[...], lambda m, g, a, b, r, p: (g,), view=True),
    "transpose": Op("TransposeBackward0", _transpose_fwd,
                    lambda m, g, a, b, r, p: (m.swapaxes(g, p["dim0"], p["dim1"]) if len(g.shape) else g,),
                    view=True),  # (a 0-d tensor's transpose(0, -1) is itself)
    "t": Op("TBackward0", _t_fwd, lambda m, g, a, b, r, p: (m.t(g) if len(g.shape) == 2 else g,), view=True),
    "permute": Op("PermuteBackward0", _permute_fwd,
                  lambda m, g, a, b, r, p: (m.permute(g, _inverse(p["dims"], len(g.shape))),), view=True),
    # (under create_graph PyTorch's formula, grad.squeeze(dim): a SqueezeBackward1, not a view)
    "unsqueeze": Op("UnsqueezeBackward0", _unsqueeze_fwd,
                    lambda m, g, a, b, r, p: (m.reshape(g, p["in_shape"]) if m is ARRAY_MATH
                                              else m.squeeze_dim(g, p["dim"]),), view=True),
    "squeeze": Op("SqueezeBackward0", _squeeze_fwd, _squeeze_bwd, view=True),
    "squeeze_dim": Op("SqueezeBackward1", _squeeze_fwd, _squeeze_bwd, view=True),
    "squeeze_dims": Op("SqueezeBackward2", _squeeze_fwd, _squeeze_bwd, view=True),
    # matmul of a vector and a matrix squeezes its result in place: PyTorch's node for `squeeze_(dim)`
    "squeeze_mm": Op("SqueezeBackward4", _squeeze_fwd, _squeeze_bwd, view=True),
    "expand": Op("ExpandBackward0", _expand_fwd, lambda m, g, a, b, r, p: (g,), view=True),
    # (the Ellipsis keeps a whole-element index a 0-d view of a, where numpy would copy it out as a scalar)
    "select": Op("SelectBackward0", lambda a, index, **_: a[index + (Ellipsis,)],
                 _indexed_back("select_grad"), view=True),
    "slice": Op("SliceBackward0", lambda a, index, **_: a[index], _indexed_back("slice_grad"), view=True),
    "index": Op("IndexBackward0", lambda a, index, **_: _contiguous(a[index]), _indexed_back("index_grad"),
                saves_params=True),
    # the backward of indexing, as a differentiable op (create_graph=True)
    "select_grad": Op("SelectBackwardBackward0", _index_grad_fwd, _index_into),
    "slice_grad": Op("SliceBackwardBackward0", _index_grad_fwd, _index_into),
    "index_grad": Op("IndexPutImplBackward0", _index_grad_fwd, _index_into),
    # (as_strided_backward's nodes under create_graph: a 1-d storage seen through a geometry, given as each
    # element's place in it, and a source copied into such a view of a storage that needs no gradient)
    "as_strided": Op("AsStridedBackward0", lambda a, index, **_: a.reshape(-1)[index],
                     lambda m, g, a, b, r, p: (_as_strided_grad(m, g, p["index"], p["n"],
                                                                namespace_of(p["index"]).arange(p["n"])),),
                     saves_params=True),
    "copy_slices": Op("CopySlices", _scatter_fwd,
                      lambda m, g, a, b, r, p: (None, _copy_slices_src_grad(m, g, p["index"])),
                      elementwise=False, saves_params=True),
    # (zeros.scatter_(dim, index, src), as max/min with a dim differentiate: src's gradient is a gather)
    "scatter_src": Op("ScatterBackward0", _scatter_fwd,
                      lambda m, g, a, b, r, p: (None, m.gather(g, p["index"])),
                      elementwise=False, saves_params=True),
    "setitem": Op("CopySlices", _setitem_fwd,
                  lambda m, g, a, b, r, p: (_zero_at(m, g, p["index"]), m.getitem(g, p["index"]))),
    # x[mask] = v, x[tensor or list index] = v: PyTorch's index_put_, a node of its own (a basic index
    # writes through a view of x instead: CopySlices)
    "index_put": Op("IndexPutBackward0", _setitem_fwd,
                    lambda m, g, a, b, r, p: (_zero_at(m, g, p["index"]), m.getitem(g, p["index"]))),
    "masked_fill_tensor": Op("MaskedFillBackward1",
                             lambda a, v, mask: _contiguous(xp.where(mask, v, a).astype(a.dtype)),
                             lambda m, g, a, b, r, p: (m.where(p["mask"], 0, g),
                                                       m.sum(m.where(p["mask"], g, 0),
                                                             tuple(range(len(g.shape))), False)),
                             elementwise=False, saves_params=True),
    "gather": Op("GatherBackward0", _taken, _indexed_back("index_grad"), saves_params=True),
    "index_select": Op("IndexSelectBackward0", _taken, _indexed_back("index_grad"), saves_params=True),
    "sort": Op("SortBackward0", _taken, _indexed_back("index_grad"), saves_params=True),
    "topk": Op("TopkBackward0", _taken, _indexed_back("index_grad"), saves_params=True),
    "diagonal": Op("DiagonalBackward0_copy", _taken, _indexed_back("index_grad")),
    "diag_embed": Op("DiagEmbedBackward0", _diag_embed_fwd, _index_into),
    "repeat": Op("RepeatBackward0", _repeat_fwd, _repeat_bwd),
    "tril": Op("TrilBackward0", _tril_fwd, _tril_bwd),
    "triu": Op("TriuBackward0", _triu_fwd, _triu_bwd),
    "trace": Op("TraceBackward0", lambda a, **_: a.trace(dtype=xp.int64 if a.dtype.kind in "iu" else None),
                lambda m, g, a, b, r, p: (m.where(namespace_of(m.data(g)).eye(*p["shape"], dtype=bool),
                                                  m.broadcast_to(g, p["shape"]), 0),)),
    "roll": Op("RollBackward0", _roll_fwd,
               lambda m, g, a, b, r, p: (m.roll(g, tuple(-s for s in p["shifts"]), p["dims"]),)),
    # copies and conversions
    "clone": Op("CloneBackward0", lambda a: a.copy(), lambda m, g, a, b, r, p: (g,)),
    # (.to(dtype), and .to(device) / .cpu() / .cuda(), whose gradient moves back to the input's device)
    "to_dtype": Op("ToCopyBackward0", _to_copy,
                   lambda m, g, a, b, r, p: (m.to_device(g, p["src"]) if "src" in p else g,)),
    # copy_ and fill_(tensor): self's old values get no gradient, the source gets it (summed to its shape)
    "copy_": Op("CopyBackwards", _filled_from, lambda m, g, a, b, r, p: (m.zeros(g), g)),
    "masked_fill_": Op("MaskedFillBackward0", lambda a, mask, value: _contiguous(xp.where(mask, value, a)),
                       lambda m, g, a, b, r, p: (m.where(p["mask"], 0, g),), saves_params=True),
    "zero_": Op("ZeroBackward0", lambda a: xp.zeros_like(a), lambda m, g, a, b, r, p: (m.zeros(g),)),
    "fill_": Op("FillBackward2", lambda a, value: xp.full_like(a, value),
                lambda m, g, a, b, r, p: (m.zeros(g),)),
    "fill_tensor": Op("FillBackward3", _filled_from, lambda m, g, a, b, r, p: (m.zeros(g), g)),
    # uniform_ and normal_: values drawn from the random stream by the caller; no gradient to the old values
    "uniform_": Op("UniformBackward0", lambda a, values: values, lambda m, g, a, b, r, p: (m.zeros(g),)),
    "normal_": Op("NormalBackward0", lambda a, values: values, lambda m, g, a, b, r, p: (m.zeros(g),)),
    # bernoulli of probabilities (out of place), bernoulli_(tensor p) and bernoulli_(float p): drawn values
    "bernoulli": Op("BernoulliBackward0", lambda a, values: values, lambda m, g, a, b, r, p: (m.zeros(g),)),
    "bernoulli_tensor_": Op("BernoulliBackward1", lambda a, b, values: values,
                            lambda m, g, a, b, r, p: (m.zeros(g), m.zeros(g))),
    "bernoulli_": Op("BernoulliBackward2", lambda a, values: values, lambda m, g, a, b, r, p: (m.zeros(g),)),
}


def _float32_forward(forward):
    """A row's forward that computes a float16 input in float32 and rounds the result once (Op.opmath)."""

    def run(a, *args, **params):
        if a.dtype is _F16 and type(a) is ndarray:
            return _in_float32(forward, a, *args, **params)
        return forward(a, *args, **params)

    return run


def _float32_backward(backward):
    """A row's backward that computes float16 gradients in float32 and rounds each once (Op.opmath); with
    create_graph it runs as written, op by op."""

    def run(m, g, a, b, r, p):
        if m is ARRAY_MATH and g.dtype is _F16 and type(g) is ndarray:
            outs = _in_float32(lambda *arrays: backward(m, *arrays, p), g, a, b, r)
            return tuple(None if o is None else o.astype(_F16, copy=False) for o in outs)
        return backward(m, g, a, b, r, p)

    return run


def _in_float32(fn, *args, **params):
    """fn of args, each float16 array among them in float32; its float result(s) rounded to float16."""
    wide = [v.astype(_F32) if getattr(v, "dtype", None) is _F16 and hasattr(v, "shape") else v for v in args]
    with xp.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = fn(*wide, **params)
    if type(out) is tuple:
        return out
    return asarray(out).astype(_F16, copy=False)


# rows whose number operand PyTorch's argument parser wraps into a 0-d tensor (`x * 2` is mul.Tensor), so
# that their own backward formula multiplies or divides by a tensor: MulBackward0 / DivBackward0 under
# create_graph, with (None, 0) for the number in next_functions, not the Scalar rows below
_WRAPPED_NUMBER_ROWS = {id(ROWS[name]) for name in ("mul", "div", "div_mode")}


def _wrapped_number(b, like):
    """A number operand as the 0-d tensor PyTorch wraps it into, in the gradient's dtype and place."""
    data = like._data
    return Tensor._make(backend.like(xp.asarray(b, dtype=data.dtype), backend.device_type_of(data)))


# the Scalar overload of each row that backward formulas use with a number operand (FORMULA)
_SCALAR_ROWS = {id(ROWS[tensor_row]): ROWS[scalar_row] for tensor_row, scalar_row in (
    ("add", "add_scalar"), ("sub", "sub_scalar"), ("mul", "mul_scalar"), ("div", "div_scalar"),
    ("rsub", "sub"))}

# rows whose forward is exactly a ufunc (without params), for in-place ops that need no node
_FILL_ROWS = {id(ROWS[name])
              for name in ("zero_", "fill_", "fill_tensor", "masked_fill_", "masked_fill_tensor")}
_UFUNC_OF = {id(ROWS["add"]): xp.add, id(ROWS["sub"]): xp.subtract, id(ROWS["mul"]): xp.multiply}


def _zero_at(m, g, index):
    mask = namespace_of(m.data(g)).ones(g.shape, dtype=bool)
    mask[index] = False
    return m.where(mask, g, 0)


def _inverse(dims, n):
    inv = [0] * n
    for i, d in enumerate(dims):
        inv[d % n] = i
    return tuple(inv)


for _key, _op in ROWS.items():
    if "f" in _op.opmath:
        object.__setattr__(_op, "forward", _float32_forward(_op.forward))
    if "b" in _op.opmath:
        object.__setattr__(_op, "backward", _float32_backward(_op.backward))
    _base_node = MultiOutputNode if _key in ("unbind", "split", "split_with_sizes") else OpNode
    object.__setattr__(_op, "node", type(_op.grad_fn, (_base_node,), {
        "__slots__": (), "op": _op, "plan": _save_plan(_op.save),
        "bw": staticmethod(_op.backward or _not_implemented(_op.aten)),
        "unary_fast": _op.backward is not None and not _op.scalar_arg and not _op.view
                      and _save_plan(_op.save) in (None, _SAVE_RESULT, _SAVE_INPUT),
        "binary_fast": _op.backward is not None and not _op.scalar_arg and not _op.view and _op.elementwise
                       and _save_plan(_op.save) in (None, _SAVE_OTHER)}))


# --------------------------------------------------------------- the two math namespaces
def _array_index_grad(g, shape, index, row):
    return _index_grad_fwd(g, shape, index)


# TENSOR_MATH, the same names as differentiable tensor ops, is filled in by functional (which builds on
# this module).
TENSOR_MATH = None
ARRAY_MATH = SimpleNamespace(
    exp=_exp, log=_log, sin=_sin, cos=_cos, sign=_sign, floor=xp.floor, tanh=_tanh, erf=_erf,
    sinh=_sinh, cosh=_cosh, rsqrt=lambda x: _rsqrt(x), reciprocal=lambda x: 1 / x,
    square=xp.square,
    mse_loss_backward=_mse_grad,
    loss_backward=_loss_grad_of,
    act_backward=_act_grad,
    gelu_backward=_gelu_grad,
    leaky_relu_backward=_leaky_grad,
    hardtanh_backward=_hardtanh_grad,
    log_sigmoid_backward=_log_sigmoid_grad,
    sigmoid_of=lambda x: _sigmoid_of(ARRAY_MATH, x),
    nll_loss=_nll_fwd,  # (x * x; TENSOR_MATH's is PyTorch's x.pow(2))
    masked_fill=lambda x, mask, value: xp.where(mask, value, x),
    cumprod=_cumprod_fwd,
    roll=_roll_fwd,
    threshold_backward=_threshold_backward, tanh_backward=_tanh_backward, sigmoid_backward=_sigmoid_backward,
    softmax_backward=lambda g, r, dim: _softmax_backward(ARRAY_MATH, g, r, dim),
    log_softmax_backward=lambda g, r, dim: _log_softmax_backward(ARRAY_MATH, g, r, dim),
    pow=lambda x, e: _power(x, e) if hasattr(e, "dtype") else _pow_scalar_fwd(x, e),
    sigmoid=_sigmoid_fwd, where=xp.where, equal=xp.equal, logical_and=xp.logical_and,
    count=lambda mask: int(xp.count_nonzero(mask)),  # (a Python int: a numpy int64 would widen float32)
    sum=_array_sum,
    reshape=lambda x, shape: x.reshape(shape),
    broadcast_to=broadcast_view,
    expand_dims=xp.expand_dims,
    astype=lambda x, dtype: x.astype(dtype),
    mT=lambda x: xp.swapaxes(x, -1, -2),
    mean_keep=lambda x: x.mean(axis=-1, keepdims=True),
    bmm=lambda a, b: namespace_of(a).matmul(a, b),
    t=lambda x: xp.swapaxes(x, -1, -2),  # (a tensor's t(): TBackward0, where mT is a transpose)
    swapaxes=xp.swapaxes,
    permute=lambda x, dims: x.transpose(dims),
    outer=xp.outer,
    take=lambda x, i, dim: xp.take(x, i, axis=dim),
    narrow=lambda x, dim, start, n: x[(slice(None),) * dim + (slice(start, start + n),)],
    index_grad=_array_index_grad,
    getitem=lambda x, index: x[index],
    gather=_taken,
    prod=lambda x, axes, keepdims: x.prod(axis=axes, keepdims=keepdims),
    cumsum=_cumsum_fwd,
    stack=lambda xs, dim: xp.stack(xs, axis=dim),
    cat=lambda xs, dim: xp.concatenate(xs, axis=dim),
    flip=lambda x, dims: xp.flip(x, axis=dims),
    zeros=xp.zeros_like,  # a zero gradient: zeros, not 0 * g (which is nan where g is inf or nan)
    data=lambda x: x,  # the raw values, for masks and counts that carry no gradient
    const=lambda x: x,  # a constant array, as the namespace's value type
    np_dtype=lambda x: x.dtype,
    to_device=backend.to_device,
)

# Last: tensor's module loads functional, which reads this table, so `import gradcli.ops` must not start
# there while the table is half built.
from .tensor import Tensor  # noqa: E402

_make = Tensor._make
