"""Polling and process checks shared by the integration tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ome.client import GVK, Client, NotFound
from ome.testing.binaries import BuildError, ensure_tool
from ome.testing.pytest_plugin import Cluster
from ome.testing.serviceaccount import account_user


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> None:
    """Poll ``check`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout:.0f}s")
        await asyncio.sleep(0.2)


async def delete_for_good(resource: Any, name: str, namespace: str | None = None) -> None:
    """Delete an object and wait until it is gone, dropping its finalizers first.

    A manager stopped at the end of a test leaves its finalizers behind; deleted with them,
    a cluster-scoped object stays terminating, and the next module that applies the same
    name gets that copy, removed under it as soon as its own manager finalizes it.
    """
    with contextlib.suppress(NotFound):
        await resource.patch(name, {"metadata": {"finalizers": None}}, namespace)
        await resource.delete(name, namespace)

    async def gone() -> bool:
        try:
            await resource.get(name, namespace)
        except NotFound:
            return True
        return False

    try:
        await eventually(gone, timeout=60)
    except AssertionError:
        left = await resource.get(name, namespace)
        raise AssertionError(f"{name} still there after 60 s: {left['metadata']}") from None


@contextlib.asynccontextmanager
async def applied(cluster: Cluster, objects: Iterable[dict[str, Any]]) -> AsyncIterator[None]:
    """Server-side apply cluster-wide fixtures as new objects; remove them for good after.

    Of documents naming the same object (upstream's catalogue has four runtimes twice)
    the last wins, as with ``kubectl apply`` of them all: settled at once, one copy's
    wait for the old object to go would see the other copy applied and never end."""
    last = {(o["apiVersion"], o["kind"], o["metadata"]["name"]): o for o in objects}
    documents = list(last.values())
    limit = asyncio.Semaphore(8)

    async def settle(admin: Client, obj: dict[str, Any], apply: bool) -> None:
        async with limit:
            resource = await admin.resource(GVK.parse(obj["apiVersion"], obj["kind"]))
            await delete_for_good(resource, obj["metadata"]["name"])
            if apply:
                await resource.apply(obj, field_manager="test", force=True)

    async with await cluster.client() as admin:
        await asyncio.gather(*(settle(admin, obj, apply=True) for obj in documents))
    try:
        yield
    finally:
        async with await cluster.client() as admin:
            await asyncio.gather(*(settle(admin, obj, apply=False) for obj in documents))


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain ``text`` (orphan checks)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if text in command and state != "Z":
            found.append(command)
    return found


@contextlib.contextmanager
def refused_nothing(cluster: Cluster, account: str) -> Iterator[None]:
    """Where the API server keeps an audit log: assert, on a clean exit, that the shipped
    RBAC refused ``account`` nothing in the meantime."""
    since = cluster.audit.position() if cluster.audit else 0
    yield
    if cluster.audit is not None:
        refused = cluster.audit.forbidden(since, account_user(account))
        assert not refused, f"the shipped RBAC refused {account}:\n" + "\n".join(refused)


class StallableClient(Client):
    """A client whose requests hang while ``stalled`` is set, like a cut-off network."""

    stalled = False

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        while self.stalled:
            await asyncio.sleep(3600)
        return await super().request(*args, **kwargs)


LOCAL_READY_LINE = "ome is running on the local control plane"
"""What ``ome run --local`` logs once its control plane and operator are up."""


async def until_running_locally(
    process: asyncio.subprocess.Process, log: Path, timeout: float
) -> None:
    """Wait for ``ome run --local`` to log that it is up; fail with its log if it exits."""

    async def running() -> bool:
        assert process.returncode is None, log.read_text()[-3000:]
        return LOCAL_READY_LINE in log.read_text()

    await eventually(running, timeout=timeout)


def built_tool(name: str) -> Path:
    """A tool built from its Go module on first use (helm, promtool); the test is skipped,
    naming why, where it cannot be built."""
    try:
        return ensure_tool(name)
    except BuildError as err:
        pytest.skip(f"{name} cannot be built here: {err}")
