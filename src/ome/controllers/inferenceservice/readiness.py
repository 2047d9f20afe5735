"""How many InferenceServices are Ready, and for how long each of the others has not
been, as metrics computed from the informer's cache at each scrape: every replica reports
the same (followers watch too), and nothing goes stale when a service is deleted or the
leader changes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ome.client import KubeObject

COUNT = "ome_inferenceservices"
NOT_READY = "ome_inferenceservice_not_ready_seconds"


@dataclass(frozen=True)
class NotReady:
    namespace: str
    name: str
    reason: str
    seconds: float
    """Since the Ready condition last changed (0 when it has no time, or none at all)."""


def not_ready(services: Iterable[KubeObject], now: datetime) -> tuple[int, list[NotReady]]:
    """The number of Ready services and the others."""
    ready = 0
    others: list[NotReady] = []
    for service in services:
        conditions = (service.get("status") or {}).get("conditions") or []
        condition: dict[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
        if condition.get("status") == "True":
            ready += 1
            continue
        meta = service.get("metadata") or {}
        since = _parse_time(condition.get("lastTransitionTime"))
        seconds = max(0.0, (now - since).total_seconds()) if since else 0.0
        reason = condition.get("reason") or ("NoStatus" if not condition else "Unknown")
        others.append(NotReady(meta.get("namespace", ""), meta.get("name", ""), reason, seconds))
    return ready, others


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ReadinessCollector(Collector):
    """The two families, from ``services()`` (the informer's objects) at scrape time."""

    def __init__(
        self,
        services: Callable[[], Iterable[KubeObject]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.services = services
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ready, others = not_ready(self.services(), self.clock())
        count = GaugeMetricFamily(COUNT, "InferenceServices, by readiness.", labels=["ready"])
        count.add_metric(["true"], ready)
        count.add_metric(["false"], len(others))
        yield count
        waiting = GaugeMetricFamily(
            NOT_READY,
            "Seconds since each InferenceService that is not Ready last changed readiness, "
            "with the reason of its Ready condition.",
            labels=["namespace", "name", "reason"],
        )
        for service in others:
            waiting.add_metric([service.namespace, service.name, service.reason], service.seconds)
        yield waiting
