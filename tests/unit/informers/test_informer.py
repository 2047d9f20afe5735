"""A shared informer over the in-memory API server: sync, events, relists with
tombstones, re-watches, failures, late handlers and resync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
import pytest_asyncio

from ome.client import Client, IdleTimeout, TransportError
from ome.client.errors import ApiError, Gone, TooManyRequests
from ome.informers import (
    NAMESPACE_INDEX,
    Backoff,
    CacheSyncError,
    CompactStore,
    ReflectorOptions,
    SharedInformer,
    SharedInformerFactory,
    WatchBudgetExceeded,
)
from ome.informers import reflector as reflector_module
from ome.informers import shared_informer as shared_informer_module
from ome.informers.listwatch import METADATA, METADATA_LIST
from tests.unit.informers.fakes import FakeApiServer, Recorder, api_error, eventually

FAST = ReflectorOptions(backoff=lambda: Backoff(initial=0.001, cap=0.005))
LIST_ONLY = ReflectorOptions(watch_list=False, backoff=FAST.backoff)
# Retries far enough apart for a test to act between two of them.
PATIENT = ReflectorOptions(backoff=lambda: Backoff(initial=0.05, cap=0.05))


@pytest_asyncio.fixture(loop_scope="session")
async def server() -> FakeApiServer:
    fake = FakeApiServer()
    fake.create("a", x="1")
    fake.create("b", x="1")
    return fake


def make_factory(server: FakeApiServer, **kwargs: Any) -> SharedInformerFactory:
    kwargs.setdefault("options", FAST)
    return SharedInformerFactory(cast(Client, server), **kwargs)


async def started(
    server: FakeApiServer, options: ReflectorOptions = FAST, **kwargs: Any
) -> AsyncIterator[tuple[SharedInformer, Recorder]]:
    factory = make_factory(server, options=options, **kwargs)
    informer = factory.informer("", "v1", "configmaps")
    recorder = Recorder()
    informer.add_event_handler(**recorder.handlers())
    await factory.start()
    await factory.wait_for_cache_sync(timeout=5)
    try:
        yield informer, recorder
    finally:
        await factory.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def watched(server: FakeApiServer) -> AsyncIterator[tuple[SharedInformer, Recorder]]:
    async for pair in started(server):
        yield pair


@pytest_asyncio.fixture(loop_scope="session")
async def listed(server: FakeApiServer) -> AsyncIterator[tuple[SharedInformer, Recorder]]:
    async for pair in started(server, LIST_ONLY):
        yield pair


@pytest_asyncio.fixture(loop_scope="session")
async def compacted(server: FakeApiServer) -> AsyncIterator[tuple[SharedInformer, Recorder]]:
    async for pair in started(server, LIST_ONLY, compact_stores={"configmaps"}):
        yield pair


def names(informer: SharedInformer) -> list[str]:
    return sorted(o["metadata"]["name"] for o in informer.store.list())


async def test_watch_list_syncs_without_a_list(
    server: FakeApiServer, watched: tuple[SharedInformer, Recorder]
) -> None:
    informer, recorder = watched
    assert names(informer) == ["a", "b"]
    assert server.lists == []
    watch = server.watches[0].query
    assert watch["sendInitialEvents"] == "true"
    assert watch["resourceVersionMatch"] == "NotOlderThan"
    assert watch["allowWatchBookmarks"] == "true"
    assert 300 <= int(watch["timeoutSeconds"]) <= 600
    await eventually(lambda: len(recorder.events) == 2)
    assert sorted(recorder.events) == [("add", "a"), ("add", "b")]
    cached = informer.store.get("default/a")
    assert cached is not None
    assert "managedFields" not in cached["metadata"]
    assert (cached["apiVersion"], cached["kind"]) == ("v1", "ConfigMap")


async def test_list_syncs_in_pages_from_the_cache_then_watches_from_its_version(
    server: FakeApiServer,
) -> None:
    for i in range(3):
        server.create(f"extra-{i}")
    async for informer, _ in started(server, ReflectorOptions(page_size=2, watch_list=False)):
        assert len(informer.store) == 5
        first, *rest = server.lists
        assert first["resourceVersion"] == "0"
        assert first["limit"] == 2
        assert [q["continue"] for q in rest] == ["2", "4"]
        assert server.watches[0].query["resourceVersion"] == str(server.version)


async def test_events_reach_the_store_before_the_handlers(
    server: FakeApiServer, watched: tuple[SharedInformer, Recorder]
) -> None:
    informer, recorder = watched
    seen_in_store: list[bool] = []
    informer.add_event_handler(
        on_update=lambda old, new: seen_in_store.append(informer.store.get("default/a") is new)
    )
    server.create("c")
    server.update("a", x="2")
    server.delete("b")
    await eventually(lambda: len(recorder.events) == 5)
    assert recorder.events[2:] == [("add", "c"), ("update", "a"), ("delete", "b")]
    assert names(informer) == ["a", "c"]
    assert informer.store.get("default/a")["data"] == {"x": "2"}  # type: ignore[index]
    await eventually(lambda: seen_in_store == [True])


async def test_a_watch_that_ends_is_reopened_where_it_stopped_without_a_relist(
    server: FakeApiServer, listed: tuple[SharedInformer, Recorder]
) -> None:
    _, recorder = listed
    lists_before = len(server.lists)
    server.create("c")
    await eventually(lambda: ("add", "c") in recorder.events)
    version_seen = server.version
    server.end_watches()
    await eventually(lambda: len(server.open_watches) == 1 and len(server.watches) == 2)
    assert server.watches[1].query["resourceVersion"] == str(version_seen)
    server.create("d")
    await eventually(lambda: ("add", "d") in recorder.events)
    assert len(server.lists) == lists_before


async def test_bookmarks_move_the_resume_point(
    server: FakeApiServer, listed: tuple[SharedInformer, Recorder]
) -> None:
    server.version += 7  # other resources' writes move the version too
    server.bookmark()
    server.end_watches()
    await eventually(lambda: len(server.watches) == 2)
    assert server.watches[1].query["resourceVersion"] == str(server.version)


async def test_410_relists_and_vanished_objects_arrive_as_tombstones(
    server: FakeApiServer, listed: tuple[SharedInformer, Recorder]
) -> None:
    informer, recorder = listed
    await eventually(lambda: len(recorder.events) == 2)
    server.end_watches()
    server.delete_quietly("a")  # compacts: the re-watch gets 410 Expired
    server.update("b", x="new")
    server.compact()
    await eventually(lambda: ("tombstone", "a") in recorder.events)
    assert names(informer) == ["b"]
    assert recorder.last["a"]["metadata"]["name"] == "a"  # the last known state
    assert ("update", "b") in recorder.events
    relist = server.lists[-1]
    assert relist["resourceVersionMatch"] == "NotOlderThan"
    assert int(relist["resourceVersion"]) > 0


async def test_a_compact_store_informer_reports_what_a_plain_one_does(
    server: FakeApiServer, compacted: tuple[SharedInformer, Recorder]
) -> None:
    informer, recorder = compacted
    assert isinstance(informer.store, CompactStore)
    server.update("a", x="2")
    server.delete("b")
    await eventually(lambda: len(recorder.events) == 4)
    assert recorder.events[2:] == [("update", "a"), ("delete", "b")]
    server.end_watches()
    server.delete_quietly("a")
    server.create("c")
    server.compact()
    await eventually(lambda: ("tombstone", "a") in recorder.events)
    assert recorder.last["a"]["data"] == {"x": "2"}  # the old content, decoded
    assert names(informer) == ["c"]
    assert informer.store.by_index(NAMESPACE_INDEX, "default")[0]["metadata"]["name"] == "c"


async def test_a_list_at_an_unavailable_version_is_retried_as_a_consistent_read(
    server: FakeApiServer,
) -> None:
    too_large = ApiError(504, "Timeout", "Too large resource version: 999, current: 103")
    server.list_errors.extend([Gone(410, "Expired", "too old"), too_large])
    async for _ in started(server, LIST_ONLY):
        assert [q["resourceVersion"] for q in server.lists] == ["0", "", ""]
        # "" failing too is an ordinary failure: retried after a backoff


async def test_transient_watch_failures_rewatch_from_the_same_point(
    server: FakeApiServer, listed: tuple[SharedInformer, Recorder]
) -> None:
    informer, recorder = listed
    lists_before = len(server.lists)
    version = server.version
    server.watch_errors.extend(
        [TooManyRequests(429, "TooManyRequests", "slow down"), TransportError("connection refused")]
    )
    server.break_watches(TransportError("connection reset"))
    await eventually(lambda: len(server.open_watches) == 1 and len(server.watch_requests) == 4)
    assert {q["resourceVersion"] for q in server.watch_requests[1:]} == {str(version)}
    assert len(server.lists) == lists_before
    assert informer.failures == 3
    server.create("c")
    await eventually(lambda: ("add", "c") in recorder.events)
    assert informer.last_error is None  # cleared once a watch opened again


async def test_a_silent_watch_is_reopened(
    server: FakeApiServer, listed: tuple[SharedInformer, Recorder]
) -> None:
    server.break_watches(IdleTimeout("no data for 90 s"))
    await eventually(lambda: len(server.watches) == 2 and len(server.open_watches) == 1)
    assert len(server.lists) == 1


async def test_a_watch_closed_at_once_counts_as_a_failure(
    server: FakeApiServer,
    listed: tuple[SharedInformer, Recorder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    informer, _ = listed
    monkeypatch.setattr(reflector_module, "MIN_WATCH_DURATION", 60.0)  # however slow we are
    server.end_watches()
    await eventually(lambda: informer.failures >= 1)
    assert "without any event" in str(informer.last_error)


async def test_api_errors_on_the_watch_relist(
    server: FakeApiServer, listed: tuple[SharedInformer, Recorder]
) -> None:
    server.break_watches(api_error(403, "forbidden"))
    await eventually(lambda: len(server.lists) == 2)


async def test_a_server_refusing_watch_list_is_listed_from_then_on(
    server: FakeApiServer,
) -> None:
    server.supports_watch_list = False
    async for informer, _ in started(server):
        assert names(informer) == ["a", "b"]
        server.break_watches(Gone(410, "Expired", "too old"))
        await eventually(lambda: len(server.lists) == 2)
        initial = [q for q in server.watch_requests if q.get("sendInitialEvents")]
        assert len(initial) == 1  # not asked again


async def test_a_watch_list_cut_short_falls_back_to_a_list(server: FakeApiServer) -> None:
    server.watch_errors.append(TransportError("server disconnected"))
    async for informer, _ in started(server):
        assert names(informer) == ["a", "b"]
        assert len(server.lists) == 1


async def test_a_late_handler_gets_the_cache_as_adds(
    watched: tuple[SharedInformer, Recorder],
) -> None:
    informer, _ = watched
    late = Recorder()
    registration = informer.add_event_handler(**late.handlers())
    await eventually(lambda: registration.has_synced)
    assert sorted(late.events) == [("add", "a"), ("add", "b")]
    registration.remove()


async def test_resync_redelivers_the_cache_per_handler_period(
    server: FakeApiServer,
    watched: tuple[SharedInformer, Recorder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    informer, recorder = watched
    monkeypatch.setattr(shared_informer_module, "MIN_RESYNC_PERIOD", 0.01)
    resyncs: list[bool] = []
    registration = informer.add_event_handler(
        on_update=lambda old, new: resyncs.append(old is new), resync_period=0.02
    )
    await eventually(lambda: len(resyncs) >= 4)
    assert all(resyncs)
    assert not any(kind == "update" for kind, _ in recorder.events)  # its own period: none
    registration.remove()


async def test_metadata_only_asks_for_partial_objects(server: FakeApiServer) -> None:
    factory = make_factory(server, options=LIST_ONLY)
    informer = factory.informer("", "v1", "ConfigMap", metadata_only=True)
    await factory.start()
    await factory.wait_for_cache_sync(timeout=5)
    assert server.accepts[:2] == [METADATA_LIST, METADATA]
    cached = informer.store.get("default/a")
    assert cached is not None
    assert set(cached) == {"apiVersion", "kind", "metadata"}
    await factory.stop()


async def test_the_factory_shares_informers(server: FakeApiServer) -> None:
    factory = make_factory(server, max_watches=3)
    by_plural = factory.informer("", "v1", "configmaps", label_selector="b=2, a=1")
    assert factory.informer("", "v1", "configmaps", label_selector="a=1,b=2") is by_plural
    assert factory.informer("", "v1", "configmaps") is not by_plural
    await factory.start()
    await factory.wait_for_cache_sync(timeout=5)
    # once discovery resolved it, the kind names the same informer
    assert factory.informer("", "v1", "ConfigMap", label_selector="a=1,b=2") is by_plural
    assert len(factory.informers) == 2
    factory.informer("", "v1", "configmaps", metadata_only=True)  # third watch: started now
    await factory.wait_for_cache_sync(timeout=5)
    with pytest.raises(WatchBudgetExceeded, match="max_watches"):
        factory.informer("", "v1", "configmaps", field_selector="metadata.name=a")
    await factory.stop()


async def test_sync_wait_fails_fast_on_what_needs_a_fix_and_recovers_after(
    server: FakeApiServer,
) -> None:
    server.served = False
    factory = make_factory(server, options=PATIENT)
    informer = factory.informer("", "v1", "configmaps")
    await factory.start()
    with pytest.raises(CacheSyncError, match="does not serve 'configmaps'") as caught:
        await factory.wait_for_cache_sync(timeout=5)
    assert isinstance(caught.value.failures[informer.name], ApiError)

    # The fix lands while an attempt is on its way to failing: the next wait must not
    # count that attempt, nor the error that prompted the fix.
    server.discovery_open.clear()
    await eventually(lambda: informer.reflector.attempts == informer.failures + 1)
    waiting = asyncio.create_task(factory.wait_for_cache_sync(timeout=5))
    await asyncio.sleep(0.01)
    failures = informer.failures
    server.discovery_open.set()
    await eventually(lambda: informer.failures == failures + 1)
    server.served = True
    await waiting
    assert names(informer) == ["a", "b"]
    await factory.stop()


async def test_sync_wait_times_out_with_the_latest_error(server: FakeApiServer) -> None:
    server.list_errors.extend([api_error(500, "etcd is unhappy")] * 1000)
    server.supports_watch_list = False
    factory = make_factory(server)
    factory.informer("", "v1", "configmaps")
    await factory.start()
    with pytest.raises(CacheSyncError, match=r"not synced after 0\.2s.*etcd is unhappy"):
        await factory.wait_for_cache_sync(timeout=0.2)
    await factory.stop()
    with pytest.raises(RuntimeError, match="start the factory"):
        await factory.wait_for_cache_sync()


async def test_stop_leaves_no_task_behind(server: FakeApiServer) -> None:
    factory = make_factory(server)
    informer = factory.informer("", "v1", "configmaps")
    informer.add_event_handler(on_add=lambda o: None, resync_period=5)
    removed = informer.add_event_handler(on_add=lambda o: None)
    await factory.start()
    await factory.wait_for_cache_sync(timeout=5)
    removed.remove()
    await factory.stop()
    await asyncio.sleep(0)
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert [t for t in others if "informer" in t.get_name() or "resync" in t.get_name()] == []
