"""Which services use which runtime, and which cannot be served: what a change to a
runtime or a model must wake.

The runtime a service selected is known only after a reconcile (auto-selection), so it is
kept here, in memory: after a restart every service is reconciled once anyway, which
fills it again. Services that failed are woken by any model or runtime event in their
scope, so that the object they were missing (or a fix to it) brings them back; services
blocked by a child another owner controls are woken by any event of that object (its
deletion by its owner's garbage collection, most often)."""

from __future__ import annotations

from collections.abc import Iterable

from ome.runtime import Request

Child = tuple[str, str]
"""A child object: its kind and ``namespace/name``."""


def split(key: str) -> Request:
    namespace, _, name = key.rpartition("/")
    return Request(namespace, name)


class Tracker:
    def __init__(self) -> None:
        self._runtime_of: dict[str, str] = {}
        self._failed: dict[str, str] = {}
        self._blocked: dict[str, frozenset[Child]] = {}

    def serving(self, key: str, runtime: str) -> None:
        self._runtime_of[key] = runtime
        self._failed.pop(key, None)
        self._blocked.pop(key, None)

    def failing(self, key: str, reason: str) -> None:
        self._failed[key] = reason
        self._runtime_of.pop(key, None)
        self._blocked.pop(key, None)

    def blocked(self, key: str, reason: str, children: Iterable[Child]) -> None:
        """The service failed because others control ``children`` (kind, namespace/name)."""
        self.failing(key, reason)
        self._blocked[key] = frozenset(children)

    def forget(self, key: str) -> None:
        self._runtime_of.pop(key, None)
        self._failed.pop(key, None)
        self._blocked.pop(key, None)

    def waiting_for(self, child: Child) -> list[Request]:
        """Services blocked by ``child``."""
        return [split(key) for key, children in self._blocked.items() if child in children]

    def using_runtime(self, name: str, namespace: str | None) -> list[Request]:
        """Services that selected the runtime ``name``: in ``namespace`` for a
        ServingRuntime, anywhere for a ClusterServingRuntime (None)."""
        return [
            split(key)
            for key, runtime in self._runtime_of.items()
            if runtime == name and (namespace is None or split(key).namespace == namespace)
        ]

    def failed(self, namespace: str | None = None) -> list[Request]:
        return [
            split(key)
            for key in self._failed
            if namespace is None or split(key).namespace == namespace
        ]

    def failed_keys(self) -> Iterable[str]:
        return tuple(self._failed)
