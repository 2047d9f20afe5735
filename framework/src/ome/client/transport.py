"""HTTP/1.1 to the API server over kept-alive connections, parsed by httptools (llhttp).

A Kubernetes client sends a few fixed headers and a JSON body to one server; a general
HTTP client spends most of its time per request on what it never needs here (URL
objects, header multidicts, cookies, tracing hooks): against a real API server
(``bench/transport.py``), a server-side apply through this client costs about 220 µs of
CPU, the same request through aiohttp's client about 370 µs, TLS and JSON included.

One connection carries one exchange at a time, as client-go's HTTP/1.1 transport does; a
watch holds its connection for as long as it streams. A request that fails on a reused
connection before any byte of its answer arrived (the server closed the connection while
it was idle) is sent again on a new one if its method is idempotent.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import cast
from urllib.parse import SplitResult, unquote, urlsplit

import httptools

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# A stream stops reading from its socket while this much is decoded but unread.
STREAM_BUFFER = 2**21
# Unanswered TCP keepalive probes after which the kernel declares a connection dead.
KEEPALIVE_PROBES = 3


class TransportError(ConnectionError):
    """The connection failed or closed before the whole answer arrived, or what arrived
    was not an HTTP answer."""


class IdleTimeout(TimeoutError):
    """A stream sent nothing for its idle timeout."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    """Header names lower-cased; repeated headers joined with ", "."""
    body: bytes


@dataclass(frozen=True)
class Endpoint:
    """Where the server is and how to reach it."""

    url: str
    """``https://host:port`` (or ``http://``)."""
    ssl: ssl.SSLContext | None = None
    server_hostname: str | None = None
    """The name the server's certificate must carry, when not the URL's host."""
    proxy: str | None = None
    """An ``http://`` or ``https://`` proxy: tunnelled through with CONNECT for an
    ``https`` server, sent absolute-form requests for an ``http`` one."""


class _Connection(asyncio.Protocol):
    """One connection and the answer being read on it. The parser calls back as bytes
    arrive; the exchange waits on ``_head`` (status and headers) and ``_done`` (the end of
    the body); a stream takes body bytes as lines instead of keeping them whole."""

    def __init__(self, forget: Callable[[_Connection], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._forget = forget
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.reused = False
        self.keep_alive = False
        self.received = False
        self._tunnel = False
        self._status = 0
        self._head: asyncio.Future[None] | None = None
        self._done: asyncio.Future[None] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._lines: Lines | None = None

    # -- the exchange --------------------------------------------------------------------

    def send(self, data: bytes, *, tunnel: bool = False) -> None:
        if self.transport is None or not self.usable:
            raise TransportError("the connection closed before the request was sent")
        self._head = self._loop.create_future()
        self._done = self._loop.create_future()
        self._headers, self._body, self._lines = {}, [], None
        self.received = False
        self._tunnel = tunnel
        self.transport.write(data)

    async def head(self) -> tuple[int, Mapping[str, str]]:
        assert self._head is not None
        await self._head
        return self._status, self._headers

    async def body(self) -> bytes:
        assert self._done is not None
        await self._done
        return b"".join(self._body)

    async def answer(self) -> Answer:
        """The whole answer: one wait, where the head and then the body would be two."""
        body = await self.body()
        return Answer(self._status, self._headers, body)

    def stream_lines(self) -> Lines:
        """The rest of the body, line by line (anything already read comes first)."""
        assert self.transport is not None
        assert self._done is not None
        self._lines = Lines(self.transport, self._done)
        for chunk in self._body:
            self._lines.feed(chunk)
        self._body = []
        return self._lines

    @property
    def answered(self) -> bool:
        """The whole answer arrived and the connection can carry another exchange."""
        done = self._done
        return done is not None and done.done() and not done.cancelled() and not done.exception()

    @property
    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, though they are that.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._done is None or self._done.done():
            self._fail(TransportError("the server sent bytes nobody asked for"))
            return
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as err:
            self._fail(TransportError(f"malformed HTTP answer: {err}"))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._forget(self)
        lost = TransportError("the server closed the connection before the answer was complete")
        lost.__cause__ = exc
        self._fail(lost)

    def _fail(self, err: Exception) -> None:
        for waiter in (self._head, self._done):
            if waiter is not None and not waiter.done():
                waiter.set_exception(err)
                waiter.exception()  # the exchange may be gone: never "unretrieved"
        if self._lines is not None:
            self._lines.wake()
        self.close()

    # -- httptools callbacks -------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self._headers[key] = f"{self._headers[key]}, {text}" if key in self._headers else text

    def on_headers_complete(self) -> None:
        assert self._head is not None
        self._status = self._parser.get_status_code()
        if not self._head.done():  # not if the exchange was cancelled meanwhile
            self._head.set_result(None)
        if self._tunnel:  # a CONNECT answer has no body: what follows is the tunnel's
            self._parser = httptools.HttpResponseParser(self)
            self.on_message_complete()

    def on_body(self, body: bytes) -> None:
        if self._lines is not None:
            self._lines.feed(body)
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        assert self._done is not None
        self.keep_alive = self._tunnel or self._parser.should_keep_alive()
        self.reused = not self._tunnel
        if not self._done.done():
            self._done.set_result(None)
        if self._lines is not None:
            self._lines.wake()


class Lines:
    """Body bytes cut into lines for the reader, with reading paused while too much waits."""

    def __init__(self, transport: asyncio.Transport, done: asyncio.Future[None]) -> None:
        self._transport = transport
        self._done = done
        self._lines: collections.deque[bytes] = collections.deque()
        self._partial = b""
        self._buffered = 0
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None

    def feed(self, chunk: bytes) -> None:
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        for line in complete:
            self._lines.append(line)
            self._buffered += len(line)
        if self._buffered > STREAM_BUFFER and not self._paused:
            self._paused = True
            self._transport.pause_reading()
        self.wake()

    def wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next(self, idle_timeout: float | None) -> bytes | None:
        """The next line; None once the body ended."""
        while not self._lines:
            if self._done.done():
                self._done.result()  # a broken connection raises here
                return self._take_partial()
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            # A timer of the loop's own, not asyncio.timeout: a watch waits once per event.
            timer = None
            if idle_timeout is not None:
                timer = loop.call_later(idle_timeout, _time_out, waiter, idle_timeout)
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
        line = self._lines.popleft()
        self._buffered -= len(line)
        if self._paused and self._buffered < STREAM_BUFFER // 2:
            self._paused = False
            self._transport.resume_reading()
        return line

    def _take_partial(self) -> bytes | None:
        """The body's last line when it did not end with a newline."""
        line, self._partial = self._partial, b""
        return line or None


class ConnectionPool:
    """Connections to one server: at most ``limit`` in use at once, idle ones kept for the
    next request."""

    def __init__(self, endpoint: Endpoint, limit: int) -> None:
        self.endpoint = endpoint
        url = urlsplit(endpoint.url)
        self._https = url.scheme == "https"
        self._host = url.hostname or "localhost"
        self._port = url.port or (443 if self._https else 80)
        self.authority = url.netloc.rpartition("@")[2]
        self._proxy = urlsplit(endpoint.proxy) if endpoint.proxy else None
        if self._proxy is not None and self._proxy.scheme not in ("http", "https"):
            raise ValueError(f"proxy {endpoint.proxy!r}: only http:// and https:// proxies work")
        self.proxy_authorization = _basic_credentials(self._proxy) if self._proxy else None
        # Named in errors without its credentials.
        self._proxy_name = self._proxy.netloc.rpartition("@")[2] if self._proxy else ""
        self.absolute_form = self._proxy is not None and not self._https
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()

    def close(self) -> None:
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()

    async def exchange(self, request: bytes, *, method: str) -> Answer:
        """Send ``request`` (head and body, as bytes) and read its whole answer."""
        retry = method in IDEMPOTENT_METHODS
        while True:
            async with self._slots:
                connection = await self._acquire()
                reused = connection.reused
                try:
                    connection.send(request)
                    answer = await connection.answer()
                except TransportError:
                    connection.close()
                    if not (retry and reused and not connection.received):
                        raise
                    retry = False
                    continue
                except BaseException:
                    connection.close()  # cancelled or timed out mid-answer: unusable
                    raise
                self._put_back(connection)
                return answer

    @contextlib.asynccontextmanager
    async def stream(
        self,
        request: bytes,
        *,
        connect_timeout: float | None,
        idle_timeout: float | None,
        keepalive: float | None = None,
    ) -> AsyncIterator[tuple[Answer, Lines | None]]:
        """Send ``request`` and give its answer's head with the body's lines; an answer
        that is not 2xx comes whole instead (the error's body), without lines.
        ``connect_timeout`` bounds getting a connection, ``idle_timeout`` each wait for
        the server after that."""
        async with self._slots:
            async with asyncio.timeout(connect_timeout):
                connection = await self._acquire()
            try:
                connection.send(request)
                async with _idle_bound(idle_timeout):
                    status, headers = await connection.head()
                    streaming = 200 <= status < 300
                    body = b"" if streaming else await connection.body()
                lines = None
                if streaming:
                    if keepalive is not None:
                        keep_alive(connection.transport, keepalive)
                    lines = connection.stream_lines()
                yield Answer(status, headers, body), lines
            finally:
                # Reused only if the server ended the answer: a stream left early is not.
                if connection.answered:
                    self._put_back(connection)
                else:
                    connection.close()

    def _put_back(self, connection: _Connection) -> None:
        if connection.keep_alive and connection.usable and connection in self._open:
            self._idle.append(connection)
        else:
            connection.close()

    async def _acquire(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable:
                return connection
        connection = await self._connect()
        self._open.add(connection)
        return connection

    def _new_connection(self) -> _Connection:
        return _Connection(self._open.discard)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        server_hostname = self.endpoint.server_hostname or self._host
        if self._proxy is None:
            _, connection = await loop.create_connection(
                self._new_connection,
                self._host,
                self._port,
                ssl=self.endpoint.ssl if self._https else None,
                server_hostname=server_hostname if self._https else None,
            )
            return connection
        proxy_tls = ssl.create_default_context() if self._proxy.scheme == "https" else None
        _, connection = await loop.create_connection(
            self._new_connection,
            self._proxy.hostname or "localhost",
            self._proxy.port or (443 if proxy_tls else 80),
            ssl=proxy_tls,
            server_hostname=self._proxy.hostname if proxy_tls else None,
        )
        if self._https:
            await self._tunnel(connection, server_hostname)
        return connection

    async def _tunnel(self, connection: _Connection, server_hostname: str) -> None:
        target = f"{self._host}:{self._port}"
        head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        if self.proxy_authorization:
            head += f"Proxy-Authorization: {self.proxy_authorization}\r\n"
        try:
            connection.send(f"{head}\r\n".encode("latin-1"), tunnel=True)
            status, _ = await connection.head()
            if status != 200:
                raise TransportError(f"proxy {self._proxy_name} refused the tunnel: {status}")
            assert connection.transport is not None
            tls = await asyncio.get_running_loop().start_tls(
                connection.transport,
                connection,
                self.endpoint.ssl or ssl.create_default_context(),
                server_hostname=server_hostname,
            )
        except BaseException:
            connection.close()
            raise
        connection.transport = cast(asyncio.Transport, tls)


def keep_alive(transport: asyncio.BaseTransport | None, idle: float) -> None:
    """Have the kernel probe the peer after ``idle`` seconds of silence, so a peer that
    vanished without closing the connection (a NAT or load balancer that dropped it) is
    noticed."""
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


def _idle(idle_timeout: float | None) -> IdleTimeout:
    return IdleTimeout(f"nothing from the server for {idle_timeout} s")


def _time_out(waiter: asyncio.Future[None], idle_timeout: float) -> None:
    if not waiter.done():
        waiter.set_exception(_idle(idle_timeout))


@contextlib.asynccontextmanager
async def _idle_bound(idle_timeout: float | None) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(idle_timeout):
            yield
    except TimeoutError:
        raise _idle(idle_timeout) from None


def _basic_credentials(url: SplitResult) -> str | None:
    if url.username is None:
        return None
    pair = f"{unquote(url.username)}:{unquote(url.password or '')}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")
