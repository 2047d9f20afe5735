"""The client most code uses: the REST transport, with discovery and typed resources
on top of it (client-go's layering: rest at the bottom, discovery and resources above).

    async with Client(await load_configuration()) as client:
        deployments = await client.resource(GVK("apps", "v1", "Deployment"))
        services = await client.resource(InferenceService)   # InferenceService models
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, overload

import pydantic

from ome.client.configuration import Configuration
from ome.client.discovery import RESTMapper
from ome.client.kinds import GVK, gvk_of
from ome.client.objects import KubeObject
from ome.client.resource import ResourceClient
from ome.client.rest import DEFAULT_TIMEOUT, RESTClient

M = TypeVar("M", bound=pydantic.BaseModel)


class Client(RESTClient):
    """A :class:`RESTClient` that also maps kinds to resources through discovery."""

    def __init__(
        self,
        configuration: Configuration,
        timeout: float = DEFAULT_TIMEOUT,
        write_guard: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(configuration, timeout, write_guard)
        self.mapper = RESTMapper(self)

    @overload
    async def resource(self, target: type[M]) -> ResourceClient[M]: ...

    @overload
    async def resource(self, target: GVK) -> ResourceClient[KubeObject]: ...

    async def resource(
        self, target: GVK | type[pydantic.BaseModel]
    ) -> ResourceClient[KubeObject] | ResourceClient[pydantic.BaseModel]:
        """Operations on one kind: a GVK (objects in and out) or a pydantic model class with
        ``API_VERSION`` and ``KIND`` (models in and out). Resolved through discovery."""
        gvk = gvk_of(target)
        info = await self.mapper.resource_for(gvk.group, gvk.version, gvk.kind)
        if isinstance(target, type) and issubclass(target, pydantic.BaseModel):
            return ResourceClient(self, info, target.model_validate)
        return ResourceClient[KubeObject](self, info, dict)
