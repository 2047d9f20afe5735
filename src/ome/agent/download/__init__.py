"""Fetch a model into place, verified, crash-safe.

A :class:`Downloader` takes a :class:`DownloadRequest` (parsed URI, destination, token)
and returns a :class:`DownloadResult` or raises :class:`DownloadError`, whose message is
meant for the model's status entry and whose ``retryable`` says whether trying again
may help. :class:`Downloaders` dispatches on the URI's scheme:

    downloaders = Downloaders({"hf": hf_downloader(HfSettings()), "local": LocalDownloader()})
    result = await downloaders.download(DownloadRequest(uri, dest, token), on_progress)

Downloads are assembled beside their destination and renamed into place when verified
(:mod:`~ome.agent.download.staging`); :func:`discard` removes a model and those leftovers.
The ``hf`` and ``s3`` backends (:mod:`~ome.agent.download.hf`, :mod:`~ome.agent.download.s3`)
need the operator's extras of those names; :func:`hf_downloader` and :func:`s3_downloader`
stand in a downloader that names the missing extra when they are not installed.
"""

from __future__ import annotations

from ome.agent.download.backends import hf_downloader, s3_downloader
from ome.agent.download.base import Downloader, Downloaders, DownloadRequest, DownloadResult
from ome.agent.download.errors import DownloadError, FailureReason, MissingExtra
from ome.agent.download.local import LocalDownloader
from ome.agent.download.retry import RetryPolicy
from ome.agent.download.settings import HfSettings, S3Settings
from ome.agent.download.staging import discard

__all__ = [
    "DownloadError",
    "DownloadRequest",
    "DownloadResult",
    "Downloader",
    "Downloaders",
    "FailureReason",
    "HfSettings",
    "LocalDownloader",
    "MissingExtra",
    "RetryPolicy",
    "S3Settings",
    "discard",
    "hf_downloader",
    "s3_downloader",
]
