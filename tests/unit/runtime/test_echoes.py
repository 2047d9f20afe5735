"""OwnWrites: the watch event carrying exactly what a controller wrote is dropped once,
also when it arrives before the write's answer; everything else passes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ome.client import Conflict
from ome.runtime import OwnWrites
from ome.runtime.kinds import GVK
from ome.runtime.predicates import HoldingPredicate, Predicate

DEPLOYMENT = GVK("apps", "v1", "Deployment")
SERVICE = GVK("", "v1", "Service")


def obj(name: str, version: str, namespace: str = "team") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": version}}


def test_the_echo_of_a_write_is_dropped_once() -> None:
    writes = OwnWrites()
    echoes = writes.not_echoes(DEPLOYMENT)
    writes.record(DEPLOYMENT, obj("engine", "7"))
    assert not echoes.create(obj("engine", "7"))
    # a relist replaying the same version afterwards is news to no one, but is passed on:
    # the memory of a write answers once
    assert echoes.update(obj("engine", "7"), obj("engine", "7"))
    assert len(writes) == 0


def test_other_versions_names_namespaces_and_kinds_pass() -> None:
    writes = OwnWrites()
    writes.record(DEPLOYMENT, obj("engine", "7"))
    deployments, services = writes.not_echoes(DEPLOYMENT), writes.not_echoes(SERVICE)
    assert deployments.update(obj("engine", "6"), obj("engine", "8"))  # someone else's
    assert deployments.create(obj("router", "7"))
    assert deployments.create(obj("engine", "7", namespace="other"))
    assert services.create(obj("engine", "7"))
    assert not deployments.update(obj("engine", "6"), obj("engine", "7"))


def test_a_newer_write_replaces_the_older_and_a_deletion_forgets() -> None:
    writes = OwnWrites()
    echoes = writes.not_echoes(DEPLOYMENT)
    writes.record(DEPLOYMENT, obj("engine", "7"))
    writes.record(DEPLOYMENT, obj("engine", "9"))
    assert echoes.update(obj("engine", "6"), obj("engine", "7"))
    assert not echoes.update(obj("engine", "7"), obj("engine", "9"))
    writes.record(DEPLOYMENT, obj("engine", "10"))
    assert echoes.delete(obj("engine", "10"))
    assert len(writes) == 0


def test_an_answer_without_a_version_is_not_remembered() -> None:
    writes = OwnWrites()
    writes.record(DEPLOYMENT, {"metadata": {"name": "engine", "namespace": "team"}})
    assert len(writes) == 0
    assert writes.not_echoes(DEPLOYMENT).create({"metadata": {"name": "engine"}})


class Watch:
    """A watch's view: every event through the predicate, as the controller binds it."""

    def __init__(self, predicate: Predicate) -> None:
        self.predicate = predicate
        self.queued: list[str] = []
        assert isinstance(predicate, HoldingPredicate)
        predicate.bind(self.created)

    def created(self, obj: dict[str, Any]) -> None:
        if self.predicate.create(obj):
            self.queued.append(obj["metadata"]["resourceVersion"])

    def updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if self.predicate.update(old, new):
            self.queued.append(new["metadata"]["resourceVersion"])


async def writing_engine(
    writes: OwnWrites, over: str, answered: str
) -> tuple[asyncio.Task[Any], asyncio.Event]:
    """A write of the engine over version ``over``, in flight until the event is set;
    it is answered with version ``answered``."""
    arrived = asyncio.Event()

    async def answer() -> dict[str, Any]:
        await arrived.wait()
        return obj("engine", answered)

    task = asyncio.create_task(writes.write(DEPLOYMENT, obj("engine", over), answer()))
    await asyncio.sleep(0)
    return task, arrived


async def test_an_echo_that_overtakes_the_answer_is_dropped() -> None:
    writes = OwnWrites()
    watch = Watch(writes.not_echoes(DEPLOYMENT))
    writing, arrived = await writing_engine(writes, "6", "7")
    watch.updated(obj("engine", "6"), obj("engine", "7"))  # the echo, before the answer
    assert watch.queued == []
    arrived.set()
    assert (await writing)["metadata"]["resourceVersion"] == "7"
    assert watch.queued == []
    assert len(writes) == 0


async def test_other_events_held_during_a_write_are_delivered_after_it() -> None:
    writes = OwnWrites()
    watch = Watch(writes.not_echoes(DEPLOYMENT))
    writing, arrived = await writing_engine(writes, "5", "7")
    watch.updated(obj("engine", "5"), obj("engine", "6"))  # someone else's, just before
    watch.created(obj("router", "6"))  # another object: not held
    assert watch.queued == ["6"]
    arrived.set()
    await writing
    assert watch.queued == ["6", "6"]
    watch.updated(obj("engine", "6"), obj("engine", "7"))  # the echo, after the answer
    assert watch.queued == ["6", "6"]


async def test_a_failed_write_delivers_what_it_held() -> None:
    writes = OwnWrites()
    watch = Watch(writes.not_echoes(DEPLOYMENT))

    async def refused() -> dict[str, Any]:
        await asyncio.sleep(0)
        watch.updated(obj("engine", "5"), obj("engine", "6"))
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        await writes.write(DEPLOYMENT, obj("engine", "5"), refused())
    assert watch.queued == ["6"]
    assert len(writes) == 0


async def test_a_write_refused_as_stale_lets_the_echo_of_an_earlier_one_through() -> None:
    """The cache is behind (a watch broke): a write over its version is refused, and the
    retry waits for the cache to catch up. After a relist the event that brings it there
    is the echo of the controller's own earlier write, which must wake it this time."""
    writes = OwnWrites()
    watch = Watch(writes.not_echoes(DEPLOYMENT))
    writes.record(DEPLOYMENT, obj("engine", "9"))  # an earlier write's answer

    async def stale() -> dict[str, Any]:
        raise Conflict(409, "Conflict", "the object has been modified")

    with pytest.raises(Conflict):
        await writes.write(DEPLOYMENT, obj("engine", "7"), stale())
    watch.updated(obj("engine", "7"), obj("engine", "9"))  # the relist's view of it
    assert watch.queued == ["9"]
