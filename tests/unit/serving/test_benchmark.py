"""BenchmarkJobs as genai-bench Jobs (upstream pkg/controller/v1beta1/benchmark/
controller.go and utils/utils.go), on upstream's three samples."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ome.serving.benchmark import (
    COMPLETED,
    FAILED,
    PENDING,
    RUNNING,
    BenchmarkConfig,
    BenchmarkError,
    Target,
    benchmark_job,
    benchmark_status,
    main_container,
    parse_benchmark_config,
    served_model_name,
    service_api_base,
    storage_args,
)
from tests.compat.reference import CONFIG, needs_reference

SAMPLES = CONFIG / "samples" / "benchmark"
TARGET = Target(
    api_backend="openai",
    api_base="http://llama.team.example.com",
    model_name="meta-llama/Llama-3.1-70B-Instruct",
    api_key="sample-key",
    tokenizer="/raid/models/llama",
    model_volume="llama",
    node_selector={"models.ome.io/clusterbasemodel.llama": "Ready"},
)


def sample(name: str) -> dict[str, Any]:
    documents = yaml.safe_load_all((SAMPLES / name).read_text())
    (found,) = [d for d in documents if d and d["kind"] == "BenchmarkJob"]
    return dict(found)


@needs_reference
@pytest.mark.parametrize(
    "name", ["deepseek-r1-rdma.yaml", "e5-mistral-7b-instruct.yaml", "llama3-1-70b-instruct.yaml"]
)
def test_upstreams_samples_become_jobs(name: str) -> None:
    benchmark = sample(name)
    job = benchmark_job(benchmark, TARGET, BenchmarkConfig())
    assert job["metadata"]["labels"] == {"benchmark": benchmark["metadata"]["name"]}
    assert job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "ghcr.io/sgl-project/genai-bench:0.1.132"  # podOverride
    assert container["command"] == ["genai-bench"]
    args = container["args"]
    assert args[:7] == [
        "benchmark",
        "--api-backend",
        "openai",
        "--api-base",
        "http://llama.team.example.com",
        "--api-model-name",
        "meta-llama/Llama-3.1-70B-Instruct",
    ]
    spec = benchmark["spec"]
    assert args.count("--traffic-scenario") == len(spec["trafficScenarios"])
    assert args.count("--num-concurrency") == len(spec.get("numConcurrency") or [])
    prefix = spec["outputLocation"]["storageUri"].split("/o/", 1)[1]
    assert args[-11:] == [
        "--upload-results",
        "--namespace",
        "idqj093njucb",
        "--storage-bucket",
        "ome-benchmark-results",
        "--storage-prefix",
        prefix,
        "--auth",
        "instance_principal",
        "--region",
        "eu-frankfurt-1",
    ]
    assert pod["restartPolicy"] == "Never"
    assert pod["nodeSelector"] == TARGET.node_selector
    assert {"name": "ENABLE_UI", "value": "false"} in container["env"]


def test_the_arguments_follow_upstreams_order() -> None:
    benchmark = {
        "metadata": {"name": "bench", "namespace": "team"},
        "spec": {
            "task": "text-to-text",
            "maxTimePerIteration": 15,
            "maxRequestsPerIteration": 100,
            "trafficScenarios": ["D(100,100)"],
            "numConcurrency": [1, 2],
            "resultFolderName": "run-1",
            "serviceMetadata": {
                "engine": "SGLang",
                "version": "v1",
                "gpuType": "H100",
                "gpuCount": 8,
            },
            "huggingFaceSecretReference": {"name": "hf"},
            "outputLocation": {"storageUri": "pvc://results/bench/out"},
        },
    }
    job = benchmark_job(benchmark, TARGET, BenchmarkConfig())
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == [
        "benchmark",
        "--api-backend", "openai",
        "--api-base", "http://llama.team.example.com",
        "--api-model-name", "meta-llama/Llama-3.1-70B-Instruct",
        "--task", "text-to-text",
        "--max-time-per-run", "15",
        "--max-requests-per-run", "100",
        "--api-key", "sample-key",
        "--model-tokenizer", "/raid/models/llama",
        "--traffic-scenario", "D(100,100)",
        "--num-concurrency", "1",
        "--num-concurrency", "2",
        "--experiment-folder-name", "run-1",
        "--server-engine", "SGLang",
        "--server-gpu-type", "H100",
        "--server-version", "v1",
        "--server-gpu-count", "8",
        "--experiment-base-dir", "/bench/out",
    ]  # fmt: skip
    secret = {"secretKeyRef": {"name": "hf", "key": "HUGGINGFACE_API_KEY"}}
    assert {"name": "HUGGINGFACE_API_KEY", "valueFrom": secret} in container["env"]
    assert {"name": "MODEL_PATH", "value": "/raid/models/llama"} in container["env"]
    volumes = job["spec"]["template"]["spec"]["volumes"]
    assert {
        "name": "benchmark-output-storage",
        "persistentVolumeClaim": {"claimName": "results"},
    } in volumes
    assert {"name": "llama", "hostPath": {"path": "/raid/models/llama"}} in volumes


def test_storage_arguments() -> None:
    assert storage_args({"storageUri": "s3://bucket@us-east-1/runs"}) == [
        "--upload-results", "--storage-provider", "aws", "--storage-bucket", "bucket",
        "--storage-prefix", "runs", "--storage-aws-region", "us-east-1",
    ]  # fmt: skip
    assert storage_args({"storageUri": "gs://b/o"})[-2:] == ["--storage-prefix", "o"]
    with pytest.raises(BenchmarkError, match=r"spec\.outputLocation\.storageUri"):
        storage_args({"storageUri": "oci://n/ns/b"})
    with pytest.raises(BenchmarkError, match="oci://, pvc://, s3:// or gs://"):
        storage_args({"storageUri": "ftp://x"})


def test_the_served_model_name_comes_from_the_engine() -> None:
    """Upstream always sends vllm-model (its issue #781)."""
    assert served_model_name({"args": ["--served-model-name", "llama", "--port", "80"]}) == "llama"
    assert served_model_name({"args": ["--served-model-name=llama"]}) == "llama"
    env = [{"name": "MODEL_PATH", "value": "/raid/llama"}]
    assert (
        served_model_name({"args": ["--model-path", "$(MODEL_PATH)"], "env": env}) == "/raid/llama"
    )
    script = {"command": ["sh", "-c"], "args": ["vllm serve $MODEL_PATH --port 80"], "env": env}
    assert served_model_name(script) == "/raid/llama"
    assert served_model_name({"args": ["--port", "80"]}) is None
    leader = {
        "metadata": {"labels": {"component": "engine", "ray.io/node-type": "head"}},
        "spec": {"containers": [{"name": "ome-container", "args": ["--served-model-name", "x"]}]},
    }
    worker = {
        "metadata": {"labels": {"component": "engine"}},
        "spec": {"containers": [{"name": "w"}]},
    }
    router = {
        "metadata": {"labels": {"component": "router"}},
        "spec": {"containers": [{"name": "r"}]},
    }
    assert main_container([router, worker, leader]) == leader["spec"]["containers"][0]


def test_api_base_and_config() -> None:
    assert service_api_base({"status": {"url": "http://llama.team.example.com/v1"}}) == (
        "http://llama.team.example.com"
    )
    assert service_api_base({"status": {}}) is None
    assert parse_benchmark_config(None) == BenchmarkConfig()
    custom = parse_benchmark_config({"benchmarkjob": '{"podConfig": {"image": "bench:2"}}'})
    assert (custom.image, custom.cpu_limit) == ("bench:2", "2")
    with pytest.raises(BenchmarkError, match="benchmarkjob-config"):
        parse_benchmark_config({"benchmarkjob": "{"})


def test_status_follows_the_job() -> None:
    benchmark: dict[str, Any] = {"metadata": {"name": "b"}}
    pending = benchmark_status(
        benchmark, None, "t0", "waiting for InferenceService team/x to be Ready"
    )
    assert pending == {
        "state": PENDING,
        "lastReconcileTime": "t0",
        "details": "waiting for InferenceService team/x to be Ready",
    }
    running_job = {"status": {"startTime": "t1", "active": 1}}
    running = benchmark_status({"status": pending}, running_job, "t2")
    assert running == {"state": RUNNING, "lastReconcileTime": "t2", "startTime": "t1"}
    assert benchmark_status({"status": running}, running_job, "t3") == running
    done = {
        "status": {
            "startTime": "t1",
            "completionTime": "t4",
            "conditions": [{"type": "Complete", "status": "True"}],
        }
    }
    completed = benchmark_status({"status": running}, done, "t5")
    assert completed == {
        "state": COMPLETED,
        "lastReconcileTime": "t5",
        "startTime": "t1",
        "completionTime": "t4",
    }
    failed_job = {
        "status": {
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "lastTransitionTime": "t6",
                    "message": "BackoffLimitExceeded",
                }
            ]
        }
    }
    failed = benchmark_status({"status": running}, failed_job, "t7")
    assert (failed["state"], failed["failureMessage"], failed["completionTime"]) == (
        FAILED,
        "BackoffLimitExceeded",
        "t6",
    )
