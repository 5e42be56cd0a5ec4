"""Write gradcli/pytorch_names.json from the installed PyTorch: `python tests/make_pytorch_names.py`.

The file lists PyTorch's public names in the namespaces gradscript offers (torch, torch.nn,
torch.nn.functional, torch.autograd, and Tensor's attributes). gradcli reads it only when a script names
something it lacks, to say "not available in gradscript" for what is PyTorch's instead of claiming that
PyTorch has no such name. tests/test_interpreter.py checks that the file matches the PyTorch the tests run
with.
"""

from __future__ import annotations

import json
import pathlib
import types

TARGET = pathlib.Path(__file__).resolve().parent.parent / "gradcli" / "pytorch_names.json"


def pytorch_names(torch) -> dict:
    spaces = {"torch": torch, "torch.nn": torch.nn, "torch.nn.functional": torch.nn.functional,
              "torch.autograd": torch.autograd, "Tensor": torch.Tensor}
    def api(key, space, name):  # (a module only if it is its own: torch.optim, not torch.os or F.torch)
        value = getattr(space, name, None)
        return not name.startswith("_") and (
            not isinstance(value, types.ModuleType) or value.__name__ == f"{key}.{name}")

    names = {key: sorted(n for n in dir(space) if api(key, space, n)) for key, space in spaces.items()}
    # submodules torch imports only when first used (torch.onnx): listed whether or not one has been
    lazy = {n for n in getattr(torch, "_lazy_modules", ()) if not n.startswith("_")}
    names["torch"] = sorted(set(names["torch"]) | lazy)
    return {"pytorch": torch.__version__.split("+")[0], **names}


def render(torch) -> str:
    return json.dumps(pytorch_names(torch), indent=0, separators=(",", ":")) + "\n"


def main() -> int:
    import torch

    TARGET.write_text(render(torch))
    print(f"wrote {TARGET.relative_to(TARGET.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
