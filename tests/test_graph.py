"""The backward graph: found by walking grad_fn.next_functions without recursion, drawn as a tree (a node
reached twice is drawn once and referred to after) and exported as Graphviz dot and Mermaid."""

from __future__ import annotations

import io
import re
import sys
import textwrap

import pytest

from gradcli import graph, render
from gradcli.session import run
from gradcli.tensor import Tensor
from gradcli.torchlib import build_modules

SEED = """
import torch
w = torch.tensor([1.], requires_grad=True)
x = torch.tensor([2.], requires_grad=True)
a = torch.add(w, x)
b = torch.add(w, 1)
y = torch.mul(a, b)
y.backward()
"""

SHARED = """
import torch
w = torch.tensor([1., 2.], requires_grad=True)
s = w * 3
y = (s * s + s).sum()
"""

FUNCTION = """
import torch
from torch.autograd import Function

class Exp(Function):
    @staticmethod
    def forward(ctx, i):
        result = i.exp()
        ctx.save_for_backward(result)
        return result
    @staticmethod
    def backward(ctx, grad_output):
        result, = ctx.saved_tensors
        return grad_output * result

x = torch.tensor([1.], requires_grad=True)
ret = Exp.apply(x)
"""

NO_GRAD = """
import torch
x = torch.tensor([1., 2.], requires_grad=True)
with torch.no_grad():
    c = x * 2
y = (x * c).sum()
"""

LEGEND = """\
    classDef leaf fill:#add8e6,stroke:#333,color:#000
    classDef saved fill:#ffa500,stroke:#333,color:#000
    classDef output fill:#caff70,stroke:#333,color:#000
    classDef op fill:#d3d3d3,stroke:#333,color:#000
"""


def variables(source: str) -> dict:
    result = run(textwrap.dedent(source), out=io.StringIO())
    assert result.error is None, result.error.render()
    return result.variables


def export(source: str, name: str, fmt: str) -> str:
    return render.export_graph(variables(source), name, fmt, width=80)


T = build_modules()["torch"].members


# ------------------------------------------------------------------ the seed example
def test_seed_tree():
    assert export(SEED, "y", "text") == textwrap.dedent("""\
        MulBackward0  y  [1]
        ├── AddBackward0  a  [1]
        │   ├── AccumulateGrad  w  #1  [1]  value [1.]  grad [5.]
        │   └── AccumulateGrad  x  [1]  value [2.]  grad [2.]
        └── AddBackward0  b  [1]
            └── ↑ AccumulateGrad  w  #1  (drawn above)
        """)


def test_seed_dot():
    assert export(SEED, "y", "dot") == textwrap.dedent("""\
        digraph "y" {
            // the backward graph of y, drawn by gradcli; edge: input -> the op that used it
            graph [rankdir=TB, ranksep=0.3];
            node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10, fillcolor=lightgrey];
            n0 [label="y\\nMulBackward0\\n[1]", fillcolor=darkolivegreen1];
            n1 [label="a\\nAddBackward0\\n[1]"];
            n2 [label="w\\nAccumulateGrad\\n[1]", fillcolor=lightblue];
            n3 [label="x\\nAccumulateGrad\\n[1]", fillcolor=lightblue];
            n4 [label="b\\nAddBackward0\\n[1]"];
            n1 -> n0;
            n4 -> n0;
            n2 -> n1;
            n3 -> n1;
            n2 -> n4;
        }
        """)


def test_seed_mermaid():
    assert export(SEED, "y", "mermaid") == textwrap.dedent("""\
        flowchart TB
            %% the backward graph of y, drawn by gradcli
            n0["y<br/>MulBackward0<br/>[1]"]:::output
            n1["a<br/>AddBackward0<br/>[1]"]:::op
            n2["w<br/>AccumulateGrad<br/>[1]"]:::leaf
            n3["x<br/>AccumulateGrad<br/>[1]"]:::leaf
            n4["b<br/>AddBackward0<br/>[1]"]:::op
            n1 --> n0
            n4 --> n0
            n2 --> n1
            n3 --> n1
            n2 --> n4
        """) + LEGEND


def test_saved_tensors_show_until_backward_frees_them():
    before = export(SEED.replace("y.backward()", ""), "y", "dot")
    assert 'n0_s0 [label="self\\na\\n[1]", fillcolor=orange];' in before
    assert 'n0_s1 [label="other\\nb\\n[1]", fillcolor=orange];' in before
    assert "n0_s0 -> n0 [dir=none, style=dashed];" in before
    assert "_s0" not in export(SEED, "y", "dot")  # y.backward() freed them


# ------------------------------------------------------------------ a node used twice
def test_shared_subexpression_is_drawn_once_and_referred_to():
    assert export(SHARED, "y", "text") == textwrap.dedent("""\
        SumBackward0  y  []
        └── AddBackward0  [2]
            ├── MulBackward0  [2]
            │   ├── MulBackward0  s  #1  [2]
            │   │   └── AccumulateGrad  w  [2]  value [1., 2.]  grad None
            │   └── ↑ MulBackward0  s  #1  (drawn above)
            └── ↑ MulBackward0  s  #1  (drawn above)
        """)


def test_shared_subexpression_is_one_node_with_three_edges_in_the_exports():
    g = graph.build(variables(SHARED), "y")
    (s,) = [n for n in g.nodes if n.variable == "s"]
    assert s.uses == 3 and len(g.nodes) == 5
    dot = export(SHARED, "y", "dot")
    assert dot.count(f"    n{s.index} [") == 1
    assert sum(line.startswith(f"    n{s.index} -> ") for line in dot.splitlines()) == 3
    mermaid = export(SHARED, "y", "mermaid")
    assert sum(line.startswith(f"    n{s.index} --> ") for line in mermaid.splitlines()) == 3


# ------------------------------------------------------------------ a custom Function
def test_custom_function_node():
    assert export(FUNCTION, "ret", "text") == textwrap.dedent("""\
        ExpBackward  ret  [1]
        └── AccumulateGrad  x  [1]  value [1.]  grad None
        """)
    dot = export(FUNCTION, "ret", "dot")
    assert 'n0 [label="ret\\nExpBackward\\n[1]", fillcolor=darkolivegreen1];' in dot
    # What forward gave to ctx.save_for_backward: its own result, which is the variable ret.
    assert 'n0_s0 [label="saved_tensors[0]\\nret\\n[1]", fillcolor=orange];' in dot
    assert 'n0_s0["saved_tensors[0]<br/>ret<br/>[1]"]:::saved' in export(FUNCTION, "ret", "mermaid")


def test_custom_function_in_a_larger_graph():
    tree = export(FUNCTION + "out = ret * x + ret\n", "out", "text")
    assert tree == textwrap.dedent("""\
        AddBackward0  out  [1]
        ├── MulBackward0  [1]
        │   ├── ExpBackward  ret  #1  [1]
        │   │   └── AccumulateGrad  x  #2  [1]  value [1.]  grad None
        │   └── ↑ AccumulateGrad  x  #2  (drawn above)
        └── ↑ ExpBackward  ret  #1  (drawn above)
        """)


# ------------------------------------------------------------------ no_grad
def test_no_grad_block_leaves_its_tensors_out_of_the_graph():
    assert export(NO_GRAD, "y", "text") == textwrap.dedent("""\
        SumBackward0  y  []
        └── MulBackward0  [2]
            └── AccumulateGrad  x  [2]  value [1., 2.]  grad None
        """)
    dot = export(NO_GRAD, "y", "dot")
    assert "c\\n" not in dot.replace('label="other\\nc\\n[2]"', "")  # c is only a saved tensor, not a node
    assert 'n1_s0 [label="other\\nc\\n[2]", fillcolor=orange];' in dot


def test_tensor_made_under_no_grad_has_no_graph():
    with pytest.raises(KeyError, match="'c' does not require grad, so it has no backward graph"):
        export(NO_GRAD, "c", "dot")


# ------------------------------------------------------------------ what has a graph
def test_a_leaf_is_a_graph_of_one_node():
    assert export(SEED, "w", "text") == "AccumulateGrad  w  [1]  value [1.]  grad [5.]\n"
    assert '    n0 [label="w\\nAccumulateGrad\\n[1]", fillcolor=lightblue];' in export(SEED, "w", "dot")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope", "no variable named 'nope' (tensor variables: w, x, a, b, y)"),
        ("n", "'n' is a int, not a tensor, so it has no backward graph"),
        ("Exp", "'Exp' is a type, not a tensor, so it has no backward graph"),
    ],
)
def test_names_without_a_graph(name, message):
    values = variables(SEED + "n = 1\nclass Exp(torch.autograd.Function):\n    pass\n")
    for fmt in ("text", "dot", "mermaid"):
        with pytest.raises(KeyError) as info:
            render.export_graph(values, name, fmt)
        assert info.value.args[0] == message


def test_names_come_from_the_first_variable_bound_to_a_tensor():
    values = variables(SEED + "alias = a\nz = a * 2\n")
    tree = render.export_graph(values, "z", "text", width=80)
    assert "AddBackward0  a  [1]" in tree and "alias" not in tree


def test_print_graph_reports_a_missing_graph_on_stderr(capsys):
    out = io.StringIO()
    assert render.print_graph(variables(SEED), "nope", color=False, file=out) is False
    assert out.getvalue() == ""
    assert capsys.readouterr().err.startswith("Error: no variable named 'nope'")


def test_print_graph_colours_leaves_and_ops_apart():
    out = io.StringIO()
    assert render.print_graph(variables(SEED), "y", color=True, file=out, width=80)
    text = out.getvalue()
    assert "\x1b[" in text
    style = {name: re.search(rf"(\x1b\[[0-9;]*m){name}", text).group(1)
             for name in ("MulBackward0", "AddBackward0", "AccumulateGrad")}
    assert len(set(style.values())) == 3  # the output, the ops and the leaves


def test_print_graph_without_colour_is_the_text_export():
    out = io.StringIO()
    render.print_graph(variables(SEED), "y", color=False, file=out, width=80)
    assert out.getvalue() == "\n" + export(SEED, "y", "text")


# ------------------------------------------------------------------ big graphs
def _chain(n: int):
    x = T["tensor"]([1.0], requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0
    return {"x": x, "y": y}


@pytest.fixture(scope="module")
def deep():
    return _chain(100_000)


def test_a_graph_100000_nodes_deep_is_walked_without_recursion(deep):
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # far below the depth: any recursive walk would fail
    try:
        g = graph.build(deep, "y")
        dot = graph.to_dot(g)
        mermaid = graph.to_mermaid(g)
        rows, hidden = graph.tree_rows(g)
    finally:
        sys.setrecursionlimit(limit)
    assert len(g.nodes) == 100_001 and g.nodes[-1].variable == "x"
    assert len(re.findall(r"^    n\d+ -> n\d+;$", dot, re.M)) == 100_000
    assert len(re.findall(r"^    n\d+ --> n\d+$", mermaid, re.M)) == 100_000
    assert hidden == 100_001 - sum(1 for r in rows if r.node is not None and not r.reference)


def test_deep_tree_is_cut_with_a_count_of_what_is_left(deep):
    lines = render.export_graph(deep, "y", "text", width=80).splitlines()
    assert len(lines) == graph.TREE_MAX_DEPTH + 3  # the drawn levels, "…" under the last, the count
    assert lines[-2].endswith("└── …")
    drawn = graph.TREE_MAX_DEPTH + 1
    assert lines[-1] == (f"└── … {100_001 - drawn:,} more nodes (gradcli graph FILE y --format dot draws "
                         "them all)")
    assert all(len(line) <= 80 for line in lines)


def test_wide_tree_is_capped_at_max_nodes():
    level = [T["tensor"]([float(i)], requires_grad=True) for i in range(200)]
    while len(level) > 1:  # a balanced tree of sums, 8 levels deep
        level = [level[i] + level[i + 1] if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    g = graph.build({"total": level[0]}, "total")
    assert len(g.nodes) == 399  # 199 AddBackward0 and 200 leaves
    rows, hidden = graph.tree_rows(g)
    assert len(rows) == graph.TREE_MAX_NODES
    assert hidden == 399 - graph.TREE_MAX_NODES
    text = render.export_graph({"total": level[0]}, "total", "text", width=80)
    hint = "gradcli graph FILE total --format dot draws them all"
    assert text.endswith(f"└── … {hidden} more nodes ({hint})\n")


def test_shapes_come_from_the_graph_for_unnamed_nodes():
    values = variables("import torch\nw = torch.ones(2, 3, requires_grad=True)\ny = (w * 2).sum(1).mean()\n")
    g = graph.build(values, "y")
    assert [(n.name, n.shape) for n in g.nodes] == [
        ("MeanBackward0", ()), ("SumBackward1", (2,)), ("MulBackward0", (2, 3)), ("AccumulateGrad", (2, 3))]


def test_labels_are_escaped_in_the_exports():
    x = Tensor._make(T["tensor"]([1.0])._data)
    x.requires_grad = True
    g = graph.build({'we"ird\\name': x}, 'we"ird\\name')
    assert 'digraph "we\\"ird\\\\name" {' in graph.to_dot(g)
    assert 'n0["we#quot;ird\\name<br/>AccumulateGrad<br/>[1]"]:::leaf' in graph.to_mermaid(g)
