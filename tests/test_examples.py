"""Every example runs under gradcli and prints exactly what PyTorch printed for it (examples/*.out)."""

from __future__ import annotations

import pathlib

import pytest
from oracle import mask_addresses, run_with_gradcli, run_with_torch

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parent.parent / "examples").glob("*.grad"))


def test_there_are_examples_with_expected_output():
    assert len(EXAMPLES) >= 9
    for path in EXAMPLES:
        assert path.with_suffix(".out").exists(), f"{path.name} has no .out file: run tests/make_golden.py"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_output_matches_pytorch(path):
    out, result = run_with_gradcli(path.read_text(), str(path))
    assert result.error is None, result.error.render()
    assert mask_addresses(out) == path.with_suffix(".out").read_text()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_golden_file_is_what_torch_prints(torch, path):
    out, error = run_with_torch(torch, path.read_text(), str(path))
    assert error is None
    assert mask_addresses(out) == path.with_suffix(".out").read_text(), "regenerate with tests/make_golden.py"
