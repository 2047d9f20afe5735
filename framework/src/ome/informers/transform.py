"""What happens to an object between the wire and the cache.

A transform (``Callable[[MutableKubeObject], MutableKubeObject]``, may change its
argument) runs on every object
before it is stored or handed to a handler; the default drops ``metadata.managedFields``,
20-30 % of a typical object that no controller reads.

After the transform the informer always :func:`compact` s the object. CPython spends
far more memory on a decoded object than its JSON takes (a small custom resource: about
7x), and much of it is the same strings over and over: every object decoded from its
own watch line gets its own copy of every field name. Interning makes those copies one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from ome.client import KubeObject, MutableKubeObject

Transform = Callable[[MutableKubeObject], MutableKubeObject]

# Strings up to this long are shared when they repeat: field names, namespaces, kinds,
# label values, images. Longer ones are rarely repeated and costly to hash.
INTERN_MAX_LENGTH = 64
# Metadata fields whose values are unique per object by construction: interning them
# saves nothing and grows the interpreter's table of interned strings.
UNIQUE_METADATA = frozenset({"uid", "resourceVersion", "name", "creationTimestamp"})


def strip_managed_fields(obj: MutableKubeObject) -> MutableKubeObject:
    """Drop ``metadata.managedFields`` (server-side apply bookkeeping)."""
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    return obj


def compact(obj: KubeObject) -> MutableKubeObject:
    """An equal object whose field names and short repeated strings are interned."""
    return {
        sys.intern(key): _compact_metadata(value) if key == "metadata" else _compact(value)
        for key, value in obj.items()
    }


def _compact_metadata(metadata: Any) -> Any:
    if type(metadata) is not dict:
        return _compact(metadata)
    return {
        sys.intern(key): value if key in UNIQUE_METADATA else _compact(value)
        for key, value in metadata.items()
    }


def _compact_dict(value: dict[str, Any]) -> dict[str, Any]:
    return {sys.intern(key): _compact(item) for key, item in value.items()}


def _compact(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return sys.intern(value) if len(value) <= INTERN_MAX_LENGTH else value
    if kind is dict:
        return _compact_dict(value)
    if kind is list:
        return [_compact(item) for item in value]
    return value
