"""The only code that talks HTTP to the Kubernetes API server."""

from ome.client.config import load_configuration
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
from ome.client.rest import Client, WriteFenced

__all__ = [
    "AlreadyExists",
    "ApiError",
    "Client",
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "NotFound",
    "TooManyRequests",
    "Unauthorized",
    "WriteFenced",
    "load_configuration",
]
