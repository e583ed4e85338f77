"""The recurrent sequence classifier as a plain ``nn.Module``: images in, logits out.

Shape legend: N batch, T time steps (784 / P), P pixels per step (the input size D of the
recurrent layer), H hidden units, C classes, L layers.

The network reads an image (N, 28, 28) in [0, 1] as a sequence of T steps of P pixels (row by
row when P = 28, pixel by pixel when P = 1), optionally after a fixed pixel permutation, runs a
recurrent layer (nn.RNN with tanh, nn.GRU or nn.LSTM; batch first), reads the last step's output
and maps it with a linear head to C logits. ``readout`` applies that head after every step.

Dropout follows the practical's ``DropoutWrapper(output_keep_prob=1 - dropout)``: every layer's
output is dropped, the last layer's included (nn.RNN-style layers only drop between layers, so
the last one gets an extra ``nn.Dropout``). Unlike the practical, which fed ``keep_prob`` only
while training but built its dropout into the evaluated graph as well, dropout here is off in
``eval()`` mode, as usual in PyTorch.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from lightning_module.gru import FusedGRU
from lightning_module.network_size import require_fits_in_memory
from lightning_module.utils.checks import require_choice, require_int, require_number

IMAGE_SIDE = 28
IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE  # 784
CELLS = ("rnn", "gru", "lstm")
HEAD_INITS = ("practical", "default")
GRU_IMPLS = ("auto", "fused", "torch")
L2_SCOPES = ("output", "all")

Cell = Literal["rnn", "gru", "lstm"]
HeadInit = Literal["practical", "default"]
GRUImpl = Literal["auto", "fused", "torch"]


def make_recurrent_layer(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int,
    dropout: float,
    gru_impl: str = "torch",
) -> nn.Module:
    """Build the batch-first recurrent layer: the one place where the cell type becomes a module.

    Args:
        cell: "rnn" (Elman RNN, tanh), "gru" or "lstm"; torch's equations and gate orders
            (nn.GRU: r, z, n; nn.LSTM: i, f, g, o).
        input_size: D, features per step.
        hidden_size: H.
        num_layers: L stacked layers.
        dropout: probability of dropping each layer's output before the next layer
            (used only when L > 1; the last layer's output is dropped by the caller).
        gru_impl: for ``cell="gru"``: "torch" is ``nn.GRU``; "fused" (and "auto", which
            :meth:`SequenceClassifierNet.use_kernels_for` may switch later) is
            :class:`~lightning_module.gru.fused_gru.FusedGRU`, the same function with the same
            parameters, faster to train on CPU (its loops over time are compiled C++ where a
            compiler is found).

    Returns:
        A module mapping (N, T, D) and an optional initial state to ((N, T, H), final state).
    """
    between_layers = dropout if num_layers > 1 else 0.0
    kwargs = dict(
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        dropout=between_layers,
        batch_first=True,
    )
    if cell == "rnn":
        return nn.RNN(nonlinearity="tanh", **kwargs)
    if cell == "gru":
        return nn.GRU(**kwargs) if gru_impl == "torch" else FusedGRU(**kwargs)
    if cell == "lstm":
        return nn.LSTM(**kwargs)
    raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")


def validate_network_args(
    cell: str,
    hidden_size: int,
    num_layers: int,
    dropout: float,
    num_classes: int,
    pixels_per_step: int,
    head_init: str,
    tbptt_steps: int | None,
    gru_impl: str = "auto",
) -> None:
    """Raise ValueError naming the first argument that is out of range, and what is allowed."""
    require_choice("cell", cell, CELLS)
    require_int("hidden_size", hidden_size, 1)
    require_int("num_layers", num_layers, 1)
    require_int("pixels_per_step", pixels_per_step, 1)
    if IMAGE_PIXELS % pixels_per_step != 0:
        raise ValueError(
            f"pixels_per_step must divide {IMAGE_PIXELS} (e.g. 1, 16, 28, 49, 784), "
            f"got {pixels_per_step}"
        )
    require_number("dropout", dropout, 0, 1, high_open=True, what="a probability")
    require_int("num_classes", num_classes, 2)
    require_choice("head_init", head_init, HEAD_INITS)
    require_choice("gru_impl", gru_impl, GRU_IMPLS)
    require_int("tbptt_steps", tbptt_steps, 1, optional=True)
    steps = IMAGE_PIXELS // pixels_per_step
    if tbptt_steps is not None and tbptt_steps > steps:
        # Truncation only acts below the sequence's length: a larger k is full BPTT.
        raise ValueError(
            f"tbptt_steps={tbptt_steps} is more than the {steps} steps that "
            f"pixels_per_step={pixels_per_step} makes of an image, so nothing would be "
            f"truncated: set tbptt_steps to at most {steps}, or leave it unset for full BPTT"
        )
    require_fits_in_memory(cell, hidden_size, num_layers, pixels_per_step, num_classes)


class SequenceClassifierNet(nn.Module):
    """Sequential-MNIST classifier: (N, 28, 28) images in [0, 1] -> (N, C) logits.

    Args:
        cell: "rnn" (tanh), "gru" or "lstm".
        hidden_size: H, the practical's ``memory_units``.
        num_layers: L stacked recurrent layers.
        dropout: probability of dropping each layer's output (the last layer's included), in
            [0, 1); active in training only.
        num_classes: C, the number of classes the head scores (10: MNIST's digits).
        pixels_per_step: P; the image is read as T = 784 / P steps of P pixels.
        permute: read the pixels in a fixed random order (permuted sequential MNIST).
        permute_seed: seed of that order; the permutation itself is a buffer, saved with the
            weights, so a checkpoint keeps it.
        head_init: "practical" draws the head's weights and biases from N(0, 1) as the
            practical's ``tf.random_normal``; "default" keeps torch's nn.Linear init.
        tbptt_steps: k for truncated BPTT in training: the loss's gradient reaches the last k
            steps, for any T. The sequence is cut into chunks of k counted from its end (the
            first chunk is the short one when k does not divide T), the state detached between
            chunks; the only loss is at the last step, so only the last chunk gets gradient and
            the earlier ones run without autograd, bounding activation memory by k steps.
            None, or k >= T, is full BPTT.
        gru_impl: the GRU kernel (``cell="gru"`` only): "torch" (``nn.GRU``), "fused"
            (:class:`~lightning_module.gru.fused_gru.FusedGRU`: same function and parameter names,
            faster to train on CPU, where ``nn.GRU`` has no fused kernel), or "auto": fused on
            CPU, ``nn.GRU`` (cuDNN) on GPU, chosen by :meth:`use_kernels_for`.
    """

    def __init__(
        self,
        cell: Cell = "lstm",
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        num_classes: int = 10,
        pixels_per_step: int = IMAGE_SIDE,
        permute: bool = False,
        permute_seed: int = 0,
        head_init: HeadInit = "default",
        tbptt_steps: int | None = None,
        gru_impl: GRUImpl = "auto",
    ) -> None:
        super().__init__()
        validate_network_args(
            cell,
            hidden_size,
            num_layers,
            dropout,
            num_classes,
            pixels_per_step,
            head_init,
            tbptt_steps,
            gru_impl,
        )
        self.gru_impl = gru_impl
        self.pixels_per_step = pixels_per_step
        self.num_steps = IMAGE_PIXELS // pixels_per_step
        self.tbptt_steps = tbptt_steps
        permutation = None
        if permute:
            generator = torch.Generator().manual_seed(permute_seed)
            permutation = torch.randperm(IMAGE_PIXELS, generator=generator)
        self.register_buffer("permutation", permutation)
        self.rnn = make_recurrent_layer(
            cell, pixels_per_step, hidden_size, num_layers, dropout, gru_impl
        )
        self.output_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_classes)
        if head_init == "practical":
            nn.init.normal_(self.head.weight, mean=0.0, std=1.0)
            nn.init.normal_(self.head.bias, mean=0.0, std=1.0)

    def use_kernels_for(self, device: torch.device | str) -> None:
        """Pick and prepare the GRU kernel for ``device``; nothing to do for other cells.

        With ``gru_impl="auto"``: cuDNN's ``nn.GRU`` on CUDA, :class:`FusedGRU` elsewhere. A
        FusedGRU on CPU then loads its C++ recurrence now (building it on first use), so the
        build happens before training starts, not inside the first step. Call before the
        optimizer is built (a swapped layer's parameters are new objects, with the same names
        and values).
        """
        if self.gru_impl == "auto" and isinstance(self.rnn, (nn.GRU, FusedGRU)):
            wanted = nn.GRU if torch.device(device).type == "cuda" else FusedGRU
            if type(self.rnn) is not wanted:
                old = self.rnn
                new = wanted(
                    input_size=old.input_size,
                    hidden_size=old.hidden_size,
                    num_layers=old.num_layers,
                    dropout=old.dropout,
                    batch_first=True,
                )
                new.load_state_dict(old.state_dict())
                self.rnn = new.to(next(old.parameters()).device)
        if isinstance(self.rnn, FusedGRU):
            self.rnn.recurrence_for(device, next(self.rnn.parameters()).dtype)

    def sequence(self, images: torch.Tensor) -> torch.Tensor:
        """Images (N, 28, 28) or (N, 784) -> the input sequence (N, T, P)."""
        if not images.is_floating_point():
            raise ValueError(
                f"images must be floating point in [0, 1], got dtype {images.dtype}: scale "
                "integer images first, e.g. images.float() / 255 for 8-bit pixels"
            )
        n = images.shape[0]
        if math.prod(images.shape[1:]) != IMAGE_PIXELS:
            raise ValueError(
                f"images must hold {IMAGE_PIXELS} pixels each, e.g. shape (N, 28, 28); "
                f"got shape {tuple(images.shape)}"
            )
        flat = images.reshape(n, IMAGE_PIXELS)
        if self.permutation is not None:
            flat = flat[:, self.permutation]
        return flat.view(n, self.num_steps, self.pixels_per_step)

    def last_output(self, sequence: torch.Tensor) -> torch.Tensor:
        """Run the recurrent layer over (N, T, P) and return the last step's top output (N, H)."""
        k = self.tbptt_steps
        steps = sequence.shape[1]
        if self.training and k is not None and k < steps and torch.is_grad_enabled():
            # Chunks counted from the end, so that the last one, the only one the loss reaches,
            # holds k steps. The earlier chunks would get no gradient through the detached
            # state, so they run as one pass without autograd: the same state, no activations.
            last_start = steps - k
            with torch.no_grad():
                _, state = self.rnn(sequence[:, :last_start])
            outputs, _ = self.rnn(sequence[:, last_start:], state)
        else:
            outputs, _ = self.rnn(sequence)
        return outputs[:, -1]

    def l2_weights(self, scope: str) -> list[nn.Parameter]:
        """The weight matrices an L2 term covers: ``"output"`` the head's, ``"all"`` every one."""
        if scope == "output":
            return [self.head.weight]
        require_choice("l2_scope", scope, L2_SCOPES)
        # torch names recurrent weights weight_ih_l<k> / weight_hh_l<k>; biases are bias_*
        return [
            parameter
            for name, parameter in self.named_parameters()
            if name.rsplit(".", 1)[-1].startswith("weight")
        ]

    def l2_penalty(self, scope: str, l2_lambda: float) -> torch.Tensor:
        """``l2_lambda * 1/2 * ||W||^2`` over ``l2_weights(scope)``: a scalar."""
        if l2_lambda == 0:  # not 0 * ||W||^2, which is nan once weights overflow
            return self.head.weight.new_zeros(())
        squares = torch.stack([w.pow(2).sum() for w in self.l2_weights(scope)]).sum()
        return l2_lambda * 0.5 * squares

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images (N, 28, 28) in [0, 1] -> logits (N, C)."""
        last = self.last_output(self.sequence(images))
        return self.head(self.output_dropout(last))

    def readout(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The head's class probabilities after every step: what the model would say if the image
        ended here.

        The head was trained on the last step only, so earlier steps are a probe of the top
        layer's state, not predictions the model was taught to make; the last step equals
        ``softmax(forward(images))`` (in eval mode: dropout draws its own masks per call).

        Args:
            images: (N, 28, 28) in [0, 1].

        Returns:
            probabilities (N, T, C), and the top layer's outputs (N, T, H) they were read from
            (for an LSTM its hidden state h, not the cell state).
        """
        outputs, _ = self.rnn(self.sequence(images))
        return torch.softmax(self.head(self.output_dropout(outputs)), dim=-1), outputs
