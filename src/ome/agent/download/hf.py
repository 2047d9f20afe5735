"""``hf://`` models: fetched from a Hugging Face Hub with ``huggingface_hub``.

One attempt:

1. *Scanning*: resolve the revision to a commit and list its files (size, and sha256 for
   Git LFS files or the Git blob id for the others). If the destination already holds a
   verified copy of that commit, stop there; if the Hub cannot be reached, a verified
   copy already there is kept as it is.
2. *Downloading*: ``snapshot_download`` of that commit into the staging directory
   (:mod:`~ome.agent.download.staging`), in a thread. Files a previous attempt finished
   are kept (the library records them under ``.cache/huggingface``); progress is read
   from the disk.
3. *Verifying*: every listed file present, of the listed size, with the listed checksum.
   A bad file is deleted so that the next attempt fetches it again.
4. *Finalizing*: record the manifest, drop the library's bookkeeping, rename the staging
   directory into place.

Failures become :class:`DownloadError` with a message naming the cause (repository not
found, token rejected, file truncated, ...); transient ones are retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from ome.agent.download.errors import DownloadError, FailureReason, MissingExtra

try:
    import httpx2
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.hf_api import RepoFile
    from huggingface_hub.utils.tqdm import tqdm as hf_tqdm
except ImportError as missing:
    raise MissingExtra("hf", "hf", missing) from missing

from ome.agent.download.attempt import StagedAttempt
from ome.agent.download.base import DownloadRequest, DownloadResult
from ome.agent.download.manifest import (
    ExpectedFile,
    Manifest,
    completed,
    safe_relative_path,
)
from ome.agent.download.retry import retry_after_seconds, retrying
from ome.agent.download.settings import HfSettings, hub_endpoint
from ome.agent.download.threads import Cancelled, check
from ome.agent.progress import Progress, ProgressCallback
from ome.agent.storage_uri import HfUri

# huggingface_hub keeps its resume bookkeeping here inside a local_dir download.
_LIBRARY_STATE = ".cache"
_IN_FLIGHT = Path(_LIBRARY_STATE, "huggingface", "download")
# huggingface_hub's words when a file arrives shorter than announced.
_SHORT_FILE = re.compile(r"should be of size (\d+) but has size (\d+)")


class HfDownloader:
    """Downloads ``hf://`` models; one instance serves every model of the node."""

    def __init__(
        self,
        settings: HfSettings | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings or HfSettings()
        self.endpoint = hub_endpoint(self.settings)
        self._sleep = sleep

    async def download(
        self, request: DownloadRequest, on_progress: ProgressCallback | None = None
    ) -> DownloadResult:
        uri = request.uri
        if not isinstance(uri, HfUri):
            raise DownloadError(FailureReason.UNSUPPORTED, f"not an hf:// URI: {uri}")
        attempt = _Attempt(self, uri, request.dest, request.token, on_progress or _ignore)
        return await retrying(attempt.run, self.settings.retry, self._sleep)


class _Attempt(StagedAttempt):
    def __init__(
        self,
        downloader: HfDownloader,
        uri: HfUri,
        dest: Path,
        token: str | None,
        report: ProgressCallback,
    ) -> None:
        source = f"hf://{uri.repo_id}@{uri.revision}"
        super().__init__(dest, source, report, downloader.settings.progress_interval)
        self.settings = downloader.settings
        self.endpoint = downloader.endpoint
        self.uri = uri
        # False, not None: never fall back to a token found on the node (HF_TOKEN, a
        # login file); a model uses the credentials its own spec names, or none.
        self.token: str | bool = token or False

    def described(self, manifest: Manifest) -> str:
        return f"{self.source} (commit {manifest.revision})"

    def measure(self, stage: Path, files: Sequence[ExpectedFile]) -> tuple[int, int]:
        done_bytes, done_files = completed(stage, files)
        with contextlib.suppress(OSError):  # files come and go while we look
            done_bytes += sum(p.stat().st_size for p in (stage / _IN_FLIGHT).rglob("*.incomplete"))
        return done_bytes, done_files

    def forget(self, stage: Path, paths: Sequence[str]) -> None:
        """Also the library's note that they are done, so they are refetched."""
        super().forget(stage, paths)
        for path in paths:
            (stage / _IN_FLIGHT / f"{path}.metadata").unlink(missing_ok=True)

    def finalize(self, stage: Path, manifest: Manifest) -> None:
        shutil.rmtree(stage / _LIBRARY_STATE, ignore_errors=True)
        super().finalize(stage, manifest)

    def list_files(self, cancel: threading.Event) -> Manifest:
        api = HfApi(endpoint=self.endpoint, token=self.token)
        try:
            commit = api.model_info(self.uri.repo_id, revision=self.uri.revision).sha
            check(cancel)
            entries = api.list_repo_tree(self.uri.repo_id, recursive=True, revision=commit)
            files = [_expected(entry) for entry in entries if isinstance(entry, RepoFile)]
        except (Cancelled, DownloadError):
            raise
        except Exception as err:
            raise self._classify(err, ()) from err
        if not commit:
            raise DownloadError(
                FailureReason.INVALID, f"{self.endpoint} named no commit for {self.source}"
            )
        return Manifest(commit, tuple(files))

    def fetch(self, cancel: threading.Event, stage: Path, manifest: Manifest) -> None:
        try:
            snapshot_download(
                self.uri.repo_id,
                revision=manifest.revision,
                local_dir=stage,
                cache_dir=stage / _LIBRARY_STATE / "hub",
                endpoint=self.endpoint,
                token=self.token,
                max_workers=self.settings.max_workers,
                tqdm_class=_stopping_bar(cancel),
            )
        except Cancelled:
            raise
        except Exception as err:
            raise self._classify(err, manifest.files) from err

    def _classify(self, err: BaseException, files: Sequence[ExpectedFile]) -> DownloadError:
        """A message that says what went wrong in the user's terms."""
        # snapshot_download wraps a failed listing in LocalEntryNotFoundError.
        if isinstance(err, LocalEntryNotFoundError) and err.__cause__ is not None:
            err = err.__cause__
        hub, repo = self.endpoint, self.uri.repo_id
        if isinstance(err, RevisionNotFoundError):
            return DownloadError(
                FailureReason.NOT_FOUND,
                f"revision {self.uri.revision!r} of {repo} not found at {hub}",
            )
        if isinstance(err, RemoteEntryNotFoundError):
            return DownloadError(
                FailureReason.NOT_FOUND,
                f"{hub} lists a file of {repo} that it does not serve: {err.response.url}",
            )
        if isinstance(err, GatedRepoError):
            return DownloadError(
                FailureReason.FORBIDDEN,
                f"{repo} at {hub} is gated and the token's account was not granted access",
            )
        if isinstance(err, HfHubHTTPError):
            return self._classify_status(err, err.response.status_code)
        if isinstance(err, httpx2.TransportError):
            return DownloadError(FailureReason.TRANSIENT, f"cannot reach {hub}: {err!r}")
        if isinstance(err, OSError) and (short := _SHORT_FILE.search(str(err))):
            expected, got = int(short[1]), int(short[2])
            names = [f.path for f in files if f.size == expected]
            name = names[0] if len(names) == 1 else "a file"
            return DownloadError(
                FailureReason.INCOMPLETE,
                f"truncated download of {self.source}: {name} arrived with {got} of its "
                f"{expected} bytes",
            )
        return DownloadError(FailureReason.TRANSIENT, f"downloading {self.source} failed: {err!r}")

    def _classify_status(self, err: HfHubHTTPError, status: int) -> DownloadError:
        hub, repo = self.endpoint, self.uri.repo_id
        said = f": {err.server_message.strip()}" if err.server_message else ""
        if isinstance(err, RepositoryNotFoundError) or status == 404:
            hint = "" if self.token else "; if it is private, give the model a token"
            return DownloadError(
                FailureReason.NOT_FOUND,
                f"repository {repo} not found at {hub} (HTTP {status}){hint}",
            )
        if status == 401:
            return DownloadError(
                FailureReason.UNAUTHORIZED,
                f"{hub} rejected the token for {repo} (HTTP 401{said}): check the Secret "
                "named by storage.key, or storage.parameters",
            )
        if status == 403:
            return DownloadError(
                FailureReason.FORBIDDEN,
                f"the token may not read {repo} at {hub} (HTTP 403{said})",
            )
        reason = (
            FailureReason.TRANSIENT if status == 429 or status >= 500 else FailureReason.INVALID
        )
        wait = retry_after_seconds(err.response.headers.get("Retry-After"))
        asked = "" if wait is None else f", asking to retry after {wait:.0f} s"
        return DownloadError(
            reason, f"{hub} answered HTTP {status}{said} for {repo}{asked}", retry_after=wait
        )


def _expected(entry: RepoFile) -> ExpectedFile:
    safe_relative_path(entry.path, "the Hub")
    if entry.lfs is not None:
        return ExpectedFile(entry.path, entry.lfs.size, sha256=entry.lfs.sha256)
    return ExpectedFile(entry.path, entry.size, git_sha1=entry.blob_id)


def _stopping_bar(cancel: threading.Event) -> type[Any]:
    """A silent progress bar class whose every update checks ``cancel``.

    huggingface_hub updates its bars as each chunk arrives, so this is the hook that
    stops a snapshot_download in its worker threads.
    """

    class StoppingBar(hf_tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]  # tqdm is untyped

        def update(self, n: float | None = 1) -> bool | None:
            check(cancel)
            result: bool | None = super().update(n)
            return result

    return StoppingBar


def _ignore(_: Progress) -> None:
    pass
