"""Tensor: a backend array plus the autograd bookkeeping PyTorch keeps for it.

The methods are thin: each one names a function in `functional`, where arguments are parsed the way
PyTorch parses them and the op table does the work.
"""

from __future__ import annotations

import gc
import weakref

from . import backend, dtypes, limits
from .backend import to_host
from .engine import ThroughBase


class Size(tuple, metaclass=dtypes.TorchClass):
    """torch.Size: a tuple that prints as `torch.Size([2, 3])`."""

    TORCH_NAME = "Size"
    __format__ = dtypes.torch_format

    SCRIPT_ATTRS = frozenset({"numel", "count", "index"})

    def __repr__(self):
        return f"torch.Size([{', '.join(str(n) for n in self)}])"

    __str__ = __repr__

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other):
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        if not hasattr(type(n), "__index__"):
            raise TypeError(f"can't multiply sequence by non-int of type '{type(n).__name__}'")
        return Size(tuple.__mul__(self, n))

    def __rmul__(self, n):
        if isinstance(n, (list, tuple, str)):  # `[1] * size`: the list is the sequence, the Size the non-int
            raise TypeError("can't multiply sequence by non-int of type 'torch.Size'")
        return self.__mul__(n)

    def numel(self):
        n = 1
        for d in self:
            n *= d
        return n


class Device(metaclass=dtypes.TorchClass):
    """torch.device: `device(type='cpu')`, printed by str() as `cpu`."""

    TORCH_NAME = "device"
    __format__ = dtypes.torch_format

    SCRIPT_ATTRS = frozenset({"type", "index"})
    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, Device):
            spec, index = spec.type, spec.index
        kind, _, num = str(spec).partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(
                "Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, "
                "xla, lazy, vulkan, mps, meta, hpu, mtia, privateuseone device type at start of device "
                f"string: {spec}"
            )
        self.type = kind
        self.index = int(num) if num else index

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index or 0) == (other.type, other.index or 0)

    def __hash__(self):
        return hash((self.type, self.index or 0))


CPU = Device("cpu")
CUDA = Device("cuda", 0)  # the one GPU gradcli uses (CuPy's current device)

_NON_LEAF_FLAG = (
    "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a "
    "subgraph that doesn't require differentiation use var_no_grad = var.detach()."
)


_GRAD_DTYPE_HINT = (
    "The gradient must match the tensor's grad_dtype (defaults to the tensor's dtype). You can set the "
    "tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype. Set grad_dtype with "
    "caution. Diverging the dtypes of a tensor and its gradient may break downstream systems that assume "
    "they match."
)


class Tensor(metaclass=dtypes.TorchClass):
    # Set only where they mean something, and read only there: _creation, how a view was made, on views, with
    # _base (ops.VIEW_NO_GRAD and its siblings); _has_views on a base whose views follow its requires_grad.
    __slots__ = ("_data", "_rg", "grad", "grad_fn", "output_nr", "_version", "_acc", "_base", "_creation",
                 "_has_views", "__weakref__")
    TORCH_NAME = "Tensor"

    # What a script may read and write; the interpreter refuses everything else.
    SCRIPT_ATTRS = frozenset(
        """
        data grad grad_fn requires_grad is_leaf shape dtype device T mT ndim names backward detach detach_
        requires_grad_ retain_grad retains_grad zero_ fill_ uniform_ normal_ bernoulli_ bernoulli item tolist
        numel size dim t
        reshape view view_as reshape_as unsqueeze squeeze transpose permute expand expand_as flatten clone
        unbind contiguous is_contiguous double float half long int bool to cpu cuda type type_as numpy add sub
        mul div
        neg pow exp log sin cos tanh sigmoid relu sqrt abs clamp clamp_min clamp_max maximum minimum sum
        mean max min argmax argmin matmul mm mv bmm dot softmax log_softmax add_ sub_ mul_ div_ clamp_ copy_
        neg_ exp_ pow_ sign reciprocal square log1p expm1 std var norm is_floating_point element_size
        nelement new_tensor new_zeros new_ones zeros_like ones_like eq ne lt le gt ge equal allclose any all
        floor ceil round rsqrt prod cumsum abs_ tan register_hook output_nr erf logsumexp amax amin chunk
        split flip isnan isinf isfinite masked_fill masked_fill_ gather index_select repeat tril triu narrow
        cumprod sort argsort topk sinh cosh asin acos atan log2 log10 trace diag movedim roll is_cuda outer
        trunc frac exp2 atan2 hypot logaddexp lerp lerp_ moveaxis swapdims swapaxes ravel sgn signbit
        count_nonzero nansum nanmean masked_select diff addcmul addcdiv addcmul_ addcdiv_
        """.split()
    )
    SCRIPT_SETTABLE = frozenset({"requires_grad", "grad", "data"})

    def __init__(self, *args, **kwargs):
        raise TypeError("create tensors with torch.tensor(...), torch.zeros(...) and the like")

    @classmethod
    def _make(cls, array):
        t = object.__new__(cls)
        t._data = array
        t._rg = False
        t.grad = None
        t.grad_fn = None
        t.output_nr = 0
        t._version = [0]
        t._acc = None
        t._base = None
        return t

    # -------------------------------------------------------- autograd state
    @property
    def requires_grad(self):
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag):
        if not isinstance(flag, bool):
            raise TypeError("requires_grad must be a bool")
        if self._current_grad_fn() is not None:
            if not flag:
                raise RuntimeError(_NON_LEAF_FLAG)
            return
        if flag and self._data.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self._set_leaf_flag(flag)

    def requires_grad_(self, requires_grad=True):
        if self._current_grad_fn() is not None and not requires_grad:
            raise RuntimeError(_NON_LEAF_FLAG)
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if self.grad_fn is None:
            self._set_leaf_flag(requires_grad)
        return self

    def _set_leaf_flag(self, flag):
        base = self._base
        if base is not None and base._rg:
            # A view without a node of a base that requires grad (made under no_grad) requires grad whatever
            # its own flag, as in PyTorch; the flag only says whether it has an AccumulateGrad of its own.
            ref = self._acc
            if type(ref) is not ThroughBase:  # (it has had its own since before its base required grad)
                if flag:
                    return
                ref = self._acc = ThroughBase(self._version, self._version[0])
            ref.own = flag
            self._rg = True
            return
        if base is None and flag != self._rg and getattr(self, "_has_views", False):
            _share_requires_grad(self, flag)
        self._rg = flag

    def _current_grad_fn(self):
        """grad_fn as PyTorch reads it: a view whose node is out of date (its memory changed in place since it
        was made, ops.forget_view_nodes) or that had none (made under no_grad, or before its base required
        grad) and has changed since gets its new one now, or PyTorch's refusal (ops.changed_view_edge)."""
        fn = self.grad_fn
        if fn is None:
            acc = self._acc
            if type(acc) is ThroughBase and self._version[0] != acc.version and self._rg:
                from .engine import edge_to

                fn = edge_to(self)[0]
        return fn

    @property
    def is_leaf(self):
        return self._current_grad_fn() is None

    @property
    def data(self):
        """The same memory, cut off from autograd, with a version counter of its own (as in PyTorch)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"data must be a Tensor, not {type(other).__name__}")
        if self._rg and other._data.dtype.kind not in "fc":
            raise RuntimeError(
                "data set to a tensor that requires gradients must be floating point or complex dtype")
        self._data = other._data

    def script_set_grad(self, grad):
        """`t.grad = g` from a script, with PyTorch's checks of g's type, dtype and size."""
        if grad is not None:
            if not isinstance(grad, Tensor):
                raise TypeError("assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(grad).__name__}")
            if grad._data.dtype != self._data.dtype:
                from .ops import _C_NAMES  # noqa: PLC0415

                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{_C_NAMES[grad._data.dtype.name]}' to a "
                    f"tensor with grad_dtype '{self.dtype.legacy[:-6]}'. {_GRAD_DTYPE_HINT}"
                )
            if grad._data.shape != self._data.shape:
                given, own = (", ".join(map(str, s)) for s in (grad._data.shape, self._data.shape))
                raise RuntimeError(
                    f"attempting to assign a gradient of size '[{given}]' to a tensor of size '[{own}]'. "
                    "Please ensure that the gradient and the tensor are the same size"
                )
        self.grad = grad

    def detach(self):
        t = Tensor._make(self._data)
        t._version = self._version
        return t

    def detach_(self):
        if self._base is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel "
                "(DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP "
                "buckets, and hence detach_() cannot be called on these gradients. To fix this error, please "
                "refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution."
            )
        self.grad_fn = None
        self._rg = False
        return self

    def retain_grad(self):
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._current_grad_fn() is None:
            return
        from .engine import OutputHooks

        OutputHooks.of(self.grad_fn, self.output_nr).retain = weakref.ref(self)

    @property
    def retains_grad(self):
        node = self._current_grad_fn()
        if node is None or node.retained is None:
            return False
        hooks = node.retained.get(self.output_nr)
        return hooks is not None and hooks.retain is not None

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        from .engine import backward

        # (the gradient goes as it is: a list is taken as several gradients, as PyTorch does)
        backward((self,), gradient, retain_graph, create_graph, inputs)

    def register_hook(self, hook):
        from .engine import register_hook

        return register_hook(self, hook)

    # -------------------------------------------------------- metadata
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        from .ops import _dim

        d = _dim(dim, self._data.ndim)
        if not self._data.ndim:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self._data.shape[d]

    @property
    def dtype(self):
        return dtypes.of_array(self._data)

    @property
    def device(self):
        return CUDA if type(self._data) is backend.device_ndarray else CPU

    @property
    def is_cuda(self):
        return type(self._data) is backend.device_ndarray

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def is_contiguous(self):
        return bool(self._data.flags["C_CONTIGUOUS"])

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return to_host(self._data).reshape(()).item()

    def tolist(self):
        data = self._data
        if data.size == 0 or data.size > limits.active.max_sequence:
            # the lists (or numbers) tolist builds: a (10**12, 0) tensor holds nothing but makes 10**12 lists
            count = 1
            for n in data.shape:
                if n == 0:
                    break
                count *= n
            limits.check_sequence(count)
        return to_host(data).tolist()

    def numpy(self):
        if type(self._data) is backend.device_ndarray:  # (PyTorch's refusals come first, this one first)
            raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the "
                            "tensor to host memory first.")
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        raise RuntimeError("gradcli scripts cannot leave the tensor world: use .tolist() or .item() instead")

    # -------------------------------------------------------- printing
    def __repr__(self):
        from .formatting import format_tensor

        fn = self.grad_fn
        name = type(fn).__name__ if fn is not None else None
        acc = self._acc
        if type(acc) is ThroughBase and self._version[0] != acc.version:
            # PyTorch's grad_fn of such a view is made on demand once it has changed (or refused: the repr
            # says <Invalid>)
            from .engine import edge_to

            try:
                name = type(edge_to(self)[0]).__name__
            except RuntimeError:
                name = "Invalid"
        return format_tensor(
            to_host(self._data),
            device="cuda:0" if type(self._data) is backend.device_ndarray else None,
            grad_fn_name=name,
            requires_grad=self._rg,
            default_float=dtypes.defaults.float.name,
        )

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return repr(self)

    # -------------------------------------------------------- Python protocols
    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        # Iterating unbinds, as in PyTorch (the rows share one UnbindBackward0). A tuple iterator, not a
        # generator: scripts must never get hold of a frame.
        from .functional import unbind

        return iter(unbind(self, 0))

    def __contains__(self, element):
        # PyTorch's: any element equal to it (Python's fallback would iterate rows, and fail on a 0-d tensor)
        if type(element) is Tensor or isinstance(element, (bool, int, float)):
            return bool((element == self).any().item())
        raise RuntimeError(
            f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a {type(element)}."
        )

    def __reversed__(self):
        # PyTorch's: a flipped tensor, not an iterator
        return self if self._data.ndim == 0 else self.flip(0)

    def __bool__(self):
        if self._data.size != 1:
            many = "more than one value" if self._data.size else "no values"
            raise RuntimeError(f"Boolean value of Tensor with {many} is ambiguous")
        return bool(self._data.reshape(()))

    def __float__(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return float(self.item())

    def __int__(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self):
        return id(self)

    def __array__(self, *args, **kwargs):
        raise TypeError("gradcli tensors do not convert to arrays")


def _share_requires_grad(base, flag):
    """base.requires_grad_(flag) for a base that has views made while it did not require grad: PyTorch's views
    share their base's requires_grad, so those without a node of their own follow it (see ThroughBase). Views
    hold their base, not the other way round, so they are found as what refers to it (a scan of the objects
    the collector tracks, paid only here)."""
    for view in gc.get_referrers(base):
        if type(view) is Tensor and view._base is base and view.grad_fn is None:
            ref = view._acc
            if type(ref) is ThroughBase and ref.version < 0:  # (one whose node is out of date: it keeps
                continue                                       # requiring grad, ops.forget_view_nodes)
            if flag and not view._rg:
                view._rg = True
                view._acc = ThroughBase(view._version, view._version[0])
            elif not flag and type(ref) is ThroughBase:
                view._acc = ref.acc if ref.own else None  # (with requires_grad_() of its own, it still does)
                view._rg = ref.own


# The methods and operators live in functional, which attaches them when it loads: a reader sees Tensor's
# data and protocols here and the op surface in one table there. Importing it here makes sure it loads.
from . import functional  # noqa: E402, F401
