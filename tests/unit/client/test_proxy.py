"""The proxy variables are read once, when a client is made (as client-go reads them),
and the client then consults the environment no more."""

from __future__ import annotations

import pytest
from aiohttp import web

from ome.client import Client, Configuration

UNREACHABLE = "http://192.0.2.1:6443"  # TEST-NET-1: nothing answers there


async def serve(seen: list[str]) -> tuple[web.AppRunner, str]:
    async def answer(request: web.Request) -> web.Response:
        seen.append(str(request.url))
        return web.json_response({"kind": "NamespaceList", "items": []})

    app = web.Application()
    app.router.add_get("/api/v1/namespaces", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def clear_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


async def test_requests_go_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []
    runner, proxy = await serve(seen)
    clear_proxy_variables(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    try:
        async with Client(Configuration(host=UNREACHABLE), timeout=10) as client:
            monkeypatch.delenv("HTTP_PROXY")  # read once: later changes do not count
            assert (await client.get("/api/v1/namespaces"))["items"] == []
    finally:
        await runner.cleanup()
    assert seen == [f"{UNREACHABLE}/api/v1/namespaces"]


async def test_no_proxy_exempts_the_api_server(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    runner, server = await serve(seen)
    clear_proxy_variables(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", UNREACHABLE)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    try:
        async with Client(Configuration(host=server), timeout=10) as client:
            assert (await client.get("/api/v1/namespaces"))["items"] == []
    finally:
        await runner.cleanup()
    assert len(seen) == 1
