"""The practical's vanilla-RNN classifier: per-step cell, forward, BPTT and gradient check.

Shape legend: N batch, T steps, D input, H hidden, C classes.

The model is a dict: ``Wxh`` (D, H), ``Whh`` (H, H), ``Why`` (H, C), ``bh`` (1, H), ``by`` (1, C).
A sequence ``X_train`` is T arrays of shape (N, D) (a list, or an array (T, N, D)); ``y_train``
holds T label arrays of shape (N,) (an int array (T, N)), or, as in the practical where N = 1,
a 1-D array of T ints. Every step has a softmax readout::

    h_t = tanh(h_{t-1} Whh + x_t Wxh + bh)
    y_t = h_t Why + by
    loss = sum_t mean_n CE(y_t[n], y_train[t][n])

The gradients of :func:`bptt` are those of this *sum*, while the loss it returns is the sum
divided by T: the practical's numbers, kept.
"""

from __future__ import annotations

import numpy as np

from rnn_reference.gradient_check import GradientCheckResult, gradient_check
from rnn_reference.layers import (
    cross_entropy,
    dcross_entropy,
    fc_backward,
    fc_forward,
    softmax,
    tanh_backward,
)
from rnn_reference.rnn_cell import rnn_step_forward

MODEL_PARAMETER_NAMES = ("Wxh", "Whh", "Why", "bh", "by")
CLIP_METHODS = (None, "elementwise", "global_norm")


def init_model(D: int, H: int, C: int, rng=None) -> dict:
    """The practical's initialisation with the output weights drawn in the right shape.

    Each weight is Gaussian scaled by ``1 / sqrt(fan_in / 2)`` (He et al.); biases are zero.
    The practical drew ``Why`` as (H, D) (and ``by`` as (1, D)), scaled by ``sqrt(C / 2)``;
    here ``Why`` is (H, C), scaled by its fan-in H.

    Args:
        D: input size. H: hidden size. C: number of classes.
        rng: a ``numpy.random.Generator`` or a seed.

    Returns:
        The model dict (shapes in the module docstring).
    """
    rng = np.random.default_rng(rng)
    return {
        "Wxh": rng.standard_normal((D, H)) / np.sqrt(D / 2.0),
        "Whh": rng.standard_normal((H, H)) / np.sqrt(H / 2.0),
        "Why": rng.standard_normal((H, C)) / np.sqrt(H / 2.0),
        "bh": np.zeros((1, H)),
        "by": np.zeros((1, C)),
    }


def check_model(model: dict) -> tuple:
    """Raise ``ValueError`` unless the model's five arrays have consistent shapes.

    Args:
        model: the model dict.

    Returns:
        ``(D, H, C)``.
    """
    missing = [name for name in MODEL_PARAMETER_NAMES if name not in model]
    if missing:
        raise ValueError(f"model is missing {missing}; it needs {list(MODEL_PARAMETER_NAMES)}")
    D, H = np.shape(model["Wxh"])
    C = np.shape(model["Why"])[1]
    expected = {"Wxh": (D, H), "Whh": (H, H), "Why": (H, C), "bh": (1, H), "by": (1, C)}
    for name, shape in expected.items():
        if np.shape(model[name]) != shape:
            raise ValueError(
                f"model[{name!r}] must have shape {shape} (D={D}, H={H}, C={C}); "
                f"got {np.shape(model[name])}"
            )
    return D, H, C


def cell_fn_forward(X: np.ndarray, h: np.ndarray, model: dict, train: bool = True):
    """One step of the RNN and its readout, with the practical's cache.

    Args:
        X: (N, D) input. h: (N, H) previous state. model: the model dict.
        train: return logits (True) or softmax probabilities (False).

    Returns:
        y: (N, C) logits or probabilities; h: (N, H) new state; cache: the practical's tuple
        ``(X, Whh, h, hprev, y, h_cache, y_cache)`` for :func:`cell_fn_backward`: ``h`` the new
        state, ``hprev`` the previous one, ``y`` the logits, ``h_cache`` the tanh output (what
        :func:`~rnn_reference.layers.tanh_backward` needs) and ``y_cache`` the readout's
        ``(Why, h)``. A ``cell_fn_backward`` written from the practical runs on it unchanged.
    """
    hprev = h.copy()
    h, (_, _, _, Whh, h_cache) = rnn_step_forward(X, hprev, model)
    y, y_cache = fc_forward(h, model["Why"], model["by"])
    cache = (X, Whh, h, hprev, y, h_cache, y_cache)
    if not train:
        y = softmax(y)
    return y, h, cache


def rnn_forward(X_train, y_train, model: dict, initial_state: np.ndarray, verbose: bool = False):
    """Run the RNN over a sequence and add up the per-step losses.

    Args:
        X_train: T inputs of shape (N, D). y_train: T labels of shape (N,) (or T ints).
        model: the model dict. initial_state: (N, H).
        verbose: print each step's input, state and prediction.

    Returns:
        h: (N, H) final state; ys: T logits arrays (N, C); caches: T step caches;
        loss: the sum over steps of the mean cross-entropy.
    """
    D, H, _ = check_model(model)
    if len(X_train) != len(y_train):
        raise ValueError(f"X_train has {len(X_train)} steps but y_train has {len(y_train)}")
    if np.ndim(initial_state) != 2 or np.shape(initial_state)[1] != H:
        raise ValueError(f"initial_state must have shape (N, H={H}); got {np.shape(initial_state)}")
    ys, caches = [], []
    loss = 0.0
    h = initial_state
    for t, (x, y) in enumerate(zip(X_train, y_train, strict=True)):
        if np.shape(x) != (np.shape(initial_state)[0], D):
            raise ValueError(
                f"X_train[{t}] must have shape (N, D) = {(np.shape(initial_state)[0], D)}; "
                f"got {np.shape(x)}"
            )
        y_pred, h, cache = cell_fn_forward(x, h, model, train=True)
        loss += cross_entropy(y_pred, y)
        ys.append(y_pred)
        caches.append(cache)
        if verbose:
            print("Time-step: ", t)
            print("x_t = ", x)
            print("cur_state = ", h)
            print("predicted y = ", y_pred)
    return h, ys, caches, loss


def cell_fn_backward(y_pred: np.ndarray, y_train, dh_next: np.ndarray, cache):
    """Backward pass of one step: its own loss plus the gradient arriving from the future.

    Args:
        y_pred: (N, C) logits of this step. y_train: (N,) labels (or one int).
        dh_next: (N, H) gradient of the later steps' losses with respect to this step's state.
        cache: the practical's ``(X, Whh, h, hprev, y, h_cache, y_cache)`` from
            :func:`cell_fn_forward`.

    Returns:
        grad: this step's contribution to each model gradient, same shapes as the model;
        dh_next: (N, H) gradient with respect to the previous state.
    """
    X, Whh, h, hprev, y, h_cache, y_cache = cache
    dy = dcross_entropy(y_pred, y_train)
    dh, dWhy, dby = fc_backward(dy, y_cache)
    dh = tanh_backward(dh + dh_next, h_cache)
    grad = {
        "Wxh": np.dot(X.T, dh),
        "Whh": np.dot(hprev.T, dh),
        "Why": dWhy,
        # Summed over the batch (the practical's ``dbh = dh`` only works for N = 1).
        "bh": np.sum(dh, axis=0, keepdims=True),
        "by": dby.reshape((1, -1)),
    }
    return grad, np.dot(dh, Whh.T)


def clip_gradients(grads: dict, clip: str | None, clip_value: float = 5.0) -> dict:
    """Clip gradients as the practical does, or by their global norm, or not at all.

    Args:
        grads: name -> gradient array.
        clip: ``None`` (unchanged); ``"elementwise"``: each entry into [-clip_value, clip_value]
            (the practical's ``np.clip(v, -5, 5)``); ``"global_norm"``: when the norm of all
            gradients together exceeds ``clip_value``, scale them all by
            ``clip_value / norm`` (Pascanu et al. 2013), which keeps the direction.
        clip_value: the threshold, > 0.

    Returns:
        A new dict of (possibly) clipped gradients.
    """
    if clip not in CLIP_METHODS:
        raise ValueError(f"clip must be one of {CLIP_METHODS}; got {clip!r}")
    if not clip_value > 0:
        raise ValueError(f"clip_value must be > 0; got {clip_value}")
    if clip is None:
        return dict(grads)
    if clip == "elementwise":
        return {name: np.clip(g, -clip_value, clip_value) for name, g in grads.items()}
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    scale = clip_value / norm if norm > clip_value else 1.0
    return {name: g * scale for name, g in grads.items()}


def bptt(
    model: dict,
    X_train,
    y_train,
    initial_state: np.ndarray,
    *,
    clip: str | None = None,
    clip_value: float = 5.0,
    truncate_steps: int | None = None,
):
    """Backpropagation through time for :func:`rnn_forward`'s loss.

    Args:
        model: the model dict. X_train: T inputs (N, D). y_train: T labels (N,) (or T ints).
        initial_state: (N, H).
        clip: ``None`` (default: exact gradients, so a gradient check compares like with like),
            ``"elementwise"`` (the practical's clip at +-``clip_value``) or ``"global_norm"``;
            see :func:`clip_gradients`.
        clip_value: the clipping threshold (the practical's 5).
        truncate_steps: k >= 1, or ``None`` for full BPTT. With k, truncated BPTT in chunks:
            the steps are cut into chunks of k from the first step on (the last chunk holds
            the remainder), and the state entering each chunk is treated as a constant. Every
            step's loss contributes, but its gradient flows back only to the start of its own
            chunk (1 to k steps). The gradients therefore equal the sum, over the chunks, of
            ``bptt`` on that chunk started from the state before it; k >= T gives full BPTT.

    Returns:
        grads: the gradient of the summed loss, same names and shapes as the model;
        loss: the summed loss divided by T; last_state: (N, H) the final state.
    """
    if clip not in CLIP_METHODS:
        raise ValueError(f"clip must be one of {CLIP_METHODS}; got {clip!r}")
    if truncate_steps is not None and (
        isinstance(truncate_steps, bool)
        or not isinstance(truncate_steps, int | np.integer)
        or truncate_steps < 1
    ):
        raise ValueError(f"truncate_steps must be None or an int >= 1; got {truncate_steps!r}")
    last_state, ys, caches, loss = rnn_forward(X_train, y_train, model, initial_state)
    T = len(X_train)
    loss /= T
    k = T if truncate_steps is None else truncate_steps
    # The state's own shape, (N, H); the practical's (1, last_state.shape[0]) was (1, N).
    dh_next = np.zeros_like(last_state)
    grads = {name: np.zeros_like(model[name]) for name in MODEL_PARAMETER_NAMES}
    for t in reversed(range(T)):
        if (t + 1) % k == 0:  # the last step of a chunk: nothing flows in from the next chunk
            dh_next = np.zeros_like(last_state)
        grad, dh_next = cell_fn_backward(ys[t], y_train[t], dh_next, caches[t])
        for name in grads:
            grads[name] += grad[name]
    return clip_gradients(grads, clip, clip_value), loss, last_state


def rnn_gradient_check(
    model: dict,
    x,
    y,
    init_state: np.ndarray,
    h: float = 0.001,
    error_threshold: float = 0.01,
    verbose: bool = False,
) -> GradientCheckResult:
    """Check :func:`bptt`'s gradients against central differences of :func:`rnn_forward`'s loss.

    Every entry of ``Wxh``, ``Whh``, ``Why``, ``bh``, ``by`` is checked (the model is perturbed
    in place and restored). Unlike the practical, the check does not stop at the first failure.

    Args:
        model: the model dict. x: T inputs (N, D). y: T labels (N,) (or T ints).
        init_state: (N, H). h: finite-difference step. error_threshold: largest relative error
            that passes.
        verbose: print the per-parameter table.

    Returns:
        A :class:`~rnn_reference.gradient_check.GradientCheckResult`: per parameter, the worst
        relative error, where it occurred and whether it passed; ``.passed`` overall.
    """
    bptt_gradients, _, _ = bptt(model, x, y, init_state)

    def loss() -> float:
        return rnn_forward(x, y, model, init_state, verbose=False)[3]

    result = gradient_check(loss, model, bptt_gradients, MODEL_PARAMETER_NAMES, h, error_threshold)
    if verbose:
        print(result.table())
    return result
