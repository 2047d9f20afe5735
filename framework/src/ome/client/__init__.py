"""The only code that talks HTTP to the Kubernetes API server."""

from ome.client.config import load_configuration
from ome.client.discovery import ResourceInfo
from ome.client.errors import (
    AlreadyExists,
    ApiError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from ome.client.kinds import GVK, gvk_of
from ome.client.resource import ResourceClient
from ome.client.rest import Client, WriteFenced, WriteObserver

__all__ = [
    "GVK",
    "AlreadyExists",
    "ApiError",
    "Client",
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "NotFound",
    "ResourceClient",
    "ResourceInfo",
    "TooManyRequests",
    "Unauthorized",
    "WriteFenced",
    "WriteObserver",
    "gvk_of",
    "load_configuration",
]
