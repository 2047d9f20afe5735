"""The reconcile of one model on this node: download it when it is meant for the node,
remove it when it no longer is, and report either way.

State kept in memory (rebuilt after a restart from the caches and the node's ConfigMap,
and from the verified copies on disk, which are not fetched again):

- ``_outcomes``: per model, the fingerprint (:func:`~ome.agent.placement.fingerprint`)
  of the last finished attempt, whether it ended Ready or Failed, and when to try again;
- ``_places``: where each model's files were put, to remove them after the model is gone;
- ``_reported``: the keys an earlier run left in the ConfigMap, so models deleted while
  the agent was down are cleaned up too.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from ome.agent import finetuned
from ome.agent.download import (
    DownloadError,
    Downloaders,
    DownloadRequest,
    FailureReason,
    RetryPolicy,
    discard,
)
from ome.agent.download.local import LocalDownloader
from ome.agent.eligibility import InvalidNodeSelectorError, is_eligible
from ome.agent.metadata import (
    MetadataError,
    ModelMetadata,
    backfill,
    read_model_metadata,
    skips_config_parsing,
)
from ome.agent.metrics import AgentMetrics
from ome.agent.placement import (
    PlacementError,
    destination,
    fingerprint,
    is_inside,
    pvc_path,
    token_source,
)
from ome.agent.progress import ProgressDisplay
from ome.agent.publisher import NodeStatusPublisher, ProgressReporter
from ome.agent.remote_metadata import MetadataSources, MetadataUnavailable, model_metadata
from ome.agent.status import (
    RESERVE_MODEL_ARTIFACT_LABEL,
    ModelEntry,
    ModelRef,
    ModelStatus,
    configmap_key,
    parse_configmap_key,
)
from ome.agent.storage_uri import LocalUri, PvcUri, S3Uri, StorageUri, parse_storage_uri
from ome.agent.tasks import Downloads
from ome.client import Client, NotFound
from ome.controllers.kinds import BASEMODEL, CLUSTERBASEMODEL, FINETUNEDWEIGHT, SECRET
from ome.informers import SharedInformer, Store
from ome.runtime import Request, Result
from ome.runtime.controller import Reconciler
from ome.workqueue import RateLimitingQueue

log = structlog.get_logger("ome.agent")
METADATA_CACHE = ".metadata"
"""Below the models root: the metadata files a simulating agent fetched."""


@dataclass(frozen=True)
class AgentSettings:
    node_name: str
    models_root: Path
    namespace: str = "ome"
    """Where the node status ConfigMaps are, and ClusterBaseModels' Secrets."""
    pod_name: str | None = None
    """The agent's own pod, in ``namespace``: its DaemonSet owns the status ConfigMap."""
    pvc_root: Path | None = None
    """Where this node has claims mounted (``{pvc_root}/{namespace}/{claim}``); None:
    ``pvc://`` models are not for this agent."""
    concurrency: int = 4
    simulate: bool = False
    """For fake nodes (``ome run --local``): do not fetch the weights, only the metadata
    files (:mod:`~ome.agent.remote_metadata`), back-fill the spec from them and report the
    model Ready. Metadata out of reach fails the model only when its spec lacks what
    serving needs (``modelFormat.name`` and ``modelArchitecture``)."""
    model_metadata: Path | None = None
    """``--model-metadata DIR``: metadata supplied per model, used before any fetch."""
    progress_interval: float = 5.0
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(attempts=1, base_delay=10.0, max_delay=300.0)
    )
    """When to try a Failed model again (a fixed Secret or source is not watched)."""

    def __post_init__(self) -> None:
        if not self.node_name:
            raise ValueError("node_name is required (the agent reports about its node)")
        if not self.models_root.is_absolute():
            raise ValueError(f"models_root must be an absolute path, got {self.models_root}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")


@dataclass(frozen=True)
class _Place:
    path: Path
    owned: bool
    """Downloaded by this agent, so removed with the model."""


@dataclass
class _Outcome:
    fingerprint: str
    status: ModelStatus
    failures: int = 0
    retry_at: float = 0.0


class NodeAgent:
    def __init__(
        self,
        settings: AgentSettings,
        *,
        client: Client,
        stores: Mapping[str, SharedInformer],
        node_store: Store,
        downloaders: Downloaders,
        metrics: AgentMetrics,
        publisher: NodeStatusPublisher,
        metadata_sources: MetadataSources | None = None,
        progress_display: ProgressDisplay | None = None,
    ) -> None:
        """``stores``: the model informers by kind (BaseModel, ClusterBaseModel and, for
        an agent that serves fine-tuned weights, FineTunedWeight); ``metadata_sources``:
        where a simulating agent reads metadata from; ``progress_display``: where a
        foreground run shows downloads as they go."""
        self.settings = settings
        self.client = client
        self.stores = stores
        self.node_store = node_store
        self.downloaders = downloaders
        self.metrics = metrics
        self.publisher = publisher
        self.metadata_sources = metadata_sources or MetadataSources(
            supplied=settings.model_metadata
        )
        self.progress_display = progress_display
        self.downloads = Downloads(self._wake)
        self.wake: dict[str, RateLimitingQueue[Request]] = {}
        """Per kind, the queue of its controller: a finished download requeues its model."""
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._outcomes: dict[ModelRef, _Outcome] = {}
        self._places: dict[ModelRef, _Place] = {}
        self._reported: set[str] = set()

    async def load_reported(self) -> list[ModelRef]:
        """What an earlier run of this agent reported; the caller reconciles those."""
        keys = await self.publisher.reported()
        self._reported = set(keys)
        return [ref for key in keys if (ref := parse_configmap_key(key)) is not None]

    def _wake(self, ref: ModelRef) -> None:
        queue = self.wake.get(ref.kind)
        if queue is not None:
            queue.add(Request(ref.namespace or "", ref.name))

    # -- the reconcile ---------------------------------------------------------------

    def reconciler(self, kind: str) -> Reconciler:
        async def reconcile(request: Request) -> Result | None:
            fine_tuned = kind == finetuned.KIND
            ref = ModelRef(request.name, request.namespace or None, fine_tuned=fine_tuned)
            return await self.reconcile(ref, kind)

        return reconcile

    async def reconcile(self, ref: ModelRef, kind: str) -> Result | None:
        key = f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name
        model = self.stores[kind].store.get(key)
        node = self.node_store.get(self.settings.node_name)
        if node is None:
            log.warning("node not found; waiting for it", node=self.settings.node_name)
            return Result(requeue_after=10.0)
        if model is None or model["metadata"].get("deletionTimestamp"):
            await self._remove(ref, model)
            return None
        storage = (model.get("spec") or {}).get("storage") or {}
        labels = node["metadata"].get("labels") or {}
        wanted = self._fingerprint(ref, model)
        try:
            eligible = is_eligible(storage, self.settings.node_name, labels)
        except InvalidNodeSelectorError as err:
            await self._fail(ref, wanted, FailureReason.INVALID, str(err))
            return None
        # a fine-tuned weight goes where its base model is ready
        eligible = eligible and (not ref.fine_tuned or finetuned.base_model_ready(model, labels))
        if not eligible or self._is_pvc_elsewhere(storage):
            await self._remove(ref, model)
            return None
        if self.downloads.fingerprint(ref) == wanted:
            return None
        await self.downloads.cancel(ref)
        outcome = self._outcomes.get(ref)
        if outcome is not None and outcome.fingerprint == wanted:
            if outcome.status is ModelStatus.READY:
                return None
            wait = outcome.retry_at - time.monotonic()
            if wait > 0:
                return Result(requeue_after=wait)
        self.downloads.start(ref, wanted, self._fetch(ref, model, wanted))
        return None

    def _fingerprint(self, ref: ModelRef, model: Mapping[str, Any]) -> str:
        if not ref.fine_tuned:
            return fingerprint(model)
        try:
            uri: StorageUri | None = _parse_uri((model.get("spec") or {}).get("storage") or {})
        except PlacementError:
            uri = None
        return fingerprint(finetuned.fingerprint_basis(model, uri, self.settings.models_root))

    def _is_pvc_elsewhere(self, storage: Mapping[str, Any]) -> bool:
        """A pvc:// model belongs only to agents that have claims mounted."""
        uri = str(storage.get("storageUri") or "")
        return uri.startswith("pvc://") and self.settings.pvc_root is None

    # -- fetching --------------------------------------------------------------------

    async def _fetch(self, ref: ModelRef, model: Mapping[str, Any], wanted: str) -> None:
        async with self._slots:
            self.metrics.downloads_active.inc()
            started = time.monotonic()
            try:
                await self._fetch_one(ref, model, wanted)
                self.metrics.download_duration.observe(time.monotonic() - started)
            except (DownloadError, PlacementError, MetadataError) as err:
                reason = err.reason if isinstance(err, DownloadError) else FailureReason.INVALID
                retry_after = err.retry_after if isinstance(err, DownloadError) else None
                await self._fail(ref, wanted, reason, str(err), retry_after)
            except Exception:
                # The cluster refused a report (or worse): try again later, not at once.
                log.exception("model attempt crashed", model=str(ref))
                self._record_failure(ref, wanted)
            finally:
                self.metrics.downloads_active.dec()

    async def _fetch_one(self, ref: ModelRef, model: Mapping[str, Any], wanted: str) -> None:
        spec = model.get("spec") or {}
        storage = spec.get("storage") or {}
        uri = _parse_uri(storage)
        if self.settings.simulate:
            if ref.fine_tuned:
                placed = finetuned.published_path(storage, uri, self.settings.models_root)
                await self._backfill_weight(ref, model, finetuned.Checked(), placed)
                await self.publisher.publish(ref, ModelEntry(ref.name, ModelStatus.READY))
                self._outcomes[ref] = _Outcome(wanted, ModelStatus.READY)
            else:
                await self._simulate(ref, model, wanted, uri)
            return
        dest = self._place(ref, storage, uri)
        previous = self._outcomes.get(ref)
        if previous is None or previous.status is not ModelStatus.READY:
            await self.publisher.publish(ref, ModelEntry(ref.name, ModelStatus.UPDATING))
        token, secret = await self._credentials(storage, ref, uri)
        reporter = ProgressReporter(
            self.publisher, ref, self.settings.progress_interval, self.progress_display
        )
        try:
            if isinstance(uri, PvcUri):
                result = await LocalDownloader().download(
                    DownloadRequest(LocalUri(str(dest)), dest), reporter
                )
            else:
                result = await self.downloaders.download(
                    DownloadRequest(uri, dest, token, secret), reporter
                )
        finally:
            await reporter.close()
        metadata = None
        if ref.fine_tuned:
            checked = await asyncio.to_thread(finetuned.check_weight, model, result.path)
            placed = finetuned.published_path(storage, uri, self.settings.models_root)
            await self._backfill_weight(ref, model, checked, placed)
        elif not skips_config_parsing(model["metadata"].get("annotations")):
            metadata = await asyncio.to_thread(_metadata_of, result.path)
            if metadata is not None:
                await self._backfill(ref, model, metadata)
        await self.publisher.publish(ref, ModelEntry(ref.name, ModelStatus.READY, config=metadata))
        self._outcomes[ref] = _Outcome(wanted, ModelStatus.READY)
        self.metrics.downloads_success.inc()
        if not result.reused:
            self.metrics.download_bytes.inc(result.bytes)
        log.info("model ready", model=str(ref), path=str(result.path), reused=result.reused)

    async def _simulate(
        self, ref: ModelRef, model: Mapping[str, Any], wanted: str, uri: StorageUri
    ) -> None:
        """What a download would report, from the metadata files alone."""
        spec = model.get("spec") or {}
        metadata, problem = None, None
        if not skips_config_parsing(model["metadata"].get("annotations")):
            try:
                metadata = await self._remote_metadata(ref, spec, uri)
            except (MetadataUnavailable, MetadataError) as err:
                problem = _remedy(str(err), ref)
            if metadata is not None:
                await self._backfill(ref, model, metadata)
        if problem is not None and not _servable(spec):
            await self._fail(ref, wanted, FailureReason.NOT_FOUND, problem)
            return
        entry = ModelEntry(ref.name, ModelStatus.READY, config=metadata, message=problem)
        await self.publisher.publish(ref, entry)
        self._outcomes[ref] = _Outcome(wanted, ModelStatus.READY)

    async def _remote_metadata(
        self, ref: ModelRef, spec: Mapping[str, Any], uri: StorageUri
    ) -> ModelMetadata:
        storage = spec.get("storage") or {}
        try:
            token, secret = await self._credentials(storage, ref, uri)
        except DownloadError:
            # A fake cluster rarely has the catalogue's Secrets: public models need none.
            token, secret = None, {}
        cache = self.settings.models_root / METADATA_CACHE
        return await asyncio.to_thread(
            model_metadata,
            ref.name,
            str(storage["storageUri"]),
            cache,
            self.metadata_sources,
            token=token,
            secret=secret,
        )

    def _place(self, ref: ModelRef, storage: Mapping[str, Any], uri: StorageUri) -> Path:
        """Where the model goes, remembered so its files can be removed after it."""
        place = self._places[ref] = self._where(ref, storage, uri)
        return place.path

    def _where(self, ref: ModelRef, storage: Mapping[str, Any], uri: StorageUri) -> _Place:
        if isinstance(uri, PvcUri):
            if self.settings.pvc_root is None:
                raise PlacementError("this agent has no claims mounted (--pvc-root)")
            dest = pvc_path(uri, ref.namespace, self.settings.pvc_root)
        else:
            dest = destination(storage, uri, self.settings.models_root)
        # Files read where they are (local://, pvc://) are never this agent's to remove.
        return _Place(dest, owned=not isinstance(uri, LocalUri | PvcUri))

    async def _credentials(
        self, storage: Mapping[str, Any], ref: ModelRef, uri: StorageUri
    ) -> tuple[str | None, dict[str, str]]:
        """The token, and the whole Secret named by ``storage.key`` (decoded) for sources
        that need more than a token (an S3 key pair)."""
        source = token_source(storage, ref.namespace, self.settings.namespace)
        if source is None or source.secret_name is None:  # none, or given inline
            return (None if source is None else source.inline), {}
        secrets = await self.client.resource(SECRET)
        where = f"{source.secret_namespace}/{source.secret_name}"
        try:
            secret = await secrets.get(source.secret_name, source.secret_namespace)
        except NotFound:
            raise DownloadError(
                FailureReason.UNAUTHORIZED, f"spec.storage.key: Secret {where} not found"
            ) from None
        data = {
            key: base64.b64decode(value).decode(errors="replace").strip()
            for key, value in (secret.get("data") or {}).items()
        }
        token = data.get(source.secret_key)
        if token is None and not isinstance(uri, S3Uri):
            raise DownloadError(
                FailureReason.UNAUTHORIZED,
                f"spec.storage.key: Secret {where} has no key {source.secret_key!r}",
            )
        return token, data

    async def _backfill(
        self, ref: ModelRef, model: Mapping[str, Any], metadata: ModelMetadata
    ) -> None:
        spec = model.get("spec") or {}
        filled = backfill(spec, metadata)
        changes = {key: value for key, value in filled.items() if spec.get(key) != value}
        if not changes:
            return
        models = await self.client.resource(
            CLUSTERBASEMODEL if ref.namespace is None else BASEMODEL
        )
        try:
            await models.patch(ref.name, {"spec": changes}, ref.namespace)
        except NotFound:
            return

    async def _backfill_weight(
        self,
        ref: ModelRef,
        weight: Mapping[str, Any],
        checked: finetuned.Checked,
        placed: Path | None,
    ) -> None:
        changes = finetuned.backfill(weight, checked, placed)
        if not changes:
            return
        weights = await self.client.resource(FINETUNEDWEIGHT)
        try:
            await weights.patch(ref.name, {"spec": changes})
        except NotFound:
            return

    async def _fail(
        self,
        ref: ModelRef,
        wanted: str,
        reason: FailureReason,
        message: str,
        retry_after: float | None = None,
    ) -> None:
        self._record_failure(ref, wanted, retry_after)
        self.metrics.downloads_failed.labels(str(reason)).inc()
        log.warning("model failed", model=str(ref), reason=str(reason), error=message)
        await self.publisher.publish(ref, ModelEntry(ref.name, ModelStatus.FAILED, message=message))

    def _record_failure(self, ref: ModelRef, wanted: str, retry_after: float | None = None) -> None:
        previous = self._outcomes.get(ref)
        failures = previous.failures + 1 if previous and previous.fingerprint == wanted else 1
        # The source's Retry-After, when it gave one, outweighs a shorter backoff.
        delay = max(self.settings.retry.delay(failures), retry_after or 0.0)
        retry_at = time.monotonic() + delay
        self._outcomes[ref] = _Outcome(wanted, ModelStatus.FAILED, failures, retry_at)

    # -- removing --------------------------------------------------------------------

    async def _remove(self, ref: ModelRef, model: Mapping[str, Any] | None) -> None:
        await self.downloads.cancel(ref)
        known = self._outcomes.pop(ref, None) is not None or ref in self._places
        key = configmap_key(ref)
        if not known and key not in self._reported:
            return
        place = self._places.pop(ref, None) or self._place_of(ref, model)
        if place is not None and self._may_delete(model, place):
            await asyncio.to_thread(discard, place.path)
            log.info("model files removed", model=str(ref), path=str(place.path))
        await self.publisher.publish(ref, None)
        self._reported.discard(key)

    def _place_of(self, ref: ModelRef, model: Mapping[str, Any] | None) -> _Place | None:
        """Where a model reported by an earlier run put its files, from its spec."""
        if model is None:
            return None
        storage = (model.get("spec") or {}).get("storage") or {}
        try:
            return self._where(ref, storage, _parse_uri(storage))
        except PlacementError:
            return None

    def _may_delete(self, model: Mapping[str, Any] | None, place: _Place) -> bool:
        """Only what this agent downloaded, inside its models root, that no other model
        uses and whose model did not ask to keep its files."""
        if not place.owned or not is_inside(place.path, self.settings.models_root):
            return False
        labels = ((model or {}).get("metadata") or {}).get("labels") or {}
        if labels.get(RESERVE_MODEL_ARTIFACT_LABEL) == "true":
            return False
        return not any(_shares(other.path, place.path) for other in self._places.values())


def _shares(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


def _parse_uri(storage: Mapping[str, Any]) -> StorageUri:
    raw = storage.get("storageUri")
    if not raw:
        raise PlacementError("spec.storage.storageUri is required")
    try:
        return parse_storage_uri(str(raw))
    except ValueError as err:
        raise PlacementError(f"spec.storage.storageUri: {err}") from None


def _servable(spec: Mapping[str, Any]) -> bool:
    """The spec names what runtime selection needs without any metadata."""
    model_format = spec.get("modelFormat") or {}
    return bool(model_format.get("name") and spec.get("modelArchitecture"))


def _remedy(problem: str, ref: ModelRef) -> str:
    return (
        f"{problem}. Make it reachable (--hf-endpoint or $HF_ENDPOINT name a Hub mirror, "
        f"--s3-endpoint an S3 service), or supply the metadata with --model-metadata DIR "
        f"holding DIR/{ref.name}/config.json (ome run --local and ome agent take it)"
    )


def _metadata_of(path: Path) -> ModelMetadata | None:
    try:
        return read_model_metadata(path)
    except MetadataError as err:
        log.info("no model metadata", path=str(path), error=str(err))
        return None
