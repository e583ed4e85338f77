"""The GRU kernel option: FusedGRU and nn.GRU are interchangeable inside the classifier."""

import pytest
import torch
from torch import nn

from lightning_module import RecurrentClassifier, SequenceClassifierNet
from lightning_module.gru.fused_gru import FusedGRU


def images(n=5, seed=0):
    return torch.rand(n, 28, 28, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("gru_impl", "layer_type"), [("auto", FusedGRU), ("fused", FusedGRU), ("torch", nn.GRU)]
)
def test_gru_impl_selects_the_layer_on_cpu(gru_impl, layer_type):
    net = SequenceClassifierNet(cell="gru", hidden_size=6, gru_impl=gru_impl)
    net.use_kernels_for("cpu")
    assert type(net.rnn) is layer_type


def test_preparing_for_cpu_loads_the_cpp_recurrence_before_any_forward(kernel_unavailable):
    net = SequenceClassifierNet(cell="gru", hidden_size=6, gru_impl="auto")
    with pytest.warns(RuntimeWarning, match=r"no C\+\+ compiler \(test\)"):
        net.use_kernels_for("cpu")


def test_fused_and_torch_gru_networks_give_the_same_logits_and_gradients_with_the_same_weights():
    torch.manual_seed(0)
    fused = SequenceClassifierNet(cell="gru", hidden_size=6, num_layers=2, gru_impl="fused")
    reference = SequenceClassifierNet(cell="gru", hidden_size=6, num_layers=2, gru_impl="torch")
    reference.load_state_dict(fused.state_dict())
    x = images()
    out_fused, out_reference = fused(x), reference(x)
    torch.testing.assert_close(out_fused, out_reference, rtol=1e-5, atol=1e-6)
    out_fused.square().sum().backward()
    out_reference.square().sum().backward()
    grads_reference = dict(reference.named_parameters())
    for name, parameter in fused.named_parameters():
        torch.testing.assert_close(
            parameter.grad, grads_reference[name].grad, rtol=1e-5, atol=1e-6, msg=name
        )


def test_auto_switches_to_cudnn_gru_for_cuda_and_back_keeping_the_weights():
    net = SequenceClassifierNet(cell="gru", hidden_size=6, gru_impl="auto").eval()
    x = images()
    before = net(x)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    net.use_kernels_for("cuda")  # only the layer type changes; no CUDA needed to build it
    assert type(net.rnn) is nn.GRU
    assert net.state_dict().keys() == state.keys()
    torch.testing.assert_close(net(x), before, rtol=1e-5, atol=1e-6)
    net.use_kernels_for(torch.device("cpu"))
    assert type(net.rnn) is FusedGRU
    for name, value in net.state_dict().items():
        assert torch.equal(value, state[name]), name


@pytest.mark.parametrize("gru_impl", ["fused", "torch"])
def test_explicit_gru_impl_is_never_switched(gru_impl):
    net = SequenceClassifierNet(cell="gru", hidden_size=4, gru_impl=gru_impl)
    layer = net.rnn
    net.use_kernels_for("cuda")
    net.use_kernels_for("cpu")
    assert net.rnn is layer


def test_a_checkpointed_torch_gru_loads_into_a_fused_gru_classifier():
    torch.manual_seed(1)
    trained = RecurrentClassifier(cell="gru", hidden_size=5, gru_impl="torch").eval()
    restored = RecurrentClassifier(cell="gru", hidden_size=5, gru_impl="fused").eval()
    restored.load_state_dict(trained.state_dict())
    x = images()
    torch.testing.assert_close(restored(x), trained(x), rtol=1e-5, atol=1e-6)


def test_unknown_gru_impl_is_refused_naming_the_argument():
    with pytest.raises(ValueError, match="gru_impl must be one of"):
        RecurrentClassifier(cell="gru", gru_impl="cudnn")
