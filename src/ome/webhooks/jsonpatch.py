"""The JSON Patch (RFC 6902) that turns one JSON document into another.

The defaulting webhook edits a copy of the object it was sent and answers with the
difference, so only what it changed is patched: fields it never touched (even ones the
API types would default) stay exactly as the client wrote them. Objects are compared key
by key; lists and scalars are replaced whole when they differ."""

from __future__ import annotations

from typing import Any

Operation = dict[str, Any]


def escape(key: str) -> str:
    """A key as a JSON Pointer token (``ome.io/x`` → ``ome.io~1x``)."""
    return key.replace("~", "~0").replace("/", "~1")


def diff(old: Any, new: Any, path: str = "") -> list[Operation]:
    """Operations that make ``old`` equal to ``new``."""
    if isinstance(old, dict) and isinstance(new, dict):
        operations: list[Operation] = []
        for key in old:
            if key not in new:
                operations.append({"op": "remove", "path": f"{path}/{escape(key)}"})
        for key, value in new.items():
            child = f"{path}/{escape(key)}"
            if key not in old:
                operations.append({"op": "add", "path": child, "value": value})
            else:
                operations += diff(old[key], value, child)
        return operations
    if old == new and type(old) is type(new):
        return []
    return [{"op": "replace", "path": path, "value": new}]
