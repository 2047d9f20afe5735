"""Every object the controller applies for a planned InferenceService, as plain JSON
objects (apiVersion, kind, metadata, spec) ready for server-side apply, in apply order:
the modelconfig ConfigMap; per component (engine, decoder, router) the router's access
objects, then its Deployment, Service, autoscaler and PodDisruptionBudget, or for a
multi-node component its LeaderWorkerSet and the Service to its leaders, or for a
Serverless component its Knative Service (:mod:`ome.serving.knative`); the
InferencePool when the service asks for one (:mod:`ome.serving.inferencepool`); then the
external Service, the Gateway API HTTPRoutes (:mod:`ome.serving.gateway`) or the Ingress,
unless the entry component is Serverless: Knative routes to it.

When the service has a UID, every object gets it as controlling owner, so that deleting
the service deletes them."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ome.api.v1beta1 import InferenceService
from ome.serving.catalog import name_of, service_namespace
from ome.serving.components import Component, Spec
from ome.serving.config import uses_gateway_api
from ome.serving.gateway import httproutes
from ome.serving.inferencepool import inference_pool
from ome.serving.ingress import (
    EXTERNAL_SERVICE_COMPONENT,
    component_host,
    ingress_rule,
    service_annotations_for_external,
)
from ome.serving.knative import knative_service
from ome.serving.metadata import (
    COMPONENT_LABEL,
    INFERENCESERVICE_LABEL,
    SERVICE_TYPE_ANNOTATION,
    VISIBILITY_LABEL,
)
from ome.serving.modelconfig import modelconfig
from ome.serving.multinode import multinode_objects
from ome.serving.plan import LEADER_NODE_TYPE, NODE_TYPE_LABEL, ServingPlan, Workload
from ome.serving.raw import SERVICE_TYPES, router_access, service_ports, workload_objects
from ome.serving.revisions import Rollout, with_rollout

CLUSTER_LOCAL = "cluster-local"


def render_objects(
    plan: ServingPlan,
    available: Collection[Component] | None = None,
    rollouts: Mapping[Component, Rollout] | None = None,
) -> list[Spec]:
    """The desired children. ``available`` lists the components whose Deployment or
    LeaderWorkerSet is available (see :func:`ome.serving.status.workload_available`;
    None: all of them, the steady state): the Ingress waits for the entry one.
    ``rollouts``: each RawDeployment component's revisions (:mod:`ome.serving.revisions`;
    None: no revision bookkeeping)."""
    rollouts = rollouts or {}
    service = plan.service
    namespace = service_namespace(service)
    weight = plan.fine_tuning.adapters[0].weight if plan.fine_tuning else None
    objects = [modelconfig(service, plan.model, weight)]
    for workload in plan.workloads:
        if workload.component is Component.ROUTER:
            objects += router_access(workload, namespace)
        if workload.multi_node:
            objects += multinode_objects(workload, namespace)
        elif workload.serverless:
            rolled_out = _rolled_out(service, workload.component)
            objects.append(knative_service(workload, namespace, rolled_out))
        else:
            found = workload_objects(workload, namespace, service.spec.keda_config)
            rollout = rollouts.get(workload.component)
            if rollout is not None:
                found = with_rollout(found, workload, namespace, rollout)
            objects += found
    pool = inference_pool(plan)
    if pool is not None:
        objects.append(pool)
    if ingress_component(plan).serverless:
        pass  # the Knative Service's route is the way in
    elif plan.ingress.disable_ingress_creation:
        if needs_external_service(service):
            objects.append(external_service(plan))
    elif uses_gateway_api(plan.ingress):
        objects += httproutes(plan, rollouts)
    elif available is None or ingress_component(plan).component in available:
        objects.append(ingress(plan))
    owner = _owner(service)
    for obj in objects:
        if owner:
            obj["metadata"]["ownerReferences"] = [dict(owner)]
    return objects


def _rolled_out(service: InferenceService, component: Component) -> str | None:
    """The component's ``latestRolledoutRevision`` in the service's status."""
    if service.status is None or not service.status.components:
        return None
    found = service.status.components.get(str(component))
    return found.latest_rolledout_revision if found is not None else None


def needs_external_service(service: InferenceService) -> bool:
    return (service.metadata.labels or {}).get(VISIBILITY_LABEL) != CLUSTER_LOCAL


def entry_workload(plan: ServingPlan) -> Workload:
    """What the external Service and the URL front: the router, else the engine."""
    return plan.workload(Component.ROUTER) or plan.workloads[0]


def ingress_component(plan: ServingPlan) -> Workload:
    """Whose readiness gates the Ingress: the router, else the decoder, else the engine."""
    return plan.workload(Component.ROUTER) or plan.workload(Component.DECODER) or plan.workloads[0]


def entry_port(plan: ServingPlan) -> int:
    """The port of the entry component's Service."""
    port: int = service_ports(entry_workload(plan))[0]["port"]
    return port


def external_service(plan: ServingPlan) -> Spec:
    service = plan.service
    name, annotations = name_of(service), service.metadata.annotations or {}
    port = entry_port(plan)
    kind = annotations.get(SERVICE_TYPE_ANNOTATION, "ClusterIP")
    entry = entry_workload(plan)
    selector = {INFERENCESERVICE_LABEL: name, COMPONENT_LABEL: str(entry.component)}
    if entry.multi_node:  # the leaders serve; upstream's selector also reaches the workers
        selector[NODE_TYPE_LABEL] = LEADER_NODE_TYPE
    metadata: Spec = {
        "name": name,
        "namespace": service_namespace(service),
        "labels": {COMPONENT_LABEL: EXTERNAL_SERVICE_COMPONENT, INFERENCESERVICE_LABEL: name},
    }
    if service_annotations_for_external(annotations):
        metadata["annotations"] = service_annotations_for_external(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "ports": [{"name": "http", "port": port, "protocol": "TCP", "targetPort": port}],
            "selector": dict(sorted(selector.items())),
            "type": kind if kind in SERVICE_TYPES else "ClusterIP",
        },
    }


def ingress_hosts(plan: ServingPlan) -> list[tuple[str, str]]:
    """(host, backend Service) pairs: the service's own host first, then one per component.
    Without a router the own host leads to the engine, even when a decoder exists."""
    service = plan.service
    name, namespace = name_of(service), service_namespace(service)
    labels, annotations = service.metadata.labels or {}, service.metadata.annotations or {}

    def host(of: str) -> str:
        return component_host(of, namespace, labels, annotations, plan.ingress)

    first = plan.workload(Component.ROUTER) or plan.workloads[0]
    pairs = [(host(name), first.name)]
    if plan.workload(Component.ROUTER) or plan.workload(Component.DECODER):
        pairs += [(host(w.name), w.name) for w in _ingress_order(plan)]
    return pairs


def _ingress_order(plan: ServingPlan) -> list[Workload]:
    order = (Component.ROUTER, Component.ENGINE, Component.DECODER)
    return [w for c in order if (w := plan.workload(c)) is not None]


def ingress(plan: ServingPlan) -> Spec:
    service = plan.service
    metadata: Spec = {"name": name_of(service), "namespace": service_namespace(service)}
    if service.metadata.annotations:
        metadata["annotations"] = dict(sorted(service.metadata.annotations.items()))
    spec: Spec = {"rules": [ingress_rule(host, backend) for host, backend in ingress_hosts(plan)]}
    if plan.ingress.ingress_class_name is not None:
        spec["ingressClassName"] = plan.ingress.ingress_class_name
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
    }


def _owner(service: InferenceService) -> Spec | None:
    if not service.metadata.uid:
        return None
    return {
        "apiVersion": service.API_VERSION,
        "kind": service.KIND,
        "name": name_of(service),
        "uid": service.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
