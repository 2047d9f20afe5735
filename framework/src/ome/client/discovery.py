"""Resource mapping through the API server's discovery documents, cached per group and
version. A kind the cache does not know triggers one fresh read of its group-version
before giving up, so CRDs installed after start are found."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote

from ome.client.errors import NotFound
from ome.client.objects import KubeObject
from ome.client.rest import RESTClient


@dataclass(frozen=True)
class ResourceInfo:
    """One API resource: where it lives and how to address it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    subresources: frozenset[str] = frozenset()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str = ""
    ) -> str:
        """The URL path of the collection (no name) or of one object, for ``namespace``
        (ignored for cluster-scoped resources; None lists across all namespaces)."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{quote(name, safe='')}"
            if subresource:
                base += f"/{subresource}"
        return base


def _group_version_path(group: str, version: str) -> str:
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def parse_resource_list(group: str, version: str, document: KubeObject) -> list[ResourceInfo]:
    """The top-level resources of a discovery document, with their subresources."""
    entries = document.get("resources") or []
    subresources: dict[str, set[str]] = {}
    for entry in entries:
        plural, _, sub = str(entry.get("name", "")).partition("/")
        if sub:
            subresources.setdefault(plural, set()).add(sub)
    return [
        ResourceInfo(
            group,
            version,
            entry["name"],
            entry["kind"],
            bool(entry.get("namespaced")),
            frozenset(subresources.get(entry["name"], ())),
        )
        for entry in entries
        if "/" not in entry.get("name", "")
    ]


class RESTMapper:
    """Maps (group, version, kind or plural) to a :class:`ResourceInfo`."""

    def __init__(self, client: RESTClient) -> None:
        self.client = client
        self._cache: dict[tuple[str, str], list[ResourceInfo]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def _read(self, group: str, version: str) -> list[ResourceInfo]:
        key = (group, version)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            try:
                document = await self.client.get(_group_version_path(group, version))
            except NotFound:
                document = {}
            self._cache[key] = parse_resource_list(group, version, document)
            return self._cache[key]

    async def resource_for(self, group: str, version: str, plural_or_kind: str) -> ResourceInfo:
        found = _find(self._cache.get((group, version)) or [], plural_or_kind)
        if found is None:
            found = _find(await self._read(group, version), plural_or_kind)
        if found is not None:
            return found
        api_version = f"{group}/{version}" if group else version
        raise NotFound(
            404,
            "NotFound",
            f"the server does not serve {plural_or_kind!r} in {api_version} "
            "(is its CRD installed?)",
        )

    def cached(self, group: str, version: str, plural_or_kind: str) -> ResourceInfo | None:
        """What discovery said of the resource so far, without asking the server."""
        return _find(self._cache.get((group, version)) or [], plural_or_kind)

    def invalidate(self) -> None:
        self._cache.clear()


def _find(resources: list[ResourceInfo], plural_or_kind: str) -> ResourceInfo | None:
    return next((r for r in resources if plural_or_kind in (r.plural, r.kind)), None)
