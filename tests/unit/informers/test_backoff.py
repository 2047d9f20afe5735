"""Reflector backoff: client-go's 0.8 s doubling to 30 s, jitter, reset after quiet."""

from __future__ import annotations

import pytest

from ome.informers import Backoff


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_delays_double_up_to_the_cap_with_no_jitter_drawn() -> None:
    backoff = Backoff(clock=Clock(), rng=lambda: 0.0)
    delays = [backoff.delay() for _ in range(8)]
    assert delays == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]


def test_jitter_stretches_each_delay_by_up_to_itself() -> None:
    backoff = Backoff(clock=Clock(), rng=lambda: 0.5)
    assert backoff.delay() == pytest.approx(1.2)
    assert backoff.delay() == pytest.approx(2.4)
    top = Backoff(clock=Clock(), rng=lambda: 0.999)
    assert top.delay() < 1.6


def test_two_quiet_minutes_start_over() -> None:
    clock = Clock()
    backoff = Backoff(clock=clock, rng=lambda: 0.0)
    for _ in range(5):
        backoff.delay()
    clock.now += 120.0
    assert backoff.delay() == 25.6  # exactly 120 s is not yet quiet enough
    clock.now += 120.1
    assert backoff.delay() == 0.8


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="initial <= cap"):
        Backoff(initial=5, cap=1)
    with pytest.raises(ValueError, match="factor >= 1"):
        Backoff(factor=0.5)
