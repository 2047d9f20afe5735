"""The agent's Prometheus metrics, with upstream's names (``model_agent_*``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class AgentMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.downloads_success = Counter(
            "model_agent_downloads_success_total",
            "Models put in place (or found in place, verified) on this node.",
            registry=registry,
        )
        self.downloads_failed = Counter(
            "model_agent_downloads_failed_total",
            "Attempts that ended with the model Failed on this node, by reason.",
            ["error_type"],
            registry=registry,
        )
        self.download_duration = Histogram(
            "model_agent_download_duration_seconds",
            "Time from the start of an attempt to the model Ready on this node.",
            buckets=(1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400),
            registry=registry,
        )
        self.download_bytes = Counter(
            "model_agent_download_bytes_total",
            "Bytes of models put in place on this node (a reused copy counts nothing).",
            registry=registry,
        )
        self.downloads_active = Gauge(
            "model_agent_downloads_in_progress",
            "Downloads holding one of the concurrency slots.",
            registry=registry,
        )
