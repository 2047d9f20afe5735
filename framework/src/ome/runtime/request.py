"""What a reconcile is asked to do: bring one object, by key, to its desired state."""

from __future__ import annotations

from typing import NamedTuple

from ome.client import KubeObject


class Request(NamedTuple):
    """The key of the object to reconcile; ``namespace`` is '' for cluster-scoped kinds."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @classmethod
    def for_object(cls, obj: KubeObject) -> Request:
        meta = obj["metadata"]
        return cls(meta.get("namespace") or "", meta["name"])


class Result(NamedTuple):
    """What a reconcile asks for next: nothing (``Result()``), or to run again after
    ``requeue_after`` seconds even if nothing changes."""

    requeue_after: float = 0.0
