"""Resource limits for running untrusted gradscript programs.

One object carries them all; the parser reads the size and depth limits, the interpreter the step, time,
call-depth and integer limits, and the engine the tensor-size limits (through `active`). Each has a CLI flag.
"""

from __future__ import annotations

import contextlib
import sys
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
    # Memory the whole run may add to what gradcli itself has mapped (0 = no limit). Only the CLI
    # enforces it, with an address-space limit on its own process (`address_space_limit`); the
    # interpreter turns the MemoryError that follows into a LimitError.
    max_memory: int = 4 * 1024**3

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
            f"a tensor of {numel * itemsize:,} bytes is over the limit of {active.max_bytes:,} bytes "
            "(--max-tensor-bytes)"
        )


def sequence_limit_error(n: int) -> LimitError:
    """The --max-sequence error for a str, list, tuple or row count of `n` elements."""
    limit = active.max_sequence
    return LimitError(f"a sequence of {n:,} elements is over the limit of {limit:,} (--max-sequence)")


def check_sequence(n: int) -> None:
    """Refuse to build `n` Python objects at once (iterating, unbinding or listing a tensor), as the
    interpreter refuses a long sequence: a zero-element tensor can have a first dimension of 10**12 and
    costs nothing until it is turned into that many rows."""
    if n > active.max_sequence:
        raise sequence_limit_error(n)


def memory_error(exc: MemoryError, limits: Limits | None = None) -> LimitError:
    """A MemoryError met while a script ran, as the LimitError that reports it."""
    budget = (limits or active).max_memory
    limit = f"the limit of {format_bytes(budget)} " if budget else "the memory available "
    try:
        detail = str(exc)
    except Exception:
        detail = ""
    message = f"the program needs more memory than {limit}(--max-memory)"
    err = LimitError(f"{message}: {detail}" if detail else message)
    err.__cause__ = exc
    return err


_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_bytes(text: str) -> int:
    """'4G', '512M', '1.5G', '100000' (bytes) -> bytes; K, M, G, T are powers of 1024, 'iB'/'B' optional."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in _UNITS else ""
    number = t[: len(t) - len(unit)].strip()
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"{text!r} is not a size (examples: 4G, 512M, 0)") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{text!r} is not a size (examples: 4G, 512M, 0)")
    return int(value * _UNITS[unit])


def format_bytes(n: int) -> str:
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        size = _UNITS[unit[0]]
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:,} bytes"


def _mapped_bytes() -> int | None:
    """The address space this process has mapped now (Linux), or None where it cannot be told."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            pages = int(fh.read().split()[0])
        import resource

        return pages * resource.getpagesize()
    except (OSError, ValueError, IndexError, ImportError):
        return None


@contextlib.contextmanager
def address_space_limit(budget: int):
    """Cap this process's address space at what it maps now plus `budget` bytes, for the `with` block.

    numpy asks the kernel for memory lazily (calloc -> mmap), so a huge tensor or a loop that keeps
    allocating is not refused by malloc, and the kernel's OOM killer ends the process later; under
    RLIMIT_AS the mapping itself fails and Python raises MemoryError at once, which the interpreter
    turns into a LimitError. Only the soft limit moves, so it is put back afterwards. Linux only (other
    systems do not enforce RLIMIT_AS reliably): elsewhere, and with budget 0, nothing is capped.
    Never use it around CUDA, which maps far more address space than it uses.
    """
    base = _mapped_bytes() if budget > 0 and sys.platform.startswith("linux") else None
    if base is None:
        yield False
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = base + budget
    for existing in (soft, hard):
        if existing != resource.RLIM_INFINITY:
            cap = min(cap, existing)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError):
        yield False
        return
    try:
        yield True
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
