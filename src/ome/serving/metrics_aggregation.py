"""Metrics annotations for the pods of a service, as upstream's pod webhook adds them
(``pkg/webhook/admission/pod/metrics_aggregate_injector.go``) from the
``metricsAggregator`` key of ``inferenceservice-config``.

Each pod gets ``ome.io/enable-metric-aggregation`` and ``ome.io/enable-prometheus-
scraping`` (its own values kept, else the config's). With scraping on, the pod is
annotated for Prometheus (``prometheus.io/port`` and ``/path``: the queue proxy's
aggregate port 9088 when aggregation is on, else 9091). With aggregation on, a
``queue-proxy`` container (Knative's, so Serverless only) is told where the main
container's metrics are (``prometheus.ome.io/port`` and ``/path``, default 8080 and
``/metrics``) and exposes the aggregate port. Unlike upstream, which appends the queue
proxy's variables on every call, a variable already set is kept: applying this twice
adds nothing the second time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ome.serving.components import Spec
from ome.serving.config import CONFIGMAP_NAME
from ome.serving.problems import Reason, ServingError

CONFIG_KEY = "metricsAggregator"
AGGREGATION_ANNOTATION = "ome.io/enable-metric-aggregation"
SCRAPING_ANNOTATION = "ome.io/enable-prometheus-scraping"
CONTAINER_PORT_ANNOTATION = "prometheus.ome.io/port"
CONTAINER_PATH_ANNOTATION = "prometheus.ome.io/path"
PROMETHEUS_PORT_ANNOTATION = "prometheus.io/port"
PROMETHEUS_PATH_ANNOTATION = "prometheus.io/path"
QUEUE_PROXY = "queue-proxy"
AGGREGATE_PORT = 9088
AGGREGATE_PORT_NAME = "aggr-metric"
POD_PORT = "9091"
CONTAINER_PORT = "8080"
METRICS_PATH = "/metrics"


@dataclass(frozen=True)
class MetricsAggregation:
    """The ``metricsAggregator`` settings; the defaults are the ConfigMap upstream ships."""

    enable_metric_aggregation: str = "false"
    enable_prometheus_scraping: str = "false"


_FIELDS = {
    "enableMetricAggregation": "enable_metric_aggregation",
    "enablePrometheusScraping": "enable_prometheus_scraping",
}


def parse_metrics_aggregation(data: Mapping[str, str] | None) -> MetricsAggregation:
    """The settings in the ConfigMap's ``data`` (None: no ConfigMap). A missing key takes
    the shipped values; a field the document leaves out is "" (as Go decodes it), which
    turns nothing on. :class:`ServingError` for a document upstream cannot decode."""
    if data is None or CONFIG_KEY not in data:
        return MetricsAggregation()
    try:
        document = json.loads(data[CONFIG_KEY])
    except json.JSONDecodeError as err:
        raise _invalid(f"not JSON: {err}") from None
    if not isinstance(document, dict):
        raise _invalid("not a JSON object")
    values: dict[str, str] = {name: "" for name in _FIELDS.values()}
    for key, name in _FIELDS.items():
        value = document.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _invalid(f'{key} must be a string ("true" or "false")')
        values[name] = value
    return MetricsAggregation(**values)


def with_metrics_aggregation(pod: Spec, settings: MetricsAggregation) -> Spec:
    """``pod`` (a whole Pod) with the metrics annotations and, when aggregation is on,
    the queue proxy's settings."""
    metadata = dict(pod.get("metadata") or {})
    annotations: dict[str, str] = dict(metadata.get("annotations") or {})
    aggregate = annotations.setdefault(AGGREGATION_ANNOTATION, settings.enable_metric_aggregation)
    scrape = annotations.setdefault(SCRAPING_ANNOTATION, settings.enable_prometheus_scraping)
    if scrape == "true":
        port = str(AGGREGATE_PORT) if aggregate == "true" else POD_PORT
        annotations[PROMETHEUS_PORT_ANNOTATION] = port
        annotations[PROMETHEUS_PATH_ANNOTATION] = METRICS_PATH
    metadata["annotations"] = annotations
    result = {**pod, "metadata": metadata}
    if aggregate == "true":
        spec = dict(pod.get("spec") or {})
        spec["containers"] = [
            _queue_proxy(c, annotations) if c.get("name") == QUEUE_PROXY else c
            for c in spec.get("containers", [])
        ]
        result["spec"] = spec
    return result


def _queue_proxy(container: Spec, annotations: Mapping[str, str]) -> Spec:
    wanted = {
        "CONTAINER_PROMETHEUS_METRICS_PORT": annotations.get(
            CONTAINER_PORT_ANNOTATION, CONTAINER_PORT
        ),
        "CONTAINER_PROMETHEUS_METRICS_PATH": annotations.get(
            CONTAINER_PATH_ANNOTATION, METRICS_PATH
        ),
        "AGGREGATE_PROMETHEUS_METRICS_PORT": str(AGGREGATE_PORT),
    }
    env = list(container.get("env") or [])
    named = {e.get("name") for e in env}
    env += [{"name": k, "value": v} for k, v in wanted.items() if k not in named]
    ports = list(container.get("ports") or [])
    if not any(p.get("name") == AGGREGATE_PORT_NAME for p in ports):
        port: dict[str, Any] = {
            "name": AGGREGATE_PORT_NAME,
            "containerPort": AGGREGATE_PORT,
            "protocol": "TCP",
        }
        ports.append(port)
    return {**container, "env": env, "ports": ports}


def _invalid(problem: str) -> ServingError:
    return ServingError(Reason.INVALID_CONFIG, f"{CONFIGMAP_NAME} key {CONFIG_KEY!r}: {problem}")
