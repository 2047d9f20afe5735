"""Optimistic-concurrency preconditions for writes to objects that already exist.

A write carries the resourceVersion of the object as the writer last read it; the API
server refuses it with 409 Conflict when the object has changed since. Besides catching
concurrent writers, this fences a deposed leader: a write it sent before losing its Lease
and that reaches the API server late (held up in a partitioned network) finds the object
changed (by the new leader, say) and is refused; accepted, it overwrote nothing newer than
what its writer had read.

Creates carry no precondition (there is no version to name); an operator's children are
fenced through their owner reference instead: a child created for an owner that has since
been deleted names the old owner's UID and is collected by the garbage collector.
"""

from __future__ import annotations

from typing import Any

from ome.client.objects import KubeObject, MutableKubeObject


def fenced(body: KubeObject, read: KubeObject | None) -> MutableKubeObject:
    """``body`` with ``metadata.resourceVersion`` set to that of ``read``, the object as
    the writer last read it; ``body`` unchanged (a copy) when there is none (a create)."""
    version = ((read or {}).get("metadata") or {}).get("resourceVersion")
    out: dict[str, Any] = dict(body)
    if version:
        out["metadata"] = {**(body.get("metadata") or {}), "resourceVersion": version}
    return out


def delete_preconditions(read: KubeObject) -> dict[str, str]:
    """Preconditions for deleting the object as ``read``: its UID (not a namesake made
    since) and its resourceVersion (not changed since)."""
    meta = read.get("metadata") or {}
    return {k: str(meta[k]) for k in ("uid", "resourceVersion") if meta.get(k)}
