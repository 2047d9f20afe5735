"""The event loop an operator process runs on: uvloop's where installed, unless turned off."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from ome.runtime import loop


def test_uvloop_runs_the_process_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(loop.LOOP_ENV, raising=False)

    async def kind_of_loop() -> type[asyncio.AbstractEventLoop]:
        return type(asyncio.get_running_loop())

    assert loop.loop_factory() is uvloop.new_event_loop
    assert loop.run(kind_of_loop()) is uvloop.Loop


def test_asyncio_runs_it_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(loop.LOOP_ENV, "asyncio")
    assert loop.loop_factory() is None


def test_an_unknown_loop_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(loop.LOOP_ENV, "trio")
    with pytest.raises(ValueError, match="OME_EVENT_LOOP='trio': one of uvloop, asyncio"):
        loop.loop_factory()
