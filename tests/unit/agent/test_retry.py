from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ome.agent.download import DownloadError, FailureReason, RetryPolicy
from ome.agent.download.retry import retry_after_seconds, retrying


class Script:
    """An attempt that fails with the given reasons, then succeeds."""

    def __init__(self, *failures: FailureReason) -> None:
        self.failures = list(failures)
        self.calls = 0
        self.slept: list[float] = []

    async def attempt(self) -> str:
        self.calls += 1
        if self.failures:
            reason = self.failures.pop(0)
            raise DownloadError(reason, f"failure {self.calls}")
        return "done"

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


POLICY = RetryPolicy(attempts=3, base_delay=1.0, max_delay=1.5, jitter=0.0)


async def test_transient_failures_are_retried_with_backoff() -> None:
    script = Script(FailureReason.TRANSIENT, FailureReason.INCOMPLETE)
    assert await retrying(script.attempt, POLICY, script.sleep) == "done"
    assert script.calls == 3
    assert script.slept == [1.0, 1.5]  # doubled, then capped


async def test_retries_are_bounded() -> None:
    script = Script(*[FailureReason.CHECKSUM_MISMATCH] * 5)
    with pytest.raises(DownloadError, match="failure 3"):
        await retrying(script.attempt, POLICY, script.sleep)
    assert script.calls == 3


@pytest.mark.parametrize(
    "reason",
    [
        FailureReason.NOT_FOUND,
        FailureReason.UNAUTHORIZED,
        FailureReason.FORBIDDEN,
        FailureReason.INVALID,
    ],
)
async def test_what_needs_a_fix_is_not_retried(reason: FailureReason) -> None:
    script = Script(reason)
    with pytest.raises(DownloadError, match="failure 1"):
        await retrying(script.attempt, POLICY, script.sleep)
    assert script.calls == 1
    assert script.slept == []


def test_delays() -> None:
    policy = RetryPolicy(base_delay=2.0, max_delay=60.0, jitter=0.5)
    assert [policy.delay(n, rand=lambda: 0.0) for n in (1, 2, 3, 6, 7, 10_000)] == [
        2,
        4,
        8,
        60,
        60,
        60,
    ]
    assert policy.delay(1, rand=lambda: 1.0) == 3.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": 0},
        {"base_delay": -1.0},
        {"base_delay": 5.0, "max_delay": 1.0},
        {"jitter": -0.1},
    ],
)
def test_policy_is_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is the policy's concern
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


async def test_a_retry_after_longer_than_the_backoff_is_waited_out() -> None:
    slept: list[float] = []
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise DownloadError(FailureReason.TRANSIENT, "HTTP 429", retry_after=30.0)
        if calls == 2:
            raise DownloadError(FailureReason.TRANSIENT, "HTTP 503", retry_after=0.5)
        return "done"

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    assert await retrying(attempt, POLICY, sleep) == "done"
    assert slept == [30.0, 1.5]  # the server's wait, then the backoff that is longer


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 120 ", 120.0),
        ("Sun, 06 Dec 2026 12:00:30 GMT", 30.0),
        ("Sun, 06 Dec 2026 11:59:00 GMT", 0.0),  # already past
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(header, now) == seconds
