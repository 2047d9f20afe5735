"""The patch between two documents: minimal, escaped, and it reproduces the target."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ome.webhooks.jsonpatch import diff, escape


def apply(document: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902 add/remove/replace on object members (all the diff emits)."""
    for operation in operations:
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in operation["path"].split("/")]
        if len(tokens) == 1:
            document = copy.deepcopy(operation["value"])
            continue
        parent = document
        for token in tokens[1:-1]:
            parent = parent[token]
        if operation["op"] == "remove":
            del parent[tokens[-1]]
        else:
            assert operation["op"] == "replace" or tokens[-1] not in parent
            parent[tokens[-1]] = copy.deepcopy(operation["value"])
    return document


def test_keys_are_escaped_as_pointer_tokens() -> None:
    assert escape("ome.io/deploymentMode") == "ome.io~1deploymentMode"
    assert escape("a~b") == "a~0b"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({}, {}),
        ({"a": 1}, {"a": 1, "b": {"c": [1]}}),
        ({"metadata": {"annotations": {"x/y": "1"}}}, {"metadata": {"annotations": {"x/y": "2"}}}),
        ({"a": [1, 2]}, {"a": [2]}),
        ({"a": 1, "b": 2}, {"b": 2}),
        ({"a": 1}, {"a": True}),
        ({"a": None}, {"a": 3}),
        ({"a": {"b": 1}}, {"a": "text"}),
        ({"a": 1}, [1]),
    ],
)
def test_the_patch_turns_the_old_document_into_the_new(old: Any, new: Any) -> None:
    operations = diff(old, new)
    assert apply(copy.deepcopy(old), operations) == new


def test_unchanged_fields_are_not_in_the_patch() -> None:
    old = {"spec": {"engine": {"runner": {"image": "x"}}, "model": {"name": "m"}}}
    new = copy.deepcopy(old)
    new["spec"]["engine"]["minReplicas"] = 1
    assert diff(old, new) == [{"op": "add", "path": "/spec/engine/minReplicas", "value": 1}]
