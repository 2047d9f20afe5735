"""Rate limiters: client-go's formulas and defaults, and refusal of bad parameters."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ome.workqueue import (
    BucketRateLimiter,
    FakeClock,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
)


class TestItemExponential:
    def test_delays_double_from_the_base(self) -> None:
        limiter = ItemExponentialFailureRateLimiter(0.005, 1000.0)
        assert [limiter.when("a") for _ in range(5)] == [0.005, 0.01, 0.02, 0.04, 0.08]
        assert limiter.num_requeues("a") == 5

    def test_keys_back_off_independently(self) -> None:
        limiter = ItemExponentialFailureRateLimiter(1.0, 100.0)
        limiter.when("a")
        limiter.when("a")
        assert limiter.when("b") == 1.0
        assert limiter.num_requeues("a") == 2

    def test_the_default_reaches_its_cap_at_the_nineteenth_failure(self) -> None:
        limiter = ItemExponentialFailureRateLimiter(0.005, 1000.0)
        delays = [limiter.when("a") for _ in range(19)]
        assert delays[17] == 0.005 * 2**17 < 1000.0
        assert delays[18] == 1000.0

    def test_a_long_outage_stays_at_the_cap(self) -> None:
        limiter = ItemExponentialFailureRateLimiter(0.005, 1000.0)
        for _ in range(5000):
            delay = limiter.when("a")
        assert delay == 1000.0
        assert limiter.num_requeues("a") == 5000

    def test_forget_starts_over(self) -> None:
        limiter = ItemExponentialFailureRateLimiter(0.005, 1000.0)
        limiter.when("a")
        limiter.when("a")
        limiter.forget("a")
        assert limiter.num_requeues("a") == 0
        assert limiter.when("a") == 0.005

    def test_forgetting_an_unknown_key_is_harmless(self) -> None:
        ItemExponentialFailureRateLimiter(0.005, 1000.0).forget("never-seen")


class TestItemFastSlow:
    def test_fast_for_the_first_attempts_then_slow(self) -> None:
        limiter = ItemFastSlowRateLimiter(0.1, 10.0, 3)
        assert [limiter.when("a") for _ in range(5)] == [0.1, 0.1, 0.1, 10.0, 10.0]
        assert limiter.num_requeues("a") == 5
        limiter.forget("a")
        assert limiter.when("a") == 0.1


class TestBucket:
    def test_the_burst_is_free_then_one_token_per_interval(self) -> None:
        clock = FakeClock()
        limiter = BucketRateLimiter(10.0, 3, clock=clock)
        delays = [limiter.when(f"k{i}") for i in range(6)]
        assert delays[:3] == [0.0, 0.0, 0.0]
        assert delays[3:] == pytest.approx([0.1, 0.2, 0.3])

    def test_tokens_refill_with_time_up_to_the_burst(self) -> None:
        clock = FakeClock()
        limiter = BucketRateLimiter(10.0, 2, clock=clock)
        limiter.when("a")
        limiter.when("a")
        clock.step(60.0)
        assert [limiter.when("a") for _ in range(3)] == pytest.approx([0.0, 0.0, 0.1])

    def test_borrowed_tokens_are_repaid_before_new_ones_are_free(self) -> None:
        clock = FakeClock()
        limiter = BucketRateLimiter(1.0, 1, clock=clock)
        assert limiter.when("a") == 0.0
        assert limiter.when("a") == pytest.approx(1.0)
        clock.step(1.0)
        assert limiter.when("a") == pytest.approx(1.0), "the token of second 1 was taken"

    def test_it_counts_no_key(self) -> None:
        limiter = BucketRateLimiter(10.0, 100, clock=FakeClock())
        limiter.when("a")
        limiter.forget("a")
        assert limiter.num_requeues("a") == 0


class TestMaxOf:
    def test_the_longest_delay_wins_and_every_limiter_counts(self) -> None:
        clock = FakeClock()
        bucket = BucketRateLimiter(1.0, 1, clock=clock)
        exponential = ItemExponentialFailureRateLimiter(0.5, 100.0)
        limiter = MaxOfRateLimiter(exponential, bucket)
        assert limiter.when("a") == 0.5
        assert limiter.when("a") == pytest.approx(1.0)
        assert limiter.num_requeues("a") == 2
        limiter.forget("a")
        assert exponential.num_requeues("a") == 0

    def test_the_default_is_exponential_5ms_to_1000s_and_10_per_second_burst_100(self) -> None:
        clock = FakeClock()
        limiter = default_controller_rate_limiter(clock=clock)
        assert [limiter.when("a") for _ in range(3)] == [0.005, 0.01, 0.02]
        for i in range(97):
            limiter.when(f"k{i}")
        assert limiter.when("b") == pytest.approx(0.1), "the 101st retry waits for a token"
        exponential = next(
            each for each in limiter.limiters if isinstance(each, ItemExponentialFailureRateLimiter)
        )
        assert (exponential.base_delay, exponential.max_delay) == (0.005, 1000.0)


BAD_PARAMETERS: list[tuple[Callable[[], RateLimiter], type[Exception]]] = [
    (lambda: ItemExponentialFailureRateLimiter(0, 1.0), ValueError),
    (lambda: ItemExponentialFailureRateLimiter(-0.005, 1.0), ValueError),
    (lambda: ItemExponentialFailureRateLimiter(1.0, 0.5), ValueError),
    (lambda: ItemExponentialFailureRateLimiter(0.005, float("inf")), ValueError),
    (lambda: ItemExponentialFailureRateLimiter(float("nan"), 1.0), ValueError),
    (lambda: ItemExponentialFailureRateLimiter("5ms", 1.0), TypeError),  # type: ignore[arg-type]
    (lambda: ItemFastSlowRateLimiter(-1.0, 1.0, 3), ValueError),
    (lambda: ItemFastSlowRateLimiter(0.1, 1.0, -1), ValueError),
    (lambda: ItemFastSlowRateLimiter(0.1, 1.0, 2.5), TypeError),  # type: ignore[arg-type]
    (lambda: BucketRateLimiter(0, 10), ValueError),
    (lambda: BucketRateLimiter(-1.0, 10), ValueError),
    (lambda: BucketRateLimiter(float("nan"), 10), ValueError),
    (lambda: BucketRateLimiter(10.0, 0), ValueError),
    (lambda: BucketRateLimiter(10.0, 1.5), TypeError),  # type: ignore[arg-type]
    (lambda: BucketRateLimiter(10.0, True), TypeError),
    (MaxOfRateLimiter, ValueError),
    (lambda: MaxOfRateLimiter(object()), TypeError),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("make", "error"), BAD_PARAMETERS)
def test_bad_parameters_are_refused(
    make: Callable[[], RateLimiter], error: type[Exception]
) -> None:
    with pytest.raises(error):
        make()
