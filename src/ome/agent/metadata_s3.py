"""Model metadata from S3 or a service speaking its API (needs the operator's ``s3``
extra): the same client as downloads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ome.agent.download.errors import DownloadError, MissingExtra

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError as missing:
    raise MissingExtra("s3", "s3", missing) from missing

from ome.agent.download.s3 import s3_client
from ome.agent.download.settings import S3Settings
from ome.agent.metadata import HEADER
from ome.agent.metadata_fetch import (
    LENGTH,
    MAX_FILE_BYTES,
    MetadataUnavailable,
    header_length,
    metadata_paths,
    write,
)
from ome.agent.storage_uri import S3Uri


def fetch_s3(uri: S3Uri, stage: Path, settings: S3Settings, secret: Mapping[str, str]) -> None:
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
    for path, part in metadata_paths([k[len(prefix) :] for k in keys], where):
        key = f"{prefix}{path}"

        def read(start: int, length: int, *, _key: str = key) -> bytes:
            ranged = client.get_object(
                Bucket=uri.bucket, Key=_key, Range=f"bytes={start}-{start + length - 1}"
            )
            body: bytes = ranged["Body"].read()
            return body

        try:
            if part == HEADER:
                raw = read(0, LENGTH.size)
                content = raw + read(LENGTH.size, header_length(raw, key))
            else:
                content = read(0, MAX_FILE_BYTES)
        except (BotoCoreError, ClientError) as err:
            raise MetadataUnavailable(f"s3://{uri.bucket}/{key}", str(err)) from None
        write(stage, path, content)
