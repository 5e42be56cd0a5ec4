"""Write each example's expected output, as PyTorch prints it: `python tests/make_golden.py`.

The `.out` file next to `examples/NAME.grad` is what `python examples/NAME.grad` prints with PyTorch 2.13,
object addresses masked. tests/test_examples.py checks gradcli against these files (and, when torch is
installed, that they are still what torch prints).
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from oracle import mask_addresses, run_with_torch  # noqa: E402

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def main() -> int:
    import torch

    torch.set_num_threads(1)
    for path in sorted(EXAMPLES.glob("*.grad")):
        out, error = run_with_torch(torch, path.read_text(), str(path))
        if error is not None:
            print(f"{path.name}: PyTorch raised {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        path.with_suffix(".out").write_text(mask_addresses(out))
        print(f"wrote {path.with_suffix('.out').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
