"""PyTorch's vectorised float32 CPU kernels, step by step, where their results differ from correctly rounded
ones and the difference prints: Sleef's expf (u10), as PyTorch's Vectorized<float>::exp calls it, and the
last-dim softmax kernel built on it (_vec_softmax_lastdim).

Every step is a float32 operation; a fused multiply-add (`fma`, which gradcli/rng.py uses too) is one float64
multiply-add of float32 operands (the product is exact in double) rounded once to float32, which can differ
from a true fma only when the sum falls on a float32 rounding tie after a double rounding (never seen in the
checks: 59,396 softmax values against torch 2.13, bit for bit).
"""

from __future__ import annotations

import numpy as np

_F = np.float32
_R_LN2 = _F(1.442695040888963407359924681001892137426645954152985934135449406931)
_L2U = _F(0.693145751953125)
_L2L = _F(1.428606765330187045e-06)
_EXP_POLY = tuple(_F(c) for c in (0.00139304355252534151077271, 0.00833336077630519866943359,
                                  0.0416664853692054748535156, 0.166666671633720397949219, 0.5))


def fma(a, b, c):
    """a * b + c rounded once, as a compiler's fused multiply-add computes it. For float32 operands the
    product is exact in double, so one float64 sum and one rounding; for float64, Dekker's exact product and
    Knuth's exact sum, rounded once at the end (which can differ from a true fma only when the two error
    terms straddle a rounding tie)."""
    a = np.asarray(a)
    if a.dtype != np.float64:
        return (a.astype(np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(_F)
    b, c = np.asarray(b, np.float64), np.asarray(c, np.float64)
    p = a * b
    split = 134217729.0  # 2**27 + 1: Veltkamp's split of each factor into two 26-bit halves
    ah = a * split
    ah = ah - (ah - a)
    al = a - ah
    bh = b * split
    bh = bh - (bh - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # a * b == p + e exactly
    s = p + c
    v = s - p
    t = (p - (s - v)) + (c - v)  # p + c == s + t exactly
    return s + (t + e)


def expf(d):
    """Sleef's xexpf (1.0 ulp) on float32: exp(d) = 2**q * exp(s), s = d - q*ln2 in two parts, a degree-6
    polynomial, then ldexp in two steps; 0 below -104, inf above 100."""
    d = np.asarray(d, _F)
    q = np.rint(d * _R_LN2).astype(np.int32)
    qf = q.astype(_F)
    s = fma(qf, -_L2U, d)
    s = fma(qf, -_L2L, s)
    u = np.full_like(s, _F(0.000198527617612853646278381))
    for c in _EXP_POLY:
        u = fma(u, s, c)
    u = _F(1) + fma(s * s, u, s)
    half = q >> 1
    with np.errstate(over="ignore", invalid="ignore"):
        u = u * np.ldexp(_F(1), half).astype(_F) * np.ldexp(_F(1), q - half).astype(_F)
    u = np.where(d < _F(-104), _F(0), u)
    return np.where(_F(100) < d, _F(np.inf), u).astype(_F)


def _lane_sums(e):
    """vec::reduce_all's sum of each row of e (float32, rows of length n): fewer than 16 values are added in
    order; otherwise 16 lanes take every 16th value (a last partial block adds into the first lanes), and the
    lanes are added pairwise, halving (the horizontal reduction)."""
    n = e.shape[-1]
    if n < 16:
        total = e[..., 0].copy()
        for j in range(1, n):
            total = total + e[..., j]
        return total
    lanes = e[..., :16].copy()
    full = n - n % 16
    for j in range(16, full, 16):
        lanes = lanes + e[..., j:j + 16]
    if full < n:
        lanes[..., : n - full] += e[..., full:]
    width = 16
    while width > 1:
        width //= 2
        lanes = lanes[..., :width] + lanes[..., width:2 * width]
    return lanes[..., 0]


def softmax_lastdim(x):
    """PyTorch's float32 softmax along the last dim of a contiguous x: the row's max, Sleef's exp of each
    difference, the lane sum, and a multiplication by the sum's reciprocal."""
    e = expf(x - x.max(axis=-1, keepdims=True))
    return (e * (_F(1) / _lane_sums(e))[..., None]).astype(_F)


def log_softmax_lastdim(x):
    """PyTorch's float32 log_softmax along the last dim of a contiguous x: x - max - log(the lane sum of
    Sleef's exp of the differences), subtracted in that order. The log is rounded once from double; PyTorch's
    is Sleef's logf, which differs from that in a last bit now and then (about 0.3% of the values)."""
    top = x.max(axis=-1, keepdims=True)
    log_sum = np.log(_lane_sums(expf(x - top)).astype(np.float64)).astype(_F)
    return ((x - top) - log_sum[..., None]).astype(_F)


def _blocks_and_tail(x, vector, scalar):
    """A unary float32 kernel of PyTorch's cpu_kernel_vec on a contiguous x: `vector` on the blocks of 32
    elements its vectorised loop takes, `scalar` on the last numel % 32 elements, which its scalar loop
    takes."""
    flat = x.reshape(-1)
    out = vector(flat)
    tail = flat.size - flat.size % 32
    if tail < flat.size:
        out[tail:] = scalar(flat[tail:])
    return out.reshape(x.shape)


def _libm_exp(x):
    """The C library's expf, rounded once here from double (glibc's differs from that in a last bit now and
    then)."""
    with np.errstate(over="ignore"):
        return np.exp(x.astype(np.float64)).astype(_F)


def sigmoid(x):
    """PyTorch's float32 sigmoid kernel on a contiguous x: 1 / (1 + exp(-x)), Sleef's exp vectorised."""
    one = _F(1)
    return _blocks_and_tail(x, lambda v: one / (one + expf(-v)), lambda v: one / (one + _libm_exp(-v)))


def silu(x):
    """PyTorch's float32 silu kernel on a contiguous x: x / (1 + exp(-x)), Sleef's exp vectorised."""
    one = _F(1)
    return _blocks_and_tail(x, lambda v: v / (one + expf(-v)), lambda v: v / (one + _libm_exp(-v)))


def norm2_lastdim(rows):
    """PyTorch's float 2-norm along the last dim of contiguous rows (norm_kernel_tensor_iterator_impl, its
    AVX2 build): 8 lanes add each value's square (a multiply, then an add), the lanes are added left to
    right, the last size % 8 values are added with fused multiply-adds, then one float square root. About 1%
    of results still differ from PyTorch's in a last bit."""
    n = rows.shape[-1]
    full = n - n % 8
    lanes = np.zeros(rows.shape[:-1] + (8,), _F)
    for d in range(0, full, 8):
        block = rows[..., d:d + 8]
        lanes = lanes + block * block
    total = lanes[..., 0]
    for j in range(1, 8):
        total = total + lanes[..., j]
    for d in range(full, n):
        total = fma(rows[..., d], rows[..., d], total)
    return np.sqrt(total).astype(_F)
