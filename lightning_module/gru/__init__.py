"""FusedGRU: nn.GRU's function with a fast CPU training path (its recurrences, its C++ build).

A plain torch layer: nothing here imports Lightning.
"""

from lightning_module.gru.fused_gru import FusedGRU

__all__ = ["FusedGRU"]
