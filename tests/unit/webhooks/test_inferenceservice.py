"""InferenceService validation through the webhook handlers: every refusal names its
field, the semantic rules of upstream's webhook, and references checked only when the
spec is written."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ome.api.v1beta1 import FineTunedWeight
from ome.serving import MemoryCatalog
from ome.webhooks import Admission
from ome.webhooks.admission import GATEWAY_FIELD
from ome.webhooks.review import Verdict
from tests.compat.malformed import API_VERSION, VALID, VARIANTS
from tests.unit.webhooks.support import (
    NAMESPACE,
    RUNNER,
    cluster_model,
    cluster_runtime,
    format_entry,
    request,
    service,
)

ISVC_VARIANTS = [v for v in VARIANTS if v.kind == "InferenceService"]


def admission(*objects: Any) -> Admission:
    return Admission(MemoryCatalog.of(objects), migrate_predictor=True)


def validate(
    obj: dict[str, Any], *objects: Any, operation: str = "CREATE", old: Any = None
) -> Verdict:
    return admission(*objects).validate_inference_service(request(obj, operation, old))


def causes(verdict: Verdict) -> dict[str, str]:
    return {c.field: c.message for c in verdict.causes}


@pytest.mark.parametrize("variant", ISVC_VARIANTS, ids=[v.id for v in ISVC_VARIANTS])
def test_each_malformed_variant_is_refused_naming_its_field(variant: Any) -> None:
    document = variant.document
    document["metadata"]["namespace"] = NAMESPACE
    verdict = validate(document, cluster_model("llama-3-1-8b-instruct"))
    assert not verdict.allowed
    assert variant.path in verdict.message
    assert any(c.field.startswith(variant.path) for c in verdict.causes)


def test_the_valid_sample_is_admitted() -> None:
    document = copy.deepcopy(VALID["InferenceService"])
    document.update(apiVersion=API_VERSION, kind="InferenceService")
    verdict = validate(document, cluster_model("llama-3-1-8b-instruct"))
    assert verdict.allowed, verdict.message
    # its runtime does not exist yet: a warning, not a refusal
    assert any("srt-llama-3-1-8b-instruct" in w for w in verdict.warnings)


def test_status_does_not_take_part() -> None:
    obj = service(engine={"runner": RUNNER})
    obj["status"] = {"anything": {"the": "controller wrote"}}
    assert validate(obj, cluster_model()).allowed


def test_a_name_with_dots_is_refused() -> None:
    verdict = validate(service("chat.v1", engine={"runner": RUNNER}), cluster_model())
    assert "metadata.name" in causes(verdict)
    assert "must match" in causes(verdict)["metadata.name"]


def test_a_decoder_needs_an_engine() -> None:
    verdict = validate(service(engine=None, decoder={"runner": RUNNER}), cluster_model())
    assert causes(verdict) == {"spec.decoder": "decoder cannot be specified without engine"}


def test_the_model_must_exist() -> None:
    verdict = validate(service(engine={"runner": RUNNER}))
    assert not verdict.allowed
    assert "spec.model.name" in causes(verdict)
    assert "llama" in causes(verdict)["spec.model.name"]


def test_an_unknown_model_kind_names_the_kind() -> None:
    obj = service(engine={"runner": RUNNER}, model={"name": "llama", "kind": "FineTunedWeight"})
    assert "spec.model.kind" in causes(validate(obj, cluster_model()))


def test_a_runtime_must_be_selectable_when_the_engine_brings_no_image() -> None:
    verdict = validate(service(), cluster_model())
    assert "spec.runtime" in causes(verdict)
    assert "no supporting runtime found for model llama" in causes(verdict)["spec.runtime"]
    verdict = validate(service(), cluster_model(), cluster_runtime("srt"))
    assert verdict.allowed
    assert verdict.warnings == ("Runtime srt will be auto-selected for model llama",)


def test_a_model_is_required_when_a_runtime_must_be_selected() -> None:
    verdict = validate(service(model=None))
    assert "spec.model" in causes(verdict)


def test_a_disabled_model_is_refused_only_when_a_runtime_must_be_selected() -> None:
    disabled = cluster_model(disabled=True)
    verdict = validate(service(), disabled, cluster_runtime("srt"))
    assert causes(verdict) == {"spec.model.name": "model llama is disabled"}
    assert validate(service(engine={"runner": RUNNER}), disabled).allowed


def test_a_leader_and_worker_with_images_are_a_full_runner() -> None:
    engine = {"leader": {"runner": RUNNER}, "worker": {"size": 1, "runner": RUNNER}}
    assert validate(service(engine=engine), cluster_model()).allowed
    engine = {"leader": {"runner": RUNNER}, "worker": {"size": 1}}
    assert not validate(service(engine=engine), cluster_model()).allowed


def test_a_named_runtime_is_not_required_to_exist_yet() -> None:
    verdict = validate(service(runtime={"name": "later"}), cluster_model())
    assert verdict.allowed
    assert any("later" in w for w in verdict.warnings)


def test_references_are_not_checked_on_a_metadata_only_update() -> None:
    obj = service(engine={"runner": RUNNER})
    newer = copy.deepcopy(obj)
    newer["metadata"]["finalizers"] = ["inferenceservice.finalizers"]
    assert validate(newer, operation="UPDATE", old=obj).allowed  # the model is gone
    newer["spec"]["engine"]["minReplicas"] = 2
    assert not validate(newer, operation="UPDATE", old=obj).allowed


def test_an_object_being_deleted_is_admitted() -> None:
    obj = service(engine=None, decoder={})
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert validate(obj, operation="UPDATE", old=obj).allowed


@pytest.mark.parametrize(
    ("annotations", "field"),
    [
        ({"ome.io/autoscalerClass": "vpa"}, "metadata.annotations[ome.io/autoscalerClass]"),
        (
            {"ome.io/autoscalerClass": "hpa", "ome.io/metrics": "gpu"},
            "metadata.annotations[ome.io/metrics]",
        ),
        (
            {"ome.io/targetUtilizationPercentage": "101"},
            "metadata.annotations[ome.io/targetUtilizationPercentage]",
        ),
        (
            {"ome.io/targetUtilizationPercentage": "1_0"},
            "metadata.annotations[ome.io/targetUtilizationPercentage]",
        ),
        (
            {"ome.io/autoscalerClass": "keda", "autoscaling.keda.sh/operator": "Equal"},
            "metadata.annotations[autoscaling.keda.sh/operator]",
        ),
        (
            {"ome.io/autoscalerClass": "keda", "autoscaling.keda.sh/threshold": "ten"},
            "metadata.annotations[autoscaling.keda.sh/threshold]",
        ),
        (
            {
                "ome.io/autoscalerClass": "keda",
                "autoscaling.keda.sh/prometheus.serverAddress": "prometheus:9090",
            },
            "metadata.annotations[autoscaling.keda.sh/prometheus.serverAddress]",
        ),
    ],
)
def test_bad_autoscaler_annotations_are_refused_naming_the_annotation(
    annotations: dict[str, str], field: str
) -> None:
    obj = service(engine={"runner": RUNNER})
    obj["metadata"]["annotations"] = annotations
    assert field in causes(validate(obj, cluster_model()))


@pytest.mark.parametrize(
    ("keda", "field"),
    [
        ({"scalingOperator": "Equal"}, "spec.kedaConfig.scalingOperator"),
        ({"scalingThreshold": "1e"}, "spec.kedaConfig.scalingThreshold"),
        ({"promServerAddress": "ftp://p:9090"}, "spec.kedaConfig.promServerAddress"),
        ({"authModes": "basic,oauth"}, "spec.kedaConfig.authModes"),
    ],
)
def test_bad_keda_settings_are_refused_naming_the_field(keda: dict[str, str], field: str) -> None:
    obj = service(engine={"runner": RUNNER}, kedaConfig=keda)
    obj["metadata"]["annotations"] = {"ome.io/autoscalerClass": "keda"}
    assert field in causes(validate(obj, cluster_model()))


def test_good_autoscaler_settings_are_admitted_with_advice() -> None:
    keda = {
        "scalingOperator": "GreaterThan",
        "scalingThreshold": "0.5",
        "promServerAddress": "http://prometheus:9090",
        "authModes": "basic, tls",
    }
    obj = service(engine={"runner": RUNNER}, kedaConfig=keda)
    obj["metadata"]["annotations"] = {
        "ome.io/autoscalerClass": "keda",
        "ome.io/targetUtilizationPercentage": "80",
    }
    verdict = validate(obj, cluster_model())
    assert verdict.allowed, verdict.message
    assert any("authenticationRef" in w for w in verdict.warnings)


def test_other_operations_and_missing_objects() -> None:
    hooks = admission()
    assert hooks.validate_inference_service(request(None, "DELETE")).allowed
    verdict = hooks.validate_inference_service(request("text", "CREATE"))
    assert (verdict.allowed, verdict.code) == (False, 400)


def test_mutation_applies_defaults_as_a_patch() -> None:
    verdict = admission().mutate_inference_service(request(service(router={})))
    assert verdict.allowed
    paths = {op["path"] for op in verdict.patch}
    assert paths == {
        "/metadata/annotations",
        "/spec/engine/minReplicas",
        "/spec/engine/maxReplicas",
        "/spec/router/minReplicas",
        "/spec/router/maxReplicas",
    }


def test_mutation_reads_the_default_mode_and_reports_a_bad_config() -> None:
    serverless = Admission(
        MemoryCatalog(), lambda: {"deploy": '{"defaultDeploymentMode": "Serverless"}'}
    )
    verdict = serverless.mutate_inference_service(
        request(service(engine={"minReplicas": 1, "maxReplicas": 1}))
    )
    assert verdict.patch == ()
    broken = Admission(MemoryCatalog(), lambda: {"deploy": "{", "ingress": "broken too"})
    verdict = broken.mutate_inference_service(request(service()))
    assert (verdict.allowed, verdict.code) == (False, 500)
    assert "deploy" in verdict.message
    ingress_only = Admission(MemoryCatalog(), lambda: {"ingress": "not json"})
    assert ingress_only.mutate_inference_service(request(service())).allowed


def test_a_runtime_selection_uses_format_entries() -> None:
    other = cluster_runtime("other", format_entry(modelArchitecture="MistralForCausalLM"))
    verdict = validate(service(), cluster_model(), other)
    assert "spec.runtime" in causes(verdict)


def test_refusals_over_missing_objects_are_transient_others_are_not() -> None:
    assert validate(service(engine={"runner": RUNNER})).transient
    assert validate(service(), cluster_model()).transient  # no runtime to select yet
    assert not validate(service(engine=None, decoder={"runner": RUNNER})).transient
    assert not validate(service("a.b", engine={"runner": RUNNER})).transient


def fine_tuned(name: str, base: dict[str, str], **configuration: Any) -> FineTunedWeight:
    spec: dict[str, Any] = {
        "baseModelRef": base,
        "modelType": "LoRA",
        "hyperParameters": {"strategy": "lora"},
        "storage": {"storageUri": f"hf://team/{name}", "path": f"/raid/adapters/{name}"},
        "configuration": configuration,
    }
    return FineTunedWeight.model_validate({"metadata": {"name": name}, "spec": spec})


def test_an_adapter_of_another_base_model_is_refused_naming_both() -> None:
    obj = service(
        engine={"runner": RUNNER}, model={"name": "llama", "fineTunedWeights": ["mistral-sql"]}
    )
    verdict = validate(obj, cluster_model(), fine_tuned("mistral-sql", {"name": "mistral"}))
    assert not verdict.allowed
    message = causes(verdict)["spec.model.fineTunedWeights"]
    assert "'mistral-sql' is fine-tuned from ClusterBaseModel mistral" in message
    assert "ClusterBaseModel llama" in message


def test_a_merged_weight_with_others_is_refused() -> None:
    weights = ["sql", "merged"]
    obj = service(engine={"runner": RUNNER}, model={"name": "llama", "fineTunedWeights": weights})
    verdict = validate(
        obj,
        cluster_model(),
        fine_tuned("sql", {"name": "llama"}),
        fine_tuned("merged", {"name": "llama"}, merged_weights=True),
    )
    assert "served alone" in causes(verdict)["spec.model.fineTunedWeights"]


def test_a_weight_not_created_yet_is_only_a_warning() -> None:
    obj = service(engine={"runner": RUNNER}, model={"name": "llama", "fineTunedWeights": ["sql"]})
    verdict = validate(obj, cluster_model())
    assert verdict.allowed
    assert any("no FineTunedWeight 'sql'" in w for w in verdict.warnings)


def test_adapters_of_the_served_model_are_admitted_quietly() -> None:
    obj = service(engine={"runner": RUNNER}, model={"name": "llama", "fineTunedWeights": ["sql"]})
    weight = fine_tuned("sql", {"name": "llama"})
    verdict = validate(obj, cluster_model(), cluster_runtime("srt"), weight)
    assert verdict.allowed
    assert verdict.warnings == ()


def gateway_config(**ingress: Any) -> dict[str, str]:
    settings = {"ingressGateway": "g/g", "ingressService": "s", "enableGatewayAPI": True}
    return {"ingress": json.dumps(settings | ingress)}


def test_gateway_api_without_a_gateway_is_refused_naming_the_config_field() -> None:
    catalog = MemoryCatalog.of([cluster_model(), cluster_runtime("srt")])
    document = service(engine={"runner": RUNNER})
    refused = Admission(catalog, gateway_config).validate_inference_service(request(document))
    assert not refused.allowed
    assert "omeIngressGateway" in causes(refused)[GATEWAY_FIELD]
    with_gateway = Admission(catalog, lambda: gateway_config(omeIngressGateway="ome/gw"))
    assert with_gateway.validate_inference_service(request(document)).allowed
    opted_out = copy.deepcopy(document)
    opted_out["metadata"]["annotations"] = {"ome.io/ingress-disable-creation": "true"}
    assert (
        Admission(catalog, gateway_config).validate_inference_service(request(opted_out))
    ).allowed


@pytest.mark.parametrize("percent", [-1, 101])
@pytest.mark.parametrize("component", ["engine", "decoder", "router"])
def test_a_canary_percent_outside_0_to_100_is_refused_naming_the_component(
    component: str, percent: int
) -> None:
    obj = service(engine={"runner": RUNNER})
    obj["spec"].setdefault(component, {"runner": RUNNER})["canaryTrafficPercent"] = percent
    found = causes(validate(obj, cluster_model()))
    assert str(percent) in found[f"spec.{component}.canaryTrafficPercent"]


@pytest.mark.parametrize("percent", [0, 20, 100])
def test_a_canary_percent_within_0_to_100_is_admitted(percent: int) -> None:
    obj = service(engine={"runner": RUNNER, "canaryTrafficPercent": percent})
    assert validate(obj, cluster_model()).allowed


def test_a_malformed_endpoint_picker_is_refused_naming_the_annotation() -> None:
    obj = service(engine={"runner": RUNNER})
    obj["metadata"]["annotations"] = {"ome.io/inference-pool-endpoint-picker": "epp:http"}
    found = causes(validate(obj, cluster_model()))
    assert "name:port" in found["metadata.annotations[ome.io/inference-pool-endpoint-picker]"]
