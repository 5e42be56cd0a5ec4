"""torch.autograd.gradcheck / gradgradcheck: what the differential corpus cannot show.

The corpus (tests/corpus/*gradcheck*.grad) compares passing and failing checks with PyTorch byte for byte;
here: the options gradcli refuses instead of ignoring, the non-double warning, that a resource limit is
never swallowed as a failed check, and that the check leaves its inputs as it found them.
"""

from __future__ import annotations

import dataclasses
import io
import pathlib
import textwrap
import warnings

import pytest

from gradcli import gradcheck as gradcheck_module
from gradcli import limits
from gradcli.session import run

PREAMBLE = """
import torch
from torch.autograd import gradcheck, gradgradcheck
x = torch.tensor([0.5, -1.5], dtype=torch.float64, requires_grad=True)
"""


def run_script(body: str, **kwargs):
    out = io.StringIO()
    result = run(PREAMBLE + textwrap.dedent(body), out=out, **kwargs)
    return out.getvalue(), result.error


@pytest.mark.parametrize(
    "call",
    [
        "gradcheck(torch.sin, (x,), fast_mode=True)",
        "gradcheck(torch.sin, (x,), check_forward_ad=True)",
        "gradcheck(torch.sin, (x,), check_batched_grad=True)",
        "gradgradcheck(torch.sin, (x,), fast_mode=True)",
        "gradgradcheck(torch.sin, (x,), gen_non_contig_grad_outputs=True)",
        "gradcheck(lambda a, rest: a * rest[0], (x, [x]))",
    ],
)
def test_unimplemented_options_are_refused_not_ignored(call):
    out, error = run_script(f"print({call})")
    assert out == ""
    assert error.kind == "RuntimeError"
    assert error.message.startswith("gradcli: ") and "is not supported" in error.message


def test_failure_is_a_gradcheck_error_a_script_catches_as_runtime_error():
    out, error = run_script("""
        try:
            gradcheck(lambda a: a.detach() * 2, (x,))
        except RuntimeError as e:
            print("caught:", e)
        gradcheck(lambda a: a.detach() * 2, (x,))
    """)
    assert out == "caught: Numerical gradient for function expected to be zero\n"
    assert error.kind == "GradcheckError"
    assert error.message == "Numerical gradient for function expected to be zero"


def test_non_double_input_warns_once_on_stderr():
    gradcheck_module._WARNED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        out, error = run_script("""
            y = torch.tensor([1.0, 2.0], requires_grad=True)
            loose = {"eps": 1e-2, "atol": 1e-2}
            print(gradcheck(lambda a: a * 2, (y,), **loose), gradcheck(lambda a: a * 3, (y,), **loose))
        """)
    assert (out, error) == ("True True\n", None)
    assert [str(w.message) for w in caught] == [
        "Input #0 requires gradient and is not a double precision floating point or complex. This check will "
        "likely fail if all the inputs are not of double precision floating point or complex. "
    ]
    assert all(w.category is UserWarning for w in caught)


def test_a_limit_is_not_a_failed_check():
    tight = dataclasses.replace(limits.DEFAULT, max_steps=200)
    out, error = run_script("""
        big = torch.ones(1000, dtype=torch.float64, requires_grad=True)
        print(gradcheck(lambda a: a * 2, (big,), raise_exception=False))
    """, run_limits=tight)
    assert out == ""
    assert error.kind == "LimitError"


def test_inputs_are_restored_bit_for_bit_and_get_no_grad():
    out, error = run_script("""
        z = torch.tensor([0.1, 1e-7, -3.3], dtype=torch.float64, requires_grad=True)
        before = z.tolist()
        print(gradcheck(lambda a: a.exp() * a, (z,)), z.tolist() == before, z.grad, z.is_leaf)
    """)
    assert (out, error) == ("True True None True\n", None)


def test_sim_cuda_jacobians_stay_on_the_device_and_print_as_pytorchs():
    from fakecupy.simulate import on_device

    program = (pathlib.Path(__file__).parent / "corpus" / "err_gradcheck_wrong_backward.grad").read_text()
    out = io.StringIO()
    with on_device("sim-cuda"):
        result = run(program, out=out)
    assert out.getvalue().startswith("tensor([2.2500, 0.2500, 4.0000], device='cuda:0', dtype=torch.float64,")
    assert result.error.kind == "GradcheckError"
    assert result.error.message == (
        "Jacobian mismatch for output 0 with respect to input 0,\n"
        "numerical:tensor([[ 3.0000,  0.0000,  0.0000],\n"
        "        [ 0.0000, -1.0000,  0.0000],\n"
        "        [ 0.0000,  0.0000,  4.0000]], device='cuda:0', dtype=torch.float64)\n"
        "analytical:tensor([[ 1.5000,  0.0000,  0.0000],\n"
        "        [-0.0000, -0.5000, -0.0000],\n"
        "        [ 0.0000,  0.0000,  2.0000]], device='cuda:0', dtype=torch.float64)\n"
    )
