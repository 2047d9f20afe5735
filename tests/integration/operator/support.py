"""``ome run`` as a real process, and the catalogue entries (a ClusterBaseModel, a
ServingRuntime, tiny InferenceServices) its tests serve on the fake GPU nodes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from ome.client import Client, NotFound
from ome.controllers.inferenceservice import CONTROLLER_NAME, FINALIZER
from ome.controllers.kinds import (
    CLUSTERBASEMODEL,
    INFERENCESERVICE,
    NODE,
    SERVINGRUNTIME,
)

ROOT = Path(__file__).resolve().parents[3]
NODES = ("gpu-node-0", "gpu-node-1")
LEASE_NAME = "ome-controller-manager"
LEADER_METRIC = "leader_election_master_status"
RECONCILE_METRIC = "controller_runtime_reconcile_total"
FORMAT = {"name": "safetensors", "version": "1.0.0"}
FRAMEWORK = {"name": "transformers", "version": "4.37.0"}
ARCHITECTURE = "Qwen2ForCausalLM"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Operator:
    """One ``ome run`` process, its log in ``log``, its HTTP endpoints on loopback."""

    def __init__(
        self,
        kubeconfig: Path,
        operator_namespace: str,
        log: Path,
        *,
        leader_elect: bool,
        isvc_workers: int = 4,
    ) -> None:
        self.log = log
        self.metrics_port = free_port()
        self.probe_port = free_port()
        self.command = [
            sys.executable,
            "-m",
            "ome.cli.main",
            "run",
            "--kubeconfig",
            str(kubeconfig),
            "--operator-namespace",
            operator_namespace,
            "--metrics-address",
            f"127.0.0.1:{self.metrics_port}",
            "--probe-address",
            f"127.0.0.1:{self.probe_port}",
            # the webhooks serve too (on every replica), each on a port of its own
            "--webhook-address",
            "127.0.0.1:0",
            "--log-format",
            "console",
            "--isvc-workers",
            str(isvc_workers),
            "--leader-elect" if leader_elect else "--no-leader-elect",
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Operator:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, and reap it."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()

    async def terminate(self, timeout: float) -> int:
        """SIGTERM; the exit status, waiting at most ``timeout`` seconds."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(asyncio.to_thread(self.process.wait), timeout)

    def tail(self, lines: int = 60) -> str:
        if not self.log.exists():
            return f"(no log at {self.log})"
        text = self.log.read_text(errors="replace").splitlines()
        return f"--- {self.log} (last {lines} lines) ---\n" + "\n".join(text[-lines:])

    async def _get(self, port: int, path: str) -> tuple[int, str] | None:
        try:
            timeout = aiohttp.ClientTimeout(total=5)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(f"http://127.0.0.1:{port}{path}") as answer,
            ):
                return answer.status, await answer.text()
        except (aiohttp.ClientError, OSError, TimeoutError):
            return None

    async def ready(self) -> bool:
        """/readyz answers 200: the caches have synced."""
        if not self.alive():
            raise AssertionError(f"ome run exited with {self.process and self.process.poll()}")
        answer = await self._get(self.probe_port, "/readyz")
        return answer is not None and answer[0] == 200

    async def metrics(
        self, *, required: bool = True
    ) -> dict[str, list[tuple[dict[str, str], float]]]:
        """The samples of /metrics by name. When it does not answer: fail if ``required``,
        else nothing (a process still starting)."""
        answer = await self._get(self.metrics_port, "/metrics")
        if answer is None or answer[0] != 200:
            assert not required, f"/metrics of pid {self.pid} does not answer: {answer}"
            return {}
        samples: dict[str, list[tuple[dict[str, str], float]]] = {}
        for family in text_string_to_metric_families(answer[1]):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append((sample.labels, sample.value))
        return samples

    async def reconciles(self) -> float:
        """InferenceService reconciles of any result, as /metrics reports them."""
        found = (await self.metrics()).get(RECONCILE_METRIC, [])
        return sum(v for labels, v in found if labels.get("controller") == CONTROLLER_NAME)

    async def leading(self) -> float | None:
        """``leader_election_master_status`` for the operator's Lease (None: not there)."""
        for labels, value in (await self.metrics(required=False)).get(LEADER_METRIC, []):
            if labels.get("name") == LEASE_NAME:
                return value
        return None


@contextlib.asynccontextmanager
async def operators(*started: Operator) -> AsyncIterator[None]:
    """Kill whatever is still running on the way out, and show the logs on failure."""
    try:
        yield
    except BaseException:
        for operator in started:
            print(operator.tail())
        raise
    finally:
        for operator in started:
            operator.kill()


def model(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ClusterBaseModel",
        "metadata": {"name": name},
        "spec": {
            "modelFormat": FORMAT,
            "modelFramework": FRAMEWORK,
            "modelArchitecture": ARCHITECTURE,
            "modelParameterSize": "7B",
            "storage": {"storageUri": f"hf://example/{name}", "path": f"/models/{name}"},
        },
    }


def runtime(name: str, namespace: str) -> dict[str, Any]:
    """Tiny requests and no GPU, so a hundred pods fit on the two fake nodes."""
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ServingRuntime",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "supportedModelFormats": [
                {
                    "modelFormat": FORMAT,
                    "modelFramework": FRAMEWORK,
                    "modelArchitecture": ARCHITECTURE,
                    "autoSelect": True,
                    "priority": 1,
                }
            ],
            "engineConfig": {
                "runner": {
                    "name": "ome-container",
                    "image": "registry.example/engine:1",
                    "ports": [{"containerPort": 8080, "name": "http1", "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            },
        },
    }


def service(name: str, namespace: str, model_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "model": {"name": model_name, "kind": "ClusterBaseModel"},
            "engine": {"minReplicas": 1, "maxReplicas": 1},
        },
    }


def is_ready(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def label_nodes(client: Client, model_name: str, value: str | None) -> None:
    """Say the model is Ready on both fake nodes (None: remove the label)."""
    nodes = await client.resource(NODE)
    label = {f"models.ome.io/clusterbasemodel.{model_name}": value}
    for node in NODES:
        await nodes.patch(node, {"metadata": {"labels": label}})


async def create_namespace(client: Client, name: str) -> None:
    """The namespace, whether or not it exists already."""
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    await client.apply(f"/api/v1/namespaces/{name}", body, field_manager="test", force=True)


async def create_all(client: Client, objects: Iterable[dict[str, Any]], batch: int = 10) -> None:
    services = await client.resource(INFERENCESERVICE)
    pending = list(objects)
    for start in range(0, len(pending), batch):
        await asyncio.gather(*(services.create(o) for o in pending[start : start + batch]))


@contextlib.asynccontextmanager
async def catalogue(client: Client, model_name: str, namespace: str) -> AsyncIterator[None]:
    """The model (Ready on both nodes) and a runtime for it in ``namespace``. On the way
    out, whatever is left is removed, finalizers included (the operator may be dead)."""
    await label_nodes(client, model_name, "Ready")
    await (await client.resource(CLUSTERBASEMODEL)).create(model(model_name))
    await (await client.resource(SERVINGRUNTIME)).create(runtime("engine", namespace))
    try:
        yield
    finally:
        await force_delete_services(client, namespace)
        with contextlib.suppress(NotFound):
            await (await client.resource(SERVINGRUNTIME)).delete("engine", namespace)
        models = await client.resource(CLUSTERBASEMODEL)
        with contextlib.suppress(NotFound):
            await models.delete(model_name)
        with contextlib.suppress(NotFound):
            await models.patch(model_name, {"metadata": {"finalizers": None}})
        await label_nodes(client, model_name, None)


async def delete_services(client: Client, namespace: str) -> None:
    services = await client.resource(INFERENCESERVICE)
    names = [s["metadata"]["name"] for s in await services.list(namespace)]
    for start in range(0, len(names), 10):
        await asyncio.gather(
            *(services.delete(n, namespace) for n in names[start : start + 10]),
            return_exceptions=True,
        )


async def force_delete_services(client: Client, namespace: str) -> None:
    """Delete what is left, removing the finalizer that only a live operator would."""
    await delete_services(client, namespace)
    services = await client.resource(INFERENCESERVICE)
    for left in await services.list(namespace):
        finalizers = [f for f in left["metadata"].get("finalizers") or [] if f != FINALIZER]
        with contextlib.suppress(NotFound):
            await services.patch(
                left["metadata"]["name"], {"metadata": {"finalizers": finalizers}}, namespace
            )
