"""A mutation fuzzer of raw bytes, driven by one seeded `random.Random` (so a seed replays a run).

Seeds are real programs (examples/, tests/corpus/, generated ones); each input applies one to four
mutations: byte flips, inserts and deletes, copies of a chunk, splices of two seeds, and tokens from
a dictionary of things that have broken parsers and sandboxes before (dunders, huge numbers, deep
brackets, control and bidi characters, invalid UTF-8, stray indentation, f-string braces).
"""

from __future__ import annotations

import pathlib
import random

ROOT = pathlib.Path(__file__).resolve().parents[2]

DICTIONARY = [
    b"__class__", b"__name__", b"__import__", b"._x", b".__dict__", b"__builtins__", b"lambda: ", b"yield",
    b"(", b")", b"[", b"]", b"{", b"}", b"((((((((((", b"]]]]]", b"-" * 40, b"not " * 20, b"**", b"//",
    b"9**9**9", b"10**10**10", b"1 << 10**9", b"2**63", b"-1", b"0", b"1e309", b"9" * 400, b"0x", b"1_",
    b"\x00", b"\xff", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\r", b"\r\n", b"\t", b"\x0c", b"\\\n", b"\\",
    b"\x1b[31m", "\u202e".encode(), "\u2066".encode(), "\u00e9".encode(), "\u6ce8".encode(),
    b"\xf0\x9f\x98\x80",
    b"'", b'"', b"'''", b'"""', b"f'{", b"}'", b"{x!r}", b"{x:{y}}", b"%s", b"%*d", b"\n    ", b"\n  ",
    b"\n", b":", b";", b",", b".", b"=", b"+=", b"@", b"*", b"**kw", b"*a",
    b"torch.zeros(10**12)", b"torch.ones(-1)", b".backward()", b".grad", b".grad_fn", b".numpy()",
    b"torch.cat([x, x])", b"while True:\n    pass\n", b"def f():\n    return f()\n", b"import os\n",
    b"raise ", b"try:\n", b"except:\n", b"finally:\n", b"with torch.no_grad():\n", b"class A:\n",
    b"del ", b"global ", b"async ", b"await ", b"match x:\n", b":=", b"->", b"...", b"None", b"True",
]


def seed_corpus() -> list[bytes]:
    """The programs shipped with the repository, as bytes."""
    seeds = []
    for folder in ("examples", "tests/corpus"):
        for path in sorted((ROOT / folder).glob("*.grad")):
            seeds.append(path.read_bytes())
    return seeds


class Mutator:
    def __init__(self, rng: random.Random, seeds: list[bytes]):
        self.r = rng
        self.seeds = [s for s in seeds if s] or [b"x = 1\n"]

    def _position(self, data: bytes) -> int:
        if data and self.r.random() < 0.5:
            # near a line start or a bracket, where mutations change structure most
            marks = [i for i, b in enumerate(data[:4000]) if b in b"\n([{:"]
            if marks:
                return min(len(data), self.r.choice(marks) + 1)
        return self.r.randint(0, len(data))

    def mutate_once(self, data: bytes) -> bytes:
        r = self.r
        kind = r.randint(0, 9)
        n = len(data)
        if kind == 0 and n:  # flip a bit
            i = r.randrange(n)
            return data[:i] + bytes([data[i] ^ (1 << r.randrange(8))]) + data[i + 1:]
        if kind == 1 and n:  # replace a byte
            i = r.randrange(n)
            return data[:i] + bytes([r.randrange(256)]) + data[i + 1:]
        if kind == 2 and n:  # delete a chunk
            i = r.randrange(n)
            return data[:i] + data[i + r.randint(1, min(64, n - i)):]
        if kind == 3 and n:  # copy a chunk elsewhere
            i = r.randrange(n)
            chunk = data[i:i + r.randint(1, 64)]
            j = self._position(data)
            return data[:j] + chunk * r.choice([1, 1, 2, 8]) + data[j:]
        if kind == 4:  # splice with another seed
            other = r.choice(self.seeds)
            i, j = r.randint(0, n), r.randint(0, len(other))
            return data[:i] + other[j:]
        if kind == 5 and n:  # truncate
            return data[:r.randrange(n)]
        if kind == 6 and n:  # swap two lines
            lines = data.split(b"\n")
            if len(lines) > 1:
                a, b = r.randrange(len(lines)), r.randrange(len(lines))
                lines[a], lines[b] = lines[b], lines[a]
                return b"\n".join(lines)
        if kind == 7 and n:  # re-indent a line
            lines = data.split(b"\n")
            k = r.randrange(len(lines))
            lines[k] = b" " * r.choice([0, 1, 2, 4, 8]) + lines[k].lstrip(b" ")
            return b"\n".join(lines)
        token = r.choice(DICTIONARY)  # insert or overwrite with a dictionary token
        i = self._position(data)
        if r.random() < 0.3:
            return data[:i] + token + data[i + len(token):]
        return data[:i] + token + data[i:]

    def mutate(self, data: bytes | None = None) -> bytes:
        data = self.r.choice(self.seeds) if data is None else data
        for _ in range(self.r.randint(1, 4)):
            data = self.mutate_once(data)
        return data[:100_000]


def mutants(seed: int, count: int, seeds: list[bytes] | None = None):
    """`count` inputs from `seed`: the same seed and seeds always give the same inputs."""
    m = Mutator(random.Random(seed), seed_corpus() if seeds is None else seeds)
    for _ in range(count):
        yield m.mutate()
