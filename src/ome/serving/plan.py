"""Everything decided about an InferenceService before any object is rendered: its model,
its runtime, and per component the merged spec, metadata and pod. Every way the service
can be unservable surfaces here, as a :class:`ServingError`; rendering and status
computation then cannot fail."""

from __future__ import annotations

from dataclasses import dataclass

from ome.api.v1beta1 import InferenceService
from ome.serving.adapters import FineTuning, resolve_fine_tuning, with_fine_tuning
from ome.serving.basemodel import resolve_base_model
from ome.serving.catalog import Catalog, Model, Runtime, name_of, service_namespace
from ome.serving.components import Component, Spec, merge_components
from ome.serving.config import IngressConfig, ServingConfig
from ome.serving.deployment_mode import (
    component_modes,
    require_supported,
    service_mode,
)
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

HPA = "hpa"
EXTERNAL = "external"
KEDA = "keda"


@dataclass(frozen=True)
class Workload:
    """A component deployed as a Deployment, with its Service, autoscaler and PDB."""

    component: Component
    name: str
    spec: Spec
    """The merged component spec (scaling, disruption budget and rollout settings)."""
    labels: dict[str, str]
    annotations: dict[str, str]
    pod: Spec
    autoscaler: str
    """``hpa`` or ``external`` (no HorizontalPodAutoscaler)."""
    url: str
    """Where the component is reached once available (``status.components.*.url``)."""

    @property
    def app(self) -> str:
        """The ``app`` label value that the Deployment, Service and PDB select on."""
        return truncate_name(self.name)

    @property
    def pod_labels(self) -> dict[str, str]:
        """The labels of the pods and of the Deployment, Service, autoscaler and PDB."""
        labels = self.labels | {APP_LABEL: self.app} | scheduling_labels(self.annotations)
        return dict(sorted(labels.items()))


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


def plan_service(service: InferenceService, catalog: Catalog, config: ServingConfig) -> ServingPlan:
    """Resolve the model, choose the runtime and build each component's pod."""
    mode = service_mode(service_annotations(service), config.default_deployment_mode)
    require_supported(mode, {})
    if service.spec.engine is None and _uses_predictor(service):
        raise ServingError(
            Reason.PREDICTOR_UNSUPPORTED,
            "spec.predictor is deprecated and not migrated: use spec.engine, spec.model "
            "and spec.runtime",
        )
    model = resolve_base_model(service, catalog)
    selection = select_runtime(service, model, catalog)
    fine_tuning = resolve_fine_tuning(service, model, catalog)
    components = merge_components(service, selection.runtime.spec)
    require_supported(mode, component_modes(components))
    ingress = config.ingress.for_service(service.metadata.annotations)
    if not ingress.disable_ingress_creation and ingress.enable_gateway_api:
        raise ServingError(
            Reason.UNSUPPORTED_INGRESS,
            "ingress through the Gateway API (enableGatewayAPI) is not supported yet",
        )
    workloads = tuple(
        _workload(
            service,
            component=component,
            spec=spec,
            model=model,
            selection=selection,
            ingress=ingress,
            fine_tuning=fine_tuning,
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
    fine_tuning: FineTuning | None,
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
    pod = build_pod(
        component,
        spec,
        service=service,
        model=model,
        runtime=selection.runtime.spec,
        annotations=annotations,
    )
    if fine_tuned is not None:
        runner = spec.get("runner")
        main = (runner.get("name") or MAIN_CONTAINER) if runner is not None else None
        pod = with_fine_tuning(pod, fine_tuned, runtime_name=runtime_name, main_container=main)
    if component is Component.ROUTER:
        pod["serviceAccountName"] = name
    host = component_host(name, service_namespace(service), labels, annotations, ingress)
    return Workload(
        component=component,
        name=name,
        spec=spec,
        labels=labels,
        annotations=annotations,
        pod=dict(sorted(pod.items())),
        autoscaler=_autoscaler(annotations),
        url=f"http://{host}",
    )


def _autoscaler(annotations: dict[str, str]) -> str:
    chosen = annotations.get(AUTOSCALER_CLASS_ANNOTATION, HPA)
    if chosen == KEDA:
        raise ServingError(
            Reason.UNSUPPORTED_AUTOSCALER_CLASS,
            f"{AUTOSCALER_CLASS_ANNOTATION}: keda (a KEDA ScaledObject) is not supported yet",
        )
    if chosen not in (HPA, EXTERNAL):
        raise ServingError(
            Reason.INVALID_AUTOSCALER_CLASS,
            f"{AUTOSCALER_CLASS_ANNOTATION} {chosen!r} is not one of hpa, keda, external",
        )
    return chosen
