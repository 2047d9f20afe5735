"""The reflector: keeps a sink (the informer) in step with the API server.

Loop, after client-go's ``tools/cache/reflector.go``:

1. Find the resource through discovery (a missing CRD is an error like any other).
2. Sync, when the sink cannot be trusted (at start, after a 410 or an API error): a
   watch-list (``sendInitialEvents``) where the server supports it, which streams the
   current state and goes on as a watch; otherwise a list in pages of 500. The sink
   gets the whole state at once (``replace``), to compute what vanished.
3. Watch from the last resourceVersion seen, with bookmarks and a random 5-10 minute
   server timeout, applying each event. A watch that ends cleanly, or goes quiet for
   longer than the inactivity timeout (bookmarks come every minute, so silence means
   a dead connection), is simply opened again from where it stopped.
4. After a failure, wait (``Backoff``: 0.8 s doubling to 30 s, with jitter) and go on:
   throttling, server errors and lost connections re-watch from the same point; a 410
   or an API error syncs again.

The first list reads resourceVersion "0" (the server's cache); later ones ask for data
"not older than" the last version seen, so the watch cache can answer. A list refused
because that version is gone or too new is retried at once as a consistent read ("").
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from ome.client import ApiError, Client, IdleTimeout, KubeObject, MutableKubeObject, ResourceInfo
from ome.informers.backoff import Backoff
from ome.informers.errors import (
    WATCH_LIST_REFUSED,
    InitialEventsIncomplete,
    WatchClosedEarly,
    describe,
    is_expired,
    is_transient,
)
from ome.informers.listwatch import INITIAL_EVENTS_END, ListWatch
from ome.informers.store import object_key
from ome.informers.transform import Transform, compact

log = structlog.get_logger("ome.informers")

# A watch closing sooner than this without any event is treated as a failure.
MIN_WATCH_DURATION = 1.0


class Sink(Protocol):
    """Where a reflector delivers what it learns."""

    def replace(self, objects: list[KubeObject], resource_version: str) -> None: ...

    def upsert(self, obj: KubeObject) -> None: ...

    def remove(self, obj: KubeObject) -> None: ...


@dataclass(frozen=True)
class ResourceRequest:
    """What an informer watches, as its user asked for it."""

    group: str
    version: str
    plural_or_kind: str
    namespace: str | None = None
    label_selector: str | None = None
    field_selector: str | None = None
    metadata_only: bool = False

    def __str__(self) -> str:
        api_version = f"{self.group}/{self.version}" if self.group else self.version
        parts = [f"{self.plural_or_kind}.{api_version}", f"namespace={self.namespace or '*'}"]
        if self.label_selector:
            parts.append(f"labels={self.label_selector}")
        if self.field_selector:
            parts.append(f"fields={self.field_selector}")
        if self.metadata_only:
            parts.append("metadata-only")
        return " ".join(parts)


@dataclass(frozen=True)
class ReflectorOptions:
    page_size: int = 500
    # Seconds the server keeps a watch open; drawn anew for every watch.
    watch_timeout: tuple[float, float] = (300.0, 600.0)
    # Longest silence on a watch before it is presumed dead (bookmarks come each minute).
    inactivity_timeout: float = 90.0
    # Idle seconds before TCP keepalive probes a watch connection; None: no probes.
    keepalive: float | None = 30.0
    watch_list: bool = True
    backoff: Callable[[], Backoff] = field(default=Backoff)

    def __post_init__(self) -> None:
        low, high = self.watch_timeout
        if not (0 < low <= high and self.page_size > 0 and self.inactivity_timeout > 0):
            raise ValueError(
                "reflector options need 0 < watch_timeout low <= high, page_size > 0 "
                "and inactivity_timeout > 0"
            )


class Reflector:
    """
    State:
        resource         the resource discovery resolved; None until it did.
        last_error       the latest failure; cleared by the next successful request.
        failures         how many attempts have failed so far.
        attempts         how many attempts (rounds of the loop) have begun so far.
        failed_attempt   the number of the attempt that last_error ended.
        _rv              resourceVersion to watch (or relist) from: the last one seen.
        _needs_sync      the sink may be out of step: sync before watching.
        _synced_once     a sync succeeded once (the first list reads version "0").
        _rv_unavailable  the server refused ``_rv`` (gone or too new): list at "".
        _watch_list      watch-list is worth trying (the server did not refuse it).
    """

    def __init__(
        self,
        client: Client,
        request: ResourceRequest,
        sink: Sink,
        *,
        transform: Transform | None = None,
        options: ReflectorOptions | None = None,
        intern: bool = True,
    ) -> None:
        """``intern`` shares repeated strings of the objects (:func:`compact`); worth it
        where the sink keeps them."""
        self.client = client
        self.request = request
        self.sink = sink
        self.transform = transform
        self.intern = intern
        self.options = options or ReflectorOptions()
        self.resource: ResourceInfo | None = None
        self.last_error: BaseException | None = None
        self.failures = 0
        self.attempts = 0
        self.failed_attempt = 0
        self._rv = ""
        self._needs_sync = True
        self._synced_once = False
        self._rv_unavailable = False
        self._watch_list = self.options.watch_list
        self._log = log.bind(informer=str(request))

    async def run(self) -> None:
        """List and watch until cancelled."""
        backoff = self.options.backoff()
        list_watch: ListWatch | None = None
        while True:
            self.attempts += 1
            try:
                list_watch = list_watch or await self._resolve()
                await self._step(list_watch)
            except Exception as err:  # every failure is retried; the caller sees last_error
                self._failed(err)
                await asyncio.sleep(backoff.delay())

    async def _resolve(self) -> ListWatch:
        request = self.request
        self.resource = await self.client.mapper.resource_for(
            request.group, request.version, request.plural_or_kind
        )
        return ListWatch(
            self.client,
            self.resource,
            request.namespace,
            request.label_selector,
            request.field_selector,
            request.metadata_only,
        )

    def _failed(self, err: Exception) -> None:
        self.last_error = err
        self.failures += 1
        self.failed_attempt = self.attempts
        if is_expired(err):
            self._log.info("resource version expired; relisting", error=describe(err))
            self._needs_sync = True
        elif is_transient(err) or isinstance(err, WatchClosedEarly):
            self._log.warning("list/watch failed; retrying", error=describe(err))
        else:
            self._log.error("list/watch failed; relisting after a pause", error=describe(err))
            self._needs_sync = True

    async def _step(self, list_watch: ListWatch) -> None:
        """One watch, preceded by a sync if needed; returns when it ended cleanly or went
        quiet, raises when it failed."""
        if self._needs_sync and self._watch_list:
            try:
                await self._watch(list_watch, initial_events=True)
                return
            except Exception as err:
                if not self._needs_sync:
                    raise  # it synced, then failed as any watch can
                if isinstance(err, ApiError) and err.status in WATCH_LIST_REFUSED:
                    self._watch_list = False
                self._log.info("watch-list failed; listing instead", error=describe(err))
        if self._needs_sync:
            await self._list(list_watch)
        await self._watch(list_watch)

    # -- sync by list ------------------------------------------------------------------

    async def _list(self, list_watch: ListWatch) -> None:
        while True:
            try:
                objects, version = await self._list_all(list_watch, self._list_version())
            except Exception as err:
                if not is_expired(err) or self._rv_unavailable:
                    raise
                self._log.info("list version unavailable; consistent read", error=describe(err))
                self._rv_unavailable = True
                continue
            self._rv_unavailable = False
            self._synced(objects, version)
            return

    def _list_version(self) -> str:
        if self._rv_unavailable:
            return ""  # a consistent read: whatever the server has now
        return self._rv if self._synced_once else "0"

    async def _list_all(self, list_watch: ListWatch, version: str) -> tuple[list[KubeObject], str]:
        objects: list[KubeObject] = []
        token = ""
        while True:
            page = await list_watch.list_page(
                resource_version=version, limit=self.options.page_size, continue_token=token
            )
            objects.extend(self._prepare(list_watch, item) for item in page.items)
            if not page.continue_token:
                return objects, page.resource_version
            token = page.continue_token

    def _synced(self, objects: list[KubeObject], version: str) -> None:
        self.sink.replace(objects, version)
        self._rv = version
        self._needs_sync = False
        self._synced_once = True
        self.last_error = None

    # -- watch -------------------------------------------------------------------------

    async def _watch(self, list_watch: ListWatch, *, initial_events: bool = False) -> None:
        options = self.options
        started = time.monotonic()
        seen = 0
        # A watch-list's initial state, by key, until its end bookmark.
        initial: dict[str, KubeObject] | None = {} if initial_events else None
        try:
            async with list_watch.watch(
                resource_version=self._rv if self._synced_once else "",
                timeout_seconds=int(random.uniform(*options.watch_timeout)),
                idle_timeout=options.inactivity_timeout,
                keepalive=options.keepalive,
                initial_events=initial_events,
            ) as events:
                if not initial_events:
                    self.last_error = None
                async for kind, obj in events:
                    seen += 1
                    initial = self._apply(list_watch, kind, obj, initial)
        except IdleTimeout:
            self._log.warning(
                "watch silent; reopening", seconds=options.inactivity_timeout, events=seen
            )
            if initial is not None:
                raise InitialEventsIncomplete("watch-list went silent") from None
            return
        if initial is not None:
            raise InitialEventsIncomplete(f"watch-list closed after {seen} events")
        if seen == 0 and time.monotonic() - started < MIN_WATCH_DURATION:
            raise WatchClosedEarly("watch closed at once without any event")

    def _apply(
        self,
        list_watch: ListWatch,
        kind: str,
        obj: MutableKubeObject,
        initial: dict[str, KubeObject] | None,
    ) -> dict[str, KubeObject] | None:
        """Apply one event; returns the watch-list buffer still filling, if any."""
        if kind == "BOOKMARK":
            metadata = obj.get("metadata") or {}
            version = str(metadata.get("resourceVersion") or self._rv)
            if initial is None:
                self._rv = version
            elif (metadata.get("annotations") or {}).get(INITIAL_EVENTS_END) == "true":
                self._synced(list(initial.values()), version)
                return None
            return initial
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            raise ValueError(f"unknown watch event type {kind!r}")
        prepared = self._prepare(list_watch, obj)
        if initial is not None:
            # Initial events are not ordered by resourceVersion: the bookmark's counts.
            if kind == "DELETED":
                initial.pop(object_key(prepared), None)
            else:
                initial[object_key(prepared)] = prepared
            return initial
        if kind == "DELETED":
            self.sink.remove(prepared)
        else:
            self.sink.upsert(prepared)
        self._rv = str((prepared.get("metadata") or {}).get("resourceVersion") or self._rv)
        return None

    def _prepare(self, list_watch: ListWatch, obj: MutableKubeObject) -> KubeObject:
        """The object as the cache keeps it."""
        if list_watch.metadata_only:
            obj = {"metadata": obj.get("metadata") or {}}
        obj["apiVersion"] = list_watch.resource.api_version
        obj["kind"] = list_watch.resource.kind
        if self.transform is not None:
            obj = self.transform(obj)
        return compact(obj) if self.intern else obj
