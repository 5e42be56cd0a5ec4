"""--device cuda (issue 7): where tensors live, and what happens without a GPU.

Three kinds of test, labelled in their names:
  * plain tests: the CPU path (CuPy never imported) and the one-line errors without CuPy or a GPU;
  * `sim_` tests: the SIMULATED GPU (tests/fakecupy, numpy arithmetic behind an array type that numpy
    cannot convert): gradcli's device plumbing -- printing, .cpu()/.cuda(), mixed-device errors, backward
    and custom Functions on the device -- verified without a GPU, but NOT CuPy's own behaviour;
  * `gpu`-marked tests: the same on a real GPU with CuPy (skipped, as skipped, where there is none).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from fakecupy.simulate import on_device, real_gpu_unavailable

from gradcli import backend, ops
from gradcli.session import run

SIM_AND_GPU = ["sim-cuda", pytest.param("cuda", marks=pytest.mark.gpu)]


def run_program(source, device_name="cpu"):
    """(output, error message or None) of a program run with `device_name` as the default device."""
    out = io.StringIO()
    with on_device(device_name):
        result = run(textwrap.dedent(source), out=out)
    error = None if result.error is None else str(result.error)
    return out.getvalue(), error


# ------------------------------------------------------------------ the CPU path, and no GPU
def test_cpu_programs_never_import_cupy():
    program = textwrap.dedent("""
        import sys, json, io
        from gradcli.session import run
        src = '''
        import torch
        x = torch.tensor([1., 2.], requires_grad=True)
        y = (x.exp() * 2).sum()
        y.backward()
        print(x.grad, x.device, x.cpu().device)
        '''
        out = io.StringIO()
        run(src, out=out)
        print(json.dumps({"out": out.getvalue(), "cupy": "cupy" in sys.modules}))
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["cupy"] is False
    assert "cpu cpu" in result["out"]


def _cupy_missing():
    try:
        import cupy  # noqa: F401
    except ImportError:
        return True
    return getattr(sys.modules.get("cupy"), "FAKE", False)


@pytest.mark.skipif(not _cupy_missing(), reason="CuPy is installed here")
def test_asking_for_cuda_without_cupy_says_so():
    saved = backend._cupy_module, backend.device_ndarray, backend.default_device
    try:
        with pytest.raises(backend.BackendUnavailable, match="CuPy is not installed"):
            backend.use_device("cuda")
        assert backend.default_device == "cpu"
    finally:
        backend._cupy_module, backend.device_ndarray, backend.default_device = saved
    out, error = run_program("""
        import torch
        x = torch.zeros(2, device="cuda")
    """)
    assert error.startswith("CuPy is not installed")


def test_cpu_device_reads_as_pytorch_does():
    out, error = run_program("""
        import torch
        x = torch.tensor([1., 2.])
        print(x.device, repr(x.device), x.cpu() is x, x.to("cpu") is x, x.device == torch.device("cpu"))
        print(x.is_cuda)
    """)
    assert error is None
    assert out == "cpu device(type='cpu') True True True\nFalse\n"


# ------------------------------------------------------------------ the simulated GPU (and the real one)
@pytest.mark.parametrize("device", SIM_AND_GPU)
def test_sim_default_device_prints_as_pytorch(device):
    out, error = run_program("""
        import torch
        x = torch.tensor([1., 2.], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        print(x)
        print(x.grad)
        print(y)
        print(x.device, repr(x.device), x.is_leaf, x.grad.device)
        print(torch.zeros(2, dtype=torch.int64), torch.arange(3).tolist(), y.item())
        print(x.is_cuda, x.cpu().is_cuda)
    """, device)
    assert error is None, error
    assert out == (
        "tensor([1., 2.], device='cuda:0', requires_grad=True)\n"
        "tensor([2., 4.], device='cuda:0')\n"
        "tensor(5., device='cuda:0', grad_fn=<SumBackward0>)\n"
        "cuda:0 device(type='cuda', index=0) True cuda:0\n"
        "tensor([0, 0], device='cuda:0') [0, 1, 2] 5.0\n"
        "True False\n"
    )


@pytest.mark.parametrize("device", SIM_AND_GPU)
def test_sim_moves_between_devices_with_tocopy_nodes(device):
    out, error = run_program("""
        import torch
        x = torch.tensor([1., 2., 3.], requires_grad=True, device="cpu")
        g = x.cuda()
        print(g.device, g.grad_fn, g.requires_grad)
        h = g.to("cpu")
        print(h.device, h.grad_fn)
        (h.exp() * torch.tensor([1., 2., 3.], device="cpu")).sum().backward()
        print(x.grad.device, x.grad)
        z = torch.ones(2, device="cuda").to("cuda")
        print(z.cpu().cuda().device, z.to(torch.float64).device, z.to("cpu", torch.float64))
    """, device)
    assert error is None, error
    lines = out.splitlines()
    assert lines[0].startswith("cuda:0 <ToCopyBackward0 object at") and lines[0].endswith("True")
    assert lines[1].startswith("cpu <ToCopyBackward0 object at")
    assert lines[2] == "cpu tensor([ 2.7183, 14.7781, 60.2566])"
    assert lines[3] == "cuda:0 cuda:0 tensor([1., 1.], dtype=torch.float64)"


@pytest.mark.parametrize("device", SIM_AND_GPU)
def test_sim_legacy_type_names_say_and_choose_the_device(device):
    out, error = run_program("""
        import torch
        x = torch.tensor([1, 2])
        y = torch.ones(1, device="cpu", requires_grad=True)
        z = y.type("torch.cuda.DoubleTensor")
        print(x.type(), x.type("torch.DoubleTensor"), x.type("torch.cuda.FloatTensor"), x.type(torch.int8))
        print(z, z.type(), z.type("torch.FloatTensor").device)
    """, device)
    assert error is None, error
    assert out.splitlines() == [
        "torch.cuda.LongTensor tensor([1., 2.], dtype=torch.float64) tensor([1., 2.], device='cuda:0') "
        "tensor([1, 2], device='cuda:0', dtype=torch.int8)",
        "tensor([1.], device='cuda:0', dtype=torch.float64, grad_fn=<ToCopyBackward0>) "
        "torch.cuda.DoubleTensor cpu",
    ]


@pytest.mark.parametrize("device", SIM_AND_GPU)
def test_sim_a_cpu_generator_is_refused_for_a_device_draw(device):
    out, error = run_program("""
        import torch
        g = torch.Generator().manual_seed(1)
        draws = [lambda: torch.rand(2, generator=g), lambda: torch.randint(0, 5, (2,), generator=g),
                 lambda: torch.empty(2).uniform_(generator=g), lambda: torch.empty(2).normal_(generator=g),
                 lambda: torch.bernoulli(torch.ones(2) / 2, generator=g),
                 lambda: torch.randperm(3, generator=g)]
        for draw in draws:
            try:
                draw()
            except RuntimeError as e:
                print(e)
        print(torch.rand(2, generator=g, device="cpu"))
    """, device)
    assert error is None, error
    lines = out.splitlines()
    assert lines[:-1] == ["Expected a 'cuda' device type for generator but found 'cpu'"] * 6
    assert lines[-1] == "tensor([0.7576, 0.2793])"  # (torch.manual_seed(1)'s first draws: the CPU stream)


@pytest.mark.parametrize("device", SIM_AND_GPU)
def test_sim_numpy_of_a_device_tensor_says_to_copy_it_first(device):
    out, error = run_program("""
        import torch
        x = torch.ones(2, requires_grad=True)
        try:
            x.numpy()
        except TypeError as e:
            print(e)
    """, device)
    assert error is None, error
    assert out == ("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to "
                   "host memory first.\n")


@pytest.mark.parametrize("device", SIM_AND_GPU)
def test_sim_an_expanded_tensor_can_be_filled_on_the_device(device):
    # (CuPy's broadcast views can be written, as PyTorch's expanded tensors; numpy's are read-only)
    out, error = run_program("""
        import torch
        b = torch.zeros(2, 1).expand(2, 3)
        b[1, 0] = 5.
        print(b)
        b.fill_(2.)
        print(b.sum())
        b.zero_()
        print(b.sum())
    """, device)
    assert error is None, error
    assert out == ("tensor([[0., 0., 0.],\n        [5., 5., 5.]], device='cuda:0')\n"
                   "tensor(12., device='cuda:0')\ntensor(0., device='cuda:0')\n")


@pytest.mark.parametrize("device", SIM_AND_GPU)
def test_sim_random_values_do_not_depend_on_the_device(device):
    src = """
        import torch
        torch.manual_seed(3)
        print(torch.randn(4).tolist(), torch.rand(2, 2).tolist(), torch.randint(0, 9, (3,)).tolist())
    """
    cpu_out, _ = run_program(src, "cpu")
    dev_out, error = run_program(src, device)
    assert error is None
    assert dev_out == cpu_out


@pytest.mark.parametrize("device", SIM_AND_GPU)
def test_sim_indexing_views_and_in_place_changes_stay_on_the_device(device):
    out, error = run_program("""
        import torch
        x = torch.arange(6.).reshape(2, 3).requires_grad_()
        y = x * 1
        v = y[0]
        v.mul_(2)
        y[1, [0, 2]] = torch.tensor([7., 8.], device="cpu")
        m = y[y > 3]
        (y.sum() + m.sum() + x[torch.tensor([1, 0])].sum()).backward()
        print(y.device, m.device, x.grad.device)
        print(x.grad)
        print(torch.cat([x, x]).shape, torch.stack([x, x]).device, x.max(dim=1).indices)
        print(torch.where(x > 2, x, 0.).device, x.argmax(), x.clone().zero_().sum())
    """, device)
    assert error is None, error
    lines = out.splitlines()
    assert lines[0] == "cuda:0 cuda:0 cuda:0"
    assert lines[1:3] == ["tensor([[3., 3., 5.],", "        [1., 3., 1.]], device='cuda:0')"]  # (PyTorch's)
    assert lines[3].endswith("tensor([2, 2], device='cuda:0')")
    assert lines[4] == "cuda:0 tensor(5, device='cuda:0') tensor(0., device='cuda:0', grad_fn=<SumBackward0>)"


@pytest.mark.parametrize("device", SIM_AND_GPU)
def test_sim_custom_function_and_double_backward_on_the_device(device):
    out, error = run_program("""
        import torch

        class Cube(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3, x * 2

            @staticmethod
            def backward(ctx, g, g2):
                x, = ctx.saved_tensors
                return g * 3 * x ** 2

        x = torch.tensor([1., 2.], requires_grad=True)
        y, _ = Cube.apply(x)
        y.sum().backward()
        print(x.grad)
        w = torch.tensor([0.5, -1.], requires_grad=True)
        g, = torch.autograd.grad((w.tanh() ** 2).sum(), w, create_graph=True)
        g.sum().backward()
        print(w.grad.device, g.device)
    """, device)
    assert error is None, error
    assert out.splitlines() == ["tensor([ 3., 12.], device='cuda:0')", "cuda:0 cuda:0"]


@pytest.mark.parametrize("device", SIM_AND_GPU)
def test_sim_mixed_devices_fail_with_pytorchs_error(device):
    same = "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"
    cases = {
        "a + b": same, "b * a": same, "a.add_(b)": same, "b.add_(a)": same,
        "torch.cat([a, b])": same, "torch.where(a > 0, a, b)": same,
        "a @ m": "Expected all tensors to be on the same device, but got mat2 is on cpu, different from "
                 "other tensors on cuda:0 (when checking argument in method wrapper_CUDA_mm)",
    }
    for expr, message in cases.items():
        out, error = run_program(f"""
            import torch
            a = torch.ones(2, 2, device="cuda")
            b = torch.ones(2, 2, device="cpu")
            m = torch.ones(2, 2, device="cpu")
            print({expr})
        """, device)
        assert error == message, expr


@pytest.mark.parametrize("device", SIM_AND_GPU)
def test_sim_a_0d_cpu_tensor_joins_a_gpu_tensor(device):
    out, error = run_program("""
        import torch
        a = torch.ones(2, device="cuda")
        s = torch.tensor(3., device="cpu")
        print(a * s, s + a, a.mul_(s))
        print(torch.ones(2, device="cpu") * torch.tensor(2., device="cuda"))
    """, device)
    assert out.splitlines()[0] == ("tensor([3., 3.], device='cuda:0') tensor([4., 4.], device='cuda:0') "
                                   "tensor([3., 3.], device='cuda:0')")
    assert error == ops.SAME_DEVICE


def test_sim_no_value_reaches_numpy_implicitly():
    """The fake's arrays refuse numpy.asarray, as CuPy's do: the printed values came through to_host."""
    with on_device("sim-cuda") as fake:
        a = fake.asarray([1.0, 2.0])
        with pytest.raises(TypeError, match="Implicit conversion"):
            np.asarray(a)
        with pytest.raises(TypeError, match="Unsupported type"):
            a + np.ones(2)
        assert isinstance(backend.to_host(a), np.ndarray)
        assert backend.namespace_of(a) is fake


@pytest.mark.parametrize("device", SIM_AND_GPU)
def test_sim_cli_device_flag_and_env(device, tmp_path):
    from click.testing import CliRunner

    from gradcli.cli import main

    prog = tmp_path / "p.grad"
    prog.write_text("import torch\nx = torch.tensor([1., 2.], requires_grad=True)\n(x * 3).sum().backward()\n"
                    "print(x.grad)\n")
    with on_device(device, default=False):
        flag = CliRunner().invoke(main, ["eval", "--no-table", "--device", "cuda", str(prog)])
        env = CliRunner().invoke(main, ["eval", "--no-table", str(prog)], env={"GRADCLI_DEVICE": "cuda"})
        as_json = CliRunner().invoke(main, ["eval", "--format", "json", "--device", "cuda", str(prog)])
        cpu = CliRunner().invoke(main, ["eval", "--no-table", str(prog)])
    assert flag.exit_code == 0, flag.output
    assert flag.stdout == "tensor([3., 3.], device='cuda:0')\n"
    assert env.stdout == flag.stdout
    assert as_json.exit_code == 0 and "cuda" in as_json.stdout
    assert cpu.stdout == "tensor([3., 3.])\n"


@pytest.mark.gpu
def test_gpu_is_real_cupy():
    """On the GPU machine: the arrays really are CuPy's, on a CUDA device."""
    assert real_gpu_unavailable() is None
    with on_device("cuda") as cupy:
        assert not getattr(cupy, "FAKE", False)
        result = run("import torch\nx = torch.ones(3, requires_grad=True)\ny = x.exp().sum()\ny.backward()\n",
                     out=io.StringIO())
        assert result.error is None, result.error
        variables = result.variables
        for data in (variables["x"]._data, variables["y"]._data, variables["x"].grad._data):
            assert isinstance(data, cupy.ndarray) and data.device.id == 0
        assert str(variables["y"].device) == "cuda:0"


def test_sim_gpu_benchmark_step_runs_on_the_device():
    """benchmarks/gpu_mlp.py's step, on the simulated GPU (its timing means nothing here)."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_mlp.py"
    spec = importlib.util.spec_from_file_location("gpu_mlp", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from gradcli.torchlib import build_modules

    with on_device("sim-cuda"):
        seconds, loss = module.mlp_steps(module.Namespace(build_modules()["torch"].members), 2, lambda: None)
    assert loss > 0


@pytest.mark.skipif(_cupy_missing() is False, reason="CuPy is installed here")
def test_gpu_benchmark_fails_clearly_without_a_gpu():
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_mlp.py"
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("gpu_mlp: CuPy is not installed")
