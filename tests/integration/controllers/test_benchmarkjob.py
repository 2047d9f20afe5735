"""BenchmarkJobs end to end (upstream pkg/controller/v1beta1/benchmark): upstream's three
samples are accepted by the API server; one aimed at a service waits, Pending with the
reason, until the service is Ready, then runs a genai-bench Job with upstream's command
and the model name the service really serves (upstream always sends vllm-model, its
issue #781), which kwok completes; the BenchmarkJob follows it to Completed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from ome.client import Client, NotFound
from ome.controllers import benchmarkjob, inferenceservice
from ome.controllers.kinds import (
    BENCHMARKJOB,
    CLUSTERBASEMODEL,
    CLUSTERSERVINGRUNTIME,
    INFERENCESERVICE,
    JOB,
    NODE,
)
from ome.runtime import Manager
from ome.serving.naming import model_ready_label
from ome.testing.nodes import FakeNode
from ome.testing.pytest_plugin import Cluster
from tests.compat.reference import CONFIG, needs_reference
from tests.integration.controllers.support import running_manager
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = CONFIG / "samples" / "benchmark"


def running(cluster: Cluster, namespace: str) -> contextlib.AbstractAsyncContextManager[Manager]:
    return running_manager(
        cluster,
        namespace,
        lambda manager: inferenceservice.setup(manager, workers=2),
        lambda manager: benchmarkjob.setup(manager, config_namespace=namespace),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def made(cluster: Cluster, client: Client) -> AsyncIterator[dict[str, list[str]]]:
    await cluster.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))
    created: dict[str, list[str]] = {"nodes": [], "models": [], "runtimes": []}
    yield created
    for kind, names in (
        (NODE, "nodes"),
        (CLUSTERSERVINGRUNTIME, "runtimes"),
        (CLUSTERBASEMODEL, "models"),
    ):
        resource = await client.resource(kind)
        for name in created[names]:
            with contextlib.suppress(NotFound):
                await resource.delete(name)


@needs_reference
async def test_upstreams_samples_are_accepted(
    client: Client, namespace: str, made: dict[str, list[str]]
) -> None:
    benchmarks = await client.resource(BENCHMARKJOB)
    for path in sorted(SAMPLES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if not document or document["kind"] != "BenchmarkJob":
                continue
            document["metadata"]["namespace"] = namespace
            created = await benchmarks.create(document, dry_run=True)
            assert created["spec"]["task"] == document["spec"]["task"]


def model(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ClusterBaseModel",
        "metadata": {"name": name},
        "spec": {
            "modelFormat": {"name": "safetensors", "version": "1.0.0"},
            "modelFramework": {"name": "transformers", "version": "4.42.3"},
            "modelArchitecture": "LlamaForCausalLM",
            "modelParameterSize": "8B",
            "storage": {"storageUri": "hf://meta/llama", "path": f"/raid/models/{name}"},
        },
    }


def runtime(name: str) -> dict[str, Any]:
    runner = {
        "name": "ome-container",
        "image": "example.com/sglang:1",
        "args": ["--model-path", "$(MODEL_PATH)", "--served-model-name", "meta/llama-3-8b"],
        "ports": [{"containerPort": 8080, "name": "http1", "protocol": "TCP"}],
        "resources": {"limits": {"nvidia.com/gpu": 1}, "requests": {"nvidia.com/gpu": 1}},
    }
    entry = {
        "modelFormat": {"name": "safetensors", "version": "1.0.0"},
        "modelFramework": {"name": "transformers", "version": "4.42.3"},
        "modelArchitecture": "LlamaForCausalLM",
        "autoSelect": True,
    }
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ClusterServingRuntime",
        "metadata": {"name": name},
        "spec": {"supportedModelFormats": [entry], "engineConfig": {"runner": runner}},
    }


async def test_a_benchmark_waits_for_its_service_then_runs_to_completion(
    cluster: Cluster, client: Client, namespace: str, made: dict[str, list[str]]
) -> None:
    model_name, runtime_name = f"{namespace}-llama", f"{namespace}-srt"
    await (await client.resource(CLUSTERBASEMODEL)).create(model(model_name))
    made["models"].append(model_name)
    await (await client.resource(CLUSTERSERVINGRUNTIME)).create(runtime(runtime_name))
    made["runtimes"].append(runtime_name)
    benchmark = {
        "apiVersion": "ome.io/v1beta1",
        "kind": "BenchmarkJob",
        "metadata": {"name": "bench", "namespace": namespace},
        "spec": {
            "endpoint": {"inferenceService": {"name": "llama", "namespace": namespace}},
            "task": "text-to-text",
            "trafficScenarios": ["D(100,100)"],
            "numConcurrency": [1, 4],
            "maxTimePerIteration": 1,
            "maxRequestsPerIteration": 10,
            "outputLocation": {"storageUri": "oci://n/ns/b/results/o/bench"},
        },
    }
    benchmarks = await client.resource(BENCHMARKJOB)
    async with running(cluster, namespace):
        await benchmarks.create(benchmark)
        seen: dict[str, Any] = {}

        async def state_is(state: str, details: str | None = None) -> bool:
            nonlocal seen
            seen = (await benchmarks.get("bench", namespace)).get("status") or {}
            return seen.get("state") == state and (
                details is None or seen.get("details") == details
            )

        waiting = f"waiting for InferenceService {namespace}/llama to exist"
        await eventually(lambda: state_is("Pending", waiting))

        service = {
            "apiVersion": "ome.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "llama", "namespace": namespace},
            "spec": {"model": {"name": model_name}, "engine": {"minReplicas": 1, "maxReplicas": 1}},
        }
        await (await client.resource(INFERENCESERVICE)).create(service)
        not_ready = f"waiting for InferenceService {namespace}/llama to be Ready"
        await eventually(lambda: state_is("Pending", not_ready))
        with pytest.raises(NotFound):
            await (await client.resource(JOB)).get("bench", namespace)

        # a node holding the model: the service becomes Ready, then the benchmark runs
        labels = {model_ready_label(model_name, None): "Ready"}
        node = FakeNode(f"{namespace}-node", gpus=8, labels=labels)
        await (await client.resource(NODE)).create(node.manifest())
        made["nodes"].append(node.name)
        try:
            await eventually(lambda: state_is("Completed"), timeout=180)
        except AssertionError:
            raise AssertionError(f"not Completed: {seen}") from None
        assert seen["startTime"]
        assert seen["completionTime"]

        job = await (await client.resource(JOB)).get("bench", namespace)
        assert job["metadata"]["ownerReferences"][0]["kind"] == "BenchmarkJob"
        pod = job["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == ["genai-bench"]
        served = await (await client.resource(INFERENCESERVICE)).get("llama", namespace)
        api_base = served["status"]["url"]  # scheme://host[:port], nothing after
        assert api_base.count("/") == 2
        assert container["args"] == [
            "benchmark",
            "--api-backend", "openai",
            "--api-base", api_base,
            "--api-model-name", "meta/llama-3-8b",
            "--task", "text-to-text",
            "--max-time-per-run", "1",
            "--max-requests-per-run", "10",
            "--api-key", "sample-key",
            "--model-tokenizer", f"/raid/models/{model_name}",
            "--traffic-scenario", "D(100,100)",
            "--num-concurrency", "1",
            "--num-concurrency", "4",
            "--upload-results",
            "--namespace", "ns",
            "--storage-bucket", "results",
            "--storage-prefix", "bench",
        ]  # fmt: skip
        assert pod["nodeSelector"] == labels

        await benchmarks.delete("bench", namespace)
        await (await client.resource(INFERENCESERVICE)).delete("llama", namespace)

        async def gone() -> bool:  # the controllers remove their finalizers
            services = await (await client.resource(INFERENCESERVICE)).list(namespace)
            return not services and not await benchmarks.list(namespace)

        await eventually(gone)
