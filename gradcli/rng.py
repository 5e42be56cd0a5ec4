"""PyTorch's CPU random stream, so that a program seeded with `torch.manual_seed` draws PyTorch's values.

PyTorch's default CPU generator is an mt19937 engine seeded with the low 32 bits of the seed (the standard
init_genrand, which numpy's legacy MT19937 seeding also is). Each distribution turns its 32-bit draws into
values as aten does (ATen/core/TransformationHelper.h and DistributionsHelper.h,
native/cpu/DistributionTemplates.h):

- uniform: the low `digits` bits of a draw (24 for float and half; 53 of a 64-bit draw for double), times
  2**-digits, then `x * (to - from) + from`, rounded to the dtype (a value rounded up to `to` is `from`);
- normal, fewer than 16 values: Box-Muller in double from two uniform doubles, the sine kept for the next
  value (the generator's cached normal, which manual_seed clears);
- normal, 16 values or more (contiguous): every uniform drawn first, then Box-Muller on blocks of 16 (value
  j with value j + 8), the last 16 values redrawn when 16 does not divide the size. For float32 PyTorch runs
  its AVX2 kernel (even on AVX-512 CPUs), whose log, sin and cos are avx_mathfun's cephes polynomials with the
  multiply-adds fused: they are reproduced here step by step in float32. Half is computed as float32 block by
  block, so a last partial block draws only its own 16 uniforms;
- integers in [low, high): a draw modulo the range (a 64-bit draw when the range is 2**28 or more);
- randperm: the Fisher-Yates swaps of aten's randperm_cpu;
- bernoulli(p) for a number p: a uniform double < p (the kernel PyTorch runs on AMD CPUs and builds without
  MKL; with MKL on an Intel CPU it samples from MKL's own stream instead); for a tensor of probabilities, a
  uniform of the probabilities' precision (double, else float) < p.

Double normals use Python's math (the C library PyTorch calls) up to 2**17 values a call, numpy's log, sin
and cos past that, which may differ in a last bit. Values are drawn on the host; the caller moves them to a
device.
"""

from __future__ import annotations

import math

import numpy as np

from .vecmath import fma

_U32 = np.uint64(0xFFFFFFFF)


def random_seed() -> int:
    """A nondeterministic 64-bit seed from the OS, as PyTorch's default generator and Generator.seed()
    take."""
    return int.from_bytes(np.random.SeedSequence().generate_state(2, np.uint32).tobytes(), "little")


class CPUGenerator:
    """The state of PyTorch's default CPU generator."""

    def __init__(self, seed: int | None = None):
        # (PyTorch seeds its default generator from the OS at start-up)
        self.manual_seed(random_seed() if seed is None else seed)

    def manual_seed(self, seed: int) -> None:
        self.seed = seed
        legacy = np.random.RandomState(seed & 0xFFFFFFFF).get_state()
        self._bits = np.random.MT19937()
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": legacy[1], "pos": legacy[2]}}
        self._next_normal = None  # the double Box-Muller sine kept for the next scalar normal draw

    # ------------------------------------------------------------------ raw draws
    def random32(self, n: int) -> np.ndarray:
        """n draws of the engine (uint64 arrays holding 32-bit values)."""
        return self._bits.random_raw(n)

    def random64(self, n: int) -> np.ndarray:
        """n 64-bit draws, each two 32-bit draws with the first as the high half (make64BitsFrom32Bits)."""
        r = self._bits.random_raw(2 * n)
        return (r[0::2] << np.uint64(32)) | r[1::2]

    # ------------------------------------------------------------------ distributions
    def uniform(self, n: int, dtype, low: float = 0.0, high: float = 1.0) -> np.ndarray:
        dtype = np.dtype(dtype)
        if dtype == np.float64:
            x = (self.random64(n) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53
            acc = np.float64
        else:
            x = (self.random32(n) & np.uint64((1 << 24) - 1)).astype(np.float32) * np.float32(2.0**-24)
            acc = np.float32
        if low != 0.0 or high != 1.0:
            lo, hi = acc(low), acc(high)  # (half's bounds stay float: its kernel computes in float)
            x = fma(x, acc(hi - lo), lo)
        x = x.astype(dtype, copy=False)
        top = x == dtype.type(high)  # a value rounded up to `to` becomes `from` (half's 0.99995 -> 0.)
        if top.any():
            x[top] = dtype.type(low)
        return x

    def normal(self, n: int, dtype, mean: float = 0.0, std: float = 1.0,
               contiguous: bool = True) -> np.ndarray:
        dtype = np.dtype(dtype)
        if n < 16 or not contiguous:
            out = self._scalar_normals(n)
            if mean != 0.0 or std != 1.0:
                out = fma(out, std, mean)
            if dtype == np.float16:  # (c10::Half converts a double through float)
                out = out.astype(np.float32)
            return out.astype(dtype)
        blocks = (n // 16) * 16
        if dtype == np.float16:
            # computed in float32 block by block: a last partial block draws only its own 16 uniforms
            data = np.empty(n, np.float32)
            data[:blocks] = self.uniform(blocks, np.float32)
            work = np.float32
        else:
            data = self.uniform(n, dtype)
            work = dtype.type
        fill = _fill16_float32 if work is np.float32 else _fill16_float64
        head = data[:blocks].reshape(-1, 2, 8)
        fill(head)
        data[:blocks] = head.reshape(-1)
        if n % 16:
            tail = self.uniform(16, work).reshape(1, 2, 8)
            fill(tail)
            data[n - 16:] = tail.reshape(-1)
        if mean != 0.0 or std != 1.0:
            data = fma(data, work(std), work(mean))
        return data.astype(dtype, copy=False)

    def _scalar_normals(self, n: int) -> np.ndarray:
        """n normals (double) drawn one at a time: Box-Muller pairs, cos first, the sine kept for the next."""
        out = np.empty(n, np.float64)
        start = 0
        if n and self._next_normal is not None:
            out[0], self._next_normal, start = self._next_normal, None, 1
        pairs = (n - start + 1) // 2
        if pairs:
            u = (self.random64(2 * pairs) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53
            u1, u2 = u[0::2], u[1::2]
            if pairs <= 1 << 16:  # Python's math is the C library PyTorch calls
                r = [math.sqrt(-2.0 * math.log1p(-v)) for v in u2.tolist()]
                theta = [2.0 * math.pi * v for v in u1.tolist()]
                cos = np.array([a * math.cos(t) for a, t in zip(r, theta)])
                sin = np.array([a * math.sin(t) for a, t in zip(r, theta)])
            else:
                r = np.sqrt(-2.0 * np.log1p(-u2))
                theta = 2.0 * math.pi * u1
                cos, sin = r * np.cos(theta), r * np.sin(theta)
            both = np.empty(2 * pairs)
            both[0::2], both[1::2] = cos, sin
            out[start:] = both[: n - start]
            if (n - start) % 2:
                self._next_normal = float(both[-1])
        return out

    def integers(self, n: int, low: int, high: int) -> np.ndarray:
        """n integers in [low, high), as int64 (aten adds in uint64 and casts, so a sum past int64 wraps)."""
        span = high - low
        draws = self.random64(n) if span >= 1 << 28 else self.random32(n)  # (2**28: measured on 2.13)
        return (draws % np.uint64(span) + np.uint64(low % (1 << 64))).view(np.int64)

    def permutation(self, n: int) -> np.ndarray:
        perm = list(range(n))
        if n > 1:
            draws = self.random32(n - 1).tolist()
            for i in range(n - 1):
                z = draws[i] % (n - i) + i
                perm[i], perm[z] = perm[z], perm[i]
        return np.array(perm, dtype=np.int64)

    def bernoulli_tensor(self, p: np.ndarray) -> np.ndarray:
        """One draw per probability (in p's order): a uniform double < p for double p, else a uniform float
        (24 bits of a 32-bit draw) < p, as bernoulli_distribution<double / float>."""
        if p.dtype == np.float64:
            u = (self.random64(p.size) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53
        else:
            u = (self.random32(p.size) & np.uint64((1 << 24) - 1)).astype(np.float32) * np.float32(2.0**-24)
            p = p.astype(np.float32)
        return u < p.reshape(-1)

    def bernoulli(self, shape, p: float) -> np.ndarray:
        n = math.prod(shape)
        u = (self.random64(n) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53
        return (u < p).reshape(shape)


# ----------------------------------------------------------------- Box-Muller on blocks of 16
def _fill16_float64(blocks):
    """aten's normal_fill_16 for double: blocks has shape (k, 2, 8); libm's log, cos and sin (Python's
    math calls the same C library; numpy's own kernels may differ in a last bit, so only large tensors use
    them)."""
    u1 = 1 - blocks[:, 0]
    theta = 2.0 * math.pi * blocks[:, 1]
    if u1.size <= 1 << 16:
        shape = u1.shape
        radius = np.array([math.sqrt(-2 * math.log(v)) for v in u1.ravel().tolist()]).reshape(shape)
        cos = np.array([math.cos(v) for v in theta.ravel().tolist()]).reshape(shape)
        sin = np.array([math.sin(v) for v in theta.ravel().tolist()]).reshape(shape)
    else:
        radius = np.sqrt(-2 * np.log(u1))
        cos, sin = np.cos(theta), np.sin(theta)
    blocks[:, 0] = radius * cos
    blocks[:, 1] = radius * sin


def _fill16_float32(blocks):
    """aten's normal_fill_16_AVX2: blocks has shape (k, 2, 8) of float32 uniforms."""
    u1 = np.float32(1) - blocks[:, 0]
    radius = np.sqrt(np.float32(-2) * _log256(u1))
    theta = np.float32(2.0 * math.pi) * blocks[:, 1]
    sin, cos = _sincos256(theta)
    blocks[:, 0] = radius * cos
    blocks[:, 1] = radius * sin


_F = np.float32


def _log256(x):
    """avx_mathfun's log256_ps (cephes logf) for x in (0, 1], with GCC's fused multiply-adds."""
    bits = np.maximum(x, np.array(0x00800000, np.int32).view(_F)).view(np.int32)
    e = ((bits >> 23) - 0x7F).astype(_F) + _F(1)
    x = ((bits & ~0x7F800000) | 0x3F000000).view(_F)  # the mantissa, in [0.5, 1)
    small = x < _F(0.707106781186547524)
    tmp = np.where(small, x, _F(0))
    x = x - _F(1)
    e = e - small.astype(_F)
    x = x + tmp
    z = x * x
    y = np.full_like(x, _F(7.0376836292e-2))
    for p in (-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
              2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1):
        y = fma(y, x, _F(p))
    y = y * x
    y = fma(y, z, e * _F(-2.12194440e-4))  # y * z + e * q1
    y = fma(z, _F(-0.5), y)  # y - z * 0.5
    x = x + y
    return fma(e, _F(0.693359375), x)


def _sincos256(x):
    """avx_mathfun's sincos256_ps (cephes sinf/cosf) for x >= 0, with GCC's fused multiply-adds."""
    j = ((x * _F(1.27323954473516)).astype(np.int32) + 1) & ~1
    y = j.astype(_F)
    x = fma(y, _F(-0.78515625), x)
    x = fma(y, _F(-2.4187564849853515625e-4), x)
    x = fma(y, _F(-3.77489497744594108e-8), x)
    z = x * x
    yc = np.full_like(x, _F(2.443315711809948e-5))
    yc = fma(yc, z, _F(-1.388731625493765e-3))
    yc = fma(yc, z, _F(4.166664568298827e-2))
    yc = yc * z
    yc = fma(yc, z, -(z * _F(0.5)))  # y * z - z * 0.5
    yc = yc + _F(1)
    ys = np.full_like(x, _F(-1.9515295891e-4))
    ys = fma(ys, z, _F(8.3321608736e-3))
    ys = fma(ys, z, _F(-1.6666654611e-1))
    ys = ys * z
    ys = fma(ys, x, x)
    poly = (j & 2) == 0
    sin = np.where(poly, ys, yc)
    cos = np.where(poly, yc, ys)
    sin = np.where((j & 4) != 0, -sin, sin)
    cos = np.where((~(j - 2) & 4) != 0, -cos, cos)
    return sin, cos
