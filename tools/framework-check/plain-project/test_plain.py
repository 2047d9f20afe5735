"""Tests of a project that has the framework installed without pytest-asyncio."""

from ome.workqueue import Queue


def test_runs_without_the_plugin() -> None:
    queue: Queue[str] = Queue()
    queue.add("a")
    assert len(queue) == 1
