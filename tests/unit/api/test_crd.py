"""The CRDs generated from the models: structural, faithful to the models, and committed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ome.api.crd import crd_files, custom_resource_definition, render
from ome.api.schema import object_schema
from ome.api.v1beta1 import KINDS, InferenceService, ServingRuntime
from ome.api.v1beta1.common import ModelFormat

CRD_DIR = Path(__file__).resolve().parents[3] / "manifests" / "crds"
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PYTHON_TYPES = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list}


@pytest.fixture(scope="module")
def full() -> dict[str, dict[str, Any]]:
    return {kind: custom_resource_definition(model) for kind, model in KINDS.items()}


def nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from nodes(child, f"{path}.{name}")
    if "items" in schema:
        yield from nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from nodes(schema["additionalProperties"], f"{path}{{}}")


def root(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def test_committed_crds_match_the_models() -> None:
    """Fails when the models changed without `ome manifests crds` being run."""
    generated = crd_files(KINDS.values())
    committed = {
        str(path.relative_to(CRD_DIR)): yaml.load(path.read_text(), Loader=Loader)
        for path in CRD_DIR.rglob("*.yaml")
    }
    assert sorted(committed) == sorted(generated)
    stale = [name for name, document in generated.items() if committed[name] != document]
    assert not stale, f"run `ome manifests crds`: {stale} differ from the models"


def test_schemas_are_structural(full: dict[str, dict[str, Any]]) -> None:
    """The rules the API server enforces on a CRD, checked offline for every node."""
    for kind, crd in full.items():
        for path, node in nodes(root(crd)):
            where = f"{kind}{path}"
            typed = "type" in node
            assert typed or node.get("x-kubernetes-int-or-string"), f"{where} has no type"
            assert not ("properties" in node and "additionalProperties" in node), where
            assert set(node.get("required", ())) <= set(node.get("properties", {})), where
            if "default" in node and typed:
                assert isinstance(node["default"], PYTHON_TYPES[node["type"]]), where
            for key in node.get("x-kubernetes-list-map-keys", ()):
                item = node["items"]
                assert key in item.get("required", ()) or "default" in item["properties"][key]


def test_names_scope_and_subresources(full: dict[str, dict[str, Any]]) -> None:
    isvc = full["InferenceService"]["spec"]
    assert isvc["names"] == {
        "kind": "InferenceService",
        "listKind": "InferenceServiceList",
        "plural": "inferenceservices",
        "singular": "inferenceservice",
        "shortNames": ["isvc"],
        "categories": ["ome"],
    }
    assert all(crd["spec"]["names"]["categories"] == ["ome"] for crd in full.values())
    assert {k: c["spec"]["scope"] for k, c in full.items()} == {
        "BaseModel": "Namespaced",
        "ClusterBaseModel": "Cluster",
        "FineTunedWeight": "Cluster",
        "ServingRuntime": "Namespaced",
        "ClusterServingRuntime": "Cluster",
        "InferenceService": "Namespaced",
        "AcceleratorClass": "Cluster",
        "BenchmarkJob": "Namespaced",
        "DedicatedAICluster": "Cluster",
        "DedicatedAIClusterProfile": "Cluster",
    }
    without_status = {k for k, c in full.items() if not c["spec"]["versions"][0]["subresources"]}
    assert without_status == {"ServingRuntime", "ClusterServingRuntime"}
    assert "conversion" not in isvc


def test_defaults_enums_and_free_form_fields() -> None:
    schema = object_schema(ModelFormat)
    assert schema["required"] == ["name"]
    assert schema["properties"]["operator"]["default"] == "Equal"
    assert schema["properties"]["weight"] == {
        "type": "integer",
        "format": "int64",
        "default": 1,
        "description": "Weight of this match in scoring.",
    }
    spec = root(custom_resource_definition(InferenceService))["properties"]["spec"]
    assert spec["properties"]["model"]["properties"]["kind"]["default"] == "ClusterBaseModel"
    assert spec["properties"]["engine"]["properties"]["scaleMetric"]["enum"] == [
        "cpu",
        "memory",
        "concurrency",
        "rps",
    ]
    status = root(custom_resource_definition(InferenceService))["properties"]["status"]
    assert status["x-kubernetes-preserve-unknown-fields"] is True


def test_root_metadata_belongs_to_the_server() -> None:
    schema = root(custom_resource_definition(ServingRuntime))
    assert schema["properties"]["metadata"] == {"type": "object"}
    assert schema["properties"]["apiVersion"] == {"type": "string"}
    assert "required" not in schema  # a runtime's spec is all optional


def test_minimal_variant_keeps_spec_and_status_as_given() -> None:
    minimal = custom_resource_definition(InferenceService, minimal=True)
    full = custom_resource_definition(InferenceService)
    free = {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "x-kubernetes-map-type": "atomic",
    }
    properties = root(minimal)["properties"]
    assert properties["spec"] == properties["status"] == free
    minimal_version, full_version = minimal["spec"]["versions"][0], full["spec"]["versions"][0]
    for key in ("additionalPrinterColumns", "subresources"):
        assert minimal_version[key] == full_version[key]
    assert minimal["spec"]["names"] == full["spec"]["names"]


def test_rendered_yaml_reads_back() -> None:
    crd = custom_resource_definition(InferenceService, minimal=True)
    text = render(crd)
    assert text.startswith("# Generated by `ome manifests crds`")
    assert yaml.safe_load(text) == crd
