"""The churn: creates, updates (model, runtime, replicas) and deletes of InferenceServices,
as a user would make them through the admission webhooks, and a record of what each
service's last write asks for (:class:`~chaos.invariants.Desired`, None once deleted)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import replace
from typing import Any

import aiohttp

from chaos.invariants import Desired
from ome.client import GVK, AlreadyExists, ApiError, Client, NotFound

INFERENCESERVICE = GVK("ome.io", "v1beta1", "InferenceService")
RETRYABLE = (aiohttp.ClientError, OSError, TimeoutError)
# What a write meets while the API server, etcd or every webhook replica is away: retried.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def service_body(desired: Desired) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": desired.name, "namespace": desired.namespace},
        "spec": {
            "model": {"name": desired.model, "kind": "ClusterBaseModel"},
            "runtime": {"name": desired.runtime, "kind": "ClusterServingRuntime"},
            "engine": {"minReplicas": desired.replicas, "maxReplicas": desired.replicas},
        },
    }


def spec_patch(desired: Desired) -> dict[str, Any]:
    return {"spec": service_body(desired)["spec"]}


class Driver:
    """``services`` slots spread over ``namespaces``; each step picks a slot at random and
    creates its service (if absent), changes one thing of it, or deletes it."""

    def __init__(
        self,
        client: Client,
        namespaces: list[str],
        *,
        services: int,
        models: list[str],
        runtimes: list[str],
        seed: int = 0,
    ) -> None:
        self.client = client
        self.namespaces = namespaces
        self.models = models
        self.runtimes = runtimes
        self.rng = random.Random(seed)
        self.slots = [(namespaces[i % len(namespaces)], f"svc-{i:03d}") for i in range(services)]
        self.desired: dict[str, Desired | None] = {}
        self.written: dict[str, float] = {}
        """key -> monotonic time of its last write."""
        self.uids: dict[str, str] = {}
        """key -> UID of the live service the driver created (user-owned objects)."""
        self.writes = 0
        self.refused: list[str] = []
        """Writes of valid specs the API server or a webhook refused."""

    def pick(self) -> Desired:
        return Desired(
            namespace="",
            name="",
            model=self.rng.choice(self.models),
            runtime=self.rng.choice(self.runtimes),
            replicas=self.rng.choice((1, 2)),
        )

    async def create_all(self) -> None:
        for namespace, name in self.slots:
            await self._create(replace(self.pick(), namespace=namespace, name=name))

    async def step(self) -> None:
        try:
            await self._step()
        except ApiError as err:
            self.refused.append(str(err))

    async def _step(self) -> None:
        namespace, name = self.rng.choice(self.slots)
        key = f"{namespace}/{name}"
        current = self.desired.get(key)
        if current is None:
            await self._create(replace(self.pick(), namespace=namespace, name=name))
            return
        choice = self.rng.random()
        if choice < 0.2:
            await self._delete(current)
        elif choice < 0.5:
            await self._update(replace(current, model=_other(self.rng, self.models, current.model)))
        elif choice < 0.8:
            runtime = _other(self.rng, self.runtimes, current.runtime)
            await self._update(replace(current, runtime=runtime))
        else:
            await self._update(replace(current, replicas=3 - current.replicas))

    async def run(self, rate: float, until: float) -> None:
        """Steps at ``rate`` per second until the monotonic time ``until``."""
        while time.monotonic() < until:
            started = time.monotonic()
            await self.step()
            await asyncio.sleep(max(0.0, 1.0 / rate - (time.monotonic() - started)))

    async def _create(self, desired: Desired) -> None:
        resource = await self.client.resource(INFERENCESERVICE)
        while True:
            try:
                created = await _retrying(lambda: resource.create(service_body(desired)))
                break
            except AlreadyExists:
                try:
                    existing = await _retrying(
                        lambda: resource.get(desired.name, desired.namespace)
                    )
                except NotFound:
                    continue  # the previous incarnation has just gone
                if not existing["metadata"].get("deletionTimestamp"):
                    # an earlier attempt landed and its answer was lost: it is ours
                    created = existing
                    break
                await asyncio.sleep(0.5)  # the previous incarnation is being finalized
        self._record(desired)
        self.uids[desired.key] = created["metadata"]["uid"]

    async def _update(self, desired: Desired) -> None:
        resource = await self.client.resource(INFERENCESERVICE)
        await _retrying(
            lambda: resource.patch(desired.name, spec_patch(desired), desired.namespace)
        )
        self._record(desired)

    async def _delete(self, current: Desired) -> None:
        resource = await self.client.resource(INFERENCESERVICE)
        with contextlib.suppress(NotFound):
            await _retrying(lambda: resource.delete(current.name, current.namespace))
        self.desired[current.key] = None
        self.written[current.key] = time.monotonic()
        self.uids.pop(current.key, None)
        self.writes += 1

    def _record(self, desired: Desired) -> None:
        self.desired[desired.key] = desired
        self.written[desired.key] = time.monotonic()
        self.writes += 1


def _other(rng: random.Random, choices: list[str], current: str) -> str:
    return rng.choice([c for c in choices if c != current] or choices)


async def _retrying(call: Any) -> Any:
    """Until the write lands or is refused for a reason a retry will not change. A write
    whose answer was lost may have landed: AlreadyExists and NotFound say so to the
    caller."""
    while True:
        try:
            return await call()
        except (AlreadyExists, NotFound):
            raise
        except ApiError as err:
            if err.status not in RETRY_STATUSES:
                raise
        except RETRYABLE:
            pass
        await asyncio.sleep(0.5)
