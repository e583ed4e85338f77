"""SequenceClassifierNet: sequence view, permutation, cells, dropout, head init, truncated BPTT."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightning_module.network import SequenceClassifierNet, make_recurrent_layer


def images(n: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 28, 28, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("pixels_per_step", [28, 1, 16])
def test_network_maps_images_to_logits_for_every_cell_and_step_size(cell, pixels_per_step):
    net = SequenceClassifierNet(cell=cell, hidden_size=6, pixels_per_step=pixels_per_step)
    assert net.num_steps == 784 // pixels_per_step
    assert net.sequence(images()).shape == (4, 784 // pixels_per_step, pixels_per_step)
    # oneDNN would first build a kernel for this shape: seconds for 784 steps
    with torch.backends.mkldnn.flags(enabled=pixels_per_step != 1):
        assert net(images()).shape == (4, 10)


@pytest.mark.parametrize(
    ("cell", "expected"), [("rnn", nn.RNN), ("gru", nn.GRU), ("lstm", nn.LSTM)]
)
def test_recurrent_layer_is_the_torch_layer_named_by_cell(cell, expected):
    layer = make_recurrent_layer(cell, input_size=28, hidden_size=5, num_layers=2, dropout=0.3)
    assert type(layer) is expected
    assert layer.batch_first and layer.num_layers == 2 and layer.dropout == 0.3
    if cell == "rnn":
        assert layer.nonlinearity == "tanh"


def test_network_equals_the_same_computation_written_out_with_torch():
    net = SequenceClassifierNet(cell="lstm", hidden_size=7, pixels_per_step=16).eval()
    x = images()
    outputs, _ = net.rnn(x.reshape(4, 49, 16))
    expected = outputs[:, -1] @ net.head.weight.T + net.head.bias
    torch.testing.assert_close(net(x), expected)


def test_row_sequence_reads_the_image_row_by_row():
    x = images()
    net = SequenceClassifierNet(pixels_per_step=28)
    assert torch.equal(net.sequence(x), x)


def test_permutation_is_a_fixed_buffer_from_the_seed_and_travels_in_the_state_dict():
    a = SequenceClassifierNet(permute=True, permute_seed=3, pixels_per_step=28)
    b = SequenceClassifierNet(permute=True, permute_seed=3, pixels_per_step=28)
    c = SequenceClassifierNet(permute=True, permute_seed=4, pixels_per_step=28)
    assert torch.equal(a.permutation, b.permutation)
    assert not torch.equal(a.permutation, c.permutation)
    assert torch.equal(torch.sort(a.permutation).values, torch.arange(784))
    assert torch.equal(a.state_dict()["permutation"], a.permutation)
    x = images()
    assert torch.equal(a.sequence(x).reshape(4, 784), x.reshape(4, 784)[:, a.permutation])
    c.load_state_dict(a.state_dict())
    assert torch.equal(c.permutation, a.permutation)


def test_unpermuted_network_has_no_permutation_in_its_state_dict():
    assert "permutation" not in SequenceClassifierNet().state_dict()


def test_practical_head_init_draws_weights_and_biases_from_a_standard_normal():
    torch.manual_seed(0)
    net = SequenceClassifierNet(hidden_size=256, head_init="practical")
    values = torch.cat([net.head.weight.flatten(), net.head.bias])
    assert abs(values.mean().item()) < 0.1
    assert 0.9 < values.std().item() < 1.1
    default = SequenceClassifierNet(hidden_size=256, head_init="default")
    assert default.head.weight.abs().max().item() <= 1 / 256**0.5


def test_dropout_drops_the_last_layers_output_in_training_and_is_off_in_eval():
    net = SequenceClassifierNet(cell="rnn", hidden_size=8, dropout=0.5)
    x = images()
    net.train()
    torch.manual_seed(0)
    first = net(x)
    torch.manual_seed(1)
    second = net(x)
    assert not torch.allclose(first, second)  # one layer: only the output dropout is random
    net.eval()
    assert torch.equal(net(x), net(x))
    assert torch.allclose(net(x), net.head(net.last_output(net.sequence(x))))


def test_dropout_is_passed_to_the_stacked_layers_and_the_output():
    net = SequenceClassifierNet(cell="gru", hidden_size=8, num_layers=3, dropout=0.25)
    assert net.rnn.dropout == 0.25
    assert net.output_dropout.p == 0.25


def gradients(net: SequenceClassifierNet, x: torch.Tensor) -> dict[str, torch.Tensor]:
    net.zero_grad()
    net(x).pow(2).sum().backward()
    return {name: p.grad.clone() for name, p in net.named_parameters()}


@pytest.mark.parametrize("k", [1, 5, 10, 14, 27])
def test_truncated_bptt_with_k_below_t_equals_backprop_through_only_the_last_k_steps(k):
    torch.manual_seed(0)
    net = SequenceClassifierNet(cell="lstm", hidden_size=6, pixels_per_step=28, tbptt_steps=k)
    x = images()
    got = gradients(net.train(), x)
    # Oracle: run the whole sequence, detach the state k steps before the end, backprop.
    sequence = net.sequence(x)
    last_start = 28 - k
    net.zero_grad()
    with torch.no_grad():
        _, state = net.rnn(sequence[:, :last_start])
    outputs, _ = net.rnn(sequence[:, last_start:], state)
    net.head(outputs[:, -1]).pow(2).sum().backward()
    for name, p in net.named_parameters():
        torch.testing.assert_close(got[name], p.grad, rtol=1e-5, atol=1e-6)
    full = SequenceClassifierNet(cell="lstm", hidden_size=6, pixels_per_step=28)
    full.load_state_dict(net.state_dict())
    expected = gradients(full.train(), x)
    assert not torch.equal(expected["rnn.weight_hh_l0"], got["rnn.weight_hh_l0"])


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("k", [5, 7])
def test_truncated_bptt_gradient_reaches_exactly_the_last_k_of_28_steps(cell, k):
    """Whether or not k divides T = 28: dL/dx_t is zero before the last k steps, not within."""
    torch.manual_seed(0)
    net = SequenceClassifierNet(
        cell=cell, hidden_size=6, pixels_per_step=28, tbptt_steps=k, gru_impl="torch"
    ).train()
    sequence = net.sequence(images()).clone().requires_grad_(True)
    net.head(net.last_output(sequence)).pow(2).sum().backward()
    per_step = sequence.grad.abs().sum(dim=(0, 2))  # (T,)
    assert torch.all(per_step[: 28 - k] == 0)
    assert torch.all(per_step[28 - k :] > 0)
    full = SequenceClassifierNet(cell=cell, hidden_size=6, pixels_per_step=28, gru_impl="torch")
    full.load_state_dict(net.state_dict())
    sequence = sequence.detach().requires_grad_(True)
    full.train().head(full.last_output(sequence)).pow(2).sum().backward()
    assert torch.all(sequence.grad.abs().sum(dim=(0, 2)) > 0)  # untruncated: every step


def test_truncated_bptt_leaves_the_forward_values_unchanged():
    torch.manual_seed(0)
    net = SequenceClassifierNet(cell="gru", hidden_size=6, pixels_per_step=16, tbptt_steps=10)
    x = images()
    with torch.no_grad():
        eval_logits = net.eval()(x)
    train_logits = net.train()(x)
    torch.testing.assert_close(train_logits, eval_logits)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cell": "transformer"}, "cell must be one of"),
        ({"pixels_per_step": 27}, "pixels_per_step must divide 784"),
        ({"pixels_per_step": 0}, "pixels_per_step must be an integer >= 1"),
        ({"hidden_size": 0}, "hidden_size must be an integer >= 1"),
        ({"num_layers": 0}, "num_layers must be an integer >= 1"),
        ({"dropout": 1.0}, r"dropout must be a probability in \[0, 1\)"),
        ({"dropout": -0.1}, r"dropout must be a probability in \[0, 1\)"),
        ({"num_classes": 1}, "num_classes must be an integer >= 2"),
        ({"head_init": "xavier"}, "head_init must be one of"),
        ({"tbptt_steps": 0}, "tbptt_steps must be None or an integer >= 1"),
    ],
)
def test_network_refuses_bad_arguments_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SequenceClassifierNet(**kwargs)


def test_network_refuses_images_without_784_pixels():
    with pytest.raises(ValueError, match="784 pixels"):
        SequenceClassifierNet()(torch.rand(2, 28, 27))


@pytest.mark.parametrize(
    ("cell", "pixels_per_step", "num_layers"),
    [("rnn", 28, 1), ("gru", 28, 1), ("lstm", 28, 1), ("lstm", 16, 2), ("gru", 49, 2)],
)
def test_readout_gives_the_heads_probabilities_after_every_step_the_last_equal_to_forward(
    cell, pixels_per_step, num_layers
):
    net = SequenceClassifierNet(
        cell=cell, hidden_size=6, pixels_per_step=pixels_per_step, num_layers=num_layers
    ).eval()
    x = images()
    with torch.no_grad():
        probabilities, hidden = net.readout(x)
        outputs, _ = net.rnn(net.sequence(x))
        logits = net(x)
    steps = 784 // pixels_per_step
    assert probabilities.shape == (4, steps, 10) and hidden.shape == (4, steps, 6)
    torch.testing.assert_close(hidden, outputs)  # the top layer's output at every step
    torch.testing.assert_close(probabilities[:, -1], torch.softmax(logits, dim=1))
    torch.testing.assert_close(probabilities, torch.softmax(net.head(outputs), dim=2))
    torch.testing.assert_close(probabilities.sum(dim=2), torch.ones(4, steps))
    # the earlier steps differ from the last one: the head really is applied per step
    assert not torch.allclose(probabilities[:, 0], probabilities[:, -1])
