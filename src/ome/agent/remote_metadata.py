"""A model's metadata without its weights: for agents that do not download (fake nodes,
simulation) and for the offline commands (``ome explain --fetch-metadata``).

:func:`fetch_metadata_files` copies into a directory the parts of the model's files that
:func:`~ome.agent.metadata.read_model_metadata` reads (:func:`~ome.agent.metadata.metadata_part`):
configs and indexes whole, each safetensors file as its header alone (ranged reads), so
the metadata comes out of the same code as after a real download. Sources:

- ``hf://``: the Hub at the endpoint given (the agent's ``--hf-endpoint``, else
  ``$HF_ENDPOINT``, else the public Hub), with the model's token;
- ``s3://``: the same client as downloads (``--s3-endpoint``, the Secret's key pair);
- ``local://``: read in place.

Others raise :class:`MetadataUnavailable`, as does a source out of reach; its message
names the URL tried.

A user can supply metadata instead (``--model-metadata DIR``): :func:`supplied_metadata_dir`
looks for ``DIR/{model name}/`` and then ``DIR/{scheme}/{rest of the storage URI}/``
(``DIR/hf/meta-llama/Llama-3.1-8B-Instruct/``, the ``@revision`` left out), each a
folder holding the model's ``config.json`` (and, optionally, whatever else the agent
reads: safetensors index, ``model_index.json`` with its components' configs).

Everything here blocks (network and file I/O): async callers run it in a thread.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx2
from botocore.exceptions import BotoCoreError, ClientError
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from ome.agent.download.errors import DownloadError
from ome.agent.download.hf import PUBLIC_HUB
from ome.agent.download.manifest import safe_relative_path
from ome.agent.download.s3 import S3Settings, s3_client
from ome.agent.metadata import (
    HEADER,
    ModelMetadata,
    metadata_part,
    read_model_metadata,
)
from ome.agent.safetensors import MAX_HEADER_BYTES
from ome.agent.storage_uri import HfUri, LocalUri, S3Uri, StorageUri, parse_storage_uri

TIMEOUT = 20.0
MAX_FILE_BYTES = 64 * 1024 * 1024
"""A config or index larger than this is not one."""
COMPLETE_MARKER = ".ome-metadata"
"""In a cache folder: the fetch finished (a folder without it is redone)."""
_LENGTH = struct.Struct("<Q")


class MetadataUnavailable(Exception):
    """The metadata could not be had from ``url``; ``cause`` says why."""

    def __init__(self, url: str, cause: str) -> None:
        super().__init__(f"cannot fetch model metadata from {url}: {cause}")
        self.url = url
        self.cause = cause


@dataclass(frozen=True)
class MetadataSources:
    """Where metadata comes from."""

    hf_endpoint: str | None = None
    """None: ``$HF_ENDPOINT``, else the public Hub."""
    s3: S3Settings = field(default_factory=S3Settings)
    supplied: Path | None = None
    """``--model-metadata DIR``: looked in first."""

    def hub(self) -> str:
        return (self.hf_endpoint or os.environ.get("HF_ENDPOINT") or PUBLIC_HUB).rstrip("/")


def uri_folder(storage_uri: str) -> str:
    """The folder a storage URI is kept under, in a supplied directory and in caches:
    ``hf/org/model`` for ``hf://org/model@rev``, ``s3/bucket/prefix``, ``local/path``."""
    scheme, _, rest = storage_uri.partition("://")
    if scheme == "hf":
        rest = rest.partition("@")[0]
    parts = [p for p in rest.split("/") if p not in ("", ".", "..")]
    return "/".join([scheme, *parts])


def supplied_metadata_dir(directory: Path, name: str, storage_uri: str) -> Path | None:
    """The supplied folder for a model: by its name, else by its storage URI."""
    for candidate in (directory / name, directory / uri_folder(storage_uri)):
        if candidate.is_dir() and any(candidate.iterdir()):
            return candidate
    return None


def model_metadata(
    name: str,
    storage_uri: str,
    cache: Path,
    sources: MetadataSources,
    *,
    token: str | None = None,
    secret: Mapping[str, str] | None = None,
    reuse: bool = False,
) -> ModelMetadata:
    """The model's metadata from a supplied folder, the cache (``reuse``) or its source,
    fetched into ``cache/{uri_folder}``. :class:`MetadataUnavailable` when none has it;
    :class:`MetadataError` when what was found holds no readable config."""
    if sources.supplied is not None:
        supplied = supplied_metadata_dir(sources.supplied, name, storage_uri)
        if supplied is not None:
            return read_model_metadata(supplied)
    try:
        uri = parse_storage_uri(storage_uri)
    except ValueError as err:
        raise MetadataUnavailable(storage_uri, str(err)) from None
    if isinstance(uri, LocalUri):
        return read_model_metadata(_local_dir(uri))
    folder = cache / uri_folder(storage_uri)
    if not (reuse and (folder / COMPLETE_MARKER).is_file()):
        fetch_metadata_files(uri, folder, sources, token=token, secret=secret or {})
    return read_model_metadata(folder)


def fetch_metadata_files(
    uri: StorageUri,
    dest: Path,
    sources: MetadataSources,
    *,
    token: str | None = None,
    secret: Mapping[str, str] | None = None,
) -> None:
    """Replace ``dest`` with the metadata parts of the model's files (assembled aside
    and renamed into place, so a reader never sees half of them)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        if isinstance(uri, HfUri):
            _fetch_hf(uri, stage, sources.hub(), token)
        elif isinstance(uri, S3Uri):
            _fetch_s3(uri, stage, sources.s3, secret or {})
        else:
            raise MetadataUnavailable(
                f"{uri.scheme}://…",
                f"metadata of {uri.scheme}:// models is read only after a download",
            )
        (stage / COMPLETE_MARKER).write_text("")
        shutil.rmtree(dest, ignore_errors=True)
        stage.rename(dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _local_dir(uri: LocalUri) -> Path:
    path = Path(uri.path)
    if not path.is_dir():
        raise MetadataUnavailable(f"local://{uri.path}", "no such directory on this machine")
    return path


# -- hf:// -------------------------------------------------------------------------------


def _fetch_hf(uri: HfUri, stage: Path, hub: str, token: str | None) -> None:
    listing = f"{hub}/api/models/{uri.repo_id}/revision/{quote(uri.revision, safe='')}"
    try:
        info = HfApi(endpoint=hub, token=token or False).model_info(
            uri.repo_id, revision=uri.revision
        )
    except Exception as err:
        raise MetadataUnavailable(listing, _hf_cause(err, token)) from None
    commit = info.sha or uri.revision
    paths = [s.rfilename for s in info.siblings or ()]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx2.Client(headers=headers, follow_redirects=True, timeout=TIMEOUT) as http:
        for path, part in _metadata_paths(paths, listing):
            url = f"{hub}/{uri.repo_id}/resolve/{commit}/{quote(path)}"
            try:
                content = _http_header(http, url) if part == HEADER else _http_whole(http, url)
            except httpx2.HTTPError as err:
                raise MetadataUnavailable(url, _http_cause(err)) from None
            _write(stage, path, content)


def _hf_cause(err: Exception, token: str | None) -> str:
    if isinstance(err, HfHubHTTPError):
        status = err.response.status_code
        hint = (
            ""
            if token or status not in (401, 404)
            else " (if it is private, give the model a token)"
        )
        return f"HTTP {status}{hint}"
    return _http_cause(err)


def _http_cause(err: Exception) -> str:
    if isinstance(err, httpx2.HTTPStatusError):
        return f"HTTP {err.response.status_code}"
    if isinstance(err, httpx2.TransportError):
        return f"unreachable ({type(err).__name__}: {err})"
    return f"{type(err).__name__}: {err}"


def _http_whole(http: httpx2.Client, url: str) -> bytes:
    return _http_range(http, url, 0, MAX_FILE_BYTES, exact=False)


def _http_header(http: httpx2.Client, url: str) -> bytes:
    raw = _http_range(http, url, 0, _LENGTH.size)
    return raw + _http_range(http, url, _LENGTH.size, _header_length(raw, url))


def _http_range(
    http: httpx2.Client, url: str, start: int, length: int, exact: bool = True
) -> bytes:
    """``length`` bytes from ``start`` (fewer only when not ``exact`` and the file ends):
    streamed and cut off, so a server that ignores ranges never sends a whole shard."""
    wanted = {"Range": f"bytes={start}-{start + length - 1}"} if exact else {}
    with http.stream("GET", url, headers=wanted) as response:
        response.raise_for_status()
        skip = start if response.status_code == 200 else 0
        got = bytearray()
        for chunk in response.iter_bytes():
            got += chunk
            if len(got) >= skip + length:
                break
    data = bytes(got[skip : skip + length])
    if exact and len(data) < length:
        raise httpx2.HTTPError(f"{url} ended after {len(data)} of {length} bytes")
    if not exact and len(got) >= length:
        raise httpx2.HTTPError(f"{url} is larger than {length} bytes: not a config")
    return data


# -- s3:// -------------------------------------------------------------------------------


def _fetch_s3(uri: S3Uri, stage: Path, settings: S3Settings, secret: Mapping[str, str]) -> None:
    prefix = f"{uri.prefix.strip('/')}/" if uri.prefix.strip("/") else ""
    where = f"{settings.endpoint or 'S3'} s3://{uri.bucket}/{prefix}"
    try:
        client = s3_client(settings, uri, secret)
        keys = [
            entry["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=uri.bucket, Prefix=prefix
            )
            for entry in page.get("Contents", [])
        ]
    except (BotoCoreError, ClientError, DownloadError) as err:
        raise MetadataUnavailable(where, str(err)) from None
    for path, part in _metadata_paths([k[len(prefix) :] for k in keys], where):
        key = f"{prefix}{path}"

        def read(start: int, length: int, *, _key: str = key) -> bytes:
            ranged = client.get_object(
                Bucket=uri.bucket, Key=_key, Range=f"bytes={start}-{start + length - 1}"
            )
            body: bytes = ranged["Body"].read()
            return body

        try:
            if part == HEADER:
                raw = read(0, _LENGTH.size)
                content = raw + read(_LENGTH.size, _header_length(raw, key))
            else:
                content = read(0, MAX_FILE_BYTES)
        except (BotoCoreError, ClientError) as err:
            raise MetadataUnavailable(f"s3://{uri.bucket}/{key}", str(err)) from None
        _write(stage, path, content)


# -- shared ------------------------------------------------------------------------------


def _metadata_paths(paths: list[str], source: str) -> Iterator[tuple[str, str]]:
    for path in paths:
        part = metadata_part(path)
        if part is None:
            continue
        try:
            yield safe_relative_path(path, source), part
        except DownloadError as err:
            raise MetadataUnavailable(source, str(err)) from None


def _header_length(raw: bytes, where: str) -> int:
    (length,) = _LENGTH.unpack(raw)
    if not 0 < length <= MAX_HEADER_BYTES:
        raise MetadataUnavailable(where, f"safetensors header length {length} is not plausible")
    return int(length)


def _write(stage: Path, path: str, content: bytes) -> None:
    target = stage / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
