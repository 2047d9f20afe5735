from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime

import pytest

from ome.agent.metadata import ModelMetadata, NamedVersion
from ome.agent.progress import Phase, Progress
from ome.agent.status import (
    ModelEntry,
    ModelRef,
    ModelStatus,
    configmap_key,
    entry_to_json,
    node_label_key,
    parse_configmap_key,
    parse_entry,
    status_configmap,
)

# Kubernetes: a label name is at most 63 characters of this shape.
LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


def cut(text: str, limit: int) -> str:
    """Upstream's truncation, spelled out: sha256 prefix, '-', the end of the text."""
    return hashlib.sha256(text.encode()).hexdigest()[:8] + "-" + text[-(limit - 9) :]


def test_short_names_are_kept_whole() -> None:
    cluster = ModelRef("llama-3-1-8b-instruct")
    namespaced = ModelRef("llama", "team-a")
    assert configmap_key(cluster) == "clusterbasemodel.llama-3-1-8b-instruct"
    assert configmap_key(namespaced) == "team-a.basemodel.llama"
    assert node_label_key(cluster) == "models.ome.io/clusterbasemodel.llama-3-1-8b-instruct"
    assert node_label_key(namespaced) == "models.ome.io/team-a.basemodel.llama"


def test_long_cluster_model_names_are_cut_with_a_hash() -> None:
    name = "deepseek-r1-distill-qwen-32b-instruct-awq"  # 41 > 32 characters of room
    key = node_label_key(ModelRef(name))
    assert key == f"models.ome.io/clusterbasemodel.{cut(name, 32)}"
    assert len(key.split("/", 1)[1]) == 49


def test_long_namespaced_names_give_the_namespace_eight_characters() -> None:
    ref = ModelRef("meta-llama-3-1-70b-instruct-fp8-dynamic", "inference-team-production")
    key = node_label_key(ref)
    # 38 characters for both: the namespace is cut to its hash alone, the model gets 30.
    namespace = hashlib.sha256(ref.namespace.encode()).hexdigest()[:8]  # type: ignore[union-attr]
    assert key == f"models.ome.io/{namespace}.basemodel.{cut(ref.name, 30)}"
    name = key.split("/", 1)[1]
    assert len(name) == 49
    assert LABEL_NAME.fullmatch(name)


def test_a_short_namespace_is_kept_when_the_name_is_cut() -> None:
    ref = ModelRef("m" * 60, "ns")
    assert node_label_key(ref) == f"models.ome.io/ns.basemodel.{cut(ref.name, 36)}"


def test_configmap_keys_allow_253_characters() -> None:
    name = "x" * 240
    assert configmap_key(ModelRef(name)) == f"clusterbasemodel.{cut(name, 236)}"
    assert configmap_key(ModelRef("x" * 200, "ns")) == f"ns.basemodel.{'x' * 200}"


@pytest.mark.parametrize(
    ("key", "ref"),
    [
        ("clusterbasemodel.llama", ModelRef("llama")),
        ("team-a.basemodel.llama.v2", ModelRef("llama.v2", "team-a")),
        ("clusterbasemodel.", None),
        ("something-else", None),
        (".basemodel.x", None),
    ],
)
def test_parse_configmap_key(key: str, ref: ModelRef | None) -> None:
    assert parse_configmap_key(key) == ref
    if ref is not None:
        assert configmap_key(ref) == key


def test_status_configmap_is_upstreams_shape() -> None:
    cm = status_configmap("gpu-1")
    assert cm["metadata"] == {
        "name": "gpu-1",
        "namespace": "ome",
        "labels": {"models.ome/basemodel-status": "true", "node": "gpu-1"},
        "annotations": {
            "models.ome.io/node-name": "gpu-1",
            "models.ome.io/managed-by": "model-agent",
        },
    }
    assert cm["data"] == {}


def test_entry_round_trip() -> None:
    entry = ModelEntry(
        name="llama",
        status=ModelStatus.UPDATING,
        config=ModelMetadata(
            model_type="llama",
            model_architecture="LlamaForCausalLM",
            model_parameter_size="8.03B",
            max_tokens=131072,
            model_capabilities=("TEXT_TO_TEXT",),
            model_format=NamedVersion("safetensors", "1.0.0"),
            model_framework=NamedVersion("transformers", "4.43.0"),
            model_configuration={"model_type": "llama"},
        ),
        progress=Progress(
            Phase.DOWNLOADING, 100, 40, 4, 1, 12.5, datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
        ),
    )
    text = entry_to_json(entry)
    assert list(json.loads(text)) == ["name", "status", "config", "progress"]
    assert json.loads(text)["progress"] == {
        "phase": "Downloading",
        "totalBytes": 100,
        "completedBytes": 40,
        "totalFiles": 4,
        "completedFiles": 1,
        "speedBytesPerSec": 12.5,
        "percent": 40,  # ours: upstream's readers ignore it
        "lastUpdated": "2025-01-02T03:04:05Z",
    }
    assert parse_entry(text) == entry


def test_a_failed_entry_carries_its_message() -> None:
    entry = ModelEntry("llama", ModelStatus.FAILED, message="repository org/llama not found")
    assert json.loads(entry_to_json(entry)) == {
        "name": "llama",
        "status": "Failed",
        "message": "repository org/llama not found",
    }
    assert parse_entry(entry_to_json(entry)) == entry


def test_reads_an_entry_written_by_upstreams_agent() -> None:
    text = (
        '{"name":"e5-mistral-7b-instruct","status":"Ready","config":{"modelType":"mistral",'
        '"modelArchitecture":"MistralModel","modelFramework":{"name":"transformers",'
        '"version":"4.34.0"},"modelFormat":{"name":"safetensors","version":"1.0.0"},'
        '"modelParameterSize":"7.11B","maxTokens":32768,"modelCapabilities":["EMBEDDING"],'
        '"decodedModelConfiguration":{"model_type":"mistral"},"artifact":{"sha":"abc",'
        '"parentPath":null,"childrenPaths":null}},"progress":{"phase":"Finalizing",'
        '"totalBytes":10,"completedBytes":10,"totalFiles":1,"completedFiles":1,'
        '"speedBytesPerSec":0,"lastUpdated":"2025-06-01T10:00:00Z"}}'
    )
    entry = parse_entry(text)
    assert entry.status is ModelStatus.READY
    assert entry.config is not None
    assert entry.config.model_parameter_size == "7.11B"
    assert entry.config.max_tokens == 32768
    assert entry.config.model_framework == NamedVersion("transformers", "4.34.0")
    assert entry.config.artifact_sha == "abc"
    assert entry.progress is not None
    assert entry.progress.phase is Phase.FINALIZING
    assert entry.progress.last_updated == datetime(2025, 6, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    ["", "[]", '{"status":"Ready"}', '{"name":"x","status":"Gone"}', '{"name":"x"}', "{"],
)
def test_garbage_is_no_entry(text: str) -> None:
    with pytest.raises(ValueError, match="not a model status entry"):
        parse_entry(text)
