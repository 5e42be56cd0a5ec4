"""Differential suite: every program in tests/corpus runs under gradcli and under Python + PyTorch.

For each program:
  * the printed output must be identical (object addresses masked), and when PyTorch raised, gradcli must
    fail with the same exception type and message, after printing the same output;
  * every tensor the program leaves bound at top level (and every tensor inside a top-level list or
    tuple) must have the same shape, dtype, requires_grad, values and `.grad` on both sides, compared
    numerically (float32: rtol 1e-5 / atol 1e-6).

Programs named `err_*.grad` fail in PyTorch by design (the corpus sanity test checks that they do, and
that the others do not). Mismatches found here are gradcli bugs, listed in tests/corpus/MISMATCHES.md.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import io
import pathlib
import warnings

import numpy as np
import pytest
from conftest import load_torch
from oracle import mask_addresses, run_with_gradcli

CORPUS_DIR = pathlib.Path(__file__).resolve().parent / "corpus"
CORPUS = sorted(CORPUS_DIR.glob("*.grad"))

# rtol, atol per dtype family; integers and bools compare exactly.
TOLERANCES = {
    "torch.float16": (1e-3, 1e-3),
    "torch.bfloat16": (1e-2, 1e-2),
    "torch.float32": (1e-5, 1e-6),
    "torch.float64": (1e-10, 1e-12),
}


def run_torch_with_namespace(torch, source: str, filename: str = "<program>"):
    """Like oracle.run_with_torch, but also returns the namespace the program left behind."""
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)
    out = io.StringIO()
    error = None
    namespace = {"__name__": "__main__", "torch": torch}
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - the oracle runs real Python
        except Exception as exc:  # the program's own failure is part of what we compare
            error = exc
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)
    return out.getvalue(), error, namespace


@functools.cache
def torch_run(path: pathlib.Path):
    torch = load_torch()
    return run_torch_with_namespace(torch, path.read_text(), str(path))


@functools.cache
def gradcli_run(path: pathlib.Path):
    return run_with_gradcli(path.read_text(), str(path))


# ------------------------------------------------------------------ comparing tensors
def _torch_array(t):
    t = t.detach()
    if str(t.dtype) == "torch.bfloat16":
        t = t.float()
    return t.cpu().numpy()


def _gradcli_array(t):
    from gradcli.backend import to_host

    return np.asarray(to_host(t._data))


def _torch_grad(t):
    with warnings.catch_warnings():  # .grad of a non-leaf warns in PyTorch
        warnings.simplefilter("ignore")
        return t.grad


def compare_tensors(name: str, ours, theirs, *, with_grad: bool = True) -> list[str]:
    """Differences between a gradcli tensor and a torch tensor, as readable lines (empty: they agree)."""
    problems = []
    if tuple(ours.shape) != tuple(theirs.shape):
        return [f"{name}: shape {tuple(ours.shape)} != torch's {tuple(theirs.shape)}"]
    if str(ours.dtype) != str(theirs.dtype):
        problems.append(f"{name}: dtype {ours.dtype} != torch's {theirs.dtype}")
    if ours.requires_grad != theirs.requires_grad:
        problems.append(f"{name}: requires_grad {ours.requires_grad} != torch's {theirs.requires_grad}")
    a, b = _gradcli_array(ours), _torch_array(theirs)
    rtol, atol = TOLERANCES.get(str(theirs.dtype), (0.0, 0.0))
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        same = np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True)
    else:
        same = np.array_equal(a, b)
    if not same:
        problems.append(f"{name}: values differ\n  gradcli: {a.tolist()}\n  torch:   {b.tolist()}")
    if with_grad:
        g_ours, g_theirs = ours.grad, _torch_grad(theirs)
        if (g_ours is None) != (g_theirs is None):
            problems.append(f"{name}.grad: gradcli {g_ours is not None and 'set' or None}, "
                            f"torch {g_theirs is not None and 'set' or None}")
        elif g_ours is not None:
            problems += compare_tensors(f"{name}.grad", g_ours, g_theirs, with_grad=False)
    return problems


def tensors_in_namespace(torch, namespace: dict):
    """(name, torch tensor, path) for every top-level tensor and every tensor in a top-level list/tuple."""
    for name, value in namespace.items():
        if name.startswith("__"):
            continue
        if isinstance(value, torch.Tensor):
            yield name, value, ()
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, torch.Tensor):
                    yield f"{name}[{i}]", item, (i,)


def compare_namespaces(torch, variables: dict, namespace: dict) -> list[str]:
    from gradcli.tensor import Tensor

    problems = []
    for label, theirs, path in tensors_in_namespace(torch, namespace):
        top = label.split("[")[0]
        if top not in variables:
            problems.append(f"{label}: not bound in gradcli")
            continue
        ours = variables[top]
        for i in path:
            try:
                ours = ours[i]
            except Exception as exc:  # a shorter list, a non-sequence
                ours = exc
        if type(ours) is not Tensor:
            problems.append(f"{label}: gradcli has {type(ours).__name__}, torch a Tensor")
            continue
        problems += compare_tensors(label, ours, theirs)
    return problems


# ------------------------------------------------------------------ the tests
def test_corpus_is_big_enough():
    failing = [p for p in CORPUS if p.name.startswith("err_")]
    assert len(CORPUS) >= 70
    assert len(CORPUS) - len(failing) >= 60
    assert len(failing) >= 15


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_program_runs_in_torch_as_intended(torch, path):
    """The oracle side: `err_*` programs raise in PyTorch after printing something; the others run clean."""
    out, error, _ = torch_run(path)
    if path.name.startswith("err_"):
        assert error is not None, f"{path.name} is meant to fail under PyTorch but ran to the end"
        assert out, f"{path.name} should print something before it fails"
    else:
        assert error is None, f"{path.name} failed under PyTorch: {type(error).__name__}: {error}"
    assert 5 <= len(path.read_text().splitlines()) <= 30


def explain_output_mismatch(expected: str, got: str, problems: list[str]) -> str:
    """A unified diff (torch first), headed by whether the numbers behind the output agree.

    Exact output is the contract and is never loosened; this only says what kind of failure it is: when
    every value and gradient agrees within tolerance, the difference is float32 rounding of the last
    printed digit (reported, not tolerated)."""
    diff = "".join(difflib.unified_diff(expected.splitlines(True), got.splitlines(True), "torch", "gradcli"))
    if problems:
        head = "printed output agrees" if expected == got else "printed output differs"
        verdict = f"{head}, but values or gradients disagree:\n" + "\n".join(problems)
    else:
        verdict = ("printed output differs but every value and gradient agrees numerically: "
                   "a last-digit float rounding difference (reported, not tolerated)")
    return f"{verdict}\n{diff}"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_output_and_error_match_torch(torch, path):
    expected, error, namespace = torch_run(path)
    got, result = gradcli_run(path)
    expected, got = mask_addresses(expected), mask_addresses(got)
    want_error = None if error is None else (type(error).__name__, str(error))
    got_error = None if result.error is None else (result.error.kind, result.error.message)
    if got != expected:
        problems = compare_namespaces(torch, result.variables, namespace)
        if result.error is not None and error is None:
            problems.insert(0, result.error.render())
        pytest.fail(explain_output_mismatch(expected, got, problems), pytrace=False)
    assert got_error == want_error, (
        result.error.render() if result.error is not None else "gradcli ran to the end"
    )


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_variables_and_grads_match_torch(torch, path):
    _, _, namespace = torch_run(path)
    _, result = gradcli_run(path)
    problems = compare_namespaces(torch, result.variables, namespace)
    assert not problems, "\n".join(problems)
