"""A generator of valid gradscript programs, driven by one seeded `random.Random`.

It walks the constructs of `grammars/gradscript.lark` that the subset accepts (every statement and
expression form, layout variants such as `;`, `\\` continuations, comments and brackets over several
lines) and fills them with tensor code: factories, the ops of `torch` and of `Tensor`, in-place ops,
`backward`, `torch.autograd.grad`, custom `Function`s, `no_grad`. Arguments are mostly sensible
and sometimes hostile (negative or huge sizes, wrong dtypes, empty tensors, big integers), so the
programs reach deep into the engine and also into its error paths.

Every program is valid Python (the suite checks that with `ast.parse`) inside the gradscript subset,
so gradcli's parser must accept it; running it may fail, but only with gradcli's own errors.
"""

from __future__ import annotations

import random

NAMES = "a b c x y z t u v w n k s xs ys d f g h m p q".split()
TENSOR_UNARY = """exp log sin cos tanh sigmoid relu sqrt abs neg sum mean max min argmax prod norm std var
    cumsum softmax log_softmax floor ceil round sign reciprocal square log1p expm1 rsqrt t flatten clone
    detach squeeze unsqueeze float double long int bool""".split()
TORCH_UNARY = """exp log sin cos tan tanh sigmoid relu sqrt abs neg sum mean max min argmax argmin prod
    std var norm cumsum softmax log_softmax floor ceil round sign reciprocal square log1p expm1 rsqrt
    numel clone flatten t logical_not any all""".split()
TORCH_BINARY = "add sub mul div pow maximum minimum eq ne lt le gt ge matmul dot outer remainder".split()
NEEDS_DIM = {"cumsum", "softmax", "log_softmax", "unsqueeze"}
DTYPES = ["torch.float32", "torch.float64", "torch.int64", "torch.int32", "torch.bool", "torch.float16"]
BINARY_OPS = ["+", "-", "*", "/", "//", "%", "**", "@"]
INT_OPS = ["+", "-", "*", "//", "%", "**", "<<", ">>", "&", "|", "^"]
COMPARE = ["<", "<=", ">", ">=", "==", "!=", "is", "is not", "in", "not in"]
AUG = ["+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=", "<<=", ">>="]


class ProgramGenerator:
    def __init__(self, rng: random.Random, *, max_depth: int = 3, hostile: float = 0.05):
        self.r = rng
        self.max_depth = max_depth
        self.hostile = hostile  # chance of an out-of-range argument
        self.lines: list[str] = []
        self.functions: list[tuple[str, int]] = []  # (name, number of positional parameters)
        self.classes: list[str] = []
        self.in_fstring = 0

    # ------------------------------------------------------------------ helpers
    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def pick(self, seq):
        return self.r.choice(seq)

    def emit(self, indent: int, text: str) -> None:
        for line in text.split("\n"):
            self.lines.append("    " * indent + line)

    def name(self) -> str:
        return self.pick(NAMES)

    # ------------------------------------------------------------------ values
    def small_int(self) -> str:
        if self.chance(self.hostile):
            return self.pick(["-1", "0", "10**6", "2**63", "-2**63", "10**100", "999999999999"])
        return str(self.r.randint(0, 4))

    def number(self) -> str:
        choices = [
            lambda: str(self.r.randint(-5, 9)),
            lambda: repr(round(self.r.uniform(-3, 3), 3)),
            lambda: self.pick(["0.0", "-0.0", "1e-8", "1e30", "1_000", "0x1f", "0o17", "0b101", ".5", "2."]),
            lambda: self.pick(["float('inf')", "float('nan')", "math.pi", "torch.pi", "True", "False"]),
        ]
        if self.in_fstring:
            choices.pop()
        if self.chance(self.hostile):
            return self.pick(["10**20", "-2**70", "1e308 * 10", "9**99"])
        return self.pick(choices)()

    def shape(self) -> str:
        dims = [self.small_int() for _ in range(self.r.randint(0, 3))]
        if self.chance(0.3) or not dims:
            return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
        return ", ".join(dims)

    def nested_list(self, depth: int = 0) -> str:
        n = self.r.randint(0, 3) if depth else self.r.randint(1, 4)
        if depth >= 2 or self.chance(0.5):
            return "[" + ", ".join(self.number() for _ in range(n)) + "]"
        inner = self.nested_list(depth + 1)
        return "[" + ", ".join(inner for _ in range(n)) + "]"

    def string(self) -> str:
        if self.in_fstring:
            return self.small_int()
        body = self.pick(["", "a", "grad", "x=%s", "{}", "tensor", "é", "注意", "\\t", "\\n", "\\x1b[1m",
                          "%d"])
        quote = self.pick(["'", '"', "'''"])
        return f"{'r' if self.chance(0.1) else ''}{quote}{body}{quote}"

    def fstring(self, depth: int) -> str:
        spec = self.pick(["", ":.3f", ":>6", ":d", ":e", "!r", "!s", ":{w}", ":.{n}"]).replace(
            "{w}", "{" + self.small_int() + "}").replace("{n}", "{" + self.small_int() + "}")
        # Python before 3.12 allows no quote of the f-string's kind inside it: no string literals there,
        # and a space so that a dict display does not start with `{{` (an escaped brace)
        self.in_fstring += 1
        try:
            inner = self.expr(depth + 1)
        finally:
            self.in_fstring -= 1
        return f"f'<{{ {inner}{spec}}}>'"

    # ------------------------------------------------------------------ expressions
    def tensor_factory(self, depth: int) -> str:
        kw = []
        if self.chance(0.3):
            kw.append(f"dtype={self.pick(DTYPES)}")
        if self.chance(0.4):
            kw.append("requires_grad=True")
        extra = "".join(", " + k for k in kw)
        form = self.r.randint(0, 9)
        if form <= 2:
            return f"torch.tensor({self.nested_list()}{extra})"
        if form == 3:
            return f"torch.{self.pick(['ones', 'zeros', 'rand', 'randn', 'empty'])}({self.shape()}{extra})"
        if form == 4:
            return f"torch.full(({self.small_int()}, {self.small_int()}), {self.number()}{extra})"
        if form == 5:
            return f"torch.arange({self.small_int()}{extra})"
        if form == 6:
            return f"torch.linspace({self.number()}, {self.number()}, {self.small_int()})"
        if form == 7:
            return f"torch.eye({self.small_int()})"
        if form == 8:
            return f"torch.{self.pick(['ones_like', 'zeros_like', 'rand_like'])}({self.tensor(depth + 1)})"
        return f"torch.tensor({self.number()}{extra})"

    def tensor(self, depth: int = 0) -> str:
        if depth >= self.max_depth or self.chance(0.3):
            return self.name() if self.chance(0.5) else self.tensor_factory(depth)
        d = depth + 1
        form = self.r.randint(0, 12)
        if form == 0:
            return self.tensor_factory(d)
        if form == 1:
            op = self.pick(TENSOR_UNARY)
            arg = str(self.r.randint(-2, 2)) if op in NEEDS_DIM or self.chance(0.2) else ""
            return f"{self.tensor(d)}.{op}({arg})"
        if form == 2:
            op = self.pick(TORCH_UNARY)
            arg = f", {self.r.randint(-2, 2)}" if op in NEEDS_DIM else ""
            return f"torch.{op}({self.tensor(d)}{arg})"
        if form == 3:
            return f"torch.{self.pick(TORCH_BINARY)}({self.tensor(d)}, {self.operand(d)})"
        if form == 4:
            return f"({self.tensor(d)} {self.pick(BINARY_OPS)} {self.operand(d)})"
        if form == 5:
            return f"({self.number()} {self.pick(BINARY_OPS[:6])} {self.tensor(d)})"
        if form == 6:
            return f"{self.tensor(d)}[{self.index()}]"
        if form == 7:
            shape = ", ".join(str(self.r.choice([-1, 1, 2, 3, 4, 6])) for _ in range(self.r.randint(1, 3)))
            return f"{self.tensor(d)}.{self.pick(['reshape', 'view', 'expand'])}({shape})"
        if form == 8:
            joined = ", ".join(self.tensor(d) for _ in range(self.r.randint(1, 3)))
            return f"torch.{self.pick(['cat', 'stack'])}([{joined}], {self.r.randint(-1, 1)})"
        if form == 9:
            return f"torch.where({self.tensor(d)} > 0, {self.tensor(d)}, {self.operand(d)})"
        if form == 10:
            a, b = self.r.randint(-2, 1), self.r.randint(-2, 1)
            return f"{self.tensor(d)}.{self.pick(['transpose', 'permute'])}({a}, {b})"
        if form == 11:
            return f"torch.clamp({self.tensor(d)}, {self.number()}, {self.number()})"
        fn = self.pick(["relu", "sigmoid", "tanh", "softmax", "mse_loss", "cross_entropy"])
        args = self.tensor(d) + (f", {self.tensor(d)}" if fn in ("mse_loss", "cross_entropy") else "")
        args += ", dim=-1" if fn == "softmax" else ""
        return f"torch.nn.functional.{fn}({args})"

    def operand(self, depth: int) -> str:
        return self.tensor(depth) if self.chance(0.6) else self.number()

    def index(self) -> str:
        parts = []
        for _ in range(self.r.randint(1, 2)):
            form = self.r.randint(0, 4)
            if form == 0:
                parts.append(str(self.r.randint(-3, 3)))
            elif form == 1:
                parts.append(f"{self.r.randint(-2, 2)}:{self.r.randint(-2, 3)}")
            elif form == 2:
                parts.append("::" + str(self.r.randint(1, 2)))
            elif form == 3:
                parts.append(":")
            else:
                parts.append(self.pick(["...", "None", "True"]))
        return ", ".join(parts)

    def plain(self, depth: int) -> str:
        """A non-tensor value: numbers, strings, containers, calls of Python builtins."""
        if depth >= self.max_depth or self.chance(0.3):
            return self.pick([self.number, self.string, self.name, self.small_int])()
        d = depth + 1
        form = self.r.randint(0, 15)
        if self.in_fstring and form in (7, 11, 12):  # these need quotes
            return self.number()
        if form == 0:
            return f"({self.plain(d)} {self.pick(INT_OPS + ['/'])} {self.plain(d)})"
        if form == 1:
            return "[" + ", ".join(self.expr(d) for _ in range(self.r.randint(0, 3))) + "]"
        if form == 2:
            return "(" + "".join(self.expr(d) + ", " for _ in range(self.r.randint(0, 3))) + ")"
        if form == 3:
            items = ", ".join(f"{self.string()}: {self.expr(d)}" for _ in range(self.r.randint(0, 3)))
            return "{" + items + "}"
        if form == 4:
            v = self.name()
            cond = f" if {v} {self.pick(COMPARE[:6])} {self.small_int()}" if self.chance(0.4) else ""
            return f"[{self.expr(d)} for {v} in {self.iterable(d)}{cond}]"
        if form == 5:
            fn = self.pick(["len", "abs", "str", "repr", "int", "float", "bool", "list", "sorted"])
            return f"{fn}({self.expr(d)})"
        if form == 6:
            fn = self.pick(["min", "max", "sum", "divmod", "pow", "round", "isinstance"])
            return f"{fn}({self.expr(d)}, {self.expr(d)})"
        if form == 7:
            return self.fstring(d)
        if form == 8:
            return f"({self.expr(d)} if {self.expr(d)} else {self.expr(d)})"
        if form == 9:
            ops = " ".join(f"{self.pick(COMPARE)} {self.expr(d)}" for _ in range(self.r.randint(1, 2)))
            return f"({self.expr(d)} {ops})"
        if form == 10:
            negation = "not " if self.chance(0.3) else ""
            return f"({self.expr(d)} {self.pick(['and', 'or'])} {negation}{self.expr(d)})"
        if form == 11:
            method = self.pick(["upper()", "split()", "strip()", "join(['a', 'b'])", "replace('a', 'bb')",
                                "center(5)", "startswith('g')", "find('r')", "count('a')", "zfill(4)"])
            return f"{self.string()}.{method}"
        if form == 12:
            return f"({self.string()} % ({self.expr(d)},))"
        if form == 13:
            return f"(lambda {self.name()}, *rest: {self.expr(d)})({self.expr(d)})"
        if form == 14 and self.functions:
            fname, arity = self.pick(self.functions)
            return f"{fname}({', '.join(self.expr(d) for _ in range(arity))})"
        attribute = self.pick(["item()", "tolist()", "shape", "dtype", "grad", "grad_fn", "requires_grad",
                               "is_leaf", "ndim", "numel()", "size(0)", "dim()"])
        return f"{self.tensor(d)}.{attribute}"

    def iterable(self, depth: int) -> str:
        items = "{1: 2}.items()" if self.in_fstring else "{1: 'a'}.items()"
        return self.pick([f"range({self.small_int()})", f"[{self.number()}, {self.number()}]",
                          self.string(), f"{self.tensor(depth)}", f"enumerate({self.name()})",
                          f"zip({self.name()}, range(3))", items, "reversed([1, 2])"])

    def expr(self, depth: int = 0) -> str:
        return self.tensor(depth) if self.chance(0.55) else self.plain(depth)

    def target(self) -> str:
        form = self.r.randint(0, 9)
        if form <= 5:
            return self.name()
        if form == 6:
            return f"{self.name()}, {self.name()}"
        if form == 7:
            return f"{self.name()}, *{self.name()}"
        if form == 8:
            return f"{self.name()}[{self.r.randint(-1, 1)}]"
        return f"{self.name()}.{self.pick(['grad', 'data', 'requires_grad', 'attr'])}"

    # ------------------------------------------------------------------ statements
    def simple(self, in_function: bool = False) -> str:
        form = self.r.randint(0, 16)
        if form <= 4:
            return f"{self.target()} = {self.expr()}"
        if form == 5:
            return f"{self.name()} {self.pick(AUG)} {self.expr()}"
        if form <= 7:
            args = ", ".join(self.expr() for _ in range(self.r.randint(0, 3)))
            end = self.pick(["", ", end=''", ", sep='|'"]) if args and self.chance(0.2) else ""
            return f"print({args}{end})"
        if form == 8:
            call = self.pick(["backward()", "sum().backward()", "mean().backward(retain_graph=True)",
                              "backward(torch.ones(2))", "requires_grad_()", "retain_grad()",
                              "add_(1)", "mul_(2)", "zero_()", "grad.zero_()", "detach_()", "clamp_(0, 1)"])
            return f"{self.name()}.{call}"
        if form == 9:
            return f"{self.name()} = torch.autograd.grad({self.tensor()}, [{self.name()}], " \
                   f"create_graph={self.pick(['True', 'False'])}, allow_unused=True)"
        if form == 10:
            return f"assert {self.expr()}, {self.string()}"
        if form == 11:
            return f"del {self.name()}"
        if form == 12:
            if in_function:
                return "import math"  # `import *` is for module level only
            return self.pick(["import math", "import torch", "from torch import nn", "import numpy as np",
                              "from torch.autograd import Function", "from math import *",
                              "import torch.nn.functional as F", "from torch import tensor as T"])
        if form == 13:
            kind = self.pick(["ValueError", "RuntimeError", "TypeError", "IndexError"])
            return f"raise {kind}({self.string()})"
        if form == 14:
            return f"torch.manual_seed({self.small_int()})"
        if form == 15:
            return "pass"
        return f"{self.expr()}"

    def block(self, indent: int, depth: int, *, in_loop: bool = False, in_function: bool = False) -> None:
        for _ in range(self.r.randint(1, 3)):
            self.statement(indent, depth, in_loop=in_loop, in_function=in_function)

    def statement(self, indent: int, depth: int, *, in_loop: bool = False, in_function: bool = False) -> None:
        r = self.r
        if depth >= self.max_depth or self.chance(0.55):
            line = self.simple(in_function)
            if in_loop and self.chance(0.15):
                line = self.pick(["break", "continue"])
            elif in_function and self.chance(0.2):
                line = f"return {self.expr()}"
            if self.chance(0.1):
                line += "; " + self.simple(in_function)
            if self.chance(0.05):
                line += "  # " + self.pick(["comment", "注意", "x = 1"])
            self.emit(indent, line)
            return
        d = depth + 1
        form = r.randint(0, 10)
        if form == 10:
            self.nesting_loop(indent)
        elif form == 0:
            self.emit(indent, f"if {self.expr()}:")
            self.block(indent + 1, d, in_loop=in_loop, in_function=in_function)
            if self.chance(0.3):
                self.emit(indent, f"elif {self.expr()}:")
                self.block(indent + 1, d, in_loop=in_loop, in_function=in_function)
            if self.chance(0.4):
                self.emit(indent, "else:")
                self.block(indent + 1, d, in_loop=in_loop, in_function=in_function)
        elif form == 1:
            self.emit(indent, f"for {self.target()} in {self.iterable(0)}:")
            self.block(indent + 1, d, in_loop=True, in_function=in_function)
            if self.chance(0.2):
                self.emit(indent, "else:")
                self.block(indent + 1, d, in_loop=in_loop, in_function=in_function)
        elif form == 2:
            counter = self.name()
            self.emit(indent, f"{counter} = 0")
            self.emit(indent, f"while {counter} < {r.randint(0, 5)}:")
            self.emit(indent + 1, f"{counter} += 1")
            self.block(indent + 1, d, in_loop=True, in_function=in_function)
        elif form == 3:
            self.emit(indent, "try:")
            self.block(indent + 1, d, in_loop=in_loop, in_function=in_function)
            handlers = r.randint(0, 2)
            for i in range(handlers):
                what = self.pick(["Exception", "RuntimeError as e", "(TypeError, ValueError) as e",
                                  "IndexError", "ZeroDivisionError as e"])
                if i == handlers - 1 and self.chance(0.2):
                    what = ""  # a bare except, last
                self.emit(indent, f"except {what}:" if what else "except:")
                self.block(indent + 1, d, in_loop=in_loop, in_function=in_function)
            if handlers and self.chance(0.2):
                self.emit(indent, "else:")
                self.block(indent + 1, d, in_loop=in_loop, in_function=in_function)
            if not handlers or self.chance(0.3):
                self.emit(indent, "finally:")
                self.block(indent + 1, d, in_loop=in_loop, in_function=in_function)
        elif form == 4:
            manager = self.pick(["no_grad()", "enable_grad()", "set_grad_enabled(False)"])
            self.emit(indent, f"with torch.{manager}:")
            self.block(indent + 1, d, in_loop=in_loop, in_function=in_function)
        elif form == 5:
            self.function(indent, d)
        elif form == 6:
            self.custom_function(indent)
        elif form == 7:
            self.script_class(indent, d)
        elif form == 8:
            # layout: brackets over lines, a backslash continuation
            self.emit(indent, f"{self.name()} = [\n    {self.expr()},\n    {self.expr()},\n]")
            self.emit(indent, f"{self.name()} = {self.number()} + \\\n    {self.number()}")
        else:
            self.emit(indent, f"{self.name()} = {self.tensor()}")

    def nesting_loop(self, indent: int) -> None:
        """Data, iterators, graphs or closures nested many levels deep by a loop, then used: C code that
        recurses through nesting (hash, repr, ==, iteration) must meet a limit, not the end of the stack."""
        v = self.name()
        start = self.pick(["()", "[]", "{}", "[1]", "1", "torch.ones(2, requires_grad=True)", "'a'"])
        # (not `({v}, {v})`: sharing makes repr and == exponential inside one C call, which only the
        # CLI's watchdog can stop; tests/test_hardening.py covers that case)
        wrap = self.pick(["({v},)", "[{v}]", "{{1: {v}}}", "({v}, 1)", "map(abs, {v})", "zip({v})",
                          "enumerate({v})", "filter(None, {v})", "(lambda: {v})", "[{v}][0:1]",
                          "{v} * 1.0 + 1", "torch.exp({v})", "{v}.sum(0, keepdim=True)", "({v}, 1)[0:1]"])
        use = self.pick(["print(len(str({v})))", "d = {{{v}: 1}}", "print({v} in {{1: 2}})",
                         "print({v} == {v})", "print(list({v})[:1])", "print(sorted([{v}, {v}])[:0])",
                         "{v}.backward()",
                         "print({v} < {v})", "print(dict([({v}, 1)]))", "print(repr({v})[:10])",
                         "print({{1: 2}}.keys() & [{v}])", "print([{v}].count({v}))", "print({v}())",
                         "print(f'{{{v}!r:.5}}')", "print(max([{v}, {v}]) is {v})"])
        count = self.pick(["10", "1000", "30000", "100000", "200000"])
        self.emit(indent, f"{v} = {start}")
        self.emit(indent, f"for i in range({count}):")
        self.emit(indent + 1, f"{v} = " + wrap.format(v=v))
        self.emit(indent, use.format(v=v))

    def function(self, indent: int, depth: int) -> None:
        name = self.pick(["f", "g", "h", "step", "loss_fn"])
        params = [self.pick(["a", "b", "c", "x"]) + str(i) for i in range(self.r.randint(0, 3))]
        arity = len(params)
        if self.chance(0.3):
            params.append(f"k={self.number()}")
        if self.chance(0.2):
            params.append("*rest")
        if self.chance(0.1):
            params.append("**kw")
        if self.chance(0.1):
            self.emit(indent, "@staticmethod" if self.chance(0.5) else f"@{self.pick(['f', 'g'])}")
        self.emit(indent, f"def {name}({', '.join(params)}):")
        self.block(indent + 1, depth, in_function=True)
        self.emit(indent + 1, f"return {self.expr()}")
        self.functions.append((name, arity))

    def custom_function(self, indent: int) -> None:
        body = self.pick(["i.exp()", "i * i", "i.clamp(min=0)", "i + 1"])
        grad = self.pick(["g * r", "g * 2 * i", "g", "None", "(g, g)"])
        self.emit(indent, f"""class Op(torch.autograd.Function):
    @staticmethod
    def forward(ctx, i):
        r = {body}
        ctx.save_for_backward(i, r)
        ctx.note = {self.number()}
        return r

    @staticmethod
    def backward(ctx, g):
        i, r = ctx.saved_tensors
        return {grad}
{self.name()} = Op.apply({self.tensor()})""")

    def script_class(self, indent: int, depth: int) -> None:
        base = self.pick(["", "(Exception)"] + [f"({c})" for c in self.classes])
        name = self.pick(["P", "Q", "Layer", "Err"])
        self.emit(indent, f"class {name}{base}:")
        self.emit(indent + 1, f"scale = {self.number()}")
        self.emit(indent + 1, "def __init__(self, w):")
        self.emit(indent + 2, "self.w = w")
        method = self.pick(["__call__", "forward", "__repr__", "__len__", "__add__"])
        self.emit(indent + 1, f"def {method}(self, *a):")
        self.block(indent + 2, depth, in_function=True)
        self.emit(indent + 2, f"return {self.expr()}")
        self.emit(indent, f"{self.name()} = {name}({self.expr()})")
        self.classes.append(name)

    # ------------------------------------------------------------------ programs
    def program(self) -> str:
        self.lines = []
        self.functions = []
        self.classes = []
        self.emit(0, "import torch")
        if self.chance(0.8):
            self.emit(0, "import math")
        # Most names start bound, so that programs get past their first lines; most programs go on
        # after a failing statement, so that one program reaches many operations and error paths.
        for name in NAMES:
            if self.chance(0.8):
                value = self.tensor_factory(1) if self.chance(0.75) else self.plain(self.max_depth)
                self.emit(0, f"try:\n    {name} = {value}\nexcept Exception:\n    {name} = torch.ones(2, 2)")
        keep_going = self.chance(0.7)
        for _ in range(self.r.randint(3, 12)):
            if keep_going:
                self.emit(0, "try:")
                self.statement(1, 0)
                self.emit(0, "except Exception as e:\n    print('!', repr(e)[:60])")
            else:
                self.statement(0, 0)
        if self.chance(0.2):
            self.emit(0, 'if __name__ == "__main__":')
            self.block(1, 1)
        return "\n".join(self.lines) + "\n"


def programs(seed: int, count: int, **options):
    """`count` programs from `seed`: the same seed always gives the same programs."""
    gen = ProgramGenerator(random.Random(seed), **options)
    for _ in range(count):
        yield gen.program()
