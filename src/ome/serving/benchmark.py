"""A BenchmarkJob as a Kubernetes Job running genai-bench, and its status from that Job
(upstream ``pkg/controller/v1beta1/benchmark``).

The Job ``{name}`` (label ``benchmark``, annotation ``logging-forward: "true"``,
``backoffLimit: 0``) runs one container ``genai-bench``: image and resources from the
``benchmarkjob`` key of the ``benchmarkjob-config`` ConfigMap (upstream's defaults when
absent), ``ENABLE_UI=false``, ``HUGGINGFACE_API_KEY`` from ``huggingFaceSecretReference``,
restart policy Never, a toleration of ``nvidia.com/gpu`` taints, and the command
``genai-bench benchmark`` with upstream's arguments. Against an InferenceService the API
base is its ``status.url``, the API key ``sample-key``, the backend its engine's
``PROTOCOL_VERSION`` (else ``openai``), the tokenizer its model's path, mounted from the
node, with the pod pinned to nodes holding the model. ``podOverride`` is merged
strategically into the container and the pod last.

Differences from upstream: the model name sent is the one the service's engine serves
(its ``--served-model-name``, else the ``--model-path``/``--model`` it loads, from its
pod), where upstream always sends ``vllm-model`` (upstream issue #781); the container is
``genai-bench`` whatever the job's name (upstream names it after the job, a name that
may not be a valid container name, and renames it ``genai-bench`` under a
``podOverride``); a missing ``benchmarkjob-config`` means upstream's defaults, not a
failed reconcile; a ``pvc://`` output is mounted without looking the claim up first."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ome.serving.merge import CONTAINER, POD, merge

Obj = Mapping[str, Any]

CONFIG_NAME = "benchmarkjob-config"
CONFIG_KEY = "benchmarkjob"
CONTAINER_NAME = "genai-bench"
JOB_LABEL = "benchmark"
API_KEY = "sample-key"
"""Upstream's placeholder key for services (which check none)."""
OUTPUT_VOLUME = "benchmark-output-storage"
PENDING, RUNNING, COMPLETED, FAILED = "Pending", "Running", "Completed", "Failed"
_MODEL_PATH = re.compile(r"\$\(MODEL_PATH\)|\$\{MODEL_PATH\}|\$MODEL_PATH\b")


class BenchmarkError(ValueError):
    """The job cannot run as written (the message names the field)."""


@dataclass(frozen=True)
class BenchmarkConfig:
    """The ``podConfig`` of ``benchmarkjob-config`` (defaults: upstream's ConfigMap)."""

    image: str = "ghcr.io/sgl-project/genai-bench:0.1.113"
    cpu_request: str = "2"
    memory_request: str = "2Gi"
    cpu_limit: str = "2"
    memory_limit: str = "2Gi"


def parse_benchmark_config(data: Mapping[str, str] | None) -> BenchmarkConfig:
    text = (data or {}).get(CONFIG_KEY)
    if not text:
        return BenchmarkConfig()
    try:
        pod = json.loads(text).get("podConfig") or {}
    except (ValueError, AttributeError) as err:
        raise BenchmarkError(f"{CONFIG_NAME} {CONFIG_KEY}: not a JSON object: {err}") from None
    defaults = BenchmarkConfig()
    return BenchmarkConfig(
        image=str(pod.get("image") or defaults.image),
        cpu_request=str(pod.get("cpuRequest") or defaults.cpu_request),
        memory_request=str(pod.get("memoryRequest") or defaults.memory_request),
        cpu_limit=str(pod.get("cpuLimit") or defaults.cpu_limit),
        memory_limit=str(pod.get("memoryLimit") or defaults.memory_limit),
    )


@dataclass(frozen=True)
class Target:
    """Where genai-bench sends its requests, and what it needs of the target's model."""

    api_backend: str
    api_base: str
    model_name: str
    api_key: str | None = None
    tokenizer: str | None = None
    model_volume: str | None = None
    """The model's volume name (its path is ``tokenizer``)."""
    node_selector: dict[str, str] = field(default_factory=dict)


def endpoint_target(endpoint: Obj) -> Target:
    return Target(
        api_backend=str(endpoint.get("apiFormat", "")),
        api_base=str(endpoint.get("url", "")),
        model_name=str(endpoint.get("modelName", "")),
    )


def service_api_base(service: Obj) -> str | None:
    """``scheme://host`` of the service's ``status.url`` (upstream drops any path)."""
    url = str((service.get("status") or {}).get("url") or "")
    found = re.match(r"^(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://)?(?P<host>[^/?#]+)", url)
    if not url or found is None:
        return None
    return f"{found.group('scheme') or 'http'}://{found.group('host')}"


def protocol_of(service: Obj) -> str:
    runner = ((service.get("spec") or {}).get("engine") or {}).get("runner") or {}
    for env in runner.get("env") or []:
        if env.get("name") == "PROTOCOL_VERSION" and env.get("value"):
            return str(env["value"])
    return "openai"


def served_model_name(container: Obj) -> str | None:
    """The name an SGLang or vLLM server answers to: ``--served-model-name``, else the
    model it loads (``--model-path``, ``--model`` or ``vllm serve MODEL``), with
    ``$(MODEL_PATH)`` expanded from the container's environment."""
    words = _words(container)
    env = {e.get("name"): e.get("value") for e in container.get("env") or [] if e.get("value")}
    for flags in (("--served-model-name",), ("--model-path", "--model")):
        value = _flag_value(words, flags)
        if value:
            return _MODEL_PATH.sub(lambda _: str(env.get("MODEL_PATH", "")), value) or None
    if "serve" in words:
        following = words[words.index("serve") + 1 :]
        if following and not following[0].startswith("-"):
            return _MODEL_PATH.sub(lambda _: str(env.get("MODEL_PATH", "")), following[0])
    return None


def _words(container: Obj) -> list[str]:
    words: list[str] = []
    for part in [*(container.get("command") or []), *(container.get("args") or [])]:
        text = str(part)
        try:
            words += shlex.split(text) if any(c.isspace() for c in text) else [text]
        except ValueError:
            words += text.split()
    return [w.rstrip("\\") for w in words if w not in ("\\", "")]


def _flag_value(words: list[str], flags: tuple[str, ...]) -> str | None:
    for i, word in enumerate(words):
        for flag in flags:
            if word == flag and i + 1 < len(words) and not words[i + 1].startswith("-"):
                return words[i + 1]
            if word.startswith(f"{flag}="):
                return word.split("=", 1)[1]
    return None


def main_container(pods: Iterable[Obj]) -> Obj | None:
    """The engine's main container (a multi-node group's leader first)."""
    engines = [
        p for p in pods if (p.get("metadata", {}).get("labels") or {}).get("component") == "engine"
    ]
    engines.sort(
        key=lambda p: (p.get("metadata", {}).get("labels") or {}).get("ray.io/node-type") != "head"
    )
    for pod in engines:
        containers = (pod.get("spec") or {}).get("containers") or []
        named = [c for c in containers if c.get("name") == "ome-container"]
        if named or containers:
            found: Obj = (named or containers)[0]
            return found
    return None


def storage_args(output: Obj) -> list[str]:
    """genai-bench's upload arguments for ``outputLocation`` (upstream ``BuildStorageArgs``)."""
    uri = str(output.get("storageUri") or "")
    params = {str(k): str(v) for k, v in (output.get("parameters") or {}).items()}
    scheme, _, rest = uri.partition("://")

    def param(key: str, flag: str) -> list[str]:
        return [flag, params[key]] if key in params else []

    if scheme == "oci":
        parts = rest.split("/")
        if len(parts) < 6 or parts[0] != "n" or parts[2] != "b" or parts[4] != "o":
            raise BenchmarkError(
                f"spec.outputLocation.storageUri {uri!r}: expected oci://n/{{namespace}}/b/{{bucket}}/o/{{prefix}}"
            )
        args = ["--upload-results", "--namespace", parts[1], "--storage-bucket", parts[3]]
        args += ["--storage-prefix", "/".join(parts[5:])]
        for key, flag in (
            ("auth", "--auth"),
            ("config_file", "--config-file"),
            ("profile", "--profile"),
            ("security_token", "--security-token"),
            ("region", "--region"),
        ):
            args += param(key, flag)
        return args
    if scheme == "pvc":
        return ["--experiment-base-dir", "/" + pvc_parts(uri)[1]]
    if scheme == "s3":
        if "@" in rest:  # s3://bucket@region/prefix
            bucket, _, located = rest.partition("@")
            region, _, prefix = located.partition("/")
        else:
            (bucket, _, prefix), region = rest.partition("/"), ""
        if not bucket:
            raise BenchmarkError(f"spec.outputLocation.storageUri {uri!r}: no bucket")
        args = ["--upload-results", "--storage-provider", "aws", "--storage-bucket", bucket]
        args += ["--storage-prefix", prefix] if prefix else []
        args += param("aws_access_key_id", "--storage-aws-access-key-id")
        args += param("aws_secret_access_key", "--storage-aws-secret-access-key")
        args += param("aws_profile", "--storage-aws-profile")
        region = params.get("aws_region", region)
        return args + (["--storage-aws-region", region] if region else [])
    if scheme == "gs":
        bucket, _, obj = rest.partition("/")
        if not bucket:
            raise BenchmarkError(f"spec.outputLocation.storageUri {uri!r}: no bucket")
        args = ["--upload-results", "--storage-provider", "gcp", "--storage-bucket", bucket]
        args += ["--storage-prefix", obj] if obj else []
        return (
            args
            + param("gcp_project_id", "--storage-gcp-project-id")
            + param("gcp_credentials_path", "--storage-gcp-credentials-path")
        )
    raise BenchmarkError(
        f"spec.outputLocation.storageUri {uri!r}: the output goes to oci://, pvc://, s3:// or gs://"
    )


def pvc_parts(uri: str) -> tuple[str, str]:
    """(claim, sub-path) of ``pvc://[namespace:]claim/sub/path``."""
    rest = uri.partition("://")[2]
    claim, slash, sub_path = rest.partition("/")
    claim = claim.rpartition(":")[2]
    if not claim or not slash or not sub_path:
        raise BenchmarkError(
            f"spec.outputLocation.storageUri {uri!r}: expected pvc://claim/sub/path"
        )
    return claim, sub_path


def benchmark_args(spec: Obj, target: Target) -> list[str]:
    args = [
        "benchmark",
        "--api-backend",
        target.api_backend,
        "--api-base",
        target.api_base,
        "--api-model-name",
        target.model_name,
        "--task",
        str(spec.get("task", "")),
        "--max-time-per-run",
        str(spec.get("maxTimePerIteration", "")),
        "--max-requests-per-run",
        str(spec.get("maxRequestsPerIteration", "")),
    ]
    if target.api_key:
        args += ["--api-key", target.api_key]
    if target.tokenizer:
        args += ["--model-tokenizer", target.tokenizer]
    for scenario in spec.get("trafficScenarios") or []:
        args += ["--traffic-scenario", str(scenario)]
    for concurrency in spec.get("numConcurrency") or []:
        args += ["--num-concurrency", str(concurrency)]
    if spec.get("resultFolderName"):
        args += ["--experiment-folder-name", str(spec["resultFolderName"])]
    metadata = spec.get("serviceMetadata")
    if metadata:
        args += ["--server-engine", str(metadata.get("engine", ""))]
        args += ["--server-gpu-type", str(metadata.get("gpuType", ""))]
        args += ["--server-version", str(metadata.get("version", ""))]
        args += ["--server-gpu-count", str(metadata.get("gpuCount", 0))]
    return args + storage_args(spec.get("outputLocation") or {})


def benchmark_job(benchmark: Obj, target: Target, config: BenchmarkConfig) -> dict[str, Any]:
    """The Job to create (without its owner reference)."""
    meta = benchmark["metadata"]
    spec = benchmark.get("spec") or {}
    env: list[dict[str, Any]] = [{"name": "ENABLE_UI", "value": "false"}]
    secret = (spec.get("huggingFaceSecretReference") or {}).get("name")
    if secret:
        reference = {"name": secret, "key": "HUGGINGFACE_API_KEY"}
        env.append({"name": "HUGGINGFACE_API_KEY", "valueFrom": {"secretKeyRef": reference}})
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": config.image,
        "resources": {
            "requests": {"cpu": config.cpu_request, "memory": config.memory_request},
            "limits": {"cpu": config.cpu_limit, "memory": config.memory_limit},
        },
        "env": env,
        "command": ["genai-bench"],
        "args": benchmark_args(spec, target),
    }
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    if target.model_volume and target.tokenizer:
        volumes.append({"name": target.model_volume, "hostPath": {"path": target.tokenizer}})
        mounts.append(
            {"name": target.model_volume, "mountPath": target.tokenizer, "readOnly": True}
        )
        env.append({"name": "MODEL_PATH", "value": target.tokenizer})
    output = str((spec.get("outputLocation") or {}).get("storageUri") or "")
    if output.startswith("pvc://"):
        claim, sub_path = pvc_parts(output)
        volumes.append({"name": OUTPUT_VOLUME, "persistentVolumeClaim": {"claimName": claim}})
        mounts.append({"name": OUTPUT_VOLUME, "mountPath": "/" + sub_path, "subPath": sub_path})
    if mounts:
        container["volumeMounts"] = mounts
    pod: dict[str, Any] = {
        "containers": [container],
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "restartPolicy": "Never",
    }
    if volumes:
        pod["volumes"] = volumes
    if target.node_selector:
        pod["nodeSelector"] = dict(target.node_selector)
    pod = _with_override(pod, spec.get("podOverride"))
    labels = {JOB_LABEL: meta["name"]}
    annotations = {"logging-forward": "true"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "backoffLimit": 0,
            "template": {"metadata": {"labels": labels, "annotations": annotations}, "spec": pod},
        },
    }


def _with_override(pod: dict[str, Any], override: Obj | None) -> dict[str, Any]:
    if not override:
        return pod
    container_patch = {
        k: override[k]
        for k in ("image", "env", "envFrom", "volumeMounts", "resources")
        if k in override
    }
    pod_patch = {
        k: override[k]
        for k in ("volumes", "affinity", "nodeSelector", "tolerations")
        if k in override
    }
    (container,) = pod["containers"]
    merged: dict[str, Any] = merge(pod, pod_patch, POD)
    merged["containers"] = [merge(container, container_patch, CONTAINER)]
    merged["restartPolicy"] = "Never"
    return merged


def job_state(job: Obj) -> tuple[str, str | None, str]:
    """(state, completion time, failure message) of a Job (upstream ``parseJobStatus``)."""
    status = job.get("status") or {}
    conditions = status.get("conditions") or []
    for condition in conditions:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            return FAILED, condition.get("lastTransitionTime"), str(condition.get("message", ""))
    if status.get("completionTime"):
        return COMPLETED, status["completionTime"], ""
    for condition in conditions:
        if condition.get("type") == "Complete" and condition.get("status") == "True":
            return COMPLETED, condition.get("lastTransitionTime"), ""
    return RUNNING, None, ""


def benchmark_status(
    benchmark: Obj, job: Obj | None, now: str, details: str = ""
) -> dict[str, Any]:
    """The status: Pending without a Job (``details`` says what it waits for), else the
    Job's state; times change only with the state, as upstream."""
    previous = dict(benchmark.get("status") or {})
    if job is None:
        state, completion, failure = PENDING, None, ""
    else:
        state, completion, failure = job_state(job)
    status = dict(previous)
    if previous.get("state") != state:
        status["lastReconcileTime"] = now
        status["state"] = state
        if state == PENDING:
            status.pop("startTime", None)
        if state in (PENDING, RUNNING):
            status.pop("completionTime", None)
            status.pop("failureMessage", None)
        else:
            status["completionTime"] = completion
            status["failureMessage"] = failure
            if not failure:
                status.pop("failureMessage", None)
    started = ((job or {}).get("status") or {}).get("startTime")
    if job is not None and started and not status.get("startTime"):
        status["startTime"] = started
    if details:
        status["details"] = details
    else:
        status.pop("details", None)
    return {k: v for k, v in status.items() if v is not None}
