"""Fake node manifests."""

from __future__ import annotations

import pytest

from ome.testing.nodes import FakeNode, gpu_nodes, is_ready


def test_gpu_node_advertises_gpus_in_capacity_and_allocatable() -> None:
    manifest = FakeNode("n1", gpus=8, labels={"pool": "a"}).manifest()
    assert manifest["status"]["capacity"]["nvidia.com/gpu"] == "8"
    assert manifest["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    assert manifest["metadata"]["labels"]["pool"] == "a"
    assert manifest["metadata"]["labels"]["nvidia.com/gpu.count"] == "8"
    assert manifest["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"


def test_cpu_node_has_no_gpu_resource() -> None:
    manifest = FakeNode("cpu").manifest()
    assert "nvidia.com/gpu" not in manifest["status"]["allocatable"]
    assert "nvidia.com/gpu.present" not in manifest["metadata"]["labels"]


def test_caller_labels_win() -> None:
    manifest = FakeNode("n1", gpus=1, labels={"nvidia.com/gpu.product": "A100"}).manifest()
    assert manifest["metadata"]["labels"]["nvidia.com/gpu.product"] == "A100"


def test_negative_gpus_are_refused() -> None:
    with pytest.raises(ValueError, match="gpus must be >= 0"):
        FakeNode("n1", gpus=-1)


def test_gpu_nodes_names_them_in_order() -> None:
    assert [n.name for n in gpu_nodes(2)] == ["gpu-node-0", "gpu-node-1"]


def test_readiness_reads_the_ready_condition() -> None:
    assert is_ready({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert not is_ready({"status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    assert not is_ready({})
