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
        if spec.resource == "pods":  # completed, or joined to a DAC, as they are made
            assert rule["operations"] == ["CREATE"]
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
        "benchmarkjobs",
        "dedicatedaiclusters",
    ]
    dac_pods = next(h for h in hooks if h["name"].startswith("pod.dedicatedaicluster"))
    assert dac_pods["matchConditions"][0]["expression"].endswith(
        "'ome.io/dedicated-ai-cluster' in object.metadata.annotations"
    )


def test_url_configurations_with_selectors() -> None:
    selector = {"matchLabels": {"team": "a"}}
    mutating, validating = webhook_configurations(
        url="https://127.0.0.1:9443/",
        namespace_selector=selector,
        object_selector=selector,
        mutating_name="m",
        validating_name="v",
    )
    assert {"url": "https://127.0.0.1:9443/mutate-ome-io-v1beta1-inferenceservice"} in [
        h["clientConfig"] for h in mutating["webhooks"]
    ]
    for hook in mutating["webhooks"] + validating["webhooks"]:
        if hook["rules"][0]["resources"] == ["pods"]:
            continue  # its own selectors narrowed further: below
        assert hook["objectSelector"] == selector
        cluster_scoped = hook["rules"][0]["scope"] == "Cluster"
        assert ("namespaceSelector" in hook) is not cluster_scoped


def test_the_pod_hook_is_upstreams() -> None:
    """upstream config/webhook/manifests.yaml (inferenceservice.ome-webhook-server.pod-mutator)
    and the kubebuilder marker in pkg/webhook/admission/pod/mutator.go"""
    (mutating, _) = webhook_configurations(service=ServiceRef("ome", "svc"))
    (hook,) = [h for h in mutating["webhooks"] if h["name"].endswith("pod-mutator")]
    assert hook["name"] == "inferenceservice.ome-webhook-server.pod-mutator"
    assert hook["clientConfig"]["service"]["path"] == "/mutate-pods"
    assert hook["rules"] == [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE"],
            "resources": ["pods"],
            "scope": "Namespaced",
        }
    ]
    assert hook["failurePolicy"] == "Fail"
    assert hook["reinvocationPolicy"] == "IfNeeded"
    assert hook["objectSelector"] == {
        "matchExpressions": [{"key": "ome.io/inferenceservice", "operator": "Exists"}]
    }
    assert hook["namespaceSelector"] == {
        "matchExpressions": [{"key": "control-plane", "operator": "DoesNotExist"}]
    }
    # every other mutating hook keeps its single call
    others = [h for h in mutating["webhooks"] if h is not hook]
    assert {h["reinvocationPolicy"] for h in others} == {"Never"}


def test_the_pod_hooks_selectors_narrow_the_given_ones() -> None:
    (mutating, _) = webhook_configurations(
        url="https://127.0.0.1:9443",
        namespace_selector={"matchLabels": {"team": "a"}},
        object_selector={
            "matchLabels": {"test": "x"},
            "matchExpressions": [{"key": "tier", "operator": "Exists"}],
        },
    )
    (hook,) = [h for h in mutating["webhooks"] if h["name"].endswith("pod-mutator")]
    assert hook["objectSelector"] == {
        "matchLabels": {"test": "x"},
        "matchExpressions": [
            {"key": "ome.io/inferenceservice", "operator": "Exists"},
            {"key": "tier", "operator": "Exists"},
        ],
    }
    assert hook["namespaceSelector"] == {
        "matchLabels": {"team": "a"},
        "matchExpressions": [{"key": "control-plane", "operator": "DoesNotExist"}],
    }


def test_exactly_one_way_to_reach_the_server() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        webhook_configurations()
    with pytest.raises(ValueError, match="exactly one"):
        webhook_configurations(service=ServiceRef("a", "b"), url="https://x")
