"""How the informers sort failures: what means "relist", what passes by itself, and what
needs a person to fix something (wrong resource, selector or permissions)."""

from __future__ import annotations

from ome.client.errors import ApiError, Gone, TooManyRequests

# Answers that say the request itself is wrong: retrying cannot help until someone
# changes the cluster (installs the CRD, grants RBAC) or the informer's configuration.
NEEDS_A_FIX = frozenset({400, 401, 403, 404, 405, 406, 415, 422})
# The 400/415/422 answers of a server that does not understand a watch-list request.
WATCH_LIST_REFUSED = frozenset({400, 415, 422})


class CacheSyncError(Exception):
    """Informers did not sync: ``failures`` maps each one's name to its latest error (None
    when it had none, only no time). The informers keep retrying in the background."""

    def __init__(self, message: str, failures: dict[str, BaseException | None]) -> None:
        super().__init__(message)
        self.failures = failures


class WatchClosedEarly(Exception):
    """The server closed a watch at once without a single event: something between us
    and the server is cutting watches, and re-watching at full speed would hammer it."""


class InitialEventsIncomplete(Exception):
    """A watch-list ended before the bookmark that marks the end of its initial events."""


def is_expired(err: BaseException) -> bool:
    """The resourceVersion asked for is compacted away (410) or ahead of the server
    (after an etcd restore, or a lagging server): only a relist can continue."""
    return isinstance(err, Gone) or (
        isinstance(err, ApiError) and "too large resource version" in err.message.lower()
    )


def is_transient(err: BaseException) -> bool:
    """Throttling, server trouble and lost connections: retry the same request later."""
    if isinstance(err, ApiError):
        return isinstance(err, TooManyRequests) or err.status >= 500
    return isinstance(err, OSError | ValueError)


def needs_a_fix(err: BaseException | None) -> bool:
    return isinstance(err, ApiError) and err.status in NEEDS_A_FIX


def describe(err: BaseException) -> str:
    """The error for a person: an API error reads "403 Forbidden: ..." by itself."""
    if isinstance(err, ApiError) or not str(err):
        return str(err) or type(err).__name__
    return f"{type(err).__name__}: {err}"
