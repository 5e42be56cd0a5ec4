"""torch.autograd.functional: jacobian, hessian, vjp, jvp, hvp and vhp of a script's function.

Each follows PyTorch's Python implementation step by step (torch/autograd/functional.py), so that a script
sees the same calls of its function, the same checks in the same order and the same messages:

- the inputs are detached copies that require grad (or, with create_graph, views of the inputs that already
  do), the function is called once on them under enable_grad;
- jacobian (reverse mode) runs autograd.grad once per output element, with retain_graph, and stacks the rows;
  an input the output does not depend on gets zeros (or, with strict=True, PyTorch's error);
- hessian is the jacobian of the function's gradient (computed with create_graph);
- jvp and hvp use the double-backward trick (the gradient of a vjp with respect to a zero grad_output that
  requires grad), as PyTorch does;
- results are detached unless create_graph=True; a single tensor in gives a single tensor out.

Forward-mode AD and vmap do not exist in gradcli: strategy="forward-mode" is refused, not ignored, and
vectorize=True computes row by row, which gives the values PyTorch's batched rows give (with create_graph,
the result is a ViewBackward0 as PyTorch's is, but the graph behind it is the row-by-row one).
"""

from __future__ import annotations

from . import engine, functional
from .tensor import Tensor


def _type_repr(obj) -> str:
    t = type(obj)
    name = getattr(t, "TORCH_NAME", None)
    return f"<class 'torch.{name}'>" if name else f"<class '{t.__name__}'>"


def _as_tuple(inp, arg_name, fn_name):
    is_tuple = isinstance(inp, tuple)
    items = inp if is_tuple else (inp,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            where = f"the value at index {i}" if is_tuple else f"the given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                            f"Tensors but {where} has type {_type_repr(el)}.")
    return is_tuple, items


def _tuple_postprocess(res, to_unpack):
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _grad_preprocess(inputs, create_graph, need_graph):
    return tuple(inp.view_as(inp) if create_graph and inp.requires_grad
                 else inp.detach().requires_grad_(need_graph) for inp in inputs)


def _grad_postprocess(inputs, create_graph):
    if isinstance(inputs[0], Tensor):
        return inputs if create_graph else tuple(inp.detach() for inp in inputs)
    return tuple(_grad_postprocess(inp, create_graph) for inp in inputs)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.size()} but got "
                               f"{el_v.size()}.")


_NOT_REQUIRING = {
    "hessian": ("The hessian of the user-provided function with respect to input {i} is independent of the "
                "input. This is not allowed in strict mode. You should ensure that your function is thrice "
                "differentiable and that the hessian depends on the inputs."),
    "jacobian": ("While computing the hessian, found that the jacobian of the user-provided function with "
                 "respect to input {i} is independent of the input. This is not allowed in strict mode. You "
                 "should ensure that your function is twice differentiable and that the jacobian depends on "
                 "the inputs (this would be violated by a linear function for example)."),
    "grad_inputs": ("The gradient with respect to input {i} is independent of the inputs of the "
                    "user-provided function. This is not allowed in strict mode."),
    "outputs": ("Output {i} of the user-provided function does not require gradients. The outputs must be "
                "computed in a differentiable manner from the input when running in strict mode."),
}


def _check_requires_grad(inputs, input_type, strict):
    if not strict:
        return
    for i, inp in enumerate(inputs):
        if inp is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input {i}. "
                               "This is not allowed in strict mode.")
        if not inp.requires_grad:
            raise RuntimeError(_NOT_REQUIRING[input_type].format(i=i))


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    kept = [(out, g) for out, g in zip(outputs, grad_outputs) if out is not None and out.requires_grad]
    if not kept:
        return (None,) * len(inputs)
    return engine.grad(tuple(out for out, _ in kept), inputs, tuple(g for _, g in kept), allow_unused=True,
                       create_graph=create_graph, retain_graph=retain_graph)


_INDEPENDENT = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in "
            "strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs "
                  "when using the double backward trick to compute forward mode gradients. This is not "
                  "allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not "
                   "allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the "
                         "grad_jacobian. This is not allowed in strict mode as it prevents from using the "
                         "double backward trick to replace forward mode AD.",
}


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    res = ()
    for i, grads_i in enumerate(grads):
        if grads_i is None:
            if strict:
                raise RuntimeError(_INDEPENDENT[stage].format(i=i))
            grads_i = functional.zeros_like(refs[i])
        elif strict and create_graph and not grads_i.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input {i}. "
                               "This is not allowed in strict mode when create_graph=True.")
        res += (grads_i,)
    return res


def _single_element_v(of_input):
    if of_input:
        return RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                            "single Tensor with a single element.")
    return RuntimeError("The vector v can only be None if the user-provided function returns a single Tensor "
                        "with a single element.")


def _products(outputs, wrt, v, refs, stage, create_graph, strict):
    """The vector products of the last step (outputs differentiated with respect to wrt, weighted by v),
    grad mode on only with create_graph (else as the caller has it), zeros where nothing depends."""
    with engine.set_grad_enabled(True if create_graph else engine.is_grad_enabled()):
        grad_res = _autograd_grad(outputs, wrt, v, create_graph=create_graph)
        return _fill_in_zeros(grad_res, refs, strict, create_graph, stage)


def _results(outputs, result, create_graph, is_outputs_tuple, is_result_tuple):
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(result, is_result_tuple)


def _call(fn_name, func, inputs, create_graph, strict):
    """func called on copies of the inputs that require grad (under enable_grad, which the caller holds):
    (is_inputs_tuple, inputs, is_outputs_tuple, outputs)."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
    is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", fn_name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    return is_inputs_tuple, inputs, is_outputs_tuple, outputs


def _prepared_v(fn_name, v, other, is_other_tuple, create_graph, of_input):
    """v checked against `other` (the outputs for vjp, the inputs otherwise); None only where other is one
    single-element tensor."""
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
        _validate_v(v, other, is_other_tuple)
    elif len(other) != 1 or other[0].nelement() != 1:
        raise _single_element_v(of_input)
    return v


def _call_with_v(fn_name, func, inputs, v, create_graph, strict):
    """jvp's, hvp's and vhp's start: the inputs and v checked first, then func called as _call calls it."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
    v = _prepared_v(fn_name, v, inputs, is_inputs_tuple, create_graph, True)
    is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", fn_name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    return is_inputs_tuple, inputs, v, is_outputs_tuple, outputs


# ------------------------------------------------------------------ vjp and jvp
def vjp(func, inputs, v=None, create_graph=False, strict=False):
    with engine.enable_grad():
        is_inputs_tuple, inputs, is_outputs_tuple, outputs = _call("vjp", func, inputs, create_graph, strict)
        v = _prepared_v("vjp", v, outputs, is_outputs_tuple, create_graph, False)
    result = _products(outputs, inputs, v, inputs, "back", create_graph, strict)
    return _results(outputs, result, create_graph, is_outputs_tuple, is_inputs_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    with engine.enable_grad():
        is_inputs_tuple, inputs, v, is_outputs_tuple, outputs = _call_with_v("jvp", func, inputs, v,
                                                                              create_graph, strict)
        grad_outputs = tuple(functional.zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict=strict)
    result = _products(grad_inputs, grad_outputs, v, outputs, "back_trick", create_graph, strict)
    return _results(outputs, result, create_graph, is_outputs_tuple, is_outputs_tuple)


# ------------------------------------------------------------------ jacobian and hessian
def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more '
                             'performant. Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and `strategy=\"forward-mode\"` are "
                "not supported together (yet). Please either set `create_graph=False` or "
                "`strategy=\"reverse-mode\"`.")
        if strict:
            raise RuntimeError(
                "torch.autograd.functional.jacobian: `strict=True` and `strategy=\"forward-mode\"` are not "
                "supported together (yet). Please either set `strict=False` or `strategy=\"reverse-mode\"`.")
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian "
                                      "isonly implemented for `vectorize=True`.")
        raise RuntimeError('gradcli: jacobian(strategy="forward-mode") is not supported (gradcli has no '
                           'forward-mode AD): use strategy="reverse-mode"')
    with engine.enable_grad():
        is_inputs_tuple, inputs, is_outputs_tuple, outputs = _call("jacobian", func, inputs, create_graph,
                                                                   strict)
        if vectorize:
            if strict:
                raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` "
                                   "are not supported together. Please either set `strict=False` or "
                                   "`vectorize=False`.")
        result = ()
        for i, out in enumerate(outputs):
            rows = tuple([] for _ in inputs)
            flat = out.reshape(-1)
            for j in range(out.nelement()):
                vj = _autograd_grad((flat[j],), inputs, retain_graph=True, create_graph=create_graph)
                for el_idx, (rows_el, vj_el, inp_el) in enumerate(zip(rows, vj, inputs)):
                    if vj_el is not None:
                        if strict and create_graph and not vj_el.requires_grad:
                            raise RuntimeError(f"The jacobian of the user-provided function is independent "
                                               f"of input {i}. This is not allowed in strict mode when "
                                               "create_graph=True.")
                        rows_el.append(vj_el)
                    else:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is independent of "
                                               f"input {el_idx}. This is not allowed in strict mode.")
                        rows_el.append(functional.zeros_like(inp_el))
            result += (tuple(_stack_rows(rows_el, out, inputs[k]) for k, rows_el in enumerate(rows)),)
        result = _grad_postprocess(result, create_graph)
        return _tuple_postprocess(result, (is_outputs_tuple, is_inputs_tuple))


def _stack_rows(rows, out, inp):
    shape = tuple(out.size()) + tuple(inp.size())
    if not rows:  # an output with no elements: PyTorch's torch.stack([]) fails the same way
        return functional.stack(rows, 0)
    return functional.stack(rows, 0).view(shape)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def ensure_single_output_function(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict=strict)
        if is_out_tuple or not isinstance(out, Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.nelement() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single "
                               "element")
        return out.squeeze()

    def jac_func(*inp):
        if outer_jacobian_strategy == "forward-mode":
            inp = tuple(t.requires_grad_(True) for t in inp)
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


# ------------------------------------------------------------------ Hessian-vector products
def _hessian_setup(fn_name, func, inputs, v, create_graph, strict):
    is_inputs_tuple, inputs, v, is_outputs_tuple, outputs = _call_with_v(fn_name, func, inputs, v,
                                                                          create_graph, strict)
    if is_outputs_tuple or not isinstance(outputs[0], Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a single "
                           "element")
    jac = _autograd_grad(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict=strict)
    return is_inputs_tuple, inputs, v, is_outputs_tuple, outputs, jac


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    with engine.enable_grad():
        is_inputs_tuple, inputs, v, is_outputs_tuple, outputs, jac = _hessian_setup(
            "vhp", func, inputs, v, create_graph, strict)
    result = _products(jac, inputs, v, inputs, "double_back", create_graph, strict)
    return _results(outputs, result, create_graph, is_outputs_tuple, is_inputs_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    with engine.enable_grad():
        is_inputs_tuple, inputs, v, is_outputs_tuple, outputs, jac = _hessian_setup(
            "hvp", func, inputs, v, create_graph, strict)
        grad_jac = tuple(functional.zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict=strict)
    result = _products(double_back, grad_jac, v, inputs, "double_back_trick", create_graph, strict)
    return _results(outputs, result, create_graph, is_outputs_tuple, is_inputs_tuple)
