from __future__ import annotations

import asyncio
import threading

import pytest

from ome.agent.download.threads import Cancelled, check, run_cancellable
from ome.agent.progress import SpeedMeter


async def test_the_result_and_errors_of_the_work_come_back() -> None:
    assert await run_cancellable(lambda cancel: threading.current_thread().name) == "ome-agent-work"

    def fail(_: threading.Event) -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await run_cancellable(fail)


async def test_cancelling_the_caller_stops_the_work_and_waits_for_it() -> None:
    started = threading.Event()
    stopped = threading.Event()

    def work(cancel: threading.Event) -> None:
        started.set()
        try:
            while True:
                check(cancel)
                cancel.wait(0.01)
        finally:
            stopped.set()

    task = asyncio.ensure_future(run_cancellable(work))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stopped.is_set()  # the thread ended before the cancellation went through


async def test_work_that_cannot_stop_is_left_after_the_grace_period() -> None:
    release = threading.Event()
    started = threading.Event()

    def stuck(_: threading.Event) -> None:
        started.set()
        release.wait(10)

    task = asyncio.ensure_future(run_cancellable(stuck, grace=0.05))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()


def test_check() -> None:
    cancel = threading.Event()
    check(cancel)
    cancel.set()
    with pytest.raises(Cancelled):
        check(cancel)


def test_speed_is_measured_between_samples() -> None:
    now = [0.0]
    meter = SpeedMeter(clock=lambda: now[0])
    assert meter.sample(0) == 0.0
    now[0] = 2.0
    assert meter.sample(100) == 50.0
    assert meter.sample(500) == 50.0  # no time passed: the last speed stands
    now[0] = 3.0
    assert meter.sample(500) == 0.0  # stalled
    now[0] = 4.0
    assert meter.sample(0) == 0.0  # a restart from zero is no negative speed
