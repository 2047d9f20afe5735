"""The webhook faults: the serving certificate rotated while the replicas serve, every
replica's webhook unreachable (the operator scaled to 0), and bad objects written with
the webhooks out of the way (an administrator deleting the webhook configurations, as
in an incident, and restoring them afterwards)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import time
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chaos import badobjects
from chaos.badobjects import NAMESPACE, Bad
from chaos.system import MODELS, NODES, RUNTIMES, Replica, System
from ome.client import GVK, ApiError, Client, NotFound
from ome.serving.naming import model_ready_label
from ome.testing.serviceaccount import OPERATOR_NAMESPACE
from ome.webhooks import SECRET_NAME
from ome.webhooks.certificates import successor
from ome.webhooks.configuration import MUTATING_NAME, VALIDATING_NAME
from ome.webhooks.provision import MUTATING, SECRET, VALIDATING, decode, inject_ca_bundle

FOLLOW_TIMEOUT = 60.0
DOWN_SECONDS = 10.0
OBSERVE_SECONDS = 40.0
"""How long the bad objects are watched once written: long enough for a few rounds of
backoff, and to tell them from a hot loop."""
MAX_RECONCILES = 60
"""Failed reconciles of one bad object allowed over :data:`OBSERVE_SECONDS`: backoff
doubles from milliseconds, so a handful of retries a second at first, then fewer; a hot
loop makes hundreds."""
CONFIGURATIONS = ((MUTATING, MUTATING_NAME), (VALIDATING, VALIDATING_NAME))
INFERENCESERVICE = GVK("ome.io", "v1beta1", "InferenceService")
EVENT = GVK("", "v1", "Event")


class Violated(RuntimeError):
    """A fault that ran but whose own checks failed: what it did, and what went wrong."""

    def __init__(self, faults: list[str], problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.faults = faults
        self.problems = problems


def _probe(name: str) -> dict[str, Any]:
    """A valid service, written with dryRun: it reaches every webhook, stores nothing."""
    model, runtime = next(iter(MODELS)), next(iter(RUNTIMES))
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": "chaos-0"},
        "spec": {
            "model": {"name": model, "kind": "ClusterBaseModel"},
            "runtime": {"name": runtime, "kind": "ClusterServingRuntime"},
        },
    }


async def _probe_write(client: Client) -> str | None:
    """None when a valid write is admitted, else the API server's answer."""
    services = await client.resource(INFERENCESERVICE)
    try:
        await services.create(_probe("webhook-probe"), dry_run=True)
    except ApiError as err:
        return str(err)
    except (OSError, TimeoutError) as err:
        return f"{type(err).__name__}: {err}"
    return None


async def _served_certificate(port: int) -> bytes | None:
    """The DER certificate a replica's webhook server presents, None if unreachable."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        async with asyncio.timeout(3):
            _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    try:
        der: bytes | None = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return der
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


async def webhook_cert_rotated(system: System) -> list[str]:
    """What a replica renewing the shared certificate does (a new CA and certificate into
    the Secret, the new CA and the previous one into both configurations), done from
    outside while services churn: every replica must serve the new certificate without a
    restart, and valid writes keep being admitted meanwhile."""
    client = system.client
    secrets = await client.resource(SECRET)
    current = dict(await secrets.get(SECRET_NAME, OPERATOR_NAMESPACE))
    rotated = successor(("127.0.0.1",), decode(current))
    current["data"] = {k: base64.b64encode(v).decode() for k, v in rotated.files().items()}
    await secrets.update(current)
    for gvk, name in CONFIGURATIONS:
        await inject_ca_bundle(client, gvk, name, rotated.ca)
    started = time.monotonic()
    wanted = x509.load_pem_x509_certificate(rotated.cert).public_bytes(serialization.Encoding.DER)
    probes, refusals, message = 0, 0, ""
    pending: list[Replica] = list(system.replicas)
    while pending and time.monotonic() - started < FOLLOW_TIMEOUT:
        refused = await _probe_write(client)
        probes += 1
        if refused is not None:
            refusals, message = refusals + 1, refused
        pending = [r for r in pending if await _served_certificate(r.webhook_port) != wanted]
        await asyncio.sleep(0.5)
    followed = time.monotonic() - started
    faults = [
        f"certificate rotated; every replica serving it after {followed:.1f} s; "
        f"{refusals} of {probes} probe writes refused meanwhile"
        + (f" ({message[:160]})" if message else "")
    ]
    if pending:
        names = ", ".join(r.name for r in pending)
        raise Violated(
            faults, [f"still serving the old certificate after {followed:.0f} s: {names}"]
        )
    return faults


async def webhook_down(system: System) -> list[str]:
    """Every replica out of the webhook balancer for :data:`DOWN_SECONDS` (the operator
    scaled to 0, or its pods unready): what the API server answers a valid write meanwhile
    (the configurations' failurePolicy decides), then the replicas back."""
    for replica in system.replicas:
        replica.stopped = True  # out of the balancer; the process keeps running
    system.balancer.cut()
    started = time.monotonic()
    answers: list[str] = []
    try:
        while time.monotonic() - started < DOWN_SECONDS:
            answers.append(await _probe_write(system.client) or "admitted")
            await asyncio.sleep(1.0)
    finally:
        for replica in system.replicas:
            replica.stopped = False
    refused = [a for a in answers if a != "admitted"]
    shown = f": {refused[-1]}" if refused else ""
    return [
        f"every webhook unreachable for {time.monotonic() - started:.0f} s; "
        f"{len(refused)} of {len(answers)} probe writes refused{shown}"
    ]


async def _without_configurations(client: Client) -> list[dict[str, Any]]:
    """Delete both webhook configurations; their bodies, to restore."""
    saved = []
    for gvk, name in CONFIGURATIONS:
        resource = await client.resource(gvk)
        body = dict(await resource.get(name))
        body["metadata"] = {
            k: v for k, v in body["metadata"].items() if k in ("name", "labels", "annotations")
        }
        saved.append(body)
        await resource.delete(name)
    return saved


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"{what} within {timeout:.0f} s")


async def _write(client: Client, bad: Bad) -> str | None:
    """Create ``bad`` (and its status); the API server's refusal, if any."""
    resource = await client.resource(GVK("ome.io", "v1beta1", bad.kind))
    try:
        created = dict(await resource.create(bad.body()))
        if bad.status is not None:
            created["status"] = bad.status
            await resource.update_status(created)
    except ApiError as err:
        return f"{err.status} {err.reason}: {err.message[:200]}"
    return None


async def _judge(client: Client, bad: Bad) -> str | None:
    services = await client.resource(INFERENCESERVICE)
    try:
        obj = await services.get(bad.name, NAMESPACE)
    except NotFound:
        return f"{bad.key} is gone"
    events = await (await client.resource(EVENT)).list(
        NAMESPACE, field_selector=f"involvedObject.name={bad.name}"
    )
    return badobjects.problem(bad, badobjects.verdict(obj, events))


def _log_lines(replicas: list[Replica], offsets: dict[str, int]) -> list[str]:
    lines: list[str] = []
    for replica in replicas:
        with replica.log.open("rb") as log:
            log.seek(offsets.get(replica.name, 0))
            lines += log.read().decode(errors="replace").splitlines()
    return lines


async def _downloaded(client: Client, model: str) -> None:
    """Every node labelled as the model agent labels one holding ``model`` (a BaseModel
    in the bad objects' namespace), so that a service of it can become Ready."""
    nodes = await client.resource(GVK("", "v1", "Node"))
    label = {model_ready_label(model, NAMESPACE): "Ready"}
    for node in NODES:
        await nodes.patch(node.name, {"metadata": {"labels": label}})


async def bad_objects(system: System) -> list[str]:
    """With both webhook configurations deleted (an administrator's incident move), write
    invalid, odd and huge models, runtimes and services into their own namespace, restore
    the configurations, and watch for :data:`OBSERVE_SECONDS`: no replica restarts, no
    bad object is reconciled more than :data:`MAX_RECONCILES` times, and each service
    ends with the controller's verdict naming its field (or Ready when it is servable)."""
    client = system.client
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    with contextlib.suppress(ApiError):
        await client.create("/api/v1/namespaces", body)
    restarts = {r.name: (r.restarts, r.pid) for r in system.replicas}
    offsets = {r.name: r.log.stat().st_size for r in system.replicas}
    saved = await _without_configurations(client)
    refused: dict[str, str] = {}
    try:
        bare = _probe("webhook-gone")
        bare["spec"] = {"model": {"name": "no-such-model"}}

        async def unchecked() -> bool:
            try:
                await (await client.resource(INFERENCESERVICE)).create(bare, dry_run=True)
            except ApiError:
                return False
            return True

        await _until(unchecked, 30, "the API server kept calling the deleted webhooks")
        catalogue = badobjects.catalogue(next(iter(MODELS)), next(iter(RUNTIMES)))
        for bad in catalogue:
            why = await _write(client, bad)
            if why is not None:
                refused[bad.key] = why
            elif bad.kind == "BaseModel":
                await _downloaded(client, bad.name)
    finally:
        for configuration in saved:
            resource = await client.resource(
                GVK.parse(configuration["apiVersion"], configuration["kind"])
            )
            await resource.create(configuration)
    await asyncio.sleep(OBSERVE_SECONDS)
    problems = [
        f"{r.name} restarted meanwhile"
        for r in system.replicas
        if (r.restarts, r.pid) != restarts[r.name]
    ]
    lines = _log_lines(system.replicas, offsets)
    counts: dict[str, int] = {}
    for bad in catalogue:
        if bad.kind != "InferenceService" or bad.key in refused:
            continue
        counts[bad.name] = badobjects.reconciles(lines, bad.name)
        if counts[bad.name] > MAX_RECONCILES:
            problems.append(
                f"{bad.key} reconciled {counts[bad.name]} times in {OBSERVE_SECONDS:.0f} s"
            )
        why = await _judge(client, bad)
        if why is not None:
            problems.append(why)
    problems += [
        f"reconcile raised for a bad object: {line.strip()[:300]}"
        for line in lines
        if "reconcile failed; will retry" in line and f"namespace={NAMESPACE}" in line
    ]
    faults = [
        f"webhook configurations deleted and restored; {len(catalogue)} bad objects written, "
        f"{len(refused)} refused by the API server itself",
        *(f"refused: {key}: {why}" for key, why in refused.items()),
        "failed reconciles logged per service in "
        f"{OBSERVE_SECONDS:.0f} s: {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}",
    ]
    if problems:
        raise Violated(faults, problems)
    return faults
