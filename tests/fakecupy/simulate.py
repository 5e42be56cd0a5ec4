"""Switching gradcli's device for a test: the real GPU (CuPy), or the SIMULATED one (the fake CuPy in this
folder, see cupy/__init__.py), restoring everything afterwards so the next test starts on the CPU."""

from __future__ import annotations

import contextlib
import importlib.util
import pathlib
import sys

from gradcli import backend

FAKE_DIR = pathlib.Path(__file__).resolve().parent / "cupy"

_real_reason = ...


def real_gpu_unavailable() -> str | None:
    """None if real CuPy and a GPU are usable here, else why not (checked once, never with the fake)."""
    global _real_reason
    if _real_reason is ...:
        with _backend_saved():
            if getattr(sys.modules.get("cupy"), "FAKE", False):
                del sys.modules["cupy"]
            backend._cupy_module = None
            backend.device_ndarray = backend._NoDeviceArray
            _real_reason = backend.gpu_unavailable_reason()
    return _real_reason


def load_fake():
    spec = importlib.util.spec_from_file_location("cupy", FAKE_DIR / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_FAKE = None


@contextlib.contextmanager
def _backend_saved():
    saved = (backend._cupy_module, backend.device_ndarray, backend.default_device, sys.modules.get("cupy"))
    try:
        yield
    finally:
        backend._cupy_module, backend.device_ndarray, backend.default_device, cupy = saved
        # Only the fake is taken out again. The real CuPy, once imported, stays: imported a second time, its
        # lazily loaded submodules are left half made ("'cupyx' is not a package", seen on the H100).
        if getattr(sys.modules.get("cupy"), "FAKE", False):
            if cupy is None:
                sys.modules.pop("cupy", None)
            else:
                sys.modules["cupy"] = cupy


@contextlib.contextmanager
def simulated_gpu(default=True):
    """gradcli runs with the fake CuPy as its GPU; with default=True, factories default to it (as under
    --device cuda)."""
    global _FAKE
    if _FAKE is None:
        _FAKE = load_fake()
    with _backend_saved():
        sys.modules["cupy"] = _FAKE
        backend._cupy_module = None
        backend.device_ndarray = backend._NoDeviceArray
        backend.use_device("cuda" if default else "cpu")
        if not default:
            backend.cuda_namespace()
        yield _FAKE


@contextlib.contextmanager
def real_gpu(default=True):
    with _backend_saved():
        backend.use_device("cuda" if default else "cpu")
        if not default:
            backend.cuda_namespace()
        yield backend.cuda_namespace()


@contextlib.contextmanager
def on_device(name, default=True):
    """name: 'cpu', 'sim-cuda' (the fake) or 'cuda' (the real GPU)."""
    if name == "cpu":
        with _backend_saved():
            backend.use_device("cpu")
            yield None
    elif name == "sim-cuda":
        with simulated_gpu(default) as module:
            yield module
    else:
        with real_gpu(default) as module:
            yield module
