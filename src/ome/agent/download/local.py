"""``local://`` models: checked where they are, never copied and never deleted."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from ome.agent.download.base import DownloadRequest, DownloadResult
from ome.agent.download.errors import DownloadError, FailureReason
from ome.agent.progress import ProgressCallback
from ome.agent.safetensors import SafetensorsError, read_header
from ome.agent.storage_uri import LocalUri


class LocalDownloader:
    """Validates the directory a ``local://`` URI names; ``request.dest`` is not used.

    There is nothing to transfer, so no progress is reported.
    """

    async def download(
        self, request: DownloadRequest, on_progress: ProgressCallback | None = None
    ) -> DownloadResult:
        if not isinstance(request.uri, LocalUri):
            raise DownloadError(FailureReason.UNSUPPORTED, f"not a local:// URI: {request.uri}")
        return await asyncio.to_thread(validate_local_model, Path(request.uri.path))


def validate_local_model(path: Path) -> DownloadResult:
    """Every file readable, every safetensors file as long as its header says, every
    shard a safetensors index names present; :class:`DownloadError` otherwise."""
    if not path.exists():
        raise DownloadError(
            FailureReason.NOT_FOUND, f"local path {path} does not exist on this node"
        )
    if not path.is_dir():
        raise DownloadError(FailureReason.INVALID, f"local path {path} is not a directory")
    files = 0
    total = 0
    for file in sorted(path.rglob("*")):
        if file.is_symlink() and not file.exists():
            raise DownloadError(FailureReason.INCOMPLETE, f"{file} is a broken symbolic link")
        if not file.is_file():
            continue
        if not os.access(file, os.R_OK):
            raise DownloadError(FailureReason.INVALID, f"{file} is not readable by the agent")
        size = file.stat().st_size
        files += 1
        total += size
        if file.name.endswith(".safetensors"):
            _check_safetensors(file, size)
        elif file.name.endswith(".safetensors.index.json"):
            _check_shards(file)
    if not files:
        raise DownloadError(FailureReason.INVALID, f"local path {path} holds no files")
    return DownloadResult(path, None, files, total)


def _check_safetensors(file: Path, size: int) -> None:
    try:
        expected = read_header(file).expected_size
    except SafetensorsError as err:
        raise DownloadError(FailureReason.INVALID, str(err)) from None
    if size != expected:
        raise DownloadError(
            FailureReason.INCOMPLETE,
            f"{file} is truncated: {size} of the {expected} bytes its header describes",
        )


def _check_shards(index: Path) -> None:
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
        shards = {str(name) for name in weight_map.values()}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise DownloadError(
            FailureReason.INVALID, f"{index} is not a safetensors index ({err})"
        ) from None
    missing = sorted(name for name in shards if not (index.parent / name).is_file())
    if missing:
        raise DownloadError(
            FailureReason.INCOMPLETE, f"{index} names shards that are missing: {', '.join(missing)}"
        )
