"""The whole local system the chaos runs against: the embedded control plane (etcd,
kube-apiserver with an audit log, kube-controller-manager, kube-scheduler, kwok with
fake GPU nodes), the operator's CRDs, configuration and RBAC, a small catalogue of
models and runtimes, and N replicas of ``ome run`` with leader election, each reaching
the API server through a :class:`~chaos.proxy.FaultyProxy` of its own and serving the
admission webhooks behind one :class:`~chaos.proxy.Balancer`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from chaos.agents import Agents
from chaos.invariants import Catalogue
from chaos.models import ARCHITECTURE, FORMAT, FRAMEWORK, NOT_FETCHED
from chaos.process import Watched, free_port
from chaos.proxy import Balancer, FaultyProxy
from ome.cli import bootstrap
from ome.cli.operator import LEASE_NAME
from ome.client import GVK, Client, NotFound
from ome.testing import ControlPlane
from ome.testing.crds import install_crds
from ome.testing.nodes import gpu_nodes
from ome.testing.serviceaccount import OPERATOR_NAMESPACE, install_rbac
from ome.webhooks import provision
from ome.webhooks.configuration import webhook_configurations

ROOT = Path(__file__).resolve().parents[1]
REPLICA_GROUP = "ome-chaos:replicas"
# Room for 200 services of up to 2 replicas each (a node's default is 110 pods).
NODES = [dataclasses.replace(node, pods=250) for node in gpu_nodes(2, 8)]
MODELS = {"chaos-model-a": "/models/chaos-model-a", "chaos-model-b": "/models/chaos-model-b"}
RUNTIMES = {
    "chaos-engine-a": "registry.example/engine:a",
    "chaos-engine-b": "registry.example/engine:b",
}
CATALOGUE = Catalogue(images=RUNTIMES, model_paths=MODELS)
FIELD_MANAGER = "ome-chaos"
# The replicas' writes, by user, with their request bodies: the Lease's name the holder,
# so that the log says who led when; the others show which carried a precondition
# (a resourceVersion, or an owner's UID). Events only by metadata: they are many, and
# any replica may write them.
AUDIT_POLICY = f"""\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["{REPLICA_GROUP}"]
    verbs: [create, update, patch, delete, deletecollection]
    resources: [{{group: "", resources: [events]}}, {{group: events.k8s.io, resources: [events]}}]
  - level: Request
    userGroups: ["{REPLICA_GROUP}"]
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
"""
LEASE_PATH = f"/apis/coordination.k8s.io/v1/namespaces/{OPERATOR_NAMESPACE}/leases/{LEASE_NAME}"


class Replica(Watched):
    """One ``ome run`` process; restarted by :meth:`System.supervise` when it exits, as a
    kubelet would. Its ports and its proxy stay the same across restarts."""

    def __init__(
        self, name: str, kubeconfig: Path, proxy: FaultyProxy, log: Path, webhook_url: str
    ) -> None:
        super().__init__()
        self.name = name
        self.proxy = proxy
        self.log = log
        self.probe_port = free_port()
        self.webhook_port = free_port()
        self.command = [
            sys.executable, "-m", "ome.cli.main", "run",
            "--kubeconfig", str(kubeconfig),
            "--operator-namespace", OPERATOR_NAMESPACE,
            "--metrics-address", f"127.0.0.1:{self.metrics_port}",
            "--probe-address", f"127.0.0.1:{self.probe_port}",
            "--webhook-address", f"127.0.0.1:{self.webhook_port}",
            "--webhook-url", webhook_url,
            "--log-format", "json",
            "--leader-elect",
        ]  # fmt: skip
        self.restarts = -1
        self.stopped = False
        """SIGSTOPped: out of the webhook balancer, as a failing readiness probe would be."""

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.restarts += 1
        self.stopped = False

    def signal(self, signum: signal.Signals) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signum)
        self.stopped = signum == signal.SIGSTOP

    def kill(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGCONT)
                self.process.kill()
            self.process.wait()

    async def ready(self) -> bool:
        try:
            timeout = aiohttp.ClientTimeout(total=3)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(f"http://127.0.0.1:{self.probe_port}/readyz") as answer,
            ):
                return answer.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    def holds(self, identity: str) -> bool:
        """Whether ``identity`` (a lease holder) is one of this replica's processes: each
        logs its identity when it starts waiting for the lease."""
        return (
            bool(identity)
            and self.log.exists()
            and identity in self.log.read_text(errors="replace")
        )


class System:
    def __init__(self, workdir: Path, replicas: int, agents: bool = False) -> None:
        self.workdir = workdir.absolute()
        self.count = replicas
        self.audit_log = self.workdir / "audit" / "audit.log"
        self.plane = ControlPlane(
            controller_manager=True,
            scheduler=True,
            nodes=NODES,
            run_dir=self.workdir / "cluster",
            apiserver_args=[
                f"--audit-policy-file={self.workdir / 'audit' / 'policy.yaml'}",
                f"--audit-log-path={self.audit_log}",
            ],
        )
        self.replicas: list[Replica] = []
        self.agents = Agents(self.workdir, self.plane, [n.name for n in NODES]) if agents else None
        """The model agents, one per node, for the agent scenarios (None: not run)."""
        self.balancer = Balancer(self._in_service)
        self.admin: Client | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._holders: dict[str, str] = {}

    def _in_service(self) -> list[int]:
        return [r.webhook_port for r in self.replicas if r.alive() and not r.stopped]

    @property
    def client(self) -> Client:
        assert self.admin is not None, "the system has not been started"
        return self.admin

    async def start(self) -> None:
        (self.workdir / "audit").mkdir(parents=True, exist_ok=True)
        (self.workdir / "audit" / "policy.yaml").write_text(AUDIT_POLICY)
        (self.workdir / "logs").mkdir(exist_ok=True)
        await self.plane.start()
        self.admin = await self.plane.client()
        await self._prepare(self.client)
        await self.balancer.start()
        url = f"https://127.0.0.1:{self.balancer.port}"
        await provision.install(self.client, webhook_configurations(url=url))
        for index in range(self.count):
            name = f"replica-{index}"
            user = f"chaos-{name}"
            direct = self.plane.user_kubeconfig(user, groups=[REPLICA_GROUP])
            proxy = await FaultyProxy(self.plane.ports.apiserver).start()
            kubeconfig = self.workdir / "logs" / f"{name}.kubeconfig"
            document = yaml.safe_load(direct.read_text())
            for cluster in document["clusters"]:
                cluster["cluster"]["server"] = proxy.url
            kubeconfig.write_text(yaml.safe_dump(document))
            replica = Replica(name, kubeconfig, proxy, self.workdir / "logs" / f"{name}.log", url)
            replica.start()
            self.replicas.append(replica)
        if self.agents is not None:
            await self.agents.start()
        self._supervisor = asyncio.create_task(self.supervise())

    async def _prepare(self, admin: Client) -> None:
        """CRDs, configuration, RBAC for the replicas' group, the catalogue."""
        await bootstrap.ensure_namespace(admin, OPERATOR_NAMESPACE)
        await install_crds(admin, bootstrap.write_crds(self.workdir / "crds"))
        await bootstrap.install_config(admin, bootstrap.config_map(OPERATOR_NAMESPACE))
        await install_rbac(admin, ROOT / "manifests")
        subject = [
            {"kind": "Group", "name": REPLICA_GROUP, "apiGroup": "rbac.authorization.k8s.io"}
        ]
        bindings = [
            ("ClusterRoleBinding", None, "ClusterRole"),
            ("RoleBinding", OPERATOR_NAMESPACE, "Role"),
        ]
        for kind, namespace, role_kind in bindings:
            metadata: dict[str, Any] = {"name": "ome-chaos-replicas"}
            if namespace:
                metadata["namespace"] = namespace
            body = {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": kind,
                "metadata": metadata,
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": role_kind,
                    "name": "ome-manager-role",
                },
                "subjects": subject,
            }
            resource = await admin.resource(GVK("rbac.authorization.k8s.io", "v1", kind))
            await resource.apply(body, field_manager=FIELD_MANAGER, force=True)
        models = await admin.resource(GVK("ome.io", "v1beta1", "ClusterBaseModel"))
        runtimes = await admin.resource(GVK("ome.io", "v1beta1", "ClusterServingRuntime"))
        nodes = await admin.resource(GVK("", "v1", "Node"))
        for name in MODELS:
            await models.apply(model(name), field_manager=FIELD_MANAGER, force=True)
            label = {f"models.ome.io/clusterbasemodel.{name}": "Ready"}
            for node in NODES:
                await nodes.patch(node.name, {"metadata": {"labels": label}})
        for name, image in RUNTIMES.items():
            await runtimes.apply(runtime(name, image), field_manager=FIELD_MANAGER, force=True)

    async def supervise(self) -> None:
        """Restart a replica that exited, a second later (a kubelet's restart policy)."""
        while True:
            await asyncio.sleep(1.0)
            for replica in self.replicas:
                if not replica.alive():
                    replica.start()

    async def until_ready(self, timeout: float = 180.0) -> None:
        """Every replica ready, one of them leading."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = [await r.ready() for r in self.replicas]
            if all(ready) and await self.leader() is not None:
                return
            await asyncio.sleep(1.0)
        tails = "\n".join(_tail(r.log) for r in self.replicas)
        raise RuntimeError(f"the replicas did not become ready within {timeout:.0f}s\n{tails}")

    async def holder(self) -> str:
        try:
            lease = await self.client.get(LEASE_PATH)
        except NotFound:
            return ""
        return str(lease["spec"].get("holderIdentity") or "")

    async def leader(self) -> Replica | None:
        """The replica whose process holds the lease now (None: nobody, or unknown)."""
        identity = await self.holder()
        if not identity:
            return None
        for replica in self.replicas:
            if self._holders.get(identity) == replica.name or replica.holds(identity):
                self._holders[identity] = replica.name
                return replica
        return None

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        for replica in self.replicas:
            replica.kill()
        if self.agents is not None:
            await self.agents.stop()
        for replica in self.replicas:
            await replica.proxy.stop()
        await self.balancer.stop()
        if self.admin is not None:
            await self.admin.close()
        await self.plane.stop()


def cluster_base_model(name: str, storage: dict[str, Any], size: str) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ClusterBaseModel",
        "metadata": {"name": name},
        "spec": {
            "modelFormat": FORMAT,
            "modelFramework": FRAMEWORK,
            "modelArchitecture": ARCHITECTURE,
            "modelParameterSize": size,
            "storage": storage,
        },
    }


def model(name: str) -> dict[str, Any]:
    """A churned model. No node's agent fetches it: the suite labels the nodes Ready."""
    storage = {
        "storageUri": f"hf://example/{name}",
        "path": MODELS[name],
        "nodeSelector": NOT_FETCHED,
    }
    return cluster_base_model(name, storage, "7B")


def runtime(name: str, image: str) -> dict[str, Any]:
    """Tiny requests and no GPU, so that many pods fit on the two fake nodes."""
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ClusterServingRuntime",
        "metadata": {"name": name},
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
                    "image": image,
                    "ports": [{"containerPort": 8080, "name": "http1", "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            },
        },
    }


def _tail(log: Path, lines: int = 30) -> str:
    if not log.exists():
        return f"(no log at {log})"
    text = log.read_text(errors="replace").splitlines()
    return f"--- {log.name} ---\n" + "\n".join(text[-lines:])
