"""Which nodes an AcceleratorClass covers and what it counts (upstream
pkg/controller/v1beta1/acceleratorclass/controller.go: nodePassesDiscovery,
matchNodeSelectorExpressions, getGPUCapacity)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ome.serving.accelerator_inventory import (
    AVAILABLE,
    IN_USE,
    NO_MATCHING_NODES,
    NODES_UNAVAILABLE,
    class_status,
    covers,
    requested,
    requests_extended_resources,
)
from ome.serving.quantity import gibibytes, parse_quantity, whole
from ome.testing.nodes import FakeNode

NOW, LATER = "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"


def node(name: str, gpus: int, product: str, **extra: Any) -> dict[str, Any]:
    manifest = FakeNode(name, gpus=gpus, gpu_product=product).manifest()
    manifest["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    manifest["spec"] |= extra
    return manifest


def h100(spec: dict[str, Any] | None = None) -> dict[str, Any]:
    discovery = {"nodeSelector": {"nvidia.com/gpu.product": "H100"}}
    return {
        "metadata": {"name": "h100", "generation": 1},
        "spec": {"discovery": discovery, "capabilities": {}} | (spec or {}),
    }


def pod(node_name: str, gpus: int, phase: str = "Running", init: int = 0) -> dict[str, Any]:
    container = {"name": "c", "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}
    spec: dict[str, Any] = {"nodeName": node_name, "containers": [container]}
    if init:
        spec["initContainers"] = [
            {"name": "i", "resources": {"requests": {"nvidia.com/gpu": init}}}
        ]
    return {"spec": spec, "status": {"phase": phase}}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("8", 8),
        ("80Gi", 80 * 2**30),
        ("1.5", Decimal("1.5")),
        ("500m", Decimal("0.5")),
        ("1e3", 1000),
        ("2k", 2000),
    ],
)
def test_quantities(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


def test_quantity_helpers_round_as_go() -> None:
    assert whole("1.5") == 2
    assert whole("nonsense") == 0
    assert gibibytes("80Gi") == 80
    assert gibibytes("40") == 0  # a bare number is bytes, as upstream reads memoryGB


def test_node_selector_must_match_every_pair() -> None:
    assert covers(h100()["spec"], node("a", 8, "H100"))
    assert not covers(h100()["spec"], node("b", 8, "A100"))


def test_affinity_terms_are_ored_and_their_expressions_anded() -> None:
    terms = [
        {
            "matchExpressions": [
                {"key": "nvidia.com/gpu.product", "operator": "In", "values": ["A100"]}
            ]
        },
        {
            "matchExpressions": [
                {"key": "nvidia.com/gpu.count", "operator": "Gt", "values": ["4"]},
                {"key": "zone", "operator": "DoesNotExist"},
            ]
        },
    ]
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
        }
    }
    spec = {"discovery": {"affinity": affinity}}
    assert covers(spec, node("a", 2, "A100"))
    assert covers(spec, node("b", 8, "H100"))  # 8 > 4 as integers
    assert not covers(spec, node("c", 2, "H100"))
    by_name = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["c"]}]}
    spec["discovery"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ] = {"nodeSelectorTerms": [by_name]}
    assert covers(spec, node("c", 2, "H100"))
    assert not covers(spec, node("d", 2, "H100"))


def test_counts_capacity_and_what_bound_pods_leave() -> None:
    nodes = [node("a", 8, "H100"), node("b", 8, "H100"), node("c", 4, "A100")]
    pods = [
        pod("a", 2),
        pod("a", 1, init=4),  # effective request: the larger init container
        pod("b", 8, phase="Succeeded"),  # finished: holds nothing
        pod("c", 4),  # another class's node
    ]
    status = class_status(h100(), nodes, pods, NOW)
    assert status["nodes"] == ["a", "b"]
    assert status["totalAccelerators"] == 16
    assert status["availableAccelerators"] == 16 - 2 - 4
    assert status["availableNodes"] == 2
    (ready,) = status["conditions"]
    assert (ready["status"], ready["reason"]) == ("True", AVAILABLE)
    assert ready["message"] == "10 of 16 accelerator(s) free on 2 of 2 node(s)"
    assert status["lastUpdated"] == NOW


def test_named_resources_replace_upstreams_set() -> None:
    amd = node("m", 0, "MI300")
    amd["status"]["capacity"] |= {"amd.com/gpu": "8", "example.com/npu": "2"}
    amd["status"]["allocatable"] = dict(amd["status"]["capacity"])
    amd["metadata"]["labels"]["accel"] = "mi300"
    spec = {"discovery": {"nodeSelector": {"accel": "mi300"}}}
    assert (
        class_status({"metadata": {"name": "x"}, "spec": spec}, [amd], [], NOW)["totalAccelerators"]
        == 8
    )
    named = spec | {"resources": [{"name": "example.com/npu"}]}
    assert (
        class_status({"metadata": {"name": "x"}, "spec": named}, [amd], [], NOW)[
            "totalAccelerators"
        ]
        == 2
    )


def test_reasons_when_nothing_is_free() -> None:
    assert class_status(h100(), [], [], NOW)["conditions"][0]["reason"] == NO_MATCHING_NODES
    cordoned = node("a", 8, "H100", unschedulable=True)
    status = class_status(h100(), [cordoned], [], NOW)
    assert (status["availableNodes"], status["availableAccelerators"]) == (0, 0)
    assert status["conditions"][0]["reason"] == NODES_UNAVAILABLE
    full = class_status(h100(), [node("a", 8, "H100")], [pod("a", 8)], NOW)
    assert full["conditions"][0]["reason"] == IN_USE


def test_times_stay_while_nothing_changes() -> None:
    nodes = [node("a", 8, "H100")]
    first = class_status(h100(), nodes, [], NOW)
    again = class_status(h100() | {"status": first}, nodes, [], LATER)
    assert again == first
    fewer = class_status(h100() | {"status": first}, nodes, [pod("a", 3)], LATER)
    assert fewer["lastUpdated"] == LATER
    assert fewer["conditions"][0]["lastTransitionTime"] == NOW  # still True


def test_only_pods_with_extended_resources_matter() -> None:
    assert requests_extended_resources(pod("a", 1))
    plain = {"spec": {"containers": [{"resources": {"requests": {"cpu": "1"}}}]}}
    assert not requests_extended_resources(plain)
    assert requested([plain, pod("", 2)], ()) == {}  # unbound pods hold nothing
