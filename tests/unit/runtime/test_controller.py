"""The controller's worker loop with a fake event source: what each reconcile outcome
does next, and that bad reconcilers never take the worker pool down."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pydantic
import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from ome.client import AlreadyExists, Conflict
from ome.runtime import Controller, Request, Result, TerminalError
from ome.runtime.handlers import EnqueueRequestForObject
from ome.runtime.metrics import RuntimeMetrics
from ome.runtime.predicates import generation_changed


class FakeRegistration:
    has_synced = True

    def remove(self) -> None:
        self.has_synced = False


class FakeSource:
    """Stands in for an informer: the test calls the registered handlers directly."""

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[..., None]] = {}

    def add_event_handler(
        self,
        on_add: Callable[[Any], None] | None = None,
        on_update: Callable[[Any, Any], None] | None = None,
        on_delete: Callable[[Any], None] | None = None,
    ) -> FakeRegistration:
        self.handlers = {"add": on_add, "update": on_update, "delete": on_delete}  # type: ignore[dict-item]
        return FakeRegistration()


def obj(name: str, generation: int = 1) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "generation": generation,
            "resourceVersion": str(generation),
        }
    }


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def run_controller(
    reconcile: Callable[[Request], Awaitable[Any]], **options: Any
) -> tuple[Controller, FakeSource, RuntimeMetrics]:
    metrics = RuntimeMetrics(CollectorRegistry())
    controller = Controller("test", reconcile, metrics=metrics, **options)
    source = FakeSource()
    controller.watch(source, EnqueueRequestForObject(), [generation_changed()])
    await controller.start()
    return controller, source, metrics


def count(metrics: RuntimeMetrics, result: str) -> float:
    return metrics.reconcile_total.labels("test", result)._value.get()  # type: ignore[attr-defined]


async def test_outcomes_and_their_follow_up() -> None:
    calls: Counter[str] = Counter()

    async def reconcile(request: Request) -> Any:
        calls[request.name] += 1
        if request.name == "flaky" and calls["flaky"] < 3:
            raise RuntimeError("try again")
        if request.name == "later" and calls["later"] == 1:
            return Result(requeue_after=0.05)
        if request.name == "bad-input":
            raise TerminalError("spec.model is missing")
        return None

    controller, source, metrics = await run_controller(reconcile)
    try:
        for name in ("ok", "flaky", "later", "bad-input"):
            source.handlers["add"](obj(name))
        await until(lambda: calls["flaky"] == 3 and calls["later"] == 2)
        await asyncio.sleep(0.1)  # a terminal error must not come back
        assert calls["bad-input"] == 1
        assert calls["ok"] == 1
        assert count(metrics, "requeue_after") == 1
        assert count(metrics, "error") == 3  # two flaky failures and the terminal one
        assert controller.queue.num_requeues(Request("ns", "flaky")) == 0  # forgotten
    finally:
        await controller.stop()


async def test_garbage_hangs_and_unparseable_objects_do_not_kill_the_pool() -> None:
    class Model(pydantic.BaseModel):
        replicas: int

    calls: Counter[str] = Counter()

    async def reconcile(request: Request) -> Any:
        calls[request.name] += 1
        if request.name == "garbage":
            return "not a Result"
        if request.name == "hang":
            await asyncio.sleep(3600)
        if request.name == "unparseable":
            Model.model_validate({"replicas": "many"})
        return None

    controller, source, _ = await run_controller(
        reconcile, max_concurrent_reconciles=2, reconcile_timeout=0.2
    )
    try:
        for name in ("garbage", "hang", "unparseable"):
            source.handlers["add"](obj(name))
        await until(lambda: calls["garbage"] >= 2 and calls["hang"] >= 2)
        source.handlers["add"](obj("healthy"))
        await until(lambda: calls["healthy"] == 1)
        assert calls["unparseable"] == 1  # logged and skipped, not retried
    finally:
        await controller.stop()


async def test_predicates_filter_and_updates_are_deduplicated() -> None:
    seen: list[str] = []
    gate = asyncio.Event()

    async def reconcile(request: Request) -> None:
        seen.append(request.name)
        await gate.wait()

    controller, source, _ = await run_controller(reconcile)
    try:
        source.handlers["add"](obj("a"))
        await until(lambda: seen == ["a"])
        source.handlers["update"](obj("a", 1), obj("a", 1))  # same generation: filtered
        for generation in (2, 3, 4):  # three changes while "a" is in flight ...
            source.handlers["update"](obj("a", generation - 1), obj("a", generation))
        gate.set()
        await until(lambda: len(seen) == 2)  # ... give exactly one more run
        await asyncio.sleep(0.05)
        assert seen == ["a", "a"]
    finally:
        await controller.stop()


def test_invalid_options_are_refused() -> None:
    async def reconcile(_: Request) -> None:
        return None

    with pytest.raises(ValueError, match="max_concurrent_reconciles must be >= 1"):
        Controller("c", reconcile, max_concurrent_reconciles=0)
    with pytest.raises(ValueError, match="needs a name"):
        Controller("", reconcile)
    with pytest.raises(ValueError, match="reconcile_timeout must be > 0"):
        Controller("c", reconcile, reconcile_timeout=-1)


async def test_a_stale_write_is_retried_quietly_and_already_exists_is_an_error() -> None:
    calls: Counter[str] = Counter()
    errors = {
        "stale": Conflict(409, "Conflict", "the object has been modified"),
        "exists": AlreadyExists(409, "AlreadyExists", 'pods "exists" already exists'),
    }

    async def reconcile(request: Request) -> None:
        calls[request.name] += 1
        if calls[request.name] == 1:
            raise errors[request.name]

    with capture_logs() as logs:
        controller, source, metrics = await run_controller(reconcile)
        try:
            for name in errors:
                source.handlers["add"](obj(name))
            await until(lambda: calls["stale"] == 2 and calls["exists"] == 2)
            assert count(metrics, "error") == 2
        finally:
            await controller.stop()
    (quiet,) = [e for e in logs if e["log_level"] == "debug" and "will retry" in e["event"]]
    assert "has been modified" in quiet["error"]
    assert "exc_info" not in quiet
    (loud,) = [e for e in logs if e["log_level"] == "error"]
    assert loud["exc_info"]
    assert loud["event"] == "reconcile failed; will retry"
