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

The echo often arrives before the answer: the watch and the write travel on different
connections, and the event loop may read the event first. So a write goes through
:meth:`OwnWrites.write`, and while it is in flight the predicate holds back the events of
that object (when its watch can deliver them later, see
:class:`~ome.runtime.predicates.HoldingPredicate`). Once the answer is in, the held
events are delivered again through the watch's predicates: the echo is dropped there,
anything else passes. A write that fails releases its held events the same way.
Without that, about one in six children's echoes woke its service for a second,
redundant reconcile.

State: ``_versions`` maps (kind, namespace, name) to the version the last write there
returned, until its echo arrives; ``_in_flight`` maps the objects with a write in flight
to the events held for them, each with the delivery that hands it back to its watch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ome.client import Conflict, KubeObject
from ome.runtime.kinds import GVK
from ome.runtime.predicates import HoldingPredicate, Predicate

Key = tuple[GVK, str, str]
Delivery = Callable[[KubeObject], None]


def _key(kind: GVK, obj: KubeObject) -> Key:
    meta = obj.get("metadata", {})
    return kind, meta.get("namespace") or "", meta.get("name", "")


class OwnWrites:
    """The resourceVersions this controller's last writes produced, by object."""

    def __init__(self) -> None:
        self._versions: dict[Key, str] = {}
        self._in_flight: dict[Key, list[tuple[Delivery, KubeObject]]] = {}

    def __len__(self) -> int:
        return len(self._versions)

    async def write(
        self, kind: GVK, target: KubeObject, sending: Awaitable[KubeObject]
    ) -> KubeObject:
        """Await ``sending``, a write of the ``kind`` object named by ``target``'s
        metadata, and remember its answer; events of that object arriving meanwhile are
        held back until then. One write per object at a time: a controller's reconciles
        of one object never overlap."""
        key = _key(kind, target)
        self._in_flight.setdefault(key, [])
        written: KubeObject | None = None
        try:
            written = await sending
            return written
        except Conflict:
            # Refused as stale: the controller's cache is behind the server. The event
            # that brings it up to date is what its retry waits for, even when that is
            # the echo of one of its own earlier writes (after a relist it is the only
            # event there is), so it must not be dropped as one.
            self._versions.pop(key, None)
            raise
        finally:
            if written is not None:
                self.record(kind, written)
            for deliver, obj in self._in_flight.pop(key, ()):
                deliver(obj)

    def record(self, kind: GVK, written: KubeObject) -> None:
        """Remember ``written``, the API server's answer to a write of a ``kind`` object."""
        version = written.get("metadata", {}).get("resourceVersion")
        if version:
            self._versions[_key(kind, written)] = version

    def hold(self, kind: GVK, obj: KubeObject, deliver: Delivery) -> bool:
        """Hold ``obj``'s event back if a write of it is in flight; ``deliver`` hands it
        back once the write's answer is in."""
        held = self._in_flight.get(_key(kind, obj))
        if held is None:
            return False
        held.append((deliver, obj))
        return True

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


class _NotEchoes(HoldingPredicate):
    def __init__(self, writes: OwnWrites, kind: GVK) -> None:
        self._writes, self._kind = writes, kind
        self._deliver: Delivery | None = None

    def bind(self, deliver: Delivery) -> None:
        self._deliver = deliver

    def create(self, obj: KubeObject) -> bool:
        return not self._held_or_echo(obj)

    def update(self, old: KubeObject, new: KubeObject) -> bool:
        return not self._held_or_echo(new)

    def _held_or_echo(self, obj: KubeObject) -> bool:
        if self._deliver is not None and self._writes.hold(self._kind, obj, self._deliver):
            return True
        return self._writes.is_echo(self._kind, obj)

    def delete(self, obj: KubeObject) -> bool:
        self._writes.forget(self._kind, obj)
        return True
