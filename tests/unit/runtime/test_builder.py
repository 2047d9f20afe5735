"""What the builder asks the manager for and what it registers on each source."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ome.client import KubeObject
from ome.informers import DeletedFinalStateUnknown
from ome.runtime import Controller, Request, controller_managed_by
from ome.runtime.handlers import EventHandler
from ome.runtime.kinds import GVK
from ome.runtime.predicates import predicate

NODE = GVK("", "v1", "Node")
CONFIGMAP = GVK("", "v1", "ConfigMap")
WIDGET = GVK("example.com", "v1", "Widget")


class FakeRegistration:
    has_synced = True

    def remove(self) -> None:
        return None


@dataclass
class FakeSource:
    """An informer that records its handlers, so a test can deliver events."""

    on_add: list[Callable[[KubeObject], None]] = field(default_factory=list)
    on_update: list[Callable[[KubeObject, KubeObject], None]] = field(default_factory=list)

    def add_event_handler(
        self,
        on_add: Callable[[KubeObject], None] | None = None,
        on_update: Callable[[KubeObject, KubeObject], None] | None = None,
        on_delete: Callable[[KubeObject | DeletedFinalStateUnknown], None] | None = None,
    ) -> FakeRegistration:
        assert on_add is not None
        assert on_update is not None
        self.on_add.append(on_add)
        self.on_update.append(on_update)
        return FakeRegistration()

    def add(self, obj: KubeObject) -> None:
        for handler in self.on_add:
            handler(obj)


class RecordingManager:
    """Records the informers requested; enough of a Manager for the builder."""

    workqueue_metrics = None
    metrics = None

    def __init__(self, namespaced: dict[GVK, bool] | None = None) -> None:
        self.requested: list[tuple[GVK, dict[str, Any]]] = []
        self.sources: dict[tuple[GVK, bool], FakeSource] = {}
        self.controllers: list[Controller] = []
        self.namespaced = namespaced or {}

    def informer(self, gvk: GVK, **selectors: Any) -> FakeSource:
        self.requested.append((gvk, selectors))
        return self.sources.setdefault((gvk, selectors["metadata_only"]), FakeSource())

    def scope(self, gvk: GVK) -> Callable[[], bool]:
        return lambda: self.namespaced.get(gvk, True)

    def add_controller(self, controller: Controller) -> None:
        self.controllers.append(controller)


async def nothing(_: Request) -> None:
    return None


def test_the_target_is_watched_through_a_full_informer_by_default() -> None:
    manager = RecordingManager()
    controller_managed_by(manager).for_(NODE).owns(CONFIGMAP).complete(nothing)  # type: ignore[arg-type]
    assert manager.requested == [
        (NODE, {"metadata_only": False}),
        (CONFIGMAP, {"metadata_only": False}),
    ]


def test_metadata_only_target_shares_the_metadata_informer() -> None:
    """A reconciler reading the metadata-only cache must be fed by that same informer,
    or it can be woken by a deletion its cache has not seen yet."""
    manager = RecordingManager()
    controller_managed_by(manager).for_(NODE, metadata_only=True).complete(nothing)  # type: ignore[arg-type]
    assert manager.requested == [(NODE, {"metadata_only": True})]
    assert [c.name for c in manager.controllers] == ["node"]


def test_a_given_informer_is_watched_as_it_is_with_any_handler() -> None:
    """A filtered informer made by the caller is not replaced by one of the whole kind,
    and a custom handler decides what it wakes."""

    class Everything(EventHandler):
        def requests(self, obj: KubeObject) -> Iterable[Request]:
            return (Request("", "all"),)

    manager = RecordingManager()
    filtered = FakeSource()
    controller = (
        controller_managed_by(manager).for_(NODE).watches(filtered, Everything()).complete(nothing)  # type: ignore[arg-type]
    )
    assert manager.requested == [(NODE, {"metadata_only": False})]
    filtered.add({"metadata": {"name": "cm", "namespace": "a"}})
    assert len(controller.queue) == 1


def test_a_mapping_function_is_a_handler_and_event_filters_apply_to_every_watch() -> None:
    manager = RecordingManager()
    configmaps = FakeSource()
    controller = (
        controller_managed_by(manager)
        .for_(NODE)
        .watches(configmaps, lambda obj: (Request("", obj["metadata"]["name"]),))
        .with_event_filter(predicate(lambda obj: obj["metadata"]["name"] != "skip"))
        .named("nodes")
        .complete(nothing)  # type: ignore[arg-type]
    )
    configmaps.add({"metadata": {"name": "skip"}})
    assert len(controller.queue) == 0
    configmaps.add({"metadata": {"name": "n1"}})
    manager.sources[(NODE, False)].add({"metadata": {"name": "skip"}})
    assert len(controller.queue) == 1
    assert controller.name == "nodes"


@pytest.mark.parametrize(("namespaced", "expected"), [(True, "ns"), (False, "")])
async def test_owners_are_named_in_the_scope_discovery_gives(
    namespaced: bool, expected: str
) -> None:
    """An owned object wakes its owner in the owner's namespace, or in none when the
    owner's kind is cluster-scoped (what discovery says, not what the caller guessed)."""
    manager = RecordingManager({WIDGET: namespaced})
    controller = (
        controller_managed_by(manager).for_(WIDGET).owns(CONFIGMAP).complete(nothing)  # type: ignore[arg-type]
    )
    reference = {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "controller": True}
    child = {"metadata": {"name": "c", "namespace": "ns", "ownerReferences": [reference]}}
    manager.sources[(CONFIGMAP, False)].add(child)
    assert len(controller.queue) == 1
    key, _ = await controller.queue.get()
    assert key == Request(expected, "w")


def test_complete_without_a_target_says_what_is_missing() -> None:
    with pytest.raises(ValueError, match="for_"):
        controller_managed_by(RecordingManager()).named("x").complete(nothing)  # type: ignore[arg-type]


def test_a_controller_has_one_target() -> None:
    builder = controller_managed_by(RecordingManager()).for_(NODE)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one"):
        builder.for_(CONFIGMAP)
