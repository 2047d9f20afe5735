"""TCP proxies between the operator's replicas and the API server, and in front of their
webhook servers. TLS passes through untouched.

:class:`FaultyProxy` is one replica's network: it can cut every connection (``cut``),
refuse new ones (``hold``), drop some (``drop``), delay every chunk (``delay``) and
black-hole traffic
(``blackhole``: connections stay open and silent, new ones are accepted and never
answered; whatever was sent meanwhile is delivered when the partition heals, as TCP
retransmission would). :class:`Balancer` spreads the API server's webhook calls over
the replicas that are in service, like a Service's endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import Callable, Iterable

CHUNK = 65536


class FaultyProxy:
    """``127.0.0.1:port`` forwards to ``127.0.0.1:target_port`` unless told otherwise."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.held = False
        self.latency = 0.0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pumps: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self) -> FaultyProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self._flowing.set()
        self.cut()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def cut(self) -> None:
        """Reset every open connection (watch streams included)."""
        for pump, sink in list(self._pumps.items()):
            sink.transport.abort()
            pump.cancel()

    def drop(self, share: float, rng: random.Random) -> None:
        """Reset about a ``share`` of the open connections, chosen at random."""
        pumps = list(self._pumps.items())
        for pump, sink in rng.sample(pumps, round(len(pumps) * share)):
            # one direction's end aborted ends the other's read, and with it the connection
            sink.transport.abort()
            pump.cancel()

    def hold(self) -> None:
        """Cut everything and refuse new connections until :meth:`heal`."""
        self.held = True
        self.cut()

    def blackhole(self) -> None:
        """Silence in both directions, on open and new connections, until :meth:`heal`."""
        self._flowing.clear()

    def delay(self, seconds: float) -> None:
        self.latency = seconds

    def heal(self) -> None:
        self.held = False
        self.latency = 0.0
        self._flowing.set()

    @property
    def connections(self) -> int:
        return len(self._pumps) // 2

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.held:
            writer.transport.abort()
            return
        await self._flowing.wait()  # a black hole accepts, then never answers
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            pump = asyncio.create_task(self._pump(source, sink))
            self._pumps[pump] = sink
            pump.add_done_callback(self._ended)

    def _ended(self, pump: asyncio.Task[None]) -> None:
        self._pumps.pop(pump, None)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(CHUNK):
                await self._flowing.wait()
                if self.latency:
                    await asyncio.sleep(self.latency)
                sink.write(data)
                await sink.drain()
            await self._flowing.wait()  # an end of stream crosses a partition once healed
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            sink.transport.abort()


class Balancer:
    """Round-robin over the backends ``in_service()`` names (ports), trying the next on a
    refused connection; no backend: the connection is reset."""

    def __init__(self, in_service: Callable[[], Iterable[int]]) -> None:
        self.in_service = in_service
        self.port = 0
        self._turn = itertools.count()
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(self) -> Balancer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    def cut(self) -> None:
        """Reset every open connection, as the end of the backends' pods would: the API
        server's kept-alive connections must not outlive a fault."""
        for pump in list(self._pumps):
            pump.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        backends = list(self.in_service())
        start = next(self._turn)
        for offset in range(len(backends)):
            port = backends[(start + offset) % len(backends)]
            with contextlib.suppress(OSError):
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
                break
        else:
            writer.transport.abort()
            return
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            pump = asyncio.create_task(_pump(source, sink))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(CHUNK):
            sink.write(data)
            await sink.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        sink.transport.abort()
