from __future__ import annotations

from typing import Any

import pytest

from ome.agent.eligibility import (
    InvalidNodeSelectorError,
    is_eligible,
    matches_node_affinity,
    matches_node_selector,
)

NODE = "gpu-node-1"
LABELS = {
    "nvidia.com/gpu.product": "H100",
    "node.kubernetes.io/instance-type": "BM.GPU.H100.8",
    "gpu-count": "8",
    "zone": "a",
    "empty": "",
}


def required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": operator, "values": list(values)}


def labels_term(*expressions: dict[str, Any]) -> dict[str, Any]:
    return {"matchExpressions": list(expressions)}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, True),
        ({}, True),
        ({"zone": "a"}, True),
        ({"zone": "a", "gpu-count": "8"}, True),
        ({"zone": "b"}, False),
        ({"missing": ""}, False),
        ({"empty": ""}, True),
    ],
)
def test_node_selector(selector: dict[str, str] | None, expected: bool) -> None:
    assert matches_node_selector(selector, LABELS) is expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (expr("zone", "In", "a", "b"), True),
        (expr("zone", "In", "b"), False),
        (expr("missing", "In", "a"), False),
        (expr("zone", "NotIn", "b"), True),
        (expr("zone", "NotIn", "a"), False),
        (expr("missing", "NotIn", "a"), True),  # a missing label is not in any set
        ({"key": "zone", "operator": "Exists"}, True),
        (expr("missing", "Exists"), False),
        (expr("missing", "DoesNotExist"), True),
        (expr("zone", "DoesNotExist"), False),
        (expr("gpu-count", "Gt", "4"), True),
        (expr("gpu-count", "Gt", "8"), False),
        (expr("gpu-count", "Lt", "16"), True),
        (expr("gpu-count", "Lt", "8"), False),
        (expr("gpu-count", "Gt", "007"), True),
        (expr("missing", "Gt", "1"), False),
        (expr("zone", "Gt", "1"), False),  # not an integer: no match, no error
        (expr("empty", "Lt", "1"), False),
    ],
)
def test_match_expressions(expression: dict[str, Any], expected: bool) -> None:
    assert matches_node_affinity(required(labels_term(expression)), NODE, LABELS) is expected


@pytest.mark.parametrize(
    ("affinity", "expected"),
    [
        (None, True),
        ({}, True),
        # Preferred terms are weights for the scheduler, not constraints.
        ({"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1}]}, True),
        (required(), False),  # no terms: nothing matches
        ({"requiredDuringSchedulingIgnoredDuringExecution": {}}, False),
        (required({}), False),  # an empty term matches nothing
        (required({"matchExpressions": [], "matchFields": []}), False),
        (required({}, labels_term(expr("zone", "In", "a"))), True),  # terms are ORed
        (
            required(labels_term(expr("zone", "In", "b")), labels_term(expr("zone", "In", "a"))),
            True,
        ),
        # Within a term, everything must hold.
        (required(labels_term(expr("zone", "In", "a"), expr("gpu-count", "Gt", "8"))), False),
        (required({"matchFields": [expr("metadata.name", "In", NODE)]}), True),
        (required({"matchFields": [expr("metadata.name", "In", "other")]}), False),
        (required({"matchFields": [expr("metadata.name", "NotIn", "other")]}), True),
        (
            required(
                {
                    "matchExpressions": [expr("zone", "In", "a")],
                    "matchFields": [expr("metadata.name", "NotIn", NODE)],
                }
            ),
            False,
        ),
    ],
)
def test_node_selector_terms(affinity: dict[str, Any] | None, expected: bool) -> None:
    assert matches_node_affinity(affinity, NODE, LABELS) is expected


@pytest.mark.parametrize(
    ("term", "field"),
    [
        (labels_term(expr("zone", "Equals", "a")), "matchExpressions[0].operator"),
        (labels_term(expr("zone", "In")), "matchExpressions[0].values"),
        (labels_term(expr("zone", "Exists", "a")), "matchExpressions[0].values"),
        (labels_term(expr("gpu-count", "Gt", "1", "2")), "matchExpressions[0].values"),
        (labels_term(expr("gpu-count", "Gt", "eight")), "matchExpressions[0].values"),
        (labels_term(expr("gpu-count", "Gt", "1_000")), "matchExpressions[0].values"),
        # An integer, but also a label value: Kubernetes refuses a sign.
        (labels_term(expr("gpu-count", "Gt", "-1")), "matchExpressions[0].values"),
        (labels_term(expr("gpu-count", "Lt", str(2**63))), "matchExpressions[0].values"),
        (labels_term(expr("bad key!", "Exists")), "matchExpressions[0].key"),
        (labels_term(expr("Bad.Prefix/zone", "Exists")), "matchExpressions[0].key"),
        (labels_term(expr("zone", "In", "not valid!")), "matchExpressions[0].values"),
        ({"matchFields": [expr("metadata.labels", "In", "x")]}, "matchFields[0].key"),
        ({"matchFields": [expr("metadata.name", "Exists")]}, "matchFields[0].operator"),
        ({"matchFields": [expr("metadata.name", "In", "a", "b")]}, "matchFields[0].values"),
        ({"matchExpressions": "zone"}, "matchExpressions: must be a list"),
        ("term", "nodeSelectorTerms[1]: must be an object"),
    ],
)
def test_a_malformed_term_is_an_error_naming_the_field(term: Any, field: str) -> None:
    # The malformed term comes second, after one that matches: like the scheduler, any
    # malformed term makes the whole selector unusable.
    affinity = required(labels_term(expr("zone", "In", "a")), term)
    with pytest.raises(InvalidNodeSelectorError, match="nodeSelectorTerms") as raised:
        matches_node_affinity(affinity, NODE, LABELS)
    assert field in str(raised.value)


def test_eligibility_needs_both_selector_and_affinity() -> None:
    affinity = required(labels_term(expr("gpu-count", "Gt", "4")))
    assert is_eligible({"nodeSelector": {"zone": "a"}, "nodeAffinity": affinity}, NODE, LABELS)
    assert not is_eligible({"nodeSelector": {"zone": "b"}, "nodeAffinity": affinity}, NODE, LABELS)
    assert not is_eligible(
        {"nodeSelector": {"zone": "a"}, "nodeAffinity": required()}, NODE, LABELS
    )
    assert is_eligible({"storageUri": "hf://org/model"}, NODE, LABELS)
