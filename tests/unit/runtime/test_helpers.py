"""Conditions, owner references, finalizers, predicates and event handlers."""

from __future__ import annotations

from typing import Any

import pytest

from ome.runtime import conditions, handlers, ownership, predicates
from ome.runtime.request import Request


def obj(name: str = "a", namespace: str = "ns", **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", **metadata},
    }


class TestConditions:
    def test_new_condition_gets_a_transition_time(self) -> None:
        found: list[dict[str, Any]] = []
        new = {"type": "Ready", "status": "False", "reason": "Waiting", "message": "m"}
        assert conditions.set_status_condition(found, new, now="T1")
        assert found == [new | {"lastTransitionTime": "T1"}]

    def test_same_status_keeps_the_transition_time(self) -> None:
        found = [{"type": "Ready", "status": "False", "reason": "A", "lastTransitionTime": "T1"}]
        new = {"type": "Ready", "status": "False", "reason": "B", "message": "m"}
        assert conditions.set_status_condition(found, new, now="T2")
        assert found[0]["lastTransitionTime"] == "T1"
        assert found[0]["reason"] == "B"

    def test_status_change_moves_the_transition_time(self) -> None:
        found = [{"type": "Ready", "status": "False", "reason": "A", "lastTransitionTime": "T1"}]
        assert conditions.set_status_condition(
            found, {"type": "Ready", "status": "True", "reason": "A"}, now="T2"
        )
        assert found[0]["lastTransitionTime"] == "T2"

    def test_nothing_new_reports_no_change(self) -> None:
        found = [{"type": "Ready", "status": "True", "reason": "A", "lastTransitionTime": "T1"}]
        assert not conditions.set_status_condition(
            found, {"type": "Ready", "status": "True", "reason": "A"}, now="T2"
        )

    @pytest.mark.parametrize(
        ("condition", "field"),
        [
            ({"type": "Ready", "status": "Maybe", "reason": "A"}, "status"),
            ({"type": "Ready", "status": "True", "reason": "not ok"}, "reason"),
            ({"type": "Ready", "status": "True", "reason": ""}, "reason"),
            ({"type": "bad type!", "status": "True", "reason": "A"}, "type"),
            (
                {"type": "Ready", "status": "True", "reason": "A", "observedGeneration": -1},
                "observedGeneration",
            ),
        ],
    )
    def test_invalid_conditions_are_refused(self, condition: dict[str, Any], field: str) -> None:
        with pytest.raises(ValueError, match=field):
            conditions.set_status_condition([], condition)

    def test_find_and_remove(self) -> None:
        found = [{"type": "Ready", "status": "True", "reason": "A"}]
        assert conditions.is_status_condition_true(found, "Ready")
        assert conditions.remove_status_condition(found, "Ready")
        assert not conditions.remove_status_condition(found, "Ready")


class TestOwnership:
    def test_controller_reference(self) -> None:
        child = obj("child")
        ownership.set_controller_reference(obj("owner"), child)
        ownership.set_controller_reference(obj("owner"), child)  # idempotent
        assert child["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "ome.io/v1beta1",
                "kind": "InferenceService",
                "name": "owner",
                "uid": "uid-owner",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        assert ownership.controller_of(child) == child["metadata"]["ownerReferences"][0]

    def test_a_second_controller_is_refused(self) -> None:
        child = obj("child")
        ownership.set_controller_reference(obj("one"), child)
        with pytest.raises(ownership.AlreadyOwnedError, match="already controlled by"):
            ownership.set_controller_reference(obj("two"), child)

    def test_cross_namespace_and_cluster_scoped_children_are_refused(self) -> None:
        with pytest.raises(ValueError, match="another namespace"):
            ownership.set_controller_reference(obj("owner"), obj("child", namespace="other"))
        with pytest.raises(ValueError, match="cluster-scoped"):
            ownership.set_controller_reference(obj("owner"), obj("child", namespace=""))

    def test_cluster_scoped_owner_of_a_namespaced_child_is_fine(self) -> None:
        child = obj("child")
        ownership.set_controller_reference(obj("owner", namespace=""), child)
        assert ownership.controller_of(child) is not None

    def test_finalizers(self) -> None:
        item = obj()
        assert ownership.add_finalizer(item, "ome.io/cleanup")
        assert not ownership.add_finalizer(item, "ome.io/cleanup")
        assert ownership.has_finalizer(item, "ome.io/cleanup")
        assert ownership.remove_finalizer(item, "ome.io/cleanup")
        assert not ownership.remove_finalizer(item, "ome.io/cleanup")
        assert item["metadata"]["finalizers"] == []


class TestPredicates:
    def test_generation_changed_ignores_status_writes(self) -> None:
        check = predicates.generation_changed()
        assert not check.update(obj(generation=1), obj(generation=1, resourceVersion="2"))
        assert check.update(obj(generation=1), obj(generation=2))
        assert check.create(obj())
        assert check.delete(obj())

    def test_resource_version_labels_annotations(self) -> None:
        assert not predicates.resource_version_changed().update(
            obj(resourceVersion="1"), obj(resourceVersion="1")
        )
        assert predicates.labels_changed().update(obj(labels={"a": "1"}), obj(labels={"a": "2"}))
        assert not predicates.annotations_changed().update(obj(), obj(annotations={}))

    def test_label_selector_and_combinators(self) -> None:
        blue = predicates.label_selector({"color": "blue"})
        assert blue.create(obj(labels={"color": "blue", "x": "y"}))
        assert not blue.create(obj(labels={"color": "red"}))
        assert (~blue).create(obj())
        both = blue & predicates.generation_changed()
        assert not both.update(obj(labels={"color": "blue"}), obj(labels={"color": "blue"}))
        either = predicates.or_(blue, predicates.generation_changed())
        assert either.update(obj(generation=1), obj(generation=2))
        assert predicates.and_().create(obj())


class TestHandlers:
    def test_for_object(self) -> None:
        assert list(handlers.EnqueueRequestForObject().requests(obj("x"))) == [Request("ns", "x")]

    def test_for_owner_wakes_old_and_new_controller(self) -> None:
        handler = handlers.EnqueueRequestForOwner("ome.io", "InferenceService")
        old, new = obj("child"), obj("child")
        ownership.set_controller_reference(obj("first"), old)
        ownership.set_controller_reference(obj("second"), new)
        assert handler.for_update(old, new) == {Request("ns", "first"), Request("ns", "second")}

    def test_for_owner_skips_other_kinds_and_non_controllers(self) -> None:
        handler = handlers.EnqueueRequestForOwner("apps", "Deployment")
        child = obj("child")
        ownership.set_controller_reference(obj("owner"), child)
        assert list(handler.requests(child)) == []
        child["metadata"]["ownerReferences"][0]["controller"] = False
        loose = handlers.EnqueueRequestForOwner("ome.io", "InferenceService", only_controller=False)
        assert list(loose.requests(child)) == [Request("ns", "owner")]

    def test_map_func(self) -> None:
        handler = handlers.EnqueueRequestsFromMapFunc(lambda o: [Request("a", "b")])
        assert list(handler.requests(obj())) == [Request("a", "b")]
        assert str(Request("", "cluster-wide")) == "cluster-wide"
