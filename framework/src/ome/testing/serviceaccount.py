"""The operator's own identities in a test cluster: the shipped RBAC, applied as is, and
clients that authenticate as its ServiceAccounts with tokens from the TokenRequest API.

    async with await cluster.client() as admin:
        operator = await service_account_client(admin, Path("manifests"), MANAGER_ACCOUNT)

A test that runs a controller through such a client proves the shipped roles suffice:
whatever they lack is a 403 (see :class:`AuditLog`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ome.client import GVK, AlreadyExists, Client
from ome.client.configuration import Configuration

OPERATOR_NAMESPACE = "ome"
MANAGER_ACCOUNT = "ome-controller-manager"
AGENT_ACCOUNT = "ome-model-agent"
RBAC_KINDS = frozenset(
    {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
)
FIELD_MANAGER = "ome-testing"
# Longer than any test session: the token is minted once and never refreshed.
TOKEN_SECONDS = 24 * 3600
MANIFESTS_ENV = "OME_TEST_MANIFESTS"
DECISION_ANNOTATION = "authorization.k8s.io/decision"
# An audit policy that records only what the operator's ServiceAccounts ask, so the log
# stays small however much the tests themselves do as admin.
AUDIT_POLICY = f"""\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts:{OPERATOR_NAMESPACE}"]
  - level: None
"""


def default_manifests() -> Path:
    """``$OME_TEST_MANIFESTS``, else the ``manifests`` folder of the working directory (the
    project root, where pytest runs)."""
    configured = os.environ.get(MANIFESTS_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path("manifests").absolute()


def rbac_objects(manifests: Path) -> list[dict[str, Any]]:
    """The ServiceAccounts, roles and bindings under ``manifests/rbac``, in file order."""
    folder = manifests / "rbac"
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise FileNotFoundError(f"no RBAC manifests in {folder} (set ${MANIFESTS_ENV})")
    objects: list[dict[str, Any]] = []
    for path in files:
        objects += [
            doc for doc in yaml.safe_load_all(path.read_text()) if doc and doc["kind"] in RBAC_KINDS
        ]
    return objects


async def ensure_namespace(admin: Client, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    with contextlib.suppress(AlreadyExists):
        await admin.create("/api/v1/namespaces", body)


async def install_rbac(admin: Client, manifests: Path) -> None:
    """Server-side apply the shipped ServiceAccounts, roles and bindings (and create the
    operator namespace they live in)."""
    await ensure_namespace(admin, OPERATOR_NAMESPACE)
    # Service accounts first: the other objects do not need them, but a token does.
    objects = sorted(rbac_objects(manifests), key=lambda obj: obj["kind"] != "ServiceAccount")
    for obj in objects:
        resource = await admin.resource(GVK.parse(obj["apiVersion"], obj["kind"]))
        await resource.apply(obj, field_manager=FIELD_MANAGER, force=True)


async def request_token(
    admin: Client, account: str, namespace: str = OPERATOR_NAMESPACE, seconds: int = TOKEN_SECONDS
) -> str:
    """A bearer token for the ServiceAccount, as the kubelet would get for a pod."""
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token"
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": seconds},
    }
    answer = await admin.create(path, body)
    token: str = answer["status"]["token"]
    return token


def token_configuration(base: Configuration, token: str) -> Configuration:
    """The server and CA of ``base`` with ``token`` as the only credential. Nothing else
    is carried over: a client certificate would authenticate first, as its own user."""
    return Configuration(
        host=base.host,
        ssl_ca_cert=base.ssl_ca_cert,
        verify_ssl=base.verify_ssl,
        tls_server_name=base.tls_server_name,
        api_key={"BearerToken": f"Bearer {token}"},
    )


async def service_account_configuration(
    admin: Client, manifests: Path, account: str, namespace: str = OPERATOR_NAMESPACE
) -> Configuration:
    """Install the shipped RBAC and return connection settings authenticating as
    ``account`` (``MANAGER_ACCOUNT`` or ``AGENT_ACCOUNT``)."""
    await install_rbac(admin, manifests)
    return token_configuration(admin.configuration, await request_token(admin, account, namespace))


def write_kubeconfig(path: Path, configuration: Configuration, user: str) -> Path:
    """A kubeconfig with the server, CA and bearer token of ``configuration`` (from
    :func:`token_configuration`), for a process such as ``ome run --kubeconfig``."""
    cluster: dict[str, Any] = {"server": configuration.host}
    if configuration.ssl_ca_cert:
        ca = Path(configuration.ssl_ca_cert).read_bytes()
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    if configuration.tls_server_name:
        cluster["tls-server-name"] = configuration.tls_server_name
    token = configuration.api_key["BearerToken"].removeprefix("Bearer ")
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "ome", "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "ome", "user": user}}],
        "current-context": user,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    path.chmod(0o600)  # it holds a credential
    return path


async def service_account_client(
    admin: Client,
    manifests: Path,
    account: str,
    namespace: str = OPERATOR_NAMESPACE,
    timeout: float = 30.0,
) -> Client:
    """A client acting as ``account`` under the shipped RBAC; the caller closes it."""
    configuration = await service_account_configuration(admin, manifests, account, namespace)
    return Client(configuration, timeout=timeout)


@dataclass
class AuditLog:
    """The API server's audit log under :data:`AUDIT_POLICY`: what the operator's
    ServiceAccounts asked, and which of it was refused."""

    path: Path

    def position(self) -> int:
        """Where the log ends now; pass it to :meth:`forbidden` to see only what follows."""
        return self.path.stat().st_size if self.path.exists() else 0

    def events(self, since: int = 0) -> list[Mapping[str, Any]]:
        """The events logged from ``since`` on. The API server may be writing one as the
        log is read: a last line without its newline is not an event yet."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as log:
            log.seek(since)
            return [json.loads(line) for line in log if line.endswith(b"\n") and line.strip()]

    def forbidden(self, since: int = 0, user: str | None = None) -> list[str]:
        """``user verb URI`` of every request authorization refused (by ``user``, if
        given). A 403 from admission (such as a write into a namespace being deleted) is
        no lack of permission: the authorizer's decision, recorded with each event, tells
        the two apart."""
        found = []
        for event in self.events(since):
            name = (event.get("user") or {}).get("username", "")
            decision = (event.get("annotations") or {}).get(DECISION_ANNOTATION)
            if decision is None:  # an older server: any 403 counts
                refused = (event.get("responseStatus") or {}).get("code") == 403
            else:
                refused = decision == "forbid"
            if refused and (user is None or name == user):
                found.append(f"{name} {event.get('verb')} {event.get('requestURI')}")
        return found


def account_user(account: str, namespace: str = OPERATOR_NAMESPACE) -> str:
    """The user name a ServiceAccount's requests carry."""
    return f"system:serviceaccount:{namespace}:{account}"
