"""FusedGRU: the function and parameters of ``nn.GRU``, with a fast training path on CPU.

Shapes: N batch, T steps, D input features (hidden size of the layer below for layers > 0),
H hidden units. Gate order r, z, n, as in ``nn.GRU``::

    r_t = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)
    z_t = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)
    n_t = tanh(x_t W_in^T + b_in + r_t * (h_{t-1} W_hn^T + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

``weight_ih`` (3H, D) stacks [W_ir; W_iz; W_in], ``weight_hh`` (3H, H) stacks
[W_hr; W_hz; W_hn], and the biases (3H,) likewise, so state dicts load into and from ``nn.GRU``.
Divergence from Cho et al. (2014), shared with ``nn.GRU`` and cuDNN: the reset gate multiplies
``h_{t-1} W_hn^T + b_hn`` *after* the matrix product, not ``h_{t-1}`` before it.

Why a layer of our own: on CPU ``nn.LSTM`` runs through oneDNN, one fused kernel for the
forward and one for the whole backward, but there is no oneDNN GRU, so ``nn.GRU`` is built from
small ATen ops one time step at a time and its backward is their autograd graph; per-op dispatch
and autograd overhead, not arithmetic, dominate (``python scripts/bench_gru.py --profile``
prints the profiles). This layer, per layer and time-major internally:

- forward: the input projection of all T steps is one matmul (all biases except b_hn added
  once); no autograd graph is recorded for the steps.
- backward (``torch.autograd.Function``): the backward recurrence yields the gradients of every
  step's gate pre-activations; the gradients of the input and of all weights and biases are
  then one large matmul or sum each over all T*N rows, instead of T small ones.
- the two loops over time (a :class:`~lightning_module.gru.recurrence.Recurrence`) come in
  two implementations with the same signature and results:

  - ``"cpp"`` (``csrc/gru_recurrence.cpp``, compiled on first use by
    :mod:`lightning_module.gru.build`): per step one matmul and one vectorized pass over the
    (N, H) tile that computes every gate, which removes the per-step dispatch cost. Each
    thread runs the whole loop over time on its own block of the batch's rows (a row of h_t
    depends only on the same row of h_{t-1}), so the threads meet once per sequence, not
    twice per step.
  - ``"python"``: a few small ATen ops per step into preallocated buffers: any device and
    dtype; the fallback where no compiler is found.

Under autocast (``--trainer.precision bf16-mixed``) every matmul of the layer, forward and
backward, runs in the autocast dtype, as each matmul of ``nn.GRU`` would; the gates, the
hidden state, the saved activations and the gradients stay float32, as autocast keeps
elementwise math. On a CPU with native bfloat16 (AVX512-BF16 or AMX) that makes the matmuls
faster than in float32.

On a GPU, ``nn.GRU`` (cuDNN) is the faster choice; this layer works there but is not tuned.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_module.gru.recurrence import (
    PYTHON_RECURRENCE,
    RECURRENCES,
    Recurrence,
    cpp_recurrence,
)
from lightning_module.utils.checks import require_choice, require_int, require_number


def gru_layer_forward(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    recurrence: Recurrence = PYTHON_RECURRENCE,
    matmul_dtype: torch.dtype | None = None,
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Run one GRU layer over a whole sequence, without recording an autograd graph.

    Args:
        x: (T, N, D) inputs, time-major.
        h0: (N, H) initial hidden state.
        w_ih: (3H, D) input weights [W_ir; W_iz; W_in].
        w_hh: (3H, H) recurrent weights [W_hr; W_hz; W_hn].
        b_ih: (3H,) input bias, or None for no bias.
        b_hh: (3H,) recurrent bias, or None for no bias.
        recurrence: which implementation runs the loop over time.
        matmul_dtype: the dtype of every matmul (e.g. the autocast dtype), or None for the
            weights' own; the state and the gates keep ``h0``'s dtype.

    Returns:
        hs: (T, N, H) hidden states h_1..h_T.
        cache: what ``gru_layer_backward`` needs: (x, h0, w_ih, w_hh, hs, rz, n, gh_n), the
            last four as returned by ``recurrence.forward``.
    """
    T, N, D = x.shape
    H = w_hh.shape[1]
    low = _cast_to(matmul_dtype)
    with torch.no_grad():
        # the input projection of all T steps is one matmul
        gx = torch.mm(low(x.reshape(T * N, D)), low(w_ih).t()).view(T, N, 3 * H)
        gx = gx.to(matmul_dtype or w_hh.dtype)  # what an outer autocast chose is overruled
        b_hn = None
        if b_ih is not None:
            # a mm plus one broadcast add over all T*N rows is cheaper than addmm with a
            # bias; only b_hn must stay inside r * (...)
            gx += torch.cat([b_ih[: 2 * H] + b_hh[: 2 * H], b_ih[2 * H :]]).to(gx.dtype)
            b_hn = b_hh[2 * H :]
        hs, rz, n, gh_n = recurrence.forward(gx, h0, low(w_hh), b_hn)
    return hs, (x, h0, w_ih, w_hh, hs, rz, n, gh_n)


def _cast_to(dtype: torch.dtype | None) -> Callable[[Tensor], Tensor]:
    """Tensor -> the same in ``dtype`` (unchanged for None)."""
    if dtype is None:
        return lambda tensor: tensor
    return lambda tensor: tensor.to(dtype)


def gru_layer_backward(
    dhs: Tensor,
    cache: tuple[Tensor, ...],
    need_dx: bool = True,
    recurrence: Recurrence = PYTHON_RECURRENCE,
    matmul_dtype: torch.dtype | None = None,
) -> tuple[Tensor | None, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Backpropagate through one GRU layer over the whole sequence.

    Args:
        dhs: (T, N, H) gradient of the loss w.r.t. each h_t coming from above (the layer's
            output and, for t = T, h_n).
        cache: from ``gru_layer_forward`` run with the same ``recurrence``.
        need_dx: skip the (T*N, 3H) x (3H, D) matmul for dx when the input needs no gradient.
        recurrence: which implementation runs the loop over time.
        matmul_dtype: as in ``gru_layer_forward``; every gradient keeps its tensor's dtype.

    Returns:
        dx: (T, N, D), or None when ``need_dx`` is False.
        dh0: (N, H).
        dw_ih: (3H, D). dw_hh: (3H, H). db_ih: (3H,). db_hh: (3H,).
    """
    x, h0, w_ih, w_hh, hs, rz, n, gh_n = cache
    T, N, D = x.shape
    H = h0.shape[1]
    low = _cast_to(matmul_dtype)
    with torch.no_grad():
        # dgh and dgx_n come in the matmul dtype
        dgh, dgx_n, dh0 = recurrence.backward(dhs, hs, rz, n, gh_n, low(w_hh))
        dgx_n = dgx_n.view(T * N, H)
        # (sums of bfloat16 accumulate in float32; only the result is rounded)
        db_hh = dgh.view(T * N, 3 * H).sum(0).to(w_hh.dtype)
        db_ih = torch.cat([db_hh[: 2 * H], dgx_n.sum(0).to(w_hh.dtype)])
        # The gradients of the input and of every weight: one large matmul over all T*N rows
        # each, instead of T small ones; products in the matmul dtype are cast back.
        dgx_rz = dgh[..., : 2 * H].reshape(T * N, 2 * H)
        dgh_rows = dgh.view(T * N, 3 * H)
        # (features x rows) @ (rows x gates) and a transpose: cheaper than gates^T @ feats
        dw_hh_t = torch.mm(low(hs[:-1].reshape((T - 1) * N, H)).t(), dgh_rows[N:])
        dw_hh = dw_hh_t.to(w_hh.dtype).addmm_(h0.t(), dgh[0].to(h0.dtype)).t()
        x_rows_t = low(x.reshape(T * N, D)).t()
        dw_ih = torch.cat([torch.mm(x_rows_t, dgx_rz), torch.mm(x_rows_t, dgx_n)], 1).t()
        dw_ih = dw_ih.to(w_ih.dtype)
        dx = None
        if need_dx:
            w_ih = low(w_ih)
            dx = torch.addmm(dgx_n @ w_ih[2 * H :], dgx_rz, w_ih[: 2 * H]).view(T, N, D)
            dx = dx.to(x.dtype)
    return dx, dh0, dw_ih, dw_hh, db_ih, db_hh


class GRULayerFunction(torch.autograd.Function):
    """Autograd wrapper of ``gru_layer_forward`` / ``gru_layer_backward`` (time-major)."""

    @staticmethod
    def forward(
        ctx, x, h0, w_ih, w_hh, b_ih, b_hh, recurrence=PYTHON_RECURRENCE, matmul_dtype=None
    ):
        hs, cache = gru_layer_forward(x, h0, w_ih, w_hh, b_ih, b_hh, recurrence, matmul_dtype)
        ctx.save_for_backward(*cache)
        ctx.has_bias = b_ih is not None
        ctx.recurrence = recurrence
        ctx.matmul_dtype = matmul_dtype
        return hs

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dhs):
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = gru_layer_backward(
            dhs,
            ctx.saved_tensors,
            need_dx=ctx.needs_input_grad[0],
            recurrence=ctx.recurrence,
            matmul_dtype=ctx.matmul_dtype,
        )
        if not ctx.has_bias:
            db_ih = db_hh = None
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None, None


class FusedGRU(nn.Module):
    """Multi-layer GRU with the constructor, parameters, init and outputs of ``nn.GRU``.

    Args:
        input_size: D, features per time step of the input.
        hidden_size: H, hidden units per layer.
        num_layers: stacked GRU layers; layer k > 0 reads the outputs of layer k - 1.
        bias: whether the layers have ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: inputs and outputs are (N, T, features) if True, else (T, N, features).
        dropout: probability of dropout on the outputs of every layer except the last, in
            training mode only (as ``nn.GRU``).
        recurrence: who runs the loops over time: "cpp" (the compiled kernel of
            ``csrc/gru_recurrence.cpp``, built on first use; CPU float32/float64 only),
            "python" (ATen ops from Python: any device and dtype) or "auto" (C++ where it
            applies and can be built, else Python, with a warning when the build is missing).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        recurrence: str = "auto",
    ) -> None:
        super().__init__()
        require_choice("FusedGRU: recurrence", recurrence, RECURRENCES)
        for name, value in [
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ]:
            require_int(f"FusedGRU: {name}", value, 1)
        require_number("FusedGRU: dropout", dropout, 0, 1)
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "FusedGRU: dropout applies between layers only, so it has no effect with "
                f"num_layers=1 (got dropout={dropout})",
                stacklevel=2,
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.recurrence = recurrence
        # registered in nn.GRU's order so that the same seed gives the same initial weights
        for k in range(num_layers):
            layer_input = input_size if k == 0 else hidden_size
            self.register_parameter(
                f"weight_ih_l{k}", nn.Parameter(torch.empty(3 * hidden_size, layer_input))
            )
            self.register_parameter(
                f"weight_hh_l{k}", nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
            )
            if bias:
                self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(3 * hidden_size)))
                self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(3 * hidden_size)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, as ``nn.GRU``."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def flatten_parameters(self) -> None:
        """No-op, so code written for ``nn.GRU`` (which packs weights for cuDNN) runs unchanged."""

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"bias={self.bias}, batch_first={self.batch_first}, dropout={self.dropout}, "
            f"recurrence={self.recurrence!r}"
        )

    def recurrence_for(self, device: torch.device | str, dtype: torch.dtype) -> Recurrence:
        """The implementation of the loops over time that runs for inputs on ``device`` of
        ``dtype`` (loading, and on first use building, the C++ one when it applies)."""
        if self.recurrence == "python":
            return PYTHON_RECURRENCE
        device = torch.device(device)
        fits = device.type == "cpu" and dtype in (torch.float32, torch.float64)
        if self.recurrence == "cpp" and not fits:
            raise ValueError(
                "FusedGRU(recurrence='cpp') needs CPU float32 or float64 inputs, got "
                f"{dtype} on {device}; use recurrence='auto' or 'python'"
            )
        if not fits:
            return PYTHON_RECURRENCE
        return cpp_recurrence(required=self.recurrence == "cpp") or PYTHON_RECURRENCE

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Run all layers over the sequence.

        Args:
            input: (N, T, D) if ``batch_first`` else (T, N, D); or (T, D) unbatched.
            hx: (num_layers, N, H) initial hidden states ((num_layers, H) unbatched); zeros
                if None.

        Returns:
            output: (N, T, H) if ``batch_first`` else (T, N, H) (or (T, H) unbatched), the last
                layer's hidden state at every step.
            h_n: (num_layers, N, H) (or (num_layers, H) unbatched), every layer's last state.
        """
        unbatched = input.dim() == 2
        if input.dim() not in (2, 3) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"FusedGRU: input must have shape (N, T, {self.input_size}) "
                f"(batch_first={self.batch_first}) or (T, {self.input_size}), "
                f"got {tuple(input.shape)}"
            )
        batch_dim = 0 if self.batch_first else 1
        if unbatched:
            input = input.unsqueeze(batch_dim)
            hx = None if hx is None else hx.unsqueeze(1)
        x = input.transpose(0, 1) if self.batch_first else input
        T, N = x.shape[0], x.shape[1]
        if T == 0:
            raise ValueError("FusedGRU: input must have at least one time step, got T=0")
        expected_hx = (self.num_layers, N, self.hidden_size)
        if hx is None:
            hx = x.new_zeros(expected_hx)
        elif tuple(hx.shape) != expected_hx:
            raise ValueError(
                f"FusedGRU: hx must have shape {expected_hx}, got {tuple(hx.shape)}"
                + (" (before adding the batch dim of unbatched input)" if unbatched else "")
            )
        x = x.contiguous()
        recurrence = self.recurrence_for(x.device, x.dtype)
        device_type = x.device.type
        matmul_dtype = None
        if torch.is_autocast_enabled(device_type):
            matmul_dtype = torch.get_autocast_dtype(device_type)
        last_states = []
        for k in range(self.num_layers):
            if k > 0 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, training=True)
            b_ih = getattr(self, f"bias_ih_l{k}") if self.bias else None
            b_hh = getattr(self, f"bias_hh_l{k}") if self.bias else None
            x = GRULayerFunction.apply(
                x,
                hx[k],
                getattr(self, f"weight_ih_l{k}"),
                getattr(self, f"weight_hh_l{k}"),
                b_ih,
                b_hh,
                recurrence,
                matmul_dtype,
            )
            last_states.append(x[-1])
        output = x.transpose(0, 1) if self.batch_first else x
        h_n = torch.stack(last_states, 0)
        if unbatched:
            return output.squeeze(batch_dim), h_n.squeeze(1)
        return output, h_n
