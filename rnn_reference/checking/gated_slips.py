"""Notebook 2's GRU and LSTM steps written with slips: each term of the reference with the
mistakes a learner makes in it (gate orders of other libraries, Cho et al.'s reset, derivatives).

Shape legend: N batch, D input, H hidden. Without a slip each function returns exactly what
:mod:`rnn_reference.gru`'s and :mod:`rnn_reference.lstm`'s steps do.
"""

from __future__ import annotations

import numpy as np

from rnn_reference.checking.slips import (
    Slip,
    batch_sum,
    orders,
    sigmoid_derivative,
    swaps,
    tanh_derivative,
)
from rnn_reference.layers import sigmoid

GRU_GATES = ("r", "z", "n")
LSTM_GATES = ("i", "f", "g", "o")
GRU_CACHE = ("x", "h_prev", "r", "z", "n", "hn", "params")
LSTM_CACHE = ("x", "h_prev", "c_prev", "i", "f", "g", "o", "tanh_c", "params")
# Where a learner may have met another order: Keras's GRU, TensorFlow's LSTMCell (j for g).
KNOWN_ORDERS = {
    ("z", "r", "n"): "Keras's z, r, h",
    ("i", "g", "f", "o"): "TensorFlow's i, j, f, o",
}


def _blocks(a, order, H):
    """The H-column blocks of ``a`` (N, kH) by gate name, read in ``order``."""
    return {name: a[:, k * H : (k + 1) * H] for k, name in enumerate(order)}


def _products(slip, x, h_prev, params, gates):
    """``x @ weight_ih.T + bias_ih`` and ``h_prev @ weight_hh.T`` (+ ``bias_hh``), with slips."""
    W_ih, W_hh, b_ih, b_hh = (params[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    size = f"{len(gates)}H"
    xw = slip(
        "x @ weight_ih.T",
        x @ W_ih.T,
        untransposed=(
            f"weight_ih is ({size}, D): the input part is x @ weight_ih.T",
            lambda: x @ W_ih,
        ),
    )
    hw = slip(
        "h_prev @ weight_hh.T",
        h_prev @ W_hh.T,
        untransposed=(
            f"weight_hh is ({size}, H): the hidden part is h_prev @ weight_hh.T",
            lambda: h_prev @ W_hh,
        ),
    )
    bi = slip(
        "bias_ih", b_ih, dropped=("bias_ih is missing: add it to x @ weight_ih.T", lambda: 0.0)
    )
    bh = slip(
        "bias_hh", b_hh, dropped=("bias_hh is missing: add it to h_prev @ weight_hh.T", lambda: 0.0)
    )
    return xw + bi, hw, bh


def _gate(slip, name, a):
    return slip(
        f"{name}'s sigmoid",
        sigmoid(a),
        tanh=(f"gate {name} is a sigmoid, not a tanh", lambda: np.tanh(a)),
    )


def gru_step_forward_slips(x, h_prev, params, slip=None):
    """:func:`~rnn_reference.gru.gru_step_forward` with slips."""
    slip = slip or Slip()
    H = h_prev.shape[1]
    gi, hw, bh = _products(slip, x, h_prev, params, GRU_GATES)
    gh = hw + bh
    order = slip("gate order", GRU_GATES, **orders(GRU_GATES, "the gates are read", KNOWN_ORDERS))
    i_part, h_part, w_part = _blocks(gi, order, H), _blocks(gh, order, H), _blocks(hw, order, H)
    b_n = _blocks(np.broadcast_to(bh, gh.shape), order, H)["n"]
    r = _gate(slip, "r", i_part["r"] + h_part["r"])
    z = _gate(slip, "z", i_part["z"] + h_part["z"])
    hn = h_part["n"]
    W_hn = params["weight_hh"][order.index("n") * H : (order.index("n") + 1) * H]
    a_n = slip(
        "n's argument",
        i_part["n"] + r * hn,
        reset_before=(
            "the reset gate multiplies h_prev before the matrix product (Cho et al., the "
            "practical's equation); torch's GRU applies it after: r * (h_prev @ W_hn.T + b_hn)",
            lambda: i_part["n"] + (r * h_prev) @ W_hn.T + b_n,
        ),
        bias_outside=(
            "b_hn is inside the reset: r * (h_prev @ W_hn.T + b_hn), "
            "not r * (h_prev @ W_hn.T) + b_hn",
            lambda: i_part["n"] + r * w_part["n"] + b_n,
        ),
        no_reset=("the reset gate is missing: n = tanh(gi_n + r * hn)", lambda: i_part["n"] + hn),
    )
    n = slip(
        "n's tanh",
        np.tanh(a_n),
        sigmoid=("n, the candidate state, is a tanh, not a sigmoid", lambda: sigmoid(a_n)),
    )
    h = slip(
        "h",
        (1.0 - z) * n + z * h_prev,
        swapped=(
            "z and 1 - z are swapped: h = (1 - z) * n + z * h_prev",
            lambda: z * n + (1 - z) * h_prev,
        ),
        no_direct=("the direct path is missing: h = (1 - z) * n + z * h_prev", lambda: (1 - z) * n),
    )
    cached_n = slip(
        "cached n",
        n,
        pre_activation=("the cache's n must be tanh's output, not its argument", lambda: a_n),
    )
    cached_hn = slip(
        "cached hn",
        hn,
        no_bias=(
            "the cache's hn is the n block of gh, bias included: h_prev @ W_hn.T + b_hn",
            lambda: w_part["n"],
        ),
    )
    cache = (x, h_prev, r, z, cached_n, cached_hn, params)
    cache = slip("cache order", cache, **swaps(cache, GRU_CACHE, "the cache"))
    return h, cache


def gru_step_backward_slips(dh, cache, slip=None):
    """:func:`~rnn_reference.gru.gru_step_backward` with slips."""
    slip = slip or Slip()
    x, h_prev, r, z, n, hn, params = cache
    swapped = slip(
        "z's role",
        False,
        swapped=(
            "z and 1 - z are swapped: h = (1 - z) * n + z * h_prev, so dn = dh * (1 - z), "
            "dz = dh * (h_prev - n) and the direct path is dh * z",
            lambda: True,
        ),
    )
    keep, new = (1.0 - z, z) if swapped else (z, 1.0 - z)
    dn = dh * new
    dz = slip(
        "dz",
        dh * (n - h_prev) if swapped else dh * (h_prev - n),
        flipped=("dz has the wrong sign: dz = dh * (h_prev - n)", lambda: dh * (n - h_prev)),
    )
    dn_pre = slip("n's tanh derivative", dn * (1.0 - n**2), **tanh_derivative(n, dn, "n"))
    dr = slip(
        "dr",
        dn_pre * hn,
        h_prev=(
            "r multiplies hn (the n block of gh): dr = da_n * hn, not da_n * h_prev",
            lambda: dn_pre * h_prev,
        ),
    )
    dr_pre = slip("r's sigmoid derivative", dr * r * (1.0 - r), **sigmoid_derivative(r, dr, "r"))
    dz_pre = slip("z's sigmoid derivative", dz * z * (1.0 - z), **sigmoid_derivative(z, dz, "z"))
    order = slip(
        "stacking order",
        GRU_GATES,
        **orders(GRU_GATES, "dgi and dgh stack the gates", KNOWN_ORDERS),
    )
    gi_n = slip(
        "dgi's n block",
        dn_pre,
        with_reset=(
            "only the hidden part of n is multiplied by r: dgi's n block is da_n",
            lambda: dn_pre * r,
        ),
    )
    gh_n = slip(
        "dgh's n block",
        dn_pre * r,
        no_reset=(
            "the hidden part of n is multiplied by r: dgh's n block is da_n * r",
            lambda: dn_pre,
        ),
    )
    d_in = {"r": dr_pre, "z": dz_pre, "n": gi_n}
    d_hid = {"r": dr_pre, "z": dz_pre, "n": gh_n}
    dgi = np.concatenate([d_in[name] for name in order], axis=1)
    dgh = np.concatenate([d_hid[name] for name in order], axis=1)
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    dparams = {
        "weight_ih": slip(
            "dweight_ih",
            dgi.T @ x,
            transposed=("weight_ih's gradient is dgi.T @ x, (3H, D)", lambda: x.T @ dgi),
        ),
        "weight_hh": slip(
            "dweight_hh",
            dgh.T @ h_prev,
            transposed=("weight_hh's gradient is dgh.T @ h_prev, (3H, H)", lambda: h_prev.T @ dgh),
            input_part=(
                "weight_hh's gradient uses the hidden parts, dgh.T @ h_prev",
                lambda: dgi.T @ h_prev,
            ),
        ),
        "bias_ih": slip(
            "dbias_ih", dgi.sum(axis=0), **batch_sum(dgi, "bias_ih's gradient", "(3H,)")
        ),
        "bias_hh": slip(
            "dbias_hh",
            dgh.sum(axis=0),
            **batch_sum(dgh, "bias_hh's gradient", "(3H,)"),
            input_part=(
                "bias_hh's gradient is dgh summed over the batch, not dgi",
                lambda: dgi.sum(axis=0),
            ),
        ),
    }
    dx = slip(
        "dx",
        dgi @ W_ih,
        transposed=("dx = dgi @ weight_ih, (N, 3H) @ (3H, D)", lambda: dgi @ W_ih.T),
    )
    direct = slip(
        "direct path",
        dh * keep,
        dropped=("dh_prev misses the direct path h = ... + z * h_prev: add dh * z", lambda: 0.0),
    )
    through = slip(
        "dh_prev's matrix part",
        dgh @ W_hh,
        input_part=(
            "dh_prev's matrix part uses the hidden parts: dgh @ weight_hh",
            lambda: dgi @ W_hh,
        ),
    )
    return dx, direct + through, dparams


def lstm_step_forward_slips(x, h_prev, c_prev, params, slip=None):
    """:func:`~rnn_reference.lstm.lstm_step_forward` with slips."""
    slip = slip or Slip()
    H = h_prev.shape[1]
    gi, hw, bh = _products(slip, x, h_prev, params, LSTM_GATES)
    a = gi + hw + bh
    order = slip("gate order", LSTM_GATES, **orders(LSTM_GATES, "the gates are read", KNOWN_ORDERS))
    pre = _blocks(a, order, H)
    a_f = slip(
        "forget bias",
        pre["f"],
        plus_one=(
            "f has an extra +1 (TensorFlow's forget_bias=1.0); torch's LSTM adds none",
            lambda: pre["f"] + 1.0,
        ),
    )
    i, f, o = _gate(slip, "i", pre["i"]), _gate(slip, "f", a_f), _gate(slip, "o", pre["o"])
    g = slip(
        "g's tanh",
        np.tanh(pre["g"]),
        sigmoid=("g, the candidate, is a tanh, not a sigmoid", lambda: sigmoid(pre["g"])),
    )
    c = slip(
        "c",
        f * c_prev + i * g,
        no_input_gate=(
            "the input gate multiplies g: c = f * c_prev + i * g",
            lambda: f * c_prev + g,
        ),
        no_forget_gate=(
            "the forget gate multiplies c_prev: c = f * c_prev + i * g",
            lambda: c_prev + i * g,
        ),
        swapped=("i and f are swapped: c = f * c_prev + i * g", lambda: i * c_prev + f * g),
        h_prev=(
            "the memory is built from c_prev, not h_prev: c = f * c_prev + i * g",
            lambda: f * h_prev + i * g,
        ),
    )
    tanh_c = np.tanh(c)
    h = slip(
        "h",
        o * tanh_c,
        no_tanh=(
            "h = o * tanh(c): the memory is squashed by tanh before the output gate",
            lambda: o * c,
        ),
        tanh_outside=("h = o * tanh(c), not tanh(o * c)", lambda: np.tanh(o * c)),
    )
    cached_tanh_c = slip(
        "cached tanh_c",
        tanh_c,
        memory=("the cache's tanh_c must be tanh(c), not c", lambda: c),
    )
    cache = (x, h_prev, c_prev, i, f, g, o, cached_tanh_c, params)
    cache = slip("cache order", cache, **swaps(cache, LSTM_CACHE, "the cache"))
    return h, c, cache


def lstm_step_backward_slips(dh, dc, cache, slip=None):
    """:func:`~rnn_reference.lstm.lstm_step_backward` with slips."""
    slip = slip or Slip()
    x, h_prev, c_prev, i, f, g, o, tanh_c, params = cache
    through_h = slip(
        "tanh(c)'s derivative",
        dh * o * (1.0 - tanh_c**2),
        **tanh_derivative(tanh_c, dh * o, "tanh_c"),
    )
    dc_total = slip(
        "dc_total",
        dc + through_h,
        no_dc=(
            "you forget to add dc (the memory's gradient from step t+1): "
            "dc_t = dc + dh * o * (1 - tanh_c**2)",
            lambda: through_h,
        ),
        no_h_path=(
            "the memory's gradient through h is missing: dc_t = dc + dh * o * (1 - tanh_c**2)",
            lambda: dc,
        ),
    )
    di = slip(
        "i's sigmoid derivative",
        dc_total * g * i * (1 - i),
        **sigmoid_derivative(i, dc_total * g, "i"),
    )
    df = slip(
        "f's sigmoid derivative",
        dc_total * c_prev * f * (1 - f),
        **sigmoid_derivative(f, dc_total * c_prev, "f"),
    )
    dg = slip(
        "g's tanh derivative", dc_total * i * (1 - g**2), **tanh_derivative(g, dc_total * i, "g")
    )
    do = slip(
        "o's sigmoid derivative",
        dh * tanh_c * o * (1 - o),
        **sigmoid_derivative(o, dh * tanh_c, "o"),
    )
    order = slip(
        "stacking order", LSTM_GATES, **orders(LSTM_GATES, "da stacks the gates", KNOWN_ORDERS)
    )
    blocks = {"i": di, "f": df, "g": dg, "o": do}
    da = np.concatenate([blocks[name] for name in order], axis=1)
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    db = slip("dbias", da.sum(axis=0), **batch_sum(da, "the bias gradient", "(4H,)"))
    dparams = {
        "weight_ih": slip(
            "dweight_ih",
            da.T @ x,
            transposed=("weight_ih's gradient is da.T @ x, (4H, D)", lambda: x.T @ da),
        ),
        "weight_hh": slip(
            "dweight_hh",
            da.T @ h_prev,
            transposed=("weight_hh's gradient is da.T @ h_prev, (4H, H)", lambda: h_prev.T @ da),
        ),
        "bias_ih": db,
        "bias_hh": db.copy(),
    }
    dx = slip(
        "dx", da @ W_ih, transposed=("dx = da @ weight_ih, (N, 4H) @ (4H, D)", lambda: da @ W_ih.T)
    )
    dh_prev = slip(
        "dh_prev",
        da @ W_hh,
        transposed=("dh_prev = da @ weight_hh, (N, 4H) @ (4H, H)", lambda: da @ W_hh.T),
    )
    dc_prev = slip(
        "dc_prev",
        dc_total * f,
        no_forget=(
            "dc_prev = dc_t * f: the memory reaches c_prev through the forget gate",
            lambda: dc_total,
        ),
        incoming_only=(
            "dc_prev = dc_t * f with dc_t the memory's total gradient (dc plus the path through h)",
            lambda: dc * f,
        ),
    )
    return dx, dh_prev, dc_prev, dparams
