"""Misuse: the exception type and message must be PyTorch's, word for word.

Each entry is a small program on a torch-like namespace `t` that must raise; it runs on gradcli and on torch
and both exceptions are compared (type name and str()).
"""

from __future__ import annotations

import operator

import pytest
from test_engine_ops import G


def _leaf(t, *values):
    return t.tensor(list(values) if len(values) > 1 else values[0], requires_grad=True)


def _saved_input_modified(t):
    x = _leaf(t, 1.0, 2.0)
    h = x * 1
    y = h * h  # MulBackward0 saves h, which is output 0 of MulBackward0
    h.add_(1)
    y.sum().backward()


def _saved_output_modified(t):
    x = _leaf(t, 1.0, 2.0)
    y = x.exp()  # ExpBackward0 saves its result
    y.add_(1)
    y.sum().backward()


def _saved_leaf_modified_via_detach(t):
    x = _leaf(t, 1.0, 2.0)
    y = x.sin()
    x.detach().mul_(2)
    y.sum().backward()


def _saved_view_modified(t):
    x = _leaf(t, 1.0, 2.0, 3.0)
    h = x * 2
    v = h[:2]
    y = v.tanh()  # saves its result
    y.mul_(3)
    y.sum().backward()


def _saved_const_modified(t):
    x = _leaf(t, 1.0, 2.0)
    c = t.tensor([3.0, 4.0])
    y = x * c  # saves c for x's gradient
    c.add_(1)
    y.sum().backward()


def _twice(t):
    x = _leaf(t, 1.0, 2.0)
    y = (x * x).sum()
    y.backward()
    y.backward()


def _twice_grad(t):
    x = _leaf(t, 1.0, 2.0)
    y = x.exp().sum()
    t.autograd.grad(y, x)
    t.autograd.grad(y, x)


def _grad_unused(t):
    a, b = _leaf(t, 1.0), _leaf(t, 2.0)
    t.autograd.grad(a * 2, [a, b])


def _grad_unused_first(t):
    a, b = _leaf(t, 1.0), _leaf(t, 2.0)
    t.autograd.grad(b * 2, [a, b])


def _grad_no_requires_grad_input(t):
    a, b = _leaf(t, 1.0), t.tensor(2.0)
    t.autograd.grad(a * b, [a, b])


def _grad_output_shape(t):
    x = _leaf(t, 1.0, 2.0)
    t.autograd.grad(x * 2, x, t.tensor([1.0, 2.0, 3.0]))


def _backward_gradient_shape(t):
    x = _leaf(t, 1.0, 2.0)
    (x * 2).backward(t.tensor([[1.0, 2.0]]))


def _requires_grad_false_non_leaf(t):
    x = _leaf(t, 1.0)
    y = x * 2
    y.requires_grad = False


def _requires_grad_false_non_leaf_method(t):
    x = _leaf(t, 1.0)
    (x * 2).requires_grad_(False)


def _inplace_leaf(t):
    x = _leaf(t, 1.0, 2.0)
    x.add_(1)


def _inplace_leaf_operator(t):
    x = _leaf(t, 1.0, 2.0)
    x += 1


def _inplace_leaf_setitem(t):
    x = _leaf(t, 1.0, 2.0)
    x[0] = 5.0


def _inplace_leaf_mask_setitem(t):
    x = _leaf(t, 1.0, 2.0)
    x[x > 1] = 0.0


def _inplace_leaf_view(t):
    x = _leaf(t, 1.0, 2.0)
    x[:1].mul_(2)


def _inplace_leaf_zero(t):
    x = _leaf(t, 1.0, 2.0)
    x.zero_()


def _inplace_int_float(t):
    x = t.tensor([1, 2])
    x += 0.5


def _inplace_broadcast(t):
    x = t.tensor([1.0, 2.0])
    x.add_(t.ones(2, 2))


def _copy_shapes(t):
    x = t.zeros(3)
    x.copy_(t.ones(2))


def _retain_grad_no_grad(t):
    t.tensor([1.0]).retain_grad()


def _backward_integer_output(t):
    x = _leaf(t, 1.0, 2.0)
    x.argmax().backward()


def _view_non_contiguous(t):
    t.ones(2, 3).t().view(6)


def _iterate_0d(t):
    for _ in t.tensor(1.0):
        pass


def _setitem_over_int64(t):
    x = t.ones(2, dtype=t.long)
    x[0] = 2**63


def _setitem_float_over_int64(t):
    x = t.ones(2)
    x[0] = 2**63


def _setitem_int32_overflow(t):
    x = t.ones(2, dtype=t.int32)
    x[0] = 2**40


def _backward_inputs_not_tensors(t):
    x = t.ones(2, requires_grad=True)
    (x * 2).sum().backward(inputs=[1.0])


def _backward_inputs_empty(t):
    x = t.ones(2, requires_grad=True)
    (x * 2).sum().backward(inputs=[])


def _autograd_backward_inputs_not_tensors(t):
    x = t.ones(2, requires_grad=True)
    t.autograd.backward((x * 2).sum(), inputs=[1.0])


def _autograd_backward_inputs_empty_before_outputs(t):  # the empty check comes before the outputs' checks
    x = t.ones(2, requires_grad=True)
    t.autograd.backward(x * 2, inputs=[])


def _autograd_backward_outputs_before_input_types(t):  # ... and the inputs' types after them
    x = t.ones(2, requires_grad=True)
    t.autograd.backward(x * 2, inputs=[1.0])


def _nll(t, *args, **kwargs):
    return t.nn.functional.nll_loss(*args, **kwargs)


def _losses(t, x, target, cross_entropy=True):
    """nll_loss (and cross_entropy) with each reduction, and x's gradient from them all, as one vector."""
    outs = []
    for fn in (t.nn.functional.nll_loss, t.nn.functional.cross_entropy)[:2 if cross_entropy else 1]:
        for reduction in ("mean", "sum", "none"):
            outs.append(fn(x, target, reduction=reduction).reshape(-1))
    total = t.cat(outs)
    if total.numel():
        total.sum().backward()
    return t.cat([total.detach(), x.grad.reshape(-1) if x.grad is not None else t.zeros(0)])


def _backward_twice_through(fn):
    """A second backward through a node that keeps tensors in its params (PyTorch saved them): refused."""
    def program(t):
        x = t.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], requires_grad=True)
        loss = fn(t, x)
        loss.backward()
        loss.backward()
    return program


def _hook_changes_dtype(t):
    x = _leaf(t, 1.0, 2.0)
    x.register_hook(lambda g: g.double())
    (x * 2).sum().backward()


def _hook_returns_number(t):
    x = _leaf(t, 1.0, 2.0)
    h = x * 2
    h.register_hook(lambda g: 3)
    h.sum().backward()


def _grad_output_shape_before_requires_grad(t):  # every grad_output is checked before the outputs' grad
    x = _leaf(t, 1.0, 2.0)
    t.autograd.grad(t.ones(2), x, grad_outputs=t.ones(5))


MISUSE = {
    # backward and autograd.grad
    "backward_twice": _twice,
    "backward_twice_where": _backward_twice_through(lambda t, x: t.where(x > 0, x, t.zeros(3)).sum()),
    "backward_twice_index": _backward_twice_through(lambda t, x: x[t.tensor([0, 1, 1])].sum()),
    "backward_twice_mask": _backward_twice_through(lambda t, x: x[x > 0].sum()),
    "backward_twice_nll_loss":
        _backward_twice_through(lambda t, x: t.nn.functional.nll_loss(x, t.tensor([0, 2]))),
    "backward_twice_max_dim": _backward_twice_through(lambda t, x: x.max(1).values.sum()),
    "backward_twice_min_dim": _backward_twice_through(lambda t, x: x.min(0)[0].sum()),
    "grad_twice": _twice_grad,
    "implicit_grad_non_scalar": lambda t: (_leaf(t, 1.0, 2.0) * 2).backward(),
    "implicit_grad_non_scalar_grad": lambda t: t.autograd.grad(_leaf(t, 1.0, 2.0) * 2, []),
    "backward_without_grad_fn": lambda t: t.tensor([1.0]).sum().backward(),
    "backward_leaf_without_grad": lambda t: t.tensor(1.0).backward(),
    "backward_integer_output": _backward_integer_output,
    "grad_unused_input": _grad_unused,
    "grad_unused_first_input": _grad_unused_first,
    "grad_input_without_grad": _grad_no_requires_grad_input,
    "grad_output_shape_mismatch": _grad_output_shape,
    "backward_gradient_shape_mismatch": _backward_gradient_shape,
    "grad_outputs_without_grad": lambda t: t.autograd.grad(t.tensor(1.0) * 2, _leaf(t, 1.0)),
    "grad_output_shape_before_requires_grad": _grad_output_shape_before_requires_grad,
    "grad_materialize_without_allow_unused": lambda t: t.autograd.grad(
        _leaf(t, 1.0, 2.0).sum(), _leaf(t, 1.0), allow_unused=False, materialize_grads=True),
    "backward_gradient_list_of_numbers": lambda t: (_leaf(t, 1.0, 2.0) * 2).backward(gradient=[1.0, 1.0]),
    "backward_fewer_gradients_than_tensors": lambda t: t.autograd.backward(
        [_leaf(t, 1.0, 2.0).sum(), _leaf(t, 3.0).sum()], grad_tensors=[t.tensor(1.0)]),
    "grad_of_a_number": lambda t: t.autograd.grad([_leaf(t, 1.0, 2.0).sum(), 3], _leaf(t, 1.0)),
    "backward_gradient_number": lambda t: t.autograd.backward([_leaf(t, 1.0).sum()], grad_tensors=3.0),
    "backward_inputs_without_grad": lambda t: (_leaf(t, 1.0) * 2).backward(inputs=[t.tensor(1.0)]),
    "hook_changes_dtype": _hook_changes_dtype,
    "hook_returns_number": _hook_returns_number,
    # requires_grad
    "requires_grad_int_factory": lambda t: t.tensor([1, 2], requires_grad=True),
    "requires_grad_int_method": lambda t: t.tensor([1, 2]).requires_grad_(),
    "requires_grad_int_attribute": lambda t: setattr(t.tensor([1, 2]), "requires_grad", True),
    "requires_grad_bool_zeros": lambda t: t.zeros(2, dtype=t.bool, requires_grad=True),
    "requires_grad_int_arange": lambda t: t.arange(3, requires_grad=True),
    "requires_grad_false_non_leaf": _requires_grad_false_non_leaf,
    "requires_grad_false_non_leaf_method": _requires_grad_false_non_leaf_method,
    "retain_grad_without_grad": _retain_grad_no_grad,
    # in-place
    "inplace_on_leaf": _inplace_leaf,
    "inplace_operator_on_leaf": _inplace_leaf_operator,
    "inplace_setitem_on_leaf": _inplace_leaf_setitem,
    "inplace_mask_setitem_on_leaf": _inplace_leaf_mask_setitem,
    "inplace_view_of_leaf": _inplace_leaf_view,
    "inplace_zero_on_leaf": _inplace_leaf_zero,
    "inplace_int_plus_float": _inplace_int_float,
    "inplace_broadcast_output": _inplace_broadcast,
    "copy_shape_mismatch": _copy_shapes,
    "saved_input_modified": _saved_input_modified,
    "saved_output_modified": _saved_output_modified,
    "saved_leaf_modified_through_detach": _saved_leaf_modified_via_detach,
    "saved_view_output_modified": _saved_view_modified,
    "saved_constant_modified": _saved_const_modified,
    # shapes
    "broadcast_add": lambda t: t.ones(2, 3) + t.ones(3, 2),
    "broadcast_mul_trailing": lambda t: t.ones(4) * t.ones(3),
    "broadcast_where": lambda t: t.where(t.ones(2) > 0, t.ones(3), t.ones(2)),
    "broadcast_compare": lambda t: t.ones(2) < t.ones(3),
    "mm_shapes": lambda t: t.mm(t.ones(2, 3), t.ones(2, 3)),
    "mm_not_matrix": lambda t: t.mm(t.ones(3), t.ones(3, 2)),
    "mm_second_not_matrix": lambda t: t.mm(t.ones(2, 3), t.ones(3)),
    "matmul_2d": lambda t: t.ones(2, 3) @ t.ones(2, 3),
    "matmul_0d": lambda t: t.ones(2) @ t.tensor(1.0),
    "matmul_batch": lambda t: t.ones(2, 3, 4) @ t.ones(3, 4, 2),
    "matmul_batch_inner": lambda t: t.ones(2, 3, 4) @ t.ones(2, 5, 2),
    "matmul_fold": lambda t: t.ones(2, 3, 4) @ t.ones(5, 2),
    "matmul_fold_vector": lambda t: t.ones(2, 3, 4) @ t.ones(5),
    "matmul_vector_matrix": lambda t: t.ones(3) @ t.ones(4, 2),
    "mv_shapes": lambda t: t.mv(t.ones(2, 3), t.ones(4)),
    "matmul_mv_shapes": lambda t: t.ones(2, 3) @ t.ones(4),
    "dot_shapes": lambda t: t.dot(t.ones(3), t.ones(4)),
    "dot_2d": lambda t: t.dot(t.ones(3, 1), t.ones(3)),
    "matmul_dot_shapes": lambda t: t.ones(3) @ t.ones(4),
    "mm_dtypes": lambda t: t.mm(t.ones(2, 2), t.ones(2, 2, dtype=t.float64)),
    "view_invalid": lambda t: t.ones(2, 3).view(4),
    "view_two_inferred": lambda t: t.ones(2, 3).view(-1, -1),
    "reshape_invalid": lambda t: t.ones(2, 3).reshape(5, -1),
    "view_non_contiguous": _view_non_contiguous,
    "expand_invalid": lambda t: t.ones(2, 3).expand(3, 3),
    "expand_fewer_dims": lambda t: t.ones(2, 3).expand(3),
    "permute_wrong_length": lambda t: t.ones(2, 3).permute(0),
    "permute_repeated": lambda t: t.ones(2, 3).permute(0, 0),
    "t_3d": lambda t: t.ones(2, 3, 4).t(),
    "stack_sizes": lambda t: t.stack([t.ones(2), t.ones(3)]),
    "stack_empty": lambda t: t.stack([]),
    "cat_sizes": lambda t: t.cat([t.ones(2, 3), t.ones(2, 4)]),
    "cat_dims": lambda t: t.cat([t.ones(2, 3), t.ones(3)]),
    "cat_empty": lambda t: t.cat([]),
    "cat_0d": lambda t: t.cat([t.tensor(1.0), t.tensor(2.0)]),
    "mse_loss_shapes": lambda t: t.nn.functional.mse_loss(t.ones(2, 3), t.ones(3, 2)),
    "nll_loss_target_out_of_bounds": lambda t: t.nn.functional.nll_loss(t.ones(2, 3), t.tensor([0, 3])),
    "nll_loss_batch_mismatch": lambda t: t.nn.functional.nll_loss(t.ones(2, 3), t.tensor([0, 1, 2])),
    "nll_loss_float_target": lambda t: t.nn.functional.nll_loss(t.ones(2, 3), t.tensor([0.0, 1.0])),
    # nll_loss's shape checks, in PyTorch's order (numpy: "cannot reshape array of size 0 into shape (1,)")
    "nll_loss_1d_input_empty_target": lambda t: t.nn.functional.nll_loss(t.ones(3), t.zeros(0, dtype=t.long)),
    "nll_loss_1d_input_long_target":
        lambda t: t.nn.functional.nll_loss(t.ones(3), t.tensor([0, 1]), reduction="none"),
    "nll_loss_0d_input": lambda t: t.nn.functional.nll_loss(t.tensor(1.0), t.tensor(0), reduction="sum"),
    "nll_loss_0d_target": lambda t: t.nn.functional.nll_loss(t.ones(2, 3), t.tensor(1)),
    "nll_loss_empty_batch_0d_target": lambda t: t.nn.functional.nll_loss(t.ones(0, 3), t.tensor(1)),
    "nll_loss_2d_target": lambda t: t.nn.functional.nll_loss(t.ones(2, 3), t.zeros(2, 1, dtype=t.long)),
    "nll_loss_2d_float_target": lambda t: t.nn.functional.nll_loss(t.ones(0, 3), t.zeros(0, 3)),
    # nll_loss with a wrong weight or target dtype, and on (N, C, d...) inputs: nll_loss_nd's, nll_loss's and
    # nll_loss2d's checks, each pair below failing two of them to pin PyTorch's order
    "nll_loss_weight_size": lambda t: _nll(t, t.ones(2, 3), t.zeros(2, dtype=t.long), weight=t.ones(2)),
    "nll_loss_weight_2d": lambda t: _nll(t, t.ones(2, 3), t.zeros(2, dtype=t.long), weight=t.ones(1, 3)),
    "nll_loss_int32_target": lambda t: _nll(t, t.ones(2, 3), t.zeros(2, dtype=t.int32)),
    "nll_loss_target_dtype_before_weight": lambda t: _nll(
        t, t.ones(2, 3), t.zeros(2, dtype=t.int32), weight=t.ones(2)),
    "nll_loss_target_dims_before_dtype": lambda t: _nll(
        t, t.ones(2, 3), t.zeros(2, 2, dtype=t.int32)),
    "nll_loss_weight_size_before_input_dtype": lambda t: _nll(
        t, t.ones(2, 3, dtype=t.int32), t.zeros(2, dtype=t.long), weight=t.ones(2)),
    "nll_loss_int_input": lambda t: _nll(t, t.ones(2, 3, dtype=t.int32), t.zeros(2, dtype=t.long)),
    "nll_loss_input_dtype_before_weight_dtype": lambda t: _nll(
        t, t.ones(2, 3, dtype=t.int32), t.zeros(2, dtype=t.long), weight=t.ones(3)),
    "nll_loss_weight_dtype_before_bounds": lambda t: _nll(
        t, t.ones(2, 3), t.full((2,), 5), weight=t.ones(3, dtype=t.float64)),
    "nll_loss_3d_target_size": lambda t: _nll(t, t.ones(2, 3, 2), t.zeros(2, 3, dtype=t.long)),
    "nll_loss_3d_target_size_before_dtype": lambda t: _nll(
        t, t.ones(2, 3, 2), t.zeros(2, 3, dtype=t.int32)),
    "nll_loss_3d_1d_target": lambda t: _nll(t, t.ones(2, 3, 5), t.zeros(2, dtype=t.long)),
    "nll_loss_3d_batch": lambda t: _nll(t, t.ones(2, 3, 5), t.zeros(3, 5, dtype=t.long)),
    "nll_loss_4d_target_dims": lambda t: _nll(t, t.ones(2, 3, 2, 2), t.zeros(2, 4, dtype=t.long)),
    "nll_loss_4d_size_mismatch": lambda t: _nll(
        t, t.ones(2, 3, 2, 2), t.zeros(2, 2, 3, dtype=t.long)),
    "nll_loss_4d_target_dtype_before_size": lambda t: _nll(
        t, t.ones(2, 3, 2, 2), t.zeros(2, 2, 3, dtype=t.int32)),
    "nll_loss_4d_weight_size": lambda t: _nll(
        t, t.ones(2, 3, 2, 2), t.zeros(2, 2, 2, dtype=t.long), weight=t.ones(2)),
    "nll_loss_4d_byte_target": lambda t: _nll(t, t.ones(2, 3, 2, 2), t.zeros(2, 2, 2, dtype=t.uint8)),
    "nll_loss_4d_weight_dtype_before_byte": lambda t: _nll(
        t, t.ones(2, 3, 2, 2), t.zeros(2, 2, 2, dtype=t.uint8), weight=t.ones(3, dtype=t.float64)),
    "nll_loss_4d_int_input": lambda t: _nll(
        t, t.ones(2, 3, 2, 2, dtype=t.int32), t.zeros(2, 2, 3, dtype=t.long)),
    "nll_loss_4d_out_of_bounds": lambda t: _nll(t, t.ones(2, 3, 2, 2), t.full((2, 2, 2), 3)),
    "nll_loss_5d_negative_target": lambda t: _nll(
        t, t.ones(2, 3, 2, 1, 2), t.full((2, 2, 1, 2), -1)),
    # PyTorch's nll_loss2d backward refuses a gradient laid out like a permuted input
    "nll_loss_4d_permuted_backward": lambda t: _nll(
        t, t.ones(2, 2, 2, 3, requires_grad=True).permute(0, 3, 1, 2), t.zeros(2, 2, 2, dtype=t.long),
    ).backward(),
    "linspace_bool": lambda t: t.linspace(0, 1, 3, dtype=t.bool),
    "amax_empty_negative_dim": lambda t: t.zeros(2, 0).amax(-1),
    "clamp_inplace_bool_float_bounds": lambda t: t.tensor([True, False]).clamp_(-1.0, 0.0),
    "clamp_inplace_int_float_bound": lambda t: t.tensor([1, 3]).clamp_(min=1.5),
    "clamp_inplace_int16_float_bound": lambda t: t.tensor([1, 3], dtype=t.int16).clamp_(max=2.5),
    "index_0d_by_minus_one": lambda t: t.tensor(True)[-1],
    "index_0d_by_one": lambda t: t.tensor(1.0)[1],
    "index_empty_by_tensor": lambda t: t.tensor([])[t.tensor([0, 0])],
    "permute_no_dims": lambda t: t.tensor(2.0).permute(),
    "linspace_uint8_negative_float": lambda t: t.linspace(-1.0, 1.0, 3, dtype=t.uint8),
    "full_uint8_negative_float": lambda t: t.full((2,), -0.5, dtype=t.uint8),
    "full_int8_fraction_above_max": lambda t: t.full((2,), 127.9, dtype=t.int8),
    # words and orders found by the differential hunt
    "ones_negative_dim": lambda t: t.ones(2, -3),
    "zeros_negative_dim": lambda t: t.zeros(-1),
    "rand_negative_dim": lambda t: t.rand(2, -1),
    "reshape_negative_dim": lambda t: t.ones(3).reshape(-2),
    "neg_bool": lambda t: -t.tensor([True, False]),
    "neg_bool_function": lambda t: t.neg(t.tensor([True, False])),
    "invert_float": lambda t: ~t.tensor([1.5]),
    "var_int": lambda t: t.tensor([1, 2, 3]).var(),
    "std_bool_dim": lambda t: t.tensor([True, False]).std(dim=0),
    "bool_of_empty": lambda t: bool(t.tensor([])),
    "sum_repeated_dim": lambda t: t.ones(3).sum(dim=(0, 0)),
    "mT_of_vector": lambda t: t.ones(3).mT,
    "permute_0d_two_dims": lambda t: t.tensor(2.0).permute(1, 0),
    "tensor_of_str": lambda t: t.tensor("x"),
    "mm_vector_before_dtype": lambda t: t.mm(t.tensor([1, 2, 3]), t.tensor(2.0)),
    "mm_shapes_before_dtype": lambda t: t.mm(t.ones(2, 3), t.ones(2, 3, dtype=t.long)),
    "mm_bool_shapes": lambda t: t.mm(t.ones(2, 3, dtype=t.bool), t.ones(2, 3, dtype=t.bool)),
    "mv_vector_vector": lambda t: t.mv(t.ones(3), t.ones(3)),
    "mv_shapes_before_dtype": lambda t: t.mv(t.ones(2, 3), t.ones(2, dtype=t.long)),
    "dot_0d_before_dtype": lambda t: t.dot(t.tensor(2.0), t.tensor([1, 2, 3])),
    "dot_bool_size": lambda t: t.dot(t.ones(3, dtype=t.bool), t.ones(2, dtype=t.bool)),
    "outer_matrix": lambda t: t.outer(t.ones(2, 2), t.ones(3)),
    "outer_0d": lambda t: t.outer(t.tensor(1.0), t.ones(3)),
    "outer_vec2_matrix": lambda t: t.outer(t.ones(2), t.ones(3, 1)),
    "cross_entropy_0d_target": lambda t: t.nn.functional.cross_entropy(t.ones(2, 3), t.tensor(1)),
    "cross_entropy_same_shape_long_target":
        lambda t: t.nn.functional.cross_entropy(t.ones(3), t.tensor([0, 1, 2]), reduction="none"),
    "cross_entropy_empty_1d": lambda t: t.nn.functional.cross_entropy(t.ones(0), t.zeros(0, dtype=t.long)),
    "cross_entropy_0d_probabilities": lambda t: t.nn.functional.cross_entropy(t.tensor(1.0), t.tensor(0.5)),
    "cross_entropy_target_out_of_bounds":
        lambda t: t.nn.functional.cross_entropy(t.ones(2, 3), t.tensor([5, 0])),
    # dims and indices
    "dim_out_of_range_sum": lambda t: t.ones(2, 3).sum(2),
    "dim_out_of_range_negative": lambda t: t.ones(2, 3).sum(-3),
    "dim_out_of_range_softmax": lambda t: t.ones(2, 3).softmax(5),
    "dim_out_of_range_0d": lambda t: t.tensor(1.0).sum(1),
    "dim_out_of_range_unsqueeze": lambda t: t.ones(2).unsqueeze(3),
    "dim_out_of_range_transpose": lambda t: t.ones(2, 3).transpose(0, 2),
    "dim_out_of_range_max": lambda t: t.ones(2, 3).max(2),
    "dim_out_of_range_cat": lambda t: t.cat([t.ones(2), t.ones(2)], 1),
    "dim_out_of_range_stack": lambda t: t.stack([t.ones(2), t.ones(2)], 3),
    "index_out_of_range": lambda t: t.ones(2, 3)[2],
    "index_out_of_range_dim1": lambda t: t.ones(2, 3)[0, 3],
    "too_many_indices": lambda t: t.ones(2)[0, 0],
    "index_list_out_of_range": lambda t: t.ones(2)[[0, 5]],
    "softmax_without_dim": lambda t: t.softmax(t.ones(2)),
    # conversions
    "item_of_many": lambda t: t.ones(2).item(),
    "bool_of_many": lambda t: bool(t.ones(2) > 0),
    "float_of_many": lambda t: float(t.ones(3)),
    "len_of_0d": lambda t: len(t.tensor(1.0)),
    "iterate_0d": _iterate_0d,
    "mean_of_int": lambda t: t.tensor([1, 2]).mean(),
    "int_negative_power": lambda t: t.tensor([1, 2]) ** -1,
    "int_floor_divide_by_zero": lambda t: t.tensor([1, 2]) // 0,
    "int_remainder_by_zero": lambda t: t.tensor([1, 2]) % t.tensor([0, 1]),
    "sub_bools": lambda t: t.tensor([True]) - t.tensor([False]),
    "clamp_without_bounds": lambda t: t.clamp(t.ones(2)),
    "fill_with_vector": lambda t: t.zeros(2).fill_(t.ones(2)),
    # Python ints outside int64 (numpy says "Python int too large to convert to C long")
    "tensor_int_over_int64": lambda t: t.tensor([2**63]),
    "tensor_scalar_over_int64": lambda t: t.tensor(2**63),
    "tensor_int_under_int64": lambda t: t.tensor([-2**63 - 1]),
    "tensor_int_beyond_float": lambda t: t.tensor([1.0, 10**400]),
    "tensor_int8_overflow": lambda t: t.tensor([300], dtype=t.int8),
    "tensor_int8_over_int64": lambda t: t.tensor([2**63], dtype=t.int8),
    "full_over_int64": lambda t: t.full((2,), 2**63),
    "full_over_uint64": lambda t: t.full((2,), 2**64),
    "full_under_int64": lambda t: t.full((2,), -2**63 - 1),
    "full_int8_overflow": lambda t: t.full((2,), 300, dtype=t.int8),
    "full_float32_overflow": lambda t: t.full((2,), 1e300, dtype=t.float32),
    "add_over_uint64": lambda t: t.ones(2, dtype=t.long) + 2**64,
    "mul_under_int64": lambda t: t.ones(2, dtype=t.long) * (-2**63 - 1),
    "float_add_over_uint64": lambda t: t.ones(2) + 2**64,
    "bool_add_uint64": lambda t: t.ones(2, dtype=t.bool) + 2**63,
    "eq_over_uint64": lambda t: t.ones(2, dtype=t.long) == 2**64,
    "fill_over_int64": lambda t: t.ones(2, dtype=t.long).fill_(2**63),
    "fill_int32_overflow": lambda t: t.ones(2, dtype=t.int32).fill_(2**40),
    "setitem_over_int64": _setitem_over_int64,
    "setitem_float_over_int64": _setitem_float_over_int64,
    "setitem_int32_overflow": _setitem_int32_overflow,
    "clamp_over_int64": lambda t: t.ones(2, dtype=t.long).clamp(max=2**63),
    "clamp_over_uint64": lambda t: t.ones(2, dtype=t.long).clamp(max=2**64),
    "clamp_min_under_int64": lambda t: t.ones(2, dtype=t.long).clamp_min(-2**63 - 1),
    "pow_over_int64": lambda t: t.ones(2, dtype=t.long) ** 2**63,
    "float_pow_over_uint64": lambda t: t.ones(2) ** 2**64,
    "arange_over_int64": lambda t: t.arange(2**63),
    "arange_over_uint64": lambda t: t.arange(0, 2**64, 2**62),
    "arange_inf": lambda t: t.arange(0, float("inf")),
    "arange_nan": lambda t: t.arange(0, float("nan")),
    "arange_minus_inf": lambda t: t.arange(float("-inf"), 0),
    "arange_nan_step": lambda t: t.arange(0, 5, float("nan")),
    "arange_count_overflow": lambda t: t.arange(0, 1e308, 1e-308),
    # a Python int outside a small integer dtype: wrapped into it, so an integer division by it may be by 0
    "int32_floordiv_wraps_to_zero": lambda t: t.ones(2, dtype=t.int32) // 2**40,
    "int8_remainder_wraps_to_zero": lambda t: t.ones(2, dtype=t.int8) % 256,
    "int32_div_floor_wraps_to_zero": lambda t: t.div(t.ones(2, dtype=t.int32), 2**40, rounding_mode="floor"),
    "int32_pow_over_int32": lambda t: t.ones(2, dtype=t.int32) ** 2**40,
    "int8_pow_over_int8": lambda t: t.ones(2, dtype=t.int8) ** 300,
    "uint8_pow_over_int64": lambda t: t.ones(2, dtype=t.uint8) ** 2**63,
    "uint8_pow_negative": lambda t: t.ones(2, dtype=t.uint8) ** -300,
    "bool_pow_negative": lambda t: t.ones(2, dtype=t.bool) ** -1,
    "bool_div_uint64": lambda t: t.ones(2, dtype=t.bool) / 2**63,
    "div_over_uint64": lambda t: t.ones(2, dtype=t.long) / 2**64,
    "int_div_inplace": lambda t: t.ones(2, dtype=t.int32).div_(3),
    "uint8_div_inplace_over_uint64": lambda t: t.ones(2, dtype=t.uint8).div_(2**64),
    "randperm_negative": lambda t: t.randperm(-1),
    "randperm_over_int64": lambda t: t.randperm(2**63),
    # reductions of empty tensors that have no identity (numpy: "attempt to get argmax of an empty sequence")
    "max_empty_dim": lambda t: t.zeros(3, 0).max(1),
    "max_empty_negative_dim": lambda t: t.zeros(3, 0).max(-1),
    "min_empty_dim_keepdim": lambda t: t.min(t.zeros(3, 0), 1, True),
    "argmax_empty_dim": lambda t: t.zeros(3, 0).argmax(1),
    "argmin_empty_dim": lambda t: t.zeros(3, 0).argmin(-1, keepdim=True),
    "argmax_empty": lambda t: t.zeros(3, 0).argmax(),
    "argmin_empty": lambda t: t.zeros(0).argmin(),
    # arguments checked up front, not found wrong by numpy or by an attribute lookup
    "unsqueeze_of_float": lambda t: t.unsqueeze(1.0, 0),
    "softmax_of_str": lambda t: t.softmax("a", 0),
    "argmax_of_int": lambda t: t.argmax(1),
    "rand_like_of_int": lambda t: t.rand_like(1),
    "randn_like_of_str": lambda t: t.randn_like("s"),
    "reshape_of_int": lambda t: t.reshape(1, (2,)),
    "transpose_of_int": lambda t: t.transpose(1, 0, 1),
    "permute_of_float": lambda t: t.permute(1.0, (0,)),
    "flatten_of_int": lambda t: t.flatten(2),
    "squeeze_of_int": lambda t: t.squeeze(2),
    "clone_of_int": lambda t: t.clone(2),
    "t_of_int": lambda t: t.t(2),
    "manual_seed_over_uint64": lambda t: t.manual_seed(2**64),
    "manual_seed_under_int64": lambda t: t.manual_seed(-2**63 - 1),
    "tensor_nan_to_int": lambda t: t.tensor([float("nan")], dtype=t.int64),
    "tensor_inf_to_int": lambda t: t.tensor([float("inf")], dtype=t.int64),
    "linspace_over_uint64": lambda t: t.linspace(2**64, 1, 5),
    "linspace_vector_start": lambda t: t.linspace(t.ones(2), 1, 5),
    "linspace_vector_end": lambda t: t.linspace(0, t.ones(2), 5),
    "bitwise_or_floats": lambda t: t.ones(2) | t.ones(2),
    "bitwise_and_float_int": lambda t: t.ones(2) & 1,
    "bitwise_xor_long_float": lambda t: t.ones(2, dtype=t.long) ^ 1.5,
    "bitwise_or_long_float_tensor": lambda t: t.ones(2, dtype=t.long) | t.ones(2),
    "bitwise_or_float_bool": lambda t: t.ones(2) | True,
    "log_softmax_bool": lambda t: t.log_softmax(t.tensor([True, False]), 0),
    "softmax_long": lambda t: t.softmax(t.tensor([1, 2]), 0),
    "softmax_long_not_last_dim": lambda t: t.softmax(t.ones(2, 2, dtype=t.long), 0),
    "log_softmax_long_last_dim": lambda t: t.log_softmax(t.ones(2, 2, dtype=t.long), -1),
    "softmax_long_0d": lambda t: t.softmax(t.ones((), dtype=t.long), 0),
    "isclose_shapes": lambda t: t.isclose(t.ones(2), t.ones(3)),
    "allclose_shapes": lambda t: t.allclose(t.ones(2), t.ones(3)),
    "allclose_number": lambda t: t.allclose(t.ones(2), 1.0),
    "isclose_dtypes": lambda t: t.isclose(t.ones(2), t.ones(2, dtype=t.float64)),
    "allclose_dtypes": lambda t: t.allclose(t.ones(2, dtype=t.long), t.ones(2)),
    "eye_negative_n": lambda t: t.eye(-1),
    "eye_negative_m": lambda t: t.eye(2, -1),
    "size_of_0d": lambda t: t.tensor(1.0).size(0),
    "size_out_of_range": lambda t: t.ones(2).size(5),
    "logical_not_of_int": lambda t: t.logical_not(1),
    "backward_inputs_not_tensors": _backward_inputs_not_tensors,
    "backward_inputs_empty": _backward_inputs_empty,
    "autograd_backward_inputs_not_tensors": _autograd_backward_inputs_not_tensors,
    "autograd_backward_inputs_empty_before_outputs": _autograd_backward_inputs_empty_before_outputs,
    "autograd_backward_outputs_before_input_types": _autograd_backward_outputs_before_input_types,
    "maximum_of_numbers": lambda t: t.maximum(1, 2),
    "minimum_of_number_and_tensor": lambda t: t.minimum(1, t.ones(2)),
    "arange_bool": lambda t: t.arange(3, dtype=t.bool),
    "arange_bool_infinite": lambda t: t.arange(float("inf"), dtype=t.bool),
    "size_times_list": lambda t: t.Size([2]) * [1],
    "list_times_size": lambda t: [1] * t.Size([2]),
    "float_times_size": lambda t: 1.5 * t.Size([2]),
    "bool_sub_in_place": lambda t: t.ones(2, dtype=t.bool).sub_(300),
    "sub_bool_in_place": lambda t: t.ones(2, dtype=t.long).sub_(t.ones(2, dtype=t.bool)),
    "isub_bools": lambda t: operator.isub(t.ones(2, dtype=t.bool), True),
    "isub_bool_from_float": lambda t: operator.isub(t.ones(2), True),
    "full_uint8_below_range": lambda t: t.full((2,), -256, dtype=t.uint8),
    "rand_of_floats": lambda t: 1.5 & t.tensor([1]),
    # comparisons: PyTorch's argument errors, as functions and as methods
    "eq_of_numbers": lambda t: t.eq(1.0, 2),
    "lt_number_first": lambda t: t.lt(1, t.ones(2)),
    "ge_with_string": lambda t: t.ge(t.ones(2), "x"),
    "eq_method_with_none": lambda t: t.ones(2).eq(None),
    "pow_int_scalar_negative": lambda t: t.tensor([2]) ** -1,
    "arange_of_string": lambda t: t.arange("a"),
    "arange_of_none": lambda t: t.arange(None),
    "arange_end_not_a_number": lambda t: t.arange(1, [5]),
    "arange_step_not_a_number": lambda t: t.arange(1, 5, "x"),
    # activations and losses of nn.functional: dtypes, arguments, shapes
    "gelu_long": lambda t: t.nn.functional.gelu(t.tensor([1, 2])),
    "gelu_bad_approximate": lambda t: t.nn.functional.gelu(t.ones(2), approximate="exact"),
    "gelu_approximate_positional": lambda t: t.nn.functional.gelu(t.ones(2), "tanh"),
    "leaky_relu_bool": lambda t: t.nn.functional.leaky_relu(t.tensor([True])),
    "elu_long": lambda t: t.nn.functional.elu(t.tensor([1, 2])),
    "silu_long": lambda t: t.nn.functional.silu(t.tensor([1, 2])),
    "softplus_long": lambda t: t.nn.functional.softplus(t.tensor([1, 2]), beta=2),
    "silu_of_number": lambda t: t.nn.functional.silu(1.0),
    "bce_target_size": lambda t: t.nn.functional.binary_cross_entropy(t.ones(3) * 0.5, t.ones(3, 1)),
    "bce_bad_reduction": lambda t: t.nn.functional.binary_cross_entropy(t.ones(2) * 0.5, t.ones(2),
                                                                         reduction="avg"),
    "bce_input_above_one": lambda t: t.nn.functional.binary_cross_entropy(t.tensor([1.5, 0.5]), t.ones(2)),
    "bce_input_nan": lambda t: t.nn.functional.binary_cross_entropy(t.tensor([float("nan")]), t.ones(1)),
    "bce_target_above_one": lambda t: t.nn.functional.binary_cross_entropy(t.tensor([0.5]), t.tensor([2.0])),
    "bce_long_target": lambda t: t.nn.functional.binary_cross_entropy(t.ones(2) * 0.5, t.tensor([0, 1])),
    "bce_long_input_and_target": lambda t: t.nn.functional.binary_cross_entropy(t.tensor([0, 1]),
                                                                                 t.tensor([0, 1])),
    "bce_weight_broadcast": lambda t: t.nn.functional.binary_cross_entropy(
        t.ones(2, 3) * 0.5, t.ones(2, 3), weight=t.tensor([1.0, 2.0])),
    "bce_logits_target_size": lambda t: t.nn.functional.binary_cross_entropy_with_logits(t.ones(3),
                                                                                          t.ones(2)),
    "bce_logits_bad_reduction": lambda t: t.nn.functional.binary_cross_entropy_with_logits(
        t.ones(2), t.ones(2), reduction="batchmean"),
    "bce_logits_long_input": lambda t: t.nn.functional.binary_cross_entropy_with_logits(t.tensor([0, 1]),
                                                                                         t.ones(2)),
    "bce_logits_long_target": lambda t: t.nn.functional.binary_cross_entropy_with_logits(t.ones(2),
                                                                                          t.tensor([0, 1])),
    "bce_logits_pos_weight_shape": lambda t: t.nn.functional.binary_cross_entropy_with_logits(
        t.ones(2, 3), t.ones(2, 3), pos_weight=t.tensor([1.0, 2.0])),
    "bce_logits_weight_shape": lambda t: t.nn.functional.binary_cross_entropy_with_logits(
        t.ones(2, 3), t.ones(2, 3), weight=t.tensor([1.0, 2.0])),
    "l1_loss_bad_reduction": lambda t: t.nn.functional.l1_loss(t.ones(2), t.ones(2), reduction="avg"),
    "l1_loss_long_mean": lambda t: t.nn.functional.l1_loss(t.tensor([1, 2]), t.tensor([0, 2])),
    "l1_loss_bools": lambda t: t.nn.functional.l1_loss(t.tensor([True]), t.tensor([False]), reduction="none"),
    "l1_loss_no_broadcast": lambda t: t.nn.functional.l1_loss(t.ones(3), t.ones(2)),
    "smooth_l1_negative_beta": lambda t: t.nn.functional.smooth_l1_loss(t.ones(2), t.ones(2), beta=-1.0),
    "smooth_l1_long": lambda t: t.nn.functional.smooth_l1_loss(t.tensor([1, 2]), t.tensor([1, 2])),
    "smooth_l1_bad_reduction_first": lambda t: t.nn.functional.smooth_l1_loss(
        t.ones(2), t.ones(2), beta=-1.0, reduction="x"),
    "huber_zero_delta": lambda t: t.nn.functional.huber_loss(t.ones(2), t.ones(2), delta=0.0),
    "huber_long": lambda t: t.nn.functional.huber_loss(t.tensor([1, 2]), t.tensor([1, 2])),
    "huber_bad_reduction": lambda t: t.nn.functional.huber_loss(t.ones(2), t.ones(2), reduction="mean_"),
    # logsumexp, amax/amin, chunk/split, flip
    "logsumexp_without_dim": lambda t: t.logsumexp(t.ones(2)),
    "logsumexp_dim_out_of_range": lambda t: t.ones(2, 3).logsumexp(2),
    "amax_empty": lambda t: t.amax(t.zeros(0)),
    "amin_empty_dim": lambda t: t.zeros(2, 0).amin(1),
    "amax_dim_twice": lambda t: t.amax(t.ones(2, 3), (0, 0)),
    "chunk_zero": lambda t: t.chunk(t.ones(3), 0),
    "chunk_0d": lambda t: t.tensor(1.0).chunk(2),
    "chunk_float": lambda t: t.chunk(t.ones(3), 2.0),
    "split_zero": lambda t: t.split(t.ones(3), 0),
    "split_negative": lambda t: t.ones(3).split(-1),
    "split_sizes_sum": lambda t: t.split(t.ones(3), [1, 1]),
    "split_sizes_negative": lambda t: t.ones(3).split([4, -1]),
    "split_0d": lambda t: t.split(t.tensor(1.0), 1),
    "flip_int_dims": lambda t: t.flip(t.ones(3), 0),
    "flip_dim_twice": lambda t: t.ones(2, 3).flip(0, 0),
    "flip_dim_out_of_range": lambda t: t.ones(2, 3).flip(2),
    "isnan_of_number": lambda t: t.isnan(1.0),
    # masked_fill, gather, index_select, repeat, triangles, narrow, cumprod, sort, topk, trace, diag, movedim,
    # roll
    "masked_fill_float_mask": lambda t: t.ones(2, 3).masked_fill(t.ones(2, 3), 0.0),
    "masked_fill_long_mask": lambda t: t.masked_fill(t.ones(2), t.tensor([1, 0]), 0.0),
    "masked_fill_1d_value": lambda t: t.ones(2).masked_fill(t.tensor([True, False]), t.tensor([1.0, 2.0])),
    "masked_fill_mask_shape": lambda t: t.ones(3, 4).masked_fill(t.ones(3, dtype=t.bool), 1.0),
    "masked_fill__bigger_mask": lambda t: t.ones(3, 4).masked_fill_(t.ones(2, 3, 4, dtype=t.bool), 1.0),
    "gather_float_index": lambda t: t.gather(t.ones(2, 3), 1, t.zeros(1, 1)),
    "gather_index_ndim": lambda t: t.ones(2, 3).gather(1, t.tensor([0])),
    "gather_out_of_bounds": lambda t: t.ones(2, 3).gather(1, t.tensor([[3]])),
    "gather_negative_index": lambda t: t.ones(2, 3).gather(1, t.tensor([[-1]])),
    "gather_index_too_big": lambda t: t.ones(2, 3).gather(1, t.zeros(4, 1, dtype=t.long)),
    "gather_dim_out_of_range": lambda t: t.ones(2, 3).gather(2, t.zeros(1, 1, dtype=t.long)),
    "index_select_float": lambda t: t.ones(2, 3).index_select(0, t.tensor([0.0])),
    "index_select_2d": lambda t: t.index_select(t.ones(2, 3), 0, t.tensor([[0]])),
    "index_select_out_of_range": lambda t: t.ones(2, 3).index_select(1, t.tensor([3])),
    "repeat_too_few": lambda t: t.ones(2, 3).repeat(2),
    "repeat_negative": lambda t: t.ones(2, 3).repeat(2, -1),
    "tril_1d": lambda t: t.tril(t.ones(3)),
    "triu_1d": lambda t: t.ones(3).triu(),
    "narrow_start": lambda t: t.ones(3, 4).narrow(1, 5, 1),
    "narrow_length": lambda t: t.narrow(t.ones(3, 4), 1, 2, 3),
    "narrow_negative_length": lambda t: t.ones(3, 4).narrow(1, 2, -1),
    "narrow_0d": lambda t: t.tensor(1.0).narrow(0, 0, 1),
    "cumprod_dim": lambda t: t.cumprod(t.ones(2, 3), 2),
    "sort_dim": lambda t: t.ones(2, 3).sort(2),
    "topk_too_many": lambda t: t.ones(2, 3).topk(4),
    "topk_negative": lambda t: t.topk(t.ones(3), -1),
    "topk_bool": lambda t: t.tensor([True, False]).topk(1),
    "bmm_bool_shapes": lambda t: t.matmul(t.ones(2, 3, 2, dtype=t.bool), t.ones(2, 3, 2, dtype=t.bool)),
    "bmm_dtypes_shapes": lambda t: t.ones(2, 3, 2) @ t.ones(2, 3, 2, dtype=t.float64),
    "topk_bool_k_out_of_range": lambda t: t.topk(t.tensor([[False, False, False]]), 2, dim=0, largest=False),
    "topk_float_k": lambda t: t.topk(t.ones(3), 1.0),
    "trace_1d": lambda t: t.trace(t.ones(3)),
    "trace_bool": lambda t: t.tensor([[True]]).trace(),
    "diag_3d": lambda t: t.ones(2, 2, 2).diag(),
    "diag_0d": lambda t: t.diag(t.tensor(1.0)),
    "movedim_lengths": lambda t: t.ones(2, 3).movedim((0, 1), (0,)),
    "movedim_repeated": lambda t: t.movedim(t.ones(2, 3), (0, 0), (0, 1)),
    "movedim_repeated_destination": lambda t: t.ones(2, 3).movedim((0, 1), (1, 1)),
    "roll_align": lambda t: t.ones(2, 3).roll((1, 2), 0),
    "roll_tuple_without_dims": lambda t: t.roll(t.ones(2, 3), (1, 2)),
    "roll_dim_out_of_range": lambda t: t.ones(2, 3).roll(1, 2),
    "roll_0d_dim": lambda t: t.tensor(2.0).roll(1, 0),
    # softmin, normalize, linear, one_hot, cosine_similarity, dropout, kl_div
    "softmin_long": lambda t: t.nn.functional.softmin(t.tensor([1, 2]), 0),
    "normalize_long": lambda t: t.nn.functional.normalize(t.tensor([[1, 2]])),
    "normalize_dim": lambda t: t.nn.functional.normalize(t.ones(3), dim=1),
    "linear_shapes": lambda t: t.nn.functional.linear(t.ones(3, 4), t.ones(5, 3)),
    "linear_bias_shape": lambda t: t.nn.functional.linear(t.ones(3, 4), t.ones(5, 4), t.ones(3)),
    "linear_dtypes": lambda t: t.nn.functional.linear(t.ones(3, 4), t.ones(5, 4, dtype=t.float64)),
    "expand_bool_too_few_sizes": lambda t: t.zeros(3, 2, dtype=t.bool).expand(1),
    "expand_long_too_few_sizes": lambda t: t.zeros(3, 2, dtype=t.long).expand_as(t.ones(2)),
    "linear_bias_input_dtypes": lambda t: t.nn.functional.linear(t.ones(3, 4, dtype=t.float64), t.ones(5, 4),
                                                                  t.ones(5)),
    "linear_bias_dtype": lambda t: t.nn.functional.linear(t.ones(3, 4), t.ones(5, 4),
                                                           t.ones(5, dtype=t.float64)),
    "linear_vector_bias_dtypes": lambda t: t.nn.functional.linear(t.ones(4), t.ones(5, 4, dtype=t.float64),
                                                                   t.ones(5)),
    "linear_0d": lambda t: t.nn.functional.linear(t.tensor(1.0), t.ones(2, 1)),
    "one_hot_float": lambda t: t.nn.functional.one_hot(t.tensor([1.0])),
    "one_hot_int32": lambda t: t.nn.functional.one_hot(t.tensor([1], dtype=t.int32)),
    "one_hot_negative": lambda t: t.nn.functional.one_hot(t.tensor([-1, 2])),
    "one_hot_too_few_classes": lambda t: t.nn.functional.one_hot(t.tensor([3]), 2),
    "one_hot_empty": lambda t: t.nn.functional.one_hot(t.tensor([], dtype=t.long)),
    "cosine_similarity_long": lambda t: t.nn.functional.cosine_similarity(t.tensor([[1, 2]]),
                                                                          t.tensor([[1, 2]])),
    "cosine_similarity_shapes": lambda t: t.nn.functional.cosine_similarity(t.ones(2, 3), t.ones(2, 4)),
    "cosine_similarity_dim": lambda t: t.nn.functional.cosine_similarity(t.ones(3), t.ones(3)),
    "dropout_p_too_big": lambda t: t.nn.functional.dropout(t.ones(3), 1.5),
    "dropout_p_negative": lambda t: t.nn.functional.dropout(t.ones(3), -0.1),
    "dropout_long": lambda t: t.nn.functional.dropout(t.tensor([1, 2]), 0.5),
    "kl_div_bad_reduction": lambda t: t.nn.functional.kl_div(t.ones(2), t.ones(2), reduction="bad"),
    "kl_div_long": lambda t: t.nn.functional.kl_div(t.tensor([1, 2]), t.tensor([1, 2])),
    "masked_fill_twice": _backward_twice_through(lambda t, x: x.masked_fill(x > 1, 0.5).sum()),
    "gather_twice": _backward_twice_through(lambda t, x: x.gather(1, t.tensor([[0], [1]])).sum()),
    "kl_div_twice": _backward_twice_through(
        lambda t, x: t.nn.functional.kl_div(x, t.tensor([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]]),
                                            reduction="sum")),
}

# keepdim must be a bool: `x.sum(0, 1)` meant dims 0 and 1. The argument parser's words, by position or by
# keyword, for the method and the function, where one signature is left (names the argument) and where
# several are (lists the overloads).
_M = lambda t: t.tensor([[1.0, 2.0], [3.0, 4.0]])  # noqa: E731
for _name in "sum mean max min argmax argmin prod logsumexp amax amin var std any all".split():
    MISUSE[f"{_name}_keepdim_int_by_position"] = lambda t, _n=_name: getattr(_M(t), _n)(0, 1)
    MISUSE[f"{_name}_keepdim_int_by_keyword"] = lambda t, _n=_name: getattr(_M(t), _n)(0, keepdim=1)
    MISUSE[f"torch_{_name}_keepdim_int_by_position"] = lambda t, _n=_name: getattr(t, _n)(_M(t), 0, 1)
    MISUSE[f"torch_{_name}_keepdim_none_by_keyword"] = (
        lambda t, _n=_name: getattr(t, _n)(_M(t), 0, keepdim=None))
# A method's or function's tensor argument given as a number, and arguments of the wrong kind, in the argument
# parser's words (gradcli leaked "'int' object has no attribute '_data'" and numpy's errors).
for _name in ("equal", "view_as", "type_as", "expand_as", "reshape_as"):
    MISUSE[f"{_name}_of_a_number"] = lambda t, _n=_name: getattr(_M(t), _n)(1)
MISUSE.update({
    "torch_equal_number_second": lambda t: t.equal(_M(t), 1),
    "torch_equal_number_first": lambda t: t.equal(1, _M(t)),
    "randperm_float": lambda t: t.randperm(1.5),
    "randperm_bool": lambda t: t.randperm(True),
    "randperm_none": lambda t: t.randperm(None),
    "fill_str": lambda t: _M(t).fill_("a"),
    "fill_none": lambda t: _M(t).fill_(None),
    "format_dtype_spec": lambda t: format(t.float32, ">10"),
    "format_size_spec": lambda t: format(_M(t).shape, ">10"),
    "format_device_spec": lambda t: format(_M(t).device, "x"),
})
MISUSE.update({
    "sum_keepdim_float": lambda t: _M(t).sum(dim=(0, 1), keepdim=1.0),
    "sum_keepdim_tensor": lambda t: _M(t).sum(0, t.tensor(True)),
    "var_unbiased_int": lambda t: _M(t).var(0, unbiased=1),
    "var_unbiased_none": lambda t: t.var(_M(t), 0, None),
    "var_keywords_last_to_first": lambda t: _M(t).var(dim=0, keepdim=None),
    "norm_keepdim_int": lambda t: _M(t).norm(2, 0, 1),
    "torch_norm_keepdim_int": lambda t: t.norm(_M(t), dim=0, keepdim=0),
})


def raised(fn, t):
    try:
        fn(t)
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return type(exc).__name__, str(exc)
    return None


@pytest.mark.oracle
@pytest.mark.parametrize("name", list(MISUSE))
def test_error_matches_torch(torch, name):
    want = raised(MISUSE[name], torch)
    assert want is not None, "the scenario must make PyTorch raise"
    got = raised(MISUSE[name], G)
    assert got == want


# What PyTorch computes, rather than refuses, at the same edges: an int in [2**63, 2**64) is a uint64
# scalar that an integer tensor wraps into its dtype and a float tensor takes as a float; reductions of
# empty tensors whose result is empty or has an identity; softmax of an empty dim.
COMPUTED = {
    "add_uint64": lambda t: t.ones(2, dtype=t.long) + 2**63,
    "rsub_uint64": lambda t: 2**63 - t.ones(2, dtype=t.long),
    "floordiv_uint64": lambda t: t.ones(2, dtype=t.long) // 2**63,
    "remainder_uint64": lambda t: t.ones(2, dtype=t.long) % 2**63,
    "lt_uint64": lambda t: t.ones(2, dtype=t.long) < 2**63,
    "int32_add_uint64": lambda t: t.ones(2, dtype=t.int32) + 2**63,
    "float_add_uint64": lambda t: t.ones(2) + 2**63,
    "iadd_uint64": lambda t: t.ones(2, dtype=t.long).add_(2**63),
    "full_uint8_negative": lambda t: t.full((2,), -1, dtype=t.uint8),
    "float_pow_uint64": lambda t: t.ones(2) ** 2**63,
    # a Python int outside an integer tensor's dtype (numpy: "Python integer 300 out of bounds for int8"):
    # PyTorch wraps it into the dtype, for arithmetic and comparisons alike
    "int32_arith_wraps": lambda t: t.stack([
        t.tensor([1, 3], dtype=t.int32) + 2**40, 2**40 + t.tensor([1, 3], dtype=t.int32),
        t.tensor([1, 3], dtype=t.int32) - 2**31, 2**40 - t.tensor([1, 3], dtype=t.int32),
        t.tensor([1, 3], dtype=t.int32) * 2**31, t.tensor([1, 3], dtype=t.int32) * (2**63 - 1),
        t.tensor([1, 3], dtype=t.int32) // 2**31, t.tensor([1, 3], dtype=t.int32) % (2**32 + 2)]),
    "int32_compare_wraps": lambda t: t.stack([
        t.tensor([1, 3], dtype=t.int32) == 2**40 + 1, t.tensor([1, 3], dtype=t.int32) < 2**40,
        t.tensor([1, 3], dtype=t.int32) > -2**40, 2**40 <= t.tensor([1, 3], dtype=t.int32),
        t.tensor([1, 3], dtype=t.int32) != 2**63 - 1]),
    "int16_int8_wrap": lambda t: t.cat([
        t.tensor([1, 3], dtype=t.int16) + 2**16 + 5, t.tensor([1, 3], dtype=t.int16) * -2**40,
        (t.tensor([1, 3], dtype=t.int8) * 300).to(t.int16),
        (t.tensor([1, 3], dtype=t.int8) - 129).to(t.int16)]),
    "uint8_wraps_negative": lambda t: t.cat([
        t.tensor([1, 3], dtype=t.uint8) + (-1), t.tensor([1, 3], dtype=t.uint8) * -1,
        t.tensor([1, 3], dtype=t.uint8) - 300, -1 - t.tensor([1, 3], dtype=t.uint8),
        t.tensor([1, 3], dtype=t.uint8) + 2**63 + 200, (t.tensor([1, 3], dtype=t.uint8) < -1).to(t.uint8)]),
    "int8_inplace_wraps": lambda t: t.cat([
        t.tensor([1, 3], dtype=t.int8).add_(2**40), t.tensor([1, 3], dtype=t.int8).mul_(300),
        t.tensor([1, 3], dtype=t.int8).__isub__(-200)]),
    "int32_pow_in_range": lambda t: t.cat([
        t.tensor([1, 3], dtype=t.int32) ** 300, 2**40 ** t.ones(2, dtype=t.int32)]),
    # true division takes a Python int as a float, whatever the tensor's dtype (not wrapped, not negative)
    "int_true_divide_huge": lambda t: t.stack([
        t.tensor([1, 3]) / 2**63, t.tensor([1, 3]) / (2**64 - 1), t.tensor([1, 3], dtype=t.int32) / 2**40,
        t.div(t.tensor([1, 3], dtype=t.int8), 2**63), t.true_divide(t.tensor([1, 3], dtype=t.uint8), -1),
        t.divide(t.tensor([1, 3], dtype=t.int16), 2**40), t.tensor([True, False]) / 2**62,
        t.tensor([1.0, 3.0]).div_(2**63), 2**63 / t.tensor([1, 3], dtype=t.int32)]),
    "floordiv_remainder_huge": lambda t: t.stack([
        t.tensor([1, 3]) // 2**63, t.tensor([1, 3]) % 2**63, t.tensor([1, 3]) // (2**63 - 1),
        2**63 // t.tensor([1, 3]), t.div(t.tensor([1, 3]), 2**63, rounding_mode="trunc")]),
    "radd_tensor_first": lambda t: t.tensor([float(len((2 + t.ones(2, requires_grad=True)).grad_fn
                                                        .next_functions[0][0].__class__.__name__))]),
    "arange_float_uint64": lambda t: t.arange(0.0, 2**63, 2**62),
    "arange_inf_step": lambda t: t.arange(0, 5, float("inf")),
    "max_empty_other_dim": lambda t: t.zeros(3, 0).max(0).values,
    "argmax_empty_other_dim": lambda t: t.zeros(0, 3).argmax(1),
    "reductions_of_empty_dim": lambda t: t.stack([
        t.zeros(3, 0).sum(1), t.zeros(3, 0).mean(1), t.zeros(3, 0).prod(1), t.zeros(3, 0).norm(dim=1),
        t.zeros(3, 0).any(1).float(), t.zeros(3, 0).all(1).float()]),
    "softmax_empty_dim": lambda t: t.cat([t.zeros(3, 0).softmax(1), t.zeros(3, 0).log_softmax(1)]),
    "argmax_0d_dim": lambda t: t.stack([t.tensor(2.0).argmax(0), t.tensor(2.0).argmin(0, keepdim=True)]),
    "any_0d_dim": lambda t: t.stack([t.tensor(2.0).any(0), t.tensor(0.0).all(0)]),
    "arange_of_bools": lambda t: t.cat([t.arange(True), t.arange(False, True, True)]),
    # nll_loss and cross_entropy of an empty batch, and of a 0-d target (a 1-d input): values and gradients
    "nll_loss_empty_batch": lambda t: _losses(t, t.zeros(0, 3, requires_grad=True), t.zeros(0, dtype=t.long)),
    # (cross_entropy of a 1-d input differs from PyTorch's in the last bit: its 1-d log_softmax)
    "nll_loss_0d_target":
        lambda t: _losses(t, t.tensor([0.1, 0.5, 0.4], requires_grad=True), t.tensor(1), False),
    "nll_loss_ignored_0d_target":
        lambda t: _losses(t, t.tensor([0.1, 0.5, 0.4], requires_grad=True), t.tensor(-100), False),
    # (N, C, d...) inputs: nll_loss2d for 4-d, and a view to 4-d (and back, for 'none') for the others
    "nll_loss_3d": lambda t: _losses(t, (t.arange(30.0).reshape(2, 3, 5) * 0.37).sin().requires_grad_(),
                                     t.tensor([[0, 2, 1, -100, 2], [1, 1, 0, 2, -100]]), False),
    "nll_loss_4d": lambda t: _losses(t, (t.arange(24.0).reshape(2, 3, 2, 2) * 0.37).sin().requires_grad_(),
                                     t.tensor([[[0, 1], [2, -100]], [[1, 1], [0, 2]]]), False),
    "nll_loss_5d_weighted": lambda t: t.cat([
        t.nn.functional.nll_loss(x, t.tensor([[[[0, 1]], [[2, -100]]], [[[1, 1]], [[0, 2]]]]), weight=w,
                                 reduction=r).reshape(-1)
        for x in [t.arange(24.0).reshape(2, 3, 2, 1, 2).cos()] for w in [t.tensor([0.5, 2.0, 1.5])]
        for r in ("mean", "sum", "none")]),
    "nll_loss_3d_empty":
        lambda t: _losses(t, t.zeros(2, 3, 0, requires_grad=True), t.zeros(2, 0, dtype=t.long), False),
    # a non-contiguous (N, C, d) input is made contiguous first (nll_loss2d's backward never sees it)
    "nll_loss_3d_transposed": lambda t: _losses(
        t, (t.arange(30.0).reshape(2, 5, 3) * 0.37).sin().requires_grad_().transpose(1, 2),
        t.tensor([[0, 2, 1, -100, 2], [1, 1, 0, 2, -100]]), False),
    "nll_loss_weight_2d_in_4d": lambda t: _nll(
        t, t.arange(24.0).reshape(2, 3, 2, 2).cos(), t.ones(2, 2, 2, dtype=t.long),
        weight=t.tensor([[1.0, 3.0, 2.0]])),
    # a mean over many rows: PyTorch's cascade of partial sums, in float32, to the last bit
    "nll_loss_many_rows": lambda t: t.stack([
        t.nn.functional.nll_loss((t.arange(2100.0).reshape(300, 7) * 0.37) % 1.0 - 0.5, t.arange(300) * 7 % 8,
                                 weight=w, ignore_index=7, reduction=r)
        for w in (None, t.arange(1.0, 8.0) * 0.3) for r in ("mean", "sum")]),
    "nll_loss_4d_many_rows": lambda t: t.stack([
        _nll(t, (t.arange(20480.0).reshape(8, 5, 16, 32) * 0.37) % 1.0 - 0.5,
             (t.arange(4096).reshape(8, 16, 32) * 3) % 6, weight=w, ignore_index=5, reduction=r)
        for w in (None, t.arange(1.0, 6.0) * 0.3) for r in ("mean", "sum")]),
    # linspace steps from both ends with fused multiply-adds: exact values, many sizes and dtypes
    "linspace_many": lambda t: t.cat([
        t.linspace(a, b, n, dtype=d).double()
        for a, b in ((-1, 1), (0.1, 2.7), (-5.5, 3.25), (7, -3), (-100, 100))
        for n in (1, 2, 7, 16, 17, 33, 101, 1500) for d in (t.float32, t.float64, t.float16, t.int64)]
        + [t.linspace(-1, 1, 7, dtype=t.uint8).double(), t.linspace(200, -10, 9, dtype=t.int32).double()]),
    "nll_loss_sum_ignored_grad_is_zero":
        lambda t: _losses(t, -t.ones(2, 3, requires_grad=True), t.tensor([1, -100]), False),
    "nll_loss_all_ignored":
        lambda t: _losses(t, t.ones(2, 3, requires_grad=True), t.tensor([-100, -100]), False),
    "nll_loss_ignored_rows_are_zero": lambda t: t.nn.functional.nll_loss(
        t.tensor([[1.0, 2.0], [-1.0, -2.0]]), t.tensor([-100, 1]), reduction="none"),
    "linspace_0d_tensor_start": lambda t: t.linspace(t.tensor(0.0), 1, 5),
    "bitwise_bool_int": lambda t: t.ones(2, dtype=t.bool) | 2,
    "bitwise_bools": lambda t: t.tensor([True, False]) ^ t.tensor([True, True]),
    "bitwise_longs": lambda t: t.tensor([6, 5]) & 3,
    "softmax_long_with_dtype": lambda t: t.softmax(t.ones(2, 2, dtype=t.long), 0, dtype=t.float32),
    "softmax_empty_long": lambda t: t.softmax(t.ones(2, 0, dtype=t.long), 0),
    "isclose_broadcasts": lambda t: t.isclose(t.ones(2, 1), t.ones(3)),
    "sign_of_bool": lambda t: t.sign(t.tensor([True, False])),
    "manual_seed_negative": lambda t: t.tensor(t.manual_seed(-1).initial_seed() == 2**64 - 1),
    # two numbers: add, sub, mul and div take them as 0-d tensors (PyTorch's numbers-as-tensors ops)
    "mul_of_ints": lambda t: t.mul(1, 2),
    "mul_of_int_and_float": lambda t: t.mul(1, 2.5),
    "mul_of_bools": lambda t: t.mul(True, False),
    "sub_of_numbers": lambda t: t.sub(1, 2.5),
    "div_of_ints": lambda t: t.div(1, 2),
    "true_divide_of_ints": lambda t: t.true_divide(7, 2),
    "add_of_ints": lambda t: t.add(1, 2),
    # an unsigned dtype takes -max..max, a negative number as what it stands for there (clamp bounds too)
    "clamp_uint8_negative_max": lambda t: t.ones(2, dtype=t.uint8).clamp(max=-1),
    "clamp_uint8_negative_bounds": lambda t: t.tensor([0, 100, 200], dtype=t.uint8).clamp(min=-255, max=-1),
    "clamp_uint8_min_minus_129": lambda t: t.zeros(2, dtype=t.uint8).clamp(min=-129),
    "full_uint8_minus_255": lambda t: t.full((2,), -255, dtype=t.uint8),
    # the reflected bitwise operators
    "rand_int": lambda t: 3 & t.tensor([6, 5]),
    "ror_int": lambda t: 1 | t.tensor([6, 5]),
    "rxor_bool": lambda t: True ^ t.tensor([True, False]),
    # an integer to a negative integer power (a tensor exponent): 1, -1 or 0, where numpy refuses
    "int_pow_negative_tensor": lambda t: t.tensor([1, -1, -1, 2, 0, 3]) ** t.tensor([-3, -3, -2, -1, 2, 0]),
    "rpow_int_negative": lambda t: (-1) ** t.tensor([-1, -2, 3]),
    "int8_pow_negative": lambda t: t.tensor([2, 3], dtype=t.int8) ** t.tensor([-1, 2], dtype=t.int8),
    "floor_divide_of_numbers": lambda t: t.floor_divide(7.0, 2),
    # binary_cross_entropy clamps its logs at -100: an input of exactly 0 or 1 costs 100, not inf
    "bce_clamped_logs": lambda t: t.nn.functional.binary_cross_entropy(
        t.tensor([0.0, 1.0, 0.5, 1.0]), t.tensor([1.0, 0.0, 0.5, 1.0]), reduction="none"),
    "bce_clamped_logs_grad": lambda t: _input_grad(
        t, lambda x: t.nn.functional.binary_cross_entropy(x, t.tensor([1.0, 0.0, 0.5])), [0.0, 1.0, 0.5]),
    "bce_logits_far_out": lambda t: t.nn.functional.binary_cross_entropy_with_logits(
        t.tensor([100.0, -100.0, 30.0, -30.0]), t.tensor([0.0, 1.0, 1.0, 0.0]), reduction="none"),
    "bce_logits_double_input": lambda t: t.nn.functional.binary_cross_entropy_with_logits(
        t.tensor([0.5, -1.0], dtype=t.float64), t.tensor([1.0, 0.0])),
    "l1_loss_long_sum_none": lambda t: t.stack([t.nn.functional.l1_loss(t.tensor([1, 5]), t.tensor([3, 2]),
                                                                         reduction="sum").expand(2),
                                                t.nn.functional.l1_loss(t.tensor([1, 5]), t.tensor([3, 2]),
                                                                        reduction="none")]),
    "smooth_l1_long_target": lambda t: t.nn.functional.smooth_l1_loss(t.tensor([0.5, 3.0]), t.tensor([1, 1])),
    "logsumexp_edges": lambda t: t.cat([
        t.logsumexp(t.tensor([float("inf"), 1.0]), 0).reshape(1),
        t.logsumexp(t.tensor([float("-inf"), float("-inf")]), 0).reshape(1),
        t.logsumexp(t.zeros(2, 0), 1), t.logsumexp(t.tensor([1, 2, 3]), 0).reshape(1),
        t.logsumexp(t.tensor([1000.0, 1000.0]), 0).reshape(1)]),
    "amax_ties_grad": lambda t: _input_grad(t, lambda x: x.amax(), [1.0, 3.0, 3.0, 2.0]),
    "amin_int": lambda t: t.tensor([[3, -1], [2, 5]]).amin(0),
    "chunk_sizes": lambda t: t.tensor([float(p.shape[0]) for n in (1, 4, 6) for p in t.ones(5).chunk(n)]),
    "split_grad_missing_pieces": lambda t: _input_grad(t, lambda x: x.split(2)[1].sum() * 3, [1.0] * 5),
    "flip_0d": lambda t: t.tensor(2.0).flip(0),
    "cumprod_zeros_grad": lambda t: t.stack([
        _input_grad(t, lambda x: x.cumprod(0).sum(), [2.0, 0.0, 3.0, 0.0, 5.0]),
        _input_grad(t, lambda x: (x.cumprod(0) * t.tensor([1.0, 2.0, 3.0, 4.0, 5.0])).sum(),
                    [0.0, 2.0, 3.0, 4.0, 0.5]),
        _input_grad(t, lambda x: x.cumprod(0).sum(), [1.5, 2.0, 3.0, 4.0, 0.0])]),
    "cumprod_int_bool": lambda t: t.stack([t.tensor([1, 2, 3]).cumprod(0),
                                           t.tensor([True, False, True]).cumprod(0),
                                           t.tensor([1, 2, 3], dtype=t.int32).cumprod(0)]),
    "sort_ties_and_nan": lambda t: t.stack([
        t.tensor([2.0, float("nan"), 1.0, 2.0]).sort().values,
        t.tensor([2.0, float("nan"), 1.0, 2.0]).sort()[1],
        t.tensor([2.0, float("nan"), 1.0, 2.0]).sort(descending=True).values,
        t.tensor([2.0, float("nan"), 1.0, 2.0]).argsort(descending=True).float()]),
    "sort_0d_int_bool": lambda t: t.stack([t.tensor(3.0).sort().values, t.tensor(3.0).topk(1).indices.float(),
                                           t.tensor([3, 1, 2]).sort().values.float().sum(),
                                           t.tensor([True, False]).sort().indices.float().sum()]),
    "diag_offsets": lambda t: t.cat([t.diag(t.ones(2, 3), -1), t.diag(t.ones(2, 3), 5),
                                     t.diag(t.arange(6.0).reshape(2, 3), 2),
                                     t.diag(t.tensor([1, 2]), 1).float()[0]]),
    "trace_int": lambda t: t.stack([t.tensor([[1, 2], [3, 4]], dtype=t.int32).trace(),
                                    t.ones(2, 3).long().trace()]),
    "masked_fill_int_value": lambda t: t.stack([t.tensor([1, 2]).masked_fill(t.tensor([True, False]), 0.5),
                                                t.tensor([1, 2]).masked_fill(t.tensor([False, True]), 7)]),
    "masked_fill_bigger_mask": lambda t: t.ones(3).masked_fill(t.tensor([[True], [False]]), 2.0),
    "roll_0d_and_negative": lambda t: t.cat([t.tensor(1.0).roll(1).reshape(1), t.arange(4.0).roll(-3, 0)]),
    "asin_acos_out_of_domain": lambda t: t.cat([t.asin(t.tensor([2.0, -1.0])), t.acos(t.tensor([1.5, 1.0])),
                                                t.log2(t.tensor([0.0, -1.0])),
                                                t.log10(t.tensor([1000.0, 0.5]))]),
    "one_hot_edges": lambda t: t.cat([t.nn.functional.one_hot(t.tensor(2), 4),
                                      t.nn.functional.one_hot(t.tensor([], dtype=t.long), 3).reshape(-1),
                                      t.nn.functional.one_hot(t.tensor([[0], [1]])).reshape(-1)]),
    "dropout_identities": lambda t: t.cat([t.nn.functional.dropout(t.tensor([1.0, -2.0]), 0.0),
                                           t.nn.functional.dropout(t.tensor([1.0, -2.0]), 0.7,
                                                                   training=False),
                                           t.nn.functional.dropout(t.tensor([1.0, -2.0]), 1.0),
                                           t.nn.functional.dropout(t.tensor([1, 2]), 0.5, False).float()]),
    "kl_div_zero_target_and_0d": lambda t: t.stack([
        t.nn.functional.kl_div(t.tensor([-1.0, -2.0]), t.tensor([0.0, 1.0]), reduction="sum"),
        t.nn.functional.kl_div(t.tensor(-1.0), t.tensor(0.5), reduction="batchmean"),
        t.nn.functional.kl_div(t.tensor([[-1.0, -2.0]]), t.tensor([[0.5, 0.5]]), reduction="batchmean"),
        t.nn.functional.kl_div(t.tensor([-1.0]), t.tensor([-0.5]), log_target=True, reduction="mean")]),
    "cosine_similarity_zero_and_int": lambda t: t.stack([
        t.nn.functional.cosine_similarity(t.zeros(1, 3), t.ones(1, 3))[0],
        t.nn.functional.cosine_similarity(t.tensor([[1, 2]]), t.tensor([[1.0, 2.0]]))[0],
        t.nn.functional.cosine_similarity(t.ones(3), t.tensor([1.0, -1.0, 2.0]), dim=0)]),
    "normalize_zero_grad": lambda t: _input_grad(t, lambda x: (t.nn.functional.normalize(x, dim=0) *
                                                                t.tensor([1.0, 2.0])).sum(), [0.0, 0.0]),
    "activations_far_out": lambda t: t.stack([
        t.nn.functional.softplus(t.tensor([-30.0, 30.0, 100.0])),
        t.nn.functional.elu(t.tensor([-30.0, 0.0, 3.0])),
        t.nn.functional.silu(t.tensor([-100.0, 0.0, 100.0])),
        t.nn.functional.leaky_relu(t.tensor([-2.0, 0.0, 2.0]), -0.5)]),
    # float32 sums and means add in PyTorch's CPU order (SumKernel.cpp's cascade_sum), not numpy's pairwise
    "sums_in_torch_order": lambda t: _sums(t),
}


def _sums(t):
    """Sums and means of many sizes (under and over 8 lanes, 4 * 8 * 16 cascade blocks) and of rows, on
    inputs every engine computes alike (an int times 0.37, % 1, - 0.5, times an int: all float32 rounding)."""
    out = []
    for n in (5, 7, 8, 9, 13, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 255, 256, 257, 512, 513, 1000, 1023,
              1024, 1025, 2048, 4099, 9000, 20000):
        i = t.arange(n)
        x = ((i * 0.37) % 1.0 - 0.5) * (1 + (i % 5) * 1000)
        out += [x.sum(), x.mean(), (-x).sum()]
    for shape in ((3, 5), (4, 8), (2, 37), (5, 300), (2, 3, 70), (3, 1030), (37, 3), (70, 40), (600, 9)):
        n = 1
        for d in shape:
            n *= d
        i = t.arange(n)
        x = (((i * 0.37) % 1.0 - 0.5) * (1 + (i % 7) * 100)).reshape(shape)
        out += [x.sum(dim=-1), x.mean(dim=-1), x.sum(dim=-1, keepdim=True), x.sum(), x.sum(dim=0),
                x.mean(dim=0)]
    # views: a transposed matrix reduces in memory order, strided rows add their row sums in order
    v = (((t.arange(2400) * 0.37) % 1.0 - 0.5) * (1 + (t.arange(2400) % 3) * 100)).reshape(40, 60)
    out += [v.t().sum(dim=0), v.t().mean(dim=1), v.t().sum(), v[:, 1:].sum(), v[::2].sum(),
            v[1::3, 5:].mean()]
    # losses reduce with the same mean / sum
    a = (t.arange(1000) * 0.37) % 1.0 - 0.5
    b = (t.arange(1000) * 0.61) % 1.0 - 0.5
    f = t.nn.functional
    out += [f.mse_loss(a, b), f.mse_loss(a, b, reduction="sum"), f.huber_loss(a * 7, b),
            f.smooth_l1_loss(a * 7, b)]
    # float64 adds in the same order, 4 lanes wide
    d = ((t.arange(3000) * 0.37) % 1.0 - 0.5).double() * 1e-3 + 1.0
    out += [d.sum().float(), (d.sum() - 3000.0).float() * 1e6, (d.reshape(30, 100).sum(dim=0) - 30.0).float()]
    return t.cat([o.reshape(-1) for o in out])


def _input_grad(t, fn, values):
    x = t.tensor(values, requires_grad=True)
    fn(x).backward()
    return x.grad


@pytest.mark.oracle
@pytest.mark.parametrize("name", list(COMPUTED))
def test_edge_values_match_torch(torch, name):
    want = COMPUTED[name](torch)
    got = COMPUTED[name](G)
    # (the lists as text: nan equals nan there)
    assert (str(got.dtype), tuple(got.shape), repr(got.tolist())) == (
        str(want.dtype), tuple(want.shape), repr(want.tolist()))


def failure_of(code, t, statements=False):
    """(type name, first line of the message) of the exception `code` raises run on the torch-like
    namespace t, or None: an expression (eval) or, with statements, a block (exec). Test code running the
    same text on PyTorch and on gradcli."""
    try:
        if statements:
            exec(code, {"t": t})  # noqa: S102
        else:
            eval(code, {"t": t})  # noqa: S307
    except Exception as exc:  # noqa: BLE001 - the failure itself is compared
        return type(exc).__name__, str(exc).split("\n")[0]
    return None


def assert_fails_as_torch(torch, code, statements=False):
    want = failure_of(code, torch, statements)
    assert want is not None, "PyTorch did not fail"
    assert failure_of(code, G, statements) == want


# ------------------------------------------------------------------ out-of-range indices: which dimension
@pytest.mark.parametrize(
    "expression",
    [
        't.tensor([])[..., 0]',
        't.tensor([])[0]',
        't.zeros(2)[..., 5]',
        't.zeros(2,3)[..., 5]',
        't.zeros(2,3)[..., 5, 1]',
        't.zeros(2,3)[5, ...]',
        't.zeros(2,3)[:, ..., 5]',
        't.zeros(2,3,4)[..., 9]',
        't.zeros(2,3,4)[1, ..., 9]',
        't.zeros(2,3,4)[..., 9, :]',
        't.zeros(2)[None, ..., 5]',
        't.zeros(2)[..., None, 5]',
        't.zeros(2)[None, 5]',
        't.zeros(2,3)[None, :, 7]',
        't.zeros(2,3)[None, None, 1, 7]',
        't.zeros(2,3,4)[:, ..., 1, 9]',
        't.zeros(2,3,4)[0, None, ..., 9]',
    ],
)
def test_index_error_names_the_position_as_pytorch_does(torch, expression):
    """PyTorch's IndexError names the index's position in the index, where '...' and None count one item
    each (x[..., 0] of a 1-d tensor is 'dimension 1'), not the dimension it lands on."""
    assert_fails_as_torch(torch, expression)


@pytest.mark.parametrize(
    "expression",
    [
        "t.empty(2, 0).index_select(-1, t.tensor([0, 0]))",
        "t.empty(0, 2).index_select(0, t.tensor([0]))",
        "t.empty(0).index_select(0, t.tensor([1]))",
        "t.tensor(5.).index_select(0, t.tensor([1]))",
        "t.zeros(2, 3).index_select(1, t.tensor([3]))",
        "t.zeros(2, 3).index_select(0, t.tensor([2]))",
    ],
)
def test_index_select_out_of_range_fails_as_pytorch_does(torch, expression):
    assert_fails_as_torch(torch, expression)


@pytest.mark.parametrize(
    "statements",
    [
        'x = t.zeros(2, 2, 0)\nx[..., 0] = 0.0',
        'x = t.zeros(2, 3)\nx[..., 5] = 1.0',
        'x = t.zeros(2, 3)\nx[5] = 1.0',
        'x = t.zeros(2, 3)\nx[:, 7] = 1.0',
        'x = t.zeros(2, 3, 4)\nx[1, ..., 9] = 1.0',
        'x = t.zeros(2, 3)\nx[None, :, 7] = 1.0',
        'x = t.zeros(2, 3)\nx[0, 3] = 1.0',
        'x = t.zeros(3)\nx[t.tensor([5])] = 1.0',
    ],
)
def test_index_write_error_names_the_position_as_pytorch_does(torch, statements):
    """x[..., i] = v out of range names the index's position as reading does ('...' and None count one)."""
    assert_fails_as_torch(torch, statements, statements=True)
