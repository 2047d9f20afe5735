"""The downloader interface: a request in, the model's place on disk out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ome.agent.download.errors import DownloadError, FailureReason
from ome.agent.progress import ProgressCallback
from ome.agent.storage_uri import StorageUri


@dataclass(frozen=True)
class DownloadRequest:
    uri: StorageUri
    dest: Path
    """Where the model's files go (``storage.path``); a ``local://`` model stays put."""
    token: str | None = None
    """The credential for the source, already read from the model's Secret or parameters."""
    secret: Mapping[str, str] = field(default_factory=dict)
    """Every key of the Secret named by ``storage.key``, decoded (empty: none named), for
    sources whose credentials take more than one value."""


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    """Where the model's files are."""
    revision: str | None
    """What was fetched, when the source versions it (a Hub commit)."""
    files: int
    bytes: int
    reused: bool = False
    """The files were already there, complete and verified: nothing was fetched."""


class Downloader(Protocol):
    async def download(
        self, request: DownloadRequest, on_progress: ProgressCallback | None = None
    ) -> DownloadResult:
        """Put the model in place, verified, or raise :class:`DownloadError`.

        Cancelling the call stops the transfer; what was fetched stays in the staging
        directory for the next attempt to resume from.
        """
        ...


class Downloaders:
    """A :class:`Downloader` that hands each request to the one for its URI's scheme."""

    def __init__(self, by_scheme: Mapping[str, Downloader]) -> None:
        self._by_scheme = dict(by_scheme)

    async def download(
        self, request: DownloadRequest, on_progress: ProgressCallback | None = None
    ) -> DownloadResult:
        downloader = self._by_scheme.get(request.uri.scheme)
        if downloader is None:
            raise DownloadError(
                FailureReason.UNSUPPORTED,
                f"this agent cannot download {request.uri.scheme}:// models "
                f"(it can: {', '.join(f'{s}://' for s in sorted(self._by_scheme)) or 'none'})",
            )
        return await downloader.download(request, on_progress)
