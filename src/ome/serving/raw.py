"""The objects of a RawDeployment component (upstream ``reconcilers/{deployment,service,
hpa,keda,pdb,rbac}``): a Deployment, its Service, a HorizontalPodAutoscaler or a KEDA
ScaledObject unless scaling is external, a PodDisruptionBudget, and for the router the
ServiceAccount, Role and RoleBinding that let it discover the engine's pods.

The Deployment never sets ``replicas``: the autoscaler (or whoever scales it) owns it."""

from __future__ import annotations

from ome.api.v1beta1.component import KedaConfig
from ome.serving import keda
from ome.serving.components import Spec
from ome.serving.metadata import (
    LOAD_BALANCER_IP_ANNOTATION,
    SERVICE_TYPE_ANNOTATION,
    TARGET_UTILIZATION_ANNOTATION,
    without_pod_only,
)
from ome.serving.naming import truncate_name
from ome.serving.plan import HPA, KEDA, Workload
from ome.serving.podspec import DEFAULT_PORT

SERVICE_TYPES = ("ClusterIP", "LoadBalancer", "NodePort")
DEFAULT_UTILIZATION = 80
_ROLLING_UPDATE = {"maxUnavailable": 0, "maxSurge": 1}


def metadata(
    name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str]
) -> Spec:
    return {"name": name, "namespace": namespace, **_maps(labels, annotations)}


def _maps(labels: dict[str, str], annotations: dict[str, str]) -> Spec:
    """Copies of the maps, so that no two objects (or parts of one) share one."""
    maps: Spec = {"labels": dict(labels)}
    if annotations:
        maps["annotations"] = dict(annotations)
    return maps


def workload_objects(
    workload: Workload, namespace: str, keda_config: KedaConfig | None = None
) -> list[Spec]:
    """``keda_config`` is the service's ``spec.kedaConfig``."""
    objects = [deployment(workload, namespace), service(workload, namespace)]
    if workload.autoscaler == HPA:
        objects.append(autoscaler(workload, namespace))
    elif workload.autoscaler == KEDA:
        objects.append(
            keda.scaled_object(
                keda_config,
                deployment=workload.name,
                namespace=namespace,
                spec=workload.spec,
                labels=workload.pod_labels,
                annotations=workload.annotations,
            )
        )
    objects.append(disruption_budget(workload, namespace))
    return objects


def deployment(workload: Workload, namespace: str) -> Spec:
    labels = workload.pod_labels
    strategy = dict(workload.spec.get("deploymentStrategy", {}))
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", dict(_ROLLING_UPDATE))
    template = {"metadata": _maps(labels, workload.annotations), "spec": workload.pod}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(workload.name, namespace, labels, workload.annotations),
        "spec": {
            "progressDeadlineSeconds": 600,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": workload.app}},
            "strategy": strategy,
            "template": template,
        },
    }


def service(
    workload: Workload,
    namespace: str,
    selector: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> Spec:
    """The component's Service, on the ports of its (leader) pod's first container;
    ``selector`` and ``labels`` default to the Deployment's."""
    kind = workload.annotations.get(SERVICE_TYPE_ANNOTATION, "ClusterIP")
    kind = kind if kind in SERVICE_TYPES else "ClusterIP"
    spec: Spec = {
        "ports": service_ports(workload),
        "selector": selector or {"app": workload.app},
        "type": kind,
    }
    address = workload.annotations.get(LOAD_BALANCER_IP_ANNOTATION)
    if kind == "LoadBalancer" and address:
        spec["loadBalancerIP"] = address
    annotations = without_pod_only(workload.annotations)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(
            service_name(workload), namespace, labels or workload.pod_labels, annotations
        ),
        "spec": spec,
    }


def service_name(workload: Workload) -> str:
    return truncate_name(workload.name)


def service_ports(workload: Workload) -> list[Spec]:
    """The first container's ports, else 8080 named after that container."""
    first = workload.pod["containers"][0]
    if not first.get("ports"):
        default = {"port": DEFAULT_PORT, "protocol": "TCP", "targetPort": DEFAULT_PORT}
        return [{"name": first["name"], **default}] if first.get("name") else [default]
    ports = []
    for port in first["ports"]:
        number = port["containerPort"]
        entry = {"port": number, "protocol": port.get("protocol", "TCP"), "targetPort": number}
        ports.append({"name": port["name"], **entry} if port.get("name") else entry)
    return ports


def autoscaler(workload: Workload, namespace: str) -> Spec:
    minimum = max(workload.spec.get("minReplicas", 1), 1)
    maximum = max(workload.spec.get("maxReplicas", 0), minimum)
    metric = {
        "type": "Resource",
        "resource": {
            "name": workload.spec.get("scaleMetric", "cpu"),
            "target": {"type": "Utilization", "averageUtilization": _utilization(workload)},
        },
    }
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(workload.name, namespace, workload.pod_labels, workload.annotations),
        "spec": {
            "behavior": {},
            "maxReplicas": maximum,
            "metrics": [metric],
            "minReplicas": minimum,
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": workload.name,
            },
        },
    }


def _utilization(workload: Workload) -> int:
    """The annotation, else ``scaleTarget``, else 80. Unlike upstream (which then targets
    0 %), an annotation that is no integer is ignored."""
    text = workload.annotations.get(TARGET_UTILIZATION_ANNOTATION, "")
    if text.strip().isdigit():
        return int(text)
    target = workload.spec.get("scaleTarget")
    return target if isinstance(target, int) else DEFAULT_UTILIZATION


def disruption_budget(workload: Workload, namespace: str) -> Spec:
    limits = {k: workload.spec[k] for k in ("minAvailable", "maxUnavailable") if k in workload.spec}
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(workload.name, namespace, workload.pod_labels, workload.annotations),
        "spec": {
            **(limits or {"maxUnavailable": 1}),
            "selector": {"matchLabels": {"app": workload.app}},
        },
    }


def router_access(workload: Workload, namespace: str) -> list[Spec]:
    """ServiceAccount, Role and RoleBinding letting the router list and watch pods."""
    name = workload.pod["serviceAccountName"]
    rbac = "rbac.authorization.k8s.io"

    def meta() -> Spec:
        return metadata(name, namespace, workload.labels, {})

    rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
    subject = {"kind": "ServiceAccount", "name": name, "namespace": namespace}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta()},
        {"apiVersion": f"{rbac}/v1", "kind": "Role", "metadata": meta(), "rules": [rule]},
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "RoleBinding",
            "metadata": meta(),
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": name},
            "subjects": [subject],
        },
    ]
