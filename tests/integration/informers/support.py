"""Shared by the informer integration tests: random churn of labelled ConfigMaps, a record
of what handlers were told, the server's truth to compare with, and a TCP proxy that can
hold back or freeze an informer's connections to the API server."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from ome.client import AlreadyExists, ApiError, Client, NotFound
from ome.informers import (
    Backoff,
    DeletedFinalStateUnknown,
    ReflectorOptions,
    SharedInformer,
    SharedInformerFactory,
    object_key,
)
from tests.integration.helpers import eventually

# Retries within a second or two, so recoveries show up quickly.
QUICK = ReflectorOptions(backoff=lambda: Backoff(initial=0.1, cap=1.0))
# What a request may raise while the API server is away.
RETRYABLE = (aiohttp.ClientError, OSError, TimeoutError)


def labelled() -> str:
    """A label selector (and the label) unique to one test."""
    return f"ome.test/informer={secrets.token_hex(4)}"


def configmaps_path(namespace: str, name: str | None = None) -> str:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    return f"{path}/{name}" if name else path


async def create_namespaces(client: Client, count: int) -> list[str]:
    names = [f"ome-inf-{secrets.token_hex(4)}" for _ in range(count)]
    for name in names:
        await client.create("/api/v1/namespaces", {"metadata": {"name": name}})
    return names


async def delete_namespaces(client: Client, names: Sequence[str]) -> None:
    for name in names:
        with contextlib.suppress(ApiError, *RETRYABLE):
            await client.delete(f"/api/v1/namespaces/{name}")


class Churn:
    """Random creates, updates and deletes of ConfigMaps carrying ``label``, spread over
    ``namespaces`` by concurrent writers, each owning its own names (no two writers race
    on one object). A write that fails for want of a server is retried until it lands,
    so the churn outlives an API server outage."""

    def __init__(
        self, client: Client, namespaces: Sequence[str], label: str, workers: int = 8
    ) -> None:
        self.client = client
        self.namespaces = list(namespaces)
        self.label = label
        self.workers = workers
        self.done = 0
        self._rngs = [random.Random(w) for w in range(workers)]
        self._live: list[list[tuple[str, str]]] = [[] for _ in range(workers)]
        self._made = [0] * workers

    async def run(self, operations: int) -> None:
        share, extra = divmod(operations, self.workers)
        await asyncio.gather(*(self._writer(w, share + (w < extra)) for w in range(self.workers)))

    async def _writer(self, worker: int, operations: int) -> None:
        rng, live = self._rngs[worker], self._live[worker]
        for _ in range(operations):
            choice = rng.random()
            if not live or choice < 0.45:
                self._made[worker] += 1
                target = (rng.choice(self.namespaces), f"cm-{worker}-{self._made[worker]}")
                await self._write("POST", configmaps_path(target[0]), self.body(target[1]))
                live.append(target)
            elif choice < 0.8:
                namespace, name = rng.choice(live)
                body = {"data": {"step": str(self.done)}}
                await self._write("PATCH", configmaps_path(namespace, name), body)
            else:
                namespace, name = live.pop(rng.randrange(len(live)))
                await self._write("DELETE", configmaps_path(namespace, name))
            self.done += 1

    async def _write(self, method: str, path: str, body: Any = None) -> None:
        content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
        while True:
            try:
                await self.client.request(method, path, body=body, content_type=content_type)
                return
            except (AlreadyExists, NotFound):
                return  # an earlier attempt landed before its answer was lost
            except ApiError as err:
                if err.status < 500 and err.status != 429:
                    raise
            except RETRYABLE:
                pass
            await asyncio.sleep(0.1)

    def body(self, name: str) -> dict[str, Any]:
        key, value = self.label.split("=")
        return {"metadata": {"name": name, "labels": {key: value}}, "data": {"step": "0"}}


async def server_state(client: Client, label: str) -> dict[str, str]:
    """key -> resourceVersion of every labelled ConfigMap, read from the server."""
    listing = await client.get("/api/v1/configmaps", query={"labelSelector": label})
    return {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
        for o in listing["items"]
    }


def cache_state(informer: SharedInformer) -> dict[str, str]:
    return {object_key(o): o["metadata"]["resourceVersion"] for o in informer.store.list()}


@dataclass
class Delivered:
    """The last thing handlers were told about each key: ("live", resourceVersion),
    ("deleted", "") or ("tombstone", "")."""

    last: dict[str, tuple[str, str]] = field(default_factory=dict)
    tombstones: set[str] = field(default_factory=set)

    def on_add(self, obj: dict[str, Any]) -> None:
        self.last[_key(obj)] = ("live", obj["metadata"]["resourceVersion"])

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.on_add(new)

    def on_delete(self, obj: dict[str, Any] | DeletedFinalStateUnknown) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self.last[obj.key] = ("tombstone", "")
            self.tombstones.add(obj.key)
        else:
            self.last[_key(obj)] = ("deleted", "")

    def handlers(self) -> dict[str, Any]:
        return {"on_add": self.on_add, "on_update": self.on_update, "on_delete": self.on_delete}

    def live(self) -> dict[str, str]:
        return {key: rv for key, (state, rv) in self.last.items() if state == "live"}

    def mismatches(self, server: dict[str, str]) -> list[str]:
        """Keys whose last delivered state is not the server's final one."""
        differing = set(self.live().items()) ^ set(server.items())
        return sorted({key for key, _ in differing})


def watch_labelled(
    client: Client, label: str, options: ReflectorOptions = QUICK
) -> tuple[SharedInformerFactory, SharedInformer, Delivered]:
    """A factory with one informer on the ConfigMaps carrying ``label``, across all
    namespaces, and a record of what its handler is told."""
    factory = SharedInformerFactory(client, options=options)
    informer = factory.informer("", "v1", "configmaps", label_selector=label)
    delivered = Delivered()
    informer.add_event_handler(**delivered.handlers())
    return factory, informer, delivered


def _key(obj: dict[str, Any]) -> str:
    return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"


class TcpProxy:
    """A loopback TCP proxy in front of the API server (TLS passes through untouched).

    ``hold()`` cuts every connection and refuses new ones until ``release()``: a watch
    held back. ``freeze()`` stops forwarding on the connections open now but keeps them
    open: a half-open connection, silent in both directions. New connections work.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.held = False
        self._server: asyncio.Server | None = None
        # each direction of each connection: its task -> (go-ahead, where it writes)
        self._pumps: dict[asyncio.Task[None], tuple[asyncio.Event, asyncio.StreamWriter]] = {}

    async def __aenter__(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self._cut()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        await self._server.wait_closed()

    def kubeconfig(self, source: Path, destination: Path) -> Path:
        """A copy of ``source`` that reaches the server through this proxy."""
        document = yaml.safe_load(source.read_text())
        for cluster in document["clusters"]:
            cluster["cluster"]["server"] = f"https://127.0.0.1:{self.port}"
        destination.write_text(yaml.safe_dump(document))
        return destination

    def hold(self) -> None:
        self.held = True
        self._cut()

    def release(self) -> None:
        self.held = False

    def freeze(self) -> None:
        for flowing, _ in self._pumps.values():
            flowing.clear()

    @property
    def connections(self) -> int:
        return len(self._pumps) // 2

    def _cut(self) -> None:
        for pump, (_, sink) in list(self._pumps.items()):
            sink.transport.abort()
            pump.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.held:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        flowing = asyncio.Event()
        flowing.set()
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            pump = asyncio.create_task(_pump(source, sink, flowing))
            self._pumps[pump] = (flowing, sink)
            pump.add_done_callback(self._pump_ended)

    def _pump_ended(self, pump: asyncio.Task[None]) -> None:
        self._pumps.pop(pump, None)


async def _pump(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, flowing: asyncio.Event
) -> None:
    try:
        while data := await source.read(65536):
            await flowing.wait()
            sink.write(data)
            await sink.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        sink.transport.abort()


async def until(check: Callable[[], bool], timeout: float) -> None:
    """``eventually`` for a plain predicate."""

    async def holds() -> bool:
        return check()

    await eventually(holds, timeout)


@contextlib.asynccontextmanager
async def running(informer_factory: Any) -> AsyncIterator[None]:
    """Start a factory and always stop it."""
    await informer_factory.start()
    try:
        yield
    finally:
        await informer_factory.stop()
