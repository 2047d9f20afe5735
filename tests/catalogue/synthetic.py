"""The files a Hub would serve for each model of upstream's catalogue, synthesized from the
facts in ``models.yaml`` (see its header for where each fact came from).

Only what the model agent reads is real: ``config.json`` (or a diffusers
``model_index.json`` and its components' configs), the safetensors index, and each shard's
header, whose tensors add up to the model's parameter count. A shard's tensor data is
never stored: :class:`Generated` serves zeros after the header, so a 400B model costs a
few hundred bytes."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml

FACTS = Path(__file__).with_name("models.yaml")
SHARDS = 2
"""Shards per model of a billion parameters or more (each model gets an index then)."""
_UNITS = {"K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}
_DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}
_SAFETENSORS_DTYPE = {"bfloat16": "BF16", "float16": "F16", "float32": "F32"}
_LENGTH = struct.Struct("<Q")


@dataclass(frozen=True)
class ModelFacts:
    name: str
    repo: str
    architecture: str
    parameters: str
    """As upstream writes sizes: ``8B``, ``46.7B``, ``335M``, ``1T``."""
    dtype: str
    transformers: str
    kind: str
    """text, vision (a vision_config), embedding (sentence-transformers) or diffusers."""
    quant_method: str | None = None
    diffusers: str | None = None
    """The diffusers version of a pipeline."""

    @property
    def storage_uri(self) -> str:
        return f"hf://{self.repo}"


@dataclass(frozen=True)
class Generated:
    """A file made on the fly: ``head`` then zeros up to ``size`` bytes."""

    head: bytes
    size: int

    def read(self, offset: int, length: int) -> bytes:
        end = min(offset + length, self.size)
        if offset >= end:
            return b""
        head = self.head[offset:end]
        return head + bytes(end - offset - len(head))


Content = bytes | Generated


@cache
def catalogue_facts(path: Path = FACTS) -> tuple[ModelFacts, ...]:
    return tuple(ModelFacts(**{k: v for k, v in e.items() if k != "from"}) for e in _load(path))


def _load(path: Path) -> list[dict[str, str]]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, list)
    return loaded


def parameter_count(size: str) -> int:
    """``46.7B`` -> 46_700_000_000."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMBT])", size)
    if match is None:
        raise ValueError(f"not a parameter size: {size!r}")
    return int(Decimal(match[1]) * _UNITS[match[2]])


def model_type(architecture: str) -> str:
    """What a config's ``model_type`` says for an architecture: ``LlamaForCausalLM`` -> llama."""
    stem = re.split(r"For[A-Z]|LMHeadModel$|Model$|MultiModality", architecture)[0] or architecture
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", stem).lower()


def repo_files(facts: ModelFacts) -> dict[str, Content]:
    """The repository's files, by path."""
    if facts.kind == "diffusers":
        return _pipeline(facts)
    files: dict[str, Content] = {"config.json": _json(_config(facts))}
    if facts.kind == "embedding":
        files["modules.json"] = _json([{"idx": 0, "name": "0", "path": "", "type": "Transformer"}])
    files.update(_weights(parameter_count(facts.parameters), facts.dtype))
    return files


def _config(facts: ModelFacts) -> dict[str, object]:
    config: dict[str, object] = {
        "architectures": [facts.architecture],
        "model_type": model_type(facts.architecture),
        "torch_dtype": facts.dtype,
        "transformers_version": facts.transformers,
    }
    if facts.quant_method:
        config["quantization_config"] = {"quant_method": facts.quant_method}
    if facts.kind == "vision":
        config["vision_config"] = {"model_type": "vision"}
    return config


def _pipeline(facts: ModelFacts) -> dict[str, Content]:
    """A Qwen-Image-style pipeline: the transformer holds the stated parameters; the text
    encoder (Qwen2.5-VL-7B) and the VAE are the family's."""
    files: dict[str, Content] = {
        "model_index.json": _json(
            {
                "_class_name": facts.architecture,
                "_diffusers_version": facts.diffusers,
                "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
                "text_encoder": ["transformers", "Qwen2_5_VLForConditionalGeneration"],
                "tokenizer": ["transformers", "Qwen2Tokenizer"],
                "transformer": ["diffusers", "QwenImageTransformer2DModel"],
                "vae": ["diffusers", "AutoencoderKLQwenImage"],
            }
        ),
        "text_encoder/config.json": _json(
            {"architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl"}
        ),
    }
    for folder, count in (
        ("text_encoder", 7 * 10**9),
        ("transformer", parameter_count(facts.parameters)),
        ("vae", 127 * 10**6),
    ):
        files |= {f"{folder}/{p}": c for p, c in _weights(count, facts.dtype).items()}
    return files


def _weights(count: int, dtype: str) -> dict[str, Content]:
    """Safetensors shards holding ``count`` parameters (and their index when sharded)."""
    if count < 10**9:
        return {"model.safetensors": _shard("weight", count, dtype)}
    sizes = [count // SHARDS] * (SHARDS - 1) + [count - (count // SHARDS) * (SHARDS - 1)]
    names = [f"model-{i + 1:05d}-of-{SHARDS:05d}.safetensors" for i in range(SHARDS)]
    files: dict[str, Content] = {
        name: _shard(f"layers.{i}.weight", size, dtype)
        for i, (name, size) in enumerate(zip(names, sizes, strict=True))
    }
    total = sum(s * _DTYPE_BYTES.get(dtype, 2) for s in sizes)
    index = {
        "metadata": {"total_size": total},
        "weight_map": {f"layers.{i}.weight": name for i, name in enumerate(names)},
    }
    files["model.safetensors.index.json"] = _json(index)
    return files


def _shard(tensor: str, count: int, dtype: str) -> Generated:
    data = count * _DTYPE_BYTES.get(dtype, 2)
    header = {
        tensor: {
            "dtype": _SAFETENSORS_DTYPE.get(dtype, "BF16"),
            "shape": [count],
            "data_offsets": [0, data],
        }
    }
    raw = json.dumps(header).encode()
    return Generated(_LENGTH.pack(len(raw)) + raw, _LENGTH.size + len(raw) + data)


def _json(value: object) -> bytes:
    return json.dumps(value, indent=2).encode()


def write_repo(files: Mapping[str, Content], folder: Path) -> Path:
    """The files' small parts on disk (generated shards as their header only), as a
    metadata fetch leaves them: for tests that read metadata without a Hub."""
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.head if isinstance(content, Generated) else content)
    return folder
