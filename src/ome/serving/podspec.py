"""The pod of a component, built from its merged spec (upstream ``components/*.go`` and
``reconcilers/common/podspec_reconciler.go``).

The runner is the component's main container. For the engine and decoder it first gets
``MODEL_PATH`` (when absent), a read-only mount of the model's node path, the resources
of the runtime's legacy container of the same name (when the service gives none) and
``PARALLELISM_SIZE`` (the GPUs of a replica). It then merges into the pod's
container of the same name (or is added as a new one), arguments appended; without a
runner the first container is the main one. ``{{ .Name }}``-style placeholders in the main
container are expanded with the service's metadata. The pod mounts the model's node path
as a hostPath volume named after the model; engine and decoder pods are pinned to nodes
where the model agent reports the model Ready, then to the runtime's and the service's
node selectors. Last come the defaults a Deployment's pods get.

A multi-node component's leader and workers are built the same way, each from its own
part of the component (``leader``, else the component itself; ``worker``), with
``PARALLELISM_SIZE`` counting the GPUs of every pod of a group and without the default
readiness probe (upstream ``reconcilers/lws`` sets only the apps/v1 defaults). A pod
whose component asks for RDMA gets it (:mod:`ome.serving.rdma`).

An engine or decoder with an AcceleratorClass gets its resources, placement and the
runtime's settings for it (:mod:`ome.serving.accelerator_config`) before
``PARALLELISM_SIZE`` is counted."""

from __future__ import annotations

import math
from typing import Any

from ome.api.v1beta1 import InferenceService, ServingRuntimeSpec
from ome.serving.accelerator_config import class_affinity, class_node_selector, with_accelerator
from ome.serving.accelerator_selection import AcceleratorChoice
from ome.serving.adapters import serves_merged_weights
from ome.serving.catalog import Model, name_of, namespace_of, service_namespace
from ome.serving.components import Component, Spec, to_json
from ome.serving.dedicated import with_dedicated_cluster
from ome.serving.merge import RUNNER, merge
from ome.serving.metadata import INJECT_MODEL_INIT_ANNOTATION
from ome.serving.naming import MODEL_READY, model_ready_label
from ome.serving.problems import Reason, ServingError
from ome.serving.rdma import with_rdma
from ome.serving.templates import Values

MAIN_CONTAINER = "ome-container"
MODEL_PATH_ENV = "MODEL_PATH"
PARALLELISM_ENV = "PARALLELISM_SIZE"
GPU_RESOURCE = "nvidia.com/gpu"
DEFAULT_PORT = 8080
ROUTER_CONFIG_FIELD = "config"
# Fields of a merged component that are not pod spec fields.
_COMPONENT_FIELDS = frozenset(
    {
        "annotations",
        "canaryTrafficPercent",
        "containerConcurrency",
        "deploymentStrategy",
        "kedaConfig",
        "labels",
        "maxReplicas",
        "maxUnavailable",
        "minAvailable",
        "minReplicas",
        "scaleMetric",
        "scaleTarget",
        "timeoutSeconds",
        "runner",
        "leader",
        "worker",
        "size",
        "acceleratorOverride",
        ROUTER_CONFIG_FIELD,
    }
)


def build_pod(
    component: Component,
    spec: Spec,
    *,
    service: InferenceService,
    model: Model,
    runtime: ServingRuntimeSpec,
    annotations: dict[str, str],
    pods_per_replica: int = 1,
    part: str = "",
    readiness_probe: bool = True,
    accelerator: AcceleratorChoice | None = None,
) -> Spec:
    """The pod spec of a component, or of one ``part`` of it (``leader``, ``worker``):
    ``spec`` is then that part. ``annotations`` are the component's; ``pods_per_replica``
    the pods whose GPUs serve one copy of the model (a multi-node group's);
    ``readiness_probe`` whether the main container gets a Deployment's default probe;
    ``accelerator`` the engine's or decoder's class."""
    pod = {k: v for k, v in spec.items() if k not in _COMPONENT_FIELDS}
    runner = spec.get("runner")
    # merged fine-tuned weights replace the base model (ome.serving.adapters)
    merged = serves_merged_weights(annotations)
    storage_path = None if merged else model.spec.storage.path
    if component is Component.ROUTER:
        if runner is not None and spec.get(ROUTER_CONFIG_FIELD):
            config = sorted(spec[ROUTER_CONFIG_FIELD].items())
            env = [*runner.get("env", []), *({"name": k, "value": v} for k, v in config)]
            runner = {**runner, "env": env}
    elif runner is not None:
        # with model-init injection the pod webhook brings the model in itself
        if storage_path is not None and annotations.get(INJECT_MODEL_INIT_ANNOTATION) != "true":
            runner = _with_model(runner, name_of(model), storage_path)
        own_resources = _own_resources(service, component)
        if not own_resources:
            runner = _with_runtime_resources(runner, runtime)
        if accelerator is not None:
            runner = with_accelerator(runner, accelerator, own_resources=own_resources)
        runner = _with_parallelism(runner, pods_per_replica)
    pod["containers"] = _with_main_container(
        pod.get("containers", []), runner, service, component, part
    )
    if storage_path is not None:
        volume = {"name": name_of(model), "hostPath": {"path": storage_path}}
        pod["volumes"] = _add_named(pod.get("volumes", []), volume)
    if component is not Component.ROUTER:
        pod["nodeSelector"] = _node_selector(
            pod, service, component, model, runtime, merged=merged, accelerator=accelerator
        )
        affinity = class_affinity(accelerator) if accelerator is not None else None
        own = getattr(service.spec, str(component))
        if affinity is not None and (own is None or own.affinity is None):
            pod["affinity"] = affinity
        pod = with_dedicated_cluster(pod, annotations)
    pod = with_rdma(pod, annotations)
    return _with_deployment_defaults(pod, readiness_probe=readiness_probe)


def _own_resources(service: InferenceService, component: Component) -> bool:
    """Whether the service's own runner sets resources (then the runtime's are not added)."""
    own = getattr(service.spec, str(component))
    runner = own.runner if own is not None else None
    resources = runner.resources if runner is not None else None
    return resources is not None and bool(to_json(resources))


def _with_model(runner: Spec, name: str, path: str) -> Spec:
    env = runner.get("env", [])
    if not any(e.get("name") == MODEL_PATH_ENV for e in env):
        env = [*env, {"name": MODEL_PATH_ENV, "value": path}]
    mount = {"name": name, "mountPath": path, "readOnly": True}
    mounts = runner.get("volumeMounts", [])
    if not any(m.get("mountPath") == path for m in mounts):
        mounts = [*mounts, mount]
    return {**runner, "env": env, "volumeMounts": mounts}


def _with_runtime_resources(runner: Spec, runtime: ServingRuntimeSpec) -> Spec:
    """Requests and limits of the runtime's legacy container named like the runner, for
    the resources the runner does not set."""
    legacy = next((c for c in runtime.containers or () if c.name == runner.get("name")), None)
    if legacy is None or legacy.resources is None:
        return runner
    defaults = to_json(legacy.resources)
    resources = dict(runner.get("resources", {}))
    for kind in ("requests", "limits"):
        if defaults.get(kind):
            resources[kind] = defaults[kind] | resources.get(kind, {})
    return {**runner, "resources": resources}


def _with_parallelism(runner: Spec, pods: int) -> Spec:
    """``PARALLELISM_SIZE``: the GPUs of all ``pods`` of a replica (one pod for a
    Deployment, the group for a LeaderWorkerSet), when the runner asks for GPUs."""
    resources = runner.get("resources", {})
    gpus = resources.get("limits", {}).get(
        GPU_RESOURCE, resources.get("requests", {}).get(GPU_RESOURCE)
    )
    per_pod = whole_quantity(gpus) if gpus is not None else 0
    if per_pod <= 0:
        return runner
    value = {"name": PARALLELISM_ENV, "value": str(per_pod * pods)}
    env = runner.get("env", [])
    if any(e.get("name") == PARALLELISM_ENV for e in env):
        env = [value if e.get("name") == PARALLELISM_ENV else e for e in env]
    else:
        env = [*env, value]
    return {**runner, "env": env}


def whole_quantity(quantity: Any) -> int:
    """A count-like quantity ("1", 2, "1.5") rounded up, as Quantity.Value() does; 0 when
    it is not a plain number."""
    try:
        return math.ceil(float(quantity))
    except (TypeError, ValueError, OverflowError):
        return 0


def _with_main_container(
    containers: list[Spec],
    runner: Spec | None,
    service: InferenceService,
    component: Component,
    part: str,
) -> list[Spec]:
    containers = list(containers)
    if runner is not None:
        name = runner.get("name") or MAIN_CONTAINER
        index = next((i for i, c in enumerate(containers) if c.get("name") == name), None)
        if index is None:
            containers.append({})
            index = len(containers) - 1
        main = {**merge(containers[index], runner, RUNNER), "name": name}
    elif containers:
        index, main = 0, containers[0]
    else:
        raise ServingError(
            Reason.NO_CONTAINERS,
            f"the {component}{f' {part}' if part else ''} has no runner and no containers "
            f"(neither the runtime's {component}Config nor "
            f"spec.{component}{f'.{part}' if part else ''} gives one)",
        )
    containers[index] = _placeholders(service).render_all(main)
    return containers


def _placeholders(service: InferenceService) -> Values:
    meta = service.metadata
    fields = {"Name": name_of(service), "Namespace": service_namespace(service)}
    return Values(fields, {"Labels": meta.labels or {}, "Annotations": meta.annotations or {}})


def _add_named(items: list[Spec], item: Spec) -> list[Spec]:
    if any(i.get("name") == item["name"] for i in items):
        return items
    return [*items, item]


def _node_selector(
    pod: Spec,
    service: InferenceService,
    component: Component,
    model: Model,
    runtime: ServingRuntimeSpec,
    *,
    merged: bool,
    accelerator: AcceleratorChoice | None,
) -> dict[str, str]:
    selector = dict(pod.get("nodeSelector", {}))
    if not merged:
        selector.setdefault(model_ready_label(name_of(model), namespace_of(model)), MODEL_READY)
    selector |= runtime.node_selector or {}
    if accelerator is not None:
        selector |= class_node_selector(accelerator)
    own = getattr(service.spec, str(component))
    if own is not None and own.node_selector:
        selector |= own.node_selector
    return dict(sorted(selector.items()))


def _with_deployment_defaults(pod: Spec, *, readiness_probe: bool) -> Spec:
    """What upstream sets on a workload's pod template (apps/v1 defaults, and for a
    Deployment a TCP readiness probe on the main container's first port)."""
    defaults: Spec = {
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "securityContext": {},
        "schedulerName": "default-scheduler",
    }
    pod = defaults | pod
    pod["containers"] = [_container_defaults(c, readiness_probe) for c in pod["containers"]]
    return pod


def _container_defaults(container: Spec, readiness_probe: bool) -> Spec:
    defaults: Spec = {
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }
    if readiness_probe and container.get("name") == MAIN_CONTAINER:
        ports = container.get("ports", [])
        port = ports[0].get("containerPort", DEFAULT_PORT) if ports else DEFAULT_PORT
        defaults["readinessProbe"] = {
            "tcpSocket": {"port": port},
            "timeoutSeconds": 1,
            "periodSeconds": 10,
            "successThreshold": 1,
            "failureThreshold": 3,
        }
    return defaults | container
