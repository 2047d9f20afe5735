"""The REST transport: JSON requests to any API path over one aiohttp session, with the
TLS settings and credentials of a :class:`~ome.client.configuration.Configuration`.
Discovery and typed resources are built on top of it (:mod:`ome.client.client`)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import Self
from urllib.parse import urlencode, urlsplit

import aiohttp

from ome.client import codec
from ome.client.configuration import Configuration
from ome.client.errors import TooManyRequests, error_from_response
from ome.client.media import APPLY_PATCH, JSON
from ome.client.objects import KubeObject

DEFAULT_TIMEOUT = 30.0
USER_AGENT = "ome-framework"
# Throttled (429) requests were not processed, so any of them may be sent again.
THROTTLE_RETRIES = 3
READ_METHODS = frozenset({"GET", "HEAD"})
# A watch event carries a whole object, up to etcd's 1.5 MiB (kubernetes-asyncio's size).
READ_BUFFER = 2**21
# Unanswered TCP keepalive probes after which the kernel declares a connection dead.
KEEPALIVE_PROBES = 3

Query = Mapping[str, str | int | bool] | Sequence[tuple[str, str | int | bool]]
RequestBody = KubeObject | Sequence[KubeObject] | None
"""A JSON request body: an object, a list of JSON-patch operations, or none."""
WriteObserver = Callable[[str, str, RequestBody], None]
"""Told of each accepted write: its method, path and body."""


class WriteFenced(RuntimeError):
    """A write refused before it was sent, because the client's write guard said no
    (a manager that is not, or no longer, the leader)."""


def _query_pairs(query: Query | None) -> list[tuple[str, str]]:
    items = query.items() if isinstance(query, Mapping) else (query or ())
    return [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in items]


def _environment_proxy(host: str) -> str | None:
    """The proxy ``HTTPS_PROXY``/``HTTP_PROXY`` name for ``host``, unless ``NO_PROXY``
    exempts it."""
    url = urlsplit(host)
    if urllib.request.proxy_bypass(url.hostname or ""):
        return None
    return urllib.request.getproxies().get(url.scheme or "https")


class RESTClient:
    """Sends requests to the API server and returns the decoded JSON answer.

    Every call is bounded by ``timeout`` seconds; error answers raise the matching
    :class:`~ome.client.errors.ApiError` subclass. With a ``write_guard``, any request
    but a read is sent only while the guard returns True. Every write the API server
    accepted is told to the ``write_observers`` as (method, path, body).
    """

    def __init__(
        self,
        configuration: Configuration,
        timeout: float = DEFAULT_TIMEOUT,
        write_guard: Callable[[], bool] | None = None,
    ) -> None:
        self.configuration = configuration
        self.timeout = timeout
        self.write_guard = write_guard
        self.write_observers: list[WriteObserver] = []
        # The proxy variables are read once, as client-go reads them once per process;
        # a session trusting the environment would look them (and ~/.netrc) up in a
        # worker thread on every request, which costs more CPU than the request.
        self._proxy = configuration.proxy or _environment_proxy(configuration.host)
        https = configuration.host.startswith("https:")
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=configuration.connection_pool_maxsize,
                ssl=configuration.ssl_context() if https else False,
            ),
            trust_env=False,
            read_bufsize=READ_BUFFER,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._session.close()

    async def _send(
        self,
        *,
        method: str,
        path: str,
        query: Query | None,
        body: RequestBody,
        content_type: str,
        timeout: float | aiohttp.ClientTimeout,
        accept: str = JSON,
    ) -> aiohttp.ClientResponse:
        if method not in READ_METHODS and self.write_guard is not None and not self.write_guard():
            raise WriteFenced(f"{method} {path} refused: this process is not the leader")
        headers = {"Accept": accept, "Content-Type": content_type, "User-Agent": USER_AGENT}
        if authorization := await self.configuration.authorization():
            headers["Authorization"] = authorization
        url = f"{self.configuration.host}{path}"
        if pairs := _query_pairs(query):
            url += "?" + urlencode(pairs)
        response = await self._session.request(
            method,
            url,
            data=None if body is None else codec.dumps(body),
            headers=headers,
            timeout=timeout
            if isinstance(timeout, aiohttp.ClientTimeout)
            else aiohttp.ClientTimeout(total=timeout),
            proxy=self._proxy,
            server_hostname=self.configuration.tls_server_name,
        )
        if not 200 <= response.status < 300:
            try:
                data = await response.read()
            finally:
                response.release()
            raise error_from_response(response.status, data, response.headers)
        return response

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: RequestBody = None,
        content_type: str = JSON,
        timeout: float | None = None,
        accept: str = JSON,
    ) -> KubeObject:
        """The answer's JSON object ({} for an empty answer)."""
        budget = timeout or self.timeout
        deadline = time.monotonic() + budget
        for attempt in range(THROTTLE_RETRIES + 1):
            try:
                response = await self._send(
                    method=method,
                    path=path,
                    query=query,
                    body=body,
                    content_type=content_type,
                    timeout=max(deadline - time.monotonic(), 0.001),
                    accept=accept,
                )
                break
            except TooManyRequests as err:
                wait = err.retry_after or 1.0
                if attempt == THROTTLE_RETRIES or time.monotonic() + wait >= deadline:
                    raise
                await asyncio.sleep(wait)
        try:
            data = await response.read()
        finally:
            response.release()
        if method not in READ_METHODS:
            for observe in self.write_observers:
                observe(method, path, body)
        return _json_object(data) if data else {}

    @contextlib.asynccontextmanager
    async def stream(
        self,
        path: str,
        *,
        query: Query | None = None,
        idle_timeout: float | None = None,
        accept: str = JSON,
        keepalive: float | None = None,
    ) -> AsyncIterator[AsyncIterator[KubeObject]]:
        """A GET whose answer is one JSON document per line (a watch), decoded as it
        arrives. ``idle_timeout`` bounds the wait for each next line, not the stream;
        ``accept`` can ask for another representation (e.g. PartialObjectMetadata);
        ``keepalive`` turns on TCP keepalive probes after that many idle seconds, so the
        kernel notices a peer that vanished without closing the connection (a NAT or
        load balancer that dropped it)."""
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.timeout, sock_read=idle_timeout
        )
        response = await self._send(
            method="GET",
            path=path,
            query=query,
            body=None,
            content_type=JSON,
            timeout=timeout,
            accept=accept,
        )
        if keepalive is not None:
            _keep_alive(response, keepalive)
        try:
            yield _json_lines(response)
        finally:
            response.release()

    async def get(self, path: str, *, query: Query | None = None) -> KubeObject:
        return await self.request("GET", path, query=query)

    async def create(self, path: str, body: KubeObject) -> KubeObject:
        return await self.request("POST", path, body=body)

    async def apply(
        self, path: str, body: KubeObject, *, field_manager: str, force: bool = False
    ) -> KubeObject:
        """Server-side apply of ``body`` at the object's own ``path``."""
        query: dict[str, str | bool] = {"fieldManager": field_manager, "force": force}
        return await self.request("PATCH", path, query=query, body=body, content_type=APPLY_PATCH)

    async def delete(self, path: str, *, query: Query | None = None) -> KubeObject:
        return await self.request("DELETE", path, query=query)


def _keep_alive(response: aiohttp.ClientResponse, idle: float) -> None:
    connection = response.connection
    transport = connection.transport if connection is not None else None
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    interval = max(1, round(idle / KEEPALIVE_PROBES))
    for option, value in (
        ("TCP_KEEPIDLE", max(1, round(idle))),
        ("TCP_KEEPINTVL", interval),
        ("TCP_KEEPCNT", KEEPALIVE_PROBES),
    ):
        if hasattr(socket, option):  # Linux names; other systems keep their defaults
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


async def _json_lines(response: aiohttp.ClientResponse) -> AsyncIterator[KubeObject]:
    async for line in response.content:
        if line.strip():
            yield _json_object(line)


def _json_object(data: bytes) -> KubeObject:
    """The API server answers JSON requests with objects; anything else is a broken
    answer, reported as such rather than handed on."""
    document = codec.loads(data)
    if not isinstance(document, dict):
        raise ValueError(f"the API server answered with JSON that is not an object: {data!r:.200}")
    return document
