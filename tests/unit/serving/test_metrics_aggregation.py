"""Metrics annotations as upstream's pod webhook sets them
(upstream pkg/webhook/admission/pod/metrics_aggregate_injector.go and its test)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ome.serving import ServingError
from ome.serving.metrics_aggregation import (
    MetricsAggregation,
    parse_metrics_aggregation,
    with_metrics_aggregation,
)

ON = MetricsAggregation("true", "true")


def pod(annotations: dict[str, str] | None = None, *containers: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "p"}
    if annotations is not None:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": {"containers": list(containers) or [{"name": "c"}]}}


def test_the_config_is_read_as_upstream_ships_and_decodes_it() -> None:
    shipped = '{"enableMetricAggregation": "false", "enablePrometheusScraping" : "false"}'
    assert parse_metrics_aggregation({"metricsAggregator": shipped}) == MetricsAggregation()
    assert parse_metrics_aggregation(None) == MetricsAggregation()
    assert parse_metrics_aggregation({"deploy": "{}"}) == MetricsAggregation()
    # Go leaves a field the document omits at ""
    partial = parse_metrics_aggregation(
        {"metricsAggregator": '{"enableMetricAggregation": "true"}'}
    )
    assert partial == MetricsAggregation("true", "")


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"enablePrometheusScraping": true}', "string"),
    ],
)
def test_a_config_upstream_cannot_decode_is_refused(document: str, problem: str) -> None:
    with pytest.raises(ServingError, match=problem) as caught:
        parse_metrics_aggregation({"metricsAggregator": document})
    assert "metricsAggregator" in caught.value.message


def test_the_config_values_are_written_when_the_pod_has_none() -> None:
    annotated = with_metrics_aggregation(pod(), MetricsAggregation())
    assert annotated["metadata"]["annotations"] == {
        "ome.io/enable-metric-aggregation": "false",
        "ome.io/enable-prometheus-scraping": "false",
    }
    assert annotated["spec"] == pod()["spec"]


def test_scraping_points_prometheus_at_the_pod_port_or_the_aggregate_one() -> None:
    scraped = with_metrics_aggregation(pod(), MetricsAggregation("false", "true"))
    assert scraped["metadata"]["annotations"]["prometheus.io/port"] == "9091"
    assert scraped["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    aggregated = with_metrics_aggregation(pod(), ON)
    assert aggregated["metadata"]["annotations"]["prometheus.io/port"] == "9088"


def test_the_pods_own_annotations_win_over_the_config() -> None:
    own = {
        "ome.io/enable-metric-aggregation": "false",
        "ome.io/enable-prometheus-scraping": "false",
    }
    assert with_metrics_aggregation(pod(dict(own)), ON)["metadata"]["annotations"] == own


def test_aggregation_configures_the_queue_proxy_once() -> None:
    queue_proxy = {"name": "queue-proxy", "env": [{"name": "A", "value": "1"}]}
    annotations = {"prometheus.ome.io/port": "8000", "prometheus.ome.io/path": "/stats"}
    once = with_metrics_aggregation(pod(annotations, {"name": "c"}, queue_proxy), ON)
    assert once["spec"]["containers"][1] == {
        "name": "queue-proxy",
        "env": [
            {"name": "A", "value": "1"},
            {"name": "CONTAINER_PROMETHEUS_METRICS_PORT", "value": "8000"},
            {"name": "CONTAINER_PROMETHEUS_METRICS_PATH", "value": "/stats"},
            {"name": "AGGREGATE_PROMETHEUS_METRICS_PORT", "value": "9088"},
        ],
        "ports": [{"name": "aggr-metric", "containerPort": 9088, "protocol": "TCP"}],
    }
    assert once["spec"]["containers"][0] == {"name": "c"}
    assert with_metrics_aggregation(copy.deepcopy(once), ON) == once
