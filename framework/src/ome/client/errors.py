"""API errors as typed exceptions, built from the server's Status object."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """An error answer from the API server.

    ``reason`` is the Status reason (``NotFound``, ``AlreadyExists`` …), ``causes`` the
    per-field causes of an Invalid answer as ``(field, message)`` pairs.
    """

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        causes: tuple[tuple[str, str], ...] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.causes = causes
        self.retry_after = retry_after


class Unauthorized(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    """The object changed since it was read (a stale resourceVersion)."""


class AlreadyExists(Conflict):
    pass


class Gone(ApiError):
    """The requested resourceVersion is too old (compacted): relist."""


class Invalid(ApiError):
    pass


class TooManyRequests(ApiError):
    pass


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
}


def _retry_after(headers: Mapping[str, str], details: Mapping[str, Any]) -> float | None:
    value = headers.get("retry-after") or details.get("retryAfterSeconds")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def error_from_response(status: int, body: bytes, headers: Mapping[str, str]) -> ApiError:
    """Map an error answer to the most specific ApiError subclass (``headers`` by
    lower-case name, as :class:`~ome.client.transport.Answer` holds them)."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        document = {"message": body.decode("utf-8", "replace").strip() or f"HTTP {status}"}
    reason = str(document.get("reason") or "")
    details = document.get("details") or {}
    causes = tuple(
        (str(c.get("field", "")), str(c.get("message", "")))
        for c in details.get("causes") or ()
        if isinstance(c, dict)
    )
    cls = AlreadyExists if reason == "AlreadyExists" else _BY_STATUS.get(status, ApiError)
    return cls(
        status,
        reason or cls.__name__,
        str(document.get("message", "")),
        causes,
        _retry_after(headers, details),
    )
