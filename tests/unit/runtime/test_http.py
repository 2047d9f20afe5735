"""Probe and metrics endpoints answer like controller-runtime's."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from ome.runtime.http import HttpServer, Probes, Routes, add_metrics_route, parse_address


async def serve(routes: Routes) -> HttpServer:
    server = HttpServer("127.0.0.1:0", routes)
    await server.start()
    return server


async def fetch(server: HttpServer, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}{path}") as response,
    ):
        return response.status, await response.text()


async def test_probes() -> None:
    probes = Probes()
    state = {"synced": False}
    probes.add_healthz_check("ping", lambda: None)
    probes.add_readyz_check("informers", lambda: None if state["synced"] else "not synced")

    async def broken() -> str | None:
        raise RuntimeError("boom")

    probes.add_readyz_check("broken", broken)
    server = await serve(probes.add_routes)
    try:
        assert await fetch(server, "/healthz") == (200, "ok")
        assert await fetch(server, "/healthz?verbose") == (
            200,
            "[+]ping ok\nhealthz check passed\n",
        )
        status, text = await fetch(server, "/readyz")
        assert status == 500
        assert "[-]informers failed: not synced" in text
        assert "[-]broken failed: RuntimeError: boom" in text
        state["synced"] = True
        assert await fetch(server, "/readyz?exclude=broken") == (200, "ok")
        assert (await fetch(server, "/readyz/informers"))[0] == 200
        assert (await fetch(server, "/readyz/nothing"))[0] == 404
    finally:
        await server.stop()


async def test_metrics_come_from_the_given_registry() -> None:
    registry = CollectorRegistry()
    Counter("ome_things_total", "things", registry=registry).inc(3)

    def routes(app: web.Application) -> None:
        add_metrics_route(app, registry)

    server = await serve(routes)
    try:
        status, text = await fetch(server, "/metrics")
        assert status == 200
        assert "ome_things_total 3.0" in text
    finally:
        await server.stop()


def test_bad_check_names_and_addresses_are_refused() -> None:
    probes = Probes()
    probes.add_healthz_check("ping", lambda: None)
    with pytest.raises(ValueError, match="already registered"):
        probes.add_healthz_check("ping", lambda: None)
    with pytest.raises(ValueError, match="contain no '/'"):
        probes.add_readyz_check("a/b", lambda: None)
    assert parse_address(":8080") == ("0.0.0.0", 8080)
    assert parse_address("0") is None
    with pytest.raises(ValueError, match="host:port"):
        parse_address("localhost")
