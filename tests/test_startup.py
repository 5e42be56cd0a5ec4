"""What a CLI start loads: `gradcli eval --no-table` imports neither Lark (once the parser tables are
cached) nor the renderers, the REPL's toolkit or CuPy.  Assertions on modules, never on timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gradcli import parser as P

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "scalar_gradients.grad")
HEAVY = ("lark", "rich", "prompt_toolkit", "cupy")

# Runs the CLI in-process, then reports which of the heavy packages it imported.
DRIVER = f"""
import json, sys
from gradcli.cli import main
try:
    main(["eval", "--no-table", sys.argv[1]])
except SystemExit as e:
    if e.code:
        raise
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
print("\\n@@" + json.dumps(loaded))
"""


def _cli_modules(path: str, env: dict | None = None) -> list[str]:
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", DRIVER, path], check=True, env=env, capture_output=True, text=True
    ).stdout
    return json.loads(out.rsplit("\n@@", 1)[1])


def test_eval_no_table_imports_no_heavy_packages_once_the_tables_are_cached():
    P._tables()  # builds the cache if this checkout has none yet
    assert P._cache_file() is not None and os.path.exists(P._cache_file())
    assert _cli_modules(EXAMPLE) == []


def test_a_stale_cache_is_rebuilt_with_lark_then_used(tmp_path, monkeypatch):
    # A copy of the package whose cache directory is empty: the first run builds the tables (and
    # imports Lark), the second loads them.  Then a cache made for another grammar is replaced.
    import shutil

    pkg = tmp_path / "gradcli"
    shutil.copytree(
        os.path.join(ROOT, "gradcli"), pkg, ignore=shutil.ignore_patterns("_cache", "__pycache__")
    )
    shutil.copytree(os.path.join(ROOT, "grammars"), tmp_path / "grammars")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    code = (
        "import sys; from gradcli.parser import parse, _cache_file; parse('x = 1\\n'); "
        "print('lark' in sys.modules, _cache_file())"
    )

    def run():
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, env=env, cwd=tmp_path, capture_output=True, text=True
        )
        used_lark, path = out.stdout.split()
        return used_lark == "True", path

    used_lark, path = run()
    assert used_lark and path.startswith(str(pkg / "_cache"))
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert run() == (False, path)

    grammar = tmp_path / "grammars" / "gradscript.lark"
    grammar.write_text(grammar.read_text(encoding="utf-8") + "\n// changed\n", encoding="utf-8")
    assert run() == (True, path)
    assert run() == (False, path)


@pytest.mark.parametrize("junk", [b"", b"\x00garbage", b"\xe9" * 100])
def test_a_corrupt_cache_is_rebuilt(tmp_path, monkeypatch, junk):
    monkeypatch.setattr(P, "_cache_file", lambda: str(tmp_path / "tables.marshal"))
    (tmp_path / "tables.marshal").write_bytes(junk)
    data = P._load_tables()
    assert data["states"] and data["callbacks"]
    assert P._load_tables() == data  # now read back from the rewritten file
