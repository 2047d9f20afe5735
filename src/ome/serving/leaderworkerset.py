"""Facts about the LeaderWorkerSet API (``sigs.k8s.io/lws`` v1) that a multi-node
component relies on: its group, kind, the labels its controller puts on every pod of a
group, and the name upstream OME gives it (``pkg/constants.LWSName``)."""

from __future__ import annotations

API_VERSION = "leaderworkerset.x-k8s.io/v1"
KIND = "LeaderWorkerSet"
NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
"""On every pod of every group: the LeaderWorkerSet's name."""
GROUP_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/group-index"
WORKER_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"
"""``0`` on a group's leader, ``1``… on its workers."""
_NAME_TAIL = 50


def lws_name(component_name: str) -> str:
    """``lws-`` and the last 50 characters of the component's name (``{isvc}-engine``)."""
    return f"lws-{component_name[-_NAME_TAIL:]}"
