"""The factory: one shared informer per (resource, namespace, selectors, representation),
however many controllers ask for it, all started and stopped together.

    factory = SharedInformerFactory(client)
    pods = factory.informer("", "v1", "pods")
    pods.add_event_handler(on_add=..., on_update=..., on_delete=...)
    await factory.start()
    await factory.wait_for_cache_sync(timeout=120)
    ...
    await factory.stop()

Each informer holds one watch connection for as long as it runs. The API client's
connection pool is shared with every other request, so the factory keeps watches to a
budget (by default three quarters of the pool) and refuses informers beyond it, rather
than let watches starve ordinary requests of connections.

Informers are shared by the name they were asked for. Asking for one resource by both
its plural and its kind gives one informer once discovery has resolved the first (after
start); before that, the two names make two informers, each correct but both paying.
"""

from __future__ import annotations

from collections.abc import Collection

from ome.client import Client
from ome.informers.reflector import ReflectorOptions, ResourceRequest
from ome.informers.shared_informer import SharedInformer
from ome.informers.sync import wait_for_cache_sync
from ome.informers.transform import Transform, strip_managed_fields

WATCH_SHARE_OF_POOL = 0.75


class WatchBudgetExceeded(RuntimeError):
    """More informers than the factory's watch budget."""


class SharedInformerFactory:
    """
    State:
        _informers  request (as asked, selectors normalised) -> its informer; two
                    requests map to one informer when discovery shows they alias.
        _started    start() was called: informers created afterwards start at once.
    """

    def __init__(
        self,
        client: Client,
        namespace: str | None = None,
        resync_period: float | None = None,
        transform: Transform | None = strip_managed_fields,
        *,
        options: ReflectorOptions | None = None,
        max_watches: int | None = None,
        compact_stores: Collection[str] = (),
    ) -> None:
        """``namespace`` None watches all namespaces; ``resync_period`` (seconds) is the
        handlers' default; ``transform`` runs on every object before it is cached (None
        keeps objects whole); ``max_watches`` defaults to WATCH_SHARE_OF_POOL of the
        client's connection pool; ``compact_stores`` names the resources, by kind or plural as
        they are asked for, whose caches keep objects as JSON (:class:`CompactStore`).
        Being the factory's choice rather than each asker's, it cannot depend on which
        controller asked first."""
        self.client = client
        self.namespace = namespace
        self.resync_period = resync_period
        self.transform = transform
        self.options = options or ReflectorOptions()
        pool = int(client.configuration.connection_pool_maxsize)
        self.max_watches = max_watches or max(1, int(pool * WATCH_SHARE_OF_POOL))
        self.compact_stores = frozenset(compact_stores)
        self._informers: dict[ResourceRequest, SharedInformer] = {}
        self._started = False

    @property
    def informers(self) -> list[SharedInformer]:
        """Every distinct informer, in creation order."""
        return list({id(i): i for i in self._informers.values()}.values())

    def informer(
        self,
        group: str,
        version: str,
        plural_or_kind: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        metadata_only: bool = False,
        namespace: str | None = None,
    ) -> SharedInformer:
        """The shared informer for a resource, by plural ("deployments") or kind
        ("Deployment"); metadata_only caches PartialObjectMetadata (apiVersion, kind and
        metadata) instead of whole objects. ``namespace`` watches that namespace instead
        of the factory's (an operator watching its users' namespace still reads its own
        configuration from its own)."""
        request = ResourceRequest(
            group,
            version,
            plural_or_kind,
            namespace or self.namespace,
            normalize_selector(label_selector),
            normalize_selector(field_selector),
            metadata_only,
        )
        found = self._informers.get(request) or self._alias_of(request)
        if found is None:
            if len(self.informers) >= self.max_watches:
                raise WatchBudgetExceeded(
                    f"cannot watch {request}: the factory already runs {self.max_watches} "
                    "watches (max_watches); each holds a connection of the client's pool"
                )
            found = SharedInformer(
                self.client,
                request,
                transform=self.transform,
                resync_period=self.resync_period,
                options=self.options,
                compact_store=plural_or_kind in self.compact_stores,
            )
            if self._started:
                found.start()
        self._informers[request] = found
        return found

    def _alias_of(self, request: ResourceRequest) -> SharedInformer | None:
        """An informer already resolved to the resource ``request`` names another way."""
        for known, informer in self._informers.items():
            resource = informer.resource
            if (
                resource is not None
                and (resource.group, resource.version) == (request.group, request.version)
                and request.plural_or_kind in (resource.plural, resource.kind)
                and (known.namespace, known.label_selector, known.field_selector)
                == (request.namespace, request.label_selector, request.field_selector)
                and known.metadata_only == request.metadata_only
            ):
                return informer
        return None

    async def start(self) -> None:
        """Start every informer not running yet (later ones start as they are made)."""
        self._started = True
        for informer in self.informers:
            informer.start()

    async def wait_for_cache_sync(self, timeout: float | None = 120.0) -> None:
        """Wait until every informer synced; raises CacheSyncError with the reasons (see
        :mod:`ome.informers.sync`)."""
        if not self._started:
            raise RuntimeError("start the factory before waiting for its caches")
        await wait_for_cache_sync(self.informers, timeout)

    async def stop(self) -> None:
        """Stop every informer and wait for all their tasks to end."""
        self._started = False
        for informer in self.informers:
            await informer.stop()


def normalize_selector(selector: str | None) -> str | None:
    """A selector's requirements, trimmed and sorted: the server ANDs them, so order and
    spacing do not change what it selects, and should not split an informer in two."""
    if not selector or not selector.strip():
        return None
    requirements: list[str] = []
    depth = 0
    current: list[str] = []
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            requirements.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    requirements.append("".join(current).strip())
    return ",".join(sorted(requirements))
