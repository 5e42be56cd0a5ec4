"""Every program of the differential corpus (tests/corpus) on the GPU, end to end: what the op table's GPU
tests don't reach (printing, indexing, in-place ops, hooks, custom Functions, errors) run on CuPy.

    python benchmarks/gpu_corpus.py [--device cuda|sim-cuda] [--show 30] [--json out.json]

Each program runs in this process under gradcli with --device cuda, and is compared with
  * PyTorch on CUDA (`torch.set_default_device("cuda")`, in worker processes: see torch_worker), where a
    CUDA build of PyTorch is here: the reference for what a GPU program prints;
  * gradcli on the CPU, which the corpus tests check against PyTorch byte for byte, with what PyTorch
    prints differently for a CUDA tensor (`, device='cuda:0'`, `device(type='cuda', index=0)`, `cuda:0`,
    `torch.cuda.FloatTensor`) taken out.
Object addresses are masked and each run of white space is made one space (a longer repr wraps its lines
elsewhere). Against each reference a program is
  same       when the texts are then equal, error included;
  close      when they differ only in numbers, each within 1e-4 relative or 1e-6 absolute (4e-3 for a
             program that uses float16 or bfloat16): arithmetic in another order (cuBLAS, CuPy's
             reductions), as PyTorch's own CPU and CUDA results differ;
  DIFFERENT  otherwise: another error, a missing line, another value. Listed with where they part.
Known to differ from PyTorch CUDA: random draws (gradcli draws a GPU tensor's numbers on the host, from
PyTorch's CPU stream, so they match PyTorch on the CPU), and messages that changed between the PyTorch
there and the 2.13 that gradcli follows. Exit status 1 when a program is DIFFERENT from gradcli's CPU run
and not listed in EXPECTED_VS_CPU.
sim-cuda runs the simulated GPU of tests/fakecupy instead (to try this script without a GPU).
"""

from __future__ import annotations

import argparse
import io
import json
import pathlib
import re
import sys
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:e[-+]?\d+)?|[-+]?inf|nan")
DEVICE_TEXT = [(", device='cuda:0'", ""), ("device(type='cuda', index=0)", "device(type='cpu')"),
               ("cuda:0", "cpu"), ("torch.cuda.", "torch.")]
# Programs whose GPU run prints other text than their CPU run, as PyTorch's does (checked against PyTorch
# CUDA on the H100), or where gradcli's GPU path is known to differ:
EXPECTED_VS_CPU = {
    "custom_mark_dirty_returned_input": "prints a slice of a message that names torch.cuda.FloatTensor",
    "custom_none_grad_saved_checks": "prints a slice of a message that names torch.cuda.FloatTensor",
    "generator_objects": "a CPU torch.Generator is refused for a CUDA draw",
    "half_scalar_opmath": "float16 with a number: gradcli's GPU path rounds the number to float16 first",
    "numpy_shape_dtype_errors": "numpy() of a CUDA tensor fails first for its device",
}
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")
SPACE = re.compile(r"\s+")


def normalise(text: str, *, drop_device: bool) -> str:
    text = SPACE.sub(" ", ADDRESS.sub(" at 0x?>", text)).replace("[ ", "[").replace("( ", "(")
    if drop_device:
        for cuda, cpu in DEVICE_TEXT:
            text = text.replace(cuda, cpu)
    return text


def numbers_close(a: str, b: str, rtol: float, atol: float) -> bool:
    """True when a and b are the same text but for numbers, each pair within tolerance."""
    if NUMBER.split(a) != NUMBER.split(b):
        return False
    for x, y in zip(NUMBER.findall(a), NUMBER.findall(b), strict=True):
        if x != y and not abs(float(x) - float(y)) <= max(atol, rtol * max(abs(float(x)), abs(float(y)))):
            return False
    return True


def verdict(reference: str, got: str, half: bool) -> str:
    if got == reference:
        return "same"
    rtol, atol = (4e-3, 4e-3) if half else (1e-4, 1e-6)
    return "close" if numbers_close(reference, got, rtol, atol) else "DIFFERENT"


def where_they_part(a: str, b: str) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    start = max(0, at - 40)
    return f"ref {a[start:at + 80]!r}\n    got {b[start:at + 80]!r}"


def gradcli_text(device, source, filename):
    from fakecupy.simulate import on_device

    from gradcli.session import run

    out = io.StringIO()
    with on_device(device):
        result = run(source, out=out, filename=filename)
    error = "" if result.error is None else f"\n[{result.error.kind}] {result.error.message}"
    return out.getvalue() + error


def torch_worker(first: int) -> int:
    """In a process of its own: PyTorch CUDA's text of each corpus program from number `first` on, one JSON
    line each. A device-side assert (an out-of-range class index in nll_loss, say) leaves CUDA unusable in
    the process, for CuPy too where they share it: the worker stops after that program and is started anew
    for the rest, and gradcli never runs in a process where PyTorch has used the GPU."""
    import torch
    from oracle import run_with_torch

    warnings.simplefilter("ignore")
    for path in corpus()[first:]:
        torch.set_default_device("cuda")
        try:
            output, error = run_with_torch(torch, path.read_text(), path.name)
            if error is None:
                torch.cuda.synchronize()
        except Exception as exc:  # noqa: BLE001 - an error surfacing after the program: part of its text
            output, error = "", exc
        finally:
            torch.set_default_device("cpu")
        text = output + ("" if error is None else f"\n[{type(error).__name__}] {error}")
        print(json.dumps({"name": path.stem, "text": text}), flush=True)
        if "device-side assert" in text:
            return 3
    return 0


def torch_cuda_texts() -> dict[str, str]:
    """{program: PyTorch CUDA's text}, from worker processes (see torch_worker)."""
    import subprocess

    texts, paths = {}, corpus()
    while len(texts) < len(paths):
        done = subprocess.run([sys.executable, __file__, "--torch-worker", str(len(texts))],
                              capture_output=True, text=True, timeout=300)
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        texts.update((line["name"], line["text"]) for line in lines)
        if not lines:  # a worker that reports nothing would report nothing again: say why for the rest
            texts.update((path.stem, f"[worker exit {done.returncode}] {done.stderr[-300:]}")
                         for path in paths[len(texts):])
    return texts


def torch_cuda_available() -> bool:
    import subprocess

    probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def corpus() -> list[pathlib.Path]:
    return sorted((ROOT / "tests" / "corpus").glob("*.grad"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "sim-cuda"], default="cuda")
    parser.add_argument("--show", type=int, default=30, help="list at most this many DIFFERENT programs")
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--torch-worker", type=int, metavar="FIRST", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_worker is not None:
        return torch_worker(args.torch_worker)
    if args.device == "cuda":
        from fakecupy.simulate import real_gpu_unavailable

        reason = real_gpu_unavailable()
        if reason is not None:
            print(f"gpu_corpus: {reason}", file=sys.stderr)
            return 2
    torch_texts = torch_cuda_texts() if args.device == "cuda" and torch_cuda_available() else None
    references = ["gradcli cpu"] + (["pytorch cuda"] if torch_texts is not None else [])
    paths = corpus()
    verdicts = {ref: {"same": [], "close": [], "DIFFERENT": []} for ref in references}
    details = {ref: {} for ref in references}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the scripts' own warnings: not what is compared here)
        for path in paths:
            source = path.read_text()
            half = "float16" in source or ".half()" in source
            got = gradcli_text(args.device, source, path.name)
            texts = {"gradcli cpu": (normalise(gradcli_text("cpu", source, path.name), drop_device=False),
                                     normalise(got, drop_device=True))}
            if torch_texts is not None:
                reference = normalise(torch_texts[path.stem], drop_device=False)
                texts["pytorch cuda"] = (reference, normalise(got, drop_device=False))
            for ref, (reference, ours) in texts.items():
                kind = verdict(reference, ours, half)
                verdicts[ref][kind].append(path.stem)
                if kind == "DIFFERENT":
                    details[ref][path.stem] = where_they_part(reference, ours)
    seconds = time.perf_counter() - start
    print(f"{len(paths)} corpus programs under gradcli --device {args.device} ({seconds:.1f} s)")
    for ref in references:
        counts = ", ".join(f"{len(names)} {kind}" for kind, names in verdicts[ref].items())
        print(f"\nagainst {ref}: {counts}")
        print("  close:", " ".join(verdicts[ref]["close"]) or "none")
        for name in verdicts[ref]["DIFFERENT"][:args.show]:
            print(f"  DIFFERENT {name}\n    {details[ref][name]}")
    if args.json_path:
        document = {"verdicts": verdicts, "details": details}
        pathlib.Path(args.json_path).write_text(json.dumps(document, indent=1))
    unexpected = sorted(set(verdicts["gradcli cpu"]["DIFFERENT"]) - set(EXPECTED_VS_CPU))
    print(f"\nDIFFERENT from the CPU run and not expected to be: {' '.join(unexpected) or 'none'}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
