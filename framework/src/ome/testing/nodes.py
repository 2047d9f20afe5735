"""Fake GPU nodes: Node objects that kwok keeps Ready and whose pods it runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

GPU_RESOURCE = "nvidia.com/gpu"
DEFAULT_GPU_PRODUCT = "NVIDIA-H100-80GB-HBM3"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
KWOK_ANNOTATION_VALUE = "fake"


@dataclass(frozen=True)
class FakeNode:
    """A node described by the caller; ``gpus`` becomes nvidia.com/gpu capacity."""

    name: str
    gpus: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)
    cpu: str = "32"
    memory: str = "256Gi"
    pods: int = 110
    gpu_product: str = DEFAULT_GPU_PRODUCT

    def __post_init__(self) -> None:
        if self.gpus < 0:
            raise ValueError(f"FakeNode {self.name!r}: gpus must be >= 0, got {self.gpus}")
        if not self.name:
            raise ValueError("FakeNode: name must not be empty")

    def manifest(self) -> dict[str, Any]:
        labels = {
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "type": "kwok",
        }
        resources = {"cpu": self.cpu, "memory": self.memory, "pods": str(self.pods)}
        if self.gpus:
            labels |= {
                "nvidia.com/gpu.present": "true",
                "nvidia.com/gpu.product": self.gpu_product,
                "nvidia.com/gpu.count": str(self.gpus),
            }
            resources[GPU_RESOURCE] = str(self.gpus)
        labels |= dict(self.labels)
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "labels": labels,
                "annotations": {
                    KWOK_ANNOTATION: KWOK_ANNOTATION_VALUE,
                    "node.alpha.kubernetes.io/ttl": "0",
                },
            },
            "spec": {},
            "status": {"capacity": resources, "allocatable": dict(resources)},
        }


def gpu_nodes(count: int, gpus: int = 8, prefix: str = "gpu-node") -> list[FakeNode]:
    return [FakeNode(f"{prefix}-{i}", gpus=gpus) for i in range(count)]


@dataclass(frozen=True)
class NodeGroup:
    """``count`` alike nodes with ``gpus`` GPUs of ``product`` each, labelled with their
    ``instance_type`` (``node.kubernetes.io/instance-type``, which some runtimes require)
    when one is given."""

    count: int
    gpus: int = 8
    product: str = DEFAULT_GPU_PRODUCT
    instance_type: str | None = None

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"a node group needs at least one node, got {self.count}")
        if self.gpus < 0:
            raise ValueError(f"GPUs per node must be >= 0, got {self.gpus}")
        for what, word in (("GPU product", self.product), ("instance type", self.instance_type)):
            if word is not None and (not word or any(c.isspace() for c in word)):
                raise ValueError(f"{what} {word!r} must be one word (a label value)")

    @classmethod
    def parse(cls, text: str) -> NodeGroup:
        """``COUNTxGPUS[:PRODUCT[:INSTANCE-TYPE]]``, e.g. ``4x8:NVIDIA-H100-80GB-HBM3``,
        ``2x8:NVIDIA-H100-80GB-HBM3:BM.GPU.H100.8`` or ``2x0``."""
        shape, _, rest = text.partition(":")
        product, _, instance_type = rest.partition(":")
        count, separator, gpus = shape.lower().partition("x")
        if not separator or not count.isdigit() or not gpus.isdigit():
            raise ValueError(
                f"{text!r} is not COUNTxGPUS[:PRODUCT[:INSTANCE-TYPE]] (for example 4x8:A100)"
            )
        return cls(int(count), int(gpus), product or DEFAULT_GPU_PRODUCT, instance_type or None)


CPUS_PER_GPU = 28
MEMORY_PER_GPU_GI = 256
"""A GPU server's CPUs and memory per GPU (an 8-GPU H100 server has 224 vCPUs and 2 TiB):
upstream's runtimes request up to 32 CPUs and 100Gi for one GPU, 128 CPUs and 1Ti for 16."""


def group_nodes(groups: Sequence[NodeGroup], prefix: str = "gpu-node") -> list[FakeNode]:
    """The nodes of every group, numbered on across groups (``gpu-node-0`` …); a GPU node
    has the CPUs and memory of a GPU server of its size."""
    members = [group for group in groups for _ in range(group.count)]
    return [_server(f"{prefix}-{i}", group) for i, group in enumerate(members)]


def is_ready(node: Mapping[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _server(name: str, group: NodeGroup) -> FakeNode:
    labels = {INSTANCE_TYPE_LABEL: group.instance_type} if group.instance_type else {}
    if not group.gpus:
        return FakeNode(name, labels=labels, gpu_product=group.product)
    cpu, memory = str(CPUS_PER_GPU * group.gpus), f"{MEMORY_PER_GPU_GI * group.gpus}Gi"
    return FakeNode(
        name, gpus=group.gpus, labels=labels, cpu=cpu, memory=memory, gpu_product=group.product
    )
