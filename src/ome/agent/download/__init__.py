"""Fetch a model into place, verified, crash-safe.

A :class:`Downloader` takes a :class:`DownloadRequest` (parsed URI, destination, token)
and returns a :class:`DownloadResult` or raises :class:`DownloadError`, whose message is
meant for the model's status entry and whose ``retryable`` says whether trying again
may help. :class:`Downloaders` dispatches on the URI's scheme:

    downloaders = Downloaders({"hf": HfDownloader(), "local": LocalDownloader()})
    result = await downloaders.download(DownloadRequest(uri, dest, token), on_progress)

Downloads are assembled beside their destination and renamed into place when verified
(:mod:`~ome.agent.download.staging`); :func:`discard` removes a model and those leftovers.
"""

from __future__ import annotations

from ome.agent.download.base import Downloader, Downloaders, DownloadRequest, DownloadResult
from ome.agent.download.errors import DownloadError, FailureReason
from ome.agent.download.hf import HfDownloader, HfSettings
from ome.agent.download.local import LocalDownloader
from ome.agent.download.retry import RetryPolicy
from ome.agent.download.s3 import S3Downloader, S3Settings
from ome.agent.download.staging import discard

__all__ = [
    "DownloadError",
    "DownloadRequest",
    "DownloadResult",
    "Downloader",
    "Downloaders",
    "FailureReason",
    "HfDownloader",
    "HfSettings",
    "LocalDownloader",
    "RetryPolicy",
    "S3Downloader",
    "S3Settings",
    "discard",
]
