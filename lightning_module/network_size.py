"""How large a network's settings make it, counted before any weight is allocated, so that an
impossible size is refused in one line instead of failing inside the allocator.
"""

from __future__ import annotations

import os

# Weight matrices per layer: nn.RNN has one, nn.GRU three (r, z, n), nn.LSTM four (i, f, g, o).
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
BYTES_PER_WEIGHT = 4  # float32
# Training keeps each weight's gradient and Adam's two moments beside it.
TRAINING_COPIES = 4


def parameter_count(
    cell: str, hidden_size: int, num_layers: int, pixels_per_step: int, num_classes: int
) -> int:
    """The parameters of the recurrent layers (input and hidden weights, two biases each) and the
    linear head, as torch allocates them."""
    gates = GATES[cell]
    total = 0
    for layer in range(num_layers):
        inputs = pixels_per_step if layer == 0 else hidden_size
        total += gates * hidden_size * (inputs + hidden_size + 2)
    return total + hidden_size * num_classes + num_classes


def physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the system does not say (Windows)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def gigabytes(size: float) -> str:
    return f"{size / 1e9:,.1f} GB"


def require_fits_in_memory(
    cell: str, hidden_size: int, num_layers: int, pixels_per_step: int, num_classes: int
) -> None:
    """Raise ValueError when the weights alone would not fit in this machine's memory.

    Only a size that can never run is refused: a model that merely trains slowly is the user's
    choice, and the memory a batch needs depends on the batch size, unknown here.
    """
    memory = physical_memory()
    count = parameter_count(cell, hidden_size, num_layers, pixels_per_step, num_classes)
    weights = count * BYTES_PER_WEIGHT
    if memory is None or weights <= memory:
        return
    raise ValueError(
        f"hidden_size={hidden_size} with cell={cell!r}, num_layers={num_layers} makes "
        f"{count:.2e} parameters: {gigabytes(weights)} of float32 weights (training needs about "
        f"{gigabytes(weights * TRAINING_COPIES)}), more than this machine's "
        f"{gigabytes(memory)} of memory; choose a smaller hidden_size or num_layers"
    )
