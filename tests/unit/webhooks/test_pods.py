"""The pod webhook: upstream's metrics annotations and RDMA additions for the pods of an
InferenceService (upstream pkg/webhook/admission/pod/mutator.go), nothing twice, nothing
for other pods."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ome.serving import MemoryCatalog, ServingError
from ome.serving.metrics_aggregation import MetricsAggregation
from ome.webhooks.admission import Admission
from ome.webhooks.pods import mutate_pod
from tests.compat.rdma import SECURITY_CONTEXT, with_upstream_rdma
from tests.unit.webhooks.support import request
from tests.unit.webhooks.test_jsonpatch import apply

OFF = MetricsAggregation()
SHIPPED = {
    "metricsAggregator": '{"enableMetricAggregation": "false", "enablePrometheusScraping": "false"}'
}
RDMA = {
    "rdma.ome.io/auto-inject": "true",
    "rdma.ome.io/profile": "oci-roce",
    "rdma.ome.io/container-name": "ome-container",
}
METRICS_OFF = {
    "ome.io/enable-metric-aggregation": "false",
    "ome.io/enable-prometheus-scraping": "false",
}


def pod(annotations: dict[str, str] | None = None, *, labelled: bool = True) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "ds-0", "namespace": "team"}
    if labelled:
        metadata["labels"] = {"ome.io/inferenceservice": "ds"}
    if annotations is not None:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "containers": [
                {
                    "name": "ome-container",
                    "image": "sglang:1",
                    "env": [{"name": "GLOO_SOCKET_IFNAME", "value": "eth1"}],
                    "volumeMounts": [{"name": "model", "mountPath": "/mnt/model"}],
                },
                {"name": "sidecar", "image": "busybox"},
            ],
            "volumes": [{"name": "model", "hostPath": {"path": "/raid/model"}}],
        },
    }


def test_an_rdma_pod_gets_exactly_upstreams_additions() -> None:
    """upstream pkg/webhook/admission/pod/rdma_injector.go; the metrics annotations from
    metrics_aggregate_injector.go (config "false", as upstream ships it)"""
    mutated = mutate_pod(pod(RDMA), OFF)
    expected = with_upstream_rdma(pod({**RDMA, **METRICS_OFF}))
    assert mutated == expected
    (main, sidecar) = mutated["spec"]["containers"]
    # the container's own GLOO_SOCKET_IFNAME wins; upstream would append eth0 after it
    assert [e["value"] for e in main["env"] if e["name"] == "GLOO_SOCKET_IFNAME"] == ["eth1"]
    assert sidecar == {"name": "sidecar", "image": "busybox"}


def test_reinvocation_adds_nothing() -> None:
    once = mutate_pod(pod(RDMA), OFF)
    assert mutate_pod(copy.deepcopy(once), OFF) == once
    admission = Admission(MemoryCatalog(), lambda: SHIPPED)
    assert admission.mutate_pod(request(once)).patch == ()


def test_the_admission_patch_gives_the_mutated_pod() -> None:
    original = pod(RDMA)
    verdict = Admission(MemoryCatalog(), lambda: SHIPPED).mutate_pod(request(original))
    assert verdict.allowed
    assert apply(copy.deepcopy(original), list(verdict.patch)) == mutate_pod(original, OFF)


def test_pods_without_the_label_are_not_touched() -> None:
    """upstream mutator.go needMutate (the objectSelector keeps them away as well)"""
    unlabelled = pod(RDMA, labelled=False)
    assert mutate_pod(unlabelled, OFF) == unlabelled
    verdict = Admission(MemoryCatalog(), lambda: SHIPPED).mutate_pod(request(unlabelled))
    assert verdict.allowed
    assert verdict.patch == ()


def test_without_auto_inject_only_the_metrics_annotations_are_added() -> None:
    for own in (None, {"rdma.ome.io/auto-inject": "false"}):
        plain = pod(own)
        mutated = mutate_pod(plain, OFF)
        assert mutated["spec"] == plain["spec"]
        assert mutated["metadata"]["annotations"] == {**(own or {}), **METRICS_OFF}


def test_profile_and_container_default_and_a_missing_container_is_skipped() -> None:
    """upstream rdma_injector.go: DefaultRDMAProfile oci-roce, DefaultContainerName
    ome-container; a pod without the target container is left as it is"""
    defaulted = mutate_pod(pod({"rdma.ome.io/auto-inject": "true"}), OFF)
    assert defaulted["spec"]["containers"][0]["securityContext"] == SECURITY_CONTEXT
    elsewhere = pod({**RDMA, "rdma.ome.io/container-name": "trainer"})
    assert mutate_pod(elsewhere, OFF)["spec"] == elsewhere["spec"]


def test_an_existing_security_context_is_merged() -> None:
    """upstream rdma_injector.go: capabilities added once, privileged only when unset"""
    own = pod(RDMA)
    own["spec"]["containers"][0]["securityContext"] = {
        "capabilities": {"add": ["IPC_LOCK", "NET_ADMIN"], "drop": ["ALL"]},
        "privileged": False,
        "runAsUser": 0,
    }
    context = mutate_pod(own, OFF)["spec"]["containers"][0]["securityContext"]
    assert context == {
        "capabilities": {"add": ["IPC_LOCK", "NET_ADMIN", "CAP_SYS_ADMIN"], "drop": ["ALL"]},
        "privileged": False,
        "runAsUser": 0,
    }


def test_an_unknown_profile_refuses_the_pod_naming_the_annotation() -> None:
    """upstream rdma_injector.go returns "unknown RDMA profile", failing the request"""
    bad = pod({**RDMA, "rdma.ome.io/profile": "infiniband"})
    with pytest.raises(ServingError):
        mutate_pod(bad, OFF)
    verdict = Admission(MemoryCatalog(), lambda: SHIPPED).mutate_pod(request(bad))
    assert not verdict.allowed
    assert verdict.code == 500
    assert "rdma.ome.io/profile 'infiniband'" in verdict.message


def test_a_broken_metrics_config_refuses_the_pod_naming_the_key() -> None:
    broken = Admission(MemoryCatalog(), lambda: {"metricsAggregator": "{"})
    verdict = broken.mutate_pod(request(pod(RDMA)))
    assert not verdict.allowed
    assert "inferenceservice-config key 'metricsAggregator'" in verdict.message
