"""Fake node manifests."""

from __future__ import annotations

import pytest

from ome.testing.nodes import FakeNode, NodeGroup, gpu_nodes, group_nodes, is_ready


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


def test_node_groups_parse_count_gpus_and_product() -> None:
    assert NodeGroup.parse("4x8:NVIDIA-A100-SXM4-80GB") == NodeGroup(4, 8, "NVIDIA-A100-SXM4-80GB")
    assert NodeGroup.parse("2X0") == NodeGroup(2, 0)
    assert NodeGroup.parse("1x4").product == "NVIDIA-H100-80GB-HBM3"


def test_node_groups_parse_an_instance_type_after_the_product() -> None:
    # upstream's gpt-oss and llama-4-maverick-fp8 runtimes require one by node affinity
    group = NodeGroup.parse("2x8:NVIDIA-H100-80GB-HBM3:BM.GPU.H100.8")
    assert group == NodeGroup(2, 8, "NVIDIA-H100-80GB-HBM3", "BM.GPU.H100.8")
    assert NodeGroup.parse("2x8::BM.GPU.H100.8").product == "NVIDIA-H100-80GB-HBM3"
    assert NodeGroup.parse("2x8:A100").instance_type is None


def test_group_nodes_carry_their_instance_type_label() -> None:
    typed, untyped = group_nodes([NodeGroup(1, 8, instance_type="BM.GPU.H100.8"), NodeGroup(1)])
    labels = typed.manifest()["metadata"]["labels"]
    assert labels["node.kubernetes.io/instance-type"] == "BM.GPU.H100.8"
    assert "node.kubernetes.io/instance-type" not in untyped.manifest()["metadata"]["labels"]


@pytest.mark.parametrize(
    "text", ["4", "x8", "4x", "4x-1", "0x8", "ax8", "4x8:two words", "4x8:A100:two words"]
)
def test_bad_node_groups_are_refused_with_the_form_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"COUNTxGPUS|at least one node|one word"):
        NodeGroup.parse(text)


def test_group_nodes_are_numbered_across_groups_with_their_product() -> None:
    nodes = group_nodes([NodeGroup(2, 8), NodeGroup(1, 4, "NVIDIA-A10G")])
    assert [(n.name, n.gpus, n.gpu_product) for n in nodes] == [
        ("gpu-node-0", 8, "NVIDIA-H100-80GB-HBM3"),
        ("gpu-node-1", 8, "NVIDIA-H100-80GB-HBM3"),
        ("gpu-node-2", 4, "NVIDIA-A10G"),
    ]
    assert nodes[2].manifest()["metadata"]["labels"]["nvidia.com/gpu.product"] == "NVIDIA-A10G"


def test_group_nodes_have_the_cpus_and_memory_of_a_gpu_server() -> None:
    # upstream's llama-4-maverick runtimes request 128 CPUs and 512Gi with 8 GPUs
    eight, sixteen, none = group_nodes([NodeGroup(1, 8), NodeGroup(1, 16), NodeGroup(1, 0)])
    assert eight.manifest()["status"]["allocatable"] == {
        "cpu": "224",
        "memory": "2048Gi",
        "nvidia.com/gpu": "8",
        "pods": "110",
    }
    assert (sixteen.cpu, sixteen.memory) == ("448", "4096Gi")
    assert (none.cpu, none.memory) == (FakeNode("x").cpu, FakeNode("x").memory)
