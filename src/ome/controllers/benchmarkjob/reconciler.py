"""The reconcile of one BenchmarkJob: finalizer, the Job when its target is ready, and
the status (:mod:`ome.serving.benchmark`)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from ome.client import GVK, AlreadyExists, Client, Conflict, KubeObject, NotFound, ResourceClient
from ome.controllers.kinds import BENCHMARKJOB, JOB
from ome.informers import SharedInformer
from ome.runtime import (
    NORMAL,
    WARNING,
    EventRecorder,
    Request,
    Result,
    has_finalizer,
    set_controller_reference,
)
from ome.runtime.conditions import now_rfc3339
from ome.serving.benchmark import (
    API_KEY,
    CONFIG_NAME,
    FAILED,
    BenchmarkConfig,
    BenchmarkError,
    Target,
    benchmark_job,
    benchmark_status,
    endpoint_target,
    main_container,
    parse_benchmark_config,
    protocol_of,
    served_model_name,
    service_api_base,
)
from ome.serving.naming import MODEL_READY, model_ready_label
from ome.serving.status import is_ready

FINALIZER = "benchmarkjob.finalizers"
"""Upstream's: added on the first reconcile, removed on deletion."""
PODS_WAIT = 5.0
"""Seconds between looks for a Ready service's engine pods in the cache."""


class _Waiting(Exception):
    """The target is not ready to be benchmarked; the message says what is missing."""


@dataclass
class BenchmarkJobReconciler:
    client: Client
    benchmarks: SharedInformer
    jobs: SharedInformer
    services: SharedInformer
    pods: SharedInformer
    base_models: SharedInformer
    cluster_base_models: SharedInformer
    config: SharedInformer
    config_namespace: str
    recorder: EventRecorder

    def __post_init__(self) -> None:
        self._resources: dict[str, ResourceClient[KubeObject]] = {}

    async def __call__(self, request: Request) -> Result | None:
        found = self.benchmarks.store.get(str(request))
        if found is None:
            return None
        meta = found["metadata"]
        if meta.get("deletionTimestamp"):
            if has_finalizer(found, FINALIZER):
                kept = [f for f in meta.get("finalizers") or [] if f != FINALIZER]
                await self._patch_finalizers(found, kept)
            return None
        if not has_finalizer(found, FINALIZER):
            found = await self._patch_finalizers(
                found, [*(meta.get("finalizers") or []), FINALIZER]
            )
        job = self.jobs.store.get(str(request))
        if job is not None:
            await self._write_status(found, benchmark_status(found, job, now_rfc3339()))
            return None
        try:
            target = self._target(found)
            manifest = benchmark_job(found, target, self._config())
        except _Waiting as waiting:
            pending = benchmark_status(found, None, now_rfc3339(), str(waiting))
            await self._write_status(found, pending)
            return Result(requeue_after=PODS_WAIT) if "pods" in str(waiting) else None
        except BenchmarkError as err:
            await self._fail(found, str(err))
            return None
        set_controller_reference(found, manifest)
        with contextlib.suppress(AlreadyExists):  # a cache behind our own create
            await (await self._resource(JOB)).create(manifest)
            self.recorder.event(found, NORMAL, "JobCreated", f"Job {meta['name']} runs genai-bench")
        await self._write_status(found, benchmark_status(found, None, now_rfc3339()))
        return None

    def _config(self) -> BenchmarkConfig:
        configmap = self.config.store.get(f"{self.config_namespace}/{CONFIG_NAME}")
        return parse_benchmark_config((configmap or {}).get("data"))

    def _target(self, benchmark: KubeObject) -> Target:
        endpoint = (benchmark.get("spec") or {}).get("endpoint") or {}
        if endpoint.get("endpoint"):
            return endpoint_target(endpoint["endpoint"])
        ref = endpoint.get("inferenceService") or {}
        key = f"{ref.get('namespace')}/{ref.get('name')}"
        service = self.services.store.get(key)
        if service is None:
            raise _Waiting(f"waiting for InferenceService {key} to exist")
        if not is_ready(service.get("status")):
            raise _Waiting(f"waiting for InferenceService {key} to be Ready")
        api_base = service_api_base(service)
        if api_base is None:
            raise _Waiting(f"waiting for InferenceService {key} to have a status.url")
        model_name = ((service.get("spec") or {}).get("model") or {}).get("name") or ""
        namespace = service["metadata"]["namespace"]
        model = self.base_models.store.get(f"{namespace}/{model_name}")
        scope: str | None = namespace
        if model is None:
            model, scope = self.cluster_base_models.store.get(model_name), None
        if model is None:
            raise _Waiting(f"waiting for the model {model_name!r} of InferenceService {key}")
        path = ((model.get("spec") or {}).get("storage") or {}).get("path")
        if not path:
            raise _Waiting(f"waiting for the model {model_name!r} to have a storage path")
        pods = [
            p
            for p in self.pods.store.list()
            if p["metadata"].get("namespace") == namespace
            and (p["metadata"].get("labels") or {}).get("ome.io/inferenceservice")
            == ref.get("name")
        ]
        container = main_container(pods)
        if container is None:
            raise _Waiting(f"waiting for the engine pods of InferenceService {key}")
        return Target(
            api_backend=protocol_of(service),
            api_base=api_base,
            model_name=served_model_name(container) or str(path),
            api_key=API_KEY,
            tokenizer=str(path),
            model_volume=model_name,
            node_selector={model_ready_label(model_name, scope): MODEL_READY},
        )

    async def _fail(self, benchmark: KubeObject, message: str) -> None:
        status = dict(benchmark.get("status") or {})
        if status.get("state") == FAILED and status.get("failureMessage") == message:
            return
        status |= {"state": FAILED, "failureMessage": message, "lastReconcileTime": now_rfc3339()}
        await self._write_status(benchmark, status)
        self.recorder.event(benchmark, WARNING, "InvalidBenchmark", message)

    async def _resource(self, kind: GVK) -> ResourceClient[KubeObject]:
        if kind.kind not in self._resources:
            self._resources[kind.kind] = await self.client.resource(kind)
        return self._resources[kind.kind]

    async def _patch_finalizers(self, found: KubeObject, finalizers: list[str]) -> KubeObject:
        meta = found["metadata"]
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
        try:
            updated: KubeObject = await (await self._resource(BENCHMARKJOB)).patch(
                meta["name"], patch, meta["namespace"]
            )
        except NotFound:
            return found
        return updated

    async def _write_status(self, found: KubeObject, status: dict[str, Any]) -> None:
        current = found.get("status") or {}
        if current == status:
            return
        patch = {k: None for k in current if k not in status} | status
        meta = found["metadata"]
        with contextlib.suppress(NotFound, Conflict):
            await (await self._resource(BENCHMARKJOB)).patch_status(
                meta["name"], {"status": patch}, meta["namespace"]
            )
