"""Repository tooling: benchmarks, reproduction and curves, driven by ``scripts/``.

Independent of the checkout: every entry point takes the config folder as an argument.
"""
