"""Writes cupy_api.json: the API surface of a real CuPy, which the fake CuPy then refuses to go beyond.

    python tests/fakecupy/record_api.py        # needs `pip install cupy-cuda13x`; no GPU needed

Why: the fake runs numpy's arithmetic behind a CuPy-like array type, so on its own it would accept any numpy
function, ufunc method, ndarray method or keyword. Real CuPy does not: its `__array_function__` looks the
function up by the same module path in cupy and returns NotImplemented (numpy then raises TypeError) when
there is none; its `__array_ufunc__` does the same for ufuncs and their methods; its ndarray methods take
fewer keywords than numpy's. Recording what one CuPy release has, and making the fake obey it, lets the CPU
test run catch a gradcli change that leans on numpy beyond what CuPy offers.

What is recorded, from the installed cupy:
  * for each module gradcli can reach through numpy's dispatch (numpy, numpy.lib.stride_tricks,
    numpy.linalg): the callables cupy has there, each with its parameter names where they can be read;
  * every cupy ufunc with the ufunc methods it has (reduce, accumulate, at, outer, reduceat);
  * cupy.ndarray's attributes, each method with its parameter names, read from the signature line Cython
    embeds in its docstring.
"""

from __future__ import annotations

import inspect
import json
import pathlib
import re
import sys

OUT = pathlib.Path(__file__).resolve().parent / "cupy_api.json"
MODULES = ["", "lib.stride_tricks", "linalg"]
UFUNC_METHODS = ("reduce", "accumulate", "at", "outer", "reduceat")


def _params_from_doc(obj) -> list[str] | None:
    """Parameter names from a Cython docstring's first line, `name(self, a, b=None, *, c=1) -> ...`."""
    first = (getattr(obj, "__doc__", None) or "").strip().splitlines()[:1]
    match = re.match(r"[\w.]+\((.*)\)", first[0]) if first else None
    if not match:
        return None
    names = []
    for part in match.group(1).split(","):
        name = part.split("=")[0].strip()
        if name and name != "self":
            names.append(name)
    return names


def _params(obj) -> list[str] | None:
    """A callable's parameter names ('*args', '**kwargs' and '*' kept as markers), or None if unknown."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return _params_from_doc(obj)
    names = []
    for p in signature.parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.VAR_POSITIONAL:
            names.append("*" + p.name)
        elif p.kind is p.VAR_KEYWORD:
            names.append("**" + p.name)
        else:
            if p.kind is p.KEYWORD_ONLY and "*" not in names and not any(n.startswith("*") for n in names):
                names.append("*")
            names.append(p.name)
    return names


def record() -> dict:
    # Running this file puts its folder first on sys.path, where `import cupy` would find the fake.
    sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != OUT.parent]
    import cupy  # noqa: PLC0415 - only this script needs it

    if getattr(cupy, "FAKE", False):
        raise SystemExit("record_api.py needs the real CuPy (pip install cupy-cuda13x), not the fake")

    functions = {}
    ufuncs = {}
    for path in MODULES:
        module = cupy
        for part in filter(None, path.split(".")):
            module = getattr(module, part)
        table = functions[path] = {}
        for name in sorted(dir(module)):
            obj = getattr(module, name)
            if name.startswith("_") or isinstance(obj, type) or not callable(obj):
                continue
            if isinstance(obj, cupy.ufunc):
                if path == "":
                    ufuncs[name] = [m for m in UFUNC_METHODS if hasattr(obj, m)]
                continue
            table[name] = _params(obj)
    ndarray = {}
    for name in sorted(dir(cupy.ndarray)):
        if name.startswith("__") and name not in ("__getitem__", "__setitem__"):
            continue
        attr = getattr(cupy.ndarray, name)
        ndarray[name] = _params(attr) if callable(attr) and not isinstance(attr, property) else "attribute"
    return {"cupy": cupy.__version__, "functions": functions, "ufuncs": ufuncs, "ndarray": ndarray}


if __name__ == "__main__":
    api = record()
    OUT.write_text(json.dumps(api, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} from cupy {api['cupy']}: {sum(map(len, api['functions'].values()))} functions, "
          f"{len(api['ufuncs'])} ufuncs, {len(api['ndarray'])} ndarray attributes")
