"""Is a model meant for this node? ``storage.nodeSelector`` and ``storage.nodeAffinity``.

Pure functions over the dicts of a model's ``spec.storage`` and a node's name and labels,
with the Kubernetes scheduler's semantics (``k8s.io/component-helpers`` nodeaffinity):

- ``nodeSelector``: every pair must be a label of the node; empty or absent matches all.
- ``nodeAffinity``: only ``requiredDuringSchedulingIgnoredDuringExecution`` counts (the
  preferred terms are weights, not constraints); absent, it matches all. Its
  ``nodeSelectorTerms`` are ORed; an empty list matches no node, and so does a term with
  neither ``matchExpressions`` nor ``matchFields``. Within a term every requirement must
  hold. ``NotIn`` and ``DoesNotExist`` hold when the label is missing; ``Gt``/``Lt`` compare
  integers and fail when the label is missing or not an integer. ``matchFields`` knows one
  field, ``metadata.name``, with ``In``/``NotIn`` and a single value.

A malformed selector (unknown operator, wrong number of values, bad label key) raises
:class:`InvalidNodeSelectorError` naming the offending field, as the scheduler refuses
to place a pod with such a selector anywhere: the caller reports the model Failed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Labels = Mapping[str, str]

_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_NAME_MAX = 63
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_SUBDOMAIN_MAX = 253
# Go's strconv.ParseInt(s, 10, 64): an optional sign and decimal digits, nothing else.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
_NODE_NAME_FIELD = "metadata.name"


class InvalidNodeSelectorError(ValueError):
    """The model's node selection cannot be evaluated; the message names the field."""


def is_eligible(storage: Mapping[str, Any], node_name: str, node_labels: Labels) -> bool:
    """Whether a model whose ``spec.storage`` is ``storage`` belongs on this node."""
    return matches_node_selector(
        storage.get("nodeSelector"), node_labels
    ) and matches_node_affinity(storage.get("nodeAffinity"), node_name, node_labels)


def matches_node_selector(selector: Mapping[str, str] | None, node_labels: Labels) -> bool:
    return all(
        key in node_labels and node_labels[key] == value for key, value in (selector or {}).items()
    )


def matches_node_affinity(
    affinity: Mapping[str, Any] | None, node_name: str, node_labels: Labels
) -> bool:
    required = (affinity or {}).get(_REQUIRED)
    if required is None:
        return True
    path = f"nodeAffinity.{_REQUIRED}.nodeSelectorTerms"
    # Every term is parsed before any is evaluated: like the scheduler, a malformed term
    # makes the whole selector unusable even when another term would match.
    terms = [
        _parse_term(term, f"{path}[{i}]")
        for i, term in enumerate(_list(required.get("nodeSelectorTerms"), path))
    ]
    return any(term.matches(node_name, node_labels) for term in terms)


@dataclass(frozen=True)
class _Requirement:
    key: str
    operator: str
    values: tuple[str, ...]

    def matches_label(self, labels: Labels) -> bool:
        present = self.key in labels
        match self.operator:
            case "In":
                return present and labels[self.key] in self.values
            case "NotIn":
                return not present or labels[self.key] not in self.values
            case "Exists":
                return present
            case "DoesNotExist":
                return not present
        if not present or not _is_int64(labels[self.key]):
            return False
        label, bound = int(labels[self.key]), int(self.values[0])
        return label > bound if self.operator == "Gt" else label < bound

    def matches_field(self, node_name: str) -> bool:
        return (node_name == self.values[0]) == (self.operator == "In")


@dataclass(frozen=True)
class _Term:
    labels: tuple[_Requirement, ...]
    fields: tuple[_Requirement, ...]

    def matches(self, node_name: str, node_labels: Labels) -> bool:
        if not self.labels and not self.fields:
            return False
        return all(r.matches_label(node_labels) for r in self.labels) and all(
            r.matches_field(node_name) for r in self.fields
        )


def _parse_term(term: Any, path: str) -> _Term:
    if not isinstance(term, Mapping):
        raise InvalidNodeSelectorError(f"{path}: must be an object")
    expressions = _list(term.get("matchExpressions"), f"{path}.matchExpressions")
    fields = _list(term.get("matchFields"), f"{path}.matchFields")
    return _Term(
        tuple(
            _label_requirement(e, f"{path}.matchExpressions[{i}]")
            for i, e in enumerate(expressions)
        ),
        tuple(_field_requirement(f, f"{path}.matchFields[{i}]") for i, f in enumerate(fields)),
    )


def _label_requirement(expr: Any, path: str) -> _Requirement:
    req = _requirement(expr, path)
    if not _is_label_key(req.key):
        raise InvalidNodeSelectorError(f"{path}.key: {req.key!r} is not a valid label key")
    count = len(req.values)
    match req.operator:
        case "In" | "NotIn":
            if count == 0:
                raise InvalidNodeSelectorError(
                    f"{path}.values: must not be empty for {req.operator}"
                )
        case "Exists" | "DoesNotExist":
            if count:
                raise InvalidNodeSelectorError(f"{path}.values: must be empty for {req.operator}")
        case "Gt" | "Lt":
            if count != 1 or not _is_int64(req.values[0]):
                raise InvalidNodeSelectorError(
                    f"{path}.values: {req.operator} needs exactly one integer value"
                )
        case _:
            raise InvalidNodeSelectorError(
                f"{path}.operator: {req.operator!r} is not one of In, NotIn, Exists, "
                "DoesNotExist, Gt, Lt"
            )
    for value in req.values:
        if value and (len(value) > _NAME_MAX or not _NAME.fullmatch(value)):
            raise InvalidNodeSelectorError(f"{path}.values: {value!r} is not a valid label value")
    return req


def _field_requirement(expr: Any, path: str) -> _Requirement:
    req = _requirement(expr, path)
    if req.key != _NODE_NAME_FIELD:
        raise InvalidNodeSelectorError(f"{path}.key: only {_NODE_NAME_FIELD!r} is supported")
    if req.operator not in ("In", "NotIn"):
        raise InvalidNodeSelectorError(f"{path}.operator: must be In or NotIn for a field")
    if len(req.values) != 1:
        raise InvalidNodeSelectorError(f"{path}.values: must have exactly one element")
    return req


def _requirement(expr: Any, path: str) -> _Requirement:
    if not isinstance(expr, Mapping):
        raise InvalidNodeSelectorError(f"{path}: must be an object")
    key, operator = expr.get("key"), expr.get("operator")
    values = _list(expr.get("values"), f"{path}.values")
    if not isinstance(key, str) or not isinstance(operator, str):
        raise InvalidNodeSelectorError(f"{path}: key and operator must be strings")
    if not all(isinstance(v, str) for v in values):
        raise InvalidNodeSelectorError(f"{path}.values: must be strings")
    return _Requirement(key, operator, tuple(values))


def _list(value: Any, path: str) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InvalidNodeSelectorError(f"{path}: must be a list")
    return value


def _is_label_key(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and (
        not prefix or len(prefix) > _DNS_SUBDOMAIN_MAX or not _DNS_SUBDOMAIN.fullmatch(prefix)
    ):
        return False
    return len(name) <= _NAME_MAX and _NAME.fullmatch(name) is not None


def _is_int64(text: str) -> bool:
    return _INTEGER.fullmatch(text) is not None and _INT64_MIN <= int(text) <= _INT64_MAX
