"""A controller's own writes, remembered so that their echoes do not wake it again.

Every write a reconcile makes (a finalizer patch, a child applied, a status written)
comes back through the informers as a watch event, and that event queues the object
again: a second reconcile that finds what the first one just left. Where the reconcile
already acts on what the API server answered to its writes, that second pass is waste;
for a controller that applies a dozen children per object it is most of the work.

:class:`OwnWrites` keeps, per object, the resourceVersion the last write returned, and
its :meth:`OwnWrites.not_echoes` predicate drops the create or update event that carries
exactly that version. Any other version (someone else's change, or one made between the
read and the write) still passes, as do deletions, so nothing anyone else does is missed.
An entry is dropped when its echo arrives, when the object is deleted, or when a newer
write replaces it; the memory therefore holds at most one version per object written.
"""

from __future__ import annotations

from ome.client import KubeObject
from ome.runtime.kinds import GVK
from ome.runtime.predicates import Predicate


def _key(kind: GVK, obj: KubeObject) -> tuple[GVK, str, str]:
    meta = obj.get("metadata", {})
    return kind, meta.get("namespace") or "", meta.get("name", "")


class OwnWrites:
    """The resourceVersions this controller's last writes produced, by object."""

    def __init__(self) -> None:
        self._versions: dict[tuple[GVK, str, str], str] = {}

    def __len__(self) -> int:
        return len(self._versions)

    def record(self, kind: GVK, written: KubeObject) -> None:
        """Remember ``written``, the API server's answer to a write of a ``kind`` object."""
        version = written.get("metadata", {}).get("resourceVersion")
        if version:
            self._versions[_key(kind, written)] = version

    def is_echo(self, kind: GVK, obj: KubeObject) -> bool:
        """Whether ``obj`` is the object exactly as this controller last wrote it; the
        answer is given once per write."""
        key = _key(kind, obj)
        version = obj.get("metadata", {}).get("resourceVersion")
        if version is None or self._versions.get(key) != version:
            return False
        del self._versions[key]
        return True

    def not_echoes(self, kind: GVK) -> Predicate:
        """A predicate for the watch of ``kind``: every event but the echoes of own writes."""
        return _NotEchoes(self, kind)

    def forget(self, kind: GVK, obj: KubeObject) -> None:
        self._versions.pop(_key(kind, obj), None)


class _NotEchoes(Predicate):
    def __init__(self, writes: OwnWrites, kind: GVK) -> None:
        self._writes, self._kind = writes, kind

    def create(self, obj: KubeObject) -> bool:
        return not self._writes.is_echo(self._kind, obj)

    def update(self, old: KubeObject, new: KubeObject) -> bool:
        return not self._writes.is_echo(self._kind, new)

    def delete(self, obj: KubeObject) -> bool:
        self._writes.forget(self._kind, obj)
        return True
