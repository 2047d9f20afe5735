"""The InferencePool a service asks for with ``ome.io/inference-pool-endpoint-picker``:
over exactly the serving pods, with the named endpoint picker, the service's route
leading to it, and a clear refusal of a malformed annotation."""

from __future__ import annotations

from typing import Any

import pytest

from ome.serving import ServingError, render_objects
from ome.serving.problems import Reason
from tests.unit.serving.helpers import (
    RUNNER,
    by_kind,
    cluster_model,
    cluster_runtime,
    named,
    plan,
    service,
)
from tests.unit.serving.test_gateway import GATEWAY, MULTI_NODE

PICKER = {"ome.io/inference-pool-endpoint-picker": "chat-epp"}


def rendered(svc: Any, *catalogue: Any, **options: Any) -> list[dict[str, Any]]:
    return render_objects(plan(svc, *catalogue, **options))


def test_without_the_annotation_there_is_no_pool() -> None:
    assert not by_kind(rendered(service()), "InferencePool")


def test_the_pool_holds_the_engine_pods_on_their_port_with_the_picker() -> None:
    objects = rendered(service(annotations=PICKER))
    (pool,) = by_kind(objects, "InferencePool")
    deployment = named(objects, "Deployment", "chat-engine")
    assert pool["apiVersion"] == "inference.networking.k8s.io/v1"
    assert pool["metadata"]["name"] == "chat-pool"
    assert pool["metadata"]["labels"] == {"ome.io/inferenceservice": "chat", "component": "engine"}
    # the pool selects on what only the engine's pods carry: the Deployment's own selector
    assert pool["spec"]["selector"] == deployment["spec"]["selector"]
    assert pool["spec"]["targetPorts"] == [{"number": 8080}]
    assert pool["spec"]["endpointPickerRef"] == {
        "kind": "Service",
        "name": "chat-epp",
        "port": {"number": 9002},
    }


def test_a_port_can_be_given_with_the_picker() -> None:
    annotations = {"ome.io/inference-pool-endpoint-picker": "epp:9100"}
    (pool,) = by_kind(rendered(service(annotations=annotations)), "InferencePool")
    assert pool["spec"]["endpointPickerRef"]["port"] == {"number": 9100}


def test_prefill_decode_pools_the_decoder_pods() -> None:
    runtime = cluster_runtime("srt-llama", decoderConfig={"runner": dict(RUNNER)})
    svc = service(annotations=PICKER, decoder={"minReplicas": 1}, router=None)
    objects = rendered(svc, cluster_model(), runtime)
    (pool,) = by_kind(objects, "InferencePool")
    assert (
        pool["spec"]["selector"] == named(objects, "Deployment", "chat-decoder")["spec"]["selector"]
    )


def test_a_multi_node_engine_pools_its_leaders_only() -> None:
    runtime = cluster_runtime("srt-llama", engineConfig=MULTI_NODE)
    objects = rendered(service(annotations=PICKER), cluster_model(), runtime)
    (pool,) = by_kind(objects, "InferencePool")
    leaders = named(objects, "Service", "chat-engine")["spec"]["selector"]
    assert pool["spec"]["selector"]["matchLabels"] == leaders


def test_the_services_route_leads_to_the_pool() -> None:
    svc = service(annotations=PICKER, router={"minReplicas": 1})
    found = {r["metadata"]["name"]: r for r in by_kind(rendered(svc, config=GATEWAY), "HTTPRoute")}
    (rule,) = found["chat"]["spec"]["rules"]
    assert rule["backendRefs"] == [
        {
            "group": "inference.networking.k8s.io",
            "kind": "InferencePool",
            "name": "chat-pool",
            "namespace": "team",
            "weight": 1,
        }
    ]
    # the components' own routes still lead to their Services
    assert found["chat-router"]["spec"]["rules"][0]["backendRefs"][0]["kind"] == "Service"


@pytest.mark.parametrize("value", ["", "Chat_EPP", "epp:", "epp:0", "epp:http", "epp:70000"])
def test_a_malformed_picker_is_refused_naming_the_annotation(value: str) -> None:
    annotations = {"ome.io/inference-pool-endpoint-picker": value}
    with pytest.raises(ServingError) as caught:
        plan(service(annotations=annotations))
    assert caught.value.reason is Reason.INVALID_ENDPOINT_PICKER
    assert "ome.io/inference-pool-endpoint-picker" in caught.value.message
