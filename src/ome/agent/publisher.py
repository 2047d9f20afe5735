"""Tells the cluster what this node has: the node's status ConfigMap entries and its
model labels (formats in :mod:`ome.agent.status`).

The publisher remembers what it last said about every model, so :meth:`repair` can say
it all again when someone deleted the ConfigMap or a label (upstream's agent does the
same every five minutes from its memory).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from ome.agent.owner import find_owner
from ome.agent.progress import Progress, ProgressDisplay
from ome.agent.status import (
    ModelEntry,
    ModelRef,
    ModelStatus,
    configmap_key,
    entry_to_json,
    node_label_key,
    status_configmap,
)
from ome.client import AlreadyExists, Client, NotFound
from ome.controllers.basemodel.reports import percent
from ome.controllers.kinds import CONFIGMAP, NODE

log = structlog.get_logger("ome.agent")


class NodeStatusPublisher:
    def __init__(
        self, client: Client, node_name: str, namespace: str, pod_name: str | None = None
    ) -> None:
        self.client = client
        self.node_name = node_name
        self.namespace = namespace
        self.pod_name = pod_name
        """This agent's pod, whose DaemonSet owns the ConfigMap (:mod:`ome.agent.owner`)."""
        self._owner: dict[str, Any] | None = None
        self._owner_looked_up = pod_name is None  # nothing to own it by outside a pod
        self._entries: dict[str, str] = {}
        self._labels: dict[str, str] = {}
        self._lock = asyncio.Lock()

    async def reported(self) -> dict[str, str]:
        """The entries in the node's ConfigMap now (at start: what an earlier run said)."""
        configmaps = await self.client.resource(CONFIGMAP)
        try:
            found = await configmaps.get(self.node_name, self.namespace)
        except NotFound:
            return {}
        return dict(found.get("data") or {})

    async def publish(self, ref: ModelRef, entry: ModelEntry | None, *, label: bool = True) -> None:
        """Set the model's entry (None: remove it) and, with ``label``, the node label to
        the entry's status (removed with the entry)."""
        key = configmap_key(ref)
        value = None if entry is None else entry_to_json(entry)
        label_value = None if entry is None or entry.status is ModelStatus.DELETED else entry.status
        async with self._lock:
            _remember(self._entries, key, value)
            await self._write_entries({key: value})
            if label:
                _remember(self._labels, node_label_key(ref), label_value)
                await self._write_labels({node_label_key(ref): label_value})

    async def repair(self) -> None:
        """Say everything present again (what was removed is not remembered: the memory
        stays as large as what the node holds)."""
        async with self._lock:
            if self._entries:
                await self._write_entries(dict(self._entries))
            if self._labels:
                await self._write_labels(dict(self._labels))

    async def _write_entries(self, data: dict[str, str | None]) -> None:
        configmaps = await self.client.resource(CONFIGMAP)
        patch: dict[str, Any] = {"data": data}
        owner = await self._owner_reference()
        if owner is not None:  # also on a ConfigMap an earlier agent made without one
            patch["metadata"] = {"ownerReferences": [owner]}
        try:
            await configmaps.patch(self.node_name, patch, self.namespace)
            return
        except NotFound:
            pass
        if all(value is None for value in data.values()):
            return
        body = status_configmap(self.node_name, self.namespace)
        body["data"] = {k: v for k, v in data.items() if v is not None}
        if owner is not None:
            body["metadata"]["ownerReferences"] = [owner]
        try:
            await configmaps.create(body)
        except AlreadyExists:
            await configmaps.patch(self.node_name, patch, self.namespace)

    async def _owner_reference(self) -> dict[str, Any] | None:
        """Looked up once per process: the pod's controller does not change."""
        if not self._owner_looked_up:
            self._owner_looked_up = True
            assert self.pod_name is not None
            self._owner = await find_owner(self.client, self.pod_name, self.namespace)
        return self._owner

    async def _write_labels(self, labels: dict[str, str | None]) -> None:
        nodes = await self.client.resource(NODE)
        try:
            await nodes.patch(self.node_name, {"metadata": {"labels": labels}})
        except NotFound:
            log.warning("this agent's node does not exist", node=self.node_name)


def _remember(memory: dict[str, str], key: str, value: str | None) -> None:
    if value is None:
        memory.pop(key, None)
    else:
        memory[key] = value


class ProgressReporter:
    """Turns a download's progress callbacks (synchronous, frequent) into at most one
    status write per ``interval`` seconds, showing every one on ``display`` if given."""

    def __init__(
        self,
        publisher: NodeStatusPublisher,
        ref: ModelRef,
        interval: float,
        display: ProgressDisplay | None = None,
    ) -> None:
        self.publisher = publisher
        self.ref = ref
        self.interval = interval
        self.display = display
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None

    def __call__(self, progress: Progress) -> None:
        if self.display is not None:
            self.display.update(str(self.ref), progress)
        now = time.monotonic()
        if now - self._last < self.interval or (self._task and not self._task.done()):
            return
        self._last = now
        # The line to watch in a foreground run (ome run --local --real-downloads, ome agent).
        log.info(
            "download progress",
            model=str(self.ref),
            phase=str(progress.phase),
            percent=percent(progress.completed_bytes, progress.total_bytes),
            completed_bytes=progress.completed_bytes,
            total_bytes=progress.total_bytes,
        )
        entry = ModelEntry(self.ref.name, ModelStatus.UPDATING, progress=progress)
        self._task = asyncio.get_running_loop().create_task(
            self.publisher.publish(self.ref, entry, label=False)
        )

    async def close(self) -> None:
        """Wait for a write in flight, so it cannot land after the final status."""
        if self.display is not None:
            self.display.finish(str(self.ref))
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
