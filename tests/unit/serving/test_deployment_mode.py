"""Per-component deployment modes."""

from __future__ import annotations

from typing import Any

import pytest

from ome.serving import Component, DeploymentMode, Reason, ServingError
from ome.serving.deployment_mode import component_modes, require_supported, service_mode

RAW, SERVERLESS, MULTI_NODE = (
    DeploymentMode.RAW_DEPLOYMENT,
    DeploymentMode.SERVERLESS,
    DeploymentMode.MULTI_NODE,
)
MODE = "ome.io/deploymentMode"


@pytest.mark.parametrize(
    ("components", "expected"),
    [
        ({"engine": {}}, {"engine": RAW}),
        ({"engine": {"minReplicas": 0}}, {"engine": SERVERLESS}),
        ({"engine": {"leader": {}}}, {"engine": MULTI_NODE}),
        ({"engine": {"worker": {"size": 1}, "minReplicas": 0}}, {"engine": MULTI_NODE}),
        ({"engine": {"annotations": {MODE: "RawDeployment"}, "leader": {}}}, {"engine": RAW}),
        ({"engine": {"annotations": {MODE: "Nonsense"}, "leader": {}}}, {"engine": MULTI_NODE}),
        (
            {"engine": {"minReplicas": 0}, "decoder": {"minReplicas": 0}},
            {"engine": RAW, "decoder": RAW},
        ),
        ({"engine": {}, "decoder": {"worker": {}}}, {"engine": RAW, "decoder": MULTI_NODE}),
        ({"engine": {}, "router": {"minReplicas": 0}}, {"engine": RAW, "router": SERVERLESS}),
    ],
)
def test_component_modes(components: dict[str, Any], expected: dict[str, DeploymentMode]) -> None:
    specs = {Component(k): v for k, v in components.items()}
    assert component_modes(specs) == {Component(k): v for k, v in expected.items()}


def test_an_engine_is_required() -> None:
    with pytest.raises(ServingError) as caught:
        component_modes({Component.ROUTER: {}})
    assert caught.value.reason is Reason.ENGINE_MISSING


def test_the_service_annotation_wins_over_the_default() -> None:
    assert service_mode({MODE: "Serverless"}, RAW) is SERVERLESS
    assert service_mode({MODE: "PDDisaggregated"}, RAW) is RAW
    assert service_mode(None, SERVERLESS) is SERVERLESS


@pytest.mark.parametrize(
    ("service", "modes"),
    [
        (DeploymentMode.VIRTUAL_DEPLOYMENT, {}),
        (RAW, {Component.ENGINE: DeploymentMode.MULTI_NODE_RAY_VLLM}),
        (SERVERLESS, {Component.ENGINE: DeploymentMode.VIRTUAL_DEPLOYMENT}),
    ],
)
def test_only_deployments_leader_worker_sets_and_knative_services_are_supported(
    service: DeploymentMode, modes: dict[Component, DeploymentMode]
) -> None:
    with pytest.raises(ServingError) as caught:
        require_supported(service, modes)
    assert caught.value.reason is Reason.UNSUPPORTED_DEPLOYMENT_MODE


def test_multi_node_components_are_supported() -> None:
    require_supported(RAW, {Component.ENGINE: MULTI_NODE, Component.DECODER: MULTI_NODE})
    require_supported(MULTI_NODE, {Component.ENGINE: MULTI_NODE, Component.ROUTER: RAW})


def test_a_multi_node_engine_cannot_be_serverless() -> None:
    engine = {"annotations": {MODE: "Serverless"}, "leader": {}, "worker": {"size": 1}}
    with pytest.raises(ServingError) as caught:
        component_modes({Component.ENGINE: engine})
    assert caught.value.reason is Reason.UNSUPPORTED_DEPLOYMENT_MODE
    assert "Knative Service runs single pods" in caught.value.message


def test_serverless_components_and_services_are_supported() -> None:
    """As upstream, a Serverless service deploys its components by the same rules."""
    require_supported(SERVERLESS, {})
    require_supported(RAW, {Component.ENGINE: RAW, Component.ROUTER: SERVERLESS})
    require_supported(SERVERLESS, {Component.ENGINE: SERVERLESS})
