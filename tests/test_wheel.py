"""The built wheel carries the grammar and runs on its own: built here, installed into a fresh venv."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import sysconfig
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    (path,) = out.glob("gradcli-*.whl")
    return path


def test_wheel_contains_the_grammar_inside_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "gradcli/grammars/gradscript.lark" in names
    assert "gradcli/cli.py" in names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_runs(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    bindir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    python = bindir / "python"
    # The dependencies (numpy, lark, click, rich, ...) come from this environment; gradcli itself only from
    # the wheel, installed with this environment's pip into the new venv.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (pathlib.Path(site) / "deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--ignore-installed",
            "--prefix",
            str(venv),
            str(wheel),
        ],
        check=True,
    )
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import gradcli, pathlib; p = pathlib.Path(gradcli.__file__).parent; "
            "print(p); print((p / 'grammars' / 'gradscript.lark').is_file())",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout.split()
    assert str(ROOT) not in probe[0], "gradcli was imported from the source tree, not the wheel"
    assert probe[1] == "True"
    example = ROOT / "examples" / "scalar_gradients.grad"
    run = subprocess.run(
        [str(bindir / "gradcli"), "eval", "--no-table", str(example)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "tensor([5.])"
