"""Custom autograd functions: `class Exp(Function)` with static `forward(ctx, ...)` and `backward(ctx, ...)`.

User functions share the built-in node machinery: `Exp.apply(x)` runs `forward` without recording, then
gives the outputs a `FunctionNode` whose `apply` calls the user's `backward`. Its node class is named
`ExpBackward`, as PyTorch names it.
"""

from __future__ import annotations

import weakref

from .backend import namespace_of
from .engine import FREED_MESSAGE, GRAD, Node, ThroughBase, _grad_tensor, _sequence, edge_to
from .ops import (
    VIEW_CUSTOM,
    VIEW_MULTI,
    follow_view,
    forget_view_nodes,
    rebase_view,
    view_change_error,
    view_node_name,
)
from .tensor import Tensor


class FunctionCtx:
    """The `ctx` a user's forward and backward share. Scripts may set their own attributes on it."""

    SCRIPT_ATTRS = frozenset(
        {"save_for_backward", "saved_tensors", "needs_input_grad", "mark_non_differentiable",
         "set_materialize_grads", "mark_dirty"}
    )
    SCRIPT_OPEN = True  # any other non-underscore attribute is the script's own

    def __init__(self, needs_input_grad, name="Backward"):
        self._name = name  # PyTorch's ctx is the backward node itself, so messages name that class
        self.needs_input_grad = needs_input_grad
        self._to_save = None
        self._saved = None
        self._freed = False
        self._non_differentiable = ()
        self._dirty = ()
        self._materialize = True
        self._node = None

    def __repr__(self):
        return f"<torch.autograd.function.{self._name} object at {id(self):#x}>"

    def __getattr__(self, name):  # (only for names not set: the script's own attributes)
        raise AttributeError(f"'{self._name}' object has no attribute '{name}'")

    def save_for_backward(self, *tensors):
        # (checked when apply records the node, as PyTorch does: under no_grad anything may be passed)
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value):
        self._materialize = bool(value)

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(FREED_MESSAGE)
        if self._saved is None:  # in forward, before apply has saved anything: PyTorch gives ()
            return () if self._node is None else tuple(self._to_save or ())
        out = []
        for item in self._saved:
            if item is None:
                out.append(None)
                continue
            t, array, counter, version = item
            if counter[0] != version:
                from .ops import _modified_message

                raise RuntimeError(_modified_message(t, counter[0], version, self._node(), array))
            if t is None:  # one of our own outputs: rebuilt on demand so ctx holds no reference cycle
                t = Tensor._make(array)
                t._version = counter
                t.grad_fn = self._node()
                t._rg = True
            out.append(t)
        return tuple(out)


class FunctionNode(Node):
    """The backward node of a user Function; subclassed per Function as `<Name>Backward`."""

    __slots__ = ("ctx", "n_outputs", "meta", "input_kinds")
    function = None

    def __repr__(self):
        return f"<torch.autograd.function.{self.name()} object at {id(self):#x}>"

    def apply(self, grads, create_graph):
        ctx = self.ctx
        if ctx is None:
            raise RuntimeError(FREED_MESSAGE)
        wrapped = []
        for g, info in zip(grads, self.meta):
            if g is None:
                if ctx._materialize and info is not None:
                    # (zeros even when no output got a gradient, as PyTorch's; on the GPU under --device cuda)
                    g = Tensor._make(info[2].zeros(info[0], dtype=info[1]))
                wrapped.append(g)
            else:
                wrapped.append(_grad_tensor(g))
        result = self.function.backward(ctx, *wrapped)
        if not isinstance(result, tuple):
            result = (result,)
        n_inputs = len(self.input_kinds)
        if len(result) != n_inputs:
            if len(result) > n_inputs and all(r is None for r in result[n_inputs:]):
                result = result[:n_inputs]
            else:
                raise RuntimeError(
                    f"function {self.name()} returned an incorrect number of gradients (expected {n_inputs}, "
                    f"got {len(result)})"
                )
        outs = []
        for i, (g, kind) in enumerate(zip(result, self.input_kinds)):
            if kind is None:
                if g is not None:
                    raise RuntimeError(
                        f"function {self.name()} returned a gradient different than None at position "
                        f"{i + 1}, but the corresponding forward input was not a Variable"
                    )
                continue
            if g is None:
                outs.append(None)
                continue
            if type(g) is not Tensor:
                raise RuntimeError(f"expected Variable or None (got {type(g).__name__})")
            shape, dtype = kind
            if tuple(g._data.shape) != shape:
                from .ops import check_broadcast

                try:  # PyTorch sums a gradient the input's shape expands to (is_expandable_to)
                    ok = check_broadcast(shape, g._data.shape) == g._data.shape
                except RuntimeError:
                    ok = False
                if not ok:
                    raise RuntimeError(
                        f"Function {self.name()} returned an invalid gradient at index {i} - got "
                        f"[{', '.join(map(str, g._data.shape))}] but expected shape compatible with "
                        f"[{', '.join(map(str, shape))}]"
                    )
                from .engine import _sum_to
                from .ops import ARRAY_MATH, TENSOR_MATH

                g = _sum_to(TENSOR_MATH, g, shape) if create_graph else Tensor._make(
                    _sum_to(ARRAY_MATH, g._data, shape))
            if g._data.dtype != dtype.np:
                # The engine casts a gradient to its input's dtype (validate_outputs): a float64 gradient
                # returned for a float32 input arrives as float32.
                from .functional import to

                g = to(g, dtype)
            outs.append(g if create_graph else g._data)
        return outs

    apply_undefined = apply  # (it calls backward, with zeros or None: Node.apply_undefined)

    def release(self):
        if self.ctx is not None:
            self.ctx._freed = True
            self.ctx._saved = None
            self.ctx._to_save = None


class Function:
    """Base class for user-defined autograd functions (`torch.autograd.Function`)."""

    SCRIPT_ATTRS = frozenset({"apply", "forward", "backward"})
    _node_class = None

    def __init__(self, *args, **kwargs):
        pass  # (PyTorch only warns that an autograd function should not be instantiated)

    def __call__(self, *args, **kwargs):  # the legacy call style is what PyTorch refuses
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use new-style "
            "autograd function with static forward method. "
            "(Example: https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)"
        )

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or the vjp method for your custom autograd.Function to "
            "use it "
            "with backward mode AD."
        )

    @classmethod
    def _node_type(cls):
        node_class = cls.__dict__.get("_node_class")
        if node_class is None:
            node_class = type(cls.__name__ + "Backward", (FunctionNode,), {"__slots__": (), "function": cls})
            cls._node_class = node_class
        return node_class

    @classmethod
    def apply(cls, *args, **kwargs):
        tensors = [a for a in args if type(a) is Tensor]
        needs = tuple(type(a) is Tensor and a._rg for a in args)
        # PyTorch takes the inputs' edges before forward runs: a view made under no_grad whose memory has
        # changed since is refused then, and a view forward changes in place keeps the node it had
        edges = tuple(edge_to(a) for a in tensors) if GRAD.enabled else None
        ctx = FunctionCtx(needs, cls.__name__ + "Backward")
        prev = GRAD.enabled
        GRAD.enabled = False
        try:
            outputs = cls.forward(ctx, *args, **kwargs)
        finally:
            GRAD.enabled = prev
        for t in ctx._dirty:  # (PyTorch bumps the version of a tensor marked dirty, recorded or not)
            if type(t) is Tensor:
                counter = t._version
                counter[0] += 1
                if len(counter) > 1:
                    forget_view_nodes(counter)
        record = prev and any(t._rg for t in tensors)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        if not record:
            if any(o is a for o in outs for a in args):
                # An input returned as is comes back as a new tensor on its memory (PyTorch's view_as),
                # which under no_grad does not require grad.
                outs = tuple(o.detach() if any(o is a for a in args) else o for o in outs)
                return outs[0] if single else outs
            return outputs
        for t in ctx._dirty:  # (PyTorch's check of inputs marked dirty, once the node is to be recorded)
            if type(t) is not Tensor or not t._rg:
                continue
            base = t._base
            acc = t._acc
            # (a view that requires grad as a leaf too, made under no_grad, has no node; one whose node
            # forward's change made out of date had one: ops.forget_view_nodes)
            if t.grad_fn is None and not (type(acc) is ThroughBase and acc.version < 0):
                raise RuntimeError(
                    "a leaf Variable that requires grad has been used in an in-place operation."
                )
            if base is not None and t._creation is not None:
                raise view_change_error(t._creation, view_node_name(t), t.output_nr)
            if base is not None and base._rg and base.grad_fn is None:
                raise RuntimeError(
                    "a view of a leaf Variable that requires grad is being used in an in-place operation."
                )
        node = cls._node_type().__new__(cls._node_type())
        node.seq = next(_sequence)
        node.retained = None
        node.ctx = ctx
        ctx._node = weakref.ref(node)  # (a strong reference would make node -> ctx -> node a cycle)
        # Only tensor arguments have an edge (PyTorch's next_functions skips the others); backward still
        # returns one gradient per argument, and input_kinds says which are tensors.
        node.next_functions = edges
        node.input_kinds = tuple((a._data.shape, a.dtype) if type(a) is Tensor else None for a in args)
        node.n_outputs = len(outs)
        # (shape, dtype, array namespace) of each output: the zeros backward gets for one with no gradient
        node.meta = tuple((o._data.shape, o._data.dtype, namespace_of(o._data)) if type(o) is Tensor else None
                          for o in outs)
        non_diff = {id(t) for t in ctx._non_differentiable}
        dirty = {id(t) for t in ctx._dirty}
        # (an integer or bool output is not differentiable: PyTorch leaves it without history)
        differentiable = [type(o) is Tensor and id(o) not in non_diff and o.dtype.is_floating_point
                          for o in outs]
        # the CreationMeta of outputs that are views: with more than one differentiable output, PyTorch's
        # multi-output one
        creation = VIEW_MULTI if sum(differentiable) > 1 else VIEW_CUSTOM
        tensor_args = [a for a in args if type(a) is Tensor]
        rebased = None
        fixed = []
        for i, o in enumerate(outs):
            if differentiable[i]:
                is_dirty = id(o) in dirty
                returned_input = any(o is a for a in args)
                if is_dirty and returned_input:
                    # An input changed in place takes the Function's history itself (PyTorch's
                    # rebase_history); a view, through its base, when the node can run on its part of it
                    if o._base is None:
                        o.grad_fn, o.output_nr, o._rg = node, i, True
                        fixed.append(o)
                        continue
                    if len(outs) == 1 and tensor_args[0] is o and o._base._data.flags["C_CONTIGUOUS"]:
                        rebase_view(o, node)
                        rebased = o  # (saved, it is still an output of node, as in PyTorch)
                        fixed.append(o)
                        continue
                if returned_input:
                    # Returning an input as is: PyTorch returns a view of it that carries the new history.
                    view = o.detach()
                    view._base = o if o._base is None else o._base
                    o = view
                o.grad_fn = node
                o.output_nr = i
                o._rg = True
                if o._base is not None and not is_dirty:
                    # A view (of an input or not) may not be changed in place, nor used once its memory
                    # changed, which would bypass backward (PyTorch's CreationMeta IN_CUSTOM_FUNCTION).
                    o._creation = creation
                    o._acc = None
                    follow_view(o)
            fixed.append(o)
        # Save after the outputs are known, so a saved output can be held as bare memory.
        if ctx._to_save is not None:
            saved = []
            for i, t in enumerate(ctx._to_save):
                if t is not None and type(t) is not Tensor:
                    raise TypeError("save_for_backward can only save variables, but argument "
                                    f"{i} is of type {type(t).__name__}")
                if t is None:
                    saved.append(None)
                elif t.grad_fn is node or t is rebased:
                    saved.append((None, t._data, t._version, t._version[0]))
                else:
                    saved.append((t, t._data, t._version, t._version[0]))
            ctx._saved = tuple(saved)
            ctx._to_save = None
        return fixed[0] if single else tuple(fixed)
