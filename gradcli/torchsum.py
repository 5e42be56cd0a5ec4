"""PyTorch's CPU float sum, addition for addition, so that float32 sums and means print its last digit.

numpy's float32 sum is pairwise (8 accumulators from 8 elements up); PyTorch's CPU kernel
(aten/src/ATen/native/cpu/SumKernel.cpp, `cascade_sum`) adds in another order:

* a reduction over a contiguous run of n elements (a full `x.sum()` of a dense tensor, or each row of
  `x.sum(dim=-1)`) is `vectorized_inner_sum` when n >= W (W = `Vectorized<float>::size()`: 8, also on an
  AVX-512 CPU, see VECTOR_BYTES): the first n // W vectors go through `row_sum` with ilp_factor 4, i.e.
  `multi_row_sum` over (n // W // 4) rows of 4 vectors (4 * W lane accumulators, each a 4-level cascade,
  below), the 0..3 leftover vectors are added into accumulator row 0, rows 1, 2, 3 are added into row 0;
  then a scalar accumulator from 0 adds the n % W leftover elements and then the W lanes of row 0, in order.
  Below W elements it is the scalar `row_sum`: `multi_row_sum` over (n // 4) rows of 4, the n % 4
  leftovers added into accumulator 0, then accumulators 1, 2, 3 into 0.
* `multi_row_sum`'s cascade over S rows: level_power p = max(4, ceil_log2(S) // 4), step = 2**p.
  Each block of `step` rows is summed in order from 0 (level 0) and added to level 1; every step blocks
  level 1 is added to level 2, every step**2 blocks level 2 to level 3. Rows after the last whole block
  stay in level 0; the result is ((level0 + level1) + level2) + level3.
* from GRAIN (32768) elements a full reduction is split over the intra-op threads (`two_pass_reduction`:
  nt = min(threads, ceil(n / GRAIN)) chunks of ceil(n / nt) elements, each summed as above into its own
  slot, then the `threads` slots summed as above). Reductions over a dim split whole rows between threads,
  which leaves each row's order alone.

Accumulators start at +0.0 as in PyTorch (so a sum of -0.0s is +0.0). Everything here is whole-array numpy
work: a handful of array operations per cascade level, never a Python step per element.
"""

from __future__ import annotations

import functools
import glob
import os
import platform

import numpy as np

GRAIN = 32768


# `Vectorized<T>` is 32 bytes in PyTorch's DEFAULT and AVX2 builds, and sum_stub has no AVX-512 kernel even on
# an AVX-512 CPU: in DispatchStub.h, REGISTER_DISPATCH registers nullptr for the AVX512 capability (only
# ALSO_REGISTER_AVX512_DISPATCH kernels get one), so the AVX2 kernel runs: 8 float lanes, 4 double lanes.
# Checked bit for bit on x86-64 only, so other machines keep numpy's sum (see `applies`).
VECTOR_BYTES = 32
EXACT_HERE = platform.machine().lower() in ("x86_64", "amd64")


@functools.lru_cache(maxsize=1)
def _threads() -> int:
    """PyTorch's default intra-op thread count (TaskThreadPoolBase::defaultNumThreads): MKL_NUM_THREADS or
    OMP_NUM_THREADS when set, else the machine's physical cores (cpuinfo's cores, not its hyperthreads)."""
    for var in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        v = os.environ.get(var, "").strip()
        if v.isdigit() and int(v) > 0:
            return int(v)
    cores = set()
    for topo in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/topology"):
        try:
            with open(f"{topo}/physical_package_id") as f1, open(f"{topo}/core_id") as f2:
                cores.add((f1.read().strip(), f2.read().strip()))
        except OSError:
            pass
    return len(cores) or os.cpu_count() or 1


def _seq(a, axis):
    """(a[0] + a[1]) + a[2] + ... along `axis`, in order (the kernel's "0 +" start only matters for the sign
    of an all-zero sum, which `row_sums` settles with one final + 0). numpy's add.reduce is pairwise only
    along the innermost axis; along an outer one (with 2 or more lanes inside) it adds row after row."""
    n = a.shape[axis]
    if n == 0:
        shape = list(a.shape)
        del shape[axis]
        return np.zeros(shape, a.dtype)
    lanes = 1
    for d in a.shape[axis + 1:]:
        lanes *= d
    if lanes < 2:
        return np.add.accumulate(a, axis=axis).take(-1, axis=axis)
    if not a.flags.c_contiguous:
        # numpy walks memory in stride order: make sure the innermost axis is a lane axis, not `axis`
        strides = [abs(st) for st, d in zip(a.strides, a.shape) if d > 1]
        if strides != sorted(strides, reverse=True):
            a = np.ascontiguousarray(a)
    return np.add.reduce(a, axis=axis)


def _cascade(a):
    """multi_row_sum over axis 1 of a (R, S, m) array: R independent reductions of S rows of m lanes."""
    r, s, m = a.shape
    p = max(4, ((s - 1).bit_length() if s > 2 else 1) // 4)
    step = 1 << p
    nb = s // step
    acc0 = _seq(a[:, nb * step:], 1)
    if nb == 0:
        return acc0
    b = _seq(a[:, :nb * step].reshape(r, nb, step, m), 2)
    n1 = nb // step
    acc1 = _seq(b[:, n1 * step:], 1)
    if n1 == 0:
        return acc0 + acc1
    g1 = _seq(b[:, :n1 * step].reshape(r, n1, step, m), 2)
    n2 = n1 // step
    acc2 = _seq(g1[:, n2 * step:], 1)
    if n2 == 0:
        return (acc0 + acc1) + acc2
    g2 = _seq(g1[:, :n2 * step].reshape(r, n2, step, m), 2)
    return ((acc0 + acc1) + acc2) + _seq(g2, 1)


def _scalar_row_sum(x):
    """row_sum<acc_t> (ilp_factor 4) of each row of a (R, n) array."""
    r, n = x.shape
    s = n // 4
    part = _cascade(x[:, :s * 4].reshape(r, s, 4))
    p0 = part[:, 0]
    for k in range(s * 4, n):
        p0 = p0 + x[:, k]
    return ((p0 + part[:, 1]) + part[:, 2]) + part[:, 3]


def _small_row_sum(xs, zero, w):
    """row_sums of one short row (n < 4 * w: no cascade block) as scalar arithmetic: numpy float32 scalars (or
    Python floats for float64) add with the dtype's rounding; cheaper than array calls for a few elements."""
    n = len(xs)
    if n < w:
        s = n // 4
        p = [zero, zero, zero, zero]
        for i in range(0, 4 * s, 4):
            p[0] += xs[i]
            p[1] += xs[i + 1]
            p[2] += xs[i + 2]
            p[3] += xs[i + 3]
        for v in xs[4 * s:]:
            p[0] += v
        return ((p[0] + p[1]) + p[2]) + p[3]
    v = n // w
    lanes = [zero] * w
    for t in range(0, v * w, w):
        for k in range(w):
            lanes[k] += xs[t + k]
    acc = zero
    for val in xs[v * w:]:
        acc += val
    for val in lanes:
        acc += val
    return acc


def row_sums(x):
    """PyTorch's sum of each row of a C-contiguous (R, n) float array (vectorized_inner_sum / row_sum)."""
    r, n = x.shape
    w = VECTOR_BYTES // x.itemsize
    if n < w:
        return _scalar_row_sum(x) + x.dtype.type(0)
    v = n // w
    s = v // 4
    part = _cascade(x[:, :s * 4 * w].reshape(r, s, 4 * w)).reshape(r, 4, w)
    p0 = part[:, 0]
    for t in range(s * 4, v):
        p0 = p0 + x[:, t * w:(t + 1) * w]
    p0 = ((p0 + part[:, 1]) + part[:, 2]) + part[:, 3]
    zero = x.dtype.type(0)
    if r == 1:
        acc = zero
        for val in list(x[0, v * w:]) + list(p0[0]):
            acc += val
        return np.array([acc], x.dtype)
    last = np.empty((n - v * w + w, r), x.dtype)  # C order: the row sums are its lanes
    last[:n - v * w] = x[:, v * w:].T
    last[n - v * w:] = p0.T
    return _seq(last, 0) + zero


def _one_row(flat):
    """row_sums of a single contiguous row of n >= 4 * W elements, with as few numpy calls as possible."""
    n = flat.size
    w = VECTOR_BYTES // flat.itemsize
    v = n // w
    s = v // 4
    lanes = 4 * w
    main = flat[:s * lanes].reshape(s, lanes)
    nb = s // 16
    if s < 256:  # level_power 4 and under 16 whole blocks: levels 2 and 3 stay empty
        part = np.add.reduce(main[nb * 16:], axis=0)
        if nb:
            blocks = np.add.reduce(main[:nb * 16].reshape(nb, 16, lanes), axis=1)
            part = part + (np.add.reduce(blocks, axis=0) if nb > 1 else blocks[0])
    else:
        part = _cascade(main.reshape(1, s, lanes))[0]
    part = part.reshape(4, w)
    p0 = part[0]
    for t in range(s * 4, v):
        p0 = p0 + flat[t * w:(t + 1) * w]
    p0 = ((p0 + part[1]) + part[2]) + part[3]
    acc = flat.dtype.type(0)
    for val in list(flat[v * w:]) + list(p0):
        acc += val
    return acc


def full_sum(x):
    """PyTorch's x.sum() of a dense float array: its elements in memory order (TensorIterator coalesces)."""
    flat = x.ravel(order="K")
    n = flat.size
    threads = _threads()
    if n < 4 * VECTOR_BYTES // x.itemsize:
        zero = x.dtype.type(0)
        return x.dtype.type(_small_row_sum(flat.tolist() if x.dtype == np.float64 else list(flat), zero,
                                           VECTOR_BYTES // x.itemsize) + zero)
    if n < GRAIN or threads == 1:
        return _one_row(flat)
    nt = min(threads, -(-n // GRAIN))
    chunk = -(-n // nt)
    slots = np.zeros(threads, x.dtype)
    for t in range(nt):
        piece = flat[t * chunk:(t + 1) * chunk]
        if piece.size:
            slots[t] = _one_row(piece)
    return row_sums(slots.reshape(1, threads))[0]


def _outer_block(x):
    """One `cascade_sum` call on columns [b, e) of an (N, C) array reduced over N (N >= 2, stride C > 1):
    `vectorized_outer_sum` (>= W columns) sums 4 * W columns at a time by `multi_row_sum` straight down each
    column, `scalar_outer_sum` (fewer) 4 at a time; the remaining columns go through `row_sum`: ilp_factor 4
    over the rows, the N % 4 leftover rows into accumulator 0, then 1, 2, 3 into 0."""
    n, c = x.shape
    w = VECTOR_BYTES // x.itemsize
    g = (c // (4 * w)) * 4 * w if c >= w else (c // 4) * 4
    out = np.empty(c, x.dtype)
    if g:
        out[:g] = _cascade(x[:, :g].reshape(1, n, g))[0]
    if g < c:
        rest = x[:, g:]
        s = n // 4
        part = _cascade(rest[:4 * s].reshape(1, s, 4 * (c - g)))[0].reshape(4, c - g)
        p0 = part[0]
        for k in range(4 * s, n):
            p0 = p0 + rest[k]
        out[g:] = ((p0 + part[1]) + part[2]) + part[3]
    return out


def col_sums(x):
    """PyTorch's sum over axis 0 of a C-contiguous (N, C) array, C >= 2. From GRAIN elements the columns are
    split between threads (`parallel_dim_reduction`: parallel_for over the columns, each range's ends rounded
    down to 128 bytes of columns but the last), and each range starts its own column groups."""
    n, c = x.shape
    zero = x.dtype.type(0)
    if n == 1:
        return x[0] + zero
    threads = _threads()
    if x.size < GRAIN or threads == 1:
        return _outer_block(x) + zero
    nt = min(threads, c)
    chunk = -(-c // nt)
    per = 128 // x.itemsize
    out = np.empty(c, x.dtype)
    for t in range(nt):
        b, e = t * chunk, min(c, (t + 1) * chunk)
        if b >= e:
            continue
        b -= b % per
        if e != c:
            e -= e % per
        if b < e:
            out[b:e] = _outer_block(x[:, b:e])
    return out + zero


def _split(dims, nd):
    """'lead' / 'trail' when `dims` are the leading / trailing dims (not all of them), else None."""
    k = len(dims)
    if not k or k == nd:
        return None
    ds = sorted(dims)
    if ds == list(range(k)):
        return "lead"
    if ds == list(range(nd - k, nd)):
        return "trail"
    return None


def _strided_rows(x) -> bool:
    """A matrix whose rows are contiguous but not adjacent (x[:, 1:], x[::2]): PyTorch sums each row as a
    contiguous run and adds the row sums in order into the output. Below GRAIN only (above it the threads
    cut rows at arbitrary elements)."""
    return (x.ndim == 2 and x.shape[0] >= 2 and x.shape[1] >= 2 and x.strides[1] == x.itemsize
            and x.strides[0] >= x.shape[1] * x.itemsize and x.size < GRAIN)


def _dense(x) -> bool:
    """Whether x is a permutation of a contiguous block (x.permute(...) of a contiguous tensor): PyTorch then
    reduces everything in memory order, which ravel(order="K") gives."""
    if x.flags.c_contiguous or x.flags.f_contiguous:
        return True
    step = x.itemsize
    for st, n in sorted((st, n) for st, n in zip(x.strides, x.shape) if n > 1):
        if st != step:
            return False
        step *= n
    return True


def applies(x, dims) -> bool:
    """Whether sum(x, dims) is one this module reproduces (checked bit for bit against PyTorch): a non-empty
    float32 or float64 numpy array, over everything of a dense array (or of a matrix of strided contiguous
    rows), over leading or trailing dims of a C- or F-contiguous one, or over the rows of a matrix with
    contiguous rows. Middle dims and other strides keep numpy's sum."""
    if not EXACT_HERE or type(x) is not np.ndarray or x.dtype not in (np.float32, np.float64) or x.size == 0:
        return False
    nd = x.ndim
    if len(dims) == nd:
        return _dense(x) or _strided_rows(x)
    if x.flags.c_contiguous:
        return _split(dims, nd) is not None
    if nd == 2 and tuple(dims) == (1,) and x.strides[1] == x.itemsize:
        return True  # rows that are contiguous, strided or not: each is summed on its own
    if x.flags.f_contiguous:
        return _split(tuple(nd - 1 - d for d in dims), nd) is not None
    return False


def reduce_sum(x, dims, keepdim):
    """sum over `dims` (already normalised) in PyTorch's order; `applies(x, dims)` must hold."""
    nd = x.ndim
    if len(dims) == nd:
        if _dense(x):
            out = full_sum(x)
        else:
            out = _seq(row_sums(x), 0) + x.dtype.type(0)
        return np.asarray(out, x.dtype).reshape((1,) * nd) if keepdim else out
    if not x.flags.c_contiguous and x.flags.f_contiguous:
        # F order (a transposed matrix): PyTorch walks memory, i.e. the C-ordered transpose, whose kept dims
        # come out reversed
        out = reduce_sum(x.T, tuple(nd - 1 - d for d in dims), False).T
        return out.reshape(tuple(1 if d in dims else n for d, n in enumerate(x.shape))) if keepdim else out
    k = len(dims)
    if _split(dims, nd) == "lead":  # columns of an (N, C) matrix
        rest = x.shape[k:]
        c = 1
        for d in rest:
            c *= d
        cols = x.reshape(-1, c)
        if c == 1:  # one column is one contiguous run
            out = np.asarray(full_sum(cols), x.dtype).reshape(rest)
        else:
            out = col_sums(cols).reshape(rest)
        return out.reshape((1,) * k + rest) if keepdim else out
    lead = x.shape[:nd - k]
    n = 1
    for d in x.shape[nd - k:]:
        n *= d
    rows = x.reshape(-1, n)
    # one output element: PyTorch's two-pass (threaded) reduction, as for a full sum
    out = (np.asarray(full_sum(rows[0]), x.dtype) if rows.shape[0] == 1 else row_sums(rows)).reshape(lead)
    return out.reshape(lead + (1,) * k) if keepdim else out
