"""The REPL in a real pseudo-terminal (pexpect): the prompt appears, Ctrl-C cancels the input at the prompt
and interrupts a running loop (as SIGINT, the terminal being in cooked mode then) without leaving, Ctrl-D
leaves.

prompt_toolkit draws `>>>` and then moves the cursor rather than writing the space, so the tests look for
`>>>`; since the prompt is redrawn at each key, they wait for a command's output before its next prompt,
and the output they wait for never appears in the input typed (the terminal shows that too).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

pexpect = pytest.importorskip("pexpect")

TIMEOUT = 60  # generous: the machines running the tests are slow and shared


@pytest.fixture
def spawn(tmp_path):
    children = []
    transcript = io.StringIO()

    def start(*args):
        env = dict(
            os.environ,
            GRADCLI_HISTORY=str(tmp_path / "history"),
            PROMPT_TOOLKIT_NO_CPR="1",  # nobody answers the cursor-position request here
            TERM="xterm",
            NO_COLOR="1",
        )
        child = pexpect.spawn(sys.executable, ["-m", "gradcli.cli", *args], env=env, encoding="utf-8",
                              timeout=TIMEOUT, dimensions=(24, 100))
        child.logfile_read = transcript  # shown when a test fails
        children.append(child)
        child.expect_exact(">>>")
        return child

    yield start
    print("what the terminal showed:", repr(transcript.getvalue()))
    for child in children:
        if child.isalive():
            child.terminate(force=True)


def leave(child) -> int:
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_the_prompt_appears_and_an_expression_echoes(spawn, tmp_path):
    child = spawn("repl")
    child.send("x = torch.ones(2, requires_grad=True)\r")
    child.send("(x * 3).sum()\r")
    child.expect_exact("tensor(6., grad_fn=<SumBackward0>)")
    child.expect_exact(">>>")
    assert leave(child) == 0
    assert "+x = torch.ones(2, requires_grad=True)" in (tmp_path / "history").read_text()


def test_expressions_in_a_loop_echo_each_value(spawn):
    child = spawn("repl", "--no-color")
    child.send("for i in range(3): i * 7 + 3 * 100\r")  # the values shown are not in the input
    child.send("\r")
    for value in ("300", "307", "314"):
        child.expect_exact(value)
    child.expect_exact(">>>")
    assert leave(child) == 0


def test_bare_gradcli_at_a_terminal_opens_the_repl(spawn):
    child = spawn()
    child.send(":quit\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_c_cancels_the_input_at_the_prompt(spawn):
    child = spawn("repl")
    child.send("y = (1,\r")
    child.expect_exact("...")
    child.sendintr()
    child.expect_exact("KeyboardInterrupt")
    child.expect_exact(">>>")
    child.send("y = 5\r")
    child.send("y * 10\r")
    child.expect_exact("50")
    child.expect_exact(">>>")
    assert leave(child) == 0


def test_ctrl_c_interrupts_a_running_loop_and_the_state_survives(spawn):
    child = spawn("repl")
    child.send("n = 0\r")
    # The 1000th pass prints, so the test knows the loop is running before it presses Ctrl-C (the text
    # printed is not in the input, which the terminal shows too).
    # (An `if`, not `n == 1000 and print(...)`: that expression statement would show False at each pass,
    # as in Python's REPL.)
    child.send("while True:\r")
    child.send("n = n + 1\r")  # auto-indented
    child.send("if n == 1000: print('loop' + 'ing')\r")
    child.send("\r")  # the blank line that ends the block
    child.expect_exact("looping")
    child.sendintr()
    child.expect_exact("KeyboardInterrupt")
    child.expect_exact(">>>")
    child.send("n >= 1000\r")
    child.expect_exact("True")
    child.expect_exact(">>>")
    assert leave(child) == 0


def test_gradcli_eval_never_loads_prompt_toolkit():
    code = ("import sys, gradcli.repl, gradcli.cli; "
            "print(sorted(m for m in ('prompt_toolkit', 'pygments') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.stdout == "[]\n", result.stderr
