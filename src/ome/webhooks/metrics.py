"""The admission webhooks' metrics. Requests, latency and requests in flight carry
controller-runtime's names and labels (``webhook`` is the path), so its dashboards apply;
refusals, which controller-runtime does not count, have a family of their own."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Up to the 10 s the API server waits for a webhook (a refusal over missing objects
waits up to 5 s for the caches)."""


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry, paths: Iterable[str] = ()) -> None:
        self.registry = registry
        self.requests = Counter(
            "controller_runtime_webhook_requests_total",
            "Total number of admission requests by HTTP status code.",
            ["webhook", "code"],
            registry=registry,
        )
        self.latency = Histogram(
            "controller_runtime_webhook_latency_seconds",
            "Histogram of the latency of processing admission requests",
            ["webhook"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "controller_runtime_webhook_requests_in_flight",
            "Current number of admission requests being served.",
            ["webhook"],
            registry=registry,
        )
        self.denied = Counter(
            "ome_webhook_denied_total",
            "Admission requests refused, by the code of the refusal (403: the object is "
            "invalid; 5xx: the webhook could not judge it).",
            ["webhook", "code"],
            registry=registry,
        )
        # every webhook's series exist from the start, so rates and alerts see zeros
        for path in paths:
            self.requests.labels(path, "200")
            self.latency.labels(path)
            self.in_flight.labels(path).set(0)
