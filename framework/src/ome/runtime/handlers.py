"""Event handlers: which Requests an event on a watched object produces."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ome.client import KubeObject
from ome.runtime.request import Request

MapFunc = Callable[[KubeObject], Iterable[Request]]


class EventHandler:
    """Maps one object to the requests it should wake; updates wake old and new."""

    def requests(self, obj: KubeObject) -> Iterable[Request]:
        raise NotImplementedError

    def for_update(self, old: KubeObject, new: KubeObject) -> set[Request]:
        return {*self.requests(old), *self.requests(new)}


class EnqueueRequestForObject(EventHandler):
    """The object itself (``For``)."""

    def requests(self, obj: KubeObject) -> Iterable[Request]:
        return (Request.for_object(obj),)


class EnqueueRequestForOwner(EventHandler):
    """The owner of the object (``Owns``): by default only its controller owner, of the
    given API group and kind. An update that moves the object between owners wakes both."""

    def __init__(
        self,
        group: str,
        kind: str,
        *,
        only_controller: bool = True,
        owner_namespaced: bool | Callable[[], bool] = True,
    ) -> None:
        """``owner_namespaced`` may be a function asked at each event (the builder's,
        answering from discovery)."""
        self.group = group
        self.kind = kind
        self.only_controller = only_controller
        self.owner_namespaced = owner_namespaced

    def requests(self, obj: KubeObject) -> Iterable[Request]:
        meta = obj.get("metadata", {})
        for reference in meta.get("ownerReferences") or ():
            if self.only_controller and not reference.get("controller"):
                continue
            api_version = reference.get("apiVersion", "")
            group = api_version.rpartition("/")[0] if "/" in api_version else ""
            if group == self.group and reference.get("kind") == self.kind:
                namespace = meta.get("namespace") or "" if self._owner_namespaced() else ""
                yield Request(namespace, reference["name"])

    def _owner_namespaced(self) -> bool:
        scope = self.owner_namespaced
        return scope() if callable(scope) else scope


class EnqueueRequestsFromMapFunc(EventHandler):
    """Whatever a mapping function says (``Watches``): e.g. every service using a runtime."""

    def __init__(self, map_func: MapFunc) -> None:
        self.map_func = map_func

    def requests(self, obj: KubeObject) -> Iterable[Request]:
        return self.map_func(obj)
