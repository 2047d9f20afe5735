"""A client behind an HTTP proxy reaches a real API server through a CONNECT tunnel, with
TLS to the server inside it (and, for an https:// proxy, TLS to the proxy around it), on
asyncio's loop and on uvloop's (the operator's), whose TLS transports differ."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import uvloop

from ome.client import Client, TransportError, load_configuration
from ome.testing.pki import CertificateAuthority

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("loop", ["asyncio", "uvloop"])]


async def on_loop(loop: str, client_side: Callable[[], Awaitable[None]]) -> None:
    """Run the client's side on ``loop``: uvloop's in a thread of its own, beside the
    test's loop that serves the proxy."""
    if loop == "uvloop":

        async def run() -> None:
            await client_side()

        await asyncio.to_thread(uvloop.run, run())
    else:
        await client_side()


class TunnellingProxy:
    """Answers CONNECT with 200 and relays bytes both ways; refuses other methods."""

    def __init__(self, credentials: str | None = None) -> None:
        self.credentials = credentials
        self.tunnels: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        method, target, _ = head.split("\r\n", 1)[0].split(" ")
        wanted = f"Proxy-Authorization: {self.credentials}" if self.credentials else ""
        if method != "CONNECT" or wanted not in head:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        self.tunnels.append(target)
        host, port = target.rsplit(":", 1)
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(
            _relay(reader, upstream_writer), _relay(upstream_reader, writer), return_exceptions=True
        )


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def listening(
    proxy: TunnellingProxy, tls: ssl.SSLContext | None = None
) -> AsyncIterator[int]:
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def proxy_certificate(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A TLS server context for a proxy on 127.0.0.1, and the CA file to trust it by."""
    authority = CertificateAuthority("proxy-ca")
    served = authority.issue(directory, "proxy", "proxy", ip_addresses=("127.0.0.1",), server=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(served.cert, served.key)
    return context, authority.write(directory).cert


async def test_through_a_plain_proxy_with_credentials(loop: str, kubeconfig: Path) -> None:
    proxy = TunnellingProxy(credentials="Basic dXNlcjpzZWNyZXQ=")  # user:secret
    configuration = await load_configuration(kubeconfig)
    async with listening(proxy) as port:

        async def client_side() -> None:
            right = f"http://user:secret@127.0.0.1:{port}"
            async with Client(dataclasses.replace(configuration, proxy=right)) as client:
                for _ in range(3):  # one tunnel, kept alive
                    assert (await client.get("/api/v1/namespaces/default"))["metadata"]["name"]
            wrong = f"http://user:wrong@127.0.0.1:{port}"
            async with Client(dataclasses.replace(configuration, proxy=wrong)) as client:
                with pytest.raises(
                    TransportError, match=r"127\.0\.0\.1:\d+ refused the tunnel: 407"
                ):
                    await client.get("/api/v1/namespaces/default")

        await on_loop(loop, client_side)
    server = configuration.host.removeprefix("https://")
    assert proxy.tunnels == [server]


async def test_through_a_tls_proxy(
    loop: str, kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tls, certificate = proxy_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # how the proxy's CA is trusted
    proxy = TunnellingProxy()
    configuration = await load_configuration(kubeconfig)
    async with listening(proxy, tls) as port:

        async def client_side() -> None:
            tunnelled = dataclasses.replace(configuration, proxy=f"https://127.0.0.1:{port}")
            async with Client(tunnelled) as client:
                listed = await client.get("/api/v1/namespaces", query={"limit": 1})
                assert listed["kind"] == "NamespaceList"

        await on_loop(loop, client_side)
    assert len(proxy.tunnels) == 1
