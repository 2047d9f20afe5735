"""Getting the serving certificate to the server and its CA to the API server.

Two ways, chosen by the webhook configurations themselves:

- **cert-manager**: a configuration annotated ``cert-manager.io/inject-ca-from`` has its
  ``caBundle`` injected by cert-manager, which also writes the certificate into a Secret
  mounted at the certificate directory. Nothing is generated or written here; the server
  waits for the mounted files.
- **self-managed** (no cert-manager): the certificate lives in a Secret (default
  ``ome-webhook-server-cert``), so every replica serves the same one. The first replica
  to find it missing, unusable or near expiry generates a new one (its CA file keeps the
  previous CA too, so that replicas still serving the previous certificate stay trusted
  until they follow the Secret, within seconds); a replica that loses the race to create
  or update it reads the winner's. The certificate is written into the
  certificate directory for the server, and the CA is patched into the ``caBundle`` of
  every webhook of both configurations.

All writes go through a client that is not fenced by leader election: the webhooks run on
every replica, leader or not."""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog

from ome.client import GVK, AlreadyExists, Client, Conflict, NotFound
from ome.webhooks.certificates import CA_CERT, TLS_CERT, TLS_KEY, Bundle, problem, successor
from ome.webhooks.configuration import CERT_MANAGER_ANNOTATION

SECRET = GVK("", "v1", "Secret")
SERVICE = GVK("", "v1", "Service")
SERVICE_NAME = "ome-webhook-server-service"
"""The webhooks' Service, which an install ships: the owner of the certificate Secret
the replicas make beside it, so that deleting the install deletes the Secret too."""
MUTATING = GVK("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration")
VALIDATING = GVK("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration")
FIELD_MANAGER = "ome-webhooks"
ATTEMPTS = 5  # optimistic-concurrency retries per write
log = structlog.get_logger("ome.webhooks")


async def get_or_none(client: Client, gvk: GVK, name: str, namespace: str | None = None) -> Any:
    resource = await client.resource(gvk)
    try:
        return await resource.get(name, namespace)
    except NotFound:
        return None


async def uses_cert_manager(client: Client, configurations: Sequence[tuple[GVK, str]]) -> bool:
    """True when any of the named configurations asks cert-manager for its CA."""
    for gvk, name in configurations:
        found = await get_or_none(client, gvk, name)
        annotations = ((found or {}).get("metadata") or {}).get("annotations") or {}
        if CERT_MANAGER_ANNOTATION in annotations:
            return True
    return False


def decode(secret: dict[str, Any]) -> Bundle | None:
    """The bundle a certificate Secret holds, or None when a file is missing."""
    data = secret.get("data") or {}
    try:
        files = {key: base64.b64decode(data[key]) for key in (TLS_CERT, TLS_KEY, CA_CERT)}
    except (KeyError, ValueError):
        return None
    return Bundle(files[TLS_CERT], files[TLS_KEY], files[CA_CERT])


def _secret_body(namespace: str, name: str, bundle: Bundle) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "namespace": namespace,
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "ome"},
        },
        "type": "kubernetes.io/tls",
        "data": {k: base64.b64encode(v).decode() for k, v in bundle.files().items()},
    }


async def shared_certificate(
    client: Client, namespace: str, name: str, hosts: Sequence[str]
) -> Bundle:
    """The certificate in Secret ``namespace/name``, made (or replaced) when it cannot
    serve ``hosts`` for long enough."""
    secrets = await client.resource(SECRET)
    owner = _owner_reference(await get_or_none(client, SERVICE, SERVICE_NAME, namespace))
    for _ in range(ATTEMPTS):
        current = await get_or_none(client, SECRET, name, namespace)
        bundle = None if current is None else decode(current)
        if current is not None:
            why = "incomplete Secret" if bundle is None else problem(bundle, hosts)
            if bundle is not None and why is None:
                if owner is not None and owner not in _owners(current):
                    with contextlib.suppress(Conflict, NotFound):  # made before it had one
                        await secrets.patch(name, {"metadata": _owned(current, owner)}, namespace)
                return bundle
            log.info("renewing the webhook certificate", secret=f"{namespace}/{name}", why=why)
        fresh = successor(hosts, bundle)
        body = _secret_body(namespace, name, fresh)
        try:
            if owner is not None:
                body["metadata"]["ownerReferences"] = [owner]
            if current is None:
                await secrets.create(body)
            else:
                # keep its type (immutable) and the metadata whoever made it gave it
                kept = current.get("type") or body["type"]
                meta = current["metadata"]
                if owner is not None:
                    meta = {**meta, **_owned(current, owner)}
                await secrets.update(
                    {**current, "metadata": meta, "type": kept, "data": body["data"]}
                )
        except (AlreadyExists, Conflict):
            continue  # another replica wrote one first: use theirs
        log.info("webhook certificate generated", secret=f"{namespace}/{name}", hosts=list(hosts))
        return fresh
    raise RuntimeError(f"Secret {namespace}/{name} kept changing while being written")


def _owner_reference(service: dict[str, Any] | None) -> dict[str, Any] | None:
    if service is None:  # a manager outside the cluster, with no Service: no owner
        return None
    meta = service["metadata"]
    return {"apiVersion": "v1", "kind": "Service", "name": meta["name"], "uid": meta["uid"]}


def _owners(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: r.get(k) for k in ("apiVersion", "kind", "name", "uid")}
        for r in obj["metadata"].get("ownerReferences") or []
    ]


def _owned(obj: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """The owner references of ``obj`` with ``owner`` among them, and its version."""
    meta = obj["metadata"]
    others = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != owner["uid"]]
    return {"ownerReferences": [*others, owner], "resourceVersion": meta["resourceVersion"]}


async def inject_ca_bundle(client: Client, gvk: GVK, name: str, ca: bytes) -> bool:
    """Set ``caBundle`` on every webhook of configuration ``name``; False if it does not
    exist (yet)."""
    encoded = base64.b64encode(ca).decode()
    resource = await client.resource(gvk)
    for _ in range(ATTEMPTS):
        current = await get_or_none(client, gvk, name)
        if current is None:
            return False
        changed = False
        for webhook in current.get("webhooks") or []:
            config = webhook.setdefault("clientConfig", {})
            if config.get("caBundle") != encoded:
                config["caBundle"] = encoded
                changed = True
        if not changed:
            return True
        try:
            await resource.update(current)
        except Conflict:
            continue
        log.info("caBundle injected", kind=gvk.kind, name=name)
        return True
    raise RuntimeError(f"{gvk.kind} {name} kept changing while its caBundle was set")


async def install(client: Client, configurations: Sequence[dict[str, Any]]) -> None:
    """Create or update the configurations (server-side apply, owning what they say)."""
    for configuration in configurations:
        gvk = GVK.parse(configuration["apiVersion"], configuration["kind"])
        resource = await client.resource(gvk)
        await resource.apply(configuration, field_manager=FIELD_MANAGER, force=True)


def write_files(directory: Path, bundle: Bundle) -> bool:
    """Write the bundle's files (atomically each, key first); False if already there."""
    directory.mkdir(parents=True, exist_ok=True)
    files = bundle.files()
    if all(_read(directory / n) == content for n, content in files.items()):
        return False
    for file_name in (TLS_KEY, CA_CERT, TLS_CERT):
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{file_name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(files[file_name])
            os.chmod(temporary, 0o600)
            os.replace(temporary, directory / file_name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    return True


def read_files(directory: Path) -> Bundle | None:
    """The certificate files in ``directory`` (e.g. mounted by cert-manager), if all
    there; the CA is optional (cert-manager may leave ``ca.crt`` empty)."""
    cert, key = _read(directory / TLS_CERT), _read(directory / TLS_KEY)
    if not cert or not key:
        return None
    return Bundle(cert, key, _read(directory / CA_CERT) or b"")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
