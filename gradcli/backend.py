"""The one seam between gradcli and its array library.

Every other module gets arrays through here: `xp` is the namespace that tensors compute with
(numpy on the CPU; CuPy when a GPU is asked for), `host` is numpy, where values go to be printed
or exported. CuPy is imported only by `use_cuda()`, so the CPU path never pays for it.
"""

from __future__ import annotations

import numpy

host = numpy
xp = numpy

# PyTorch computes log(0), 1/0 and overflow silently (inf, nan); numpy would warn on stderr.
numpy.seterr(all="ignore")


class BackendUnavailable(RuntimeError):
    """CuPy or a GPU is missing; the message says which."""


def to_host(array):
    """A numpy array with the values of `array` (a no-op on the CPU)."""
    if isinstance(array, numpy.ndarray):
        return array
    get = getattr(array, "get", None)
    return get() if get is not None else numpy.asarray(array)


def namespace_of(array):
    """The array namespace an array belongs to (numpy or cupy)."""
    if isinstance(array, (numpy.ndarray, numpy.generic)):
        return numpy
    return _cupy()


_cupy_module = None


def _cupy():
    global _cupy_module
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
    return _cupy_module


def cuda_namespace():
    """The CuPy module, importing it on first use; raises BackendUnavailable if it cannot work."""
    return _cupy()


def use_device(device: str) -> None:
    """Make `device` the place new tensors live. Only the CPU is implemented so far; asking for CUDA
    checks what is missing first, so the message says whether it is CuPy or the GPU."""
    if device == "cpu":
        return
    cuda_namespace()
    raise BackendUnavailable("gradcli's CUDA backend is not implemented yet: run without --device cuda")
