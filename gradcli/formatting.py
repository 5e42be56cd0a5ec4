"""Tensor reprs, character for character as PyTorch 2.13 prints them, under its print options.

The options (OPTIONS, set by a script's torch.set_printoptions and reset for every run) default to
PyTorch's: 4 digits after the point, summarising past 1000 elements with 3 items kept at each edge, 80
columns, and fixed or scientific notation chosen from the values (sci_mode None).

How a repr is built:

* Every element that will be shown (all of them, or only the edge items when the tensor is
  summarised) is turned into a string in one of three styles, picked once for the whole tensor:
  integer-like floats as ``3.``, fixed ``3.1416``, or scientific ``3.1416e+00``. Scientific is used
  when the nonzero finite magnitudes span more than a factor 1000, exceed 1e8, or go below 1e-4.
  Zeros, nans and infs take no part in choosing the style or the column width.
* All strings are right-aligned to one column width, the widest of the nonzero finite ones.
* Rows are wrapped so that a line holds as many columns as fit into 80 characters minus the
  indentation; nested brackets are indented one more space per level, and blocks of dimension
  ``d`` are separated by ``d - 1`` line breaks.
* Suffixes (device, size, dtype, grad_fn / requires_grad) follow, each moved to its own line when it
  would run past column 80.
"""

from __future__ import annotations

import math

from .backend import host as np


class PrintOptions:
    """torch's PRINT_OPTS: what torch.set_printoptions sets."""

    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")
    PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}

    def __init__(self):
        self.reset()

    def reset(self):
        self.precision, self.threshold, self.edgeitems, self.linewidth = self.PROFILES["default"]
        self.sci_mode = None


OPTIONS = PrintOptions()

_PREFIX = "tensor("
_INDENT = len(_PREFIX)

_TORCH_DTYPE_NAMES = {
    "float16": "torch.float16",
    "float32": "torch.float32",
    "float64": "torch.float64",
    "int8": "torch.int8",
    "int16": "torch.int16",
    "int32": "torch.int32",
    "int64": "torch.int64",
    "uint8": "torch.uint8",
    "uint16": "torch.uint16",
    "uint32": "torch.uint32",
    "uint64": "torch.uint64",
    "bool": "torch.bool",
    "complex64": "torch.complex64",
    "complex128": "torch.complex128",
}

# dtypes whose repr never shows a dtype suffix (besides the default float dtype)
_IMPLICIT_DTYPES = ("int64", "bool")



def dtype_name(np_dtype) -> str:
    """The PyTorch name of a numpy dtype: ``'torch.float32'``, ``'torch.int64'``, ``'torch.bool'``..."""
    name = np.dtype(np_dtype).name
    try:
        return _TORCH_DTYPE_NAMES[name]
    except KeyError:
        raise TypeError(f"no PyTorch dtype corresponds to numpy dtype {name!r}") from None


def format_tensor(
    values,
    *,
    device: str | None = None,
    grad_fn_name: str | None = None,
    requires_grad: bool = False,
    default_float: str = "float32",
) -> str:
    """The repr PyTorch prints for a tensor holding `values` (a host numpy array)."""
    values = np.asarray(values)
    kind = values.dtype.kind
    if kind == "c":
        raise TypeError("complex tensors cannot be formatted")
    dname = values.dtype.name
    shape = values.shape
    suffixes = []
    if device is not None:
        suffixes.append(f"device='{device}'")

    if values.size == 0:
        if len(shape) != 1:
            suffixes.append(f"size={tuple(shape)}")
        if dname != default_float:
            suffixes.append(f"dtype={dtype_name(values.dtype)}")
        body = "[]"
    else:
        if dname != default_float and dname not in _IMPLICIT_DTYPES:
            suffixes.append(f"dtype={dtype_name(values.dtype)}")
        body = _body(values, kind)

    if grad_fn_name:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(_PREFIX + body, suffixes)


def _with_suffixes(text: str, suffixes: list[str]) -> str:
    if not suffixes:
        return text + ")"
    parts = [text]
    # PyTorch's own reckoning of the last line's length (two more than the characters on it when
    # the text has no line break, one more otherwise); kept as is so that wrapping matches.
    used = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if used + len(suffix) + 2 > OPTIONS.linewidth:
            parts.append(",\n" + " " * _INDENT + suffix)
            used = _INDENT + len(suffix)
        else:
            parts.append(", " + suffix)
            used += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _body(values, kind: str) -> str:
    shape = values.shape
    summarize = values.size > OPTIONS.threshold
    edge = OPTIONS.edgeitems
    if summarize:
        cut = tuple(n > 2 * edge for n in shape)
        shown = values
        for axis, is_cut in enumerate(cut):
            if is_cut:
                n = shape[axis]
                keep = [*range(edge), *range(n - edge, n)]
                shown = shown.take(keep, axis=axis)
    else:
        cut = (False,) * len(shape)
        shown = values

    flat = shown.ravel().tolist()
    if kind == "f":
        cells, width = _float_cells(flat)
    else:
        cells = [str(v) for v in flat]
        width = max(1, max(map(len, cells)))
        cells = [c.rjust(width) for c in cells]

    if not shape:
        return cells[0]
    return _nest(cells, 0, shown.shape, cut, _INDENT, width)[0]


def _float_cells(flat: list[float]) -> tuple[list[str], int]:
    """Strings for the float values in `flat`, padded to one width; and that width."""
    finite = [v for v in flat if v != 0.0 and v - v == 0.0]  # nonzero, neither nan nor inf
    if not finite:
        # integer style, width 1: "0.", "-0.", "nan", "inf", "-inf"
        return [_int_style(v) for v in flat], 1

    magnitudes = list(map(abs, finite))
    lo = min(magnitudes)
    hi = max(magnitudes)
    sci = OPTIONS.sci_mode
    if sci is None:
        sci = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
    integral = all(v.is_integer() for v in finite)

    if sci:
        spec = f".{OPTIONS.precision}e"
        texts = [format(v, spec) for v in flat]
    elif integral:
        texts = [_int_style(v) for v in flat]
    else:
        spec = f".{OPTIONS.precision}f"
        texts = [format(v, spec) for v in flat]
    # the width counts only nonzero finite values (in integer style, with their trailing point)
    width = max(len(t) for t, v in zip(texts, flat) if v != 0.0 and v - v == 0.0)
    return [t.rjust(width) for t in texts], width


def _int_style(v: float) -> str:
    text = format(v, ".0f")
    if math.isfinite(v):
        text += "."
    return text


def _nest(cells, start, shape, cut, indent, width):
    """The bracketed text for the block of `shape` whose cells begin at `start`; and the next start."""
    n = shape[0]
    edge = OPTIONS.edgeitems
    if len(shape) == 1:
        items = cells[start : start + n]
        if cut[0]:
            items = [*items[:edge], " ...", *items[edge:]]
        per_line = max(1, (OPTIONS.linewidth - indent) // (width + 2))
        if len(items) <= per_line:
            return "[" + ", ".join(items) + "]", start + n
        lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]", start + n

    inner_shape = shape[1:]
    inner_cut = cut[1:]
    blocks = []
    for i in range(n):
        if cut[0] and i == edge:
            blocks.append("...")
        text, start = _nest(cells, start, inner_shape, inner_cut, indent + 1, width)
        blocks.append(text)
    sep = "," + "\n" * (len(shape) - 1) + " " * (indent + 1)
    return "[" + sep.join(blocks) + "]", start
