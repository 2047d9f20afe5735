"""InferenceService defaulting: deployment mode annotation, replica defaults, predictor."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ome.serving import DeploymentMode
from ome.webhooks.defaulting import (
    DEPRECATION_WARNING_ANNOTATION,
    PD_DISAGGREGATED,
    default_inference_service,
)
from tests.unit.webhooks.support import service

RAW = DeploymentMode.RAW_DEPLOYMENT
MODE = "ome.io/deploymentMode"


def defaulted(obj: dict[str, Any], mode: DeploymentMode = RAW, **options: Any) -> dict[str, Any]:
    result, _ = default_inference_service(obj, mode, **options)
    return result


def mode_of(obj: dict[str, Any]) -> str | None:
    annotations: dict[str, str] = obj["metadata"].get("annotations") or {}
    return annotations.get(MODE)


def test_replicas_are_defaulted_per_component() -> None:
    obj = service(decoder={}, router={"config": {"a": "b"}})
    spec = defaulted(obj)["spec"]
    assert (spec["engine"]["minReplicas"], spec["engine"]["maxReplicas"]) == (1, 3)
    assert (spec["decoder"]["minReplicas"], spec["decoder"]["maxReplicas"]) == (1, 3)
    assert (spec["router"]["minReplicas"], spec["router"]["maxReplicas"]) == (1, 2)
    assert spec["router"]["config"] == {"a": "b"}


def test_explicit_replicas_are_kept_but_a_zero_maximum_counts_as_unset() -> None:
    spec = defaulted(service(engine={"minReplicas": 0, "maxReplicas": 0}))["spec"]
    assert spec["engine"] == {"minReplicas": 0, "maxReplicas": 3}
    spec = defaulted(service(engine={"minReplicas": 2, "maxReplicas": 5}))["spec"]
    assert spec["engine"] == {"minReplicas": 2, "maxReplicas": 5}


def test_absent_components_stay_absent() -> None:
    spec = defaulted(service(engine=None))["spec"]
    assert "engine" not in spec
    assert "router" not in spec


def test_values_of_the_wrong_type_are_left_for_validation() -> None:
    spec = defaulted(service(engine={"maxReplicas": "two"}, router="x"))["spec"]
    assert spec["engine"]["maxReplicas"] == "two"
    assert spec["router"] == "x"


def test_the_original_is_not_changed() -> None:
    obj = service()
    before = copy.deepcopy(obj)
    defaulted(obj)
    assert obj == before


@pytest.mark.parametrize(
    ("spec", "default", "expected"),
    [
        ({}, RAW, "RawDeployment"),
        ({"decoder": {}}, RAW, PD_DISAGGREGATED),
        ({"engine": {"leader": {}, "worker": {"size": 2}}}, RAW, "MultiNode"),
        ({"engine": {"leader": {}, "worker": {"size": 0}}}, RAW, "RawDeployment"),
        ({"engine": {"worker": {"size": 2}}}, RAW, "RawDeployment"),
        ({}, DeploymentMode.SERVERLESS, None),
        ({"engine": None}, RAW, "RawDeployment"),
        ({"engine": None}, DeploymentMode.SERVERLESS, None),
    ],
)
def test_the_deployment_mode_annotation_follows_the_components(
    spec: dict[str, Any], default: DeploymentMode, expected: str | None
) -> None:
    assert mode_of(defaulted(service(**spec), default)) == expected


def test_an_existing_deployment_mode_is_kept() -> None:
    obj = service(decoder={})
    obj["metadata"]["annotations"] = {MODE: "RawDeployment", "other": "x"}
    annotations = defaulted(obj)["metadata"]["annotations"]
    assert annotations == {MODE: "RawDeployment", "other": "x"}


PREDICTOR = {
    "model": {"baseModel": "llama", "runtime": "srt", "fineTunedWeights": ["ft"]},
    "minReplicas": 2,
    "containers": [
        {"name": "sidecar", "image": "side:1"},
        {"name": "ome-container", "image": "sglang:1"},
    ],
    "workerSpec": {"size": 1},
    "nodeSelector": {"pool": "gpu"},
}


def test_a_predictor_is_migrated_into_engine_model_and_runtime() -> None:
    obj = service(engine=None, model=None, predictor=PREDICTOR)
    result, warnings = default_inference_service(obj, RAW)
    spec = result["spec"]
    assert spec["engine"]["runner"] == {"name": "ome-container", "image": "sglang:1"}
    assert spec["engine"]["containers"] == [{"name": "sidecar", "image": "side:1"}]
    assert spec["engine"]["worker"] == {"size": 1}
    assert spec["engine"]["nodeSelector"] == {"pool": "gpu"}
    assert (spec["engine"]["minReplicas"], spec["engine"]["maxReplicas"]) == (2, 3)
    assert spec["model"] == {
        "name": "llama",
        "kind": "ClusterBaseModel",
        "fineTunedWeights": ["ft"],
    }
    assert spec["runtime"] == {"name": "srt", "kind": "ClusterServingRuntime"}
    assert spec["predictor"] == PREDICTOR  # kept, as upstream does
    assert DEPRECATION_WARNING_ANNOTATION in result["metadata"]["annotations"]
    assert any("deprecated" in w for w in warnings)


def test_without_an_ome_container_the_first_container_is_the_runner() -> None:
    predictor = {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}
    spec = defaulted(service(engine=None, predictor=predictor))["spec"]
    assert spec["engine"]["runner"]["name"] == "a"
    assert spec["engine"]["containers"] == [{"name": "b", "image": "2"}]


def test_migration_can_be_turned_off_and_never_replaces_an_engine() -> None:
    obj = service(engine=None, predictor=PREDICTOR)
    result = defaulted(obj, migrate_predictor=False)
    assert "engine" not in result["spec"]
    assert DEPRECATION_WARNING_ANNOTATION in result["metadata"]["annotations"]
    result = defaulted(service(engine={"runner": {"image": "mine"}}, predictor=PREDICTOR))
    assert result["spec"]["engine"]["runner"] == {"image": "mine"}


def test_an_empty_predictor_is_not_in_use() -> None:
    result = defaulted(service(predictor={}))
    assert DEPRECATION_WARNING_ANNOTATION not in result["metadata"]["annotations"]
