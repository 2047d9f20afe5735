"""BenchmarkJob admission (upstream pkg/webhook/admission/benchmark/benchmark_webhook.go):
one endpoint, scenarios of the task, request parameters and an output the controller can
write, each refusal naming its field; upstream's three samples admitted."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ome.serving import MemoryCatalog
from ome.webhooks import Admission
from ome.webhooks.review import Verdict
from tests.compat.reference import CONFIG, needs_reference
from tests.unit.webhooks.support import request


def benchmark(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "endpoint": {"inferenceService": {"name": "llama", "namespace": "team"}},
        "task": "text-to-text",
        "trafficScenarios": ["N(480,240)/(300,150)", "U(10,20)", "U(1,2)/(3,4)", "D(100,100)"],
        "maxTimePerIteration": 15,
        "maxRequestsPerIteration": 100,
        "outputLocation": {"storageUri": "oci://n/ns/b/results/o/run"},
    }
    body.update(spec)
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "BenchmarkJob",
        "metadata": {"name": "bench", "namespace": "team"},
        "spec": body,
    }


def validate(obj: dict[str, Any]) -> Verdict:
    return Admission(MemoryCatalog()).validate_benchmark_job(request(obj))


def test_a_good_benchmark_is_admitted() -> None:
    assert validate(benchmark()).allowed


@needs_reference
@pytest.mark.parametrize(
    "name", ["deepseek-r1-rdma.yaml", "e5-mistral-7b-instruct.yaml", "llama3-1-70b-instruct.yaml"]
)
def test_upstreams_samples_are_admitted(name: str) -> None:
    documents = yaml.safe_load_all((CONFIG / "samples" / "benchmark" / name).read_text())
    (sample,) = [d for d in documents if d and d["kind"] == "BenchmarkJob"]
    verdict = validate(sample)
    assert verdict.allowed, verdict.message


@pytest.mark.parametrize(
    ("task", "scenario"),
    [
        ("text-to-text", "xD(1,2)"),  # upstream's pattern lets this through
        ("text-to-text", "D(1)"),
        ("text-to-text", "E(128)"),
        ("text-to-embeddings", "D(1,2)"),
        ("image-to-text", "I(512)"),
    ],
)
def test_a_scenario_of_another_form_is_refused_with_its_index(task: str, scenario: str) -> None:
    valid = {
        "text-to-text": "D(100,100)",
        "text-to-embeddings": "E(128)",
        "image-to-text": "I(512,512)",
    }
    verdict = validate(benchmark(task=task, trafficScenarios=[valid[task], scenario]))
    assert not verdict.allowed
    (cause,) = verdict.causes
    assert cause.field == "spec.trafficScenarios[1]"
    assert scenario in cause.message


def test_both_endpoints_are_refused() -> None:
    endpoint = {
        "inferenceService": {"name": "llama", "namespace": "team"},
        "endpoint": {"url": "http://x", "apiFormat": "openai", "modelName": "m"},
    }
    verdict = validate(benchmark(endpoint=endpoint))
    assert [c.field for c in verdict.causes] == ["spec.endpoint"]
    assert "not both" in verdict.message
    assert validate(benchmark(endpoint={})).causes[0].field == "spec.endpoint"


def test_request_parameters_and_output() -> None:
    hot = validate(benchmark(additionalRequestParams={"temperature": "2"}))
    assert hot.allowed
    assert "above 1.5" in hot.warnings[0]
    bad = validate(
        benchmark(
            additionalRequestParams={"temperature": "warm", "ignore_eos": "yes"},
            outputLocation={"storageUri": "hf://org/model"},
        )
    )
    assert [c.field for c in bad.causes] == [
        "spec.additionalRequestParams.temperature",
        "spec.additionalRequestParams.ignore_eos",
        "spec.outputLocation.storageUri",
    ]


def test_an_invalid_object_is_refused_by_schema() -> None:
    verdict = validate(benchmark(task="text-to-music"))
    assert not verdict.allowed
    assert verdict.causes[0].field.startswith("spec.task")
