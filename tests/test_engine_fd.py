"""Finite differences, no PyTorch: every differentiable case of the op table, in float64.

First order: the vector-Jacobian product that backward computes against central differences of <f(x), v>.
Second order (cases marked smooth): the gradient of <grad f(x), w>, computed with create_graph=True, against
central differences of that same first gradient, computed without a graph.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_engine_ops import CASES, G, cotangent, make_arrays, ours_tensor

EPS = 1e-6


def _inputs(name, arrays):
    cs = CASES[name]
    return [ours_tensor(a, arg, "float64") for a, arg in zip(arrays, cs.args)]


def _computes_in_float64(name):
    cs = CASES[name]
    return cs.fn(G, *_inputs(name, make_arrays(name, cs.args))).dtype is G.float64


_CANDIDATES = [n for n, cs in CASES.items()
               if cs.rows and not cs.backward_error and any(a.grad for a in cs.args)]
# Cases that cast to a narrower float (.float(), .half()) cannot be checked by float64 differences; they are
# left out here (not skipped), and test_coarse_cases_are_only_casts_covered_elsewhere says why that is safe.
COARSE = [n for n in _CANDIDATES if not _computes_in_float64(n)]
DIFFERENTIABLE = [n for n in _CANDIDATES if n not in COARSE]
SMOOTH = [n for n in DIFFERENTIABLE if CASES[n].smooth]


def test_coarse_cases_are_only_casts_covered_elsewhere():
    """Only the dtype casts compute below float64, and their row (ToCopyBackward0) is still checked by a
    float64 case here, so leaving them out loses no row."""
    assert sorted(COARSE) == ["float", "half"]
    covered = {row for n in DIFFERENTIABLE for row in CASES[n].rows}
    for n in COARSE:
        assert set(CASES[n].rows) <= covered


def _value(name, arrays, v):
    """<f(x), v> as a Python float."""
    out = CASES[name].fn(G, *_inputs(name, arrays))
    return float((np.asarray(out._data, dtype=np.float64) * v).sum())


def _numeric_grad(fn, arrays, k, eps):
    """Central differences of the scalar fn(arrays) with respect to arrays[k]."""
    grad = np.zeros_like(arrays[k], dtype=np.float64)
    for j in np.ndindex(arrays[k].shape):
        plus = [a.copy() for a in arrays]
        minus = [a.copy() for a in arrays]
        plus[k][j] += eps
        minus[k][j] -= eps
        grad[j] = (fn(plus) - fn(minus)) / (2 * eps)
    return grad


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_first_derivative_matches_finite_differences(name):
    cs = CASES[name]
    arrays = make_arrays(name, cs.args)
    inputs = _inputs(name, arrays)
    out = cs.fn(G, *inputs)
    v = cotangent(tuple(out.shape), "float64")
    out.backward(G.tensor(v.tolist(), dtype=G.float64))
    for k, arg in enumerate(cs.args):
        if not arg.grad:
            continue
        numeric = _numeric_grad(lambda arrs: _value(name, arrs, v), arrays, k, EPS)
        analytic = inputs[k].grad
        if analytic is None:  # not in the graph at all: the function must not depend on it
            np.testing.assert_allclose(numeric, 0, atol=1e-6, err_msg=f"{name}: input {k} got no gradient")
            continue
        assert analytic.dtype == G.float64
        np.testing.assert_allclose(np.asarray(analytic._data), numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}: gradient of input {k}")


def _first_grads(name, arrays, v, create_graph):
    cs = CASES[name]
    inputs = _inputs(name, arrays)
    out = cs.fn(G, *inputs)
    diff = [x for x, arg in zip(inputs, cs.args) if arg.grad]
    grads = G.autograd.grad(out, diff, G.tensor(v.tolist(), dtype=G.float64), create_graph=create_graph,
                            allow_unused=True)
    return inputs, diff, grads


def _weights(grads):
    return [cotangent(tuple(g.shape), "float64", seed=11 + k) if g is not None else None
            for k, g in enumerate(grads)]


@pytest.mark.parametrize("name", SMOOTH)
def test_second_derivative_matches_finite_differences_of_the_gradient(name):
    cs = CASES[name]
    arrays = make_arrays(name, cs.args)
    out = cs.fn(G, *_inputs(name, arrays))
    v = cotangent(tuple(out.shape), "float64")
    inputs, diff, grads = _first_grads(name, arrays, v, True)
    weights = _weights(grads)
    total = None
    for g, w in zip(grads, weights):
        if g is not None and g.requires_grad:
            term = (g * G.tensor(w.tolist(), dtype=G.float64)).sum()
            total = term if total is None else total + term
    if total is None:
        analytic = [None] * len(diff)
    else:
        analytic = G.autograd.grad(total, diff, allow_unused=True)

    def h(arrs):
        _, _, gs = _first_grads(name, arrs, v, False)
        return sum(float((np.asarray(g._data) * w).sum()) for g, w in zip(gs, weights) if g is not None)

    grad_positions = [k for k, arg in enumerate(cs.args) if arg.grad]
    for slot, k in enumerate(grad_positions):
        numeric = _numeric_grad(h, arrays, k, 1e-5)
        got = analytic[slot]
        got = np.zeros_like(numeric) if got is None else np.asarray(got._data)
        np.testing.assert_allclose(got, numeric, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name}: second derivative for input {k}")


def test_every_differentiable_row_is_checked_by_finite_differences():
    from gradcli import ops

    checked = {row for n in DIFFERENTIABLE for row in CASES[n].rows}
    no_derivative = {k for k, op in ops.ROWS.items() if op.backward is None}
    missing = sorted(set(ops.ROWS) - no_derivative - checked)
    assert not missing, f"differentiable rows without a finite-difference check: {missing}"


# ------------------------------------------------------------------ Hessian, against the oracle
def _f(t, x):
    return (x[0] ** 2 * x[1] + x.sin().sum() * x.exp().prod() + (x * x).sum().sqrt() + x.tanh() @ x.sigmoid())


def _hessian(x):
    (g,) = G.autograd.grad(_f(G, x), x, create_graph=True)
    rows = [G.autograd.grad(g[i], x, retain_graph=True)[0] for i in range(x.shape[0])]
    return G.stack(rows)


@pytest.mark.oracle
def test_hessian_matches_torch_autograd_functional(torch):
    values = [0.3, -1.2, 0.7, 1.5]
    got = _hessian(G.tensor(values, dtype=G.float64, requires_grad=True))
    x = torch.tensor(values, dtype=torch.float64)
    want = torch.autograd.functional.hessian(lambda v: _f(torch, v), x)
    np.testing.assert_allclose(np.asarray(got._data), want.numpy(), rtol=1e-10, atol=1e-12)


def test_hessian_is_symmetric_and_matches_finite_differences():
    values = np.array([0.3, -1.2, 0.7, 1.5])
    hess = np.asarray(_hessian(G.tensor(values.tolist(), dtype=G.float64, requires_grad=True))._data)
    np.testing.assert_allclose(hess, hess.T, rtol=1e-12, atol=1e-12)

    def grad_at(arr):
        x = G.tensor(arr.tolist(), dtype=G.float64, requires_grad=True)
        return np.asarray(G.autograd.grad(_f(G, x), x)[0]._data)

    numeric = np.stack([(grad_at(values + e) - grad_at(values - e)) / (2 * 1e-6) for e in np.eye(4) * 1e-6])
    np.testing.assert_allclose(hess, numeric, rtol=1e-5, atol=1e-6)
