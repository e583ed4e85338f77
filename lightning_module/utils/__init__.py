"""Small utilities every layer may use: atomic file output, argument checks, the run record.

Nothing here imports Lightning.
"""
