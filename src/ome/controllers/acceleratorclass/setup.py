"""Wiring: the classes, the nodes and the pods that hold accelerators."""

from __future__ import annotations

from collections.abc import Iterable

from ome.client import KubeObject
from ome.controllers.acceleratorclass.reconciler import AcceleratorClassReconciler
from ome.controllers.kinds import ACCELERATORCLASS, NODE, POD
from ome.runtime import Controller, Manager, Request, controller_managed_by
from ome.serving.accelerator_inventory import requests_extended_resources

CONTROLLER_NAME = "acceleratorclass-controller"
BOUND_UNFINISHED_PODS = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"
"""The pods that hold resources on a node; others are not cached."""


def setup(manager: Manager, *, workers: int = 1) -> Controller:
    classes = manager.informer(ACCELERATORCLASS)
    nodes = manager.informer(NODE)
    pods = manager.informer(POD, field_selector=BOUND_UNFINISHED_PODS)
    reconciler = AcceleratorClassReconciler(
        client=manager.client,
        classes=classes,
        nodes=nodes,
        pods=pods,
        recorder=manager.event_recorder(CONTROLLER_NAME),
    )

    def every_class(_: KubeObject) -> Iterable[Request]:
        # Any node may join or leave any class (its labels changed); classes are few.
        return [Request.for_object(c) for c in classes.store.list()]

    def holding_accelerators(pod: KubeObject) -> Iterable[Request]:
        return every_class(pod) if requests_extended_resources(pod) else ()

    return (
        controller_managed_by(manager)
        .for_(classes)
        .watches(nodes, every_class)
        .watches(pods, holding_accelerators)
        .named(CONTROLLER_NAME)
        .with_options(max_concurrent_reconciles=workers)
        .complete(reconciler)
    )
