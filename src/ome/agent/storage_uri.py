"""Parse and validate ``storage.storageUri`` (upstream ``pkg/utils/storage``).

:func:`parse_storage_uri` turns a URI into one frozen dataclass per scheme, or raises a
``ValueError`` that names the URI and what is wrong with it. Parsing is pure: whether a
``local://`` path exists is checked by the local downloader, not here.

Forms accepted (those of upstream OME):

- ``hf://{model}`` or ``hf://{org}/{model}``, optionally ``@{revision}`` (default ``main``)
- ``local:///{absolute/path}``
- ``pvc://[{namespace}:]{claim}/{subpath}``
- ``s3://{bucket}[@{region}]/{prefix}``
- ``oci://n/{namespace}/b/{bucket}/o/{prefix}`` or ``oci://{namespace}@{region}/{bucket}/{prefix}``
- ``gs://{bucket}/{object}``
- ``az://{account}/{container}/{path}`` or ``az://{account}.blob.core.windows.net/{container}/{path}``
- ``github://{owner}/{repository}[@{tag}]`` (default ``latest``)
- ``vendor://{vendor}/{resource type}/{resource path}``
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

# Kubernetes object names: a claim is a DNS-1123 subdomain, a namespace a DNS-1123 label.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# The Hub's rule for one part of a repo id: letters, digits, '-', '_', '.'; no '--' or
# '..'; not starting or ending with '-' or '.'; at most 96 characters.
_HF_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9._-]*[A-Za-z0-9_])?")
_HF_NAME_MAX = 96
# S3 bucket naming rules (the general purpose buckets').
_S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_AZURE_HOST_SUFFIX = ".blob.core.windows.net"


@dataclass(frozen=True)
class HfUri:
    scheme: ClassVar[str] = "hf"
    repo_id: str
    revision: str = "main"


@dataclass(frozen=True)
class LocalUri:
    scheme: ClassVar[str] = "local"
    path: str
    """Absolute and normalised."""


@dataclass(frozen=True)
class PvcUri:
    scheme: ClassVar[str] = "pvc"
    claim: str
    subpath: str
    namespace: str | None = None
    """None: the model's own namespace (a ClusterBaseModel must name one)."""


@dataclass(frozen=True)
class S3Uri:
    scheme: ClassVar[str] = "s3"
    bucket: str
    prefix: str = ""
    region: str | None = None


@dataclass(frozen=True)
class OciUri:
    scheme: ClassVar[str] = "oci"
    namespace: str
    bucket: str
    prefix: str = ""
    region: str | None = None


@dataclass(frozen=True)
class GcsUri:
    scheme: ClassVar[str] = "gs"
    bucket: str
    object: str = ""


@dataclass(frozen=True)
class AzureUri:
    scheme: ClassVar[str] = "az"
    account: str
    container: str
    blob_path: str = ""


@dataclass(frozen=True)
class GitHubUri:
    scheme: ClassVar[str] = "github"
    owner: str
    repository: str
    tag: str = "latest"


@dataclass(frozen=True)
class VendorUri:
    scheme: ClassVar[str] = "vendor"
    vendor: str
    resource_type: str
    resource_path: str


StorageUri = HfUri | LocalUri | PvcUri | S3Uri | OciUri | GcsUri | AzureUri | GitHubUri | VendorUri


class _Invalid(ValueError):
    """Raised by the scheme parsers; :func:`parse_storage_uri` adds the URI."""


def parse_storage_uri(uri: str) -> StorageUri:
    """Parse ``uri``; ``ValueError`` names the URI and the problem."""
    scheme, sep, rest = uri.partition("://")
    parser = _PARSERS.get(scheme) if sep else None
    if parser is None:
        known = ", ".join(f"{name}://" for name in _PARSERS)
        raise ValueError(f"invalid storage URI {uri!r}: unknown scheme (expected one of {known})")
    if not rest:
        raise ValueError(f"invalid storage URI {uri!r}: nothing after {scheme}://")
    try:
        return parser(rest)
    except _Invalid as err:
        raise ValueError(f"invalid storage URI {uri!r}: {err}") from None


def _parse_hf(rest: str) -> HfUri:
    repo_id, at, revision = rest.partition("@")
    if at and not revision:
        raise _Invalid("empty revision after '@'")
    parts = repo_id.split("/")
    if len(parts) > 2:
        raise _Invalid(f"model id {repo_id!r} must be 'org/model' or 'model'")
    for part in parts:
        if not _HF_NAME.fullmatch(part) or "--" in part or ".." in part:
            raise _Invalid(
                f"model id part {part!r} must be letters, digits, '-', '_' or '.', "
                "without '--' or '..', and start and end with a letter or digit"
            )
        if len(part) > _HF_NAME_MAX:
            raise _Invalid(f"model id part {part!r} is longer than {_HF_NAME_MAX} characters")
    return HfUri(repo_id, revision) if at else HfUri(repo_id)


def _parse_local(rest: str) -> LocalUri:
    if not rest.startswith("/"):
        raise _Invalid(f"path {rest!r} must be absolute (local:///path/to/model)")
    return LocalUri(posixpath.normpath(rest))


def _parse_pvc(rest: str) -> PvcUri:
    head, slash, subpath = rest.partition("/")
    namespace: str | None = None
    claim = head
    if ":" in head:
        namespace, _, claim = head.partition(":")
        if not _DNS_LABEL.fullmatch(namespace) or len(namespace) > 63:
            raise _Invalid(f"namespace {namespace!r} is not a valid namespace name")
    if not _DNS_SUBDOMAIN.fullmatch(claim) or len(claim) > 253:
        raise _Invalid(f"claim {claim!r} is not a valid PersistentVolumeClaim name")
    subpath = subpath.strip("/")
    if not slash or not subpath:
        raise _Invalid("missing subpath (pvc://[namespace:]claim/subpath)")
    # The subpath is joined under the volume's mount: '..' would leave the volume.
    if ".." in subpath.split("/"):
        raise _Invalid(f"subpath {subpath!r} must not contain '..'")
    return PvcUri(claim, subpath, namespace)


def _parse_s3(rest: str) -> S3Uri:
    head, _, prefix = rest.partition("/")
    bucket, at, region = head.partition("@")
    if at and not region:
        raise _Invalid("empty region after '@'")
    if not _S3_BUCKET.fullmatch(bucket):
        raise _Invalid(
            f"bucket {bucket!r} must be 3-63 lowercase letters, digits, '.' or '-', "
            "starting and ending with a letter or digit"
        )
    return S3Uri(bucket, prefix, region or None)


def _parse_oci(rest: str) -> OciUri:
    if rest.startswith("n/"):
        parts = rest.split("/", 5)
        if len(parts) < 5 or parts[2] != "b" or parts[4] != "o" or not parts[1] or not parts[3]:
            raise _Invalid("expected oci://n/{namespace}/b/{bucket}/o/{prefix}")
        return OciUri(parts[1], parts[3], parts[5] if len(parts) > 5 else "")
    head, _, path = rest.partition("/")
    namespace, at, region = head.partition("@")
    bucket, _, prefix = path.partition("/")
    if not at or not namespace or not region or not bucket:
        raise _Invalid(
            "expected oci://n/{namespace}/b/{bucket}/o/{prefix} "
            "or oci://{namespace}@{region}/{bucket}/{prefix}"
        )
    return OciUri(namespace, bucket, prefix, region)


def _parse_gcs(rest: str) -> GcsUri:
    bucket, _, obj = rest.partition("/")
    if not bucket:
        raise _Invalid("missing bucket (gs://bucket/object)")
    return GcsUri(bucket, obj)


def _parse_azure(rest: str) -> AzureUri:
    account, _, path = rest.partition("/")
    account = account.removesuffix(_AZURE_HOST_SUFFIX)
    container, _, blob_path = path.partition("/")
    if not account or not container:
        raise _Invalid("expected az://{account}/{container}/{path}")
    return AzureUri(account, container, blob_path)


def _parse_github(rest: str) -> GitHubUri:
    repo, at, tag = rest.partition("@")
    owner, slash, repository = repo.partition("/")
    if not slash or not owner or not repository or "/" in repository:
        raise _Invalid("expected github://{owner}/{repository}[@{tag}]")
    if at and not tag:
        raise _Invalid("empty tag after '@'")
    return GitHubUri(owner, repository, tag) if at else GitHubUri(owner, repository)


def _parse_vendor(rest: str) -> VendorUri:
    parts = rest.split("/", 2)
    if len(parts) < 3 or not all(parts):
        raise _Invalid("expected vendor://{vendor}/{resource type}/{resource path}")
    return VendorUri(*parts)


_PARSERS: dict[str, Callable[[str], StorageUri]] = {
    "hf": _parse_hf,
    "local": _parse_local,
    "pvc": _parse_pvc,
    "s3": _parse_s3,
    "oci": _parse_oci,
    "gs": _parse_gcs,
    "az": _parse_azure,
    "github": _parse_github,
    "vendor": _parse_vendor,
}
