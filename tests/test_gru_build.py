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


def test_auto_runs_the_cpp_loops_for_cpu_float_inputs_and_python_otherwise(cpp_kernel):
    fused = FusedGRU(3, 4)
    assert fused.recurrence_for("cpu", torch.float32).name == "cpp"
    assert fused.recurrence_for("cpu", torch.float64).name == "cpp"
    assert fused.recurrence_for("cpu", torch.bfloat16).name == "python"
    assert fused.recurrence_for("cuda", torch.float32).name == "python"
    assert FusedGRU(3, 4, recurrence="python").recurrence_for("cpu", torch.float32).name == (
        "python"
    )


@pytest.mark.parametrize("recurrence", ["cpp", "python"])
def test_under_bf16_autocast_only_the_input_projection_is_bf16(cpp_kernel, recurrence):
    torch.manual_seed(0)
    fused = FusedGRU(3, 4, recurrence=recurrence)
    reference = torch.nn.GRU(3, 4, batch_first=True)
    reference.load_state_dict(fused.state_dict())
    x = torch.randn(2, 5, 3, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = fused(x)
    assert out.dtype == torch.float32  # the recurrence ran in the state's dtype
    out.sum().backward()
    assert x.grad.dtype == torch.float32 and torch.isfinite(x.grad).all()
    torch.testing.assert_close(out, reference(x)[0], rtol=0.02, atol=0.02)  # bf16 inputs


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
    hs, rz, n, gh_n = cpp_kernel.forward(gx, h0, w_hh, b_hn)
    with pytest.raises(RuntimeError, match=r"rz must be \(T, N, 2H\)"):
        cpp_kernel.backward(dhs, hs, rz[..., :-1], n, gh_n, w_hh)
    with pytest.raises(RuntimeError, match=r"dhs, n and gh_n must be"):
        cpp_kernel.backward(dhs[:-1], hs, rz, n, gh_n, w_hh)
    with pytest.raises(RuntimeError, match=r"hs must be \(T, N, H\) with T >= 1"):
        cpp_kernel.backward(dhs[:0], hs[:0], rz[:0], n[:0], gh_n[:0], w_hh)


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
