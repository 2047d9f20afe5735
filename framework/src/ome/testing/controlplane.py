"""A real Kubernetes control plane on loopback: etcd and kube-apiserver, and optionally
kube-controller-manager, kube-scheduler, kwok with fake GPU nodes, the LeaderWorkerSet
controller (``leaderworkerset=True``: its CRD, its process and its webhooks) and the CRDs
of KEDA, the Gateway API, its Inference Extension and Knative Serving (``addon_crds=True``:
the APIs only, no controllers).

    async with ControlPlane(scheduler=True, controller_manager=True,
                            nodes=gpu_nodes(2)) as cp:
        async with cp.client() as client:
            ...

Every component gets free loopback ports, its own log in the run directory, and a health
wait; a component that dies or never becomes healthy fails the start with the tail of its
log, after everything already started has been stopped. Components stop in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import shutil
import ssl
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import yaml

from ome.client import (
    AlreadyExists,
    ApiError,
    Client,
    NotFound,
    load_configuration,
)
from ome.testing import binaries, crds, leaderworkerset, pki
from ome.testing.nodes import FakeNode, is_ready
from ome.testing.process import ComponentError, Process, free_port

START_ATTEMPTS = 5
PORT_CLASH = "address already in use"
ORDER = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    leaderworkerset.COMPONENT,
)
SERVICE_CIDR = "10.96.0.0/16"
"""ClusterIPs for 65,534 Services: room for a whole catalogue of InferenceServices (two or
three Services each). Apart from kwok's pod range (10.244.0.0/16) and from loopback; the
apiserver refuses IPv4 ranges larger than a /12 while it keeps its allocation bitmap.
kube-controller-manager needs no copy: it reads the range only to allocate node CIDRs
(``--allocate-node-cidrs``), which it does not do here."""


@dataclass
class Ports:
    etcd_client: int = 0
    etcd_peer: int = 0
    apiserver: int = 0
    controller_manager: int = 0
    scheduler: int = 0
    kwok: int = 0
    lws_webhook: int = 0
    lws_health: int = 0

    def reallocate(self, *names: str) -> None:
        for name in names:
            setattr(self, name, free_port())


@dataclass
class ControlPlaneOptions:
    controller_manager: bool = False
    scheduler: bool = False
    nodes: Sequence[FakeNode] = ()
    leaderworkerset: bool = False
    addon_crds: bool = False
    start_timeout: float = 60.0
    apiserver_args: Sequence[str] = ()
    etcd_args: Sequence[str] = ()
    service_cidr: str = SERVICE_CIDR
    client_qps: float | None = None


class ControlPlane:
    """Start with ``async with`` (or ``start``/``stop``); see the module docstring."""

    def __init__(
        self,
        *,
        controller_manager: bool = False,
        scheduler: bool = False,
        nodes: Sequence[FakeNode] = (),
        leaderworkerset: bool = False,
        addon_crds: bool = False,
        run_dir: Path | None = None,
        binaries_dir: Path | None = None,
        start_timeout: float = 60.0,
        apiserver_args: Sequence[str] = (),
        etcd_args: Sequence[str] = (),
        service_cidr: str = SERVICE_CIDR,
        client_qps: float | None = None,
    ) -> None:
        """``client_qps``: requests per second (burst twice that) for the clients of
        kube-controller-manager and kube-scheduler; None keeps their defaults (20 and 50),
        which make them the bottleneck of a benchmark that has them create thousands of
        pods."""
        if nodes and not (scheduler and controller_manager):
            raise ValueError("fake nodes need the scheduler and the controller-manager")
        try:
            ipaddress.ip_network(service_cidr)
        except ValueError as err:
            raise ValueError(f"service_cidr {service_cidr!r}: {err}") from None
        self.options = ControlPlaneOptions(
            controller_manager=controller_manager,
            scheduler=scheduler,
            nodes=tuple(nodes),
            leaderworkerset=leaderworkerset,
            addon_crds=addon_crds,
            start_timeout=start_timeout,
            apiserver_args=tuple(apiserver_args),
            etcd_args=tuple(etcd_args),
            service_cidr=service_cidr,
            client_qps=client_qps,
        )
        self._owns_run_dir = run_dir is None
        self.run_dir = (run_dir or Path(tempfile.mkdtemp(prefix="ome-controlplane-"))).absolute()
        self._binaries_dir = binaries_dir
        self.ports = Ports()
        self.processes: dict[str, Process] = {}
        self._pki: pki.PKI | None = None

    # -- paths and addresses -------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        return self.run_dir / "kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports.apiserver}"

    @property
    def pki(self) -> pki.PKI:
        if self._pki is None:
            raise RuntimeError("the control plane has not been started")
        return self._pki

    @property
    def addon_crds_dir(self) -> Path:
        """The add-on APIs' CRDs (KEDA, Gateway API, Inference Extension, Knative Serving),
        copied from their modules by the build."""
        return (self._binaries_dir or binaries.bin_dir()) / binaries.ADDON_CRDS_DIR

    def binary(self, name: str) -> str:
        directory = self._binaries_dir or binaries.bin_dir()
        return str(directory / name)

    async def client(self, timeout: float = 30.0) -> Client:
        """An admin client (system:masters); the caller closes it."""
        return Client(await load_configuration(self.kubeconfig), timeout=timeout)

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> ControlPlane:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._binaries_dir is None:
            self._binaries_dir = await asyncio.to_thread(binaries.ensure_binaries)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._pki = await asyncio.to_thread(pki.generate, self.run_dir / "pki")
        try:
            await self._start_with_retries("etcd", ("etcd_client", "etcd_peer"), self._start_etcd)
            await self._start_with_retries("kube-apiserver", ("apiserver",), self._start_apiserver)
            async with await self.client() as admin:
                await self._wait_for_default_namespace(admin)
                if self.options.controller_manager:
                    await self._start_with_retries(
                        "kube-controller-manager",
                        ("controller_manager",),
                        lambda: self._start_controller_manager(admin),
                    )
                if self.options.scheduler:
                    await self._start_with_retries(
                        "kube-scheduler", ("scheduler",), self._start_scheduler
                    )
                if self.options.nodes:
                    await self._start_with_retries("kwok", ("kwok",), self._start_kwok)
                    await self.add_nodes(admin, self.options.nodes)
                if self.options.leaderworkerset:
                    await self._start_leaderworkerset(admin)
                if self.options.addon_crds:
                    await crds.install_crds(admin, [self.addon_crds_dir])
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop every component, last started first, and remove an owned run directory."""
        for name in reversed(ORDER):
            process = self.processes.pop(name, None)
            if process is not None:
                await process.stop()
        if self._owns_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    async def stop_component(self, name: str) -> None:
        process = self.processes.pop(name)
        await process.stop()

    def kill_component(self, name: str) -> None:
        """SIGKILL one component, as a crash would (it stays registered until restarted)."""
        self.processes[name].kill()

    async def restart_component(self, name: str) -> None:
        """Start a stopped or killed component again on the same ports (etcd keeps its data)."""
        old = self.processes.pop(name, None)
        if old is not None:
            await old.stop()
        starters: dict[str, Callable[[], Awaitable[None]]] = {
            "etcd": self._start_etcd,
            "kube-apiserver": self._start_apiserver,
            "kube-scheduler": self._start_scheduler,
            "kwok": self._start_kwok,
            leaderworkerset.COMPONENT: self._launch_leaderworkerset,
        }
        await starters[name]()

    async def _start_with_retries(
        self, name: str, ports: tuple[str, ...], start: Callable[[], Awaitable[None]]
    ) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            self.ports.reallocate(*ports)
            try:
                await start()
                return
            except ComponentError as err:
                process = self.processes.pop(name, None)
                if process is not None:
                    await process.stop()
                if PORT_CLASH not in err.log_tail.lower() or attempt == START_ATTEMPTS:
                    raise

    def _launch(self, name: str, argv: list[str]) -> Process:
        log = self.run_dir / "logs" / f"{name}.log"
        process = Process.start(name, argv, log)
        self.processes[name] = process
        return process

    # -- components ---------------------------------------------------------------------

    async def _start_etcd(self) -> None:
        p = self.ports
        peer = f"http://127.0.0.1:{p.etcd_peer}"
        client_url = f"http://127.0.0.1:{p.etcd_client}"
        process = self._launch(
            "etcd",
            [
                self.binary("etcd"),
                "--name=ome",
                f"--data-dir={self.run_dir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=ome={peer}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
                *self.options.etcd_args,
            ],
        )

        async def healthy() -> bool:
            async with (
                aiohttp.ClientSession() as session,
                session.get(
                    f"{client_url}/health", timeout=aiohttp.ClientTimeout(total=2)
                ) as response,
            ):
                # etcd answers JSON labelled text/plain
                body = json.loads(await response.text())
                return response.status == 200 and body.get("health") == "true"

        await process.wait_healthy(_quiet(healthy), self.options.start_timeout, "healthy")

    async def _start_apiserver(self) -> None:
        keys = self.pki
        process = self._launch(
            "kube-apiserver",
            [
                self.binary("kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{self.ports.etcd_client}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.ports.apiserver}",
                "--advertise-address=127.0.0.1",
                "--endpoint-reconciler-type=none",
                f"--cert-dir={self.run_dir / 'apiserver-certs'}",
                f"--tls-cert-file={keys.apiserver.cert}",
                f"--tls-private-key-file={keys.apiserver.key}",
                f"--client-ca-file={keys.ca.cert}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={keys.service_account_pub}",
                f"--service-account-signing-key-file={keys.service_account_key}",
                f"--service-cluster-ip-range={self.options.service_cidr}",
                "--authorization-mode=RBAC",
                "--disable-admission-plugins=ServiceAccount",
                "--allow-privileged=true",
                "--profiling=false",
                *self.options.apiserver_args,
            ],
        )
        self._write_kubeconfig()
        context = ssl.create_default_context(cafile=str(keys.ca.cert))
        context.load_cert_chain(str(keys.admin.cert), str(keys.admin.key))

        async def ready() -> bool:
            async with (
                aiohttp.ClientSession() as session,
                session.get(
                    f"{self.server}/readyz", ssl=context, timeout=aiohttp.ClientTimeout(total=5)
                ) as response,
            ):
                return response.status == 200

        await process.wait_healthy(_quiet(ready), self.options.start_timeout, "ready (/readyz)")

    async def _start_controller_manager(self, admin: Client) -> None:
        keys = self.pki
        process = self._launch(
            "kube-controller-manager",
            [
                self.binary("kube-controller-manager"),
                f"--kubeconfig={self.kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.ports.controller_manager}",
                "--leader-elect=false",
                f"--service-account-private-key-file={keys.service_account_key}",
                f"--root-ca-file={keys.ca.cert}",
                f"--cluster-signing-cert-file={keys.ca.cert}",
                f"--cluster-signing-key-file={keys.ca.key}",
                "--use-service-account-credentials=false",
                f"--cert-dir={self.run_dir / 'controller-manager-certs'}",
                "--profiling=false",
                *self._client_rate_args(),
            ],
        )
        await process.wait_healthy(
            _quiet(_health(self.ports.controller_manager, tls=True)),
            self.options.start_timeout,
            "healthy (/healthz)",
        )

        # Served health is not enough: the controllers run once the ServiceAccount
        # controller has made the default namespace's account.
        async def controllers_running() -> bool:
            return await _exists(admin, "/api/v1/namespaces/default/serviceaccounts/default")

        await process.wait_healthy(
            controllers_running, self.options.start_timeout, "running its controllers"
        )

    def _client_rate(self) -> dict[str, float]:
        qps = self.options.client_qps
        return {} if qps is None else {"qps": qps, "burst": int(2 * qps)}

    def _client_rate_args(self) -> list[str]:
        rate = self._client_rate()
        return [f"--kube-api-{name}={value}" for name, value in rate.items()]

    async def _start_scheduler(self) -> None:
        config = self.run_dir / "kube-scheduler.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kubescheduler.config.k8s.io/v1",
                    "kind": "KubeSchedulerConfiguration",
                    "clientConnection": {
                        "kubeconfig": str(self.kubeconfig),
                        **self._client_rate(),
                    },
                    "leaderElection": {"leaderElect": False},
                }
            )
        )
        process = self._launch(
            "kube-scheduler",
            [
                self.binary("kube-scheduler"),
                f"--config={config}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.ports.scheduler}",
                f"--cert-dir={self.run_dir / 'scheduler-certs'}",
            ],
        )
        await process.wait_healthy(
            _quiet(_health(self.ports.scheduler, tls=True)),
            self.options.start_timeout,
            "healthy (/healthz)",
        )

    async def _start_kwok(self) -> None:
        stages_dir = Path(self.binary("kwok")).parent / binaries.KWOK_STAGES_DIR
        stages = self.run_dir / "kwok-stages.yaml"
        stages.write_text(
            "\n---\n".join(path.read_text() for path in sorted(stages_dir.glob("*.yaml")))
        )
        process = self._launch(
            "kwok",
            [
                self.binary("kwok"),
                f"--kubeconfig={self.kubeconfig}",
                f"--config={stages}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--node-lease-duration-seconds=40",
                "--cidr=10.244.0.0/16",
                "--node-ip=10.244.0.1",
                f"--server-address=127.0.0.1:{self.ports.kwok}",
            ],
        )
        await process.wait_healthy(
            _quiet(_health(self.ports.kwok)), self.options.start_timeout, "healthy (/healthz)"
        )

    async def _start_leaderworkerset(self, admin: Client) -> None:
        """Its CRD first (its informers need the kind), then the controller, then its
        webhook configurations; done once the apiserver enforces them."""
        files = Path(self.binary(leaderworkerset.COMPONENT)).parent / binaries.LWS_DIR
        await crds.install_crds(admin, [leaderworkerset.crds_dir(files)])
        await self._start_with_retries(
            leaderworkerset.COMPONENT,
            ("lws_webhook", "lws_health"),
            self._launch_leaderworkerset,
        )
        base_url = f"https://127.0.0.1:{self.ports.lws_webhook}"
        configurations = leaderworkerset.webhook_configurations(
            files, base_url, self.pki.ca.cert.read_bytes()
        )
        await leaderworkerset.install_webhooks(admin, configurations)
        await self.processes[leaderworkerset.COMPONENT].wait_healthy(
            lambda: leaderworkerset.webhooks_enforced(admin),
            self.options.start_timeout,
            "serving its webhooks to the apiserver",
        )

    async def _launch_leaderworkerset(self) -> None:
        directory = self.run_dir / "lws"
        cert_dir = leaderworkerset.serving_certificate(self.pki.ca, directory / "certs")
        config = directory / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                leaderworkerset.controller_config(
                    self.ports.lws_webhook, self.ports.lws_health, cert_dir
                )
            )
        )
        process = self._launch(
            leaderworkerset.COMPONENT,
            [
                self.binary(leaderworkerset.COMPONENT),
                f"--config={config}",
                f"--kubeconfig={self.kubeconfig}",
            ],
        )
        await process.wait_healthy(
            _quiet(_health(self.ports.lws_health)),
            self.options.start_timeout,
            "healthy (/healthz)",
        )

    # -- API helpers --------------------------------------------------------------------

    def _write_kubeconfig(self) -> None:
        write_kubeconfig(self.kubeconfig, self.server, self.pki.ca.cert, self.pki.admin)

    def user_kubeconfig(self, user: str, groups: Sequence[str] = ()) -> Path:
        """A kubeconfig for ``user`` (a client certificate with CN=user, O=groups), for
        tests of RBAC and of who wrote what (the audit log names the user)."""
        directory = self.run_dir / "users" / user
        directory.mkdir(parents=True, exist_ok=True)
        authority = pki.CertificateAuthority.load(self.pki.ca)
        pair = authority.issue(directory, "client", user, organizations=tuple(groups))
        path = directory / "kubeconfig"
        write_kubeconfig(path, self.server, self.pki.ca.cert, pair)
        return path

    async def _wait_for_default_namespace(self, admin: Client) -> None:
        apiserver = self.processes["kube-apiserver"]

        async def exists() -> bool:
            return await _exists(admin, "/api/v1/namespaces/default")

        await apiserver.wait_healthy(
            exists, self.options.start_timeout, "serving namespace default"
        )

    async def add_nodes(self, admin: Client, nodes: Iterable[FakeNode]) -> None:
        """Create fake nodes and wait until kwok reports each Ready."""
        kwok = self.processes.get("kwok")
        if kwok is None:
            raise RuntimeError("fake nodes need kwok: start the control plane with nodes=")
        names = []
        for node in nodes:
            manifest = node.manifest()
            with contextlib.suppress(AlreadyExists):
                await admin.create("/api/v1/nodes", manifest)
            # Status on create is kept today, but patch it too so capacity never depends on it.
            await admin.request(
                "PATCH",
                f"/api/v1/nodes/{node.name}/status",
                body={"status": manifest["status"]},
                content_type="application/merge-patch+json",
            )
            names.append(node.name)

        async def all_ready() -> bool:
            listing = await admin.get("/api/v1/nodes")
            ready = {n["metadata"]["name"] for n in listing["items"] if is_ready(n)}
            return ready.issuperset(names)

        await kwok.wait_healthy(all_ready, self.options.start_timeout, "making the nodes Ready")

    async def install_crds(self, paths: Iterable[Path | str], timeout: float = 60.0) -> list[str]:
        """Apply CRDs from YAML files or folders and wait until they are served."""
        async with await self.client() as admin:
            return await crds.install_crds(admin, paths, timeout)

    # -- state for detached use (ome local) ---------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "kubeconfig": str(self.kubeconfig),
            "server": self.server,
            "ports": vars(self.ports),
            "processes": {
                name: {"pid": p.pid, "argv": p.argv, "log": str(p.log_path)}
                for name, p in self.processes.items()
            },
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ControlPlane:
        plane = cls(run_dir=Path(state["run_dir"]))
        plane._owns_run_dir = False
        plane.ports = Ports(**state["ports"])
        for name, entry in state["processes"].items():
            plane.processes[name] = Process.attach(
                name, entry["argv"], Path(entry["log"]), int(entry["pid"])
            )
        return plane

    def detach(self) -> None:
        """Leave the processes running when this object goes away (``ome local up``)."""
        self._owns_run_dir = False
        self.processes = {}


def write_kubeconfig(path: Path, server: str, ca: Path, user: pki.CertPair) -> None:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "ome-local", "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [
            {
                "name": "user",
                "user": {"client-certificate": str(user.cert), "client-key": str(user.key)},
            }
        ],
        "contexts": [{"name": "ome-local", "context": {"cluster": "ome-local", "user": "user"}}],
        "current-context": "ome-local",
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)


def _quiet(check: Callable[[], Awaitable[bool]]) -> Callable[[], Awaitable[bool]]:
    """A health check where 'cannot connect yet' means 'not healthy yet'."""

    async def guarded() -> bool:
        try:
            return await check()
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
            return False

    return guarded


def _health(port: int, *, tls: bool = False) -> Callable[[], Awaitable[bool]]:
    """A check that the component on ``port`` answers /healthz with 200."""
    scheme = "https" if tls else "http"

    async def healthy() -> bool:
        async with (
            aiohttp.ClientSession() as session,
            # Verification off: a TLS component serves a self-signed certificate of its own.
            session.get(
                f"{scheme}://127.0.0.1:{port}/healthz",
                ssl=False,
                timeout=aiohttp.ClientTimeout(total=2),
            ) as response,
        ):
            return response.status == 200

    return healthy


async def _exists(client: Client, path: str) -> bool:
    try:
        await client.get(path)
    except NotFound:
        return False
    except (ApiError, aiohttp.ClientError, OSError, TimeoutError):
        return False
    return True
