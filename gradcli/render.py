"""What `gradcli eval` shows after a program has run: the table of its tensors, the same as one JSON
document, and its backward graphs (drawn by `graph`).

Only this module and `graph` know rich, and they import it inside the functions that draw, so that
`gradcli eval --no-table` and `--format json` never load it. The JSON format is documented in
docs/json-format.md and described by gradcli/schema.json.
"""

from __future__ import annotations

import json
import os
import re
import sys

from . import __version__
from .backend import host as np
from .backend import to_host
from .formatting import format_tensor
from .tensor import Tensor

JSON_FORMAT_VERSION = 1
VALUE_MAX_LINES = 4  # a value or grad cell shows at most this many lines of PyTorch's repr
NONE_TEXT = "None"
NO_GRAD_FN = "—"

# One look for each kind of tensor, in the table and in the graph tree alike.
LEAF_STYLE = "bold green"  # a leaf that requires grad: where gradients end up
NONLEAF_STYLE = "cyan"  # a tensor computed by a recorded op
OUTPUT_STYLE = "bold yellow"  # the variable whose graph is drawn
MUTED_STYLE = "dim"


# ------------------------------------------------------------------ values as text
def tensor_body(t: Tensor) -> str:
    """What PyTorch prints between `tensor(` and `)`, without the suffixes (dtype, grad_fn), which the
    table shows in columns of their own; continuation lines keep their alignment."""
    values = to_host(t._data)
    if values.size == 0:
        return "[]"
    # Naming the tensor's own dtype as the default leaves the dtype suffix out.
    text = format_tensor(values, default_float=values.dtype.name)
    prefix = "tensor("
    body = text[len(prefix):-1]
    return "\n".join(line[len(prefix):] if n else line for n, line in enumerate(body.split("\n")))


def shorten(body: str, ndim: int, width: int, max_lines: int = VALUE_MAX_LINES) -> list[str]:
    """PyTorch's text of a tensor (`tensor_body`), cut to lines of at most `width` characters and at most
    `max_lines` lines, the cuts marked with "…".

    A vector is one sequence of elements however PyTorch wrapped it at 80 columns, so it is re-wrapped
    between elements to the width. A matrix or more keeps PyTorch's lines, so that rows stay rows and
    columns stay aligned; each line is cut at the width.
    """
    lines = body.split("\n")
    if ndim <= 1:
        # PyTorch breaks a vector's line after ", " and indents the next by one; the elements keep
        # the padding that right-aligns them.
        items = re.split(r"(?<=,) ", body.replace("\n ", " "))
        lines = [items[0]]
        for item in items[1:]:
            if len(lines[-1]) + 1 + len(item) <= width:
                lines[-1] += " " + item
            else:
                lines.append(" " + item)  # under the first element, as PyTorch aligns them
    else:
        lines = [line if len(line) <= width else line[: max(1, width - 1)] + "…" for line in lines]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], " …"]
    return lines


def _cell_lines(t: Tensor | None, body: str | None, width: int) -> list[str]:
    """A value or grad cell: `body` is `tensor_body(t)`, made once, cut here to `width`."""
    if t is None:
        return [NONE_TEXT]
    return shorten(body, t.ndim, width)


def shape_text(shape) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def tensor_variables(variables: dict, names: list[str] | None = None) -> tuple[list, list[str]]:
    """(name, tensor) pairs to show, in first-bound order (or the order of `names`), and notes about
    requested names that are not shown."""
    if names is None:
        return [(n, v) for n, v in variables.items() if isinstance(v, Tensor)], []
    rows, notes = [], []
    for name in dict.fromkeys(names):
        if name not in variables:
            notes.append(f"{name}: not defined")
        elif not isinstance(variables[name], Tensor):
            notes.append(f"{name}: a {type(variables[name]).__name__}, not a tensor")
        else:
            rows.append((name, variables[name]))
    return rows, notes


# ------------------------------------------------------------------ the terminal
def use_color(color: bool | None, stream=None) -> bool:
    """--color/--no-color decide; without either, colour only on a terminal, never when NO_COLOR is set
    to something (https://no-color.org: an explicit flag wins over it), always when FORCE_COLOR is."""
    if color is not None:
        return color
    stream = sys.stdout if stream is None else stream
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def make_console(color: bool | None, file=None, width: int | None = None):
    """A rich Console on `file` (stdout, looked up now, so CliRunner's capture is used).

    Without colour, `color_system=None` makes rich write no escape codes at all, not even bold.
    """
    from rich.console import Console

    file = sys.stdout if file is None else file
    if use_color(color, file):
        return Console(file=file, width=width, force_terminal=True, no_color=False, highlight=False,
                       emoji=False, markup=False)
    return Console(file=file, width=width, color_system=None, force_terminal=False, highlight=False,
                   emoji=False, markup=False)


def emit(console, renderable) -> None:
    """Print `renderable` without the spaces rich pads each line with up to the table's width (they
    would show up in every diff of saved output)."""
    with console.capture() as capture:
        console.print(renderable)
    console.file.write("\n".join(line.rstrip(" ") for line in capture.get().split("\n")))
    console.file.flush()


# Two spaces between columns (rich's padding of one on each side), none at the table's edges.
_COLUMN_GAP = 2
_HEADERS = ("name", "value", "shape", "dtype", "requires\ngrad", "is\nleaf", "grad_fn", "grad")
_MIN_VALUE_WIDTH = 6


def _value_widths(fixed: int, value_lines: list[str], grad_lines: list[str], width: int) -> tuple[int, int]:
    """How wide the value and grad columns may be, so that the table fits in `width` columns: whichever
    needs little keeps what it needs, and the other gets the rest."""
    room = width - fixed - _COLUMN_GAP * (len(_HEADERS) - 1)
    value = max(len("value"), *map(len, value_lines))
    grad = max(len("grad"), *map(len, grad_lines))
    if value + grad <= room:
        return value, grad
    half = room // 2
    if grad <= half:
        value = room - grad
    elif value <= half:
        grad = room - value
    else:
        value, grad = room - half, half
    # On a very narrow screen nothing fits; rich then shrinks every column, these two no further.
    return max(_MIN_VALUE_WIDTH, value), max(_MIN_VALUE_WIDTH, grad)


def variables_table(variables: dict, names: list[str] | None = None, width: int = 80):
    """A rich Table with one row per tensor variable, fitted to `width` columns; None when there is
    nothing to show. Values and grads are shortened to fit (see `shorten`)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    rows, notes = tensor_variables(variables, names)
    if not rows and not notes:
        return None
    cells = []
    for name, t in rows:
        fn = t.grad_fn
        cells.append([name, shape_text(t.shape), t.dtype.name, str(t.requires_grad), str(t.is_leaf),
                      fn.name() if fn is not None else NO_GRAD_FN])
    fixed = sum(
        max([len(h) for h in header.split("\n")] + [len(row[k]) for row in cells])
        for k, header in enumerate(h for h in _HEADERS if h not in ("value", "grad"))
    )
    bodies = [(tensor_body(t), None if t.grad is None else tensor_body(t.grad)) for _, t in rows]
    # A first, generous cut tells how much each column would like; the second cut fits the table.
    value_lines = [line for (_, t), (v, _) in zip(rows, bodies) for line in _cell_lines(t, v, width)]
    grad_lines = [line for (_, t), (_, g) in zip(rows, bodies) for line in _cell_lines(t.grad, g, width)]
    value_width, grad_width = _value_widths(fixed, value_lines or [""], grad_lines or [""], width)

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True,
                  caption="; ".join(notes) or None, caption_justify="left", caption_style=MUTED_STYLE)
    for header in _HEADERS:
        table.add_column(header, no_wrap=True, overflow="ellipsis")
    for (name, t), row, (value, grad) in zip(rows, cells, bodies):
        _, shape, dtype, requires_grad, is_leaf, grad_fn = row
        if t.grad_fn is not None:
            style = NONLEAF_STYLE
        elif t.requires_grad:
            style = LEAF_STYLE
        else:
            style = MUTED_STYLE  # a constant: gradients neither flow through it nor into it
        table.add_row(
            Text(name, style=style),
            Text("\n".join(_cell_lines(t, value, value_width))),
            Text(shape),
            Text(dtype),
            Text(requires_grad),
            Text(is_leaf),
            Text(grad_fn, style=style if t.grad_fn is not None else MUTED_STYLE),
            Text("\n".join(_cell_lines(t.grad, grad, grad_width)), style=MUTED_STYLE if grad is None else ""),
        )
    return table


def print_variables(variables: dict, names: list[str] | None = None, color: bool | None = None, *,
                    file=None, width: int | None = None) -> None:
    """The table of the script's tensors, after its own output (nothing if it left no tensors)."""
    console = make_console(color, file, width)
    table = variables_table(variables, names, width=console.width)
    if table is not None:
        emit(console, table)


def print_graph(variables: dict, name: str, color: bool | None = None, *, file=None,
                width: int | None = None) -> bool:
    """Draw the backward graph ending at variable `name` as a tree. If there is none, say why on stderr
    and return False."""
    from . import graph

    try:
        g = graph.build(variables, name)
    except KeyError as exc:
        sys.stdout.flush()
        print(f"Error: {exc.args[0]}", file=sys.stderr)
        return False
    console = make_console(color, file, width)
    console.file.write("\n")  # set off from the table or the program's output above
    emit(console, graph.rich_tree(g))
    return True


def export_graph(variables: dict, name: str, fmt: str, *, width: int | None = None) -> str:
    """The backward graph ending at variable `name` as text (the tree, no colour), dot or mermaid.
    KeyError with a message when `name` is not a tensor with a graph."""
    from . import graph

    g = graph.build(variables, name)
    if fmt == "dot":
        return graph.to_dot(g)
    if fmt == "mermaid":
        return graph.to_mermaid(g)
    if fmt != "text":
        raise ValueError(f"unknown graph format {fmt!r}")
    import io

    from rich.console import Console

    if width is None:
        width = Console(file=sys.stdout).width  # the terminal's, or 80 (or $COLUMNS) in a pipe
    buffer = io.StringIO()
    emit(Console(file=buffer, width=width, color_system=None, force_terminal=False, highlight=False,
                 emoji=False, markup=False), graph.rich_tree(g))
    return buffer.getvalue()


# ------------------------------------------------------------------ JSON
def json_values(t: Tensor):
    """A tensor's values as nested lists (a bare number for a 0-d tensor).

    Each float is the exact value of the tensor's element, written by Python's float repr: the shortest
    decimal that reads back as that double, and so, cast to the tensor's dtype, as the same float32 or
    float16. JSON has no NaN or infinity: those become the strings "nan", "inf" and "-inf".
    """
    values = to_host(t._data)
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        cells = values.astype(object)
        cells[np.isnan(values)] = "nan"
        cells[np.isposinf(values)] = "inf"
        cells[np.isneginf(values)] = "-inf"
        return cells.tolist()
    return values.tolist()


def tensor_record(t: Tensor) -> dict:
    fn = t.grad_fn
    return {
        "value": json_values(t),
        "shape": list(t.shape),
        "dtype": t.dtype.name,
        "requires_grad": t.requires_grad,
        "is_leaf": t.is_leaf,
        "grad_fn": fn.name() if fn is not None else None,
        "grad": json_values(t.grad) if t.grad is not None else None,
    }


def result_document(result, *, output: str = "", names: list[str] | None = None) -> dict:
    """The JSON document of a run, as Python objects (see docs/json-format.md)."""
    rows, _ = tensor_variables(result.variables, names)
    return {
        "gradcli_version": __version__,
        "format_version": JSON_FORMAT_VERSION,
        "output": output,
        "error": result.error.to_dict() if result.error is not None else None,
        "variables": {name: tensor_record(t) for name, t in rows},
    }


def result_to_json(result, *, output: str = "", names: list[str] | None = None) -> str:
    """One JSON document: the program's output, its tensors and its error. Each variable's record sits on
    its own lines with the value arrays kept on one line, so a reader can find a tensor with grep."""
    doc = result_document(result, output=output, names=names)
    variables = doc.pop("variables")
    lines = ["{"]
    for key, value in doc.items():
        lines.append(f"  {json.dumps(key)}: {_dump(value)},")
    if not variables:
        lines.append('  "variables": {}')
    else:
        lines.append('  "variables": {')
        for n, (name, record) in enumerate(variables.items()):
            fields = [f"      {json.dumps(k)}: {_dump(v)}" for k, v in record.items()]
            end = "," if n < len(variables) - 1 else ""
            lines.append(f"    {json.dumps(name, ensure_ascii=False)}: {{")
            lines.append(",\n".join(fields))
            lines.append(f"    }}{end}")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


def _dump(value) -> str:
    # allow_nan=False: a NaN that escaped json_values would make invalid JSON, so fail loudly instead.
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
