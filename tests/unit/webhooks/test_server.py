"""The HTTPS server on loopback: reviews answered, bad bodies refused with 400, a failing
handler costs one request, and a new certificate is picked up."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from ome.serving import MemoryCatalog
from ome.webhooks import Admission, WebhookServer
from ome.webhooks.certificates import generate
from ome.webhooks.provision import write_files
from tests.unit.webhooks.support import RUNNER, cluster_model, review_body, service

MUTATE = "/mutate-ome-io-v1beta1-inferenceservice"
VALIDATE = "/validate-ome-io-v1beta1-inferenceservice"


@pytest_asyncio.fixture(loop_scope="session")
async def server(tmp_path: Path) -> AsyncIterator[WebhookServer]:
    write_files(tmp_path, generate(("127.0.0.1",)))
    running = WebhookServer(Admission(MemoryCatalog()), "127.0.0.1:0", tmp_path)
    assert running.ready() is not None
    await running.start()
    assert running.ready() is None
    yield running
    await running.stop()


def trusting(directory: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(directory / "ca.crt"))


async def post(server: WebhookServer, path: str, body: bytes) -> tuple[int, Any]:
    url = f"https://127.0.0.1:{server.port}{path}"
    async with aiohttp.ClientSession() as session:
        connector_ssl = trusting(server.cert_dir)
        async with session.post(url, data=body, ssl=connector_ssl) as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()


async def test_a_review_is_answered(server: WebhookServer) -> None:
    status, answer = await post(server, MUTATE, review_body(service()))
    assert status == 200
    assert answer["response"]["allowed"] is True
    assert answer["response"]["patchType"] == "JSONPatch"


async def test_a_denial_is_an_answer_not_an_http_error(server: WebhookServer) -> None:
    status, answer = await post(server, VALIDATE, review_body(service(engine=None, decoder={})))
    assert status == 200
    assert answer["response"]["allowed"] is False
    assert "spec.decoder" in answer["response"]["status"]["message"]


@pytest.mark.parametrize("body", [b"", b"{", b'{"kind": "Pod"}'])
async def test_a_bad_body_gets_400_with_the_reason(server: WebhookServer, body: bytes) -> None:
    status, text = await post(server, VALIDATE, body)
    assert status == 400
    assert text.startswith("bad AdmissionReview:")


async def test_a_failing_handler_answers_500_and_the_server_goes_on(
    server: WebhookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(request: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(server.admission, "mutate_inference_service", broken)
    status, answer = await post(server, MUTATE, review_body(service()))
    assert status == 200
    assert answer["response"]["allowed"] is False
    assert answer["response"]["status"]["code"] == 500
    assert "boom" in answer["response"]["status"]["message"]
    status, _ = await post(server, VALIDATE, review_body(service()))
    assert status == 200


async def test_only_the_webhook_paths_are_served(server: WebhookServer) -> None:
    status, _ = await post(server, "/other", review_body(service()))
    assert status == 404


async def test_a_new_certificate_is_loaded(server: WebhookServer, tmp_path: Path) -> None:
    assert not server.reload_certificate()
    old_ca = (server.cert_dir / "ca.crt").read_bytes()
    bundle = generate(("127.0.0.1",))
    write_files(server.cert_dir, bundle)
    assert server.reload_certificate(force=True)
    status, _ = await post(server, MUTATE, review_body(service()))  # trusts the new CA
    assert status == 200
    assert old_ca != bundle.ca


async def test_a_model_that_reaches_the_cache_late_is_waited_for(server: WebhookServer) -> None:
    catalog = server.admission.catalog
    assert isinstance(catalog, MemoryCatalog)

    async def arrive() -> None:
        await asyncio.sleep(0.5)
        catalog.cluster_base_models["llama"] = cluster_model()

    arriving = asyncio.create_task(arrive())
    status, answer = await post(server, VALIDATE, review_body(service(engine={"runner": RUNNER})))
    await arriving
    assert status == 200
    assert answer["response"]["allowed"] is True, answer


async def test_a_missing_model_is_refused_after_the_grace(
    server: WebhookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ome.webhooks.server.CACHE_GRACE", 0.3)
    status, answer = await post(server, VALIDATE, review_body(service(engine={"runner": RUNNER})))
    assert status == 200
    assert "spec.model.name" in answer["response"]["status"]["message"]


async def test_requests_latency_and_refusals_are_counted(server: WebhookServer) -> None:
    registry = server.metrics.registry
    await post(server, MUTATE, review_body(service()))
    await post(server, VALIDATE, review_body(service(engine=None, decoder={})))
    await post(server, VALIDATE, b"{")

    def value(name: str, **labels: str) -> float | None:
        sample: float | None = registry.get_sample_value(name, labels)
        return sample

    assert value("controller_runtime_webhook_requests_total", webhook=MUTATE, code="200") == 1
    assert value("controller_runtime_webhook_requests_total", webhook=VALIDATE, code="200") == 1
    assert value("controller_runtime_webhook_requests_total", webhook=VALIDATE, code="400") == 1
    assert value("controller_runtime_webhook_latency_seconds_count", webhook=VALIDATE) == 2
    assert value("controller_runtime_webhook_requests_in_flight", webhook=VALIDATE) == 0
    assert value("ome_webhook_denied_total", webhook=VALIDATE, code="403") == 1
    assert value("ome_webhook_denied_total", webhook=MUTATE, code="403") is None
