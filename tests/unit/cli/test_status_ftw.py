"""`ome status ftw`: the report on one FineTunedWeight from plain API objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ome.cli.status_ftw import report

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def weight(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "sql", "creationTimestamp": "2026-01-01T11:00:00Z"},
        "spec": {
            "baseModelRef": {"name": "llama", "namespace": "team"},
            "modelType": "LoRA",
            "configuration": {"lora_rank": 16},
            "storage": {"storageUri": "hf://team/sql", "path": "/mnt/models/team/sql"},
        },
        "status": status,
    }


def test_a_ready_weight_and_its_services() -> None:
    condition = {
        "type": "Ready",
        "status": "True",
        "reason": "Ready",
        "message": "ready on node(s) gpu-0",
        "lastTransitionTime": "2026-01-01T11:59:00Z",
    }
    observed = {
        "weight": weight(state="Ready", nodesReady=["gpu-0"], conditions=[condition]),
        "base_exists": True,
        "users": ["team/chat"],
        "events": [],
        "notes": [],
    }
    text = report(observed, NOW)
    assert text.splitlines()[:6] == [
        "FineTunedWeight sql",
        "Age:         60m",
        "Base model:  BaseModel team/llama",
        "Weights:     LoRA adapter, rank 16",
        "Storage:     hf://team/sql (on the nodes at /mnt/models/team/sql)",
        "State:       Ready; ready on gpu-0",
    ]
    assert "Served by:   team/chat" in text
    assert "ready on node(s) gpu-0" in text


def test_a_missing_base_model_is_said() -> None:
    observed = {"weight": weight(), "base_exists": False, "users": [], "events": [], "notes": []}
    text = report(observed, NOW)
    assert "Base model:  BaseModel team/llama: not found" in text
    assert "State:       <none>" in text
    assert "Served by:   <none>" in text
