"""Strategic merge of plain JSON objects: the subset Kubernetes applies to pod specs.

Objects merge key by key, recursively; a ``None`` in the patch removes the key. Lists
whose field has a merge key (containers by ``name``, ports by ``containerPort``, …) merge
item by item: an item of the patch merges into the base item with the same key, which
keeps its place; new items follow in patch order. ``retainKeys`` lists (volumes) keep
only the fields the patch item gives, so a volume can change its source. Every other list
is replaced. ``$patch`` directives are not supported.

Inputs are never modified; the result shares unchanged parts with them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Json = Any


@dataclass(frozen=True)
class Strategy:
    """How one field merges."""

    fields: Mapping[str, Strategy] = field(default_factory=dict)
    """The strategies of an object's fields (others merge plainly)."""
    merge_key: str | None = None
    """For a list: the field that identifies its items."""
    retain_keys: bool = False
    concatenate: bool = False
    """For a list: base items then patch items (how a runner's args combine)."""


PLAIN = Strategy()


def merge(base: Json, patch: Json, strategy: Strategy = PLAIN) -> Json:
    """``patch`` strategically merged over ``base``."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in base:
                merged[key] = merge(base[key], value, strategy.fields.get(key, PLAIN))
            else:
                merged[key] = value
        return merged
    if isinstance(base, list) and isinstance(patch, list):
        if strategy.concatenate:
            return base + patch
        if strategy.merge_key is not None:
            return _merge_items(base, patch, strategy)
    return patch


def _merge_items(base: list[Json], patch: list[Json], strategy: Strategy) -> list[Json]:
    key = strategy.merge_key
    merged = list(base)
    position = {item.get(key): i for i, item in enumerate(base) if isinstance(item, dict)}
    for item in patch:
        index = position.get(item.get(key)) if isinstance(item, dict) else None
        if index is None:
            merged.append(item)
            continue
        original = merged[index]
        if strategy.retain_keys:
            original = {k: v for k, v in original.items() if k in item}
        merged[index] = merge(original, item, strategy)
    return merged


def _list(key: str, item: Strategy = PLAIN, *, retain_keys: bool = False) -> Strategy:
    return Strategy(item.fields, merge_key=key, retain_keys=retain_keys)


CONTAINER = Strategy(
    {
        "env": _list("name"),
        "ports": _list("containerPort"),
        "volumeMounts": _list("mountPath"),
        "volumeDevices": _list("devicePath"),
    }
)
RUNNER = Strategy({**CONTAINER.fields, "args": Strategy(concatenate=True)})
"""A component's main container: its arguments add to the runtime's."""

_POD_FIELDS: dict[str, Strategy] = {
    "containers": _list("name", CONTAINER),
    "initContainers": _list("name", CONTAINER),
    "ephemeralContainers": _list("name", CONTAINER),
    "volumes": _list("name", retain_keys=True),
    "imagePullSecrets": _list("name"),
    "hostAliases": _list("ip"),
    "topologySpreadConstraints": _list("topologyKey"),
    "schedulingGates": _list("name"),
    "resourceClaims": _list("name", retain_keys=True),
}
POD = Strategy(_POD_FIELDS)
_NODE = Strategy({**_POD_FIELDS, "runner": RUNNER})
COMPONENT = Strategy({**_NODE.fields, "leader": _NODE, "worker": _NODE})
"""An engine, decoder or router: a pod spec with a runner, and a leader and workers."""
