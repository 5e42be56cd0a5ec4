"""Fuzzing in the suite (issue 6): a short budget with fixed seeds, so a failure replays exactly.

Generated valid programs (tests/fuzz/generate.py) and mutated raw bytes (tests/fuzz/mutate.py) go through
the parser and the whole eval path (tests/fuzz/harness.py has the pass bar: nothing but gradcli's own
errors, no hang, no raw control character in a message). Inputs that once broke it live in
tests/fuzz/regressions/ and are replayed first. `python -m tests.fuzz.run --minutes 30` runs the long
version; tests/test_random_programs.py compares generated programs with PyTorch (the differential part).
About 40 s in all.
"""

from __future__ import annotations

import ast
import os
import pathlib
import signal

import pytest
from fuzz import generate, harness, mutate

REGRESSIONS = sorted((pathlib.Path(__file__).parent / "fuzz" / "regressions").glob("*.grad"))
SEEDS = [11, 23, 37, 41]
GENERATED = 100  # programs per seed
MUTANTS = 2500  # inputs per seed


def _all(check, inputs, target="eval"):
    """Run every input in a child process (a crash of the process must not take pytest with it); fail
    with all the distinct crashes, not only the first."""
    crashes = {}
    for crash in harness.isolated(check, list(inputs), target):
        crashes.setdefault(crash.key, crash)
    assert not crashes, "\n\n".join(str(c) for c in crashes.values())


def test_saved_crashes_stay_fixed():
    assert REGRESSIONS, "tests/fuzz/regressions/ holds the inputs that once broke gradcli"
    inputs = [p.read_bytes() for p in REGRESSIONS]
    _all(harness.check_parse, inputs, "parse")
    _all(harness.check_eval, inputs)


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_programs_are_valid_and_accepted(seed):
    for source in generate.programs(seed, GENERATED):
        ast.parse(source)  # the generator's own promise: valid Python
        harness.check_valid(source)  # so gradcli's parser must take it


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_programs_run_without_crashing(seed):
    _all(lambda source: harness.check_eval(source.encode()), generate.programs(seed, GENERATED))


@pytest.mark.parametrize("seed", SEEDS)
def test_mutated_bytes_parse_cleanly(seed):
    _all(harness.check_parse, mutate.mutants(seed, MUTANTS), "parse")


@pytest.mark.parametrize("seed", SEEDS)
def test_mutated_bytes_run_cleanly(seed):
    _all(harness.check_eval, mutate.mutants(seed, MUTANTS))


def test_mutated_programs_run_cleanly():
    seeds = [p.encode() for p in generate.programs(5, 40)]
    _all(harness.check_eval, mutate.mutants(5, 600, seeds))


def test_the_harness_catches_what_it_should(monkeypatch):
    assert harness.check_eval(b"print(1)\n") is None
    assert harness.check_eval(b"1/0\n").kind == "ZeroDivisionError"
    with pytest.raises(harness.Crash, match="a valid program was refused"):
        harness.check_valid("x = __class__\n")

    def boom(*args, **kwargs):
        raise IndexError("boom")

    monkeypatch.setattr(harness, "parse", boom)
    with pytest.raises(harness.Crash, match="IndexError: boom"):
        harness.check_parse(b"x = 1\n")
    # a child process that dies is a crash too, pinned on the input that killed it
    crashes = harness.isolated(lambda data: os.kill(os.getpid(), signal.SIGSEGV) if data == b"die" else None,
                               [b"ok", b"die", b"ok too"], "eval")
    assert [(c.what, c.data) for c in crashes] == [("the process running it: killed by SIGSEGV", b"die")]
