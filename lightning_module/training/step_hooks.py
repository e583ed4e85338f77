"""Make a trainer call each callback only at the per-batch hooks its class implements.

Lightning calls every callback at every hook, each call with its profiler context and a
``state_key`` formatted for it (a ``repr`` of a dict for the checkpoint and early-stopping
callbacks); most callbacks implement few of the six hooks of a training step, so most of those
calls do nothing. Lightning skips a hook that is not callable
(``pytorch_lightning.trainer.call._call_callback_hooks``), so ``skip_unimplemented_batch_hooks``
sets each per-batch hook a callback's class leaves as ``Callback``'s no-op to None on that
instance; the hooks a callback implements are called unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from pytorch_lightning.callbacks import Callback

# The hooks Lightning calls once per batch: training, then validation, test and predict.
BATCH_HOOKS = (
    "on_train_batch_start",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
    "on_train_batch_end",
    "on_validation_batch_start",
    "on_validation_batch_end",
    "on_test_batch_start",
    "on_test_batch_end",
    "on_predict_batch_start",
    "on_predict_batch_end",
)


def implements(callback: Callback, hook: str) -> bool:
    """Whether ``callback``'s class overrides ``Callback``'s no-op ``hook``."""
    return getattr(type(callback), hook, None) is not getattr(Callback, hook)


def skip_unimplemented_batch_hooks(callbacks: Iterable[Callback]) -> list[tuple[str, str]]:
    """Set each of ``BATCH_HOOKS`` that a callback does not implement to None on it.

    Args:
        callbacks: the trainer's callbacks (``trainer.callbacks``); each is changed in place.

    Returns:
        ``(callback class name, hook)`` for every hook set to None.
    """
    skipped = []
    for callback in callbacks:
        for hook in BATCH_HOOKS:
            if not implements(callback, hook) and hook not in vars(callback):
                setattr(callback, hook, None)
                skipped.append((type(callback).__name__, hook))
    return skipped
