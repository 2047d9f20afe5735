"""The only code that talks HTTP to the Kubernetes API server, layered as client-go:
``transport`` (HTTP/1.1) and ``rest`` (JSON requests) at the bottom, ``discovery`` and
``resource`` on top of them, and
``client`` composing them into the :class:`Client` most code uses."""

from ome.client.client import Client
from ome.client.config import ConfigError, load_configuration
from ome.client.configuration import Configuration
from ome.client.discovery import ResourceInfo, RESTMapper
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
from ome.client.fencing import delete_preconditions, fenced, newest_seen, version_of
from ome.client.kinds import GVK, Kind, NamedKind, gvk_of
from ome.client.objects import KubeObject, MutableKubeObject
from ome.client.resource import ResourceClient
from ome.client.rest import RequestBody, RESTClient, WriteFenced, WriteObserver
from ome.client.transport import IdleTimeout, TransportError

__all__ = [
    "GVK",
    "AlreadyExists",
    "ApiError",
    "Client",
    "ConfigError",
    "Configuration",
    "Conflict",
    "Forbidden",
    "Gone",
    "IdleTimeout",
    "Invalid",
    "Kind",
    "KubeObject",
    "MutableKubeObject",
    "NamedKind",
    "NotFound",
    "RESTClient",
    "RESTMapper",
    "RequestBody",
    "ResourceClient",
    "ResourceInfo",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "WriteFenced",
    "WriteObserver",
    "delete_preconditions",
    "fenced",
    "gvk_of",
    "load_configuration",
    "newest_seen",
    "version_of",
]
