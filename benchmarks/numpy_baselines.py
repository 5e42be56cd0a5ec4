"""Hand-written numpy forward and backward passes of each workload's math: the floor a numpy-based engine
can reach.

Each function does what the matching `workloads/*.grad` program does (same sizes, same data, same float32
arithmetic), with the derivative written out by hand: no graph, no nodes, only the arrays the backward
pass needs, saved in a list and dropped as soon as they are used. Keyword arguments are the program's
upper-case constants (`N`, `STEPS`, `SIZE`), so the runner can pass the file's own values.

The functions return what the program would keep alive at its end (for the memory figures) and never
print: the runner times them and measures them, nothing else.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32


def small_ops_forward(n):
    """`y = tanh(y * w + 0.1)` n times on 1-element arrays, saving y (for dw) and the tanh output."""
    w = np.array([0.5], F32)
    y = np.array([0.3], F32)
    saved = []
    for _ in range(n):
        out = np.tanh(y * w + F32(0.1))
        saved.append((y, out))
        y = out
    return w, y, saved


def small_ops_backward(w, saved):
    """d y_n / d w through the chain: the floor of a backward pass, one Python step per forward op."""
    g = np.ones(1, F32)
    w_grad = np.zeros(1, F32)
    while saved:
        y_in, out = saved.pop()
        g = g * (1 - out * out)  # tanh
        w_grad += g * y_in  # mul's gradient to w
        g = g * w  # mul's gradient to y
    return w_grad


def small_ops(N=20000):  # noqa: N803 - the program's constant
    w, y, saved = small_ops_forward(N)
    return small_ops_backward(w, saved)


def mlp(STEPS=20):  # noqa: N803
    """relu(X @ W1) @ W2, mean of squares, gradients to W1 and W2, an SGD step; STEPS times."""
    X = np.sin(np.arange(256 * 512, dtype=F32).reshape(256, 512))  # noqa: N806 - the math's names
    W1 = np.cos(np.arange(512 * 512, dtype=F32).reshape(512, 512)) * F32(0.05)  # noqa: N806
    W2 = np.sin(np.arange(512 * 10, dtype=F32).reshape(512, 10)) * F32(0.05)  # noqa: N806
    loss = None
    for _ in range(STEPS):
        h = np.maximum(X @ W1, 0)
        out = h @ W2
        loss = (out * out).mean()
        g_out = out * F32(2.0 / out.size)
        g_w2 = h.T @ g_out
        g_h = g_out @ W2.T
        g_h *= h > 0
        g_w1 = X.T @ g_h
        W1 -= F32(0.01) * g_w1
        W2 -= F32(0.01) * g_w2
    return X, W1, W2, loss


def memory(SIZE=4_000_000):  # noqa: N803
    """25 times y = exp(y) * 0.3, sum, backward: only the exp outputs are saved, and the gradient is
    computed in place in one buffer while they are dropped one by one."""
    x = np.linspace(-1.0, 1.0, SIZE, dtype=F32)
    saved = []
    y = x
    for _ in range(25):
        e = np.exp(y)
        saved.append(e)
        y = e * F32(0.3)
    del e
    g = np.ones_like(y)
    while saved:
        g *= saved.pop()
        g *= F32(0.3)
    return x, g, y  # x, x.grad, y: what the program keeps


def long_graph(N=100000):  # noqa: N803
    """y = y * 1.00001, N times on a 1-element array; the backward multiplies the gradient N times."""
    x = np.array([1.0], F32)
    c = F32(1.00001)
    y = x
    for _ in range(N):
        y = y * c
    g = np.ones(1, F32)
    for _ in range(N):
        g = g * c
    return x, g, y


def chain_forward(x, rounds=10):
    """The 50-op chain (sin, * 0.9, tanh, + 0.1, exp, ten times), saving what each derivative needs."""
    saved = []
    y = x
    for _ in range(rounds):
        saved.append(("sin", y))
        y = np.sin(y)
        y = y * F32(0.9)
        y = np.tanh(y)
        saved.append(("tanh", y))
        y = y + F32(0.1)
        y = np.exp(y)
        saved.append(("exp", y))
    return y, saved


def chain_backward(y, saved):
    """The chain's backward pass with one gradient buffer and one scratch buffer, updated in place."""
    g = np.ones_like(y)
    scratch = np.empty_like(y)
    while saved:
        kind, v = saved.pop()
        if kind == "exp":
            g *= v
        elif kind == "tanh":
            np.multiply(v, v, out=scratch)
            np.subtract(1, scratch, out=scratch)
            g *= scratch
            g *= F32(0.9)
        else:
            np.cos(v, out=scratch)
            g *= scratch
        del v
    return g


PROGRAMS = {"small_ops": small_ops, "mlp": mlp, "memory": memory, "long_graph": long_graph}
