"""``ome status dac``'s report: units, state, GPUs, nodes, placeholders and workloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ome.cli.status_dac import report

NOW = datetime(2026, 1, 1, tzinfo=UTC)
GPU8 = {"limits": {"nvidia.com/gpu": "8"}}


def pod(name: str, gpus: int, node: str | None, **labels: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}]
    }
    if node:
        spec["nodeName"] = node
    return {
        "metadata": {"name": name, "namespace": "team", "labels": labels},
        "spec": spec,
        "status": {"phase": "Running" if node else "Pending"},
    }


def observed(profile: Any = None) -> dict[str, Any]:
    return {
        "dac": {
            "metadata": {"name": "gold", "creationTimestamp": "2025-12-31T23:00:00Z"},
            "spec": {"profile": "h100", "count": 2},
            "status": {
                "dacLifecycleState": "ACTIVE",
                "lifecycleDetail": "2 unit(s) of 1 pod(s)",
                "availableGpu": 8,
                "allocatedGpu": 1,
                "nodes": ["n1", "n2"],
            },
        },
        "profile": profile,
        "pods": [
            pod("dac-gold-1", 8, "n2", **{"ome.io/dac-placeholder": "true"}),
            pod("chat-engine-1", 1, "n1", **{"ome.io/inferenceservice": "chat"}),
            pod("trainer", 8, None),
        ],
        "events": [],
        "notes": [],
    }


def test_the_report_names_units_gpus_nodes_and_workloads() -> None:
    profile = {"metadata": {"name": "h100"}, "spec": {"count": 1, "resources": GPU8}}
    text = report(observed(profile), NOW)
    assert "Units:       2 of 1 pod(s), 8 GPU(s) per pod: 16 GPUs" in text
    assert "State:       ACTIVE" in text
    assert "GPUs:        8 available, 1 allocated" in text
    assert "Nodes:       n1, n2" in text
    assert "Placeholders: 1 placed, 0 pending" in text
    assert "team/chat-engine-1 (InferenceService chat): 1 GPU(s) on n1" in text
    assert "team/trainer (bare pod): 8 GPU(s) on Pending" in text


def test_a_missing_profile_is_named() -> None:
    text = report(observed(None), NOW)
    assert "Profile:     h100: not found" in text
    assert "DedicatedAIClusterProfile h100 does not exist" in text
