"""Operations on one kind of resource, for dicts or for pydantic models.

    deployments = await client.resource(GVK("apps", "v1", "Deployment"))
    await deployments.apply(desired, field_manager="ome-controller", force=True)
    services = await client.resource(InferenceService)   # returns InferenceService models

Models are sent as ``model_dump(by_alias=True, exclude_unset=True, mode="json")`` and
answers parsed with ``model_validate``; dicts pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar

import pydantic

from ome.client.discovery import ResourceInfo
from ome.client.media import APPLY_PATCH, JSON, JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH
from ome.client.objects import KubeObject, MutableKubeObject
from ome.client.rest import RESTClient

T_co = TypeVar("T_co", covariant=True)
Body = KubeObject | pydantic.BaseModel
"""What can be sent: an object, or a model that dumps to one."""
Patch = KubeObject | Sequence[KubeObject]
"""A merge or strategic-merge patch document, or a list of JSON-patch operations."""
PatchType = Literal["merge", "json", "strategic"]
PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": MERGE_PATCH,
    "json": JSON_PATCH,
    # Built-in kinds only: the API server answers 415 for custom resources.
    "strategic": STRATEGIC_MERGE_PATCH,
}
LIST_PAGE = 500


def encode(obj: Body) -> MutableKubeObject:
    if isinstance(obj, pydantic.BaseModel):
        dumped: dict[str, Any] = obj.model_dump(by_alias=True, exclude_unset=True, mode="json")
        return dumped
    return dict(obj)


class ResourceClient(Generic[T_co]):
    def __init__(
        self, client: RESTClient, info: ResourceInfo, decode: Callable[[KubeObject], T_co]
    ) -> None:
        self.client = client
        self.info = info
        self._decode = decode

    def _object_path(self, obj: KubeObject, subresource: str = "") -> str:
        meta = obj.get("metadata") or {}
        return self.info.path(meta.get("namespace"), meta["name"], subresource)

    def _with_kind(self, body: MutableKubeObject) -> MutableKubeObject:
        body.setdefault("apiVersion", self.info.api_version)
        body.setdefault("kind", self.info.kind)
        return body

    async def get(self, name: str, namespace: str | None = None) -> T_co:
        return self._decode(await self.client.get(self.info.path(namespace, name)))

    async def list(
        self,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[T_co]:
        """Every object, read in pages of 500."""
        query: dict[str, str | int] = {"limit": LIST_PAGE}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        items: list[T_co] = []
        while True:
            page = await self.client.get(self.info.path(namespace), query=query)
            items += [self._decode(self._with_kind(item)) for item in page.get("items") or []]
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items
            query["continue"] = token

    async def create(self, obj: Body, *, dry_run: bool = False, strict: bool = False) -> T_co:
        body = self._with_kind(encode(obj))
        query = _write_query(dry_run=dry_run, strict=strict)
        namespace = (body.get("metadata") or {}).get("namespace")
        return self._decode(
            await self.client.request("POST", self.info.path(namespace), query=query, body=body)
        )

    async def update(self, obj: Body, *, subresource: str = "") -> T_co:
        """Replace the object; with metadata.resourceVersion set, a concurrent change makes
        this fail with Conflict instead of being overwritten."""
        body = self._with_kind(encode(obj))
        path = self._object_path(body, subresource)
        return self._decode(await self.client.request("PUT", path, body=body))

    async def patch(
        self,
        name: str,
        patch: Patch,
        namespace: str | None = None,
        *,
        patch_type: PatchType = "merge",
        subresource: str = "",
    ) -> T_co:
        path = self.info.path(namespace, name, subresource)
        content_type = PATCH_CONTENT_TYPES[patch_type]
        answer = await self.client.request("PATCH", path, body=patch, content_type=content_type)
        return self._decode(answer)

    async def apply(
        self, obj: Body, *, field_manager: str, force: bool = False, subresource: str = ""
    ) -> T_co:
        """Server-side apply: the fields in ``obj`` become owned by ``field_manager``."""
        body = self._with_kind(encode(obj))
        path = self._object_path(body, subresource)
        query: dict[str, str | bool] = {"fieldManager": field_manager, "force": force}
        answer = await self.client.request(
            "PATCH", path, query=query, body=body, content_type=APPLY_PATCH
        )
        return self._decode(answer)

    async def delete(
        self,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: Literal["Foreground", "Background", "Orphan"] | None = None,
        preconditions: Mapping[str, str] | None = None,
    ) -> KubeObject:
        """Delete; ``preconditions`` ({"uid": …} or {"resourceVersion": …}) make it fail
        with Conflict when the object is not the one you meant."""
        options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = dict(preconditions)
        return await self.client.request(
            "DELETE", self.info.path(namespace, name), body=options, content_type=JSON
        )

    async def update_status(self, obj: Body) -> T_co:
        return await self.update(obj, subresource="status")

    async def patch_status(
        self,
        name: str,
        patch: Patch,
        namespace: str | None = None,
        *,
        patch_type: PatchType = "merge",
    ) -> T_co:
        return await self.patch(name, patch, namespace, patch_type=patch_type, subresource="status")

    async def apply_status(self, obj: Body, *, field_manager: str, force: bool = False) -> T_co:
        return await self.apply(obj, field_manager=field_manager, force=force, subresource="status")


def _write_query(*, dry_run: bool, strict: bool) -> dict[str, str]:
    query = {}
    if dry_run:
        query["dryRun"] = "All"
    if strict:
        query["fieldValidation"] = "Strict"
    return query
