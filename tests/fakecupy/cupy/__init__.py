"""A FAKE CuPy, for tests only: SIMULATED GPU arrays on the CPU.

It lets the CPU test run walk every device code path of gradcli (arrays that are not numpy arrays,
no implicit conversion to the host, results printed with device='cuda:0', mixed-device errors,
.cpu()/.cuda() round trips, backward on the device). It verifies gradcli's *plumbing*, never CuPy itself:
its arithmetic is numpy's, so numerical differences of real CUDA kernels, CuPy's own coverage of numpy's
API, streams and memory are NOT tested by it. The tests marked `gpu` are the real ones.

What it copies from CuPy (and is strict about, so code that works here cannot lean on numpy):
  * `ndarray` is not a numpy.ndarray; `numpy.asarray(a)` / `a.__array__()` raise TypeError, as CuPy's do;
  * numpy ufuncs and functions given one of these dispatch here (`__array_ufunc__`, `__array_function__`);
  * an operation that mixes one with a numpy.ndarray raises TypeError ("Unsupported type"), as CuPy's
    kernels do (numpy scalars and Python numbers are fine; it refuses even 0-d numpy arrays, which may
    be stricter than CuPy);
  * creation functions (zeros, arange, asarray, ...) make device arrays; `.get()` and `asnumpy` copy back;
  * ONLY WHAT THE REAL CUPY HAS (tests/fakecupy/cupy_api.json, recorded from cupy 14.2 by record_api.py):
    a numpy function with no cupy counterpart at the same module path makes numpy raise TypeError (CuPy's
    `__array_function__` returns NotImplemented), as does a ufunc method cupy lacks; a keyword argument a
    cupy function, ufunc or ndarray method does not take is a TypeError; an ndarray attribute cupy lacks
    is an AttributeError.
Only tests/fakecupy/simulate.py loads it (never by putting it on sys.path for `import cupy` elsewhere).
"""

from __future__ import annotations

import json as _json
import pathlib as _pathlib

import numpy as _np

__version__ = "0.0.fake"
FAKE = True

_API = _json.loads((_pathlib.Path(__file__).resolve().parent.parent / "cupy_api.json").read_text())
_FUNCTIONS = _API["functions"]  # module path under cupy ("" for cupy itself) -> {name: parameter names}
_UFUNCS = _API["ufuncs"]  # name -> the ufunc methods it has
_NDARRAY = _API["ndarray"]  # attribute -> parameter names, or "attribute"
# What cupy's ufunc.__call__ takes besides the operands (cupy/_core/_kernel.pyx pops these and raises
# "Wrong arguments" for any other), and what its reduce/accumulate/... take.
_UFUNC_CALL_KEYWORDS = {"out", "dtype", "casting"}
_UFUNC_METHOD_KEYWORDS = {"axis", "dtype", "out", "keepdims"}


def _check_arguments(name, params, args, kwargs):
    """TypeError, as Python would raise it, for arguments the real cupy callable does not take."""
    if params is None or params == "attribute" or any(p.startswith("**") for p in params):
        return
    keywords = {p for p in params if not p.startswith("*")}
    for key in kwargs:
        if key not in keywords:
            raise TypeError(f"{name}() got an unexpected keyword argument '{key}' (cupy {_API['cupy']})")
    if any(p.startswith("*") and p != "*" for p in params):
        return
    positional = params.index("*") if "*" in params else len(params)
    if len(args) > positional:
        raise TypeError(f"{name}() takes at most {positional} positional arguments ({len(args)} given)")


def _cupy_function(func):
    """The recorded parameters of cupy's counterpart of a numpy function, or None if cupy has none."""
    path = ".".join(func.__module__.split(".")[1:])
    table = _FUNCTIONS.get(path, {})
    name = getattr(func, "__name__", "")
    if name in table:
        return table[name] if table[name] is not None else ["**unknown"]
    return None


def _strict(x):
    """A numpy argument: refused as CuPy refuses it (scalars pass)."""
    raise TypeError(f"Unsupported type {type(x)}")


def _unwrap(x, *, strict=True):
    if type(x) is ndarray:
        return x._a
    if isinstance(x, _np.ndarray):
        if strict:
            _strict(x)
        return x
    if isinstance(x, (list, tuple)):
        items = [_unwrap(i, strict=strict) for i in x]
        return type(x)(items) if isinstance(x, tuple) else items
    return x


def _wrap(x):
    if isinstance(x, _np.ndarray):
        return ndarray(x)
    if isinstance(x, _np.generic):  # CuPy's reductions give 0-d arrays, never numpy scalars
        return ndarray(_np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(i) for i in x)
    if isinstance(x, list):
        return [_wrap(i) for i in x]
    return x


def _index(index):
    """Indices may hold device arrays (unwrapped); numpy index arrays are refused (strict)."""
    return _unwrap(index)


class _Memory:
    def __init__(self, a):
        self.ptr = a.__array_interface__["data"][0]


class ndarray:  # noqa: N801 - CuPy's name
    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, a):
        self._a = a

    # ---------------------------------------------------------------- no implicit host conversion
    def __array__(self, *args, **kwargs):
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy "
            "array explicitly."
        )

    def get(self, stream=None, order="C", out=None):
        return self._a.copy()

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    # ---------------------------------------------------------------- metadata
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray(self._a.T))
    data = property(lambda self: _Memory(self._a))
    device = property(lambda self: cuda.Device(0))

    def __repr__(self):
        return f"fakecupy.{self._a!r}"

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (ndarray(_np.asarray(r)) for r in self._a)

    def __bool__(self):
        return bool(self._a)

    def __int__(self):
        return int(self._a)

    def __float__(self):
        return float(self._a)

    def __index__(self):
        return self._a.__index__()

    def __getitem__(self, index):
        return _wrap(self._a[_index(index)])

    def __setitem__(self, index, value):
        self._a[_index(index)] = _unwrap(value)

    def __getattr__(self, name):  # methods: sum, astype, reshape, ... on the wrapped values
        if name.startswith("__"):  # (no __array_interface__ and the like: numpy must not see the values)
            raise AttributeError(name)
        if name not in _NDARRAY:
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}' (cupy {_API['cupy']})")
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            _check_arguments(f"ndarray.{name}", _NDARRAY[name], args, kwargs)
            args = _unwrap(args)
            kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
            return _wrap(attr(*args, **kwargs))

        return method

    # ---------------------------------------------------------------- numpy's protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = ufunc.__name__  # cupy looks the ufunc up by name, then the method on it
        if name in _UFUNCS:
            if method != "__call__" and method not in _UFUNCS[name]:
                return NotImplemented
            allowed = _UFUNC_CALL_KEYWORDS if method == "__call__" else _UFUNC_METHOD_KEYWORDS
            for key in kwargs:
                if key not in allowed:
                    raise TypeError(f"Wrong arguments {{{key!r}: ...}} for cupy's {name}.{method}")
        elif name in _FUNCTIONS[""] and method == "__call__":  # matmul: a function in cupy
            _check_arguments(name, _FUNCTIONS[""][name], inputs, kwargs)
        else:
            return NotImplemented
        inputs = _unwrap(inputs)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _unwrap(out)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if out is not None:
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        params = _cupy_function(func)
        if params is None:  # numpy then raises "no implementation found for 'numpy.<name>'"
            return NotImplemented
        for t in types:
            if not issubclass(t, (ndarray, _np.ndarray)):
                return NotImplemented
        _check_arguments(func.__name__, params, args, kwargs)
        args = _unwrap(args)
        kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
        return _wrap(func(*args, **kwargs))


def _binary(name, reflected=False):
    ufunc = getattr(_np, name)

    def op(self, other):
        other = _unwrap(other)
        if reflected:
            return _wrap(ufunc(other, self._a))
        return _wrap(ufunc(self._a, other))

    return op


for _name, _ufunc in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "true_divide"),
                      ("floordiv", "floor_divide"), ("mod", "remainder"), ("pow", "power"),
                      ("matmul", "matmul"), ("and", "bitwise_and"), ("or", "bitwise_or"),
                      ("xor", "bitwise_xor")]:
    setattr(ndarray, f"__{_name}__", _binary(_ufunc))
    setattr(ndarray, f"__r{_name}__", _binary(_ufunc, reflected=True))
for _name, _ufunc in [("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal"),
                      ("eq", "equal"), ("ne", "not_equal")]:
    setattr(ndarray, f"__{_name}__", _binary(_ufunc))


def _inplace(name):
    ufunc = getattr(_np, name)

    def op(self, other):
        ufunc(self._a, _unwrap(other), out=self._a)
        return self

    return op


for _name, _ufunc in [("iadd", "add"), ("isub", "subtract"), ("imul", "multiply"),
                      ("itruediv", "true_divide"), ("iand", "bitwise_and"), ("ior", "bitwise_or")]:
    setattr(ndarray, f"__{_name}__", _inplace(_ufunc))
ndarray.__neg__ = lambda self: ndarray(-self._a)
ndarray.__pos__ = lambda self: ndarray(+self._a)
ndarray.__abs__ = lambda self: ndarray(abs(self._a))
ndarray.__invert__ = lambda self: ndarray(~self._a)
ndarray.__hash__ = None


# -------------------------------------------------------------------- the module's functions
class _Ufunc:
    def __init__(self, ufunc):
        self._u = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        for key in kwargs:
            if key not in _UFUNC_CALL_KEYWORDS:
                raise TypeError(f"Wrong arguments {{{key!r}: ...}} for cupy's {self.__name__}")
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _unwrap(out)
        result = self._u(*_unwrap(args), **{k: v for k, v in kwargs.items()})
        return out if out is not None else _wrap(result)

    def at(self, a, indices, b=None):
        if "at" not in _UFUNCS[self.__name__]:
            raise AttributeError(f"cupy's {self.__name__} has no 'at'")
        self._u.at(_unwrap(a), _index(indices), *(() if b is None else (_unwrap(b),)))

    def reduce(self, *args, **kwargs):
        if "reduce" not in _UFUNCS[self.__name__] or not set(kwargs) <= _UFUNC_METHOD_KEYWORDS:
            raise TypeError(f"cupy's {self.__name__}.reduce does not take {sorted(kwargs)}")
        return _wrap(self._u.reduce(*_unwrap(args), **kwargs))


def _function(fn):
    def call(*args, **kwargs):
        args = _unwrap(args)
        kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
        return _wrap(fn(*args, **kwargs))

    call.__name__ = getattr(fn, "__name__", "function")
    return call


def asarray(a, dtype=None, order=None):
    """Host data (lists, numpy arrays, scalars) copied to the device; a device array is itself."""
    if type(a) is ndarray:
        return a if dtype is None or a.dtype == dtype else ndarray(a._a.astype(dtype))
    return ndarray(_np.array(_unwrap(a, strict=False), dtype=dtype, order=order or "K"))


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    if type(a) is ndarray:
        return ndarray(_np.array(a._a, dtype=dtype, copy=True, order=order, ndmin=ndmin))
    return ndarray(_np.array(_unwrap(a, strict=False), dtype=dtype, copy=True, order=order, ndmin=ndmin))


def broadcast_to(array, shape):
    """A view that can be written, as CuPy's (its arrays have no read-only flag): numpy's is read-only."""
    a = _np.asarray(_unwrap(array))
    view = _np.broadcast_to(a, shape)
    if a.flags.writeable:
        view = _np.lib.stride_tricks.as_strided(a, view.shape, view.strides)
    return ndarray(view)


def asnumpy(a, stream=None, order="C", out=None):
    return a.get() if type(a) is ndarray else _np.asarray(a)


def get_array_module(*args):
    import sys

    return sys.modules[__name__] if any(type(a) is ndarray for a in args) else _np


def __getattr__(name):  # everything else: numpy's, run on the unwrapped arrays, if the real cupy has it
    attr = getattr(_np, name)
    if name in _UFUNCS and isinstance(attr, _np.ufunc):
        return _Ufunc(attr)
    if callable(attr) and not isinstance(attr, type):
        if name not in _FUNCTIONS[""]:
            raise AttributeError(f"module 'cupy' has no attribute '{name}' (not in cupy {_API['cupy']})")
        params = _FUNCTIONS[""][name]

        def checked(*args, **kwargs):
            _check_arguments(name, params, args, kwargs)
            return call(*args, **kwargs)

        call = _function(attr)
        return checked
    return attr


class cuda:  # noqa: N801 - CuPy's name
    """cupy.cuda, as far as gradcli and its tests reach."""

    class runtime:  # noqa: N801
        @staticmethod
        def getDeviceCount():  # noqa: N802 - CuPy's name
            return 1

    class Device:
        def __init__(self, index=0):
            self.id = index

        def synchronize(self):
            pass

        def __eq__(self, other):
            return isinstance(other, cuda.Device) and other.id == self.id

        def __hash__(self):
            return self.id
