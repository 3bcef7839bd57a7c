"""Model size in parameters, read from the safetensors headers (no weights loaded)."""

from __future__ import annotations

import math
from pathlib import Path

from safetensors import safe_open


def count_parameters(model_dir: str | Path) -> int | None:
    """Parameters stored in a local model directory (tied weights count once); None if it has no safetensors."""
    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for file in files:
        with safe_open(file, framework="pt") as f:
            total += sum(math.prod(f.get_slice(name).get_shape()) for name in f.keys())
    return total
