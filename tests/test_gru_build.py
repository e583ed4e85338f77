"""The C++ GRU recurrence: the Python loops as its oracle, its errors, and the fallback.

Shapes: N batch, T steps, H hidden.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from lightning_module.gru import build
from lightning_module.gru.fused_gru import FusedGRU
from lightning_module.gru.recurrence import PYTHON_RECURRENCE, cpp_recurrence


def recurrence_inputs(T, N, H, dtype, bias=True, seed=0):
    """gx (T, N, 3H), h0 (N, H), w_hh (3H, H), b_hn (H,) or None, dhs (T, N, H), scaled like a
    trained GRU's (a contracting recurrence, so float32 rounding does not grow over T)."""
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape, scale=1.0):
        return scale * torch.randn(*shape, generator=generator, dtype=dtype)

    b_hn = randn(H, scale=0.3) if bias else None
    return (
        randn(T, N, 3 * H),
        randn(N, H, scale=0.5),
        randn(3 * H, H, scale=1 / H**0.5),
        b_hn,
        randn(T, N, H),
    )


# H = 13 and 20: a vector tail that is not a multiple of 8 (AVX2) lanes; N = 130 splits rows
@pytest.mark.parametrize("T, N, H", [(1, 1, 3), (5, 4, 13), (28, 100, 128), (3, 130, 20)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_both_loops_over_time_match_the_python_loops(cpp_kernel, T, N, H, bias, dtype, tol):
    gx, h0, w_hh, b_hn, dhs = recurrence_inputs(T, N, H, dtype, bias)
    expected_forward = PYTHON_RECURRENCE.forward(gx, h0, w_hh, b_hn)
    actual_forward = cpp_kernel.forward(gx, h0, w_hh, b_hn)
    for name, actual, expected in zip(
        ["hs", "rz", "n", "gh_n"], actual_forward, expected_forward, strict=True
    ):
        torch.testing.assert_close(
            actual, expected, rtol=tol, atol=tol, msg=lambda m, name=name: f"{name}: {m}"
        )
    expected_backward = PYTHON_RECURRENCE.backward(
        dhs, *expected_forward[:3], expected_forward[3], w_hh
    )
    actual_backward = cpp_kernel.backward(dhs, *actual_forward, w_hh)
    for name, actual, expected in zip(
        ["dgh", "dgx_n", "dh0"], actual_backward, expected_backward, strict=True
    ):
        torch.testing.assert_close(
            actual, expected, rtol=tol, atol=tol, msg=lambda m, name=name: f"{name}: {m}"
        )


@pytest.fixture
def three_threads(torch_threads):
    """torch's pool at 3 threads (whatever the machine's cores), restored afterwards."""
    torch_threads(3)


# N = 161, H = 64: three uneven blocks of rows, one per thread; T odd and even, as dL/dh_0 ends
# in one of two buffers by T's parity
@pytest.mark.parametrize("T", [3, 4])
@pytest.mark.parametrize("matmul_dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_rows_split_among_threads_match_the_python_loops(
    cpp_kernel, three_threads, T, matmul_dtype
):
    state_dtype = torch.float64 if matmul_dtype == torch.float64 else torch.float32
    gx, h0, w_hh, b_hn, dhs = recurrence_inputs(T, 161, 64, state_dtype)
    gx, w_hh = gx.to(matmul_dtype), w_hh.to(matmul_dtype)
    # the pool's threads must not record autograd for a weight that requires grad
    w_hh.requires_grad_(True)
    tol = {torch.float64: 1e-12, torch.float32: 1e-5, torch.bfloat16: 2e-3}[matmul_dtype]
    with torch.no_grad():
        expected_forward = PYTHON_RECURRENCE.forward(gx, h0, w_hh, b_hn)
        actual_forward = cpp_kernel.forward(gx, h0, w_hh, b_hn)
        expected_backward = PYTHON_RECURRENCE.backward(dhs, *expected_forward, w_hh)
        actual_backward = cpp_kernel.backward(dhs, *actual_forward, w_hh)
    names = ["hs", "rz", "n", "gh_n", "dgh", "dgx_n", "dh0"]
    for name, actual, expected in zip(
        names,
        [*actual_forward, *actual_backward],
        [*expected_forward, *expected_backward],
        strict=True,
    ):
        assert actual.dtype == expected.dtype, name
        assert relative_error(actual, expected) < tol, name


def test_a_training_step_on_three_threads_matches_nn_gru(cpp_kernel, three_threads):
    torch.manual_seed(0)
    fused = FusedGRU(5, 48, recurrence="cpp")
    reference = torch.nn.GRU(5, 48, batch_first=True)
    reference.load_state_dict(fused.state_dict())
    x = torch.randn(300, 6, 5)  # three blocks of rows
    grads = {}
    for name, model in (("fused", fused), ("reference", reference)):
        out, h_n = model(x)
        grads[name] = torch.autograd.grad((out.square().sum() + h_n.sum()), [*model.parameters()])
    for actual, expected in zip(grads["fused"], grads["reference"], strict=True):
        torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5)


def test_auto_runs_the_cpp_loops_for_cpu_float_inputs_and_python_otherwise(cpp_kernel):
    fused = FusedGRU(3, 4)
    assert fused.recurrence_for("cpu", torch.float32).name == "cpp"
    assert fused.recurrence_for("cpu", torch.float64).name == "cpp"
    assert fused.recurrence_for("cpu", torch.bfloat16).name == "python"
    assert fused.recurrence_for("cuda", torch.float32).name == "python"
    assert FusedGRU(3, 4, recurrence="python").recurrence_for("cpu", torch.float32).name == (
        "python"
    )


def relative_error(actual, expected):
    """||actual - expected|| / ||expected|| in float32.

    Both loops round to the low dtype alike, but their float32 rounding differs a little and
    can flip one of those roundings now and then (by one unit in the last place, 2**-8 for
    bfloat16), which carries on through time: elementwise tolerances would trip on those.
    """
    actual, expected = actual.float(), expected.float()
    return ((actual - expected).norm() / expected.norm()).item()


# H = 13: vector tails in the casts of every row, N = 130: rows split between threads
@pytest.mark.parametrize("T, N, H", [(1, 1, 3), (5, 130, 13), (14, 64, 40)])
@pytest.mark.parametrize("low", [torch.bfloat16, torch.float16])
def test_with_low_precision_matmuls_both_loops_match_the_python_loops(cpp_kernel, T, N, H, low):
    gx, h0, w_hh, b_hn, dhs = recurrence_inputs(T, N, H, torch.float32)
    gx, w_hh = gx.to(low), w_hh.to(low)
    expected_forward = PYTHON_RECURRENCE.forward(gx, h0, w_hh, b_hn)
    actual_forward = cpp_kernel.forward(gx, h0, w_hh, b_hn)
    for name, actual, expected in zip(
        ["hs", "rz", "n", "gh_n"], actual_forward, expected_forward, strict=True
    ):
        assert actual.dtype == torch.float32, name  # the state and the gates stay float32
        assert relative_error(actual, expected) < 1e-3, name
    expected_backward = PYTHON_RECURRENCE.backward(dhs, *expected_forward, w_hh)
    actual_backward = cpp_kernel.backward(dhs, *actual_forward, w_hh)
    for name, actual, expected, dtype in zip(
        ["dgh", "dgx_n", "dh0"],
        actual_backward,
        expected_backward,
        [low, low, torch.float32],
        strict=True,
    ):
        assert actual.dtype == expected.dtype == dtype, name
        assert relative_error(actual, expected) < 2e-3, name


@pytest.mark.parametrize("recurrence", ["cpp", "python"])
def test_under_bf16_autocast_every_matmul_is_bf16_and_the_state_float32(cpp_kernel, recurrence):
    torch.manual_seed(0)
    fused = FusedGRU(6, 32, num_layers=2, recurrence=recurrence)
    reference = torch.nn.GRU(6, 32, num_layers=2, batch_first=True)
    reference.load_state_dict(fused.state_dict())
    x = torch.randn(8, 7, 6, requires_grad=True)

    def run(model, autocast):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out, h_n = model(x)
        grads = torch.autograd.grad(out.float().square().sum(), [x, *model.parameters()])
        return out, h_n, grads

    out32, _, grads32 = run(fused, False)
    out, h_n, grads = run(fused, True)
    assert out.dtype == h_n.dtype == torch.float32
    assert all(g.dtype == torch.float32 for g in grads)
    # bfloat16 matmuls: far from float32 rounding of the float32 run, within bfloat16's
    gap = (out - out32).abs().max().item()
    assert 1e-4 < gap < 3e-2, gap
    for grad, grad32 in zip(grads, grads32, strict=True):
        assert 1e-5 < ((grad - grad32).norm() / grad32.norm()).item() < 3e-2
    # and nn.GRU under the same autocast agrees to bfloat16 precision
    expected_out, _, expected_grads = run(reference, True)
    torch.testing.assert_close(out, expected_out.float(), rtol=3e-2, atol=3e-2)
    for grad, expected in zip(grads, expected_grads, strict=True):
        assert ((grad - expected).norm() / expected.norm()).item() < 3e-2


def test_both_recurrences_give_the_same_bf16_autocast_training_step(cpp_kernel):
    torch.manual_seed(0)
    models = {name: FusedGRU(6, 32, recurrence=name) for name in ("cpp", "python")}
    models["python"].load_state_dict(models["cpp"].state_dict())
    x = torch.randn(16, 9, 6)
    results = {}
    for name, model in models.items():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, _ = model(x)
        results[name] = (out, torch.autograd.grad(out.square().sum(), list(model.parameters())))
    torch.testing.assert_close(results["cpp"][0], results["python"][0], rtol=1e-3, atol=1e-3)
    for cpp_grad, python_grad in zip(results["cpp"][1], results["python"][1], strict=True):
        assert ((cpp_grad - python_grad).norm() / python_grad.norm()).item() < 5e-3


def test_cpp_recurrence_refuses_inputs_it_does_not_support(cpp_kernel):
    fused = FusedGRU(3, 4, recurrence="cpp").to(torch.bfloat16)
    with pytest.raises(ValueError, match=r"recurrence='cpp'.*CPU float32 or float64.*bfloat16"):
        fused(torch.zeros(2, 5, 3, dtype=torch.bfloat16))


def test_an_unknown_recurrence_is_refused_by_name():
    with pytest.raises(ValueError, match=r"recurrence must be one of .*'fast'"):
        FusedGRU(3, 4, recurrence="fast")


def test_the_ops_check_their_shapes_with_messages_naming_the_argument(cpp_kernel):
    gx, h0, w_hh, b_hn, dhs = recurrence_inputs(4, 3, 5, torch.float32)
    with pytest.raises(RuntimeError, match=r"w_hh must be \(3H, H\) = \(15, 5\)"):
        cpp_kernel.forward(gx, h0, w_hh[:, :4], b_hn)
    with pytest.raises(RuntimeError, match=r"gx must be \(T, N, 3H\)"):
        cpp_kernel.forward(gx[..., :-1], h0, w_hh, b_hn)
    with pytest.raises(RuntimeError, match=r"b_hn must have H = 5 elements"):
        cpp_kernel.forward(gx, h0, w_hh, b_hn[:4])
    with pytest.raises(RuntimeError, match=r"gx must have w_hh's dtype .*BFloat16.*got Float"):
        cpp_kernel.forward(gx, h0, w_hh.bfloat16(), b_hn)
    with pytest.raises(RuntimeError, match=r"w_hh must have the state's dtype .*got Int"):
        cpp_kernel.forward(gx.int(), h0, w_hh.int(), b_hn)
    hs, rz, n, gh_n = cpp_kernel.forward(gx, h0, w_hh, b_hn)
    with pytest.raises(RuntimeError, match=r"rz must be \(T, N, 2H\)"):
        cpp_kernel.backward(dhs, hs, rz[..., :-1], n, gh_n, w_hh)
    with pytest.raises(RuntimeError, match=r"dhs, n and gh_n must be"):
        cpp_kernel.backward(dhs[:-1], hs, rz, n, gh_n, w_hh)
    with pytest.raises(RuntimeError, match=r"hs must be \(T, N, H\) with T >= 1"):
        cpp_kernel.backward(dhs[:0], hs[:0], rz[:0], n[:0], gh_n[:0], w_hh)


def test_the_python_loops_refuse_the_dtypes_the_cpp_ops_refuse():
    gx, h0, w_hh, b_hn, dhs = recurrence_inputs(4, 3, 5, torch.float32)
    with pytest.raises(
        ValueError, match=r"gx must have w_hh's dtype .*bfloat16.*got torch.float32"
    ):
        PYTHON_RECURRENCE.forward(gx, h0, w_hh.bfloat16(), b_hn)
    with pytest.raises(ValueError, match=r"w_hh must have the state's dtype .*got torch.float64"):
        PYTHON_RECURRENCE.forward(gx.double(), h0, w_hh.double(), b_hn)
    hs, rz, n, gh_n = PYTHON_RECURRENCE.forward(gx, h0, w_hh, b_hn)
    with pytest.raises(ValueError, match=r"w_hh must have the state's dtype .*got torch.int32"):
        PYTHON_RECURRENCE.backward(dhs, hs, rz, n, gh_n, w_hh.int())


def test_without_the_kernel_auto_warns_once_and_gives_the_same_results(kernel_unavailable):
    torch.manual_seed(0)
    fused = FusedGRU(3, 4, num_layers=2)
    x = torch.randn(2, 5, 3)
    with pytest.warns(
        RuntimeWarning,
        match=r"C\+\+ GRU recurrence is not available: no C\+\+ "
        r"compiler \(test\); running the Python loop",
    ):
        out, h_n = fused(x)
    assert fused.recurrence_for(x.device, x.dtype).name == "python"
    reference = torch.nn.GRU(3, 4, num_layers=2, batch_first=True)
    reference.load_state_dict(fused.state_dict())
    expected_out, expected_h_n = reference(x)
    torch.testing.assert_close(out, expected_out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h_n, expected_h_n, rtol=1e-5, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second call must not warn again
        fused(x)


def test_without_the_kernel_recurrence_cpp_raises_saying_why(kernel_unavailable):
    with pytest.raises(RuntimeError, match=r"recurrence='cpp'.*no C\+\+ compiler \(test\)"):
        FusedGRU(3, 4, recurrence="cpp")(torch.randn(2, 5, 3))
    with pytest.raises(RuntimeError, match="no C\\+\\+ compiler"):
        cpp_recurrence(required=True)


def test_the_environment_switch_and_missing_tools_are_reported_before_building(monkeypatch):
    monkeypatch.setenv(build.ENV_SWITCH, "0")
    assert build.unavailable_reason() == f"{build.ENV_SWITCH}=0 turns the C++ kernels off"
    monkeypatch.delenv(build.ENV_SWITCH)
    monkeypatch.setenv("CXX", "no-such-compiler-here")
    monkeypatch.setattr(
        build.shutil,
        "which",
        lambda name: None if name == "no-such-compiler-here" else f"/bin/{name}",
    )
    assert "'no-such-compiler-here' is not on PATH" in build.unavailable_reason()


def test_a_first_build_is_announced_and_a_cached_one_is_not(tmp_path):
    notice = build.first_build_notice(tmp_path)
    assert notice is not None and str(tmp_path) in notice and "first use only" in notice
    (tmp_path / f"{build.NAME}.so").write_bytes(b"")
    assert build.first_build_notice(tmp_path) is None


def test_the_build_folder_honours_torch_extensions_dir_and_else_the_user_cache(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "ext"))
    folder = build.build_directory()
    assert folder.parent == tmp_path / "ext"
    assert folder.name.startswith(f"{build.NAME}_py") and "torch" in folder.name
    monkeypatch.delenv("TORCH_EXTENSIONS_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert build.build_directory().parent == tmp_path / "cache" / "torch_extensions"


def test_the_build_uses_public_cpp_extension_api_only():
    source = build.__file__
    with open(source) as handle:
        text = handle.read()
    assert "cpp_extension._" not in text
