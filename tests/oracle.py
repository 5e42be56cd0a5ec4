"""Running a gradscript program under real Python + PyTorch, in this process, as the test oracle.

Every gradscript program is a Python program: the oracle executes it with `exec` (this is test code
running the *reference implementation*, never gradcli itself) and captures what it prints. Object
addresses differ from run to run and between the two implementations, so both sides are compared with
addresses masked.
"""

from __future__ import annotations

import contextlib
import io
import re

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


def mask_addresses(text: str) -> str:
    return _ADDRESS.sub(" at 0x…>", text)


def run_with_torch(torch, source: str, filename: str = "<program>"):
    """(printed output, exception or None) of `source` run by CPython with PyTorch."""
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)
    out = io.StringIO()
    error = None
    namespace = {"__name__": "__main__", "torch": torch}
    with contextlib.redirect_stdout(out):
        try:
            exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - the oracle runs real Python
        except Exception as exc:  # the program's own failure is part of what we compare
            error = exc
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)
    return out.getvalue(), error


def run_with_gradcli(source: str, filename: str = "<program>", **kwargs):
    """(printed output, RunResult) of `source` run by gradcli's session layer."""
    from gradcli.session import run

    out = io.StringIO()
    result = run(source, out=out, filename=filename, **kwargs)
    return out.getvalue(), result
