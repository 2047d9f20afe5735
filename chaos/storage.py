"""The models' faulty storage: a Hugging Face Hub on loopback (the tests' fake Hub, which
can cut, corrupt and refuse) serving small made-up models, one server per node so that
what each node's agent asked, and when, is known apart."""

from __future__ import annotations

import contextlib
import hashlib
import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from tests.integration.agent.fakehub import FakeHub, serve

WEIGHTS = "model.safetensors"
WEIGHT_BYTES = 24 << 20
"""Large enough that a download is still under way when a fault strikes it, and more
than the 10 MiB that huggingface_hub reads at a time: bytes of a body cut short are kept
(and the download resumed from them) only in such whole blocks."""
PACE = 8 << 20
"""Bytes per second each body is sent at: a download takes about three seconds."""
CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "vocab_size": 1000,
    "max_position_embeddings": 2048,
    "torch_dtype": "float32",
}


def model_files(seed: str) -> dict[str, bytes]:
    """A config.json and one float32 tensor of :data:`WEIGHT_BYTES` in a valid
    safetensors file, its bytes derived from ``seed`` so that each model differs."""
    count = WEIGHT_BYTES // 4
    header = json.dumps(
        {"weight": {"dtype": "F32", "shape": [count], "data_offsets": [0, count * 4]}}
    ).encode()
    header += b" " * (-len(header) % 8)
    block = hashlib.sha256(seed.encode()).digest() * 32  # 1 KiB
    data = block * (count * 4 // len(block))
    weights = struct.pack("<Q", len(header)) + header + data
    return {"config.json": json.dumps(CONFIG).encode(), WEIGHTS: weights}


@dataclass
class Storage:
    """One :class:`FakeHub` per node, all serving the same repositories; a fault is set on
    every one of them."""

    hubs: dict[str, FakeHub]

    @classmethod
    def for_nodes(cls, nodes: Iterable[str]) -> Storage:
        hubs = {node: FakeHub(pace=PACE) for node in nodes}
        first = next(iter(hubs.values()))
        for hub in hubs.values():
            hub.repos = first.repos
        return cls(hubs)

    async def start(self, stack: contextlib.AsyncExitStack) -> None:
        for hub in self.hubs.values():
            await stack.enter_async_context(serve(hub))

    async def add_node(self, node: str, stack: contextlib.AsyncExitStack) -> FakeHub:
        """A hub for a node added later, served until ``stack`` closes."""
        hub = FakeHub(pace=PACE)
        hub.repos = next(iter(self.hubs.values())).repos
        self.hubs[node] = await stack.enter_async_context(serve(hub))
        return hub

    def add_model(self, repo_id: str) -> dict[str, bytes]:
        files = model_files(repo_id)
        next(iter(self.hubs.values())).add_files(repo_id, dict(files))
        return files

    def remove_model(self, repo_id: str) -> None:
        next(iter(self.hubs.values())).repos.pop(repo_id, None)

    def refuse(self, status: int, retry_after: int | None = None) -> None:
        for hub in self.hubs.values():
            hub.refusing = (status, retry_after)

    def cut(self, path: str, times: int) -> None:
        for hub in self.hubs.values():
            hub.cuts[path] = times

    def corrupt(self, path: str) -> None:
        for hub in self.hubs.values():
            hub.corrupted.add(path)

    def heal(self) -> None:
        for hub in self.hubs.values():
            hub.refusing = None
            hub.cuts.clear()
            hub.corrupted.clear()
