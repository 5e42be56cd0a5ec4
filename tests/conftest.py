"""Shared fixtures. PyTorch is the oracle: imported once per session, only by tests that ask for it.

Without torch those tests skip, except when GRADCLI_REQUIRE_TORCH=1 (as in CI), where a missing
oracle is an error, so oracle tests can never pass by silently skipping.
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
