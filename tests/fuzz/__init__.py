"""Fuzzing gradcli: generated valid programs and mutated raw bytes, aimed at the parser and at the whole
eval path. `tests/test_fuzz.py` runs a short, seeded budget in the suite; `python -m tests.fuzz.run`
runs a long one (see README.md here)."""
