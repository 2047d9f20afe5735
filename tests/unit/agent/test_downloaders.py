from __future__ import annotations

from pathlib import Path

import pytest

from ome.agent.download import (
    DownloadError,
    Downloaders,
    DownloadRequest,
    DownloadResult,
    FailureReason,
)
from ome.agent.progress import ProgressCallback
from ome.agent.storage_uri import parse_storage_uri


class Recorder:
    def __init__(self) -> None:
        self.requests: list[DownloadRequest] = []

    async def download(
        self, request: DownloadRequest, on_progress: ProgressCallback | None = None
    ) -> DownloadResult:
        self.requests.append(request)
        return DownloadResult(request.dest, None, 0, 0)


async def test_requests_go_to_the_downloader_of_their_scheme(tmp_path: Path) -> None:
    hf, local = Recorder(), Recorder()
    downloaders = Downloaders({"hf": hf, "local": local})
    request = DownloadRequest(parse_storage_uri("hf://org/model"), tmp_path)
    assert (await downloaders.download(request)).path == tmp_path
    assert hf.requests == [request]
    assert local.requests == []


async def test_an_unknown_scheme_is_unsupported(tmp_path: Path) -> None:
    downloaders = Downloaders({"hf": Recorder(), "local": Recorder()})
    request = DownloadRequest(parse_storage_uri("gs://bucket/model"), tmp_path)
    with pytest.raises(
        DownloadError, match=r"cannot download gs:// models \(it can: hf://, local://\)"
    ) as raised:
        await downloaders.download(request)
    assert raised.value.reason is FailureReason.UNSUPPORTED
    assert not raised.value.retryable
