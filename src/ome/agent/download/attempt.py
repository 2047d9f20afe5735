"""One download attempt from a source that lists its files before sending them (the
Hub, S3): the steps are the same, only listing and fetching differ.

1. *Scanning*: list the files (size, checksum where the source has one). If the
   destination already holds a verified copy of that listing, stop there; if the source
   cannot be reached, a verified copy already there is kept as it is.
2. *Downloading*: fetch into the staging directory (:mod:`~ome.agent.download.staging`)
   in a thread of its own, reporting what is on disk as it grows.
3. *Verifying*: every listed file present, of the listed size, with the listed checksum.
   Bad files are forgotten so that the next attempt fetches them again.
4. *Finalizing*: record the manifest and rename the staging directory into place.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import structlog

from ome.agent.download.base import DownloadResult
from ome.agent.download.errors import DownloadError, FailureReason
from ome.agent.download.manifest import (
    ExpectedFile,
    Manifest,
    find_problems,
    intact_copy,
    raise_for,
    write_manifest,
)
from ome.agent.download.retry import RetryPolicy
from ome.agent.download.staging import prepare, promote
from ome.agent.download.threads import run_cancellable, writes_in_thread
from ome.agent.progress import Phase, Progress, ProgressCallback, SpeedMeter

log = structlog.get_logger("ome.agent.download")


@dataclass(frozen=True)
class TransferSettings:
    endpoint: str | None = None
    """The source's URL; None: the source's own default (see each downloader)."""
    max_workers: int = 8
    """Files fetched at once."""
    progress_interval: float = 2.0
    """Seconds between progress reports while downloading."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class StagedAttempt(ABC):
    def __init__(
        self, dest: Path, source: str, report: ProgressCallback, progress_interval: float
    ) -> None:
        self.dest = dest
        self.source = source
        """The source in the user's terms, for messages."""
        self.report = report
        self.progress_interval = progress_interval

    @abstractmethod
    def list_files(self, cancel: threading.Event) -> Manifest:
        """What the source holds; runs in a thread; raises :class:`DownloadError`."""

    @abstractmethod
    def fetch(self, cancel: threading.Event, stage: Path, manifest: Manifest) -> None:
        """Put the files into ``stage``, keeping those already there; runs in a thread."""

    @abstractmethod
    def measure(self, stage: Path, files: Sequence[ExpectedFile]) -> tuple[int, int]:
        """Bytes on disk (finished files and those being written) and files finished."""

    def forget(self, stage: Path, paths: Sequence[str]) -> None:
        """Delete bad files so that the next attempt fetches them again."""
        for path in paths:
            (stage / path).unlink(missing_ok=True)

    def finalize(self, stage: Path, manifest: Manifest) -> None:
        write_manifest(stage, manifest)
        promote(self.dest)

    def described(self, manifest: Manifest) -> str:
        return self.source

    async def run(self) -> DownloadResult:
        self.report(Progress(Phase.SCANNING))
        copy = await asyncio.to_thread(intact_copy, self.dest)
        try:
            manifest = await run_cancellable(self.list_files)
        except DownloadError as err:
            # The source is out of reach: a copy verified before serves until it is back.
            if err.reason is not FailureReason.TRANSIENT or copy is None:
                raise
            log.warning(
                "source unreachable, keeping the copy on disk", model=self.source, error=str(err)
            )
            return DownloadResult(
                self.dest, copy.revision, len(copy.files), copy.bytes, reused=True
            )
        files, revision = manifest.files, manifest.revision
        if copy == manifest:
            return DownloadResult(self.dest, revision, len(files), manifest.bytes, reused=True)
        stage = await writes_in_thread(lambda: prepare(self.dest))
        await fetch_watching(
            lambda cancel: self.fetch(cancel, stage, manifest),
            lambda: self.measure(stage, files),
            manifest,
            self.report,
            self.progress_interval,
        )
        done = Progress(Phase.VERIFYING, manifest.bytes, manifest.bytes, len(files), len(files))
        self.report(done)
        problems = await run_cancellable(lambda cancel: find_problems(stage, files, cancel))
        if problems:
            await writes_in_thread(lambda: self.forget(stage, [p.path for p in problems]))
            raise_for(problems, self.described(manifest))
        self.report(replace(done, phase=Phase.FINALIZING))
        await writes_in_thread(lambda: self.finalize(stage, manifest))
        return DownloadResult(self.dest, revision, len(files), manifest.bytes)


async def fetch_watching(
    fetch: Callable[[threading.Event], None],
    measure: Callable[[], tuple[int, int]],
    manifest: Manifest,
    report: ProgressCallback,
    interval: float,
) -> None:
    """Run ``fetch(cancel)`` in a thread of its own (cancelling the caller stops it) and,
    every ``interval`` seconds and once at the end, report the bytes and finished files
    ``measure`` finds on disk."""
    files = len(manifest.files)
    task = asyncio.ensure_future(run_cancellable(fetch))
    meter = SpeedMeter()
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=interval)
            done_bytes, done_files = await asyncio.to_thread(measure)
            speed = meter.sample(done_bytes)
            report(
                Progress(Phase.DOWNLOADING, manifest.bytes, done_bytes, files, done_files, speed)
            )
            if done:
                break
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
    task.result()
