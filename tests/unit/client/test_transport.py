"""The HTTP/1.1 transport against a scripted server: connections kept alive and reused,
answers framed by length or in chunks, streams cut into lines, and every way a
connection can end early reported as a TransportError."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from ome.client.transport import (
    ConnectionPool,
    Endpoint,
    IdleTimeout,
    Lines,
    TransportError,
)

Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]
Serve = Callable[..., Awaitable[tuple["Server", ConnectionPool]]]


def answer(body: bytes, status: str = "200 OK", *extra: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def chunked(*chunks: bytes) -> bytes:
    framed = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + framed + b"0\r\n\r\n"


def get(path: str = "/") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode()


class Server:
    """Answers each request head with what ``handler`` writes; counts connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                self.requests.append(head)
                await self.handler(head, writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []
    pools: list[ConnectionPool] = []

    async def start(handler: Handler, limit: int = 10) -> tuple[Server, ConnectionPool]:
        server = Server(handler)
        listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
        servers.append(listening)
        port = listening.sockets[0].getsockname()[1]
        pool = ConnectionPool(Endpoint(f"http://127.0.0.1:{port}"), limit)
        pools.append(pool)
        return server, pool

    yield start
    for pool in pools:
        pool.close()
    for listening in servers:
        listening.close()


async def test_a_connection_is_kept_alive_and_reused(serve: Serve) -> None:
    async def ok(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(answer(b'{"ok": true}', "200 OK", "Retry-After: 3"))

    server, pool = await serve(ok)
    for _ in range(3):
        got = await pool.exchange(get(), method="GET")
        assert (got.status, got.body, got.headers["retry-after"]) == (200, b'{"ok": true}', "3")
    assert server.connections == 1


async def test_chunked_answers_are_joined(serve: Serve) -> None:
    async def parts(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(chunked(b'{"a"', b": 1", b"}"))

    _, pool = await serve(parts)
    assert (await pool.exchange(get(), method="GET")).body == b'{"a": 1}'


async def test_an_answer_that_closes_its_connection_is_not_reused(serve: Serve) -> None:
    async def closing(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(answer(b"{}", "200 OK", "Connection: close"))
        writer.close()

    server, pool = await serve(closing)
    await pool.exchange(get(), method="GET")
    await pool.exchange(get(), method="GET")
    assert server.connections == 2


async def test_a_connection_the_server_dropped_while_idle_is_replaced(serve: Serve) -> None:
    writers: list[asyncio.StreamWriter] = []

    async def ok(_: bytes, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        writer.write(answer(b"{}"))

    server, pool = await serve(ok)
    await pool.exchange(get(), method="GET")
    writers[0].close()  # the server's idle timeout
    await asyncio.sleep(0.05)
    assert (await pool.exchange(get(), method="PATCH")).status == 200
    assert server.connections == 2


async def test_an_idempotent_request_is_sent_again_when_a_reused_connection_breaks(
    serve: Serve,
) -> None:
    async def drop_the_second(_: bytes, writer: asyncio.StreamWriter) -> None:
        if len(server.requests) == 2:
            writer.transport.abort()  # closed just as the request came in
            return
        writer.write(answer(b"{}"))

    server, pool = await serve(drop_the_second)
    await pool.exchange(get(), method="GET")
    assert (await pool.exchange(get(), method="GET")).status == 200
    assert len(server.requests) == 3


async def test_a_write_is_not_sent_twice(serve: Serve) -> None:
    async def drop_the_second(_: bytes, writer: asyncio.StreamWriter) -> None:
        if len(server.requests) == 2:
            writer.transport.abort()
            return
        writer.write(answer(b"{}"))

    server, pool = await serve(drop_the_second)
    await pool.exchange(get(), method="POST")
    with pytest.raises(TransportError, match="closed the connection"):
        await pool.exchange(get(), method="POST")
    assert len(server.requests) == 2


async def test_an_answer_cut_short_is_an_error(serve: Serve) -> None:
    async def short(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(answer(b'{"long": "answer"}')[:-5])
        await writer.drain()
        writer.close()

    _, pool = await serve(short)
    with pytest.raises(TransportError, match="before the answer was complete"):
        await pool.exchange(get(), method="GET")


async def test_bytes_that_are_not_http_are_an_error(serve: Serve) -> None:
    async def garbage(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")

    _, pool = await serve(garbage)
    with pytest.raises(TransportError, match="malformed HTTP answer"):
        await pool.exchange(get(), method="GET")


async def test_a_cancelled_exchange_leaves_no_connection_behind(serve: Serve) -> None:
    async def slow(_: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.3)
        writer.write(answer(b"{}"))

    server, pool = await serve(slow)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await pool.exchange(get(), method="GET")
    assert (await pool.exchange(get(), method="GET")).status == 200
    assert server.connections == 2  # the first one's answer never reaches the second request


async def test_at_most_limit_connections_at_once(serve: Serve) -> None:
    async def slow(_: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        writer.write(answer(b"{}"))

    server, pool = await serve(slow, 2)
    await asyncio.gather(*(pool.exchange(get(), method="GET") for _ in range(6)))
    assert server.connections == 2


async def test_a_stream_gives_lines_across_chunks(serve: Serve) -> None:
    async def events(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(chunked(b'{"n": 1}\n{"n"', b": 2}\n", b'{"n": 3}'))

    server, pool = await serve(events)
    async with pool.stream(get(), connect_timeout=5, idle_timeout=5) as (head, lines):
        assert head.status == 200
        assert lines is not None
        got = [line async for line in _all(lines)]
    assert got == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
    await pool.exchange(get(), method="GET")  # the stream ended cleanly: its connection is reused
    assert server.connections == 1


async def test_a_silent_stream_times_out(serve: Serve) -> None:
    async def silent(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    _, pool = await serve(silent)
    async with pool.stream(get(), connect_timeout=5, idle_timeout=0.1) as (_, lines):
        assert lines is not None
        with pytest.raises(IdleTimeout):
            await lines.next(0.1)


async def test_an_error_answer_to_a_stream_comes_whole(serve: Serve) -> None:
    async def forbidden(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(answer(b'{"reason": "Forbidden"}', "403 Forbidden"))

    _, pool = await serve(forbidden)
    async with pool.stream(get(), connect_timeout=5, idle_timeout=5) as (head, lines):
        assert (head.status, head.body, lines) == (403, b'{"reason": "Forbidden"}', None)


async def test_a_stream_broken_midway_raises(serve: Serve) -> None:
    async def broken(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{"n": 1}\n\r\n')
        await writer.drain()
        writer.transport.abort()

    _, pool = await serve(broken)
    async with pool.stream(get(), connect_timeout=5, idle_timeout=5) as (_, lines):
        assert lines is not None
        assert await lines.next(5) == b'{"n": 1}'
        with pytest.raises(TransportError):
            await lines.next(5)


def test_only_http_proxies_are_taken() -> None:
    with pytest.raises(ValueError, match="socks5://proxy:1080"):
        ConnectionPool(Endpoint("https://api:6443", proxy="socks5://proxy:1080"), 1)


def test_proxy_credentials_become_a_basic_header() -> None:
    pool = ConnectionPool(Endpoint("http://api:8080", proxy="http://me:p%40ss@proxy:3128"), 1)
    assert pool.absolute_form
    assert pool.proxy_authorization == "Basic bWU6cEBzcw=="


async def _all(lines: Lines) -> AsyncIterator[bytes]:
    while (line := await lines.next(5)) is not None:
        yield line
