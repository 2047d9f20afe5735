"""``ome status model``: the report on one model from what the cluster holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ome.cli.status_model import describe_metadata, human_bytes, report
from ome.controllers.basemodel.reports import NodeReport

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def model(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "kind": "ClusterBaseModel",
        "metadata": {"name": "llama"},
        "spec": {"storage": {"storageUri": "hf://meta/llama"}, **spec},
        "status": status or {},
    }


def test_a_model_downloading_on_one_node_and_failed_on_another() -> None:
    progress = {"completedBytes": 3 * 2**30, "totalBytes": 4 * 2**30, "percent": 75, "nodes": 1}
    observed = {
        "model": model({}, {"state": "In_Transit", "progress": progress}),
        "reports": [
            NodeReport("gpu-0", "Updating", "", 3 * 2**30, 4 * 2**30),
            NodeReport("gpu-1", "Failed", "cannot fetch model metadata from http://hub/x"),
        ],
        "events": [],
    }
    text = report(observed, NOW)
    lines = text.splitlines()
    assert lines[0] == "ClusterBaseModel llama"
    assert "  State:     In_Transit" in lines
    assert "  Progress:  75% (3.0 GiB of 4.0 GiB, 1 node downloading)" in lines
    assert "  Storage:   hf://meta/llama" in lines
    assert any(line.startswith("  Metadata:  no metadata yet") for line in lines)
    assert "  gpu-0  Updating  75% of 4.0 GiB" in text
    assert "gpu-1  Failed    -" in text
    assert "cannot fetch model metadata from http://hub/x" in text


def test_metadata_and_sizes_read_as_people_write_them() -> None:
    spec = {
        "modelFormat": {"name": "safetensors", "version": "1.0.0"},
        "modelArchitecture": "LlamaForCausalLM",
        "modelParameterSize": "8B",
        "quantization": "fp8",
    }
    assert describe_metadata(spec) == "safetensors 1.0.0, LlamaForCausalLM, 8B, fp8"
    assert human_bytes(512) == "512 B"
    assert human_bytes(300 * 2**20) == "300.0 MiB"
    assert human_bytes(5 * 2**40) == "5.0 TiB"
    text = report({"model": model(spec), "reports": [], "events": []}, NOW)
    assert "Nodes:     <none has reported it>" in text
    assert "  State:     unknown (not reconciled yet)" in text
