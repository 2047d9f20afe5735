"""Gateway API HTTPRoutes (``gateway.networking.k8s.io/v1``) of a service whose ingress
goes through a Gateway (``enableGatewayAPI``, upstream ``reconcilers/ingress/builders/
httproute_builder.go`` and ``strategies/gateway_api_strategy.go``).

One route per component, named after its Service (``{name}-engine``, ``-router``,
``-decoder``) on the component's host, and one named after the service on the service's
host (and its additional domains) to the router, else the engine, or to the service's
InferencePool when it has one (:mod:`ome.serving.inferencepool`). Every route hangs off
``omeIngressGateway`` (``namespace/name``), matches every path (``^/.*$``), sets upstream's
``OMe-Isvc-Name``/``OME-Isvc-Namespace`` request headers and times requests out after the
component's ``timeoutSeconds`` (else 60 s). Backends are the components' own Services on
their ports, which every layout has: a multi-node component's Service selects its leaders.

A route is ready when every parent (Gateway) the gateway controller reports on has
``Accepted`` and ``ResolvedRefs`` True."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ome.api.names import subdomain_problem
from ome.serving import inferencepool as pool
from ome.serving.catalog import name_of, service_namespace
from ome.serving.components import Component, Spec
from ome.serving.config import GatewayRef, IngressConfig, gateway_ref
from ome.serving.endpointpicker import endpoint_picker
from ome.serving.inferencepool import pooled_workload
from ome.serving.ingress import component_host
from ome.serving.metadata import (
    COMPONENT_LABEL,
    INFERENCESERVICE_LABEL,
    VISIBILITY_LABEL,
    service_annotations,
)
from ome.serving.plan import ServingPlan, Workload
from ome.serving.raw import service_name, service_ports
from ome.serving.revisions import Rollout, canary_workload

GROUP = "gateway.networking.k8s.io"
API_VERSION = f"{GROUP}/v1"
KIND = "HTTPRoute"
NAME_HEADER = "OMe-Isvc-Name"
NAMESPACE_HEADER = "OME-Isvc-Namespace"
EVERY_PATH = "^/.*$"
DEFAULT_TIMEOUT_SECONDS = 60
REQUIRED_CONDITIONS = ("Accepted", "ResolvedRefs")
NO_PARENT_STATUS = "ParentStatusNotAvailable"
NOT_READY = "HttpRouteNotReady"
_ROUTE_ORDER = (Component.ENGINE, Component.ROUTER, Component.DECODER)


def httproutes(
    plan: ServingPlan, rollouts: Mapping[Component, Rollout] | None = None
) -> list[Spec]:
    """The component routes (engine, router, decoder), then the service's. A component
    in a canary rollout (``rollouts``) is reached through its stable and canary Services,
    weighted by the canary's percent."""
    rollouts = rollouts or {}
    service = plan.service
    name, namespace = name_of(service), service_namespace(service)
    gateway = gateway_ref(plan.ingress)
    labels = service.metadata.labels or {}
    annotations = service.metadata.annotations or {}

    def host(of: str) -> str:
        return component_host(of, namespace, labels, annotations, plan.ingress)

    routes = []
    for component in _ROUTE_ORDER:
        workload = plan.workload(component)
        if workload is not None:
            routes.append(
                _route(
                    plan,
                    name=workload.name,
                    hostnames=[host(workload.name)],
                    backends=_backends(workload, namespace, rollouts.get(component)),
                    timing=workload,
                    gateway=gateway,
                    component=component,
                )
            )
    own = host(name)
    hostnames = [own, *additional_hosts(own, plan.ingress)]
    # the service's own route leads to its InferencePool, else the router, else the engine
    entry = plan.workload(Component.ROUTER) or plan.workloads[0]
    backends = _backends(entry, namespace, rollouts.get(entry.component))
    if endpoint_picker(annotations) is not None:
        backends = [_pool_backend(name, namespace)]
        entry = pooled_workload(plan)
    routes.append(
        _route(
            plan,
            name=name,
            hostnames=hostnames,
            backends=backends,
            timing=entry,
            gateway=gateway,
            component=None,
        )
    )
    return routes


def additional_hosts(host: str, config: IngressConfig) -> list[str]:
    """``host`` under each of ``additionalIngressDomains`` (upstream ``GetAdditionalHosts``:
    the host's part before the ingress domain, then each domain; invalid names left out)."""
    if not config.additional_ingress_domains or not host.endswith(config.ingress_domain):
        return []
    prefix = host[: len(host) - len(config.ingress_domain)]
    if not prefix:
        return []
    found: list[str] = []
    for domain in config.additional_ingress_domains:
        candidate = prefix + domain
        if candidate not in found and candidate != host and subdomain_problem(candidate) is None:
            found.append(candidate)
    return found


def _route(
    plan: ServingPlan,
    *,
    name: str,
    hostnames: Sequence[str],
    backends: list[Spec],
    timing: Workload,
    gateway: GatewayRef,
    component: Component | None,
) -> Spec:
    service = plan.service
    namespace = service_namespace(service)
    labels = {k: v for k, v in (service.metadata.labels or {}).items() if k != VISIBILITY_LABEL}
    labels[INFERENCESERVICE_LABEL] = name_of(service)
    if component is not None:
        labels[COMPONENT_LABEL] = str(component)
    metadata: Spec = {"name": name, "namespace": namespace, "labels": dict(sorted(labels.items()))}
    annotations = service_annotations(service)
    if annotations:
        metadata["annotations"] = dict(sorted(annotations.items()))
    headers = [
        {"name": NAME_HEADER, "value": name_of(service)},
        {"name": NAMESPACE_HEADER, "value": namespace},
    ]
    rule = {
        "matches": [{"path": {"type": "RegularExpression", "value": EVERY_PATH}}],
        "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": headers}}],
        "backendRefs": backends,
        "timeouts": {"request": f"{_timeout(timing)}s"},
    }
    parent = {"group": GROUP, "kind": "Gateway", "namespace": gateway.namespace}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {
            "hostnames": list(hostnames),
            "parentRefs": [parent | {"name": gateway.name}],
            "rules": [rule],
        },
    }


def _backends(workload: Workload, namespace: str, rollout: Rollout | None) -> list[Spec]:
    if rollout is None or not rollout.canary:
        return [_backend(workload, namespace, 1)]
    return [
        _backend(workload, namespace, 100 - rollout.percent),
        _backend(canary_workload(workload), namespace, rollout.percent),
    ]


def _backend(workload: Workload, namespace: str, weight: int) -> Spec:
    return {
        "group": "",
        "kind": "Service",
        "name": service_name(workload),
        "namespace": namespace,
        "port": service_ports(workload)[0]["port"],
        "weight": weight,
    }


def _pool_backend(service_name: str, namespace: str) -> Spec:
    return {
        "group": pool.GROUP,
        "kind": pool.KIND,
        "name": pool.pool_name(service_name),
        "namespace": namespace,
        "weight": 1,
    }


def _timeout(workload: Workload) -> int:
    seconds = workload.spec.get("timeoutSeconds")
    return seconds if isinstance(seconds, int) and seconds > 0 else DEFAULT_TIMEOUT_SECONDS


def route_condition(plan: ServingPlan, observed: Mapping[str, Spec]) -> tuple[str, str, str] | None:
    """``IngressReady`` from the routes as read (by name): None when every route is
    accepted with its references resolved by every parent, else (status, reason,
    message) of the first route that is not: a parent's False condition with its reason,
    or ``HttpRouteNotReady`` while the gateway controller has not answered."""
    for route in httproutes(plan):
        name = route["metadata"]["name"]
        label = route["metadata"]["labels"].get(COMPONENT_LABEL, "service")
        found = observed.get(name)
        parents = ((found or {}).get("status") or {}).get("parents") or []
        if not parents:
            message = f"{label} route {name}: no gateway has reported on it yet"
            return "False", NO_PARENT_STATUS, message
        for parent in parents:
            conditions = {c.get("type"): c for c in parent.get("conditions") or []}
            for kind in REQUIRED_CONDITIONS:
                condition = conditions.get(kind, {})
                if condition.get("status") != "True":
                    gateway = (parent.get("parentRef") or {}).get("name", "")
                    reason = condition.get("reason") or NOT_READY
                    detail = condition.get("message") or f"{kind} is not True"
                    message = f"{label} route {name} on gateway {gateway}: {detail}"
                    return "False", reason, message
    return None
