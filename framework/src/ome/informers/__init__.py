"""Informers: caches of API objects kept current by list + watch, shared by controllers.

A :class:`SharedInformerFactory` makes one :class:`SharedInformer` per resource,
namespace and selectors. Each runs a reflector (paginated list or watch-list, then
watch; relist on 410; backoff on failure) into a :class:`Store` with indexes, and hands
every change to its handlers, each with its own buffer and task. The modules, top down:
``factory`` (sharing, watch budget), ``sync`` (waiting for caches), ``shared_informer``
(store first, then handlers; tombstones; resync), ``handlers`` (per-handler delivery),
``reflector`` (the list/watch loop), ``listwatch`` (its requests), ``errors`` (what
means relist, retry or fix), ``store`` (cache and indexes), ``compact_store`` (the
cache kept as JSON), ``typed`` (the cache read
as pydantic models), ``transform``, ``backoff``.

This layer knows nothing of OME; it talks to the API server only through ome.client.
"""

from ome.informers.backoff import Backoff
from ome.informers.compact_store import CompactStore
from ome.informers.errors import CacheSyncError
from ome.informers.factory import SharedInformerFactory, WatchBudgetExceeded
from ome.informers.handlers import DeletedFinalStateUnknown, Registration
from ome.informers.reflector import ReflectorOptions, ResourceRequest
from ome.informers.shared_informer import SharedInformer
from ome.informers.store import NAMESPACE_INDEX, IndexFunc, Store, object_key
from ome.informers.sync import wait_for_cache_sync
from ome.informers.transform import Transform, compact, strip_managed_fields
from ome.informers.typed import ModelStore

__all__ = [
    "NAMESPACE_INDEX",
    "Backoff",
    "CacheSyncError",
    "CompactStore",
    "DeletedFinalStateUnknown",
    "IndexFunc",
    "ModelStore",
    "ReflectorOptions",
    "Registration",
    "ResourceRequest",
    "SharedInformer",
    "SharedInformerFactory",
    "Store",
    "Transform",
    "WatchBudgetExceeded",
    "compact",
    "object_key",
    "strip_managed_fields",
    "wait_for_cache_sync",
]
