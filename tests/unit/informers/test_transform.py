"""Transforms: managedFields stripped; compacting keeps the object equal while sharing
field names and repeated short strings between objects."""

from __future__ import annotations

import json
import sys
from typing import Any

from ome.informers import compact, strip_managed_fields
from ome.informers.factory import normalize_selector

WIRE = json.dumps(
    {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "llama",
            "namespace": "serving",
            "uid": "6f1c-unique",
            "resourceVersion": "1234",
            "labels": {"app": "llama"},
            "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
        },
        "spec": {"model": {"name": "llama-3"}, "engine": {"args": ["--tp", "8"]}, "x": 1.5},
    }
)


def decoded() -> dict[str, Any]:
    return json.loads(WIRE)  # type: ignore[no-any-return]


def test_strip_managed_fields_drops_only_them() -> None:
    obj = strip_managed_fields(decoded())
    assert "managedFields" not in obj["metadata"]
    assert obj["metadata"]["labels"] == {"app": "llama"}
    assert strip_managed_fields({"kind": "Odd"}) == {"kind": "Odd"}


def test_compact_is_equal_and_shares_strings_across_objects() -> None:
    first, second = compact(decoded()), compact(decoded())
    assert first == decoded()
    key_a = next(k for k in first["spec"] if k == "model")
    key_b = next(k for k in second["spec"] if k == "model")
    assert key_a is key_b  # one field name for every object
    assert first["metadata"]["namespace"] is second["metadata"]["namespace"]
    assert first["spec"]["engine"]["args"][0] is second["spec"]["engine"]["args"][0]


def test_compact_leaves_unique_metadata_and_long_strings_alone() -> None:
    obj = decoded()
    obj["spec"]["blob"] = "z" * 65
    compacted = compact(obj)
    assert compacted["metadata"]["uid"] is obj["metadata"]["uid"]
    assert compacted["spec"]["blob"] is obj["spec"]["blob"]
    assert sys.intern(compacted["metadata"]["namespace"]) is compacted["metadata"]["namespace"]


def test_selectors_are_normalised_so_one_informer_serves_all_spellings() -> None:
    assert normalize_selector(None) is None
    assert normalize_selector("  ") is None
    assert normalize_selector("b=2, a=1") == normalize_selector("a=1,b=2") == "a=1,b=2"
    assert normalize_selector("env in (a,b), tier") == "env in (a,b),tier"
