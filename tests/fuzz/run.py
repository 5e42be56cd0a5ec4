"""The long fuzz run: `python -m tests.fuzz.run --minutes 30` (see README.md beside this file).

Engine `own` (the default) cycles through three sources, each seeded from --seed: generated valid
programs (parser must accept them; then a full run), mutated bytes of the shipped programs (parse, then
a full run), and mutated generated programs. Engine `atheris` hands the eval target to atheris
(libFuzzer, coverage guided) with the same seed corpus; it needs `pip install atheris`.

Every crash is printed once per distinct bug and its input saved under --save; the closing lines give
the figures: executions per target, distinct crashes, distinct suspects.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import random
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent


def _save(folder: pathlib.Path, crash) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / crash.file_name()
    path.write_bytes(crash.data)
    return path


def run_own(args) -> int:
    from . import generate, harness, mutate

    rng = random.Random(args.seed)
    gen = generate.ProgramGenerator(random.Random(rng.random()))
    seeds = mutate.seed_corpus() + [gen.program().encode() for _ in range(50)]
    mut = mutate.Mutator(random.Random(rng.random()), seeds)
    execs = collections.Counter()
    crashes: dict[str, object] = {}
    notes: list[str] | None = [] if args.suspects else None
    started = time.monotonic()
    deadline = started + args.minutes * 60
    last_report = started
    batch = 0

    def report(found):
        for crash in found:
            if crash.key not in crashes:
                crashes[crash.key] = crash
                print(f"\nCRASH {crash.key}\n  saved {_save(args.save, crash)}\n{crash}", flush=True)

    # Batches of 40 inputs run in a child process each (harness.isolated): a crash of the process itself
    # is found, pinned on its input, and the run goes on.
    while time.monotonic() < deadline and (not args.execs or sum(execs.values()) < args.execs):
        kind = batch % 3
        batch += 1
        if kind == 0:
            sources = [gen.program() for _ in range(40)]
            data = [s.encode() for s in sources]
            report(harness.isolated(lambda d: harness.check_valid(d.decode()), data, "parse"))
            execs["parse (generated)"] += len(data)
            label = "eval (generated)"
        else:
            data = [mut.mutate(gen.program().encode() if kind == 2 else None) for _ in range(40)]
            label = "eval (mutated)"
            if "parse" in args.target:
                report(harness.isolated(harness.check_parse, data, "parse"))
                execs["parse (mutated)"] += len(data)
        if "eval" in args.target:
            report(harness.isolated(harness.check_eval, data, "eval", notes))
            execs[label] += len(data)
        if time.monotonic() - last_report > 30:
            last_report = time.monotonic()
            print(f"  {sum(execs.values()):,} executions, {len(crashes)} crashes, "
                  f"{time.monotonic() - started:.0f} s", flush=True)

    seconds = time.monotonic() - started
    print(f"\nseed {args.seed}: {sum(execs.values()):,} executions in {seconds:.0f} s")
    for label, n in sorted(execs.items()):
        print(f"  {label:<20} {n:,}")
    print(f"distinct crashes: {len(crashes)}")
    for key in crashes:
        print(f"  {key}")
    if notes is not None:
        suspects = collections.Counter(notes)
        print(f"distinct suspects (script errors raised by accident in the engine): {len(suspects)}")
        for note, n in suspects.most_common():
            print(f"  {n:>5}  {note}")
    return 1 if crashes else 0


def run_atheris(args) -> int:
    try:
        import atheris
    except ImportError:
        print("atheris is not installed: pip install atheris (or use --engine own)", file=sys.stderr)
        return 2
    with atheris.instrument_imports(include=["gradcli"]):
        from . import generate, harness, mutate

    corpus = pathlib.Path(tempfile.mkdtemp(prefix="gradcli-fuzz-corpus-"))
    seeds = mutate.seed_corpus() + [p.encode() for p in generate.programs(args.seed, 100)]
    for i, data in enumerate(seeds):
        (corpus / f"seed-{i}.grad").write_bytes(data)
    # libFuzzer's dictionary format: one quoted token a line, bytes outside printable ASCII as \xNN
    tokens = ["".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\x{b:02x}" for b in token)
              for token in mutate.DICTIONARY]
    dictionary = corpus.parent / f"{corpus.name}.dict"
    dictionary.write_text("".join(f'"{t}"\n' for t in tokens))
    check = harness.check_eval if "eval" in args.target else harness.check_parse
    found: set[str] = set()

    def one_input(data: bytes) -> None:
        try:
            check(data)
        except harness.Crash as crash:
            if crash.key not in found:
                found.add(crash.key)
                print(f"\nCRASH {crash.key}\n  saved {_save(args.save, crash)}\n{crash}", flush=True)

    argv = [sys.argv[0], f"-max_total_time={int(args.minutes * 60)}", f"-seed={args.seed}",
            "-timeout=20", "-rss_limit_mb=4096", "-print_final_stats=1", f"-dict={dictionary}", str(corpus)]
    if args.execs:
        argv.insert(1, f"-runs={args.execs}")
    atheris.Setup(argv, one_input)
    atheris.Fuzz()  # exits the process when the time is up, after libFuzzer's own figures
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to run (default 5)")
    parser.add_argument("--execs", type=int, default=0, help="stop after this many executions instead")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000,
                        help="default: from the clock")
    parser.add_argument("--engine", choices=["own", "atheris"], default="own")
    parser.add_argument("--target", choices=["parse", "eval", "parse+eval"], default="parse+eval")
    parser.add_argument("--save", type=pathlib.Path, default=HERE / "crashes",
                        help="where crashing inputs go (default tests/fuzz/crashes/)")
    parser.add_argument("--suspects", action="store_true",
                        help="also list script errors the engine raised by accident (for the engine's owner)")
    args = parser.parse_args(argv)
    print(f"fuzzing gradcli: engine {args.engine}, target {args.target}, seed {args.seed}", flush=True)
    return run_atheris(args) if args.engine == "atheris" else run_own(args)


if __name__ == "__main__":
    sys.exit(main())
