"""The manager: one client, one shared informer factory, one metrics registry, and the
controllers and other runnables that share them.

Start order follows controller-runtime: HTTP servers (metrics, probes), then the caches
(the process is ready once they have synced), then always-on runnables, then leader
election, and finally the leader-only runnables (controllers by default). Stop runs in
reverse and is bounded by ``graceful_shutdown_timeout``; the lease is released, if so
configured, only after the leader-only work has stopped.

When leadership is lost the leader-only work stops at once and ``run`` raises
:class:`LeaderElectionLost`: the process should exit non-zero and start again as a
follower. While not leading, every write through the manager's client is refused, so a
process that was paused past its lease never writes as a stale leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import signal
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field

import structlog
from prometheus_client import CollectorRegistry

from ome.client import ApiError, Client
from ome.informers import SharedInformer, SharedInformerFactory
from ome.runtime.controller import Controller
from ome.runtime.events import EventRecorder
from ome.runtime.http import HttpServer, Probes, add_metrics_route
from ome.runtime.kinds import GVK
from ome.runtime.leaderelection import LeaderElectionConfig, LeaderElectionLost, LeaderElector
from ome.runtime.metrics import RuntimeMetrics
from ome.runtime.writeloop import DEFAULT_THRESHOLD, DEFAULT_WINDOW, WriteLoopGuard
from ome.workqueue.prometheus import PrometheusMetricsProvider

Runnable = Callable[[], Coroutine[object, object, None]]
INTERPRETER_GC_THRESHOLDS = (700, 10, 10)
YOUNG_GC_THRESHOLD = 10_000
log = structlog.get_logger("ome.manager")


@dataclass
class ManagerOptions:
    namespace: str | None = None
    metrics_address: str = ":8080"
    probe_address: str = ":8081"
    leader_election: LeaderElectionConfig | None = None
    graceful_shutdown_timeout: float = 30.0
    cache_sync_timeout: float = 120.0
    handle_signals: bool = True
    identity: str = field(default_factory=socket.gethostname)
    # A controller repeating this many writes of one object within this many seconds is
    # reported as a write loop (ome.runtime.writeloop).
    write_loop_threshold: int = DEFAULT_THRESHOLD
    write_loop_window: float = DEFAULT_WINDOW
    # Kinds whose caches keep objects as JSON, decoded on each read
    # (ome.informers.CompactStore): many objects, read a few at a time.
    compact_kinds: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.graceful_shutdown_timeout < 0:
            raise ValueError("graceful_shutdown_timeout must be >= 0")
        if self.cache_sync_timeout <= 0:
            raise ValueError("cache_sync_timeout must be > 0")


def _space_young_collections() -> None:
    """Collect the youngest generation every 10,000 net allocations instead of 700,
    unless the process set its own thresholds. A reconcile's decoded events, answers and
    rendered objects outlive 700 allocations, so the young collection promotes them and
    the older generations fill with garbage that full collections then walk: 1.1 of an
    operator's 13 CPU seconds in the InferenceService benchmark, 0.15 with 10,000."""
    if gc.get_threshold() == INTERPRETER_GC_THRESHOLDS:
        gc.set_threshold(YOUNG_GC_THRESHOLD, *INTERPRETER_GC_THRESHOLDS[1:])


class Manager:
    def __init__(self, client: Client, options: ManagerOptions | None = None) -> None:
        self.options = options or ManagerOptions()
        self.registry = CollectorRegistry()
        self.metrics = RuntimeMetrics(self.registry)
        self.workqueue_metrics = PrometheusMetricsProvider(self.registry)
        self.probes = Probes()
        self._lease_client = client
        self.elector: LeaderElector | None = None
        election = self.options.leader_election
        if election is not None:
            self.elector = LeaderElector(
                client,
                election,
                on_leading_changed=lambda leading: self.metrics.leader.labels(election.name).set(
                    int(leading)
                ),
            )
            self.metrics.leader.labels(election.name).set(0)
            self.probes.add_healthz_check("leader-election", self.elector.health)
        # Controllers write through a fenced client: no write unless this process leads.
        self.client = Client(
            client.configuration,
            timeout=client.timeout,
            write_guard=self.elector.is_leading if self.elector is not None else None,
        )
        self.write_loops = WriteLoopGuard(
            self.metrics.write_loops,
            threshold=self.options.write_loop_threshold,
            window=self.options.write_loop_window,
        )
        self.client.write_observers.append(self.write_loops.observe)
        self.factory = SharedInformerFactory(
            self.client, namespace=self.options.namespace, compact_stores=self.options.compact_kinds
        )
        self.controllers: list[Controller] = []
        self._always_on: list[Runnable] = []
        self._leader_only: list[Runnable] = []
        self._recorders: list[EventRecorder] = []
        self._synced = False
        self._discover: set[GVK] = set()
        self.probes.add_healthz_check("ping", lambda: None)
        self.probes.add_readyz_check(
            "informers-synced", lambda: None if self._synced else "caches not synced yet"
        )
        self.metrics_server = self._server(self.options.metrics_address, metrics=True)
        self.probe_server = self._server(self.options.probe_address, metrics=False)

    def _server(self, address: str, *, metrics: bool) -> HttpServer:
        if metrics:
            return HttpServer(address, functools.partial(add_metrics_route, registry=self.registry))
        return HttpServer(address, self.probes.add_routes)

    # -- registration ----------------------------------------------------------------

    def informer(
        self,
        gvk: GVK,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        metadata_only: bool = False,
        namespace: str | None = None,
    ) -> SharedInformer:
        """The shared informer of ``gvk``: one per kind, selectors, namespace and
        representation, however many controllers ask (see
        :meth:`ome.informers.SharedInformerFactory.informer`)."""
        return self.factory.informer(
            gvk.group,
            gvk.version,
            gvk.kind,
            label_selector=label_selector,
            field_selector=field_selector,
            metadata_only=metadata_only,
            namespace=namespace,
        )

    def scope(self, gvk: GVK) -> Callable[[], bool]:
        """Whether ``gvk`` is namespaced, as discovery says. The manager reads discovery
        for it before any informer starts, so before any event; while the server does
        not serve the kind, it is taken as namespaced."""
        self._discover.add(gvk)

        def namespaced() -> bool:
            info = self.client.mapper.cached(*gvk)
            return info is None or info.namespaced

        return namespaced

    def add_controller(self, controller: Controller) -> None:
        if any(c.name == controller.name for c in self.controllers):
            raise ValueError(f"a controller named {controller.name!r} is already registered")
        self.controllers.append(controller)

    def add_runnable(self, runnable: Runnable, *, needs_leader: bool = True) -> None:
        (self._leader_only if needs_leader else self._always_on).append(runnable)

    def event_recorder(self, controller: str) -> EventRecorder:
        recorder = EventRecorder(self.client, controller, self.options.identity)
        self._recorders.append(recorder)
        return recorder

    # -- running ---------------------------------------------------------------------

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT (or cancellation); raises LeaderElectionLost."""
        stop = asyncio.Event()
        if self.options.handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
        always_on: list[asyncio.Task[None]] = []
        leading: asyncio.Task[None] | None = None
        try:
            await self.metrics_server.start()
            await self.probe_server.start()
            await self._read_discovery()
            await self.factory.start()
            await self.factory.wait_for_cache_sync(timeout=self.options.cache_sync_timeout)
            self._synced = True
            # The synced caches are long-lived: keep full collections from walking them.
            gc.freeze()
            _space_young_collections()
            always_on = [asyncio.create_task(r()) for r in self._always_on]
            leading = asyncio.create_task(self._campaign())
            stopping = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({leading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if leading in done:
                leading.result()  # raises LeaderElectionLost or a runnable's failure
        finally:
            await self._shutdown(leading, always_on)
            if self.options.handle_signals:
                loop = asyncio.get_running_loop()
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(signum)

    async def _read_discovery(self) -> None:
        for gvk in self._discover:
            try:
                await self.client.mapper.resource_for(*gvk)
            except ApiError as err:  # its informer reports it, and finds it once served
                log.warning("kind not discovered", kind=str(gvk), error=str(err))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Manager]:
        """Run in the background for the body of an ``async with`` (an operator embedded
        in a program that does other work, or a test); stopped on exit."""
        task = asyncio.create_task(self.run())
        try:
            yield self
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _campaign(self) -> None:
        if self.elector is None:
            await self._lead()
        else:
            await self.elector.run(self._lead)

    async def _lead(self) -> None:
        """The leader-only work: controllers and runnables, until cancelled."""
        tasks: list[asyncio.Task[None]] = [asyncio.create_task(r()) for r in self._leader_only]
        try:
            for controller in self.controllers:
                controller.cache_sync_timeout = self.options.cache_sync_timeout
                await controller.start()
            await asyncio.gather(*tasks)
            await asyncio.Event().wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(c.stop() for c in self.controllers), return_exceptions=True)

    async def _shutdown(
        self, leading: asyncio.Task[None] | None, always_on: list[asyncio.Task[None]]
    ) -> None:
        timeout = self.options.graceful_shutdown_timeout
        try:
            async with asyncio.timeout(timeout or None):
                await _cancel_all([t for t in (leading,) if t is not None])
                await _cancel_all(always_on)
                for recorder in self._recorders:
                    await recorder.flush()
        except TimeoutError:
            log.warning("graceful shutdown timed out", timeout=timeout)
        await self.factory.stop()
        await self.probe_server.stop()
        await self.metrics_server.stop()
        await self.client.close()


async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, LeaderElectionLost):
            await task
