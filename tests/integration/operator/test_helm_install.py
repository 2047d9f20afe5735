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
from ome.controllers.kinds import CONFIGMAP, DEPLOYMENT, INFERENCESERVICE, POD
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
AGENT_ACCOUNT = "ome-model-agent"
AGENT_DAEMONSET = "ome-model-agent-daemonset"
WEBHOOK_SECRET = "ome-webhook-server-cert"
DAEMONSET = GVK("apps", "v1", "DaemonSet")
LEASE = GVK("coordination.k8s.io", "v1", "Lease")
SECRET = GVK("", "v1", "Secret")
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


def host_command(
    container: dict[str, Any], kubeconfig: Path, fields: dict[str, str], moved: dict[str, str]
) -> list[str]:
    """``ome`` with a chart container's args, its fieldRef variables filled in from
    ``fields`` and the flags of ``moved`` given other values: listen addresses on free
    loopback ports (the pod's are the host's too here), paths in the test's directory."""
    args = [arg for arg in container["args"] if arg.split("=", 1)[0] not in moved]
    for name, value in fields.items():
        args = [arg.replace(f"$({name})", value) for arg in args]
    flags = [item for flag, value in moved.items() for item in (flag, value)]
    return [
        sys.executable, "-m", "ome.cli.main", *args,
        "--kubeconfig", str(kubeconfig), *flags, "--log-format", "console",
    ]  # fmt: skip


def loopback(*flags: str) -> dict[str, str]:
    return {flag: f"127.0.0.1:{free_port()}" for flag in flags}


async def account_kubeconfig(admin: Client, account: str, path: Path) -> Path:
    token = await request_token(admin, account, NAMESPACE)
    return write_kubeconfig(
        path,
        token_configuration(admin.configuration, token),
        f"system:serviceaccount:{NAMESPACE}:{account}",
    )


@contextlib.contextmanager
def host_process(command: list[str], log: Path, pod_name: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "POD_NAMESPACE": NAMESPACE, "POD_NAME": pod_name}
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


async def placed_agent_pods(client: Client) -> list[dict[str, Any]]:
    """The pods of the chart's DaemonSet placed on a node."""
    pods = await (await client.resource(POD)).list(
        NAMESPACE, label_selector="app.kubernetes.io/component=model-agent"
    )
    return [pod for pod in pods if pod["spec"].get("nodeName")]


async def owned_by_the_daemonset(client: Client, configmap: str) -> bool:
    try:
        found = await (await client.resource(CONFIGMAP)).get(configmap, NAMESPACE)
    except NotFound:
        return False
    owners = found["metadata"].get("ownerReferences") or []
    return [(o["kind"], o["name"]) for o in owners] == [("DaemonSet", AGENT_DAEMONSET)]


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
    manager_flags = loopback("--metrics-address", "--probe-address", "--webhook-address")
    url = f"https://{manager_flags['--webhook-address']}"
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
        manager = host_command(
            deployment["spec"]["template"]["spec"]["containers"][0],
            await account_kubeconfig(admin, MANAGER_ACCOUNT, tmp_path / "manager.kubeconfig"),
            {"POD_NAMESPACE": NAMESPACE},
            manager_flags,
        )
        assert f"--webhook-url={url}" in manager
        assert "--leader-elect" in manager
        pods: list[dict[str, Any]] = []

        async def agent_placed() -> bool:
            pods[:] = await placed_agent_pods(admin)
            return bool(pods)

        await eventually(agent_placed, timeout=60)
        agent_pod, node = pods[0], pods[0]["spec"]["nodeName"]
        daemonset = await (await admin.resource(DAEMONSET)).get(AGENT_DAEMONSET, NAMESPACE)
        agent = [
            *host_command(
                daemonset["spec"]["template"]["spec"]["containers"][0],
                await account_kubeconfig(admin, AGENT_ACCOUNT, tmp_path / "agent.kubeconfig"),
                {"POD_NAMESPACE": NAMESPACE, "NODE_NAME": node},
                {
                    **loopback("--metrics-address", "--probe-address"),
                    "--models-root": str(tmp_path / "models"),
                    "--hf-endpoint": f"http://127.0.0.1:{free_port()}",  # nothing to fetch
                },
            ),
            "--simulate",
        ]

        with (
            host_process(manager, tmp_path / "manager.log", "ome-controller-manager-host"),
            host_process(agent, tmp_path / "agent.log", agent_pod["metadata"]["name"]),
        ):
            probe = manager_flags["--probe-address"].rsplit(":", 1)[1]
            await eventually(lambda: probe_ready(int(probe)), timeout=120)
            services = await admin.resource(INFERENCESERVICE)
            async with catalogue(admin, "helm-model", "default"):
                # through the chart's webhooks (at webhook.url) and the operator's RBAC
                await services.create(service("charted", "default", "helm-model"))

                async def ready() -> bool:
                    return is_ready(await services.get("charted", "default"))

                await eventually(ready, timeout=120)
                # what the manager and the agent made at run time belongs to the install
                await eventually(lambda: owned_by_the_daemonset(admin, node), timeout=120)
                lease = await (await admin.resource(LEASE)).get(MANAGER_ACCOUNT, NAMESPACE)
                assert lease["spec"]["holderIdentity"]
                secret = await (await admin.resource(SECRET)).get(WEBHOOK_SECRET, NAMESPACE)
                assert secret["data"]["tls.crt"]
                made = [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": node, "namespace": NAMESPACE},
                    },
                    lease,
                    secret,
                ]

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

        async def all_gone() -> bool:  # the garbage collector follows the owner references
            return not [o for o in made if await exists(admin, o)]

        await eventually(all_gone, timeout=60)
        await run(helm, "uninstall", "ome-crd", *kube, "--wait")
        crds = await admin.resource(CRD)
        assert await crds.get("inferenceservices.ome.io")  # kept
