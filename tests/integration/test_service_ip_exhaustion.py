"""An InferenceService whose Service gets no ClusterIP (the cluster's service IP range is
full) says so: Ready=False with ServiceIPRangeExhausted naming the Service and the cause,
and a Warning Event; it is retried with backoff and recovers once an address is free.

The control plane is its own, with a /29 service range, so that a few Services fill it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ome.client import GVK, ApiError, Client
from ome.controllers.inferenceservice import setup
from ome.controllers.kinds import CLUSTERBASEMODEL, CLUSTERSERVINGRUNTIME, INFERENCESERVICE
from ome.runtime import Manager, ManagerOptions
from ome.serving.problems import apply_refusal
from ome.testing.controlplane import ControlPlane
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TINY_RANGE = "10.97.0.0/29"
NAMESPACE = "team"
SERVICE = GVK("", "v1", "Service")
EVENT = GVK("events.k8s.io", "v1", "Event")
REASON = "ServiceIPRangeExhausted"
PORT = {"port": 80}
FORMAT = {
    "modelFormat": {"name": "safetensors", "version": "1.0.0"},
    "modelFramework": {"name": "transformers", "version": "4.42.3"},
    "modelArchitecture": "LlamaForCausalLM",
}
MODEL = {
    "apiVersion": "ome.io/v1beta1",
    "kind": "ClusterBaseModel",
    "metadata": {"name": "llama"},
    "spec": {**FORMAT, "storage": {"storageUri": "hf://meta/llama", "path": "/models/llama"}},
}
RUNTIME = {
    "apiVersion": "ome.io/v1beta1",
    "kind": "ClusterServingRuntime",
    "metadata": {"name": "srt-llama"},
    "spec": {
        "supportedModelFormats": [{**FORMAT, "autoSelect": True}],
        "engineConfig": {
            "runner": {
                "name": "ome-container",
                "image": "sglang:1",
                "ports": [{"containerPort": 8080, "name": "http1"}],
            }
        },
    },
}
ISVC = {
    "apiVersion": "ome.io/v1beta1",
    "kind": "InferenceService",
    "metadata": {"name": "chat", "namespace": NAMESPACE},
    "spec": {"model": {"name": "llama"}, "engine": {"minReplicas": 1}},
}


@pytest_asyncio.fixture(loop_scope="session")
async def admin(tmp_path: Path) -> AsyncIterator[Client]:
    async with ControlPlane(service_cidr=TINY_RANGE, run_dir=tmp_path / "plane") as plane:
        await plane.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))
        async with await plane.client() as client:
            yield client


async def _fill_the_range(services: Any) -> tuple[list[str], ApiError]:
    """Create Services until the API server refuses one: the names that got an address,
    and the refusal."""
    made: list[str] = []
    for index in range(16):
        name = f"filler-{index}"
        body = {"metadata": {"name": name, "namespace": NAMESPACE}, "spec": {"ports": [PORT]}}
        try:
            await services.create({"apiVersion": "v1", "kind": "Service", **body})
        except ApiError as err:
            return made, err
        made.append(name)
    raise AssertionError(f"{TINY_RANGE} was never full")


async def test_an_exhausted_service_range_is_a_condition_and_recovers(admin: Client) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    await admin.create("/api/v1/namespaces", namespace)
    for obj, kind in ((MODEL, CLUSTERBASEMODEL), (RUNTIME, CLUSTERSERVINGRUNTIME)):
        await (await admin.resource(kind)).create(obj)
    services = await admin.resource(SERVICE)
    fillers, refusal = await _fill_the_range(services)
    assert len(fillers) >= 2, f"the range had room for {len(fillers)} Services only"
    # the answer the controller maps (k8s.io/kubernetes v1.37.2
    # pkg/registry/core/service/storage/alloc.go around ipallocator.ErrFull)
    refused = f"filler-{len(fillers)}"
    assert refusal.status == 500, refusal
    assert f'a serviceIP for Service "{refused}": range is full' in refusal.message, refusal
    assert apply_refusal("Service", refused, refusal.message) is not None

    manager = Manager(
        admin,
        ManagerOptions(
            metrics_address="127.0.0.1:0", probe_address="127.0.0.1:0", handle_signals=False
        ),
    )
    # this plane serves none of the optional APIs (LeaderWorkerSet, KEDA, Gateway API, the
    # Inference Extension, Knative Serving): informers of them would never sync
    setup(
        manager,
        workers=1,
        watch_leaderworkersets=False,
        watch_scaledobjects=False,
        watch_httproutes=False,
        watch_inferencepools=False,
        watch_knativeservices=False,
    )
    isvcs = await admin.resource(INFERENCESERVICE)
    async with manager.running():
        await isvcs.create(ISVC)

        async def ready_condition() -> dict[str, Any]:
            service = await isvcs.get("chat", NAMESPACE)
            conditions = (service.get("status") or {}).get("conditions") or []
            return next((c for c in conditions if c["type"] == "Ready"), {})

        async def exhausted() -> bool:
            return (await ready_condition()).get("reason") == REASON

        await eventually(exhausted, timeout=60)
        ready = await ready_condition()
        assert ready["status"] == "False"
        assert ready["message"].startswith("Service chat-engine gets no ClusterIP")
        assert "range is full" in ready["message"]

        async def warned() -> bool:
            events = await (await admin.resource(EVENT)).list(NAMESPACE)
            return any(e["reason"] == REASON and e["type"] == "Warning" for e in events)

        await eventually(warned, timeout=30)

        # addresses come free (the service has two Services: its engine's and its own):
        # the retry, with backoff, creates them
        for filler in fillers[:2]:
            await services.delete(filler, NAMESPACE)

        async def served() -> bool:
            with contextlib.suppress(ApiError):
                service = await services.get("chat-engine", NAMESPACE)
                return bool(service["spec"].get("clusterIP"))
            return False

        await eventually(served, timeout=120)

        async def no_longer_exhausted() -> bool:
            return (await ready_condition()).get("reason") != REASON

        await eventually(no_longer_exhausted, timeout=30)
