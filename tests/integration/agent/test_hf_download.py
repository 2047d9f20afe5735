"""hf:// downloads of the real MiniLM model from a Hub on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import filecmp
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from ome.agent.download import (
    DownloadError,
    DownloadRequest,
    DownloadResult,
    FailureReason,
    HfSettings,
    RetryPolicy,
)
from ome.agent.download.hf import HfDownloader
from ome.agent.download.manifest import MANIFEST_FILE
from ome.agent.download.staging import staging_dir
from ome.agent.metadata import read_model_metadata
from ome.agent.progress import Phase, Progress
from ome.agent.storage_uri import parse_storage_uri
from tests.integration.agent.conftest import PRIVATE, PRIVATE_TOKEN, PUBLIC
from tests.integration.agent.fakehub import FakeHub
from tests.integration.helpers import eventually
from tests.unit.agent.helpers import MINILM

WEIGHTS = "model.safetensors"
MINILM_FILES = sorted(p.relative_to(MINILM).as_posix() for p in MINILM.rglob("*") if p.is_file())


class Fetcher:
    """Downloads from the test Hub, recording progress reports and retry delays."""

    def __init__(self, hub: FakeHub, attempts: int = 1, endpoint: str | None = None) -> None:
        self.reports: list[Progress] = []
        self.sleeps: list[float] = []
        retry = RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=0.01, jitter=0.0)
        settings = HfSettings(endpoint=endpoint or hub.url, progress_interval=0.05, retry=retry)
        self.downloader = HfDownloader(settings, sleep=self._sleep)

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def fetch(
        self, dest: Path, repo: str = PUBLIC, token: str | None = None
    ) -> DownloadResult:
        request = DownloadRequest(parse_storage_uri(f"hf://{repo}"), dest, token)
        return await self.downloader.download(request, self.reports.append)


def assert_is_minilm(directory: Path) -> None:
    files = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())
    assert files == sorted([*MINILM_FILES, MANIFEST_FILE])
    _, mismatch, errors = filecmp.cmpfiles(MINILM, directory, MINILM_FILES, shallow=False)
    assert mismatch == errors == []


def assert_not_there(dest: Path) -> None:
    """No model directory, and nothing in staging that claims to be complete."""
    assert not dest.exists()
    assert not (staging_dir(dest) / MANIFEST_FILE).exists()


async def test_download_verifies_and_puts_the_model_in_place(hub: FakeHub, tmp_path: Path) -> None:
    fetcher = Fetcher(hub)
    dest = tmp_path / "models" / "minilm"
    result = await fetcher.fetch(dest)

    assert result.path == dest
    assert result.revision == hub.repos[PUBLIC].commit
    assert (result.files, result.bytes) == (
        13,
        sum((MINILM / f).stat().st_size for f in MINILM_FILES),
    )
    assert not result.reused
    assert_is_minilm(dest)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["minilm"]  # no staging left

    phases = [report.phase for report in fetcher.reports]
    assert phases[0] is Phase.SCANNING
    assert phases[-2:] == [Phase.VERIFYING, Phase.FINALIZING]
    downloading = [r for r in fetcher.reports if r.phase is Phase.DOWNLOADING]
    assert downloading
    assert (downloading[-1].completed_bytes, downloading[-1].completed_files) == (result.bytes, 13)
    assert all(r.total_bytes == result.bytes and r.total_files == 13 for r in downloading)

    metadata = read_model_metadata(dest)
    assert (metadata.model_architecture, metadata.model_parameter_size) == ("BertModel", "22.71M")


async def test_a_verified_copy_is_not_fetched_again(hub: FakeHub, tmp_path: Path) -> None:
    fetcher = Fetcher(hub)
    await fetcher.fetch(tmp_path / "minilm")
    hub.downloads.clear()
    again = await fetcher.fetch(tmp_path / "minilm")
    assert again.reused
    assert hub.downloads == []


async def test_while_the_hub_is_unreachable_a_verified_copy_is_kept(
    hub: FakeHub, tmp_path: Path
) -> None:
    dest = tmp_path / "minilm"
    await Fetcher(hub).fetch(dest)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}"
    offline = Fetcher(hub, attempts=2, endpoint=nowhere)
    kept = await offline.fetch(dest)
    assert kept.reused
    assert kept.revision == hub.repos[PUBLIC].commit
    assert offline.sleeps == []

    with pytest.raises(DownloadError, match=f"cannot reach {nowhere}") as raised:
        await offline.fetch(tmp_path / "other")
    assert raised.value.reason is FailureReason.TRANSIENT
    assert offline.sleeps == [0.01]  # worth retrying


async def test_an_unknown_repository_fails_at_once(hub: FakeHub, tmp_path: Path) -> None:
    fetcher = Fetcher(hub, attempts=3)
    with pytest.raises(DownloadError) as raised:
        await fetcher.fetch(tmp_path / "m", repo="acme/no-such-model")
    assert raised.value.reason is FailureReason.NOT_FOUND
    assert str(raised.value) == (
        f"repository acme/no-such-model not found at {hub.url} (HTTP 404); "
        "if it is private, give the model a token"
    )
    assert fetcher.sleeps == []  # not worth retrying
    assert list(tmp_path.iterdir()) == []


async def test_an_unknown_revision(hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=f"revision 'v9' of {PUBLIC} not found at"):
        await Fetcher(hub).fetch(tmp_path / "m", repo=f"{PUBLIC}@v9")


async def test_a_listing_cannot_reach_outside_the_model(hub: FakeHub, tmp_path: Path) -> None:
    files = hub.repos[PUBLIC].files
    files["../escape"] = dataclasses.replace(files["config.json"], path="../escape")
    with pytest.raises(DownloadError, match=r"unsafe path '\.\./escape'") as raised:
        await Fetcher(hub, attempts=3).fetch(tmp_path / "m")
    assert raised.value.reason is FailureReason.INVALID
    assert list(tmp_path.iterdir()) == []


async def test_a_private_repository_needs_its_token(hub: FakeHub, tmp_path: Path) -> None:
    fetcher = Fetcher(hub, attempts=3)
    dest = tmp_path / "private"
    with pytest.raises(
        DownloadError, match=r"not found at .* \(HTTP 401\); if it is private"
    ) as raised:
        await fetcher.fetch(dest, repo=PRIVATE)
    assert raised.value.reason is FailureReason.NOT_FOUND

    with pytest.raises(DownloadError) as raised:
        await fetcher.fetch(dest, repo=PRIVATE, token="hf_wrong")
    assert raised.value.reason is FailureReason.UNAUTHORIZED
    assert str(raised.value) == (
        f"{hub.url} rejected the token for {PRIVATE} (HTTP 401: Invalid credentials in "
        "Authorization header): check the Secret named by storage.key, or storage.parameters"
    )
    assert fetcher.sleeps == []
    assert_not_there(dest)

    await fetcher.fetch(dest, repo=PRIVATE, token=PRIVATE_TOKEN)
    assert_is_minilm(dest)


async def test_a_truncated_file_fails_then_succeeds_once_fixed(
    hub: FakeHub, tmp_path: Path
) -> None:
    fetcher = Fetcher(hub, attempts=2)
    dest = tmp_path / "minilm"
    hub.truncated[WEIGHTS] = 1000
    with pytest.raises(DownloadError) as raised:
        await fetcher.fetch(dest)
    size = (MINILM / WEIGHTS).stat().st_size
    assert raised.value.reason is FailureReason.INCOMPLETE
    assert str(raised.value) == (
        f"truncated download of hf://{PUBLIC}@main: {WEIGHTS} arrived with 1000 of its {size} bytes"
    )
    assert fetcher.sleeps == [0.01]  # a short transfer may be the network's fault: retried once
    assert_not_there(dest)

    hub.truncated.clear()
    await fetcher.fetch(dest)
    assert_is_minilm(dest)


async def test_a_429_with_retry_after_is_waited_out(hub: FakeHub, tmp_path: Path) -> None:
    fetcher = Fetcher(hub, attempts=2)
    dest = tmp_path / "minilm"
    hub.refusing = (429, 7)
    try:
        with pytest.raises(DownloadError) as raised:
            await fetcher.fetch(dest)
    finally:
        hub.refusing = None
    assert raised.value.reason is FailureReason.TRANSIENT
    assert raised.value.retry_after == 7.0
    assert "HTTP 429" in str(raised.value)
    assert "retry after 7 s" in str(raised.value)
    assert fetcher.sleeps == [7.0]  # not the 0.01 s backoff
    assert_not_there(dest)


async def test_a_connection_cut_mid_file_is_resumed(hub: FakeHub, tmp_path: Path) -> None:
    fetcher = Fetcher(hub, attempts=3)
    dest = tmp_path / "minilm"
    hub.cuts[WEIGHTS] = 1
    try:
        await fetcher.fetch(dest)
    finally:
        hub.cuts.clear()
    assert_is_minilm(dest)


async def test_corrupted_bytes_fail_the_checksum_then_succeed_once_fixed(
    hub: FakeHub, tmp_path: Path
) -> None:
    fetcher = Fetcher(hub, attempts=1)
    dest = tmp_path / "minilm"
    hub.corrupted.add(WEIGHTS)
    try:
        with pytest.raises(DownloadError) as raised:
            await fetcher.fetch(dest)
    finally:
        hub.corrupted.clear()
    assert raised.value.reason is FailureReason.CHECKSUM_MISMATCH, raised.value
    assert_not_there(dest)

    await fetcher.fetch(dest)
    assert_is_minilm(dest)


async def test_a_cancelled_download_leaves_no_model_and_resumes(
    hub: FakeHub, tmp_path: Path
) -> None:
    dest = tmp_path / "minilm"
    await _cancel_while_the_weights_stall(hub, dest)
    assert_not_there(dest)

    hub.downloads.clear()
    await Fetcher(hub).fetch(dest)
    assert_is_minilm(dest)
    assert hub.downloads == [WEIGHTS]  # the finished files were kept


async def test_a_corrupted_staged_file_is_caught_and_fetched_again(
    hub: FakeHub, tmp_path: Path
) -> None:
    dest = tmp_path / "minilm"
    await _cancel_while_the_weights_stall(hub, dest)
    # Damage a file the library already recorded as done: it will not look at it again.
    (staging_dir(dest) / "vocab.txt").write_text("[PAD]\n")

    fetcher = Fetcher(hub, attempts=2)
    hub.downloads.clear()
    await fetcher.fetch(dest)
    assert_is_minilm(dest)
    assert fetcher.sleeps == [0.01]  # the first attempt's verification failed
    assert sorted(hub.downloads) == [WEIGHTS, "vocab.txt"]


async def test_killed_with_sigkill_mid_download(hub: FakeHub, tmp_path: Path) -> None:
    """An agent killed -9 leaves nothing that looks complete; a new one finishes the job."""
    dest = tmp_path / "minilm"
    stall = hub.stalls[WEIGHTS] = asyncio.Event()
    agent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _AGENT, hub.url, f"hf://{PUBLIC}", str(dest)
    )
    try:
        await _until_only_the_weights_are_left(hub, dest)
        os.kill(agent.pid, signal.SIGKILL)
        assert await agent.wait() == -signal.SIGKILL
    finally:
        stall.set()
        if agent.returncode is None:
            agent.kill()
            await agent.wait()
    assert_not_there(dest)

    hub.downloads.clear()
    await Fetcher(hub).fetch(dest)
    assert_is_minilm(dest)
    assert hub.downloads == [WEIGHTS]


async def test_hf_endpoint_comes_from_the_environment(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"{hub.url}/")
    downloader = HfDownloader()
    assert downloader.endpoint == hub.url
    request = DownloadRequest(parse_storage_uri("hf://acme/no-such-model"), tmp_path / "m")
    with pytest.raises(DownloadError, match=f"not found at {hub.url}"):
        await downloader.download(request)


async def _cancel_while_the_weights_stall(hub: FakeHub, dest: Path) -> None:
    stall = hub.stalls[WEIGHTS] = asyncio.Event()
    task = asyncio.ensure_future(Fetcher(hub).fetch(dest))
    try:
        await _until_only_the_weights_are_left(hub, dest)
    finally:
        task.cancel()
        stall.set()  # the stopped transfer notices its cancellation at the next chunk
    with pytest.raises(asyncio.CancelledError):
        await task


async def _until_only_the_weights_are_left(hub: FakeHub, dest: Path) -> None:
    """Every other file finished in staging, the weights held halfway by the Hub."""
    staged = staging_dir(dest)
    others = [f for f in MINILM_FILES if f != WEIGHTS]

    async def ready() -> bool:
        return WEIGHTS in hub.stalled and all((staged / f).is_file() for f in others)

    await eventually(ready, timeout=30)


# A model agent in a process of its own, to be killed.
_AGENT = """
import asyncio, sys
from pathlib import Path
from ome.agent.download import DownloadRequest, HfSettings
from ome.agent.download.hf import HfDownloader
from ome.agent.storage_uri import parse_storage_uri

request = DownloadRequest(parse_storage_uri(sys.argv[2]), Path(sys.argv[3]))
asyncio.run(HfDownloader(HfSettings(endpoint=sys.argv[1])).download(request))
"""
