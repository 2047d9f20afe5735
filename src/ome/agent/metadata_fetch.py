"""What the metadata fetchers of each source share: the error they raise, their limits,
and how they pick, check and store the files (:mod:`~ome.agent.remote_metadata`)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from ome.agent.download.errors import DownloadError
from ome.agent.download.manifest import safe_relative_path
from ome.agent.metadata import metadata_part
from ome.agent.safetensors import MAX_HEADER_BYTES

TIMEOUT = 20.0
MAX_FILE_BYTES = 64 * 1024 * 1024
"""A config or index larger than this is not one."""
LENGTH = struct.Struct("<Q")
"""A safetensors file's first eight bytes: the length of its JSON header."""


class MetadataUnavailable(Exception):
    """The metadata could not be had from ``url``; ``cause`` says why."""

    def __init__(self, url: str, cause: str) -> None:
        super().__init__(f"cannot fetch model metadata from {url}: {cause}")
        self.url = url
        self.cause = cause


def metadata_paths(paths: list[str], source: str) -> Iterator[tuple[str, str]]:
    for path in paths:
        part = metadata_part(path)
        if part is None:
            continue
        try:
            yield safe_relative_path(path, source), part
        except DownloadError as err:
            raise MetadataUnavailable(source, str(err)) from None


def header_length(raw: bytes, where: str) -> int:
    (length,) = LENGTH.unpack(raw)
    if not 0 < length <= MAX_HEADER_BYTES:
        raise MetadataUnavailable(where, f"safetensors header length {length} is not plausible")
    return int(length)


def write(stage: Path, path: str, content: bytes) -> None:
    target = stage / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
