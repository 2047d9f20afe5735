"""Wiring: the informers, their indexes, the watches and the controller."""

from __future__ import annotations

from collections.abc import Iterable

from ome.client import GVK, KubeObject
from ome.controllers.inferenceservice.catalog import StoreCatalog
from ome.controllers.inferenceservice.readiness import ReadinessCollector
from ome.controllers.inferenceservice.reconciler import (
    SERVICE_INDEX,
    InferenceServiceReconciler,
    service_index,
)
from ome.controllers.inferenceservice.tracking import Tracker
from ome.controllers.kinds import (
    ACCELERATORCLASS,
    BASEMODEL,
    CHILD_KINDS,
    CLUSTERBASEMODEL,
    CLUSTERSERVINGRUNTIME,
    CONFIGMAP,
    DEDICATEDAICLUSTER,
    DEPLOYMENT,
    FINETUNEDWEIGHT,
    HTTPROUTE,
    INFERENCEPOOL,
    INFERENCESERVICE,
    INGRESS,
    KNATIVE_SERVICE,
    LEADERWORKERSET,
    POD,
    SCALEDOBJECT,
    SERVINGRUNTIME,
)
from ome.informers import SharedInformer
from ome.runtime import Controller, Manager, Request, controller_managed_by
from ome.runtime.handlers import MapFunc
from ome.runtime.predicates import generation_changed
from ome.serving.config import CONFIGMAP_NAME as CONFIG_NAME
from ome.serving.dedicated import DAC_ANNOTATION
from ome.serving.metadata import INFERENCESERVICE_LABEL

CONTROLLER_NAME = "inferenceservice-controller"
DEFAULT_CONFIG_NAMESPACE = "ome"
MODEL_INDEX = "model"
"""Index of InferenceServices by ``spec.model.name``."""
FINE_TUNED_INDEX = "fine-tuned-weight"
"""Index of InferenceServices by the names in ``spec.model.fineTunedWeights``."""
DAC_INDEX = "dedicated-ai-cluster"
"""Index of InferenceServices by the DedicatedAICluster their annotation names."""


def model_index(obj: KubeObject) -> list[str]:
    name = ((obj.get("spec") or {}).get("model") or {}).get("name")
    return [name] if name else []


def fine_tuned_index(obj: KubeObject) -> list[str]:
    names = ((obj.get("spec") or {}).get("model") or {}).get("fineTunedWeights") or []
    return [name for name in names if isinstance(name, str) and name]


def dac_index(obj: KubeObject) -> list[str]:
    name = ((obj.get("metadata") or {}).get("annotations") or {}).get(DAC_ANNOTATION)
    return [name] if name else []


def _identity(obj: KubeObject) -> tuple[str | None, str]:
    meta = obj.get("metadata", {})
    return meta.get("namespace") or None, meta.get("name", "")


def config_informer(manager: Manager, namespace: str) -> SharedInformer:
    """The informer of the operator's ``inferenceservice-config`` alone, in ``namespace``,
    which need not be one the manager watches."""
    return manager.informer(
        CONFIGMAP, namespace=namespace, field_selector=f"metadata.name={CONFIG_NAME}"
    )


# What the operator caches by the thousand and reads a few objects at a time: the
# services and their children, by kind (the names Manager.informer asks by).
CACHED_IN_QUANTITY = frozenset(kind.kind for kind in (INFERENCESERVICE, *CHILD_KINDS))

READ_WHOLE = frozenset({DEPLOYMENT, LEADERWORKERSET, KNATIVE_SERVICE, HTTPROUTE})
"""The children whose cached content a reconcile reads beyond metadata: the workloads
(their status and pod template make the service's status and rollout) and the routes
(their status makes IngressReady). The others are watched as metadata only
(PartialObjectMetadata): ownership, labels and versions are all the reconcile reads of
them, and whole objects would cost the API server, the connection and the cache a copy
of each spec for nothing."""


def setup(
    manager: Manager,
    *,
    config_namespace: str | None = None,
    workers: int = 4,
    watch_ingresses: bool = True,
    watch_leaderworkersets: bool = True,
    watch_scaledobjects: bool = True,
    watch_httproutes: bool = True,
    watch_inferencepools: bool = True,
    watch_knativeservices: bool = True,
) -> Controller:
    """Register the InferenceService controller on ``manager``. The operator's config is
    read from ``inferenceservice-config`` in ``config_namespace`` (default: the manager's
    namespace, else ``ome``)."""
    namespace = config_namespace or manager.options.namespace or DEFAULT_CONFIG_NAMESPACE
    tracker = Tracker()
    services = manager.informer(INFERENCESERVICE)
    services.add_indexers(
        {MODEL_INDEX: model_index, FINE_TUNED_INDEX: fine_tuned_index, DAC_INDEX: dac_index}
    )
    manager.registry.register(ReadinessCollector(services.store.list))
    # a cluster without the LeaderWorkerSet API (or the Ingress, KEDA, Gateway API, its
    # Inference Extension or Knative Serving) cannot be watched for them: multi-node
    # services then report LeaderWorkerSetUnavailable
    unwatched = {
        INGRESS: not watch_ingresses,
        LEADERWORKERSET: not watch_leaderworkersets,
        SCALEDOBJECT: not watch_scaledobjects,
        HTTPROUTE: not watch_httproutes,
        INFERENCEPOOL: not watch_inferencepools,
        KNATIVE_SERVICE: not watch_knativeservices,
    }
    children = [k for k in CHILD_KINDS if not unwatched.get(k)]
    informers: dict[GVK, SharedInformer] = {INFERENCESERVICE: services}
    for kind in children:
        informers[kind] = manager.informer(kind, metadata_only=kind not in READ_WHOLE)
        informers[kind].add_indexers({SERVICE_INDEX: service_index})
    pods = manager.informer(POD, label_selector=INFERENCESERVICE_LABEL)
    pods.add_indexers({SERVICE_INDEX: service_index})
    catalog = StoreCatalog(
        manager.informer(BASEMODEL).store,
        manager.informer(CLUSTERBASEMODEL).store,
        manager.informer(SERVINGRUNTIME).store,
        manager.informer(CLUSTERSERVINGRUNTIME).store,
        fine_tuned_weights=manager.informer(FINETUNEDWEIGHT).store,
        accelerator_classes=manager.informer(ACCELERATORCLASS).store,
    )
    config = config_informer(manager, namespace)
    dacs = manager.informer(DEDICATEDAICLUSTER)
    reconciler = InferenceServiceReconciler(
        client=manager.client,
        informers=informers,
        pods=pods,
        dacs=dacs,
        catalog=catalog,
        recorder=manager.event_recorder(CONTROLLER_NAME),
        tracker=tracker,
        config=config,
        config_namespace=namespace,
    )

    def all_services() -> list[Request]:
        return [Request.for_object(obj) for obj in services.store.list()]

    def runtime_users(obj: KubeObject) -> Iterable[Request]:
        scope, name = _identity(obj)
        return {*tracker.using_runtime(name, scope), *tracker.failed(scope)}

    def model_users(obj: KubeObject) -> Iterable[Request]:
        scope, name = _identity(obj)
        users = {
            Request.for_object(service)
            for service in services.store.by_index(MODEL_INDEX, name)
            if scope is None or service["metadata"].get("namespace") == scope
        }
        return users | set(tracker.failed(scope))

    def weight_users(obj: KubeObject) -> Iterable[Request]:
        _, name = _identity(obj)
        users = {Request.for_object(s) for s in services.store.by_index(FINE_TUNED_INDEX, name)}
        return users | set(tracker.failed(None))

    def dac_members(obj: KubeObject) -> Iterable[Request]:
        _, name = _identity(obj)
        return [Request.for_object(s) for s in services.store.by_index(DAC_INDEX, name)]

    def pod_owner(obj: KubeObject) -> Iterable[Request]:
        meta = obj.get("metadata", {})
        name = (meta.get("labels") or {}).get(INFERENCESERVICE_LABEL)
        return (Request(meta.get("namespace", ""), name),) if name else ()

    def blocked_services(kind: GVK) -> MapFunc:
        def waiting(obj: KubeObject) -> Iterable[Request]:
            meta = obj.get("metadata", {})
            return tracker.waiting_for((kind.kind, f"{meta.get('namespace')}/{meta.get('name')}"))

        return waiting

    echoes = reconciler.own_writes.not_echoes
    builder = (
        controller_managed_by(manager)
        .for_(services, echoes(INFERENCESERVICE))
        .named(CONTROLLER_NAME)
    )
    for kind in children:
        informer = informers[kind]
        builder = builder.owns(informer, echoes(kind)).watches(informer, blocked_services(kind))
    return (
        builder.watches(SERVINGRUNTIME, runtime_users)
        .watches(CLUSTERSERVINGRUNTIME, runtime_users)
        .watches(BASEMODEL, model_users)
        .watches(CLUSTERBASEMODEL, model_users)
        .watches(FINETUNEDWEIGHT, weight_users)
        # a DAC that appears, frees capacity or goes: the services that name it
        .watches(dacs, dac_members)
        # a class's spec (not its ever-changing counts) may change any service's pods
        .watches(ACCELERATORCLASS, lambda _: all_services(), generation_changed())
        # Only the pods of services are cached: a label-selected informer of their own.
        .watches(pods, pod_owner)
        .watches(config, lambda _: all_services())
        .with_options(max_concurrent_reconciles=workers)
        .complete(reconciler)
    )
