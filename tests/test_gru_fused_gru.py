"""FusedGRU against nn.GRU as the oracle: same weights -> same outputs, h_n and gradients.

Shapes: N batch, T steps, D input, H hidden, L layers.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightning_module.gru.fused_gru import FusedGRU, GRULayerFunction
from lightning_module.gru.recurrence import PYTHON_RECURRENCE as PYTHON

# (N, T, D, H, L, bias)
SHAPES = [
    (4, 6, 5, 7, 1, True),
    (3, 5, 4, 6, 2, True),
    (1, 4, 3, 5, 2, True),  # batch 1
    (2, 1, 3, 4, 2, True),  # T = 1
    (1, 1, 2, 3, 1, True),  # batch 1 and T = 1
    (3, 5, 4, 6, 3, False),  # no biases
    (100, 28, 28, 128, 1, True),  # the benchmark's shape
]
TOLERANCES = {torch.float32: 1e-5, torch.float64: 1e-12}


def make_pair(
    D, H, L, bias=True, batch_first=True, dropout=0.0, dtype=torch.float32, recurrence="auto"
):
    """An nn.GRU and a FusedGRU holding the same (random) weights."""
    reference = nn.GRU(D, H, L, bias=bias, batch_first=batch_first, dropout=dropout).to(dtype)
    fused = FusedGRU(
        D, H, L, bias=bias, batch_first=batch_first, dropout=dropout, recurrence=recurrence
    ).to(dtype)
    fused.load_state_dict(reference.state_dict())
    return reference, fused


def outputs_and_gradients(module, x, h0, dout, dh_n):
    """Forward, then backward of sum(out * dout) + sum(h_n * dh_n); every result by name."""
    x = x.detach().clone().requires_grad_(True)
    h0 = None if h0 is None else h0.detach().clone().requires_grad_(True)
    module.zero_grad(set_to_none=True)
    out, h_n = module(x, h0)
    ((out * dout).sum() + (h_n * dh_n).sum()).backward()
    results = {"output": out.detach(), "h_n": h_n.detach(), "grad input": x.grad}
    if h0 is not None:
        results["grad h0"] = h0.grad
    results.update({f"grad {name}": p.grad for name, p in module.named_parameters()})
    return results


def assert_all_close(actual: dict, expected: dict, tol: float) -> None:
    assert actual.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(
            actual[name],
            expected[name],
            rtol=tol,
            atol=tol,
            msg=lambda m, name=name: f"{name}: {m}",
        )


def random_case(N, T, D, H, L, dtype, batch_first=True, seed=0):
    """x, h0 and the upstream gradients dout, dh_n of a mean-reduced loss (scaled 1/(N*T))."""
    generator = torch.Generator().manual_seed(seed)
    x_shape = (N, T, D) if batch_first else (T, N, D)
    out_shape = (N, T, H) if batch_first else (T, N, H)
    x, h0, dout, dh_n = [
        torch.randn(shape, generator=generator, dtype=dtype)
        for shape in (x_shape, (L, N, H), out_shape, (L, N, H))
    ]
    return x, h0, dout / (N * T), dh_n / (N * T)


@pytest.mark.parametrize("recurrence", ["cpp", "python"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("N, T, D, H, L, bias", SHAPES)
def test_outputs_h_n_and_all_gradients_match_nn_gru_with_the_same_weights(
    N, T, D, H, L, bias, dtype, recurrence, request
):
    if recurrence == "cpp":
        request.getfixturevalue("cpp_kernel")
    torch.manual_seed(1)
    reference, fused = make_pair(D, H, L, bias=bias, dtype=dtype, recurrence=recurrence)
    x, h0, dout, dh_n = random_case(N, T, D, H, L, dtype)
    expected = outputs_and_gradients(reference, x, h0, dout, dh_n)
    actual = outputs_and_gradients(fused, x, h0, dout, dh_n)
    assert_all_close(actual, expected, TOLERANCES[dtype])


@pytest.mark.parametrize("recurrence", ["cpp", "python"])
def test_float32_results_are_as_close_to_float64_truth_as_nn_gru_float32_results(
    recurrence, request
):
    """Unscaled upstream gradients: weight gradients sum 2800 rows of size ~1, so each
    implementation's float32 rounding shows; the fused one must not round worse (the C++
    recurrence's approximate exp included)."""
    if recurrence == "cpp":
        request.getfixturevalue("cpp_kernel")
    torch.manual_seed(13)
    N, T, D, H = 100, 28, 28, 128
    reference, fused = make_pair(D, H, 1, dtype=torch.float64, recurrence=recurrence)
    x, h0, dout, dh_n = random_case(N, T, D, H, 1, torch.float64)
    dout, dh_n = dout * (N * T), dh_n * (N * T)
    truth = outputs_and_gradients(reference, x, h0, dout, dh_n)
    reference32, fused32 = reference.float(), fused.float()
    x, h0, dout, dh_n = (t.float() for t in (x, h0, dout, dh_n))
    reference_results = outputs_and_gradients(reference32, x, h0, dout, dh_n)
    fused_results = outputs_and_gradients(fused32, x, h0, dout, dh_n)
    for name, exact in truth.items():
        reference_error = (reference_results[name].double() - exact).abs().max().item()
        fused_error = (fused_results[name].double() - exact).abs().max().item()
        scale = exact.abs().max().item()
        assert fused_error <= max(2 * reference_error, 1e-6 * scale), name


def test_time_major_input_matches_nn_gru_when_batch_first_is_false():
    torch.manual_seed(2)
    reference, fused = make_pair(4, 6, 2, batch_first=False)
    x, h0, dout, dh_n = random_case(3, 5, 4, 6, 2, torch.float32, batch_first=False)
    assert_all_close(
        outputs_and_gradients(fused, x, h0, dout, dh_n),
        outputs_and_gradients(reference, x, h0, dout, dh_n),
        1e-5,
    )


def test_missing_h0_means_zeros_like_nn_gru():
    torch.manual_seed(3)
    reference, fused = make_pair(4, 6, 2)
    x, _, dout, dh_n = random_case(3, 5, 4, 6, 2, torch.float32)
    actual = outputs_and_gradients(fused, x, None, dout, dh_n)
    assert_all_close(actual, outputs_and_gradients(reference, x, None, dout, dh_n), 1e-5)


def test_unbatched_input_matches_nn_gru():
    torch.manual_seed(4)
    reference, fused = make_pair(4, 6, 2)
    x, h0 = torch.randn(5, 4), torch.randn(2, 6)
    for expected, actual in zip(reference(x, h0), fused(x, h0), strict=True):
        assert actual.shape == expected.shape
        torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_same_seed_gives_the_parameter_names_shapes_and_initial_values_of_nn_gru():
    torch.manual_seed(5)
    reference = nn.GRU(4, 6, 2, batch_first=True)
    torch.manual_seed(5)
    fused = FusedGRU(4, 6, 2)
    expected, actual = reference.state_dict(), fused.state_dict()
    assert list(actual) == list(expected)
    for name in expected:
        assert torch.equal(actual[name], expected[name]), name
    assert list(FusedGRU(4, 6, 2, bias=False).state_dict()) == [
        "weight_ih_l0",
        "weight_hh_l0",
        "weight_ih_l1",
        "weight_hh_l1",
    ]


def test_state_dict_loads_from_fused_gru_into_nn_gru_and_back():
    torch.manual_seed(6)
    fused = FusedGRU(4, 6, 2)
    reference = nn.GRU(4, 6, 2, batch_first=True)
    reference.load_state_dict(fused.state_dict())  # strict: every key and shape must fit
    x = torch.randn(3, 5, 4)
    torch.testing.assert_close(fused(x)[0], reference(x)[0], rtol=1e-5, atol=1e-5)
    torch.manual_seed(7)
    other = nn.GRU(4, 6, 2, batch_first=True)
    fused.load_state_dict(other.state_dict())
    torch.testing.assert_close(fused(x)[0], other(x)[0], rtol=1e-5, atol=1e-5)


def test_dropout_acts_between_layers_in_training_mode_only():
    torch.manual_seed(8)
    reference, fused = make_pair(4, 6, 2, dropout=1.0)
    x, h0 = torch.randn(3, 5, 4), torch.randn(2, 3, 6)
    reference.eval()
    fused.eval()
    torch.testing.assert_close(fused(x, h0)[0], reference(x, h0)[0], rtol=1e-5, atol=1e-5)
    # dropout=1 zeroes the second layer's input, but never the first or the last layer's output
    fused.train()
    out, h_n = fused(x, h0)
    second_layer = nn.GRU(6, 6, batch_first=True)
    second_layer.load_state_dict(
        {
            name.replace("_l1", "_l0"): value
            for name, value in fused.state_dict().items()
            if name.endswith("_l1")
        }
    )
    expected_out, expected_last = second_layer(torch.zeros(3, 5, 6), h0[1:])
    torch.testing.assert_close(out, expected_out, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h_n[1:], expected_last, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h_n[0], reference(x, h0)[1][0], rtol=1e-5, atol=1e-5)


def test_dropout_masks_match_nn_gru_for_the_same_seed():
    torch.manual_seed(9)
    reference, fused = make_pair(4, 6, 3, dropout=0.5)
    x, h0 = torch.randn(3, 5, 4), torch.randn(3, 3, 6)
    torch.manual_seed(10)
    expected = reference(x, h0)
    torch.manual_seed(10)
    actual = fused(x, h0)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(fused(x, h0)[0], actual[0])  # a new mask on the next call


@pytest.mark.parametrize("recurrence", ["cpp", "python"])
def test_gradcheck_passes_for_the_custom_backward_in_float64(recurrence, request):
    implementation = request.getfixturevalue("cpp_kernel") if recurrence == "cpp" else PYTHON
    generator = torch.Generator().manual_seed(11)
    T, N, D, H = 3, 2, 3, 4

    def leaf(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64, requires_grad=True)

    x, h0 = leaf(T, N, D), leaf(N, H)
    w_ih, w_hh, b_ih, b_hh = leaf(3 * H, D), leaf(3 * H, H), leaf(3 * H), leaf(3 * H)
    for biases in ((b_ih, b_hh), (None, None)):
        assert torch.autograd.gradcheck(
            GRULayerFunction.apply, (x, h0, w_ih, w_hh, *biases, implementation)
        )


def test_each_layer_is_one_autograd_node_not_a_chain_per_time_step():
    fused = FusedGRU(4, 6, 2)
    out, _ = fused(torch.randn(3, 50, 4))
    seen, stack = set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and node not in seen:
            seen.add(node)
            stack.extend(next_node for next_node, _ in node.next_functions)
    names = [type(node).__name__ for node in seen]
    assert names.count("GRULayerFunctionBackward") == 2
    assert len(names) < 20  # nn.GRU's CPU graph here has thousands of nodes


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_size": 0, "hidden_size": 4}, "input_size"),
        ({"input_size": 3, "hidden_size": 2.5}, "hidden_size"),
        ({"input_size": 3, "hidden_size": 4, "num_layers": 0}, "num_layers"),
        ({"input_size": 3, "hidden_size": 4, "num_layers": 2, "dropout": 1.5}, "dropout"),
    ],
)
def test_bad_constructor_argument_raises_an_error_naming_it(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FusedGRU(**kwargs)


def test_wrong_input_or_hx_shape_raises_an_error_naming_the_expected_shape():
    fused = FusedGRU(4, 6, 2)
    with pytest.raises(ValueError, match=r"input must have shape \(N, T, 4\)"):
        fused(torch.randn(3, 5, 7))
    with pytest.raises(ValueError, match=r"hx must have shape \(2, 3, 6\)"):
        fused(torch.randn(3, 5, 4), torch.randn(1, 3, 6))


def test_dropout_with_a_single_layer_warns_like_nn_gru():
    with pytest.warns(UserWarning, match="dropout"):
        FusedGRU(4, 6, 1, dropout=0.3)


@pytest.mark.gpu
def test_cuda_outputs_and_gradients_match_nn_gru():
    torch.manual_seed(12)
    reference, fused = make_pair(4, 6, 2)
    reference, fused = reference.cuda(), fused.cuda()
    x, h0, dout, dh_n = (t.cuda() for t in random_case(3, 5, 4, 6, 2, torch.float32))
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        expected = outputs_and_gradients(reference, x, h0, dout, dh_n)
    assert_all_close(outputs_and_gradients(fused, x, h0, dout, dh_n), expected, 1e-5)
