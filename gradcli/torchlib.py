"""The modules a gradscript program can import: `torch`, `torch.autograd`, `torch.nn.functional`, `numpy`,
`math`.

Each is a `ScriptModule`: a name and an explicit table of members. Nothing else of Python is reachable
through them (no `torch.os`, no `np.ctypeslib`): the interpreter looks attributes up only in `members`.
"""

from __future__ import annotations

import math as _math

_PYTORCH_NAMES: dict | None = None


def is_pytorch_name(space: str, name: str) -> bool:
    """Whether PyTorch 2.13 has `name` in `space` ("torch", "torch.nn", "torch.nn.functional",
    "torch.autograd" or "Tensor"), so that a script naming something gradcli lacks is told it is not available
    in gradscript rather than that PyTorch has no such name. The list (pytorch_names.json, written by
    tests/make_pytorch_names.py) is read on the first such miss only."""
    global _PYTORCH_NAMES
    if _PYTORCH_NAMES is None:
        import json
        from pathlib import Path

        table = json.loads((Path(__file__).parent / "pytorch_names.json").read_text())
        _PYTORCH_NAMES = {k: frozenset(v) for k, v in table.items() if isinstance(v, list)}
    return name in _PYTORCH_NAMES.get(space, ())


class ScriptModule:
    """A module as a script sees it: an allow-list of members and nothing more."""

    __slots__ = ("name", "members")

    def __init__(self, name: str, members: dict):
        self.name = name
        self.members = members

    def __repr__(self):
        return f"<module '{self.name}'>"


_TORCH_FUNCTIONS = """
    tensor as_tensor zeros ones empty full zeros_like ones_like full_like arange linspace eye rand randn
    rand_like randn_like randint randperm normal bernoulli manual_seed set_printoptions add sub mul div
    true_divide divide neg negative
    pow square exp log sin cos tan tanh sigmoid relu sqrt rsqrt abs clamp clip clamp_min clamp_max maximum
    minimum where sum mean max min argmax argmin prod var std norm cumsum matmul mm mv dot outer stack cat
    concat concatenate unbind softmax log_softmax reshape flatten transpose swapaxes t permute unsqueeze
    squeeze clone eq ne lt le gt ge equal allclose isclose any all sign floor ceil round reciprocal
    logical_not logical_and logical_or numel is_tensor log1p expm1 broadcast_to floor_divide remainder erf
    logsumexp amax amin chunk split flip isnan isinf isfinite masked_fill gather index_select tril triu narrow
    cumprod sort argsort topk sinh cosh asin acos atan log2 log10 trace diag movedim roll
    exp2 trunc frac atan2 hypot logaddexp bmm lerp moveaxis swapdims ravel sgn signbit count_nonzero hstack
    vstack nansum nanmean masked_select diff addcmul addcdiv
""".split()

_NN_FUNCTIONAL = """
    relu sigmoid tanh softmax log_softmax mse_loss nll_loss cross_entropy gelu leaky_relu elu silu softplus
    binary_cross_entropy binary_cross_entropy_with_logits l1_loss smooth_l1_loss huber_loss softmin normalize
    linear one_hot cosine_similarity dropout kl_div hardtanh relu6 logsigmoid embedding layer_norm
""".split()


def build_modules() -> dict[str, ScriptModule]:
    """name -> module, for every module a script may import."""
    from . import autograd_functional, dtypes, engine, functional
    from .function import Function
    from .gradcheck import gradcheck, gradgradcheck
    from .tensor import Device, Size, Tensor

    def set_default_dtype(d):
        if not isinstance(d, dtypes.DType) or not d.is_floating_point:
            raise TypeError("only floating-point types are supported as the default type")
        dtypes.defaults.float = d

    autograd_fn = ScriptModule(
        "torch.autograd.functional",
        {name: getattr(autograd_functional, name)
         for name in ("jacobian", "hessian", "vjp", "jvp", "hvp", "vhp")},
    )
    autograd = ScriptModule(
        "torch.autograd",
        {
            "functional": autograd_fn,
            "Variable": functional.Variable,
            "detect_anomaly": engine.detect_anomaly,
            "set_detect_anomaly": engine.set_detect_anomaly,
            "grad": engine.grad,
            "backward": engine.backward,
            "Function": Function,
            "no_grad": engine.no_grad,
            "enable_grad": engine.enable_grad,
            "set_grad_enabled": engine.set_grad_enabled,
            "gradcheck": gradcheck,
            "gradgradcheck": gradgradcheck,
        },
    )
    nn_functional = ScriptModule("torch.nn.functional", {n: getattr(functional, n) for n in _NN_FUNCTIONAL})
    # (F.softmax and F.log_softmax take dim=None, which torch.softmax and the methods refuse)
    nn_functional.members.update(softmax=functional.nn_softmax, log_softmax=functional.nn_log_softmax)
    nn = ScriptModule("torch.nn", {"functional": nn_functional})
    torch = {n: getattr(functional, n) for n in _TORCH_FUNCTIONS}
    torch.update(functional.script_functions())
    torch.update({d.name: d for d in dtypes.ALL})
    torch.update(dtypes.ALIASES)
    torch.update(
        {
            "Tensor": Tensor,
            "Generator": functional.Generator,
            "Size": Size,
            "device": Device,
            "dtype": dtypes.DType,
            "no_grad": engine.no_grad,
            "enable_grad": engine.enable_grad,
            "set_grad_enabled": engine.set_grad_enabled,
            "is_grad_enabled": engine.is_grad_enabled,
            "is_anomaly_enabled": engine.is_anomaly_enabled,
            "is_anomaly_check_nan_enabled": engine.is_anomaly_check_nan_enabled,
            "get_default_dtype": lambda: dtypes.defaults.float,
            "set_default_dtype": set_default_dtype,
            "autograd": autograd,
            "nn": nn,
            "pi": _math.pi,
            "e": _math.e,
            "inf": _math.inf,
            "nan": _math.nan,
        }
    )
    math = ScriptModule(
        "math",
        {
            name: getattr(_math, name)
            for name in "pi e inf nan tau sqrt exp log log2 log10 sin cos tan tanh atan atan2 floor ceil "
            "fabs isclose isnan isinf isfinite".split()
        },
    )
    # numpy is accepted so tutorial preambles run; scripts compute with torch, not numpy arrays.
    numpy = ScriptModule("numpy", {"pi": _math.pi, "e": _math.e, "inf": _math.inf, "nan": _math.nan})
    return {
        "torch": ScriptModule("torch", torch),
        "torch.autograd": autograd,
        "torch.autograd.functional": autograd_fn,
        "torch.nn": nn,
        "torch.nn.functional": nn_functional,
        "math": math,
        "numpy": numpy,
    }
