"""s3:// downloads of the real MiniLM model from an S3 API server on loopback."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ome.agent.download import (
    DownloadError,
    DownloadRequest,
    DownloadResult,
    FailureReason,
    RetryPolicy,
    S3Settings,
)
from ome.agent.download.s3 import S3Downloader, partial_path
from ome.agent.download.staging import staging_dir
from ome.agent.progress import Phase, Progress
from ome.agent.storage_uri import parse_storage_uri
from tests.integration.agent.s3server import BUCKET, KEYS, PREFIX, S3Server, s3_server
from tests.integration.agent.test_hf_download import WEIGHTS, assert_is_minilm, assert_not_there
from tests.unit.agent.helpers import MINILM


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


class Fetcher:
    def __init__(self, s3: S3Server, attempts: int = 1) -> None:
        self.reports: list[Progress] = []
        retry = RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=0.01, jitter=0.0)
        settings = S3Settings(endpoint=s3.url, progress_interval=0.05, retry=retry)
        self.downloader = S3Downloader(settings)

    async def fetch(
        self, dest: Path, uri: str = f"s3://{BUCKET}/{PREFIX}", secret: dict[str, str] = KEYS
    ) -> DownloadResult:
        request = DownloadRequest(parse_storage_uri(uri), dest, secret=secret)
        return await self.downloader.download(request, self.reports.append)


async def test_download_verifies_and_puts_the_model_in_place(s3: S3Server, tmp_path: Path) -> None:
    fetcher = Fetcher(s3)
    dest = tmp_path / "minilm"
    result = await fetcher.fetch(dest)
    assert_is_minilm(dest)
    assert not staging_dir(dest).exists()
    assert (result.path, result.reused) == (dest, False)
    assert result.bytes == sum(p.stat().st_size for p in MINILM.rglob("*") if p.is_file())
    phases = [r.phase for r in fetcher.reports]
    assert phases[0] is Phase.SCANNING
    assert phases[-2:] == [Phase.VERIFYING, Phase.FINALIZING]
    downloading = [r for r in fetcher.reports if r.phase is Phase.DOWNLOADING]
    assert (downloading[-1].completed_bytes, downloading[-1].completed_files) == (result.bytes, 13)
    assert result.files == 13

    again = await fetcher.fetch(dest)
    assert again.reused


async def test_a_trailing_slash_and_a_region_name_the_same_model(
    s3: S3Server, tmp_path: Path
) -> None:
    await Fetcher(s3).fetch(tmp_path / "m", f"s3://{BUCKET}@us-east-1/{PREFIX}/")
    assert_is_minilm(tmp_path / "m")


async def test_an_unknown_bucket_or_prefix_is_not_found(s3: S3Server, tmp_path: Path) -> None:
    fetcher = Fetcher(s3, attempts=3)
    for uri, words in (
        ("s3://no-such-bucket/minilm", "not found"),
        (f"s3://{BUCKET}/{PREFIX}-2", "no objects under"),
    ):
        with pytest.raises(DownloadError, match=words) as raised:
            await fetcher.fetch(tmp_path / "m", uri)
        assert raised.value.reason is FailureReason.NOT_FOUND
        assert_not_there(tmp_path / "m")


async def test_a_secret_without_the_key_pair_is_refused(s3: S3Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="AWS_ACCESS_KEY_ID") as raised:
        await Fetcher(s3).fetch(tmp_path / "m", secret={"token": "x"})
    assert raised.value.reason is FailureReason.UNAUTHORIZED


async def test_without_any_credentials_the_message_says_what_to_give(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(DownloadError, match="no AWS credentials") as raised:
        await Fetcher(s3).fetch(tmp_path / "m", secret={})
    assert raised.value.reason is FailureReason.UNAUTHORIZED


def weights_partial(stage: Path, etag: str | None = None) -> Path:
    """Where the weights are written while they arrive (by default: their current ETag,
    the MD5 of a single-part upload)."""
    etag = etag or hashlib.md5((MINILM / WEIGHTS).read_bytes(), usedforsecurity=False).hexdigest()
    partial = partial_path(stage, WEIGHTS, etag)
    partial.parent.mkdir(parents=True, exist_ok=True)
    return partial


async def test_a_partial_file_is_resumed(s3: S3Server, tmp_path: Path) -> None:
    dest = tmp_path / "minilm"
    weights = (MINILM / WEIGHTS).read_bytes()
    weights_partial(staging_dir(dest)).write_bytes(weights[:100_000])
    await Fetcher(s3).fetch(dest)
    assert_is_minilm(dest)


async def test_bytes_of_an_older_version_are_not_continued(s3: S3Server, tmp_path: Path) -> None:
    dest = tmp_path / "minilm"
    weights_partial(staging_dir(dest), etag="an-older-version").write_bytes(b"\0" * 100_000)
    await Fetcher(s3).fetch(dest)
    assert_is_minilm(dest)  # and the stale partial file was not left in the model


async def test_a_corrupt_partial_file_is_caught_and_fetched_again(
    s3: S3Server, tmp_path: Path
) -> None:
    dest = tmp_path / "minilm"
    weights_partial(staging_dir(dest)).write_bytes(b"\0" * 100_000)
    with pytest.raises(DownloadError, match="does not match its ETag") as raised:
        await Fetcher(s3).fetch(dest)
    assert raised.value.reason is FailureReason.CHECKSUM_MISMATCH
    assert_not_there(dest)
    await Fetcher(s3, attempts=2).fetch(dest)
    assert_is_minilm(dest)


async def test_a_cancelled_download_leaves_no_model(s3: S3Server, tmp_path: Path) -> None:
    dest = tmp_path / "minilm"
    task = asyncio.create_task(Fetcher(s3).fetch(dest))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_not_there(dest)
    await Fetcher(s3).fetch(dest)
    assert_is_minilm(dest)


async def test_a_replaced_object_is_fetched_again(s3: S3Server, tmp_path: Path) -> None:
    s3.upload(MINILM, "changing")
    fetcher = Fetcher(s3)
    dest = tmp_path / "minilm"
    first = await fetcher.fetch(dest, f"s3://{BUCKET}/changing")
    readme = (MINILM / "README.md").read_bytes()
    replaced = readme.replace(b"a", b"b")  # same size, other content
    s3.client().put_object(Bucket=BUCKET, Key="changing/README.md", Body=replaced)
    second = await fetcher.fetch(dest, f"s3://{BUCKET}/changing")
    assert not second.reused
    assert second.revision != first.revision
    assert (dest / "README.md").read_bytes() == replaced
