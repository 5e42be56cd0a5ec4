"""The backward graph that ends at a script variable: found by walking `grad_fn.next_functions`, then drawn
as a rich tree for the terminal, as Graphviz dot, or as a Mermaid flowchart.

Graphs can be 100,000 nodes deep (a loop of `h = h * w`), so every walk here uses an explicit stack, never
recursion. A node reached along several edges (a shared sub-expression, a leaf used twice) is one node of
the graph: the exports draw it once with several edges, the tree draws it once and refers back to it.

Only this module and `render` know rich, and both import it lazily.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .engine import AccumulateGrad
from .render import LEAF_STYLE, MUTED_STYLE, NONLEAF_STYLE, OUTPUT_STYLE, shape_text, tensor_body
from .tensor import Tensor

LEAF = AccumulateGrad.__name__  # a leaf's node, as PyTorch names it

# How much of a graph the terminal tree draws; the exports always hold all of it.
TREE_MAX_NODES = 60
TREE_MAX_DEPTH = 12
LEAF_TEXT_WIDTH = 40  # a leaf's value and grad, each on at most this many characters


@dataclass
class Saved:
    what: str  # "self", "other", "result" (a built-in op's inputs and output) or "saved_tensors[i]"
    variable: str | None
    shape: tuple


@dataclass
class GraphNode:
    index: int
    name: str  # the grad_fn name: "MulBackward0", "ExpBackward", "AccumulateGrad"
    variable: str | None = None  # the script variable this node made (or, for a leaf, that is the leaf)
    shape: tuple | None = None  # the shape of the tensor it made, where the graph records it
    leaf: Tensor | None = None  # for AccumulateGrad: the leaf tensor
    inputs: list[int] = field(default_factory=list)  # indices of the nodes it passes gradients to, in order
    saved: list[Saved] = field(default_factory=list)  # the tensors it keeps for its backward
    uses: int = 0  # edges that point at this node

    @property
    def is_leaf(self) -> bool:
        return self.leaf is not None


@dataclass
class Graph:
    name: str  # the variable whose graph this is
    nodes: list[GraphNode]  # nodes[0] is its grad_fn; then depth-first order, first input first


# ------------------------------------------------------------------ building
def build(variables: dict, name: str) -> Graph:
    """The backward graph ending at `variables[name]`; KeyError (with a message) if there is none."""
    root = _graph_root(variables, name)
    names_of_nodes, names_of_leaves = _variable_names(variables)

    if root.grad_fn is None:  # a leaf that requires grad: its graph is its AccumulateGrad alone
        node = GraphNode(0, LEAF, name, tuple(root.shape), leaf=root)
        return Graph(name, [node])

    index = {}  # engine node -> GraphNode, in the order found
    nodes = []
    shapes = {root.grad_fn: tuple(root.shape)}
    stack = [root.grad_fn]
    while stack:
        fn = stack.pop()
        if fn in index:
            continue
        if isinstance(fn, AccumulateGrad):
            leaf = fn.variable
            gnode = GraphNode(len(nodes), LEAF, names_of_leaves.get(id(leaf)), tuple(leaf.shape), leaf=leaf)
        else:
            gnode = GraphNode(len(nodes), fn.name(), names_of_nodes.get(fn), shapes.get(fn),
                              saved=_saved(fn, names_of_nodes, names_of_leaves))
        index[fn] = gnode
        nodes.append(gnode)
        shapes_in = _input_shapes(fn)
        edges = [(nxt, shape) for (nxt, _), shape in zip(fn.next_functions, shapes_in) if nxt is not None]
        for nxt, shape in edges:
            if nxt not in shapes and shape is not None:
                shapes[nxt] = tuple(shape)
        # Pushed in reverse so the first input is drawn first, as next_functions lists it.
        stack.extend(nxt for nxt, _ in reversed(edges) if nxt not in index)

    for fn, gnode in index.items():
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                child = index[nxt]
                gnode.inputs.append(child.index)
                child.uses += 1
    return Graph(name, nodes)


def _graph_root(variables: dict, name: str) -> Tensor:
    if name not in variables:
        tensors = [n for n, v in variables.items() if isinstance(v, Tensor)]
        known = f" (tensor variables: {', '.join(tensors)})" if tensors else " (the script left no tensors)"
        raise KeyError(f"no variable named {name!r}{known}")
    value = variables[name]
    if not isinstance(value, Tensor):
        raise KeyError(f"{name!r} is a {type(value).__name__}, not a tensor, so it has no backward graph")
    if value.grad_fn is None and not value.requires_grad:
        raise KeyError(f"{name!r} does not require grad, so it has no backward graph")
    return value


def _variable_names(variables: dict) -> tuple[dict, dict]:
    """Which script variable names each node (by node) and each leaf (by id of the tensor); the first name
    bound wins when two names hold the same tensor."""
    nodes, leaves = {}, {}
    for name, value in variables.items():
        if not isinstance(value, Tensor):
            continue
        if value.grad_fn is not None:
            nodes.setdefault(value.grad_fn, name)
        else:
            leaves.setdefault(id(value), name)
    return nodes, leaves


def _input_shapes(fn) -> list:
    """The shape of the tensor behind each entry of `fn.next_functions`, where the node recorded it.

    A user Function's node keeps (shape, dtype) per argument in `input_kinds` (None for an argument that
    is not a tensor, which has no edge); a built-in op's node keeps (shape, dtype) per input in `meta`,
    which it needs to undo broadcasting.
    """
    kinds = getattr(fn, "input_kinds", None)
    if kinds is not None:
        return [k[0] for k in kinds if k is not None]
    meta = getattr(fn, "meta", None)
    if meta is not None and len(meta) == len(fn.next_functions):
        return [m[0] if m is not None else None for m in meta]
    return [None] * len(fn.next_functions)


_SAVED_SLOTS = (("a", "self"), ("b", "other"), ("r", "result"))


def _saved(fn, names_of_nodes: dict, names_of_leaves: dict) -> list[Saved]:
    """The tensors a node keeps for its backward (none once a backward pass has freed them)."""

    def name_of(t):
        if t is None:  # the node's own output, kept as bare memory
            return names_of_nodes.get(fn)
        if t.grad_fn is not None:
            return names_of_nodes.get(t.grad_fn)
        return names_of_leaves.get(id(t))

    out = []
    ctx = getattr(fn, "ctx", None)
    if ctx is not None:  # a user Function: what its forward gave to ctx.save_for_backward
        for i, item in enumerate(getattr(ctx, "_saved", None) or ()):
            if item is not None:
                t, array = item[0], item[1]
                out.append(Saved(f"saved_tensors[{i}]", name_of(t), tuple(array.shape)))
        return out
    for slot, what in _SAVED_SLOTS:
        value = getattr(fn, slot, None)
        if isinstance(value, Tensor):
            out.append(Saved(what, name_of(value), tuple(value.shape)))
        elif slot == "r" and value is not None:  # the result, kept as an array
            out.append(Saved(what, name_of(None), tuple(value.shape)))
        elif getattr(value, "ndim", 0):  # an input kept as an array
            out.append(Saved(what, None, tuple(value.shape)))
    return out


# ------------------------------------------------------------------ pieces of labels
def short_value(t: Tensor | None, width: int = LEAF_TEXT_WIDTH) -> str:
    """A tensor's values on one line, in PyTorch's format, cut to `width` characters ('None' for None)."""
    if t is None:
        return "None"
    text = " ".join(line.strip() for line in tensor_body(t).splitlines())
    return text if len(text) <= width else text[: width - 1] + "…"


def _label_lines(node: GraphNode) -> list[str]:
    lines = []
    if node.variable is not None:
        lines.append(node.variable)
    lines.append(node.name)
    if node.shape is not None:
        lines.append(shape_text(node.shape))
    return lines


# ------------------------------------------------------------------ the terminal tree
@dataclass
class TreeRow:
    depth: int
    node: GraphNode | None  # None: the "…" that stands for a cut-off subtree
    tag: int | None = None  # the number a node used more than once is referred to by
    reference: bool = False  # True: the node was drawn above; this row only refers to it


def tree_rows(graph: Graph, max_nodes: int = TREE_MAX_NODES, max_depth: int = TREE_MAX_DEPTH):
    """The rows of the tree, depth first, and how many nodes were left out by the caps."""
    rows = []
    tags = {}  # node index -> tag, given when a node used more than once is first drawn
    drawn = set()
    cut_below = set()  # rows (by position) that already have a "…" child
    stack = [(0, 0, None)]  # (node index, depth, position of the parent row)
    while stack:
        i, depth, parent = stack.pop()
        node = graph.nodes[i]
        if i in drawn:
            rows.append(TreeRow(depth, node, tags.get(i), reference=True))
            continue
        if depth > max_depth:
            if parent not in cut_below:
                cut_below.add(parent)
                rows.append(TreeRow(depth, None))
            continue
        if len(drawn) >= max_nodes:
            break  # the line under the tree says how many nodes are left out
        drawn.add(i)
        if node.uses > 1:
            tags[i] = len(tags) + 1
        rows.append(TreeRow(depth, node, tags.get(i)))
        here = len(rows) - 1
        stack.extend((j, depth + 1, here) for j in reversed(node.inputs))
    return rows, len(graph.nodes) - len(drawn)


def _tree_label(row: TreeRow):
    from rich.text import Text

    if row.node is None:
        return Text("…", style=MUTED_STYLE)
    node = row.node
    text = Text()
    if row.reference:
        text.append("↑ ", style=MUTED_STYLE)
    style = LEAF_STYLE if node.is_leaf else OUTPUT_STYLE if node.index == 0 else NONLEAF_STYLE
    text.append(node.name, style=style)
    if node.variable is not None:
        text.append("  ")
        text.append(node.variable, style="bold")
    if row.tag is not None:
        text.append(f"  #{row.tag}", style="magenta")
    if row.reference:
        text.append("  (drawn above)", style=MUTED_STYLE)
        return text
    if node.shape is not None:
        text.append(f"  {shape_text(node.shape)}", style=MUTED_STYLE)
    if node.is_leaf:
        text.append("  value ", style=MUTED_STYLE)
        text.append(short_value(node.leaf))
        text.append("  grad ", style=MUTED_STYLE)
        text.append(short_value(node.leaf.grad))
    return text


def rich_tree(graph: Graph, max_nodes: int = TREE_MAX_NODES, max_depth: int = TREE_MAX_DEPTH):
    """The graph as a rich Tree, root first; a line at the end counts the nodes the caps left out."""
    from rich.tree import Tree

    rows, hidden = tree_rows(graph, max_nodes, max_depth)
    tree = Tree(_tree_label(rows[0]), guide_style=MUTED_STYLE)
    handles = [tree]  # handles[d]: the tree item at depth d on the current path
    for row in rows[1:]:
        del handles[row.depth:]
        handles.append(handles[-1].add(_tree_label(row)))
    if hidden:
        from rich.text import Text

        noun = "node" if hidden == 1 else "nodes"
        hint = f"gradcli graph FILE {graph.name} --format dot draws them all"
        tree.add(Text(f"… {hidden:,} more {noun} ({hint})", style=MUTED_STYLE))
    return tree


# ------------------------------------------------------------------ dot and mermaid
# Colours in the spirit of torchviz: leaves light blue, saved tensors orange, the output green, ops grey.
_FILL = {"leaf": "lightblue", "saved": "orange", "output": "darkolivegreen1", "op": "lightgrey"}
_MERMAID_FILL = {"leaf": "#add8e6", "saved": "#ffa500", "output": "#caff70", "op": "#d3d3d3"}


def _kind(node: GraphNode) -> str:
    if node.is_leaf:
        return "leaf"
    return "output" if node.index == 0 else "op"


def _saved_label(saved: Saved) -> list[str]:
    lines = [saved.what]
    if saved.variable is not None:
        lines.append(saved.variable)
    lines.append(shape_text(saved.shape))
    return lines


def to_dot(graph: Graph) -> str:
    """Graphviz source: inputs above, the output at the bottom; edges run the way values flowed forward."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace('"', '\\"')

    def label(lines: list[str]) -> str:
        return "\\n".join(escape(s) for s in lines)

    out = [
        f'digraph "{escape(graph.name)}" {{',
        f"    // the backward graph of {graph.name}, drawn by gradcli; edge: input -> the op that used it",
        '    graph [rankdir=TB, ranksep=0.3];',
        '    node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10, '
        f'fillcolor={_FILL["op"]}];',
    ]
    for node in graph.nodes:
        fill = _FILL[_kind(node)]
        extra = "" if fill == _FILL["op"] else f", fillcolor={fill}"
        out.append(f'    n{node.index} [label="{label(_label_lines(node))}"{extra}];')
        for k, saved in enumerate(node.saved):
            out.append(f'    n{node.index}_s{k} [label="{label(_saved_label(saved))}", '
                       f'fillcolor={_FILL["saved"]}];')
    for node in graph.nodes:
        for j in node.inputs:
            out.append(f"    n{j} -> n{node.index};")
        for k in range(len(node.saved)):
            out.append(f"    n{node.index}_s{k} -> n{node.index} [dir=none, style=dashed];")
    out.append("}")
    return "\n".join(out) + "\n"


def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart (paste it into a ```mermaid block of a Markdown document)."""

    def label(lines: list[str]) -> str:
        escaped = [s.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
                   for s in lines]
        return '"' + "<br/>".join(escaped) + '"'

    out = ["flowchart TB", f"    %% the backward graph of {graph.name}, drawn by gradcli"]
    for node in graph.nodes:
        out.append(f"    n{node.index}[{label(_label_lines(node))}]:::{_kind(node)}")
        for k, saved in enumerate(node.saved):
            out.append(f"    n{node.index}_s{k}[{label(_saved_label(saved))}]:::saved")
    for node in graph.nodes:
        for j in node.inputs:
            out.append(f"    n{j} --> n{node.index}")
        for k in range(len(node.saved)):
            out.append(f"    n{node.index}_s{k} -.- n{node.index}")
    for kind, fill in _MERMAID_FILL.items():
        out.append(f"    classDef {kind} fill:{fill},stroke:#333,color:#000")
    return "\n".join(out) + "\n"
