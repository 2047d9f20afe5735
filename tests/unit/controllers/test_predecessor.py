"""A child's controller is a deleted predecessor when it names an InferenceService of the
service's name with another UID."""

from __future__ import annotations

from ome.controllers.inferenceservice.reconciler import is_predecessor

SERVICE = {"metadata": {"name": "chat", "namespace": "team", "uid": "new"}}


def reference(**changes: str) -> dict[str, str]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "name": "chat",
        "uid": "old",
        **changes,
    }


def test_the_same_name_with_another_uid_is_a_predecessor() -> None:
    assert is_predecessor(reference(), SERVICE)


def test_the_service_itself_another_name_or_another_kind_is_not() -> None:
    assert not is_predecessor(reference(uid="new"), SERVICE)
    assert not is_predecessor(reference(name="other"), SERVICE)
    assert not is_predecessor(reference(kind="Deployment", apiVersion="apps/v1"), SERVICE)
    assert not is_predecessor(reference(apiVersion="example.com/v1"), SERVICE)
