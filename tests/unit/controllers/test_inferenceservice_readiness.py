"""The readiness metrics of InferenceServices, computed from the cache at scrape time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

from ome.controllers.inferenceservice.readiness import NotReady, ReadinessCollector, not_ready

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def service(name: str, ready: dict[str, Any] | None) -> dict[str, Any]:
    status = {"conditions": [{"type": "Ready", **ready}]} if ready else {}
    return {"metadata": {"namespace": "ns", "name": name}, "status": status}


SERVICES = [
    service("up", {"status": "True", "lastTransitionTime": "2026-01-02T03:00:00Z"}),
    service(
        "down",
        {
            "status": "False",
            "reason": "BaseModelNotFound",
            "lastTransitionTime": "2026-01-02T03:00:05Z",
        },
    ),
    service("new", None),
    service("odd", {"status": "Unknown", "lastTransitionTime": "not a time"}),
]


def test_services_not_ready_with_their_reason_and_how_long() -> None:
    ready, others = not_ready(SERVICES, NOW)
    assert ready == 1
    assert others == [
        NotReady("ns", "down", "BaseModelNotFound", 240.0),
        NotReady("ns", "new", "NoStatus", 0.0),
        NotReady("ns", "odd", "Unknown", 0.0),
    ]


def test_the_collector_reports_what_the_cache_holds_at_each_scrape() -> None:
    held = list(SERVICES)
    registry = CollectorRegistry()
    registry.register(ReadinessCollector(lambda: held, clock=lambda: NOW))
    value = registry.get_sample_value
    assert value("ome_inferenceservices", {"ready": "true"}) == 1
    assert value("ome_inferenceservices", {"ready": "false"}) == 3
    labels = {"namespace": "ns", "name": "down", "reason": "BaseModelNotFound"}
    assert value("ome_inferenceservice_not_ready_seconds", labels) == 240.0
    held.pop(1)  # deleted: its series goes with it
    assert value("ome_inferenceservice_not_ready_seconds", labels) is None
    assert value("ome_inferenceservices", {"ready": "false"}) == 2
