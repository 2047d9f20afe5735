"""Delivery to handlers: each has its own buffer and task, in order, isolated from the
others' slowness and failures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ome.informers import DeletedFinalStateUnknown, Registration
from ome.informers.handlers import YIELD_EVERY
from tests.unit.informers.fakes import eventually


def registration(removed: list[Registration] | None = None, **handlers: Any) -> Registration:
    def on_remove(reg: Registration, task: asyncio.Task[None] | None) -> None:
        if removed is not None:
            removed.append(reg)

    return Registration(
        handlers.get("on_add"),
        handlers.get("on_update"),
        handlers.get("on_delete"),
        resync_period=None,
        on_remove=on_remove,
        name="test",
    )


def obj(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}}


async def test_a_slow_handler_delays_only_itself() -> None:
    gate = asyncio.Event()
    slow_seen: list[str] = []
    fast_seen: list[str] = []

    async def slow(o: dict[str, Any]) -> None:
        slow_seen.append(o["metadata"]["name"])
        await gate.wait()

    slow_reg = registration(on_add=slow)
    fast_reg = registration(on_add=lambda o: fast_seen.append(o["metadata"]["name"]))
    for reg in (slow_reg, fast_reg):
        reg.start()
        for name in ("a", "b", "c"):
            reg.add(obj(name))
    await eventually(lambda: fast_seen == ["a", "b", "c"])
    assert slow_seen == ["a"]
    assert slow_reg.pending == 2
    gate.set()
    await eventually(lambda: slow_seen == ["a", "b", "c"])
    for reg in (slow_reg, fast_reg):
        reg.stop()


async def test_events_arrive_in_order_and_a_failing_handler_keeps_receiving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[tuple[str, Any]] = []

    def on_add(o: dict[str, Any]) -> None:
        if o["metadata"]["name"] == "bad":
            raise RuntimeError("handler bug")
        seen.append(("add", o["metadata"]["name"]))

    async def on_update(old: dict[str, Any], new: dict[str, Any]) -> None:
        seen.append(("update", new["metadata"]["name"]))

    def on_delete(o: Any) -> None:
        seen.append(("delete", o))

    reg = registration(on_add=on_add, on_update=on_update, on_delete=on_delete)
    tombstone = DeletedFinalStateUnknown("ns/c", obj("c"))
    reg.add(obj("bad"))
    reg.add(obj("a"))
    reg.update(obj("a"), obj("a"))
    reg.delete(tombstone)
    reg.start()
    await eventually(lambda: len(seen) == 3)
    assert seen == [("add", "a"), ("update", "a"), ("delete", tombstone)]
    reg.stop()


async def test_has_synced_once_everything_before_the_marker_was_handled() -> None:
    gate = asyncio.Event()

    async def on_add(o: dict[str, Any]) -> None:
        await gate.wait()

    reg = registration(on_add=on_add)
    reg.add(obj("a"))
    reg.mark_synced()
    reg.start()
    await asyncio.sleep(0.01)
    assert not reg.has_synced
    gate.set()
    await eventually(lambda: reg.has_synced)
    reg.stop()


async def test_remove_stops_delivery_and_tells_the_informer() -> None:
    removed: list[Registration] = []
    seen: list[str] = []
    reg = registration(removed, on_add=lambda o: seen.append(o["metadata"]["name"]))
    reg.start()
    reg.remove()
    reg.remove()
    reg.add(obj("late"))
    await asyncio.sleep(0.01)
    assert removed == [reg]
    assert seen == []


async def test_plain_handlers_give_the_loop_back_during_long_runs() -> None:
    delivered = 0
    progress_when_other_task_ran: list[int] = []

    def on_add(o: dict[str, Any]) -> None:
        nonlocal delivered
        delivered += 1

    async def other() -> None:
        await asyncio.sleep(0)
        progress_when_other_task_ran.append(delivered)

    reg = registration(on_add=on_add)
    for i in range(YIELD_EVERY * 5):
        reg.add(obj(str(i)))
    reg.start()
    await asyncio.gather(other(), eventually(lambda: delivered == YIELD_EVERY * 5))
    assert progress_when_other_task_ran[0] < YIELD_EVERY * 5
    reg.stop()
