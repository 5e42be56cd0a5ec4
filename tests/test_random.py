"""Random numbers: after the same torch.manual_seed, gradcli draws PyTorch's values, bit for bit.

Each case runs the same sequence of draws through gradcli's torch namespace and through PyTorch in this
process and compares every value exactly (the stream is shared by all draws, so one wrong consumption shows
up in every later call of its sequence)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_engine_misuse import assert_fails_as_torch
from test_engine_ops import MODULES, NS, G, to_numpy

from gradcli import rng

F = NS(MODULES["torch.nn.functional"].members)
DTYPES = ("float32", "float64", "float16")


def _values(t):
    return to_numpy(t)


def _draw(lib, nn, kind, shape, dtype, arg):
    """One draw of `kind` through lib (gradcli's torch or PyTorch); nn is its torch.nn.functional."""
    dt = getattr(lib, dtype)
    if kind == "rand":
        return lib.rand(*shape, dtype=dt)
    if kind == "randn":
        return lib.randn(*shape, dtype=dt)
    if kind == "randint":
        return lib.randint(arg[0], arg[1], shape)
    if kind == "randperm":
        return lib.randperm(shape[0])
    if kind == "uniform_":
        return lib.empty(*shape, dtype=dt).uniform_(*arg)
    if kind == "normal_":
        return lib.empty(*shape, dtype=dt).normal_(*arg)
    if kind == "normal_t":  # a transposed (non-contiguous) tensor: drawn in memory order, one at a time
        return lib.empty(shape[-1], shape[0], dtype=dt).t().normal_(*arg)
    if kind == "dropout":
        return nn.dropout(lib.ones(*shape, dtype=dt), arg)
    if kind == "bernoulli":  # a tensor of probabilities, of the dtype asked
        return lib.bernoulli(lib.linspace(0, 1, shape[0], dtype=dt))
    if kind == "bernoulli_":
        return lib.empty(*shape, dtype=dt).bernoulli_(arg)
    raise AssertionError(kind)


def _sequence(seed):
    """A reproducible list of (kind, shape, dtype, arg) draws."""
    r = random.Random(seed)
    steps = []
    for _ in range(6):
        kind = r.choice(["rand", "randn", "randn", "randint", "randperm", "uniform_", "normal_", "normal_t",
                         "dropout", "bernoulli", "bernoulli_"])
        n = r.choice([1, 2, 3, 7, 15, 16, 17, 31, 33, 40, 64, 100, 257, 1000])
        shape = (n,) if n < 4 or r.random() < 0.5 else (2, n // 2)
        dtype = r.choice(DTYPES)
        arg = None
        if kind == "randint":
            low = r.choice([0, -5, 3])
            arg = (low, low + r.choice([1, 2, 10, 1000, 2**28 - 1, 2**28, 2**31, 2**32 + 5, 2**40]))
        elif kind == "uniform_":
            arg = r.choice([(), (-1, 1), (0.1, 0.3), (-3.3, -1.1), (2, 7)])
        elif kind in ("normal_", "normal_t"):
            arg = r.choice([(), (2, 3), (-1.5, 0.1), (0.3, 7)])
        elif kind in ("dropout", "bernoulli_"):
            arg = r.choice([0.1, 0.5, 0.9])
        steps.append((kind, shape, dtype, arg))
    return steps


@pytest.mark.parametrize("case", range(60))
def test_seeded_draws_are_pytorchs(torch, case):
    seed = random.Random(case).randrange(2**64) if case % 3 else case
    steps = _sequence(case)
    torch.manual_seed(seed)
    want = [_values(_draw(torch, torch.nn.functional, *step)) for step in steps]
    G.manual_seed(seed)
    got = [_values(_draw(G, F, *step)) for step in steps]
    for step, w, g in zip(steps, want, got):
        assert w.dtype == g.dtype and w.shape == g.shape, step
        np.testing.assert_array_equal(g, w, err_msg=f"seed {seed}, {step}")


def test_float32_randn_kernel_over_many_blocks(torch):
    """PyTorch's float32 randn of 16 values or more runs its AVX2 kernel (cephes log, sin and cos with fused
    multiply-adds); 200,000 values of it, bit for bit."""
    for seed in (0, 1, 2**40 + 3):
        torch.manual_seed(seed)
        want = torch.randn(100_000 + 9).numpy()
        gen = rng.CPUGenerator(seed)
        np.testing.assert_array_equal(gen.normal(100_000 + 9, np.float32), want)


def test_double_uniform_bounds_use_a_fused_multiply_add(torch):
    """uniform_(from, to) in double is x * (to - from) + from rounded once, as PyTorch's compiled kernel
    computes it (an unfused evaluation differs on about a fifth of the values)."""
    torch.manual_seed(5)
    want = torch.empty(20_000, dtype=torch.float64).uniform_(0.1, 0.3).numpy()
    got = rng.CPUGenerator(5).uniform(20_000, np.float64, 0.1, 0.3)
    np.testing.assert_array_equal(got, want)


def test_half_uniform_never_reaches_its_upper_bound(torch):
    """A float draw that rounds up to `to` in half becomes `from`, as in PyTorch's kernel."""
    torch.manual_seed(0)
    want = torch.rand(5000, dtype=torch.float16).numpy()
    got = rng.CPUGenerator(0).uniform(5000, np.float16)
    assert (want == 0).sum() >= 1
    np.testing.assert_array_equal(got, want)
    assert got.max() < 1


def test_scalar_normal_keeps_its_second_value_until_manual_seed(torch):
    """Fewer than 16 normals come from Box-Muller pairs; the second of a pair is kept for the next draw,
    across calls, until manual_seed clears it."""
    for lib in (torch, G):
        lib.manual_seed(11)
    a = [_values(lib.randn(1)) for lib in (torch, G) for _ in range(3)]
    np.testing.assert_array_equal(np.concatenate(a[3:]), np.concatenate(a[:3]))
    for lib in (torch, G):
        lib.randn(1)
        lib.manual_seed(11)
    np.testing.assert_array_equal(_values(G.randn(3)), _values(torch.randn(3)))


def test_manual_seed_wraps_negative_seeds(torch):
    for seed in (-1, -(2**63), 2**64 - 1, 2**32 + 7):
        torch.manual_seed(seed)
        G.manual_seed(seed)
        np.testing.assert_array_equal(_values(G.rand(5)), _values(torch.rand(5)))


def test_in_place_draws_record_pytorchs_nodes():
    x = G.ones(3, requires_grad=True)
    y = x * 2
    y.uniform_()
    assert type(y.grad_fn).__name__ == "UniformBackward0"
    z = x * 2
    z.normal_(1, 2)
    assert type(z.grad_fn).__name__ == "NormalBackward0"
    (y.sum() + z.sum()).backward()
    np.testing.assert_array_equal(to_numpy(x.grad), np.zeros(3, np.float32))


@pytest.mark.parametrize(
    "source",
    [
        "t.empty(2).uniform_(2, 1)",
        "t.empty(2).uniform_(2.5, 1.25)",
        "t.empty(2).uniform_(1, 2, 3)",
        "t.empty(2).uniform_(foo=3)",
        "t.empty(2).uniform_('a')",
        "t.empty(2).uniform_(0, float('inf'))",
        "t.empty(2, dtype=t.float16).uniform_(0, 1e6)",
        "t.zeros(2, dtype=t.bool).uniform_()",
        "t.empty(2).normal_(0, -1)",
        "t.empty(2).normal_(0, float('nan'))",
        "t.zeros(2, dtype=t.int64).normal_()",
        "t.ones(2, requires_grad=True).uniform_()",
        "t.ones(2, requires_grad=True).normal_()",
        "t.zeros(1).expand(3).uniform_()",
        "t.rand(2, dtype=t.int64)",
        "t.rand(2, dtype=t.bool)",
        "t.randn(2, dtype=t.int32)",
        "t.randint(5, 2, (3,))",
        "t.randint(5, 5, (3,))",
        "t.randint(0, 300, (3,), dtype=t.uint8)",
        "t.randint(-1, 3, (3,), dtype=t.uint8)",
        "t.randint(3, (2,), dtype=t.bool)",
        "t.randint(0, 2**40, (3,), dtype=t.int32)",
        "t.bernoulli(t.tensor([1.5]))",
        "t.bernoulli(t.tensor([1, 0]))",
        "t.empty(2).bernoulli_(1.5)",
        "t.empty(2).bernoulli_(t.tensor([0.5, 0.5, 0.5]))",
        "t.ones(2, requires_grad=True).bernoulli_(0.5)",
        "t.zeros(1).expand(3).normal_()",
    ],
)
def test_in_place_draw_misuse_fails_as_pytorch_does(torch, source):
    assert_fails_as_torch(torch, source)


def test_generator_objects_keep_streams_of_their_own(torch):
    """torch.Generator() starts from PyTorch's default seed; drawing from it leaves the default stream as it
    was, so both sequences are PyTorch's."""
    outs = []
    for lib in (torch, G):
        lib.manual_seed(7)
        gen = lib.Generator()
        seeded = lib.Generator().manual_seed(11)
        draws = [lib.randn(20, generator=gen), lib.rand(3), lib.randint(0, 9, (5,), generator=seeded),
                 lib.randperm(6, generator=gen), lib.randn(3), lib.empty(4).uniform_(-1, 1, generator=seeded)]
        outs.append([_values(d) for d in draws] + [gen.initial_seed(), seeded.initial_seed()])
    want, got = outs
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g, w)
