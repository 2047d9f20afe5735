"""The REST client: JSON requests to any API path over the framework's HTTP/1.1 transport
(:mod:`ome.client.transport`), with the TLS settings and credentials of a
:class:`~ome.client.configuration.Configuration`. Discovery and typed resources are built
on top of it (:mod:`ome.client.client`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import Self
from urllib.parse import quote, urlencode, urlsplit

from ome.client import codec
from ome.client.configuration import Configuration
from ome.client.errors import TooManyRequests, error_from_response
from ome.client.media import APPLY_PATCH, JSON
from ome.client.objects import KubeObject
from ome.client.transport import Answer, ConnectionPool, Endpoint, Lines

DEFAULT_TIMEOUT = 30.0
USER_AGENT = "ome-framework"
# Throttled (429) requests were not processed, so any of them may be sent again.
THROTTLE_RETRIES = 3
READ_METHODS = frozenset({"GET", "HEAD"})
# What a path may hold unescaped: RFC 3986's path characters, and "%" of escapes made before.
PATH_SAFE = "/%:@!$&'()*+,;=-._~"

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
        # The proxy variables are read once, as client-go reads them once per process.
        proxy = configuration.proxy or _environment_proxy(configuration.host)
        server = urlsplit(configuration.host)
        self._pool = ConnectionPool(
            Endpoint(
                url=configuration.host,
                ssl=configuration.ssl_context() if server.scheme == "https" else None,
                server_hostname=configuration.tls_server_name,
                proxy=proxy,
            ),
            configuration.connection_pool_maxsize,
        )
        # A server URL may carry a path (an API server behind a proxy at a prefix).
        prefix = server.path.rstrip("/")
        self._target_prefix = (
            f"{server.scheme}://{self._pool.authority}{prefix}"
            if self._pool.absolute_form
            else prefix
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
        self._pool.close()

    async def _encode(
        self,
        method: str,
        path: str,
        *,
        query: Query | None,
        body: RequestBody,
        content_type: str,
        accept: str,
    ) -> bytes:
        """The request's bytes, head and body; refused here if the write guard says no."""
        if method not in READ_METHODS and self.write_guard is not None and not self.write_guard():
            raise WriteFenced(f"{method} {path} refused: this process is not the leader")
        target = self._target_prefix + quote(path, safe=PATH_SAFE)
        if pairs := _query_pairs(query):
            target += "?" + urlencode(pairs)
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {self._pool.authority}\r\n"
            f"Accept: {accept}\r\nUser-Agent: {USER_AGENT}\r\n"
        )
        if authorization := await self.configuration.authorization():
            head += f"Authorization: {_header_value(authorization)}\r\n"
        if self._pool.absolute_form and self._pool.proxy_authorization:
            head += f"Proxy-Authorization: {self._pool.proxy_authorization}\r\n"
        if body is None:
            return f"{head}\r\n".encode("latin-1")
        data = codec.dumps(body)
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(data)}\r\n\r\n"
        return head.encode("latin-1") + data

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
            request = await self._encode(
                method, path, query=query, body=body, content_type=content_type, accept=accept
            )
            async with asyncio.timeout(max(deadline - time.monotonic(), 0.001)):
                answer = await self._pool.exchange(request, method=method)
            try:
                _raise_for_status(answer)
                break
            except TooManyRequests as err:
                wait = err.retry_after or 1.0
                if attempt == THROTTLE_RETRIES or time.monotonic() + wait >= deadline:
                    raise
                await asyncio.sleep(wait)
        if method not in READ_METHODS:
            for observe in self.write_observers:
                observe(method, path, body)
        return _json_object(answer.body) if answer.body else {}

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
        request = await self._encode(
            "GET", path, query=query, body=None, content_type=JSON, accept=accept
        )
        async with self._pool.stream(
            request, connect_timeout=self.timeout, idle_timeout=idle_timeout, keepalive=keepalive
        ) as (answer, lines):
            _raise_for_status(answer)
            assert lines is not None
            yield _json_lines(lines, idle_timeout)

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


def _raise_for_status(answer: Answer) -> None:
    if not 200 <= answer.status < 300:
        raise error_from_response(answer.status, answer.body, answer.headers)


def _header_value(value: str) -> str:
    """A credential as a header's value; one holding a line break would end the header
    and start another, so it is refused."""
    if "\r" in value or "\n" in value:
        raise ValueError("the Authorization credential holds a line break")
    return value


async def _json_lines(lines: Lines, idle_timeout: float | None) -> AsyncIterator[KubeObject]:
    while (line := await lines.next(idle_timeout)) is not None:
        if line.strip():
            yield _json_object(line)


def _json_object(data: bytes) -> KubeObject:
    """The API server answers JSON requests with objects; anything else is a broken
    answer, reported as such rather than handed on."""
    document = codec.loads(data)
    if not isinstance(document, dict):
        raise ValueError(f"the API server answered with JSON that is not an object: {data!r:.200}")
    return document
