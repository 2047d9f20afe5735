"""Wiring a controller in one readable expression:

    Controller.for_(InferenceService)
        .owns(DEPLOYMENT)
        .watches(SERVING_RUNTIME, services_using_runtime)
        .with_predicates(generation_changed())
        .complete(manager, reconcile)

``for_`` queues the object itself, ``owns`` queues the controller owner of a child,
``watches`` queues whatever a mapping function returns. Predicates given to
``with_predicates`` apply to every watch; those given to a single watch apply to it alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ome.runtime.controller import Controller, Reconciler
from ome.runtime.handlers import (
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EnqueueRequestsFromMapFunc,
    EventHandler,
    MapFunc,
)
from ome.runtime.kinds import GVK, gvk_of
from ome.runtime.predicates import Predicate
from ome.runtime.request import Request
from ome.workqueue import RateLimitingQueue, default_controller_rate_limiter

if TYPE_CHECKING:
    from ome.runtime.manager import Manager


@dataclass
class _Watch:
    gvk: GVK
    handler: EventHandler
    predicates: tuple[Predicate, ...]
    metadata_only: bool = False


@dataclass
class Builder:
    target: GVK
    namespaced: bool = True
    own_predicates: tuple[Predicate, ...] = ()
    metadata_only: bool = False
    _watches: list[_Watch] = field(default_factory=list)
    _predicates: list[Predicate] = field(default_factory=list)
    _name: str | None = None
    _options: dict[str, Any] = field(default_factory=dict)

    def owns(self, kind: Any, *predicates: Predicate) -> Builder:
        handler = EnqueueRequestForOwner(
            self.target.group, self.target.kind, owner_namespaced=self.namespaced
        )
        self._watches.append(_Watch(gvk_of(kind), handler, predicates))
        return self

    def watches(self, kind: Any, map_func: MapFunc, *predicates: Predicate) -> Builder:
        self._watches.append(_Watch(gvk_of(kind), EnqueueRequestsFromMapFunc(map_func), predicates))
        return self

    def with_predicates(self, *predicates: Predicate) -> Builder:
        self._predicates.extend(predicates)
        return self

    def named(self, name: str) -> Builder:
        self._name = name
        return self

    def with_options(
        self, *, max_concurrent_reconciles: int = 1, reconcile_timeout: float | None = None
    ) -> Builder:
        self._options = {
            "max_concurrent_reconciles": max_concurrent_reconciles,
            "reconcile_timeout": reconcile_timeout,
        }
        return self

    def complete(self, manager: Manager, reconciler: Reconciler) -> Controller:
        """Create the controller, register its watches and add it to ``manager``."""
        name = self._name or self.target.kind.lower()
        queue: RateLimitingQueue[Request] = RateLimitingQueue(
            rate_limiter=default_controller_rate_limiter(),
            name=name,
            metrics=manager.workqueue_metrics,
        )
        controller = Controller(
            name, reconciler, metrics=manager.metrics, queue=queue, **self._options
        )
        own = _Watch(
            self.target, EnqueueRequestForObject(), self.own_predicates, self.metadata_only
        )
        for watch in (own, *self._watches):
            controller.watch(
                manager.informer(watch.gvk, metadata_only=watch.metadata_only),
                watch.handler,
                (*self._predicates, *watch.predicates),
            )
        manager.add_controller(controller)
        return controller


def for_(
    target: Any, *predicates: Predicate, namespaced: bool = True, metadata_only: bool = False
) -> Builder:
    """Reconcile ``target`` objects; ``predicates`` filter the events of these objects
    only (e.g. ``generation_changed()`` to ignore their status writes). ``metadata_only``
    watches them through the metadata-only informer, which a reconciler that reads that
    same informer needs: a second, full informer of the kind would deliver events
    before the reconciler's cache has caught up."""
    return Builder(gvk_of(target), namespaced, predicates, metadata_only)
