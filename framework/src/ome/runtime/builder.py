"""Wiring a controller in one readable expression, as controller-runtime's builder does:

    controller_managed_by(manager)
        .for_(InferenceService)
        .owns(DEPLOYMENT)
        .watches(SERVING_RUNTIME, services_using_runtime)
        .watches(manager.informer(POD, label_selector=SERVICE_LABEL), pod_owner)
        .with_event_filter(generation_changed())
        .named("inferenceservice-controller")
        .complete(reconcile)

``for_`` queues the object itself, ``owns`` queues the controller owner of a child,
``watches`` queues what any event handler (or a plain mapping function) says. Each takes
a kind (a GVK, or a model class with ``API_VERSION`` and ``KIND``), watched through the
manager's shared informer of the whole kind, or an informer the caller already made
(filtered by namespace or selectors, or indexed), which is then shared as it is.
Predicates given to ``with_event_filter`` apply to every watch; those given to a single
watch apply to it alone. Whether the reconciled kind is namespaced, which ``owns`` needs
to name the owner, comes from discovery.
"""

from __future__ import annotations

from dataclasses import dataclass

from ome.client import GVK, Kind, gvk_of
from ome.informers import SharedInformer
from ome.runtime.controller import Controller, Reconciler, Source
from ome.runtime.handlers import (
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EnqueueRequestsFromMapFunc,
    EventHandler,
    MapFunc,
)
from ome.runtime.manager import Manager
from ome.runtime.predicates import Predicate
from ome.runtime.request import Request
from ome.workqueue import RateLimitingQueue, default_controller_rate_limiter

WatchSource = Kind | Source
"""What a watch reads: a kind (the manager's shared informer of it) or an informer."""


@dataclass(frozen=True)
class _Target:
    gvk: GVK
    source: Source
    predicates: tuple[Predicate, ...]


@dataclass(frozen=True)
class _Watch:
    source: Source
    handler: EventHandler | None  # None: the owner, known once for_() is
    predicates: tuple[Predicate, ...]


class Builder:
    """Collects what a controller watches; :meth:`complete` creates and registers it."""

    def __init__(self, manager: Manager) -> None:
        self.manager = manager
        self._target: _Target | None = None
        self._watches: list[_Watch] = []
        self._filters: list[Predicate] = []
        self._name: str | None = None
        self._max_concurrent_reconciles = 1
        self._reconcile_timeout: float | None = None

    def for_(
        self, target: Kind | SharedInformer, *predicates: Predicate, metadata_only: bool = False
    ) -> Builder:
        """Reconcile ``target`` objects; ``predicates`` filter the events of these objects
        only (e.g. ``generation_changed()`` to ignore their status writes).
        ``metadata_only`` watches a kind through the metadata-only informer, which a
        reconciler reading that same informer needs: a second, full informer of the kind
        would deliver events before the reconciler's cache has caught up. An informer
        given as ``target`` must have been asked for by kind (``manager.informer``)."""
        if self._target is not None:
            raise ValueError(f"for_() was already given {self._target.gvk}: a controller has one")
        if isinstance(target, SharedInformer):
            request = target.request
            gvk = GVK(request.group, request.version, request.plural_or_kind)
            source: Source = target
        else:
            gvk = gvk_of(target)
            source = self.manager.informer(gvk, metadata_only=metadata_only)
        self._target = _Target(gvk, source, predicates)
        return self

    def owns(self, child: WatchSource, *predicates: Predicate) -> Builder:
        """Queue the controller owner (of the ``for_`` kind) of each ``child`` object."""
        self._watches.append(_Watch(self._source(child), None, predicates))
        return self

    def watches(
        self, source: WatchSource, handler: EventHandler | MapFunc, *predicates: Predicate
    ) -> Builder:
        """Queue what ``handler`` maps each event of ``source`` to: any
        :class:`EventHandler`, or a function from an object to requests."""
        if not isinstance(handler, EventHandler):
            handler = EnqueueRequestsFromMapFunc(handler)
        self._watches.append(_Watch(self._source(source), handler, predicates))
        return self

    def with_event_filter(self, *predicates: Predicate) -> Builder:
        """Predicates every event of every watch must pass."""
        self._filters.extend(predicates)
        return self

    def named(self, name: str) -> Builder:
        """The controller's name in logs and metrics (default: the kind, lower case)."""
        self._name = name
        return self

    def with_options(
        self, *, max_concurrent_reconciles: int = 1, reconcile_timeout: float | None = None
    ) -> Builder:
        self._max_concurrent_reconciles = max_concurrent_reconciles
        self._reconcile_timeout = reconcile_timeout
        return self

    def complete(self, reconciler: Reconciler) -> Controller:
        """Create the controller, register its watches and add it to the manager."""
        target = self._target
        if target is None:
            raise ValueError("call for_() with the kind to reconcile before complete()")
        name = self._name or target.gvk.kind.lower()
        queue: RateLimitingQueue[Request] = RateLimitingQueue(
            rate_limiter=default_controller_rate_limiter(),
            name=name,
            metrics=self.manager.workqueue_metrics,
        )
        controller = Controller(
            name,
            reconciler,
            metrics=self.manager.metrics,
            queue=queue,
            max_concurrent_reconciles=self._max_concurrent_reconciles,
            reconcile_timeout=self._reconcile_timeout,
        )
        owner = EnqueueRequestForOwner(
            target.gvk.group, target.gvk.kind, owner_namespaced=self.manager.scope(target.gvk)
        )
        own = _Watch(target.source, EnqueueRequestForObject(), target.predicates)
        for watch in (own, *self._watches):
            controller.watch(
                watch.source,
                owner if watch.handler is None else watch.handler,
                (*self._filters, *watch.predicates),
            )
        self.manager.add_controller(controller)
        return controller

    def _source(self, source: WatchSource) -> Source:
        if isinstance(source, GVK | type):
            return self.manager.informer(gvk_of(source), metadata_only=False)
        return source


def controller_managed_by(manager: Manager) -> Builder:
    """Start wiring a controller that ``manager`` runs."""
    return Builder(manager)
