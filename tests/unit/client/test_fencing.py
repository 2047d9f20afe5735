"""Preconditions for writes to existing objects."""

from __future__ import annotations

from ome.client import delete_preconditions, fenced, newest_seen, version_of

BODY = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns"}}
READ = {"metadata": {"name": "a", "namespace": "ns", "uid": "u1", "resourceVersion": "7"}}


def test_a_write_names_the_version_it_was_made_over() -> None:
    body = fenced(BODY, version_of(READ))
    assert body["metadata"] == {"name": "a", "namespace": "ns", "resourceVersion": "7"}
    assert "resourceVersion" not in BODY["metadata"]  # the caller's body is left alone


def test_a_create_names_none() -> None:
    assert fenced(BODY, version_of(None)) == BODY
    assert fenced({"status": {}}, version_of({"metadata": {}})) == {"status": {}}


def test_a_patch_without_metadata_gains_it() -> None:
    assert fenced({"status": {"a": 1}}, "7") == {
        "status": {"a": 1},
        "metadata": {"resourceVersion": "7"},
    }


def test_a_delete_names_the_object_and_its_version() -> None:
    assert delete_preconditions(READ) == {"uid": "u1", "resourceVersion": "7"}
    assert delete_preconditions({"metadata": {"uid": "u1"}}) == {"uid": "u1"}


def test_a_write_goes_over_the_newest_version_seen() -> None:
    assert newest_seen("7", None) == "7"  # never written: the cache's
    assert newest_seen(None, None) is None  # nothing cached: a create
    # the cache still shows what the last write was made over: it lags that write
    assert newest_seen("7", ("7", "9")) == "9"
    # the cache has moved on (the write's echo, or someone else's change): the cache's
    assert newest_seen("9", ("7", "9")) == "9"
    assert newest_seen("12", ("7", "9")) == "12"
    # a second write before the cache caught up went over 9 and made 11; the cache still
    # shows 7, which the record of that write names: 11 is the newest
    assert newest_seen("7", ("7", "11")) == "11"
    # created by the last write, and the cache has not seen it: still a create's fence
    assert newest_seen(None, (None, "9")) is None
