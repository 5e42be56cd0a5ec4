"""Shared fixtures. PyTorch is the oracle: imported once per session, only by tests that ask for it.

Without torch those tests skip, except when GRADCLI_REQUIRE_TORCH=1 (as in CI), where a missing
oracle is an error, so oracle tests can never pass by silently skipping.

Tests marked `gpu` need CuPy and an NVIDIA GPU: without them they skip (counted as skipped, with the reason:
CuPy or the GPU missing). That skip is the marker's own, apart from the torch fixture, so
GRADCLI_REQUIRE_TORCH=1 does not turn it into a failure. `python -m pytest -m gpu` runs only them.
"""

from __future__ import annotations

import os

import pytest

_torch = None


def load_torch():
    global _torch
    if _torch is None:
        try:
            import torch
        except ImportError:
            if os.environ.get("GRADCLI_REQUIRE_TORCH") == "1":
                raise
            pytest.skip("PyTorch (the test oracle) is not installed")
        torch.set_num_threads(1)
        _torch = torch
    return _torch


@pytest.fixture(scope="session")
def torch():
    return load_torch()


def pytest_runtest_setup(item):
    if item.get_closest_marker("gpu") is not None:
        from fakecupy.simulate import real_gpu_unavailable

        reason = real_gpu_unavailable()
        if reason is not None:
            pytest.skip(f"no GPU: {reason}")
