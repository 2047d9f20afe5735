"""Preconditions for writes to existing objects."""

from __future__ import annotations

from ome.client import delete_preconditions, fenced

BODY = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns"}}
READ = {"metadata": {"name": "a", "namespace": "ns", "uid": "u1", "resourceVersion": "7"}}


def test_a_write_names_the_version_it_was_made_over() -> None:
    body = fenced(BODY, READ)
    assert body["metadata"] == {"name": "a", "namespace": "ns", "resourceVersion": "7"}
    assert "resourceVersion" not in BODY["metadata"]  # the caller's body is left alone


def test_a_create_names_none() -> None:
    assert fenced(BODY, None) == BODY
    assert fenced({"status": {}}, {"metadata": {}}) == {"status": {}}


def test_a_patch_without_metadata_gains_it() -> None:
    assert fenced({"status": {"a": 1}}, READ) == {
        "status": {"a": 1},
        "metadata": {"resourceVersion": "7"},
    }


def test_a_delete_names_the_object_and_its_version() -> None:
    assert delete_preconditions(READ) == {"uid": "u1", "resourceVersion": "7"}
    assert delete_preconditions({"metadata": {"uid": "u1"}}) == {"uid": "u1"}
