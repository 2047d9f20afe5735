"""Leader election on a coordination.k8s.io/v1 Lease, as client-go does it, with two
deliberate differences: expiry is judged only on the local monotonic clock, and every API
call is bounded by the time left before the renew deadline.

Safety rests on one rule: a lease record (holder, renew time …) that has not changed for
its ``leaseDurationSeconds``, measured from when *this* process first saw it, is expired.
Remote timestamps are never compared with the local clock, so clock skew between nodes
does not matter. A leader stops leading when it could not renew for ``renew_deadline``,
which is shorter than ``lease_duration``: the difference is the time the old leader has
to stop before anyone else may take over.

State (all touched only from the event loop):
    _observed        the lease spec last read or written, and its resourceVersion
    _observed_at     monotonic time when that spec was first seen in its current form
    _renewed_at      monotonic time of this process's last successful acquire or renew
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from ome.client import ApiError, Client, Conflict, NotFound

JITTER_FACTOR = 1.2
# How long after a lease's local expiry a follower tries to take it.
EXPIRY_SLACK = 0.05
T = TypeVar("T")
log = structlog.get_logger("ome.leaderelection")


class LeaderElectionLost(RuntimeError):
    """The lease could not be renewed within the renew deadline."""


@dataclass(frozen=True)
class LeaderElectionConfig:
    """Who competes for which Lease, and how fast. Defaults are controller-runtime's."""

    name: str
    namespace: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = False

    def __post_init__(self) -> None:
        if not self.name or not self.namespace:
            raise ValueError("leader election needs a lease name and namespace")
        if not self.identity:
            raise ValueError("leader election needs a non-empty identity")
        if min(self.lease_duration, self.renew_deadline, self.retry_period) <= 0:
            raise ValueError("lease_duration, renew_deadline and retry_period must be > 0")
        if self.lease_duration <= self.renew_deadline:
            raise ValueError(
                f"lease_duration ({self.lease_duration}s) must be greater than "
                f"renew_deadline ({self.renew_deadline}s)"
            )
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            raise ValueError(
                f"renew_deadline ({self.renew_deadline}s) must be greater than "
                f"{JITTER_FACTOR} x retry_period ({self.retry_period}s)"
            )

    @property
    def path(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{self.name}"


def micro_time(now: datetime.datetime) -> str:
    """Kubernetes MicroTime: RFC 3339 with microseconds, in UTC."""
    return now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Campaigns for the lease, runs ``lead`` while holding it, and renews it.

    ``run()`` returns what ``lead`` returns when it finishes by itself, raises
    :class:`LeaderElectionLost` when a renewal fails past the deadline (``lead`` is
    cancelled first), and releases the lease on cancellation if configured to.
    """

    def __init__(
        self,
        client: Client,
        config: LeaderElectionConfig,
        *,
        on_new_leader: Callable[[str], None] | None = None,
        on_leading_changed: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self.client = client
        self.config = config
        self._on_new_leader = on_new_leader
        self._on_leading_changed = on_leading_changed
        self._clock = clock
        self._wall_clock = wall_clock
        self._observed: dict[str, Any] | None = None
        self._observed_version = ""
        self._observed_at = 0.0
        self._renewed_at: float | None = None
        self._leader = ""

    # -- what others may ask -------------------------------------------------------

    @property
    def leader(self) -> str:
        """The holder this process last observed ('' when none)."""
        return self._leader

    def is_leading(self) -> bool:
        """True only while the last renewal is younger than the renew deadline, judged on
        the local clock: a process that was paused never believes it still leads."""
        return (
            self._renewed_at is not None
            and self._clock() - self._renewed_at < self.config.renew_deadline
        )

    def health(self) -> str | None:
        """None when healthy; otherwise why (a leader whose renewals have stalled)."""
        if self._renewed_at is None:
            return None
        stalled = self._clock() - self._renewed_at
        if stalled >= self.config.renew_deadline:
            return f"lease {self.config.name} not renewed for {stalled:.1f}s"
        return None

    # -- the campaign --------------------------------------------------------------

    async def run(self, lead: Callable[[], Awaitable[T]]) -> T:
        await self._acquire()
        self._set_leading(True)
        work: asyncio.Task[T] = asyncio.ensure_future(lead())
        renewing = asyncio.ensure_future(self._renew_until_lost())
        try:
            done, _ = await asyncio.wait({work, renewing}, return_when=asyncio.FIRST_COMPLETED)
            if work in done:
                return work.result()
            await _cancel(work)
            raise LeaderElectionLost(
                f"lost lease {self.config.namespace}/{self.config.name}: "
                f"not renewed within {self.config.renew_deadline}s"
            )
        finally:
            await _cancel(work)
            await _cancel(renewing)
            if self.config.release_on_cancel and self.is_leading():
                await self._release()
            self._renewed_at = None
            self._set_leading(False)

    async def _acquire(self) -> None:
        """Try every retry period (with jitter); and, thanks to a watch on the Lease that
        records each renewal the moment it happens, at once when the holder releases it
        or exactly when it expires — so a handover takes one round trip, and a crashed
        leader is replaced one lease duration after its last renewal."""
        log.info("waiting for the lease", lease=self.config.name, identity=self.config.identity)
        changed = asyncio.Event()
        watcher = asyncio.ensure_future(self._watch_lease(changed))
        try:
            while not await self._attempt(self.config.renew_deadline):
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._next_attempt_in()):
                        await changed.wait()
        finally:
            await _cancel(watcher)
        log.info("acquired the lease", lease=self.config.name, identity=self.config.identity)

    def _next_attempt_in(self) -> float:
        period = self.config.retry_period
        wait = random.uniform(period, period * (1 + JITTER_FACTOR))
        if self._observed is not None:
            duration = float(self._observed.get("leaseDurationSeconds") or 0)
            expires_in = self._observed_at + duration - self._clock()
            wait = min(wait, max(expires_in, 0.0) + EXPIRY_SLACK)
        return wait

    async def _watch_lease(self, changed: asyncio.Event) -> None:
        collection = self.config.path.rsplit("/", 1)[0]
        query: dict[str, str | bool] = {
            "watch": True,
            "fieldSelector": f"metadata.name={self.config.name}",
        }
        while True:
            try:
                async with self.client.stream(collection, query=query) as events:
                    async for event in events:
                        lease = event.get("object") or {}
                        if event.get("type") == "DELETED":
                            changed.set()
                        elif event.get("type") in ("ADDED", "MODIFIED"):
                            self._observe(
                                lease.get("spec") or {}, lease["metadata"]["resourceVersion"]
                            )
                            if not (lease.get("spec") or {}).get("holderIdentity"):
                                changed.set()  # released: take it now
            except (ApiError, OSError, TimeoutError, KeyError) as err:
                log.debug("lease watch ended", lease=self.config.name, error=repr(err))
            await asyncio.sleep(self.config.retry_period)

    async def _renew_until_lost(self) -> None:
        """Renew every retry period; lost once the last renewal is older than the renew
        deadline, the moment :meth:`is_leading` turns False and writes are fenced. Counted
        from the last renewal, not from the attempt: a process paused past the deadline
        (SIGSTOP, a frozen VM) gives up as soon as it runs again, instead of trying for
        another whole deadline while its controllers fail every write."""
        while True:
            await asyncio.sleep(self.config.retry_period)
            while not await self._attempt(self._renewal_left()):
                remaining = self._renewal_left()
                if remaining <= 0:
                    log.error("failed to renew the lease", lease=self.config.name)
                    return
                await asyncio.sleep(min(self.config.retry_period, remaining))

    def _renewal_left(self) -> float:
        """Seconds until the renew deadline, counted from the last successful renewal."""
        if self._renewed_at is None:
            return 0.0
        return self._renewed_at + self.config.renew_deadline - self._clock()

    async def _attempt(self, budget: float) -> bool:
        """One try_acquire_or_renew, bounded by ``budget`` seconds; errors count as 'no'."""
        if budget <= 0:
            return False
        try:
            async with asyncio.timeout(budget):
                return await self._try_acquire_or_renew()
        except (TimeoutError, ApiError, OSError) as err:
            log.warning("lease request failed", lease=self.config.name, error=repr(err))
            return False

    def _observed_valid(self, now: float) -> bool:
        assert self._observed is not None
        duration = float(self._observed.get("leaseDurationSeconds") or 0)
        return self._observed_at + duration > now

    async def _try_acquire_or_renew(self) -> bool:
        now = micro_time(self._wall_clock())
        me = self.config.identity
        if (
            self._observed is not None
            and self._observed.get("holderIdentity") == me
            and self._observed_valid(self._clock())
        ):
            renewed = {**self._observed, "renewTime": now}
            with contextlib.suppress(Conflict):
                await self._write(renewed, self._observed_version)
                return True
        desired: dict[str, Any] = {
            "holderIdentity": me,
            "leaseDurationSeconds": round(self.config.lease_duration),
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": 0,
        }
        try:
            current = await self.client.get(self.config.path)
        except NotFound:
            try:
                await self._write(desired, None)
            except Conflict:
                return False
            return True
        self._observe(current.get("spec") or {}, current["metadata"]["resourceVersion"])
        assert self._observed is not None
        holder = self._observed.get("holderIdentity") or ""
        if holder and holder != me and self._observed_valid(self._clock()):
            return False
        transitions = int(self._observed.get("leaseTransitions") or 0)
        if holder == me:
            desired["acquireTime"] = self._observed.get("acquireTime") or now
            desired["leaseTransitions"] = transitions
        else:
            desired["leaseTransitions"] = transitions + 1
        try:
            await self._write(desired, self._observed_version)
        except Conflict:
            return False
        return True

    def _observe(self, spec: dict[str, Any], version: str) -> None:
        if spec != self._observed:
            self._observed = spec
            self._observed_at = self._clock()
            holder = str(spec.get("holderIdentity") or "")
            if holder != self._leader:
                self._leader = holder
                if self._on_new_leader is not None:
                    self._on_new_leader(holder)
        self._observed_version = version

    async def _write(self, spec: dict[str, Any], version: str | None) -> None:
        """Create (no version) or replace the lease; a replace carries the version read,
        so a concurrent writer makes it fail with Conflict instead of overwriting."""
        metadata: dict[str, Any] = {"name": self.config.name, "namespace": self.config.namespace}
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata}
        body["spec"] = spec
        started = self._clock()
        if version is None:
            stored = await self.client.create(self.config.path.rsplit("/", 1)[0], body)
        else:
            metadata["resourceVersion"] = version
            stored = await self.client.request("PUT", self.config.path, body=body)
        self._observe(stored["spec"], stored["metadata"]["resourceVersion"])
        # Count the lease from when the request was sent: the server may have stored it
        # at any moment after that, so this is the conservative choice.
        if spec.get("holderIdentity") == self.config.identity:
            self._renewed_at = started

    async def _release(self) -> None:
        if self._observed is None:
            return
        released = {
            **self._observed,
            "holderIdentity": "",
            "leaseDurationSeconds": 1,
            "renewTime": micro_time(self._wall_clock()),
        }
        try:
            async with asyncio.timeout(self.config.renew_deadline):
                await self._write(released, self._observed_version)
            log.info("released the lease", lease=self.config.name)
        except (TimeoutError, ApiError, OSError) as err:
            log.warning("could not release the lease", lease=self.config.name, error=repr(err))

    def _set_leading(self, leading: bool) -> None:
        if self._on_leading_changed is not None:
            self._on_leading_changed(leading)


async def _cancel(task: asyncio.Future[Any]) -> None:
    if task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
