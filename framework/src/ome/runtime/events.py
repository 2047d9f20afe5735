"""Kubernetes Events (events.k8s.io/v1) about the objects a controller manages.

Recording never blocks or fails a reconcile: each event is written by a background task
and errors are logged. Repeats of the same event (same object, type, reason, action and
note) within ``series_window`` seconds are folded into one Event whose ``series.count``
grows, as client-go's event broadcaster does, so a hot error loop cannot flood etcd.

State:
    _series   aggregation key -> the Event written for it, its count, and when it was seen
    _tasks    writes in flight (kept referenced until done; awaited by ``flush``)
"""

from __future__ import annotations

import asyncio
import datetime
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from ome.client import ApiError, Client, KubeObject
from ome.runtime.leaderelection import micro_time

NORMAL = "Normal"
WARNING = "Warning"
MAX_NOTE = 1024
log = structlog.get_logger("ome.events")


@dataclass
class _Series:
    name: str
    namespace: str
    count: int
    last_seen: float
    written_count: int = 1
    # Serialises the create and later series updates of one Event, so they land in order.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class EventRecorder:
    def __init__(
        self,
        client: Client,
        controller: str,
        instance: str,
        *,
        series_window: float = 360.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.controller = controller
        self.instance = instance
        self.series_window = series_window
        self._clock = clock
        self._series: dict[tuple[str, ...], _Series] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def event(
        self,
        regarding: KubeObject,
        type_: str,
        reason: str,
        note: str,
        *,
        action: str | None = None,
    ) -> None:
        """Record an event about ``regarding`` (an object dict); returns at once."""
        if type_ not in (NORMAL, WARNING):
            raise ValueError(f"event type must be {NORMAL} or {WARNING}, not {type_!r}")
        meta = regarding.get("metadata", {})
        key = (str(meta.get("uid", "")), type_, reason, action or reason, note[:MAX_NOTE])
        now = self._clock()
        self._forget_old(now)
        series = self._series.get(key)
        if series is not None:
            series.count += 1
            series.last_seen = now
            self._spawn(self._write_series(series))
            return
        name = f"{meta.get('name', 'object')}.{secrets.token_hex(8)}"
        namespace = meta.get("namespace") or "default"
        series = self._series[key] = _Series(name, namespace, 1, now)
        body = self._event_body(
            regarding,
            name=name,
            namespace=namespace,
            type_=type_,
            reason=reason,
            note=note,
            action=action,
        )
        self._spawn(self._create(series, body))

    def _event_body(
        self,
        regarding: KubeObject,
        *,
        name: str,
        namespace: str,
        type_: str,
        reason: str,
        note: str,
        action: str | None,
    ) -> dict[str, Any]:
        meta = regarding.get("metadata", {})
        reference = {
            "apiVersion": regarding.get("apiVersion", ""),
            "kind": regarding.get("kind", ""),
            "name": meta.get("name", ""),
            "namespace": meta.get("namespace", ""),
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        return {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "eventTime": micro_time(datetime.datetime.now(datetime.UTC)),
            "reportingController": self.controller,
            "reportingInstance": self.instance,
            "action": action or reason,
            "reason": reason,
            "type": type_,
            "note": note[:MAX_NOTE],
            "regarding": {k: v for k, v in reference.items() if v},
        }

    def _forget_old(self, now: float) -> None:
        expired = [k for k, s in self._series.items() if now - s.last_seen > self.series_window]
        for key in expired:
            del self._series[key]

    def _spawn(self, write: Any) -> None:
        task = asyncio.ensure_future(write)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _create(self, series: _Series, body: dict[str, Any]) -> None:
        path = f"/apis/events.k8s.io/v1/namespaces/{series.namespace}/events"
        async with series.lock:
            try:
                await self.client.create(path, body)
            except (ApiError, OSError, TimeoutError) as err:
                log.warning("could not record an event", reason=body["reason"], error=repr(err))

    async def _write_series(self, series: _Series) -> None:
        async with series.lock:
            # Several repeats may share one write: only the newest count needs to land.
            if series.count > series.written_count:
                await self._patch_series(series)

    async def _patch_series(self, series: _Series) -> None:
        count = series.count
        patch = {
            "series": {
                "count": count,
                "lastObservedTime": micro_time(datetime.datetime.now(datetime.UTC)),
            }
        }
        path = f"/apis/events.k8s.io/v1/namespaces/{series.namespace}/events/{series.name}"
        try:
            await self.client.request(
                "PATCH", path, body=patch, content_type="application/merge-patch+json"
            )
            series.written_count = max(series.written_count, count)
        except (ApiError, OSError, TimeoutError) as err:
            log.warning("could not update an event series", event_name=series.name, error=repr(err))

    async def flush(self) -> None:
        """Wait for every event write in flight (at shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
