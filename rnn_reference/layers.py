"""The practical's building blocks: softmax, cross-entropy, a fully-connected layer and tanh.

Shape legend: N batch, D input, H hidden, C classes.

These keep the practical's names, signatures and numbers; each ``*_forward`` returns
``(out, cache)`` and its ``*_backward`` turns the upstream gradient and that cache into
gradients with respect to the inputs.
"""

from __future__ import annotations

import numpy as np


def softmax(X: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by each row's maximum so ``exp`` cannot overflow.

    Args:
        X: (N, C) logits.

    Returns:
        (N, C) probabilities; each row sums to 1.
    """
    eX = np.exp((X.T - np.max(X, axis=1)).T)
    return (eX.T / eX.sum(axis=1)).T


def cross_entropy(y_pred: np.ndarray, y_train) -> float:
    """Mean softmax cross-entropy over the N rows.

    Args:
        y_pred: (N, C) logits.
        y_train: (N,) integer labels in [0, C), or one int when N = 1.

    Returns:
        The mean of ``-log softmax(y_pred)[n, y_train[n]]`` over n.
    """
    m = y_pred.shape[0]
    prob = softmax(y_pred)
    log_like = -np.log(prob[range(m), y_train])
    return np.sum(log_like) / m


def dcross_entropy(y_pred: np.ndarray, y_train) -> np.ndarray:
    """Gradient of :func:`cross_entropy` with respect to the logits.

    Args:
        y_pred: (N, C) logits.
        y_train: (N,) integer labels, or one int when N = 1.

    Returns:
        (N, C) ``(softmax(y_pred) - onehot(y_train)) / N``.
    """
    m = y_pred.shape[0]
    grad_y = softmax(y_pred)
    grad_y[range(m), y_train] -= 1.0
    grad_y /= m
    return grad_y


def fc_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray):
    """A fully-connected layer ``out = X W + b``.

    Args:
        X: (N, H) inputs.
        W: (H, C) weights.
        b: (1, C) or (C,) bias.

    Returns:
        out: (N, C); cache: ``(W, X)`` for :func:`fc_backward`.
    """
    out = np.dot(X, W) + b
    cache = (W, X)
    return out, cache


def fc_backward(dout: np.ndarray, cache):
    """Backward pass of :func:`fc_forward`.

    Args:
        dout: (N, C) gradient of the loss with respect to ``out``.
        cache: from :func:`fc_forward`.

    Returns:
        dX: (N, H); dW: (H, C); db: (C,) (the practical's shape: callers reshape it).
    """
    W, X = cache
    dW = np.dot(X.T, dout)
    db = np.sum(dout, axis=0)
    dX = np.dot(dout, W.T)
    return dX, dW, db


def tanh_forward(X: np.ndarray):
    """Element-wise tanh.

    Args:
        X: any shape.

    Returns:
        out: ``tanh(X)``, same shape; cache: ``out`` (tanh' = 1 - tanh^2 needs only the output).
    """
    out = np.tanh(X)
    cache = out
    return out, cache


def tanh_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Backward pass of :func:`tanh_forward`.

    Args:
        dout: gradient with respect to the output, same shape as it.
        cache: the output ``tanh(X)`` from :func:`tanh_forward`.

    Returns:
        ``(1 - tanh(X)^2) * dout``, the gradient with respect to ``X``.
    """
    return (1 - cache**2) * dout


def sigmoid(X: np.ndarray) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-X))``, written via tanh so no ``exp`` overflows.

    Args:
        X: any shape.

    Returns:
        Values in (0, 1), same shape as ``X``.
    """
    return 0.5 * (1.0 + np.tanh(0.5 * X))
