"""A shared informer: one reflector feeding one store, fanned out to many handlers.

What the reflector reports is applied to the store first and then offered to every
handler (client-go's ``sharedIndexInformer``), so a handler always finds the cache at
least as new as its event:

    added / modified   store.upsert, then on_add(obj), or on_update(old, new) when the
                       key was cached already
    deleted            store.delete, then on_delete(final state from the event)
    relist             the store takes the listed state; every listed object is an add
                       or an update; every cached key the list lacks is an
                       on_delete(DeletedFinalStateUnknown(key, last known state))
    resync             on_update(obj, obj) for every cached object, per handler period

A handler added while the informer runs is first given every cached object as an add.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

from ome.client import Client, KubeObject, ResourceInfo
from ome.informers.compact_store import CompactStore
from ome.informers.handlers import (
    AddHandler,
    DeletedFinalStateUnknown,
    DeleteHandler,
    Registration,
    UpdateHandler,
)
from ome.informers.reflector import Reflector, ReflectorOptions, ResourceRequest
from ome.informers.store import (
    NAMESPACE_INDEX,
    IndexFunc,
    Store,
    namespace_index,
    object_key,
)
from ome.informers.transform import Transform

# client-go's floor for handler resync periods: resyncing faster only burns CPU.
MIN_RESYNC_PERIOD = 1.0


class SharedInformer:
    """
    State:
        store            the cache, with a "namespace" index; ``indexer`` is the same.
        _registrations   handlers in the order they were added.
        _synced          the store holds a complete list (set once, never cleared).
        _reflector_task  the list/watch loop while running.
        _resync_task     the resync timer while running.
        _resync_changed  set when a handler's resync schedule changes.
        _retired         delivery tasks of removed handlers, until they finish.
    """

    def __init__(
        self,
        client: Client,
        request: ResourceRequest,
        *,
        transform: Transform | None = None,
        resync_period: float | None = None,
        options: ReflectorOptions | None = None,
        compact_store: bool = False,
    ) -> None:
        """``compact_store`` keeps the cache as JSON (:class:`CompactStore`): far less memory,
        a decode per read."""
        self.request = request
        self.name = str(request)
        self.resync_period = resync_period
        self.store = (CompactStore if compact_store else Store)({NAMESPACE_INDEX: namespace_index})
        # Interning only pays for objects the cache holds decoded.
        self.reflector = Reflector(
            client, request, self, transform=transform, options=options, intern=not compact_store
        )
        self._registrations: list[Registration] = []
        self._synced = False
        self._reflector_task: asyncio.Task[None] | None = None
        self._resync_task: asyncio.Task[None] | None = None
        self._resync_changed = asyncio.Event()
        self._retired: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"<SharedInformer {self.name} synced={self._synced} objects={len(self.store)}>"

    @property
    def indexer(self) -> Store:
        return self.store

    @property
    def has_synced(self) -> bool:
        """The store has held a complete list at least once."""
        return self._synced

    @property
    def last_error(self) -> BaseException | None:
        """Why the latest list or watch failed, until one succeeds again."""
        return self.reflector.last_error

    @property
    def failures(self) -> int:
        """How many list or watch attempts have failed so far."""
        return self.reflector.failures

    @property
    def resource(self) -> ResourceInfo | None:
        """The resource discovery resolved, once it did."""
        return self.reflector.resource

    @property
    def running(self) -> bool:
        return self._reflector_task is not None

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        self.store.add_indexers(indexers)

    def add_event_handler(
        self,
        on_add: AddHandler | None = None,
        on_update: UpdateHandler | None = None,
        on_delete: DeleteHandler | None = None,
        resync_period: float | None = None,
    ) -> Registration:
        """Register handlers; ``resync_period`` (seconds, at least 1; 0 for none) defaults
        to the informer's. Returns the registration, to check ``has_synced`` or
        ``remove()`` it."""
        period = self.resync_period if resync_period is None else resync_period
        registration = Registration(
            on_add,
            on_update,
            on_delete,
            resync_period=max(period, MIN_RESYNC_PERIOD) if period else None,
            on_remove=self._remove,
            name=self.name,
        )
        self._registrations.append(registration)
        if self._synced:
            for obj in self.store.list():
                registration.add(obj)
            registration.mark_synced()
        if self.running:
            self._schedule_resync(registration)
            registration.start()
        return registration

    def _remove(self, registration: Registration, task: asyncio.Task[None] | None) -> None:
        """A registration removed itself; ``task`` is its cancelled delivery task."""
        with contextlib.suppress(ValueError):
            self._registrations.remove(registration)
        if task is not None:
            self._retired.add(task)
            task.add_done_callback(self._retired.discard)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start listing and watching (in the running event loop); idempotent."""
        if self.running:
            return
        self._reflector_task = asyncio.create_task(
            self.reflector.run(), name=f"informer {self.name}"
        )
        self._resync_task = asyncio.create_task(self._resync(), name=f"resync {self.name}")
        for registration in self._registrations:
            self._schedule_resync(registration)
            registration.start()

    async def stop(self) -> None:
        """Stop every task of this informer and wait for them to end."""
        tasks = [t for t in (self._reflector_task, self._resync_task) if t is not None]
        tasks += [t for r in self._registrations if (t := r.stop()) is not None]
        tasks += self._retired
        self._reflector_task = self._resync_task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- what the reflector reports (Sink) -------------------------------------------

    def replace(self, objects: list[KubeObject], resource_version: str) -> None:
        listed = {}
        for obj in objects:
            listed[object_key(obj)] = obj
        old = self.store.replace(listed)
        for key, obj in listed.items():
            previous = old.get(key)
            for registration in self._registrations:
                if previous is None:
                    registration.add(obj)
                else:
                    registration.update(previous, obj)
        for key, previous in old.items():
            if key not in listed:
                tombstone = DeletedFinalStateUnknown(key, previous)
                for registration in self._registrations:
                    registration.delete(tombstone)
        if not self._synced:
            self._synced = True
            for registration in self._registrations:
                registration.mark_synced()

    def upsert(self, obj: KubeObject) -> None:
        previous = self.store.upsert(obj)
        for registration in self._registrations:
            if previous is None:
                registration.add(obj)
            else:
                registration.update(previous, obj)

    def remove(self, obj: KubeObject) -> None:
        self.store.delete(object_key(obj))
        for registration in self._registrations:
            registration.delete(obj)

    # -- resync ----------------------------------------------------------------------

    def _schedule_resync(self, registration: Registration) -> None:
        registration.schedule_resync(asyncio.get_running_loop().time())
        self._resync_changed.set()

    async def _resync(self) -> None:
        """Deliver update(obj, obj) for every cached object to each handler whose resync
        period has passed; one timer for all of them."""
        loop = asyncio.get_running_loop()
        while True:
            self._resync_changed.clear()
            due = [r.next_resync for r in self._registrations if r.next_resync is not None]
            wait = min(due) - loop.time() if due else None
            if wait is None or wait > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._resync_changed.wait()
                continue
            now = loop.time()
            objects = self.store.list() if self._synced else []
            for registration in self._registrations:
                if registration.due_for_resync(now):
                    for obj in objects:
                        registration.update(obj, obj)
                    registration.schedule_resync(now)
