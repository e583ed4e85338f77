"""Make a trainer call each callback only at the per-batch hooks where it does something.

Lightning calls every callback at every hook, each call with its profiler context and a
``state_key`` formatted for it (a ``repr`` of a dict for the checkpoint and early-stopping
callbacks); most callbacks implement few of the six hooks of a training step, so most of those
calls do nothing. Lightning skips a hook that is not callable
(``pytorch_lightning.trainer.call._call_callback_hooks``), so ``skip_idle_batch_hooks``
sets each per-batch hook a callback's class leaves as ``Callback``'s no-op to None on that
instance; the other hooks are called unchanged.

Two library hooks do nothing under some constructor settings, and are skipped the same way
(``IDLE_HOOKS``): ``ModelCheckpoint.on_train_batch_end`` without ``every_n_train_steps`` or
``train_time_interval`` (it checks both and returns), and
``LearningRateMonitor.on_train_batch_start`` with ``logging_interval="epoch"``. The decision is
taken once, when the trainer is built; a test runs both library hooks under those settings and
checks that they still change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pytorch_lightning.callbacks import Callback, LearningRateMonitor, ModelCheckpoint

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


# (class, hook) -> whether that class's own hook has nothing to do for this callback's settings.
# A subclass that overrides the hook is not covered: its override runs.
IDLE_HOOKS: dict[tuple[type[Callback], str], Callable[[Callback], bool]] = {
    (ModelCheckpoint, "on_train_batch_end"): lambda cb: (
        cb._every_n_train_steps < 1 and cb._train_time_interval is None
    ),
    (LearningRateMonitor, "on_train_batch_start"): lambda cb: cb.logging_interval == "epoch",
}


def idle(callback: Callback, hook: str) -> bool:
    """Whether ``callback``'s ``hook`` is in ``IDLE_HOOKS`` and its settings make it idle."""
    for (owner, idle_hook), does_nothing in IDLE_HOOKS.items():
        if hook == idle_hook and isinstance(callback, owner):
            return getattr(type(callback), hook) is getattr(owner, hook) and does_nothing(callback)
    return False


def implements(callback: Callback, hook: str) -> bool:
    """Whether ``callback``'s class overrides ``Callback``'s no-op ``hook``."""
    return getattr(type(callback), hook, None) is not getattr(Callback, hook)


def skip_idle_batch_hooks(callbacks: Iterable[Callback]) -> list[tuple[str, str]]:
    """Set each of ``BATCH_HOOKS`` that a callback does not implement, or that is ``idle``, to
    None on it.

    Args:
        callbacks: the trainer's callbacks (``trainer.callbacks``); each is changed in place.

    Returns:
        ``(callback class name, hook)`` for every hook set to None.
    """
    skipped = []
    for callback in callbacks:
        for hook in BATCH_HOOKS:
            if hook in vars(callback):
                continue
            if not implements(callback, hook) or idle(callback, hook):
                setattr(callback, hook, None)
                skipped.append((type(callback).__name__, hook))
    return skipped
