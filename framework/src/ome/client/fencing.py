"""Optimistic-concurrency preconditions for writes to objects that already exist.

A write carries the resourceVersion of the object as the writer last saw it; the API
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


def version_of(read: KubeObject | None) -> str | None:
    """The resourceVersion of ``read`` (None: no object read, a create)."""
    return ((read or {}).get("metadata") or {}).get("resourceVersion") or None


def fenced(body: KubeObject, version: str | None) -> MutableKubeObject:
    """``body`` (a copy) with ``metadata.resourceVersion`` set to ``version``, that of
    the object as the writer last saw it; unchanged when there is none (a create)."""
    out: dict[str, Any] = dict(body)
    if version:
        out["metadata"] = {**(body.get("metadata") or {}), "resourceVersion": version}
    return out


def newest_seen(cached: str | None, last_write: tuple[str | None, str] | None) -> str | None:
    """The version to write over, given the cache's (``cached``) and this writer's last
    write to the object (``last_write``: the version the cache showed when it was made,
    the version it produced). A cache still showing that version has not seen the write
    yet: its answer is the newest version known, and writing over the cache's would be
    refused as stale for no reason. Recording what the cache showed, rather than the
    version written over, keeps this true through a run of writes the cache has not
    caught up with (each one over the previous one's answer)."""
    if last_write is not None and cached is not None and cached == last_write[0]:
        return last_write[1]
    return cached


def delete_preconditions(read: KubeObject) -> dict[str, str]:
    """Preconditions for deleting the object as ``read``: its UID (not a namesake made
    since) and its resourceVersion (not changed since)."""
    meta = read.get("metadata") or {}
    return {k: str(meta[k]) for k in ("uid", "resourceVersion") if meta.get(k)}
