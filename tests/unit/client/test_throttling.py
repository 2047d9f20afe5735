"""A throttled request is sent again after the server's Retry-After."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from ome.client import Client, Configuration, TooManyRequests


async def serve(handler: web.RequestHandler) -> tuple[web.AppRunner, str]:  # type: ignore[type-arg]
    app = web.Application()
    app.router.add_get("/api/v1/namespaces", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def throttled() -> web.Response:
    body = {"kind": "Status", "code": 429, "reason": "TooManyRequests", "message": "slow down"}
    return web.Response(status=429, text=json.dumps(body), headers={"Retry-After": "0.2"})


async def test_retry_after_is_honoured() -> None:
    calls = []

    async def handler(_: web.Request) -> web.Response:
        calls.append(1)
        return throttled() if len(calls) < 3 else web.json_response({"items": []})

    runner, host = await serve(handler)
    configuration = Configuration(host=host)
    try:
        async with Client(configuration, timeout=10) as client:
            assert await client.get("/api/v1/namespaces") == {"items": []}
        assert len(calls) == 3
    finally:
        await runner.cleanup()


async def test_throttling_past_the_timeout_raises() -> None:
    async def handler(_: web.Request) -> web.Response:
        return throttled()

    runner, host = await serve(handler)
    try:
        async with Client(Configuration(host=host), timeout=0.3) as client:
            with pytest.raises(TooManyRequests):
                await client.get("/api/v1/namespaces")
    finally:
        await runner.cleanup()
