"""Everything decided about an InferenceService before any object is rendered: its model,
its runtime, and per component the merged spec, metadata and pod. Every way the service
can be unservable surfaces here, as a :class:`ServingError`; rendering and status
computation then cannot fail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ome.api.v1beta1 import InferenceService
from ome.serving import leaderworkerset as lws
from ome.serving.accelerator_selection import AcceleratorChoice, choose_accelerator
from ome.serving.adapters import FineTuning, resolve_fine_tuning, with_fine_tuning
from ome.serving.basemodel import resolve_base_model
from ome.serving.catalog import Catalog, Model, Runtime, name_of, service_namespace
from ome.serving.components import Component, Spec, merge_components, to_json
from ome.serving.config import IngressConfig, ServingConfig, gateway_ref, uses_gateway_api
from ome.serving.deployment_mode import (
    DeploymentMode,
    component_modes,
    require_supported,
    service_mode,
)
from ome.serving.endpointpicker import endpoint_picker
from ome.serving.ingress import component_host
from ome.serving.metadata import (
    APP_LABEL,
    AUTOSCALER_CLASS_ANNOTATION,
    component_annotations,
    component_labels,
    scheduling_labels,
    service_annotations,
)
from ome.serving.naming import truncate_name
from ome.serving.podspec import MAIN_CONTAINER, build_pod
from ome.serving.problems import Reason, ServingError
from ome.serving.selection import Selection, select_runtime

NODE_TYPE_LABEL = "ray.io/node-type"
LEADER_NODE_TYPE = "head"
"""Upstream marks a group's leader as a Ray head node (its Service selects on it)."""
KNATIVE_API_VERSION = "serving.knative.dev/v1"
KNATIVE_KIND = "Service"
HPA = "hpa"
EXTERNAL = "external"
KEDA = "keda"


@dataclass(frozen=True)
class ObjectRef:
    """The object that runs a component's pods, as the controller reads it back."""

    api_version: str
    kind: str
    name: str


@dataclass(frozen=True)
class Workload:
    """A component: a Deployment with its Service, autoscaler and PDB (RawDeployment), a
    LeaderWorkerSet of groups of one leader and ``workers`` pods with a Service to the
    leaders (MultiNode), or a Knative Service (Serverless)."""

    component: Component
    name: str
    spec: Spec
    """The merged component spec (scaling, disruption budget and rollout settings)."""
    labels: dict[str, str]
    annotations: dict[str, str]
    pod: Spec
    """The pod of a Deployment; a multi-node group's leader."""
    autoscaler: str
    """``hpa``, ``keda`` (a ScaledObject) or ``external`` (neither; always for a
    Serverless component, which Knative scales)."""
    url: str
    """Where the component is reached once available (``status.components.*.url``)."""
    mode: DeploymentMode = DeploymentMode.RAW_DEPLOYMENT
    """RawDeployment, MultiNode or Serverless."""
    worker_pod: Spec | None = None
    """MultiNode: the workers' pod."""
    workers: int = 0
    """MultiNode: the worker pods of each group (the leader makes one more)."""
    accelerator: AcceleratorChoice | None = None
    """The engine's or decoder's AcceleratorClass, when its runtime lists classes."""

    @property
    def multi_node(self) -> bool:
        return self.mode is DeploymentMode.MULTI_NODE

    @property
    def serverless(self) -> bool:
        return self.mode is DeploymentMode.SERVERLESS

    @property
    def group_size(self) -> int:
        """Pods per copy of the model: a group's leader and workers, else 1."""
        return self.workers + 1 if self.multi_node else 1

    @property
    def groups(self) -> int:
        """MultiNode: the LeaderWorkerSet's replicas, ``minReplicas`` (upstream ignores
        ``maxReplicas`` and makes no autoscaler for groups), else 1."""
        replicas = self.spec.get("minReplicas")
        return replicas if isinstance(replicas, int) else 1

    @property
    def object_ref(self) -> ObjectRef:
        """The Deployment, LeaderWorkerSet or Knative Service whose status tells whether
        the component is available (the key of ``compute_status``'s ``workloads``)."""
        if self.multi_node:
            return ObjectRef(lws.API_VERSION, lws.KIND, lws.lws_name(self.name))
        if self.serverless:
            return ObjectRef(KNATIVE_API_VERSION, KNATIVE_KIND, self.name)
        return ObjectRef("apps/v1", "Deployment", self.name)

    @property
    def app(self) -> str:
        """The ``app`` label value that the Deployment, Service and PDB select on."""
        return truncate_name(self.name)

    @property
    def pod_labels(self) -> dict[str, str]:
        """The labels of the pods (a group's leader) and of the Deployment, Service,
        autoscaler and PDB."""
        labels = self.labels | {APP_LABEL: self.app} | scheduling_labels(self.annotations)
        if self.multi_node:
            labels[NODE_TYPE_LABEL] = LEADER_NODE_TYPE
        return dict(sorted(labels.items()))

    @property
    def worker_labels(self) -> dict[str, str]:
        """The labels of a group's workers: the component's, without ``app`` (upstream
        ``reconcilers/lws``)."""
        return dict(sorted((self.labels | scheduling_labels(self.annotations)).items()))


@dataclass(frozen=True)
class ServingPlan:
    service: InferenceService
    model: Model
    selection: Selection
    ingress: IngressConfig
    """The configured ingress settings with the service's overrides."""
    workloads: tuple[Workload, ...]
    """Engine, then decoder and router when declared."""
    fine_tuning: FineTuning | None = None
    """The fine-tuned weights served (``spec.model.fineTunedWeights``)."""

    @property
    def runtime(self) -> Runtime:
        return self.selection.runtime

    def workload(self, component: Component) -> Workload | None:
        return next((w for w in self.workloads if w.component is component), None)


def plan_service(
    service: InferenceService,
    catalog: Catalog,
    config: ServingConfig,
    *,
    select: Callable[[InferenceService, Model], Selection] | None = None,
) -> ServingPlan:
    """Resolve the model, choose the runtime and build each component's pod. ``select``
    stands in for :func:`select_runtime` over ``catalog``, e.g. to remember its answers."""
    mode = service_mode(service_annotations(service), config.default_deployment_mode)
    require_supported(mode, {})
    if service.spec.engine is None and _uses_predictor(service):
        raise ServingError(
            Reason.PREDICTOR_UNSUPPORTED,
            "spec.predictor is deprecated and not migrated: use spec.engine, spec.model "
            "and spec.runtime",
        )
    model = resolve_base_model(service, catalog)
    if select is None:
        selection = select_runtime(service, model, catalog)
    else:
        selection = select(service, model)
    fine_tuning = resolve_fine_tuning(service, model, catalog)
    components = merge_components(service, selection.runtime.spec)
    modes = component_modes(components)
    require_supported(mode, modes)
    for component in components:
        _require_config(service, selection, component)
    ingress = config.ingress.for_service(service.metadata.annotations)
    if uses_gateway_api(ingress):
        gateway_ref(ingress)
    endpoint_picker(service.metadata.annotations)
    workloads = tuple(
        _workload(
            service,
            component=component,
            spec=spec,
            model=model,
            selection=selection,
            ingress=ingress,
            mode=modes[component],
            fine_tuning=fine_tuning,
            accelerator=choose_accelerator(
                service,
                component,
                selection.runtime.spec,
                model.spec,
                catalog,
                auto_selected=selection.auto_selected,
            ),
        )
        for component, spec in components.items()
    )
    return ServingPlan(service, model, selection, ingress, workloads, fine_tuning)


def _uses_predictor(service: InferenceService) -> bool:
    """Upstream's test: a predictor model or replica count (clients that serialise the
    whole spec, as upstream's Go client does, store an empty ``predictor: {}``)."""
    predictor = service.spec.predictor
    if predictor is None:
        return False
    has_model = predictor.model is not None and predictor.model.base_model is not None
    return has_model or predictor.min_replicas is not None or bool(predictor.max_replicas)


def _workload(
    service: InferenceService,
    *,
    component: Component,
    spec: Spec,
    model: Model,
    selection: Selection,
    ingress: IngressConfig,
    mode: DeploymentMode,
    fine_tuning: FineTuning | None,
    accelerator: AcceleratorChoice | None = None,
) -> Workload:
    runtime_name = selection.name
    name = f"{name_of(service)}-{component}"
    annotations = component_annotations(service, spec, model, runtime_name)
    labels = component_labels(service, component, spec, model, runtime_name)
    # the router loads no model: upstream gives it no fine-tuning metadata either
    fine_tuned = fine_tuning if component is not Component.ROUTER else None
    if fine_tuned is not None:
        annotations = dict(sorted((annotations | fine_tuned.annotations()).items()))
        labels = dict(sorted((labels | fine_tuned.labels()).items()))

    def pod_of(part_spec: Spec, part: str = "", pods: int = 1) -> Spec:
        pod = build_pod(
            component,
            part_spec,
            service=service,
            model=model,
            runtime=selection.runtime.spec,
            annotations=annotations,
            pods_per_replica=pods,
            part=part,
            readiness_probe=mode is not DeploymentMode.MULTI_NODE,
            accelerator=accelerator,
        )
        if fine_tuned is not None:
            runner = part_spec.get("runner")
            main = (runner.get("name") or MAIN_CONTAINER) if runner is not None else None
            pod = with_fine_tuning(pod, fine_tuned, runtime_name=runtime_name, main_container=main)
        return dict(sorted(pod.items()))

    worker_pod, workers, autoscaler = None, 0, EXTERNAL
    if mode is DeploymentMode.MULTI_NODE:
        workers = _worker_size(spec)
        pods = _leaders(component, spec) + workers
        pod = pod_of(spec.get("leader", spec), "leader" if "leader" in spec else "", pods)
        worker_pod = pod_of(spec["worker"], "worker", pods) if "worker" in spec else pod
    else:  # a LeaderWorkerSet's groups get no autoscaler upstream, Knative scales its own
        pod = pod_of(spec)
        if mode is not DeploymentMode.SERVERLESS:
            autoscaler = _autoscaler(annotations)
        if component is Component.ROUTER:
            pod = dict(sorted((pod | {"serviceAccountName": name}).items()))
    host = component_host(name, service_namespace(service), labels, annotations, ingress)
    return Workload(
        component=component,
        name=name,
        spec=spec,
        labels=labels,
        annotations=annotations,
        pod=pod,
        autoscaler=autoscaler,
        url=f"http://{host}",
        mode=mode,
        worker_pod=worker_pod,
        workers=workers,
        accelerator=accelerator,
    )


def _worker_size(spec: Spec) -> int:
    """Worker pods per group (the API validates ``size`` as a whole number >= 0)."""
    size: int = spec.get("worker", {}).get("size", 0)
    return size


def _leaders(component: Component, spec: Spec) -> int:
    """The leaders counted in ``PARALLELISM_SIZE``: always one for the engine; for the
    decoder one when it has a leader or a runner (upstream ``components/decoder.go``)."""
    if component is Component.DECODER and "leader" not in spec and "runner" not in spec:
        return 0
    return 1


_CONFIGS = {
    Component.ENGINE: ("engineConfig", "engine_config", Reason.ENGINE_CONFIG_MISSING),
    Component.DECODER: ("decoderConfig", "decoder_config", Reason.DECODER_CONFIG_MISSING),
    Component.ROUTER: ("routerConfig", "router_config", Reason.ROUTER_CONFIG_MISSING),
}
_POD_SOURCES = ("runner", "containers", "leader", "worker")


def _require_config(service: InferenceService, selection: Selection, component: Component) -> None:
    """A component the service asks for needs the runtime's config for it, unless the
    service gives the pod itself (upstream fails mid-reconcile instead, with "no
    containers found in pod spec")."""
    field, attribute, reason = _CONFIGS[component]
    if getattr(selection.runtime.spec, attribute) is not None:
        return
    own = to_json(getattr(service.spec, str(component)))
    if any(own.get(source) for source in _POD_SOURCES):
        return
    raise ServingError(
        reason,
        f"spec.{component} asks for a {component}, but runtime {selection.name!r} has no "
        f"{field} (and spec.{component} gives no runner or containers): remove "
        f"spec.{component} or use a runtime with a {field}",
    )


def _autoscaler(annotations: dict[str, str]) -> str:
    chosen = annotations.get(AUTOSCALER_CLASS_ANNOTATION, HPA)
    if chosen not in (HPA, KEDA, EXTERNAL):
        raise ServingError(
            Reason.INVALID_AUTOSCALER_CLASS,
            f"{AUTOSCALER_CLASS_ANNOTATION} {chosen!r} is not one of hpa, keda, external",
        )
    return chosen
