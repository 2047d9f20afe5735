"""Wiring: informers, indexes and watches of the model controllers."""

from __future__ import annotations

from collections.abc import Iterable

from ome.client import KubeObject
from ome.controllers.basemodel.nodes import NodeStatusCleanup
from ome.controllers.basemodel.reconciler import DELETION_TIMEOUT, ModelReconciler
from ome.controllers.basemodel.reports import node_of
from ome.controllers.kinds import BASEMODEL, CLUSTERBASEMODEL, CONFIGMAP, NODE
from ome.informers import SharedInformer
from ome.runtime import Controller, Manager, Request, controller_managed_by
from ome.runtime.handlers import MapFunc
from ome.serving.naming import STATUS_CONFIGMAP_LABEL, model_status_key

STATUS_KEY_INDEX = "status-key"
"""Index of models by their data key in the node status ConfigMaps."""
DEFAULT_STATUS_NAMESPACE = "ome"


def _status_key_index(obj: KubeObject) -> list[str]:
    meta = obj.get("metadata", {})
    return [model_status_key(meta["name"], meta.get("namespace") or None)]


def setup(
    manager: Manager,
    *,
    status_namespace: str | None = None,
    workers: int = 2,
    deletion_timeout: float = DELETION_TIMEOUT,
) -> list[Controller]:
    """Register the BaseModel, ClusterBaseModel and node-status cleanup controllers.
    The agents' status ConfigMaps are read in ``status_namespace`` (default: the
    manager's namespace, else ``ome``)."""
    namespace = status_namespace or manager.options.namespace or DEFAULT_STATUS_NAMESPACE
    configmaps = manager.informer(
        CONFIGMAP, namespace=namespace, label_selector=f"{STATUS_CONFIGMAP_LABEL}=true"
    )
    nodes = manager.informer(NODE, metadata_only=True)
    recorder = manager.event_recorder("basemodel-controller")
    controllers = []
    for kind in (BASEMODEL, CLUSTERBASEMODEL):
        models = manager.informer(kind)
        models.add_indexers({STATUS_KEY_INDEX: _status_key_index})
        reconciler = ModelReconciler(
            kind=kind,
            client=manager.client,
            models=models,
            configmaps=configmaps,
            nodes=nodes,
            recorder=recorder,
            status_namespace=namespace,
            deletion_timeout=deletion_timeout,
        )
        controller = (
            controller_managed_by(manager)
            .for_(models)
            .watches(configmaps, _reported(models, namespace))
            # A node that goes away may have been the one holding up a deletion.
            .watches(nodes, _deleting(models))
            .named(f"{kind.kind.lower()}-controller")
            .with_options(max_concurrent_reconciles=workers)
            .complete(reconciler)
        )
        controllers.append(controller)
    cleanup = (
        controller_managed_by(manager)
        .for_(nodes)
        .watches(configmaps, _node_of_configmap(namespace))
        .named("node-status-cleanup")
        .complete(NodeStatusCleanup(manager.client, nodes, configmaps, namespace))
    )
    return [*controllers, cleanup]


def _reported(models: SharedInformer, namespace: str) -> MapFunc:
    def requests(configmap: KubeObject) -> Iterable[Request]:
        if configmap.get("metadata", {}).get("namespace") != namespace:
            return ()
        return {
            Request.for_object(model)
            for key in configmap.get("data") or {}
            for model in models.store.by_index(STATUS_KEY_INDEX, key)
        }

    return requests


def _deleting(models: SharedInformer) -> MapFunc:
    def requests(_: KubeObject) -> Iterable[Request]:
        return [
            Request.for_object(model)
            for model in models.store.list()
            if model["metadata"].get("deletionTimestamp")
        ]

    return requests


def _node_of_configmap(namespace: str) -> MapFunc:
    def requests(configmap: KubeObject) -> Iterable[Request]:
        if configmap.get("metadata", {}).get("namespace") != namespace:
            return ()
        return (Request("", node_of(configmap)),)

    return requests
