"""``s3://bucket[@region]/prefix`` models: fetched with boto3 from S3 or any service
that speaks its API (``--s3-endpoint`` or ``$AWS_ENDPOINT_URL``).

Each attempt (:class:`~ome.agent.download.attempt.StagedAttempt`) lists the objects under
``prefix/`` (size and ETag) and streams each one not yet in the staging directory into
``{name}.{etag digest}.incomplete``, several at once. An interrupted object resumes with a range
request that also requires the listed ETag (an object replaced meanwhile answers 412 and
starts over); a finished one is checked against its ETag where that is the content's MD5
(single-part uploads not encrypted with KMS), then renamed.

Credentials: the model's Secret (``storage.key``) with ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN`` if temporary); without a Secret,
the agent's own AWS identity (environment, web identity, instance profile).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ome.agent.download.errors import DownloadError, FailureReason, MissingExtra

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
except ImportError as missing:
    raise MissingExtra("s3", "s3", missing) from missing

from ome.agent.download.attempt import StagedAttempt
from ome.agent.download.base import DownloadRequest, DownloadResult
from ome.agent.download.manifest import (
    ExpectedFile,
    Manifest,
    completed,
    safe_relative_path,
)
from ome.agent.download.retry import retry_after_seconds, retrying
from ome.agent.download.settings import S3Settings
from ome.agent.download.threads import Cancelled, check
from ome.agent.progress import Progress, ProgressCallback
from ome.agent.storage_uri import S3Uri

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


ACCESS_KEY = "AWS_ACCESS_KEY_ID"
SECRET_KEY = "AWS_SECRET_ACCESS_KEY"
SESSION_TOKEN = "AWS_SESSION_TOKEN"
_PARTIAL = ".incomplete"
_CHUNK = 1024 * 1024
_PLAIN_MD5 = re.compile(r"[0-9a-f]{32}")
_KMS = ("aws:kms", "aws:kms:dsse")


@dataclass(frozen=True)
class _Object:
    key: str
    etag: str
    file: ExpectedFile


class S3Downloader:
    """Downloads ``s3://`` models; one instance serves every model of the node."""

    def __init__(self, settings: S3Settings | None = None) -> None:
        self.settings = settings or S3Settings()

    async def download(
        self, request: DownloadRequest, on_progress: ProgressCallback | None = None
    ) -> DownloadResult:
        uri = request.uri
        if not isinstance(uri, S3Uri):
            raise DownloadError(FailureReason.UNSUPPORTED, f"not an s3:// URI: {uri}")
        # Building a client reads botocore's service models from disk: not on the loop.
        client = await asyncio.to_thread(s3_client, self.settings, uri, request.secret)
        attempt = _Attempt(self.settings, client, uri, request.dest, on_progress or _ignore)
        return await retrying(attempt.run, self.settings.retry)


def s3_client(settings: S3Settings, uri: S3Uri, secret: Mapping[str, str]) -> S3Client:
    """A client for the bucket of ``uri``, with the Secret's key pair if it has one."""
    credentials: dict[str, Any] = {}
    if secret:
        if not (secret.get(ACCESS_KEY) and secret.get(SECRET_KEY)):
            raise DownloadError(
                FailureReason.UNAUTHORIZED,
                f"spec.storage.key: the Secret has no {ACCESS_KEY} and {SECRET_KEY}",
            )
        credentials = {
            "aws_access_key_id": secret[ACCESS_KEY],
            "aws_secret_access_key": secret[SECRET_KEY],
            "aws_session_token": secret.get(SESSION_TOKEN) or None,
        }
    session = boto3.session.Session(region_name=uri.region, **credentials)
    config = Config(
        connect_timeout=10,
        read_timeout=60,
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=settings.max_workers,
    )
    return session.client("s3", endpoint_url=settings.endpoint, config=config)


class _Attempt(StagedAttempt):
    def __init__(
        self,
        settings: S3Settings,
        client: S3Client,
        uri: S3Uri,
        dest: Path,
        report: ProgressCallback,
    ) -> None:
        self.prefix = f"{uri.prefix.strip('/')}/" if uri.prefix.strip("/") else ""
        super().__init__(
            dest, f"s3://{uri.bucket}/{self.prefix}", report, settings.progress_interval
        )
        self.settings = settings
        self.client = client
        self.uri = uri
        self.objects: dict[str, _Object] = {}
        """The listed objects by their path in the model."""

    def measure(self, stage: Path, files: Sequence[ExpectedFile]) -> tuple[int, int]:
        done_bytes, done_files = completed(stage, files)
        for file in files:
            partial = partial_path(stage, file.path, self.objects[file.path].etag)
            with contextlib.suppress(OSError):  # renamed into place while we look
                done_bytes += partial.stat().st_size
        return done_bytes, done_files

    def finalize(self, stage: Path, manifest: Manifest) -> None:
        for leftover in stage.rglob(f"*{_PARTIAL}"):
            leftover.unlink(missing_ok=True)
        super().finalize(stage, manifest)

    def list_files(self, cancel: threading.Event) -> Manifest:
        objects = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.uri.bucket, Prefix=self.prefix
            )
            for page in pages:
                check(cancel)
                for entry in page.get("Contents", []):
                    key = entry["Key"]
                    if key.endswith("/"):  # a folder marker, not a file
                        continue
                    path = safe_relative_path(key[len(self.prefix) :], self.source)
                    etag = entry.get("ETag", "").strip('"')
                    objects.append(_Object(key, etag, ExpectedFile(path, entry["Size"])))
        except (Cancelled, DownloadError):
            raise
        except Exception as err:
            raise self._classify(err) from err
        if not objects:
            raise DownloadError(FailureReason.NOT_FOUND, f"no objects under {self.source}")
        self.objects = {o.file.path: o for o in objects}
        # The ETags stand for the content: a replaced object makes a new revision.
        listing = "\n".join(f"{o.key} {o.etag}" for o in objects)
        revision = f"etags:{hashlib.sha256(listing.encode()).hexdigest()[:16]}"
        return Manifest(revision, tuple(o.file for o in objects))

    def fetch(self, cancel: threading.Event, stage: Path, manifest: Manifest) -> None:
        objects = [self.objects[f.path] for f in manifest.files]
        with ThreadPoolExecutor(self.settings.max_workers, "ome-s3") as pool:
            futures = [pool.submit(self._fetch_one, cancel, stage, o) for o in objects]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                cancel.set()  # the others stop at their next chunk
                raise

    def _fetch_one(self, cancel: threading.Event, stage: Path, obj: _Object) -> None:
        target = stage / obj.file.path
        if target.is_file() and target.stat().st_size == obj.file.size:
            return
        partial = partial_path(stage, obj.file.path, obj.etag)
        partial.parent.mkdir(parents=True, exist_ok=True)
        have = partial.stat().st_size if partial.exists() else 0
        if have > obj.file.size:
            partial.unlink()
            have = 0
        try:
            encryption = self._stream(cancel, obj, partial, have)
        except (Cancelled, DownloadError):
            raise
        except Exception as err:
            if _code(err) in ("PreconditionFailed", "412"):
                partial.unlink(missing_ok=True)  # the object changed: start it over
            raise self._classify(err, obj.key) from err
        # The ETag is the content's MD5 for single-part uploads not encrypted with KMS.
        md5_etag = _PLAIN_MD5.fullmatch(obj.etag) and encryption not in _KMS
        if md5_etag and _md5(partial, cancel) != obj.etag:
            partial.unlink()
            raise DownloadError(
                FailureReason.CHECKSUM_MISMATCH,
                f"corrupt download of {self.source}: {obj.file.path} does not match its ETag",
            )
        partial.rename(target)

    def _stream(self, cancel: threading.Event, obj: _Object, partial: Path, have: int) -> str:
        """Append the object's bytes from ``have`` on; its server-side encryption."""
        request: dict[str, Any] = {"Bucket": self.uri.bucket, "Key": obj.key}
        if obj.etag:
            request["IfMatch"] = f'"{obj.etag}"'
        if have == obj.file.size:  # all there, only the encryption is not known
            head = self.client.head_object(**request)
            return str(head.get("ServerSideEncryption", ""))
        if have:
            request["Range"] = f"bytes={have}-"
        response = self.client.get_object(**request)
        with partial.open("ab") as out:
            for chunk in response["Body"].iter_chunks(_CHUNK):
                check(cancel)
                out.write(chunk)
        return str(response.get("ServerSideEncryption", ""))

    def _classify(self, err: BaseException, key: str | None = None) -> DownloadError:
        """A message that says what went wrong in the user's terms."""
        where = f"s3://{self.uri.bucket}/{key}" if key else self.source
        if isinstance(err, NoCredentialsError):
            return DownloadError(
                FailureReason.UNAUTHORIZED,
                f"no AWS credentials for {where}: give the model a Secret (storage.key) with "
                f"{ACCESS_KEY} and {SECRET_KEY}, or the agent an AWS identity",
            )
        if isinstance(err, ClientError):
            code = _code(err)
            said = err.response.get("Error", {}).get("Message") or code
            if code in ("NoSuchBucket", "NoSuchKey", "404", "NotFound"):
                return DownloadError(FailureReason.NOT_FOUND, f"{where} not found ({said})")
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
                return DownloadError(
                    FailureReason.UNAUTHORIZED,
                    f"S3 rejected the credentials for {where} ({code}): check the Secret "
                    "named by storage.key",
                )
            if code in ("AccessDenied", "403", "AllAccessDisabled"):
                return DownloadError(
                    FailureReason.FORBIDDEN, f"the credentials may not read {where} ({said})"
                )
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            transient = status in (412, 429) or status >= 500 or code == "SlowDown"
            reason = FailureReason.TRANSIENT if transient else FailureReason.INVALID
            headers = err.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            wait = retry_after_seconds(headers.get("retry-after"))
            return DownloadError(
                reason, f"S3 answered {code} for {where}: {said}", retry_after=wait
            )
        if isinstance(err, BotoCoreError):
            return DownloadError(FailureReason.TRANSIENT, f"cannot reach S3 for {where}: {err}")
        return DownloadError(FailureReason.TRANSIENT, f"downloading {where} failed: {err!r}")


def partial_path(stage: Path, path: str, etag: str) -> Path:
    """Where the object with ``etag`` is being written: named after the ETag, so that
    bytes of an older version are never continued with a newer one's."""
    tag = hashlib.sha256(etag.encode()).hexdigest()[:12]
    return stage / f"{path}.{tag}{_PARTIAL}"


def _code(err: BaseException) -> str:
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code", ""))
    return ""


def _md5(path: Path, cancel: threading.Event) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as source:
        while chunk := source.read(8 * _CHUNK):
            check(cancel)
            digest.update(chunk)
    return digest.hexdigest()


def _ignore(_: Progress) -> None:
    pass
