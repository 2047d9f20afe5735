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
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ome.agent.download.errors import MissingExtra
from ome.agent.download.settings import PUBLIC_HUB, S3Settings
from ome.agent.metadata import ModelMetadata, read_model_metadata
from ome.agent.metadata_fetch import MetadataUnavailable
from ome.agent.storage_uri import HfUri, LocalUri, S3Uri, StorageUri, parse_storage_uri

__all__ = [
    "COMPLETE_MARKER",
    "MetadataSources",
    "MetadataUnavailable",
    "fetch_metadata_files",
    "model_metadata",
    "supplied_metadata_dir",
    "uri_folder",
]

COMPLETE_MARKER = ".ome-metadata"
"""In a cache folder: the fetch finished (a folder without it is redone)."""


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


# The sources' libraries are extras of the operator: loaded only for a model that needs them.


def _fetch_hf(uri: HfUri, stage: Path, hub: str, token: str | None) -> None:
    try:
        from ome.agent.metadata_hf import fetch_hf  # noqa: PLC0415 - an extra
    except MissingExtra as missing:
        raise MetadataUnavailable(hub, str(missing)) from None
    fetch_hf(uri, stage, hub, token)


def _fetch_s3(uri: S3Uri, stage: Path, settings: S3Settings, secret: Mapping[str, str]) -> None:
    try:
        from ome.agent.metadata_s3 import fetch_s3  # noqa: PLC0415 - an extra
    except MissingExtra as missing:
        raise MetadataUnavailable(f"s3://{uri.bucket}", str(missing)) from None
    fetch_s3(uri, stage, settings, secret)
