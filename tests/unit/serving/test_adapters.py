"""Fine-tuned serving: adapters checked against the base model, mounted, placed and passed
to the engine; merged weights served as a whole model; upstream's labels and annotations."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ome.api.v1beta1 import FineTunedWeight, InferenceService
from ome.cli.explain import Service as ExplainedService
from ome.cli.explain import Verdict, explain
from ome.serving import (
    Component,
    Reason,
    ServingConfig,
    ServingError,
    compute_status,
    render_objects,
)
from ome.serving.naming import fine_tuned_ready_label
from tests.unit.serving.helpers import (
    RUNNER,
    catalog,
    cluster_model,
    cluster_runtime,
    namespaced_model,
    plan,
    service,
)

BASE_LABEL = "models.ome.io/clusterbasemodel.llama"
VLLM_RUNNER = {
    "name": "ome-container",
    "image": "docker.io/vllm/vllm-openai:v0.9.0.1",
    "command": ["python3", "-m", "vllm.entrypoints.openai.api_server"],
    "args": ["--model", "$(MODEL_PATH)"],
}


def weight(
    name: str,
    *,
    base: dict[str, str] | None = None,
    configuration: dict[str, Any] | None = None,
    strategy: str | None = "lora",
    disabled: bool | None = None,
    **storage: Any,
) -> FineTunedWeight:
    spec: dict[str, Any] = {
        "baseModelRef": base or {"name": "llama"},
        "modelType": "LoRA",
        "hyperParameters": {"strategy": strategy} if strategy else {},
        "storage": {"storageUri": f"hf://team/{name}", "path": f"/raid/adapters/{name}"} | storage,
    }
    if configuration is not None:
        spec["configuration"] = configuration
    if disabled is not None:
        spec["disabled"] = disabled
    return FineTunedWeight.model_validate({"metadata": {"name": name}, "spec": spec})


ADAPTERS = (
    weight("sql", configuration={"lora_rank": 8}),
    weight("chat", configuration={"lora_rank": 16}),
    weight("code"),
)
SGLANG = cluster_runtime("srt-llama")
VLLM = cluster_runtime("vllm-llama", engineConfig={"runner": VLLM_RUNNER})


def served(*names: str, runtime: Any = SGLANG, extra: tuple[Any, ...] = (), **spec: Any) -> Any:
    svc = service(model={"name": "llama", "fineTunedWeights": list(names)}, **spec)
    return plan(svc, cluster_model(), runtime, *ADAPTERS, *extra)


def main_container(pod: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = pod["containers"][0]
    return container


def test_sglang_gets_every_adapter_as_a_lora_path_and_a_batch_limit() -> None:
    engine = served("sql", "chat", "code").workloads[0]
    args = main_container(engine.pod)["args"]
    assert args == [
        *RUNNER["args"],
        "--lora-paths",
        "sql=/raid/adapters/sql",
        "chat=/raid/adapters/chat",
        "code=/raid/adapters/code",
        "--max-loras-per-batch",
        "8",
    ]


def test_sglang_batch_limit_grows_with_the_adapters() -> None:
    names = [f"a{i}" for i in range(10)]
    svc = service(model={"name": "llama", "fineTunedWeights": names})
    many = plan(svc, cluster_model(), SGLANG, *(weight(n) for n in names))
    args = main_container(many.workloads[0].pod)["args"]
    assert args[-2:] == ["--max-loras-per-batch", "10"]


def test_adapters_are_mounted_read_only_from_their_node_paths_and_required_ready() -> None:
    engine = served("sql", "chat").workloads[0]
    mounts = main_container(engine.pod)["volumeMounts"]
    assert {"name": "ftw-sql", "mountPath": "/raid/adapters/sql", "readOnly": True} in mounts
    assert {"name": "ftw-chat", "mountPath": "/raid/adapters/chat", "readOnly": True} in mounts
    volumes = engine.pod["volumes"]
    assert {"name": "ftw-sql", "hostPath": {"path": "/raid/adapters/sql"}} in volumes
    assert {"name": "llama", "hostPath": {"path": "/raid/models/llama"}} in volumes
    assert engine.pod["nodeSelector"] == {
        BASE_LABEL: "Ready",
        "models.ome.io/finetunedweight.chat": "Ready",
        "models.ome.io/finetunedweight.sql": "Ready",
    }


def test_vllm_gets_enable_lora_modules_and_the_largest_rank() -> None:
    engine = served("sql", "chat", "code", runtime=VLLM).workloads[0]
    assert main_container(engine.pod)["args"] == [
        "--model",
        "$(MODEL_PATH)",
        "--enable-lora",
        "--lora-modules",
        "sql=/raid/adapters/sql",
        "chat=/raid/adapters/chat",
        "code=/raid/adapters/code",
        "--max-loras",
        "3",
        "--max-lora-rank",
        "16",
    ]


def test_vllm_rank_is_rounded_up_to_one_vllm_accepts() -> None:
    odd = weight("odd", configuration={"lora_rank": 20})
    svc = service(model={"name": "llama", "fineTunedWeights": ["odd"]})
    args = main_container(plan(svc, cluster_model(), VLLM, odd).workloads[0].pod)["args"]
    assert args[-2:] == ["--max-lora-rank", "32"]


def test_limits_the_service_already_sets_are_kept() -> None:
    own = {"runner": {"name": "ome-container", "args": ["--max-loras-per-batch", "4"]}}
    engine = served("sql", engine=own).workloads[0]
    args = main_container(engine.pod)["args"]
    assert args.count("--max-loras-per-batch") == 1
    assert args[args.index("--max-loras-per-batch") + 1] == "4"


def test_a_shell_script_engine_gets_the_flags_at_the_end_of_its_script() -> None:
    script = {"name": "ome-container", "image": "sglang:1", "command": ["sh", "-c"]}
    script["args"] = ["python3 -m sglang.launch_server --model-path $MODEL_PATH"]
    runtime = cluster_runtime("srt-llama", engineConfig={"runner": script})
    svc = service(model={"name": "llama", "fineTunedWeights": ["sql"]})
    container = main_container(plan(svc, cluster_model(), runtime, *ADAPTERS).workloads[0].pod)
    assert container["command"] == ["sh", "-c"]
    assert container["args"] == [
        "python3 -m sglang.launch_server --model-path $MODEL_PATH "
        "--lora-paths sql=/raid/adapters/sql --max-loras-per-batch 8"
    ]


def test_a_runtime_whose_engine_cannot_serve_lora_is_a_clear_reason() -> None:
    other = {"name": "ome-container", "image": "tgi:2", "args": ["--model-id", "$(MODEL_PATH)"]}
    runtime = cluster_runtime("tgi-llama", engineConfig={"runner": other})
    with pytest.raises(ServingError) as caught:
        served("sql", runtime=runtime)
    assert caught.value.reason is Reason.LORA_UNSUPPORTED
    assert "tgi-llama" in caught.value.message


def test_the_router_loads_no_adapter() -> None:
    routed = served("sql", router={"minReplicas": 1})
    router = routed.workload(Component.ROUTER)
    assert router is not None
    assert router.labels["fine-tuned-serving"] == "false"
    assert "ome.io/inject-fine-tuned-adapter" not in router.annotations
    assert not any("--lora-paths" in c.get("args", []) for c in router.pod["containers"])


def test_decoder_gets_the_adapters_too() -> None:
    runtime = cluster_runtime("srt-llama", decoderConfig={"runner": dict(RUNNER)})
    decoder = served("sql", runtime=runtime, decoder={"minReplicas": 1}).workload(Component.DECODER)
    assert decoder is not None
    assert "--lora-paths" in main_container(decoder.pod)["args"]


def test_merged_weights_are_served_as_the_whole_model_by_any_engine() -> None:
    merged = weight("llama-merged", configuration={"merged_weights": True})
    other = {"name": "ome-container", "image": "tgi:2", "args": ["--model-id", "$(MODEL_PATH)"]}
    runtime = cluster_runtime("tgi-llama", engineConfig={"runner": other})
    svc = service(model={"name": "llama", "fineTunedWeights": ["llama-merged"]})
    engine = plan(svc, cluster_model(), runtime, merged).workloads[0]
    container = main_container(engine.pod)
    assert {"name": "MODEL_PATH", "value": "/raid/adapters/llama-merged"} in container["env"]
    assert container["volumeMounts"] == [
        {"name": "ftw-llama-merged", "mountPath": "/raid/adapters/llama-merged", "readOnly": True}
    ]
    assert engine.pod["volumes"] == [
        {"name": "ftw-llama-merged", "hostPath": {"path": "/raid/adapters/llama-merged"}}
    ]
    assert engine.pod["nodeSelector"] == {"models.ome.io/finetunedweight.llama-merged": "Ready"}
    assert container["args"] == ["--model-id", "$(MODEL_PATH)"]
    # upstream components/base.go ProcessBaseAnnotations / ProcessBaseLabels, merged mode
    assert engine.annotations["ome.io/fine-tuned-serving-with-merged-weights"] == "true"
    assert engine.annotations["ome.io/inject-model-init"] == "false"
    assert engine.labels["fine-tuned-serving-with-merged-weights"] == "true"


def test_a_service_written_for_upstream_renders_upstreams_labels_and_annotations() -> None:
    """One adapter, as upstream serves it: labels and annotations of upstream
    pkg/controller/v1beta1/inferenceservice/components/base.go (ProcessBaseLabels,
    ProcessBaseAnnotations; keys from pkg/constants/constants.go), and the modelconfig
    entry of reconcilers/modelconfig/modelconfig_reconciler.go (fineTunedWeightSpec of
    the first weight: its storage and modelType)."""
    adapter = weight("llama-sql", storageUri="oci://n/ns/b/bucket/o/sql", path="/mnt/ft/sql")
    svc = service(
        model={"name": "llama", "fineTunedWeights": ["llama-sql"]},
        annotations={"ome.io/deploymentMode": "RawDeployment"},
    )
    served_plan = plan(svc, cluster_model(), SGLANG, adapter)
    engine = served_plan.workloads[0]
    assert engine.labels == {
        "base-model-name": "llama",
        "base-model-size": "SMALL",
        "base-model-type": "Serving",
        "base-model-vendor": "meta",
        "component": "engine",
        "fine-tuned-serving": "true",
        "fine-tuned-serving-with-merged-weights": "false",
        "fine-tuned-weight-ft-strategy": "lora",
        "ome.io/inferenceservice": "chat",
        "serving-runtime": "srt-llama",
    }
    upstream_annotations = {
        "ome.io/base-model-format": "safetensors",
        "ome.io/base-model-format-version": "1.0.0",
        "ome.io/base-model-name": "llama",
        "ome.io/base-model-vendor": "meta",
        "ome.io/deploymentMode": "RawDeployment",
        "ome.io/fine-tuned-weight-ft-strategy": "lora",
        "ome.io/inject-fine-tuned-adapter": "llama-sql",
        "ome.io/serving-runtime": "srt-llama",
    }
    assert engine.annotations == upstream_annotations | {"ome.io/fine-tuned-weights": "llama-sql"}
    # the base model is mounted and required as for base-model serving (not merged)
    container = main_container(engine.pod)
    assert {"name": "MODEL_PATH", "value": "/raid/models/llama"} in container["env"]
    assert engine.pod["nodeSelector"][BASE_LABEL] == "Ready"
    configmap = render_objects(served_plan)[0]
    entry = json.loads(configmap["data"]["models.json"])[0]
    assert list(entry) == ["modelName", "modelSpec", "fineTunedWeightSpec"]
    assert entry["fineTunedWeightSpec"] == {
        "storageUri": "oci://n/ns/b/bucket/o/sql",
        "path": "/mnt/ft/sql",
        "modelType": "LoRA",
    }


def test_pods_carry_the_injection_annotation_but_services_do_not() -> None:
    objects = render_objects(served("sql"))
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    template = deployment["spec"]["template"]["metadata"]["annotations"]
    assert template["ome.io/inject-fine-tuned-adapter"] == "sql"
    k8s_service = next(
        o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "chat-engine"
    )
    assert "ome.io/inject-fine-tuned-adapter" not in k8s_service["metadata"].get("annotations", {})


def test_no_strategy_leaves_the_label_empty_and_the_annotation_out() -> None:
    bare = weight("bare", strategy=None)
    svc = service(model={"name": "llama", "fineTunedWeights": ["bare"]})
    engine = plan(svc, cluster_model(), SGLANG, bare).workloads[0]
    assert engine.labels["fine-tuned-weight-ft-strategy"] == ""
    assert "ome.io/fine-tuned-weight-ft-strategy" not in engine.annotations


@pytest.mark.parametrize(
    ("names", "extra", "reason", "words"),
    [
        (["missing"], (), Reason.FINE_TUNED_WEIGHT_NOT_FOUND, "no FineTunedWeight 'missing'"),
        (
            ["off"],
            (weight("off", disabled=True),),
            Reason.FINE_TUNED_WEIGHT_DISABLED,
            "disabled",
        ),
        (
            ["mistral-sql"],
            (weight("mistral-sql", base={"name": "mistral"}),),
            Reason.FINE_TUNED_WEIGHT_MISMATCH,
            "from ClusterBaseModel mistral, not from the service's ClusterBaseModel llama",
        ),
        (
            ["ns-sql"],
            (weight("ns-sql", base={"name": "llama", "namespace": "team"}),),
            Reason.FINE_TUNED_WEIGHT_MISMATCH,
            "from BaseModel team/llama",
        ),
        (["sql", "sql"], (), Reason.INVALID_FINE_TUNED_WEIGHTS, "names sql more than once"),
        (
            ["sql", "merged"],
            (weight("merged", configuration={"merged_weights": True}),),
            Reason.INVALID_FINE_TUNED_WEIGHTS,
            "served alone",
        ),
        (
            ["nowhere"],
            (weight("nowhere", path=None),),
            Reason.FINE_TUNED_WEIGHT_PATH_MISSING,
            "no spec.storage.path",
        ),
    ],
)
def test_bad_weights_get_a_reason_naming_the_cause(
    names: list[str], extra: tuple[Any, ...], reason: Reason, words: str
) -> None:
    with pytest.raises(ServingError) as caught:
        served(*names, extra=extra)
    assert caught.value.reason is reason
    assert words in caught.value.message


def test_a_namespaced_base_model_takes_weights_that_name_its_namespace() -> None:
    ns_weight = weight("ns-sql", base={"name": "llama", "namespace": "team"})
    svc = service(model={"name": "llama", "kind": "BaseModel", "fineTunedWeights": ["ns-sql"]})
    engine = plan(svc, namespaced_model(), SGLANG, ns_weight).workloads[0]
    assert engine.pod["nodeSelector"]["models.ome.io/finetunedweight.ns-sql"] == "Ready"


def test_a_local_weight_is_mounted_where_it_is() -> None:
    local = weight("local-sql", storageUri="local:///data/adapters/sql", path=None)
    svc = service(model={"name": "llama", "fineTunedWeights": ["local-sql"]})
    engine = plan(svc, cluster_model(), SGLANG, local).workloads[0]
    assert "sql=/data/adapters/sql" not in main_container(engine.pod)["args"]
    assert "local-sql=/data/adapters/sql" in main_container(engine.pod)["args"]


def test_the_ready_label_is_cut_like_a_models() -> None:
    label = fine_tuned_ready_label("x" * 80)
    assert len(label.split("/", 1)[1]) <= 49
    assert label.startswith("models.ome.io/finetunedweight.")


def test_without_weights_nothing_changes() -> None:
    engine = plan(service(), cluster_model(), SGLANG, *ADAPTERS, config=ServingConfig())
    assert engine.fine_tuning is None
    assert engine.workloads[0].labels["fine-tuned-serving"] == "false"


def test_the_status_lists_the_weights_served_and_forgets_them_when_removed() -> None:
    status = compute_status(served("sql", "code"), {}, [], "2025-01-01T00:00:00Z")
    assert status["annotations"] == {"ome.io/fine-tuned-weights": "sql,code"}
    before = served("sql").service.model_dump(by_alias=True, exclude_none=True)
    before["status"] = status | {"annotations": status["annotations"] | {"other": "kept"}}
    after = plan(InferenceService.model_validate(before), cluster_model(), SGLANG, *ADAPTERS)
    assert compute_status(after, {}, [], "2025-01-01T00:00:00Z")["annotations"] == {
        "ome.io/fine-tuned-weights": "sql",
        "other": "kept",
    }


def test_explain_lists_the_adapters_with_their_paths_and_ranks() -> None:
    svc = service(model={"name": "llama", "fineTunedWeights": ["sql", "code"]})
    lines, verdict = explain(
        ExplainedService("isvc.yaml", "team/chat", svc),
        catalog(cluster_model(), SGLANG, *ADAPTERS),
        ServingConfig(),
    )
    assert verdict is Verdict.SERVABLE
    adapters = lines.index("  adapters (2):")
    assert lines[adapters : adapters + 4] == [
        "  adapters (2):",
        "    sql at /raid/adapters/sql, rank 8",
        "    code at /raid/adapters/code",
        "  components:",
    ]
    lines, verdict = explain(
        ExplainedService(
            "isvc.yaml", "team/chat", service(model={"name": "llama", "fineTunedWeights": ["x"]})
        ),
        catalog(cluster_model(), SGLANG),
        ServingConfig(),
    )
    assert verdict is Verdict.UNSERVABLE
    assert lines[-1] == "  error: FineTunedWeightNotFound: no FineTunedWeight 'x'"
