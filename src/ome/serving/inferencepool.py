"""The InferencePool (``inference.networking.k8s.io/v1``, Gateway API Inference Extension)
of a service annotated ``ome.io/inference-pool-endpoint-picker``: the pods that serve
generation (the decoder's when prefill and decode are split, else the engine's; a
multi-node component's leaders), on their serving port, with the endpoint picker the
annotation names. Upstream OME has no InferencePool; its name is the service's with
``-pool``, and the service's HTTPRoute leads to it (:mod:`ome.serving.gateway`)."""

from __future__ import annotations

from ome.serving.catalog import name_of, service_namespace
from ome.serving.components import Component, Spec
from ome.serving.endpointpicker import endpoint_picker
from ome.serving.knative import SERVICE_LABEL as KNATIVE_SERVICE_LABEL
from ome.serving.metadata import APP_LABEL, COMPONENT_LABEL, INFERENCESERVICE_LABEL
from ome.serving.plan import LEADER_NODE_TYPE, NODE_TYPE_LABEL, ServingPlan, Workload
from ome.serving.raw import service_ports

GROUP = "inference.networking.k8s.io"
API_VERSION = f"{GROUP}/v1"
KIND = "InferencePool"


def pool_name(service_name: str) -> str:
    return f"{service_name}-pool"


def pooled_workload(plan: ServingPlan) -> Workload:
    """The component whose pods the pool holds: the decoder, else the engine."""
    found = plan.workload(Component.DECODER) or plan.workload(Component.ENGINE)
    return found or plan.workloads[0]


def pool_selector(workload: Workload) -> dict[str, str]:
    """Exactly the component's serving pods: its ``app``, and a group's leaders only; a
    Knative Service's by the label Knative gives its revisions' pods."""
    if workload.serverless:
        return {KNATIVE_SERVICE_LABEL: workload.name}
    selector = {APP_LABEL: workload.app}
    if workload.multi_node:
        selector[NODE_TYPE_LABEL] = LEADER_NODE_TYPE
    return selector


def inference_pool(plan: ServingPlan) -> Spec | None:
    """The service's InferencePool; None without the annotation."""
    service = plan.service
    picker = endpoint_picker(service.metadata.annotations)
    if picker is None:
        return None
    workload = pooled_workload(plan)
    name = name_of(service)
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": pool_name(name),
            "namespace": service_namespace(service),
            "labels": {INFERENCESERVICE_LABEL: name, COMPONENT_LABEL: str(workload.component)},
        },
        "spec": {
            "selector": {"matchLabels": pool_selector(workload)},
            "targetPorts": [{"number": service_ports(workload)[0]["targetPort"]}],
            "endpointPickerRef": {
                "kind": "Service",
                "name": picker.service,
                "port": {"number": picker.port},
            },
        },
    }
