"""pytest fixtures for tests that need a Kubernetes API server.

- ``cluster`` (session): by default a real control plane on loopback — etcd,
  kube-apiserver, kube-controller-manager, kube-scheduler and kwok with two fake nodes —
  shaped by ``control_plane_options`` (override that fixture in a ``conftest.py`` for GPU
  nodes, the LeaderWorkerSet controller or add-on CRDs: the keyword arguments of
  :class:`~ome.testing.ControlPlane`). ``OME_TEST_KUBECONFIG=path`` uses an existing
  cluster instead; ``OME_TEST_CLUSTER=k3s`` uses testcontainers' K3s (skipped where no
  Docker engine runs).
- ``kubeconfig`` (session): the path of an admin kubeconfig for that cluster.
- ``client``: an admin :class:`ome.client.Client`, closed after the test.
- ``namespace``: a fresh namespace for one test, deleted afterwards.
- ``lws_cluster`` (session): ``cluster`` where it serves LeaderWorkerSets, else the test is
  skipped.

``await cluster.operator_client()`` and ``await cluster.agent_client()`` act as the
operator's ServiceAccounts under the shipped RBAC (``manifests/rbac``, applied on first
use), ``await cluster.service_account_kubeconfig(account, path)`` writes a kubeconfig
for a process to do the same; on the control plane ome starts, ``cluster.audit`` lists
what they were refused.

Opt-in, so that installing the framework changes nothing in other projects' test runs:
``pytest -p ome.testing.pytest_plugin``, ``addopts = ["-p", "ome.testing.pytest_plugin"]``
in the pytest settings, or ``pytest_plugins = ["ome.testing.pytest_plugin"]`` in the root
``conftest.py``. It needs pytest-asyncio (``pip install 'ome-framework[testing]'``).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ome.client.configuration import Configuration

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - depends on the environment
    raise pytest.UsageError(
        "ome.testing.pytest_plugin needs pytest-asyncio, which is not installed: "
        "pip install 'ome-framework[testing]' (or pip install pytest-asyncio)"
    ) from None

from ome.client import Client, NotFound, load_configuration
from ome.testing.controlplane import ControlPlane
from ome.testing.crds import install_crds
from ome.testing.leaderworkerset import API_VERSION as LWS_API_VERSION
from ome.testing.nodes import FakeNode
from ome.testing.serviceaccount import (
    AGENT_ACCOUNT,
    AUDIT_POLICY,
    MANAGER_ACCOUNT,
    AuditLog,
    account_user,
    default_manifests,
    service_account_configuration,
    write_kubeconfig,
)

KUBECONFIG_ENV = "OME_TEST_KUBECONFIG"
CLUSTER_ENV = "OME_TEST_CLUSTER"
NODE_COUNT = 2


@dataclass
class Cluster:
    """The cluster under test; ``control_plane`` and ``audit`` are set only when ome
    started it."""

    kubeconfig: Path
    control_plane: ControlPlane | None = None
    audit: AuditLog | None = None
    manifests: Path = field(default_factory=default_manifests)
    # Connection settings per ServiceAccount, made once a session: the RBAC is applied
    # and a token minted on first use, not for every controller a test starts.
    _accounts: dict[str, Configuration] = field(default_factory=dict, init=False, repr=False)

    async def client(self, timeout: float = 30.0) -> Client:
        return Client(await load_configuration(self.kubeconfig), timeout=timeout)

    async def service_account_client(self, account: str, timeout: float = 30.0) -> Client:
        """A client authenticated as ``account`` in the ``ome`` namespace, under the RBAC
        in ``manifests``; the caller closes it."""
        if account not in self._accounts:
            async with await self.client() as admin:
                self._accounts[account] = await service_account_configuration(
                    admin, self.manifests, account
                )
        return Client(self._accounts[account], timeout=timeout)

    async def service_account_kubeconfig(self, account: str, path: Path) -> Path:
        """Write a kubeconfig acting as ``account`` (for a process, e.g. ``ome run``)."""
        async with await self.service_account_client(account) as client:
            return write_kubeconfig(path, client.configuration, account_user(account))

    async def operator_client(self, timeout: float = 30.0) -> Client:
        """As ``ome run`` in its Deployment: ServiceAccount ``ome-controller-manager``."""
        return await self.service_account_client(MANAGER_ACCOUNT, timeout)

    async def agent_client(self, timeout: float = 30.0) -> Client:
        """As ``ome agent`` in its DaemonSet: ServiceAccount ``ome-model-agent``."""
        return await self.service_account_client(AGENT_ACCOUNT, timeout)

    async def install_crds(self, paths: Iterable[Path | str], timeout: float = 60.0) -> list[str]:
        """Apply CRDs (files or folders) and wait until they are served."""
        async with await self.client() as admin:
            return await install_crds(admin, paths, timeout)


def _docker_available() -> str | None:
    """None when a Docker engine answers, else why not."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    try:
        import docker  # type: ignore[import-untyped]  # noqa: PLC0415 - only with K3s

        docker.from_env().ping()
    except Exception as err:  # any failure means no usable engine
        return f"no Docker engine answers ({type(err).__name__}: {err})"
    return None


@pytest.fixture(scope="session")
def k3s_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    missing = _docker_available()
    if missing:
        pytest.skip(f"{CLUSTER_ENV}=k3s needs Docker: {missing}")
    from testcontainers.k3s import K3SContainer  # noqa: PLC0415 - optional dependency

    with K3SContainer() as k3s:
        path = tmp_path_factory.mktemp("k3s") / "kubeconfig"
        path.write_text(k3s.config_yaml())
        yield path


@pytest.fixture(scope="session")
def control_plane_options() -> dict[str, Any]:
    """Keyword arguments of :class:`ControlPlane` for the session's cluster."""
    return {
        "controller_manager": True,
        "scheduler": True,
        "nodes": [FakeNode(f"node-{i}") for i in range(NODE_COUNT)],
    }


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def cluster(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    control_plane_options: dict[str, Any],
) -> AsyncIterator[Cluster]:
    external = os.environ.get(KUBECONFIG_ENV)
    if external:
        yield Cluster(Path(external).expanduser())
        return
    if os.environ.get(CLUSTER_ENV) == "k3s":
        yield Cluster(request.getfixturevalue("k3s_kubeconfig"))
        return
    audit = tmp_path_factory.mktemp("audit")
    (audit / "policy.yaml").write_text(AUDIT_POLICY)
    options = dict(control_plane_options)
    options["apiserver_args"] = [
        *options.get("apiserver_args", ()),
        f"--audit-policy-file={audit / 'policy.yaml'}",
        f"--audit-log-path={audit / 'audit.log'}",
    ]
    async with ControlPlane(**options) as plane:
        yield Cluster(plane.kubeconfig, plane, AuditLog(audit / "audit.log"))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def lws_cluster(cluster: Cluster) -> Cluster:
    async with await cluster.client() as admin:
        try:
            await admin.get(f"/apis/{LWS_API_VERSION}")
        except NotFound:
            pytest.skip(f"the cluster does not serve {LWS_API_VERSION}: install LeaderWorkerSet")
    return cluster


@pytest.fixture(scope="session")
def kubeconfig(cluster: Cluster) -> Path:
    return cluster.kubeconfig


@pytest_asyncio.fixture(loop_scope="session")
async def client(cluster: Cluster) -> AsyncIterator[Client]:
    async with await cluster.client() as api:
        yield api


@pytest_asyncio.fixture(loop_scope="session")
async def namespace(client: Client) -> AsyncIterator[str]:
    name = f"ome-test-{secrets.token_hex(4)}"
    await client.create(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )
    yield name
    await client.delete(f"/api/v1/namespaces/{name}")
