"""Wiring: the weights, the agents' status ConfigMaps, the nodes and the base models."""

from __future__ import annotations

from collections.abc import Iterable

from ome.client import KubeObject
from ome.controllers.basemodel.reconciler import DELETION_TIMEOUT
from ome.controllers.basemodel.setup import DEFAULT_STATUS_NAMESPACE
from ome.controllers.finetunedweight.reconciler import FineTunedWeightReconciler, base_model_of
from ome.controllers.kinds import BASEMODEL, CLUSTERBASEMODEL, CONFIGMAP, FINETUNEDWEIGHT, NODE
from ome.runtime import Controller, Manager, Request, controller_managed_by
from ome.serving.naming import STATUS_CONFIGMAP_LABEL, fine_tuned_status_key

CONTROLLER_NAME = "finetunedweight-controller"
BASE_MODEL_INDEX = "base-model"
"""Index of weights by their base model: ``{namespace}/{name}`` or ``{name}``."""


def _base_model_index(weight: KubeObject) -> list[str]:
    _, name, namespace = base_model_of(weight)
    return [f"{namespace}/{name}" if namespace else name]


def _status_key(name: str, _: str | None) -> str:
    return fine_tuned_status_key(name)


def setup(
    manager: Manager,
    *,
    status_namespace: str | None = None,
    workers: int = 2,
    deletion_timeout: float = DELETION_TIMEOUT,
) -> Controller:
    namespace = status_namespace or manager.options.namespace or DEFAULT_STATUS_NAMESPACE
    configmaps = manager.informer(
        CONFIGMAP, namespace=namespace, label_selector=f"{STATUS_CONFIGMAP_LABEL}=true"
    )
    nodes = manager.informer(NODE, metadata_only=True)
    weights = manager.informer(FINETUNEDWEIGHT)
    weights.add_indexers({BASE_MODEL_INDEX: _base_model_index})
    base_models, cluster_base_models = (
        manager.informer(BASEMODEL),
        manager.informer(CLUSTERBASEMODEL),
    )
    reconciler = FineTunedWeightReconciler(
        kind=FINETUNEDWEIGHT,
        client=manager.client,
        models=weights,
        configmaps=configmaps,
        nodes=nodes,
        recorder=manager.event_recorder(CONTROLLER_NAME),
        status_namespace=namespace,
        deletion_timeout=deletion_timeout,
        status_key=_status_key,
        base_models=base_models,
        cluster_base_models=cluster_base_models,
    )

    def reported(configmap: KubeObject) -> Iterable[Request]:
        if configmap.get("metadata", {}).get("namespace") != namespace:
            return ()
        keys = set(configmap.get("data") or {})
        return [
            Request.for_object(weight)
            for weight in weights.store.list()
            if fine_tuned_status_key(weight["metadata"]["name"]) in keys
        ]

    def deleting(_: KubeObject) -> Iterable[Request]:
        return [
            Request.for_object(weight)
            for weight in weights.store.list()
            if weight["metadata"].get("deletionTimestamp")
        ]

    def of_base_model(model: KubeObject) -> Iterable[Request]:
        meta = model.get("metadata", {})
        key = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
        return [Request.for_object(w) for w in weights.store.by_index(BASE_MODEL_INDEX, key)]

    return (
        controller_managed_by(manager)
        .for_(weights)
        .watches(base_models, of_base_model)
        .watches(cluster_base_models, of_base_model)
        .watches(configmaps, reported)
        .watches(nodes, deleting)
        .named(CONTROLLER_NAME)
        .with_options(max_concurrent_reconciles=workers)
        .complete(reconciler)
    )
