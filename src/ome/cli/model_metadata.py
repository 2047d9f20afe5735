"""``--fetch-metadata`` and ``--model-metadata DIR`` of the offline commands (``ome explain``,
``ome render``): the models' specs back-filled as the agents back-fill them in a cluster,
so the offline answer is the cluster's.

Metadata comes from a supplied folder first (``DIR/{model name}/`` or
``DIR/hf/{org}/{model}/``, each holding the model's ``config.json``), then, with
``--fetch-metadata``, from the model's source by the agents' own code
(:mod:`ome.agent.remote_metadata`: config files and safetensors headers only), kept in
``$XDG_CACHE_HOME/ome/metadata`` (default ``~/.cache/ome/metadata``; delete it to fetch
again). The Hub is ``$HF_ENDPOINT`` (else the public one), its token ``$HF_TOKEN``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ome.agent.metadata import (
    MetadataError,
    ModelMetadata,
    backfill,
    read_model_metadata,
    skips_config_parsing,
)
from ome.agent.remote_metadata import (
    MetadataSources,
    MetadataUnavailable,
    model_metadata,
    supplied_metadata_dir,
)
from ome.api.meta import ApiObject
from ome.api.v1beta1 import KINDS, BaseModel, ClusterBaseModel
from ome.api.validation import validate_object

FETCHES_AT_ONCE = 8


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ome" / "metadata"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fetch-metadata",
        action="store_true",
        help="fill the models' specs from their config.json as the agents do, fetched from "
        "their source (cached in ~/.cache/ome/metadata; $HF_ENDPOINT, $HF_TOKEN)",
    )
    parser.add_argument(
        "--model-metadata",
        type=Path,
        metavar="DIR",
        help="metadata to fill the models' specs from: DIR/{model name}/config.json or "
        "DIR/hf/{org}/{model}/config.json",
    )


def with_metadata(objects: Sequence[ApiObject], args: argparse.Namespace) -> list[ApiObject]:
    """``objects`` with each model's spec back-filled where metadata was found; what
    could not be had is said on stderr."""
    supplied: Path | None = args.model_metadata
    if supplied is not None and not supplied.is_dir():
        sys.exit(f"error: --model-metadata: not a directory: {supplied}")
    if supplied is None and not args.fetch_metadata:
        return list(objects)
    sources = MetadataSources(supplied=supplied)
    with ThreadPoolExecutor(FETCHES_AT_ONCE) as pool:
        return list(pool.map(lambda o: _filled(o, sources, args.fetch_metadata), objects))


def _filled(obj: ApiObject, sources: MetadataSources, fetch: bool) -> ApiObject:
    if not isinstance(obj, BaseModel | ClusterBaseModel):
        return obj
    if skips_config_parsing(obj.metadata.annotations):
        return obj
    name, uri = obj.metadata.name or "", obj.spec.storage.storage_uri or ""
    metadata = _metadata(name, uri, sources, fetch)
    if metadata is None:
        return obj
    content = obj.model_dump(mode="json", by_alias=True, exclude_none=True)
    content["spec"] = backfill(content["spec"], metadata)
    filled = validate_object(content, KINDS).model
    if filled is None:
        print(f"{obj.KIND} {name}: its metadata does not fit its spec; not used", file=sys.stderr)
        return obj
    return filled


def _metadata(name: str, uri: str, sources: MetadataSources, fetch: bool) -> ModelMetadata | None:
    try:
        if fetch:
            token = os.environ.get("HF_TOKEN")
            return model_metadata(name, uri, cache_dir(), sources, token=token, reuse=True)
        assert sources.supplied is not None
        found = supplied_metadata_dir(sources.supplied, name, uri)
        return read_model_metadata(found) if found is not None else None
    except (MetadataUnavailable, MetadataError) as err:
        print(f"model {name}: {err}", file=sys.stderr)
        return None
