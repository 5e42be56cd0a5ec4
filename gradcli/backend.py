"""The one seam between gradcli and its array library.

Every other module gets arrays through here: `xp` is numpy, the namespace tensors compute with, and `host`
is numpy too, where values go to be printed or exported. Where a tensor lives is a property of its array:
a numpy.ndarray is on the CPU, a cupy.ndarray on the GPU (cuda:0). CuPy arrays implement numpy's
`__array_ufunc__` and `__array_function__`, so `xp.tanh(a)`, `xp.where(...)`, `xp.zeros_like(a)` run on the
GPU when `a` is there; only what makes a new array from nothing (numpy.zeros, numpy.arange, numpy.array of
a list, the random stream) and what reads values back into Python has to ask which device it is for:
`namespace_of(array)` (numpy or cupy) and `to_device` / `to_host`. Those live on slow paths only: the CPU
hot path never asks.

CuPy is imported only by `cuda_namespace()`, the first time a GPU is asked for (`--device cuda`,
`device="cuda"`, `.cuda()`), so the CPU path never pays for it.
"""

from __future__ import annotations

import numpy

host = numpy
xp = numpy

# PyTorch computes log(0), 1/0 and overflow silently (inf, nan); numpy would warn on stderr.
numpy.seterr(all="ignore")


class BackendUnavailable(RuntimeError):
    """CuPy or a GPU is missing; the message says which."""


class _NoDeviceArray:
    """Stands in for cupy.ndarray until CuPy is loaded: no array is of this type."""


# The GPU array type (cupy.ndarray) once CuPy is loaded. `type(a) is device_ndarray` is how the slow paths
# tell a GPU array from a CPU one without importing anything.
device_ndarray: type = _NoDeviceArray
# Where factories (torch.tensor, zeros, rand, ...) put a tensor that names no device: "cpu", or "cuda"
# under --device cuda (PyTorch's torch.set_default_device).
default_device = "cpu"

_numpy_asarray = numpy.asarray


def as_array(x):
    """An op's result as an array of its own device: numpy scalars (what numpy's reductions return)
    become 0-d numpy arrays; a GPU array is kept as it is (numpy.asarray would refuse it)."""
    if type(x) is device_ndarray:
        return x
    return _numpy_asarray(x)


def is_device_array(array) -> bool:
    """True for an array on the GPU."""
    return type(array) is device_ndarray


def to_host(array):
    """A numpy array with the values of `array` (a no-op on the CPU)."""
    if isinstance(array, numpy.ndarray):
        return array
    get = getattr(array, "get", None)
    return get() if get is not None else numpy.asarray(array)


def namespace_of(array):
    """The array namespace an array belongs to: cupy for a GPU array, numpy for anything else."""
    if type(array) is device_ndarray:
        return _cupy_module
    return numpy


def device_type_of(array) -> str:
    """'cuda' for a GPU array, 'cpu' otherwise."""
    return "cuda" if type(array) is device_ndarray else "cpu"


def to_device(array, device_type: str):
    """`array` on `device_type` ('cpu' or 'cuda'): itself when it is already there, else a copy."""
    if device_type == "cpu":
        return to_host(array)
    cupy = cuda_namespace()
    if type(array) is cupy.ndarray:
        return array
    return cupy.asarray(array)


def like(array, device_type: str):
    """A numpy array made on the host (a factory's result) moved to where it should live."""
    return array if device_type == "cpu" else to_device(array, device_type)


_cupy_module = None


def _cupy():
    global _cupy_module, device_ndarray
    if _cupy_module is None:
        try:
            import cupy  # noqa: PLC0415 - heavy, and only on request
        except ImportError as exc:
            raise BackendUnavailable(
                "CuPy is not installed: install it with `pip install 'gradcli[gpu]'` to use --device cuda"
            ) from exc
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA driver missing or broken
            raise BackendUnavailable(f"CuPy is installed but no CUDA GPU is usable: {exc}") from exc
        if count < 1:
            raise BackendUnavailable("CuPy is installed but this machine has no CUDA GPU")
        _cupy_module = cupy
        device_ndarray = cupy.ndarray
    return _cupy_module


def cuda_namespace():
    """The CuPy module, importing it on first use; raises BackendUnavailable if it cannot work."""
    return _cupy()


def use_device(device: str) -> None:
    """Make `device` ('cpu' or 'cuda') where new tensors live when a script names no device. Asking for
    CUDA checks what is missing first, so the message says whether it is CuPy or the GPU."""
    global default_device
    kind = str(device).partition(":")[0]
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}: expected cpu or cuda")
    if kind == "cuda":
        cuda_namespace()
    default_device = kind


def gpu_unavailable_reason() -> str | None:
    """None when CuPy and a GPU are usable here, else the one line that says which is missing."""
    try:
        cuda_namespace()
    except BackendUnavailable as exc:
        return str(exc)
    return None
