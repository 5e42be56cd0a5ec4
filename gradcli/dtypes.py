"""Tensor dtypes (`torch.float32`, ...) and PyTorch's type-promotion rules."""

from __future__ import annotations

from .backend import host


class TorchClass(type):
    """The metaclass of the classes a script reaches as torch.Tensor, torch.Size, torch.dtype and
    torch.device (and gets from type()): they print as PyTorch's, `<class 'torch.Tensor'>`."""

    def __repr__(cls):
        return f"<class 'torch.{cls.TORCH_NAME}'>"


def torch_format(self, spec):
    """format() of a dtype, Size or device: str() for an empty spec, else Python's refusal under PyTorch's
    name of the class."""
    if spec:
        raise TypeError(f"unsupported format string passed to torch.{type(self).TORCH_NAME}.__format__")
    return str(self)


class DType(metaclass=TorchClass):
    """A dtype as scripts see it: prints as `torch.float32`, compares by identity."""

    TORCH_NAME = "dtype"
    __format__ = torch_format

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "category", "legacy")
    SCRIPT_ATTRS = frozenset({"is_floating_point", "is_signed", "itemsize"})

    def __new__(cls, *args, **kwargs):
        # As PyTorch: a script cannot make dtypes of its own (one over an arbitrary numpy dtype, 'O' or
        # 'V1000000', would reach the engine as a tensor of Python objects or of unchecked size).
        raise TypeError("cannot create 'torch.dtype' instances")

    @classmethod
    def _make(cls, name, np_dtype, category, legacy):
        self = object.__new__(cls)
        self.name = name
        self.np = host.dtype(np_dtype)
        self.category = category  # 0 bool, 1 integer, 2 floating: PyTorch promotes across categories
        self.is_floating_point = category == 2
        self.is_signed = name not in ("bool", "uint8")
        self.itemsize = self.np.itemsize
        self.legacy = legacy  # the old tensor-type name used in some PyTorch messages
        return self

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (by_name, (self.name,))


bool_ = DType._make("bool", "bool", 0, "BoolTensor")
uint8 = DType._make("uint8", "uint8", 1, "ByteTensor")
int8 = DType._make("int8", "int8", 1, "CharTensor")
int16 = DType._make("int16", "int16", 1, "ShortTensor")
int32 = DType._make("int32", "int32", 1, "IntTensor")
int64 = DType._make("int64", "int64", 1, "LongTensor")
float16 = DType._make("float16", "float16", 2, "HalfTensor")
float32 = DType._make("float32", "float32", 2, "FloatTensor")
float64 = DType._make("float64", "float64", 2, "DoubleTensor")

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
# PyTorch's aliases: torch.float is float32, torch.double float64, torch.long int64, ...
ALIASES = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32, "short": int16}


def by_name(name: str) -> DType:
    return _BY_NAME[name]


def of_array(array) -> DType:
    """The DType of a backend array (raises TypeError for dtypes PyTorch would not have made)."""
    try:
        return _BY_NP[array.dtype]
    except KeyError:
        raise TypeError(f"gradcli does not support arrays of dtype {array.dtype}") from None


class _Defaults:
    """The default float dtype (`--dtype float64` is `torch.set_default_dtype(torch.float64)`)."""

    float = float32


defaults = _Defaults()


def promote_types(a: DType, b: DType) -> DType:
    """torch.promote_types: like numpy within a category, but an integer never widens a float."""
    if a is b:
        return a
    if a.category != b.category:
        hi, lo = (a, b) if a.category > b.category else (b, a)
        if hi.category == 2 or lo.category == 0:
            return hi
    return _BY_NP[host.promote_types(a.np, b.np)]


def scalar_dtype(value) -> DType:
    """The dtype a Python number takes when it becomes a tensor."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    return defaults.float


def result_type(operands) -> DType:
    """PyTorch's result type: dimensioned tensors outrank 0-d tensors, which outrank Python numbers,
    except that a higher category (bool < int < float) from a lower-ranked operand still wins."""
    dim = zero = wrapped = None
    for x in operands:
        if hasattr(x, "_data"):
            d = of_array(x._data)
            if x._data.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        else:
            d = scalar_dtype(x)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None or higher.category == 2:
        return higher
    if lower.category > higher.category:
        return promote_types(higher, lower)
    return higher
