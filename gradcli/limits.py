"""Resource limits for running untrusted gradscript programs.

One object carries them all; the parser reads the size and depth limits, the interpreter the step, time,
call-depth and integer limits, and the engine the tensor-size limits (through `active`). Each has a CLI flag.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .errors import LimitError


@dataclass(frozen=True)
class Limits:
    max_source_bytes: int = 1_000_000  # checked before lexing
    max_depth: int = 200  # nesting of expressions and blocks, checked while parsing
    max_steps: int = 50_000_000  # loop iterations + function calls
    max_seconds: float = 60.0  # wall-clock time of one run (0 = no limit)
    max_call_depth: int = 200  # script function calls inside each other
    max_int_bits: int = 4096 * 4  # result size of int arithmetic (about 4,900 digits)
    max_sequence: int = 10_000_000  # elements of a str/list/tuple made by * or +
    max_elements: int = 100_000_000  # elements of one tensor
    max_bytes: int = 4 * 1024**3  # bytes of one tensor

    def with_(self, **changes) -> Limits:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


DEFAULT = Limits()

# The limits in force for the engine's allocations; the interpreter sets this for the run it makes.
active: Limits = DEFAULT


def check_tensor_size(numel: int, itemsize: int) -> None:
    """Refuse a tensor too large to allocate, before numpy tries (it allocates lazily and may not fail)."""
    if numel > active.max_elements:
        raise LimitError(
            f"a tensor of {numel:,} elements is over the limit of {active.max_elements:,} (--max-elements)"
        )
    if numel * itemsize > active.max_bytes:
        raise LimitError(
            f"a tensor of {numel * itemsize:,} bytes is over the limit of {active.max_bytes:,} bytes (--max-bytes)"
        )
