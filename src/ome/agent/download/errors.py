"""Why a download failed, in words for the node's status entry."""

from __future__ import annotations

from enum import StrEnum


class FailureReason(StrEnum):
    NOT_FOUND = "NotFound"
    """The repository, revision, file or path does not exist (or is hidden from us)."""
    UNAUTHORIZED = "Unauthorized"
    """The credentials were rejected."""
    FORBIDDEN = "Forbidden"
    """The credentials were accepted but do not give access."""
    INVALID = "Invalid"
    """The source is there but is not a usable model."""
    INCOMPLETE = "Incomplete"
    """A file arrived short or is missing: a truncated transfer."""
    CHECKSUM_MISMATCH = "ChecksumMismatch"
    """A file arrived whole but its content is not the published one."""
    TRANSIENT = "Transient"
    """Network trouble or a server error: worth trying again."""
    UNSUPPORTED = "Unsupported"
    """No downloader for this kind of storage."""


# Worth another attempt: what a flaky network or an overloaded server causes. The others
# need someone to fix the model, the credentials or the source first.
_RETRYABLE = frozenset(
    {FailureReason.TRANSIENT, FailureReason.INCOMPLETE, FailureReason.CHECKSUM_MISMATCH}
)


class DownloadError(Exception):
    """A download failed; ``str(err)`` is the message for the model's status entry."""

    def __init__(
        self, reason: FailureReason, message: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        """Seconds the source asked us to wait before trying again (its Retry-After)."""

    @property
    def retryable(self) -> bool:
        return self.reason in _RETRYABLE


class MissingExtra(ImportError):
    """A storage backend's library is not installed: it comes with an extra of the
    operator's distribution."""

    def __init__(self, scheme: str, extra: str, cause: ImportError) -> None:
        library = cause.name or "its library"
        super().__init__(
            f"{scheme}:// storage needs {library}, which is not installed: "
            f"pip install 'ome-operator[{extra}]'"
        )
        self.extra = extra
