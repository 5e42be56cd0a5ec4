"""The autograd engine: graph nodes, grad modes, and the backward pass.

A tensor made by a differentiable op points at a `Node` (its `grad_fn`); each node points at the nodes
that made its inputs (`next_functions`), ending in `AccumulateGrad` nodes for leaves. `backward` walks
that graph without recursion: it counts each node's consumers first, then runs a node only when all of
them have handed it their gradient, latest-created first, as PyTorch's engine does.

Gradients flow as raw backend arrays unless `create_graph=True`, in which case they are tensors and every
derivative formula runs as ordinary differentiable tensor ops, so the backward pass is itself a graph.
"""

from __future__ import annotations

import heapq
import itertools
import sys
import weakref

from . import backend
from .backend import xp


# ------------------------------------------------------------------ grad modes
class _GradState:
    __slots__ = ("enabled",)

    def __init__(self):
        self.enabled = True


GRAD = _GradState()


def is_grad_enabled() -> bool:
    return GRAD.enabled


class GradMode:
    """Base of the grad-mode context managers; also usable as function decorators."""

    SCRIPT_ATTRS = frozenset()
    _mode = True

    def __enter__(self):
        self._prev = GRAD.enabled
        GRAD.enabled = self._mode

    def __exit__(self, *exc):
        GRAD.enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self._mode

        def decorated(*args, **kwargs):
            prev = GRAD.enabled
            GRAD.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                GRAD.enabled = prev

        # named as PyTorch's functools.wraps names it: after the function, or its own name for a non-function
        decorated.__name__ = getattr(fn, "__name__", "decorate_context")
        decorated.__qualname__ = getattr(fn, "__qualname__", "context_decorator.<locals>.decorate_context")
        return decorated


class _NoParamDecoratorContextManager(GradMode):  # (PyTorch's name, in its messages)
    """`@torch.no_grad` without parentheses, as PyTorch 2 allows: called with the function, the class
    decorates it at once."""

    def __new__(cls, orig_func=None, /):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecoratorContextManager):  # noqa: N801 - PyTorch's name
    _mode = False

    def __repr__(self):
        return f"<torch.autograd.grad_mode.no_grad object at {id(self):#x}>"


class enable_grad(_NoParamDecoratorContextManager):  # noqa: N801
    _mode = True

    def __repr__(self):
        return f"<torch.autograd.grad_mode.enable_grad object at {id(self):#x}>"


class set_grad_enabled(GradMode):  # noqa: N801
    """Takes effect at once when called (as in PyTorch), and restores the previous mode on `with` exit."""

    def __init__(self, mode: bool):
        self._prev = GRAD.enabled
        self._mode = bool(mode)
        GRAD.enabled = self._mode

    def __enter__(self):
        GRAD.enabled = self._mode

    def __repr__(self):
        return f"<torch.autograd.grad_mode.set_grad_enabled object at {id(self):#x}>"


# ------------------------------------------------------------------ anomaly mode
class _AnomalyState:
    __slots__ = ("enabled", "check_nan")

    def __init__(self):
        self.enabled = False
        self.check_nan = True


ANOMALY = _AnomalyState()


def is_anomaly_enabled() -> bool:
    return ANOMALY.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return ANOMALY.check_nan


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """torch.autograd.detect_anomaly: within it, a backward node that returns a NaN gradient stops the pass
    with PyTorch's error (when check_nan). PyTorch also prints the forward call's traceback; gradcli names
    the node only."""

    SCRIPT_ATTRS = frozenset()

    def __init__(self, check_nan=True):
        self._prev = ANOMALY.enabled
        self._prev_check_nan = ANOMALY.check_nan
        self._check_nan = check_nan
        from .errors import torch_warning

        torch_warning("Anomaly Detection has been enabled. This mode will increase the runtime and should "
                      "only be enabled for debugging.", "torch/autograd/anomaly_mode.py")

    def __enter__(self):
        ANOMALY.enabled = True
        ANOMALY.check_nan = self._check_nan

    def __exit__(self, *exc):
        ANOMALY.enabled = self._prev
        ANOMALY.check_nan = self._prev_check_nan
        return False

    def __repr__(self):
        return f"<torch.autograd.anomaly_mode.detect_anomaly object at {id(self):#x}>"


class set_detect_anomaly(detect_anomaly):  # noqa: N801
    """torch.autograd.set_detect_anomaly: takes effect at once when called, and restores the previous mode on
    `with` exit."""

    def __init__(self, mode, check_nan=True):
        self._prev = ANOMALY.enabled
        self._prev_check_nan = ANOMALY.check_nan
        self._check_nan = check_nan
        ANOMALY.enabled = bool(mode)
        ANOMALY.check_nan = check_nan

    def __enter__(self):
        pass

    def __repr__(self):
        return f"<torch.autograd.anomaly_mode.set_detect_anomaly object at {id(self):#x}>"


def _check_nan(node, outs):
    """Anomaly mode's check of what a node's backward returned: PyTorch's error at the first NaN."""
    for i, g in enumerate(outs):
        if g is None:
            continue
        array = getattr(g, "_data", g)
        if array.dtype.kind == "f" and bool(xp.isnan(array).any()):
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")


# ------------------------------------------------------------------ graph nodes
_sequence = itertools.count()

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call .backward() "
    "or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time "
    "or if you need to access saved tensors after calling backward."
)


# Nodes PyTorch writes by hand in C++ rather than generating them: name() gives their qualified name.
_CPP_NODES = {
    n: "torch::autograd::" + n for n in ("AccumulateGrad", "CopySlices", "CopyBackwards", "NotImplemented")
}


class Node:
    """A step of the backward graph. Subclasses implement `apply(grads, create_graph)`, taking one
    gradient per output of the forward op and returning one per entry of `next_functions`.

    The edges are kept flat, `_next = (node0, output_nr0, node1, output_nr1, ...)`: one tuple per node
    instead of one per edge, which matters because every object a long-lived graph holds is work for the
    garbage collector. `next_functions` builds PyTorch's pairs on demand."""

    __slots__ = ("_next", "seq", "retained", "__weakref__")
    SCRIPT_ATTRS = frozenset({"name", "next_functions", "metadata"})
    n_outputs = 1  # gradients it takes: one per output of the forward op (a slot where there can be more)

    @property
    def next_functions(self):
        nf = self._next
        return tuple([(nf[i], nf[i + 1]) for i in range(0, len(nf), 2)])

    @next_functions.setter
    def next_functions(self, edges):
        self._next = tuple([part for edge in edges for part in edge])

    def name(self) -> str:
        name = type(self).__name__
        return _CPP_NODES.get(name, name)

    @property
    def metadata(self):
        return {}

    def __repr__(self):
        return f"<{type(self).__name__} object at {id(self):#x}>"

    def release(self):
        """Drop saved values after a backward pass that does not retain the graph."""

    def apply_release(self, grads):
        """apply(grads, False), then release(): what a backward pass without retain_graph or create_graph
        does with each node (OpNode does both in one step)."""
        outs = self.apply(grads, False)
        self.release()
        return outs

    def apply_undefined(self, grads, create_graph):
        """What the node does when none of its outputs got a gradient. PyTorch's engine runs every node
        it reaches all the same (a built-in one reads its saved values, which fails once they are freed or
        changed, then passes on no gradient; the pass then frees them), so a second backward through a
        part of the graph that only a custom Function's None reached is refused as in PyTorch."""
        return [None] * (len(self._next) // 2)


class AccumulateGrad(Node):
    """The sink for a leaf: adds the incoming gradient into `leaf.grad`."""

    __slots__ = ("variable",)
    SCRIPT_ATTRS = Node.SCRIPT_ATTRS | {"variable"}

    def __init__(self, leaf):
        self.variable = leaf
        self._next = ()
        self.seq = -1  # leaves run last; their order among themselves does not matter
        self.retained = None


class OutputHooks:
    """What runs on the gradient of one output of a node before the node itself (kept in `node.retained`,
    keyed by output_nr): the tensor's register_hook hooks in registration order, then retain_grad's copy
    into `.grad` (PyTorch runs retain_grad last). A leaf's hooks sit on its AccumulateGrad node."""

    __slots__ = ("fns", "retain")

    def __init__(self):
        self.fns = {}  # handle id -> hook
        self.retain = None  # weakref to the tensor whose .grad keeps this gradient

    @staticmethod
    def of(node, nr):
        table = node.retained
        if table is None:
            table = node.retained = {}
        hooks = table.get(nr)
        if hooks is None:
            hooks = table[nr] = OutputHooks()
        return hooks


class RemovableHandle:
    """What register_hook returns: `handle.remove()` takes the hook off again."""

    SCRIPT_ATTRS = frozenset({"remove", "id"})
    _ids = itertools.count()

    def __init__(self, table):
        self._table = table
        self.id = next(self._ids)

    def remove(self):
        self._table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def __repr__(self):
        return f"<torch.utils.hooks.RemovableHandle object at {id(self):#x}>"


class _Pinned:
    """Stands in for the weak reference a leaf keeps to its AccumulateGrad node once hooks live there, so
    the node (and the hooks) last as long as the leaf."""

    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    def __call__(self):
        return self.node


class ThroughBase:
    """The `_acc` of a view that has no node but whose base requires grad: one made under no_grad, or before
    its base's requires_grad_(). PyTorch's views share their base's requires_grad, so the view requires grad,
    as a leaf; but it has no AccumulateGrad node of its own (unless requires_grad_() is called on it), so a
    gradient that reaches it goes nowhere. `version` is its version (in `counter`) then: once the view or its
    base has changed in place, PyTorch gives it a node into the base (ops.changed_view_edge), or refuses it,
    naming the node it had: a view that had a node when its memory changed gives it up for a ThroughBase
    with version -1 (ops.forget_view_nodes), `retain` saying whether retain_grad() was called on it.
    `own`: requires_grad_() was called on the view, which then has an AccumulateGrad of its own (`acc`, a
    weak reference, or _Pinned once hooks live there)."""

    __slots__ = ("counter", "version", "node_name", "output_nr", "own", "acc", "retain")

    def __init__(self, counter, version, node_name=None, output_nr=0):
        self.counter = counter
        self.version = version
        self.node_name = node_name
        self.output_nr = output_nr
        self.own = False
        self.acc = None
        self.retain = False

    def __call__(self):  # (as the weak reference to the view's own AccumulateGrad, until it has changed)
        acc = self.acc
        return None if acc is None or not self.own or self.counter[0] != self.version else acc()


def register_hook(t, hook):
    """Tensor.register_hook: `hook(grad)` runs on the gradient of t, and may return a replacement."""
    if not t._rg:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if t.grad_fn is not None:
        node, nr = t.grad_fn, t.output_nr
    else:
        node, nr = edge_to(t)  # (which may give it a node: a view whose base changed, ops.changed_view_edge)
        ref = t._acc
        if t.grad_fn is not None:
            pass
        elif type(ref) is ThroughBase:
            if node is None:  # (no gradient reaches it until requires_grad_() gives it an AccumulateGrad)
                node = ref.acc() if ref.acc is not None else None
                if node is None:
                    node = AccumulateGrad(t)
            ref.acc = _Pinned(node)
        else:
            t._acc = _Pinned(node)
    table = OutputHooks.of(node, nr).fns
    handle = RemovableHandle(table)
    table[handle.id] = hook
    return handle


def edge_to(t):
    """(node, output_nr) that the gradient for tensor `t` must flow into, or (None, 0)."""
    fn = t.grad_fn
    if fn is not None:
        return (fn, t.output_nr)
    if t._rg:
        ref = t._acc
        acc = ref() if ref is not None else None
        if acc is None:
            if type(ref) is ThroughBase:
                if t._version[0] != ref.version:
                    from .ops import changed_view_edge

                    return changed_view_edge(t)
                if not ref.own:
                    return (None, 0)
                acc = AccumulateGrad(t)
                ref.acc = weakref.ref(acc)
                return (acc, 0)
            acc = AccumulateGrad(t)
            t._acc = weakref.ref(acc)
        return (acc, 0)
    return (None, 0)


# ------------------------------------------------------------------ backward
def _sum_to(m, g, shape):
    """Undo broadcasting: sum `g` down to `shape` (the one place the engine does this)."""
    lead = len(g.shape) - len(shape)
    if not shape and lead and hasattr(g, "grad_fn"):  # (a Tensor: create_graph) PyTorch's sum_to is sum():
        return m.sum(g, None, False)                   # a SumBackward0, no view after it
    kept = tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    axes = tuple(range(lead)) + kept
    if axes:
        g = m.sum(g, axes, True)
        if lead:
            g = m.reshape(g, shape)
    elif lead:
        g = m.reshape(g, shape)
    return g


def _collect(roots):
    """Count, for every node reachable from `roots`, how many graph edges point at it (roots start at 0): what
    `_needed` walks to find the nodes that lead to autograd.grad's inputs."""
    deps = dict.fromkeys(n for n in roots if n is not None)
    stack = list(deps)
    for n in stack:
        deps[n] = 0
    while stack:
        nf = stack.pop()._next
        for i in range(0, len(nf), 2):
            nxt = nf[i]
            if nxt is not None:
                if nxt in deps:
                    deps[nxt] += 1
                else:
                    deps[nxt] = 1
                    stack.append(nxt)
    return deps


def _needed(roots, deps, targets):
    """Nodes that must run for autograd.grad: those with an edge into a target node or into another
    needed node. A target node itself runs only when a further target lies beyond it: PyTorch captures the
    gradient of a non-leaf input at its edge and leaves its grad_fn alone (not run, its saved values kept)."""
    order = []
    pending = dict(deps)
    stack = [n for n in set(roots) if pending.get(n, 0) == 0]
    while stack:
        node = stack.pop()
        order.append(node)
        for nxt in node._next[::2]:
            if nxt is not None:
                pending[nxt] -= 1
                if pending[nxt] == 0:
                    stack.append(nxt)
    needed = set()
    for node in reversed(order):
        if any(n in needed or n in targets for n in node._next[::2] if n is not None):
            needed.add(node)
    return needed


def run_backward(roots, grads, *, retain_graph, create_graph, targets=None):
    """Propagate `grads` (one per root edge) back through the graph.

    roots: list of (node, output_nr). With `targets` (a dict edge -> slot index) the gradients arriving at
    those edges are captured and returned instead of being accumulated into leaves (autograd.grad).

    Nodes run latest-created first, as in PyTorch's engine. A node's inputs always exist before it, so
    creation order (`seq`) is a topological order: the latest-created of the nodes holding a gradient
    (`pending`) has already been sent every gradient it will get, and can run. So no dependency counts are
    needed. A node that only None reached (below a custom Function whose backward returned None) runs
    too, as in PyTorch, with `apply_undefined`. In a chain the next node is usually the
    latest-created pending one, and runs at once without going through the heap.
    """
    needed = captured = None
    if targets is not None:
        captured = [None] * len(set(targets.values()))
        root_nodes = [n for n, _ in roots]
        deps = _collect(root_nodes)
        target_nodes = {node for node, _ in targets}
        needed = _needed(root_nodes, deps, target_nodes)

    buffers = {}
    for (node, nr), g in zip(roots, grads):
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node.n_outputs
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    pending = [(-node.seq, id(node), node) for node in buffers]
    heapq.heapify(pending)

    prev_mode = GRAD.enabled
    GRAD.enabled = create_graph
    heappush, heappop = heapq.heappush, heapq.heappop
    release = not retain_graph
    fused = release and not create_graph  # apply_release: apply, then release, in one call
    check_nan = ANOMALY.enabled and ANOMALY.check_nan
    try:
        while pending:
            node = heappop(pending)[2]
            while node is not None:
                grads_in = buffers.pop(node)
                if node.retained is not None and (needed is None or node in needed or node in target_nodes):
                    # tensor hooks and retain_grad, before anything sees it; with inputs given, only on the
                    # nodes PyTorch executes or captures at (a leaf that is not among the inputs runs no hook)
                    _run_hooks(node, grads_in, create_graph)
                if targets is not None:
                    for nr, g in enumerate(grads_in):
                        slot = targets.get((node, nr))
                        if slot is not None and g is not None:
                            captured[slot] = g
                    if node not in needed:
                        break
                if type(node) is AccumulateGrad:
                    if targets is None and grads_in[0] is not None:
                        _accumulate(node.variable, grads_in[0], create_graph)
                    break
                if grads_in[0] is None and _undefined(grads_in):
                    outs = node.apply_undefined(grads_in, create_graph)
                    if release:
                        node.release()
                elif fused:
                    outs = node.apply_release(grads_in)
                else:
                    outs = node.apply(grads_in, create_graph)
                    if release:
                        node.release()
                grads_in = None  # (each gradient is freed as soon as it has been used, as in PyTorch)
                if check_nan:
                    _check_nan(node, outs)
                nf = node._next
                new = None  # the first node this one made pending; any others go on the heap
                for i in range(0, len(nf), 2):
                    nxt = nf[i]
                    if nxt is None:
                        continue
                    # (a None gradient still makes nxt pending: PyTorch runs every node the pass reaches)
                    g = outs[i >> 1]
                    buf = buffers.get(nxt)
                    if buf is None:
                        if nxt.n_outputs == 1:
                            buffers[nxt] = [g]
                        else:
                            buf = buffers[nxt] = [None] * nxt.n_outputs
                            buf[nf[i + 1]] = g
                        if new is None:
                            new = nxt
                        else:
                            heappush(pending, (-nxt.seq, id(nxt), nxt))
                    elif g is not None:
                        nr = nf[i + 1]
                        buf[nr] = g if buf[nr] is None else buf[nr] + g
                outs = g = None
                if new is not None and pending and new.seq < -pending[0][0]:
                    heappush(pending, (-new.seq, id(new), new))  # an older node: it waits its turn
                    new = None
                node = new
    finally:
        GRAD.enabled = prev_mode
    return captured


def _undefined(grads):
    """True when no gradient reached any output of a node."""
    for g in grads:
        if g is not None:
            return False
    return True


def _run_hooks(node, grads_in, create_graph):
    from .tensor import Tensor

    for nr, hooks in list(node.retained.items()):
        g = grads_in[nr] if nr < len(grads_in) else None
        if g is None:
            # An output of a node that runs but got no gradient (b of a, b = x.unbind() when only a is
            # used): PyTorch still calls its tensor hooks, with None.
            for hook in list(hooks.fns.values()):
                if hook(None) is not None:
                    raise RuntimeError("can't replace a None gradient with a non-None value")
            continue
        if hooks.fns:
            t = _grad_tensor(g)
            for hook in list(hooks.fns.values()):
                out = hook(t)
                if out is not None:
                    if not isinstance(out, Tensor):
                        raise TypeError(f"expected Variable, but hook returned '{type(out).__name__}'")
                    name = getattr(hook, '__name__', 'hook')
                    if out._data.dtype != t._data.dtype:
                        raise RuntimeError(
                            f"hook '{name}' has changed the type of value (was {_legacy_type(t)} got "
                            f"{_legacy_type(out)})"
                        )
                    if out._data.shape != t._data.shape:
                        raise RuntimeError(f"hook '{name}' has changed the size of value")
                    t = out
            g = grads_in[nr] = t if create_graph else t._data
        ref = hooks.retain
        target = ref() if ref is not None else None
        if target is None:
            continue
        g = _grad_tensor(g)
        if target.grad is None:  # a copy: the gradient array flows on, and may be shared
            target.grad = g if g.grad_fn is not None else Tensor._make(g._data.copy())
        else:
            target.grad = target.grad + g


def _grad_tensor(g):
    """A gradient as a Tensor a script may hold and change in place: a 0-d gradient may come as a numpy
    scalar, which Tensor must never wrap (in-place ops on it fail inside numpy)."""
    from .tensor import Tensor

    if isinstance(g, Tensor):
        return g
    return Tensor._make(g if type(g) is xp.ndarray else backend.as_array(g))


def _legacy_type(t):
    """PyTorch's old type name of a tensor ('torch.FloatTensor'), as its hook messages print it."""
    prefix = "torch.cuda." if backend.is_device_array(t._data) else "torch."
    return prefix + t.dtype.legacy


def _stealable(g):
    """True when the backward pass is all that holds the gradient array g, and g owns its memory: it can then
    become a leaf's first .grad as it is, without a copy, as PyTorch's AccumulateGrad steals a gradient nobody
    else uses. The references: the pass's buffer list, _accumulate's and this function's argument, and
    getrefcount's own (_accumulate's only caller to pass an exclusive array is run_backward)."""
    return g.base is None and g.flags.c_contiguous and sys.getrefcount(g) <= 4


def _accumulate(leaf, g, create_graph):
    """leaf.grad += g, in place when PyTorch would do it in place (grad mode off); nothing for a leaf
    that no longer requires grad (requires_grad_(False) after its graph was built), as AccumulateGrad."""
    from .tensor import Tensor

    if not leaf._rg:
        return
    if isinstance(g, Tensor):
        if not create_graph:
            g = g._data
    elif type(g) is not xp.ndarray:
        g = backend.as_array(g)  # (a 0-d gradient may come as a numpy scalar: .grad must be an array)
    if leaf.grad is None:
        if isinstance(g, Tensor):
            # A copy (PyTorch's clone_obey_contract): the grad is a CopyBackwards of the incoming gradient.
            from . import ops

            copy = Tensor._make(xp.empty_like(leaf._data, order="C"))  # (on the leaf's device)
            leaf.grad = ops.inplace(ops.ROWS["copy_"], copy, g, any_cast=True) if g._rg else \
                Tensor._make(g._data.astype(leaf._data.dtype, copy=True))
        elif g.dtype == leaf._data.dtype and _stealable(g):
            leaf.grad = Tensor._make(g)
        else:
            # A copy: the same array may flow to several leaves (AddBackward passes it through), or be held
            # by a hook, or be a view of memory that something else owns.
            leaf.grad = Tensor._make(g.astype(leaf._data.dtype, copy=True))
    elif create_graph:
        leaf.grad = leaf.grad + g
    else:  # (in place with grad mode off, as AccumulateGrad: a .grad with a grad_fn keeps it)
        data = leaf.grad._data
        data += g._data if isinstance(g, Tensor) else g
        leaf.grad._version[0] += 1


# ------------------------------------------------------------------ entry points
def _check_outputs(outputs, grad_outputs, *, create_graph):
    from .tensor import Tensor

    # PyTorch checks every grad_output first (torch.autograd._make_grads: its shape, or for a missing one
    # that the output is a scalar), and only then, in the engine, that each output requires grad.
    for t, g in zip(outputs, grad_outputs):
        if not isinstance(t, Tensor):
            raise AssertionError("Expected output to be a torch.Tensor")  # (an assert in _make_grads)
        if g is None:
            if t.requires_grad:
                if t._data.size != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if not t.dtype.is_floating_point:
                    raise RuntimeError(
                        f"grad can be computed only for real floating point outputs but got {t.dtype}"
                    )
        else:
            if not isinstance(g, Tensor):
                raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
            if tuple(g.shape) != tuple(t.shape):
                i = next(k for k, other in enumerate(grad_outputs) if other is g)
                j = next(k for k, other in enumerate(outputs) if other is t)
                raise RuntimeError(
                    f'Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{j}] has a '
                    f"shape of {t.shape}."
                )
    if len(grad_outputs) < len(outputs):  # (the engine's check; extra gradients are dropped by the zip)
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grad_outputs)} gradients")
    roots, grads = [], []
    for i, (t, g) in enumerate(zip(outputs, grad_outputs)):
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            ones = xp.ones_like(t._data, order="C")  # (on the output's device: ones_like dispatches to CuPy)
            g = Tensor._make(ones) if create_graph else ones
        elif g._data.dtype != t._data.dtype:
            # The engine casts a root's gradient to its output's dtype (validate_outputs), so a float64
            # grad_output of a float32 output gives float32 gradients.
            from .functional import to

            g = to(g, t.dtype) if create_graph else g._data.astype(t._data.dtype)
        else:
            g = g if create_graph else g._data
        roots.append(edge_to(t))
        grads.append(g)
    return roots, grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    from .tensor import Tensor

    if isinstance(tensors, Tensor):
        tensors = (tensors,)
    tensors = tuple(tensors)
    grad_tensors = _tensors_tuple(grad_tensors, len(tensors))
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:  # (PyTorch checks this before the outputs, and the inputs' types after them)
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    roots, grads = _check_outputs(tensors, grad_tensors, create_graph=create_graph)
    if inputs is not None:
        for t in inputs:
            if not isinstance(t, Tensor):
                raise RuntimeError(
                    f"all inputs have to be Tensors or GradientEdges, but got {type(t).__name__}"
                )
            # As PyTorch's run_backward: every input is made to retain its grad (which refuses one that does
            # not require grad), so a non-leaf input's .grad accumulates through its retain_grad hook, now
            # and in later passes.
            t.retain_grad()
        edges = {edge_to(t): i for i, t in enumerate(inputs)}
        captured = run_backward(roots, grads, retain_graph=retain_graph, create_graph=create_graph,
                                targets=edges)
        for t, g in zip(inputs, captured):
            if g is not None and t.grad_fn is None:
                _accumulate(t, g, create_graph)
        return
    run_backward(roots, grads, retain_graph=retain_graph, create_graph=create_graph)


def _tensors_tuple(grads, length):
    """PyTorch's _tensor_or_tensors_to_tuple: None for each output, a tensor as one, anything else as a
    sequence (tuple(3.0) fails with Python's own TypeError, as there)."""
    if grads is None:
        return (None,) * length
    from .tensor import Tensor

    if isinstance(grads, Tensor):
        return (grads,)
    return tuple(grads)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """torch.autograd.grad: the gradients of `outputs` with respect to `inputs`, as a tuple."""
    from .tensor import Tensor

    single_out = isinstance(outputs, Tensor)
    outputs = (outputs,) if single_out else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but "
                         "got: allow_unused=False.")
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    grad_outputs = _tensors_tuple(grad_outputs, len(outputs))
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    # (PyTorch's engine checks the outputs first, then each input's type, then that they require grad)
    roots, grads = _check_outputs(outputs, grad_outputs, create_graph=create_graph)
    for t in inputs:
        if not isinstance(t, Tensor):
            raise RuntimeError(f"all inputs have to be Tensors or GradientEdges, but got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    edges = {}
    slots = []
    for t in inputs:
        e = edge_to(t)
        slots.append(edges.setdefault(e, len(edges)))
    captured = run_backward(roots, grads, retain_graph=retain_graph, create_graph=create_graph, targets=edges)
    result = []
    for i, (t, slot) in enumerate(zip(inputs, slots)):
        g = captured[slot]
        if g is None:
            if materialize_grads:
                g = t._data * 0
            elif not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
            else:
                result.append(None)
                continue
        if not isinstance(g, Tensor):
            g = _grad_tensor(g)
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)
