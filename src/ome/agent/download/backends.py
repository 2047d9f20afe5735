"""The storage backends that are extras of the operator (``ome-operator[s3]``: boto3,
``ome-operator[hf]``: huggingface-hub). Without its extra a backend still has a
downloader, one whose every download fails naming the extra to install, so the agent runs
and the models of the other schemes are served."""

from __future__ import annotations

from ome.agent.download.base import Downloader, DownloadRequest, DownloadResult
from ome.agent.download.errors import DownloadError, FailureReason, MissingExtra
from ome.agent.download.settings import HfSettings, S3Settings
from ome.agent.progress import ProgressCallback


class UnavailableDownloader:
    """Stands for a backend whose libraries are not installed."""

    def __init__(self, missing: MissingExtra) -> None:
        self.missing = missing

    async def download(
        self, request: DownloadRequest, on_progress: ProgressCallback | None = None
    ) -> DownloadResult:
        raise DownloadError(FailureReason.UNSUPPORTED, str(self.missing))


def hf_downloader(settings: HfSettings) -> Downloader:
    try:
        from ome.agent.download.hf import HfDownloader  # noqa: PLC0415 - an extra
    except MissingExtra as missing:
        return UnavailableDownloader(missing)
    return HfDownloader(settings)


def s3_downloader(settings: S3Settings) -> Downloader:
    try:
        from ome.agent.download.s3 import S3Downloader  # noqa: PLC0415 - an extra
    except MissingExtra as missing:
        return UnavailableDownloader(missing)
    return S3Downloader(settings)
