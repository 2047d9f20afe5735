"""The objects rendered for a RawDeployment service."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ome.serving import Component, Reason, ServingConfig, ServingError, render_objects
from ome.serving.config import SHIPPED_INGRESS, IngressConfig
from tests.unit.serving.helpers import (
    ENGINE_ONLY,
    ROUTER_RUNNER,
    RUNNER,
    by_kind,
    cluster_model,
    cluster_runtime,
    format_entry,
    kinds_and_names,
    named,
    namespaced_model,
    plan,
    service,
)

INGRESS = ServingConfig(
    ingress=IngressConfig(
        ingress_gateway="gw",
        ingress_service="svc",
        ingress_class_name="nginx",
        ingress_domain="example.com",
    )
)


def objects(svc: Any = None, *catalogue: Any, **kwargs: Any) -> list[dict[str, Any]]:
    return render_objects(plan(svc, *catalogue, **kwargs))


def engine_pod(rendered: list[dict[str, Any]], name: str = "chat-engine") -> dict[str, Any]:
    pod: dict[str, Any] = named(rendered, "Deployment", name)["spec"]["template"]["spec"]
    return pod


def failure(svc: Any = None, *catalogue: Any, **kwargs: Any) -> ServingError:
    with pytest.raises(ServingError) as caught:
        objects(svc, *catalogue, **kwargs)
    return caught.value


def test_an_engine_only_service() -> None:
    rendered = objects()
    assert kinds_and_names(rendered) == ENGINE_ONLY
    assert {o["metadata"]["namespace"] for o in rendered} == {"team"}
    assert all("ownerReferences" not in o["metadata"] for o in rendered)


def test_labels_and_annotations() -> None:
    svc = service(
        labels={"team": "ml"},
        annotations={"note": "x", "kubectl.kubernetes.io/last-applied-configuration": "{}"},
        engine={"labels": {"tier": "gpu"}, "annotations": {"prometheus.io/scrape": "true"}},
    )
    deployment = named(objects(svc), "Deployment", "chat-engine")
    assert deployment["metadata"]["labels"] == {
        "app": "chat-engine",
        "base-model-name": "llama",
        "base-model-size": "SMALL",
        "base-model-type": "Serving",
        "base-model-vendor": "meta",
        "component": "engine",
        "fine-tuned-serving": "false",
        "ome.io/inferenceservice": "chat",
        "serving-runtime": "srt-llama",
        "team": "ml",
        "tier": "gpu",
    }
    assert deployment["metadata"]["annotations"] == {
        "note": "x",
        "ome.io/base-model-format": "safetensors",
        "ome.io/base-model-format-version": "1.0.0",
        "ome.io/base-model-name": "llama",
        "ome.io/base-model-vendor": "meta",
        "ome.io/serving-runtime": "srt-llama",
        "prometheus.io/scrape": "true",
    }
    template = deployment["spec"]["template"]["metadata"]
    assert template == {k: deployment["metadata"][k] for k in ("labels", "annotations")}
    service_object = named(objects(svc), "Service", "chat-engine")
    assert "prometheus.io/scrape" not in service_object["metadata"]["annotations"]


def test_scheduling_labels_come_from_annotations() -> None:
    svc = service(annotations={"ome.io/dedicated-ai-cluster": "dac", "kueue-enabled": "true"})
    labels = named(objects(svc), "Deployment", "chat-engine")["metadata"]["labels"]
    assert labels["kueue.x-k8s.io/queue-name"] == "dac"
    assert labels["kueue.x-k8s.io/priority-class"] == "kueue-scheduling-high-priority"
    # ours: the pods join the DedicatedAICluster's reservation
    assert labels["ome.io/dedicated-ai-cluster"] == "dac"
    pod = engine_pod(objects(svc))
    assert pod["nodeSelector"]["ome.io/dedicated-ai-cluster"] == "dac"
    assert pod["priorityClassName"] == "ome-dac-workload"


def test_the_engine_pod() -> None:
    pod = engine_pod(objects())
    (main,) = pod["containers"]
    assert main["name"] == "ome-container"
    assert main["image"] == "sglang:1"
    assert main["env"] == [
        {"name": "MODEL_PATH", "value": "/raid/models/llama"},
        {"name": "PARALLELISM_SIZE", "value": "2"},
    ]
    assert main["volumeMounts"] == [
        {"mountPath": "/raid/models/llama", "name": "llama", "readOnly": True}
    ]
    assert pod["volumes"] == [{"hostPath": {"path": "/raid/models/llama"}, "name": "llama"}]
    assert pod["nodeSelector"] == {"models.ome.io/clusterbasemodel.llama": "Ready"}
    assert main["readinessProbe"]["tcpSocket"] == {"port": 8080}
    assert main["imagePullPolicy"] == "IfNotPresent"
    assert pod["dnsPolicy"] == "ClusterFirst"
    assert pod["terminationGracePeriodSeconds"] == 30
    deployment = named(objects(), "Deployment", "chat-engine")["spec"]
    assert "replicas" not in deployment
    assert deployment["selector"] == {"matchLabels": {"app": "chat-engine"}}
    assert deployment["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }


def test_a_namespaced_model_selects_its_own_node_label() -> None:
    svc = service(model={"name": "llama", "kind": "BaseModel"})
    pod = engine_pod(objects(svc, namespaced_model(), cluster_runtime("srt-llama")))
    assert pod["nodeSelector"] == {"models.ome.io/team.basemodel.llama": "Ready"}


def test_node_selectors_merge_runtime_then_service() -> None:
    runtime = cluster_runtime("srt-llama", nodeSelector={"gpu": "h100", "pool": "a"})
    svc = service(engine={"nodeSelector": {"pool": "b"}})
    pod = engine_pod(objects(svc, cluster_model(), runtime))
    assert pod["nodeSelector"] == {
        "gpu": "h100",
        "models.ome.io/clusterbasemodel.llama": "Ready",
        "pool": "b",
    }


def test_the_services_runner_merges_into_the_runtimes() -> None:
    svc = service(
        engine={
            "runner": {
                "args": ["--served-model-name", "{{ .Name }}-{{ .Namespace }}"],
                "env": [{"name": "MODEL_PATH", "value": "/custom"}],
                "resources": {"limits": {"nvidia.com/gpu": 4}},
            }
        }
    )
    (main,) = engine_pod(objects(svc))["containers"]
    assert main["args"] == ["--model-path", "$(MODEL_PATH)", "--served-model-name", "chat-team"]
    assert {"name": "MODEL_PATH", "value": "/custom"} in main["env"]
    assert {"name": "PARALLELISM_SIZE", "value": "4"} in main["env"]


def test_a_runner_appends_its_args_to_the_container_of_its_name() -> None:
    engine = {"containers": [{"name": "ome-container", "args": ["--base"]}], "runner": RUNNER}
    runtime = cluster_runtime("srt-llama", engineConfig=engine)
    (main,) = engine_pod(objects(service(), cluster_model(), runtime))["containers"]
    assert main["args"] == ["--base", "--model-path", "$(MODEL_PATH)"]


def test_runtime_legacy_container_resources_fill_in() -> None:
    legacy = [
        {"name": "ome-container", "resources": {"requests": {"cpu": "8", "nvidia.com/gpu": "8"}}}
    ]
    runtime = cluster_runtime("srt-llama", containers=legacy)
    (main,) = engine_pod(objects(service(), cluster_model(), runtime))["containers"]
    assert main["resources"]["requests"] == {"cpu": "8", "nvidia.com/gpu": 2}
    own = service(engine={"runner": {"resources": {"limits": {"cpu": "1"}}}})
    (main,) = engine_pod(objects(own, cluster_model(), runtime))["containers"]
    assert main["resources"]["requests"] == {"nvidia.com/gpu": 2}


def test_a_runtime_chat_template_survives() -> None:
    jinja = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    runner = {**RUNNER, "args": ["--chat-template", jinja]}
    runtime = cluster_runtime("srt-llama", engineConfig={"runner": runner})
    (main,) = engine_pod(objects(service(), cluster_model(), runtime))["containers"]
    assert main["args"][1] == jinja


def test_the_router() -> None:
    svc = service(router={"minReplicas": 1, "config": {"POLICY": "cache_aware", "A": "1"}})
    rendered = objects(svc)
    assert [o["kind"] for o in rendered if o["metadata"]["name"] == "chat-router"] == [
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    ]
    pod = engine_pod(rendered, "chat-router")
    (main,) = pod["containers"]
    assert main["env"] == [{"name": "A", "value": "1"}, {"name": "POLICY", "value": "cache_aware"}]
    assert pod["serviceAccountName"] == "chat-router"
    assert "nodeSelector" not in pod
    assert "readinessProbe" not in main
    role = named(rendered, "Role", "chat-router")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
    ]
    assert "app" not in role["metadata"]["labels"]
    external = named(rendered, "Service", "chat")
    assert external["spec"]["selector"] == {
        "component": "router",
        "ome.io/inferenceservice": "chat",
    }
    assert external["spec"]["ports"] == [
        {"name": "http", "port": 8000, "protocol": "TCP", "targetPort": 8000}
    ]


def test_a_runtime_router_alone_creates_nothing() -> None:
    assert not [o for o in objects() if "router" in o["metadata"]["name"]]


def test_services_take_the_first_containers_ports() -> None:
    rendered = objects()
    assert named(rendered, "Service", "chat-engine")["spec"] == {
        "ports": [{"name": "http1", "port": 8080, "protocol": "TCP", "targetPort": 8080}],
        "selector": {"app": "chat-engine"},
        "type": "ClusterIP",
    }
    runtime = cluster_runtime(
        "srt-llama", engineConfig={"runner": {"name": "ome-container", "image": "x"}}
    )
    svc = service(
        annotations={"ome.io/service-type": "LoadBalancer", "ome.io/load-balancer-ip": "10.0.0.9"}
    )
    spec = named(objects(svc, cluster_model(), runtime), "Service", "chat-engine")["spec"]
    assert spec["ports"] == [
        {"name": "ome-container", "port": 8080, "protocol": "TCP", "targetPort": 8080}
    ]
    assert spec["type"] == "LoadBalancer"
    assert spec["loadBalancerIP"] == "10.0.0.9"


@pytest.mark.parametrize(
    ("engine", "annotations", "expected"),
    [
        ({}, {}, (1, 1, "cpu", 80)),
        (
            {"minReplicas": 2, "maxReplicas": 5, "scaleMetric": "memory", "scaleTarget": 60},
            {},
            (2, 5, "memory", 60),
        ),
        ({"maxReplicas": 3}, {"ome.io/targetUtilizationPercentage": "70"}, (1, 3, "cpu", 70)),
        (
            {"minReplicas": 4, "maxReplicas": 2},
            {"ome.io/targetUtilizationPercentage": "x"},
            (4, 4, "cpu", 80),
        ),
    ],
)
def test_the_autoscaler(
    engine: dict[str, Any], annotations: dict[str, str], expected: tuple[Any, ...]
) -> None:
    hpa = named(
        objects(service(engine=engine, annotations=annotations)),
        "HorizontalPodAutoscaler",
        "chat-engine",
    )
    metric = hpa["spec"]["metrics"][0]["resource"]
    found = (
        hpa["spec"]["minReplicas"],
        hpa["spec"]["maxReplicas"],
        metric["name"],
        metric["target"]["averageUtilization"],
    )
    assert found == expected
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "chat-engine",
    }


def test_external_scaling_has_no_autoscaler() -> None:
    svc = service(annotations={"ome.io/autoscalerClass": "external"})
    assert not by_kind(objects(svc), "HorizontalPodAutoscaler")


def test_an_unknown_autoscaler_class_is_refused() -> None:
    svc = service(annotations={"ome.io/autoscalerClass": "vpa"})
    assert failure(svc).reason is Reason.INVALID_AUTOSCALER_CLASS


def test_keda_scaling_has_a_scaled_object_and_no_hpa() -> None:
    rendered = objects(service(annotations={"ome.io/autoscalerClass": "keda"}))
    assert not by_kind(rendered, "HorizontalPodAutoscaler")
    scaled = named(rendered, "ScaledObject", "scaledobject-chat-engine")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == "chat-engine"
    assert scaled["metadata"]["labels"]["component"] == "engine"


def test_the_disruption_budget() -> None:
    default = named(objects(), "PodDisruptionBudget", "chat-engine")["spec"]
    assert default == {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "chat-engine"}}}
    svc = service(engine={"minAvailable": "50%"})
    assert (
        named(objects(svc), "PodDisruptionBudget", "chat-engine")["spec"]["minAvailable"] == "50%"
    )


def test_the_modelconfig() -> None:
    config = named(objects(), "ConfigMap", "modelconfig-chat")
    assert config["metadata"]["labels"] == {"ome.io/inferenceservice": "chat"}
    assert json.loads(config["data"]["models.json"]) == [
        {
            "modelName": "llama",
            "modelSpec": {
                "storageUri": "hf://meta/llama",
                "path": "/raid/models/llama",
                "modelFormatName": "safetensors",
                "modelFormatVersion": "1.0.0",
                "modelFrameworkName": "transformers",
                "modelFrameworkVersion": "4.42.3",
            },
        }
    ]


def test_owner_references_when_the_service_has_a_uid() -> None:
    svc = service()
    svc.metadata.uid = "1234"
    for obj in objects(svc):
        assert obj["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "ome.io/v1beta1",
                "kind": "InferenceService",
                "name": "chat",
                "uid": "1234",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]


def test_cluster_local_services_get_no_external_service() -> None:
    svc = service(labels={"networking.knative.dev/visibility": "cluster-local"})
    assert [s["metadata"]["name"] for s in by_kind(objects(svc), "Service")] == ["chat-engine"]


def test_external_service_annotations_and_type() -> None:
    annotations = {
        "service.beta.kubernetes.io/oci-load-balancer-shape": "flexible",
        "ome.io/service-type": "NodePort",
    }
    external = named(objects(service(annotations=annotations)), "Service", "chat")
    assert external["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/oci-load-balancer-shape": "flexible"
    }
    assert external["metadata"]["labels"] == {
        "component": "external-service",
        "ome.io/inferenceservice": "chat",
    }
    assert external["spec"]["type"] == "NodePort"


class TestIngress:
    def rules(self, svc: Any) -> list[tuple[str, str]]:
        runtime = cluster_runtime("srt-llama", decoderConfig={"runner": dict(RUNNER)})
        (ingress,) = by_kind(
            render_objects(plan(svc, cluster_model(), runtime, config=INGRESS)), "Ingress"
        )
        assert ingress["spec"]["ingressClassName"] == "nginx"
        paths = [(r["host"], r["http"]["paths"][0]) for r in ingress["spec"]["rules"]]
        assert {p["path"] for _, p in paths} == {"/"}
        assert {p["backend"]["service"]["port"]["number"] for _, p in paths} == {8080}
        return [(host, p["backend"]["service"]["name"]) for host, p in paths]

    def test_engine_only(self) -> None:
        assert self.rules(service()) == [("chat.team.example.com", "chat-engine")]

    def test_with_a_router(self) -> None:
        assert self.rules(service(router={}, decoder={})) == [
            ("chat.team.example.com", "chat-router"),
            ("chat-router.team.example.com", "chat-router"),
            ("chat-engine.team.example.com", "chat-engine"),
            ("chat-decoder.team.example.com", "chat-decoder"),
        ]

    def test_with_a_decoder_the_top_host_leads_to_the_engine(self) -> None:
        assert self.rules(service(decoder={})) == [
            ("chat.team.example.com", "chat-engine"),
            ("chat-engine.team.example.com", "chat-engine"),
            ("chat-decoder.team.example.com", "chat-decoder"),
        ]

    def test_the_ingress_waits_for_the_entry_component(self) -> None:
        planned = plan(service(router={}), config=INGRESS)
        assert not by_kind(render_objects(planned, available={Component.ENGINE}), "Ingress")
        assert by_kind(render_objects(planned, available={Component.ROUTER}), "Ingress")
        assert not [
            s
            for s in by_kind(render_objects(planned), "Service")
            if s["metadata"]["name"] == "chat"
        ]

    def test_a_service_may_disable_it(self) -> None:
        svc = service(annotations={"ome.io/ingress-disable-creation": "true"})
        rendered = render_objects(plan(svc, config=INGRESS))
        assert not by_kind(rendered, "Ingress")
        assert named(rendered, "Service", "chat")

    def test_an_invalid_domain_is_refused(self) -> None:
        svc = service(
            annotations={"ome.io/ingress-domain-template": "{{ .Name }}_{{ .Namespace }}"}
        )
        assert failure(svc, config=INGRESS).reason is Reason.INVALID_INGRESS_DOMAIN

    def test_gateway_api_needs_a_gateway(self) -> None:
        config = ServingConfig(
            ingress=IngressConfig(ingress_gateway="g", ingress_service="s", enable_gateway_api=True)
        )
        assert failure(config=config).reason is Reason.INVALID_INGRESS_GATEWAY
        shipped = ServingConfig(ingress=SHIPPED_INGRESS)
        assert objects(config=shipped)


@pytest.mark.parametrize(
    ("svc", "runtime", "reason"),
    [
        (
            service(engine={"annotations": {"ome.io/deploymentMode": "MultiNodeRayVLLM"}}),
            None,
            Reason.UNSUPPORTED_DEPLOYMENT_MODE,
        ),
        (service(decoder={}), None, Reason.DECODER_CONFIG_MISSING),
        (
            service(decoder={}),
            cluster_runtime("srt-llama", decoderConfig={"minReplicas": 1}),
            Reason.NO_CONTAINERS,
        ),
        (service(engine=None, router={}), None, Reason.ENGINE_MISSING),
        (
            service(engine=None, model=None, predictor={"model": {"baseModel": "llama"}}),
            None,
            Reason.PREDICTOR_UNSUPPORTED,
        ),
        (service(engine=None, predictor={}), None, Reason.ENGINE_MISSING),
    ],
)
def test_unservable_shapes(svc: Any, runtime: Any, reason: Reason) -> None:
    catalogue = (cluster_model(), runtime or cluster_runtime("srt-llama"))
    assert failure(svc, *catalogue).reason is reason


def test_the_router_runner_comes_from_the_runtime() -> None:
    runtime = cluster_runtime("srt-llama", format_entry(), routerConfig={"runner": ROUTER_RUNNER})
    pod = engine_pod(objects(service(router={}), cluster_model(), runtime), "chat-router")
    assert pod["containers"][0]["image"] == "router:1"


def test_model_init_injection_leaves_the_model_to_the_webhook() -> None:
    svc = service(annotations={"ome.io/inject-model-init": "true"})
    pod = engine_pod(objects(svc))
    (main,) = pod["containers"]
    assert "volumeMounts" not in main
    assert [e["name"] for e in main["env"]] == ["PARALLELISM_SIZE"]
    assert pod["volumes"] == [{"hostPath": {"path": "/raid/models/llama"}, "name": "llama"}]
