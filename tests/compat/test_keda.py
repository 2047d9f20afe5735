"""KEDA ScaledObjects as upstream OME v0.1.5 renders them, for its annotation and
``spec.kedaConfig`` combinations.

The expected values are facts read from upstream's source:
- pkg/controller/v1beta1/inferenceservice/reconcilers/keda/keda_reconciler.go: the name
  (``utils.GetScaledObjectName``: ``scaledobject-`` + the Deployment name's last 50
  characters, pkg/controller/v1beta1/inferenceservice/utils/utils.go), the component's
  labels (without ``k8slens-edit-resource-version``) and annotations, scaleTargetRef,
  min (``minReplicas`` when > 0, else ``KedaDefaultMinReplicas`` = 1) and max (``maxReplicas``
  when above min, else min), one ``prometheus`` trigger whose settings come from the
  annotation, else kedaConfig, else the defaults (threshold "10", operator
  "LessThanOrEqual", the prometheus-operated address, the vLLM query over the Deployment's
  name, metricName ``scaleMetric`` else "tps"); ``customPromQuery`` formatted with
  ``fmt.Sprintf(query, name)``; authenticationRef with kind defaulting to
  TriggerAuthentication, and authModes only beside it;
- pkg/controller/v1beta1/inferenceservice/reconcilers/keda/keda_reconciler_test.go: the
  authentication and replica cases;
- pkg/constants/constants.go: the annotation keys (``autoscaling.keda.sh/threshold``,
  ``…/operator``, ``…/prometheus.serverAddress``, ``…/prometheus.query``);
- pkg/apis/ome/v1beta1/component.go: ``MetricTPS = "tps"``;
- pkg/controller/v1beta1/inferenceservice/reconcilers/common/deployment_reconciler.go:
  every component gets the service's ``kedaConfig``.
"""

from __future__ import annotations

from typing import Any

import pytest

from ome.serving import render_objects
from ome.serving.keda import go_sprintf
from tests.unit.serving.helpers import by_kind, plan, service

KEDA = {"ome.io/autoscalerClass": "keda"}
DEFAULT_SERVER = "http://prometheus-operated.monitoring.svc.cluster.local:9090"
# keda_reconciler.go getPrometheusQuery, formatted with the Deployment's name
DEFAULT_QUERY = """sum(
            avg_over_time(vllm:avg_generation_throughput_toks_per_s{ome_io_inferenceservice="chat-engine"}[5m]) < bool 10
        )
        *
        sum(
            rate(vllm:request_success_total{ome_io_inferenceservice="chat-engine"}[1m]) > bool 0.50
        )"""  # noqa: E501


def scaled_objects(annotations: dict[str, str] | None = None, **spec: Any) -> list[dict[str, Any]]:
    svc = service(annotations={**KEDA, **(annotations or {})}, **spec)
    return by_kind(render_objects(plan(svc)), "ScaledObject")


def the_trigger(annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    (scaled,) = scaled_objects(annotations, **spec)
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    result: dict[str, Any] = trigger
    return result


def test_the_defaults() -> None:
    (scaled,) = scaled_objects()
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["metadata"]["name"] == "scaledobject-chat-engine"
    assert scaled["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "chat-engine"},
        "minReplicaCount": 1,
        "maxReplicaCount": 1,
        "triggers": [
            {
                "type": "prometheus",
                "metadata": {
                    "serverAddress": DEFAULT_SERVER,
                    "metricName": "tps",
                    "query": DEFAULT_QUERY,
                    "threshold": "10",
                    "operator": "LessThanOrEqual",
                },
            }
        ],
    }


def test_metadata_is_the_components() -> None:
    svc = service(
        annotations={**KEDA, "team": "a"},
        labels={"k8slens-edit-resource-version": "v1", "tier": "gold"},
    )
    rendered = render_objects(plan(svc))
    (scaled,) = by_kind(rendered, "ScaledObject")
    (deployment,) = by_kind(rendered, "Deployment")
    labels = dict(deployment["metadata"]["labels"])
    del labels["k8slens-edit-resource-version"]
    assert scaled["metadata"]["labels"] == labels
    assert scaled["metadata"]["annotations"] == deployment["metadata"]["annotations"]
    assert scaled["metadata"]["annotations"]["ome.io/autoscalerClass"] == "keda"


def test_a_long_name_keeps_its_last_50_characters() -> None:
    name = "a-very-long-inference-service-name-that-goes-on-and-on"
    (scaled,) = by_kind(render_objects(plan(service(name, annotations=KEDA))), "ScaledObject")
    assert scaled["metadata"]["name"] == "scaledobject-" + f"{name}-engine"[-50:]


@pytest.mark.parametrize(
    ("engine", "minimum", "maximum"),
    [
        ({}, 1, 1),  # keda_reconciler_test.go "Default min/max replicas"
        ({"minReplicas": 2, "maxReplicas": 10}, 2, 10),  # "Custom min/max replicas"
        ({"minReplicas": 5, "maxReplicas": 3}, 5, 5),  # "Max replicas less than min"
    ],
)
def test_replica_bounds(engine: dict[str, Any], minimum: int, maximum: int) -> None:
    (scaled,) = scaled_objects(engine=engine)
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (
        minimum,
        maximum,
    )


CONFIG = {
    "promServerAddress": "http://prometheus:9090",
    "scalingThreshold": "0.07",
    "scalingOperator": "GreaterThanOrEqual",
}
ANNOTATIONS = {
    "autoscaling.keda.sh/prometheus.serverAddress": "https://from-annotation:9090",
    "autoscaling.keda.sh/threshold": "42",
    "autoscaling.keda.sh/operator": "LessThan",
    "autoscaling.keda.sh/prometheus.query": "sum(rate(x[1m]))",
}


def test_kedaconfig_overrides_the_defaults() -> None:
    trigger = the_trigger(kedaConfig={**CONFIG, "customPromQuery": 'up{job="%s"}'})
    assert trigger["metadata"] == {
        "serverAddress": "http://prometheus:9090",
        "metricName": "tps",
        "query": 'up{job="chat-engine"}',
        "threshold": "0.07",
        "operator": "GreaterThanOrEqual",
    }


def test_annotations_override_kedaconfig() -> None:
    trigger = the_trigger(ANNOTATIONS, kedaConfig={**CONFIG, "customPromQuery": "up"})
    assert trigger["metadata"] == {
        "serverAddress": "https://from-annotation:9090",
        "metricName": "tps",
        "query": "sum(rate(x[1m]))",  # verbatim: only kedaConfig's query is formatted
        "threshold": "42",
        "operator": "LessThan",
    }


def test_the_metric_name_is_the_scale_metric() -> None:
    assert the_trigger(engine={"scaleMetric": "rps"})["metadata"]["metricName"] == "rps"


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (  # "With TriggerAuthentication - should include authenticationRef"
            {"name": "grafana-cloud-auth", "kind": "TriggerAuthentication"},
            {"name": "grafana-cloud-auth", "kind": "TriggerAuthentication"},
        ),
        (  # "With ClusterTriggerAuthentication"
            {"name": "cluster-wide-auth", "kind": "ClusterTriggerAuthentication"},
            {"name": "cluster-wide-auth", "kind": "ClusterTriggerAuthentication"},
        ),
        (  # "With authenticationRef but no kind - should default to TriggerAuthentication"
            {"name": "my-auth"},
            {"name": "my-auth", "kind": "TriggerAuthentication"},
        ),
    ],
)
def test_authentication(reference: dict[str, str], expected: dict[str, str]) -> None:
    config = {**CONFIG, "authenticationRef": reference, "authModes": "basic"}
    trigger = the_trigger(kedaConfig=config)
    assert trigger["authenticationRef"] == expected
    assert trigger["metadata"]["authModes"] == "basic"


def test_auth_modes_alone_are_left_out() -> None:
    """ "With authModes but no authenticationRef - authModes should NOT be in metadata"."""
    trigger = the_trigger(kedaConfig={**CONFIG, "authModes": "basic"})
    assert "authenticationRef" not in trigger
    assert "authModes" not in trigger["metadata"]


def test_every_raw_component_gets_one() -> None:
    svc = service(annotations=KEDA, router={"minReplicas": 1})
    names = [o["metadata"]["name"] for o in by_kind(render_objects(plan(svc)), "ScaledObject")]
    assert names == ["scaledobject-chat-engine", "scaledobject-chat-router"]


@pytest.mark.parametrize(
    ("template", "formatted"),
    [
        ("up{job='%s'}", "up{job='chat-engine'}"),
        ("%v-%%", "chat-engine-%"),
        ("%q", '"chat-engine"'),
        ("%-12s|", "chat-engine |"),
        ("up", "up%!(EXTRA string=chat-engine)"),
        ("%s and %s", "chat-engine and %!s(MISSING)"),
        ("%d", "%!d(string=chat-engine)"),
        ("50%", "50%!(NOVERB)%!(EXTRA string=chat-engine)"),
        ("a % b", "a %!b(string=chat-engine)"),
        ("%5.2s|", "   ch|"),
        ("%x", "636861742d656e67696e65"),
    ],
)
def test_custom_queries_are_formatted_as_go_formats_them(template: str, formatted: str) -> None:
    assert go_sprintf(template, "chat-engine") == formatted
