"""An in-memory API server for one resource, standing in for ome.client.Client.

It keeps objects and an event history like the real watch cache: a watch from version V
replays the events after V and then follows new ones; a watch from a version older than
the last ``compact()`` gets a 410 ERROR event. Tests change objects with ``create``,
``update`` and ``delete`` and steer failures with ``list_errors``/``watch_errors``
(raised by the next requests), ``end_watches`` and ``break_watches``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Mapping
from types import SimpleNamespace
from typing import Any

from ome.client import NotFound, ResourceInfo
from ome.client.errors import ApiError, Invalid

CONFIGMAPS = ResourceInfo("", "v1", "configmaps", "ConfigMap", namespaced=True)
_END = object()


class FakeWatch:
    def __init__(self, query: Mapping[str, Any]) -> None:
        self.query = dict(query)
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.open = True

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            item = await self.queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


class FakeApiServer:
    def __init__(self, resource: ResourceInfo = CONFIGMAPS, *, watch_list: bool = True) -> None:
        self.resource = resource
        self.supports_watch_list = watch_list
        self.mapper = self
        self.configuration = SimpleNamespace(connection_pool_maxsize=100)
        self.objects: dict[str, dict[str, Any]] = {}
        self.version = 100
        self.compacted = 0
        self.history: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.accepts: list[str] = []
        self.watches: list[FakeWatch] = []
        self.list_errors: deque[BaseException] = deque()
        self.watch_errors: deque[BaseException] = deque()
        self.served = True  # False: discovery does not know the resource
        self.discovery_open = asyncio.Event()  # cleared: discovery requests hang
        self.discovery_open.set()

    # -- what tests see ----------------------------------------------------------------

    @property
    def lists(self) -> list[dict[str, Any]]:
        return [q for kind, q in self.requests if kind == "list"]

    @property
    def watch_requests(self) -> list[dict[str, Any]]:
        return [q for kind, q in self.requests if kind == "watch"]

    @property
    def open_watches(self) -> list[FakeWatch]:
        return [w for w in self.watches if w.open]

    def create(self, name: str, namespace: str = "default", **data: str) -> dict[str, Any]:
        obj = {"metadata": {"name": name, "namespace": namespace}, "data": dict(data)}
        return self._write("ADDED", obj)

    def update(self, name: str, namespace: str = "default", **data: str) -> dict[str, Any]:
        obj = self.objects[f"{namespace}/{name}"]
        return self._write("MODIFIED", {**obj, "data": dict(data)})

    def delete(self, name: str, namespace: str = "default") -> dict[str, Any]:
        return self._write("DELETED", self.objects[f"{namespace}/{name}"])

    def delete_quietly(self, name: str, namespace: str = "default") -> None:
        """Delete without an event, as if it happened while nobody watched."""
        self.version += 1
        del self.objects[f"{namespace}/{name}"]
        self.compact()

    def compact(self) -> None:
        """Forget the history: watches from older versions get 410."""
        self.compacted = self.version
        self.history.clear()

    def end_watches(self) -> None:
        for watch in self.open_watches:
            watch.queue.put_nowait(_END)

    def break_watches(self, error: BaseException) -> None:
        for watch in self.open_watches:
            watch.queue.put_nowait(error)

    def bookmark(self) -> None:
        for watch in self.open_watches:
            watch.queue.put_nowait(_event("BOOKMARK", self._bookmark_object()))

    def _write(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        metadata = obj["metadata"]
        key = f"{metadata['namespace']}/{metadata['name']}"
        stored = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            **obj,
            "metadata": {
                **metadata,
                "resourceVersion": str(self.version),
                "managedFields": [{"manager": "test"}],
            },
        }
        if kind == "DELETED":
            del self.objects[key]
        else:
            self.objects[key] = stored
        event = _event(kind, stored)
        self.history.append(event)
        for watch in self.open_watches:
            watch.queue.put_nowait(event)
        return stored

    def _bookmark_object(self, **annotations: str) -> dict[str, Any]:
        metadata: dict[str, Any] = {"resourceVersion": str(self.version)}
        if annotations:
            metadata["annotations"] = annotations
        return {"kind": "ConfigMap", "apiVersion": "v1", "metadata": metadata}

    # -- what the informer calls ---------------------------------------------------------

    async def resource_for(self, group: str, version: str, plural_or_kind: str) -> ResourceInfo:
        await self.discovery_open.wait()
        if not self.served or plural_or_kind not in (self.resource.plural, self.resource.kind):
            raise NotFound(404, "NotFound", f"the server does not serve {plural_or_kind!r}")
        return self.resource

    async def request(
        self, method: str, path: str, *, query: Any = None, accept: str = "", **_: Any
    ) -> Any:
        query = dict(query or {})
        self.requests.append(("list", query))
        self.accepts.append(accept)
        await asyncio.sleep(0)
        if self.list_errors:
            raise self.list_errors.popleft()
        items = sorted(self.objects.values(), key=lambda o: o["metadata"]["name"])
        start = int(query.get("continue") or 0)
        limit = int(query.get("limit") or len(items) or 1)
        page = items[start : start + limit]
        more = start + limit < len(items)
        return {
            "metadata": {
                "resourceVersion": str(self.version),
                "continue": str(start + limit) if more else "",
            },
            "items": [
                {k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in page
            ],
        }

    @contextlib.asynccontextmanager
    async def stream(
        self, path: str, *, query: Any = None, accept: str = "", **_: Any
    ) -> AsyncIterator[Any]:
        query = dict(query or {})
        self.requests.append(("watch", query))
        self.accepts.append(accept)
        await asyncio.sleep(0)
        if self.watch_errors:
            raise self.watch_errors.popleft()
        initial = query.get("sendInitialEvents") == "true"
        if initial and not self.supports_watch_list:
            raise Invalid(422, "Invalid", "sendInitialEvents is forbidden for watch")
        watch = FakeWatch(query)
        self.watches.append(watch)
        if initial:
            for obj in list(self.objects.values()):
                watch.queue.put_nowait(_event("ADDED", obj))
            end = self._bookmark_object(**{"k8s.io/initial-events-end": "true"})
            watch.queue.put_nowait(_event("BOOKMARK", end))
        else:
            since = int(query["resourceVersion"])
            if since < self.compacted:
                status = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
                watch.queue.put_nowait(_event("ERROR", status))
            for event in self.history:
                if int(event["object"]["metadata"]["resourceVersion"]) > since:
                    watch.queue.put_nowait(event)
        try:
            yield watch.events()
        finally:
            watch.open = False


def _event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "object": obj}


def api_error(status: int, message: str = "") -> ApiError:
    return ApiError(status, "Failure", message or f"HTTP {status}")


class Recorder:
    """Handlers that write down what they are given, as (event, name) pairs."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.last: dict[str, Any] = {}

    def on_add(self, obj: dict[str, Any]) -> None:
        self._note("add", obj)

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._note("update", new)

    def on_delete(self, obj: Any) -> None:
        if isinstance(obj, dict):
            self._note("delete", obj)
        else:  # DeletedFinalStateUnknown
            self._note("tombstone", obj.obj)

    def _note(self, kind: str, obj: dict[str, Any]) -> None:
        self.events.append((kind, obj["metadata"]["name"]))
        self.last[obj["metadata"]["name"]] = obj

    def handlers(self) -> dict[str, Any]:
        return {"on_add": self.on_add, "on_update": self.on_update, "on_delete": self.on_delete}


async def eventually(check: Any, timeout: float = 5.0) -> None:
    """Poll ``check()`` until true; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.001)
