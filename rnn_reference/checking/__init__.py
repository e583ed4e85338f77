"""The machinery behind :mod:`rnn_reference.checks`: running a learner's function, comparing
its outputs, naming the mistake that reproduces them, and the reports and progress it gives.

Modules: :mod:`~.running` (calls, exceptions at the learner's line, changed inputs),
:mod:`~.compare` (one output against the reference, and what the difference means),
:mod:`~.slips` (one-term changes of a reference, and the alternatives the cells share),
:mod:`~.vanilla_slips` and :mod:`~.gated_slips` (the exercises' references written with slips),
:mod:`~.exercise` (one check: cases, comparison, causes), :mod:`~.report`, :mod:`~.progress`,
and the checks themselves: :mod:`~.vanilla`, :mod:`~.gradient_check_exercise`, :mod:`~.gated`.
"""
