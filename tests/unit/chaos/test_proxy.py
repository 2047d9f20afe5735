"""The fault proxies on loopback, in front of an echo server."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from chaos.proxy import Balancer, FaultyProxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


@pytest_asyncio.fixture
async def echo() -> AsyncIterator[int]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


@pytest_asyncio.fixture
async def proxy(echo: int) -> AsyncIterator[FaultyProxy]:
    started = await FaultyProxy(echo).start()
    yield started
    await started.stop()


async def roundtrip(port: int, payload: bytes = b"ping", timeout: float = 2.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(payload)), timeout)
    finally:
        writer.close()


async def test_forwards_until_told_otherwise(proxy: FaultyProxy) -> None:
    assert await roundtrip(proxy.port) == b"ping"


async def test_cut_resets_open_connections(proxy: FaultyProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"x")
    assert await reader.readexactly(1) == b"x"
    proxy.cut()
    assert await asyncio.wait_for(reader.read(), 2) == b""
    writer.close()
    assert await roundtrip(proxy.port) == b"ping"  # new connections work


async def test_drop_resets_a_share_of_the_connections(proxy: FaultyProxy) -> None:
    opened = [await asyncio.open_connection("127.0.0.1", proxy.port) for _ in range(4)]
    for reader, writer in opened:
        writer.write(b"x")
        assert await reader.readexactly(1) == b"x"
    proxy.drop(0.0, random.Random(0))
    assert proxy.connections == 4
    proxy.drop(1.0, random.Random(0))
    for reader, writer in opened:
        assert await asyncio.wait_for(reader.read(), 2) == b""
        writer.close()
    assert await roundtrip(proxy.port) == b"ping"  # new connections work


async def test_hold_refuses_until_healed(proxy: FaultyProxy) -> None:
    proxy.hold()
    with pytest.raises((OSError, asyncio.IncompleteReadError)):
        await roundtrip(proxy.port)
    proxy.heal()
    assert await roundtrip(proxy.port) == b"ping"


async def test_a_black_hole_delivers_what_was_sent_once_healed(proxy: FaultyProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    proxy.blackhole()
    writer.write(b"late")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readexactly(4), 0.3)
    proxy.heal()
    assert await asyncio.wait_for(reader.readexactly(4), 2) == b"late"
    writer.close()


async def test_balancer_skips_backends_out_of_service(echo: int) -> None:
    backends = [1, echo]  # port 1 refuses
    balancer = await Balancer(lambda: backends).start()
    try:
        for _ in range(3):
            assert await roundtrip(balancer.port) == b"ping"
        backends.clear()
        with pytest.raises((OSError, asyncio.IncompleteReadError)):
            await roundtrip(balancer.port)
    finally:
        await balancer.stop()


async def test_balancer_cut_resets_kept_alive_connections(echo: int) -> None:
    """Taking backends out of service only stops new connections; a kept-alive one (the
    API server's to a webhook) must be reset too when the backends go away."""
    backends = [echo]
    balancer = await Balancer(lambda: backends).start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", balancer.port)
        writer.write(b"x")
        assert await reader.readexactly(1) == b"x"
        backends.clear()
        balancer.cut()
        with contextlib.suppress(ConnectionResetError):
            assert await asyncio.wait_for(reader.read(), 2) == b""
        writer.close()
    finally:
        await balancer.stop()
