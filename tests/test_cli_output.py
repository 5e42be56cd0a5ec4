"""What `gradcli eval` and `gradcli graph` print, through click's CliRunner: the table after the program's
output, --no-table, --format json, --vars, --graph, colour, failures, every option, and help for all."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib import resources

import click
import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

from gradcli import __version__
from gradcli.cli import main

# A fixed, colourless, 80-column world whatever the terminal running the tests is like.
ENV = {"COLUMNS": "80", "LINES": "40", "NO_COLOR": None, "FORCE_COLOR": None, "TTY_COMPATIBLE": None,
       "GRADCLI_DEVICE": None}

SEED = """\
import torch
w = torch.tensor([1.], requires_grad=True)
x = torch.tensor([2.], requires_grad=True)
a = torch.add(w, x)
b = torch.add(w, 1)
y = torch.mul(a, b)
print(x.grad_fn)
y.backward()
print(w.grad)
"""

SEED_TABLE = """\
                             requires  is
name  value  shape  dtype    grad      leaf   grad_fn       grad
────────────────────────────────────────────────────────────────
w     [1.]   [1]    float32  True      True   —             [5.]
x     [2.]   [1]    float32  True      True   —             [2.]
a     [3.]   [1]    float32  True      False  AddBackward0  None
b     [2.]   [1]    float32  True      False  AddBackward0  None
y     [6.]   [1]    float32  True      False  MulBackward0  None
"""

SEED_TREE = """\
MulBackward0  y  [1]
├── AddBackward0  a  [1]
│   ├── AccumulateGrad  w  #1  [1]  value [1.]  grad [5.]
│   └── AccumulateGrad  x  [1]  value [2.]  grad [2.]
└── AddBackward0  b  [1]
    └── ↑ AccumulateGrad  w  #1  (drawn above)
"""

FAILS = """\
import torch
x = torch.tensor([1., 2.], requires_grad=True)
n = 3
y = (x * x).sum()
print("before")
z = y + undefined_name
"""

SCHEMA = json.loads(resources.files("gradcli").joinpath("schema.json").read_text())


@pytest.fixture
def program(tmp_path):
    def write(source: str, name: str = "prog.grad") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return str(path)

    return write


def invoke(*args, input=None, env=None):
    runner = CliRunner()
    return runner.invoke(main, list(args), input=input, env={**ENV, **(env or {})}, catch_exceptions=False)


# ------------------------------------------------------------------ the table
def test_eval_prints_the_output_then_the_table(program):
    result = invoke("eval", program(SEED))
    assert result.exit_code == 0
    assert result.stdout == "None\ntensor([5.])\n" + SEED_TABLE
    assert result.stderr == ""


def test_no_table_prints_only_the_programs_output(program):
    result = invoke("eval", program(SEED), "--no-table")
    assert result.exit_code == 0
    assert result.stdout == "None\ntensor([5.])\n"


def test_vars_limits_the_rows(program):
    result = invoke("eval", program(SEED), "--vars", "y, w")
    rows = [line.split()[0] for line in result.stdout.splitlines()[5:]]
    assert rows == ["y", "w"]


def test_vars_names_what_it_cannot_show(program):
    result = invoke("eval", program(SEED + "n = 2\n"), "--vars", "w,n,zz")
    assert result.stdout.rstrip().splitlines()[-1] == "n: a int, not a tensor; zz: not defined"


def test_failed_script_shows_its_error_then_the_table_of_what_existed(program):
    result = invoke("eval", program(FAILS))
    assert result.exit_code == 1
    assert result.stdout.startswith("before\n")
    assert [line.split()[0] for line in result.stdout.splitlines()[4:]] == ["x", "y"]
    assert result.stderr.startswith("NameError: name 'undefined_name' is not defined\n")
    # What a user sees: the output, the error, then the table.
    seen = result.output
    assert seen.index("before") < seen.index("NameError") < seen.index("requires")


def test_program_on_standard_input():
    for args in (["eval", "-"], ["eval"], []):
        result = invoke(*args, input=SEED)
        assert result.exit_code == 0, args
        assert result.stdout == "None\ntensor([5.])\n" + SEED_TABLE


def test_no_tensors_no_table(program):
    result = invoke("eval", program("print(1 + 1)\nn = [1, 2]\n"))
    assert result.stdout == "2\n"


def test_default_dtype_shows_in_the_table(program):
    result = invoke("eval", program("import torch\nt = torch.tensor([1.5])\n"), "--dtype", "float64")
    assert "float64" in result.stdout.splitlines()[-1]


# ------------------------------------------------------------------ colour
@pytest.mark.parametrize(
    ("args", "env", "coloured"),
    [
        ([], {}, False),  # CliRunner's stdout is not a terminal
        (["--color"], {}, True),
        (["--no-color"], {}, False),
        ([], {"NO_COLOR": "1"}, False),
        (["--color"], {"NO_COLOR": "1"}, True),  # the flag wins
        ([], {"FORCE_COLOR": "1"}, True),
        (["--no-color"], {"FORCE_COLOR": "1"}, False),
    ],
)
def test_colour_options(program, args, env, coloured):
    result = invoke("eval", program(SEED), "--graph", "y", *args, env=env)
    assert ("\x1b[" in result.stdout) is coloured
    if not coloured:
        assert result.stdout == "None\ntensor([5.])\n" + SEED_TABLE + "\n" + SEED_TREE


def test_rich_is_not_imported_for_no_table_or_json(program):
    path = program(SEED)
    for flags in (["--no-table"], ["--format", "json"]):
        code = textwrap.dedent(f"""
            import sys
            from gradcli.cli import main
            try:
                main({["eval", path, *flags]!r})
            except SystemExit as exc:
                assert exc.code == 0, exc.code
            loaded = sorted(m for m in sys.modules if m == "rich" or m.startswith("rich."))
            assert not loaded, loaded
        """)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------ --graph
def test_graph_option_draws_the_tree_after_the_table(program):
    result = invoke("eval", program(SEED), "--graph", "y")
    assert result.exit_code == 0
    assert result.stdout == "None\ntensor([5.])\n" + SEED_TABLE + "\n" + SEED_TREE


def test_graph_option_with_no_table(program):
    result = invoke("eval", program(SEED), "--graph", "a", "--no-table")
    assert result.stdout == textwrap.dedent("""\
        None
        tensor([5.])

        AddBackward0  a  [1]
        ├── AccumulateGrad  w  [1]  value [1.]  grad [5.]
        └── AccumulateGrad  x  [1]  value [2.]  grad [2.]
        """)


def test_graph_option_of_a_name_without_a_graph(program):
    result = invoke("eval", program(SEED + "n = 1\n"), "--graph", "n")
    assert result.stdout.endswith(SEED_TABLE)
    assert result.stderr == "Error: 'n' is a int, not a tensor, so it has no backward graph\n"


# ------------------------------------------------------------------ --format json
def test_json_document(program):
    result = invoke("eval", program(SEED), "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["gradcli_version"] == __version__
    assert doc["output"] == "None\ntensor([5.])\n"
    assert doc["error"] is None
    assert list(doc["variables"]) == ["w", "x", "a", "b", "y"]
    assert doc["variables"]["w"]["grad"] == [5.0]
    assert doc["variables"]["x"]["grad"] == [2.0]
    assert doc["variables"]["a"] == {"value": [3.0], "shape": [1], "dtype": "float32", "requires_grad": True,
                                     "is_leaf": False, "grad_fn": "AddBackward0", "grad": None}


def test_json_of_a_failed_script(program):
    result = invoke("eval", program(FAILS), "--format", "json")
    assert result.exit_code == 1
    assert result.stderr == ""  # the error is in the document
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["output"] == "before\n"
    assert doc["error"] == {"type": "NameError", "message": "name 'undefined_name' is not defined", "line": 6,
                            "column": 9}
    assert list(doc["variables"]) == ["x", "y"]
    assert doc["variables"]["y"]["value"] == 5.0


def test_json_of_a_syntax_error(program):
    result = invoke("eval", program("x = (1,\n"), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["error"]["type"] == "SyntaxError" and doc["variables"] == {}


def test_json_vars(program):
    doc = json.loads(invoke("eval", program(SEED), "--format", "json", "--vars", "y,x").stdout)
    assert list(doc["variables"]) == ["y", "x"]


LITERALS = [0.1, 1 / 3, 3.4e38, 1e-45, -0.0, 16777217.0, 2.718281828459045, 1e-8]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_json_float32_values_read_back_to_the_same_float32(program):
    source = (f"import torch\nt = torch.tensor({LITERALS!r})\nu = t / 3\n"
              "bad = torch.log(torch.tensor([0., -1.]))\n")
    doc = json.loads(invoke("eval", program(source), "--format", "json").stdout)
    expected = np.array(LITERALS, dtype=np.float32)
    for name, want in (("t", expected), ("u", expected / np.float32(3))):
        got = np.array(doc["variables"][name]["value"], dtype=np.float32)
        assert (got.view(np.uint32) == want.view(np.uint32)).all(), name
    assert doc["variables"]["bad"]["value"] == ["-inf", "nan"]


@pytest.mark.oracle
def test_json_values_match_pytorch(program, torch):
    values = [0.1, 1 / 3, 1e-45, -0.0, 2.718281828459045, 1e-8, -3.5]
    source = f"import torch\nt = torch.tensor({values!r}, requires_grad=True)\n(t.exp() * t).sum().backward()"
    doc = json.loads(invoke("eval", program(source), "--format", "json").stdout)
    t = torch.tensor(values, requires_grad=True)
    (t.exp() * t).sum().backward()
    assert doc["variables"]["t"]["value"] == t.tolist()
    got = np.array(doc["variables"]["t"]["grad"], dtype=np.float32)
    assert np.allclose(got, t.grad.numpy(), rtol=1e-6)


# ------------------------------------------------------------------ gradcli graph
def test_graph_command_text(program):
    result = invoke("graph", program(SEED), "y")
    assert result.exit_code == 0
    assert result.stdout == SEED_TREE  # the program's own output is not shown


@pytest.mark.parametrize(("fmt", "first_line"), [("dot", 'digraph "y" {'), ("mermaid", "flowchart TB")])
def test_graph_command_exports(program, fmt, first_line):
    result = invoke("graph", program(SEED), "y", "--format", fmt)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == first_line
    assert result.stdout.count("AccumulateGrad") == 2


def test_graph_command_unknown_name(program):
    result = invoke("graph", program(SEED), "nope")
    assert result.exit_code == 1
    assert result.stderr == "Error: no variable named 'nope' (tensor variables: w, x, a, b, y)\n"


def test_graph_command_of_a_failed_script(program):
    result = invoke("graph", program(FAILS), "y", "--format", "dot")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("NameError")


# ------------------------------------------------------------------ the limit options
LOOP = "import torch\nx = torch.ones(2)\ni = 0\nwhile True:\n    i += 1\n"


DEEP = "import torch\nx = torch.ones(2)\ny = " + "(" * 40 + "1" + ")" * 40 + "\n"


@pytest.mark.parametrize(
    ("source", "args", "rows"),
    [
        (LOOP, ["--max-steps", "100"], ["x"]),
        (LOOP, ["--timeout", "0.2"], ["x"]),
        ("import torch\nx = torch.ones(2)\ny = torch.zeros(100)\n", ["--max-elements", "10"], ["x"]),
        (DEEP, ["--max-depth", "10"], []),  # refused while parsing: nothing ran
    ],
)
def test_limit_options_stop_the_script_and_the_table_shows_what_existed(program, source, args, rows):
    result = invoke("eval", program(source), *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("LimitError")
    assert [line.split()[0] for line in result.stdout.splitlines()[3:]] == rows


def test_max_source_bytes(program):
    result = invoke("eval", program(SEED), "--max-source-bytes", "10")
    assert result.exit_code == 1
    assert "--max-source-bytes" in result.stderr
    assert result.stdout == ""


def test_device_cuda_without_a_gpu_is_a_usage_error(program):
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy is installed here")
    except ImportError:
        pass
    result = invoke("eval", program(SEED), "--device", "cuda")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: CuPy is not installed")


def test_debug_runs_the_same(program):
    result = invoke("eval", program(SEED), "--debug")
    assert result.exit_code == 0
    assert result.stdout == "None\ntensor([5.])\n" + SEED_TABLE


def test_version():
    assert invoke("--version").stdout == f"gradcli, version {__version__}\n"


# ------------------------------------------------------------------ help
def _commands():
    yield "gradcli", main
    yield from main.commands.items()


@pytest.mark.parametrize(("name", "command"), list(_commands()))
def test_every_command_and_option_has_help(name, command):
    assert command.help and command.help.strip(), name
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help and param.help.strip(), f"{name} {param.opts[0]}"
    args = [] if command is main else [name]
    result = invoke(*args, "--help")
    assert result.exit_code == 0
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.opts[0] in result.stdout, f"{name} {param.opts[0]}"


# ------------------------------------------------------------------ the console entry
@pytest.mark.parametrize(("source", "code", "stdout", "stderr_has"), [
    ("print('a')\nprint('b' * 70000)\n", 0, "a\n" + "b" * 70000 + "\n", ""),
    ("print('before')\nx = 1 / 0\n", 1, "before\n", "ZeroDivisionError: division by zero"),
    ("x = (\n", 1, "", "SyntaxError"),
])
def test_the_console_entry_ends_the_process_with_everything_written(program, source, code, stdout,
                                                                     stderr_has):
    """`gradcli` (cli.entry) ends with os._exit once the command is done: the exit code and every byte of
    output, a large last write included, must be there all the same."""
    path = program(source)
    entry = [sys.executable, "-c", "from gradcli.cli import entry; entry()"]
    done = subprocess.run([*entry, "eval", "--no-table", path], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (code, stdout)
    assert stderr_has in done.stderr


def test_the_console_entry_passes_on_click_s_exit_codes():
    for args, code in ((["--version"], 0), (["--bogus"], 2), (["eval", "/no/such/file.grad"], 1)):
        done = subprocess.run([sys.executable, "-c", "from gradcli.cli import entry; entry()", *args],
                              capture_output=True, text=True)
        assert done.returncode == code, (args, done.stderr)
