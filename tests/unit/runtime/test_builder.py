"""Which informers the builder asks the manager for."""

from __future__ import annotations

from typing import Any

from ome.runtime import Controller, Request
from ome.runtime.kinds import GVK

NODE = GVK("", "v1", "Node")
CONFIGMAP = GVK("", "v1", "ConfigMap")


class FakeSource:
    def add_event_handler(self, **_: Any) -> None:
        return None


class RecordingManager:
    """Records the informers requested; enough of a Manager for ``complete``."""

    workqueue_metrics = None
    metrics = None

    def __init__(self) -> None:
        self.requested: list[tuple[GVK, dict[str, Any]]] = []
        self.controllers: list[Controller] = []

    def informer(self, gvk: GVK, **selectors: Any) -> FakeSource:
        self.requested.append((gvk, selectors))
        return FakeSource()

    def add_controller(self, controller: Controller) -> None:
        self.controllers.append(controller)


async def nothing(_: Request) -> None:
    return None


def test_the_target_is_watched_through_a_full_informer_by_default() -> None:
    manager = RecordingManager()
    Controller.for_(NODE, namespaced=False).owns(CONFIGMAP).complete(manager, nothing)  # type: ignore[arg-type]
    assert manager.requested == [
        (NODE, {"metadata_only": False}),
        (CONFIGMAP, {"metadata_only": False}),
    ]


def test_metadata_only_target_shares_the_metadata_informer() -> None:
    """A reconciler reading the metadata-only cache must be fed by that same informer,
    or it can be woken by a deletion its cache has not seen yet."""
    manager = RecordingManager()
    Controller.for_(NODE, namespaced=False, metadata_only=True).complete(manager, nothing)  # type: ignore[arg-type]
    assert manager.requested == [(NODE, {"metadata_only": True})]
    assert [c.name for c in manager.controllers] == ["node"]
