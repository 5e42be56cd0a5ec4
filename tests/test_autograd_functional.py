"""torch.autograd.functional against PyTorch: values, and every misuse with PyTorch's exception and words.

Each case is one call run by gradcli and by PyTorch (in this process) on the same program; the printed result
(addresses masked) or the error (type and message) must be the same. The corpus programs
autograd_functional*.grad cover the common uses byte for byte."""

from __future__ import annotations

import pytest
from oracle import mask_addresses, run_with_gradcli, run_with_torch

PRELUDE = "import torch\nfrom torch.autograd.functional import jacobian, hessian, vjp, jvp, hvp, vhp\n"


@pytest.mark.parametrize(
    "call",
    [
        'jacobian(lambda x: x, 3)',
        'jacobian(lambda x: 3, torch.ones(2))',
        'jacobian(lambda x, y: x, (torch.ones(2), 4))',
        'jacobian(lambda x: x * 2, torch.ones(2), strict=True, vectorize=True)',
        'jacobian(lambda x: x.detach(), torch.ones(2), strict=True)',
        'jacobian(lambda x, y: x * 2, (torch.ones(2), torch.ones(2)), strict=True)',
        'jacobian(lambda x: x * 2, torch.ones(2), strategy="foo")',
        'jacobian(lambda x: x * 2, torch.ones(2), strategy="forward-mode")',
        'jacobian(lambda x: x * 2, torch.ones(2), strategy="forward-mode", create_graph=True)',
        'jacobian(lambda x: x * 2, torch.ones(2), create_graph=True, strict=True)',
        'hessian(lambda x: x * 2, torch.ones(2))',
        'hessian(lambda x: (x * 2, x), torch.ones(2))',
        'hessian(lambda x: (x * 2).sum(), torch.ones(2), strict=True)',
        'hessian(lambda x: (x ** 2).sum(), torch.ones(2), strict=True)',
        'hessian(lambda x: (x ** 3).sum(), torch.ones(2), strict=True)',
        'hessian(lambda x: x.sum(), torch.ones(2), outer_jacobian_strategy="x")',
        'vjp(lambda x: x * 2, torch.ones(2))',
        'vjp(lambda x: x * 2, torch.ones(2), torch.ones(3))',
        'vjp(lambda x: (x * 2, x), torch.ones(2), (torch.ones(2),))',
        'vjp(lambda x: (x * 2, x), torch.ones(2), (torch.ones(2), torch.ones(3)))',
        'vjp(lambda x: x * 2, torch.ones(2), [torch.ones(2)])',
        'vjp(lambda x, y: x * 2, (torch.ones(2), torch.ones(2)), torch.ones(2), strict=True)',
        'jvp(lambda x: x * 2, torch.ones(2))',
        'jvp(lambda x: x * 2, torch.ones(2), torch.ones(3))',
        'jvp(lambda x: x.detach() * 2, torch.ones(2), torch.ones(2), strict=True)',
        'jvp(lambda x: x * 2, torch.ones(2), torch.ones(2), strict=True)',
        'hvp(lambda x: x * 2, torch.ones(2), torch.ones(2))',
        'hvp(lambda x: x.sum(), torch.ones(2))',
        'hvp(lambda x: (x ** 2).sum(), torch.ones(2), torch.ones(2), strict=True)',
        'hvp(lambda x: (x * 2).sum(), torch.ones(2), torch.ones(2), strict=True)',
        'vhp(lambda x: (x, x), torch.ones(2), torch.ones(2))',
        'vhp(lambda x: (x * 2).sum(), torch.ones(2), torch.ones(2), strict=True)',
        'vhp(lambda x: (x ** 3).sum(), torch.ones(2), torch.ones(2), strict=True, create_graph=True)',
        'jacobian(lambda x: x * 2, torch.ones(2), vectorize=True, create_graph=True)',
        'jacobian(lambda x: x * 2, torch.ones(2), vectorize=True, create_graph=False)',
        'jacobian(lambda x: x[:0], torch.ones(2))',
        # values: several inputs and outputs, create_graph, an output with no elements
        "jacobian(lambda a, b: (a * b, (a + b).sum()), (torch.ones(2), torch.tensor([2., 3.])))",
        "hessian(lambda a, b: (a * b * b).sum(), (torch.tensor([1., 2.]), torch.tensor([3., 4.])))",
        "jacobian(lambda x: x.exp(), torch.tensor([0.5, 1.0], requires_grad=True), create_graph=True)",
        "vjp(lambda x: x.sin(), torch.tensor([0.5, 1.0]), torch.tensor([1., 2.]), create_graph=True)",
        "jvp(lambda x: (x * x, x.sum()), torch.tensor([0.5, 1.0]), torch.tensor([1., 2.]))",
        "hvp(lambda x: x.exp().sum(), torch.tensor([0.5, 1.0]), torch.tensor([1., 2.]), create_graph=True)",
        "vhp(lambda x, y: (x * y).sum(), (torch.ones(2), torch.ones(2)), (torch.ones(2), torch.ones(2)))",
        "jacobian(lambda x: x * 2, torch.ones(2, dtype=torch.float64))",
    ],
)
def test_call_matches_torch(torch, call):
    source = PRELUDE + f"r = {call}\nprint(r)\n"
    want_out, want_err = run_with_torch(torch, source)
    got_out, result = run_with_gradcli(source)
    got_err = result.error
    if want_err is None:
        assert got_err is None, f"gradcli raised {got_err.kind}: {got_err.message}"
        assert mask_addresses(got_out) == mask_addresses(want_out)
    else:
        assert got_err is not None, f"PyTorch raised {type(want_err).__name__}: {want_err}"
        assert (got_err.kind, got_err.message) == (type(want_err).__name__, str(want_err))


def test_forward_mode_is_refused_not_ignored():
    """gradcli has no forward-mode AD: PyTorch's own checks first, then a refusal that says so."""
    call = "jacobian(lambda x: x * 2, torch.ones(2), strategy='forward-mode', vectorize=True)\n"
    _, result = run_with_gradcli(PRELUDE + call)
    assert result.error.kind == "RuntimeError"
    assert "forward-mode" in result.error.message and "gradcli" in result.error.message
