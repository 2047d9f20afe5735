"""The storage backends are extras of ome-operator (``s3``: boto3, ``hf``: huggingface-hub):
without them the agent and the CLI still start, and a model of that scheme fails with a
message naming the extra to install."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ome.agent.download import (
    Downloader,
    DownloadError,
    DownloadRequest,
    FailureReason,
    HfSettings,
    S3Settings,
    hf_downloader,
    s3_downloader,
)
from ome.agent.download.backends import UnavailableDownloader
from ome.agent.remote_metadata import MetadataSources, MetadataUnavailable, model_metadata
from ome.agent.storage_uri import parse_storage_uri

STORAGE_LIBRARIES = ("boto3", "botocore", "huggingface_hub", "httpx2")
BACKEND_MODULES = (
    "ome.agent.download.s3",
    "ome.agent.download.hf",
    "ome.agent.metadata_s3",
    "ome.agent.metadata_hf",
)


@pytest.fixture
def without_storage_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import name` raise ImportError; the backends are
    # dropped so that they are imported again, and meet it.
    for name in STORAGE_LIBRARIES:
        monkeypatch.setitem(sys.modules, name, None)
    for name in BACKEND_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.mark.usefixtures("without_storage_libraries")
@pytest.mark.parametrize(
    ("make", "uri", "extra"),
    [
        (lambda: s3_downloader(S3Settings()), "s3://bucket/model", "s3"),
        (lambda: hf_downloader(HfSettings()), "hf://org/model", "hf"),
    ],
)
async def test_a_download_names_the_missing_extra(
    make: Callable[[], Downloader], uri: str, extra: str, tmp_path: Path
) -> None:
    downloader = make()
    assert isinstance(downloader, UnavailableDownloader)
    with pytest.raises(DownloadError) as failure:
        await downloader.download(DownloadRequest(parse_storage_uri(uri), tmp_path / "m"))
    assert failure.value.reason == FailureReason.UNSUPPORTED
    assert not failure.value.retryable
    assert f"pip install 'ome-operator[{extra}]'" in str(failure.value)


@pytest.mark.usefixtures("without_storage_libraries")
@pytest.mark.parametrize(("uri", "extra"), [("s3://bucket/model", "s3"), ("hf://org/m", "hf")])
def test_remote_metadata_names_the_missing_extra(uri: str, extra: str, tmp_path: Path) -> None:
    with pytest.raises(MetadataUnavailable) as failure:
        model_metadata("m", uri, tmp_path, MetadataSources())
    assert f"ome-operator[{extra}]" in failure.value.cause


def test_the_cli_and_the_agent_start_without_the_storage_libraries() -> None:
    blocked = ", ".join(repr(name) for name in STORAGE_LIBRARIES)
    code = (
        f"import sys\nfor name in ({blocked},):\n    sys.modules[name] = None\n"
        "import ome.cli.main, ome.agent.daemon\n"
        "ome.cli.main.build_parser()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
