"""The API requests of one informer: paginated lists and watches of one resource, for a
namespace (or all) and selectors, as whole objects or metadata only."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ome.client import Client, KubeObject, MutableKubeObject, ResourceInfo
from ome.client.errors import error_from_response
from ome.client.media import JSON

# PartialObjectMetadata through content negotiation; the trailing plain JSON lets a
# server that cannot convert answer anyway (the reflector then keeps only metadata).
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1," + JSON
METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1," + JSON

# The annotation on the bookmark that ends a watch-list's initial events.
INITIAL_EVENTS_END = "k8s.io/initial-events-end"

Event = tuple[str, MutableKubeObject]


@dataclass(frozen=True)
class ListPage:
    items: list[MutableKubeObject]
    resource_version: str
    continue_token: str


@dataclass(frozen=True)
class ListWatch:
    client: Client
    resource: ResourceInfo
    namespace: str | None
    label_selector: str | None
    field_selector: str | None
    metadata_only: bool

    @property
    def path(self) -> str:
        return self.resource.path(self.namespace)

    def _selectors(self) -> dict[str, str | int]:
        query: dict[str, str | int] = {}
        if self.label_selector:
            query["labelSelector"] = self.label_selector
        if self.field_selector:
            query["fieldSelector"] = self.field_selector
        return query

    async def list_page(
        self, *, resource_version: str, limit: int, continue_token: str = ""
    ) -> ListPage:
        """One page; ``resource_version`` "0" reads the server's cache, "" is a consistent
        read, anything else means "not older than" (so the watch cache may serve it)."""
        query = self._selectors()
        query["limit"] = limit
        if continue_token:
            query["continue"] = continue_token
        else:
            query["resourceVersion"] = resource_version
            if resource_version not in ("", "0"):
                query["resourceVersionMatch"] = "NotOlderThan"
        page = await self.client.request(
            "GET", self.path, query=query, accept=METADATA_LIST if self.metadata_only else JSON
        )
        metadata = page.get("metadata") or {}
        return ListPage(
            page.get("items") or [],
            str(metadata.get("resourceVersion") or ""),
            str(metadata.get("continue") or ""),
        )

    @contextlib.asynccontextmanager
    async def watch(
        self,
        *,
        resource_version: str,
        timeout_seconds: int,
        idle_timeout: float,
        keepalive: float | None,
        initial_events: bool = False,
    ) -> AsyncIterator[AsyncIterator[Event]]:
        """A watch from ``resource_version``, with bookmarks; ``initial_events`` makes it a
        watch-list (the current state first, as ADDED events, then a bookmark annotated
        with INITIAL_EVENTS_END). An ERROR event raises the ApiError its Status maps to
        (410 Expired: Gone)."""
        query = self._selectors()
        query.update(
            watch="true",
            allowWatchBookmarks="true",
            resourceVersion=resource_version,
            timeoutSeconds=timeout_seconds,
        )
        if initial_events:
            query.update(sendInitialEvents="true", resourceVersionMatch="NotOlderThan")
        async with self.client.stream(
            self.path,
            query=query,
            idle_timeout=idle_timeout,
            accept=METADATA if self.metadata_only else JSON,
            keepalive=keepalive,
        ) as lines:
            yield _events(lines)


async def _events(lines: AsyncIterator[KubeObject]) -> AsyncIterator[Event]:
    async for line in lines:
        kind, obj = line.get("type"), line.get("object")
        if kind == "ERROR":
            status = obj if isinstance(obj, dict) else {"message": repr(obj)}
            code = int(status.get("code") or 500)
            raise error_from_response(code, json.dumps(status).encode(), {})
        if not isinstance(obj, dict) or not isinstance(kind, str):
            raise ValueError(f"malformed watch event: {line!r:.200}")
        yield kind, obj
