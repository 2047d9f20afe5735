"""The LeaderWorkerSet controller (sigs.k8s.io/lws) as a process beside the control plane.

In a cluster, LeaderWorkerSet runs as a Deployment reached through a Service and makes its
own webhook certificate (cert-controller). Here it runs on loopback: its internal
certificate management is off, its webhook server presents a certificate from the control
plane's CA, and the webhook configurations shipped in its module (with the kustomize patches
that limit the pod webhooks to its own pods) are rewritten to call it by URL with that CA
as caBundle. The build copies those files from the module next to the binaries.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ome.client import ApiError, Client
from ome.testing import pki
from ome.testing.crds import FIELD_MANAGER, load_yaml_documents

COMPONENT = "lws-controller"
API_VERSION = "leaderworkerset.x-k8s.io/v1"
# upstream config/default/kustomization.yaml: every object gets this name prefix
NAME_PREFIX = "lws-"
CONFIGURATION_KINDS = {
    "MutatingWebhookConfiguration": "mutatingwebhookconfigurations",
    "ValidatingWebhookConfiguration": "validatingwebhookconfigurations",
}
VALIDATING_WEBHOOK = "vleaderworkerset.kb.io"


def crds_dir(files: Path) -> Path:
    """``files`` is the binaries' ``lws`` directory."""
    return files / "crds"


def controller_config(webhook_port: int, health_port: int, cert_dir: Path) -> dict[str, Any]:
    """The controller's Configuration (upstream api/config/v1alpha1): webhook and health
    servers on loopback, no metrics server, no leader election, our certificate."""
    return {
        "apiVersion": "config.lws.x-k8s.io/v1alpha1",
        "kind": "Configuration",
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},
        "webhook": {"host": "127.0.0.1", "port": webhook_port, "certDir": str(cert_dir)},
        "health": {"healthProbeBindAddress": f"127.0.0.1:{health_port}"},
        "metrics": {"bindAddress": "0"},
    }


def serving_certificate(ca: pki.CertPair, cert_dir: Path) -> Path:
    """tls.crt and tls.key (the file names controller-runtime's webhook server reads) for
    127.0.0.1, signed by the control plane's CA."""
    cert_dir.mkdir(parents=True, exist_ok=True)
    authority = pki.CertificateAuthority.load(ca)
    authority.issue(
        cert_dir,
        "tls",
        "lws-webhook",
        dns_names=("localhost",),
        ip_addresses=("127.0.0.1",),
        server=True,
    )
    return cert_dir


def webhook_configurations(files: Path, base_url: str, ca_pem: bytes) -> list[dict[str, Any]]:
    """The module's webhook configurations, patched as its kustomization patches them,
    renamed with upstream's prefix and pointed at ``base_url`` with ``ca_pem`` trusted."""
    webhook_dir = files / "webhook"
    documents = load_yaml_documents(webhook_dir / "manifests.yaml")
    kustomization = yaml.safe_load((webhook_dir / "kustomization.yaml").read_text())
    for patch in kustomization.get("patches") or []:
        operations = yaml.safe_load((webhook_dir / patch["path"]).read_text())
        target = patch["target"]
        for document in documents:
            if (document.get("kind"), document["metadata"].get("name")) == (
                target.get("kind"),
                target.get("name"),
            ):
                apply_json_patch(document, operations)
    ca_bundle = base64.b64encode(ca_pem).decode()
    configurations = []
    for document in documents:
        configuration = copy.deepcopy(document)
        configuration["metadata"]["name"] = NAME_PREFIX + configuration["metadata"]["name"]
        for webhook in configuration["webhooks"]:
            path = webhook["clientConfig"]["service"]["path"]
            webhook["clientConfig"] = {"url": base_url + path, "caBundle": ca_bundle}
        configurations.append(configuration)
    return configurations


def apply_json_patch(document: Any, operations: Sequence[Mapping[str, Any]]) -> None:
    """RFC 6902 ``add``, ``replace`` and ``remove``: what kustomize patches here use."""
    for operation in operations:
        *parents, last = [
            part.replace("~1", "/").replace("~0", "~")
            for part in str(operation["path"]).split("/")[1:]
        ]
        container = document
        for part in parents:
            container = container[int(part)] if isinstance(container, list) else container[part]
        kind = operation["op"]
        if isinstance(container, list):
            index = len(container) if last == "-" else int(last)
            if kind == "add":
                container.insert(index, operation["value"])
            elif kind == "replace":
                container[index] = operation["value"]
            elif kind == "remove":
                del container[index]
            else:
                raise ValueError(f"unsupported JSON patch operation {kind!r}")
        elif kind in ("add", "replace"):
            container[last] = operation["value"]
        elif kind == "remove":
            del container[last]
        else:
            raise ValueError(f"unsupported JSON patch operation {kind!r}")


async def install_webhooks(client: Client, configurations: Sequence[Mapping[str, Any]]) -> None:
    for configuration in configurations:
        resource = CONFIGURATION_KINDS[configuration["kind"]]
        name = configuration["metadata"]["name"]
        await client.apply(
            f"/apis/admissionregistration.k8s.io/v1/{resource}/{name}",
            configuration,
            field_manager=FIELD_MANAGER,
            force=True,
        )


def probe_group(size: int) -> dict[str, Any]:
    """A LeaderWorkerSet for a dry run: is the apiserver calling the webhooks yet?"""
    container = {"name": "probe", "image": "probe"}
    return {
        "apiVersion": API_VERSION,
        "kind": "LeaderWorkerSet",
        "metadata": {"name": "ome-webhook-probe"},
        "spec": {
            "leaderWorkerTemplate": {
                "size": size,
                "workerTemplate": {"spec": {"containers": [container]}},
            }
        },
    }


async def webhooks_enforced(client: Client, namespace: str = "default") -> bool:
    """The apiserver runs both webhooks: a dry run of a valid group comes back defaulted
    (upstream pkg/webhooks/leaderworkerset_webhook.go sets the subdomain policy) and one of
    size 0 is refused by the validating webhook."""
    path = f"/apis/{API_VERSION}/namespaces/{namespace}/leaderworkersets"
    query = {"dryRun": "All"}
    try:  # refused while the webhook server is not up yet (failurePolicy: Fail)
        defaulted = await client.request("POST", path, query=query, body=probe_group(1))
    except ApiError:
        return False
    if not defaulted["spec"].get("networkConfig", {}).get("subdomainPolicy"):
        return False
    try:
        await client.request("POST", path, query=query, body=probe_group(0))
    except ApiError as err:
        return f'"{VALIDATING_WEBHOOK}" denied' in err.message
    return False
