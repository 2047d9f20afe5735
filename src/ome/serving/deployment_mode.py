"""How each component is deployed (upstream ``utils/deployment.go``).

The service's mode is its ``ome.io/deploymentMode`` annotation when valid, else the
configured default; only ``Serverless`` and ``VirtualDeployment`` change anything at that
level. Each component then has its own mode, from its merged spec:

- engine: its own ``ome.io/deploymentMode`` annotation if valid; else ``MultiNode`` when it
  has a leader or workers; else ``Serverless`` when ``minReplicas`` is 0; else
  ``RawDeployment``. With a decoder present a Serverless engine becomes RawDeployment;
- decoder: ``MultiNode`` with a leader or workers, else ``RawDeployment``;
- router: ``Serverless`` when ``minReplicas`` is 0, else ``RawDeployment``.

The service-level annotation does not reach the components (upstream #445: an explicit
RawDeployment service with ``minReplicas: 0`` still gets a Serverless engine).
RawDeployment (a Deployment), MultiNode (a LeaderWorkerSet) and Serverless (a Knative
Service) are implemented; the others are reported as unsupported. A Serverless service
deploys its components by these rules too: as upstream, the service-level mode only asks
for Knative Serving."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from ome.serving.components import Component, Spec
from ome.serving.problems import Reason, ServingError

DEPLOYMENT_MODE_ANNOTATION = "ome.io/deploymentMode"


class DeploymentMode(StrEnum):
    RAW_DEPLOYMENT = "RawDeployment"
    SERVERLESS = "Serverless"
    MULTI_NODE = "MultiNode"
    MULTI_NODE_RAY_VLLM = "MultiNodeRayVLLM"
    VIRTUAL_DEPLOYMENT = "VirtualDeployment"


_MODES = frozenset(DeploymentMode)
SUPPORTED = frozenset(
    {DeploymentMode.RAW_DEPLOYMENT, DeploymentMode.MULTI_NODE, DeploymentMode.SERVERLESS}
)
"""The modes a component may be deployed in."""
_NEEDS = {
    DeploymentMode.SERVERLESS: "Knative Serving",
    DeploymentMode.MULTI_NODE: "LeaderWorkerSet",
    DeploymentMode.MULTI_NODE_RAY_VLLM: "Ray",
    DeploymentMode.VIRTUAL_DEPLOYMENT: "a status-only service",
}


def annotated_mode(annotations: Mapping[str, str] | None) -> DeploymentMode | None:
    value = (annotations or {}).get(DEPLOYMENT_MODE_ANNOTATION, "")
    return DeploymentMode(value) if value in _MODES else None


def service_mode(annotations: Mapping[str, str] | None, default: DeploymentMode) -> DeploymentMode:
    return annotated_mode(annotations) or default


def component_modes(components: Mapping[Component, Spec]) -> dict[Component, DeploymentMode]:
    """Each declared component's mode; :class:`ServingError` without an engine."""
    engine = components.get(Component.ENGINE)
    if engine is None:
        raise ServingError(Reason.ENGINE_MISSING, "spec.engine is required (engine component)")
    modes = {Component.ENGINE: _engine_mode(engine)}
    if Component.DECODER in components:
        if modes[Component.ENGINE] is DeploymentMode.SERVERLESS:
            modes[Component.ENGINE] = DeploymentMode.RAW_DEPLOYMENT
        decoder = components[Component.DECODER]
        modes[Component.DECODER] = (
            DeploymentMode.MULTI_NODE if _multi_node(decoder) else DeploymentMode.RAW_DEPLOYMENT
        )
    if Component.ROUTER in components:
        router = components[Component.ROUTER]
        modes[Component.ROUTER] = (
            DeploymentMode.SERVERLESS if _scales_to_zero(router) else DeploymentMode.RAW_DEPLOYMENT
        )
    return modes


def _engine_mode(engine: Spec) -> DeploymentMode:
    annotated = annotated_mode(engine.get("annotations"))
    if annotated is DeploymentMode.SERVERLESS and _multi_node(engine):
        # upstream renders the Knative Service from the engine alone, dropping its groups
        raise ServingError(
            Reason.UNSUPPORTED_DEPLOYMENT_MODE,
            "the engine has a leader or workers (multi-node) and is annotated "
            f"{DEPLOYMENT_MODE_ANNOTATION}: Serverless, but a Knative Service runs single "
            "pods: remove the annotation or the leader and worker",
        )
    if annotated is not None:
        return annotated
    if _multi_node(engine):
        return DeploymentMode.MULTI_NODE
    return DeploymentMode.SERVERLESS if _scales_to_zero(engine) else DeploymentMode.RAW_DEPLOYMENT


def _multi_node(component: Spec) -> bool:
    return "leader" in component or "worker" in component


def _scales_to_zero(component: Spec) -> bool:
    return component.get("minReplicas") == 0


def require_supported(service: DeploymentMode, modes: Mapping[Component, DeploymentMode]) -> None:
    """:class:`ServingError` unless every component is deployed as a Deployment, a
    LeaderWorkerSet or a Knative Service (RawDeployment, MultiNode or Serverless), in a
    service that is not VirtualDeployment."""
    if service is DeploymentMode.VIRTUAL_DEPLOYMENT:
        raise ServingError(
            Reason.UNSUPPORTED_DEPLOYMENT_MODE,
            f"deployment mode {service} (needs {_NEEDS[service]}) is not supported yet",
        )
    for component, mode in modes.items():
        if mode not in SUPPORTED:
            raise ServingError(
                Reason.UNSUPPORTED_DEPLOYMENT_MODE,
                f"the {component} would be deployed as {mode} (needs {_NEEDS[mode]}), "
                "which is not supported yet",
            )
