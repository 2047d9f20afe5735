"""`ome status isvc` against the test control plane, with the InferenceService controller
running in-process: a Ready service and one whose model is missing."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from ome.client import GVK, Client
from ome.controllers.kinds import INFERENCESERVICE
from ome.testing.pytest_plugin import Cluster
from tests.integration.controllers.support import running_controller
from tests.integration.controllers.test_inferenceservice import (
    catalogue,  # noqa: F401 - the fixture, used by name
    service_in,
)
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration

OME = Path(sys.executable).parent / "ome"
EVENT = GVK("events.k8s.io", "v1", "Event")


async def ome(*args: str) -> tuple[int, str, str]:
    """Run the command without blocking the event loop the controller runs on."""
    process = await asyncio.create_subprocess_exec(
        str(OME),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _ready(service: dict[str, Any]) -> dict[str, Any]:
    conditions = (service.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


async def test_status_of_a_ready_and_a_failing_service(
    cluster: Cluster,
    kubeconfig: Path,
    client: Client,
    namespace: str,
    catalogue: dict[str, Any],  # noqa: F811 - the fixture imported above
) -> None:
    services = await client.resource(INFERENCESERVICE)
    events = await client.resource(EVENT)
    ready = service_in(catalogue["sample"], namespace)
    ready_name = ready["metadata"]["name"]
    failing = service_in(catalogue["sample"], namespace, model={"name": f"model-{namespace}"})
    failing["metadata"]["name"] = "no-model"
    async with running_controller(cluster, namespace, workers=2):
        for service in (ready, failing):
            await services.create(service)

        async def settled() -> bool:
            first = _ready(await services.get(ready_name, namespace))
            second = _ready(await services.get("no-model", namespace))
            return first.get("status") == "True" and second.get("reason") == "BaseModelNotFound"

        await eventually(settled, timeout=60)

        async def announced() -> bool:
            reasons = {e["reason"] for e in await events.list(namespace)}
            return {"InferenceServiceReady", "BaseModelNotFound"} <= reasons

        await eventually(announced, timeout=15)

    where = ("-n", namespace, "--kubeconfig", str(kubeconfig))
    code, out, err = await ome("status", "isvc", ready_name, *where)
    print(out)
    assert code == 0, err
    runtime = catalogue["runtime"]["metadata"]["name"]
    assert "Ready:       True" in out
    assert f"URL:         http://{ready_name}.{namespace}.svc" in out
    assert f"ClusterBaseModel {catalogue['model']['metadata']['name']}" in out
    assert f"Runtime:     ClusterServingRuntime {runtime} (auto-selected)" in out
    assert f"+ ClusterServingRuntime {runtime}: selected" in out
    assert f"{ready_name}-engine" in out
    assert "Running" in out
    assert "InferenceServiceReady" in out

    code, out, err = await ome("status", "isvc", "no-model", *where)
    print(out)
    assert code == 0, err
    assert "Ready:       False (BaseModelNotFound: " in out
    assert f"no ClusterBaseModel 'model-{namespace}'" in out
    assert "Runtime:     not selected without a model" in out
    assert "Components:  <none>" in out
    assert "Warning" in out

    code, out, err = await ome("status", "isvc", "absent", *where)
    assert code == 1
    assert f"InferenceService 'absent' not found in namespace '{namespace}'" in err
