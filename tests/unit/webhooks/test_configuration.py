"""The webhook configurations: every hook fails closed, speaks v1 and has no side
effects; reached by Service or URL; selectors and caBundle as asked."""

from __future__ import annotations

import base64

import pytest

from ome.webhooks import HOOKS, ServiceRef, webhook_configurations


def test_service_configurations() -> None:
    mutating, validating = webhook_configurations(
        service=ServiceRef("ome", "ome-webhook-server-service"), ca_bundle=b"PEM"
    )
    assert mutating["kind"] == "MutatingWebhookConfiguration"
    assert mutating["metadata"]["name"] == "ome-mutating-webhook-configuration"
    assert validating["metadata"]["name"] == "ome-validating-webhook-configuration"
    hooks = mutating["webhooks"] + validating["webhooks"]
    assert [h["name"] for h in hooks] == [h.name for h in HOOKS]
    for hook, spec in zip(hooks, HOOKS, strict=True):
        assert hook["failurePolicy"] == "Fail"
        assert hook["sideEffects"] == "None"
        assert hook["admissionReviewVersions"] == ["v1"]
        rule = hook["rules"][0]
        assert rule["apiGroups"] == [spec.group]
        assert rule["apiVersions"] == [spec.version]
        # deleting a weight in use is refused, so that hook sees deletions too
        deletes = ["DELETE"] if spec.resource == "finetunedweights" else []
        if spec.resource == "pods":  # pods joining a DedicatedAICluster, as they are made
            assert rule["operations"] == ["CREATE"]
            assert hook["matchConditions"][0]["expression"].endswith(
                "'ome.io/dedicated-ai-cluster' in object.metadata.annotations"
            )
        else:
            assert rule["operations"] == ["CREATE", "UPDATE", *deletes]
        assert rule["resources"] == [spec.resource]
        assert hook["clientConfig"]["service"] == {
            "namespace": "ome",
            "name": "ome-webhook-server-service",
            "path": spec.path,
            "port": 443,
        }
        assert base64.b64decode(hook["clientConfig"]["caBundle"]) == b"PEM"
    assert [h["rules"][0]["resources"][0] for h in validating["webhooks"]] == [
        "inferenceservices",
        "servingruntimes",
        "clusterservingruntimes",
        "finetunedweights",
        "dedicatedaiclusters",
    ]


def test_url_configurations_with_selectors() -> None:
    selector = {"matchLabels": {"team": "a"}}
    mutating, validating = webhook_configurations(
        url="https://127.0.0.1:9443/",
        namespace_selector=selector,
        object_selector=selector,
        mutating_name="m",
        validating_name="v",
    )
    assert mutating["webhooks"][0]["clientConfig"] == {
        "url": "https://127.0.0.1:9443/mutate-ome-io-v1beta1-inferenceservice"
    }
    for hook in mutating["webhooks"] + validating["webhooks"]:
        assert hook["objectSelector"] == selector
        cluster_scoped = hook["rules"][0]["scope"] == "Cluster"
        assert ("namespaceSelector" in hook) is not cluster_scoped


def test_exactly_one_way_to_reach_the_server() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        webhook_configurations()
    with pytest.raises(ValueError, match="exactly one"):
        webhook_configurations(service=ServiceRef("a", "b"), url="https://x")
