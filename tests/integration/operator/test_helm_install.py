"""The Helm charts installed on a control plane of their own (the session's already holds
the operator's CRDs and RBAC, which Helm would refuse to take over): ``helm install`` of
ome-crd and ome gives a working operator, ``helm upgrade`` with another image rolls its
Deployment, ``helm uninstall`` removes every object the chart made and keeps the CRDs.

No container runs here (kwok fakes the pods), so the operator is ``ome run`` as a host
process with the args of the chart's Deployment, authenticated with a token of the
chart's ServiceAccount, and the webhooks at the loopback URL the chart is given as
``webhook.url``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import yaml

from ome.client import GVK, Client, NotFound, load_configuration
from ome.controllers.kinds import DEPLOYMENT, INFERENCESERVICE
from ome.testing.controlplane import ControlPlane
from ome.testing.nodes import gpu_nodes
from ome.testing.serviceaccount import request_token, token_configuration, write_kubeconfig
from tests.integration.helpers import built_tool, eventually
from tests.integration.operator.support import (
    ROOT,
    catalogue,
    create_namespace,
    free_port,
    is_ready,
    service,
)

pytestmark = pytest.mark.integration

CHARTS = ROOT / "charts"
NAMESPACE = "ome"
MANAGER_ACCOUNT = "ome-controller-manager"
REPLICASET = GVK("apps", "v1", "ReplicaSet")
CRD = GVK("apiextensions.k8s.io", "v1", "CustomResourceDefinition")


@pytest.fixture(scope="module")
def helm() -> Path:
    return built_tool("helm")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def plane() -> AsyncIterator[ControlPlane]:
    async with ControlPlane(controller_manager=True, scheduler=True, nodes=gpu_nodes(2)) as cp:
        yield cp


async def run(*command: str | Path) -> str:
    process = await asyncio.create_subprocess_exec(
        *map(str, command), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    assert process.returncode == 0, f"{command[:3]}: {err.decode()}"
    return out.decode()


def host_command(deployment: dict[str, Any], kubeconfig: Path, ports: dict[str, int]) -> list[str]:
    """``ome`` with the manager container's args, its fieldRef variables filled in and its
    listen addresses moved to free loopback ports (the pod's are the host's too here)."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    moved = {"--metrics-address", "--probe-address"}
    args = [
        arg.replace("$(POD_NAMESPACE)", NAMESPACE)
        for arg in container["args"]
        if arg.split("=", 1)[0] not in moved
    ]
    return [
        sys.executable, "-m", "ome.cli.main", *args,
        "--kubeconfig", str(kubeconfig),
        "--metrics-address", f"127.0.0.1:{ports['metrics']}",
        "--probe-address", f"127.0.0.1:{ports['probe']}",
        "--webhook-address", f"127.0.0.1:{ports['webhook']}",
        "--log-format", "console",
    ]  # fmt: skip


@contextlib.contextmanager
def host_process(command: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "POD_NAMESPACE": NAMESPACE, "POD_NAME": "ome-controller-manager-host"}
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    try:
        yield process
    except BaseException:
        print(log.read_text(errors="replace")[-6000:])
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def probe_ready(port: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(f"http://127.0.0.1:{port}/readyz") as answer,
        ):
            return answer.status == 200
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False


async def exists(client: Client, obj: dict[str, Any]) -> bool:
    resource = await client.resource(GVK.parse(obj["apiVersion"], obj["kind"]))
    try:
        await resource.get(obj["metadata"]["name"], obj["metadata"].get("namespace"))
    except NotFound:
        return False
    return True


@pytest.mark.timeout(900)
async def test_install_serve_upgrade_uninstall(
    helm: Path, plane: ControlPlane, tmp_path: Path
) -> None:
    kube = ("--kubeconfig", str(plane.kubeconfig))
    ports = {"metrics": free_port(), "probe": free_port(), "webhook": free_port()}
    url = f"https://127.0.0.1:{ports['webhook']}"
    async with Client(await load_configuration(plane.kubeconfig)) as admin:
        await run(helm, "install", "ome-crd", CHARTS / "ome-crd", *kube, "--wait")
        await create_namespace(admin, NAMESPACE)
        install = ("ome", CHARTS / "ome", "--namespace", NAMESPACE, "--set", f"webhook.url={url}")
        await run(helm, "install", *install, *kube)
        rendered = [
            doc
            for doc in yaml.safe_load_all(
                await run(helm, "get", "manifest", "ome", "--namespace", NAMESPACE, *kube)
            )
            if doc
        ]
        deployment = await (await admin.resource(DEPLOYMENT)).get(MANAGER_ACCOUNT, NAMESPACE)
        token = await request_token(admin, MANAGER_ACCOUNT, NAMESPACE)
        account = write_kubeconfig(
            tmp_path / "manager.kubeconfig",
            token_configuration(admin.configuration, token),
            f"system:serviceaccount:{NAMESPACE}:{MANAGER_ACCOUNT}",
        )
        command = host_command(deployment, account, ports)
        assert f"--webhook-url={url}" in command
        assert "--leader-elect" in command

        with host_process(command, tmp_path / "manager.log"):
            await eventually(lambda: probe_ready(ports["probe"]), timeout=120)
            services = await admin.resource(INFERENCESERVICE)
            async with catalogue(admin, "helm-model", "default"):
                # through the chart's webhooks (at webhook.url) and the operator's RBAC
                await services.create(service("charted", "default", "helm-model"))

                async def ready() -> bool:
                    return is_ready(await services.get("charted", "default"))

                await eventually(ready, timeout=120)

        await run(helm, "upgrade", *install, *kube, "--reuse-values", "--set", "image.tag=v2")
        replicasets = await admin.resource(REPLICASET)

        async def rolled() -> bool:
            images = {
                rs["spec"]["template"]["spec"]["containers"][0]["image"]
                for rs in await replicasets.list(
                    NAMESPACE, label_selector="app.kubernetes.io/component=controller-manager"
                )
            }
            return images == {"ghcr.io/ome-operator/ome:latest", "ghcr.io/ome-operator/ome:v2"}

        await eventually(rolled, timeout=60)

        await run(helm, "uninstall", "ome", "--namespace", NAMESPACE, *kube, "--wait")
        left = [f"{o['kind']}/{o['metadata']['name']}" for o in rendered if await exists(admin, o)]
        assert not left, f"left behind by helm uninstall: {left}"
        await run(helm, "uninstall", "ome-crd", *kube, "--wait")
        crds = await admin.resource(CRD)
        assert await crds.get("inferenceservices.ome.io")  # kept
