"""The CLI's default profiler: none, at no cost per hook. ``--trainer.profiler`` replaces it.

Lightning wraps every hook call (each callback's, dozens per step) in ``profiler.profile(name)``.
"""

from __future__ import annotations

import contextlib

from pytorch_lightning.profilers import PassThroughProfiler

_NOTHING = contextlib.nullcontext()


class NoProfiler(PassThroughProfiler):
    """Lightning's ``PassThroughProfiler`` (records nothing) without its per-call cost.

    The base class's ``profile`` is a generator-based context manager that calls ``start`` and
    ``stop``: a new generator and two calls per hook, for nothing recorded. This one hands back
    one shared ``nullcontext``.
    """

    def profile(self, action_name: str) -> contextlib.nullcontext:
        return _NOTHING
