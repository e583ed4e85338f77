"""The sequential part of a GRU layer, its two loops over time, in two implementations.

``FusedGRU`` (``fused_gru.py``) does everything that is one large matmul or sum over all time
steps itself and hands the loops over time to a :class:`Recurrence`: the Python loops of ATen
ops below (any device and dtype; the oracle in the tests) or the C++ ops of
``csrc/gru_recurrence.cpp`` (CPU float32/float64, built on first use by
:mod:`lightning_module.gru.build`).

Shapes: N batch, T steps, H hidden units. Gate order r, z, n, as in ``nn.GRU``; ``gx`` holds
x_t W_ih^T plus every bias except b_hn, which sits inside r * (h W_hn^T + b_hn).

The matmuls run in ``w_hh``'s dtype, the matmul dtype. When it is lower than the state's
(bfloat16 ``w_hh`` under autocast, float32 ``h0``), ``gx`` comes in the matmul dtype and the
backward returns ``dgh`` and ``dgx_n`` in it (they are only ever matmul operands or summed);
each step casts its matmul's operand down and its product up, and the gates, the state and
the saved activations keep the state's dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from lightning_module.gru.build import load_gru_recurrence, warn_once


@dataclass(frozen=True)
class Recurrence:
    """The sequential part of a GRU layer: both loops over time, as a swappable pair.

    ``forward(gx, h0, w_hh, b_hn) -> (hs, rz, n, gh_n)`` and
    ``backward(dhs, hs, rz, n, gh_n, w_hh) -> (dgh, dgx_n, dh0)``; the shapes are in
    :func:`python_forward_recurrence` and :func:`python_backward_recurrence`, which are one
    implementation; the C++ ops of ``csrc/gru_recurrence.cpp`` are the other.
    """

    name: str
    forward: Callable[..., tuple[Tensor, Tensor, Tensor, Tensor]]
    backward: Callable[..., tuple[Tensor, Tensor, Tensor]]


LOW_MATMUL_DTYPES = (torch.bfloat16, torch.float16)


def check_matmul_dtypes(w_hh: Tensor, state: Tensor, gx: Tensor | None = None) -> None:
    """The dtype contract both recurrences share, as the C++ ops check it: ``w_hh`` has the
    state's dtype or a lower one (bfloat16/float16), and ``gx`` has ``w_hh``'s."""
    if w_hh.dtype != state.dtype and w_hh.dtype not in LOW_MATMUL_DTYPES:
        raise ValueError(
            f"w_hh must have the state's dtype ({state.dtype}) or bfloat16/float16 for "
            f"lower-precision matmuls, got {w_hh.dtype}"
        )
    if gx is not None and gx.dtype != w_hh.dtype:
        raise ValueError(
            f"gx must have w_hh's dtype (the matmuls' dtype, {w_hh.dtype}), got {gx.dtype}"
        )


def python_forward_recurrence(
    gx: Tensor, h0: Tensor, w_hh: Tensor, b_hn: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The forward loop over time, 7 small ATen ops per step into preallocated buffers.

    Args:
        gx: (T, N, 3H) x_t W_ih^T plus every bias except b_hn, per gate [r, z, n], in the
            matmul dtype.
        h0: (N, H) initial hidden state, in the state's dtype.
        w_hh: (3H, H) recurrent weights [W_hr; W_hz; W_hn], in the matmuls' dtype.
        b_hn: (H,) the recurrent bias of the candidate, which sits inside r * (...), or None.

    Returns:
        hs: (T, N, H) hidden states h_1..h_T.
        rz: (T, N, 2H) the gates [r, z].
        n: (T, N, H) the candidate states.
        gh_n: (T, N, H) h_{t-1} W_hn^T + b_hn.
    """
    check_matmul_dtypes(w_hh, h0, gx)
    T, N = gx.shape[0], gx.shape[1]
    H = h0.shape[1]
    gx = gx.to(h0.dtype)
    gh = gx.new_empty(T, N, 3 * H)
    rz = gx.new_empty(T, N, 2 * H)
    n = gx.new_empty(T, N, H)
    hs = gx.new_empty(T, N, H)
    # unbind once: slicing inside the loop would cost a Python-level op per view per step
    gx_rz, gx_n = gx[..., : 2 * H].unbind(0), gx[..., 2 * H :].unbind(0)
    gh_t, gh_rz, gh_n = gh.unbind(0), gh[..., : 2 * H].unbind(0), gh[..., 2 * H :].unbind(0)
    rz_t, r_t, z_t = rz.unbind(0), rz[..., :H].unbind(0), rz[..., H:].unbind(0)
    n_t, hs_t = n.unbind(0), hs.unbind(0)
    w_hh_t = w_hh.t()
    low = w_hh.dtype != gx.dtype
    h = h0
    for t in range(T):
        if low:
            gh_t[t].copy_(torch.mm(h.to(w_hh.dtype), w_hh_t))
        else:
            torch.mm(h, w_hh_t, out=gh_t[t])
        if b_hn is not None:
            gh_n[t].add_(b_hn)
        torch.add(gx_rz[t], gh_rz[t], out=rz_t[t]).sigmoid_()
        torch.addcmul(gx_n[t], r_t[t], gh_n[t], out=n_t[t]).tanh_()
        # lerp(n, h, z) = n + z * (h - n) = (1 - z) * n + z * h
        torch.lerp(n_t[t], h, z_t[t], out=hs_t[t])
        h = hs_t[t]
    return hs, rz, n, gh[..., 2 * H :]


def python_backward_recurrence(
    dhs: Tensor, hs: Tensor, rz: Tensor, n: Tensor, gh_n: Tensor, w_hh: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """The backward loop over time, 10 small elementwise ops and one ``addmm_`` per step.

    Args:
        dhs: (T, N, H) gradient of the loss w.r.t. each h_t coming from above (the layer's
            output and, for t = T, h_n).
        hs, rz, n, gh_n: from the forward recurrence.
        w_hh: (3H, H) recurrent weights, in the matmuls' dtype.

    Returns:
        dgh: (T, N, 3H) dL/d(h_{t-1} W_hh^T + b_hh) per gate, in the matmul dtype; for r and
            z it is also dL/d(x_t W_i*^T + b_i*).
        dgx_n: (T, N, H) dL/d(x_t W_in^T + b_in), in the matmul dtype.
        dh0: (N, H) dL/dh_0, in the state's dtype.
    """
    check_matmul_dtypes(w_hh, hs)
    T, N, H = hs.shape
    # The step's factors are used while that step's gates are in cache: precomputing them for
    # all T at once, as whole-sequence ops, would stream several T x N x H arrays through
    # memory instead.
    dgh = hs.new_empty(T, N, 3 * H)
    dgx_n = hs.new_empty(T, N, H)
    dgh_t, dgx_n_t = dgh.unbind(0), dgx_n.unbind(0)
    dg_r_t, dg_z_t, dgh_n_t = (
        dgh[..., :H].unbind(0),
        dgh[..., H : 2 * H].unbind(0),
        dgh[..., 2 * H :].unbind(0),
    )
    r_t, z_t, n_t = rz[..., :H].unbind(0), rz[..., H:].unbind(0), n.unbind(0)
    gh_n_t, hs_t, dhs_t = gh_n.unbind(0), hs.unbind(0), dhs.unbind(0)
    dh = dhs_t[T - 1].clone()  # dL/dh_t, accumulated backwards through time
    low = w_hh.dtype != hs.dtype
    for t in range(T - 1, -1, -1):
        r, z, n_now = r_t[t], z_t[t], n_t[t]
        dh_from_n = dh - dh * z  # dL/dn_t = dh_t (1 - z)
        # dL/dz pre-activation: dh_t (h_{t-1} - n) z (1 - z) = dh_t (1 - z)(h_t - n)
        torch.sub(hs_t[t], n_now, out=dg_z_t[t]).mul_(dh_from_n)
        # dL/dn pre-activation: dL/dn_t (1 - n^2)
        dn_pre = torch.mul(dh_from_n, n_now, out=dgx_n_t[t])
        torch.addcmul(dh_from_n, dn_pre, n_now, value=-1, out=dn_pre)
        torch.mul(dn_pre, r, out=dgh_n_t[t])
        # dL/dr pre-activation: dn_pre gh_n r (1 - r) = c - c r with c = dn_pre r gh_n
        torch.mul(dgh_n_t[t], gh_n_t[t], out=dg_r_t[t])
        dg_r_t[t].addcmul_(dg_r_t[t], r, value=-1)
        from_above = dhs_t[t - 1] if t > 0 else torch.zeros_like(dh)
        dh = torch.addcmul(from_above, dh, z)
        if low:
            dh.add_(torch.mm(dgh_t[t].to(w_hh.dtype), w_hh))
        else:
            dh.addmm_(dgh_t[t], w_hh)
    return dgh.to(w_hh.dtype), dgx_n.to(w_hh.dtype), dh


PYTHON_RECURRENCE = Recurrence("python", python_forward_recurrence, python_backward_recurrence)
RECURRENCES = ("auto", "cpp", "python")


def cpp_recurrence(required: bool) -> Recurrence | None:
    """The C++ recurrence, building it on first use; None (with a warning, once) when it
    can't be built, or a RuntimeError saying why when ``required``."""
    kernel, reason = load_gru_recurrence()
    if kernel is None:
        message = f"the C++ GRU recurrence is not available: {reason}"
        if required:
            raise RuntimeError(f"FusedGRU(recurrence='cpp'): {message}")
        warn_once(f"FusedGRU: {message}; running the Python loop (same results, slower)")
        return None
    return Recurrence("cpp", kernel.forward, kernel.backward)
