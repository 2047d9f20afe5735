"""Bounded retries with exponential backoff, for the failures worth retrying."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import structlog

from ome.agent.download.errors import DownloadError

log = structlog.get_logger("ome.agent.download")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    """Tries in all, the first included (upstream's ``--download-retry 3``)."""
    base_delay: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.2
    """Each delay is stretched by up to this fraction, so that the agents of many nodes
    that failed together do not all come back at the same instant."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be >= 1, not {self.attempts}")
        if self.base_delay < 0 or self.max_delay < self.base_delay or self.jitter < 0:
            raise ValueError("need 0 <= base_delay <= max_delay and jitter >= 0")

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the ``failures``-th failure (1-based)."""
        # The exponent is capped: past 2**60 the delay is max_delay anyway, and ldexp overflows.
        backoff = min(math.ldexp(self.base_delay, min(failures - 1, 60)), self.max_delay)
        return backoff * (1 + self.jitter * rand())

    def wait_after(self, failures: int, err: DownloadError) -> float:
        """The delay after ``err``: the backoff, or longer when the source asked for it
        (a 429 or 503 with Retry-After): coming back sooner only earns another refusal."""
        return max(self.delay(failures), err.retry_after or 0.0)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """An HTTP Retry-After header in seconds from ``now``: delay-seconds or an HTTP-date
    (RFC 9110 10.2.3); None when absent or unreadable, 0 for a date already past."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``attempt`` until it succeeds, fails for good, or ``policy.attempts`` are spent.

    Only a :class:`DownloadError` that is ``retryable`` is retried; the last error is
    raised as it is.
    """
    failures = 0
    while True:
        try:
            return await attempt()
        except DownloadError as err:
            failures += 1
            if not err.retryable or failures >= policy.attempts:
                raise
            delay = policy.wait_after(failures, err)
            log.warning(
                "download failed, will retry", attempt=failures, error=str(err), delay=delay
            )
            await sleep(delay)
