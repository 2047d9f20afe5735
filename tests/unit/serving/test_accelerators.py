"""Accelerator-aware serving: the class each component gets and what it changes in the
pods (upstream pkg/acceleratorclassselector/selector.go and policy_helpers.go;
pkg/controller/v1beta1/inferenceservice/components/base.go and utils/merging.go)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ome.api.v1beta1 import AcceleratorClass
from ome.api.v1beta1.servingruntime import AcceleratorModelConfig
from ome.cli.main import main as ome
from ome.serving import ServingError
from ome.serving.accelerator_config import override_flag, with_accelerator
from ome.serving.accelerator_selection import AcceleratorChoice
from ome.serving.components import Component
from ome.serving.problems import Reason
from tests.unit.serving.helpers import (
    RUNNER,
    cluster_model,
    cluster_runtime,
    format_entry,
    plan,
    service,
)

H100_CONFIG = {
    "environmentOverride": {"NCCL_ALGO": "ring"},
    "runtimeArgsOverride": ["--mem-fraction-static", "0.9", "--enable-fp8"],
    "tensorParallelismOverride": {"tensorParallelSize": 4},
}
A100_CONFIG = {
    "tensorParallelismOverride": {"tensorParallelSize": 8},
    "minMemoryPerBillionParams": 2,
}


def accelerator(name: str, memory: str, **spec: Any) -> AcceleratorClass:
    body = {
        "discovery": {"nodeSelector": {"nvidia.com/gpu.product": name.upper()}},
        "capabilities": {"memoryGB": memory},
        "resources": [{"name": "nvidia.com/gpu", "quantity": "4"}],
    } | spec
    return AcceleratorClass.model_validate({"metadata": {"name": name}, "spec": body})


H100 = accelerator(
    "h100",
    "80Gi",
    family="hopper",
    vendor="nvidia",
    cost={"perHour": "4"},
    capabilities={
        "memoryGB": "80Gi",
        "computeCapability": "9.0",
        "features": ["fp8"],
        "performance": {"fp16Tflops": 990},
        "memoryBandwidthGBps": "3350",
    },
)
A100 = accelerator(
    "a100",
    "40Gi",
    family="ampere",
    vendor="nvidia",
    cost={"perHour": "2"},
    capabilities={
        "memoryGB": "40Gi",
        "computeCapability": "8.0",
        "performance": {"fp16Tflops": 312},
        "memoryBandwidthGBps": "1555",
    },
)


def runtime(*classes: str) -> Any:
    entry = format_entry(acceleratorConfig={"h100": H100_CONFIG, "a100": A100_CONFIG})
    runner = dict(RUNNER) | {"args": ["--model-path", "$(MODEL_PATH)", "--tp-size", "2"]}
    return cluster_runtime(
        "srt-llama",
        entry,
        acceleratorRequirements={"acceleratorClasses": list(classes or ("a100", "h100"))},
        engineConfig={"runner": runner},
    )


def engine_plan(svc: Any, *objects: Any) -> Any:
    result = plan(svc, cluster_model(), runtime(), *(objects or (H100, A100)))
    engine = result.workload(Component.ENGINE)
    assert engine is not None
    return engine


def main(workload: Any) -> dict[str, Any]:
    container: dict[str, Any] = workload.pod["containers"][0]
    return container


@pytest.mark.parametrize(
    ("policy", "chosen"),
    [
        ("FirstAvailable", "a100"),
        ("MostCapable", "h100"),
        ("Cheapest", "a100"),
        ("BestFit", "a100"),
    ],
)
def test_policies(policy: str, chosen: str) -> None:
    svc = service(acceleratorSelector={"policy": policy})
    assert engine_plan(svc).accelerator.name == chosen


def test_best_fit_penalises_more_memory_than_asked() -> None:
    svc = service(acceleratorSelector={"policy": "BestFit", "constraints": {"minMemory": 80}})
    chosen = engine_plan(svc).accelerator
    assert chosen.name == "h100"  # a100 (40GiB) fails minMemory 80
    assert "a100: memory 40GiB < constraints.minMemory 80GiB" in chosen.reason


def test_constraints_filter_candidates() -> None:
    def chosen(constraints: dict[str, Any]) -> str:
        svc = service(acceleratorSelector={"policy": "FirstAvailable", "constraints": constraints})
        return str(engine_plan(svc).accelerator.name)

    assert chosen({"requiredFeatures": ["FP8"]}) == "h100"
    assert chosen({"minArchitectureVersion": "9.0"}) == "h100"
    assert chosen({"architectureFamilies": ["nvidia-hopper"]}) == "h100"
    assert chosen({"excludedClasses": ["a100"]}) == "h100"
    assert chosen({"maxMemory": 40}) == "a100"


def test_no_class_meets_the_constraints() -> None:
    svc = service(acceleratorSelector={"policy": "BestFit", "constraints": {"minMemory": 200}})
    with pytest.raises(ServingError) as raised:
        engine_plan(svc)
    assert raised.value.reason == Reason.NO_ACCELERATOR_CLASS_FITS
    assert "h100: memory 80GiB < constraints.minMemory 200GiB" in raised.value.message


def test_a_named_class_wins_and_must_exist() -> None:
    named = service(acceleratorSelector={"acceleratorClass": "h100", "policy": "Cheapest"})
    chosen = engine_plan(named).accelerator
    assert (chosen.name, chosen.reason) == (
        "h100",
        "named by spec.acceleratorSelector.acceleratorClass",
    )
    override = service(
        acceleratorSelector={"acceleratorClass": "h100"},
        engine={"minReplicas": 1, "acceleratorOverride": {"acceleratorClass": "a100"}},
    )
    assert engine_plan(override).accelerator.name == "a100"
    with pytest.raises(ServingError) as raised:
        engine_plan(named, A100)
    assert raised.value.reason == Reason.ACCELERATOR_CLASS_NOT_FOUND


def test_no_policy_and_no_name_means_no_class() -> None:
    assert engine_plan(service()).accelerator is None
    plain = plan(service(), cluster_model(), cluster_runtime("srt-llama"), H100)
    assert plain.workload(Component.ENGINE).accelerator is None  # type: ignore[union-attr]


def test_the_model_must_fit_the_memory_its_config_asks_for() -> None:
    """2 GiB per billion parameters; a100 with tensor parallelism 8 holds 8 x 40GiB."""
    wide = cluster_runtime(
        "srt-llama",
        format_entry(acceleratorConfig={"a100": A100_CONFIG}),
        acceleratorRequirements={"acceleratorClasses": ["a100"]},
        modelSizeRange={"min": "1B", "max": "300B"},
    )
    named = service(acceleratorSelector={"acceleratorClass": "a100"})
    fits = plan(named, cluster_model(modelParameterSize="100B"), wide, A100)
    assert fits.workload(Component.ENGINE).accelerator.name == "a100"  # type: ignore[union-attr]
    with pytest.raises(ServingError) as raised:
        plan(named, cluster_model(modelParameterSize="200B"), wide, A100)
    assert raised.value.reason == Reason.NO_ACCELERATOR_CLASS_FITS
    assert "needs 400GiB" in raised.value.message
    assert "8 accelerator(s) of 40GiB hold 320GiB" in raised.value.message


def test_the_class_and_its_config_shape_the_pod() -> None:
    engine = engine_plan(service(acceleratorSelector={"acceleratorClass": "h100"}))
    container = main(engine)
    assert container["args"] == [
        "--model-path",
        "$(MODEL_PATH)",
        "--tp-size",
        "4",
        "--mem-fraction-static",
        "0.9",
        "--enable-fp8",
    ]
    assert {"name": "NCCL_ALGO", "value": "ring"} in container["env"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "4"
    assert {"name": "PARALLELISM_SIZE", "value": "4"} in container["env"]
    assert engine.pod["nodeSelector"]["nvidia.com/gpu.product"] == "H100"


def test_the_services_own_placement_and_resources_win() -> None:
    own = {"limits": {"nvidia.com/gpu": 1}, "requests": {"nvidia.com/gpu": 1}}
    svc = service(
        acceleratorSelector={"acceleratorClass": "h100"},
        engine={
            "minReplicas": 1,
            "nodeSelector": {"nvidia.com/gpu.product": "mine"},
            "runner": {"name": "ome-container", "resources": own},
        },
    )
    engine = engine_plan(svc)
    assert engine.pod["nodeSelector"]["nvidia.com/gpu.product"] == "mine"
    assert main(engine)["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_class_affinity_applies_unless_the_service_gives_one() -> None:
    term = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
        }
    }
    with_affinity = accelerator("h100", "80Gi", discovery={"affinity": affinity})
    engine = engine_plan(service(acceleratorSelector={"acceleratorClass": "h100"}), with_affinity)
    assert engine.pod["affinity"] == affinity


def choice(config: dict[str, Any]) -> AcceleratorChoice:
    return AcceleratorChoice("h100", H100, "test", AcceleratorModelConfig.model_validate(config))


def test_flags_are_rewritten_where_they_are() -> None:
    assert override_flag({"args": ["--tp=2"]}, ("--tp-size", "--tp"), 8) == {"args": ["--tp=8"]}
    assert override_flag(
        {"command": ["x", "--tensor-parallel-size", "2"]}, ("--tensor-parallel-size",), 8
    ) == {"command": ["x", "--tensor-parallel-size", "8"]}
    script = {"command": ["sh", "-c"], "args": ["python3 -m sglang.launch_server --tp 2 --port 80"]}
    assert override_flag(script, ("--tp-size", "--tp"), 8)["args"] == [
        "python3 -m sglang.launch_server --tp 8 --port 80"
    ]
    assert override_flag({"args": ["--other", "2"]}, ("--tp",), 8) == {"args": ["--other", "2"]}


def test_args_override_by_flag_in_lists_scripts_and_multiline_args() -> None:
    config = {"runtimeArgsOverride": ["--max-running-requests=64", "--enable-fp8"]}
    listed = with_accelerator(
        {"args": ["--max-running-requests", "8", "--port", "80"]},
        choice(config),
        own_resources=True,
    )
    assert listed["args"] == ["--max-running-requests=64", "--port", "80", "--enable-fp8"]
    script = {"command": ["/bin/bash", "-c"], "args": ["serve --max-running-requests 8"]}
    rewritten = with_accelerator(script, choice(config), own_resources=True)
    assert rewritten["args"] == ["serve --max-running-requests=64 --enable-fp8"]
    multiline = {"args": ["serve \\\n--max-running-requests 8"]}
    merged = with_accelerator(multiline, choice(config), own_resources=True)
    assert merged["args"] == ["serve \\\n--max-running-requests=64 \\\n--enable-fp8"]


def test_explain_shows_the_class_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = [
        cluster_model(modelParameterSize="8B"),
        runtime(),
        H100,
        A100,
        service(acceleratorSelector={"policy": "Cheapest"}),
    ]
    documents = []
    for obj in catalogue:
        body = obj.model_dump(mode="json", by_alias=True, exclude_none=True)
        documents.append({"apiVersion": "ome.io/v1beta1", "kind": obj.KIND} | body)
    path = tmp_path / "all.yaml"
    path.write_text(yaml.safe_dump_all(documents))
    assert ome(["explain", "-f", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "      accelerator: a100 (policy Cheapest (spec.acceleratorSelector.policy): "
        "lowest hourly cost (a100 2, h100 4); also eligible: h100)" in out
    )
