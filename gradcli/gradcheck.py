"""torch.autograd.gradcheck and gradgradcheck: a function's gradients checked against finite differences.

This is PyTorch's slow mode, step for step, so that a script sees the same calls, the same checks in the
same order and the same messages (the Jacobians in them printed as PyTorch prints them):

  1. call `func(*inputs)` once; its outputs that require grad are the differentiable ones;
  2. the numerical Jacobian of every output with respect to every input that requires grad: each element
     of the input's memory is perturbed in place by -eps and +eps (in the input's dtype, as PyTorch's
     `entry.copy_(orig - eps)`), `func` runs on the perturbed input (two calls per element, elements in
     row-major order, inputs in order), and the central difference `(b - a) / (2 * eps)` is computed in the
     output's dtype; the element is restored before the next one;
  3. for each differentiable output, the analytical Jacobian one row at a time: autograd.grad with a
     unit grad_output per output element, done twice to check that backward is reentrant (`nondet_tol`);
  4. each pair compared with allclose(analytical, numerical, rtol, atol) after type promotion;
  5. backward with zero grad_outputs must give zero gradients of the inputs' dtype and size;
  6. undefined output gradients must be handled (see `_test_undefined_backward_mode`).

Only real dtypes exist in gradcli, and only the slow mode of backward AD is implemented: the options that
need forward AD, vmap or the fast mode are refused, not ignored.

The script's `func` (a def, a lambda, a custom Function's apply) is called as any Python callable, so it
runs through the interpreter with the sandbox and limits in force.
"""

from __future__ import annotations

import itertools

from . import backend, dtypes, engine, functional
from .errors import ScriptRuntimeError, torch_warning
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """Error raised by gradcheck and gradgradcheck (torch.autograd.gradcheck.GradcheckError)."""


_FAILED_NONDET_MSG = """\n
NOTE: If your op relies on non-deterministic operations i.e., it is listed here:
https://pytorch.org/docs/stable/generated/torch.use_deterministic_algorithms.html
this failure might be expected.

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck.
If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `nondet_tol=<tol>` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `gradcheck_nondet_tol=<tol>`.
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have `gradcheck_nondet_tol=<tol>`
"""

_UNDEFINED_NOTE = (
    'Please look at "Notes about undefined output gradients" in "tools/autograd/derivatives.yaml"'
)


# ------------------------------------------------------------------ small helpers
def _as_tuple(x):
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _attribute(obj, name):
    """obj.name for a Tensor; for anything else, the AttributeError PyTorch's code would hit."""
    if type(obj) is not Tensor:
        raise AttributeError(f"'{type(obj).__name__}' object has no attribute '{name}'")
    return getattr(obj, name)


def _differentiable_outputs(x):
    return tuple(o for o in _as_tuple(x) if _attribute(o, "requires_grad"))


def _diff_inputs(inputs):
    return [t for t in inputs if type(t) is Tensor and t._rg]


def _is_float_tensor(t):
    return type(t) is Tensor and t._data.dtype.kind == "f"


def _zeros(shape, like):
    """A zero-filled array of `like`'s dtype, on its device."""
    return backend.namespace_of(like).zeros(shape, dtype=like.dtype)


def _script_exception(exc):
    """The Python exception behind `exc`: a failure inside a script function reaches us as a ScriptError
    carrying the exception the script raised."""
    if isinstance(exc, ScriptRuntimeError):
        inner = getattr(exc, "exception", None)
        if inner is not None:
            return inner
    return exc


# Where a warning has been shown already: as with PyTorch's warnings.warn from one line of gradcheck.py,
# the same warning is shown once per process.
_WARNED: dict = {}


def _warn(message):
    torch_warning(message, "torch/autograd/gradcheck.py", _WARNED)


# ------------------------------------------------------------------ inputs and outputs
def _check_inputs(tupled_inputs):
    any_input_requiring_grad = False
    for idx, inp in enumerate(tupled_inputs):
        if type(inp) is Tensor and inp._rg:
            if inp._data.dtype.name != "float64":
                _warn(
                    f"Input #{idx} requires gradient and is not a double precision floating point or "
                    "complex. This check will likely fail if all the inputs are not of double precision "
                    "floating point or complex. "
                )
            data = inp._data
            # (numpy's strides may be negative, which PyTorch's never are: only a 0 stride means overlap)
            if not all(st != 0 or sz <= 1 for st, sz in zip(data.strides, data.shape)):
                raise RuntimeError(
                    f"The {idx}th input has a dimension with stride 0. gradcheck only supports inputs that "
                    "are non-overlapping to be able to compute the numerical gradients correctly. You should "
                    "call .contiguous on the input before passing it to gradcheck."
                )
            any_input_requiring_grad = True
    if not any_input_requiring_grad:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none of them have "
            "requires_grad=True."
        )
    for inp in tupled_inputs:
        # (PyTorch's analytical side would take them, its numerical side not: refused, not half-checked)
        if isinstance(inp, (list, tuple)) and any(type(t) is Tensor and t._rg for t in inp):
            raise RuntimeError("gradcli: gradcheck with tensors requiring grad inside a list or tuple "
                               "argument is not supported; pass them as arguments of their own")


def _check_same_dtype_and_shape(a, b, eps, idx):
    if a._data.shape != b._data.shape:
        raise AssertionError(
            f"Expected `func` to return outputs with the same shape when inputs are perturbed on index {idx} "
            f"by {eps}, but got: shapes {a.shape} and {b.shape}."
        )
    if a._data.dtype != b._data.dtype:
        raise AssertionError(
            f"Expected `func` to return outputs with the same dtype when inputs are perturbed on index {idx} "
            f"by {eps}, but got: dtypes {a.dtype} and {b.dtype}."
        )


# ------------------------------------------------------------------ the numerical Jacobian
def _numerical_jacobian(func, inputs, func_out, eps):
    """[input][output] -> array (input numel, output numel): one list per input that requires grad, one
    array per floating-point output of `func_out`, in the output's dtype."""

    def perturbed_outputs():
        return tuple(_attribute(o, "clone")() for o in _as_tuple(func(*inputs)))

    jacobians = []
    for inp in _diff_inputs(inputs):
        data = inp._data  # written in place, without a version bump: PyTorch perturbs `input.data`
        rows = {}
        for d_idx, x_idx in enumerate(itertools.product(*[range(n) for n in data.shape])):
            orig = Tensor._make(backend.as_array(data[x_idx]).copy())
            data[x_idx] = (orig - eps)._data
            outa = perturbed_outputs()
            data[x_idx] = (orig + eps)._data
            outb = perturbed_outputs()
            data[x_idx] = orig._data
            row = []
            for a, b in zip(outa, outb):
                _check_same_dtype_and_shape(a, b, eps, x_idx)
                row.append(((b - a) / (2 * eps)).detach().reshape(-1))
            rows[d_idx] = row
        numel = int(data.size)
        per_output = [_zeros((numel, t.numel()), t._data) for t in func_out if _is_float_tensor(t)]
        for i, jac in enumerate(per_output):
            for k, row in rows.items():
                jac[k] = row[i]._data
        jacobians.append(per_output)
    return jacobians


# ------------------------------------------------------------------ the analytical Jacobian
def _analytical_rows(output, diff_inputs):
    """[input][j] -> the gradient (a copy) of each input for the unit grad_output of output element j."""
    base = _zeros(output._data.shape, output._data)
    flat = base.reshape(-1)  # (a view: the same grad_output tensor is reused, as PyTorch does)
    grad_output = Tensor._make(base)
    rows = [[] for _ in diff_inputs]
    for j in range(flat.size):
        flat[...] = 0
        flat[j] = 1
        grads = engine.grad(output, diff_inputs, grad_output, retain_graph=True, allow_unused=True)
        for i, g in enumerate(grads):
            rows[i].append(None if g is None else g._data.copy())
    return rows


def _stack(rows, diff_inputs, numel_output):
    """The rows as Jacobian arrays (input numel, output numel) in each input's dtype, and whether every
    gradient had its input's size and dtype."""
    jacobians = []
    sizes_ok = types_ok = True
    for inp, grads in zip(diff_inputs, rows):
        jac = _zeros((inp.numel(), numel_output), inp._data)
        for j, g in enumerate(grads):
            if g is None:
                continue
            if g.shape != inp._data.shape:
                sizes_ok = False
            elif g.dtype != inp._data.dtype:
                types_ok = False
            if jac.shape[0] != g.size:
                raise AssertionError(f"Expected out_jacobian column to have {g.size} elements, but got "
                                     f"{jac.shape[0]}")
            jac[:, j] = g.reshape(-1)
        jacobians.append(jac)
    return jacobians, sizes_ok, types_ok


def _analytical_jacobian(inputs, output, nondet_tol, check_grad_dtypes):
    diff_inputs = _diff_inputs(inputs)
    # Everything twice: the two must agree within nondet_tol (PyTorch calls this reentrancy).
    rows1 = _analytical_rows(output, diff_inputs)
    rows2 = _analytical_rows(output, diff_inputs)
    numel = output.numel()
    # PyTorch unpacks (jacobians, sizes, types) as (jacobians, types_ok, sizes_ok); the names below follow
    # its checks, so the messages come in its order for the same cases.
    jacobians1, types_ok, sizes_ok = _stack(rows1, diff_inputs, numel)
    jacobians2, _, _ = _stack(rows2, diff_inputs, numel)
    reentrant = all(j1.size == 0 or not (abs(j1 - j2).max() > nondet_tol)
                    for j1, j2 in zip(jacobians1, jacobians2))
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    if not reentrant:
        raise GradcheckError(
            "Backward is not reentrant, i.e., running backward with same input and grad_output multiple "
            "times gives different values, although analytical gradient matches numerical gradient."
            f"The tolerance for nondeterminism was {nondet_tol}." + _FAILED_NONDET_MSG
        )
    return [Tensor._make(j) for j in jacobians1]


def _allclose_promoted(a, b, rtol, atol):
    promoted = dtypes.promote_types(a.dtype, b.dtype)
    return functional.allclose(functional.to(a, promoted), functional.to(b, promoted), rtol, atol)


# ------------------------------------------------------------------ the checks
def _slow_gradcheck(func, func_out, tupled_inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol):
    func_out = _as_tuple(func_out)
    if not outputs:
        # Without differentiable outputs, the numerical gradient must be zero.
        for per_input in _numerical_jacobian(func, tupled_inputs, func_out, eps):
            for jac in per_input:
                if (jac != 0).sum() > 0:
                    raise GradcheckError("Numerical gradient for function expected to be zero")
        return True
    numerical = list(zip(*_numerical_jacobian(func, tupled_inputs, func_out, eps)))  # [output][input]
    numerical = [nj for o, nj in zip(func_out, numerical) if o.requires_grad]
    for i, o in enumerate(outputs):
        analytical = _analytical_jacobian(tupled_inputs, o, nondet_tol, check_grad_dtypes)
        for j, (a, n) in enumerate(zip(analytical, numerical[i])):
            n = Tensor._make(n)
            if not _allclose_promoted(a, n, rtol, atol):
                raise GradcheckError(
                    f"Jacobian mismatch for output {i:d} with respect to input {j:d},\n"
                    f"numerical:{n}\nanalytical:{a}\n"
                )
    return True


def _test_backward_mul_by_grad_output(outputs, inputs, masked):
    diff_inputs = _diff_inputs(inputs)
    if not diff_inputs:
        raise GradcheckError("no Tensors requiring grad found in input")
    zeros = [Tensor._make(_zeros(o._data.shape, o._data)) for o in outputs]
    grads = engine.grad(outputs, diff_inputs, zeros, allow_unused=True)
    for gi, di in zip(grads, diff_inputs):
        if gi is None:
            continue
        if masked:
            if not functional.allclose(gi, Tensor._make(_zeros(gi._data.shape, gi._data))):
                raise GradcheckError("backward not multiplied by grad_output")
        elif not bool((gi._data == 0).all()):
            raise GradcheckError("backward not multiplied by grad_output")
        if gi._data.dtype != di._data.dtype:
            raise GradcheckError("grad is incorrect type")
        if gi.device.type != di.device.type:
            raise GradcheckError("grad is incorrect device")
        if gi._data.shape != di._data.shape:
            raise GradcheckError("grad is incorrect size")
    return True


def _test_undefined_backward_mode(func, outputs, inputs):
    """Backward must cope with undefined output gradients, all of them at once and (with several outputs)
    one at a time. PyTorch marks a gradient undefined with an UndefinedGrad node; its built-in derivatives
    then give undefined (or zero) input gradients, and a custom Function's backward gets zeros (PyTorch
    materializes them). gradcli has no undefined gradients: it sends zeros, which gives the same verdict
    (only a Function with set_materialize_grads(False) sees zeros where PyTorch would give it None)."""
    diff_inputs = _diff_inputs(inputs)
    if not diff_inputs:
        raise GradcheckError("no Tensors requiring grad found in input")

    def warn_bc_breaking():
        _warn(
            "Backwards compatibility: New undefined gradient support checking feature is enabled by default, "
            "but it may break existing callers of this function. If this is true for you, you can call this "
            'function with "check_undefined_grad=False" to disable the feature'
        )

    def check_undefined_grad_support(output_to_check):
        zeros = [Tensor._make(_zeros(o._data.shape, o._data)) for o in output_to_check]
        try:
            grads = engine.grad(output_to_check, diff_inputs, zeros, allow_unused=True)
        except (RuntimeError, ScriptRuntimeError) as exc:
            if not isinstance(_script_exception(exc), RuntimeError):
                raise
            warn_bc_breaking()
            raise GradcheckError(
                f"Expected backward function to handle undefined output grads. {_UNDEFINED_NOTE}"
            ) from exc
        for gi in grads:
            if gi is not None and not bool((gi._data == 0).all()):
                warn_bc_breaking()
                raise GradcheckError(
                    "Expected all input grads to be undefined or zero when all output grads are undefined or "
                    f"zero. {_UNDEFINED_NOTE}"
                )
        return True

    # (func runs once for the all-undefined case, then once per output, before any check, as in PyTorch)
    outputs_to_check = [[o for o in _differentiable_outputs(func(*inputs)) if type(o) is Tensor]]
    if len(outputs_to_check[0]) > 1:
        for _ in range(len(outputs)):
            outputs_to_check.append(list(_differentiable_outputs(func(*inputs))))
    return all(check_undefined_grad_support(out) for out in outputs_to_check)


def _refuse(option):
    raise RuntimeError(f"gradcli: {option} is not supported (only the slow mode of backward AD is)")


def _gradcheck_helper(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad, check_grad_dtypes,
                      masked):
    tupled_inputs = _as_tuple(inputs)
    _check_inputs(tupled_inputs)
    func_out = func(*tupled_inputs)
    outputs = _differentiable_outputs(func_out)
    _slow_gradcheck(func, func_out, tupled_inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol)
    _test_backward_mul_by_grad_output(outputs, tupled_inputs, masked)
    if check_undefined_grad:
        _test_undefined_backward_mode(func, outputs, tupled_inputs)
    return True


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True,
              fast_mode=False, masked=None):
    """torch.autograd.gradcheck, slow mode: True when the analytical Jacobians match finite differences;
    otherwise GradcheckError (or False with raise_exception=False)."""
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad to be True")
    if check_batched_grad and not check_backward_ad:
        raise AssertionError("Setting check_batched_grad=True requires check_backward_ad to be True")
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError("Setting check_batched_forward_grad=True requires check_forward_ad to be True")
    if fast_mode:
        _refuse("gradcheck(fast_mode=True)")
    if check_forward_ad:
        _refuse("gradcheck(check_forward_ad=True) (forward-mode AD)")
    if check_batched_grad:
        _refuse("gradcheck(check_batched_grad=True) (vmap)")
    args = (func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad, check_grad_dtypes, masked)
    if raise_exception:
        return _gradcheck_helper(*args)
    try:
        return _gradcheck_helper(*args)
    except (GradcheckError, ScriptRuntimeError) as exc:
        # (a GradcheckError from a gradcheck inside func reaches here wrapped as the script's error)
        if isinstance(_script_exception(exc), GradcheckError):
            return False
        raise


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False, masked=False):
    """torch.autograd.gradgradcheck: gradcheck of the function that maps (inputs, grad_outputs) to the
    gradients of func's outputs (computed with create_graph=True). Without grad_outputs, random ones in
    [-1, 1) are drawn as PyTorch draws them (make_tensor: empty(...).uniform_(-1, 1))."""
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError("Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True")
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_undefined_grad=True requires check_rev_over_rev to be True")
    if check_batched_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_batched_grad=True requires check_rev_over_rev to be True")
    if gen_non_contig_grad_outputs:
        _refuse("gradgradcheck(gen_non_contig_grad_outputs=True)")
    tupled_inputs = _as_tuple(inputs)
    if grad_outputs is None:
        outputs = _differentiable_outputs(func(*tupled_inputs))
        tupled_grad_outputs = tuple(_random_like(x) for x in outputs)
    else:
        tupled_grad_outputs = _as_tuple(grad_outputs)
    num_outputs = len(tupled_grad_outputs)
    diff_input_args_indices = {i for i, x in enumerate(tupled_inputs) if type(x) is Tensor and x._rg}
    diff_grad_output_indices = {
        i for i, x in enumerate(tupled_grad_outputs) if _attribute(x, "requires_grad")
    }

    def new_func(*args):
        input_args = tuple(x.requires_grad_() if i in diff_input_args_indices else x
                           for i, x in enumerate(args[:-num_outputs]))
        outputs = _differentiable_outputs(func(*input_args))
        grad_outputs = tuple(x.requires_grad_() if i in diff_grad_output_indices else x
                             for i, x in enumerate(args[-num_outputs:]))
        diff_input_args = tuple(x for i, x in enumerate(input_args) if i in diff_input_args_indices)
        grad_inputs = engine.grad(outputs, diff_input_args, grad_outputs, create_graph=True,
                                  allow_unused=True)
        return tuple(g for g in grad_inputs if g is not None)

    return gradcheck(new_func, tupled_inputs + tupled_grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad, check_grad_dtypes=check_grad_dtypes,
                     check_batched_grad=check_batched_grad, fast_mode=fast_mode,
                     check_forward_ad=check_fwd_over_rev, check_backward_ad=check_rev_over_rev, masked=masked)


def _random_like(x):
    """What torch.testing.make_tensor(low=-1, high=1, requires_grad=True) gives for an output x: uniform
    values of its dtype (double for a non-float output), drawn by uniform_(-1, 1)."""
    dtype = x.dtype if x.is_floating_point() else dtypes.by_name("float64")
    t = functional.empty(*x.shape, dtype=dtype, device=x.device)
    return functional._uniform_(t, -1, 1).requires_grad_()
